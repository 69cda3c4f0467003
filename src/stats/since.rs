//! A window of a run: what happened between two snapshots, exactly. [`Snapshot::since`] subtracts an earlier
//! snapshot from a later one row by row: counts, sums and histogram buckets (HDR buckets subtract exactly, so a
//! window's percentiles are as exact as the run's), failures and task exceptions by key, metric rows the same way.
//! A window row's `start_time` is the earlier snapshot's instant and the total's `last_request_timestamp` the later
//! one's, so `total_rps` of a window is its requests over its length.
//!
//! Who calls it: `runner::readings` (a window of readings), the capacity search (a probe's window). What it must
//! not do: read live state or the clock (both snapshots are values), or format anything.
//!
//! NOTE: a row reset between the two snapshots (`--reset-stats`, the web UI's reset) has a later `start_time`:
//! the window then takes the later row whole (everything since its reset). A window row's minimum and maximum are
//! the raw ones when they were recorded in the window (the later extreme differs from the earlier), else the
//! window's lowest and highest bucket (below the raw value by less than 0.1 %).

use std::collections::HashMap;
use std::sync::Arc;

use super::buckets::bucket_difference;
use super::co::Corrected;
use super::snapshot::MetricSnapshot;
use super::snapshot::{EntrySnapshot, ErrorSnapshot, ExceptionSnapshot, Snapshot};
use super::totals::Totals;

impl Snapshot {
    /// What happened between `earlier` and this snapshot (see the module header).
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let from = earlier.taken_at;
        let to = self.taken_at;
        let before: HashMap<(&str, &str), &EntrySnapshot> = earlier
            .entries
            .iter()
            .map(|e| ((e.method.as_str(), e.name.as_str()), e))
            .collect();
        let entries = self
            .entries
            .iter()
            .map(|e| {
                let old = before.get(&(e.method.as_str(), e.name.as_str())).copied();
                e.since(old, from, to)
            })
            .filter(|e| e.totals.num_requests > 0 || e.totals.num_failures > 0)
            .collect();
        let mut total = self.total.since(Some(&earlier.total), from, to);
        total.totals.last_request_timestamp = Some(to);
        let metric_before: HashMap<(&str, &str), &MetricSnapshot> = earlier
            .metrics
            .iter()
            .map(|m| ((m.metric(), m.name()), m))
            .collect();
        let metrics = self
            .metrics
            .iter()
            .map(|m| MetricSnapshot {
                unit: m.unit.clone(),
                row: m.row.since(
                    metric_before.get(&(m.metric(), m.name())).map(|o| &o.row),
                    from,
                    to,
                ),
            })
            .filter(|m| m.count() > 0)
            .collect();
        Snapshot {
            taken_at: to,
            entries,
            total,
            errors: errors_since(&self.errors, &earlier.errors),
            exceptions: exceptions_since(&self.exceptions, &earlier.exceptions),
            metrics,
        }
    }
}

impl EntrySnapshot {
    /// This row less `earlier` (the same row in an earlier snapshot; `None`: it did not exist yet).
    fn since(&self, earlier: Option<&EntrySnapshot>, from: f64, to: f64) -> EntrySnapshot {
        let reset = earlier.is_none_or(|e| e.totals.start_time != self.totals.start_time);
        let mut w = self.clone();
        if reset {
            return w;
        }
        let e = earlier.expect("checked above");
        let (a, b) = (&self.totals, &e.totals);
        let buckets = bucket_difference(&self.buckets, &e.buckets);
        w.totals = Totals {
            num_requests: a.num_requests.saturating_sub(b.num_requests),
            num_none_requests: a.num_none_requests.saturating_sub(b.num_none_requests),
            num_failures: a.num_failures.saturating_sub(b.num_failures),
            total_response_time: (a.total_response_time - b.total_response_time).max(0.0),
            min_response_time: None,
            max_response_time: 0.0,
            total_content_length: a
                .total_content_length
                .saturating_sub(b.total_content_length),
            start_time: from,
            last_request_timestamp: a.last_request_timestamp.filter(|t| *t > from),
        };
        if let (Some(lo), Some(hi)) = (buckets.first(), buckets.last()) {
            let ms = |us: u64| us as f64 / 1000.0;
            w.totals.min_response_time = Some(match (a.min_response_time, b.min_response_time) {
                (Some(x), Some(y)) if x < y => x,
                _ => ms(lo.0),
            });
            w.totals.max_response_time = if a.max_response_time > b.max_response_time {
                a.max_response_time
            } else {
                ms(hi.0)
            };
        }
        w.num_samples = self.num_samples.saturating_sub(e.num_samples);
        w.buckets = Arc::from(buckets);
        w.corrected = match (&self.corrected, &e.corrected) {
            (Some(c), Some(old)) => Some(corrected_since(c, old)),
            (c, _) => c.clone(),
        };
        let _ = to;
        w
    }
}

fn corrected_since(c: &Corrected, old: &Corrected) -> Corrected {
    Corrected {
        paced_requests: c.paced_requests.saturating_sub(old.paced_requests),
        synthetic_samples: c.synthetic_samples.saturating_sub(old.synthetic_samples),
        buckets: Arc::from(bucket_difference(&c.buckets, &old.buckets)),
        num_samples: c.num_samples.saturating_sub(old.num_samples),
    }
}

fn errors_since(later: &[ErrorSnapshot], earlier: &[ErrorSnapshot]) -> Vec<ErrorSnapshot> {
    let before: HashMap<(&str, &str, &str), u64> = earlier
        .iter()
        .map(|e| {
            (
                (e.method.as_str(), e.name.as_str(), e.error.as_str()),
                e.occurrences,
            )
        })
        .collect();
    later
        .iter()
        .filter_map(|e| {
            let old = before
                .get(&(e.method.as_str(), e.name.as_str(), e.error.as_str()))
                .copied()
                .unwrap_or(0);
            (e.occurrences > old).then(|| ErrorSnapshot {
                occurrences: e.occurrences - old,
                ..e.clone()
            })
        })
        .collect()
}

fn exceptions_since(
    later: &[ExceptionSnapshot],
    earlier: &[ExceptionSnapshot],
) -> Vec<ExceptionSnapshot> {
    let before: HashMap<(&str, &str), u64> = earlier
        .iter()
        .map(|e| ((e.msg.as_str(), e.traceback.as_str()), e.count))
        .collect();
    later
        .iter()
        .filter_map(|e| {
            let old = before
                .get(&(e.msg.as_str(), e.traceback.as_str()))
                .copied()
                .unwrap_or(0);
            (e.count > old).then(|| ExceptionSnapshot {
                count: e.count - old,
                ..e.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::stats::RequestStats;

    #[test]
    fn a_window_holds_only_what_happened_in_it() {
        let s = RequestStats::new_at(1_000.0);
        for i in 0..100 {
            s.log_request("GET", "/a", Some(10.0), 5, 1_000.5 + i as f64 * 0.01);
        }
        s.log_error("GET", "/a", "boom", 1_001.0);
        let early = s.snapshot_at(1_002.0);
        for i in 0..50 {
            s.log_request("GET", "/a", Some(100.0), 5, 1_002.5 + i as f64 * 0.01);
            s.log_request("GET", "/b", Some(200.0), 1, 1_002.5);
        }
        s.log_error("GET", "/a", "boom", 1_003.0);
        s.log_error("GET", "/a", "boom", 1_003.0);
        let late = s.snapshot_at(1_012.0);
        let w = late.since(&early);
        assert_eq!(w.total.totals.num_requests, 100);
        assert_eq!(w.total.totals.num_failures, 2);
        let a = w.entries.iter().find(|e| e.name == "/a").unwrap();
        assert_eq!(a.totals.num_requests, 50);
        let near = |v: f64, want: f64| (v - want).abs() <= want * 0.001;
        assert!(near(a.percentile(0.5), 100.0), "{}", a.percentile(0.5));
        // the raw extremes were recorded before the window: its lowest and highest bucket, within 0.1 %
        let min = a.totals.min_response_time.unwrap();
        assert!((99.9..=100.0).contains(&min), "{min}");
        assert!((99.9..=100.0).contains(&a.totals.max_response_time));
        assert_eq!(w.total.percentile(0.99), 200.0); // the raw maximum, recorded in the window
        assert!(near(w.total.percentile(0.25), 100.0));
        assert!((w.total.total_rps(&w.total) - 10.0).abs() < 1e-9);
        assert_eq!(w.errors.len(), 1);
        assert_eq!(w.errors[0].occurrences, 2);
        // nothing happened: an empty window
        let again = late.since(&late);
        assert_eq!(again.total.totals.num_requests, 0);
        assert!(again.entries.is_empty() && again.errors.is_empty());
        assert!(!again.total.has_response_times());
    }

    #[test]
    fn metric_rows_subtract_too() {
        let s = RequestStats::new_at(1_000.0);
        s.log_metric("ttft", "/chat", "ms", &[20.0], 1_000.5)
            .unwrap();
        let early = s.snapshot_at(1_001.0);
        s.log_metric("ttft", "/chat", "ms", &[80.0; 9], 1_001.5)
            .unwrap();
        let w = s.snapshot_at(1_002.0).since(&early);
        let row = w
            .metrics
            .iter()
            .find(|m| m.metric() == "ttft" && m.is_aggregated())
            .unwrap();
        assert_eq!(row.count(), 9);
        assert!((row.row.percentile(0.0) - 80.0).abs() < 0.08);
    }
}
