//! Reading one HTTP/1.1 response off the wire the way the client a locustfile uses would read it.
//!
//! Locust users see two HTTP clients, and a broken server looks different through each: `HttpUser`
//! (requests → urllib3 → http.client) is lenient about syntax and strict about lengths, `FastHttpUser`
//! (geventhttpclient → llhttp) is strict about syntax. The same bytes must give the same verdict, failure text,
//! status and body under rlocust as under Locust, so each client is one [`Dialect`] here:
//! [`pyhttp`] for HttpUser and [`llhttp`] for FastHttpUser. Both are sans-IO: the connection code in `conn`
//! reads bytes (with timeouts) and hands them to a [`Reader`]; the reader says when it needs more, when the head
//! of the final response is complete, and when the response is complete, or which exception the client raises
//! ([`exc::PyExc`]).
//!
//! Who calls it: `http::conn` (one reader per exchange). Must not: do I/O, sleep, allocate without bound (every
//! buffer is capped by [`Limits`]), or panic on any input.
pub mod brotli;
pub mod exc;
pub mod hold;
pub mod llhttp;
pub mod pyhttp;

use bytes::{Bytes, BytesMut};
use exc::PyExc;
use std::borrow::Cow;
use std::sync::Arc;

/// Which client's reading rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// HttpUser: requests 2.x on urllib3 2.x on CPython's http.client.
    Requests,
    /// FastHttpUser: geventhttpclient 2.x on llhttp.
    Fast,
}

/// Bounds on what one response may make the reader hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of body, before and after content decoding, and (FastHttpUser) of head and body together. Beyond
    /// it the response fails with [`body_too_large`].
    pub max_body: usize,
    /// FastHttpUser: bytes of head (geventhttpclient has no bound of its own; HttpUser has http.client's 100
    /// header lines of 64 KiB). Beyond it the response fails with [`head_too_large`].
    pub max_head: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: DEFAULT_MAX_BODY,
            max_head: DEFAULT_MAX_HEAD,
        }
    }
}

/// The default of [`Limits::max_body`]: 256 MiB (`RLOCUST_MAX_BODY_SIZE` changes it).
pub const DEFAULT_MAX_BODY: usize = 256 << 20;

/// The default of [`Limits::max_head`]: 8 MiB (`RLOCUST_MAX_HEAD_SIZE` changes it). Locust's own fault tests
/// have FastHttpUser read a 1 MiB header line and 10,000 headers; both stay well within it.
pub const DEFAULT_MAX_HEAD: usize = 8 << 20;

/// The head bound of the process (`RLOCUST_MAX_HEAD_SIZE`, set once at start by `app::startup`).
static MAX_HEAD: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(DEFAULT_MAX_HEAD);

/// Sets the head bound of the process ([`Limits::max_head`]; `usize::MAX`: none).
pub fn set_max_head(bytes: usize) {
    MAX_HEAD.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// The head bound of the process.
pub fn max_head() -> usize {
    MAX_HEAD.load(std::sync::atomic::Ordering::Relaxed)
}

/// What the reader knows of the exchange it reads, for its decisions and error texts.
#[derive(Clone, Debug)]
pub struct Context {
    /// The request method, upper case (`HEAD` responses have no body); a standard one is not copied.
    pub method: std::borrow::Cow<'static, str>,
    /// The request URL as sent (error texts of FastHttpUser name it).
    pub url: String,
    /// urllib3's pool as requests' timeout texts name it, when it is not the one of `url` ([`Context::pool`]).
    pub pool: Option<String>,
    /// The request went to an HTTP proxy in absolute form ([`crate::http::urllib3_url`]).
    pub forwarded: bool,
    /// The read timeout as the locustfile gave it, formatted by Python `str()` (`2`, `2.0`, `0.5`), if any.
    pub read_timeout: Option<String>,
    pub limits: Limits,
}

/// A reason phrase as kept: the standard phrase of `status` (as most responses give it) without a copy.
pub fn reason(status: u16, text: &str) -> Cow<'static, str> {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(standard) if standard == text => Cow::Borrowed(standard),
        _ if text.is_empty() => Cow::Borrowed(""),
        _ => Cow::Owned(text.to_owned()),
    }
}

impl Context {
    /// `HTTPConnectionPool(host='127.0.0.1', port=8080)` (or `HTTPSConnectionPool…`): urllib3's pool, named in
    /// requests' timeout texts; made from the URL when a text needs it, not for every request.
    pub fn pool(&self) -> String {
        match (&self.pool, url::Url::parse(&self.url)) {
            (Some(p), _) => p.clone(),
            (None, Ok(u)) => crate::http::pool_name(&u),
            (None, Err(_)) => String::new(),
        }
    }

    /// The `url` urllib3's errors keep for this request ([`crate::http::urllib3_url`]); made for an error only.
    pub fn urllib3_url(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(u) => crate::http::urllib3_url(&u, self.forwarded),
            Err(_) => self.url.clone(),
        }
    }
}

/// The final response's status line and headers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    pub status: u16,
    /// The reason phrase as the client keeps it (may be empty); the standard phrase of its status is not copied
    /// ([`reason`]).
    pub reason: Cow<'static, str>,
    /// Header fields in arrival order as the client keeps them: names and values decoded as latin-1.
    pub headers: crate::http::Fields,
    /// HTTP minor version as the client understood it: 10 for HTTP/1.0 (and 0.9), 11 otherwise.
    pub version: u8,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.first(name)
    }

    /// All values of header `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.all(name)
    }
}

/// A response read to its end.
#[derive(Debug)]
pub struct Complete {
    pub head: Head,
    /// The body as the client hands it to user code: content-decoded (gzip, deflate) where it decodes.
    pub body: Bytes,
    /// FastHttpUser: the body as it came (before content decoding), where a `Content-Encoding` made `body`
    /// differ from it; what a `stream=True` response's `response.stream` and `iter_content` read.
    pub encoded: Option<Bytes>,
    /// Whether the connection can carry another request (the response ended cleanly by its framing, no
    /// `Connection: close`, nothing unasked left in the buffer).
    pub reusable: bool,
}

/// Progress of a [`Reader`].
#[derive(Debug)]
pub enum Step {
    /// More bytes are needed.
    More,
    /// The head of the final (non-1xx) response is complete; reported once, before the body is read.
    Head,
    /// The response is complete.
    Done(Complete),
}

/// Reads one response: `conn` feeds it what the socket gives until it returns [`Step::Done`] or an error.
///
/// Contract:
/// - [`Reader::feed`] consumes from the front of `buf` what it has used (it may leave a partial line or chunk
///   there) and returns [`Step::More`] when it needs more bytes. The caller then reads more into `buf` and calls
///   `feed` again; after [`Step::Head`] the caller calls `feed` again at once (body bytes may already be there).
/// - Bytes left in `buf` after [`Step::Done`] belong to nobody: the caller does not reuse the connection.
/// - [`Reader::eof`] is called once when the peer has closed the connection (a read returned 0); it returns
///   [`Step::Done`] (e.g. a body delimited by the close) or the client's error; never `More`.
/// - [`Reader::io_error`] and [`Reader::timeout`] give the exception the client raises when the socket fails or
///   the read timeout expires at the current point of the response.
pub trait Reader: Send {
    fn feed(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc>;
    fn eof(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc>;
    fn io_error(&self, error: &std::io::Error) -> PyExc;
    fn timeout(&self) -> PyExc;
    /// The final response's head once [`Step::Head`] has been returned. FastHttpUser keeps the status and headers
    /// of a response whose body then fails (Locust reports status 200 with `HTTPParseError('Incomplete
    /// response.')`); HttpUser does not (requests raises before it returns a response).
    fn head(&self) -> Option<&Head> {
        None
    }
    /// The body decoded so far, handed out for a streamed response (`stream=True`) and no longer held; what
    /// [`Step::Done`] then returns is the rest. A reader that decodes only at the end hands out nothing here.
    fn take_body(&mut self) -> Bytes {
        Bytes::new()
    }
    /// The final response's head while its body is being read (a streamed response is handed over with it).
    fn head_so_far(&self) -> Option<&Head> {
        self.head()
    }
    /// The body held so far, as it grows while the response is read whole (HttpUser: content-decoded as it
    /// comes; FastHttpUser: as it came): what `events` watches of a body that is not streamed.
    fn body_so_far(&self) -> &[u8] {
        &[]
    }
}

/// A reader for `dialect`. Boxed: the reader state (~1 KB for HttpUser) would otherwise sit in every request's
/// future for its whole life.
/// (`ctx` is shared: one per hop of a call, made once, not once per attempt.)
pub fn reader(dialect: Dialect, ctx: Arc<Context>) -> AnyReader {
    match dialect {
        Dialect::Requests => AnyReader::Requests(Box::new(pyhttp::PyReader::new(ctx))),
        Dialect::Fast => AnyReader::Fast(Box::new(llhttp::LlReader::new(ctx))),
    }
}

/// Either dialect's reader.
pub enum AnyReader {
    Requests(Box<pyhttp::PyReader>),
    Fast(Box<llhttp::LlReader>),
}

impl Reader for AnyReader {
    fn feed(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        match self {
            AnyReader::Requests(r) => r.feed(buf),
            AnyReader::Fast(r) => r.feed(buf),
        }
    }
    fn eof(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        match self {
            AnyReader::Requests(r) => r.eof(buf),
            AnyReader::Fast(r) => r.eof(buf),
        }
    }
    fn io_error(&self, error: &std::io::Error) -> PyExc {
        match self {
            AnyReader::Requests(r) => r.io_error(error),
            AnyReader::Fast(r) => r.io_error(error),
        }
    }
    fn timeout(&self) -> PyExc {
        match self {
            AnyReader::Requests(r) => r.timeout(),
            AnyReader::Fast(r) => r.timeout(),
        }
    }
    fn head(&self) -> Option<&Head> {
        match self {
            AnyReader::Requests(r) => r.head(),
            AnyReader::Fast(r) => r.head(),
        }
    }
    fn take_body(&mut self) -> Bytes {
        match self {
            AnyReader::Requests(r) => r.take_body(),
            AnyReader::Fast(r) => r.take_body(),
        }
    }
    fn head_so_far(&self) -> Option<&Head> {
        match self {
            AnyReader::Requests(r) => r.head_so_far(),
            AnyReader::Fast(r) => r.head_so_far(),
        }
    }
    fn body_so_far(&self) -> &[u8] {
        match self {
            AnyReader::Requests(r) => r.body_so_far(),
            AnyReader::Fast(r) => r.body_so_far(),
        }
    }
}

/// The failure of a FastHttpUser response whose head is larger than [`Limits::max_head`] (rlocust's own bound:
/// geventhttpclient has none). The same class as [`body_too_large`].
pub fn head_too_large(dialect: Dialect, limit: usize) -> PyExc {
    too_large(
        dialect,
        format!(
            "response head larger than {limit} bytes (rlocust's limit; set RLOCUST_MAX_HEAD_SIZE to change it)"
        ),
    )
}

/// The failure of a response past one of rlocust's memory bounds (its head, its body, the bodies of all users:
/// `text` says which): HttpUser sees a requests `ConnectionError` subclass, FastHttpUser a builtin
/// `ConnectionError` subclass.
pub fn too_large(dialect: Dialect, text: String) -> PyExc {
    let class = match dialect {
        Dialect::Requests => "locust._ffi.ResponseTooLarge",
        Dialect::Fast => "locust._ffi.FastResponseTooLarge",
    };
    PyExc::new(class, vec![exc::PyVal::str(text)])
}

/// The failure of a response larger than [`Limits::max_body`] (rlocust's own bound: neither client has one).
/// HttpUser sees a requests `ConnectionError` subclass, FastHttpUser a builtin `ConnectionError` subclass, so
/// the `except` clauses and Locust's failure handling of each client catch it.
pub fn body_too_large(dialect: Dialect, limit: usize) -> PyExc {
    too_large(
        dialect,
        format!(
            "response body larger than {limit} bytes (rlocust's limit; set RLOCUST_MAX_BODY_SIZE to change it)"
        ),
    )
}
