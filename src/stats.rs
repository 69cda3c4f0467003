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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use indexmap::{Equivalent, IndexMap};
use parking_lot::Mutex;

/// Locust's `PERCENTILES_TO_REPORT` (console percentile table and CSV columns).
pub const PERCENTILES_TO_REPORT: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

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

/// A number with the Python type Locust would hold there (`int` or `float`), so reports can
/// print `0` versus `0.0` exactly as `str()` would.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// The value as a float (for arithmetic and `%d`-style printing).
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
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

// ---------------------------------------------------------------------------------------------
// Per-second counters
// ---------------------------------------------------------------------------------------------

const CHUNK: usize = 256;

/// `{unix second: count}` for every second of the run, stored in copy-on-write chunks of 256
/// seconds so that a snapshot shares the finished chunks instead of copying hours of counters.
/// Seconds with a count of 0 do not exist (as in Locust's `defaultdict`).
#[derive(Clone, Debug, Default)]
pub struct PerSecond {
    chunks: BTreeMap<i64, Arc<[u64; CHUNK]>>,
}

impl PerSecond {
    fn split(sec: i64) -> (i64, usize) {
        (
            sec.div_euclid(CHUNK as i64),
            sec.rem_euclid(CHUNK as i64) as usize,
        )
    }

    fn add(&mut self, sec: i64, n: u64) {
        let (c, i) = Self::split(sec);
        let chunk = self.chunks.entry(c).or_insert_with(|| Arc::new([0; CHUNK]));
        let slot = &mut Arc::make_mut(chunk)[i];
        *slot = slot.saturating_add(n);
    }

    /// The count for one second (0 when none).
    pub fn get(&self, sec: i64) -> u64 {
        let (c, i) = Self::split(sec);
        self.chunks.get(&c).map_or(0, |chunk| chunk[i])
    }

    /// `(second, count)` for every second with a non-zero count, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.chunks.iter().flat_map(|(&c, chunk)| {
            chunk
                .iter()
                .enumerate()
                .filter(|(_, n)| **n != 0)
                .map(move |(i, n)| (c * CHUNK as i64 + i as i64, *n))
        })
    }

    /// The counters as an ordered map.
    pub fn to_map(&self) -> BTreeMap<i64, u64> {
        self.iter().collect()
    }

    /// True when no second has a count.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Histogram bucket layout
// ---------------------------------------------------------------------------------------------

/// Sub-buckets per power of two for 3 significant digits (hdrhistogram's `sub_bucket_count`).
const SUB_BUCKETS: u64 = 2048;
const HALF_SUB_BUCKETS: u64 = SUB_BUCKETS / 2;
const HALF_SUB_BUCKET_BITS: u32 = 10;

/// The index of the bucket holding `us` in the layout hdrhistogram uses for 3 significant digits
/// and a 1 µs unit: every value below 2048 alone, then 1024 buckets per power of two.
/// `bucket_value(bucket_index(v)) == hist.lowest_equivalent(v)` (tested).
fn bucket_index(us: u64) -> usize {
    if us < SUB_BUCKETS {
        us as usize
    } else {
        let k = 63 - us.leading_zeros() - HALF_SUB_BUCKET_BITS;
        let idx =
            SUB_BUCKETS + u64::from(k - 1) * HALF_SUB_BUCKETS + ((us >> k) - HALF_SUB_BUCKETS);
        idx as usize
    }
}

/// The lowest value (µs) of bucket `idx`.
fn bucket_value(idx: usize) -> u64 {
    let idx = idx as u64;
    if idx < SUB_BUCKETS {
        idx
    } else {
        let k = (idx - SUB_BUCKETS) / HALF_SUB_BUCKETS + 1;
        ((idx - SUB_BUCKETS) % HALF_SUB_BUCKETS + HALF_SUB_BUCKETS) << k
    }
}

// ---------------------------------------------------------------------------------------------
// Live state
// ---------------------------------------------------------------------------------------------

/// A fast hasher for the bucket-index keys of the per-second window maps.
#[derive(Default)]
struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e_37_79_b9_7f_4a_7c_15);
    }
}

type SecondCounts = HashMap<u32, u32, BuildHasherDefault<IndexHasher>>;

/// The response times of one second: `{bucket index: count}`.
#[derive(Debug)]
struct SecondHist {
    sec: i64,
    counts: SecondCounts,
}

/// The response times of the last `CURRENT_WINDOW_SECS` seconds (counted back from the newest
/// second seen): a sparse map per second, so a second can be subtracted when it leaves, and
/// their dense sum per bucket, so a snapshot reads the window with one linear scan.
#[derive(Debug, Default)]
struct Window {
    /// Ascending by second; only seconds that had samples.
    seconds: VecDeque<SecondHist>,
    /// `sums[i]` = count of bucket `i` over `seconds`.
    sums: Vec<u64>,
}

impl Window {
    fn clear(&mut self) {
        self.seconds.clear();
        self.sums.clear();
    }

    fn record(&mut self, sec: i64, idx: usize) {
        // Fast path: the newest second (or one shortly before it).
        let mut slot = None;
        for (i, s) in self.seconds.iter().enumerate().rev() {
            if s.sec == sec {
                slot = Some(i);
                break;
            }
            if s.sec < sec {
                break;
            }
        }
        let slot = match slot {
            Some(i) => i,
            None => match self.open_second(sec) {
                Some(i) => i,
                None => return, // older than the window
            },
        };
        if let Some(s) = self.seconds.get_mut(slot) {
            let c = s.counts.entry(idx as u32).or_insert(0);
            *c = c.saturating_add(1);
        }
        if idx >= self.sums.len() {
            self.sums.resize(idx + 1, 0);
        }
        self.sums[idx] += 1;
    }

    /// Add an empty second (expiring the seconds that leave the window); its position, or
    /// `None` when `sec` itself is already outside the window.
    fn open_second(&mut self, sec: i64) -> Option<usize> {
        let newest = self.seconds.back().map_or(sec, |s| s.sec.max(sec));
        let oldest = newest - (CURRENT_WINDOW_SECS - 1);
        if sec < oldest {
            return None;
        }
        let mut recycled: Option<SecondCounts> = None;
        while self.seconds.front().is_some_and(|s| s.sec < oldest) {
            if let Some(old) = self.seconds.pop_front() {
                for (&k, &n) in &old.counts {
                    if let Some(sum) = self.sums.get_mut(k as usize) {
                        *sum = sum.saturating_sub(u64::from(n));
                    }
                }
                recycled = Some(old.counts);
            }
        }
        let mut counts = recycled.unwrap_or_default();
        counts.clear();
        let pos = self.seconds.partition_point(|s| s.sec < sec);
        self.seconds.insert(pos, SecondHist { sec, counts });
        Some(pos)
    }

    /// What a snapshot needs for the seconds `>= from`: the sums and the held seconds older
    /// than `from` (to subtract). `None` when no held second is recent enough.
    fn copy(&self, from: i64) -> Option<WindowCopy> {
        if self.seconds.back().is_none_or(|s| s.sec < from) {
            return None;
        }
        Some(WindowCopy {
            sums: self.sums.clone(),
            stale: self
                .seconds
                .iter()
                .take_while(|s| s.sec < from)
                .map(|s| s.counts.clone())
                .collect(),
        })
    }
}

/// A copy of a [`Window`] taken under the lock, turned into `(µs, count)` outside it.
struct WindowCopy {
    sums: Vec<u64>,
    stale: Vec<SecondCounts>,
}

impl WindowCopy {
    fn export(mut self) -> Vec<(u64, u64)> {
        for stale in &self.stale {
            for (&k, &n) in stale {
                if let Some(sum) = self.sums.get_mut(k as usize) {
                    *sum = sum.saturating_sub(u64::from(n));
                }
            }
        }
        self.sums
            .iter()
            .enumerate()
            .filter(|(_, n)| **n != 0)
            .map(|(i, n)| (bucket_value(i), *n))
            .collect()
    }
}

/// One row of live statistics (an entry or the total).
#[derive(Debug)]
struct EntryState {
    num_requests: u64,
    num_none_requests: u64,
    num_failures: u64,
    total_response_time: f64,
    min_response_time: Option<f64>,
    max_response_time: f64,
    total_content_length: u64,
    start_time: f64,
    last_request_timestamp: Option<f64>,
    hist: Histogram<u64>,
    /// `(epoch, changes)`: a fresh epoch on creation and reset, changes bumped per sample.
    hist_version: HistVersion,
    /// `hist` as sorted `(µs, count)` at version `.0`, so idle entries cost a snapshot nothing.
    exported: Option<(HistVersion, Buckets)>,
    reqs_per_sec: PerSecond,
    fails_per_sec: PerSecond,
    window: Window,
}

impl EntryState {
    fn new(now: f64) -> Self {
        EntryState {
            num_requests: 0,
            num_none_requests: 0,
            num_failures: 0,
            total_response_time: 0.0,
            min_response_time: None,
            max_response_time: 0.0,
            total_content_length: 0,
            start_time: now,
            last_request_timestamp: None,
            hist: new_histogram(),
            hist_version: (new_epoch(), 0),
            exported: None,
            reqs_per_sec: PerSecond::default(),
            fails_per_sec: PerSecond::default(),
            window: Window::default(),
        }
    }

    /// Locust `StatsEntry.reset()`: zero everything, `start_time` = now. Keeps allocations.
    fn reset(&mut self, now: f64) {
        self.num_requests = 0;
        self.num_none_requests = 0;
        self.num_failures = 0;
        self.total_response_time = 0.0;
        self.min_response_time = None;
        self.max_response_time = 0.0;
        self.total_content_length = 0;
        self.start_time = now;
        self.last_request_timestamp = None;
        self.hist.reset();
        self.hist_version = (new_epoch(), 0);
        self.exported = None;
        self.reqs_per_sec = PerSecond::default();
        self.fails_per_sec = PerSecond::default();
        self.window.clear();
    }

    /// `sample` = (recorded µs, its bucket index) for a timed request.
    fn log(
        &mut self,
        response_time: Option<f64>,
        sample: Option<(u64, usize)>,
        content_length: u64,
        now: f64,
    ) {
        let sec = sec_of(now);
        self.num_requests += 1;
        self.reqs_per_sec.add(sec, 1);
        // NOTE: Locust overwrites the timestamp; requests recorded from several threads can
        // arrive slightly out of order, so keep the newest.
        self.last_request_timestamp = Some(match self.last_request_timestamp {
            Some(t) if t > now => t,
            _ => now,
        });
        self.total_content_length = self.total_content_length.saturating_add(content_length);
        let (Some(rt), Some((us, idx))) = (response_time, sample) else {
            self.num_none_requests += 1;
            return;
        };
        self.total_response_time += rt;
        self.min_response_time = Some(match self.min_response_time {
            Some(m) if m <= rt => m,
            _ => rt,
        });
        if rt > self.max_response_time {
            self.max_response_time = rt;
        }
        if self.hist.record(us).is_err() {
            self.hist.saturating_record(us);
        }
        self.hist_version.1 += 1;
        self.window.record(sec, idx);
    }

    fn log_failure(&mut self, now: f64) {
        self.num_failures += 1;
        self.fails_per_sec.add(sec_of(now), 1);
    }

    /// Copy what a snapshot at `now` needs (under the lock; memcpy-cheap). The current window
    /// is `[int(now) - 9, ...]`.
    fn copy(&self, name: String, method: String, now: f64) -> RawEntry {
        let hist = match &self.exported {
            Some((v, b)) if *v == self.hist_version => Ok(Arc::clone(b)),
            _ => Err((self.hist_version, self.hist.clone())),
        };
        RawEntry {
            name,
            method,
            num_requests: self.num_requests,
            num_none_requests: self.num_none_requests,
            num_failures: self.num_failures,
            total_response_time: self.total_response_time,
            min_response_time: self.min_response_time,
            max_response_time: self.max_response_time,
            total_content_length: self.total_content_length,
            start_time: self.start_time,
            last_request_timestamp: self.last_request_timestamp,
            hist,
            window: self.window.copy(sec_of(now) - (CURRENT_WINDOW_SECS - 1)),
            reqs_per_sec: self.reqs_per_sec.clone(),
            fails_per_sec: self.fails_per_sec.clone(),
        }
    }
}

/// What a snapshot copies under the lock; [`RawEntry::finish`] does the rest without it.
struct RawEntry {
    name: String,
    method: String,
    num_requests: u64,
    num_none_requests: u64,
    num_failures: u64,
    total_response_time: f64,
    min_response_time: Option<f64>,
    max_response_time: f64,
    total_content_length: u64,
    start_time: f64,
    last_request_timestamp: Option<f64>,
    /// The cached export, or the histogram (and its version) to export.
    hist: Result<Buckets, (HistVersion, Histogram<u64>)>,
    window: Option<WindowCopy>,
    reqs_per_sec: PerSecond,
    fails_per_sec: PerSecond,
}

impl RawEntry {
    /// Build the snapshot row; also returns a fresh export `(version, buckets)` to cache.
    fn finish(self) -> (EntrySnapshot, Option<(HistVersion, Buckets)>) {
        let (buckets, fresh) = match self.hist {
            Ok(b) => (b, None),
            Err((version, h)) => {
                let b: Buckets = h
                    .iter_recorded()
                    .map(|v| {
                        (
                            h.lowest_equivalent(v.value_iterated_to()),
                            v.count_at_value(),
                        )
                    })
                    .collect();
                (Arc::clone(&b), Some((version, b)))
            }
        };
        let snap = EntrySnapshot {
            name: self.name,
            method: self.method,
            num_requests: self.num_requests,
            num_none_requests: self.num_none_requests,
            num_failures: self.num_failures,
            total_response_time: self.total_response_time,
            min_response_time: self.min_response_time,
            max_response_time: self.max_response_time,
            total_content_length: self.total_content_length,
            start_time: self.start_time,
            last_request_timestamp: self.last_request_timestamp,
            num_samples: buckets.iter().map(|b| b.1).sum(),
            buckets,
            window: self.window.map(WindowCopy::export).unwrap_or_default(),
            reqs_per_sec: self.reqs_per_sec,
            fails_per_sec: self.fails_per_sec,
        };
        (snap, fresh)
    }
}

impl EntryState {
    /// Keep a histogram export computed outside the lock if the histogram has not changed since.
    fn store_export(&mut self, fresh: Option<(HistVersion, Buckets)>) {
        if let Some((version, b)) = fresh
            && version == self.hist_version
        {
            self.exported = Some((version, b));
        }
    }
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
    total: Mutex<EntryState>,
    inner: Mutex<Inner>,
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
        let sample = response_time_ms.map(|ms| {
            let us = ms_to_us(ms);
            (us, bucket_index(us))
        });
        self.total
            .lock()
            .log(response_time_ms, sample, content_length, now);
        let mut inner = self.inner.lock();
        Self::with_entry(&mut inner, name, method, now, |e| {
            e.log(response_time_ms, sample, content_length, now);
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
            if e.num_requests != 0 || e.num_failures != 0 {
                e.reset(now);
            }
        }
    }

    /// Forget all task exceptions.
    pub fn clear_exceptions(&self) {
        self.inner.lock().exceptions.clear();
    }

    /// Locust `clear_all`: entries removed, errors cleared, total replaced by a fresh one.
    pub fn clear_all(&self, now: f64) {
        *self.total.lock() = EntryState::new(now);
        let mut guard = self.inner.lock();
        guard.entries.clear();
        guard.errors.clear();
    }

    /// An owned copy for readers, taken now.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_at(unix_now())
    }

    /// An owned copy for readers; `now` decides the "current" percentile window.
    ///
    /// Each row is copied under its own lock (memcpy-cheap), then histograms and windows are
    /// exported without any lock. The total is copied last, so it includes at least everything
    /// the entries show.
    pub fn snapshot_at(&self, now: f64) -> Snapshot {
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
                let raw = row.lock().copy(k.name, k.method, now);
                (row, raw)
            })
            .collect();
        let raw_total = self
            .total
            .lock()
            .copy("Aggregated".to_owned(), String::new(), now);
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
        }
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
        self.total.lock().num_requests
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------------------------

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
}

impl Snapshot {
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
    pub num_requests: u64,
    pub num_none_requests: u64,
    pub num_failures: u64,
    /// Sum of the raw response times (ms).
    pub total_response_time: f64,
    /// Raw minimum (ms); `None` until the first timed request.
    pub min_response_time: Option<f64>,
    /// Raw maximum (ms); 0 until a positive time is recorded.
    pub max_response_time: f64,
    pub total_content_length: u64,
    pub start_time: f64,
    pub last_request_timestamp: Option<f64>,
    /// Histogram buckets as `(lowest µs of the bucket, count)`, ascending, shared between
    /// snapshots while unchanged. NOTE: the lower bound is exact for every value the bucket can
    /// hold exactly (all whole µs below 2.048 ms, even µs below 4.096 ms, ...) and is otherwise
    /// below the true value by less than 0.1 %.
    buckets: Buckets,
    /// Samples in `buckets`.
    num_samples: u64,
    /// The same for the current window (the last `CURRENT_WINDOW_SECS` seconds).
    window: Vec<(u64, u64)>,
    reqs_per_sec: PerSecond,
    fails_per_sec: PerSecond,
}

/// Locust's percentile rank rule: the 0-based rank `int(n * p)` of `n` sorted samples, at most
/// `n - 1` (so p = 1 is the maximum). Python computes `n * p` in floats too.
fn percentile_rank(n: u64, p: f64) -> u64 {
    let rank = if p.is_nan() || p <= 0.0 {
        0
    } else {
        ((n as f64) * p) as u64
    };
    rank.min(n.saturating_sub(1))
}

/// The bucket value at `rank` in sorted `(value, count)` buckets.
fn value_at_rank(buckets: &[(u64, u64)], rank: u64) -> Option<u64> {
    let mut acc = 0u64;
    for &(v, c) in buckets {
        acc += c;
        if acc > rank {
            return Some(v);
        }
    }
    buckets.last().map(|b| b.0)
}

impl EntrySnapshot {
    /// Requests with a response time (Locust `num_requests - num_none_requests`).
    pub fn num_timed_requests(&self) -> u64 {
        self.num_requests - self.num_none_requests
    }

    /// True when the response-time histogram has samples (Locust `if r.response_times`).
    pub fn has_response_times(&self) -> bool {
        !self.buckets.is_empty()
    }

    fn clamp_ms(&self, ms: f64) -> f64 {
        // A bucket's lower bound can lie just below the raw min (by < 0.1 %); never report a
        // value outside the raw [min, max].
        match self.min_response_time {
            Some(min) => ms.min(self.max_response_time).max(min),
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
            return self.max_response_time;
        }
        if rank == 0
            && let Some(min) = self.min_response_time
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

    /// Locust `avg_response_time`.
    pub fn avg_response_time(&self) -> f64 {
        let n = self.num_timed_requests();
        if n == 0 {
            0.0
        } else {
            self.total_response_time / n as f64
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
        if median > self.max_response_time {
            Num::Float(self.max_response_time)
        } else if let Some(min) = self.min_response_time
            && median < min
        {
            Num::Float(min)
        } else {
            Num::Int(median as i64)
        }
    }

    /// Locust `fail_ratio`.
    pub fn fail_ratio(&self) -> f64 {
        if self.num_requests == 0 {
            if self.num_failures > 0 { 1.0 } else { 0.0 }
        } else {
            self.num_failures as f64 / self.num_requests as f64
        }
    }

    /// Locust `avg_content_length` (`int 0` when there are no requests).
    pub fn avg_content_length(&self) -> Num {
        if self.num_requests == 0 {
            Num::Int(0)
        } else {
            Num::Float(self.total_content_length as f64 / self.num_requests as f64)
        }
    }

    /// `min_response_time or 0` as Locust writes it in the CSV.
    pub fn min_or_zero(&self) -> Num {
        match self.min_response_time {
            Some(v) if v != 0.0 => Num::Float(v),
            _ => Num::Int(0),
        }
    }

    /// `max_response_time` with Locust's type: the int 0 until a positive time is recorded.
    pub fn max_response_time_num(&self) -> Num {
        if self.max_response_time > 0.0 {
            Num::Float(self.max_response_time)
        } else {
            Num::Int(0)
        }
    }

    /// `total_response_time` with Locust's type: the int 0 until a timed request is recorded.
    pub fn total_response_time_num(&self) -> Num {
        if self.num_timed_requests() == 0 {
            Num::Int(0)
        } else {
            Num::Float(self.total_response_time)
        }
    }

    /// Locust `total_rps`: `requests / (total.last_request_timestamp - total.start_time)`.
    pub fn total_rps(&self, total: &EntrySnapshot) -> f64 {
        Self::per_total_second(self.num_requests, total)
    }

    /// Locust `total_fail_per_sec`.
    pub fn total_fail_per_sec(&self, total: &EntrySnapshot) -> f64 {
        Self::per_total_second(self.num_failures, total)
    }

    fn per_total_second(n: u64, total: &EntrySnapshot) -> f64 {
        match total.last_request_timestamp {
            Some(last) if last != 0.0 && total.start_time != 0.0 => {
                let span = last - total.start_time;
                // NOTE: Locust only guards span == 0; a negative span cannot happen there.
                if span > 0.0 { n as f64 / span } else { 0.0 }
            }
            _ => 0.0,
        }
    }

    /// Locust `current_rps` (reference §5.6): `L = int(total.last_request_timestamp)`,
    /// `S = max(L - 12, int(total.start_time))`; the mean of this entry's per-second counts over
    /// `[S, L - 2)` (missing seconds are 0; 0 when the range is empty).
    pub fn current_rps(&self, total: &EntrySnapshot) -> f64 {
        Self::current_rate(&self.reqs_per_sec, total)
    }

    /// Locust `current_fail_per_sec` (same window as [`Self::current_rps`]).
    pub fn current_fail_per_sec(&self, total: &EntrySnapshot) -> f64 {
        Self::current_rate(&self.fails_per_sec, total)
    }

    fn current_rate(counts: &PerSecond, total: &EntrySnapshot) -> f64 {
        let Some(last) = total.last_request_timestamp else {
            return 0.0;
        };
        let l = sec_of(last);
        let s = (l - 12).max(sec_of(total.start_time));
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

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_700_000_000.25;

    fn one(stats: &RequestStats, name: &str, rt: f64, now: f64) {
        stats.log_request("GET", name, Some(rt), 10, now);
    }

    #[test]
    fn counts_min_max_avg_and_none_requests() {
        let s = RequestStats::new_at(T0);
        one(&s, "/", 10.5, T0 + 1.0);
        one(&s, "/", 2.25, T0 + 1.5);
        s.log_request("GET", "/", None, 0, T0 + 2.0);
        let snap = s.snapshot_at(T0 + 3.0);
        let e = &snap.entries[0];
        assert_eq!(
            (e.num_requests, e.num_none_requests, e.num_failures),
            (3, 1, 0)
        );
        assert_eq!(e.min_response_time, Some(2.25));
        assert_eq!(e.max_response_time, 10.5);
        assert_eq!(e.total_response_time, 12.75);
        assert_eq!(e.avg_response_time(), 12.75 / 2.0);
        assert_eq!(e.total_content_length, 20);
        assert_eq!(e.avg_content_length(), Num::Float(20.0 / 3.0));
        assert_eq!(e.last_request_timestamp, Some(T0 + 2.0));
        assert_eq!(snap.total.num_requests, 3);
        assert_eq!(snap.total.name, "Aggregated");
        assert_eq!(snap.total.method, "");
    }

    #[test]
    fn only_none_requests_keep_python_int_zeros() {
        let s = RequestStats::new_at(T0);
        s.log_request("GET", "/", None, 0, T0 + 1.0);
        let snap = s.snapshot_at(T0 + 1.0);
        let e = &snap.entries[0];
        assert!(!e.has_response_times());
        assert_eq!(e.avg_response_time(), 0.0);
        assert_eq!(e.median_response_time(), Num::Int(0));
        assert_eq!(e.percentile(0.5), 0.0);
        assert_eq!(e.current_percentile(0.5), None);
        assert_eq!(e.min_or_zero(), Num::Int(0));
        assert_eq!(e.max_response_time_num(), Num::Int(0));
        assert_eq!(e.total_response_time_num(), Num::Int(0));
    }

    #[test]
    fn percentiles_use_locust_rank_rule_and_are_exact() {
        // 0.01 ms .. 1.00 ms: whole µs below 2.048 ms are held exactly.
        let s = RequestStats::new_at(T0);
        for i in 1..=100 {
            one(&s, "/", i as f64 / 100.0, T0 + 1.0);
        }
        let e = &s.snapshot_at(T0 + 1.0).entries[0];
        // rank int(100*p) (0-based) -> sample rank+1
        assert_eq!(e.percentile(0.5), 0.51);
        assert_eq!(e.percentile(0.66), 0.67);
        assert_eq!(e.percentile(0.999), 1.0);
        assert_eq!(e.percentile(1.0), 1.0);
        assert_eq!(e.percentile(0.0), 0.01);
        // 1 ms .. 100 ms: within 0.1 %, and the extremes are the raw min/max.
        let s = RequestStats::new_at(T0);
        for i in 1..=100 {
            one(&s, "/", i as f64 + 0.3, T0 + 1.0);
        }
        let e = &s.snapshot_at(T0 + 1.0).entries[0];
        for (p, want) in [(0.5, 51.3), (0.66, 67.3), (0.9, 91.3), (0.99, 100.3)] {
            let got = e.percentile(p);
            assert!(
                (got - want).abs() <= want * 0.001 && got <= want,
                "p{p}: {got} vs {want}"
            );
        }
        assert_eq!(e.percentile(1.0), 100.3);
        assert_eq!(e.percentile(0.0), 1.3);
        // Two samples: Locust's median is the larger one.
        let s = RequestStats::new_at(T0);
        one(&s, "/", 1.0, T0);
        one(&s, "/", 100.0, T0);
        assert_eq!(s.snapshot_at(T0).entries[0].percentile(0.5), 100.0);
    }

    #[test]
    fn percentiles_keep_three_significant_digits() {
        let s = RequestStats::new_at(T0);
        one(&s, "/", 1234.567, T0);
        one(&s, "/", 0.0004, T0); // below 1 µs -> recorded as 1 µs
        let e = &s.snapshot_at(T0).entries[0];
        let p = e.percentile(1.0);
        assert_eq!(p, 1234.567, "p100 is the raw max");
        let s = RequestStats::new_at(T0);
        for _ in 0..3 {
            one(&s, "/", 1234.567, T0);
        }
        one(&s, "/", 5000.0, T0);
        let p = s.snapshot_at(T0).entries[0].percentile(0.5);
        assert!((p - 1234.567).abs() / 1234.567 < 0.001, "{p}");
        assert_eq!(e.percentile(0.0), 0.0004, "p0 is the raw min");
        assert_eq!(
            e.current_percentile(0.0),
            Some(0.001),
            "the window holds the 1 µs floor"
        );
    }

    #[test]
    fn median_is_clamped_to_raw_min_and_max() {
        let s = RequestStats::new_at(T0);
        one(&s, "/", 40.013340999, T0);
        let e = &s.snapshot_at(T0).entries[0];
        // rounded median 40 < min -> the raw min (a float)
        assert_eq!(e.median_response_time(), Num::Float(40.013340999));
        let s = RequestStats::new_at(T0);
        one(&s, "/", 40.6, T0);
        assert_eq!(
            s.snapshot_at(T0).entries[0].median_response_time(),
            Num::Float(40.6)
        );
        let s = RequestStats::new_at(T0);
        for rt in [3.2, 4.0, 5.9] {
            one(&s, "/", rt, T0);
        }
        assert_eq!(
            s.snapshot_at(T0).entries[0].median_response_time(),
            Num::Int(4)
        );
    }

    #[test]
    fn zero_response_time_is_recorded() {
        let s = RequestStats::new_at(T0);
        one(&s, "/", 0.0, T0);
        let e = &s.snapshot_at(T0).entries[0];
        assert!(e.has_response_times());
        assert_eq!(e.min_response_time, Some(0.0));
        assert_eq!(e.min_or_zero(), Num::Int(0));
        assert_eq!(e.max_response_time_num(), Num::Int(0));
        assert_eq!(e.total_response_time_num(), Num::Float(0.0));
        assert_eq!(e.median_response_time(), Num::Int(0));
        assert_eq!(e.response_times_buckets(), BTreeMap::from([(0, 1)]));
    }

    #[test]
    fn current_rps_window_matches_locust() {
        // start at 1000.5; requests: 5 per second in seconds 1000..=1020.
        let start = 1000.5;
        let s = RequestStats::new_at(start);
        for sec in 1000..=1020 {
            for i in 0..(sec - 995) {
                one(&s, "/", 1.0, sec as f64 + 0.1 * i as f64 / 100.0 + 0.6);
            }
        }
        let snap = s.snapshot_at(1021.0);
        // L = 1020, S = max(1008, 1000) = 1008, window [1008, 1018): counts sec-995 -> 13..=22
        let expect = (13..=22).sum::<i64>() as f64 / 10.0;
        assert_eq!(snap.entries[0].current_rps(&snap.total), expect);
        assert_eq!(snap.total.current_rps(&snap.total), expect);
        assert_eq!(snap.total.current_fail_per_sec(&snap.total), 0.0);
    }

    #[test]
    fn current_rps_near_start_and_entry_uses_total_timestamp() {
        let s = RequestStats::new_at(1000.9);
        one(&s, "/a", 1.0, 1000.95);
        one(&s, "/a", 1.0, 1001.5);
        one(&s, "/a", 1.0, 1001.6);
        let snap = s.snapshot_at(1002.0);
        // L = 1001, S = 1000, end = 999 -> empty -> 0
        assert_eq!(snap.total.current_rps(&snap.total), 0.0);
        one(&s, "/b", 1.0, 1003.2);
        let snap = s.snapshot_at(1004.0);
        // L = 1003 (newest request of any entry), S = 1000, window [1000, 1001): /a had 1
        let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
        assert_eq!(a.current_rps(&snap.total), 1.0);
        // Freezes: later snapshots without new requests give the same value.
        let snap = s.snapshot_at(1100.0);
        let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
        assert_eq!(a.current_rps(&snap.total), 1.0);
        // L = 1005 -> window [1000, 1003): (1 + 2 + 0) / 3
        one(&s, "/b", 1.0, 1005.0);
        let snap = s.snapshot_at(1005.0);
        let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
        assert_eq!(a.current_rps(&snap.total), 1.0);
        s.log_error("GET", "/a", "E", 1001.2);
        let snap = s.snapshot_at(1005.0);
        let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
        assert_eq!(a.current_fail_per_sec(&snap.total), 1.0 / 3.0);
    }

    #[test]
    fn total_rps_uses_total_span() {
        let s = RequestStats::new_at(1000.0);
        for i in 0..10 {
            one(&s, "/", 1.0, 1000.0 + i as f64 * 0.5);
        }
        s.log_error("GET", "/", "E", 1004.0);
        let snap = s.snapshot_at(1005.0);
        // span = 1004.5 - 1000
        assert_eq!(snap.entries[0].total_rps(&snap.total), 10.0 / 4.5);
        assert_eq!(snap.entries[0].total_fail_per_sec(&snap.total), 1.0 / 4.5);
        let empty = RequestStats::new_at(1000.0).snapshot_at(1001.0);
        assert_eq!(empty.total.total_rps(&empty.total), 0.0);
        assert_eq!(empty.total.current_rps(&empty.total), 0.0);
    }

    #[test]
    fn current_percentile_uses_last_ten_seconds() {
        let s = RequestStats::new_at(1000.0);
        for _ in 0..50 {
            one(&s, "/", 500.0, 1001.5); // old: outside the window at 1020
        }
        for _ in 0..10 {
            one(&s, "/", 5.0, 1011.5); // window [1011, 1020]
        }
        one(&s, "/", 7.0, 1020.5);
        let snap = s.snapshot_at(1020.9);
        let e = &snap.entries[0];
        assert_eq!(e.current_percentile(0.5), Some(5.0));
        assert_eq!(e.current_percentile(1.0), Some(7.0));
        assert!(
            (e.percentile(0.5) - 500.0).abs() < 0.5,
            "{}",
            e.percentile(0.5)
        );
        let later = s.snapshot_at(1031.0);
        assert_eq!(later.entries[0].current_percentile(0.5), None);
        // The window keeps at most CURRENT_WINDOW_SECS seconds per entry, and its dense sums
        // match those seconds.
        let s = RequestStats::new_at(1000.0);
        for sec in 1000..1100 {
            one(&s, "/", 1.0, sec as f64);
        }
        let total = s.total.lock();
        assert_eq!(total.window.seconds.len(), CURRENT_WINDOW_SECS as usize);
        assert_eq!(
            total.window.sums.iter().sum::<u64>(),
            CURRENT_WINDOW_SECS as u64
        );
        assert_eq!(
            total.window.seconds.front().map(|w| w.sec),
            Some(1099 - CURRENT_WINDOW_SECS + 1)
        );
    }

    #[test]
    fn bucket_layout_matches_hdrhistogram() {
        let h = new_histogram();
        let mut values: Vec<u64> = (0..10_000).collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x % MAX_RECORDABLE_US) >> (x % 40));
        }
        values.extend([
            2047,
            2048,
            2049,
            4095,
            4096,
            1 << 20,
            (1 << 21) - 1,
            MAX_RECORDABLE_US,
        ]);
        for v in values {
            assert_eq!(bucket_value(bucket_index(v)), h.lowest_equivalent(v), "{v}");
        }
        // Indices are dense and ascending.
        assert_eq!(bucket_index(2047) + 1, bucket_index(2048));
        assert_eq!(bucket_index(4095) + 1, bucket_index(4096));
    }

    fn window_at(w: &Window, from: i64) -> Vec<(u64, u64)> {
        w.copy(from).map(WindowCopy::export).unwrap_or_default()
    }

    #[test]
    fn window_expires_and_skips_stale_seconds() {
        let mut w = Window::default();
        for sec in 100..=130 {
            for _ in 0..(sec - 99) {
                w.record(sec, bucket_index(sec as u64 * 1000));
            }
        }
        // Holds seconds 121..=130 and their sums only.
        assert_eq!(w.seconds.len(), 10);
        let expected: u64 = (121..=130).map(|s| s - 99).sum();
        assert_eq!(w.sums.iter().sum::<u64>(), expected);
        // Read at a later time: seconds before `from` are left out.
        let got = window_at(&w, 125);
        let want: Vec<(u64, u64)> = (125..=130u64)
            .map(|s| (bucket_value(bucket_index(s * 1000)), s - 99))
            .collect();
        assert_eq!(got, want);
        assert_eq!(window_at(&w, 126), want[1..].to_vec());
        assert!(window_at(&w, 131).is_empty());
        assert!(window_at(&w, 140).is_empty());
        // A late sample for an expired second is dropped; one inside the window is kept.
        w.record(110, 5);
        assert_eq!(w.sums.iter().sum::<u64>(), expected);
        w.record(122, 5);
        assert_eq!(w.sums.iter().sum::<u64>(), expected + 1);
    }

    #[test]
    fn idle_entries_reuse_their_export() {
        let s = RequestStats::new_at(1000.0);
        one(&s, "/", 5.0, 1000.5);
        let a = s.snapshot_at(1001.0);
        let b = s.snapshot_at(1002.0);
        assert!(Arc::ptr_eq(&a.entries[0].buckets, &b.entries[0].buckets));
        one(&s, "/", 6.0, 1002.5);
        let c = s.snapshot_at(1003.0);
        assert!(!Arc::ptr_eq(&a.entries[0].buckets, &c.entries[0].buckets));
        assert_eq!(c.entries[0].percentile(1.0), 6.0);
        assert_eq!(
            a.entries[0].percentile(1.0),
            5.0,
            "old snapshots are unaffected"
        );
    }

    #[test]
    fn out_of_order_seconds_stay_sorted() {
        let s = RequestStats::new_at(1000.0);
        one(&s, "/", 1.0, 1005.0);
        one(&s, "/", 2.0, 1003.0);
        one(&s, "/", 3.0, 1004.0);
        one(&s, "/", 4.0, 980.0); // too old for the window, still counted
        let snap = s.snapshot_at(1005.5);
        let e = &snap.entries[0];
        assert_eq!(e.num_requests, 4);
        assert_eq!(e.last_request_timestamp, Some(1005.0));
        assert_eq!(e.current_percentile(1.0), Some(3.0));
        assert_eq!(
            e.num_reqs_per_sec().to_map(),
            BTreeMap::from([(980, 1), (1003, 1), (1004, 1), (1005, 1)])
        );
        let total = s.total.lock();
        let secs: Vec<i64> = total.window.seconds.iter().map(|w| w.sec).collect();
        assert_eq!(secs, vec![1003, 1004, 1005]);
    }

    #[test]
    fn errors_are_keyed_and_ordered() {
        let s = RequestStats::new_at(T0);
        s.log_request("GET", "/x", Some(1.0), 0, T0);
        s.log_error("GET", "/x", "HTTPError('404')", T0 + 1.0);
        s.log_error("POST", "/x", "HTTPError('404')", T0 + 2.0);
        s.log_error("GET", "/x", "HTTPError('404')", T0 + 3.0);
        let snap = s.snapshot_at(T0 + 3.0);
        assert_eq!(snap.errors.len(), 2);
        assert_eq!(snap.errors[0].method, "GET");
        assert_eq!(snap.errors[0].occurrences, 2);
        assert_eq!(snap.errors[0].first_seen, Some(T0 + 1.0));
        assert_eq!(snap.errors[0].last_seen, Some(T0 + 3.0));
        assert_eq!(snap.errors[1].method, "POST");
        assert_eq!(snap.total.num_failures, 3);
        // log_error alone creates the entry (Locust's entries dict auto-creates).
        let post = snap.entries.iter().find(|e| e.method == "POST").unwrap();
        assert_eq!((post.num_requests, post.num_failures), (0, 1));
        assert_eq!(post.fail_ratio(), 1.0);
        assert!(s.has_failures());
    }

    #[test]
    fn exceptions_count_and_collect_nodes() {
        let s = RequestStats::new_at(T0);
        assert!(!s.has_exceptions());
        s.log_exception("boom", "tb1", "local");
        s.log_exception("boom again", "tb1", "w2");
        s.log_exception("x", "tb2", "local");
        s.log_exception("boom", "tb1", "local");
        let snap = s.snapshot_at(T0);
        assert_eq!(snap.exceptions.len(), 2);
        assert_eq!(snap.exceptions[0].count, 3);
        assert_eq!(snap.exceptions[0].msg, "boom");
        assert_eq!(snap.exceptions[0].nodes, vec!["local", "w2"]);
        s.reset_all(T0 + 1.0);
        assert!(s.has_exceptions(), "reset_all keeps exceptions");
        s.clear_exceptions();
        assert!(!s.has_exceptions());
    }

    #[test]
    fn reset_all_keeps_entries_and_clear_all_drops_them() {
        let s = RequestStats::new_at(T0);
        one(&s, "/", 5.0, T0 + 1.0);
        s.log_error("GET", "/", "E", T0 + 1.0);
        s.reset_all(T0 + 10.0);
        let snap = s.snapshot_at(T0 + 10.0);
        assert_eq!(snap.entries.len(), 1);
        let e = &snap.entries[0];
        assert_eq!((e.num_requests, e.num_failures), (0, 0));
        assert_eq!(e.start_time, T0 + 10.0);
        assert_eq!(e.last_request_timestamp, None);
        assert!(!e.has_response_times());
        assert!(e.num_reqs_per_sec().is_empty());
        assert_eq!(snap.total.start_time, T0 + 10.0);
        assert!(snap.errors.is_empty());
        assert!(!s.has_failures());
        one(&s, "/", 5.0, T0 + 11.0);
        assert_eq!(s.num_requests(), 1);
        s.clear_all(T0 + 20.0);
        let snap = s.snapshot_at(T0 + 20.0);
        assert!(snap.entries.is_empty());
        assert_eq!(snap.total.num_requests, 0);
        assert_eq!(snap.total.start_time, T0 + 20.0);
    }

    #[test]
    fn reset_reported_entries_leaves_total() {
        let s = RequestStats::new_at(T0);
        one(&s, "/", 5.0, T0 + 1.0);
        s.reset_reported_entries(T0 + 2.0);
        let snap = s.snapshot_at(T0 + 2.0);
        assert_eq!(snap.entries[0].num_requests, 0);
        assert_eq!(snap.total.num_requests, 1);
    }

    #[test]
    fn sorted_entries_use_python_tuple_order() {
        let s = RequestStats::new_at(T0);
        for (m, n) in [
            ("POST", "/z"),
            ("GET", "/é"),
            ("POST", "/"),
            ("GET", "/"),
            ("GET", "/Z"),
        ] {
            s.log_request(m, n, Some(1.0), 0, T0);
        }
        let snap = s.snapshot_at(T0);
        let order: Vec<(&str, &str)> = snap
            .sorted_entries()
            .iter()
            .map(|e| (e.name.as_str(), e.method.as_str()))
            .collect();
        // python3: sorted([("/z","POST"),("/é","GET"),("/","POST"),("/","GET"),("/Z","GET")])
        assert_eq!(
            order,
            [
                ("/", "GET"),
                ("/", "POST"),
                ("/Z", "GET"),
                ("/z", "POST"),
                ("/é", "GET")
            ]
        );
        // Insertion order is kept in `entries`.
        assert_eq!(snap.entries[0].name, "/z");
    }

    #[test]
    fn bucket_response_time_matches_python() {
        // Expected values from python3: locust.stats.bucket_response_time
        let cases = [
            (0.4, 0),
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (99.5, 100),
            (99.4999, 99),
            (145.0, 140),
            (155.0, 160),
            (147.3, 150),
            (999.0, 1000),
            (1250.0, 1200),
            (1350.0, 1400),
            (3432.0, 3400),
            (9950.0, 10000),
            (58760.0, 59000),
            (12500.0, 12000),
            (13500.0, 14000),
        ];
        for (ms, expect) in cases {
            assert_eq!(bucket_response_time(ms), expect, "{ms}");
        }
    }

    #[test]
    fn per_second_counters_share_chunks() {
        let mut p = PerSecond::default();
        p.add(-1, 1);
        p.add(0, 2);
        p.add(300, 3);
        let copy = p.clone();
        p.add(300, 1);
        assert_eq!(copy.get(300), 3);
        assert_eq!(p.get(300), 4);
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![(-1, 1), (0, 2), (300, 4)]
        );
    }

    #[test]
    fn ms_to_us_rounds() {
        assert_eq!(ms_to_us(0.0), 0);
        assert_eq!(ms_to_us(-3.0), 0);
        assert_eq!(ms_to_us(f64::NAN), 0);
        assert_eq!(ms_to_us(0.0001), 1);
        assert_eq!(ms_to_us(1.2345), 1235);
        assert_eq!(ms_to_us(f64::INFINITY), MAX_RECORDABLE_US);
    }

    #[test]
    fn concurrent_logging_is_consistent() {
        let s = Arc::new(RequestStats::new_at(T0));
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        let name = if t % 2 == 0 { "/a" } else { "/b" };
                        s.log_request(
                            "GET",
                            name,
                            Some(i as f64 / 100.0),
                            1,
                            T0 + i as f64 / 1000.0,
                        );
                    }
                })
            })
            .collect();
        // Snapshots taken while writing: the total never shows less than its rows.
        let reader = {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let snap = s.snapshot_at(T0 + 3.0);
                    let rows: u64 = snap.entries.iter().map(|e| e.num_requests).sum();
                    assert!(
                        snap.total.num_requests >= rows,
                        "{} < {rows}",
                        snap.total.num_requests
                    );
                }
            })
        };
        for t in writers {
            t.join().unwrap();
        }
        reader.join().unwrap();
        let snap = s.snapshot_at(T0 + 5.0);
        assert_eq!(snap.total.num_requests, 20_000);
        assert_eq!(
            snap.entries.iter().map(|e| e.num_requests).sum::<u64>(),
            20_000
        );
        assert_eq!(snap.total.percentile(1.0), 49.99);
    }
}
