//! HTTP/2 exchanges (rlocust's opt-in beyond Locust: `--http2` or a user class's `http2 = True`): ALPN `h2` over
//! TLS, prior-knowledge h2c over plain TCP, one multiplexed connection per user and origin.
//!
//! The frames are the `h2` crate's (hyper's HTTP/2 layer). The response is read by the same client reader
//! (`wire::Dialect`) as an HTTP/1.1 one: the head and DATA frames are handed to it as an HTTP/1.1 head with a
//! chunked body, so content decoding, the body limit, status rules and failure texts are the locustfile's
//! client's, exactly as over HTTP/1.1; the head it returns is then replaced by the real HTTP/2 header list.
//!
//! Its body is watched as an HTTP/1.1 one is (`events`: a call that streams, or an event stream), each DATA frame
//! timed when its bytes reached the socket (`frames`), and the request sent when its END_STREAM frame was written.
//! The body is read whole before the call returns, `stream=True` or not.
//!
//! NOTE (timeouts): as over HTTP/1.1, the connect timeout bounds TCP, TLS and the HTTP/2 preface, the read
//! timeout bounds the wait for the response head and then each wait for a DATA frame.
use super::frames::{Log, Stamped};
use super::{Failed, RawResponse, Stamps, Stream, read_error};
use crate::http::HttpError;
use crate::http::events::{Framing, Watch};
use crate::http::wire::{self, Reader, Step};
use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use http::{HeaderMap, HeaderValue, Request, Uri};
use parking_lot::Mutex;
use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::time::Instant;

/// Per-stream and per-connection receive windows: large enough that a big body on loopback is not held back by
/// WINDOW_UPDATE round trips (the window is credit, not memory: frames are consumed as they arrive).
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 4 << 20;

/// Headers HTTP/2 forbids in requests (RFC 9113 §8.2.2): requests sends `Connection: keep-alive`, and a
/// locustfile may set any of them; they describe the HTTP/1.1 connection and are dropped. `Host` becomes
/// `:authority` (see `build_request`).
fn connection_specific(name: &http::HeaderName) -> bool {
    use http::header::*;
    [CONNECTION, TRANSFER_ENCODING, UPGRADE, HOST].contains(name)
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// A request handle to an HTTP/2 connection and the stamps of its frames (`frames`).
#[derive(Clone)]
pub(super) struct Handle {
    send: SendRequest<Bytes>,
    log: Arc<Mutex<Log>>,
}

/// The HTTP/2 client handshake on an open connection; the connection's frames are then driven by a task of its
/// own until every handle of it is dropped, and stamped as they pass (`frames`).
pub(super) async fn handshake(stream: Stream) -> Result<Handle, HttpError> {
    let (stream, log) = Stamped::new(stream);
    let mut builder = h2::client::Builder::new();
    builder
        .enable_push(false)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    match builder.handshake::<_, Bytes>(stream).await {
        Ok((send, connection)) => {
            // how the connection ended reaches the requests on it; nothing else needs it
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(Handle { send, log })
        }
        Err(e) => {
            let e = io_error(e);
            Err(HttpError::Aborted {
                errno: e.raw_os_error().unwrap_or(104),
                text: crate::http::strerror(&e),
            })
        }
    }
}

/// An h2 error as the I/O error the client's reader words (a reset stream or a protocol error reads as a
/// connection that ended; the text says which).
fn io_error(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e
            .into_io()
            .unwrap_or_else(|| io::ErrorKind::ConnectionReset.into());
    }
    match e.reason() {
        Some(h2::Reason::NO_ERROR)
        | Some(h2::Reason::CANCEL)
        | Some(h2::Reason::REFUSED_STREAM) => io::ErrorKind::ConnectionReset.into(),
        _ => io::Error::other(format!("HTTP/2 error: {e}")),
    }
}

/// Whether a failure of this error leaves the request unprocessed by the server, so a new connection may carry
/// it: the connection was gone before the stream opened, or the server refused the stream (RFC 9113 §8.7).
fn retryable(e: &h2::Error) -> bool {
    e.reason() == Some(h2::Reason::REFUSED_STREAM)
        || (e.is_go_away() && e.reason() == Some(h2::Reason::NO_ERROR))
}

fn failed(error: HttpError, closed_early: bool) -> Failed {
    Failed {
        error,
        closed_early,
        not_h2: false,
    }
}

/// Whether an error before the response head is the connection failing on the protocol itself, as it does when
/// the server answers the preface in HTTP/1.1 (not an I/O error, not a reset or GOAWAY the server sent).
fn protocol_failure(e: &h2::Error) -> bool {
    !e.is_io() && !e.is_remote()
}

/// One request and its response on an HTTP/2 connection.
pub(super) async fn attempt(handle: Handle, call: &super::Call<'_>) -> Result<RawResponse, Failed> {
    let Handle { send, log } = handle;
    let mut reader = wire::reader(call.dialect, call.ctx.clone());
    let read_limit = call.timeouts.read;
    let head_deadline = read_limit.map(|t| tokio::time::Instant::now() + t);
    let fail_io = |reader: &wire::AnyReader, e: io::Error| {
        let exc = if e.kind() == io::ErrorKind::TimedOut {
            reader.timeout()
        } else {
            reader.io_error(&e)
        };
        read_error(exc, reader.head())
    };

    let mut send = match send.ready().await {
        Ok(s) => s,
        // the connection ended while idle (GOAWAY, closed): the request was never sent
        Err(e) => return Err(failed(fail_io(&reader, io_error(e)), true)),
    };
    let request = match build_request(call) {
        Ok(r) => r,
        Err(e) => return Err(failed(e, false)),
    };
    let body = call.body;
    let (response, mut out) = match send.send_request(request, body.is_empty()) {
        Ok(pair) => pair,
        Err(e) => {
            let early = retryable(&e) || e.is_go_away() || !e.is_reset();
            return Err(failed(fail_io(&reader, io_error(e)), early));
        }
    };
    // the stream's stamps are forgotten however this attempt ends
    let stamps = Claim {
        log: &log,
        id: u32::from(response.stream_id()),
    };
    // the body, as the peer's flow-control window allows, on a task of its own: a server may answer before it
    // has read the whole body (e.g. 413), and then the answer counts and the rest is dropped with the stream
    if !body.is_empty() {
        let mut rest = Bytes::copy_from_slice(body);
        tokio::spawn(async move {
            while !rest.is_empty() {
                out.reserve_capacity(rest.len());
                let n = match poll_fn(|cx| out.poll_capacity(cx)).await {
                    Some(Ok(n)) => n.min(rest.len()),
                    _ => return,
                };
                if n == 0 {
                    continue;
                }
                let chunk = rest.split_to(n);
                if out.send_data(chunk, rest.is_empty()).is_err() {
                    return;
                }
            }
        });
    }
    let head = response;
    let head = match head_deadline {
        Some(d) => match tokio::time::timeout_at(d, head).await {
            Ok(r) => r,
            Err(_) => {
                return Err(failed(
                    fail_io(&reader, io::ErrorKind::TimedOut.into()),
                    false,
                ));
            }
        },
        None => head.await,
    };
    let response = match head {
        Ok(r) => r,
        Err(e) => {
            let (early, not_h2) = (retryable(&e), protocol_failure(&e));
            let mut f = failed(fail_io(&reader, io_error(e)), early);
            f.not_h2 = not_h2;
            return Err(f);
        }
    };
    let now = Instant::now();
    let (head_at, sent) = stamps.head();
    let head_at = head_at.unwrap_or(now);
    let mut body_at = None;
    // when the bytes the reader holds arrived (the latest DATA frame it got)
    let mut read_at = head_at;
    let mut watch: Option<Box<Watch>> = None;
    let (parts, mut data) = response.into_parts();
    let mut buf = BytesMut::with_capacity(512);
    synthetic_head(&mut buf, parts.status, &parts.headers);
    let mut ended = false;
    let complete = loop {
        match reader.feed(&mut buf) {
            Ok(Step::More) => {
                if let Some(w) = watch.as_mut() {
                    w.grown(reader.body_so_far(), read_at);
                }
            }
            Ok(Step::Head) => {
                // watched as over HTTP/1.1: a call that streams, or an event stream
                let framing = Framing::of(
                    parts
                        .headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok()),
                );
                if call.watch || framing.is_events() {
                    watch = Some(Box::new(Watch::new(framing)));
                }
                continue;
            }
            Ok(Step::Done(c)) => {
                if let Some(w) = watch.as_mut() {
                    let end = stamps.finish().unwrap_or(read_at).max(read_at);
                    w.grown(c.encoded.as_deref().unwrap_or(&c.body), read_at);
                    w.end(end);
                }
                break c;
            }
            Err(e) => return Err(failed(read_error(e, reader.head()), false)),
        }
        if ended {
            // the reader wanted more after the last chunk: a framing it does not accept
            let e = reader.io_error(&io::ErrorKind::UnexpectedEof.into());
            return Err(failed(read_error(e, reader.head()), false));
        }
        let next = data.data();
        let next = match read_limit {
            Some(t) => match tokio::time::timeout(t, next).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(failed(
                        fail_io(&reader, io::ErrorKind::TimedOut.into()),
                        false,
                    ));
                }
            },
            None => next.await,
        };
        match next {
            Some(Ok(chunk)) => {
                let _ = data.flow_control().release_capacity(chunk.len());
                if !chunk.is_empty() {
                    read_at = stamps.take(chunk.len()).unwrap_or_else(Instant::now);
                    body_at.get_or_insert(read_at);
                    buf.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    buf.extend_from_slice(&chunk);
                    buf.extend_from_slice(b"\r\n");
                }
            }
            Some(Err(e)) => return Err(failed(fail_io(&reader, io_error(e)), false)),
            None => {
                buf.extend_from_slice(b"0\r\n\r\n");
                ended = true;
            }
        }
    };
    let mut head = complete.head;
    head.headers = crate::http::Fields::new();
    for (n, v) in &parts.headers {
        head.headers
            .push_latin1(n.as_str().as_bytes(), v.as_bytes());
    }
    head.reason = parts.status.canonical_reason().unwrap_or("").into();
    head.version = 20;
    Ok(RawResponse {
        head,
        body: complete.body,
        encoded: complete.encoded,
        stamps: Stamps {
            setup: None,
            sent,
            head: Some(head_at),
            first_byte: body_at,
            socket_wait: std::time::Duration::ZERO,
        },
        tail: None,
        marks: watch.map(|w| Box::new(w.into_marks())),
    })
}

/// One stream's stamps in its connection's [`Log`], forgotten when the attempt ends (`Drop`).
struct Claim<'a> {
    log: &'a Mutex<Log>,
    id: u32,
}

impl Claim<'_> {
    fn head(&self) -> (Option<Instant>, Option<Instant>) {
        self.log.lock().head(self.id)
    }

    fn take(&self, n: usize) -> Option<Instant> {
        self.log.lock().take(self.id, n)
    }

    fn finish(&self) -> Option<Instant> {
        self.log.lock().finish(self.id)
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.log.lock().finish(self.id);
    }
}

/// The response head as the HTTP/1.1 reader takes it: the status and headers, the body chunked (HTTP/2 frames
/// the body itself, so its own framing headers are left out).
fn synthetic_head(buf: &mut BytesMut, status: http::StatusCode, headers: &HeaderMap) {
    buf.extend_from_slice(b"HTTP/1.1 ");
    buf.extend_from_slice(status.as_str().as_bytes());
    buf.extend_from_slice(b" ");
    buf.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    buf.extend_from_slice(b"\r\n");
    for (n, v) in headers {
        if n == http::header::CONTENT_LENGTH || n == http::header::TRANSFER_ENCODING {
            continue;
        }
        buf.extend_from_slice(n.as_str().as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(v.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    buf.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
}

/// The request as HTTP/2 sends it: `:authority` from a `Host` header when the locustfile gave one, else from
/// the URL; the HTTP/1.1 connection headers left out.
fn build_request(call: &super::Call<'_>) -> Result<Request<()>, HttpError> {
    let url = call.url;
    let mut authority = match call.headers.get(http::header::HOST) {
        Some(h) => String::from_utf8_lossy(h.as_bytes()).into_owned(),
        None => url.host_str().unwrap_or("").to_string(),
    };
    if call.headers.get(http::header::HOST).is_none()
        && let Some(port) = url.port()
    {
        authority.push(':');
        authority.push_str(&port.to_string());
    }
    let path = crate::http::path_url(url);
    let uri = Uri::builder()
        .scheme(url.scheme())
        .authority(authority.as_str())
        .path_and_query(path.as_str())
        .build()
        .map_err(|e| HttpError::InvalidUrl(format!("Invalid URL {:?}: {e}", url.as_str())))?;
    let mut request = Request::builder()
        .method(call.method.clone())
        .uri(uri)
        .body(())
        .map_err(|e| HttpError::InvalidUrl(format!("Invalid request: {e}")))?;
    let headers = request.headers_mut();
    for (name, value) in call.headers {
        if connection_specific(name) {
            continue;
        }
        if name == http::header::TE && value.as_bytes() != b"trailers" {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    if !call.body.is_empty() && !headers.contains_key(http::header::CONTENT_LENGTH) {
        headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(call.body.len()),
        );
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::wire::{Context, Dialect, Limits};
    use http::Method;
    use std::sync::Arc;

    fn call<'a>(
        url: &'a url::Url,
        headers: &'a HeaderMap,
        body: &'a [u8],
        ctx: &'a Arc<Context>,
    ) -> super::super::Call<'a> {
        super::super::Call {
            verify: false,
            method: &Method::POST,
            url,
            headers,
            extra_head: b"",
            body,
            dialect: Dialect::Requests,
            ctx,
            timeouts: Default::default(),
            connect_timeout: "",
            retries_on_close: 0,
            proxy: None,
            tls: None,
            http2: true,
            stream: false,
            watch: false,
        }
    }

    #[test]
    fn request_drops_connection_headers_and_takes_authority_from_host() {
        let url = url::Url::parse("https://example.test:8443/a/b?q=1").unwrap();
        let ctx = Arc::new(Context {
            method: "POST".into(),
            url: url.to_string(),
            pool: None,
            forwarded: false,
            read_timeout: None,
            limits: Limits::default(),
        });
        let mut headers = HeaderMap::new();
        headers.insert("connection", HeaderValue::from_static("keep-alive"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("te", HeaderValue::from_static("gzip"));
        headers.insert("x-kept", HeaderValue::from_static("yes"));
        let r = build_request(&call(&url, &headers, b"body", &ctx)).unwrap();
        assert_eq!(r.uri().to_string(), "https://example.test:8443/a/b?q=1");
        let names: Vec<&str> = r.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-kept", "content-length"]);
        headers.insert("host", HeaderValue::from_static("other.test"));
        let r = build_request(&call(&url, &headers, b"", &ctx)).unwrap();
        assert_eq!(r.uri().authority().unwrap().as_str(), "other.test");
        assert!(!r.headers().contains_key("host"));
    }

    #[test]
    fn the_synthetic_head_is_read_as_the_response_with_a_chunked_body() {
        let mut headers = HeaderMap::new();
        headers.insert("content-length", HeaderValue::from_static("5"));
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        let mut buf = BytesMut::new();
        synthetic_head(&mut buf, http::StatusCode::NOT_FOUND, &headers);
        assert_eq!(
            &buf[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }
}
