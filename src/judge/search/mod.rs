//! The capacity search (`--search`): the highest arrival rate (or user count) a service sustains under an SLO,
//! found from an ordinary locustfile. A search is a scheduler, not a second runner: it sets the level through the
//! runner's own controls (the open model's rate, or the user count; on a master the same controls reach the
//! workers), waits out a warm-up, judges the probe on its own window of readings (`Readings::since`), and picks the
//! next level: raised geometrically to the first failing level, bisected to the precision, the best passing level
//! confirmed. `--search-levels` probes a fixed list instead (the curve without a search).
//!
//! The values here are what every output reads: [`Spec`] (what was asked), [`Probe`] (one level, judged),
//! [`Outcome`] (the search so far or at its end). A running search publishes its outcome through a [`Handle`]
//! that the outputs are handed (never a static).
//!
//! Who calls it: `app` (starts a headless search, writes its outcome), `web` (a search started from the form,
//! followed live), `report` (prints and writes [`Outcome`]). What it must not do: read live state other than through
//! readings it is handed or takes, format output (that is `report`), or touch Python.

pub mod driver;
pub mod judge;
pub mod machine;
pub mod options;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::judge::thresholds::{Outcome as RuleOutcome, Rule};
use crate::runner::readings::Readings;

/// What the level is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The open model: iterations started per second (`--arrival-rate`'s unit).
    ArrivalRate,
    /// Locust's closed model: users.
    Users,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ArrivalRate => "arrival-rate",
            Mode::Users => "users",
        }
    }

    /// The level's unit in tables and files.
    pub fn unit(self) -> &'static str {
        match self {
            Mode::ArrivalRate => "1/s",
            Mode::Users => "users",
        }
    }
}

/// What a search was asked for (the command line or the web form), checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub mode: Mode,
    /// The SLO as written (`--slo`), and its rules.
    pub slo_text: String,
    pub slo: Vec<Rule>,
    /// The first level probed.
    pub start: f64,
    /// The highest level probed (`None`: no maximum but the probe budget).
    pub max: Option<f64>,
    /// Seconds each probe is measured (its window), after its warm-up.
    pub probe_time: f64,
    /// Seconds each level runs before its window opens.
    pub warmup: f64,
    /// The search stops bisecting when the passing and the failing level are this close (relative, e.g. 0.05).
    pub precision: f64,
    /// At most this many probes (extensions of an undecided probe not counted).
    pub max_probes: u32,
    /// `--search-levels`: probe exactly these levels, in order, and search nothing.
    pub levels: Option<Vec<f64>>,
    /// The cap on users in flight (arrival-rate: `--arrival-max-users`), or the spawn rate (users).
    pub max_users: u64,
    pub spawn_rate: f64,
    /// `--search-gate N`: the run exits with code 3 when the capacity found is below N.
    pub gate: Option<f64>,
}

/// A probe's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// A rule breached, arrivals dropped, or the achieved rate below ~97 % of the offered one.
    Fail,
    /// A percentile's confidence interval straddles its limit (after one extension).
    Undecided,
    /// The generator (its Python thread's lateness, its CPU), not the service, was the limit: never a failing
    /// bound.
    GeneratorBound,
    /// Ended by an interruption before it could be judged (its figures are what was measured).
    Interrupted,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Undecided => "undecided",
            Verdict::GeneratorBound => "generator-bound",
            Verdict::Interrupted => "interrupted",
        }
    }
}

/// A metric figure a rule of the SLO is about, as measured in a probe's window (`ttft.p95`, `p99`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The rule's metric as written (`ttft.p95`, `GET /login: p99`).
    pub label: String,
    pub value: Option<f64>,
    pub unit: String,
}

/// One level, run and judged on its own window.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// 1-based, in the order run.
    pub index: u32,
    /// The level asked for (iterations/s or users).
    pub offered: f64,
    /// Unix times the window opened and closed (the warm-up is before `window_start`).
    pub window_start: f64,
    pub window_end: f64,
    /// Iterations started per second in the window (arrival-rate), or the mean users running (users).
    pub achieved: f64,
    /// Requests completed per second in the window.
    pub throughput: f64,
    /// Requests in flight on average (Little's law: throughput × mean response time).
    pub mean_in_flight: f64,
    /// Requests per second that met every per-request rule of the SLO, and their share of all requests.
    pub goodput: f64,
    pub goodput_share: f64,
    /// Response-time percentiles of the window (ms) over all requests.
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub requests: u64,
    pub failures: u64,
    pub fail_ratio: f64,
    /// Iterations dropped in the window (arrival-rate; 0 for users).
    pub dropped: u64,
    /// The figures the SLO's rules name (metric percentiles included).
    pub figures: Vec<Figure>,
    /// Every rule of the SLO judged on the window.
    pub outcomes: Vec<RuleOutcome>,
    pub verdict: Verdict,
    /// What decided a fail, undecided or generator-bound verdict: the rule's text, `dropped`, `achieved`, or the
    /// generator's signal.
    pub bound_by: Option<String>,
    /// The generator's own signals in the window: the Python thread's lateness p99 (ms) and CPU (share of a core).
    pub generator_lateness_p99: f64,
    pub generator_cpu: f64,
    /// The window was extended once (a straddling percentile).
    pub extended: bool,
    /// The window ended early (a breach was certain).
    pub ended_early: bool,
}

/// Why the search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Still running.
    Running,
    /// The passing and the failing level are within the precision.
    Converged,
    /// `--search-levels`: every level probed.
    Levels,
    /// The probe budget is spent.
    Budget,
    /// The maximum level passed: the capacity is at least the maximum.
    ReachedMax,
    /// The start level failed: no level passed.
    NothingPassed,
    /// The generator was the limit before the service was.
    GeneratorBound,
    /// Ctrl+C, SIGTERM, `/stop`, `-t` or a quit ended it.
    Interrupted,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Running => "running",
            End::Converged => "converged",
            End::Levels => "levels",
            End::Budget => "budget",
            End::ReachedMax => "reached_max",
            End::NothingPassed => "nothing_passed",
            End::GeneratorBound => "generator_bound",
            End::Interrupted => "interrupted",
        }
    }
}

/// The search so far (while it runs) or its result.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub spec: Spec,
    /// Every probe in the order run.
    pub probes: Vec<Probe>,
    /// The level being probed now (while running).
    pub current: Option<f64>,
    /// The highest passing level (`None`: none passed).
    pub capacity: Option<f64>,
    /// The lowest failing level above the capacity: its probe's index in `probes`.
    pub first_failing: Option<usize>,
    pub end: End,
    /// Unix times the search started and ended.
    pub started_at: f64,
    pub ended_at: Option<f64>,
}

impl Outcome {
    /// A search about to begin.
    pub fn new(spec: Spec, now: f64) -> Outcome {
        Outcome {
            spec,
            probes: Vec::new(),
            current: None,
            capacity: None,
            first_failing: None,
            end: End::Running,
            started_at: now,
            ended_at: None,
        }
    }

    /// The first failing probe, if any.
    pub fn first_failing_probe(&self) -> Option<&Probe> {
        self.first_failing.and_then(|i| self.probes.get(i))
    }

    /// `--search-gate`: the capacity is below the gate (no capacity is below any gate).
    pub fn below_gate(&self) -> bool {
        self.spec
            .gate
            .is_some_and(|g| self.capacity.is_none_or(|c| c < g))
    }
}

/// A running search's outcome, shared between the search and its readers (the console, the web UI, `/metrics`,
/// the final files).
#[derive(Clone, Default)]
pub struct Handle {
    inner: Arc<Mutex<Option<Outcome>>>,
    /// The probe being measured now (what an interruption records).
    pending: Arc<Mutex<Option<Pending>>>,
}

/// The probe in progress: its level and the readings its window (or, during the warm-up, its level) began with.
#[derive(Clone, Debug)]
pub struct Pending {
    pub index: u32,
    pub offered: f64,
    pub since: Readings,
    pub signals: judge::Signals,
}

impl Handle {
    /// The search so far (`None`: no search was started).
    pub fn outcome(&self) -> Option<Outcome> {
        self.inner.lock().clone()
    }

    /// The search publishes its progress. An outcome that has ended is final: a later publication is ignored (an
    /// interruption may have ended the search before the search itself noticed).
    pub fn publish(&self, outcome: Outcome) {
        let mut inner = self.inner.lock();
        if inner.as_ref().is_some_and(|o| o.end != End::Running) {
            return;
        }
        *inner = Some(outcome);
    }

    /// A new search begins (the command line's, or one started from the web form after an earlier one ended): its
    /// outcome replaces any earlier one.
    pub fn begin(&self, outcome: Outcome) {
        *self.pending.lock() = None;
        *self.inner.lock() = Some(outcome);
    }

    /// A test without a search starts (the web form): the previous search's outcome is forgotten, so the outputs
    /// show none. Returns false, and forgets nothing, while a search runs.
    pub fn clear(&self) -> bool {
        let mut inner = self.inner.lock();
        if inner.as_ref().is_some_and(|o| o.end == End::Running) {
            return false;
        }
        *inner = None;
        true
    }

    /// Whether a search runs now.
    pub fn running(&self) -> bool {
        self.inner
            .lock()
            .as_ref()
            .is_some_and(|o| o.end == End::Running)
    }

    /// The probe now in progress (`None`: between probes).
    pub fn set_pending(&self, pending: Option<Pending>) {
        *self.pending.lock() = pending;
    }

    /// The run is ending before the search did (Ctrl+C, SIGTERM, `-t`, a stop or quit): the probe in progress is
    /// recorded as interrupted with what it measured up to `now`, and the search ends as interrupted. Returns the
    /// outcome when this call ended the search (`None`: no search, or it had ended already).
    pub fn interrupt(&self, now: &Readings) -> Option<Outcome> {
        let mut inner = self.inner.lock();
        let outcome = inner.as_mut()?;
        if outcome.end != End::Running {
            return None;
        }
        {
            if let Some(p) = self.pending.lock().take() {
                let window = now.since(&p.since);
                let mut probe = judge::judge(&outcome.spec, p.offered, &window, &p.signals).probe;
                probe.index = p.index;
                probe.verdict = Verdict::Interrupted;
                probe.bound_by = None;
                outcome.probes.push(probe);
            }
            let (capacity, first_failing) = machine::result(&outcome.probes);
            outcome.capacity = capacity;
            outcome.first_failing = first_failing;
            outcome.current = None;
            outcome.end = End::Interrupted;
            outcome.ended_at = Some(now.taken_at);
        }
        Some(outcome.clone())
    }
}
