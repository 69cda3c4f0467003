//! The run context: one value that says where a run's state lives, handed down to everything that reads it (the
//! web UI's routes and `/metrics`, the final and periodic outputs, the HTML report, the thresholds and the capacity
//! search), so no reader fetches a part of the run by path and a test of a reader can make a context of its own.
//!
//! What it owns: the statistics ([`RequestStats`]) and the run's own open-workload plan (the web form's default
//! start). What it reads for its readings ([`Context::readings`]) and does not own yet: the open workload's
//! accounting and clock (`runner::open`), the generator's lateness (`stats::lateness`) and the requests in flight
//! (`stats::in_flight`). Those are written on the request path by free functions (`engine`, `py`) that reach them
//! without a context; each reading of them goes through here, so moving one into the context touches its module,
//! its writers and this file, and no reader.
//!
//! Who makes it: `app::startup::Services`, once per engine (a library-mode script's runners share it, as they share
//! the statistics). Who reads it: `web`, `report`, `judge`, `app`. What it must not do: decide anything, format
//! anything, or touch Python.
//!
//! The final readings: a run's end ([`Context::freeze`], called by `app::run_end` before it writes anything) takes
//! one reading and every later one returns it, so the HTML report, the CSV files, the final tables, the JSON and
//! `--summary-json` all show the same figures even though a request that was in flight when the users stopped may
//! still complete (and count its socket wait) while they are written.
//!
//! To add a part of the run that readers see: a field here (or a reading in `readings::Readings`, taken in
//! [`Context::readings_of`]); its writer gets the context where it is made, never a static.
use std::sync::Arc;

use parking_lot::RwLock;

use super::open::{self, OpenPlan};
use super::readings::{InFlight, Readings};
use crate::stats::{RequestStats, Snapshot, lateness};

/// Where one run's state lives (see the module header).
#[derive(Debug)]
pub struct Context {
    /// The request and metric rows, failures, task exceptions and history.
    pub stats: Arc<RequestStats>,
    /// The run's plan from its command line or `ArrivalRateShape`, if any: what the web form starts by default.
    default_plan: RwLock<Option<OpenPlan>>,
    /// The run's final readings, once its end took them ([`Context::freeze`]).
    frozen: RwLock<Option<Readings>>,
}

impl Context {
    pub fn new(stats: Arc<RequestStats>) -> Arc<Context> {
        Arc::new(Context {
            stats,
            default_plan: RwLock::new(None),
            frozen: RwLock::new(None),
        })
    }

    /// The run's readings now (one statistics snapshot and a few short locks), or its final ones once it ended.
    pub fn readings(&self) -> Readings {
        if let Some(r) = &*self.frozen.read() {
            return r.clone();
        }
        self.readings_of(self.stats.snapshot())
    }

    /// [`Context::readings`] with the entries' current-percentile windows (the CSV history's full rows).
    pub fn readings_with_windows(&self) -> Readings {
        if let Some(r) = &*self.frozen.read() {
            return r.clone();
        }
        self.readings_of(self.stats.snapshot_with_windows())
    }

    /// The run has ended: take its final readings (with the entries' windows, so every writer can use them) and
    /// return them from now on. A second call keeps the first readings.
    pub fn freeze(&self) {
        let mut frozen = self.frozen.write();
        if frozen.is_none() {
            *frozen = Some(self.readings_of(self.stats.snapshot_with_windows()));
        }
    }

    /// The run's readings with a statistics snapshot already taken (the writers that need a snapshot with
    /// per-entry windows take their own).
    pub fn readings_of(&self, stats: Snapshot) -> Readings {
        Readings {
            taken_at: stats.taken_at,
            stats,
            open: open::snapshot(),
            lateness: lateness::snapshot(),
            in_flight: InFlight {
                now: crate::stats::in_flight::now(),
                peak: crate::stats::in_flight::peak(),
            },
            cpu_seconds: crate::sys::process_cpu_seconds(),
            window: None,
        }
    }

    /// Remember the run's open-workload plan (the session, once the locustfile is loaded).
    pub fn set_default_plan(&self, plan: Option<OpenPlan>) {
        *self.default_plan.write() = plan;
    }

    /// The run's open-workload plan from its command line or locustfile, if any.
    pub fn default_plan(&self) -> Option<OpenPlan> {
        self.default_plan.read().clone()
    }

    /// Whether the open workload is still scheduling arrivals (false once it stopped, or when none ran).
    pub fn arrivals_scheduled(&self) -> bool {
        open::tally().scheduled_rate().is_some()
    }
}
