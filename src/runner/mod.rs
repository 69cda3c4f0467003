//! The runner: one owner of the run state that decides when users start and stop (spawn rate, weights and
//! fixed_count through [`dispatch`], run time, stop timeout) and tells the hub through bridge commands.
//!
//! Runs as a tokio task. Everyone else (the CLI flow, signal handlers, Python's `runner.quit()`, later the
//! web UI and the distributed master) talks to it through [`Control`] messages, so a test can be started,
//! changed and stopped while it runs. Never touches Python.
//!
//! `readings`: the run's readings as one value (statistics, the open workload's accounting, lateness, in flight,
//! CPU), taken in one place and handed to every writer; a window of them by `Readings::since`. `context`: the run
//! context ([`Context`]), where the run's state lives, handed down to every reader; readings are taken from it.
pub mod context;
pub mod dispatch;
pub mod keyboard;
pub mod monitor;
pub mod open;
pub mod readings;
pub mod watchdog;

pub use context::Context;

use crate::bridge::{Arg, Bridge, Command, StopWhat};
use crate::log;
use crate::stats::RequestStats;
use dispatch::{Dispatcher, UserClassSpec};
use indexmap::IndexMap;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Locust's runner states (reference §1.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ready,
    Spawning,
    Running,
    Cleanup,
    Stopping,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Spawning => "spawning",
            State::Running => "running",
            State::Cleanup => "cleanup",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
        }
    }
}

/// What asked the run to end, as far as the runner's clients say (the first one said is kept): the summary's
/// `ended_by` and the run's verdict (`app::run_end`) name it. A quit nobody named (the locustfile's `runner.quit()`,
/// the web UI, a shape's or the arrival stages' end) is [`EndCause::Quit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndCause {
    Quit,
    /// `-t` (and `--autoquit` after it).
    RunTime,
    /// Ctrl+C, or a `KeyboardInterrupt` raised in a task.
    Sigint,
    Sigterm,
    /// An `abort` threshold rule.
    Abort,
    /// A worker's master said `quit`.
    Master,
    /// The capacity search (`--search`) ended.
    Search,
}

impl EndCause {
    pub fn as_str(self) -> &'static str {
        match self {
            EndCause::Quit => "quit",
            EndCause::RunTime => "run_time",
            EndCause::Sigint => "sigint",
            EndCause::Sigterm => "sigterm",
            EndCause::Abort => "abort",
            EndCause::Master => "master",
            EndCause::Search => "search",
        }
    }
}

/// Requests to the runner from outside its task.
#[derive(Debug)]
pub enum Control {
    /// Ramp to a new user count (the first one starts the test); `classes` limits the population to those user
    /// classes (a LoadTestShape tick may name them), stopping the others.
    Start {
        users: u64,
        spawn_rate: f64,
        classes: Option<Vec<String>>,
    },
    /// Start (or change) an open workload: iterations at an arrival rate (`open`); a closed test is not changed
    /// into an open one (stop it first).
    StartOpen(open::OpenPlan),
    /// Stop all users; the process keeps running (UI mode).
    Stop,
    /// `POST /user` set a user class's `weight` and/or `fixed_count`: the next test (from ready or stopped)
    /// dispatches with them; a running test keeps its dispatch.
    UserClass {
        class: String,
        weight: Option<f64>,
        fixed_count: Option<u64>,
    },
    /// Stop all users and end the run.
    Quit,
    /// Ctrl+C (or a KeyboardInterrupt that reached the hub) or SIGTERM. As in Locust's `main`: during a headless
    /// shape test a Ctrl+C ends the shape and quits; otherwise the hub leaves its loop with the users still
    /// running, `quitting` fires and the exit code is decided, and only then are the users stopped
    /// ([`Shared::users_left_running`], then a [`Control::Quit`]).
    Interrupt { sigterm: bool },
}

/// Where the LoadTestShape is (headless: Locust's main waits for the shape greenlet, and a Ctrl+C then ends it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShapePhase {
    None,
    Running,
    /// `logged`: "Shape test completed, shutting down" is out already.
    Ended {
        logged: bool,
    },
}

/// The run's state, owned here and readable from any thread: Locust's runner state, the users alive per class,
/// the targets of the current ramp. Python's `runner` object reads these and keeps no copy; the few transitions
/// that must happen in the caller's greenlet (a `stop()`/`quit()` from inside a user, the end of
/// `spawning_complete`) are methods here that the hub calls, so the rules stay in one place.
pub struct Shared {
    state: Mutex<State>,
    alive: Mutex<IndexMap<String, u64>>,
    /// `runner.target_user_count` and `runner.target_user_classes_count`.
    target: Mutex<(u64, IndexMap<String, u64>)>,
    /// `runner.final_user_classes_count`: the users alive when the last stop began.
    final_counts: Mutex<IndexMap<String, u64>>,
    /// `--reset-stats`: the stats are reset when a ramp completes.
    reset_stats: AtomicBool,
    control: mpsc::UnboundedSender<Control>,
    quitting: AtomicBool,
    cpu_warned: AtomicBool,
    /// Users that ended with KeyboardInterrupt (the watchdog's interrupt, or a task's own).
    interrupted: std::sync::atomic::AtomicU64,
    shape: Mutex<ShapePhase>,
    /// An interrupt made the hub leave its loop before the users were stopped.
    left_running: AtomicBool,
    /// `-s` (a distributed worker takes its master's from each `spawn`), as f64 bits.
    stop_timeout: std::sync::atomic::AtomicU64,
    /// The last CPU % and RSS the monitor measured (`runner.current_cpu_usage`/`current_memory_usage`; a worker's
    /// heartbeats carry them).
    usage: Mutex<(f64, u64)>,
    gave_up: AtomicBool,
    /// What asked the run to end first ([`Shared::end_because`]).
    end_cause: Mutex<Option<EndCause>>,
    /// Counts the moments the runner has served a control and waits for the next (and each pause between the
    /// steps of a ramp): where Locust's gevent loop would next serve a web request. See [`Shared::first_settled`].
    settled: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    pub fn new(stop_timeout: f64) -> (Arc<Shared>, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            state: Mutex::new(State::Ready),
            alive: Mutex::new(IndexMap::new()),
            target: Mutex::new((0, IndexMap::new())),
            final_counts: Mutex::new(IndexMap::new()),
            reset_stats: AtomicBool::new(false),
            control: tx,
            quitting: AtomicBool::new(false),
            cpu_warned: AtomicBool::new(false),
            interrupted: std::sync::atomic::AtomicU64::new(0),
            shape: Mutex::new(ShapePhase::None),
            left_running: AtomicBool::new(false),
            stop_timeout: std::sync::atomic::AtomicU64::new(stop_timeout.to_bits()),
            usage: Mutex::new((0.0, 0)),
            gave_up: AtomicBool::new(false),
            end_cause: Mutex::new(None),
            settled: tokio::sync::watch::Sender::new(0),
        };
        (Arc::new(shared), rx)
    }

    pub fn state(&self) -> State {
        *self.state.lock()
    }

    pub fn stop_timeout(&self) -> f64 {
        f64::from_bits(self.stop_timeout.load(Ordering::Relaxed))
    }

    pub fn set_stop_timeout(&self, secs: f64) {
        self.stop_timeout.store(secs.to_bits(), Ordering::Relaxed);
    }

    /// The monitor's last sample: CPU percent and RSS bytes (0.0 and 0 before the first, as Locust).
    pub fn usage(&self) -> (f64, u64) {
        *self.usage.lock()
    }

    pub fn set_usage(&self, cpu_percent: f64, rss: u64) {
        *self.usage.lock() = (cpu_percent, rss);
    }

    /// The runner has served a control (or a ramp step) and waits.
    fn settle(&self) {
        self.settled.send_modify(|n| *n += 1);
    }

    /// Resolves once the runner has served its first control. `--autostart` holds the web UI's first answer
    /// until then: in Locust the first spawn step (and, when it is the whole ramp, `spawning_complete`) runs
    /// before the gevent loop serves any request, so the first page already says "spawning" or "running".
    pub fn first_settled(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.settled.subscribe();
        async move {
            let _ = rx.wait_for(|n| *n > 0).await;
        }
    }

    pub(crate) fn set_state(&self, s: State) {
        *self.state.lock() = s;
    }

    pub fn user_count(&self) -> u64 {
        self.alive.lock().values().sum()
    }

    pub fn target_user_count(&self) -> u64 {
        self.target.lock().0
    }

    pub fn set_target_user_count(&self, n: u64) {
        self.target.lock().0 = n;
    }

    pub fn target_user_classes_count(&self) -> IndexMap<String, u64> {
        self.target.lock().1.clone()
    }

    pub fn set_target_user_classes_count(&self, counts: IndexMap<String, u64>) {
        self.target.lock().1 = counts;
    }

    pub fn final_user_classes_count(&self) -> IndexMap<String, u64> {
        self.final_counts.lock().clone()
    }

    /// The runner's own `spawning_complete` listener (Locust registers it when the runner is made, so
    /// listeners added before see "spawning" and later ones "running"): the state becomes running; returns
    /// whether the stats are to be reset now (`--reset-stats`).
    pub fn spawning_complete(&self) -> bool {
        let mut state = self.state.lock();
        if *state == State::Spawning {
            *state = State::Running;
        }
        self.reset_stats.load(Ordering::Relaxed)
    }

    /// A `stop()` called in a user's own greenlet begins (Locust runs `Runner.stop()` right there): false when the
    /// runner is stopped already (then stop() does nothing).
    pub fn user_stop_begin(&self) -> bool {
        self.state() != State::Stopped
    }

    /// After `test_stopping`: the users alive are recorded and the state is cleanup (Locust's `stop()`; the
    /// runner task follows the same steps in `stop_all`).
    pub fn enter_cleanup(&self) {
        *self.final_counts.lock() = self.user_classes_count();
        self.set_state(State::Cleanup);
    }

    /// The users have been stopped.
    pub fn enter_stopped(&self) {
        self.set_state(State::Stopped);
    }

    pub fn user_classes_count(&self) -> IndexMap<String, u64> {
        self.alive.lock().clone()
    }

    /// `--reset-stats` (a master resets its merged stats when its ramp completes).
    pub fn set_reset_stats(&self, on: bool) {
        self.reset_stats.store(on, Ordering::Relaxed);
    }

    /// `runner.final_user_classes_count` at the start of a stop (a master's: what its workers reported).
    pub fn record_final_counts(&self, counts: IndexMap<String, u64>) {
        *self.final_counts.lock() = counts;
    }

    /// A master gave up waiting for `--expect-workers` (the run exits 1).
    pub fn set_gave_up(&self) {
        self.gave_up.store(true, Ordering::Relaxed);
    }

    pub fn gave_up(&self) -> bool {
        self.gave_up.load(Ordering::Relaxed)
    }

    /// Say what ends the run (before sending the control that ends it); the first cause said is kept.
    pub fn end_because(&self, cause: EndCause) {
        self.end_cause.lock().get_or_insert(cause);
    }

    /// What asked the run to end ([`EndCause::Quit`] when nobody said).
    pub fn end_cause(&self) -> EndCause {
        self.end_cause.lock().unwrap_or(EndCause::Quit)
    }

    /// A master's users are its workers': the counts they reported.
    pub fn set_user_classes_count(&self, counts: IndexMap<String, u64>) {
        *self.alive.lock() = counts;
    }

    /// Called on the hub when a user greenlet starts or ends.
    pub fn user_started(&self, class: &str) {
        *self.alive.lock().entry(class.to_string()).or_insert(0) += 1;
    }

    pub fn user_stopped(&self, class: &str) {
        if let Some(n) = self.alive.lock().get_mut(class) {
            *n = n.saturating_sub(1);
        }
    }

    pub fn shape(&self) -> ShapePhase {
        *self.shape.lock()
    }

    pub fn set_shape(&self, phase: ShapePhase) {
        *self.shape.lock() = phase;
    }

    /// Whether the hub left its loop for an interrupt with users still running: the caller fires `quitting`,
    /// decides the exit code, then sends [`Control::Quit`] and runs the hub until it has stopped them.
    /// An interrupt made the hub leave with users running (see [`Shared::users_left_running`]).
    pub fn mark_left_running(&self) -> bool {
        self.left_running.swap(true, Ordering::Relaxed)
    }

    pub fn users_left_running(&self) -> bool {
        self.left_running.load(Ordering::Relaxed)
    }

    pub fn send(&self, c: Control) {
        if matches!(c, Control::Quit | Control::Interrupt { .. }) {
            self.quitting.store(true, Ordering::Relaxed);
        }
        let _ = self.control.send(c);
    }

    /// Record that the CPU went above the warning threshold; true the first time.
    pub fn note_cpu_warning(&self) -> bool {
        !self.cpu_warned.swap(true, Ordering::Relaxed)
    }

    pub fn cpu_warned(&self) -> bool {
        self.cpu_warned.load(Ordering::Relaxed)
    }

    /// Called on the hub when a user's greenlet ends with KeyboardInterrupt.
    pub fn user_interrupted(&self) {
        self.interrupted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn interrupted_users(&self) -> u64 {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// The run is ending without a [`Control::Quit`] through [`Shared::send`] (a worker told `quit` by its master,
    /// or that lost it): the watchdog watches the stop from now on.
    pub fn mark_quitting(&self) {
        self.quitting.store(true, Ordering::Relaxed);
    }

    pub fn is_quitting(&self) -> bool {
        self.quitting.load(Ordering::Relaxed)
    }
}

/// What the runner needs to run a test.
pub struct Plan {
    pub classes: Vec<UserClassSpec>,
    pub run_time: Option<u64>,
    pub reset_stats: bool,
    /// Headless: the end of the run time quits; otherwise it only stops.
    pub headless: bool,
    /// `--autoquit N` with `--autostart`: quit N seconds after the run time has stopped the test.
    pub autoquit: Option<u64>,
}

/// The runner task: serves [`Control`] messages until the run ends, then makes the hub leave its loop.
pub async fn run(
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    mut plan: Plan,
    mut rx: mpsc::UnboundedReceiver<Control>,
) {
    let mut dispatcher = Dispatcher::new(plan.classes.clone());
    let mut dispatched: IndexMap<String, u64> = IndexMap::new();
    let mut started = false;
    shared
        .reset_stats
        .store(plan.reset_stats, Ordering::Relaxed);
    let mut next: Option<Control> = None;
    let mut served = false;
    loop {
        let msg = match next.take() {
            Some(m) => m,
            None => {
                if served {
                    shared.settle();
                }
                served = true;
                rx.recv().await.unwrap_or(Control::Quit)
            }
        };
        match msg {
            Control::Start {
                users,
                spawn_rate,
                classes,
            } => {
                if let Some(names) = &classes {
                    restrict_classes(&plan, &mut dispatcher, &dispatched, names);
                }
                if open::running() {
                    log::log(
                        log::Level::Error,
                        "locust.runners",
                        "An open-model (arrival rate) test is running: stop it before starting users",
                    );
                    continue;
                }
                shared.set_target_user_count(users);
                // NOTE: as in Locust's start(): a new test (test_start, cleared stats) unless one is running
                if !matches!(shared.state(), State::Running | State::Spawning)
                    && let Some(m) =
                        new_test(&shared, &bridge, &stats, &plan, &mut started, &mut rx).await
                {
                    next = Some(m);
                    continue;
                }
                next = ramp(
                    &shared,
                    &bridge,
                    &plan,
                    &mut dispatcher,
                    &mut dispatched,
                    users,
                    spawn_rate,
                    &mut rx,
                )
                .await;
            }
            Control::StartOpen(open_plan) => {
                next = run_open(
                    &shared,
                    &bridge,
                    &stats,
                    &plan,
                    &mut started,
                    open_plan,
                    &mut rx,
                )
                .await;
            }
            Control::UserClass {
                class,
                weight,
                fixed_count,
            } => {
                if let Some(c) = plan.classes.iter_mut().find(|c| c.name == class) {
                    if let Some(w) = weight {
                        c.weight = w;
                    }
                    if let Some(n) = fixed_count {
                        c.fixed_count = n;
                    }
                }
                if matches!(shared.state(), State::Ready | State::Stopped) {
                    dispatcher = Dispatcher::new(plan.classes.clone());
                    dispatched.clear();
                }
            }
            Control::Stop => {
                // NOTE: as in Locust, a stop does not cancel -t: a headless run still quits when it expires.
                stop_all(&shared, &bridge).await;
                dispatcher = Dispatcher::new(plan.classes.clone());
                dispatched.clear();
            }
            Control::Interrupt { sigterm } => {
                shared.quitting.store(true, Ordering::Relaxed);
                if !sigterm && shared.shape() == ShapePhase::Running {
                    // Locust's main is waiting for the shape greenlet: the KeyboardInterrupt lands there
                    log::info("root", "Exiting due to CTRL+C interruption");
                    log::info("locust.main", "Shape test completed, shutting down");
                    shared.set_shape(ShapePhase::Ended { logged: true });
                    next = Some(Control::Quit);
                } else if !shared.left_running.swap(true, Ordering::Relaxed) {
                    let _ = bridge.command(Command::Quit).await;
                }
            }
            Control::Quit => {
                shared.quitting.store(true, Ordering::Relaxed);
                if started {
                    stop_all(&shared, &bridge).await;
                }
                let _ = bridge.command(Command::Quit).await;
                return;
            }
        }
    }
}

/// A new test begins (Locust's `start()` from ready or stopped): the `-t` clock (first test only), cleared
/// statistics, `test_start`. A control that arrives while the `test_start` listeners run is returned: it wins.
async fn new_test(
    shared: &Arc<Shared>,
    bridge: &Bridge,
    stats: &RequestStats,
    plan: &Plan,
    started: &mut bool,
    rx: &mut mpsc::UnboundedReceiver<Control>,
) -> Option<Control> {
    // The -t clock starts with the run, not after the test_start listeners; it is its own task, so it fires on
    // time even while the runner waits for the hub.
    if let Some(secs) = plan.run_time
        && !*started
    {
        tokio::spawn(run_time_limit(
            shared.clone(),
            secs,
            plan.headless,
            plan.autoquit,
        ));
    }
    *started = true;
    stats.clear_all(log::now());
    stats.clear_exceptions();
    open::tally().clear(false, crate::stats::unix_now());
    // NOTE: a quit (or stop) while the test_start listeners still run acts at once, as the -t or signal greenlet
    // does in Locust; the listeners' greenlet is left to finish on its own, and no ramp follows.
    tokio::select! {
        _ = fire(bridge, "test_start", vec![]) => None,
        m = rx.recv() => Some(m.unwrap_or(Control::Quit)),
    }
}

/// An open-model test (`runner::open`): a new test (or a change of the running one), its initial users, then the
/// arrivals until a control arrives or the schedule ends (then a headless run quits, a web UI run stops).
async fn run_open(
    shared: &Arc<Shared>,
    bridge: &Arc<Bridge>,
    stats: &RequestStats,
    plan: &Plan,
    started: &mut bool,
    open_plan: open::OpenPlan,
    rx: &mut mpsc::UnboundedReceiver<Control>,
) -> Option<Control> {
    let assignment = open::Assignment {
        plan: open_plan.clone(),
        share: open::schedule::Share::WHOLE,
        elapsed: 0.0,
    };
    if open::running() {
        log::info(
            "locust.runners",
            &open::describe(&open_plan).replacen("Starting", "Changing to", 1),
        );
        open::update(&assignment);
        shared.set_target_user_count(open_plan.max_users);
    } else {
        if matches!(shared.state(), State::Running | State::Spawning) {
            log::log(
                log::Level::Error,
                "locust.runners",
                "A closed-model test (users) is running: stop it before starting an arrival rate",
            );
            return None;
        }
        shared.set_target_user_count(open_plan.max_users);
        if let Some(m) = new_test(shared, bridge, stats, plan, started, rx).await {
            return Some(m);
        }
        shared.set_state(State::Spawning);
        log::info("locust.runners", &open::describe(&open_plan));
        let initial = tokio::select! {
            counts = open::start(bridge, plan.classes.clone(), assignment) => counts,
            m = rx.recv() => return Some(m.unwrap_or(Control::Quit)),
        };
        let initial: IndexMap<String, u64> = initial.into_iter().collect();
        shared.set_target_user_classes_count(initial.clone());
        log::info(
            "locust.runners",
            &format!(
                "All users spawned: {} ({} total users)",
                counts_json(&initial, true),
                initial.values().sum::<u64>()
            ),
        );
        fire(
            bridge,
            "spawning_complete",
            vec![(
                "user_count".into(),
                Arg::Int(initial.values().sum::<u64>() as i64),
            )],
        )
        .await;
    }
    shared.settle();
    tokio::select! {
        m = rx.recv() => Some(m.unwrap_or(Control::Quit)),
        _ = open::schedule_ended() => {
            let what = if open_plan.schedule.trace.is_some() {
                "Arrival trace replayed"
            } else {
                "Arrival stages completed"
            };
            if plan.headless {
                log::info("locust.main", &format!("{what}, shutting down"));
                Some(Control::Quit)
            } else {
                log::info("locust.main", &format!("{what}, stopping test"));
                Some(Control::Stop)
            }
        }
    }
}

/// `-t`: after `secs` seconds, quit (headless) or stop the test (`--autostart`: then quit after `--autoquit`
/// seconds when given). Sent through [`Shared::send`] like any other control, so the watchdog sees the run
/// ending even when the hub never acknowledges anything again.
pub(crate) async fn run_time_limit(
    shared: Arc<Shared>,
    secs: u64,
    headless: bool,
    autoquit: Option<u64>,
) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
    if headless {
        log::info("locust.main", "--run-time limit reached, shutting down");
        shared.end_because(EndCause::RunTime);
        shared.send(Control::Quit);
        return;
    }
    log::info("locust.main", "--run-time limit reached, stopping test");
    shared.send(Control::Stop);
    match autoquit {
        Some(wait) => {
            log::log(
                log::Level::Debug,
                "locust.main",
                &format!("Autoquit time limit set to {wait} seconds"),
            );
            tokio::time::sleep(Duration::from_secs(wait)).await;
            log::info("locust.main", "--autoquit time reached, shutting down");
            shared.end_because(EndCause::RunTime);
            shared.send(Control::Quit);
        }
        None => log::info(
            "locust.main",
            "--autoquit not specified, leaving web ui running indefinitely",
        ),
    }
}

/// Limit spawning to the classes in `names` (a LoadTestShape tick naming user classes). As in Locust, users of
/// other classes keep running; the named classes are dispatched from the users they already have.
fn restrict_classes(
    plan: &Plan,
    dispatcher: &mut Dispatcher,
    dispatched: &IndexMap<String, u64>,
    names: &[String],
) {
    let subset: Vec<UserClassSpec> = plan
        .classes
        .iter()
        .filter(|c| names.contains(&c.name))
        .cloned()
        .collect();
    let mut wanted: Vec<&str> = subset.iter().map(|c| c.name.as_str()).collect();
    wanted.sort_unstable();
    let current: Vec<&str> = dispatcher
        .classes()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    if current == wanted {
        return;
    }
    let kept: u64 = dispatched
        .iter()
        .filter(|(k, _)| names.contains(k))
        .map(|(_, v)| *v)
        .sum();
    *dispatcher = Dispatcher::new(subset);
    dispatcher.scale_to(kept);
}

pub(crate) async fn fire(bridge: &Bridge, event: &str, kwargs: Vec<(String, Arg)>) {
    let _ = bridge
        .command(Command::Fire {
            event: event.to_string(),
            kwargs,
        })
        .await;
}

/// Locust's `Runner.stop()`: nothing when stopped already; else `test_stopping` (in the state it was in), cleanup,
/// the users stopped (the hub first ends a spawning still in progress, and the shape), stopped, `test_stop`.
pub(crate) async fn stop_all(shared: &Shared, bridge: &Bridge) {
    // no arrival after a stop begins (also when a user stopped the test from its own greenlet)
    open::halt();
    if shared.state() == State::Stopped {
        return;
    }
    fire(bridge, "test_stopping", vec![]).await;
    shared.enter_cleanup();
    let stopping = shared.user_count();
    let _ = bridge
        .command(Command::Stop {
            users: StopWhat::All,
            timeout: shared.stop_timeout(),
        })
        .await;
    log_stopped(shared, stopping);
    shared.enter_stopped();
    if shared.cpu_warned() {
        log::warning(
            "locust.runners",
            "CPU usage was too high at some point during the test! See https://docs.locust.io/en/stable/running-distributed.html for how to distribute the load over multiple CPU cores or machines",
        );
    }
    fire(bridge, "test_stop", vec![]).await;
}

/// `json.dumps` of a `{class: count}` dict, sorted by name (Locust's `_format_user_classes_count_for_log`) or
/// in the order given.
pub(crate) fn counts_json<'a>(
    counts: impl IntoIterator<Item = (&'a String, &'a u64)>,
    sorted: bool,
) -> String {
    let mut pairs: Vec<(&String, &u64)> = counts.into_iter().collect();
    if sorted {
        pairs.sort_by(|a, b| a.0.cmp(b.0));
    }
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}: {v}", crate::pyfmt::json::json_str(k)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// Ramp from the dispatched population to `users` at `rate`. Returns a control message that interrupted it.
///
/// NOTE (Locust's `_start`): a control message (a stop, `-t`, Ctrl+C) is served at once, even while the hub is
/// still spawning a step's users (a User `__init__` may block); a stop from inside a user (the state is then
/// cleanup or stopped) ends the ramp too.
#[allow(clippy::too_many_arguments)]
async fn ramp(
    shared: &Shared,
    bridge: &Bridge,
    plan: &Plan,
    dispatcher: &mut Dispatcher,
    dispatched: &mut IndexMap<String, u64>,
    users: u64,
    rate: f64,
    rx: &mut mpsc::UnboundedReceiver<Control>,
) -> Option<Control> {
    shared.set_state(State::Spawning);
    log::info(
        "locust.runners",
        &format!("Ramping to {users} users at a rate of {rate:.2} per second"),
    );
    // Users of classes outside the dispatcher (a shape tick limited the classes) count toward the target.
    let names: Vec<&str> = dispatcher
        .classes()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let others: u64 = dispatched
        .iter()
        .filter(|(k, _)| !names.contains(&k.as_str()))
        .map(|(_, v)| *v)
        .sum();
    let users = users.saturating_sub(others);
    let from = dispatcher.total();
    let (step, interval) = dispatch::ramp_steps(from, users, rate);
    let mut current = from;
    loop {
        let t0 = Instant::now();
        current = if users > current {
            (current + step).min(users)
        } else {
            current.saturating_sub(step).max(users)
        };
        let counts = dispatcher.scale_to(current);
        let (waits, stopping) = ramp_step(shared, bridge, plan, dispatched, &counts);
        let acks = async {
            let mut failed = false;
            for w in waits {
                failed |= matches!(w.await, Ok(false));
            }
            failed
        };
        let failed = tokio::select! {
            failed = acks => failed,
            m = rx.recv() => return Some(m.unwrap_or(Control::Quit)),
        };
        log_stopped(shared, stopping);
        if failed {
            // NOTE: in Locust an exception from a User's __init__ kills the spawning greenlet: the users spawned
            // so far keep running, the state stays "spawning" and neither "All users spawned" nor
            // spawning_complete follows.
            return None;
        }
        if matches!(shared.state(), State::Cleanup | State::Stopped) {
            return None; // a user stopped the test from its own greenlet
        }
        if current == users || dispatcher.total() < current {
            break;
        }
        let wait = Duration::from_secs_f64(interval).saturating_sub(t0.elapsed());
        shared.settle();
        tokio::select! {
            m = rx.recv() => return Some(m.unwrap_or(Control::Quit)),
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // A quit or stop that arrived while spawning (e.g. StopTest from a User's __init__) wins.
    if let Ok(m) = rx.try_recv() {
        return Some(m);
    }
    let alive = shared.user_classes_count();
    let shown: IndexMap<String, u64> = plan
        .classes
        .iter()
        .map(|c| (c.name.clone(), alive.get(&c.name).copied().unwrap_or(0)))
        .collect();
    log::info(
        "locust.runners",
        &format!(
            "All users spawned: {} ({} total users)",
            counts_json(&shown, true),
            shown.values().sum::<u64>()
        ),
    );
    let total = shared.user_count().max(shown.values().sum::<u64>());
    shared.set_target_user_classes_count(shown);
    // the state becomes running in the runner's own listener of this event (Shared::spawning_complete)
    fire(
        bridge,
        "spawning_complete",
        vec![("user_count".into(), Arg::Int(total as i64))],
    )
    .await;
    None
}

/// One step of a ramp: the spawn and stop commands that bring each class to its count in `counts` (returned
/// as the acknowledgements to wait for), with Locust's debug line.
fn ramp_step(
    shared: &Shared,
    bridge: &Bridge,
    plan: &Plan,
    dispatched: &mut IndexMap<String, u64>,
    counts: &[(String, u64)],
) -> (Vec<tokio::sync::oneshot::Receiver<bool>>, u64) {
    // NOTE: as in Locust, a ramp step tops a class up to its target from the users actually alive, so users
    // that stopped themselves (StopUser) are replaced while ramping (never after the ramp is complete).
    let alive = shared.user_classes_count();
    let mut spawn: IndexMap<String, u64> = IndexMap::new();
    let mut stop: IndexMap<String, u64> = IndexMap::new();
    for (class, n) in counts {
        let have = dispatched.get(class).copied().unwrap_or(0);
        let running = alive.get(class).copied().unwrap_or(0).min(have);
        if *n > running {
            spawn.insert(class.clone(), n - running);
        } else if *n < have {
            stop.insert(class.clone(), have - n);
        }
        dispatched.insert(class.clone(), *n);
    }
    if log::enabled(log::Level::Debug) {
        let step: IndexMap<String, u64> = counts.iter().cloned().collect();
        log::log(
            log::Level::Debug,
            "locust.runners",
            &format!(
                "Ramping to {} ({} total users)",
                counts_json(&step, true),
                step.values().sum::<u64>()
            ),
        );
        let running: IndexMap<String, u64> = plan
            .classes
            .iter()
            .map(|c| (c.name.clone(), alive.get(&c.name).copied().unwrap_or(0)))
            .collect();
        log::log(
            log::Level::Debug,
            "locust.runners",
            &format!(
                "Spawning additional {} ({} already running)...",
                counts_json(&spawn, false),
                counts_json(&running, false)
            ),
        );
    }
    // spawns go first: stopping can block for the stop timeout (Locust's order)
    let mut waits: Vec<_> = spawn
        .into_iter()
        .map(|(class, count)| bridge.command(Command::Spawn { class, count }))
        .collect();
    let stopping = stop.values().sum();
    waits.extend(stop.into_iter().map(|(class, count)| {
        bridge.command(Command::Stop {
            users: StopWhat::Class { class, count },
            timeout: shared.stop_timeout(),
        })
    }));
    (waits, stopping)
}

/// Locust's DEBUG line at the end of each `stop_users()` (every ramp step, and the stop of all users).
pub(crate) fn log_stopped(shared: &Shared, stopped: u64) {
    if log::enabled(log::Level::Debug) {
        log::log(
            log::Level::Debug,
            "locust.runners",
            &format!(
                "{stopped} users have been stopped, {} still running",
                shared.user_count()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::IssuedCommand;

    /// A hub stand-in: acknowledges every command, records (what, the runner state at that moment), and applies
    /// spawns/stops to the alive counts the way the shim does. The runner's own `spawning_complete` listener is
    /// played by calling `Shared::spawning_complete` when that event fires.
    async fn fake_hub(
        shared: Arc<Shared>,
        bridge: Arc<Bridge>,
        log: Arc<Mutex<Vec<(String, State)>>>,
    ) {
        loop {
            tokio::time::sleep(Duration::from_millis(2)).await;
            for IssuedCommand { id, command } in bridge.drain().commands {
                let state = shared.state();
                let what = match &command {
                    Command::Spawn { class, count } => {
                        for _ in 0..*count {
                            shared.user_started(class);
                        }
                        format!("spawn {class} {count}")
                    }
                    Command::Stop { users, .. } => {
                        let (class, count) = match users {
                            StopWhat::All => ("", u64::MAX),
                            StopWhat::Class { class, count } => (class.as_str(), *count),
                        };
                        let classes: Vec<String> =
                            shared.user_classes_count().keys().cloned().collect();
                        for c in classes.iter().filter(|c| class.is_empty() || *c == class) {
                            let n = count.min(shared.user_classes_count()[c]);
                            for _ in 0..n {
                                shared.user_stopped(c);
                            }
                        }
                        format!("stop {class}")
                    }
                    Command::Fire { event, .. } => {
                        if event == "spawning_complete" {
                            shared.spawning_complete();
                        }
                        event.clone()
                    }
                    Command::Web { action, .. } => format!("web {action}"),
                    Command::WebRequest(r) => format!("web request {}", r.path),
                    Command::Dist { kind, .. } => format!("dist {kind}"),
                    Command::Own { kind, .. } => format!("own {kind}"),
                    Command::Quit => "quit".into(),
                };
                log.lock().push((what.clone(), state));
                bridge.ack(id, true);
                if what == "quit" {
                    return;
                }
            }
        }
    }

    fn plan(run_time: Option<u64>) -> Plan {
        Plan {
            classes: vec![UserClassSpec {
                name: "U".into(),
                weight: 1.0,
                fixed_count: 0,
            }],
            run_time,
            reset_stats: false,
            headless: true,
            autoquit: None,
        }
    }

    #[tokio::test]
    async fn a_run_goes_through_locusts_states_and_events_in_order() {
        let (shared, bridge, runner) = spawn_runner(plan(None));
        let log = Arc::new(Mutex::new(Vec::new()));
        let hub = tokio::spawn(fake_hub(shared.clone(), bridge.clone(), log.clone()));
        shared.send(Control::Start {
            users: 2,
            spawn_rate: 100.0,
            classes: None,
        });
        while shared.state() != State::Running {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(shared.target_user_count(), 2);
        assert_eq!(shared.target_user_classes_count()["U"], 2);
        shared.send(Control::Quit);
        runner.await.unwrap();
        hub.await.unwrap();
        let log = log.lock().clone();
        let want: Vec<(String, State)> = vec![
            ("test_start".into(), State::Ready),
            ("spawn U 2".into(), State::Spawning),
            ("spawning_complete".into(), State::Spawning),
            ("test_stopping".into(), State::Running),
            ("stop ".into(), State::Cleanup),
            ("test_stop".into(), State::Stopped),
            ("quit".into(), State::Stopped),
        ];
        assert_eq!(log, want);
        assert_eq!(shared.final_user_classes_count()["U"], 2);
    }

    /// The runner task on a fresh `Shared` and bridge (no hub yet: tests add `fake_hub` or `started`).
    fn spawn_runner(plan: Plan) -> (Arc<Shared>, Arc<Bridge>, tokio::task::JoinHandle<()>) {
        let (shared, rx) = Shared::new(0.0);
        let bridge = Arc::new(Bridge::new().unwrap());
        let runner = tokio::spawn(run(
            shared.clone(),
            bridge.clone(),
            Arc::new(RequestStats::new()),
            plan,
            rx,
        ));
        (shared, bridge, runner)
    }

    /// Start 2 users and wait for the ramp; returns the log the fake hub keeps.
    async fn started(
        shared: &Arc<Shared>,
        bridge: &Arc<Bridge>,
    ) -> Arc<Mutex<Vec<(String, State)>>> {
        let log = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(fake_hub(shared.clone(), bridge.clone(), log.clone()));
        shared.send(Control::Start {
            users: 2,
            spawn_rate: 100.0,
            classes: None,
        });
        while shared.state() != State::Running {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        log
    }

    #[tokio::test]
    async fn a_class_setting_from_the_web_applies_to_the_next_test() {
        let (shared, bridge, runner) = spawn_runner(plan(None));
        shared.send(Control::UserClass {
            class: "U".into(),
            weight: None,
            fixed_count: Some(1),
        });
        let log = started(&shared, &bridge).await; // asks for 2 users
        assert_eq!(shared.target_user_classes_count()["U"], 1);
        shared.send(Control::Quit);
        runner.await.unwrap();
        assert!(log.lock().iter().any(|(w, _)| w == "spawn U 1"));
    }

    #[tokio::test]
    async fn an_interrupt_lets_the_hub_leave_before_the_users_stop() {
        let (shared, bridge, runner) = spawn_runner(plan(None));
        let log = started(&shared, &bridge).await;
        shared.send(Control::Interrupt { sigterm: false });
        while !log.lock().iter().any(|(w, _)| w == "quit") {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // the hub has left with the users running (the caller fires quitting now), then asks for the stop
        assert!(shared.users_left_running());
        assert_eq!(shared.state(), State::Running);
        assert_eq!(shared.user_count(), 2);
        // as the caller does: run the hub again until the runner has stopped the users
        tokio::spawn(fake_hub(shared.clone(), bridge.clone(), log.clone()));
        shared.send(Control::Quit);
        runner.await.unwrap();
        let events: Vec<String> = log.lock().iter().map(|(w, _)| w.clone()).collect();
        assert_eq!(
            events,
            [
                "test_start",
                "spawn U 2",
                "spawning_complete",
                "quit",
                "test_stopping",
                "stop ",
                "test_stop",
                "quit"
            ]
        );
    }

    #[tokio::test]
    async fn ctrl_c_during_a_shape_test_ends_the_shape_and_quits() {
        let (shared, bridge, runner) = spawn_runner(plan(None));
        shared.set_shape(ShapePhase::Running);
        let log = started(&shared, &bridge).await;
        shared.send(Control::Interrupt { sigterm: false });
        runner.await.unwrap();
        assert!(!shared.users_left_running());
        assert_eq!(shared.shape(), ShapePhase::Ended { logged: true });
        let events: Vec<String> = log.lock().iter().map(|(w, _)| w.clone()).collect();
        assert_eq!(events[3..], ["test_stopping", "stop ", "test_stop", "quit"]);
    }

    #[tokio::test]
    async fn sigterm_during_a_shape_test_is_an_interrupt_like_any_other() {
        let (shared, bridge, runner) = spawn_runner(plan(None));
        shared.set_shape(ShapePhase::Running);
        let log = started(&shared, &bridge).await;
        shared.send(Control::Interrupt { sigterm: true });
        while !log.lock().iter().any(|(w, _)| w == "quit") {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(shared.users_left_running());
        assert_eq!(shared.shape(), ShapePhase::Running);
        tokio::spawn(fake_hub(shared.clone(), bridge.clone(), log.clone()));
        shared.send(Control::Quit);
        runner.await.unwrap();
    }

    #[tokio::test]
    async fn a_stop_from_inside_a_user_is_not_repeated_by_the_runner() {
        let (shared, bridge, runner) = spawn_runner(plan(None));
        let log = Arc::new(Mutex::new(Vec::new()));
        let hub = tokio::spawn(fake_hub(shared.clone(), bridge.clone(), log.clone()));
        shared.send(Control::Start {
            users: 1,
            spawn_rate: 100.0,
            classes: None,
        });
        while shared.state() != State::Running {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // what the shim does in the only user's greenlet for runner.quit()
        assert!(shared.user_stop_begin());
        shared.enter_cleanup();
        shared.enter_stopped();
        shared.send(Control::Quit);
        runner.await.unwrap();
        hub.await.unwrap();
        let events: Vec<String> = log.lock().iter().map(|(w, _)| w.clone()).collect();
        assert_eq!(
            events,
            ["test_start", "spawn U 1", "spawning_complete", "quit"]
        );
        assert!(
            !shared.user_stop_begin(),
            "stopped: a second stop() does nothing"
        );
    }

    #[tokio::test]
    async fn the_run_time_limit_fires_while_a_spawn_is_still_in_progress() {
        // a hub that never acknowledges a spawn (a User __init__ that blocks): -t must still end the run
        let (shared, bridge, runner) = spawn_runner(plan(Some(1)));
        shared.send(Control::Start {
            users: 1,
            spawn_rate: 1.0,
            classes: None,
        });
        let t0 = Instant::now();
        let mut quit_seen = false;
        while t0.elapsed() < Duration::from_secs(5) && !quit_seen {
            tokio::time::sleep(Duration::from_millis(5)).await;
            for IssuedCommand { id, command } in bridge.drain().commands {
                match command {
                    Command::Spawn { .. } => {} // never acknowledged
                    Command::Quit => {
                        quit_seen = true;
                        bridge.ack(id, true);
                    }
                    _ => bridge.ack(id, true),
                }
            }
        }
        assert!(
            quit_seen,
            "the runner did not quit while a spawn was pending"
        );
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        runner.await.unwrap();
    }
}
