//! The one place where what happened to a request becomes records: its row and failure row in the statistics,
//! the generator's own lateness, and OpenTelemetry's request metrics and span.
//!
//! Who calls it: the engine at a call's completion ([`Recorder::call`], on tokio workers); `py` for what Python
//! reports or measures ([`Recorder::reported`], [`Recorder::failure`], [`Recorder::open_trace`], [`wait_late`],
//! [`hub_late`], on the hub thread). Nothing below `engine` writes statistics: `http` hands over a call's
//! [`Timings`](crate::http::Timings) and the bridge how long a batch waited, and the decisions of what a figure
//! means (a `stream=True` call is timed to its head, as Locust times it) are made here.
//!
//! What it must not do: touch Python, block, or cost more per call than the writes it makes (the statistics' one
//! row lock, an unset `OnceLock` load when `--otel` is off). The one exception, [`count_tokens`] (`--tokenizer`:
//! a stream's content and a prompt counted, milliseconds for a long answer), is called on tokio's blocking pool.
//!
//! To record something new about a request: have `http`'s connection observe it into its `Stamps` (declared once,
//! in `http::timings`, and carried here as they are), decide here what it becomes, and write it through `stats`
//! (or `otel`), so every source of requests records it the same way.
use crate::http::{self, CallMeta, CallTrace, Flavor, Outcome};
use crate::stats::{RequestStats, lateness};
use std::sync::Arc;
use std::time::Duration;

/// Records requests into one run's statistics (and the process's lateness and OpenTelemetry instruments).
#[derive(Clone)]
pub struct Recorder {
    stats: Arc<RequestStats>,
}

impl Recorder {
    pub fn new(stats: Arc<RequestStats>) -> Recorder {
        Recorder { stats }
    }

    /// A call the engine ran has ended with `outcome`; `failure` is its text under the default success rule.
    /// `row`: whether it is a request of the statistics (not when `catch_response=True` leaves the verdict to the
    /// locustfile, when its error escapes into the task, or when its user was killed while it ran). Returns the
    /// response time recorded (or that a verdict from Python will record) in ms.
    pub fn call(
        &self,
        meta: &CallMeta,
        outcome: &Outcome,
        failure: Option<&str>,
        row: bool,
    ) -> f64 {
        let t = &outcome.timings;
        if !t.hop.socket_wait.is_zero() {
            lateness::record_socket(t.hop.socket_wait.as_micros() as u64);
        }
        // requests returns from a `stream=True` call with the head, before the body: Locust times it there
        let response_ms = if meta.stream {
            t.head_ms()
        } else {
            t.response_ms()
        };
        if row {
            // the call's end as Unix time, from its start's (one clock read fewer per request than asking again)
            let now = t.start_unix + t.end.saturating_duration_since(t.start).as_secs_f64();
            let len = outcome
                .response
                .as_ref()
                .map(|r| http::recorded_length(r, meta.stream) as u64)
                .unwrap_or(0);
            self.stats.log_request_paced(
                &meta.method_label,
                &meta.name,
                Some(response_ms),
                len,
                now,
                meta.pacing_ms,
            );
            if let Some(f) = failure {
                self.stats.log_error(&meta.method_label, &meta.name, f, now);
            }
            crate::otel::record::request(&meta.name, Some(response_ms), failure);
        }
        crate::otel::record::call_done(meta, outcome, response_ms, failure);
        response_ms
    }

    /// A request Python reports (Locust's built-in `request` listener: `events.request.fire`, a
    /// `catch_response` verdict, a locustfile's own client). `pacing_ms`: the fixed-rate interval of the user that
    /// made it, for the coordinated-omission correction.
    pub fn reported(
        &self,
        request_type: &str,
        name: &str,
        response_time: Option<f64>,
        response_length: u64,
        error: Option<&str>,
        pacing_ms: Option<f64>,
    ) {
        let now = crate::log::now();
        self.stats.log_request_paced(
            request_type,
            name,
            response_time,
            response_length,
            now,
            pacing_ms,
        );
        if let Some(e) = error {
            self.stats.log_error(request_type, name, e, now);
        }
        crate::otel::record::request(name, response_time, error);
    }

    /// A watched body of request `name` ended (or was abandoned) with `marks` (`http::events`): its metric rows,
    /// never requests. `ttft` (the request sent, its last byte written, to the first content event; for a body that
    /// is no event stream, its first byte) and `itl` (the gaps between content events) are kept for any stream, as
    /// measured; `e2e` (the request sent to the body's end), `output_tokens` (the stream's `usage`; without one, with
    /// `--tokenizer`, the count [`count_tokens`] put there) and `tpot` ((e2e - ttft) / (tokens - 1)) only for one
    /// that ended cleanly.
    pub fn stream(&self, name: &str, t: &http::Timings, m: &http::Marks) {
        let now = crate::log::now();
        // from the request sent (the call's start where that is unknown)
        let from = t.hop.sent.unwrap_or(t.start);
        let since =
            |i: std::time::Instant| i.saturating_duration_since(from).as_secs_f64() * 1000.0;
        let put = |metric: &str, unit: &str, values: &[f64]| {
            // (the values are finite and >= 0 and the labels bounded by construction: it cannot be refused)
            let _ = self.stats.log_metric(metric, name, unit, values, now);
            crate::otel::record::metric(metric, name, unit, values);
        };
        let ttft = m.first.map(since);
        if let Some(v) = ttft {
            put(TTFT, MS, &[v]);
        }
        if !m.gaps_us.is_empty() {
            let gaps: Vec<f64> = m.gaps_us.iter().map(|&us| f64::from(us) / 1000.0).collect();
            put(ITL, MS, &gaps);
        }
        let Some(end) = m.end else {
            return;
        };
        let e2e = since(end);
        put(E2E, MS, &[e2e]);
        if let Some(tokens) = m.output_tokens {
            put(OUTPUT_TOKENS, TOKENS, &[tokens as f64]);
            if let Some(ttft) = ttft
                && tokens >= 2
            {
                put(TPOT, MS, &[(e2e - ttft).max(0.0) / (tokens - 1) as f64]);
            }
        }
    }

    /// The output tokens a whole (not streamed) JSON answer of request `name` reported in its `usage`.
    pub fn output_tokens(&self, name: &str, tokens: u64) {
        let values = [tokens as f64];
        let _ = self
            .stats
            .log_metric(OUTPUT_TOKENS, name, TOKENS, &values, crate::log::now());
        crate::otel::record::metric(OUTPUT_TOKENS, name, TOKENS, &values);
    }

    /// The input tokens of request `name` (with `--tokenizer`: [`count_tokens`], [`prompt_tokens`]).
    pub fn input_tokens(&self, name: &str, tokens: u64) {
        let values = [tokens as f64];
        let _ = self
            .stats
            .log_metric(INPUT_TOKENS, name, TOKENS, &values, crate::log::now());
        crate::otel::record::metric(INPUT_TOKENS, name, TOKENS, &values);
    }

    /// A value a locustfile records itself (the custom metric API): a metric row, never a request.
    pub fn metric(
        &self,
        metric: &str,
        name: &str,
        unit: &str,
        value: f64,
    ) -> Result<(), crate::stats::MetricError> {
        self.stats
            .log_metric(metric, name, unit, &[value], crate::log::now())?;
        crate::otel::record::metric(metric, name, unit, &[value]);
        Ok(())
    }

    /// A failure row without a request (Python's `log_error`).
    pub fn failure(&self, request_type: &str, name: &str, error: &str) {
        self.stats
            .log_error(request_type, name, error, crate::log::now());
    }

    /// What an observer opens for a call as it is built (`--otel` with traces: an HttpUser call's span, whose
    /// `traceparent` goes into `headers`).
    pub fn open_trace(
        &self,
        flavor: Flavor,
        method: &str,
        name: Option<&str>,
        url: &url::Url,
        headers: &mut Arc<http::HeaderList>,
    ) -> Option<Box<dyn CallTrace>> {
        crate::otel::record::start_span(flavor, method, name, url, headers)
    }
}

/// With `--tokenizer`, what the tokenizer counts for a watched body that ended (`None` without it): a stream that
/// ended cleanly without a usage count gets the count of its content's text as its `output_tokens` (in `m`);
/// returns its input tokens: the server's figure when it reported one (its usage's `prompt_tokens` /
/// `input_tokens`: it counts what the model read, chat template included), else the count of the prompt in the
/// request's JSON `body` ([`prompt_tokens`]). CPU work of milliseconds for a long answer: callers run it on
/// tokio's blocking pool, never on a worker that reads streams, nor on the Python thread.
pub fn count_tokens(m: &mut http::Marks, body: Option<&[u8]>) -> Option<u64> {
    let tok = crate::tokens::wire()?;
    if m.output_tokens.is_none()
        && m.end.is_some()
        && let Some(text) = m.text.as_deref()
    {
        m.output_tokens = tok.count(text).ok().map(|n| n as u64);
    }
    m.input_tokens.or_else(|| prompt_tokens(body?))
}

/// With `--tokenizer`, the tokens of the prompt in a request's JSON body (`prompt`, or `messages`: each text counted
/// on its own, and summed; `http::events::prompt_texts`); `None` without it, or for a body with no prompt.
pub fn prompt_tokens(body: &[u8]) -> Option<u64> {
    let tok = crate::tokens::wire()?;
    let mut n = 0u64;
    for t in http::events::prompt_texts(body)? {
        n += tok.count(&t).ok()? as u64;
    }
    Some(n)
}

/// The stream metrics' names and units (`Recorder::stream`), as every output shows them.
pub const TTFT: &str = "ttft";
pub const ITL: &str = "itl";
pub const E2E: &str = "e2e";
pub const TPOT: &str = "tpot";
pub const OUTPUT_TOKENS: &str = "output_tokens";
pub const INPUT_TOKENS: &str = "input_tokens";
const MS: &str = "ms";
pub const TOKENS: &str = "tokens";

/// A user's wait ended `seconds` after it was due (`TaskSet.wait`).
pub fn wait_late(seconds: f64) {
    lateness::record_wait(seconds);
}

/// `count` completions reached Python `waited` after the first of their batch was queued (the bridge's drain).
pub fn hub_late(waited: Duration, count: u64) {
    lateness::record_hub(waited.as_micros() as u64, count);
}
