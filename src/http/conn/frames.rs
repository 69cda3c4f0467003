//! When an HTTP/2 connection's frames reached the socket: the connection's bytes pass through [`Stamped`], which
//! follows the frame boundaries in both directions and notes, per stream, when each DATA frame arrived (the read
//! that completed it, less its socket wait where the kernel stamps packets: `stamp`), when the response head and
//! the end of the stream arrived, and when the request's last frame was written.
//!
//! Why: the `h2` crate reads the socket on the connection's own task and hands a stream's DATA to its reader
//! later, when that task is scheduled; a frame timed when the reader gets it would carry that wait (and the waits
//! of the frames queued before it). Timed here, an HTTP/2 stream's `ttft` and `itl` are what an HTTP/1.1 one's
//! are: when the bytes reached the socket.
//!
//! Who calls it: `h2::handshake` wraps the connection; `h2::attempt` claims its stream's stamps ([`Log::take`],
//! [`Log::finish`]). What it must not do: change a byte (it only looks at them), or keep stamps without bound: at
//! most [`MAX_TRACKS`] streams and [`MAX_FRAMES`] unclaimed frames per stream are kept (a stream nobody claims, or
//! one that goes on after its reader left, loses its oldest).
use super::Stream;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Streams followed at once on one connection (a user's requests in flight on it).
const MAX_TRACKS: usize = 64;
/// Unclaimed DATA frames kept per stream (the receive window bounds them long before this, at any frame size a
/// server uses).
const MAX_FRAMES: usize = 4096;
/// The client's connection preface, written before its first frame.
const PREFACE: usize = 24;

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const PADDED: u8 = 0x8;

/// What one stream's frames showed.
#[derive(Debug, Default)]
struct Track {
    id: u32,
    /// DATA frames not yet claimed: their data length (without padding) and arrival.
    data: VecDeque<(usize, Instant)>,
    /// The latest response HEADERS (or CONTINUATION) frame before any DATA: the head's arrival.
    head: Option<Instant>,
    /// The frame that ended the response (END_STREAM).
    end: Option<Instant>,
    /// The request's last frame written (END_STREAM).
    sent: Option<Instant>,
    seen_data: bool,
}

/// The stamps of one connection's streams, shared by the connection's task (which writes them as bytes pass) and
/// the requests on it (which claim them).
#[derive(Debug, Default)]
pub(super) struct Log {
    rx: Parser,
    tx: Parser,
    tracks: Vec<Track>,
}

impl Log {
    fn track(&mut self, id: u32) -> &mut Track {
        if let Some(i) = self.tracks.iter().position(|t| t.id == id) {
            return &mut self.tracks[i];
        }
        if self.tracks.len() >= MAX_TRACKS
            && let Some(i) = (0..self.tracks.len()).min_by_key(|&i| self.tracks[i].id)
        {
            self.tracks.swap_remove(i);
        }
        self.tracks.push(Track {
            id,
            ..Track::default()
        });
        self.tracks.last_mut().expect("just pushed")
    }

    fn received(&mut self, f: Frame, at: Instant) {
        if f.id == 0 {
            return;
        }
        let t = self.track(f.id);
        match f.kind {
            DATA => {
                t.seen_data = true;
                if f.data > 0 {
                    if t.data.len() >= MAX_FRAMES {
                        t.data.pop_front();
                    }
                    t.data.push_back((f.data, at));
                }
            }
            HEADERS | CONTINUATION if !t.seen_data => t.head = Some(at),
            _ => {}
        }
        if f.flags & END_STREAM != 0 && matches!(f.kind, DATA | HEADERS) {
            t.end = Some(at);
        }
    }

    /// Bytes read off the connection `at`: their frames noted (no allocation: the parser calls back per frame).
    fn on_read(&mut self, bytes: &[u8], at: Instant) {
        let mut rx = std::mem::take(&mut self.rx);
        rx.feed(bytes, |f| self.received(f, at));
        self.rx = rx;
    }

    /// Bytes written to the connection `at`: the requests' last frames noted.
    fn on_write(&mut self, bytes: &[u8], at: Instant) {
        let mut tx = std::mem::take(&mut self.tx);
        tx.feed(bytes, |f| self.written(f, at));
        self.tx = tx;
    }

    fn written(&mut self, f: Frame, at: Instant) {
        if f.id != 0 && f.flags & END_STREAM != 0 && matches!(f.kind, DATA | HEADERS) {
            self.track(f.id).sent = Some(at);
        }
    }

    /// Stream `id`'s reader got `n` more bytes of DATA: when the last of them arrived (`None` when not followed).
    pub(super) fn take(&mut self, id: u32, mut n: usize) -> Option<Instant> {
        let t = self.tracks.iter_mut().find(|t| t.id == id)?;
        let mut at = None;
        while n > 0 {
            let Some(front) = t.data.front_mut() else {
                break;
            };
            at = Some(front.1);
            if front.0 <= n {
                n -= front.0;
                t.data.pop_front();
            } else {
                front.0 -= n;
                n = 0;
            }
        }
        at
    }

    /// Stream `id`'s head arrival and request-sent stamps, as known now.
    pub(super) fn head(&self, id: u32) -> (Option<Instant>, Option<Instant>) {
        self.tracks
            .iter()
            .find(|t| t.id == id)
            .map_or((None, None), |t| (t.head, t.sent))
    }

    /// Stream `id` is done: its end's arrival, and its stamps forgotten.
    pub(super) fn finish(&mut self, id: u32) -> Option<Instant> {
        let i = self.tracks.iter().position(|t| t.id == id)?;
        self.tracks.swap_remove(i).end
    }
}

/// A frame whose bytes have all passed.
#[derive(Debug, Clone, Copy, Default)]
struct Frame {
    kind: u8,
    flags: u8,
    id: u32,
    /// DATA: the payload less its padding.
    data: usize,
}

/// Frame boundaries in one direction of the connection.
#[derive(Debug, Default)]
struct Parser {
    /// Bytes still to skip before the first frame (the client's preface).
    skip: usize,
    head: [u8; 9],
    have: usize,
    /// Payload bytes of the current frame still to pass.
    left: usize,
    /// The current frame's payload length.
    len: usize,
    frame: Frame,
}

impl Parser {
    fn feed(&mut self, mut bytes: &[u8], mut done: impl FnMut(Frame)) {
        let skip = self.skip.min(bytes.len());
        self.skip -= skip;
        bytes = &bytes[skip..];
        while !bytes.is_empty() {
            if self.have < 9 {
                let n = (9 - self.have).min(bytes.len());
                self.head[self.have..self.have + n].copy_from_slice(&bytes[..n]);
                self.have += n;
                bytes = &bytes[n..];
                if self.have < 9 {
                    return;
                }
                let h = self.head;
                self.len = (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
                self.left = self.len;
                self.frame = Frame {
                    kind: h[3],
                    flags: h[4],
                    id: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
                    data: self.len,
                };
                if self.frame.kind == DATA && self.frame.flags & PADDED != 0 {
                    self.frame.data = 0; // (known once the pad length byte passes)
                }
            } else {
                let n = self.left.min(bytes.len());
                if self.frame.kind == DATA
                    && self.frame.flags & PADDED != 0
                    && self.left == self.len
                    && n > 0
                {
                    self.frame.data = self.len.saturating_sub(1 + usize::from(bytes[0]));
                }
                self.left -= n;
                bytes = &bytes[n..];
            }
            if self.have == 9 && self.left == 0 {
                self.have = 0;
                done(self.frame);
            }
        }
    }
}

/// A connection whose frames are stamped as they pass (see the module header).
pub(super) struct Stamped {
    inner: Stream,
    log: Arc<Mutex<Log>>,
}

impl Stamped {
    pub(super) fn new(inner: Stream) -> (Stamped, Arc<Mutex<Log>>) {
        let log = Arc::new(Mutex::new(Log {
            tx: Parser {
                skip: PREFACE,
                ..Parser::default()
            },
            ..Log::default()
        }));
        (
            Stamped {
                inner,
                log: log.clone(),
            },
            log,
        )
    }
}

impl AsyncRead for Stamped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        let lag = match &mut me.inner {
            Stream::Plain(tcp) => ready!(super::stamp::poll_read(tcp, cx, buf))?,
            Stream::Tls(s) => {
                ready!(Pin::new(s.as_mut()).poll_read(cx, buf))?;
                None
            }
        };
        let got = &buf.filled()[before..];
        if !got.is_empty() {
            let now = Instant::now();
            let at = now
                .checked_sub(lag.unwrap_or(Duration::ZERO))
                .unwrap_or(now);
            me.log.lock().on_read(got, at);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let n = ready!(Pin::new(&mut me.inner).poll_write(cx, buf))?;
        if n > 0 {
            me.log.lock().on_write(&buf[..n], Instant::now());
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // one slice at a time, so that the bytes written are known to the parser
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        self.poll_write(cx, first)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, id: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn feed_rx(log: &mut Log, bytes: &[u8], at: Instant) {
        log.on_read(bytes, at);
    }

    #[test]
    fn data_frames_are_stamped_by_the_read_that_completed_them_and_claimed_by_bytes() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut log = Log::default();
        let mut wire = frame(4, 0, 0, &[0; 6]); // SETTINGS
        wire.extend(frame(HEADERS, 0x4, 1, b"hdr"));
        let d1 = frame(DATA, 0, 1, b"hello");
        wire.extend(&d1[..7]);
        feed_rx(&mut log, &wire, ms(1));
        // the first DATA frame is completed by the second read
        let mut rest = d1[7..].to_vec();
        // a padded frame: pad length 2, "ab", two pad bytes
        rest.extend(frame(DATA, PADDED, 1, &[2, b'a', b'b', 0, 0]));
        feed_rx(&mut log, &rest, ms(5));
        feed_rx(&mut log, &frame(DATA, END_STREAM, 1, b"!"), ms(9));
        assert_eq!(log.head(1).0, Some(ms(1)));
        assert_eq!(log.take(1, 5), Some(ms(5)));
        assert_eq!(log.take(1, 1), Some(ms(5)));
        assert_eq!(log.take(1, 1), Some(ms(5)));
        assert_eq!(log.take(1, 1), Some(ms(9)));
        assert_eq!(log.take(1, 1), None);
        assert_eq!(log.finish(1), Some(ms(9)));
        assert!(log.tracks.is_empty());
    }

    #[test]
    fn the_request_is_sent_when_its_end_stream_frame_is_written_after_the_preface() {
        let t0 = Instant::now();
        let mut log = Log {
            tx: Parser {
                skip: PREFACE,
                ..Parser::default()
            },
            ..Log::default()
        };
        let mut wire = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        wire.extend(frame(HEADERS, 0x4, 3, b"h"));
        wire.extend(frame(DATA, END_STREAM, 3, b"{}"));
        for (i, b) in wire.iter().enumerate() {
            log.on_write(
                std::slice::from_ref(b),
                t0 + Duration::from_micros(i as u64),
            );
        }
        let last = t0 + Duration::from_micros(wire.len() as u64 - 1);
        assert_eq!(log.head(3), (None, Some(last)));
    }

    #[test]
    fn streams_and_frames_kept_are_bounded() {
        let at = Instant::now();
        let mut log = Log::default();
        for id in 0..(MAX_TRACKS as u32 + 10) {
            feed_rx(&mut log, &frame(DATA, 0, 2 * id + 1, b"x"), at);
        }
        assert_eq!(log.tracks.len(), MAX_TRACKS);
        for _ in 0..MAX_FRAMES + 10 {
            feed_rx(&mut log, &frame(DATA, 0, 1001, b"x"), at);
        }
        let t = log.tracks.iter().find(|t| t.id == 1001).unwrap();
        assert_eq!(t.data.len(), MAX_FRAMES);
    }
}
