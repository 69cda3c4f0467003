//! How each client reports a call that produced no response: [`HttpError`] says what happened (refused,
//! timed out, a TLS failure, what the response reader raised …) and [`HttpError::exception`] describes the
//! exception HttpUser (requests/urllib3) or FastHttpUser (geventhttpclient) raises for it, with the
//! `__context__` chain Locust's failure texts are made from.
//!
//! Who calls it: the engine (`conn` builds the errors, `py` turns the descriptions into Python objects and the
//! stats into failure rows). Plain data; never touches Python.
use super::{Flavor, path_url, tls, wire};
use std::fmt::Write;
use url::Url;
use wire::exc::{PyExc, PyVal};

/// Why a call produced no response. What the user sees of it (the exception object and the failure text) is the
/// [`PyExc`] that [`HttpError::exception`] describes.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    ConnectionRefused,
    /// The TCP connect failed otherwise (unreachable network, no route…): errno and its text.
    Connect {
        errno: i32,
        text: String,
    },
    /// The TCP/TLS connect did not complete within the connect timeout (its value as the locustfile gave it).
    ConnectTimeout {
        timeout: String,
    },
    /// The host name did not resolve: getaddrinfo's error code (`EAI_*`, negative) and its text. An empty host
    /// (FastHttpUser's `http:///path`) is EAI_NONAME without a lookup, as getaddrinfo answers for it.
    NameResolution {
        host: String,
        errno: i32,
        text: String,
    },
    TooManyRedirects(u32),
    InvalidUrl(String),
    Tls(tls::TlsFailure),
    /// The TLS handshake did not complete within the connect timeout (its value as the locustfile gave it).
    HandshakeTimeout {
        timeout: String,
    },
    /// The connection ended while it was being set up (e.g. reset during the TLS handshake): errno and text.
    Aborted {
        errno: i32,
        text: String,
    },
    /// What the client raises while sending the request or reading the response, as the dialect describes it;
    /// with the response's head when the client keeps it (FastHttpUser reports the status of a response whose
    /// body then failed).
    Read {
        exc: Box<PyExc>,
        head: Option<Box<wire::Head>>,
    },
    /// The client refused the request before sending anything (see `check`): what it raises, and whether Locust
    /// records it as a failure (requests' `InvalidHeader`) or it escapes into the task (the `ValueError`s of
    /// urllib3 and geventhttpclient, http.client's `UnicodeEncodeError`).
    Refused {
        exc: Box<PyExc>,
        recorded: bool,
    },
    /// The connection to the proxy failed (`cause`: refused, unreachable, unresolved, timed out); urllib3 wraps
    /// it in its ProxyError, requests raises its own ProxyError.
    ProxyConnect {
        cause: Box<HttpError>,
        host: String,
        port: u16,
    },
    /// The proxy answered the CONNECT of an HTTPS request with another status than 200.
    ProxyTunnel {
        status: u16,
        reason: String,
    },
    /// A bug in rlocust (a panic in the engine), reported as a failure instead of losing the user.
    Internal(String),
}

/// `strerror` text of an I/O error's errno, as Python's OSError shows it.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    // std renders "Connection refused (os error 111)"
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The error of a failed name lookup. std reports getaddrinfo's failure as "failed to lookup address information:
/// <gai_strerror text>"; Python's `socket.gaierror` carries the `EAI_*` code of that text.
pub fn name_resolution(host: &str, e: &std::io::Error) -> HttpError {
    let msg = e.to_string();
    let text = msg
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&msg)
        .to_string();
    let errno = gai_code(&text).unwrap_or(libc::EAI_NONAME);
    HttpError::NameResolution {
        host: host.to_string(),
        errno,
        text,
    }
}

/// getaddrinfo's answer for a host that is empty (no lookup is made for it).
pub fn no_host() -> HttpError {
    HttpError::NameResolution {
        host: String::new(),
        errno: libc::EAI_NONAME,
        text: gai_text(libc::EAI_NONAME),
    }
}

fn gai_text(code: i32) -> String {
    crate::sys::gai_strerror(code)
}

fn gai_code(text: &str) -> Option<i32> {
    const CODES: &[i32] = &[
        libc::EAI_BADFLAGS,
        libc::EAI_NONAME,
        libc::EAI_AGAIN,
        libc::EAI_FAIL,
        libc::EAI_NODATA,
        libc::EAI_FAMILY,
        libc::EAI_SOCKTYPE,
        libc::EAI_SERVICE,
        libc::EAI_MEMORY,
        libc::EAI_SYSTEM,
        libc::EAI_OVERFLOW,
    ];
    CODES.iter().copied().find(|&c| gai_text(c) == text)
}

/// `HTTPConnectionPool(host='h', port=1)` (urllib3's pool, in requests' texts).
pub fn pool_name(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let pool = if url.scheme() == "https" {
        "HTTPSConnectionPool"
    } else {
        "HTTPConnectionPool"
    };
    // (one allocation of the right size: this is made for every request, for the texts of its errors)
    let mut name = String::with_capacity(pool.len() + host.len() + 24);
    let _ = write!(name, "{pool}(host='{host}', port={port})");
    name
}

fn exc(class: &'static str, args: Vec<PyVal>) -> PyExc {
    PyExc::new(class, args)
}

fn exc_arg(e: &PyExc) -> PyVal {
    PyVal::Exc(Box::new(e.clone()))
}

/// requests' `ConnectionError(MaxRetryError(...))` (or a subclass of ConnectionError) around the urllib3 error
/// `cause`, raised while handling it, as requests' adapter does; Locust follows the chain to `cause`'s own
/// `__context__`.
fn max_retries(url: &Url, cause: PyExc, class: &'static str) -> PyExc {
    let mre = max_retry_error(pool_name(url), path_url(url), &cause).during(cause);
    exc(class, vec![exc_arg(&mre)]).during(mre)
}

/// urllib3's `MaxRetryError(pool, url, reason)`: its text, and the `url`, `reason` and `_message` its `__init__`
/// keeps (a locustfile reads `e.args[0].reason` to tell a refused connection from a failed lookup).
fn max_retry_error(pool: String, target: String, reason: &PyExc) -> PyExc {
    let message = format!(
        "Max retries exceeded with url: {target} (Caused by {})",
        reason.repr()
    );
    exc(
        "urllib3.exceptions.MaxRetryError",
        vec![PyVal::str(format!("{pool}: {message}"))],
    )
    .with_attr("url", PyVal::str(target))
    .with_attr("reason", exc_arg(reason))
    .with_attr("_message", PyVal::str(message))
}

/// requests' `ProxyError(MaxRetryError(...))` for a request through a proxy (`proxy_host`:`proxy_port`) that
/// failed with `root` before the proxy passed anything on.
fn proxy_max_retries(url: &Url, proxy_host: &str, proxy_port: u16, root: PyExc) -> PyExc {
    let (pool, target) = if url.scheme() == "https" || proxy_host.is_empty() {
        (pool_name(url), path_url(url))
    } else {
        (
            format!("HTTPConnectionPool(host='{proxy_host}', port={proxy_port})"),
            crate::http::urllib3_url(url, true),
        )
    };
    let reason = exc(
        "urllib3.exceptions.ProxyError",
        vec![PyVal::str("Unable to connect to proxy"), exc_arg(&root)],
    );
    let mre = max_retry_error(pool, target, &reason).during(root);
    exc("requests.exceptions.ProxyError", vec![exc_arg(&mre)]).during(mre)
}

/// geventhttpclient's `RetriesExceeded(url, max_retries, original=<error>)` after its retries.
pub fn fast_retries_exceeded(url: &Url, original: &str) -> PyExc {
    let kw = format!("original={original}");
    exc(
        "geventhttpclient.useragent.RetriesExceeded",
        vec![PyVal::str(url.as_str()), PyVal::int(0)],
    )
    .with_attr("url", PyVal::str(url.as_str()))
    .with_attr("text", PyVal::str(format!("0, {kw}")))
    .with_attr("kw_text", PyVal::str(kw))
}

fn conn_name(url: &Url) -> &'static str {
    if url.scheme() == "https" {
        "HTTPSConnection"
    } else {
        "HTTPConnection"
    }
}

impl HttpError {
    /// Whether requests raised this error with the request it was sending (`e.request`), as its adapter does;
    /// one raised while reading the body (`iter_content`) has none, and Locust's failed response neither.
    pub fn carries_request(&self) -> bool {
        match self {
            HttpError::Read { exc, .. } => !exc
                .attrs
                .iter()
                .any(|(name, value)| *name == "request" && *value == PyVal::None),
            _ => true,
        }
    }

    /// The exception the client call raises for this failure (`response.error` in Locust).
    pub fn exception(&self, flavor: Flavor, url: &Url) -> PyExc {
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default().unwrap_or(80);
        let conn = conn_name(url);
        let new_connection = |errno: i32, text: &str, root: PyExc| {
            exc(
                "urllib3.exceptions.NewConnectionError",
                vec![PyVal::str(format!(
                    "{conn}(host='{host}', port={port}): Failed to establish a new connection: [Errno {errno}] {text}"
                ))],
            )
            .during(root)
        };
        match (self, flavor) {
            (HttpError::Read { exc, .. }, _) => (**exc).clone(),
            (HttpError::ConnectionRefused, Flavor::Requests) => {
                let root = wire::exc::os_error(
                    "builtins.ConnectionRefusedError",
                    111,
                    "Connection refused",
                );
                max_retries(
                    url,
                    new_connection(111, "Connection refused", root),
                    "requests.exceptions.ConnectionError",
                )
            }
            (HttpError::ConnectionRefused, Flavor::Fast) => {
                wire::exc::os_error("builtins.ConnectionRefusedError", 111, "Connection refused")
            }
            (HttpError::Connect { errno, text }, Flavor::Requests) => {
                let root = wire::exc::os_error("builtins.OSError", *errno, text);
                max_retries(
                    url,
                    new_connection(*errno, text, root),
                    "requests.exceptions.ConnectionError",
                )
            }
            (HttpError::Connect { errno, text }, Flavor::Fast) => {
                wire::exc::os_error("builtins.OSError", *errno, text)
            }
            (HttpError::ConnectTimeout { timeout }, Flavor::Requests) => {
                let cte = exc(
                    "urllib3.exceptions.ConnectTimeoutError",
                    vec![
                        PyVal::Opaque(format!("<urllib3.connection.{conn} object at 0x....>")),
                        PyVal::str(format!(
                            "Connection to {host} timed out. (connect timeout={timeout})"
                        )),
                    ],
                );
                max_retries(url, cte, "requests.exceptions.ConnectTimeout")
            }
            (HttpError::ConnectTimeout { .. }, Flavor::Fast) => {
                fast_retries_exceeded(url, "timed out")
            }
            // urllib3: `raise NameResolutionError(host, conn, e) from e` (a NewConnectionError, so Locust reports the
            // gaierror beneath it); geventhttpclient lets the gaierror through.
            (HttpError::NameResolution { host, errno, text }, Flavor::Requests) => {
                let gai = exc(
                    "socket.gaierror",
                    vec![PyVal::int(*errno), PyVal::str(text.clone())],
                );
                let nre = exc(
                    "urllib3.exceptions.NameResolutionError",
                    vec![PyVal::str(format!(
                        "{conn}(host='{host}', port={port}): Failed to resolve '{host}' ([Errno {errno}] {text})"
                    ))],
                )
                .caused_by(gai);
                max_retries(url, nre, "requests.exceptions.ConnectionError")
            }
            (HttpError::NameResolution { errno, text, .. }, Flavor::Fast) => exc(
                "socket.gaierror",
                vec![PyVal::int(*errno), PyVal::str(text.clone())],
            ),
            (HttpError::TooManyRedirects(n), Flavor::Requests) => exc(
                "requests.exceptions.TooManyRedirects",
                vec![PyVal::str(format!("Exceeded {n} redirects."))],
            ),
            (HttpError::TooManyRedirects(n), Flavor::Fast) => {
                let text = format!("Redirection limit reached ({n})");
                exc(
                    "geventhttpclient.useragent.RetriesExceeded",
                    vec![PyVal::str(url.as_str()), PyVal::str(text.clone())],
                )
                .with_attr("url", PyVal::str(url.as_str()))
                .with_attr("text", PyVal::str(text))
                .with_attr("kw_text", PyVal::str(""))
            }
            (HttpError::InvalidUrl(m), Flavor::Requests) => exc(
                "requests.exceptions.InvalidURL",
                vec![PyVal::str(m.clone())],
            ),
            (HttpError::InvalidUrl(m), Flavor::Fast) => {
                exc("builtins.ValueError", vec![PyVal::str(m.clone())])
            }
            (HttpError::Tls(f), flavor) => {
                let ssl_class = if f.verify {
                    "ssl.SSLCertVerificationError"
                } else {
                    "ssl.SSLError"
                };
                let ssl = if f.openssl {
                    exc(
                        ssl_class,
                        vec![PyVal::int(i64::from(f.errno)), PyVal::str(f.text.clone())],
                    )
                } else {
                    exc(ssl_class, vec![PyVal::str(f.text.clone())])
                };
                match flavor {
                    Flavor::Fast => ssl,
                    Flavor::Requests => {
                        let u3 =
                            exc("urllib3.exceptions.SSLError", vec![exc_arg(&ssl)]).during(ssl);
                        max_retries(url, u3, "requests.exceptions.SSLError")
                    }
                }
            }
            (HttpError::HandshakeTimeout { timeout }, Flavor::Requests) => {
                let rte = exc(
                    "urllib3.exceptions.ReadTimeoutError",
                    vec![PyVal::str(format!(
                        "{}: Read timed out. (read timeout={timeout})",
                        pool_name(url)
                    ))],
                );
                exc("requests.exceptions.ReadTimeout", vec![exc_arg(&rte)]).during(rte)
            }
            (HttpError::HandshakeTimeout { .. }, Flavor::Fast) => {
                fast_retries_exceeded(url, "The handshake operation timed out")
            }
            (HttpError::Aborted { errno, text }, Flavor::Requests) => {
                let root = wire::exc::os_error(wire::exc::os_error_class(*errno), *errno, text);
                let pe = exc(
                    "urllib3.exceptions.ProtocolError",
                    vec![PyVal::str("Connection aborted."), exc_arg(&root)],
                )
                .during(root);
                exc("requests.exceptions.ConnectionError", vec![exc_arg(&pe)]).during(pe)
            }
            (HttpError::Aborted { errno, text }, Flavor::Fast) => {
                wire::exc::os_error(wire::exc::os_error_class(*errno), *errno, text)
            }
            (HttpError::Refused { exc, .. }, _) => (**exc).clone(),
            // urllib3 (`_wrap_proxy_error`): ProxyError('Unable to connect to proxy', <the connect error>) is the
            // MaxRetryError's reason, raised while handling the connect error itself; the pool is the proxy's for
            // a forwarded request (whose URL is then absolute), the server's for a tunnelled one
            // geventhttpclient lets the connect error through
            (HttpError::ProxyConnect { cause, .. }, Flavor::Fast) => {
                cause.exception(Flavor::Fast, url)
            }
            (HttpError::ProxyConnect { cause, host, port }, Flavor::Requests) => {
                let at_proxy = Url::parse(&format!("{}://{host}:{port}/", url.scheme()))
                    .unwrap_or_else(|_| url.clone());
                // the urllib3 error beneath requests' ConnectionError(MaxRetryError(...)) of a direct connect
                let mut inner = cause.exception(Flavor::Requests, &at_proxy);
                let root = inner
                    .context
                    .take()
                    .and_then(|mut mre| mre.context.take())
                    .map(|b| *b)
                    .unwrap_or(inner);
                proxy_max_retries(url, host, *port, root)
            }
            (HttpError::ProxyTunnel { status, reason }, _) => {
                let root = exc(
                    "builtins.OSError",
                    vec![PyVal::str(format!(
                        "Tunnel connection failed: {status} {reason}"
                    ))],
                );
                proxy_max_retries(url, "", 0, root)
            }
            (HttpError::Internal(m), _) => exc(
                "builtins.RuntimeError",
                vec![PyVal::str(format!("rlocust internal error: {m}"))],
            ),
        }
    }

    /// Whether the client raises this exception out of the call instead of reporting a failure: Locust's sessions
    /// catch only their client's connection errors, so e.g. http.client's `ValueError` for a negative chunk size
    /// reaches the task, and no request is recorded.
    pub fn escapes(&self, flavor: Flavor) -> bool {
        match (self, flavor) {
            (HttpError::Read { exc, .. }, Flavor::Requests) => {
                matches!(
                    exc.class,
                    "builtins.ValueError" | "builtins.TypeError" | "builtins.OverflowError"
                )
            }
            (HttpError::Read { exc, .. }, Flavor::Fast) => !wire::llhttp::recorded_by_locust(exc),
            (HttpError::Refused { recorded, .. }, _) => !recorded,
            _ => false,
        }
    }

    /// `repr()` of the exception Locust reports for this failure (in failure rows and `request` events).
    pub fn repr(&self, flavor: Flavor, url: &Url) -> String {
        self.exception(flavor, url).reported().repr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reprs_match_locust() {
        let u = Url::parse("http://127.0.0.1:1/x").unwrap();
        assert_eq!(
            HttpError::ConnectionRefused.repr(Flavor::Requests, &u),
            "ConnectionRefusedError(111, 'Connection refused')"
        );
        assert_eq!(
            HttpError::ConnectionRefused.repr(Flavor::Fast, &u),
            "ConnectionRefusedError(111, 'Connection refused')"
        );
        let e = HttpError::ConnectionRefused.exception(Flavor::Requests, &u);
        assert_eq!(e.class, "requests.exceptions.ConnectionError");
        assert!(e.str_text().starts_with(
            "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /x (Caused by NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=1): Failed to establish a new connection: [Errno 111] Connection refused\"))"
        ), "{}", e.str_text());
        // what urllib3's MaxRetryError keeps: the path and query it was given, the reason, the message
        let Some(PyVal::Exc(mre)) = e.args.first() else {
            panic!("{e:?}")
        };
        let attr = |name: &str| mre.attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
        assert_eq!(attr("url"), Some(&PyVal::str("/x")));
        assert!(
            matches!(attr("reason"), Some(PyVal::Exc(r)) if r.class == "urllib3.exceptions.NewConnectionError")
        );
        assert!(
            matches!(attr("_message"), Some(PyVal::Str(m)) if m.starts_with("Max retries exceeded with url: /x (Caused by NewConnectionError("))
        );
        assert!(HttpError::ConnectionRefused.carries_request());
        let t = HttpError::ConnectTimeout {
            timeout: "2.5".into(),
        };
        assert_eq!(
            t.repr(Flavor::Requests, &u),
            "ConnectTimeoutError(<urllib3.connection.HTTPConnection object at 0x....>, 'Connection to 127.0.0.1 timed out. (connect timeout=2.5)')"
        );
        assert_eq!(
            t.repr(Flavor::Fast, &u),
            "RetriesExceeded('http://127.0.0.1:1/x', 0, original=timed out)"
        );
        assert_eq!(
            HttpError::TooManyRedirects(30).repr(Flavor::Fast, &u),
            "RetriesExceeded('http://127.0.0.1:1/x', 'Redirection limit reached (30)')"
        );
        assert_eq!(
            HttpError::TooManyRedirects(30).repr(Flavor::Requests, &u),
            "TooManyRedirects('Exceeded 30 redirects.')"
        );
    }

    #[test]
    fn urllib3_url_is_the_path_or_through_a_proxy_the_whole_url_without_fragment_or_credentials() {
        let u = Url::parse("http://user:pw@h:81/a/b?x=1#frag").unwrap();
        assert_eq!(crate::http::urllib3_url(&u, false), "/a/b?x=1");
        assert_eq!(crate::http::urllib3_url(&u, true), "http://h:81/a/b?x=1");
        let bare = Url::parse("http://h").unwrap();
        assert_eq!(crate::http::urllib3_url(&bare, false), "/");
    }

    #[test]
    fn name_resolution_reads_as_in_each_client() {
        let u = Url::parse("http://nonexistent.invalid/x").unwrap();
        let e = name_resolution(
            "nonexistent.invalid",
            &std::io::Error::other(
                "failed to lookup address information: Name or service not known",
            ),
        );
        assert_eq!(
            e,
            HttpError::NameResolution {
                host: "nonexistent.invalid".into(),
                errno: -2,
                text: "Name or service not known".into()
            }
        );
        // Locust reports the gaierror beneath requests' ConnectionError
        assert_eq!(
            e.repr(Flavor::Requests, &u),
            "gaierror(-2, 'Name or service not known')"
        );
        assert_eq!(
            e.exception(Flavor::Requests, &u).str_text(),
            "HTTPConnectionPool(host='nonexistent.invalid', port=80): Max retries exceeded with url: /x (Caused by NameResolutionError(\"HTTPConnection(host='nonexistent.invalid', port=80): Failed to resolve 'nonexistent.invalid' ([Errno -2] Name or service not known)\"))"
        );
        assert_eq!(
            e.repr(Flavor::Fast, &u),
            "gaierror(-2, 'Name or service not known')"
        );
        assert_eq!(
            no_host().repr(Flavor::Fast, &u),
            "gaierror(-2, 'Name or service not known')"
        );
        let again = name_resolution(
            "h",
            &std::io::Error::other(
                "failed to lookup address information: Temporary failure in name resolution",
            ),
        );
        assert!(matches!(again, HttpError::NameResolution { errno: -3, .. }));
    }

    #[test]
    fn refusals_escape_or_are_recorded() {
        let u = Url::parse("http://h/x").unwrap();
        let invalid = HttpError::Refused {
            exc: Box::new(PyExc::new(
                "requests.exceptions.InvalidHeader",
                vec![PyVal::str("Invalid ... in header name: 'x:y'")],
            )),
            recorded: true,
        };
        assert!(!invalid.escapes(Flavor::Requests));
        assert_eq!(
            invalid.repr(Flavor::Requests, &u),
            "InvalidHeader(\"Invalid ... in header name: 'x:y'\")"
        );
        let value_error = HttpError::Refused {
            exc: Box::new(PyExc::new("builtins.ValueError", vec![PyVal::str("bad")])),
            recorded: false,
        };
        assert!(value_error.escapes(Flavor::Fast));
    }
}
