//! The classes and functions Python sees, as the private module `_rlocust`: the per-user HTTP session core,
//! the `Response`, the hub's drain/ack calls, and stats/runner access for the shim.
//!
//! Everything here runs on the hub thread with the GIL held; the HTTP work itself is handed to tokio and
//! never takes the GIL. Cross-thread data is plain Rust (see `bridge`, `http`).
pub mod response;

use crate::bridge::{Arg, Bridge, Command, Item};
use crate::http::{self, CallMeta, Completed, Engine, Flavor, RequestSpec, UserClient};
use crate::runner::{Control, Shared};
use crate::stats::RequestStats;
use bytes::Bytes;
use futures_util::FutureExt;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyList, PyTuple};
use response::Response;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Everything the Python side reaches in Rust, set once by `interp` before any Python runs.
pub struct Core {
    pub engine: Arc<Engine>,
    pub stats: Arc<RequestStats>,
    pub bridge: Arc<Bridge>,
    pub runner: Arc<Shared>,
}

static CORE: OnceLock<Arc<Core>> = OnceLock::new();

pub fn install(core: Arc<Core>) {
    let _ = CORE.set(core);
}

fn core() -> PyResult<&'static Arc<Core>> {
    CORE.get()
        .ok_or_else(|| PyRuntimeError::new_err("rlocust engine is not running"))
}

/// URLs repeat across requests and users: parsing (with IDNA host processing) was a third of `send`.
/// Bounded; cleared when full (a test with endlessly varying URLs just parses as before).
fn parse_url_cached(url: &str) -> Result<url::Url, url::ParseError> {
    static CACHE: std::sync::LazyLock<
        parking_lot::Mutex<std::collections::HashMap<String, url::Url>>,
    > = std::sync::LazyLock::new(Default::default);
    const MAX: usize = 4096;
    let mut cache = CACHE.lock();
    if let Some(u) = cache.get(url) {
        return Ok(u.clone());
    }
    let parsed = url::Url::parse(url)?;
    if cache.len() >= MAX {
        cache.clear();
    }
    cache.insert(url.to_string(), parsed.clone());
    Ok(parsed)
}

/// A request accepted by `Session.send`, not yet handed to tokio.
struct Job {
    ticket: u64,
    route: http::Route,
    jar: Arc<parking_lot::Mutex<cookie_store::CookieStore>>,
    spec: RequestSpec,
    meta: CallMeta,
}

/// Requests sent since the hub last polled. Handing each one to tokio on its own woke the I/O thread once per
/// request (a futex wake and two context switches); the hub submits them in one batch per loop iteration.
static PENDING: parking_lot::Mutex<Vec<Job>> = parking_lot::Mutex::new(Vec::new());
/// What `send` calls when the batch starts: schedules `flush` as a hub callback (set by the shim's bridge).
static FLUSH_HOOK: OnceLock<Py<PyAny>> = OnceLock::new();

/// `locust.stats.PERCENTILES_TO_REPORT`, `CONSOLE_STATS_INTERVAL_SEC` and `CSV_STATS_INTERVAL_SEC` as the
/// locustfile left them.
#[pyfunction]
fn set_stats_settings(percentiles: Vec<f64>, console_secs: f64, csv_secs: f64) {
    crate::stats::configure_reporting(percentiles, console_secs, csv_secs);
}

/// The `(_ssl.c:NNNN)` this Python's ssl module appends to OpenSSL errors (see `http::tls`).
#[pyfunction]
fn set_ssl_suffix(suffix: String) {
    http::tls::set_ssl_suffix(suffix);
}

#[pyfunction]
fn set_flush_hook(hook: Py<PyAny>) {
    let _ = FLUSH_HOOK.set(hook);
}

fn submit(core: &Core, batch: Vec<Job>) {
    for job in batch {
        let stats = core.stats.clone();
        let bridge = core.bridge.clone();
        core.engine.handle.spawn(run_job(job, stats, bridge));
    }
}

async fn run_job(job: Job, stats: Arc<RequestStats>, bridge: Arc<Bridge>) {
    let Job {
        ticket,
        route,
        jar,
        spec,
        meta,
    } = job;
    let flavor = meta.flavor;
    // A panic in the engine must not lose the user parked on this call: it becomes a failure.
    let outcome = match AssertUnwindSafe(UserClient::execute(route, jar, spec, flavor))
        .catch_unwind()
        .await
    {
        Ok(o) => o,
        Err(panic) => http::Outcome {
            response: None,
            history: Vec::new(),
            error: Some(http::HttpError::Internal(panic_text(&*panic))),
            response_time_ms: 0.0,
            start_time: crate::log::now(),
        },
    };
    let failure = http::default_failure(&outcome, &meta);
    // an exception the client raises out of the call is no request in Locust's stats
    let escapes = http::escaping_error(&outcome, &meta).is_some();
    if meta.recorded && !escapes {
        let now = crate::log::now();
        let len = outcome
            .response
            .as_ref()
            .map(|r| r.body.len() as u64)
            .unwrap_or(0);
        stats.log_request(
            &meta.method_label,
            &meta.name,
            Some(outcome.response_time_ms),
            len,
            now,
        );
        if let Some(f) = &failure {
            stats.log_error(&meta.method_label, &meta.name, f, now);
        }
    }
    bridge.push(Item::Http {
        ticket,
        done: Box::new(Completed {
            outcome,
            meta,
            failure,
        }),
    });
}

/// The message of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// Hand the requests sent since the last call to tokio (the hub calls this before it polls).
#[pyfunction]
fn flush() -> PyResult<()> {
    let batch = std::mem::take(&mut *PENDING.lock());
    if !batch.is_empty() {
        submit(core()?, batch);
    }
    Ok(())
}

/// `timeout` of `Session.send`: (connect s, read s, connect as text, read as text).
type TimeoutArg = (Option<f64>, Option<f64>, String, Option<String>);

/// A timeout in seconds as a Duration: None for "no timeout", including values no Duration holds (1e30, inf) and
/// NaN, which the clients' sockets also treat as "wait forever". (The shim has refused what the client refuses;
/// zero reaches here only from FastHttpUser, where it means a non-blocking socket.)
fn seconds(t: Option<f64>) -> Option<Duration> {
    t.filter(|t| t.is_finite() && *t >= 0.0)
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
}

/// Rust core of `HttpSession` / `FastHttpSession`: one user's connection pool and cookie jar.
#[pyclass(module = "locust._rlocust", name = "Session")]
pub struct Session {
    client: UserClient,
    flavor: Flavor,
}

#[pymethods]
impl Session {
    #[new]
    fn new(flavor: &str) -> PyResult<Self> {
        let core = core()?;
        let flavor = if flavor == "fast" {
            Flavor::Fast
        } else {
            Flavor::Requests
        };
        Ok(Session {
            client: core.engine.user_client(),
            flavor,
        })
    }

    /// Start a call; returns a ticket the hub hands back with the `Response` when it completes.
    /// `name=None` resolves to the client's default (requests: path and query; FastHttp: the url as given).
    /// `timeout`: None, or (connect seconds, read seconds, connect as text, read as text) with None for "wait
    /// forever" (the shim has validated them as the client does).
    #[pyo3(signature = (method, url, name, headers, body, timeout, allow_redirects, verify, cookies, record, max_redirects=30, url_as_given=None, retries_on_close=0))]
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        name: Option<String>,
        headers: Vec<(String, String)>,
        body: Option<PyBackedBytes>,
        timeout: Option<TimeoutArg>,
        allow_redirects: bool,
        verify: bool,
        cookies: Vec<(String, String)>,
        record: bool,
        max_redirects: u32,
        url_as_given: Option<String>,
        retries_on_close: u32,
    ) -> PyResult<u64> {
        let core = core()?;
        let parsed = parse_url_cached(url)
            .map_err(|e| PyValueError::new_err(format!("Invalid URL {url:?}: {e}")))?;
        let method_upper = method.to_ascii_uppercase();
        let http_method = ::http::Method::from_bytes(method_upper.as_bytes())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let name = name.unwrap_or_else(|| match self.flavor {
            Flavor::Requests => http::path_url(&parsed),
            Flavor::Fast => url_as_given.unwrap_or_else(|| url.to_string()),
        });
        let body = body.map(|b| Bytes::copy_from_slice(&b));
        let meta = CallMeta {
            flavor: self.flavor,
            method_label: method.to_string(),
            name,
            request_url: parsed.clone(),
            request_body: body.clone(),
            recorded: record,
        };
        let spec = RequestSpec {
            method: http_method,
            url: parsed,
            headers,
            body,
            timeouts: http::Timeouts {
                connect: timeout.as_ref().and_then(|t| seconds(t.0)),
                read: timeout.as_ref().and_then(|t| seconds(t.1)),
            },
            timeout_texts: timeout.map(|t| (t.2, t.3)).unwrap_or_default(),
            retries_on_close,
            max_body: core.engine.max_body,
            allow_redirects,
            max_redirects,
            verify,
            extra_cookies: cookies,
        };
        let ticket = core.bridge.next_ticket();
        let job = Job {
            ticket,
            route: self.client.route(verify),
            jar: self.client.jar.clone(),
            spec,
            meta,
        };
        let first = {
            let mut pending = PENDING.lock();
            pending.push(job);
            pending.len() == 1
        };
        if first {
            // Submit when the hub next runs its callbacks (before it polls), so every request the users send in
            // one pass of the loop goes to tokio together. Without the hook (no hub yet), submit at once.
            match FLUSH_HOOK.get() {
                Some(hook) => {
                    hook.call0(py)?;
                }
                None => flush()?,
            }
        }
        Ok(ticket)
    }

    /// Cookies in the jar as (name, value, domain, path) tuples.
    fn cookie_items(&self) -> Vec<(String, String, String, String)> {
        let jar = self.client.jar.lock();
        jar.iter_unexpired()
            .map(|c| {
                let domain = match &c.domain {
                    cookie_store::CookieDomain::HostOnly(d)
                    | cookie_store::CookieDomain::Suffix(d) => d.clone(),
                    _ => String::new(),
                };
                (
                    c.name().to_string(),
                    c.value().to_string(),
                    domain,
                    String::from(&c.path),
                )
            })
            .collect()
    }

    /// Put a cookie in the jar for `url` (domain/path default from the url).
    fn cookie_set(&self, name: &str, value: &str, url: &str) -> PyResult<()> {
        let u = url::Url::parse(url).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let _ = self
            .client
            .jar
            .lock()
            .parse(&format!("{name}={value}; Path=/"), &u);
        Ok(())
    }

    fn cookie_remove(&self, name: &str) {
        let mut jar = self.client.jar.lock();
        let keys: Vec<(String, String)> = jar
            .iter_any()
            .filter(|c| c.name() == name)
            .map(|c| {
                let d = match &c.domain {
                    cookie_store::CookieDomain::HostOnly(d)
                    | cookie_store::CookieDomain::Suffix(d) => d.clone(),
                    _ => String::new(),
                };
                (d, String::from(&c.path))
            })
            .collect();
        for (d, p) in keys {
            jar.remove(&d, &p, name);
        }
    }

    fn cookie_clear(&self) {
        self.client.jar.lock().clear();
    }

    /// Close pooled connections (FastHttp's `client.clientpool.close()`).
    fn reset_connections(&mut self) {
        self.client.reset_connections();
    }
}

/// The eventfd the hub watches.
#[pyfunction]
fn wake_fd() -> PyResult<i32> {
    Ok(core()?.bridge.fd())
}

/// Everything that completed since the last call: `(ticket, Response)` for HTTP calls and
/// `(0, (command_id, kind, class, count, timeout, kwargs))` for runner commands.
#[pyfunction]
fn drain<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    let core = core()?;
    let items = core.bridge.drain();
    let out = PyList::empty(py);
    for item in items {
        match item {
            Item::Ping => {}
            Item::Http { ticket, done } => {
                let resp = Py::new(py, Response::from_completed(*done))?;
                out.append((ticket, resp))?;
            }
            Item::Command { id, command } => {
                let payload: Bound<'py, PyTuple> = match command {
                    Command::Spawn { class, count } => (
                        id,
                        "spawn",
                        class,
                        count,
                        0.0f64,
                        Vec::<(String, Py<PyAny>)>::new(),
                    )
                        .into_pyobject(py)?,
                    Command::Stop {
                        class,
                        count,
                        timeout,
                    } => (
                        id,
                        "stop",
                        class,
                        count.min(i64::MAX as u64),
                        timeout,
                        Vec::<(String, Py<PyAny>)>::new(),
                    )
                        .into_pyobject(py)?,
                    Command::Fire { event, kwargs } => {
                        let mut args: Vec<(String, Py<PyAny>)> = Vec::with_capacity(kwargs.len());
                        for (k, v) in kwargs {
                            let obj = match v {
                                Arg::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
                                Arg::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
                            };
                            args.push((k, obj));
                        }
                        (id, "fire", event, 0u64, 0.0f64, args).into_pyobject(py)?
                    }
                    Command::Quit => (
                        id,
                        "quit",
                        String::new(),
                        0u64,
                        0.0f64,
                        Vec::<(String, Py<PyAny>)>::new(),
                    )
                        .into_pyobject(py)?,
                };
                out.append((0u64, payload))?;
            }
        }
    }
    Ok(out)
}

#[pyfunction]
#[pyo3(signature = (id, ok=true))]
fn ack(id: u64, ok: bool) -> PyResult<()> {
    core()?.bridge.ack(id, ok);
    Ok(())
}

/// Record one request (the built-in `request` listener, and catch_response verdicts).
#[pyfunction]
#[pyo3(signature = (request_type, name, response_time, response_length, error=None))]
fn log_request(
    request_type: &str,
    name: &str,
    response_time: Option<f64>,
    response_length: Option<f64>,
    error: Option<&str>,
) -> PyResult<()> {
    let core = core()?;
    let now = crate::log::now();
    let len = response_length.unwrap_or(0.0).max(0.0) as u64;
    core.stats
        .log_request(request_type, name, response_time, len, now);
    if let Some(e) = error {
        core.stats.log_error(request_type, name, e, now);
    }
    Ok(())
}

#[pyfunction]
fn log_exception(msg: &str, traceback: &str, node: &str) -> PyResult<()> {
    core()?.stats.log_exception(msg, traceback, node);
    Ok(())
}

#[pyfunction]
fn user_started(class: &str) -> PyResult<()> {
    core()?.runner.user_started(class);
    Ok(())
}

#[pyfunction]
fn user_stopped(class: &str) -> PyResult<()> {
    core()?.runner.user_stopped(class);
    Ok(())
}

/// Whether the watchdog asked for a KeyboardInterrupt (cleared by reading it).
#[pyfunction]
fn take_interrupt() -> bool {
    crate::interp::INTERRUPT_REQUESTED.swap(false, std::sync::atomic::Ordering::SeqCst)
}

#[pyfunction]
fn user_interrupted() -> PyResult<()> {
    core()?.runner.user_interrupted();
    Ok(())
}

#[pyfunction]
fn user_count() -> PyResult<u64> {
    Ok(core()?.runner.user_count())
}

#[pyfunction]
fn user_classes_count() -> PyResult<Vec<(String, u64)>> {
    Ok(core()?.runner.user_classes_count().into_iter().collect())
}

#[pyfunction]
fn runner_state() -> PyResult<&'static str> {
    Ok(core()?.runner.state().as_str())
}

/// The runner's own `spawning_complete` listener: the state becomes running, and with `--reset-stats` the
/// stats are reset (Locust logs "Resetting stats").
#[pyfunction]
fn runner_spawning_complete() -> PyResult<()> {
    let core = core()?;
    if core.runner.spawning_complete() {
        crate::log::info("locust.runners", "Resetting stats\n");
        core.stats.reset_all(crate::log::now());
    }
    Ok(())
}

/// A `stop()`/`quit()` in a user's own greenlet, step by step as Locust's `Runner.stop()` runs there:
/// `"begin"` (false when stopped already), `"cleanup"` (after test_stopping), `"stopped"` (users stopped).
#[pyfunction]
fn runner_user_stop(step: &str) -> PyResult<bool> {
    let runner = &core()?.runner;
    Ok(match step {
        "begin" => runner.user_stop_begin(),
        "cleanup" => {
            runner.enter_cleanup();
            true
        }
        "stopped" => {
            runner.enter_stopped();
            true
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown stop step {other:?}"
            )));
        }
    })
}

#[pyfunction]
#[pyo3(signature = (value=None))]
fn runner_target_user_count(value: Option<u64>) -> PyResult<u64> {
    let runner = &core()?.runner;
    if let Some(v) = value {
        runner.set_target_user_count(v);
    }
    Ok(runner.target_user_count())
}

#[pyfunction]
#[pyo3(signature = (value=None))]
fn runner_target_user_classes_count(
    value: Option<Vec<(String, u64)>>,
) -> PyResult<Vec<(String, u64)>> {
    let runner = &core()?.runner;
    if let Some(v) = value {
        runner.set_target_user_classes_count(v.into_iter().collect());
    }
    Ok(runner.target_user_classes_count().into_iter().collect())
}

#[pyfunction]
fn runner_final_user_classes_count() -> PyResult<Vec<(String, u64)>> {
    Ok(core()?
        .runner
        .final_user_classes_count()
        .into_iter()
        .collect())
}

/// The LoadTestShape's phase: `"running"` when the shape greenlet starts, `"ended"` when it ends (`logged`:
/// "Shape test completed, shutting down" is out); returns (phase, logged).
#[pyfunction]
#[pyo3(signature = (phase=None, logged=false))]
fn runner_shape(phase: Option<&str>, logged: bool) -> PyResult<(&'static str, bool)> {
    use crate::runner::ShapePhase;
    let runner = &core()?.runner;
    match phase {
        None => {}
        Some("running") => runner.set_shape(ShapePhase::Running),
        Some("ended") => runner.set_shape(ShapePhase::Ended { logged }),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "unknown shape phase {other:?}"
            )));
        }
    }
    Ok(match runner.shape() {
        ShapePhase::None => ("none", false),
        ShapePhase::Running => ("running", false),
        ShapePhase::Ended { logged } => ("ended", logged),
    })
}

/// `runner.quit()` / `runner.stop()` / `runner.start()` from Python.
#[pyfunction]
#[pyo3(signature = (what, users=0, spawn_rate=1.0, classes=None))]
fn runner_control(
    what: &str,
    users: u64,
    spawn_rate: f64,
    classes: Option<Vec<String>>,
) -> PyResult<()> {
    let c = match what {
        "quit" => Control::Quit,
        "stop" => Control::Stop,
        // a KeyboardInterrupt that reached the hub (raised in a task): what a Ctrl+C does
        "interrupt" => Control::Interrupt { sigterm: false },
        "start" => Control::Start {
            users,
            spawn_rate,
            classes,
        },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown runner control {other:?}"
            )));
        }
    };
    core()?.runner.send(c);
    Ok(())
}

/// A read-only view of one stats entry for `environment.stats` (`name=None` is the Aggregated total).
#[pyfunction]
#[pyo3(signature = (name=None, method=None))]
fn stats_entry(py: Python<'_>, name: Option<&str>, method: Option<&str>) -> PyResult<Py<PyAny>> {
    let snap = core()?.stats.snapshot();
    stats_view::entry_dict(py, &snap, name, method)
}

fn entry_key<'a>(name: &'a str, method: &'a str) -> (Option<&'a str>, Option<&'a str>) {
    if name == "Aggregated" && method.is_empty() {
        (None, None)
    } else {
        (Some(name), Some(method))
    }
}

#[pyfunction]
fn stats_percentile(name: &str, method: &str, p: f64) -> PyResult<i64> {
    let snap = core()?.stats.snapshot();
    let (n, m) = entry_key(name, method);
    Ok(stats_view::percentile(&snap, n, m, p))
}

#[pyfunction]
fn stats_current_percentile(name: &str, method: &str, p: f64) -> PyResult<Option<i64>> {
    let snap = core()?.stats.snapshot();
    let (n, m) = entry_key(name, method);
    Ok(stats_view::current_percentile(&snap, n, m, p))
}

#[pyfunction]
fn log_error(request_type: &str, name: &str, error: &str) -> PyResult<()> {
    core()?
        .stats
        .log_error(request_type, name, error, crate::log::now());
    Ok(())
}

/// Failure rows: (method, name, error, occurrences, first_seen, last_seen).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn stats_errors() -> PyResult<Vec<(String, String, String, u64, Option<f64>, Option<f64>)>> {
    let snap = core()?.stats.snapshot();
    Ok(snap
        .errors
        .iter()
        .map(|e| {
            (
                e.method.clone(),
                e.name.clone(),
                e.error.clone(),
                e.occurrences,
                e.first_seen,
                e.last_seen,
            )
        })
        .collect())
}

#[pyfunction]
fn stats_names() -> PyResult<Vec<(String, String)>> {
    let snap = core()?.stats.snapshot();
    Ok(snap
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.method.clone()))
        .collect())
}

#[pyfunction]
fn stats_reset() -> PyResult<()> {
    core()?.stats.reset_all(crate::log::now());
    Ok(())
}

mod stats_view;

/// The wheel's entry point (`rlocust` console script, `python -m rlocust`): the same program as the binary,
/// run inside the host interpreter. Returns the exit code.
#[pyfunction]
fn run(argv: Vec<String>) -> i32 {
    crate::app::run(argv)
}

/// The module `_rlocust` (registered with the interpreter before it starts).
#[pymodule]
#[pyo3(name = "_rlocust")]
pub fn rlocust_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Session>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_class::<Response>()?;
    m.add_function(wrap_pyfunction!(wake_fd, m)?)?;
    m.add_function(wrap_pyfunction!(drain, m)?)?;
    m.add_function(wrap_pyfunction!(flush, m)?)?;
    m.add_function(wrap_pyfunction!(set_stats_settings, m)?)?;
    m.add_function(wrap_pyfunction!(set_flush_hook, m)?)?;
    m.add_function(wrap_pyfunction!(set_ssl_suffix, m)?)?;
    m.add_function(wrap_pyfunction!(ack, m)?)?;
    m.add_function(wrap_pyfunction!(log_request, m)?)?;
    m.add_function(wrap_pyfunction!(log_exception, m)?)?;
    m.add_function(wrap_pyfunction!(user_started, m)?)?;
    m.add_function(wrap_pyfunction!(user_stopped, m)?)?;
    m.add_function(wrap_pyfunction!(user_count, m)?)?;
    m.add_function(wrap_pyfunction!(user_interrupted, m)?)?;
    m.add_function(wrap_pyfunction!(take_interrupt, m)?)?;
    m.add_function(wrap_pyfunction!(user_classes_count, m)?)?;
    m.add_function(wrap_pyfunction!(runner_state, m)?)?;
    m.add_function(wrap_pyfunction!(runner_spawning_complete, m)?)?;
    m.add_function(wrap_pyfunction!(runner_user_stop, m)?)?;
    m.add_function(wrap_pyfunction!(runner_target_user_count, m)?)?;
    m.add_function(wrap_pyfunction!(runner_target_user_classes_count, m)?)?;
    m.add_function(wrap_pyfunction!(runner_final_user_classes_count, m)?)?;
    m.add_function(wrap_pyfunction!(runner_shape, m)?)?;
    m.add_function(wrap_pyfunction!(runner_control, m)?)?;
    m.add_function(wrap_pyfunction!(stats_entry, m)?)?;
    m.add_function(wrap_pyfunction!(stats_names, m)?)?;
    m.add_function(wrap_pyfunction!(stats_errors, m)?)?;
    m.add_function(wrap_pyfunction!(stats_percentile, m)?)?;
    m.add_function(wrap_pyfunction!(stats_current_percentile, m)?)?;
    m.add_function(wrap_pyfunction!(log_error, m)?)?;
    m.add_function(wrap_pyfunction!(stats_reset, m)?)?;
    Ok(())
}
