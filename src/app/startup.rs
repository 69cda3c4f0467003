//! The steps before a test runs, in Locust 2.47's order (`locust/main.py` `main()`, reference §4.2): the
//! shared machinery, the locustfiles, logging and the startup messages, the Environment and its checks.
//!
//! Called by `app` on the main thread (the Python thread). Each step returns what the next needs, or the
//! [`ExitStatus`] that ends the invocation.
use super::ExitStatus;
use crate::bridge::Bridge;
use crate::cli::{self, Options};
use crate::http::Engine;
use crate::interp::{self, ClassInfo, Loaded};
use crate::log;
use crate::py::{self, Core};
use crate::runner::{Context, Control, Shared};
use crate::stats::RequestStats;
use crate::version::{LOCUST_VERSION, VERSION};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;

/// What every later step shares: the tokio runtime (HTTP engine, runner, reporters), the hub's wake-up fd and
/// the statistics. Created before Python starts, so a locustfile's requests have an engine from the first line.
pub struct Services {
    pub rt: tokio::runtime::Runtime,
    pub bridge: Arc<Bridge>,
    /// The run context: the statistics and where the rest of the run's state lives (`runner::Context`).
    pub run: Arc<Context>,
    engine: Arc<Engine>,
}

/// The runner's shared state and its command channel, once [`Services::install`] has handed both to Python.
pub struct RunnerHandle {
    pub shared: Arc<Shared>,
    pub control_rx: UnboundedReceiver<Control>,
}

impl Services {
    /// Start the runtime (one thread fewer than the cores, at least one), the wake-up fd and the HTTP engine
    /// (with `RLOCUST_MAX_BODY_SIZE`, `RLOCUST_MAX_HEAD_SIZE` and `RLOCUST_MAX_BODY_MEMORY`).
    pub fn start() -> Result<Services, ExitStatus> {
        let env = |name| std::env::var(name).ok();
        let max_body = max_body_size(env("RLOCUST_MAX_BODY_SIZE").as_deref())?;
        crate::http::wire::set_max_head(byte_size(
            "RLOCUST_MAX_HEAD_SIZE",
            env("RLOCUST_MAX_HEAD_SIZE").as_deref(),
            crate::http::wire::DEFAULT_MAX_HEAD,
        )?);
        crate::http::wire::hold::BODIES.set_budget(byte_size(
            "RLOCUST_MAX_BODY_MEMORY",
            env("RLOCUST_MAX_BODY_MEMORY").as_deref(),
            default_body_memory(),
        )?);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(
                std::thread::available_parallelism()
                    .map(|n| n.get().saturating_sub(1).max(1))
                    .unwrap_or(1),
            )
            .thread_name("rlocust-io")
            .on_thread_park(|| {
                crate::bridge::before_park();
                crate::engine::return_freed_memory();
                crate::distributed::router::before_park();
            })
            .enable_all()
            .build()
            .map_err(|e| ExitStatus::Internal(format!("cannot start the I/O runtime: {e}")))?;
        let bridge = Bridge::new()
            .map(Arc::new)
            .map_err(|e| ExitStatus::Internal(format!("cannot create the wake-up fd: {e}")))?;
        let engine = Engine::new(rt.handle().clone(), max_body);
        Ok(Services {
            rt,
            bridge,
            run: Context::new(Arc::new(RequestStats::new())),
            engine,
        })
    }

    /// Create the runner's shared state (`-s` is its stop timeout) and make the engine, the statistics and the
    /// runner reachable from Python (`_rlocust`).
    pub fn install(&self, options: &Options) -> RunnerHandle {
        let (shared, control_rx) = Shared::new(options.stop_timeout);
        py::install(Arc::new(Core {
            engine: self.engine.clone(),
            stats: self.run.stats.clone(),
            run: self.run.clone(),
            bridge: self.bridge.clone(),
            runner: parking_lot::RwLock::new(shared.clone()),
        }));
        RunnerHandle { shared, control_rx }
    }

    /// Library mode (`rlocust-python`): the engine, the statistics and the bridge reachable from Python with no
    /// command line. The runner's state and task come later, one per runner a script creates
    /// (`py::library`); until then a placeholder state answers (ready, no users).
    pub fn install_library(&self) {
        let (shared, _rx) = Shared::new(0.0);
        py::install(Arc::new(Core {
            engine: self.engine.clone(),
            stats: self.run.stats.clone(),
            run: self.run.clone(),
            bridge: self.bridge.clone(),
            runner: parking_lot::RwLock::new(shared),
        }));
    }
}

/// `RLOCUST_MAX_BODY_SIZE`: bytes a response body may have, with an optional K, M or G (binary multiples);
/// 0 means no limit. Unset: 256 MiB.
fn max_body_size(value: Option<&str>) -> Result<usize, ExitStatus> {
    byte_size(
        "RLOCUST_MAX_BODY_SIZE",
        value,
        crate::http::wire::DEFAULT_MAX_BODY,
    )
}

/// The default of `RLOCUST_MAX_BODY_MEMORY` (the bytes of response bodies all users may hold at once): half of
/// the memory the process may use (the machine's, or its cgroup's limit where lower), at least 256 MiB.
fn default_body_memory() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        })
        .unwrap_or(2 << 30);
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    (total.min(cgroup) / 2).max(256 << 20)
}

/// A byte size from the environment variable `name`, with an optional K, M or G (binary multiples); 0 means no
/// limit (`usize::MAX`). Unset or empty: `default`.
fn byte_size(name: &str, value: Option<&str>, default: usize) -> Result<usize, ExitStatus> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    let (digits, unit) = match text.as_bytes()[text.len() - 1].to_ascii_uppercase() {
        b'K' => (&text[..text.len() - 1], 1usize << 10),
        b'M' => (&text[..text.len() - 1], 1 << 20),
        b'G' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    match digits.trim().parse::<usize>() {
        Ok(0) => Ok(usize::MAX),
        Ok(n) => Ok(n.saturating_mul(unit)),
        Err(_) => Err(ExitStatus::User {
            message: format!("rlocust: {name} must be a number of bytes; got {text:?}"),
            hint: Some(
                "add K, M or G for binary multiples (e.g. 512M), or use 0 for no limit".into(),
            ),
            code: 1,
        }),
    }
}

/// Import the locustfiles. With `-h`, the help (with the locustfile's own options when it loads) ends the
/// invocation here, as in Locust. `-f -` (a worker's locustfiles come from its master) downloads them first.
pub fn load_locustfiles(pre: &cli::Pre) -> Result<Loaded, ExitStatus> {
    let downloaded;
    let paths = if pre.locustfiles == ["-"] && !pre.help {
        if !pre.worker {
            return Err(ExitStatus::user(
                "locustfile was set to '-' (meaning to download from master) but --worker was not specified.",
                1,
            ));
        }
        downloaded = download_locustfiles(pre)?;
        &downloaded
    } else {
        &pre.locustfiles
    };
    match interp::load_locustfiles(paths) {
        Ok(loaded) if pre.help => {
            Err(cli::CliError::Help(cli::help_text(&loaded.custom_args)).into())
        }
        Err(_) if pre.help => Err(cli::CliError::Help(cli::help_text(&[])).into()),
        Ok(loaded) => Ok(loaded),
        Err(e) => Err(e.into()),
    }
}

/// `-f -`: ask the master for its locustfiles and write them to the temporary directory under their own names
/// (as Locust does); URLs stay URLs.
///
/// On a runtime of its own, gone before the locustfile is loaded: `--processes` forks after that, and a process
/// that forks must not have other threads.
fn download_locustfiles(pre: &cli::Pre) -> Result<Vec<String>, ExitStatus> {
    let port = cli::port("--master-port", pre.master_port).map_err(|e| ExitStatus::user(e, 1))?;
    let secret = crate::distributed::auth::load(
        pre.master_secret_file.as_deref(),
        std::env::var(crate::distributed::auth::ENV).ok(),
    )
    .map_err(|line| ExitStatus::user(line, 1))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExitStatus::Internal(format!("cannot start a runtime: {e}")))?;
    let sources = rt
        .block_on(crate::distributed::worker::download_locustfiles(
            &pre.master_host,
            port,
            secret.as_ref(),
        ))
        .map_err(|line| ExitStatus::user(line, 1))?;
    let mut paths = Vec::new();
    for source in sources {
        let contents = source.get("contents").and_then(|c| c.as_str());
        let name = source.get("filename").and_then(|c| c.as_str());
        match (name, contents, source.as_str()) {
            (Some(name), Some(contents), _) => {
                let file = std::path::Path::new(name)
                    .file_name()
                    .map(|n| n.to_owned())
                    .unwrap_or_else(|| "locustfile.py".into());
                let path = std::env::temp_dir().join(file);
                std::fs::write(&path, contents).map_err(|e| {
                    ExitStatus::user(format!("rlocust: cannot write {}: {e}", path.display()), 1)
                })?;
                paths.push(path.to_string_lossy().into_owned());
            }
            (_, _, Some(url)) => paths.push(url.to_owned()),
            _ => {}
        }
    }
    Ok(paths)
}

/// Locust's logging set-up: level, `--logfile` (its directory is created), `--skip-log-setup`.
pub fn setup_logging(options: &Options) -> Result<(), ExitStatus> {
    let logfile = match &options.logfile {
        Some(path) => {
            if let Some(parent) = std::path::Path::new(path).parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    ExitStatus::user(format!("rlocust: cannot open log file {path}: {e}"), 1)
                })?;
            Some(file)
        }
        None => None,
    };
    log::setup(options.loglevel, logfile, options.skip_log_setup);
    Ok(())
}

/// The first log lines: Locust's start message, then one warning for options this run ignores (web UI
/// options under `--headless`, which Locust ignores too).
pub fn announce(options: &Options, otel: bool) {
    let with = if otel { ", OpenTelemetry enabled" } else { "" };
    log::info(
        "locust.main",
        &format!("Starting Locust {LOCUST_VERSION} (rlocust {VERSION}){with}"),
    );
    let ignored = options.ignored_web_options();
    if !ignored.is_empty() {
        let (list, verb) = match ignored.as_slice() {
            [one] => (one.to_string(), "has"),
            many => (many.join(", "), "have"),
        };
        log::warning(
            "locust.main",
            &format!("{list} {verb} no effect with --headless (no web UI runs), ignored"),
        );
    }
}

/// Locust's open-file limit: every user keeps its own connection, so a soft limit below 10,000 is raised to
/// 10,000 (up to the hard limit the OS allows); when the OS refuses, Locust's warning.
fn raise_open_file_limit() {
    const MINIMUM: u64 = 10_000;
    if let Err(soft) = crate::sys::raise_open_files(MINIMUM) {
        log::warning(
            "locust.main",
            &format!(
                "System open file limit '{soft}' is below minimum setting '{MINIMUM}'.\nIt's not high enough for load testing, and the OS didn't allow locust to increase it by itself.\nSee https://github.com/locustio/locust/wiki/Installation#increasing-maximum-number-of-open-files-limit for more info."
            ),
        );
    }
}

/// What [`environment`] found.
pub struct Setup {
    /// The classes that will run (after the positional selection and `--config-users`).
    pub classes: Vec<ClassInfo>,
    /// `None` without a LoadTestShape; else whether it honours `-u`, `-r`, `-t` (`use_common_options`).
    pub shape: Option<bool>,
    /// An open workload (`--arrival-rate` or an ArrivalRateShape; `runner::open`): what a start runs.
    pub open: Option<crate::runner::open::OpenPlan>,
}

/// Choose the user classes and create the Environment (Python logs "No User class found!" and "Unknown
/// User(s)" as Locust does), then warn about `-u`/`-r`/`-t` given to a shape that ignores them.
pub fn environment(options: &Options, loaded: &Loaded) -> Result<Setup, ExitStatus> {
    raise_open_file_limit();
    let classes = interp::create_environment(&options.user_classes)?;
    let shape = if loaded.has_shape {
        interp::shape_info()?
    } else {
        None
    };
    if shape == Some(false) {
        // NOTE (reference §3.5): -u/-r/-t do not apply to a shape unless it sets use_common_options.
        let given = options.common_options_set();
        if !given.is_empty() {
            log::warning(
                "locust.main",
                "--run-time, --users or --spawn-rate have no impact on LoadShapes unless the shape class explicitly reads them. See: docs.locust.io/en/stable/custom-load-shape.html#use-common-options",
            );
            log::warning(
                "locust.main",
                &format!(
                    "The following option(s) will be ignored: {}",
                    given.join(", ")
                ),
            );
        }
    }
    let open = open_plan(options)?;
    Ok(Setup {
        classes,
        shape,
        open,
    })
}

/// The open workload of this run (`--arrival-rate`, `--arrival-stages`, an ArrivalRateShape), or the one line that
/// refuses the combination (with `-u`, a LoadTestShape, ...). Checked before the worker processes start too.
pub fn open_plan(options: &Options) -> Result<Option<crate::runner::open::OpenPlan>, ExitStatus> {
    let (shapes, load_shape) = interp::arrival_shapes()?;
    crate::runner::open::config::plan(options, &shapes, load_shape.as_deref())
        .map_err(|line| ExitStatus::user(line, 1))
}

/// `--tokenizer PATH`: loaded once, before anything starts (a bad path is one line, exit 1), and handed to the
/// engine, whose watches then keep their content's text to count it (`http::events::collect_text`).
pub fn tokenizer(options: &Options) -> Result<(), ExitStatus> {
    let Some(path) = options.tokenizer.as_deref() else {
        return Ok(());
    };
    let t = crate::tokens::load(std::path::Path::new(path))
        .map_err(|line| ExitStatus::user(format!("rlocust: --tokenizer: {line}"), 1))?;
    crate::tokens::set_wire(t);
    crate::http::events::collect_text(true);
    Ok(())
}

/// The capacity search of this run (`--search`), or the one line that refuses it (checked before the worker
/// processes start; a worker of `--processes` then follows its master).
pub fn search_spec(options: &Options) -> Result<Option<crate::judge::search::Spec>, ExitStatus> {
    if !options.given.contains("search") && options.worker {
        return Ok(None);
    }
    let (shapes, load_shape) = interp::arrival_shapes()?;
    crate::judge::search::options::spec(
        options,
        load_shape.as_deref(),
        shapes.first().map(|s| s.name.as_str()),
    )
    .map_err(|line| ExitStatus::user(line, 1))
}

/// `-l`, `--show-task-ratio` and `--show-task-ratio-json` print and end the invocation (Locust prints the
/// ratios before it creates the runner or fires `init`).
pub fn print_and_exit(options: &Options) -> Result<(), ExitStatus> {
    let text = if options.show_task_ratio {
        interp::task_ratio(false)?
    } else if options.show_task_ratio_json {
        interp::task_ratio(true)?
    } else {
        return Ok(());
    };
    print!("{text}");
    Err(ExitStatus::Success)
}

/// `-u`: a negative count is an error at once (exit 2).
pub fn user_count(options: &Options) -> Result<u64, ExitStatus> {
    match (options.user_count(), options.users) {
        (Some(n), _) => Ok(n),
        (None, n) => {
            // NOTE: Locust 2.47 starts, then its spawning greenlet dies with "target_user_count must be >= 0"
            // and it exits 2 after the run time; rlocust says so at once, with the same exit code.
            Err(ExitStatus::user(
                format!(
                    "rlocust: error: argument -u/--users: must be >= 0, got {}",
                    n.unwrap_or_default()
                ),
                2,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_body_size_units() {
        let ok = |v| max_body_size(v).ok();
        assert_eq!(ok(None), Some(crate::http::wire::DEFAULT_MAX_BODY));
        assert_eq!(ok(Some("")), Some(crate::http::wire::DEFAULT_MAX_BODY));
        assert_eq!(ok(Some("512")), Some(512));
        assert_eq!(ok(Some("2k")), Some(2048));
        assert_eq!(ok(Some("3M")), Some(3 << 20));
        assert_eq!(ok(Some("1G")), Some(1 << 30));
        assert_eq!(ok(Some("0")), Some(usize::MAX));
        let err = max_body_size(Some("lots")).unwrap_err();
        assert_eq!(err.code(), 1);
        assert!(err.text().1.contains("hint: "), "{:?}", err.text());
        let err = byte_size("RLOCUST_MAX_HEAD_SIZE", Some("1.5M"), 1).unwrap_err();
        assert!(
            err.text().1.contains("RLOCUST_MAX_HEAD_SIZE must be"),
            "{:?}",
            err.text()
        );
        assert_eq!(byte_size("X", Some("64K"), 1).ok(), Some(64 << 10));
        assert_eq!(byte_size("X", None, 7).ok(), Some(7));
    }

    #[test]
    fn the_default_body_memory_is_half_of_what_the_process_may_use() {
        let m = default_body_memory();
        assert!(m >= 256 << 20);
        let total_kib: usize = std::fs::read_to_string("/proc/meminfo")
            .unwrap()
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap();
        assert!(m <= (total_kib * 1024 / 2).max(256 << 20));
    }
}
