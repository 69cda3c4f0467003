//! The runner: one owner of the run state that decides when users start and stop (spawn rate, weights and
//! fixed_count through [`dispatch`], run time, stop timeout) and tells the hub through bridge commands.
//!
//! Runs as a tokio task. Everyone else (the CLI flow, signal handlers, Python's `runner.quit()`, later the
//! web UI and the distributed master) talks to it through [`Control`] messages, so a test can be started,
//! changed and stopped while it runs. Never touches Python.
pub mod dispatch;
pub mod monitor;
pub mod watchdog;

use crate::bridge::{Arg, Bridge, Command};
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
    /// Stop all users; the process keeps running (UI mode).
    Stop,
    /// Stop all users and end the run.
    Quit,
}

/// State readable from any thread: run state and the users alive per class.
pub struct Shared {
    state: Mutex<State>,
    alive: Mutex<IndexMap<String, u64>>,
    control: mpsc::UnboundedSender<Control>,
    quitting: AtomicBool,
    cpu_warned: AtomicBool,
    /// Users that ended with KeyboardInterrupt (the watchdog's interrupt, or a task's own).
    interrupted: std::sync::atomic::AtomicU64,
    pub stop_timeout: f64,
}

impl Shared {
    pub fn new(stop_timeout: f64) -> (Arc<Shared>, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            state: Mutex::new(State::Ready),
            alive: Mutex::new(IndexMap::new()),
            control: tx,
            quitting: AtomicBool::new(false),
            cpu_warned: AtomicBool::new(false),
            interrupted: std::sync::atomic::AtomicU64::new(0),
            stop_timeout,
        };
        (Arc::new(shared), rx)
    }

    pub fn state(&self) -> State {
        *self.state.lock()
    }

    fn set_state(&self, s: State) {
        *self.state.lock() = s;
    }

    pub fn user_count(&self) -> u64 {
        self.alive.lock().values().sum()
    }

    pub fn user_classes_count(&self) -> IndexMap<String, u64> {
        self.alive.lock().clone()
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

    pub fn send(&self, c: Control) {
        if matches!(c, Control::Quit) {
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
}

/// The runner task: serves [`Control`] messages until the run ends, then makes the hub leave its loop.
pub async fn run(
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    stats: Arc<RequestStats>,
    plan: Plan,
    mut rx: mpsc::UnboundedReceiver<Control>,
) {
    let mut dispatcher = Dispatcher::new(plan.classes.clone());
    let mut dispatched: IndexMap<String, u64> = IndexMap::new();
    let mut started = false;
    // The run-time limit is its own task, so it fires on time even while the runner waits for the hub.
    let mut limit: Option<tokio::task::JoinHandle<()>> = None;
    let mut next: Option<Control> = None;
    loop {
        let msg = match next.take() {
            Some(m) => m,
            None => rx.recv().await.unwrap_or(Control::Quit),
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
                if !started || matches!(shared.state(), State::Stopped) {
                    started = true;
                    stats.clear_all(log::now());
                    stats.clear_exceptions();
                    fire(&bridge, "test_start", vec![]).await;
                    if let Some(secs) = plan.run_time {
                        if let Some(old) = limit.take() {
                            old.abort();
                        }
                        limit = Some(tokio::spawn(run_time_limit(
                            shared.clone(),
                            secs,
                            plan.headless,
                        )));
                    }
                }
                next = ramp(
                    &shared,
                    &bridge,
                    &stats,
                    &plan,
                    &mut dispatcher,
                    &mut dispatched,
                    users,
                    spawn_rate,
                    &mut rx,
                )
                .await;
            }
            Control::Stop => {
                // NOTE: as in Locust, a stop does not cancel -t: a headless run still quits when it expires.
                stop_all(&shared, &bridge).await;
                dispatcher = Dispatcher::new(plan.classes.clone());
                dispatched.clear();
            }
            Control::Quit => {
                shared.quitting.store(true, Ordering::Relaxed);
                if started && !matches!(shared.state(), State::Stopped) {
                    stop_all(&shared, &bridge).await;
                }
                let _ = bridge.command(Command::Quit).await;
                return;
            }
        }
    }
}

/// `-t`: after `secs` seconds, quit (headless) or stop the test. Sent through [`Shared::send`] like any other
/// control, so the watchdog sees the run ending even when the hub never acknowledges anything again.
async fn run_time_limit(shared: Arc<Shared>, secs: u64, headless: bool) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
    if headless {
        log::info("locust.main", "--run-time limit reached, shutting down");
        shared.send(Control::Quit);
    } else {
        log::info("locust.main", "--run-time limit reached, stopping test");
        shared.send(Control::Stop);
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

async fn stop_all(shared: &Shared, bridge: &Bridge) {
    shared.set_state(State::Stopping);
    fire(bridge, "test_stopping", vec![]).await;
    let _ = bridge
        .command(Command::Stop {
            class: String::new(),
            count: u64::MAX,
            timeout: shared.stop_timeout,
        })
        .await;
    shared.set_state(State::Stopped);
    if shared.cpu_warned() {
        log::warning(
            "locust.runners",
            "CPU usage was too high at some point during the test! See https://docs.locust.io/en/stable/running-distributed.html for how to distribute the load over multiple CPU cores or machines",
        );
    }
    fire(bridge, "test_stop", vec![]).await;
}

fn counts_json(counts: &IndexMap<String, u64>) -> String {
    let mut keys: Vec<&String> = counts.keys().collect();
    keys.sort();
    let body: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{}: {}",
                serde_json::Value::String((*k).clone()),
                counts[*k]
            )
        })
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// Ramp from the dispatched population to `users` at `rate`. Returns a control message that interrupted it.
#[allow(clippy::too_many_arguments)]
async fn ramp(
    shared: &Shared,
    bridge: &Bridge,
    stats: &RequestStats,
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
        // NOTE: as in Locust, a ramp step tops a class up to its target from the users actually alive, so users
        // that stopped themselves (StopUser) are replaced while ramping (never after the ramp is complete).
        let alive = shared.user_classes_count();
        let mut waits = Vec::new();
        for (class, n) in &counts {
            let have = dispatched.get(class).copied().unwrap_or(0);
            let running = alive.get(class).copied().unwrap_or(0).min(have);
            if *n > running {
                waits.push(bridge.command(Command::Spawn {
                    class: class.clone(),
                    count: n - running,
                }));
            } else if *n < have {
                waits.push(bridge.command(Command::Stop {
                    class: class.clone(),
                    count: have - n,
                    timeout: shared.stop_timeout,
                }));
            }
            dispatched.insert(class.clone(), *n);
        }
        let mut failed = false;
        for w in waits {
            failed |= matches!(w.await, Ok(false));
        }
        if failed {
            // NOTE: in Locust an exception from a User's __init__ kills the spawning greenlet: the users spawned
            // so far keep running, the state stays "spawning" and neither "All users spawned" nor
            // spawning_complete follows.
            return None;
        }
        if current == users || dispatcher.total() < current {
            break;
        }
        let wait = Duration::from_secs_f64(interval).saturating_sub(t0.elapsed());
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
            counts_json(&shown),
            shown.values().sum::<u64>()
        ),
    );
    shared.set_state(State::Running);
    let total = shared.user_count().max(shown.values().sum::<u64>());
    fire(
        bridge,
        "spawning_complete",
        vec![("user_count".into(), Arg::Int(total as i64))],
    )
    .await;
    if plan.reset_stats {
        log::info("locust.runners", "Resetting stats\n");
        stats.reset_all(log::now());
    }
    None
}
