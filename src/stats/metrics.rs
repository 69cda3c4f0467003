//! Metric rows: measurements that are not requests (a stream's time to first token, the gaps between its
//! tokens, its output tokens; a locustfile's own values), keyed `(metric, name)`, each with one unit per metric.
//!
//! A metric row is a request row's machinery without the request: the same live state (`row::EntryState`: an
//! exact histogram, counts and sums, per-second counts, a current window), the same snapshot figures
//! ([`EntrySnapshot`]: percentiles, average, min, max) and the same distributed report form ([`RowData`]), so
//! a master merges workers' metric rows exactly as it merges request rows. What differs: a value is in the
//! metric's unit (the histogram holds it × 1000, as a request row holds ms as µs), and nothing here is ever
//! counted as a request (no `Aggregated` request total, no RPS, no failures).
//!
//! Who calls it: `engine::record` (stream metrics) and `py` (the custom metric API) record; `RequestStats`
//! resets, reports and merges it with the request rows; readers get [`MetricSnapshot`]s in the `Snapshot` (declared in `snapshot`, with
//! the rates below).
//! What it must not do: decide what a metric means (that is `engine::record`), format anything, or hold a
//! lock for more than a row's update.
//!
//! To add a figure to every metric row: add it to `Totals` (see `totals`), which metric rows share.
//!
//! Throughput (rows in [`TOKENS`], such as `output_tokens` and `input_tokens`): a row's sum is its totals'
//! `total_response_time` (the sum of its values: exact for whole numbers); its values summed per second are kept
//! where a request row keeps its failures per second (a metric row has none), so a worker's report carries them
//! and a master merges them as it merges failures. [`crate::stats::Snapshot::metric_rate`] is the sum over the run's span (the
//! one `total_rps` uses, to the latest record of requests or metrics), [`crate::stats::Snapshot::metric_current_rate`] the mean
//! of the per-second sums over the window `current_rps` uses.

use std::sync::Arc;

use indexmap::IndexMap;
use parking_lot::Mutex;

use super::row::{EntryState, RowData};
pub use super::snapshot::{AGGREGATED, TOKENS};
use super::snapshot::{EntrySnapshot, MetricSnapshot};
use super::totals::Totals;
use super::window::{PerSecond, bucket_index};
use super::{ms_to_us, sec_of};

/// The longest metric name, name and unit accepted (as given, in bytes).
const MAX_LABEL: usize = 256;

/// Why a value was not recorded (the custom metric API raises it as a `ValueError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("metric {metric:?} is recorded in {unit:?}, not {given:?}")]
    UnitChanged {
        metric: String,
        unit: String,
        given: String,
    },
    #[error("a metric value must be a finite number >= 0, not {0}")]
    BadValue(String),
    #[error(
        "a metric's name must be non-empty, and it, its row's name and its unit at most 256 bytes"
    )]
    BadLabel,
}

/// One metric row as a distributed report carries it: the request row's form ([`RowData`], whose `method` is
/// the metric) and the metric's unit.
#[derive(Debug, Clone)]
pub struct MetricRowData {
    pub unit: String,
    pub row: RowData,
}

impl MetricRowData {
    pub fn metric(&self) -> &str {
        &self.row.method
    }
}

struct Row {
    state: Arc<Mutex<EntryState>>,
}

#[derive(Default)]
struct Inner {
    /// `(metric, name)` → row, in the order first recorded.
    rows: IndexMap<(String, String), Row>,
    /// metric → its unit (the first recorded).
    units: IndexMap<String, String>,
}

/// The metric rows of one run. `Send + Sync`; lives inside `RequestStats`.
#[derive(Default)]
pub struct MetricStats {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MetricStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricStats")
            .field("rows", &self.inner.lock().rows.len())
            .finish()
    }
}

fn check_label(s: &str) -> Result<(), MetricError> {
    if s.len() > MAX_LABEL {
        Err(MetricError::BadLabel)
    } else {
        Ok(())
    }
}

impl MetricStats {
    /// Record `values` (in `unit`) under `(metric, name)` at `now`, under one lock. The first unit recorded for a
    /// metric is its unit; another is refused, as are negative or non-finite values (none of `values` is then
    /// recorded).
    pub fn record(
        &self,
        metric: &str,
        name: &str,
        unit: &str,
        values: &[f64],
        now: f64,
    ) -> Result<(), MetricError> {
        if metric.is_empty() {
            return Err(MetricError::BadLabel);
        }
        check_label(metric)?;
        check_label(name)?;
        check_label(unit)?;
        if let Some(v) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(MetricError::BadValue(crate::pyfmt::py_float_repr(*v)));
        }
        if values.is_empty() {
            return Ok(());
        }
        let state = {
            let mut inner = self.inner.lock();
            match inner.units.get(metric) {
                Some(u) if u != unit => {
                    return Err(MetricError::UnitChanged {
                        metric: metric.to_owned(),
                        unit: u.clone(),
                        given: unit.to_owned(),
                    });
                }
                Some(_) => {}
                None => {
                    inner.units.insert(metric.to_owned(), unit.to_owned());
                }
            }
            let key = (metric.to_owned(), name.to_owned());
            Arc::clone(
                &inner
                    .rows
                    .entry(key)
                    .or_insert_with(|| Row {
                        state: Arc::new(Mutex::new(EntryState::new(now))),
                    })
                    .state,
            )
        };
        let mut row = state.lock();
        for &v in values {
            let us = ms_to_us(v);
            row.log(Some(v), Some((us, bucket_index(us))), 0, now, 0);
        }
        if unit == TOKENS {
            let sum: f64 = values.iter().sum();
            row.add_value_sum(now, sum.round() as u64);
        }
        Ok(())
    }

    /// Zero every row (`start_time` = `now`; rows stay listed), as the request rows on a reset.
    pub fn reset(&self, now: f64) {
        let inner = self.inner.lock();
        for r in inner.rows.values() {
            r.state.lock().reset(now);
        }
    }

    /// Forget every row and unit.
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.rows.clear();
        inner.units.clear();
    }

    /// A worker's report: every row with values, moved out (each replaced by an empty one).
    pub fn take_report(&self, now: f64) -> Vec<MetricRowData> {
        let inner = self.inner.lock();
        let mut out = Vec::new();
        for ((metric, name), r) in &inner.rows {
            let mut s = r.state.lock();
            if s.totals.num_requests == 0 {
                continue;
            }
            let taken = std::mem::replace(&mut *s, EntryState::new(now));
            drop(s);
            let unit = inner.units.get(metric).cloned().unwrap_or_default();
            out.push(MetricRowData {
                unit,
                row: taken.into_row(name.clone(), metric.clone()),
            });
        }
        out
    }

    /// Merge a worker's metric rows (created when new; a row whose unit differs from the metric's is dropped:
    /// two workers disagreeing on a unit is the locustfile's error, and mixing the values would be wrong).
    pub fn merge_report(&self, rows: &[MetricRowData], now: f64) {
        let sec = sec_of(now);
        let mut inner = self.inner.lock();
        for m in rows {
            let metric = m.row.method.as_str();
            match inner.units.get(metric) {
                Some(u) if *u != m.unit => continue,
                Some(_) => {}
                None => {
                    inner.units.insert(metric.to_owned(), m.unit.clone());
                }
            }
            let key = (metric.to_owned(), m.row.name.clone());
            let row = inner.rows.entry(key).or_insert_with(|| Row {
                state: Arc::new(Mutex::new(EntryState::new(now))),
            });
            row.state.lock().merge(&m.row, sec);
        }
    }

    /// Every row as of `now`, in the order first recorded, then for each metric (in the order first recorded) its
    /// row over all names, named [`AGGREGATED`].
    pub fn snapshot(&self, now: f64) -> Vec<MetricSnapshot> {
        let (rows, units): (Vec<_>, IndexMap<String, String>) = {
            let inner = self.inner.lock();
            let rows = inner
                .rows
                .iter()
                .map(|((m, n), r)| (m.clone(), n.clone(), Arc::clone(&r.state)))
                .collect();
            (rows, inner.units.clone())
        };
        let mut out: Vec<MetricSnapshot> = rows
            .into_iter()
            .map(|(metric, name, state)| {
                let raw = state.lock().copy(name, metric, now, true);
                let (row, fresh) = raw.finish();
                if fresh.is_some() {
                    state.lock().store_export(fresh);
                }
                let unit = units.get(&row.method).cloned().unwrap_or_default();
                MetricSnapshot { unit, row }
            })
            .collect();
        for (metric, unit) in &units {
            let parts: Vec<&EntrySnapshot> = out
                .iter()
                .filter(|m| m.row.method == *metric)
                .map(|m| &m.row)
                .collect();
            if parts.is_empty() {
                continue;
            }
            let row = merged(metric, &parts);
            out.push(MetricSnapshot {
                unit: unit.clone(),
                row,
            });
        }
        out
    }
}

/// The rows of one metric as one row over all its names.
fn merged(metric: &str, parts: &[&EntrySnapshot]) -> EntrySnapshot {
    let start = parts
        .iter()
        .map(|p| p.totals.start_time)
        .fold(f64::INFINITY, f64::min);
    let mut totals = Totals::new(start);
    let mut buckets: Vec<(u64, u64)> = Vec::new();
    let mut window: Vec<(u64, u64)> = Vec::new();
    let mut per_sec = PerSecond::default();
    let mut sums_per_sec = PerSecond::default();
    let mut num_samples = 0;
    for p in parts {
        totals.merge(&p.totals);
        buckets.extend(p.buckets.iter().copied());
        window.extend(p.window.iter().copied());
        num_samples += p.num_samples;
        for (s, n) in p.reqs_per_sec.iter() {
            per_sec.add(s, n);
        }
        for (s, n) in p.num_fail_per_sec().iter() {
            sums_per_sec.add(s, n);
        }
    }
    EntrySnapshot {
        name: AGGREGATED.to_owned(),
        method: metric.to_owned(),
        totals,
        num_samples,
        buckets: sum_sorted(buckets).into(),
        window: sum_sorted(window),
        reqs_per_sec: per_sec,
        fails_per_sec: sums_per_sec,
        corrected: None,
    }
}

/// `(value, count)` pairs sorted by value, equal values summed.
fn sum_sorted(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort_unstable_by_key(|p| p.0);
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (k, n) in v {
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 += n,
            _ => out.push((k, n)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_unit_and_percentiles_and_never_mix_metrics() {
        let m = MetricStats::default();
        m.record("ttft", "/chat", "ms", &[300.0, 310.0, 320.0], 100.0)
            .unwrap();
        m.record("output_tokens", "/chat", "tokens", &[40.0], 100.0)
            .unwrap();
        m.record("ttft", "/complete", "ms", &[100.0], 100.0)
            .unwrap();
        assert_eq!(
            m.record("ttft", "/chat", "s", &[1.0], 100.0),
            Err(MetricError::UnitChanged {
                metric: "ttft".into(),
                unit: "ms".into(),
                given: "s".into()
            })
        );
        assert!(matches!(
            m.record("x", "/a", "ms", &[1.0, -2.0], 100.0),
            Err(MetricError::BadValue(_))
        ));
        assert!(m.record("x", "/a", "ms", &[f64::NAN], 100.0).is_err());
        let snap = m.snapshot(101.0);
        let names: Vec<(String, String)> = snap
            .iter()
            .map(|s| (s.metric().to_owned(), s.name().to_owned()))
            .collect();
        assert_eq!(
            names,
            [
                ("ttft", "/chat"),
                ("output_tokens", "/chat"),
                ("ttft", "/complete"),
                ("ttft", "Aggregated"),
                ("output_tokens", "Aggregated")
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        let chat = &snap[0];
        assert_eq!(chat.unit, "ms");
        assert_eq!(chat.count(), 3);
        // exact to 0.1 % (the histogram's buckets), the raw min and max exactly
        assert!((chat.row.percentile(0.5) - 310.0).abs() <= 0.31);
        assert_eq!(chat.row.percentile(1.0), 320.0);
        assert_eq!(chat.row.avg_response_time(), 310.0);
        let agg = &snap[3];
        assert_eq!(agg.count(), 4);
        assert_eq!(agg.row.percentile(0.0), 100.0);
        assert_eq!(agg.row.totals.max_response_time, 320.0);
        assert_eq!(snap[1].unit, "tokens");
        assert_eq!(snap[1].row.percentile(0.5), 40.0);
    }

    #[test]
    fn a_report_moves_the_rows_out_and_a_merge_adds_them_exactly() {
        let workers: Vec<MetricStats> = (0..4).map(|_| MetricStats::default()).collect();
        for (i, w) in workers.iter().enumerate() {
            let values: Vec<f64> = (0..(10 + i)).map(|k| 25.0 + k as f64).collect();
            w.record("itl", "/chat", "ms", &values, 10.0).unwrap();
        }
        let master = MetricStats::default();
        let mut sent = 0;
        for w in &workers {
            let report = w.take_report(11.0);
            sent += report.iter().map(|r| r.row.sample_count()).sum::<u64>();
            master.merge_report(&report, 11.0);
            // taken: the worker's rows are empty now, and a second report carries nothing
            assert!(w.take_report(12.0).is_empty());
        }
        assert_eq!(sent, 10 + 11 + 12 + 13);
        let snap = master.snapshot(12.0);
        assert_eq!(snap[0].count(), 46);
        assert_eq!(snap[0].row.percentile(1.0), 37.0);
        assert_eq!(snap[0].row.percentile(0.0), 25.0);
    }

    #[test]
    fn a_reset_empties_rows_and_keeps_them_listed() {
        let m = MetricStats::default();
        m.record("queue_depth", "broker", "messages", &[3.0], 1.0)
            .unwrap();
        m.reset(2.0);
        let snap = m.snapshot(3.0);
        assert_eq!(snap.len(), 2);
        assert_eq!(snap[0].count(), 0);
        m.clear();
        assert!(m.snapshot(4.0).is_empty());
    }
}
