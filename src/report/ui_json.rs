//! The statistics in the JSON shapes of Locust's web UI (reference §1.3-§1.4): a `/stats/requests` row, a
//! failure row, a history point, `/exceptions`, and the task ratios of `/tasks` from the user classes' task trees
//! and the live user counts. Locust's keys, value types (Python `int` versus `float`) and row order.
//!
//! Who calls it: the web API (`web::api`, `web::routes`, `web::page`) and the HTML report (`report::html`), which
//! embeds the same documents. Pure functions of their arguments; no I/O, no clock, no Python, nothing of `web`.
use crate::pyfmt::format_utc_timestamp;
use crate::pyfmt::json::J;
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
        if total.totals.last_request_timestamp.is_none() {
            J::Int(0)
        } else {
            J::Float(x)
        }
    };
    let mut row = BTreeMap::new();
    row.insert("method".into(), J::str(&e.method));
    row.insert("name".into(), J::str(&e.name));
    row.insert("num_requests".into(), J::Int(e.totals.num_requests as i64));
    row.insert("num_failures".into(), J::Int(e.totals.num_failures as i64));
    row.insert(
        "min_response_time".into(),
        e.totals
            .min_response_time
            .map_or(J::Int(0), |m| J::Float(proper_round(m))),
    );
    row.insert(
        "max_response_time".into(),
        J::Float(proper_round(e.totals.max_response_time)),
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
    use super::*;
    use crate::pyfmt::json::pretty;

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
        let want = crate::test_samples::read("standalone/tasks_running.json");
        assert_eq!(got.trim_end(), want.trim_end());
        let none = pretty(&tasks(&trees, &BTreeMap::new()));
        let want = crate::test_samples::read("standalone/ready_tasks.json");
        assert_eq!(none.trim_end(), want.trim_end());
        assert!(got.contains("0.07142857142857142"), "{got}");
    }

    /// Benchmark (not a timed test): `cargo test --release -- --ignored a_thousand --nocapture` prints the cost of
    /// `/stats/requests` with 1,000 names while every row changes between polls, split into snapshot, document
    /// and text. docs/web.md quotes it.
    #[test]
    fn proper_round_is_half_up() {
        assert_eq!(proper_round(2.5), 3.0);
        assert_eq!(proper_round(1.6670330000465583), 2.0);
        assert_eq!(proper_round(0.0), 0.0);
        assert_eq!(proper_round(13.320335999992494), 13.0);
    }
}
