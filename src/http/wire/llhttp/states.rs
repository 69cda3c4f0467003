//! The llhttp nodes that wait for input ([`St`]) and the byte loop that runs them (`Parser::run`, what the
//! generated C's `llhttp__internal_execute` does): the status line, header names and values with the special
//! ones (`Content-Length`, `Transfer-Encoding`, `Connection`), chunk sizes, extensions and data, identity and
//! until-EOF bodies, and the `closed` state after a message without keep-alive.
//!
//! Who calls it: `Parser::execute` (in `parser`), once per block. Must not: allocate, run the steps that take no
//! input itself (they are `parser`'s), or differ from llhttp 9.4.2 in an error text, an `HPE_*` code, the byte an
//! error is raised at or where a span piece ends.
use super::Resp;
use super::parser::Parser;
use super::tables::{
    C_CONN_TOKEN, C_HEADER, C_QDTEXT, C_TOKEN, CONNECTION_WORDS, F_CONTENT_LENGTH, F_TRAILING,
    Finish, HPE_CLOSED_CONNECTION, HPE_CR_EXPECTED, HPE_INVALID_CHUNK_SIZE, HPE_INVALID_CONSTANT,
    HPE_INVALID_CONTENT_LENGTH, HPE_INVALID_HEADER_TOKEN, HPE_INVALID_STATUS, HPE_INVALID_VERSION,
    HPE_LF_EXPECTED, HPE_STRICT, HPE_UNEXPECTED_SPACE, HS_CONTENT_LENGTH, HS_GENERAL,
    HS_TRANSFER_ENCODING_CHUNKED, NONE, PROTOCOLS, PResult, SPECIAL_HEADERS, Span, St, hex_value,
    is, perr,
};

impl Parser {
    pub(super) fn run(&mut self, data: &[u8], resp: &mut Resp) -> PResult {
        let n = data.len();
        let mut p = 0usize;
        while p < n {
            let c = data[p];
            match self.state {
                St::Start => {
                    if c == b'\r' || c == b'\n' {
                        p += 1;
                    } else {
                        // `on_reset` (no callback), `after_start`, `on_message_begin`, `start_res`
                        self.finish = Finish::Unsafe;
                        resp.on_message_begin();
                        self.state = St::Proto { word: NONE, k: 0 };
                    }
                }
                St::Proto { word, k } => {
                    let word = if word == NONE {
                        match PROTOCOLS.iter().position(|w| w[0] == c) {
                            Some(i) => i as u8,
                            None => {
                                return Err(perr(
                                    HPE_INVALID_CONSTANT,
                                    "Expected HTTP/, RTSP/ or ICE/",
                                ));
                            }
                        }
                    } else if PROTOCOLS[word as usize][k as usize] == c {
                        word
                    } else {
                        return Err(perr(HPE_INVALID_CONSTANT, "Expected HTTP/, RTSP/ or ICE/"));
                    };
                    p += 1;
                    let k = k + 1;
                    self.state = if usize::from(k) == PROTOCOLS[word as usize].len() {
                        St::ProtoSlash
                    } else {
                        St::Proto { word, k }
                    };
                }
                St::ProtoSlash => {
                    if c != b'/' {
                        return Err(perr(HPE_INVALID_CONSTANT, "Expected HTTP/, RTSP/ or ICE/"));
                    }
                    p += 1;
                    self.state = St::Major;
                }
                St::Major => {
                    if !c.is_ascii_digit() {
                        return Err(perr(HPE_INVALID_VERSION, "Invalid major version"));
                    }
                    self.http_major = c - b'0';
                    p += 1;
                    self.state = St::Dot;
                }
                St::Dot => {
                    if c != b'.' {
                        return Err(perr(HPE_INVALID_VERSION, "Expected dot"));
                    }
                    p += 1;
                    self.state = St::Minor;
                }
                St::Minor => {
                    if !c.is_ascii_digit() {
                        return Err(perr(HPE_INVALID_VERSION, "Invalid minor version"));
                    }
                    self.http_minor = c - b'0';
                    p += 1;
                    self.check_version()?;
                }
                St::AfterVersion => {
                    if c != b' ' {
                        return Err(perr(HPE_INVALID_VERSION, "Expected space after version"));
                    }
                    p += 1;
                    self.status_code = 0;
                    self.state = St::StatusDigit(0);
                }
                St::StatusDigit(i) => {
                    if !c.is_ascii_digit() {
                        return Err(perr(HPE_INVALID_STATUS, "Invalid status code"));
                    }
                    self.status_code = self.status_code * 10 + u16::from(c - b'0');
                    p += 1;
                    self.state = if i == 2 {
                        St::StatusOtherwise
                    } else {
                        St::StatusDigit(i + 1)
                    };
                }
                St::StatusOtherwise => match c {
                    b' ' => {
                        p += 1;
                        self.open(Span::Status, p);
                        self.state = St::Status;
                    }
                    b'\r' => {
                        p += 1;
                        self.state = St::LineAlmostDone;
                    }
                    _ => return Err(perr(HPE_INVALID_STATUS, "Invalid response status")),
                },
                St::Status => match data[p..].iter().position(|&b| b == b'\r' || b == b'\n') {
                    None => p = n,
                    Some(i) => {
                        let at = p + i;
                        self.close(data, at, resp);
                        p = at + 1;
                        if data[at] == b'\n' {
                            return Err(perr(
                                HPE_CR_EXPECTED,
                                "Missing expected CR after response line",
                            ));
                        }
                        self.state = St::LineAlmostDone;
                    }
                },
                St::LineAlmostDone => {
                    if c != b'\n' {
                        return Err(perr(HPE_STRICT, "Expected LF after CR"));
                    }
                    p += 1;
                    self.state = St::HeadersStart;
                }
                St::HeadersStart => {
                    if c == b' ' {
                        return Err(perr(
                            HPE_UNEXPECTED_SPACE,
                            "Unexpected space after start line",
                        ));
                    }
                    self.state = St::FieldStart;
                }
                St::FieldStart => match c {
                    b'\r' => {
                        p += 1;
                        self.state = St::HeadersAlmostDone;
                    }
                    b'\n' => {
                        return Err(perr(HPE_INVALID_HEADER_TOKEN, "Invalid header field char"));
                    }
                    b':' => return Err(perr(HPE_INVALID_HEADER_TOKEN, "Invalid header token")),
                    _ => {
                        self.open(Span::Field, p);
                        self.state = St::Field {
                            k: 0,
                            cand: 0b11111,
                        };
                    }
                },
                St::Field { k, cand } => {
                    let lc = c.to_ascii_lowercase();
                    let mut next = 0u8;
                    let mut selected = None;
                    for (i, (name, hs)) in SPECIAL_HEADERS.iter().enumerate() {
                        if cand & (1 << i) != 0 && name.get(k as usize) == Some(&lc) {
                            next |= 1 << i;
                            if name.len() == usize::from(k) + 1 {
                                selected = Some(*hs);
                            }
                        }
                    }
                    if next == 0 {
                        self.header_state = HS_GENERAL;
                        self.state = St::FieldGeneral;
                    } else {
                        p += 1;
                        self.state = match selected {
                            Some(hs) => {
                                self.header_state = hs;
                                St::FieldColon
                            }
                            None => St::Field {
                                k: k + 1,
                                cand: next,
                            },
                        };
                    }
                }
                St::FieldColon => match c {
                    b' ' => {
                        self.close(data, p, resp);
                        return Err(perr(HPE_INVALID_HEADER_TOKEN, "Invalid header field char"));
                    }
                    b':' => {
                        self.close(data, p, resp);
                        p += 1;
                        self.field_complete()?;
                    }
                    _ => {
                        self.header_state = HS_GENERAL;
                        self.state = St::FieldGeneral;
                    }
                },
                St::FieldGeneral => {
                    while p < n && is(data[p], C_TOKEN) {
                        p += 1;
                    }
                    if p < n {
                        if data[p] != b':' {
                            return Err(perr(HPE_INVALID_HEADER_TOKEN, "Invalid header token"));
                        }
                        self.close(data, p, resp);
                        p += 1;
                        self.field_complete()?;
                    }
                }
                St::ValueDiscardWs => match c {
                    b' ' | b'\t' => p += 1,
                    b'\r' => {
                        p += 1;
                        self.state = St::ValueDiscardWsAlmostDone;
                    }
                    b'\n' => {
                        return Err(perr(HPE_INVALID_HEADER_TOKEN, "Invalid header value char"));
                    }
                    _ => self.value_start(p)?,
                },
                St::ValueDiscardWsAlmostDone => {
                    if c != b'\n' {
                        return Err(perr(HPE_STRICT, "Expected LF after CR"));
                    }
                    p += 1;
                    self.state = St::ValueDiscardLws;
                }
                St::ValueDiscardLws => {
                    if c == b' ' || c == b'\t' {
                        return Err(perr(HPE_INVALID_HEADER_TOKEN, "Invalid header value char"));
                    }
                    if self.header_state == HS_CONTENT_LENGTH {
                        return Err(perr(HPE_INVALID_CONTENT_LENGTH, "Empty Content-Length"));
                    }
                    self.set_header_flags();
                    resp.on_header_value(&[]);
                    self.state = St::FieldStart;
                }
                St::TeChunked { k } => {
                    if c | 0x20 == b"chunked"[k as usize] {
                        p += 1;
                        self.state = if k == 6 {
                            St::TeChunkedLast
                        } else {
                            St::TeChunked { k: k + 1 }
                        };
                    } else {
                        self.state = St::TeToken;
                    }
                }
                St::TeChunkedLast => match c {
                    b' ' => p += 1,
                    b'\r' | b'\n' => {
                        self.header_state = HS_TRANSFER_ENCODING_CHUNKED;
                        self.state = St::ValueOtherwise;
                    }
                    b',' => self.state = St::TeChunked { k: 0 },
                    _ => self.state = St::TeToken,
                },
                St::TeToken => {
                    if c == b',' {
                        p += 1;
                        self.state = St::TeTokenOws;
                    } else if is(c, C_CONN_TOKEN) {
                        p += 1;
                    } else {
                        self.header_state = HS_GENERAL;
                        self.state = St::Value;
                    }
                }
                St::TeTokenOws => {
                    if c == b' ' || c == b'\t' {
                        p += 1;
                    } else {
                        self.state = St::TeChunked { k: 0 };
                    }
                }
                St::ContentLength => {
                    if c.is_ascii_digit() {
                        p += 1;
                        match self
                            .content_length
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(u64::from(c - b'0')))
                        {
                            Some(v) => self.content_length = v,
                            None => {
                                self.close(data, p, resp);
                                return Err(perr(
                                    HPE_INVALID_CONTENT_LENGTH,
                                    "Content-Length overflow",
                                ));
                            }
                        }
                    } else {
                        self.state = St::ContentLengthWs;
                    }
                }
                St::ContentLengthWs => match c {
                    b' ' | b'\t' => p += 1,
                    b'\r' | b'\n' => {
                        self.flags |= F_CONTENT_LENGTH;
                        self.state = St::ValueOtherwise;
                    }
                    _ => {
                        self.close(data, p, resp);
                        return Err(perr(
                            HPE_INVALID_CONTENT_LENGTH,
                            "Invalid character in Content-Length",
                        ));
                    }
                },
                St::Connection { word, k } => {
                    let lc = c.to_ascii_lowercase();
                    if word == NONE {
                        if c == b' ' || c == b'\t' {
                            p += 1;
                        } else if let Some(i) =
                            CONNECTION_WORDS.iter().position(|(w, _)| w[0] == lc)
                        {
                            p += 1;
                            self.state = St::Connection {
                                word: i as u8,
                                k: 1,
                            };
                        } else {
                            self.state = St::ConnectionToken;
                        }
                    } else {
                        let (w, hs) = CONNECTION_WORDS[word as usize];
                        if w[k as usize] == lc {
                            p += 1;
                            if usize::from(k) + 1 == w.len() {
                                self.header_state = hs;
                                self.state = St::ConnectionWs;
                            } else {
                                self.state = St::Connection { word, k: k + 1 };
                            }
                        } else {
                            self.state = St::ConnectionToken;
                        }
                    }
                }
                St::ConnectionWs => match c {
                    b',' => {
                        p += 1;
                        self.set_header_flags();
                        self.state = St::Connection { word: NONE, k: 0 };
                    }
                    b' ' | b'\t' => p += 1,
                    b'\r' | b'\n' => self.state = St::ValueOtherwise,
                    _ => {
                        self.header_state = HS_GENERAL;
                        self.state = St::ConnectionToken;
                    }
                },
                St::ConnectionToken => {
                    if c == b',' {
                        p += 1;
                        self.state = St::Connection { word: NONE, k: 0 };
                    } else if is(c, C_CONN_TOKEN) {
                        p += 1;
                    } else {
                        self.state = St::ValueOtherwise;
                    }
                }
                St::Value => {
                    while p < n && is(data[p], C_HEADER) {
                        p += 1;
                    }
                    if p < n {
                        self.state = St::ValueOtherwise;
                    }
                }
                St::ValueOtherwise => match c {
                    b'\r' => {
                        self.close(data, p, resp);
                        p += 1;
                        self.state = St::ValueAlmostDone;
                    }
                    b'\n' => {
                        self.close(data, p, resp);
                        return Err(perr(
                            HPE_CR_EXPECTED,
                            "Missing expected CR after header value",
                        ));
                    }
                    _ => {
                        self.close(data, p, resp);
                        return Err(perr(HPE_INVALID_HEADER_TOKEN, "Invalid header value char"));
                    }
                },
                St::ValueAlmostDone => {
                    if c != b'\n' {
                        return Err(perr(
                            HPE_LF_EXPECTED,
                            "Missing expected LF after header value",
                        ));
                    }
                    p += 1;
                    self.state = St::ValueLws;
                }
                St::ValueLws => {
                    if c == b' ' || c == b'\t' {
                        return Err(perr(
                            HPE_INVALID_HEADER_TOKEN,
                            "Unexpected whitespace after header value",
                        ));
                    }
                    self.set_header_flags();
                    self.state = St::FieldStart;
                }
                St::HeadersAlmostDone => {
                    if c != b'\n' {
                        return Err(perr(HPE_STRICT, "Expected LF after headers"));
                    }
                    p += 1;
                    if self.flags & F_TRAILING != 0 {
                        self.message_done(resp)?;
                    } else {
                        self.headers_completed(p, resp)?;
                    }
                }
                St::ChunkSizeDigit => match hex_value(c) {
                    Some(v) => {
                        p += 1;
                        self.content_length = v;
                        self.state = St::ChunkSize;
                    }
                    None => {
                        return Err(perr(
                            HPE_INVALID_CHUNK_SIZE,
                            "Invalid character in chunk size",
                        ));
                    }
                },
                St::ChunkSize => match hex_value(c) {
                    Some(v) => {
                        p += 1;
                        match self
                            .content_length
                            .checked_mul(16)
                            .and_then(|x| x.checked_add(v))
                        {
                            Some(x) => self.content_length = x,
                            None => {
                                return Err(perr(HPE_INVALID_CHUNK_SIZE, "Chunk size overflow"));
                            }
                        }
                    }
                    None => self.state = St::ChunkSizeOtherwise,
                },
                St::ChunkSizeOtherwise => match c {
                    b'\r' => {
                        p += 1;
                        self.state = St::ChunkSizeAlmostDone;
                    }
                    b'\n' => {
                        return Err(perr(
                            HPE_CR_EXPECTED,
                            "Missing expected CR after chunk size",
                        ));
                    }
                    b';' => {
                        p += 1;
                        self.state = St::ChunkExtensions;
                    }
                    _ => {
                        return Err(perr(
                            HPE_INVALID_CHUNK_SIZE,
                            "Invalid character in chunk size",
                        ));
                    }
                },
                St::ChunkExtensions => {
                    if c == b' ' || c == b'\r' {
                        return Err(perr(HPE_STRICT, "Invalid character in chunk extensions"));
                    }
                    self.state = St::ChunkExtName;
                }
                St::ChunkExtName => match c {
                    b'=' => {
                        p += 1;
                        self.state = St::ChunkExtValue;
                    }
                    b';' => {
                        p += 1;
                        self.state = St::ChunkExtensions;
                    }
                    b'\r' => {
                        p += 1;
                        self.state = St::ChunkSizeAlmostDone;
                    }
                    b'\n' => {
                        return Err(perr(
                            HPE_CR_EXPECTED,
                            "Missing expected CR after chunk extension name",
                        ));
                    }
                    _ if is(c, C_TOKEN) => p += 1,
                    _ => {
                        return Err(perr(
                            HPE_STRICT,
                            "Invalid character in chunk extensions name",
                        ));
                    }
                },
                St::ChunkExtValue => match c {
                    b'"' => {
                        p += 1;
                        self.state = St::ChunkExtQuoted;
                    }
                    b';' => {
                        p += 1;
                        self.state = St::ChunkExtensions;
                    }
                    b'\r' => {
                        p += 1;
                        self.state = St::ChunkSizeAlmostDone;
                    }
                    b'\n' => {
                        return Err(perr(
                            HPE_CR_EXPECTED,
                            "Missing expected CR after chunk extension value",
                        ));
                    }
                    _ if is(c, C_TOKEN) => p += 1,
                    _ => {
                        return Err(perr(
                            HPE_STRICT,
                            "Invalid character in chunk extensions value",
                        ));
                    }
                },
                St::ChunkExtQuoted => match c {
                    b'"' => {
                        p += 1;
                        self.state = St::ChunkExtQuotedDone;
                    }
                    b'\\' => {
                        p += 1;
                        self.state = St::ChunkExtQuotedPair;
                    }
                    _ if is(c, C_QDTEXT) => p += 1,
                    _ => {
                        return Err(perr(
                            HPE_STRICT,
                            "Invalid character in chunk extensions quoted value",
                        ));
                    }
                },
                St::ChunkExtQuotedPair => {
                    if !is(c, C_HEADER) {
                        return Err(perr(
                            HPE_STRICT,
                            "Invalid quoted-pair in chunk extensions quoted value",
                        ));
                    }
                    p += 1;
                    self.state = St::ChunkExtQuoted;
                }
                St::ChunkExtQuotedDone => match c {
                    b';' => {
                        p += 1;
                        self.state = St::ChunkExtensions;
                    }
                    b'\r' => {
                        p += 1;
                        self.state = St::ChunkSizeAlmostDone;
                    }
                    b'\n' => {
                        return Err(perr(
                            HPE_CR_EXPECTED,
                            "Missing expected CR after chunk extension value",
                        ));
                    }
                    _ => {
                        return Err(perr(
                            HPE_STRICT,
                            "Invalid character in chunk extensions quote value",
                        ));
                    }
                },
                St::ChunkSizeAlmostDone => {
                    if c != b'\n' {
                        return Err(perr(HPE_STRICT, "Expected LF after chunk size"));
                    }
                    p += 1;
                    if self.content_length == 0 {
                        self.flags |= F_TRAILING;
                        self.state = St::FieldStart;
                    } else {
                        self.open(Span::Body, p);
                        self.state = St::ChunkData;
                    }
                }
                St::ChunkData | St::BodyIdentity => {
                    let take =
                        (n - p).min(usize::try_from(self.content_length).unwrap_or(usize::MAX));
                    p += take;
                    self.content_length -= take as u64;
                    if self.content_length == 0 {
                        self.close(data, p, resp);
                        if self.state == St::ChunkData {
                            self.state = St::ChunkDataAlmostDone { cr: false };
                        } else {
                            self.message_done(resp)?;
                        }
                    }
                }
                St::ChunkDataAlmostDone { cr } => match (cr, c) {
                    (false, b'\r') => {
                        p += 1;
                        self.state = St::ChunkDataAlmostDone { cr: true };
                    }
                    (true, b'\n') => {
                        // `on_chunk_complete` (no callback), then the next chunk size
                        p += 1;
                        self.content_length = 0;
                        self.state = St::ChunkSizeDigit;
                    }
                    (false, b'\n') => {
                        return Err(perr(
                            HPE_CR_EXPECTED,
                            "Missing expected CR after chunk data",
                        ));
                    }
                    _ => return Err(perr(HPE_STRICT, "Expected LF after chunk data")),
                },
                St::BodyEof => p = n,
                St::Closed => {
                    if c != b'\r' && c != b'\n' {
                        return Err(perr(
                            HPE_CLOSED_CONNECTION,
                            "Data after `Connection: close`",
                        ));
                    }
                    p += 1;
                }
            }
        }
        Ok(())
    }
}
