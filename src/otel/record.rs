//! The request-path hooks of `--otel`: `locust.client.duration` and `http.client.duration` into the SDK's
//! histograms, the W3C `traceparent` of an HttpUser call and its CLIENT span, and the `locust.users.count` gauge.
//!
//! Who calls it: `engine::record` alone: at a call's completion ([`call_done`], [`request`]) on tokio threads, for
//! requests reported from Python ([`request`]) and when an HttpUser call is built ([`start_span`]) on the hub
//! thread; [`super::start`] installs the instruments. What it must not do: cost more than one load of
//! an unset `OnceLock` per call when `--otel` is off, allocate per call for a known request name, or block.
use crate::http::{CallMeta, CallTrace, Flavor, Outcome};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, MeterProvider};
use opentelemetry::trace::{Span, SpanId, SpanKind, Status, TraceId, Tracer, TracerProvider};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracer, SdkTracerProvider};
use parking_lot::RwLock;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Locust's `MAX_REQUEST_NAMES`: distinct `name` attributes before they are folded into one.
const MAX_REQUEST_NAMES: usize = 20;
const TOO_MANY: &str = "Too many unique request names";

struct Instruments {
    duration: Histogram<f64>,
    http_duration: Histogram<f64>,
    /// `rlocust.metric`: the metric rows' values (stream metrics, a locustfile's own), attributes `metric`, `name`,
    /// `unit`.
    metric: Histogram<f64>,
    /// The `name` attribute of each name seen so far (at most [`MAX_REQUEST_NAMES`]).
    names: RwLock<HashMap<String, KeyValue>>,
    too_many: KeyValue,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
static TRACER: OnceLock<SdkTracer> = OnceLock::new();
/// Set when HttpUser calls carry a `traceparent`: whenever OTEL_TRACES_EXPORTER names anything (Locust installs a
/// tracer provider then, even one without an exporter, and its requests instrumentation injects the header).
static PROPAGATE: OnceLock<()> = OnceLock::new();

pub(super) fn enable_propagation() {
    let _ = PROPAGATE.set(());
}

pub(super) fn install_meter(p: &SdkMeterProvider) {
    let meter = p.meter("locust");
    let duration = meter
        .f64_histogram("locust.client.duration")
        .with_unit("s")
        .with_description("Time to last byte for requests")
        .build();
    // what opentelemetry-instrumentation-requests records under Locust (old semantic conventions), under its scope
    let requests_scope =
        opentelemetry::InstrumentationScope::builder("opentelemetry.instrumentation.requests")
            .with_version("0.66b1")
            .with_schema_url("https://opentelemetry.io/schemas/1.11.0")
            .build();
    let http_duration = p
        .meter_with_scope(requests_scope)
        .f64_histogram("http.client.duration")
        .with_unit("ms")
        .with_description("measures the duration of the outbound HTTP request")
        .build();
    let metric = p
        .meter("rlocust")
        .f64_histogram("rlocust.metric")
        .with_description(
            "Stream metrics (ttft, itl, e2e, tpot, output_tokens) and custom metrics, in the unit of the unit attribute",
        )
        .build();
    let _ = INSTRUMENTS.set(Instruments {
        duration,
        http_duration,
        metric,
        names: RwLock::new(HashMap::new()),
        too_many: KeyValue::new("name", TOO_MANY),
    });
}

pub(super) fn install_tracer(p: &SdkTracerProvider) {
    let _ = TRACER.set(p.tracer("rlocust.http"));
}

/// `locust.users.count` from `counts` (called at each export).
pub(super) fn install_users_gauge(
    p: &SdkMeterProvider,
    counts: impl Fn() -> indexmap::IndexMap<String, u64> + Send + Sync + 'static,
) {
    // the callback stays registered with the provider (the handle itself holds nothing)
    let _gauge = p
        .meter("locust")
        .u64_observable_gauge("locust.users.count")
        .with_unit("{user}")
        .with_description("Number of currently running Locust users")
        .with_callback(move |obs| {
            for (class, n) in counts() {
                obs.observe(n, &[KeyValue::new("user_class", class)]);
            }
        })
        .build();
}

/// The exception class in a failure's text (`HTTPError('...')` → `HTTPError`); a text that is no exception's
/// repr is a plain string, as `str` is the class Locust would name for it.
fn error_type(text: &str) -> &str {
    let head = text.split('(').next().unwrap_or("").trim();
    let ident = !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !head.starts_with(|c: char| c.is_ascii_digit());
    if ident && text.len() > head.len() {
        head
    } else {
        "str"
    }
}

/// One request as Locust's `request` listener records it: its time in seconds under its `name`, with
/// `error.type` when it failed. Requests without a time are not recorded (as in Locust).
#[inline]
pub fn request(name: &str, response_time_ms: Option<f64>, error: Option<&str>) {
    let Some(ins) = INSTRUMENTS.get() else {
        return;
    };
    let Some(ms) = response_time_ms else {
        return;
    };
    record_named(ins, name, ms / 1000.0, error);
}

/// Values of a metric row (`engine::record`: a stream's metrics at its end, a locustfile's own).
pub fn metric(metric: &str, name: &str, unit: &str, values: &[f64]) {
    let Some(ins) = INSTRUMENTS.get() else {
        return;
    };
    let attrs = [
        KeyValue::new("metric", metric.to_owned()),
        KeyValue::new("name", name.to_owned()),
        KeyValue::new("unit", unit.to_owned()),
    ];
    for &v in values {
        ins.metric.record(v, &attrs);
    }
}

fn record_named(ins: &Instruments, name: &str, secs: f64, error: Option<&str>) {
    let record = |kv: &KeyValue| match error {
        None => ins.duration.record(secs, std::slice::from_ref(kv)),
        Some(e) => ins.duration.record(
            secs,
            &[
                kv.clone(),
                KeyValue::new("error.type", error_type(e).to_string()),
            ],
        ),
    };
    {
        let names = ins.names.read();
        if let Some(kv) = names.get(name) {
            return record(kv);
        }
        if names.len() >= MAX_REQUEST_NAMES {
            return record(&ins.too_many);
        }
    }
    let kv = {
        let mut names = ins.names.write();
        if names.len() >= MAX_REQUEST_NAMES && !names.contains_key(name) {
            ins.too_many.clone()
        } else {
            names
                .entry(name.to_string())
                .or_insert_with(|| KeyValue::new("name", name.to_string()))
                .clone()
        }
    };
    record(&kv);
}

/// The span of one HttpUser call from its start to its completion: its ids (already sent as `traceparent`) and
/// what the span will carry.
#[derive(Debug, Clone)]
pub struct CallSpan {
    trace_id: TraceId,
    span_id: SpanId,
    name: String,
    user_agent: Option<String>,
}

/// For an HttpUser call with tracing on: new ids, the `traceparent` header added to `headers` (replacing one the
/// locustfile set, as the instrumentation's injection does), and the span to end at completion (exported if a
/// traces exporter is there).
#[inline]
pub fn start_span(
    flavor: Flavor,
    method: &str,
    explicit_name: Option<&str>,
    url: &url::Url,
    headers: &mut std::sync::Arc<crate::http::HeaderList>,
) -> Option<Box<dyn CallTrace>> {
    PROPAGATE.get()?;
    if flavor != Flavor::Requests {
        return None;
    }
    // (the call's own copy of a shared header list)
    let headers = std::sync::Arc::make_mut(headers).pairs_mut();
    let ids = RandomIdGenerator::default();
    let (trace_id, span_id) = (ids.new_trace_id(), ids.new_span_id());
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("traceparent"));
    headers.push(("traceparent".into(), format!("00-{trace_id}-{span_id}-01")));
    let user_agent = headers
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.clone());
    let path = match url.path() {
        "" => "/",
        p => p,
    };
    Some(Box::new(CallSpan {
        trace_id,
        span_id,
        name: format!(
            "{} {}",
            method.to_uppercase(),
            explicit_name.unwrap_or(path)
        ),
        user_agent,
    }))
}

thread_local! {
    /// The ids the next span built on this thread takes (those already sent in its `traceparent`).
    static PINNED: Cell<Option<(TraceId, SpanId)>> = const { Cell::new(None) };
}

/// The tracer's id generator: the pinned ids of [`call_done`], random ones otherwise.
#[derive(Debug)]
pub(super) struct PinnedIds;

impl IdGenerator for PinnedIds {
    fn new_trace_id(&self) -> TraceId {
        PINNED
            .with(|p| p.get().map(|(t, _)| t))
            .unwrap_or_else(|| RandomIdGenerator::default().new_trace_id())
    }
    fn new_span_id(&self) -> SpanId {
        PINNED
            .with(|p| p.get().map(|(_, s)| s))
            .unwrap_or_else(|| RandomIdGenerator::default().new_span_id())
    }
}

fn unix(t: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(t.max(0.0))
}

/// A call has completed: end its span and record `http.client.duration` (HttpUser calls only, as the requests
/// instrumentation records them under Locust).
#[inline]
pub fn call_done(meta: &CallMeta, outcome: &Outcome, response_ms: f64, failure: Option<&str>) {
    if meta.flavor != Flavor::Requests {
        return;
    }
    let ins = INSTRUMENTS.get();
    if ins.is_none() && meta.trace.is_none() {
        return;
    }
    if let Some(ins) = ins {
        let url = &meta.request_url;
        let mut attrs = vec![
            KeyValue::new("http.method", meta.method_label.to_uppercase()),
            KeyValue::new("http.scheme", url.scheme().to_string()),
            KeyValue::new("http.host", url.host_str().unwrap_or("").to_string()),
            KeyValue::new("net.peer.name", url.host_str().unwrap_or("").to_string()),
            KeyValue::new(
                "net.peer.port",
                i64::from(url.port_or_known_default().unwrap_or(0)),
            ),
        ];
        if let Some(r) = &outcome.response {
            attrs.push(KeyValue::new("http.status_code", i64::from(r.status)));
            let flavor = match r.version {
                10 => "1.0",
                20 => "2",
                _ => "1.1",
            };
            attrs.push(KeyValue::new("http.flavor", flavor));
        }
        ins.http_duration.record(response_ms, &attrs);
    }
    if let Some(span) = &meta.trace {
        span.end(meta, outcome, response_ms, failure);
    }
}

impl CallTrace for CallSpan {
    /// Export the call's CLIENT span (when a tracer is installed) with the ids its `traceparent` announced.
    fn end(&self, meta: &CallMeta, outcome: &Outcome, response_ms: f64, failure: Option<&str>) {
        let Some(tracer) = TRACER.get() else {
            return;
        };
        end_span(self, tracer, meta, outcome, response_ms, failure);
    }
}

fn end_span(
    span: &CallSpan,
    tracer: &SdkTracer,
    meta: &CallMeta,
    outcome: &Outcome,
    response_ms: f64,
    failure: Option<&str>,
) {
    let status = outcome.response.as_ref().map(|r| r.status);
    let start = unix(outcome.timings.start_unix);
    let end = start + Duration::from_secs_f64((response_ms / 1000.0).max(0.0));
    let mut attrs = vec![
        KeyValue::new("http.method", meta.method_label.to_uppercase()),
        KeyValue::new("http.url", meta.request_url.to_string()),
    ];
    if let Some(ua) = &span.user_agent {
        attrs.push(KeyValue::new("user_agent.original", ua.clone()));
    }
    if let Some(s) = status {
        attrs.push(KeyValue::new("http.status_code", i64::from(s)));
    }
    PINNED.with(|p| p.set(Some((span.trace_id, span.span_id))));
    let mut s = tracer
        .span_builder(span.name.clone())
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes(attrs)
        .start(tracer);
    PINNED.with(|p| p.set(None));
    match (status, &outcome.error) {
        (Some(code), _) if code >= 400 => s.set_status(Status::error("")),
        (_, Some(_)) => s.set_status(Status::error(failure.unwrap_or("").to_string())),
        _ => {}
    }
    s.end_with_timestamp(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_is_the_exception_class() {
        assert_eq!(error_type("HTTPError('500 Server Error')"), "HTTPError");
        assert_eq!(
            error_type("CatchResponseError('no traceparent')"),
            "CatchResponseError"
        );
        assert_eq!(
            error_type("LocustBadStatusCode(code=500)"),
            "LocustBadStatusCode"
        );
        assert_eq!(error_type("it broke"), "str");
        assert_eq!(error_type("(x)"), "str");
    }
}
