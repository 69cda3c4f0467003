//! The owned copy every reader works from: [`Snapshot`] (the entries, the `Aggregated` total,
//! the failure rows and the task exceptions), [`EntrySnapshot`] with every figure Locust
//! derives from a row (cumulative and current percentiles, average, median, fail ratio, total
//! and current rates, the JSON `response_times` buckets, Python `int`/`float` types), and
//! [`ErrorSnapshot`] / [`ExceptionSnapshot`] (reference §5.6, §6), and [`MetricSnapshot`], a metric row as of
//! the snapshot, with its rates ([`Snapshot::metric_rate`]).
//!
//! Who calls it: `live` builds snapshots in `RequestStats::snapshot_at` (`row` each row, `metrics` the metric
//! rows); every reader (console,
//! CSV, JSON, the Python stats view, web UI) takes a [`Snapshot`] and computes its numbers here.
//!
//! What it must not do: look at live state or take a lock (a snapshot is a plain value), read
//! the clock (the snapshot carries `taken_at` and the rows' timestamps), format anything (that
//! is `report`), or touch Python.

use std::collections::BTreeMap;

use super::co::Corrected;
use super::totals::Totals;
use super::window::PerSecond;
use super::{Buckets, Num, bucket_response_time, sec_of};

/// An owned copy of all statistics, taken row by row at about one moment (the total is copied
/// last, so it never shows less than the rows).
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Unix time the snapshot was taken (anchors the current-percentile window).
    pub taken_at: f64,
    /// Entries in insertion order (first request first).
    pub entries: Vec<EntrySnapshot>,
    /// The `Aggregated` row (method "").
    pub total: EntrySnapshot,
    /// Failure rows in insertion order.
    pub errors: Vec<ErrorSnapshot>,
    /// Task exceptions in insertion order.
    pub exceptions: Vec<ExceptionSnapshot>,
    /// The metric rows (never requests): each `(metric, name)` in the order first recorded, then each metric's
    /// row over all names (`metrics`).
    pub metrics: Vec<MetricSnapshot>,
}

impl Snapshot {
    /// True when the run recorded requests of fixed-rate users (`constant_pacing`, `constant_throughput`), so
    /// rows can carry corrected percentiles ([`EntrySnapshot::corrected_percentile`]).
    pub fn has_corrected(&self) -> bool {
        self.total.corrected.is_some()
    }

    /// Entries sorted by `(name, method)` (Locust `sort_stats`; code-point order like Python).
    pub fn sorted_entries(&self) -> Vec<&EntrySnapshot> {
        let mut v: Vec<&EntrySnapshot> = self.entries.iter().collect();
        v.sort_by(|a, b| {
            (a.name.as_str(), a.method.as_str()).cmp(&(b.name.as_str(), b.method.as_str()))
        });
        v
    }
}

/// One row of statistics (an entry or the total) as of a snapshot.
#[derive(Clone, Debug)]
pub struct EntrySnapshot {
    pub name: String,
    pub method: String,
    /// The row's counts and sums (`totals`).
    pub totals: Totals,
    /// Histogram buckets as `(lowest µs of the bucket, count)`, ascending, shared between
    /// snapshots while unchanged. NOTE: the lower bound is exact for every value the bucket can
    /// hold exactly (all whole µs below 2.048 ms, even µs below 4.096 ms, ...) and is otherwise
    /// below the true value by less than 0.1 %.
    pub(super) buckets: Buckets,
    /// Samples in `buckets`.
    pub(super) num_samples: u64,
    /// The same for the current window (the last `CURRENT_WINDOW_SECS` seconds).
    pub(super) window: Vec<(u64, u64)>,
    pub(super) reqs_per_sec: PerSecond,
    pub(super) fails_per_sec: PerSecond,
    /// The coordinated-omission corrected distribution; `None` when no request of the row came from a
    /// fixed-rate user (see [`EntrySnapshot::corrected_percentile`]).
    pub(super) corrected: Option<Corrected>,
}

use super::buckets::{rank as percentile_rank, value_at as value_at_rank};

impl EntrySnapshot {
    /// The response-time histogram as `(lowest µs of the bucket, count)` pairs, ascending (exporters that
    /// re-bucket it, e.g. Prometheus's `le` buckets).
    pub fn histogram_us(&self) -> &[(u64, u64)] {
        &self.buckets
    }

    /// Requests with a response time (Locust `num_requests - num_none_requests`).
    pub fn num_timed_requests(&self) -> u64 {
        self.totals.num_requests - self.totals.num_none_requests
    }

    /// True when the response-time histogram has samples (Locust `if r.response_times`).
    pub fn has_response_times(&self) -> bool {
        !self.buckets.is_empty()
    }

    fn clamp_ms(&self, ms: f64) -> f64 {
        // A bucket's lower bound can lie just below the raw min (by < 0.1 %); never report a
        // value outside the raw [min, max].
        match self.totals.min_response_time {
            Some(min) => ms.min(self.totals.max_response_time).max(min),
            None => ms,
        }
    }

    /// Cumulative response-time percentile in ms (`p` in 0..=1); 0 when there are no samples.
    /// The lowest and highest ranks give the raw min and max exactly.
    pub fn percentile(&self, p: f64) -> f64 {
        let n = self.num_samples;
        if n == 0 {
            return 0.0;
        }
        let rank = percentile_rank(n, p);
        if rank == n - 1 {
            return self.totals.max_response_time;
        }
        if rank == 0
            && let Some(min) = self.totals.min_response_time
        {
            return min;
        }
        match value_at_rank(&self.buckets, rank) {
            Some(us) => self.clamp_ms(us as f64 / 1000.0),
            None => 0.0,
        }
    }

    /// Percentile over the last `CURRENT_WINDOW_SECS` seconds before the snapshot; `None` when
    /// that window has no samples.
    pub fn current_percentile(&self, p: f64) -> Option<f64> {
        let n: u64 = self.window.iter().map(|b| b.1).sum();
        if n == 0 {
            return None;
        }
        value_at_rank(&self.window, percentile_rank(n, p))
            .map(|us| self.clamp_ms(us as f64 / 1000.0))
    }

    /// Whether Locust would find a start for its current-percentile window (for the total): it keeps a copy of
    /// the histogram at the second the stats were (re)set and, when a request opens a new second, at the second
    /// before; a current percentile needs a copy from 2 to 18 seconds before `now`, else it is `null` (the first
    /// 2 s after a start or a reset, or after a long pause).
    pub fn has_current_window(&self, now: f64) -> bool {
        let t = now.floor() as i64;
        let start = self.totals.start_time.floor() as i64;
        (t - 18..=t - 2)
            .any(|x| x == start || (x >= start && self.num_reqs_per_sec().get(x + 1) > 0))
    }

    /// Locust `get_current_response_time_percentile(p)` of the total as of `now`: `None` without a window.
    pub fn current_percentile_at(&self, p: f64, now: f64) -> Option<f64> {
        if self.has_current_window(now) {
            self.current_percentile(p)
        } else {
            None
        }
    }

    /// The response-time percentile in ms (`p` in 0..=1, Locust's rank rule as [`Self::percentile`]) corrected
    /// for coordinated omission: the measured samples plus, for each request of a fixed-rate user that took
    /// `R` longer than its interval `T`, the samples `R - T`, `R - 2T`, ... (> 0) of the requests its stall
    /// kept it from sending. `None` when no request of this row came from a fixed-rate user. Without a stall
    /// it equals [`Self::percentile`]; the maximum never changes.
    pub fn corrected_percentile(&self, p: f64) -> Option<f64> {
        let c = self.corrected.as_ref()?;
        if c.synthetic_samples == 0 {
            return Some(self.percentile(p));
        }
        let n = c.num_samples;
        let rank = percentile_rank(n, p);
        if rank == n - 1 {
            return Some(self.totals.max_response_time);
        }
        value_at_rank(&c.buckets, rank)
            .map(|us| (us as f64 / 1000.0).min(self.totals.max_response_time))
    }

    /// The corrected distribution's figures, `None` as for [`Self::corrected_percentile`]: timed requests of
    /// fixed-rate users, synthetic samples added, and all samples (measured + synthetic).
    pub fn corrected_counts(&self) -> Option<CorrectedCounts> {
        self.corrected.as_ref().map(|c| CorrectedCounts {
            paced_requests: c.paced_requests,
            synthetic_samples: c.synthetic_samples,
            samples: c.num_samples,
        })
    }

    /// Locust `avg_response_time`.
    pub fn avg_response_time(&self) -> f64 {
        let n = self.num_timed_requests();
        if n == 0 {
            0.0
        } else {
            self.totals.total_response_time / n as f64
        }
    }

    /// Locust `median_response_time`: `Int(0)` when there are no samples; otherwise the median
    /// rounded to whole ms (half to even, like Python's `round`), replaced by the raw min/max (a
    /// float) when it falls outside them — as Locust clamps its bucketed median.
    pub fn median_response_time(&self) -> Num {
        if self.buckets.is_empty() {
            return Num::Int(0);
        }
        let median = self.percentile(0.5).round_ties_even();
        if median > self.totals.max_response_time {
            Num::Float(self.totals.max_response_time)
        } else if let Some(min) = self.totals.min_response_time
            && median < min
        {
            Num::Float(min)
        } else {
            Num::Int(median as i64)
        }
    }

    /// Locust `fail_ratio`.
    pub fn fail_ratio(&self) -> f64 {
        if self.totals.num_requests == 0 {
            if self.totals.num_failures > 0 {
                1.0
            } else {
                0.0
            }
        } else {
            self.totals.num_failures as f64 / self.totals.num_requests as f64
        }
    }

    /// Locust `avg_content_length` (`int 0` when there are no requests).
    pub fn avg_content_length(&self) -> Num {
        if self.totals.num_requests == 0 {
            Num::Int(0)
        } else {
            Num::Float(self.totals.total_content_length as f64 / self.totals.num_requests as f64)
        }
    }

    /// `min_response_time or 0` as Locust writes it in the CSV.
    pub fn min_or_zero(&self) -> Num {
        match self.totals.min_response_time {
            Some(v) if v != 0.0 => Num::Float(v),
            _ => Num::Int(0),
        }
    }

    /// `max_response_time` with Locust's type: the int 0 until a positive time is recorded.
    pub fn max_response_time_num(&self) -> Num {
        if self.totals.max_response_time > 0.0 {
            Num::Float(self.totals.max_response_time)
        } else {
            Num::Int(0)
        }
    }

    /// `total_response_time` with Locust's type: the int 0 until a timed request is recorded.
    pub fn total_response_time_num(&self) -> Num {
        if self.num_timed_requests() == 0 {
            Num::Int(0)
        } else {
            Num::Float(self.totals.total_response_time)
        }
    }

    /// Locust `total_rps`: `requests / (total.totals.last_request_timestamp - total.totals.start_time)`.
    pub fn total_rps(&self, total: &EntrySnapshot) -> f64 {
        Self::per_total_second(self.totals.num_requests, total)
    }

    /// Locust `total_fail_per_sec`.
    pub fn total_fail_per_sec(&self, total: &EntrySnapshot) -> f64 {
        Self::per_total_second(self.totals.num_failures, total)
    }

    fn per_total_second(n: u64, total: &EntrySnapshot) -> f64 {
        match total.totals.last_request_timestamp {
            Some(last) if last != 0.0 && total.totals.start_time != 0.0 => {
                let span = last - total.totals.start_time;
                // NOTE: Locust only guards span == 0; a negative span cannot happen there.
                if span > 0.0 { n as f64 / span } else { 0.0 }
            }
            _ => 0.0,
        }
    }

    /// Locust `current_rps` (reference §5.6): `L = int(total.totals.last_request_timestamp)`,
    /// `S = max(L - 12, int(total.totals.start_time))`; the mean of this entry's per-second counts over
    /// `[S, L - 2)` (missing seconds are 0; 0 when the range is empty).
    pub fn current_rps(&self, total: &EntrySnapshot) -> f64 {
        Self::current_rate(&self.reqs_per_sec, total)
    }

    /// Locust `current_fail_per_sec` (same window as [`Self::current_rps`]).
    pub fn current_fail_per_sec(&self, total: &EntrySnapshot) -> f64 {
        Self::current_rate(&self.fails_per_sec, total)
    }

    fn current_rate(counts: &PerSecond, total: &EntrySnapshot) -> f64 {
        let Some(last) = total.totals.last_request_timestamp else {
            return 0.0;
        };
        let l = sec_of(last);
        let s = (l - 12).max(sec_of(total.totals.start_time));
        let end = l - 2;
        if end <= s {
            return 0.0;
        }
        let sum: u64 = (s..end).map(|t| counts.get(t)).sum();
        sum as f64 / (end - s) as f64
    }

    /// The histogram re-bucketed with Locust's `bucket_response_time` (`{ms: count}`), as the
    /// JSON output's `response_times`.
    pub fn response_times_buckets(&self) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for &(us, n) in self.buckets.iter() {
            *out.entry(bucket_response_time(us as f64 / 1000.0))
                .or_insert(0) += n;
        }
        out
    }

    /// `{unix second: requests}` for the whole run.
    pub fn num_reqs_per_sec(&self) -> &PerSecond {
        &self.reqs_per_sec
    }

    /// `{unix second: failures}` for the whole run.
    pub fn num_fail_per_sec(&self) -> &PerSecond {
        &self.fails_per_sec
    }
}

/// How much of a row the coordinated-omission correction concerns ([`EntrySnapshot::corrected_counts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorrectedCounts {
    /// Timed requests that came from fixed-rate users.
    pub paced_requests: u64,
    /// Synthetic samples the correction added (0: corrected = measured).
    pub synthetic_samples: u64,
    /// Measured timed samples + synthetic samples.
    pub samples: u64,
}

/// One failure row.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorSnapshot {
    pub method: String,
    pub name: String,
    /// The error text as recorded (`HTTPError('...')`, `CatchResponseError('...')`).
    pub error: String,
    pub occurrences: u64,
    pub first_seen: Option<f64>,
    pub last_seen: Option<f64>,
}

/// One task exception row.
#[derive(Clone, Debug, PartialEq)]
pub struct ExceptionSnapshot {
    pub count: u64,
    pub msg: String,
    pub traceback: String,
    /// Node ids in the order first seen.
    pub nodes: Vec<String>,
}

/// The name of a metric's row over all its names (as the requests' `Aggregated`).
pub const AGGREGATED: &str = "Aggregated";

/// The unit whose rows get a throughput (sum per second).
pub const TOKENS: &str = "tokens";

/// One metric row as of a snapshot: its figures are an [`EntrySnapshot`]'s (`method` is the metric; its
/// "response times" are the values, in `unit`).
#[derive(Clone, Debug)]
pub struct MetricSnapshot {
    pub unit: String,
    pub row: EntrySnapshot,
}

impl MetricSnapshot {
    pub fn metric(&self) -> &str {
        &self.row.method
    }
    pub fn name(&self) -> &str {
        &self.row.name
    }
    /// How many values the row holds.
    pub fn count(&self) -> u64 {
        self.row.totals.num_requests
    }
    /// Whether this is a metric's row over all its names.
    pub fn is_aggregated(&self) -> bool {
        self.row.name == AGGREGATED
    }
}

impl MetricSnapshot {
    /// Whether the row gets a throughput (its unit is [`TOKENS`]).
    pub fn has_rate(&self) -> bool {
        self.unit == TOKENS
    }
    /// The sum of its values.
    pub fn sum(&self) -> f64 {
        self.row.totals.total_response_time
    }
}

impl Snapshot {
    /// The span a metric row's rate divides by: Locust's `total_rps` span (from the request total's
    /// `start_time`, the run's start or last reset), to the latest record, request or metric value. `None`
    /// before any (or when it is not positive).
    pub fn metric_span(&self) -> Option<(f64, f64)> {
        let start = self.total.totals.start_time;
        let last = self
            .metrics
            .iter()
            .filter_map(|m| m.row.totals.last_request_timestamp)
            .chain(self.total.totals.last_request_timestamp)
            .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.max(t))))?;
        (start != 0.0 && last > start).then_some((start, last))
    }

    /// A row's values per second over the run ([`Snapshot::metric_span`]): tokens per second for a row in tokens;
    /// `None` for a row in another unit. 0 before a span.
    pub fn metric_rate(&self, m: &MetricSnapshot) -> Option<f64> {
        if !m.has_rate() {
            return None;
        }
        Some(match self.metric_span() {
            Some((start, last)) => m.sum() / (last - start),
            None => 0.0,
        })
    }

    /// A row's current values per second, as Locust's `current_rps`: the mean of its per-second sums over
    /// `[max(L - 12, start), L - 2)`, `L` the second of the latest record. `None` for a row not in tokens.
    pub fn metric_current_rate(&self, m: &MetricSnapshot) -> Option<f64> {
        if !m.has_rate() {
            return None;
        }
        let Some((start, last)) = self.metric_span() else {
            return Some(0.0);
        };
        let l = sec_of(last);
        let s = (l - 12).max(sec_of(start));
        let end = l - 2;
        if end <= s {
            return Some(0.0);
        }
        let sums = m.row.num_fail_per_sec();
        let sum: u64 = (s..end).map(|t| sums.get(t)).sum();
        Some(sum as f64 / (end - s) as f64)
    }
}
