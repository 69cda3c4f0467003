//! Config files and `LOCUST_*` variables, merged the way Locust's configargparse does it (reference §4.3):
//! every setting becomes command-line text, inserted in front of the user's own options, so that the final
//! argument list reads `~/.locust.conf`, `./locust.conf`, `./pyproject.toml`, `--config` file, environment,
//! command line — and the last occurrence wins. On top of that:
//! - a setting is dropped when its exact option string already appears in the arguments built so far
//!   (`-u 5` and `--users=5` count, `-u5` and abbreviations do not), so a lower source is not even checked;
//! - a flag set to false in a higher source keeps lower sources from setting it;
//! - keys are long option names without the dashes; an unknown key becomes `--key=value` and is then
//!   treated like any command-line text (a unique prefix of an option works, anything else is an
//!   "unrecognized arguments" error);
//! - flags take true/yes/on/1 or false/no/off/0; `[a, b]` is a list; an empty value is skipped for list
//!   options.
//!
//! A locustfile's options follow the same rules by their argparse action: `store_true`, `store_false`,
//! `store_const`, `append_const` are flags; a `count` also takes a number (the option that many times); a
//! `BooleanOptionalAction` gives `--x` for true and `--no-x` for false; an `append`/`extend` option takes a list as
//! one option per element; any option with a `nargs` skips an empty value and reads `[a, b]` from a variable.

use super::CliError;
use super::Env;
use super::argparse::{Action, Class, Parser, os_error_text};
use super::pyval::{PyVal, json_loads, py_int};
use crate::pyfmt::py_str_repr;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// A config-file or environment value: text, or a list from `[a, b]` / TOML arrays.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Text(String),
    List(Vec<PyVal>),
}

/// `[a, b, c]` as configargparse reads it: JSON if it parses, else split on commas.
fn bracket_list(value: &str) -> Item {
    match json_loads(value) {
        Ok(PyVal::List(items)) => Item::List(items),
        Ok(other) => Item::List(vec![other]),
        Err(_) => {
            let inner = &value[1..value.len() - 1];
            Item::List(
                inner
                    .split(',')
                    .map(|e| PyVal::Str(e.trim().to_string()))
                    .collect(),
            )
        }
    }
}

/// configargparse's `already_on_command_line`.
fn on_command_line(args: &[String], flags: &[String]) -> bool {
    let mut names: Vec<&str> = Vec::new();
    for a in args {
        if a == "--" {
            break;
        }
        if a.starts_with('-') && a.contains('=') {
            names.push(a.split('=').next().unwrap_or(a));
        } else {
            names.push(a);
        }
    }
    flags.iter().any(|f| names.contains(&f.as_str()))
}

/// Where configargparse inserts settings: before `--`, else before the first option-looking argument.
fn insertion_index(args: &[String]) -> usize {
    if let Some(i) = args.iter().position(|a| a == "--") {
        return i;
    }
    args.iter()
        .position(|a| a.starts_with('-'))
        .unwrap_or(args.len())
}

/// Option string `i` of a flag (configargparse indexes a `BooleanOptionalAction`'s strings as Python does; a
/// missing one is Python's IndexError).
fn nth_flag(a: &Action, i: usize) -> Result<String, CliError> {
    a.flags.get(i).cloned().ok_or_else(|| CliError::Fatal {
        message: "IndexError: list index out of range".into(),
        code: 1,
    })
}

/// configargparse's `convert_item_to_command_line_arg`.
fn to_args(action: Option<&Action>, key: &str, item: Item) -> Result<Vec<String>, CliError> {
    let cl_key = match action {
        Some(a) => a.flags.last().cloned().unwrap_or_default(),
        None => format!("--{}", key.trim_matches('-')),
    };
    let mut out = Vec::new();
    if let Some(a) = action
        && a.is_flag_type()
    {
        let Item::Text(value) = item else {
            return Err(CliError::Fatal {
                message: "AssertionError: config parser should convert anything that is not a list to string.".into(),
                code: 1,
            });
        };
        let class = a.class();
        match value.to_lowercase().as_str() {
            "true" | "yes" | "on" | "1" if class == Class::BooleanOptional => {
                out.push(nth_flag(a, 0)?)
            }
            "true" | "yes" | "on" | "1" => out.push(cl_key),
            "false" | "no" | "off" | "0" if class == Class::BooleanOptional => {
                out.push(nth_flag(a, 1)?)
            }
            "false" | "no" | "off" | "0" => {}
            _ if class == Class::Count => {
                // the first option string as many times as the number says (none for a negative one)
                let n = py_int(&value).ok_or_else(|| CliError::Fatal {
                    message: format!(
                        "ValueError: invalid literal for int() with base 10: {}",
                        py_str_repr(&value)
                    ),
                    code: 1,
                })?;
                let first = nth_flag(a, 0)?;
                out.extend(std::iter::repeat_n(first, n.max(0) as usize));
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "Unexpected value for {key}: '{value}'. Expecting 'true', 'false', 'yes', 'no', 'on', 'off', '1' or '0'"
                )));
            }
        }
        return Ok(out);
    }
    match item {
        Item::List(items) => {
            let takes_list = action.is_some_and(|a| a.nargs().takes_list());
            if action.is_none_or(|a| a.class() == Class::Append) {
                // once per element; an element that is itself a list gives several values to an option that
                // takes them
                for e in &items {
                    match e {
                        PyVal::List(sub) if takes_list => {
                            out.push(cl_key.clone());
                            out.extend(sub.iter().map(PyVal::py_str));
                        }
                        _ => out.push(format!("{cl_key}={}", e.py_str())),
                    }
                }
            } else if takes_list {
                out.push(cl_key);
                out.extend(items.iter().map(PyVal::py_str));
            } else {
                return Err(CliError::Usage(format!(
                    "{key} can't be set to a list '{}' unless its action type is changed to 'append' or nargs is set to '*', '+', or > 1",
                    PyVal::List(items).py_repr()
                )));
            }
            if out.iter().any(|a| a == "--") {
                return Err(CliError::Usage(format!(
                    "{key} can't have '--' as a list element, since it would end option parsing"
                )));
            }
        }
        Item::Text(value) => out.push(format!("{cl_key}={value}")),
    }
    Ok(out)
}

/// The environment pass: settings from the actions' variables, in action order.
fn env_args(
    cli: &[String],
    env: &Env,
    actions: &[Action],
) -> Result<(Vec<String>, Vec<usize>), CliError> {
    let mut args = Vec::new();
    let mut flags = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        let Some(var) = a.env.as_deref() else {
            continue;
        };
        if a.is_positional() {
            continue;
        }
        let Some(value) = env.get(var) else { continue };
        if on_command_line(cli, &a.flags) {
            continue;
        }
        let nargs = a.nargs().truthy();
        if value.is_empty() && nargs {
            continue;
        }
        let listy = nargs || a.class() == Class::Append;
        let item = if listy && value.starts_with('[') && value.ends_with(']') {
            bracket_list(value)
        } else {
            Item::Text(value.to_string())
        };
        args.extend(to_args(Some(a), var, item)?);
        if a.is_flag_type() {
            flags.push(i);
        }
    }
    Ok((args, flags))
}

/// A config file to read: the name Locust shows in messages and the path to open.
struct Source {
    label: String,
    path: PathBuf,
}

/// Python's `os.path.expanduser` for `~` and `~/...`.
fn expand_user(p: &str, env: &Env) -> String {
    if (p == "~" || p.starts_with("~/"))
        && let Some(home) = &env.home
    {
        return format!(
            "{}{}",
            home.to_string_lossy().trim_end_matches('/'),
            &p[1..]
        );
    }
    p.to_string()
}

fn resolve(cwd: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

/// The default files that exist, then the `--config` file found in `args`.
fn sources(args: &[String], env: &Env) -> Result<Vec<Source>, CliError> {
    let mut out = Vec::new();
    let defaults = ["~/.locust.conf", "locust.conf", "pyproject.toml"].map(String::from);
    for name in env.config_files.as_deref().unwrap_or(&defaults) {
        if name.starts_with('~') && env.home.is_none() {
            continue;
        }
        let label = expand_user(name, env);
        let path = resolve(&env.cwd, &label);
        if path.symlink_metadata().is_ok() {
            out.push(Source { label, path });
        }
    }
    // A parser that knows only --config finds the file (its errors are ignored here).
    let only = [Action {
        flags: vec!["--config".into()],
        dest: "config".into(),
        kind: super::spec::Kind::Single(super::spec::Ty::Str),
        env: None,
        metavar: None,
        custom: None,
    }];
    let found = Parser::new(&only, &env.cwd, Vec::new())
        .parse(args)
        .ok()
        .and_then(|o| {
            o.taken
                .last()
                .map(|t| t.raw.first().cloned().unwrap_or_default())
        });
    if let Some(file) = found.filter(|f| !f.is_empty()) {
        let label = expand_user(&file, env);
        let path = resolve(&env.cwd, &label);
        let opened = std::fs::File::open(&path).and_then(|f| {
            if f.metadata()?.is_dir() {
                Err(std::io::Error::from_raw_os_error(21))
            } else {
                Ok(())
            }
        });
        if let Err(e) = opened {
            return Err(CliError::Usage(format!(
                "Unable to open config file: {label}. Error: {}",
                os_error_text(&e, &label)
            )));
        }
        out.push(Source { label, path });
    }
    Ok(out)
}

fn read(source: &Source) -> Result<String, CliError> {
    std::fs::read(&source.path)
        .map_err(|e| CliError::Fatal {
            message: os_error_text(&e, &source.label),
            code: 1,
        })
        .and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| CliError::Fatal {
                message: format!("{}: the config file is not valid UTF-8", source.label),
                code: 1,
            })
        })
}

/// configargparse's default format: `key = value`, `key: value`, `key value`, a bare `key` (true),
/// `#`/`;` comments, `[sections]` and `---` lines ignored, `[a, b]` lists.
pub fn parse_conf(text: &str, label: &str) -> Result<IndexMap<String, Item>, CliError> {
    let mut items = IndexMap::new();
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    for (i, raw_line) in normalized.split_inclusive('\n').enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with(['#', ';', '[']) || line.starts_with("---") {
            continue;
        }
        let Some((key, value)) = conf_line(line) else {
            return Err(CliError::Config(format!(
                "Unexpected line {i} in {label}: {line}"
            )));
        };
        let item = if value.starts_with('[') && value.ends_with(']') {
            bracket_list(&value)
        } else {
            Item::Text(value)
        };
        items.insert(key, item);
    }
    Ok(items)
}

fn is_ws(c: char) -> bool {
    c.is_whitespace()
}

/// One `key [sep value] [comment]` line (already stripped): the key and the value configargparse reads.
fn conf_line(line: &str) -> Option<(String, String)> {
    let key_end = line
        .find(|c: char| matches!(c, ':' | '=' | ';' | '#') || is_ws(c))
        .unwrap_or(line.len());
    if key_end == 0 {
        return None;
    }
    let key = &line[..key_end];
    let rest = &line[key_end..];
    if rest.is_empty() {
        return Some((key.to_string(), "true".to_string()));
    }
    // After the key: optional whitespace, then a separator (':' '=' or whitespace).
    let trimmed = rest.trim_start_matches(is_ws);
    let (sep_is_space, after_sep) = match trimmed.chars().next() {
        Some(c @ (':' | '=')) => (false, &trimmed[c.len_utf8()..]),
        _ if rest.starts_with(is_ws) => (true, trimmed),
        _ => return None,
    };
    if sep_is_space && after_sep.is_empty() {
        return Some((key.to_string(), "true".to_string()));
    }
    let after_sep = after_sep.trim_start_matches(is_ws);
    // The value ends at the end or before the first " #..." / " ;..." comment.
    let mut value_end = after_sep.len();
    let chars: Vec<(usize, char)> = after_sep.char_indices().collect();
    for (n, &(idx, c)) in chars.iter().enumerate() {
        if is_ws(c) {
            let mut m = n;
            while m < chars.len() && is_ws(chars[m].1) {
                m += 1;
            }
            if m < chars.len() && matches!(chars[m].1, '#' | ';') && idx > 0 {
                value_end = idx;
                break;
            }
        }
    }
    let mut value = after_sep[..value_end].trim_end_matches(is_ws);
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            value = &value[1..value.len() - 1];
            break;
        }
    }
    if value.is_empty() {
        // No value: "true" after a space (`key ""` too), an empty text after ':' or '='.
        let v = if sep_is_space { "true" } else { "" };
        return Some((key.to_string(), v.to_string()));
    }
    Some((key.to_string(), value.to_string()))
}

fn tool_crash(kind: &str) -> CliError {
    CliError::Fatal {
        message: format!("AttributeError: '{kind}' object has no attribute 'get'"),
        code: 1,
    }
}

/// A TOML value as the Python value tomllib gives.
fn toml_to_py(v: &toml::Value) -> PyVal {
    match v {
        toml::Value::String(s) => PyVal::Str(s.clone()),
        toml::Value::Integer(i) => PyVal::Int(i.to_string()),
        toml::Value::Float(f) => PyVal::Float(*f),
        toml::Value::Boolean(b) => PyVal::Bool(*b),
        toml::Value::Datetime(d) => PyVal::DateTime(datetime_str(d)),
        toml::Value::Array(items) => PyVal::List(items.iter().map(toml_to_py).collect()),
        toml::Value::Table(t) => {
            PyVal::Dict(t.iter().map(|(k, v)| (k.clone(), toml_to_py(v))).collect())
        }
    }
}

/// Python's `str()` of the `datetime`, `date` or `time` tomllib makes of a TOML date/time (microseconds,
/// truncated, shown when not zero; `Z` as `+00:00`).
fn datetime_str(d: &toml::value::Datetime) -> String {
    let mut out = String::new();
    if let Some(date) = d.date {
        out.push_str(&format!(
            "{:04}-{:02}-{:02}",
            date.year, date.month, date.day
        ));
    }
    if let Some(t) = d.time {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            t.hour,
            t.minute,
            t.second.unwrap_or(0)
        ));
        let micros = t.nanosecond.unwrap_or(0) / 1000;
        if micros > 0 {
            out.push_str(&format!(".{micros:06}"));
        }
    }
    match d.offset {
        Some(toml::value::Offset::Z) => out.push_str("+00:00"),
        Some(toml::value::Offset::Custom { minutes }) => {
            let sign = if minutes < 0 { '-' } else { '+' };
            let m = minutes.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
        }
        None => {}
    }
    out
}

/// The TOML error as one line: the toml crate's message and where, like tomllib's "... (at line 1, column 13)".
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let what = e.message().trim().replace('\n', "; ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("{what} (at line {line}, column {col})")
        }
        None => what,
    }
}

/// `[tool.locust]` of a TOML file: lists stay lists, other values become their Python `str()`. The file is
/// read as Python reads text (`\r\n` and `\r` as `\n`) and must be valid TOML as a whole.
fn parse_toml(text: &str) -> Result<IndexMap<String, Item>, CliError> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let doc: toml::Table = text.parse().map_err(|e| {
        CliError::Config(format!(
            "Couldn't parse TOML file: {}",
            toml_error(&text, &e)
        ))
    })?;
    let section = match doc.get("tool") {
        Some(toml::Value::Table(tool)) => tool.get("locust"),
        // Locust's lookup crashes on a non-table `tool` that Python considers true.
        Some(toml::Value::Array(l)) if !l.is_empty() => return Err(tool_crash("list")),
        Some(toml::Value::String(s)) if !s.is_empty() => return Err(tool_crash("str")),
        Some(toml::Value::Datetime(d)) => {
            return Err(tool_crash(match (d.date, d.time) {
                (Some(_), Some(_)) => "datetime.datetime",
                (Some(_), None) => "datetime.date",
                _ => "datetime.time",
            }));
        }
        Some(toml::Value::Boolean(true)) => return Err(tool_crash("bool")),
        Some(toml::Value::Integer(i)) if *i != 0 => return Err(tool_crash("int")),
        Some(toml::Value::Float(f)) if *f != 0.0 => return Err(tool_crash("float")),
        _ => None,
    };
    let mut items = IndexMap::new();
    if let Some(toml::Value::Table(entries)) = section {
        for (k, v) in entries {
            let item = match toml_to_py(v) {
                PyVal::List(l) => Item::List(l),
                other => Item::Text(other.py_str()),
            };
            items.insert(k.clone(), item);
        }
    }
    Ok(items)
}

/// Build the argument list Locust's parser really sees: `cli` with the environment and config-file
/// settings inserted. `reads_help` is true for the full parser (a literal `-h`/`--help` then skips the
/// config files, as configargparse does).
pub fn merged_args(
    cli: &[String],
    env: &Env,
    actions: &[Action],
    reads_help: bool,
) -> Result<Vec<String>, CliError> {
    let mut args = cli.to_vec();
    let (env_part, mut flags_set_above) = env_args(cli, env, actions)?;
    let at = insertion_index(&args);
    args.splice(at..at, env_part);

    if reads_help && args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(args);
    }
    let mut known: IndexMap<String, usize> = IndexMap::new();
    for (i, a) in actions.iter().enumerate() {
        for f in &a.flags {
            if let Some(name) = f.strip_prefix("--") {
                known.insert(name.to_string(), i);
                known.insert(f.clone(), i);
            }
        }
    }
    let files = sources(&args, env)?;
    for source in files.iter().rev() {
        let text = read(source)?;
        let items = if source.label.ends_with(".toml") {
            parse_toml(&text)?
        } else {
            parse_conf(&text, &source.label)?
        };
        let mut part = Vec::new();
        let mut flags_here = Vec::new();
        for (key, item) in items {
            let action = known.get(&key).copied();
            let discard = match action {
                Some(i) => {
                    flags_set_above.contains(&i) || on_command_line(&args, &actions[i].flags)
                }
                None => on_command_line(&args, &[format!("--{}", key.trim_matches('-'))]),
            };
            if let (Some(i), Item::Text(v)) = (action, &item)
                && v.is_empty()
                && actions[i].nargs().truthy()
            {
                continue;
            }
            if !discard {
                part.extend(to_args(action.map(|i| &actions[i]), &key, item)?);
                if let Some(i) = action
                    && actions[i].is_flag_type()
                {
                    flags_here.push(i);
                }
            }
        }
        let at = insertion_index(&args);
        args.splice(at..at, part);
        flags_set_above.extend(flags_here);
    }
    Ok(args)
}
