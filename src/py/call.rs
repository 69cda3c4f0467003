//! The client call without Python frames: `_rlocust.Client`, the base class of the shim's `HttpSession` and
//! `FastHttpSession`, whose verbs (`get`, `post`, `put`, `patch`, `delete`, `head`, `options`) are C methods;
//! `park`, where a user's greenlet waits for its ticket; `resume`, the hub's loop that switches each parked
//! greenlet back in with what the drain brought.
//!
//! Who calls it: a locustfile's `self.client.get(...)` (the verbs); `locust._hub` (`park` is its `wait`,
//! `resume` runs in its `_on_wake`, `set_hub` when it starts); the shim's client modules register their classes
//! once (`Client._register`).
//!
//! A verb sends the commonest call itself, a URL (and `name=`) with nothing else on a session nobody customised
//! (the conditions of the shim's `_plain_call`, read from the session on every call, so an attribute changed at
//! any time is seen): the same `Request` the shim would build, the greenlet parked on its ticket here, and the
//! Response returned as it comes back, or handed to the shim's `finish_call` when a listener, a
//! `catch_response`-like verdict or an escaping exception needs Python. Every other call (arguments, a subclass, a
//! patched `request`, a coroutine's call, a URL the shim takes its own way) goes to the shim's Python verb
//! (`_slow_<verb>`) unchanged. What must not happen here: a decision made after the request went out that the
//! shim would have made before it; a lock or a `PyRef` held across a greenlet switch; any I/O.
use crate::py::Session;
use crate::py::request::{self, Pairs};
use crate::py::response::Response;
use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};
use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

/// The greenlets parked on a ticket (the hub's `_pending` of before): hub thread, GIL held; never locked across
/// a switch.
static PENDING: LazyLock<Mutex<HashMap<u64, Py<PyAny>>>> = LazyLock::new(Default::default);

/// The hub as `locust._hub` registered it: its `switch` and the module's globals (`_resumed`).
struct Hub {
    switch: Py<PyAny>,
    globals: Py<PyDict>,
}

static HUB: PyOnceLock<Hub> = PyOnceLock::new();

/// `greenlet.getcurrent` and `locust._aio`'s globals (`inside`, `Call`).
struct Greenlets {
    getcurrent: Py<PyAny>,
    aio: Py<PyDict>,
}

static GREENLETS: PyOnceLock<Greenlets> = PyOnceLock::new();

fn greenlets(py: Python<'_>) -> PyResult<&'static Greenlets> {
    GREENLETS.get_or_try_init(py, || {
        Ok::<_, PyErr>(Greenlets {
            getcurrent: py.import("greenlet")?.getattr("getcurrent")?.unbind(),
            aio: py.import("locust._aio")?.dict().unbind(),
        })
    })
}

/// The current greenlet.
fn current(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    greenlets(py)?.getcurrent.bind(py).call0()
}

/// Called by `locust._hub.ensure_started` once its hub watches the bridge.
#[pyfunction]
fn set_hub(py: Python<'_>, switch: Py<PyAny>, globals: Py<PyDict>) -> PyResult<()> {
    let _ = HUB.set(py, Hub { switch, globals });
    Ok(())
}

fn hub(py: Python<'_>) -> PyResult<&'static Hub> {
    if let Some(h) = HUB.get(py) {
        return Ok(h);
    }
    // a script's first request before any runner (`rlocust-python`: pytest, run_single_user)
    py.import("locust._hub")?.call_method0("ensure_started")?;
    HUB.get(py)
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("the hub did not start"))
}

/// Park `me` (the current greenlet) until the call `ticket` completes; what the hub resumes it with.
fn park_as<'py>(
    py: Python<'py>,
    hub: &Hub,
    me: &Bound<'py, PyAny>,
    ticket: u64,
) -> PyResult<Bound<'py, PyAny>> {
    PENDING.lock().insert(ticket, me.clone().unbind());
    match hub.switch.bind(py).call0() {
        Ok(value) => {
            // (see `_hub.yield_now`)
            hub.globals.bind(py).set_item(intern!(py, "_resumed"), me)?;
            Ok(value)
        }
        Err(e) => {
            // killed while waiting (a stop): Locust records nothing for the request a killed user was in
            let was = PENDING.lock().remove(&ticket);
            if was.is_some() {
                drop(was);
                crate::py::core()?.bridge.abandon(ticket);
            }
            Err(e)
        }
    }
}

/// `locust._hub.wait`: park the current greenlet until the call `ticket` completes; returns its Response (None
/// for a timer's ticket, a piece for a stream's). A kill while parked abandons the call and raises here.
#[pyfunction]
fn park(py: Python<'_>, ticket: u64) -> PyResult<Bound<'_, PyAny>> {
    let hub = hub(py)?;
    let me = current(py)?;
    park_as(py, hub, &me, ticket)
}

/// The hub's resume loop: each `(ticket, value)` of a drain switched into the greenlet parked on it, in order; a
/// ticket nobody waits for any more (its user was killed) is forgotten. An exception a switch raises ends the
/// loop, as the Python loop did.
#[pyfunction]
fn resume(py: Python<'_>, completions: &Bound<'_, PyList>) -> PyResult<()> {
    let switch = intern!(py, "switch");
    for item in completions.iter() {
        let pair = item.cast::<PyTuple>()?;
        let ticket: u64 = pair.get_item(0)?.extract()?;
        let parked = PENDING.lock().remove(&ticket);
        match parked {
            Some(g) => {
                g.bind(py).call_method1(switch, (pair.get_item(1)?,))?;
            }
            None => {
                crate::py::core()?.bridge.take_abandoned(ticket);
            }
        }
    }
    Ok(())
}

/// What a client class registered (`Client._register`): the class whose instances may take the plain call, the
/// `request` it must still have, the function making the shared header pairs, the one planning a URL, and what
/// `finish_call` needs.
struct Flavored {
    cls: Py<PyType>,
    plain_request: Py<PyAny>,
    headers_fn: Py<PyAny>,
    headers: OnceLock<Pairs>,
    plan_fn: Py<PyAny>,
    /// `(base, url)` → what `plan_fn` gave (False: the shim's own way), bounded: for a base of None, and by
    /// base.
    plans: Mutex<Plans>,
    plans_len: std::sync::atomic::AtomicUsize,
    finish_call: Py<PyAny>,
    no_context: Py<PyAny>,
}

type Plans = (
    HashMap<String, Py<PyAny>>,
    HashMap<String, HashMap<String, Py<PyAny>>>,
);

static HTTP: PyOnceLock<Flavored> = PyOnceLock::new();
static FAST: PyOnceLock<Flavored> = PyOnceLock::new();
const PLANS_MAX: usize = 4096;

impl Flavored {
    fn headers(&self, py: Python<'_>) -> PyResult<Pairs> {
        if let Some(h) = self.headers.get() {
            return Ok(h.clone());
        }
        let list = self.headers_fn.bind(py).call0()?;
        let pairs = request::header_pairs(&list)?;
        let _ = self.headers.set(pairs.clone());
        Ok(pairs)
    }

    /// What `plan_fn(base, url)` gives (kept for the same strings).
    fn plan<'py>(
        &self,
        base: &Bound<'py, PyAny>,
        url: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = base.py();
        let key = if base.is_none() {
            None
        } else if let Ok(s) = base.cast_exact::<PyString>() {
            Some(s.to_str()?)
        } else {
            return self.plan_fn.bind(py).call1((base, url));
        };
        let u = url.to_str()?;
        {
            let plans = self.plans.lock();
            let hit = match key {
                None => plans.0.get(u),
                Some(b) => plans.1.get(b).and_then(|m| m.get(u)),
            };
            if let Some(hit) = hit {
                return Ok(hit.bind(py).clone());
            }
        }
        let made = self.plan_fn.bind(py).call1((base, url))?;
        use std::sync::atomic::Ordering::Relaxed;
        let mut plans = self.plans.lock();
        if self.plans_len.fetch_add(1, Relaxed) >= PLANS_MAX {
            plans.0.clear();
            plans.1.clear();
            self.plans_len.store(1, Relaxed);
        }
        let kept = made.clone().unbind();
        match key {
            None => plans.0.insert(u.to_owned(), kept),
            Some(b) => plans
                .1
                .entry(b.to_owned())
                .or_default()
                .insert(u.to_owned(), kept),
        };
        Ok(made)
    }
}

/// The base class of the shim's HTTP clients (see the module's header). A subclass binds its engine session with
/// `_bind`; until then (or for a class never registered) every verb is the shim's Python one.
#[pyclass(subclass, frozen, module = "_rlocust", name = "Client")]
pub struct Client {
    core: OnceLock<Py<Session>>,
}

/// A verb: the plain call when it applies, else the shim's `_slow_<verb>`.
macro_rules! verbs {
    ($($verb:ident, $slow:literal, $method:literal, $http_redirects:expr;)*) => {
        #[pymethods]
        impl Client {
            #[new]
            #[pyo3(signature = (*_args, **_kwargs))]
            fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
                Client { core: OnceLock::new() }
            }

            /// Use `core` (the session's `_rlocust.Session`) for the plain call.
            fn _bind(&self, core: Py<Session>) {
                let _ = self.core.set(core);
            }

            /// A client module's class: `kind` "requests" or "fast", the class, its `request` as defined, a
            /// function returning the header pairs of a plain call (registered with `share_headers`), the URL
            /// planner (`(base, url)` → False or the plan), the shim's `finish_call` and its empty context.
            #[staticmethod]
            #[allow(clippy::too_many_arguments)]
            fn _register(
                py: Python<'_>,
                kind: &str,
                cls: Py<PyType>,
                plain_request: Py<PyAny>,
                headers_fn: Py<PyAny>,
                plan_fn: Py<PyAny>,
                finish_call: Py<PyAny>,
                no_context: Py<PyAny>,
            ) -> PyResult<()> {
                let cell = match kind {
                    "requests" => &HTTP,
                    "fast" => &FAST,
                    _ => return Err(PyValueError::new_err("kind is 'requests' or 'fast'")),
                };
                let _ = cell.set(py, Flavored {
                    cls,
                    plain_request,
                    headers_fn,
                    headers: OnceLock::new(),
                    plan_fn,
                    plans: Mutex::new(Default::default()),
                    plans_len: Default::default(),
                    finish_call,
                    no_context,
                });
                Ok(())
            }

            $(
                #[pyo3(signature = (url, *args, **kwargs))]
                fn $verb(
                    slf: &Bound<'_, Self>,
                    url: &Bound<'_, PyAny>,
                    args: &Bound<'_, PyTuple>,
                    kwargs: Option<&Bound<'_, PyDict>>,
                ) -> PyResult<Py<PyAny>> {
                    let py = slf.py();
                    verb(slf, stringify!($verb), $method, $http_redirects, intern!(py, $slow), url, args, kwargs)
                }
            )*
        }
    };
}

verbs! {
    get, "_slow_get", "GET", true;
    post, "_slow_post", "POST", true;
    put, "_slow_put", "PUT", true;
    patch, "_slow_patch", "PATCH", true;
    delete, "_slow_delete", "DELETE", true;
    head, "_slow_head", "HEAD", false;
    options, "_slow_options", "OPTIONS", true;
}

#[allow(clippy::too_many_arguments)]
fn verb(
    slf: &Bound<'_, Client>,
    verb_name: &'static str,
    method: &'static str,
    http_redirects: bool,
    slow: &Bound<'_, PyString>,
    url: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let me = current(py)?;
    let aio = greenlets(py)?.aio.bind(py);
    if let Some(inside) = aio.get_item(intern!(py, "inside"))? {
        if inside.is(&me) {
            // inside a coroutine: a Call to await (locust._aio), which makes this call again when awaited
            let Some(call) = aio.get_item(intern!(py, "Call"))? else {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "locust._aio has no Call",
                ));
            };
            // (this very verb, not an override of it: an override calling `super().get(...)` runs once)
            let bound = py
                .get_type::<Client>()
                .getattr(PyString::new(py, verb_name))?;
            let mut all = Vec::with_capacity(args.len() + 1);
            all.push(url.clone());
            all.extend(args.iter());
            let kw = match kwargs {
                Some(k) => k.clone(),
                None => PyDict::new(py),
            };
            return Ok(call
                .call1((bound, slf, PyTuple::new(py, all)?, kw))?
                .unbind());
        }
    }
    if args.is_empty() {
        // no argument but `name=`
        let name = match kwargs {
            None => Some(None),
            Some(kw) if kw.is_empty() => Some(None),
            Some(kw) if kw.len() == 1 => kw.get_item(intern!(py, "name"))?.map(Some),
            Some(_) => None,
        };
        if let Some(name) = name {
            if let Some(done) = plain(slf, &me, method, http_redirects, url, name)? {
                return Ok(done);
            }
        }
    }
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(url.clone());
    all.extend(args.iter());
    Ok(slf
        .getattr(slow)?
        .call(PyTuple::new(py, all)?, kwargs)?
        .unbind())
}

/// Python's truth of `obj`.
fn truthy(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    obj.is_truthy()
}

/// Whether `obj` is the `value` singleton.
fn is_bool(obj: &Bound<'_, PyAny>, value: bool) -> bool {
    obj.as_ptr() == pyo3::types::PyBool::new(obj.py(), value).as_ptr()
}

/// Whether `hook` (a session's `request_event`) has listeners besides rlocust's own (`has_user_listeners`).
fn has_user_listeners(hook: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = hook.py();
    let handlers = match hook.getattr(intern!(py, "_handlers")) {
        Ok(h) => h,
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) => return Ok(true),
        Err(e) => return Err(e),
    };
    for h in handlers.try_iter()? {
        let h = h?;
        let builtin = match h.getattr(intern!(py, "_rlocust_builtin")) {
            Ok(v) => truthy(&v)?,
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) => false,
            Err(e) => return Err(e),
        };
        if !builtin {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The plain call, or None (nothing done) when the shim's verb must make it.
fn plain<'py>(
    slf: &Bound<'py, Client>,
    me: &Bound<'py, PyAny>,
    method: &'static str,
    http_redirects: bool,
    url: &Bound<'py, PyAny>,
    name: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<Py<PyAny>>> {
    let py = slf.py();
    let Some(core) = slf.get().core.get() else {
        return Ok(None);
    };
    let Ok(url) = url.cast_exact::<PyString>() else {
        return Ok(None);
    };
    let cls = slf.get_type();
    let fast = match (HTTP.get(py), FAST.get(py)) {
        (Some(h), _) if cls.is(h.cls.bind(py)) => false,
        (_, Some(f)) if cls.is(f.cls.bind(py)) => true,
        _ => return Ok(None),
    };
    let fl = if fast { FAST.get(py) } else { HTTP.get(py) }.expect("matched above");
    if !cls
        .getattr(intern!(py, "request"))?
        .is(fl.plain_request.bind(py))
    {
        return Ok(None);
    }
    let get = |attr: &Bound<'py, PyString>| slf.getattr(attr);
    let request_event = get(intern!(py, "request_event"))?;
    let (req, reported) = if !fast {
        // `HttpSession._plain_call`'s conditions: no headers, params, hooks, proxies, auth, mounts, TLS files or
        // streaming set, the environment not trusted
        if !is_bool(&get(intern!(py, "trust_env"))?, false)
            || !get(intern!(py, "_headers"))?.is_none()
            || !get(intern!(py, "_hooks"))?.is_none()
            || truthy(&get(intern!(py, "_params"))?)?
            || truthy(&get(intern!(py, "_proxies"))?)?
            || truthy(&get(intern!(py, "auth"))?)?
            || truthy(&get(intern!(py, "_mounts"))?)?
            || truthy(&get(intern!(py, "stream"))?)?
            || !is_bool(&get(intern!(py, "verify"))?, true)
            || !get(intern!(py, "cert"))?.is_none()
        {
            return Ok(None);
        }
        let sent = fl.plan(&get(intern!(py, "base_url"))?, url)?;
        let Ok(sent) = sent.cast_into_exact::<PyString>() else {
            return Ok(None);
        };
        let name = match name {
            Some(n) if !n.is_none() => n,
            _ => get(intern!(py, "request_name"))?,
        };
        let Ok(name) = name.extract::<Option<String>>() else {
            return Ok(None);
        };
        let Ok(max_redirects) = get(intern!(py, "max_redirects"))?.extract::<u32>() else {
            return Ok(None);
        };
        let listeners = has_user_listeners(&request_event)?;
        let req = request::Request {
            method: method.to_string(),
            url: sent.to_str()?.to_string(),
            name,
            headers: fl.headers(py)?,
            allow_redirects: http_redirects,
            verify: true,
            record: !listeners,
            max_redirects,
            ..Default::default()
        };
        (req, sent.into_any())
    } else {
        // `FastHttpSession._plain_call`'s: no default headers, no credentials
        if truthy(&get(intern!(py, "default_headers"))?)?
            || truthy(&get(intern!(py, "auth_header"))?)?
        {
            return Ok(None);
        }
        let plan = fl.plan(&get(intern!(py, "base_url"))?, url)?;
        let Ok(plan) = plan.cast_into_exact::<PyTuple>() else {
            return Ok(None);
        };
        let target: String = plan.get_item(0)?.extract()?;
        let built = plan.get_item(1)?;
        let scheme = plan.get_item(2)?;
        let request_name = get(intern!(py, "request_name"))?;
        let given = match name {
            Some(n) if truthy(&n)? => n,
            _ if truthy(&request_name)? => request_name,
            _ => url.clone().into_any(),
        };
        let Ok(name) = given.extract::<String>() else {
            return Ok(None);
        };
        let Ok(max_redirects) = get(intern!(py, "max_redirects"))?.extract::<u32>() else {
            return Ok(None);
        };
        let Ok(retries) = get(intern!(py, "concurrency"))?.extract::<u32>() else {
            return Ok(None);
        };
        let Ok(proxy) = get(intern!(py, "_proxy"))?.extract::<Option<String>>() else {
            return Ok(None);
        };
        let listeners = has_user_listeners(&request_event)?;
        let timeout = fast_timeouts(slf)?;
        let verify = if get(intern!(py, "ssl_context_factory"))?.is_none() {
            !truthy(&get(intern!(py, "insecure"))?)?
        } else {
            truthy(&slf.call_method1(intern!(py, "_verify"), (scheme,))?)?
        };
        let req = request::Request {
            method: method.to_string(),
            url: target,
            name: Some(name),
            headers: fl.headers(py)?,
            timeout: Some(timeout),
            allow_redirects: true,
            verify,
            record: !listeners,
            max_redirects,
            retries_on_close: retries.saturating_add(1),
            proxy,
            ..Default::default()
        };
        (req, built)
    };
    let listeners = !req.record;
    let sent = core.borrow(py).submit(py, req);
    let ticket = match sent {
        Ok(t) => t,
        // nothing went out: `request` raises it as requests does
        Err(e) if !fast && e.is_instance_of::<PyValueError>(py) => return Ok(None),
        Err(e) => return Err(e),
    };
    let response = park_as(py, hub(py)?, me, ticket)?;
    if !listeners {
        let escapes = match response.cast::<Response>() {
            Ok(r) => r.borrow().escapes(),
            Err(_) => true,
        };
        if !escapes && !truthy(&request_event.getattr(intern!(py, "_added"))?)? {
            return Ok(Some(response.unbind()));
        }
    }
    let done = fl.finish_call.bind(py).call1((
        slf,
        response,
        method,
        reported,
        fl.no_context.bind(py),
        false,
        listeners,
    ))?;
    Ok(Some(done.unbind()))
}

/// `FastHttpSession._timeouts()`: its memo when the two timeouts are the objects it was made from.
fn fast_timeouts(slf: &Bound<'_, Client>) -> PyResult<request::TimeoutArg> {
    let py = slf.py();
    let memo = slf.getattr(intern!(py, "_timeouts_memo"))?;
    if let Ok(memo) = memo.cast::<PyTuple>() {
        if memo.len() == 3
            && memo
                .get_item(0)?
                .is(&slf.getattr(intern!(py, "connection_timeout"))?)
            && memo
                .get_item(1)?
                .is(&slf.getattr(intern!(py, "network_timeout"))?)
        {
            return memo.get_item(2)?.extract();
        }
    }
    slf.call_method0(intern!(py, "_timeouts"))?.extract()
}

pub fn add_parts(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()?;
    m.add_function(wrap_pyfunction!(set_hub, m)?)?;
    m.add_function(wrap_pyfunction!(park, m)?)?;
    m.add_function(wrap_pyfunction!(resume, m)?)?;
    Ok(())
}
