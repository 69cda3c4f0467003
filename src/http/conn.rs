//! HTTP/1.1 exchanges over one user's keep-alive connections.
//!
//! Why not hyper's pooled client: it runs every connection as its own task with 8 KiB read and write buffers
//! kept while idle, and hands each request to that task through channels. A simulated user sends one request
//! at a time on a connection it owns, so the exchange runs inline in the caller's future: write the request,
//! parse the head with `httparse`, read the body by its framing, put the connection back. An idle connection
//! is a socket and nothing else (the read buffer lives only during an exchange).
use super::HttpError;
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use parking_lot::Mutex;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::Url;

/// Idle connections a user keeps (per pool; a user rarely has more than one request in flight).
const MAX_IDLE: usize = 16;
/// Idle connections older than this are closed instead of reused (hyper's and urllib3's order of magnitude).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// First read of a response; grown as needed.
const READ_CHUNK: usize = 4096;
/// Bodies up to this size are sent in the same write as the request head.
const INLINE_BODY: usize = 16 * 1024;
/// A response head larger than this is refused (as hyper and http.client do, with their own limits).
const MAX_HEAD: usize = 256 * 1024;

/// Where a connection goes: scheme, host, port, and whether the certificate is verified.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    https: bool,
    host: String,
    port: u16,
    verify: bool,
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

    /// Whether an idle connection can carry another request: the peer has not closed it and has sent nothing
    /// unasked (a TLS close_notify, a stray byte). Checked without blocking and without consuming anything.
    fn reusable(&self) -> bool {
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
    since: Instant,
}

/// One user's idle keep-alive connections.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<Idle>>,
}

impl Pool {
    pub fn clear(&self) {
        self.idle.lock().clear();
    }

    fn take(&self, key: &Key) -> Option<Stream> {
        let mut idle = self.idle.lock();
        while let Some(i) = idle.iter().rposition(|c| &c.key == key) {
            let c = idle.swap_remove(i);
            if c.since.elapsed() < IDLE_TIMEOUT && c.stream.reusable() {
                return Some(c.stream);
            }
        }
        None
    }

    fn put(&self, key: Key, stream: Stream) {
        let mut idle = self.idle.lock();
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push(Idle {
            key,
            stream,
            since: Instant::now(),
        });
    }
}

/// The TLS client configurations shared by all users.
pub struct Tls {
    pub verifying: TlsConnector,
    pub insecure: TlsConnector,
}

/// A response as read off the wire (body still content-encoded).
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub reason: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the response head had been read.
    pub head_at: Instant,
}

/// Why an attempt failed, and whether a retry on a fresh connection is safe (nothing of a response arrived
/// on a reused connection: the server closed it while it was idle).
struct Failed {
    error: HttpError,
    stale: bool,
}

/// Send one request and read its response, reusing an idle connection of `pool` when there is one.
pub async fn exchange(
    tls: &Tls,
    pool: &Pool,
    verify: bool,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<RawResponse, HttpError> {
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
    let key = Key {
        https,
        host: host.to_string(),
        port: url.port_or_known_default().unwrap_or(80),
        verify,
    };
    // A small body goes out in the same write as the head; a large one is written after it.
    let inline = body.len() <= INLINE_BODY;
    let mut wire = request_head(method, url, headers, if inline { body.len() } else { 0 });
    let rest = if inline {
        wire.extend_from_slice(body);
        &[][..]
    } else {
        body
    };
    let close = wants_close(headers);
    if let Some(stream) = pool.take(&key) {
        match attempt(stream, &wire, rest, method, close).await {
            Ok((resp, Some(stream))) => {
                pool.put(key, stream);
                return Ok(resp);
            }
            Ok((resp, None)) => return Ok(resp),
            Err(f) if f.stale => {}
            Err(f) => return Err(f.error),
        }
    }
    // boxed: the TLS handshake state is large and only needed when a connection is opened
    let stream = Box::pin(connect(tls, &key)).await?;
    match attempt(stream, &wire, rest, method, close).await {
        Ok((resp, Some(stream))) => {
            pool.put(key, stream);
            Ok(resp)
        }
        Ok((resp, None)) => Ok(resp),
        Err(f) => Err(f.error),
    }
}

async fn connect(tls: &Tls, key: &Key) -> Result<Stream, HttpError> {
    let host = key.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<std::net::SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![(ip, key.port).into()],
        Err(_) => match tokio::net::lookup_host((host, key.port)).await {
            Ok(a) => a.collect(),
            Err(_) => return Err(HttpError::NameResolution(key.host.clone())),
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
        return Err(io_error(&last));
    };
    let _ = tcp.set_nodelay(true);
    if !key.https {
        return Ok(Stream::Plain(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| HttpError::InvalidUrl(format!("Invalid host {host:?}: {e}")))?;
    let connector = if key.verify {
        &tls.verifying
    } else {
        &tls.insecure
    };
    match connector.connect(name, tcp).await {
        Ok(s) => Ok(Stream::Tls(Box::new(s))),
        Err(e) => Err(HttpError::Tls(tls_text(&e))),
    }
}

fn tls_text(e: &io::Error) -> String {
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
    }
}

/// The error a user sees for an I/O failure on the connection.
fn io_error(e: &io::Error) -> HttpError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => HttpError::ConnectionRefused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionAborted => HttpError::ConnectionReset,
        io::ErrorKind::InvalidData if e.get_ref().is_some() => HttpError::Tls(tls_text(e)),
        _ => HttpError::Other(e.to_string()),
    }
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
fn request_head(method: &Method, url: &Url, headers: &HeaderMap, room: usize) -> Vec<u8> {
    let mut h = Vec::with_capacity(256 + room);
    h.extend_from_slice(method.as_str().as_bytes());
    h.push(b' ');
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
            h.extend_from_slice(port.to_string().as_bytes());
        }
        h.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        h.extend_from_slice(name.as_str().as_bytes());
        h.extend_from_slice(b": ");
        h.extend_from_slice(value.as_bytes());
        h.extend_from_slice(b"\r\n");
    }
    h.extend_from_slice(b"\r\n");
    h
}

/// One request/response on `stream` (`wire`: the head, with the body when it is small; `rest`: a large body);
/// the stream comes back when it can carry another request.
async fn attempt(
    mut stream: Stream,
    wire: &[u8],
    rest: &[u8],
    method: &Method,
    close: bool,
) -> Result<(RawResponse, Option<Stream>), Failed> {
    let lost = |e: io::Error| Failed {
        stale: true,
        error: io_error(&e),
    };
    stream.write_all(wire).await.map_err(lost)?;
    if !rest.is_empty() {
        stream.write_all(rest).await.map_err(lost)?;
    }
    stream.flush().await.map_err(lost)?;

    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let (status, reason, headers, keep_alive) = loop {
        let parsed = parse_head(&buf).map_err(|error| Failed {
            error,
            stale: false,
        })?;
        match parsed {
            Some((len, head)) => {
                buf.advance(len);
                // 1xx informational responses precede the real one (101 is not supported: no upgrades).
                if (100..200).contains(&head.0) && head.0 != 101 {
                    continue;
                }
                break head;
            }
            None => {
                if buf.len() > MAX_HEAD {
                    return Err(Failed {
                        error: HttpError::Other("response head too large".into()),
                        stale: false,
                    });
                }
                let first = buf.is_empty();
                match fill(&mut stream, &mut buf, READ_CHUNK).await {
                    Ok(0) => {
                        return Err(Failed {
                            error: HttpError::ConnectionReset,
                            stale: first,
                        });
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Failed {
                            stale: first,
                            error: io_error(&e),
                        });
                    }
                }
            }
        }
    };
    let head_at = Instant::now();
    let broken = |e: io::Error| Failed {
        stale: false,
        error: io_error(&e),
    };
    let no_body = *method == Method::HEAD || status == 204 || status == 304;
    let chunked = headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .any(|v| has_token(v.as_bytes(), b"chunked"));
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let mut reusable = keep_alive && !close;
    let body = if no_body {
        Bytes::new()
    } else if chunked {
        read_chunked(&mut stream, &mut buf).await.map_err(broken)?
    } else if let Some(n) = length {
        while buf.len() < n {
            let want = n - buf.len();
            if fill(&mut stream, &mut buf, want).await.map_err(broken)? == 0 {
                return Err(Failed {
                    error: HttpError::ConnectionReset,
                    stale: false,
                });
            }
        }
        detach(buf.split_to(n))
    } else {
        // No framing: the body ends when the server closes the connection.
        reusable = false;
        while fill(&mut stream, &mut buf, 16 * 1024)
            .await
            .map_err(broken)?
            > 0
        {}
        detach(buf.split())
    };
    if !buf.is_empty() {
        reusable = false; // bytes nobody asked for: the connection's state is unknown
    }
    let resp = RawResponse {
        status,
        reason,
        headers,
        body,
        head_at,
    };
    Ok((resp, reusable.then_some(stream)))
}

/// A small body is copied out of the read buffer so the buffer is freed with the exchange (a response waiting
/// for its greenlet, or kept by user code, would otherwise pin the whole 4 KiB chunk).
fn detach(body: BytesMut) -> Bytes {
    if body.len() <= READ_CHUNK / 2 {
        Bytes::copy_from_slice(&body)
    } else {
        body.freeze()
    }
}

type Head = (u16, String, HeaderMap, bool);

/// Parse a complete response head at the start of `buf`: its length and (status, reason, headers, keep-alive).
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, HttpError> {
    // Room for 64 headers on the stack (no allocation per response); more are parsed into a growing Vec.
    let mut inline = [httparse::EMPTY_HEADER; 64];
    let mut heap = Vec::new();
    loop {
        let storage: &mut [httparse::Header<'_>] = if heap.is_empty() {
            &mut inline
        } else {
            &mut heap
        };
        let slots = storage.len();
        let mut resp = httparse::Response::new(storage);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = resp.code.unwrap_or(0);
                let reason =
                    String::from_utf8_lossy(resp.reason.unwrap_or("").as_bytes()).into_owned();
                let mut headers = HeaderMap::with_capacity(resp.headers.len());
                for h in resp.headers.iter() {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(h.name.as_bytes()),
                        HeaderValue::from_bytes(h.value),
                    ) {
                        headers.append(n, v);
                    }
                }
                let conn = headers.get_all(http::header::CONNECTION);
                let keep_alive = if resp.version == Some(0) {
                    conn.iter().any(|v| has_token(v.as_bytes(), b"keep-alive"))
                } else {
                    !conn.iter().any(|v| has_token(v.as_bytes(), b"close"))
                };
                return Ok(Some((len, (status, reason, headers, keep_alive))));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) if slots < 4096 => {
                heap = vec![httparse::EMPTY_HEADER; slots * 8];
            }
            Err(e) => return Err(HttpError::Other(format!("invalid HTTP response: {e}"))),
        }
    }
}

/// Read more bytes into `buf` (at least `want` bytes of room); 0 at end of stream.
async fn fill(stream: &mut Stream, buf: &mut BytesMut, want: usize) -> io::Result<usize> {
    buf.reserve(want.clamp(READ_CHUNK, 1 << 20));
    stream.read_buf(buf).await
}

/// Decode a chunked body; trailers are read and dropped.
async fn read_chunked(stream: &mut Stream, buf: &mut BytesMut) -> io::Result<Bytes> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut body = BytesMut::new();
    loop {
        let line = read_line(stream, buf).await?;
        let size_text = line.split(|b| *b == b';').next().unwrap_or(b"");
        let size_text = std::str::from_utf8(size_text)
            .map_err(|_| bad("invalid chunk size"))?
            .trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("invalid chunk size"))?;
        if size == 0 {
            while !read_line(stream, buf).await?.is_empty() {}
            return Ok(body.freeze());
        }
        while buf.len() < size + 2 {
            let want = size + 2 - buf.len();
            if fill(stream, buf, want).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        body.extend_from_slice(&buf[..size]);
        if &buf[size..size + 2] != b"\r\n" {
            return Err(bad("invalid chunk end"));
        }
        buf.advance(size + 2);
    }
}

/// One CRLF-terminated line, without the CRLF.
async fn read_line(stream: &mut Stream, buf: &mut BytesMut) -> io::Result<Bytes> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf.split_to(i).freeze();
            buf.advance(2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk line too long",
            ));
        }
        if fill(stream, buf, READ_CHUNK).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn head_lists_host_first_and_keeps_the_query() {
        let url = Url::parse("http://127.0.0.1:8089/a/b?x=1&y=2").unwrap();
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("*/*"));
        let head = request_head(&Method::GET, &url, &h, 0);
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "GET /a/b?x=1&y=2 HTTP/1.1\r\nhost: 127.0.0.1:8089\r\naccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn head_parse_handles_partial_keep_alive_and_http10() {
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Le")
                .unwrap()
                .is_none()
        );
        let (len, (status, reason, headers, ka)) =
            parse_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc")
                .unwrap()
                .unwrap();
        assert_eq!(
            (len, status, reason.as_str(), ka),
            (45, 404, "Not Found", true)
        );
        assert_eq!(headers["content-length"], "3");
        let (_, (_, _, _, ka)) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(!ka);
        let (_, (_, _, _, ka)) = parse_head(b"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!ka);
    }

    #[test]
    fn many_headers_are_accepted() {
        let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..300 {
            raw.extend_from_slice(format!("x-h{i}: {i}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let (_, (_, _, headers, _)) = parse_head(&raw).unwrap().unwrap();
        assert_eq!(headers.len(), 300);
    }

    /// A loopback server that answers each accepted connection's requests with the given raw responses in turn
    /// (one per request read), then closes the connection; returns its URL, the number of connections, and a
    /// receiver that gets one message each time the server has closed a connection.
    async fn raw_server(
        script: Vec<Vec<&'static [u8]>>,
    ) -> (
        Url,
        Arc<AtomicUsize>,
        tokio::sync::mpsc::UnboundedReceiver<()>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let (closed_tx, closed) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for answers in script {
                let (mut sock, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                for answer in answers {
                    let mut seen = Vec::new();
                    let mut b = [0u8; 1024];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = sock.read(&mut b).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&b[..n]);
                    }
                    sock.write_all(answer).await.unwrap();
                }
                drop(sock);
                let _ = closed_tx.send(());
            }
        });
        (url, accepted, closed)
    }

    fn tls() -> Tls {
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let c = TlsConnector::from(Arc::new(cfg));
        Tls {
            verifying: c.clone(),
            insecure: c,
        }
    }

    async fn get(pool: &Pool, method: Method, url: &Url) -> Result<RawResponse, HttpError> {
        exchange(&tls(), pool, true, &method, url, &HeaderMap::new(), b"").await
    }

    #[tokio::test]
    async fn bodies_by_each_framing_and_keep_alive_reuse() {
        let (url, accepted, _) = raw_server(vec![
            vec![
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
                b"HTTP/1.1 204 No Content\r\n\r\n",
                b"HTTP/1.0 200 OK\r\n\r\nuntil close",
            ],
            vec![],
        ])
        .await;
        let pool = Pool::default();
        let r = get(&pool, Method::GET, &url).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"hello"[..]));
        let r = get(&pool, Method::GET, &url).await.unwrap();
        assert_eq!(&r.body[..], b"abcde");
        let r = get(&pool, Method::HEAD, &url).await.unwrap();
        assert_eq!((r.status, r.body.len()), (200, 0));
        let r = get(&pool, Method::GET, &url).await.unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
        let r = get(&pool, Method::GET, &url).await.unwrap();
        assert_eq!(
            (r.reason.as_str(), &r.body[..]),
            ("OK", &b"until close"[..])
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one keep-alive connection"
        );
        assert!(
            pool.idle.lock().is_empty(),
            "a read-to-close body ends the connection"
        );
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_replaced() {
        let (url, accepted, mut closed) = raw_server(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"],
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"],
        ])
        .await;
        let pool = Pool::default();
        assert_eq!(&get(&pool, Method::GET, &url).await.unwrap().body[..], b"a");
        closed.recv().await.unwrap(); // the server has closed the first connection
        assert_eq!(&get(&pool, Method::GET, &url).await.unwrap().body[..], b"b");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn truncated_bodies_and_refused_connections_are_errors() {
        let (url, _, _) = raw_server(vec![vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        ]])
        .await;
        let pool = Pool::default();
        assert_eq!(
            get(&pool, Method::GET, &url).await.err(),
            Some(HttpError::ConnectionReset)
        );
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            Url::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap()
        };
        assert_eq!(
            get(&pool, Method::GET, &dead).await.err(),
            Some(HttpError::ConnectionRefused)
        );
    }

    #[tokio::test]
    async fn https_reuses_its_connection_and_verifies_unless_told_not_to() {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("https://{}/x", listener.local_addr().unwrap())).unwrap();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let count = handshakes.clone();
        tokio::spawn(async move {
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let mut seen = Vec::new();
                    let mut b = [0u8; 1024];
                    loop {
                        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                            match tls.read(&mut b).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => seen.extend_from_slice(&b[..n]),
                            }
                        }
                        seen.clear();
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
                        if tls.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let engine = crate::http::Engine::new(tokio::runtime::Handle::current());
        let pool = Pool::default();
        for _ in 0..2 {
            let r = exchange(
                &engine.tls,
                &pool,
                false,
                &Method::GET,
                &url,
                &HeaderMap::new(),
                b"",
            )
            .await
            .unwrap();
            assert_eq!((r.status, &r.body[..]), (200, &b"secure"[..]));
        }
        assert_eq!(
            handshakes.load(Ordering::SeqCst),
            1,
            "the TLS connection is kept alive"
        );
        let refused = exchange(
            &engine.tls,
            &pool,
            true,
            &Method::GET,
            &url,
            &HeaderMap::new(),
            b"",
        )
        .await;
        assert!(
            matches!(refused, Err(HttpError::Tls(ref m)) if m.contains("certificate")),
            "{refused:?}"
        );
    }

    #[test]
    fn tokens_are_case_insensitive_and_comma_separated() {
        assert!(has_token(b"Keep-Alive, Upgrade", b"keep-alive"));
        assert!(!has_token(b"keep-alived", b"keep-alive"));
    }
}
