//! HTTP/1.1 exchanges over one user's keep-alive connections: connect (with the connect timeout), write the
//! request, feed what the socket gives to the client's response reader (`wire`) with the read timeout, put the
//! connection back when the response ended cleanly.
//!
//! Why not hyper's pooled client: it runs every connection as its own task with 8 KiB read and write buffers
//! kept while idle, and hands each request to that task through channels. A simulated user sends one request
//! at a time on a connection it owns, so the exchange runs inline in the caller's future. An idle connection
//! is a socket and nothing else (the read buffer lives only during an exchange). And the response must be read
//! the way the locustfile's client reads it (`wire::Dialect`), which no general-purpose client does.
//!
//! NOTE (timeouts, reference §1.3): as in requests, the connect timeout bounds the TCP (and TLS) connect and the
//! read timeout bounds each wait for bytes of the body, so a slow but steady body is not a failure. rlocust bounds
//! more than requests in one place, deliberately: the whole response head must arrive within the read timeout
//! (requests waits for a head that trickles in forever).
use super::events::{Framing, Marks, Watch};
use super::timings::{Setup, Stamps};
use super::tls::{self, Tls};
use super::wire::{self, Dialect, Reader, Step};
use super::{HttpError, Proxy};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method};
use parking_lot::Mutex;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use url::Url;

mod frames;
mod h2;
mod stamp;

/// Idle connections a user keeps (per pool; a user rarely has more than one request in flight).
const MAX_IDLE: usize = 16;
/// Below this idle time a pooled connection's readiness, as the reactor knows it, decides its reuse (see
/// `Stream::reusable`).
const TRUST_READINESS: Duration = Duration::from_millis(500);

/// Idle connections older than this are closed instead of reused (hyper's and urllib3's order of magnitude).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// First read of a response; grown as needed.
const READ_CHUNK: usize = 4096;
/// Bodies up to this size are sent in the same write as the request head.
const INLINE_BODY: usize = 16 * 1024;

/// The timeouts of one call (`None`: wait forever, as requests does without `timeout=`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timeouts {
    pub connect: Option<Duration>,
    pub read: Option<Duration>,
}

/// Where a connection goes: scheme, host, port, whether the certificate is verified, and the proxy it goes
/// through (a connection to a proxy is reused only for the same proxy and credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    https: bool,
    host: String,
    port: u16,
    verify: bool,
    proxy: Option<Proxy>,
    tls: Option<Arc<tls::TlsProfile>>,
    /// HTTP/2 wanted (ALPN `h2` over TLS, prior knowledge over plain TCP); a TLS server that picks HTTP/1.1 gets
    /// HTTP/1.1 connections under this key.
    h2: bool,
}

/// A [`Key`] made of the call's own parts, to look up an idle connection without copying them (the host's
/// `String` was one of the allocations of every request).
struct KeyRef<'a> {
    https: bool,
    host: &'a str,
    port: u16,
    verify: bool,
    proxy: Option<&'a Proxy>,
    tls: Option<&'a Arc<tls::TlsProfile>>,
    h2: bool,
}

impl KeyRef<'_> {
    fn matches(&self, k: &Key) -> bool {
        k.https == self.https
            && k.port == self.port
            && k.verify == self.verify
            && k.h2 == self.h2
            && k.host == self.host
            && k.proxy.as_ref() == self.proxy
            && k.tls.as_ref() == self.tls
    }

    fn to_owned(&self) -> Key {
        Key {
            https: self.https,
            host: self.host.to_string(),
            port: self.port,
            verify: self.verify,
            proxy: self.proxy.cloned(),
            tls: self.tls.cloned(),
            h2: self.h2,
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }

    /// Whether HTTP/2 goes on this new connection: TLS that negotiated `h2`, or plain TCP (prior knowledge).
    fn speaks_h2(&self, https: bool) -> bool {
        match self {
            Stream::Plain(_) => !https,
            Stream::Tls(s) => s.get_ref().1.alpn_protocol() == Some(b"h2"),
        }
    }

    /// Whether an idle connection can carry another request: the peer has not closed it and has sent nothing
    /// unasked (a TLS close_notify, a stray byte). Checked without blocking and without consuming anything.
    ///
    /// A connection idle for less than [`TRUST_READINESS`] is asked of the reactor only: the response's last
    /// (short) read cleared the socket's readiness, so no readiness means no byte and no close has arrived, and
    /// no system call is made (the `recv` below was one per request: 0.9 of the 3.35 per request of the
    /// throughput benchmark, docs/performance.md). Servers close or answer idle connections after seconds
    /// (their keep-alive timeouts); a connection idle that long, or one the reactor has seen something on, is
    /// asked of the socket itself. A close that arrives in between is the stale connection every client meets:
    /// the request goes again on a new one (`closed_early`).
    fn reusable(&self, idle: Duration) -> bool {
        if idle < TRUST_READINESS {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if self.tcp().poll_read_ready(&mut cx).is_pending() {
                return true;
            }
        }
        let mut byte = 0u8;
        // SAFETY: recv on a valid, open socket fd into a one-byte buffer we own; MSG_PEEK leaves the data queued.
        let n = unsafe {
            libc::recv(
                self.tcp().as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

struct Idle {
    key: Key,
    stream: Stream,
    /// When it was put back, on the coarse clock ([`coarse_now`]).
    since: Duration,
}

/// The monotonic clock at the kernel's tick (`CLOCK_MONOTONIC_COARSE`, 1-4 ms): enough for idle times judged in
/// hundreds of milliseconds and seconds, and read from the vDSO's data alone. The precise clock was two of the I/O
/// thread's ten reads a request (about 40 ns each under KVM).
fn coarse_now() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec we own (it cannot fail for this clock on Linux; were it to, the
        // zero left in it reads as "idle for no time", which asks the reactor only, as for a fresh connection)
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(Instant::now).elapsed()
    }
}

/// One user's idle keep-alive connections, and its HTTP/2 connections (shared by its concurrent requests).
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<Idle>>,
    h2: Mutex<Vec<H2Conn>>,
    /// Plain-HTTP origins that answered the HTTP/2 preface in HTTP/1.1: they get HTTP/1.1 from then on.
    h1_only: Mutex<Vec<Key>>,
}

struct H2Conn {
    key: Key,
    send: h2::Handle,
    used: Instant,
}

impl Pool {
    pub fn clear(&self) {
        self.idle.lock().clear();
        self.h2.lock().clear();
    }

    /// A handle to the user's HTTP/2 connection for `key`, if it has one that was used recently.
    fn h2(&self, key: &Key) -> Option<h2::Handle> {
        let mut conns = self.h2.lock();
        conns.retain(|c| c.used.elapsed() < IDLE_TIMEOUT);
        let c = conns.iter_mut().rev().find(|c| &c.key == key)?;
        c.used = Instant::now();
        Some(c.send.clone())
    }

    fn put_h2(&self, key: Key, send: h2::Handle) {
        let mut conns = self.h2.lock();
        if conns.len() >= MAX_IDLE {
            conns.remove(0);
        }
        conns.push(H2Conn {
            key,
            send,
            used: Instant::now(),
        });
    }

    fn drop_h2(&self, key: &Key) {
        self.h2.lock().retain(|c| &c.key != key);
    }

    fn h1_only(&self, key: &Key) -> bool {
        self.h1_only.lock().contains(key)
    }

    /// An idle connection for `key` that can carry another request, with the key it was kept under.
    fn take(&self, key: &KeyRef<'_>) -> Option<(Key, Stream)> {
        let mut idle = self.idle.lock();
        while let Some(i) = idle.iter().rposition(|c| key.matches(&c.key)) {
            let c = idle.swap_remove(i);
            let idle = coarse_now().saturating_sub(c.since);
            if idle < IDLE_TIMEOUT && c.stream.reusable(idle) {
                return Some((c.key, c.stream));
            }
        }
        None
    }

    fn put(&self, key: Key, stream: Stream) {
        let mut idle = self.idle.lock();
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        // A user mostly keeps one connection: room for one (144 bytes) rather than the four a first push makes
        // room for (issue 29's memory per user, ~430 bytes each of 10,000 users).
        idle.reserve_exact(1);
        idle.push(Idle {
            key,
            stream,
            since: coarse_now(),
        });
    }
}

/// A response as the client reads it (body content-decoded by the dialect's rules).
#[derive(Debug)]
pub struct RawResponse {
    pub head: wire::Head,
    pub body: Bytes,
    /// The body before content decoding, where it differs ([`wire::Complete::encoded`]).
    pub encoded: Option<Bytes>,
    /// What the exchange observed: the connection's setup when it was opened for it, the request written (over
    /// HTTP/2, its END_STREAM frame: `frames`), the head and the body's first byte arriving (where the kernel
    /// stamps packets: `stamp`), and how long the last bytes read (of the head, for a streamed response) had
    /// waited in the socket. Carried as it is up to the recorder (`timings`).
    pub stamps: Stamps,
    /// A streamed response's unread body (the call had `stream=True`); `body` is what was decoded with the head.
    pub tail: Option<Box<Tail>>,
    /// What its body showed as it arrived (`events`), when it was watched: a call with `stream=True`, or an
    /// event stream. A streamed response's marks stay with its [`Tail`] until the body ends.
    pub marks: Option<Box<Marks>>,
}

/// Why an attempt failed, and whether trying again on a new connection is what the client does: nothing of a
/// response arrived (a reused connection the server had closed while it was idle, or FastHttpUser's retries).
struct Failed {
    error: HttpError,
    closed_early: bool,
    /// A fresh prior-knowledge HTTP/2 connection failed on the protocol before any response: the server speaks
    /// HTTP/1.1 only (its answer to the preface is not a frame), and HTTP/1.1 carries the request instead.
    not_h2: bool,
}

/// What one exchange needs besides the connection: the request bytes and how to read the answer.
pub struct Call<'a> {
    pub verify: bool,
    pub method: &'a Method,
    pub url: &'a Url,
    pub headers: &'a HeaderMap,
    /// Header lines a `HeaderMap` cannot hold, written as they are after its headers (`name: value\r\n`):
    /// requests sends names and values http.client accepts that are not HTTP tokens, and the server decides.
    pub extra_head: &'a [u8],
    pub body: &'a [u8],
    pub dialect: Dialect,
    pub ctx: &'a Arc<wire::Context>,
    pub timeouts: Timeouts,
    /// The connect timeout as the locustfile gave it (for requests' ConnectTimeoutError text).
    pub connect_timeout: &'a str,
    /// How many more fresh connections to try when one closes before any response byte (geventhttpclient retries
    /// idempotent requests up to its pool size + 1 times; requests does not).
    pub retries_on_close: u32,
    /// The HTTP proxy to go through.
    pub proxy: Option<&'a Proxy>,
    /// A CA bundle or client certificate (None: the defaults by `verify`).
    pub tls: Option<Arc<tls::TlsProfile>>,
    /// Use HTTP/2 where the server speaks it (see `h2`); not through a forwarding proxy (plain HTTP via a proxy).
    pub http2: bool,
    /// `stream=True` (HttpUser): return at the response head, the body to be read through [`RawResponse::tail`].
    pub stream: bool,
    /// The call asked for a stream (`stream=True`, either client): its body is watched (`events`) whatever its
    /// type; without it only event streams (`text/event-stream`, NDJSON) are.
    pub watch: bool,
}

/// Send one request and read its response, reusing an idle connection of `pool` when there is one.
pub async fn exchange(
    tls: &Tls,
    pool: &Arc<Pool>,
    call: &Call<'_>,
) -> Result<RawResponse, HttpError> {
    let url = call.url;
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        other => {
            return Err(HttpError::InvalidUrl(format!(
                "No connection adapters were found for {:?} (scheme {other:?})",
                url.as_str()
            )));
        }
    };
    let Some(host) = url.host_str() else {
        return Err(HttpError::InvalidUrl(format!(
            "Invalid URL {:?}: No host supplied",
            url.as_str()
        )));
    };
    let look = KeyRef {
        https,
        host,
        port: url.port_or_known_default().unwrap_or(80),
        verify: call.verify,
        proxy: call.proxy,
        tls: call.tls.as_ref().filter(|_| https),
        h2: call.http2 && (https || call.proxy.is_none()),
    };
    if call.dialect == Dialect::Fast
        && [call.timeouts.connect, call.timeouts.read].contains(&Some(Duration::ZERO))
    {
        // NOTE: geventhttpclient with a zero timeout makes its sockets non-blocking: every request fails so.
        return Err(read_error(
            wire::exc::os_error(
                "builtins.BlockingIOError",
                11,
                "Resource temporarily unavailable",
            ),
            None,
        ));
    }
    // A small body goes out in the same write as the head; a large one is written after it.
    let inline = call.body.len() <= INLINE_BODY;
    // through a proxy, a plain-HTTP request names its absolute URL and carries the proxy's credentials (an HTTPS
    // one is tunnelled: the proxy sees only the CONNECT)
    let forwarded = call.proxy.filter(|_| !https);
    let mut wire = request_head(
        call.method,
        url,
        call.headers,
        call.extra_head,
        if inline { call.body.len() } else { 0 },
        forwarded,
    );
    let rest = if inline {
        wire.extend_from_slice(call.body);
        &[][..]
    } else {
        call.body
    };
    let close = wants_close(call.headers);
    let mut retries = call.retries_on_close;
    // (the key is made only for a new connection or HTTP/2: a reused connection goes back under its own)
    let mut owned = None;
    if look.h2 {
        let key = look.to_owned();
        if !pool.h1_only(&key) {
            if let Some(send) = pool.h2(&key) {
                match h2::attempt(send, call).await {
                    Ok(resp) => return Ok(resp),
                    Err(f) if f.closed_early => pool.drop_h2(&key), // gone while idle: a new connection follows
                    Err(f) => return Err(f.error),
                }
            }
            // a fresh HTTP/2 connection gets one more try when the server refuses the stream at once
            retries = retries.max(1);
        }
        owned = Some(key);
    }
    if let Some((key, stream)) = pool.take(&look) {
        match attempt(stream, &wire, rest, call, close).await {
            Ok((resp, Some(stream))) => {
                pool.put(key, stream);
                return Ok(resp);
            }
            Ok((resp, None)) => return Ok(homed(resp, pool, &key)),
            Err(f) if f.closed_early => owned = Some(key), // closed while idle: a new connection follows
            Err(f) => return Err(f.error),
        }
    }
    let key = owned.unwrap_or_else(|| look.to_owned());
    loop {
        // boxed: the TLS handshake state is large and only needed when a connection is opened
        let (stream, setup) = Box::pin(connect(tls, &key, call)).await?;
        let set_up = |mut resp: RawResponse| {
            resp.stamps.setup = Some(setup);
            resp
        };
        if key.h2 && stream.speaks_h2(key.https) && !pool.h1_only(&key) {
            let plain = matches!(stream, Stream::Plain(_));
            let handshake = h2::handshake(stream);
            let send = match call.timeouts.connect {
                Some(t) => tokio::time::timeout(t, handshake)
                    .await
                    .unwrap_or_else(|_| {
                        Err(HttpError::ConnectTimeout {
                            timeout: call.connect_timeout.to_string(),
                        })
                    })?,
                None => handshake.await?,
            };
            pool.put_h2(key.clone(), send.clone());
            match h2::attempt(send, call).await {
                Ok(resp) => return Ok(set_up(resp)),
                Err(f) if f.closed_early && retries > 0 => {
                    pool.drop_h2(&key);
                    retries -= 1;
                }
                // an HTTP/1.1-only server (h2c by prior knowledge cannot ask first): the request was not
                // understood, so it goes again over HTTP/1.1 on a new connection
                Err(f) if f.not_h2 && plain => {
                    pool.drop_h2(&key);
                    pool.h1_only.lock().push(key.clone());
                }
                Err(f) => return Err(f.error),
            }
            continue;
        }
        match attempt(stream, &wire, rest, call, close).await {
            Ok((resp, Some(stream))) => {
                pool.put(key, stream);
                return Ok(set_up(resp));
            }
            Ok((resp, None)) => return Ok(homed(set_up(resp), pool, &key)),
            Err(f) if f.closed_early && retries > 0 => retries -= 1,
            Err(f) => return Err(f.error),
        }
    }
}

/// A streamed response's connection goes back to `pool` under `key` when its body ends.
fn homed(mut resp: RawResponse, pool: &Arc<Pool>, key: &Key) -> RawResponse {
    if let Some(t) = resp.tail.as_mut() {
        t.home = Some((pool.clone(), key.clone()));
    }
    resp
}

/// TCP connect (to the proxy when there is one, then its CONNECT tunnel for HTTPS), then the TLS handshake, each
/// bounded by the connect timeout (as in both clients).
async fn connect(tls: &Tls, key: &Key, call: &Call<'_>) -> Result<(Stream, Setup), HttpError> {
    let limit = call.timeouts.connect;
    let (host, port) = match &key.proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (key.host.as_str(), key.port),
    };
    let opened = async {
        let tcp = connect_tcp(host, port).await?;
        match (&key.proxy, key.https) {
            (Some(p), true) => tunnel(tcp, key, p).await,
            _ => Ok(tcp),
        }
    };
    let result = match limit {
        Some(t) => match tokio::time::timeout(t, opened).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::ConnectTimeout {
                timeout: call.connect_timeout.to_string(),
            }),
        },
        None => opened.await,
    };
    let tcp = match (result, &key.proxy) {
        (Ok(tcp), _) => tcp,
        (Err(e @ HttpError::ProxyTunnel { .. }), _) | (Err(e), None) => return Err(e),
        (Err(e), Some(p)) => {
            return Err(HttpError::ProxyConnect {
                cause: Box::new(e),
                host: p.host.clone(),
                port: p.port,
            });
        }
    };
    let connected = Instant::now();
    if !key.https {
        return Ok((
            Stream::Plain(tcp),
            Setup {
                connected,
                secured: None,
            },
        ));
    }
    let stream = match limit {
        Some(t) => match tokio::time::timeout(t, handshake(tls, key, tcp)).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::HandshakeTimeout {
                timeout: call.connect_timeout.to_string(),
            }),
        },
        None => handshake(tls, key, tcp).await,
    }?;
    let secured = Some(Instant::now());
    Ok((stream, Setup { connected, secured }))
}

async fn connect_tcp(host_text: &str, port: u16) -> Result<TcpStream, HttpError> {
    let host = host_text.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<std::net::SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![(ip, port).into()],
        Err(_) => match tokio::net::lookup_host((host, port)).await {
            Ok(a) => a.collect(),
            Err(e) => return Err(crate::http::error::name_resolution(host_text, &e)),
        },
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let Some(tcp) = tcp else {
        return Err(connect_error(&last));
    };
    let _ = tcp.set_nodelay(true);
    stamp::enable(&tcp);
    Ok(tcp)
}

async fn handshake(tls: &Tls, key: &Key, tcp: TcpStream) -> Result<Stream, HttpError> {
    let host = key.host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| HttpError::InvalidUrl(format!("Invalid host {host:?}: {e}")))?;
    let connector = tls
        .connector(key.tls.as_deref(), key.verify)
        .map_err(HttpError::Tls)?;
    let handshake = if key.h2 {
        connector
            .with_alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()])
            .connect(name, tcp)
    } else {
        connector.connect(name, tcp)
    };
    match handshake.await {
        Ok(s) => Ok(Stream::Tls(Box::new(s))),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(HttpError::Tls(tls::failure(&e))),
        // the connection ended during the handshake: requests reports it as an aborted connection
        Err(e) => Err(HttpError::Aborted {
            errno: e.raw_os_error().unwrap_or(104),
            text: crate::http::strerror(&e),
        }),
    }
}

/// The CONNECT of an HTTPS request through `proxy` (as http.client's `_tunnel` sends it): the tunnel is open when
/// the proxy answers 200; its head is read to the blank line and dropped.
async fn tunnel(mut tcp: TcpStream, key: &Key, proxy: &Proxy) -> Result<TcpStream, HttpError> {
    let authority = if key.host.contains(':') && !key.host.starts_with('[') {
        format!("[{}]:{}", key.host, key.port)
    } else {
        format!("{}:{}", key.host, key.port)
    };
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = &proxy.authorization {
        head.push_str("Proxy-Authorization: ");
        head.push_str(auth);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let aborted = |e: io::Error| HttpError::Aborted {
        errno: e.raw_os_error().unwrap_or(104),
        text: crate::http::strerror(&e),
    };
    tcp.write_all(head.as_bytes()).await.map_err(aborted)?;
    // read byte-wise to the end of the head: nothing of the tunnelled stream may be consumed
    let mut got = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if got.len() > 64 * 1024 {
            return Err(HttpError::ProxyTunnel {
                status: 0,
                reason: "proxy response head too long".into(),
            });
        }
        match tcp.read(&mut byte).await {
            Ok(0) => {
                return Err(HttpError::Aborted {
                    errno: 104,
                    text: "Connection reset by peer".into(),
                });
            }
            Ok(_) => got.push(byte[0]),
            Err(e) => return Err(aborted(e)),
        }
    }
    let line = got.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().splitn(3, ' ');
    let _version = parts.next();
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let reason = parts.next().unwrap_or("").to_string();
    if status != 200 {
        return Err(HttpError::ProxyTunnel { status, reason });
    }
    Ok(tcp)
}

/// The error of a failed TCP connect.
fn connect_error(e: &io::Error) -> HttpError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => HttpError::ConnectionRefused,
        _ => HttpError::Connect {
            errno: e.raw_os_error().unwrap_or(0),
            text: crate::http::strerror(e),
        },
    }
}

/// A TLS error while reading or writing (rustls reports them as InvalidData with the rustls error inside).
fn tls_error(e: &io::Error) -> Option<HttpError> {
    (e.kind() == io::ErrorKind::InvalidData && e.get_ref().is_some())
        .then(|| HttpError::Tls(tls::failure(e)))
}

fn wants_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| has_token(v.as_bytes(), b"close"))
}

fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Request line and headers (`Host` first unless given), ending with the blank line; `room` more bytes are
/// reserved for a body sent in the same write.
fn request_head(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    extra: &[u8],
    room: usize,
    proxy: Option<&Proxy>,
) -> Vec<u8> {
    let mut h = Vec::with_capacity(256 + extra.len() + room);
    h.extend_from_slice(crate::http::check::method_str(method).as_bytes());
    h.push(b' ');
    if proxy.is_some() {
        // absolute-form: scheme and authority before the path (RFC 9112 §3.2.2)
        h.extend_from_slice(url.scheme().as_bytes());
        h.extend_from_slice(b"://");
        h.extend_from_slice(url.host_str().unwrap_or("").as_bytes());
        if let Some(port) = url.port() {
            h.push(b':');
            push_decimal(&mut h, port);
        }
    }
    let path = url.path();
    h.extend_from_slice(if path.is_empty() {
        b"/"
    } else {
        path.as_bytes()
    });
    if let Some(q) = url.query() {
        h.push(b'?');
        h.extend_from_slice(q.as_bytes());
    }
    h.extend_from_slice(b" HTTP/1.1\r\n");
    if !headers.contains_key(http::header::HOST) {
        h.extend_from_slice(b"host: ");
        h.extend_from_slice(url.host_str().unwrap_or("").as_bytes());
        if let Some(port) = url.port() {
            h.push(b':');
            push_decimal(&mut h, port);
        }
        h.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        h.extend_from_slice(name.as_str().as_bytes());
        h.extend_from_slice(b": ");
        h.extend_from_slice(value.as_bytes());
        h.extend_from_slice(b"\r\n");
    }
    if let Some(auth) = proxy.and_then(|p| p.authorization.as_deref())
        && !headers.contains_key(http::header::PROXY_AUTHORIZATION)
    {
        h.extend_from_slice(b"proxy-authorization: ");
        h.extend_from_slice(auth.as_bytes());
        h.extend_from_slice(b"\r\n");
    }
    h.extend_from_slice(extra);
    h.extend_from_slice(b"\r\n");
    h
}

/// The read buffers of finished exchanges, kept for the next ones on the same thread: a buffer per exchange was
/// one of the allocations of every request (issue 43). A buffer comes back empty of content and keeps its room.
mod read_buf {
    use bytes::BytesMut;
    use std::cell::RefCell;

    /// How many a thread keeps at most, and the largest one kept (a buffer a large head grew is let go).
    const KEPT: usize = 64;
    const LARGEST: usize = 64 << 10;

    thread_local! {
        static FREE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn take() -> BytesMut {
        FREE.with(|f| f.borrow_mut().pop()).unwrap_or_default()
    }

    pub(super) fn give(mut buf: BytesMut) {
        if buf.capacity() == 0 || buf.capacity() > LARGEST {
            return;
        }
        buf.clear();
        // (the room the reads advanced past is taken back; nothing is allocated for a buffer used alone)
        buf.reserve(super::READ_CHUNK);
        if buf.capacity() <= LARGEST {
            FREE.with(|f| {
                let mut f = f.borrow_mut();
                if f.len() < KEPT {
                    f.push(buf);
                }
            });
        }
    }
}

/// `n` in decimal onto `h`, without the allocation `to_string` makes.
fn push_decimal(h: &mut Vec<u8>, n: u16) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    h.extend_from_slice(&digits[i..]);
}

/// One request/response on `stream` (`wire`: the head, with the body when it is small; `rest`: a large body);
/// the stream comes back when it can carry another request.
async fn attempt(
    mut stream: Stream,
    wire: &[u8],
    rest: &[u8],
    call: &Call<'_>,
    close: bool,
) -> Result<(RawResponse, Option<Stream>), Failed> {
    let mut reader = wire::reader(call.dialect, call.ctx.clone());
    let sent = async {
        stream.write_all(wire).await?;
        if !rest.is_empty() {
            stream.write_all(rest).await?;
        }
        stream.flush().await
    };
    let sent = match call.timeouts.read {
        Some(t) => tokio::time::timeout(t, sent)
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
        None => sent.await,
    };
    let written = Instant::now();
    match sent {
        Ok(()) => {}
        // NOTE: both clients go on to read when the server closed while the request was being sent: it may have
        // answered early (e.g. 413 to a large body), and if not the read says how the connection ended.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ) || e.raw_os_error() == Some(libc::EPROTOTYPE) => {}
        Err(e) => {
            let failure = if e.kind() == io::ErrorKind::TimedOut {
                reader.timeout()
            } else {
                match tls_error(&e) {
                    Some(t) => {
                        return Err(Failed {
                            error: t,
                            closed_early: false,
                            not_h2: false,
                        });
                    }
                    None => reader.io_error(&e),
                }
            };
            return Err(Failed {
                error: read_error(failure, None),
                closed_early: false,
                not_h2: false,
            });
        }
    }

    // (its room is made when the response starts to arrive, `read_stamped`)
    let mut buf = read_buf::take();
    // NOTE: the whole head within the read timeout (see the module header); then each read of the body.
    let head_deadline = call.timeouts.read.map(|t| tokio::time::Instant::now() + t);
    let mut state = ReadState {
        head_at: None,
        body_at: None,
        lag: Duration::ZERO,
        received: false,
        head_deadline,
        read_timeout: call.timeouts.read,
        read_at: None,
        watch_all: call.watch,
        watch: None,
    };
    let until = if call.stream {
        Until::Head
    } else {
        Until::Done
    };
    let complete = match pump(&mut stream, &mut reader, &mut buf, &mut state, until).await? {
        Pumped::Done(c) => c,
        Pumped::Head | Pumped::Chunk(_) => {
            // stream=True: the call returns with the head; the body is read as the locustfile asks for it
            let resp = RawResponse {
                head: reader.head_so_far().cloned().unwrap_or_default(),
                body: reader.take_body(),
                encoded: None,
                stamps: state.stamps(written),
                tail: None,
                marks: None,
            };
            let tail = Tail {
                conn: Some(stream),
                reader,
                buf,
                state,
                close,
                done: false,
                home: None,
            };
            return Ok((
                RawResponse {
                    tail: Some(Box::new(tail)),
                    ..resp
                },
                None,
            ));
        }
    };
    let reusable = complete.reusable && !close && buf.is_empty();
    read_buf::give(buf);
    let resp = RawResponse {
        head: complete.head,
        body: complete.body,
        encoded: complete.encoded,
        stamps: state.stamps(written),
        tail: None,
        marks: state.watch.map(|w| Box::new(w.into_marks())),
    };
    Ok((resp, reusable.then_some(stream)))
}

/// Where reading a response stands between two [`pump`]s.
struct ReadState {
    head_at: Option<Instant>,
    /// When the first byte after the head arrived.
    body_at: Option<Instant>,
    /// The socket wait of the last read that brought bytes (`stamp::read`).
    lag: Duration,
    /// Some byte of the response arrived (a reset before any means the connection was closed while idle).
    received: bool,
    head_deadline: Option<tokio::time::Instant>,
    read_timeout: Option<Duration>,
    /// When the bytes of the latest read arrived (less their socket wait).
    read_at: Option<Instant>,
    /// Watch the body whatever its type ([`Call::watch`]).
    watch_all: bool,
    /// The body's watch, made with the head when the body is watched.
    watch: Option<Box<Watch>>,
}

impl ReadState {
    /// What the exchange observed so far, its request written at `written` (a connection's setup is the caller's).
    fn stamps(&self, written: Instant) -> Stamps {
        Stamps {
            setup: None,
            sent: Some(written),
            head: Some(self.head_at.unwrap_or_else(Instant::now)),
            first_byte: self.body_at,
            socket_wait: self.lag,
        }
    }

    /// The head is in: watch the body when the call streams or the body is an event stream.
    fn start_watch(&mut self, head: Option<&wire::Head>) {
        let framing = Framing::of(head.and_then(|h| h.get("content-type")));
        if self.watch_all || framing.is_events() {
            self.watch = Some(Box::new(Watch::new(framing)));
        }
    }

    /// What the reader holds of the body now, seen by the watch as arrived at the latest read.
    fn watch_growth(&mut self, reader: &wire::AnyReader) {
        if let (Some(w), Some(at)) = (self.watch.as_mut(), self.read_at) {
            w.grown(reader.body_so_far(), at);
        }
    }

    /// The response is complete: the watch sees its last bytes (a streamed body's rest; a whole body as the reader
    /// held it, see [`Watch::grown`]) and its end.
    fn watch_done(&mut self, c: &wire::Complete, until: Until) {
        let last = if until == Until::Chunk {
            if let (Some(w), Some(at)) = (self.watch.as_mut(), self.read_at) {
                w.push(&c.body, at);
            }
            None
        } else {
            Some(c.encoded.as_deref().unwrap_or(&c.body))
        };
        self.watch_end(last);
    }

    /// The body ended cleanly with `last` (what the reader held at its end; see [`Watch::grown`]).
    fn watch_end(&mut self, last: Option<&[u8]>) {
        if let Some(w) = self.watch.as_mut() {
            let at = self.read_at.unwrap_or_else(Instant::now);
            if let Some(b) = last {
                w.grown(b, at);
            }
            w.end(at);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// The response is complete.
    Done,
    /// Its head is complete (a streamed response).
    Head,
    /// More of its body is decoded (the next piece of a streamed body).
    Chunk,
}

enum Pumped {
    Head,
    Chunk(Bytes),
    Done(wire::Complete),
}

/// Feed the reader what the socket gives, with the timeouts, until `until` (or the response ends first).
async fn pump(
    stream: &mut Stream,
    reader: &mut wire::AnyReader,
    buf: &mut BytesMut,
    state: &mut ReadState,
    until: Until,
) -> Result<Pumped, Failed> {
    loop {
        match reader.feed(buf) {
            Ok(Step::More) => {
                if until == Until::Chunk {
                    let piece = reader.take_body();
                    if !piece.is_empty() {
                        if let (Some(w), Some(at)) = (state.watch.as_mut(), state.read_at) {
                            w.push(&piece, at);
                        }
                        return Ok(Pumped::Chunk(piece));
                    }
                } else {
                    state.watch_growth(reader);
                }
            }
            Ok(Step::Head) => {
                // the head ended in the latest read: it arrived when that read's bytes did (no clock read of its own)
                let arrived = state.read_at.unwrap_or_else(|| {
                    let now = Instant::now();
                    now.checked_sub(state.lag).unwrap_or(now)
                });
                state.head_at = Some(arrived);
                state.read_at = Some(arrived);
                // what the reader left in `buf` is the body's start, read with the head
                if !buf.is_empty() {
                    state.body_at = Some(arrived);
                }
                state.start_watch(reader.head_so_far());
                if until == Until::Head {
                    return Ok(Pumped::Head);
                }
                continue;
            }
            Ok(Step::Done(c)) => {
                state.watch_done(&c, until);
                return Ok(Pumped::Done(c));
            }
            Err(e) => {
                return Err(Failed {
                    error: read_error(e, reader.head()),
                    closed_early: false,
                    not_h2: false,
                });
            }
        }
        let read = read_stamped(stream, buf, &mut state.lag);
        let n = match (state.head_at, state.head_deadline, state.read_timeout) {
            (None, Some(d), _) => tokio::time::timeout_at(d, read).await,
            (Some(_), _, Some(t)) => tokio::time::timeout(t, read).await,
            _ => Ok(read.await),
        };
        let failure = match n {
            Ok(Ok(0)) => None,
            // NOTE: a TLS peer that closes without close_notify is an end of stream to Python's ssl
            // (suppress_ragged_eofs), so it is here too.
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => None,
            Ok(Ok(_)) => {
                state.received = true;
                let now = Instant::now();
                let arrived = now.checked_sub(state.lag).unwrap_or(now);
                state.read_at = Some(arrived);
                if state.head_at.is_some() && state.body_at.is_none() {
                    state.body_at = Some(arrived);
                }
                continue;
            }
            Err(_) => Some((reader.timeout(), false)),
            Ok(Err(e)) => match tls_error(&e) {
                Some(t) => {
                    return Err(Failed {
                        error: t,
                        closed_early: false,
                        not_h2: false,
                    });
                }
                None => Some((
                    reader.io_error(&e),
                    !state.received && e.kind() == io::ErrorKind::ConnectionReset,
                )),
            },
        };
        // the read failed, or the peer closed the connection: the reader says what that means here
        let (failure, closed_early) = match failure {
            Some(f) => f,
            None => match reader.eof(buf) {
                Ok(Step::Done(c)) => {
                    state.watch_done(&c, until);
                    return Ok(Pumped::Done(c));
                }
                Ok(_) => (reader.io_error(&io::ErrorKind::UnexpectedEof.into()), false),
                Err(e) => (e, !state.received),
            },
        };
        return Err(Failed {
            error: read_error(failure, reader.head()),
            closed_early,
            not_h2: false,
        });
    }
}

/// Read what `stream` has into `buf`, with room for [`READ_CHUNK`] more bytes; `lag` becomes the socket wait of
/// these bytes (zero where unknown). Over plain TCP the room is made once the socket is readable: at 10,000 users a
/// spawn step's 1,000 first requests each held 4 KiB while they waited (issue 29's memory per user).
async fn read_stamped(
    stream: &mut Stream,
    buf: &mut BytesMut,
    lag: &mut Duration,
) -> io::Result<usize> {
    let (n, waited) = match stream {
        Stream::Plain(tcp) => stamp::read(tcp, buf, READ_CHUNK).await?,
        Stream::Tls(_) => {
            buf.reserve(READ_CHUNK);
            (stream.read_buf(buf).await?, None)
        }
    };
    if n > 0 {
        *lag = waited.unwrap_or(Duration::ZERO);
    }
    Ok(n)
}

/// The unread body of a streamed response (`stream=True`) and the connection it comes on, which goes back to the
/// user's pool when the body ends cleanly.
pub struct Tail {
    conn: Option<Stream>,
    reader: wire::AnyReader,
    buf: BytesMut,
    state: ReadState,
    close: bool,
    done: bool,
    /// The pool and key the connection returns to (set by `exchange`).
    home: Option<(Arc<Pool>, Key)>,
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail").field("done", &self.done).finish()
    }
}

impl Tail {
    /// The next piece of the body (content-decoded), `None` at its end; the error the client raises reading it.
    pub async fn next(&mut self) -> Result<Option<Bytes>, HttpError> {
        if self.done {
            return Ok(None);
        }
        let Some(conn) = self.conn.as_mut() else {
            self.done = true;
            return Ok(None);
        };
        match pump(
            conn,
            &mut self.reader,
            &mut self.buf,
            &mut self.state,
            Until::Chunk,
        )
        .await
        {
            Ok(Pumped::Chunk(piece)) => Ok(Some(piece)),
            Ok(Pumped::Head) => Ok(Some(Bytes::new())),
            Ok(Pumped::Done(c)) => {
                self.done = true;
                let conn = self.conn.take();
                if c.reusable
                    && !self.close
                    && self.buf.is_empty()
                    && let (Some(conn), Some((pool, key))) = (conn, self.home.take())
                {
                    pool.put(key, conn);
                }
                Ok((!c.body.is_empty()).then_some(c.body))
            }
            Err(f) => {
                self.done = true;
                self.conn = None;
                Err(f.error)
            }
        }
    }

    /// Whether the body has ended (or failed).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What the body showed as it arrived (`None` when it was not watched); its `end` is set when it ended
    /// cleanly.
    pub fn take_marks(&mut self) -> Option<Box<Marks>> {
        self.state.watch.take().map(|w| Box::new(w.into_marks()))
    }

    /// Read the rest of the body and drop it (a redirect followed while streaming).
    pub async fn drain(&mut self) -> Result<(), HttpError> {
        while self.next().await?.is_some() {}
        Ok(())
    }
}

/// A failure while reading the response, with the head when the client keeps it (FastHttpUser).
fn read_error(exc: wire::exc::PyExc, head: Option<&wire::Head>) -> HttpError {
    HttpError::Read {
        exc: Box::new(exc),
        head: head.map(|h| Box::new(h.clone())),
    }
}

#[cfg(test)]
mod tests;
