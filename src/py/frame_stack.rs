//! A user's greenlet on a small frame stack: the Python frames of a user's greenlet start in a 1 KiB root chunk of
//! a shared slab instead of a 16 KiB chunk of its own.
//!
//! CPython (3.11 to 3.13) keeps a thread's Python frames in chunks (`_PyStackChunk`) it allocates through the arena
//! allocator; greenlet saves and restores the chunk pointers of the thread state (`datastack_chunk`, `_top`,
//! `_limit`) at every switch, so every greenlet that runs Python code gets a root chunk of its own, 16 KiB of address
//! space of which the first page is resident. At 10,000 users that page was 40 MB of the 143 MB a run held (4 KB of
//! each user's 14.5): a waiting user's frames (`_run_user`, `User.run`, `TaskSet.run`) take about 550 bytes of it.
//!
//! So a user's greenlet runs through [`small_frame_stack`]'s wrapper, which gives the thread state a root chunk of
//! [`MINI`] bytes from a slab (four to a page) before the user's first frame and takes it back when the user's
//! function returns. CPython then uses that chunk as any other: a frame that does not fit makes it push a chunk of
//! its own size (16 KiB) after it, as when a chunk is full, and pop it when that frame returns. The frames never
//! move and stay readable in place (tracebacks, `gr_frame`, the collector), unlike a copy taken out while parked.
//!
//! CPython frees a chunk through the arena allocator with the size written in the chunk, and greenlet does the
//! same for the chunks of a greenlet that dies unfinished, so [`install`] wraps the arena allocator: a block of
//! [`MINI`] bytes from a slab goes back to the slab, a 16 KiB chunk is kept for the next one (up to [`KEPT`], so
//! a frame deeper than the small chunk holds costs no `mmap`), and anything else goes to the allocator before.
//!
//! The layout is CPython's, not the stable ABI: the binary only (the abi3 wheel keeps CPython's chunks), the
//! offsets of 3.11 and of 3.12/3.13, checked against the running thread state before anything is installed
//! ([`Layout::check`]); where they do not hold, the wrapper is the function itself.
//!
//! Who calls it: `locust.user.users` once (`small_frame_stack(_run_user)`), whose result every user's greenlet
//! runs. Must not: call Python from the allocator's functions (they run inside CPython's frame push and pymalloc),
//! or give back a chunk that still holds a frame.
use crate::py::cabi::{self, guarded, into_ptr};
use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;
use std::os::raw::c_void;
use std::sync::OnceLock;

/// The size of a small root chunk: its header (24 bytes), the slot CPython skips in a root chunk, and room for
/// about 120 words of frames (the three frames of a waiting user and a plain task's take about 80).
const MINI: usize = 1024;
/// One slab of small chunks (64 of them), never given back.
const SLAB: usize = 64 * MINI;
/// CPython's chunk size (`DATA_STACK_CHUNK_SIZE`): the chunk pushed after a full one.
const CHUNK: usize = 16 * 1024;
/// How many freed 16 KiB chunks are kept for the next push.
const KEPT: usize = 64;

/// `_PyStackChunk`: the same in 3.11 to 3.13.
#[repr(C)]
struct StackChunk {
    previous: *mut StackChunk,
    size: usize,
    top: usize,
    data: [*mut ffi::PyObject; 1],
}

/// Where the thread state keeps its chunk pointers (`datastack_chunk`, `datastack_top`, `datastack_limit`, one
/// after the other).
#[derive(Clone, Copy)]
struct Layout {
    chunk: usize,
}

impl Layout {
    /// The offsets of the running CPython, if it is one whose layout is known.
    fn of(py: Python<'_>) -> Option<Layout> {
        let v = py.version_info();
        match (v.major, v.minor) {
            (3, 11) => Some(Layout { chunk: 296 }),
            (3, 12) | (3, 13) => Some(Layout { chunk: 232 }),
            _ => None,
        }
    }

    /// # Safety
    /// `ts` is the current thread's state.
    unsafe fn fields(self, ts: *mut ffi::PyThreadState) -> *mut [usize; 3] {
        // SAFETY: the three pointer fields at that offset of a thread state of this version
        unsafe { ts.cast::<u8>().add(self.chunk).cast::<[usize; 3]>() }
    }

    /// Whether the fields at these offsets of the current thread state (whose Python code is running, so it has
    /// a chunk) are what CPython keeps there: a chunk of a size CPython allocates, its limit at its end, the top
    /// within it.
    fn check(self) -> bool {
        // SAFETY: called from Python (the thread is attached); the three words are read, and the chunk's header
        // only once the first word is seen to point at a chunk whose limit follows it
        unsafe {
            let ts = ffi::PyThreadState_Get();
            let [chunk, top, limit] = *self.fields(ts);
            if chunk == 0 || chunk % 4096 != 0 || limit <= chunk || top < chunk || top > limit {
                return false;
            }
            let size = (*(chunk as *const StackChunk)).size;
            size >= CHUNK && size.is_power_of_two() && limit == chunk + size
        }
    }
}

/// The slabs of small chunks, the free ones, and the 16 KiB chunks kept.
struct Pool {
    slabs: Vec<(usize, usize)>,
    free: Vec<usize>,
    kept: Vec<usize>,
}

impl Pool {
    fn in_slab(&self, p: usize) -> bool {
        self.slabs.iter().any(|&(a, b)| p >= a && p < b)
    }

    /// A small chunk, or None when no slab can be had.
    fn take(&mut self) -> Option<usize> {
        if let Some(p) = self.free.pop() {
            return Some(p);
        }
        let layout = std::alloc::Layout::from_size_align(SLAB, 4096).ok()?;
        // SAFETY: a non-zero size
        let base = unsafe { std::alloc::alloc(layout) } as usize;
        if base == 0 {
            return None;
        }
        self.slabs.push((base, base + SLAB));
        self.free
            .extend((1..SLAB / MINI).rev().map(|i| base + i * MINI));
        Some(base)
    }
}

struct State {
    layout: Layout,
    /// The arena allocator before this one's.
    before: ffi::PyObjectArenaAllocator,
    pool: Mutex<Pool>,
}

// SAFETY: the allocator before (a context pointer and functions) is only called, as CPython would call it
unsafe impl Send for State {}
// SAFETY: as above; the pool is behind its lock
unsafe impl Sync for State {}

static STATE: OnceLock<Option<State>> = OnceLock::new();

extern "C" fn arena_alloc(_ctx: *mut c_void, size: usize) -> *mut c_void {
    let Some(Some(st)) = STATE.get() else {
        return std::ptr::null_mut();
    };
    if size == CHUNK
        && let Some(p) = st.pool.lock().kept.pop()
    {
        return p as *mut c_void;
    }
    // (the allocator before, with its own context)
    st.before
        .alloc
        .map_or(std::ptr::null_mut(), |f| f(st.before.ctx, size))
}

extern "C" fn arena_free(_ctx: *mut c_void, ptr: *mut c_void, size: usize) {
    let Some(Some(st)) = STATE.get() else {
        return;
    };
    let p = ptr as usize;
    if size == MINI || size == CHUNK {
        let mut pool = st.pool.lock();
        if size == MINI && pool.in_slab(p) {
            pool.free.push(p);
            return;
        }
        if size == CHUNK && pool.kept.len() < KEPT {
            pool.kept.push(p);
            return;
        }
    }
    // (a block the allocator before gave)
    if let Some(f) = st.before.free {
        f(st.before.ctx, ptr, size)
    }
}

/// The state, installed on first use where the layout holds (None where it does not).
fn state(py: Python<'_>) -> Option<&'static State> {
    STATE
        .get_or_init(|| {
            let layout = Layout::of(py).filter(|l| l.check())?;
            let mut before = ffi::PyObjectArenaAllocator {
                ctx: std::ptr::null_mut(),
                alloc: None,
                free: None,
            };
            // SAFETY: the thread is attached; the struct is filled by CPython
            unsafe { ffi::PyObject_GetArenaAllocator(&mut before) };
            before.alloc?;
            before.free?;
            Some(State {
                layout,
                before,
                pool: Mutex::new(Pool {
                    slabs: Vec::new(),
                    free: Vec::new(),
                    kept: Vec::new(),
                }),
            })
        })
        .as_ref()
}

/// Puts the wrapper's arena allocator in place (once the state is made).
fn install(py: Python<'_>) -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        if state(py).is_none() {
            return false;
        }
        let mut mine = ffi::PyObjectArenaAllocator {
            ctx: std::ptr::null_mut(),
            alloc: Some(arena_alloc),
            free: Some(arena_free),
        };
        // SAFETY: the thread is attached; blocks of the allocator before go back to it (`arena_free`)
        unsafe { ffi::PyObject_SetArenaAllocator(&mut mine) };
        true
    })
}

/// The one function [`small_frame_stack`] wraps (the shim's `_run_user`): the builtin has no `self`, so gevent
/// names a user's greenlet after it as before (`_run_user(<user>)`, not the repr of a bound builtin).
static WRAPPED: OnceLock<Py<PyAny>> = OnceLock::new();

/// The wrapper's body: `func(arg)` with the thread state on a small root chunk when it has none (a greenlet that
/// has run no Python code yet), the chunk taken back when `func` returns.
unsafe extern "C" fn raw_run(
    _null: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let Some(func) = WRAPPED.get() else {
        // SAFETY: only Python calls it, with the thread attached
        unsafe { ffi::PyErr_SetString(ffi::PyExc_RuntimeError, c"nothing wrapped".as_ptr()) };
        return std::ptr::null_mut();
    };
    let mini = STATE.get().and_then(Option::as_ref).and_then(|st| {
        // SAFETY: the current thread's state, at the offsets checked
        unsafe {
            let fields = st.layout.fields(ffi::PyThreadState_Get());
            if (*fields)[0] != 0 {
                return None;
            }
            let chunk = st.pool.lock().take()? as *mut StackChunk;
            (*chunk).previous = std::ptr::null_mut();
            (*chunk).size = MINI;
            (*chunk).top = 0;
            // (as CPython starts a root chunk: its first slot skipped, so no frame's pop frees it)
            let top = std::ptr::addr_of_mut!((*chunk).data).cast::<usize>().add(1) as usize;
            *fields = [chunk as usize, top, chunk as usize + MINI];
            Some((st, chunk as usize, top))
        }
    });
    // SAFETY: borrowed references; a new reference or NULL with the exception set comes back
    let result = unsafe { ffi::PyObject_CallOneArg(func.as_ptr(), arg) };
    if let Some((st, chunk, top)) = mini {
        // SAFETY: the same thread state (a greenlet runs on one thread); the chunk is given back only when the
        // thread state is on it again with no frame in it
        unsafe {
            let now = st.layout.fields(ffi::PyThreadState_Get());
            if (*now)[0] == chunk && (*now)[1] == top {
                *now = [0, 0, 0];
                st.pool.lock().free.push(chunk);
            }
        }
    }
    result
}

/// `small_frame_stack(func, /)`: a builtin that calls `func(arg)` with the greenlet's frames on a small chunk
/// (`func` itself where this CPython's layout is not known, or for a second function: one is wrapped).
fn small_frame_stack<'py>(func: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = func.py();
    if !install(py) || !WRAPPED.get_or_init(|| func.clone().unbind()).is(func) {
        return Ok(func.clone());
    }
    static BUILTIN: OnceLock<Py<PyAny>> = OnceLock::new();
    if let Some(made) = BUILTIN.get() {
        return Ok(made.bind(py).clone());
    }
    let name: String = func
        .getattr(pyo3::intern!(py, "__name__"))
        .and_then(|n| n.extract())
        .unwrap_or_else(|_| "run".to_owned());
    let def = cabi::method_def(
        &name,
        ffi::PyMethodDefPointer {
            PyCFunction: raw_run,
        },
        ffi::METH_O,
        "Calls the wrapped function with its one argument, the greenlet's frames on a small chunk.",
    );
    // SAFETY: a builtin without `self` for a def that lives for the process
    let made = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyCFunction_NewEx(def, std::ptr::null_mut(), std::ptr::null_mut()),
        )?
    };
    Ok(BUILTIN.get_or_init(|| made.unbind()).bind(py).clone())
}

unsafe extern "C" fn raw_small_frame_stack(
    _module: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: only Python calls it, with the thread attached
    let py = unsafe { Python::assume_attached() };
    into_ptr(guarded(py, |py| {
        // SAFETY: METH_O: one borrowed argument
        let func = unsafe { Bound::from_borrowed_ptr(py, func) };
        small_frame_stack(&func)
    }))
}

pub fn add_parts(m: &Bound<'_, PyModule>) -> PyResult<()> {
    cabi::add_function(
        m,
        "small_frame_stack",
        ffi::PyMethodDefPointer {
            PyCFunction: raw_small_frame_stack,
        },
        ffi::METH_O,
        "small_frame_stack($module, func, /)\n--\n\nA builtin that calls `func(arg)` with the calling greenlet's Python frames on a small chunk of a shared slab (1 KiB) instead of a 16 KiB chunk of its own, when the greenlet has run no Python code yet; `func` itself where this CPython's layout is not known (the binary only).",
    )
}
