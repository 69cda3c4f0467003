//! Brotli (`Content-Encoding: br`) for both clients: Locust installs the `brotli` package (a dependency of
//! geventhttpclient), so requests advertises and decodes `br`, and FastHttpUser decodes it too. Both report any
//! failure as `brotli.error('brotli: decoder failed')`.
//!
//! Who calls it: the dialect readers, on the hub's behalf on tokio threads. Output is capped: decoding stops with
//! [`Failed::TooLarge`] as soon as it would pass the body limit.
use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;

/// Why decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// Not a brotli stream (or, for [`decompress_all`], an incomplete one).
    Invalid,
    /// The output would exceed the cap.
    TooLarge,
}

/// The text of `brotli.error` for every decoder failure (brotli 1.x Python bindings).
pub const ERROR_TEXT: &str = "brotli: decoder failed";

/// Where the decoder writes: a buffer the caller drains, refusing to grow past `cap`.
struct Sink {
    out: Arc<Mutex<Vec<u8>>>,
    written: usize,
    cap: usize,
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.written = self.written.saturating_add(data.len());
        if self.written > self.cap {
            return Err(std::io::Error::other("too large"));
        }
        // doubling up to hold::GROW_LIMIT, then the rest of the cap at once (no copy at the cap)
        super::hold::extend_vec(&mut self.out.lock(), data, self.cap);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A streaming decoder (urllib3's `BrotliDecoder`: a truncated stream just ends the output).
pub struct Stream {
    w: brotli_decompressor::DecompressorWriter<Sink>,
    out: Arc<Mutex<Vec<u8>>>,
    cap: usize,
    failed: Option<Failed>,
}

impl Stream {
    pub fn new(cap: usize) -> Stream {
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink {
            out: out.clone(),
            written: 0,
            cap,
        };
        Stream {
            w: brotli_decompressor::DecompressorWriter::new(sink, 4096),
            out,
            cap,
            failed: None,
        }
    }

    /// Feed `data`; returns what it decoded to.
    pub fn process(&mut self, data: &[u8]) -> Result<Vec<u8>, Failed> {
        if let Some(f) = self.failed {
            return Err(f);
        }
        if self.w.write_all(data).and_then(|_| self.w.flush()).is_err() {
            let why = if self.w.get_ref().written > self.cap {
                Failed::TooLarge
            } else {
                Failed::Invalid
            };
            self.failed = Some(why);
            return Err(why);
        }
        Ok(std::mem::take(&mut *self.out.lock()))
    }
}

/// One-shot decoding (`brotli.decompress`): the whole stream, complete.
pub fn decompress_all(data: &[u8], cap: usize) -> Result<Vec<u8>, Failed> {
    let mut s = Stream::new(cap);
    let mut out = s.process(data)?;
    match s.w.close() {
        Ok(()) => {
            out.extend(std::mem::take(&mut *s.out.lock()));
            Ok(out)
        }
        Err(_) if s.w.get_ref().written > cap => Err(Failed::TooLarge),
        Err(_) => Err(Failed::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // "hello brotli" compressed by the brotli reference encoder (quality 11).
    const HELLO: &[u8] = &[
        0x8b, 0x05, 0x80, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x62, 0x72, 0x6f, 0x74, 0x6c, 0x69,
        0x03,
    ];

    #[test]
    fn decodes_streams_and_refuses_what_is_not_brotli() {
        assert_eq!(decompress_all(HELLO, 1 << 20).unwrap(), b"hello brotli");
        let mut s = Stream::new(1 << 20);
        let mut out = s.process(&HELLO[..5]).unwrap();
        out.extend(s.process(&HELLO[5..]).unwrap());
        assert_eq!(out, b"hello brotli");
        assert_eq!(
            decompress_all(b"\x1f\x8b\x08\x00not brotli", 1 << 20),
            Err(Failed::Invalid)
        );
        assert_eq!(
            decompress_all(&HELLO[..6], 1 << 20),
            Err(Failed::Invalid),
            "incomplete"
        );
        assert_eq!(decompress_all(HELLO, 4), Err(Failed::TooLarge));
        assert_eq!(decompress_all(b"", 10), Err(Failed::Invalid));
    }
}
