//! Prometheus scraping: the `/metrics` route of the web UI, and the `--metrics-port` listener that serves only
//! `/metrics` (headless runs, workers, or a second port beside the UI). The document is
//! `report::prometheus`'s; this file gathers what it needs (a snapshot, the runner's state and users, the
//! process's CPU and memory, a master's workers) and answers in the format the scraper asked for.
//!
//! Access: the listener binds `--metrics-host` (127.0.0.1 unless given) and asks for `--basic-auth` when it is
//! set, as the web UI does, with the UI's `Host` rule, throttle of failed logins and headers (`web::guard`); it runs
//! in `web::serve`'s accept loop, with the UI's connection cap and timeouts. It is read-only: nothing here can
//! start or change a run.
//!
//! Who calls it: `web::routes` (the UI's route) and `app::session` ([`start_listener`]). It must not block a
//! tokio worker (the snapshot is taken on the blocking pool) or touch Python.
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::distributed::node::Node;
use crate::log;
use crate::report::prometheus::{self, Exposition, Format};
use crate::runner::{Context, Shared};

/// What a scrape reads.
pub struct MetricsSource {
    pub shared: Arc<Shared>,
    /// The run context the scrape takes its readings from.
    pub run: Arc<Context>,
    /// This process's place in a distributed run (a master exports its workers).
    pub node: Option<Arc<Node>>,
    /// `le` bounds in ms (`--metrics-buckets`).
    pub buckets_ms: Vec<f64>,
    /// False on a worker: its rows travel to the master, which exports them.
    pub with_requests: bool,
    /// Unix time this process started.
    pub start_time: f64,
    /// `--basic-auth` for the `--metrics-port` listener (the UI's route uses the UI's own check).
    pub basic_auth: Option<String>,
    /// `--baseline`: the comparison's series.
    pub baseline: Option<Arc<crate::report::compare::Baseline>>,
    /// The capacity search (`--search`): its families while and after it runs.
    pub search: crate::judge::search::Handle,
}

impl MetricsSource {
    /// The document in `format`.
    pub fn render(&self, format: Format) -> String {
        let readings = self.run.readings();
        let snap = &readings.stats;
        let workers = super::api::master_workers(self.node.as_deref());
        let users_by_class: Vec<(String, u64)> = match &workers {
            // a master's users are its workers': sum what their heartbeats reported
            Some(ws) => {
                let mut sum: indexmap::IndexMap<String, u64> = indexmap::IndexMap::new();
                for w in ws.iter().filter(|w| w.state != "missing") {
                    for (class, n) in &w.user_classes_count {
                        *sum.entry(class.clone()).or_insert(0) += n;
                    }
                }
                sum.into_iter().collect()
            }
            None => self.shared.user_classes_count().into_iter().collect(),
        };
        let (cpu_percent, _) = self.shared.usage();
        let comparison = self
            .baseline
            .as_ref()
            .filter(|_| self.with_requests)
            .map(|b| b.latest(snap));
        let search = self.search.outcome();
        let x = Exposition {
            comparison: comparison.as_deref(),
            search: search.as_ref(),
            readings: &readings,
            state: self.shared.state().as_str(),
            users_by_class,
            user_count: self.shared.user_count(),
            target_user_count: self.shared.target_user_count(),
            cpu_percent,
            rss_bytes: crate::runner::monitor::rss_bytes(),
            process_cpu_seconds: crate::runner::monitor::process_cpu_seconds(),
            process_start_time: self.start_time,
            workers: workers.map(|w| {
                w.iter()
                    .map(|w| prometheus::WorkerRow {
                        id: w.id.clone(),
                        state: w.state,
                        user_count: w.user_count,
                        cpu_usage: w.cpu_usage,
                        memory_usage: w.memory_usage,
                    })
                    .collect()
            }),
            buckets_ms: &self.buckets_ms,
            with_requests: self.with_requests,
        };
        prometheus::render(&x, format)
    }
}

/// The `/metrics` response for these request headers (the snapshot is taken off the load's workers).
pub async fn respond_metrics(source: Arc<MetricsSource>, headers: &HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    match tokio::task::spawn_blocking(move || source.render(format)).await {
        Ok(body) => {
            let mut r = Response::new(Body::from(body));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            r
        }
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The listener's state: what a scrape reads and the `Host` names it answers.
struct Listener {
    source: Arc<MetricsSource>,
    hosts: super::guard::AllowedHosts,
}

/// Every request of the listener: the web UI's `Host` rule and basic auth with its throttle, then the route; every
/// answer gets the UI's headers (no CORS).
async fn serve(AxState(listener): AxState<Arc<Listener>>, req: Request) -> Response {
    let mut response = route(&listener, req).await;
    super::guard::finish(
        &mut response,
        &HeaderMap::new(),
        &super::guard::Cors::default(),
        false,
    );
    response
}

/// The 401 of `--metrics-port` under `--basic-auth`.
fn unauthorized() -> Response {
    let mut r = plain(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: this endpoint needs a user name and password (HTTP basic authentication).\n",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"rlocust\", charset=\"UTF-8\""),
    );
    r
}

async fn route(listener: &Listener, req: Request) -> Response {
    let source = listener.source.clone();
    let peer = super::serve::peer_of(&req).ip();
    if let Some(name) = super::guard::refused_name(&listener.hosts, req.headers(), req.uri()) {
        return super::guard::refuse(&listener.hosts, &name, peer, "The metrics endpoint");
    }
    if let Some(expected) = source.basic_auth.as_deref()
        && let Some(r) = super::guard::basic_auth(
            expected,
            req.headers(),
            peer,
            "basic auth, --metrics-port",
            unauthorized,
        )
    {
        return r;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match req.uri().path() {
        "/metrics" => respond_metrics(source, req.headers()).await,
        "/" => plain(
            StatusCode::OK,
            "rlocust: Prometheus metrics are at /metrics\n",
        ),
        _ => plain(StatusCode::NOT_FOUND, "Not Found\n"),
    }
}

/// Bind `host:port` and serve `/metrics` on `rt`, answering the host names of the web UI's rule and
/// `allowed_hosts` (`--web-allowed-hosts`). Returns the bound address, or one line saying why not.
pub fn start_listener(
    rt: &tokio::runtime::Handle,
    source: Arc<MetricsSource>,
    host: &str,
    port: u16,
    allowed_hosts: Option<&str>,
) -> Result<std::net::SocketAddr, String> {
    let hosts = super::guard::AllowedHosts::new(host, allowed_hosts)?;
    let bind_host = match host {
        "" | "*" => "0.0.0.0",
        h => h,
    };
    let listener = std::net::TcpListener::bind((bind_host, port))
        .map_err(|e| format!("rlocust: cannot serve --metrics-port on {bind_host}:{port}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("rlocust: cannot serve --metrics-port: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("rlocust: cannot serve --metrics-port: {e}"))?;
    let _guard = rt.enter();
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| format!("rlocust: cannot serve --metrics-port: {e}"))?;
    let app = Router::new()
        .fallback(serve)
        .with_state(Arc::new(Listener { source, hosts }));
    rt.spawn(super::serve::serve(listener, None, app, "metrics endpoint"));
    log::info(
        "locust.main",
        &format!("Prometheus metrics at http://{addr}/metrics"),
    );
    Ok(addr)
}
