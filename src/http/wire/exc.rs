//! Descriptions of the Python exceptions a client call raises: which class, with which args and attributes,
//! raised while handling which other exception (`__context__`). Plain data, built by the HTTP engine off the GIL.
//!
//! Two readers use one description: the engine computes the failure text Locust records from it
//! ([`PyExc::reported`] then [`PyExc::repr`], the same unwrapping and `repr()` Locust applies), and the hub turns it
//! into real exception objects (`locust._ffi.build_exc`) so `response.error`, `raise_for_status()` and
//! `except requests.exceptions.ChunkedEncodingError:` behave as they do under Locust. Keeping one description
//! for both is what keeps the failure rows and the exceptions a locustfile sees identical.
//!
//! NOTE: the classes are named by their import path (`http.client.IncompleteRead`); when the package is not
//! installed (requests, urllib3, geventhttpclient are optional for rlocust) the shim uses look-alike classes
//! with the same name and `repr()`.
use crate::pyfmt::py_str_repr;

/// A Python value in an exception's args or attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum PyVal {
    None,
    Str(String),
    /// An `int`, as decimal digits (optionally with a leading `-`): Content-Length values can exceed 64 bits.
    Int(String),
    Bytes(Vec<u8>),
    Exc(Box<PyExc>),
    /// An object that is not rebuilt, only shown: its `repr()` text (e.g. urllib3's connection object).
    Opaque(String),
}

impl PyVal {
    pub fn int(n: impl ToString) -> PyVal {
        PyVal::Int(n.to_string())
    }

    pub fn str(s: impl Into<String>) -> PyVal {
        PyVal::Str(s.into())
    }

    /// Python `repr()` of the value.
    pub fn repr(&self) -> String {
        match self {
            PyVal::None => "None".into(),
            PyVal::Str(s) => py_str_repr(s),
            PyVal::Int(d) => d.clone(),
            PyVal::Bytes(b) => py_bytes_repr(b),
            PyVal::Exc(e) => e.repr(),
            PyVal::Opaque(r) => r.clone(),
        }
    }

    /// Python `str()` of the value.
    pub fn str_text(&self) -> String {
        match self {
            PyVal::Str(s) => s.clone(),
            PyVal::Exc(e) => e.str_text(),
            other => other.repr(),
        }
    }
}

/// How an exception's `__context__` was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chain {
    /// Raised while handling it.
    #[default]
    Implicit,
    /// `raise X from it`: also the `__cause__`.
    Cause,
    /// `raise X from None`: kept, but `__suppress_context__` is set.
    Suppressed,
}

/// One exception: class, constructor args (`exc.args`), extra attributes, and `__context__`.
#[derive(Debug, Clone, PartialEq)]
pub struct PyExc {
    /// Import path of the class, e.g. `requests.exceptions.ChunkedEncodingError`, `builtins.ConnectionResetError`.
    pub class: &'static str,
    pub args: Vec<PyVal>,
    /// Attributes set on the instance besides `args` (e.g. `partial`/`expected` of `IncompleteRead`).
    pub attrs: Vec<(&'static str, PyVal)>,
    /// The exception being handled when this one was raised.
    pub context: Option<Box<PyExc>>,
    pub chain: Chain,
}

/// Classes Locust's HttpSession looks through (to their `__context__`) when it reports a failure
/// (`ResponseContextManager._report_request`).
const UNWRAPPED: &[&str] = &[
    "requests.exceptions.ConnectionError",
    "requests.exceptions.ConnectTimeout",
    "requests.exceptions.ProxyError",
    "requests.exceptions.SSLError",
    "urllib3.exceptions.ProtocolError",
    "urllib3.exceptions.MaxRetryError",
    "urllib3.exceptions.NewConnectionError",
    "urllib3.exceptions.NameResolutionError",
];

impl PyExc {
    pub fn new(class: &'static str, args: Vec<PyVal>) -> PyExc {
        PyExc {
            class,
            args,
            attrs: Vec::new(),
            context: None,
            chain: Chain::Implicit,
        }
    }

    /// `raise self from context`.
    pub fn caused_by(mut self, context: PyExc) -> PyExc {
        self.context = Some(Box::new(context));
        self.chain = Chain::Cause;
        self
    }

    /// `raise self from None` while handling `context`.
    pub fn from_none(mut self, context: PyExc) -> PyExc {
        self.context = Some(Box::new(context));
        self.chain = Chain::Suppressed;
        self
    }

    /// The same exception, raised while handling `context`.
    pub fn during(mut self, context: PyExc) -> PyExc {
        self.context = Some(Box::new(context));
        self
    }

    pub fn with_attr(mut self, name: &'static str, value: PyVal) -> PyExc {
        self.attrs.push((name, value));
        self
    }

    /// The class name without its module (what `repr()` shows).
    pub fn name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }

    fn attr(&self, name: &str) -> Option<&PyVal> {
        self.attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// What Locust reports for this exception: HttpSession follows `__context__` through requests'
    /// ConnectionError and urllib3's ProtocolError/MaxRetryError/NewConnectionError to the root cause.
    pub fn reported(&self) -> &PyExc {
        let mut e = self;
        while UNWRAPPED.contains(&e.class)
            && let Some(c) = &e.context
        {
            e = c;
        }
        e
    }

    /// Python `repr()` of the exception, including the classes whose `__repr__` is their own.
    pub fn repr(&self) -> String {
        let name = self.name();
        match name {
            // http.client.IncompleteRead and urllib3's subclass of it
            "IncompleteRead" => {
                let read = match self.args.first() {
                    Some(PyVal::Bytes(b)) => b.len().to_string(),
                    Some(PyVal::Int(n)) => n.clone(),
                    _ => "0".into(),
                };
                match self.attr("expected") {
                    Some(PyVal::Int(e)) => {
                        format!("IncompleteRead({read} bytes read, {e} more expected)")
                    }
                    _ => format!("IncompleteRead({read} bytes read)"),
                }
            }
            "InvalidChunkLength" => {
                let length = self.attr("length").map(PyVal::repr).unwrap_or_default();
                let partial = self
                    .attr("partial")
                    .map(PyVal::repr)
                    .unwrap_or_else(|| "0".into());
                format!("InvalidChunkLength(got length {length}, {partial} bytes read)")
            }
            "LocustBadStatusCode" => {
                let code = self
                    .attr("code")
                    .map(PyVal::repr)
                    .unwrap_or_else(|| "None".into());
                format!("LocustBadStatusCode(code={code})")
            }
            _ => {
                let base = self.default_repr();
                // geventhttpclient's ConnectionError family appends its keyword arguments to every ")"
                match self.attr("kw_text") {
                    Some(PyVal::Str(kw))
                        if !kw.is_empty() && self.class.starts_with("geventhttpclient.") =>
                    {
                        base.replace(')', &format!(", {kw})"))
                    }
                    _ => base,
                }
            }
        }
    }

    /// `BaseException.__repr__`: `Name()`, `Name(arg)` or `Name(a, b, ...)`.
    fn default_repr(&self) -> String {
        let args: Vec<String> = self.args.iter().map(PyVal::repr).collect();
        format!("{}({})", self.name(), args.join(", "))
    }

    /// Python `str()` of the exception (`BaseException.__str__`; OSError's `[Errno n] text`).
    pub fn str_text(&self) -> String {
        if self.class.starts_with("builtins.")
            && self.args.len() == 2
            && let (PyVal::Int(n), PyVal::Str(text)) = (&self.args[0], &self.args[1])
        {
            return format!("[Errno {n}] {text}");
        }
        match self.args.len() {
            0 => String::new(),
            1 => self.args[0].str_text(),
            _ => format!(
                "({})",
                self.args
                    .iter()
                    .map(PyVal::repr)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Python `repr()` of a `bytes` value.
pub fn py_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// The OSError subclass CPython raises for `errno`.
pub fn os_error_class(errno: i32) -> &'static str {
    match errno {
        libc::EPIPE | libc::ESHUTDOWN => "builtins.BrokenPipeError",
        libc::ECONNABORTED => "builtins.ConnectionAbortedError",
        libc::ECONNREFUSED => "builtins.ConnectionRefusedError",
        libc::ECONNRESET => "builtins.ConnectionResetError",
        libc::ETIMEDOUT => "builtins.TimeoutError",
        libc::EAGAIN | libc::EINPROGRESS | libc::EALREADY => "builtins.BlockingIOError",
        libc::EINTR => "builtins.InterruptedError",
        libc::ECHILD => "builtins.ChildProcessError",
        libc::EEXIST => "builtins.FileExistsError",
        libc::ENOENT => "builtins.FileNotFoundError",
        libc::EISDIR => "builtins.IsADirectoryError",
        libc::ENOTDIR => "builtins.NotADirectoryError",
        libc::EACCES | libc::EPERM => "builtins.PermissionError",
        libc::ESRCH => "builtins.ProcessLookupError",
        _ => "builtins.OSError",
    }
}

/// `ConnectionResetError(104, 'Connection reset by peer')` and its kin, as the OS reports them.
pub fn os_error(class: &'static str, errno: i32, text: &str) -> PyExc {
    PyExc::new(class, vec![PyVal::int(errno), PyVal::str(text)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs_follow_python() {
        let ir = PyExc::new(
            "http.client.IncompleteRead",
            vec![PyVal::Bytes(b"abc".to_vec())],
        )
        .with_attr("expected", PyVal::int(7));
        assert_eq!(ir.repr(), "IncompleteRead(3 bytes read, 7 more expected)");
        let pe = PyExc::new(
            "urllib3.exceptions.ProtocolError",
            vec![
                PyVal::str(format!("Connection broken: {}", ir.repr())),
                PyVal::Exc(Box::new(ir.clone())),
            ],
        );
        let ce = PyExc::new(
            "requests.exceptions.ChunkedEncodingError",
            vec![PyVal::Exc(Box::new(pe.clone()))],
        )
        .during(pe);
        assert_eq!(
            ce.reported().repr(),
            "ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(3 bytes read, 7 more expected)', IncompleteRead(3 bytes read, 7 more expected)))"
        );
        let icl = PyExc::new("urllib3.exceptions.InvalidChunkLength", vec![])
            .with_attr("length", PyVal::Bytes(b"zz\r\n".to_vec()))
            .with_attr("partial", PyVal::int(0));
        assert_eq!(
            icl.repr(),
            "InvalidChunkLength(got length b'zz\\r\\n', 0 bytes read)"
        );
        assert_eq!(
            PyExc::new("builtins.Exception", vec![]).repr(),
            "Exception()"
        );
        assert_eq!(
            os_error(
                "builtins.ConnectionResetError",
                104,
                "Connection reset by peer"
            )
            .str_text(),
            "[Errno 104] Connection reset by peer"
        );
    }

    #[test]
    fn locust_unwraps_connection_errors_to_their_cause() {
        let rd = PyExc::new(
            "http.client.RemoteDisconnected",
            vec![PyVal::str("Remote end closed connection without response")],
        );
        let pe = PyExc::new(
            "urllib3.exceptions.ProtocolError",
            vec![
                PyVal::str("Connection aborted."),
                PyVal::Exc(Box::new(rd.clone())),
            ],
        )
        .during(rd);
        let ce = PyExc::new(
            "requests.exceptions.ConnectionError",
            vec![PyVal::Exc(Box::new(pe.clone()))],
        )
        .during(pe);
        assert_eq!(
            ce.reported().repr(),
            "RemoteDisconnected('Remote end closed connection without response')"
        );
        assert_eq!(
            ce.str_text(),
            "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"
        );
    }

    #[test]
    fn geventhttpclient_appends_keywords_to_every_parenthesis() {
        let e = PyExc::new(
            "geventhttpclient.useragent.RetriesExceeded",
            vec![PyVal::str("u"), PyVal::int(0)],
        )
        .with_attr("kw_text", PyVal::str("original=timed out"));
        assert_eq!(e.repr(), "RetriesExceeded('u', 0, original=timed out)");
    }

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(py_bytes_repr(b"a'b"), "b\"a'b\"");
        assert_eq!(py_bytes_repr(b"a'\"b"), "b'a\\'\"b'");
        assert_eq!(py_bytes_repr(b"\x00\xff\\"), "b'\\x00\\xff\\\\'");
    }
}
