//! llhttp's data, shared by the parser's two halves: the error numbers, flags and header states of `llhttp.h`,
//! the special header names and `Connection` tokens, the character classes of `constants.ts`, an error's form
//! ([`PErr`]), the states a parser can be in ([`St`]: the nodes that wait for input) and what `llhttp_finish` does
//! in each ([`Finish`]).
//!
//! Who calls it: `parser` (the nodes that run at once) and `states` (the byte loop); the reader in `mod.rs` for
//! [`PErr`] and the EOF error's number. A leaf: it imports nothing, so the two halves need not import each other's
//! data. Must not: hold code that runs the machine, or differ from llhttp 9.4.2 in a number or a table.

// llhttp's error numbers (`llhttp_errno_t`) that a response can produce.
pub(super) const HPE_STRICT: u8 = 2;
pub(super) const HPE_LF_EXPECTED: u8 = 3;
pub(super) const HPE_UNEXPECTED_CONTENT_LENGTH: u8 = 4;
pub(super) const HPE_CLOSED_CONNECTION: u8 = 5;
pub(super) const HPE_INVALID_CONSTANT: u8 = 8;
pub(super) const HPE_INVALID_VERSION: u8 = 9;
pub(super) const HPE_INVALID_HEADER_TOKEN: u8 = 10;
pub(super) const HPE_INVALID_CONTENT_LENGTH: u8 = 11;
pub(super) const HPE_INVALID_CHUNK_SIZE: u8 = 12;
pub(super) const HPE_INVALID_STATUS: u8 = 13;
pub(super) const HPE_INVALID_EOF_STATE: u8 = 14;
pub(super) const HPE_INVALID_TRANSFER_ENCODING: u8 = 15;
pub(super) const HPE_PAUSED_UPGRADE: u8 = 22;
pub(super) const HPE_CR_EXPECTED: u8 = 25;
pub(super) const HPE_UNEXPECTED_SPACE: u8 = 30;

// llhttp's `flags`.
pub(super) const F_CONNECTION_KEEP_ALIVE: u16 = 1 << 0;
pub(super) const F_CONNECTION_CLOSE: u16 = 1 << 1;
pub(super) const F_CONNECTION_UPGRADE: u16 = 1 << 2;
pub(super) const F_CHUNKED: u16 = 1 << 3;
pub(super) const F_UPGRADE: u16 = 1 << 4;
pub(super) const F_CONTENT_LENGTH: u16 = 1 << 5;
pub(super) const F_SKIPBODY: u16 = 1 << 6;
pub(super) const F_TRAILING: u16 = 1 << 7;
pub(super) const F_TRANSFER_ENCODING: u16 = 1 << 9;

// llhttp's `header_state`.
pub(super) const HS_GENERAL: u8 = 0;
pub(super) const HS_CONNECTION: u8 = 1;
pub(super) const HS_CONTENT_LENGTH: u8 = 2;
pub(super) const HS_TRANSFER_ENCODING: u8 = 3;
pub(super) const HS_UPGRADE: u8 = 4;
pub(super) const HS_CONNECTION_KEEP_ALIVE: u8 = 5;
pub(super) const HS_CONNECTION_CLOSE: u8 = 6;
pub(super) const HS_CONNECTION_UPGRADE: u8 = 7;
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

pub(super) const CLASS: [u8; 256] = {
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

pub(super) type PResult = Result<(), PErr>;

/// The llhttp nodes that wait for input (the others run at once and are methods of `Parser`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum St {
    Start,
    /// `res_after_start`: matching `HTTP`, `RTSP` or `ICE` (`word` is NONE before the first byte).
    Proto {
        word: u8,
        k: u8,
    },
    ProtoSlash,
    Major,
    Dot,
    Minor,
    AfterVersion,
    StatusDigit(u8),
    StatusOtherwise,
    /// The reason phrase (status span open).
    Status,
    LineAlmostDone,
    HeadersStart,
    FieldStart,
    /// `header_field`: matching the special header names (`cand`: bit set of the candidates in SPECIAL_HEADERS).
    Field {
        k: u8,
        cand: u8,
    },
    FieldColon,
    FieldGeneral,
    ValueDiscardWs,
    ValueDiscardWsAlmostDone,
    ValueDiscardLws,
    TeChunked {
        k: u8,
    },
    TeChunkedLast,
    TeToken,
    TeTokenOws,
    ContentLength,
    ContentLengthWs,
    Connection {
        word: u8,
        k: u8,
    },
    ConnectionWs,
    ConnectionToken,
    Value,
    ValueOtherwise,
    ValueAlmostDone,
    ValueLws,
    HeadersAlmostDone,
    ChunkSizeDigit,
    ChunkSize,
    ChunkSizeOtherwise,
    ChunkExtensions,
    ChunkExtName,
    ChunkExtValue,
    ChunkExtQuoted,
    ChunkExtQuotedPair,
    ChunkExtQuotedDone,
    ChunkSizeAlmostDone,
    ChunkData,
    ChunkDataAlmostDone {
        cr: bool,
    },
    BodyIdentity,
    BodyEof,
    Closed,
}
