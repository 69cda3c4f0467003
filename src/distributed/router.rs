//! The master's ROUTER socket, on tokio and ZMTP directly ([`super::zmtp`]): one task per worker connection that
//! reads, stamps and decodes its messages, one that writes what the master sends it, and one bounded queue into
//! the master's loop.
//!
//! # Decision: our own ROUTER, not the `zeromq` crate's (which the worker's DEALER still uses)
//!
//! Measured with `bench/fleet.rs` (simulated Locust workers; docs/performance.md, "A master for 10,000 workers"):
//! with `zeromq` 0.7 every inbound message of every peer went through one fair-queue task (a mutex, a binary heap,
//! a hash set and a waker per message, all on one core), the decoding ran in the master's own loop, and sends went
//! out one at a time through one task that awaited each peer's queue (a slow peer held up `quit` for all others:
//! at shutdown under load only 389 of 1,000 workers received it). Here:
//! - **Reading is spread and stamped.** Each connection's task decodes its messages (msgpack, on any tokio
//!   thread) and stamps them with the time they were read, so the master judges liveness on when a heartbeat
//!   arrived, not on when its loop got to it.
//! - **The inbound queue is bounded** ([`INBOUND_CAPACITY`] messages). When it is full, the connection tasks wait:
//!   TCP pushes back on the workers, whose sends queue up on their side; nothing is dropped (stats reports are
//!   deltas: a dropped one would be a lost count).
//! - **Sends never wait.** Each connection has its own writer and queue; [`Priority::Control`] messages (`ack`,
//!   `spawn`, `stop`, `quit`, …) are written ahead of [`Priority::Routine`] ones (heartbeat replies) queued at the
//!   same time, and routine messages to a peer that stopped reading are dropped past [`ROUTINE_BACKLOG_LIMIT`]
//!   bytes (control messages never are). [`Router::flush`] waits until every queued message is written, so a quit
//!   reaches every worker before the master exits.
//! - **A peer reconnecting with the same identity takes over** (libzmq's `ZMQ_ROUTER_HANDOVER`): Locust's
//!   `reconnect` makes a worker open a new connection with its old id, and the new one must win.
//!
//! Like libzmq, peers are not told apart by connection state: a closed connection only stops routing to its
//! identity (Locust's master learns of lost workers from missing heartbeats). Not done, as Locust does not need
//! them: TCP keepalive (the heartbeats find dead peers), IPv6 for `*` (bound as 0.0.0.0, as before).
use super::zmtp::{self, Incoming, ZmtpError};
use crate::msgpack::{CodecError, Message};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc};

/// Messages the master's loop has not taken yet, at most.
pub const INBOUND_CAPACITY: usize = 32 * 1024;
/// Unwritten routine bytes to one peer past which more routine messages to it are dropped.
pub const ROUTINE_BACKLOG_LIMIT: usize = 1 << 20;
/// How long an idle I/O thread of a master waits before it sleeps on its sockets, in µs (0: not a master).
static PARK_DELAY_US: AtomicU64 = AtomicU64::new(0);

/// Make this process's idle I/O threads wait `delay` before they sleep on their sockets (a master: see
/// [`before_park`]). `RLOCUST_MASTER_PARK_US` overrides it (benchmarks; 0 turns it off).
pub fn set_park_delay(delay: Duration) {
    let us = std::env::var("RLOCUST_MASTER_PARK_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(delay.as_micros() as u64);
    PARK_DELAY_US.store(us.min(100_000), Ordering::Relaxed);
}

/// The runtime's `on_thread_park` hook: on a master, let the sockets' messages gather for a moment before the
/// thread goes to sleep on them, so that one wake-up takes many.
///
/// NOTE: at 1,000 workers (1,333 messages a second) nearly every message woke the thread on its own; waiting
/// before sleeping lets the messages of that moment gather: measured with bench/fleet.py at 1,000 workers, 6.4-7.1%
/// of a core with no wait, 5.8-6.1% waiting 10 ms, 4.4-5.3% waiting 20 ms (docs/performance.md). A busy master
/// never parks, so never waits. Nothing a master does is that urgent: heartbeats are judged in seconds, and the
/// web UI runs on its own thread (`web::start`), which does not wait.
pub fn before_park() {
    let us = PARK_DELAY_US.load(Ordering::Relaxed);
    if us > 0 {
        std::thread::sleep(Duration::from_micros(us));
    }
}

/// How long routine messages (heartbeat replies) wait to leave together with the others of the moment.
pub const ROUTINE_FLUSH: Duration = Duration::from_millis(20);
/// The listen backlog asked for (the kernel caps it at `net.core.somaxconn`, 4,096 by default).
const LISTEN_BACKLOG: u32 = 8192;
/// How long a new connection has for the ZMTP handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How urgent a message to a worker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    Control,
    Routine,
}

/// A message that arrived, with when its connection read it.
pub struct Inbound {
    pub conn: Arc<Conn>,
    pub at: Instant,
    /// The decoded message, or why it could not be decoded.
    pub msg: Result<Message, CodecError>,
}

struct Out {
    priority: Priority,
    bytes: Bytes,
}

/// One worker connection: its identity and the way to its writer.
pub struct Conn {
    pub id: Arc<str>,
    tx: mpsc::UnboundedSender<Out>,
    routine_queued: AtomicUsize,
    closed: AtomicBool,
    /// Ends the reader when the connection is shut (the writer ends on an empty frame).
    close: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    shared: Arc<Shared>,
    serial: u64,
    /// This connection, for the routine batch.
    me: std::sync::OnceLock<std::sync::Weak<Conn>>,
}

impl Conn {
    /// Queue a ZMTP frame (see [`zmtp::frame`]) for this peer. False when it was dropped: the connection is gone,
    /// or it is routine and the peer is too far behind.
    pub fn send_frame(&self, bytes: Bytes, priority: Priority) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        let len = bytes.len();
        if priority == Priority::Routine {
            if self.routine_queued.load(Ordering::Relaxed) > ROUTINE_BACKLOG_LIMIT {
                return false;
            }
            self.routine_queued.fetch_add(len, Ordering::Relaxed);
        }
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        if priority == Priority::Routine {
            // routine messages leave together, every ROUTINE_FLUSH (see `flush_routine`)
            let mut batch = self.shared.routine.lock();
            if batch.is_empty() {
                self.shared.routine_due.notify_one();
            }
            batch.push((self.self_ref(), bytes));
            return true;
        }
        self.push(Out { priority, bytes })
    }

    fn push(&self, out: Out) -> bool {
        let (priority, len) = (out.priority, out.bytes.len());
        if self.tx.send(out).is_err() {
            self.written(priority, len);
            return false;
        }
        true
    }

    fn self_ref(&self) -> Arc<Conn> {
        self.me
            .get()
            .and_then(std::sync::Weak::upgrade)
            .expect("a connection's own reference is set when it is made")
    }

    /// Encode and queue a message.
    pub fn send(&self, msg: &Message, priority: Priority) -> bool {
        match msg.encode() {
            Ok(payload) => self.send_frame(Bytes::from(zmtp::frame(&payload)), priority),
            Err(_) => false,
        }
    }

    fn written(&self, priority: Priority, len: usize) {
        if priority == Priority::Routine {
            self.routine_queued.fetch_sub(len, Ordering::Relaxed);
        }
        if self.shared.queued.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.drained.notify_waiters();
        }
    }

    /// Stop this connection (its tasks end, the socket closes).
    fn shut(&self) {
        if self.closed.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(tx) = self.close.lock().take() {
            let _ = tx.send(());
        }
        // an empty frame tells the writer to stop
        let _ = self.tx.send(Out {
            priority: Priority::Control,
            bytes: Bytes::new(),
        });
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

struct Shared {
    conns: Mutex<HashMap<Arc<str>, Arc<Conn>>>,
    /// Routine messages waiting for the next flush.
    routine: Mutex<Vec<(Arc<Conn>, Bytes)>>,
    routine_due: Notify,
    /// Messages queued to any peer and not written yet.
    queued: AtomicUsize,
    drained: Notify,
    serial: AtomicU64,
}

/// The bound ROUTER.
pub struct Router {
    port: u16,
    shared: Arc<Shared>,
}

impl Router {
    /// Bind `host:port` (`*`: every IPv4 interface; port 0 picks one) and start accepting; what arrives goes to the
    /// returned queue.
    pub async fn bind(host: &str, port: u16) -> std::io::Result<(Router, mpsc::Receiver<Inbound>)> {
        let host = if host == "*" { "0.0.0.0" } else { host };
        let host = host.trim_matches(|c| c == '[' || c == ']');
        let listener = listen(host, port).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            conns: Mutex::new(HashMap::new()),
            routine: Mutex::new(Vec::new()),
            routine_due: Notify::new(),
            queued: AtomicUsize::new(0),
            drained: Notify::new(),
            serial: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel(INBOUND_CAPACITY);
        tokio::spawn(flush_routine(shared.clone(), tx.clone()));
        tokio::spawn(accept_loop(listener, shared.clone(), tx));
        Ok((Router { port, shared }, rx))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection of the peer with this identity, if connected.
    pub fn conn(&self, id: &str) -> Option<Arc<Conn>> {
        self.shared.conns.lock().get(id).cloned()
    }

    /// Encode and queue `msg` for the peer whose identity is its node id. False when no such peer is connected.
    pub fn send(&self, msg: &Message, priority: Priority) -> bool {
        match self.conn(&msg.node_id) {
            Some(c) => c.send(msg, priority),
            None => false,
        }
    }

    /// Messages queued and not written yet.
    pub fn unwritten(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }

    /// Connected peers.
    pub fn connections(&self) -> usize {
        self.shared.conns.lock().len()
    }

    /// Wait until everything queued has been written (or `timeout`). True when it was.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.queued.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.shared.queued.load(Ordering::Acquire) == 0;
            }
        }
    }
}

/// Bind and listen with a backlog for a fleet connecting at once (tokio's default of 1,024 overflows when
/// thousands of workers start together: their handshakes are dropped and retried after seconds).
async fn listen(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("cannot resolve {host}"))))
}

/// Hand the routine messages queued since the last flush to their writers, all at once, every ROUTINE_FLUSH.
///
/// NOTE: a heartbeat reply written the moment its heartbeat is read costs a wake-up on both sides per message;
/// written together with the other replies of the same few milliseconds, the writers and the workers' reading
/// side wake once per batch (measured with bench/fleet.py at 1,000 workers: docs/performance.md). The delay is
/// far below anything a heartbeat is judged by (a worker quits after `MASTER_HEARTBEAT_TIMEOUT`, 60 s).
async fn flush_routine(shared: Arc<Shared>, alive: mpsc::Sender<Inbound>) {
    loop {
        if shared.routine.lock().is_empty() {
            // (`notify_one` keeps a permit when nobody waits: a message queued meanwhile is not missed)
            tokio::select! {
                _ = shared.routine_due.notified() => {}
                _ = alive.closed() => return,
            }
            tokio::time::sleep(ROUTINE_FLUSH).await;
        }
        let batch = std::mem::take(&mut *shared.routine.lock());
        for (conn, bytes) in batch {
            conn.push(Out {
                priority: Priority::Routine,
                bytes,
            });
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tx: mpsc::Sender<Inbound>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, shared.clone(), tx.clone()));
            }
            Err(e) => {
                // out of file descriptors, most likely: wait for some to be freed
                crate::log::log(
                    crate::log::Level::Warning,
                    "locust.runners",
                    &format!("Master socket: accept failed: {e}"),
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if tx.is_closed() {
            return;
        }
    }
}

async fn connection(
    mut stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Inbound>,
) {
    let (peer, dec) =
        match zmtp::handshake(&mut stream, "ROUTER", Some(b""), HANDSHAKE_TIMEOUT).await {
            Ok(x) => x,
            Err(e) => {
                crate::log::log(
                    crate::log::Level::Debug,
                    "locust.runners",
                    &format!("Master socket: handshake failed: {e}"),
                );
                return;
            }
        };
    let serial = shared.serial.fetch_add(1, Ordering::Relaxed);
    let id: Arc<str> = if peer.identity.is_empty() {
        // libzmq makes up an id for a peer that set none; ours is readable
        Arc::from(format!("peer-{serial}"))
    } else {
        Arc::from(String::from_utf8_lossy(&peer.identity).as_ref())
    };
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (close_tx, close_rx) = tokio::sync::oneshot::channel();
    let conn = Arc::new(Conn {
        id: id.clone(),
        tx: out_tx,
        routine_queued: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
        close: Mutex::new(Some(close_tx)),
        shared: shared.clone(),
        serial,
        me: std::sync::OnceLock::new(),
    });
    let _ = conn.me.set(Arc::downgrade(&conn));
    if let Some(old) = shared.conns.lock().insert(id, conn.clone()) {
        old.shut();
    }
    let (read, write) = stream.into_split();
    let writer = tokio::spawn(write_loop(write, conn.clone(), out_rx));
    read_loop(read, dec, conn.clone(), tx, close_rx).await;
    conn.shut();
    {
        let mut conns = shared.conns.lock();
        if conns.get(&conn.id).is_some_and(|c| c.serial == conn.serial) {
            conns.remove(&conn.id);
        }
    }
    let _ = writer.await;
}

async fn read_loop(
    mut read: OwnedReadHalf,
    mut dec: zmtp::Decoder,
    conn: Arc<Conn>,
    tx: mpsc::Sender<Inbound>,
    mut close: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let incoming = tokio::select! {
            r = zmtp::read_message(&mut read, &mut dec) => r,
            _ = &mut close => return,
        };
        match incoming {
            Ok(Incoming::Message(payload)) => {
                let item = Inbound {
                    conn: conn.clone(),
                    at: Instant::now(),
                    msg: Message::decode(&payload),
                };
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            Ok(Incoming::Ping(pong)) => {
                conn.send_frame(Bytes::from(pong), Priority::Control);
            }
            Err(ZmtpError::Closed) => return,
            Err(e) => {
                crate::log::log(
                    crate::log::Level::Debug,
                    "locust.runners",
                    &format!("Master socket: connection of {} failed: {e}", conn.id),
                );
                return;
            }
        }
        if conn.is_closed() {
            return;
        }
    }
}

async fn write_loop(
    mut write: OwnedWriteHalf,
    conn: Arc<Conn>,
    mut rx: mpsc::UnboundedReceiver<Out>,
) {
    let mut batch: Vec<Out> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(first) = rx.recv().await else { break };
        batch.push(first);
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        if batch.iter().any(|m| m.bytes.is_empty()) {
            // shut: what is queued is not written
            for m in batch.drain(..) {
                if !m.bytes.is_empty() {
                    conn.written(m.priority, m.bytes.len());
                }
            }
            break;
        }
        // control messages first, each class in the order queued
        batch.sort_by_key(|m| m.priority == Priority::Routine);
        buf.clear();
        for m in &batch {
            buf.extend_from_slice(&m.bytes);
        }
        let ok = write.write_all(&buf).await.is_ok();
        if buf.capacity() > 64 * 1024 {
            // a large message (a locustfile) passed: do not keep its buffer for every later heartbeat reply
            buf = Vec::new();
        }
        for m in batch.drain(..) {
            conn.written(m.priority, m.bytes.len());
        }
        if !ok {
            conn.shut();
            break;
        }
    }
    rx.close();
    while let Ok(m) = rx.try_recv() {
        if !m.bytes.is_empty() {
            conn.written(m.priority, m.bytes.len());
        }
    }
    let _ = write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::Value;
    use tokio::net::TcpStream;

    async fn dealer(port: u16, id: &str) -> (TcpStream, zmtp::Decoder) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (peer, dec) = zmtp::handshake(
            &mut s,
            "DEALER",
            Some(id.as_bytes()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(peer.socket_type, "ROUTER");
        (s, dec)
    }

    async fn recv(s: &mut TcpStream, dec: &mut zmtp::Decoder) -> Message {
        match zmtp::read_message(s, dec).await.unwrap() {
            Incoming::Message(m) => Message::decode(&m).unwrap(),
            Incoming::Ping(_) => panic!("ping"),
        }
    }

    #[tokio::test]
    async fn messages_both_ways_and_flush() {
        let (router, mut rx) = Router::bind("127.0.0.1", 0).await.unwrap();
        let (mut s, mut dec) = dealer(router.port(), "host_1").await;
        let hello = Message::new("client_ready", Value::str("2.47.0"), "host_1");
        s.write_all(&zmtp::frame(&hello.encode().unwrap()))
            .await
            .unwrap();
        let got = rx.recv().await.unwrap();
        assert_eq!(&*got.conn.id, "host_1");
        assert_eq!(got.msg.unwrap(), hello);
        // routine queued before control: control is written first when both wait in the same batch
        let hb = Message::new("heartbeat", Value::Nil, "host_1");
        let quit = Message::new("quit", Value::Nil, "host_1");
        assert!(router.send(&hb, Priority::Routine));
        assert!(router.send(&quit, Priority::Control));
        assert!(router.flush(Duration::from_secs(5)).await);
        let a = recv(&mut s, &mut dec).await;
        let b = recv(&mut s, &mut dec).await;
        let kinds = [a.kind.as_str(), b.kind.as_str()];
        assert!(kinds.contains(&"quit") && kinds.contains(&"heartbeat"));
        // an unknown identity is dropped, as a ROUTER does
        assert!(!router.send(
            &Message::new("ack", Value::Nil, "nobody"),
            Priority::Control
        ));
        // a bad payload arrives as a decode error with its sender
        s.write_all(&zmtp::frame(&[0xc1])).await.unwrap();
        let bad = rx.recv().await.unwrap();
        assert!(bad.msg.is_err());
        assert_eq!(&*bad.conn.id, "host_1");
    }

    #[tokio::test]
    async fn same_identity_takes_over() {
        let (router, mut rx) = Router::bind("127.0.0.1", 0).await.unwrap();
        let (mut first, mut dec1) = dealer(router.port(), "w").await;
        let (mut second, mut dec2) = dealer(router.port(), "w").await;
        let m = Message::new("heartbeat", Value::Nil, "w");
        second
            .write_all(&zmtp::frame(&m.encode().unwrap()))
            .await
            .unwrap();
        let got = rx.recv().await.unwrap();
        assert_eq!(got.conn.serial, 1);
        assert!(router.send(&Message::new("ack", Value::Nil, "w"), Priority::Control));
        assert_eq!(recv(&mut second, &mut dec2).await.kind, "ack");
        // the first connection was closed by the takeover
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            zmtp::read_message(&mut first, &mut dec1),
        )
        .await
        .unwrap();
        assert!(r.is_err());
        assert_eq!(router.connections(), 1);
    }
}
