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
use pyo3::ffi;
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

/// The hub's resume loop: each `(ticket, value)` of a drain switched into the greenlet parked on it, in order; a
/// ticket nobody waits for any more (its user was killed) is forgotten. An exception a switch raises ends the
/// loop, as the Python loop did.
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

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Client {
            core: OnceLock::new(),
        }
    }

    /// Use `core` (the session's `_rlocust.Session`) for the plain call.
    fn _bind(&self, core: Py<Session>) {
        let _ = self.core.set(core);
    }

    /// A client module's class: `kind` "requests" or "fast", the class, its `request` as defined, a function
    /// returning the header pairs of a plain call (registered with `share_headers`), the URL planner (`(base,
    /// url)` → False or the plan), the shim's `finish_call` and its empty context.
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
        let _ = cell.set(
            py,
            Flavored {
                cls,
                plain_request,
                headers_fn,
                headers: OnceLock::new(),
                plan_fn,
                plans: Mutex::new(Default::default()),
                plans_len: Default::default(),
                finish_call,
                no_context,
            },
        );
        Ok(())
    }
}

// ---- the C functions -------------------------------------------------------------------------------------------
//
// The verbs, `park` and `resume` are plain C functions, not pyo3 methods: a greenlet switches away inside them (a
// user parks in a verb, the hub resumes users from `resume`), and pyo3's wrapper counts each call it is in on the
// thread until the call returns. A greenlet left parked for good (a user never resumed when the run ends) would
// leave that count up, and pyo3 would then take the thread for attached to the interpreter after Python let it go
// (a fatal error at the end of a run: tests/python/test_watchdog.py). These run with the thread attached (Python
// calls them), catch panics, and hand errors back as Python exceptions.

/// Run `f` for a C function called by Python: its result as a new reference, or NULL with the exception set.
fn enter(f: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyAny>>) -> *mut ffi::PyObject {
    // SAFETY: only Python calls these functions, with the thread attached
    let py = unsafe { Python::assume_attached() };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))) {
        Ok(Ok(v)) => v.into_ptr(),
        Ok(Err(e)) => {
            e.restore(py);
            std::ptr::null_mut()
        }
        Err(_) => {
            pyo3::panic::PanicException::new_err("rlocust: a panic in the client call").restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The verbs: (name, method, whether HttpSession follows redirects for it, the shim's fallback).
const VERBS: [(&str, &str, bool, &str); 7] = [
    ("get", "GET", true, "_slow_get"),
    ("post", "POST", true, "_slow_post"),
    ("put", "PUT", true, "_slow_put"),
    ("patch", "PATCH", true, "_slow_patch"),
    ("delete", "DELETE", true, "_slow_delete"),
    ("head", "HEAD", false, "_slow_head"),
    ("options", "OPTIONS", true, "_slow_options"),
];

macro_rules! raw_verbs {
    ($($fname:ident = $idx:expr;)*) => {
        $(
            unsafe extern "C" fn $fname(
                slf: *mut ffi::PyObject,
                args: *const *mut ffi::PyObject,
                nargs: ffi::Py_ssize_t,
                kwnames: *mut ffi::PyObject,
            ) -> *mut ffi::PyObject {
                enter(|py| verb(py, $idx, slf, args, nargs, kwnames))
            }
        )*
        const RAW_VERBS: [ffi::PyCFunctionFastWithKeywords; 7] = [$($fname),*];
    };
}

raw_verbs! {
    raw_get = 0;
    raw_post = 1;
    raw_put = 2;
    raw_patch = 3;
    raw_delete = 4;
    raw_head = 5;
    raw_options = 6;
}

/// A verb: the plain call when it applies, else the shim's `_slow_<verb>` (a Call to await inside a coroutine).
fn verb<'py>(
    py: Python<'py>,
    idx: usize,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    let (verb_name, method, http_redirects, slow) = VERBS[idx];
    // Python's vectorcall convention: `slf` and the `nargs` positional arguments, then one value per name of
    // `kwnames` (a tuple, or NULL), all borrowed for the call.
    // SAFETY: `slf` is borrowed for the call
    let slf = unsafe { Bound::from_borrowed_ptr(py, slf) };
    let slf = slf.cast::<Client>()?;
    let kwnames = if kwnames.is_null() {
        None
    } else {
        // SAFETY: as above
        Some(unsafe { Bound::from_borrowed_ptr(py, kwnames) }.cast_into::<PyTuple>()?)
    };
    let npos = nargs.max(0) as usize;
    let nkw = kwnames.as_ref().map_or(0, |k| k.len());
    let all: Vec<Bound<'py, PyAny>> = (0..npos + nkw)
        // SAFETY: as above
        .map(|i| unsafe { Bound::from_borrowed_ptr(py, *args.add(i)) })
        .collect();
    let me = current(py)?;
    let aio = greenlets(py)?.aio.bind(py);
    let inside = aio
        .get_item(intern!(py, "inside"))?
        .is_some_and(|inside| inside.is(&me));
    if !inside && npos == 1 {
        // no argument but `name=`
        let name = match &kwnames {
            None => Some(None),
            Some(k) if nkw == 1 && k.get_item(0)?.cast::<PyString>()?.to_str()? == "name" => {
                Some(Some(all[1].clone()))
            }
            Some(_) => None,
        };
        if let Some(name) = name
            && let Some(done) = plain(slf, &me, method, http_redirects, &all[0], name)?
        {
            return Ok(done.into_bound(py));
        }
    }
    let positional = PyTuple::new(py, &all[..npos])?;
    let kwargs = PyDict::new(py);
    if let Some(k) = &kwnames {
        for (i, key) in k.iter().enumerate() {
            kwargs.set_item(key, &all[npos + i])?;
        }
    }
    if inside {
        // inside a coroutine: a Call to await (locust._aio), which makes this call again when awaited (this very
        // verb, not an override of it: an override calling `super().get(...)` runs once)
        let Some(call) = aio.get_item(intern!(py, "Call"))? else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "locust._aio has no Call",
            ));
        };
        let bound = py.get_type::<Client>().getattr(verb_name)?;
        return call.call1((bound, slf, positional, kwargs));
    }
    slf.getattr(slow)?.call(positional, Some(&kwargs))
}

unsafe extern "C" fn raw_park(
    _module: *mut ffi::PyObject,
    ticket: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    enter(|py| {
        // SAFETY: METH_O: one borrowed argument
        let ticket: u64 = unsafe { Bound::from_borrowed_ptr(py, ticket) }.extract()?;
        let hub = hub(py)?;
        let me = current(py)?;
        park_as(py, hub, &me, ticket)
    })
}

unsafe extern "C" fn raw_resume(
    _module: *mut ffi::PyObject,
    completions: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    enter(|py| {
        // SAFETY: METH_O: one borrowed argument
        let completions = unsafe { Bound::from_borrowed_ptr(py, completions) };
        resume(py, completions.cast::<PyList>()?)?;
        Ok(py.None().into_bound(py))
    })
}

/// A `PyMethodDef` that lives for the process (Python keeps a pointer to it).
fn method_def(
    name: &str,
    meth: ffi::PyMethodDefPointer,
    flags: std::os::raw::c_int,
    doc: &str,
) -> *mut ffi::PyMethodDef {
    let leak = |s: &str| std::ffi::CString::new(s).expect("no NUL").into_raw() as *const _;
    Box::into_raw(Box::new(ffi::PyMethodDef {
        ml_name: leak(name),
        ml_meth: meth,
        ml_flags: flags,
        ml_doc: leak(doc),
    }))
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
    if let Ok(memo) = memo.cast::<PyTuple>()
        && memo.len() == 3
        && memo
            .get_item(0)?
            .is(&slf.getattr(intern!(py, "connection_timeout"))?)
        && memo
            .get_item(1)?
            .is(&slf.getattr(intern!(py, "network_timeout"))?)
    {
        return memo.get_item(2)?.extract();
    }
    slf.call_method0(intern!(py, "_timeouts"))?.extract()
}

pub fn add_parts(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Client>()?;
    let cls = py.get_type::<Client>();
    for (i, (name, ..)) in VERBS.iter().enumerate() {
        let def = method_def(
            name,
            ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: RAW_VERBS[i],
            },
            ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            &format!(
                "{name}($self, url, *args, **kwargs)\n--\n\nThe client's `{name}`: the plain call in Rust, any other by `_slow_{name}`."
            ),
        );
        // SAFETY: a method descriptor of `Client` for a def that lives for the process
        let descr = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(cls.as_ptr().cast(), def))?
        };
        cls.setattr(*name, descr)?;
    }
    let functions: [(&str, ffi::PyCFunction, &str); 2] = [
        (
            "park",
            raw_park,
            "park($module, ticket, /)\n--\n\n`locust._hub.wait`: park the current greenlet until the call `ticket` completes; returns its Response (None for a timer's ticket, a piece for a stream's). A kill while parked abandons the call and raises here.",
        ),
        (
            "resume",
            raw_resume,
            "resume($module, completions, /)\n--\n\nSwitch each greenlet parked on a drained `(ticket, value)` back in with its value, in order (an unknown ticket is forgotten).",
        ),
    ];
    for (name, f, doc) in functions {
        let def = method_def(
            name,
            ffi::PyMethodDefPointer { PyCFunction: f },
            ffi::METH_O,
            doc,
        );
        // SAFETY: a builtin function of this module for a def that lives for the process
        let func = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyCFunction_NewEx(def, m.as_ptr(), std::ptr::null_mut()),
            )?
        };
        m.add(name, func)?;
    }
    m.add_function(wrap_pyfunction!(set_hub, m)?)?;
    Ok(())
}
