//! One row's response-time histogram ([`RowHist`]): sparse while the row has seen few distinct response
//! times, an HDR histogram (3 significant digits, µs) once it has seen many.
//!
//! Why: hdrhistogram keeps a dense array whose length follows the slowest response seen (1,024 counters,
//! 8 KiB, per power of two above 2 ms). With many request names, most rows hold a few hundred samples, and one
//! slow outlier per row widened each of them for the rest of the run: a master merging 1,000 names grew from
//! 39 to 54 MiB of heap in 5 minutes, 28 MiB of it hdrhistogram's arrays (heaptrack of `bench/dist.py
//! master-memory`). Sparse, a row costs 16 bytes per distinct bucket; a busy row switches to the dense form
//! after [`SPARSE_MAX`] distinct buckets (4 KiB), where the dense array is no larger and records faster.
//!
//! Both forms bucket exactly alike (`window::bucket_index`/`bucket_value` are hdrhistogram's layout), so a
//! row's exported `(µs, count)` pairs do not depend on its form (tested).
//!
//! Who calls it: `live` under a row's lock. What it must not do: take locks, read the clock, or know about
//! rows, windows or snapshots.

use hdrhistogram::Histogram;

use super::new_histogram;
use super::window::{bucket_index, bucket_value};

/// Distinct buckets a sparse histogram holds before it turns dense.
const SPARSE_MAX: usize = 256;

#[derive(Debug, Clone)]
pub(super) enum RowHist {
    /// `(bucket index, count)`, ascending by index, counts > 0.
    Sparse(Vec<(u32, u64)>),
    Dense(Histogram<u64>),
}

impl Default for RowHist {
    fn default() -> Self {
        RowHist::Sparse(Vec::new())
    }
}

impl RowHist {
    /// Empty, keeping the form and its allocation (a row that was busy is likely to be busy again).
    pub(super) fn reset(&mut self) {
        match self {
            RowHist::Sparse(v) => v.clear(),
            RowHist::Dense(h) => h.reset(),
        }
    }

    /// `n` samples of `us` µs (`idx` = `bucket_index(us)`).
    #[inline]
    pub(super) fn record_n(&mut self, us: u64, idx: usize, n: u64) {
        if n == 0 {
            return;
        }
        match self {
            RowHist::Dense(h) => {
                if h.record_n(us, n).is_err() {
                    h.saturating_record_n(us, n);
                }
            }
            RowHist::Sparse(v) => {
                let key = u32::try_from(idx).unwrap_or(u32::MAX);
                match v.binary_search_by_key(&key, |&(k, _)| k) {
                    Ok(i) => v[i].1 = v[i].1.saturating_add(n),
                    Err(i) if v.len() < SPARSE_MAX => v.insert(i, (key, n)),
                    Err(_) => {
                        let mut h = dense_from(v);
                        if h.record_n(us, n).is_err() {
                            h.saturating_record_n(us, n);
                        }
                        *self = RowHist::Dense(h);
                    }
                }
            }
        }
    }

    /// `n` samples of `us` µs.
    pub(super) fn record_us(&mut self, us: u64, n: u64) {
        self.record_n(us, bucket_index(us), n);
    }

    /// How many samples it holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> u64 {
        match self {
            RowHist::Sparse(v) => v.iter().fold(0u64, |a, &(_, n)| a.saturating_add(n)),
            RowHist::Dense(h) => h.len(),
        }
    }

    /// Every non-empty bucket as `(lowest µs of the bucket, count)`, ascending.
    pub(super) fn pairs(&self) -> Vec<(u64, u64)> {
        match self {
            RowHist::Sparse(v) => v
                .iter()
                .map(|&(k, n)| (bucket_value(k as usize), n))
                .collect(),
            RowHist::Dense(h) => sparse(h),
        }
    }

    /// The samples as an HDR histogram (what a worker's report carries).
    pub(super) fn into_histogram(self) -> Histogram<u64> {
        match self {
            RowHist::Dense(h) => h,
            RowHist::Sparse(v) => dense_from(&v),
        }
    }

    #[cfg(test)]
    pub(super) fn is_sparse(&self) -> bool {
        matches!(self, RowHist::Sparse(_))
    }
}

/// Every non-empty bucket of an HDR histogram as `(lowest value of the bucket, count)`, ascending (the
/// lateness and start-lag histograms' exports, which windows subtract).
pub fn sparse(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| {
            (
                h.lowest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .collect()
}

fn dense_from(v: &[(u32, u64)]) -> Histogram<u64> {
    let mut h = new_histogram();
    for &(k, n) in v {
        let us = bucket_value(k as usize);
        if h.record_n(us, n).is_err() {
            h.saturating_record_n(us, n);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_pairs(samples: &[(u64, u64)]) -> Vec<(u64, u64)> {
        let mut h = RowHist::Dense(new_histogram());
        for &(us, n) in samples {
            h.record_us(us, n);
        }
        h.pairs()
    }

    #[test]
    fn both_forms_export_the_same_buckets() {
        // a deterministic spread: small, mid and huge values, repeats, and enough distinct buckets to turn dense
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut samples = Vec::new();
        for i in 0..2_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let us = match i % 5 {
                0 => x % 2_048,
                1 => 2_048 + x % 100_000,
                2 => x % 60_000_000,
                3 => 1 << (x % 40),
                _ => 500,
            };
            samples.push((us, 1 + x % 3));
        }
        for cut in [1, 10, 200, 255, 256, 257, 2_000] {
            let part = &samples[..cut];
            let mut h = RowHist::default();
            for &(us, n) in part {
                h.record_us(us, n);
            }
            assert_eq!(h.pairs(), dense_pairs(part), "after {cut} samples");
            assert_eq!(h.len(), part.iter().map(|&(_, n)| n).sum::<u64>());
            let distinct: std::collections::BTreeSet<usize> =
                part.iter().map(|&(us, _)| bucket_index(us)).collect();
            assert_eq!(
                h.is_sparse(),
                distinct.len() <= SPARSE_MAX,
                "after {cut} samples"
            );
            let back = h.clone().into_histogram();
            assert_eq!(back.len(), h.len());
            assert_eq!(RowHist::Dense(back).pairs(), h.pairs());
        }
    }

    #[test]
    fn reset_keeps_the_form_and_empties_it() {
        let mut h = RowHist::default();
        for us in 0..(SPARSE_MAX as u64 + 1) {
            h.record_us(us, 1);
        }
        assert!(!h.is_sparse());
        h.reset();
        assert!(!h.is_sparse());
        assert_eq!(h.len(), 0);
        assert!(h.pairs().is_empty());
        let mut s = RowHist::default();
        s.record_us(7, 2);
        s.reset();
        assert!(s.is_sparse() && s.len() == 0);
        s.record_n(7, bucket_index(7), 0);
        assert_eq!(s.len(), 0);
    }
}
