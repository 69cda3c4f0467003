//! Routing of the web API under `--web-base-path`, with Flask's answers at the edges (404 and 405 pages,
//! `Allow`, the 308 from `<base>` to `<base>/`), the `Host` allow-list and the headers of every answer
//! (`web::guard`), HTTP basic auth when configured (failed logins throttled), `--web-login`'s check before each
//! route it serves (`web::login`), and the refusal (403) of cross-site POSTs from browsers (`Origin` /
//! `Sec-Fetch-Site`).
//!
//! Who calls it: `web::start` builds the router. Handlers read `WebState`, send `runner::Control`s and, for the
//! few actions that change Python state, a `bridge::Command::Web` whose acknowledgement they await with a time
//! limit. They never block a worker thread and never take the GIL.
//!
//! To add a route: one `.route` line in [`router`] and a named handler beside its kind here; what it reads comes
//! from `WebState` (its readings through the state's run, never a static), and a new JSON shape goes to
//! `report::ui_json` when the HTML report shows it too.
use super::WebState;
use super::api;
use super::form::{Form, MISSING_COUNTS, Refused, Swarm};
use super::page;
use crate::bridge::Command;
use crate::log;
use crate::pyfmt::json::{J, pretty};
use crate::report::csv;
use crate::report::ui_json;
use crate::runner::{Control, State};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{MethodRouter, any};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `/stats/requests` is computed at most once per `timeout` for all callers (Locust's memoize, 2 s, doubled
/// for good when computing took longer).
pub struct Memo {
    at: Option<Instant>,
    body: String,
    /// How many names the document's snapshot had (it sends at most `ui_json::MAX_ROWS`).
    names: usize,
    timeout: Duration,
}

impl Default for Memo {
    fn default() -> Memo {
        Memo {
            at: None,
            body: String::new(),
            names: 0,
            timeout: Duration::from_secs(2),
        }
    }
}

/// How long a handler waits for the hub to carry out a `Web` action.
const HUB_WAIT: Duration = Duration::from_secs(5);

/// Largest request body read.
const MAX_BODY: usize = 1 << 20;

const NOT_FOUND_HTML: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";
const NOT_ALLOWED_HTML: &str = "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n";
const HTML: &str = "text/html; charset=utf-8";

fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn json(status: StatusCode, v: &J) -> Response {
    respond(status, "application/json", pretty(v))
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"{location}\">{location}</a>. If not, click the link.\n"
    );
    let mut r = respond(status, HTML, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The server's routes under `--web-base-path`, each a named handler. The API routes go through [`api`] (Flask's
/// method handling, the cross-site refusal, `--web-login`'s gate); `/login` and the assets answer GET and HEAD
/// themselves; `<base>` redirects to `<base>/`; every other path goes to [`not_found`]. The `Host` check, basic
/// auth and the headers of every answer wrap them all ([`edge`]).
///
/// To add an API route: write `async fn name(st: Arc<WebState>, req: Request) -> Response`, add
/// `.route(&at("/path"), api(GET, name))` (or `POST`) below, and a test in tests/web that compares it with
/// Locust's (docs/web.md).
pub fn router(state: Arc<WebState>) -> Router {
    let base = state.config.base_path.clone();
    // the base path is the user's text: braces escaped, and `:`/`*` segments are literal (axum's 0.7 checks off)
    let literal = |p: &str| p.replace('{', "{{").replace('}', "}}");
    let at = |p: &str| format!("{}{p}", literal(&base));
    let mut r = Router::new().without_v07_checks();
    // (a base path that does not start with `/` matches no request: everything is not found)
    if base.is_empty() || base.starts_with('/') {
        r = r
            .route(&at("/"), api(GET, index))
            .route(&at("/swarm"), api(POST, swarm))
            .route(&at("/stop"), api(POST, stop))
            .route(&at("/stats/reset"), api(POST, reset))
            .route(&at("/stats/requests"), api(GET, stats_requests))
            .route(&at("/stats/requests/csv"), api(GET, requests_csv))
            .route(
                &at("/stats/requests_full_history/csv"),
                api(GET, full_history_csv),
            )
            .route(&at("/stats/failures/csv"), api(GET, failures_csv))
            .route(&at("/stats/report"), api(GET, stats_report))
            .route(&at("/exceptions"), api(GET, exceptions))
            .route(&at("/exceptions/csv"), api(GET, exceptions_csv))
            .route(&at("/tasks"), api(GET, tasks))
            .route(&at("/logs"), api(GET, logs))
            .route(&at("/worker-count"), api(GET, worker_count))
            .route(&at("/user"), api(POST, user))
            .route(&at("/metrics"), api(GET, metrics))
            // rlocust's own: how late the generator was (the dashboard's "Generator lag"; not in Locust's API)
            .route(&at("/rlocust/generator"), api(GET, generator))
            // rlocust's version (the dashboard's About)
            .route(&at("/rlocust/version"), api(GET, version))
            // rlocust's open workload (issue 31): the run's arrival-rate plan and its accounting (not in Locust's API)
            .route(&at("/rlocust/arrivals"), api(GET, arrivals_route))
            // the metric rows (issue 40: a stream's ttft, itl, ...; a locustfile's own), for the Metrics tab
            .route(&at("/rlocust/metrics"), api(GET, metrics_route))
            // the run compared with its --baseline (issue 42), for the statistics tab's delta column
            .route(&at("/rlocust/baseline"), api(GET, baseline_route))
            // the capacity search (issue 52): its probes as they are judged, and its result (null without one)
            .route(&at("/search"), api(GET, search_route))
            .route(&at("/login"), any(login));
        for asset in page::ASSETS {
            r = r.route(&at(asset), any(serve_asset));
        }
        if !base.is_empty() {
            r = r.route(&literal(&base), any(to_base_slash));
        }
    }
    r.fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

/// Around every answer: the `Host` allow-list first (`guard::AllowedHosts`, whatever the authentication: a
/// refused name gets 403 and one log line the first time), then basic auth with its throttle of failed logins
/// (`guard::Throttle`), then the route; every answer gets `guard::finish`'s headers.
async fn edge(AxState(st): AxState<Arc<WebState>>, req: Request, next: Next) -> Response {
    let cors = &st.config.cors;
    // what `finish` reads of the request (only CORS needs any of it)
    let mut asked = HeaderMap::new();
    if cors.enabled() {
        for name in [
            header::ORIGIN,
            header::ACCESS_CONTROL_REQUEST_METHOD,
            header::ACCESS_CONTROL_REQUEST_HEADERS,
        ] {
            if let Some(v) = req.headers().get(&name) {
                asked.insert(name, v.clone());
            }
        }
    }
    let peer = super::serve::peer_of(&req).ip();
    let allowed = &st.config.allowed_hosts;
    let refusal = match super::guard::refused_name(allowed, req.headers(), req.uri()) {
        Some(name) => Some(super::guard::refuse(allowed, &name, peer, "The web UI")),
        None => st.config.basic_auth.as_deref().and_then(|expected| {
            super::guard::basic_auth(expected, req.headers(), peer, "basic auth", unauthorized)
        }),
    };
    let mut response = match refusal {
        Some(r) => r,
        None => next.run(req).await,
    };
    super::guard::finish(&mut response, &asked, cors, st.config.tls.is_some());
    response
}

fn unauthorized() -> Response {
    let mut r = respond(
        StatusCode::UNAUTHORIZED,
        "text/plain; charset=utf-8",
        "Unauthorized: this web UI needs a user name and password (HTTP basic authentication).\n",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"rlocust\", charset=\"UTF-8\""),
    );
    r
}

/// The path of a request under the base path (the whole path when there is none).
fn under_base<'a>(st: &WebState, req: &'a Request) -> &'a str {
    let full = req.uri().path();
    full.strip_prefix(st.config.base_path.as_str())
        .unwrap_or(full)
}

/// `<base>` without its slash: Flask's 308 to `<base>/` (the query kept), for every method.
async fn to_base_slash(AxState(st): AxState<Arc<WebState>>, req: Request) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    redirect(
        StatusCode::PERMANENT_REDIRECT,
        &format!(
            "{}://{host}{}/{query}",
            st.config.scheme(),
            st.config.base_path
        ),
    )
}

/// `GET <base>/login`: the locustfile's login page with `--web-login`, else a redirect to the dashboard.
async fn login(AxState(st): AxState<Arc<WebState>>, req: Request) -> Response {
    let m = req.method();
    if st.config.web_login && (m == Method::GET || m == Method::HEAD) {
        let probe = super::login::probe(&st, &req, "login");
        super::login::page(&st, probe).await
    } else if m == Method::GET || m == Method::HEAD {
        redirect(StatusCode::FOUND, &format!("{}/", st.config.base_path))
    } else {
        not_allowed("GET, HEAD, OPTIONS")
    }
}

/// `GET <base>/assets/…`: the dashboard's script and styles (no login needed, as Locust's).
async fn serve_asset(AxState(st): AxState<Arc<WebState>>, req: Request) -> Response {
    let m = req.method();
    if m == Method::GET || m == Method::HEAD {
        page::serve_asset(under_base(&st, &req), req.headers())
            .unwrap_or_else(|| respond(StatusCode::NOT_FOUND, HTML, NOT_FOUND_HTML))
    } else {
        not_allowed("GET, HEAD, OPTIONS")
    }
}

/// Whether an API route answers GET (with HEAD) or POST.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
}
use Verb::{Get as GET, Post as POST};

/// An API route: OPTIONS answers with `Allow`, another method than the route's is Flask's 405; a browser's
/// cross-site POST is refused (403); with `--web-login` the locustfile's check runs first (and what it sets,
/// cookies say, goes onto the answer); then `handler`.
fn api<F, Fut>(verb: Verb, handler: F) -> MethodRouter<Arc<WebState>>
where
    F: Fn(Arc<WebState>, Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    any(move |AxState(st): AxState<Arc<WebState>>, req: Request| {
        let handler = handler.clone();
        async move { guarded(verb, handler, st, req).await }
    })
}

async fn guarded<F, Fut>(verb: Verb, handler: F, st: Arc<WebState>, req: Request) -> Response
where
    F: Fn(Arc<WebState>, Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let allow = match verb {
        POST => "OPTIONS, POST",
        GET => "GET, HEAD, OPTIONS",
    };
    let method = req.method().clone();
    if method == Method::OPTIONS {
        let mut r = respond(StatusCode::OK, HTML, "");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        return r;
    }
    let allowed = match verb {
        POST => method == Method::POST,
        GET => method == Method::GET || method == Method::HEAD,
    };
    if !allowed {
        return not_allowed(allow);
    }
    if verb == POST && cross_site(req.headers()) {
        log::log(
            log::Level::Warning,
            "locust.web",
            &format!(
                "Refused a cross-site POST {} (Origin/Sec-Fetch-Site)",
                under_base(&st, &req)
            ),
        );
        return respond(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            "Forbidden: cross-site requests may not control this test.\n",
        );
    }
    // --web-login: Locust's login_required, asked of the locustfile's app (web::login)
    let passed = if st.config.web_login {
        let probe = super::login::probe(&st, &req, "auth");
        match super::login::gate(&st, probe).await {
            Ok(passed) => Some(passed),
            Err(answer) => return answer,
        }
    } else {
        None
    };
    let mut response = handler(st, req).await;
    if let Some(passed) = passed {
        passed.apply(&mut response);
    }
    response
}

/// `GET /`: the dashboard.
async fn index(st: Arc<WebState>, _req: Request) -> Response {
    respond(StatusCode::OK, HTML, page::index_html(&st))
}

/// `GET /stats/requests`, computed off the load's workers (a snapshot of many entries takes milliseconds).
async fn stats_requests(st: Arc<WebState>, _req: Request) -> Response {
    tokio::task::spawn_blocking(move || stats_requests_doc(&st))
        .await
        .unwrap_or_else(|_| respond(StatusCode::INTERNAL_SERVER_ERROR, HTML, "internal error"))
}

/// `GET /stats/requests/csv`.
async fn requests_csv(st: Arc<WebState>, _req: Request) -> Response {
    let snap = st.run.stats.snapshot();
    csv_download(&st, csv::stats_csv(&snap), "requests")
}

/// `GET /stats/failures/csv`.
async fn failures_csv(st: Arc<WebState>, _req: Request) -> Response {
    let snap = st.run.stats.snapshot();
    csv_download(&st, csv::failures_csv(&snap), "failures")
}

/// `GET /exceptions/csv`.
async fn exceptions_csv(st: Arc<WebState>, _req: Request) -> Response {
    let snap = st.run.stats.snapshot();
    csv_download(&st, csv::exceptions_csv(&snap), "exceptions")
}

/// `GET /stats/requests_full_history/csv`.
async fn full_history_csv(st: Arc<WebState>, _req: Request) -> Response {
    full_history(&st)
}

/// `GET /stats/report`, built off the load's workers.
async fn stats_report(st: Arc<WebState>, req: Request) -> Response {
    let args = page::query_args(req.uri().query());
    tokio::task::spawn_blocking(move || report_page(&st, &args))
        .await
        .unwrap_or_else(|_| respond(StatusCode::INTERNAL_SERVER_ERROR, HTML, "internal error"))
}

/// `GET /exceptions`.
async fn exceptions(st: Arc<WebState>, _req: Request) -> Response {
    json(
        StatusCode::OK,
        &ui_json::exceptions(&st.run.stats.snapshot()),
    )
}

/// `GET /tasks`: the task ratios of the users alive.
async fn tasks(st: Arc<WebState>, _req: Request) -> Response {
    let alive: BTreeMap<String, u64> = st.shared.user_classes_count().into_iter().collect();
    json(
        StatusCode::OK,
        &ui_json::tasks(&st.info.running_trees(), &alive),
    )
}

/// `GET /logs`.
async fn logs(st: Arc<WebState>, _req: Request) -> Response {
    json(
        StatusCode::OK,
        &api::logs(log::recent_lines(), st.node.as_deref()),
    )
}

/// `GET /worker-count`.
async fn worker_count(st: Arc<WebState>, _req: Request) -> Response {
    json(
        StatusCode::OK,
        &J::obj([(
            "worker_count",
            J::Int(api::worker_count(st.node.as_deref())),
        )]),
    )
}

/// `GET /metrics`: the Prometheus exposition, unless the locustfile's own Flask `/metrics` route wins (as it
/// would under Locust).
async fn metrics(st: Arc<WebState>, req: Request) -> Response {
    if st.info.python_metrics {
        return not_found(&st, req).await;
    }
    super::metrics::respond_metrics(st.metrics.clone(), req.headers()).await
}

/// `GET /rlocust/generator`.
async fn generator(st: Arc<WebState>, _req: Request) -> Response {
    json(
        StatusCode::OK,
        &crate::report::summary::generator(&st.run.readings().lateness),
    )
}

/// `GET /rlocust/baseline`: the comparison with `--baseline` as it stands (`report::compare::render::json`), 404
/// when the run has none.
async fn baseline_route(st: Arc<WebState>, req: Request) -> Response {
    let comparison = st
        .report
        .context
        .as_ref()
        .and_then(|c| c.comparison(&st.run.stats.snapshot()));
    match comparison {
        Some(c) => json(StatusCode::OK, &c),
        None => not_found(&st, req).await,
    }
}

/// A capacity search asked for by the start form (its `search` field: the mode): checked by the command line's rules
/// and started (`Ok(Some(message))`), or refused with one line. `Ok(None)`: the form asks for no search; a previous
/// search's outcome is then forgotten, unless one still runs (a test cannot start beside it: refused).
fn start_search(
    st: &WebState,
    field: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let Some(search) = &st.search else {
        return Ok(None);
    };
    let spec = crate::judge::search::options::spec_from_form(
        &search.options,
        field,
        st.info.shape.as_deref(),
        None,
    )?;
    let Some((spec, initial_users)) = spec else {
        if !search.handle.clear() {
            return Err(
                "A capacity search is running: stop it before starting another test".into(),
            );
        }
        return Ok(None);
    };
    if search.handle.running() {
        return Err("A capacity search is running already: stop it first".into());
    }
    if !matches!(st.shared.state(), State::Ready | State::Stopped) {
        return Err("A test is running: stop it before starting a capacity search".into());
    }
    let message = format!(
        "Capacity search started ({} from {} under {})",
        spec.mode.as_str(),
        spec.start,
        spec.slo_text
    );
    let drive = crate::judge::search::driver::Drive {
        spec,
        initial_users,
        workers_cpu: None,
        quit_at_end: false,
    };
    crate::judge::search::driver::spawn(
        &tokio::runtime::Handle::current(),
        drive,
        st.shared.clone(),
        st.run.clone(),
        search.handle.clone(),
        async {},
    );
    log::info("locust.web", &message);
    Ok(Some(message))
}

/// `GET /search`: the capacity search so far or its result (`report::search::json`), `null` when the run
/// searches nothing.
async fn search_route(st: Arc<WebState>, _req: Request) -> Response {
    let search = st.report.context.as_ref().and_then(|c| c.search());
    json(
        StatusCode::OK,
        &search.map_or(J::Null, |o| crate::report::search::json(&o)),
    )
}

/// `GET /rlocust/version`.
async fn version(_st: Arc<WebState>, _req: Request) -> Response {
    json(
        StatusCode::OK,
        &J::obj([
            ("locust", J::str(crate::version::LOCUST_VERSION)),
            ("rlocust", J::str(crate::version::VERSION)),
        ]),
    )
}

/// Every path no route takes.
async fn fallback(AxState(st): AxState<Arc<WebState>>, req: Request) -> Response {
    not_found(&st, req).await
}

/// A path this server does not serve: the locustfile's Flask routes when it created `web_ui.app` (Locust serves
/// them at the root, outside the base path), after the cross-site check for methods that may change state;
/// else Flask's 404 page, without Python.
async fn not_found(st: &Arc<WebState>, req: Request) -> Response {
    if !st.python_routes {
        return respond(StatusCode::NOT_FOUND, HTML, NOT_FOUND_HTML);
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && cross_site(req.headers()) {
        log::log(
            log::Level::Warning,
            "locust.web",
            &format!(
                "Refused a cross-site {} {} (Origin/Sec-Fetch-Site)",
                req.method(),
                req.uri().path()
            ),
        );
        return respond(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            "Forbidden: cross-site requests may not control this test.\n",
        );
    }
    // --web-login: the locustfile's login form posts to one of its routes, which answers a wrong password with a
    // redirect back to the login page (Locust's documented pattern): counted per address, and a throttled
    // address's POSTs are refused before they reach Python
    let login_post = st.config.web_login && req.method() == Method::POST;
    let peer = super::serve::peer_of(&req).ip();
    if login_post && let Some(wait) = super::guard::throttle().wait(peer) {
        return super::guard::too_many(wait);
    }
    let response = super::python_routes::forward(st, req).await;
    if login_post && back_to_login(st, &response) {
        super::guard::throttle().failed(peer, "--web-login");
    }
    response
}

/// Whether an answer redirects to the login page (`<base>/login`, whatever its query).
fn back_to_login(st: &WebState, response: &Response) -> bool {
    if !response.status().is_redirection() {
        return false;
    }
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    // a relative reference, or an absolute URL whose path is taken
    let path = match location.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => location,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path == format!("{}/login", st.config.base_path)
}

fn not_allowed(allow: &'static str) -> Response {
    let mut r = respond(StatusCode::METHOD_NOT_ALLOWED, HTML, NOT_ALLOWED_HTML);
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// A browser's cross-site request: `Sec-Fetch-Site` other than `same-origin`/`none`, or an `Origin` whose host
/// is not the `Host` the request was sent to. Scripts (curl, requests) send neither header and pass.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// `GET /stats/report` (`?download=1` as an attachment, `?theme=dark`): the HTML report of the test so far.
fn report_page(st: &WebState, args: &BTreeMap<String, String>) -> Response {
    let download = args.get("download").is_some_and(|d| !d.is_empty());
    let theme = args.get("theme").map(String::as_str).unwrap_or("");
    let page = st.report.render(!download, theme);
    let mut r = respond(StatusCode::OK, HTML, page);
    if download {
        let name = format!("attachment;filename={}", download_name(st, ".html"));
        if let Ok(v) = HeaderValue::from_str(&name) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    r
}

/// Carry out a Python action on the hub; `None` when the hub did not answer in time.
async fn on_hub(st: &WebState, action: &str, payload: String) -> Option<bool> {
    let rx = st.bridge.command(Command::Web {
        action: action.to_string(),
        payload,
    });
    match tokio::time::timeout(HUB_WAIT, rx).await {
        Ok(Ok(ok)) => Some(ok),
        _ => {
            log::log(
                log::Level::Warning,
                "locust.web",
                &format!("The Python thread did not carry out the web action {action} in time"),
            );
            None
        }
    }
}

fn swarm_reply(
    st: &WebState,
    success: bool,
    message: &str,
    run_time: Option<u64>,
    picked: Option<&[String]>,
) -> Response {
    let host = st.info.host.lock().clone();
    let mut fields = vec![
        ("host", host.map_or(J::Null, J::Str)),
        ("message", J::str(message)),
        ("success", J::Bool(success)),
    ];
    if let Some(t) = run_time {
        fields.push(("run_time", J::Int(t as i64)));
    }
    if let Some(names) = picked {
        let mut names = names.to_vec();
        names.sort();
        fields.push((
            "user_classes",
            J::Arr(names.into_iter().map(J::Str).collect()),
        ));
    }
    json(StatusCode::OK, &J::obj(fields))
}

fn cancel_run_timer(st: &WebState) {
    if let Some(timer) = st.run_timer.lock().take() {
        timer.abort();
    }
}

/// The request's `Content-Type` and body (at most [`MAX_BODY`], read within [`super::serve::BODY_READ_TIMEOUT`]; empty when
/// larger or slower).
async fn read_body(req: Request) -> (String, Vec<u8>) {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match tokio::time::timeout(
        super::serve::BODY_READ_TIMEOUT,
        axum::body::to_bytes(req.into_body(), MAX_BODY),
    )
    .await
    {
        Ok(Ok(b)) => b.to_vec(),
        _ => Vec::new(),
    };
    (content_type, body)
}

/// `POST /swarm` (reference §1.3.1): always 200 (but for a multipart body it cannot read: 400 or 413); a new
/// start, or an edit of the running test.
async fn swarm(st: Arc<WebState>, req: Request) -> Response {
    let st = &st;
    let (content_type, body) = read_body(req).await;
    let form = match Form::parse(&content_type, &body) {
        Ok(form) => form,
        Err(Refused::BadBoundary) => {
            return respond(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "Bad Request: a multipart/form-data body needs a boundary of 1 to 70 characters (RFC 2046).\n",
            );
        }
        Err(Refused::TooManyParts) => {
            return respond(
                StatusCode::PAYLOAD_TOO_LARGE,
                "text/plain; charset=utf-8",
                format!(
                    "Payload Too Large: a form may have at most {} parts.\n",
                    super::form::MAX_PARTS
                ),
            );
        }
    };
    let picked = if st.class_picker {
        match pick_classes(st, &form) {
            Ok(picked) => picked,
            Err(message) => return swarm_reply(st, false, message, None, None),
        }
    } else {
        None
    };
    let walked = Swarm::walk(&form);
    if !walked.applied.is_empty() || picked.is_some() {
        let payload = serde_json::json!({
            "items": walked.applied.clone(),
            "lists": form.lists.clone(),
            "picked": picked.clone(),
        });
        on_hub(st, "swarm", payload.to_string()).await;
    }
    if let Some(host) = &walked.host {
        *st.info.host.lock() = Some(host.clone());
    }
    remember_form(st, &walked);
    if let Some(message) = &walked.error {
        log::log(log::Level::Error, "locust.web", message);
        return swarm_reply(st, false, message, None, None);
    }
    let field = |k: &str| {
        form.lists
            .get(k)
            .and_then(|v| v.first())
            .map(String::as_str)
    };
    let owned = |k: &str| form.lists.get(k).and_then(|v| v.first()).cloned();
    match start_search(st, &owned) {
        Ok(None) => {}
        Ok(Some(message)) => {
            let run_time = walked.run_time.filter(|t| *t > 0);
            cancel_run_timer(st);
            start_run_timer(st, run_time);
            return swarm_reply(st, true, &message, run_time, None);
        }
        Err(message) => {
            log::log(log::Level::Error, "locust.web", &message);
            return swarm_reply(st, false, &message, None, None);
        }
    }
    let open_plan = match crate::runner::open::config::plan_from_form(
        field("arrival_rate"),
        field("arrival_stages"),
        field("arrival_max_users"),
        field("arrival_initial_users"),
    ) {
        Ok(Some(plan)) => Some(plan),
        // a form without a user count starts the command line's (or the ArrivalRateShape's) arrival rate
        Ok(None) if walked.user_count.is_none() => st.run.default_plan(),
        Ok(None) => None,
        Err(message) => {
            log::log(log::Level::Error, "locust.web", &message);
            return swarm_reply(st, false, &message, None, None);
        }
    };
    if let Some(plan) = open_plan {
        if let Some(shape) = &st.info.shape {
            let message = format!(
                "An arrival rate cannot run with the LoadTestShape {shape}, which sets numbers of users"
            );
            log::log(log::Level::Error, "locust.web", &message);
            return swarm_reply(st, false, &message, None, None);
        }
        cancel_run_timer(st);
        st.shared.send(Control::StartOpen(plan));
        let run_time = walked.run_time.filter(|t| *t > 0);
        start_run_timer(st, run_time);
        return swarm_reply(
            st,
            true,
            "Swarming started at an arrival rate",
            run_time,
            None,
        );
    }
    if let Some(shape) = shape_to_start(st, &form) {
        // Locust: a LoadTestShape runs the test (the counts of the form do not matter); a second start while it
        // runs is refused on the hub with a log line, and answered the same
        let payload = if st.class_picker {
            serde_json::json!({ "shape": shape })
        } else {
            serde_json::json!({})
        };
        on_hub(st, "start_shape", payload.to_string()).await;
        return swarm_reply(
            st,
            true,
            &format!("Swarming started using shape class '{shape}'"),
            None,
            None,
        );
    }
    cancel_run_timer(st);
    let Some((users, spawn_rate)) = walked.counts() else {
        log::log(log::Level::Error, "locust.web", MISSING_COUNTS);
        return swarm_reply(st, false, MISSING_COUNTS, None, None);
    };
    let picked_names = picked.clone();
    st.shared.send(Control::Start {
        users,
        spawn_rate,
        classes: picked,
    });
    let run_time = walked.run_time.filter(|t| *t > 0);
    start_run_timer(st, run_time);
    swarm_reply(
        st,
        true,
        "Swarming started",
        run_time,
        picked_names.as_deref(),
    )
}

/// The form's `run_time`: the test stops after it.
fn start_run_timer(st: &WebState, run_time: Option<u64>) {
    if let Some(secs) = run_time {
        let shared = st.shared.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            shared.send(Control::Stop);
        });
        *st.run_timer.lock() = Some(timer.abort_handle());
    }
}

/// `GET /rlocust/metrics`: `{"metrics": [row, ...], "history": ...}`, each row as the summary JSON has it, and the
/// metrics' history over the whole run for the charts (`report::metrics`).
async fn metrics_route(st: Arc<WebState>, _req: Request) -> Response {
    let snap = st.run.stats.snapshot();
    json(
        StatusCode::OK,
        &J::obj([
            ("metrics", crate::report::metrics::json(&snap)),
            (
                "history",
                crate::report::metrics::json_history(&st.run.stats.metric_history()),
            ),
        ]),
    )
}

async fn arrivals_route(st: Arc<WebState>, _req: Request) -> Response {
    json(StatusCode::OK, &arrivals(&st.run, &st.run.readings().open))
}

/// `GET /rlocust/arrivals`: the run's arrival-rate plan (the start form's defaults; null without one), the
/// open workload's accounting with its history (null when none ran), and whether arrivals are still being scheduled
/// (`running`: false once the workload stopped, so the accounting is the run's final one; the dashboard labels its
/// rates by this, not by the state `/stats/requests` gives, which is memoized and read at another moment).
fn arrivals(run: &crate::runner::Context, s: &crate::runner::open::Snapshot) -> J {
    let running = run.arrivals_scheduled();
    J::obj([
        ("running", J::Bool(running)),
        (
            "plan",
            run.default_plan().map_or(J::Null, |p| {
                let (rate, stages) = p.schedule.texts();
                J::obj([
                    ("arrival_rate", J::str(&rate)),
                    ("arrival_stages", J::str(&stages)),
                    ("max_users", J::Int(p.max_users as i64)),
                    ("initial_users", J::Int(p.initial_users as i64)),
                ])
            }),
        ),
        (
            "arrivals",
            if s.active {
                crate::report::arrivals::json(s, true)
            } else {
                J::Null
            },
        ),
    ])
}

/// `--class-picker`: the user classes a `/swarm` form picks (`user_classes`, in the locustfile's order); none
/// picked keeps the running test's classes, or starts a new test with every class (Locust's rules).
fn pick_classes(st: &WebState, form: &Form) -> Result<Option<Vec<String>>, &'static str> {
    let available: Vec<String> = st.info.classes.iter().map(|c| c.name.clone()).collect();
    if available.is_empty() {
        return Err("UserClass picker is active but there are no available UserClasses");
    }
    let wanted = form.lists.get("user_classes").cloned().unwrap_or_default();
    let picked: Vec<String> = available
        .iter()
        .filter(|n| wanted.contains(n))
        .cloned()
        .collect();
    let mut running = st.info.running_classes.lock();
    let chosen = match (picked.is_empty(), st.shared.state()) {
        (false, _) => picked,
        (true, State::Running) => running.clone(),
        (true, _) => available,
    };
    *running = chosen.clone();
    Ok(Some(chosen))
}

/// The LoadTestShape a `/swarm` starts: the locustfile's, or with `--class-picker` the form's `shape_class`
/// (`Default`, or none given: no shape).
fn shape_to_start(st: &WebState, form: &Form) -> Option<String> {
    if st.class_picker {
        let chosen = form.lists.get("shape_class").and_then(|v| v.first())?;
        return st.info.shape_classes.iter().find(|s| *s == chosen).cloned();
    }
    st.info.shape.clone()
}

/// What the report and the dashboard need from a `/swarm` form: the profile (as the hub sets it) and the
/// counts behind `--html`'s placeholders (Locust stores them in `parsed_options`).
fn remember_form(st: &WebState, walked: &Swarm) {
    for (key, value) in &walked.applied {
        if key == "profile" {
            *st.info.profile.lock() = Some(value.clone()).filter(|p| !p.is_empty());
        }
    }
    let mut form = st.info.form.lock();
    if let Some(u) = walked.user_count {
        form.users = Some(u as f64);
    }
    if let Some(r) = walked.spawn_rate {
        form.spawn_rate = Some(r);
    }
    if let Some(t) = walked.run_time.filter(|t| *t > 0) {
        form.run_time = Some(t as f64);
    }
}

/// `POST /stop`: cancels the run-time timer and stops the users; answers once they have stopped (Locust's
/// `runner.stop()` runs in the request), or after the stop timeout and a margin.
async fn stop(st: Arc<WebState>, _req: Request) -> Response {
    let st = &*st;
    cancel_run_timer(st);
    st.shared.send(Control::Stop);
    let limit = Duration::from_secs_f64(st.stop_timeout.min(3600.0)) + Duration::from_secs(10);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    while st.shared.state() != State::Stopped && t0.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    json(
        StatusCode::OK,
        &J::obj([
            ("message", J::str("Test stopped")),
            ("success", J::Bool(true)),
        ]),
    )
}

/// `POST /stats/reset`: the `reset_stats` event on the hub, then every entry zeroed, the failures and
/// exceptions cleared. The `/stats/requests` memo is kept, as in Locust.
async fn reset(st: Arc<WebState>, _req: Request) -> Response {
    let st = &*st;
    on_hub(st, "reset_stats", "{}".into()).await;
    st.run.stats.reset_all(log::now());
    st.run.stats.clear_exceptions();
    respond(StatusCode::OK, HTML, "ok")
}

fn stats_requests_doc(st: &WebState) -> Response {
    let mut memo = st.memo.lock();
    let fresh = memo.at.is_some_and(|at| at.elapsed() <= memo.timeout);
    if !fresh {
        let t0 = Instant::now();
        let snap = st.run.stats.snapshot();
        let doc = api::stats_requests(
            &snap,
            st.shared.state().as_str(),
            st.shared.user_count(),
            st.node.as_deref(),
        );
        memo.names = snap.entries.len();
        memo.body = pretty(&doc);
        memo.at = Some(Instant::now());
        if t0.elapsed() > memo.timeout {
            memo.timeout *= 2;
        }
    }
    let mut r = respond(StatusCode::OK, "application/json", memo.body.clone());
    // rlocust's: how many names there are (the document holds at most ui_json::MAX_ROWS; the dashboard says so)
    r.headers_mut()
        .insert("x-rlocust-names", HeaderValue::from(memo.names));
    r
}

/// `Locust_<YYYY-MM-DD-HHhMM local time of the stats start>_<locustfile>[_<host>]<suffix>`: Locust's names of the
/// downloads (`_requests.csv`, …, `.html`).
fn download_name(st: &WebState, suffix: &str) -> String {
    let start = st
        .run
        .stats
        .total_at(crate::stats::unix_now())
        .totals
        .start_time;
    let host = st
        .info
        .host
        .lock()
        .clone()
        .filter(|h| !h.is_empty())
        .map(|h| format!("_{h}"))
        .unwrap_or_default();
    format!(
        "Locust_{}_{}{host}{suffix}",
        safe_timestamp(start),
        st.info.locustfile
    )
}

fn csv_file_name(st: &WebState, kind: &str) -> String {
    download_name(st, &format!("_{kind}.csv"))
}

/// Python's `datetime.fromtimestamp(int(t)).strftime("%Y-%m-%d-%Hh%M")` (local time).
fn safe_timestamp(t: f64) -> String {
    let tm = crate::sys::localtime(t.trunc() as i64);
    format!(
        "{:04}-{:02}-{:02}-{:02}h{:02}",
        tm.year, tm.month, tm.day, tm.hour, tm.minute
    )
}

fn csv_download(st: &WebState, body: String, kind: &str) -> Response {
    let mut r = respond(StatusCode::OK, "text/csv", body);
    let disposition = format!("attachment;filename={}", csv_file_name(st, kind));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn full_history(st: &WebState) -> Response {
    let Some(path) = &st.history_csv else {
        return respond(
            StatusCode::NOT_FOUND,
            HTML,
            "Error: Server was not started with option to generate full history.",
        );
    };
    let body = std::fs::read(path).unwrap_or_default();
    let mut r = respond(StatusCode::OK, "text/csv; charset=utf-8", body);
    let disposition = format!(
        "attachment; filename={}",
        csv_file_name(st, "requests_full_history")
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, max-age=0"),
    );
    r
}

/// `POST /user`: class attributes from a JSON object (Locust's `update_user_class`), 201 `{}`.
async fn user(st: Arc<WebState>, req: Request) -> Response {
    let st = &*st;
    let (_, body) = read_body(req).await;
    let Ok(serde_json::Value::Object(settings)) =
        serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return respond(
            StatusCode::BAD_REQUEST,
            HTML,
            "400 Bad Request: the body must be a JSON object",
        );
    };
    let class = settings
        .get("user_class_name")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    match on_hub(
        st,
        "user",
        serde_json::Value::Object(settings.clone()).to_string(),
    )
    .await
    {
        Some(true) => {
            {
                let mut edits = st.info.class_edits.lock();
                let edit = edits.entry(class.clone()).or_default();
                for key in ["host", "weight", "fixed_count", "tasks"] {
                    if let Some(v) = settings.get(key) {
                        edit.insert(key.to_string(), crate::report::html::from_serde(v));
                    }
                }
            }
            if let Some(serde_json::Value::Array(names)) = settings.get("tasks") {
                let names: Vec<&str> = names.iter().filter_map(|n| n.as_str()).collect();
                filter_tasks(st, &class, &names);
            }
            let weight = settings.get("weight").and_then(|w| w.as_f64());
            let fixed_count = settings.get("fixed_count").and_then(|n| n.as_u64());
            if weight.is_some() || fixed_count.is_some() {
                st.shared.send(Control::UserClass {
                    class,
                    weight,
                    fixed_count,
                });
            }
            json(StatusCode::CREATED, &J::obj::<&str>([]))
        }
        Some(false) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            HTML,
            crate::pyfmt::py_str_repr(&class),
        ),
        None => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            HTML,
            "The Python thread did not answer in time",
        ),
    }
}

/// `/user` with `tasks`: the class keeps the tasks of its original list whose names are given.
fn filter_tasks(st: &WebState, class: &str, names: &[&str]) {
    let Some(original) = st.info.task_trees.get(class) else {
        return;
    };
    let kept: BTreeMap<String, ui_json::TaskNode> = original
        .iter()
        .filter(|(name, _)| names.contains(&name.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let len: u64 = kept.values().map(|n| n.n).sum();
    let kept = kept
        .into_iter()
        .map(|(k, mut v)| {
            v.len = len;
            (k, v)
        })
        .collect();
    st.info.current_trees.lock().insert(class.to_string(), kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_posts_are_recognised() {
        assert!(!cross_site(&headers(&[])));
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:8089")])));
        assert!(!cross_site(&headers(&[
            ("host", "127.0.0.1:8089"),
            ("origin", "http://127.0.0.1:8089"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(cross_site(&headers(&[
            ("host", "127.0.0.1:8089"),
            ("origin", "http://evil.example")
        ])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(cross_site(&headers(&[
            ("host", "127.0.0.1:8089"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn local_timestamp_format() {
        let s = safe_timestamp(1_795_332_666.5);
        assert_eq!(s.len(), "2026-11-22-07h31".len(), "{s}");
        assert_eq!(&s[..8], "2026-11-");
        assert_eq!(&s[13..14], "h");
    }
}
