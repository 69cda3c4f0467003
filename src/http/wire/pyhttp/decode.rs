//! Content decoding as urllib3 does it: `_init_decoder` for the lower-cased `Content-Encoding` (`gzip`,
//! `x-gzip`, `deflate`, `br`; a comma-separated chain naming one of them as a `MultiDecoder` of at most 5
//! links; anything else left as it is), `GzipDecoder` (member after member, garbage after a member ignored),
//! `DeflateDecoder` (zlib first, raw deflate over the same data on an error before any output) and the brotli
//! decoder (`wire::brotli`), over a re-creation of CPython's `zlib.decompressobj()` on flate2 (zlib-rs):
//! `decompress(data, max_length)`, `eof`, `unconsumed_tail`, `unused_data`, `flush()`, and zlib's own error
//! messages.
//!
//! Who calls it: `head` makes the decoder (`decoder_for`) when the head is complete; `body` feeds it
//! (`Dec::decompress`, `Dec::flush`) with urllib3's sizes and wraps its errors (`ZErr`).
//!
//! What it must not do: know about framing or the caller's buffer, or produce more than its budget (the body
//! limit): it stops with `ZErr::TooLarge` as soon as its output would pass it.
use super::errors::{in_body, trunc200};
use super::pystr::py_strip;
use crate::http::wire::brotli;
use crate::http::wire::exc::{PyExc, PyVal};
use flate2::{Decompress, DecompressError, FlushDecompress, Status};

/// urllib3's `MultiDecoder.max_decode_links`.
const MAX_DECODE_LINKS: usize = 5;
/// Output block of a decompression call without a length limit.
const INFLATE_BLOCK: usize = 32 * 1024;

pub(super) enum ZErr {
    /// The codec's exception (`zlib.error`, `brotli.error`), with its context.
    Codec(PyExc),
    TooLarge,
}

/// urllib3's `_init_decoder` for the lower-cased `Content-Encoding`.
pub(super) fn decoder_for(encoding: &str, budget: usize) -> Result<Option<Dec>, PyExc> {
    const KNOWN: [&str; 4] = ["gzip", "x-gzip", "deflate", "br"];
    if KNOWN.contains(&encoding) {
        return Ok(Some(Dec::single(encoding, budget)));
    }
    if !encoding.contains(',') || !encoding.split(',').any(|e| KNOWN.contains(&py_strip(e))) {
        return Ok(None);
    }
    // MultiDecoder(encoding)
    let modes: Vec<&str> = encoding.split(',').map(py_strip).collect();
    if modes.len() > MAX_DECODE_LINKS {
        let de = PyExc::new(
            "urllib3.exceptions.DecodeError",
            vec![PyVal::str(format!(
                "Too many content encodings in the chain: {} > {MAX_DECODE_LINKS}",
                modes.len()
            ))],
        );
        return Err(in_body("requests.exceptions.ContentDecodingError", de));
    }
    Ok(Some(Dec::Multi(
        modes.into_iter().map(|m| Dec::single(m, budget)).collect(),
    )))
}

pub(super) enum Dec {
    Gzip(GzipDec),
    Deflate(DeflateDec),
    /// `br`: urllib3's BrotliDecoder (the brotli package comes with Locust).
    Brotli(Box<brotli::Stream>),
    Multi(Vec<Dec>),
}

impl Dec {
    /// `_get_decoder(mode)` for a mode without a comma (zstd is not installed with Locust: deflate).
    fn single(mode: &str, budget: usize) -> Dec {
        match mode {
            "gzip" | "x-gzip" => Dec::Gzip(GzipDec {
                obj: ZObj::gzip(),
                state: GState::First,
                tail: Vec::new(),
                budget,
            }),
            "br" => Dec::Brotli(Box::new(brotli::Stream::new(budget))),
            _ => Dec::Deflate(DeflateDec {
                first_try: true,
                first_try_data: Vec::new(),
                unfed: Vec::new(),
                obj: ZObj::new(true),
                budget,
            }),
        }
    }

    /// `decompress(data, max_length)`.
    pub(super) fn decompress(&mut self, data: &[u8], max_length: isize) -> Result<Vec<u8>, ZErr> {
        match self {
            Dec::Gzip(g) => g.decompress(data, max_length),
            Dec::Deflate(d) => d.decompress(data, max_length),
            Dec::Brotli(b) => match b.process(data) {
                Ok(out) => Ok(out),
                Err(brotli::Failed::TooLarge) => Err(ZErr::TooLarge),
                Err(brotli::Failed::Invalid) => Err(ZErr::Codec(PyExc::new(
                    "brotli.error",
                    vec![PyVal::str(brotli::ERROR_TEXT)],
                ))),
            },
            Dec::Multi(decs) => {
                if max_length <= 0 {
                    let mut d = data.to_vec();
                    for dec in decs.iter_mut().rev() {
                        d = dec.decompress(&d, -1)?;
                    }
                    return Ok(d);
                }
                let max = max_length as usize;
                let mut ret = Vec::new();
                let mut d = data.to_vec();
                loop {
                    let mut any = false;
                    for dec in decs.iter_mut().rev() {
                        d = dec.decompress(&d, (max - ret.len()) as isize)?;
                        any |= !d.is_empty();
                    }
                    ret.extend_from_slice(&d);
                    if !any || ret.len() >= max {
                        return Ok(ret);
                    }
                    d.clear();
                }
            }
        }
    }

    pub(super) fn has_tail(&self) -> bool {
        match self {
            Dec::Gzip(g) => !g.tail.is_empty(),
            Dec::Deflate(d) => {
                !d.unfed.is_empty()
                    || (!d.obj.unconsumed_tail.is_empty() && !d.first_try && !d.obj.eof)
            }
            Dec::Brotli(_) => false,
            Dec::Multi(decs) => decs.iter().any(Dec::has_tail),
        }
    }

    pub(super) fn flush(&mut self) -> Result<Vec<u8>, ZErr> {
        match self {
            Dec::Gzip(g) => g.obj.flush(&mut g.budget),
            Dec::Deflate(d) => d.obj.flush(&mut d.budget),
            Dec::Brotli(_) => Ok(Vec::new()),
            Dec::Multi(decs) => decs.first_mut().map(Dec::flush).unwrap_or(Ok(Vec::new())),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum GState {
    First,
    Other,
    Swallow,
}

/// urllib3's `GzipDecoder`.
pub(super) struct GzipDec {
    obj: ZObj,
    state: GState,
    tail: Vec<u8>,
    /// Output this decoder may still produce (rlocust's bound).
    budget: usize,
}

impl GzipDec {
    fn decompress(&mut self, input: &[u8], max_length: isize) -> Result<Vec<u8>, ZErr> {
        let mut ret = Vec::new();
        if self.state == GState::Swallow {
            return Ok(ret);
        }
        if max_length == 0 {
            self.tail.extend_from_slice(input);
            return Ok(ret);
        }
        let mut data = std::mem::take(&mut self.tail);
        data.extend_from_slice(input);
        if data.is_empty() && self.obj.eof {
            return Ok(ret);
        }
        loop {
            let limit = if max_length > 0 {
                (max_length as usize).saturating_sub(ret.len())
            } else {
                0
            };
            match self.obj.decompress(&data, limit, &mut self.budget) {
                Ok(out) => ret.extend_from_slice(&out),
                Err(ZErr::TooLarge) => return Err(ZErr::TooLarge),
                Err(e) => {
                    let previous = self.state;
                    self.state = GState::Swallow;
                    self.tail.clear();
                    if previous == GState::Other {
                        return Ok(ret); // trailing garbage after a member: kept quiet
                    }
                    return Err(e);
                }
            }
            data = if !self.obj.unconsumed_tail.is_empty() {
                self.obj.unconsumed_tail.clone()
            } else {
                self.obj.unused_data.clone()
            };
            self.tail = data.clone();
            if max_length > 0 && ret.len() >= max_length as usize {
                break;
            }
            if data.is_empty() {
                return Ok(ret);
            }
            if self.obj.eof {
                self.state = GState::Other;
                self.obj = ZObj::gzip();
            }
        }
        Ok(ret)
    }
}

/// urllib3's `DeflateDecoder`: zlib first; on an error before any output, raw deflate over all data so far.
pub(super) struct DeflateDec {
    first_try: bool,
    first_try_data: Vec<u8>,
    unfed: Vec<u8>,
    obj: ZObj,
    budget: usize,
}

impl DeflateDec {
    fn decompress(&mut self, data: &[u8], max_length: isize) -> Result<Vec<u8>, ZErr> {
        let mut data_all = std::mem::take(&mut self.unfed);
        data_all.extend_from_slice(data);
        let data = data_all;
        if self.obj.eof {
            return Ok(Vec::new());
        }
        if data.is_empty() && self.obj.unconsumed_tail.is_empty() {
            return Ok(data);
        }
        let limit = match max_length {
            m if m < 0 => 0,
            0 => {
                self.unfed = data;
                return Ok(Vec::new());
            }
            m => m as usize,
        };
        if !self.first_try {
            let mut input = std::mem::take(&mut self.obj.unconsumed_tail);
            input.extend_from_slice(&data);
            return self.obj.decompress(&input, limit, &mut self.budget);
        }
        self.first_try_data.extend_from_slice(&data);
        match self.obj.decompress(&data, limit, &mut self.budget) {
            Ok(out) => {
                if !out.is_empty() {
                    self.first_try = false;
                    self.first_try_data = Vec::new();
                }
                Ok(out)
            }
            Err(ZErr::TooLarge) => Err(ZErr::TooLarge),
            Err(ZErr::Codec(first)) => {
                self.first_try = false;
                self.obj = ZObj::new(false);
                let retry = std::mem::take(&mut self.first_try_data);
                match self.decompress(&retry, max_length) {
                    Err(ZErr::Codec(second)) => Err(ZErr::Codec(second.during(first))),
                    other => other,
                }
            }
        }
    }
}

/// CPython's `zlib.decompressobj()`: `decompress(data, max_length)` with `eof`, `unconsumed_tail`,
/// `unused_data`, and `flush()`.
struct ZObj {
    z: Decompress,
    kind: ZKind,
    eof: bool,
    unconsumed_tail: Vec<u8>,
    unused_data: Vec<u8>,
    /// The input inflated so far, to find the words of an error zlib-rs reports without them (see `replay`);
    /// None past `HISTORY_CAP`.
    history: Option<Vec<u8>>,
}

/// How much input a decompressor keeps for `ZObj::replay`.
const HISTORY_CAP: usize = 4 << 20;

#[derive(Clone, Copy, Debug)]
enum ZKind {
    Zlib,
    Raw,
    Gzip,
}

impl ZKind {
    fn decompress(self) -> Decompress {
        match self {
            ZKind::Zlib => Decompress::new(true),
            ZKind::Raw => Decompress::new(false),
            ZKind::Gzip => Decompress::new_gzip(15),
        }
    }
}

/// What zlib-rs 0.6 says when its fast path finds an error (it overwrites the message the fast path set).
const ZLIB_RS_LOST_MESSAGE: &str = "repeated call with bad state";

impl ZObj {
    fn new(zlib_header: bool) -> ZObj {
        ZObj::with(if zlib_header { ZKind::Zlib } else { ZKind::Raw })
    }

    fn gzip() -> ZObj {
        ZObj::with(ZKind::Gzip)
    }

    fn with(kind: ZKind) -> ZObj {
        ZObj {
            z: kind.decompress(),
            kind,
            eof: false,
            unconsumed_tail: Vec::new(),
            unused_data: Vec::new(),
            history: Some(Vec::new()),
        }
    }

    /// The error zlib finds in `history` + `input`, found by inflating it again in pieces too small for
    /// zlib-rs's fast path (whose errors lose their message), so the message is zlib's. Past the history kept,
    /// the likeliest of the fast path's three messages.
    fn replay(&self, input: &[u8]) -> Option<PyExc> {
        let Some(history) = &self.history else {
            return Some(PyExc::new(
                "zlib.error",
                vec![PyVal::str(
                    "Error -3 while decompressing data: invalid distance too far back",
                )],
            ));
        };
        let mut z = self.kind.decompress();
        let mut scratch = vec![0u8; INFLATE_BLOCK];
        for part in history.chunks(8).chain(input.chunks(8)) {
            let mut part = part;
            loop {
                let in0 = z.total_in();
                let out0 = z.total_out();
                match z.decompress(part, &mut scratch, FlushDecompress::Sync) {
                    Err(e) => return Some(zlib_error(&e)),
                    Ok(Status::StreamEnd) => return None,
                    Ok(_) => {}
                }
                let consumed = usize::try_from(z.total_in() - in0)
                    .unwrap_or(usize::MAX)
                    .min(part.len());
                part = &part[consumed..];
                if part.is_empty() || (consumed == 0 && z.total_out() == out0) {
                    break;
                }
            }
        }
        None
    }

    /// `decompress(data, max_length)`; `max_length` 0 is unlimited. `budget`: output still allowed.
    fn decompress(
        &mut self,
        data: &[u8],
        max_length: usize,
        budget: &mut usize,
    ) -> Result<Vec<u8>, ZErr> {
        if self.eof {
            // zlib answers Z_STREAM_END at once: all of it is unused data
            self.unused_data.extend_from_slice(data);
            self.unconsumed_tail.clear();
            return Ok(Vec::new());
        }
        let (out, rest) = self.inflate(data, max_length, budget, FlushDecompress::Sync)?;
        self.unconsumed_tail = rest;
        Ok(out)
    }

    /// `flush()`: the unconsumed input with Z_FINISH; errors are not raised.
    fn flush(&mut self, budget: &mut usize) -> Result<Vec<u8>, ZErr> {
        if self.eof {
            return Ok(Vec::new());
        }
        let input = std::mem::take(&mut self.unconsumed_tail);
        match self.inflate(&input, 0, budget, FlushDecompress::Finish) {
            Ok((out, _)) => Ok(out),
            Err(ZErr::TooLarge) => Err(ZErr::TooLarge),
            Err(ZErr::Codec(_)) => Ok(Vec::new()),
        }
    }

    /// Inflates until the input is used, the output reaches `max_length`, the stream ends, or an error;
    /// returns the output and the input left.
    fn inflate(
        &mut self,
        data: &[u8],
        max_length: usize,
        budget: &mut usize,
        flush: FlushDecompress,
    ) -> Result<(Vec<u8>, Vec<u8>), ZErr> {
        let mut out: Vec<u8> = Vec::new();
        let mut input = data;
        loop {
            let room = if max_length > 0 {
                max_length - out.len()
            } else {
                INFLATE_BLOCK
            };
            if room == 0 {
                break;
            }
            // one byte past the budget proves it is crossed
            let room = room.min((*budget).saturating_sub(out.len()).saturating_add(1));
            let start = out.len();
            out.resize(start + room, 0);
            let (in0, out0) = (self.z.total_in(), self.z.total_out());
            let res = self.z.decompress(input, &mut out[start..], flush);
            let consumed = usize::try_from(self.z.total_in() - in0)
                .unwrap_or(usize::MAX)
                .min(input.len());
            let produced = usize::try_from(self.z.total_out() - out0)
                .unwrap_or(0)
                .min(room);
            out.truncate(start + produced);
            if let Err(e) = &res {
                let found = match e.message() {
                    Some(m) if m == ZLIB_RS_LOST_MESSAGE => self.replay(input),
                    _ => None,
                };
                return Err(ZErr::Codec(found.unwrap_or_else(|| zlib_error(e))));
            }
            if let Some(h) = self.history.as_mut() {
                if h.len() + consumed > HISTORY_CAP {
                    self.history = None;
                } else {
                    h.extend_from_slice(&input[..consumed]);
                }
            }
            input = &input[consumed..];
            if out.len() > *budget {
                return Err(ZErr::TooLarge);
            }
            match res {
                Err(e) => return Err(ZErr::Codec(zlib_error(&e))),
                Ok(Status::StreamEnd) => {
                    self.eof = true;
                    self.unused_data.extend_from_slice(input);
                    input = &[];
                    break;
                }
                Ok(_) => {
                    if produced < room || (consumed == 0 && produced == 0) {
                        break;
                    }
                }
            }
        }
        *budget -= out.len();
        Ok((out, input.to_vec()))
    }
}

/// `zlib.error` as CPython words it.
fn zlib_error(e: &DecompressError) -> PyExc {
    let text = if e.needs_dictionary().is_some() {
        "Error 2 while decompressing data".to_owned()
    } else {
        let msg = e.message().unwrap_or("invalid input data");
        format!("Error -3 while decompressing data: {}", trunc200(msg))
    };
    PyExc::new("zlib.error", vec![PyVal::str(text)])
}
