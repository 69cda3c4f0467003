//! CPU and memory monitor: every 10 s (Locust's CPU_MONITOR_INTERVAL) measure the Python thread's CPU use and
//! the process RSS, fire `usage_monitor`, and when the Python thread is above 90 % fire `cpu_warning` and warn
//! once, with Locust's texts, so generator saturation is never mistaken for server latency.
//!
//! NOTE: Locust measures its one-core process with psutil. rlocust can run short of CPU in two ways: the Python
//! (hub) thread saturates its core, or all cores are busy (tokio's I/O threads plus Python). `cpu_usage` is the
//! larger of the hub thread's share of one core and the process's share of all cores.
//! Runs as a tokio task; reads the hub thread's CPU clock, never touches Python.
use crate::bridge::{Arg, Bridge};
use crate::log;
use crate::runner::Shared;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CPU_MONITOR_INTERVAL: Duration = Duration::from_secs(10);
pub const CPU_WARNING_THRESHOLD: f64 = 90.0;

pub use crate::sys::{ThreadClock, process_cpu_seconds, rss_bytes};

/// Percent of one core used between two readings.
pub fn percent(cpu_delta: f64, wall_delta: f64) -> f64 {
    if wall_delta <= 0.0 {
        0.0
    } else {
        (cpu_delta / wall_delta * 100.0 * 10.0).round() / 10.0
    }
}

/// Every `interval` ([`CPU_MONITOR_INTERVAL`], or a library-mode script's `locust.runners.CPU_MONITOR_INTERVAL`).
pub async fn run(shared: Arc<Shared>, bridge: Arc<Bridge>, hub: ThreadClock, interval: Duration) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let mut last_cpu = hub.seconds().unwrap_or(0.0);
    let mut last_proc = process_cpu_seconds();
    let mut last = Instant::now();
    loop {
        tokio::time::sleep(interval).await;
        let wall = last.elapsed().as_secs_f64();
        let cpu = hub.seconds().unwrap_or(last_cpu);
        let proc = process_cpu_seconds();
        let usage = percent(cpu - last_cpu, wall).max(percent(proc - last_proc, wall * cores));
        (last_cpu, last_proc, last) = (cpu, proc, Instant::now());
        if usage > CPU_WARNING_THRESHOLD {
            crate::runner::fire(
                &bridge,
                "cpu_warning",
                vec![("cpu_usage".into(), Arg::Float(usage))],
            )
            .await;
            if shared.note_cpu_warning() {
                log::warning(
                    "root",
                    "CPU usage above 90%! This may constrain your throughput and may even give inconsistent response time measurements! See https://docs.locust.io/en/stable/running-distributed.html for how to distribute the load over multiple CPU cores or machines",
                );
            }
        }
        let rss = rss_bytes() as i64;
        shared.set_usage(usage, rss as u64);
        crate::runner::fire(
            &bridge,
            "usage_monitor",
            vec![
                ("cpu_usage".into(), Arg::Float(usage)),
                ("memory_usage".into(), Arg::Int(rss)),
            ],
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_clock_advances_with_work_and_percent_is_of_one_core() {
        let clock = ThreadClock::current().expect("thread cpu clock");
        let a = clock.seconds().unwrap();
        let mut x = 0u64;
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(clock.seconds().unwrap() > a + 0.02, "busy loop used CPU");
        assert_eq!(percent(9.5, 10.0), 95.0);
        assert_eq!(percent(1.0, 0.0), 0.0);
        assert!(
            rss_bytes() > 1_000_000,
            "a test process has some MB resident"
        );
    }
}
