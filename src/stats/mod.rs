//! Request statistics: one [`RequestStats`] per run holds a row per `(name, method)` plus the
//! `Aggregated` total, the failure rows keyed by `(method, name, error)` and the task exceptions
//! keyed by traceback (reference §1.16, §5.6, §6).
//!
//! Who calls it: the HTTP engine and the Python bridge record through [`RequestStats::log_request`],
//! [`RequestStats::log_error`] and [`RequestStats::log_exception`] (from tokio worker threads, up to
//! ~100k calls/s); the runner resets and clears; every reader (console, CSV, JSON, web UI) takes an
//! owned [`Snapshot`] and computes its numbers from that, never from the live state.
//!
//! What it must not do: format anything (that is `report`), touch Python, block for long. The
//! total and each entry have their own `parking_lot::Mutex` (a short map lock finds the entry);
//! `log_*` hold them for a fraction of a microsecond, and [`RequestStats::snapshot`] copies one
//! row at a time (a memcpy) and does the expensive work (histogram export, window sums) after
//! releasing them, caching exports of rows that did not change.
//!
//! Numbers follow Locust 2.47 (`locust/stats.py`) except where noted with `NOTE:`. The main
//! deliberate difference: response times go into an HDR histogram in microseconds with 3
//! significant digits, so percentiles are exact to 0.1 % instead of Locust's 2-digit buckets.
//!
//! Files (one responsibility each):
//! - `totals`: a row's counts and sums ([`Totals`]), declared once for the live row, the distributed report and
//!   the snapshot (its header says how to add a figure to every row).
//! - `row`: one row's machinery, for request rows and metric rows alike: its live state, the copy a snapshot
//!   takes under the row's lock, and the form a distributed report carries ([`RowData`]).
//! - `live`: the recording side: [`RequestStats`], its locks, the request rows, the failure and exception
//!   rows.
//! - `window`: the per-second machinery: [`PerSecond`], the histogram bucket layout and the
//!   `CURRENT_WINDOW_SECS` window behind the current percentiles.
//! - `metrics`: the metric rows (a stream's `ttft`, `itl`, ...; a locustfile's own values), keyed
//!   `(metric, name)`, with a request row's machinery but never counted as requests.
//! - `co`: the coordinated-omission correction of fixed-rate users' requests (synthetic samples per row,
//!   merged into a corrected distribution in snapshots; `RequestStats::log_request_paced`).
//! - `buckets`: sparse histograms' differences, percentiles and confidence intervals (a leaf).
//! - `since`: a window between two snapshots ([`Snapshot::since`]: counts, sums and histograms subtracted
//!   exactly).
//! - `snapshot`: the owned [`Snapshot`], [`EntrySnapshot`], [`ErrorSnapshot`],
//!   [`ExceptionSnapshot`] and [`MetricSnapshot`], and every figure derived from a row (percentiles, rates,
//!   averages).
//! - this file: the constants, units and helpers the three share ([`unix_now`], [`Num`],
//!   [`bucket_response_time`], µs conversion, histogram construction, histogram versions).
//! - `tests`: the tests of all of the above.

mod buckets;
mod co;
mod hist;
pub mod history;
pub mod in_flight;
pub mod lateness;
mod live;
pub mod metric_history;
pub mod metrics;
mod row;
mod since;
mod snapshot;
#[cfg(test)]
mod tests;
mod totals;
mod window;

pub use buckets::{bucket_difference, bucket_percentile, percentile_interval};
pub use hist::sparse as sparse_buckets;
pub use live::{ReportData, RequestStats};
pub use metrics::{MetricError, MetricRowData};
pub use row::{CoRow, RowData};
pub use snapshot::{
    CorrectedCounts, EntrySnapshot, ErrorSnapshot, ExceptionSnapshot, MetricSnapshot, Snapshot,
};
pub use totals::Totals;
pub use window::PerSecond;
// the number type reports print (defined on the ground floor, with the formatting that prints it)
pub use crate::pyfmt::Num;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

/// Locust's `PERCENTILES_TO_CHART` (the web UI's and the report's response-time chart, the history points).
pub const PERCENTILES_TO_CHART: [f64; 2] = [0.5, 0.95];

/// Locust `proper_round(x, digits=2)`: Python `round(x + 10 ** (-len(str(x)) - 1), 2)`. A zero average is
/// 0.01, as in Locust.
pub fn proper_round_2(x: f64) -> f64 {
    let digits = crate::pyfmt::py_float_repr(x).len() as i32;
    ((x + 10f64.powi(-digits - 1)) * 100.0).round_ties_even() / 100.0
}

/// Locust's `PERCENTILES_TO_REPORT` (console percentile table and CSV columns).
pub const PERCENTILES_TO_REPORT: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

static REPORTED: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
static INTERVALS: std::sync::OnceLock<(f64, f64)> = std::sync::OnceLock::new();

/// The percentiles of the console table and the CSV columns: Locust's default, or the locustfile's
/// `locust.stats.PERCENTILES_TO_REPORT` (read once, after the init event).
pub fn percentiles_to_report() -> &'static [f64] {
    REPORTED
        .get()
        .map(|v| v.as_slice())
        .unwrap_or(&PERCENTILES_TO_REPORT)
}

/// Seconds between console tables and between CSV writes (`CONSOLE_STATS_INTERVAL_SEC`,
/// `CSV_STATS_INTERVAL_SEC`; 2 and 1 unless the locustfile changed them).
pub fn report_intervals() -> (f64, f64) {
    INTERVALS.get().copied().unwrap_or((2.0, 1.0))
}

/// Set once, from the values of `locust.stats` after the locustfile loaded; invalid values keep the defaults.
pub fn configure_reporting(percentiles: Vec<f64>, console_secs: f64, csv_secs: f64) {
    if !percentiles.is_empty() && percentiles.iter().all(|p| (0.0..=1.0).contains(p)) {
        let _ = REPORTED.set(percentiles);
    }
    let ok = |v: f64| v.is_finite() && v > 0.0;
    let (dc, dv) = report_intervals();
    let _ = INTERVALS.set((
        if ok(console_secs) { console_secs } else { dc },
        if ok(csv_secs) { csv_secs } else { dv },
    ));
}

/// Width in seconds of the "current" percentile window (Locust's
/// `CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW`).
pub const CURRENT_WINDOW_SECS: i64 = 10;

/// Significant decimal digits of the response-time histograms.
const HIST_SIGFIG: u8 = 3;

/// Largest value (µs) recorded; anything above is clamped (about 35 years).
const MAX_RECORDABLE_US: u64 = 1 << 50;

/// The current time as unix seconds.
pub fn unix_now() -> f64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Locust's `bucket_response_time`: about two significant digits, Python `round` (half to even
/// on the exact binary value). Used for the JSON `response_times` dict.
pub fn bucket_response_time(ms: f64) -> i64 {
    if !ms.is_finite() {
        return 0;
    }
    if ms < 100.0 {
        return ms.round_ties_even() as i64;
    }
    let unit = if ms < 1_000.0 {
        10.0
    } else if ms < 10_000.0 {
        100.0
    } else {
        1_000.0
    };
    // q*unit <= ms < (q+1)*unit with an exact remainder, then half-to-even on the remainder.
    let mut q = (ms / unit).floor();
    let mut r = ms - q * unit;
    if r < 0.0 {
        q -= 1.0;
        r += unit;
    } else if r >= unit {
        q += 1.0;
        r -= unit;
    }
    let half = unit / 2.0;
    if r > half || (r == half && q % 2.0 != 0.0) {
        q += 1.0;
    }
    (q * unit) as i64
}

/// Milliseconds (float) to whole microseconds for the histogram: nearest µs, at least 1 µs for
/// any positive time, 0 for zero, negative or NaN.
fn ms_to_us(ms: f64) -> u64 {
    if ms.is_nan() || ms <= 0.0 {
        return 0;
    }
    let us = (ms * 1000.0).round();
    if us < 1.0 {
        1
    } else if us >= MAX_RECORDABLE_US as f64 {
        MAX_RECORDABLE_US
    } else {
        us as u64
    }
}

/// A process-wide unique stamp for a histogram's lifetime (creation or reset), so a cached
/// export can never be mistaken for one of a different histogram with the same change count.
fn new_epoch() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Sorted `(lowest µs of a bucket, count)` pairs, shared between snapshots.
type Buckets = Arc<[(u64, u64)]>;

/// `(epoch, changes)` of a histogram (see [`new_epoch`]).
type HistVersion = (u64, u64);

fn new_histogram() -> Histogram<u64> {
    // 3 significant digits with auto-resize is a valid configuration; this cannot fail.
    Histogram::new(HIST_SIGFIG).expect("3 significant digits is a valid histogram configuration")
}

/// Python `int(x)` for the unix-second keys (truncation toward zero).
fn sec_of(now: f64) -> i64 {
    if now.is_finite() { now as i64 } else { 0 }
}
