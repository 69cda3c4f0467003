//! The accept loop of the web UI and of the `--metrics-port` listener, with the limits that hold before any request
//! is read, let alone authenticated: a cap on open connections, a time limit on a TLS handshake, a time limit on
//! each request head (which is also the idle time a kept-alive connection may wait for its next request), and a
//! limit on a request head's size. (axum::serve offers none of them: a client that sends half a request head kept
//! its connection, a task and a buffer for as long as it liked.)
//!
//! Past the cap, a new connection closes the oldest one that is not answering a request (silent, half-sent, or idle
//! between requests), so such connections cannot keep a real client out for as long as their timeout.
//!
//! Who calls it: `web::start` and `web::metrics::start_listener`, on the web UI's runtime. It serves each
//! connection in a task of its own with hyper's HTTP/1.1 server and hands each request to the axum router with the
//! client's address ([`Peer`], read back with [`peer_of`]); it never reads a request itself and never touches Python.
use crate::log;
use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio_rustls::TlsAcceptor;

/// How long a client has to send a request body the server reads itself, or hands to the locustfile's routes (`/swarm`, `/user`): a body sent a byte
/// at a time does not hold its connection longer.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The client's address of a connection (set by `web::serve` as axum's connect info).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// The request's client address (WSGI `REMOTE_ADDR`).
pub fn peer_of(req: &axum::extract::Request) -> SocketAddr {
    req.extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.0)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// Connections open at once. Each costs a task, a socket and a read buffer of at most [`MAX_HEAD_BYTES`] (a browser
/// keeps at most six to a server, the operators' and KEDA's polls one each). Held from accept to close, TLS
/// handshake included; past it, a new connection closes the oldest one that is not answering a request ([`serve`]).
pub const MAX_CONNECTIONS: usize = 512;

/// How long a client has to send a whole request head: from the connection's start (after TLS), and again after each
/// response while the connection is kept alive, so it is also the idle timeout. A client that trickles a header a byte
/// at a time (slowloris) is closed after it; the dashboard polls every 2 s and reconnects when closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a TLS handshake may take (a client that connects and says nothing is closed after it).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head (request line and headers) read: a larger one gets 431. Python's http.server, which
/// werkzeug's development server builds on, reads at most 64 KiB a line and 100 headers.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A connection as the accept loop sees it: whether a request is being answered on it, and how to close it.
#[derive(Default)]
struct Conn {
    /// Set while a request is being answered: such a connection is never closed to make room. (It is cleared when
    /// the response is ready, before hyper has written all of its body: under a flood at the cap, a large body
    /// being written may be cut, and the client reconnects.)
    busy: AtomicBool,
    /// Closes the connection (its task drops it).
    close: Notify,
}

/// The open connections in accept order (ended ones dropped as they are met).
#[derive(Default)]
struct Conns(VecDeque<Weak<Conn>>);

impl Conns {
    fn add(&mut self, conn: &Arc<Conn>) {
        while self.0.front().is_some_and(|c| c.strong_count() == 0) {
            self.0.pop_front();
        }
        if self.0.len() >= 2 * MAX_CONNECTIONS {
            self.0.retain(|c| c.strong_count() > 0);
        }
        self.0.push_back(Arc::downgrade(conn));
    }

    /// Close the oldest connection that is not answering a request (one that has sent nothing, half a request
    /// head, or waits idle for its next request); `false` when every one is busy.
    fn close_oldest_idle(&mut self) -> bool {
        let found = self
            .0
            .iter()
            .position(|c| c.upgrade().is_some_and(|c| !c.busy.load(Ordering::Relaxed)));
        match found
            .and_then(|i| self.0.remove(i))
            .and_then(|c| c.upgrade())
        {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Serve `app` on `listener` (HTTPS when `tls` is given) until the process ends; `what` names the server in the
/// log lines. At [`MAX_CONNECTIONS`], each new client makes room by closing the oldest connection that is not
/// answering a request (a flood of silent, half-sent or idle connections cannot keep a real client out); when
/// every one is busy, new clients wait in the backlog until one closes.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    what: &'static str,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let tls = tls.map(TlsAcceptor::from);
    let mut conns = Conns::default();
    let mut told_full = false;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and the like: wait for descriptors to come free instead of spinning
                log::log(
                    log::Level::Debug,
                    "locust.web",
                    &format!("The {what} could not accept a connection: {e}"),
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if !told_full {
                    told_full = true;
                    log::log(
                        log::Level::Warning,
                        "locust.web",
                        &format!(
                            "The {what} has {MAX_CONNECTIONS} connections open: each new one closes the oldest that is not answering a request (an idle one closes after {} s anyway)",
                            HEADER_READ_TIMEOUT.as_secs()
                        ),
                    );
                }
                conns.close_oldest_idle();
                match slots.clone().acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_) => return,
                }
            }
        };
        if slots.available_permits() > MAX_CONNECTIONS / 2 {
            told_full = false;
        }
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Conn::default());
        conns.add(&conn);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let serve = async {
                match tls {
                    None => connection(stream, peer, app, &conn).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        {
                            Ok(Ok(stream)) => connection(stream, peer, app, &conn).await,
                            Ok(Err(e)) => log::log(
                                log::Level::Debug,
                                "locust.web",
                                &format!(
                                    "TLS handshake with {peer} failed: {e} (an http:// request to the https:// web UI?)"
                                ),
                            ),
                            Err(_) => log::log(
                                log::Level::Debug,
                                "locust.web",
                                &format!("TLS handshake with {peer} timed out"),
                            ),
                        }
                    }
                }
            };
            tokio::select! {
                _ = serve => {}
                _ = conn.close.notified() => {}
            }
        });
    }
}

/// One connection's requests, each handed to `app` with the client's address; `conn` is busy while one is answered.
async fn connection<I>(io: I, peer: SocketAddr, app: Router, conn: &Arc<Conn>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = conn.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        conn.busy.store(true, Ordering::Relaxed);
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(Peer(peer)));
        let mut app = app.clone();
        let conn = conn.clone();
        async move {
            let response = tower_service::Service::call(&mut app, req).await;
            conn.busy.store(false, Ordering::Relaxed);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    // an error here is the client's (a timeout, a reset, a malformed request): hyper has answered what it could
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}
