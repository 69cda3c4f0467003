//! The body of an HttpUser response, framed as http.client and urllib3 frame it together: a Content-Length
//! body (http.client stops at its length; urllib3 checks its own only when a read comes back empty), a body
//! read to the close, and urllib3's own chunk parser (`int(line, 16)`, the 2 bytes after a chunk unchecked,
//! trailers until `\r\n` or EOF), all in requests' reads of 10240 bytes so the decoders get the pieces and
//! length limits they get under Python. Owns the body's state (`BodySt`, `Plain`, `Chunked`) and the
//! `Framing` decided from the head.
//!
//! Who calls it: the state machine in `mod.rs` (`PyReader::read_body`, in the body phase, at every feed and at
//! EOF); `head` builds the `Framing`.
//!
//! What it must not do: decide the framing (that is `head`), decode content itself (that is `decode`; this file
//! calls the decoders with urllib3's sizes), or let the body, raw or decoded, pass `Limits::max_body`.
use super::PyReader;
use super::decode::{Dec, ZErr};
use super::errors::{
    broken, chunked_error, exc_val, hc_incomplete, in_body, internal, protocol_error, trunc200,
    value_error,
};
use super::pyint::{ChunkSize, PyInt, py_int16};
use crate::http::wire::exc::{PyExc, PyVal, py_bytes_repr};
use crate::http::wire::{Dialect, hold};
use bytes::{Buf, BytesMut};

/// How the urllib3 response in `InvalidChunkLength.args` shows (its address masked as Locust masks them).
const U3_RESPONSE: &str = "<urllib3.response.HTTPResponse object at 0x....>";
/// requests' `CONTENT_CHUNK_SIZE`: `response.content` streams the body in reads of this size.
const PIECE: usize = 10 * 1024;

/// What the body reader does next.
pub(super) enum BodySt {
    /// Not started: the decoder is set up (or fails) at the first read, as urllib3's `_init_decoder`.
    Start,
    Plain(Plain),
    Chunked(Chunked),
}

impl PyReader {
    /// Reads the body; `Some(clean)` when it is complete (clean: ended by its framing, not by the close).
    pub(super) fn read_body(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<bool>, PyExc> {
        if let BodySt::Start = self.body_st {
            let Some(fr) = self.fr.as_mut() else {
                return Err(internal("no head"));
            };
            let dec = match fr.decoder.take() {
                Some(Ok(d)) => d,
                Some(Err(e)) => return Err(e),
                None => None,
            };
            if fr.u3_chunked {
                if self.is_head {
                    return Ok(Some(true));
                }
                // urllib3 ignores Content-Length then; its expected length is 0 only for the bodiless statuses
                let expected = fr.u3_len.is_some();
                self.body_st = BodySt::Chunked(Chunked {
                    st: CSt::Size,
                    dec,
                    piece: Vec::new(),
                    piece_start: 0,
                    expected_zero: expected,
                });
            } else {
                if let Some(n) = fr.hc_left {
                    // exactly (up to 1 MiB: a length is the peer's claim): a buffer as large as its content
                    // becomes the `Bytes` of the body as it is, where a larger one takes a shared header more
                    let n = n.min(self.ctx.limits.max_body as u64).min(1 << 20) as usize;
                    if self.body.capacity() == 0 {
                        self.body = BytesMut::with_capacity(n);
                    } else {
                        self.body.reserve(n);
                    }
                }
                self.body_st = BodySt::Plain(Plain {
                    hc_left: fr.hc_left,
                    hc_closed: false,
                    read: 0,
                    u3_len: fr.u3_len.take(),
                    clean: false,
                    dec: dec.map(|dec| PlainDec {
                        dec,
                        buffered: 0,
                        stage: PStage::Top,
                        piece: Vec::new(),
                    }),
                });
            }
        }
        match std::mem::replace(&mut self.body_st, BodySt::Start) {
            BodySt::Plain(mut p) => {
                let r = if p.dec.is_some() {
                    self.plain_decoded(&mut p, buf, eof)
                } else {
                    self.plain(&mut p, buf, eof)
                };
                self.body_st = BodySt::Plain(p);
                r
            }
            BodySt::Chunked(mut c) => {
                let r = self.chunked(&mut c, buf, eof);
                self.body_st = BodySt::Chunked(c);
                r
            }
            BodySt::Start => Err(internal("no body reader")),
        }
    }

    fn take_raw(&mut self, n: usize) -> Result<(), PyExc> {
        self.raw_total = self.raw_total.saturating_add(n);
        if self.raw_total > self.max_body() {
            Err(self.too_large())
        } else {
            Ok(())
        }
    }

    fn push_body(&mut self, data: &[u8]) -> Result<(), PyExc> {
        let len = self.body.len().saturating_add(data.len());
        if len > self.max_body() {
            return Err(self.too_large());
        }
        if self.charge.cover(len).is_err() {
            return Err(hold::over_budget(Dialect::Requests));
        }
        // doubling up to hold::GROW_LIMIT, then the rest of the cap at once (no copy at the cap)
        let cap = self.max_body();
        hold::extend_bytes(&mut self.body, data, cap);
        Ok(())
    }

    /// A non-chunked body without content decoding: urllib3's stream loop reduces to "read until http.client's
    /// length is reached, or until the close (then check urllib3's length)".
    fn plain(
        &mut self,
        p: &mut Plain,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<bool>, PyExc> {
        loop {
            if self.is_head || p.hc_left == Some(0) {
                // http.client's read returns b"" at once and closes; urllib3 checks its length
                p.u3_check()?;
                return Ok(Some(true));
            }
            if !buf.is_empty() {
                let n = match p.hc_left {
                    Some(left) => buf.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
                    None => buf.len(),
                };
                self.take_raw(n)?;
                self.push_body(&buf[..n])?;
                buf.advance(n);
                p.read = p.read.saturating_add(n as u64);
                if let Some(left) = p.hc_left.as_mut() {
                    *left -= n as u64;
                    if *left == 0 {
                        return Ok(Some(true));
                    }
                }
                continue;
            }
            if eof {
                p.u3_check()?;
                return Ok(Some(false));
            }
            return Ok(None);
        }
    }

    /// `_raw_read(10240)`: `Some(data)` (empty at the end), `None` when more bytes are needed.
    fn raw_read(
        &mut self,
        p: &mut Plain,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Vec<u8>>, PyExc> {
        let Some(pd) = p.dec.as_mut() else {
            return Err(internal("no decoder"));
        };
        let data = if p.hc_closed {
            Vec::new()
        } else if self.is_head || p.hc_left == Some(0) {
            // http.client returns b"" and closes: the body ended by its framing
            p.hc_closed = true;
            p.clean = true;
            Vec::new()
        } else {
            let need = match p.hc_left {
                Some(left) => usize::try_from(left).unwrap_or(usize::MAX).min(PIECE),
                None => PIECE,
            };
            let n = (need - pd.piece.len()).min(buf.len());
            if n > 0 {
                self.raw_total = self.raw_total.saturating_add(n);
                if self.raw_total > self.ctx.limits.max_body {
                    return Err(self.too_large());
                }
                pd.piece.extend_from_slice(&buf[..n]);
                buf.advance(n);
            }
            if pd.piece.len() < need && !eof {
                return Ok(None);
            }
            let data = std::mem::take(&mut pd.piece);
            if data.is_empty() {
                p.hc_closed = true;
            } else if let Some(left) = p.hc_left.as_mut() {
                *left -= data.len() as u64;
                if *left == 0 {
                    p.hc_closed = true;
                    p.clean = true;
                }
            }
            data
        };
        if data.is_empty() {
            p.hc_closed = true;
            p.u3_check()?;
        } else {
            p.read = p.read.saturating_add(data.len() as u64);
        }
        Ok(Some(data))
    }

    /// A non-chunked body with content decoding: urllib3's `stream(10240)` loop over `read(amt=10240)`, step
    /// by step, so the decoders see the same pieces and length limits as under Python.
    fn plain_decoded(
        &mut self,
        p: &mut Plain,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<bool>, PyExc> {
        let mut idle = 0usize;
        let mut seen = (usize::MAX, 0, 0);
        loop {
            // never loop without consuming input, producing output or handing out buffered output
            let now = (
                buf.len(),
                self.body.len(),
                p.dec.as_ref().map_or(0, |d| d.buffered),
            );
            if seen == now {
                idle += 1;
                if idle > 64 {
                    return Err(internal("the decoder made no progress"));
                }
            } else {
                idle = 0;
                seen = now;
            }
            let Some(pd) = p.dec.as_mut() else {
                return Err(internal("no decoder"));
            };
            match pd.stage {
                PStage::Top => {
                    if p.hc_closed && pd.buffered == 0 && !pd.dec.has_tail() {
                        return Ok(Some(p.clean));
                    }
                    if pd.dec.has_tail() && pd.buffered < PIECE {
                        let max = (PIECE - pd.buffered) as isize;
                        let out = self.decode_in(p, &[], max)?;
                        self.push_decoded(p, &out)?;
                    }
                    let Some(pd) = p.dec.as_mut() else {
                        return Err(internal("no decoder"));
                    };
                    if pd.buffered >= PIECE {
                        pd.buffered -= PIECE;
                        continue;
                    }
                    pd.stage = PStage::First;
                }
                PStage::First => {
                    let Some(data) = self.raw_read(p, buf, eof)? else {
                        return Ok(None);
                    };
                    let Some(pd) = p.dec.as_mut() else {
                        return Err(internal("no decoder"));
                    };
                    if data.is_empty() {
                        if pd.buffered == 0 && !pd.dec.has_tail() {
                            pd.stage = PStage::Top;
                            continue;
                        }
                        // flush_decoder: an unlimited decode, then `decompress(b"") + flush()`
                        let out = self.decode_in(p, &[], -1)?;
                        self.push_decoded(p, &out)?;
                        let out = self.decode_in(p, &[], -1)?;
                        self.push_decoded(p, &out)?;
                        let out = self.flush_in(p)?;
                        self.push_decoded(p, &out)?;
                        p.take_piece();
                    } else {
                        let max = (PIECE - pd.buffered) as isize;
                        let out = self.decode_in(p, &data, max)?;
                        self.push_decoded(p, &out)?;
                        if let Some(pd) = p.dec.as_mut() {
                            pd.stage = PStage::Inner;
                        }
                    }
                }
                PStage::Inner => {
                    if pd.buffered >= PIECE {
                        p.take_piece();
                        continue;
                    }
                    let Some(data) = self.raw_read(p, buf, eof)? else {
                        return Ok(None);
                    };
                    let Some(pd) = p.dec.as_mut() else {
                        return Err(internal("no decoder"));
                    };
                    let max = (PIECE - pd.buffered) as isize;
                    let out = self.decode_in(p, &data, max)?;
                    self.push_decoded(p, &out)?;
                    if data.is_empty() {
                        p.take_piece();
                    }
                }
            }
        }
    }

    fn decode_in(&mut self, p: &mut Plain, data: &[u8], max: isize) -> Result<Vec<u8>, PyExc> {
        let Some(pd) = p.dec.as_mut() else {
            return Err(internal("no decoder"));
        };
        let r = pd.dec.decompress(data, max);
        self.decoded(r)
    }

    fn flush_in(&mut self, p: &mut Plain) -> Result<Vec<u8>, PyExc> {
        let Some(pd) = p.dec.as_mut() else {
            return Err(internal("no decoder"));
        };
        let r = pd.dec.flush();
        self.decoded(r)
    }

    fn push_decoded(&mut self, p: &mut Plain, out: &[u8]) -> Result<(), PyExc> {
        if let Some(pd) = p.dec.as_mut() {
            pd.buffered += out.len();
        }
        self.push_body(out)
    }

    /// urllib3's `_decode` error handling: a decoder error is a `DecodeError`, which requests raises as
    /// `ContentDecodingError`.
    fn decoded(&self, r: Result<Vec<u8>, ZErr>) -> Result<Vec<u8>, PyExc> {
        match r {
            Ok(v) => Ok(v),
            Err(ZErr::TooLarge) => Err(self.too_large()),
            Err(ZErr::Codec(e)) => {
                let encoding = self.fr.as_ref().map(|f| f.encoding.as_str()).unwrap_or("");
                let msg = format!(
                    "Received response with content-encoding: {encoding}, but failed to decode it."
                );
                let de = PyExc::new(
                    "urllib3.exceptions.DecodeError",
                    vec![PyVal::str(msg), exc_val(&e)],
                )
                .caused_by(e);
                Err(in_body("requests.exceptions.ContentDecodingError", de))
            }
        }
    }

    /// urllib3's `read_chunked(10240)`.
    fn chunked(
        &mut self,
        c: &mut Chunked,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<bool>, PyExc> {
        loop {
            match c.st {
                CSt::Size => {
                    let Some(n) = self.next_line(buf, eof).map_err(|()| {
                        chunked_error(protocol_error(vec![PyVal::str(
                            "Response chunk size line exceeded maximum allowed length",
                        )]))
                    })?
                    else {
                        return Ok(None);
                    };
                    let line = &buf[..n];
                    let digits = match line.iter().position(|&b| b == b';') {
                        Some(i) => &line[..i],
                        None => line,
                    };
                    let parsed = py_int16(digits).map_err(|()| digits.to_vec());
                    buf.advance(n);
                    match parsed {
                        Err(digits) => {
                            let digits = &digits[..];
                            let ve = value_error(format!(
                                "invalid literal for int() with base 16: {}",
                                trunc200(&py_bytes_repr(digits))
                            ));
                            if digits.is_empty() {
                                // truncated at the start of the next chunk
                                let pe =
                                    protocol_error(vec![PyVal::str("Response ended prematurely")])
                                        .from_none(ve);
                                return Err(chunked_error(pe));
                            }
                            let expected = if c.expected_zero {
                                PyVal::int(0)
                            } else {
                                PyVal::None
                            };
                            let icl = PyExc::new(
                                "urllib3.exceptions.InvalidChunkLength",
                                vec![
                                    PyVal::Opaque(U3_RESPONSE.into()),
                                    PyVal::Bytes(digits.to_vec()),
                                ],
                            )
                            .with_attr("partial", PyVal::int(0))
                            .with_attr("expected", expected)
                            .with_attr("length", PyVal::Bytes(digits.to_vec()))
                            .from_none(ve);
                            return Err(broken(icl));
                        }
                        Ok(ChunkSize::Zero) => {
                            // the last chunk: flush the decoder, then the trailer lines
                            if let Some(dec) = c.dec.as_mut() {
                                let r = dec.decompress(&[], -1);
                                let out = self.decoded(r)?;
                                self.push_body(&out)?;
                                let r = c.dec.as_mut().map(|d| d.flush()).unwrap_or(Ok(Vec::new()));
                                let out = self.decoded(r)?;
                                self.push_body(&out)?;
                            }
                            c.st = CSt::Trailer;
                        }
                        Ok(ChunkSize::MinusOne) => c.st = CSt::ReadAll,
                        Ok(ChunkSize::Negative) => {
                            return Err(value_error("read length must be non-negative or -1"));
                        }
                        Ok(ChunkSize::Positive(n)) => c.start_piece(n, self.body.len()),
                    }
                }
                CSt::Data {
                    left,
                    need,
                    len,
                    crlf,
                } => {
                    if need > 0 {
                        if buf.is_empty() {
                            if !eof {
                                return Ok(None);
                            }
                            let partial = if c.dec.is_some() {
                                c.piece.clone()
                            } else {
                                self.body.get(c.piece_start..).unwrap_or_default().to_vec()
                            };
                            return Err(broken(hc_incomplete(&partial, need)));
                        }
                        let n = need.min(buf.len());
                        self.take_raw(n)?;
                        if c.dec.is_some() {
                            c.piece.extend_from_slice(&buf[..n]);
                        } else {
                            self.push_body(&buf[..n])?;
                        }
                        buf.advance(n);
                        c.st = CSt::Data {
                            left,
                            need: need - n,
                            len,
                            crlf,
                        };
                        continue;
                    }
                    if crlf {
                        c.st = CSt::Crlf {
                            got: 0,
                            bytes: [0; 2],
                        };
                    } else {
                        self.chunk_piece_done(c)?;
                        c.start_piece(left, self.body.len());
                    }
                }
                CSt::Crlf { got, mut bytes } => {
                    if got == 2 {
                        self.chunk_piece_done(c)?;
                        c.st = CSt::Size;
                        continue;
                    }
                    let Some(&b) = buf.first() else {
                        if !eof {
                            return Ok(None);
                        }
                        return Err(broken(hc_incomplete(&bytes[..got], 2 - got)));
                    };
                    bytes[got] = b;
                    buf.advance(1);
                    c.st = CSt::Crlf {
                        got: got + 1,
                        bytes,
                    };
                }
                CSt::ReadAll => {
                    if !buf.is_empty() {
                        let n = buf.len();
                        self.take_raw(n)?;
                        buf.advance(n);
                        continue;
                    }
                    if !eof {
                        return Ok(None);
                    }
                    return Err(broken(hc_incomplete(&[], 2)));
                }
                CSt::Trailer => {
                    let Some(n) = self.next_line(buf, eof).map_err(|()| {
                        chunked_error(protocol_error(vec![PyVal::str(
                            "Response chunk trailer line exceeded maximum allowed length",
                        )]))
                    })?
                    else {
                        return Ok(None);
                    };
                    let crlf = &buf[..n] == b"\r\n";
                    buf.advance(n);
                    if n == 0 {
                        return Ok(Some(false));
                    }
                    if crlf {
                        return Ok(Some(true));
                    }
                    if eof && buf.is_empty() {
                        // the next readline returns b""
                        return Ok(Some(false));
                    }
                }
            }
        }
    }

    /// A chunk piece was read (and the 2 bytes after it, when it ends the chunk): decode it, then drain the
    /// decoder's unconsumed input, 10240 bytes of output at a time.
    fn chunk_piece_done(&mut self, c: &mut Chunked) -> Result<(), PyExc> {
        let Some(dec) = c.dec.as_mut() else {
            return Ok(());
        };
        let piece = std::mem::take(&mut c.piece);
        let r = dec.decompress(&piece, PIECE as isize);
        let out = self.decoded(r)?;
        self.push_body(&out)?;
        let mut idle = 0;
        while let Some(dec) = c.dec.as_mut()
            && dec.has_tail()
        {
            let r = dec.decompress(&[], PIECE as isize);
            let out = self.decoded(r)?;
            idle = if out.is_empty() { idle + 1 } else { 0 };
            self.push_body(&out)?;
            if idle > 2 {
                break; // no progress: never loop without consuming
            }
        }
        Ok(())
    }
}

/// What http.client and urllib3 decided from the head.
pub(super) struct Framing {
    /// urllib3 reads the body with its chunk parser.
    pub(super) u3_chunked: bool,
    /// http.client's `length` (None: until the close).
    pub(super) hc_left: Option<u64>,
    /// urllib3's `length_remaining` at the start (None: unknown).
    pub(super) u3_len: Option<PyInt>,
    pub(super) will_close: bool,
    pub(super) informational: bool,
    /// The `Content-Encoding` as urllib3 names it in `DecodeError` (joined, lower case).
    pub(super) encoding: String,
    /// The decoder (or the error `_init_decoder` raises), taken at the first read of the body.
    pub(super) decoder: Option<Result<Option<Dec>, PyExc>>,
}

pub(super) struct Plain {
    hc_left: Option<u64>,
    /// http.client's `fp` is closed: reads return b"" without touching the socket.
    hc_closed: bool,
    /// urllib3's `_fp_bytes_read`.
    read: u64,
    u3_len: Option<PyInt>,
    /// The body ended by http.client's length.
    clean: bool,
    dec: Option<PlainDec>,
}

impl Plain {
    /// urllib3's check when a read comes back empty: `IncompleteRead(_fp_bytes_read, length_remaining)`.
    fn u3_check(&self) -> Result<(), PyExc> {
        let Some(len) = &self.u3_len else {
            return Ok(());
        };
        let remaining = len.minus(self.read);
        if remaining == "0" {
            return Ok(());
        }
        let e = PyExc::new(
            "urllib3.exceptions.IncompleteRead",
            vec![PyVal::int(self.read), PyVal::Int(remaining.clone())],
        )
        .with_attr("partial", PyVal::int(self.read))
        .with_attr("expected", PyVal::Int(remaining));
        // expected == -partial: the length was 0
        let pe = if len.is_zero() {
            protocol_error(vec![
                PyVal::str("Response may not contain content."),
                exc_val(&e),
            ])
            .caused_by(e)
        } else {
            protocol_error(vec![
                PyVal::str(format!("Connection broken: {}", e.repr())),
                exc_val(&e),
            ])
            .caused_by(e)
        };
        Err(chunked_error(pe))
    }

    /// The end of `read(10240)`: `_decoded_buffer.get(10240)`.
    fn take_piece(&mut self) {
        if let Some(pd) = self.dec.as_mut() {
            pd.buffered -= pd.buffered.min(PIECE);
            pd.stage = PStage::Top;
        }
    }
}

struct PlainDec {
    dec: Dec,
    /// `len(self._decoded_buffer)`.
    buffered: usize,
    stage: PStage,
    /// The raw piece being read.
    piece: Vec<u8>,
}

/// Where urllib3's `read(amt=10240)` is.
#[derive(Clone, Copy, Debug)]
enum PStage {
    /// The stream loop's condition, then the decoder's unconsumed input.
    Top,
    /// The first raw read of `read()`.
    First,
    /// The `while len(buffer) < amt and data` loop.
    Inner,
}

pub(super) struct Chunked {
    st: CSt,
    dec: Option<Dec>,
    /// The payload of the current piece (only when decoding).
    piece: Vec<u8>,
    /// Where the current piece starts in the body (identity).
    piece_start: usize,
    /// urllib3's `length_remaining` is 0 (204, 304, 1xx), else None: `InvalidChunkLength.expected`.
    expected_zero: bool,
}

#[derive(Clone, Copy, Debug)]
enum CSt {
    /// A chunk-size line.
    Size,
    /// `need` of a piece of `len` bytes still to read; `left` of the chunk after it; `crlf`: 2 bytes follow.
    Data {
        left: u64,
        need: usize,
        len: usize,
        crlf: bool,
    },
    /// The 2 bytes after a chunk (`_safe_read(2)`, whatever they are).
    Crlf { got: usize, bytes: [u8; 2] },
    /// Chunk size -1: `fp.read(-1)` reads to the close, then the 2 bytes after it are missing.
    ReadAll,
    /// After the last chunk: lines until `\r\n` or the close.
    Trailer,
}

impl BodySt {
    /// Bytes at the end of the body that belong to an identity chunk piece still being read (they must stay in
    /// the body, which then starts at the piece); 0 otherwise.
    pub(super) fn unfinished_piece(&mut self, body_len: usize) -> usize {
        match self {
            BodySt::Chunked(c) if c.dec.is_none() && matches!(c.st, CSt::Data { .. }) => {
                let keep = body_len.saturating_sub(c.piece_start);
                c.piece_start = 0;
                keep
            }
            _ => 0,
        }
    }
}

impl Chunked {
    /// `_handle_chunk(10240)` with `chunk_left` bytes of the chunk left.
    fn start_piece(&mut self, chunk_left: u64, body_len: usize) {
        let piece = PIECE as u64;
        let (len, crlf) = if chunk_left > piece {
            (PIECE, false)
        } else {
            (chunk_left as usize, true)
        };
        self.piece_start = body_len;
        self.st = CSt::Data {
            left: chunk_left - len as u64,
            need: len,
            len,
            crlf,
        };
    }
}
