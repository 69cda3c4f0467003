//! Python-flavoured values and text rules the parser must reproduce: the values config files and JSON
//! produce (`str()` and `repr()` of them appear in Locust's messages and become option values), Python's
//! `int()` / `float()` acceptance rules, float `repr`, and a JSON reader with Python's error messages.

/// A value as Python would hold it after reading a config file or JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum PyVal {
    None,
    Bool(bool),
    /// Canonical decimal digits (Python ints are unbounded).
    Int(String),
    Float(f64),
    Str(String),
    /// A TOML date/time, already in Python's `str()` form.
    DateTime(String),
    List(Vec<PyVal>),
    Dict(Vec<(String, PyVal)>),
}

impl PyVal {
    /// Python's `str(value)`.
    pub fn py_str(&self) -> String {
        match self {
            PyVal::Str(s) | PyVal::DateTime(s) => s.clone(),
            other => other.py_repr(),
        }
    }

    /// Python's `repr(value)`.
    pub fn py_repr(&self) -> String {
        match self {
            PyVal::None => "None".into(),
            PyVal::Bool(true) => "True".into(),
            PyVal::Bool(false) => "False".into(),
            PyVal::Int(s) => s.clone(),
            PyVal::Float(f) => float_repr(*f),
            PyVal::Str(s) => str_repr(s),
            PyVal::DateTime(s) => s.clone(),
            PyVal::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(PyVal::py_repr)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            PyVal::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", str_repr(k), v.py_repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// `json.dumps(value, separators=(",", ":"))`-like text (NaN and infinities as Python writes them).
    pub fn to_json(&self) -> String {
        match self {
            PyVal::None => "null".into(),
            PyVal::Bool(b) => b.to_string(),
            PyVal::Int(s) => s.clone(),
            PyVal::Float(f) if f.is_nan() => "NaN".into(),
            PyVal::Float(f) if f.is_infinite() => {
                if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()
            }
            PyVal::Float(f) => float_repr(*f),
            PyVal::Str(s) | PyVal::DateTime(s) => serde_json::Value::String(s.clone()).to_string(),
            PyVal::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(PyVal::to_json)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            PyVal::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!(
                        "{}:{}",
                        serde_json::Value::String(k.clone()),
                        v.to_json()
                    ))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// Python's `repr()` of a string.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a float (shortest round-trip digits; exponent form below 1e-4 and from 1e16).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{}{}.0", digits, "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!(
            "{first}{frac}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    };
    format!("{sign}{body}")
}

/// Digits with single underscores between them, as Python's numeric literals allow.
fn digits_ok(s: &str) -> bool {
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

/// Python's `int(text)` for base 10 (surrounding whitespace, a sign and digit-separating underscores
/// allowed). Values beyond i64 are refused.
pub fn py_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits_ok(body) {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let v: i64 = clean.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Python's `float(text)`.
pub fn py_float(text: &str) -> Option<f64> {
    let t = text.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else {
        let (mant, exp) = match lower.find('e') {
            Some(i) => (&lower[..i], Some(&lower[i + 1..])),
            None => (&lower[..], None),
        };
        let (ip, fp) = match mant.find('.') {
            Some(i) => (&mant[..i], Some(&mant[i + 1..])),
            None => (mant, None),
        };
        let ip_ok = ip.is_empty() || digits_ok(ip);
        let fp_ok = fp.is_none_or(|f| f.is_empty() || digits_ok(f));
        let has_digits = !ip.is_empty() || fp.is_some_and(|f| !f.is_empty());
        let exp_ok = exp.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            digits_ok(e)
        });
        if !(ip_ok && fp_ok && has_digits && exp_ok) {
            return None;
        }
        let clean: String = lower.chars().filter(|&c| c != '_').collect();
        clean.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// A JSON error in Python's words: "Expecting value: line 1 column 1 (char 0)".
#[derive(Debug, Clone, PartialEq)]
pub struct JsonError(pub String);

/// Python's `json.loads`: the value, or the error message Python gives.
pub fn json_loads(text: &str) -> Result<PyVal, JsonError> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = Json {
        s: &chars,
        i: 0,
        depth: 0,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i < chars.len() {
        return Err(p.err("Extra data", p.i));
    }
    Ok(v)
}

struct Json<'a> {
    s: &'a [char],
    i: usize,
    /// Nesting depth (bounded so hostile input cannot exhaust the stack).
    depth: usize,
}

/// Deeper nesting is refused (Python would hit its recursion limit near here).
const MAX_DEPTH: usize = 500;

impl Json<'_> {
    fn err(&self, what: &str, pos: usize) -> JsonError {
        let line = self.s[..pos].iter().filter(|&&c| c == '\n').count() + 1;
        let col = match self.s[..pos].iter().rposition(|&c| c == '\n') {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        JsonError(format!("{what}: line {line} column {col} (char {pos})"))
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], ' ' | '\t' | '\n' | '\r') {
            self.i += 1;
        }
    }

    fn starts(&self, lit: &str) -> bool {
        let n = lit.chars().count();
        self.i + n <= self.s.len() && self.s[self.i..self.i + n].iter().copied().eq(lit.chars())
    }

    fn value(&mut self) -> Result<PyVal, JsonError> {
        let Some(&c) = self.s.get(self.i) else {
            return Err(self.err("Expecting value", self.i));
        };
        match c {
            '"' => {
                self.i += 1;
                self.string().map(PyVal::Str)
            }
            '{' | '[' => {
                if self.depth >= MAX_DEPTH {
                    return Err(JsonError(
                        "maximum recursion depth exceeded while decoding a JSON document".into(),
                    ));
                }
                self.depth += 1;
                let v = if c == '{' {
                    self.object()
                } else {
                    self.array()
                };
                self.depth -= 1;
                v
            }
            _ => {
                for (lit, v) in [
                    ("null", PyVal::None),
                    ("true", PyVal::Bool(true)),
                    ("false", PyVal::Bool(false)),
                    ("NaN", PyVal::Float(f64::NAN)),
                    ("Infinity", PyVal::Float(f64::INFINITY)),
                    ("-Infinity", PyVal::Float(f64::NEG_INFINITY)),
                ] {
                    if self.starts(lit) {
                        self.i += lit.chars().count();
                        return Ok(v);
                    }
                }
                self.number()
            }
        }
    }

    fn number(&mut self) -> Result<PyVal, JsonError> {
        let start = self.i;
        let mut j = self.i;
        if self.s.get(j) == Some(&'-') {
            j += 1;
        }
        match self.s.get(j) {
            Some('0') => j += 1,
            Some(c) if c.is_ascii_digit() => {
                while self.s.get(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
            }
            _ => return Err(self.err("Expecting value", start)),
        }
        let int_end = j;
        let mut is_float = false;
        if self.s.get(j) == Some(&'.') && self.s.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            j += 1;
            while self.s.get(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
        }
        if matches!(self.s.get(j), Some('e') | Some('E')) {
            let mut k = j + 1;
            if matches!(self.s.get(k), Some('+') | Some('-')) {
                k += 1;
            }
            if self.s.get(k).is_some_and(|c| c.is_ascii_digit()) {
                while self.s.get(k).is_some_and(|c| c.is_ascii_digit()) {
                    k += 1;
                }
                is_float = true;
                j = k;
            }
        }
        self.i = j;
        let text: String = self.s[start..j].iter().collect();
        if is_float {
            Ok(PyVal::Float(text.parse().unwrap_or(f64::NAN)))
        } else {
            let digits: String = self.s[start..int_end].iter().collect();
            let canonical = match digits.strip_prefix('-') {
                Some(d) if d.chars().all(|c| c == '0') => "0".to_string(),
                _ => digits,
            };
            Ok(PyVal::Int(canonical))
        }
    }

    /// After the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        let begin = self.i - 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return Err(self.err("Unterminated string starting at", begin));
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some(&e) = self.s.get(self.i + 1) else {
                        return Err(self.err("Unterminated string starting at", begin));
                    };
                    let simple = match e {
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        '/' => Some('/'),
                        'b' => Some('\u{8}'),
                        'f' => Some('\u{c}'),
                        'n' => Some('\n'),
                        'r' => Some('\r'),
                        't' => Some('\t'),
                        _ => None,
                    };
                    if let Some(ch) = simple {
                        out.push(ch);
                        self.i += 2;
                    } else if e == 'u' {
                        let hex = |at: usize| -> Option<u32> {
                            let h: String = self.s.get(at..at + 4)?.iter().collect();
                            if h.chars().all(|c| c.is_ascii_hexdigit()) {
                                u32::from_str_radix(&h, 16).ok()
                            } else {
                                None
                            }
                        };
                        let Some(u) = hex(self.i + 2) else {
                            return Err(self.err("Invalid \\uXXXX escape", self.i + 1));
                        };
                        self.i += 6;
                        if (0xd800..0xdc00).contains(&u)
                            && self.s.get(self.i) == Some(&'\\')
                            && self.s.get(self.i + 1) == Some(&'u')
                            && let Some(lo) = hex(self.i + 2)
                            && (0xdc00..0xe000).contains(&lo)
                        {
                            self.i += 6;
                            out.push(
                                char::from_u32(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00))
                                    .unwrap_or('\u{fffd}'),
                            );
                        } else {
                            out.push(char::from_u32(u).unwrap_or('\u{fffd}'));
                        }
                    } else {
                        return Err(self.err("Invalid \\escape", self.i));
                    }
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.err("Invalid control character at", self.i));
                }
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn object(&mut self) -> Result<PyVal, JsonError> {
        self.i += 1;
        let mut items: Vec<(String, PyVal)> = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&'}') {
            self.i += 1;
            return Ok(PyVal::Dict(items));
        }
        loop {
            if self.s.get(self.i) != Some(&'"') {
                return Err(self.err("Expecting property name enclosed in double quotes", self.i));
            }
            self.i += 1;
            let key = self.string()?;
            self.ws();
            if self.s.get(self.i) != Some(&':') {
                return Err(self.err("Expecting ':' delimiter", self.i));
            }
            self.i += 1;
            self.ws();
            let v = self.value()?;
            match items.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = v,
                None => items.push((key, v)),
            }
            self.ws();
            match self.s.get(self.i) {
                Some('}') => {
                    self.i += 1;
                    return Ok(PyVal::Dict(items));
                }
                Some(',') => {
                    self.i += 1;
                    self.ws();
                }
                _ => return Err(self.err("Expecting ',' delimiter", self.i)),
            }
        }
    }

    fn array(&mut self) -> Result<PyVal, JsonError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&']') {
            self.i += 1;
            return Ok(PyVal::List(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.s.get(self.i) {
                Some(']') => {
                    self.i += 1;
                    return Ok(PyVal::List(items));
                }
                Some(',') => {
                    self.i += 1;
                    self.ws();
                }
                _ => return Err(self.err("Expecting ',' delimiter", self.i)),
            }
        }
    }
}
