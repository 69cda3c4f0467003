//! The open workload model (issue 31): iterations start at an intended arrival rate, on idle users, whatever
//! earlier iterations take; when no user is idle a new one is started, up to a maximum; when the maximum are busy
//! the arrival is counted as dropped, never delayed.
//!
//! - [`schedule`]: the rate over time and the intended instant of every arrival (pure maths).
//! - [`pool`]: which user starts an arrival (idle, owed to a starting user, a new user, or dropped).
//! - [`mod@tally`]: the accounting every output reads.
//! - [`trace`]: `--arrival-trace` files (a schedule of recorded times; each row's fields go to its iteration,
//!   which Python reads through [`arrival_row`] as `self.arrival`).
//! - here: the arrival clock (a thread of its own, not a tokio task: tokio's timers have a 1 ms grain, the
//!   clock keeps arrivals to their instants with the kernel's high-resolution timers), the calls the users make
//!   from Python (`_rlocust.open_*`), and the steps a runner takes (start, change, stop).
//!
//! An iteration is one run of a task that is a function (as `-i/--iterations` counts them): before each, the
//! user waits for an arrival (idle); `wait_time` is not used between arrivals (the schedule is the pacing).
//! Who calls it: `runner::run` (a local test), `distributed::worker` (a worker's share), `py` (the users' calls), the
//! outputs ([`snapshot`]). Never touches Python; the users are started with the bridge's `Spawn` command and
//! woken with its `wake`, like users whose waits are over.
//!
//! Statics: the workload running in this process (`CURRENT`, set by a start and cleared by a stop) and the arrival
//! the hub thread started last (`STARTED`), because the users reach them through `_rlocust.open_*` calls from Python
//! that carry no run context. The run's own plan (the web form's default) is the run context's
//! (`runner::Context::default_plan`), and readers take the accounting from the context's readings.
pub mod config;
pub mod pool;
pub mod schedule;
pub mod tally;
pub mod trace;

use crate::bridge::{Bridge, Command};
use crate::log;
use crate::runner::dispatch::UserClassSpec;
use parking_lot::{Condvar, Mutex, RwLock};
use pool::{Assign, Pool};
use schedule::{Schedule, Share};
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use tally::{Snapshot, tally};

/// What an open test asks for (the command line, the web form, an `ArrivalRateShape`, or a master's share).
#[derive(Clone, Debug, PartialEq)]
pub struct OpenPlan {
    pub schedule: Schedule,
    pub max_users: u64,
    /// Users started before the first arrival (k6's pre-allocated VUs).
    pub initial_users: u64,
}

/// What one process runs of an [`OpenPlan`]: its share of the arrivals, from where on the schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub plan: OpenPlan,
    pub share: Share,
    /// Seconds of the schedule already past (a worker that joins a running test).
    pub elapsed: f64,
}

/// The clock's view of the schedule.
struct Clock {
    schedule: Schedule,
    share: Share,
    origin: Instant,
    /// The next arrival of the whole sequence this process starts.
    next: u64,
    stop: bool,
    ended: bool,
}

struct Open {
    pool: Mutex<Pool>,
    bridge: Arc<Bridge>,
    clock: Mutex<Clock>,
    wake_clock: Condvar,
    /// The clock found the schedule's end.
    ended: tokio::sync::Notify,
    warned: std::sync::atomic::AtomicBool,
}

static CURRENT: RwLock<Option<Arc<Open>>> = RwLock::new(None);

fn current() -> Option<Arc<Open>> {
    CURRENT.read().clone()
}

/// Whether an open workload runs in this process now.
pub fn running() -> bool {
    CURRENT.read().is_some()
}

fn micros_since(intended: Instant) -> u64 {
    Instant::now()
        .saturating_duration_since(intended)
        .as_micros()
        .min(u64::MAX as u128) as u64
}

// ---- the users' calls (hub thread, from Python) ---------------------------------------------------------------

/// The number of the arrival whose iteration the hub thread started last (`u64::MAX`: none), read by
/// [`arrival_row`] right after `acquire`/`begin` (all of Python runs on the hub thread, one call after the other).
static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

fn started_arrival(k: Option<u64>) {
    STARTED.store(k.unwrap_or(u64::MAX), std::sync::atomic::Ordering::Relaxed);
}

/// The fields of the arrival the hub thread started last (a trace's row as JSON text); `None` without a trace.
pub fn arrival_row() -> Option<String> {
    let k = STARTED.load(std::sync::atomic::Ordering::Relaxed);
    if k == u64::MAX {
        return None;
    }
    let open = current()?;
    let c = open.clock.lock();
    c.schedule.row(k).map(str::to_owned)
}

/// A user comes to the start of a task (`first`: its first). Returns 0 when it starts at once (an arrival was owed
/// to it, or no open workload runs), else the ticket it waits on, idle, until the clock wakes it.
pub fn acquire(first: bool) -> u64 {
    let Some(open) = current() else {
        started_arrival(None);
        return 0;
    };
    let ticket = open.bridge.next_ticket();
    let owed = open.pool.lock().acquire(first, ticket);
    match owed {
        Some((intended, k)) => {
            started_arrival(Some(k));
            tally().started(micros_since(intended), crate::stats::unix_now());
            0
        }
        None => {
            started_arrival(None);
            ticket
        }
    }
}

/// The user woken on `ticket` starts its iteration now.
pub fn begin(ticket: u64) {
    let due = current().and_then(|open| open.pool.lock().begin(ticket));
    started_arrival(due.map(|(_, k)| k));
    if let Some((intended, _)) = due {
        tally().started(micros_since(intended), crate::stats::unix_now());
    }
}

/// The user waiting on `ticket` went away before its iteration started.
pub fn cancel(ticket: u64) {
    if let Some(open) = current() {
        open.pool.lock().cancel(ticket);
    }
}

/// A user of the open workload ended (`seen`: it had come to a task).
pub fn leave(seen: bool) {
    if let Some(open) = current() {
        open.pool.lock().leave(seen);
    }
}

// ---- the arrival clock --------------------------------------------------------------------------------------

/// The longest the first arrival waits for the initial users to be ready.
const INITIAL_WAIT: Duration = Duration::from_secs(30);

/// Arrivals handled in one pass at most (a clock far behind catches up in slices, so the users it wakes run
/// between them).
const BATCH: usize = 4096;

fn clock_thread(open: Arc<Open>) {
    // SAFETY: prctl on the calling thread; a timer slack of 1 ns makes its sleeps end at their instants (the
    // default 50 µs would be half the spacing of arrivals at 10,000/s).
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
    let mut due: Vec<pool::Due> = Vec::with_capacity(BATCH);
    loop {
        {
            let mut c = open.clock.lock();
            if c.stop {
                return;
            }
            let next = c.schedule.time_of(c.next);
            let Some(at) = next else {
                if !c.ended {
                    c.ended = true;
                    open.ended.notify_one();
                }
                open.wake_clock.wait(&mut c);
                continue;
            };
            let at = c.origin + Duration::from_secs_f64(at);
            let now = Instant::now();
            if at > now {
                open.wake_clock.wait_until(&mut c, at);
                continue;
            }
            // every arrival due by now, in order
            let step = c.share.count.max(1);
            while due.len() < BATCH {
                match c.schedule.time_of(c.next) {
                    Some(t) => {
                        let at = c.origin + Duration::from_secs_f64(t);
                        if at > now {
                            break;
                        }
                        due.push((at, c.next));
                        c.next += step;
                    }
                    None => break,
                }
            }
        }
        let mut wakes = Vec::new();
        let mut spawns: Vec<(String, u64)> = Vec::new();
        let mut dropped = 0u64;
        {
            let mut pool = open.pool.lock();
            for &d in &due {
                match pool.arrive(d) {
                    Assign::Wake(ticket) => wakes.push(ticket),
                    Assign::Owed => {}
                    Assign::Spawn(class) => match spawns.iter_mut().find(|(c, _)| *c == class) {
                        Some((_, n)) => *n += 1,
                        None => spawns.push((class, 1)),
                    },
                    Assign::Dropped => dropped += 1,
                }
            }
            if dropped > 0 && !open.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                log::warning(
                    "locust.runners",
                    &format!(
                        "Iterations are being dropped: all {} users are busy (the most --arrival-max-users allows); they are counted as dropped, never delayed",
                        pool.max_users()
                    ),
                );
            }
        }
        tally().arrivals(due.len() as u64, dropped, crate::stats::unix_now());
        if !wakes.is_empty() {
            open.bridge.wake(wakes);
        }
        // the clock's own error: how late these arrivals were handed out
        let handed = Instant::now();
        let lags: Vec<u64> = due
            .iter()
            .map(|(at, _)| handed.saturating_duration_since(*at).as_micros() as u64)
            .collect();
        tally().dispatched(&lags);
        for (class, count) in spawns {
            drop(open.bridge.command(Command::Spawn { class, count }));
        }
        due.clear();
    }
}

// ---- a runner's steps -----------------------------------------------------------------------------------------

/// Start the open workload `a` with these user classes: its users before the first arrival, then the clock.
/// Returns the commands that start the initial users (the caller waits for them, watching its controls), and
/// the initial counts per class. The users learn of the open model first (`_open_mode`; `test_start` ends it).
pub async fn start(
    bridge: &Arc<Bridge>,
    classes: Vec<UserClassSpec>,
    a: Assignment,
) -> Vec<(String, u64)> {
    let _ = bridge
        .command(Command::Own {
            kind: "_open_mode",
            data: crate::msgpack::Value::Bool(true),
            node_id: String::new(),
        })
        .await;
    let mut pool = Pool::new(classes, a.plan.max_users);
    let initial = pool.initial(a.plan.initial_users);
    // (the origin is set again once the initial users are ready, below)
    let origin = Instant::now() - Duration::from_secs_f64(a.elapsed.max(0.0));
    let due = past(&a);
    let open = Arc::new(Open {
        pool: Mutex::new(pool),
        bridge: bridge.clone(),
        clock: Mutex::new(Clock {
            next: a.share.first_from(due),
            schedule: a.plan.schedule.clone(),
            share: a.share,
            origin,
            stop: false,
            ended: false,
        }),
        wake_clock: Condvar::new(),
        ended: tokio::sync::Notify::new(),
        warned: std::sync::atomic::AtomicBool::new(false),
    });
    tally().begin(
        &a.plan.schedule,
        a.share.fraction(),
        crate::stats::unix_now(),
    );
    tally().set_rate(&a.plan.schedule, origin, a.share.fraction());
    if let Some(old) = CURRENT.write().replace(open.clone()) {
        stop_clock(&old);
    }
    let waits: Vec<_> = initial
        .iter()
        .map(|(class, count)| {
            bridge.command(Command::Spawn {
                class: class.clone(),
                count: *count,
            })
        })
        .collect();
    for w in waits {
        let _ = w.await;
    }
    // The first arrival comes once the initial users wait for arrivals (their on_start done), as k6 initialises
    // its pre-allocated VUs before the first iteration: arrivals due while they start would all begin late. A
    // user whose start never ends (on_start blocks) holds the clock back by INITIAL_WAIT at most.
    let ready_by = Instant::now() + INITIAL_WAIT;
    while open.pool.lock().starting() > 0 && Instant::now() < ready_by {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    {
        let origin = match a.plan.schedule.trace.as_ref().and_then(|t| t.zero_unix) {
            // a master's trace: every worker's time 0 is the master's (Unix time), whenever its users were ready (rows
            // due before then start at once, late, their lag counted)
            Some(zero) => {
                let ahead = zero - crate::stats::unix_now();
                let now = Instant::now();
                if ahead >= 0.0 {
                    now + Duration::from_secs_f64(ahead)
                } else {
                    now.checked_sub(Duration::from_secs_f64(-ahead))
                        .unwrap_or(now)
                }
            }
            None => Instant::now() - Duration::from_secs_f64(a.elapsed.max(0.0)),
        };
        open.clock.lock().origin = origin;
        tally().set_rate(&a.plan.schedule, origin, a.share.fraction());
    }
    let spawned = open.clone();
    if let Err(e) = std::thread::Builder::new()
        .name("rlocust-arrivals".into())
        .spawn(move || clock_thread(spawned))
    {
        log::log(
            log::Level::Error,
            "locust.runners",
            &format!("Cannot start the arrival clock: {e}"),
        );
    }
    initial
}

/// Arrivals of the whole sequence already past when `a` begins: those due by its elapsed time; for a trace only
/// the rows strictly before it (a trace's first rows are at 0, and none is lost).
fn past(a: &Assignment) -> u64 {
    let elapsed = a.elapsed.max(0.0);
    match &a.plan.schedule.trace {
        Some(t) => t.times.partition_point(|&x| x < elapsed) as u64,
        None => a.plan.schedule.due(elapsed),
    }
}

/// Change the running workload (an edit from the web UI, a worker's new share): the schedule restarts at
/// `a.elapsed` with the new share; the maximum applies to new users.
pub fn update(a: &Assignment) {
    let Some(open) = current() else {
        return;
    };
    open.pool.lock().set_max_users(a.plan.max_users);
    let origin = Instant::now() - Duration::from_secs_f64(a.elapsed.max(0.0));
    let mut c = open.clock.lock();
    let due = past(a);
    c.schedule = a.plan.schedule.clone();
    c.share = a.share;
    c.origin = origin;
    c.next = a.share.first_from(due);
    c.ended = false;
    drop(c);
    open.wake_clock.notify_one();
    tally().set_rate(&a.plan.schedule, origin, a.share.fraction());
}

fn stop_clock(open: &Open) {
    open.clock.lock().stop = true;
    open.wake_clock.notify_one();
}

/// Stop the arrivals (a stop or quit begins): no arrival after this; the users stay until the runner stops
/// them. True when an open workload was running.
pub fn halt() -> bool {
    let Some(open) = CURRENT.write().take() else {
        return false;
    };
    // the gauges as the arrivals stop (what the run's last outputs show): the schedule's rate then, not the 0 after
    let rate = tally().intended_rate_now();
    stop_clock(&open);
    let last = {
        let pool = open.pool.lock();
        tally::Gauges {
            busy: pool.busy(),
            users: pool.users(),
            max_users: pool.max_users(),
            intended_rate: rate,
        }
    };
    tally().end(Some(last));
    true
}

/// Wait until the schedule has ended (never, for a constant rate; for a trace, once its last rows' iterations
/// have ended too); samples the history every 5 s meanwhile.
pub async fn schedule_ended() {
    let Some(open) = current() else {
        return std::future::pending().await;
    };
    let mut every = tokio::time::interval(Duration::from_secs_f64(
        crate::stats::history::INTERVAL_SECS,
    ));
    every.tick().await;
    loop {
        tokio::select! {
            _ = open.ended.notified() => break,
            _ = every.tick() => tally().sample(gauges(), crate::stats::unix_now()),
        }
    }
    if open.clock.lock().schedule.trace.is_none() {
        return;
    }
    loop {
        {
            let pool = open.pool.lock();
            if pool.busy() == 0 && pool.pending() == 0 {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
            _ = every.tick() => tally().sample(gauges(), crate::stats::unix_now()),
        }
    }
}

/// This process's gauges now: its pool's (local, worker) or its workers' (master).
pub fn gauges() -> tally::Gauges {
    match current() {
        Some(open) => {
            let pool = open.pool.lock();
            tally::Gauges {
                busy: pool.busy(),
                users: pool.users(),
                max_users: pool.max_users(),
                intended_rate: tally().intended_rate_now(),
            }
        }
        None => {
            // a master's workers' (or, once stopped, those of the moment the arrivals stopped)
            let mut g = tally().worker_gauges();
            if let Some(rate) = tally().scheduled_rate() {
                g.intended_rate = rate;
            }
            g
        }
    }
}

/// What every output shows: the tally with this moment's gauges.
pub fn snapshot() -> Snapshot {
    let g = gauges();
    let mut s = tally().snapshot(g, 0, crate::stats::unix_now());
    s.pending = s.intended.saturating_sub(s.started + s.dropped);
    s
}

/// The log line a test's start writes.
pub fn describe(plan: &OpenPlan) -> String {
    format!(
        "Starting iterations at {} (at most {} users{})",
        plan.schedule.describe(),
        plan.max_users,
        if plan.initial_users > 0 {
            format!(", {} started first", plan.initial_users)
        } else {
            String::new()
        }
    )
}
