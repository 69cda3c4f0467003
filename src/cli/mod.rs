//! rlocust's command line: Locust 2.47's options, config files and `LOCUST_*` variables with Locust's exact
//! rules (reference §4), so a Locust user's command, `locust.conf`, `pyproject.toml` and environment work
//! unchanged.
//!
//! - [`spec`]: the option table (every option of §4.1: names, dest, kind, default, env var, group, help).
//! - [`argparse`]: the command-line engine with Python argparse's rules (prefixes, `=`, clusters, nargs,
//!   negative numbers, positional consumption, error texts, "Did you mean").
//! - [`config`]: config files and environment variables merged with Locust's precedence:
//!   `~/.locust.conf` < `./locust.conf` < `./pyproject.toml` `[tool.locust]` < `--config` file <
//!   `LOCUST_*` < command line.
//! - [`pyval`]: the Python value rules the messages and values depend on, and `json.loads` (TOML files are
//!   read with the `toml` crate in [`config`]).
//! - [`timespan`]: `20`, `3m`, `1h20m`...
//! - [`help`]: the argparse-style help.
//!
//! Locust parses in two phases (§4.2): [`pre_parse`] before the locustfile is imported (only `-f`,
//! `--config`, `-h`, `-V` and the worker's master address), then [`parse`] with the options the locustfile
//! added. The command line is parsed by rlocust's own argparse-compatible engine rather than clap: clap
//! cannot reproduce argparse's rules that Locust users depend on (see [`argparse`]).

pub mod argparse;
pub mod config;
pub mod help;
pub mod options;
pub mod pyval;
pub mod spec;
pub mod timespan;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use crate::pyfmt::{py_float_repr, py_str_repr};
use argparse::{Action, Parser, Stop, unrecognized};
pub use argparse::{Class, Custom, Nargs};
use indexmap::IndexMap;
use spec::{Def, Kind, OptSpec, Ty};
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

pub use options::{NotBuilt, Options, port};
pub use timespan::parse_timespan;

/// The program name in messages.
pub const PROG: &str = "rlocust";

/// An option value as it goes to `environment.parsed_options`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<String>),
}

impl fmt::Display for Value {
    /// Python's `str()` of the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&py_float_repr(*x)),
            Value::Str(s) => f.write_str(s),
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(|s| py_str_repr(s)).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

/// A custom option a locustfile added via `init_command_line_parser` (argparse `add_argument`). The default is a
/// `store_true` flag with no option strings.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomArg {
    /// Option strings, e.g. `["--my-arg", "-m"]`.
    pub flags: Vec<String>,
    pub dest: String,
    /// argparse's nargs (`Zero` for flags, counters and the like).
    pub nargs: Nargs,
    /// The action's class as configargparse tells them apart (config files and environment variables).
    pub class: Class,
    pub env_var: Option<String>,
    pub help: Option<String>,
    pub default_display: Option<String>,
    pub hidden: bool,
}

impl Default for CustomArg {
    fn default() -> Self {
        CustomArg {
            flags: Vec::new(),
            dest: String::new(),
            nargs: Nargs::Zero,
            class: Class::Flag,
            env_var: None,
            help: None,
            default_display: None,
            hidden: false,
        }
    }
}

/// The result of the full parse.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// What the Rust side reads, typed.
    pub options: Options,
    /// Every built-in dest of §4.1 in Locust's order, with Locust's defaults and types: only for Python, where
    /// it becomes `environment.parsed_options`. `config_users` holds one JSON text per argument (each a JSON
    /// array).
    pub values: IndexMap<String, Value>,
    /// The locustfile's own options as an argument fragment in precedence order (config files first, then
    /// environment, then command line), written as `--opt=value` / `--flag` / `--list a b`, for Python's
    /// argparse to convert (last wins).
    pub custom_argv: Vec<String>,
}

/// Raw reads of [`Parsed::values`] (what Python will see), for tests and for `parsed_options`.
impl Parsed {
    /// Sets destinations after the parse (`--processes` makes a master or a worker of the process): in the values
    /// Python sees and, derived from them again once, in [`Parsed::options`].
    pub fn set<'k>(&mut self, changes: impl IntoIterator<Item = (&'k str, Value)>) {
        for (dest, value) in changes {
            debug_assert!(self.values.contains_key(dest), "{dest} is not an option");
            self.values.insert(dest.to_string(), value);
        }
        let given = std::mem::take(&mut self.options.given);
        let checks_by_plugin = self.options.checks_by_plugin;
        self.options = Options::from_values(&self.values, given);
        self.options.checks_by_plugin = checks_by_plugin;
    }

    pub fn get(&self, dest: &str) -> Option<&Value> {
        self.values.get(dest)
    }

    /// A flag's state (false when unset or not a flag).
    pub fn flag(&self, dest: &str) -> bool {
        matches!(self.values.get(dest), Some(Value::Bool(true)))
    }

    pub fn str(&self, dest: &str) -> Option<&str> {
        match self.values.get(dest) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, dest: &str) -> Option<i64> {
        match self.values.get(dest) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn float(&self, dest: &str) -> Option<f64> {
        match self.values.get(dest) {
            Some(Value::Float(x)) => Some(*x),
            Some(Value::Int(i)) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn list(&self, dest: &str) -> Option<&[String]> {
        match self.values.get(dest) {
            Some(Value::List(l)) => Some(l),
            _ => None,
        }
    }
}

/// What the first phase finds.
#[derive(Clone, Debug, PartialEq)]
pub struct Pre {
    /// `-f` split on `,` (parts stripped).
    pub locustfiles: Vec<String>,
    /// `-h` was given and the full parser reached it before any error: print the help, exit 0.
    pub help: bool,
    /// `-V` was given and reached: print the version, exit 0.
    pub version: bool,
    pub config: Option<String>,
    /// For `-f -`: the worker's master address.
    pub worker: bool,
    pub master: bool,
    pub master_host: String,
    pub master_port: i64,
    /// For `-f -`: the master secret's file (`--master-secret-file`).
    pub master_secret_file: Option<String>,
}

/// The process environment, injectable for tests.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Env {
    pub vars: Vec<(String, String)>,
    /// Where `locust.conf`, `pyproject.toml` and relative paths are looked up.
    pub cwd: PathBuf,
    /// For `~/.locust.conf`.
    pub home: Option<PathBuf>,
    /// The config files read before `--config`'s: None for Locust's (`~/.locust.conf`, `locust.conf`,
    /// `pyproject.toml`); a script's `get_parser(default_config_files=[...])` names others.
    pub config_files: Option<Vec<String>>,
}

impl Env {
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Env {
            vars,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            home: std::env::var_os("HOME").map(PathBuf::from),
            config_files: None,
        }
    }

    /// An environment with no variables.
    pub fn new(cwd: impl Into<PathBuf>, home: Option<PathBuf>) -> Self {
        Env {
            vars: Vec::new(),
            cwd: cwd.into(),
            home,
            config_files: None,
        }
    }

    /// Builder: add a variable.
    pub fn var(mut self, key: &str, value: &str) -> Self {
        self.vars.push((key.to_string(), value.to_string()));
        self
    }

    /// A variable's value (the last one wins when repeated).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why parsing stopped. [`CliError::message`] is what to print, [`CliError::exit_code`] the exit code.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CliError {
    /// An argparse error, exit 2: printed as `rlocust: error: <msg>`; `<msg>` may end with a second
    /// line `Did you mean '--x'?`.
    #[error("{PROG}: error: {0}")]
    Usage(String),
    /// A config file that cannot be read as configuration, exit 2, printed like a usage error.
    #[error("{PROG}: error: {0}")]
    Config(String),
    /// A check Locust makes after parsing, with its own message and exit code (e.g. `--autoquit`
    /// without `--autostart`: exit 1).
    #[error("{message}")]
    Fatal { message: String, code: i32 },
    /// `-h` was reached: print the text to stdout, exit 0.
    #[error("{0}")]
    Help(String),
    /// `-V` was reached: print the version to stdout, exit 0.
    #[error("version")]
    Version,
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) | CliError::Config(_) => 2,
            CliError::Fatal { code, .. } => *code,
            CliError::Help(_) | CliError::Version => 0,
        }
    }

    /// The text to print (to stderr, except for help and version).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

fn to_action(s: &OptSpec) -> Action {
    Action {
        flags: s.flags.iter().map(|f| f.to_string()).collect(),
        dest: s.dest.to_string(),
        kind: s.kind.clone(),
        env: s.env.map(str::to_string),
        metavar: s.metavar.map(str::to_string),
        custom: None,
    }
}

/// The parser action of a locustfile's option; `None` when it has no option string, or when it declares an
/// option rlocust has built in (same dest, e.g. locust-plugins' `-i/--iterations`): the built-in one parses it.
fn custom_action(c: &CustomArg) -> Option<Action> {
    if spec::table()
        .iter()
        .any(|s| !s.dest.is_empty() && s.dest == c.dest)
    {
        return None;
    }
    let flags: Vec<String> = c
        .flags
        .iter()
        .filter(|f| f.starts_with('-') && f.len() > 1)
        .cloned()
        .collect();
    if flags.is_empty() {
        return None;
    }
    let kind = match c.nargs {
        Nargs::Zero => Kind::Flag,
        Nargs::One | Nargs::Optional | Nargs::Exactly(1) => Kind::Single(Ty::Raw),
        Nargs::Star | Nargs::Plus | Nargs::Exactly(_) => Kind::Multi(Ty::Raw),
    };
    Some(Action {
        flags,
        dest: c.dest.clone(),
        kind,
        env: c.env_var.clone(),
        metavar: None,
        custom: Some(Custom {
            nargs: c.nargs,
            class: c.class,
        }),
    })
}

fn user_classes_env(env: &Env) -> Vec<String> {
    env.get("LOCUST_USER_CLASSES")
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

fn default_value(s: &OptSpec, env: &Env) -> Value {
    match s.default {
        Def::UserClassesEnv => Value::List(user_classes_env(env)),
        d => d.value(&s.kind),
    }
}

/// Phase 1, before the locustfile is imported: `-f/--locustfile`, `-h/--help`, `-V/--version`, `--config`
/// (and `--worker`, `--master`, `--master-host`, `--master-port` for `-f -`) from the command line, config
/// files and environment. Unknown options are ignored here. With `-h`/`-V`, the full parser runs as
/// Locust does, so an error that comes before them on the command line is still reported.
pub fn pre_parse(argv: &[String], env: &Env) -> Result<Pre, CliError> {
    let specs = spec::pre_table();
    let actions: Vec<Action> = specs.iter().map(to_action).collect();
    let args = config::merged_args(argv, env, &actions, false)?;
    let outcome = Parser::new(&actions, &env.cwd, Vec::new())
        .parse(&args)
        .map_err(CliError::Usage)?;
    let mut values: IndexMap<String, Value> = specs
        .iter()
        .map(|s| (s.dest.to_string(), default_value(s, env)))
        .collect();
    for t in &outcome.taken {
        values.insert(actions[t.action].dest.clone(), t.value.clone());
    }
    let o = Options::from_values(&values, BTreeSet::new());
    let mut pre = Pre {
        locustfiles: o
            .locustfile
            .split(',')
            .map(|p| p.trim().to_string())
            .collect(),
        help: false,
        version: false,
        config: o.config,
        worker: o.worker,
        master: o.master,
        master_host: o.master_host,
        master_port: o.master_port,
        master_secret_file: o.master_secret_file,
    };
    let flag = |k: &str| matches!(values.get(k), Some(Value::Bool(true)));
    if flag("help") || flag("version") {
        let full: Vec<Action> = spec::table().iter().map(to_action).collect();
        let args = config::merged_args(argv, env, &full, true)?;
        let outcome = Parser::new(&full, &env.cwd, user_classes_env(env))
            .parse(&args)
            .map_err(CliError::Usage)?;
        match outcome.stop {
            Some(Stop::Help) => pre.help = true,
            Some(Stop::Version) => pre.version = true,
            None if !outcome.extras.is_empty() => {
                return Err(CliError::Usage(unrecognized(&outcome.extras, &full)));
            }
            None => {}
        }
    }
    Ok(pre)
}

/// Phase 2: every option, with the ones the locustfile added. Applies Locust's checks that follow the
/// parse: `--csv-full-history` needs `--csv` (exit 2), `--headful` clears `--headless`, `--autoquit` needs
/// `--autostart` (exit 1). A `-h`/`-V` reached here comes back as [`CliError::Help`] / [`CliError::Version`].
pub fn parse(argv: &[String], env: &Env, custom: &[CustomArg]) -> Result<Parsed, CliError> {
    parse_inner(argv, env, custom, false).map(|(parsed, _)| parsed)
}

/// [`parse`] as argparse's `parse_known_args` (a script's `get_parser().parse_known_args()`): the arguments no
/// option takes are returned instead of refused.
pub fn parse_known(
    argv: &[String],
    env: &Env,
    custom: &[CustomArg],
) -> Result<(Parsed, Vec<String>), CliError> {
    parse_inner(argv, env, custom, true)
}

fn parse_inner(
    argv: &[String],
    env: &Env,
    custom: &[CustomArg],
    known: bool,
) -> Result<(Parsed, Vec<String>), CliError> {
    let specs = spec::table();
    let mut actions: Vec<Action> = specs.iter().map(to_action).collect();
    actions.extend(custom.iter().filter_map(custom_action));
    let args = config::merged_args(argv, env, &actions, true)?;
    let outcome = Parser::new(&actions, &env.cwd, user_classes_env(env))
        .parse(&args)
        .map_err(CliError::Usage)?;
    match outcome.stop {
        Some(Stop::Help) => return Err(CliError::Help(help_text(custom))),
        Some(Stop::Version) => return Err(CliError::Version),
        None => {}
    }
    if !outcome.extras.is_empty() && !known {
        return Err(CliError::Usage(unrecognized(&outcome.extras, &actions)));
    }
    let mut values: IndexMap<String, Value> = specs
        .iter()
        .filter(|s| !s.dest.is_empty())
        .map(|s| (s.dest.to_string(), default_value(s, env)))
        .collect();
    let mut custom_argv = Vec::new();
    let mut given = BTreeSet::new();
    for t in &outcome.taken {
        let a = &actions[t.action];
        if a.custom.is_some() {
            // the option string that was used (its action may tell them apart: `--x`/`--no-x`, a custom
            // Action's option_string), with the values it took
            let option = t.option.clone();
            match t.raw.as_slice() {
                [] => custom_argv.push(option),
                [one] => custom_argv.push(format!("{option}={one}")),
                many => {
                    custom_argv.push(option);
                    custom_argv.extend(many.iter().cloned());
                }
            }
        } else if !a.dest.is_empty() {
            values.insert(a.dest.clone(), t.value.clone());
            given.insert(a.dest.clone());
        }
    }

    if matches!(values.get("stats_history_enabled"), Some(Value::Bool(true)))
        && matches!(values.get("csv_prefix"), Some(Value::None) | None)
    {
        return Err(CliError::Usage(
            "'--csv-full-history' requires '--csv'.".into(),
        ));
    }
    if matches!(values.get("headful"), Some(Value::Bool(true))) {
        values.insert("headless".into(), Value::Bool(false));
    }
    let autoquit = matches!(values.get("autoquit"), Some(Value::Int(q)) if *q != -1);
    if autoquit && !matches!(values.get("autostart"), Some(Value::Bool(true))) {
        return Err(CliError::Fatal {
            message: "--autoquit is only meaningful in combination with --autostart".into(),
            code: 1,
        });
    }
    let mut options = Options::from_values(&values, given);
    options.checks_by_plugin = custom.iter().any(|c| {
        matches!(
            c.dest.as_str(),
            "check_rps" | "check_fail_ratio" | "check_avg_response_time"
        )
    });
    Ok((
        Parsed {
            options,
            values,
            custom_argv,
        },
        outcome.extras,
    ))
}

/// How argparse writes an option in the help: `-f <filename>, --locustfile <filename>`.
fn invocation(flags: &[String], kind: &Kind, metavar: Option<&str>, dest: &str) -> String {
    let metavar = metavar
        .map(str::to_string)
        .unwrap_or_else(|| dest.to_uppercase());
    let args = match kind {
        Kind::Positional => return metavar,
        Kind::Flag
        | Kind::Help
        | Kind::Version
        | Kind::Reject {
            takes_value: false, ..
        } => return flags.join(", "),
        Kind::Multi(_) => format!("[{metavar} ...]"),
        Kind::Single(_)
        | Kind::Reject {
            takes_value: true, ..
        } => metavar,
    };
    flags
        .iter()
        .map(|f| format!("{f} {args}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How argparse writes a locustfile's option in the help, by its nargs: `--x X`, `--x [X]`, `--x [X ...]`,
/// `--x X [X ...]`, `--x X X`, or the option strings alone.
fn custom_invocation(flags: &[String], nargs: Nargs, dest: &str) -> String {
    let m = dest.to_uppercase();
    let args = match nargs {
        Nargs::Zero => return flags.join(", "),
        Nargs::One => m,
        Nargs::Optional => format!("[{m}]"),
        Nargs::Star => format!("[{m} ...]"),
        Nargs::Plus => format!("{m} [{m} ...]"),
        Nargs::Exactly(n) => vec![m; n].join(" "),
    };
    flags
        .iter()
        .map(|f| format!("{f} {args}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// argparse's `%(name)s` substitutions in a locustfile option's help.
fn expand_help(c: &CustomArg, text: &str) -> String {
    let metavar = c.dest.to_uppercase();
    text.replace(
        "%(default)s",
        c.default_display.as_deref().unwrap_or("None"),
    )
    .replace("%(dest)s", &c.dest)
    .replace("%(metavar)s", &metavar)
    .replace("%(prog)s", PROG)
    .replace("%%", "%")
}

/// The help: usage line, Locust's option groups with every visible option (locustfile options at the end
/// of "Common options"), and examples. Wrapped to `$COLUMNS` (default 80) like argparse.
pub fn help_text(custom: &[CustomArg]) -> String {
    help_text_width(custom, help::columns())
}

/// [`help_text`] for a given terminal width.
pub fn help_text_width(custom: &[CustomArg], columns: usize) -> String {
    let mut entries = Vec::new();
    let specs = spec::table();
    let common_end = specs
        .iter()
        .rposition(|s| s.group == spec::Group::Common)
        .unwrap_or(0);
    for (i, s) in specs.iter().enumerate() {
        if let Some(h) = s.help {
            let flags: Vec<String> = s.flags.iter().map(|f| f.to_string()).collect();
            entries.push(help::Entry {
                invocation: invocation(&flags, &s.kind, s.metavar, s.dest),
                help: Some(if options::is_not_built(s.dest) {
                    format!("{h}{}", options::NOT_BUILT_HELP)
                } else {
                    h.to_string()
                }),
                group: s.group,
            });
        }
        if i == common_end {
            for c in custom.iter().filter(|c| !c.hidden) {
                let Some(a) = custom_action(c) else { continue };
                entries.push(help::Entry {
                    invocation: custom_invocation(&a.flags, c.nargs, &c.dest),
                    help: c.help.as_deref().map(|h| expand_help(c, h)),
                    group: spec::Group::Common,
                });
            }
        }
    }
    help::render(&entries, columns)
}
