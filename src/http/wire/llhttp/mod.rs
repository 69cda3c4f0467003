//! FastHttpUser's way of reading a response: geventhttpclient 2.6.1 on llhttp 9.4.2, as Locust 2.47 drives it.
//!
//! What is reproduced, layer by layer (each one decides part of the verdict):
//! - llhttp's response state machine (`Parser`), strict (geventhttpclient sets no lenient flag): every error
//!   text and `HPE_*` code, where it is raised, which callbacks fire when (span pieces at the end of each
//!   `llhttp_execute`, `on_message_complete` of bodyless and interim messages, the restart after a keep-alive
//!   message, the `closed` state after a `Connection: close` one).
//! - geventhttpclient's C wrapper (`_parser.c`): `feed(b"")` at EOF gives `HTTPParseError('Incomplete
//!   response.')` when llhttp says the message does not end with the connection, else `llhttp_finish` (`'Invalid
//!   EOF state', 14` in the middle of a message); an error sticks and every later `feed` raises it again.
//! - geventhttpclient's `HTTPResponse` callbacks and `HTTPSocketResponse` (`Resp`): headers decoded as latin-1
//!   and grouped the way its `_on_header_*` callbacks do (a new message on the same bytes clears them; trailers
//!   are flushed one late), `HEAD` bodies skipped and a parse error after a `HEAD` message swallowed,
//!   `_read_headers` reading 4096-byte blocks until the head of a final (>= 200) response is complete ("connection
//!   closed." when nothing came at all), `release()` at every message end (which closes the socket of a message
//!   without keep-alive, so reading on after an interim `HTTP/1.0 100` fails with `OSError(9, 'Bad file
//!   descriptor')`, and makes `read()` return only what was parsed so far after an interim response).
//! - `CompatResponse._content` as Locust's `len(response.content)` triggers it: a one-shot `zlib.decompress` for
//!   gzip, raw deflate then zlib for deflate, `ValueError` for an unknown `Content-Encoding`.
//!
//! geventhttpclient feeds whole `recv()` blocks to llhttp, which parses every byte of a block, also past the end
//! of the response: bytes that arrive together with the end of a response are parsed (and can fail it: `Data
//! after \`Connection: close\``, `Expected HTTP/, RTSP/ or ICE/`), bytes that arrive later are never looked at.
//! The reader does the same with what the caller hands it in one `feed` (cut into 4096-byte blocks), so its verdict
//! depends on the bytes and on which of them arrived together, exactly as geventhttpclient's does.
//!
//! Cost: one pass over every byte (bodies are copied in bulk, header values scanned with a table), no allocation
//! per byte; header names and values become `String`s once, when complete.
//!
//! What the caller does around it (FastHttpSession, UserAgent and HTTPClient, not this reader):
//! - `HTTPConnectionClosed` (nothing at all came: EOF, or ECONNRESET, before the first byte) is retried by
//!   geventhttpclient for GET, HEAD, OPTIONS, TRACE, PUT and DELETE on a new connection, 12 attempts in all with
//!   FastHttpUser's `concurrency = 10` (pool size + 2); POST and PATCH get one. The last attempt's error stands.
//! - The status check comes after [`Step::Head`] ([`Reader::head`]): a status outside
//!   [`LOCUST_VALID_STATUSES`] still has its body read to the end, then [`locust_bad_status`] gives the verdict; an
//!   error while reading such a body is recorded with status 0 and length 0 (Locust's ErrorResponse). A redirect
//!   that is followed drops the body unread ([`LlReader::reusable_now`] says whether the connection survives).
//! - [`recorded_by_locust`] tells the failures Locust records from the exceptions that escape into the task.
//!
//! Layout: this module is the reader ([`LlReader`]: `_read_headers`, `read()`, the EOF, socket errors and
//! timeouts) and geventhttpclient's response object (`Resp`: its llhttp callbacks and `release()`); `tables`
//! holds llhttp's constants, character classes and states (a leaf), `parser` the parser's fields and the nodes that
//! run at once, `states` the byte loop over the nodes that wait for input, `decode` the content decoding of `CompatResponse._content`, `errors` the exceptions
//! raised and Locust's verdicts on them.
//!
//! Who calls it: `wire::reader` (one [`LlReader`] per FastHttpUser exchange, fed by `http::conn`) and the engine
//! (`http`) for Locust's status check. Must not: do I/O, hold more than
//! [`Limits::max_body`](super::Limits::max_body) of head and body or
//! [`Limits::max_head`](super::Limits::max_head) of head, pass the process's budget of bodies
//! ([`hold`]), or panic on any input.
mod decode;
mod errors;
mod parser;
mod states;
mod tables;
#[cfg(test)]
mod tests;

use super::exc::{PyExc, PyVal};
use super::hold::{self, Charge};
use super::{Complete, Context, Dialect, Head, Reader, Step, body_too_large, head_too_large};
use bytes::{Buf, Bytes, BytesMut};
use decode::{Encoding, content_encoding, decode_content};
pub use errors::{LOCUST_VALID_STATUSES, errno_exc, locust_bad_status, recorded_by_locust};
use errors::{bad_fd, connection_closed, parse_error, parse_text, retries_exceeded};
use parser::Parser;
use std::sync::Arc;
use tables::{Finish, HPE_INVALID_EOF_STATE, PErr, perr};

/// geventhttpclient's `HTTPSocketResponse.DEFAULT_BLOCK_SIZE`: what one `recv()` asks for.
const BLOCK: usize = 4096;

/// Where geventhttpclient's `HTTPResponse._on_header_*` callbacks are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HState {
    Init,
    Field,
    Value,
    Done,
}

/// geventhttpclient's `HTTPSocketPoolResponse` as its llhttp callbacks and `release()` leave it.
struct Resp {
    head_method: bool,
    headers_complete: bool,
    message_complete: bool,
    /// `_message_ended_in_skip_body`: a HEAD message ended with its head; later parse errors are swallowed.
    ended_in_skip_body: bool,
    trailing_dropped: bool,
    /// The head as geventhttpclient's response object holds it; `headers` are kept as they arrive, the status
    /// line is copied from the parser when the caller gets to see the head.
    head: Head,
    headers_bytes: usize,
    hstate: HState,
    /// A field is open: the last of `head.headers`, its name (then its value) read in pieces as they come.
    has_field: bool,
    has_value: bool,
    /// The bytes of the open field as they came (the limit's count; its text may be longer).
    field_bytes: usize,
    body: Vec<u8>,
    /// `status_message`: the last piece `on_status` got (None: never called).
    status: Option<smallvec::SmallVec<[u8; 32]>>,
    /// The C wrapper's `should_keep_alive`, taken at the last `on_message_complete`.
    keep_alive: Option<bool>,
    /// `release()` ran: `_sock` is None, `read()` returns what is buffered.
    released: bool,
    /// `release()` closed the socket (the message had no keep-alive): the next `recv()` fails with EBADF.
    sock_closed: bool,
    cap: usize,
    /// The head's own bound ([`Limits::max_head`](super::Limits::max_head)).
    head_cap: usize,
    /// What the response holds, counted against the process's budget of bodies.
    charge: Charge,
    /// The bound the response passed: nothing more is kept and the reader fails.
    over: Option<Over>,
}

/// A bound a response passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Over {
    /// The body (or head and body together) passed the per-response cap.
    Body,
    /// The head passed its own bound before it was complete.
    Head,
    /// The bodies held by all users would pass the process's budget.
    Budget,
}

impl Resp {
    fn new(head_method: bool, cap: usize, head_cap: usize) -> Self {
        Resp {
            head_method,
            headers_complete: false,
            message_complete: false,
            ended_in_skip_body: false,
            trailing_dropped: false,
            head: Head::default(),
            headers_bytes: 0,
            hstate: HState::Init,
            has_field: false,
            has_value: false,
            field_bytes: 0,
            body: Vec::new(),
            status: None,
            keep_alive: None,
            released: false,
            sock_closed: false,
            cap,
            head_cap,
            charge: Charge::default(),
            over: None,
        }
    }

    /// Bytes held for the response; past the cap, the head's bound or the budget nothing more is kept and the
    /// reader fails.
    fn room(&mut self, more: usize) -> bool {
        if self.over.is_some() {
            return false;
        }
        let head = self.headers_bytes + self.field_bytes;
        let held = (head + self.body.len()).saturating_add(more);
        if held > self.cap {
            self.over = Some(Over::Body);
        } else if !self.headers_complete && held > self.head_cap {
            self.over = Some(Over::Head);
        } else if self.charge.cover(held).is_err() {
            self.over = Some(Over::Budget);
        }
        self.over.is_none()
    }

    fn on_message_begin(&mut self) {
        if self.message_complete {
            // an interim (or any earlier) message is followed by another one on the same parser
            self.headers_complete = false;
            self.message_complete = false;
            self.head.headers.clear();
            self.headers_bytes = 0;
            self.hstate = HState::Init;
            self.has_field = false;
            self.has_value = false;
            self.field_bytes = 0;
        }
    }

    fn on_status(&mut self, piece: &[u8]) {
        let s = self.status.get_or_insert_with(Default::default);
        s.clear();
        s.extend_from_slice(&piece[..piece.len().min(BLOCK)]);
    }

    fn on_header_field(&mut self, piece: &[u8]) {
        if self.hstate != HState::Field {
            if self.hstate == HState::Value {
                self.flush_header();
            }
            self.head.headers.open();
            self.has_field = true;
            self.field_bytes = 0;
        }
        if self.room(piece.len()) {
            self.head.headers.extend_last_name_latin1(piece);
            self.field_bytes += piece.len();
        }
        self.hstate = HState::Field;
    }

    fn on_header_value(&mut self, piece: &[u8]) {
        if self.hstate != HState::Value {
            self.has_value = true;
        }
        if self.has_field && self.room(piece.len()) {
            self.head.headers.extend_last_latin1(piece);
            self.field_bytes += piece.len();
        }
        self.hstate = HState::Value;
    }

    fn flush_header(&mut self) {
        if self.has_field {
            // (the text's length as it is kept: a latin-1 byte past ASCII is two bytes of UTF-8)
            self.headers_bytes += self.head.headers.last_len() + HEADER_OVERHEAD;
            self.head.headers.commit();
            self.has_field = false;
            self.has_value = false;
            self.field_bytes = 0;
        }
    }

    /// `_on_headers_complete`: true skips the body (HEAD).
    fn on_headers_complete(&mut self) -> bool {
        self.flush_header();
        self.hstate = HState::Done;
        self.headers_complete = true;
        if self.head_method {
            self.ended_in_skip_body = true;
        }
        self.head_method
    }

    /// The body's length is known: its buffer is made that size (up to 1 MiB: a length is the peer's claim), so
    /// that it becomes the response's `Bytes` as it is (a larger buffer takes a shared header more).
    pub(super) fn expect_body(&mut self, len: u64) {
        if self.body.capacity() == 0 && len <= (1 << 20) && len as usize <= self.cap {
            self.body.reserve_exact(len as usize);
        }
    }

    fn on_body(&mut self, piece: &[u8]) {
        if self.room(piece.len()) {
            hold::extend_vec(&mut self.body, piece, self.cap);
        }
    }

    /// `_on_message_complete` of HTTPSocketResponse: complete, then `release()` (the first one hands the socket back
    /// to the pool or, without keep-alive, closes it).
    fn on_message_complete(&mut self, keep_alive: bool) {
        if self.has_field {
            // a trailer field still open when the message ends is never flushed (geventhttpclient flushes a field
            // when the next one starts, or at the end of the headers, which trailers do not reach)
            self.head.headers.drop_open();
            self.has_field = false;
            self.has_value = false;
            self.field_bytes = 0;
        }
        self.keep_alive = Some(keep_alive);
        self.message_complete = true;
        if !self.released {
            self.released = true;
            self.sock_closed = self.trailing_dropped || !keep_alive;
        }
    }
}

/// What one kept header costs besides its bytes (two `String`s and their allocations), counted against the limit
/// so that a flood of tiny headers is bounded too.
const HEADER_OVERHEAD: usize = 64;

/// bytes → str the way geventhttpclient decodes header bytes (latin-1).
fn latin1(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if b.is_ascii() => s.to_owned(),
        _ => b.iter().map(|&c| char::from(c)).collect(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// `HTTPSocketResponse._read_headers`: reading until the head of a final response is complete.
    Head,
    /// `read()` inside `response.content`.
    Body,
    Finished,
}

/// Reads one response the way FastHttpUser's client stack reads it (see the module docs).
pub struct LlReader {
    ctx: Arc<Context>,
    parser: Parser,
    resp: Resp,
    /// The C wrapper's `self->error`: once set, every `feed` raises it again.
    c_error: Option<PErr>,
    phase: Phase,
    /// `_read_headers`' `start`: nothing has been received yet.
    start: bool,
    /// [`Step::Head`] was returned (and [`Step::Done`] not yet): [`Reader::head`] answers.
    head_shown: bool,
    /// `read()` has begun (it checks once whether the socket is still there).
    body_started: bool,
    /// The `Content-Encoding` `_content` chose before it read the body.
    encoding: Encoding,
    failed: Option<PyExc>,
}

impl LlReader {
    pub fn new(ctx: impl Into<Arc<Context>>) -> Self {
        let ctx = ctx.into();
        let head = ctx.method.eq_ignore_ascii_case("HEAD");
        let (cap, head_cap) = (ctx.limits.max_body, ctx.limits.max_head);
        LlReader {
            ctx,
            parser: Parser::new(),
            resp: Resp::new(head, cap, head_cap),
            c_error: None,
            phase: Phase::Head,
            start: true,
            head_shown: false,
            body_started: false,
            encoding: Encoding::Identity,
            failed: None,
        }
    }

    /// Copies the status line as llhttp holds it now into the head (what `response.status_code` gives).
    fn sync_head(&mut self) {
        let head = &mut self.resp.head;
        head.status = self.parser.status_code;
        head.reason = match self.resp.status.as_deref() {
            Some(b) if b.is_ascii() => super::reason(
                self.parser.status_code,
                std::str::from_utf8(b).unwrap_or_default(),
            ),
            Some(b) => latin1(b).into(),
            None => "".into(),
        };
        head.version = if self.parser.http_major > 0 && self.parser.http_minor > 0 {
            11
        } else {
            10
        };
    }

    /// Whether geventhttpclient would hand the connection back to its pool if the response were released now
    /// (a redirect's body is never read: `resp.release()`), given the bytes still unread in `buf`.
    pub fn reusable_now(&self, buf: &BytesMut) -> bool {
        !self.should_close() && buf.is_empty()
    }

    /// `HTTPResponse.should_close()`.
    fn should_close(&self) -> bool {
        let keep_alive = self.c_error.is_none()
            && self
                .resp
                .keep_alive
                .unwrap_or_else(|| self.parser.should_keep_alive());
        self.resp.trailing_dropped
            || !self.resp.message_complete
            || self.c_error.is_some()
            || !keep_alive
    }

    /// `HTTPResponse.feed(data)`: the C parser's feed, with the HEAD override that drops what follows a HEAD
    /// message (marking the connection for closing) instead of failing.
    fn py_feed(&mut self, data: &[u8]) -> Result<(), PyExc> {
        let r = if data.is_empty() {
            self.c_feed_eof()
        } else {
            self.c_feed(data)
        };
        match self.resp.over {
            None => {}
            Some(Over::Body) => {
                return Err(body_too_large(Dialect::Fast, self.ctx.limits.max_body));
            }
            Some(Over::Head) => {
                return Err(head_too_large(Dialect::Fast, self.ctx.limits.max_head));
            }
            Some(Over::Budget) => return Err(hold::over_budget(Dialect::Fast)),
        }
        match r {
            Ok(()) => Ok(()),
            Err(_) if self.resp.ended_in_skip_body => {
                self.resp.headers_complete = true;
                self.resp.message_complete = true;
                self.resp.trailing_dropped = true;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn c_feed(&mut self, data: &[u8]) -> Result<(), PyExc> {
        if let Some(e) = self.c_error {
            return Err(parse_error(e));
        }
        self.parser.execute(data, &mut self.resp).map_err(|e| {
            self.c_error = Some(e);
            parse_error(e)
        })
    }

    /// `feed(b"")`: the end of the stream.
    fn c_feed_eof(&mut self) -> Result<(), PyExc> {
        if let Some(e) = self.c_error {
            return Err(parse_error(e));
        }
        if !self.parser.needs_eof() {
            return Err(parse_text("Incomplete response."));
        }
        match self.parser.finish {
            Finish::Safe => Ok(()),
            Finish::SafeWithCb => {
                self.parser.message_complete(&mut self.resp);
                Ok(())
            }
            Finish::Unsafe => {
                let e = perr(HPE_INVALID_EOF_STATE, "Invalid EOF state");
                self.c_error = Some(e);
                Err(parse_error(e))
            }
        }
    }

    fn fail(&mut self, e: PyExc) -> Result<Step, PyExc> {
        if self.head_shown {
            // Locust reports the status the response object has afterwards
            self.sync_head();
        }
        self.phase = Phase::Finished;
        self.failed = Some(e.clone());
        Err(e)
    }

    /// Feed one `recv()` block from the front of `buf`.
    fn feed_block(&mut self, buf: &mut BytesMut) -> Result<(), PyExc> {
        let n = buf.len().min(BLOCK);
        let r = self.py_feed(&buf[..n]);
        buf.advance(n);
        self.start = false;
        r
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        match self.phase {
            Phase::Head => loop {
                // `while not self.headers_complete or self.get_code() < 200: data = sock.recv(...)`
                if self.resp.sock_closed {
                    return Err(bad_fd());
                }
                if buf.is_empty() {
                    return Ok(Step::More);
                }
                self.feed_block(buf)?;
                if self.resp.headers_complete && self.parser.status_code >= 200 {
                    self.phase = Phase::Body;
                    self.sync_head();
                    self.head_shown = true;
                    return Ok(Step::Head);
                }
            },
            Phase::Body => {
                if !self.body_started {
                    self.body_started = true;
                    // `_content` picks the decoding (and rejects unknown ones) before it reads the body
                    self.encoding = content_encoding(&self.resp.head.headers)?;
                    if self.resp.released {
                        // `read()`: `if self._sock is None: return the buffer`
                        return self.done(buf);
                    }
                }
                loop {
                    if self.resp.message_complete {
                        return self.done(buf);
                    }
                    if self.resp.sock_closed {
                        return Err(bad_fd());
                    }
                    if buf.is_empty() {
                        return Ok(Step::More);
                    }
                    self.feed_block(buf)?;
                    if self.parser.status_code != self.resp.head.status {
                        // a response begun after this one (same bytes) has its own status line
                        self.sync_head();
                    }
                }
            }
            Phase::Finished => Err(self.failed.clone().unwrap_or_else(|| {
                PyExc::new(
                    "builtins.RuntimeError",
                    vec![PyVal::str("the response was read")],
                )
            })),
        }
    }

    fn step_eof(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        while !buf.is_empty() {
            match self.step(buf)? {
                Step::Done(c) => return Ok(Step::Done(c)),
                Step::Head | Step::More => {}
            }
        }
        match self.phase {
            Phase::Head => {
                if self.resp.sock_closed {
                    return Err(bad_fd());
                }
                self.py_feed(&[])?;
                if self.start {
                    return Err(connection_closed());
                }
                if self.resp.headers_complete {
                    return Err(parse_text("connection closed after interim response"));
                }
                Err(parse_text("connection closed before end of the headers"))
            }
            Phase::Body => {
                if let Step::Done(c) = self.step(buf)? {
                    return Ok(Step::Done(c));
                }
                self.py_feed(&[])?;
                // llhttp either completes the message at EOF or fails; nothing else is left
                self.done(buf)
            }
            Phase::Finished => self.step(buf),
        }
    }

    /// The end of `read()` and `CompatResponse._content`: release, then decode the body.
    fn done(&mut self, buf: &BytesMut) -> Result<Step, PyExc> {
        let reusable = self.reusable_now(buf);
        self.resp.released = true;
        self.phase = Phase::Finished;
        // the body keeps what it counts against the budget for as long as it lives (the decoded one its own)
        let raw = std::mem::take(&mut self.resp.charge)
            .attach(Bytes::from(std::mem::take(&mut self.resp.body)));
        let encoded = (self.encoding != Encoding::Identity).then(|| raw.clone());
        let body = decode_content(self.encoding, raw, self.ctx.limits.max_body)?;
        self.sync_head();
        self.head_shown = false;
        let head = std::mem::take(&mut self.resp.head);
        Ok(Step::Done(Complete {
            head,
            body,
            encoded,
            reusable,
        }))
    }

    /// The errno's OSError as gevent raises it, wrapped in what the client then does with it.
    fn os_failure(&self, errno: i32) -> PyExc {
        let e = errno_exc(errno);
        match self.phase {
            Phase::Head if self.resp.sock_closed => bad_fd(),
            // `_read_headers`: a reset before anything arrived is a closed connection (HTTPClient retries it)
            Phase::Head if errno == libc::ECONNRESET && self.start => connection_closed(),
            // UserAgent._handle_error retries these; Locust's max_retries is 0
            Phase::Head
                if matches!(
                    errno,
                    libc::ETIMEDOUT | libc::ENOLINK | libc::ENOENT | libc::EPIPE
                ) =>
            {
                retries_exceeded(&self.ctx.url, e)
            }
            _ => e,
        }
    }
}

impl Reader for LlReader {
    fn feed(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        match self.step(buf) {
            Err(e) => self.fail(e),
            ok => ok,
        }
    }

    fn eof(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        match self.step_eof(buf) {
            Err(e) => self.fail(e),
            ok => ok,
        }
    }

    fn io_error(&self, error: &std::io::Error) -> PyExc {
        use std::io::ErrorKind as K;
        if let Some(n) = error.raw_os_error() {
            return self.os_failure(n);
        }
        match error.kind() {
            K::ConnectionReset => self.os_failure(libc::ECONNRESET),
            K::ConnectionAborted => self.os_failure(libc::ECONNABORTED),
            K::BrokenPipe => self.os_failure(libc::EPIPE),
            K::NotConnected => self.os_failure(libc::ENOTCONN),
            K::TimedOut | K::WouldBlock => self.timeout(),
            _ => PyExc::new("builtins.OSError", vec![PyVal::str(error.to_string())]),
        }
    }

    /// The head once [`Step::Head`] was returned, until [`Step::Done`] hands it over in [`Complete::head`]; after a
    /// failure, with the status the response object then has (llhttp's latest status line).
    fn head(&self) -> Option<&Head> {
        self.head_shown.then_some(&self.resp.head)
    }

    fn body_so_far(&self) -> &[u8] {
        &self.resp.body
    }

    fn timeout(&self) -> PyExc {
        let timed_out = PyExc::new("builtins.TimeoutError", vec![PyVal::str("timed out")]);
        match self.phase {
            Phase::Head if self.resp.sock_closed => bad_fd(),
            Phase::Head => retries_exceeded(&self.ctx.url, timed_out),
            _ => timed_out,
        }
    }
}
