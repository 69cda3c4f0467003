//! The verdict of one probe, from its window of readings (`Readings::since`: the window's end less its start) and
//! the generator's own signals. Pure: no clock, no live state.
//!
//! - **Fail**: a rule of the SLO breached (`thresholds::evaluate` on the window), or (arrival-rate) arrivals dropped
//!   in the window (`dropped`), or the achieved iteration rate below 97 % of the offered one (`achieved`). The
//!   achieved rate is the window's iterations started over its length; on a master (whose counts arrive in the
//!   workers' reports, a few seconds apart) it is the offered rate times started / intended in the window, which
//!   the reports' batching does not skew.
//! - **Undecided**: a percentile rule (`p95<...` on a request row, `SERIES.pNN` on a metric row) whose limit lies
//!   inside the 95 % confidence interval of that percentile (`stats::percentile_interval`, distribution-free, on the
//!   window row's buckets), and no rule failing outside such an interval. The driver extends the window once (one
//!   more probe time, judged on the whole extended window) and then reports it undecided.
//! - **Generator-bound**: the probe would fail or be undecided and the generator shows it was the limit. The
//!   signals and their numbers: the Python (hub) thread's lateness in the window, p99 >= 20 ms over >= 100
//!   completions (with headroom it is tens of µs: milliseconds mean responses waited for Python); the monitor's CPU
//!   (the hub thread's share of one core, or the process's of all cores, Locust's 90 % warning threshold); the
//!   window's process CPU at >= 90 % of every core; on a master, any worker's CPU from its heartbeats >= 90 %. A
//!   passing probe is never generator-bound: its figures include the generator's delay, so the service did at
//!   least as well. Nor is a breach the generator's delay cannot explain (`generator_explains`): a latency rule
//!   breached by more than the hub's lateness p99, dropped arrivals while that delay is under half the mean response
//!   time, a fail-ratio or count rule: those are the service's, however busy the generator was. The open model's start lag is shown, not used: it also holds the users' own start (`on_start`).
//! - **Pass**: none of those.
//!
//! A breach is *certain* (the driver ends the probe early) when arrivals were dropped, when a percentile rule's
//! whole interval lies beyond its limit with >= 200 samples after a quarter of the window, or when a fail-ratio
//! rule's Wilson interval (95 %) lies wholly above its limit with >= 200 requests after a quarter of the window.
//!
//! Who calls it: `judge::search::driver`; the unit tests. What it must not do: read live state, format output.
use crate::judge::thresholds::{self, Metric, Op, Outcome as RuleOutcome, Rule};
use crate::runner::readings::Readings;
use crate::stats::{EntrySnapshot, Snapshot, percentile_interval};

use super::{Figure, Mode, Probe, Spec, Verdict};

/// The achieved rate must be at least this share of the offered one.
pub const ACHIEVED_SHARE: f64 = 0.97;
/// The hub thread's lateness p99 (ms) and sample count from which the generator is the limit.
pub const HUB_LATENESS_P99_MS: f64 = 20.0;
pub const HUB_LATENESS_MIN_SAMPLES: u64 = 100;
/// CPU percent (Locust's warning threshold) from which the generator is the limit.
pub const CPU_PERCENT: f64 = 90.0;
/// Samples (and share of the window elapsed) before a breach may be called certain.
pub const CERTAIN_MIN_SAMPLES: u64 = 200;
pub const CERTAIN_MIN_WINDOW_SHARE: f64 = 0.25;
/// z of the 95 % intervals.
const Z: f64 = 1.96;

/// What the generator says about itself over the window (besides the readings).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Signals {
    /// The monitor's last CPU percent (`runner::Shared::usage`).
    pub monitor_cpu_percent: f64,
    /// Cores of this machine (the window's process CPU is judged against all of them).
    pub cores: f64,
    /// A master: the highest CPU percent its workers' heartbeats carry (`None`: not a master).
    pub workers_cpu_percent: Option<f64>,
    /// Users running at the end of the window (users mode's achieved level).
    pub users: u64,
}

/// A probe judged on its window, and whether a percentile straddled its limit (the driver extends once).
#[derive(Clone, Debug)]
pub struct Judgement {
    pub probe: Probe,
    /// The rule whose interval straddled its limit (set whether or not the verdict is undecided).
    pub straddling: Option<String>,
}

/// A rule's rows: the window's rows the rule is about, with their histograms (µs, or the metric's unit × 1000).
fn rows_of<'a>(rule: &Rule, s: &'a Snapshot) -> Vec<&'a EntrySnapshot> {
    if let Some(series) = &rule.series {
        let name = rule
            .name
            .as_deref()
            .unwrap_or(crate::stats::metrics::AGGREGATED);
        return s
            .metrics
            .iter()
            .filter(|m| m.metric() == series && m.name() == name)
            .map(|m| &m.row)
            .collect();
    }
    match &rule.name {
        None => vec![&s.total],
        Some(name) => s
            .entries
            .iter()
            .filter(|e| &e.name == name && rule.method.as_ref().is_none_or(|m| &e.method == m))
            .collect(),
    }
}

/// The 95 % interval of a percentile rule's percentile on each of its rows, in the rule's unit: `(lo, hi, n)`.
fn intervals(rule: &Rule, s: &Snapshot) -> Vec<(f64, f64, u64)> {
    let Metric::Percentile(p) = rule.metric else {
        return Vec::new();
    };
    rows_of(rule, s)
        .into_iter()
        .filter_map(|row| {
            let b = row.histogram_us();
            let n: u64 = b.iter().map(|x| x.1).sum();
            percentile_interval(b, p, Z).map(|(lo, hi)| (lo as f64 / 1000.0, hi as f64 / 1000.0, n))
        })
        .collect()
}

fn straddles(rule: &Rule, s: &Snapshot) -> bool {
    intervals(rule, s)
        .iter()
        .any(|&(lo, hi, _)| lo <= rule.limit && rule.limit <= hi)
}

/// Whether the whole interval lies on the failing side of the limit.
fn beyond(op: Op, lo: f64, hi: f64, limit: f64) -> bool {
    match op {
        Op::Lt => lo >= limit,
        Op::Le => lo > limit,
        Op::Gt => hi <= limit,
        Op::Ge => hi < limit,
    }
}

/// The Wilson score interval of a proportion (`None` without trials).
fn wilson(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The achieved level of a window: iterations started per second (arrival-rate), users running (users).
fn achieved(mode: Mode, offered: f64, w: &Readings, signals: &Signals) -> f64 {
    match mode {
        Mode::Users => signals.users as f64,
        Mode::ArrivalRate => {
            let length = w.window.unwrap_or(0.0);
            if signals.workers_cpu_percent.is_some() && w.open.intended > 0 {
                offered * w.open.started as f64 / w.open.intended as f64
            } else if length > 0.0 {
                w.open.started as f64 / length
            } else {
                0.0
            }
        }
    }
}

/// The failing-side share of a row's samples for a per-request rule: those beyond the limit (`None`: not a
/// per-request rule).
fn within_share(rule: &Rule, row: &EntrySnapshot) -> Option<f64> {
    if !matches!(
        rule.metric,
        Metric::Percentile(_) | Metric::CorrectedPercentile(_) | Metric::Avg | Metric::Max
    ) || !matches!(rule.op, Op::Lt | Op::Le)
    {
        return None;
    }
    let b = row.histogram_us();
    let n: u64 = b.iter().map(|x| x.1).sum();
    if n == 0 {
        return Some(1.0);
    }
    let limit_us = rule.limit * 1000.0;
    let good: u64 = b
        .iter()
        .filter(|(v, _)| rule.op.holds(*v as f64, limit_us))
        .map(|x| x.1)
        .sum();
    Some(good as f64 / n as f64)
}

/// Goodput: the successful requests that met every per-request rule of the SLO, counted per rule and the smallest
/// count kept.
///
/// A per-request rule is a response-time rule (a percentile, `avg` or `max` with `<`/`<=`), read as "this
/// request's time is within the limit", or the same on a metric row (`ttft`, `itl`, `e2e`, ...), read on that
/// metric's values. For one rule the count is exact: the successes less the rule's row's successes times its share
/// beyond the limit (the histogram holds failures' times too; their share is taken to be the successes'). With
/// several rules the smallest of the per-rule counts is an upper bound of the requests that met all of them (a
/// request can miss one rule and meet another; the histograms do not say which requests those are). Without a
/// per-request rule, every success counts.
pub fn goodput(slo: &[Rule], s: &Snapshot) -> (f64, f64) {
    let total = &s.total.totals;
    let successes = total.num_requests.saturating_sub(total.num_failures) as f64;
    let mut good = successes;
    for rule in slo {
        let mut bad = 0.0;
        let mut any = false;
        for row in rows_of(rule, s) {
            let Some(share) = within_share(rule, row) else {
                continue;
            };
            any = true;
            if rule.series.is_some() {
                // a metric row's values stand for the requests that carried them
                let n = row.totals.num_requests as f64;
                bad += n * (1.0 - share);
            } else {
                let ok = row
                    .totals
                    .num_requests
                    .saturating_sub(row.totals.num_failures) as f64;
                bad += ok * (1.0 - share);
            }
        }
        if any {
            good = good.min((successes - bad).max(0.0));
        }
    }
    let share = if total.num_requests == 0 {
        0.0
    } else {
        good / total.num_requests as f64
    };
    (good, share)
}

/// The label of a rule's figure: `p95`, `GET /login: p99`, `ttft.p95`.
fn figure_label(rule: &Rule) -> String {
    let metric = match &rule.series {
        Some(series) => match rule.metric {
            Metric::Requests => format!("{series}.count"),
            m => format!("{series}.{}", m.label()),
        },
        None => rule.metric.label(),
    };
    match (&rule.method, &rule.name) {
        (Some(m), Some(n)) => format!("{m} {n}: {metric}"),
        (None, Some(n)) => format!("{n}: {metric}"),
        _ => metric,
    }
}

/// The generator's signal when it was the limit (`None`: it was not).
fn generator_limit(w: &Readings, signals: &Signals) -> Option<String> {
    let hub = &w.lateness.hub;
    if hub.count >= HUB_LATENESS_MIN_SAMPLES && hub.p99 >= HUB_LATENESS_P99_MS {
        return Some(format!("generator: hub lateness p99 {:.0} ms", hub.p99));
    }
    if let Some(c) = signals.workers_cpu_percent
        && c >= CPU_PERCENT
    {
        return Some(format!("generator: a worker's CPU {c:.0}%"));
    }
    if signals.monitor_cpu_percent >= CPU_PERCENT {
        return Some(format!(
            "generator: CPU {:.0}%",
            signals.monitor_cpu_percent
        ));
    }
    if let Some(share) = w.cpu_share()
        && signals.cores > 0.0
        && share / signals.cores * 100.0 >= CPU_PERCENT
    {
        return Some(format!(
            "generator: CPU {:.0}% of {} cores",
            share / signals.cores * 100.0,
            signals.cores
        ));
    }
    None
}

/// Whether the generator's own delay can explain the breach (`fail`: the rule's text, `dropped` or `achieved`;
/// `None`: a straddling percentile). A latency rule breached by more than the hub's lateness p99 is the service's,
/// however busy the generator was (the response times would breach it without that delay); so are dropped
/// arrivals when the generator's delay is under half the mean response time (the users were busy waiting for the
/// service), and any other rule (failures, counts). A worker's CPU (a master knows no worker's lateness), a
/// straddling percentile and an achieved rate below the offered one (arrivals the hub did not start on time, none
/// dropped) are the generator's when it shows a signal.
fn generator_explains(
    fail: Option<&str>,
    outcomes: &[RuleOutcome],
    w: &Readings,
    signals: &Signals,
) -> bool {
    if signals
        .workers_cpu_percent
        .is_some_and(|c| c >= CPU_PERCENT)
    {
        return true;
    }
    let hub = &w.lateness.hub;
    let delay_ms = if hub.count >= HUB_LATENESS_MIN_SAMPLES {
        hub.p99
    } else {
        0.0
    };
    match fail {
        None | Some("achieved") => true,
        Some("dropped") => {
            let total = &w.stats.total;
            !total.has_response_times() || delay_ms >= 0.5 * total.avg_response_time()
        }
        Some(text) => outcomes
            .iter()
            .find(|o| !o.passed && o.rule.text == text)
            .is_some_and(|o| match (o.actual, o.unit.as_str(), o.rule.op) {
                (Some(actual), "ms", Op::Lt | Op::Le) => actual - delay_ms <= o.rule.limit,
                _ => false,
            }),
    }
}

/// Judge one window (see the module header). `index`, `window_start`/`window_end`, `extended` and `ended_early`
/// are the driver's to set.
pub fn judge(spec: &Spec, offered: f64, w: &Readings, signals: &Signals) -> Judgement {
    let length = w.window.unwrap_or(0.0);
    let s = &w.stats;
    let total = &s.total;
    let outcomes: Vec<RuleOutcome> = thresholds::evaluate(&spec.slo, w);
    let figures = outcomes
        .iter()
        .map(|o| Figure {
            label: figure_label(&o.rule),
            value: o.actual,
            unit: o.unit.clone(),
        })
        .collect();
    let straddling = spec
        .slo
        .iter()
        .find(|r| straddles(r, s))
        .map(|r| r.text.clone());
    let achieved = achieved(spec.mode, offered, w, signals);
    let mut fail: Option<String> = outcomes
        .iter()
        .find(|o| !o.passed && !straddles(&o.rule, s))
        .map(|o| o.rule.text.clone());
    if spec.mode == Mode::ArrivalRate {
        if fail.is_none() && w.open.dropped > 0 {
            fail = Some("dropped".into());
        }
        if fail.is_none() && achieved < ACHIEVED_SHARE * offered {
            fail = Some("achieved".into());
        }
    }
    let (verdict, bound_by) = match (&fail, &straddling) {
        (None, None) => (Verdict::Pass, None),
        _ => match generator_limit(w, signals)
            .filter(|_| generator_explains(fail.as_deref(), &outcomes, w, signals))
        {
            Some(g) => (Verdict::GeneratorBound, Some(g)),
            None => match fail {
                Some(f) => (Verdict::Fail, Some(f)),
                None => (Verdict::Undecided, straddling.clone()),
            },
        },
    };
    let throughput = if length > 0.0 {
        total.totals.num_requests as f64 / length
    } else {
        0.0
    };
    let (good, goodput_share) = goodput(&spec.slo, s);
    let pct = |p: f64| {
        if total.has_response_times() {
            total.percentile(p)
        } else {
            0.0
        }
    };
    let cpu = w.cpu_share().unwrap_or(0.0);
    let probe = Probe {
        index: 0,
        offered,
        window_start: w.taken_at - length,
        window_end: w.taken_at,
        achieved,
        throughput,
        mean_in_flight: throughput * total.avg_response_time() / 1000.0,
        goodput: if length > 0.0 { good / length } else { 0.0 },
        goodput_share,
        p50: pct(0.5),
        p95: pct(0.95),
        p99: pct(0.99),
        requests: total.totals.num_requests,
        failures: total.totals.num_failures,
        fail_ratio: total.fail_ratio(),
        dropped: if spec.mode == Mode::ArrivalRate {
            w.open.dropped
        } else {
            0
        },
        figures,
        outcomes,
        verdict,
        bound_by,
        generator_lateness_p99: w.lateness.hub.p99,
        generator_cpu: signals
            .workers_cpu_percent
            .map_or(cpu, |c| cpu.max(c / 100.0)),
        extended: false,
        ended_early: false,
    };
    Judgement { probe, straddling }
}

/// A breach already certain in a window measured for `elapsed` of `probe_time` seconds: the reason (the rule's
/// text or `dropped`), or `None`.
pub fn certain_breach(spec: &Spec, w: &Readings, elapsed: f64) -> Option<String> {
    if spec.mode == Mode::ArrivalRate && w.open.dropped > 0 {
        return Some("dropped".into());
    }
    if elapsed < CERTAIN_MIN_WINDOW_SHARE * spec.probe_time {
        return None;
    }
    let s = &w.stats;
    for rule in &spec.slo {
        match rule.metric {
            Metric::Percentile(_)
                if intervals(rule, s).iter().any(|&(lo, hi, n)| {
                    n >= CERTAIN_MIN_SAMPLES && beyond(rule.op, lo, hi, rule.limit)
                }) =>
            {
                return Some(rule.text.clone());
            }
            Metric::FailRatio if rule.series.is_none() && matches!(rule.op, Op::Lt | Op::Le) => {
                for row in rows_of(rule, s) {
                    let n = row.totals.num_requests;
                    if n >= CERTAIN_MIN_SAMPLES
                        && let Some((lo, _)) = wilson(row.totals.num_failures, n)
                        && lo > rule.limit
                    {
                        return Some(rule.text.clone());
                    }
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::readings::Readings;
    use crate::stats::RequestStats;

    fn spec(slo: &str) -> Spec {
        Spec {
            mode: Mode::ArrivalRate,
            slo_text: slo.into(),
            slo: thresholds::parse_rules(slo, "--slo").unwrap(),
            start: 10.0,
            max: None,
            probe_time: 10.0,
            warmup: 1.0,
            precision: 0.05,
            max_probes: 15,
            levels: None,
            max_users: 100,
            spawn_rate: 1.0,
            gate: None,
        }
    }

    /// A 10 s window of `n` requests at `ms`, plus `slow` at `slow_ms`, `failures` failed, started iterations as
    /// given.
    fn window(n: u64, ms: f64, slow: u64, slow_ms: f64, failures: u64, started: u64) -> Readings {
        let s = RequestStats::new_at(1_000.0);
        s.log_request("GET", "/", Some(1.0), 1, 1_000.5);
        let early = Readings::of_stats(s.snapshot_at(1_001.0));
        for _ in 0..n {
            s.log_request("GET", "/", Some(ms), 1, 1_005.0);
        }
        for _ in 0..slow {
            s.log_request("GET", "/", Some(slow_ms), 1, 1_005.0);
        }
        for _ in 0..failures {
            s.log_error("GET", "/", "boom", 1_005.0);
        }
        let late = Readings::of_stats(s.snapshot_at(1_011.0));
        let mut w = late.since(&early);
        w.open.active = true;
        w.open.intended = started;
        w.open.started = started;
        w.open.dropped = 0;
        w.lateness.hub.count = 0;
        w.cpu_seconds = 0.0;
        w
    }

    fn signals() -> Signals {
        Signals {
            cores: 2.0,
            ..Signals::default()
        }
    }

    #[test]
    fn a_window_within_the_slo_passes() {
        let w = window(1000, 20.0, 0, 0.0, 0, 100);
        let j = judge(&spec("p95<50; fail_ratio<0.01"), 10.0, &w, &signals());
        let p = j.probe;
        assert_eq!(p.verdict, Verdict::Pass, "{p:?}");
        assert_eq!(p.bound_by, None);
        assert!((p.throughput - 100.0).abs() < 1e-9);
        assert!((p.achieved - 10.0).abs() < 1e-9);
        assert!((p.p95 - 20.0).abs() < 0.1);
        assert!((p.mean_in_flight - 2.0).abs() < 0.01);
        assert!((p.goodput - 100.0).abs() < 1e-9);
        assert_eq!(p.figures[0].label, "p95");
        assert_eq!(p.outcomes.len(), 2);
        assert!(j.straddling.is_none());
    }

    #[test]
    fn each_cause_fails() {
        // a rule
        let w = window(1000, 80.0, 0, 0.0, 0, 100);
        let p = judge(&spec("p95<50"), 10.0, &w, &signals()).probe;
        assert_eq!(
            (p.verdict, p.bound_by.as_deref()),
            (Verdict::Fail, Some("p95<50"))
        );
        // dropped arrivals
        let mut w = window(1000, 20.0, 0, 0.0, 0, 100);
        w.open.dropped = 3;
        let p = judge(&spec("p95<50"), 10.0, &w, &signals()).probe;
        assert_eq!(
            (p.verdict, p.bound_by.as_deref()),
            (Verdict::Fail, Some("dropped"))
        );
        assert_eq!(p.dropped, 3);
        // the achieved rate below 97 % of the offered one
        let w = window(1000, 20.0, 0, 0.0, 0, 95);
        let p = judge(&spec("p95<50"), 10.0, &w, &signals()).probe;
        assert_eq!(
            (p.verdict, p.bound_by.as_deref()),
            (Verdict::Fail, Some("achieved"))
        );
        // the fail ratio
        let w = window(1000, 20.0, 0, 0.0, 50, 100);
        let p = judge(&spec("p95<50; fail_ratio<0.01"), 10.0, &w, &signals()).probe;
        assert_eq!(
            (p.verdict, p.bound_by.as_deref()),
            (Verdict::Fail, Some("fail_ratio<0.01"))
        );
        // users mode does not judge arrivals
        let mut s = spec("p95<50");
        s.mode = Mode::Users;
        let w = window(1000, 20.0, 0, 0.0, 0, 0);
        let p = judge(
            &s,
            10.0,
            &w,
            &Signals {
                users: 10,
                ..signals()
            },
        )
        .probe;
        assert_eq!(p.verdict, Verdict::Pass);
        assert_eq!(p.achieved, 10.0);
    }

    #[test]
    fn a_straddling_percentile_is_undecided() {
        // 95 % at 20 ms, 5 % at 100 ms: p95 sits on the step, its interval spans 20..100 around the limit 50
        let w = window(95, 20.0, 5, 100.0, 0, 100);
        let j = judge(&spec("p95<50"), 10.0, &w, &signals());
        assert_eq!(j.straddling.as_deref(), Some("p95<50"));
        assert_eq!(j.probe.verdict, Verdict::Undecided);
        assert_eq!(j.probe.bound_by.as_deref(), Some("p95<50"));
        // with many samples far from the limit, no straddle
        let w = window(1000, 20.0, 0, 0.0, 0, 100);
        assert!(
            judge(&spec("p95<50"), 10.0, &w, &signals())
                .straddling
                .is_none()
        );
    }

    #[test]
    fn the_generator_bounds_a_failing_probe_never_a_passing_one() {
        let mut w = window(1000, 80.0, 0, 0.0, 0, 100);
        w.lateness.hub.count = 1000;
        w.lateness.hub.p99 = 35.0;
        let p = judge(&spec("p95<50"), 10.0, &w, &signals()).probe;
        assert_eq!(p.verdict, Verdict::GeneratorBound);
        assert!(p.bound_by.unwrap().starts_with("generator: hub lateness"));
        // a breach far beyond the generator's delay is the service's, however late the hub was
        let mut w = window(1000, 500.0, 0, 0.0, 0, 100);
        w.lateness.hub.count = 1000;
        w.lateness.hub.p99 = 35.0;
        let p = judge(&spec("p95<50"), 10.0, &w, &signals()).probe;
        assert_eq!(p.verdict, Verdict::Fail);
        assert_eq!(p.bound_by.as_deref(), Some("p95<50"));
        let mut w = window(1000, 20.0, 0, 0.0, 0, 100);
        w.lateness.hub.count = 1000;
        w.lateness.hub.p99 = 35.0;
        assert_eq!(
            judge(&spec("p95<50"), 10.0, &w, &signals()).probe.verdict,
            Verdict::Pass
        );
        // a master's worker at 95 % CPU
        let w = window(1000, 80.0, 0, 0.0, 0, 100);
        let sig = Signals {
            workers_cpu_percent: Some(95.0),
            ..signals()
        };
        let p = judge(&spec("p95<50"), 10.0, &w, &sig).probe;
        assert_eq!(p.verdict, Verdict::GeneratorBound);
        assert!(p.generator_cpu >= 0.95);
    }

    #[test]
    fn a_certain_breach_ends_early() {
        let s = spec("p95<50; fail_ratio<0.01");
        let w = window(1000, 80.0, 0, 0.0, 0, 100);
        assert_eq!(certain_breach(&s, &w, 5.0).as_deref(), Some("p95<50"));
        // too early in the window
        assert_eq!(certain_breach(&s, &w, 1.0), None);
        // too few samples
        let w = window(100, 80.0, 0, 0.0, 0, 100);
        assert_eq!(certain_breach(&s, &w, 5.0), None);
        // within the limit
        let w = window(1000, 20.0, 0, 0.0, 0, 100);
        assert_eq!(certain_breach(&s, &w, 5.0), None);
        // failures well above the ratio
        let w = window(1000, 20.0, 0, 0.0, 100, 100);
        assert_eq!(
            certain_breach(&s, &w, 5.0).as_deref(),
            Some("fail_ratio<0.01")
        );
        // dropped arrivals at once
        let mut w = window(10, 20.0, 0, 0.0, 0, 100);
        w.open.dropped = 1;
        assert_eq!(certain_breach(&s, &w, 0.1).as_deref(), Some("dropped"));
    }

    #[test]
    fn goodput_counts_the_requests_within_each_rule() {
        let w = window(900, 20.0, 100, 100.0, 0, 100);
        let (good, share) = goodput(&spec("p95<50").slo, &w.stats);
        assert!((good - 900.0).abs() < 1e-6, "{good}");
        assert!((share - 0.9).abs() < 1e-9);
        // two rules: the smaller count
        let (good, _) = goodput(&spec("p95<50; max<10").slo, &w.stats);
        assert!(good.abs() < 1e-6);
        // no per-request rule: every success (900 requests, 100 of them failed)
        let w = window(900, 20.0, 0, 0.0, 100, 100);
        let (good, share) = goodput(&spec("fail_ratio<0.5").slo, &w.stats);
        assert!((good - 800.0).abs() < 1e-6, "{good}");
        assert!((share - 800.0 / 900.0).abs() < 1e-9);
    }
}
