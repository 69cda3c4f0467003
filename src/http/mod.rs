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
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

mod conn;
pub mod wire;

/// Why an exchange produced no response. The texts users see are built from this by [`HttpError::repr`].
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    ConnectionRefused,
    ConnectionReset,
    /// `timeout=` elapsed; carries the configured seconds.
    Timeout {
        secs: f64,
    },
    NameResolution(String),
    TooManyRedirects(u32),
    InvalidUrl(String),
    Tls(String),
    Other(String),
}

/// Which client's conventions to follow for names, failure rules and error texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `HttpSession` (python-requests semantics).
    Requests,
    /// `FastHttpSession` (geventhttpclient semantics).
    Fast,
}

impl HttpError {
    /// What failed, as a short kind the shim maps to exception classes.
    pub fn kind(&self) -> &'static str {
        match self {
            HttpError::ConnectionRefused => "refused",
            HttpError::ConnectionReset => "reset",
            HttpError::Timeout { .. } => "timeout",
            HttpError::NameResolution(_) => "dns",
            HttpError::TooManyRedirects(_) => "redirects",
            HttpError::InvalidUrl(_) => "invalid",
            HttpError::Tls(_) => "tls",
            HttpError::Other(_) => "other",
        }
    }

    /// The message of the exception the client raises (`str(response.error)` in Locust).
    pub fn message(&self, flavor: Flavor, url: &Url) -> String {
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default().unwrap_or(80);
        let pool = if url.scheme() == "https" {
            "HTTPSConnectionPool"
        } else {
            "HTTPConnectionPool"
        };
        let conn = if url.scheme() == "https" {
            "HTTPSConnection"
        } else {
            "HTTPConnection"
        };
        let secs = |s: f64| {
            let t = crate::report::pyfmt::py_float_repr(s);
            t.strip_suffix(".0").map(str::to_string).unwrap_or(t)
        };
        match (self, flavor) {
            (HttpError::ConnectionRefused, Flavor::Requests) => format!(
                "{pool}(host='{host}', port={port}): Max retries exceeded with url: {} (Caused by NewConnectionError(\"{conn}(host='{host}', port={port}): Failed to establish a new connection: [Errno 111] Connection refused\"))",
                path_url(url)
            ),
            (HttpError::ConnectionRefused, Flavor::Fast) => "[Errno 111] Connection refused".into(),
            (HttpError::ConnectionReset, _) => "[Errno 104] Connection reset by peer".into(),
            (HttpError::Timeout { secs: t }, Flavor::Requests) => {
                format!(
                    "{pool}(host='{host}', port={port}): Read timed out. (read timeout={})",
                    secs(*t)
                )
            }
            (HttpError::Timeout { .. }, Flavor::Fast) => "timed out".into(),
            (HttpError::NameResolution(h), _) => format!(
                "{pool}(host='{h}', port={port}): Max retries exceeded with url: {} (Caused by NameResolutionError(\"<urllib3.connection.{conn} object at 0x....>: Failed to resolve '{h}' ([Errno -2] Name or service not known)\"))",
                path_url(url)
            ),
            (HttpError::TooManyRedirects(n), _) => format!("Exceeded {n} redirects."),
            (HttpError::InvalidUrl(m) | HttpError::Tls(m) | HttpError::Other(m), _) => m.clone(),
        }
    }

    /// `repr()` of the exception Locust reports for this failure (in failure rows and `request` events):
    /// HttpSession unwraps connection errors to their root cause; FastHttpSession reports its own classes.
    pub fn repr(&self, flavor: Flavor, url: &Url) -> String {
        let q = |s: &str| crate::report::pyfmt::py_str_repr(s);
        match (self, flavor) {
            (HttpError::ConnectionRefused, _) => {
                "ConnectionRefusedError(111, 'Connection refused')".into()
            }
            (HttpError::ConnectionReset, _) => {
                "ConnectionResetError(104, 'Connection reset by peer')".into()
            }
            (HttpError::Timeout { .. }, Flavor::Requests) => {
                format!(
                    "ReadTimeout(ReadTimeoutError({}))",
                    q(&self.message(flavor, url))
                )
            }
            (HttpError::Timeout { .. }, Flavor::Fast) => format!(
                "RetriesExceeded({}, 0, original=timed out)",
                q(url.as_str())
            ),
            (HttpError::NameResolution(_), _) => format!(
                "ConnectionError(MaxRetryError({}))",
                q(&self.message(flavor, url))
            ),
            (HttpError::TooManyRedirects(_), _) => {
                format!("TooManyRedirects({})", q(&self.message(flavor, url)))
            }
            (HttpError::InvalidUrl(m), _) => format!("InvalidURL({})", q(m)),
            (HttpError::Tls(m), _) => format!("SSLError({})", q(m)),
            (HttpError::Other(m), _) => format!("ConnectionError({})", q(m)),
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

/// One request as plain data (built by `py` from the Python call's arguments).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub url: Url,
    /// Request headers in order; later entries with the same name replace earlier ones.
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    pub timeout: Option<Duration>,
    pub allow_redirects: bool,
    pub max_redirects: u32,
    pub verify: bool,
    /// Cookies given for this request only (`cookies=`).
    pub extra_cookies: Vec<(String, String)>,
}

/// One response of a redirect chain.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    pub reason: String,
    pub headers: HeaderMap,
    pub url: Url,
    pub method: Method,
    pub request_headers: HeaderMap,
    pub body: Bytes,
    /// From sending the request to the response headers (requests' `Response.elapsed`).
    pub elapsed: Duration,
}

/// The result of a whole call: the final response (if any), the responses redirected through, or the error.
#[derive(Debug)]
pub struct Outcome {
    pub response: Option<Exchange>,
    pub history: Vec<Exchange>,
    pub error: Option<HttpError>,
    /// Wall time of the whole call in ms, body included (what Locust records).
    pub response_time_ms: f64,
    /// Unix time when the call started.
    pub start_time: f64,
}

/// What the hub needs besides the outcome to build the Python response and report it.
#[derive(Debug, Clone)]
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
}

/// A finished call on its way to the hub.
#[derive(Debug)]
pub struct Completed {
    pub outcome: Outcome,
    pub meta: CallMeta,
    /// `repr()` of the failure under the default success rule, if it failed.
    pub failure: Option<String>,
}

/// The default success rule of each client (reference §1.4, §1.7): the failure text, if any.
pub fn default_failure(outcome: &Outcome, meta: &CallMeta) -> Option<String> {
    if let Some(e) = &outcome.error {
        return Some(e.repr(meta.flavor, &meta.request_url));
    }
    let r = outcome.response.as_ref()?;
    match meta.flavor {
        Flavor::Requests => http_error_message(r.status, &r.reason, &meta.name)
            .map(|m| format!("HTTPError({})", crate::report::pyfmt::py_str_repr(&m))),
        Flavor::Fast => {
            (!fast_status_ok(r.status)).then(|| format!("LocustBadStatusCode(code={})", r.status))
        }
    }
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
    matches!(status, 200..=208 | 226 | 301 | 302 | 303 | 304 | 307 | 308)
}

/// Shared state of the engine: the runtime handle and the two TLS configurations.
pub struct Engine {
    pub handle: tokio::runtime::Handle,
    tls: conn::Tls,
}

impl Engine {
    pub fn new(handle: tokio::runtime::Handle) -> Arc<Engine> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let verifying_cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth());
        let insecure_cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(Arc::new(AcceptAll(provider.clone())))
                    .with_no_client_auth()
            });
        let build = |cfg: Result<rustls::ClientConfig, rustls::Error>| {
            let cfg = cfg.unwrap_or_else(|_| {
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_protocol_versions(&[&rustls::version::TLS12])
                .expect("TLS 1.2 is always supported by ring")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
            });
            tokio_rustls::TlsConnector::from(Arc::new(cfg))
        };
        Arc::new(Engine {
            handle,
            tls: conn::Tls {
                verifying: build(verifying_cfg),
                insecure: build(insecure_cfg),
            },
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

#[derive(Debug)]
struct AcceptAll(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAll {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
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

    /// Run the call to the end (redirects, body, decompression), bounded by `spec.timeout` when given.
    pub async fn execute(route: Route, jar: Arc<Mutex<CookieStore>>, spec: RequestSpec) -> Outcome {
        let start_time = crate::log::now();
        let t0 = Instant::now();
        let chain = run_chain(&route, &jar, &spec);
        let (result, history) = match spec.timeout {
            Some(limit) => match tokio::time::timeout(limit, chain).await {
                Ok(r) => r,
                // NOTE: reported as a read timeout, as requests does for a server that accepts but does not answer;
                // a connect that never completes is reported the same way.
                Err(_) => (
                    Err(HttpError::Timeout {
                        secs: limit.as_secs_f64(),
                    }),
                    Vec::new(),
                ),
            },
            None => chain.await,
        };
        let response_time_ms = t0.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(resp) => Outcome {
                response: Some(resp),
                history,
                error: None,
                response_time_ms,
                start_time,
            },
            Err(e) => Outcome {
                response: None,
                history,
                error: Some(e),
                response_time_ms,
                start_time,
            },
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

async fn run_chain(
    route: &Route,
    jar: &Mutex<CookieStore>,
    spec: &RequestSpec,
) -> (Result<Exchange, HttpError>, Vec<Exchange>) {
    let mut history = Vec::new();
    let mut url = spec.url.clone();
    let mut method = spec.method.clone();
    let mut body = spec.body.clone();
    let mut headers = HeaderMap::new();
    for (k, v) in &spec.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) else {
            return (
                Err(HttpError::InvalidUrl(format!("Invalid header: {k}"))),
                history,
            );
        };
        headers.insert(name, value);
    }
    loop {
        let mut req_headers = headers.clone();
        let mut cookie_pairs: Vec<String> = {
            let jar = jar.lock();
            jar.get_request_values(&url)
                .map(|(n, v)| format!("{n}={v}"))
                .collect()
        };
        for (n, v) in &spec.extra_cookies {
            cookie_pairs.push(format!("{n}={v}"));
        }
        if !cookie_pairs.is_empty()
            && !req_headers.contains_key(http::header::COOKIE)
            && let Ok(v) = HeaderValue::from_str(&cookie_pairs.join("; "))
        {
            req_headers.insert(http::header::COOKIE, v);
        }
        let payload = body.clone().unwrap_or_default();
        if body.is_some() || matches!(method, Method::POST | Method::PUT | Method::PATCH) {
            req_headers.insert(
                http::header::CONTENT_LENGTH,
                HeaderValue::from(payload.len()),
            );
        }
        let sent = Instant::now();
        let raw = match conn::exchange(
            &route.engine.tls,
            &route.pool,
            route.verify,
            &method,
            &url,
            &req_headers,
            &payload,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => return (Err(e), history),
        };
        let elapsed = raw.head_at.saturating_duration_since(sent);
        let status = raw.status;
        let reason = if raw.reason.is_empty() {
            http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_string()
        } else {
            raw.reason
        };
        let parts_headers = raw.headers;
        let body_bytes = decode_body(&parts_headers, raw.body);
        {
            let mut jar = jar.lock();
            for sc in parts_headers.get_all(http::header::SET_COOKIE) {
                if let Ok(s) = sc.to_str() {
                    let _ = jar.parse(s, &url);
                }
            }
        }
        let exchange = Exchange {
            status,
            reason,
            headers: parts_headers,
            url: url.clone(),
            method: method.clone(),
            request_headers: req_headers,
            body: body_bytes,
            elapsed,
        };
        let location = exchange
            .headers
            .get(http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        if spec.allow_redirects
            && is_redirect(status)
            && let Some(loc) = location
        {
            let next = match url.join(&loc) {
                Ok(u) => u,
                Err(e) => return (Err(HttpError::InvalidUrl(e.to_string())), history),
            };
            if history.len() as u32 >= spec.max_redirects {
                history.push(exchange);
                return (
                    Err(HttpError::TooManyRedirects(spec.max_redirects)),
                    history,
                );
            }
            // NOTE: requests' rebuild_method: 303 (not HEAD) and 302 (not HEAD) become GET, 301 turns POST into GET;
            // 307/308 keep the method and the body.
            let to_get = (matches!(status, 302 | 303) && method != Method::HEAD)
                || (status == 301 && method == Method::POST);
            if to_get {
                method = Method::GET;
            }
            if !matches!(status, 307 | 308) {
                body = None;
                headers.remove(http::header::CONTENT_TYPE);
                headers.remove(http::header::CONTENT_LENGTH);
            }
            if next.host_str() != url.host_str() {
                headers.remove(http::header::AUTHORIZATION);
            }
            history.push(exchange);
            url = next;
            continue;
        }
        return (Ok(exchange), history);
    }
}

fn decode_body(headers: &HeaderMap, raw: Bytes) -> Bytes {
    let enc = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut out = Vec::new();
    let ok = match enc.as_str() {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .is_ok(),
        "deflate" => {
            flate2::read::ZlibDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .is_ok()
                || {
                    out.clear();
                    flate2::read::DeflateDecoder::new(&raw[..])
                        .read_to_end(&mut out)
                        .is_ok()
                }
        }
        _ => return raw,
    };
    if ok { Bytes::from(out) } else { raw }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_url_keeps_query_and_defaults_to_slash() {
        assert_eq!(
            path_url(&Url::parse("http://h:1/abs?q=2").unwrap()),
            "/abs?q=2"
        );
        assert_eq!(path_url(&Url::parse("http://h:1").unwrap()), "/");
    }

    #[test]
    fn error_reprs_match_locust() {
        let u = Url::parse("http://127.0.0.1:1/x").unwrap();
        assert_eq!(
            HttpError::ConnectionRefused.repr(Flavor::Requests, &u),
            "ConnectionRefusedError(111, 'Connection refused')"
        );
        let t = HttpError::Timeout { secs: 0.5 }.repr(Flavor::Requests, &u);
        assert_eq!(
            t,
            "ReadTimeout(ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', port=1): Read timed out. (read timeout=0.5)\"))"
        );
        let f = HttpError::Timeout { secs: 0.5 }.repr(Flavor::Fast, &u);
        assert_eq!(
            f,
            "RetriesExceeded('http://127.0.0.1:1/x', 0, original=timed out)"
        );
        assert!(HttpError::ConnectionRefused.message(Flavor::Requests, &u).starts_with(
            "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /x (Caused by NewConnectionError("
        ));
    }

    #[test]
    fn gzip_bodies_are_decoded() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"hello").unwrap();
        let gz = Bytes::from(enc.finish().unwrap());
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_ENCODING,
            HeaderValue::from_static("gzip"),
        );
        assert_eq!(&decode_body(&h, gz)[..], b"hello");
    }
}
