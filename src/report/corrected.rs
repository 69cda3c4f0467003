//! The coordinated-omission corrected percentiles as people read them: a console table printed after Locust's
//! "Response time percentiles (approximated)" table, and a section of the HTML report. Both exist only when
//! the run had fixed-rate users (`Snapshot::has_corrected`), so every other run's output stays byte for byte
//! Locust's. The numbers are `EntrySnapshot::corrected_percentile` (docs/observability.md "Coordinated
//! omission").
//!
//! Who calls it: `outputs` (final console tables of a headless run) and `html` (the report page, `--html`
//! and `/stats/report`).
//!
//! What it must not do: read live statistics (always a `Snapshot`), print or write anything itself, or change
//! Locust's own tables, CSV or JSON.

use std::fmt::Write as _;

use crate::pyfmt::{py_round_int, readable_percentiles};
use crate::stats::{EntrySnapshot, Snapshot, percentiles_to_report};

/// The console table's title (it starts as Locust's percentile table does, so tools that skip the stats tables
/// in a log skip this one too).
pub const TITLE: &str = "Response time percentiles, corrected for coordinated omission (fixed-rate users; approximated)";

/// The line under the title saying what the numbers are.
const EXPLANATION: &str = "(a request of a constant_pacing/constant_throughput user that took R > its interval T \
also counts as R-T, R-2T, ...; \"# added\" = those synthetic samples)";

const TYPE_WIDTH: usize = 8;

/// The rows that have corrected numbers (sorted as Locust sorts its tables), then the total.
fn rows(snap: &Snapshot) -> Vec<&EntrySnapshot> {
    snap.sorted_entries()
        .into_iter()
        .filter(|e| e.has_response_times() && e.corrected_counts().is_some())
        .collect()
}

/// The console table (same columns as Locust's percentile table, plus the synthetic samples), or `None` when
/// the run had no fixed-rate users. Ends with an empty line, like every table.
pub fn console_table(snap: &Snapshot, name_width: usize) -> Option<String> {
    if !snap.has_corrected() {
        return None;
    }
    let w = name_width;
    let labels = readable_percentiles(percentiles_to_report());
    let mut out = String::new();
    out.push_str(TITLE);
    out.push('\n');
    out.push_str(EXPLANATION);
    out.push('\n');
    let mut header = format!("{:<TYPE_WIDTH$} {:<w$} {:>8}", "Type", "Name", labels[0]);
    for label in labels.iter().skip(1).map(String::as_str) {
        let _ = write!(header, " {label:>6}");
    }
    let _ = write!(header, " {:>6} {:>8}", "# reqs", "# added");
    out.push_str(&header);
    out.push('\n');
    let mut separator = format!(
        "{}|{}|{}",
        "-".repeat(TYPE_WIDTH),
        "-".repeat(w),
        "-".repeat(8)
    );
    for _ in 0..percentiles_to_report().len() {
        separator.push('|');
        separator.push_str(&"-".repeat(6));
    }
    separator.push('|');
    separator.push_str(&"-".repeat(8));
    let row = |e: &EntrySnapshot| {
        let mut line = format!("{:<TYPE_WIDTH$} {:<w$}", e.method, e.name);
        for (i, &p) in percentiles_to_report().iter().enumerate() {
            let v = py_round_int(e.corrected_percentile(p).unwrap_or(0.0));
            let _ = if i == 0 {
                write!(line, " {v:>8}")
            } else {
                write!(line, " {v:>6}")
            };
        }
        let added = e.corrected_counts().map_or(0, |c| c.synthetic_samples);
        let _ = write!(line, " {:>6} {added:>8}", e.totals.num_requests);
        line
    };
    out.push_str(&separator);
    out.push('\n');
    for e in rows(snap) {
        out.push_str(&row(e));
        out.push('\n');
    }
    out.push_str(&separator);
    out.push('\n');
    if snap.total.has_response_times() {
        out.push_str(&row(&snap.total));
        out.push('\n');
    }
    out.push('\n');
    Some(out)
}

/// `<`, `>`, `&`, `"` and `'` as HTML entities.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report's section (static HTML, placed after the rendered page), or `None` when the run had no
/// fixed-rate users. `percentiles`: the report's columns (Locust's `PERCENTILES_FOR_HTML_REPORT`).
pub fn html_section(snap: &Snapshot, percentiles: &[f64]) -> Option<String> {
    if !snap.has_corrected() {
        return None;
    }
    let mut out = String::new();
    out.push_str(
        "<main class=\"report\" id=\"coordinated-omission\">\n\
         <h2>Response Time Statistics, corrected for coordinated omission</h2>\n\
         <p>Fixed-rate users (<code>constant_pacing</code>, <code>constant_throughput</code>) intend to start a \
         task every <i>T</i>. A request that took <i>R</i> &gt; <i>T</i> kept its user from sending the requests \
         due meanwhile; here it also counts as <i>R</i>&minus;<i>T</i>, <i>R</i>&minus;2<i>T</i>, &hellip; \
         (&gt; 0), as wrk2 and HdrHistogram correct (<i># Added</i>: those synthetic samples). Rows with \
         requests of fixed-rate users only; <i>Aggregated</i> holds every request. The measured numbers are in \
         the tables above.</p>\n\
         <div class=\"table-wrap\"><table id=\"response-times-corrected\">\n<thead><tr><th>Method</th><th>Name</th>",
    );
    for &p in percentiles {
        let label = crate::pyfmt::readable_percentile(p);
        let _ = write!(out, "<th class=\"num\">{}ile (ms)</th>", escape(&label));
    }
    out.push_str(
        "<th class=\"num\">measured 99% (ms)</th><th class=\"num\"># Requests</th>\
         <th class=\"num\" title=\"synthetic samples\"># Added</th></tr></thead>\n<tbody>\n",
    );
    for e in rows(snap).into_iter().chain([&snap.total]) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"name\">{}</td>",
            escape(&e.method),
            escape(&e.name)
        );
        for &p in percentiles {
            let v = py_round_int(e.corrected_percentile(p).unwrap_or(0.0));
            let _ = write!(out, "<td class=\"num\">{v}</td>");
        }
        let measured = if e.has_response_times() {
            py_round_int(e.percentile(0.99))
        } else {
            0
        };
        let added = e.corrected_counts().map_or(0, |c| c.synthetic_samples);
        let _ = writeln!(
            out,
            "<td class=\"num\">{measured}</td><td class=\"num\">{}</td><td class=\"num\">{added}</td></tr>",
            e.totals.num_requests
        );
    }
    out.push_str("</tbody></table></div>\n</main>\n");
    Some(out)
}

/// `page` with `section` inserted before its last `</body>` (appended when there is none).
pub fn insert_section(mut page: String, section: &str) -> String {
    match page.rfind("</body>") {
        Some(i) => page.insert_str(i, section),
        None => page.push_str(section),
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RequestStats;

    const T0: f64 = 1_700_000_000.0;

    fn stats(paced: bool) -> RequestStats {
        let s = RequestStats::new_at(T0);
        for _ in 0..98 {
            s.log_request_paced(
                "GET",
                "/p<x>",
                Some(10.0),
                1,
                T0 + 1.0,
                paced.then_some(100.0),
            );
        }
        s.log_request_paced(
            "GET",
            "/p<x>",
            Some(1000.0),
            1,
            T0 + 1.0,
            paced.then_some(100.0),
        );
        s.log_request("GET", "/plain", Some(20.0), 1, T0 + 1.0);
        s
    }

    #[test]
    fn nothing_without_fixed_rate_users() {
        let snap = stats(false).snapshot_at(T0 + 2.0);
        assert_eq!(console_table(&snap, 20), None);
        assert_eq!(html_section(&snap, &[0.5, 1.0]), None);
    }

    #[test]
    fn console_table_lists_fixed_rate_rows_and_the_total() {
        let snap = stats(true).snapshot_at(T0 + 2.0);
        let t = console_table(&snap, 20).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], TITLE);
        assert!(lines[0].starts_with("Response time percentiles"));
        assert!(lines[2].starts_with("Type     Name"), "{t}");
        assert!(lines[2].ends_with("# reqs  # added"), "{t}");
        assert_eq!(lines.len(), 8, "{t}");
        // 100 measured samples (99 paced, 1 plain) + 9 synthetic: p95 is a synthetic one
        assert!(lines[4].starts_with("GET      /p<x>"), "{t}");
        assert!(!t.contains("/plain"), "{t}");
        assert!(lines[6].contains("Aggregated"), "{t}");
        assert!(lines[6].ends_with("   100        9"), "{t}");
        assert!(t.ends_with("\n\n"));
        let p95 = snap.total.corrected_percentile(0.95).unwrap();
        assert!(p95 > 400.0 && snap.total.percentile(0.95) < 30.0, "{p95}");
    }

    #[test]
    fn report_section_is_escaped_and_inserted_before_the_body_end() {
        let snap = stats(true).snapshot_at(T0 + 2.0);
        let s = html_section(&snap, &[0.5, 0.99, 1.0]).unwrap();
        assert!(s.contains("/p&lt;x&gt;") && !s.contains("/p<x>"), "{s}");
        assert!(s.contains("<th class=\"num\">99%ile (ms)</th>"), "{s}");
        assert!(s.contains("corrected for coordinated omission"));
        let page = insert_section(
            "<html><body><div id=\"app\"></div></body></html>".into(),
            "<p>S</p>",
        );
        assert_eq!(
            page,
            "<html><body><div id=\"app\"></div><p>S</p></body></html>"
        );
    }
}
