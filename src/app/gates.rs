//! The run's CI gates and exports, wired into a session: the `--thresholds`/`--check-*` rules (evaluated at the
//! end, and every second during the run for `abort` rules), `--baseline` (the comparison every output shows,
//! and `--baseline-gate`'s regressions), the `--summary-json` document, and the Prometheus sources
//! (`--metrics-port`, the web UI's `/metrics`). It is also the reports' [`RunContext`]: the run's parameters
//! and its comparison.
//!
//! Who calls it: `app::session` — [`Gates::new`] while preparing (a bad rule or bucket list ends the invocation
//! with one line), [`Gates::watch`] when the test starts; `app::run_end` (the one end of every run) calls
//! [`Gates::evaluate`] to judge the run, then [`Gates::print_table`] and [`Gates::write_summary`]. What it must not do: own any run state (it reads
//! `runner::Shared` and sends `Control`s like any other client) or touch Python.
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::exit::ExitStatus;
use crate::cli::Options;
use crate::distributed::node::Node;
use crate::judge::thresholds::{self, Outcome, Rule};
use crate::log;
use crate::report::compare::{self, Baseline};
use crate::report::html::RunContext;
use crate::report::prometheus;
use crate::report::summary::{self, Parameters, RunSummary};
use crate::runner::{Context, Control, Shared, State};
use crate::web::metrics::MetricsSource;

/// Exit code of a run whose thresholds failed (locust-plugins' checks use it).
pub const THRESHOLD_EXIT_CODE: i32 = 3;

pub struct Gates {
    rules: Vec<Rule>,
    buckets_ms: Vec<f64>,
    summary_path: Option<String>,
    /// When the test started (Unix seconds): the runner first left `ready`.
    started_at: Mutex<Option<f64>>,
    /// The `abort` rule that stopped the run.
    aborted_by: Mutex<Option<Outcome>>,
    process_start: f64,
    /// The most workers a master has known at once (they quit before the summary is written).
    workers_seen: std::sync::atomic::AtomicU64,
    /// The user classes the run uses (the summary's `user_classes`).
    classes: Mutex<Vec<String>>,
    /// `--baseline` (read at startup).
    baseline: Option<Arc<Baseline>>,
    /// `--baseline-gate`: the breach lines of the final comparison (empty: no regression).
    breaches: Mutex<Vec<String>>,
    /// The options the run's parameters are stated from.
    options: Options,
    /// The locustfiles as loaded (read from the interpreter once, with the user classes).
    locustfiles: Mutex<Option<Vec<String>>>,
    /// The capacity search's outcome (published by the search as it goes; empty when the run searches nothing).
    pub search: crate::judge::search::Handle,
    /// The capacity search the command line asks for (`--search`; checked before anything started).
    pub search_spec: Option<crate::judge::search::Spec>,
}

impl Gates {
    /// Parse the rules and bucket bounds; one line and exit 1 when they are wrong.
    pub fn new(
        options: &Options,
        search_spec: Option<crate::judge::search::Spec>,
    ) -> Result<Arc<Gates>, ExitStatus> {
        let plugin = options.checks_by_plugin || options.worker;
        let rules = thresholds::parse(
            if options.worker {
                None
            } else {
                options.thresholds.as_deref()
            },
            options.check_rps.filter(|_| !plugin),
            options.check_fail_ratio.filter(|_| !plugin),
            options.check_avg_response_time.filter(|_| !plugin),
        )
        .map_err(|e| ExitStatus::user(e, 1))?;
        let baseline = match (&options.baseline, options.worker) {
            (_, true) => None,
            (Some(path), false) => Some(Arc::new(
                Baseline::load(
                    path,
                    options.baseline_limits.as_deref(),
                    options.baseline_gate,
                )
                .map_err(|e| ExitStatus::user(e, 1))?,
            )),
            (None, false) => {
                for (given, flag) in [
                    (options.baseline_gate, "--baseline-gate"),
                    (options.baseline_limits.is_some(), "--baseline-limits"),
                ] {
                    if given {
                        return Err(ExitStatus::user(
                            format!(
                                "rlocust: {flag} needs --baseline FILE (the run to compare with)"
                            ),
                            1,
                        ));
                    }
                }
                None
            }
        };
        let buckets_ms = match &options.metrics_buckets {
            Some(text) => prometheus::parse_buckets(text).map_err(|e| ExitStatus::user(e, 1))?,
            None => prometheus::DEFAULT_BUCKETS_MS.to_vec(),
        };
        if let Some(port) = options.metrics_port
            && u16::try_from(port).is_err()
        {
            return Err(ExitStatus::user(
                format!("rlocust: --metrics-port {port} is not a port number"),
                1,
            ));
        }
        // the search's outcome, shared with the baseline (its capacity is compared with the baseline's)
        let search = crate::judge::search::Handle::default();
        if let Some(b) = &baseline {
            b.set_search(search.clone());
        }
        Ok(Arc::new(Gates {
            rules,
            buckets_ms,
            summary_path: options.summary_json.clone(),
            started_at: Mutex::new(None),
            aborted_by: Mutex::new(None),
            process_start: crate::stats::unix_now(),
            classes: Mutex::new(Vec::new()),
            workers_seen: std::sync::atomic::AtomicU64::new(0),
            baseline,
            breaches: Mutex::new(Vec::new()),
            options: options.clone(),
            locustfiles: Mutex::new(None),
            search,
            search_spec: search_spec.filter(|_| !options.worker),
        }))
    }

    /// The user classes of the run, once the locustfile is loaded.
    pub fn set_user_classes(&self, classes: Vec<String>) {
        *self.classes.lock() = classes;
        *self.locustfiles.lock() = crate::interp::locustfile_paths().ok();
    }

    /// The Prometheus source of this run (`with_requests` false on a worker).
    pub fn metrics_source(
        &self,
        shared: &Arc<Shared>,
        run: &Arc<Context>,
        node: Option<Arc<Node>>,
        options: &Options,
    ) -> Arc<MetricsSource> {
        Arc::new(MetricsSource {
            shared: shared.clone(),
            run: run.clone(),
            node,
            buckets_ms: self.buckets_ms.clone(),
            with_requests: !options.worker,
            start_time: self.process_start,
            basic_auth: options.basic_auth.clone(),
            baseline: self.baseline.clone(),
            search: self.search.clone(),
        })
    }

    /// `--metrics-port`: the listener (one line and exit 1 when it cannot bind).
    pub fn start_metrics_listener(
        &self,
        rt: &tokio::runtime::Handle,
        source: Arc<MetricsSource>,
        options: &Options,
    ) -> Result<(), ExitStatus> {
        let Some(port) = options.metrics_port else {
            return Ok(());
        };
        let port = u16::try_from(port).unwrap_or(0);
        crate::web::metrics::start_listener(
            rt,
            source,
            &options.metrics_host,
            port,
            options.web_allowed_hosts.as_deref(),
        )
        .map(|_| ())
        .map_err(|e| ExitStatus::user(e, 1))
    }

    /// Note when the test starts, and check the `abort` rules every second while it runs: the first one that
    /// fails (after its grace time) ends the run (`quit` when headless, else the test stops).
    pub fn watch(
        self: &Arc<Self>,
        rt: &tokio::runtime::Handle,
        shared: Arc<Shared>,
        run: Arc<Context>,
        quit_on_abort: bool,
        mut done: tokio::sync::watch::Receiver<bool>,
    ) {
        let gates = self.clone();
        let aborting: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| r.abort_after.is_some())
            .cloned()
            .collect();
        rt.spawn(async move {
            let mut next_check = 0.0f64;
            loop {
                let state = shared.state();
                let now = crate::stats::unix_now();
                let started = {
                    let mut s = gates.started_at.lock();
                    if s.is_none() && state != State::Ready {
                        *s = Some(now);
                    }
                    *s
                };
                if let Some(ws) = crate::web::api::master_workers(Node::get().map(|n| &**n)) {
                    gates
                        .workers_seen
                        .fetch_max(ws.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
                let running = matches!(state, State::Spawning | State::Running);
                if let Some(t0) = started
                    && running
                    && !aborting.is_empty()
                    && now >= next_check
                    && gates.aborted_by.lock().is_none()
                {
                    next_check = now + 1.0;
                    let due: Vec<Rule> = aborting
                        .iter()
                        .filter(|r| now - t0 >= r.abort_after.unwrap_or(0.0))
                        .cloned()
                        .collect();
                    if !due.is_empty() {
                        let readings = run.readings();
                        if let Some(failed) = thresholds::evaluate(&due, &readings)
                            .into_iter()
                            .find(|o| !o.passed)
                        {
                            log::log(
                                log::Level::Error,
                                "rlocust.thresholds",
                                &format!(
                                    "Threshold '{}' failed on {} ({}): aborting the test",
                                    failed.rule.text,
                                    failed.target,
                                    failed
                                        .actual
                                        .map_or("no data".to_string(), |a| format!("{a:.2}"))
                                ),
                            );
                            *gates.aborted_by.lock() = Some(failed);
                            shared.end_because(crate::runner::EndCause::Abort);
                            shared.send(if quit_on_abort {
                                Control::Quit
                            } else {
                                Control::Stop
                            });
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = done.changed() => return,
                }
            }
        });
    }

    /// Whether failures alone must not make the exit code `--exit-code-on-error` (a fail-ratio rule decides).
    pub fn tolerates_failures(&self) -> bool {
        thresholds::tolerates_failures(&self.rules)
    }

    /// `--baseline`: what the run is compared with.
    pub fn baseline(&self) -> Option<Arc<Baseline>> {
        self.baseline.clone()
    }

    /// `--baseline-gate` found a regression in the final comparison (the run exits with code 3).
    pub fn regressed(&self) -> bool {
        !self.breaches.lock().is_empty()
    }

    /// Evaluate every rule on the final statistics; logs locust-plugins' `CHECK …` lines. An aborted run keeps
    /// the failure that aborted it even if the numbers recovered by the end. Also makes the final baseline
    /// comparison (every output shows this one) and keeps `--baseline-gate`'s breaches.
    pub fn evaluate(&self, run: &Context) -> Vec<Outcome> {
        if let Some(b) = &self.baseline {
            let c = b.at_end(&run.stats.snapshot());
            if b.gate {
                *self.breaches.lock() = compare::render::breaches(&c);
            }
        }
        if self.rules.is_empty() {
            return Vec::new();
        }
        let readings = run.readings();
        let mut outcomes = thresholds::evaluate(&self.rules, &readings);
        if let Some(aborted) = self.aborted_by.lock().clone()
            && let Some(o) = outcomes.iter_mut().find(|o| o.rule == aborted.rule)
            && o.passed
        {
            *o = aborted;
        }
        for o in &outcomes {
            if let Some(line) = thresholds::check_line(o) {
                if o.passed {
                    log::log(log::Level::Debug, "root", &line);
                } else {
                    log::info("root", &line);
                }
            }
        }
        outcomes
    }

    /// The run is ending: a search still running ends as interrupted, with the probe in progress (before the final
    /// files are written).
    pub fn end_search(&self, run: &Context) {
        if self.search.outcome().is_some()
            && let Some(ended) = self.search.interrupt(&run.readings())
        {
            crate::judge::search::driver::log_interrupted(&ended);
        }
    }

    /// `--search-gate N`: the capacity found is below N (or nothing passed).
    pub fn search_below_gate(&self) -> bool {
        self.search.outcome().is_some_and(|o| o.below_gate())
    }

    /// The thresholds table (after the final statistics), then one line per request name that regressed
    /// against the baseline (errors when they fail the run, warnings otherwise).
    pub fn print_table(&self, outcomes: &[Outcome]) {
        if !outcomes.is_empty() {
            log::print_table(&thresholds::table(outcomes));
        }
        let Some(b) = &self.baseline else {
            return;
        };
        let Some(c) = b.finished() else {
            return;
        };
        let level = if b.gate {
            log::Level::Error
        } else {
            log::Level::Warning
        };
        for line in compare::render::breaches(&c) {
            log::log(
                level,
                "rlocust.baseline",
                &format!("Regression against the baseline: {line}"),
            );
        }
    }

    /// The run's parameters as the summary and the report state them (without Python: the watchdog writes the
    /// report of a run whose Python thread no longer answers).
    fn parameters(&self) -> Parameters {
        let options = &self.options;
        // every worker that took part (at the end they may have quit already)
        let workers = crate::web::api::master_workers(Node::get().map(|n| &**n)).map(|w| {
            (w.len() as u64).max(self.workers_seen.load(std::sync::atomic::Ordering::Relaxed))
        });
        Parameters {
            locustfiles: self
                .locustfiles
                .lock()
                .clone()
                .unwrap_or_else(|| vec![options.locustfile.clone()]),
            host: options.host.clone(),
            users: options.user_count(),
            spawn_rate: Some(options.spawn_rate_or_default()),
            run_time: options.run_time,
            user_classes: self.classes.lock().clone(),
            mode: if options.master {
                "master"
            } else if options.worker {
                "worker"
            } else {
                "local"
            },
            workers,
            tags: options.tags.clone(),
            exclude_tags: options.exclude_tags.clone(),
            arrival_rate: options.arrival_rate.clone(),
            python_version: crate::interp::python_version(),
        }
    }

    /// `--summary-json`: write the document (a failure to write is logged and makes a passing run exit 1, as
    /// for the other result files: returns false then).
    pub fn write_summary(
        &self,
        run: &Context,
        outcomes: &[Outcome],
        exit_code: i32,
        interrupted: bool,
        ended_by: &str,
    ) -> bool {
        let Some(path) = &self.summary_path else {
            return true;
        };
        let readings = run.readings();
        let snap = &readings.stats;
        let params = self.parameters();
        let text = summary::render(&RunSummary {
            readings: &readings,
            params,
            started_at: *self.started_at.lock(),
            ended_at: crate::stats::unix_now(),
            exit_code,
            interrupted,
            ended_by,
            outcomes,
            aborted_by: self.aborted_by.lock().as_ref().map(|o| o.rule.text.clone()),
            baseline: self
                .baseline
                .as_ref()
                .map(|b| compare::render::json(&b.at_end(snap))),
            baseline_gate: self.baseline.as_ref().is_some_and(|b| b.gate),
            search: self
                .search
                .outcome()
                .map(|o| crate::report::search::json(&o)),
        });
        let written = if path == "-" {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush())
        } else {
            std::fs::write(path, text)
        };
        match written {
            Ok(()) => true,
            Err(e) => {
                log::log(
                    log::Level::Error,
                    "rlocust.summary",
                    &format!("Cannot write --summary-json {path}: {e}"),
                );
                false
            }
        }
    }
}

/// The reports' view of the run: its parameters and its baseline comparison.
impl RunContext for Gates {
    fn run(&self) -> crate::pyfmt::json::J {
        summary::run_json(
            &self.parameters(),
            *self.started_at.lock(),
            crate::stats::unix_now(),
        )
    }

    fn comparison(&self, snap: &crate::stats::Snapshot) -> Option<crate::pyfmt::json::J> {
        let b = self.baseline.as_ref()?;
        Some(compare::render::json(&b.latest(snap)))
    }

    fn search(&self) -> Option<crate::judge::search::Outcome> {
        self.search.outcome()
    }

    fn baseline_source(&self) -> Option<crate::pyfmt::json::J> {
        use crate::pyfmt::json::J;
        let b = self.baseline.as_ref()?;
        Some(J::obj([
            ("source", b.side.source.clone().map_or(J::Null, J::Str)),
            ("format", J::str(b.side.format)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::search::Mode;
    use crate::report::search::tests::converged;

    fn gates(dir: &std::path::Path, args: &[&str]) -> Arc<Gates> {
        let env = crate::cli::Env {
            cwd: dir.to_path_buf(),
            ..Default::default()
        };
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let parsed = crate::cli::parse(&argv, &env, &[])
            .map_err(|e| e.message())
            .unwrap();
        Gates::new(&parsed.options, None)
            .map_err(|_| "gates")
            .unwrap()
    }

    fn summary(path: &std::path::Path) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// A published search reaches the summary and the baseline comparison (with its gate); a run without one
    /// has neither key.
    #[test]
    fn a_published_search_is_in_the_summary_and_the_baseline_comparison() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Context::new(Arc::new(crate::stats::RequestStats::new()));
        stats
            .stats
            .log_request("GET", "/a", Some(3.0), 10, log::now());
        let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        // the baseline run: capacity 60/s, 70/s failed
        let base = gates(dir.path(), &["--summary-json", &path("base.json")]);
        base.search.publish(converged(Mode::ArrivalRate));
        assert!(base.write_summary(&stats, &[], 0, false, "run_time"));
        let v = summary(&dir.path().join("base.json"));
        assert_eq!(v["search"]["capacity"], 60.0);
        assert_eq!(v["search"]["first_failing"]["offered"], 70.0);
        // this run: 40/s, 45/s failed — below what the baseline sustained, a regression under the gate
        let run = gates(
            dir.path(),
            &[
                "--summary-json",
                &path("run.json"),
                "--baseline",
                &path("base.json"),
                "--baseline-gate",
            ],
        );
        let mut cur = converged(Mode::ArrivalRate);
        cur.capacity = Some(40.0);
        cur.probes[5].offered = 45.0;
        run.search.publish(cur);
        run.evaluate(&stats);
        assert!(run.regressed(), "the capacity's drop fails the gate");
        assert!(run.write_summary(&stats, &[], 3, false, "run_time"));
        let v = summary(&dir.path().join("run.json"));
        assert_eq!(v["search"]["capacity"], 40.0);
        assert_eq!(v["baseline"]["capacity"]["verdict"], "regressed");
        assert_eq!(v["baseline"]["capacity"]["baseline"]["capacity"], 60.0);
        assert!(
            v["baseline"]["breaches"][0]
                .as_str()
                .unwrap()
                .starts_with("capacity: 60/s → 40/s")
        );
        // a run without a search against the same baseline: no search key, no capacity, no regression
        let plain = gates(
            dir.path(),
            &[
                "--summary-json",
                &path("plain.json"),
                "--baseline",
                &path("base.json"),
                "--baseline-gate",
            ],
        );
        plain.evaluate(&stats);
        assert!(!plain.regressed());
        assert!(plain.write_summary(&stats, &[], 0, false, "run_time"));
        let v = summary(&dir.path().join("plain.json"));
        assert!(v.get("search").is_none());
        assert!(v["baseline"].get("capacity").is_none());
        assert!(plain.search().is_none() && run.search().is_some());
    }
}
