//! Python's `str` whitespace and the three `str` methods the readers apply to latin-1 header text: `strip()`,
//! `lower()` and `split(None, 1)`, as CPython's `str.isspace()` decides what is whitespace.
//!
//! Who calls it: `head` (the status line, `Transfer-Encoding`, `Content-Encoding`) and `decode` (each name of a
//! `Content-Encoding` list). A leaf: it imports nothing of the reader, so both can share it.
//!
//! What it must not do: handle text outside latin-1 differently from CPython for it, or allocate where a slice
//! will do.

/// Python's `str.isspace()` for the latin-1 range.
fn is_py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}')
}

/// The first whitespace-separated word of `s` and the rest after the whitespace that follows it (`None` when
/// nothing follows), as `str.split(None, 1)` cuts.
pub(super) fn split_ws(s: &str) -> (&str, Option<&str>) {
    let s = s.trim_start_matches(is_py_space);
    match s.find(is_py_space) {
        Some(i) => {
            let rest = s[i..].trim_start_matches(is_py_space);
            (&s[..i], if rest.is_empty() { None } else { Some(rest) })
        }
        None => (s, None),
    }
}

/// `str.strip()`.
pub(super) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `str.lower()` for latin-1 text.
pub(super) fn py_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'A'..='Z' | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{de}' => {
                char::from_u32(c as u32 + 32).unwrap_or(c)
            }
            c => c,
        })
        .collect()
}
