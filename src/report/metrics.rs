//! The metric rows (`stats::metrics`: a stream's `ttft`, `itl`, `e2e`, `tpot`, `output_tokens`, `input_tokens`; a
//! locustfile's own values) in every file and table that shows requests: the console table printed after the
//! request tables and the token throughput table ([`console_throughput`]), `PREFIX_metrics.csv`, and the rows of
//! the summary JSON and the web UI (with the metrics' history for its charts, [`json_history`]). A row in tokens
//! carries its sum and its tokens per second (over the run, and current: `stats::Snapshot::metric_rate`).
//!
//! Values are in each metric's unit and exact to 0.1 % (the rows' HDR histograms), printed with up to three
//! decimals; the percentile columns are Locust's (`PERCENTILES_TO_REPORT`, or the locustfile's).
//!
//! Who calls it: `report::outputs` (console, CSV), `report::summary`, `web`. What it must not do: take
//! snapshots, write files, or show anything when the run recorded no metric (a run without streams or
//! custom metrics prints and writes exactly what it did before).
use std::fmt::Write as _;

use crate::pyfmt::csv::push_field;
use crate::pyfmt::json::J;
use crate::pyfmt::readable_percentiles;
use crate::stats::{MetricSnapshot, Snapshot, percentiles_to_report};

/// The CSV header: `Metric,Name,Unit,Count,Average,Min,Max`, the percentile columns, then `Sum`, `Per Second`
/// and `Current Per Second` (the throughput: filled for rows in tokens, empty for others).
pub fn csv_header() -> String {
    let mut h = String::from("Metric,Name,Unit,Count,Average,Min,Max");
    for label in readable_percentiles(percentiles_to_report()) {
        h.push(',');
        h.push_str(&label);
    }
    h.push_str(",Sum,Per Second,Current Per Second");
    h.push_str("\r\n");
    h
}

/// A rate as the tables and files print it: two decimals.
pub fn fmt_rate(v: f64) -> String {
    format!("{v:.2}")
}

/// A value as the tables and files print it: at most three decimals, no trailing zeros.
pub fn fmt_value(v: f64) -> String {
    let mut s = format!("{v:.3}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" { "0".into() } else { s }
}

/// The rows in the order shown: each metric in the order first recorded, its names sorted, then its row over
/// all names.
fn ordered(snap: &Snapshot) -> Vec<&MetricSnapshot> {
    let mut metrics: Vec<&str> = Vec::new();
    for m in &snap.metrics {
        if !metrics.contains(&m.metric()) {
            metrics.push(m.metric());
        }
    }
    let mut out = Vec::with_capacity(snap.metrics.len());
    for metric in metrics {
        let mut rows: Vec<&MetricSnapshot> = snap
            .metrics
            .iter()
            .filter(|m| m.metric() == metric && !m.is_aggregated())
            .collect();
        rows.sort_by(|a, b| a.name().cmp(b.name()));
        out.extend(rows);
        out.extend(
            snap.metrics
                .iter()
                .filter(|m| m.metric() == metric && m.is_aggregated()),
        );
    }
    out
}

/// `PREFIX_metrics.csv`'s content (header included); `None` without metric rows.
pub fn csv(snap: &Snapshot) -> Option<String> {
    if snap.metrics.is_empty() {
        return None;
    }
    let mut out = csv_header();
    for m in ordered(snap) {
        let r = &m.row;
        push_field(&mut out, m.metric());
        out.push(',');
        push_field(&mut out, m.name());
        out.push(',');
        push_field(&mut out, &m.unit);
        let count = m.count();
        let _ = write!(out, ",{count}");
        if count == 0 {
            for _ in 0..3 + percentiles_to_report().len() {
                out.push_str(",N/A");
            }
        } else {
            let _ = write!(
                out,
                ",{},{},{}",
                fmt_value(r.avg_response_time()),
                fmt_value(r.totals.min_response_time.unwrap_or(0.0)),
                fmt_value(r.totals.max_response_time)
            );
            for &p in percentiles_to_report() {
                let _ = write!(out, ",{}", fmt_value(r.percentile(p)));
            }
        }
        let _ = write!(out, ",{}", fmt_value(m.sum()));
        match (snap.metric_rate(m), snap.metric_current_rate(m)) {
            (Some(rate), Some(current)) => {
                let _ = write!(out, ",{},{}", fmt_rate(rate), fmt_rate(current));
            }
            _ => out.push_str(",,"),
        }
        out.push_str("\r\n");
    }
    Some(out)
}

/// The console's "Token throughput" table (after the metric percentiles): each row in tokens (`output_tokens`,
/// `input_tokens`, a locustfile's own), its total, its tokens per second over the run and its current rate;
/// `None` when the run has no such row. A metric's row over all names is shown when it has more than one name.
pub fn console_throughput(snap: &Snapshot, name_width: usize) -> Option<String> {
    let rows: Vec<&MetricSnapshot> = ordered(snap).into_iter().filter(|m| m.has_rate()).collect();
    if rows.is_empty() {
        return None;
    }
    let longest = rows
        .iter()
        .map(|m| m.name().chars().count())
        .max()
        .unwrap_or(0);
    let w = longest.clamp(10, name_width.max(10));
    let mut out = String::from("Token throughput (tokens per second over the run, and current)\n");
    let _ = writeln!(
        out,
        "{:<14} {:<w$} {:>12} {:>12} {:>12}",
        "Metric", "Name", "Tokens", "Tokens/s", "Current/s"
    );
    let _ = writeln!(
        out,
        "{}|{}|{}|{}|{}",
        "-".repeat(14),
        "-".repeat(w),
        "-".repeat(13),
        "-".repeat(13),
        "-".repeat(13)
    );
    let names = |metric: &str| {
        rows.iter()
            .filter(|m| m.metric() == metric && !m.is_aggregated())
            .count()
    };
    for m in &rows {
        if m.is_aggregated() && names(m.metric()) < 2 {
            continue;
        }
        let _ = writeln!(
            out,
            "{:<14} {:<w$} {:>12} {:>12} {:>12}",
            m.metric(),
            m.name(),
            fmt_value(m.sum()),
            fmt_rate(snap.metric_rate(m).unwrap_or(0.0)),
            fmt_rate(snap.metric_current_rate(m).unwrap_or(0.0))
        );
    }
    out.push('\n');
    Some(out)
}

/// The console table (after the request tables); `None` without metric rows. A metric's row over all names is
/// shown when it has more than one name.
pub fn console_table(snap: &Snapshot, name_width: usize) -> Option<String> {
    if snap.metrics.is_empty() {
        return None;
    }
    // the name column as wide as the longest name (Locust's width at most)
    let longest = snap
        .metrics
        .iter()
        .map(|m| m.name().chars().count())
        .max()
        .unwrap_or(0);
    let w = longest.clamp(10, name_width.max(10));
    let labels = readable_percentiles(percentiles_to_report());
    let mut out = String::from(
        "Metric percentiles (streams and custom metrics; never counted as requests)\n",
    );
    let mut header = format!(
        "{:<14} {:<w$} {:<8} {:>8} {:>9}",
        "Metric", "Name", "Unit", "# values", "Avg"
    );
    for label in &labels {
        let _ = write!(header, " {label:>9}");
    }
    out.push_str(&header);
    out.push('\n');
    let mut sep = format!(
        "{}|{}|{}|{}|{}",
        "-".repeat(14),
        "-".repeat(w),
        "-".repeat(8),
        "-".repeat(9),
        "-".repeat(10)
    );
    for _ in &labels {
        sep.push('|');
        sep.push_str(&"-".repeat(9));
    }
    out.push_str(&sep);
    out.push('\n');
    let names = |metric: &str| {
        snap.metrics
            .iter()
            .filter(|m| m.metric() == metric && !m.is_aggregated())
            .count()
    };
    for m in ordered(snap) {
        if m.is_aggregated() && names(m.metric()) < 2 {
            continue;
        }
        let r = &m.row;
        let mut line = format!(
            "{:<14} {:<w$} {:<8} {:>8} {:>9}",
            m.metric(),
            m.name(),
            m.unit,
            m.count(),
            if m.count() == 0 {
                "N/A".into()
            } else {
                fmt_value(r.avg_response_time())
            }
        );
        for &p in percentiles_to_report() {
            let v = if m.count() == 0 {
                "N/A".into()
            } else {
                fmt_value(r.percentile(p))
            };
            let _ = write!(line, " {v:>9}");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    Some(out)
}

fn pct_key(p: f64) -> String {
    fmt_value(p * 100.0)
}

/// One row as the summary JSON and the web UI carry it: `metric`, `name`, `unit`, `count`, `avg`, `min`, `max`,
/// `percentiles` (keys `50` … `100`, Locust's `PERCENTILES_TO_REPORT`), `current` (the `50` and `95` of the last
/// 10 seconds, null without values then), `sum`, and for a row in tokens `per_second` (over the run) and
/// `current_per_second` (null for other rows).
pub fn json_row(snap: &Snapshot, m: &MetricSnapshot) -> J {
    let r = &m.row;
    let has = m.count() > 0;
    let v = |x: f64| if has { J::Float(x) } else { J::Null };
    J::obj([
        ("metric", J::str(m.metric())),
        ("name", J::str(m.name())),
        ("unit", J::str(&m.unit)),
        ("count", J::Int(m.count() as i64)),
        ("avg", v(r.avg_response_time())),
        ("min", v(r.totals.min_response_time.unwrap_or(0.0))),
        ("max", v(r.totals.max_response_time)),
        (
            "percentiles",
            if has {
                J::obj(
                    percentiles_to_report()
                        .iter()
                        .map(|&p| (pct_key(p), J::Float(r.percentile(p)))),
                )
            } else {
                J::Null
            },
        ),
        (
            "current",
            J::obj([
                ("50", J::opt_float(r.current_percentile(0.5))),
                ("95", J::opt_float(r.current_percentile(0.95))),
            ]),
        ),
        ("sum", J::Float(m.sum())),
        ("per_second", J::opt_float(snap.metric_rate(m))),
        (
            "current_per_second",
            J::opt_float(snap.metric_current_rate(m)),
        ),
    ])
}

/// The span the rows' `per_second` divide by (`stats::Snapshot::metric_span`): `{"start", "end", "seconds"}`
/// (Unix seconds), or null before any record.
pub fn json_span(snap: &Snapshot) -> J {
    match snap.metric_span() {
        Some((start, end)) => J::obj([
            ("start", J::Float(start)),
            ("end", J::Float(end)),
            ("seconds", J::Float(end - start)),
        ]),
        None => J::Null,
    }
}

/// The metric rows' history (`stats::metric_history`) as `/rlocust/metrics` carries it for the Metrics charts:
/// `{"metrics": [{"metric", "unit"}, ...], "points": [{"time": unix s, "values": [[p50, p95, per_second], ...]}]}`,
/// one triple per metric in that order (null where missing).
pub fn json_history(h: &crate::stats::metric_history::MetricHistory) -> J {
    J::obj([
        (
            "metrics",
            J::Arr(
                h.metrics()
                    .iter()
                    .map(|(m, u)| J::obj([("metric", J::str(m)), ("unit", J::str(u))]))
                    .collect(),
            ),
        ),
        (
            "points",
            J::Arr(
                h.points()
                    .into_iter()
                    .map(|(t, values)| {
                        J::obj([
                            ("time", J::Int(t)),
                            (
                                "values",
                                J::Arr(
                                    values
                                        .iter()
                                        .map(|v| {
                                            J::Arr(vec![
                                                J::opt_float(v.p50),
                                                J::opt_float(v.p95),
                                                J::opt_float(v.per_second),
                                            ])
                                        })
                                        .collect(),
                                ),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

/// Every row, in the order shown.
pub fn json(snap: &Snapshot) -> J {
    J::Arr(
        ordered(snap)
            .into_iter()
            .map(|m| json_row(snap, m))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RequestStats;

    fn snap() -> Snapshot {
        let s = RequestStats::new_at(1000.0);
        s.log_request("POST", "/v1/chat/completions", Some(5.0), 10, 1001.0);
        s.log_metric(
            "ttft",
            "/v1/chat/completions",
            "ms",
            &[300.25, 301.5, 302.0],
            1001.0,
        )
        .unwrap();
        s.log_metric("ttft", "other,name", "ms", &[10.0], 1001.0)
            .unwrap();
        s.log_metric(
            "output_tokens",
            "/v1/chat/completions",
            "tokens",
            &[16.0],
            1001.0,
        )
        .unwrap();
        s.snapshot_at(1002.0)
    }

    #[test]
    fn the_csv_has_the_issue_s_columns_one_row_per_metric_and_name_and_each_metric_s_total() {
        let text = csv(&snap()).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "Metric,Name,Unit,Count,Average,Min,Max,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,\
             Sum,Per Second,Current Per Second"
        );
        assert!(
            lines[1].starts_with("ttft,/v1/chat/completions,ms,3,301.25,300.25,302,301.312,"),
            "{}",
            lines[1]
        );
        // (percentiles as the histogram holds them: exact to 0.1 %, the raw min and max exactly)
        // the sum, and no rate for a row in ms
        assert!(lines[1].ends_with(",302,903.75,,"), "{}", lines[1]);
        assert!(
            lines[2].starts_with("ttft,\"other,name\",ms,1,10,10,10,10,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("ttft,Aggregated,ms,4,"),
            "{}",
            lines[3]
        );
        assert!(lines[4].starts_with("output_tokens,/v1/chat/completions,tokens,1,16,16,16,16"));
        // 16 tokens over the run's 1 s (from its start at 1000 to the last record at 1001)
        assert!(lines[4].ends_with(",16,16.00,0.00"), "{}", lines[4]);
        assert!(lines[5].starts_with("output_tokens,Aggregated,tokens,1,"));
        assert_eq!(lines[6], "");
        assert!(csv(&RequestStats::new().snapshot()).is_none());
    }

    #[test]
    fn the_console_table_follows_the_percentile_columns_and_metric_values_are_no_requests() {
        let s = snap();
        assert_eq!(s.total.totals.num_requests, 1);
        let t = console_table(&s, 40).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("Metric         Name"), "{}", lines[1]);
        assert!(lines[1].ends_with("100%"));
        assert!(lines[3].starts_with("ttft           /v1/chat/completions"));
        assert!(lines[3].contains(" ms "));
        // ttft has two names: its total is shown; output_tokens has one
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ttft           Aggregated"))
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("output_tokens  Aggregated"))
        );
        assert!(console_table(&RequestStats::new().snapshot(), 40).is_none());
    }

    #[test]
    fn token_rows_have_their_rate_over_the_run_and_the_current_one_in_every_form() {
        let s = RequestStats::new_at(1000.0);
        // 100 tokens a second for 20 s over two names (60 + 40), the last request at 1015
        for t in 0..20 {
            let at = 1000.5 + f64::from(t);
            s.log_metric("output_tokens", "a", "tokens", &[30.0, 30.0], at)
                .unwrap();
            s.log_metric("output_tokens", "b", "tokens", &[40.0], at)
                .unwrap();
            s.log_metric("ttft", "a", "ms", &[5.0], at).unwrap();
        }
        s.log_request("POST", "a", Some(5.0), 1, 1015.0);
        let snap = s.snapshot_at(1030.0);
        assert_eq!(snap.metric_span(), Some((1000.0, 1019.5)));
        let row = |name: &str| {
            snap.metrics
                .iter()
                .find(|m| m.metric() == "output_tokens" && m.name() == name)
                .unwrap()
        };
        let agg = row("Aggregated");
        assert_eq!(agg.sum(), 2000.0);
        assert_eq!(snap.metric_rate(agg), Some(2000.0 / 19.5));
        assert_eq!(snap.metric_rate(row("a")), Some(1200.0 / 19.5));
        // the current window: seconds [1007, 1017), 100 a second
        assert_eq!(snap.metric_current_rate(agg), Some(100.0));
        assert_eq!(snap.metric_current_rate(row("b")), Some(40.0));
        let ttft = snap.metrics.iter().find(|m| m.metric() == "ttft").unwrap();
        assert_eq!(
            (snap.metric_rate(ttft), snap.metric_current_rate(ttft)),
            (None, None)
        );
        let t = console_throughput(&snap, 40).unwrap();
        assert!(t.starts_with("Token throughput"), "{t}");
        let agg_line = t
            .lines()
            .find(|l| l.starts_with("output_tokens  Aggregated"))
            .unwrap();
        assert!(
            agg_line.ends_with(" 2000       102.56       100.00"),
            "{agg_line}"
        );
        assert!(!t.contains("ttft"));
        let j = crate::pyfmt::json::pretty(&json_row(&snap, agg));
        assert!(j.contains("\"sum\": 2000.0"), "{j}");
        assert!(j.contains("\"current_per_second\": 100.0"), "{j}");
        assert!(
            crate::pyfmt::json::pretty(&json_row(&snap, ttft)).contains("\"per_second\": null")
        );
        assert!(console_throughput(&RequestStats::new().snapshot(), 40).is_none());
    }

    #[test]
    fn values_print_with_at_most_three_decimals() {
        assert_eq!(fmt_value(300.0), "300");
        assert_eq!(fmt_value(25.1254), "25.125");
        assert_eq!(fmt_value(0.0001), "0");
        assert_eq!(pct_key(0.999), "99.9");
        assert_eq!(pct_key(0.9999), "99.99");
    }
}
