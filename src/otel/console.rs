//! The `console` exporters of `--otel` (`OTEL_TRACES_EXPORTER=console`, `OTEL_METRICS_EXPORTER=console`,
//! `OTEL_LOGS_EXPORTER=console`): every span, metrics export and log record printed to stdout as the JSON the
//! Python SDK's console exporters print under Locust's otel extra (`to_json()` with an indent of 4: the same keys in
//! the same order, ids as `0x…` hex, times as ISO 8601 with microseconds or Unix nanoseconds, ASCII only). The
//! values are rlocust's own: its resource names the Rust SDK (`telemetry.sdk.language` is `rust`).
//!
//! Who calls it: [`super::start`] adds them to the providers, spans and logs through a simple (synchronous)
//! processor and metrics through a periodic reader, as Locust does. What it must not do: log (the logs bridge
//! would call back into it), or fail an export for a closed stdout (the lines are dropped then).
use crate::pyfmt::{format_utc_timestamp, py_float_repr};
use opentelemetry::logs::AnyValue;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, Exemplar, HistogramDataPoint, MetricData, ResourceMetrics,
};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A JSON value whose objects keep their keys in order (the Python SDK's order).
enum J {
    Null,
    Bool(bool),
    Int(i128),
    UInt(u128),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
    /// An object with keys that come from the data (attributes).
    Map(Vec<(String, J)>),
}

impl J {
    fn str(s: impl Into<String>) -> J {
        J::Str(s.into())
    }

    /// `json.dumps(value, indent=4)`: ", " and ": " separators, empty containers as `[]`/`{}`, non-ASCII
    /// escaped.
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        fn indent(out: &mut String, depth: usize) {
            out.push('\n');
            out.push_str(&"    ".repeat(depth));
        }
        fn entries<'a>(
            out: &mut String,
            depth: usize,
            items: impl ExactSizeIterator<Item = (&'a str, &'a J)>,
        ) {
            if items.len() == 0 {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in items.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                string(out, k);
                out.push_str(": ");
                v.write(out, depth + 1);
            }
            indent(out, depth);
            out.push('}');
        }
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(n) => out.push_str(&n.to_string()),
            J::UInt(n) => out.push_str(&n.to_string()),
            J::Float(x) if x.is_nan() => out.push_str("NaN"),
            J::Float(x) if x.is_infinite() => {
                out.push_str(if *x > 0.0 { "Infinity" } else { "-Infinity" })
            }
            J::Float(x) => out.push_str(&py_float_repr(*x)),
            J::Str(s) => string(out, s),
            J::Arr(items) if items.is_empty() => out.push_str("[]"),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    indent(out, depth + 1);
                    v.write(out, depth + 1);
                }
                indent(out, depth);
                out.push(']');
            }
            J::Obj(items) => entries(out, depth, items.iter().map(|(k, v)| (*k, v))),
            J::Map(items) => entries(out, depth, items.iter().map(|(k, v)| (k.as_str(), v))),
        }
    }
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`).
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Print one document and a newline on stdout (what the Python exporters write), flushed.
fn emit(doc: &J) {
    let mut text = doc.render();
    text.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// `2026-11-23T17:11:33.975372Z` (the SDK's `ns_to_iso_str`: UTC, always six fraction digits).
fn iso(t: SystemTime) -> J {
    let d = since_epoch(t);
    let seconds = format_utc_timestamp(d.as_secs() as f64);
    let seconds = seconds.trim_end_matches('Z');
    J::Str(format!("{seconds}.{:06}Z", d.subsec_micros()))
}

fn nanos(t: SystemTime) -> J {
    J::UInt(since_epoch(t).as_nanos())
}

fn value(v: &Value) -> J {
    match v {
        Value::Bool(b) => J::Bool(*b),
        Value::I64(n) => J::Int(i128::from(*n)),
        Value::F64(x) => J::Float(*x),
        Value::String(s) => J::str(s.as_str()),
        Value::Array(a) => J::Arr(match a {
            opentelemetry::Array::Bool(v) => v.iter().map(|b| J::Bool(*b)).collect(),
            opentelemetry::Array::I64(v) => v.iter().map(|n| J::Int(i128::from(*n))).collect(),
            opentelemetry::Array::F64(v) => v.iter().map(|x| J::Float(*x)).collect(),
            opentelemetry::Array::String(v) => v.iter().map(|s| J::str(s.as_str())).collect(),
            other => vec![J::str(other.to_string())],
        }),
        other => J::str(other.to_string()),
    }
}

fn any_value(v: &AnyValue) -> J {
    match v {
        AnyValue::Int(n) => J::Int(i128::from(*n)),
        AnyValue::Double(x) => J::Float(*x),
        AnyValue::String(s) => J::str(s.as_str()),
        AnyValue::Boolean(b) => J::Bool(*b),
        AnyValue::Bytes(b) => J::str(String::from_utf8_lossy(b)),
        AnyValue::ListAny(items) => J::Arr(items.iter().map(any_value).collect()),
        AnyValue::Map(m) => J::Map(
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), any_value(v)))
                .collect(),
        ),
        _ => J::Null,
    }
}

fn attributes<'a>(kvs: impl Iterator<Item = &'a KeyValue>) -> J {
    J::Map(
        kvs.map(|kv| (kv.key.as_str().to_string(), value(&kv.value)))
            .collect(),
    )
}

/// The order the Python SDK's resource has its attributes in under Locust (the SDK's own, then Locust's); others
/// (OTEL_RESOURCE_ATTRIBUTES) follow by name. The Rust SDK keeps them unordered.
const RESOURCE_ORDER: [&str; 9] = [
    "telemetry.sdk.language",
    "telemetry.sdk.name",
    "telemetry.sdk.version",
    "service.instance.id",
    "service.name",
    "service.version",
    "host.name",
    "filename",
    "profile",
];

/// `Resource.to_json()`: its attributes and schema URL.
fn resource(r: &Resource) -> J {
    let mut attrs: Vec<(String, J)> = r
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), value(v)))
        .collect();
    let rank = |k: &str| {
        RESOURCE_ORDER
            .iter()
            .position(|o| *o == k)
            .unwrap_or(RESOURCE_ORDER.len())
    };
    attrs.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    J::Obj(vec![
        ("attributes", J::Map(attrs)),
        ("schema_url", J::str(r.schema_url().unwrap_or(""))),
    ])
}

fn hex_id(bytes: &[u8]) -> J {
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    J::Str(format!("0x{digits}"))
}

/// `ConsoleSpanExporter`: one `ReadableSpan.to_json()` per span.
#[derive(Debug)]
pub struct Spans {
    resource: Resource,
}

impl Spans {
    pub fn new() -> Spans {
        Spans {
            resource: Resource::builder_empty().build(),
        }
    }

    fn document(&self, s: &opentelemetry_sdk::trace::SpanData) -> J {
        let ctx = &s.span_context;
        let kind = match s.span_kind {
            SpanKind::Client => "SpanKind.CLIENT",
            SpanKind::Server => "SpanKind.SERVER",
            SpanKind::Producer => "SpanKind.PRODUCER",
            SpanKind::Consumer => "SpanKind.CONSUMER",
            SpanKind::Internal => "SpanKind.INTERNAL",
        };
        let mut status = vec![];
        match &s.status {
            Status::Unset => status.push(("status_code", J::str("UNSET"))),
            Status::Ok => status.push(("status_code", J::str("OK"))),
            Status::Error { description } => {
                status.push(("status_code", J::str("ERROR")));
                if !description.is_empty() {
                    status.push(("description", J::str(description.to_string())));
                }
            }
        }
        let parent = if s.parent_span_id == opentelemetry::trace::SpanId::INVALID {
            J::Null
        } else {
            hex_id(&s.parent_span_id.to_bytes())
        };
        let events = s
            .events
            .iter()
            .map(|e| {
                J::Obj(vec![
                    ("name", J::str(e.name.to_string())),
                    ("timestamp", iso(e.timestamp)),
                    ("attributes", attributes(e.attributes.iter())),
                ])
            })
            .collect();
        let links = s
            .links
            .iter()
            .map(|l| {
                J::Obj(vec![
                    (
                        "context",
                        J::Obj(vec![
                            ("trace_id", hex_id(&l.span_context.trace_id().to_bytes())),
                            ("span_id", hex_id(&l.span_context.span_id().to_bytes())),
                            ("trace_state", J::str("[]")),
                        ]),
                    ),
                    ("attributes", attributes(l.attributes.iter())),
                ])
            })
            .collect();
        J::Obj(vec![
            ("name", J::str(s.name.to_string())),
            (
                "context",
                J::Obj(vec![
                    ("trace_id", hex_id(&ctx.trace_id().to_bytes())),
                    ("span_id", hex_id(&ctx.span_id().to_bytes())),
                    ("trace_state", J::str("[]")),
                ]),
            ),
            ("kind", J::str(kind)),
            ("parent_id", parent),
            ("start_time", iso(s.start_time)),
            ("end_time", iso(s.end_time)),
            ("status", J::Obj(status)),
            ("attributes", attributes(s.attributes.iter())),
            ("events", J::Arr(events)),
            ("links", J::Arr(links)),
            ("resource", resource(&self.resource)),
        ])
    }
}

impl opentelemetry_sdk::trace::SpanExporter for Spans {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        for s in &batch {
            emit(&self.document(s));
        }
        Ok(())
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

/// `ConsoleMetricExporter`: one `MetricsData.to_json()` per export.
#[derive(Debug)]
pub struct Metrics;

fn scope(s: &opentelemetry::InstrumentationScope) -> J {
    let mut attrs = s.attributes().peekable();
    let attrs = if attrs.peek().is_none() {
        J::Null
    } else {
        attributes(attrs)
    };
    J::Obj(vec![
        ("name", J::str(s.name())),
        ("version", J::str(s.version().unwrap_or(""))),
        ("schema_url", J::str(s.schema_url().unwrap_or(""))),
        ("attributes", attrs),
    ])
}

/// The Python SDK's `AggregationTemporality` numbers.
fn temporality(t: Temporality) -> J {
    J::Int(match t {
        Temporality::Delta => 1,
        _ => 2,
    })
}

trait Num: Copy {
    fn json(self) -> J;
}
impl Num for f64 {
    fn json(self) -> J {
        J::Float(self)
    }
}
impl Num for u64 {
    fn json(self) -> J {
        J::UInt(u128::from(self))
    }
}
impl Num for i64 {
    fn json(self) -> J {
        J::Int(i128::from(self))
    }
}

fn exemplars<'a, T: Num + 'a>(e: impl Iterator<Item = &'a Exemplar<T>>) -> J {
    J::Arr(
        e.map(|x| {
            J::Obj(vec![
                ("filtered_attributes", attributes(x.filtered_attributes())),
                ("value", x.value.json()),
                ("time_unix_nano", nanos(x.time())),
                (
                    "span_id",
                    J::UInt(u128::from(u64::from_be_bytes(*x.span_id()))),
                ),
                ("trace_id", J::UInt(u128::from_be_bytes(*x.trace_id()))),
            ])
        })
        .collect(),
    )
}

fn histogram_point<T: Num>(p: &HistogramDataPoint<T>, start: SystemTime, time: SystemTime) -> J {
    J::Obj(vec![
        ("attributes", attributes(p.attributes())),
        ("start_time_unix_nano", nanos(start)),
        ("time_unix_nano", nanos(time)),
        ("count", J::UInt(u128::from(p.count()))),
        ("sum", p.sum().json()),
        (
            "bucket_counts",
            J::Arr(p.bucket_counts().map(|n| J::UInt(u128::from(n))).collect()),
        ),
        (
            "explicit_bounds",
            J::Arr(p.bounds().map(J::Float).collect()),
        ),
        ("min", p.min().map_or(J::Null, Num::json)),
        ("max", p.max().map_or(J::Null, Num::json)),
        ("exemplars", exemplars(p.exemplars())),
    ])
}

fn metric_data<T: Num>(d: &MetricData<T>) -> J {
    match d {
        MetricData::Gauge(g) => J::Obj(vec![(
            "data_points",
            J::Arr(
                g.data_points()
                    .map(|p| {
                        J::Obj(vec![
                            ("attributes", attributes(p.attributes())),
                            (
                                "start_time_unix_nano",
                                g.start_time().map_or(J::Null, nanos),
                            ),
                            ("time_unix_nano", nanos(g.time())),
                            ("value", p.value().json()),
                            ("exemplars", exemplars(p.exemplars())),
                        ])
                    })
                    .collect(),
            ),
        )]),
        MetricData::Sum(s) => J::Obj(vec![
            (
                "data_points",
                J::Arr(
                    s.data_points()
                        .map(|p| {
                            J::Obj(vec![
                                ("attributes", attributes(p.attributes())),
                                ("start_time_unix_nano", nanos(s.start_time())),
                                ("time_unix_nano", nanos(s.time())),
                                ("value", p.value().json()),
                                ("exemplars", exemplars(p.exemplars())),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("aggregation_temporality", temporality(s.temporality())),
            ("is_monotonic", J::Bool(s.is_monotonic())),
        ]),
        MetricData::Histogram(h) => J::Obj(vec![
            (
                "data_points",
                J::Arr(
                    h.data_points()
                        .map(|p| histogram_point(p, h.start_time(), h.time()))
                        .collect(),
                ),
            ),
            ("aggregation_temporality", temporality(h.temporality())),
        ]),
        MetricData::ExponentialHistogram(h) => J::Obj(vec![
            (
                "data_points",
                J::Arr(
                    h.data_points()
                        .map(|p| {
                            J::Obj(vec![
                                ("attributes", attributes(p.attributes())),
                                ("start_time_unix_nano", nanos(h.start_time())),
                                ("time_unix_nano", nanos(h.time())),
                                ("count", J::UInt(p.count() as u128)),
                                ("sum", p.sum().json()),
                                ("scale", J::Int(i128::from(p.scale()))),
                                ("zero_count", J::UInt(u128::from(p.zero_count()))),
                                ("min", p.min().map_or(J::Null, Num::json)),
                                ("max", p.max().map_or(J::Null, Num::json)),
                                ("exemplars", exemplars(p.exemplars())),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("aggregation_temporality", temporality(h.temporality())),
        ]),
    }
}

impl Metrics {
    fn document(m: &ResourceMetrics) -> J {
        let scopes = m
            .scope_metrics()
            .map(|sm| {
                let metrics = sm
                    .metrics()
                    .map(|metric| {
                        let data = match metric.data() {
                            AggregatedMetrics::F64(d) => metric_data(d),
                            AggregatedMetrics::U64(d) => metric_data(d),
                            AggregatedMetrics::I64(d) => metric_data(d),
                        };
                        J::Obj(vec![
                            ("name", J::str(metric.name())),
                            ("description", J::str(metric.description())),
                            ("unit", J::str(metric.unit())),
                            ("data", data),
                        ])
                    })
                    .collect();
                J::Obj(vec![
                    ("scope", scope(sm.scope())),
                    ("metrics", J::Arr(metrics)),
                    ("schema_url", J::str(sm.scope().schema_url().unwrap_or(""))),
                ])
            })
            .collect();
        J::Obj(vec![(
            "resource_metrics",
            J::Arr(vec![J::Obj(vec![
                ("resource", resource(m.resource())),
                ("scope_metrics", J::Arr(scopes)),
                (
                    "schema_url",
                    J::str(m.resource().schema_url().unwrap_or("")),
                ),
            ])]),
        )])
    }
}

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for Metrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        emit(&Metrics::document(metrics));
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// `ConsoleLogRecordExporter`: one `LogRecord.to_json()` per record.
#[derive(Debug)]
pub struct Logs {
    resource: Resource,
}

impl Logs {
    pub fn new() -> Logs {
        Logs {
            resource: Resource::builder_empty().build(),
        }
    }

    fn document(&self, r: &opentelemetry_sdk::logs::SdkLogRecord) -> J {
        let (trace_id, span_id, flags) = match r.trace_context() {
            Some(t) => (
                hex_id(&t.trace_id.to_bytes()),
                hex_id(&t.span_id.to_bytes()),
                J::Int(i128::from(t.trace_flags.map_or(0, |f| f.to_u8()))),
            ),
            None => (hex_id(&[0; 16]), hex_id(&[0; 8]), J::Int(0)),
        };
        J::Obj(vec![
            ("body", r.body().map_or(J::Null, any_value)),
            (
                "severity_number",
                r.severity_number()
                    .map_or(J::Null, |s| J::Int(i128::from(s as i32))),
            ),
            ("severity_text", r.severity_text().map_or(J::Null, J::str)),
            (
                "attributes",
                J::Map(
                    r.attributes_iter()
                        .map(|(k, v)| (k.as_str().to_string(), any_value(v)))
                        .collect(),
                ),
            ),
            ("dropped_attributes", J::Int(0)),
            ("timestamp", r.timestamp().map_or(J::Null, iso)),
            (
                "observed_timestamp",
                r.observed_timestamp().map_or(J::Null, iso),
            ),
            ("trace_id", trace_id),
            ("span_id", span_id),
            ("trace_flags", flags),
            ("resource", resource(&self.resource)),
            ("event_name", J::str(r.event_name().unwrap_or(""))),
        ])
    }
}

impl opentelemetry_sdk::logs::LogExporter for Logs {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        for (record, _scope) in batch.iter() {
            emit(&self.document(record));
        }
        Ok(())
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_pythons_indent_4_with_ascii_escapes() {
        let doc = J::Obj(vec![
            ("name", J::str("GET /h\u{e9}\"")),
            ("n", J::Int(-3)),
            ("x", J::Float(5.0)),
            ("empty", J::Arr(vec![])),
            ("none", J::Map(vec![])),
            ("list", J::Arr(vec![J::Null, J::Bool(true)])),
        ]);
        // json.dumps({...}, indent=4) of the same dict
        let want = "{\n    \"name\": \"GET /h\\u00e9\\\"\",\n    \"n\": -3,\n    \"x\": 5.0,\n    \"empty\": [],\n    \
                    \"none\": {},\n    \"list\": [\n        null,\n        true\n    ]\n}";
        assert_eq!(doc.render(), want);
    }

    #[test]
    fn times_are_iso_with_microseconds_or_nanoseconds() {
        let t = UNIX_EPOCH + Duration::new(1_795_453_893, 975_372_123);
        assert_eq!(iso(t).render(), "\"2026-11-23T17:11:33.975372Z\"");
        assert_eq!(nanos(t).render(), "1795453893975372123");
        assert_eq!(iso(UNIX_EPOCH).render(), "\"1970-01-01T00:00:00.000000Z\"");
    }
}
