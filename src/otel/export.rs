//! The OTLP exporters of `--otel` (gRPC through tonic, HTTP/protobuf through a blocking reqwest client), each
//! wrapped so that a failed export is reported once, as one warning line in rlocust's log, instead of through
//! the SDK's internal logging (which rlocust does not install).
//!
//! Who calls it: [`super::start`] builds one exporter per signal inside its own runtime's context (tonic's
//! channel is created lazily on that runtime). What it must not do: panic on a bad endpoint or an unreachable
//! collector (an export error is logged and the run goes on), or log more than once per run for export errors.
use opentelemetry_otlp::{Protocol, WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether an export failure has been reported (one line per run, for all signals together).
static WARNED: AtomicBool = AtomicBool::new(false);

/// Log the first export failure of the run.
fn note_failure(signal: &str, result: &OTelSdkResult) {
    if let Err(e) = result
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        crate::log::warning(
            super::LOGGER,
            &format!(
                "OpenTelemetry export of {signal} failed ({e}); further export errors are not logged"
            ),
        );
    }
}

/// The transport of one signal's OTLP exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    HttpProtobuf,
}

impl Transport {
    fn protocol(self) -> Protocol {
        match self {
            Transport::Grpc => Protocol::Grpc,
            Transport::HttpProtobuf => Protocol::HttpBinary,
        }
    }
}

/// The TLS settings of a gRPC exporter whose endpoint (`OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT`, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT`) is `https://`: the public roots, plus the PEM CA file of
/// `OTEL_EXPORTER_OTLP_{SIGNAL}_CERTIFICATE` / `OTEL_EXPORTER_OTLP_CERTIFICATE` when set. None for plain gRPC.
fn grpc_tls(signal: &str) -> Result<Option<tonic::transport::ClientTlsConfig>, String> {
    let var = |name: &str| {
        std::env::var(format!("OTEL_EXPORTER_OTLP_{signal}_{name}"))
            .or_else(|_| std::env::var(format!("OTEL_EXPORTER_OTLP_{name}")))
            .ok()
            .filter(|v| !v.trim().is_empty())
    };
    let https =
        var("ENDPOINT").is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("https://"));
    if !https {
        return Ok(None);
    }
    let mut tls = tonic::transport::ClientTlsConfig::new().with_webpki_roots();
    if let Some(path) = var("CERTIFICATE") {
        let pem = std::fs::read(path.trim())
            .map_err(|e| format!("OpenTelemetry: cannot read the CA certificate {path}: {e}"))?;
        tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
    }
    Ok(Some(tls))
}

/// A tonic exporter builder with the TLS settings of `signal`.
macro_rules! tonic_builder {
    ($builder:expr, $signal:literal, $t:expr) => {{
        let b = $builder.with_tonic().with_protocol($t.protocol());
        match grpc_tls($signal)? {
            Some(tls) => b.with_tls_config(tls).build(),
            None => b.build(),
        }
    }};
}

/// Metrics to OTLP, warning once on failure.
#[derive(Debug)]
pub struct Metrics(opentelemetry_otlp::MetricExporter);

impl Metrics {
    pub fn build(t: Transport) -> Result<Metrics, String> {
        let b = opentelemetry_otlp::MetricExporter::builder();
        let built = match t {
            Transport::Grpc => tonic_builder!(b, "METRICS", t),
            Transport::HttpProtobuf => b.with_http().with_protocol(t.protocol()).build(),
        };
        built.map(Metrics).map_err(|e| e.to_string())
    }
}

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for Metrics {
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        let r = self.0.export(metrics).await;
        note_failure("metrics", &r);
        r
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        self.0.temporality()
    }
}

/// Spans to OTLP, warning once on failure.
#[derive(Debug)]
pub struct Spans(opentelemetry_otlp::SpanExporter);

impl Spans {
    pub fn build(t: Transport) -> Result<Spans, String> {
        let b = opentelemetry_otlp::SpanExporter::builder();
        let built = match t {
            Transport::Grpc => tonic_builder!(b, "TRACES", t),
            Transport::HttpProtobuf => b.with_http().with_protocol(t.protocol()).build(),
        };
        built.map(Spans).map_err(|e| e.to_string())
    }
}

impl opentelemetry_sdk::trace::SpanExporter for Spans {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        let r = self.0.export(batch).await;
        note_failure("spans", &r);
        r
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.0.set_resource(resource)
    }
}

/// Log records to OTLP, warning once on failure.
#[derive(Debug)]
pub struct Logs(opentelemetry_otlp::LogExporter);

impl Logs {
    pub fn build(t: Transport) -> Result<Logs, String> {
        let b = opentelemetry_otlp::LogExporter::builder();
        let built = match t {
            Transport::Grpc => tonic_builder!(b, "LOGS", t),
            Transport::HttpProtobuf => b.with_http().with_protocol(t.protocol()).build(),
        };
        built.map(Logs).map_err(|e| e.to_string())
    }
}

impl opentelemetry_sdk::logs::LogExporter for Logs {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        let r = self.0.export(batch).await;
        note_failure("logs", &r);
        r
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.0.set_resource(resource)
    }
}
