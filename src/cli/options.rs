//! [`Options`]: the typed options the Rust side reads, built once by [`super::parse`] from the merged command
//! line, config files and `LOCUST_*` variables. Everything in Rust reads these fields; the raw values
//! ([`super::Parsed::values`]) only go to Python as `environment.parsed_options`.
//!
//! Also here: what rlocust has not built yet ([`NotBuilt`], refused with one line), and the options Locust
//! itself ignores in a run ([`Options::ignored_web_options`], warned about). Plain data; no I/O.

pub use super::spec::Options;

/// Something rlocust has not built yet, asked for by an option: refused with one line, exit 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotBuilt {
    /// What is missing, e.g. `--html reports`.
    pub what: &'static str,
    /// What to do instead.
    pub instead: &'static str,
}

/// The web UI's options: they do nothing under `--headless`, in Locust as in rlocust. (`--web-allowed-hosts` is
/// not one: `--metrics-port` reads it.)
const WEB_UI_OPTIONS: [(&str, &str); 12] = [
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
    ("web_cors_origins", "--web-cors-origins"),
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

/// A port option's value as a port number, or the line that refuses it.
pub fn port(flag: &str, n: i64) -> Result<u16, String> {
    u16::try_from(n)
        .map_err(|_| format!("rlocust: {flag} must be a port number (0-65535), got {n}"))
}

impl Options {
    /// `--tls-cert` and `--tls-key` when both are set: the web UI serves HTTPS.
    pub fn tls(&self) -> Option<(String, String)> {
        self.tls_cert.clone().zip(self.tls_key.clone())
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
    use super::super::spec::{self, Kind, Ty};
    use super::super::{Env, Value, parse};
    use super::*;
    use crate::log::Level;
    use indexmap::IndexMap;
    use std::collections::BTreeSet;

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

    /// A value of this kind that no option has as its default.
    fn distinct(kind: &Kind) -> Value {
        match kind {
            Kind::Flag => Value::Bool(true),
            Kind::Single(Ty::Str | Ty::Raw | Ty::ConfigUsers) => Value::Str("x-set".into()),
            Kind::Single(Ty::LogLevel) => Value::Str("DEBUG".into()),
            Kind::Single(Ty::Int | Ty::PositiveInt | Ty::Timespan) => Value::Int(4242),
            Kind::Single(Ty::SpawnRate | Ty::Float) => Value::Float(4.5),
            Kind::Multi(_) | Kind::Positional => Value::List(vec!["x-set".into()]),
            other => panic!("{other:?} has no value"),
        }
    }

    #[test]
    fn every_declared_option_is_read_by_its_field_or_said_to_be_python_s() {
        let table = spec::table();
        let dests: Vec<&str> = table
            .iter()
            .map(|s| s.dest)
            .filter(|d| !d.is_empty())
            .collect();
        // each destination once, each either a typed field or untyped (Python's, or the parser's own)
        let mut declared: Vec<&str> = spec::FIELDS.iter().map(|(_, d)| *d).collect();
        declared.extend(
            spec::UNTYPED
                .iter()
                .map(|(d, _)| *d)
                .filter(|d| !d.is_empty()),
        );
        let mut sorted = declared.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), declared.len(), "a destination declared twice");
        let mut all = dests.clone();
        all.sort_unstable();
        assert_eq!(sorted, all);
        for (_, who) in spec::UNTYPED {
            assert!(["python", "parser"].contains(who), "{who}");
        }
        // every field reads its own destination: setting it (and nothing else) changes the options
        let defaults = parse(&[], &Env::new(std::env::temp_dir(), None), &[])
            .unwrap()
            .values;
        let base = Options::from_values(&defaults, BTreeSet::new());
        for (field, dest) in spec::FIELDS {
            let row = table.iter().find(|s| s.dest == *dest).unwrap();
            let mut values = defaults.clone();
            values.insert(dest.to_string(), distinct(&row.kind));
            assert_ne!(
                Options::from_values(&values, BTreeSet::new()),
                base,
                "field {field} does not read {dest}"
            );
        }
    }

    #[test]
    fn the_table_default_is_the_only_default() {
        // with no value at all, each field takes the default its row declares, as after a parse that filled in
        // the defaults
        let defaults = parse(&[], &Env::new(std::env::temp_dir(), None), &[])
            .unwrap()
            .values;
        assert_eq!(
            Options::from_values(&IndexMap::new(), BTreeSet::new()),
            Options::from_values(&defaults, BTreeSet::new())
        );
        let o = Options::from_values(&IndexMap::new(), BTreeSet::new());
        assert_eq!(
            (o.web_port, o.master_port, o.master_bind_port),
            (8089, 5557, 5557)
        );
        assert_eq!(
            (o.master_host.as_str(), o.metrics_host.as_str()),
            ("127.0.0.1", "127.0.0.1")
        );
        assert_eq!(
            (o.expect_workers, o.exit_code_on_error, o.stop_timeout),
            (1, 1, 0.0)
        );
        assert_eq!(
            (o.locustfile.as_str(), o.loglevel),
            ("locustfile.py", Level::Info)
        );
    }

    #[test]
    fn a_value_set_after_the_parse_reaches_python_and_the_options() {
        let mut parsed = parse(
            &["--processes".into(), "-1".into()],
            &Env::new(std::env::temp_dir(), None),
            &[],
        )
        .unwrap();
        parsed.set([("processes", Value::Int(4)), ("master", Value::Bool(true))]);
        assert_eq!(parsed.get("processes"), Some(&Value::Int(4)));
        assert_eq!(
            (parsed.options.processes, parsed.options.master),
            (Some(4), true)
        );
        assert!(
            parsed.options.given.contains("processes"),
            "what was given stays given"
        );
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
