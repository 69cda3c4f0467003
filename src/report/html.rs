//! The HTML report (reference §1.7): one self-contained page built from `webui/dist/report.html` (rlocust's own
//! report template, embedded in the binary) and the report's template args, the keys of Locust's report:
//! `requests_statistics`, `failures_statistics`, `exceptions_statistics`, `response_time_statistics`,
//! `start_time`, `end_time`, `duration`, `host`, `history`, `show_download_link`, `locustfile`, `tasks`,
//! `percentiles_to_chart`, `profile`, `is_report`.
//!
//! Also here: [`RunInfo`], what the web pages and the report know about the locustfile (handed over by the shim
//! once after `init`) and what the web form changes (host, profile, the counts behind `--html`'s placeholders).
//!
//! Who calls it: `web` (`/stats/report`, and [`RunInfo`] for the dashboard's template args) and
//! `report::outputs` (`--html FILE`, written once at shutdown, by the watchdog too). Pure Rust: it reads the
//! stats, the users through [`Users`] (the runner's state as one) and [`RunInfo`]; never Python, so a report is
//! written even when the Python thread is stuck; never `web` (it is fed, not tied).
use crate::pyfmt::json::{J, script_json};
use crate::pyfmt::{format_utc_timestamp, py_float_repr, py_round_int};
use crate::report::ui_json::{self as api, TaskTrees};
use crate::stats::history::HistoryPoint;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The report template (`make webui` builds it; `webui/README.md` describes its two placeholders).
const TEMPLATE: &str = include_str!("../../webui/dist/report.html");

/// Locust's `PERCENTILES_FOR_HTML_REPORT`.
const PERCENTILES: [f64; 8] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0];

/// One user class as the locustfile defines it (Locust's `User.json()` plus whether it is an HTTP user).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ClassInfo {
    pub name: String,
    pub host: Option<String>,
    pub weight: serde_json::Value,
    pub fixed_count: serde_json::Value,
    pub tasks: Vec<String>,
    #[serde(default)]
    pub http: bool,
}

/// The counts `--html`'s `{u}`, `{r}` and `{t}` stand for: the command line's, then the last `/swarm`'s.
#[derive(Clone, Copy, Debug, Default)]
pub struct FormCounts {
    pub users: Option<f64>,
    pub spawn_rate: Option<f64>,
    pub run_time: Option<f64>,
}

/// What the pages know about the locustfile and the run beyond the stats and the runner state.
pub struct RunInfo {
    /// Basename of the first locustfile.
    pub locustfile: String,
    /// The classes that run (`environment.user_classes`), in order (`--class-picker`: the ones picked).
    pub running_classes: Mutex<Vec<String>>,
    /// Every user class of the locustfile (`available_user_classes`), as loaded.
    pub classes: Vec<ClassInfo>,
    /// `/user` changes to a class (host, weight, fixed_count, tasks), by class name.
    pub class_edits: Mutex<BTreeMap<String, BTreeMap<String, J>>>,
    pub shape_classes: Vec<String>,
    /// The LoadTestShape the run starts with (`environment.shape_class`), and its `use_common_options`.
    pub shape: Option<String>,
    pub shape_use_common_options: Option<bool>,
    /// Locust's `ui_extra_args_dict()`: the locustfile's own options shown in the form.
    pub extra_options: J,
    pub is_host_required: bool,
    /// The user classes' task trees as loaded, and as `/user` has filtered them since.
    pub task_trees: TaskTrees,
    pub current_trees: Mutex<TaskTrees>,
    /// `environment.host` (the command line's, then the form's).
    pub host: Mutex<Option<String>>,
    /// `environment.profile`.
    pub profile: Mutex<Option<String>>,
    pub form: Mutex<FormCounts>,
    /// The locustfile made `environment.web_ui.app`: paths the server does not serve go to it.
    pub python_routes: bool,
    /// The locustfile's Flask app has its own `/metrics` route (it then wins over rlocust's).
    pub python_metrics: bool,
}

#[derive(serde::Deserialize)]
struct Described {
    #[serde(default)]
    locustfile: Option<String>,
    #[serde(default)]
    classes: TaskTrees,
    #[serde(default)]
    running_classes: Vec<String>,
    #[serde(default)]
    available_user_classes: Vec<ClassInfo>,
    #[serde(default)]
    available_shape_classes: Vec<String>,
    #[serde(default)]
    extra_options: serde_json::Value,
    #[serde(default)]
    is_host_required: bool,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    python_routes: bool,
    #[serde(default)]
    python_metrics: bool,
    #[serde(default)]
    shape: Option<String>,
    #[serde(default)]
    shape_use_common_options: Option<bool>,
}

/// A `serde_json` value with Python's int/float distinction kept.
pub fn from_serde(v: &serde_json::Value) -> J {
    use serde_json::Value as V;
    match v {
        V::Null => J::Null,
        V::Bool(b) => J::Bool(*b),
        V::Number(n) => match n.as_i64() {
            Some(i) => J::Int(i),
            None => J::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        V::String(s) => J::str(s),
        V::Array(items) => J::Arr(items.iter().map(from_serde).collect()),
        V::Object(m) => J::obj(m.iter().map(|(k, v)| (k.clone(), from_serde(v)))),
    }
}

impl RunInfo {
    /// From the shim's `web_info` JSON and the options (host, counts).
    pub fn new(described: &str, options: &crate::cli::Options) -> RunInfo {
        let d: Described = serde_json::from_str(described).unwrap_or_else(|e| {
            crate::log::warning(
                "locust.web",
                &format!("the locustfile description is not readable: {e}"),
            );
            serde_json::from_str("{}").expect("an empty description parses")
        });
        RunInfo {
            locustfile: d.locustfile.unwrap_or_default(),
            running_classes: Mutex::new(d.running_classes),
            classes: d.available_user_classes,
            class_edits: Mutex::new(BTreeMap::new()),
            shape_classes: d.available_shape_classes,
            shape: d.shape,
            shape_use_common_options: d.shape_use_common_options,
            extra_options: match d.extra_options {
                serde_json::Value::Null => J::Obj(BTreeMap::new()),
                v => from_serde(&v),
            },
            is_host_required: d.is_host_required,
            current_trees: Mutex::new(d.classes.clone()),
            task_trees: d.classes,
            host: Mutex::new(options.host.clone()),
            profile: Mutex::new(d.profile),
            form: Mutex::new(FormCounts {
                users: options.users.map(|u| u as f64),
                spawn_rate: options.spawn_rate,
                run_time: options.run_time.map(|t| t as f64),
            }),
            python_routes: d.python_routes,
            python_metrics: d.python_metrics,
        }
    }

    /// The task trees of the running classes (what Locust's ratios iterate over).
    pub fn running_trees(&self) -> TaskTrees {
        let names = self.running_classes.lock().clone();
        self.current_trees
            .lock()
            .iter()
            .filter(|(k, _)| names.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A class's host as the pages show it: the environment's host once a test has started (Locust's
    /// `runner.start()` sets it on every class), else the class's own (or what `/user` set).
    pub fn class_host(&self, class: &ClassInfo, started: bool) -> J {
        if let Some(J::Str(h)) = self
            .class_edits
            .lock()
            .get(&class.name)
            .and_then(|e| e.get("host"))
        {
            return J::str(h);
        }
        match (started, self.host.lock().clone()) {
            (true, Some(h)) if !h.is_empty() => J::Str(h),
            _ => class.host.clone().map_or(J::Null, J::Str),
        }
    }

    /// Locust's host logic (`update_template_args`, `get_html_report`): the environment's host, else the one
    /// host all running classes share. Also the two warnings of the form: (host, override, missing).
    pub fn host_and_warnings(&self, started: bool) -> (Option<String>, bool, bool) {
        if let Some(h) = self.host.lock().clone().filter(|h| !h.is_empty()) {
            return (Some(h), false, false);
        }
        let names = self.running_classes.lock().clone();
        let running: Vec<&ClassInfo> = self
            .classes
            .iter()
            .filter(|c| names.contains(&c.name))
            .collect();
        if running.is_empty() {
            return (None, false, true);
        }
        let hosts: Vec<J> = running
            .iter()
            .map(|c| self.class_host(c, started))
            .collect();
        if hosts.iter().all(|h| *h == hosts[0]) {
            let host = match &hosts[0] {
                J::Str(s) => Some(s.clone()),
                _ => None,
            };
            let missing = host.as_deref().is_none_or(str::is_empty);
            (host, false, missing)
        } else {
            let missing = !running
                .iter()
                .zip(&hosts)
                .filter(|(c, _)| c.http)
                .all(|(_, h)| matches!(h, J::Str(s) if !s.is_empty()));
            (None, true, missing)
        }
    }
}

/// Everything a report is built from.
pub struct Report {
    /// The run context: the statistics and the rest of the run's readings.
    pub run: Arc<crate::runner::Context>,
    pub users: Arc<dyn Users>,
    pub info: Arc<RunInfo>,
    /// The run's parameters and its baseline comparison (none in a library's web UI).
    pub context: Option<Arc<dyn RunContext>>,
}

/// What a report adds about the run beyond its statistics (`app::gates` provides it): its parameters (the
/// args' `run`) and, with `--baseline`, its comparison (`baseline`: `report::compare::render::json`).
pub trait RunContext: Send + Sync {
    /// The `run` object (`report::summary::run_json`).
    fn run(&self) -> J;
    /// The comparison of `snap` with the baseline: the final one once the run has ended; none without one.
    fn comparison(&self, snap: &crate::stats::Snapshot) -> Option<J>;
    /// The baseline's file and format, for the dashboard's template args.
    fn baseline_source(&self) -> Option<J>;
    /// The capacity search so far or its result (`None`: the run searches nothing).
    fn search(&self) -> Option<crate::judge::search::Outcome>;
}

/// What a report reads of the run's users each time it is built (`runner::Shared` implements it).
pub trait Users: Send + Sync {
    /// Users alive now.
    fn count(&self) -> u64;
    /// Users alive per class; once the run is stopping or stopped, the counts it had when it stopped.
    fn per_class(&self) -> BTreeMap<String, u64>;
    /// Whether a run was ever started (the runner left "ready").
    fn started(&self) -> bool;
}

/// The command line's runner state, read as [`Users`].
impl Users for crate::runner::Shared {
    fn count(&self) -> u64 {
        self.user_count()
    }

    fn per_class(&self) -> std::collections::BTreeMap<String, u64> {
        if matches!(
            self.state(),
            crate::runner::State::Stopped | crate::runner::State::Stopping
        ) {
            self.final_user_classes_count()
        } else {
            self.user_classes_count()
        }
        .into_iter()
        .collect()
    }

    fn started(&self) -> bool {
        self.state() != crate::runner::State::Ready
    }
}

/// Locust's `format_duration(start, end)`: "1 day, 2 hours and 1 second", "0 seconds".
pub fn format_duration(start: f64, end: f64) -> String {
    let secs = end.trunc() as i64 - start.trunc() as i64;
    let parts: Vec<String> = [
        (secs.div_euclid(86_400), "day"),
        (secs.rem_euclid(86_400) / 3600, "hour"),
        (secs.rem_euclid(3600) / 60, "minute"),
        (secs.rem_euclid(60), "second"),
    ]
    .iter()
    .filter(|(v, _)| *v > 0)
    .map(|(v, label)| format!("{v} {label}{}", if *v == 1 { "" } else { "s" }))
    .collect();
    match parts.split_last() {
        None => "0 seconds".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// `--html`'s file name: `{u}`, `{r}` and `{t}` replaced by the counts that are set (the int text of a whole
/// number, else Python's float text).
pub fn html_file_name(pattern: &str, counts: FormCounts) -> String {
    let text = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 1e18 {
            format!("{}", x as i64)
        } else {
            py_float_repr(x)
        }
    };
    let mut name = pattern.to_string();
    for (term, value) in [
        ("{u}", counts.users),
        ("{r}", counts.spawn_rate),
        ("{t}", counts.run_time),
    ] {
        if let Some(v) = value {
            name = name.replace(term, &text(v));
        }
    }
    name
}

impl Report {
    /// The report's template args (Locust's `get_html_report`).
    pub fn args(&self, show_download_link: bool) -> J {
        let readings = self.run.readings();
        let now = readings.taken_at;
        let snap = &readings.stats;
        let total = &snap.total;
        let start_time = format_utc_timestamp(total.totals.start_time);
        let end_ts = total
            .totals
            .last_request_timestamp
            .unwrap_or(total.totals.start_time);
        let end_time = format_utc_timestamp(end_ts);
        let entries: Vec<&crate::stats::EntrySnapshot> = snap
            .sorted_entries()
            .into_iter()
            .chain([&snap.total])
            .collect();
        let requests: Vec<J> = entries.iter().map(|e| api::stat_row(e, total)).collect();
        let percentiles: Vec<J> = entries
            .iter()
            .map(|e| {
                let mut row: Vec<(String, J)> = PERCENTILES
                    .iter()
                    .map(|&p| {
                        let v = if e.has_response_times() {
                            py_round_int(e.percentile(p))
                        } else {
                            0
                        };
                        (py_float_repr(p), J::Int(v))
                    })
                    .collect();
                row.push(("name".into(), J::str(&e.name)));
                row.push(("method".into(), J::str(&e.method)));
                J::obj(row)
            })
            .collect();
        let mut errors: Vec<(String, &crate::stats::ErrorSnapshot)> = snap
            .errors
            .iter()
            .map(|e| (crate::report::csv::error_key(e), e))
            .collect();
        errors.sort_by(|a, b| a.0.cmp(&b.0));
        let failures: Vec<J> = errors.iter().map(|(_, e)| api::error_row(e)).collect();
        let exceptions = match api::exceptions(snap) {
            J::Obj(mut m) => m.remove("exceptions").unwrap_or(J::Arr(Vec::new())),
            _ => J::Arr(Vec::new()),
        };
        // Locust appends a point stamped with the end time when the history ends before it
        let points = self.run.stats.history();
        let mut history: Vec<J> = points
            .iter()
            .map(|p| api::history_point(p, &format_utc_timestamp(p.time as f64)))
            .collect();
        if let Some(last) = points.last()
            && format_utc_timestamp(last.time as f64) < end_time
        {
            // (Locust computes it now and stamps it with the end time)
            let mut point = HistoryPoint::of_total(total, self.users.count(), now);
            point.time = end_ts.trunc() as i64;
            history.push(api::history_point(&point, &end_time));
        }
        let alive = self.users.per_class();
        let (host, _, _) = self.info.host_and_warnings(self.users.started());
        let mut args = J::obj([
            ("is_report", J::Bool(true)),
            ("requests_statistics", J::Arr(requests)),
            ("failures_statistics", J::Arr(failures)),
            ("exceptions_statistics", exceptions),
            ("response_time_statistics", J::Arr(percentiles)),
            ("start_time", J::str(&start_time)),
            ("end_time", J::str(&end_time)),
            (
                "duration",
                J::str(format_duration(total.totals.start_time, end_ts)),
            ),
            ("host", J::str(host.unwrap_or_else(|| "None".into()))),
            ("history", J::Arr(history)),
            ("show_download_link", J::Bool(show_download_link)),
            ("locustfile", J::str(&self.info.locustfile)),
            ("tasks", api::tasks(&self.info.running_trees(), &alive)),
            (
                "percentiles_to_chart",
                J::Arr(
                    crate::stats::PERCENTILES_TO_CHART
                        .iter()
                        .map(|p| J::Float(*p))
                        .collect(),
                ),
            ),
            (
                "profile",
                self.info
                    .profile
                    .lock()
                    .clone()
                    .filter(|p| !p.is_empty())
                    .map_or(J::Null, J::Str),
            ),
        ]);
        // the metric rows (`report::metrics`): only when the run has any, as the open workload's below
        if !snap.metrics.is_empty()
            && let J::Obj(m) = &mut args
        {
            m.insert("metrics".into(), super::metrics::json(snap));
        }
        // the run's parameters and its comparison with a baseline (report::compare), rlocust's own keys
        if let Some(ctx) = &self.context
            && let J::Obj(m) = &mut args
        {
            m.insert("run".into(), ctx.run());
            if let Some(c) = ctx.comparison(snap) {
                m.insert("baseline".into(), c);
            }
            // the capacity search (`report::search`): only when the run searches
            if let Some(o) = ctx.search() {
                m.insert("search".into(), super::search::json(&o));
            }
        }
        // rlocust's open workload (`report::arrivals`): only when one ran, so a closed run's args stay Locust's
        if readings.open.active
            && let J::Obj(m) = &mut args
        {
            m.insert(
                "arrivals".into(),
                super::arrivals::json(&readings.open, true),
            );
        }
        args
    }

    /// The whole page; `theme` "dark" gives the dark page, anything else the light one.
    pub fn render(&self, show_download_link: bool, theme: &str) -> String {
        let page = fill(
            &self.args(show_download_link),
            if theme == "dark" { "dark" } else { "light" },
        );
        // runs with fixed-rate users: the corrected percentiles as a static section after the page
        match crate::report::corrected::html_section(&self.run.stats.snapshot(), &PERCENTILES) {
            Some(section) => crate::report::corrected::insert_section(page, &section),
            None => page,
        }
    }

    /// `--html FILE`: the light page without a download link, parent directories created. Returns the path
    /// written, or one line saying why it could not be.
    pub fn write_file(&self, pattern: &str) -> Result<String, String> {
        let name = html_file_name(pattern, *self.info.form.lock());
        crate::log::log(
            crate::log::Level::Debug,
            "locust.main",
            &format!("Writing html report to file: {name}"),
        );
        let page = self.render(false, "light");
        let path = std::path::Path::new(&name);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot write the HTML report {name}: {e}"))?;
        }
        std::fs::write(path, page)
            .map_err(|e| format!("cannot write the HTML report {name}: {e}"))?;
        Ok(name)
    }
}

/// The template with the theme and the args filled in (each placeholder once; theme first, so the args'
/// text can hold anything).
pub fn fill(args: &J, theme: &str) -> String {
    TEMPLATE.replacen("__RLOCUST_THEME__", theme, 1).replacen(
        "__RLOCUST_TEMPLATE_ARGS__",
        &script_json(args),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Shared;
    use crate::stats::RequestStats;

    #[test]
    fn durations_read_as_locusts() {
        assert_eq!(format_duration(10.0, 10.9), "0 seconds");
        assert_eq!(format_duration(0.0, 24.0), "24 seconds");
        assert_eq!(format_duration(0.0, 65.0), "1 minute and 5 seconds");
        assert_eq!(
            format_duration(0.0, 86_400.0 + 7201.0),
            "1 day, 2 hours and 1 second"
        );
        assert_eq!(format_duration(0.5, 3600.2), "1 hour");
    }

    #[test]
    fn file_name_placeholders() {
        let c = FormCounts {
            users: Some(6.0),
            spawn_rate: Some(3.0),
            run_time: Some(25.0),
        };
        assert_eq!(
            html_file_name("report_{u}_{r}_{t}.html", c),
            "report_6_3_25.html"
        );
        let c = FormCounts {
            users: Some(6.0),
            spawn_rate: Some(0.5),
            run_time: None,
        };
        assert_eq!(html_file_name("r_{u}_{r}_{t}.html", c), "r_6_0.5_{t}.html");
    }

    /// A report of `stats` for a run of class `U` against a local host, with `context`.
    fn report_of(stats: Arc<RequestStats>, context: Option<Arc<dyn RunContext>>) -> Report {
        let (shared, _rx) = Shared::new(10.0);
        let info = RunInfo {
            locustfile: "locustfile.py".into(),
            running_classes: Mutex::new(vec!["U".into()]),
            classes: Vec::new(),
            class_edits: Mutex::new(BTreeMap::new()),
            shape_classes: Vec::new(),
            shape: None,
            shape_use_common_options: None,
            extra_options: J::Obj(BTreeMap::new()),
            is_host_required: false,
            task_trees: TaskTrees::new(),
            current_trees: Mutex::new(TaskTrees::new()),
            host: Mutex::new(Some("http://127.0.0.1:8000".into())),
            profile: Mutex::new(None),
            form: Mutex::new(FormCounts::default()),
            python_routes: false,
            python_metrics: false,
        };
        Report {
            run: crate::runner::Context::new(stats),
            users: shared,
            info: Arc::new(info),
            context,
        }
    }

    /// A one-hour test (720 history samples) with 20 request names and a failure gives a report under the
    /// issue's ~250 KB, whose history is bounded and ends at the end time.
    #[test]
    fn a_one_hour_report_stays_small() {
        let stats = Arc::new(RequestStats::new_at(1000.0));
        for i in 0..720u32 {
            let now = 1000.0 + f64::from(i) * 5.0;
            for n in 0..20 {
                stats.log_request(
                    "GET",
                    &format!("/api/items/{n}"),
                    Some(12.5 + f64::from(n)),
                    512,
                    now,
                );
            }
            stats.sample_history(100, now + 0.5);
        }
        stats.log_error(
            "GET",
            "/api/items/3",
            "HTTPError('500 Server Error')",
            4599.0,
        );
        let report = report_of(stats, None);
        let page = report.render(false, "light");
        assert!(page.len() < 250_000, "{} bytes", page.len());
        let J::Obj(args) = report.args(false) else {
            panic!("args are an object")
        };
        let J::Arr(history) = &args["history"] else {
            panic!("history is a list")
        };
        assert!(
            history.len() <= crate::stats::history::MAX_POINTS,
            "{}",
            history.len()
        );
        assert_eq!(args["duration"], J::str("59 minutes and 55 seconds"));
        assert_eq!(args["end_time"], J::str(format_utc_timestamp(4595.0)));
        eprintln!(
            "one-hour report: {} bytes, {} history points",
            page.len(),
            history.len()
        );
    }

    /// The capacity search's object is in the report's data only when the run searched.
    #[test]
    fn the_search_is_in_the_data_only_with_one() {
        struct Ctx(Option<crate::judge::search::Outcome>);
        impl RunContext for Ctx {
            fn run(&self) -> J {
                J::Null
            }
            fn comparison(&self, _: &crate::stats::Snapshot) -> Option<J> {
                None
            }
            fn baseline_source(&self) -> Option<J> {
                None
            }
            fn search(&self) -> Option<crate::judge::search::Outcome> {
                self.0.clone()
            }
        }
        let stats = Arc::new(RequestStats::new_at(1000.0));
        let o = crate::report::search::tests::converged(crate::judge::search::Mode::ArrivalRate);
        let args = |ctx: Ctx| match report_of(stats.clone(), Some(Arc::new(ctx))).args(false) {
            J::Obj(m) => m,
            _ => panic!("args are an object"),
        };
        assert!(!args(Ctx(None)).contains_key("search"));
        assert_eq!(
            args(Ctx(Some(o.clone()))).get("search"),
            Some(&crate::report::search::json(&o))
        );
    }

    #[test]
    fn the_template_has_its_two_placeholders_once() {
        assert_eq!(TEMPLATE.matches("__RLOCUST_TEMPLATE_ARGS__").count(), 1);
        assert_eq!(TEMPLATE.matches("__RLOCUST_THEME__").count(), 1);
        let page = fill(&J::obj([("x", J::str("</script>"))]), "dark");
        assert!(page.contains(
            r#"window.templateArgs = {"x": "\u003c/script\u003e"}; window.theme = "dark";"#
        ));
    }
}
