//! The option table: every built-in option of Locust 2.47 (reference §4.1) as data, in Locust's declaration
//! order. The order matters: it is the order of `parsed_options`, of the environment-variable pass, of the
//! candidates listed in an "ambiguous option" error and of the help groups.
//!
//! Option names, destinations, defaults, metavars, environment variables and group titles are Locust's
//! interface; the help sentences are rlocust's own wording.
//!
//! Each option is declared once, in `declare!`'s invocation below: the row gives the parser, the help, the config
//! files and the environment pass everything they know of it, and names the typed field of [`Options`] that Rust
//! reads (with its reader), or says that only Python reads it. To add an option: add its row where Locust (or,
//! for rlocust's own, the end of the list) has it; a test checks that every field reads its own destination.

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

impl Def {
    /// This default as a value of an option of `kind`: argparse converts a string default by the option's type
    /// (`-s` has "0"). The positional's list is empty here (the parser reads `LOCUST_USER_CLASSES` for it).
    pub fn value(self, kind: &Kind) -> Value {
        match self {
            Def::None => Value::None,
            Def::False => Value::Bool(false),
            Def::Int(i) => Value::Int(i),
            Def::Str(v) => Value::Str(v.to_string()),
            Def::Typed(v) => match kind {
                Kind::Single(Ty::Timespan) => super::parse_timespan(v)
                    .map(|s| Value::Int(s as i64))
                    .unwrap_or(Value::None),
                Kind::Single(Ty::Int | Ty::PositiveInt) => {
                    v.parse().map(Value::Int).unwrap_or(Value::None)
                }
                Kind::Single(Ty::Float | Ty::SpawnRate) => {
                    v.parse().map(Value::Float).unwrap_or(Value::None)
                }
                _ => Value::Str(v.to_string()),
            },
            Def::UserClassesEnv => Value::List(Vec::new()),
        }
    }
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
    /// A credential (or where one is kept): a master leaves it out of the options each `spawn` carries to its
    /// workers (`distributed::node`), which never need it.
    pub secret: bool,
}

use super::Value;
use crate::log::Level;
use Def as D;
use Kind as K;
use indexmap::IndexMap;
use std::collections::BTreeSet;

/// The readers of [`Options`]' fields (named in `spec`'s rows): each converts the value of one destination, with the
/// row's own default where the parse left none.
pub mod read {
    use super::super::Value;
    use super::{Def, Kind};
    use crate::log::Level;

    /// One destination's value as parsed (if any), and the table's default of it.
    pub struct Field<'a> {
        value: Option<&'a Value>,
        default: Value,
    }

    impl<'a> Field<'a> {
        pub fn new(value: Option<&'a Value>, kind: &Kind, default: Def) -> Field<'a> {
            let default = default.value(kind);
            Field { value, default }
        }

        /// The parsed value, else the default.
        fn value(&self) -> &Value {
            self.value.unwrap_or(&self.default)
        }
    }

    fn nonempty(v: &Value) -> Option<String> {
        match v {
            Value::Str(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    fn integer(v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// A `store_true` flag.
    pub fn flag(f: Field) -> bool {
        matches!(f.value(), Value::Bool(true))
    }

    /// Text; `None` when not given or empty.
    pub fn text(f: Field) -> Option<String> {
        nonempty(f.value())
    }

    /// Text that is not only blanks.
    pub fn nonblank(f: Field) -> Option<String> {
        text(f).filter(|t| !t.trim().is_empty())
    }

    /// Text, the default when not given or empty.
    pub fn text_or_default(f: Field) -> String {
        nonempty(f.value())
            .or_else(|| nonempty(&f.default))
            .unwrap_or_default()
    }

    /// Text as given (even empty), the default when not given.
    pub fn string(f: Field) -> String {
        match f.value() {
            Value::Str(s) => s.clone(),
            _ => nonempty(&f.default).unwrap_or_default(),
        }
    }

    /// An interface to listen on: `*` is every interface (`""`); an empty value stays empty.
    pub fn interface(f: Field) -> String {
        match f.value() {
            Value::Str(h) if h == "*" => String::new(),
            Value::Str(h) => h.clone(),
            _ => match &f.default {
                Value::Str(h) if h != "*" => h.clone(),
                _ => String::new(),
            },
        }
    }

    pub fn int(f: Field) -> Option<i64> {
        integer(f.value())
    }

    /// An integer, the default when the value is not one.
    pub fn int_or_default(f: Field) -> i64 {
        integer(f.value())
            .or_else(|| integer(&f.default))
            .unwrap_or_default()
    }

    /// `--exit-code-on-error`.
    pub fn exit_code(f: Field) -> i32 {
        int_or_default(f) as i32
    }

    /// `-t` in seconds: `None` for 0 (no limit).
    pub fn positive_seconds(f: Field) -> Option<u64> {
        int(f).filter(|t| *t > 0).map(|t| t as u64)
    }

    /// `--autoquit`: `None` for a negative count (Locust's -1, never).
    pub fn non_negative(f: Field) -> Option<u64> {
        int(f).filter(|n| *n >= 0).map(|n| n as u64)
    }

    pub fn float(f: Field) -> Option<f64> {
        number(f.value())
    }

    pub fn float_or_default(f: Field) -> f64 {
        number(f.value())
            .or_else(|| number(&f.default))
            .unwrap_or_default()
    }

    /// `-s`: seconds, at least 0.
    pub fn seconds(f: Field) -> f64 {
        float_or_default(f).max(0.0)
    }

    /// `-L`: a log level (argparse upper-cased and checked it).
    pub fn level(f: Field) -> Level {
        nonempty(f.value())
            .or_else(|| nonempty(&f.default))
            .and_then(|l| Level::parse(&l))
            .unwrap_or(Level::Info)
    }

    /// `nargs="*"`: the list given (empty when not).
    pub fn list(f: Field) -> Vec<String> {
        match f.value() {
            Value::List(l) => l.clone(),
            _ => Vec::new(),
        }
    }
}

/// `Some(x)` for a field that is there, `None` for one left out.
macro_rules! some {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}

/// Declares the options: each row is one option, written once: its flags, destination (`parsed_options`' attribute
/// and the config files' key), kind and type, default, help group, environment variable, metavar and help, and
/// after `=>` who reads it: a typed field of [`Options`] with the reader that converts the value ([`read`]),
/// `@python` (only the locustfile and the shim read it, from `environment.parsed_options`), or `@parser` (the parser
/// acts on it itself: help, version, `--headful`, the removed options). Generates [`table`] (the rows in order),
/// [`Options`] (its fields; the table's default is a field's only default) and [`Options::from_values`].
macro_rules! declare {
    ($(
        {
            flags: [$($flag:literal),*], dest: $dest:literal,
            kind: $kind:expr, default: $def:expr,
            group: $group:ident, $(env: $env:literal,)?
            $(metavar: $metavar:literal,)?
            $(help: $help:literal,)?
            $(secret: $secret:literal,)?
        } => $(@$who:ident)? $($(#[$fdoc:meta])* $field:ident: $fty:ty = $read:path)?;
    )*) => {
        /// Every built-in option, in Locust's declaration order.
        pub fn table() -> Vec<OptSpec> {
            vec![$(OptSpec {
                flags: &[$($flag),*],
                dest: $dest,
                kind: $kind,
                default: $def,
                env: some!($($env)?),
                group: Group::$group,
                metavar: some!($($metavar)?),
                help: some!($($help)?),
                secret: false $(|| $secret)?,
            }),*]
        }

        /// Every option rlocust acts on, typed, with the table's defaults (built by [`Options::from_values`]).
        #[derive(Clone, Debug, PartialEq)]
        pub struct Options {
            $($($(#[$fdoc])* pub $field: $fty,)?)*
            /// The locustfile imported locust-plugins, whose `quitting` listener does the `--check-*` checks itself.
            pub checks_by_plugin: bool,
            /// Destinations set on the command line, in a config file or by a `LOCUST_*` variable (not defaults).
            pub given: BTreeSet<String>,
        }

        impl Options {
            /// The typed view of the parsed values: each field read from its own destination by its reader, the
            /// table's default where `values` has none.
            pub fn from_values(values: &IndexMap<String, Value>, given: BTreeSet<String>) -> Options {
                Options {
                    $($($field: $read(read::Field::new(values.get($dest), &$kind, $def)),)?)*
                    checks_by_plugin: false,
                    given,
                }
            }
        }

        /// Each typed field of [`Options`] with the destination it reads.
        #[cfg(test)]
        pub const FIELDS: &[(&str, &str)] = &[$($((stringify!($field), $dest),)?)*];

        /// The destinations only Python reads (`@python`) or the parser acts on (`@parser`).
        #[cfg(test)]
        pub const UNTYPED: &[(&str, &str)] = &[$($(($dest, stringify!($who)),)?)*];
    };
}

declare! {
    {
        flags: ["-h", "--help"], dest: "",
        kind: K::Help, default: D::None,
        group: Common,
        help: "Show this help text and exit.",
    } => @parser;
    {
        flags: ["-f", "--locustfile"], dest: "locustfile",
        kind: K::Single(Ty::Str), default: D::Str("locustfile.py"),
        group: Common, env: "LOCUST_LOCUSTFILE",
        metavar: "<filename>",
        help: "The Python file with the test, e.g. 'my_test.py'. Several .py files separated by commas, a package or directory, or the URL of a locustfile to download also work. Defaults to 'locustfile.py'.",
    } =>
        /// `-f`: the locustfile path(s) as given (commas separate several).
        locustfile: String = read::string;
    {
        flags: ["--config"], dest: "config",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common,
        metavar: "<filename>",
        help: "Read more settings from this file (keys are the long option names without the dashes).",
    } =>
        /// `--config`: a config file read before the others.
        config: Option<String> = read::text;
    {
        flags: ["-H", "--host"], dest: "host",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "LOCUST_HOST",
        metavar: "<base url>",
        help: "Base URL of the system under test, e.g. https://www.example.com",
    } =>
        /// `-H`; `None` when not given or empty.
        host: Option<String> = read::text;
    {
        flags: ["-u", "--users"], dest: "num_users",
        kind: K::Single(Ty::Int), default: D::None,
        group: Common, env: "LOCUST_USERS",
        metavar: "<int>",
        help: "Peak number of simultaneous users, mostly used with --headless or --autostart. During a test the keys w and W add 1 or 10 users, s and S remove 1 or 10.",
    } =>
        /// `-u` as given; may be negative (Locust accepts `-u -5` and fails later). `None`: not given (1 user).
        users: Option<i64> = read::int;
    {
        flags: ["-r", "--spawn-rate"], dest: "spawn_rate",
        kind: K::Single(Ty::SpawnRate), default: D::None,
        group: Common, env: "LOCUST_SPAWN_RATE",
        metavar: "<float>",
        help: "How many users to start per second, mostly used with --headless or --autostart.",
    } =>
        /// `-r` (> 0 and finite when given). `None`: not given (1 per second).
        spawn_rate: Option<f64> = read::float;
    {
        flags: ["-t", "--run-time"], dest: "run_time",
        kind: K::Single(Ty::Timespan), default: D::None,
        group: Common, env: "LOCUST_RUN_TIME",
        metavar: "<time string>",
        help: "Stop the test after this long, e.g. 300s, 20m, 3h or 1h30m. Only used with --headless or --autostart. Without it the test runs until it is stopped.",
    } =>
        /// `-t` in seconds; `None` when not given or 0 (no limit, as in Locust).
        run_time: Option<u64> = read::positive_seconds;
    {
        flags: ["-l", "--list"], dest: "list_commands",
        kind: K::Flag, default: D::False,
        group: Common,
        help: "List the available User classes and exit.",
    } =>
        /// `-l`.
        list_commands: bool = read::flag;
    {
        flags: ["--config-users"], dest: "config_users",
        kind: K::Multi(Ty::ConfigUsers), default: D::None,
        group: Common, env: "LOCUST_CONFIG_USERS",
        help: "Per-class user settings as JSON: an object, an array of objects or the path of a .json file. Several may be given.",
    } => @python;
    {
        flags: ["--web-host"], dest: "web_host",
        kind: K::Single(Ty::Str), default: D::Str(""),
        group: WebUi, env: "LOCUST_WEB_HOST",
        metavar: "<ip>",
        help: "Interface the web UI listens on. Defaults to '*' (every interface).",
    } =>
        /// `--web-host` (`""` and `*`: every interface).
        web_host: String = read::interface;
    {
        flags: ["--web-host-display-name"], dest: "web_host_display_name",
        kind: K::Single(Ty::Str), default: D::None,
        group: WebUi, env: "LOCUST_WEB_HOST_DISPLAY_NAME",
    } =>
        /// `--web-host-display-name`: only changes the URL logged at startup.
        web_host_display_name: Option<String> = read::text;
    {
        flags: ["--web-port", "-P"], dest: "web_port",
        kind: K::Single(Ty::Int), default: D::Int(8089),
        group: WebUi, env: "LOCUST_WEB_PORT",
        metavar: "<port number>",
        help: "Port the web UI listens on.",
    } =>
        /// `--web-port`/`-P`.
        web_port: i64 = read::int_or_default;
    {
        flags: ["--headless"], dest: "headless",
        kind: K::Flag, default: D::False,
        group: WebUi, env: "LOCUST_HEADLESS",
        help: "Run without the web UI and start the test at once; -u and -t control the user count and run time.",
    } =>
        /// `--headless` (cleared by `--headful`).
        headless: bool = read::flag;
    {
        flags: ["--autostart"], dest: "autostart",
        kind: K::Flag, default: D::False,
        group: WebUi, env: "LOCUST_AUTOSTART",
        help: "Start the test at once, like --headless, but keep the web UI.",
    } =>
        autostart: bool = read::flag;
    {
        flags: ["--autoquit"], dest: "autoquit",
        kind: K::Single(Ty::Int), default: D::Int(-1),
        group: WebUi, env: "LOCUST_AUTOQUIT",
        metavar: "<seconds>",
        help: "With --autostart, exit completely this many seconds after the test has finished. By default the process keeps running until you stop it with CTRL+C.",
    } =>
        /// `--autoquit N` (only with `--autostart`); `None` for Locust's -1 (never).
        autoquit: Option<u64> = read::non_negative;
    {
        flags: ["--headful"], dest: "headful",
        kind: K::Flag, default: D::False,
        group: WebUi, env: "LOCUST_HEADFUL",
    } => @parser;
    {
        flags: ["--web-auth"], dest: "web_auth",
        kind: K::Reject { message: "The --web-auth parameters has been replaced with --web-login. See https://docs.locust.io/en/stable/extending-locust.html#authentication for details", takes_value: true, }, default: D::None,
        group: WebUi, env: "LOCUST_WEB_AUTH",
        metavar: "<username:password>",
        secret: true,
    } => @parser;
    {
        flags: ["--web-login"], dest: "web_login",
        kind: K::Flag, default: D::False,
        group: WebUi, env: "LOCUST_WEB_LOGIN",
        help: "Put a login page in front of the web UI.",
    } =>
        web_login: bool = read::flag;
    {
        flags: ["--tls-cert"], dest: "tls_cert",
        kind: K::Single(Ty::Str), default: D::Str(""),
        group: WebUi, env: "LOCUST_TLS_CERT",
        metavar: "<filename>",
        help: "TLS certificate file for serving the web UI over HTTPS (together with --tls-key).",
    } =>
        /// `--tls-cert` (the web UI serves HTTPS with `--tls-key`, see [`Options::tls`]).
        tls_cert: Option<String> = read::text;
    {
        flags: ["--tls-key"], dest: "tls_key",
        kind: K::Single(Ty::Str), default: D::Str(""),
        group: WebUi, env: "LOCUST_TLS_KEY",
        metavar: "<filename>",
        help: "TLS private key file for serving the web UI over HTTPS (together with --tls-cert).",
    } =>
        /// `--tls-key`.
        tls_key: Option<String> = read::text;
    {
        flags: ["--class-picker"], dest: "class_picker",
        kind: K::Flag, default: D::False,
        group: WebUi, env: "LOCUST_USERCLASS_PICKER",
        help: "Let the web UI choose among all the available User and Shape classes.",
    } =>
        class_picker: bool = read::flag;
    {
        flags: ["--build-path"], dest: "build_path",
        kind: K::Single(Ty::Str), default: D::Str(""),
        group: WebUi, env: "LOCUST_BUILD_PATH",
    } => @python;
    {
        flags: ["--legacy-ui"], dest: "legacy_ui",
        kind: K::Reject { message: "--legacy-ui is no longer supported, remove the parameter to continue", takes_value: false, }, default: D::False,
        group: WebUi, env: "LOCUST_LEGACY_UI",
    } => @parser;
    {
        flags: ["--master"], dest: "master",
        kind: K::Flag, default: D::False,
        group: Master, env: "LOCUST_MODE_MASTER",
        help: "Run as the master node of a distributed test; workers connect to it.",
    } =>
        master: bool = read::flag;
    {
        flags: ["--master-bind-host"], dest: "master_bind_host",
        kind: K::Single(Ty::Str), default: D::Str("*"),
        group: Master, env: "LOCUST_MASTER_BIND_HOST",
        metavar: "<ip>",
        help: "Address the master listens on, e.g. '192.168.1.1'. Defaults to * (every interface).",
    } =>
        /// `--master-bind-host`: where a master listens (`*`: every interface).
        master_bind_host: String = read::text_or_default;
    {
        flags: ["--master-bind-port"], dest: "master_bind_port",
        kind: K::Single(Ty::Int), default: D::Int(5557),
        group: Master, env: "LOCUST_MASTER_BIND_PORT",
        metavar: "<port number>",
        help: "Port the master listens on. Defaults to 5557.",
    } =>
        /// `--master-bind-port`.
        master_bind_port: i64 = read::int_or_default;
    {
        flags: ["--expect-workers"], dest: "expect_workers",
        kind: K::Single(Ty::PositiveInt), default: D::Int(1),
        group: Master, env: "LOCUST_EXPECT_WORKERS",
        metavar: "<int>",
        help: "With --headless or --autostart, wait for this many workers to connect before starting the test.",
    } =>
        /// `--expect-workers` (headless/autostart masters wait for this many ready workers).
        expect_workers: i64 = read::int_or_default;
    {
        flags: ["--expect-workers-max-wait"], dest: "expect_workers_max_wait",
        kind: K::Single(Ty::Int), default: D::Int(0),
        group: Master, env: "LOCUST_EXPECT_WORKERS_MAX_WAIT",
        metavar: "<int>",
        help: "Seconds the master waits for the workers to connect before giving up. By default it waits forever.",
    } =>
        /// `--expect-workers-max-wait` seconds (0: wait forever).
        expect_workers_max_wait: f64 = read::float_or_default;
    {
        flags: ["--enable-rebalancing"], dest: "enable_rebalancing",
        kind: K::Flag, default: D::False,
        group: Master,
        help: "Redistribute the users when workers join or leave during a test. Experimental.",
    } =>
        enable_rebalancing: bool = read::flag;
    {
        flags: ["--expect-slaves"], dest: "expect_slaves",
        kind: K::Reject { message: "The --expect-slaves parameter has been renamed --expect-workers", takes_value: false, }, default: D::None,
        group: Master,
    } => @parser;
    {
        flags: ["--worker"], dest: "worker",
        kind: K::Flag, default: D::False,
        group: Worker, env: "LOCUST_MODE_WORKER",
        help: "Run as a worker of a distributed test. With --locustfile - the locustfile is fetched from the master.",
    } =>
        worker: bool = read::flag;
    {
        flags: ["--processes"], dest: "processes",
        kind: K::Single(Ty::Int), default: D::None,
        group: Worker, env: "LOCUST_PROCESSES",
        metavar: "<int>",
        help: "Fork this many processes (-1: one per CPU core). Combine it with --worker, or let it start a master and its workers by itself. Not available on Windows. Experimental.",
    } =>
        /// `--processes` when given.
        processes: Option<i64> = read::int;
    {
        flags: ["--slave"], dest: "slave",
        kind: K::Reject { message: "The --slave parameter has been renamed --worker", takes_value: false, }, default: D::None,
        group: Worker,
    } => @parser;
    {
        flags: ["--master-host"], dest: "master_host",
        kind: K::Single(Ty::Str), default: D::Str("127.0.0.1"),
        group: Worker, env: "LOCUST_MASTER_NODE_HOST",
        metavar: "<hostname>",
        help: "Host name or address of the master to connect to. Defaults to 127.0.0.1.",
    } =>
        /// `--master-host`: where a worker connects.
        master_host: String = read::text_or_default;
    {
        flags: ["--master-port"], dest: "master_port",
        kind: K::Single(Ty::Int), default: D::Int(5557),
        group: Worker, env: "LOCUST_MASTER_NODE_PORT",
        metavar: "<port number>",
        help: "Port of the master to connect to. Defaults to 5557.",
    } =>
        /// `--master-port`.
        master_port: i64 = read::int_or_default;
    {
        flags: ["--web-base-path"], dest: "web_base_path",
        kind: K::Single(Ty::Str), default: D::Str(""),
        group: WebUi, env: "LOCUST_WEB_BASE_PATH",
        help: "Path prefix of the web UI, e.g. '/locust'. Empty by default (served at the root).",
    } =>
        /// `--web-base-path` (`""` or a path starting with `/`; checked at startup).
        web_base_path: String = read::text_or_default;
    {
        flags: ["-T", "--tags"], dest: "tags",
        kind: K::Multi(Ty::Str), default: D::None,
        group: Tag, env: "LOCUST_TAGS",
        metavar: "<tag>",
        help: "Run only the tasks that have at least one of these tags.",
    } =>
        /// `-T`/`--tags`.
        tags: Vec<String> = read::list;
    {
        flags: ["-E", "--exclude-tags"], dest: "exclude_tags",
        kind: K::Multi(Ty::Str), default: D::None,
        group: Tag, env: "LOCUST_EXCLUDE_TAGS",
        metavar: "<tag>",
        help: "Skip the tasks that have any of these tags.",
    } =>
        /// `-E`/`--exclude-tags`.
        exclude_tags: Vec<String> = read::list;
    {
        flags: ["--csv"], dest: "csv_prefix",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats, env: "LOCUST_CSV",
        metavar: "<filename>",
        help: "Write the request statistics as CSV files named after this prefix: <prefix>_stats.csv, <prefix>_stats_history.csv and <prefix>_failures.csv. Missing directories in the prefix are created.",
    } =>
        /// `--csv PREFIX`.
        csv_prefix: Option<String> = read::text;
    {
        flags: ["--csv-full-history"], dest: "stats_history_enabled",
        kind: K::Flag, default: D::False,
        group: Stats, env: "LOCUST_CSV_FULL_HISTORY",
        help: "Write every stats entry to the _stats_history.csv file, not only the aggregated one. Needs --csv.",
    } =>
        /// `--csv-full-history`.
        csv_full_history: bool = read::flag;
    {
        flags: ["--print-stats"], dest: "print_stats",
        kind: K::Flag, default: D::False,
        group: Stats, env: "LOCUST_PRINT_STATS",
        help: "Print the stats table periodically in web UI runs too.",
    } =>
        /// `--print-stats`: the periodic console table in a web UI run too.
        print_stats: bool = read::flag;
    {
        flags: ["--only-summary"], dest: "only_summary",
        kind: K::Flag, default: D::False,
        group: Stats, env: "LOCUST_ONLY_SUMMARY",
        help: "In --headless runs, print only the final summary instead of the periodic stats tables.",
    } =>
        only_summary: bool = read::flag;
    {
        flags: ["--reset-stats"], dest: "reset_stats",
        kind: K::Flag, default: D::False,
        group: Stats, env: "LOCUST_RESET_STATS",
        help: "Reset the statistics once every user has been spawned. In a distributed run set it on the master and the workers.",
    } =>
        reset_stats: bool = read::flag;
    {
        flags: ["--html"], dest: "html_file",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats, env: "LOCUST_HTML",
        metavar: "<filename>",
        help: "Write an HTML report to this file. {u}, {r} and {t} in the name become the user count, spawn rate and run time.",
    } =>
        /// `--html FILE`.
        html_file: Option<String> = read::text;
    {
        flags: ["--json"], dest: "json",
        kind: K::Flag, default: D::False,
        group: Stats,
        help: "Print the final statistics as JSON on stdout, for other programs to read. With --headless and --skip-log the output is only the JSON.",
    } =>
        /// `--json`: the final statistics as JSON on stdout.
        json: bool = read::flag;
    {
        flags: ["--json-file"], dest: "json_file",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats,
        metavar: "<filename>",
        help: "Write the final statistics as JSON to this file (.json is appended to the name).",
    } =>
        /// `--json-file NAME`.
        json_file: Option<String> = read::text;
    {
        flags: ["--skip-log-setup"], dest: "skip_log_setup",
        kind: K::Flag, default: D::False,
        group: Logging, env: "LOCUST_SKIP_LOG_SETUP",
        help: "Leave logging alone, so the locustfile or Python's defaults configure it.",
    } =>
        skip_log_setup: bool = read::flag;
    {
        flags: ["--loglevel", "-L"], dest: "loglevel",
        kind: K::Single(Ty::LogLevel), default: D::Str("INFO"),
        group: Logging, env: "LOCUST_LOGLEVEL",
        metavar: "<level>",
        help: "Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL. Defaults to INFO.",
    } =>
        /// `-L`.
        loglevel: Level = read::level;
    {
        flags: ["--logfile"], dest: "logfile",
        kind: K::Single(Ty::Str), default: D::None,
        group: Logging, env: "LOCUST_LOGFILE",
        metavar: "<filename>",
        help: "Write the log to this file instead of stderr.",
    } =>
        logfile: Option<String> = read::text;
    {
        flags: ["--show-task-ratio"], dest: "show_task_ratio",
        kind: K::Flag, default: D::False,
        group: Other,
        help: "Print a table of the User classes' task execution ratios and exit. Give a non-zero -u when some classes set fixed_count.",
    } =>
        show_task_ratio: bool = read::flag;
    {
        flags: ["--show-task-ratio-json"], dest: "show_task_ratio_json",
        kind: K::Flag, default: D::False,
        group: Other,
        help: "Print the task execution ratios as JSON and exit. Give a non-zero -u when some classes set fixed_count.",
    } =>
        show_task_ratio_json: bool = read::flag;
    {
        flags: ["--version", "-V"], dest: "",
        kind: K::Version, default: D::None,
        group: Other,
        help: "Print the version and exit.",
    } => @parser;
    {
        flags: ["--exit-code-on-error"], dest: "exit_code_on_error",
        kind: K::Single(Ty::Int), default: D::Int(1),
        group: Other, env: "LOCUST_EXIT_CODE_ON_ERROR",
        metavar: "<int>",
        help: "Process exit code when the test had any failure or error. Defaults to 1.",
    } =>
        exit_code_on_error: i32 = read::exit_code;
    {
        flags: ["-s", "--stop-timeout"], dest: "stop_timeout",
        kind: K::Single(Ty::Timespan), default: D::Typed("0"),
        group: Other, env: "LOCUST_STOP_TIMEOUT",
        metavar: "<number>",
        help: "How long a stopping user may go on with its current task before it is killed. By default users stop at once. In a distributed run only the master needs it.",
    } =>
        /// `-s` in seconds (a Locust time span).
        stop_timeout: f64 = read::seconds;
    {
        flags: ["--equal-weights"], dest: "equal_weights",
        kind: K::Flag, default: D::False,
        group: Other,
        help: "Give every task the same weight, whatever the locustfile says.",
    } => @python;
    {
        flags: ["--profile"], dest: "profile",
        kind: K::Single(Ty::Str), default: D::None,
        group: Other,
        help: "A profile name that groups test runs together.",
    } =>
        /// `--profile`: a name for the run (OpenTelemetry's resource, the report).
        profile: Option<String> = read::text;
    {
        flags: ["--otel"], dest: "otel",
        kind: K::Flag, default: D::False,
        group: Other, env: "LOCUST_ENABLE_OPENTELEMETRY",
        help: "Instrument the test run with OpenTelemetry.",
    } =>
        /// `--otel`.
        otel: bool = read::flag;
    // Not in Locust itself: locust-plugins adds it (reference §3.10), after Locust's own options.
    {
        flags: ["-i", "--iterations"], dest: "iterations",
        kind: K::Single(Ty::Int), default: D::Int(0),
        group: Other, env: "LOCUST_ITERATIONS",
        help: "Stop after this many task runs in total (0: no limit): once they have started, each user stops when it would start another task, and the test ends when the last one has stopped.",
    } => @python;
    // Not in Locust: rlocust's protection of the web UI (Locust's --web-login needs Flask-Login and code in the
    // locustfile; its --web-auth was removed and stays an error).
    {
        flags: ["--basic-auth"], dest: "basic_auth",
        kind: K::Single(Ty::Str), default: D::None,
        group: WebUi, env: "RLOCUST_WEB_AUTH",
        metavar: "<username:password>",
        help: "Require HTTP basic authentication with this user name and password for every page and API call of the web UI (or set RLOCUST_WEB_AUTH).",
        secret: true,
    } =>
        /// `--basic-auth USER:PASS` (env `RLOCUST_WEB_AUTH`): HTTP basic auth in front of the web UI.
        basic_auth: Option<String> = read::text;
    // Not in Locust: the web UI's defence against DNS rebinding (web::guard, docs/web.md#security).
    {
        flags: ["--web-allowed-hosts"], dest: "web_allowed_hosts",
        kind: K::Single(Ty::Str), default: D::None,
        group: WebUi, env: "RLOCUST_WEB_ALLOWED_HOSTS",
        metavar: "<names>",
        help: "Host names the web UI answers to besides the defaults (localhost, IP addresses, this machine's names, --web-host, one-label names such as Kubernetes Service names, *.svc and *.svc.cluster.local), separated by commas: ui.example.com, .example.com for a domain and its subdomains, * for any. Requests for other names get 403 (a defence against DNS rebinding).",
    } =>
        /// `--web-allowed-hosts` as given (checked by `web::guard::AllowedHosts`).
        web_allowed_hosts: Option<String> = read::nonblank;
    {
        flags: ["--web-cors-origins"], dest: "web_cors_origins",
        kind: K::Single(Ty::Str), default: D::None,
        group: WebUi, env: "RLOCUST_WEB_CORS_ORIGINS",
        metavar: "<origins>",
        help: "Origins whose web pages may read the web UI's answers (Access-Control-Allow-Origin), separated by commas, e.g. https://dash.example.com, or * for any. None by default (Locust sends '*' to every origin). Cross-site POSTs stay refused.",
    } =>
        /// `--web-cors-origins` as given (checked by `web::guard::Cors`).
        web_cors_origins: Option<String> = read::nonblank;
    // Not in Locust: HTTP/2 for HttpUser and FastHttpUser (a user class's `http2` attribute wins over it).
    {
        flags: ["--http2"], dest: "http2",
        kind: K::Flag, default: D::False,
        group: Other, env: "RLOCUST_HTTP2",
        help: "Speak HTTP/2 where the server does: ALPN h2 over TLS (HTTP/1.1 when the server picks it), prior-knowledge h2c for http:// URLs. One multiplexed connection per user and host. A user class's http2 attribute overrides it.",
    } => @python;
    // Not in Locust: locust-plugins' checks (exit code 3 when one fails), built in. When the locustfile
    // imports locust_plugins, its own options are these (same dests) and the plugin does the checking.
    {
        flags: ["--check-rps"], dest: "check_rps",
        kind: K::Single(Ty::Float), default: D::None,
        group: Other, env: "LOCUST_CHECK_RPS",
        help: "Exit with code 3 if the run's average requests per second was below this.",
    } =>
        /// `--check-rps`, `--check-fail-ratio`, `--check-avg-response-time` (locust-plugins' checks).
        check_rps: Option<f64> = read::float;
    {
        flags: ["--check-fail-ratio"], dest: "check_fail_ratio",
        kind: K::Single(Ty::Float), default: D::None,
        group: Other, env: "LOCUST_CHECK_FAIL_RATIO",
        help: "Exit with code 3 if the ratio of failed requests (0.0-1.0) was above this; failures alone then do not make the exit code 1.",
    } =>
        check_fail_ratio: Option<f64> = read::float;
    {
        flags: ["--check-avg-response-time"], dest: "check_avg_response_time",
        kind: K::Single(Ty::Float), default: D::None,
        group: Other, env: "LOCUST_CHECK_AVG_RESPONSE_TIME",
        help: "Exit with code 3 if the average response time (ms) was above this.",
    } =>
        check_avg_response_time: Option<f64> = read::float;
    // Not in Locust: thresholds, Prometheus and the run summary (docs/observability.md).
    {
        flags: ["--thresholds"], dest: "thresholds",
        kind: K::Single(Ty::Str), default: D::None,
        group: Other, env: "RLOCUST_THRESHOLDS",
        metavar: "<rules>",
        help: "Pass/fail rules separated by ';', e.g. 'p95<500; fail_ratio<0.01; GET /login: p99<800 abort=30s'. Metrics: p50..p99.9, avg, min, max, fail_ratio, rps, requests, failures; a 'NAME:' prefix (optionally 'METHOD NAME:') limits a rule to those rows. A failed rule prints in the thresholds table and exits with code 3; 'abort' stops the run as soon as it fails (after an optional grace time).",
    } =>
        /// `--thresholds` as given (parsed by `judge::thresholds`).
        thresholds: Option<String> = read::nonblank;
    {
        flags: ["--summary-json"], dest: "summary_json",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats, env: "RLOCUST_SUMMARY_JSON",
        metavar: "<filename>",
        help: "Write a machine-readable summary of the run (parameters, totals, percentiles, thresholds, exit code; schema in docs/observability.md) to this file at the end ('-' for stdout).",
    } =>
        /// `--summary-json FILE` (`-`: stdout).
        summary_json: Option<String> = read::text;
    // Not in Locust: a run compared with a baseline (issue 42; report::compare, docs/reports.md).
    {
        flags: ["--baseline"], dest: "baseline",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats, env: "RLOCUST_BASELINE",
        metavar: "<file>",
        help: "Compare this run with a previous one: its --summary-json file, a _stats.csv (Locust's or rlocust's --csv) or a --json document. The final tables, --csv (PREFIX_baseline.csv), --summary-json, --html and the web UI then show per name the baseline's and this run's requests/s, failure ratio and p50/p95/p99 with their deltas, flagging regressions (see --baseline-limits).",
    } =>
        /// `--baseline FILE`, `--baseline-limits RULES`, `--baseline-gate` (`report::compare`).
        baseline: Option<String> = read::nonblank;
    {
        flags: ["--baseline-limits"], dest: "baseline_limits",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats, env: "RLOCUST_BASELINE_LIMITS",
        metavar: "<rules>",
        help: "What counts as a regression against --baseline: rules separated by ';', '[[METHOD] NAME:] FIGURE TOLERANCE [TOLERANCE]', FIGURE one of p50..p99.9, fail_ratio, rps, e.g. 'p95 +10% +5ms; fail_ratio +0.5pt; GET /login: p99 +20%'. With two tolerances a figure must be worse by more than both, and the runs' confidence intervals must not overlap. Default: 'p50 +5% +0.5ms; p95 +10% +2ms; p99 +15% +5ms; fail_ratio +0.5pt'.",
    } =>
        baseline_limits: Option<String> = read::nonblank;
    {
        flags: ["--baseline-gate"], dest: "baseline_gate",
        kind: K::Flag, default: D::False,
        group: Stats, env: "RLOCUST_BASELINE_GATE",
        help: "Exit with code 3 when a request name regressed against --baseline (one line per name naming the figures and both values).",
    } =>
        baseline_gate: bool = read::flag;
    {
        flags: ["--csv-generator"], dest: "csv_generator",
        kind: K::Flag, default: D::False,
        group: Stats, env: "RLOCUST_CSV_GENERATOR",
        help: "With --csv, also write PREFIX_generator.csv: how late this generator itself was (response bytes waiting in sockets, responses waiting for Python, users resuming late after their waits), as percentiles in ms.",
    } =>
        /// `--csv-generator`: also write `{prefix}_generator.csv` (`stats::lateness`).
        csv_generator: bool = read::flag;
    {
        flags: ["--metrics-port"], dest: "metrics_port",
        kind: K::Single(Ty::Int), default: D::None,
        group: Stats, env: "RLOCUST_METRICS_PORT",
        metavar: "<port>",
        help: "Serve Prometheus metrics at http://<metrics-host>:<port>/metrics (the web UI always serves them at /metrics).",
    } =>
        /// `--metrics-port`, `--metrics-host` (`*`: every interface), `--metrics-buckets`.
        metrics_port: Option<i64> = read::int;
    {
        flags: ["--metrics-host"], dest: "metrics_host",
        kind: K::Single(Ty::Str), default: D::Str("127.0.0.1"),
        group: Stats, env: "RLOCUST_METRICS_HOST",
        metavar: "<ip>",
        help: "Interface --metrics-port listens on ('' or '*' for all). --basic-auth protects it too.",
    } =>
        metrics_host: String = read::interface;
    {
        flags: ["--metrics-buckets"], dest: "metrics_buckets",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats, env: "RLOCUST_METRICS_BUCKETS",
        metavar: "<ms,ms,...>",
        help: "Bucket bounds (ms) of the response-time histogram in /metrics. Default 1,2.5,5,10,25,50,75,100,150,200,300,500,750,1000,1500,2000,3000,5000,10000,30000,60000.",
    } =>
        metrics_buckets: Option<String> = read::text;
    // Not in Locust: the open workload model (issue 31; runner::open, docs/performance.md).
    {
        flags: ["--arrival-rate"], dest: "arrival_rate",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_ARRIVAL_RATE",
        metavar: "<rate>",
        help: "Open workload: start iterations (one task run each) at this rate, e.g. 50, 50/s, 3000/m, on idle users, however long earlier ones take; a new user is started when none is idle, up to --arrival-max-users; when all of those are busy the iteration is counted as dropped, never delayed. wait_time does not apply between arrivals. Instead of -u/-r. With --arrival-stages: the rate at the start.",
    } =>
        /// `--arrival-rate`, `--arrival-stages`, `--arrival-max-users`, `--arrival-initial-users` as given (an open
        /// workload; checked and turned into a plan by `runner::open::config`).
        arrival_rate: Option<String> = read::nonblank;
    {
        flags: ["--arrival-stages"], dest: "arrival_stages",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_ARRIVAL_STAGES",
        metavar: "<stages>",
        help: "A ramping arrival rate: stages 'DURATION:RATE, ...', each moving the rate linearly to RATE over DURATION (from --arrival-rate, 0 when not given), e.g. '30s:100, 2m:100, 30s:0'. The test ends with the last stage.",
    } =>
        arrival_stages: Option<String> = read::nonblank;
    {
        flags: ["--arrival-max-users"], dest: "arrival_max_users",
        kind: K::Single(Ty::Int), default: D::None,
        group: Common, env: "RLOCUST_ARRIVAL_MAX_USERS",
        metavar: "<int>",
        help: "With --arrival-rate (or --search arrival-rate): the most users that may run iterations at the same time (required).",
    } =>
        max_users: Option<i64> = read::int;
    {
        flags: ["--arrival-initial-users"], dest: "arrival_initial_users",
        kind: K::Single(Ty::Int), default: D::None,
        group: Common, env: "RLOCUST_ARRIVAL_INITIAL_USERS",
        metavar: "<int>",
        help: "With --arrival-rate: users started (on_start included) before the first arrival, so early iterations do not wait for a user to start. Default 0.",
    } =>
        initial_users: Option<i64> = read::int;
    {
        flags: ["--arrival-trace"], dest: "arrival_trace",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_ARRIVAL_TRACE",
        metavar: "<file>",
        help: "Open workload: replay a recorded trace, one iteration per row at the row's time (the first row is time 0), on idle users as --arrival-rate starts them (--arrival-max-users required). CSV with a header or JSONL (.jsonl/.ndjson/.json or a first character '{'), with a timestamp (or timestamp_ms) column: seconds, milliseconds, Unix epoch or ISO 8601; the Azure LLM trace and Mooncake JSONL as published. The task sees the row as self.arrival (a dict). The test ends when the last row's iteration has ended. Instead of --arrival-rate and -u/-r.",
    } =>
        /// `--arrival-trace`, `--arrival-trace-scale`, `--arrival-trace-unit` (read by `runner::open::config`).
        arrival_trace: Option<String> = read::nonblank;
    {
        flags: ["--arrival-trace-scale"], dest: "arrival_trace_scale",
        kind: K::Single(Ty::Float), default: D::None,
        group: Common, env: "RLOCUST_ARRIVAL_TRACE_SCALE",
        metavar: "<float>",
        help: "With --arrival-trace: replay this many times as fast (2 = twice as fast, 0.5 = half as fast; above 0). Default 1.",
    } =>
        arrival_trace_scale: Option<f64> = read::float;
    {
        flags: ["--arrival-trace-unit"], dest: "arrival_trace_unit",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_ARRIVAL_TRACE_UNIT",
        metavar: "<auto|s|ms>",
        help: "With --arrival-trace: the unit of numeric timestamps. auto (the default): milliseconds for a timestamp_ms column, a first value of 10^12 or more (epoch ms) or JSONL rows with integer timestamps and an input_length field (Mooncake); seconds otherwise.",
    } =>
        arrival_trace_unit: Option<String> = read::nonblank;
    // Not in Locust: the capacity search (issue 52; judge::search, docs/capacity.md). Checked (one line each) by
    // `judge::search::options` before anything starts.
    {
        flags: ["--search"], dest: "search",
        kind: K::Multi(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH",
        metavar: "<mode>",
        help: "Capacity search: find the highest load the service sustains under --slo. MODE 'arrival-rate' (the default when no mode follows: the open model, iterations per second, capped by --arrival-max-users) or 'users' (Locust's closed model). Each level is warmed up, measured on its own window and judged; the level is doubled from --search-start to the first failing level, bisected to --search-precision, and the best passing level confirmed. Instead of -u/-r and --arrival-rate.",
    } =>
        /// `--search [MODE]` and its settings as given (checked and turned into a `judge::search::Spec` by
        /// `judge::search::options`).
        search: Vec<String> = read::list;
    {
        flags: ["--slo"], dest: "slo",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SLO",
        metavar: "<rules>",
        help: "With --search: the service level a probe must meet, in the --thresholds grammar, e.g. 'p95<200; fail_ratio<0.01; GET /login: p99<500; ttft.p95<800'.",
    } =>
        slo: Option<String> = read::nonblank;
    {
        flags: ["--search-start"], dest: "search_start",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_START",
        metavar: "<level>",
        help: "With --search: the first level probed (iterations/s, or users). Default 10.",
    } =>
        search_start: Option<String> = read::nonblank;
    {
        flags: ["--search-max"], dest: "search_max",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_MAX",
        metavar: "<level>",
        help: "With --search: the highest level probed; when it passes the search ends there (reached_max). Default: no maximum but the probe budget.",
    } =>
        search_max: Option<String> = read::nonblank;
    {
        flags: ["--search-probe-time"], dest: "search_probe_time",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_PROBE_TIME",
        metavar: "<time>",
        help: "With --search: how long each level is measured, after its warm-up, e.g. 20s (the default), 1m, 2.5s.",
    } =>
        search_probe_time: Option<String> = read::nonblank;
    {
        flags: ["--search-warmup"], dest: "search_warmup",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_WARMUP",
        metavar: "<time>",
        help: "With --search: how long each level runs before its window opens. Default 5s.",
    } =>
        search_warmup: Option<String> = read::nonblank;
    {
        flags: ["--search-precision"], dest: "search_precision",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_PRECISION",
        metavar: "<ratio>",
        help: "With --search: stop bisecting when the failing level is within this much above the passing one, e.g. 5% (the default) or 0.05.",
    } =>
        search_precision: Option<String> = read::nonblank;
    {
        flags: ["--search-budget"], dest: "search_budget",
        kind: K::Single(Ty::Int), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_BUDGET",
        metavar: "<int>",
        help: "With --search: probe at most this many levels (the best so far is reported). Default 15.",
    } =>
        search_budget: Option<i64> = read::int;
    {
        flags: ["--search-levels"], dest: "search_levels",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_LEVELS",
        metavar: "<l1,l2,...>",
        help: "With --search: probe exactly these increasing levels, in order, e.g. 50,100,200,400 (the curve without a search).",
    } =>
        search_levels: Option<String> = read::nonblank;
    {
        flags: ["--search-gate"], dest: "search_gate",
        kind: K::Single(Ty::Str), default: D::None,
        group: Common, env: "RLOCUST_SEARCH_GATE",
        metavar: "<level>",
        help: "With --search: exit with code 3 when the capacity found is below this level (or nothing passed).",
    } =>
        search_gate: Option<String> = read::nonblank;
    // Not in Locust: workers that prove a secret shared with their master (issue 51; distributed::auth). The secret
    // itself is read from RLOCUST_MASTER_SECRET, never from the command line (which every local user can read).
    {
        flags: ["--master-secret-file"], dest: "master_secret_file",
        kind: K::Single(Ty::Str), default: D::None,
        group: Master, env: "RLOCUST_MASTER_SECRET_FILE",
        metavar: "<path>",
        help: "A file holding the master secret (e.g. a mounted Kubernetes Secret); or set the secret itself in RLOCUST_MASTER_SECRET. With a secret, master and workers prove to each other that they hold it (HMAC challenge-response: it never crosses the network; the traffic is not encrypted) and a master refuses workers that do not. Give the same secret to the master and each worker. Off by default (Locust's workers cannot prove one).",
        secret: true,
    } =>
        /// `--master-secret-file PATH` (`distributed::auth::load`).
        master_secret_file: Option<String> = read::text;
    // Not in Locust: tokens counted at the wire (issue 53; tokens, http::events, engine::record).
    {
        flags: ["--tokenizer"], dest: "tokenizer",
        kind: K::Single(Ty::Str), default: D::None,
        group: Stats, env: "RLOCUST_TOKENIZER",
        metavar: "<path>",
        help: "A Hugging Face tokenizer.json (or a directory holding one). With it the engine counts tokens off the Python thread: a stream that reports no usage gets output_tokens (and tpot) from its content, and a request whose JSON body has a prompt or messages gets input_tokens (the server's usage figure when it reports one).",
    } =>
        /// `--tokenizer PATH` (loaded once by `app::startup::tokenizer`).
        tokenizer: Option<String> = read::text;
    {
        flags: [], dest: "user_classes",
        kind: K::Positional, default: D::UserClassesEnv,
        group: UserClasses,
        metavar: "<UserClass1 UserClass2>",
        help: "User classes to run, listed at the end of the command line (--list shows them). The LOCUST_USER_CLASSES environment variable works too. By default every User class runs.",
    } =>
        /// The positional user classes (or `LOCUST_USER_CLASSES`).
        user_classes: Vec<String> = read::list;
}

/// The options Locust reads before importing the locustfile (reference §4.2, step 1). Help and version
/// are plain flags here.
pub fn pre_table() -> Vec<OptSpec> {
    let full = table();
    let pick = |dest: &str| full.iter().find(|s| s.dest == dest).cloned();
    // -h and -V store a flag here instead of acting
    let as_flag = |kind: Kind, dest: &'static str| {
        full.iter().find(|s| s.kind == kind).map(|s| OptSpec {
            dest,
            kind: Kind::Flag,
            default: Def::False,
            help: None,
            ..s.clone()
        })
    };
    let mut out = Vec::new();
    out.extend(pick("locustfile"));
    out.extend(pick("config"));
    out.extend(as_flag(Kind::Help, "help"));
    out.extend(as_flag(Kind::Version, "version"));
    out.extend(pick("worker"));
    out.extend(pick("master"));
    out.extend(pick("master_host"));
    out.extend(pick("master_port"));
    out.extend(pick("master_secret_file"));
    out
}

/// Whether `dest` is a credential a master keeps to itself (a row marked `secret: true`).
pub fn is_secret(dest: &str) -> bool {
    static SECRET: std::sync::OnceLock<BTreeSet<&'static str>> = std::sync::OnceLock::new();
    SECRET
        .get_or_init(|| {
            table()
                .iter()
                .filter(|o| o.secret)
                .map(|o| o.dest)
                .collect()
        })
        .contains(dest)
}

/// Usage line at the top of the help.
pub const USAGE: &str = "Usage: rlocust [options] [UserClass ...]";

/// Text after the option groups.
pub const EPILOG: &str = "Examples:

    rlocust -f my_test.py --headless -u 100 -r 10 -t 20m -H https://www.example.com

    rlocust --headless -u 100 -t 20m --csv results/run MyHttpUser AnotherUser
    (this runs only those two User classes and writes results/run_stats.csv and the other CSV files)

Every option can also be set in a config file (~/.locust.conf, ./locust.conf, [tool.locust] in ./pyproject.toml, or --config) or, for most options, through a LOCUST_* environment variable.";
