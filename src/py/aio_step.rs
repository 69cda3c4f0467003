//! A step of a user's coroutine, and the asyncio state a step sets: `_rlocust.aio_step`, the loop of
//! `locust._aio.run` made one C function (the loop set running and the user's task entered, the greenlet marked as
//! stepping, `send`/`throw` in the user's context, all put back after); `set_for_step` and `set_aside`, which the
//! awaited call (`awaited`) also uses around a call made inside a step.
//!
//! Who calls it: `locust._aio.run` (`aio_step`); `awaited`. The step is a raw C function (a call made inside it may
//! park the greenlet: call.rs, "the C functions"). With the full API the step enters the context and sends by
//! `PyIter_Send` (no StopIteration when the coroutine returns); the abi3 wheel has neither, and calls
//! `context.run(coro.send, None)`.
use crate::py::cabi;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// `locust._aio`'s parts an inline call flips (all fixed once its loop exists).
pub(crate) struct Aio {
    pub(crate) stepping: Py<PyDict>,
    pub(crate) lp: Py<PyAny>,
    pub(crate) switch_out: Py<PyAny>,
    pub(crate) enter_task: Py<PyAny>,
    pub(crate) leave_task: Py<PyAny>,
    pub(crate) set_running: Py<PyAny>,
    /// `asyncio.events._get_running_loop`
    pub(crate) running: Py<PyAny>,
    /// `locust._aio.foreign`
    pub(crate) foreign: Py<PyAny>,
    /// (the awaited call's, which the abi3 wheel has not)
    #[cfg_attr(feature = "abi3", allow(dead_code))]
    pub(crate) interrupted: Py<PyType>,
    #[cfg_attr(feature = "abi3", allow(dead_code))]
    pub(crate) greenlet_exit: Py<PyType>,
}

static AIO: PyOnceLock<Aio> = PyOnceLock::new();

pub(crate) fn aio_dict(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    Ok(cabi::greenlets(py)?.aio.bind(py).clone())
}

pub(crate) fn aio(py: Python<'_>) -> PyResult<&'static Aio> {
    AIO.get_or_try_init(py, || {
        let d = aio_dict(py)?;
        let item = |name: &str| -> PyResult<Py<PyAny>> {
            match d.get_item(name)? {
                Some(v) if !v.is_none() => Ok(v.unbind()),
                _ => Err(PyRuntimeError::new_err(format!(
                    "locust._aio has no {name} (its loop not made)"
                ))),
            }
        };
        Ok::<_, PyErr>(Aio {
            stepping: item("_stepping")?
                .into_bound(py)
                .cast_into::<PyDict>()?
                .unbind(),
            lp: item("loop")?,
            switch_out: item("switch_out")?,
            enter_task: item("_enter_task")?,
            leave_task: item("_leave_task")?,
            set_running: item("_set_running")?,
            running: item("_running")?,
            foreign: item("foreign")?,
            interrupted: item("_Interrupted")?
                .into_bound(py)
                .cast_into::<PyType>()?
                .unbind(),
            greenlet_exit: item("GreenletExit")?
                .into_bound(py)
                .cast_into::<PyType>()?
                .unbind(),
        })
    })
}

/// Before a step, and back from a call made in one: the loop running and the user's task current, the greenlet
/// marked as stepping (`inside`, `_stepping`, its `switch_out`), as `locust._aio.run` describes. The thread's running
/// loop found then is kept as `driver.outer`, to go back to (back from a call too: a sync user's own asyncio.run may
/// have started meanwhile, its loop running as it waits on the hub).
pub(crate) fn set_for_step(
    py: Python<'_>,
    me: &Bound<'_, PyAny>,
    driver: &Bound<'_, PyAny>,
    task: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let a = aio(py)?;
    let mut outer = a.running.bind(py).call0()?;
    if !outer.is_none() {
        outer = a.foreign.bind(py).call1((outer,))?;
    }
    driver.setattr(intern!(py, "outer"), &outer)?;
    let lp = a.lp.bind(py);
    set_running(py, a, lp)?;
    a.enter_task.bind(py).call1((lp, task))?;
    aio_dict(py)?.set_item(intern!(py, "inside"), me)?;
    a.stepping.bind(py).set_item(me, driver)?;
    me.setattr(intern!(py, "switch_out"), a.switch_out.bind(py))
}

/// After a step, and before a call made in one (the greenlet may park in it): all that set aside, the running loop
/// back to the one before the step (`driver.outer`).
pub(crate) fn set_aside(
    py: Python<'_>,
    me: &Bound<'_, PyAny>,
    driver: &Bound<'_, PyAny>,
    task: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let a = aio(py)?;
    me.setattr(intern!(py, "switch_out"), py.None())?;
    let stepping = a.stepping.bind(py);
    if stepping.contains(me)? {
        stepping.del_item(me)?;
    }
    aio_dict(py)?.set_item(intern!(py, "inside"), py.None())?;
    let lp = a.lp.bind(py);
    a.leave_task.bind(py).call1((lp, task))?;
    set_running(py, a, &driver.getattr(intern!(py, "outer"))?)
}

// ---- the thread's running loop, set without a new holder ----------------------------------------------------------
//
// A step sets the thread's running loop four times per awaited call (the step's start and end, and around the call,
// which parks). CPython 3.11's `_asyncio._set_running_loop` makes a new holder object each time and stamps it with
// `getpid()`, a system call: 12.6 % of the Python thread's time in a run of awaited calls, 8.4 % in getpid alone
// (bench/flame.py --thread python --async). Here the holder the thread has is kept and its loop replaced in place:
// `get_running_loop` reads the same holder (the thread's, which `_asyncio` also caches), so it sees the new loop, and
// its pid is this process's. Only a holder proven to have that layout is written: made by the real function in this
// process, of the type `_RunningLoopHolder` with the size of an object header, a pointer and a pid, its pointer
// found holding the loop just set. Whenever the thread's holder is another one (asyncio.run, the loop's
// run_forever, another thread), after a fork, and on any other version, the real function sets it and its holder
// is taken up again.

/// The holder taken up, and the fork generation it was made in.
static HOLDER: parking_lot::Mutex<Option<(Py<PyAny>, u64)>> = parking_lot::Mutex::new(None);
/// Forks since the start (the child's holder is the parent's, with the parent's pid).
static FORKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn forked() {
    FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// The pointer after the object header: the holder's loop.
fn loop_slot(holder: &Bound<'_, PyAny>) -> *mut *mut ffi::PyObject {
    // SAFETY: only for a holder whose layout `take_up` checked
    unsafe {
        holder
            .as_ptr()
            .cast::<u8>()
            .add(std::mem::size_of::<ffi::PyObject>())
            .cast()
    }
}

/// The thread's holder (borrowed from its thread state dict), if any.
fn thread_holder(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    // SAFETY: attached; the dict is borrowed from the thread state, the item from the dict
    unsafe {
        let dict = ffi::PyThreadState_GetDict();
        if dict.is_null() {
            return None;
        }
        let item = ffi::PyDict_GetItemWithError(
            dict,
            intern!(py, "__asyncio_running_event_loop__").as_ptr(),
        );
        if item.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(Bound::from_borrowed_ptr(py, item))
    }
}

/// The holder the real function just made for `value`, if it has the layout written here.
fn take_up<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if py.version_info() < (3, 11) || py.version_info() >= (3, 12) {
        return Ok(None);
    }
    let Some(holder) = thread_holder(py) else {
        return Ok(None);
    };
    let ty = holder.get_type();
    // (read as Python reads it: the limited API's type object is opaque)
    let size: isize = ty.getattr(intern!(py, "__basicsize__"))?.extract()?;
    let expected = std::mem::size_of::<ffi::PyObject>()
        + std::mem::size_of::<*mut ffi::PyObject>()
        + std::mem::size_of::<libc::pid_t>();
    let expected = expected.next_multiple_of(std::mem::align_of::<*mut ffi::PyObject>());
    if ty.name()? != "_RunningLoopHolder" || usize::try_from(size).ok() != Some(expected) {
        return Ok(None);
    }
    // SAFETY: an object of at least that size: its first pointer after the header, read only
    if unsafe { *loop_slot(&holder) } != value.as_ptr() {
        return Ok(None);
    }
    Ok(Some(holder))
}

/// `asyncio.events._set_running_loop(value)`, in place where the thread's holder allows (see above).
fn set_running(py: Python<'_>, a: &Aio, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let forks = FORKS.load(std::sync::atomic::Ordering::Relaxed);
    let mut kept = HOLDER.lock();
    if let (Some((holder, made_in)), Some(current)) = (kept.as_ref(), thread_holder(py))
        && *made_in == forks
        && current.is(holder.bind(py))
    {
        let slot = loop_slot(&current);
        // SAFETY: attached; a holder of the checked layout, alive (the thread's); the new loop in place first
        let old = unsafe { std::mem::replace(&mut *slot, value.clone().into_ptr()) };
        // (released with the lock let go: a loop's last reference may run its finalizer, which may set a loop)
        drop(kept);
        // SAFETY: the reference the holder had
        unsafe { ffi::Py_DecRef(old) };
        return Ok(());
    }
    a.set_running.bind(py).call1((value,))?;
    static HOOKED: std::sync::Once = std::sync::Once::new();
    HOOKED.call_once(|| {
        // SAFETY: registers a handler that only bumps an atomic counter in the child
        unsafe { libc::pthread_atfork(None, None, Some(forked)) };
    });
    let taken = take_up(py, value)?.map(|h| (h.unbind(), forks));
    let old = std::mem::replace(&mut *kept, taken);
    drop(kept);
    drop(old);
    Ok(())
}

/// `_rlocust.aio_step(me, driver, task, context, coro, error)`: one step of `coro` as `locust._aio.run` makes it
/// (`send(None)`, or `throw(error)` when it is not None) in `context`, with the asyncio state set for it and put
/// back after: `(True, value)` when it returned, `(False, yielded)` when it yielded; its exception raised.
unsafe extern "C" fn raw_step(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_FASTCALL function's arguments
    let (py, given) = unsafe { cabi::fastcall(args, nargs) };
    let &[_, _, _, context, coro, error] = given else {
        PyTypeError::new_err("aio_step takes 6 arguments").restore(py);
        return std::ptr::null_mut();
    };
    if cabi::guarded(py, |py| {
        // SAFETY: borrowed for the call
        let b = |i: usize| unsafe { Bound::from_borrowed_ptr(py, given[i]) };
        set_for_step(py, &b(0), &b(1), &b(2))
    })
    .is_none()
    {
        return std::ptr::null_mut();
    }
    let mut value: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: attached; the arguments are borrowed for the call
    let status = unsafe { send_in(context, coro, error, &mut value) };
    into_step_result(py, given, status, value)
}

/// `coro.send(None)` (or `coro.throw(error)`) in `context`: the step itself, which may switch greenlets (a call
/// parked in). Its own small frame, as every frame live across that switch is saved with the greenlet. With the
/// limited API (abi3): `context.run(coro.send, None)` (or `coro.throw, error`), a return being the StopIteration
/// `into_step_result` takes the value from.
#[inline(never)]
unsafe fn send_in(
    context: *mut ffi::PyObject,
    coro: *mut ffi::PyObject,
    error: *mut ffi::PyObject,
    value: &mut *mut ffi::PyObject,
) -> ffi::PySendResult {
    let done = |out: *mut ffi::PyObject| {
        if out.is_null() {
            ffi::PySendResult::PYGEN_ERROR
        } else {
            ffi::PySendResult::PYGEN_NEXT
        }
    };
    // SAFETY: attached (the caller is a C function Python called); the objects are borrowed for the call, the
    // attributes looked up are owned here
    unsafe {
        let py = Python::assume_attached();
        let none = ffi::Py_None();
        #[cfg(not(feature = "abi3"))]
        {
            if ffi::PyContext_Enter(context) < 0 {
                return ffi::PySendResult::PYGEN_ERROR;
            }
            let status = if error == none {
                ffi::PyIter_Send(coro, none, value)
            } else {
                *value = ffi::PyObject_CallMethodOneArg(coro, intern!(py, "throw").as_ptr(), error);
                done(*value)
            };
            // (cannot fail: the context entered above is the current one again; it leaves the error indicator
            // alone)
            ffi::PyContext_Exit(context);
            status
        }
        #[cfg(feature = "abi3")]
        {
            let name = if error == none {
                intern!(py, "send")
            } else {
                intern!(py, "throw")
            };
            let method = ffi::PyObject_GetAttr(coro, name.as_ptr());
            if method.is_null() {
                return ffi::PySendResult::PYGEN_ERROR;
            }
            let run = ffi::PyObject_GetAttr(context, intern!(py, "run").as_ptr());
            if run.is_null() {
                ffi::Py_DecRef(method);
                return ffi::PySendResult::PYGEN_ERROR;
            }
            let arg = if error == none { none } else { error };
            *value = ffi::PyObject_CallFunctionObjArgs(
                run,
                method,
                arg,
                std::ptr::null_mut::<ffi::PyObject>(),
            );
            ffi::Py_DecRef(run);
            ffi::Py_DecRef(method);
            done(*value)
        }
    }
}

#[inline(never)]
fn into_step_result(
    py: Python<'_>,
    given: &[*mut ffi::PyObject],
    status: ffi::PySendResult,
    value: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let out = cabi::guarded(py, |py| {
        // SAFETY: a new reference, or NULL with the exception set (by the step)
        let result = unsafe { Bound::from_owned_ptr_or_err(py, value) };
        // SAFETY: the step's arguments, borrowed for its call
        let b = |i: usize| unsafe { Bound::from_borrowed_ptr(py, given[i]) };
        set_aside(py, &b(0), &b(1), &b(2))?;
        let (done, value) = match (status, result) {
            (ffi::PySendResult::PYGEN_RETURN, Ok(v)) => (true, v),
            (_, Ok(v)) => (false, v),
            (_, Err(e)) if e.is_instance_of::<PyStopIteration>(py) => {
                (true, e.value(py).getattr(intern!(py, "value"))?)
            }
            (_, Err(e)) => return Err(e),
        };
        Ok(PyTuple::new(
            py,
            [
                pyo3::types::PyBool::new(py, done).to_owned().into_any(),
                value,
            ],
        )?
        .into_any())
    });
    out.map_or(std::ptr::null_mut(), Bound::into_ptr)
}

/// `aio_step`, a function of `_rlocust`.
pub(crate) fn add_step(m: &Bound<'_, PyModule>) -> PyResult<()> {
    cabi::add_function(
        m,
        "aio_step",
        ffi::PyMethodDefPointer {
            PyCFunctionFast: raw_step,
        },
        ffi::METH_FASTCALL,
        "aio_step(me, driver, task, context, coro, error, /)\n--\n\nOne step of a user's coroutine (locust._aio.run): (True, value) when it returned, (False, yielded) when it yielded.",
    )
}
