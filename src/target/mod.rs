//! A small loopback HTTP server ("target") for demos and for the differential tests.
//!
//! It offers just enough endpoints for realistic locustfiles: plain text and JSON pages, chosen status
//! codes, delays, an echo of the request, a cookie login, redirects, basic auth, multipart upload, a gzip
//! body, cookies and an in-memory todo CRUD (the FastAPI exercise); OpenAI-style streaming inference endpoints on
//! a token schedule (`llm`); servers of known capacity, a fixed number of slots held for a fixed service time
//! (`capacity`, and `llm` with `--llm-slots`). It binds 127.0.0.1 only.
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use serde_json::{Value, json};

pub mod capacity;
pub mod llm;

const MAX_TODOS: usize = 10_000;

#[derive(Default)]
struct AppState {
    next_id: AtomicU64,
    sessions: Mutex<HashMap<String, String>>,
    todos: Mutex<BTreeMap<u64, Value>>,
}
type Shared = Arc<AppState>;

/// All routes of the target.
pub fn router() -> Router {
    Router::new()
        .route("/", any(|| async { "Hello!" }))
        .route("/hello", any(|| async { "Hello!" }))
        .route("/world", any(|| async { "World!" }))
        .route(
            "/blog",
            get(|uri: Uri| async move { format!("blog {}", uri.query().unwrap_or("")) }),
        )
        .route(
            "/article",
            get(|uri: Uri| async move { format!("article {}", uri.query().unwrap_or("")) }),
        )
        .route(
            "/items/{id}",
            any(|Path(id): Path<String>| async move {
                json_resp(
                    StatusCode::OK,
                    json!({"id": id, "name": format!("item-{id}"), "price": 10}),
                )
            }),
        )
        .route(
            "/json",
            any(|| async {
                json_resp(
                    StatusCode::OK,
                    json!({"greeting": "hello", "items": [1, 2, 3], "nested": {"ok": true}}),
                )
            }),
        )
        .route("/status/{code}", any(status))
        .route("/delay/{ms}", any(delay))
        .route(
            "/bytes/{n}",
            get(|Path(n): Path<usize>| async move { "x".repeat(n.min(10_000_000)) }),
        )
        .route(
            "/echo",
            any(|m: Method, u: Uri, h: HeaderMap, b: Bytes| async move {
                json_resp(StatusCode::OK, describe(&m, &u, &h, &b))
            }),
        )
        .route(
            "/headers",
            any(|h: HeaderMap| async move {
                json_resp(StatusCode::OK, json!({"headers": headers_obj(&h)}))
            }),
        )
        .route(
            "/cookies",
            any(|h: HeaderMap| async move {
                json_resp(StatusCode::OK, json!({"cookies": pairs_obj(cookies(&h))}))
            }),
        )
        .route("/set-cookie", any(set_cookie))
        .route("/login", post(login))
        .route("/logout", any(logout))
        .route("/me", any(me))
        .route("/api/auth/sign-in", post(login))
        .route("/api/auth/sign-out", post(logout))
        .route("/redirect", any(redirect_to))
        .route("/redirect/{n}", any(redirect_n))
        .route("/basic-auth/{user}/{pass}", any(basic_auth))
        .route("/digest-auth/{qop}/{user}/{pass}", any(digest_auth))
        .route(
            "/digest-auth/{qop}/{user}/{pass}/{algorithm}",
            any(digest_auth_with),
        )
        .route("/links", any(links))
        .route("/stream/{n}", any(stream_lines))
        .route("/deflate", any(deflate))
        .route("/brotli", any(brotli))
        .route("/encoding/{name}", any(encoding))
        .route("/upload", post(upload))
        .route("/v1/chat/completions", post(llm::chat))
        .route("/v1/completions", post(llm::completions))
        .route("/v1/_stamps", get(llm::stamps))
        .route("/v1/models", get(llm::models))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/capacity", any(capacity::default_pool))
        .route("/capacity/{slots}/{service_ms}", any(capacity::named))
        .route("/gzip", any(gzip))
        .route("/todos", get(list_todos).post(create_todo))
        .route("/todos/", get(list_todos).post(create_todo))
        .route(
            "/todos/{id}",
            get(get_todo)
                .put(update_todo)
                .patch(update_todo)
                .delete(delete_todo),
        )
        .route(
            "/_served",
            get(|| async {
                json_resp(
                    StatusCode::OK,
                    json!({"requests": SERVED.load(std::sync::atomic::Ordering::Relaxed)}),
                )
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn(read_whole_body))
        .with_state(Shared::default())
}

/// Requests served since start, `/_served` itself not counted (tests compare a load test's counts with it).
static SERVED: AtomicU64 = AtomicU64::new(0);

/// Reads every request body before routing. A handler that ignores the body would make hyper close the
/// keep-alive connection after responding, and clients that reuse it then fail at random with
/// "Remote end closed connection without response".
async fn read_whole_body(mut req: Request, next: Next) -> Response {
    // (the inference endpoints time their tokens from here: the request's head has just been read)
    req.extensions_mut()
        .insert(llm::Arrived(std::time::Instant::now()));
    if req.uri().path() != "/_served" {
        SERVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, 64 << 20).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    }
}

/// Serves the target on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router()).await
}

/// `rlocust-target --help`.
pub const USAGE: &str = "\
Usage: rlocust-target [--port N] [--max-seconds N] [--llm-ttft-ms MS] [--llm-itl-ms MS] [--llm-tokens N]
                      [--llm-slots N] [--capacity-slots N] [--capacity-service-ms MS] [--h2c]

The loopback HTTP server of rlocust's demo and tests. It listens on 127.0.0.1 only, prints
\"rlocust-target listening on http://127.0.0.1:PORT\" and serves until SIGINT or SIGTERM.

Options:
  --port N         port to listen on (0, the default: a free port chosen by the system)
  --max-seconds N  stop by itself after N seconds (fractions allowed)
  --llm-ttft-ms MS, --llm-itl-ms MS, --llm-tokens N
                   the inference endpoints' token schedule: the first token MS after the request (50), then
                   one every MS (10), N tokens (16); a request's ?ttft_ms=&itl_ms=&tokens= override them
  --llm-slots N    the inference endpoints serve N requests at once (0, the default: no limit); the others
                   wait for a slot in arrival order (their first token waits too), and each holds its slot from
                   when it got it until its last token: true capacity N / (ttft + (tokens - 1) x itl)
  --capacity-slots N, --capacity-service-ms MS
                   the pool of /capacity: N slots (8), each request holding one for MS (25); true capacity
                   N / MS x 1000 per second (320/s); /capacity/{slots}/{service_ms} names any other pool
  --h2c            speak HTTP/2 by prior knowledge (h2c) only, as `rlocust --http2` does on plain http:// URLs
                   (the same endpoints; for HTTP/2 streams timed at the wire)
  -h, --help       show this help and exit

Endpoints: / /hello /world /json /items/{id} /status/{code} /delay/{ms} /bytes/{n} /echo
/headers /cookies /set-cookie /login /logout /me /redirect /redirect/{n} /basic-auth/{user}/{pass}
/upload /gzip /todos /todos/{id} /capacity /capacity/{slots}/{service_ms}; POST /v1/chat/completions and /v1/completions (OpenAI-style, streamed
with \"stream\": true); /v1/_stamps the server's own TTFT and ITL of what it streamed; /_served counts the
requests served so far
";

/// What the command line of `rlocust-target` asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Help,
    Serve {
        port: u16,
        max_seconds: Option<f64>,
        llm: llm::Schedule,
        capacity: capacity::Defaults,
        /// `--h2c`: HTTP/2 by prior knowledge only.
        h2c: bool,
    },
}

/// Parse `rlocust-target`'s arguments (without the program name). The error is the line to print (exit 2).
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut port: u16 = 0;
    let mut max_seconds = None;
    let mut llm = llm::Schedule::default();
    let mut capacity = capacity::Defaults::default();
    let mut h2c = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-h" || a == "--help" {
            return Ok(Command::Help);
        }
        if a == "--h2c" {
            h2c = true;
            continue;
        }
        let value = it.next().map(|v| v.parse::<f64>());
        match (a.as_str(), value) {
            ("--port", Some(Ok(p))) if (0.0..65536.0).contains(&p) && p.fract() == 0.0 => {
                port = p as u16
            }
            ("--max-seconds", Some(Ok(s))) if s >= 0.0 && s.is_finite() => max_seconds = Some(s),
            ("--llm-ttft-ms", Some(Ok(v))) if v >= 0.0 && v.is_finite() => llm.ttft_ms = v,
            ("--llm-itl-ms", Some(Ok(v))) if v >= 0.0 && v.is_finite() => llm.itl_ms = v,
            ("--llm-tokens", Some(Ok(v))) if v >= 1.0 && v.fract() == 0.0 && v <= 100_000.0 => {
                llm.tokens = v as u64
            }
            ("--llm-slots", Some(Ok(v)))
                if v >= 0.0 && v.fract() == 0.0 && v <= capacity::MAX_SLOTS as f64 =>
            {
                llm.slots = v as u64
            }
            ("--capacity-slots", Some(Ok(v)))
                if v >= 1.0 && v.fract() == 0.0 && v <= capacity::MAX_SLOTS as f64 =>
            {
                capacity.slots = v as u64
            }
            ("--capacity-service-ms", Some(Ok(v)))
                if (0.001..=capacity::MAX_SERVICE_MS).contains(&v) =>
            {
                capacity.service_ms = v
            }
            _ => {
                return Err(format!(
                    "rlocust-target: bad argument: {a} (usage: rlocust-target [--port N] [--max-seconds N]; --help for more)"
                ));
            }
        }
    }
    Ok(Command::Serve {
        port,
        max_seconds,
        llm,
        capacity,
        h2c,
    })
}

/// The `rlocust-target` program: returns its exit code.
pub fn main(args: &[String]) -> i32 {
    match parse_args(args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            0
        }
        Ok(Command::Serve {
            port,
            max_seconds,
            llm,
            capacity,
            h2c,
        }) => {
            llm::set_defaults(llm);
            capacity::set_defaults(capacity);
            H2C.store(h2c, std::sync::atomic::Ordering::Relaxed);
            run_blocking_for(&format!("127.0.0.1:{port}"), max_seconds)
        }
        Err(line) => {
            eprintln!("{line}");
            2
        }
    }
}

/// Binds `addr` (e.g. `127.0.0.1:0`), prints the listening line and serves until SIGINT/SIGTERM.
pub fn run_blocking(addr: &str) -> i32 {
    run_blocking_for(addr, None)
}

/// Like [`run_blocking`], but also stops by itself after `max_seconds` when given. Returns the exit code.
pub fn run_blocking_for(addr: &str, max_seconds: Option<f64>) -> i32 {
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .and_then(|rt| rt.block_on(run(addr, max_seconds)));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rlocust-target: {addr}: {e}");
            1
        }
    }
}

async fn run(addr: &str, max_seconds: Option<f64>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "rlocust-target listening on http://{}",
        listener.local_addr()?
    );
    std::io::stdout().flush()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = rx.await;
    };
    if H2C.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::spawn(serve_h2c(listener));
        wait_for_stop(max_seconds).await;
        return Ok(());
    }
    let server = tokio::spawn(async move {
        axum::serve(listener, router())
            .with_graceful_shutdown(shutdown)
            .await
    });
    wait_for_stop(max_seconds).await;
    let _ = tx.send(());
    // Idle keep-alive connections must not hold the process: give in-flight requests 2 s.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    Ok(())
}

/// `--h2c`: every connection speaks HTTP/2 by prior knowledge (the client's preface first), on the same router.
static H2C: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Serves `listener` in HTTP/2 by prior knowledge only, until the process ends (its connections with it).
async fn serve_h2c(listener: tokio::net::TcpListener) {
    let service = hyper_util::service::TowerToHyperService::new(router());
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn wait_for_stop(max_seconds: Option<f64>) {
    let limit = async {
        match max_seconds {
            Some(s) if s.is_finite() && s >= 0.0 => {
                tokio::time::sleep(Duration::from_secs_f64(s)).await
            }
            _ => std::future::pending::<()>().await,
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = limit => {}
    }
}

// ---------- helpers ----------

fn json_resp(code: StatusCode, v: Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn hdr<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=x+y` -> pairs (form-urlencoded rules).
fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

fn pairs_obj(pairs: Vec<(String, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

fn headers_obj(h: &HeaderMap) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in h {
        m.insert(
            k.as_str().to_string(),
            Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        );
    }
    Value::Object(m)
}

fn cookies(h: &HeaderMap) -> Vec<(String, String)> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(';')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    let (k, v) = c.split_once('=').unwrap_or((c, ""));
                    (k.to_string(), v.to_string())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn describe(m: &Method, u: &Uri, h: &HeaderMap, body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body).into_owned();
    let form = if hdr(h, "content-type").starts_with("application/x-www-form-urlencoded") {
        pairs_obj(parse_pairs(&text))
    } else {
        json!({})
    };
    json!({
        "method": m.as_str(), "path": u.path(), "query": pairs_obj(parse_pairs(u.query().unwrap_or(""))),
        "headers": headers_obj(h), "body": text, "form": form,
        "json": serde_json::from_slice::<Value>(body).unwrap_or(Value::Null), "cookies": pairs_obj(cookies(h)),
    })
}

/// username/password from a JSON body or a form body (`id` is accepted as a username too).
fn credentials(body: &[u8]) -> (Option<String>, String) {
    let get = |v: &Value, k: &str| {
        v.get(k).and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| (!x.is_null()).then(|| x.to_string()))
        })
    };
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return (
            get(&v, "username").or_else(|| get(&v, "id")),
            get(&v, "password").unwrap_or_default(),
        );
    }
    let pairs: HashMap<_, _> = parse_pairs(&String::from_utf8_lossy(body))
        .into_iter()
        .collect();
    (
        pairs.get("username").or_else(|| pairs.get("id")).cloned(),
        pairs.get("password").cloned().unwrap_or_default(),
    )
}

fn session_user(st: &AppState, h: &HeaderMap) -> Option<String> {
    let sessions = st.sessions.lock().unwrap();
    let bearer = hdr(h, "authorization")
        .strip_prefix("Bearer ")
        .map(str::to_string);
    cookies(h)
        .into_iter()
        .filter(|(k, _)| k == "session")
        .map(|(_, v)| v)
        .chain(bearer)
        .find_map(|t| sessions.get(&t).cloned())
}

// ---------- handlers ----------

async fn status(Path(code): Path<u16>) -> Response {
    let Ok(sc) = StatusCode::from_u16(code) else {
        return (StatusCode::BAD_REQUEST, "bad status code").into_response();
    };
    if code < 200 {
        return (StatusCode::BAD_REQUEST, "1xx is not supported").into_response();
    }
    let mut resp = if code == 204 || code == 304 {
        sc.into_response()
    } else {
        (
            sc,
            format!("{} {}", code, sc.canonical_reason().unwrap_or("")),
        )
            .into_response()
    };
    if matches!(code, 301 | 302 | 303 | 307 | 308) {
        resp.headers_mut()
            .insert(header::LOCATION, "/hello".parse().unwrap());
    }
    resp
}

async fn delay(Path(ms): Path<u64>) -> Response {
    let ms = ms.min(30_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    json_resp(StatusCode::OK, json!({"delay_ms": ms}))
}

async fn set_cookie(uri: Uri) -> Response {
    let pairs = parse_pairs(uri.query().unwrap_or(""));
    let mut resp = json_resp(StatusCode::OK, json!({"set": pairs_obj(pairs.clone())}));
    for (k, v) in pairs {
        if let Ok(hv) = format!("{k}={v}; Path=/").parse() {
            resp.headers_mut().append(header::SET_COOKIE, hv);
        }
    }
    resp
}

async fn login(State(st): State<Shared>, body: Bytes) -> Response {
    let (user, pass) = credentials(&body);
    let Some(user) = user.filter(|u| !u.is_empty()) else {
        return json_resp(
            StatusCode::BAD_REQUEST,
            json!({"error": "username required"}),
        );
    };
    if pass == "bad" {
        return json_resp(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid credentials"}),
        );
    }
    let token = format!("s{}", st.next_id.fetch_add(1, Ordering::Relaxed) + 1);
    st.sessions
        .lock()
        .unwrap()
        .insert(token.clone(), user.clone());
    let mut resp = json_resp(StatusCode::OK, json!({"user": user, "token": token}));
    resp.headers_mut().insert(
        header::SET_COOKIE,
        format!("session={token}; Path=/").parse().unwrap(),
    );
    resp
}

async fn logout(State(st): State<Shared>, h: HeaderMap) -> Response {
    let mut sessions = st.sessions.lock().unwrap();
    for (_, t) in cookies(&h).into_iter().filter(|(k, _)| k == "session") {
        sessions.remove(&t);
    }
    let mut resp = json_resp(StatusCode::OK, json!({"logged_out": true}));
    resp.headers_mut().insert(
        header::SET_COOKIE,
        "session=; Max-Age=0; Path=/".parse().unwrap(),
    );
    resp
}

async fn me(State(st): State<Shared>, h: HeaderMap) -> Response {
    match session_user(&st, &h) {
        Some(user) => json_resp(StatusCode::OK, json!({"user": user})),
        None => json_resp(StatusCode::UNAUTHORIZED, json!({"error": "not logged in"})),
    }
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())], "").into_response()
}

async fn redirect_to(uri: Uri) -> Response {
    let to = parse_pairs(uri.query().unwrap_or(""))
        .into_iter()
        .find(|(k, _)| k == "to")
        .map(|(_, v)| v)
        .unwrap_or_else(|| "/".into());
    if !to.starts_with('/') || to.starts_with("//") {
        return (StatusCode::BAD_REQUEST, "only local redirects").into_response();
    }
    redirect(&to)
}

async fn redirect_n(Path(n): Path<u32>) -> Response {
    if n <= 1 {
        redirect("/hello")
    } else {
        redirect(&format!("/redirect/{}", n.min(50) - 1))
    }
}

async fn basic_auth(Path((user, pass)): Path<(String, String)>, h: HeaderMap) -> Response {
    let given = hdr(&h, "authorization")
        .strip_prefix("Basic ")
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    if given.as_deref() == Some(&format!("{user}:{pass}")) {
        json_resp(StatusCode::OK, json!({"authenticated": true, "user": user}))
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"target\"")],
            "Unauthorized",
        )
            .into_response()
    }
}

/// The `key="value"` / `key=value` parameters of a Digest `Authorization` header.
fn digest_params(header: &str) -> Option<HashMap<String, String>> {
    let rest = header.strip_prefix("Digest ")?;
    let mut out = HashMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        out.insert(key, value.trim().to_owned());
        s = tail.trim_start_matches([',', ' ']);
    }
    Some(out)
}

fn digest_hex(algorithm: &str, text: &str) -> String {
    use sha2::Digest as _;
    if algorithm.eq_ignore_ascii_case("SHA-256") {
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    } else {
        hex::encode(md5::Md5::digest(text.as_bytes()))
    }
}

async fn digest_auth(
    Path((qop, user, pass)): Path<(String, String, String)>,
    m: Method,
    h: HeaderMap,
) -> Response {
    digest_check(&qop, &user, &pass, "MD5", &m, &h)
}

async fn digest_auth_with(
    Path((qop, user, pass, algorithm)): Path<(String, String, String, String)>,
    m: Method,
    h: HeaderMap,
) -> Response {
    digest_check(&qop, &user, &pass, &algorithm, &m, &h)
}

/// HTTP Digest authentication (RFC 7616, as httpbin's `/digest-auth`): a 401 with a fresh challenge, or 200 when the
/// `Authorization` header answers one with the right password. Nonces are not remembered: any nonce is taken.
fn digest_check(
    qop: &str,
    user: &str,
    pass: &str,
    algorithm: &str,
    m: &Method,
    h: &HeaderMap,
) -> Response {
    const REALM: &str = "rlocust-target";
    if let Some(p) = digest_params(hdr(h, "authorization")) {
        let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
        let ha1 = digest_hex(algorithm, &format!("{}:{REALM}:{pass}", get("username")));
        let ha2 = digest_hex(algorithm, &format!("{}:{}", m.as_str(), get("uri")));
        let expected = if get("qop").is_empty() {
            digest_hex(algorithm, &format!("{ha1}:{}:{ha2}", get("nonce")))
        } else {
            digest_hex(
                algorithm,
                &format!(
                    "{ha1}:{}:{}:{}:{}:{ha2}",
                    get("nonce"),
                    get("nc"),
                    get("cnonce"),
                    get("qop")
                ),
            )
        };
        if get("username") == user && get("response") == expected {
            return json_resp(StatusCode::OK, json!({"authenticated": true, "user": user}));
        }
    }
    let nonce = hex::encode(uuid_bytes());
    let qop_part = if qop == "auth" || qop == "auth-int" {
        format!(", qop=\"{qop}\"")
    } else {
        String::new()
    };
    let challenge = format!(
        "Digest realm=\"{REALM}\", nonce=\"{nonce}\", opaque=\"{}\", algorithm={algorithm}{qop_part}",
        hex::encode(&uuid_bytes()[..8])
    );
    let mut resp = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    if let Ok(v) = challenge.parse() {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    // the challenge sets a cookie, as httpbin does: the retried request must carry it
    resp.headers_mut().insert(
        header::SET_COOKIE,
        "fake=fake_value; Path=/".parse().unwrap(),
    );
    resp
}

/// 16 bytes that differ per call (nonces).
fn uuid_bytes() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&t.to_be_bytes());
    out[8..].copy_from_slice(&n.to_be_bytes());
    out
}

/// A `Link` header with two relations (requests' `Response.links`).
async fn links() -> Response {
    (
        StatusCode::OK,
        [(
            header::LINK,
            "</items/2>; rel=\"next\", </items/9>; rel=\"last\"; title=\"end\"",
        )],
        "links",
    )
        .into_response()
}

/// `n` JSON lines (at most 1,000), sent in chunks of one line each.
async fn stream_lines(Path(n): Path<usize>) -> Response {
    let lines: Vec<Result<Bytes, std::io::Error>> = (0..n.min(1000))
        .map(|i| {
            Ok(Bytes::from(format!(
                "{}\n",
                json!({"id": i, "line": format!("line {i}")})
            )))
        })
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(futures_util::stream::iter(lines)),
    )
        .into_response()
}

async fn deflate() -> Response {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(
        json!({"deflated": true, "greeting": "hello"})
            .to_string()
            .as_bytes(),
    );
    let body = enc.finish().unwrap_or_default();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_ENCODING, "deflate"),
        ],
        body,
    )
        .into_response()
}

/// `{"brotli":true,"greeting":"hello"}`, brotli-compressed (made once with the brotli reference encoder).
const BROTLI_BODY: [u8; 38] = [
    139, 16, 128, 123, 34, 98, 114, 111, 116, 108, 105, 34, 58, 116, 114, 117, 101, 44, 34, 103,
    114, 101, 101, 116, 105, 110, 103, 34, 58, 34, 104, 101, 108, 108, 111, 34, 125, 3,
];

async fn brotli() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_ENCODING, "br"),
        ],
        BROTLI_BODY.as_slice(),
    )
        .into_response()
}

/// A text body in one encoding, with no charset in its Content-Type (requests then guesses:
/// `Response.apparent_encoding`): `ascii`, `utf8`, `latin1` (French text with accents), or `utf8-charset` (the same
/// UTF-8 text, its charset declared).
async fn encoding(Path(name): Path<String>) -> Response {
    let text = "Les élèves ont déjà mangé la crème brûlée à côté du château, où l'été était très agréable.";
    let (ctype, body): (&str, Vec<u8>) = match name.as_str() {
        "ascii" => ("text/plain", b"plain ascii text".to_vec()),
        "utf8" => ("text/plain", text.as_bytes().to_vec()),
        "utf8-charset" => ("text/plain; charset=utf-8", text.as_bytes().to_vec()),
        "latin1" => ("text/plain", text.chars().map(|c| c as u32 as u8).collect()),
        "html" => ("text/html", b"<html><body>page</body></html>".to_vec()),
        "json" => ("application/json", "{\"caf\u{e9}\": 1}".as_bytes().to_vec()),
        _ => return not_found(),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, ctype)], body).into_response()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parts of a multipart/form-data body: (field name, file name, content).
#[allow(clippy::type_complexity)]
fn multipart(ctype: &str, body: &[u8]) -> Option<Vec<(String, Option<String>, usize, String)>> {
    let boundary = ctype
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}").into_bytes();
    let mut rest = &body[find(body, &delim)? + delim.len()..];
    let mut parts = Vec::new();
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, &delim)?;
        let part = &rest[..end];
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let split = find(part, b"\r\n\r\n")?;
        let heads = String::from_utf8_lossy(&part[..split]).into_owned();
        let content = &part[split + 4..];
        let param = |key: &str| {
            heads
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
                .and_then(|l| {
                    l.split(';').find_map(|p| {
                        p.trim()
                            .strip_prefix(key)
                            .map(|v| v.trim_matches('"').to_string())
                    })
                })
        };
        parts.push((
            param("name=").unwrap_or_default(),
            param("filename="),
            content.len(),
            String::from_utf8_lossy(content).into_owned(),
        ));
        rest = &rest[end + delim.len()..];
    }
    Some(parts)
}

async fn upload(h: HeaderMap, body: Bytes) -> Response {
    let Some(parts) = multipart(hdr(&h, "content-type"), &body) else {
        return json_resp(
            StatusCode::BAD_REQUEST,
            json!({"error": "expected multipart/form-data"}),
        );
    };
    let files: Vec<Value> = parts
        .iter()
        .filter(|p| p.1.is_some())
        .map(|p| json!({"field": p.0, "filename": p.1, "size": p.2}))
        .collect();
    let fields: serde_json::Map<String, Value> = parts
        .into_iter()
        .filter(|p| p.1.is_none())
        .map(|p| (p.0, Value::String(p.3)))
        .collect();
    json_resp(StatusCode::OK, json!({"files": files, "fields": fields}))
}

async fn gzip() -> Response {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(
        json!({"gzipped": true, "greeting": "hello"})
            .to_string()
            .as_bytes(),
    );
    let body = enc.finish().unwrap_or_default();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_ENCODING, "gzip"),
        ],
        body,
    )
        .into_response()
}

// ---------- todos ----------

fn not_found() -> Response {
    json_resp(StatusCode::NOT_FOUND, json!({"detail": "Todo not found"}))
}

async fn list_todos(State(st): State<Shared>, uri: Uri) -> Response {
    let q: HashMap<_, _> = parse_pairs(uri.query().unwrap_or("")).into_iter().collect();
    let skip = q.get("skip").and_then(|v| v.parse().ok()).unwrap_or(0usize);
    let limit = q
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100usize);
    let todos = st.todos.lock().unwrap();
    json_resp(
        StatusCode::OK,
        Value::Array(todos.values().skip(skip).take(limit).cloned().collect()),
    )
}

async fn create_todo(State(st): State<Shared>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return json_resp(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": "invalid JSON body"}),
        );
    };
    let Some(title) = v.get("title").and_then(Value::as_str) else {
        return json_resp(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": "title is required"}),
        );
    };
    let id = st.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let todo = json!({"id": id, "title": title, "description": v.get("description").cloned().unwrap_or(Value::Null),
        "completed": v.get("completed").and_then(Value::as_bool).unwrap_or(false)});
    let mut todos = st.todos.lock().unwrap();
    todos.insert(id, todo.clone());
    while todos.len() > MAX_TODOS {
        todos.pop_first();
    }
    json_resp(StatusCode::CREATED, todo)
}

async fn get_todo(State(st): State<Shared>, Path(id): Path<u64>) -> Response {
    st.todos
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .map_or_else(not_found, |t| json_resp(StatusCode::OK, t))
}

async fn update_todo(State(st): State<Shared>, Path(id): Path<u64>, body: Bytes) -> Response {
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return json_resp(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": "expected a JSON object"}),
        );
    };
    let mut todos = st.todos.lock().unwrap();
    let Some(Value::Object(todo)) = todos.get_mut(&id) else {
        return not_found();
    };
    for (k, v) in changes.into_iter().filter(|(k, _)| k != "id") {
        todo.insert(k, v);
    }
    json_resp(StatusCode::OK, Value::Object(todo.clone()))
}

async fn delete_todo(State(st): State<Shared>, Path(id): Path<u64>) -> Response {
    match st.todos.lock().unwrap().remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn command_line() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&args(&["--help"])), Ok(Command::Help));
        assert_eq!(
            parse_args(&args(&["--port", "8080", "-h"])),
            Ok(Command::Help)
        );
        assert_eq!(
            parse_args(&args(&[])),
            Ok(Command::Serve {
                port: 0,
                max_seconds: None,
                llm: llm::Schedule::default(),
                capacity: capacity::Defaults::default(),
                h2c: false,
            })
        );
        assert_eq!(
            parse_args(&args(&["--port", "8080", "--max-seconds", "1.5"])),
            Ok(Command::Serve {
                port: 8080,
                max_seconds: Some(1.5),
                llm: llm::Schedule::default(),
                capacity: capacity::Defaults::default(),
                h2c: false,
            })
        );
        assert_eq!(
            parse_args(&args(&[
                "--llm-slots",
                "8",
                "--capacity-slots",
                "4",
                "--capacity-service-ms",
                "2.5"
            ])),
            Ok(Command::Serve {
                port: 0,
                max_seconds: None,
                llm: llm::Schedule {
                    slots: 8,
                    ..llm::Schedule::default()
                },
                capacity: capacity::Defaults {
                    slots: 4,
                    service_ms: 2.5
                },
                h2c: false,
            })
        );
        for bad in [
            &["--port", "70000"][..],
            &["--port"],
            &["--max-seconds", "-1"],
            &["-x", "1"],
            &["--llm-slots", "-1"],
            &["--llm-slots", "1.5"],
            &["--llm-slots", "10001"],
            &["--capacity-slots", "0"],
            &["--capacity-slots", "nan"],
            &["--capacity-service-ms", "0"],
            &["--capacity-service-ms", "inf"],
            &["--capacity-service-ms", "600001"],
        ] {
            let e = parse_args(&args(bad)).unwrap_err();
            assert!(
                e.starts_with("rlocust-target: bad argument: ") && e.contains("--help"),
                "{e}"
            );
        }
    }

    async fn start() -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(serve(l));
        addr
    }

    /// One raw HTTP/1.1 request with `Connection: close`; returns (status, head, body).
    async fn req(
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        extra: &str,
        body: &str,
    ) -> (u16, String, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let msg = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            body.len()
        );
        s.write_all(msg.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (
            head[9..12].parse().unwrap(),
            head.to_string(),
            body.to_string(),
        )
    }

    /// No query or path value makes the target panic (a panic drops the connection): each numeric one is either
    /// used within its bounds or refused with a 400 and one line.
    #[tokio::test]
    async fn no_number_in_a_request_panics_the_target() {
        let a = start().await;
        const BAD: [&str; 10] = [
            "1e300",
            "-1",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "18446744073709551616",
            "",
            "x",
            "600001",
        ];
        let body = r#"{"model": "m", "stream": STREAM, "max_tokens": 2}"#;
        for path in ["/v1/chat/completions", "/v1/completions"] {
            for stream in ["true", "false"] {
                let body = body.replace("STREAM", stream);
                for key in ["ttft_ms", "itl_ms", "tokens", "stall_after", "reset_after"] {
                    for value in BAD {
                        if value == "600001" && !key.ends_with("_ms") {
                            continue;
                        }
                        let (code, _, text) =
                            req(a, "POST", &format!("{path}?{key}={value}"), "", &body).await;
                        assert_eq!(code, 400, "{path}?{key}={value}: {text}");
                        assert!(
                            text.starts_with(&format!("{key}: expected a number from 0 to "))
                                && text.trim_end().lines().count() == 1,
                            "{text}"
                        );
                    }
                }
                // the most tokens accepted are served
                if stream == "false" {
                    let (code, _, text) = req(
                        a,
                        "POST",
                        &format!("{path}?tokens=100000&ttft_ms=0&itl_ms=0&stall_after=100000"),
                        "",
                        &body,
                    )
                    .await;
                    assert_eq!(code, 200, "{text}");
                }
                let (code, _, text) = req(
                    a,
                    "POST",
                    &format!("{path}?ttft_ms=0&itl_ms=0&tokens=2"),
                    "",
                    &body,
                )
                .await;
                assert_eq!(code, 200, "{text}");
            }
        }
        // the other numbers of the target: paths are typed (axum refuses what does not fit), todos' skip/limit
        // fall back to their defaults
        for value in BAD {
            for path in ["/status/", "/delay/", "/bytes/", "/redirect/", "/stream/"] {
                if value.is_empty() || value == "600001" {
                    continue;
                }
                let (code, _, _) = req(a, "GET", &format!("{path}{value}"), "", "").await;
                assert!((400..500).contains(&code), "{path}{value}: {code}");
            }
            let (code, _, _) = req(
                a,
                "GET",
                &format!("/todos?skip={value}&limit={value}"),
                "",
                "",
            )
            .await;
            assert_eq!(code, 200);
            let (code, _, _) = req(a, "GET", &format!("/v1/_stamps?reset={value}"), "", "").await;
            assert_eq!(code, 200);
        }
        assert_eq!(req(a, "GET", "/hello", "", "").await.2, "Hello!");
    }

    #[tokio::test]
    async fn pages_status_and_echo() {
        let a = start().await;
        assert_eq!(req(a, "GET", "/", "", "").await.2, "Hello!");
        let (code, _, body) = req(a, "GET", "/status/404", "", "").await;
        assert_eq!((code, body.as_str()), (404, "404 Not Found"));
        assert_eq!(req(a, "DELETE", "/status/503", "", "").await.0, 503);
        assert_eq!(req(a, "GET", "/nope", "", "").await.0, 404);
        let (_, _, body) = req(
            a,
            "POST",
            "/echo?a=1&b=x+y",
            "Content-Type: application/x-www-form-urlencoded\r\nCookie: c=1; d=2\r\n",
            "u=%C3%A9&v=2",
        )
        .await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["method"], "POST");
        assert_eq!(v["query"]["b"], "x y");
        assert_eq!(v["form"]["u"], "é");
        assert_eq!(v["cookies"]["d"], "2");
        let (code, head, _) = req(a, "GET", "/redirect?to=/json", "", "").await;
        assert!(code == 302 && head.contains("location: /json"), "{head}");
        assert_eq!(req(a, "GET", "/redirect?to=http://x/", "", "").await.0, 400);
        let (_, head, _) = req(a, "GET", "/gzip", "", "").await;
        assert!(head.contains("content-encoding: gzip"));
        let auth = format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode("u:p")
        );
        assert_eq!(req(a, "GET", "/basic-auth/u/p", &auth, "").await.0, 200);
        assert_eq!(req(a, "GET", "/basic-auth/u/q", &auth, "").await.0, 401);
    }

    #[tokio::test]
    async fn keep_alive_survives_an_unread_body() {
        let a = start().await;
        let mut s = tokio::net::TcpStream::connect(a).await.unwrap();
        // Like urllib3: the headers first, the body a moment later, then the next request on the same socket.
        s.write_all(b"POST /status/500 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.write_all(b"hello").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = s
            .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 500") && text.ends_with("Hello!"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn login_sets_a_session_cookie() {
        let a = start().await;
        assert_eq!(req(a, "GET", "/me", "", "").await.0, 401);
        assert_eq!(
            req(
                a,
                "POST",
                "/login",
                "Content-Type: application/json\r\n",
                r#"{"username":"u","password":"bad"}"#
            )
            .await
            .0,
            401
        );
        let (code, head, _) = req(
            a,
            "POST",
            "/login",
            "Content-Type: application/x-www-form-urlencoded\r\n",
            "username=ann&password=pw",
        )
        .await;
        assert_eq!(code, 200);
        let cookie = head
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let (code, _, body) = req(a, "GET", "/me", &format!("Cookie: {cookie}\r\n"), "").await;
        assert_eq!((code, body.contains("ann")), (200, true));
    }

    #[tokio::test]
    async fn todos_crud_and_upload() {
        let a = start().await;
        let (code, _, body) = req(
            a,
            "POST",
            "/todos/",
            "Content-Type: application/json\r\n",
            r#"{"title":"할 일","completed":false}"#,
        )
        .await;
        assert_eq!(code, 201);
        let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
            .as_u64()
            .unwrap();
        assert!(
            req(
                a,
                "PUT",
                &format!("/todos/{id}"),
                "",
                r#"{"completed":true}"#
            )
            .await
            .2
            .contains("true")
        );
        assert!(req(a, "GET", "/todos", "", "").await.2.contains("할 일"));
        assert_eq!(
            req(a, "DELETE", &format!("/todos/{id}"), "", "").await.0,
            204
        );
        assert_eq!(
            req(a, "DELETE", &format!("/todos/{id}"), "", "").await.0,
            404
        );
        let mp = "--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XB\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--XB--\r\n";
        let (code, _, body) = req(
            a,
            "POST",
            "/upload",
            "Content-Type: multipart/form-data; boundary=XB\r\n",
            mp,
        )
        .await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (
                code,
                v["files"][0]["size"].as_u64(),
                v["fields"]["k"].as_str()
            ),
            (200, Some(5), Some("v"))
        );
    }
}
