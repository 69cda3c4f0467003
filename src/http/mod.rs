//! The HTTP engine: executes one user's request (with redirects, cookies, decompression and timeouts) on the
//! tokio runtime and returns plain data. Called by `py` (which turns the result into a Python `Response`);
//! it never touches Python and never blocks the hub thread.
//!
//! NOTE (reference §1.3, §1.7): connections and cookies are per user, as in Locust: every simulated user owns
//! a [`UserClient`] with its own keep-alive pool and cookie jar, while the TLS configuration is shared.
use bytes::Bytes;
use cookie_store::CookieStore;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use parking_lot::Mutex;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

pub mod check;
mod conn;
mod error;
pub mod events;
pub mod feed;
mod fields;
#[cfg(test)]
mod proxy_tests;
mod timings;
pub mod tls;
pub mod wire;

pub use conn::{Tail, Timeouts};
pub use error::{HttpError, fast_retries_exceeded, pool_name, strerror};
pub use events::Marks;
pub use feed::Feed;
pub use fields::Fields;
pub use timings::{Setup, Stamps, Timings};
use wire::Dialect;
use wire::exc::PyExc;

/// Which client's conventions to follow for names, failure rules and error texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `HttpSession` (python-requests semantics).
    Requests,
    /// `FastHttpSession` (geventhttpclient semantics).
    Fast,
}

impl Flavor {
    pub fn dialect(self) -> Dialect {
        match self {
            Flavor::Requests => Dialect::Requests,
            Flavor::Fast => Dialect::Fast,
        }
    }
}

/// `path + ?query` of a URL, as requests' `PreparedRequest.path_url`.
pub fn path_url(url: &Url) -> String {
    let mut s = url.path().to_string();
    if s.is_empty() {
        s.push('/');
    }
    if let Some(q) = url.query() {
        s.push('?');
        s.push_str(q);
    }
    s
}

/// The `url` urllib3's errors keep (`MaxRetryError.url`, `ReadTimeoutError.url`): what requests' adapter passed to
/// `urlopen`, the path and query, or the whole URL without its fragment and credentials when the request went to
/// an HTTP proxy in absolute form (`HTTPAdapter.request_url`).
pub fn urllib3_url(url: &Url, forwarded: bool) -> String {
    if !forwarded {
        return path_url(url);
    }
    let mut whole = url.clone();
    let _ = whole.set_username("");
    let _ = whole.set_password(None);
    whole.set_fragment(None);
    whole.into()
}

/// A call's header pairs, in order. Often one list that many calls share (a session's default headers:
/// `py::request`), which keeps what each client made of it, so that it is checked and built once, not per call.
#[derive(Debug, Default)]
pub struct HeaderList {
    pairs: Vec<(String, String)>,
    /// Calls share this list: what [`request_headers`] builds from it is kept.
    shared: bool,
    /// What each flavor's client makes of `pairs` (indexed by `Flavor as usize`), once built without a refusal.
    built: [std::sync::OnceLock<(Arc<HeaderMap>, Vec<u8>)>; 2],
}

impl HeaderList {
    /// The pairs of one call.
    pub fn new(pairs: Vec<(String, String)>) -> HeaderList {
        HeaderList {
            pairs,
            ..HeaderList::default()
        }
    }

    /// The pairs of a list calls share.
    pub fn shared(pairs: Vec<(String, String)>) -> HeaderList {
        HeaderList {
            pairs,
            shared: true,
            ..HeaderList::default()
        }
    }

    /// The pairs to change (a copy that is the call's own, as `Arc::make_mut` makes it: see `Clone`).
    pub fn pairs_mut(&mut self) -> &mut Vec<(String, String)> {
        &mut self.pairs
    }
}

/// A copy is one call's own list, to be changed: it keeps nothing built.
impl Clone for HeaderList {
    fn clone(&self) -> HeaderList {
        HeaderList::new(self.pairs.clone())
    }
}

impl std::ops::Deref for HeaderList {
    type Target = [(String, String)];

    fn deref(&self) -> &Self::Target {
        &self.pairs
    }
}

/// The headers a request went out with: the map a shared [`HeaderList`] keeps, shared as it is, until a call changes
/// it (a cookie, a body's length), when it becomes the call's own copy. Copying the map for every call was two of
/// the allocations of each request (issue 43).
#[derive(Debug, Clone)]
pub enum SentHeaders {
    Shared(Arc<HeaderMap>),
    Own(HeaderMap),
}

impl SentHeaders {
    /// The call's own map, copied first if it is shared.
    pub fn to_mut(&mut self) -> &mut HeaderMap {
        if let SentHeaders::Shared(m) = self {
            *self = SentHeaders::Own(HeaderMap::clone(m));
        }
        match self {
            SentHeaders::Own(m) => m,
            SentHeaders::Shared(_) => unreachable!("made the call's own above"),
        }
    }
}

impl Default for SentHeaders {
    fn default() -> SentHeaders {
        SentHeaders::Own(HeaderMap::new())
    }
}

impl std::ops::Deref for SentHeaders {
    type Target = HeaderMap;

    fn deref(&self) -> &HeaderMap {
        match self {
            SentHeaders::Shared(m) => m,
            SentHeaders::Own(m) => m,
        }
    }
}

/// One request as plain data (built by `py` from the Python call's arguments).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub url: Url,
    /// Request headers in order; later entries with the same name replace earlier ones (often a list many
    /// calls share: `py::request`).
    pub headers: Arc<HeaderList>,
    /// The client's text for a header part the shim refused (one Rust never sees: a `bytes` name, a value that is
    /// not `str`). It comes after `headers` in the client's order: a refused pair among them is reported first.
    pub header_fault: Option<String>,
    /// The URL the locustfile gave has no host (`http:///x`; `url` has a placeholder host): the client fails when
    /// it looks the host up, after it has built the request.
    pub no_host: bool,
    pub body: Option<Bytes>,
    pub timeouts: Timeouts,
    /// The connect and read timeouts as the locustfile gave them (`str()` of the values), for error texts.
    pub timeout_texts: (String, Option<String>),
    pub allow_redirects: bool,
    pub max_redirects: u32,
    pub verify: bool,
    /// Cookies given for this request only (`cookies=`).
    pub extra_cookies: Vec<(String, String)>,
    /// FastHttpUser: new connections tried when one closes before any response byte (geventhttpclient retries
    /// idempotent requests up to its pool size + 1 times); 0 for HttpUser.
    pub retries_on_close: u32,
    /// Bytes of body (and FastHttpUser head) a response may have before it fails.
    pub max_body: usize,
    /// The HTTP proxy requests chose for this URL (`proxies=`, the session's, the environment's); its redirects
    /// to the same scheme go through it too.
    pub proxy: Option<Proxy>,
    /// A CA bundle or client certificate for HTTPS (None: the defaults by `verify`).
    pub tls: Option<Arc<tls::TlsProfile>>,
    /// HTTP/2 where the server speaks it (rlocust's opt-in: `--http2`, a user class's `http2 = True`).
    pub http2: bool,
    /// `stream=True` of HttpUser: the call ends at the final response's head and its body is read on demand
    /// ([`Outcome::tail`]). FastHttpUser reads the body first either way (as geventhttpclient does here).
    pub stream: bool,
}

/// An HTTP proxy (requests' `proxies` entry): a plain-HTTP request is forwarded with its absolute URL, an HTTPS
/// one tunnelled with CONNECT. Credentials in the proxy URL become `Proxy-Authorization: Basic`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    pub authorization: Option<String>,
}

impl Proxy {
    /// A proxy URL as requests takes it (`host:port` alone means `http://`); Err: the text of requests'
    /// refusal (`InvalidSchema` for a scheme it has no adapter for without extra packages, `InvalidURL` else).
    pub fn parse(text: &str) -> Result<Proxy, (&'static str, String)> {
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| match e {
            // requests' adapter: a proxy URL without a host
            url::ParseError::EmptyHost => (
                "requests.exceptions.InvalidProxyURL",
                "Please check proxy URL. It is malformed and could be missing the host."
                    .to_string(),
            ),
            e => (
                "requests.exceptions.InvalidURL",
                format!("Invalid proxy URL {text:?}: {e}"),
            ),
        })?;
        if url.scheme() != "http" {
            let scheme = url.scheme();
            return Err(if scheme.starts_with("socks") {
                (
                    "requests.exceptions.InvalidSchema",
                    "Missing dependencies for SOCKS support.".to_string(),
                )
            } else {
                (
                    "requests.exceptions.InvalidSchema",
                    format!("rlocust supports http:// proxies only, not {scheme}://"),
                )
            });
        }
        let Some(host) = url.host_str() else {
            return Err((
                "requests.exceptions.InvalidURL",
                "Please check proxy URL. It is malformed and could be missing the host."
                    .to_string(),
            ));
        };
        let authorization = (!url.username().is_empty() || url.password().is_some()).then(|| {
            use base64::Engine as _;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let pair = format!(
                "{}:{}",
                decode(url.username()),
                decode(url.password().unwrap_or(""))
            );
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
            )
        });
        Ok(Proxy {
            host: host.to_string(),
            port: url.port().unwrap_or(80),
            authorization,
        })
    }
}

/// One response of a redirect chain.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    pub reason: std::borrow::Cow<'static, str>,
    /// Response headers as the client keeps them (latin-1 text, in order, repeated names kept).
    pub headers: Fields,
    pub url: Url,
    pub method: Method,
    pub request_headers: SentHeaders,
    pub body: Bytes,
    /// FastHttpUser's `stream=True`: the body before content decoding, where it differs from `body` (what its
    /// `response.stream` and `iter_content` read, as geventhttpclient hands them the socket's bytes).
    pub encoded: Option<Bytes>,
    /// From sending the request to the response headers (requests' `Response.elapsed`).
    pub elapsed: Duration,
    /// The HTTP version the response came in, as urllib3 numbers it (`response.raw.version`): 10, 11 or 20.
    pub version: u8,
    /// What the connection observed of this exchange (`timings`), as it observed it: the final response's become
    /// the call's [`Timings::hop`].
    pub stamps: Stamps,
    /// What its body showed as it arrived, when it was watched (`events`; a streamed body's are its tail's).
    pub marks: Option<Box<Marks>>,
}

/// The result of a whole call: the final response (if any), the responses redirected through, or the error.
#[derive(Debug)]
pub struct Outcome {
    /// (boxed: an outcome moves from the exchange to the driver, the completion and the hub's `Response`, and a
    /// box moves as a pointer where the exchange is 480 bytes)
    pub response: Option<Box<Exchange>>,
    pub history: Vec<Exchange>,
    pub error: Option<HttpError>,
    /// When the call started, had its final head and ended (what the engine records from).
    pub timings: Timings,
    /// The unread body of a streamed final response (`RequestSpec::stream`).
    pub tail: Option<Box<Tail>>,
    /// What the final response's body showed as it arrived, when it was read whole and watched (`events`).
    pub marks: Option<Box<Marks>>,
}

/// What the hub needs besides the outcome to build the Python response and report it.
#[derive(Debug)]
pub struct CallMeta {
    pub flavor: Flavor,
    /// `request_type` in stats and events (the method as the caller wrote it).
    pub method_label: String,
    /// The stats name (already resolved: `name=`, `request_name`, or the client's default).
    pub name: String,
    pub request_url: Url,
    pub request_body: Option<Bytes>,
    /// Whether the engine recorded this call in the stats at completion (no catch_response).
    pub recorded: bool,
    /// `stream=True`: recorded with the time to the response head and the Content-Length as its length, as
    /// Locust records a call whose body the client has not read yet.
    pub stream: bool,
    /// The calling user's fixed-rate interval in ms (`constant_pacing`/`constant_throughput`), recorded with
    /// the call for the coordinated-omission correction (`stats::RequestStats::log_request_paced`).
    pub pacing_ms: Option<f64>,
    /// What an observer opened for this call when it was built (`--otel` with traces: the span of an HttpUser
    /// call, whose `traceparent` is in the request's headers).
    pub trace: Option<Box<dyn CallTrace>>,
}

/// The hook an observer of calls implements (`otel`'s span of an HttpUser call): opened when the call is built,
/// carried with it, ended at its completion. `http` never looks inside; the engine hands it the finished call.
pub trait CallTrace: std::fmt::Debug + Send + Sync {
    /// The call has completed with `outcome`, recorded with `response_ms` (`failure`: the failure's text under the
    /// default success rule).
    fn end(&self, meta: &CallMeta, outcome: &Outcome, response_ms: f64, failure: Option<&str>);
}

/// A finished call on its way to the hub.
#[derive(Debug)]
pub struct Completed {
    pub outcome: Outcome,
    pub meta: CallMeta,
    /// The call's response time in ms as the engine records it (`engine::record`: to the head for `stream=True`).
    pub response_time_ms: f64,
    /// `repr()` of the failure under the default success rule, if it failed.
    pub failure: Option<String>,
    /// A `stream=True` body as the engine reads it on (the outcome's tail, taken over by `engine::stream`).
    pub feed: Option<Arc<Feed>>,
}

/// The default success rule of each client (reference §1.4, §1.7): the failure text, if any.
pub fn default_failure(outcome: &Outcome, meta: &CallMeta) -> Option<String> {
    if escaping_error(outcome, meta).is_some() {
        return None;
    }
    if let Some(e) = &outcome.error {
        return Some(e.repr(meta.flavor, &meta.request_url));
    }
    let r = outcome.response.as_ref()?;
    match meta.flavor {
        Flavor::Requests => http_error_message(r.status, &r.reason, &meta.name)
            .map(|m| format!("HTTPError({})", crate::pyfmt::py_str_repr(&m))),
        Flavor::Fast => {
            (!fast_status_ok(r.status)).then(|| format!("LocustBadStatusCode(code={})", r.status))
        }
    }
}

/// The exception a call raises into the task instead of recording a failure (Locust's sessions catch only their
/// client's connection errors): e.g. http.client's `ValueError` for a negative chunk size, FastHttpUser's
/// `ValueError` for an unknown Content-Encoding, or its `UnicodeDecodeError` for a refused status whose body is
/// not UTF-8 (geventhttpclient decodes it for its debug text).
pub fn escaping_error(outcome: &Outcome, meta: &CallMeta) -> Option<PyExc> {
    if let Some(e) = &outcome.error {
        return e
            .escapes(meta.flavor)
            .then(|| e.exception(meta.flavor, &meta.request_url));
    }
    let r = outcome.response.as_ref()?;
    if meta.flavor == Flavor::Fast && !fast_status_ok(r.status) {
        let exc = wire::llhttp::locust_bad_status(meta.request_url.as_str(), r.status, &r.body);
        if exc.class == "builtins.UnicodeDecodeError" {
            return Some(exc);
        }
    }
    None
}

/// The `response_length` Locust records: the body's length, or for `stream=True` the Content-Length header's
/// value (0 without one), as Locust takes it so as not to read the body.
pub fn recorded_length(r: &Exchange, stream: bool) -> usize {
    if stream {
        content_length(&r.headers)
    } else {
        r.body.len()
    }
}

/// The Content-Length header's value, 0 without one (or with one that is not a number).
pub fn content_length(headers: &Fields) -> usize {
    header(headers, "content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// requests' `raise_for_status` message, with the URL replaced by the request name as Locust does.
pub fn http_error_message(status: u16, reason: &str, name: &str) -> Option<String> {
    let kind = match status {
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => return None,
    };
    Some(format!("{status} {kind}: {reason} for url: {name}"))
}

/// geventhttpclient's accepted codes in Locust's FastHttpSession.
pub fn fast_status_ok(status: u16) -> bool {
    wire::llhttp::LOCUST_VALID_STATUSES.contains(&status)
}

/// Shared state of the engine: the runtime handle and the two TLS configurations.
pub struct Engine {
    pub handle: tokio::runtime::Handle,
    tls: tls::Tls,
    /// Bytes a response body may have (`RLOCUST_MAX_BODY_SIZE`, default [`wire::DEFAULT_MAX_BODY`]).
    pub max_body: usize,
}

impl Engine {
    pub fn new(handle: tokio::runtime::Handle, max_body: usize) -> Arc<Engine> {
        Arc::new(Engine {
            handle,
            max_body,
            tls: tls::Tls::default(),
        })
    }

    /// A fresh per-user client: its own keep-alive connections and cookie jar.
    pub fn user_client(self: &Arc<Self>) -> UserClient {
        UserClient {
            engine: self.clone(),
            pool: Arc::new(conn::Pool::default()),
            jar: Arc::new(Mutex::new(CookieStore::default())),
        }
    }
}

/// One simulated user's HTTP state. Cheap to create: connections are opened on first use.
pub struct UserClient {
    engine: Arc<Engine>,
    pool: Arc<conn::Pool>,
    pub jar: Arc<Mutex<CookieStore>>,
}

impl UserClient {
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Close the idle connections (new ones are made on the next request).
    pub fn reset_connections(&mut self) {
        self.pool.clear();
    }

    /// Run the call to the end (redirects, body, decompression), with the connect and read timeouts of `spec`.
    ///
    /// (A block rather than an `async fn`, which would keep its arguments twice in the state every driver holds:
    /// `engine::drive`.)
    #[allow(clippy::manual_async_fn)]
    pub fn execute(
        route: Route,
        jar: Arc<Mutex<CookieStore>>,
        spec: RequestSpec,
        flavor: Flavor,
    ) -> impl Future<Output = Outcome> + Send {
        async move {
            let mut timings = Timings::start_now();
            let (result, history) = run_chain(&route, &jar, &spec, flavor).await;
            let (result, tail) = match result {
                Ok((r, tail)) => (Ok(r), tail),
                Err(e) => (Err(e), None),
            };
            timings.end = Instant::now();
            if let Ok(r) = &result {
                timings.hop = r.stamps;
            }
            match result {
                // FastHttpUser keeps the status and headers of a response whose body failed, if it accepts the status
                // (for any other status geventhttpclient reads the body before it returns, and Locust shows status 0)
                Err(HttpError::Read {
                    exc,
                    head: Some(head),
                }) if flavor == Flavor::Fast && fast_status_ok(head.status) => Outcome {
                    response: Some(Box::new(Exchange {
                        status: head.status,
                        reason: head.reason,
                        headers: head.headers,
                        url: spec.url.clone(),
                        method: spec.method.clone(),
                        request_headers: SentHeaders::default(),
                        body: Bytes::new(),
                        encoded: None,
                        elapsed: Duration::ZERO,
                        version: head.version,
                        stamps: Stamps::default(),
                        marks: None,
                    })),
                    history,
                    error: Some(HttpError::Read { exc, head: None }),
                    timings,
                    tail: None,
                    marks: None,
                },
                Ok(mut resp) => Outcome {
                    marks: resp.marks.take(),
                    response: Some(resp),
                    history,
                    error: None,
                    timings,
                    tail,
                },
                Err(e) => Outcome {
                    response: None,
                    history,
                    error: Some(e),
                    timings,
                    tail: None,
                    marks: None,
                },
            }
        }
    }

    /// What a call needs of this user to run on tokio without `self`.
    pub fn route(&self, verify: bool) -> Route {
        Route {
            engine: self.engine.clone(),
            pool: self.pool.clone(),
            verify,
        }
    }
}

/// The engine, the user's connections and the certificate rule a call uses.
pub struct Route {
    engine: Arc<Engine>,
    pool: Arc<conn::Pool>,
    verify: bool,
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// A response header's first value (case-insensitive name).
pub fn header<'a>(headers: &'a Fields, name: &str) -> Option<&'a str> {
    headers.first(name)
}

/// The request's headers as the client sends them, or why it refuses the request before sending it: checked in
/// the client's order (FastHttpUser: the target, then each header; HttpUser: every header as requests prepares
/// them, then their encodings as http.client writes them). Values go out in latin-1, as both clients write them;
/// the second part holds the header lines a `HeaderMap` cannot (see `conn::Call::extra_head`). A shared list's
/// are built once per client ([`HeaderList`]): the checks and the `HeaderMap` were 6 allocations a call.
fn request_headers(
    spec: &RequestSpec,
    flavor: Flavor,
) -> Result<(SentHeaders, Vec<u8>), HttpError> {
    if flavor == Flavor::Fast
        && let Some(m) = check::fast_target_fault(spec.url.path(), spec.url.query())
    {
        return Err(refused("builtins.ValueError", m, false));
    }
    let list = &*spec.headers;
    let kept = &list.built[flavor as usize];
    let built = match kept.get() {
        Some((headers, extra)) => Ok((SentHeaders::Shared(headers.clone()), extra.clone())),
        None => match header_map(list, flavor)? {
            (headers, extra, None) => {
                if list.shared {
                    let headers = Arc::new(headers);
                    let _ = kept.set((headers.clone(), extra.clone()));
                    Ok((SentHeaders::Shared(headers), extra))
                } else {
                    Ok((SentHeaders::Own(headers), extra))
                }
            }
            (_, _, Some(encoding)) => Err(encoding),
        },
    };
    if let Some(m) = &spec.header_fault {
        return Err(match flavor {
            Flavor::Requests => refused("requests.exceptions.InvalidHeader", m.clone(), true),
            Flavor::Fast => refused("builtins.ValueError", m.clone(), false),
        });
    }
    let (headers, extra) = built.map_err(|e| HttpError::Refused {
        exc: Box::new(e),
        recorded: false,
    })?;
    if spec.no_host {
        return Err(error::no_host());
    }
    Ok((headers, extra))
}

/// The client refuses the request before sending it, with this exception.
fn refused(class: &'static str, text: String, recorded: bool) -> HttpError {
    HttpError::Refused {
        exc: Box::new(PyExc::new(class, vec![wire::exc::PyVal::str(text)])),
        recorded,
    }
}

/// The header pairs as the client sends them (what a `HeaderMap` holds, then the other lines), and the
/// exception requests raises when it encodes a value it cannot (after every pair is checked); a refused pair
/// is the error.
fn header_map(
    pairs: &[(String, String)],
    flavor: Flavor,
) -> Result<(HeaderMap, Vec<u8>, Option<PyExc>), HttpError> {
    let mut headers = HeaderMap::new();
    let mut extra = Vec::new();
    let mut encoding = None;
    for (k, v) in pairs {
        match flavor {
            Flavor::Requests => {
                if let Some(m) = check::requests_header_fault(k, v) {
                    return Err(refused("requests.exceptions.InvalidHeader", m, true));
                }
                if encoding.is_none() {
                    encoding = check::requests_header_encoding(k, v);
                }
            }
            Flavor::Fast => {
                if let Some(m) = check::fast_header_fault(k, v) {
                    return Err(refused("builtins.ValueError", m, false));
                }
            }
        }
        if encoding.is_some() {
            continue;
        }
        let value = check::latin1(v);
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.insert(name, value);
            }
            _ => {
                extra.extend_from_slice(k.as_bytes());
                extra.extend_from_slice(b": ");
                extra.extend_from_slice(&value);
                extra.extend_from_slice(b"\r\n");
            }
        }
    }
    Ok((headers, extra, encoding))
}

/// The final response of a call (with a streamed body's unread tail), or why the call failed.
type Hop = Result<(Box<Exchange>, Option<Box<Tail>>), HttpError>;

/// Run a call's redirect chain: send the request, follow the redirects the client follows, and return the last
/// response with the responses redirected through.
async fn run_chain(
    route: &Route,
    jar: &Mutex<CookieStore>,
    spec: &RequestSpec,
    flavor: Flavor,
) -> (Hop, Vec<Exchange>) {
    let (first, extra_head) = match request_headers(spec, flavor) {
        Ok(h) => h,
        Err(e) => return (Err(e), Vec::new()),
    };
    let mut chain = Chain {
        route,
        jar,
        spec,
        flavor,
        method: spec.method.clone(),
        body: spec.body.clone(),
        first: Some(first),
        extra_head,
        strip_body: false,
        strip_auth: false,
        history: Vec::new(),
    };
    let result = chain.run().await;
    (result, chain.history)
}

/// A call's redirect chain between two hops: the next request's method and body, and what the redirects so far
/// took out of its headers.
struct Chain<'a> {
    route: &'a Route,
    jar: &'a Mutex<CookieStore>,
    spec: &'a RequestSpec,
    flavor: Flavor,
    method: Method,
    body: Option<Bytes>,
    /// The first hop's headers as [`request_headers`] built them (taken by the first hop: a redirect builds them
    /// again rather than every call copying them in case one comes).
    first: Option<SentHeaders>,
    /// The header lines a `HeaderMap` cannot hold (`conn::Call::extra_head`).
    extra_head: Vec<u8>,
    /// A redirect dropped the body, or took `Authorization` out ([`redirected_headers`]).
    strip_body: bool,
    strip_auth: bool,
    /// The responses redirected through, in order.
    history: Vec<Exchange>,
}

impl Chain<'_> {
    /// Hop after hop, until a response the client does not follow, or an error.
    async fn run(&mut self) -> Hop {
        let mut url = self.spec.url.clone();
        loop {
            let headers = self.hop_headers(&url)?;
            let (exchange, tail) = self.send(url, headers).await?;
            let Some(location) = self.followed(&exchange) else {
                return Ok((exchange, tail));
            };
            url = self.follow(exchange, tail, &location).await?;
        }
    }

    /// The headers of the hop to `url`: the first hop's as built, a redirect's built again less what the redirects
    /// took out; then the jar's cookies for `url` (and the call's own) and a body's length.
    fn hop_headers(&mut self, url: &Url) -> Result<SentHeaders, HttpError> {
        let first_hop = self.first.is_some();
        let mut headers = match self.first.take() {
            Some(h) => h,
            None => self.redirected(url)?,
        };
        let mut cookie_pairs: Vec<String> = {
            let jar = self.jar.lock();
            jar.get_request_values(url)
                .map(|(n, v)| format!("{n}={v}"))
                .collect()
        };
        for (n, v) in &self.spec.extra_cookies {
            cookie_pairs.push(format!("{n}={v}"));
        }
        if !cookie_pairs.is_empty()
            && !headers.contains_key(http::header::COOKIE)
            && let Ok(v) = HeaderValue::from_str(&cookie_pairs.join("; "))
        {
            headers.to_mut().insert(http::header::COOKIE, v);
        }
        if self.body.is_some() || matches!(self.method, Method::POST | Method::PUT | Method::PATCH)
        {
            let len = self.body.as_ref().map_or(0, Bytes::len);
            headers
                .to_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        } else if (first_hop || !self.strip_body)
            && self.flavor == Flavor::Requests
            && !matches!(self.method, Method::GET | Method::HEAD)
            && !headers.contains_key(http::header::CONTENT_LENGTH)
        {
            // requests' `prepare_content_length`: a request without a body says `Content-Length: 0` unless it is a
            // GET or a HEAD (a DELETE, an OPTIONS, any other method). Set as the request is prepared: a redirect's hop
            // is a copy of it (307, 308), less the length when the redirect drops the body.
            headers
                .to_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        Ok(headers)
    }

    /// A redirect's headers to `url`: built again from the call's, less what the redirects so far took out, with
    /// the proxy's own credentials where requests sets them again (`rebuild_proxies`: a plain-HTTP request that
    /// goes through it).
    fn redirected(&self, url: &Url) -> Result<SentHeaders, HttpError> {
        let (spec, flavor) = (self.spec, self.flavor);
        let mut h = request_headers(spec, flavor)?.0;
        redirected_headers(h.to_mut(), flavor, self.strip_body, self.strip_auth);
        if flavor == Flavor::Requests
            && url.scheme() == "http"
            && let Some(auth) = self.proxy(url).and_then(|p| p.authorization.as_deref())
            && let Ok(v) = HeaderValue::from_str(auth)
        {
            h.to_mut().insert(http::header::PROXY_AUTHORIZATION, v);
        }
        Ok(h)
    }

    /// The proxy of a hop to `url`: the call's, for the scheme it was chosen for. A plain-HTTP request goes through
    /// it in absolute form, an HTTPS one tunnelled (`conn::exchange`).
    fn proxy(&self, url: &Url) -> Option<&Proxy> {
        self.spec
            .proxy
            .as_ref()
            .filter(|_| url.scheme() == self.spec.url.scheme())
    }

    /// One hop: write the request to `url` and read its response (`conn::exchange`); the cookies it sets go into
    /// the jar.
    async fn send(&self, url: Url, headers: SentHeaders) -> Hop {
        let (spec, flavor) = (self.spec, self.flavor);
        let proxy = self.proxy(&url);
        let ctx = Arc::new(wire::Context {
            method: check::method_text(&self.method),
            url: url.as_str().to_owned(),
            pool: None,
            forwarded: proxy.is_some() && url.scheme() != "https",
            read_timeout: spec.timeout_texts.1.clone(),
            limits: wire::Limits {
                max_body: spec.max_body,
                max_head: wire::max_head(),
            },
        });
        let payload = self.body.clone().unwrap_or_default();
        let call = conn::Call {
            verify: self.route.verify,
            method: &self.method,
            url: &url,
            headers: &headers,
            extra_head: &self.extra_head,
            body: &payload,
            dialect: flavor.dialect(),
            ctx: &ctx,
            timeouts: spec.timeouts,
            connect_timeout: &spec.timeout_texts.0,
            tls: spec.tls.clone(),
            http2: spec.http2,
            stream: spec.stream && flavor == Flavor::Requests,
            watch: spec.stream,
            proxy,
            retries_on_close: retries_on_close(&self.method, spec.retries_on_close),
        };
        let sent = Instant::now();
        let mut raw = conn::exchange(&self.route.engine.tls, &self.route.pool, &call).await?;
        let tail = raw.tail.take();
        let elapsed = raw
            .stamps
            .head
            .map_or(Duration::ZERO, |h| h.saturating_duration_since(sent));
        let wire::Head {
            status,
            reason,
            headers: resp_headers,
            version,
        } = raw.head;
        {
            let mut jar = self.jar.lock();
            for v in resp_headers.all("set-cookie") {
                let _ = jar.parse(v, &url);
            }
        }
        let exchange = Box::new(Exchange {
            status,
            reason,
            headers: resp_headers,
            url,
            method: self.method.clone(),
            request_headers: headers,
            body: raw.body,
            encoded: raw
                .encoded
                .filter(|_| spec.stream && flavor == Flavor::Fast),
            elapsed,
            version,
            stamps: raw.stamps,
            marks: raw.marks,
        });
        Ok((exchange, tail))
    }

    /// Where the client goes next after `exchange`: the `Location` of a redirect it follows.
    fn followed(&self, exchange: &Exchange) -> Option<String> {
        if !(self.spec.allow_redirects && is_redirect(exchange.status)) {
            return None;
        }
        header(&exchange.headers, "location").map(str::to_string)
    }

    /// Follow `exchange`'s redirect to `location`: a streamed body is read and dropped first (as requests does),
    /// the method and body change as the client changes them, and `exchange` joins the history. The next hop's
    /// URL, or the error that ends the call (an invalid location, too many redirects).
    async fn follow(
        &mut self,
        exchange: Box<Exchange>,
        tail: Option<Box<Tail>>,
        location: &str,
    ) -> Result<Url, HttpError> {
        if let Some(mut t) = tail {
            t.drain().await?;
        }
        let next = exchange
            .url
            .join(location)
            .map_err(|e| HttpError::InvalidUrl(e.to_string()))?;
        let max = self.spec.max_redirects;
        if self.history.len() as u32 >= max {
            self.history.push(*exchange);
            return Err(HttpError::TooManyRedirects(max));
        }
        let status = exchange.status;
        // NOTE: requests' rebuild_method: 303 (not HEAD) and 302 (not HEAD) become GET, 301 turns POST into GET;
        // geventhttpclient's CompatRequest.redirect: 301, 302 and 303 turn any method but HEAD into GET.
        // 307/308 keep the method and the body in both.
        let to_get = match self.flavor {
            Flavor::Requests => {
                (matches!(status, 302 | 303) && self.method != Method::HEAD)
                    || (status == 301 && self.method == Method::POST)
            }
            Flavor::Fast => matches!(status, 301..=303) && self.method != Method::HEAD,
        };
        if to_get {
            self.method = Method::GET;
        }
        if !matches!(status, 307 | 308) {
            self.body = None;
            self.strip_body = true;
        }
        if strips_authorization(self.flavor, &self.spec.url, &exchange.url, &next) {
            self.strip_auth = true;
        }
        self.history.push(*exchange);
        Ok(next)
    }
}

/// How many fresh connections a request is tried on again when one closes before any response byte: the client's
/// (`RequestSpec::retries_on_close`) for an idempotent method, else none.
/// NOTE: geventhttpclient retries only idempotent methods (RFC 9110 §9.2.2).
fn retries_on_close(method: &Method, retries: u32) -> u32 {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    ) {
        retries
    } else {
        0
    }
}

/// What a redirect takes out of the headers the locustfile gave, each client's way (`strip_body`: the status
/// dropped the body; `strip_auth`: [`strips_authorization`] said so at this hop or an earlier one).
///
/// - HttpUser, requests' `resolve_redirects`: `Content-Length`, `Content-Type` and `Transfer-Encoding` with the
///   body; `Cookie` on every hop (the session's jar then gives the cookies of the new URL); `Proxy-Authorization`
///   on every hop (`rebuild_proxies`, which sets the proxy's own again where it applies: the caller);
///   `Authorization` as `rebuild_auth` decides.
/// - FastHttpUser, geventhttpclient's `CompatRequest.redirect`: `Content-Length`, `Content-Type` and
///   `Content-Encoding` with the body; `Cookie` and `Cookie2` on every hop (the jar gives the new URL's);
///   `Authorization` when the origin is no longer the first request's. `Proxy-Authorization` stays.
fn redirected_headers(h: &mut HeaderMap, flavor: Flavor, strip_body: bool, strip_auth: bool) {
    h.remove(http::header::COOKIE);
    match flavor {
        Flavor::Requests => {
            h.remove(http::header::PROXY_AUTHORIZATION);
            if strip_body {
                h.remove(http::header::TRANSFER_ENCODING);
            }
        }
        Flavor::Fast => {
            h.remove("cookie2");
            if strip_body {
                h.remove(http::header::CONTENT_ENCODING);
            }
        }
    }
    if strip_body {
        h.remove(http::header::CONTENT_TYPE);
        h.remove(http::header::CONTENT_LENGTH);
    }
    if strip_auth {
        h.remove(http::header::AUTHORIZATION);
    }
}

/// Whether a redirect from `from` to `to` (in a call that began at `first`) takes `Authorization` out.
///
/// - HttpUser, requests' `should_strip_auth(from, to)`: another host; else keep it from `http` on port 80 to
///   `https` on port 443 (requests' exception for an upgrade); else another scheme or port (a port left out is
///   the scheme's default).
/// - FastHttpUser, geventhttpclient's `_is_same_origin`: the new URL's origin (scheme, host, port with the
///   scheme's default) is not the one the call began with.
///
/// Once taken out it stays out for the rest of the chain in both (the next hop's headers are this one's).
pub(crate) fn strips_authorization(flavor: Flavor, first: &Url, from: &Url, to: &Url) -> bool {
    match flavor {
        Flavor::Requests => {
            if from.host_str() != to.host_str() {
                return true;
            }
            let (from_port, to_port) = (from.port_or_known_default(), to.port_or_known_default());
            if from.scheme() == "http"
                && from_port == Some(80)
                && to.scheme() == "https"
                && to_port == Some(443)
            {
                return false;
            }
            from.scheme() != to.scheme() || from_port != to_port
        }
        Flavor::Fast => {
            (
                first.scheme(),
                first.host_str(),
                first.port_or_known_default(),
            ) != (to.scheme(), to.host_str(), to.port_or_known_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn requests_strips_authorization_as_should_strip_auth_does() {
        let strip = |from: &str, to: &str| {
            strips_authorization(Flavor::Requests, &u(from), &u(from), &u(to))
        };
        // the same origin, a port written out or left to its default
        assert!(!strip("http://a:8080/x", "http://a:8080/y"));
        assert!(!strip("http://a/x", "http://a:80/y"));
        assert!(!strip("https://a:443/x", "https://a/y"));
        // another host: 127.0.0.1, localhost and 127.0.0.2 are three hosts; case does not count
        assert!(strip("http://127.0.0.1:8080/", "http://localhost:8080/"));
        assert!(strip("http://127.0.0.1:8080/", "http://127.0.0.2:8080/"));
        assert!(!strip("http://A.example/", "http://a.example/"));
        // another port, another scheme (https -> http in clear, and http -> https off the default ports)
        assert!(strip("http://a:8080/", "http://a:8081/"));
        assert!(strip("https://a/", "http://a/"));
        assert!(strip("https://a:8443/", "http://a:8443/"));
        assert!(strip("http://a:8080/", "https://a:8080/"));
        assert!(strip("http://a:443/", "https://a/"));
        // requests' exception: http on 80 -> https on 443 keeps it
        assert!(!strip("http://a/", "https://a/"));
        assert!(!strip("http://a:80/", "https://a:443/x"));
        assert!(strip("http://a/", "https://a:8443/"));
    }

    #[test]
    fn fast_strips_authorization_off_the_first_origin() {
        let strip = |first: &str, from: &str, to: &str| {
            strips_authorization(Flavor::Fast, &u(first), &u(from), &u(to))
        };
        assert!(!strip(
            "http://a:8080/",
            "http://a:8080/",
            "http://a:8080/y"
        ));
        assert!(!strip("http://a/", "http://a/", "http://a:80/y"));
        assert!(strip("http://a:8080/", "http://a:8080/", "http://a:8081/"));
        assert!(strip(
            "http://127.0.0.1:1/",
            "http://127.0.0.1:1/",
            "http://localhost:1/"
        ));
        // geventhttpclient has no upgrade exception
        assert!(strip("http://a/", "http://a/", "https://a/"));
        // compared with the first request, not the previous hop
        assert!(!strip("http://a:1/", "http://b:1/", "http://a:1/"));
        assert!(strip("http://a:1/", "http://a:1/", "http://b:1/"));
    }

    #[test]
    fn a_redirect_takes_out_what_each_client_takes_out() {
        let all = || {
            let mut h = HeaderMap::new();
            for name in [
                "cookie",
                "cookie2",
                "authorization",
                "proxy-authorization",
                "content-type",
                "content-length",
                "content-encoding",
                "transfer-encoding",
                "x-kept",
            ] {
                h.insert(HeaderName::from_static(name), HeaderValue::from_static("v"));
            }
            h
        };
        let names = |h: &HeaderMap| {
            let mut n: Vec<String> = h.keys().map(|k| k.as_str().to_string()).collect();
            n.sort();
            n
        };
        let mut h = all();
        redirected_headers(&mut h, Flavor::Requests, false, false);
        assert_eq!(
            names(&h),
            [
                "authorization",
                "content-encoding",
                "content-length",
                "content-type",
                "cookie2",
                "transfer-encoding",
                "x-kept"
            ]
        );
        let mut h = all();
        redirected_headers(&mut h, Flavor::Requests, true, true);
        assert_eq!(names(&h), ["content-encoding", "cookie2", "x-kept"]);
        let mut h = all();
        redirected_headers(&mut h, Flavor::Fast, false, false);
        assert_eq!(
            names(&h),
            [
                "authorization",
                "content-encoding",
                "content-length",
                "content-type",
                "proxy-authorization",
                "transfer-encoding",
                "x-kept"
            ]
        );
        let mut h = all();
        redirected_headers(&mut h, Flavor::Fast, true, true);
        assert_eq!(
            names(&h),
            ["proxy-authorization", "transfer-encoding", "x-kept"]
        );
    }

    #[test]
    fn path_url_keeps_query_and_defaults_to_slash() {
        assert_eq!(
            path_url(&Url::parse("http://h:1/abs?q=2").unwrap()),
            "/abs?q=2"
        );
        assert_eq!(path_url(&Url::parse("http://h:1").unwrap()), "/");
    }

    fn spec(headers: Arc<HeaderList>, header_fault: Option<&str>) -> RequestSpec {
        RequestSpec {
            method: Method::GET,
            url: Url::parse("http://127.0.0.1:9/a").unwrap(),
            headers,
            header_fault: header_fault.map(str::to_string),
            no_host: false,
            body: None,
            timeouts: Timeouts::default(),
            timeout_texts: ("None".into(), None),
            allow_redirects: true,
            max_redirects: 30,
            verify: true,
            extra_cookies: Vec::new(),
            retries_on_close: 0,
            max_body: wire::DEFAULT_MAX_BODY,
            proxy: None,
            tls: None,
            http2: false,
            stream: false,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_shared_header_list_is_built_once_per_client_and_still_checked_with_each_call() {
        let list = Arc::new(HeaderList::shared(pairs(&[
            ("User-Agent", "u"),
            ("X-A", "b"),
        ])));
        for flavor in [Flavor::Requests, Flavor::Fast] {
            let (map, extra) = request_headers(&spec(list.clone(), None), flavor).unwrap();
            assert_eq!(map.get("user-agent").unwrap(), "u");
            assert_eq!(map.get("x-a").unwrap(), "b");
            assert!(extra.is_empty());
            assert!(list.built[flavor as usize].get().is_some());
            // kept: the same again, and a fault of this call is still reported
            let again = request_headers(&spec(list.clone(), None), flavor)
                .unwrap()
                .0;
            assert_eq!(*again, *map);
            // shared, not copied, until a call changes its own
            let (SentHeaders::Shared(a), SentHeaders::Shared(b)) = (&again, &map) else {
                panic!("a shared list's map is shared")
            };
            assert!(Arc::ptr_eq(a, b));
            let mut mine = again.clone();
            mine.to_mut()
                .insert(http::header::COOKIE, HeaderValue::from_static("a=1"));
            assert!(matches!(mine, SentHeaders::Own(_)) && map.get("cookie").is_none());
            assert_eq!(mine.len(), map.len() + 1);
            assert!(request_headers(&spec(list.clone(), Some("bad")), flavor).is_err());
        }
        // a call's own copy (tracing adds a header to it) keeps nothing of the shared list's
        let mut own = list.clone();
        Arc::make_mut(&mut own)
            .pairs_mut()
            .push(("traceparent".into(), "t".into()));
        assert!(own.built.iter().all(|b| b.get().is_none()));
        let (map, _) = request_headers(&spec(own, None), Flavor::Requests).unwrap();
        assert_eq!(map.get("traceparent").unwrap(), "t");
    }

    #[test]
    fn a_header_list_that_is_refused_or_not_shared_keeps_nothing() {
        let refused = Arc::new(HeaderList::shared(pairs(&[("X-Bad", "a\nb")])));
        assert!(request_headers(&spec(refused.clone(), None), Flavor::Requests).is_err());
        assert!(refused.built[0].get().is_none());
        let encoded = Arc::new(HeaderList::shared(pairs(&[("X-Name", "\u{2603}")])));
        assert!(request_headers(&spec(encoded.clone(), None), Flavor::Requests).is_err());
        assert!(encoded.built[0].get().is_none());
        let own = Arc::new(HeaderList::new(pairs(&[("X-A", "1")])));
        assert!(request_headers(&spec(own.clone(), None), Flavor::Requests).is_ok());
        assert!(own.built[0].get().is_none());
    }
}
