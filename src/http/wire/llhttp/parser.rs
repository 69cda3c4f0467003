//! llhttp's response parser and the nodes that run at once: [`Parser`]'s fields (its data, the numbers and classes
//! it compares with, are in `tables`), and the steps that take no input
//! (the version check, the end of a header name with the framing conflicts llhttp checks there, `setHeaderFlags`,
//! the body framing chosen after the headers, `message_done`, `cleanup`), with `llhttp_execute`'s reporting of
//! the open span, `llhttp_should_keep_alive` and `llhttp_message_needs_eof`.
//!
//! Who calls it: [`LlReader`](super::LlReader) (one parser per response: `execute` per block, the EOF decisions)
//! and the byte loop in `states`. Must not: allocate, keep what the callbacks report (that is [`Resp`]'s job), or
//! differ from llhttp 9.4.2 in an error text, an `HPE_*` code or the order of the callbacks.
use super::Resp;
use super::tables::{
    F_CHUNKED, F_CONNECTION_CLOSE, F_CONNECTION_KEEP_ALIVE, F_CONNECTION_UPGRADE, F_CONTENT_LENGTH,
    F_SKIPBODY, F_TRANSFER_ENCODING, F_UPGRADE, Finish, HPE_INVALID_CONTENT_LENGTH,
    HPE_INVALID_TRANSFER_ENCODING, HPE_INVALID_VERSION, HPE_PAUSED_UPGRADE,
    HPE_UNEXPECTED_CONTENT_LENGTH, HS_CONNECTION, HS_CONNECTION_CLOSE, HS_CONNECTION_KEEP_ALIVE,
    HS_CONNECTION_UPGRADE, HS_CONTENT_LENGTH, HS_GENERAL, HS_TRANSFER_ENCODING,
    HS_TRANSFER_ENCODING_CHUNKED, HS_UPGRADE, NONE, PResult, Span, St, perr,
};

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
