//! The stats history behind the charts of the web UI and the HTML report (reference §1.8): one point every
//! 5 s while a test runs, each with the current RPS and failures/s, the current percentiles to chart, the
//! average response time and the user count.
//!
//! NOTE: Locust keeps every 5 s point for the whole run (an unbounded list, its issue #2045). Here the history
//! holds at most [`MAX_POINTS`]: when it is full, neighbouring points are merged in pairs (rates and the average
//! averaged, percentiles and users taken at their maximum, the later time kept; the first point, the test's
//! start, is kept as it is) and from then on each point stands for twice as many 5 s samples. A one-hour test ends with 180 points at 20 s spacing; the history's
//! memory and the report's size stay bounded for any run length, and a spike still shows (a percentile keeps
//! its maximum).
//!
//! Who calls it: `RequestStats` owns one (cleared with the stats by `reset_all` and `clear_all`, as Locust's
//! history is); `app::session` samples it at a test's start (or right after a reset) and every 5 s from there; `web` and `report::html` read it. Plain data; no clock.

/// At most this many points are kept (a one-hour report stays far below the issue's ~250 KB).
pub const MAX_POINTS: usize = 300;

/// Locust's `HISTORY_STATS_INTERVAL_SEC`.
pub const INTERVAL_SECS: f64 = 5.0;

/// One point: what Locust's `update_stats_history` appends.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPoint {
    /// Unix seconds (whole).
    pub time: i64,
    /// The current response-time percentiles of `PERCENTILES_TO_CHART`, in ms (`null` already made 0).
    pub percentiles: Vec<i64>,
    pub current_rps: f64,
    pub current_fail_per_sec: f64,
    /// The total's average response time, rounded to 2 decimals as Locust rounds it.
    pub avg_response_time: f64,
    pub user_count: u64,
    /// How many 5 s samples this point stands for (1 until the history was first compacted).
    pub samples: u32,
}

impl HistoryPoint {
    /// Locust's `update_stats_history` point for the total as of `now`: the current percentiles to chart (0
    /// without a window), the current rates, `proper_round(avg, 2)` and the users.
    pub fn of_total(total: &super::EntrySnapshot, user_count: u64, now: f64) -> HistoryPoint {
        HistoryPoint {
            time: now.trunc() as i64,
            percentiles: super::PERCENTILES_TO_CHART
                .iter()
                .map(|&p| {
                    total
                        .current_percentile_at(p, now)
                        .map_or(0, crate::pyfmt::py_round_int)
                })
                .collect(),
            current_rps: total.current_rps(total),
            current_fail_per_sec: total.current_fail_per_sec(total),
            avg_response_time: super::proper_round_2(total.avg_response_time()),
            user_count,
            samples: 1,
        }
    }

    /// The first point of a test: its start (`time`, when its statistics were cleared), before any user or
    /// request.
    pub fn start(time: f64) -> HistoryPoint {
        HistoryPoint {
            time: time.trunc() as i64,
            percentiles: vec![0; super::PERCENTILES_TO_CHART.len()],
            current_rps: 0.0,
            current_fail_per_sec: 0.0,
            avg_response_time: 0.0,
            user_count: 0,
            samples: 1,
        }
    }

    /// `a` and the later `b` as one point.
    fn merge(a: &HistoryPoint, b: &HistoryPoint) -> HistoryPoint {
        let (wa, wb) = (f64::from(a.samples), f64::from(b.samples));
        let mean = |x: f64, y: f64| (x * wa + y * wb) / (wa + wb);
        HistoryPoint {
            time: b.time,
            percentiles: a
                .percentiles
                .iter()
                .zip(&b.percentiles)
                .map(|(x, y)| *x.max(y))
                .collect(),
            current_rps: mean(a.current_rps, b.current_rps),
            current_fail_per_sec: mean(a.current_fail_per_sec, b.current_fail_per_sec),
            avg_response_time: mean(a.avg_response_time, b.avg_response_time),
            user_count: a.user_count.max(b.user_count),
            samples: a.samples + b.samples,
        }
    }
}

/// The bounded, downsampled history of one test.
#[derive(Clone, Debug, Default)]
pub struct History {
    points: Vec<HistoryPoint>,
    /// Samples merged into each point since the last compaction (1, 2, 4, …).
    stride: u32,
    /// The samples of the point being filled (fewer than `stride`), merged.
    pending: Option<HistoryPoint>,
}

impl History {
    /// Add one 5 s sample.
    pub fn push(&mut self, sample: HistoryPoint) {
        let stride = self.stride.max(1);
        let merged = match self.pending.take() {
            Some(p) => HistoryPoint::merge(&p, &sample),
            None => sample,
        };
        if merged.samples < stride {
            self.pending = Some(merged);
            return;
        }
        self.points.push(merged);
        if self.points.len() >= MAX_POINTS {
            // the first point (the test's start) stays as it is; the others merge in pairs, and an odd one out
            // is the first half of the next point
            let rest = &self.points[1..];
            let pairs = rest.len() / 2 * 2;
            self.pending = rest.get(pairs).cloned();
            self.points = std::iter::once(self.points[0].clone())
                .chain(
                    rest[..pairs]
                        .chunks_exact(2)
                        .map(|c| HistoryPoint::merge(&c[0], &c[1])),
                )
                .collect();
            self.stride = stride * 2;
        }
    }

    /// Every point, the one being filled last.
    pub fn points(&self) -> Vec<HistoryPoint> {
        let mut v = self.points.clone();
        v.extend(self.pending.clone());
        v
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.pending.is_none()
    }

    pub fn clear(&mut self) {
        *self = History::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: i64, rps: f64, p95: i64) -> HistoryPoint {
        HistoryPoint {
            time: t,
            percentiles: vec![p95 / 2, p95],
            current_rps: rps,
            current_fail_per_sec: 0.0,
            avg_response_time: 1.0,
            user_count: 10,
            samples: 1,
        }
    }

    #[test]
    fn short_runs_keep_every_sample() {
        let mut h = History::default();
        for i in 0..10 {
            h.push(sample(i * 5, i as f64, 3));
        }
        let p = h.points();
        assert_eq!(p.len(), 10);
        assert_eq!(p[3], sample(15, 3.0, 3));
    }

    #[test]
    fn long_runs_stay_bounded_and_keep_spikes_and_rates() {
        let mut h = History::default();
        // ten hours of 5 s samples at 100 RPS, one 5 s spike to p95 = 900 ms and 400 RPS in the middle
        let n = 10 * 3600 / 5;
        for i in 0..n {
            let spike = i == n / 2;
            h.push(sample(
                i * 5,
                if spike { 400.0 } else { 100.0 },
                if spike { 900 } else { 20 },
            ));
        }
        let p = h.points();
        assert!(
            p.len() <= MAX_POINTS && p.len() >= MAX_POINTS / 4,
            "{}",
            p.len()
        );
        assert_eq!(p.iter().map(|x| x.percentiles[1]).max(), Some(900));
        // points keep increasing times, end at the last sample and count every sample once
        assert!(p.windows(2).all(|w| w[0].time < w[1].time));
        assert_eq!(p.last().unwrap().time, (n - 1) * 5);
        assert_eq!(
            p.iter().map(|x| u64::from(x.samples)).sum::<u64>(),
            n as u64
        );
        // the total request count the points stand for is what was sent
        let requests: f64 = p.iter().map(|x| x.current_rps * f64::from(x.samples)).sum();
        assert!((requests - (100.0 * n as f64 + 300.0)).abs() < 1e-6);
    }

    #[test]
    fn one_hour_has_the_documented_shape() {
        let mut h = History::default();
        for i in 0..720 {
            h.push(sample(i * 5, 1.0, 1));
        }
        let p = h.points();
        // the start, then 20 s spacing, and the point being filled
        assert_eq!(p.len(), 181);
        assert_eq!((p[0].time, p[0].samples), (0, 1));
        assert!(p[1..180].iter().all(|x| x.samples == 4), "20 s spacing");
        assert_eq!(p[1].time, 20);
        h.clear();
        assert!(h.is_empty());
    }
}
