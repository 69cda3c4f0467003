//! The per-second machinery of the statistics: [`PerSecond`] (`{unix second: count}` for the
//! whole run, in copy-on-write chunks), the histogram bucket layout hdrhistogram uses for 3
//! significant digits (`bucket_index` / `bucket_value`), and the [`Window`] of the last
//! `CURRENT_WINDOW_SECS` seconds behind the current percentiles (reference §5.6).
//!
//! Who calls it: `live` records into these structures under a row's lock and copies them for a
//! snapshot ([`Window::copy`]); [`WindowCopy::export`] then runs outside any lock; `snapshot`
//! reads the [`PerSecond`] counters for the rates.
//!
//! What it must not do: take locks (the caller holds the row's lock), read the clock (seconds
//! are passed in), know about entries, failures or exceptions, compute rates or percentiles
//! (that is `snapshot`), format anything or touch Python.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use super::CURRENT_WINDOW_SECS;
use crate::int_hash::IntHashing;

// ---------------------------------------------------------------------------------------------
// Per-second counters
// ---------------------------------------------------------------------------------------------

const CHUNK: usize = 256;

/// `{unix second: count}` for every second of the run, stored in copy-on-write chunks of 256
/// seconds so that a snapshot shares the finished chunks instead of copying hours of counters.
/// Seconds with a count of 0 do not exist (as in Locust's `defaultdict`).
///
/// NOTE: a count is a `u32` (saturating: four billion requests of one name in one second): the chunks are the
/// one part of a row that grows with the run's length (Locust's `--json` output has every second), 1 KiB per
/// row and 256 s.
#[derive(Clone, Debug, Default)]
pub struct PerSecond {
    chunks: BTreeMap<i64, Arc<[u32; CHUNK]>>,
}

impl PerSecond {
    fn split(sec: i64) -> (i64, usize) {
        (
            sec.div_euclid(CHUNK as i64),
            sec.rem_euclid(CHUNK as i64) as usize,
        )
    }

    pub(super) fn add(&mut self, sec: i64, n: u64) {
        let (c, i) = Self::split(sec);
        let chunk = self.chunks.entry(c).or_insert_with(|| Arc::new([0; CHUNK]));
        let slot = &mut Arc::make_mut(chunk)[i];
        *slot = slot.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    }

    /// The count for one second (0 when none).
    pub fn get(&self, sec: i64) -> u64 {
        let (c, i) = Self::split(sec);
        self.chunks.get(&c).map_or(0, |chunk| u64::from(chunk[i]))
    }

    /// `(second, count)` for every second with a non-zero count, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.chunks.iter().flat_map(|(&c, chunk)| {
            chunk
                .iter()
                .enumerate()
                .filter(|(_, n)| **n != 0)
                .map(move |(i, n)| (c * CHUNK as i64 + i as i64, u64::from(*n)))
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
pub(super) fn bucket_index(us: u64) -> usize {
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
pub(super) fn bucket_value(idx: usize) -> u64 {
    let idx = idx as u64;
    if idx < SUB_BUCKETS {
        idx
    } else {
        let k = (idx - SUB_BUCKETS) / HALF_SUB_BUCKETS + 1;
        ((idx - SUB_BUCKETS) % HALF_SUB_BUCKETS + HALF_SUB_BUCKETS) << k
    }
}

// ---------------------------------------------------------------------------------------------
// Current window
// ---------------------------------------------------------------------------------------------

type SecondCounts = HashMap<u32, u32, IntHashing>;

/// The response times of one second: `{bucket index: count}`.
#[derive(Debug)]
pub(super) struct SecondHist {
    pub(super) sec: i64,
    counts: SecondCounts,
}

/// The response times of the last `CURRENT_WINDOW_SECS` seconds (counted back from the newest
/// second seen): a sparse map per second, so a second can be subtracted when it leaves, and
/// their sum per bucket, so a snapshot copies the window as one map.
///
/// The newest second is recorded into alone: `sums` covers every held second but the newest, which is added to
/// them when a newer second opens (once per distinct bucket) and when a snapshot copies the window. A busy row's
/// newest second counts its buckets below [`DENSE`] in an array instead of its map.
/// NOTE: each sample used to update two hash maps (its second's and the sums), and both missed the cache on the
/// I/O thread: a map's control bytes and its slot are two lines. With the sums folded per second and the busy
/// second in an array, a sample touches one line. `bench/simultaneous.py`: docs/performance.md.
///
/// NOTE: the sums are sparse too. Dense (a `Vec` indexed by bucket), they cost 8 bytes per bucket up to the
/// window's slowest response: 10 MiB for a master merging 1,000 names whose windows each held one slow sample.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// Ascending by second; only seconds that had samples. The newest one's map lacks what `dense` counts.
    pub(super) seconds: VecDeque<SecondHist>,
    /// bucket index → count over `seconds` but the newest (no zero counts).
    sums: SumCounts,
    /// The newest second's counts of the buckets below [`DENSE`], when it is busy (length [`DENSE`]); else empty.
    dense: Vec<u32>,
}

/// The buckets a busy second counts in an array: every µs up to 2,048, then 1,024 per power of two, to 8 ms
/// (16 KiB).
const DENSE: usize = 4096;
/// Distinct buckets in the newest second's map before its small buckets move to the array.
const DENSE_AFTER: usize = 128;

type SumCounts = HashMap<u32, u64, IntHashing>;

impl Window {
    pub(super) fn clear(&mut self) {
        self.seconds.clear();
        self.sums.clear();
        self.dense = Vec::new();
    }

    #[inline]
    pub(super) fn record(&mut self, sec: i64, idx: usize) {
        self.record_n(sec, idx, 1);
    }

    /// `n` samples of bucket `idx` in second `sec` (a master merging a worker's report).
    pub(super) fn record_n(&mut self, sec: i64, idx: usize, n: u64) {
        if n == 0 {
            return;
        }
        let n = u32::try_from(n).unwrap_or(u32::MAX);
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
        if slot + 1 == self.seconds.len() {
            // the newest second: its own count only (the sums take it when a newer second opens)
            if let Some(c) = self.dense.get_mut(idx) {
                *c = c.saturating_add(n);
                return;
            }
            let Some(s) = self.seconds.back_mut() else {
                return;
            };
            let c = s.counts.entry(idx as u32).or_insert(0);
            *c = c.saturating_add(n);
            if self.dense.is_empty() && s.counts.len() >= DENSE_AFTER {
                // busy: its small buckets counted in the array from now on
                self.dense = vec![0; DENSE];
                s.counts
                    .retain(|&k, &mut c| match self.dense.get_mut(k as usize) {
                        Some(d) => {
                            *d = c;
                            false
                        }
                        None => true,
                    });
            }
            return;
        }
        if let Some(s) = self.seconds.get_mut(slot) {
            // the per-second count saturates at u32::MAX; the sum stays equal to the seconds' counts
            let c = s.counts.entry(idx as u32).or_insert(0);
            let before = *c;
            *c = c.saturating_add(n);
            let added = u64::from(*c - before);
            if added > 0 {
                let sum = self.sums.entry(idx as u32).or_insert(0);
                *sum = sum.saturating_add(added);
            }
        }
    }

    /// Add an empty second (expiring the seconds that leave the window); its position, or
    /// `None` when `sec` itself is already outside the window.
    fn open_second(&mut self, sec: i64) -> Option<usize> {
        let newest = self.seconds.back().map_or(sec, |s| s.sec.max(sec));
        let oldest = newest - (CURRENT_WINDOW_SECS - 1);
        if sec < oldest {
            return None;
        }
        if self.seconds.back().is_some_and(|s| s.sec < sec) {
            // a newer second: the newest so far joins the sums
            self.fold_newest();
        }
        let mut recycled: Option<SecondCounts> = None;
        while self.seconds.front().is_some_and(|s| s.sec < oldest) {
            if let Some(old) = self.seconds.pop_front() {
                for (&k, &n) in &old.counts {
                    if let Some(sum) = self.sums.get_mut(&k) {
                        *sum = sum.saturating_sub(u64::from(n));
                        if *sum == 0 {
                            self.sums.remove(&k);
                        }
                    }
                }
                recycled = Some(old.counts);
            }
        }
        if recycled.is_some() && self.sums.capacity() > 2 * self.sums.len() + 64 {
            // a burst of distinct response times does not keep its table for the rest of the run
            self.sums.shrink_to_fit();
        }
        let mut counts = recycled.unwrap_or_default();
        counts.clear();
        let pos = self.seconds.partition_point(|s| s.sec < sec);
        self.seconds.insert(pos, SecondHist { sec, counts });
        Some(pos)
    }

    /// The newest second's counts whole in its map (the array's moved back) and added to the sums; the array kept
    /// for the next second only if this one was busy.
    fn fold_newest(&mut self) {
        let Some(s) = self.seconds.back_mut() else {
            return;
        };
        if !self.dense.is_empty() {
            for (k, d) in self.dense.iter_mut().enumerate() {
                if *d != 0 {
                    let c = s.counts.entry(k as u32).or_insert(0);
                    *c = c.saturating_add(*d);
                    *d = 0;
                }
            }
            if s.counts.len() < DENSE_AFTER {
                self.dense = Vec::new();
            }
        }
        for (&k, &n) in &s.counts {
            let sum = self.sums.entry(k).or_insert(0);
            *sum = sum.saturating_add(u64::from(n));
        }
    }

    /// The count of every bucket over the held seconds (the sums and the newest second).
    fn totals(&self) -> SumCounts {
        let mut sums = self.sums.clone();
        if let Some(s) = self.seconds.back() {
            for (&k, &n) in &s.counts {
                *sums.entry(k).or_insert(0) += u64::from(n);
            }
            for (k, &d) in self.dense.iter().enumerate() {
                if d != 0 {
                    *sums.entry(k as u32).or_insert(0) += u64::from(d);
                }
            }
        }
        sums
    }

    /// The count of every bucket over the held seconds (tests).
    #[cfg(test)]
    pub(super) fn sums(&self) -> SumCounts {
        self.totals()
    }

    /// What a snapshot needs for the seconds `>= from`: the sums and the held seconds older
    /// than `from` (to subtract). `None` when no held second is recent enough.
    pub(super) fn copy(&self, from: i64) -> Option<WindowCopy> {
        if self.seconds.back().is_none_or(|s| s.sec < from) {
            return None;
        }
        Some(WindowCopy {
            sums: self.totals(),
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
pub(super) struct WindowCopy {
    sums: SumCounts,
    stale: Vec<SecondCounts>,
}

impl WindowCopy {
    pub(super) fn export(mut self) -> Vec<(u64, u64)> {
        for stale in &self.stale {
            for (&k, &n) in stale {
                if let Some(sum) = self.sums.get_mut(&k) {
                    *sum = sum.saturating_sub(u64::from(n));
                }
            }
        }
        let mut out: Vec<(u64, u64)> = self
            .sums
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(&i, &n)| (bucket_value(i as usize), n))
            .collect();
        out.sort_unstable();
        out
    }
}
