//! Library mode (`rlocust-python`, `crate::app::library`): what the shim needs when a Python script, not the
//! command line, drives the run — Locust's `Environment.create_local_runner()`, `stats_printer`,
//! `stats_history`, `StatsCSVFileWriter` and `create_web_ui()` on the Rust engine.
//!
//! Each runner a script creates gets a fresh runner state ([`Shared`]) and its own runner task on the engine's
//! runtime (the previous task, idle by then, is ended): Locust's test suites create many Environments in one
//! process, each expecting a runner in state `ready` with no users. Everything here runs on the hub thread.
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
    let width = crate::app::name_width();
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
            let snap = snapshot(w, &core.stats);
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
            let snap = snapshot(&w, &core.stats);
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

/// `environment.create_web_ui(host, port)`: rlocust's web UI (Rust) for the current runner, from Locust's
/// defaults plus `args` (command-line spellings such as `--web-base-path /x`). Returns the bound (host, port).
#[pyfunction]
fn lib_web_ui(py: Python<'_>, args: Vec<String>, info: String) -> PyResult<(String, u16)> {
    if !library_mode() {
        return Err(not_library());
    }
    let installed = installed()?;
    let core = &installed.core;
    let shared: Arc<Shared> = core.runner.read().clone();
    let handle = core.engine.handle.clone();
    let stats = core.stats.clone();
    let bridge = core.bridge.clone();
    py.detach(move || {
        crate::app::library::start_web_ui(&handle, shared, stats, bridge, &args, &info)
    })
    .map_err(PyRuntimeError::new_err)
}

/// What `get_parser().parse_args(argv)` gives (`locust.argument_parser`): Locust's built-in options parsed from
/// `argv` as `rlocust` parses them (its `LOCUST_*` variables and config files included), with the options a
/// locustfile added (`custom`: `custom_arg_specs` tuples). `config_files` replaces Locust's default config files
/// when given; `known`: unrecognized arguments are returned instead of refused (`parse_known_args`).
/// Returns (the built-in options as a dict, None, ("", ""), the added options' arguments for argparse, the
/// unrecognized arguments), or, when parsing ends the program (a usage error, `--help`, `--version`): (None, exit
/// code, (stdout text, stderr text), [], []).
#[allow(clippy::type_complexity)] // the tuple is the Python-side contract
#[pyfunction]
#[pyo3(signature = (argv, custom=Vec::new(), config_files=None, known=false))]
fn lib_parse_options<'py>(
    py: Python<'py>,
    argv: Vec<String>,
    custom: Vec<Bound<'py, pyo3::types::PyTuple>>,
    config_files: Option<Vec<String>>,
    known: bool,
) -> PyResult<(
    Option<Bound<'py, pyo3::types::PyDict>>,
    Option<i32>,
    (String, String),
    Vec<String>,
    Vec<String>,
)> {
    use crate::cli::Value;
    let custom = crate::interp::custom_args(custom)?;
    let mut env = crate::cli::Env::from_process();
    env.config_files = config_files;
    let result = if known {
        crate::cli::parse_known(&argv, &env, &custom)
    } else {
        crate::cli::parse(&argv, &env, &custom).map(|parsed| (parsed, Vec::new()))
    };
    match result {
        Ok((parsed, extras)) => {
            let d = pyo3::types::PyDict::new(py);
            for (k, v) in &parsed.values {
                let obj: Bound<'py, PyAny> = match v {
                    Value::None => py.None().into_bound(py),
                    Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
                    Value::Int(i) => i.into_pyobject(py)?.into_any(),
                    Value::Float(f) => f.into_pyobject(py)?.into_any(),
                    Value::Str(s) => s.into_pyobject(py)?.into_any(),
                    Value::List(l) => pyo3::types::PyList::new(py, l)?.into_any(),
                };
                d.set_item(k, obj)?;
            }
            Ok((
                Some(d),
                None,
                Default::default(),
                parsed.custom_argv,
                extras,
            ))
        }
        Err(e) => {
            let status = crate::app::ExitStatus::Cli(e);
            Ok((
                None,
                Some(status.code()),
                status.text(),
                Vec::new(),
                Vec::new(),
            ))
        }
    }
}

/// `rlocust-python` inside a host interpreter (the wheel's console script): runs `argv` as `python` would.
#[pyfunction]
fn run_python(argv: Vec<String>) -> i32 {
    crate::app::library::run_python(argv)
}

/// The wheel's pytest plugin (`rlocust.pytest_plugin`) in a plain `pytest`: start the engine in this interpreter
/// and serve rlocust's `locust` from now on. Raises RuntimeError with one line when it cannot.
#[pyfunction]
fn activate_library() -> PyResult<()> {
    crate::app::library::activate().map_err(PyRuntimeError::new_err)
}

/// `import locust` in a plain interpreter of an environment made to answer as Locust (`python -m
/// rlocust.as_locust`, whose import hook calls this): serve rlocust's `locust` package from now on, without
/// starting the engine. A later `locust.main.main()` runs the command line with `run`, which starts
/// the engine as `rlocust` does, so listeners added before it (Taurus's wrapper) stay on the same `events`.
/// Idempotent; RuntimeError (one line) when the importer cannot be installed.
#[pyfunction]
fn serve_shim() -> PyResult<()> {
    crate::interp::start_hosted().map_err(|e| {
        PyRuntimeError::new_err(crate::app::ExitStatus::from(e).text().1.trim().to_string())
    })
}

pub fn add_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CsvFiles>()?;
    m.add_function(wrap_pyfunction!(library_mode, m)?)?;
    m.add_function(wrap_pyfunction!(lib_runner, m)?)?;
    m.add_function(wrap_pyfunction!(lib_stop_timeout, m)?)?;
    m.add_function(wrap_pyfunction!(lib_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(lib_take_logs, m)?)?;
    m.add_function(wrap_pyfunction!(lib_web_ui, m)?)?;
    m.add_function(wrap_pyfunction!(stats_text, m)?)?;
    m.add_function(wrap_pyfunction!(stats_sample_history, m)?)?;
    m.add_function(wrap_pyfunction!(lib_parse_options, m)?)?;
    m.add_function(wrap_pyfunction!(run_python, m)?)?;
    m.add_function(wrap_pyfunction!(activate_library, m)?)?;
    m.add_function(wrap_pyfunction!(serve_shim, m)?)?;
    Ok(())
}
