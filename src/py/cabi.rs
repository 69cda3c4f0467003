//! The C-level pieces the client call (`call`) and the awaited call (`awaited`) share: greenlet's C API and the
//! current greenlet, `guarded` (a C function's Rust part, errors and panics turned into the Python exception) and
//! `into_ptr`, and `method_def` for the raw C functions Python calls.
//!
//! Also the mark of the greenlet the hub last resumed from a park (`note_resumed`, `take_resumed`: `call` notes it,
//! `task_loop` and `_hub.yield_now` spend it).
//!
//! Also CPython's two exported non-limited lookups the binary reads objects with (`_PyType_Lookup`,
//! `_PyObject_GetDictPtr`), declared once here for `seen` and `task_loop`, with what both judge an attribute by:
//! `generic_getattr`/`generic_setattr` (the class reads or writes the generic way), `class_entry` (what the MRO
//! defines under a name), and `plain_read`/`plain_write` (reading or setting the attribute runs no code).
//!
//! Who calls it: `call`, `awaited`, `seen` and `task_loop`. Why raw C functions at all (not pyo3 methods):
//! call.rs, "the C functions".
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

#[cfg(not(feature = "abi3"))]
unsafe extern "C" {
    // (CPython's exported, non-limited API, 3.11-3.13: the dict pointer of an instance, its managed dict made real;
    // the attribute a type's MRO defines, borrowed)
    pub(super) fn _PyObject_GetDictPtr(obj: *mut ffi::PyObject) -> *mut *mut ffi::PyObject;
    pub(super) fn _PyType_Lookup(
        tp: *mut ffi::PyTypeObject,
        name: *mut ffi::PyObject,
    ) -> *mut ffi::PyObject;
}

/// Whether instances of `tp` read their attributes the generic way (no `__getattribute__` or `__getattr__` of their
/// class's), so the class's MRO and the instance's dict say what an attribute is.
#[cfg(not(feature = "abi3"))]
pub(super) fn generic_getattr(tp: *mut ffi::PyTypeObject) -> bool {
    // SAFETY: `tp` is a live type object (callers hold an instance of it)
    unsafe { (*tp).tp_getattro }.map(|f| f as *const () as usize)
        == Some(ffi::PyObject_GenericGetAttr as *const () as usize)
}

/// Whether instances of `tp` set their attributes the generic way (no `__setattr__` or `__delattr__` of their
/// class's), so the class's MRO and the instance's dict say where a write goes.
#[cfg(not(feature = "abi3"))]
pub(super) fn generic_setattr(tp: *mut ffi::PyTypeObject) -> bool {
    // SAFETY: `tp` is a live type object (callers hold an instance of it)
    unsafe { (*tp).tp_setattro }.map(|f| f as *const () as usize)
        == Some(ffi::PyObject_GenericSetAttr as *const () as usize)
}

/// What the MRO of `tp` defines under attribute `name`: whether anything, and whether it is a descriptor whose read
/// (`getter`) or write (`setter`, a data descriptor: a property) runs code. `seen` and `task_loop` both judge an
/// attribute from it.
#[cfg(not(feature = "abi3"))]
pub(super) struct ClassEntry {
    pub(super) found: bool,
    pub(super) getter: bool,
    pub(super) setter: bool,
}

#[cfg(not(feature = "abi3"))]
pub(super) fn class_entry(tp: *mut ffi::PyTypeObject, name: *mut ffi::PyObject) -> ClassEntry {
    // SAFETY: attached (callers hold an instance of `tp` and the name); the borrowed result only inspected
    unsafe {
        let a = _PyType_Lookup(tp, name);
        if a.is_null() {
            return ClassEntry {
                found: false,
                getter: false,
                setter: false,
            };
        }
        let t = ffi::Py_TYPE(a);
        ClassEntry {
            found: true,
            getter: (*t).tp_descr_get.is_some(),
            setter: (*t).tp_descr_set.is_some(),
        }
    }
}

/// Whether reading `obj.name` runs no code: its class reads attributes the generic way, and what its MRO defines
/// under the name (if anything) is no descriptor. (Stricter than the instance's view: a descriptor an instance value
/// shadows still counts, so the answer holds whatever the instance's dict holds.)
#[cfg(not(feature = "abi3"))]
pub(super) fn plain_read(obj: &Bound<'_, PyAny>, name: &Bound<'_, pyo3::types::PyString>) -> bool {
    // SAFETY: the type of a live object
    let tp = unsafe { ffi::Py_TYPE(obj.as_ptr()) };
    generic_getattr(tp) && !class_entry(tp, name.as_ptr()).getter
}

/// Whether setting `obj.name` is seen by nothing but the instance's dict: its class sets attributes the generic way
/// and defines no data descriptor (a property) of that name.
#[cfg(not(feature = "abi3"))]
pub(super) fn plain_write(obj: &Bound<'_, PyAny>, name: &Bound<'_, pyo3::types::PyString>) -> bool {
    // SAFETY: the type of a live object
    let tp = unsafe { ffi::Py_TYPE(obj.as_ptr()) };
    generic_setattr(tp) && !class_entry(tp, name.as_ptr()).setter
}

thread_local! {
    /// The greenlet the hub last resumed from a park on the bridge (a request, a wait on Rust's timers): a zero wait
    /// of that user spends the mark instead of yielding (`_hub.yield_now`, `task_loop`). Hub thread. (It was a global
    /// of `locust._hub`: two dict writes and a read per request.)
    static RESUMED: std::cell::RefCell<Option<Py<PyAny>>> = const { std::cell::RefCell::new(None) };
}

/// The hub resumed `g` from a park on the bridge (`call`).
pub(super) fn note_resumed(py: Python<'_>, g: &Py<PyAny>) {
    let before = RESUMED.with_borrow_mut(|r| r.replace(g.clone_ref(py)));
    // (dropped out of the borrow: a greenlet let go may run code)
    drop(before);
}

/// Whether the hub last resumed `me` from a park on the bridge (see [`note_resumed`]); the mark is spent (it counts
/// once).
pub(super) fn take_resumed(me: &Bound<'_, PyAny>) -> bool {
    let spent = RESUMED.with_borrow_mut(|r| {
        if r.as_ref().is_some_and(|g| g.as_ptr() == me.as_ptr()) {
            r.take()
        } else {
            None
        }
    });
    // (dropped out of the borrow: a reference let go may run code)
    spent.is_some()
}

/// `PyGreenlet_Switch(g, args, kwargs)` of greenlet's C API.
pub(super) type SwitchFn = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *mut ffi::PyObject,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

/// `PyGreenlet_GetCurrent` of greenlet's C API.
pub(super) type GetCurrentFn = unsafe extern "C" fn() -> *mut ffi::PyObject;

/// greenlet's C API (the capsule `greenlet._C_API`, as `greenlet.h` numbers it in the greenlet 3 rlocust requires),
/// and `locust._aio`'s globals (`inside`, `Call`).
pub(super) struct Greenlets {
    /// `PyGreenlet_GetCurrent`: the current greenlet, a new reference.
    pub(super) getcurrent: GetCurrentFn,
    /// `PyGreenlet_Switch(g, args, kwargs)`: `greenlet.switch(g, *args)` without a method call.
    pub(super) switch: SwitchFn,
    /// `greenlet.greenlet.switch`, to tell a class that keeps it from one that overrides it.
    pub(super) base_switch: Py<PyAny>,
    pub(super) aio: Py<PyDict>,
}

static GREENLETS: PyOnceLock<Greenlets> = PyOnceLock::new();

const GETCURRENT_NUM: usize = 4;
const SWITCH_NUM: usize = 6;

pub(super) fn greenlets(py: Python<'_>) -> PyResult<&'static Greenlets> {
    GREENLETS.get_or_try_init(py, || {
        // SAFETY: the capsule's pointer is greenlet's array of its C API, which lives as long as the module
        let api = unsafe { ffi::PyCapsule_Import(c"greenlet._C_API".as_ptr(), 0) }
            as *const *mut std::ffi::c_void;
        if api.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: the entries greenlet.h names, with the signatures it declares
        let (getcurrent, switch) = unsafe {
            (
                std::mem::transmute::<*mut std::ffi::c_void, GetCurrentFn>(
                    *api.add(GETCURRENT_NUM),
                ),
                std::mem::transmute::<*mut std::ffi::c_void, SwitchFn>(*api.add(SWITCH_NUM)),
            )
        };
        Ok::<_, PyErr>(Greenlets {
            getcurrent,
            switch,
            base_switch: py
                .import("greenlet")?
                .getattr("greenlet")?
                .getattr("switch")?
                .unbind(),
            aio: py.import("locust._aio")?.dict().unbind(),
        })
    })
}

/// The current greenlet.
pub(super) fn current(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let g = greenlets(py)?;
    // SAFETY: the thread is attached; a new reference (or NULL with the exception set)
    unsafe { Bound::from_owned_ptr_or_err(py, (g.getcurrent)()) }
}

/// Run `f` for a C function called by Python: its result, or `None` with the Python exception set (an error, or a
/// panic turned into one). Never inlined: its frame (and `f`'s, inlined here) is gone before the caller switches.
#[inline(never)]
pub(super) fn guarded<'py, T>(
    py: Python<'py>,
    f: impl FnOnce(Python<'py>) -> PyResult<T>,
) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            raise(py, e);
            None
        }
        Err(_) => {
            raise_panic(py);
            None
        }
    }
}

/// `e` set as the Python exception (out of line: [`guarded`]'s frame stays small).
#[cold]
#[inline(never)]
fn raise(py: Python<'_>, e: PyErr) {
    e.restore(py);
}

#[cold]
#[inline(never)]
fn raise_panic(py: Python<'_>) {
    pyo3::panic::PanicException::new_err("rlocust: a panic in the client call").restore(py);
}

/// A C function's result: a new reference, or NULL with the exception set.
pub(super) fn into_ptr(result: Option<Bound<'_, PyAny>>) -> *mut ffi::PyObject {
    result.map_or(std::ptr::null_mut(), Bound::into_ptr)
}

/// A `PyMethodDef` that lives for the process (Python keeps a pointer to it).
pub(super) fn method_def(
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

/// A raw C function added to the module `m` as its builtin `name` (a def made by [`method_def`]).
pub(super) fn add_function(
    m: &Bound<'_, PyModule>,
    name: &str,
    meth: ffi::PyMethodDefPointer,
    flags: std::os::raw::c_int,
    doc: &str,
) -> PyResult<()> {
    let def = method_def(name, meth, flags, doc);
    // SAFETY: a builtin function of this module for a def that lives for the process
    let func = unsafe {
        Bound::from_owned_ptr_or_err(
            m.py(),
            ffi::PyCFunction_NewEx(def, m.as_ptr(), std::ptr::null_mut()),
        )?
    };
    m.add(name, func)
}

/// What a `METH_FASTCALL` C function begins with: the thread (attached: Python called it) and its `nargs`
/// positional arguments, borrowed for the call.
///
/// # Safety
/// Only from such a function, with the `args` and `nargs` Python gave it.
#[cfg_attr(feature = "abi3", allow(dead_code))]
pub(super) unsafe fn fastcall<'a>(
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> (Python<'a>, &'a [*mut ffi::PyObject]) {
    // SAFETY: as the caller promises
    unsafe {
        let given = if nargs <= 0 || args.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts(args, nargs as usize)
        };
        (Python::assume_attached(), given)
    }
}
