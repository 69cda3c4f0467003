//! Plain dict views of stats entries for `locust.stats` (the Python side presents them with Locust's names).
//! Runs on the hub thread; reads a Rust snapshot, never the live stats lock for long.
use crate::stats::{EntrySnapshot, Num, Snapshot};
use pyo3::prelude::*;
use pyo3::types::PyDict;

const REPORTED: [f64; 11] = [
    0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

fn num(py: Python<'_>, n: Num) -> PyResult<Py<PyAny>> {
    Ok(match n {
        Num::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Num::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
    })
}

pub fn find<'a>(
    snap: &'a Snapshot,
    name: Option<&str>,
    method: Option<&str>,
) -> Option<&'a EntrySnapshot> {
    match name {
        None => Some(&snap.total),
        Some(n) => snap
            .entries
            .iter()
            .find(|e| e.name == n && method.is_none_or(|m| e.method == m)),
    }
}

pub fn entry_dict(
    py: Python<'_>,
    snap: &Snapshot,
    name: Option<&str>,
    method: Option<&str>,
) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    let Some(e) = find(snap, name, method) else {
        d.set_item("name", name)?;
        d.set_item("method", method)?;
        for k in [
            "num_requests",
            "num_none_requests",
            "num_failures",
            "total_content_length",
            "median_response_time",
        ] {
            d.set_item(k, 0)?;
        }
        for k in [
            "total_response_time",
            "max_response_time",
            "avg_response_time",
            "fail_ratio",
            "avg_content_length",
            "current_rps",
            "current_fail_per_sec",
            "total_rps",
            "total_fail_per_sec",
        ] {
            d.set_item(k, 0.0)?;
        }
        d.set_item("min_response_time", py.None())?;
        d.set_item("last_request_timestamp", py.None())?;
        d.set_item("start_time", snap.total.totals.start_time)?;
        d.set_item("percentiles", PyDict::new(py))?;
        d.set_item("num_reqs_per_sec", PyDict::new(py))?;
        d.set_item("num_fail_per_sec", PyDict::new(py))?;
        d.set_item("response_times", PyDict::new(py))?;
        return Ok(d.into_any().unbind());
    };
    let total = &snap.total;
    d.set_item("name", &e.name)?;
    d.set_item("method", &e.method)?;
    d.set_item("num_requests", e.totals.num_requests)?;
    d.set_item("num_none_requests", e.totals.num_none_requests)?;
    d.set_item("num_failures", e.totals.num_failures)?;
    d.set_item("total_response_time", e.totals.total_response_time)?;
    d.set_item("min_response_time", e.totals.min_response_time)?;
    d.set_item("max_response_time", e.totals.max_response_time)?;
    d.set_item("total_content_length", e.totals.total_content_length)?;
    d.set_item("start_time", e.totals.start_time)?;
    d.set_item("last_request_timestamp", e.totals.last_request_timestamp)?;
    d.set_item("avg_response_time", e.avg_response_time())?;
    d.set_item("median_response_time", num(py, e.median_response_time())?)?;
    d.set_item("fail_ratio", e.fail_ratio())?;
    d.set_item("avg_content_length", num(py, e.avg_content_length())?)?;
    d.set_item("current_rps", e.current_rps(total))?;
    d.set_item("current_fail_per_sec", e.current_fail_per_sec(total))?;
    d.set_item("total_rps", e.total_rps(total))?;
    d.set_item("total_fail_per_sec", e.total_fail_per_sec(total))?;
    let p = PyDict::new(py);
    if e.has_response_times() {
        for q in REPORTED {
            p.set_item(q, e.percentile(q).round() as i64)?;
        }
    }
    d.set_item("percentiles", p)?;
    d.set_item("num_reqs_per_sec", e.num_reqs_per_sec().to_map())?;
    d.set_item("num_fail_per_sec", e.num_fail_per_sec().to_map())?;
    d.set_item("response_times", e.response_times_buckets())?;
    Ok(d.into_any().unbind())
}

/// The cumulative percentile `p` of an entry in whole ms (0 when empty), as Locust reports it.
pub fn percentile(snap: &Snapshot, name: Option<&str>, method: Option<&str>, p: f64) -> i64 {
    find(snap, name, method)
        .filter(|e| e.has_response_times())
        .map(|e| e.percentile(p).round() as i64)
        .unwrap_or(0)
}

pub fn current_percentile(
    snap: &Snapshot,
    name: Option<&str>,
    method: Option<&str>,
    p: f64,
) -> Option<i64> {
    find(snap, name, method)
        .and_then(|e| e.current_percentile(p))
        .map(|v| v.round() as i64)
}
