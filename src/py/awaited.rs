//! The awaited verb: what a client verb (`self.client.get(...)`, any verb of `call::Client`) returns inside a user's
//! coroutine code, `_rlocust.AwaitedCall`. Awaited by the coroutine a user's greenlet is stepping (`locust._aio.run`),
//! it is its own await iterator and makes the call in its first `send` through the verb's own C function, as the sync
//! call: the asyncio state set aside around it as the shim's `Call.__await__` sets it aside (the user's task left and
//! entered again, the thread's running loop put back, `inside` cleared and the greenlet no longer marked as stepping
//! while it is parked), and the Response handed back by `am_send` (no Python frame, generator or StopIteration).
//! A cancel of the task or a kill of the greenlet while it is parked ends the call where it waits and yields a
//! future for `run` to cancel, as the shim's `Call` does.
//!
//! Every other use goes to a shim `Call` (`locust._aio.Call`) made from the same arguments, which has every other
//! behaviour: awaited where no user steps its coroutine (a Task of the loop's: `gather`, `create_task`, `wait_for`;
//! code in the loop's greenlet), `async with`, `send` or `throw` before an await, an attribute it does not have.
//!
//! Who calls it: `call::verb` (`make`, when `locust._aio.inside` is the current greenlet; `call` registers the
//! class); CPython's `await` and asyncio (the slots and methods). It is registered as a `collections.abc.Coroutine`,
//! as the shim's `Call` is.
//!
//! Tracked by the cycle collector, as a coroutine is: a call stored on its own user holds the session, which holds
//! the user.
//!
//! Not in the abi3 wheel (the limited API has no type slots to set): there a verb's call is the shim's `Call`.
//!
//! The slots and methods that may switch greenlets (the await, `send`, `__next__`, `throw`, `__aenter__`: a call is
//! made in them, or a shim `Call`'s) are raw C functions like the verbs themselves (call.rs, "the C functions"):
//! pyo3's wrapper must not be live across a switch. What must not happen here: the lock on the state held across a
//! call that can switch.
use crate::py::aio_step::{Slot, aio, aio_dict, set_aside, set_for_step, stepping};
use crate::py::cabi;
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

/// Where an awaited call is.
enum State {
    /// Made, not awaited yet.
    Fresh,
    /// Awaited by the coroutine the current user greenlet steps: its own await iterator, the call not made yet.
    Inline,
    /// The call is being made (its greenlet may be parked in it).
    Running,
    /// Ended by a cancel or a kill while parked: the future it yielded, which `run` cancels.
    Waiting(Py<PyAny>),
    /// Done: awaited once, closed, or thrown into.
    Spent,
    /// A shim `Call` made from the same arguments does the rest.
    Shim(Py<PyAny>),
}

/// A client verb's call inside coroutine code (see the module's header).
#[pyclass(frozen, module = "_rlocust", name = "AwaitedCall")]
pub struct AwaitedCall {
    /// The verb's C function (the call is made through it).
    verb: Verb,
    /// The class defining the verb, `call::Client` (the shim `Call` is of its method).
    client: Py<PyType>,
    /// The session.
    slf: Py<PyAny>,
    /// The verb's arguments as its vectorcall got them: the positional ones, then one value per name of `kwnames`.
    args: Box<[Py<PyAny>]>,
    npos: usize,
    kwnames: Option<Py<PyTuple>>,
    state: Mutex<State>,
}

/// A verb: its name and its C function (`call::Client`'s).
#[derive(Clone, Copy)]
pub(crate) struct Verb {
    pub name: &'static str,
    pub function: ffi::PyCFunctionFastWithKeywords,
}

/// The awaited call of `verb` (a method of `client`) on `slf` with the vectorcall's arguments `all` (`npos`
/// positional, then one per name of `kwnames`).
pub(crate) fn make<'py>(
    py: Python<'py>,
    verb: Verb,
    client: &Bound<'py, PyType>,
    slf: &Bound<'py, PyAny>,
    all: &[Bound<'py, PyAny>],
    npos: usize,
    kwnames: Option<&Bound<'py, PyTuple>>,
) -> PyResult<Bound<'py, PyAny>> {
    let made = AwaitedCall {
        verb,
        client: client.clone().unbind(),
        slf: slf.clone().unbind(),
        args: all.iter().map(|a| a.clone().unbind()).collect(),
        npos,
        kwnames: kwnames.map(|k| k.clone().unbind()),
        state: Mutex::new(State::Fresh),
    };
    Ok(Bound::new(py, made)?.into_any())
}

impl AwaitedCall {
    /// A shim `Call` of the same verb and arguments (`spent`: one that refuses an await, for an attribute or an
    /// `async with` of a call awaited already).
    fn shim<'py>(&self, py: Python<'py>, spent: bool) -> PyResult<Bound<'py, PyAny>> {
        let d = aio_dict(py)?;
        let Some(cls) = d.get_item(intern!(py, "Call"))? else {
            return Err(PyRuntimeError::new_err("locust._aio has no Call"));
        };
        let verb = self.client.bind(py).getattr(self.verb.name)?;
        let positional = PyTuple::new(py, self.args[..self.npos].iter().map(|a| a.bind(py)))?;
        let kwargs = PyDict::new(py);
        if let Some(k) = &self.kwnames {
            for (i, key) in k.bind(py).iter().enumerate() {
                kwargs.set_item(key, self.args[self.npos + i].bind(py))?;
            }
        }
        let c = cls.call1((verb, self.slf.bind(py), positional, kwargs))?;
        if spent {
            c.setattr(intern!(py, "_it"), d.get_item(intern!(py, "_SPENT"))?)?;
        }
        Ok(c)
    }

    /// The shim `Call` that does the rest of a call not awaited yet (made now if it is `Fresh`), or None.
    fn shim_of(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut state = self.state.lock();
        match &*state {
            State::Shim(c) => Ok(Some(c.clone_ref(py))),
            State::Fresh => {
                drop(state);
                let c = self.shim(py, false)?.unbind();
                state = self.state.lock();
                *state = State::Shim(c.clone_ref(py));
                Ok(Some(c))
            }
            _ => Ok(None),
        }
    }
}

#[pymethods]
impl AwaitedCall {
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.slf)?;
        visit.call(&self.client)?;
        for a in self.args.iter() {
            visit.call(a)?;
        }
        if let Some(k) = &self.kwnames {
            visit.call(k)?;
        }
        // (never blocks: a collection that starts while the state is being changed leaves it out)
        if let Some(state) = self.state.try_lock() {
            match &*state {
                State::Waiting(o) | State::Shim(o) => visit.call(o)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let shim = {
            let mut state = self.state.lock();
            match std::mem::replace(&mut *state, State::Spent) {
                State::Shim(c) => {
                    *state = State::Shim(c.clone_ref(py));
                    Some(c)
                }
                _ => None,
            }
        };
        if let Some(c) = shim {
            c.bind(py).call_method0(intern!(py, "close"))?;
        }
        Ok(())
    }

    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        exc_type: Bound<'py, PyAny>,
        exc: Bound<'py, PyAny>,
        tb: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = match self.shim_of(py)? {
            Some(c) => c.into_bound(py),
            None => self.shim(py, true)?,
        };
        c.call_method1(intern!(py, "__aexit__"), (exc_type, exc, tb))
    }

    fn __enter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.shim(py, true)?.call_method0(intern!(py, "__enter__"))
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        false
    }

    fn __getattr__<'py>(
        &self,
        py: Python<'py>,
        name: Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.shim(py, true)?.getattr(name)
    }
}

// ---- the raw slots and methods ----------------------------------------------------------------------------------

/// What an await of it begins with: itself as its iterator (awaited inline), or a shim `Call` to hand it to.
enum Begin {
    Inline,
    Shim(Py<PyAny>),
}

/// The await: inline when the current greenlet steps the awaiting coroutine, else the shim `Call`'s.
fn begin(py: Python<'_>, this: &AwaitedCall) -> PyResult<Begin> {
    match &*this.state.lock() {
        State::Shim(c) => return Ok(Begin::Shim(c.clone_ref(py))),
        State::Fresh => {}
        _ => {
            return Err(PyRuntimeError::new_err(
                "cannot reuse already awaited coroutine",
            ));
        }
    }
    let me = cabi::current(py)?;
    let inline = stepping(&me).is_some();
    if inline {
        *this.state.lock() = State::Inline;
        return Ok(Begin::Inline);
    }
    let c = this.shim(py, false)?.unbind();
    *this.state.lock() = State::Shim(c.clone_ref(py));
    Ok(Begin::Shim(c))
}

fn this<'a>(py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<&'a AwaitedCall> {
    // SAFETY: `slf` is borrowed for the call by the caller, which keeps it alive while the slot runs
    let bound = unsafe { Bound::from_borrowed_ptr(py, slf) };
    let this = bound.cast::<AwaitedCall>()?.get() as *const AwaitedCall;
    // SAFETY: as above: the object outlives the slot's call, and it is frozen (shared access only)
    Ok(unsafe { &*this })
}

/// `am_await`: itself, or the shim `Call`'s await iterator.
unsafe extern "C" fn raw_await(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: only Python calls it, with the thread attached
    let py = unsafe { Python::assume_attached() };
    match cabi::guarded(py, |py| begin(py, this(py, slf)?)) {
        None => std::ptr::null_mut(),
        Some(Begin::Inline) => {
            // SAFETY: a new reference to itself
            unsafe { ffi::Py_IncRef(slf) };
            slf
        }
        Some(Begin::Shim(c)) => call_method(py, c, intern!(py, "__await__"), None),
    }
}

/// `c.name(arg)` (or `c.name()`), from a raw function's frame (it may switch): a new reference or NULL.
fn call_method(
    py: Python<'_>,
    c: Py<PyAny>,
    name: &Bound<'_, PyString>,
    arg: Option<*mut ffi::PyObject>,
) -> *mut ffi::PyObject {
    // SAFETY: attached; `c` is owned here, `name` and `arg` borrowed
    unsafe {
        let out = match arg {
            None => ffi::PyObject_CallMethodNoArgs(c.as_ptr(), name.as_ptr()),
            Some(a) => ffi::PyObject_CallMethodOneArg(c.as_ptr(), name.as_ptr(), a),
        };
        drop(c.into_bound(py));
        out
    }
}

/// What a send does first.
enum Send {
    /// The call, made now (the state is `Running`), with the verb's arguments.
    Call(Flip, Arguments),
    /// The future it waits on is done: the await ends with its result.
    Wait(Py<PyAny>),
    /// A cancel is pending on the task: the call is not made, this future is yielded for it to cancel.
    Yield(Py<PyAny>),
    Shim(Py<PyAny>),
}

/// The asyncio state an inline call set aside (None: no user's coroutine steps here, the call is made as is).
struct Flip(Option<(Py<PyAny>, Py<PyAny>, Py<PyAny>)>);

/// `send(arg)`'s first part.
fn send_begins(py: Python<'_>, this: &AwaitedCall, arg: *mut ffi::PyObject) -> PyResult<Send> {
    let fresh = matches!(&*this.state.lock(), State::Fresh);
    if fresh && let Begin::Shim(c) = begin(py, this)? {
        return Ok(Send::Shim(c));
    }
    let mut state = this.state.lock();
    match std::mem::replace(&mut *state, State::Spent) {
        State::Inline => {
            if arg != py.None().as_ptr() {
                return Err(PyTypeError::new_err(
                    "can't send non-None value to a just-started coroutine",
                ));
            }
            *state = State::Running;
            drop(state);
            match flip_out(py).and_then(|flip| match flip {
                Some(flip) => Ok(Send::Call(flip, arguments(this))),
                None => pending_future(py).map(|fut| {
                    *this.state.lock() = State::Waiting(fut.clone_ref(py));
                    Send::Yield(fut)
                }),
            }) {
                Ok(send) => Ok(send),
                Err(e) => {
                    *this.state.lock() = State::Spent;
                    Err(e)
                }
            }
        }
        State::Waiting(fut) => Ok(Send::Wait(fut)),
        State::Shim(c) => {
            *state = State::Shim(c.clone_ref(py));
            Ok(Send::Shim(c))
        }
        State::Running => {
            *state = State::Running;
            Err(PyRuntimeError::new_err(
                "coroutine is being awaited already",
            ))
        }
        State::Fresh | State::Spent => Err(PyRuntimeError::new_err(
            "cannot reuse already awaited coroutine",
        )),
    }
}

/// Before an inline call: the user's task left, the thread's running loop put back to the one before the step,
/// `inside` cleared and the greenlet no longer marked as stepping (`set_aside`, as `locust._aio.Call` does); the
/// call numbered for a cancel to find (`driver.inline`). None when a cancel is pending on the task (a kill, or a
/// cancel the coroutine has not been given yet: it cancelled its own task, or dropped the future a call it stepped
/// by hand yielded): the call is not made, as asyncio would deliver the cancel at the call's first wait.
fn flip_out(py: Python<'_>) -> PyResult<Option<Flip>> {
    let a = aio(py)?;
    let me = cabi::current(py)?;
    let Some(driver) = stepping(&me) else {
        return Ok(Some(Flip(None)));
    };
    let slots = &a.slots;
    if slots.get(&driver, Slot::MustCancel)?.is_truthy()? {
        return Ok(None);
    }
    let task = slots.get(&driver, Slot::Task)?;
    let seq = (slots.get(&driver, Slot::Seq)?.extract::<i64>()? + 1).into_pyobject(py)?;
    slots.set(&driver, Slot::Seq, &seq)?;
    slots.set(&driver, Slot::Inline, &seq)?;
    set_aside(py, &me, &driver, &task)?;
    Ok(Some(Flip(Some((
        me.unbind(),
        driver.unbind(),
        task.unbind(),
    )))))
}

/// A future of the loop for the cancel pending on the task to cancel as `run` takes it (what a Future's await
/// yields).
fn pending_future(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let fut = aio(py)?
        .lp
        .bind(py)
        .call_method0(intern!(py, "create_future"))?;
    fut.setattr(intern!(py, "_asyncio_future_blocking"), true)?;
    Ok(fut.unbind())
}

/// After it: everything set back; a kill (GreenletExit) becomes a cancel of the task, which the coroutine sees at
/// this await. Returns what the await does: end with the value, or yield a future (cancelled or killed).
fn flip_back<'py>(
    py: Python<'py>,
    this: &AwaitedCall,
    flip: Flip,
    result: PyResult<Bound<'py, PyAny>>,
) -> PyResult<(ffi::PySendResult, Bound<'py, PyAny>)> {
    let Flip(Some((me, driver, task))) = flip else {
        *this.state.lock() = State::Spent;
        return result.map(|v| (ffi::PySendResult::PYGEN_RETURN, v));
    };
    let a = aio(py)?;
    let (me, driver, task) = (
        me.into_bound(py),
        driver.into_bound(py),
        task.into_bound(py),
    );
    let ended = match &result {
        Err(e) if e.is_instance(py, a.interrupted.bind(py)) => true,
        Err(e) if e.is_instance(py, a.greenlet_exit.bind(py)) => {
            a.slots
                .set(&driver, Slot::Inline, &py.None().into_bound(py))?;
            a.slots.set(&driver, Slot::Killed, e.value(py).as_any())?;
            task.call_method0(intern!(py, "cancel"))?;
            true
        }
        _ => false,
    };
    a.slots
        .set(&driver, Slot::Inline, &py.None().into_bound(py))?;
    set_for_step(py, &me, &driver, &task)?;
    if ended {
        let fut = pending_future(py)?;
        *this.state.lock() = State::Waiting(fut.clone_ref(py));
        return Ok((ffi::PySendResult::PYGEN_NEXT, fut.into_bound(py)));
    }
    *this.state.lock() = State::Spent;
    result.map(|v| (ffi::PySendResult::PYGEN_RETURN, v))
}

/// The end of an await of a future (as a Future's own await iterator ends it).
fn future_result<'py>(
    py: Python<'py>,
    fut: Py<PyAny>,
) -> PyResult<(ffi::PySendResult, Bound<'py, PyAny>)> {
    let fut = fut.into_bound(py);
    if !fut.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Err(PyRuntimeError::new_err("await wasn't used with future"));
    }
    Ok((
        ffi::PySendResult::PYGEN_RETURN,
        fut.call_method0(intern!(py, "result"))?,
    ))
}

/// `am_send`: the await's every step. Inline, the first makes the call (the greenlet parks in the verb until its
/// response comes back).
unsafe extern "C" fn raw_send(
    slf: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
    result: *mut *mut ffi::PyObject,
) -> ffi::PySendResult {
    // SAFETY: only Python calls it, with the thread attached
    let py = unsafe { Python::assume_attached() };
    let Some(first) = cabi::guarded(py, |py| send_begins(py, this(py, slf)?, arg)) else {
        return ffi::PySendResult::PYGEN_ERROR;
    };
    let done = match first {
        Send::Shim(c) => {
            let out = call_method(py, c, intern!(py, "send"), Some(arg));
            cabi::guarded(py, |py| stop_value(py, out))
        }
        Send::Wait(fut) => cabi::guarded(py, |py| future_result(py, fut)),
        Send::Yield(fut) => Some((ffi::PySendResult::PYGEN_NEXT, fut.into_bound(py))),
        Send::Call(flip, (function, session, args, nargs, kwnames)) => {
            // SAFETY: attached; the session and arguments are borrowed from the object, which the caller keeps
            // alive for the call
            let out = unsafe { function(session, args, nargs, kwnames) };
            cabi::guarded(py, |py| {
                // SAFETY: a new reference or NULL with the exception set, from the verb
                let value = unsafe { Bound::from_owned_ptr_or_err(py, out) };
                flip_back(py, this(py, slf)?, flip, value)
            })
        }
    };
    match done {
        None => ffi::PySendResult::PYGEN_ERROR,
        Some((kind, value)) => {
            // SAFETY: the caller's out parameter
            unsafe { *result = value.into_ptr() };
            kind
        }
    }
}

/// The verb, its session and its vectorcall arguments, borrowed from `this` (which keeps them).
type Arguments = (
    ffi::PyCFunctionFastWithKeywords,
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
);

fn arguments(this: &AwaitedCall) -> Arguments {
    // (`Py` is a transparent pointer: the boxed slice is the vectorcall's array as it is, no copy per call)
    let args = this.args.as_ptr().cast::<*mut ffi::PyObject>();
    let kwnames = this
        .kwnames
        .as_ref()
        .map_or(std::ptr::null_mut(), |k| k.as_ptr());
    (
        this.verb.function,
        this.slf.as_ptr(),
        args,
        this.npos as ffi::Py_ssize_t,
        kwnames,
    )
}

/// A shim `send`'s result as `am_send` gives it: a value yielded, or the value a StopIteration ended it with.
fn stop_value<'py>(
    py: Python<'py>,
    out: *mut ffi::PyObject,
) -> PyResult<(ffi::PySendResult, Bound<'py, PyAny>)> {
    // SAFETY: a new reference or NULL with the exception set
    match unsafe { Bound::from_owned_ptr_or_err(py, out) } {
        Ok(v) => Ok((ffi::PySendResult::PYGEN_NEXT, v)),
        Err(e) if e.is_instance_of::<PyStopIteration>(py) => Ok((
            ffi::PySendResult::PYGEN_RETURN,
            e.value(py).getattr(intern!(py, "value"))?,
        )),
        Err(e) => Err(e),
    }
}

/// `am_send`'s outcome as an iterator's (`__next__`, `send`): a value yielded, else StopIteration with the value.
fn as_iterator(
    py: Python<'_>,
    kind: ffi::PySendResult,
    value: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    match kind {
        ffi::PySendResult::PYGEN_NEXT => value,
        ffi::PySendResult::PYGEN_ERROR => std::ptr::null_mut(),
        ffi::PySendResult::PYGEN_RETURN => {
            // SAFETY: a new reference from `am_send`
            let value = unsafe { Bound::from_owned_ptr(py, value) };
            match py.get_type::<PyStopIteration>().call1((value,)) {
                Ok(stop) => PyErr::from_value(stop).restore(py),
                Err(e) => e.restore(py),
            }
            std::ptr::null_mut()
        }
    }
}

/// `tp_iternext`.
unsafe extern "C" fn raw_next(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as `send(None)`, called by Python as it is
    unsafe { raw_send_method(slf, ffi::Py_None()) }
}

/// `send(value)`.
unsafe extern "C" fn raw_send_method(
    slf: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: only Python calls it, with the thread attached
    let py = unsafe { Python::assume_attached() };
    let mut value = std::ptr::null_mut();
    // SAFETY: as above
    let kind = unsafe { raw_send(slf, arg, &mut value) };
    as_iterator(py, kind, value)
}

/// `throw(...)`: the shim `Call`'s once it has one; else raised here, and the call is done (as a coroutine not
/// started ends with what is thrown into it, without running: nothing is sent), by `locust._aio._thrown`.
unsafe extern "C" fn raw_throw(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: only Python calls it (METH_VARARGS: a tuple of the arguments, borrowed), with the thread attached
    let py = unsafe { Python::assume_attached() };
    let to = cabi::guarded(py, |py| {
        let this = this(py, slf)?;
        let mut state = this.state.lock();
        if let State::Shim(c) = &*state {
            return c.getattr(py, intern!(py, "throw"));
        }
        *state = State::Spent;
        drop(state);
        match aio_dict(py)?.get_item(intern!(py, "_thrown"))? {
            Some(f) => Ok(f.unbind()),
            None => Err(PyRuntimeError::new_err("locust._aio has no _thrown")),
        }
    });
    let Some(to) = to else {
        return std::ptr::null_mut();
    };
    // SAFETY: attached; `to` owned here, `args` (a tuple) borrowed; the shim's throw may switch (a raw frame)
    unsafe {
        let out = ffi::PyObject_Call(to.as_ptr(), args, std::ptr::null_mut());
        drop(to.into_bound(py));
        out
    }
}

/// `__aenter__()`: the shim `Call`'s (which makes the call as it enters what the call returns).
unsafe extern "C" fn raw_aenter(
    slf: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: only Python calls it, with the thread attached
    let py = unsafe { Python::assume_attached() };
    let c = cabi::guarded(py, |py| {
        let this = this(py, slf)?;
        Ok(match this.shim_of(py)? {
            Some(c) => c,
            None => this.shim(py, true)?.unbind(),
        })
    });
    match c {
        None => std::ptr::null_mut(),
        Some(c) => call_method(py, c, intern!(py, "__aenter__"), None),
    }
}

/// The class, with its raw slots and methods, registered as a `collections.abc.Coroutine`.
pub(crate) fn add_class(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<AwaitedCall>()?;
    let cls = py.get_type::<AwaitedCall>();
    let methods: [(&str, ffi::PyMethodDefPointer, std::os::raw::c_int, &str); 4] = [
        (
            "send",
            ffi::PyMethodDefPointer {
                PyCFunction: raw_send_method,
            },
            ffi::METH_O,
            "send($self, value, /)\n--\n\nA step of the await (the first makes the call).",
        ),
        (
            "throw",
            ffi::PyMethodDefPointer {
                PyCFunction: raw_throw,
            },
            ffi::METH_VARARGS,
            "throw($self, typ, val=None, tb=None, /)\n--\n\nRaise an exception at the await.",
        ),
        (
            "__aenter__",
            ffi::PyMethodDefPointer {
                PyCFunction: raw_aenter,
            },
            ffi::METH_NOARGS,
            "__aenter__($self, /)\n--\n\nMake the call and enter what it returns.",
        ),
        (
            "__await__",
            ffi::PyMethodDefPointer {
                PyCFunction: raw_await_method,
            },
            ffi::METH_NOARGS,
            "__await__($self, /)\n--\n\nThe await's iterator.",
        ),
    ];
    for (name, meth, flags, doc) in methods {
        let def = cabi::method_def(name, meth, flags, doc);
        // SAFETY: a method descriptor of the class for a def that lives for the process
        let descr = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(cls.as_ptr().cast(), def))?
        };
        cls.setattr(name, descr)?;
    }
    // the slots last: setting `__await__` above made CPython point `am_await` at a wrapper calling it
    // SAFETY: a heap type made by pyo3: its `tp_as_async` is its own struct; the GIL is held
    unsafe {
        let t = cls.as_type_ptr();
        let asyncs = (*t).tp_as_async;
        if asyncs.is_null() {
            return Err(PyRuntimeError::new_err("AwaitedCall has no async slots"));
        }
        (*asyncs).am_await = Some(raw_await);
        (*asyncs).am_send = Some(raw_send);
        (*t).tp_iternext = Some(raw_next);
        ffi::PyType_Modified(t);
    }
    py.import("collections.abc")?
        .getattr("Coroutine")?
        .call_method1("register", (cls,))?;
    Ok(())
}

unsafe extern "C" fn raw_await_method(
    slf: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: as `raw_await`
    unsafe { raw_await(slf) }
}
