//! A run's result as a comparison [`Side`]: this run's snapshot, or a file a run wrote:
//! - an rlocust `--summary-json` (schema `rlocust-summary/1`): each row's exact histogram (`histogram_us`, since
//!   issue 42) or, from older summaries, its `percentiles_ms`; and its capacity search (`search`, issue 52);
//! - a Locust or rlocust `--csv` `_stats.csv`: its percentile columns (Locust rounds them to two significant
//!   digits), min and max; the quantile curve is interpolated between them;
//! - a Locust or rlocust `--json`/`--json-file` document: each entry's `response_times` histogram (Locust's
//!   rounded buckets), with the Aggregated row merged from them.
//!
//! Who calls it: `app::gates` (the `--baseline` file and this run), `app::report_cli` (both files). What it must
//! not do: judge anything. Errors are one line naming the file.
use std::collections::BTreeMap;

use super::{Dist, Row, Side};
use crate::pyfmt::json::J;
use crate::report::html::from_serde;
use crate::stats::{EntrySnapshot, Snapshot};

fn snapshot_row(e: &EntrySnapshot, total: &EntrySnapshot) -> Row {
    let buckets = e.histogram_us().to_vec();
    let n = buckets.iter().map(|b| b.1).sum();
    Row {
        method: e.method.clone(),
        name: e.name.clone(),
        requests: e.totals.num_requests,
        failures: e.totals.num_failures,
        timed: n,
        rps: e.total_rps(total),
        dist: if n > 0 {
            Dist::Hist {
                buckets,
                n,
                min: e.totals.min_response_time.unwrap_or(0.0),
                max: e.totals.max_response_time,
            }
        } else {
            Dist::None
        },
    }
}

/// This run, from a snapshot of its statistics.
pub fn from_snapshot(snap: &Snapshot, run: Option<J>) -> Side {
    Side {
        source: None,
        format: "this run",
        run,
        rows: snap
            .sorted_entries()
            .into_iter()
            .map(|e| snapshot_row(e, &snap.total))
            .collect(),
        total: snapshot_row(&snap.total, &snap.total),
        search: None,
    }
}

/// Read a result file (its format recognised from its content).
pub fn from_file(path: &str) -> Result<Side, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut side = from_text(&text).map_err(|e| format!("{path}: {e}"))?;
    side.source = Some(path.to_string());
    Ok(side)
}

/// A result from its text: summary JSON, `--json` document or `_stats.csv`.
pub fn from_text(text: &str) -> Result<Side, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let v: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| format!("not valid JSON ({e})"))?;
        return match &v {
            serde_json::Value::Object(o)
                if o.get("schema")
                    .and_then(|s| s.as_str())
                    .is_some_and(|s| s.starts_with("rlocust-summary/")) =>
            {
                from_summary(&v)
            }
            serde_json::Value::Array(items) => from_stats_json(items),
            _ => Err(NEITHER.into()),
        };
    }
    from_csv(trimmed)
}

const NEITHER: &str =
    "neither an rlocust summary (--summary-json), a --json document nor a _stats.csv (--csv)";

fn f(v: &serde_json::Value, key: &str) -> Option<f64> {
    v.get(key).and_then(|x| x.as_f64())
}

fn u(v: &serde_json::Value, key: &str) -> u64 {
    v.get(key).and_then(|x| x.as_f64()).unwrap_or(0.0).max(0.0) as u64
}

fn s(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Make a quantile curve usable: the exact min and max at its ends (a CSV's rounded 100 % column gives way
/// to the max), sorted by p, never decreasing, inside [min, max].
fn curve(mut points: Vec<(f64, f64)>, min: Option<f64>, max: Option<f64>) -> Dist {
    points.retain(|p| p.0.is_finite() && p.1.is_finite());
    if points.is_empty() {
        return Dist::None;
    }
    if let Some(m) = min.filter(|m| m.is_finite()) {
        points.retain(|p| p.0 > 0.0);
        points.iter_mut().for_each(|p| p.1 = p.1.max(m));
        points.push((0.0, m));
    }
    if let Some(m) = max.filter(|m| m.is_finite()) {
        points.retain(|p| p.0 < 1.0);
        points.iter_mut().for_each(|p| p.1 = p.1.min(m));
        points.push((1.0, m));
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut top = f64::NEG_INFINITY;
    for p in &mut points {
        top = top.max(p.1);
        p.1 = top;
    }
    Dist::Points(points)
}

fn summary_row(v: &serde_json::Value) -> Row {
    let requests = u(v, "requests");
    let min = f(v, "min_ms");
    let max = f(v, "max_ms");
    let hist: Option<Vec<(u64, u64)>> = v.get("histogram_us").and_then(|h| h.as_array()).map(|a| {
        a.iter()
            .filter_map(|pair| {
                let p = pair.as_array()?;
                Some((p.first()?.as_u64()?, p.get(1)?.as_u64()?))
            })
            .collect()
    });
    let (dist, timed) = match (hist, min, max) {
        (Some(buckets), Some(min), Some(max)) if !buckets.is_empty() => {
            let n = buckets.iter().map(|b| b.1).sum();
            (
                Dist::Hist {
                    buckets,
                    n,
                    min,
                    max,
                },
                n,
            )
        }
        _ => {
            let points: Vec<(f64, f64)> = v
                .get("percentiles_ms")
                .and_then(|p| p.as_object())
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, x)| Some((k.parse::<f64>().ok()? / 100.0, x.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default();
            if points.is_empty() {
                (Dist::None, 0)
            } else {
                (curve(points, min, max), requests)
            }
        }
    };
    Row {
        method: s(v, "method"),
        name: s(v, "name"),
        requests,
        failures: u(v, "failures"),
        timed,
        rps: f(v, "rps").unwrap_or(0.0),
        dist,
    }
}

/// The run's parameters as a summary states them (the report's `run` object).
fn summary_run(v: &serde_json::Value) -> J {
    let mut run: BTreeMap<String, J> = match v.get("parameters").map(from_serde) {
        Some(J::Obj(m)) => m,
        _ => BTreeMap::new(),
    };
    if let Some(J::Str(l)) = run.remove("locustfile") {
        run.insert("locustfile".into(), J::Str(l));
    }
    for key in [
        "rlocust_version",
        "locust_version",
        "python_version",
        "started_at",
        "ended_at",
        "duration_s",
    ] {
        run.insert(key.into(), v.get(key).map_or(J::Null, from_serde));
    }
    J::Obj(run)
}

fn from_summary(v: &serde_json::Value) -> Result<Side, String> {
    let rows = v
        .get("requests")
        .and_then(|r| r.as_array())
        .ok_or("an rlocust summary without 'requests'")?
        .iter()
        .map(summary_row)
        .collect();
    let mut total = summary_row(
        v.get("totals")
            .ok_or("an rlocust summary without 'totals'")?,
    );
    total.method = String::new();
    total.name = "Aggregated".into();
    Ok(Side {
        source: None,
        format: "rlocust summary",
        run: Some(summary_run(v)),
        rows,
        total,
        search: super::capacity::SearchSide::from_summary(v),
    })
}

/// Locust's `--json`: entries with `response_times` (`{"ms": count}`), no Aggregated row.
fn from_stats_json(items: &[serde_json::Value]) -> Result<Side, String> {
    let mut rows = Vec::new();
    let mut merged: BTreeMap<u64, u64> = BTreeMap::new();
    let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut min_all, mut max_all) = (f64::INFINITY, 0.0f64);
    for v in items {
        let times = v
            .get("response_times")
            .and_then(|r| r.as_object())
            .ok_or(NEITHER)?;
        let mut buckets: Vec<(u64, u64)> = times
            .iter()
            .filter_map(|(k, c)| Some(((k.parse::<f64>().ok()? * 1000.0) as u64, c.as_u64()?)))
            .collect();
        buckets.sort();
        for &(us, c) in &buckets {
            *merged.entry(us).or_default() += c;
        }
        let n: u64 = buckets.iter().map(|b| b.1).sum();
        let start = f(v, "start_time").unwrap_or(0.0);
        let end = f(v, "last_request_timestamp").unwrap_or(start);
        first = first.min(start);
        last = last.max(end);
        let (min, max) = (
            f(v, "min_response_time").unwrap_or(0.0),
            f(v, "max_response_time").unwrap_or(0.0),
        );
        if n > 0 {
            min_all = min_all.min(min);
            max_all = max_all.max(max);
        }
        let requests = u(v, "num_requests");
        rows.push((
            Row {
                method: s(v, "method"),
                name: s(v, "name"),
                requests,
                failures: u(v, "num_failures"),
                timed: n,
                rps: 0.0,
                dist: if n > 0 {
                    Dist::Hist {
                        buckets,
                        n,
                        min,
                        max,
                    }
                } else {
                    Dist::None
                },
            },
            requests,
        ));
    }
    // Locust's total_rps: requests over the Aggregated row's span (last request − start)
    let span = (last - first).max(0.0);
    let rate = |n: u64| if span > 0.0 { n as f64 / span } else { 0.0 };
    let buckets: Vec<(u64, u64)> = merged.into_iter().collect();
    let n: u64 = buckets.iter().map(|b| b.1).sum();
    let mut out: Vec<Row> = rows
        .into_iter()
        .map(|(mut r, reqs)| {
            r.rps = rate(reqs);
            r
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    let total = Row {
        method: String::new(),
        name: "Aggregated".into(),
        requests: out.iter().map(|r| r.requests).sum(),
        failures: out.iter().map(|r| r.failures).sum(),
        timed: n,
        rps: rate(out.iter().map(|r| r.requests).sum()),
        dist: if n > 0 {
            Dist::Hist {
                buckets,
                n,
                min: min_all,
                max: max_all,
            }
        } else {
            Dist::None
        },
    };
    Ok(Side {
        source: None,
        format: "Locust --json",
        run: None,
        rows: out,
        total,
        search: None,
    })
}

fn from_csv(text: &str) -> Result<Side, String> {
    let records: Vec<Vec<String>> = crate::pyfmt::csv::records(text)
        .map_err(|line| format!("line {line}: a quoted field is not closed"))?
        .into_iter()
        .map(|(_, fields)| fields)
        .collect();
    let header = records.first().ok_or(NEITHER)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ty), Some(name), Some(count), Some(fails)) = (
        col("Type"),
        col("Name"),
        col("Request Count"),
        col("Failure Count"),
    ) else {
        return Err(NEITHER.into());
    };
    let (min_col, max_col, rps_col) = (
        col("Min Response Time"),
        col("Max Response Time"),
        col("Requests/s"),
    );
    let pct_cols: Vec<(usize, f64)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some((i, h.strip_suffix('%')?.parse::<f64>().ok()? / 100.0)))
        .collect();
    let mut rows = Vec::new();
    let mut total = None;
    for rec in records.iter().skip(1).filter(|r| r.len() >= header.len()) {
        let num = |i: Option<usize>| i.and_then(|i| rec[i].trim().parse::<f64>().ok());
        let requests = num(Some(count)).unwrap_or(0.0) as u64;
        let points: Vec<(f64, f64)> = pct_cols
            .iter()
            .filter_map(|&(i, p)| Some((p, num(Some(i))?)))
            .collect();
        let row = Row {
            method: rec[ty].clone(),
            name: rec[name].clone(),
            requests,
            failures: num(Some(fails)).unwrap_or(0.0) as u64,
            timed: requests,
            rps: num(rps_col).unwrap_or(0.0),
            dist: curve(points, num(min_col), num(max_col)),
        };
        if row.method.is_empty() && row.name == "Aggregated" {
            total = Some(row);
        } else {
            rows.push(row);
        }
    }
    let total = total.ok_or("a _stats.csv without its Aggregated row")?;
    Ok(Side {
        source: None,
        format: "Locust _stats.csv",
        run: None,
        rows,
        total,
        search: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locust_csv_reads_rows_total_and_quoting() {
        let text = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\r\n\
GET,\"/a,\"\"b\"\"\",390,3,3,4.27,1.667,14.72,6.0,15.99,0.0,3,4,5,6,8,10,12,13,15,15,15\r\n\
GET,/none,0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\r\n\
,Aggregated,390,3,3,4.27,1.667,14.72,6.0,15.99,0.0,3,4,5,6,8,10,12,13,15,15,15\r\n";
        let side = from_text(text).unwrap();
        assert_eq!(side.format, "Locust _stats.csv");
        assert_eq!(side.rows.len(), 2);
        let a = &side.rows[0];
        assert_eq!((a.method.as_str(), a.name.as_str()), ("GET", "/a,\"b\""));
        assert_eq!((a.requests, a.failures), (390, 3));
        assert_eq!(a.dist.quantile(0.95), Some(10.0));
        assert_eq!(a.dist.quantile(0.0), Some(1.667));
        assert_eq!(a.dist.quantile(1.0), Some(14.72));
        // between the 95 % and 98 % columns
        assert!((a.dist.quantile(0.965).unwrap() - 11.0).abs() < 1e-9);
        assert!(matches!(side.rows[1].dist, Dist::None));
        assert_eq!(side.total.name, "Aggregated");
    }

    #[test]
    fn not_a_result_is_one_line() {
        for text in [
            "hello,world\n1,2\n",
            "{\"a\": 1}",
            "{",
            "Type,Name,Request Count,Failure Count\n",
        ] {
            let e = from_text(text).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn locust_json_merges_an_aggregated_row() {
        let text = r#"[{"name": "/a", "method": "GET", "last_request_timestamp": 110.0, "start_time": 100.0,
            "num_requests": 4, "num_none_requests": 0, "num_failures": 1, "total_response_time": 40.0,
            "max_response_time": 20.0, "min_response_time": 5.0, "total_content_length": 0,
            "response_times": {"5": 1, "10": 2, "20": 1}, "num_reqs_per_sec": {}, "num_fail_per_sec": {}},
            {"name": "/b", "method": "POST", "last_request_timestamp": 105.0, "start_time": 100.0,
            "num_requests": 1, "num_none_requests": 0, "num_failures": 0, "total_response_time": 30.0,
            "max_response_time": 30.0, "min_response_time": 30.0, "total_content_length": 0,
            "response_times": {"30": 1}, "num_reqs_per_sec": {}, "num_fail_per_sec": {}}]"#;
        let side = from_text(text).unwrap();
        assert_eq!(side.total.requests, 5);
        assert_eq!(side.total.timed, 5);
        assert_eq!(side.rows[0].dist.quantile(0.5), Some(10.0));
        assert_eq!(side.total.dist.quantile(1.0), Some(30.0));
        assert!((side.rows[0].rps - 0.4).abs() < 1e-9);
    }
}
