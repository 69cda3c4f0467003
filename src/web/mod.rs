//! The web UI's HTTP server: Locust 2.47's API (reference §1) on axum, on its own thread (see `runtime`), answered
//! from the Rust run state it is handed in [`WebState`] (`runner::Shared`, the run context `runner::Context` with
//! the statistics and the readings, the distributed node; the kept log lines); it reads no run state by path. The only Python on a request's
//! path is a `bridge::Command::Web` action where Python state must change (the `/swarm` form fields, `/user`,
//! the `reset_stats` event); `/stats/requests` and every other read is pure Rust.
//!
//! - [`announce`]: the startup line (and `--web-base-path`'s check), before `init` as in Locust.
//! - [`start`]: bind and serve; warns when the UI is reachable from other machines without authentication.
//! - `routes`: routing, Flask's status codes and texts, access control. `api`: the JSON documents.
//!   `form`: form bodies and the `/swarm` rules. `json`: Flask's JSON text. `python_routes`: paths the
//!   locustfile added to `environment.web_ui.app` (Flask), answered on the hub (`bridge::Command::WebRequest`).
//!   `login`: `--web-login`, checked by the locustfile's Flask-Login setup on the hub. `guard`: what every request
//!   passes first (the `Host` allow-list against DNS rebinding, the throttle of failed logins, the headers every
//!   answer carries). `serve`: the accept loop and its limits (connections, handshake and header-read timeouts).
//!
//! Who calls it: `app::session` in a run without `--headless`, `app::library` for a script's `create_web_ui()`. It
//! must not block a tokio worker, take the GIL, or keep a second copy of the run state: every control goes through
//! `runner::Control`.
pub mod api;
mod basic_auth;
pub mod form;
mod guard;
mod login;
pub mod metrics;
mod page;
mod python_routes;
mod routes;
mod serve;
mod tls;

use crate::bridge::Bridge;
use crate::cli::Options;
use crate::distributed::node::Node;
use crate::log;
use crate::report::html::{Report, RunInfo};
use crate::runner::{Context, Shared};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;

/// Where and how the server listens.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The bind address (`""`: every interface).
    pub host: String,
    pub port: u16,
    /// `""` or a path starting with `/`, without a trailing `/`.
    pub base_path: String,
    /// `user:password` for HTTP basic auth.
    pub basic_auth: Option<String>,
    /// `--web-login`: Locust's login page and `login_required`, with the locustfile's Flask-Login setup.
    pub web_login: bool,
    /// `--tls-cert` and `--tls-key` (PEM files): HTTPS.
    pub tls: Option<(String, String)>,
    /// The `Host` names answered (`--web-allowed-hosts` and the defaults, `guard`).
    pub allowed_hosts: Arc<guard::AllowedHosts>,
    /// `--web-cors-origins`: the origins that get `Access-Control-Allow-Origin` (none by default).
    pub cors: guard::Cors,
}

impl WebConfig {
    /// The configuration from the options; `Err` is the exit status for a bad `--web-base-path` or port.
    pub fn from_options(options: &Options) -> Result<WebConfig, String> {
        let base = &options.web_base_path;
        if !base.is_empty() && !base.starts_with('/') {
            return Err(format!(
                "Invalid format for --web-base-path argument ({base}): the url path must start with a slash."
            ));
        }
        let port = u16::try_from(options.web_port).map_err(|_| {
            format!(
                "rlocust: --web-port {} is not a port number",
                options.web_port
            )
        })?;
        Ok(WebConfig {
            host: options.web_host.clone(),
            port,
            base_path: base.trim_end_matches('/').to_string(),
            basic_auth: options.basic_auth.clone(),
            web_login: options.web_login,
            tls: options.tls(),
            allowed_hosts: Arc::new(guard::AllowedHosts::new(
                &options.web_host,
                options.web_allowed_hosts.as_deref(),
            )?),
            cors: guard::Cors::new(options.web_cors_origins.as_deref())?,
        })
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The URL Locust logs: `http(s)://<host or 0.0.0.0>:<port><base>`, or the display name.
    pub fn url(&self, display_name: Option<&str>) -> String {
        if self.host.is_empty()
            && let Some(name) = display_name
        {
            return name.to_string();
        }
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            self.host.as_str()
        };
        format!("{}://{host}:{}{}", self.scheme(), self.port, self.base_path)
    }
}

/// Locust's first web line: "Starting web interface at …" (before `init`, as Locust logs it).
pub fn announce(config: &WebConfig, options: &Options) {
    log::info(
        "locust.main",
        &format!(
            "Starting web interface at {}, press enter to open your default browser.",
            config.url(options.web_host_display_name.as_deref())
        ),
    );
}

/// What the handlers read and change.
pub struct WebState {
    pub shared: Arc<Shared>,
    /// The run context: the statistics, the run's readings and its open-workload plan.
    pub run: Arc<Context>,
    /// This process's place in a distributed run (`None`: a local run; a master lists its workers).
    pub node: Option<Arc<Node>>,
    pub bridge: Arc<Bridge>,
    /// What the pages know about the locustfile, and the host, profile and counts the form changed.
    pub info: Arc<RunInfo>,
    /// The HTML report of `/stats/report`.
    pub report: Arc<Report>,
    /// `--csv-full-history` (the dashboard links the full-history CSV).
    pub stats_history_enabled: bool,
    pub class_picker: bool,
    /// The `_stats_history.csv` file with `--csv` and `--csv-full-history`.
    pub history_csv: Option<PathBuf>,
    /// `--stop-timeout` (bounds how long `/stop` waits for the users to stop).
    pub stop_timeout: f64,
    /// The `run_time` timer of the last `/swarm`.
    pub(crate) run_timer: Mutex<Option<tokio::task::AbortHandle>>,
    pub(crate) memo: Mutex<routes::Memo>,
    pub(crate) config: WebConfig,
    /// The locustfile created `environment.web_ui.app` (Flask): paths this server does not serve go to it.
    pub(crate) python_routes: bool,
    /// What `/metrics` reads.
    pub(crate) metrics: Arc<metrics::MetricsSource>,
    /// The capacity search a start form may ask for (`None`: this server offers none, e.g. library mode).
    pub(crate) search: Option<SearchStart>,
}

/// What a search started from the web form needs: the run's options (the form's fields are checked by the command
/// line's rules, `judge::search::options::spec_from_form`) and the run's search handle (every output reads it).
pub struct SearchStart {
    pub options: Options,
    pub handle: crate::judge::search::Handle,
}

impl WebState {
    /// The state for a run.
    #[allow(clippy::too_many_arguments)] // one per part of the run the server reads
    pub fn new(
        config: WebConfig,
        shared: Arc<Shared>,
        run: Arc<Context>,
        node: Option<Arc<Node>>,
        bridge: Arc<Bridge>,
        options: &Options,
        info: Arc<RunInfo>,
        metrics: Arc<metrics::MetricsSource>,
        context: Option<Arc<dyn crate::report::html::RunContext>>,
        search: Option<crate::judge::search::Handle>,
    ) -> WebState {
        let history_csv = match (&options.csv_prefix, options.csv_full_history) {
            (Some(prefix), true) => Some(crate::report::csv::csv_paths(prefix)[1].clone()),
            _ => None,
        };
        WebState {
            python_routes: info.python_routes,
            stop_timeout: shared.stop_timeout(),
            report: Arc::new(Report {
                run: run.clone(),
                users: shared.clone(),
                info: info.clone(),
                context,
            }),
            shared,
            run,
            node,
            bridge,
            info,
            history_csv,
            stats_history_enabled: options.csv_full_history,
            class_picker: options.class_picker,
            run_timer: Mutex::new(None),
            memo: Mutex::new(routes::Memo::default()),
            config,
            metrics,
            search: search.map(|handle| SearchStart {
                options: options.clone(),
                handle,
            }),
        }
    }
}

/// The web UI's own runtime: one thread ("rlocust-web"), started with the first UI of the process.
///
/// NOTE: not the engine's I/O runtime, whose threads a master lets sleep for 20 ms before they wait on their
/// sockets (`distributed::router::before_park`, which makes 1,000 workers' messages cost a quarter less): a request to the
/// UI took several such wake-ups, 35-50 ms where Locust's master answers in about 6 (bench/fleet.py --web). Here it
/// is answered as it arrives; nor does a load that keeps the I/O threads busy slow the UI down.
fn runtime() -> Result<tokio::runtime::Handle, String> {
    static WEB: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    if let Some(h) = WEB.get() {
        return Ok(h.clone());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("rlocust-web")
        .build()
        .map_err(|e| format!("rlocust: cannot start the web UI: {e}"))?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("rlocust-web".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .map_err(|e| format!("rlocust: cannot start the web UI: {e}"))?;
    Ok(WEB.get_or_init(|| handle).clone())
}

/// What the web UI waits for before it answers its first request (the socket is bound and listening already,
/// so a client's connection waits in the backlog): `--autostart`'s first spawn step, see
/// [`crate::runner::Shared::first_settled`].
pub type Hold = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// How long [`Hold`] may keep the web UI from answering (a User `__init__` that blocks does not keep it dark).
const HOLD_AT_MOST: std::time::Duration = std::time::Duration::from_secs(5);

/// Bind and serve on the web UI's thread. Returns the bound address, or one line saying why it cannot listen.
pub fn start(state: Arc<WebState>, hold: Option<Hold>) -> Result<std::net::SocketAddr, String> {
    let rt = &runtime()?;
    let config = state.config.clone();
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls::server_config(cert, key)?),
        None => None,
    };
    let bind_host = if config.host.is_empty() {
        "0.0.0.0"
    } else {
        config.host.as_str()
    };
    let listener = std::net::TcpListener::bind((bind_host, config.port)).map_err(|e| {
        format!(
            "rlocust: cannot start the web UI on {bind_host}:{}: {e}",
            config.port
        )
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("rlocust: cannot start the web UI: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("rlocust: cannot start the web UI: {e}"))?;
    if !addr.ip().is_loopback() && config.basic_auth.is_none() && !config.web_login {
        log::warning(
            "locust.main",
            &format!(
                "The web UI listens on {bind_host}:{} and has no authentication: anyone who can reach this machine can start load against any host. Use --web-host 127.0.0.1, --basic-auth USER:PASS (or RLOCUST_WEB_AUTH), or --web-login",
                addr.port()
            ),
        );
    }
    let _guard = rt.enter();
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| format!("rlocust: cannot start the web UI: {e}"))?;
    let app = routes::router(state);
    rt.spawn(async move {
        if let Some(hold) = hold {
            let _ = tokio::time::timeout(HOLD_AT_MOST, hold).await;
        }
        serve::serve(listener, tls, app, "web UI").await;
    });
    Ok(addr)
}
