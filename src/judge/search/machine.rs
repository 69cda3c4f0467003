//! The capacity search's choices as a pure state machine: given the [`Spec`] and the probes judged so far, the next
//! level to probe or why the search ends ([`next`]), and the result so far ([`result`]). No I/O, no clock.
//!
//! The rules:
//! - `--search-levels`: each level in order, then [`End::Levels`] (no early stop; the driver stops on an
//!   interruption).
//! - A generator-bound probe ends the search at once ([`End::GeneratorBound`]): the generator, not the service, was
//!   the limit there, so it bounds nothing.
//! - Raise: from `start`, each next level is twice the highest passing one, capped at `max`; a passing `max` ends
//!   with [`End::ReachedMax`]. A failing (or undecided: it bounds from above) start ends with
//!   [`End::NothingPassed`]; the search does not probe below the start (a start chosen too high is the user's to
//!   lower: the headline says so).
//! - Bisect: between the highest passing level `p` and the lowest failing (or undecided) level `f` above it, probe
//!   the middle until `(f - p) / p <= precision` (for users: until no whole user lies strictly between them).
//! - Confirm: then `p` is probed once more; a second pass ends the search ([`End::Converged`]), a failure makes `p`
//!   the failing bound and the bisection goes on below it.
//! - A level's latest verdict is the one that counts (a failed confirmation overrides the first pass).
//! - Budget: when the next step would be a probe and `max_probes` probes have run, [`End::Budget`] (the best so
//!   far is the result).
//!
//! Who calls it: `judge::search::driver` after each probe; the unit tests. What it must not do: anything but
//! compute.
use super::{End, Mode, Probe, Spec, Verdict};

/// What the search does next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    Probe(f64),
    Done(End),
}

/// The latest verdict of each level probed, ascending by level: `(level, verdict, index of its latest probe)`.
fn latest(probes: &[Probe]) -> Vec<(f64, Verdict, usize)> {
    let mut out: Vec<(f64, Verdict, usize)> = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        match out.iter_mut().find(|l| l.0 == p.offered) {
            Some(l) => {
                l.1 = p.verdict;
                l.2 = i;
            }
            None => out.push((p.offered, p.verdict, i)),
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn bounds_from_above(v: Verdict) -> bool {
    matches!(v, Verdict::Fail | Verdict::Undecided)
}

/// The capacity (the highest level whose latest verdict is a pass) and the index of the probe of the lowest failing
/// (or undecided) level above it (without a capacity: the lowest failing level).
pub fn result(probes: &[Probe]) -> (Option<f64>, Option<usize>) {
    let levels = latest(probes);
    let capacity = levels
        .iter()
        .rev()
        .find(|l| l.1 == Verdict::Pass)
        .map(|l| l.0);
    let first_failing = levels
        .iter()
        .find(|l| bounds_from_above(l.1) && capacity.is_none_or(|c| l.0 > c))
        .map(|l| l.2);
    (capacity, first_failing)
}

/// A level as the mode probes it (users: whole, at least 1).
pub fn level(mode: Mode, x: f64) -> f64 {
    match mode {
        Mode::ArrivalRate => x,
        Mode::Users => x.round().max(1.0),
    }
}

/// The next step (see the module header).
pub fn next(spec: &Spec, probes: &[Probe]) -> Next {
    if let Some(levels) = &spec.levels {
        return match levels.get(probes.len()) {
            Some(l) => Next::Probe(level(spec.mode, *l)),
            None => Next::Done(End::Levels),
        };
    }
    if probes.iter().any(|p| p.verdict == Verdict::GeneratorBound) {
        return Next::Done(End::GeneratorBound);
    }
    if probes.iter().any(|p| p.verdict == Verdict::Interrupted) {
        return Next::Done(End::Interrupted);
    }
    let step = step(spec, probes);
    match step {
        Next::Probe(_) if probes.len() as u32 >= spec.max_probes => Next::Done(End::Budget),
        s => s,
    }
}

fn step(spec: &Spec, probes: &[Probe]) -> Next {
    if probes.is_empty() {
        return Next::Probe(level(spec.mode, spec.start));
    }
    let levels = latest(probes);
    let (capacity, _) = result(probes);
    let Some(pass) = capacity else {
        return Next::Done(End::NothingPassed);
    };
    let fail = levels
        .iter()
        .find(|l| bounds_from_above(l.1) && l.0 > pass)
        .map(|l| l.0);
    let Some(fail) = fail else {
        // raising
        if spec.max.is_some_and(|m| pass >= m) {
            return Next::Done(End::ReachedMax);
        }
        let mut up = level(spec.mode, pass * 2.0);
        if let Some(m) = spec.max {
            up = up.min(level(spec.mode, m).max(pass));
        }
        if up <= pass {
            return Next::Done(End::ReachedMax);
        }
        return Next::Probe(up);
    };
    let close = match spec.mode {
        Mode::ArrivalRate => (fail - pass) / pass <= spec.precision,
        Mode::Users => (fail - pass) / pass <= spec.precision || fail - pass <= 1.0,
    };
    if !close {
        let mid = level(spec.mode, (pass + fail) / 2.0);
        let mid = match spec.mode {
            Mode::Users if mid <= pass => pass + 1.0,
            Mode::Users if mid >= fail => fail - 1.0,
            _ => mid,
        };
        return Next::Probe(mid);
    }
    let passes_at_best = probes
        .iter()
        .filter(|p| p.offered == pass && p.verdict == Verdict::Pass)
        .count();
    if passes_at_best >= 2 {
        Next::Done(End::Converged)
    } else {
        Next::Probe(pass)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A search spec for tests (arrival-rate, `p95<100`, 30 probes).
    pub(crate) fn spec() -> Spec {
        Spec {
            mode: Mode::ArrivalRate,
            slo_text: "p95<100".into(),
            slo: Vec::new(),
            start: 10.0,
            max: None,
            probe_time: 20.0,
            warmup: 5.0,
            precision: 0.05,
            max_probes: 30,
            levels: None,
            max_users: 100,
            spawn_rate: 1.0,
            gate: None,
        }
    }

    pub(crate) fn probe(index: u32, offered: f64, verdict: Verdict) -> Probe {
        Probe {
            index,
            offered,
            window_start: 0.0,
            window_end: 0.0,
            achieved: offered,
            throughput: offered,
            mean_in_flight: 0.0,
            goodput: offered,
            goodput_share: 1.0,
            p50: 0.0,
            p95: 0.0,
            p99: 0.0,
            requests: 0,
            failures: 0,
            fail_ratio: 0.0,
            dropped: 0,
            figures: Vec::new(),
            outcomes: Vec::new(),
            verdict,
            bound_by: None,
            generator_lateness_p99: 0.0,
            generator_cpu: 0.0,
            extended: false,
            ended_early: false,
        }
    }

    /// Runs the machine against a service whose verdict at each level is `judge(level)`.
    fn run(spec: &Spec, judge: impl Fn(f64, usize) -> Verdict) -> (Vec<Probe>, End) {
        let mut probes = Vec::new();
        loop {
            match next(spec, &probes) {
                Next::Probe(l) => {
                    let n = probes.len();
                    probes.push(probe(n as u32 + 1, l, judge(l, n)));
                    assert!(probes.len() < 100, "the search ends");
                }
                Next::Done(end) => return (probes, end),
            }
        }
    }

    fn threshold(cap: f64) -> impl Fn(f64, usize) -> Verdict {
        move |l, _| {
            if l <= cap {
                Verdict::Pass
            } else {
                Verdict::Fail
            }
        }
    }

    #[test]
    fn doubles_bisects_to_the_precision_and_confirms() {
        let s = spec();
        let (probes, end) = run(&s, threshold(320.0));
        assert_eq!(end, End::Converged);
        let levels: Vec<f64> = probes.iter().map(|p| p.offered).collect();
        assert_eq!(&levels[..7], &[10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0]);
        let (cap, ff) = result(&probes);
        let cap = cap.unwrap();
        let ff = probes[ff.unwrap()].offered;
        assert!((320.0 * 0.95..=320.0).contains(&cap), "{cap}");
        assert!((ff - cap) / cap <= 0.05, "{ff} {cap}");
        // the best passing level was probed twice, the second time last
        assert_eq!(probes.last().unwrap().offered, cap);
        assert_eq!(probes.iter().filter(|p| p.offered == cap).count(), 2);
    }

    #[test]
    fn a_finer_precision_takes_more_probes() {
        let mut s = spec();
        let (coarse, _) = run(&s, threshold(300.0));
        s.precision = 0.01;
        let (fine, end) = run(&s, threshold(300.0));
        assert_eq!(end, End::Converged);
        assert!(fine.len() > coarse.len());
        let (cap, _) = result(&fine);
        assert!((297.0..=300.0).contains(&cap.unwrap()));
    }

    #[test]
    fn a_failed_confirmation_bisects_below_it() {
        let s = spec();
        // the level first found best fails when probed again
        let (probes, end) = run(&s, |l, n| {
            if l <= 300.0 && !(l > 290.0 && n >= 10) {
                Verdict::Pass
            } else {
                Verdict::Fail
            }
        });
        assert_eq!(end, End::Converged);
        let (cap, _) = result(&probes);
        assert!(cap.unwrap() <= 290.0, "{cap:?} {probes:?}");
        let confirmations_failed = probes.iter().enumerate().any(|(i, p)| {
            p.verdict == Verdict::Fail
                && probes[..i]
                    .iter()
                    .any(|q| q.offered == p.offered && q.verdict == Verdict::Pass)
        });
        assert!(confirmations_failed);
    }

    #[test]
    fn the_budget_ends_with_the_best_so_far() {
        let mut s = spec();
        s.max_probes = 8;
        let (probes, end) = run(&s, threshold(320.0));
        assert_eq!(end, End::Budget);
        assert_eq!(probes.len(), 8);
        assert_eq!(result(&probes).0, Some(320.0));
    }

    #[test]
    fn a_passing_maximum_ends_the_search() {
        let mut s = spec();
        s.max = Some(100.0);
        let (probes, end) = run(&s, threshold(1e9));
        assert_eq!(end, End::ReachedMax);
        let levels: Vec<f64> = probes.iter().map(|p| p.offered).collect();
        assert_eq!(levels, vec![10.0, 20.0, 40.0, 80.0, 100.0]);
        assert_eq!(result(&probes), (Some(100.0), None));
    }

    #[test]
    fn a_failing_start_passes_nothing() {
        let s = spec();
        let (probes, end) = run(&s, threshold(5.0));
        assert_eq!(end, End::NothingPassed);
        assert_eq!(probes.len(), 1);
        assert_eq!(result(&probes), (None, Some(0)));
    }

    #[test]
    fn undecided_bounds_from_above_and_is_reported() {
        let s = spec();
        let (probes, end) = run(&s, |l, _| {
            if l <= 100.0 {
                Verdict::Pass
            } else if l <= 200.0 {
                Verdict::Undecided
            } else {
                Verdict::Fail
            }
        });
        assert_eq!(end, End::Converged);
        let (cap, ff) = result(&probes);
        assert!((95.0..=100.0).contains(&cap.unwrap()));
        assert_eq!(probes[ff.unwrap()].verdict, Verdict::Undecided);
    }

    #[test]
    fn generator_bound_ends_and_never_fails_a_level() {
        let s = spec();
        let (probes, end) = run(&s, |l, _| {
            if l <= 40.0 {
                Verdict::Pass
            } else {
                Verdict::GeneratorBound
            }
        });
        assert_eq!(end, End::GeneratorBound);
        assert_eq!(probes.last().unwrap().offered, 80.0);
        // no failing bound: the generator-bound level is not one
        assert_eq!(result(&probes), (Some(40.0), None));
    }

    #[test]
    fn levels_are_probed_in_order_without_stopping() {
        let mut s = spec();
        s.levels = Some(vec![50.0, 100.0, 200.0, 400.0]);
        let (probes, end) = run(&s, threshold(120.0));
        assert_eq!(end, End::Levels);
        let levels: Vec<f64> = probes.iter().map(|p| p.offered).collect();
        assert_eq!(levels, vec![50.0, 100.0, 200.0, 400.0]);
        let (cap, ff) = result(&probes);
        assert_eq!(cap, Some(100.0));
        assert_eq!(probes[ff.unwrap()].offered, 200.0);
    }

    #[test]
    fn users_are_whole_and_the_bisection_stops_between_neighbours() {
        let mut s = spec();
        s.mode = Mode::Users;
        s.start = 1.0;
        s.precision = 0.001;
        let (probes, end) = run(&s, threshold(13.0));
        assert_eq!(end, End::Converged);
        assert!(probes.iter().all(|p| p.offered.fract() == 0.0));
        let (cap, ff) = result(&probes);
        assert_eq!(cap, Some(13.0));
        assert_eq!(probes[ff.unwrap()].offered, 14.0);
    }

    #[test]
    fn an_interrupted_probe_ends_the_search() {
        let s = spec();
        let probes = vec![
            probe(1, 10.0, Verdict::Pass),
            probe(2, 20.0, Verdict::Interrupted),
        ];
        assert_eq!(next(&s, &probes), Next::Done(End::Interrupted));
        assert_eq!(result(&probes), (Some(10.0), None));
    }
}
