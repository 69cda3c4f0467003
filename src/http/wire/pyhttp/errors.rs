//! The exceptions HttpUser's reader returns, built as the layers raise them: http.client's (`IncompleteRead`,
//! `LineTooLong`), urllib3's wrapping (`ProtocolError('Connection aborted.', e)` in the head, `ProtocolError(
//! 'Connection broken: ...', e)` in the body, `ReadTimeoutError`), requests' (`ConnectionError`,
//! `ChunkedEncodingError`, ...), each raised while handling (or from) the one it wraps; the `OSError` subclass
//! an errno selects; and CPython's `%.200R` cut of a repr.
//!
//! Who calls it: the other files of the reader (`mod.rs`, `head`, `body`, `decode`).
//!
//! What it must not do: decide which exception a point of the response raises (the callers do), keep state, or
//! word anything differently from Python.
use super::MAXLINE;
use crate::http::wire::exc::{self, PyExc, PyVal};

pub(super) fn exc_val(e: &PyExc) -> PyVal {
    PyVal::Exc(Box::new(e.clone()))
}

/// `Outer(inner)` raised while handling `inner`.
pub(super) fn wrap(class: &'static str, inner: PyExc) -> PyExc {
    PyExc::new(class, vec![exc_val(&inner)]).during(inner)
}

/// `Outer(inner)` as requests' `iter_content` raises it while reading the body: without the request (its
/// `.request` is None, and Locust's failed response then has no `request` either), where the adapter's errors
/// carry the request they were sending.
pub(super) fn in_body(class: &'static str, inner: PyExc) -> PyExc {
    wrap(class, inner).with_attr("request", PyVal::None)
}

pub(super) fn protocol_error(args: Vec<PyVal>) -> PyExc {
    PyExc::new("urllib3.exceptions.ProtocolError", args)
}

/// An error while reading the head: urllib3's `ProtocolError('Connection aborted.', e)` (raised while handling
/// `e`, no retry: requests' `Retry(0, read=False)`), then requests' `ConnectionError`.
pub(super) fn aborted(cause: PyExc) -> PyExc {
    let pe = protocol_error(vec![PyVal::str("Connection aborted."), exc_val(&cause)]).during(cause);
    wrap("requests.exceptions.ConnectionError", pe)
}

/// An `HTTPException` or `OSError` while reading the body: `_error_catcher`'s
/// `ProtocolError('Connection broken: <repr>', e)`, then requests' `ChunkedEncodingError`.
pub(super) fn broken(cause: PyExc) -> PyExc {
    let text = format!("Connection broken: {}", cause.repr());
    let pe = protocol_error(vec![PyVal::str(text), exc_val(&cause)]).caused_by(cause);
    chunked_error(pe)
}

pub(super) fn chunked_error(pe: PyExc) -> PyExc {
    in_body("requests.exceptions.ChunkedEncodingError", pe)
}

pub(super) fn line_too_long(what: &str) -> PyExc {
    aborted(PyExc::new(
        "http.client.LineTooLong",
        vec![PyVal::str(format!(
            "got more than {MAXLINE} bytes when reading {what}"
        ))],
    ))
}

/// http.client's `IncompleteRead(partial_bytes, expected)`.
pub(super) fn hc_incomplete(partial: &[u8], expected: usize) -> PyExc {
    PyExc::new(
        "http.client.IncompleteRead",
        vec![PyVal::Bytes(partial.to_vec())],
    )
    .with_attr("partial", PyVal::Bytes(partial.to_vec()))
    .with_attr("expected", PyVal::int(expected))
}

pub(super) fn value_error(msg: impl Into<String>) -> PyExc {
    PyExc::new("builtins.ValueError", vec![PyVal::str(msg)])
}

pub(super) fn internal(msg: &str) -> PyExc {
    PyExc::new(
        "builtins.RuntimeError",
        vec![PyVal::str(format!("rlocust response reader: {msg}"))],
    )
}

/// `%.200R`: CPython's int() quotes at most 200 characters of the repr.
pub(super) fn trunc200(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

pub(super) fn read_timeout_error(pool: &str, url: PyVal, message: &str) -> PyExc {
    PyExc::new(
        "urllib3.exceptions.ReadTimeoutError",
        vec![PyVal::str(format!("{pool}: {message}"))],
    )
    .with_attr("url", url)
    .with_attr("_message", PyVal::str(message))
}

/// `OSError(errno, strerror)` as Python builds it: the subclass its errno selects.
pub(super) fn os_exc(errno: i32) -> PyExc {
    let class = match errno {
        libc::EPIPE | libc::ESHUTDOWN => "builtins.BrokenPipeError",
        libc::ECONNABORTED => "builtins.ConnectionAbortedError",
        libc::ECONNREFUSED => "builtins.ConnectionRefusedError",
        libc::ECONNRESET => "builtins.ConnectionResetError",
        libc::ETIMEDOUT => "builtins.TimeoutError",
        libc::EAGAIN | libc::EALREADY | libc::EINPROGRESS => "builtins.BlockingIOError",
        libc::EINTR => "builtins.InterruptedError",
        libc::EACCES | libc::EPERM => "builtins.PermissionError",
        libc::ENOENT => "builtins.FileNotFoundError",
        libc::EEXIST => "builtins.FileExistsError",
        libc::EISDIR => "builtins.IsADirectoryError",
        libc::ENOTDIR => "builtins.NotADirectoryError",
        libc::ECHILD => "builtins.ChildProcessError",
        libc::ESRCH => "builtins.ProcessLookupError",
        _ => "builtins.OSError",
    };
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    exc::os_error(class, errno, &text)
}
