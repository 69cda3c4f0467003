//! The program flow behind `rlocust`: options, locustfiles, the test run, and the final output, in Locust's
//! order (reference §4.2, §4.6, §5). `main.rs` and the wheel's entry point both call [`run`].
//!
//! Threads: this runs on the main thread, which is also the Python (hub) thread while the test runs; the
//! runner, the reporters and the HTTP engine run on a tokio runtime owned here.
use crate::bridge::Bridge;
use crate::cli::{self, Value};
use crate::http::Engine;
use crate::interp::{self, InterpError};
use crate::log::{self, Level};
use crate::py::{self, Core};
use crate::report::{console, csv::CsvWriter, outputs::Outputs};
use crate::runner::{self, Control, Plan, Shared, dispatch::UserClassSpec};
use crate::stats::RequestStats;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const LOCUST_VERSION: &str = "2.47.0";

/// Report a command-line outcome: help and version go to stdout (exit 0), errors to stderr.
fn cli_exit(e: &cli::CliError) -> i32 {
    match e {
        cli::CliError::Help(text) => {
            print!("{text}");
            0
        }
        cli::CliError::Version => {
            println!("{}", version_line());
            0
        }
        other => fail(&other.message(), other.exit_code()),
    }
}

/// Print a user-caused error as one line and return its exit code.
fn fail(message: &str, code: i32) -> i32 {
    let msg = message.trim_end();
    if !msg.is_empty() {
        eprintln!("{msg}");
    }
    code
}

fn interp_fail(e: InterpError) -> i32 {
    match e {
        InterpError::User { message, code } => fail(&message, code),
        InterpError::Internal(m) => fail(&format!("rlocust: internal error: {m}"), 1),
    }
}

/// Width W of the name column: 80 unless stdout is a terminal (reference §5.2).
fn name_width() -> usize {
    // SAFETY: TIOCGWINSZ fills a winsize struct for a tty fd; on error we keep the default.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::isatty(1) == 1 && libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 };
    if ok && ws.ws_col > 0 {
        let cols = ws.ws_col as i64;
        (cols - 80).clamp(0, 80) as usize
    } else {
        80
    }
}

fn get<'a>(values: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn get_bool(values: &[(String, Value)], key: &str) -> bool {
    matches!(get(values, key), Some(Value::Bool(true)))
}

fn get_str(values: &[(String, Value)], key: &str) -> Option<String> {
    match get(values, key) {
        Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn get_f64(values: &[(String, Value)], key: &str) -> Option<f64> {
    match get(values, key) {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        Some(Value::Str(s)) => s.parse().ok(),
        _ => None,
    }
}

/// `RLOCUST_MAX_BODY_SIZE`: bytes a response body may have, with an optional K, M or G (binary multiples);
/// 0 means no limit. Unset: 256 MiB.
fn max_body_size(value: Option<&str>) -> Result<usize, String> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(crate::http::wire::DEFAULT_MAX_BODY);
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
        Err(_) => Err(format!(
            "rlocust: RLOCUST_MAX_BODY_SIZE must be a number of bytes, optionally with K, M or G (e.g. 512M), or 0 for no limit; got {text:?}"
        )),
    }
}

fn version_line() -> String {
    format!("rlocust {VERSION} (follows Locust {LOCUST_VERSION})")
}

/// A panic is a bug in rlocust: say so in one line (with where, for the bug report) instead of Rust's panic text
/// and backtrace note; `RUST_BACKTRACE=1` keeps Rust's own report. The engine turns a panic inside a request into
/// a failure row, so the user it belonged to is not lost.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            return;
        }
        std::panic::set_hook(Box::new(|info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            let place = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            eprintln!("rlocust: internal error: {msg}{place} (please report it)");
        }));
    });
}

/// Run rlocust with `argv` (without the program name). Returns the process exit code.
pub fn run(argv: Vec<String>) -> i32 {
    install_panic_hook();
    let code = run_inner(argv);
    interp::finish();
    code
}

fn run_inner(argv: Vec<String>) -> i32 {
    let env = cli::Env::from_process();
    let pre = match cli::pre_parse(&argv, &env) {
        Ok(p) => p,
        Err(e) => return cli_exit(&e),
    };
    if pre.version {
        println!("{}", version_line());
        return 0;
    }

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1).max(1))
                .unwrap_or(1),
        )
        .thread_name("rlocust-io")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("rlocust: cannot start the I/O runtime: {e}"), 1),
    };
    let bridge = match Bridge::new() {
        Ok(b) => Arc::new(b),
        Err(e) => return fail(&format!("rlocust: cannot create the wake-up fd: {e}"), 1),
    };
    let stats = Arc::new(RequestStats::new());
    let max_body = match max_body_size(std::env::var("RLOCUST_MAX_BODY_SIZE").ok().as_deref()) {
        Ok(n) => n,
        Err(msg) => return fail(&msg, 1),
    };
    let engine = Engine::new(rt.handle().clone(), max_body);

    if let Err(e) = interp::start() {
        return interp_fail(e);
    }
    // The runner's stop timeout is only known after parsing; a placeholder Shared is replaced below.
    let loaded = match interp::load_locustfiles(&pre.locustfiles) {
        Ok(l) => Some(l),
        Err(e) if pre.help => {
            let _ = e;
            None
        }
        Err(e) => return interp_fail(e),
    };
    let custom = loaded
        .as_ref()
        .map(|l| l.custom_args.clone())
        .unwrap_or_default();
    if pre.help {
        print!("{}", cli::help_text(&custom));
        let _ = std::io::stdout().flush();
        return 0;
    }
    let Some(loaded) = loaded else { return 1 };
    let parsed = match cli::parse(&argv, &env, &custom) {
        Ok(p) => p,
        Err(e) => return cli_exit(&e),
    };
    let values: Vec<(String, Value)> = parsed
        .values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if get_bool(&values, "list_commands") {
        match interp::list_text() {
            Ok(t) => print!("{t}"),
            Err(e) => return interp_fail(e),
        }
        return 0;
    }

    let skip_log = get_bool(&values, "skip_log_setup");
    let level = get_str(&values, "loglevel")
        .and_then(|l| Level::parse(&l))
        .unwrap_or(Level::Info);
    let logfile = match get_str(&values, "logfile") {
        Some(path) => {
            if let Some(parent) = std::path::Path::new(&path).parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(f) => Some(f),
                Err(e) => return fail(&format!("rlocust: cannot open log file {path}: {e}"), 1),
            }
        }
        None => None,
    };
    log::setup(level, logfile, skip_log);

    let stop_timeout = get_f64(&values, "stop_timeout").unwrap_or(0.0);
    let (shared, control_rx) = Shared::new(stop_timeout);
    py::install(Arc::new(Core {
        engine,
        stats: stats.clone(),
        bridge: bridge.clone(),
        runner: shared.clone(),
    }));

    let classes = match interp::configure(&values, &parsed.custom_argv, &parsed.user_classes) {
        Ok(c) => c,
        Err(e) => return interp_fail(e),
    };
    // --show-task-ratio(-json): print and exit 0, before the runner exists (configure stopped short).
    if get_bool(&values, "show_task_ratio") || get_bool(&values, "show_task_ratio_json") {
        match interp::task_ratio(!get_bool(&values, "show_task_ratio")) {
            Ok(t) => print!("{t}"),
            Err(e) => return interp_fail(e),
        }
        return 0;
    }
    // Some(use_common_options) when the locustfile has a LoadTestShape.
    let shape = if loaded.has_shape {
        match interp::shape_info() {
            Ok(s) => s,
            Err(e) => return interp_fail(e),
        }
    } else {
        None
    };

    // Distributed mode is planned; running a local test instead would silently give the wrong test.
    for (key, flag) in [("master", "--master"), ("worker", "--worker")] {
        if get_bool(&values, key) {
            return fail(
                &format!(
                    "rlocust: {flag} (distributed mode) is not available yet; run without it for a local test"
                ),
                1,
            );
        }
    }
    if !matches!(get(&values, "processes"), None | Some(Value::None)) {
        return fail(
            "rlocust: --processes is not available yet; one rlocust process already uses several cores for I/O",
            1,
        );
    }
    if get_str(&values, "html_file").is_some() {
        log::warning(
            "locust.main",
            "--html reports are not available in rlocust yet: no HTML file will be written (use --csv or --json)",
        );
    }
    let headless = get_bool(&values, "headless");
    let autostart = get_bool(&values, "autostart");
    if !headless && !autostart {
        return fail(
            "rlocust: the web UI is not available yet; run with --headless (e.g. rlocust -f locustfile.py --headless -u 10 -r 2 -t 1m)",
            1,
        );
    }
    log::info(
        "locust.main",
        &format!("Starting Locust {LOCUST_VERSION} (rlocust {VERSION})"),
    );
    let users = match get(&values, "num_users") {
        Some(Value::Int(n)) if *n < 0 => {
            // NOTE: Locust 2.47 starts, then its spawning greenlet dies with "target_user_count must be >= 0"
            // and it exits 2 after the run time; rlocust says so at once, with the same exit code.
            return fail(
                &format!("rlocust: error: argument -u/--users: must be >= 0, got {n}"),
                2,
            );
        }
        Some(Value::Int(n)) => *n as u64,
        _ => 1,
    };
    let spawn_rate = get_f64(&values, "spawn_rate").unwrap_or(1.0);
    if spawn_rate > 100.0 {
        log::warning(
            "locust.runners",
            "Your selected spawn rate is very high (>100), and this is known to sometimes cause issues. Do you really need to ramp up that fast?",
        );
    }
    let mut run_time = match get(&values, "run_time") {
        Some(Value::Int(n)) if *n > 0 => Some(*n as u64),
        _ => None,
    };
    if shape.is_none() && matches!(get(&values, "num_users"), Some(Value::Int(n)) if *n > 0) {
        let fixed: u64 = classes.iter().map(|c| c.fixed_count).sum();
        if fixed > users {
            log::info(
                "locust.main",
                &format!(
                    "Total fixed_count of User classes ({fixed}) is greater than the specified number of users ({users}), so not all will be spawned."
                ),
            );
        }
    }
    if shape == Some(false) {
        // NOTE (reference §3.5): -u/-r/-t do not apply to a shape unless it sets use_common_options.
        let given: Vec<&str> = [
            ("num_users", "--users"),
            ("spawn_rate", "--spawn-rate"),
            ("run_time", "--run-time"),
        ]
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                get(&values, k),
                None | Some(Value::None) | Some(Value::Int(0))
            )
        })
        .map(|(_, flag)| flag)
        .collect();
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
        run_time = None;
    }
    match run_time {
        Some(t) => log::info("locust.main", &format!("Run time limit set to {t} seconds")),
        None if shape.is_none() => log::info(
            "locust.main",
            "No run time limit set, use CTRL+C to interrupt",
        ),
        None => {}
    }

    let width = name_width();
    let only_summary = get_bool(&values, "only_summary");
    let csv_prefix = get_str(&values, "csv_prefix");
    let full_history = get_bool(&values, "stats_history_enabled");
    let csv = match &csv_prefix {
        Some(prefix) => match CsvWriter::create(prefix, full_history) {
            Ok(w) => Some(w),
            Err(e) => {
                return fail(
                    &format!("rlocust: cannot write CSV files {prefix}_*.csv: {e}"),
                    1,
                );
            }
        },
        None => None,
    };
    let outputs = Arc::new(Outputs::new(
        stats.clone(),
        csv,
        get_bool(&values, "json"),
        get_str(&values, "json_file"),
        width,
    ));
    let exit_on_error = match get(&values, "exit_code_on_error") {
        Some(Value::Int(n)) => *n as i32,
        _ => 1,
    };

    let plan = Plan {
        classes: classes
            .iter()
            .map(|c| UserClassSpec {
                name: c.name.clone(),
                weight: c.weight,
                fixed_count: c.fixed_count,
            })
            .collect(),
        run_time,
        reset_stats: get_bool(&values, "reset_stats"),
        headless: true,
    };
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let (console_secs, csv_secs) = crate::stats::report_intervals();
    // Periodic console table (Locust's stats_printer): first print at once, then every 2 s.
    if !only_summary {
        let stats = stats.clone();
        let mut done = done_rx.clone();
        rt.spawn(async move {
            loop {
                log::print_table(&console::stats_table(&stats.snapshot(), true, width));
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs_f64(console_secs)) => {}
                    _ = done.changed() => return,
                }
            }
        });
    }
    // CSV writer: every second.
    if outputs.has_csv() {
        let outputs = outputs.clone();
        let shared = shared.clone();
        let mut done = done_rx.clone();
        rt.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs_f64(csv_secs)) => outputs.csv_tick(shared.user_count()),
                    _ = done.changed() => return,
                }
            }
        });
    }
    // Ctrl+C / SIGTERM, and a hub that stops responding while the run ends (see runner::watchdog).
    let hub_done = Arc::new(AtomicBool::new(false));
    runner::watchdog::start(
        rt.handle(),
        runner::watchdog::Watchdog {
            shared: shared.clone(),
            bridge: bridge.clone(),
            outputs: outputs.clone(),
            exit_code_on_error: exit_on_error,
            interrupt: Box::new(interp::interrupt),
            hub_done: hub_done.clone(),
        },
    );
    // Saturation warnings: the clock of this thread, which runs Python (the hub) from here on.
    if let Some(hub) = runner::monitor::ThreadClock::current() {
        rt.spawn(runner::monitor::run(shared.clone(), bridge.clone(), hub));
    }
    rt.spawn(runner::run(
        shared.clone(),
        bridge.clone(),
        stats.clone(),
        plan,
        control_rx,
    ));
    if shape.is_none() {
        shared.send(Control::Start {
            users,
            spawn_rate,
            classes: None,
        });
    }

    let exit_status = match interp::run_hub() {
        Ok(status) => status,
        Err(e) => {
            outputs.write_final(shared.user_count());
            return interp_fail(e);
        }
    };
    hub_done.store(true, Ordering::Release);
    if let Some(code) = exit_status {
        // NOTE: a task's sys.exit(N) ends Locust's process at once with N: no stop sequence, no quitting event,
        // no final tables. The result files the user asked for are still written.
        outputs.write_files(shared.user_count());
        let _ = std::io::stdout().flush();
        rt.shutdown_timeout(Duration::from_millis(200));
        return code;
    }

    let (process_code, unhandled) = match interp::quitting() {
        Ok(r) => r,
        Err(e) => {
            outputs.write_final(shared.user_count());
            return interp_fail(e);
        }
    };
    let code = if let Some(c) = process_code {
        c
    } else if outputs.had_errors() {
        exit_on_error
    } else if unhandled {
        2
    } else {
        0
    };
    log::info("locust.main", &format!("Shutting down (exit code {code})"));
    let _ = done_tx.send(true);
    outputs.write_final(shared.user_count());
    let _ = interp::quit(code);
    let _ = std::io::stdout().flush();
    rt.shutdown_timeout(Duration::from_millis(200));
    code
}
