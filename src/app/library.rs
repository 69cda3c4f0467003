//! `rlocust-python`: run any Python entry point (a script, `-m module`, `-c code`) the way `python` runs it, with
//! rlocust's `locust` package and engine. This is how Locust's other front doors work on rlocust: scripts that
//! use Locust as a library (`Environment`, `create_local_runner()`, `runner.start()`), debugging with
//! `python locustfile.py` and `run_single_user`, and pytest suites using the `session`/`fastsession` fixtures.
//!
//! Only here is `locust` rlocust's: a plain `python` keeps importing whatever Locust is installed. Unlike
//! [`super::run`], nothing of Locust's command line is parsed: the script drives the run, Python-side, through
//! `_rlocust` (see `py::library`). The engine (tokio runtime, HTTP engine, bridge, statistics) is started here
//! before Python; each runner the script creates gets its state and task then.
use super::ExitStatus;
use super::startup::Services;
use crate::bridge::Bridge;
use crate::interp;
use crate::runner::{Context, Shared};
use std::sync::Arc;
use std::time::Duration;

/// Run `argv` (what follows `python` on its command line). Returns the process exit code.
pub fn run_python(argv: Vec<String>) -> i32 {
    super::install_panic_hook();
    let status = steps(argv).unwrap_or_else(|end| end);
    status.report();
    interp::finish();
    status.code()
}

fn steps(argv: Vec<String>) -> Result<ExitStatus, ExitStatus> {
    let services = Services::start()?;
    services.install_library();
    crate::py::library_enable();
    // Locust's loggers print nothing below WARNING until the script calls `setup_logging` (Python's default);
    // the runner's lines written by Rust follow the same rule.
    crate::log::setup(crate::log::Level::Warning, None, false);
    crate::log::forward_to_python();
    interp::start()?;
    let code = interp::run_python(&argv)?;
    services.rt.shutdown_timeout(Duration::from_millis(200));
    Ok(ExitStatus::Run(code))
}

/// The wheel's pytest plugin in a plain `pytest` (no launcher, no Locust installed): the same engine as
/// [`run_python`], started inside the interpreter already running, the first time a test imports `locust` (or uses
/// the `session`/`fastsession` fixtures). It stays for the life of the process (pytest's own exit ends it). Does
/// nothing when the engine is already there (under `rlocust-python`, or a second call). The error is one line.
pub fn activate() -> Result<(), String> {
    static ACTIVE: std::sync::OnceLock<Services> = std::sync::OnceLock::new();
    if crate::py::library_mode() || ACTIVE.get().is_some() {
        return Ok(());
    }
    let services = Services::start().map_err(|e| e.text().1.trim().to_string())?;
    services.install_library();
    crate::py::library_enable();
    crate::log::setup(crate::log::Level::Warning, None, false);
    crate::log::forward_to_python();
    interp::start_hosted().map_err(|e| ExitStatus::from(e).text().1.trim().to_string())?;
    let _ = ACTIVE.set(services);
    Ok(())
}

/// Start rlocust's web UI for a library-mode runner: Locust's web options are parsed from `args` (defaults plus
/// what `create_web_ui` was given; no config file or environment variable is read), `info` is what the shim's
/// `web_info()` describes. Returns the address bound.
pub(crate) fn start_web_ui(
    rt: &tokio::runtime::Handle,
    shared: Arc<Shared>,
    run: Arc<Context>,
    bridge: Arc<Bridge>,
    args: &[String],
    info: &str,
) -> Result<(String, u16), String> {
    let env = crate::cli::Env::new(std::env::temp_dir().join("rlocust-no-config"), None);
    let parsed = crate::cli::parse(args, &env, &[]).map_err(|e| e.message())?;
    let options = &parsed.options;
    let config = crate::web::WebConfig::from_options(options)?;
    let gates =
        super::gates::Gates::new(options, None).map_err(|e| e.text().1.trim().to_string())?;
    // (a script's master runner, if any, installed this process's node)
    let node = crate::distributed::node::Node::get().cloned();
    let metrics = gates.metrics_source(&shared, &run, node.clone(), options);
    let info = Arc::new(crate::report::html::RunInfo::new(info, options));
    let state = Arc::new(crate::web::WebState::new(
        config, shared, run, node, bridge, options, info, metrics, None, None,
    ));
    let _rt = rt.enter();
    let addr = crate::web::start(state, None)?;
    Ok((addr.ip().to_string(), addr.port()))
}
