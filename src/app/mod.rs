//! The program flow behind `rlocust`: a short list of named steps in Locust's order (reference §4.2, §4.6,
//! §5), each of which hands its result to the next or ends the invocation with an [`ExitStatus`].
//! `main.rs` and the wheel's entry point both call [`run`].
//!
//! - `startup`: the shared machinery, the locustfiles, logging and the startup messages, the Environment.
//! - `session`: one test run, from the runner objects and the `init` event to the exit code; `prepare`: what
//!   it opens before `init` (the master's socket or the worker's connection, result files, the web UI's config).
//! - `run_end`: the one end of every run: its verdict (how it ended, the exit code) and its final outputs.
//! - `exit`: [`ExitStatus`], the exit code with the text the user sees.
//! - [`library`]: `rlocust-python`, where a Python script (not the command line) drives the engine.
//!
//! Threads: this runs on the main thread, which is also the Python (hub) thread while the test runs; the
//! runner, the reporters and the HTTP engine run on a tokio runtime owned by `startup::Services`.
mod exit;
mod gates;
pub mod library;
mod prepare;
pub mod report_cli;
mod run_end;
mod session;
mod startup;

pub use exit::ExitStatus;
pub use library::run_python;

use crate::cli::{self, CliError};
use crate::interp;
use crate::version::{LOCUST_VERSION, VERSION};
use session::Session;
use startup::Services;

/// The arguments of this invocation (`--processes` starts its children with the same ones).
pub(crate) static ARGV: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Where the program is when it is not its own executable: the wheel's `rlocust` package directory (the executable
/// there is the Python interpreter).
pub static PLACE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `-V`: the version, where the program is (as Locust's "locust 2.47.0 from <its package>") and the Locust version
/// it follows.
fn version_line() -> String {
    let place = PLACE.get().cloned().unwrap_or_else(|| {
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "?".into())
    });
    format!("rlocust {VERSION} from {place} (follows Locust {LOCUST_VERSION})")
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
    no_huge_pages();
    crate::runner::watchdog::note_sigint_disposition();
    let _ = ARGV.set(argv.clone());
    let status = steps(argv).unwrap_or_else(|end| end);
    status.report();
    interp::finish();
    status.code()
}

/// No transparent huge pages for this process, unless the environment asks mimalloc for them
/// (`MIMALLOC_ALLOW_THP`). mimalloc asks for them on its whole arena (`MADV_HUGEPAGE`), and a 2 MiB page is resident
/// in full however little of it is used: at 10,000 users that was 18 MB of the 41 MB the Rust heap held (issue 29,
/// docs/performance.md). The CPU per request did not move (bench/simultaneous.py against the build before, with the
/// other memory changes of that issue: median 1.003 over 6 rounds).
pub fn no_huge_pages() {
    // (a kernel that refuses it only leaves the memory as it was)
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        crate::sys::disable_transparent_huge_pages();
    }
}

/// A child of `--processes` (see `distributed::processes`): a worker of the master at `master` (`host:port`; `None`: the
/// command line's `--master-host`/`--master-port`), without the options that make no sense on a worker.
fn become_process_worker(parsed: &mut cli::Parsed, master: Option<&str>) {
    use cli::Value::{Bool, Int, None as Unset, Str};
    if let Some((host, port)) = master.and_then(|m| m.rsplit_once(':'))
        && let Ok(port) = port.parse()
    {
        parsed.set([
            ("master_host", Str(host.to_owned())),
            ("master_port", Int(port)),
        ]);
    }
    // Locust's child sets these on its parsed options too (`processes` stays as given)
    parsed.set([
        ("worker", Bool(true)),
        ("master", Bool(false)),
        ("run_time", Unset),
        ("autostart", Bool(false)),
        ("csv_prefix", Unset),
        ("stats_history_enabled", Bool(false)),
        ("html_file", Unset),
        ("print_stats", Bool(false)),
        ("json", Bool(false)),
        ("json_file", Unset),
        // the master exports, checks and summarizes the run; a child's port would clash with its siblings'
        ("metrics_port", Unset),
        ("thresholds", Unset),
        ("summary_json", Unset),
        ("baseline", Unset),
        ("baseline_limits", Unset),
        ("baseline_gate", Bool(false)),
        // the master splits an arrival rate over its workers
        ("arrival_rate", Unset),
        ("arrival_stages", Unset),
        ("arrival_max_users", Unset),
        ("arrival_initial_users", Unset),
        ("arrival_trace", Unset),
        ("arrival_trace_scale", Unset),
        ("arrival_trace_unit", Unset),
    ]);
}

/// The master secret of a distributed run (`distributed::auth`), read before `--processes` forks. A master of
/// `--processes` workers that was given none and no `--master-bind-host` makes a random one for its own workers
/// and listens on 127.0.0.1 only: they are local, and nobody else needs to join (an explicit bind host keeps the
/// choice, and the warning, with the user).
fn master_secret(parsed: &mut cli::Parsed) -> Result<(), ExitStatus> {
    use crate::distributed::auth;
    let o = &parsed.options;
    let child = std::env::var_os(crate::distributed::processes::CHILD_ENV).is_some();
    if !(o.master || o.worker || o.processes.is_some() || child) {
        return Ok(());
    }
    let secret = auth::load(
        o.master_secret_file.as_deref(),
        std::env::var(auth::ENV).ok(),
    )
    .map_err(|line| ExitStatus::user(line, 1))?;
    let local_master = o.processes.is_some() && !o.worker && !child;
    if local_master && secret.is_none() && !o.given.contains("master_bind_host") {
        let made = auth::Secret::random().map_err(|e| {
            ExitStatus::user(
                format!("rlocust: cannot make a master secret for --processes (reading /dev/urandom): {e}"),
                1,
            )
        })?;
        parsed.set([("master_bind_host", cli::Value::Str("127.0.0.1".into()))]);
        auth::set_process_secret(Some(made), true);
        return Ok(());
    }
    auth::set_process_secret(secret, false);
    Ok(())
}

/// `--processes N` without `--worker`: this process becomes the master of N local workers.
fn become_processes_master(parsed: &mut cli::Parsed, n: usize) {
    parsed.set([
        ("master", cli::Value::Bool(true)),
        ("expect_workers", cli::Value::Int(n as i64)),
        ("processes", cli::Value::Int(n as i64)),
    ]);
}

/// `--processes`: fork the workers now (the interpreter and the locustfile are loaded, no other thread runs yet),
/// or leave them to be started once the master is bound. `Err` ends this process (a `--worker` parent whose
/// children are done, or a forked child whose master never bound).
/// Returns the master's local workers, and whether this process is one of them.
fn processes(
    parsed: &mut cli::Parsed,
    argv: &[String],
) -> Result<(Option<session::LocalWorkers>, bool), ExitStatus> {
    use crate::distributed::processes::{self as procs, Forked};
    if let Ok(master) = std::env::var(procs::CHILD_ENV) {
        become_process_worker(parsed, Some(&master));
        return Ok((None, true));
    }
    let Some(n) = parsed.options.processes else {
        return Ok((None, false));
    };
    let n = procs::count(n, parsed.options.master).map_err(|e| ExitStatus::user(e, 1))?;
    let forkable = procs::single_threaded();
    let cannot = |e: std::io::Error| {
        ExitStatus::user(format!("rlocust: cannot start worker processes: {e}"), 1)
    };
    if parsed.options.worker {
        // only wait for the children, which do the work
        let children = if forkable {
            match procs::fork(n, false, interp::fork)? {
                Forked::Child { .. } => {
                    become_process_worker(parsed, None);
                    return Ok((None, true));
                }
                Forked::Parent { children, .. } => children,
            }
        } else {
            let port = cli::port("--master-port", parsed.options.master_port)
                .map_err(|e| ExitStatus::user(e, 1))?;
            procs::spawn(n, argv, &parsed.options.master_host, port).map_err(cannot)?
        };
        return Err(ExitStatus::Run(children.wait_all()));
    }
    become_processes_master(parsed, n);
    if !forkable {
        return Ok((Some(session::LocalWorkers::Start(n)), false));
    }
    match procs::fork(n, true, interp::fork)? {
        Forked::Child { master } => {
            // the rest of the start-up runs in every process, as after Locust's fork (a bad class name is reported
            // by each); the master's port is read when connecting
            if let Some(pipe) = master {
                procs::expect_master_address(pipe);
            }
            become_process_worker(parsed, None);
            Ok((None, true))
        }
        Forked::Parent { children, pipes } => {
            Ok((Some(session::LocalWorkers::Forked(pipes, children)), false))
        }
    }
}

/// NOTE: Locust forks its `--processes` workers before it looks at the user classes, so a locustfile without
/// users, or an unknown class name, fails in every process and each one logs it ("Unknown User(s): …" once per
/// worker and once for the master). Forked workers fail at that step by themselves: the master waits for them
/// (not Locust's 3 s before a SIGINT). Workers not forked (the fallback when the process already had threads) are
/// started now to fail the same way (they stop at the same step, before they connect), and waited for too: such a
/// worker starts its interpreter and imports the locustfile first, which takes longer on a busy machine.
fn processes_fail_too(options: &cli::Options, local_workers: Option<session::LocalWorkers>) {
    match local_workers {
        Some(session::LocalWorkers::Forked(pipes, children)) => {
            drop(pipes);
            children.wait_all();
        }
        Some(session::LocalWorkers::Start(n)) => {
            let argv = ARGV.get().cloned().unwrap_or_default();
            // (a port out of range has failed the master already)
            if let Ok(port) = cli::port("--master-bind-port", options.master_bind_port)
                && let Ok(children) =
                    crate::distributed::processes::spawn(n, &argv, "127.0.0.1", port)
            {
                children.wait_all();
            }
        }
        None => {}
    }
}

/// The steps of one invocation. `Err` ends it early (an error, or a command such as `--list` that is done).
fn steps(argv: Vec<String>) -> Result<ExitStatus, ExitStatus> {
    let env = cli::Env::from_process();
    let pre = cli::pre_parse(&argv, &env)?;
    if pre.version {
        return Err(CliError::Version.into());
    }
    interp::start()?;
    let loaded = startup::load_locustfiles(&pre)?;
    // Locust's runner constants, as the locustfile may have set them on `locust.runners`
    crate::distributed::proto::set_tunables(interp::runner_tunables());
    let mut parsed = cli::parse(&argv, &env, &loaded.custom_args)?;
    // a capacity search, or an arrival rate, where it cannot apply is refused before any process starts
    let search = startup::search_spec(&parsed.options)?;
    startup::open_plan(&parsed.options)?;
    startup::tokenizer(&parsed.options)?;
    master_secret(&mut parsed)?;
    let (local_workers, child) = processes(&mut parsed, &argv)?;
    // (the runtime starts only now: a process that forks must not have other threads)
    let services = Services::start()?;
    let options = &parsed.options;
    interp::validate_stats_configuration()?;
    if let Some(missing) = options.not_built() {
        return Err(missing.into());
    }
    // a bad --thresholds rule or --metrics-* value ends the invocation before anything starts
    let gates = gates::Gates::new(options, search)?;
    let runner = services.install(options);
    interp::configure(&parsed.values, &parsed.custom_argv)?;
    startup::setup_logging(options)?;
    // kept until the run has ended: dropping it sends the last data (see crate::otel)
    let otel = if options.otel {
        crate::otel::start(&options.locustfile, options.profile.as_deref())
    } else {
        None
    };
    if let Some(o) = &otel
        && !options.worker
    {
        let shared = runner.shared.clone();
        o.observe_users(move || shared.user_classes_count());
    }
    if !child {
        startup::announce(options, otel.is_some());
    }
    if options.list_commands {
        print!("{}", interp::list_text()?);
        return Ok(ExitStatus::Success);
    }
    let setup = match startup::environment(options, &loaded) {
        Ok(setup) => setup,
        Err(e) => {
            if !child {
                processes_fail_too(options, local_workers);
            }
            return Err(e);
        }
    };
    // (the web form's default start)
    services.run.set_default_plan(setup.open.clone());
    startup::print_and_exit(options)?;
    let session = Session::prepare(services, runner, options, setup, gates, local_workers)?;
    let status = session.start()?.finish();
    drop(otel);
    Ok(status)
}
