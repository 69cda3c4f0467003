//! The option table: every built-in option of Locust 2.47 (reference §4.1) as data, in Locust's declaration
//! order. The order matters: it is the order of `parsed_options`, of the environment-variable pass, of the
//! candidates listed in an "ambiguous option" error and of the help groups.
//!
//! Option names, destinations, defaults, metavars, environment variables and group titles are Locust's
//! interface; the help sentences are rlocust's own wording.

/// How an option converts its text (Locust's argparse `type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Kept as text.
    Str,
    /// Python `int()`.
    Int,
    /// `int()` that must be >= 1 (`--expect-workers`).
    PositiveInt,
    /// `float()` that must be finite and > 0 (`-r`).
    SpawnRate,
    /// Python `float()` (locust-plugins' `--check-*` options).
    Float,
    /// A Locust time span (`-t`, `-s`).
    Timespan,
    /// Upper-cased and checked against the log levels.
    LogLevel,
    /// A JSON user configuration or the path of a `.json` file.
    ConfigUsers,
    /// A locustfile's own option: left for Python's argparse to convert.
    Raw,
}

/// What an option does when it is met (argparse's action and nargs).
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `store_true`.
    Flag,
    /// One value.
    Single(Ty),
    /// `nargs="*"`.
    Multi(Ty),
    /// The positional user-class list (`nargs="*"`).
    Positional,
    /// Prints the help and exits.
    Help,
    /// Prints the version and exits.
    Version,
    /// A removed option whose use is an error; `takes_value` tells whether it takes one value.
    Reject {
        message: &'static str,
        takes_value: bool,
    },
}

/// A default value of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Def {
    None,
    False,
    Int(i64),
    Str(&'static str),
    /// Converted by the option's type, as argparse does for string defaults (`-s` has `"0"`).
    Typed(&'static str),
    /// The positional list: `LOCUST_USER_CLASSES` split on whitespace.
    UserClassesEnv,
}

/// Help groups, in the order the help shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Common,
    WebUi,
    Master,
    Worker,
    Tag,
    Stats,
    Logging,
    Other,
    UserClasses,
}

impl Group {
    pub const ALL: [Group; 9] = [
        Group::Common,
        Group::WebUi,
        Group::Master,
        Group::Worker,
        Group::Tag,
        Group::Stats,
        Group::Logging,
        Group::Other,
        Group::UserClasses,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Common => "Common options",
            Group::WebUi => "Web UI options",
            Group::Master => "Master options",
            Group::Worker => "Worker options",
            Group::Tag => "Tag options",
            Group::Stats => "Request statistics options",
            Group::Logging => "Logging options",
            Group::Other => "Other options",
            Group::UserClasses => "User classes",
        }
    }

    /// The text under the title (shown as written, line breaks kept).
    pub fn description(self) -> Option<&'static str> {
        match self {
            Group::Master => Some(
                "Settings for the master node of a distributed run. A master needs workers to connect to it before it can run a test.",
            ),
            Group::Worker => Some(
                "Settings for a worker node of a distributed run.\nA worker usually needs only these options (and --locustfile); -u, -r, -t and the like come from the master.",
            ),
            Group::Tag => Some(
                "Tasks can be labelled with the @tag decorator. These options choose which tagged tasks run.",
            ),
            _ => None,
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct OptSpec {
    /// Option strings in Locust's order (empty for the positional).
    pub flags: &'static [&'static str],
    /// Attribute name on `parsed_options`; empty for help and version, which store nothing.
    pub dest: &'static str,
    pub kind: Kind,
    pub default: Def,
    pub env: Option<&'static str>,
    pub group: Group,
    pub metavar: Option<&'static str>,
    /// `None` hides the option from the help.
    pub help: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
const fn o(
    flags: &'static [&'static str],
    dest: &'static str,
    kind: Kind,
    default: Def,
    env: Option<&'static str>,
    group: Group,
    metavar: Option<&'static str>,
    help: Option<&'static str>,
) -> OptSpec {
    OptSpec {
        flags,
        dest,
        kind,
        default,
        env,
        group,
        metavar,
        help,
    }
}

use Def as D;
use Group as G;
use Kind as K;

/// Every built-in option, in Locust's declaration order.
pub fn table() -> Vec<OptSpec> {
    vec![
        o(
            &["-h", "--help"],
            "",
            K::Help,
            D::None,
            None,
            G::Common,
            None,
            Some("Show this help text and exit."),
        ),
        o(
            &["-f", "--locustfile"],
            "locustfile",
            K::Single(Ty::Str),
            D::Str("locustfile.py"),
            Some("LOCUST_LOCUSTFILE"),
            G::Common,
            Some("<filename>"),
            Some(
                "The Python file with the test, e.g. 'my_test.py'. Several .py files separated by commas, a package or directory, or the URL of a locustfile to download also work. Defaults to 'locustfile.py'.",
            ),
        ),
        o(
            &["--config"],
            "config",
            K::Single(Ty::Str),
            D::None,
            None,
            G::Common,
            Some("<filename>"),
            Some(
                "Read more settings from this file (keys are the long option names without the dashes).",
            ),
        ),
        o(
            &["-H", "--host"],
            "host",
            K::Single(Ty::Str),
            D::None,
            Some("LOCUST_HOST"),
            G::Common,
            Some("<base url>"),
            Some("Base URL of the system under test, e.g. https://www.example.com"),
        ),
        o(
            &["-u", "--users"],
            "num_users",
            K::Single(Ty::Int),
            D::None,
            Some("LOCUST_USERS"),
            G::Common,
            Some("<int>"),
            Some(
                "Peak number of simultaneous users, mostly used with --headless or --autostart. During a test the keys w and W add 1 or 10 users, s and S remove 1 or 10.",
            ),
        ),
        o(
            &["-r", "--spawn-rate"],
            "spawn_rate",
            K::Single(Ty::SpawnRate),
            D::None,
            Some("LOCUST_SPAWN_RATE"),
            G::Common,
            Some("<float>"),
            Some("How many users to start per second, mostly used with --headless or --autostart."),
        ),
        o(
            &["-t", "--run-time"],
            "run_time",
            K::Single(Ty::Timespan),
            D::None,
            Some("LOCUST_RUN_TIME"),
            G::Common,
            Some("<time string>"),
            Some(
                "Stop the test after this long, e.g. 300s, 20m, 3h or 1h30m. Only used with --headless or --autostart. Without it the test runs until it is stopped.",
            ),
        ),
        o(
            &["-l", "--list"],
            "list_commands",
            K::Flag,
            D::False,
            None,
            G::Common,
            None,
            Some("List the available User classes and exit."),
        ),
        o(
            &["--config-users"],
            "config_users",
            K::Multi(Ty::ConfigUsers),
            D::None,
            Some("LOCUST_CONFIG_USERS"),
            G::Common,
            None,
            Some(
                "Per-class user settings as JSON: an object, an array of objects or the path of a .json file. Several may be given.",
            ),
        ),
        o(
            &["--web-host"],
            "web_host",
            K::Single(Ty::Str),
            D::Str(""),
            Some("LOCUST_WEB_HOST"),
            G::WebUi,
            Some("<ip>"),
            Some("Interface the web UI listens on. Defaults to '*' (every interface)."),
        ),
        o(
            &["--web-host-display-name"],
            "web_host_display_name",
            K::Single(Ty::Str),
            D::None,
            Some("LOCUST_WEB_HOST_DISPLAY_NAME"),
            G::WebUi,
            None,
            None,
        ),
        o(
            &["--web-port", "-P"],
            "web_port",
            K::Single(Ty::Int),
            D::Int(8089),
            Some("LOCUST_WEB_PORT"),
            G::WebUi,
            Some("<port number>"),
            Some("Port the web UI listens on."),
        ),
        o(
            &["--headless"],
            "headless",
            K::Flag,
            D::False,
            Some("LOCUST_HEADLESS"),
            G::WebUi,
            None,
            Some(
                "Run without the web UI and start the test at once; -u and -t control the user count and run time.",
            ),
        ),
        o(
            &["--autostart"],
            "autostart",
            K::Flag,
            D::False,
            Some("LOCUST_AUTOSTART"),
            G::WebUi,
            None,
            Some("Start the test at once, like --headless, but keep the web UI."),
        ),
        o(
            &["--autoquit"],
            "autoquit",
            K::Single(Ty::Int),
            D::Int(-1),
            Some("LOCUST_AUTOQUIT"),
            G::WebUi,
            Some("<seconds>"),
            Some(
                "With --autostart, exit completely this many seconds after the test has finished. By default the process keeps running until you stop it with CTRL+C.",
            ),
        ),
        o(
            &["--headful"],
            "headful",
            K::Flag,
            D::False,
            Some("LOCUST_HEADFUL"),
            G::WebUi,
            None,
            None,
        ),
        o(
            &["--web-auth"],
            "web_auth",
            K::Reject {
                message: "The --web-auth parameters has been replaced with --web-login. See https://docs.locust.io/en/stable/extending-locust.html#authentication for details",
                takes_value: true,
            },
            D::None,
            Some("LOCUST_WEB_AUTH"),
            G::WebUi,
            Some("<username:password>"),
            None,
        ),
        o(
            &["--web-login"],
            "web_login",
            K::Flag,
            D::False,
            Some("LOCUST_WEB_LOGIN"),
            G::WebUi,
            None,
            Some("Put a login page in front of the web UI."),
        ),
        o(
            &["--tls-cert"],
            "tls_cert",
            K::Single(Ty::Str),
            D::Str(""),
            Some("LOCUST_TLS_CERT"),
            G::WebUi,
            Some("<filename>"),
            Some(
                "TLS certificate file for serving the web UI over HTTPS (together with --tls-key).",
            ),
        ),
        o(
            &["--tls-key"],
            "tls_key",
            K::Single(Ty::Str),
            D::Str(""),
            Some("LOCUST_TLS_KEY"),
            G::WebUi,
            Some("<filename>"),
            Some(
                "TLS private key file for serving the web UI over HTTPS (together with --tls-cert).",
            ),
        ),
        o(
            &["--class-picker"],
            "class_picker",
            K::Flag,
            D::False,
            Some("LOCUST_USERCLASS_PICKER"),
            G::WebUi,
            None,
            Some("Let the web UI choose among all the available User and Shape classes."),
        ),
        o(
            &["--build-path"],
            "build_path",
            K::Single(Ty::Str),
            D::Str(""),
            Some("LOCUST_BUILD_PATH"),
            G::WebUi,
            None,
            None,
        ),
        o(
            &["--legacy-ui"],
            "legacy_ui",
            K::Reject {
                message: "--legacy-ui is no longer supported, remove the parameter to continue",
                takes_value: false,
            },
            D::False,
            Some("LOCUST_LEGACY_UI"),
            G::WebUi,
            None,
            None,
        ),
        o(
            &["--master"],
            "master",
            K::Flag,
            D::False,
            Some("LOCUST_MODE_MASTER"),
            G::Master,
            None,
            Some("Run as the master node of a distributed test; workers connect to it."),
        ),
        o(
            &["--master-bind-host"],
            "master_bind_host",
            K::Single(Ty::Str),
            D::Str("*"),
            Some("LOCUST_MASTER_BIND_HOST"),
            G::Master,
            Some("<ip>"),
            Some(
                "Address the master listens on, e.g. '192.168.1.1'. Defaults to * (every interface).",
            ),
        ),
        o(
            &["--master-bind-port"],
            "master_bind_port",
            K::Single(Ty::Int),
            D::Int(5557),
            Some("LOCUST_MASTER_BIND_PORT"),
            G::Master,
            Some("<port number>"),
            Some("Port the master listens on. Defaults to 5557."),
        ),
        o(
            &["--expect-workers"],
            "expect_workers",
            K::Single(Ty::PositiveInt),
            D::Int(1),
            Some("LOCUST_EXPECT_WORKERS"),
            G::Master,
            Some("<int>"),
            Some(
                "With --headless or --autostart, wait for this many workers to connect before starting the test.",
            ),
        ),
        o(
            &["--expect-workers-max-wait"],
            "expect_workers_max_wait",
            K::Single(Ty::Int),
            D::Int(0),
            Some("LOCUST_EXPECT_WORKERS_MAX_WAIT"),
            G::Master,
            Some("<int>"),
            Some(
                "Seconds the master waits for the workers to connect before giving up. By default it waits forever.",
            ),
        ),
        o(
            &["--enable-rebalancing"],
            "enable_rebalancing",
            K::Flag,
            D::False,
            None,
            G::Master,
            None,
            Some("Redistribute the users when workers join or leave during a test. Experimental."),
        ),
        o(
            &["--expect-slaves"],
            "expect_slaves",
            K::Reject {
                message: "The --expect-slaves parameter has been renamed --expect-workers",
                takes_value: false,
            },
            D::None,
            None,
            G::Master,
            None,
            None,
        ),
        o(
            &["--worker"],
            "worker",
            K::Flag,
            D::False,
            Some("LOCUST_MODE_WORKER"),
            G::Worker,
            None,
            Some(
                "Run as a worker of a distributed test. With --locustfile - the locustfile is fetched from the master.",
            ),
        ),
        o(
            &["--processes"],
            "processes",
            K::Single(Ty::Int),
            D::None,
            Some("LOCUST_PROCESSES"),
            G::Worker,
            Some("<int>"),
            Some(
                "Fork this many processes (-1: one per CPU core). Combine it with --worker, or let it start a master and its workers by itself. Not available on Windows. Experimental.",
            ),
        ),
        o(
            &["--slave"],
            "slave",
            K::Reject {
                message: "The --slave parameter has been renamed --worker",
                takes_value: false,
            },
            D::None,
            None,
            G::Worker,
            None,
            None,
        ),
        o(
            &["--master-host"],
            "master_host",
            K::Single(Ty::Str),
            D::Str("127.0.0.1"),
            Some("LOCUST_MASTER_NODE_HOST"),
            G::Worker,
            Some("<hostname>"),
            Some("Host name or address of the master to connect to. Defaults to 127.0.0.1."),
        ),
        o(
            &["--master-port"],
            "master_port",
            K::Single(Ty::Int),
            D::Int(5557),
            Some("LOCUST_MASTER_NODE_PORT"),
            G::Worker,
            Some("<port number>"),
            Some("Port of the master to connect to. Defaults to 5557."),
        ),
        o(
            &["--web-base-path"],
            "web_base_path",
            K::Single(Ty::Str),
            D::Str(""),
            Some("LOCUST_WEB_BASE_PATH"),
            G::WebUi,
            None,
            Some(
                "Path prefix of the web UI, e.g. '/locust'. Empty by default (served at the root).",
            ),
        ),
        o(
            &["-T", "--tags"],
            "tags",
            K::Multi(Ty::Str),
            D::None,
            Some("LOCUST_TAGS"),
            G::Tag,
            Some("<tag>"),
            Some("Run only the tasks that have at least one of these tags."),
        ),
        o(
            &["-E", "--exclude-tags"],
            "exclude_tags",
            K::Multi(Ty::Str),
            D::None,
            Some("LOCUST_EXCLUDE_TAGS"),
            G::Tag,
            Some("<tag>"),
            Some("Skip the tasks that have any of these tags."),
        ),
        o(
            &["--csv"],
            "csv_prefix",
            K::Single(Ty::Str),
            D::None,
            Some("LOCUST_CSV"),
            G::Stats,
            Some("<filename>"),
            Some(
                "Write the request statistics as CSV files named after this prefix: <prefix>_stats.csv, <prefix>_stats_history.csv and <prefix>_failures.csv. Missing directories in the prefix are created.",
            ),
        ),
        o(
            &["--csv-full-history"],
            "stats_history_enabled",
            K::Flag,
            D::False,
            Some("LOCUST_CSV_FULL_HISTORY"),
            G::Stats,
            None,
            Some(
                "Write every stats entry to the _stats_history.csv file, not only the aggregated one. Needs --csv.",
            ),
        ),
        o(
            &["--print-stats"],
            "print_stats",
            K::Flag,
            D::False,
            Some("LOCUST_PRINT_STATS"),
            G::Stats,
            None,
            Some("Print the stats table periodically in web UI runs too."),
        ),
        o(
            &["--only-summary"],
            "only_summary",
            K::Flag,
            D::False,
            Some("LOCUST_ONLY_SUMMARY"),
            G::Stats,
            None,
            Some(
                "In --headless runs, print only the final summary instead of the periodic stats tables.",
            ),
        ),
        o(
            &["--reset-stats"],
            "reset_stats",
            K::Flag,
            D::False,
            Some("LOCUST_RESET_STATS"),
            G::Stats,
            None,
            Some(
                "Reset the statistics once every user has been spawned. In a distributed run set it on the master and the workers.",
            ),
        ),
        o(
            &["--html"],
            "html_file",
            K::Single(Ty::Str),
            D::None,
            Some("LOCUST_HTML"),
            G::Stats,
            Some("<filename>"),
            Some(
                "Write an HTML report to this file. {u}, {r} and {t} in the name become the user count, spawn rate and run time.",
            ),
        ),
        o(
            &["--json"],
            "json",
            K::Flag,
            D::False,
            None,
            G::Stats,
            None,
            Some(
                "Print the final statistics as JSON on stdout, for other programs to read. With --headless and --skip-log the output is only the JSON.",
            ),
        ),
        o(
            &["--json-file"],
            "json_file",
            K::Single(Ty::Str),
            D::None,
            None,
            G::Stats,
            Some("<filename>"),
            Some(
                "Write the final statistics as JSON to this file (.json is appended to the name).",
            ),
        ),
        o(
            &["--skip-log-setup"],
            "skip_log_setup",
            K::Flag,
            D::False,
            Some("LOCUST_SKIP_LOG_SETUP"),
            G::Logging,
            None,
            Some("Leave logging alone, so the locustfile or Python's defaults configure it."),
        ),
        o(
            &["--loglevel", "-L"],
            "loglevel",
            K::Single(Ty::LogLevel),
            D::Str("INFO"),
            Some("LOCUST_LOGLEVEL"),
            G::Logging,
            Some("<level>"),
            Some("Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL. Defaults to INFO."),
        ),
        o(
            &["--logfile"],
            "logfile",
            K::Single(Ty::Str),
            D::None,
            Some("LOCUST_LOGFILE"),
            G::Logging,
            Some("<filename>"),
            Some("Write the log to this file instead of stderr."),
        ),
        o(
            &["--show-task-ratio"],
            "show_task_ratio",
            K::Flag,
            D::False,
            None,
            G::Other,
            None,
            Some(
                "Print a table of the User classes' task execution ratios and exit. Give a non-zero -u when some classes set fixed_count.",
            ),
        ),
        o(
            &["--show-task-ratio-json"],
            "show_task_ratio_json",
            K::Flag,
            D::False,
            None,
            G::Other,
            None,
            Some(
                "Print the task execution ratios as JSON and exit. Give a non-zero -u when some classes set fixed_count.",
            ),
        ),
        o(
            &["--version", "-V"],
            "",
            K::Version,
            D::None,
            None,
            G::Other,
            None,
            Some("Print the version and exit."),
        ),
        o(
            &["--exit-code-on-error"],
            "exit_code_on_error",
            K::Single(Ty::Int),
            D::Int(1),
            Some("LOCUST_EXIT_CODE_ON_ERROR"),
            G::Other,
            Some("<int>"),
            Some("Process exit code when the test had any failure or error. Defaults to 1."),
        ),
        o(
            &["-s", "--stop-timeout"],
            "stop_timeout",
            K::Single(Ty::Timespan),
            D::Typed("0"),
            Some("LOCUST_STOP_TIMEOUT"),
            G::Other,
            Some("<number>"),
            Some(
                "How long a stopping user may go on with its current task before it is killed. By default users stop at once. In a distributed run only the master needs it.",
            ),
        ),
        o(
            &["--equal-weights"],
            "equal_weights",
            K::Flag,
            D::False,
            None,
            G::Other,
            None,
            Some("Give every task the same weight, whatever the locustfile says."),
        ),
        o(
            &["--profile"],
            "profile",
            K::Single(Ty::Str),
            D::None,
            None,
            G::Other,
            None,
            Some("A profile name that groups test runs together."),
        ),
        o(
            &["--otel"],
            "otel",
            K::Flag,
            D::False,
            Some("LOCUST_ENABLE_OPENTELEMETRY"),
            G::Other,
            None,
            Some("Instrument the test run with OpenTelemetry."),
        ),
        // Not in Locust itself: locust-plugins adds it (reference §3.10), after Locust's own options.
        o(
            &["-i", "--iterations"],
            "iterations",
            K::Single(Ty::Int),
            D::Int(0),
            Some("LOCUST_ITERATIONS"),
            G::Other,
            None,
            Some(
                "Stop after this many task runs in total (0: no limit): once they have started, each user stops when it would start another task, and the test ends when the last one has stopped.",
            ),
        ),
        // Not in Locust: rlocust's protection of the web UI (Locust's --web-login needs Flask-Login and code in the
        // locustfile; its --web-auth was removed and stays an error).
        o(
            &["--basic-auth"],
            "basic_auth",
            K::Single(Ty::Str),
            D::None,
            Some("RLOCUST_WEB_AUTH"),
            G::WebUi,
            Some("<username:password>"),
            Some(
                "Require HTTP basic authentication with this user name and password for every page and API call of the web UI (or set RLOCUST_WEB_AUTH).",
            ),
        ),
        // Not in Locust: HTTP/2 for HttpUser and FastHttpUser (a user class's `http2` attribute wins over it).
        o(
            &["--http2"],
            "http2",
            K::Flag,
            D::False,
            Some("RLOCUST_HTTP2"),
            G::Other,
            None,
            Some(
                "Speak HTTP/2 where the server does: ALPN h2 over TLS (HTTP/1.1 when the server picks it), prior-knowledge h2c for http:// URLs. One multiplexed connection per user and host. A user class's http2 attribute overrides it.",
            ),
        ),
        // Not in Locust: locust-plugins' checks (exit code 3 when one fails), built in. When the locustfile
        // imports locust_plugins, its own options are these (same dests) and the plugin does the checking.
        o(
            &["--check-rps"],
            "check_rps",
            K::Single(Ty::Float),
            D::None,
            Some("LOCUST_CHECK_RPS"),
            G::Other,
            None,
            Some("Exit with code 3 if the run's average requests per second was below this."),
        ),
        o(
            &["--check-fail-ratio"],
            "check_fail_ratio",
            K::Single(Ty::Float),
            D::None,
            Some("LOCUST_CHECK_FAIL_RATIO"),
            G::Other,
            None,
            Some(
                "Exit with code 3 if the ratio of failed requests (0.0-1.0) was above this; failures alone then do not make the exit code 1.",
            ),
        ),
        o(
            &["--check-avg-response-time"],
            "check_avg_response_time",
            K::Single(Ty::Float),
            D::None,
            Some("LOCUST_CHECK_AVG_RESPONSE_TIME"),
            G::Other,
            None,
            Some("Exit with code 3 if the average response time (ms) was above this."),
        ),
        // Not in Locust: thresholds, Prometheus and the run summary (docs/observability.md).
        o(
            &["--thresholds"],
            "thresholds",
            K::Single(Ty::Str),
            D::None,
            Some("RLOCUST_THRESHOLDS"),
            G::Other,
            Some("<rules>"),
            Some(
                "Pass/fail rules separated by ';', e.g. 'p95<500; fail_ratio<0.01; GET /login: p99<800 abort=30s'. Metrics: p50..p99.9, avg, min, max, fail_ratio, rps, requests, failures; a 'NAME:' prefix (optionally 'METHOD NAME:') limits a rule to those rows. A failed rule prints in the thresholds table and exits with code 3; 'abort' stops the run as soon as it fails (after an optional grace time).",
            ),
        ),
        o(
            &["--summary-json"],
            "summary_json",
            K::Single(Ty::Str),
            D::None,
            Some("RLOCUST_SUMMARY_JSON"),
            G::Stats,
            Some("<filename>"),
            Some(
                "Write a machine-readable summary of the run (parameters, totals, percentiles, thresholds, exit code; schema in docs/observability.md) to this file at the end ('-' for stdout).",
            ),
        ),
        o(
            &["--csv-generator"],
            "csv_generator",
            K::Flag,
            D::False,
            Some("RLOCUST_CSV_GENERATOR"),
            G::Stats,
            None,
            Some(
                "With --csv, also write PREFIX_generator.csv: how late this generator itself was (response bytes waiting in sockets, responses waiting for Python, users resuming late after their waits), as percentiles in ms.",
            ),
        ),
        o(
            &["--metrics-port"],
            "metrics_port",
            K::Single(Ty::Int),
            D::None,
            Some("RLOCUST_METRICS_PORT"),
            G::Stats,
            Some("<port>"),
            Some(
                "Serve Prometheus metrics at http://<metrics-host>:<port>/metrics (the web UI always serves them at /metrics).",
            ),
        ),
        o(
            &["--metrics-host"],
            "metrics_host",
            K::Single(Ty::Str),
            D::Str("127.0.0.1"),
            Some("RLOCUST_METRICS_HOST"),
            G::Stats,
            Some("<ip>"),
            Some(
                "Interface --metrics-port listens on ('' or '*' for all). --basic-auth protects it too.",
            ),
        ),
        o(
            &["--metrics-buckets"],
            "metrics_buckets",
            K::Single(Ty::Str),
            D::None,
            Some("RLOCUST_METRICS_BUCKETS"),
            G::Stats,
            Some("<ms,ms,...>"),
            Some(
                "Bucket bounds (ms) of the response-time histogram in /metrics. Default 1,2.5,5,10,25,50,75,100,150,200,300,500,750,1000,1500,2000,3000,5000,10000,30000,60000.",
            ),
        ),
        // Not in Locust: the open workload model (issue 31; runner::open, docs/performance.md).
        o(
            &["--arrival-rate"],
            "arrival_rate",
            K::Single(Ty::Str),
            D::None,
            Some("RLOCUST_ARRIVAL_RATE"),
            G::Common,
            Some("<rate>"),
            Some(
                "Open workload: start iterations (one task run each) at this rate, e.g. 50, 50/s, 3000/m, on idle users, however long earlier ones take; a new user is started when none is idle, up to --arrival-max-users; when all of those are busy the iteration is counted as dropped, never delayed. wait_time does not apply between arrivals. Instead of -u/-r. With --arrival-stages: the rate at the start.",
            ),
        ),
        o(
            &["--arrival-stages"],
            "arrival_stages",
            K::Single(Ty::Str),
            D::None,
            Some("RLOCUST_ARRIVAL_STAGES"),
            G::Common,
            Some("<stages>"),
            Some(
                "A ramping arrival rate: stages 'DURATION:RATE, ...', each moving the rate linearly to RATE over DURATION (from --arrival-rate, 0 when not given), e.g. '30s:100, 2m:100, 30s:0'. The test ends with the last stage.",
            ),
        ),
        o(
            &["--arrival-max-users"],
            "arrival_max_users",
            K::Single(Ty::Int),
            D::None,
            Some("RLOCUST_ARRIVAL_MAX_USERS"),
            G::Common,
            Some("<int>"),
            Some(
                "With --arrival-rate: the most users that may run iterations at the same time (required).",
            ),
        ),
        o(
            &["--arrival-initial-users"],
            "arrival_initial_users",
            K::Single(Ty::Int),
            D::None,
            Some("RLOCUST_ARRIVAL_INITIAL_USERS"),
            G::Common,
            Some("<int>"),
            Some(
                "With --arrival-rate: users started (on_start included) before the first arrival, so early iterations do not wait for a user to start. Default 0.",
            ),
        ),
        o(
            &[],
            "user_classes",
            K::Positional,
            D::UserClassesEnv,
            None,
            G::UserClasses,
            Some("<UserClass1 UserClass2>"),
            Some(
                "User classes to run, listed at the end of the command line (--list shows them). The LOCUST_USER_CLASSES environment variable works too. By default every User class runs.",
            ),
        ),
    ]
}

/// The options Locust reads before importing the locustfile (reference §4.2, step 1). Help and version
/// are plain flags here.
pub fn pre_table() -> Vec<OptSpec> {
    let full = table();
    let pick = |dest: &str| full.iter().find(|s| s.dest == dest).cloned();
    let mut out = Vec::new();
    out.extend(pick("locustfile"));
    out.extend(pick("config"));
    out.push(o(
        &["-h", "--help"],
        "help",
        K::Flag,
        D::False,
        None,
        G::Common,
        None,
        None,
    ));
    out.push(o(
        &["--version", "-V"],
        "version",
        K::Flag,
        D::False,
        None,
        G::Common,
        None,
        None,
    ));
    out.extend(pick("worker"));
    out.extend(pick("master"));
    out.extend(pick("master_host"));
    out.extend(pick("master_port"));
    out
}

/// Usage line at the top of the help.
pub const USAGE: &str = "Usage: rlocust [options] [UserClass ...]";

/// Text after the option groups.
pub const EPILOG: &str = "Examples:

    rlocust -f my_test.py --headless -u 100 -r 10 -t 20m -H https://www.example.com

    rlocust --headless -u 100 -t 20m --csv results/run MyHttpUser AnotherUser
    (this runs only those two User classes and writes results/run_stats.csv and the other CSV files)

Every option can also be set in a config file (~/.locust.conf, ./locust.conf, [tool.locust] in ./pyproject.toml, or --config) or, for most options, through a LOCUST_* environment variable.";
