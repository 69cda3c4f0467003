//! The run's result files and final tables, written exactly once at the end of the run: the HTML report, the CSV
//! totals, the JSON and the final tables the user asked for, with `--baseline` the comparison table and
//! `PREFIX_baseline.csv` (`report::compare`), and with a capacity search its probe table, its headline line and
//! `PREFIX_search.csv` (`report::search`; also at each periodic CSV write).
//!
//! Who calls it: `app::session` creates it and ticks the CSV writer once a period; `app::run_end`, the one end of
//! every run (the shutdown's, the watchdog's, a `sys.exit`'s), writes it. Runs on any thread; never touches
//! Python, decides no exit code.
use super::compare::{Baseline, render as compared};
use super::csv::CsvWriter;
use super::html::Report;
use super::{console, json};
use crate::log;
use crate::runner::Context;
use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the user asked to be written at the end of the run.
pub struct Outputs {
    /// The run context: the statistics and the rest of the run's readings.
    run: Arc<Context>,
    csv: Mutex<Option<CsvWriter>>,
    /// `--json`: the stats as JSON on stdout.
    json_stdout: bool,
    /// `--json-file NAME`: NAME.json (and no final tables, as in Locust).
    json_file: Option<String>,
    /// Width of the name column of the tables.
    name_width: usize,
    /// `--html FILE` (its name pattern) and what the report is built from (set once the locustfile is known).
    html: Mutex<Option<(String, Arc<Report>)>>,
    written: Mutex<bool>,
    /// A result file could not be written (the run then exits non-zero even when it passed, as Locust does).
    failed: AtomicBool,
    /// Print the final tables (a worker prints none: its master has the numbers).
    tables: AtomicBool,
    /// `--baseline`, and the `--csv` prefix its CSV file takes.
    baseline: Mutex<Option<(Arc<Baseline>, Option<String>)>>,
    /// The capacity search (empty when the run searches nothing).
    search: Mutex<crate::judge::search::Handle>,
}

impl Outputs {
    pub fn new(
        run: Arc<Context>,
        csv: Option<CsvWriter>,
        json_stdout: bool,
        json_file: Option<String>,
        name_width: usize,
    ) -> Outputs {
        Outputs {
            run,
            csv: Mutex::new(csv),
            json_stdout,
            json_file,
            name_width,
            html: Mutex::new(None),
            written: Mutex::new(false),
            failed: AtomicBool::new(false),
            tables: AtomicBool::new(true),
            baseline: Mutex::new(None),
            search: Mutex::new(Default::default()),
        }
    }

    /// The run's capacity search: its table and headline after the final tables, `PREFIX_search.csv` with
    /// `--csv`, once it has published an outcome.
    pub fn set_search(&self, handle: crate::judge::search::Handle) {
        *self.search.lock() = handle;
    }

    fn search(&self) -> Option<crate::judge::search::Outcome> {
        self.search.lock().outcome()
    }

    /// `--baseline`: the comparison table after the final tables, and `PREFIX_baseline.csv` with `--csv`.
    pub fn set_baseline(&self, baseline: Arc<Baseline>, csv_prefix: Option<String>) {
        *self.baseline.lock() = Some((baseline, csv_prefix));
    }

    /// A worker's run: no final tables (Locust's worker prints none).
    pub fn without_tables(&self) {
        self.tables.store(false, Ordering::Relaxed);
    }

    /// Whether writing a result file failed (said on stderr already).
    pub fn write_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    fn fail(&self, text: String) {
        eprintln!("rlocust: {text}");
        self.failed.store(true, Ordering::Relaxed);
    }

    /// `--html FILE`: write the report there at the end (with the other result files).
    pub fn set_html_report(&self, pattern: String, report: Arc<Report>) {
        *self.html.lock() = Some((pattern, report));
    }

    pub fn has_csv(&self) -> bool {
        self.csv.lock().is_some()
    }

    /// One periodic CSV write (Locust's stats writer cycle).
    pub fn csv_tick(&self, user_count: u64) {
        if let Some(w) = self.csv.lock().as_mut() {
            let _ = w.tick(&self.csv_readings(w), user_count, log::now());
            if let Some(o) = self.search() {
                let _ = w.write_search(&o);
            }
        }
    }

    /// Write the final CSV rows, the final tables (unless `--json-file`), `--json` and the JSON file. Returns
    /// false (and writes nothing) when they were written already.
    pub fn write_final(&self, user_count: u64) -> bool {
        self.write(user_count, true)
    }

    /// Only the result files (CSV, JSON file): a run that ends the way Locust prints nothing more.
    pub fn write_files(&self, user_count: u64) -> bool {
        self.write(user_count, false)
    }

    fn write(&self, user_count: u64, print: bool) -> bool {
        let mut written = self.written.lock();
        if *written {
            return false;
        }
        *written = true;
        // Locust writes the report first, when the test has ended
        if let Some((pattern, report)) = self.html.lock().take()
            && let Err(e) = report.write_file(&pattern)
        {
            self.fail(e.to_string());
        }
        let search = self.search();
        if let Some(mut w) = self.csv.lock().take() {
            if let Err(e) = w.finish(&self.csv_readings(&w), user_count, log::now()) {
                self.fail(format!("cannot write the CSV files: {e}"));
            }
            if let Some(o) = &search
                && let Err(e) = w.write_search(o)
            {
                self.fail(format!("cannot write the search's CSV file: {e}"));
            }
        }
        // the probe table, then the headline: the last line of the search a user sees
        let search_text = search.as_ref().map(|o| {
            let mut t = super::search::console_table(o);
            t.push_str(&super::search::headline(o));
            t.push('\n');
            t
        });
        let readings = self.run.readings();
        let (snap, open) = (&readings.stats, &readings.open);
        let comparison = self.baseline.lock().clone().map(|(b, prefix)| {
            let c = b.at_end(snap);
            if let Some(prefix) = prefix {
                let path = format!("{prefix}_baseline.csv");
                if let Err(e) = std::fs::write(&path, compared::csv(&c)) {
                    self.fail(format!("cannot write {path}: {e}"));
                }
            }
            c
        });
        if print
            && self.json_file.is_some()
            && self.tables.load(Ordering::Relaxed)
            && let Some(c) = &comparison
        {
            // (--json-file leaves out Locust's tables, not the comparison the user asked for)
            log::print_table(&compared::table(c, self.name_width));
        }
        if print
            && self.json_file.is_some()
            && self.tables.load(Ordering::Relaxed)
            && let Some(t) = &search_text
        {
            log::print_table(t);
        }
        if print && self.json_file.is_none() && self.tables.load(Ordering::Relaxed) {
            let mut out = console::stats_table(snap, false, self.name_width);
            if let Some(t) = super::arrivals::console_table(open, false) {
                out.push_str(&t);
            }
            out.push_str(&console::percentile_table(snap, self.name_width));
            if let Some(t) = super::corrected::console_table(snap, self.name_width) {
                out.push_str(&t);
            }
            if let Some(t) = super::metrics::console_table(snap, self.name_width) {
                out.push_str(&t);
            }
            if let Some(t) = super::metrics::console_throughput(snap, self.name_width) {
                out.push_str(&t);
            }
            out.push_str(&console::error_report(snap, self.name_width));
            if let Some(c) = &comparison {
                out.push_str(&compared::table(c, self.name_width));
            }
            if let Some(t) = &search_text {
                out.push_str(t);
            }
            log::print_table(&out);
        }
        let json_doc = || {
            let stats = json::serialize_stats(snap);
            if open.active {
                json::with_arrivals(&stats, &super::arrivals::json(open, false))
            } else {
                stats
            }
        };
        if print && self.json_stdout {
            println!("{}", json_doc());
        }
        if let Some(name) = &self.json_file {
            let path = format!("{name}.json");
            if let Some(parent) = std::path::Path::new(&path).parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if let Err(e) = std::fs::write(&path, json_doc()) {
                self.fail(format!("cannot write {path}: {e}"));
            }
        }
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        true
    }

    /// The readings a CSV write takes (with the entries' current windows for `--csv-full-history`).
    fn csv_readings(&self, w: &CsvWriter) -> crate::runner::readings::Readings {
        if w.needs_entry_windows() {
            self.run.readings_with_windows()
        } else {
            self.run.readings()
        }
    }

    /// The run context the outputs read.
    pub fn run(&self) -> Arc<Context> {
        self.run.clone()
    }

    /// Whether the run recorded request failures or task exceptions (Locust's `--exit-code-on-error` rule).
    pub fn had_errors(&self) -> bool {
        self.run.stats.has_failures() || self.run.stats.has_exceptions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RequestStats;

    #[test]
    fn final_outputs_are_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("r").to_string_lossy().into_owned();
        let stats = Arc::new(RequestStats::new());
        stats.log_request("GET", "/a", Some(3.0), 10, log::now());
        let csv = CsvWriter::create(&prefix, false, false).unwrap();
        let json = dir.path().join("j").to_string_lossy().into_owned();
        let out = Outputs::new(
            Context::new(stats.clone()),
            Some(csv),
            false,
            Some(json.clone()),
            80,
        );
        assert!(out.write_final(1));
        let rows = std::fs::read_to_string(format!("{prefix}_stats.csv")).unwrap();
        assert!(rows.contains("GET,/a,1,0"), "{rows}");
        assert!(
            std::fs::read_to_string(format!("{json}.json"))
                .unwrap()
                .contains("\"/a\"")
        );
        stats.log_request("GET", "/b", Some(3.0), 10, log::now());
        assert!(!out.write_final(2), "a second writer does nothing");
        let rows = std::fs::read_to_string(format!("{prefix}_stats.csv")).unwrap();
        assert!(!rows.contains("/b"));
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;
    use crate::judge::search::{Handle, Mode};
    use crate::stats::RequestStats;

    #[test]
    fn search_csv_only_with_a_search() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(RequestStats::new());
        stats.log_request("GET", "/a", Some(3.0), 10, log::now());
        let prefix = dir.path().join("r").to_string_lossy().into_owned();
        let file = format!("{prefix}_search.csv");
        let plain = Outputs::new(
            Context::new(stats.clone()),
            Some(CsvWriter::create(&prefix, false, false).unwrap()),
            false,
            None,
            80,
        );
        plain.set_search(Handle::default());
        plain.csv_tick(1);
        assert!(plain.write_files(1));
        assert!(!std::path::Path::new(&file).exists(), "no search: no file");
        let handle = Handle::default();
        let out = Outputs::new(
            Context::new(stats),
            Some(CsvWriter::create(&prefix, false, false).unwrap()),
            false,
            None,
            80,
        );
        out.set_search(handle.clone());
        let mut o = crate::report::search::tests::converged(Mode::Users);
        let all = o.probes.clone();
        o.probes.truncate(2);
        handle.publish(o.clone());
        out.csv_tick(1);
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 3);
        o.probes = all;
        // (an ended outcome is final for publish: the test replaces it as a new search would)
        handle.begin(o.clone());
        assert!(out.write_files(1));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            crate::report::search::csv(&o)
        );
    }
}
