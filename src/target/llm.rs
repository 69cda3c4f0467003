//! The target's OpenAI-style inference endpoints: `POST /v1/chat/completions` and `POST /v1/completions`,
//! streamed as server-sent events (`"stream": true`) on a token schedule, or answered whole; and the server's own
//! stamps of what it sent (`GET /v1/_stamps`), which the stream metrics are checked against.
//!
//! The schedule: the first token `ttft_ms` after the request arrived, then one every `itl_ms`, `max_tokens` (or
//! `max_completion_tokens`) of them; each from the command line's defaults (`--llm-ttft-ms`, `--llm-itl-ms`,
//! `--llm-tokens`), overridden per request by the query (`?ttft_ms=300&itl_ms=25&tokens=64`). Tokens go out at
//! absolute instants (start + ttft + k × itl), so a late timer does not shift the ones after it. A chat stream
//! opens with a role-only chunk at once (as vLLM's does: no token), ends with a `finish_reason` chunk, a usage
//! chunk when `stream_options.include_usage` is set, and `data: [DONE]`.
//!
//! Faults for the bad-stream tests, by query: `stall_after=N` (stop sending after N tokens, connection held
//! open), `reset_after=N` (close the connection after N tokens, mid-body), `garbage=1` (one malformed event
//! among the tokens). A query number out of its range (`ttft_ms`/`itl_ms` 0 to 600000, the others 0 to
//! `MAX_TOKENS`; not a number, `nan`, `inf`, negative, empty) is answered 400 with one line.
//!
//! A server of known capacity (`--llm-slots N`, 0 and so off by default): both endpoints then serve N requests at
//! once from one [`capacity::Pool`]; a request beyond them waits for a slot in arrival order, the response head
//! already sent, and its schedule (the chat stream's role chunk included) starts when it gets one: the first token
//! `ttft_ms` after the grant, so TTFT (from arrival) grows with the queue once the offered rate exceeds the
//! capacity. It holds the slot from the grant until its last token is due, `ttft_ms + (tokens − 1) × itl_ms`
//! (given back by `capacity`'s timer to the microsecond, even when the client has gone or a fault cut the stream;
//! a client gone while waiting leaves the queue). True capacity: `N × 1000 / (ttft_ms + (tokens − 1) × itl_ms)`
//! requests per second for requests of one schedule (8 slots, 20 ms, 5 ms, 32 tokens: 8000 / 175 = 45.7/s).
//! Past `capacity::MAX_WAITING` waiting requests, 503 with one line (a memory guard).
//!
//! `GET /v1/models` lists one model and `GET /health` answers 200, as vLLM's server does (benchmark clients such as
//! GuideLLM check them before they start).
//!
//! Who calls it: the target's router. What it must not do: bind anything but loopback (the target does), or
//! keep more than `MAX_STAMPS` stamps, or panic on any value of a request (a query number is checked first).
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::capacity;

/// Stamps kept (values of `ttft_ms` and `itl_ms` together); older ones are not replaced, newer ones dropped.
const MAX_STAMPS: usize = 2_000_000;

/// The longest schedule accepted (tokens), so a request cannot hold the server forever.
const MAX_TOKENS: u64 = 100_000;

/// The command line's schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub ttft_ms: f64,
    pub itl_ms: f64,
    pub tokens: u64,
    /// Requests served at once (0: no limit).
    pub slots: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            ttft_ms: 50.0,
            itl_ms: 10.0,
            tokens: 16,
            slots: 0,
        }
    }
}

static DEFAULTS: std::sync::OnceLock<Schedule> = std::sync::OnceLock::new();

/// The slots of `--llm-slots` (none when it is 0).
fn slots() -> Option<&'static capacity::Pool> {
    static POOL: std::sync::OnceLock<Option<capacity::Pool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let n = DEFAULTS.get_or_init(Schedule::default).slots;
        (n > 0).then(|| capacity::Pool::new(n))
    })
    .as_ref()
}

/// Set the defaults (once, at start).
pub fn set_defaults(s: Schedule) {
    let _ = DEFAULTS.set(s);
}

#[derive(Default)]
struct Stamps {
    /// Request arrival to the first content token written, ms.
    ttft_ms: Vec<f64>,
    /// Between consecutive content tokens written, ms.
    itl_ms: Vec<f64>,
    streams: u64,
}

static STAMPS: Mutex<Stamps> = Mutex::new(Stamps {
    ttft_ms: Vec::new(),
    itl_ms: Vec::new(),
    streams: 0,
});

/// The longest wait a query may ask for, before the first token or between two (10 minutes): the end of any
/// schedule stays far inside what an `Instant` plus a `Duration` can hold.
const MAX_WAIT_MS: f64 = 600_000.0;

/// A number of the query: `None` when absent; a value that is not a number from 0 to `max` (empty, `nan`, `inf`,
/// negative, too large) is refused: the one line of the 400 that answers it.
fn param(
    q: &std::collections::HashMap<String, String>,
    k: &str,
    max: f64,
) -> Result<Option<f64>, String> {
    let Some(text) = q.get(k) else {
        return Ok(None);
    };
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=max).contains(&v) => Ok(Some(v)),
        _ => {
            let shown: String = text.chars().take(40).collect();
            Err(format!(
                "{k}: expected a number from 0 to {max}, got {shown:?}\n"
            ))
        }
    }
}

/// The query's schedule and faults, each checked ([`param`]).
struct Asked {
    ttft_ms: Option<f64>,
    itl_ms: Option<f64>,
    tokens: Option<f64>,
    stall_after: Option<f64>,
    reset_after: Option<f64>,
}

impl Asked {
    fn read(q: &std::collections::HashMap<String, String>) -> Result<Asked, String> {
        let tokens = MAX_TOKENS as f64;
        Ok(Asked {
            ttft_ms: param(q, "ttft_ms", MAX_WAIT_MS)?,
            itl_ms: param(q, "itl_ms", MAX_WAIT_MS)?,
            tokens: param(q, "tokens", tokens)?,
            stall_after: param(q, "stall_after", tokens)?,
            reset_after: param(q, "reset_after", tokens)?,
        })
    }
}

/// When the server had read a request's head (set by the target's first middleware): the schedule's zero.
#[derive(Clone, Copy)]
pub struct Arrived(pub Instant);

/// `POST /v1/chat/completions`.
pub async fn chat(
    arrived: Option<Extension<Arrived>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> Response {
    respond(arrived, q, body, true).await
}

/// `POST /v1/completions`.
pub async fn completions(
    arrived: Option<Extension<Arrived>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> Response {
    respond(arrived, q, body, false).await
}

/// `GET /v1/models`: the one model it serves (what inference clients ask before they start).
pub async fn models() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({"object": "list", "data": [{"id": "rlocust-mock", "object": "model", "owned_by": "rlocust"}]})
            .to_string(),
    )
        .into_response()
}

/// `GET /v1/_stamps`: what the server sent, as it stamped it: streams completed, and `ttft_ms` and `itl_ms` as
/// `count`, `p50`, `p90`, `p99`, `max` (exact: sorted values). `?reset=1` forgets them after answering.
pub async fn stamps(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let mut s = STAMPS.lock().unwrap_or_else(|e| e.into_inner());
    let summary = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |p: f64| {
            if v.is_empty() {
                Value::Null
            } else {
                let i = ((v.len() as f64 * p) as usize).min(v.len() - 1);
                json!(v[i])
            }
        };
        json!({"count": v.len(), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0)})
    };
    let doc =
        json!({"streams": s.streams, "ttft_ms": summary(&s.ttft_ms), "itl_ms": summary(&s.itl_ms)});
    if q.contains_key("reset") {
        *s = Stamps::default();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

async fn respond(
    arrived: Option<Extension<Arrived>>,
    q: std::collections::HashMap<String, String>,
    body: Bytes,
    chat: bool,
) -> Response {
    let arrived = arrived.map_or_else(Instant::now, |a| a.0.0);
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                json!({"error": {"message": "the body must be a JSON object", "type": "invalid_request_error"}})
                    .to_string(),
            )
                .into_response();
        }
    };
    let asked = match Asked::read(&q) {
        Ok(a) => a,
        Err(line) => return capacity::line(StatusCode::BAD_REQUEST, line),
    };
    let d = *DEFAULTS.get_or_init(Schedule::default);
    let tokens = asked
        .tokens
        .map(|t| t as u64)
        .or_else(|| req.get("max_completion_tokens").and_then(Value::as_u64))
        .or_else(|| req.get("max_tokens").and_then(Value::as_u64))
        .unwrap_or(d.tokens)
        .clamp(1, MAX_TOKENS);
    let plan = Plan {
        ttft: Duration::from_secs_f64(asked.ttft_ms.unwrap_or(d.ttft_ms) / 1000.0),
        itl: Duration::from_secs_f64(asked.itl_ms.unwrap_or(d.itl_ms) / 1000.0),
        tokens,
        chat,
        usage: req
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        stall_after: asked.stall_after.map(|n| n as u64),
        reset_after: asked.reset_after.map(|n| n as u64),
        garbage: q.contains_key("garbage"),
        model: req
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("rlocust-mock")
            .to_string(),
    };
    let ticket = match slots().map(|p| p.join(plan.service())).transpose() {
        Ok(t) => t,
        Err(line) => return capacity::line(StatusCode::SERVICE_UNAVAILABLE, line),
    };
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        tokio::spawn(plan.stream(arrived, ticket, tx));
        let body = Body::from_stream(tokio_stream_of(rx));
        Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(body)
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    } else {
        let last = plan.service();
        match ticket {
            Some(t) => {
                t.acquire().await.released().await;
            }
            None => tokio::time::sleep_until((arrived + last).into()).await,
        }
        let text = "tok ".repeat(plan.tokens as usize);
        let choice = if chat {
            json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"})
        } else {
            json!({"index": 0, "text": text, "finish_reason": "stop"})
        };
        let doc = json!({
            "id": "cmpl-rlocust", "object": if chat { "chat.completion" } else { "text_completion" },
            "model": plan.model, "choices": [choice],
            "usage": {"prompt_tokens": 8, "completion_tokens": plan.tokens, "total_tokens": 8 + plan.tokens},
        });
        (
            [(header::CONTENT_TYPE, "application/json")],
            doc.to_string(),
        )
            .into_response()
    }
}

/// A receiver as the body's stream of chunks.
fn tokio_stream_of(
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
}

struct Plan {
    ttft: Duration,
    itl: Duration,
    tokens: u64,
    chat: bool,
    usage: bool,
    stall_after: Option<u64>,
    reset_after: Option<u64>,
    garbage: bool,
    model: String,
}

impl Plan {
    /// From the schedule's start to its last token: how long a request holds its slot.
    fn service(&self) -> Duration {
        self.ttft + self.itl * (self.tokens.saturating_sub(1) as u32)
    }

    fn chunk(&self, content: Option<&str>, finish: bool) -> Bytes {
        let choice = if self.chat {
            let delta = match content {
                Some(c) => json!({"content": c}),
                None if finish => json!({}),
                None => json!({"role": "assistant", "content": ""}),
            };
            json!({"index": 0, "delta": delta, "finish_reason": if finish { json!("stop") } else { Value::Null }})
        } else {
            json!({"index": 0, "text": content.unwrap_or(""), "finish_reason": if finish { json!("stop") } else { Value::Null }})
        };
        let doc = json!({
            "id": "cmpl-rlocust",
            "object": if self.chat { "chat.completion.chunk" } else { "text_completion" },
            "model": self.model, "choices": [choice],
        });
        Bytes::from(format!("data: {doc}\n\n"))
    }

    async fn stream(
        self,
        arrived: Instant,
        ticket: Option<capacity::Ticket>,
        tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    ) {
        // the schedule's zero: the arrival, or the grant of a slot (held to the last token, whatever follows)
        let zero = match ticket {
            None => arrived,
            Some(t) => {
                tokio::select! {
                    g = t.acquire() => g.at,
                    _ = tx.closed() => return,
                }
            }
        };
        if self.chat && tx.send(Ok(self.chunk(None, false))).await.is_err() {
            return;
        }
        let mut sent: Vec<Instant> = Vec::with_capacity(self.tokens as usize);
        for k in 0..self.tokens {
            if self.stall_after == Some(k) {
                // hold the connection open, sending nothing, until the client goes
                tx.closed().await;
                return;
            }
            if self.reset_after == Some(k) {
                // (a pause first: hyper drops what it has not written yet when the body fails)
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tx
                    .send(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "reset",
                    )))
                    .await;
                return;
            }
            let due = zero + self.ttft + self.itl * (k as u32);
            tokio::time::sleep_until(due.into()).await;
            if self.garbage
                && k == 1
                && tx
                    .send(Ok(Bytes::from_static(b"data: {not json\n\n")))
                    .await
                    .is_err()
            {
                return;
            }
            sent.push(Instant::now());
            if tx.send(Ok(self.chunk(Some("tok "), false))).await.is_err() {
                return;
            }
        }
        let mut tail = Vec::new();
        tail.extend_from_slice(&self.chunk(None, true));
        if self.usage {
            let usage = json!({
                "id": "cmpl-rlocust", "object": "chat.completion.chunk", "model": self.model, "choices": [],
                "usage": {"prompt_tokens": 8, "completion_tokens": self.tokens, "total_tokens": 8 + self.tokens},
            });
            tail.extend_from_slice(format!("data: {usage}\n\n").as_bytes());
        }
        tail.extend_from_slice(b"data: [DONE]\n\n");
        if tx.send(Ok(Bytes::from(tail))).await.is_err() {
            return;
        }
        let mut s = STAMPS.lock().unwrap_or_else(|e| e.into_inner());
        s.streams += 1;
        if let Some(first) = sent.first()
            && s.ttft_ms.len() + s.itl_ms.len() + sent.len() <= MAX_STAMPS
        {
            s.ttft_ms
                .push(first.duration_since(arrived).as_secs_f64() * 1000.0);
            for w in sent.windows(2) {
                s.itl_ms
                    .push(w[1].duration_since(w[0]).as_secs_f64() * 1000.0);
            }
        }
    }
}
