//! The recording side of the statistics: [`RequestStats`] and its locks, the request rows keyed by
//! `(name, method)` and their total (each a `row::EntryState`), the failure rows keyed by
//! `(method, name, error)`, the task exceptions keyed by traceback, and the snapshot that copies each row
//! under its lock and finishes it without it (reference §1.16, §6).
//!
//! Who calls it: the HTTP engine and the Python bridge record through
//! [`RequestStats::log_request`], [`RequestStats::log_error`] and [`RequestStats::log_exception`]
//! (from tokio worker threads, up to ~100k calls/s); the runner resets and clears; readers call
//! [`RequestStats::snapshot`] and get an owned [`Snapshot`]. In distributed mode (`distributed::stats_wire`) a worker
//! moves its rows out with [`RequestStats::take_report`] and a master merges them in with
//! [`RequestStats::merge_report`], both as [`RowData`].
//!
//! What it must not do: compute derived figures (percentiles, rates: that is `snapshot`),
//! format anything, touch Python, or hold a lock for more than a memcpy: histogram exports and
//! window sums run after the locks are released. Lock order: `Inner`, then an entry's own lock;
//! the total's lock is never held together with another.

use std::sync::Arc;

use indexmap::{Equivalent, IndexMap};
use parking_lot::Mutex;

use super::history::{History, HistoryPoint};
use super::metric_history::MetricHistory;
use super::metrics::{MetricError, MetricRowData, MetricStats};
use super::row::{EntryState, RawEntry, RowData};
use super::snapshot::{EntrySnapshot, ErrorSnapshot, ExceptionSnapshot, Snapshot};
use super::window::bucket_index;
use super::{ms_to_us, sec_of, unix_now};

/// A worker's report: the entries that had requests or failures, the total and the failure rows, all since
/// the previous report (see [`RequestStats::take_report`]).
#[derive(Debug, Clone)]
pub struct ReportData {
    pub entries: Vec<RowData>,
    pub total: RowData,
    pub errors: Vec<ErrorSnapshot>,
    /// The metric rows that had values (`metrics`).
    pub metrics: Vec<MetricRowData>,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct EntryKey {
    name: String,
    method: String,
}

/// Borrowed form of [`EntryKey`] for allocation-free lookups. Hashes identically because the
/// derived `Hash` feeds each field through `str::hash`, whether it is a `String` or a `&str`.
#[derive(Hash)]
struct EntryKeyRef<'a> {
    name: &'a str,
    method: &'a str,
}

impl Equivalent<EntryKey> for EntryKeyRef<'_> {
    fn equivalent(&self, key: &EntryKey) -> bool {
        self.name == key.name && self.method == key.method
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ErrorKey {
    method: String,
    name: String,
    error: String,
}

/// Borrowed form of [`ErrorKey`] (same hashing argument as [`EntryKeyRef`]).
#[derive(Hash)]
struct ErrorKeyRef<'a> {
    method: &'a str,
    name: &'a str,
    error: &'a str,
}

impl Equivalent<ErrorKey> for ErrorKeyRef<'_> {
    fn equivalent(&self, key: &ErrorKey) -> bool {
        self.method == key.method && self.name == key.name && self.error == key.error
    }
}

#[derive(Debug, Clone, Copy)]
struct ErrorRow {
    occurrences: u64,
    first_seen: Option<f64>,
    last_seen: Option<f64>,
}

#[derive(Debug, Clone)]
struct ExceptionRow {
    count: u64,
    msg: String,
    nodes: Vec<String>,
}

/// The entry rows, the failure rows and the task exceptions. Lock order: `Inner`, then an
/// entry's own lock; the total's lock is never held together with another.
#[derive(Debug)]
struct Inner {
    entries: IndexMap<EntryKey, Arc<Mutex<EntryState>>>,
    errors: IndexMap<ErrorKey, ErrorRow>,
    /// Keyed by traceback text.
    exceptions: IndexMap<String, ExceptionRow>,
}

/// All request statistics of one run. `Send + Sync`; share it as `Arc<RequestStats>`.
///
/// NOTE: each row has its own lock, so a snapshot blocks recording for at most one row's copy
/// (tens of µs) instead of all of them; a stalled tokio worker would inflate the response
/// times of every request it is polling.
#[derive(Debug)]
pub struct RequestStats {
    pub(super) total: Mutex<EntryState>,
    inner: Mutex<Inner>,
    /// The charts' history (cleared with the stats, as Locust's `stats.history`).
    history: Mutex<History>,
    /// The metric rows (`metrics`): reset, cleared, reported and merged with the request rows.
    metrics: MetricStats,
    /// The metric rows' history (`metric_history`), sampled and cleared with `history`.
    metric_history: Mutex<MetricHistory>,
}

impl Default for RequestStats {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestStats {
    /// Empty statistics whose start time is now.
    pub fn new() -> Self {
        Self::new_at(unix_now())
    }

    /// Empty statistics whose start time is `now` (unix seconds).
    pub fn new_at(now: f64) -> Self {
        RequestStats {
            total: Mutex::new(EntryState::new(now)),
            inner: Mutex::new(Inner {
                entries: IndexMap::new(),
                errors: IndexMap::new(),
                exceptions: IndexMap::new(),
            }),
            history: Mutex::new(History::default()),
            metrics: MetricStats::default(),
            metric_history: Mutex::new(MetricHistory::default()),
        }
    }

    /// Run `f` on the entry for `(name, method)`, created (`start_time` = now) when missing.
    fn with_entry<R>(
        inner: &mut Inner,
        name: &str,
        method: &str,
        now: f64,
        f: impl FnOnce(&mut EntryState) -> R,
    ) -> R {
        let idx = match inner.entries.get_index_of(&EntryKeyRef { name, method }) {
            Some(i) => i,
            None => {
                let key = EntryKey {
                    name: name.to_owned(),
                    method: method.to_owned(),
                };
                inner
                    .entries
                    .insert_full(key, Arc::new(Mutex::new(EntryState::new(now))))
                    .0
            }
        };
        let mut entry = inner.entries[idx].lock();
        f(&mut entry)
    }

    /// Record one request in its `(name, method)` entry and in the total.
    ///
    /// `response_time_ms` `None` is a "none" request: it counts in `num_requests` and
    /// `num_none_requests` only. `now` is the unix time (seconds) when it completed. Failures are
    /// recorded here too (their time counts) and additionally through [`Self::log_error`].
    pub fn log_request(
        &self,
        method: &str,
        name: &str,
        response_time_ms: Option<f64>,
        content_length: u64,
        now: f64,
    ) {
        self.log_request_paced(method, name, response_time_ms, content_length, now, None);
    }

    /// [`Self::log_request`] for a request of a user with a fixed-rate wait (`constant_pacing(T)`,
    /// `constant_throughput(1/T)`): `interval_ms` = `T` in ms. Its row and the total then also keep the
    /// coordinated-omission correction (`co`); `None` (or not a positive time) records exactly as
    /// [`Self::log_request`].
    pub fn log_request_paced(
        &self,
        method: &str,
        name: &str,
        response_time_ms: Option<f64>,
        content_length: u64,
        now: f64,
        interval_ms: Option<f64>,
    ) {
        let sample = response_time_ms.map(|ms| {
            let us = ms_to_us(ms);
            (us, bucket_index(us))
        });
        let interval_us = interval_ms.map_or(0, ms_to_us);
        self.total
            .lock()
            .log(response_time_ms, sample, content_length, now, interval_us);
        let mut inner = self.inner.lock();
        Self::with_entry(&mut inner, name, method, now, |e| {
            e.log(response_time_ms, sample, content_length, now, interval_us);
        });
    }

    /// Record one failure (in addition to [`Self::log_request`], as Locust does). `error` is the
    /// final text (`HTTPError('...')`, `CatchResponseError('...')`).
    pub fn log_error(&self, method: &str, name: &str, error: &str, now: f64) {
        self.total.lock().log_failure(now);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        Self::with_entry(inner, name, method, now, |e| e.log_failure(now));
        let key = ErrorKeyRef {
            method,
            name,
            error,
        };
        let row = match inner.errors.get_mut(&key) {
            Some(row) => row,
            None => {
                let owned = ErrorKey {
                    method: method.to_owned(),
                    name: name.to_owned(),
                    error: error.to_owned(),
                };
                inner.errors.entry(owned).or_insert(ErrorRow {
                    occurrences: 0,
                    first_seen: None,
                    last_seen: None,
                })
            }
        };
        row.occurrences += 1;
        if row.first_seen.is_none() {
            row.first_seen = Some(now);
        }
        row.last_seen = Some(now);
    }

    /// Record a task exception, keyed by its traceback text: count, the first message, and the
    /// nodes it happened on (insertion order, no duplicates).
    pub fn log_exception(&self, msg: &str, traceback: &str, node: &str) {
        let mut guard = self.inner.lock();
        let row = match guard.exceptions.get_mut(traceback) {
            Some(row) => row,
            None => guard
                .exceptions
                .entry(traceback.to_owned())
                .or_insert(ExceptionRow {
                    count: 0,
                    msg: msg.to_owned(),
                    nodes: Vec::new(),
                }),
        };
        row.count += 1;
        if !row.nodes.iter().any(|n| n == node) {
            row.nodes.push(node.to_owned());
        }
    }

    /// Locust `reset_all`: the total and every entry are zeroed (`start_time` = now; entries stay
    /// listed) and the errors are cleared. Exceptions are kept.
    pub fn reset_all(&self, now: f64) {
        super::lateness::reset();
        self.history.lock().clear();
        self.metric_history.lock().clear();
        self.metrics.reset(now);
        self.total.lock().reset(now);
        let mut guard = self.inner.lock();
        for e in guard.entries.values() {
            e.lock().reset(now);
        }
        guard.errors.clear();
    }

    /// Reset only the entries that have requests or failures, leaving the total and the errors
    /// alone: what Locust's `serialize_stats()` does as a side effect (reference §6.2 quirk).
    pub fn reset_reported_entries(&self, now: f64) {
        let guard = self.inner.lock();
        for e in guard.entries.values() {
            let mut e = e.lock();
            if e.totals.num_requests != 0 || e.totals.num_failures != 0 {
                e.reset(now);
            }
        }
    }

    /// A worker's report (Locust's `report_to_master` stats part): moves out every entry with requests or
    /// failures (each replaced by an empty one, `start_time` = `now`, so entries stay listed), the failure rows
    /// (emptied) and the total (replaced by an empty one), in that order.
    ///
    /// Nothing recorded is lost or reported twice: each row is swapped whole under its lock, and the entries and
    /// failure rows are swapped together under `Inner` (so an entry's failures always match its failure rows).
    /// NOTE: the residual window is between the entries and the total. [`Self::log_request`] records into the
    /// total first and into its entry after; a request recorded while this runs can be in this report's total
    /// and in the next report's entry, never the other way round (the total is swapped last, as snapshots copy
    /// it last). Over the reports of a run, every sum is exact.
    ///
    /// Locks are held only for pointer swaps: the fresh states are allocated before, the old ones turned
    /// into rows after.
    pub fn take_report(&self, now: f64) -> ReportData {
        let count = self.inner.lock().entries.len();
        let mut fresh: Vec<EntryState> = (0..count).map(|_| EntryState::new(now)).collect();
        let (taken, errors) = {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            let mut taken = Vec::new();
            for (k, e) in &inner.entries {
                let mut e = e.lock();
                if e.totals.num_requests == 0 && e.totals.num_failures == 0 {
                    continue;
                }
                // an entry created since the count above costs one allocation under the lock
                let new = fresh.pop().unwrap_or_else(|| EntryState::new(now));
                taken.push((
                    k.name.clone(),
                    k.method.clone(),
                    std::mem::replace(&mut *e, new),
                ));
            }
            (taken, std::mem::take(&mut inner.errors))
        };
        let fresh_total = EntryState::new(now);
        let total = std::mem::replace(&mut *self.total.lock(), fresh_total);
        drop(fresh);
        let metrics = self.metrics.take_report(now);
        ReportData {
            metrics,
            entries: taken
                .into_iter()
                .map(|(name, method, state)| state.into_row(name, method))
                .collect(),
            total: total.into_row("Aggregated".to_owned(), String::new()),
            errors: errors
                .into_iter()
                .map(|(k, r)| ErrorSnapshot {
                    method: k.method,
                    name: k.name,
                    error: k.error,
                    occurrences: r.occurrences,
                    first_seen: r.first_seen,
                    last_seen: r.last_seen,
                })
                .collect(),
        }
    }

    /// Merge one worker's report (Locust's `worker_report` listener): each entry into the row of its
    /// `(name, method)` (created with `start_time` = `now` when new) with Locust's `extend`, the total into the
    /// total (not rebuilt from the entries), and the failure rows by `(method, name, error)`: occurrences
    /// added, the earliest `first_seen`, the latest `last_seen`. The merged samples count in the current
    /// percentile window at `now`'s second.
    ///
    /// The total is merged first, so a concurrent snapshot (which copies the total last) never shows entries
    /// ahead of it. Each row's lock is held for its merge (sums and a histogram addition).
    pub fn merge_report(&self, report: &ReportData, now: f64) {
        let sec = sec_of(now);
        self.metrics.merge_report(&report.metrics, now);
        self.total.lock().merge(&report.total, sec);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        for row in &report.entries {
            Self::with_entry(inner, &row.name, &row.method, now, |e| e.merge(row, sec));
        }
        for err in &report.errors {
            let key = ErrorKeyRef {
                method: &err.method,
                name: &err.name,
                error: &err.error,
            };
            match inner.errors.get_mut(&key) {
                Some(row) => {
                    row.occurrences = row.occurrences.saturating_add(err.occurrences);
                    // Locust only looks at truthy incoming times
                    if let Some(t) = err.first_seen.filter(|&t| t != 0.0) {
                        row.first_seen = Some(row.first_seen.map_or(t, |f| f.min(t)));
                    }
                    if let Some(t) = err.last_seen.filter(|&t| t != 0.0) {
                        row.last_seen = Some(row.last_seen.map_or(t, |l| l.max(t)));
                    }
                }
                None => {
                    let key = ErrorKey {
                        method: err.method.clone(),
                        name: err.name.clone(),
                        error: err.error.clone(),
                    };
                    inner.errors.insert(
                        key,
                        ErrorRow {
                            occurrences: err.occurrences,
                            first_seen: err.first_seen,
                            last_seen: err.last_seen,
                        },
                    );
                }
            }
        }
    }

    /// Record `values` of a metric (`metrics`): never a request, only a metric row of `(metric, name)`.
    pub fn log_metric(
        &self,
        metric: &str,
        name: &str,
        unit: &str,
        values: &[f64],
        now: f64,
    ) -> Result<(), MetricError> {
        self.metrics.record(metric, name, unit, values, now)
    }

    /// Forget all task exceptions.
    pub fn clear_exceptions(&self) {
        self.inner.lock().exceptions.clear();
    }

    /// Locust `clear_all`: entries removed, errors cleared, total replaced by a fresh one.
    pub fn clear_all(&self, now: f64) {
        super::lateness::reset();
        self.history.lock().clear();
        self.metric_history.lock().clear();
        self.metrics.clear();
        *self.total.lock() = EntryState::new(now);
        let mut guard = self.inner.lock();
        guard.entries.clear();
        guard.errors.clear();
    }

    /// An owned copy for readers, taken now.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_at(unix_now())
    }

    /// An owned copy for readers; `now` decides the "current" percentile window (of the total; the entries'
    /// windows are left out, see [`Self::snapshot_with_windows`]).
    ///
    /// Each row is copied under its own lock (memcpy-cheap), then histograms and windows are
    /// exported without any lock. The total is copied last, so it includes at least everything
    /// the entries show.
    pub fn snapshot_at(&self, now: f64) -> Snapshot {
        self.snapshot_impl(now, false)
    }

    /// A snapshot whose entries also carry their current-percentile windows (Locust's per-entry
    /// `get_current_response_time_percentile`, which only the Python stats view asks for). The plain
    /// snapshots leave them out: copying every row's window costs more than the rest of the row (a
    /// dense bucket array), and the tables, files and web API only use the total's.
    pub fn snapshot_with_windows(&self) -> Snapshot {
        self.snapshot_with_windows_at(unix_now())
    }

    /// [`Self::snapshot_with_windows`] as of `now`.
    pub fn snapshot_with_windows_at(&self, now: f64) -> Snapshot {
        self.snapshot_impl(now, true)
    }

    fn snapshot_impl(&self, now: f64, entry_windows: bool) -> Snapshot {
        // 1. Copy under the locks.
        let (rows, errors, exceptions) = {
            let guard = self.inner.lock();
            let rows: Vec<(EntryKey, Arc<Mutex<EntryState>>)> = guard
                .entries
                .iter()
                .map(|(k, e)| {
                    let key = EntryKey {
                        name: k.name.clone(),
                        method: k.method.clone(),
                    };
                    (key, Arc::clone(e))
                })
                .collect();
            let errors: Vec<ErrorSnapshot> = guard
                .errors
                .iter()
                .map(|(k, r)| ErrorSnapshot {
                    method: k.method.clone(),
                    name: k.name.clone(),
                    error: k.error.clone(),
                    occurrences: r.occurrences,
                    first_seen: r.first_seen,
                    last_seen: r.last_seen,
                })
                .collect();
            let exceptions: Vec<ExceptionSnapshot> = guard
                .exceptions
                .iter()
                .map(|(tb, r)| ExceptionSnapshot {
                    count: r.count,
                    msg: r.msg.clone(),
                    traceback: tb.clone(),
                    nodes: r.nodes.clone(),
                })
                .collect();
            (rows, errors, exceptions)
        };
        let raw_entries: Vec<(Arc<Mutex<EntryState>>, RawEntry)> = rows
            .into_iter()
            .map(|(k, row)| {
                let raw = row.lock().copy(k.name, k.method, now, entry_windows);
                (row, raw)
            })
            .collect();
        let raw_total = self
            .total
            .lock()
            .copy("Aggregated".to_owned(), String::new(), now, true);
        // 2. Export without locks; 3. keep fresh exports in their rows for the next snapshot.
        let (total, fresh) = raw_total.finish();
        if fresh.is_some() {
            self.total.lock().store_export(fresh);
        }
        let entries = raw_entries
            .into_iter()
            .map(|(row, raw)| {
                let (snap, fresh) = raw.finish();
                if fresh.is_some() {
                    row.lock().store_export(fresh);
                }
                snap
            })
            .collect();
        Snapshot {
            taken_at: now,
            entries,
            total,
            errors,
            exceptions,
            metrics: self.metrics.snapshot(now),
        }
    }

    /// Only the `Aggregated` row, as of `now` (cheap: one row's copy).
    pub fn total_at(&self, now: f64) -> EntrySnapshot {
        let raw = self
            .total
            .lock()
            .copy("Aggregated".to_owned(), String::new(), now, true);
        let (total, fresh) = raw.finish();
        if fresh.is_some() {
            self.total.lock().store_export(fresh);
        }
        total
    }

    /// Append one history point (Locust's `update_stats_history`) for the total as of `now`.
    pub fn sample_history(&self, user_count: u64, now: f64) {
        let total = self.total_at(now);
        let point = HistoryPoint::of_total(&total, user_count, now);
        self.history.lock().push(point);
        // the metric rows' point, when the run has any
        let metrics = self.metrics.snapshot(now);
        if !metrics.is_empty() {
            let snap = Snapshot {
                taken_at: now,
                entries: Vec::new(),
                total,
                errors: Vec::new(),
                exceptions: Vec::new(),
                metrics,
            };
            self.metric_history.lock().sample(&snap, now);
        }
    }

    /// The metric rows' history (the Metrics charts over the whole run).
    pub fn metric_history(&self) -> MetricHistory {
        self.metric_history.lock().clone()
    }

    /// Begin a new test's history with its start (0 users, no requests, at the statistics' start time).
    pub fn history_start(&self, now: f64) {
        let start = self.total_at(now).totals.start_time;
        self.history.lock().push(HistoryPoint::start(start));
    }

    /// Whether the history has no point yet (a test just started, or the stats were just reset).
    pub fn history_is_empty(&self) -> bool {
        self.history.lock().is_empty()
    }

    /// The history's points (the charts' data), oldest first.
    pub fn history(&self) -> Vec<HistoryPoint> {
        self.history.lock().points()
    }

    /// True when any failure row exists (Locust's `runner.errors` is non-empty).
    pub fn has_failures(&self) -> bool {
        !self.inner.lock().errors.is_empty()
    }

    /// True when any task exception was recorded.
    pub fn has_exceptions(&self) -> bool {
        !self.inner.lock().exceptions.is_empty()
    }

    /// Requests in the total (including failures and none requests).
    pub fn num_requests(&self) -> u64 {
        self.total.lock().totals.num_requests
    }
}
