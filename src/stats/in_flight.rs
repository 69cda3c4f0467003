//! How many requests this process has in flight: handed to the engine and not yet handed back to Python (done or
//! not), now and at most since the process started. It shows what a locustfile's concurrency really is (issue 41:
//! a `gather` of ten calls in one coroutine puts ten in flight; ten users each awaiting one call do too), which
//! users and RPS do not.
//!
//! Who calls it: the hub thread alone counts, as it hands requests to the engine ([`sent`], `engine`'s flush) and
//! takes their completions back ([`returned`], the bridge's drain); the readings read it ([`now`], [`peak`]).
//!
//! At a master the figures are the run's: each worker sends its own with every report (`rlocust_in_flight`:
//! `{"now": n, "peak": n}`, a key a Locust master ignores), the master keeps the latest per live worker
//! ([`worker_report`]) and drops a worker's share when it leaves or goes missing ([`worker_left`]); [`now`] adds them to the
//! process's own, and [`peak`] is the highest of the process's own peak, any worker's and the sums seen at the
//! reports (a burst between two reports shows in its worker's peak). What it must not do: be written by the I/O
//! threads (a counter they all touch per request cost the engine measurably: bench/simultaneous.py).
//!
//! Why statics: the hub thread counts from the engine's flush and the bridge's drain, which reach no run context
//! (a context lookup per request would cost what the counters are kept off the I/O threads for). Readers never
//! read them by path: they get them in `runner::readings::Readings`, taken from the run context.
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The key of a worker's report that carries its counts.
pub const WIRE_KEY: &str = "rlocust_in_flight";

static SENT: AtomicU64 = AtomicU64::new(0);
static RETURNED: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

/// `n` requests were handed to the engine (hub thread).
pub fn sent(n: u64) {
    let sent = SENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(sent - RETURNED.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// `n` requests' completions were taken back by the hub (hub thread).
pub fn returned(n: u64) {
    if n > 0 {
        RETURNED.fetch_add(n, Ordering::Relaxed);
    }
}

/// The workers' latest counts at a master: (worker id, now, peak).
static WORKERS: Mutex<Vec<(String, u64, u64)>> = Mutex::new(Vec::new());
/// At a master: the highest of the workers' peaks and of their summed counts at a report.
static WORKERS_PEAK: AtomicU64 = AtomicU64::new(0);

/// This process's own requests in flight now.
pub fn local() -> u64 {
    SENT.load(Ordering::Relaxed)
        .saturating_sub(RETURNED.load(Ordering::Relaxed))
}

/// This process's own peak.
pub fn local_peak() -> u64 {
    PEAK.load(Ordering::Relaxed)
}

/// Requests in flight now: this process's, and at a master its live workers' as they last reported.
pub fn now() -> u64 {
    local() + WORKERS.lock().iter().map(|w| w.1).sum::<u64>()
}

/// The most requests that were in flight at once (see the module header for a master's).
pub fn peak() -> u64 {
    local_peak().max(WORKERS_PEAK.load(Ordering::Relaxed))
}

/// Master: worker `id` reported `now` in flight, at most `peak`.
pub fn worker_report(id: &str, now: u64, peak: u64) {
    let mut workers = WORKERS.lock();
    match workers.iter_mut().find(|w| w.0 == id) {
        Some(w) => (w.1, w.2) = (now, peak),
        None => workers.push((id.to_owned(), now, peak)),
    }
    let sum: u64 = workers.iter().map(|w| w.1).sum();
    WORKERS_PEAK.fetch_max(sum.max(peak), Ordering::Relaxed);
}

/// Master: worker `id` left the run; its share is no longer counted.
pub fn worker_left(id: &str) {
    WORKERS.lock().retain(|w| w.0 != id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_adds_up_its_live_workers_and_drops_one_that_leaves() {
        let base = now();
        worker_report("w-a", 3, 5);
        worker_report("w-b", 4, 4);
        assert_eq!(now(), base + 7);
        worker_report("w-a", 1, 5);
        assert_eq!(now(), base + 5);
        worker_left("w-b");
        assert_eq!(now(), base + 1);
        worker_left("w-a");
        assert_eq!(now(), base);
        // the sum at a report (7), above either worker's own peak
        assert!(peak() >= 7);
    }
}
