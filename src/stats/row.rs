//! One row's machinery, shared by request rows and metric rows: its live state (`EntryState`: counts and sums,
//! the exact HDR histogram, per-second counts, the current window, the coordinated-omission correction), the
//! copy a snapshot takes of it under its lock (`RawEntry`, finished into an [`EntrySnapshot`] without the
//! lock), and the form a distributed report carries ([`RowData`], [`CoRow`]).
//!
//! Who calls it: `live` (request rows and their total) and `metrics` (metric rows) keep an `EntryState` per row
//! behind their own locks; `distributed::stats_wire` builds and reads [`RowData`].
//! What it must not do: know which kind of row it is (requests or a metric), take a lock itself, compute a
//! derived figure (that is `snapshot`) or format anything.
//!
//! To add a figure to every row: add it to `Totals` (see `totals`); this file carries it as a whole.

use std::sync::Arc;

use hdrhistogram::Histogram;

use super::co::{CoState, Corrected};
use super::hist::RowHist;
use super::snapshot::EntrySnapshot;
use super::totals::Totals;
use super::window::{PerSecond, Window, WindowCopy, bucket_index};
use super::{
    Buckets, CURRENT_WINDOW_SECS, HistVersion, ms_to_us, new_epoch, new_histogram, sec_of,
};

/// One row as a distributed report carries it: what a worker takes out of a row (and resets), or what a
/// master merges into one (Locust's `StatsEntry` fields; the response times as an HDR histogram in µs).
#[derive(Debug, Clone)]
pub struct RowData {
    pub name: String,
    pub method: String,
    pub totals: Totals,
    /// The response times in µs (3 significant digits when built by rlocust).
    pub hist: Histogram<u64>,
    /// Instead of `hist` when set: `(µs, count)` pairs (a received report, decoded without building a
    /// histogram per row).
    pub samples: Option<Vec<(u64, u64)>>,
    /// `(unix second, count)`, non-zero counts only.
    pub reqs_per_sec: Vec<(i64, u64)>,
    pub fails_per_sec: Vec<(i64, u64)>,
    /// The coordinated-omission correction of the row (`None`: no request of a fixed-rate user).
    pub co: Option<CoRow>,
}

/// A row's coordinated-omission correction as a distributed report carries it (between rlocust nodes only).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoRow {
    /// Timed requests of fixed-rate users.
    pub paced: u64,
    /// The synthetic samples as `(µs, count)`.
    pub synthetic: Vec<(u64, u64)>,
}

/// A histogram's samples as `(lowest µs of the bucket, count)`, ascending.
fn hist_pairs(h: &Histogram<u64>) -> impl Iterator<Item = (u64, u64)> + '_ {
    h.iter_recorded().map(|v| {
        (
            h.lowest_equivalent(v.value_iterated_to()),
            v.count_at_value(),
        )
    })
}

impl RowData {
    /// An empty row (`start_time` = `now`), as a freshly reset Locust `StatsEntry`.
    pub fn empty(name: &str, method: &str, now: f64) -> RowData {
        EntryState::new(now).into_row(name.to_owned(), method.to_owned())
    }

    /// An empty row for a received report: its samples are `(µs, count)` pairs, so no histogram is built per row
    /// and report (a master merges thousands of rows every few seconds).
    pub fn received(name: &str, method: &str, now: f64) -> RowData {
        RowData {
            name: name.to_owned(),
            method: method.to_owned(),
            totals: Totals::new(now),
            // the smallest histogram hdrhistogram makes (a few hundred bytes); unused while `samples` is set
            hist: Histogram::new_with_bounds(1, 2, 1).expect("a valid histogram configuration"),
            samples: Some(Vec::new()),
            reqs_per_sec: Vec::new(),
            fails_per_sec: Vec::new(),
            co: None,
        }
    }
}

impl RowData {
    /// Record `count` samples of `ms` milliseconds in the histogram (µs, as [`crate::stats::RequestStats::log_request`]
    /// converts them; clamped to the recordable range).
    pub fn record_ms(&mut self, ms: f64, count: u64) {
        let us = ms_to_us(ms);
        if count == 0 {
            return;
        }
        match &mut self.samples {
            Some(samples) => samples.push((us, count)),
            None => {
                if self.hist.record_n(us, count).is_err() {
                    self.hist.saturating_record_n(us, count);
                }
            }
        }
    }

    /// Every sample as `(µs, count)`, whichever form the row holds.
    pub fn samples(&self) -> Vec<(u64, u64)> {
        match &self.samples {
            Some(s) => s.clone(),
            None => hist_pairs(&self.hist).collect(),
        }
    }

    /// How many samples the row holds.
    pub fn sample_count(&self) -> u64 {
        match &self.samples {
            Some(s) => s.iter().map(|&(_, n)| n).sum(),
            None => self.hist.len(),
        }
    }
}

/// One row of live statistics (an entry or the total).
#[derive(Debug)]
pub(super) struct EntryState {
    pub(super) totals: Totals,
    pub(super) hist: RowHist,
    /// `(epoch, changes)`: a fresh epoch on creation and reset, changes bumped per sample.
    hist_version: HistVersion,
    /// `hist` as sorted `(µs, count)` at version `.0`, so idle entries cost a snapshot nothing.
    exported: Option<(HistVersion, Buckets)>,
    /// The samples (µs) recorded since version `pending_base`, at most [`PENDING_CAP`]: a snapshot of a row
    /// whose export is at that version merges these into it instead of copying and exporting the whole
    /// histogram (tens of KB) under the row's lock. `None`: not tracked (a reset, or more than the cap since).
    pending: Vec<u32>,
    pending_base: Option<HistVersion>,
    reqs_per_sec: PerSecond,
    fails_per_sec: PerSecond,
    pub(super) window: Window,
    /// The coordinated-omission correction, from the row's first request of a fixed-rate user on.
    co: Option<Box<CoState>>,
}

impl EntryState {
    pub(super) fn new(now: f64) -> Self {
        EntryState {
            totals: Totals::new(now),
            hist: RowHist::default(),
            hist_version: (new_epoch(), 0),
            exported: None,
            pending: Vec::new(),
            pending_base: None,
            reqs_per_sec: PerSecond::default(),
            fails_per_sec: PerSecond::default(),
            window: Window::default(),
            co: None,
        }
    }

    /// Locust `StatsEntry.reset()`: zero everything, `start_time` = now. Keeps allocations.
    pub(super) fn reset(&mut self, now: f64) {
        self.totals = Totals::new(now);
        self.hist.reset();
        self.hist_version = (new_epoch(), 0);
        self.exported = None;
        self.pending = Vec::new();
        self.pending_base = None;
        self.reqs_per_sec = PerSecond::default();
        self.fails_per_sec = PerSecond::default();
        self.window.clear();
        self.co = None;
    }

    /// `sample` = (recorded µs, its bucket index) for a timed request; `interval_us` > 0: the request came
    /// from a user expected to start a task every `interval_us` µs (see `co`).
    pub(super) fn log(
        &mut self,
        response_time: Option<f64>,
        sample: Option<(u64, usize)>,
        content_length: u64,
        now: f64,
        interval_us: u64,
    ) {
        let sec = sec_of(now);
        self.totals.record(response_time, content_length, now);
        self.reqs_per_sec.add(sec, 1);
        // (`sample` is there exactly when `response_time` is)
        let Some((us, idx)) = sample else {
            return;
        };
        self.hist.record_n(us, idx, 1);
        self.hist_version.1 += 1;
        if self.pending_base.is_some() {
            match u32::try_from(us) {
                Ok(v) if self.pending.len() < PENDING_CAP => self.pending.push(v),
                _ => {
                    self.pending = Vec::new();
                    self.pending_base = None;
                }
            }
        }
        self.window.record(sec, idx);
        if interval_us > 0 {
            self.co
                .get_or_insert_with(Box::default)
                .record(us, interval_us);
        }
    }

    /// A metric row's values summed per second (`stats::metrics`, rows in tokens): a metric row has no failures,
    /// so its per-second failure counts hold these sums (and travel and merge as they do).
    pub(super) fn add_value_sum(&mut self, now: f64, n: u64) {
        self.fails_per_sec.add(sec_of(now), n);
    }

    pub(super) fn log_failure(&mut self, now: f64) {
        self.totals.fail();
        self.fails_per_sec.add(sec_of(now), 1);
    }

    /// Copy what a snapshot at `now` needs (under the lock; memcpy-cheap). The current window
    /// is `[int(now) - 9, ...]`.
    pub(super) fn copy(
        &mut self,
        name: String,
        method: String,
        now: f64,
        with_window: bool,
    ) -> RawEntry {
        let hist = match &self.exported {
            Some((v, b)) if *v == self.hist_version => HistCopy::Exported(Arc::clone(b)),
            Some((v, b)) if self.pending_base == Some(*v) => HistCopy::Delta {
                version: self.hist_version,
                base: Arc::clone(b),
                samples: self.pending.clone(),
            },
            _ => {
                // from here on the samples are kept, so the next snapshot can merge them into this export
                self.pending.clear();
                self.pending_base = Some(self.hist_version);
                HistCopy::Whole(self.hist_version, self.hist.clone())
            }
        };
        RawEntry {
            name,
            method,
            totals: self.totals,
            hist,
            window: if with_window {
                self.window.copy(sec_of(now) - (CURRENT_WINDOW_SECS - 1))
            } else {
                None
            },
            reqs_per_sec: self.reqs_per_sec.clone(),
            fails_per_sec: self.fails_per_sec.clone(),
            co: self.co.as_deref().cloned(),
        }
    }
}

impl EntryState {
    /// The row's figures, moved out (the caller has swapped a fresh state in under the lock).
    pub(super) fn into_row(self, name: String, method: String) -> RowData {
        RowData {
            name,
            method,
            totals: self.totals,
            hist: self.hist.into_histogram(),
            samples: None,
            reqs_per_sec: self.reqs_per_sec.iter().collect(),
            fails_per_sec: self.fails_per_sec.iter().collect(),
            co: self.co.map(|c| CoRow {
                paced: c.paced,
                synthetic: c.backfill.pairs(),
            }),
        }
    }

    /// Locust `StatsEntry.extend`: sums, min/max, the earliest start, the latest request, the histogram and the
    /// per-second counts added. The merged samples count in the current window at second `sec` (their arrival,
    /// as Locust's master caches its histogram when reports arrive).
    pub(super) fn merge(&mut self, row: &RowData, sec: i64) {
        self.totals.merge(&row.totals);
        for &(s, n) in &row.reqs_per_sec {
            self.reqs_per_sec.add(s, n);
        }
        for &(s, n) in &row.fails_per_sec {
            self.fails_per_sec.add(s, n);
        }
        if let Some(co) = &row.co {
            self.co
                .get_or_insert_with(Box::default)
                .merge(co.paced, &co.synthetic);
        }
        let samples = row.samples();
        let added: u64 = samples.iter().map(|&(_, n)| n).sum();
        if added == 0 {
            return;
        }
        for &(us, n) in &samples {
            self.hist.record_us(us, n);
        }
        self.hist_version.1 = self.hist_version.1.saturating_add(added);
        // a master merges a few samples per row and report: keep them for the next snapshot's export (so it
        // need not copy the whole histogram), while they fit
        if self.pending_base.is_some() {
            let fits = self.pending.len() as u64 + added <= PENDING_CAP as u64
                && samples.iter().all(|&(us, _)| u32::try_from(us).is_ok());
            if fits {
                for &(us, n) in &samples {
                    self.pending
                        .extend(std::iter::repeat_n(us as u32, n as usize));
                }
            } else {
                self.pending = Vec::new();
                self.pending_base = None;
            }
        }
        for &(us, n) in &samples {
            self.window.record_n(sec, bucket_index(us), n);
        }
    }
}

/// A row's histogram as a snapshot copies it.
enum HistCopy {
    /// The export is current.
    Exported(Buckets),
    /// An older export and the samples recorded since (merged outside the lock).
    Delta {
        version: HistVersion,
        base: Buckets,
        samples: Vec<u32>,
    },
    /// The whole histogram at a version, to export outside the lock.
    Whole(HistVersion, RowHist),
}

/// Samples kept per row between two snapshots (4 KB); a busier row is copied whole.
const PENDING_CAP: usize = 1024;

/// `base` (sorted `(lowest µs of a bucket, count)`) with the samples added, bucketed as the histogram buckets them.
fn merge_samples(base: &[(u64, u64)], samples: &[u32]) -> Vec<(u64, u64)> {
    static LAYOUT: std::sync::OnceLock<Histogram<u64>> = std::sync::OnceLock::new();
    // the bucket boundaries depend only on the precision, not on the range an auto-resized histogram reached
    let layout = LAYOUT.get_or_init(new_histogram);
    let mut added: Vec<u64> = samples
        .iter()
        .map(|&v| layout.lowest_equivalent(u64::from(v)))
        .collect();
    added.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(base.len() + added.len());
    let mut b = base.iter().peekable();
    let mut a = added.into_iter().peekable();
    loop {
        let next = match (b.peek(), a.peek()) {
            (Some(&&(bv, bc)), Some(&av)) if bv <= av => {
                b.next();
                (bv, bc)
            }
            (_, Some(&av)) => {
                a.next();
                (av, 1)
            }
            (Some(&&(bv, bc)), None) => {
                b.next();
                (bv, bc)
            }
            (None, None) => break,
        };
        match out.last_mut() {
            Some(last) if last.0 == next.0 => last.1 += next.1,
            _ => out.push(next),
        }
    }
    out
}

/// What a snapshot copies under the lock; [`RawEntry::finish`] does the rest without it.
pub(super) struct RawEntry {
    name: String,
    method: String,
    totals: Totals,
    hist: HistCopy,
    window: Option<WindowCopy>,
    reqs_per_sec: PerSecond,
    fails_per_sec: PerSecond,
    co: Option<CoState>,
}

impl RawEntry {
    /// Build the snapshot row; also returns a fresh export `(version, buckets)` to cache.
    pub(super) fn finish(self) -> (EntrySnapshot, Option<(HistVersion, Buckets)>) {
        let (buckets, fresh) = match self.hist {
            HistCopy::Exported(b) => (b, None),
            HistCopy::Delta {
                version,
                base,
                samples,
            } => {
                let b: Buckets = merge_samples(&base, &samples).into();
                (Arc::clone(&b), Some((version, b)))
            }
            HistCopy::Whole(version, h) => {
                let b: Buckets = h.pairs().into();
                (Arc::clone(&b), Some((version, b)))
            }
        };
        let num_samples = buckets.iter().map(|b| b.1).sum();
        let corrected = self.co.map(|c| Corrected::of(&c, &buckets, num_samples));
        let snap = EntrySnapshot {
            name: self.name,
            method: self.method,
            totals: self.totals,
            num_samples,
            buckets,
            window: self.window.map(WindowCopy::export).unwrap_or_default(),
            reqs_per_sec: self.reqs_per_sec,
            fails_per_sec: self.fails_per_sec,
            corrected,
        };
        (snap, fresh)
    }
}

impl EntryState {
    /// Keep a histogram export computed outside the lock if the histogram has not changed since.
    /// The samples kept since then that the export already holds are dropped.
    pub(super) fn store_export(&mut self, fresh: Option<(HistVersion, Buckets)>) {
        let Some((version, b)) = fresh else {
            return;
        };
        let current = self.hist_version;
        if version.0 != current.0 || version.1 > current.1 {
            return; // reset since
        }
        match self.pending_base {
            Some(base) if base.0 == version.0 && base.1 <= version.1 => {
                let held = (version.1 - base.1) as usize;
                if held > self.pending.len() {
                    return;
                }
                self.pending.drain(..held);
                self.pending_base = Some(version);
                self.exported = Some((version, b));
            }
            _ if version == current => {
                self.exported = Some((version, b));
                self.pending.clear();
                self.pending_base = Some(version);
            }
            _ => {}
        }
    }
}
