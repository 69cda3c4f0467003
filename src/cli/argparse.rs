//! A command-line engine with Python argparse's rules (Python 3.11, as Locust 2.47 runs it), driven by the
//! option table. Locust's command line is argparse's, so these are the rules users rely on:
//! - every argument is first classified as an option, a value, or `--`; an unknown `-x`/`--xyz` is an
//!   option unless it looks like a negative number or contains a space;
//! - unique prefixes of long options work (`--head` is ambiguous, `--skip-log` is `--skip-log-setup`);
//!   an ambiguous prefix is an error before anything else is looked at;
//! - `--opt=value`, `--opt value`, `-u5`, `-u=5`, clusters of short flags (`-lu 5`);
//! - an option that takes one value refuses a following option (`-u -H`), but negative numbers are values;
//! - `nargs="*"` options take every following value; the positional user-class list is consumed the first
//!   time values appear (before the first option, or after the last one), so values after that are
//!   unrecognized; a locustfile's options also take `"?"`, `"+"` and counts (argparse's "expected ..." errors);
//! - values are converted (and their errors raised) in command-line order; the "unrecognized arguments"
//!   error comes only at the end; help and version stop parsing when they are reached.
//!
//! Error texts are argparse's (`argument -u/--users: invalid int value: 'x'`) and Locust's own
//! "Did you mean" hint comes from the same similarity measure as Python's difflib.

use super::Value;
use super::pyval::{PyVal, json_loads, py_float, py_int};
use super::spec::{Kind, Ty};
use super::timespan::parse_timespan;
use crate::pyfmt::py_str_repr;
use std::path::{Path, PathBuf};

/// One option or positional the engine knows.
#[derive(Clone, Debug)]
pub struct Action {
    /// Option strings in declaration order (empty for a positional).
    pub flags: Vec<String>,
    /// Where the value goes (empty for help and version).
    pub dest: String,
    pub kind: Kind,
    pub env: Option<String>,
    pub metavar: Option<String>,
    /// A locustfile's option (its values are passed on to Python's argparse, not converted): how many values it
    /// takes and what configargparse makes of its action class. `None` for a built-in option.
    pub custom: Option<Custom>,
}

/// How many values an action takes (argparse's nargs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nargs {
    /// `nargs=0` (flags, counters, `store_const`, ...).
    Zero,
    /// No nargs: one value, stored as is.
    One,
    /// `"?"`: one value if one follows, else none (the action's `const`).
    Optional,
    /// `"*"`.
    Star,
    /// `"+"`.
    Plus,
    /// An integer: exactly that many values (stored as a list, even for 1).
    Exactly(usize),
}

impl Nargs {
    /// A locustfile action's nargs as `custom_arg_specs` writes it: `None` for none, else `str(nargs)`. argparse's
    /// `"..."` (REMAINDER) and `"A..."` (sub-parsers) are read as `"*"`.
    pub fn from_python(nargs: Option<&str>) -> Nargs {
        match nargs {
            None => Nargs::One,
            Some("?") => Nargs::Optional,
            Some("+") => Nargs::Plus,
            Some(n) => match n.parse::<usize>() {
                Ok(0) => Nargs::Zero,
                Ok(n) => Nargs::Exactly(n),
                Err(_) => Nargs::Star,
            },
        }
    }

    /// Python's truth value of the action's `nargs` (configargparse tests it): false for none and for 0.
    pub fn truthy(self) -> bool {
        !matches!(self, Nargs::Zero | Nargs::One | Nargs::Exactly(0))
    }

    /// configargparse's "accepts a list": `"*"`, `"+"` or an integer above 1.
    pub fn takes_list(self) -> bool {
        matches!(self, Nargs::Star | Nargs::Plus) || matches!(self, Nargs::Exactly(n) if n > 1)
    }
}

/// The action class of a locustfile's option, as far as configargparse tells them apart when it turns a config-file
/// or environment value into arguments (by `isinstance`, so subclasses count as their base).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `store` and any other class (a locustfile's own `argparse.Action`): the value as `--x=value`.
    Store,
    /// `append` and `extend`: a list value gives the option once per element.
    Append,
    /// `store_true`, `store_false`, `store_const`, `append_const`: true/yes/on/1 gives the option, false/... nothing.
    Flag,
    /// `count`: as a flag, or a number N gives the first option string N times.
    Count,
    /// `argparse.BooleanOptionalAction`: true gives its first option string, false its second (`--no-x`).
    BooleanOptional,
}

impl Class {
    /// The class as `custom_arg_specs` names it (`store`, `append`, `flag`, `count`, `boolean_optional`); an unknown
    /// name is `store`.
    pub fn from_name(name: &str) -> Class {
        match name {
            "append" => Class::Append,
            "flag" => Class::Flag,
            "count" => Class::Count,
            "boolean_optional" => Class::BooleanOptional,
            _ => Class::Store,
        }
    }
}

/// What the parser knows of a locustfile's option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Custom {
    pub nargs: Nargs,
    pub class: Class,
}

impl Action {
    pub fn nargs(&self) -> Nargs {
        if let Some(c) = &self.custom {
            return c.nargs;
        }
        match self.kind {
            Kind::Flag | Kind::Help | Kind::Version => Nargs::Zero,
            Kind::Reject {
                takes_value: true, ..
            }
            | Kind::Single(_) => Nargs::One,
            Kind::Reject {
                takes_value: false, ..
            } => Nargs::Zero,
            Kind::Multi(_) | Kind::Positional => Nargs::Star,
        }
    }

    /// configargparse's "action that needs no value" (set with true/false in env vars and config files).
    pub fn is_flag_type(&self) -> bool {
        match &self.custom {
            Some(c) => matches!(c.class, Class::Flag | Class::Count | Class::BooleanOptional),
            None => matches!(self.kind, Kind::Flag),
        }
    }

    /// The action's class as configargparse sees it (built-in flags are `store_true`, the others `store`).
    pub fn class(&self) -> Class {
        match &self.custom {
            Some(c) => c.class,
            None if self.is_flag_type() => Class::Flag,
            None => Class::Store,
        }
    }

    /// A positional takes no option strings.
    pub fn is_positional(&self) -> bool {
        self.flags.is_empty()
    }

    /// The name argparse uses in "argument X: ..." errors.
    pub fn display_name(&self) -> String {
        if !self.flags.is_empty() {
            self.flags.join("/")
        } else if let Some(m) = &self.metavar {
            m.clone()
        } else {
            self.dest.clone()
        }
    }
}

/// What stopped the parse early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Help,
    Version,
}

/// One action taken, in command-line order.
#[derive(Clone, Debug)]
pub struct Taken {
    pub action: usize,
    /// The option string that took it, in full (`--no-chat` for `--no-c`; `-v` for each `v` of `-vvv`); empty for
    /// the positional.
    pub option: String,
    /// The values as written (for locustfile options, passed on to Python).
    pub raw: Vec<String>,
    /// The converted value (built-in actions only; `Value::None` for locustfile ones).
    pub value: Value,
}

/// The outcome of a parse that did not fail.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub taken: Vec<Taken>,
    pub extras: Vec<String>,
    pub stop: Option<Stop>,
}

/// A parser over a set of actions.
pub struct Parser<'a> {
    pub actions: &'a [Action],
    /// Option string -> action index, in declaration order.
    map: Vec<(String, usize)>,
    negative_number_options: bool,
    /// Directory relative paths (a `--config-users` file) are read from.
    cwd: PathBuf,
    /// What the positional list holds when no value is given.
    positional_default: Vec<String>,
}

#[derive(Clone, Debug)]
enum Tok {
    Arg,
    Dash,
    Opt {
        action: Option<usize>,
        option: String,
        explicit: Option<String>,
    },
}

fn looks_negative(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-') else {
        return false;
    };
    if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    match rest.split_once('.') {
        Some((a, b)) => {
            a.bytes().all(|c| c.is_ascii_digit())
                && !b.is_empty()
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Split after the first character.
fn split_first_char(s: &str) -> (char, &str) {
    let mut it = s.chars();
    let c = it.next().unwrap_or('-');
    (c, it.as_str())
}

impl<'a> Parser<'a> {
    pub fn new(actions: &'a [Action], cwd: &Path, positional_default: Vec<String>) -> Self {
        let mut map = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            for f in &a.flags {
                match map.iter_mut().find(|(s, _): &&mut (String, usize)| s == f) {
                    Some(slot) => slot.1 = i,
                    None => map.push((f.clone(), i)),
                }
            }
        }
        let negative_number_options = map.iter().any(|(s, _)| looks_negative(s));
        Parser {
            actions,
            map,
            negative_number_options,
            cwd: cwd.to_path_buf(),
            positional_default,
        }
    }

    fn lookup(&self, s: &str) -> Option<usize> {
        self.map.iter().find(|(k, _)| k == s).map(|(_, i)| *i)
    }

    /// argparse's `_parse_optional`: `None` for a value, else the option (possibly unknown).
    fn classify(&self, arg: &str) -> Result<Tok, String> {
        if arg.is_empty() || !arg.starts_with('-') {
            return Ok(Tok::Arg);
        }
        if let Some(i) = self.lookup(arg) {
            return Ok(Tok::Opt {
                action: Some(i),
                option: arg.to_string(),
                explicit: None,
            });
        }
        if arg.chars().count() == 1 {
            return Ok(Tok::Arg);
        }
        if let Some((opt, explicit)) = arg.split_once('=')
            && let Some(i) = self.lookup(opt)
        {
            return Ok(Tok::Opt {
                action: Some(i),
                option: opt.to_string(),
                explicit: Some(explicit.to_string()),
            });
        }
        let mut matches: Vec<(usize, String, Option<String>)> = Vec::new();
        if arg.starts_with("--") {
            let (prefix, explicit) = match arg.split_once('=') {
                Some((p, e)) => (p, Some(e.to_string())),
                None => (arg, None),
            };
            for (s, i) in &self.map {
                if s.starts_with(prefix) {
                    matches.push((*i, s.clone(), explicit.clone()));
                }
            }
        } else {
            let (_, after_dash) = split_first_char(arg);
            let (second, tail) = split_first_char(after_dash);
            let short = format!("-{second}");
            for (s, i) in &self.map {
                if *s == short {
                    matches.push((*i, s.clone(), Some(tail.to_string())));
                } else if s.starts_with(arg) {
                    matches.push((*i, s.clone(), None));
                }
            }
        }
        if matches.len() > 1 {
            let names: Vec<&str> = matches.iter().map(|m| m.1.as_str()).collect();
            return Err(format!(
                "ambiguous option: {arg} could match {}",
                names.join(", ")
            ));
        }
        if let Some((i, option, explicit)) = matches.pop() {
            return Ok(Tok::Opt {
                action: Some(i),
                option,
                explicit,
            });
        }
        if looks_negative(arg) && !self.negative_number_options {
            return Ok(Tok::Arg);
        }
        if arg.contains(' ') {
            return Ok(Tok::Arg);
        }
        Ok(Tok::Opt {
            action: None,
            option: arg.to_string(),
            explicit: None,
        })
    }

    /// How many of the values described by `pattern` an option takes (argparse's `_match_argument`).
    fn match_option(&self, action: usize, pattern: &[u8]) -> Result<usize, String> {
        let a = &self.actions[action];
        let values = pattern.iter().take_while(|&&c| c == b'A').count();
        let expected = |what: String| Err(format!("argument {}: {what}", a.display_name()));
        match a.nargs() {
            Nargs::Zero => Ok(0),
            Nargs::One if values == 0 => expected("expected one argument".into()),
            Nargs::One => Ok(1),
            Nargs::Optional => Ok(values.min(1)),
            Nargs::Star => Ok(values),
            Nargs::Plus if values == 0 => expected("expected at least one argument".into()),
            Nargs::Plus => Ok(values),
            Nargs::Exactly(n) if values < n => expected(format!(
                "expected {n} argument{}",
                if n == 1 { "" } else { "s" }
            )),
            Nargs::Exactly(n) => Ok(n),
        }
    }

    /// Parse `args`. Unknown arguments end up in `extras`; errors are argparse's messages.
    pub fn parse(&self, args: &[String]) -> Result<Outcome, String> {
        let mut toks = Vec::with_capacity(args.len());
        let mut after_dash = false;
        for a in args {
            if after_dash {
                toks.push(Tok::Arg);
            } else if a == "--" {
                toks.push(Tok::Dash);
                after_dash = true;
            } else {
                toks.push(self.classify(a)?);
            }
        }
        let pattern: Vec<u8> = toks
            .iter()
            .map(|t| match t {
                Tok::Arg => b'A',
                Tok::Dash => b'-',
                Tok::Opt { .. } => b'O',
            })
            .collect();
        let option_indices: Vec<usize> = (0..toks.len()).filter(|&i| pattern[i] == b'O').collect();

        let mut out = Outcome::default();
        let mut positionals: Vec<usize> = (0..self.actions.len())
            .filter(|&i| self.actions[i].is_positional())
            .collect();

        let max_option = option_indices.last().copied();
        let mut start = 0usize;
        if let Some(max_option) = max_option {
            while start <= max_option {
                let next_option = option_indices
                    .iter()
                    .copied()
                    .find(|&i| i >= start)
                    .unwrap_or(max_option);
                if start != next_option {
                    let end = self.consume_positionals(
                        start,
                        args,
                        &pattern,
                        &mut positionals,
                        &mut out,
                    )?;
                    if out.stop.is_some() {
                        return Ok(out);
                    }
                    if end > start {
                        start = end;
                        continue;
                    }
                    start = end;
                }
                if pattern.get(start) != Some(&b'O') {
                    out.extras.extend(args[start..next_option].iter().cloned());
                    start = next_option;
                }
                start = self.consume_optional(start, args, &toks, &pattern, &mut out)?;
                if out.stop.is_some() {
                    return Ok(out);
                }
            }
        }
        let stop = self.consume_positionals(start, args, &pattern, &mut positionals, &mut out)?;
        if out.stop.is_some() {
            return Ok(out);
        }
        out.extras
            .extend(args[stop.min(args.len())..].iter().cloned());
        Ok(out)
    }

    fn consume_optional(
        &self,
        start: usize,
        args: &[String],
        toks: &[Tok],
        pattern: &[u8],
        out: &mut Outcome,
    ) -> Result<usize, String> {
        let Tok::Opt {
            action,
            option,
            explicit,
        } = &toks[start]
        else {
            return Ok(start + 1);
        };
        let (mut action, mut option, mut explicit) = (*action, option.clone(), explicit.clone());
        let mut pending: Vec<(usize, String, Vec<String>)> = Vec::new();
        let stop;
        loop {
            let Some(act) = action else {
                out.extras.push(args[start].clone());
                return Ok(start + 1);
            };
            if let Some(exp) = explicit.clone() {
                let count = self.match_option(act, b"A")?;
                let single_dash = option.chars().nth(1).is_some_and(|c| c != '-');
                if count == 0 && single_dash && !exp.is_empty() {
                    pending.push((act, option.clone(), Vec::new()));
                    let (c, rest) = split_first_char(&exp);
                    option = format!("-{c}");
                    match self.lookup(&option) {
                        Some(next) => {
                            action = Some(next);
                            explicit = if rest.is_empty() {
                                None
                            } else {
                                Some(rest.to_string())
                            };
                        }
                        None => {
                            return Err(format!(
                                "argument {}: ignored explicit argument {}",
                                self.actions[act].display_name(),
                                py_str_repr(&exp)
                            ));
                        }
                    }
                } else if count == 1 {
                    stop = start + 1;
                    pending.push((act, option, vec![exp]));
                    break;
                } else {
                    return Err(format!(
                        "argument {}: ignored explicit argument {}",
                        self.actions[act].display_name(),
                        py_str_repr(&exp)
                    ));
                }
            } else {
                let from = start + 1;
                let count = self.match_option(act, &pattern[from.min(pattern.len())..])?;
                stop = from + count;
                pending.push((act, option, args[from..stop].to_vec()));
                break;
            }
        }
        for (act, option, values) in pending {
            self.take(act, option, values, out)?;
            if out.stop.is_some() {
                break;
            }
        }
        Ok(stop)
    }

    fn consume_positionals(
        &self,
        start: usize,
        args: &[String],
        pattern: &[u8],
        positionals: &mut Vec<usize>,
        out: &mut Outcome,
    ) -> Result<usize, String> {
        let Some(&first) = positionals.first() else {
            return Ok(start);
        };
        // Only `nargs="*"` positionals exist: the first takes every value and `--` in front of it.
        let count = pattern[start.min(pattern.len())..]
            .iter()
            .take_while(|&&c| c == b'A' || c == b'-')
            .count();
        positionals.remove(0);
        self.take(
            first,
            String::new(),
            args[start..start + count].to_vec(),
            out,
        )?;
        Ok(start + count)
    }

    /// argparse's `take_action`: convert (raising conversion errors now) and record.
    fn take(
        &self,
        act: usize,
        option: String,
        raw: Vec<String>,
        out: &mut Outcome,
    ) -> Result<(), String> {
        let a = &self.actions[act];
        let mut values = raw.clone();
        if let Some(pos) = values.iter().position(|v| v == "--") {
            values.remove(pos);
        }
        let err = |msg: String| format!("argument {}: {}", a.display_name(), msg);
        let value = match &a.kind {
            Kind::Help => {
                out.stop = Some(Stop::Help);
                return Ok(());
            }
            Kind::Version => {
                out.stop = Some(Stop::Version);
                return Ok(());
            }
            Kind::Reject { message, .. } => return Err(err(message.to_string())),
            Kind::Flag => Value::Bool(true),
            _ if a.custom.is_some() => Value::None,
            Kind::Single(ty) => match values.as_slice() {
                [one] => convert(*ty, one, &self.cwd).map_err(err)?,
                _ => Value::List(Vec::new()),
            },
            Kind::Multi(ty) => {
                let mut list = Vec::with_capacity(values.len());
                for v in &values {
                    list.push(match convert(*ty, v, &self.cwd).map_err(err)? {
                        Value::Str(s) => s,
                        other => other.to_string(),
                    });
                }
                Value::List(list)
            }
            Kind::Positional => {
                if values.is_empty() {
                    Value::List(self.positional_default.clone())
                } else {
                    Value::List(values)
                }
            }
        };
        out.taken.push(Taken {
            action: act,
            option,
            raw,
            value,
        });
        Ok(())
    }
}

/// Convert one value with an option's type; the error is the text after "argument X: ".
pub fn convert(ty: Ty, s: &str, cwd: &Path) -> Result<Value, String> {
    match ty {
        Ty::Str | Ty::Raw => Ok(Value::Str(s.to_string())),
        Ty::Int => py_int(s)
            .map(Value::Int)
            .ok_or_else(|| format!("invalid int value: {}", py_str_repr(s))),
        Ty::PositiveInt => {
            let v = py_int(s).ok_or_else(|| format!("invalid int value: {}", py_str_repr(s)))?;
            if v < 1 {
                return Err(format!(
                    "Invalid --expect-workers argument ({v}), must be a positive number"
                ));
            }
            Ok(Value::Int(v))
        }
        Ty::SpawnRate => {
            let v =
                py_float(s).ok_or_else(|| format!("invalid checker value: {}", py_str_repr(s)))?;
            if !v.is_finite() {
                return Err("must be a finite number".into());
            }
            if v <= 0.0 {
                return Err("must be > 0".into());
            }
            Ok(Value::Float(v))
        }
        Ty::Float => py_float(s)
            .map(Value::Float)
            .ok_or_else(|| format!("invalid float value: {}", py_str_repr(s))),
        Ty::Timespan => parse_timespan(s).map(|v| Value::Int(v.min(i64::MAX as u64) as i64)),
        Ty::LogLevel => {
            let up = s.to_uppercase();
            const LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
            if LEVELS.contains(&up.as_str()) {
                Ok(Value::Str(up))
            } else {
                Err(format!(
                    "invalid choice: {} (choose from {})",
                    py_str_repr(&up),
                    LEVELS
                        .iter()
                        .map(|l| py_str_repr(l))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
        Ty::ConfigUsers => config_users(s, cwd).map(Value::Str),
    }
}

/// Locust's `json_user_config`: the value (or the named `.json` file) as JSON, always a list, where every
/// entry must name a `user_class_name`. Returns the list as compact JSON.
fn config_users(s: &str, cwd: &Path) -> Result<String, String> {
    let text = if s.ends_with(".json") {
        match std::fs::read_to_string(cwd.join(s)) {
            Ok(t) => t,
            Err(e) => return Err(os_error_text(&e, s)),
        }
    } else {
        s.to_string()
    };
    let parsed = json_loads(&text).map_err(|e| {
        format!(
            "The --config-users argument must be a valid JSON string or file: {}",
            e.0
        )
    })?;
    let list = match parsed {
        PyVal::List(items) => items,
        other => vec![other],
    };
    for entry in &list {
        let has = match entry {
            PyVal::Dict(items) => items.iter().any(|(k, _)| k == "user_class_name"),
            PyVal::List(items) => items
                .iter()
                .any(|v| *v == PyVal::Str("user_class_name".into())),
            PyVal::Str(text) => text.contains("user_class_name"),
            _ => {
                return Err(format!(
                    "invalid json_user_config value: {}",
                    py_str_repr(s)
                ));
            }
        };
        if !has {
            return Err("The user config must specify a user_class_name".into());
        }
    }
    Ok(PyVal::List(list).to_json())
}

/// Python's text for an OSError about `path`: "[Errno 2] No such file or directory: 'x'".
pub fn os_error_text(e: &std::io::Error, path: &str) -> String {
    let code = e.raw_os_error().unwrap_or(0);
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "Is a directory".to_string(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    };
    format!("[Errno {code}] {what}: {}", py_str_repr(path))
}

/// The "unrecognized arguments" error with Locust's hint: the option closest to the first unknown word,
/// by difflib's measure (similarity >= 0.6; the best score wins, ties go to the greater string).
pub fn unrecognized(extras: &[String], actions: &[Action]) -> String {
    let joined = extras.join(" ");
    let mut msg = format!("unrecognized arguments: {joined}");
    if let Some(word) = joined.split_whitespace().next() {
        let word: Vec<char> = word.chars().collect();
        let mut best: Option<(f64, &str)> = None;
        for opt in actions.iter().flat_map(|a| a.flags.iter()) {
            let cand: Vec<char> = opt.chars().collect();
            let score = ratio(&cand, &word);
            if score >= 0.6
                && best.is_none_or(|(s, o)| score > s || (score == s && opt.as_str() > o))
            {
                best = Some((score, opt.as_str()));
            }
        }
        if let Some((_, opt)) = best {
            msg.push_str(&format!("\nDid you mean '{opt}'?"));
        }
    }
    msg
}

/// difflib.SequenceMatcher(None, a, b).ratio().
pub fn ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    // b2j: positions of each element of b, minus "popular" ones when b is long (difflib's autojunk).
    let mut b2j: std::collections::HashMap<char, Vec<usize>> = std::collections::HashMap::new();
    for (j, &c) in b.iter().enumerate() {
        b2j.entry(c).or_default().push(j);
    }
    if b.len() >= 200 {
        let limit = b.len() / 100 + 1;
        b2j.retain(|_, v| v.len() <= limit);
    }
    let mut matched = 0usize;
    let mut queue = vec![(0usize, a.len(), 0usize, b.len())];
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest_match(a, b, &b2j, alo, ahi, blo, bhi);
        if k > 0 {
            matched += k;
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    2.0 * matched as f64 / total as f64
}

fn longest_match(
    a: &[char],
    b: &[char],
    b2j: &std::collections::HashMap<char, Vec<usize>>,
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
) -> (usize, usize, usize) {
    let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
    let mut j2len: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (i, ch) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut next: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        if let Some(js) = b2j.get(ch) {
            for &j in js {
                if j < blo {
                    continue;
                }
                if j >= bhi {
                    break;
                }
                let k = j
                    .checked_sub(1)
                    .and_then(|p| j2len.get(&p))
                    .copied()
                    .unwrap_or(0)
                    + 1;
                next.insert(j, k);
                if k > bestsize {
                    besti = i + 1 - k;
                    bestj = j + 1 - k;
                    bestsize = k;
                }
            }
        }
        j2len = next;
    }
    while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
        besti -= 1;
        bestj -= 1;
        bestsize += 1;
    }
    while besti + bestsize < ahi
        && bestj + bestsize < bhi
        && a[besti + bestsize] == b[bestj + bestsize]
    {
        bestsize += 1;
    }
    (besti, bestj, bestsize)
}
