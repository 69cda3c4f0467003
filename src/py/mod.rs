//! The classes and functions Python sees, as the private module `_rlocust`: the per-user HTTP session core,
//! the `Response`, the hub's drain/ack calls and their message classes, and stats/runner access for the shim.
//! Its typed surface is `python/rlocust/_rlocust.pyi` (checked against this module by
//! tests/python/test_native_stub.py): a function or class added here goes there too.
//!
//! Everything here runs on the hub thread with the GIL held, and only adapts: a request becomes an
//! `engine::Job` (the engine runs it on tokio, never taking the GIL), a drained batch becomes Python objects
//! (`messages`). Cross-thread data is plain Rust (see `bridge`, `engine`, `http`).
mod aio_step;
#[cfg(not(feature = "abi3"))]
mod awaited;
mod cabi;
mod call;
pub mod callables;
mod distributed;
#[cfg(not(feature = "abi3"))]
mod frame_stack;
mod library;
mod llm;
pub use library::{custom_args, library_web_ui};
mod messages;
mod request;
pub mod response;
mod seen;
#[cfg(not(feature = "abi3"))]
mod task_loop;

use crate::bridge::Bridge;
use crate::engine::record::Recorder;
use crate::engine::{Job, Submitter};
use crate::http::{self, CallMeta, Engine, Flavor, RequestSpec, UserClient};
use crate::runner::{Control, Shared};
use crate::stats::RequestStats;
use bytes::Bytes;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use response::Response;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Everything the Python side reaches in Rust, set once by `interp` before any Python runs.
pub struct Core {
    pub engine: Arc<Engine>,
    pub stats: Arc<RequestStats>,
    /// The run context (readers of the run's state: the library's CSV writer and web UI).
    pub run: Arc<crate::runner::Context>,
    pub bridge: Arc<Bridge>,
    /// The runner's shared state. One for the whole run from the command line; in library mode
    /// (`rlocust-python`) each runner a script creates gets a fresh one (see `library`).
    pub runner: parking_lot::RwLock<Arc<Shared>>,
}

/// The [`Core`] and the request submitter made from it.
struct Installed {
    core: Arc<Core>,
    requests: Submitter,
    /// What Python reports or measures of requests goes into the records through the engine's recorder.
    recorder: Recorder,
    timers: Arc<crate::engine::timers::Timers>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

pub fn install(core: Arc<Core>) {
    let requests = Submitter::new(core.engine.clone(), core.stats.clone(), core.bridge.clone());
    let timers =
        crate::engine::timers::Timers::new(core.engine.handle.clone(), core.bridge.clone());
    let recorder = Recorder::new(core.stats.clone());
    let _ = INSTALLED.set(Installed {
        core,
        requests,
        recorder,
        timers,
    });
}

fn installed() -> PyResult<&'static Installed> {
    INSTALLED
        .get()
        .ok_or_else(|| PyRuntimeError::new_err("rlocust engine is not running"))
}

pub(crate) fn core() -> PyResult<&'static Core> {
    Ok(&installed()?.core)
}

/// Library mode (`rlocust-python`): a script drives the run (see `library`).
pub fn library_enable() {
    library::enable();
}

/// Whether the engine runs for a Python program (`rlocust-python`, or the wheel's pytest plugin).
pub fn library_mode() -> bool {
    library::enabled()
}

/// The runner's shared state now in use.
fn runner() -> PyResult<Arc<Shared>> {
    Ok(core()?.runner.read().clone())
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

/// What `send` calls when a batch of requests starts: schedules `flush` as a hub callback (set by the shim's
/// bridge), so every request the users send in one pass of the hub's loop goes to tokio together.
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

/// What `Session.send` calls when a batch of requests starts (the shim schedules `flush` with it).
#[pyfunction]
fn set_flush_hook(hook: Py<PyAny>) {
    let _ = FLUSH_HOOK.set(hook);
}

/// Hand the requests sent since the last call to tokio (the hub calls this before it polls).
#[pyfunction]
fn flush() -> PyResult<()> {
    installed()?.requests.flush();
    Ok(())
}

/// A timeout in seconds as a Duration: None for "no timeout", including values no Duration holds (1e30, inf) and
/// NaN, which the clients' sockets also treat as "wait forever". (The shim has refused what the client refuses;
/// zero reaches here only from FastHttpUser, where it means a non-blocking socket.)
fn seconds(t: Option<f64>) -> Option<Duration> {
    t.filter(|t| t.is_finite() && *t >= 0.0)
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
}

/// Rust core of `HttpSession` / `FastHttpSession`: one user's connection pool and cookie jar.
#[pyclass(module = "_rlocust", name = "Session")]
pub struct Session {
    client: UserClient,
    flavor: Flavor,
    /// HTTP/2 where the server speaks it (rlocust's opt-in; the shim sets it from `--http2` or the user class).
    #[pyo3(get, set)]
    http2: bool,
    /// The owning user's fixed-rate interval in ms (the shim sets it for `constant_pacing` /
    /// `constant_throughput` users); its calls are recorded with it for the coordinated-omission correction.
    #[pyo3(get, set)]
    pacing_ms: Option<f64>,
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
            http2: false,
            pacing_ms: None,
        })
    }

    /// Start the call `request` describes (and empty it: a Request is sent once); returns a ticket the hub
    /// hands back with the `Response` when it completes.
    fn send(&self, py: Python<'_>, request: &Bound<'_, request::Request>) -> PyResult<u64> {
        self.submit(py, std::mem::take(&mut *request.borrow_mut()))
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

impl Session {
    /// What `send` does with a Request's fields (the plain call of `call::Client` builds them itself).
    pub(crate) fn submit(&self, py: Python<'_>, request: request::Request) -> PyResult<u64> {
        let request::Request {
            method,
            url,
            name,
            mut headers,
            body,
            timeout,
            allow_redirects,
            verify,
            cookies,
            record,
            max_redirects,
            url_as_given,
            retries_on_close,
            header_fault,
            no_host,
            proxy,
            ca_bundle,
            cert,
            key,
            tls_error,
            stream,
        } = request;
        let url = url.as_str();
        let Installed {
            core,
            requests,
            recorder,
            ..
        } = installed()?;
        // a proxy URL requests refuses: its exception, raised by the shim (`ValueError("proxy", class, text)`)
        let proxy = match proxy.as_deref().map(http::Proxy::parse) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err((class, text))) => {
                return Err(PyValueError::new_err(("proxy", class, text)));
            }
        };
        let parsed = parse_url_cached(url)
            .map_err(|e| PyValueError::new_err(format!("Invalid URL {url:?}: {e}")))?;
        let http_method =
            http::check::request_method(self.flavor, &method, &headers, header_fault.is_some())
                .map_err(PyValueError::new_err)?;
        let trace =
            recorder.open_trace(self.flavor, &method, name.as_deref(), &parsed, &mut headers);
        let name = name.unwrap_or_else(|| match self.flavor {
            Flavor::Requests => http::path_url(&parsed),
            Flavor::Fast => url_as_given.unwrap_or_else(|| url.to_string()),
        });
        let body = body.map(|b| Bytes::copy_from_slice(&b));
        let meta = CallMeta {
            flavor: self.flavor,
            // (the Request's own text, moved: it is the label as the caller wrote it)
            method_label: method,
            name,
            request_url: parsed.clone(),
            request_body: body.clone(),
            recorded: record,
            stream,
            pacing_ms: self.pacing_ms,
            trace,
        };
        let spec = RequestSpec {
            method: http_method,
            url: parsed,
            headers,
            header_fault,
            no_host,
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
            proxy,
            tls: (ca_bundle.is_some() || cert.is_some()).then(|| {
                std::sync::Arc::new(http::tls::TlsProfile {
                    verify,
                    ca_bundle: ca_bundle.filter(|_| verify),
                    cert,
                    key,
                    load_error: tls_error,
                })
            }),
            http2: self.http2,
            stream,
        };
        let queued = requests.queue(Job::new(&self.client, spec, meta));
        if queued.opens_batch {
            // Submit when the hub next runs its callbacks (before it polls), so every request the users send in
            // one pass of the loop goes to tokio together. Without the hook (no hub yet), submit at once.
            match FLUSH_HOOK.get() {
                Some(hook) => {
                    hook.call0(py)?;
                }
                None => {
                    requests.flush();
                }
            }
        }
        Ok(queued.ticket)
    }
}

/// The eventfd the hub watches.
#[pyfunction]
fn wake_fd() -> PyResult<i32> {
    Ok(core()?.bridge.fd())
}

/// Everything queued for the hub since the last call: its commands are returned (a `Spawn`/`Stop`/`Fire`/`Web`/
/// `WebRequest`/`Quit`/`DistMessage` each, in push order), and its finished calls, streamed pieces and waits that
/// are over are kept for the resume, which switches their users back in (see `bridge` for what is and is not ordered).
/// Hub thread only (`call`'s `wake`).
pub(super) fn drain(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let bridge = &core()?.bridge;
    let mut batch = call::BATCH.lock();
    let before = batch.completions.len();
    bridge.drain_into(&mut batch);
    crate::stats::in_flight::returned((batch.completions.len() - before) as u64);
    if let Some((waited, count)) = batch.waited.take() {
        crate::engine::record::hub_late(waited, count);
    }
    crate::engine::return_freed_memory();
    messages::commands_to_py(py, &mut batch.commands)
}

/// A ticket the hub's drain returns (with `None`) `seconds` from now: a user's wait (`TaskSet._sleep`), kept by
/// tokio instead of gevent's loop (`engine::timers`). `seconds` is finite and positive.
#[pyfunction]
fn sleep(seconds: f64) -> PyResult<u64> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "sleep needs a positive number of seconds",
        ));
    }
    Ok(installed()?.timers.sleep(seconds))
}

/// A user's wait ended `seconds` after it was due (`TaskSet.wait`): the generator's own lateness
/// (`stats::lateness`).
#[pyfunction]
fn note_wait_late(seconds: f64) {
    crate::engine::record::wait_late(seconds);
}

/// An open workload's user comes to the start of a task (`first`: its first): 0 when it starts at once, else the
/// ticket it waits on, idle, until an arrival wakes it (`runner::open`).
#[pyfunction]
fn open_acquire(first: bool) -> u64 {
    crate::runner::open::acquire(first)
}

/// The user woken on `ticket` for an arrival starts its iteration now (the scheduling error is measured here).
#[pyfunction]
fn open_begin(ticket: u64) {
    crate::runner::open::begin(ticket);
}

/// The fields of the arrival whose iteration started last on this thread (`--arrival-trace`: the row as JSON
/// text), `None` outside a replay (`runner::open::arrival_row`).
#[pyfunction]
fn open_arrival() -> Option<String> {
    crate::runner::open::arrival_row()
}

/// The user waiting on `ticket` for an arrival went away (stopped) before its iteration started.
#[pyfunction]
fn open_cancel(ticket: u64) {
    crate::runner::open::cancel(ticket);
}

/// A user of an open workload ended (`seen`: it had come to a task).
#[pyfunction]
fn open_leave(seen: bool) {
    crate::runner::open::leave(seen);
}

/// The user waiting on call `ticket` was killed: the call is not recorded (see `Bridge::abandon`).
#[pyfunction]
fn abandon(ticket: u64) -> PyResult<()> {
    core()?.bridge.abandon(ticket);
    Ok(())
}

/// A completion arrived for a call nobody waits for any more: forget that it was abandoned.
#[pyfunction]
fn forget(ticket: u64) -> PyResult<()> {
    core()?.bridge.take_abandoned(ticket);
    Ok(())
}

/// Acknowledge command `id` (`ok`: it was carried out; false only when a spawn failed). Every command is
/// acknowledged exactly once.
#[pyfunction]
#[pyo3(signature = (id, ok=true))]
fn ack(id: u64, ok: bool) -> PyResult<()> {
    core()?.bridge.ack(id, ok);
    Ok(())
}

/// The reply to the web request `id` (a `WebRequest` command): status, headers as (name, Latin-1 bytes), body.
/// Called before the request's `ack`; a reply nobody waits for any more is dropped.
#[pyfunction]
fn web_reply(id: u64, status: u16, headers: Vec<(String, Vec<u8>)>, body: Vec<u8>) -> PyResult<()> {
    core()?.bridge.web_reply(
        id,
        crate::bridge::WebReply {
            status,
            headers,
            body,
        },
    );
    Ok(())
}

/// Record one request (the built-in `request` listener, and catch_response verdicts). `pacing_ms`: the
/// fixed-rate interval of the user that made it, for the coordinated-omission correction.
#[pyfunction]
#[pyo3(signature = (request_type, name, response_time, response_length, error=None, pacing_ms=None))]
fn log_request(
    request_type: &str,
    name: &str,
    response_time: Option<f64>,
    response_length: Option<f64>,
    error: Option<&str>,
    pacing_ms: Option<f64>,
) -> PyResult<()> {
    let len = response_length.unwrap_or(0.0).max(0.0) as u64;
    installed()?
        .recorder
        .reported(request_type, name, response_time, len, error, pacing_ms);
    Ok(())
}

/// Record a value of a locustfile's own metric (`rlocust.metric`): a metric row, never a request. A negative or
/// non-finite value, an empty metric name or a metric's second unit raise `ValueError`.
#[pyfunction]
#[pyo3(signature = (metric, value, unit="", name=""))]
fn log_metric(metric: &str, value: f64, unit: &str, name: &str) -> PyResult<()> {
    installed()?
        .recorder
        .metric(metric, name, unit, value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Record a task exception (message, formatted traceback, node id) for the exceptions table.
#[pyfunction]
fn log_exception(msg: &str, traceback: &str, node: &str) -> PyResult<()> {
    core()?.stats.log_exception(msg, traceback, node);
    Ok(())
}

/// Keep one formatted Python log line for the web UI's `/logs` (the shim's log reader calls it).
#[pyfunction]
fn log_line(line: &str) {
    crate::log::remember(line);
    crate::otel::logs::emit_python_line(line);
}

/// A user of the class named `class_name` started (the runner's live counts).
#[pyfunction]
fn user_started(class_name: &str) -> PyResult<()> {
    runner()?.user_started(class_name);
    Ok(())
}

/// A user of the class named `class_name` ended.
#[pyfunction]
fn user_stopped(class_name: &str) -> PyResult<()> {
    runner()?.user_stopped(class_name);
    Ok(())
}

/// Whether the watchdog asked the Python thread to raise `KeyboardInterrupt` (set by `interp::interrupt`); read and
/// cleared by the shim's SIGINT handler through `take_interrupt`.
pub static INTERRUPT_REQUESTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether the watchdog asked for a KeyboardInterrupt (cleared by reading it).
#[pyfunction]
fn take_interrupt() -> bool {
    INTERRUPT_REQUESTED.swap(false, std::sync::atomic::Ordering::SeqCst)
}

/// A user ended with KeyboardInterrupt (the watchdog's interrupt made progress).
#[pyfunction]
fn user_interrupted() -> PyResult<()> {
    runner()?.user_interrupted();
    Ok(())
}

/// Users alive now.
#[pyfunction]
fn user_count() -> PyResult<u64> {
    Ok(runner()?.user_count())
}

/// Users alive now per class, as (class name, count) pairs.
#[pyfunction]
fn user_classes_count() -> PyResult<Vec<(String, u64)>> {
    Ok(runner()?.user_classes_count().into_iter().collect())
}

/// The runner's state: "ready", "spawning", "running", "cleanup", "stopping" or "stopped".
#[pyfunction]
fn runner_state() -> PyResult<&'static str> {
    Ok(runner()?.state().as_str())
}

/// The runner's own `spawning_complete` listener: the state becomes running, and with `--reset-stats` the
/// stats are reset (Locust logs "Resetting stats").
#[pyfunction]
fn runner_spawning_complete() -> PyResult<()> {
    let core = core()?;
    if runner()?.spawning_complete() {
        crate::log::info("locust.runners", "Resetting stats\n");
        core.stats.reset_all(crate::log::now());
    }
    Ok(())
}

/// A `stop()`/`quit()` in a user's own greenlet, step by step as Locust's `Runner.stop()` runs there:
/// `"begin"` (false when stopped already), `"cleanup"` (after test_stopping), `"stopped"` (users stopped).
#[pyfunction]
fn runner_user_stop(step: &str) -> PyResult<bool> {
    let runner = runner()?;
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

/// `runner.target_user_count`: set it when `value` is given; returns the current value.
#[pyfunction]
#[pyo3(signature = (value=None))]
fn runner_target_user_count(value: Option<u64>) -> PyResult<u64> {
    let runner = runner()?;
    if let Some(v) = value {
        runner.set_target_user_count(v);
    }
    Ok(runner.target_user_count())
}

/// `runner.target_user_classes_count`: set it when `value` is given; returns the current pairs.
#[pyfunction]
#[pyo3(signature = (value=None))]
fn runner_target_user_classes_count(
    value: Option<Vec<(String, u64)>>,
) -> PyResult<Vec<(String, u64)>> {
    let runner = runner()?;
    if let Some(v) = value {
        runner.set_target_user_classes_count(v.into_iter().collect());
    }
    Ok(runner.target_user_classes_count().into_iter().collect())
}

/// The users per class when the last stop began (`runner.final_user_classes_count`).
#[pyfunction]
fn runner_final_user_classes_count() -> PyResult<Vec<(String, u64)>> {
    Ok(runner()?.final_user_classes_count().into_iter().collect())
}

/// The LoadTestShape's phase: `"running"` when the shape greenlet starts, `"ended"` when it ends (`logged`:
/// "Shape test completed, shutting down" is out); returns (phase, logged).
#[pyfunction]
#[pyo3(signature = (phase=None, logged=false))]
fn runner_shape(phase: Option<&str>, logged: bool) -> PyResult<(&'static str, bool)> {
    use crate::runner::ShapePhase;
    let runner = runner()?;
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
        "interrupt" => {
            runner()?.end_because(crate::runner::EndCause::Sigint);
            Control::Interrupt { sigterm: false }
        }
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
    runner()?.send(c);
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

/// Response time at percentile `p` (0..1) of one entry (`"Aggregated"`, `""`: the total), in ms.
#[pyfunction]
fn stats_percentile(name: &str, method: &str, p: f64) -> PyResult<i64> {
    let snap = core()?.stats.snapshot();
    let (n, m) = entry_key(name, method);
    Ok(stats_view::percentile(&snap, n, m, p))
}

/// Like `stats_percentile` over the last 10 s window; None without data there.
#[pyfunction]
fn stats_current_percentile(name: &str, method: &str, p: f64) -> PyResult<Option<i64>> {
    let snap = core()?.stats.snapshot_with_windows();
    let (n, m) = entry_key(name, method);
    Ok(stats_view::current_percentile(&snap, n, m, p))
}

/// Record one failure row (without a request; `events.request` listeners record both).
#[pyfunction]
fn log_error(request_type: &str, name: &str, error: &str) -> PyResult<()> {
    installed()?.recorder.failure(request_type, name, error);
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

/// The (name, method) of every stats entry, in insertion order.
#[pyfunction]
fn stats_names() -> PyResult<Vec<(String, String)>> {
    let snap = core()?.stats.snapshot();
    Ok(snap
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.method.clone()))
        .collect())
}

/// Reset all statistics (`environment.stats.reset_all()`).
#[pyfunction]
fn stats_reset() -> PyResult<()> {
    core()?.stats.reset_all(crate::log::now());
    Ok(())
}

/// Locust's `RequestStats.clear_all()`: every row removed, the total and the failure rows reset.
#[pyfunction]
fn stats_clear() -> PyResult<()> {
    core()?.stats.clear_all(crate::log::now());
    Ok(())
}

mod stats_view;

/// Adds this module's classes and functions to `_rlocust` (the module itself, with the program's own entry points,
/// is defined by `doors`).
pub fn add_parts(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Session>()?;
    call::add_parts(m)?;
    aio_step::add_run(m)?;
    m.add_function(wrap_pyfunction!(aio_step::aio_set_for_step, m)?)?;
    m.add_function(wrap_pyfunction!(aio_step::aio_set_aside, m)?)?;
    m.add_function(wrap_pyfunction!(aio_step::aio_stepping, m)?)?;
    #[cfg(not(feature = "abi3"))]
    task_loop::add_parts(m)?;
    #[cfg(not(feature = "abi3"))]
    frame_stack::add_parts(m)?;
    m.add_class::<request::Request>()?;
    m.add_class::<Response>()?;
    messages::add_classes(m)?;
    llm::add_classes(m)?;
    distributed::add_functions(m)?;
    library::add_functions(m)?;
    m.add_function(wrap_pyfunction!(wake_fd, m)?)?;
    m.add_function(wrap_pyfunction!(note_wait_late, m)?)?;
    m.add_function(wrap_pyfunction!(sleep, m)?)?;
    m.add_function(wrap_pyfunction!(open_acquire, m)?)?;
    m.add_function(wrap_pyfunction!(open_begin, m)?)?;
    m.add_function(wrap_pyfunction!(open_arrival, m)?)?;
    m.add_function(wrap_pyfunction!(open_cancel, m)?)?;
    m.add_function(wrap_pyfunction!(open_leave, m)?)?;
    m.add_function(wrap_pyfunction!(abandon, m)?)?;
    m.add_function(wrap_pyfunction!(forget, m)?)?;
    m.add_function(wrap_pyfunction!(flush, m)?)?;
    m.add_function(wrap_pyfunction!(set_stats_settings, m)?)?;
    m.add_function(wrap_pyfunction!(set_flush_hook, m)?)?;
    m.add_function(wrap_pyfunction!(request::share_headers, m)?)?;
    m.add_function(wrap_pyfunction!(set_ssl_suffix, m)?)?;
    m.add_function(wrap_pyfunction!(ack, m)?)?;
    m.add_function(wrap_pyfunction!(web_reply, m)?)?;
    m.add_function(wrap_pyfunction!(log_request, m)?)?;
    m.add_function(wrap_pyfunction!(log_exception, m)?)?;
    m.add_function(wrap_pyfunction!(log_metric, m)?)?;
    m.add_function(wrap_pyfunction!(log_line, m)?)?;
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
    m.add_function(wrap_pyfunction!(stats_clear, m)?)?;
    Ok(())
}
