//! What the plain call read from an `HttpSession`, kept on the session while its `__dict__` and its class stay as
//! they were: the plain-session verdict (`_plain_call`'s conditions held) and the values each call needs (the base
//! URL, `request_name`, `max_redirects`, `request_event`), so a call on an unchanged session makes no attribute
//! lookups (they were about a tenth of the hub thread's time per request: docs/performance.md).
//!
//! Who calls it: `call::plain` alone ([`Seen::known`] before it reads a session, [`Seen::keep`] after it read one
//! and found it plain).
//!
//! How "unchanged" is known: CPython's version tags. A dict's `ma_version_tag` takes a new value (unique in the
//! process) on every change, and a type's `tp_version_tag` is reset by any change to it or to a class in its MRO
//! (a new tag is assigned on its next lookup). The session's own `__dict__` (made real here on the first read, as
//! `vars(session)` would) and its class, both at the tags they had when the values were read, give the same
//! attributes. So what is kept are borrowed pointers, valid exactly while the tags match (each value is still held
//! by that dict or that class): nothing is owned, so the session gains no reference cycle the collector cannot see.
//!
//! What may not be kept, and is read again on every call instead: a session whose class customises attribute
//! access (`__getattribute__`, `__getattr__`), an attribute served by a descriptor (a property runs code on every
//! read), a condition whose value can change in place (a `params` dict made and left empty: its truth is not in the
//! tags) or a value the call converts (a `max_redirects` that is not an int). Built without the tags (the abi3
//! wheel, or a Python past 3.12, where the dict tag is gone or an inline value may change without it), nothing is
//! kept and every call reads the session, as before.
use pyo3::prelude::*;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// A session's kept reading (the `Client`'s field); all zero when nothing is kept. Atomics only because `Client` is
/// shared: it is read and written on the hub thread, with the thread attached.
#[derive(Default)]
pub(crate) struct Seen {
    /// The `__dict__` the values were read from (0: nothing kept), and its tag then.
    dict: AtomicUsize,
    dict_version: AtomicU64,
    /// The class's tag then.
    type_version: AtomicU32,
    max_redirects: AtomicU32,
    base_url: AtomicUsize,
    request_name: AtomicUsize,
    request_event: AtomicUsize,
}

/// The values a plain call of a kept session uses.
pub(crate) struct Known<'py> {
    pub base_url: Bound<'py, PyAny>,
    pub request_name: Bound<'py, PyAny>,
    pub request_event: Bound<'py, PyAny>,
    pub max_redirects: u32,
}

/// Where a session stood when its reading began: compared with where it stands after, so a change made while it
/// was read (by code a read ran) keeps nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stand {
    dict: usize,
    dict_version: u64,
    type_version: u32,
}

impl Seen {
    /// The values kept for `session`, when it is as it was when they were read.
    pub(crate) fn known<'py>(&self, session: &Bound<'py, PyAny>) -> Option<Known<'py>> {
        let dict = self.dict.load(Relaxed);
        if dict == 0 {
            return None;
        }
        let now = stand(session)?;
        if now.dict != dict
            || now.dict_version != self.dict_version.load(Relaxed)
            || now.type_version != self.type_version.load(Relaxed)
        {
            self.dict.store(0, Relaxed);
            return None;
        }
        let py = session.py();
        // SAFETY: attached; each pointer is a value the unchanged dict or class still holds (see the header)
        let borrowed = |p: &AtomicUsize| unsafe {
            Bound::from_borrowed_ptr(py, p.load(Relaxed) as *mut pyo3::ffi::PyObject)
        };
        Some(Known {
            base_url: borrowed(&self.base_url),
            request_name: borrowed(&self.request_name),
            request_event: borrowed(&self.request_event),
            max_redirects: self.max_redirects.load(Relaxed),
        })
    }

    /// Where `session` stands before its attributes are read (None: it cannot be kept).
    pub(crate) fn before(session: &Bound<'_, PyAny>) -> Option<Stand> {
        stand(session)
    }

    /// Keep what a plain call read from `session` since `before`, if the session is still where it stood then and
    /// every attribute read may be kept: `names` are those the call read (each must come from the session's dict, or
    /// from its class without a descriptor), `in_place` the values whose truth the call tested (each must be one
    /// that no change in place can make true).
    pub(crate) fn keep(
        &self,
        session: &Bound<'_, PyAny>,
        before: Option<Stand>,
        names: &[&Bound<'_, pyo3::types::PyString>],
        in_place: &[&Bound<'_, PyAny>],
        known: &Known<'_>,
    ) {
        self.dict.store(0, Relaxed);
        let Some(before) = before else {
            return;
        };
        if stand(session) != Some(before)
            || !in_place.iter().all(|v| settled_falsy(v))
            || !names
                .iter()
                .all(|n| plain_attribute(session, n, before.dict))
        {
            return;
        }
        let ptr = |b: &Bound<'_, PyAny>| b.as_ptr() as usize;
        self.dict_version.store(before.dict_version, Relaxed);
        self.type_version.store(before.type_version, Relaxed);
        self.max_redirects.store(known.max_redirects, Relaxed);
        self.base_url.store(ptr(&known.base_url), Relaxed);
        self.request_name.store(ptr(&known.request_name), Relaxed);
        self.request_event.store(ptr(&known.request_event), Relaxed);
        self.dict.store(before.dict, Relaxed);
    }
}

/// A falsy value no change in place can make true: None, False, 0, an empty str or tuple (exact types).
fn settled_falsy(v: &Bound<'_, PyAny>) -> bool {
    use pyo3::types::{PyBool, PyInt, PyString, PyTuple};
    if v.is_none() {
        return true;
    }
    if let Ok(b) = v.cast_exact::<PyBool>() {
        return !b.is_true();
    }
    if let Ok(s) = v.cast_exact::<PyString>() {
        return s.to_str().is_ok_and(str::is_empty);
    }
    if let Ok(t) = v.cast_exact::<PyTuple>() {
        return t.is_empty();
    }
    if let Ok(i) = v.cast_exact::<PyInt>() {
        return i.extract::<i64>().is_ok_and(|n| n == 0);
    }
    false
}

#[cfg(all(dict_version_tag, not(feature = "abi3")))]
mod tags {
    use pyo3::ffi;

    use crate::py::cabi::{_PyObject_GetDictPtr, class_entry, generic_getattr};

    /// `obj`'s dict and the tags of it and of its class, when its class reads attributes the generic way and
    /// has a valid tag.
    pub(super) fn stand(obj: *mut ffi::PyObject) -> Option<(usize, u64, u32)> {
        // SAFETY: attached (callers hold a Bound); `obj` is a live object
        unsafe {
            let tp = ffi::Py_TYPE(obj);
            let type_version = (*tp).tp_version_tag;
            if type_version == 0
                || (*tp).tp_flags & ffi::Py_TPFLAGS_VALID_VERSION_TAG == 0
                || !generic_getattr(tp)
            {
                return None;
            }
            let (dict, dict_version) = dict_tag(obj)?;
            Some((dict, dict_version, type_version))
        }
    }

    /// `obj`'s own dict (an exact dict) and its tag now.
    pub(super) fn dict_tag(obj: *mut ffi::PyObject) -> Option<(usize, u64)> {
        // SAFETY: attached (callers hold a Bound); `obj` is a live object
        unsafe {
            let slot = _PyObject_GetDictPtr(obj);
            if slot.is_null() || (*slot).is_null() || ffi::PyDict_CheckExact(*slot) == 0 {
                return None;
            }
            #[allow(deprecated)]
            let version = (*(*slot as *mut ffi::PyDictObject)).ma_version_tag;
            Some((*slot as usize, version))
        }
    }

    /// Whether attribute `name` of `obj` (whose dict is `dict`) is a plain value: in its dict (the class defining
    /// no data descriptor of that name), or in its class and no descriptor.
    pub(super) fn plain_attribute(
        obj: *mut ffi::PyObject,
        name: *mut ffi::PyObject,
        dict: usize,
    ) -> bool {
        let class = class_entry(
            // SAFETY: the type of a live object
            unsafe { ffi::Py_TYPE(obj) },
            name,
        );
        // SAFETY: attached; `dict` is the object's live dict, the borrowed result only compared
        unsafe {
            let in_dict = ffi::PyDict_GetItemWithError(dict as *mut ffi::PyObject, name);
            if in_dict.is_null() && !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
                return false;
            }
            if !in_dict.is_null() {
                return !class.setter;
            }
        }
        class.found && !class.getter
    }
}

/// `obj`'s own `__dict__` (when it has one, an exact dict) and its version tag: the same pair later means the same
/// attributes with the same values. None where the tags are not read (see the module's header).
#[cfg(all(dict_version_tag, not(feature = "abi3")))]
pub(crate) fn dict_tag(obj: &Bound<'_, PyAny>) -> Option<(usize, u64)> {
    tags::dict_tag(obj.as_ptr())
}

#[cfg(not(all(dict_version_tag, not(feature = "abi3"))))]
pub(crate) fn dict_tag(_obj: &Bound<'_, PyAny>) -> Option<(usize, u64)> {
    None
}

#[cfg(all(dict_version_tag, not(feature = "abi3")))]
fn stand(session: &Bound<'_, PyAny>) -> Option<Stand> {
    tags::stand(session.as_ptr()).map(|(dict, dict_version, type_version)| Stand {
        dict,
        dict_version,
        type_version,
    })
}

#[cfg(all(dict_version_tag, not(feature = "abi3")))]
fn plain_attribute(
    session: &Bound<'_, PyAny>,
    name: &Bound<'_, pyo3::types::PyString>,
    dict: usize,
) -> bool {
    tags::plain_attribute(session.as_ptr(), name.as_ptr(), dict)
}

#[cfg(not(all(dict_version_tag, not(feature = "abi3"))))]
fn stand(_session: &Bound<'_, PyAny>) -> Option<Stand> {
    None
}

#[cfg(not(all(dict_version_tag, not(feature = "abi3"))))]
fn plain_attribute(_: &Bound<'_, PyAny>, _: &Bound<'_, pyo3::types::PyString>, _: usize) -> bool {
    false
}
