//! How late the generator itself was (issue 14's saturation signal), in three HDR histograms (µs):
//! - `socket`: for each response read on a connection whose packets the kernel stamps (`http::conn::stamp`), how
//!   long its last bytes had waited in the socket before the I/O thread read them (response times leave this
//!   out: it is the generator's delay, not the server's);
//! - `hub`: for each completed call, the time from the first message of its batch reaching the bridge's queue
//!   to the hub draining that batch (an upper bound of how long the response sat finished before Python could
//!   take it; the hub then resumes the batch's users in turn);
//! - `wait`: for each finished wait (`TaskSet.wait()`, the user's `wait_time` sleep), how long after its due
//!   time the user resumed.
//!
//! A generator with headroom shows tens of µs in both; milliseconds mean its Python thread was the bottleneck
//! and that share of a reported response time (or of a missed schedule) is the generator's, not the target's.
//! Reset with the statistics. Local to this process (a master does not get its workers').
//!
//! Who calls it: `engine::record` alone records (from a call's `http::Timings`, the bridge's drain and a user's
//! wait: [`record_socket`], [`record_hub`], [`record_wait`]); the statistics' resets ([`reset`]), the summary, the `_generator.csv`
//! file and `/metrics` ([`snapshot`]). What it must not do: block (one short lock per response, per batch or per
//! wait), or know about rows.
//!
//! Why a static: `engine::record` records from the tokio workers and the hub with no run context at hand; the
//! histograms are reset with the statistics (`RequestStats::reset`), so a second run in the process starts from
//! zero. Readers get the figures in `runner::readings::Readings`, taken from the run context, never by path.
use std::sync::LazyLock;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

struct All {
    socket: Histogram<u64>,
    hub: Histogram<u64>,
    wait: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 1 hour, 3 significant digits
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("a valid histogram configuration")
}

static LATENESS: LazyLock<Mutex<All>> = LazyLock::new(|| {
    Mutex::new(All {
        socket: histogram(),
        hub: histogram(),
        wait: histogram(),
    })
});

/// A response whose last bytes waited `us` µs in the socket.
pub fn record_socket(us: u64) {
    LATENESS.lock().socket.saturating_record(us.max(1));
}

/// `count` completions drained `us` µs after their batch began queueing.
pub fn record_hub(us: u64, count: u64) {
    if count > 0 {
        LATENESS.lock().hub.saturating_record_n(us.max(1), count);
    }
}

/// A wait that ended `seconds` after its due time (negative: early, recorded as 0).
pub fn record_wait(seconds: f64) {
    LATENESS.lock().wait.saturating_record(wait_us(seconds));
}

/// A lateness in whole µs, at least 1 (the histogram's lowest value); early or not a number: 1.
fn wait_us(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        ((seconds * 1e6) as u64).max(1)
    } else {
        1
    }
}

/// Forget everything (the statistics were reset).
pub fn reset() {
    let mut b = LATENESS.lock();
    b.socket.reset();
    b.hub.reset();
    b.wait.reset();
}

/// One histogram's figures in ms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delays {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// The histogram as `(lowest µs of a bucket, count)`, ascending (what a window subtracts).
    pub buckets: Vec<(u64, u64)>,
}

fn delays(h: &Histogram<u64>) -> Delays {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Delays {
        count: h.len(),
        p50: ms(0.5),
        p90: ms(0.9),
        p99: ms(0.99),
        p999: ms(0.999),
        max: h.max() as f64 / 1000.0,
        buckets: super::hist::sparse(h),
    }
}

impl Delays {
    /// The delays recorded between `earlier` and these (a window's; a reset in between: these whole).
    pub fn since(&self, earlier: &Delays) -> Delays {
        if earlier.count > self.count {
            return self.clone();
        }
        let buckets = super::buckets::bucket_difference(&self.buckets, &earlier.buckets);
        let ms = |p: f64| {
            super::buckets::bucket_percentile(&buckets, p).map_or(0.0, |us| us as f64 / 1000.0)
        };
        Delays {
            count: buckets.iter().map(|b| b.1).sum(),
            p50: ms(0.5),
            p90: ms(0.9),
            p99: ms(0.99),
            p999: ms(0.999),
            max: ms(1.0),
            buckets,
        }
    }
}

/// The three histograms' figures as of now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lateness {
    pub socket: Delays,
    pub hub: Delays,
    pub wait: Delays,
}

impl Lateness {
    /// The delays recorded between `earlier` and these.
    pub fn since(&self, earlier: &Lateness) -> Lateness {
        Lateness {
            socket: self.socket.since(&earlier.socket),
            hub: self.hub.since(&earlier.hub),
            wait: self.wait.since(&earlier.wait),
        }
    }
}

pub fn snapshot() -> Lateness {
    let b = LATENESS.lock();
    Lateness {
        socket: delays(&b.socket),
        hub: delays(&b.hub),
        wait: delays(&b.wait),
    }
}

/// The `{prefix}_generator.csv` file: one row per delay, figures in ms.
pub fn csv(l: &Lateness) -> String {
    let mut out = String::from("Delay,Count,50%,90%,99%,99.9%,Max\r\n");
    for (name, d) in [
        ("Socket wait", &l.socket),
        ("Response handling", &l.hub),
        ("Wait lateness", &l.wait),
    ] {
        out.push_str(&format!(
            "{name},{},{:.3},{:.3},{:.3},{:.3},{:.3}\r\n",
            d.count, d.p50, d.p90, d.p99, d.p999, d.max
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // the global histograms are reset by other tests' statistics resets: the figures are tested on local ones
    #[test]
    fn figures_in_ms() {
        let mut h = histogram();
        h.saturating_record_n(2_000, 99);
        h.saturating_record(40_000);
        let d = delays(&h);
        assert_eq!(d.count, 100);
        assert!(
            (d.p50 - 2.0).abs() < 0.01 && (d.max - 40.0).abs() < 0.05,
            "{d:?}"
        );
        assert_eq!(wait_us(0.0005), 500);
        assert_eq!(wait_us(-1.0), 1);
        assert_eq!(wait_us(f64::NAN), 1);
        assert_eq!(wait_us(1e-9), 1);
        record_hub(10, 0); // nothing recorded, no panic
        record_wait(f64::INFINITY);
    }

    #[test]
    fn the_csv_has_one_row_per_delay() {
        let mut h = histogram();
        h.saturating_record_n(1_500, 10);
        let d = delays(&h);
        let empty = delays(&histogram());
        let text = csv(&Lateness {
            socket: d.clone(),
            hub: empty.clone(),
            wait: empty,
        });
        assert_eq!(
            text,
            "Delay,Count,50%,90%,99%,99.9%,Max\r\nSocket wait,10,1.500,1.500,1.500,1.500,1.500\r\n\
             Response handling,0,0.000,0.000,0.000,0.000,0.000\r\nWait lateness,0,0.000,0.000,0.000,0.000,0.000\r\n"
        );
    }
}
