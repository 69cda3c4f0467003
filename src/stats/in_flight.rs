//! How many requests this process has in flight: handed to the engine and not yet handed back to Python (done or
//! not), now and at most since the process started. It shows what a locustfile's concurrency really is (issue 41:
//! a `gather` of ten calls in one coroutine puts ten in flight; ten users each awaiting one call do too), which
//! users and RPS do not.
//!
//! Who calls it: the hub thread alone counts, as it hands requests to the engine ([`sent`], `engine`'s flush) and
//! takes their completions back ([`returned`], the bridge's drain); `/metrics` reads it ([`now`], [`peak`]). Local to
//! this process (a master does not add up its workers'). What it must not do: be written by the I/O threads (a
//! counter they all touch per request cost the engine measurably: bench/simultaneous.py).
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Requests in flight now.
pub fn now() -> u64 {
    SENT.load(Ordering::Relaxed)
        .saturating_sub(RETURNED.load(Ordering::Relaxed))
}

/// The most requests that were in flight at once since the process started.
pub fn peak() -> u64 {
    PEAK.load(Ordering::Relaxed)
}
