//! The `/metrics` document: a run's statistics in the Prometheus text exposition format (0.0.4) or in
//! OpenMetrics 1.0, whichever the scraper asks for (`Accept: application/openmetrics-text` → OpenMetrics;
//! Prometheus 2.x asks for it by default, curl gets the plain text format).
//!
//! What it exports (docs/observability.md lists every series with its labels):
//! - rlocust's own series, `rlocust_*`: counters of requests, failures, errors and response bytes per
//!   `(method, name)`; the response times as a histogram in seconds with fixed `le` buckets
//!   ([`DEFAULT_BUCKETS_MS`], or `--metrics-buckets`), filled from the exact HDR histogram of each row; the
//!   whole-run percentiles per row and for the total (exact to the histogram's 0.1 %); the metric rows (a stream's
//!   `ttft`, `itl`, ..., a locustfile's own: `rlocust_metric_values_total`, `rlocust_metric_percentile`, in each
//!   metric's unit; the rows in tokens' throughput: `rlocust_tokens_total`, `rlocust_tokens_per_second`,
//!   `rlocust_tokens_current_per_second`); users by class,
//!   the target user count, the runner state, the generator's CPU use; under a master, one series per worker
//!   (state, users, CPU, memory).
//! - the standard process series (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
//!   `process_start_time_seconds`).
//! - the gauges of the community `locust_exporter` (ContainerSolutions; Grafana dashboard 11985), with its
//!   names, labels and values as it derives them from `/stats/requests`, so dashboards built on that exporter
//!   work when Prometheus scrapes rlocust directly.
//!
//! Why not a client crate: the `prometheus` crate writes only the 0.0.4 text format and `prometheus-client`
//! only OpenMetrics, and both model live instruments in a registry; this document is one walk over an owned
//! [`Snapshot`] per scrape (what every other reader of the statistics does), in either format.
//!
//! Who calls it: the web UI's `/metrics` route and the `--metrics-port` listener (`web::metrics`), off the
//! tokio workers that run the load. What it must not do: read live statistics, touch Python, or block.
//!
//! To add a family: a named part called from [`render`] in its place (the order is the document's), writing
//! `w.family(...)` then its samples; a test in `tests/obs` reads it as Prometheus scrapes it.
use std::fmt::Write as _;

use crate::runner::readings::Readings;
use crate::stats::{EntrySnapshot, Snapshot};

/// The `le` bounds of the response-time histogram in ms unless `--metrics-buckets` sets them.
pub const DEFAULT_BUCKETS_MS: [f64; 21] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 500.0, 750.0, 1000.0,
    1500.0, 2000.0, 3000.0, 5000.0, 10000.0, 30000.0, 60000.0,
];

/// The percentiles exported per row as `rlocust_response_time_percentile_seconds{quantile=…}`.
pub const EXPORTED_PERCENTILES: [f64; 7] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0];

/// The content type of each format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which exposition format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for (OpenMetrics when it names `application/openmetrics-text`).
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Parse `--metrics-buckets`: comma-separated bounds in ms, positive, finite; sorted and deduplicated.
pub fn parse_buckets(text: &str) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v: f64 = part.parse().map_err(|_| {
            format!("rlocust: --metrics-buckets: '{part}' is not a number of milliseconds")
        })?;
        if !v.is_finite() || v <= 0.0 {
            return Err(format!(
                "rlocust: --metrics-buckets: {part} is not a positive number of milliseconds"
            ));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err(
            "rlocust: --metrics-buckets needs at least one bound (ms, comma-separated)".into(),
        );
    }
    out.sort_by(|a, b| a.total_cmp(b));
    out.dedup();
    Ok(out)
}

/// Everything one scrape writes.
pub struct Exposition<'a> {
    /// The run's readings (the rows, the open workload, the generator's lateness, the requests in flight).
    pub readings: &'a Readings,
    /// The runner state as Locust names it (`ready`, `spawning`, `running`, …).
    pub state: &'a str,
    /// Users alive by class.
    pub users_by_class: Vec<(String, u64)>,
    pub user_count: u64,
    pub target_user_count: u64,
    /// The generator's CPU use as its monitor last measured it (percent of one core), and its RSS.
    pub cpu_percent: f64,
    pub rss_bytes: u64,
    pub process_cpu_seconds: f64,
    pub process_start_time: f64,
    /// On a master, every worker it knows (missing ones included); `None` elsewhere.
    pub workers: Option<Vec<WorkerRow>>,
    /// `le` bounds in ms.
    pub buckets_ms: &'a [f64],
    /// Request rows: without them (a worker, whose rows go to its master) only the process series.
    pub with_requests: bool,
    /// `--baseline`: the run compared with it as it stands (`report::compare`).
    pub comparison: Option<&'a crate::report::compare::Comparison>,
    /// The capacity search so far (`report::search`), `None` when the run searches nothing.
    pub search: Option<&'a crate::judge::search::Outcome>,
}

/// One worker of a master as the scrape shows it (the caller copies it from the master's roster).
#[derive(Clone, Debug)]
pub struct WorkerRow {
    pub id: String,
    /// `ready`, `spawning`, `running`, `missing`.
    pub state: &'static str,
    pub user_count: u64,
    /// Percent of one core, from its heartbeats.
    pub cpu_usage: f64,
    /// RSS bytes, from its heartbeats.
    pub memory_usage: u64,
}

/// A Prometheus label value: `\`, `"` and newlines escaped.
fn label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value as both formats accept it (`+Inf`, `NaN`, integers without a fraction).
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A `le`/`quantile` label value: always with a fraction in OpenMetrics' canonical form (`0.5`, `1.0`).
fn float_label(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

struct Writer {
    out: String,
    format: Format,
}

impl Writer {
    /// The `# HELP`/`# TYPE` (and OpenMetrics `# UNIT`) lines of a family. `name` is the sample name without
    /// `_total` for counters.
    fn family(&mut self, name: &str, kind: Kind, unit: Option<&str>, help: &str) {
        let ty = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        match self.format {
            Format::Text => {
                let sample = if kind == Kind::Counter {
                    format!("{name}_total")
                } else {
                    name.to_string()
                };
                let _ = writeln!(self.out, "# HELP {sample} {help}");
                let _ = writeln!(self.out, "# TYPE {sample} {ty}");
            }
            Format::OpenMetrics => {
                let _ = writeln!(self.out, "# TYPE {name} {ty}");
                if let Some(u) = unit {
                    let _ = writeln!(self.out, "# UNIT {name} {u}");
                }
                let _ = writeln!(self.out, "# HELP {name} {help}");
            }
        }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", label_value(v));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&num(value));
        self.out.push('\n');
    }
}

/// An open workload's series (`report::arrivals`), only when one ran.
fn arrival_series(w: &mut Writer, s: &crate::runner::open::Snapshot) {
    if !s.active {
        return;
    }
    for (name, help, v) in [
        (
            "rlocust_arrivals_intended",
            "Arrivals whose intended instants have come (open workload, since the last stats reset).",
            s.intended,
        ),
        (
            "rlocust_iterations_started",
            "Iterations started (open workload).",
            s.started,
        ),
        (
            "rlocust_iterations_dropped",
            "Arrivals dropped because the most users allowed were all busy (open workload).",
            s.dropped,
        ),
    ] {
        w.family(name, Kind::Counter, None, help);
        w.sample(&format!("{name}_total"), &[], v as f64);
    }
    for (name, help, v) in [
        (
            "rlocust_arrival_rate_intended",
            "The schedule's arrival rate now (iterations per second).",
            s.intended_rate,
        ),
        (
            "rlocust_arrival_rate_started",
            "Iterations started per second over the last seconds.",
            s.current_started_rate,
        ),
        (
            "rlocust_users_busy",
            "Users of the open workload not idle (starting, or running an iteration).",
            s.gauges.busy as f64,
        ),
        (
            "rlocust_users_max",
            "The most users the open workload may start (--arrival-max-users).",
            s.gauges.max_users as f64,
        ),
    ] {
        w.family(name, Kind::Gauge, None, help);
        w.sample(name, &[], v);
    }
    let name = "rlocust_iteration_start_lag_seconds";
    w.family(
        name,
        Kind::Gauge,
        Some("seconds"),
        "How late iterations started after their intended instants (open workload's scheduling error).",
    );
    for (q, v) in [
        ("0.5", s.lag_ms.p50),
        ("0.9", s.lag_ms.p90),
        ("0.99", s.lag_ms.p99),
        ("0.999", s.lag_ms.p999),
        ("1.0", s.lag_ms.max),
    ] {
        w.sample(name, &[("quantile", q)], v / 1000.0);
    }
}

/// The capacity search's families (`report::search::prometheus_families`), only when the run searches.
fn search_series(w: &mut Writer, o: &crate::judge::search::Outcome) {
    for f in super::search::prometheus_families(o) {
        let kind = if f.counter {
            Kind::Counter
        } else {
            Kind::Gauge
        };
        w.family(f.name, kind, None, f.help);
        let sample = if f.counter {
            format!("{}_total", f.name)
        } else {
            f.name.to_string()
        };
        for (labels, v) in &f.samples {
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.sample(&sample, &labels, *v);
        }
    }
}

/// The rows a scrape exports: every `(method, name)` row in Locust's order.
fn rows(snap: &Snapshot) -> Vec<&EntrySnapshot> {
    snap.sorted_entries()
}

/// Count of samples at or below each bound (µs), cumulative, from `(lowest µs of bucket, count)` pairs.
fn cumulative(hist: &[(u64, u64)], bounds_us: &[f64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(bounds_us.len());
    let mut acc = 0u64;
    let mut i = 0;
    for &b in bounds_us {
        while i < hist.len() && (hist[i].0 as f64) <= b {
            acc += hist[i].1;
            i += 1;
        }
        out.push(acc);
    }
    out
}

/// Write the whole document: the families in a fixed order, each part below writing its own.
pub fn render(x: &Exposition<'_>, format: Format) -> String {
    let mut w = Writer {
        out: String::with_capacity(4096),
        format,
    };
    let entries = if x.with_requests {
        rows(&x.readings.stats)
    } else {
        Vec::new()
    };
    info(&mut w);
    if x.with_requests {
        request_counters(&mut w, &x.readings.stats, &entries);
        response_time_histogram(&mut w, x.buckets_ms, &entries);
        response_time_percentiles(&mut w, &x.readings.stats.total, &entries);
        if x.readings.stats.has_corrected() {
            corrected_percentiles(&mut w, &x.readings.stats.total, &entries);
        }
        if !x.readings.stats.metrics.is_empty() {
            metric_series(&mut w, &x.readings.stats);
        }
        if let Some(c) = x.comparison {
            baseline_series(&mut w, c);
        }
    }
    users_and_state(&mut w, x);
    generator_lateness(&mut w, &x.readings.lateness);
    arrival_series(&mut w, &x.readings.open);
    if let Some(o) = x.search {
        search_series(&mut w, o);
    }
    if let Some(workers) = &x.workers {
        worker_families(&mut w, workers);
    }
    process_families(&mut w, x);
    exporter_compat(&mut w, x, &entries);
    if format == Format::OpenMetrics {
        w.out.push_str("# EOF\n");
    }
    w.out
}

/// `rlocust_info`: the versions.
fn info(w: &mut Writer) {
    w.family(
        "rlocust_info",
        Kind::Gauge,
        None,
        "rlocust's version and the Locust version it follows (always 1).",
    );
    w.sample(
        "rlocust_info",
        &[
            ("version", crate::version::VERSION),
            ("locust_version", crate::version::LOCUST_VERSION),
        ],
        1.0,
    );
}

/// Requests, failures, errors and response bytes per row.
fn request_counters(w: &mut Writer, snap: &Snapshot, entries: &[&EntrySnapshot]) {
    w.family(
        "rlocust_requests",
        Kind::Counter,
        None,
        "Requests recorded, failures included, by method and request name.",
    );
    for e in entries {
        w.sample(
            "rlocust_requests_total",
            &[("method", &e.method), ("name", &e.name)],
            e.totals.num_requests as f64,
        );
    }
    w.family(
        "rlocust_request_failures",
        Kind::Counter,
        None,
        "Failed requests by method and request name.",
    );
    for e in entries {
        w.sample(
            "rlocust_request_failures_total",
            &[("method", &e.method), ("name", &e.name)],
            e.totals.num_failures as f64,
        );
    }
    w.family(
        "rlocust_errors",
        Kind::Counter,
        None,
        "Failures by method, request name and error text (the failures table's rows).",
    );
    for err in &snap.errors {
        w.sample(
            "rlocust_errors_total",
            &[
                ("method", &err.method),
                ("name", &err.name),
                ("error", &err.error),
            ],
            err.occurrences as f64,
        );
    }
    w.family(
        "rlocust_response_bytes",
        Kind::Counter,
        Some("bytes"),
        "Response body bytes (the content length Locust records) by method and request name.",
    );
    for e in entries {
        w.sample(
            "rlocust_response_bytes_total",
            &[("method", &e.method), ("name", &e.name)],
            e.totals.total_content_length as f64,
        );
    }
}

/// `rlocust_response_time_seconds`, from each row's exact buckets, at the `--metrics-buckets` bounds.
fn response_time_histogram(w: &mut Writer, buckets_ms: &[f64], entries: &[&EntrySnapshot]) {
    let bounds_us: Vec<f64> = buckets_ms.iter().map(|ms| ms * 1000.0).collect();
    let le: Vec<String> = buckets_ms
        .iter()
        .map(|ms| float_label(ms / 1000.0))
        .collect();
    w.family(
        "rlocust_response_time_seconds",
        Kind::Histogram,
        Some("seconds"),
        "Response times by method and request name, from rlocust's exact histograms (bucket bounds: --metrics-buckets).",
    );
    for e in entries {
        let counts = cumulative(e.histogram_us(), &bounds_us);
        for (bound, c) in le.iter().zip(&counts) {
            w.sample(
                "rlocust_response_time_seconds_bucket",
                &[("method", &e.method), ("name", &e.name), ("le", bound)],
                *c as f64,
            );
        }
        let n = e.num_timed_requests();
        w.sample(
            "rlocust_response_time_seconds_bucket",
            &[("method", &e.method), ("name", &e.name), ("le", "+Inf")],
            n as f64,
        );
        w.sample(
            "rlocust_response_time_seconds_sum",
            &[("method", &e.method), ("name", &e.name)],
            e.totals.total_response_time / 1000.0,
        );
        w.sample(
            "rlocust_response_time_seconds_count",
            &[("method", &e.method), ("name", &e.name)],
            n as f64,
        );
    }
}

/// Whole-run percentiles per row and of the total.
fn response_time_percentiles(w: &mut Writer, total: &EntrySnapshot, entries: &[&EntrySnapshot]) {
    w.family(
        "rlocust_response_time_percentile_seconds",
        Kind::Gauge,
        Some("seconds"),
        "Whole-run response-time percentiles by method and request name (name=\"Aggregated\", method=\"\": all requests), exact to 0.1 %.",
    );
    let quantiles: Vec<String> = EXPORTED_PERCENTILES
        .iter()
        .map(|&p| float_label(p))
        .collect();
    for e in entries.iter().copied().chain(std::iter::once(total)) {
        if !e.has_response_times() {
            continue;
        }
        for (p, q) in EXPORTED_PERCENTILES.iter().zip(&quantiles) {
            w.sample(
                "rlocust_response_time_percentile_seconds",
                &[("method", &e.method), ("name", &e.name), ("quantile", q)],
                e.percentile(*p) / 1000.0,
            );
        }
    }
}

/// `--baseline` (`report::compare`): per request name, whether it regressed against the baseline and how its p95
/// moved, for alerts and dashboards beside the run's own series.
fn baseline_series(w: &mut Writer, c: &crate::report::compare::Comparison) {
    use crate::report::compare::{Figure, Verdict};
    w.family(
        "rlocust_baseline_regressed",
        Kind::Gauge,
        None,
        "1 when the request name regressed against --baseline (worse beyond --baseline-limits and beyond its sampling noise), else 0.",
    );
    for r in c.rows.iter().filter(|r| !r.aggregated) {
        w.sample(
            "rlocust_baseline_regressed",
            &[("method", &r.method), ("name", &r.name)],
            if r.verdict == Verdict::Regressed {
                1.0
            } else {
                0.0
            },
        );
    }
    w.family(
        "rlocust_baseline_p95_change_ratio",
        Kind::Gauge,
        None,
        "The p95 response time against --baseline's, as a ratio minus one (0.2: 20 % slower), for names in both runs (name=\"Aggregated\", method=\"\": all requests).",
    );
    for r in &c.rows {
        if let Some(pct) = r
            .figures
            .iter()
            .find(|f| f.figure == Figure::Pct(0.95))
            .and_then(|f| f.delta_pct())
        {
            w.sample(
                "rlocust_baseline_p95_change_ratio",
                &[("method", &r.method), ("name", &r.name)],
                pct / 100.0,
            );
        }
    }
}

/// The metric rows (`stats::metrics`: a stream's `ttft`, `itl`, `e2e`, `tpot`, `output_tokens`, a locustfile's own),
/// only when the run has any: how many values each holds and their whole-run percentiles, in the metric's own
/// unit (the `unit` label: a metric in ms is exported in ms, as every other output shows it).
fn metric_series(w: &mut Writer, snap: &Snapshot) {
    w.family(
        "rlocust_metric_values",
        Kind::Counter,
        None,
        "Values recorded by metric and request name (stream metrics and custom metrics; never requests).",
    );
    for m in &snap.metrics {
        w.sample(
            "rlocust_metric_values_total",
            &[
                ("metric", m.metric()),
                ("name", m.name()),
                ("unit", &m.unit),
            ],
            m.count() as f64,
        );
    }
    w.family(
        "rlocust_metric_percentile",
        Kind::Gauge,
        None,
        "Whole-run percentiles of each metric row in its unit (the unit label), exact to 0.1 %.",
    );
    let quantiles: Vec<String> = EXPORTED_PERCENTILES
        .iter()
        .map(|&p| float_label(p))
        .collect();
    for m in snap.metrics.iter().filter(|m| m.count() > 0) {
        for (p, q) in EXPORTED_PERCENTILES.iter().zip(&quantiles) {
            w.sample(
                "rlocust_metric_percentile",
                &[
                    ("metric", m.metric()),
                    ("name", m.name()),
                    ("unit", &m.unit),
                    ("quantile", q),
                ],
                m.row.percentile(*p),
            );
        }
    }
    token_series(w, snap);
}

/// How a metric row's rate is read from a snapshot (`Snapshot::metric_rate`, `metric_current_rate`).
type Rate = fn(&Snapshot, &crate::stats::MetricSnapshot) -> Option<f64>;

/// The throughput of the metric rows in tokens (`output_tokens`, `input_tokens`, a locustfile's own), only when
/// the run has any: `rlocust_tokens_total{metric,name}` (the tokens so far), `rlocust_tokens_per_second` (over
/// the run) and `rlocust_tokens_current_per_second` (the last seconds, as the current RPS).
fn token_series(w: &mut Writer, snap: &Snapshot) {
    let rows: Vec<_> = snap.metrics.iter().filter(|m| m.has_rate()).collect();
    if rows.is_empty() {
        return;
    }
    w.family(
        "rlocust_tokens",
        Kind::Counter,
        None,
        "Tokens recorded by metric (output_tokens, input_tokens, ...) and request name.",
    );
    for m in &rows {
        w.sample(
            "rlocust_tokens_total",
            &[("metric", m.metric()), ("name", m.name())],
            m.sum(),
        );
    }
    let rates: [(&str, &str, Rate); 2] = [
        (
            "rlocust_tokens_per_second",
            "Tokens per second over the run (the sum over the run's span, as the total RPS's).",
            Snapshot::metric_rate,
        ),
        (
            "rlocust_tokens_current_per_second",
            "Tokens per second over the last seconds (the current RPS's window).",
            Snapshot::metric_current_rate,
        ),
    ];
    for (family, help, rate) in rates {
        w.family(family, Kind::Gauge, None, help);
        for m in &rows {
            w.sample(
                family,
                &[("metric", m.metric()), ("name", m.name())],
                rate(snap, m).unwrap_or(0.0),
            );
        }
    }
}

/// The coordinated-omission corrected percentiles and the synthetic samples (runs with fixed-rate users).
fn corrected_percentiles(w: &mut Writer, total: &EntrySnapshot, entries: &[&EntrySnapshot]) {
    let quantiles: Vec<String> = EXPORTED_PERCENTILES
        .iter()
        .map(|&p| float_label(p))
        .collect();
    w.family(
        "rlocust_response_time_corrected_percentile_seconds",
        Kind::Gauge,
        Some("seconds"),
        "Whole-run percentiles corrected for coordinated omission (rows with requests of constant_pacing/constant_throughput users; docs/observability.md).",
    );
    for e in entries.iter().copied().chain(std::iter::once(total)) {
        if !e.has_response_times() || e.corrected_counts().is_none() {
            continue;
        }
        for (p, q) in EXPORTED_PERCENTILES.iter().zip(&quantiles) {
            if let Some(ms) = e.corrected_percentile(*p) {
                w.sample(
                    "rlocust_response_time_corrected_percentile_seconds",
                    &[("method", &e.method), ("name", &e.name), ("quantile", q)],
                    ms / 1000.0,
                );
            }
        }
    }
    w.family(
        "rlocust_coordinated_omission_samples",
        Kind::Counter,
        None,
        "Synthetic samples the coordinated-omission correction added (requests a stalled fixed-rate user could not send).",
    );
    for e in entries.iter().copied() {
        if let Some(c) = e.corrected_counts() {
            w.sample(
                "rlocust_coordinated_omission_samples_total",
                &[("method", &e.method), ("name", &e.name)],
                c.synthetic_samples as f64,
            );
        }
    }
}

/// Users by class, the target count, the runner state and the generator's CPU use.
fn users_and_state(w: &mut Writer, x: &Exposition<'_>) {
    w.family(
        "rlocust_users",
        Kind::Gauge,
        None,
        "Users running, by user class.",
    );
    for (class, n) in &x.users_by_class {
        w.sample("rlocust_users", &[("user_class", class)], *n as f64);
    }
    w.family(
        "rlocust_target_users",
        Kind::Gauge,
        None,
        "The user count the run is ramping to or holding.",
    );
    w.sample("rlocust_target_users", &[], x.target_user_count as f64);
    w.family(
        "rlocust_state",
        Kind::Gauge,
        None,
        "The runner state: 1 for the current one.",
    );
    for s in [
        "ready", "spawning", "running", "cleanup", "stopping", "stopped",
    ] {
        w.sample(
            "rlocust_state",
            &[("state", s)],
            if s == x.state { 1.0 } else { 0.0 },
        );
    }
    w.family(
        "rlocust_cpu_usage_percent",
        Kind::Gauge,
        None,
        "CPU used by this generator's Python thread (percent of one core), as the saturation warning reads it.",
    );
    w.sample("rlocust_cpu_usage_percent", &[], x.cpu_percent);
    w.family(
        "rlocust_requests_in_flight",
        Kind::Gauge,
        None,
        "Requests handed to the engine and not yet completed: this process's, at a master its live workers' sum.",
    );
    w.sample(
        "rlocust_requests_in_flight",
        &[],
        x.readings.in_flight.now as f64,
    );
    w.family(
        "rlocust_requests_in_flight_peak",
        Kind::Gauge,
        None,
        "The most requests in flight at once since the start (at a master: also the workers' summed reports).",
    );
    w.sample(
        "rlocust_requests_in_flight_peak",
        &[],
        x.readings.in_flight.peak as f64,
    );
}

/// How late responses and waits were on this generator (`stats::lateness`).
fn generator_lateness(w: &mut Writer, l: &crate::stats::lateness::Lateness) {
    for (name, help, d) in [
        (
            "rlocust_generator_socket_wait_seconds",
            "How long responses' last bytes waited in the socket before this generator read them (left out of response times; since the last stats reset).",
            &l.socket,
        ),
        (
            "rlocust_generator_response_delay_seconds",
            "How long finished responses waited for this generator's Python thread (since the last stats reset).",
            &l.hub,
        ),
        (
            "rlocust_generator_wait_lateness_seconds",
            "How late users resumed after their waits (since the last stats reset).",
            &l.wait,
        ),
    ] {
        w.family(name, Kind::Gauge, Some("seconds"), help);
        for (q, v) in [
            ("0.5", d.p50),
            ("0.9", d.p90),
            ("0.99", d.p99),
            ("0.999", d.p999),
            ("1.0", d.max),
        ] {
            w.sample(name, &[("quantile", q)], v / 1000.0);
        }
    }
}

/// On a master: each worker's state, users, CPU and memory.
fn worker_families(w: &mut Writer, workers: &[WorkerRow]) {
    w.family(
        "rlocust_worker_state",
        Kind::Gauge,
        None,
        "Each worker's state (1 for its current one).",
    );
    for wk in workers {
        w.sample(
            "rlocust_worker_state",
            &[("worker", &wk.id), ("state", wk.state)],
            1.0,
        );
    }
    w.family(
        "rlocust_worker_users",
        Kind::Gauge,
        None,
        "Users running on each worker, as its last heartbeat said.",
    );
    for wk in workers {
        w.sample(
            "rlocust_worker_users",
            &[("worker", &wk.id)],
            wk.user_count as f64,
        );
    }
    w.family(
        "rlocust_worker_cpu_usage_percent",
        Kind::Gauge,
        None,
        "Each worker's CPU use (percent of one core) from its heartbeats.",
    );
    for wk in workers {
        w.sample(
            "rlocust_worker_cpu_usage_percent",
            &[("worker", &wk.id)],
            wk.cpu_usage,
        );
    }
    w.family(
        "rlocust_worker_memory_bytes",
        Kind::Gauge,
        Some("bytes"),
        "Each worker's memory (RSS) from its heartbeats.",
    );
    for wk in workers {
        w.sample(
            "rlocust_worker_memory_bytes",
            &[("worker", &wk.id)],
            wk.memory_usage as f64,
        );
    }
}

/// The standard process series.
fn process_families(w: &mut Writer, x: &Exposition<'_>) {
    w.family(
        "process_cpu_seconds",
        Kind::Counter,
        Some("seconds"),
        "User and system CPU time of this rlocust process.",
    );
    w.sample("process_cpu_seconds_total", &[], x.process_cpu_seconds);
    w.family(
        "process_resident_memory_bytes",
        Kind::Gauge,
        Some("bytes"),
        "Resident memory of this rlocust process.",
    );
    w.sample("process_resident_memory_bytes", &[], x.rss_bytes as f64);
    w.family(
        "process_start_time_seconds",
        Kind::Gauge,
        Some("seconds"),
        "Start time of this rlocust process (Unix time).",
    );
    w.sample("process_start_time_seconds", &[], x.process_start_time);
}

/// The gauges ContainerSolutions' `locust_exporter` derives from `/stats/requests`, with its names and values.
fn exporter_compat(w: &mut Writer, x: &Exposition<'_>, entries: &[&EntrySnapshot]) {
    let snap = &x.readings.stats;
    let total = &snap.total;
    let gauge = |w: &mut Writer, name: &str, help: &str, v: f64| {
        w.family(name, Kind::Gauge, None, help);
        w.sample(name, &[], v);
    };
    gauge(
        w,
        "locust_up",
        "locust_exporter: the generator answers (1).",
        1.0,
    );
    gauge(
        w,
        "locust_users",
        "locust_exporter: the current number of users.",
        x.user_count as f64,
    );
    let running = match x.state {
        "spawning" => 1.0,
        "running" => 2.0,
        _ => 0.0,
    };
    gauge(
        w,
        "locust_running",
        "locust_exporter: 0 stopped, 1 spawning, 2 running.",
        running,
    );
    if !x.with_requests {
        return;
    }
    gauge(
        w,
        "locust_requests_fail_ratio",
        "locust_exporter: failures / requests of the whole run.",
        total.fail_ratio(),
    );
    let have_window = total.has_current_window(snap.taken_at);
    for p in [0.5, 0.95] {
        let v = if have_window {
            total
                .current_percentile(p)
                .map_or(0.0, |ms| ms.round_ties_even())
        } else {
            0.0
        };
        let name = format!(
            "locust_requests_current_response_time_percentile_{}",
            (p * 100.0) as u32
        );
        gauge(
            w,
            &name,
            "locust_exporter: the total's percentile over the last 10 seconds (ms).",
            v,
        );
    }
    if let Some(workers) = &x.workers {
        let count = |state: &str| workers.iter().filter(|wk| wk.state == state).count() as f64;
        gauge(
            w,
            "locust_workers_count",
            "locust_exporter: workers known to the master.",
            workers.len() as f64,
        );
        gauge(
            w,
            "locust_workers_running_count",
            "locust_exporter: workers running.",
            count("running"),
        );
        gauge(
            w,
            "locust_workers_hatching_count",
            "locust_exporter: workers spawning users.",
            count("spawning"),
        );
        gauge(
            w,
            "locust_workers_missing_count",
            "locust_exporter: workers missing.",
            count("missing"),
        );
        w.family(
            "locust_worker_detail",
            Kind::Gauge,
            None,
            "locust_exporter: each worker's user count, labelled with its state.",
        );
        for wk in workers {
            w.sample(
                "locust_worker_detail",
                &[("id", &wk.id), ("state", wk.state)],
                wk.user_count as f64,
            );
        }
    }
    // the per-row gauges include the Aggregated row, as the exporter's do
    let all: Vec<&EntrySnapshot> = entries
        .iter()
        .copied()
        .chain(std::iter::once(total))
        .collect();
    type RowValue = fn(&EntrySnapshot, &EntrySnapshot) -> f64;
    let per_row: [(&str, RowValue); 11] = [
        ("num_requests", |e, _| e.totals.num_requests as f64),
        ("num_failures", |e, _| e.totals.num_failures as f64),
        ("avg_response_time", |e, _| e.avg_response_time()),
        ("current_fail_per_sec", |e, t| e.current_fail_per_sec(t)),
        ("min_response_time", |e, _| {
            e.totals.min_response_time.unwrap_or(0.0)
        }),
        ("max_response_time", |e, _| e.totals.max_response_time),
        ("current_rps", |e, t| e.current_rps(t)),
        ("median_response_time", |e, _| {
            e.median_response_time().as_f64()
        }),
        ("avg_content_length", |e, _| e.avg_content_length().as_f64()),
        ("response_time_percentile_95", |e, _| {
            if e.has_response_times() {
                e.percentile(0.95)
            } else {
                0.0
            }
        }),
        ("response_time_percentile_99", |e, _| {
            if e.has_response_times() {
                e.percentile(0.99)
            } else {
                0.0
            }
        }),
    ];
    for (field, value) in per_row {
        let name = format!("locust_requests_{field}");
        w.family(
            &name,
            Kind::Gauge,
            None,
            "locust_exporter: /stats/requests' field of each row (Aggregated included).",
        );
        for e in &all {
            w.sample(
                &name,
                &[("method", &e.method), ("name", &e.name)],
                value(e, total),
            );
        }
    }
    w.family(
        "locust_errors",
        Kind::Gauge,
        None,
        "locust_exporter: occurrences of each error.",
    );
    for err in &snap.errors {
        w.sample(
            "locust_errors",
            &[
                ("method", &err.method),
                ("name", &err.name),
                ("error", &err.error),
            ],
            err.occurrences as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RequestStats;

    /// The exposition of `snap` (its readings leaked: a test's few bytes).
    fn exposition(snap: &Snapshot) -> Exposition<'static> {
        Exposition {
            readings: Box::leak(Box::new(crate::runner::readings::Readings::of_stats(
                snap.clone(),
            ))),
            state: "running",
            users_by_class: vec![("WebUser".into(), 3)],
            user_count: 3,
            target_user_count: 5,
            cpu_percent: 12.5,
            rss_bytes: 1024,
            process_cpu_seconds: 1.25,
            process_start_time: 1_700_000_000.0,
            workers: None,
            buckets_ms: &DEFAULT_BUCKETS_MS,
            with_requests: true,
            comparison: None,
            search: None,
        }
    }

    #[test]
    fn search_families_only_with_a_search() {
        let snap = RequestStats::new().snapshot();
        let plain = render(&exposition(&snap), Format::Text);
        assert!(!plain.contains("rlocust_search"));
        let mut o =
            crate::report::search::tests::converged(crate::judge::search::Mode::ArrivalRate);
        o.end = crate::judge::search::End::Running;
        o.current = Some(65.0);
        let x = Exposition {
            search: Some(&o),
            ..exposition(&snap)
        };
        let doc = render(&x, Format::Text);
        for l in [
            "# TYPE rlocust_search_level gauge\n",
            "rlocust_search_level{mode=\"arrival-rate\"} 65\n",
            "rlocust_search_capacity{mode=\"arrival-rate\"} 60\n",
            "rlocust_search_first_failing{mode=\"arrival-rate\"} 70\n",
            "# TYPE rlocust_search_probes_total counter\n",
            "rlocust_search_probes_total{mode=\"arrival-rate\",verdict=\"pass\"} 4\n",
            "rlocust_search_probes_total{mode=\"arrival-rate\",verdict=\"generator-bound\"} 0\n",
        ] {
            assert!(doc.contains(l), "{l} in\n{doc}");
        }
        let om = render(&x, Format::OpenMetrics);
        assert!(om.contains("# TYPE rlocust_search_probes counter\n"));
        assert!(
            om.contains("rlocust_search_probes_total{mode=\"arrival-rate\",verdict=\"fail\"} 2\n")
        );
    }

    #[test]
    fn baseline_series_say_which_name_regressed() {
        use crate::report::compare::{self, limits::Limits, load};
        let now = 1_700_000_000.0;
        let run = |slow: f64| {
            let s = RequestStats::new_at(now);
            for i in 0..1000 {
                let k = 1.0 + 0.5 * i as f64 / 1000.0;
                s.log_request("GET", "/slow", Some(50.0 * k * slow), 10, now + 1.0);
                s.log_request("GET", "/same", Some(20.0 * k), 10, now + 1.0);
            }
            s.snapshot()
        };
        let (before, after) = (run(1.0), run(1.2));
        let c = compare::compare(
            load::from_snapshot(&before, None),
            load::from_snapshot(&after, None),
            Limits::default_limits(),
        );
        let mut x = exposition(&after);
        x.comparison = Some(&c);
        let doc = render(&x, Format::Text);
        assert!(
            doc.contains("# TYPE rlocust_baseline_regressed gauge\n"),
            "{doc}"
        );
        assert_eq!(
            line(
                &doc,
                "rlocust_baseline_regressed{method=\"GET\",name=\"/slow\"}"
            ),
            "rlocust_baseline_regressed{method=\"GET\",name=\"/slow\"} 1"
        );
        assert_eq!(
            line(
                &doc,
                "rlocust_baseline_regressed{method=\"GET\",name=\"/same\"}"
            ),
            "rlocust_baseline_regressed{method=\"GET\",name=\"/same\"} 0"
        );
        let ratio: f64 = line(
            &doc,
            "rlocust_baseline_p95_change_ratio{method=\"GET\",name=\"/slow\"}",
        )
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
        assert!((ratio - 0.2).abs() < 0.01, "{ratio}");
        assert!(!render(&exposition(&after), Format::Text).contains("rlocust_baseline"));
    }

    fn stats() -> RequestStats {
        let now = 1_700_000_000.0;
        let s = RequestStats::new_at(now);
        for ms in [0.5, 3.0, 3.0, 40.0, 120.0, 2500.0] {
            s.log_request("GET", "/a \"q\"", Some(ms), 10, now + 1.0);
        }
        s.log_request("POST", "/b", Some(7.0), 0, now + 1.0);
        s.log_error("POST", "/b", "HTTPError('500 Server Error')", now + 1.0);
        s
    }

    fn line<'a>(doc: &'a str, prefix: &str) -> &'a str {
        doc.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in\n{doc}"))
    }

    #[test]
    fn counters_histogram_and_percentiles_in_text_format() {
        let s = stats();
        let snap = s.snapshot();
        let doc = render(&exposition(&snap), Format::Text);
        assert!(doc.contains("# TYPE rlocust_requests_total counter\n"));
        assert_eq!(
            line(&doc, "rlocust_requests_total{method=\"GET\""),
            "rlocust_requests_total{method=\"GET\",name=\"/a \\\"q\\\"\"} 6"
        );
        assert_eq!(
            line(&doc, "rlocust_request_failures_total{method=\"POST\""),
            "rlocust_request_failures_total{method=\"POST\",name=\"/b\"} 1"
        );
        assert!(doc.contains(
            "rlocust_errors_total{method=\"POST\",name=\"/b\",error=\"HTTPError('500 Server Error')\"} 1\n"
        ));
        // cumulative buckets: ≤1 ms: 1, ≤5 ms: 3, ≤50 ms: 4, ≤150 ms: 5, ≤2.5 s: 5, ≤3 s: 6
        let bucket = |le: &str| {
            line(
                &doc,
                &format!(
                    "rlocust_response_time_seconds_bucket{{method=\"GET\",name=\"/a \\\"q\\\"\",le=\"{le}\"}}"
                ),
            )
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
        };
        assert_eq!(bucket("0.001"), "1");
        assert_eq!(bucket("0.005"), "3");
        assert_eq!(bucket("0.05"), "4");
        assert_eq!(bucket("0.15"), "5");
        assert_eq!(bucket("2.0"), "5");
        assert_eq!(bucket("3.0"), "6");
        assert_eq!(bucket("+Inf"), "6");
        assert!(doc.contains(
            "rlocust_response_time_seconds_count{method=\"GET\",name=\"/a \\\"q\\\"\"} 6\n"
        ));
        assert!(doc.contains(
            "rlocust_response_time_seconds_sum{method=\"GET\",name=\"/a \\\"q\\\"\"} 2.6665\n"
        ));
        assert!(doc.contains(
            "rlocust_response_time_percentile_seconds{method=\"\",name=\"Aggregated\",quantile=\"1.0\"} 2.5\n"
        ));
        assert!(doc.contains("rlocust_users{user_class=\"WebUser\"} 3\n"));
        assert!(doc.contains("rlocust_state{state=\"running\"} 1\n"));
        assert!(doc.contains("rlocust_state{state=\"stopped\"} 0\n"));
        // locust_exporter's gauges, Aggregated row included
        assert!(doc.contains("locust_requests_num_requests{method=\"\",name=\"Aggregated\"} 7\n"));
        assert!(doc.contains("locust_requests_num_failures{method=\"POST\",name=\"/b\"} 1\n"));
        assert!(doc.contains("locust_running 2\n"));
        assert!(!doc.contains("# EOF"));
    }

    #[test]
    fn metric_rows_are_their_own_families_only_when_recorded() {
        let s = stats();
        assert!(!render(&exposition(&s.snapshot()), Format::Text).contains("rlocust_metric"));
        s.log_metric("ttft", "/chat", "ms", &[300.0, 310.0], 1_700_000_001.0)
            .unwrap();
        let snap = s.snapshot();
        let doc = render(&exposition(&snap), Format::Text);
        assert!(doc.contains("# TYPE rlocust_metric_values_total counter\n"));
        assert!(doc.contains(
            "rlocust_metric_values_total{metric=\"ttft\",name=\"/chat\",unit=\"ms\"} 2\n"
        ));
        assert!(doc.contains(
            "rlocust_metric_percentile{metric=\"ttft\",name=\"Aggregated\",unit=\"ms\",quantile=\"1.0\"} 310\n"
        ));
        // metric values are not requests: the request counters did not move
        assert!(doc.contains("locust_requests_num_requests{method=\"\",name=\"Aggregated\"} 7\n"));
        let om = render(&exposition(&snap), Format::OpenMetrics);
        assert!(om.contains("# TYPE rlocust_metric_values counter\n") && om.ends_with("# EOF\n"));
    }

    #[test]
    fn openmetrics_families_units_and_eof() {
        let s = stats();
        let snap = s.snapshot();
        let doc = render(&exposition(&snap), Format::OpenMetrics);
        assert!(doc.contains("# TYPE rlocust_requests counter\n"));
        assert!(doc.contains("# TYPE rlocust_response_time_seconds histogram\n# UNIT rlocust_response_time_seconds seconds\n"));
        assert!(doc.ends_with("# EOF\n"));
        assert!(!doc.contains("# TYPE rlocust_requests_total"));
    }

    #[test]
    fn worker_series_under_a_master_and_none_without_requests() {
        let s = stats();
        let snap = s.snapshot();
        let mut x = exposition(&snap);
        x.workers = Some(vec![WorkerRow {
            id: "host_abc".into(),
            state: "running",
            user_count: 4,
            cpu_usage: 33.0,
            memory_usage: 2048,
        }]);
        let doc = render(&x, Format::Text);
        assert!(doc.contains("rlocust_worker_users{worker=\"host_abc\"} 4\n"));
        assert!(doc.contains("locust_worker_detail{id=\"host_abc\",state=\"running\"} 4\n"));
        assert!(doc.contains("locust_workers_running_count 1\n"));
        x.workers = None;
        x.with_requests = false;
        let doc = render(&x, Format::Text);
        assert!(!doc.contains("rlocust_requests_total"));
        assert!(doc.contains("process_cpu_seconds_total 1.25\n"));
    }

    #[test]
    fn corrected_percentiles_only_for_fixed_rate_rows() {
        let now = 1_700_000_000.0;
        let s = RequestStats::new_at(now);
        // one 1 s request of a user paced at 100 ms: 9 synthetic samples (900 … 100 ms)
        s.log_request_paced("GET", "/paced", Some(1000.0), 0, now + 1.0, Some(100.0));
        s.log_request("GET", "/free", Some(5.0), 0, now + 1.0);
        let snap = s.snapshot();
        let doc = render(&exposition(&snap), Format::Text);
        assert!(doc.contains(
            "rlocust_coordinated_omission_samples_total{method=\"GET\",name=\"/paced\"} 9\n"
        ));
        assert!(doc.contains(
            "rlocust_response_time_corrected_percentile_seconds{method=\"GET\",name=\"/paced\",quantile=\"0.5\"} 0.5995"
        ), "{doc}"); // 10 samples 100 … 1000 ms: rank 5 is 600 ms (the HDR bucket's lower bound)
        assert!(!doc.contains(
            "rlocust_response_time_corrected_percentile_seconds{method=\"GET\",name=\"/free\""
        ));
        let plain = stats();
        let doc = render(&exposition(&plain.snapshot()), Format::Text);
        assert!(!doc.contains("corrected"));
    }

    #[test]
    fn bucket_option_is_checked() {
        assert_eq!(
            parse_buckets("100, 5,5,20").unwrap(),
            vec![5.0, 20.0, 100.0]
        );
        assert!(parse_buckets("5,x").unwrap_err().contains("'x'"));
        assert!(parse_buckets("0").is_err());
        assert!(parse_buckets(" , ").is_err());
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(
            Format::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::from_accept(Some("*/*")), Format::Text);
        assert_eq!(Format::from_accept(None), Format::Text);
    }
}
