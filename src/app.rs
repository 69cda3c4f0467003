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
use crate::report::{console, csv::CsvWriter, json};
use crate::runner::{self, Control, Plan, Shared, dispatch::UserClassSpec};
use crate::stats::RequestStats;
use std::io::Write;
use std::sync::Arc;
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

fn version_line() -> String {
    format!("rlocust {VERSION} (follows Locust {LOCUST_VERSION})")
}

/// Run rlocust with `argv` (without the program name). Returns the process exit code.
pub fn run(argv: Vec<String>) -> i32 {
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
    let engine = Engine::new(rt.handle().clone());

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
    let mut csv = match &csv_prefix {
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
    let csv_task = csv.take().map(|mut w| {
        let stats = stats.clone();
        let shared = shared.clone();
        let mut done = done_rx.clone();
        rt.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs_f64(csv_secs)) => {
                        let _ = w.tick(&stats.snapshot(), shared.user_count(), log::now());
                    }
                    _ = done.changed() => return w,
                }
            }
        })
    });
    // Ctrl+C / SIGTERM are handled on the hub (`_bridge.ensure_started`): they send Control::Quit.
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

    if let Err(e) = interp::run_hub() {
        return interp_fail(e);
    }

    let (process_code, unhandled) = match interp::quitting() {
        Ok(r) => r,
        Err(e) => return interp_fail(e),
    };
    let exit_on_error = match get(&values, "exit_code_on_error") {
        Some(Value::Int(n)) => *n as i32,
        _ => 1,
    };
    let code = if let Some(c) = process_code {
        c
    } else if stats.has_failures() || stats.has_exceptions() {
        exit_on_error
    } else if unhandled {
        2
    } else {
        0
    };
    log::info("locust.main", &format!("Shutting down (exit code {code})"));
    let _ = done_tx.send(true);
    if let Some(task) = csv_task
        && let Ok(mut w) = rt.block_on(task)
        && let Err(e) = w.finish(&stats.snapshot(), shared.user_count(), log::now())
    {
        eprintln!("rlocust: cannot write the CSV files: {e}");
    }
    let snap = stats.snapshot();
    let json_file = get_str(&values, "json_file");
    if json_file.is_none() {
        let mut out = console::stats_table(&snap, false, width);
        out.push_str(&console::percentile_table(&snap, width));
        out.push_str(&console::error_report(&snap, width));
        log::print_table(&out);
    }
    if get_bool(&values, "json") {
        println!("{}", json::serialize_stats(&snap));
    }
    if let Some(name) = json_file {
        let path = format!("{name}.json");
        if let Some(parent) = std::path::Path::new(&path).parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(&path, json::serialize_stats(&snap)) {
            eprintln!("rlocust: cannot write {path}: {e}");
        }
    }
    let _ = interp::quit(code);
    let _ = std::io::stdout().flush();
    rt.shutdown_timeout(Duration::from_millis(200));
    code
}
