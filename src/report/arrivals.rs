//! The open workload's accounting as people and tools read it (issue 31): arrivals intended and iterations
//! started (with their rates), arrivals dropped, users busy of the maximum, and how late iterations started after
//! their intended instants. One table under the console's stats tables, `{prefix}_arrivals.csv`, an `arrivals`
//! object in `--json`, `--summary-json`, the web UI's `/rlocust/arrivals` and the HTML report, and `/metrics`
//! series. All of them exist only when an open workload ran (`Snapshot::active`), so a closed-model run's
//! output stays Locust's, byte for byte.
//!
//! Who calls it: `report::outputs` (final tables, `--json`), the periodic printer (`app::session`),
//! `report::csv`, `report::summary`, `report::prometheus`, `report::html`, `web::routes`. What it must not do:
//! read live state (always a `runner::open::Snapshot`), print or write anything itself.
use crate::pyfmt::json::J;
use crate::runner::open::Snapshot;
use crate::runner::open::schedule::fmt_rate;
use crate::runner::open::tally::{LagPercentiles, Point};
use std::fmt::Write as _;

/// The console table's first words (tools that skip the stats tables in a log can skip it by them).
pub const TITLE: &str = "Arrivals (open workload";

fn lag(l: &LagPercentiles) -> J {
    J::obj([
        ("count", J::Int(l.count as i64)),
        ("p50", J::Float(l.p50)),
        ("p90", J::Float(l.p90)),
        ("p99", J::Float(l.p99)),
        ("p99.9", J::Float(l.p999)),
        ("max", J::Float(l.max)),
    ])
}

fn point(p: &Point) -> J {
    J::obj([
        ("time", J::Int(p.time)),
        ("intended_rate", J::Float(p.intended_rate)),
        ("started_rate", J::Float(p.started_rate)),
        ("dropped_rate", J::Float(p.dropped_rate)),
        ("users_busy", J::Int(p.busy as i64)),
        ("users", J::Int(p.users as i64)),
    ])
}

/// The `arrivals` object (with the history for the charts when `history`).
pub fn json(s: &Snapshot, history: bool) -> J {
    let mut pairs = vec![
        ("schedule", J::str(&s.schedule)),
        ("intended", J::Int(s.intended as i64)),
        ("started", J::Int(s.started as i64)),
        ("dropped", J::Int(s.dropped as i64)),
        ("pending", J::Int(s.pending as i64)),
        ("dropped_ratio", J::Float(s.dropped_ratio())),
        ("intended_rate", J::Float(s.intended_rate)),
        ("current_intended_rate", J::Float(s.current_intended_rate)),
        ("current_started_rate", J::Float(s.current_started_rate)),
        ("current_dropped_rate", J::Float(s.current_dropped_rate)),
        ("average_started_rate", J::Float(s.average_started_rate)),
        ("users_busy", J::Int(s.gauges.busy as i64)),
        ("users", J::Int(s.gauges.users as i64)),
        ("max_users", J::Int(s.gauges.max_users as i64)),
        ("start_lag_ms", lag(&s.lag_ms)),
        ("clock_lag_ms", lag(&s.clock_lag_ms)),
        ("elapsed_s", J::Float(s.elapsed)),
    ];
    if history {
        pairs.push(("history", J::Arr(s.history.iter().map(point).collect())));
    }
    J::obj(pairs)
}

/// The console table, or `None` when no open workload ran. `current`: the periodic print (rates over the last
/// seconds) rather than the final one (rates over the whole run). Ends with an empty line, like every table.
pub fn console_table(s: &Snapshot, current: bool) -> Option<String> {
    if !s.active {
        return None;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{TITLE}: {}; at most {} users)",
        s.schedule, s.gauges.max_users
    );
    let _ = writeln!(
        out,
        "{:>10} {:>10} {:>10} {:>9} |{:>11} {:>10} {:>10} |{:>6} {:>6} {:>6} |{:>9} {:>9}",
        "intended",
        "started",
        "dropped",
        "dropped%",
        "intended/s",
        "started/s",
        "dropped/s",
        "busy",
        "users",
        "max",
        "lag p50",
        "lag p99"
    );
    let _ = writeln!(
        out,
        "{}|{}|{}|{}",
        "-".repeat(43),
        "-".repeat(34),
        "-".repeat(21),
        "-".repeat(19)
    );
    let (ri, rs, rd) = if current {
        (
            s.current_intended_rate,
            s.current_started_rate,
            s.current_dropped_rate,
        )
    } else if s.elapsed > 0.0 {
        (
            s.intended as f64 / s.elapsed,
            s.started as f64 / s.elapsed,
            s.dropped as f64 / s.elapsed,
        )
    } else {
        (0.0, 0.0, 0.0)
    };
    let ms = |v: f64| format!("{v:.2}ms");
    let _ = writeln!(
        out,
        "{:>10} {:>10} {:>10} {:>8.2}% |{:>11.2} {:>10.2} {:>10.2} |{:>6} {:>6} {:>6} |{:>9} {:>9}",
        s.intended,
        s.started,
        s.dropped,
        s.dropped_ratio() * 100.0,
        ri,
        rs,
        rd,
        s.gauges.busy,
        s.gauges.users,
        s.gauges.max_users,
        ms(s.lag_ms.p50),
        ms(s.lag_ms.p99)
    );
    out.push('\n');
    Some(out)
}

/// The header of `{prefix}_arrivals.csv` (CRLF, as Locust's CSV files).
pub const CSV_HEADER: &str = "Timestamp,Intended Rate,Started Rate,Dropped Rate,Intended,Started,Dropped,Users Busy,Users,Max Users,Schedule Rate,Start Lag p50 ms,Start Lag p99 ms,Start Lag Max ms\r\n";

/// One row of `{prefix}_arrivals.csv`: the current rates (per second, over the last seconds), the counts since
/// the start, the gauges, the schedule's rate and the start lag so far.
pub fn csv_row(s: &Snapshot, now: f64) -> String {
    format!(
        "{},{:.2},{:.2},{:.2},{},{},{},{},{},{},{},{:.3},{:.3},{:.3}\r\n",
        now.trunc() as i64,
        s.current_intended_rate,
        s.current_started_rate,
        s.current_dropped_rate,
        s.intended,
        s.started,
        s.dropped,
        s.gauges.busy,
        s.gauges.users,
        s.gauges.max_users,
        fmt_rate((s.intended_rate * 1000.0).round() / 1000.0),
        s.lag_ms.p50,
        s.lag_ms.p99,
        s.lag_ms.max
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::open::tally::Gauges;

    fn snap(active: bool) -> Snapshot {
        Snapshot {
            active,
            schedule: "50/s".into(),
            intended: 1000,
            started: 990,
            dropped: 8,
            pending: 2,
            intended_rate: 50.0,
            current_intended_rate: 50.0,
            current_started_rate: 49.6,
            current_dropped_rate: 0.4,
            average_started_rate: 49.5,
            gauges: Gauges {
                busy: 20,
                users: 20,
                max_users: 20,
                intended_rate: 50.0,
            },
            lag_ms: LagPercentiles {
                count: 990,
                p50: 0.12,
                p90: 0.3,
                p99: 0.51,
                p999: 2.0,
                max: 7.5,
            },
            clock_lag_ms: LagPercentiles::default(),
            lag_us: vec![],
            history: vec![],
            elapsed: 20.0,
        }
    }

    #[test]
    fn nothing_for_a_closed_run() {
        assert_eq!(console_table(&snap(false), true), None);
    }

    #[test]
    fn the_table_and_the_csv_row() {
        let t = console_table(&snap(true), false).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Arrivals (open workload: 50/s; at most 20 users)");
        assert!(
            lines[3].contains("1000") && lines[3].contains("0.80%"),
            "{t}"
        );
        assert!(
            lines[3].contains("50.00") && lines[3].contains("49.50"),
            "{t}"
        );
        assert!(lines[3].ends_with("0.12ms    0.51ms"), "{t}");
        assert!(t.ends_with("\n\n"));
        let widths: Vec<usize> = lines[1..4].iter().map(|l| l.len()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{t}");
        assert_eq!(
            csv_row(&snap(true), 1700000000.7),
            "1700000000,50.00,49.60,0.40,1000,990,8,20,20,20,50,0.120,0.510,7.500\r\n"
        );
        assert_eq!(
            CSV_HEADER.split(',').count(),
            csv_row(&snap(true), 0.0).split(',').count()
        );
        let j = crate::pyfmt::json::pretty(&json(&snap(true), false));
        assert!(
            j.contains("\"dropped\": 8") && j.contains("\"users_busy\": 20"),
            "{j}"
        );
    }
}
