//! Library mode (`rlocust-python`, `crate::app::library`): what the shim needs when a Python script, not the
//! command line, drives the run — Locust's `Environment.create_local_runner()`, `stats_printer`,
//! `stats_history`, `StatsCSVFileWriter` and `create_web_ui()` on the Rust engine.
//!
//! Each runner a script creates gets a fresh runner state ([`Shared`]) and its own runner task on the engine's
//! runtime (the previous task, idle by then, is ended): Locust's test suites create many Environments in one
//! process, each expecting a runner in state `ready` with no users. Everything here runs on the hub thread.
//!
//! Why statics: the mode itself (`LIBRARY`, set once before Python starts) is the process's; the current runner's
//! task and monitor (`TASK`, `MONITOR`) are reached from `_rlocust` calls that carry no state of their own, and
//! each new runner replaces them. The readers (the CSV writer, the web UI) use the engine's run context
//! (`Core::run`), shared by the script's runners as the statistics are.
use super::{core, installed};
use crate::report::console;
use crate::runner::{self, Plan, Shared, dispatch::UserClassSpec};
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once by `app::library` before Python starts: a script, not the command line, drives the run.
static LIBRARY: AtomicBool = AtomicBool::new(false);

/// The runner task of the current library-mode runner.
static TASK: Mutex<Option<tokio::task::JoinHandle<()>>> = Mutex::new(None);

/// The CPU and memory monitor of the current library-mode runner (Locust's `monitor_cpu_and_memory` greenlet).
static MONITOR: Mutex<Option<tokio::task::JoinHandle<()>>> = Mutex::new(None);

pub(crate) fn enable() {
    LIBRARY.store(true, Ordering::Relaxed);
}

pub(crate) fn enabled() -> bool {
    LIBRARY.load(Ordering::Relaxed)
}

/// Whether a script drives the run (`rlocust-python`), rather than `rlocust`'s command line.
#[pyfunction]
fn library_mode() -> bool {
    LIBRARY.load(Ordering::Relaxed)
}

fn not_library() -> PyErr {
    PyRuntimeError::new_err("only available when the script runs under rlocust-python")
}

/// A new runner for the user classes `classes` ((name, weight, fixed_count)): a fresh runner state in `ready`
/// and its task, which serves `runner_control` from then on, and empty statistics; its CPU monitor every
/// `cpu_monitor_interval` seconds (`cpu_warning`, `usage_monitor`). The previous runner's tasks are ended. Call it
/// on the hub thread (the monitor measures the calling thread's CPU time).
#[pyfunction]
#[pyo3(signature = (classes, stop_timeout, reset_stats, cpu_monitor_interval=None))]
fn lib_runner(
    classes: Vec<(String, f64, u64)>,
    stop_timeout: f64,
    reset_stats: bool,
    cpu_monitor_interval: Option<f64>,
) -> PyResult<()> {
    if !library_mode() {
        return Err(not_library());
    }
    let core = core()?;
    let (shared, rx) = Shared::new(stop_timeout.max(0.0));
    let plan = Plan {
        classes: classes
            .into_iter()
            .map(|(name, weight, fixed_count)| UserClassSpec {
                name,
                weight,
                fixed_count,
            })
            .collect(),
        run_time: None,
        reset_stats,
        headless: true,
        autoquit: None,
    };
    let task = core.engine.handle.spawn(runner::run(
        shared.clone(),
        core.bridge.clone(),
        core.stats.clone(),
        plan,
        rx,
    ));
    let monitor = runner::monitor::ThreadClock::current().map(|hub| {
        let interval = cpu_monitor_interval
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(
                runner::monitor::CPU_MONITOR_INTERVAL,
                std::time::Duration::from_secs_f64,
            );
        core.engine.handle.spawn(runner::monitor::run(
            shared.clone(),
            core.bridge.clone(),
            hub,
            interval,
        ))
    });
    *core.runner.write() = shared;
    if let Some(old) = TASK.lock().replace(task) {
        old.abort();
    }
    if let Some(old) = std::mem::replace(&mut *MONITOR.lock(), monitor) {
        old.abort();
    }
    // a new runner starts from empty statistics, as a new Environment's runner does in Locust
    core.stats.clear_all(crate::log::now());
    core.stats.clear_exceptions();
    Ok(())
}

/// `environment.stop_timeout` as it is when the test starts.
#[pyfunction]
fn lib_stop_timeout(seconds: f64) -> PyResult<()> {
    core()?.runner.read().set_stop_timeout(seconds.max(0.0));
    Ok(())
}

/// Python's logging level for Locust's loggers (`locust.log.setup_logging`): the runner's own lines (written by
/// Rust) follow it. `silent`: none at all.
#[pyfunction]
#[pyo3(signature = (level, silent=false))]
fn lib_log_level(level: &str, silent: bool) {
    let level = crate::log::Level::parse(level).unwrap_or(crate::log::Level::Info);
    crate::log::setup(level, None, silent);
}

/// The runner's log lines since the last call, as (level number, logger, message): the hub logs them with
/// Python's `logging` (library mode only).
#[pyfunction]
fn lib_take_logs() -> Vec<(u8, String, String)> {
    crate::log::take_forwarded()
}

/// The text of Locust's console tables, for `print_stats` (`"stats"`: with the current-RPS columns,
/// `"stats_total"`: without), `print_percentile_stats` (`"percentiles"`) and `print_error_report` (`"errors"`);
/// the shim logs it line by line to `locust.stats_logger`, as Locust does.
#[pyfunction]
fn stats_text(which: &str) -> PyResult<String> {
    let snap = core()?.stats.snapshot();
    let width = console::name_width();
    let text = match which {
        "stats" => console::stats_table(&snap, true, width),
        "stats_total" => console::stats_table(&snap, false, width),
        "percentiles" => console::percentile_table(&snap, width),
        "errors" => console::error_report(&snap, width),
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown table {other:?}"
            )));
        }
    };
    Ok(text)
}

/// One point of the run's history (Locust's `stats_history` greenlet; the web UI's charts and the report).
#[pyfunction]
fn stats_sample_history() -> PyResult<()> {
    let core = core()?;
    let users = core.runner.read().user_count();
    core.stats.sample_history(users, crate::log::now());
    Ok(())
}

/// Locust's `StatsCSVFileWriter` files (`{prefix}_stats.csv`, `_stats_history.csv`, `_failures.csv`,
/// `_exceptions.csv`), written from the Rust statistics.
#[pyclass(module = "_rlocust", name = "CsvFiles")]
pub struct CsvFiles {
    writer: Option<crate::report::csv::CsvWriter>,
}

#[pymethods]
impl CsvFiles {
    #[new]
    fn new(prefix: &str, full_history: bool) -> PyResult<Self> {
        core()?;
        let writer =
            crate::report::csv::CsvWriter::create(prefix, full_history, true).map_err(|e| {
                PyOSError::new_err(format!("cannot write CSV files {prefix}_*.csv: {e}"))
            })?;
        Ok(CsvFiles {
            writer: Some(writer),
        })
    }

    /// One writer cycle: rewrite the totals, append the history rows.
    fn tick(&mut self) -> PyResult<()> {
        let core = core()?;
        let users = core.runner.read().user_count();
        if let Some(w) = self.writer.as_mut() {
            let snap = core.run.readings_of(snapshot(w, &core.stats));
            w.tick(&snap, users, crate::log::now())
                .map_err(|e| PyOSError::new_err(e.to_string()))?;
        }
        Ok(())
    }

    /// The last write, then the files are closed (later calls do nothing).
    fn close(&mut self) -> PyResult<()> {
        let core = core()?;
        let users = core.runner.read().user_count();
        if let Some(mut w) = self.writer.take() {
            let snap = core.run.readings_of(snapshot(&w, &core.stats));
            w.finish(&snap, users, crate::log::now())
                .map_err(|e| PyOSError::new_err(e.to_string()))?;
        }
        Ok(())
    }
}

fn snapshot(
    w: &crate::report::csv::CsvWriter,
    stats: &crate::stats::RequestStats,
) -> crate::stats::Snapshot {
    if w.needs_entry_windows() {
        stats.snapshot_with_windows()
    } else {
        stats.snapshot()
    }
}

/// What `environment.create_web_ui()` starts the web UI on (see `doors`): the current runner's engine handle,
/// runner state, statistics and bridge. Errors when no script drives the run.
#[allow(clippy::type_complexity)] // the four parts the web UI is made of
pub fn library_web_ui() -> PyResult<(
    tokio::runtime::Handle,
    Arc<Shared>,
    Arc<crate::runner::Context>,
    Arc<crate::bridge::Bridge>,
)> {
    if !library_mode() {
        return Err(not_library());
    }
    let core = &installed()?.core;
    let shared: Arc<Shared> = core.runner.read().clone();
    Ok((
        core.engine.handle.clone(),
        shared,
        core.run.clone(),
        core.bridge.clone(),
    ))
}

/// The options a locustfile added, as `locust.argument_parser.custom_arg_specs` describes them (one tuple each).
#[allow(clippy::type_complexity)] // the tuple mirrors what `custom_arg_specs` returns
pub fn custom_args(
    specs: Vec<Bound<'_, pyo3::types::PyTuple>>,
) -> PyResult<Vec<crate::cli::CustomArg>> {
    specs
        .into_iter()
        .map(|t| {
            let (flags, dest, nargs, class, env_var, help, default_display, hidden): (
                Vec<String>,
                String,
                Option<String>,
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                bool,
            ) = t.extract()?;
            Ok(crate::cli::CustomArg {
                flags,
                dest,
                nargs: crate::cli::Nargs::from_python(nargs.as_deref()),
                class: crate::cli::Class::from_name(&class),
                env_var,
                help,
                default_display,
                hidden,
            })
        })
        .collect()
}

pub fn add_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CsvFiles>()?;
    m.add_function(wrap_pyfunction!(library_mode, m)?)?;
    m.add_function(wrap_pyfunction!(lib_runner, m)?)?;
    m.add_function(wrap_pyfunction!(lib_stop_timeout, m)?)?;
    m.add_function(wrap_pyfunction!(lib_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(lib_take_logs, m)?)?;
    m.add_function(wrap_pyfunction!(stats_text, m)?)?;
    m.add_function(wrap_pyfunction!(stats_sample_history, m)?)?;
    Ok(())
}
