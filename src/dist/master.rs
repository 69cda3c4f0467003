//! `--master`: this process runs no users; it directs workers (rlocust or real Locust 2.47) over Locust's wire
//! protocol and merges their statistics, in place of the local runner task (reference/locust-web-dist.md §2.4-2.9).
//!
//! One task owns the run state: the worker registry (liveness ticks, indices fixed per client id, states), the
//! dispatcher ([`super::dispatch::WorkerDispatcher`]: Locust's split of users over workers), the ramp (one
//! `spawn` per worker per step, then up to 1 s for the reports to match), stop and quit in Locust's order, and
//! `--expect-workers` for automatic starts. Long waits (ramp steps, the stop's wait for the users to go, the
//! quit's last reports) are deadlines checked by the loop, so heartbeats are answered and reports merged while
//! they run. Stats reports are merged into the run's [`RequestStats`] (`stats_wire`), so the console, CSV, JSON,
//! HTML and web UI outputs of a master are those of a standalone run.
use super::codec::{Message, Value};
use super::dispatch::WorkerDispatcher;
use super::node::{Custom, Node, WorkerInfo};
use super::proto::{self, kind};
use super::transport::{MasterSocket, TransportError};
use crate::bridge::{Arg, Bridge, Command};
use crate::log;
use crate::runner::dispatch::UserClassSpec;
use crate::runner::{self, Control, ShapePhase, Shared, State};
use crate::stats::RequestStats;
use indexmap::IndexMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What arrives from the socket task.
pub enum Inbound {
    Msg(String, Message),
    /// An undecodable frame, from this identity when known.
    Bad(Option<String>, String),
}

/// Bind the ROUTER (Locust's "port was busy" line and exit 1 when the address is in use) and start the socket
/// task. Returns the port bound (for port 0), the way out and what comes in.
pub async fn bind(
    host: &str,
    port: u16,
) -> Result<
    (
        u16,
        mpsc::UnboundedSender<Message>,
        mpsc::UnboundedReceiver<Inbound>,
    ),
    String,
> {
    let socket = MasterSocket::bind(host, port).await.map_err(|e| {
        let text = e.to_string();
        if text.to_ascii_lowercase().contains("in use") {
            let port_string = if host == "*" {
                port.to_string()
            } else {
                format!("{host}:{port}")
            };
            format!(
                "The Locust master port ({port_string}) was busy. Close any applications using that port - perhaps an old instance of Locust master is still running? (Socket bind failure: Address already in use)"
            )
        } else {
            format!("Cannot bind the master to {host}:{port}: {text}")
        }
    })?;
    let bound = socket.port();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    tokio::spawn(socket_task(socket, out_rx, in_tx));
    Ok((bound, out_tx, in_rx))
}

async fn socket_task(
    mut socket: MasterSocket,
    mut out_rx: mpsc::UnboundedReceiver<Message>,
    in_tx: mpsc::UnboundedSender<Inbound>,
) {
    loop {
        tokio::select! {
            r = socket.recv_from_client() => {
                let item = match r {
                    Ok((addr, msg)) => Inbound::Msg(addr, msg),
                    Err(TransportError::Decode { addr, error }) => Inbound::Bad(addr, error.to_string()),
                    Err(e) => {
                        log::log(log::Level::Debug, "locust.runners", &format!("RPCError when receiving from worker: {e}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if in_tx.send(item).is_err() {
                    return;
                }
            }
            m = out_rx.recv() => match m {
                None => return,
                Some(m) => {
                    let sent = tokio::time::timeout(Duration::from_secs(5), socket.send_to_client(&m)).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        log::log(
                            log::Level::Debug,
                            "locust.runners",
                            &format!("Could not send {} to worker {}", m.kind, m.node_id),
                        );
                    }
                }
            },
        }
    }
}

/// What the master runs with.
pub struct Plan {
    pub classes: Vec<UserClassSpec>,
    /// Headless or `--autostart`: start `users` at `spawn_rate` once `expect_workers` are ready.
    pub auto_start: Option<(u64, f64)>,
    /// A LoadTestShape drives the test (the automatic start runs the shape instead).
    pub shape: bool,
    pub run_time: Option<u64>,
    pub headless: bool,
    pub autoquit: Option<u64>,
    pub reset_stats: bool,
    pub expect_workers: u64,
    pub expect_workers_max_wait: f64,
    pub enable_rebalancing: bool,
    /// The locustfiles as loaded, for workers started with `-f -`.
    pub locustfiles: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NodeState {
    Ready,
    Spawning,
    Running,
    Missing,
}

impl NodeState {
    fn parse(s: &str) -> NodeState {
        match s {
            "spawning" => NodeState::Spawning,
            "running" => NodeState::Running,
            "missing" => NodeState::Missing,
            _ => NodeState::Ready,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            NodeState::Ready => "ready",
            NodeState::Spawning => "spawning",
            NodeState::Running => "running",
            NodeState::Missing => "missing",
        }
    }

    fn active(self) -> bool {
        self != NodeState::Missing
    }
}

struct WorkerNode {
    state: NodeState,
    heartbeat: i32,
    cpu_usage: f64,
    memory_usage: u64,
    cpu_warned: bool,
    user_classes_count: IndexMap<String, u64>,
}

impl WorkerNode {
    fn new() -> WorkerNode {
        WorkerNode {
            state: NodeState::Ready,
            heartbeat: proto::HEARTBEAT_LIVENESS,
            cpu_usage: 0.0,
            memory_usage: 0,
            cpu_warned: false,
            user_classes_count: IndexMap::new(),
        }
    }

    fn user_count(&self) -> u64 {
        self.user_classes_count.values().sum()
    }
}

/// Where a start is.
enum Ramp {
    /// The next dispatch step is due at this instant.
    Step(Instant),
    /// All steps sent: waiting (until the deadline) for the workers' reports to reach the target.
    Reports(Instant),
}

/// What a stop is waiting for.
struct Stopping {
    deadline: Instant,
}

pub struct Master {
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    node: Arc<Node>,
    out: mpsc::UnboundedSender<Message>,
    plan: Plan,
    clients: IndexMap<String, WorkerNode>,
    indexes: IndexMap<String, i64>,
    dispatcher: Option<WorkerDispatcher>,
    spawn_rate: f64,
    spawning_completed: bool,
    ramp: Option<Ramp>,
    /// The last dispatch step's totals per class (`target_user_classes_count` when the ramp ends).
    last_step: IndexMap<String, u64>,
    stopping: Option<Stopping>,
    /// After a quit: when to make the hub leave (the workers' last reports arrive meanwhile).
    quit_at: Option<Instant>,
    /// An automatic start waiting for `--expect-workers`.
    waiting_since: Option<Instant>,
    started: bool,
    worker_cpu_warned: bool,
}

/// The master's runner: serves the workers' messages and the local controls until the run ends, then makes the
/// hub leave its loop.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    node: Arc<Node>,
    out: mpsc::UnboundedSender<Message>,
    mut inbound: mpsc::UnboundedReceiver<Inbound>,
    mut custom: mpsc::UnboundedReceiver<Custom>,
    mut control: mpsc::UnboundedReceiver<Control>,
    plan: Plan,
) {
    shared.set_reset_stats(plan.reset_stats);
    let mut m = Master {
        waiting_since: plan.auto_start.map(|_| Instant::now()),
        shared,
        bridge,
        stats,
        node,
        out,
        plan,
        clients: IndexMap::new(),
        indexes: IndexMap::new(),
        dispatcher: None,
        spawn_rate: 1.0,
        spawning_completed: false,
        ramp: None,
        last_step: IndexMap::new(),
        stopping: None,
        quit_at: None,
        started: false,
        worker_cpu_warned: false,
    };
    if m.waiting_since.is_some() {
        m.log_waiting();
    }
    let mut liveness = tokio::time::interval_at(
        tokio::time::Instant::now() + proto::HEARTBEAT_INTERVAL,
        proto::HEARTBEAT_INTERVAL,
    );
    liveness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let due = m.next_deadline();
        let timer = async {
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = timer => {
                if m.on_deadline().await {
                    return;
                }
            }
            _ = liveness.tick() => {
                if m.on_tick().await {
                    return;
                }
            }
            i = inbound.recv() => match i {
                Some(Inbound::Msg(addr, msg)) => {
                    if m.handle(addr, msg).await {
                        return;
                    }
                    m.check_stopped();
                    m.publish();
                }
                Some(Inbound::Bad(addr, error)) => m.bad_frame(addr, error),
                None => {}
            },
            c = custom.recv() => {
                if let Some(c) = c {
                    m.send_custom(c);
                }
            }
            c = control.recv() => {
                if m.control(c.unwrap_or(Control::Quit)).await {
                    return;
                }
                m.publish();
            }
        }
    }
}

impl Master {
    fn send(&self, kind: &str, data: Value, to: &str) {
        let _ = self.out.send(Message::new(kind, data, to));
    }

    fn index_of(&mut self, id: &str) -> i64 {
        let next = self.indexes.len() as i64;
        *self.indexes.entry(id.to_owned()).or_insert(next)
    }

    /// ready + spawning + running (Locust's `worker_count`).
    fn worker_count(&self) -> usize {
        self.clients.values().filter(|c| c.state.active()).count()
    }

    fn ready_count(&self) -> usize {
        self.clients
            .values()
            .filter(|c| c.state == NodeState::Ready)
            .count()
    }

    fn active_ids(&self) -> Vec<String> {
        self.clients
            .iter()
            .filter(|(_, c)| c.state.active())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The users the active workers reported, per class (Locust's `reported_user_classes_count`).
    fn reported(&self) -> IndexMap<String, u64> {
        let mut out: IndexMap<String, u64> = IndexMap::new();
        for c in self.clients.values().filter(|c| c.state.active()) {
            for (name, n) in &c.user_classes_count {
                *out.entry(name.clone()).or_insert(0) += n;
            }
        }
        out
    }

    /// Every worker's users, missing ones included (Locust's master `user_count`).
    fn user_count(&self) -> u64 {
        self.clients.values().map(WorkerNode::user_count).sum()
    }

    /// Share what changed with the run state (user counts) and Python/the web UI (the workers).
    fn publish(&self) {
        self.shared.set_user_classes_count(self.reported());
        let workers = self
            .clients
            .iter()
            .map(|(id, c)| WorkerInfo {
                id: id.clone(),
                index: self.indexes.get(id).copied().unwrap_or(-1),
                state: c.state.as_str(),
                user_count: c.user_count(),
                user_classes_count: c
                    .user_classes_count
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
                cpu_usage: c.cpu_usage,
                memory_usage: c.memory_usage,
            })
            .collect();
        self.node.set_workers(workers);
    }

    fn log_waiting(&self) {
        let since = self.waiting_since.map(|t| t.elapsed()).unwrap_or_default();
        let level = if since > Duration::from_secs(5) {
            log::Level::Info
        } else {
            log::Level::Debug
        };
        log::log(
            level,
            "root",
            &format!(
                "Waiting for workers to be ready, {} of {} connected",
                self.ready_count(),
                self.plan.expect_workers
            ),
        );
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut due: Vec<Instant> = Vec::new();
        match self.ramp {
            Some(Ramp::Step(at)) => due.push(at),
            // the reports are checked every 10 ms, as Locust polls
            Some(Ramp::Reports(_)) => due.push(Instant::now() + Duration::from_millis(10)),
            None => {}
        }
        if self.stopping.is_some() {
            due.push(Instant::now() + Duration::from_millis(100));
        }
        if let Some(at) = self.quit_at {
            due.push(at);
        }
        due.into_iter().min()
    }

    /// A deadline passed: the next ramp step, the end of a ramp, a stop that completed, the quit. True: the run
    /// is over.
    async fn on_deadline(&mut self) -> bool {
        if let Some(at) = self.quit_at
            && Instant::now() >= at
        {
            let _ = self.bridge.command(Command::Quit).await;
            return true;
        }
        if let Some(s) = &self.stopping
            && (self.user_count() == 0 || Instant::now() >= s.deadline)
        {
            if self.user_count() != 0 {
                log::log(
                    log::Level::Error,
                    "locust.runners",
                    "Timeout waiting for all workers to stop",
                );
            }
            self.stopping = None;
            runner::fire(&self.bridge, "test_stop", vec![]).await;
        }
        match self.ramp {
            Some(Ramp::Step(at)) if Instant::now() >= at => self.ramp_step(),
            Some(Ramp::Reports(deadline)) => {
                let reached = self.user_count() == self.shared.target_user_count();
                if reached || Instant::now() >= deadline {
                    self.ramp = None;
                    self.ramp_done(reached).await;
                }
            }
            _ => {}
        }
        self.publish();
        false
    }

    /// Once a second: liveness (Locust's `heartbeat_worker`), and an automatic start waiting for its workers.
    async fn on_tick(&mut self) -> bool {
        let mut removed = Vec::new();
        let mut went_missing = Vec::new();
        for (id, c) in self.clients.iter_mut() {
            if c.state == NodeState::Missing && c.heartbeat <= proto::HEARTBEAT_DEAD_INTERNAL {
                removed.push(id.clone());
            }
            if c.heartbeat < 0 && c.state != NodeState::Missing {
                log::info(
                    "locust.runners",
                    &format!("Worker {id} failed to send heartbeat, setting state to missing."),
                );
                c.state = NodeState::Missing;
                c.user_classes_count.clear();
                went_missing.push(id.clone());
            } else {
                c.heartbeat -= 1;
            }
        }
        for id in went_missing {
            if let Some(d) = self.dispatcher.as_mut() {
                d.remove_worker(&id);
                if self.plan.enable_rebalancing
                    && self.shared.state() == State::Running
                    && self.spawning_completed
                {
                    self.start(self.shared.target_user_count(), self.spawn_rate, None)
                        .await;
                }
            }
            if self.worker_count() == 0 {
                log::info(
                    "locust.runners",
                    "The last worker went missing, stopping test.",
                );
                self.stop(true).await;
                self.check_stopped();
            }
        }
        if !removed.is_empty() {
            for id in &removed {
                self.clients.shift_remove(id);
            }
            if matches!(self.shared.state(), State::Running | State::Spawning) {
                self.dispatcher = None;
                self.start(self.shared.target_user_count(), self.spawn_rate, None)
                    .await;
            }
        }
        self.publish();
        if let Some(since) = self.waiting_since {
            if self.ready_count() as u64 >= self.plan.expect_workers {
                self.waiting_since = None;
                self.auto_start().await;
            } else if self.plan.expect_workers_max_wait > 0.0
                && since.elapsed().as_secs_f64() > self.plan.expect_workers_max_wait
            {
                log::log(
                    log::Level::Error,
                    "root",
                    "Gave up waiting for workers to connect",
                );
                self.waiting_since = None;
                self.shared.set_gave_up();
                return self.quit().await;
            } else {
                self.log_waiting();
            }
        }
        false
    }

    /// The headless (or `--autostart`) start once the workers are there, as Locust's `start_automatic_run`.
    async fn auto_start(&mut self) {
        let Some((users, rate)) = self.plan.auto_start else {
            return;
        };
        if self.plan.shape {
            // the shape runs in Python; its ticks come back as Control::Start
            drop(self.bridge.command(Command::Dist {
                kind: "_start_shape".into(),
                data: Value::Nil,
                node_id: self.node.client_id.clone(),
            }));
            return;
        }
        match self.plan.run_time {
            Some(t) => {
                log::info("locust.main", &format!("Run time limit set to {t} seconds"));
                tokio::spawn(runner::run_time_limit(
                    self.shared.clone(),
                    t,
                    self.plan.headless,
                    self.plan.autoquit,
                ));
            }
            None => log::info(
                "locust.main",
                "No run time limit set, use CTRL+C to interrupt",
            ),
        }
        self.start(users, rate, None).await;
    }

    /// Locust's `MasterRunner.start`: a new dispatch towards `users` at `rate` over the active workers.
    async fn start(&mut self, users: u64, rate: f64, classes: Option<Vec<String>>) {
        self.spawning_completed = false;
        self.shared.set_target_user_count(users);
        let active = self.active_ids();
        if active.is_empty() {
            log::warning(
                "locust.runners",
                "You can't start a distributed test before at least one worker processes has connected",
            );
            return;
        }
        self.spawn_rate = rate;
        if self.dispatcher.is_none() {
            self.dispatcher = Some(WorkerDispatcher::new(self.plan.classes.clone(), &active));
        }
        log::info(
            "locust.runners",
            &format!(
                "Sending spawn jobs of {users} users at {rate:.2} spawn rate to {} ready workers",
                active.len()
            ),
        );
        if rate / active.len() as f64 > 100.0 {
            log::warning(
                "locust.runners",
                "Your selected spawn rate is very high (>100/worker), and this is known to sometimes cause issues. Do you really need to ramp up that fast?",
            );
        }
        if !matches!(self.shared.state(), State::Running | State::Spawning) {
            self.started = true;
            self.stats.clear_all(log::now());
            self.stats.clear_exceptions();
            runner::fire(&self.bridge, "test_start", vec![]).await;
        }
        self.shared.set_state(State::Spawning);
        if let Some(d) = self.dispatcher.as_mut() {
            d.new_dispatch(users, rate, classes.as_deref());
        }
        self.ramp = Some(Ramp::Step(Instant::now()));
    }

    /// One dispatch step: a `spawn` to every worker in it.
    fn ramp_step(&mut self) {
        let t0 = Instant::now();
        let Some((step, wait)) = self.dispatcher.as_mut().and_then(|d| d.next_step()) else {
            self.shared
                .set_target_user_classes_count(self.last_step.clone());
            self.ramp = Some(Ramp::Reports(Instant::now() + wait_for_reports()));
            return;
        };
        let (host, options) = self.node.spawn_info();
        let stop_timeout = self.shared.stop_timeout();
        let mut totals: IndexMap<String, u64> = IndexMap::new();
        for (worker, counts) in &step {
            for (class, n) in counts {
                *totals.entry(class.clone()).or_insert(0) += n;
            }
            let data = Value::map([
                ("timestamp", Value::Float(crate::stats::unix_now())),
                (
                    "user_classes_count",
                    Value::Map(
                        counts
                            .iter()
                            .map(|(c, n)| (Value::str(c.as_str()), Value::from_u64(*n)))
                            .collect(),
                    ),
                ),
                ("host", host.clone().map(Value::Str).unwrap_or(Value::Nil)),
                ("stop_timeout", Value::Float(stop_timeout)),
                ("parsed_options", options.clone()),
            ]);
            self.send(kind::SPAWN, data, worker);
        }
        if log::enabled(log::Level::Debug) {
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!(
                    "Sending spawn messages for {} total users to {} worker(s)",
                    totals.values().sum::<u64>(),
                    step.len()
                ),
            );
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!(
                    "Currently spawned users: {}",
                    format_counts(&self.reported())
                ),
            );
        }
        self.last_step = totals;
        self.ramp = Some(Ramp::Step(t0 + wait));
    }

    /// The ramp has ended: `spawning_complete` here and on every worker, Locust's line.
    async fn ramp_done(&mut self, reached: bool) {
        let user_count: u64 = self.shared.target_user_classes_count().values().sum();
        runner::fire(
            &self.bridge,
            "spawning_complete",
            vec![("user_count".into(), Arg::Int(user_count as i64))],
        )
        .await;
        let ids: Vec<String> = self.clients.keys().cloned().collect();
        for id in ids {
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!("Sending spawning_complete message to worker {id}"),
            );
            self.send(
                kind::SPAWNING_COMPLETE,
                Value::map([("user_count", Value::from_u64(user_count))]),
                &id,
            );
        }
        self.spawning_completed = true;
        let prefix = if reached {
            "All users spawned"
        } else {
            "Spawning is complete and report waittime is expired, but not all reports received from workers"
        };
        log::info(
            "locust.runners",
            &format!("{prefix}: {}", format_counts(&self.reported())),
        );
    }

    /// Locust's `MasterRunner.stop`.
    async fn stop(&mut self, send_stop: bool) {
        if matches!(
            self.shared.state(),
            State::Ready | State::Stopped | State::Stopping
        ) {
            return;
        }
        log::log(log::Level::Debug, "locust.runners", "Stopping...");
        runner::fire(&self.bridge, "test_stopping", vec![]).await;
        self.shared.record_final_counts(self.reported());
        self.shared.set_state(State::Stopping);
        if self.shared.shape() == ShapePhase::Running {
            drop(self.bridge.command(Command::Dist {
                kind: "_end_shape".into(),
                data: Value::Nil,
                node_id: self.node.client_id.clone(),
            }));
        }
        self.dispatcher = None;
        self.ramp = None;
        if send_stop {
            let ids: Vec<String> = self.clients.keys().cloned().collect();
            for id in ids {
                log::log(
                    log::Level::Debug,
                    "locust.runners",
                    &format!("Sending stop message to worker {id}"),
                );
                self.send(kind::STOP, Value::Nil, &id);
            }
            self.stopping = Some(Stopping {
                deadline: Instant::now()
                    + Duration::from_secs_f64(self.shared.stop_timeout().min(86_400.0) + 60.0),
            });
        } else {
            runner::fire(&self.bridge, "test_stop", vec![]).await;
        }
    }

    /// Locust's `MasterRunner.quit`: stop without telling the workers, then `quit` to each, and half a second
    /// for their last reports.
    async fn quit(&mut self) -> bool {
        self.waiting_since = None;
        self.stop(false).await;
        log::log(log::Level::Debug, "locust.runners", "Quitting...");
        let ids: Vec<String> = self.clients.keys().cloned().collect();
        for id in ids {
            let index = self.index_of(&id);
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!("Sending quit message to worker {id} (index {index})"),
            );
            self.send(kind::QUIT, Value::Nil, &id);
        }
        self.quit_at = Some(Instant::now() + Duration::from_millis(500));
        false
    }

    /// Locust's `check_stopped`, after every message.
    fn check_stopped(&self) {
        let all_ready = self.clients.values().all(|c| c.state == NodeState::Ready);
        let none_active = self.clients.values().all(|c| !c.state.active());
        // (Locust's rule also turns a master that never ran a test "stopped" when a message arrives while it knows
        // no worker; rlocust keeps it "ready" until a test has started)
        if ((self.shared.state() == State::Stopping && all_ready) || none_active)
            && (self.shared.state() != State::Ready || self.started)
        {
            self.shared.set_state(State::Stopped);
        }
    }

    fn bad_frame(&mut self, addr: Option<String>, error: String) {
        match addr {
            Some(id) if self.clients.contains_key(&id) => {
                log::log(
                    log::Level::Error,
                    "locust.runners",
                    &format!(
                        "RPCError when receiving from client: {error}. Will reset client {id}."
                    ),
                );
                self.send(kind::RECONNECT, Value::Nil, &id);
            }
            other => {
                let message = match other {
                    Some(id) => format!("{error} from {id}"),
                    None => error,
                };
                log::log(
                    log::Level::Error,
                    "locust.runners",
                    &format!("Unrecognized message detected: {message}"),
                );
            }
        }
    }

    fn send_custom(&mut self, c: Custom) {
        match c.to {
            Some(id) => self.send(&c.kind, c.data, &id),
            None => {
                let ids: Vec<String> = self.clients.keys().cloned().collect();
                for id in ids {
                    self.send(&c.kind, c.data.clone(), &id);
                }
            }
        }
    }

    /// A worker joined or left during a run: Locust re-dispatches when no dispatch is under way.
    async fn redispatch_if_idle(&mut self) {
        if self.ramp.is_none() && self.shared.state() == State::Running {
            self.start(self.shared.target_user_count(), self.spawn_rate, None)
                .await;
        }
    }

    /// One message from a worker; true when the run is over.
    async fn handle(&mut self, addr: String, msg: Message) -> bool {
        let id = msg.node_id.clone();
        match msg.kind.as_str() {
            kind::CLIENT_READY => {
                let version = msg.data.as_str().map(str::to_owned);
                let truthy = match &msg.data {
                    Value::Nil | Value::Bool(false) | Value::Int(0) => false,
                    Value::Str(s) => !s.is_empty(),
                    _ => true,
                };
                if !truthy {
                    log::log(
                        log::Level::Error,
                        "locust.runners",
                        &format!(
                            "An old (pre 2.0) worker tried to connect ({addr}). That's not going to work."
                        ),
                    );
                    return false;
                }
                if let Some(v) = version.filter(|v| v != proto::LOCUST_VERSION) {
                    if v.get(..4) == proto::LOCUST_VERSION.get(..4) {
                        log::log(
                            log::Level::Debug,
                            "locust.runners",
                            &format!(
                                "A worker ({addr}) running a different patch version ('{v}') connected, master version is '{}'",
                                proto::LOCUST_VERSION
                            ),
                        );
                    } else {
                        log::warning(
                            "locust.runners",
                            &format!(
                                "A worker ({addr}) running a different version ({v}) connected, master version is {}",
                                proto::LOCUST_VERSION
                            ),
                        );
                    }
                }
                let index = self.index_of(&addr);
                log::log(
                    log::Level::Debug,
                    "locust.runners",
                    &format!("Sending ack message to worker {addr}"),
                );
                self.send(kind::ACK, Value::map([("index", Value::Int(index))]), &addr);
                drop(self.bridge.command(Command::Fire {
                    event: "worker_connect".into(),
                    kwargs: vec![("client_id".into(), Arg::Str(id.clone()))],
                }));
                let again = self.clients.contains_key(&addr);
                self.clients.insert(addr.clone(), WorkerNode::new());
                if let Some(d) = self.dispatcher.as_mut() {
                    d.add_worker(&addr);
                    self.redispatch_if_idle().await;
                }
                let n = self.worker_count();
                if again {
                    log::log(
                        log::Level::Debug,
                        "locust.runners",
                        &format!(
                            "{addr} (index {index}) reported as ready (duplicate message). {n} workers connected."
                        ),
                    );
                } else {
                    log::info(
                        "locust.runners",
                        &format!(
                            "{addr} (index {index}) reported as ready. {n} workers connected."
                        ),
                    );
                }
                if self.plan.enable_rebalancing
                    && self.shared.state() == State::Running
                    && self.spawning_completed
                {
                    self.start(self.shared.target_user_count(), self.spawn_rate, None)
                        .await;
                }
            }
            kind::HEARTBEAT => {
                let Some(c) = self.clients.get_mut(&id) else {
                    log::log(
                        log::Level::Debug,
                        "root",
                        &format!("Got heartbeat message from unknown worker {id}"),
                    );
                    return false;
                };
                c.heartbeat = proto::HEARTBEAT_LIVENESS;
                let reported = msg
                    .data
                    .get("state")
                    .and_then(Value::as_str)
                    .map(NodeState::parse)
                    .unwrap_or(NodeState::Ready);
                let healed = c.state == NodeState::Missing;
                c.state = reported;
                c.cpu_usage = msg
                    .data
                    .get("current_cpu_usage")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                if let Some(mem) = msg.data.get("current_memory_usage").and_then(Value::as_i64) {
                    c.memory_usage = mem.max(0) as u64;
                }
                let warn = !c.cpu_warned && c.cpu_usage > 90.0;
                if warn {
                    c.cpu_warned = true;
                }
                if healed {
                    log::info(
                        "locust.runners",
                        &format!(
                            "Worker {id} self-healed with heartbeat, setting state to {}.",
                            reported.as_str()
                        ),
                    );
                    if let Some(d) = self.dispatcher.as_mut() {
                        d.add_worker(&id);
                        self.redispatch_if_idle().await;
                    }
                }
                if warn {
                    self.worker_cpu_warned = true;
                    let index = self.index_of(&id);
                    log::warning(
                        "locust.runners",
                        &format!(
                            "Worker {id} (index {index}) exceeded cpu threshold (will only log this once per worker)"
                        ),
                    );
                }
                self.send(kind::HEARTBEAT, Value::Nil, &id);
            }
            kind::STATS => {
                if let Err(e) = super::stats_wire::merge_worker_report(&self.stats, &msg.data) {
                    log::log(
                        log::Level::Error,
                        "locust.runners",
                        &format!("Bad stats report from worker {id}: {e}"),
                    );
                }
                match self.clients.get_mut(&id) {
                    Some(c) => {
                        if let Some(counts) =
                            msg.data.get("user_classes_count").and_then(Value::as_map)
                        {
                            c.user_classes_count = counts_of(counts);
                        }
                    }
                    None => log::info(
                        "locust.runners",
                        &format!("Discarded report from unrecognized worker {id}"),
                    ),
                }
            }
            kind::SPAWNING => match self.clients.get_mut(&id) {
                Some(c) => c.state = NodeState::Spawning,
                None => {
                    log::warning(
                        "locust.runners",
                        &format!(
                            "Got spawning message from unknown worker {id}. Asking worker to quit."
                        ),
                    );
                    self.send(kind::QUIT, Value::Nil, &id);
                }
            },
            kind::SPAWNING_COMPLETE => match self.clients.get_mut(&id) {
                Some(c) => {
                    c.state = NodeState::Running;
                    if let Some(counts) = msg.data.get("user_classes_count").and_then(Value::as_map)
                    {
                        c.user_classes_count = counts_of(counts);
                    }
                }
                None => self.send(kind::QUIT, Value::Nil, &id),
            },
            kind::CLIENT_STOPPED => {
                if self.clients.shift_remove(&id).is_none() {
                    log::warning(
                        "locust.runners",
                        &format!("Received client_stopped message from an unknown worker: {id}."),
                    );
                    return false;
                }
                if let Some(d) = self.dispatcher.as_mut() {
                    d.remove_worker(&id);
                    self.redispatch_if_idle().await;
                }
                let index = self.index_of(&addr);
                log::info(
                    "locust.runners",
                    &format!("{id} (index {index}) reported that it has stopped"),
                );
            }
            kind::QUIT => {
                if self.clients.shift_remove(&id).is_some() {
                    if let Some(d) = self.dispatcher.as_mut() {
                        d.remove_worker(&id);
                        self.redispatch_if_idle().await;
                    }
                    let index = self.index_of(&id);
                    log::info(
                        "locust.runners",
                        &format!(
                            "Worker '{id}' (index {index}) quit. {} workers ready.",
                            self.ready_count()
                        ),
                    );
                    if self.worker_count() == 0 {
                        log::info("locust.runners", "The last worker quit, stopping test.");
                        self.publish();
                        self.stop(true).await;
                        if self.plan.headless {
                            return self.quit().await;
                        }
                    }
                }
            }
            kind::EXCEPTION => {
                let text = |k: &str| {
                    msg.data
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                self.stats
                    .log_exception(&text("msg"), &text("traceback"), &id);
            }
            kind::LOGS => {
                let worker = msg
                    .data
                    .get("worker_id")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .to_owned();
                let lines = msg
                    .data
                    .get("logs")
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                self.node.set_worker_logs(&worker, lines);
            }
            kind::LOCUSTFILE => self.send_locustfiles(&addr, &msg),
            _ => {
                // the locustfile's own message types (Python knows which are registered)
                drop(self.bridge.command(Command::Dist {
                    kind: msg.kind,
                    data: msg.data,
                    node_id: id,
                }));
            }
        }
        false
    }

    /// A `-f -` worker asks for the locustfiles (from a temporary id): their names and contents, or an error.
    fn send_locustfiles(&mut self, addr: &str, msg: &Message) {
        let version = msg
            .data
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("");
        if version.is_empty() {
            log::log(
                log::Level::Error,
                "locust.runners",
                "A very old worker version requested locustfile. This probably won't work.",
            );
        } else if version.get(..4) == proto::LOCUST_VERSION.get(..4) {
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!(
                    "A worker ({}) running a different patch version ({version}) connected, master version is {}",
                    msg.node_id,
                    proto::LOCUST_VERSION
                ),
            );
        }
        log::log(log::Level::Debug, "root", "Worker requested locust file");
        let mut files = Vec::new();
        let mut failed = None;
        for path in &self.plan.locustfiles {
            match std::fs::read_to_string(path) {
                Ok(contents) => {
                    let name = std::path::Path::new(path)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.clone());
                    files.push(Value::map([
                        ("filename", Value::Str(name)),
                        ("contents", Value::Str(contents)),
                    ]));
                }
                Err(e) => {
                    failed = Some((path.clone(), e));
                    break;
                }
            }
        }
        log::log(
            log::Level::Debug,
            "locust.runners",
            &format!("Sending locustfile message to worker {addr}"),
        );
        let data = match failed {
            None => Value::map([("locustfiles", Value::Array(files))]),
            Some((path, e)) => {
                let text = "locustfile must be a full path to a single locustfile, a comma-separated list of .py files, or a URL for file distribution to work";
                log::log(log::Level::Error, "locust.runners", &format!("{text} {e}"));
                Value::map([("error", Value::Str(format!("{text} (was '{path}')")))])
            }
        };
        self.send(kind::LOCUSTFILE, data, addr);
    }

    /// A local control; true when the run is over.
    async fn control(&mut self, c: Control) -> bool {
        match c {
            Control::Start {
                users,
                spawn_rate,
                classes,
            } => {
                self.start(users, spawn_rate, classes).await;
                false
            }
            Control::Stop => {
                self.stop(true).await;
                false
            }
            Control::UserClass {
                class,
                weight,
                fixed_count,
            } => {
                // (the web UI's `/user` also has Python broadcast the whole edit to the workers, as Locust does)
                if let Some(spec) = self.plan.classes.iter_mut().find(|c| c.name == class) {
                    if let Some(w) = weight {
                        spec.weight = w;
                    }
                    if let Some(n) = fixed_count {
                        spec.fixed_count = n;
                    }
                }
                if matches!(self.shared.state(), State::Ready | State::Stopped) {
                    self.dispatcher = None;
                }
                false
            }
            Control::Interrupt { .. } => {
                // as the local runner: the hub leaves, `quitting` fires, then the shutdown's Quit quits here
                self.shared.mark_left_running();
                let _ = self.bridge.command(Command::Quit).await;
                false
            }
            Control::Quit => {
                if self.quit_at.is_none() {
                    self.quit().await;
                }
                false
            }
        }
    }
}

/// `{class: count}` from a report (negative or non-int counts are 0).
fn counts_of(pairs: &[(Value, Value)]) -> IndexMap<String, u64> {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str()?.to_owned(),
                v.as_i64().unwrap_or(0).max(0) as u64,
            ))
        })
        .collect()
}

/// Locust's `_format_user_classes_count_for_log`: the counts as sorted JSON, then the total.
fn format_counts(counts: &IndexMap<String, u64>) -> String {
    format!(
        "{} ({} total users)",
        runner::counts_json(counts, true),
        counts.values().sum::<u64>()
    )
}

/// `LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP`: seconds, or `<k> * WORKER_REPORT_INTERVAL`; 1 s by default.
fn wait_for_reports() -> Duration {
    let Ok(text) = std::env::var("LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP") else {
        return Duration::from_secs(1);
    };
    let secs = match text.split_once('*') {
        Some((k, unit)) if unit.trim() == "WORKER_REPORT_INTERVAL" => k
            .trim()
            .parse::<f64>()
            .ok()
            .map(|k| k * proto::WORKER_REPORT_INTERVAL.as_secs_f64()),
        _ => text.trim().parse::<f64>().ok(),
    };
    Duration::from_secs_f64(secs.filter(|s| *s >= 0.0 && s.is_finite()).unwrap_or(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_wait_follows_locusts_variable() {
        // SAFETY (test): the variable is only read by this test's calls
        unsafe { std::env::remove_var("LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP") };
        assert_eq!(wait_for_reports(), Duration::from_secs(1));
        let with = |v: &str| {
            unsafe { std::env::set_var("LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP", v) };
            let d = wait_for_reports();
            unsafe { std::env::remove_var("LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP") };
            d
        };
        assert_eq!(with("2.5"), Duration::from_secs_f64(2.5));
        assert_eq!(
            with("1.5 * WORKER_REPORT_INTERVAL"),
            Duration::from_secs_f64(4.5)
        );
        assert_eq!(with("lots"), Duration::from_secs(1));
    }

    #[test]
    fn counts_and_their_log_form() {
        let pairs = vec![
            (Value::str("B"), Value::Int(2)),
            (Value::str("A"), Value::Int(-1)),
            (Value::Int(3), Value::Int(1)),
        ];
        let counts = counts_of(&pairs);
        assert_eq!(counts.get("B"), Some(&2));
        assert_eq!(counts.get("A"), Some(&0));
        assert_eq!(counts.len(), 2);
        assert_eq!(
            format_counts(&counts),
            r#"{"A": 0, "B": 2} (2 total users)"#
        );
    }

    #[test]
    fn node_states_round_trip() {
        for s in ["ready", "spawning", "running", "missing"] {
            assert_eq!(NodeState::parse(s).as_str(), s);
        }
        assert_eq!(NodeState::parse("stopped"), NodeState::Ready);
        assert!(!NodeState::Missing.active());
    }
}
