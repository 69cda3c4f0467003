//! Python-flavoured values and text rules the parser must reproduce: the values config files and JSON
//! produce (`str()` and `repr()` of them appear in Locust's messages and become option values), Python's
//! `int()` / `float()` acceptance rules, and `json.loads` (serde_json, with Python's error messages).

use crate::pyfmt::{py_float_repr, py_str_repr};
use indexmap::IndexMap;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

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
            PyVal::Float(f) => py_float_repr(*f),
            PyVal::Str(s) => py_str_repr(s),
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
                    .map(|(k, v)| format!("{}: {}", py_str_repr(k), v.py_repr()))
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
            PyVal::Float(f) => py_float_repr(*f),
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
/// allowed): the sign and the digits, or None when Python refuses the text.
fn py_int_digits(text: &str) -> Option<(bool, String)> {
    let t = text.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    digits_ok(body).then(|| (neg, body.chars().filter(|&c| c != '_').collect()))
}

/// Python's `int(text)` for base 10. Values beyond i64 are refused.
pub fn py_int(text: &str) -> Option<i64> {
    let (neg, digits) = py_int_digits(text)?;
    let v: i64 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Python's `int(text)` for base 10, with values beyond i64 saturated (Python accepts any size; a web form's
/// `user_count=10**30` is a huge count, not an invalid one).
pub fn py_int_saturating(text: &str) -> Option<i64> {
    let (neg, digits) = py_int_digits(text)?;
    Some(match digits.parse::<i64>() {
        Ok(v) if neg => -v,
        Ok(v) => v,
        Err(_) if neg => i64::MIN,
        Err(_) => i64::MAX,
    })
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

/// Python's `json.loads`, read by serde_json: objects keep their key order (a repeated key keeps its first
/// place and its last value, as in a dict). An error has the form of Python's `JSONDecodeError`
/// ("Expecting value: line 1 column 1 (char 0)"), with Python's wording and position when a character is
/// wrong (`x`, `{"a" 1}`, `[1 2]`, `{} x`); at the end of the text or inside a literal they can differ.
/// Also unlike Python: `NaN`/`Infinity`, out-of-range floats, lone surrogates and nesting deeper than 128
/// are refused, and integers beyond 64 bits and `-0` become floats.
pub fn json_loads(text: &str) -> Result<PyVal, JsonError> {
    if text.starts_with('\u{feff}') {
        return Err(JsonError(
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)".into(),
        ));
    }
    serde_json::from_str(text).map_err(|e| python_json_error(text, &e))
}

/// serde_json's error as Python's: its wording, and the position as line, column and character index.
fn python_json_error(text: &str, e: &serde_json::Error) -> JsonError {
    let full = e.to_string();
    let what = full
        .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
        .unwrap_or(&full);
    let python = match what {
        "expected value"
        | "expected ident"
        | "EOF while parsing a value"
        | "invalid number"
        | "trailing comma" => "Expecting value",
        "expected `:`" => "Expecting ':' delimiter",
        "expected `,` or `]`"
        | "expected `,` or `}`"
        | "EOF while parsing a list"
        | "EOF while parsing an object" => "Expecting ',' delimiter",
        "key must be a string" => "Expecting property name enclosed in double quotes",
        "trailing characters" => "Extra data",
        "invalid escape" => "Invalid \\escape",
        w if w.starts_with("control character") => "Invalid control character at",
        w => w,
    };
    // serde_json counts columns in bytes from 1 and points at the offending byte; at the end of the text
    // Python points just past it.
    let byte = if e.classify() == serde_json::error::Category::Eof {
        text.len()
    } else {
        let line_start = match e.line() {
            0 | 1 => 0,
            l => text
                .match_indices('\n')
                .nth(l - 2)
                .map_or(0, |(i, _)| i + 1),
        };
        let mut b = (line_start + e.column().saturating_sub(1)).min(text.len());
        while !text.is_char_boundary(b) {
            b -= 1;
        }
        b
    };
    let before = &text[..byte];
    let pos = before.chars().count();
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    JsonError(format!("{python}: line {line} column {col} (char {pos})"))
}

impl<'de> Deserialize<'de> for PyVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PyValVisitor)
    }
}

struct PyValVisitor;

impl<'de> Visitor<'de> for PyValVisitor {
    type Value = PyVal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<PyVal, E> {
        Ok(PyVal::None)
    }
    fn visit_bool<E>(self, b: bool) -> Result<PyVal, E> {
        Ok(PyVal::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<PyVal, E> {
        Ok(PyVal::Int(i.to_string()))
    }
    fn visit_u64<E>(self, u: u64) -> Result<PyVal, E> {
        Ok(PyVal::Int(u.to_string()))
    }
    fn visit_f64<E>(self, f: f64) -> Result<PyVal, E> {
        Ok(PyVal::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<PyVal, E> {
        Ok(PyVal::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<PyVal, E> {
        Ok(PyVal::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyVal, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(PyVal::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyVal, A::Error> {
        let mut items: IndexMap<String, PyVal> = IndexMap::new();
        while let Some((k, v)) = map.next_entry()? {
            items.insert(k, v);
        }
        Ok(PyVal::Dict(items.into_iter().collect()))
    }
}
