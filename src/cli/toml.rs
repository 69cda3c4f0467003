//! A TOML 1.0 reader for `pyproject.toml` and `--config *.toml` files. Locust reads the whole file with
//! Python's tomllib and then takes `[tool.locust]`; a file that is not valid TOML is an error even when the
//! problem lies in another table. Tables become `PyVal::Dict` in file order; dates and times become their
//! Python `str()` form.

use super::pyval::PyVal;
use std::collections::HashSet;

type Table = Vec<(String, PyVal)>;

/// Parse a whole document. The error reads like "Expected '=' after a key (at line 3, column 7)".
pub fn parse(text: &str) -> Result<Doc, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = P {
        s: &chars,
        i: 0,
        depth: 0,
    };
    let mut root: Table = Vec::new();
    let mut declared: HashSet<Vec<String>> = HashSet::new();
    let mut arrays: HashSet<Vec<String>> = HashSet::new();
    let mut current: Vec<String> = Vec::new();
    loop {
        p.skip_blank_lines();
        let Some(c) = p.peek() else { break };
        if c == '[' {
            let array = p.peek_at(1) == Some('[');
            p.i += if array { 2 } else { 1 };
            p.ws();
            let path = p.key()?;
            p.ws();
            let close = if array { "]]" } else { "]" };
            let close_at = p.i;
            if !p.eat(close) {
                return Err(p.err(&format!(
                    "Expected '{close}' at the end of {} declaration",
                    if array {
                        "an array of tables"
                    } else {
                        "a table"
                    }
                )));
            }
            if !array && (declared.contains(&path) || arrays.contains(&path)) {
                let quoted: Vec<String> = path.iter().map(|k| super::pyval::str_repr(k)).collect();
                let tuple = if quoted.len() == 1 {
                    format!("({},)", quoted[0])
                } else {
                    format!("({})", quoted.join(", "))
                };
                p.i = close_at;
                return Err(p.err(&format!("Cannot declare {tuple} twice")));
            }
            p.end_of_line()?;
            if array {
                let (parent, last) = path.split_at(path.len() - 1);
                let t = table_at(&mut root, parent, &arrays).map_err(|m| p.err(&m))?;
                match t.iter_mut().find(|(k, _)| *k == last[0]) {
                    Some((_, PyVal::List(items))) if arrays.contains(&path) => {
                        items.push(PyVal::Dict(Vec::new()))
                    }
                    Some(_) => return Err(p.err("Cannot mutate immutable namespace")),
                    None => {
                        t.push((last[0].clone(), PyVal::List(vec![PyVal::Dict(Vec::new())])));
                        arrays.insert(path.clone());
                    }
                }
                declared.retain(|d| !d.starts_with(&path) || d.len() == path.len());
            } else {
                table_at(&mut root, &path, &arrays).map_err(|m| p.err(&m))?;
                declared.insert(path.clone());
            }
            current = path;
            continue;
        }
        let key = p.key()?;
        p.ws();
        if !p.eat("=") {
            return Err(p.err("Expected '=' after a key in a key/value pair"));
        }
        p.ws();
        let value = p.value()?;
        let mut full = current.clone();
        full.extend(key.iter().cloned());
        let (parent, last) = full.split_at(full.len() - 1);
        let t = table_at(&mut root, parent, &arrays).map_err(|m| p.err(&m))?;
        if t.iter().any(|(k, _)| *k == last[0]) {
            return Err(p.err("Cannot overwrite a value"));
        }
        t.push((last[0].clone(), value));
        p.end_of_line()?;
    }
    Ok(Doc(root))
}

/// A parsed document.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc(pub Table);

impl Doc {
    /// A top-level entry.
    pub fn get(&self, key: &str) -> Option<&PyVal> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The table at `path`, creating missing ones; an array of tables resolves to its last element.
fn table_at<'a>(
    root: &'a mut Table,
    path: &[String],
    arrays: &HashSet<Vec<String>>,
) -> Result<&'a mut Table, String> {
    let mut t = root;
    for (depth, name) in path.iter().enumerate() {
        let pos = match t.iter().position(|(k, _)| k == name) {
            Some(pos) => pos,
            None => {
                t.push((name.clone(), PyVal::Dict(Vec::new())));
                t.len() - 1
            }
        };
        let is_array = arrays.contains(&path[..=depth].to_vec());
        t = match &mut t[pos].1 {
            PyVal::Dict(inner) => inner,
            PyVal::List(items) if is_array => match items.last_mut() {
                Some(PyVal::Dict(inner)) => inner,
                _ => return Err("Cannot mutate immutable namespace".into()),
            },
            _ => return Err("Cannot overwrite a value".into()),
        };
    }
    Ok(t)
}

struct P<'a> {
    s: &'a [char],
    i: usize,
    /// Nesting of arrays and inline tables (bounded so hostile input cannot exhaust the stack).
    depth: usize,
}

fn bare_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.i + n).copied()
    }

    fn eat(&mut self, lit: &str) -> bool {
        let n = lit.chars().count();
        if self.i + n <= self.s.len() && self.s[self.i..self.i + n].iter().copied().eq(lit.chars())
        {
            self.i += n;
            true
        } else {
            false
        }
    }

    fn err(&self, what: &str) -> String {
        let line = self.s[..self.i.min(self.s.len())]
            .iter()
            .filter(|&&c| c == '\n')
            .count()
            + 1;
        let col = match self.s[..self.i.min(self.s.len())]
            .iter()
            .rposition(|&c| c == '\n')
        {
            Some(nl) => self.i - nl,
            None => self.i + 1,
        };
        format!("{what} (at line {line}, column {col})")
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(' ') | Some('\t')) {
            self.i += 1;
        }
    }

    fn comment(&mut self) -> Result<(), String> {
        if self.peek() == Some('#') {
            while let Some(c) = self.peek() {
                if c == '\n' {
                    break;
                }
                if (c as u32) < 0x20 && c != '\t' && !(c == '\r' && self.peek_at(1) == Some('\n'))
                    || c == '\u{7f}'
                {
                    return Err(self.err("Illegal character in a comment"));
                }
                self.i += 1;
            }
        }
        Ok(())
    }

    fn newline(&mut self) -> bool {
        self.eat("\n") || self.eat("\r\n")
    }

    fn skip_blank_lines(&mut self) {
        loop {
            self.ws();
            if self.peek() == Some('#') && self.comment().is_err() {
                return;
            }
            if !self.newline() {
                return;
            }
        }
    }

    fn end_of_line(&mut self) -> Result<(), String> {
        self.ws();
        self.comment()?;
        if self.peek().is_none() || self.newline() {
            Ok(())
        } else {
            Err(self.err("Expected newline or end of document after a statement"))
        }
    }

    /// A dotted key.
    fn key(&mut self) -> Result<Vec<String>, String> {
        let mut parts = vec![self.simple_key()?];
        loop {
            self.ws();
            if self.peek() != Some('.') {
                return Ok(parts);
            }
            self.i += 1;
            self.ws();
            parts.push(self.simple_key()?);
        }
    }

    fn simple_key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('"') => {
                self.i += 1;
                self.basic_string()
            }
            Some('\'') => {
                self.i += 1;
                self.literal_string()
            }
            Some(c) if bare_key_char(c) => {
                let start = self.i;
                while self.peek().is_some_and(bare_key_char) {
                    self.i += 1;
                }
                Ok(self.s[start..self.i].iter().collect())
            }
            _ => Err(self.err("Invalid initial character for a key part")),
        }
    }

    fn value(&mut self) -> Result<PyVal, String> {
        match self.peek() {
            Some('"') => {
                if self.eat("\"\"\"") {
                    self.ml_basic_string().map(PyVal::Str)
                } else {
                    self.i += 1;
                    self.basic_string().map(PyVal::Str)
                }
            }
            Some('\'') => {
                if self.eat("'''") {
                    self.ml_literal_string().map(PyVal::Str)
                } else {
                    self.i += 1;
                    self.literal_string().map(PyVal::Str)
                }
            }
            Some(c @ ('[' | '{')) => {
                if self.depth >= 500 {
                    return Err(self.err("Nesting too deep"));
                }
                self.depth += 1;
                let v = if c == '[' {
                    self.array()
                } else {
                    self.inline_table()
                };
                self.depth -= 1;
                v
            }
            Some('t') if self.eat("true") => Ok(PyVal::Bool(true)),
            Some('f') if self.eat("false") => Ok(PyVal::Bool(false)),
            Some(_) => self.number_or_date(),
            None => Err(self.err("Invalid value")),
        }
    }

    fn array(&mut self) -> Result<PyVal, String> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.array_space()?;
            if self.eat("]") {
                return Ok(PyVal::List(items));
            }
            items.push(self.value()?);
            self.array_space()?;
            if self.eat("]") {
                return Ok(PyVal::List(items));
            }
            if !self.eat(",") {
                return Err(self.err("Unclosed array"));
            }
        }
    }

    fn array_space(&mut self) -> Result<(), String> {
        loop {
            self.ws();
            self.comment()?;
            if !self.newline() {
                return Ok(());
            }
        }
    }

    fn inline_table(&mut self) -> Result<PyVal, String> {
        self.i += 1;
        let mut t: Table = Vec::new();
        self.ws();
        if self.eat("}") {
            return Ok(PyVal::Dict(t));
        }
        loop {
            let key = self.key()?;
            self.ws();
            if !self.eat("=") {
                return Err(self.err("Expected '=' after a key in a key/value pair"));
            }
            self.ws();
            let v = self.value()?;
            let arrays = HashSet::new();
            let (parent, last) = key.split_at(key.len() - 1);
            let target = table_at(&mut t, parent, &arrays).map_err(|m| self.err(&m))?;
            if target.iter().any(|(k, _)| *k == last[0]) {
                return Err(self.err("Cannot overwrite a value"));
            }
            target.push((last[0].clone(), v));
            self.ws();
            if self.eat("}") {
                return Ok(PyVal::Dict(t));
            }
            if !self.eat(",") {
                return Err(self.err("Unclosed inline table"));
            }
            self.ws();
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), String> {
        let Some(c) = self.peek() else {
            return Err(self.err("Unterminated string"));
        };
        self.i += 1;
        let simple = match c {
            'b' => Some('\u{8}'),
            't' => Some('\t'),
            'n' => Some('\n'),
            'f' => Some('\u{c}'),
            'r' => Some('\r'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            return Ok(());
        }
        let n = match c {
            'u' => 4,
            'U' => 8,
            _ => return Err(self.err("Unescaped '\\' in a string")),
        };
        let hex: String = self
            .s
            .get(self.i..self.i + n)
            .map(|h| h.iter().collect())
            .unwrap_or_default();
        let code = u32::from_str_radix(&hex, 16)
            .ok()
            .filter(|_| hex.len() == n);
        let ch = code
            .and_then(char::from_u32)
            .ok_or_else(|| self.err("Invalid hex value"))?;
        self.i += n;
        out.push(ch);
        Ok(())
    }

    fn bad_char(c: char) -> bool {
        ((c as u32) < 0x20 && c != '\t') || c == '\u{7f}'
    }

    /// After the opening quote.
    fn basic_string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("Unterminated string")),
                Some('\n') => return Err(self.err("Illegal character '\\n'")),
                Some('"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.i += 1;
                    self.escape(&mut out)?;
                }
                Some(c) if Self::bad_char(c) => {
                    return Err(self.err("Illegal character in a string"));
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn literal_string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("Unterminated string")),
                Some('\n') => return Err(self.err("Illegal character '\\n'")),
                Some('\'') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(c) if Self::bad_char(c) => {
                    return Err(self.err("Illegal character in a string"));
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn ml_basic_string(&mut self) -> Result<String, String> {
        self.newline();
        let mut out = String::new();
        loop {
            if self.eat("\"\"\"") {
                // Up to two more quotes belong to the content.
                for _ in 0..2 {
                    if self.peek() == Some('"') {
                        out.push('"');
                        self.i += 1;
                    }
                }
                return Ok(out);
            }
            match self.peek() {
                None => return Err(self.err("Unterminated string")),
                Some('\\') => {
                    let save = self.i;
                    self.i += 1;
                    // A line-ending backslash trims the following whitespace and newlines.
                    let mut j = self.i;
                    while matches!(self.s.get(j), Some(' ') | Some('\t')) {
                        j += 1;
                    }
                    if matches!(self.s.get(j), Some('\n'))
                        || (self.s.get(j) == Some(&'\r') && self.s.get(j + 1) == Some(&'\n'))
                    {
                        self.i = j;
                        while matches!(
                            self.peek(),
                            Some(' ') | Some('\t') | Some('\n') | Some('\r')
                        ) {
                            self.i += 1;
                        }
                    } else {
                        self.i = save + 1;
                        self.escape(&mut out)?;
                    }
                }
                Some('\r') if self.peek_at(1) == Some('\n') => {
                    out.push('\n');
                    self.i += 2;
                }
                Some(c) if c != '\n' && Self::bad_char(c) => {
                    return Err(self.err("Illegal character in a string"));
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn ml_literal_string(&mut self) -> Result<String, String> {
        self.newline();
        let mut out = String::new();
        loop {
            if self.eat("'''") {
                for _ in 0..2 {
                    if self.peek() == Some('\'') {
                        out.push('\'');
                        self.i += 1;
                    }
                }
                return Ok(out);
            }
            match self.peek() {
                None => return Err(self.err("Unterminated string")),
                Some('\r') if self.peek_at(1) == Some('\n') => {
                    out.push('\n');
                    self.i += 2;
                }
                Some(c) if c != '\n' && Self::bad_char(c) => {
                    return Err(self.err("Illegal character in a string"));
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn number_or_date(&mut self) -> Result<PyVal, String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            let date_space = c == ' '
                && self.i - start == 10
                && self.s.get(start + 4) == Some(&'-')
                && self.peek_at(1).is_some_and(|d| d.is_ascii_digit());
            if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | ':' | '_') || date_space {
                self.i += 1;
            } else {
                break;
            }
        }
        let tok: String = self.s[start..self.i].iter().collect();
        if let Some(v) = datetime(&tok) {
            return Ok(PyVal::DateTime(v));
        }
        if let Some(v) = integer(&tok) {
            return Ok(PyVal::Int(v.to_string()));
        }
        if let Some(v) = float(&tok) {
            return Ok(PyVal::Float(v));
        }
        self.i = start;
        Err(self.err("Invalid value"))
    }
}

fn dec_digits(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().enumerate().all(|(i, &c)| {
            c.is_ascii_digit()
                || (c == b'_'
                    && i > 0
                    && i + 1 < b.len()
                    && b[i - 1].is_ascii_digit()
                    && b[i + 1].is_ascii_digit())
        })
}

fn integer(tok: &str) -> Option<i64> {
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(body) = tok.strip_prefix(prefix) {
            let b = body.as_bytes();
            let ok = !b.is_empty()
                && b.iter().enumerate().all(|(i, &c)| {
                    (c as char).is_digit(radix)
                        || (c == b'_'
                            && i > 0
                            && i + 1 < b.len()
                            && (b[i - 1] as char).is_digit(radix)
                            && (b[i + 1] as char).is_digit(radix))
                });
            if !ok {
                return None;
            }
            return i64::from_str_radix(&body.replace('_', ""), radix).ok();
        }
    }
    let body = tok.strip_prefix(['+', '-']).unwrap_or(tok);
    if !dec_digits(body) || (body.len() > 1 && body.starts_with('0')) {
        return None;
    }
    tok.replace('_', "").parse().ok()
}

fn float(tok: &str) -> Option<f64> {
    let (sign, body) = match tok.as_bytes().first() {
        Some(b'-') => (-1.0, &tok[1..]),
        Some(b'+') => (1.0, &tok[1..]),
        _ => (1.0, tok),
    };
    match body {
        "inf" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (ip, fp) = match mant.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mant, None),
    };
    if !dec_digits(ip) || (ip.len() > 1 && ip.starts_with('0')) {
        return None;
    }
    if fp.is_some_and(|f| !dec_digits(f)) {
        return None;
    }
    if let Some(e) = exp
        && !dec_digits(e.strip_prefix(['+', '-']).unwrap_or(e))
    {
        return None;
    }
    if fp.is_none() && exp.is_none() {
        return None;
    }
    tok.replace('_', "").parse().ok()
}

fn num(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `HH:MM:SS[.frac]` in Python's form (6-digit microseconds when not zero).
fn time_part(s: &str) -> Option<String> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let mut it = hms.split(':');
    let (h, m, sec) = (
        num(it.next()?, 2)?,
        num(it.next()?, 2)?,
        num(it.next()?, 2)?,
    );
    if it.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let micros = match frac {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let six: String = format!("{f:0<6}").chars().take(6).collect();
            six.parse::<u32>().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    Some(if micros > 0 {
        format!("{h:02}:{m:02}:{sec:02}.{micros:06}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    })
}

fn date_part(s: &str) -> Option<String> {
    let mut it = s.split('-');
    let (y, mo, d) = (
        num(it.next()?, 4)?,
        num(it.next()?, 2)?,
        num(it.next()?, 2)?,
    );
    if it.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    Some(format!("{y:04}-{mo:02}-{d:02}"))
}

/// A TOML date/time as Python's `str()` of the value tomllib returns.
fn datetime(tok: &str) -> Option<String> {
    if tok.len() >= 10 && tok.as_bytes().get(4) == Some(&b'-') {
        let date = date_part(&tok[..10])?;
        if tok.len() == 10 {
            return Some(date);
        }
        let sep = tok.as_bytes()[10];
        if !matches!(sep, b'T' | b't' | b' ') {
            return None;
        }
        let rest = &tok[11..];
        let (time, offset) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
            (t, Some("+00:00".to_string()))
        } else if rest.len() > 6 && matches!(rest.as_bytes()[rest.len() - 6], b'+' | b'-') {
            let (t, off) = rest.split_at(rest.len() - 6);
            let (hh, mm) = (num(&off[1..3], 2)?, num(&off[4..6], 2)?);
            if &off[3..4] != ":" || hh > 23 || mm > 59 {
                return None;
            }
            (t, Some(off.to_string()))
        } else {
            (rest, None)
        };
        let time = time_part(time)?;
        return Some(match offset {
            Some(o) => format!("{date} {time}{o}"),
            None => format!("{date} {time}"),
        });
    }
    if tok.len() >= 8 && tok.as_bytes().get(2) == Some(&b':') {
        return time_part(tok);
    }
    None
}
