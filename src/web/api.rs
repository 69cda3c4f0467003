//! The JSON documents of the web API built from Rust state (reference §1.3-§1.4): `/stats/requests` from a
//! stats [`Snapshot`], `/exceptions`, `/tasks` from the user classes' task trees and the live user counts, and
//! `/logs`. Locust's keys, value types (Python `int` versus `float`) and row order.
//!
//! Who calls it: `web::routes`. Pure functions of their arguments; no I/O, no clock, no Python.
use crate::pyfmt::json::J;
use crate::pyfmt::format_utc_timestamp;
use crate::pyfmt::{py_float_repr, py_round_int};
use crate::stats::history::HistoryPoint;
use crate::stats::{EntrySnapshot, Snapshot};
use std::collections::BTreeMap;

/// Rows of `/stats/requests` before the Aggregated row, and failure rows (Locust truncates both).
pub const MAX_ROWS: usize = 500;

/// `PERCENTILES_TO_STATISTICS` and `PERCENTILES_TO_CHART`, as Locust 2.47 ships them.
pub const PERCENTILES_TO_STATISTICS: [f64; 2] = [0.95, 0.99];
pub const PERCENTILES_TO_CHART: [f64; 2] = crate::stats::PERCENTILES_TO_CHART;

/// Locust's `proper_round(x)`: Python `round(x + 10 ** (-len(str(x)) - 1))`, i.e. half up on the printed
/// value; a float.
pub fn proper_round(x: f64) -> f64 {
    let digits = py_float_repr(x).len() as i32;
    (x + 10f64.powi(-digits - 1)).round_ties_even()
}

/// `StatsEntry.to_dict()`.
pub fn stat_row(e: &EntrySnapshot, total: &EntrySnapshot) -> J {
    // `current_rps` is the int 0 before any request (Locust returns 0 when there is no last request time)
    let current = |x: f64| {
        if total.last_request_timestamp.is_none() {
            J::Int(0)
        } else {
            J::Float(x)
        }
    };
    let mut row = BTreeMap::new();
    row.insert("method".into(), J::str(&e.method));
    row.insert("name".into(), J::str(&e.name));
    row.insert("num_requests".into(), J::Int(e.num_requests as i64));
    row.insert("num_failures".into(), J::Int(e.num_failures as i64));
    row.insert(
        "min_response_time".into(),
        e.min_response_time
            .map_or(J::Int(0), |m| J::Float(proper_round(m))),
    );
    row.insert(
        "max_response_time".into(),
        J::Float(proper_round(e.max_response_time)),
    );
    row.insert("current_rps".into(), current(e.current_rps(total)));
    row.insert(
        "current_fail_per_sec".into(),
        current(e.current_fail_per_sec(total)),
    );
    row.insert("avg_response_time".into(), J::Float(e.avg_response_time()));
    row.insert(
        "median_response_time".into(),
        J::num(e.median_response_time()),
    );
    row.insert("total_rps".into(), J::Float(e.total_rps(total)));
    row.insert(
        "total_fail_per_sec".into(),
        J::Float(e.total_fail_per_sec(total)),
    );
    for p in PERCENTILES_TO_STATISTICS {
        row.insert(
            format!("response_time_percentile_{}", py_float_repr(p)),
            J::Int(if e.has_response_times() {
                py_round_int(e.percentile(p))
            } else {
                0
            }),
        );
    }
    row.insert("avg_content_length".into(), J::num(e.avg_content_length()));
    J::Obj(row)
}

/// One history point as Locust's `update_stats_history` writes it: every value a `[time, value]` pair, rates
/// that are 0 as the int 0 (`current_rps or 0`).
pub fn history_point(p: &HistoryPoint, time: &str) -> J {
    let pair = |v: J| J::Arr(vec![J::str(time), v]);
    let rate = |x: f64| if x == 0.0 { J::Int(0) } else { J::Float(x) };
    let mut fields: Vec<(String, J)> = PERCENTILES_TO_CHART
        .iter()
        .zip(&p.percentiles)
        .map(|(q, v)| {
            (
                format!("response_time_percentile_{}", py_float_repr(*q)),
                pair(J::Int(*v)),
            )
        })
        .collect();
    fields.push(("current_rps".into(), pair(rate(p.current_rps))));
    fields.push((
        "current_fail_per_sec".into(),
        pair(rate(p.current_fail_per_sec)),
    ));
    fields.push((
        "total_avg_response_time".into(),
        pair(J::Float(p.avg_response_time)),
    ));
    fields.push(("user_count".into(), pair(J::Int(p.user_count as i64))));
    fields.push(("time".into(), J::str(time)));
    J::obj(fields)
}

/// The history list (`templateArgs.history`).
pub fn history(points: &[HistoryPoint]) -> J {
    J::Arr(
        points
            .iter()
            .map(|p| history_point(p, &format_utc_timestamp(p.time as f64)))
            .collect(),
    )
}

/// `StatsError.to_dict()`.
pub fn error_row(e: &crate::stats::ErrorSnapshot) -> J {
    J::obj([
        ("error", J::str(&e.error)),
        ("first_seen", J::opt_float(e.first_seen)),
        ("last_seen", J::opt_float(e.last_seen)),
        ("method", J::str(&e.method)),
        ("name", J::str(&e.name)),
        ("occurrences", J::Int(e.occurrences as i64)),
    ])
}

/// The `/stats/requests` document for a snapshot, the runner state and the users alive.
pub fn stats_requests(snap: &Snapshot, state: &str, user_count: u64) -> J {
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
            if let Some(workers) = master_workers() {
                let count = worker_count();
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

/// `/exceptions`.
pub fn exceptions(snap: &Snapshot) -> J {
    J::obj([(
        "exceptions",
        J::Arr(
            snap.exceptions
                .iter()
                .map(|x| {
                    J::obj([
                        ("count", J::Int(x.count as i64)),
                        ("msg", J::str(&x.msg)),
                        ("traceback", J::str(&x.traceback)),
                        ("nodes", J::str(x.nodes.join(", "))),
                    ])
                })
                .collect(),
        ),
    )])
}

/// On a master, what it knows of its workers (every known one, missing included); `None` elsewhere.
pub fn master_workers() -> Option<std::sync::Arc<Vec<crate::dist::node::WorkerInfo>>> {
    crate::dist::node::Node::get()
        .filter(|n| n.role == crate::dist::node::Role::Master)
        .map(|n| n.workers())
}

/// Workers in ready, spawning or running state (Locust's `worker_count`; 0 when not a master).
pub fn worker_count() -> i64 {
    crate::dist::node::Node::get()
        .filter(|n| n.role == crate::dist::node::Role::Master)
        .map(|n| n.worker_count())
        .unwrap_or(0)
}

fn worker_row(w: &crate::dist::node::WorkerInfo) -> J {
    J::obj([
        ("id", J::str(&w.id)),
        ("state", J::str(w.state)),
        ("user_count", J::Int(w.user_count as i64)),
        ("cpu_usage", J::Float(w.cpu_usage)),
        ("memory_usage", J::Int(w.memory_usage as i64)),
    ])
}

/// `/logs`: this process's lines, and on a master each worker's last `logs` message.
pub fn logs(lines: Vec<String>) -> J {
    let workers: BTreeMap<String, J> = crate::dist::node::Node::get()
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

/// One task of a task list: how often it occurs in its holder's list, that list's length, and the tasks of
/// a TaskSet.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct TaskNode {
    pub n: u64,
    pub len: u64,
    #[serde(default)]
    pub tasks: Option<BTreeMap<String, TaskNode>>,
}

/// `{class: {task: node}}`, from the shim's `web_info`.
pub type TaskTrees = BTreeMap<String, BTreeMap<String, TaskNode>>;

/// Locust's `_tasks_ratio`: `n * scale / len` (per class the scale is 1; in the totals each level is scaled by
/// its parent's ratio), computed in that order so the floats are Python's.
fn ratio_tree(tasks: &BTreeMap<String, TaskNode>, total: bool, parent: f64) -> J {
    let scale = if total { parent } else { 1.0 };
    J::obj(tasks.iter().map(|(name, node)| {
        let ratio = node.n as f64 * scale / node.len as f64;
        let mut fields = vec![("ratio", J::Float(ratio))];
        if let Some(sub) = &node.tasks {
            fields.push(("tasks", ratio_tree(sub, total, ratio)));
        }
        (name.clone(), J::obj(fields))
    }))
}

/// Locust's `get_ratio` for the users alive per class.
fn get_ratio(trees: &TaskTrees, alive: &BTreeMap<String, u64>, total: bool) -> J {
    let users: u64 = alive.values().sum();
    let users = if users == 0 { 1 } else { users };
    J::obj(trees.iter().map(|(class, tasks)| {
        let share = alive.get(class).copied().unwrap_or(0) as f64 / users as f64;
        (
            class.clone(),
            J::obj([
                ("ratio", J::Float(share)),
                ("tasks", ratio_tree(tasks, total, share)),
            ]),
        )
    }))
}

/// `/tasks`.
pub fn tasks(trees: &TaskTrees, alive: &BTreeMap<String, u64>) -> J {
    J::obj([
        ("per_class", get_ratio(trees, alive, false)),
        ("total", get_ratio(trees, alive, true)),
    ])
}

#[cfg(test)]
mod tests {
    use crate::pyfmt::json::pretty;
    use super::*;
    use crate::stats::RequestStats;

    #[test]
    fn ready_stats_requests_match_locusts_sample() {
        let stats = RequestStats::new_at(1000.0);
        let early = pretty(&stats_requests(&stats.snapshot_at(1001.0), "ready", 0));
        assert!(
            early.contains("\"response_time_percentile_0.5\": null"),
            "{early}"
        );
        let doc = stats_requests(&stats.snapshot_at(1003.0), "ready", 0);
        let want = std::fs::read_to_string(
            "/work/shared/reference/samples/standalone/ready_stats_requests.http",
        )
        .ok()
        .and_then(|t| t.split_once("\n\n").map(|(_, b)| b.to_string()));
        let got = pretty(&doc);
        if let Some(want) = want {
            assert_eq!(got.trim_end(), want.trim_end());
        }
        assert!(got.contains("\"current_rps\": 0,"), "{got}");
        assert!(got.contains("\"max_response_time\": 0.0,"), "{got}");
    }

    #[test]
    fn a_row_with_requests_has_locusts_types() {
        let stats = RequestStats::new_at(1000.0);
        stats.log_request("GET", "/b", Some(2.4), 6, 1001.0);
        stats.log_request("GET", "/a", Some(12.5), 6, 1002.0);
        stats.log_error("GET", "/a", "HTTPError('x')", 1002.0);
        let doc = stats_requests(&stats.snapshot_at(1003.0), "running", 2);
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

    #[test]
    fn task_ratios_as_locust_computes_them() {
        let trees: TaskTrees = serde_json::from_str(
            r#"{"OtherUser": {"post_it": {"n": 1, "len": 1}},
                "WebsiteUser": {"index": {"n": 5, "len": 7}, "boom": {"n": 1, "len": 7}, "missing": {"n": 1, "len": 7}}}"#,
        )
        .unwrap();
        let alive: BTreeMap<String, u64> =
            [("OtherUser".to_string(), 3), ("WebsiteUser".to_string(), 3)].into();
        let got = pretty(&tasks(&trees, &alive));
        if let Ok(want) =
            std::fs::read_to_string("/work/shared/reference/samples/standalone/tasks_running.json")
        {
            assert_eq!(got.trim_end(), want.trim_end());
        }
        let none = pretty(&tasks(&trees, &BTreeMap::new()));
        if let Ok(want) =
            std::fs::read_to_string("/work/shared/reference/samples/standalone/ready_tasks.json")
        {
            assert_eq!(none.trim_end(), want.trim_end());
        }
        assert!(got.contains("0.07142857142857142"), "{got}");
    }

    /// Benchmark (not a timed test): `cargo test --release -- --ignored a_thousand --nocapture` prints the cost of
    /// `/stats/requests` with 1,000 names while every row changes between polls, split into snapshot, document
    /// and text. docs/web.md quotes it.
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
            let doc = stats_requests(&snap, "running", 100);
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
    fn proper_round_is_half_up() {
        assert_eq!(proper_round(2.5), 3.0);
        assert_eq!(proper_round(1.6670330000465583), 2.0);
        assert_eq!(proper_round(0.0), 0.0);
        assert_eq!(proper_round(13.320335999992494), 13.0);
    }
}
