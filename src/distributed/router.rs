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
//! # Strangers (issue 51)
//!
//! The port takes connections from anyone who reaches it, so what a peer can cost is bounded before it is trusted:
//! - **The master secret** ([`super::auth`], opt-in): with it, a new connection's first message must answer the
//!   challenge sent right after the ZMTP handshake; until then nothing it sends reaches the master's loop and it
//!   takes over no identity. A peer that does not answer is refused with one line (once per identity) and held
//!   until [`REGISTER_TIMEOUT`]; one with a wrong proof is told so and closed.
//! - **Registration**: a connection is registered once the master took its `client_ready` (or, without a secret,
//!   when its identity is a registered worker's: Locust's `reconnect` opens a new connection that sends no
//!   `client_ready`). Before that its frames are at most [`UNREGISTERED_MAX_FRAME`] bytes, and it is closed after
//!   [`REGISTER_TIMEOUT`]; at most [`MAX_UNREGISTERED`] such connections are open at once and at most
//!   [`MAX_CONNECTIONS`] in all (past either, no new connection is accepted until one ends: the kernel's backlog
//!   holds them, as a full libzmq socket does).
//! - **Replies are bounded per peer**: once [`PEER_QUEUE_LIMIT`] bytes wait to be written to a peer, its connection
//!   is not read until they drain (libzmq's high-water mark does the same), so a peer that sends PINGs and never
//!   reads stops being read instead of growing the master's memory.
//!
//! Like libzmq, peers are not told apart by connection state: a closed connection only stops routing to its
//! identity (Locust's master learns of lost workers from missing heartbeats). Not done, as Locust does not need
//! them: TCP keepalive (the heartbeats find dead peers), IPv6 for `*` (bound as 0.0.0.0, as before).
use super::auth::{self, Refusal, Secret};
use super::zmtp::{self, Incoming, ZmtpError};
use crate::msgpack::{CodecError, Message, Value};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
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
/// Unwritten bytes to one peer past which its connection is not read until they drain: what a peer that never
/// reads can make the master hold (PONGs to its PINGs, replies to its heartbeats). Far above what a worker has
/// waiting in normal runs (a `spawn` is about a kilobyte); a larger single message (a locustfile) still goes out.
pub const PEER_QUEUE_LIMIT: usize = 256 << 10;
/// The largest frame from a connection that has not registered: a `client_ready`, a `locustfile` request or an
/// answer to the master secret's challenge is under 200 bytes; 64 KiB leaves room and bounds what
/// [`MAX_UNREGISTERED`] strangers can make the master buffer (64 MiB at most).
pub const UNREGISTERED_MAX_FRAME: usize = 64 << 10;
/// How long a connection may stay unregistered (no `client_ready` taken, or the secret not proven) before it is
/// closed. A worker registers within milliseconds; a `-f -` worker's download connection is done within seconds.
pub const REGISTER_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections not registered yet, at most (past it, no connection is accepted until one registers or ends).
/// 10,000 workers starting together register as fast as the master reads them, well within this.
pub const MAX_UNREGISTERED: usize = 2048;
/// Connections in all, at most: room for the 10,000-worker fleet (bench/fleet.py) with their reconnections,
/// and a bound on the file descriptors and tasks a crowd of peers can take.
pub const MAX_CONNECTIONS: usize = 20_000;
/// Decoded values (msgpack scalars, arrays and maps: 32 bytes each at least) in messages read and not yet handled
/// by the master's loop, over all connections, at most: past it, connections wait before they decode more, as
/// they wait when the inbound queue is full. Bounds what decoded messages can hold at once (about 512 MiB of values
/// at most) where [`INBOUND_CAPACITY`] counts messages whatever their size; a fleet's reports are a few thousand
/// values each, far below it while the master keeps up.
pub const INFLIGHT_VALUES: usize = 16 << 20;
/// How long a new connection has to answer the master secret's challenge.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Identities whose refusal was logged, at most (then the memory is cleared and starts over).
const REFUSALS_REMEMBERED: usize = 4096;
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
    /// Its decoded values, counted in the router's in-flight budget until the master's loop drops it.
    _charge: Charge,
}

/// Values decoded and not yet handled by the master ([`INFLIGHT_VALUES`]), given back when dropped.
struct Charge {
    shared: Arc<Shared>,
    values: usize,
}

impl Charge {
    /// The values actually decoded (at most those reserved): give the rest back.
    fn settle(&mut self, values: usize) {
        let back = self.values.saturating_sub(values);
        if back > 0 {
            self.values -= back;
            self.shared.inflight.fetch_sub(back, Ordering::AcqRel);
            self.shared.inflight_room.notify_waiters();
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.shared
            .inflight
            .fetch_sub(self.values, Ordering::AcqRel);
        // (waiters are rare: only while the master is far behind)
        self.shared.inflight_room.notify_waiters();
    }
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
    /// The master took this connection's `client_ready` (or its identity is a registered worker's).
    registered: Arc<AtomicBool>,
    /// The master logged a refusal of this connection's messages already (one line per peer).
    pub refusal_logged: AtomicBool,
    /// Bytes queued to this peer and not written yet (all priorities).
    queued_bytes: AtomicUsize,
    /// Woken when `queued_bytes` falls to [`PEER_QUEUE_LIMIT`] (the reader waits for it).
    room: Notify,
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
        self.queued_bytes.fetch_add(len, Ordering::AcqRel);
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
        let before = self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        if before > PEER_QUEUE_LIMIT && before - len <= PEER_QUEUE_LIMIT {
            self.room.notify_waiters();
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

    /// Whether the master took this connection as a worker's.
    pub fn is_registered(&self) -> bool {
        self.registered.load(Ordering::Acquire)
    }

    /// The master takes this connection as its worker's: larger frames, no registration deadline; its identity is
    /// remembered as a worker's (a reconnection with it is registered at once, see [`Router::forget`]).
    pub fn register(&self) {
        if !self.registered.swap(true, Ordering::AcqRel) {
            self.shared.unregistered.fetch_sub(1, Ordering::AcqRel);
        }
        self.shared.known.lock().insert(self.id.clone());
    }

    /// Wait until the bytes queued to this peer are at most [`PEER_QUEUE_LIMIT`].
    async fn room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.queued_bytes.load(Ordering::Acquire) <= PEER_QUEUE_LIMIT || self.is_closed() {
                return;
            }
            notified.await;
        }
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
    /// The master secret (`None`: anyone may connect, as with Locust).
    secret: Option<Arc<Secret>>,
    /// Open connections, and those of them not registered.
    connections: AtomicUsize,
    unregistered: AtomicUsize,
    /// The identities of registered workers (a reconnection with one is registered at once).
    known: Mutex<HashSet<Arc<str>>>,
    /// Identities (or addresses) whose refusal was logged.
    refused: Mutex<HashSet<String>>,
    /// Decoded values not handled yet ([`INFLIGHT_VALUES`]), and the wake-up of connections waiting for room.
    inflight: AtomicUsize,
    inflight_room: Notify,
}

impl Shared {
    /// Reserve room for decoding a payload of `len` bytes (it holds at most that many values): wait while the
    /// values in flight would pass [`INFLIGHT_VALUES`] (never when none are, so one large message always goes).
    async fn reserve(self: &Arc<Self>, len: usize) -> Charge {
        let want = len.min(crate::msgpack::MAX_ELEMENTS);
        loop {
            let notified = self.inflight_room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.inflight.load(Ordering::Acquire);
            if (now == 0 || now + want <= INFLIGHT_VALUES)
                && self
                    .inflight
                    .compare_exchange(now, now + want, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                return Charge {
                    shared: self.clone(),
                    values: want,
                };
            }
            if now == 0 || now + want <= INFLIGHT_VALUES {
                continue;
            }
            notified.await;
        }
    }

    /// True the first time `who` is refused (so each refusal is one line per peer).
    fn first_refusal(&self, who: &str) -> bool {
        let mut r = self.refused.lock();
        if r.len() >= REFUSALS_REMEMBERED {
            r.clear();
        }
        r.insert(who.to_owned())
    }
}

/// The bound ROUTER.
pub struct Router {
    port: u16,
    shared: Arc<Shared>,
}

impl Router {
    /// Bind `host:port` (`*`: every IPv4 interface; port 0 picks one) and start accepting; what arrives goes to the
    /// returned queue.
    pub async fn bind(
        host: &str,
        port: u16,
        secret: Option<Arc<Secret>>,
    ) -> std::io::Result<(Router, mpsc::Receiver<Inbound>)> {
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
            secret,
            connections: AtomicUsize::new(0),
            unregistered: AtomicUsize::new(0),
            known: Mutex::new(HashSet::new()),
            refused: Mutex::new(HashSet::new()),
            inflight: AtomicUsize::new(0),
            inflight_room: Notify::new(),
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

    /// A worker left (or was removed): a later connection with its identity must register again.
    pub fn forget(&self, id: &str) {
        self.shared.known.lock().remove(id);
    }

    /// True the first time this peer is refused (one log line per peer).
    pub fn first_refusal(&self, who: &str) -> bool {
        self.shared.first_refusal(who)
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

/// Counts an open connection (and an unregistered one until it registers) for as long as it lives.
struct Counted(Arc<Shared>, Arc<AtomicBool>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
        if !self.1.swap(true, Ordering::AcqRel) {
            self.0.unregistered.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tx: mpsc::Sender<Inbound>) {
    let mut full_logged = false;
    loop {
        // past the caps, accept nothing until a connection registers or ends (the backlog holds the others)
        while shared.connections.load(Ordering::Acquire) >= MAX_CONNECTIONS
            || shared.unregistered.load(Ordering::Acquire) >= MAX_UNREGISTERED
        {
            if !full_logged {
                full_logged = true;
                crate::log::log(
                    crate::log::Level::Warning,
                    "locust.runners",
                    &format!(
                        "Master socket: {} connections open, {} of them not registered (limits {MAX_CONNECTIONS} and {MAX_UNREGISTERED}): new connections wait until some end",
                        shared.connections.load(Ordering::Acquire),
                        shared.unregistered.load(Ordering::Acquire)
                    ),
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            if tx.is_closed() {
                return;
            }
        }
        match listener.accept().await {
            Ok((stream, from)) => {
                full_logged = false;
                let _ = stream.set_nodelay(true);
                shared.connections.fetch_add(1, Ordering::AcqRel);
                shared.unregistered.fetch_add(1, Ordering::AcqRel);
                tokio::spawn(connection(stream, from, shared.clone(), tx.clone()));
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
    from: std::net::SocketAddr,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Inbound>,
) {
    let registered = Arc::new(AtomicBool::new(false));
    let _counted = Counted(shared.clone(), registered.clone());
    let deadline = tokio::time::Instant::now() + REGISTER_TIMEOUT;
    let (peer, mut dec) =
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
    dec.set_max_frame(UNREGISTERED_MAX_FRAME);
    let serial = shared.serial.fetch_add(1, Ordering::Relaxed);
    let id: Arc<str> = if peer.identity.is_empty() {
        // libzmq makes up an id for a peer that set none; ours is readable
        Arc::from(format!("peer-{serial}"))
    } else {
        Arc::from(String::from_utf8_lossy(&peer.identity).as_ref())
    };
    if let Some(secret) = shared.secret.clone() {
        match authenticate(&mut stream, &mut dec, &secret, &peer.identity, &id).await {
            Ok(()) => {}
            Err(Some(refusal)) => {
                let who = format!("{id} from {}", from.ip());
                if shared.first_refusal(&id) {
                    crate::log::log(
                        crate::log::Level::Warning,
                        "locust.runners",
                        &refusal_line(&who, &refusal),
                    );
                }
                if matches!(refusal, Refusal::NoAnswer(_)) {
                    // a Locust worker (or an rlocust one without the secret): held, unread, until the deadline,
                    // so that its socket does not reconnect (and be refused) again and again
                    hold(&mut stream, &mut dec, deadline).await;
                }
                return;
            }
            Err(None) => return,
        }
    }
    // (registered, a peer's frames may be large: judged when each frame's header is read)
    dec.set_max_frame_until(UNREGISTERED_MAX_FRAME, registered.clone());
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
        registered,
        refusal_logged: AtomicBool::new(false),
        queued_bytes: AtomicUsize::new(0),
        room: Notify::new(),
    });
    let _ = conn.me.set(Arc::downgrade(&conn));
    if shared.known.lock().contains(&id) {
        // a registered worker's new connection (Locust's `reconnect` sends no new `client_ready`)
        conn.register();
    }
    if let Some(old) = shared.conns.lock().insert(id, conn.clone()) {
        old.shut();
    }
    let (read, write) = stream.into_split();
    let writer = tokio::spawn(write_loop(write, conn.clone(), out_rx));
    read_loop(read, dec, conn.clone(), tx, close_rx, deadline).await;
    conn.shut();
    {
        let mut conns = shared.conns.lock();
        if conns.get(&conn.id).is_some_and(|c| c.serial == conn.serial) {
            conns.remove(&conn.id);
        }
    }
    let _ = writer.await;
}

/// The log line of a refused connection.
fn refusal_line(who: &str, refusal: &Refusal) -> String {
    match refusal {
        Refusal::NoAnswer(kind) => format!(
            "Refused worker {who}: it did not prove the master secret (its first message was '{kind}': a Locust worker, or an rlocust worker without {} or --master-secret-file)",
            auth::ENV
        ),
        Refusal::WrongSecret => format!(
            "Refused worker {who}: its proof of the master secret is wrong (another secret)"
        ),
        Refusal::Malformed => {
            format!("Refused worker {who}: malformed answer to the master secret's challenge")
        }
    }
}

/// Write one message straight to a connection not set up yet.
async fn write_message(
    stream: &mut tokio::net::TcpStream,
    kind: &str,
    data: Value,
    id: &str,
) -> std::io::Result<()> {
    let payload = Message::new(kind, data, id)
        .encode()
        .map_err(std::io::Error::other)?;
    stream.write_all(&zmtp::frame(&payload)).await
}

/// The master secret's exchange on a new connection ([`super::auth`]). `Err(None)`: the connection failed (or
/// timed out) on its own, nothing to log above debug.
async fn authenticate(
    stream: &mut tokio::net::TcpStream,
    dec: &mut zmtp::Decoder,
    secret: &Secret,
    identity: &[u8],
    id: &str,
) -> Result<(), Option<Refusal>> {
    let debug = |e: &dyn std::fmt::Display| -> Option<Refusal> {
        crate::log::log(
            crate::log::Level::Debug,
            "locust.runners",
            &format!("Master socket: authentication of {id} failed: {e}"),
        );
        None
    };
    let (challenge, data) = auth::challenge().map_err(|e| {
        crate::log::log(
            crate::log::Level::Error,
            "locust.runners",
            &format!("Master socket: cannot make a challenge (reading /dev/urandom): {e}"),
        );
        None
    })?;
    write_message(stream, auth::KIND, data, id)
        .await
        .map_err(|e| debug(&e))?;
    let first = async {
        loop {
            match zmtp::read_message(stream, dec).await? {
                Incoming::Message(payload) => return Ok(payload),
                // (a PING before the answer: nothing is owed to an unauthenticated peer)
                Incoming::Ping(_) => {}
            }
        }
    };
    let payload: Bytes = match tokio::time::timeout(AUTH_TIMEOUT, first).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            let e: ZmtpError = e;
            return Err(debug(&e));
        }
        Err(_) => return Err(debug(&"no answer in time")),
    };
    let msg = Message::decode(&payload).map_err(|e| {
        debug(&e);
        Some(Refusal::Malformed)
    })?;
    match auth::check_answer(secret, &challenge, identity, &msg.kind, &msg.data) {
        Ok(reply) => write_message(stream, auth::KIND, reply, id)
            .await
            .map_err(|e| debug(&e)),
        Err(refusal) => {
            if !matches!(refusal, Refusal::NoAnswer(_)) {
                let error = Value::map([(
                    "error",
                    Value::str("the master refused this worker: its master secret differs"),
                )]);
                let _ = write_message(stream, auth::KIND, error, id).await;
            }
            Err(Some(refusal))
        }
    }
}

/// Read and drop what a refused peer sends until `deadline` (or its connection ends).
async fn hold(
    stream: &mut tokio::net::TcpStream,
    dec: &mut zmtp::Decoder,
    deadline: tokio::time::Instant,
) {
    let drain = async { while zmtp::read_message(stream, dec).await.is_ok() {} };
    let _ = tokio::time::timeout_at(deadline, drain).await;
}

async fn read_loop(
    mut read: OwnedReadHalf,
    mut dec: zmtp::Decoder,
    conn: Arc<Conn>,
    tx: mpsc::Sender<Inbound>,
    mut close: tokio::sync::oneshot::Receiver<()>,
    deadline: tokio::time::Instant,
) {
    loop {
        let registered = conn.is_registered();
        let unregistered_until = async {
            if registered {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep_until(deadline).await
            }
        };
        let next = async {
            // a peer with too much waiting to be written to it is not read (libzmq's high-water mark)
            conn.room().await;
            zmtp::read_message(&mut read, &mut dec).await
        };
        let incoming = tokio::select! {
            r = next => r,
            _ = &mut close => return,
            _ = unregistered_until => {
                if !conn.is_registered() {
                    crate::log::log(
                        crate::log::Level::Debug,
                        "locust.runners",
                        &format!(
                            "Master socket: closed the connection of {}: not registered within {} s",
                            conn.id,
                            REGISTER_TIMEOUT.as_secs()
                        ),
                    );
                    return;
                }
                continue;
            }
        };
        match incoming {
            Ok(Incoming::Message(payload)) => {
                let at = Instant::now();
                let mut charge = conn.shared.reserve(payload.len()).await;
                let msg = match Message::decode_counted(&payload) {
                    Ok((m, values)) => {
                        charge.settle(values);
                        Ok(m)
                    }
                    Err(e) => {
                        charge.settle(0);
                        Err(e)
                    }
                };
                let item = Inbound {
                    conn: conn.clone(),
                    at,
                    msg,
                    _charge: charge,
                };
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            Ok(Incoming::Ping(pong)) => {
                conn.send_frame(Bytes::from(pong), Priority::Control);
            }
            Err(ZmtpError::Closed) => return,
            Err(e @ ZmtpError::TooLarge(..)) => {
                let who = conn.id.to_string();
                if conn.shared.first_refusal(&format!("frame:{who}")) {
                    crate::log::log(
                        crate::log::Level::Warning,
                        "locust.runners",
                        &format!(
                            "Master socket: closed the connection of {who}: {e} ({})",
                            if conn.is_registered() {
                                "a registered worker"
                            } else {
                                "not registered yet"
                            }
                        ),
                    );
                }
                return;
            }
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
        let (router, mut rx) = Router::bind("127.0.0.1", 0, None).await.unwrap();
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
        let (router, mut rx) = Router::bind("127.0.0.1", 0, None).await.unwrap();
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
    #[tokio::test]
    async fn strangers_get_small_frames_and_registered_workers_large_ones() {
        let (router, mut rx) = Router::bind("127.0.0.1", 0, None).await.unwrap();
        let (mut s, _dec) = dealer(router.port(), "w").await;
        let hello = Message::new("client_ready", Value::str("2.47.0"), "w");
        s.write_all(&zmtp::frame(&hello.encode().unwrap()))
            .await
            .unwrap();
        let got = rx.recv().await.unwrap();
        assert!(!got.conn.is_registered());
        got.conn.register();
        // a registered worker may send a frame larger than a stranger's limit
        let big = Message::new(
            "logs",
            Value::Bytes(vec![7; UNREGISTERED_MAX_FRAME * 2]),
            "w",
        );
        s.write_all(&zmtp::frame(&big.encode().unwrap()))
            .await
            .unwrap();
        assert_eq!(rx.recv().await.unwrap().msg.unwrap().kind, "logs");
        // a stranger may not: its connection is closed
        let (mut t, mut dec) = dealer(router.port(), "stranger").await;
        t.write_all(&zmtp::frame(&big.encode().unwrap()))
            .await
            .unwrap();
        let r = tokio::time::timeout(Duration::from_secs(5), zmtp::read_message(&mut t, &mut dec))
            .await
            .unwrap();
        assert!(r.is_err());
        // a new connection with a registered worker's identity is registered at once (Locust's reconnect), until
        // the master forgets the worker
        for (registered, forget) in [(true, true), (false, false)] {
            let (mut again, _d) = dealer(router.port(), "w").await;
            let hb = Message::new("heartbeat", Value::Nil, "w");
            again
                .write_all(&zmtp::frame(&hb.encode().unwrap()))
                .await
                .unwrap();
            assert_eq!(rx.recv().await.unwrap().conn.is_registered(), registered);
            if forget {
                router.forget("w");
            }
        }
    }

    #[tokio::test]
    async fn a_peer_that_does_not_read_stops_being_read() {
        let (router, mut rx) = Router::bind("127.0.0.1", 0, None).await.unwrap();
        let (mut s, _dec) = dealer(router.port(), "w").await;
        let hb = Message::new("heartbeat", Value::Nil, "w");
        s.write_all(&zmtp::frame(&hb.encode().unwrap()))
            .await
            .unwrap();
        let conn = rx.recv().await.unwrap().conn;
        // more than the limit waits to be written to it (its socket is never read here)
        let blob = Bytes::from(zmtp::frame(&vec![0u8; 64 << 10]));
        for _ in 0..(PEER_QUEUE_LIMIT * 64 / (64 << 10)) {
            conn.send_frame(blob.clone(), Priority::Control);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(conn.queued_bytes.load(Ordering::Acquire) > PEER_QUEUE_LIMIT);
        // what it sends now is not read (past the one message its reader was already waiting for)
        s.write_all(&zmtp::frame(&hb.encode().unwrap()))
            .await
            .unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        s.write_all(&zmtp::frame(&hb.encode().unwrap()))
            .await
            .unwrap();
        assert!(nothing_arrives(&mut rx).await);
    }

    /// Nothing reaches the master's queue for half a second.
    async fn nothing_arrives(rx: &mut mpsc::Receiver<Inbound>) -> bool {
        tokio::time::timeout(Duration::from_millis(500), rx.recv())
            .await
            .is_err()
    }

    #[tokio::test]
    async fn the_secret_is_asked_before_anything_else() {
        use crate::distributed::transport::{TransportError, WorkerSocket};
        let secret = Arc::new(Secret::new("s3cret").unwrap());
        let (router, mut rx) = Router::bind("127.0.0.1", 0, Some(secret.clone()))
            .await
            .unwrap();
        let port = router.port();
        // the right secret: connected, and its messages arrive
        let mut w = WorkerSocket::connect(
            "127.0.0.1",
            port,
            "w_1",
            Duration::from_secs(5),
            Some(&secret),
        )
        .await
        .unwrap();
        w.send(&Message::new("client_ready", Value::str("2.47.0"), "w_1"))
            .await
            .unwrap();
        let got = rx.recv().await.unwrap();
        assert_eq!(got.msg.unwrap().kind, "client_ready");
        // another secret: refused with a line, and nothing arrives
        let other = Secret::new("other").unwrap();
        let r = WorkerSocket::connect(
            "127.0.0.1",
            port,
            "w_2",
            Duration::from_secs(5),
            Some(&other),
        )
        .await;
        assert!(
            matches!(r, Err(TransportError::Auth(ref e)) if e.contains("refused")),
            "{:?}",
            r.err()
        );
        // none: its client_ready never reaches the master, and the challenge is what it reads
        let (mut s, mut dec) = dealer(port, "w_3").await;
        let asked = recv(&mut s, &mut dec).await;
        assert_eq!(asked.kind, auth::KIND);
        s.write_all(&zmtp::frame(
            &Message::new("client_ready", Value::str("2.47.0"), "w_3")
                .encode()
                .unwrap(),
        ))
        .await
        .unwrap();
        assert!(nothing_arrives(&mut rx).await);
        // a stranger with a registered worker's identity does not take its connection over
        let (mut t, mut tdec) = dealer(port, "w_1").await;
        assert_eq!(recv(&mut t, &mut tdec).await.kind, auth::KIND);
        assert!(!router.conn("w_1").unwrap().is_closed());
        // a worker with a secret facing a master without one stops with a line
        let (plain, _rx2) = Router::bind("127.0.0.1", 0, None).await.unwrap();
        let r = WorkerSocket::connect(
            "127.0.0.1",
            plain.port(),
            "w_4",
            Duration::from_secs(5),
            Some(&secret),
        )
        .await;
        assert!(matches!(r, Err(TransportError::Auth(ref e)) if e.contains("did not ask")));
    }
}
