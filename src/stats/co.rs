//! Coordinated-omission correction for fixed-rate users (`constant_pacing` / `constant_throughput`): a row's
//! synthetic samples ([`CoState`]), the arithmetic that makes them ([`backfill`]) and the corrected view a
//! snapshot carries ([`Corrected`]). docs/observability.md "Coordinated omission" explains the model.
//!
//! The rule (HdrHistogram's `recordValueWithExpectedInterval`): a request of a user that starts a task every
//! `T` and took `R > T` also stands for the requests that user would have sent at `T`, `2T`, ... after it,
//! had it not been stuck waiting; those would have completed when it did, so they count as `R - T`,
//! `R - 2T`, ... (every value above 0). The measured histogram is left alone; the synthetic samples go into
//! a second, sparse histogram, and a snapshot merges the two into the corrected distribution.
//!
//! Who calls it: `live` under a row's lock (record, reset, merge of a worker's row) and when it finishes a
//! snapshot row outside the lock; `snapshot` reads [`Corrected`]. Rows that never saw a fixed-rate request
//! carry no [`CoState`] at all.
//!
//! What it must not do: take locks, read the clock, allocate per request beyond the sparse histogram's
//! growth, or loop once per synthetic sample (a 60 s stall at a 1 ms interval is 60,000 samples: they are
//! recorded a histogram bucket at a time).

use super::Buckets;
use super::hist::RowHist;
use super::window::{bucket_index, bucket_value};

/// One row's correction state: how many of its requests came from fixed-rate users and the synthetic
/// samples (µs) their stalls added.
#[derive(Debug, Clone, Default)]
pub(super) struct CoState {
    /// Timed requests recorded with an expected interval (the fixed-rate users' requests).
    pub(super) paced: u64,
    /// Synthetic samples in `backfill`.
    pub(super) synthetic: u64,
    pub(super) backfill: RowHist,
}

impl CoState {
    /// One timed request of `us` µs from a user whose expected interval is `interval_us` (> 0).
    #[inline]
    pub(super) fn record(&mut self, us: u64, interval_us: u64) {
        self.paced += 1;
        if us > interval_us {
            self.synthetic =
                self.synthetic
                    .saturating_add(backfill(&mut self.backfill, us, interval_us));
        }
    }

    /// Add a worker's (or another row's) counts and synthetic samples.
    pub(super) fn merge(&mut self, paced: u64, synthetic: &[(u64, u64)]) {
        self.paced = self.paced.saturating_add(paced);
        for &(us, n) in synthetic {
            self.backfill.record_us(us, n);
            self.synthetic = self.synthetic.saturating_add(n);
        }
    }
}

/// Record the synthetic samples of one request of `us` µs at an expected interval of `interval_us`:
/// `us - k * interval_us` for k = 1, 2, ... while positive. Returns how many were recorded.
///
/// The values form a descending arithmetic series, so every run of them that falls into one histogram bucket
/// is recorded at once (the bucket's samples are equivalent): the loop runs once per bucket touched, at most a
/// few thousand times however long the stall, and the histogram holds exactly what recording each value would.
pub(super) fn backfill(hist: &mut RowHist, us: u64, interval_us: u64) -> u64 {
    if interval_us == 0 || us <= interval_us {
        return 0;
    }
    let mut added = 0u64;
    let mut v = us - interval_us;
    loop {
        let idx = bucket_index(v);
        let low = bucket_value(idx).max(1);
        // v, v - T, v - 2T, ... down to `low` share v's bucket
        let run = (v - low) / interval_us + 1;
        hist.record_n(v, idx, run);
        added += run;
        let step = run.saturating_mul(interval_us);
        if step >= v {
            break;
        }
        v -= step;
    }
    added
}

/// The corrected distribution of one snapshot row: the measured samples and the synthetic ones merged.
#[derive(Clone, Debug)]
pub struct Corrected {
    /// Timed requests that came from fixed-rate users.
    pub paced_requests: u64,
    /// Synthetic samples added for their stalls (0: the corrected distribution is the measured one).
    pub synthetic_samples: u64,
    /// Measured and synthetic samples as `(lowest µs of the bucket, count)`, ascending.
    pub(super) buckets: Buckets,
    /// Samples in `buckets`.
    pub(super) num_samples: u64,
}

impl Corrected {
    /// The corrected view of a row whose measured buckets are `measured` (`num_measured` samples).
    pub(super) fn of(state: &CoState, measured: &Buckets, num_measured: u64) -> Corrected {
        let buckets = if state.synthetic == 0 {
            measured.clone()
        } else {
            merge_sorted(measured, &state.backfill.pairs()).into()
        };
        Corrected {
            paced_requests: state.paced,
            synthetic_samples: state.synthetic,
            buckets,
            num_samples: num_measured.saturating_add(state.synthetic),
        }
    }
}

/// Two ascending `(value, count)` lists merged into one, counts of equal values added.
fn merge_sorted(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = if j == b.len() || (i < a.len() && a[i].0 <= b[j].0) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        match out.last_mut() {
            Some(last) if last.0 == next.0 => last.1 += next.1,
            _ => out.push(next),
        }
    }
    out
}
