//! `CompatResponse._content` as Locust's `len(response.content)` triggers it: the `Content-Encoding` it picks
//! before it reads the body (an unknown one is a `ValueError`), then one-shot decoding of the whole body:
//! CPython's `zlib.decompress` for gzip, raw deflate then zlib for deflate (the second failure raised while
//! handling the first), `wire::brotli` for br, with zlib's error texts.
//!
//! Who calls it: [`LlReader`](super::LlReader), when `read()` starts (the choice) and when it ends (the decoding).
//! Must not: decode while the body arrives (geventhttpclient decodes once, at the end), or let the decoded body
//! grow past the body limit (that fails with `body_too_large`).
use crate::http::wire::exc::{PyExc, PyVal};
use crate::http::wire::hold::{self, Charge};
use crate::http::wire::{Dialect, body_too_large, brotli};
use bytes::Bytes;

/// How `CompatResponse._content` decodes the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

/// `CompatResponse._content`'s choice by the first `Content-Encoding` (lower-cased, not stripped), made before it
/// reads the body: an unknown one is a `ValueError` without reading anything.
pub(super) fn content_encoding(headers: &crate::http::Fields) -> Result<Encoding, PyExc> {
    let Some(enc) = headers.first("content-encoding") else {
        return Ok(Encoding::Identity);
    };
    let enc = py_lower_latin1(enc);
    match enc.as_str() {
        "identity" => Ok(Encoding::Identity),
        "gzip" => Ok(Encoding::Gzip),
        "deflate" => Ok(Encoding::Deflate),
        "br" => Ok(Encoding::Brotli),
        "compress" => Err(PyExc::new(
            "builtins.ValueError",
            vec![PyVal::str("Compression type not supported: compress")],
        )),
        _ => Err(PyExc::new(
            "builtins.ValueError",
            vec![PyVal::str(format!("Unknown content encoding: {enc}"))],
        )),
    }
}

/// Python's `str.lower()` on a latin-1 string.
fn py_lower_latin1(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'A'..='Z' | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{de}' => {
                char::from_u32(c as u32 + 32).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// The body as `response.content` gives it (the decoded one counted against the process's budget of bodies
/// while it grows and for as long as it lives).
pub(super) fn decode_content(encoding: Encoding, raw: Bytes, cap: usize) -> Result<Bytes, PyExc> {
    let mut charge = Charge::default();
    let decoded = match encoding {
        Encoding::Identity => return Ok(raw),
        Encoding::Gzip => zlib_decompress(&raw, Format::Gzip, cap, &mut charge),
        Encoding::Deflate => match zlib_decompress(&raw, Format::Raw, cap, &mut charge) {
            Err(Zlib::Error(first)) => {
                match zlib_decompress(&raw, Format::Zlib, cap, &mut charge) {
                    Err(Zlib::Error(second)) => {
                        return Err(zlib_error(second).during(zlib_error(first)));
                    }
                    other => other,
                }
            }
            other => other,
        },
        Encoding::Brotli => {
            return match brotli::decompress_all(&raw, cap) {
                Ok(v) if charge.cover(v.len()).is_err() => Err(hold::over_budget(Dialect::Fast)),
                Ok(v) => Ok(charge.attach(Bytes::from(v))),
                Err(brotli::Failed::TooLarge) => Err(body_too_large(Dialect::Fast, cap)),
                Err(brotli::Failed::Invalid) => Err(PyExc::new(
                    "brotli.error",
                    vec![PyVal::str(brotli::ERROR_TEXT)],
                )),
            };
        }
    };
    match decoded {
        Ok(v) => Ok(charge.attach(Bytes::from(v))),
        Err(Zlib::TooLarge) => Err(body_too_large(Dialect::Fast, cap)),
        Err(Zlib::OverBudget) => Err(hold::over_budget(Dialect::Fast)),
        Err(Zlib::Error(text)) => Err(zlib_error(text)),
    }
}

#[derive(Clone, Copy)]
enum Format {
    Gzip,
    Raw,
    Zlib,
}

enum Zlib {
    Error(String),
    TooLarge,
    OverBudget,
}

fn zlib_error(text: String) -> PyExc {
    PyExc::new("zlib.error", vec![PyVal::Str(text)])
}

/// CPython's one-shot `zlib.decompress(data, wbits)`: inflate with Z_FINISH while the output fills up; the data
/// after the end of the stream is ignored, a stream that stops short is `Error -5 ...: incomplete or truncated
/// stream`, corrupt data `Error -3 ...: <zlib's message>`.
fn zlib_decompress(
    data: &[u8],
    format: Format,
    cap: usize,
    charge: &mut Charge,
) -> Result<Vec<u8>, Zlib> {
    match inflate(data, format, cap, false, charge) {
        // zlib-rs's fast loop (big output buffers) reports a corrupt stream under this message instead of zlib's;
        // its byte-wise loop, used when little output room is left, keeps zlib's
        Err(Zlib::Error(msg)) if msg.ends_with("repeated call with bad state") => {
            inflate(data, format, cap, true, charge)
        }
        other => other,
    }
}

fn inflate(
    data: &[u8],
    format: Format,
    cap: usize,
    small_steps: bool,
    charge: &mut Charge,
) -> Result<Vec<u8>, Zlib> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = match format {
        Format::Gzip => Decompress::new_gzip(15),
        Format::Raw => Decompress::new(false),
        Format::Zlib => Decompress::new(true),
    };
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(4).clamp(256, 1 << 20));
    let mut step = [0u8; 64];
    loop {
        let consumed = usize::try_from(d.total_in())
            .unwrap_or(data.len())
            .min(data.len());
        let (result, full) = if small_steps {
            let before = d.total_out();
            let r = d.decompress(&data[consumed..], &mut step, FlushDecompress::Finish);
            let n = usize::try_from(d.total_out() - before)
                .unwrap_or(0)
                .min(step.len());
            out.extend_from_slice(&step[..n]);
            (r, n == step.len())
        } else {
            if out.len() == out.capacity() {
                // doubling up to hold::GROW_LIMIT, then the rest of the cap at once (no copy at the cap)
                let more = out.len().max(4096);
                match hold::reserve_for(out.len(), out.capacity(), more, cap) {
                    Some(total) if out.try_reserve_exact(total - out.len()).is_ok() => {}
                    _ => out.reserve(more),
                }
            }
            let r = d.decompress_vec(&data[consumed..], &mut out, FlushDecompress::Finish);
            (r, out.len() == out.capacity())
        };
        if out.len() > cap {
            return Err(Zlib::TooLarge);
        }
        if charge.cover(out.len()).is_err() {
            return Err(Zlib::OverBudget);
        }
        match result {
            Ok(Status::StreamEnd) => return Ok(out),
            // no room was missing, yet no end: the input ran out (zlib's Z_BUF_ERROR, no message of its own)
            Ok(_) if !full => {
                return Err(Zlib::Error(
                    "Error -5 while decompressing data: incomplete or truncated stream".into(),
                ));
            }
            Ok(_) => {}
            Err(e) if e.needs_dictionary().is_some() => {
                return Err(Zlib::Error("Error 2 while decompressing data".into()));
            }
            Err(e) => {
                let msg = e.message().unwrap_or("invalid input data");
                return Err(Zlib::Error(format!(
                    "Error -3 while decompressing data: {msg}"
                )));
            }
        }
    }
}
