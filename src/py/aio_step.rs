//! A user's coroutine run in its greenlet, and the asyncio state a step sets: `_rlocust.aio_run`, which is
//! `locust._aio.run` (each step with the loop set running and the user's task entered, the greenlet marked as
//! stepping, `send`/`throw` in the user's context, all put back after; a yielded future waited for by the shim's
//! `_wait`; a kill, a cancel and the end as `run`'s comment in the shim says); `set_for_step` and `set_aside`, which
//! the awaited call (`awaited`) also uses around a call made inside a step.
//!
//! Who calls it: `locust._aio.run`'s callers (the task loop, `execute_task`, a user's on_start and on_stop);
//! `awaited`. The run is a raw C function (a call made inside a step may park the greenlet: call.rs, "the C
//! functions"); the uncommon start (the first coroutine of a user, a cancel to put back) is the shim's `_begin`.
//! Why in Rust, with the attributes read in place (see "the driver's and the scopes' slots"), the current task set
//! in asyncio's own dict and the running loop in its own holder: an awaited call cost 1.12x a sync call with
//! `run` in Python (docs/performance.md, issue 54). With the full API a step enters the context and sends by
//! `PyIter_Send` (no StopIteration when the coroutine returns); the abi3 wheel has neither, and calls
//! `context.run(coro.send, None)`.
use crate::py::cabi;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

/// `locust._aio`'s parts an inline call flips (all fixed once its loop exists).
pub(crate) struct Aio {
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
    /// asyncio's own dict of the current tasks, where it is proven to be what `enter_task` and `leave_task` write
    /// (see "the current task" below)
    current_tasks: Option<Py<PyDict>>,
    /// `locust._aio._Driver`'s and `_Scopes`' slots, read and written in place (see "the driver's and the scopes'
    /// slots" below)
    pub(crate) slots: Slots,
    /// the greenlet the loop runs in
    loop_greenlet: Py<PyAny>,
    /// `asyncio.CancelledError`; `locust._aio._wait` and `_cancel_all` (`run`'s)
    cancelled_error: Py<PyType>,
    wait: Py<PyAny>,
    cancel_all: Py<PyAny>,
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
            current_tasks: current_tasks(py, &d)?,
            slots: Slots::of(
                &item("_Driver")?.into_bound(py),
                &item("_Scopes")?.into_bound(py),
            )?,
            loop_greenlet: item("loop_greenlet")?,
            cancelled_error: item("_CancelledError")?
                .into_bound(py)
                .cast_into::<PyType>()?
                .unbind(),
            wait: item("_wait")?,
            cancel_all: item("_cancel_all")?,
        })
    })
}

/// Before a step, and back from a call made in one: the loop running and the user's task current, the greenlet
/// marked as stepping (`inside`, and here: see "the greenlets stepping"), as `locust._aio.run` describes. The thread's
/// running loop found then is kept as `driver.outer`, to go back to (back from a call too: a sync user's own
/// asyncio.run may have started meanwhile, its loop running as it waits on the hub).
pub(crate) fn set_for_step(
    py: Python<'_>,
    me: &Bound<'_, PyAny>,
    driver: &Bound<'_, PyAny>,
    task: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let a = aio(py)?;
    let lp = a.lp.bind(py);
    let mut outer = set_running(py, a, lp)?;
    if !outer.is_none() {
        outer = a.foreign.bind(py).call1((outer,))?;
    }
    a.slots.set(driver, Slot::Outer, &outer)?;
    current_task(py, a, lp, task, true)?;
    aio_dict(py)?.set_item(intern!(py, "inside"), me)?;
    mark_stepping(me, driver);
    Ok(())
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
    unmark_stepping(me);
    aio_dict(py)?.set_item(intern!(py, "inside"), py.None())?;
    let lp = a.lp.bind(py);
    current_task(py, a, lp, task, false)?;
    set_running(py, a, &a.slots.get(driver, Slot::Outer)?).map(drop)
}

/// `_rlocust.aio_set_for_step(me, driver, task)`: `set_for_step`, for `locust._aio.Call`.
#[pyfunction(signature = (me, driver, task, /))]
pub(crate) fn aio_set_for_step(
    me: &Bound<'_, PyAny>,
    driver: &Bound<'_, PyAny>,
    task: &Bound<'_, PyAny>,
) -> PyResult<()> {
    set_for_step(me.py(), me, driver, task)
}

/// `_rlocust.aio_set_aside(me, driver, task)`: `set_aside`, for `locust._aio.Call`.
#[pyfunction(signature = (me, driver, task, /))]
pub(crate) fn aio_set_aside(
    me: &Bound<'_, PyAny>,
    driver: &Bound<'_, PyAny>,
    task: &Bound<'_, PyAny>,
) -> PyResult<()> {
    set_aside(me.py(), me, driver, task)
}

// ---- the greenlets stepping -----------------------------------------------------------------------------------
//
// Which greenlets are running a step of their user's coroutine (not inside a call it makes), with their drivers:
// the one running now, and any waiting on the hub inside a step (a blocking call in coroutine code). Marked and
// cleared twice per awaited call; a dict whose one key comes and goes grows until it is rebuilt, so this is a short
// list of the interpreter's thread. A user's greenlet has the shim's `switch_out` for its life (gevent calls it
// before the greenlet waits on the hub): it sets the step's state aside only for a greenlet marked here, and a
// greenlet not marked here is switched as if it had none (`idle_switch_out`).

thread_local! {
    static STEPPING: std::cell::RefCell<Vec<(Py<PyAny>, Py<PyAny>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn mark_stepping(g: &Bound<'_, PyAny>, driver: &Bound<'_, PyAny>) {
    let gone = STEPPING.with_borrow_mut(|marked| {
        if let Some(entry) = marked.iter_mut().find(|(m, _)| m.is(g)) {
            Some(std::mem::replace(&mut entry.1, driver.clone().unbind()))
        } else {
            marked.push((g.clone().unbind(), driver.clone().unbind()));
            None
        }
    });
    drop(gone); // (let go with the list not borrowed)
}

fn unmark_stepping(g: &Bound<'_, PyAny>) {
    let gone = STEPPING.with_borrow_mut(|marked| {
        let at = marked.iter().position(|(m, _)| m.is(g))?;
        Some(marked.swap_remove(at))
    });
    drop(gone);
}

/// The driver of `g`'s step, if it is running one.
pub(crate) fn stepping<'py>(g: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    STEPPING.with_borrow(|marked| {
        marked
            .iter()
            .find(|(m, _)| m.is(g))
            .map(|(_, d)| d.bind(g.py()).clone())
    })
}

/// `_rlocust.aio_stepping(g)`: the driver of `g`'s step, if it is running one (else None).
#[pyfunction(signature = (g, /))]
pub(crate) fn aio_stepping<'py>(g: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    stepping(g)
}

/// Whether `value`, found as greenlet `g`'s own `switch_out`, is the shim's and does nothing now (`g` is not in a
/// step): a switch away from `g` or back to it may then skip it, as it would skip no `switch_out` at all.
pub(crate) fn idle_switch_out(
    py: Python<'_>,
    g: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> bool {
    AIO.get(py)
        .is_some_and(|a| value.is(a.switch_out.bind(py)) && !g.is(a.loop_greenlet.bind(py)))
        && stepping(g).is_none()
}

// ---- the current task, set in asyncio's own dict --------------------------------------------------------------
//
// A step enters the user's task twice and leaves it twice per awaited call. On CPython 3.11 and 3.12 the C
// `_asyncio._enter_task(loop, task)` sets `_asyncio._current_tasks[loop] = task` (refusing if the loop has one) and
// `_leave_task` deletes it (refusing if it is another), and `asyncio.current_task` reads that dict: here the dict is
// written directly, which spares the two calls' argument handling, and the real functions are called whenever they
// would refuse (to raise their own error). Only where `asyncio.tasks` uses those C functions and that very dict;
// elsewhere (another version, the pure-Python tasks) the functions are called.

fn current_tasks(py: Python<'_>, aio: &Bound<'_, PyDict>) -> PyResult<Option<Py<PyDict>>> {
    if py.version_info() < (3, 11) || py.version_info() >= (3, 13) {
        return Ok(None);
    }
    let Ok(c) = py.import("_asyncio") else {
        return Ok(None);
    };
    let tasks = py.import("asyncio.tasks")?;
    let same = |name: &str, ours: Option<Bound<'_, PyAny>>| -> PyResult<bool> {
        Ok(ours.is_some_and(|o| c.getattr(name).is_ok_and(|t| t.is(&o))))
    };
    if !same("_enter_task", aio.get_item("_enter_task")?)?
        || !same("_leave_task", aio.get_item("_leave_task")?)?
        || !same("_current_tasks", tasks.getattr("_current_tasks").ok())?
    {
        return Ok(None);
    }
    Ok(c.getattr("_current_tasks")?
        .cast_into_exact::<PyDict>()
        .ok()
        .map(Bound::unbind))
}

/// `asyncio.tasks._enter_task(lp, task)` when `enter`, else `_leave_task(lp, task)`.
fn current_task(
    py: Python<'_>,
    a: &Aio,
    lp: &Bound<'_, PyAny>,
    task: &Bound<'_, PyAny>,
    enter: bool,
) -> PyResult<()> {
    if let Some(d) = &a.current_tasks {
        let d = d.bind(py);
        match (enter, d.get_item(lp)?) {
            (true, None) => return d.set_item(lp, task),
            (false, Some(t)) if t.is(task) => return d.del_item(lp),
            _ => {}
        }
    }
    let real = if enter { &a.enter_task } else { &a.leave_task };
    real.bind(py).call1((lp, task)).map(drop)
}

// ---- the driver's and the scopes' slots -----------------------------------------------------------------------
//
// A run and an awaited call read and write about twenty attributes of the user's driver and scopes
// (`locust._aio._Driver` and `_Scopes`, classes with `__slots__`). Python's own code reads a slot in a few
// nanoseconds (its specialized attribute access); through `getattr`/`setattr` from here each is a type lookup and a
// descriptor call, and a run made in Rust that way cost what the Python function it replaced did. With the full API
// each slot's member definition is taken from its class's descriptor once, and read and written with
// `PyMember_GetOne`/`PyMember_SetOne` (what that descriptor does) for an object of exactly that class; otherwise (the
// abi3 wheel, a subclass) by name.

const SLOTS: usize = 14;

/// The attributes read or written from Rust: the driver's, then the scopes'.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "abi3", allow(dead_code))]
pub(crate) enum Slot {
    Outer,
    MustCancel,
    Task,
    Seq,
    Inline,
    Killed,
    Cancels,
    Greenlet,
    Running,
    Waiting,
    /// `_Scopes`' own: its driver, context, tasks started, and whether it keeps them (on_start).
    ScopesDriver,
    ScopesContext,
    ScopesTask,
    ScopesKeeping,
}

#[cfg_attr(feature = "abi3", allow(dead_code))]
impl Slot {
    const ALL: [Slot; SLOTS] = [
        Slot::Outer,
        Slot::MustCancel,
        Slot::Task,
        Slot::Seq,
        Slot::Inline,
        Slot::Killed,
        Slot::Cancels,
        Slot::Greenlet,
        Slot::Running,
        Slot::Waiting,
        Slot::ScopesDriver,
        Slot::ScopesContext,
        Slot::ScopesTask,
        Slot::ScopesKeeping,
    ];

    fn name(self) -> &'static str {
        match self {
            Slot::Outer => "outer",
            Slot::MustCancel => "must_cancel",
            Slot::Task | Slot::ScopesTask => "task",
            Slot::Seq => "seq",
            Slot::Inline => "inline",
            Slot::Killed => "killed",
            Slot::Cancels => "cancels",
            Slot::Greenlet => "greenlet",
            Slot::Running => "running",
            Slot::Waiting => "waiting",
            Slot::ScopesDriver => "driver",
            Slot::ScopesContext => "context",
            Slot::ScopesKeeping => "keeping",
        }
    }

    /// 0: `_Driver`'s, 1: `_Scopes`'.
    fn class(self) -> usize {
        usize::from(matches!(
            self,
            Slot::ScopesDriver | Slot::ScopesContext | Slot::ScopesTask | Slot::ScopesKeeping
        ))
    }
}

/// `_Driver` and `_Scopes`, and their slots' member definitions (None: by name).
pub(crate) struct Slots {
    #[cfg_attr(feature = "abi3", allow(dead_code))]
    classes: [Py<PyType>; 2],
    #[cfg_attr(feature = "abi3", allow(dead_code))]
    members: Option<[usize; SLOTS]>,
}

impl Slots {
    fn of(driver: &Bound<'_, PyAny>, scopes: &Bound<'_, PyAny>) -> PyResult<Slots> {
        let classes = [
            driver.cast::<PyType>()?.clone(),
            scopes.cast::<PyType>()?.clone(),
        ];
        #[cfg(not(feature = "abi3"))]
        let members = {
            let mut members = [0usize; SLOTS];
            let mut all = true;
            for (i, slot) in Slot::ALL.iter().enumerate() {
                let descr = classes[slot.class()].getattr(slot.name())?;
                // SAFETY: attached; the type object is a static of the interpreter
                let is_member = unsafe {
                    ffi::Py_TYPE(descr.as_ptr()) == std::ptr::addr_of_mut!(ffi::PyMemberDescr_Type)
                };
                if !is_member {
                    all = false;
                    break;
                }
                // SAFETY: a member descriptor: its definition lives as long as its class (kept here)
                let def = unsafe { (*descr.as_ptr().cast::<ffi::PyMemberDescrObject>()).d_member };
                members[i] = def as usize;
            }
            all.then_some(members)
        };
        #[cfg(feature = "abi3")]
        let members = None;
        Ok(Slots {
            classes: classes.map(Bound::unbind),
            members,
        })
    }

    /// `obj.<slot>`
    pub(crate) fn get<'py>(
        &self,
        obj: &Bound<'py, PyAny>,
        slot: Slot,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = obj.py();
        #[cfg(not(feature = "abi3"))]
        if let Some(def) = self.member(obj, slot) {
            // SAFETY: attached; an object of the class the definition is of
            return unsafe {
                Bound::from_owned_ptr_or_err(py, ffi::PyMember_GetOne(obj.as_ptr().cast(), def))
            };
        }
        obj.getattr(pyo3::types::PyString::intern(py, slot.name()))
    }

    /// `obj.<slot> = value`
    pub(crate) fn set(
        &self,
        obj: &Bound<'_, PyAny>,
        slot: Slot,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = obj.py();
        #[cfg(not(feature = "abi3"))]
        if let Some(def) = self.member(obj, slot) {
            // SAFETY: attached; an object of the class the definition is of; the value is borrowed (the slot takes
            // its own reference)
            if unsafe { ffi::PyMember_SetOne(obj.as_ptr().cast(), def, value.as_ptr()) } < 0 {
                return Err(PyErr::fetch(py));
            }
            return Ok(());
        }
        obj.setattr(pyo3::types::PyString::intern(py, slot.name()), value)
    }

    /// `obj.<slot> = flag`
    pub(crate) fn set_bool(&self, obj: &Bound<'_, PyAny>, slot: Slot, flag: bool) -> PyResult<()> {
        self.set(obj, slot, pyo3::types::PyBool::new(obj.py(), flag).as_any())
    }

    #[cfg(not(feature = "abi3"))]
    fn member(&self, obj: &Bound<'_, PyAny>, slot: Slot) -> Option<*mut ffi::PyMemberDef> {
        let members = self.members.as_ref()?;
        // SAFETY: reads the object's type pointer
        let exact =
            unsafe { ffi::Py_TYPE(obj.as_ptr()) } == self.classes[slot.class()].as_ptr().cast();
        exact.then(|| members[slot as usize] as *mut ffi::PyMemberDef)
    }
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

thread_local! {
    /// The thread's holder taken up, and the fork generation it was made in (never borrowed across a call into
    /// Python: a loop's finalizer may set a loop).
    static HOLDER: std::cell::RefCell<Option<(Py<PyAny>, u64)>> = const { std::cell::RefCell::new(None) };
}
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

/// The thread's holder, if it is the one taken up (in this process).
fn ours<'py>(py: Python<'py>, kept: &Option<(Py<PyAny>, u64)>) -> Option<Bound<'py, PyAny>> {
    let (holder, made_in) = kept.as_ref()?;
    let current = thread_holder(py)?;
    (*made_in == FORKS.load(std::sync::atomic::Ordering::Relaxed) && current.is(holder.bind(py)))
        .then_some(current)
}

/// `asyncio.events._set_running_loop(value)`, in place where the thread's holder allows (see above). Returns the
/// loop that was running (`_get_running_loop()` before: read from the holder where it is the one taken up, whose pid
/// is this process's, which the real function checks).
fn set_running<'py>(
    py: Python<'py>,
    a: &Aio,
    value: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let forks = FORKS.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(current) = HOLDER.with_borrow(|kept| ours(py, kept)) {
        let slot = loop_slot(&current);
        // SAFETY: attached; a holder of the checked layout, alive (the thread's); the new loop in place first
        let old = unsafe { std::mem::replace(&mut *slot, value.clone().into_ptr()) };
        // SAFETY: the reference the holder had (never NULL: a holder always has a loop or None)
        return Ok(unsafe { Bound::from_owned_ptr(py, old) });
    }
    let old = a.running.bind(py).call0()?;
    a.set_running.bind(py).call1((value,))?;
    static HOOKED: std::sync::Once = std::sync::Once::new();
    HOOKED.call_once(|| {
        // SAFETY: registers a handler that only bumps an atomic counter in the child
        unsafe { libc::pthread_atfork(None, None, Some(forked)) };
    });
    let taken = take_up(py, value)?.map(|h| (h.unbind(), forks));
    let gone = HOLDER.with(|kept| kept.replace(taken));
    drop(gone);
    Ok(old)
}

// ---- `run` ----------------------------------------------------------------------------------------------------

/// A user's coroutine being run (`aio_run`): what its steps need, owned (nothing borrowed lives across a switch).
struct Run {
    me: Py<PyAny>,
    scopes: Py<PyAny>,
    driver: Py<PyAny>,
    task: Py<PyAny>,
    context: Py<PyAny>,
    coro: Py<PyAny>,
    keep: bool,
}

enum Start {
    /// Not awaitable: returned as it is.
    Done(Py<PyAny>),
    Run(Run),
}

/// A step's end.
enum Stepped {
    Returned(Py<PyAny>),
    Yielded(Py<PyAny>),
}

/// `_rlocust.aio_run(user, coro, keep=False)`, which is `locust._aio.run` (see its comment there). Its own frame
/// holds only a `Run` and the value between steps: the pieces run in `guarded` frames that are gone before the
/// coroutine's step or `_wait` parks the greenlet (call.rs, "the C functions").
unsafe extern "C" fn raw_run(
    _module: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: attached (Python called it)
    let py = unsafe { Python::assume_attached() };
    let Some(start) = cabi::guarded(py, |py| {
        // SAFETY: a METH_FASTCALL | METH_KEYWORDS function's arguments, borrowed for the call
        let (user, coro, keep) = unsafe { run_arguments(py, args, nargs, kwnames) }?;
        begin(py, &user, &coro, keep)
    }) else {
        return std::ptr::null_mut();
    };
    let run = match start {
        Start::Done(value) => return value.into_ptr(),
        Start::Run(run) => run,
    };
    // the steps: Ok(value) when the coroutine returned, Err(()) with the exception set
    let mut error: Option<Py<PyAny>> = None;
    let outcome = loop {
        let Some(thrown) = cabi::guarded(py, |py| before_step(py, &run, error.take())) else {
            break Err(());
        };
        let mut value: *mut ffi::PyObject = std::ptr::null_mut();
        let thrown_ptr = thrown.as_ref().map_or(py.None().as_ptr(), Py::as_ptr);
        // SAFETY: attached; the objects are owned by `run` and `thrown`, alive across the step
        let status = unsafe {
            send_in(
                run.context.as_ptr(),
                run.coro.as_ptr(),
                thrown_ptr,
                &mut value,
            )
        };
        drop(thrown);
        match cabi::guarded(py, |py| after_step(py, &run, status, value)) {
            None => break Err(()),
            Some(Stepped::Returned(value)) => break Ok(value),
            Some(Stepped::Yielded(yielded)) => {
                // SAFETY: attached; `_wait(driver, yielded, loop)` (it may park the greenlet), a new reference or
                // NULL with the exception set
                let waited = unsafe { wait(py, &run, &yielded) };
                drop(yielded);
                if waited.is_null() {
                    break Err(());
                }
                // SAFETY: the new reference `_wait` returned
                let waited = unsafe { Bound::from_owned_ptr(py, waited) }.unbind();
                error = (!waited.is_none(py)).then_some(waited);
            }
        }
    };
    cabi::into_ptr(cabi::guarded(py, |py| {
        let outcome = outcome.map_err(|()| PyErr::fetch(py));
        finish(py, run, outcome)
    }))
}

/// `(user, coro, keep=False)` from a vectorcall.
///
/// # Safety
/// Attached; a METH_FASTCALL | METH_KEYWORDS function's arguments.
unsafe fn run_arguments<'py>(
    py: Python<'py>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, bool)> {
    let nkw = if kwnames.is_null() {
        0
    } else {
        // SAFETY: a tuple of the keywords' names
        unsafe { Bound::from_borrowed_ptr(py, kwnames) }.len()?
    };
    let npos = usize::try_from(nargs).unwrap_or(0);
    let refuse = || PyTypeError::new_err("run() takes user, coro and keep=False");
    if !(2..=3).contains(&npos) || npos + nkw > 3 {
        return Err(refuse());
    }
    // SAFETY: npos + nkw arguments, borrowed for the call
    let arg = |i: usize| unsafe { Bound::from_borrowed_ptr(py, *args.add(i)) };
    let keep = match (npos, nkw) {
        (3, _) => Some(arg(2)),
        (2, 1) => {
            // SAFETY: as above
            let name = unsafe { Bound::from_borrowed_ptr(py, kwnames) }.get_item(0)?;
            if !name.eq(intern!(py, "keep"))? {
                return Err(refuse());
            }
            Some(arg(2))
        }
        _ => None,
    };
    let keep = match keep {
        Some(k) => k.is_truthy()?,
        None => false,
    };
    Ok((arg(0), arg(1), keep))
}

/// The run set up: the common case here (see `_begin`), any other by `locust._aio._begin`; the driver told a
/// coroutine runs.
fn begin(
    py: Python<'_>,
    user: &Bound<'_, PyAny>,
    coro: &Bound<'_, PyAny>,
    keep: bool,
) -> PyResult<Start> {
    let run = match common(py, user, coro, keep)? {
        Some(run) => run,
        None => {
            let begun = aio_dict(py)?
                .get_item(intern!(py, "_begin"))?
                .ok_or_else(|| PyRuntimeError::new_err("locust._aio has no _begin"))?
                .call1((user, coro))?;
            let (coro, scopes): (Bound<'_, PyAny>, Bound<'_, PyAny>) = begun.extract()?;
            if scopes.is_none() {
                return Ok(Start::Done(coro.unbind()));
            }
            let slots = &aio(py)?.slots;
            let driver = slots.get(&scopes, Slot::ScopesDriver)?;
            Run {
                me: cabi::current(py)?.unbind(),
                task: slots.get(&driver, Slot::Task)?.unbind(),
                context: slots.get(&scopes, Slot::ScopesContext)?.unbind(),
                driver: driver.unbind(),
                scopes: scopes.unbind(),
                coro: coro.unbind(),
                keep,
            }
        }
    };
    let slots = &aio(py)?.slots;
    slots.set_bool(run.scopes.bind(py), Slot::ScopesKeeping, keep)?;
    let driver = run.driver.bind(py);
    slots.set(driver, Slot::Killed, &py.None().into_bound(py))?;
    slots.set_bool(driver, Slot::Running, true)?;
    Ok(Start::Run(run))
}

/// The common case: a coroutine, the loop made, not run from coroutine code, the user's scopes and task made by an
/// earlier coroutine of this greenlet, no cancel left by it to put back.
fn common(
    py: Python<'_>,
    user: &Bound<'_, PyAny>,
    coro: &Bound<'_, PyAny>,
    keep: bool,
) -> PyResult<Option<Run>> {
    // SAFETY: reads the type pointer
    if unsafe { ffi::Py_TYPE(coro.as_ptr()) } != coroutine_type(py)? {
        return Ok(None);
    }
    let Some(a) = AIO.get(py) else {
        return Ok(None); // (the loop not made yet)
    };
    let me = cabi::current(py)?;
    if me.is(a.loop_greenlet.bind(py)) || stepping(&me).is_some() {
        return Ok(None);
    }
    // SAFETY: attached; a new reference to the user's dict (made if it had none), or NULL with the exception set
    let dict = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_GenericGetDict(user.as_ptr(), std::ptr::null_mut()),
        )
    };
    let Some(scopes) = (match dict.map(|d| d.cast_into::<PyDict>()) {
        Ok(Ok(d)) => d.get_item(intern!(py, "_rlocust_aio"))?,
        _ => {
            PyErr::take(py);
            None
        }
    }) else {
        return Ok(None);
    };
    let slots = &a.slots;
    let driver = slots.get(&scopes, Slot::ScopesDriver)?;
    if !slots.get(&driver, Slot::Greenlet)?.is(&me) {
        return Ok(None);
    }
    let task = slots.get(&driver, Slot::Task)?;
    if task.is_none() || slots.get(&driver, Slot::Cancels)?.is_truthy()? {
        return Ok(None);
    }
    Ok(Some(Run {
        me: me.unbind(),
        context: slots.get(&scopes, Slot::ScopesContext)?.unbind(),
        scopes: scopes.unbind(),
        driver: driver.unbind(),
        task: task.unbind(),
        coro: coro.clone().unbind(),
        keep,
    }))
}

/// `types.CoroutineType`
fn coroutine_type(py: Python<'_>) -> PyResult<*mut ffi::PyTypeObject> {
    static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    Ok(TYPE.import(py, "types", "CoroutineType")?.as_ptr().cast())
}

/// Before a step: a cancel pending delivered (CancelledError thrown in, unless one is already), the asyncio state
/// set. Returns what to throw in, if anything.
fn before_step(py: Python<'_>, run: &Run, error: Option<Py<PyAny>>) -> PyResult<Option<Py<PyAny>>> {
    let a = aio(py)?;
    let driver = run.driver.bind(py);
    let mut error = error;
    if a.slots.get(driver, Slot::MustCancel)?.is_truthy()? {
        a.slots.set_bool(driver, Slot::MustCancel, false)?;
        if !error.as_ref().is_some_and(|e| {
            e.bind(py)
                .is_instance(a.cancelled_error.bind(py))
                .unwrap_or(false)
        }) {
            error = Some(driver.call_method0(intern!(py, "cancelled"))?.unbind());
        }
    }
    set_for_step(py, run.me.bind(py), driver, run.task.bind(py))?;
    Ok(error)
}

/// After a step: the asyncio state set aside; what the coroutine returned or yielded (a cancel requested right
/// before it returned ends it cancelled), or its exception.
fn after_step(
    py: Python<'_>,
    run: &Run,
    status: ffi::PySendResult,
    value: *mut ffi::PyObject,
) -> PyResult<Stepped> {
    // SAFETY: a new reference, or NULL with the exception set (by the step)
    let result = unsafe { Bound::from_owned_ptr_or_err(py, value) };
    let a = aio(py)?;
    let driver = run.driver.bind(py);
    set_aside(py, run.me.bind(py), driver, run.task.bind(py))?;
    let returned = match (status, result) {
        (ffi::PySendResult::PYGEN_RETURN, Ok(v)) => v,
        (_, Ok(v)) => return Ok(Stepped::Yielded(v.unbind())),
        (_, Err(e)) if e.is_instance_of::<PyStopIteration>(py) => {
            e.value(py).getattr(intern!(py, "value"))?
        }
        (_, Err(e)) => return Err(e),
    };
    if a.slots.get(driver, Slot::MustCancel)?.is_truthy()? {
        return Err(PyErr::from_value(
            driver.call_method0(intern!(py, "cancelled"))?,
        ));
    }
    Ok(Stepped::Returned(returned.unbind()))
}

/// `locust._aio._wait(driver, yielded, loop)`: a new reference, or NULL with the exception set.
///
/// # Safety
/// Attached; from `raw_run`'s own frame (it may park the greenlet).
#[inline(never)]
unsafe fn wait(py: Python<'_>, run: &Run, yielded: &Py<PyAny>) -> *mut ffi::PyObject {
    let Some((function, lp)) = cabi::guarded(py, |py| {
        let a = aio(py)?;
        Ok((a.wait.as_ptr(), a.lp.as_ptr()))
    }) else {
        return std::ptr::null_mut();
    };
    // SAFETY: attached; `_wait` and the loop live in `Aio` for the process, the rest are owned by the caller
    unsafe {
        #[cfg(not(feature = "abi3"))]
        {
            let args = [run.driver.as_ptr(), yielded.as_ptr(), lp];
            ffi::PyObject_Vectorcall(function, args.as_ptr(), 3, std::ptr::null_mut())
        }
        #[cfg(feature = "abi3")]
        {
            ffi::PyObject_CallFunctionObjArgs(
                function,
                run.driver.as_ptr(),
                yielded.as_ptr(),
                lp,
                std::ptr::null_mut::<ffi::PyObject>(),
            )
        }
    }
}

/// The run's end, as `run`'s `except` and `finally` make it: an exception the coroutine raised after a kill is
/// dropped (the kill is raised instead); the driver told no coroutine runs; the tasks it started cancelled unless
/// `keep`.
fn finish<'py>(
    py: Python<'py>,
    run: Run,
    outcome: PyResult<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let a = aio(py)?;
    let driver = run.driver.bind(py);
    let slots = &a.slots;
    let killed_at_error = outcome.is_err() && !slots.get(driver, Slot::Killed)?.is_none();
    let outcome = if killed_at_error {
        Ok(py.None())
    } else {
        outcome
    };
    slots.set_bool(driver, Slot::Running, false)?;
    slots.set(driver, Slot::Waiting, &py.None().into_bound(py))?;
    slots.set_bool(driver, Slot::MustCancel, false)?;
    let scopes = run.scopes.bind(py);
    slots.set_bool(scopes, Slot::ScopesKeeping, false)?;
    if !run.keep {
        let started = slots.get(scopes, Slot::ScopesTask)?;
        if started.is_truthy()? {
            a.cancel_all.bind(py).call1((started,))?;
        }
    }
    let result = outcome?;
    let killed = a.slots.get(driver, Slot::Killed)?;
    if !killed.is_none() {
        return Err(PyErr::from_value(killed));
    }
    Ok(result.into_bound(py))
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

/// `aio_run`, a function of `_rlocust` (`locust._aio.run`).
pub(crate) fn add_run(m: &Bound<'_, PyModule>) -> PyResult<()> {
    cabi::add_function(
        m,
        "aio_run",
        ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: raw_run,
        },
        ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        "aio_run(user, coro, keep=False)\n--\n\nRun a user's coroutine in its greenlet as an asyncio Task would (locust._aio.run).",
    )
}
