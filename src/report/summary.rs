//! `--summary-json FILE`: one stable, documented JSON document per run for CI artifacts and scripts
//! (docs/observability.md has the schema). It is rlocust's own: Locust's `--json` output keeps Locust's format.
//!
//! Schema `rlocust-summary/1` (keys sorted; times in ms, rates per second, Unix times in seconds):
//! `schema`, `rlocust_version`, `locust_version`, `started_at`/`ended_at` (Unix seconds, null when the test
//! never started), `duration_s`, `exit_code`, `passed` (exit code 0), `interrupted` (Ctrl+C, SIGTERM, a task's `sys.exit` or the watchdog ended it), `aborted_by` (the
//! threshold that stopped the run, or null), `parameters` (locustfile, host, users, spawn_rate, run_time_s,
//! user_classes, mode, workers, tags, exclude_tags), `thresholds` (each rule with its target, metric, op, limit,
//! actual, unit, passed, abort), `thresholds_passed`, `totals` (the Aggregated row), `requests` (every row),
//! `errors`, `generator` (this process's own lateness: `socket_wait_ms`, `response_handling_delay_ms` and
//! `wait_lateness_ms`, each
//! `count`, `p50`, `p90`, `p99`, `p99.9`, `max`; see `stats::lateness`), `arrivals` (null, or an open workload's
//! accounting: `report::arrivals`), `metrics` (the metric rows: a stream's `ttft`, `itl`, `e2e`, `tpot`,
//! `output_tokens` and a locustfile's own, each `metric`, `name`, `unit`, `count`, `avg`, `min`, `max`,
//! `percentiles`, `current`; `report::metrics`). A row: `method`, `name`, `requests`, `failures`, `fail_ratio`, `rps`, `avg_ms`, `min_ms`, `max_ms`,
//! `median_ms`, `avg_bytes`, `percentiles_ms` (keys `50`, `66`, `75`, `80`, `90`, `95`, `98`, `99`, `99.9`,
//! `99.99`, `100`; exact to 0.1 %, not Locust's 2-digit rounding), `coordinated_omission` (null, or for rows
//! with requests of fixed-rate users `fixed_rate_requests`, `synthetic_samples` and the corrected
//! `percentiles_ms`), `histogram_us` (null, or the exact response-time histogram: `[lowest µs of the bucket,
//! count]` pairs, ascending; what makes a summary an exact baseline). Since issue 42 also `python_version`,
//! `parameters.arrival_rate`, `baseline` (null, or the comparison with `--baseline`: `report::compare::render`,
//! schema `rlocust-comparison/1`) and `baseline_gate` (`--baseline-gate`). Since issue 51 `ended_by`: how the run ended
//! (`run_time`, `quit`, `sigint`, `sigterm`, `abort`, `master`, `sys_exit`, `abandoned` or `error`; `app::run_end`).
//! Since issue 52 `search`: the capacity search (`--search`; `report::search::json`), a key present only when the
//! run searched (absent, not null, otherwise).
//! Fields are only ever added within a schema version.
//!
//! Who calls it: `app::session` at the end of a run (also after an interrupt or a task's `sys.exit`). What it
//! must not do: read live statistics or decide anything (the exit code and outcomes are given).
use crate::judge::thresholds::Outcome;
use crate::pyfmt::json::{J, pretty};
use crate::runner::readings::Readings;
use crate::stats::EntrySnapshot;

/// The schema name; a new one only when a field changes meaning or goes away.
pub const SCHEMA: &str = "rlocust-summary/1";

/// The percentiles of every row (`percentiles_ms` keys are these × 100).
const PERCENTILES: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// The run's parameters as the summary states them.
pub struct Parameters {
    pub locustfiles: Vec<String>,
    pub host: Option<String>,
    pub users: Option<u64>,
    pub spawn_rate: Option<f64>,
    pub run_time: Option<u64>,
    pub user_classes: Vec<String>,
    /// `local`, `master` or `worker`.
    pub mode: &'static str,
    pub workers: Option<u64>,
    pub tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    /// `--arrival-rate` as given (an open workload).
    pub arrival_rate: Option<String>,
    /// The interpreter's version (`3.11.2`).
    pub python_version: String,
}

/// Everything the document holds.
pub struct RunSummary<'a> {
    /// The run's readings at its end (the statistics, the open workload's accounting, the generator's lateness).
    pub readings: &'a Readings,
    pub params: Parameters,
    pub started_at: Option<f64>,
    pub ended_at: f64,
    pub exit_code: i32,
    pub interrupted: bool,
    /// How the run ended (`app::run_end::Verdict::ended_by`).
    pub ended_by: &'a str,
    pub outcomes: &'a [Outcome],
    pub aborted_by: Option<String>,
    /// `--baseline`: the comparison object (`report::compare::render::json`) and whether it gates the run.
    pub baseline: Option<J>,
    pub baseline_gate: bool,
    /// The capacity search (`report::search::json`); `None`: the run searched nothing, and the key is absent.
    pub search: Option<J>,
}

fn pct_key(p: f64) -> String {
    let mut s = format!("{:.4}", p * 100.0);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

fn row(e: &EntrySnapshot, total: &EntrySnapshot) -> J {
    let timed = e.has_response_times();
    let ms = |v: f64| if timed { J::Float(v) } else { J::Null };
    J::obj([
        ("method", J::str(&e.method)),
        ("name", J::str(&e.name)),
        ("requests", J::Int(e.totals.num_requests as i64)),
        ("failures", J::Int(e.totals.num_failures as i64)),
        ("fail_ratio", J::Float(e.fail_ratio())),
        ("rps", J::Float(e.total_rps(total))),
        ("avg_ms", ms(e.avg_response_time())),
        ("min_ms", ms(e.totals.min_response_time.unwrap_or(0.0))),
        ("max_ms", ms(e.totals.max_response_time)),
        ("median_ms", ms(e.percentile(0.5))),
        ("avg_bytes", J::Float(e.avg_content_length().as_f64())),
        ("coordinated_omission", corrected(e)),
        (
            "histogram_us",
            if timed {
                J::Arr(
                    e.histogram_us()
                        .iter()
                        .map(|&(us, n)| J::Arr(vec![J::Int(us as i64), J::Int(n as i64)]))
                        .collect(),
                )
            } else {
                J::Null
            },
        ),
        (
            "percentiles_ms",
            if timed {
                J::obj(
                    PERCENTILES
                        .iter()
                        .map(|&p| (pct_key(p), J::Float(e.percentile(p)))),
                )
            } else {
                J::Null
            },
        ),
    ])
}

/// The row's percentiles corrected for coordinated omission, when it had requests of fixed-rate users.
fn corrected(e: &EntrySnapshot) -> J {
    let Some(counts) = e.corrected_counts() else {
        return J::Null;
    };
    if !e.has_response_times() {
        return J::Null;
    }
    J::obj([
        ("fixed_rate_requests", J::Int(counts.paced_requests as i64)),
        ("synthetic_samples", J::Int(counts.synthetic_samples as i64)),
        (
            "percentiles_ms",
            J::obj(PERCENTILES.iter().map(|&p| {
                (
                    pct_key(p),
                    e.corrected_percentile(p).map_or(J::Null, J::Float),
                )
            })),
        ),
    ])
}

/// How late this generator itself was (`stats::lateness`): responses' bytes waiting in sockets, the hub's delay in
/// taking finished responses, and the users' resumption after their waits. Also the web UI's
/// `/rlocust/generator`.
pub fn generator(l: &crate::stats::lateness::Lateness) -> J {
    let delays = |d: &crate::stats::lateness::Delays| {
        J::obj([
            ("count", J::Int(d.count as i64)),
            ("p50", J::Float(d.p50)),
            ("p90", J::Float(d.p90)),
            ("p99", J::Float(d.p99)),
            ("p99.9", J::Float(d.p999)),
            ("max", J::Float(d.max)),
        ])
    };
    J::obj([
        ("socket_wait_ms", delays(&l.socket)),
        ("response_handling_delay_ms", delays(&l.hub)),
        ("wait_lateness_ms", delays(&l.wait)),
    ])
}

/// An open workload's accounting (`report::arrivals`), or null for a closed-model run.
fn arrivals(s: &crate::runner::open::Snapshot) -> J {
    if s.active {
        super::arrivals::json(s, false)
    } else {
        J::Null
    }
}

fn outcome(o: &Outcome) -> J {
    J::obj([
        ("rule", J::str(&o.rule.text)),
        ("target", J::str(&o.target)),
        ("metric", J::str(o.rule.metric_label())),
        ("op", J::str(o.rule.op.as_str())),
        ("limit", J::Float(o.rule.limit)),
        ("actual", J::opt_float(o.actual)),
        ("unit", J::str(&o.unit)),
        ("passed", J::Bool(o.passed)),
        ("abort", J::Bool(o.rule.abort_after.is_some())),
    ])
}

fn strs(v: &[String]) -> J {
    J::Arr(v.iter().map(J::str).collect())
}

/// The `parameters` object.
pub fn parameters_json(p: &Parameters) -> J {
    let opt_int = |v: Option<u64>| v.map_or(J::Null, |n| J::Int(n as i64));
    J::obj([
        ("locustfile", J::str(p.locustfiles.join(","))),
        ("host", p.host.clone().map_or(J::Null, J::Str)),
        ("users", opt_int(p.users)),
        ("spawn_rate", J::opt_float(p.spawn_rate)),
        ("run_time_s", opt_int(p.run_time)),
        (
            "arrival_rate",
            p.arrival_rate.clone().map_or(J::Null, J::Str),
        ),
        ("user_classes", strs(&p.user_classes)),
        ("mode", J::str(p.mode)),
        ("workers", opt_int(p.workers)),
        ("tags", strs(&p.tags)),
        ("exclude_tags", strs(&p.exclude_tags)),
    ])
}

/// The run as the HTML report's `run` object states it: the parameters, the versions and the times.
pub fn run_json(p: &Parameters, started_at: Option<f64>, ended_at: f64) -> J {
    let J::Obj(mut run) = parameters_json(p) else {
        unreachable!("parameters are an object")
    };
    run.insert("rlocust_version".into(), J::str(crate::version::VERSION));
    run.insert(
        "locust_version".into(),
        J::str(crate::version::LOCUST_VERSION),
    );
    run.insert("python_version".into(), J::str(&p.python_version));
    run.insert("started_at".into(), J::opt_float(started_at));
    run.insert("ended_at".into(), J::Float(ended_at));
    run.insert(
        "duration_s".into(),
        J::opt_float(started_at.map(|t| (ended_at - t).max(0.0))),
    );
    J::Obj(run)
}

/// The document's text.
pub fn render(s: &RunSummary<'_>) -> String {
    let snap = &s.readings.stats;
    let total = &snap.total;
    let params = parameters_json(&s.params);
    let duration = s.started_at.map(|t| (s.ended_at - t).max(0.0));
    let mut doc = J::obj([
        ("schema", J::str(SCHEMA)),
        ("rlocust_version", J::str(crate::version::VERSION)),
        ("locust_version", J::str(crate::version::LOCUST_VERSION)),
        ("python_version", J::str(&s.params.python_version)),
        ("started_at", J::opt_float(s.started_at)),
        ("ended_at", J::Float(s.ended_at)),
        ("duration_s", J::opt_float(duration)),
        ("exit_code", J::Int(s.exit_code as i64)),
        ("passed", J::Bool(s.exit_code == 0)),
        ("interrupted", J::Bool(s.interrupted)),
        ("ended_by", J::str(s.ended_by)),
        ("aborted_by", s.aborted_by.clone().map_or(J::Null, J::Str)),
        ("parameters", params),
        (
            "thresholds",
            J::Arr(s.outcomes.iter().map(outcome).collect()),
        ),
        (
            "thresholds_passed",
            J::Bool(s.outcomes.iter().all(|o| o.passed)),
        ),
        ("generator", generator(&s.readings.lateness)),
        ("baseline", s.baseline.clone().unwrap_or(J::Null)),
        ("baseline_gate", J::Bool(s.baseline_gate)),
        ("arrivals", arrivals(&s.readings.open)),
        ("totals", row(total, total)),
        ("metrics", super::metrics::json(snap)),
        ("token_span", super::metrics::json_span(snap)),
        (
            "requests",
            J::Arr(
                snap.sorted_entries()
                    .into_iter()
                    .map(|e| row(e, total))
                    .collect(),
            ),
        ),
        (
            "errors",
            J::Arr(
                snap.errors
                    .iter()
                    .map(|e| {
                        J::obj([
                            ("method", J::str(&e.method)),
                            ("name", J::str(&e.name)),
                            ("error", J::str(&e.error)),
                            ("occurrences", J::Int(e.occurrences as i64)),
                        ])
                    })
                    .collect(),
            ),
        ),
    ]);
    if let (Some(search), J::Obj(m)) = (&s.search, &mut doc) {
        m.insert("search".into(), search.clone());
    }
    pretty(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::thresholds;
    use crate::stats::RequestStats;

    #[test]
    fn document_has_the_schema_fields() {
        let now = 1_700_000_000.0;
        let stats = RequestStats::new_at(now);
        for ms in [10.0, 20.0, 30.0, 40.0] {
            stats.log_request("GET", "/x", Some(ms), 5, now + 2.0);
        }
        stats.log_request("GET", "/none", None, 0, now + 2.0);
        let snap = stats.snapshot();
        let rules = thresholds::parse(Some("p99<35"), None, None, None).unwrap();
        let readings = crate::runner::readings::Readings::of_stats(snap);
        let outcomes = thresholds::evaluate(&rules, &readings);
        let text = render(&RunSummary {
            readings: &readings,
            params: Parameters {
                locustfiles: vec!["lf.py".into()],
                host: Some("http://127.0.0.1:1".into()),
                users: Some(3),
                spawn_rate: Some(1.5),
                run_time: Some(10),
                user_classes: vec!["A".into()],
                mode: "local",
                workers: None,
                tags: vec![],
                exclude_tags: vec![],
                arrival_rate: None,
                python_version: "3.11.2".into(),
            },
            started_at: Some(now),
            ended_at: now + 3.0,
            exit_code: 3,
            interrupted: false,
            ended_by: "run_time",
            outcomes: &outcomes,
            aborted_by: None,
            baseline: None,
            baseline_gate: false,
            search: None,
        });
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema"], "rlocust-summary/1");
        assert_eq!(v["exit_code"], 3);
        assert_eq!(v["passed"], false);
        assert_eq!(v["ended_by"], "run_time");
        assert_eq!(v["duration_s"], 3.0);
        assert_eq!(v["thresholds"][0]["actual"], 40.0);
        assert_eq!(v["thresholds"][0]["passed"], false);
        assert_eq!(v["thresholds_passed"], false);
        assert_eq!(v["totals"]["requests"], 5);
        assert_eq!(v["totals"]["percentiles_ms"]["99.9"], 40.0);
        assert_eq!(v["totals"]["percentiles_ms"]["50"], 30.0);
        let none = v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "/none")
            .unwrap();
        assert!(none["percentiles_ms"].is_null() && none["avg_ms"].is_null());
        assert_eq!(v["parameters"]["users"], 3);
        assert!(v["totals"]["coordinated_omission"].is_null());
        assert_eq!(v["metrics"], serde_json::json!([]));
        assert_eq!(
            v["totals"]["histogram_us"],
            serde_json::json!([[10000, 1], [20000, 1], [30000, 1], [40000, 1]])
        );
        assert!(none["histogram_us"].is_null());
        assert!(v["baseline"].is_null());
        assert!(v.get("search").is_none(), "no search: no key");
        // the summary is a baseline: read back, its rows give the same percentiles
        let side = crate::report::compare::load::from_text(&text).unwrap();
        assert_eq!(side.format, "rlocust summary");
        assert_eq!(side.total.dist.quantile(0.5), Some(30.0));
        assert_eq!(side.total.dist.quantile(1.0), Some(40.0));
        let Some(J::Obj(run)) = side.run else {
            panic!("a summary states its run")
        };
        assert_eq!(run.get("python_version"), Some(&J::str("3.11.2")));
    }
}
