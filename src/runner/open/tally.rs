//! The accounting of an open workload, read by every output: arrivals intended (their instants have come),
//! iterations started, arrivals dropped (the maximum of users were busy), how late iterations started after their
//! intended instants (the scheduling error, an HDR histogram in µs), per-second counts for the current rates, and
//! a bounded history for the charts. Gauges (users busy, users, the maximum) are read from the pool when the
//! snapshot is taken (`runner::open::snapshot`); a master keeps its workers' last gauges here.
//!
//! `active` says whether an open workload ran since the statistics were last cleared: a closed-model run never
//! sets it, so no output changes for it (the console, CSV, JSON and web documents stay Locust's, byte for byte).
//!
//! Who calls it: `runner::open` (the arrival clock, the users' start of an iteration), `distributed` (a worker's report
//! deltas, a master's merge), the outputs through [`Snapshot`]. One short lock per event; no I/O, no Python.
//!
//! Why a static ([`tally`]): its writers are the arrival clock's thread, the users' calls from Python
//! (`_rlocust.open_*`) and the distributed loops, none of which holds the run context; it is cleared when the
//! statistics are (`clear`). Readers get its [`Snapshot`] in `runner::readings::Readings`, from the run context.
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::LazyLock;
use std::time::Instant;

/// At most this many history points (merged in pairs when full, as the stats history is).
pub const MAX_POINTS: usize = 360;
/// Seconds of per-second counts kept for the current rates.
const SECONDS_KEPT: usize = 16;
/// The current rates are averaged over this many whole seconds before the current one.
pub const CURRENT_WINDOW: u64 = 5;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("a valid histogram configuration")
}

/// The counts of one whole (unix) second.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Second {
    at: i64,
    intended: u64,
    started: u64,
    dropped: u64,
}

/// One point of the history: the state every 5 s.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Unix seconds.
    pub time: i64,
    /// Iterations per second: the schedule's, and measured over the last seconds.
    pub intended_rate: f64,
    pub started_rate: f64,
    pub dropped_rate: f64,
    pub busy: u64,
    pub users: u64,
    pub samples: u32,
}

/// Gauges of one process (and, at a master, of each worker).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gauges {
    pub busy: u64,
    pub users: u64,
    pub max_users: u64,
    /// The schedule's rate for this process now.
    pub intended_rate: f64,
}

/// What a worker sends with each report: counts since its last report, and its gauges now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delta {
    pub intended: u64,
    pub started: u64,
    pub dropped: u64,
    /// `(µs, count)` of the scheduling errors since the last report.
    pub lag_us: Vec<(u64, u64)>,
    pub gauges: Gauges,
}

struct Inner {
    active: bool,
    /// What the schedule is (for the summary and the UI), and since when (unix seconds).
    schedule: String,
    started_at: f64,
    intended: u64,
    started: u64,
    dropped: u64,
    lag: Histogram<u64>,
    /// How late the arrival clock handed arrivals out (this process's clock only; µs).
    clock: Histogram<u64>,
    /// Since the last worker report.
    reported: (u64, u64, u64),
    lag_unreported: Histogram<u64>,
    seconds: VecDeque<Second>,
    history: Vec<Point>,
    /// A master's workers' last gauges.
    workers: HashMap<String, Gauges>,
    /// The schedule's rate for this process and when it was set (a master sets its whole rate).
    rate: Option<(super::schedule::Schedule, Instant, f64)>,
    /// This process's gauges when its workload stopped (what the final outputs show).
    last: Gauges,
}

pub struct Tally {
    inner: Mutex<Inner>,
}

/// Everything the outputs show, at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub active: bool,
    pub schedule: String,
    pub intended: u64,
    pub started: u64,
    pub dropped: u64,
    /// Arrivals due but not started yet (owed to starting users, or woken and about to run).
    pub pending: u64,
    pub intended_rate: f64,
    pub current_intended_rate: f64,
    pub current_started_rate: f64,
    pub current_dropped_rate: f64,
    /// Iterations started per second since the start.
    pub average_started_rate: f64,
    pub gauges: Gauges,
    /// Scheduling error percentiles in ms: p50, p90, p99, p99.9, max, and how many were measured.
    pub lag_ms: LagPercentiles,
    /// How late this process's arrival clock handed the arrivals to users (wakes sent, users started or dropped):
    /// the clock's own error, without the Python thread's delay in resuming the users (`lag_ms` has both).
    pub clock_lag_ms: LagPercentiles,
    /// The start lags as `(lowest µs of a bucket, count)`, ascending (what a window subtracts).
    pub lag_us: Vec<(u64, u64)>,
    pub history: Vec<Point>,
    pub elapsed: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LagPercentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Snapshot {
    /// What happened between `earlier` and this snapshot: arrivals intended, started and dropped in the window,
    /// the window's start lags, and its average started rate; the gauges and current rates are this snapshot's.
    /// A tally cleared in between (fewer arrivals than before) gives this snapshot whole.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        if earlier.intended > self.intended || earlier.started > self.started || !earlier.active {
            return self.clone();
        }
        let lag_us = crate::stats::bucket_difference(&self.lag_us, &earlier.lag_us);
        let length = (self.elapsed - earlier.elapsed).max(0.0);
        let started = self.started - earlier.started;
        Snapshot {
            intended: self.intended - earlier.intended,
            started,
            dropped: self.dropped.saturating_sub(earlier.dropped),
            average_started_rate: if length > 0.0 {
                started as f64 / length
            } else {
                0.0
            },
            lag_ms: percentiles_of(&lag_us),
            lag_us,
            elapsed: length,
            ..self.clone()
        }
    }

    /// dropped / intended (0 before any arrival).
    pub fn dropped_ratio(&self) -> f64 {
        if self.intended == 0 {
            0.0
        } else {
            self.dropped as f64 / self.intended as f64
        }
    }
}

/// An empty tally (no open workload has run).
fn empty() -> Tally {
    Tally {
        inner: Mutex::new(Inner {
            active: false,
            schedule: String::new(),
            started_at: 0.0,
            intended: 0,
            started: 0,
            dropped: 0,
            lag: histogram(),
            clock: histogram(),
            reported: (0, 0, 0),
            lag_unreported: histogram(),
            seconds: VecDeque::new(),
            history: Vec::new(),
            workers: HashMap::new(),
            rate: None,
            last: Gauges::default(),
        }),
    }
}

static TALLY: LazyLock<Tally> = LazyLock::new(empty);

/// The process's one tally.
pub fn tally() -> &'static Tally {
    &TALLY
}

fn second_of(now: f64) -> i64 {
    now.floor() as i64
}

impl Inner {
    fn second(&mut self, now: f64) -> &mut Second {
        let at = second_of(now);
        if self.seconds.back().is_none_or(|s| s.at < at) {
            self.seconds.push_back(Second {
                at,
                ..Second::default()
            });
            while self.seconds.len() > SECONDS_KEPT {
                self.seconds.pop_front();
            }
        }
        self.seconds.back_mut().expect("pushed above")
    }

    /// Per-second averages of (intended, started, dropped) over the whole seconds before `now`'s.
    fn current(&self, now: f64) -> (f64, f64, f64) {
        let this = second_of(now);
        let first = (this - CURRENT_WINDOW as i64).max(second_of(self.started_at));
        let span = (this - first).max(1) as f64;
        let mut sums = (0u64, 0u64, 0u64);
        for s in self.seconds.iter().filter(|s| s.at >= first && s.at < this) {
            sums.0 += s.intended;
            sums.1 += s.started;
            sums.2 += s.dropped;
        }
        (
            sums.0 as f64 / span,
            sums.1 as f64 / span,
            sums.2 as f64 / span,
        )
    }
}

impl Tally {
    /// A new open workload starts (a test's start; the counts restart with the statistics' clear).
    pub fn begin(&self, schedule: &super::schedule::Schedule, fraction: f64, now: f64) {
        let mut g = self.inner.lock();
        if !g.active {
            g.started_at = now;
            g.history.push(Point {
                time: now.trunc() as i64,
                intended_rate: 0.0,
                started_rate: 0.0,
                dropped_rate: 0.0,
                busy: 0,
                users: 0,
                samples: 1,
            });
        }
        g.active = true;
        g.schedule = schedule.describe();
        g.rate = Some((schedule.clone(), Instant::now(), fraction));
    }

    /// The schedule changed (an edit, or a worker's share of it).
    pub fn set_rate(&self, schedule: &super::schedule::Schedule, origin: Instant, fraction: f64) {
        let mut g = self.inner.lock();
        g.schedule = schedule.describe();
        g.rate = Some((schedule.clone(), origin, fraction));
    }

    /// The workload stopped: no rate is intended any more (the counts, and the gauges `last` of that moment with the
    /// rate it had, stay for the reports).
    pub fn end(&self, last: Option<Gauges>) {
        let mut g = self.inner.lock();
        g.rate = None;
        if let Some(last) = last {
            g.last = last;
        }
    }

    /// Forget everything (the statistics were cleared for a new test, or reset).
    pub fn clear(&self, keep_active: bool, now: f64) {
        let mut g = self.inner.lock();
        let active = keep_active && g.active;
        g.intended = 0;
        g.started = 0;
        g.dropped = 0;
        g.lag.reset();
        g.clock.reset();
        g.lag_unreported.reset();
        g.reported = (0, 0, 0);
        if !keep_active {
            g.workers.clear();
            g.last = Gauges::default();
        }
        g.seconds.clear();
        g.history.clear();
        g.started_at = now;
        g.active = active;
        if active {
            g.history.push(Point {
                time: now.trunc() as i64,
                intended_rate: 0.0,
                started_rate: 0.0,
                dropped_rate: 0.0,
                busy: 0,
                users: 0,
                samples: 1,
            });
        }
    }

    pub fn active(&self) -> bool {
        self.inner.lock().active
    }

    /// The arrival clock handled `intended` arrivals, `dropped` of them dropped.
    pub fn arrivals(&self, intended: u64, dropped: u64, now: f64) {
        if intended == 0 && dropped == 0 {
            return;
        }
        let mut g = self.inner.lock();
        g.intended += intended;
        g.dropped += dropped;
        let s = g.second(now);
        s.intended += intended;
        s.dropped += dropped;
    }

    /// The clock handed out arrivals `lags_us` µs after their intended instants.
    pub fn dispatched(&self, lags_us: &[u64]) {
        let mut g = self.inner.lock();
        for &us in lags_us {
            g.clock.saturating_record(us.max(1));
        }
    }

    /// An iteration started `lag_us` µs after its intended instant.
    pub fn started(&self, lag_us: u64, now: f64) {
        let mut g = self.inner.lock();
        g.started += 1;
        g.lag.saturating_record(lag_us.max(1));
        g.lag_unreported.saturating_record(lag_us.max(1));
        g.second(now).started += 1;
    }

    /// A worker's report: take the counts since the last one (and its gauges, `gauges`).
    pub fn take_delta(&self, gauges: Gauges) -> Delta {
        let mut g = self.inner.lock();
        let (i, s, d) = g.reported;
        let delta = Delta {
            intended: g.intended - i,
            started: g.started - s,
            dropped: g.dropped - d,
            lag_us: g
                .lag_unreported
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
            gauges,
        };
        g.reported = (g.intended, g.started, g.dropped);
        g.lag_unreported.reset();
        delta
    }

    /// A master merges a worker's report.
    pub fn merge(&self, worker: &str, delta: &Delta, now: f64) {
        let mut g = self.inner.lock();
        g.active = true;
        g.intended += delta.intended;
        g.started += delta.started;
        g.dropped += delta.dropped;
        for &(us, n) in &delta.lag_us {
            g.lag.saturating_record_n(us.max(1), n);
        }
        // (a report covers 3 s: its counts go to the second it arrives in, which smooths the master's current
        // rates over the window)
        let s = g.second(now);
        s.intended += delta.intended;
        s.started += delta.started;
        s.dropped += delta.dropped;
        g.workers.insert(worker.to_owned(), delta.gauges);
    }

    /// A worker left (its gauges no longer count).
    pub fn forget_worker(&self, worker: &str) {
        self.inner.lock().workers.remove(worker);
    }

    /// The gauges when this process runs no pool: the sum of its workers' (a master), else those of when its
    /// workload stopped.
    pub fn worker_gauges(&self) -> Gauges {
        let g = self.inner.lock();
        if g.workers.is_empty() {
            return g.last;
        }
        let mut sum = Gauges::default();
        for w in g.workers.values() {
            sum.busy += w.busy;
            sum.users += w.users;
            sum.max_users += w.max_users;
            sum.intended_rate += w.intended_rate;
        }
        sum
    }

    /// The schedule's rate now for this process (0 when no workload runs).
    pub fn intended_rate_now(&self) -> f64 {
        self.scheduled_rate().unwrap_or(0.0)
    }

    /// The schedule's rate now, while a workload runs here.
    pub fn scheduled_rate(&self) -> Option<f64> {
        let g = self.inner.lock();
        g.rate
            .as_ref()
            .map(|(s, origin, fraction)| s.rate_at(origin.elapsed().as_secs_f64()) * fraction)
    }

    /// A history point (every 5 s while a workload runs), with the gauges of that moment.
    pub fn sample(&self, gauges: Gauges, now: f64) {
        let mut g = self.inner.lock();
        if !g.active {
            return;
        }
        let (_, started, dropped) = g.current(now);
        g.history.push(Point {
            time: now.trunc() as i64,
            intended_rate: gauges.intended_rate,
            started_rate: started,
            dropped_rate: dropped,
            busy: gauges.busy,
            users: gauges.users,
            samples: 1,
        });
        if g.history.len() > MAX_POINTS {
            let first = g.history[0].clone();
            let rest: Vec<Point> = g.history[1..]
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => merge(a, b),
                    [a] => a.clone(),
                    _ => unreachable!("chunks of 2"),
                })
                .collect();
            g.history = std::iter::once(first).chain(rest).collect();
        }
    }

    /// The counts and rates now, with `gauges` (the caller's: the pool's or the workers').
    pub fn snapshot(&self, gauges: Gauges, pending: u64, now: f64) -> Snapshot {
        let g = self.inner.lock();
        let (ci, cs, cd) = g.current(now);
        let elapsed = (now - g.started_at).max(0.0);
        let lag = percentiles(&g.lag);
        let clock_lag = percentiles(&g.clock);
        Snapshot {
            active: g.active,
            schedule: g.schedule.clone(),
            intended: g.intended,
            started: g.started,
            dropped: g.dropped,
            pending,
            intended_rate: gauges.intended_rate,
            current_intended_rate: ci,
            current_started_rate: cs,
            current_dropped_rate: cd,
            average_started_rate: if elapsed > 0.0 {
                g.started as f64 / elapsed
            } else {
                0.0
            },
            gauges,
            lag_ms: lag,
            clock_lag_ms: clock_lag,
            lag_us: crate::stats::sparse_buckets(&g.lag),
            history: g.history.clone(),
            elapsed,
        }
    }
}

/// p50, p90, p99, p99.9 and max in ms of a histogram of µs.
fn percentiles(h: &Histogram<u64>) -> LagPercentiles {
    if h.is_empty() {
        return LagPercentiles::default();
    }
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    LagPercentiles {
        count: h.len(),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        max: h.max() as f64 / 1000.0,
    }
}

/// The same figures of a sparse `(µs, count)` histogram.
fn percentiles_of(buckets: &[(u64, u64)]) -> LagPercentiles {
    let q =
        |p: f64| crate::stats::bucket_percentile(buckets, p).map_or(0.0, |us| us as f64 / 1000.0);
    LagPercentiles {
        count: buckets.iter().map(|b| b.1).sum(),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        max: q(1.0),
    }
}

fn merge(a: &Point, b: &Point) -> Point {
    let (wa, wb) = (f64::from(a.samples), f64::from(b.samples));
    let mean = |x: f64, y: f64| (x * wa + y * wb) / (wa + wb);
    Point {
        time: b.time,
        intended_rate: mean(a.intended_rate, b.intended_rate),
        started_rate: mean(a.started_rate, b.started_rate),
        dropped_rate: mean(a.dropped_rate, b.dropped_rate),
        busy: a.busy.max(b.busy),
        users: a.users.max(b.users),
        samples: a.samples + b.samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Tally {
        empty()
    }

    #[test]
    fn counts_rates_and_percentiles() {
        let t = fresh();
        assert!(!t.active());
        t.begin(
            &super::super::schedule::Schedule::constant(10.0),
            1.0,
            100.0,
        );
        assert!(t.active());
        for sec in 0..6 {
            let now = 100.0 + sec as f64 + 0.5;
            t.arrivals(10, 2, now);
            for i in 0..8 {
                t.started(100 + i * 100, now);
            }
        }
        let s = t.snapshot(Gauges::default(), 0, 106.2);
        assert_eq!((s.intended, s.started, s.dropped), (60, 48, 12));
        assert_eq!(s.current_intended_rate, 10.0);
        assert_eq!(s.current_started_rate, 8.0);
        assert_eq!(s.current_dropped_rate, 2.0);
        assert!((s.dropped_ratio() - 0.2).abs() < 1e-12);
        assert_eq!(s.lag_ms.count, 48);
        assert!((s.lag_ms.max - 0.8).abs() < 0.001, "{:?}", s.lag_ms);
        // early in a test the window is what has passed
        let s = t.snapshot(Gauges::default(), 0, 102.5);
        assert_eq!(s.current_started_rate, 8.0);
    }

    #[test]
    fn worker_deltas_merge_at_the_master() {
        let w = fresh();
        w.begin(&super::super::schedule::Schedule::constant(10.0), 0.5, 0.0);
        w.arrivals(5, 1, 1.0);
        w.started(2000, 1.0);
        w.started(3000, 1.0);
        let g = Gauges {
            busy: 2,
            users: 3,
            max_users: 5,
            intended_rate: 5.0,
        };
        let d = w.take_delta(g);
        assert_eq!((d.intended, d.started, d.dropped), (5, 2, 1));
        assert_eq!(d.lag_us.iter().map(|x| x.1).sum::<u64>(), 2);
        let again = w.take_delta(g);
        assert_eq!(
            (again.intended, again.started, again.lag_us.len()),
            (0, 0, 0)
        );
        let m = fresh();
        m.merge("a", &d, 2.0);
        m.merge("b", &d, 2.0);
        assert!(m.active());
        let s = m.snapshot(m.worker_gauges(), 0, 3.0);
        assert_eq!((s.intended, s.started, s.dropped), (10, 4, 2));
        assert_eq!(s.gauges.users, 6);
        assert_eq!(s.gauges.max_users, 10);
        m.forget_worker("a");
        assert_eq!(m.worker_gauges().users, 3);
    }

    #[test]
    fn the_history_stays_bounded() {
        let t = fresh();
        t.begin(&super::super::schedule::Schedule::constant(1.0), 1.0, 0.0);
        for i in 0..1000 {
            t.sample(
                Gauges {
                    busy: i,
                    ..Gauges::default()
                },
                5.0 * i as f64,
            );
        }
        let s = t.snapshot(Gauges::default(), 0, 5000.0);
        assert!(s.history.len() <= MAX_POINTS);
        assert_eq!(s.history[0].time, 0);
        assert_eq!(s.history.last().unwrap().busy, 999);
        t.clear(false, 6000.0);
        assert!(!t.active());
    }
}
