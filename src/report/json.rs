//! The `--json` / `--json-file` document (reference §6.2): Python
//! `json.dumps(stats.serialize_stats(), indent=4)` reproduced byte for byte.
//!
//! Who calls it: the shutdown path (print to stdout for `--json`, write `<name>.json` for
//! `--json-file`). Locust's `serialize_stats()` also resets every entry it serializes; the caller
//! reproduces that with `RequestStats::reset_reported_entries` when it wants the same quirk.
//!
//! What it must not do: write files or reset statistics itself.

use crate::pyfmt::json::json_str;
use crate::pyfmt::{py_float_repr, py_num};
use crate::stats::{EntrySnapshot, Num, Snapshot};
use std::fmt::Write as _;

/// A Python float as `json.dumps` writes it (`Infinity`, `-Infinity`, `NaN` for the
/// non-finite values, which Python allows by default).
fn json_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        py_float_repr(x)
    }
}

fn json_num(n: Num) -> String {
    match n {
        Num::Float(f) => json_float(f),
        Num::Int(_) => py_num(n),
    }
}

/// An `{int: int}` dict at nesting depth 2 (inside the list and an entry object).
fn json_int_dict(pairs: impl Iterator<Item = (i64, u64)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(if out.is_empty() { "{\n" } else { ",\n" });
        let _ = write!(out, "            \"{k}\": {v}");
    }
    if out.is_empty() {
        "{}".to_owned()
    } else {
        out + "\n        }"
    }
}

/// Locust `StatsEntry.serialize()` as one indented object (depth 1).
fn entry_object(e: &EntrySnapshot) -> String {
    let fields: [(&str, String); 14] = [
        ("name", json_str(&e.name)),
        ("method", json_str(&e.method)),
        (
            "last_request_timestamp",
            e.totals
                .last_request_timestamp
                .map_or_else(|| "null".to_owned(), json_float),
        ),
        ("start_time", json_float(e.totals.start_time)),
        ("num_requests", e.totals.num_requests.to_string()),
        ("num_none_requests", e.totals.num_none_requests.to_string()),
        ("num_failures", e.totals.num_failures.to_string()),
        ("total_response_time", json_num(e.total_response_time_num())),
        ("max_response_time", json_num(e.max_response_time_num())),
        (
            "min_response_time",
            e.totals
                .min_response_time
                .map_or_else(|| "null".to_owned(), json_float),
        ),
        (
            "total_content_length",
            e.totals.total_content_length.to_string(),
        ),
        // NOTE: Locust's dict is in first-seen order; ours is ascending (the buckets come from
        // the histogram), which is the same whenever response times grow over the run.
        (
            "response_times",
            json_int_dict(e.response_times_buckets().into_iter()),
        ),
        (
            "num_reqs_per_sec",
            json_int_dict(e.num_reqs_per_sec().iter()),
        ),
        (
            "num_fail_per_sec",
            json_int_dict(e.num_fail_per_sec().iter()),
        ),
    ];
    let mut out = String::from("    {\n");
    for (i, (k, v)) in fields.iter().enumerate() {
        let _ = write!(out, "        \"{k}\": {v}");
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str("    }");
    out
}

/// `json.dumps(serialize_stats(), indent=4)`: the entries with requests or failures, in
/// insertion order, without the Aggregated total. No trailing newline (as `json.dumps`).
pub fn serialize_stats(snap: &Snapshot) -> String {
    let objects: Vec<String> = snap
        .entries
        .iter()
        .filter(|e| e.totals.num_requests != 0 || e.totals.num_failures != 0)
        .map(entry_object)
        .collect();
    if objects.is_empty() {
        return "[]".to_owned();
    }
    format!("[\n{}\n]", objects.join(",\n"))
}

/// `--json` when an open workload ran (rlocust's own, `report::arrivals`): an object holding Locust's array as
/// `stats` and the open workload's accounting as `arrivals`, both indented by 4 as the array is.
pub fn with_arrivals(stats: &str, arrivals: &crate::pyfmt::json::J) -> String {
    let indent = |text: &str| text.trim_end().replace('\n', "\n    ");
    let arrivals = crate::pyfmt::json::pretty(arrivals);
    format!(
        "{{\n    \"stats\": {},\n    \"arrivals\": {}\n}}",
        indent(stats),
        indent(&arrivals)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::stats::RequestStats;

    // Real Locust 2.47 on `fixture::stats(true)`: json.dumps(stats.serialize_stats(), indent=4).
    const JSON_B: &str = r#"[
    {
        "name": "/",
        "method": "GET",
        "last_request_timestamp": 1700000002.1292279,
        "start_time": 1700000000.010919,
        "num_requests": 195,
        "num_none_requests": 0,
        "num_failures": 0,
        "total_response_time": 609.5,
        "max_response_time": 29.0,
        "min_response_time": 1.5,
        "total_content_length": 20082,
        "response_times": {
            "2": 1,
            "3": 193,
            "29": 1
        },
        "num_reqs_per_sec": {
            "1700000000": 91,
            "1700000001": 92,
            "1700000002": 12
        },
        "num_fail_per_sec": {}
    },
    {
        "name": "/x",
        "method": "POST",
        "last_request_timestamp": 1700000002.9372427,
        "start_time": 1700000002.140147,
        "num_requests": 74,
        "num_none_requests": 0,
        "num_failures": 74,
        "total_response_time": 321.9,
        "max_response_time": 40.7,
        "min_response_time": 1.2,
        "total_content_length": 7619,
        "response_times": {
            "1": 1,
            "3": 40,
            "5": 32,
            "41": 1
        },
        "num_reqs_per_sec": {
            "1700000002": 74
        },
        "num_fail_per_sec": {
            "1700000002": 74
        }
    },
    {
        "name": "/nope,\"named\"",
        "method": "GET",
        "last_request_timestamp": 1700000003.7125,
        "start_time": 1700000002.9481618,
        "num_requests": 71,
        "num_none_requests": 0,
        "num_failures": 71,
        "total_response_time": 142.0,
        "max_response_time": 2.0,
        "min_response_time": 2.0,
        "total_content_length": 7313,
        "response_times": {
            "2": 71
        },
        "num_reqs_per_sec": {
            "1700000002": 5,
            "1700000003": 66
        },
        "num_fail_per_sec": {
            "1700000002": 5,
            "1700000003": 66
        }
    },
    {
        "name": "/none",
        "method": "GET",
        "last_request_timestamp": 1700000003.7125,
        "start_time": 1700000003.7125,
        "num_requests": 1,
        "num_none_requests": 1,
        "num_failures": 0,
        "total_response_time": 0,
        "max_response_time": 0,
        "min_response_time": null,
        "total_content_length": 0,
        "response_times": {},
        "num_reqs_per_sec": {
            "1700000003": 1
        },
        "num_fail_per_sec": {}
    }
]"#;

    #[test]
    fn serialize_matches_python_json_dumps() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(serialize_stats(&snap), JSON_B);
    }

    #[test]
    fn empty_and_reset_give_empty_list() {
        let s = RequestStats::new_at(fixture::START);
        assert_eq!(serialize_stats(&s.snapshot_at(fixture::AT)), "[]");
        let s = fixture::stats(false);
        s.reset_reported_entries(fixture::AT);
        assert_eq!(serialize_stats(&s.snapshot_at(fixture::AT)), "[]");
    }

    #[test]
    fn failure_only_entry_is_included() {
        let s = RequestStats::new_at(1000.0);
        s.log_error("GET", "/f", "E", 1000.5);
        let out = serialize_stats(&s.snapshot_at(1001.0));
        // python3: json.dumps of the same dict, indent=4
        let want = r#"[
    {
        "name": "/f",
        "method": "GET",
        "last_request_timestamp": null,
        "start_time": 1000.5,
        "num_requests": 0,
        "num_none_requests": 0,
        "num_failures": 1,
        "total_response_time": 0,
        "max_response_time": 0,
        "min_response_time": null,
        "total_content_length": 0,
        "response_times": {},
        "num_reqs_per_sec": {},
        "num_fail_per_sec": {
            "1000": 1
        }
    }
]"#;
        assert_eq!(out, want);
    }

    #[test]
    fn strings_escape_like_python() {
        // python3: json.dumps('q"b\\ \n\r\t\x08\x0c\x01\x7f é 😀 /')
        assert_eq!(
            json_str("q\"b\\ \n\r\t\u{8}\u{c}\u{1}\u{7f} é 😀 /"),
            r#""q\"b\\ \n\r\t\b\f\u0001\u007f \u00e9 \ud83d\ude00 /""#
        );
        assert_eq!(json_float(f64::INFINITY), "Infinity");
        assert_eq!(json_float(f64::NAN), "NaN");
        assert_eq!(json_float(1e-05), "1e-05");
    }
}
