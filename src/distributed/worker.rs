//! `--worker`: this process runs users for a master (an rlocust master or a real Locust 2.47 one) over Locust's
//! wire protocol (reference/locust-web-dist.md §2.4, §2.5, §2.10), in place of the local runner task.
//!
//! Three pieces, all on the tokio runtime:
//! - [`connect`]: Locust's `connect_to_master`: `client_ready` until the master's `ack` (5 s per try, 60 retries,
//!   then the caller exits 255 with Locust's line). Runs before `init`, as Locust creates its worker runner there.
//! - the socket task ([`Link`]): owns the DEALER, forwards what arrives, sends what the runner queues, reconnects
//!   with the same identity on `reconnect` (or when the connection breaks).
//! - [`run`]: the worker's runner, the one owner of the run state in worker mode: heartbeats every second with the
//!   monitor's CPU/RSS, a `stats` report every 3 s (a delta of the Rust stats, `stats_wire`), the master's
//!   `spawn`/`stop`/`quit`/`spawning_complete`/`update_user_class`/custom messages, the 60 s master timeout, and
//!   the same [`Control`] messages the local runner serves (Ctrl+C, SIGTERM, `runner.quit()` in a task).
use super::listened;
use super::node::{Custom, Node};
use super::proto::{self, WorkerState, kind};
use super::transport::{TransportError, WorkerSocket};
use crate::bridge::{Arg, Bridge, Command};
use crate::log;
use crate::msgpack::{Message, Value};
use crate::runner::{self, Control, Shared, State};
use crate::stats::RequestStats;
use indexmap::IndexMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Where the master is and who this worker is.
#[derive(Clone, Debug)]
pub struct Address {
    pub host: String,
    pub port: u16,
    /// `--web-base-path`, which Locust appends to the address in its retry lines.
    pub base_path: String,
    pub client_id: String,
    /// The master secret this worker proves (`None`: Locust's protocol as it is).
    pub secret: Option<Arc<super::auth::Secret>>,
}

/// A connected worker socket and the index the master's `ack` gave it.
pub struct Connected {
    socket: WorkerSocket,
    pub index: i64,
}

/// Locust's `connect_to_master`: send `client_ready` and wait up to 5 s for `ack`, up to 61 tries. `Err(None)`
/// when the master never answered (the caller logs "Failed to connect to the Locust master" and exits 255);
/// `Err(Some(line))` when the master secret's exchange failed, or the master asks for a secret this worker does
/// not have (the caller exits 1 with the line: retrying cannot help).
pub async fn connect(addr: &Address) -> Result<Connected, Option<String>> {
    let mut socket: Option<WorkerSocket> = None;
    for retry in 1..=proto::tunables().connect_retry_count + 1 {
        let started = Instant::now();
        if socket.is_none() {
            match open(addr).await {
                Ok(s) => socket = Some(s),
                Err(TransportError::Auth(line)) => return Err(Some(line)),
                Err(e) => log::log(
                    log::Level::Debug,
                    "locust.runners",
                    &format!("Connecting to the master failed: {e}"),
                ),
            }
        }
        let attempt = async {
            let Some(s) = socket.as_mut() else {
                return Err(TransportError::Timeout);
            };
            s.send(&proto::client_ready(&addr.client_id)).await?;
            loop {
                let m = s.recv().await?;
                if m.kind == kind::ACK {
                    return Ok::<i64, TransportError>(ack_index(&m.data));
                }
                if m.kind == super::auth::KIND && addr.secret.is_none() {
                    return Err(TransportError::Auth(super::auth::none_here(
                        &addr.host, addr.port,
                    )));
                }
            }
        };
        match tokio::time::timeout(proto::tunables().connect_timeout, attempt).await {
            Ok(Ok(index)) => {
                return Ok(Connected {
                    socket: socket.expect("connected"),
                    index,
                });
            }
            Ok(Err(TransportError::Auth(line))) => return Err(Some(line)),
            Ok(Err(TransportError::Timeout)) => {}
            Ok(Err(e)) => {
                log::log(
                    log::Level::Debug,
                    "locust.runners",
                    &format!("Connecting to the master failed: {e}"),
                );
                socket = None;
            }
            Err(_) => {}
        }
        tokio::time::sleep(
            proto::tunables()
                .connect_timeout
                .saturating_sub(started.elapsed()),
        )
        .await;
        let level = if f64::from(retry) < 30.0 / proto::tunables().connect_timeout.as_secs_f64() {
            log::Level::Debug
        } else {
            log::Level::Info
        };
        log::log(
            level,
            "locust.runners",
            &format!(
                "Failed to connect to master {}:{}{}, retry {retry}/{}.",
                addr.host,
                addr.port,
                addr.base_path,
                proto::tunables().connect_retry_count
            ),
        );
    }
    Err(None)
}

/// `-f -`: Locust's `download_locustfile_from_master`: from a temporary id (`<hostname>_download_locustfile_<hex>`),
/// ask for the locustfiles every second until the master answers (at most 300 s; after 10 s, and then every 60 s,
/// "Waiting to connect to master to receive locustfile..." on stderr). Returns the master's `locustfiles` list
/// (`{"filename", "contents"}` maps or URLs), or the line to exit 1 with.
pub async fn download_locustfiles(
    host: &str,
    port: u16,
    secret: Option<&super::auth::Secret>,
) -> Result<Vec<Value>, String> {
    let id = format!(
        "{}_download_locustfile_{}",
        proto::worker_client_id()
            .split('_')
            .next()
            .unwrap_or("localhost"),
        proto::worker_client_id().rsplit('_').next().unwrap_or("0")
    );
    let limit = proto::tunables().connect_timeout * proto::tunables().connect_retry_count;
    let started = Instant::now();
    let mut warned_at: Option<Instant> = None;
    let ask = Message::new(
        kind::LOCUSTFILE,
        Value::map([("version", Value::str(proto::LOCUST_VERSION))]),
        id.clone(),
    );
    let mut socket: Option<WorkerSocket> = None;
    let reply = loop {
        if started.elapsed() >= limit {
            return Err(format!(
                "Got no locustfile response from master, gave up after {}s",
                limit.as_secs()
            ));
        }
        let since_warning = warned_at.map_or(started.elapsed(), |t| t.elapsed());
        let due = if warned_at.is_none() { 10 } else { 60 };
        if since_warning >= Duration::from_secs(due) {
            eprintln!("Waiting to connect to master to receive locustfile...");
            warned_at = Some(Instant::now());
        }
        if socket.is_none() {
            socket = match WorkerSocket::connect(host, port, &id, Duration::from_secs(1), secret)
                .await
            {
                Ok(s) => Some(s),
                Err(TransportError::Auth(line)) => return Err(line),
                Err(_) => None,
            };
        }
        if let Some(s) = socket.as_mut() {
            if s.send(&ask).await.is_err() {
                socket = None;
                continue;
            }
            match s.recv_timeout(Duration::from_secs(1)).await {
                Ok(m) => break m,
                Err(TransportError::Timeout) => {}
                Err(_) => socket = None,
            }
        } else {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    if reply.kind == super::auth::KIND && secret.is_none() {
        return Err(super::auth::none_here(host, port));
    }
    if reply.kind != kind::LOCUSTFILE {
        return Err(format!("Got wrong message type from master {}", reply.kind));
    }
    if let Some(error) = reply.data.get("error") {
        return Err(format!(
            "Got error from master: {}",
            error.as_str().unwrap_or("")
        ));
    }
    Ok(reply
        .data
        .get("locustfiles")
        .and_then(Value::as_array)
        .map(<[Value]>::to_vec)
        .unwrap_or_default())
}

/// `ack`'s `{"index": n}` (masters before Locust 2.11 sent no index: -1).
fn ack_index(data: &Value) -> i64 {
    data.get("index").and_then(Value::as_i64).unwrap_or(-1)
}

/// What the runner asks of the socket task.
enum Out {
    Msg(Message),
    Reconnect,
    /// Answered once everything queued before it has been handed to the socket.
    Flush(oneshot::Sender<()>),
}

/// The worker's way to the master, shared by the runner and the shutdown (which sends the last `quit`).
#[derive(Clone)]
pub struct Link {
    out: mpsc::UnboundedSender<Out>,
    client_id: String,
}

impl Link {
    fn send(&self, kind: &str, data: Value) {
        let _ = self
            .out
            .send(Out::Msg(Message::new(kind, data, self.client_id.clone())));
    }

    /// Locust's `quitting` listener of a worker: tell the master this worker leaves, and wait (at most 2 s) until
    /// the message is on its way.
    pub async fn send_quit(&self) {
        self.send(kind::QUIT, Value::Nil);
        let (tx, rx) = oneshot::channel();
        if self.out.send(Out::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
        }
        // ZeroMQ sends from its own tasks: give the frame a moment to reach the wire before the runtime stops
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Start the socket task for a connected worker; messages from the master arrive on the returned receiver.
/// `shared`: the run's state, told at once when the master says `quit` (the worker's runner may be waiting on a
/// hub that never answers, a task that swallows the interrupt: the watchdog then ends the run).
pub fn start_link(
    addr: Address,
    conn: Connected,
    shared: Arc<Shared>,
) -> (Link, mpsc::UnboundedReceiver<Message>) {
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let link = Link {
        out: out_tx,
        client_id: addr.client_id.clone(),
    };
    tokio::spawn(socket_task(addr, conn.socket, out_rx, in_tx, shared));
    (link, in_rx)
}

async fn socket_task(
    addr: Address,
    mut socket: WorkerSocket,
    mut out_rx: mpsc::UnboundedReceiver<Out>,
    in_tx: mpsc::UnboundedSender<Message>,
    shared: Arc<Shared>,
) {
    loop {
        tokio::select! {
            r = socket.recv() => match r {
                Ok(m) => {
                    if m.kind == kind::QUIT {
                        shared.end_because(crate::runner::EndCause::Master);
                        shared.mark_quitting();
                    }
                    if in_tx.send(m).is_err() {
                        return;
                    }
                }
                Err(TransportError::Decode { error, .. }) => log::log(
                    log::Level::Error,
                    "locust.runners",
                    &format!("RPCError found when receiving from master: {error}"),
                ),
                Err(e) => {
                    // the connection broke: open a new one with the same identity (pyzmq reconnects by itself)
                    log::log(
                        log::Level::Debug,
                        "locust.runners",
                        &format!("Connection to the master lost ({e}), reconnecting"),
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if let Some(s) = reconnect(&addr).await {
                        socket = s;
                    }
                }
            },
            o = out_rx.recv() => match o {
                None => return,
                Some(Out::Msg(m)) => {
                    if let Err(e) = send_with_retries(&mut socket, &m).await {
                        log::log(
                            log::Level::Error,
                            "locust.runners",
                            &format!("RPCError found when sending {} to master: {e}", m.kind),
                        );
                    }
                }
                Some(Out::Reconnect) => {
                    log::info("locust.runners", "Reset connection to master");
                    if let Some(s) = reconnect(&addr).await {
                        socket = s;
                    }
                }
                Some(Out::Flush(done)) => {
                    let _ = done.send(());
                }
            },
        }
    }
}

/// A new connection to the master at `addr` (the master secret proven, when this worker has one).
async fn open(addr: &Address) -> Result<WorkerSocket, TransportError> {
    WorkerSocket::connect(
        &addr.host,
        addr.port,
        &addr.client_id,
        proto::tunables().connect_timeout,
        addr.secret.as_deref(),
    )
    .await
}

async fn reconnect(addr: &Address) -> Option<WorkerSocket> {
    match open(addr).await {
        Ok(s) => Some(s),
        Err(e) => {
            log::log(
                log::Level::Error,
                "locust.runners",
                &format!("Temporary failure when resetting connection: {e}, will retry later."),
            );
            None
        }
    }
}

/// Locust retries a failed send after 1, 3 and 5 s.
async fn send_with_retries(socket: &mut WorkerSocket, m: &Message) -> Result<(), TransportError> {
    let mut waits = [1u64, 3, 5].into_iter();
    loop {
        let r = match tokio::time::timeout(Duration::from_secs(5), socket.send(m)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout),
        };
        match (r, waits.next()) {
            (Ok(()), _) => return Ok(()),
            (Err(e), None) => return Err(e),
            (Err(_), Some(w)) => tokio::time::sleep(Duration::from_secs(w)).await,
        }
    }
}

/// What the worker's runner needs besides the shared run state.
pub struct Plan {
    /// The user classes in the environment's order (every `stats` report counts each of them).
    pub classes: Vec<String>,
    /// Their weights and fixed counts (which class a user an arrival needs is, in an open workload).
    pub specs: Vec<crate::runner::dispatch::UserClassSpec>,
}

type Spawning = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The worker's runner: serves the master's messages and the local controls until the run ends, then makes the
/// hub leave its loop.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    node: Arc<Node>,
    link: Link,
    mut inbound: mpsc::UnboundedReceiver<Message>,
    mut custom: mpsc::UnboundedReceiver<Custom>,
    mut control: mpsc::UnboundedReceiver<Control>,
    plan: Plan,
) {
    let mut w = Worker {
        shared,
        bridge,
        stats,
        node,
        link,
        plan,
        state: WorkerState::Ready,
        last_spawn_timestamp: 0.0,
        last_master_heartbeat: None,
        spawning: None,
        queued: None,
        ready_at: None,
        logs_sent: 0,
        logs_enabled: true,
    };
    let mut heartbeat = tokio::time::interval(proto::tunables().heartbeat_interval);
    let mut report = tokio::time::interval(proto::tunables().worker_report_interval);
    let mut check = tokio::time::interval(Duration::from_secs(1));
    let mut logs = tokio::time::interval(proto::tunables().worker_log_report_interval);
    for t in [&mut heartbeat, &mut report, &mut check, &mut logs] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        let spawning = async {
            match w.spawning.as_mut() {
                Some(f) => f.await,
                None => std::future::pending().await,
            }
        };
        // after a stop, `client_ready` goes out when the stop timeout has passed (at once without one, as
        // Locust's worker announces itself again right after `client_stopped`)
        let ready_at = w.ready_at;
        let ready = async move {
            match ready_at {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = spawning => w.spawn_done(),
            _ = ready => w.announce_ready(),
            _ = heartbeat.tick() => w.heartbeat(),
            _ = report.tick() => w.report().await,
            _ = logs.tick(), if w.logs_enabled => w.send_logs(),
            _ = check.tick() => {
                if w.tick() {
                    w.quit().await;
                    return;
                }
            }
            m = inbound.recv() => match m {
                Some(m) => {
                    if w.handle(m).await {
                        return;
                    }
                }
                None => {
                    w.quit().await;
                    return;
                }
            },
            c = custom.recv() => {
                if let Some(c) = c {
                    w.link.send(&c.kind, c.data);
                }
            }
            c = control.recv() => {
                if w.control(c.unwrap_or(Control::Quit)).await {
                    return;
                }
            }
        }
    }
}

struct Worker {
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    node: Arc<Node>,
    link: Link,
    plan: Plan,
    /// `worker_state`, what the heartbeats report.
    state: WorkerState,
    last_spawn_timestamp: f64,
    last_master_heartbeat: Option<Instant>,
    /// The spawn being applied (the hub starting and stopping users).
    spawning: Option<Spawning>,
    /// A newer spawn that arrived meanwhile (Locust kills the older spawn greenlet; here the newer target simply
    /// follows once the hub has applied the older one).
    queued: Option<IndexMap<String, u64>>,
    /// After a `stop`: when to announce `client_ready` again (after the stop timeout).
    ready_at: Option<Instant>,
    /// How many log lines the last `logs` message had (Locust compares the buffer's length, at most 500).
    logs_sent: usize,
    /// Off for good after an interval with more than 70 new lines.
    logs_enabled: bool,
}

impl Worker {
    fn heartbeat(&self) {
        let (cpu, rss) = self.shared.usage();
        self.link.send(
            kind::HEARTBEAT,
            Value::map([
                ("state", Value::str(self.state.as_str())),
                ("current_cpu_usage", Value::Float(cpu)),
                ("current_memory_usage", Value::from_u64(rss)),
                // an rlocust worker says so: its master may give it a share of an arrival rate
                (
                    super::open_wire::HEARTBEAT_KEY,
                    Value::str(crate::version::VERSION),
                ),
            ]),
        );
    }

    /// The user count per class, every class present (Locust's `user_classes_count`).
    fn counts(&self) -> Vec<(String, u64)> {
        let alive = self.shared.user_classes_count();
        let mut out: Vec<(String, u64)> = self
            .plan
            .classes
            .iter()
            .map(|c| (c.clone(), alive.get(c).copied().unwrap_or(0)))
            .collect();
        for (c, n) in alive {
            if !self.plan.classes.contains(&c) {
                out.push((c, n));
            }
        }
        out
    }

    fn counts_value(counts: &[(String, u64)]) -> Value {
        Value::Map(
            counts
                .iter()
                .map(|(c, n)| (Value::str(c.as_str()), Value::from_u64(*n)))
                .collect(),
        )
    }

    /// A `stats` report: what the locustfile's `report_to_master` listeners put in `data` (when there are any:
    /// Locust fires the event with an empty dict before its own listeners add theirs), the Rust stats since the
    /// last report, then the user counts.
    async fn report(&mut self) {
        let extra = if listened::on(&listened::REPORT_TO_MASTER) {
            let _ = self
                .bridge
                .command(Command::Own {
                    kind: "_report_to_master",
                    data: Value::Nil,
                    node_id: self.link.client_id.clone(),
                })
                .await;
            listened::take_report_extra()
        } else {
            Vec::new()
        };
        let mut data = super::stats_wire::take_worker_report(&self.stats, crate::stats::unix_now());
        let counts = self.counts();
        let total: u64 = counts.iter().map(|c| c.1).sum();
        data.push(("user_classes_count".into(), Self::counts_value(&counts)));
        data.push(("user_count".into(), Value::from_u64(total)));
        // (this worker's requests in flight: a master adds them up, stats::in_flight; Locust's ignores the key)
        data.push((
            crate::stats::in_flight::WIRE_KEY.into(),
            Value::map([
                ("now", Value::from_u64(crate::stats::in_flight::local())),
                (
                    "peak",
                    Value::from_u64(crate::stats::in_flight::local_peak()),
                ),
            ]),
        ));
        if crate::runner::open::tally().active() {
            let delta = crate::runner::open::tally().take_delta(crate::runner::open::gauges());
            data.push(("arrivals".into(), super::open_wire::encode_delta(&delta)));
        }
        let mut map: Vec<(Value, Value)> = extra
            .into_iter()
            .filter(|(k, _)| !k.as_str().is_some_and(|k| data.iter().any(|(d, _)| d == k)))
            .collect();
        map.extend(data.into_iter().map(|(k, v)| (Value::Str(k), v)));
        self.link.send(kind::STATS, Value::Map(map));
    }

    /// Locust's `logs_reporter`: the whole buffer of recent log lines when it has grown (first right away, then
    /// every 10 s); after an interval with more than 70 new lines, once more and then never again.
    fn send_logs(&mut self) {
        let lines = log::recent_lines();
        let flood = lines.len().saturating_sub(self.logs_sent) > 70;
        if flood {
            log::warning(
                "locust.runners",
                "The worker attempted to send more than 70 log lines in one interval. Further log sending was disabled for this worker.",
            );
            self.logs_enabled = false;
        }
        let lines = if flood { log::recent_lines() } else { lines };
        if flood || lines.len() > self.logs_sent {
            log::log(
                log::Level::Debug,
                "locust.runners",
                "Sending logs message to master",
            );
            self.logs_sent = lines.len();
            self.link.send(
                kind::LOGS,
                Value::map([
                    ("worker_id", Value::str(self.link.client_id.as_str())),
                    (
                        "logs",
                        Value::Array(lines.into_iter().map(Value::Str).collect()),
                    ),
                ]),
            );
        }
    }

    /// A pending `client_ready` after a stop.
    fn announce_ready(&mut self) {
        if self.ready_at.take().is_some() {
            self.link
                .send(kind::CLIENT_READY, Value::str(proto::LOCUST_VERSION));
            self.state = WorkerState::Ready;
        }
    }

    /// Once a second: the master timeout (true: quit).
    fn tick(&mut self) -> bool {
        if let Some(t) = self.last_master_heartbeat
            && t.elapsed() > proto::tunables().master_heartbeat_timeout
        {
            log::log(
                log::Level::Error,
                "locust.runners",
                &format!(
                    "Didn't get heartbeat from master in over {}s",
                    proto::tunables().master_heartbeat_timeout_text
                ),
            );
            return true;
        }
        false
    }

    /// One message from the master; true when the run is over.
    async fn handle(&mut self, m: Message) -> bool {
        match m.kind.as_str() {
            kind::ACK => self.node.set_index(ack_index(&m.data)),
            kind::HEARTBEAT => {
                self.last_master_heartbeat = Some(Instant::now());
                if listened::on(&listened::HEARTBEAT_RECEIVED) {
                    drop(self.bridge.command(Command::Fire {
                        event: "heartbeat_received".into(),
                        kwargs: vec![
                            ("client_id".into(), Arg::Str(m.node_id.clone())),
                            ("timestamp".into(), Arg::Float(crate::stats::unix_now())),
                        ],
                    }));
                }
            }
            kind::SPAWN => self.spawn(&m.data).await,
            kind::SPAWNING_COMPLETE => {
                let n = m
                    .data
                    .get("user_count")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                runner::fire(
                    &self.bridge,
                    "spawning_complete",
                    vec![("user_count".into(), Arg::Int(n))],
                )
                .await;
            }
            kind::STOP => {
                self.stop().await;
                self.link.send(kind::CLIENT_STOPPED, Value::Nil);
                let extra = std::env::var("LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP")
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                self.ready_at = Some(
                    Instant::now()
                        + Duration::from_secs_f64(self.shared.stop_timeout().min(86_400.0))
                        + Duration::from_secs(extra),
                );
            }
            kind::QUIT => {
                log::info(
                    "locust.runners",
                    "Got quit message from master, shutting down...",
                );
                self.quit().await;
                return true;
            }
            kind::RECONNECT => {
                log::warning(
                    "locust.runners",
                    "Received reconnect message from master. Resetting RPC connection.",
                );
                let _ = self.link.out.send(Out::Reconnect);
            }
            _ => {
                // update_user_class and the locustfile's own messages are Python's; a listener may take its time
                // (Locust runs it in the worker's receiving greenlet while heartbeats go on), so not awaited
                drop(self.bridge.command(Command::Dist {
                    kind: m.kind,
                    data: m.data,
                    node_id: m.node_id,
                }));
            }
        }
        false
    }

    /// `spawn`: `spawning` first, then (unless it is older than the last one) the master's host, stop timeout and
    /// custom options for Python, a new test when none runs, and the absolute per-class target.
    async fn spawn(&mut self, data: &Value) {
        self.link.send(kind::SPAWNING, Value::Nil);
        let timestamp = data.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0);
        if timestamp <= self.last_spawn_timestamp {
            log::info(
                "locust.runners",
                "Discard spawn message with older or equal timestamp than timestamp of previous spawn message",
            );
            return;
        }
        self.last_spawn_timestamp = timestamp;
        self.ready_at = None;
        let stop_timeout = data
            .get("stop_timeout")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        self.shared.set_stop_timeout(stop_timeout.max(0.0));
        // host and parsed_options go to Python (environment.host, the user classes' host, parsed_options)
        let _ = self
            .bridge
            .command(Command::Own {
                kind: "_spawn_options",
                data: Value::map([
                    ("host", data.get("host").cloned().unwrap_or(Value::Nil)),
                    ("parsed_options", custom_options(data.get("parsed_options"))),
                ]),
                node_id: self.link.client_id.clone(),
            })
            .await;
        if let Some(arrival) = data.get("arrival") {
            return self.spawn_open(arrival).await;
        }
        let mut target: IndexMap<String, u64> = IndexMap::new();
        if let Some(map) = data.get("user_classes_count").and_then(Value::as_map) {
            for (k, v) in map {
                if let (Some(name), Some(n)) = (k.as_str(), v.as_i64()) {
                    target.insert(name.to_owned(), n.max(0) as u64);
                }
            }
        }
        if !matches!(self.state, WorkerState::Running | WorkerState::Spawning) {
            self.stats.clear_all(log::now());
            self.stats.clear_exceptions();
            runner::fire(&self.bridge, "test_start", vec![]).await;
        }
        self.state = WorkerState::Spawning;
        self.shared.set_state(State::Spawning);
        if self.spawning.is_some() {
            self.queued = Some(target);
        } else {
            self.begin(target);
        }
    }

    /// An rlocust master's share of an arrival rate (`runner::open`): the first starts the open workload (a new
    /// test when none runs), later ones change it (another share after workers came or went, an edit).
    async fn spawn_open(&mut self, arrival: &Value) {
        let Some(assignment) = super::open_wire::decode_assignment(arrival) else {
            log::log(
                log::Level::Error,
                "locust.runners",
                "Bad arrival-rate share from the master",
            );
            return;
        };
        if crate::runner::open::running() {
            crate::runner::open::update(&assignment);
            self.shared.set_target_user_count(assignment.plan.max_users);
            return;
        }
        if !matches!(self.state, WorkerState::Running | WorkerState::Spawning) {
            self.stats.clear_all(log::now());
            self.stats.clear_exceptions();
            crate::runner::open::tally().clear(false, crate::stats::unix_now());
            runner::fire(&self.bridge, "test_start", vec![]).await;
        }
        self.state = WorkerState::Spawning;
        self.shared.set_state(State::Spawning);
        self.shared.set_target_user_count(assignment.plan.max_users);
        let bridge = self.bridge.clone();
        let classes: Vec<crate::runner::dispatch::UserClassSpec> = self.plan.specs.clone();
        self.queued = None;
        self.spawning = Some(Box::pin(async move {
            crate::runner::open::start(&bridge, classes, assignment).await;
        }));
    }

    fn begin(&mut self, target: IndexMap<String, u64>) {
        let shared = self.shared.clone();
        let bridge = self.bridge.clone();
        let classes = self.plan.classes.clone();
        self.spawning = Some(Box::pin(async move {
            apply(&shared, &bridge, &classes, target).await;
        }));
    }

    fn spawn_done(&mut self) {
        self.spawning = None;
        if let Some(next) = self.queued.take() {
            self.begin(next);
            return;
        }
        if matches!(self.shared.state(), State::Cleanup | State::Stopped) {
            return; // a task stopped the runner meanwhile
        }
        let counts = self.counts();
        let total: u64 = counts.iter().map(|c| c.1).sum();
        self.link.send(
            kind::SPAWNING_COMPLETE,
            Value::map([
                ("user_classes_count", Self::counts_value(&counts)),
                ("user_count", Value::from_u64(total)),
            ]),
        );
        self.shared.set_state(State::Running);
        self.state = WorkerState::Running;
    }

    /// Locust's `Runner.stop()` on the worker (its users stop; the master hears of it from the caller).
    async fn stop(&mut self) {
        self.spawning = None;
        self.queued = None;
        runner::stop_all(&self.shared, &self.bridge).await;
    }

    /// Stop, send the last report, and make the hub leave (the shutdown sends `quit`). After an interrupt the
    /// worker has said `quit` already (in `quitting`): no report follows it, as in Locust.
    async fn quit(&mut self) {
        // (a stop the hub never finishes, a task that swallows the interrupt, is the watchdog's from here)
        self.shared.mark_quitting();
        self.stop().await;
        if !self.shared.users_left_running() {
            self.report().await;
        }
        let _ = self.bridge.command(Command::Quit).await;
    }

    /// A local control; true when the run is over.
    async fn control(&mut self, c: Control) -> bool {
        match c {
            Control::Quit => {
                self.quit().await;
                true
            }
            Control::Stop => {
                self.stop().await;
                false
            }
            Control::Interrupt { .. } => {
                // as the local runner: the hub leaves with the users running, `quitting` fires (sending `quit`),
                // then the shutdown's Control::Quit stops them
                self.shared.mark_left_running();
                let _ = self.bridge.command(Command::Quit).await;
                false
            }
            Control::Start { .. } | Control::StartOpen(_) => {
                log::log(
                    log::Level::Error,
                    "locust.runners",
                    "A worker's users are started by its master (runner.start() is not available on a worker)",
                );
                false
            }
            Control::UserClass { .. } => false,
        }
    }
}

/// The master's options a worker takes (Locust's rule): the locustfile's own options (any name that is not one of
/// Locust's built-in options), plus `expect_workers`, `tags` and `exclude_tags`.
fn custom_options(parsed: Option<&Value>) -> Value {
    let builtin: std::collections::HashSet<&'static str> =
        crate::cli::spec::table().iter().map(|o| o.dest).collect();
    let keep =
        |k: &str| !builtin.contains(k) || matches!(k, "expect_workers" | "tags" | "exclude_tags");
    match parsed.and_then(Value::as_map) {
        Some(pairs) => Value::Map(
            pairs
                .iter()
                .filter(|(k, _)| k.as_str().is_some_and(keep))
                .cloned()
                .collect(),
        ),
        None => Value::Map(Vec::new()),
    }
}

/// Bring the users alive to `target` (absolute per class): spawns first, then stops (which can wait for the stop
/// timeout), with Locust's debug lines.
async fn apply(
    shared: &Shared,
    bridge: &Bridge,
    classes: &[String],
    target: IndexMap<String, u64>,
) {
    shared.set_target_user_count(target.values().sum());
    shared.set_target_user_classes_count(target.clone());
    let mut alive: IndexMap<String, u64> = classes.iter().map(|c| (c.clone(), 0)).collect();
    alive.extend(shared.user_classes_count());
    let mut spawn: IndexMap<String, u64> = IndexMap::new();
    let mut stop: IndexMap<String, u64> = IndexMap::new();
    for (class, &n) in &target {
        let have = alive.get(class).copied().unwrap_or(0);
        if n > have {
            spawn.insert(class.clone(), n - have);
        } else if have > n {
            stop.insert(class.clone(), have - n);
        }
    }
    if log::enabled(log::Level::Debug) {
        log::log(
            log::Level::Debug,
            "locust.runners",
            &format!(
                "Spawning additional {} ({} already running)...",
                runner::counts_json(&spawn, false),
                runner::counts_json(&alive, false)
            ),
        );
    }
    let mut waits: Vec<_> = spawn
        .into_iter()
        .map(|(class, count)| bridge.command(Command::Spawn { class, count }))
        .collect();
    let stopping: u64 = stop.values().sum();
    waits.extend(stop.into_iter().map(|(class, count)| {
        bridge.command(Command::Stop {
            users: crate::bridge::StopWhat::Class { class, count },
            timeout: shared.stop_timeout(),
        })
    }));
    for w in waits {
        let _ = w.await;
    }
    runner::log_stopped(shared, stopping);
}
