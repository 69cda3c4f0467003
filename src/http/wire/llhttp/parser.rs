//! llhttp's response parser, its data and the nodes that run at once: the error numbers, flags and header states
//! of `llhttp.h`, the character classes of `constants.ts`, [`Parser`]'s fields, and the steps that take no input
//! (the version check, the end of a header name with the framing conflicts llhttp checks there, `setHeaderFlags`,
//! the body framing chosen after the headers, `message_done`, `cleanup`), with `llhttp_execute`'s reporting of
//! the open span, `llhttp_should_keep_alive` and `llhttp_message_needs_eof`.
//!
//! Who calls it: [`LlReader`](super::LlReader) (one parser per response: `execute` per block, the EOF decisions)
//! and the byte loop in `states`. Must not: allocate, keep what the callbacks report (that is [`Resp`]'s job), or
//! differ from llhttp 9.4.2 in an error text, an `HPE_*` code or the order of the callbacks.
use super::Resp;
use super::states::St;

// llhttp's error numbers (`llhttp_errno_t`) that a response can produce.
pub(super) const HPE_STRICT: u8 = 2;
pub(super) const HPE_LF_EXPECTED: u8 = 3;
const HPE_UNEXPECTED_CONTENT_LENGTH: u8 = 4;
pub(super) const HPE_CLOSED_CONNECTION: u8 = 5;
pub(super) const HPE_INVALID_CONSTANT: u8 = 8;
pub(super) const HPE_INVALID_VERSION: u8 = 9;
pub(super) const HPE_INVALID_HEADER_TOKEN: u8 = 10;
pub(super) const HPE_INVALID_CONTENT_LENGTH: u8 = 11;
pub(super) const HPE_INVALID_CHUNK_SIZE: u8 = 12;
pub(super) const HPE_INVALID_STATUS: u8 = 13;
pub(super) const HPE_INVALID_EOF_STATE: u8 = 14;
const HPE_INVALID_TRANSFER_ENCODING: u8 = 15;
const HPE_PAUSED_UPGRADE: u8 = 22;
pub(super) const HPE_CR_EXPECTED: u8 = 25;
pub(super) const HPE_UNEXPECTED_SPACE: u8 = 30;

// llhttp's `flags`.
const F_CONNECTION_KEEP_ALIVE: u16 = 1 << 0;
const F_CONNECTION_CLOSE: u16 = 1 << 1;
const F_CONNECTION_UPGRADE: u16 = 1 << 2;
const F_CHUNKED: u16 = 1 << 3;
const F_UPGRADE: u16 = 1 << 4;
pub(super) const F_CONTENT_LENGTH: u16 = 1 << 5;
const F_SKIPBODY: u16 = 1 << 6;
pub(super) const F_TRAILING: u16 = 1 << 7;
const F_TRANSFER_ENCODING: u16 = 1 << 9;

// llhttp's `header_state`.
pub(super) const HS_GENERAL: u8 = 0;
const HS_CONNECTION: u8 = 1;
pub(super) const HS_CONTENT_LENGTH: u8 = 2;
const HS_TRANSFER_ENCODING: u8 = 3;
const HS_UPGRADE: u8 = 4;
const HS_CONNECTION_KEEP_ALIVE: u8 = 5;
const HS_CONNECTION_CLOSE: u8 = 6;
const HS_CONNECTION_UPGRADE: u8 = 7;
pub(super) const HS_TRANSFER_ENCODING_CHUNKED: u8 = 8;

/// The header names llhttp treats specially (matched lower-cased), with the header state each selects.
pub(super) const SPECIAL_HEADERS: [(&[u8], u8); 5] = [
    (b"connection", HS_CONNECTION),
    (b"content-length", HS_CONTENT_LENGTH),
    (b"proxy-connection", HS_CONNECTION),
    (b"transfer-encoding", HS_TRANSFER_ENCODING),
    (b"upgrade", HS_UPGRADE),
];
/// The `Connection` tokens llhttp knows, with the header state each selects.
pub(super) const CONNECTION_WORDS: [(&[u8], u8); 3] = [
    (b"close", HS_CONNECTION_CLOSE),
    (b"upgrade", HS_CONNECTION_UPGRADE),
    (b"keep-alive", HS_CONNECTION_KEEP_ALIVE),
];
pub(super) const PROTOCOLS: [&[u8]; 3] = [b"HTTP", b"RTSP", b"ICE"];
pub(super) const NONE: u8 = u8::MAX;

// Character classes of llhttp's `constants.ts`, one bit each in [`CLASS`].
pub(super) const C_TOKEN: u8 = 1;
/// HTAB, SP, VCHAR, obs-text (`HEADER_CHARS`, also `HTAB_SP_VCHAR_OBS_TEXT`).
pub(super) const C_HEADER: u8 = 2;
/// `HEADER_CHARS` without `,`.
pub(super) const C_CONN_TOKEN: u8 = 4;
pub(super) const C_QDTEXT: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let mut v = 0u8;
        let token = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        if token {
            v |= C_TOKEN;
        }
        let header = b == b'\t' || b == b' ' || (b >= 0x21 && b <= 0x7e) || b >= 0x80;
        if header {
            v |= C_HEADER;
            if b != b',' {
                v |= C_CONN_TOKEN;
            }
            if b != b'"' && b != b'\\' {
                v |= C_QDTEXT;
            }
        }
        t[c] = v;
        c += 1;
    }
    t
};

#[inline]
pub(super) fn is(c: u8, class: u8) -> bool {
    CLASS[c as usize] & class != 0
}

pub(super) fn hex_value(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some(u64::from(c - b'0')),
        b'a'..=b'f' => Some(u64::from(c - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(c - b'A' + 10)),
        _ => None,
    }
}

/// An llhttp error: its reason text and `HPE_*` number, as `HTTPParseError(reason, number)` carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PErr {
    pub(super) reason: &'static str,
    pub(super) code: u8,
}

pub(super) const fn perr(code: u8, reason: &'static str) -> PErr {
    PErr { reason, code }
}

/// llhttp's `finish`: what `llhttp_finish` (EOF) does in the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Finish {
    Safe,
    SafeWithCb,
    Unsafe,
}

/// The llhttp spans geventhttpclient has callbacks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Span {
    None,
    Status,
    Field,
    Value,
    Body,
}

/// llhttp's response parser (`HTTP_RESPONSE`, no lenient flags), driven byte by byte like the generated C.
pub(super) struct Parser {
    pub(super) state: St,
    pub(super) content_length: u64,
    pub(super) http_major: u8,
    pub(super) http_minor: u8,
    pub(super) header_state: u8,
    upgrade: bool,
    pub(super) finish: Finish,
    pub(super) flags: u16,
    pub(super) status_code: u16,
    span: Span,
    /// Where the open span starts in the block being executed.
    span_pos: usize,
}

pub(super) type PResult = Result<(), PErr>;

impl Parser {
    pub(super) fn new() -> Self {
        Parser {
            state: St::Start,
            content_length: 0,
            http_major: 0,
            http_minor: 0,
            header_state: HS_GENERAL,
            upgrade: false,
            finish: Finish::Safe,
            flags: 0,
            status_code: 0,
            span: Span::None,
            span_pos: 0,
        }
    }

    /// `llhttp_message_needs_eof`.
    pub(super) fn needs_eof(&self) -> bool {
        let s = self.status_code;
        if s / 100 == 1 || s == 204 || s == 304 || self.flags & F_SKIPBODY != 0 {
            return false;
        }
        if self.flags & F_TRANSFER_ENCODING != 0 && self.flags & F_CHUNKED == 0 {
            return true;
        }
        self.flags & (F_CHUNKED | F_CONTENT_LENGTH) == 0
    }

    /// `llhttp_should_keep_alive`.
    pub(super) fn should_keep_alive(&self) -> bool {
        if self.http_major > 0 && self.http_minor > 0 {
            if self.flags & F_CONNECTION_CLOSE != 0 {
                return false;
            }
        } else if self.flags & F_CONNECTION_KEEP_ALIVE == 0 {
            return false;
        }
        !self.needs_eof()
    }

    pub(super) fn open(&mut self, span: Span, at: usize) {
        self.span = span;
        self.span_pos = at;
    }

    pub(super) fn close(&mut self, data: &[u8], at: usize, resp: &mut Resp) {
        let piece = &data[self.span_pos.min(at)..at];
        match self.span {
            Span::Status => resp.on_status(piece),
            Span::Field => resp.on_header_field(piece),
            Span::Value => resp.on_header_value(piece),
            Span::Body => resp.on_body(piece),
            Span::None => {}
        }
        self.span = Span::None;
    }

    /// `llhttp_execute` on one non-empty block: on success the open span reports the piece it has so far.
    pub(super) fn execute(&mut self, data: &[u8], resp: &mut Resp) -> PResult {
        if self.span != Span::None {
            self.span_pos = 0;
        }
        self.run(data, resp)?;
        if self.span != Span::None {
            let kind = self.span;
            self.close(data, data.len(), resp);
            self.span = kind;
        }
        Ok(())
    }

    /// geventhttpclient's `on_message_complete`: the keep-alive verdict is taken before llhttp resets the flags.
    pub(super) fn message_complete(&self, resp: &mut Resp) {
        resp.on_message_complete(self.should_keep_alive());
    }

    pub(super) fn check_version(&mut self) -> PResult {
        match (self.http_major, self.http_minor) {
            (0, 9) | (1, 0) | (1, 1) | (2, 0) => {
                self.state = St::AfterVersion;
                Ok(())
            }
            _ => Err(perr(HPE_INVALID_VERSION, "Invalid HTTP version")),
        }
    }

    /// `on_header_field_complete` and the framing conflicts llhttp checks there.
    pub(super) fn field_complete(&mut self) -> PResult {
        match self.header_state {
            HS_TRANSFER_ENCODING if self.flags & F_CONTENT_LENGTH != 0 => Err(perr(
                HPE_INVALID_TRANSFER_ENCODING,
                "Transfer-Encoding can't be present with Content-Length",
            )),
            HS_CONTENT_LENGTH if self.flags & F_TRANSFER_ENCODING != 0 => Err(perr(
                HPE_INVALID_CONTENT_LENGTH,
                "Content-Length can't be present with Transfer-Encoding",
            )),
            _ => {
                self.state = St::ValueDiscardWs;
                Ok(())
            }
        }
    }

    /// `header_value_start`: the value span opens at `at`.
    pub(super) fn value_start(&mut self, at: usize) -> PResult {
        self.open(Span::Value, at);
        self.state = match self.header_state {
            HS_UPGRADE => {
                self.flags |= F_UPGRADE;
                self.header_state = HS_GENERAL;
                St::Value
            }
            HS_TRANSFER_ENCODING => {
                self.flags |= F_TRANSFER_ENCODING;
                self.flags &= !F_CHUNKED;
                St::TeChunked { k: 0 }
            }
            HS_CONTENT_LENGTH => {
                if self.flags & F_CONTENT_LENGTH != 0 {
                    return Err(perr(
                        HPE_UNEXPECTED_CONTENT_LENGTH,
                        "Duplicate Content-Length",
                    ));
                }
                St::ContentLength
            }
            HS_CONNECTION => St::Connection { word: NONE, k: 0 },
            _ => St::Value,
        };
        Ok(())
    }

    /// llhttp's `setHeaderFlags`.
    pub(super) fn set_header_flags(&mut self) {
        match self.header_state {
            HS_CONNECTION_KEEP_ALIVE => {
                self.flags |= F_CONNECTION_KEEP_ALIVE;
                self.header_state = HS_CONNECTION;
            }
            HS_CONNECTION_CLOSE => {
                self.flags |= F_CONNECTION_CLOSE;
                self.header_state = HS_CONNECTION;
            }
            HS_CONNECTION_UPGRADE => {
                self.flags |= F_CONNECTION_UPGRADE;
                self.header_state = HS_CONNECTION;
            }
            HS_TRANSFER_ENCODING_CHUNKED => self.flags |= F_CHUNKED,
            _ => {}
        }
    }

    /// The empty line after the headers: `before_headers_complete`, `on_headers_complete` (which says whether the
    /// body is skipped: HEAD), then `after_headers_complete` picks how the body is framed.
    pub(super) fn headers_completed(&mut self, at: usize, resp: &mut Resp) -> PResult {
        self.upgrade = self.flags & F_UPGRADE != 0
            && self.flags & F_CONNECTION_UPGRADE != 0
            && self.status_code == 101;
        if resp.on_headers_complete() {
            self.flags |= F_SKIPBODY;
        }
        let skip = self.flags & F_SKIPBODY != 0;
        let has_body = self.flags & F_CHUNKED != 0 || self.content_length > 0;
        if !skip && self.flags & F_CHUNKED == 0 && self.content_length > 0 {
            resp.expect_body(self.content_length);
        }
        let status = self.status_code;
        if (self.upgrade && (skip || !has_body)) || status == 101 {
            self.message_complete(resp);
            return Err(perr(HPE_PAUSED_UPGRADE, "Pause on CONNECT/Upgrade"));
        }
        let body = if status == 100 || skip || matches!(status, 102 | 103 | 204 | 304) {
            None
        } else if self.flags & F_CHUNKED != 0 {
            Some(St::ChunkSizeDigit)
        } else if self.flags & F_TRANSFER_ENCODING != 0 {
            Some(St::BodyEof)
        } else if self.flags & F_CONTENT_LENGTH == 0 {
            self.needs_eof().then_some(St::BodyEof)
        } else if self.content_length == 0 {
            None
        } else {
            Some(St::BodyIdentity)
        };
        match body {
            None => {
                self.message_complete(resp);
                self.cleanup();
            }
            Some(St::ChunkSizeDigit) => {
                self.content_length = 0;
                self.state = St::ChunkSizeDigit;
            }
            Some(St::BodyEof) => {
                self.finish = Finish::SafeWithCb;
                self.open(Span::Body, at);
                self.state = St::BodyEof;
            }
            Some(_) => {
                self.open(Span::Body, at);
                self.state = St::BodyIdentity;
            }
        }
        Ok(())
    }

    /// `message_done`: the end of a framed body or of the trailers.
    pub(super) fn message_done(&mut self, resp: &mut Resp) -> PResult {
        self.message_complete(resp);
        if self.upgrade {
            return Err(perr(HPE_PAUSED_UPGRADE, "Pause on CONNECT/Upgrade"));
        }
        self.cleanup();
        Ok(())
    }

    /// `cleanup`, `after_message_complete`, then `restart` (keep-alive) or `closed`.
    fn cleanup(&mut self) {
        let keep_alive = self.should_keep_alive();
        self.finish = Finish::Safe;
        self.flags = 0;
        if keep_alive {
            self.content_length = 0;
            self.state = St::Start;
        } else {
            self.state = St::Closed;
        }
    }
}
