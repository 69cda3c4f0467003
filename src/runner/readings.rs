//! A run's readings as one value: [`Readings`] holds everything the run knows at one instant (the request and
//! metric rows, the open workload's accounting, the generator's own lateness, the requests in flight, the process's
//! CPU time), taken in one place (`runner::Context::readings`, from the run's context) and handed to every writer
//! (console, CSV, JSON, HTML, the web UI, `/metrics`, the thresholds), so no writer fetches a part of the run by
//! path. [`Readings::since`] gives a window's exact figures (the capacity search judges each probe on its own
//! window); [`Readings::of_stats`] readings of statistics alone (a writer's test).
//!
//! Who calls it: whoever holds the run's context takes readings from it; everything else is handed them. What it
//! must not do: decide anything, format anything, touch Python, or read a part of the run itself.
//!
//! To add a reading: a field of [`Readings`], set in `Context::readings_of`, empty in [`Readings::of_stats`] and
//! subtracted (or kept, for a gauge) in [`Readings::since`].

use crate::runner::open;
use crate::stats::{Snapshot, lateness};

/// Requests handed to the engine and not yet handed back (this process's, and at a master its live workers' as
/// they last reported: `stats::in_flight`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InFlight {
    pub now: u64,
    /// The most at once since the process started.
    pub peak: u64,
}

/// Everything a run knows at one instant ([`crate::runner::Context::readings`]), or over a window between two instants ([`Readings::since`]).
#[derive(Clone, Debug)]
pub struct Readings {
    /// Unix time the readings were taken (the statistics' `taken_at`).
    pub taken_at: f64,
    /// The request rows, failures, task exceptions and metric rows.
    pub stats: Snapshot,
    /// The open workload's accounting with this moment's gauges (`active` false for a closed-model run).
    pub open: open::Snapshot,
    /// How late the generator itself was (this process's).
    pub lateness: lateness::Lateness,
    pub in_flight: InFlight,
    /// CPU seconds (user + system) this process has used.
    pub cpu_seconds: f64,
    /// `Some(seconds)`: these are a window's readings (`since`), that long.
    pub window: Option<f64>,
}

impl Readings {
    /// Readings of the statistics alone, every other part empty (a reader's test, with no run around it).
    pub fn of_stats(stats: Snapshot) -> Readings {
        Readings {
            taken_at: stats.taken_at,
            stats,
            open: open::Snapshot::default(),
            lateness: lateness::Lateness::default(),
            in_flight: InFlight::default(),
            cpu_seconds: 0.0,
            window: None,
        }
    }

    /// What happened between `earlier` and these readings: every count, histogram and sum the difference of the
    /// two; the gauges (users, in flight now) these readings'.
    pub fn since(&self, earlier: &Readings) -> Readings {
        Readings {
            taken_at: self.taken_at,
            stats: self.stats.since(&earlier.stats),
            open: self.open.since(&earlier.open),
            lateness: self.lateness.since(&earlier.lateness),
            in_flight: self.in_flight,
            cpu_seconds: (self.cpu_seconds - earlier.cpu_seconds).max(0.0),
            window: Some((self.taken_at - earlier.taken_at).max(0.0)),
        }
    }

    /// The share of one core this process used over a window (`None` for readings of an instant).
    pub fn cpu_share(&self) -> Option<f64> {
        self.window
            .filter(|w| *w > 0.0)
            .map(|w| self.cpu_seconds / w)
    }
}

#[cfg(test)]
mod tests {
    use crate::runner::Context;
    use crate::stats::RequestStats;

    #[test]
    fn a_window_of_readings_is_the_difference() {
        let run = Context::new(std::sync::Arc::new(RequestStats::new_at(1_000.0)));
        let s = &run.stats;
        s.log_request("GET", "/", Some(5.0), 1, 1_000.5);
        let early = run.readings_of(s.snapshot_at(1_001.0));
        for _ in 0..30 {
            s.log_request("GET", "/", Some(50.0), 1, 1_001.5);
        }
        let late = run.readings_of(s.snapshot_at(1_004.0));
        let w = late.since(&early);
        assert_eq!(w.window, Some(3.0));
        assert_eq!(w.stats.total.totals.num_requests, 30);
        assert!((w.stats.total.percentile(0.0) - 50.0).abs() < 0.05);
        assert!((w.stats.total.total_rps(&w.stats.total) - 10.0).abs() < 1e-9);
        assert!(w.cpu_share().is_some_and(|c| c >= 0.0));
        assert_eq!(early.window, None);
    }

    #[test]
    fn a_frozen_run_reads_its_final_figures_while_late_requests_complete() {
        let run = Context::new(std::sync::Arc::new(RequestStats::new_at(1_000.0)));
        run.stats.log_request("GET", "/", Some(5.0), 1, 1_000.5);
        assert_eq!(run.readings().stats.total.totals.num_requests, 1);
        run.freeze();
        // a request that was in flight when the users stopped completes after the end was taken
        run.stats.log_request("GET", "/", Some(5.0), 1, 1_000.6);
        run.freeze();
        assert_eq!(run.readings().stats.total.totals.num_requests, 1);
        assert_eq!(
            run.readings_with_windows().stats.total.totals.num_requests,
            1
        );
        assert_eq!(run.stats.snapshot().total.totals.num_requests, 2);
    }
}
