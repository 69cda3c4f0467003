//! Reports: turn a run's readings ([`crate::runner::readings::Readings`]: the statistics [`crate::stats::Snapshot`],
//! the open workload's accounting, the generator's lateness, the requests in flight) into the text Locust 2.47
//! prints and writes, byte for byte (reference §5.2–5.6, §6.1–6.2), and rlocust's own outputs.
//!
//! - `arrivals`: an open workload's accounting (arrival rates, dropped iterations, users busy), only for runs
//!   with an arrival rate.
//! - `compare`: a run compared with a baseline (`--baseline`, `rlocust-report compare`): per name deltas and
//!   noise-aware verdicts, as JSON, a console table and `_baseline.csv` (rlocust's own; docs/reports.md).
//! - `console`: the request table, the percentile table and the error report (stderr).
//! - `corrected`: the coordinated-omission corrected percentiles (console table, report section), only for
//!   runs with fixed-rate users.
//! - `csv`: the four `--csv` files and their writer.
//! - `html`: the `--html` report and `/stats/report` (the web UI's bundle with the run's data).
//! - `json`: the `--json` / `--json-file` document.
//! - `metrics`: the metric rows (stream metrics, custom metrics): their console table, `_metrics.csv` and JSON
//!   rows, only for runs that recorded any.
//! - `outputs`: what the user asked to be written at the end of the run (and the periodic CSV writes), once.
//! - `prometheus`: the `/metrics` text (Prometheus and OpenMetrics).
//! - `search`: the capacity search (`--search`): its JSON, `_search.csv`, the probe table, the headline line and
//!   the `/metrics` families, only for runs that searched.
//! - `summary`: the `--summary-json` document.
//! - `ui_json`: the JSON rows the web UI's API and the HTML report share.
//!
//! Who calls it: the session's periodic printers and writers, the web UI, and the run's end. The numbers are
//! printed with `crate::pyfmt`.
//!
//! What it must not do: read run state by path: a writer is handed readings, or the run context
//! (`runner::Context`) it takes them from (the two writers that hold the run, `outputs::Outputs` and
//! `html::Report`, take their readings from the context they were given); decide when to print or write (the
//! caller's job); or touch Python. A writer's test makes its readings from statistics alone
//! (`Readings::of_stats`), with no run around it.

pub mod arrivals;
pub mod compare;
pub mod console;
pub mod corrected;
pub mod csv;
pub mod html;
pub mod json;
pub mod metrics;
pub mod outputs;
pub mod prometheus;
pub mod search;
pub mod summary;
pub mod ui_json;

/// A scenario replayed once through real Locust 2.47 (`locust.stats.RequestStats`, its
/// `get_*_summary` functions, `StatsCSV`/`StatsCSVFileWriter` and `json.dumps(serialize_stats(),
/// indent=4)`) with `locust.stats.time` replaced by a fake clock returning the same `now` values;
/// the expected strings in the tests of `console`, `csv` and `json` are that run's output.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::stats::RequestStats;

    pub const START: f64 = 1_700_000_000.0;
    const HTTP_501: &str = "HTTPError('501 Server Error: NOT IMPLEMENTED for url: /x')";

    /// 340 requests over 3.7125 s: `GET /` (195 ok), `POST /x` (74 failed), `GET /nope,"named"`
    /// (71 failed, two distinct errors); with `none_request`, one more `GET /none` without a time.
    /// Plus three task exceptions (two share a traceback).
    pub fn stats(none_request: bool) -> RequestStats {
        let mut reqs: Vec<(&str, &str, f64, Option<&str>)> = Vec::new();
        reqs.push(("GET", "/", 1.5, None));
        reqs.extend(std::iter::repeat_n(("GET", "/", 3.0, None), 193));
        reqs.push(("GET", "/", 29.0, None));
        reqs.push(("POST", "/x", 1.2, Some(HTTP_501)));
        reqs.extend(std::iter::repeat_n(("POST", "/x", 3.0, Some(HTTP_501)), 40));
        reqs.extend(std::iter::repeat_n(("POST", "/x", 5.0, Some(HTTP_501)), 32));
        reqs.push(("POST", "/x", 40.7, Some(HTTP_501)));
        let named = "/nope,\"named\"";
        reqs.extend(std::iter::repeat_n(
            (
                "GET",
                named,
                2.0,
                Some("CatchResponseError('custom failure')"),
            ),
            70,
        ));
        reqs.push(("GET", named, 2.0, Some("CatchResponseError(\"it's, bad\")")));
        let s = RequestStats::new_at(START);
        for (i, (m, n, rt, err)) in reqs.into_iter().enumerate() {
            let now = START + 3.7125 * (i + 1) as f64 / 340.0;
            s.log_request(m, n, Some(rt), 100 + (i % 7) as u64, now);
            if let Some(e) = err {
                s.log_error(m, n, e, now);
            }
        }
        if none_request {
            s.log_request("GET", "/none", None, 0, START + 3.7125 * 340.0 / 340.0);
        }
        let tb1 = "  File \"locustfile.py\", line 9, in t\n    1/0\n";
        s.log_exception("division by zero", tb1, "local");
        s.log_exception("division by zero again", tb1, "local");
        s.log_exception("bad \"value\", here", "tb2\n", "local");
        s
    }

    /// The moment the oracle printed everything.
    pub const AT: f64 = START + 4.5;
}
