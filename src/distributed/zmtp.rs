//! ZeroMQ's wire protocol as Locust's nodes speak it: ZMTP 3.x with the NULL mechanism over TCP (rfc.zeromq.org
//! specs 23 and 37), the part a ROUTER (the master) and a DEALER (a worker, or the fleet benchmark's simulated
//! worker) need — the 64-byte greeting, the READY command with its `Socket-Type`/`Identity` properties, PING/PONG,
//! and frames (a flags byte, a 1- or 8-byte length, the body).
//!
//! Pure byte handling plus two async helpers (the handshake, reading one message); no sockets are owned here.
//! Who calls it: [`super::router`] (the master's ROUTER) and `bench/fleet.rs`.
//!
//! What libzmq 4.3 (pyzmq, so every Locust node) does and this follows: it may send its greeting in pieces (the
//! 10-byte signature first); it accepts a whole greeting at once; it speaks 3.1 and accepts 3.0 peers; a DEALER
//! sends its routing id as the `Identity` property (empty when none was set: the ROUTER then makes one up); a
//! multipart message is frames with the MORE bit on all but the last. Older revisions (ZMTP 1.0/2.0, used by
//! libzmq < 4) and the PLAIN/CURVE mechanisms are refused with an error: Locust never uses them.
use bytes::{Buf, Bytes, BytesMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The greeting's length.
pub const GREETING_LEN: usize = 64;
/// Frame flags.
const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;
/// The largest frame accepted by default (a `logs` message is tens of KB, a locustfile a few hundred, a stats
/// report of 10,000 names a few MB; 64 MiB leaves room for any real one and keeps a broken peer from making the
/// master allocate gigabytes). The master's ROUTER lowers it for peers that have not registered
/// ([`Decoder::set_max_frame`], `router::UNREGISTERED_MAX_FRAME`).
pub const MAX_FRAME: usize = 64 << 20;
/// The largest frame during the handshake (a READY command is under 100 bytes with Locust's properties).
const HANDSHAKE_MAX_FRAME: usize = 64 << 10;

#[derive(Debug, Error)]
pub enum ZmtpError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a ZeroMQ peer (bad greeting signature)")]
    Signature,
    #[error("ZMTP {0}.x is not supported (3.0 or later needed)")]
    Version(u8),
    #[error("security mechanism {0:?} is not supported (only NULL)")]
    Mechanism(String),
    #[error("malformed {0} command")]
    Command(&'static str),
    #[error("peer socket type {0:?} cannot talk to a {1}")]
    SocketType(String, &'static str),
    #[error("frame of {0} bytes is larger than the {1}-byte limit")]
    TooLarge(u64, usize),
    #[error("the handshake timed out")]
    Timeout,
    #[error("connection closed")]
    Closed,
}

/// Our greeting: signature, version 3.1, mechanism NULL, not a server, zero filler.
pub fn greeting() -> [u8; GREETING_LEN] {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xFF;
    // bytes 1..9: padding (libzmq puts its routing-id length + 1 there, for ZMTP 1.0 peers; 1 = none)
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// Check a peer's greeting: its ZMTP version (major, minor).
pub fn check_greeting(g: &[u8; GREETING_LEN]) -> Result<(u8, u8), ZmtpError> {
    if g[0] != 0xFF || g[9] != 0x7F {
        return Err(ZmtpError::Signature);
    }
    if g[10] < 3 {
        return Err(ZmtpError::Version(g[10]));
    }
    let mechanism = &g[12..32];
    let end = mechanism.iter().position(|b| *b == 0).unwrap_or(20);
    if &mechanism[..end] != b"NULL" {
        return Err(ZmtpError::Mechanism(
            String::from_utf8_lossy(&mechanism[..end]).into_owned(),
        ));
    }
    Ok((g[10], g[11]))
}

/// Append a frame's header (flags and length) for a body of `len` bytes.
pub fn put_header(out: &mut Vec<u8>, len: usize, more: bool, command: bool) {
    let mut flags = 0u8;
    if more {
        flags |= MORE;
    }
    if command {
        flags |= COMMAND;
    }
    if len > 255 {
        out.push(flags | LONG);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    } else {
        out.push(flags);
        out.push(len as u8);
    }
}

/// One whole frame: header and body.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 9);
    put_header(&mut out, body.len(), false, false);
    out.extend_from_slice(body);
    out
}

/// A READY command frame with `Socket-Type` and, when given, `Identity`.
pub fn ready(socket_type: &str, identity: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    body.push(5);
    body.extend_from_slice(b"READY");
    let mut property = |name: &str, value: &[u8]| {
        body.push(name.len() as u8);
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    };
    property("Socket-Type", socket_type.as_bytes());
    if let Some(id) = identity {
        property("Identity", id);
    }
    let mut out = Vec::with_capacity(body.len() + 9);
    put_header(&mut out, body.len(), false, true);
    out.extend_from_slice(&body);
    out
}

/// A command frame's name and the bytes after it.
fn command_parts(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = *body.first()? as usize;
    let name = body.get(1..1 + n)?;
    Some((name, &body[1 + n..]))
}

/// The properties of a READY command's body (after its name).
fn properties(mut rest: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ZmtpError> {
    let bad = || ZmtpError::Command("READY");
    let mut out = Vec::new();
    while !rest.is_empty() {
        let n = rest[0] as usize;
        let name = rest.get(1..1 + n).ok_or_else(bad)?;
        let len_at = 1 + n;
        let len = rest.get(len_at..len_at + 4).ok_or_else(bad)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let value = rest.get(len_at + 4..len_at + 4 + len).ok_or_else(bad)?;
        out.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        rest = &rest[len_at + 4 + len..];
    }
    Ok(out)
}

/// What a peer said about itself in its READY command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    pub socket_type: String,
    /// Its routing id (empty when it set none).
    pub identity: Vec<u8>,
}

/// Whether our socket type `ours` talks to `theirs` (the pairs Locust uses and their libzmq peers).
fn compatible(ours: &str, theirs: &str) -> bool {
    matches!(
        (ours, theirs),
        ("ROUTER", "DEALER" | "REQ" | "ROUTER") | ("DEALER", "ROUTER" | "REP" | "DEALER")
    )
}

/// A frame as read: flags and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub more: bool,
    pub command: bool,
    pub body: Bytes,
}

/// Frames out of a byte stream, as they complete.
pub struct Decoder {
    buf: BytesMut,
    /// The largest frame taken (a larger one is an error before any of it is buffered).
    max_frame: usize,
    /// Once this flag is set, frames up to [`MAX_FRAME`] are taken (a master's peer that registered meanwhile:
    /// looked at when each frame's header is read, so a frame sent after the registration is judged by it).
    lifted_by: Option<Arc<AtomicBool>>,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        // small to start with (a master holds one per worker; most messages are a few hundred bytes), grown by
        // `fill` and `next_frame` as frames need
        Decoder {
            buf: BytesMut::with_capacity(1024),
            max_frame: MAX_FRAME,
            lifted_by: None,
        }
    }

    /// Take frames of at most `max` bytes from now on.
    pub fn set_max_frame(&mut self, max: usize) {
        self.max_frame = max;
        self.lifted_by = None;
    }

    /// Take frames of at most `max` bytes until `flag` is set, then up to [`MAX_FRAME`].
    pub fn set_max_frame_until(&mut self, max: usize, flag: Arc<AtomicBool>) {
        self.max_frame = max;
        self.lifted_by = Some(flag);
    }

    fn limit(&self) -> usize {
        match &self.lifted_by {
            Some(f) if f.load(Ordering::Acquire) => MAX_FRAME,
            _ => self.max_frame,
        }
    }

    /// The next complete frame in what has been read so far.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ZmtpError> {
        let Some(&flags) = self.buf.first() else {
            return Ok(None);
        };
        let (head, len) = if flags & LONG != 0 {
            if self.buf.len() < 9 {
                return Ok(None);
            }
            let mut n = [0u8; 8];
            n.copy_from_slice(&self.buf[1..9]);
            (9, u64::from_be_bytes(n))
        } else {
            if self.buf.len() < 2 {
                return Ok(None);
            }
            (2, u64::from(self.buf[1]))
        };
        let limit = self.limit();
        if len > limit as u64 {
            return Err(ZmtpError::TooLarge(len, limit));
        }
        let len = len as usize;
        if self.buf.len() < head + len {
            self.buf.reserve(head + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(head);
        let body = self.buf.split_to(len).freeze();
        Ok(Some(Frame {
            more: flags & MORE != 0,
            command: flags & COMMAND != 0,
            body,
        }))
    }

    /// Read more bytes from `io`; `Closed` at end of stream.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, io: &mut R) -> Result<(), ZmtpError> {
        if self.buf.capacity() - self.buf.len() < 512 {
            self.buf.reserve(4096);
        }
        let n = io.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(ZmtpError::Closed);
        }
        Ok(())
    }
}

/// What reading the next message gave.
#[derive(Debug)]
pub enum Incoming {
    /// A message's first frame (Locust's nodes send one frame; later frames of a multipart message are dropped,
    /// as Locust's `recv_from_client` ignores them).
    Message(Bytes),
    /// A PING to answer with this PONG frame.
    Ping(Vec<u8>),
}

/// The next message (or PING) from `io`; other commands (PONG, ERROR, SUBSCRIBE…) are skipped.
pub async fn read_message<R: AsyncRead + Unpin>(
    io: &mut R,
    dec: &mut Decoder,
) -> Result<Incoming, ZmtpError> {
    let mut first: Option<Bytes> = None;
    loop {
        while let Some(f) = dec.next_frame()? {
            if f.command {
                if let Some((b"PING", rest)) = command_parts(&f.body) {
                    // PING: a 2-byte TTL, then a context the PONG echoes
                    let context = rest.get(2..).unwrap_or(&[]);
                    let mut body = Vec::with_capacity(5 + context.len());
                    body.push(4);
                    body.extend_from_slice(b"PONG");
                    body.extend_from_slice(context);
                    let mut out = Vec::with_capacity(body.len() + 9);
                    put_header(&mut out, body.len(), false, true);
                    out.extend_from_slice(&body);
                    return Ok(Incoming::Ping(out));
                }
                continue;
            }
            let more = f.more;
            if first.is_none() {
                first = Some(f.body);
            }
            if !more {
                return Ok(Incoming::Message(first.take().unwrap_or_default()));
            }
        }
        dec.fill(io).await?;
    }
}

/// Greeting and READY both ways, within `timeout`. Returns what the peer said and the decoder holding any bytes
/// that came after its READY.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    socket_type: &'static str,
    identity: Option<&[u8]>,
    timeout: Duration,
) -> Result<(PeerInfo, Decoder), ZmtpError> {
    tokio::time::timeout(timeout, handshake_inner(io, socket_type, identity))
        .await
        .map_err(|_| ZmtpError::Timeout)?
}

async fn handshake_inner<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    socket_type: &'static str,
    identity: Option<&[u8]>,
) -> Result<(PeerInfo, Decoder), ZmtpError> {
    let mut out = greeting().to_vec();
    out.extend_from_slice(&ready(socket_type, identity));
    io.write_all(&out).await?;
    let mut dec = Decoder::new();
    dec.set_max_frame(HANDSHAKE_MAX_FRAME);
    while dec.buf.len() < GREETING_LEN {
        dec.fill(io).await?;
        // a peer that is not ZeroMQ is told apart by its first byte
        if dec.buf[0] != 0xFF {
            return Err(ZmtpError::Signature);
        }
    }
    let mut g = [0u8; GREETING_LEN];
    g.copy_from_slice(&dec.buf[..GREETING_LEN]);
    dec.buf.advance(GREETING_LEN);
    check_greeting(&g)?;
    loop {
        while let Some(f) = dec.next_frame()? {
            if !f.command {
                return Err(ZmtpError::Command("READY"));
            }
            let Some((name, rest)) = command_parts(&f.body) else {
                return Err(ZmtpError::Command("READY"));
            };
            if name != b"READY" {
                if name == b"ERROR" {
                    return Err(ZmtpError::Command("ERROR"));
                }
                continue;
            }
            let mut info = PeerInfo {
                socket_type: String::new(),
                identity: Vec::new(),
            };
            for (k, v) in properties(rest)? {
                if k.eq_ignore_ascii_case("Socket-Type") {
                    info.socket_type = String::from_utf8_lossy(&v).into_owned();
                } else if k.eq_ignore_ascii_case("Identity") {
                    info.identity = v;
                }
            }
            if !compatible(socket_type, &info.socket_type) {
                return Err(ZmtpError::SocketType(info.socket_type, socket_type));
            }
            dec.set_max_frame(MAX_FRAME);
            return Ok((info, dec));
        }
        dec.fill(io).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_short_and_long() {
        let mut dec = Decoder::new();
        dec.buf.extend_from_slice(&frame(b"abc"));
        let long = vec![7u8; 300];
        dec.buf.extend_from_slice(&frame(&long));
        let a = dec.next_frame().unwrap().unwrap();
        assert_eq!(&a.body[..], b"abc");
        assert!(!a.more && !a.command);
        let b = dec.next_frame().unwrap().unwrap();
        assert_eq!(b.body.len(), 300);
        assert!(dec.next_frame().unwrap().is_none());
        // a long header with a body over the limit is refused before anything is allocated
        dec.buf.extend_from_slice(&[LONG, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert!(matches!(
            dec.next_frame(),
            Err(ZmtpError::TooLarge(_, MAX_FRAME))
        ));
        // a lower limit (a master's, for a peer not registered yet)
        let mut dec = Decoder::new();
        dec.set_max_frame(1000);
        dec.buf.extend_from_slice(&frame(&[0u8; 1000]));
        assert_eq!(dec.next_frame().unwrap().unwrap().body.len(), 1000);
        dec.buf
            .extend_from_slice(&[LONG, 0, 0, 0, 0, 0, 0, 0x03, 0xe9]);
        assert!(matches!(
            dec.next_frame(),
            Err(ZmtpError::TooLarge(1001, 1000))
        ));
    }

    #[test]
    fn partial_frames_wait_for_the_rest() {
        let mut dec = Decoder::new();
        let whole = frame(&[1u8; 1000]);
        dec.buf.extend_from_slice(&whole[..5]);
        assert!(dec.next_frame().unwrap().is_none());
        dec.buf.extend_from_slice(&whole[5..600]);
        assert!(dec.next_frame().unwrap().is_none());
        dec.buf.extend_from_slice(&whole[600..]);
        assert_eq!(dec.next_frame().unwrap().unwrap().body.len(), 1000);
    }

    #[test]
    fn greeting_checks() {
        let g = greeting();
        assert_eq!(check_greeting(&g).unwrap(), (3, 1));
        let mut old = g;
        old[10] = 1;
        assert!(matches!(check_greeting(&old), Err(ZmtpError::Version(1))));
        let mut plain = g;
        plain[12..17].copy_from_slice(b"PLAIN");
        assert!(matches!(
            check_greeting(&plain),
            Err(ZmtpError::Mechanism(m)) if m == "PLAIN"
        ));
        let mut http = g;
        http[0] = b'G';
        assert!(matches!(check_greeting(&http), Err(ZmtpError::Signature)));
    }

    #[test]
    fn ready_properties_round_trip() {
        let f = ready("DEALER", Some(b"host_abc"));
        let mut dec = Decoder::new();
        dec.buf.extend_from_slice(&f);
        let f = dec.next_frame().unwrap().unwrap();
        assert!(f.command);
        let (name, rest) = command_parts(&f.body).unwrap();
        assert_eq!(name, b"READY");
        let props = properties(rest).unwrap();
        assert_eq!(props[0], ("Socket-Type".into(), b"DEALER".to_vec()));
        assert_eq!(props[1], ("Identity".into(), b"host_abc".to_vec()));
        assert!(properties(&[3, b'a']).is_err());
    }

    #[tokio::test]
    async fn handshake_both_ways_then_messages_and_ping() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let router = tokio::spawn(async move {
            let (peer, mut dec) = handshake(&mut a, "ROUTER", Some(b""), Duration::from_secs(5))
                .await
                .unwrap();
            let m1 = read_message(&mut a, &mut dec).await.unwrap();
            let m2 = read_message(&mut a, &mut dec).await.unwrap();
            let p = read_message(&mut a, &mut dec).await.unwrap();
            (peer, m1, m2, p)
        });
        let (peer, _dec) = handshake(&mut b, "DEALER", Some(b"w_1"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(peer.socket_type, "ROUTER");
        let mut out = frame(b"one");
        // a two-frame message: only its first frame is kept
        put_header(&mut out, 3, true, false);
        out.extend_from_slice(b"two");
        put_header(&mut out, 5, false, false);
        out.extend_from_slice(b"extra");
        // PING with TTL 0 and context "ctx"
        let body = [&[4u8][..], b"PING", &[0, 0], b"ctx"].concat();
        put_header(&mut out, body.len(), false, true);
        out.extend_from_slice(&body);
        b.write_all(&out).await.unwrap();
        let (peer, m1, m2, p) = router.await.unwrap();
        assert_eq!(peer.identity, b"w_1");
        assert_eq!(peer.socket_type, "DEALER");
        assert!(matches!(m1, Incoming::Message(m) if &m[..] == b"one"));
        assert!(matches!(m2, Incoming::Message(m) if &m[..] == b"two"));
        match p {
            Incoming::Ping(pong) => {
                assert_eq!(&pong[2..], &[&[4u8][..], b"PONG", b"ctx"].concat()[..])
            }
            other => panic!("expected a ping, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn incompatible_socket_types_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let router =
            tokio::spawn(
                async move { handshake(&mut a, "ROUTER", None, Duration::from_secs(5)).await },
            );
        let _ = handshake(&mut b, "PUB", None, Duration::from_secs(5)).await;
        assert!(matches!(
            router.await.unwrap(),
            Err(ZmtpError::SocketType(t, "ROUTER")) if t == "PUB"
        ));
    }
}
