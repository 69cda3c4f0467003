//! A TaskSet's task loop without Python frames: `_rlocust.task_loop(taskset, resumed)` makes the passes of `TaskSet.run`'s
//! loop that the locustfile leaves as the shim wrote them, each as the shim's Python makes it. The next task is
//! drawn as `random.choice` draws it (the same bits of the same generator, so a seeded run picks the same tasks).
//! A plain function task is called directly, and any other task through `execute_task`. `RescheduleTask` and
//! `RescheduleTaskImmediately` are taken as the loop's inner `try` takes them. The wait is `TaskSet.wait`'s: a
//! wait on Rust's timers is handed back to the Python loop, which parks on its ticket and gives it back (so a
//! waiting user's stack is what it was with the Python loop); with no wait, the user skips its yield when the hub
//! has just resumed it from a park, as `_hub.yield_now` does. A user's `wait_time` that is the function
//! `constant(x)` made is read (x, from its closure) instead of called (`constant_wait`). It returns None at the
//! top of a pass that is not plain, for the Python loop to make that pass, and raises what a pass raises past its
//! reschedules, which the Python loop's outer handlers take as before.
//!
//! A pass is plain when:
//! - the TaskSet's class has the shim's `get_next_task`, `schedule_task`, `execute_next_task`, `execute_task` and
//!   `wait` (DefaultTaskSet's, or TaskSet's for a TaskSet of the locustfile's that overrides none of them);
//! - the instance shadows none of those, nor `wait_time` or `_sleep`;
//! - its queue is the shim's empty `_TaskQueue` (nothing scheduled by hand);
//! - its tasks are a non-empty list or tuple;
//! - `random.choice` is still random's own.
//!
//! An exception a pass raises reads as the Python loop's would: the task is called from here, so its traceback
//! lacks the frames of `execute_next_task` and `execute_task` (or `wait`), and `run`'s entry points at the
//! `_task_loop` call. The Python loop's handler gives it to `mend_traceback`, which puts those entries back as the
//! interpreter makes them (the report's exceptions table groups by traceback: one exception must not become two).
//!
//! The class is judged once per version of it (CPython's type version tag changes when the class or a base is
//! modified), and the instance's dictionary again whenever its size changes.
//!
//! Who calls it: `locust.user.task.TaskSet.run`, at the top of each pass; the shim registers its classes and
//! functions once (`register_task_loop`). Why: a request's pass through the Python loop (choice, schedule, pop,
//! execute, wait and their frames) cost more of the Python thread than the client call's own Python side
//! (docs/performance.md, "Issue 54 in the machine's fast state, and a task loop in Rust"). The binary only: the abi3 wheel has no type version tag to read,
//! and keeps the Python loop.
//!
//! Like the verbs, this is a raw C function, not a pyo3 one: the user's greenlet switches away inside it (in the
//! task's requests, a coroutine's awaits, an arrival), and a greenlet left parked for good must not leave pyo3's count of calls on the
//! thread raised (call.rs, "the C functions").
use crate::py::cabi::{self, current, guarded, into_ptr};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use std::time::Instant;

/// What the shim registered: its classes and originals, and the modules whose state a pass reads.
struct Shim {
    /// `_TaskQueue`.
    queue: Py<PyType>,
    /// The five methods a plain pass stands for, as DefaultTaskSet and TaskSet have them.
    default_methods: [Py<PyAny>; 5],
    plain_methods: [Py<PyAny>; 5],
    /// `TaskSet.wait_time` and `TaskSet._sleep` (a class that has another is called for it).
    wait_time: Py<PyAny>,
    sleep: Py<PyAny>,
    /// The code of the function `locust.user.wait_time.constant` returns (`constant_wait`).
    constant_code: Py<PyAny>,
    reschedule: Py<PyType>,
    immediately: Py<PyType>,
    stop_user: Py<PyType>,
    /// `random`'s globals, and its `choice` when the shim started (a bound method of `random._inst`) with that
    /// instance's `getrandbits`.
    random: Py<PyDict>,
    choice: Py<PyAny>,
    getrandbits: Py<PyAny>,
    /// `locust._open`'s and `locust._hub`'s globals; `locust._aio.run`.
    open: Py<PyDict>,
    hub: Py<PyDict>,
    aio_run: Py<PyAny>,
    running: Py<PyString>,
    waiting: Py<PyString>,
    stopping: Py<PyString>,
    /// Where the Python loop's frames point, in `Site`'s order (`SITES`).
    sites: Vec<SiteAt>,
}

/// A line of the shim's loop a traceback may point at: its function's code and globals, `tb_lasti` and `tb_lineno`
/// as the interpreter makes them (`locust.user.task._site`).
struct SiteAt {
    code: Py<PyAny>,
    globals: Py<PyDict>,
    lasti: i32,
    line: i32,
}

static SHIM: PyOnceLock<Shim> = PyOnceLock::new();

/// The lines of the Python loop an exception a pass raises would have passed (see `Path`).
#[derive(Clone, Copy)]
enum Site {
    /// `run`'s: `self.execute_next_task()`, `self.wait()` after a `RescheduleTask`, `self.wait()` after a task,
    /// `raise StopUser()`.
    RunTask,
    RunWaitRescheduled,
    RunWait,
    RunStop,
    /// `execute_next_task`'s call of `execute_task`.
    NextTask,
    /// `execute_task`'s arrival, task call and coroutine run: DefaultTaskSet's, then TaskSet's.
    DefaultArrive,
    DefaultCall,
    DefaultAio,
    PlainArrive,
    PlainCall,
    PlainAio,
    /// `wait`'s: the stop before the sleep, `self.wait_time()`, the yield, `self._sleep()`, the stop after, the kill.
    WaitStopBefore,
    WaitSeconds,
    WaitYield,
    WaitSleep,
    WaitStopAfter,
    WaitKill,
    /// `TaskSet.wait_time`'s call of the user's `wait_time`.
    WaitTimeUser,
}

/// The shim's names of the sites, in `Site`'s order.
const SITES: [&str; 18] = [
    "run.task",
    "run.wait.rescheduled",
    "run.wait",
    "run.stop",
    "next_task",
    "default.arrive",
    "default.call",
    "default.aio",
    "plain.arrive",
    "plain.call",
    "plain.aio",
    "wait.stop_before",
    "wait.seconds",
    "wait.yield",
    "wait.sleep",
    "wait.stop_after",
    "wait.kill",
    "wait_time.user",
];

/// Where an exception a pass raises would have been raised in the Python loop: `run`'s line, and the frames of the
/// shim's methods between `run` and the call that raised (outermost first). A task is called from Rust, so its
/// exception's traceback lacks those frames and `run`'s entry points at the `_task_loop` call; `mend_traceback`
/// puts them back, so the traceback reads as the Python loop's (a report groups exceptions by their traceback).
#[derive(Clone, Copy, Default)]
struct Path {
    run: Option<Site>,
    frames: [Option<Site>; 2],
}

impl Path {
    fn of(run: Site, frames: &[Site]) -> Path {
        Path {
            run: Some(run),
            frames: [frames.first().copied(), frames.get(1).copied()],
        }
    }
}

thread_local! {
    /// The path of what the last `task_loop` call raised, until the Python loop's handler takes it
    /// (`mend_traceback`, the next thing that runs on the thread).
    static RAISED: std::cell::Cell<Option<Path>> = const { std::cell::Cell::new(None) };
}

impl Kind {
    fn arrive(self) -> Site {
        match self {
            Kind::Default => Site::DefaultArrive,
            Kind::Plain => Site::PlainArrive,
        }
    }
    fn call(self) -> Site {
        match self {
            Kind::Default => Site::DefaultCall,
            Kind::Plain => Site::PlainCall,
        }
    }
    fn aio(self) -> Site {
        match self {
            Kind::Default => Site::DefaultAio,
            Kind::Plain => Site::PlainAio,
        }
    }
}

/// The methods a plain pass stands for, in `Shim::*_methods`' order.
const METHODS: [&str; 5] = [
    "get_next_task",
    "schedule_task",
    "execute_next_task",
    "execute_task",
    "wait",
];

/// Which loop a TaskSet class's passes are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// DefaultTaskSet's: the user's tasks, a function task called with the user.
    Default,
    /// TaskSet's: the TaskSet's own tasks, a function task called with the TaskSet.
    Plain,
}

/// A class judged: its kind (None: not plain), whether its `wait_time` and `_sleep` are TaskSet's.
#[derive(Clone, Copy)]
struct Judged {
    kind: Option<Kind>,
    own_wait_time: bool,
    own_sleep: bool,
}

thread_local! {
    /// Per class judged: (the class, its version tag then, the verdict). Classes are few; a class modified since
    /// has another tag and is judged again.
    static CLASSES: std::cell::RefCell<Vec<(usize, u32, Judged)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The type's version tag (0: none assigned: judged every time).
fn version_tag(cls: &Bound<'_, PyType>) -> u32 {
    // SAFETY: a type object, read with the thread attached
    unsafe { (*cls.as_type_ptr()).tp_version_tag }
}

fn judge(py: Python<'_>, shim: &Shim, cls: &Bound<'_, PyType>) -> PyResult<Judged> {
    let key = cls.as_ptr() as usize;
    let tag = version_tag(cls);
    if tag != 0
        && let Some(j) = CLASSES.with_borrow(|seen| {
            seen.iter()
                .find(|(c, t, _)| *c == key && *t == tag)
                .map(|(.., j)| *j)
        })
    {
        return Ok(j);
    }
    let mut found = Vec::with_capacity(METHODS.len());
    for name in METHODS {
        found.push(cls.getattr(name)?);
    }
    let same =
        |originals: &[Py<PyAny>; 5]| found.iter().zip(originals).all(|(f, o)| f.is(o.bind(py)));
    let kind = if same(&shim.default_methods) {
        Some(Kind::Default)
    } else if same(&shim.plain_methods) {
        Some(Kind::Plain)
    } else {
        None
    };
    let judged = Judged {
        kind,
        own_wait_time: cls
            .getattr(intern!(py, "wait_time"))?
            .is(shim.wait_time.bind(py)),
        own_sleep: cls.getattr(intern!(py, "_sleep"))?.is(shim.sleep.bind(py)),
    };
    // (the lookups above assigned the tag if it had none)
    let tag = version_tag(cls);
    if tag != 0 {
        CLASSES.with_borrow_mut(|seen| {
            seen.retain(|(c, ..)| *c != key);
            seen.push((key, tag, judged));
        });
    }
    Ok(judged)
}

/// The names an instance must not shadow for a pass to be plain.
fn shadows(py: Python<'_>, dict: &Bound<'_, PyDict>) -> PyResult<bool> {
    for name in METHODS {
        if dict.contains(name)? {
            return Ok(true);
        }
    }
    Ok(dict.contains(intern!(py, "wait_time"))? || dict.contains(intern!(py, "_sleep"))?)
}

/// `random.choice(tasks)`'s index, drawn as `Random._randbelow_with_getrandbits(n)` draws it.
fn draw(py: Python<'_>, shim: &Shim, n: usize) -> PyResult<usize> {
    let getrandbits = shim.getrandbits.bind(py);
    let k = (usize::BITS - n.leading_zeros()).into_pyobject(py)?;
    loop {
        // (called with its one argument in place: no tuple made per draw)
        let args = [k.as_ptr()];
        // SAFETY: attached; a callable and one borrowed argument; a new reference or NULL with the exception set
        let r = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyObject_Vectorcall(
                    getrandbits.as_ptr(),
                    args.as_ptr(),
                    1,
                    std::ptr::null_mut(),
                ),
            )
        }?;
        let r: usize = r.extract()?;
        if r < n {
            return Ok(r);
        }
    }
}

// ---- the loop: a small frame that makes every call that may switch, and the work between them ----------------
//
// A parked greenlet keeps the C stack between its base and its switch (call.rs, "The stack a parked greenlet
// keeps"). The loop parks in the task's requests, in its wait, in an arrival and in a coroutine's awaits, so none
// of its working frames may be live across those: `raw_task_loop` keeps only the loop's state and makes each
// such call (an `Action`) from its own frame; the work between two of them (`advance`) runs in a frame that has
// returned by then. (With the whole loop in working frames, a parked user kept 3.5-3.9 KB of stack instead of
// 1.8-2.1.)

/// The loop's state, kept in `raw_task_loop`'s frame.
struct Loop {
    ts: Py<PyAny>,
    dict: Py<PyDict>,
    kind: Kind,
    judged: Judged,
    /// The instance dictionary's size when it was last found to shadow nothing.
    checked: usize,
    /// This pass's user (`ts._user`), from the top of the pass.
    user: Option<Py<PyAny>>,
    stage: Stage,
    /// Where an exception raised now would have come from in the Python loop.
    path: Path,
    /// This pass's wait follows a `RescheduleTask` (`run` waits on another line then).
    rescheduled: bool,
}

/// Where a pass is between two actions: what the outcome of the last one means.
enum Stage {
    /// The top of a pass (nothing is awaited).
    Top,
    /// An arrival (open workload): the plain function task is called next.
    Arrived(Py<PyAny>),
    /// The task was called: directly (`plain`: it may have returned a coroutine), or through `execute_task`.
    Called { plain: bool },
    /// The task's coroutine ran (`_aio.run`).
    Ran,
    /// The TaskSet's own `wait` ran (the task gave the TaskSet attributes).
    Waited,
    /// The wait slept `seconds` from `start` (`now()`).
    Slept { start: f64, seconds: Py<PyAny> },
    /// The kill a stop scheduled was awaited.
    Killed,
}

/// What `raw_task_loop` does next.
enum Action {
    /// Nothing: the Python loop makes the next pass.
    Return,
    /// `f()`, `f(a)` or `f(a, b)`.
    Call(Py<PyAny>, Option<Py<PyAny>>, Option<Py<PyAny>>),
    /// Return to the Python loop to park on a timer's ticket there: `(ticket, start, seconds, checked)`, which it
    /// gives back once resumed (a waiting user keeps the stack it kept with the Python loop: no frame of this one).
    Sleep(u64),
}

/// The loop's state for `ts` (None: its class is not plain); back from a sleep (`resumed`: what `Action::Sleep`
/// returned), the pass goes on after that sleep.
fn start(
    py: Python<'_>,
    ts: &Bound<'_, PyAny>,
    resumed: &Bound<'_, PyAny>,
) -> PyResult<Option<Loop>> {
    let Some(shim) = SHIM.get(py) else {
        return Ok(None);
    };
    let judged = judge(py, shim, &ts.get_type())?;
    let Some(kind) = judged.kind else {
        return Ok(None);
    };
    let Ok(dict) = ts.getattr(intern!(py, "__dict__"))?.cast_into::<PyDict>() else {
        return Ok(None);
    };
    let mut lp = Loop {
        ts: ts.clone().unbind(),
        dict: dict.unbind(),
        kind,
        judged,
        checked: usize::MAX,
        user: None,
        stage: Stage::Top,
        path: Path::default(),
        rescheduled: false,
    };
    if !resumed.is_none() {
        let parked = resumed.cast::<Parked>()?.get();
        let (start, seconds, checked) = (
            parked.start,
            parked.seconds.bind(py).clone(),
            parked.checked,
        );
        lp.checked = checked;
        lp.rescheduled = parked.rescheduled;
        lp.user = lp
            .dict
            .bind(py)
            .get_item(intern!(py, "_user"))?
            .map(Bound::unbind);
        lp.stage = Stage::Slept {
            start,
            seconds: seconds.unbind(),
        };
    }
    Ok(Some(lp))
}

/// The monotonic clock as seconds since the first reading (a sleep's start, kept by the Python loop meanwhile).
fn now() -> f64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// The work between two actions: `out` is the last one's outcome (a new reference, or NULL with the exception
/// set), None at the start.
fn advance(py: Python<'_>, lp: &mut Loop, out: Option<*mut ffi::PyObject>) -> PyResult<Action> {
    let shim = SHIM.get(py).expect("registered: `start` checked");
    // SAFETY: the outcome of the call or switch the small frame made: a new reference or NULL with the exception set
    let outcome = out.map(|p| unsafe { Bound::from_owned_ptr_or_err(py, p) });
    let outcome = || outcome.expect("an action preceded this stage");
    match std::mem::replace(&mut lp.stage, Stage::Top) {
        Stage::Top => top(py, shim, lp, false),
        Stage::Arrived(task) => match outcome() {
            Ok(_) => call_task(py, lp, task),
            Err(e) => task_failed(py, shim, lp, e),
        },
        Stage::Called { plain } => match outcome() {
            Ok(done) if plain && !done.is_none() => {
                // an async def task: its coroutine runs on the loop
                lp.stage = Stage::Ran;
                lp.path = Path::of(Site::RunTask, &[Site::NextTask, lp.kind.aio()]);
                let user = lp.user(py)?;
                Ok(Action::Call(
                    shim.aio_run.clone_ref(py),
                    Some(user),
                    Some(done.unbind()),
                ))
            }
            Ok(_) => {
                lp.rescheduled = false;
                wait(py, shim, lp)
            }
            Err(e) => task_failed(py, shim, lp, e),
        },
        Stage::Ran => match outcome() {
            Ok(_) => {
                lp.rescheduled = false;
                wait(py, shim, lp)
            }
            Err(e) => task_failed(py, shim, lp, e),
        },
        Stage::Waited => {
            outcome()?;
            top(py, shim, lp, false)
        }
        Stage::Slept { start, seconds } => {
            outcome()?;
            slept(py, shim, lp, start, seconds.bind(py))
        }
        Stage::Killed => {
            outcome()?;
            let user = lp.user(py)?;
            user.bind(py)
                .setattr(intern!(py, "_state"), shim.running.bind(py))?;
            top(py, shim, lp, false)
        }
    }
}

impl Loop {
    /// `run`'s line for this pass's wait.
    fn run_wait(&self) -> Site {
        if self.rescheduled {
            Site::RunWaitRescheduled
        } else {
            Site::RunWait
        }
    }

    fn user(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.user
            .as_ref()
            .map(|u| u.clone_ref(py))
            .ok_or_else(|| PyTypeError::new_err("task_loop: no user"))
    }
}

/// The top of a pass: `Action::Return` when it is not plain, else the task drawn and its call.
/// `unchanged`: no code has run since `wait` read the user's state as running and the open workload as off (a zero
/// wait just after a resume), so neither is read again.
fn top(py: Python<'_>, shim: &Shim, lp: &mut Loop, unchanged: bool) -> PyResult<Action> {
    lp.path = Path::default();
    let dict = lp.dict.bind(py);
    if dict.len() != lp.checked {
        if shadows(py, dict)? {
            return Ok(Action::Return);
        }
        lp.checked = dict.len();
    }
    let Some(queue) = dict.get_item(intern!(py, "_task_queue"))? else {
        return Ok(Action::Return);
    };
    let Some(user) = dict.get_item(intern!(py, "_user"))? else {
        return Ok(Action::Return);
    };
    if !queue.get_type().is(shim.queue.bind(py)) || queue.len()? != 0 {
        return Ok(Action::Return);
    }
    if !shim
        .random
        .bind(py)
        .get_item(intern!(py, "choice"))?
        .is_some_and(|c| c.is(shim.choice.bind(py)))
    {
        return Ok(Action::Return);
    }
    let ts = lp.ts.bind(py);
    let owner = match lp.kind {
        Kind::Default => &user,
        Kind::Plain => ts,
    };
    // (a `tasks` the class computes runs code, which may have set the state)
    let unchanged = unchanged && cabi::plain_read(owner, intern!(py, "tasks"));
    let tasks = owner.getattr(intern!(py, "tasks"))?;
    let task = if let Ok(list) = tasks.cast::<PyList>()
        && list.is_exact_instance_of::<PyList>()
    {
        if list.is_empty() {
            return Ok(Action::Return);
        }
        let i = draw(py, shim, list.len())?;
        list.get_item(i)?
    } else if let Ok(tuple) = tasks.cast::<PyTuple>()
        && tuple.is_exact_instance_of::<PyTuple>()
    {
        if tuple.is_empty() {
            return Ok(Action::Return);
        }
        let i = draw(py, shim, tuple.len())?;
        tuple.get_item(i)?
    } else {
        return Ok(Action::Return);
    };
    lp.user = Some(user.clone().unbind());
    // (the Python loop schedules it, then checks the user's state, then pops it)
    if !unchanged
        && user
            .getattr(intern!(py, "_state"))?
            .eq(shim.stopping.bind(py))?
    {
        queue.call_method1(intern!(py, "append"), (&task,))?;
        lp.path = Path::of(Site::RunStop, &[]);
        return Err(PyErr::from_value(shim.stop_user.bind(py).call0()?));
    }
    // `execute_task(task)`: a plain function task (no `tasks` of its own) called here, any other by the shim's
    // SAFETY: reads the type of a live object
    let function =
        unsafe { ffi::Py_TYPE(task.as_ptr()) == std::ptr::addr_of_mut!(ffi::PyFunction_Type) };
    if !function
        || task
            .getattr(intern!(py, "__dict__"))?
            .cast::<PyDict>()?
            .contains(intern!(py, "tasks"))?
    {
        lp.stage = Stage::Called { plain: false };
        lp.path = Path::of(Site::RunTask, &[Site::NextTask]);
        let execute = ts.getattr(intern!(py, "execute_task"))?;
        return Ok(Action::Call(execute.unbind(), Some(task.unbind()), None));
    }
    let open = shim.open.bind(py);
    if !unchanged
        && let Some(active) = open.get_item(intern!(py, "ACTIVE"))?
        && active.is_truthy()?
        && let Some(arrive) = open.get_item(intern!(py, "arrive"))?
    {
        // an open workload: the task starts with an arrival
        lp.stage = Stage::Arrived(task.unbind());
        lp.path = Path::of(Site::RunTask, &[Site::NextTask, lp.kind.arrive()]);
        return Ok(Action::Call(arrive.unbind(), Some(user.unbind()), None));
    }
    call_task(py, lp, task.unbind())
}

/// The plain function task's call: with the user (DefaultTaskSet) or the TaskSet.
fn call_task(py: Python<'_>, lp: &mut Loop, task: Py<PyAny>) -> PyResult<Action> {
    let on = match lp.kind {
        Kind::Default => lp.user(py)?,
        Kind::Plain => lp.ts.clone_ref(py),
    };
    lp.stage = Stage::Called { plain: true };
    lp.path = Path::of(Site::RunTask, &[Site::NextTask, lp.kind.call()]);
    Ok(Action::Call(task, Some(on), None))
}

/// The task raised: the loop's inner `try`.
fn task_failed(py: Python<'_>, shim: &Shim, lp: &mut Loop, e: PyErr) -> PyResult<Action> {
    if e.is_instance(py, shim.immediately.bind(py)) {
        return top(py, shim, lp, false);
    }
    if e.is_instance(py, shim.reschedule.bind(py)) {
        lp.rescheduled = true;
        return wait(py, shim, lp);
    }
    Err(e)
}

/// `TaskSet.wait()`, up to its sleep.
fn wait(py: Python<'_>, shim: &Shim, lp: &mut Loop) -> PyResult<Action> {
    let ts = lp.ts.bind(py);
    let run = lp.run_wait();
    lp.path = Path::of(run, &[]);
    if lp.dict.bind(py).len() != lp.checked {
        // the task gave the TaskSet attributes: its `wait` now (an instance's own `wait_time`, `_sleep`, `wait`)
        lp.stage = Stage::Waited;
        return Ok(Action::Call(
            ts.getattr(intern!(py, "wait"))?.unbind(),
            None,
            None,
        ));
    }
    let user = lp.user(py)?.into_bound(py);
    let state = intern!(py, "_state");
    let was = user.getattr(state)?;
    if was.eq(shim.stopping.bind(py))? {
        lp.path = Path::of(run, &[Site::WaitStopBefore]);
        return Err(PyErr::from_value(shim.stop_user.bind(py).call0()?));
    }
    if let Some(active) = shim.open.bind(py).get_item(intern!(py, "ACTIVE"))?
        && active.is_truthy()?
    {
        return top(py, shim, lp, false); // an open workload: the arrivals pace the users
    }
    // (`constant_wait` runs no code of the user's: it may come before the state is set)
    let constant = if lp.judged.own_wait_time {
        constant_wait(py, shim, &user)
    } else {
        None
    };
    let hub = shim.hub.bind(py);
    if was.is(shim.running.bind(py))
        && lp.judged.own_sleep
        && constant
            .as_ref()
            .and_then(plain_seconds)
            .is_some_and(|s| s == 0.0)
        && cabi::plain_write(&user, intern!(py, "_state"))
        && watched(py, hub)?
        && resumed_here(py)?
    {
        // no wait, just after a resume: nothing runs between the state set to waiting and set back to running, and
        // no code sees either write, so neither is made (nor the state read again after the wait)
        crate::engine::record::wait_late(0.0);
        return after_wait(py, shim, lp, false);
    }
    user.setattr(state, shim.waiting.bind(py))?;
    let seconds = match constant {
        Some(seconds) => seconds,
        None => {
            let of_user = if lp.judged.own_wait_time {
                Some(user.getattr(intern!(py, "wait_time"))?)
            } else {
                None
            };
            match of_user {
                Some(w) if w.is_truthy()? => {
                    lp.path = Path::of(run, &[Site::WaitSeconds, Site::WaitTimeUser]);
                    w.call0()?
                }
                _ => {
                    lp.path = Path::of(run, &[Site::WaitSeconds]);
                    ts.call_method0(intern!(py, "wait_time"))?
                }
            }
        }
    };
    // (the instance's dictionary is as the pass began: no `_sleep` of its own)
    let watched = watched(py, hub)?;
    let plain = plain_seconds(&seconds).filter(|_| lp.judged.own_sleep && watched);
    let then = |seconds: &Bound<'_, PyAny>| Stage::Slept {
        start: now(),
        seconds: seconds.clone().unbind(),
    };
    match plain {
        Some(s) if s > 0.0 => {
            lp.stage = then(&seconds);
            Ok(Action::Sleep(super::sleep(s)?))
        }
        Some(_) => {
            // `_hub.yield_now()`: nothing when the hub last resumed this user from a park on the bridge (once)
            if resumed_here(py)? {
                // (no clock read: no time passes here, and a lateness under 1 µs is recorded as 1 µs)
                crate::engine::record::wait_late(0.0);
                return after_wait(py, shim, lp, true);
            }
            let yield_now = hub
                .get_item(intern!(py, "yield_now"))?
                .ok_or_else(|| PyTypeError::new_err("locust._hub has no yield_now"))?;
            lp.stage = then(&seconds);
            lp.path = Path::of(run, &[Site::WaitYield]);
            Ok(Action::Call(yield_now.unbind(), None, None))
        }
        None => {
            lp.stage = then(&seconds);
            lp.path = Path::of(run, &[Site::WaitSleep]);
            let sleep = ts.getattr(intern!(py, "_sleep"))?;
            Ok(Action::Call(sleep.unbind(), Some(seconds.unbind()), None))
        }
    }
}

/// `TaskSet.wait()` after its sleep.
fn slept(
    py: Python<'_>,
    shim: &Shim,
    lp: &mut Loop,
    start: f64,
    seconds: &Bound<'_, PyAny>,
) -> PyResult<Action> {
    // how late the hub resumed this user (the generator's own lateness, not the target's)
    let elapsed = now() - start;
    match plain_number(seconds) {
        Some(s) => crate::engine::record::wait_late(elapsed - s),
        None => match PyFloat::new(py, elapsed).sub(seconds) {
            Ok(late) => crate::engine::record::wait_late(late.extract()?),
            Err(e) if e.is_instance_of::<PyTypeError>(py) => {} // (a number gevent sleeps on, not a float's)
            Err(e) => return Err(e),
        },
    }
    after_wait(py, shim, lp, true)
}

/// `TaskSet.wait()` after its sleep and the lateness noted: the stop and the kill that may have come meanwhile,
/// then the next pass. `waited`: the state was set to waiting (else it is running as `wait` read it, and stays).
fn after_wait(py: Python<'_>, shim: &Shim, lp: &mut Loop, waited: bool) -> PyResult<Action> {
    let run = lp.run_wait();
    lp.path = Path::of(run, &[]);
    let user = lp.user(py)?.into_bound(py);
    if waited
        && user
            .getattr(intern!(py, "_state"))?
            .eq(shim.stopping.bind(py))?
    {
        lp.path = Path::of(run, &[Site::WaitStopAfter]);
        return Err(PyErr::from_value(shim.stop_user.bind(py).call0()?));
    }
    let hub = shim.hub.bind(py);
    if let Some(killing) = hub.get_item(intern!(py, "killing"))?
        && killing.is_truthy()?
        && killing.contains(current(py)?)?
    {
        // a stop killed this user as it waited; the kill lands before the next task
        let await_kill = hub
            .get_item(intern!(py, "await_kill"))?
            .ok_or_else(|| PyTypeError::new_err("locust._hub has no await_kill"))?;
        lp.stage = Stage::Killed;
        lp.path = Path::of(run, &[Site::WaitKill]);
        return Ok(Action::Call(await_kill.unbind(), None, None));
    }
    if waited {
        user.setattr(intern!(py, "_state"), shim.running.bind(py))?;
    }
    top(py, shim, lp, !waited)
}

/// Whether the hub's loop is watched (`_hub._watcher`): its timers take plain sleeps.
fn watched(py: Python<'_>, hub: &Bound<'_, PyDict>) -> PyResult<bool> {
    Ok(hub
        .get_item(intern!(py, "_watcher"))?
        .is_some_and(|w| !w.is_none()))
}

/// Whether the hub last resumed the current greenlet from a park on the bridge, which a zero wait then spends
/// instead of yielding; the mark is taken (it counts once).
fn resumed_here(py: Python<'_>) -> PyResult<bool> {
    Ok(cabi::take_resumed(&current(py)?))
}

/// A float or an int (exactly: not a bool, not a subclass), as a float.
fn plain_number(seconds: &Bound<'_, PyAny>) -> Option<f64> {
    if let Ok(f) = seconds.cast_exact::<PyFloat>() {
        Some(f.value())
    } else if seconds.is_exact_instance_of::<PyInt>() {
        // (as the int's own float: no float object made for it)
        // SAFETY: attached; an int; -1.0 with an exception set past a double's range
        let v = unsafe { ffi::PyLong_AsDouble(seconds.as_ptr()) };
        if v == -1.0 && PyErr::take(seconds.py()).is_some() {
            return None;
        }
        Some(v)
    } else {
        None
    }
}

/// A wait the timers take: a plain number in [0, 1e7).
fn plain_seconds(seconds: &Bound<'_, PyAny>) -> Option<f64> {
    plain_number(seconds).filter(|s| (0.0..1e7).contains(s))
}

/// The user's `wait_time()` without calling it, when it is the function `locust.user.wait_time.constant(x)` made,
/// found on the user's class (whose attributes are read the generic way) and not shadowed by the instance: x, as
/// the call would return it. Else None, and the caller calls `wait_time`. Under no wait, the call (a bound method
/// made, a frame pushed and popped) and the clock reads this step also dropped were about 7 % of a request's
/// hub-thread time (docs/performance.md, "Issue 54 on an AMD machine").
fn constant_wait<'py>(
    py: Python<'py>,
    shim: &Shim,
    user: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyAny>> {
    use crate::py::cabi::{_PyObject_GetDictPtr, _PyType_Lookup, generic_getattr};
    let name = intern!(py, "wait_time").as_ptr();
    // SAFETY: attached; the borrowed results are only inspected, and the value is returned as a new reference
    unsafe {
        let obj = user.as_ptr();
        let tp = ffi::Py_TYPE(obj);
        if !generic_getattr(tp) {
            return None;
        }
        let f = _PyType_Lookup(tp, name);
        if f.is_null()
            || ffi::PyFunction_Check(f) == 0
            || ffi::PyFunction_GetCode(f) != shim.constant_code.as_ptr()
        {
            return None;
        }
        // (a function is a non-data descriptor: the instance's own `wait_time` would come first)
        let slot = _PyObject_GetDictPtr(obj);
        if slot.is_null() {
            if !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
                return None;
            }
        } else if !(*slot).is_null() {
            let dict = *slot;
            if ffi::PyDict_CheckExact(dict) == 0 {
                return None;
            }
            if !ffi::PyDict_GetItemWithError(dict, name).is_null() {
                return None;
            }
            if !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
                return None;
            }
        }
        let closure = ffi::PyFunction_GetClosure(f);
        if closure.is_null()
            || ffi::PyTuple_CheckExact(closure) == 0
            || ffi::PyTuple_GET_SIZE(closure) != 1
        {
            return None;
        }
        let cell = ffi::PyTuple_GET_ITEM(closure, 0);
        if ffi::PyCell_Check(cell) == 0 {
            return None;
        }
        // (an empty cell: the call would raise; it is made, and raises)
        Bound::from_owned_ptr_or_opt(py, ffi::PyCell_Get(cell))
    }
}

/// The loop's frame: its state, and each call that may switch made from here (see above).
unsafe extern "C" fn raw_task_loop(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: METH_FASTCALL: `nargs` borrowed arguments
    let (py, given) = unsafe { cabi::fastcall(args, nargs) };
    let Some(started) = guarded(py, |py| {
        let [ts, resumed] = given else {
            return Err(PyTypeError::new_err("task_loop(taskset, resumed)"));
        };
        // SAFETY: borrowed for the call
        let (ts, resumed) = unsafe {
            (
                Bound::from_borrowed_ptr(py, *ts),
                Bound::from_borrowed_ptr(py, *resumed),
            )
        };
        let back = !resumed.is_none();
        start(py, &ts, &resumed).map(|lp| lp.map(|lp| (lp, back)))
    }) else {
        return std::ptr::null_mut();
    };
    let Some((mut lp, back)) = started else {
        return into_ptr(Some(py.None().into_bound(py)));
    };
    // (back from a sleep: its outcome is None, as a timer's completion is)
    let mut out = back.then(|| into_ptr(Some(py.None().into_bound(py))));
    loop {
        let Some(action) = guarded(py, |py| advance(py, &mut lp, out.take())) else {
            RAISED.set(Some(lp.path));
            return std::ptr::null_mut();
        };
        out = Some(match action {
            Action::Return => return into_ptr(Some(py.None().into_bound(py))),
            Action::Sleep(ticket) => {
                return into_ptr(guarded(py, |py| sleeping(py, &lp, ticket)));
            }
            Action::Call(f, a, b) => {
                let args = [std::ptr::null_mut(), ptr(&a), ptr(&b)];
                let n = usize::from(a.is_some()) + usize::from(b.is_some());
                // SAFETY: attached; `f` and the arguments are owned here for the call; a new reference or NULL with
                // the exception set (the slot before the first argument may be used by the callee: OFFSET)
                unsafe {
                    ffi::PyObject_Vectorcall(
                        f.as_ptr(),
                        args.as_ptr().add(1),
                        n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                        std::ptr::null_mut(),
                    )
                }
            }
        });
    }
}

/// What the Python loop parks on (`_rlocust.park` takes it for its ticket) and gives back once resumed: a wait's
/// ticket and what the pass needs after it. One small object without a collector header, where a tuple of four and
/// the float in it were 112 bytes more for every waiting user.
#[pyclass(frozen, module = "_rlocust")]
pub(super) struct Parked {
    pub(super) ticket: u64,
    start: f64,
    seconds: Py<PyAny>,
    checked: usize,
    rescheduled: bool,
}

fn sleeping<'py>(py: Python<'py>, lp: &Loop, ticket: u64) -> PyResult<Bound<'py, PyAny>> {
    let Stage::Slept { start, seconds } = &lp.stage else {
        return Err(PyTypeError::new_err("task_loop: a sleep without its stage"));
    };
    Ok(Bound::new(
        py,
        Parked {
            ticket,
            start: *start,
            seconds: seconds.clone_ref(py),
            checked: lp.checked,
            rescheduled: lp.rescheduled,
        },
    )?
    .into_any())
}

/// The ticket of a `Parked` (None for any other object).
pub(super) fn parked_ticket(obj: &Bound<'_, PyAny>) -> Option<u64> {
    obj.cast::<Parked>().ok().map(|p| p.get().ticket)
}

/// The Python loop's handler of what a `task_loop` call raised: gives `e`'s traceback the entries the Python loop
/// would have given it (see `Path`): `run`'s entry points at that loop's line, and the frames of the shim's methods
/// between it and the call that raised are put back (frames of their code, with no locals). Nothing for anything
/// else (a kill while parked on a wait's timer).
#[pyfunction]
#[pyo3(signature = (e, /))]
fn mend_traceback(e: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = e.py();
    let Some(path) = RAISED.take() else {
        return Ok(());
    };
    let (Some(shim), Some(run)) = (SHIM.get(py), path.run) else {
        return Ok(());
    };
    let tb = e.getattr(intern!(py, "__traceback__"))?;
    if tb.is_none() {
        return Ok(());
    }
    let site = |s: Site| &shim.sites[s as usize];
    let frame = tb.getattr(intern!(py, "tb_frame"))?;
    // (the entry the interpreter added as the exception left `task_loop`: `run`'s frame)
    if !frame
        .getattr(intern!(py, "f_code"))?
        .is(site(run).code.bind(py))
    {
        return Ok(());
    }
    let traceback = tb.get_type();
    let mut rest = tb.getattr(intern!(py, "tb_next"))?;
    for s in path.frames.iter().rev().flatten() {
        let at = site(*s);
        // SAFETY: attached; a code object and its globals dict, borrowed for the call; a new frame or NULL with
        // the exception set
        let made = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyFrame_New(
                    ffi::PyThreadState_Get(),
                    at.code.as_ptr().cast(),
                    at.globals.as_ptr(),
                    std::ptr::null_mut(),
                )
                .cast(),
            )?
        };
        rest = traceback.call1((rest, made, at.lasti, at.line))?;
    }
    let at = site(run);
    let mended = traceback.call1((rest, frame, at.lasti, at.line))?;
    e.setattr(intern!(py, "__traceback__"), mended)
}

fn ptr(o: &Option<Py<PyAny>>) -> *mut ffi::PyObject {
    o.as_ref().map_or(std::ptr::null_mut(), Py::as_ptr)
}

/// Called by `locust.user.task` once, with what a pass needs of the shim.
#[pyfunction]
fn register_task_loop(parts: &Bound<'_, PyDict>) -> PyResult<()> {
    let py = parts.py();
    let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
        parts
            .get_item(k)?
            .ok_or_else(|| PyTypeError::new_err(format!("register_task_loop: no {k}")))
    };
    let default_task_set = get("DefaultTaskSet")?.cast_into::<PyType>()?;
    let task_set = get("TaskSet")?.cast_into::<PyType>()?;
    let methods = |cls: &Bound<'_, PyType>| -> PyResult<[Py<PyAny>; 5]> {
        let mut out = Vec::with_capacity(METHODS.len());
        for name in METHODS {
            out.push(cls.getattr(name)?.unbind());
        }
        Ok(out.try_into().expect("five"))
    };
    let choice = get("choice")?;
    let given = get("sites")?.cast_into::<PyDict>()?;
    let mut sites = Vec::with_capacity(SITES.len());
    for name in SITES {
        let (code, globals, lasti, line): (Py<PyAny>, Py<PyDict>, i32, i32) = given
            .get_item(name)?
            .ok_or_else(|| PyTypeError::new_err(format!("register_task_loop: no site {name}")))?
            .extract()?;
        sites.push(SiteAt {
            code,
            globals,
            lasti,
            line,
        });
    }
    let shim = Shim {
        sites,
        default_methods: methods(&default_task_set)?,
        plain_methods: methods(&task_set)?,
        wait_time: task_set.getattr("wait_time")?.unbind(),
        sleep: task_set.getattr("_sleep")?.unbind(),
        constant_code: py
            .import("locust.user.wait_time")?
            .getattr("constant")?
            .call1((0,))?
            .getattr("__code__")?
            .unbind(),
        queue: get("_TaskQueue")?.cast_into::<PyType>()?.unbind(),
        reschedule: get("RescheduleTask")?.cast_into::<PyType>()?.unbind(),
        immediately: get("RescheduleTaskImmediately")?
            .cast_into::<PyType>()?
            .unbind(),
        stop_user: get("StopUser")?.cast_into::<PyType>()?.unbind(),
        random: get("random")?.cast_into::<PyDict>()?.unbind(),
        getrandbits: choice.getattr("__self__")?.getattr("getrandbits")?.unbind(),
        choice: choice.unbind(),
        open: get("open")?.cast_into::<PyDict>()?.unbind(),
        hub: get("hub")?.cast_into::<PyDict>()?.unbind(),
        aio_run: get("aio_run")?.unbind(),
        running: get("running")?.cast_into::<PyString>()?.unbind(),
        waiting: get("waiting")?.cast_into::<PyString>()?.unbind(),
        stopping: get("stopping")?.cast_into::<PyString>()?.unbind(),
    };
    let _ = SHIM.set(py, shim);
    Ok(())
}

pub fn add_parts(m: &Bound<'_, PyModule>) -> PyResult<()> {
    cabi::add_function(
        m,
        "task_loop",
        ffi::PyMethodDefPointer {
            PyCFunctionFast: raw_task_loop,
        },
        ffi::METH_FASTCALL,
        "task_loop($module, taskset, resumed, /)\n--\n\nThe passes of `TaskSet.run`'s loop that the locustfile leaves as the shim wrote them, made in Rust: returns None at the top of one that is not, a `Parked` for the Python loop to park on (a wait's timer) and give back as `resumed` (else None); raises what a pass raises past its reschedules, for `mend_traceback`.",
    )?;
    m.add_function(wrap_pyfunction!(register_task_loop, m)?)?;
    m.add_function(wrap_pyfunction!(mend_traceback, m)?)?;
    m.add_class::<Parked>()?;
    Ok(())
}
