//! Tests of the exchange against raw loopback servers: framings, keep-alive reuse, idle close, truncation,
//! refusal, timeouts of each phase, FastHttpUser's retries, TLS.
use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn head_lists_host_first_and_keeps_the_query() {
    let url = Url::parse("http://127.0.0.1:8089/a/b?x=1&y=2").unwrap();
    let mut h = HeaderMap::new();
    h.insert("accept", http::HeaderValue::from_static("*/*"));
    let head = request_head(&Method::GET, &url, &h, &[], 0, None);
    assert_eq!(
        String::from_utf8(head).unwrap(),
        "GET /a/b?x=1&y=2 HTTP/1.1\r\nhost: 127.0.0.1:8089\r\naccept: */*\r\n\r\n"
    );
}

#[test]
fn ports_are_written_in_decimal() {
    for port in [0u16, 7, 10, 80, 443, 8089, 10000, 65535] {
        let mut h = b"x".to_vec();
        push_decimal(&mut h, port);
        assert_eq!(h, format!("x{port}").into_bytes());
    }
}

#[test]
fn an_idle_connection_is_found_only_under_every_part_of_its_key() {
    let proxy = crate::http::Proxy::parse("http://127.0.0.1:3128").unwrap();
    let other_proxy = crate::http::Proxy::parse("http://127.0.0.1:3129").unwrap();
    let look = KeyRef {
        https: false,
        host: "h",
        port: 80,
        verify: true,
        proxy: Some(&proxy),
        tls: None,
        h2: false,
    };
    let kept = look.to_owned();
    assert!(look.matches(&kept));
    let differ: [&dyn Fn(&mut Key); 6] = [
        &|k| k.https = true,
        &|k| k.host = "g".into(),
        &|k| k.port = 81,
        &|k| k.verify = false,
        &|k| k.h2 = true,
        &|k| k.proxy = Some(other_proxy.clone()),
    ];
    for change in differ {
        let mut k = kept.clone();
        change(&mut k);
        assert!(!look.matches(&k), "{k:?}");
    }
    let mut k = kept.clone();
    k.proxy = None;
    assert!(!look.matches(&k));
}

#[test]
fn a_kept_read_buffer_comes_back_empty_with_its_room() {
    let mut buf = read_buf::take();
    buf.reserve(READ_CHUNK);
    buf.extend_from_slice(b"HTTP/1.1 200 OK\r\nleftover");
    bytes::Buf::advance(&mut buf, 17);
    read_buf::give(buf);
    let again = read_buf::take();
    assert!(
        again.is_empty(),
        "a kept buffer holds nothing of the exchange before"
    );
    assert!(again.capacity() >= READ_CHUNK);
    // a buffer grown past the largest kept is let go
    let mut big = BytesMut::with_capacity(1 << 20);
    big.extend_from_slice(b"x");
    read_buf::give(big);
    assert!(read_buf::take().capacity() < 1 << 20);
}

#[test]
fn head_writes_the_empty_method_and_extra_lines() {
    let url = Url::parse("http://h/x").unwrap();
    let head = request_head(
        &crate::http::check::empty_method(),
        &url,
        &HeaderMap::new(),
        b"x y: 1\r\n",
        0,
        None,
    );
    assert_eq!(
        String::from_utf8(head).unwrap(),
        " /x HTTP/1.1\r\nhost: h\r\nx y: 1\r\n\r\n"
    );
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
    let c = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    Tls::with_connectors(c.clone(), c)
}

fn ctx(method: &Method, url: &Url) -> Arc<wire::Context> {
    Arc::new(wire::Context {
        method: method.as_str().to_string().into(),
        url: url.to_string(),
        pool: None,
        forwarded: false,
        read_timeout: None,
        limits: wire::Limits::default(),
    })
}

async fn call(
    tls: &Tls,
    pool: &Arc<Pool>,
    method: Method,
    url: &Url,
    dialect: Dialect,
    verify: bool,
    timeouts: Timeouts,
) -> Result<RawResponse, HttpError> {
    let headers = HeaderMap::new();
    let ctx = ctx(&method, url);
    let c = Call {
        verify,
        method: &method,
        url,
        headers: &headers,
        extra_head: &[],
        body: b"",
        dialect,
        ctx: &ctx,
        timeouts,
        connect_timeout: "",
        retries_on_close: 0,
        proxy: None,
        tls: None,
        http2: false,
        stream: false,
        watch: false,
    };
    exchange(tls, pool, &c).await
}

async fn get(pool: &Arc<Pool>, method: Method, url: &Url) -> Result<RawResponse, HttpError> {
    call(
        &tls(),
        pool,
        method,
        url,
        Dialect::Requests,
        true,
        Timeouts::default(),
    )
    .await
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
    let pool = Arc::new(Pool::default());
    let r = get(&pool, Method::GET, &url).await.unwrap();
    assert_eq!((r.head.status, &r.body[..]), (200, &b"hello"[..]));
    let r = get(&pool, Method::GET, &url).await.unwrap();
    assert_eq!(&r.body[..], b"abcde");
    let r = get(&pool, Method::HEAD, &url).await.unwrap();
    assert_eq!((r.head.status, r.body.len()), (200, 0));
    let r = get(&pool, Method::GET, &url).await.unwrap();
    assert_eq!((r.head.status, r.body.len()), (204, 0));
    let r = get(&pool, Method::GET, &url).await.unwrap();
    assert_eq!((&*r.head.reason, &r.body[..]), ("OK", &b"until close"[..]));
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
    let pool = Arc::new(Pool::default());
    assert_eq!(&get(&pool, Method::GET, &url).await.unwrap().body[..], b"a");
    closed.recv().await.unwrap(); // the server has closed the first connection
    assert_eq!(&get(&pool, Method::GET, &url).await.unwrap().body[..], b"b");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_idle_connection_the_server_wrote_to_unasked_is_not_reused() {
    // The server answers, then (as some servers do when they time an idle connection out) writes a 408 nobody
    // asked for and keeps the connection open; the next request must get its own answer on a new connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let (go_tx, go) = tokio::sync::oneshot::channel::<()>();
    let (end_tx, end) = tokio::sync::oneshot::channel::<()>();
    let answer =
        |body: &[u8]| [&b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"[..], body].concat();
    tokio::spawn(async move {
        let mut b = [0u8; 1024];
        let (mut first, _) = listener.accept().await.unwrap();
        count.fetch_add(1, Ordering::SeqCst);
        let _ = first.read(&mut b).await.unwrap();
        first.write_all(&answer(b"a")).await.unwrap();
        // once the client has its answer, on the connection now idle in its pool
        go.await.unwrap();
        first
            .write_all(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        let (mut second, _) = listener.accept().await.unwrap();
        count.fetch_add(1, Ordering::SeqCst);
        let _ = second.read(&mut b).await.unwrap();
        second.write_all(&answer(b"b")).await.unwrap();
        let _ = end.await; // (the first connection stays open until the test ends)
    });
    let pool = Arc::new(Pool::default());
    let first = get(&pool, Method::GET, &url).await.unwrap();
    assert_eq!((first.head.status, &first.body[..]), (200, &b"a"[..]));
    go_tx.send(()).unwrap();
    // until the reactor has seen the 408 arrive on the pooled connection (taken out to wait, put back as it was)
    let idle = pool
        .idle
        .lock()
        .pop()
        .expect("the first connection is pooled");
    idle.stream.tcp().readable().await.unwrap();
    pool.idle.lock().push(idle);
    let second = get(&pool, Method::GET, &url).await.unwrap();
    assert_eq!((second.head.status, &second.body[..]), (200, &b"b"[..]));
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    let _ = end_tx.send(());
}

#[tokio::test]
async fn truncated_bodies_and_refused_connections_are_errors() {
    let (url, _, _) = raw_server(vec![vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    ]])
    .await;
    let pool = Arc::new(Pool::default());
    let err = get(&pool, Method::GET, &url).await.err().unwrap();
    assert_eq!(
        err.repr(crate::http::Flavor::Requests, &url),
        "ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(5 bytes read, 5 more expected)', IncompleteRead(5 bytes read, 5 more expected)))"
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
    let engine = crate::http::Engine::new(tokio::runtime::Handle::current(), 1 << 20);
    let pool = Arc::new(Pool::default());
    for _ in 0..2 {
        let r = call(
            &engine.tls,
            &pool,
            Method::GET,
            &url,
            Dialect::Requests,
            false,
            Timeouts::default(),
        )
        .await
        .unwrap();
        assert_eq!((r.head.status, &r.body[..]), (200, &b"secure"[..]));
    }
    assert_eq!(
        handshakes.load(Ordering::SeqCst),
        1,
        "the TLS connection is kept alive"
    );
    let refused = call(
        &engine.tls,
        &pool,
        Method::GET,
        &url,
        Dialect::Requests,
        true,
        Timeouts::default(),
    )
    .await;
    assert!(
        matches!(refused, Err(HttpError::Tls(ref f)) if f.text == "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)"),
        "{refused:?}"
    );
}

/// A loopback server that reads one request per connection and then runs `answer` on the socket.
async fn scripted<F, Fut>(connections: usize, answer: F) -> Url
where
    F: Fn(usize, tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        for i in 0..connections {
            let (mut sock, _) = listener.accept().await.unwrap();
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut b = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut b).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&b[..n]),
                    }
                }
                answer(i, sock).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn the_read_timeout_bounds_each_wait_for_body_bytes_not_the_whole_body() {
    // 10 body bytes over ~1 s, 0.1 s apart, with a 0.4 s read timeout: requests succeeds, so must we
    let url = scripted(1, |_, mut sock| async move {
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
            .await
            .unwrap();
        for b in b"0123456789" {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sock.write_all(&[*b]).await.unwrap();
        }
    })
    .await;
    let timeouts = Timeouts {
        connect: Some(Duration::from_secs(5)),
        read: Some(Duration::from_millis(400)),
    };
    let r = call(
        &tls(),
        &Arc::new(Pool::default()),
        Method::GET,
        &url,
        Dialect::Requests,
        true,
        timeouts,
    )
    .await
    .unwrap();
    assert_eq!(&r.body[..], b"0123456789");
}

#[tokio::test]
async fn a_silent_server_and_a_stalled_body_are_read_timeouts_of_each_client() {
    let url = scripted(2, |i, mut sock| async move {
        if i == 1 {
            sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n012")
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let timeouts = Timeouts {
        connect: None,
        read: Some(Duration::from_millis(200)),
    };
    let mut ctx = ctx(&Method::GET, &url);
    Arc::make_mut(&mut ctx).read_timeout = Some("0.2".into());
    let headers = HeaderMap::new();
    let mut c = Call {
        verify: true,
        method: &Method::GET,
        url: &url,
        headers: &headers,
        extra_head: &[],
        body: b"",
        dialect: Dialect::Requests,
        ctx: &ctx,
        timeouts,
        connect_timeout: "",
        retries_on_close: 0,
        proxy: None,
        tls: None,
        http2: false,
        stream: false,
        watch: false,
    };
    let t0 = Instant::now();
    let head = exchange(&tls(), &Arc::new(Pool::default()), &c)
        .await
        .err()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2));
    let port = url.port().unwrap();
    assert_eq!(
        head.repr(crate::http::Flavor::Requests, &url),
        format!(
            "ReadTimeout(ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', port={port}): Read timed out. (read timeout=0.2)\"))"
        )
    );
    c.dialect = Dialect::Requests;
    let body = exchange(&tls(), &Arc::new(Pool::default()), &c)
        .await
        .err()
        .unwrap();
    assert_eq!(
        body.repr(crate::http::Flavor::Requests, &url),
        format!(
            "ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', port={port}): Read timed out.\")"
        )
    );
}

#[tokio::test]
async fn fast_http_retries_connections_closed_before_any_byte_and_requests_does_not() {
    let answer = |i: usize, mut sock: tokio::net::TcpStream| async move {
        if i >= 2 {
            sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await
                .unwrap();
        }
    };
    let url = scripted(3, answer).await;
    let headers = HeaderMap::new();
    let ctx = ctx(&Method::GET, &url);
    let mut c = Call {
        verify: true,
        method: &Method::GET,
        url: &url,
        headers: &headers,
        extra_head: &[],
        body: b"",
        dialect: Dialect::Fast,
        ctx: &ctx,
        timeouts: Timeouts::default(),
        connect_timeout: "",
        retries_on_close: 11,
        proxy: None,
        tls: None,
        http2: false,
        stream: false,
        watch: false,
    };
    let r = exchange(&tls(), &Arc::new(Pool::default()), &c)
        .await
        .unwrap();
    assert_eq!(&r.body[..], b"ok", "the third connection answers");
    let url = scripted(1, answer).await;
    c.url = &url;
    c.dialect = Dialect::Requests;
    c.retries_on_close = 0;
    let e = exchange(&tls(), &Arc::new(Pool::default()), &c)
        .await
        .err()
        .unwrap();
    assert_eq!(
        e.repr(crate::http::Flavor::Requests, &url),
        "RemoteDisconnected('Remote end closed connection without response')"
    );
}

#[tokio::test]
async fn fast_http_fails_every_request_with_a_zero_timeout() {
    let url = Url::parse("http://127.0.0.1:9/").unwrap();
    let timeouts = Timeouts {
        connect: Some(Duration::ZERO),
        read: Some(Duration::from_secs(1)),
    };
    let e = call(
        &tls(),
        &Arc::new(Pool::default()),
        Method::GET,
        &url,
        Dialect::Fast,
        false,
        timeouts,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        e.repr(crate::http::Flavor::Fast, &url),
        "BlockingIOError(11, 'Resource temporarily unavailable')"
    );
}

#[tokio::test]
async fn a_connect_that_never_completes_is_a_connect_timeout() {
    // A listener whose accept queue is full: further SYNs are dropped, so connect() hangs.
    // SAFETY: plain socket calls on a socket this test owns; the fd is closed at the end.
    let (fd, port) = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as u16;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        assert_eq!(
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as u32
            ),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        let mut len = size_of::<libc::sockaddr_in>() as u32;
        libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len);
        (fd, u16::from_be(addr.sin_port))
    };
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let timeouts = Timeouts {
        connect: Some(Duration::from_millis(300)),
        read: None,
    };
    let headers = HeaderMap::new();
    let ctx = ctx(&Method::GET, &url);
    let c = Call {
        verify: true,
        method: &Method::GET,
        url: &url,
        headers: &headers,
        extra_head: &[],
        body: b"",
        dialect: Dialect::Requests,
        ctx: &ctx,
        timeouts,
        connect_timeout: "0.3",
        retries_on_close: 0,
        proxy: None,
        tls: None,
        http2: false,
        stream: false,
        watch: false,
    };
    let e = exchange(&tls(), &Arc::new(Pool::default()), &c)
        .await
        .err()
        .unwrap();
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
    assert_eq!(
        e.repr(crate::http::Flavor::Requests, &url),
        "ConnectTimeoutError(<urllib3.connection.HTTPConnection object at 0x....>, 'Connection to 127.0.0.1 timed out. (connect timeout=0.3)')"
    );
}

#[test]
fn tokens_are_case_insensitive_and_comma_separated() {
    assert!(has_token(b"Keep-Alive, Upgrade", b"keep-alive"));
    assert!(!has_token(b"keep-alived", b"keep-alive"));
}

#[tokio::test]
async fn a_streamed_response_returns_at_its_head_and_hands_its_connection_back_at_the_end() {
    // one connection: a chunked response sent in three writes 50 ms apart, then a second request on it
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        count.fetch_add(1, Ordering::SeqCst);
        let mut b = [0u8; 1024];
        let _ = sock.read(&mut b).await.unwrap();
        let parts: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
            b"2\r\nde\r\n",
            b"0\r\n\r\n",
        ];
        for p in parts {
            sock.write_all(p).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = sock.read(&mut b).await.unwrap();
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
    });
    let pool = Arc::new(Pool::default());
    let headers = HeaderMap::new();
    let ctx = ctx(&Method::GET, &url);
    let mut c = Call {
        verify: true,
        method: &Method::GET,
        url: &url,
        headers: &headers,
        extra_head: &[],
        body: b"",
        dialect: Dialect::Requests,
        ctx: &ctx,
        timeouts: Timeouts::default(),
        connect_timeout: "",
        retries_on_close: 0,
        proxy: None,
        tls: None,
        http2: false,
        stream: true,
        watch: false,
    };
    let mut r = exchange(&tls(), &pool, &c).await.unwrap();
    assert_eq!(r.head.status, 200);
    // the rest of the body is not there yet when the call returns: it comes piece by piece as the server writes it
    let mut tail = r.tail.take().expect("a streamed body");
    let mut pieces = vec![r.body.to_vec()];
    while let Some(p) = tail.next().await.unwrap() {
        pieces.push(p.to_vec());
    }
    pieces.retain(|p| !p.is_empty());
    assert_eq!(pieces, [b"abc".to_vec(), b"de".to_vec()]);
    assert!(tail.is_done());
    assert_eq!(pool.idle.lock().len(), 1, "the connection went back");
    c.stream = false;
    let r = exchange(&tls(), &pool, &c).await.unwrap();
    assert_eq!(&r.body[..], b"ok");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
