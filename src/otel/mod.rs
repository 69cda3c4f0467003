//! `--otel`: OpenTelemetry for a test run, natively in Rust (Locust 2.47's `locust/opentelemetry.py` does it in
//! Python with `pip install locust[otel]`; rlocust needs nothing installed). What is exported follows Locust:
//! - metrics: the histogram `locust.client.duration` (s) of every recorded request with `name` (at most 20
//!   distinct, then "Too many unique request names") and `error.type` on failures; the observable gauge
//!   `locust.users.count` per `user_class` (not on workers; a master reports its workers' counts); and, as the
//!   requests instrumentation adds under Locust, `http.client.duration` (ms) of HttpUser calls;
//! - traces: one CLIENT span per HttpUser call, named "METHOD name-or-path", its W3C `traceparent` sent with
//!   the request (FastHttpUser calls get none, as geventhttpclient is not instrumented in Locust); the header
//!   goes out whenever OTEL_TRACES_EXPORTER is not empty, even `none`, as under Locust;
//! - logs: rlocust's log lines and the locustfile's Python `logging` records (at the run's log level).
//!
//! Configuration is Locust's and the SDK's environment variables: OTEL_{TRACES,METRICS,LOGS}_EXPORTER (comma
//! lists of `otlp`, `console` (JSON on stdout as the Python SDK prints it, see `console`), `none`; default
//! `otlp`), OTEL_EXPORTER_OTLP[_{TRACES,METRICS,LOGS}]_PROTOCOL (`grpc`, the default, or `http/protobuf`), and
//! what opentelemetry-otlp and the SDK read themselves (endpoint, headers, timeout, OTEL_METRIC_EXPORT_INTERVAL,
//! OTEL_RESOURCE_ATTRIBUTES, batch sizes).
//!
//! Who calls it: `app::steps` calls [`start`] once the log is set up and keeps the [`Otel`] guard until the
//! run has ended (dropping it flushes and shuts the exporters down, bounded in time); the recording paths call
//! the hooks of [`record`] and `log` calls [`logs::emit`]. What it must not do: cost anything on the request
//! path when `--otel` is off (every hook is one load of an unset `OnceLock`), run Python, block a run that
//! cannot reach its collector (one warning line, same exit code), or panic on a bad setting.
mod console;
mod export;
pub mod logs;
pub mod record;

use crate::log;
use export::Transport;
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::time::Duration;

/// The logger name of rlocust's own OpenTelemetry lines (Locust's module logger).
pub const LOGGER: &str = "locust.opentelemetry";

/// How long the shutdown waits for the last exports before the run ends without them.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(5);

/// The exporters one signal asked for (Locust's parsing: comma list, trimmed, lower-case, empty items dropped;
/// unset is `otlp`).
fn exporters(var: &str) -> Vec<String> {
    let raw = std::env::var(var).unwrap_or_else(|_| "otlp".into());
    let mut out: Vec<String> = Vec::new();
    for e in raw.split(',') {
        let e = e.trim().to_lowercase();
        if !e.is_empty() && !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// The OTLP transport of one signal: its own protocol variable, then the common one, then gRPC.
fn transport(signal_var: &str) -> Result<Transport, String> {
    let p = std::env::var(signal_var)
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_else(|_| "grpc".into());
    match p.trim().to_lowercase().as_str() {
        "grpc" => Ok(Transport::Grpc),
        "http/protobuf" | "http" => Ok(Transport::HttpProtobuf),
        other => Err(format!(
            "Unknown OpenTelemetry otlp exporter protocol '{other}'. Use 'grpc' or 'http/protobuf'"
        )),
    }
}

/// The exporters one signal's list asks for: its OTLP exporter if the list has `otlp` (warnings for what cannot
/// be used), and whether it has `console`.
fn exporters_for<E>(
    list: &[String],
    kind: &str,
    protocol_var: &str,
    build: impl Fn(Transport) -> Result<E, String>,
) -> (Option<E>, bool) {
    let mut chosen = None;
    let mut console = false;
    for e in list {
        match e.as_str() {
            "otlp" => match transport(protocol_var).and_then(&build) {
                Ok(exp) => {
                    chosen = Some(exp);
                    log::log(
                        log::Level::Debug,
                        LOGGER,
                        &format!("Configured {kind} exporter: otlp"),
                    );
                }
                Err(msg) => log::warning(LOGGER, &msg),
            },
            "console" => {
                console = true;
                log::log(
                    log::Level::Debug,
                    LOGGER,
                    &format!("Configured {kind} exporter: console"),
                );
            }
            "none" => {}
            "prometheus" if kind == "metrics" => log::warning(
                LOGGER,
                "Prometheus metrics exporter is not yet implemented!",
            ),
            other => log::warning(
                LOGGER,
                &format!("Unknown {kind} exporter '{other}'. Ignored"),
            ),
        }
    }
    (chosen, console)
}

/// What `--otel` started; dropping it flushes the last data and shuts the exporters down (at most
/// `SHUTDOWN_BUDGET`).
pub struct Otel {
    meters: Option<SdkMeterProvider>,
    tracers: Option<SdkTracerProvider>,
    loggers: Option<SdkLoggerProvider>,
    /// tonic's channels live here (their own thread, apart from the engine's runtime and its lifetime).
    rt: Option<tokio::runtime::Runtime>,
}

/// Start OpenTelemetry as `--otel` asks (None: nothing to export; the reason is logged).
/// `locustfile` and `profile` go into the resource as Locust puts them there.
pub fn start(locustfile: &str, profile: Option<&str>) -> Option<Otel> {
    let traces = exporters("OTEL_TRACES_EXPORTER");
    let metrics = exporters("OTEL_METRICS_EXPORTER");
    let logs = exporters("OTEL_LOGS_EXPORTER");
    let none = |l: &[String]| l.len() == 1 && l[0] == "none";
    if none(&traces) && none(&metrics) && none(&logs) {
        log::info(
            LOGGER,
            "No OpenTelemetry exporters configured, opentelemetry not enabled",
        );
        return None;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("rlocust-otel")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::warning(
                LOGGER,
                &format!("OpenTelemetry not enabled: cannot start its runtime: {e}"),
            );
            return None;
        }
    };
    let _in_rt = rt.enter();
    let resource = Resource::builder()
        .with_attributes([
            KeyValue::new(
                "service.name",
                std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "locust".into()),
            ),
            KeyValue::new("service.version", crate::version::LOCUST_VERSION),
            KeyValue::new("host.name", crate::sys::hostname().to_owned()),
            KeyValue::new("filename", locustfile.to_string()),
            KeyValue::new("profile", profile.unwrap_or("").to_string()),
        ])
        .build();

    let tracers = match exporters_for(
        &traces,
        "traces",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        export::Spans::build,
    ) {
        (None, false) => None,
        (otlp, console) => {
            let mut b = SdkTracerProvider::builder()
                .with_resource(resource.clone())
                .with_id_generator(record::PinnedIds);
            if let Some(exp) = otlp {
                b = b.with_batch_exporter(exp);
            }
            if console {
                // (Locust's SimpleSpanProcessor: each span printed as it ends)
                b = b.with_simple_exporter(console::Spans::new());
            }
            Some(b.build())
        }
    };
    let meters = match exporters_for(
        &metrics,
        "metrics",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        export::Metrics::build,
    ) {
        (None, false) => None,
        (otlp, console) => {
            let mut b = SdkMeterProvider::builder().with_resource(resource.clone());
            if let Some(exp) = otlp {
                b = b.with_reader(PeriodicReader::builder(exp).build());
            }
            if console {
                b = b.with_reader(PeriodicReader::builder(console::Metrics).build());
            }
            Some(b.build())
        }
    };
    let loggers = match exporters_for(
        &logs,
        "logs",
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
        export::Logs::build,
    ) {
        (None, false) => None,
        (otlp, console) => {
            let mut b = SdkLoggerProvider::builder().with_resource(resource.clone());
            if let Some(exp) = otlp {
                b = b.with_batch_exporter(exp);
            }
            if console {
                b = b.with_simple_exporter(console::Logs::new());
            }
            Some(b.build())
        }
    };
    if !traces.is_empty() {
        record::enable_propagation();
    }
    if let Some(p) = &tracers {
        record::install_tracer(p);
    }
    if let Some(p) = &meters {
        record::install_meter(p);
    }
    if let Some(p) = &loggers {
        logs::install(p);
    }
    log::log(log::Level::Debug, LOGGER, "OpenTelemetry configured!");
    drop(_in_rt);
    Some(Otel {
        meters,
        tracers,
        loggers,
        rt: Some(rt),
    })
}

impl Otel {
    /// Report `locust.users.count` from these counts (not on a worker: its master reports the users).
    pub fn observe_users(
        &self,
        counts: impl Fn() -> indexmap::IndexMap<String, u64> + Send + Sync + 'static,
    ) {
        if let Some(p) = &self.meters {
            record::install_users_gauge(p, counts);
        }
    }
}

impl Drop for Otel {
    fn drop(&mut self) {
        let meters = self.meters.take();
        let tracers = self.tracers.take();
        let loggers = self.loggers.take();
        // the providers flush on shutdown; in a thread of its own so an unreachable collector cannot hold the
        // run past the budget (the process exits without the rest then)
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("rlocust-otel-shutdown".into())
            .spawn(move || {
                if let Some(p) = meters {
                    let _ = p.shutdown_with_timeout(SHUTDOWN_BUDGET);
                }
                if let Some(p) = tracers {
                    let _ = p.shutdown_with_timeout(SHUTDOWN_BUDGET);
                }
                if let Some(p) = loggers {
                    let _ = p.shutdown_with_timeout(SHUTDOWN_BUDGET);
                }
                let _ = tx.send(());
            });
        if spawned.is_ok() && rx.recv_timeout(SHUTDOWN_BUDGET).is_err() {
            log::warning(
                LOGGER,
                "OpenTelemetry exporters did not finish in time; the last data may be lost",
            );
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_lists_and_protocols_parse_as_locust_does() {
        // SAFETY: (edition 2024) these variables are read by this test only.
        unsafe {
            std::env::set_var("RLOCUST_TEST_OTEL_LIST", " OTLP, none,,otlp ");
            std::env::set_var("RLOCUST_TEST_OTEL_PROTO", "HTTP/protobuf");
            std::env::set_var("RLOCUST_TEST_OTEL_BAD", "thrift");
        }
        assert_eq!(exporters("RLOCUST_TEST_OTEL_LIST"), ["otlp", "none"]);
        assert_eq!(exporters("RLOCUST_TEST_OTEL_UNSET"), ["otlp"]);
        assert_eq!(
            transport("RLOCUST_TEST_OTEL_PROTO"),
            Ok(Transport::HttpProtobuf)
        );
        assert!(
            transport("RLOCUST_TEST_OTEL_BAD")
                .unwrap_err()
                .starts_with("Unknown OpenTelemetry otlp exporter protocol 'thrift'")
        );
    }
}
