//! Sparse histograms, `(lowest value of a bucket, count)` ascending, as the statistics export them: one less another
//! ([`bucket_difference`], a window's), a quantile ([`bucket_percentile`], Locust's rank rule) and a
//! distribution-free confidence interval of a quantile ([`percentile_interval`]). The windows of `since`, the
//! lateness and the start lag subtract with them; the capacity search judges a probe with them.
//!
//! Who calls it: `since`, `lateness`, `runner::open::tally`, `judge::search`. What it must not do: know about rows,
//! snapshots or the clock (a leaf: pure functions of slices).

/// `later - earlier` of two sorted sparse histograms (buckets absent from `later` cannot have lost counts).
pub fn bucket_difference(later: &[(u64, u64)], earlier: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(later.len());
    let mut e = earlier.iter().peekable();
    for &(v, n) in later {
        while e.next_if(|b| b.0 < v).is_some() {}
        let before = e.next_if(|b| b.0 == v).map_or(0, |b| b.1);
        if n > before {
            out.push((v, n - before));
        }
    }
    out
}

/// The value at quantile `p` (0..=1) of a sparse histogram, Locust's rank rule (`int(n * p)`, at most `n - 1`);
/// `None` when it is empty.
pub fn bucket_percentile(buckets: &[(u64, u64)], p: f64) -> Option<u64> {
    let n: u64 = buckets.iter().map(|b| b.1).sum();
    if n == 0 {
        return None;
    }
    value_at(buckets, rank(n, p))
}

/// A distribution-free confidence interval of the quantile `p` from `n` samples (the order statistics whose ranks
/// are `n·p ∓ z·√(n·p·(1-p))`): the values at those ranks. `z` 1.96 gives about 95 %. `None` when empty.
pub fn percentile_interval(buckets: &[(u64, u64)], p: f64, z: f64) -> Option<(u64, u64)> {
    let n: u64 = buckets.iter().map(|b| b.1).sum();
    if n == 0 {
        return None;
    }
    let p = p.clamp(0.0, 1.0);
    let centre = n as f64 * p;
    let half = z * (n as f64 * p * (1.0 - p)).sqrt();
    let lo = (centre - half).floor().max(0.0) as u64;
    let hi = ((centre + half).ceil() as u64).min(n - 1);
    Some((value_at(buckets, lo.min(n - 1))?, value_at(buckets, hi)?))
}

/// Locust's percentile rank rule: the 0-based rank `int(n * p)` of `n` sorted samples, at most `n - 1` (so p = 1 is
/// the maximum). Python computes `n * p` in floats too.
pub(super) fn rank(n: u64, p: f64) -> u64 {
    let r = if p.is_nan() || p <= 0.0 {
        0
    } else {
        ((n as f64) * p) as u64
    };
    r.min(n.saturating_sub(1))
}

/// The bucket value at `rank` in sorted `(value, count)` buckets.
pub(super) fn value_at(buckets: &[(u64, u64)], rank: u64) -> Option<u64> {
    let mut acc = 0u64;
    for &(v, c) in buckets {
        acc += c;
        if acc > rank {
            return Some(v);
        }
    }
    buckets.last().map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_subtract_exactly() {
        let later = [(10, 5), (20, 3), (40, 1)];
        let earlier = [(10, 2), (20, 3), (30, 0)];
        assert_eq!(bucket_difference(&later, &earlier), vec![(10, 3), (40, 1)]);
        assert_eq!(bucket_difference(&later, &[]), later.to_vec());
        assert_eq!(bucket_percentile(&[(10, 3), (40, 1)], 0.5), Some(10));
        assert_eq!(bucket_percentile(&[(10, 3), (40, 1)], 1.0), Some(40));
        assert_eq!(bucket_percentile(&[], 0.5), None);
    }

    #[test]
    fn an_interval_brackets_its_percentile_and_narrows_with_samples() {
        let few: Vec<(u64, u64)> = (1..=20).map(|v| (v, 1)).collect();
        let (lo, hi) = percentile_interval(&few, 0.95, 1.96).unwrap();
        assert!(lo <= 19 && hi == 20 && lo < hi, "{lo} {hi}");
        let many: Vec<(u64, u64)> = (1..=10_000).map(|v| (v, 1)).collect();
        let (lo, hi) = percentile_interval(&many, 0.95, 1.96).unwrap();
        assert!(lo < 9_500 && hi > 9_500 && hi - lo < 100, "{lo} {hi}");
    }
}
