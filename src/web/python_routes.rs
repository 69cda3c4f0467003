//! The locustfile's own web pages (Locust's extension point, `environment.web_ui.app.route(...)` and
//! `register_blueprint`): a request for a path the Rust server does not serve is handed to the locustfile's Flask
//! app on the hub, as one `bridge::Command::WebRequest`, and the app's status, headers and body are sent back.
//!
//! - [`forward`]: reads the body (at most [`MAX_REQUEST_BODY`], within `serve::BODY_READ_TIMEOUT`), queues the
//!   request with the client's address and the server's, and awaits the reply for at most [`REPLY_WAIT`] (then
//!   504). The hub side is `python/shim/locust/_web.py` (`wsgi`): it builds the WSGI environ and calls the app
//!   in a greenlet.
//!   The client's address is `serve::peer_of` (WSGI `REMOTE_ADDR`), for plain TCP and TLS alike.
//!
//! - [`ask`] and [`web_request`]: the same round trip for `web::login`'s checks (marked with [`GATE_HEADER`]).
//!
//! Who calls it: `routes::not_found` (the router's fallback), after basic auth and, for methods that may change
//! state, the cross-site check; only when the shim reported that the locustfile created `web_ui.app` (otherwise
//! the Rust 404 stands and Python is not involved). It never blocks a worker: the handler awaits a channel.
use super::WebState;
use crate::bridge::{WebReply, WebRequest};
use crate::log;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use std::net::SocketAddr;
use std::time::Duration;

/// How long a request waits for the Flask app's reply before it gets 504.
pub const REPLY_WAIT: Duration = Duration::from_secs(30);

/// Largest request body handed to the Flask app (larger: 413). The reply's body is bounded on the Python side.
pub const MAX_REQUEST_BODY: usize = 16 << 20;

/// Headers that describe one hop's connection, not the response: hyper writes its own.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// WSGI's native string for bytes from the wire: each byte one Latin-1 character.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The header that marks the server's own `--web-login` checks (`web::login`) for the shim; a client's is dropped.
pub const GATE_HEADER: &str = "x-rlocust-gate";

/// The [`WebRequest`] for a request's method, URI and headers (a client's [`GATE_HEADER`] left out), `body`
/// and client address.
pub fn web_request(
    st: &WebState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: Vec<u8>,
    peer: SocketAddr,
) -> WebRequest {
    WebRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .filter(|(k, _)| k.as_str() != GATE_HEADER)
            .map(|(k, v)| (k.as_str().to_string(), latin1(v.as_bytes())))
            .collect(),
        body,
        remote_addr: peer.ip().to_string(),
        remote_port: peer.port(),
        scheme: st.config.scheme().to_string(),
        server_name: if st.config.host.is_empty() {
            "0.0.0.0".to_string()
        } else {
            st.config.host.clone()
        },
        server_port: st.config.port,
    }
}

/// Queue `request` on the hub and await the app's reply (at most [`REPLY_WAIT`]); `Err` is the answer to give
/// instead (500 when the hub acknowledged without a reply, 504 when it did not answer in time).
pub async fn ask(st: &WebState, request: WebRequest) -> Result<WebReply, Response> {
    let (method, path) = (request.method.clone(), request.path.clone());
    let (id, rx) = st.bridge.web_request(request);
    match tokio::time::timeout(REPLY_WAIT, rx).await {
        Ok(Ok(reply)) => Ok(reply),
        // the hub acknowledged the request without a reply: the shim logged why
        Ok(Err(_)) => Err(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error\n",
        )),
        Err(_) => {
            st.bridge.forget(id);
            log::log(
                log::Level::Warning,
                "locust.web",
                &format!(
                    "The locustfile's web route did not answer {method} {path} within {} s (is the Python thread blocked?)",
                    REPLY_WAIT.as_secs()
                ),
            );
            Err(plain(
                StatusCode::GATEWAY_TIMEOUT,
                "Gateway Timeout: the locustfile's web route did not answer in time.\n",
            ))
        }
    }
}

/// Hand `req` to the locustfile's Flask app and return its answer.
pub async fn forward(st: &WebState, req: Request) -> Response {
    let peer = super::serve::peer_of(&req);
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY as u64) {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload Too Large: rlocust hands at most 16 MiB to the locustfile's web routes.\n",
        );
    }
    let read = axum::body::to_bytes(body, MAX_REQUEST_BODY);
    let body = match tokio::time::timeout(super::serve::BODY_READ_TIMEOUT, read).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large: rlocust hands at most 16 MiB to the locustfile's web routes.\n",
            );
        }
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                "Request Timeout: the request body did not arrive in time.\n",
            );
        }
    };
    let request = web_request(
        st,
        &parts.method,
        &parts.uri,
        &parts.headers,
        body.to_vec(),
        peer,
    );
    match ask(st, request).await {
        Ok(reply) => response(reply, parts.method == Method::HEAD),
        Err(answer) => answer,
    }
}

/// The HTTP response for the app's reply. Hop-by-hop headers are dropped, and `Content-Length` except for HEAD
/// (hyper sets it from the body; a HEAD reply keeps the length the app declared for its GET).
pub fn response(reply: WebReply, head: bool) -> Response {
    let Ok(status) = StatusCode::from_u16(reply.status) else {
        log::log(
            log::Level::Error,
            "locust.web",
            &format!(
                "The locustfile's web route answered with the invalid status {}",
                reply.status
            ),
        );
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n");
    };
    let mut r = Response::new(Body::from(reply.body));
    *r.status_mut() = status;
    for (name, value) in reply.headers {
        let lower = name.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lower.as_str()) || (lower == "content-length" && !head) {
            continue;
        }
        match (
            HeaderName::from_bytes(lower.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            (Ok(n), Ok(v)) => {
                r.headers_mut().append(n, v);
            }
            _ => log::log(
                log::Level::Warning,
                "locust.web",
                &format!("The locustfile's web route sent an invalid header {name:?}: left out"),
            ),
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_keep_end_to_end_headers_only() {
        let reply = WebReply {
            status: 201,
            headers: vec![
                ("Content-Type".into(), b"text/csv".to_vec()),
                ("Content-Length".into(), b"99".to_vec()),
                ("Transfer-Encoding".into(), b"chunked".to_vec()),
                ("Set-Cookie".into(), b"a=1".to_vec()),
                ("Set-Cookie".into(), b"b=2".to_vec()),
                ("X-Bad".into(), b"a\nb".to_vec()),
                ("X-Latin".into(), vec![0xe9]),
            ],
            body: b"x,y\n".to_vec(),
        };
        let r = response(reply.clone(), false);
        assert_eq!(r.status(), StatusCode::CREATED);
        let h = r.headers();
        assert_eq!(h["content-type"], "text/csv");
        assert!(h.get("content-length").is_none() && h.get("transfer-encoding").is_none());
        assert_eq!(h.get_all("set-cookie").iter().count(), 2);
        assert!(h.get("x-bad").is_none());
        assert_eq!(h["x-latin"].as_bytes(), [0xe9]);
        assert_eq!(response(reply, true).headers()["content-length"], "99");
        let bad = WebReply {
            status: 1000,
            headers: vec![],
            body: vec![],
        };
        assert_eq!(
            response(bad, false).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn wire_bytes_become_latin1_text() {
        assert_eq!(latin1(b"a\xe9\xff"), "a\u{e9}\u{ff}");
    }
}
