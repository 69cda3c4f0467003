//! HttpUser's reading of a response: requests 2.34 on urllib3 2.8 on CPython 3.11's http.client, as Locust
//! 2.47's `HttpSession` drives them, reproduced byte for byte: the same verdict, status, headers and decoded
//! body, and for a broken response the same exception (class, args, `__context__` chain) at the same point.
//!
//! The layers it reproduces, in the order they see the bytes:
//! - http.client `begin()`: status lines read with `readline(65537)` (longer is `LineTooLong`), `100 Continue`
//!   heads skipped, every other status final (a `102` too); at most 100 lines per header block, the blank one
//!   included; the version decides HTTP/1.0 vs 1.1; `Content-Length`, `Transfer-Encoding: chunked` (the first
//!   of each, exact match) and `Connection` decide the framing and whether the connection closes.
//! - the email package's compat32 parser, which turns the header lines into fields: lines split on `\r\n`,
//!   `\r` or `\n`; a line that is neither a field (`name:`), a continuation (leading space/tab) nor `From `
//!   ends the fields (it and everything after it become the "body" and are ignored).
//! - urllib3: folded values unfolded; repeated fields joined with `", "` (so `Content-Length: 2` twice is fine,
//!   `2` and `4` is `InvalidHeader`); `chunked` anywhere in `Transfer-Encoding` reads the body with its own
//!   chunk parser (`int(line, 16)`, the 2 bytes after a chunk unchecked, trailers until `\r\n` or EOF); a
//!   non-chunked body read in pieces of 10240 bytes (requests' `iter_content(10 * 1024)`) with the length
//!   checked only when a read comes back empty; content decoding by urllib3's decoder objects (gzip members,
//!   deflate tried as zlib then raw, chains of up to 5 codings).
//! - requests and Locust: which urllib3 error becomes which requests exception, and the `__context__` chain
//!   Locust unwraps ([`PyExc::reported`]).
//!
//! Sans-IO (see [`super::Reader`]): lines are found by scanning each byte of `buf` once (`scan` remembers how
//! far a partial line was searched); the identity body is copied once into the body buffer. Bounded: a line
//! is at most 65537 bytes, a decoding piece 10240, the body (raw and decoded) `Limits::max_body`.
//!
//! NOTE (contract): [`Reader::eof`] never returns [`Step::Head`]; when the close completes the head it reads
//! the body too and returns [`Step::Done`] (whose `head` is the head) or the error.
//! NOTE (quirk kept): a chunk size below -1 makes http.client raise `ValueError('read length must be
//! non-negative or -1')`, which is not a requests exception: under Locust it escapes `client.get()` and no
//! request is recorded. The reader returns that `builtins.ValueError`; the caller must raise it, not report it.
//!
//! Who calls it: `wire::reader` makes a [`PyReader`] for [`Dialect::Requests`]; `http::conn` drives it
//! through [`Reader`], one reader per exchange, on tokio threads (no Python, no GIL).
//!
//! What it must not do: I/O, sleeping, buffering without bound (the limits above), panicking on any input, or
//! wording anything its own way: every status, header, body, message, repr and `__context__` chain is the one
//! the Python stack produces.
//!
//! Files (one responsibility each):
//! - this file: the [`PyReader`] state machine (status line, skipped `100 Continue` heads, header block, body),
//!   the `readline(65537)` line finder, and the [`Reader`] impl (feed, eof, socket errors, timeouts).
//! - `head`: the status line and the header block (http.client's limits, the email package's compat32 fields,
//!   urllib3's unfolding and joining), and the framing, reuse and decoder decisions made from the head.
//! - `body`: the body framings (Content-Length, read to the close, urllib3's chunk parser) in requests' reads
//!   of 10240 bytes, with urllib3's length checks.
//! - `decode`: content decoding: urllib3's gzip, deflate, brotli and multi decoders over CPython-like zlib
//!   objects on flate2.
//! - `errors`: the builders of the exceptions the layers raise and wrap (requests, urllib3, http.client, OSError).
//! - `pyint`: Python's `int()` for status codes, Content-Length values (base 10) and chunk sizes (base 16).
//! - `pystr`: Python's `str` whitespace with `strip()`, `lower()` and `split(None, 1)` (a leaf `head` and `decode`
//!   share).
//! - `tests`: the tests of all of the above (`tests/props`: the property tests).
use super::exc::{PyExc, PyVal};
use super::hold::Charge;
use super::{Complete, Context, Dialect, Head, Reader, Step, body_too_large};
use crate::http::Fields;
use body::{BodySt, Framing};
use bytes::{Buf, BytesMut};
use errors::{aborted, broken, in_body, internal, line_too_long, os_exc, read_timeout_error, wrap};
use head::{HeadParse, parse_status};
use std::sync::Arc;

mod body;
mod decode;
mod errors;
mod head;
mod memo;
mod pyint;
mod pystr;
#[cfg(test)]
mod tests;

/// http.client's `_MAXLINE` (and urllib3's `_MAX_CHUNK_LINE_LENGTH`).
const MAXLINE: usize = 65536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a status line (the first, or the next after a `100 Continue`).
    Status,
    /// The header lines of a `100 Continue`, skipped.
    Skip,
    /// The header lines of the final response.
    Headers,
    Body,
    /// `Done` or an error was returned.
    Finished,
}

/// HttpUser's reader of one response.
pub struct PyReader {
    ctx: Arc<Context>,
    is_head: bool,
    phase: Phase,
    /// Bytes at the front of the caller's buffer already searched for `\n` without finding one.
    scan: usize,
    hp: HeadParse,
    head: Head,
    fr: Option<Framing>,
    body_st: BodySt,
    body: BytesMut,
    /// What `body` counts against the process's budget of bodies (`wire::hold`).
    charge: Charge,
    /// Body bytes taken off the wire (chunk payloads, not their framing).
    raw_total: usize,
    /// The head being parsed, to be kept for the next reader when it is parsed whole (`memo`): its bytes and
    /// the buffer's length when its status line was read.
    recording: Option<(Vec<u8>, usize)>,
}

impl PyReader {
    pub fn new(ctx: impl Into<Arc<Context>>) -> Self {
        let ctx = ctx.into();
        let is_head = ctx.method == "HEAD";
        PyReader {
            ctx,
            is_head,
            phase: Phase::Status,
            scan: 0,
            hp: HeadParse::default(),
            head: Head::default(),
            fr: None,
            body_st: BodySt::Start,
            body: BytesMut::new(),
            charge: Charge::default(),
            raw_total: 0,
            recording: None,
        }
    }

    fn max_body(&self) -> usize {
        self.ctx.limits.max_body
    }

    fn too_large(&self) -> PyExc {
        body_too_large(Dialect::Requests, self.max_body())
    }

    /// `fp.readline(65537)`: the length of the complete line at the front of `buf`, `Err` when the line is
    /// longer than http.client allows, `Ok(None)` when more bytes are needed (at EOF the caller takes what is
    /// there as the line).
    fn find_line(&mut self, buf: &[u8]) -> Result<Option<usize>, ()> {
        let limit = buf.len().min(MAXLINE + 1);
        if self.scan < limit {
            if let Some(i) = memchr::memchr(b'\n', &buf[self.scan..limit]) {
                let len = self.scan + i + 1;
                self.scan = 0;
                return if len > MAXLINE {
                    Err(())
                } else {
                    Ok(Some(len))
                };
            }
            self.scan = limit;
        }
        if buf.len() > MAXLINE {
            Err(())
        } else {
            Ok(None)
        }
    }

    /// The length of the next line at the front of `buf` (complete, or what is left at EOF); `Ok(None)`: more
    /// bytes needed. The caller reads `buf[..n]`, then advances `buf` by `n`.
    fn next_line(&mut self, buf: &[u8], eof: bool) -> Result<Option<usize>, ()> {
        match self.find_line(buf)? {
            Some(n) => Ok(Some(n)),
            None if eof => {
                self.scan = 0;
                Ok(Some(buf.len()))
            }
            None => Ok(None),
        }
    }

    fn run(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Step, PyExc> {
        loop {
            match self.phase {
                Phase::Status => {
                    // a head seen last, byte for byte, from the same state: what parsing it gave (`memo`)
                    let fresh = self.scan == 0 && !eof && self.hp.lines == 0;
                    if fresh && let Some((n, head, mut fr)) = memo::lookup(buf, self.is_head) {
                        fr.decoder = Some(decode::decoder_for(&fr.encoding, self.max_body()));
                        self.head = head;
                        self.fr = Some(fr);
                        buf.advance(n);
                        self.phase = Phase::Body;
                        return Ok(Step::Head);
                    }
                    if fresh && self.recording.is_none() {
                        self.recording = memo::candidate(buf).map(|bytes| (bytes, buf.len()));
                    }
                    let Some(n) = self
                        .next_line(buf, eof)
                        .map_err(|()| line_too_long("status line"))?
                    else {
                        self.recording = None;
                        return Ok(Step::More);
                    };
                    let st = parse_status(&buf[..n])?;
                    if st.status == 100 {
                        self.recording = None;
                        buf.advance(n);
                        self.hp.lines = 0;
                        self.phase = Phase::Skip;
                        continue;
                    }
                    let version = if st.version() == "HTTP/1.0" || st.version() == "HTTP/0.9" {
                        10
                    } else if st.version().starts_with("HTTP/1.") {
                        11
                    } else {
                        let v = PyVal::str(st.version().to_owned());
                        return Err(aborted(
                            PyExc::new("http.client.UnknownProtocol", vec![v.clone()])
                                .with_attr("version", v),
                        ));
                    };
                    self.head = Head {
                        status: st.status,
                        reason: st.reason(),
                        headers: Fields::new(),
                        version,
                    };
                    buf.advance(n);
                    self.hp = HeadParse::default();
                    self.phase = Phase::Headers;
                }
                Phase::Skip | Phase::Headers => {
                    let Some(n) = self
                        .next_line(buf, eof)
                        .map_err(|()| line_too_long("header line"))?
                    else {
                        self.recording = None;
                        return Ok(Step::More);
                    };
                    let last = self.header_line(&buf[..n])?;
                    let partial = !buf[..n].ends_with(b"\n");
                    buf.advance(n);
                    // At EOF a partial line is one line and the empty read after it another.
                    let ended = last || (eof && partial && self.header_line(&[])?);
                    if !ended {
                        continue;
                    }
                    if self.phase == Phase::Skip {
                        self.phase = Phase::Status;
                        continue;
                    }
                    self.finish_head()?;
                    self.phase = Phase::Body;
                    if let (Some((bytes, start)), Some(fr)) =
                        (self.recording.take(), self.fr.as_ref())
                        && start.checked_sub(buf.len()) == Some(bytes.len())
                        && !eof
                    {
                        memo::store(bytes, self.is_head, &self.head, fr);
                    }
                    if !eof {
                        return Ok(Step::Head);
                    }
                }
                Phase::Body => {
                    return match self.read_body(buf, eof)? {
                        Some(clean) => {
                            self.phase = Phase::Finished;
                            Ok(Step::Done(self.complete(clean && buf.is_empty())))
                        }
                        None if eof => Err(internal(
                            "the reader needs more bytes after the end of input",
                        )),
                        None => Ok(Step::More),
                    };
                }
                Phase::Finished => return Err(internal("the response was already read")),
            }
        }
    }

    fn complete(&mut self, clean: bool) -> Complete {
        let fr = self.fr.as_ref();
        let reusable = clean && fr.is_some_and(|f| !f.will_close && !f.informational);
        Complete {
            head: std::mem::take(&mut self.head),
            // the body keeps what it counts against the budget for as long as it lives
            body: std::mem::take(&mut self.charge).attach(std::mem::take(&mut self.body).freeze()),
            encoded: None,
            reusable,
        }
    }
}

impl Reader for PyReader {
    fn feed(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        let r = self.run(buf, false);
        if r.is_err() {
            self.phase = Phase::Finished;
        }
        r
    }

    fn eof(&mut self, buf: &mut BytesMut) -> Result<Step, PyExc> {
        let r = self.run(buf, true);
        self.phase = Phase::Finished;
        r
    }

    fn io_error(&self, error: &std::io::Error) -> PyExc {
        let errno = error.raw_os_error().or_else(|| {
            use std::io::ErrorKind::*;
            Some(match error.kind() {
                ConnectionReset => libc::ECONNRESET,
                ConnectionAborted => libc::ECONNABORTED,
                BrokenPipe => libc::EPIPE,
                TimedOut => libc::ETIMEDOUT,
                WouldBlock => libc::EAGAIN,
                _ => return None,
            })
        });
        let os = match errno {
            Some(n) => os_exc(n),
            None => PyExc::new("builtins.OSError", vec![PyVal::str(error.to_string())]),
        };
        let in_head = matches!(self.phase, Phase::Status | Phase::Skip | Phase::Headers);
        // a TimeoutError (ETIMEDOUT) is a socket.timeout to urllib3; in the head, so are EAGAIN/EWOULDBLOCK
        if errno == Some(libc::ETIMEDOUT) || (in_head && errno == Some(libc::EAGAIN)) {
            return self.timeout_from(os);
        }
        if in_head { aborted(os) } else { broken(os) }
    }

    fn timeout(&self) -> PyExc {
        self.timeout_from(PyExc::new(
            "builtins.TimeoutError",
            vec![PyVal::str("timed out")],
        ))
    }

    fn head_so_far(&self) -> Option<&Head> {
        (self.phase == Phase::Body).then_some(&self.head)
    }

    fn body_so_far(&self) -> &[u8] {
        &self.body
    }

    fn take_body(&mut self) -> bytes::Bytes {
        // the identity piece being read stays (a short read's IncompleteRead shows its bytes); the limits then
        // bound what is held, not what has streamed through
        let keep = self.body_st.unfinished_piece(self.body.len());
        self.raw_total = 0;
        let piece = self.body.split_to(self.body.len() - keep).freeze();
        self.charge.shrink_to(self.body.len());
        piece
    }
}

impl PyReader {
    fn timeout_from(&self, cause: PyExc) -> PyExc {
        let pool = &self.ctx.pool();
        if matches!(self.phase, Phase::Status | Phase::Skip | Phase::Headers) {
            // `_make_request`'s `_raise_timeout`, then requests' ReadTimeout (which Locust reports as it is)
            let t = self.ctx.read_timeout.as_deref().unwrap_or("None");
            let message = format!("Read timed out. (read timeout={t})");
            let rte = read_timeout_error(pool, PyVal::str(self.ctx.urllib3_url()), &message)
                .caused_by(cause);
            wrap("requests.exceptions.ReadTimeout", rte)
        } else {
            // `_error_catcher` (no URL), then requests' ConnectionError in iter_content
            let rte = read_timeout_error(pool, PyVal::None, "Read timed out.").caused_by(cause);
            in_body("requests.exceptions.ConnectionError", rte)
        }
    }
}
