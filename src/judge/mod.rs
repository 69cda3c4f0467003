//! Judging a run against rules: the `--thresholds` grammar and its evaluation ([`thresholds`]), and the capacity
//! search (`--search`), which judges each probe's window of readings against an SLO in the same grammar.
//!
//! Who calls it: `app` (the gates of a run, the search), `report` (the outcomes it prints and writes), `web` (a
//! search started from the form). What it must not do: read live statistics (it is handed
//! [`crate::runner::readings::Readings`]), decide the exit code (the session does), or touch Python.
pub mod search;
pub mod thresholds;
