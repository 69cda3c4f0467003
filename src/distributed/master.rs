//! `--master`: this process runs no users; it directs workers (rlocust or real Locust 2.47) over Locust's wire
//! protocol and merges their statistics, in place of the local runner task (reference/locust-web-dist.md §2.4-2.9).
//!
//! One task owns the run state: the worker table ([`super::roster`]), the dispatcher
//! ([`super::dispatch::WorkerDispatcher`]: Locust's split of users over workers), the ramp (one `spawn` per
//! worker per step, then up to 1 s for the reports to match), stop and quit in Locust's order, and
//! `--expect-workers` for automatic starts. Long waits (ramp steps, the stop's wait for the users to go, the
//! quit's last reports) are deadlines checked by the loop, so heartbeats are answered and reports merged while
//! they run. Stats reports are merged into the run's [`RequestStats`] (`stats_wire`), so the console, CSV, JSON,
//! HTML and web UI outputs of a master are those of a standalone run.
//!
//! # Strangers (docs/distributed.md, "Who may join")
//!
//! Only `client_ready` (which registers a worker) and `locustfile` (a `-f -` worker's request) are taken from any
//! peer; every other message is acted upon only when it comes from a registered connection whose identity is the
//! message's node id (`Master::admitted`); the rest is refused with one line per connection. Kinds the protocol does not have go to Python as messages off the network (`Command::Dist`), where
//! only the locustfile's registered types are taken; the runner's own commands to Python are `Command::Own`,
//! which nothing read here can become. The sizes, queues and the master secret are the router's
//! ([`super::router`], [`super::auth`]).
//!
//! # Built for fleets (docs/performance.md, "A master for 10,000 workers")
//!
//! - **Constant cost per message.** A message touches its worker's record and the counters it changes (the
//!   roster keeps workers per state and users per class as they change); nothing walks the fleet per message.
//!   What readers see of the fleet (`runner.clients`, the web UI's workers) is a snapshot taken at most every
//!   100 ms when workers come, go or change state, and every heartbeat interval otherwise; the user counts the
//!   runner and the UI read are published when they change.
//! - **Liveness on arrival times.** Messages are stamped when their connection reads them
//!   ([`super::router`]), and before each liveness tick the loop takes everything already queued, so a heartbeat
//!   that arrived in time never makes a worker `missing`. A worker is missing once more than
//!   `HEARTBEAT_LIVENESS + 1` heartbeat intervals passed since its last heartbeat (Locust's counter, which a tick
//!   decrements, gives the same instant), and removed `HEARTBEAT_DEAD_INTERNAL` intervals later.
//! - **Re-dispatch without re-spawning the fleet.** Workers that join, come back or leave while a test runs are
//!   gathered for 200 ms and handled by one re-dispatch, and a `spawn` goes only to workers whose target differs
//!   from the last one sent to them in this test (Locust sends every worker a `spawn` on each change; an
//!   unchanged absolute target is a no-op on the worker).
//! - **Control first, and every worker hears `quit`.** `ack`, `spawn`, `stop` and `quit` are written ahead of
//!   heartbeat replies; a quit waits until the `quit`s are written and every worker answered (its last report
//!   comes first), 0.5 s at least as in Locust when some do not, and at most a few seconds.
mod open;

use super::dispatch::WorkerDispatcher;
use super::listened;
use super::node::{Custom, Node};
use super::proto::{self, Tunables, kind};
use super::roster::{Change, NodeState, Roster};
use super::router::{Conn, Inbound, Priority, Router};
use crate::bridge::{Arg, Bridge, Command};
use crate::log;
use crate::msgpack::{self, Message, Value};
use crate::runner::dispatch::UserClassSpec;
use crate::runner::{self, Control, ShapePhase, Shared, State};
use crate::stats::RequestStats;
use bytes::Bytes;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How long joins, returns and departures during a test are gathered before one re-dispatch.
const REDISPATCH_DELAY: Duration = Duration::from_millis(200);
/// The freshest a snapshot of the workers for readers gets after workers came, went or changed state.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(100);
/// Messages handled in a row before the loop looks at its timers again.
const BATCH: usize = 256;
/// How often the end of a ramp looks whether the workers' reports reached the target.
const REPORTS_POLL: Duration = Duration::from_millis(10);
/// How long the master's idle I/O thread lets messages gather before it sleeps (see `router::before_park`).
const PARK_DELAY: Duration = Duration::from_millis(20);
/// How long a quit waits for more answers once none came (and every `quit` is written).
const QUIT_QUIET: Duration = Duration::from_millis(500);
/// The longest a quit waits for the workers' last reports.
const QUIT_WAIT_MAX: Duration = Duration::from_secs(5);

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
    /// An open workload (an arrival rate, `runner::open`) the automatic start runs instead of users.
    pub open: Option<crate::runner::open::OpenPlan>,
    /// A capacity search (`--search`) sets the load instead: the automatic start (once the workers are there)
    /// only tells it so, and the search then sends its levels as controls.
    pub search_ready: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The master's half of the socket, and what the session keeps to wait for its end.
pub struct Link {
    pub router: Arc<Router>,
    pub inbound: mpsc::Receiver<Inbound>,
    /// Turns true when the master has quit (its workers told, their last reports in).
    pub done: watch::Sender<bool>,
}

/// Bind the ROUTER (Locust's "port was busy" line and exit 1 when the address is in use). Returns the port bound
/// (for port 0) and the link. `secret`: the master secret workers must prove ([`super::auth`]); without one, a
/// master listening beyond loopback says at start that anyone who reaches the port can join.
pub async fn bind(
    host: &str,
    port: u16,
    secret: Option<Arc<super::auth::Secret>>,
) -> Result<(u16, Link), String> {
    let open = secret.is_none();
    let (router, inbound) = Router::bind(host, port, secret).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            let port_string = if host == "*" {
                port.to_string()
            } else {
                format!("{host}:{port}")
            };
            format!(
                "The Locust master port ({port_string}) was busy. Close any applications using that port - perhaps an old instance of Locust master is still running? (Socket bind failure: Address already in use)"
            )
        } else {
            format!("Cannot bind the master to {host}:{port}: {e}")
        }
    })?;
    if open && !loopback(host) {
        log::warning(
            "locust.runners",
            &format!(
                "The master listens on {host}:{} and does not authenticate workers: anyone who can reach this port can join as a worker, receive the locustfile's options and tasks and send results. Use --master-bind-host 127.0.0.1, or set a master secret on the master and its workers ({} or --master-secret-file)",
                router.port(),
                super::auth::ENV
            ),
        );
    }
    let (done, _) = watch::channel(false);
    Ok((
        router.port(),
        Link {
            router: Arc::new(router),
            inbound,
            done,
        },
    ))
}

/// Whether a bind host is a loopback address only (`*`, `""`, `0.0.0.0`, `::` and names are not).
fn loopback(host: &str) -> bool {
    let h = host.trim_matches(|c| c == '[' || c == ']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where a start is.
enum Ramp {
    /// The next dispatch step is due at this instant.
    Step(Instant),
    /// All steps sent: waiting (until `deadline`) for the workers' reports to reach the target, looking at them
    /// at `next` (every 10 ms from the start, as Locust's loop sleeps 0.01 s between looks).
    Reports { deadline: Instant, next: Instant },
}

/// A change of the dispatcher's workers not told yet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pending {
    Join,
    Leave,
    LeaveThenJoin,
}

/// A quit under way: the workers told, their answers awaited.
struct Quitting {
    /// Locust waits 0.5 s for the last reports: with workers that do not answer, not less than this.
    at_least: Instant,
    /// Not after this.
    at_most: Instant,
    /// When the last worker's `quit` arrived.
    last_answer: Instant,
    /// When every `quit` had been written to its socket.
    written: Option<Instant>,
}

pub struct Master {
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    node: Arc<Node>,
    router: Arc<Router>,
    plan: Plan,
    tun: Tunables,
    roster: Roster,
    indexes: HashMap<Arc<str>, i64>,
    dispatcher: Option<WorkerDispatcher>,
    /// Workers that joined or came back, and left, since the dispatcher last heard (applied in one go).
    pending: IndexMap<String, Pending>,
    spawn_rate: f64,
    spawning_completed: bool,
    ramp: Option<Ramp>,
    /// The last dispatch step's totals per class (`target_user_classes_count` when the ramp ends).
    last_step: IndexMap<String, u64>,
    /// A stop waiting (until this deadline) for the workers to report no users.
    stopping: Option<Instant>,
    quitting: Option<Quitting>,
    /// An automatic start waiting for `--expect-workers`.
    waiting_since: Option<Instant>,
    started: bool,
    worker_cpu_warned: bool,
    /// A re-dispatch owed to joins, returns or departures, due then.
    redispatch_at: Option<Instant>,
    last_snapshot: Instant,
    done: watch::Sender<bool>,
    /// The open workload over the workers (`open`).
    open: open::OpenState,
}

/// The master's runner: serves the workers' messages and the local controls until the run ends, then makes the
/// hub leave its loop.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    node: Arc<Node>,
    link: Link,
    mut custom: mpsc::UnboundedReceiver<Custom>,
    mut control: mpsc::UnboundedReceiver<Control>,
    plan: Plan,
) {
    shared.set_reset_stats(plan.reset_stats);
    let Link {
        router,
        mut inbound,
        done,
    } = link;
    let tun = proto::tunables().clone();
    super::router::set_park_delay(PARK_DELAY);
    let mut m = Master {
        waiting_since: plan.auto_start.map(|_| Instant::now()),
        shared,
        bridge,
        stats,
        node,
        router,
        plan,
        tun,
        roster: Roster::default(),
        indexes: HashMap::new(),
        dispatcher: None,
        pending: IndexMap::new(),
        spawn_rate: 1.0,
        spawning_completed: false,
        ramp: None,
        last_step: IndexMap::new(),
        stopping: None,
        quitting: None,
        started: false,
        worker_cpu_warned: false,
        redispatch_at: None,
        last_snapshot: Instant::now(),
        done,
        open: open::OpenState::default(),
    };
    if m.waiting_since.is_some() {
        m.log_waiting();
    }
    let every = m.tun.heartbeat_interval.max(Duration::from_millis(1));
    let mut liveness = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    liveness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let due = m.next_deadline();
        let timer = async {
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let over = tokio::select! {
            _ = timer => m.on_deadline().await,
            _ = liveness.tick() => {
                // judge liveness on what has arrived: take the backlog first
                let mut over = false;
                for _ in 0..router_backlog_limit() {
                    match inbound.try_recv() {
                        Ok(item) => if m.on_inbound(item).await { over = true; break },
                        Err(_) => break,
                    }
                }
                over || m.on_tick().await
            }
            i = inbound.recv() => match i {
                Some(item) => {
                    let mut over = m.on_inbound(item).await;
                    let mut n = 1;
                    while !over && n < BATCH {
                        match inbound.try_recv() {
                            Ok(item) => over = m.on_inbound(item).await,
                            Err(_) => break,
                        }
                        n += 1;
                    }
                    m.publish_counts();
                    over
                }
                None => false,
            },
            c = custom.recv() => {
                if let Some(c) = c {
                    m.send_custom(c);
                }
                false
            }
            c = control.recv() => {
                let over = m.control(c.unwrap_or(Control::Quit)).await;
                m.publish_counts();
                over
            }
        };
        if over {
            return;
        }
    }
}

fn router_backlog_limit() -> usize {
    super::router::INBOUND_CAPACITY
}

impl Master {
    /// Queue a message for the worker (or other peer) with this id.
    fn send(&self, kind: &str, data: Value, to: &str, priority: Priority) {
        let msg = Message::new(kind, data, to);
        match self.roster.get(to) {
            Some(w) if !w.conn.is_closed() => {
                w.conn.send(&msg, priority);
            }
            _ => {
                self.router.send(&msg, priority);
            }
        }
    }

    fn send_on(conn: &Conn, kind: &str, data: Value, to: &str, priority: Priority) {
        conn.send(&Message::new(kind, data, to), priority);
    }

    fn index_of(&mut self, id: &str) -> i64 {
        if let Some(i) = self.indexes.get(id) {
            return *i;
        }
        let next = self.indexes.len() as i64;
        self.indexes.insert(Arc::from(id), next);
        next
    }

    /// The users the active workers reported, when they changed: to the run state.
    fn publish_counts(&mut self) {
        if self.roster.take_reported_changed() {
            self.shared.set_user_classes_count(self.roster.reported());
        }
        self.node.set_worker_count(self.roster.active());
    }

    /// The workers as readers see them (`runner.clients`, the web UI).
    fn publish_snapshot(&mut self) {
        self.node.set_workers(self.roster.snapshot());
        self.node.set_worker_count(self.roster.active());
        self.last_snapshot = Instant::now();
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
                self.roster.count(NodeState::Ready),
                self.plan.expect_workers
            ),
        );
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut at = |t: Instant| due = Some(due.map_or(t, |d: Instant| d.min(t)));
        match self.ramp {
            Some(Ramp::Step(t)) => at(t),
            Some(Ramp::Reports { next, .. }) => at(next),
            None => {}
        }
        if self.stopping.is_some() {
            at(Instant::now() + Duration::from_millis(100));
        }
        if self.quitting.is_some() {
            at(Instant::now() + Duration::from_millis(10));
        }
        if let Some(t) = self.redispatch_at {
            at(t);
        }
        if self.roster.change() == Change::Members {
            at(self.last_snapshot + SNAPSHOT_EVERY);
        }
        due
    }

    /// A deadline passed: the next ramp step, the end of a ramp, a stop that completed, a re-dispatch, the quit.
    /// True: the run is over.
    async fn on_deadline(&mut self) -> bool {
        let now = Instant::now();
        if let Some(q) = self.quitting.as_mut() {
            // done when every worker answered (its `quit` removed it, or its connection is gone); else once the
            // `quit`s are all written and answers stopped coming for half a second (after Locust's 0.5 s at
            // least); at most after QUIT_WAIT_MAX. (Writing 10,000 `quit`s and reading as many last reports
            // takes about a second here: a fixed wait would cut the slowest reports off.)
            if q.written.is_none() && self.router.unwritten() == 0 {
                q.written = Some(now);
            }
            let answered = self.roster.iter().all(|w| w.conn.is_closed());
            let quiet = now >= q.at_least
                && q.written.is_some_and(|t| now >= t + QUIT_QUIET)
                && now >= q.last_answer + QUIT_QUIET;
            if answered || quiet || now >= q.at_most {
                return self.finish_quit().await;
            }
        }
        if let Some(deadline) = self.stopping
            && (self.roster.all_users() == 0 || now >= deadline)
        {
            if self.roster.all_users() != 0 {
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
            Some(Ramp::Step(at)) if now >= at => {
                self.ramp_step();
                // Locust looks at the reports at once when the last step is out, then every 10 ms until its wait
                // (`LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP`) expires
                if matches!(self.ramp, Some(Ramp::Reports { .. }))
                    && self.roster.all_users() == self.shared.target_user_count()
                {
                    self.ramp = None;
                    self.ramp_done(true).await;
                }
            }
            Some(Ramp::Reports { deadline, next }) if now >= next => {
                if now >= deadline {
                    self.ramp = None;
                    self.ramp_done(false).await;
                } else if self.roster.all_users() == self.shared.target_user_count() {
                    self.ramp = None;
                    self.ramp_done(true).await;
                } else {
                    self.ramp = Some(Ramp::Reports {
                        deadline,
                        next: next + REPORTS_POLL,
                    });
                }
            }
            _ => {}
        }
        if let Some(t) = self.redispatch_at
            && now >= t
        {
            self.redispatch_at = None;
            self.apply_membership();
            if self.ramp.is_none() && self.shared.state() == State::Running {
                self.start(self.shared.target_user_count(), self.spawn_rate, None)
                    .await;
            }
        }
        if self.roster.change() == Change::Members && now >= self.last_snapshot + SNAPSHOT_EVERY {
            self.publish_snapshot();
        }
        self.publish_counts();
        false
    }

    /// The quit is complete: the hub leaves, and whoever waits for the master hears it.
    async fn finish_quit(&mut self) -> bool {
        self.quitting = None;
        self.router.flush(Duration::from_secs(2)).await;
        self.publish_snapshot();
        self.publish_counts();
        let _ = self.done.send(true);
        let _ = self.bridge.command(Command::Quit).await;
        true
    }

    /// Once a heartbeat interval: liveness (Locust's `heartbeat_worker`), the snapshot for readers, and an
    /// automatic start waiting for its workers.
    async fn on_tick(&mut self) -> bool {
        let now = Instant::now();
        let interval = self.tun.heartbeat_interval;
        let missing_after = interval * (self.tun.heartbeat_liveness + 1).max(0) as u32;
        let dead_after = interval
            * (self.tun.heartbeat_liveness - self.tun.heartbeat_dead_internal + 1).max(0) as u32;
        let mut went_missing = Vec::new();
        let mut removed = Vec::new();
        for w in self.roster.iter() {
            let silent = now.saturating_duration_since(w.last_heartbeat);
            if w.state() == NodeState::Missing {
                if silent > dead_after {
                    removed.push(w.id.clone());
                }
            } else if silent > missing_after {
                went_missing.push(w.id.clone());
            }
        }
        for id in went_missing {
            let id: &str = &id;
            log::info(
                "locust.runners",
                &format!("Worker {id} failed to send heartbeat, setting state to missing."),
            );
            self.roster.set_state(id, NodeState::Missing);
            self.roster.clear_counts(id);
            // (its requests in flight no longer count; a report when it comes back brings them again)
            crate::stats::in_flight::worker_left(id);
            if self.dispatcher.is_some() {
                self.leave(id);
                if self.plan.enable_rebalancing
                    && self.shared.state() == State::Running
                    && self.spawning_completed
                {
                    self.redispatch_soon();
                }
            }
            if self.roster.active() == 0 {
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
                self.roster.remove(id);
                self.router.forget(id);
            }
            if matches!(self.shared.state(), State::Running | State::Spawning) {
                self.dispatcher = None;
                self.pending.clear();
                self.start(self.shared.target_user_count(), self.spawn_rate, None)
                    .await;
            }
        }
        if self.roster.change() != Change::None {
            self.publish_snapshot();
        }
        self.publish_counts();
        if let Some(since) = self.waiting_since {
            if self.roster.count(NodeState::Ready) as u64 >= self.plan.expect_workers {
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

    /// A join, return or departure during a test: one re-dispatch for all of those in the next moment.
    fn redispatch_soon(&mut self) {
        if self.redispatch_at.is_none() {
            self.redispatch_at = Some(Instant::now() + REDISPATCH_DELAY);
        }
    }

    /// A worker joined or came back while the dispatcher exists (told in the next [`Self::apply_membership`]).
    fn join(&mut self, id: &str) {
        let next = match self.pending.get(id) {
            Some(Pending::Leave | Pending::LeaveThenJoin) => Pending::LeaveThenJoin,
            _ => Pending::Join,
        };
        self.pending.insert(id.to_owned(), next);
    }

    /// A worker left (or went missing) while the dispatcher exists.
    fn leave(&mut self, id: &str) {
        self.pending.insert(id.to_owned(), Pending::Leave);
    }

    /// Tell the dispatcher who joined and left since it last heard, in one go (one sort, one rebalance): the
    /// same end state as Locust's one add or removal per message.
    fn apply_membership(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let Some(d) = self.dispatcher.as_mut() else {
            return;
        };
        let gone: Vec<String> = pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Leave | Pending::LeaveThenJoin))
            .map(|(id, _)| id.clone())
            .collect();
        let came: Vec<String> = pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Join | Pending::LeaveThenJoin))
            .map(|(id, _)| id.clone())
            .collect();
        d.remove_workers(&gone);
        d.add_workers(&came);
    }

    /// The headless (or `--autostart`) start once the workers are there, as Locust's `start_automatic_run`.
    async fn auto_start(&mut self) {
        let Some((users, rate)) = self.plan.auto_start else {
            return;
        };
        if self.plan.shape {
            // the shape runs in Python; its ticks come back as Control::Start
            drop(self.bridge.command(Command::Own {
                kind: "_start_shape",
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
        if let Some(ready) = self.plan.search_ready.take() {
            let _ = ready.send(());
            return;
        }
        match self.plan.open.clone() {
            Some(plan) => self.start_open(plan).await,
            None => self.start(users, rate, None).await,
        }
    }

    /// Locust's `MasterRunner.start`: a new dispatch towards `users` at `rate` over the active workers.
    async fn start(&mut self, users: u64, rate: f64, classes: Option<Vec<String>>) {
        if self.open.running() {
            // a re-dispatch (workers joined or left) during an open workload: new shares of the arrival rate
            return self.open_reshare().await;
        }
        self.spawning_completed = false;
        self.shared.set_target_user_count(users);
        let active: Vec<String> = self
            .roster
            .iter()
            .filter(|w| w.state().active())
            .map(|w| w.id.to_string())
            .collect();
        if active.is_empty() {
            log::warning(
                "locust.runners",
                "You can't start a distributed test before at least one worker processes has connected",
            );
            return;
        }
        self.spawn_rate = rate;
        if self.dispatcher.is_none() {
            self.pending.clear();
            self.dispatcher = Some(WorkerDispatcher::new(self.plan.classes.clone(), &active));
        } else {
            self.apply_membership();
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
            // a new test: every worker gets its first spawn
            for w in self.roster.iter_mut() {
                w.spawned = None;
            }
            runner::fire(&self.bridge, "test_start", vec![]).await;
        }
        self.shared.set_state(State::Spawning);
        if let Some(d) = self.dispatcher.as_mut() {
            d.new_dispatch(users, rate, classes.as_deref());
        }
        self.ramp = Some(Ramp::Step(Instant::now()));
    }

    /// One dispatch step: a `spawn` to every worker in it whose target changed.
    fn ramp_step(&mut self) {
        let t0 = Instant::now();
        self.apply_membership();
        let Some((step, wait)) = self.dispatcher.as_mut().and_then(|d| d.next_step()) else {
            self.shared
                .set_target_user_classes_count(self.last_step.clone());
            let now = Instant::now();
            self.ramp = Some(Ramp::Reports {
                deadline: now + wait_for_reports(),
                next: now + REPORTS_POLL,
            });
            return;
        };
        let (host, options) = self.node.spawn_info();
        let spawn = SpawnEncoder::new(
            crate::stats::unix_now(),
            host,
            self.shared.stop_timeout(),
            &options,
        );
        let mut totals: IndexMap<String, u64> = IndexMap::new();
        let mut sent = 0usize;
        for (worker, counts) in &step {
            for (class, n) in counts {
                *totals.entry(class.clone()).or_insert(0) += n;
            }
            let target: Vec<(String, u64)> = counts.iter().map(|(c, n)| (c.clone(), *n)).collect();
            match self.roster.get_mut(worker) {
                Some(w) => {
                    if w.spawned.as_ref() == Some(&target) {
                        continue;
                    }
                    if let Some(frame) = spawn.frame(&target, worker) {
                        w.conn.send_frame(frame, Priority::Control);
                    }
                    w.spawned = Some(target);
                }
                None => {
                    // a worker the dispatcher still names (Locust sends to it anyway)
                    if let Some(frame) = spawn.frame(&target, worker)
                        && let Some(c) = self.router.conn(worker)
                    {
                        c.send_frame(frame, Priority::Control);
                    }
                }
            }
            sent += 1;
        }
        if log::enabled(log::Level::Debug) {
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!(
                    "Sending spawn messages for {} total users to {} worker(s)",
                    totals.values().sum::<u64>(),
                    sent
                ),
            );
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!(
                    "Currently spawned users: {}",
                    format_counts(&self.roster.reported())
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
        let debug = log::enabled(log::Level::Debug);
        let data = Value::map([("user_count", Value::from_u64(user_count))]);
        for w in self.roster.iter() {
            if debug {
                log::log(
                    log::Level::Debug,
                    "locust.runners",
                    &format!("Sending spawning_complete message to worker {}", w.id),
                );
            }
            Self::send_on(
                &w.conn,
                kind::SPAWNING_COMPLETE,
                data.clone(),
                &w.id,
                Priority::Control,
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
            &format!("{prefix}: {}", format_counts(&self.roster.reported())),
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
        self.open_stop();
        runner::fire(&self.bridge, "test_stopping", vec![]).await;
        self.shared.record_final_counts(self.roster.reported());
        self.shared.set_state(State::Stopping);
        if self.shared.shape() == ShapePhase::Running {
            drop(self.bridge.command(Command::Own {
                kind: "_end_shape",
                data: Value::Nil,
                node_id: self.node.client_id.clone(),
            }));
        }
        self.dispatcher = None;
        self.pending.clear();
        self.redispatch_at = None;
        self.ramp = None;
        if send_stop {
            let debug = log::enabled(log::Level::Debug);
            for w in self.roster.iter() {
                if debug {
                    log::log(
                        log::Level::Debug,
                        "locust.runners",
                        &format!("Sending stop message to worker {}", w.id),
                    );
                }
                Self::send_on(&w.conn, kind::STOP, Value::Nil, &w.id, Priority::Control);
            }
            self.stopping = Some(
                Instant::now()
                    + Duration::from_secs_f64(self.shared.stop_timeout().min(86_400.0) + 60.0),
            );
        } else {
            runner::fire(&self.bridge, "test_stop", vec![]).await;
        }
    }

    /// Locust's `MasterRunner.quit`: stop without telling the workers, then `quit` to each, and time for their
    /// last reports.
    async fn quit(&mut self) -> bool {
        self.waiting_since = None;
        self.stop(false).await;
        log::log(log::Level::Debug, "locust.runners", "Quitting...");
        let debug = log::enabled(log::Level::Debug);
        let ids = self.roster.ids();
        for id in ids {
            let id: &str = &id;
            let index = self.index_of(id);
            if debug {
                log::log(
                    log::Level::Debug,
                    "locust.runners",
                    &format!("Sending quit message to worker {id} (index {index})"),
                );
            }
            self.send(kind::QUIT, Value::Nil, id, Priority::Control);
        }
        let now = Instant::now();
        self.quitting = Some(Quitting {
            at_least: now + Duration::from_millis(500),
            at_most: now + QUIT_WAIT_MAX,
            last_answer: now,
            written: None,
        });
        false
    }

    /// Locust's `check_stopped`, after every message.
    fn check_stopped(&self) {
        let all_ready = self.roster.all_ready();
        let none_active = self.roster.active() == 0;
        let state = self.shared.state();
        // (Locust's rule also turns a master that never ran a test "stopped" when a message arrives while it knows
        // no worker; rlocust keeps it "ready" until a test has started)
        if ((state == State::Stopping && all_ready) || none_active)
            && (state != State::Ready || self.started)
        {
            self.shared.set_state(State::Stopped);
        }
    }

    fn bad_frame(&mut self, conn: &Conn, error: String) {
        let id = conn.id.clone();
        if self.roster.contains(&id) {
            log::log(
                log::Level::Error,
                "locust.runners",
                &format!("RPCError when receiving from client: {error}. Will reset client {id}."),
            );
            Self::send_on(conn, kind::RECONNECT, Value::Nil, &id, Priority::Control);
        } else {
            log::log(
                log::Level::Error,
                "locust.runners",
                &format!("Unrecognized message detected: {error} from {id}"),
            );
        }
    }

    fn send_custom(&mut self, c: Custom) {
        match c.to {
            Some(id) => self.send(&c.kind, c.data, &id, Priority::Control),
            None => {
                for w in self.roster.iter() {
                    Self::send_on(&w.conn, &c.kind, c.data.clone(), &w.id, Priority::Control);
                }
            }
        }
    }

    /// A worker joined or left during a run: Locust re-dispatches when no dispatch is under way.
    fn redispatch_if_idle(&mut self) {
        if self.ramp.is_none() && self.shared.state() == State::Running {
            self.redispatch_soon();
        }
    }

    /// One message off the socket; true when the run is over.
    async fn on_inbound(&mut self, item: Inbound) -> bool {
        let over = match item.msg {
            Ok(msg) => self.handle(&item.conn, item.at, msg).await,
            Err(e) => {
                self.bad_frame(&item.conn, e.to_string());
                false
            }
        };
        self.check_stopped();
        over
    }

    /// Whether a message from `conn` that names worker `id` comes from that worker: the connection's identity is
    /// the worker's, and the connection registered (its `client_ready` taken, or, as after Locust's `reconnect`, a
    /// new connection with a registered worker's identity: the router registers those; with the master secret,
    /// every connection that reaches here has proven it). A worker this master removed since (missing too long)
    /// is still heard on its connection: its late reports are merged, as Locust merges them, and the handlers of
    /// the other kinds look it up in the roster as Locust's do.
    fn admitted(&self, conn: &Conn, id: &str) -> bool {
        &*conn.id == id && conn.is_registered()
    }

    /// A message from a peer that is not a registered worker (or that names another worker): nothing is done, one
    /// line per connection.
    fn refuse(&self, conn: &Conn, msg: &Message) {
        if conn
            .refusal_logged
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let why = if conn.is_registered() {
            "its node id is not its connection's"
        } else {
            "not a registered worker (it has not sent client_ready)"
        };
        log::warning(
            "locust.runners",
            &format!(
                "Ignored a '{}' message from {} (node id '{}'): {why}. Further messages from it are ignored without a line",
                msg.kind, conn.id, msg.node_id
            ),
        );
    }

    /// A worker (or the router) is done with a worker: a new connection with its identity must register again.
    fn forget(&mut self, id: &str) {
        self.router.forget(id);
    }

    /// One message from a worker; true when the run is over.
    async fn handle(&mut self, conn: &Arc<Conn>, at: Instant, msg: Message) -> bool {
        let addr: &str = &conn.id;
        let id = msg.node_id.as_str();
        match msg.kind.as_str() {
            // a peer becomes a worker with `client_ready`; a `-f -` worker asks for the locustfiles before it
            // (from a temporary id, as Locust's)
            kind::CLIENT_READY | kind::LOCUSTFILE => {}
            // Locust asks a worker it does not know that reports spawning to quit (one it removed as dead)
            kind::SPAWNING | kind::SPAWNING_COMPLETE if addr == id && !self.roster.contains(id) => {
            }
            _ if !self.admitted(conn, id) => {
                self.refuse(conn, &msg);
                return false;
            }
            _ => {}
        }
        // a worker's messages arrive on its newest connection
        if let Some(w) = self.roster.get_mut(id)
            && !Arc::ptr_eq(&w.conn, conn)
            && &*conn.id == id
            && conn.is_registered()
        {
            w.conn = conn.clone();
        }
        match msg.kind.as_str() {
            kind::CLIENT_READY => self.client_ready(conn, at, &msg).await,
            kind::HEARTBEAT => self.heartbeat(at, &msg),
            kind::STATS => {
                self.open_report(id, &msg.data);
                if listened::on(&listened::WORKER_REPORT) {
                    // the locustfile's listeners see the whole report, as Locust's do (theirs run first)
                    drop(self.bridge.command(Command::Own {
                        kind: "_worker_report",
                        data: msg.data.clone(),
                        node_id: msg.node_id.clone(),
                    }));
                }
                if let Err(e) = super::stats_wire::merge_worker_report(&self.stats, &msg.data) {
                    log::log(
                        log::Level::Error,
                        "locust.runners",
                        &format!("Bad stats report from worker {id}: {e}"),
                    );
                }
                if self.roster.contains(id) {
                    if let Some(counts) = msg.data.get("user_classes_count").and_then(Value::as_map)
                    {
                        self.roster.set_counts(id, counts);
                    }
                    note_in_flight(id, &msg.data);
                } else {
                    log::info(
                        "locust.runners",
                        &format!("Discarded report from unrecognized worker {id}"),
                    );
                }
            }
            kind::SPAWNING => {
                if self.roster.contains(id) {
                    self.roster.set_state(id, NodeState::Spawning);
                } else {
                    log::warning(
                        "locust.runners",
                        &format!(
                            "Got spawning message from unknown worker {id}. Asking worker to quit."
                        ),
                    );
                    Self::send_on(conn, kind::QUIT, Value::Nil, id, Priority::Control);
                }
            }
            kind::SPAWNING_COMPLETE => {
                if self.roster.contains(id) {
                    self.roster.set_state(id, NodeState::Running);
                    if let Some(counts) = msg.data.get("user_classes_count").and_then(Value::as_map)
                    {
                        self.roster.set_counts(id, counts);
                    }
                    note_in_flight(id, &msg.data);
                } else {
                    Self::send_on(conn, kind::QUIT, Value::Nil, id, Priority::Control);
                }
            }
            kind::CLIENT_STOPPED => {
                self.forget(id);
                if self.roster.remove(id).is_none() {
                    log::warning(
                        "locust.runners",
                        &format!("Received client_stopped message from an unknown worker: {id}."),
                    );
                    return false;
                }
                if self.dispatcher.is_some() {
                    self.leave(id);
                    self.redispatch_if_idle();
                }
                let index = self.index_of(addr);
                log::info(
                    "locust.runners",
                    &format!("{id} (index {index}) reported that it has stopped"),
                );
            }
            kind::QUIT => {
                if let Some(q) = self.quitting.as_mut() {
                    q.last_answer = Instant::now();
                }
                self.forget(id);
                if self.roster.remove(id).is_some() {
                    if self.dispatcher.is_some() {
                        self.leave(id);
                        self.redispatch_if_idle();
                    }
                    let index = self.index_of(id);
                    log::info(
                        "locust.runners",
                        &format!(
                            "Worker '{id}' (index {index}) quit. {} workers ready.",
                            self.roster.count(NodeState::Ready)
                        ),
                    );
                    if self.roster.active() == 0 {
                        log::info("locust.runners", "The last worker quit, stopping test.");
                        if self.quitting.is_none() {
                            self.publish_counts();
                            self.stop(true).await;
                            if self.plan.headless {
                                return self.quit().await;
                            }
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
                    .log_exception(&text("msg"), &text("traceback"), id);
            }
            kind::LOGS => {
                let worker = msg
                    .data
                    .get("worker_id")
                    .and_then(Value::as_str)
                    .unwrap_or(id)
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
            kind::LOCUSTFILE => self.send_locustfiles(conn, &msg),
            _ => {
                // anything else a registered worker sends is Python's: one of the locustfile's own message types,
                // or Locust's "Unknown message type" warning (never one of the runners' own commands: those are
                // `Command::Own`, which nothing off the network becomes)
                drop(self.bridge.command(Command::Dist {
                    kind: msg.kind,
                    data: msg.data,
                    node_id: msg.node_id,
                }));
            }
        }
        false
    }

    async fn client_ready(&mut self, conn: &Arc<Conn>, at: Instant, msg: &Message) {
        let addr: Arc<str> = conn.id.clone();
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
            return;
        }
        if let Some(v) = msg.data.as_str().filter(|v| *v != proto::LOCUST_VERSION) {
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
        Self::send_on(
            conn,
            kind::ACK,
            Value::map([("index", Value::Int(index))]),
            &addr,
            Priority::Control,
        );
        drop(self.bridge.command(Command::Fire {
            event: "worker_connect".into(),
            kwargs: vec![("client_id".into(), Arg::Str(msg.node_id.clone()))],
        }));
        let again = self.roster.contains(&addr);
        conn.register();
        self.roster.insert(addr.clone(), index, conn.clone(), at);
        if self.dispatcher.is_some() {
            self.join(&addr);
            self.redispatch_if_idle();
        }
        let n = self.roster.active();
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
                &format!("{addr} (index {index}) reported as ready. {n} workers connected."),
            );
        }
        if self.plan.enable_rebalancing
            && self.shared.state() == State::Running
            && self.spawning_completed
        {
            self.redispatch_soon();
        }
    }

    fn heartbeat(&mut self, at: Instant, msg: &Message) {
        let id = msg.node_id.as_str();
        let Some(w) = self.roster.get_mut(id) else {
            log::log(
                log::Level::Debug,
                "root",
                &format!("Got heartbeat message from unknown worker {id}"),
            );
            return;
        };
        w.last_heartbeat = at;
        w.cpu_usage = msg
            .data
            .get("current_cpu_usage")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        if let Some(mem) = msg.data.get("current_memory_usage").and_then(Value::as_i64) {
            w.memory_usage = mem.max(0) as u64;
        }
        let warn = !w.cpu_warned && w.cpu_usage > self.tun.cpu_warning_threshold;
        if warn {
            w.cpu_warned = true;
        }
        let w = &*w;
        if listened::on(&listened::HEARTBEAT_SENT) {
            drop(self.bridge.command(Command::Fire {
                event: "heartbeat_sent".into(),
                kwargs: vec![
                    ("client_id".into(), Arg::Str(id.to_string())),
                    ("timestamp".into(), Arg::Float(crate::stats::unix_now())),
                ],
            }));
        }
        w.conn
            .send_frame(w.heartbeat_reply.clone(), Priority::Routine);
        let healed = w.state() == NodeState::Missing;
        self.roster.mark_values_changed();
        let reported = msg
            .data
            .get("state")
            .and_then(Value::as_str)
            .map(NodeState::parse)
            .unwrap_or(NodeState::Ready);
        self.roster.set_state(id, reported);
        if healed {
            log::info(
                "locust.runners",
                &format!(
                    "Worker {id} self-healed with heartbeat, setting state to {}.",
                    reported.as_str()
                ),
            );
            if self.dispatcher.is_some() {
                self.join(id);
                self.redispatch_if_idle();
            }
        }
        if warn {
            self.worker_cpu_warned = true;
            let index = self.index_of(id);
            log::warning(
                "locust.runners",
                &format!(
                    "Worker {id} (index {index}) exceeded cpu threshold (will only log this once per worker)"
                ),
            );
        }
        self.open_heard(id, &msg.data);
    }

    /// A `-f -` worker asks for the locustfiles (from a temporary id): their names and contents, or an error.
    fn send_locustfiles(&mut self, conn: &Conn, msg: &Message) {
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
        let addr = conn.id.clone();
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
        Self::send_on(conn, kind::LOCUSTFILE, data, &addr, Priority::Control);
    }

    /// A local control; true when the run is over.
    async fn control(&mut self, c: Control) -> bool {
        match c {
            Control::Start {
                users,
                spawn_rate,
                classes,
            } => {
                if self.open.running() {
                    log::log(
                        log::Level::Error,
                        "locust.runners",
                        "An open-model (arrival rate) test is running: stop it before starting users",
                    );
                } else {
                    self.start(users, spawn_rate, classes).await;
                }
                false
            }
            Control::StartOpen(plan) => {
                self.start_open(plan).await;
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
                // as the local runner: the hub leaves; the shutdown then quits here (before `quitting`'s other
                // listeners, as Locust's master runner's own `quitting` listener does) and waits for it
                self.shared.mark_left_running();
                let _ = self.bridge.command(Command::Quit).await;
                false
            }
            Control::Quit => {
                if self.quitting.is_none() {
                    if *self.done.borrow() {
                        // quit already: nothing is left to tell
                        let _ = self.bridge.command(Command::Quit).await;
                    } else {
                        self.quit().await;
                    }
                }
                false
            }
        }
    }
}

/// The `spawn` messages of one ramp step: what all of them share is encoded once, then each worker's counts and
/// id are spliced in (a step to 10,000 workers encodes the ~1 KB of options once, not 10,000 times).
struct SpawnEncoder {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl SpawnEncoder {
    fn new(
        timestamp: f64,
        host: Option<String>,
        stop_timeout: f64,
        options: &Value,
    ) -> SpawnEncoder {
        let enc = |v: &Value| msgpack::encode_value(v).unwrap_or_default();
        // [kind, {timestamp, user_classes_count, host, stop_timeout, parsed_options}, node_id]
        let mut head = vec![0x93];
        head.extend(enc(&Value::str(kind::SPAWN)));
        head.push(0x85);
        head.extend(enc(&Value::str("timestamp")));
        head.extend(enc(&Value::Float(timestamp)));
        head.extend(enc(&Value::str("user_classes_count")));
        let mut tail = enc(&Value::str("host"));
        tail.extend(enc(&host.map(Value::Str).unwrap_or(Value::Nil)));
        tail.extend(enc(&Value::str("stop_timeout")));
        tail.extend(enc(&Value::Float(stop_timeout)));
        tail.extend(enc(&Value::str("parsed_options")));
        tail.extend(enc(options));
        SpawnEncoder { head, tail }
    }

    /// The ZMTP frame of the `spawn` for `node_id` with these counts.
    fn frame(&self, counts: &[(String, u64)], node_id: &str) -> Option<Bytes> {
        let counts = Value::Map(
            counts
                .iter()
                .map(|(c, n)| (Value::str(c.as_str()), Value::from_u64(*n)))
                .collect(),
        );
        let counts = msgpack::encode_value(&counts).ok()?;
        let id = msgpack::encode_value(&Value::str(node_id)).ok()?;
        let len = self.head.len() + counts.len() + self.tail.len() + id.len();
        let mut out = Vec::with_capacity(len + 9);
        super::zmtp::put_header(&mut out, len, false, false);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&counts);
        out.extend_from_slice(&self.tail);
        out.extend_from_slice(&id);
        Some(Bytes::from(out))
    }
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
            .map(|k| k * proto::tunables().worker_report_interval.as_secs_f64()),
        _ => text.trim().parse::<f64>().ok(),
    };
    Duration::from_secs_f64(secs.filter(|s| *s >= 0.0 && s.is_finite()).unwrap_or(1.0))
}

/// A worker's requests in flight, as its report or spawning message carries them (`rlocust_in_flight`: `now`,
/// `peak`; absent from a Locust worker's), into the master's sum.
fn note_in_flight(id: &str, data: &Value) {
    if let Some(f) = data.get(crate::stats::in_flight::WIRE_KEY) {
        let n = |k: &str| {
            f.get(k)
                .and_then(Value::as_i64)
                .map_or(0, |v| v.max(0) as u64)
        };
        crate::stats::in_flight::worker_report(id, n("now"), n("peak"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_wait_follows_locusts_variable() {
        // SAFETY: (test) the variable is only read by this test's calls
        unsafe { std::env::remove_var("LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP") };
        assert_eq!(wait_for_reports(), Duration::from_secs(1));
        let with = |v: &str| {
            // SAFETY: as above
            unsafe { std::env::set_var("LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP", v) };
            let d = wait_for_reports();
            // SAFETY: as above
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
    fn only_loopback_binds_skip_the_warning() {
        for host in ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"] {
            assert!(loopback(host), "{host}");
        }
        for host in ["*", "", "0.0.0.0", "::", "10.0.0.5", "my-host"] {
            assert!(!loopback(host), "{host}");
        }
    }

    #[test]
    fn counts_log_form() {
        let mut counts = IndexMap::new();
        counts.insert("B".to_string(), 2);
        counts.insert("A".to_string(), 0);
        assert_eq!(
            format_counts(&counts),
            r#"{"A": 0, "B": 2} (2 total users)"#
        );
    }

    #[test]
    fn spliced_spawn_is_the_message_encoded_whole() {
        let options = Value::map([("host", Value::Nil), ("users", Value::Int(10))]);
        let enc = SpawnEncoder::new(1_795_332_746.25, Some("http://x".into()), 0.0, &options);
        let counts = vec![("User1".to_string(), 3), ("User2".to_string(), 0)];
        let frame = enc.frame(&counts, "host_abc").unwrap();
        let whole = Message::new(
            kind::SPAWN,
            Value::map([
                ("timestamp", Value::Float(1_795_332_746.25)),
                (
                    "user_classes_count",
                    Value::map([("User1", Value::Int(3)), ("User2", Value::Int(0))]),
                ),
                ("host", Value::str("http://x")),
                ("stop_timeout", Value::Float(0.0)),
                ("parsed_options", options),
            ]),
            "host_abc",
        )
        .encode()
        .unwrap();
        assert_eq!(&frame[..], &super::super::zmtp::frame(&whole)[..]);
    }
}
