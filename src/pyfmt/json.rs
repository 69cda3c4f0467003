//! JSON as Python writes it: the value type [`J`] (Python's int/float distinction, keys sorted), Flask's
//! debug-mode `jsonify` text ([`pretty`]: 2-space indent, `,` + newline, `": "`, `ensure_ascii`, Python's float
//! text `6.0`/`0.1`/`NaN`, a trailing newline), the compact form a page's `<script>` embeds, and one string as
//! `json.dumps` writes it ([`json_str`]).
//!
//! Who calls it: the web API's handlers, the HTML report, the summary JSON, the `--json` writer, the runner's
//! custom-message lines. What it must not do: know where the values come from (plain data and text; no I/O,
//! nothing of the crate above `pyfmt`).
use super::{Num, py_float_repr};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`): `\"`, `\\`, `\n`,
/// `\r`, `\t`, `\b`, `\f`, and `\uXXXX` (surrogate pairs above U+FFFF) for everything outside
/// printable ASCII.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// A JSON value with Python's int/float distinction. Objects are ordered by key (what Flask's `sort_keys`
/// gives), so insertion order does not matter.
#[derive(Clone, Debug, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(BTreeMap<String, J>),
}

impl J {
    /// An object from `(key, value)` pairs.
    pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, J)>) -> J {
        J::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn str(s: impl Into<String>) -> J {
        J::Str(s.into())
    }

    /// The number with the Python type Locust would hold.
    pub fn num(n: Num) -> J {
        match n {
            Num::Int(i) => J::Int(i),
            Num::Float(f) => J::Float(f),
        }
    }

    pub fn opt_float(x: Option<f64>) -> J {
        x.map_or(J::Null, J::Float)
    }
}

fn float_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        py_float_repr(x)
    }
}

fn write_value(out: &mut String, v: &J, depth: usize) {
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Int(i) => {
            let _ = write!(out, "{i}");
        }
        J::Float(f) => out.push_str(&float_text(*f)),
        J::Str(s) => out.push_str(&json_str(s)),
        J::Arr(items) if items.is_empty() => out.push_str("[]"),
        J::Obj(map) if map.is_empty() => out.push_str("{}"),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        J::Obj(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                out.push_str(&json_str(k));
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// The response body of `jsonify(v)` in debug mode.
pub fn pretty(v: &J) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out.push('\n');
    out
}

fn write_compact(out: &mut String, v: &J) {
    match v {
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_compact(out, item);
            }
            out.push(']');
        }
        J::Obj(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&json_str(k));
                out.push_str(": ");
                write_compact(out, item);
            }
            out.push('}');
        }
        scalar => write_value(out, scalar, 0),
    }
}

/// `v` as Jinja's `tojson` puts it into a page: Python's `json.dumps` text (keys sorted, `", "` and `": "`,
/// ASCII only) with `<`, `>`, `&` and `'` written as `\u003c`, `\u003e`, `\u0026`, `\u0027`, so that it is valid
/// inside a `<script>` element and cannot end it. (Those characters only occur inside JSON strings.)
pub fn script_json(v: &J) -> String {
    let mut raw = String::new();
    write_compact(&mut raw, v);
    let mut out = String::with_capacity(raw.len() + 64);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_its_script() {
        let v = J::obj([
            ("b", J::str("</script><b>'x' & \u{2028}")),
            ("a", J::Arr(vec![J::Int(1), J::Float(2.0), J::Null])),
        ]);
        assert_eq!(
            script_json(&v),
            r#"{"a": [1, 2.0, null], "b": "\u003c/script\u003e\u003cb\u003e\u0027x\u0027 \u0026 \u2028"}"#
        );
    }

    #[test]
    fn flask_pretty_json() {
        let v = J::obj([
            ("success", J::Bool(true)),
            ("message", J::str("Test stopped")),
        ]);
        assert_eq!(
            pretty(&v),
            "{\n  \"message\": \"Test stopped\",\n  \"success\": true\n}\n"
        );
        let v = J::obj([
            ("errors", J::Arr(vec![])),
            ("fail_ratio", J::Float(0.0)),
            ("current_rps", J::Int(0)),
            (
                "x",
                J::Arr(vec![J::obj([("a", J::Null)]), J::Float(4.312049368420057)]),
            ),
            ("e", J::Obj(BTreeMap::new())),
            ("s", J::str("é\"\n")),
        ]);
        assert_eq!(
            pretty(&v),
            "{\n  \"current_rps\": 0,\n  \"e\": {},\n  \"errors\": [],\n  \"fail_ratio\": 0.0,\n  \"s\": \"\\u00e9\\\"\\n\",\n  \"x\": [\n    {\n      \"a\": null\n    },\n    4.312049368420057\n  ]\n}\n"
        );
        assert_eq!(pretty(&J::Float(f64::NAN)), "NaN\n");
        assert_eq!(pretty(&J::Float(1e16)), "1e+16\n");
    }
}
