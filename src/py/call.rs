//! The client call without Python frames: `_rlocust.Client`, the base class of the shim's `HttpSession` and
//! `FastHttpSession`, whose verbs (`get`, `post`, `put`, `patch`, `delete`, `head`, `options`) are C methods;
//! `park`, where a user's greenlet waits for its ticket; `wake`, the hub's watcher, whose loop switches each
//! parked greenlet back in with what the drain brought (a user parking while that loop is under way switches to the
//! loop's next user itself: "the handoff").
//!
//! Who calls it: a locustfile's `self.client.get(...)` (the verbs); `locust._hub` (`park` is its `wait`,
//! `wake` is its eventfd watcher; `set_hub` when it starts); the shim's client modules
//! register their classes once (`Client._register`).
//!
//! A verb sends the commonest call itself, a URL (and `name=`) with nothing else on a session nobody customised (the
//! conditions of the shim's `_plain_call`, read from the session, or known unchanged since they were read by CPython's
//! version tags (`seen`), so an attribute changed at any time is seen): the same `Request` the shim would build, the
//! greenlet parked on its ticket here, and the Response returned as it comes back, or handed to the shim's
//! `finish_call` when a listener, a `catch_response`-like verdict or an escaping exception needs Python. Every other
//! call (arguments, a subclass, a patched `request`, a coroutine's call, a URL the shim takes its own way) goes to the
//! shim's Python verb (`_slow_<verb>`) unchanged. What must not happen here: a decision made after the request went out
//! that the shim would have made before it; a lock or a `PyRef` held across a greenlet switch; any I/O.
use crate::bridge::Drained;
use crate::py::Session;
#[cfg(not(feature = "abi3"))]
use crate::py::awaited;
use crate::py::cabi::{SwitchFn, add_function, current, greenlets, guarded, into_ptr, method_def};
use crate::py::request::{self, Pairs};
use crate::py::response::Response;
use crate::py::seen::{Known, Seen};
use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};
use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

/// The greenlets parked on a ticket (the hub's `_pending` of before), each with its `__dict__`'s tag when it parked
/// plain with neither `switch_out` nor `switch` of its own (a resume that finds the same tag knows it plain without
/// reading the dict, which is cold by then: [`plain_greenlet`]'s lookups were 3 % of the hub's time): hub thread,
/// GIL held; never locked across a switch.
static PENDING: LazyLock<Mutex<HashMap<u64, Parked, crate::int_hash::IntHashing>>> =
    LazyLock::new(Default::default);

/// A parked greenlet, and the tag of its dict when it parked with neither attribute in it ([`seen::dict_tag`]).
type Parked = (Py<PyAny>, Option<(usize, u64)>);

/// The hub as `locust._hub` registered it: its `switch`.
struct Hub {
    /// Its `switch` (gevent's, which runs the current greenlet's `switch_out` first).
    switch: Py<PyAny>,
    /// The hub greenlet itself (`switch.__self__`), for greenlet's own switch.
    greenlet: Py<PyAny>,
}

static HUB: PyOnceLock<Hub> = PyOnceLock::new();

thread_local! {
    /// Per greenlet class seen: whether greenlet's own switch does what its `switch` would (it keeps greenlet's
    /// `switch` and has no `switch_out`, which gevent's hub runs before it switches).
    static PLAIN_CLASSES: std::cell::RefCell<Vec<(Py<PyType>, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a greenlet of `g`'s class is switched to, and switched away from, by greenlet's own switch alone (a
/// gevent `Greenlet`: yes; gevent's hub, whose `switch_out` refuses a blocking call, or a class of the
/// locustfile's that overrides either: no). Decided on a class's first switch: a class given a `switch_out` or a
/// `switch` after that keeps its first answer (gevent would look again each time).
fn plain_class(g: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = g.py();
    let cls = g.get_type();
    let known = PLAIN_CLASSES.with_borrow(|seen| {
        seen.iter()
            .find(|(c, _)| c.as_ptr() == cls.as_ptr())
            .map(|(_, plain)| *plain)
    });
    if let Some(plain) = known {
        return Ok(plain);
    }
    let plain = cls
        .getattr(intern!(py, "switch"))?
        .is(greenlets(py)?.base_switch.bind(py))
        && !cls.hasattr(intern!(py, "switch_out"))?;
    PLAIN_CLASSES.with_borrow_mut(|seen| {
        if seen.len() < 64 {
            seen.push((cls.unbind(), plain));
        }
    });
    Ok(plain)
}

/// Whether `g`'s own `__dict__` gives one of `names` a value other than None, or than the shim's `switch_out` where
/// it does nothing (`_aio` gives a user's greenlet its `switch_out` for its life): lookups in the dict, no attribute
/// error raised. With `tag`, the dict's tag when it gives neither name a value, or only an idle `switch_out`. (The
/// tag is kept from a greenlet's park to its resume: an idle `switch_out` is idle while the greenlet runs no step,
/// and only the greenlet itself starts or leaves one, so a parked greenlet's stays idle. Without it, an awaited
/// call's resume judged its greenlet again: 2 % of the Python thread.)
fn instance_sets(
    g: &Bound<'_, PyAny>,
    names: [&Bound<'_, PyString>; 2],
    tag: Option<&mut Option<(usize, u64)>>,
) -> PyResult<bool> {
    let py = g.py();
    // SAFETY: attached; a new reference to the instance's dict (made if it had none) or NULL with the exception set
    let dict = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_GenericGetDict(g.as_ptr(), std::ptr::null_mut()),
        )
    };
    for name in names {
        let value = match dict.as_ref().map(|d| d.cast::<PyDict>()) {
            Ok(Ok(d)) => d.get_item(name)?,
            // (an object without a dict of its own: its attribute, the slow way)
            _ => g.getattr_opt(name)?,
        };
        let Some(v) = value.filter(|v| !v.is_none()) else {
            continue;
        };
        // (the shim's `switch_out` of a user's greenlet not in a coroutine's step does nothing: aio_step.rs)
        if !crate::py::aio_step::idle_switch_out(py, g, &v) {
            return Ok(true);
        }
    }
    if let Some(tag) = tag {
        *tag = crate::py::seen::dict_tag(g);
    }
    Ok(false)
}

/// Whether greenlet's own switch may stand for `g`'s: its class passes [`plain_class`] and the instance sets
/// neither `switch_out` nor `switch` of its own.
fn plain_greenlet(g: &Bound<'_, PyAny>) -> PyResult<bool> {
    plain_greenlet_tagged(g, None)
}

/// [`plain_greenlet`], and with `tag` the dict's tag when it sets neither attribute.
fn plain_greenlet_tagged(
    g: &Bound<'_, PyAny>,
    tag: Option<&mut Option<(usize, u64)>>,
) -> PyResult<bool> {
    let py = g.py();
    Ok(plain_class(g)?
        && !instance_sets(g, [intern!(py, "switch_out"), intern!(py, "switch")], tag)?)
}

/// Called by `locust._hub.ensure_started` once its hub watches the bridge.
#[pyfunction]
fn set_hub(py: Python<'_>, switch: Py<PyAny>) -> PyResult<()> {
    let greenlet = switch.bind(py).getattr("__self__")?.unbind();
    let _ = HUB.set(py, Hub { switch, greenlet });
    Ok(())
}

/// `_hub.yield_now`'s question: [`crate::py::cabi::take_resumed`] for `me`, the current greenlet.
#[pyfunction]
fn resumed_here(me: &Bound<'_, PyAny>) -> bool {
    crate::py::cabi::take_resumed(me)
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

/// A greenlet about to park on its ticket: what the switch needs, kept small (it stays on the C stack the greenlet
/// saves while parked: see "The stack a parked greenlet keeps" below).
struct Parking {
    ticket: u64,
    /// The greenlet, also held by [`PENDING`] until the hub takes it.
    me: Py<PyAny>,
    /// What to switch to the hub with: its greenlet, to switch with greenlet's own switch (`direct`), or its
    /// `switch` to call (borrowed from [`HUB`], which lives for the process).
    to: *mut ffi::PyObject,
    direct: Option<SwitchFn>,
}

/// Put `me` (the current greenlet) in the table under `ticket`, for the switch to the hub.
fn pend(py: Python<'_>, me: &Bound<'_, PyAny>, ticket: u64) -> PyResult<Parking> {
    let hub = hub(py)?;
    // (gevent's hub.switch() is greenlet's switch after the current greenlet's `switch_out`, if it has one)
    let mut tag = None;
    let (to, direct) = if plain_greenlet_tagged(me, Some(&mut tag))? {
        (hub.greenlet.as_ptr(), Some(greenlets(py)?.switch))
    } else {
        (hub.switch.as_ptr(), None)
    };
    PENDING.lock().insert(ticket, (me.clone().unbind(), tag));
    Ok(Parking {
        ticket,
        me: me.clone().unbind(),
        to,
        direct,
    })
}

/// Switch away until something resumes this greenlet: what it was resumed with (a new reference), or NULL with
/// the exception set (the greenlet was killed). A plain greenlet parking while the hub's resume loop is under way
/// switches straight to the next user of that loop ([`handoff`]), else to the hub. Called from the small frame of
/// a raw C function, so the stack the greenlet saves while parked ends here.
#[inline(always)]
fn switch_away(parking: &Parking) -> *mut ffi::PyObject {
    // SAFETY: the thread is attached (a C function Python called); the hub's objects live for the process; a
    // handoff's greenlet and arguments are held in `HANDED` until `let_go` after the switch
    unsafe {
        match parking.direct {
            Some(switch) => {
                let (to, args) = handoff(parking.to);
                let value = switch(to, args, std::ptr::null_mut());
                let_go(value.is_null());
                value
            }
            None => ffi::PyObject_CallNoArgs(parking.to),
        }
    }
}

// ---- the handoff: a parking user resumes the next one of the hub's loop itself ----------------------------------
//
// Under load the hub's resume loop switches to each user of a batch in turn, and each switches back to it when it
// parks again: two switches a request, and the hub's share of the C stack (about 280 bytes) saved and restored
// with each. While that loop is under way, a plain greenlet parking takes the loop's next item itself and switches
// straight to that user, which does the same: the hub gets control back once, from the batch's last user. The
// order of the resumes, what each is resumed with and when the hub runs its loop again are as before; only the
// greenlet each switch comes from changes. A greenlet that is not plain, or an item the hub must switch in its own
// way (`Next::Slow`), or an error, goes back to the hub, which carries on with it.

thread_local! {
    /// The hub's resume loop under way: what it has not got to yet (between `resume_begin` and `resume_end`; taken
    /// out only for the moment one item is taken, never across a switch).
    static RESUMING: std::cell::RefCell<Option<Resumable>> = const { std::cell::RefCell::new(None) };
    /// A handoff's references (the greenlet switched to and its arguments), let go by whoever runs after the switch.
    static HANDED: std::cell::Cell<(*mut ffi::PyObject, *mut ffi::PyObject)> =
        const { std::cell::Cell::new((std::ptr::null_mut(), std::ptr::null_mut())) };
}

/// Where a plain greenlet parking switches to: the next user of the hub's resume loop with its arguments (both held
/// in [`HANDED`]), or the hub (`hub`, no arguments) when no loop is under way or its next item is not a plain
/// switch (an item for the hub's own way, or an error, kept for the hub to take first).
#[inline(never)]
fn handoff(hub: *mut ffi::PyObject) -> (*mut ffi::PyObject, *mut ffi::PyObject) {
    let to_hub = (hub, std::ptr::null_mut());
    let Some(mut mine) = RESUMING.with_borrow_mut(Option::take) else {
        return to_hub;
    };
    // SAFETY: called by a parking greenlet, attached
    let py = unsafe { Python::assume_attached() };
    let to = match resume_next(py, &mut mine) {
        Next::Switch { g, args, .. } => {
            HANDED.set((g, args));
            (g, args)
        }
        Next::Slow { g, value } => {
            mine.slow = Some((g, value));
            to_hub
        }
        Next::Failed => {
            mine.failed = PyErr::take(py);
            to_hub
        }
        Next::Done => to_hub,
    };
    RESUMING.with_borrow_mut(|r| *r = Some(mine));
    to
}

/// The references of the last handoff let go, once its switch is made (by the greenlet it resumed, or by whoever
/// runs instead); `failed`: the switch returned NULL, whose exception is kept.
#[inline(never)]
fn let_go(failed: bool) {
    let (g, args) = HANDED.replace((std::ptr::null_mut(), std::ptr::null_mut()));
    if g.is_null() {
        return;
    }
    // SAFETY: attached (a greenlet back from its switch); the two owned references `handoff` kept
    unsafe {
        let py = Python::assume_attached();
        let kept = if failed { PyErr::take(py) } else { None };
        ffi::Py_DECREF(args);
        ffi::Py_DECREF(g);
        if let Some(e) = kept {
            e.restore(py);
        }
    }
}

/// Back from the hub: the value the greenlet was resumed with, or the exception it was killed with (a stop:
/// Locust records nothing for the request a killed user was in, so the call is abandoned).
fn resumed<'py>(
    py: Python<'py>,
    parking: &Parking,
    value: *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: a new reference or NULL with the exception set, from the switch
    match unsafe { Bound::from_owned_ptr_or_err(py, value) } {
        Ok(value) => {
            crate::py::cabi::note_resumed(py, &parking.me);
            Ok(value)
        }
        Err(e) => {
            let was = PENDING.lock().remove(&parking.ticket);
            if was.is_some() {
                drop(was);
                crate::py::core()?.bridge.abandon(parking.ticket);
            }
            Err(e)
        }
    }
}

/// The hub's batch, between `drain` (`py::drain`: taken from the bridge, its commands handed to Python) and
/// the resume (`resume_shallow`: the users its completions, streamed pieces and waits are for, switched back
/// in). Hub thread only; never locked across a switch. Its buffers go back and forth with the bridge's, so a steady run allocates none.
pub(super) static BATCH: Mutex<Drained> = Mutex::new(Drained::new());

/// The hub's resume loop: the greenlet parked on each ticket of the batch `drain` took switched back in with its
/// value, in the bridge's order (completions, then streamed pieces, then waits that are over), with no Python
/// object made for the pairs; a ticket nobody waits for any more (its user was killed) is forgotten. An exception a
/// switch raises ends the loop, and what it had not resumed yet comes first in the next one. True when all went;
/// false with the exception set. A user parking while the loop is under way takes the loop's next item itself
/// ([`handoff`]), so the hub's switch returns once the batch's last user parks.
///
/// The loop is shallow on purpose: greenlet saves the hub's C stack from where it switches up to where the user
/// started (a gevent callback, about 600 bytes below `ev_run`), and copies it back when control returns to the hub
/// (once a request before the handoff, once a batch since). So the switch is made from this loop's own frame, inlined in the C function gevent calls, and the
/// item, its value and any error are dealt with in [`resume_next`], whose frame has returned by then. With a
/// Python callback and a Rust loop holding the `Completed` and the `Response` above the switch, that was 2,152
/// bytes each way per request (docs/performance.md).
///
/// # Safety
/// The thread is attached (a C function Python called).
#[inline(always)]
unsafe fn resume_shallow(py: Python<'_>) -> bool {
    resume_begin();
    let ok = loop {
        match resume_step(py) {
            // SAFETY: attached; `g` a greenlet and `args` a tuple, both owned here; the switch gives a new
            // reference or NULL with the exception set
            Next::Switch { g, args, switch } => unsafe {
                let back = switch(g, args, std::ptr::null_mut());
                ffi::Py_DECREF(args);
                ffi::Py_DECREF(g);
                // (a handoff whose greenlet did not run: the switch came here)
                let_go(back.is_null());
                if back.is_null() {
                    break false;
                }
                ffi::Py_DECREF(back);
            },
            Next::Slow { g, value } => {
                if !switch_slow(py, g, value) {
                    break false;
                }
            }
            Next::Done => break true,
            Next::Failed => break false,
        }
    };
    resume_end();
    ok
}

/// The hub's next item (see [`resume_next`]), taken from the loop under way: first what a parking greenlet left
/// for it ([`handoff`]).
#[inline(never)]
fn resume_step(py: Python<'_>) -> Next {
    let Some(mut mine) = RESUMING.with_borrow_mut(Option::take) else {
        return Next::Done;
    };
    let next = if let Some((g, value)) = mine.slow.take() {
        Next::Slow { g, value }
    } else if let Some(e) = mine.failed.take() {
        e.restore(py);
        Next::Failed
    } else {
        resume_next(py, &mut mine)
    };
    RESUMING.with_borrow_mut(|r| *r = Some(mine));
    next
}

/// What [`resume_shallow`] does next.
enum Next {
    /// A plain greenlet switched in with greenlet's C API: `switch(g, args, NULL)` (both owned).
    Switch {
        g: *mut ffi::PyObject,
        args: *mut ffi::PyObject,
        switch: crate::py::cabi::SwitchFn,
    },
    /// A greenlet whose class or instance changes `switch` or `switch_out`: its `switch(value)` called.
    Slow {
        g: Py<PyAny>,
        value: Py<PyAny>,
    },
    Done,
    /// The exception is set.
    Failed,
}

/// The hub's batch taken for a resume, each list reversed so the next item is its last: the loop under way
/// ([`RESUMING`]).
#[inline(never)]
fn resume_begin() {
    let mut mine = Resumable::default();
    {
        let mut batch = BATCH.lock();
        std::mem::swap(&mut mine.completions, &mut batch.completions);
        std::mem::swap(&mut mine.pieces, &mut batch.pieces);
        std::mem::swap(&mut mine.wakes, &mut batch.wakes);
    }
    mine.completions.reverse();
    mine.pieces.reverse();
    mine.wakes.reverse();
    RESUMING.with_borrow_mut(|r| *r = Some(mine));
}

/// What a resume has not got to yet, and its buffers, given back to the batch (ahead of what came since); the
/// loop is no longer under way. (Its `slow` and `failed` are empty by then: a greenlet that leaves one switches to
/// the hub at once, whose next step takes it before any other.)
#[inline(never)]
fn resume_end() {
    let Some(mut mine) = RESUMING.with_borrow_mut(Option::take) else {
        return;
    };
    mine.completions.reverse();
    mine.pieces.reverse();
    mine.wakes.reverse();
    let mut batch = BATCH.lock();
    give_back(&mut batch.completions, &mut mine.completions);
    give_back(&mut batch.pieces, &mut mine.pieces);
    give_back(&mut batch.wakes, &mut mine.wakes);
}

/// The lists of a batch that resume users.
#[derive(Default)]
struct Resumable {
    completions: Vec<crate::bridge::Completion>,
    pieces: Vec<crate::bridge::Piece>,
    wakes: Vec<u64>,
    /// An item a parking greenlet took that the hub switches in its own way ([`handoff`]).
    slow: Option<(Py<PyAny>, Py<PyAny>)>,
    /// The error a parking greenlet met taking the next item, for the hub's loop to raise.
    failed: Option<PyErr>,
}

/// Put `mine` (what a resume left, and its buffer) back in front of `batch`.
fn give_back<T>(batch: &mut Vec<T>, mine: &mut Vec<T>) {
    if !batch.is_empty() {
        mine.append(batch);
    }
    std::mem::swap(batch, mine);
}

/// The next switch of a resume: the next item whose user is still parked, with its value made (a `Response`, a
/// streamed piece, or None for a wait); a ticket nobody waits for is forgotten on the way.
#[inline(never)]
fn resume_next(py: Python<'_>, mine: &mut Resumable) -> Next {
    guarded(py, |py| {
        loop {
            let ticket = if let Some(c) = mine.completions.last() {
                c.ticket
            } else if let Some(p) = mine.pieces.last() {
                p.ticket
            } else if let Some(&t) = mine.wakes.last() {
                t
            } else {
                return Ok(Next::Done);
            };
            // (the table is unlocked before the switch: the greenlet parks again in it)
            let parked = PENDING.lock().remove(&ticket);
            let value = mine.take(py, parked.is_some())?;
            let (Some((g, tag)), Some(value)) = (parked, value) else {
                crate::py::core()?.bridge.take_abandoned(ticket);
                continue;
            };
            let g = g.into_bound(py);
            // (a dict at the tag it had when the greenlet parked plain still sets neither attribute, or only an idle
            // `switch_out`)
            let same = tag.is_some() && crate::py::seen::dict_tag(&g) == tag;
            if !same && !plain_greenlet(&g)? {
                return Ok(Next::Slow {
                    g: g.unbind(),
                    value: value.unbind(),
                });
            }
            let args = PyTuple::new(py, [value])?;
            return Ok(Next::Switch {
                g: g.into_ptr(),
                args: args.into_ptr(),
                switch: greenlets(py)?.switch,
            });
        }
    })
    .unwrap_or(Next::Failed)
}

impl Resumable {
    /// The next item taken off, and its value when `wanted` (a `Response`, a streamed piece, or None for a wait).
    fn take<'py>(&mut self, py: Python<'py>, wanted: bool) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Some(c) = self.completions.pop() {
            return Ok(if wanted {
                Some(Bound::new(py, Response::from_completed(c.done))?.into_any())
            } else {
                None
            });
        }
        if let Some(p) = self.pieces.pop() {
            // a streamed body's piece goes to its reader like a completion: bytes, None at the end, or the
            // exception
            return Ok(match (wanted, p.data) {
                (false, _) => None,
                (true, Ok(Some(b))) => Some(pyo3::types::PyBytes::new(py, &b).into_any()),
                (true, Ok(None)) => Some(py.None().into_bound(py)),
                (true, Err(e)) => Some(crate::py::response::exc_to_py(py, &e)?.into_bound(py)),
            });
        }
        // a user whose wait is over is resumed like one whose response came, with None
        Ok(self
            .wakes
            .pop()
            .and(wanted.then(|| py.None().into_bound(py))))
    }
}

/// [`Next::Slow`]'s switch: true when it went, false with the exception set.
#[inline(never)]
fn switch_slow(py: Python<'_>, g: Py<PyAny>, value: Py<PyAny>) -> bool {
    guarded(py, |py| {
        g.bind(py).call_method1(intern!(py, "switch"), (value,))?;
        Ok(())
    })
    .is_some()
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
    /// The plans of the URLs planned last, by the URL object (a locustfile's literal is the same str on every
    /// call): found without hashing either string.
    recent: Mutex<[Option<Recent>; RECENT]>,
    finish_call: Py<PyAny>,
    no_context: Py<PyAny>,
}

/// A plan kept by its URL object (held, so the object is not another one at the same address).
struct Recent {
    url: Py<PyString>,
    base: Py<PyAny>,
    plan: Py<PyAny>,
}

const RECENT: usize = 8;

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
        let slot = (url.as_ptr() as usize >> 4) % RECENT;
        {
            let recent = self.recent.lock();
            if let Some(r) = &recent[slot]
                && r.url.as_ptr() == url.as_ptr()
                && same_base(r.base.bind(py), base, key)
            {
                return Ok(r.plan.bind(py).clone());
            }
        }
        let planned = self.plan_by_text(base, url, key)?;
        self.recent.lock()[slot] = Some(Recent {
            url: url.clone().unbind(),
            base: base.clone().unbind(),
            plan: planned.clone().unbind(),
        });
        Ok(planned)
    }

    /// What `plan_fn(base, url)` gives, kept by the strings' text (`key`: the base's, None for a base of None).
    fn plan_by_text<'py>(
        &self,
        base: &Bound<'py, PyAny>,
        url: &Bound<'py, PyString>,
        key: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = base.py();
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

/// Whether a kept plan's base is `base` (whose text is `key`, None for None): the same object, or a str of the
/// same text.
fn same_base(kept: &Bound<'_, PyAny>, base: &Bound<'_, PyAny>, key: Option<&str>) -> bool {
    if kept.is(base) {
        return true;
    }
    match (kept.cast_exact::<PyString>(), key) {
        (Ok(k), Some(b)) => k.to_str().is_ok_and(|k| k == b),
        _ => false,
    }
}

/// The base class of the shim's HTTP clients (see the module's header). A subclass binds its engine session with
/// `_bind`; until then (or for a class never registered) every verb is the shim's Python one.
#[pyclass(subclass, frozen, module = "_rlocust", name = "Client")]
pub struct Client {
    core: OnceLock<Py<Session>>,
    /// What the plain call read from this session, while it stays as it was (`seen`).
    seen: Seen,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Client {
            core: OnceLock::new(),
            seen: Seen::default(),
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
                recent: Mutex::new(Default::default()),
                finish_call,
                no_context,
            },
        );
        Ok(())
    }
}

// ---- the C functions -------------------------------------------------------------------------------------------
//
// The verbs, `park` and `wake` are plain C functions, not pyo3 methods: a greenlet switches away inside them (a
// user parks in a verb, the hub resumes users from `wake`), and pyo3's wrapper counts each call it is in on the
// thread until the call returns. A greenlet left parked for good (a user never resumed when the run ends) would
// leave that count up, and pyo3 would then take the thread for attached to the interpreter after Python let it go
// (a fatal error at the end of a run: tests/python/test_watchdog.py). These run with the thread attached (Python
// calls them), catch panics, and hand errors back as Python exceptions.

// The stack a parked greenlet keeps: greenlet saves the C stack between the greenlet's base and its switch to the
// heap while the greenlet is parked, and copies it back to resume it. With 10,000 users parked, every byte of a
// frame live across the switch costs 10 KB of memory and a copy each way per request. So a verb or `park` builds
// everything in `guarded` frames that return before the switch, and switches from its own frame holding only a
// `Parking`; what comes after the switch runs in another `guarded` frame. (A verb that switched inside its
// working frames kept 4.9 KB per parked greenlet instead of 1.9: docs/performance.md.)

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
                run_verb($idx, slf, args, nargs, kwnames)
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

/// What a verb's first part did: the whole call (its result), or the plain call sent and its greenlet ready to
/// park.
enum Step<'py> {
    Done(Bound<'py, PyAny>),
    Park(Parking, After),
}

/// A raw verb: its first part, the switch (a plain call parks until its response), its last part.
fn run_verb(
    idx: usize,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: only Python calls the verbs, with the thread attached
    let py = unsafe { Python::assume_attached() };
    let (parking, after) = match guarded(py, |py| verb(py, idx, slf, args, nargs, kwnames)) {
        None => return std::ptr::null_mut(),
        Some(Step::Done(v)) => return v.into_ptr(),
        Some(Step::Park(parking, after)) => (parking, after),
    };
    let value = switch_away(&parking);
    into_ptr(guarded(py, |py| {
        let response = resumed(py, &parking, value)?;
        after.finish(py, response)
    }))
}

/// A verb's first part: inside a coroutine, the call to await (`awaited`); else the plain call sent when it
/// applies, or the shim's `_slow_<verb>`.
fn verb<'py>(
    py: Python<'py>,
    idx: usize,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Step<'py>> {
    let (_, method, http_redirects, slow) = VERBS[idx];
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
    // SAFETY: as above (`i` below npos + nkw)
    let arg = |i: usize| unsafe { Bound::from_borrowed_ptr(py, *args.add(i)) };
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
                Some(Some(arg(1)))
            }
            Some(_) => None,
        };
        if let Some(name) = name
            && let Some(parked) = plain(slf, &me, method, http_redirects, &arg(0), name)?
        {
            return Ok(parked);
        }
    }
    // (the arguments gathered only past the plain call, which takes them one by one)
    let all: Vec<Bound<'py, PyAny>> = (0..npos + nkw).map(arg).collect();
    #[cfg(not(feature = "abi3"))]
    if inside {
        // inside a coroutine: an awaitable call (`awaited`), which makes this very verb's call when awaited (not an
        // override of it: an override calling `super().get(...)` runs once)
        let verb = awaited::Verb {
            name: VERBS[idx].0,
            function: RAW_VERBS[idx],
        };
        let client = py.get_type::<Client>();
        return awaited::make(
            py,
            verb,
            &client,
            slf.as_any(),
            &all,
            npos,
            kwnames.as_ref(),
        )
        .map(Step::Done);
    }
    let positional = PyTuple::new(py, &all[..npos])?;
    let kwargs = PyDict::new(py);
    if let Some(k) = &kwnames {
        for (i, key) in k.iter().enumerate() {
            kwargs.set_item(key, &all[npos + i])?;
        }
    }
    #[cfg(feature = "abi3")]
    if inside {
        // (the abi3 wheel: the shim's `Call`, which makes this very verb's call when awaited)
        let Some(call) = aio.get_item(intern!(py, "Call"))? else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "locust._aio has no Call",
            ));
        };
        let bound = py.get_type::<Client>().getattr(VERBS[idx].0)?;
        return call.call1((bound, slf, positional, kwargs)).map(Step::Done);
    }
    slf.getattr(slow)?
        .call(positional, Some(&kwargs))
        .map(Step::Done)
}

unsafe extern "C" fn raw_park(
    _module: *mut ffi::PyObject,
    ticket: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: only Python calls it, with the thread attached
    let py = unsafe { Python::assume_attached() };
    let Some(parking) = guarded(py, |py| {
        // SAFETY: METH_O: one borrowed argument
        let given = unsafe { Bound::from_borrowed_ptr(py, ticket) };
        // (a wait of the task loop's comes with its state: `task_loop::Parked`)
        #[cfg(not(feature = "abi3"))]
        if let Some(ticket) = crate::py::task_loop::parked_ticket(&given) {
            return pend(py, &current(py)?, ticket);
        }
        let ticket: u64 = given.extract()?;
        pend(py, &current(py)?, ticket)
    }) else {
        return std::ptr::null_mut();
    };
    let value = switch_away(&parking);
    into_ptr(guarded(py, |py| resumed(py, &parking, value)))
}

/// `wake((handle, every), /)`: the hub's eventfd watcher itself (`locust._hub`): the batch drained, its runner
/// commands handed to `handle(commands)` (on every wake when `every`: a script's run, whose log lines `handle`
/// forwards), then every parked greenlet of the batch switched back in ([`resume_shallow`]). In Rust rather than a
/// Python callback: no frame to run per wake, and the switch made on a frame of its own near the top of the hub's
/// C stack, which greenlet saves below where the user started and restores when it parks again.
unsafe extern "C" fn raw_wake(
    _module: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: only Python calls it, with the thread attached; `arg` is a borrowed reference
    let py = unsafe { Python::assume_attached() };
    // SAFETY: attached; a borrowed reference
    if wake_commands(py, unsafe { Bound::ref_from_ptr(py, &arg) }) && unsafe { resume_shallow(py) }
    {
        py.None().into_ptr()
    } else {
        std::ptr::null_mut()
    }
}

/// What [`raw_wake`] does before the resume, in a frame of its own that has returned by the switch: false with
/// the exception set.
#[inline(never)]
fn wake_commands(py: Python<'_>, arg: &Bound<'_, PyAny>) -> bool {
    guarded(py, |py| {
        let (handle, every): (Bound<'_, PyAny>, bool) = arg.extract()?;
        let commands = super::drain(py)?;
        if every || !commands.is_empty() {
            handle.call1((commands,))?;
        }
        Ok(())
    })
    .is_some()
}

/// Python's truth of `obj`.
fn truthy(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    obj.is_truthy()
}

/// Whether `obj` is the `value` singleton.
fn is_bool(obj: &Bound<'_, PyAny>, value: bool) -> bool {
    obj.as_ptr() == pyo3::types::PyBool::new(obj.py(), value).as_ptr()
}

/// The handler list last looked at by [`has_user_listeners`], its handlers then (held, so an object at the same
/// address is the same object), and the answer: a list whose items are those same objects gives it again.
type LastListeners = Option<(Py<PyList>, Vec<Py<PyAny>>, bool)>;

thread_local! {
    static LISTENERS: std::cell::RefCell<LastListeners> = const { std::cell::RefCell::new(None) };
}

/// Whether `hook` (a session's `request_event`) has listeners besides rlocust's own (`has_user_listeners`).
fn has_user_listeners(hook: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = hook.py();
    let handlers = match hook.getattr(intern!(py, "_handlers")) {
        Ok(h) => h,
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) => return Ok(true),
        Err(e) => return Err(e),
    };
    let Ok(list) = handlers.cast_exact::<PyList>() else {
        return listeners_among(&handlers);
    };
    let known = LISTENERS.with_borrow(|last| match last {
        Some((l, items, answer))
            if l.as_ptr() == list.as_ptr()
                && items.len() == list.len()
                && items
                    .iter()
                    .zip(list.iter())
                    .all(|(a, b)| a.as_ptr() == b.as_ptr()) =>
        {
            Some(*answer)
        }
        _ => None,
    });
    if let Some(answer) = known {
        return Ok(answer);
    }
    let answer = listeners_among(&handlers)?;
    let items: Vec<Py<PyAny>> = list.iter().map(Bound::unbind).collect();
    LISTENERS.set(Some((list.clone().unbind(), items, answer)));
    Ok(answer)
}

/// Whether `handlers` holds a listener besides rlocust's own.
fn listeners_among(handlers: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = handlers.py();
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

/// The plain call sent, its greenlet ready to park; or None (nothing done) when the shim's verb must make it.
fn plain<'py>(
    slf: &Bound<'py, Client>,
    me: &Bound<'py, PyAny>,
    method: &'static str,
    http_redirects: bool,
    url: &Bound<'py, PyAny>,
    name: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<Step<'py>>> {
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
    let known = if fast {
        None
    } else {
        slf.get().seen.known(slf.as_any())
    };
    // (a kept reading stands for the class's `request` too: the class's tag covers it)
    if known.is_none()
        && !cls
            .getattr(intern!(py, "request"))?
            .is(fl.plain_request.bind(py))
    {
        return Ok(None);
    }
    let get = |attr: &Bound<'py, PyString>| slf.getattr(attr);
    let (req, reported, request_event) = if !fast {
        let name_given = name.as_ref().is_some_and(|n| !n.is_none());
        let Some(known) = known.map_or_else(|| read_plain(slf, name_given), |k| Ok(Some(k)))?
        else {
            return Ok(None);
        };
        let sent = fl.plan(&known.base_url, url)?;
        let Ok(sent) = sent.cast_into_exact::<PyString>() else {
            return Ok(None);
        };
        let name = match name {
            Some(n) if !n.is_none() => n,
            _ => known.request_name,
        };
        let Ok(name) = name.extract::<Option<String>>() else {
            return Ok(None);
        };
        let request_event = known.request_event;
        let listeners = has_user_listeners(&request_event)?;
        let req = request::Request {
            method: method.to_string(),
            url: sent.to_str()?.to_string(),
            name,
            headers: fl.headers(py)?,
            allow_redirects: http_redirects,
            verify: true,
            record: !listeners,
            max_redirects: known.max_redirects,
            ..Default::default()
        };
        (req, sent.into_any(), request_event)
    } else {
        let request_event = get(intern!(py, "request_event"))?;
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
        (req, built, request_event)
    };
    let listeners = !req.record;
    let sent = core.borrow(py).submit(py, req);
    let ticket = match sent {
        Ok(t) => t,
        // nothing went out: `request` raises it as requests does
        Err(e) if !fast && e.is_instance_of::<PyValueError>(py) => return Ok(None),
        Err(e) => return Err(e),
    };
    let parking = pend(py, me, ticket)?;
    let after = After {
        slf: slf.clone().unbind(),
        fl,
        request_event: request_event.unbind(),
        reported: reported.unbind(),
        method,
        listeners,
    };
    Ok(Some(Step::Park(parking, after)))
}

/// `HttpSession._plain_call`'s conditions read from the session (no headers, params, hooks, proxies, auth, mounts,
/// TLS files or streaming set, the environment not trusted, a `max_redirects` Python can read as a count), and the
/// values a plain call uses; None when the shim's verb must make the call. What it read is kept on the session
/// (`seen`) when it may be.
fn read_plain<'py>(slf: &Bound<'py, Client>, name_given: bool) -> PyResult<Option<Known<'py>>> {
    let py = slf.py();
    let before = Seen::before(slf.as_any());
    // (read in `_plain_call`'s order, each only when the ones before it allow the plain call)
    let names = [
        intern!(py, "request_event"),
        intern!(py, "trust_env"),
        intern!(py, "_headers"),
        intern!(py, "_hooks"),
        intern!(py, "_params"),
        intern!(py, "_proxies"),
        intern!(py, "auth"),
        intern!(py, "_mounts"),
        intern!(py, "stream"),
        intern!(py, "verify"),
        intern!(py, "cert"),
        intern!(py, "base_url"),
        intern!(py, "max_redirects"),
        intern!(py, "request_name"),
    ];
    let get = |i: usize| slf.getattr(names[i]);
    let request_event = get(0)?;
    if !is_bool(&get(1)?, false) || !get(2)?.is_none() || !get(3)?.is_none() {
        return Ok(None);
    }
    // the conditions whose value a change in place could make true
    let mut in_place = Vec::with_capacity(5);
    for i in 4..9 {
        let v = get(i)?;
        if truthy(&v)? {
            return Ok(None);
        }
        in_place.push(v);
    }
    if !is_bool(&get(9)?, true) || !get(10)?.is_none() {
        return Ok(None);
    }
    let base_url = get(11)?;
    let max_redirects = get(12)?;
    let Ok(count) = max_redirects.extract::<u32>() else {
        return Ok(None);
    };
    // (`request_name` is read only when the call has no name of its own, as `_plain_call` reads it)
    let request_name = match get(13) {
        Ok(v) => Some(v),
        Err(e) if !name_given => return Err(e),
        Err(_) => None,
    };
    let known = Known {
        base_url,
        request_name: request_name
            .clone()
            .unwrap_or_else(|| py.None().into_bound(py)),
        request_event,
        max_redirects: count,
    };
    // kept only as plain values: an int's count, a str or None for the base and the name
    let settled = |v: &Bound<'_, PyAny>| v.is_none() || v.is_exact_instance_of::<PyString>();
    if request_name.is_some()
        && max_redirects.is_exact_instance_of::<pyo3::types::PyInt>()
        && settled(&known.base_url)
        && settled(&known.request_name)
    {
        let in_place: Vec<&Bound<'py, PyAny>> = in_place.iter().collect();
        slf.get()
            .seen
            .keep(slf.as_any(), before, &names, &in_place, &known);
    }
    Ok(Some(known))
}

/// What a plain call does with its response once its greenlet is resumed.
struct After {
    slf: Py<Client>,
    fl: &'static Flavored,
    request_event: Py<PyAny>,
    /// The URL as reported to `finish_call` (HttpSession: the URL sent; FastHttpSession: the URL as built).
    reported: Py<PyAny>,
    method: &'static str,
    /// The session's request event has listeners of the locustfile's: `finish_call` fires it.
    listeners: bool,
}

impl After {
    /// The Response as it came back, or `finish_call`'s result when a listener, a verdict or an exception needs
    /// Python.
    fn finish<'py>(
        self,
        py: Python<'py>,
        response: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !self.listeners {
            let escapes = match response.cast::<Response>() {
                Ok(r) => r.borrow().escapes(),
                Err(_) => true,
            };
            if !escapes && !truthy(&self.request_event.bind(py).getattr(intern!(py, "_added"))?)? {
                return Ok(response);
            }
        }
        self.fl.finish_call.bind(py).call1((
            self.slf.bind(py),
            response,
            self.method,
            self.reported.bind(py),
            self.fl.no_context.bind(py),
            false,
            self.listeners,
        ))
    }
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
    #[cfg(not(feature = "abi3"))]
    awaited::add_class(m)?;
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
    let functions: [(&str, ffi::PyCFunction, i32, &str); 2] = [
        (
            "park",
            raw_park,
            ffi::METH_O,
            "park($module, ticket, /)\n--\n\n`locust._hub.wait`: park the current greenlet until the call `ticket` completes; returns its Response (None for a timer's ticket, a piece for a stream's). A kill while parked abandons the call and raises here.",
        ),
        (
            "wake",
            raw_wake,
            ffi::METH_O,
            "wake($module, handle_every, /)\n--\n\nThe hub's eventfd watcher: drain the batch, hand its runner commands to `handle(commands)` (on every wake when `every`), then resume every parked greenlet of the batch; `handle_every` is the pair `(handle, every)`.",
        ),
    ];
    for (name, f, flags, doc) in functions {
        add_function(
            m,
            name,
            ffi::PyMethodDefPointer { PyCFunction: f },
            flags,
            doc,
        )?;
    }
    m.add_function(wrap_pyfunction!(set_hub, m)?)?;
    m.add_function(wrap_pyfunction!(resumed_here, m)?)?;
    Ok(())
}
