//! The program flow behind `rlocust`: a short list of named steps in Locust's order (reference §4.2, §4.6,
//! §5), each of which hands its result to the next or ends the invocation with an [`ExitStatus`].
//! `main.rs` and the wheel's entry point both call [`run`].
//!
//! - [`startup`]: the shared machinery, the locustfiles, logging and the startup messages, the Environment.
//! - [`session`]: one test run, from the runner objects and the `init` event to the exit code.
//! - [`exit`]: [`ExitStatus`], the exit code with the text the user sees.
//!
//! Threads: this runs on the main thread, which is also the Python (hub) thread while the test runs; the
//! runner, the reporters and the HTTP engine run on a tokio runtime owned by [`startup::Services`].
mod exit;
mod session;
mod startup;

pub use exit::ExitStatus;

use crate::cli::{self, CliError};
use crate::interp;
use session::Session;
use startup::Services;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const LOCUST_VERSION: &str = "2.47.0";

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
    let status = steps(argv).unwrap_or_else(|end| end);
    status.report();
    interp::finish();
    status.code()
}

/// The steps of one invocation. `Err` ends it early (an error, or a command such as `--list` that is done).
fn steps(argv: Vec<String>) -> Result<ExitStatus, ExitStatus> {
    let env = cli::Env::from_process();
    let pre = cli::pre_parse(&argv, &env)?;
    if pre.version {
        return Err(CliError::Version.into());
    }
    let services = Services::start()?;
    interp::start()?;
    let loaded = startup::load_locustfiles(&pre)?;
    let parsed = cli::parse(&argv, &env, &loaded.custom_args)?;
    let options = &parsed.options;
    interp::validate_stats_configuration()?;
    if let Some(missing) = options.not_built() {
        return Err(missing.into());
    }
    let runner = services.install(options);
    interp::configure(&parsed.values, &parsed.custom_argv)?;
    startup::setup_logging(options)?;
    startup::announce(options);
    if options.list_commands {
        print!("{}", interp::list_text()?);
        return Ok(ExitStatus::Success);
    }
    let setup = startup::environment(options, &loaded)?;
    startup::print_and_exit(options)?;
    let session = Session::prepare(services, runner, options, setup)?;
    Ok(session.start()?.finish())
}
