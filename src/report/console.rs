//! The console tables Locust prints on the `locust.stats_logger` (stderr): the request stats
//! table (§5.3), the percentile table (§5.4) and the error report (§5.5), laid out exactly as
//! Locust 2.47 does, including the trailing empty line each print ends with.
//!
//! Who calls it: the periodic stats printer (`current = true` every 2 s) and the shutdown summary
//! (`current = false`, then the percentiles, then the errors). `name_width` is Locust's
//! `STATS_NAME_WIDTH` (W): `max(min(cols - 80, 80), 0)` for a terminal on stdout, 80 otherwise.
//!
//! What it must not do: write anywhere or decide when to print; each function returns the text,
//! one `\n` after every line.

use crate::pyfmt::{py_fixed, py_int_trunc, py_round_int, readable_percentiles};
use crate::stats::{EntrySnapshot, Snapshot, percentiles_to_report};
use std::fmt::Write as _;

/// Width of the name column (W): 80 unless stdout is a terminal (reference §5.2).
pub fn name_width() -> usize {
    match crate::sys::stdout_columns() {
        Some(cols) => (cols as i64 - 80).clamp(0, 80) as usize,
        None => 80,
    }
}

/// Locust's `STATS_TYPE_WIDTH`.
const TYPE_WIDTH: usize = 8;

/// The main table's name column: `(W - 8) + 4` pasted into a `%-Ns` format. NOTE: for W < 4 the
/// negative number turns into a second `-` flag, so Python pads to `4 - W`.
fn main_name_width(w: usize) -> usize {
    w.abs_diff(4)
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// The request stats table (§5.3): header, separator, the entries sorted by (name, method), a
/// separator, the Aggregated row, and the empty line that follows every print. `current` picks
/// `current_rps`/`current_fail_per_sec` (periodic) over `total_rps`/`total_fail_per_sec` (final).
pub fn stats_table(snap: &Snapshot, current: bool, name_width: usize) -> String {
    let nw = main_name_width(name_width);
    let mut out = String::new();
    push_line(
        &mut out,
        &format!(
            "{:<TYPE_WIDTH$} {:<nw$} {:>7} {:>12} |{:>7} {:>7} {:>7}{:>7} | {:>7} {:>11}",
            "Type", "Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "failures/s"
        ),
    );
    let separator = format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        "-".repeat(TYPE_WIDTH),
        "-".repeat(name_width.saturating_sub(4)),
        "-".repeat(7),
        "-".repeat(13),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(8),
        "-".repeat(11)
    );
    push_line(&mut out, &separator);
    for e in snap.sorted_entries() {
        push_line(&mut out, &stats_row(e, &snap.total, current, nw));
    }
    push_line(&mut out, &separator);
    push_line(&mut out, &stats_row(&snap.total, &snap.total, current, nw));
    out.push('\n');
    out
}

/// Locust `StatsEntry.to_string(current)`.
fn stats_row(e: &EntrySnapshot, total: &EntrySnapshot, current: bool, nw: usize) -> String {
    let kind = if e.method.is_empty() {
        String::new()
    } else {
        format!("{} ", e.method)
    };
    let fails = format!(
        "{}({}%)",
        e.totals.num_failures,
        py_fixed(e.fail_ratio() * 100.0, 2)
    );
    let (rps, fail_per_sec) = if current {
        (e.current_rps(total), e.current_fail_per_sec(total))
    } else {
        (e.total_rps(total), e.total_fail_per_sec(total))
    };
    format!(
        "{:<TYPE_WIDTH$} {:<nw$} {:>7} {:>12} |{:>7} {:>7} {:>7}{:>7} | {:>7} {:>11}",
        kind,
        e.name,
        e.totals.num_requests,
        fails,
        py_int_trunc(e.avg_response_time()),
        py_int_trunc(e.totals.min_response_time.unwrap_or(0.0)),
        py_int_trunc(e.totals.max_response_time),
        py_int_trunc(e.median_response_time().as_f64()),
        py_fixed(rps, 2),
        py_fixed(fail_per_sec, 2),
    )
}

/// The percentile table (§5.4): title, header, separator, one row per entry that has response
/// times (sorted), a separator, the Aggregated row (when it has response times), an empty line.
/// Percentiles are printed as whole ms (the exact value rounded half to even).
pub fn percentile_table(snap: &Snapshot, name_width: usize) -> String {
    let w = name_width;
    let labels = readable_percentiles(percentiles_to_report());
    let mut out = String::new();
    push_line(&mut out, "Response time percentiles (approximated)");
    let mut header = format!("{:<TYPE_WIDTH$} {:<w$} {:>8}", "Type", "Name", labels[0]);
    for label in labels.iter().skip(1).map(String::as_str).chain(["# reqs"]) {
        let _ = write!(header, " {label:>6}");
    }
    push_line(&mut out, &header);
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
    push_line(&mut out, &separator);
    for e in snap.sorted_entries() {
        if e.has_response_times() {
            push_line(&mut out, &percentile_row(e, w));
        }
    }
    push_line(&mut out, &separator);
    if snap.total.has_response_times() {
        push_line(&mut out, &percentile_row(&snap.total, w));
    }
    out.push('\n');
    out
}

/// Locust `StatsEntry.percentile()`.
fn percentile_row(e: &EntrySnapshot, w: usize) -> String {
    let mut row = format!("{:<TYPE_WIDTH$} {:<w$}", e.method, e.name);
    for (i, &p) in percentiles_to_report().iter().enumerate() {
        let v = py_round_int(e.percentile(p));
        let _ = if i == 0 {
            write!(row, " {v:>8}")
        } else {
            write!(row, " {v:>6}")
        };
    }
    let _ = write!(row, " {:>6}", e.totals.num_requests);
    row
}

/// Locust `StatsError.to_name()`: `"<method> <name>: <error>"`, where a `CatchResponseError(...)`
/// is unwrapped to its message (as standalone Locust shows it: `GET /: custom failure`).
pub fn error_name(method: &str, name: &str, error: &str) -> String {
    let unwrapped = match error
        .strip_prefix("CatchResponseError(")
        .and_then(|r| r.strip_suffix(')'))
    {
        // NOTE: Locust unwraps the exception object's args[0]; we hold its repr, so parse the
        // string literal back. Anything else inside is shown as is (Locust's distributed mode).
        Some(inner) => {
            crate::pyfmt::parse_py_str_literal(inner).unwrap_or_else(|| inner.to_owned())
        }
        None => error.to_owned(),
    };
    format!("{method} {name}: {unwrapped}")
}

/// The error report (§5.5), or an empty string when there are no errors: title, header,
/// separator, one row per error in insertion order, separator, empty line.
pub fn error_report(snap: &Snapshot, name_width: usize) -> String {
    if snap.errors.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    push_line(&mut out, "Error report");
    push_line(
        &mut out,
        &format!("{:<18} {:<100}", "# occurrences", "Error"),
    );
    let separator = format!("{}|{}", "-".repeat(18), "-".repeat(80 + name_width - 19));
    push_line(&mut out, &separator);
    for e in &snap.errors {
        push_line(
            &mut out,
            &format!(
                "{:<18} {:<100}",
                e.occurrences,
                error_name(&e.method, &e.name, &e.error)
            ),
        );
    }
    push_line(&mut out, &separator);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::stats::RequestStats;

    // Generated by real Locust 2.47 on `fixture::stats(true)` at `fixture::AT`, W = 80
    // (`get_stats_summary(stats, current=False)` lines joined with "\n", plus "\n\n").
    const TABLE_TOTAL_B: &str = r#"Type     Name                                                                          # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s
--------|----------------------------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
GET      /                                                                                195     0(0.00%) |      3       1      29      3 |   52.53        0.00
GET      /none                                                                              1     0(0.00%) |      0       0       0      0 |    0.27        0.00
GET      /nope,"named"                                                                     71  71(100.00%) |      2       2       2      2 |   19.12       19.12
POST     /x                                                                                74  74(100.00%) |      4       1      40      3 |   19.93       19.93
--------|----------------------------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
         Aggregated                                                                       341  145(42.52%) |      3       1      40      3 |   91.85       39.06

"#;

    // Same run, current=True.
    const TABLE_CURRENT_B: &str = r#"Type     Name                                                                          # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s
--------|----------------------------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
GET      /                                                                                195     0(0.00%) |      3       1      29      3 |   91.00        0.00
GET      /none                                                                              1     0(0.00%) |      0       0       0      0 |    0.00        0.00
GET      /nope,"named"                                                                     71  71(100.00%) |      2       2       2      2 |    0.00        0.00
POST     /x                                                                                74  74(100.00%) |      4       1      40      3 |    0.00        0.00
--------|----------------------------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
         Aggregated                                                                       341  145(42.52%) |      3       1      40      3 |   91.00        0.00

"#;

    const PERCENTILES_B: &str = r#"Response time percentiles (approximated)
Type     Name                                                                                  50%    66%    75%    80%    90%    95%    98%    99%  99.9% 99.99%   100% # reqs
--------|--------------------------------------------------------------------------------|--------|------|------|------|------|------|------|------|------|------|------|------
GET      /                                                                                       3      3      3      3      3      3      3      3     29     29     29    195
GET      /nope,"named"                                                                           2      2      2      2      2      2      2      2      2      2      2     71
POST     /x                                                                                      3      5      5      5      5      5      5     41     41     41     41     74
--------|--------------------------------------------------------------------------------|--------|------|------|------|------|------|------|------|------|------|------|------
         Aggregated                                                                              3      3      3      3      5      5      5      5     41     41     41    341

"#;

    const ERRORS_B: &str = r#"Error report
# occurrences      Error                                                                                               
------------------|---------------------------------------------------------------------------------------------------------------------------------------------
74                 POST /x: HTTPError('501 Server Error: NOT IMPLEMENTED for url: /x')                                 
70                 GET /nope,"named": custom failure                                                                   
1                  GET /nope,"named": it's, bad                                                                        
------------------|---------------------------------------------------------------------------------------------------------------------------------------------

"#;

    // W = 2 (terminal 82 columns): the name column is `%--2s` in Python, i.e. padded to 2.
    const TABLE_TOTAL_B_W2: &str = r#"Type     Name  # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s
--------||-------|-------------|-------|-------|-------|-------|--------|-----------
GET      /      195     0(0.00%) |      3       1      29      3 |   52.53        0.00
GET      /none       1     0(0.00%) |      0       0       0      0 |    0.27        0.00
GET      /nope,"named"      71  71(100.00%) |      2       2       2      2 |   19.12       19.12
POST     /x      74  74(100.00%) |      4       1      40      3 |   19.93       19.93
--------||-------|-------------|-------|-------|-------|-------|--------|-----------
         Aggregated     341  145(42.52%) |      3       1      40      3 |   91.85       39.06

"#;

    // W = 0: the main table pads names to 4 (`%--4s`), the percentile table not at all.
    const TABLE_TOTAL_B_W0: &str = r#"Type     Name  # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s
--------||-------|-------------|-------|-------|-------|-------|--------|-----------
GET      /        195     0(0.00%) |      3       1      29      3 |   52.53        0.00
GET      /none       1     0(0.00%) |      0       0       0      0 |    0.27        0.00
GET      /nope,"named"      71  71(100.00%) |      2       2       2      2 |   19.12       19.12
POST     /x        74  74(100.00%) |      4       1      40      3 |   19.93       19.93
--------||-------|-------------|-------|-------|-------|-------|--------|-----------
         Aggregated     341  145(42.52%) |      3       1      40      3 |   91.85       39.06

"#;

    const PERCENTILES_B_W0: &str = r#"Response time percentiles (approximated)
Type     Name      50%    66%    75%    80%    90%    95%    98%    99%  99.9% 99.99%   100% # reqs
--------||--------|------|------|------|------|------|------|------|------|------|------|------
GET      /        3      3      3      3      3      3      3      3     29     29     29    195
GET      /nope,"named"        2      2      2      2      2      2      2      2      2      2      2     71
POST     /x        3      5      5      5      5      5      5     41     41     41     41     74
--------||--------|------|------|------|------|------|------|------|------|------|------|------
         Aggregated        3      3      3      3      5      5      5      5     41     41     41    341

"#;

    #[test]
    fn stats_table_matches_locust_total_and_current() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(stats_table(&snap, false, 80), TABLE_TOTAL_B);
        assert_eq!(stats_table(&snap, true, 80), TABLE_CURRENT_B);
    }

    #[test]
    fn stats_table_reproduces_reference_sample_lines() {
        // reference §5.3 verified sample (W = 80), which left out the third row.
        let snap = fixture::stats(false).snapshot_at(fixture::AT);
        let table = stats_table(&snap, false, 80);
        let lines: Vec<&str> = table.split('\n').collect();
        let sample = [
            "Type     Name                                                                          # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s",
            "--------|----------------------------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------",
            "GET      /                                                                                195     0(0.00%) |      3       1      29      3 |   52.53        0.00",
            "POST     /x                                                                                74  74(100.00%) |      4       1      40      3 |   19.93       19.93",
            "         Aggregated                                                                       340  145(42.65%) |      3       1      40      3 |   91.58       39.06",
        ];
        for line in sample {
            assert!(lines.contains(&line), "missing line:\n{line}\nin:\n{table}");
        }
        assert!(table.ends_with("|   91.58       39.06\n\n"));
    }

    #[test]
    fn narrow_name_width_follows_python_flag_quirk() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(stats_table(&snap, false, 2), TABLE_TOTAL_B_W2);
        assert_eq!(stats_table(&snap, false, 0), TABLE_TOTAL_B_W0);
        assert_eq!(percentile_table(&snap, 0), PERCENTILES_B_W0);
    }

    #[test]
    fn percentile_table_matches_locust() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(percentile_table(&snap, 80), PERCENTILES_B);
    }

    #[test]
    fn error_report_matches_locust() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(error_report(&snap, 80), ERRORS_B);
        let empty = RequestStats::new_at(fixture::START).snapshot_at(fixture::AT);
        assert_eq!(error_report(&empty, 80), "");
    }

    #[test]
    fn empty_stats_tables() {
        let empty = RequestStats::new_at(fixture::START).snapshot_at(fixture::AT);
        let t = stats_table(&empty, true, 80);
        let last = t.lines().nth(3).unwrap();
        assert_eq!(
            last,
            "         Aggregated                                                                         0     0(0.00%) |      0       0       0      0 |    0.00        0.00"
        );
        let p = percentile_table(&empty, 80);
        assert_eq!(
            p.lines().count(),
            5,
            "title, header, separator, separator, empty: {p}"
        );
    }

    #[test]
    fn error_names_unwrap_catch_response_errors() {
        assert_eq!(
            error_name("GET", "/", "CatchResponseError('custom failure')"),
            "GET /: custom failure"
        );
        assert_eq!(
            error_name("GET", "/", "CatchResponseError(\"it's\")"),
            "GET /: it's"
        );
        assert_eq!(
            error_name("GET", "/", "CatchResponseError('a', 1)"),
            "GET /: 'a', 1"
        );
        assert_eq!(
            error_name("GET", "/x", "HTTPError('501 Server Error')"),
            "GET /x: HTTPError('501 Server Error')"
        );
    }
}
