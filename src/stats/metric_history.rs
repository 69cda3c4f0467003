//! The metric rows' history behind the web UI's Metrics charts: every 5 s (with the request history, `history`),
//! for each metric over all its names, its current 50th and 95th percentiles and, for a metric in tokens, its
//! current tokens per second; bounded as the request history is (at most `history::MAX_POINTS` points, merged in
//! pairs beyond: a percentile or a rate keeps its maximum) and at most [`MAX_METRICS`] metrics, so the charts show
//! the whole run for any run length.
//!
//! Who calls it: `RequestStats` owns one, cleared with its history; `RequestStats::sample_history` samples it;
//! `report::metrics` (the `/rlocust/metrics` route) reads it. What it must not do: format anything, or keep more
//! than its bounds.
use super::history::{History, HistoryPoint};
use super::snapshot::Snapshot;

/// The most metrics followed (the first recorded).
pub const MAX_METRICS: usize = 8;

/// Values kept per metric in a point: p50, p95, current rate.
const PER_METRIC: usize = 3;

/// A point's missing value (no values in the window, or no rate for a metric not in tokens).
const NONE: i64 = -1;

/// The history of the metric rows of one test.
#[derive(Clone, Debug, Default)]
pub struct MetricHistory {
    /// `(metric, unit)` in the order first sampled.
    metrics: Vec<(String, String)>,
    /// Each point's `percentiles` holds, for metric `i`, p50, p95 and the rate at `3 i ..`, × 1000 (rounded), or
    /// -1 when missing; every point has room for [`MAX_METRICS`] metrics, so merged points line up.
    points: History,
}

/// One metric's values at one point (in its unit; the rate per second).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricPoint {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub per_second: Option<f64>,
}

impl MetricHistory {
    /// Add the sample of `snap` (its time is `now`); nothing before the run has a metric.
    pub fn sample(&mut self, snap: &Snapshot, now: f64) {
        let totals: Vec<_> = snap.metrics.iter().filter(|m| m.is_aggregated()).collect();
        if totals.is_empty() {
            return;
        }
        for m in &totals {
            if self.metrics.len() < MAX_METRICS
                && !self.metrics.iter().any(|(n, _)| n == m.metric())
            {
                self.metrics.push((m.metric().to_owned(), m.unit.clone()));
            }
        }
        let mut values = vec![NONE; MAX_METRICS * PER_METRIC];
        let enc = |v: Option<f64>| v.map_or(NONE, |v| (v * 1000.0).round() as i64);
        for (i, (name, _)) in self.metrics.iter().enumerate() {
            if let Some(m) = totals.iter().find(|m| m.metric() == name) {
                values[PER_METRIC * i] = enc(m.row.current_percentile(0.5));
                values[PER_METRIC * i + 1] = enc(m.row.current_percentile(0.95));
                values[PER_METRIC * i + 2] = enc(snap.metric_current_rate(m));
            }
        }
        let mut point = HistoryPoint::start(now);
        point.percentiles = values;
        self.points.push(point);
    }

    /// `(metric, unit)` of each metric followed.
    pub fn metrics(&self) -> &[(String, String)] {
        &self.metrics
    }

    /// Every point, oldest first: its time (Unix seconds) and each followed metric's values.
    pub fn points(&self) -> Vec<(i64, Vec<MetricPoint>)> {
        let dec = |v: i64| (v != NONE).then(|| v as f64 / 1000.0);
        self.points
            .points()
            .into_iter()
            .map(|p| {
                let values = (0..self.metrics.len())
                    .map(|i| MetricPoint {
                        p50: dec(p.percentiles[PER_METRIC * i]),
                        p95: dec(p.percentiles[PER_METRIC * i + 1]),
                        per_second: dec(p.percentiles[PER_METRIC * i + 2]),
                    })
                    .collect();
                (p.time, values)
            })
            .collect()
    }

    pub fn clear(&mut self) {
        *self = MetricHistory::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RequestStats;

    #[test]
    fn a_long_run_keeps_its_whole_history_bounded_and_its_spikes() {
        let s = RequestStats::new_at(1000.0);
        let mut h = MetricHistory::default();
        // two hours, a sample every 5 s; ttft 100 ms but 900 ms once; 50 tokens a second
        for i in 0..1440 {
            let t = 1000.0 + f64::from(i) * 5.0;
            let ttft = if i == 700 { 900.0 } else { 100.0 };
            for k in 0..5 {
                let at = t + f64::from(k);
                s.log_metric("ttft", "/chat", "ms", &[ttft], at).unwrap();
                s.log_metric("output_tokens", "/chat", "tokens", &[50.0], at)
                    .unwrap();
            }
            h.sample(&s.snapshot_at(t + 4.5), t + 4.5);
        }
        assert_eq!(
            h.metrics(),
            [
                ("ttft".to_owned(), "ms".to_owned()),
                ("output_tokens".to_owned(), "tokens".to_owned())
            ]
        );
        let p = h.points();
        assert!(p.len() <= crate::stats::history::MAX_POINTS, "{}", p.len());
        // from the first sample to the last: the whole run
        assert_eq!(p.first().unwrap().0, 1004);
        assert_eq!(p.last().unwrap().0, 1000 + 1439 * 5 + 4);
        let ttft_max = p.iter().filter_map(|x| x.1[0].p95).fold(0.0, f64::max);
        assert!((ttft_max - 900.0).abs() < 1.0, "{ttft_max}");
        let rate = p.last().unwrap().1[1].per_second.unwrap();
        assert!((rate - 50.0).abs() < 1e-9, "{rate}");
        assert_eq!(p[10].1[0].per_second, None);
        h.clear();
        assert!(h.points().is_empty() && h.metrics().is_empty());
    }
}
