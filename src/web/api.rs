//! The JSON documents of the web API that need more than statistics (reference §1.3-§1.4): `/stats/requests`
//! (with a master's workers), `/logs` (with the workers' lines), the master's worker list and count. The rows
//! and the task ratios come from `report::ui_json`, shared with the HTML report.
//!
//! Who calls it: `web::routes`, `web::page`, `web::metrics`, `app::gates`, each handing in the node (this
//! process's place in a distributed run) it holds. No I/O, no clock, no Python, no static.
use crate::distributed::node::{Node, Role, WorkerInfo};
use crate::distributed::roster::NodeState;
use crate::pyfmt::json::J;
use crate::pyfmt::{py_float_repr, py_round_int};
use crate::report::ui_json::{MAX_ROWS, PERCENTILES_TO_CHART, error_row, stat_row};
use crate::stats::Snapshot;
use std::collections::BTreeMap;

/// The `/stats/requests` document for a snapshot, the runner state and the users alive.
pub fn stats_requests(snap: &Snapshot, state: &str, user_count: u64, node: Option<&Node>) -> J {
    let total = &snap.total;
    let mut stats: Vec<J> = snap
        .sorted_entries()
        .into_iter()
        .take(MAX_ROWS)
        .map(|e| stat_row(e, total))
        .collect();
    let total_row = stat_row(total, total);
    let field = |k: &str| match &total_row {
        J::Obj(m) => m.get(k).cloned().unwrap_or(J::Null),
        _ => J::Null,
    };
    let have_window = total.has_current_window(snap.taken_at);
    let current_percentiles = J::obj(PERCENTILES_TO_CHART.iter().map(|&p| {
        let v = if have_window {
            total
                .current_percentile(p)
                .map_or(J::Int(0), |ms| J::Int(py_round_int(ms)))
        } else {
            J::Null
        };
        (format!("response_time_percentile_{}", py_float_repr(p)), v)
    }));
    let errors: Vec<J> = snap.errors.iter().take(MAX_ROWS).map(error_row).collect();
    let doc = J::obj([
        ("current_rps", field("current_rps")),
        ("current_fail_per_sec", field("current_fail_per_sec")),
        ("total_rps", field("total_rps")),
        ("total_fail_per_sec", field("total_fail_per_sec")),
        ("fail_ratio", J::Float(total.fail_ratio())),
        ("current_response_time_percentiles", current_percentiles),
        ("errors", J::Arr(errors)),
        ("state", J::str(state)),
        ("user_count", J::Int(user_count as i64)),
    ]);
    stats.push(total_row);
    match doc {
        J::Obj(mut m) => {
            m.insert("stats".into(), J::Arr(stats));
            if let Some(workers) = master_workers(node) {
                // counted from the same snapshot as the list, so one response never says 2 workers and lists 1
                // (the master publishes its count at once and the list within 100 ms; Locust reads both from
                // `runner.clients` at one moment)
                let count = workers
                    .iter()
                    .filter(|w| NodeState::parse(w.state).active())
                    .count() as i64;
                m.insert(
                    "workers".into(),
                    J::Arr(workers.iter().map(worker_row).collect()),
                );
                m.insert("worker_count".into(), J::Int(count));
            }
            J::Obj(m)
        }
        other => other,
    }
}

/// On a master (`node`: this process's place in a distributed run), what it knows of its workers (every known
/// one, missing included); `None` elsewhere.
pub fn master_workers(node: Option<&Node>) -> Option<std::sync::Arc<Vec<WorkerInfo>>> {
    node.filter(|n| n.role == Role::Master).map(|n| n.workers())
}

/// Workers in ready, spawning or running state (Locust's `worker_count`; 0 when not a master).
pub fn worker_count(node: Option<&Node>) -> i64 {
    node.filter(|n| n.role == Role::Master)
        .map(|n| n.worker_count())
        .unwrap_or(0)
}

fn worker_row(w: &WorkerInfo) -> J {
    J::obj([
        ("id", J::str(&w.id)),
        ("state", J::str(w.state)),
        ("user_count", J::Int(w.user_count as i64)),
        ("cpu_usage", J::Float(w.cpu_usage)),
        ("memory_usage", J::Int(w.memory_usage as i64)),
    ])
}

/// `/logs`: this process's lines, and on a master each worker's last `logs` message.
pub fn logs(lines: Vec<String>, node: Option<&Node>) -> J {
    let workers: BTreeMap<String, J> = node
        .map(|n| n.worker_logs())
        .unwrap_or_default()
        .into_iter()
        .map(|(id, lines)| (id, J::Arr(lines.into_iter().map(J::Str).collect())))
        .collect();
    J::obj([
        ("master", J::Arr(lines.into_iter().map(J::Str).collect())),
        ("workers", J::Obj(workers)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyfmt::json::pretty;
    use crate::stats::RequestStats;

    #[test]
    fn ready_stats_requests_match_locusts_sample() {
        let stats = RequestStats::new_at(1000.0);
        let early = pretty(&stats_requests(
            &stats.snapshot_at(1001.0),
            "ready",
            0,
            None,
        ));
        assert!(
            early.contains("\"response_time_percentile_0.5\": null"),
            "{early}"
        );
        let doc = stats_requests(&stats.snapshot_at(1003.0), "ready", 0, None);
        let sample = crate::test_samples::read("standalone/ready_stats_requests.http");
        // (the recorded response: status line and headers with CRLF, a blank line, the body)
        let (_, want) = sample
            .split_once("\r\n\r\n")
            .expect("the sample's head and body");
        let got = pretty(&doc);
        assert_eq!(got.trim_end(), want.trim_end());
        assert!(got.contains("\"current_rps\": 0,"), "{got}");
        assert!(got.contains("\"max_response_time\": 0.0,"), "{got}");
    }

    #[test]
    #[ignore]
    fn a_thousand_names_are_cheap() {
        let stats = RequestStats::new_at(1000.0);
        for i in 0..1000 {
            for k in 0..20 {
                stats.log_request(
                    "GET",
                    &format!("/item/{i}"),
                    Some(1.0 + (k * 37 % 900) as f64),
                    100,
                    1001.0 + k as f64 * 0.1,
                );
            }
        }
        let rounds = 20;
        let mut len = 0;
        let mut times = Vec::new();
        let (mut t_snap, mut t_doc, mut t_text) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            // under load every row changes between two polls
            for i in 0..1000 {
                stats.log_request(
                    "GET",
                    &format!("/item/{i}"),
                    Some(0.3 + ((i * 7919 + r * 31) % 5000) as f64 / 10.0),
                    100,
                    1002.0 + r as f64 * 0.1,
                );
            }
            let t0 = std::time::Instant::now();
            let snap = stats.snapshot_at(1005.0);
            let t1 = std::time::Instant::now();
            let doc = stats_requests(&snap, "running", 100, None);
            let t2 = std::time::Instant::now();
            len += pretty(&doc).len();
            let t3 = std::time::Instant::now();
            times.push(t3 - t0);
            t_snap.push(t1 - t0);
            t_doc.push(t2 - t1);
            t_text.push(t3 - t2);
        }
        t_snap.sort();
        t_doc.sort();
        t_text.sort();
        eprintln!(
            "snapshot {:?} document {:?} text {:?}",
            t_snap[rounds / 2],
            t_doc[rounds / 2],
            t_text[rounds / 2]
        );
        times.sort();
        let per = times[times.len() / 2];
        eprintln!(
            "/stats/requests with 1000 names: median {per:?}, slowest {:?} per document ({} bytes)",
            times[times.len() - 1],
            len / rounds
        );
        assert_eq!(len / rounds, 257_709, "every document holds the 1,000 rows");
    }

    #[test]
    fn a_row_with_requests_has_locusts_types() {
        let stats = RequestStats::new_at(1000.0);
        stats.log_request("GET", "/b", Some(2.4), 6, 1001.0);
        stats.log_request("GET", "/a", Some(12.5), 6, 1002.0);
        stats.log_error("GET", "/a", "HTTPError('x')", 1002.0);
        let doc = stats_requests(&stats.snapshot_at(1003.0), "running", 2, None);
        let J::Obj(m) = &doc else { panic!() };
        let J::Arr(rows) = &m["stats"] else { panic!() };
        let names: Vec<String> = rows
            .iter()
            .map(|r| match r {
                J::Obj(r) => match &r["name"] {
                    J::Str(s) => s.clone(),
                    _ => String::new(),
                },
                _ => String::new(),
            })
            .collect();
        assert_eq!(names, ["/a", "/b", "Aggregated"]);
        let J::Obj(a) = &rows[0] else { panic!() };
        assert_eq!(a["min_response_time"], J::Float(13.0)); // half up
        assert_eq!(a["max_response_time"], J::Float(13.0));
        assert!(matches!(a["current_rps"], J::Float(_)));
        assert!(matches!(a["response_time_percentile_0.95"], J::Int(_)));
        assert_eq!(m["user_count"], J::Int(2));
        assert!(matches!(m["fail_ratio"], J::Float(_)));
        let J::Arr(errors) = &m["errors"] else {
            panic!()
        };
        assert_eq!(errors.len(), 1);
    }
}
