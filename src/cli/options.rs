//! [`Options`]: the typed options the Rust side reads, built once by [`super::parse`] from the merged command
//! line, config files and `LOCUST_*` variables. Everything in Rust reads these fields; the raw values
//! ([`super::Parsed::values`]) only go to Python as `environment.parsed_options`.
//!
//! Also here: what rlocust has not built yet ([`NotBuilt`], refused with one line), and the options Locust
//! itself ignores in a run ([`Options::ignored_web_options`], warned about). Plain data; no I/O.
use super::Value;
use crate::log::Level;
use indexmap::IndexMap;
use std::collections::BTreeSet;

/// Every option rlocust acts on, with Locust's defaults already applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// `-H`; `None` when not given or empty.
    pub host: Option<String>,
    /// `-u` as given; may be negative (Locust accepts `-u -5` and fails later). `None`: not given (1 user).
    pub users: Option<i64>,
    /// `-r` (> 0 and finite when given). `None`: not given (1 per second).
    pub spawn_rate: Option<f64>,
    /// `-t` in seconds; `None` when not given or 0 (no limit, as in Locust).
    pub run_time: Option<u64>,
    /// `-s` in seconds (a Locust time span).
    pub stop_timeout: f64,
    /// `-l`.
    pub list_commands: bool,
    pub show_task_ratio: bool,
    pub show_task_ratio_json: bool,
    /// `--headless` (cleared by `--headful`).
    pub headless: bool,
    pub autostart: bool,
    /// `--autoquit N` (only with `--autostart`); `None` for Locust's -1 (never).
    pub autoquit: Option<u64>,
    /// `--web-host` (`""` and `*`: every interface).
    pub web_host: String,
    /// `--web-host-display-name`: only changes the URL logged at startup.
    pub web_host_display_name: Option<String>,
    /// `--web-port`/`-P`.
    pub web_port: i64,
    /// `--web-base-path` (`""` or a path starting with `/`; checked at startup).
    pub web_base_path: String,
    /// `--basic-auth USER:PASS` (env `RLOCUST_WEB_AUTH`): HTTP basic auth in front of the web UI.
    pub basic_auth: Option<String>,
    pub web_login: bool,
    pub class_picker: bool,
    /// `--tls-cert` and `--tls-key` when both are set.
    pub tls: Option<(String, String)>,
    /// `--print-stats`: the periodic console table in a web UI run too.
    pub print_stats: bool,
    pub master: bool,
    pub worker: bool,
    /// `--processes` when given.
    pub processes: Option<i64>,
    /// `--master-host`/`--master-port`: where a worker connects.
    pub master_host: String,
    pub master_port: i64,
    /// `--master-bind-host`/`--master-bind-port`: where a master listens (`*`: every interface).
    pub master_bind_host: String,
    pub master_bind_port: i64,
    /// `--expect-workers` (headless/autostart masters wait for this many ready workers).
    pub expect_workers: i64,
    /// `--expect-workers-max-wait` seconds (0: wait forever).
    pub expect_workers_max_wait: f64,
    pub enable_rebalancing: bool,
    /// `--csv PREFIX`.
    pub csv_prefix: Option<String>,
    /// `--csv-full-history`.
    pub csv_full_history: bool,
    pub only_summary: bool,
    pub reset_stats: bool,
    /// `--html FILE`.
    pub html_file: Option<String>,
    /// `--json`: the final statistics as JSON on stdout.
    pub json: bool,
    /// `--json-file NAME`.
    pub json_file: Option<String>,
    pub skip_log_setup: bool,
    pub loglevel: Level,
    pub logfile: Option<String>,
    pub exit_code_on_error: i32,
    /// `--otel`.
    pub otel: bool,
    /// `--check-rps`, `--check-fail-ratio`, `--check-avg-response-time` (locust-plugins' checks).
    pub check_rps: Option<f64>,
    pub check_fail_ratio: Option<f64>,
    pub check_avg_response_time: Option<f64>,
    /// The locustfile imported locust-plugins, whose `quitting` listener does the checks itself.
    pub checks_by_plugin: bool,
    /// `--thresholds` as given (parsed by `report::thresholds`).
    pub thresholds: Option<String>,
    /// `--summary-json FILE` (`-`: stdout).
    pub summary_json: Option<String>,
    /// `--csv-generator`: also write `{prefix}_generator.csv` (`stats::lateness`).
    pub csv_generator: bool,
    /// `--metrics-port`, `--metrics-host`, `--metrics-buckets`.
    pub metrics_port: Option<i64>,
    pub metrics_host: String,
    pub metrics_buckets: Option<String>,
    /// `--arrival-rate`, `--arrival-stages`, `--arrival-max-users`, `--arrival-initial-users` as given (an open workload; checked and
    /// turned into a plan by `runner::open::config`).
    pub arrival_rate: Option<String>,
    pub arrival_stages: Option<String>,
    pub max_users: Option<i64>,
    pub initial_users: Option<i64>,
    /// `-T`/`--tags` and `-E`/`--exclude-tags`.
    pub tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    /// The positional user classes (or `LOCUST_USER_CLASSES`).
    pub user_classes: Vec<String>,
    /// Destinations set on the command line, in a config file or by a `LOCUST_*` variable (not defaults).
    pub given: BTreeSet<String>,
}

/// Something rlocust has not built yet, asked for by an option: refused with one line, exit 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotBuilt {
    /// What is missing, e.g. `--html reports`.
    pub what: &'static str,
    /// What to do instead.
    pub instead: &'static str,
}

/// The web UI's options: they do nothing under `--headless`, in Locust as in rlocust.
const WEB_UI_OPTIONS: [(&str, &str); 11] = [
    ("web_host", "--web-host"),
    ("web_host_display_name", "--web-host-display-name"),
    ("web_port", "--web-port"),
    ("autoquit", "--autoquit"),
    ("web_login", "--web-login"),
    ("tls_cert", "--tls-cert"),
    ("tls_key", "--tls-key"),
    ("class_picker", "--class-picker"),
    ("build_path", "--build-path"),
    ("web_base_path", "--web-base-path"),
    ("basic_auth", "--basic-auth"),
];

/// Options whose feature is not built yet (their help says so), with what to do instead: none today
/// (`--web-login` was the last).
const NOT_BUILT: [(&str, &str, &str); 0] = [];

/// The suffix `--help` adds to the options of [`is_not_built`].
pub const NOT_BUILT_HELP: &str = " (not available in rlocust yet)";

/// Whether the option with this destination belongs to a feature rlocust has not built yet.
pub fn is_not_built(dest: &str) -> bool {
    NOT_BUILT.iter().any(|(d, _, _)| *d == dest)
}

fn flag(values: &IndexMap<String, Value>, dest: &str) -> bool {
    matches!(values.get(dest), Some(Value::Bool(true)))
}

fn text(values: &IndexMap<String, Value>, dest: &str) -> Option<String> {
    match values.get(dest) {
        Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn int(values: &IndexMap<String, Value>, dest: &str) -> Option<i64> {
    match values.get(dest) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

fn float(values: &IndexMap<String, Value>, dest: &str) -> Option<f64> {
    match values.get(dest) {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(x)) => Some(*x),
        _ => None,
    }
}

impl Options {
    /// The typed view of the parsed values (`values` holds every built-in destination with Locust's default;
    /// `given` the destinations that were set).
    pub fn from_values(values: &IndexMap<String, Value>, given: BTreeSet<String>) -> Options {
        Options {
            host: text(values, "host"),
            users: int(values, "num_users"),
            spawn_rate: float(values, "spawn_rate"),
            run_time: int(values, "run_time").filter(|t| *t > 0).map(|t| t as u64),
            stop_timeout: float(values, "stop_timeout").unwrap_or(0.0).max(0.0),
            list_commands: flag(values, "list_commands"),
            show_task_ratio: flag(values, "show_task_ratio"),
            show_task_ratio_json: flag(values, "show_task_ratio_json"),
            headless: flag(values, "headless"),
            autostart: flag(values, "autostart"),
            autoquit: int(values, "autoquit")
                .filter(|n| *n >= 0)
                .map(|n| n as u64),
            web_host: match text(values, "web_host") {
                Some(h) if h != "*" => h,
                _ => String::new(),
            },
            web_host_display_name: text(values, "web_host_display_name"),
            web_port: int(values, "web_port").unwrap_or(8089),
            web_base_path: text(values, "web_base_path").unwrap_or_default(),
            basic_auth: text(values, "basic_auth"),
            web_login: flag(values, "web_login"),
            class_picker: flag(values, "class_picker"),
            tls: text(values, "tls_cert").zip(text(values, "tls_key")),
            print_stats: flag(values, "print_stats"),
            master: flag(values, "master"),
            worker: flag(values, "worker"),
            processes: int(values, "processes"),
            master_host: text(values, "master_host").unwrap_or_else(|| "127.0.0.1".into()),
            master_port: int(values, "master_port").unwrap_or(5557),
            master_bind_host: text(values, "master_bind_host").unwrap_or_else(|| "*".into()),
            master_bind_port: int(values, "master_bind_port").unwrap_or(5557),
            expect_workers: int(values, "expect_workers").unwrap_or(1),
            expect_workers_max_wait: float(values, "expect_workers_max_wait").unwrap_or(0.0),
            enable_rebalancing: flag(values, "enable_rebalancing"),
            csv_prefix: text(values, "csv_prefix"),
            csv_full_history: flag(values, "stats_history_enabled"),
            only_summary: flag(values, "only_summary"),
            reset_stats: flag(values, "reset_stats"),
            html_file: text(values, "html_file"),
            json: flag(values, "json"),
            json_file: text(values, "json_file"),
            skip_log_setup: flag(values, "skip_log_setup"),
            loglevel: text(values, "loglevel")
                .and_then(|l| Level::parse(&l))
                .unwrap_or(Level::Info),
            logfile: text(values, "logfile"),
            exit_code_on_error: int(values, "exit_code_on_error")
                .map(|c| c as i32)
                .unwrap_or(1),
            otel: flag(values, "otel"),
            check_rps: float(values, "check_rps"),
            check_fail_ratio: float(values, "check_fail_ratio"),
            check_avg_response_time: float(values, "check_avg_response_time"),
            checks_by_plugin: false,
            thresholds: text(values, "thresholds").filter(|t| !t.trim().is_empty()),
            summary_json: text(values, "summary_json").filter(|t| !t.is_empty()),
            csv_generator: flag(values, "csv_generator"),
            metrics_port: int(values, "metrics_port"),
            metrics_host: match values.get("metrics_host") {
                Some(Value::Str(h)) if h == "*" => String::new(),
                Some(Value::Str(h)) => h.clone(),
                _ => "127.0.0.1".into(),
            },
            metrics_buckets: text(values, "metrics_buckets"),
            arrival_rate: text(values, "arrival_rate").filter(|t| !t.trim().is_empty()),
            arrival_stages: text(values, "arrival_stages").filter(|t| !t.trim().is_empty()),
            max_users: int(values, "arrival_max_users"),
            initial_users: int(values, "arrival_initial_users"),
            tags: match values.get("tags") {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            },
            exclude_tags: match values.get("exclude_tags") {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            },
            user_classes: match values.get("user_classes") {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            },
            given,
        }
    }

    /// The number of users to start: `-u`, or 1 (Locust's headless default).
    pub fn user_count(&self) -> Option<u64> {
        match self.users {
            Some(n) if n < 0 => None,
            Some(n) => Some(n as u64),
            None => Some(1),
        }
    }

    /// `-r`, or 1 per second.
    pub fn spawn_rate_or_default(&self) -> f64 {
        self.spawn_rate.unwrap_or(1.0)
    }

    /// Whether this invocation prints something and exits instead of running a test.
    pub fn runs_no_test(&self) -> bool {
        self.list_commands || self.show_task_ratio || self.show_task_ratio_json
    }

    /// The first feature this run asks for that rlocust has not built yet, in the order a user should hear
    /// about them (the mode of the run, then its interface, then its outputs).
    pub fn not_built(&self) -> Option<NotBuilt> {
        if self.runs_no_test() {
            return None; // -l and --show-task-ratio print and exit before any of these matter, as in Locust
        }
        NOT_BUILT
            .iter()
            .find(|(dest, _, _)| self.given.contains(*dest))
            .map(|&(_, what, instead)| NotBuilt { what, instead })
    }

    /// The web UI options that were set although `--headless` runs no web UI (Locust ignores them too).
    pub fn ignored_web_options(&self) -> Vec<&'static str> {
        if !self.headless {
            return Vec::new();
        }
        WEB_UI_OPTIONS
            .iter()
            .filter(|(dest, _)| self.given.contains(*dest))
            .map(|(_, flag)| *flag)
            .collect()
    }

    /// `-u`, `-r` and `-t` as Locust names them when a shape without `use_common_options` ignores them:
    /// those with a true value (Locust tests `getattr(options, opt)`).
    pub fn common_options_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        if self.users.is_some_and(|u| u != 0) {
            set.push("--users");
        }
        if self.spawn_rate.is_some() {
            set.push("--spawn-rate");
        }
        if self.run_time.is_some() {
            set.push("--run-time");
        }
        set
    }
}

impl std::fmt::Display for NotBuilt {
    /// The refusal line: what is not available yet and what to do instead.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rlocust: {} is not available yet; {}",
            self.what, self.instead
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Env, parse};
    use super::*;

    fn options(args: &[&str]) -> Options {
        let argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        parse(&argv, &Env::new(std::env::temp_dir(), None), &[])
            .unwrap_or_else(|e| panic!("{args:?}: {}", e.message()))
            .options
    }

    #[test]
    fn typed_values_and_defaults() {
        let o = options(&["--headless"]);
        assert_eq!((o.users, o.spawn_rate, o.run_time), (None, None, None));
        assert_eq!((o.user_count(), o.spawn_rate_or_default()), (Some(1), 1.0));
        assert_eq!((o.stop_timeout, o.exit_code_on_error), (0.0, 1));
        assert_eq!(o.loglevel, Level::Info);
        assert!(o.headless && o.given.contains("headless") && !o.given.contains("web_port"));
        let o = options(&[
            "-u",
            "5",
            "-r",
            "2.5",
            "-t",
            "1m",
            "-s",
            "90s",
            "-L",
            "debug",
            "--csv",
            "out/r",
            "--csv-full-history",
            "--json-file",
            "j",
            "--exit-code-on-error",
            "3",
            "A",
            "B",
        ]);
        assert_eq!(
            (o.users, o.spawn_rate, o.run_time),
            (Some(5), Some(2.5), Some(60))
        );
        assert_eq!((o.stop_timeout, o.loglevel), (90.0, Level::Debug));
        assert_eq!(o.csv_prefix.as_deref(), Some("out/r"));
        assert!(o.csv_full_history && !o.json);
        assert_eq!(
            (o.json_file.as_deref(), o.exit_code_on_error),
            (Some("j"), 3)
        );
        assert_eq!(o.user_classes, ["A", "B"]);
        // -t 0 means no limit; -u -1 is accepted here and refused by the run
        let o = options(&["-t", "0", "-u", "-1"]);
        assert_eq!((o.run_time, o.user_count()), (None, None));
    }

    #[test]
    fn what_is_not_built_is_refused_in_a_fixed_order() {
        let what = |args: &[&str]| options(args).not_built().map(|n| n.what);
        assert_eq!(what(&["--headless"]), None);
        assert_eq!(what(&[]), None);
        assert_eq!(what(&["--headless", "--headful"]), None);
        assert_eq!(what(&["--autostart"]), None);
        assert_eq!(what(&["--headless", "--autostart"]), None);
        assert_eq!(what(&["--web-login"]), None);
        assert_eq!(what(&["--headless", "--web-login"]), None);
        assert_eq!(what(&["--class-picker"]), None);
        assert_eq!(what(&["--headless", "--html", "r.html"]), None);
        assert_eq!(what(&["--headless", "--otel"]), None);
        // distributed mode runs
        assert_eq!(what(&["--master", "--html", "r.html"]), None);
        assert_eq!(what(&["--worker", "--headless"]), None);
        assert_eq!(what(&["--processes", "-1", "--headless"]), None);
        // commands that print and exit run no test, so nothing is missing
        assert_eq!(what(&["-l"]), None);
        assert_eq!(what(&["--show-task-ratio", "--html", "x"]), None);
    }

    #[test]
    fn web_options_under_headless_are_named_once_each() {
        let o = options(&[
            "--headless",
            "-P",
            "9000",
            "--web-port",
            "9001",
            "--web-login",
        ]);
        assert_eq!(o.ignored_web_options(), ["--web-port", "--web-login"]);
        assert!(options(&["--headless"]).ignored_web_options().is_empty());
        let env = Env::new(std::env::temp_dir(), None).var("LOCUST_WEB_HOST", "0.0.0.0");
        let parsed = parse(&["--headless".to_string()], &env, &[]).unwrap();
        assert_eq!(parsed.options.ignored_web_options(), ["--web-host"]);
    }

    #[test]
    fn common_options_a_shape_ignores() {
        assert!(options(&["-u", "0"]).common_options_set().is_empty());
        assert_eq!(
            options(&["-u", "3", "-r", "1", "-t", "5"]).common_options_set(),
            ["--users", "--spawn-rate", "--run-time"]
        );
    }

    #[test]
    fn help_marks_what_is_not_built() {
        let help = super::super::help_text_width(&[], 200);
        // An option's entry: its first line and the indented lines of its description.
        let line = |flag: &str| {
            let lines: Vec<&str> = help.lines().collect();
            let start = lines
                .iter()
                .position(|l| l.starts_with("  ") && l.trim_start().starts_with(flag))
                .unwrap_or_else(|| panic!("no {flag} in help:\n{help}"));
            let rest = lines[start + 1..]
                .iter()
                .take_while(|l| l.starts_with("   ") && !l.trim_start().starts_with('-'));
            std::iter::once(lines[start])
                .chain(rest.copied())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(!line("--web-login").contains(NOT_BUILT_HELP));
        assert!(
            !line("--otel").contains(NOT_BUILT_HELP),
            "{}",
            line("--otel")
        );
        for flag in [
            "--headless",
            "--csv ",
            "-u ",
            "--json-file",
            "--web-port",
            "--autostart",
            "--basic-auth",
            "--class-picker",
            "--html",
            "--master ",
            "--worker",
            "--processes",
            "--expect-workers ",
        ] {
            assert!(!line(flag).contains(NOT_BUILT_HELP), "{}", line(flag));
        }
    }
}
