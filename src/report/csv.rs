//! The `--csv <prefix>` files (reference §6.1): `<prefix>_stats.csv`, `_stats_history.csv`,
//! `_failures.csv` and `_exceptions.csv`, byte-identical to Locust 2.47's (Python `csv.writer`
//! default dialect: comma, minimal quoting, CRLF; numbers as Python `str()`); rlocust's own `_arrivals.csv` (an
//! open workload), `_metrics.csv` (metric rows, `report::metrics`) and `_search.csv` (the capacity search,
//! `report::search`) once the run has what they show.
//!
//! Who calls it: the runner owns one [`CsvWriter`], calls [`CsvWriter::tick`] once per second
//! with a fresh snapshot and [`CsvWriter::finish`] at shutdown. The `*_csv` / `history_*`
//! functions are pure and also serve the web UI's CSV downloads.
//!
//! What it must not do: take snapshots or decide timing itself. NOTE: unlike Locust, `finish`
//! writes the final totals once more (Locust only closes the files, so its stats file can lag the
//! end of the test by up to a second).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::pyfmt::csv::push_row;
use crate::pyfmt::{
    format_utc_timestamp, py_fixed, py_float_repr, py_int_trunc, py_num, py_round_int, py_str_repr,
    readable_percentiles,
};
use crate::runner::readings::Readings;
use crate::stats::{EntrySnapshot, ErrorSnapshot, Snapshot, percentiles_to_report};

fn header(first: &[&str], last: &[&str]) -> String {
    let mut fields: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
    fields.extend(readable_percentiles(percentiles_to_report()));
    fields.extend(last.iter().map(|s| (*s).to_owned()));
    let mut out = String::new();
    push_row(&mut out, &fields);
    out
}

/// The `_stats.csv` header line (CRLF included).
pub fn stats_header() -> String {
    header(
        &[
            "Type",
            "Name",
            "Request Count",
            "Failure Count",
            "Median Response Time",
            "Average Response Time",
            "Min Response Time",
            "Max Response Time",
            "Average Content Size",
            "Requests/s",
            "Failures/s",
        ],
        &[],
    )
}

/// The `_stats_history.csv` header line (CRLF included).
pub fn history_header() -> String {
    header(
        &[
            "Timestamp",
            "User Count",
            "Type",
            "Name",
            "Requests/s",
            "Failures/s",
        ],
        &[
            "Total Request Count",
            "Total Failure Count",
            "Total Median Response Time",
            "Total Average Response Time",
            "Total Min Response Time",
            "Total Max Response Time",
            "Total Average Content Size",
        ],
    )
}

/// The `_failures.csv` header line (CRLF included).
pub fn failures_header() -> String {
    "Method,Name,Error,Occurrences,First Seen,Last Seen\r\n".to_owned()
}

/// The `_exceptions.csv` header line (CRLF included).
pub fn exceptions_header() -> String {
    "Count,Message,Traceback,Nodes\r\n".to_owned()
}

/// Locust `_percentile_fields`: `N/A` each when the entry has no requests; otherwise the
/// cumulative (or, with `current`, the last-10-s) percentiles as whole ms.
fn percentile_fields(e: &EntrySnapshot, current: bool) -> Vec<String> {
    if e.totals.num_requests == 0 {
        return vec!["N/A".to_owned(); percentiles_to_report().len()];
    }
    percentiles_to_report()
        .iter()
        .map(|&p| {
            let ms = if current {
                e.current_percentile(p).unwrap_or(0.0)
            } else {
                e.percentile(p)
            };
            py_round_int(ms).to_string()
        })
        .collect()
}

/// The whole `_stats.csv`: header, the entries sorted by (name, method), the Aggregated row.
pub fn stats_csv(snap: &Snapshot) -> String {
    let mut out = stats_header();
    for e in snap.sorted_entries().into_iter().chain([&snap.total]) {
        let mut fields = vec![
            e.method.clone(),
            e.name.clone(),
            e.totals.num_requests.to_string(),
            e.totals.num_failures.to_string(),
            py_num(e.median_response_time()),
            py_float_repr(e.avg_response_time()),
            py_num(e.min_or_zero()),
            py_num(e.max_response_time_num()),
            py_num(e.avg_content_length()),
            py_float_repr(e.total_rps(&snap.total)),
            py_float_repr(e.total_fail_per_sec(&snap.total)),
        ];
        fields.extend(percentile_fields(e, false));
        push_row(&mut out, &fields);
    }
    out
}

/// Locust `StatsError.create_key`: sha256 hex of `f"{method}.{name}.{error!r}"`.
pub fn error_key(e: &ErrorSnapshot) -> String {
    let key = format!("{}.{}.{}", e.method, e.name, py_str_repr(&e.error));
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The whole `_failures.csv`: rows sorted by [`error_key`], times as `%Y-%m-%dT%H:%M:%SZ`.
pub fn failures_csv(snap: &Snapshot) -> String {
    let mut out = failures_header();
    let mut rows: Vec<(String, &ErrorSnapshot)> =
        snap.errors.iter().map(|e| (error_key(e), e)).collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, e) in rows {
        push_row(
            &mut out,
            &[
                e.method.clone(),
                e.name.clone(),
                e.error.clone(),
                e.occurrences.to_string(),
                e.first_seen.map(format_utc_timestamp).unwrap_or_default(),
                e.last_seen.map(format_utc_timestamp).unwrap_or_default(),
            ],
        );
    }
    out
}

/// The whole `_exceptions.csv`: count, message, traceback, nodes joined with ", ".
pub fn exceptions_csv(snap: &Snapshot) -> String {
    let mut out = exceptions_header();
    for x in &snap.exceptions {
        push_row(
            &mut out,
            &[
                x.count.to_string(),
                x.msg.clone(),
                x.traceback.clone(),
                x.nodes.join(", "),
            ],
        );
    }
    out
}

/// The rows one history tick appends: the Aggregated row, preceded by every entry (sorted) when
/// `full_history`. Percentiles are cumulative, or the last-10-s window for every row when
/// `full_history` (as Locust does). `now` gives the Timestamp column (`int(now)`).
pub fn history_rows(snap: &Snapshot, user_count: u64, full_history: bool, now: f64) -> String {
    let mut out = String::new();
    let timestamp = py_int_trunc(now).to_string();
    let entries = if full_history {
        snap.sorted_entries()
    } else {
        Vec::new()
    };
    for e in entries.into_iter().chain([&snap.total]) {
        let mut fields = vec![
            timestamp.clone(),
            user_count.to_string(),
            e.method.clone(),
            e.name.clone(),
            py_fixed(e.current_rps(&snap.total), 6),
            py_fixed(e.current_fail_per_sec(&snap.total), 6),
        ];
        fields.extend(percentile_fields(e, full_history));
        fields.extend([
            e.totals.num_requests.to_string(),
            e.totals.num_failures.to_string(),
            py_num(e.median_response_time()),
            py_float_repr(e.avg_response_time()),
            py_num(e.min_or_zero()),
            py_num(e.max_response_time_num()),
            py_num(e.avg_content_length()),
        ]);
        push_row(&mut out, &fields);
    }
    out
}

/// The four `--csv` files of one run (Locust's), and with `--csv-generator` rlocust's `_generator.csv` where this
/// process runs users.
#[derive(Debug)]
pub struct CsvWriter {
    stats: File,
    history: File,
    failures: File,
    exceptions: File,
    /// `{prefix}_generator.csv`: how late this generator was (`stats::lateness`), rewritten with the others.
    generator: Option<File>,
    /// `{prefix}_arrivals.csv`: an open workload's accounting (`report::arrivals`), a row per cycle; created at
    /// the first cycle an open workload runs, so a closed-model run writes Locust's files only.
    arrivals: Option<File>,
    /// `_metrics.csv`, created when the run first has a metric row.
    metrics: Option<File>,
    /// `_search.csv` (`report::search`), created when the run's capacity search first writes it.
    search: Option<File>,
    prefix: String,
    full_history: bool,
    last_history_second: Option<i64>,
}

/// The four file names for a prefix: `_stats`, `_stats_history`, `_failures`, `_exceptions`.
pub fn csv_paths(prefix: &str) -> [PathBuf; 4] {
    [
        "_stats.csv",
        "_stats_history.csv",
        "_failures.csv",
        "_exceptions.csv",
    ]
    .map(|s| PathBuf::from(format!("{prefix}{s}")))
}

fn open_with_header(path: &Path, header: &str) -> io::Result<File> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.write_all(header.as_bytes())?;
    Ok(f)
}

/// Replace a file's whole content (Locust seeks and truncates after writing the rows).
fn rewrite(f: &mut File, content: &str) -> io::Result<()> {
    f.seek(SeekFrom::Start(0))?;
    f.write_all(content.as_bytes())?;
    f.set_len(content.len() as u64)
}

impl CsvWriter {
    /// Create (truncate) the four files, creating missing parent directories, and write their
    /// headers; with `generator` (`--csv-generator`, in a process that runs users: not a master) also
    /// `_generator.csv`.
    ///
    /// # Errors
    /// Any I/O error creating the directories or files or writing the headers.
    pub fn create(prefix: &str, full_history: bool, generator: bool) -> io::Result<Self> {
        let [stats, history, failures, exceptions] = csv_paths(prefix);
        if let Some(dir) = stats.parent()
            && !dir.as_os_str().is_empty()
        {
            fs::create_dir_all(dir)?;
        }
        Ok(CsvWriter {
            stats: open_with_header(&stats, &stats_header())?,
            history: open_with_header(&history, &history_header())?,
            failures: open_with_header(&failures, &failures_header())?,
            exceptions: open_with_header(&exceptions, &exceptions_header())?,
            generator: if generator {
                Some(open_with_header(
                    Path::new(&format!("{prefix}_generator.csv")),
                    "",
                )?)
            } else {
                None
            },
            arrivals: None,
            metrics: None,
            search: None,
            prefix: prefix.to_string(),
            full_history,
            last_history_second: None,
        })
    }

    /// A row of `_arrivals.csv` when an open workload ran (the file created with its header at the first).
    fn append_arrivals(
        &mut self,
        open: &crate::runner::open::Snapshot,
        now: f64,
    ) -> io::Result<()> {
        if !open.active {
            return Ok(());
        }
        if self.arrivals.is_none() {
            self.arrivals = Some(open_with_header(
                Path::new(&format!("{}_arrivals.csv", self.prefix)),
                crate::report::arrivals::CSV_HEADER,
            )?);
        }
        if let Some(f) = &mut self.arrivals {
            f.write_all(crate::report::arrivals::csv_row(open, now).as_bytes())?;
        }
        Ok(())
    }

    /// `{prefix}_search.csv`: the capacity search's probes so far (created at its first write, rewritten at each
    /// after). Only a run with a search calls it, so a run without one writes no such file.
    ///
    /// # Errors
    /// Any I/O error creating or writing the file.
    pub fn write_search(&mut self, o: &crate::judge::search::Outcome) -> io::Result<()> {
        if self.search.is_none() {
            self.search = Some(open_with_header(
                Path::new(&format!("{}_search.csv", self.prefix)),
                "",
            )?);
        }
        match &mut self.search {
            Some(f) => {
                rewrite(f, &crate::report::search::csv(o))?;
                f.flush()
            }
            None => Ok(()),
        }
    }

    fn rewrite_totals(&mut self, readings: &Readings) -> io::Result<()> {
        let snap = &readings.stats;
        rewrite(&mut self.stats, &stats_csv(snap))?;
        // `_metrics.csv` once the run has a metric row (a stream's, or a locustfile's own)
        if let Some(text) = crate::report::metrics::csv(snap) {
            if self.metrics.is_none() {
                self.metrics = Some(open_with_header(
                    Path::new(&format!("{}_metrics.csv", self.prefix)),
                    "",
                )?);
            }
            if let Some(f) = &mut self.metrics {
                rewrite(f, &text)?;
            }
        }
        rewrite(&mut self.failures, &failures_csv(snap))?;
        if let Some(f) = &mut self.generator {
            rewrite(f, &crate::stats::lateness::csv(&readings.lateness))?;
        }
        rewrite(&mut self.exceptions, &exceptions_csv(snap))
    }

    fn append_history(&mut self, snap: &Snapshot, user_count: u64, now: f64) -> io::Result<()> {
        self.history.seek(SeekFrom::End(0))?;
        self.history
            .write_all(history_rows(snap, user_count, self.full_history, now).as_bytes())?;
        self.last_history_second = Some(py_int_trunc(now));
        Ok(())
    }

    /// One writer cycle (call once per second): rewrite stats, failures and exceptions; append
    /// the history rows.
    ///
    /// # Errors
    /// Any I/O error writing the files (the caller logs it and keeps running, or stops writing).
    /// Whether its snapshots need the entries' current-percentile windows (`--csv-full-history`).
    pub fn needs_entry_windows(&self) -> bool {
        self.full_history
    }

    pub fn tick(&mut self, readings: &Readings, user_count: u64, now: f64) -> io::Result<()> {
        self.rewrite_totals(readings)?;
        self.append_arrivals(&readings.open, now)?;
        self.append_history(&readings.stats, user_count, now)
    }

    /// The last write at shutdown, so the files hold the final totals; a history row is added
    /// only if this second has none yet. Then flush everything to the OS.
    ///
    /// # Errors
    /// Any I/O error writing or flushing the files.
    pub fn finish(&mut self, readings: &Readings, user_count: u64, now: f64) -> io::Result<()> {
        self.rewrite_totals(readings)?;
        if self.last_history_second != Some(py_int_trunc(now)) {
            self.append_arrivals(&readings.open, now)?;
            self.append_history(&readings.stats, user_count, now)?;
        }
        for f in [
            &mut self.stats,
            &mut self.history,
            &mut self.failures,
            &mut self.exceptions,
        ] {
            f.flush()?;
        }
        if let Some(f) = &mut self.generator {
            f.flush()?;
        }
        if let Some(f) = &mut self.arrivals {
            f.flush()?;
        }
        if let Some(f) = &mut self.metrics {
            f.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::stats::RequestStats;

    /// Our text with CRLF written as "\n" (only safe where no field holds a newline).
    fn lf(s: &str) -> String {
        assert!(
            !s.replace("\r\n", "").contains(['\r', '\n']),
            "bare CR/LF in {s:?}"
        );
        s.replace("\r\n", "\n")
    }

    // Byte-exact headers from Locust 2.47 (`csv.writer` over a StringIO, CRLF).
    const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\r\n";
    const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size\r\n";

    // Locust 2.47 on `fixture::stats(true)` (StatsCSV.requests_csv), CRLF shown as newlines.
    const STATS_CSV_B: &str = r#"Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/,195,0,3,3.1256410256410256,1.5,29.0,102.98461538461538,52.52525117597352,0.0,3,3,3,3,3,3,3,3,29,29,29
GET,/none,1,0,0,0.0,0,0,0.0,0.26936026244088984,0.0,0,0,0,0,0,0,0,0,0,0,0
GET,"/nope,""named""",71,71,2,2.0,2.0,2.0,103.0,19.12457863330318,19.12457863330318,2,2,2,2,2,2,2,2,2,2,2
POST,/x,74,74,3,4.35,1.2,40.7,102.95945945945945,19.93265942062585,19.93265942062585,3,5,5,5,5,5,5,41,41,41,41
,Aggregated,341,145,3,3.157058823529412,1.2,40.7,102.68035190615836,91.85184949234345,39.05723805392903,3,3,3,3,5,5,5,5,41,41,41
"#;

    const FAILURES_CSV_B: &str = r#"Method,Name,Error,Occurrences,First Seen,Last Seen
GET,"/nope,""named""","CatchResponseError(""it's, bad"")",1,2023-11-14T22:13:23Z,2023-11-14T22:13:23Z
GET,"/nope,""named""",CatchResponseError('custom failure'),70,2023-11-14T22:13:22Z,2023-11-14T22:13:23Z
POST,/x,HTTPError('501 Server Error: NOT IMPLEMENTED for url: /x'),74,2023-11-14T22:13:22Z,2023-11-14T22:13:22Z
"#;

    // Fields with newlines keep them bare inside quotes; rows end in CRLF.
    const EXCEPTIONS_CSV_B: &str = "Count,Message,Traceback,Nodes\r\n2,division by zero,\"  File \"\"locustfile.py\"\", line 9, in t\n    1/0\n\",local\r\n1,\"bad \"\"value\"\", here\",\"tb2\n\",local\r\n";

    const HISTORY_B: &str = "1700000004,7,,Aggregated,91.000000,0.000000,3,3,3,3,5,5,5,5,41,41,41,341,145,3,3.157058823529412,1.2,40.7,102.68035190615836\r\n";

    #[test]
    fn headers_are_byte_exact() {
        assert_eq!(stats_header(), STATS_HEADER);
        assert_eq!(history_header(), HISTORY_HEADER);
        assert_eq!(
            failures_header(),
            "Method,Name,Error,Occurrences,First Seen,Last Seen\r\n"
        );
        assert_eq!(exceptions_header(), "Count,Message,Traceback,Nodes\r\n");
    }

    #[test]
    fn stats_csv_matches_locust() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        let got = stats_csv(&snap);
        assert!(got.ends_with("41,41,41\r\n"));
        assert_eq!(lf(&got), STATS_CSV_B);
    }

    #[test]
    fn failures_csv_matches_locust_order_and_quoting() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(lf(&failures_csv(&snap)), FAILURES_CSV_B);
    }

    #[test]
    fn exceptions_csv_matches_locust() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(exceptions_csv(&snap), EXCEPTIONS_CSV_B);
    }

    #[test]
    fn history_row_matches_locust() {
        let snap = fixture::stats(true).snapshot_at(fixture::AT);
        assert_eq!(history_rows(&snap, 7, false, fixture::AT), HISTORY_B);
    }

    #[test]
    fn history_before_any_request_has_na() {
        // reference §6.1: `1795276603,0,,Aggregated,0.000000,0.000000,N/A,...,0,0,0,0.0,0,0,0`
        let snap = RequestStats::new_at(1795276603.2).snapshot_at(1795276603.9);
        let na = ["N/A"; 11].join(",");
        assert_eq!(
            history_rows(&snap, 0, false, 1795276603.9),
            format!("1795276603,0,,Aggregated,0.000000,0.000000,{na},0,0,0,0.0,0,0,0\r\n")
        );
        assert_eq!(
            stats_csv(&snap),
            format!("{STATS_HEADER},Aggregated,0,0,0,0.0,0,0,0,0.0,0.0,{na}\r\n")
        );
    }

    #[test]
    fn full_history_uses_current_window_for_every_row() {
        let s = RequestStats::new_at(1000.0);
        for _ in 0..10 {
            s.log_request("GET", "/b", Some(500.0), 0, 1001.5);
        }
        for _ in 0..10 {
            s.log_request("GET", "/a", Some(5.0), 0, 1015.5);
        }
        let snap = s.snapshot_at(1016.0);
        let rows = history_rows(&snap, 3, true, 1016.0);
        let lines: Vec<&str> = rows.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{rows:?}");
        assert!(lines[0].starts_with("1016,3,GET,/a,"), "{}", lines[0]);
        // /b had no request in the last 10 s: percentiles 0, cumulative columns intact.
        assert!(
            lines[1].starts_with(
                "1016,3,GET,/b,0.000000,0.000000,0,0,0,0,0,0,0,0,0,0,0,10,0,500,500.0,"
            ),
            "{}",
            lines[1]
        );
        // Aggregated: window holds only /a's 5 ms; cumulative median is 500.
        let agg: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(
            &agg[..7],
            &["1016", "3", "", "Aggregated", "0.000000", "0.000000", "5"]
        );
        assert_eq!(agg[16], "5");
        assert_eq!(agg[17], "20");
        assert_eq!(agg[19], "500");
        // Without full history: one cumulative Aggregated row.
        let rows = history_rows(&snap, 3, false, 1016.0);
        assert!(
            rows.starts_with("1016,3,,Aggregated,0.000000,0.000000,500,"),
            "{rows}"
        );
    }

    #[test]
    fn minimal_quoting_rules() {
        let mut out = String::new();
        push_row(
            &mut out,
            &[
                "a,b", "q\"x", " sp", "t\tab", "cr\rx", "lf\nx", "", "é", "#",
            ],
        );
        push_row(&mut out, &[""]);
        // python3: csv.writer(StringIO()).writerow([...]) with the same fields
        assert_eq!(
            out,
            "\"a,b\",\"q\"\"x\", sp,t\tab,\"cr\rx\",\"lf\nx\",,é,#\r\n\"\"\r\n"
        );
    }

    #[test]
    fn writer_reports_io_errors() {
        // A regular file cannot be a directory: create() must fail, not panic.
        let err = CsvWriter::create("/dev/null/run", false, false).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists | io::ErrorKind::Other
            ),
            "{err:?}"
        );
    }

    #[test]
    fn writer_creates_dirs_rewrites_and_appends() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("rlocust-csv-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let prefix = dir.join("sub/run").to_string_lossy().into_owned();
        let stats = fixture::stats(true);
        let mut w = CsvWriter::create(&prefix, false, true)?;
        let paths = csv_paths(&prefix);
        let generator = format!("{prefix}_generator.csv");
        assert_eq!(fs::read_to_string(&paths[0])?, STATS_HEADER);
        assert_eq!(fs::read_to_string(&paths[1])?, HISTORY_HEADER);
        let full = stats.snapshot_at(fixture::AT);
        w.tick(
            &crate::runner::readings::Readings::of_stats(full.clone()),
            7,
            fixture::AT,
        )?;
        // A shorter snapshot after a reset must not leave old bytes behind.
        stats.reset_all(fixture::AT + 1.0);
        let reset = stats.snapshot_at(fixture::AT + 1.0);
        w.tick(
            &crate::runner::readings::Readings::of_stats(reset.clone()),
            7,
            fixture::AT + 1.0,
        )?;
        assert_eq!(fs::read_to_string(&paths[0])?, stats_csv(&reset));
        assert_eq!(fs::read_to_string(&paths[2])?, failures_header());
        assert_eq!(fs::read_to_string(&paths[3])?, exceptions_csv(&reset));
        let text = fs::read_to_string(&generator)?;
        assert!(
            text.starts_with("Delay,Count,50%,90%,99%,99.9%,Max\r\nSocket wait,"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4);
        // finish in the same second adds no duplicate history row; a new second adds one.
        w.finish(
            &crate::runner::readings::Readings::of_stats(reset.clone()),
            0,
            fixture::AT + 1.2,
        )?;
        assert_eq!(fs::read_to_string(&paths[1])?.lines().count(), 3);
        w.finish(
            &crate::runner::readings::Readings::of_stats(reset.clone()),
            0,
            fixture::AT + 2.0,
        )?;
        let history = fs::read_to_string(&paths[1])?;
        assert_eq!(history.lines().count(), 4);
        assert!(history.starts_with(&format!("{HISTORY_HEADER}{HISTORY_B}")));
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
