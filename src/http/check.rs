//! What each client refuses in a request before it sends anything, and how it says so: the method (urllib3's
//! token rule for HttpUser, geventhttpclient's for FastHttpUser), header names and values (requests'
//! `check_header_validity` and http.client's encodings; geventhttpclient's field rules) and FastHttpUser's
//! request target.
//!
//! Who calls it: `py` (the method, when a call is made) and the engine's `run_chain` (headers, target). The good
//! path is a byte scan that allocates nothing; texts are only made for a request that is refused.
//!
//! Which refusals are failures and which escape into the task is each client's: requests' `InvalidHeader` is a
//! RequestException that Locust records (status 0); urllib3's and geventhttpclient's `ValueError`s and
//! http.client's `UnicodeEncodeError` are not, so they reach the task and nothing is recorded.
use super::Flavor;
use crate::pyfmt::py_str_repr;
use http::Method;

use super::wire::exc::{PyExc, PyVal};

/// The method requests sends for `request("", ...)`: nothing before the space of the request line. `http::Method`
/// cannot be empty, so it stands for it; both clients upper-case the method first, so no call can name it.
pub fn empty_method() -> Method {
    Method::from_bytes(b"empty").expect("a token")
}

/// The method as it goes on the wire (and as `response.request.method` shows it).
pub fn method_str(m: &Method) -> &str {
    match m.as_str() {
        "empty" => "",
        s => s,
    }
}

/// [`method_str`] as an owned text that copies nothing for a standard method.
pub fn method_text(m: &Method) -> std::borrow::Cow<'static, str> {
    use std::borrow::Cow::Borrowed;
    match *m {
        Method::GET => Borrowed("GET"),
        Method::POST => Borrowed("POST"),
        Method::PUT => Borrowed("PUT"),
        Method::DELETE => Borrowed("DELETE"),
        Method::HEAD => Borrowed("HEAD"),
        Method::OPTIONS => Borrowed("OPTIONS"),
        Method::PATCH => Borrowed("PATCH"),
        Method::TRACE => Borrowed("TRACE"),
        Method::CONNECT => Borrowed("CONNECT"),
        _ => method_str(m).to_owned().into(),
    }
}

/// RFC 9110 `tchar` (urllib3's `_CONTAINS_CONTROL_CHAR_RE` complement, geventhttpclient's `_TOKEN_RE`).
fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Python's `str.upper()` (both clients upper-case the method before they check it).
fn py_upper(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_uppercase()
    } else {
        s.to_uppercase()
    }
}

/// The method of a call, or the `ValueError` text the client raises for it.
///
/// HttpUser: requests upper-cases it, urllib3 refuses any character outside the token set (an empty method is
/// sent as is). But requests checks the headers first, while it prepares the request: when a header is invalid
/// the call fails with that (recorded) instead, so then the method is let through and `run_chain` reports the
/// header (`header_fault`: the shim refused one Rust does not see). FastHttpUser: geventhttpclient upper-cases it and refuses anything but a non-empty token, before the
/// target and the headers.
pub fn request_method(
    flavor: Flavor,
    given: &str,
    headers: &[(String, String)],
    header_fault: bool,
) -> Result<Method, String> {
    let bytes = given.as_bytes();
    if !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b)) {
        if bytes.iter().all(|b| !b.is_ascii_lowercase()) {
            return Method::from_bytes(bytes).map_err(|e| e.to_string());
        }
        return Method::from_bytes(given.to_ascii_uppercase().as_bytes())
            .map_err(|e| e.to_string());
    }
    match flavor {
        Flavor::Requests if given.is_empty() => Ok(empty_method()),
        Flavor::Requests => {
            if header_fault
                || headers
                    .iter()
                    .any(|(k, v)| requests_header_fault(k, v).is_some())
            {
                return Ok(Method::GET);
            }
            let upper = py_upper(given);
            let found = upper
                .chars()
                .find(|c| !c.is_ascii() || !is_tchar(*c as u8))
                .unwrap_or(' ');
            Err(format!(
                "Method cannot contain non-token characters {} (found at least {})",
                py_str_repr(&upper),
                py_str_repr(found.encode_utf8(&mut [0; 4]))
            ))
        }
        Flavor::Fast => Err(format!(
            "invalid HTTP method {}",
            py_str_repr(&py_upper(given))
        )),
    }
}

/// Python's `str.isspace()` (what `\s` matches in a `str` pattern): Unicode White_Space and U+001C..U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// requests' `_validate_header_part` for a `str` name and value (`^[^:\s][^:\r\n]*\Z` and `^\S[^\r\n]*\Z|^\Z`):
/// the `InvalidHeader` text, if the pair is refused.
pub fn requests_header_fault(name: &str, value: &str) -> Option<String> {
    let name_ok = {
        let first = name.chars().next().unwrap_or(':');
        first != ':'
            && !py_isspace(first)
            && !name.bytes().any(|b| matches!(b, b':' | b'\r' | b'\n'))
    };
    let (kind, part) = if !name_ok {
        ("name", name)
    } else {
        let value_ok = match value.chars().next() {
            None => true,
            Some(first) => !py_isspace(first) && !value.bytes().any(|b| matches!(b, b'\r' | b'\n')),
        };
        if value_ok {
            return None;
        }
        ("value", value)
    };
    Some(format!(
        "Invalid leading whitespace, reserved character(s), or return character(s) in header {kind}: {}",
        py_str_repr(part)
    ))
}

/// http.client's `putheader` encodes the name as ASCII and a `str` value as latin-1: the `UnicodeEncodeError`
/// for the first part that does not fit.
pub fn requests_header_encoding(name: &str, value: &str) -> Option<PyExc> {
    if name.is_ascii() && value.is_ascii() {
        return None;
    }
    unencodable(name, "ascii", 0x80, "ordinal not in range(128)")
        .or_else(|| unencodable(value, "latin-1", 0x100, "ordinal not in range(256)"))
}

/// Python's `UnicodeEncodeError` for `s` with a codec that holds the code points below `limit`: the first run of
/// characters it cannot encode (positions in code points).
fn unencodable(s: &str, codec: &str, limit: u32, reason: &str) -> Option<PyExc> {
    let start = s.chars().position(|c| c as u32 >= limit)?;
    let run = s
        .chars()
        .skip(start)
        .take_while(|c| *c as u32 >= limit)
        .count();
    Some(PyExc::new(
        "builtins.UnicodeEncodeError",
        vec![
            PyVal::str(codec),
            PyVal::str(s),
            PyVal::int(start),
            PyVal::int(start + run),
            PyVal::str(reason),
        ],
    ))
}

/// geventhttpclient's field rules (`_TOKEN_RE` for the name, `[\t\x20-\x7e\x80-\xff]*` for a `str` value): the
/// `ValueError` text, if the pair is refused.
pub fn fast_header_fault(name: &str, value: &str) -> Option<String> {
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Some(format!("invalid header field name {}", py_str_repr(name)));
    }
    let ok = |c: char| c == '\t' || (' '..='~').contains(&c) || ('\u{80}'..='\u{ff}').contains(&c);
    let value_ok = if value.is_ascii() {
        value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    } else {
        value.chars().all(ok)
    };
    (!value_ok).then(|| {
        format!(
            "invalid value for header field {}: {}",
            py_str_repr(name),
            py_str_repr(value)
        )
    })
}

/// A header value as both clients put it on the wire: latin-1 (the checks above have refused anything beyond it).
pub fn latin1(value: &str) -> std::borrow::Cow<'_, [u8]> {
    if value.is_ascii() {
        std::borrow::Cow::Borrowed(value.as_bytes())
    } else {
        std::borrow::Cow::Owned(value.chars().map(|c| c as u32 as u8).collect())
    }
}

/// geventhttpclient's request target rule: origin-form has exactly one leading slash.
pub fn fast_target_fault(path: &str, query: Option<&str>) -> Option<String> {
    if !path.starts_with("//") {
        return None;
    }
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    Some(format!(
        "invalid request URI {}: protocol-relative targets are not origin-form",
        py_str_repr(&target)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(flavor: Flavor, m: &str) -> Result<String, String> {
        request_method(flavor, m, &[], false).map(|m| method_str(&m).to_string())
    }

    #[test]
    fn methods_follow_urllib3() {
        assert_eq!(method(Flavor::Requests, "get"), Ok("GET".into()));
        assert_eq!(method(Flavor::Requests, "Purge"), Ok("PURGE".into()));
        assert_eq!(method(Flavor::Requests, "GET"), Ok("GET".into()));
        assert_eq!(method(Flavor::Requests, ""), Ok("".into()));
        assert_eq!(
            method(Flavor::Requests, "GE T"),
            Err("Method cannot contain non-token characters 'GE T' (found at least ' ')".into())
        );
        assert_eq!(
            method(Flavor::Requests, "get\r\n"),
            Err(
                "Method cannot contain non-token characters 'GET\\r\\n' (found at least '\\r')"
                    .into()
            )
        );
        assert_eq!(
            method(Flavor::Requests, "gét"),
            Err("Method cannot contain non-token characters 'GÉT' (found at least 'É')".into())
        );
        assert_eq!(
            method(Flavor::Requests, "GE\x7fT"),
            Err(
                "Method cannot contain non-token characters 'GE\\x7fT' (found at least '\\x7f')"
                    .into()
            )
        );
        assert_eq!(
            method(Flavor::Requests, "GE(T"),
            Err("Method cannot contain non-token characters 'GE(T' (found at least '(')".into())
        );
    }

    #[test]
    fn a_bad_method_waits_for_requests_header_check() {
        let bad = vec![("x:y".to_string(), "1".to_string())];
        assert_eq!(
            request_method(Flavor::Requests, "GE T", &bad, false),
            Ok(Method::GET)
        );
        let good = vec![("X-A".to_string(), "é".to_string())];
        assert!(request_method(Flavor::Requests, "GE T", &good, false).is_err());
        assert!(request_method(Flavor::Fast, "GE T", &bad, false).is_err());
        // a part only the shim saw was refused
        assert_eq!(
            request_method(Flavor::Requests, "GE T", &good, true),
            Ok(Method::GET)
        );
    }

    #[test]
    fn methods_follow_geventhttpclient() {
        assert_eq!(method(Flavor::Fast, "get"), Ok("GET".into()));
        assert_eq!(method(Flavor::Fast, "purge"), Ok("PURGE".into()));
        assert_eq!(
            method(Flavor::Fast, ""),
            Err("invalid HTTP method ''".into())
        );
        assert_eq!(
            method(Flavor::Fast, "ge t"),
            Err("invalid HTTP method 'GE T'".into())
        );
        assert_eq!(
            method(Flavor::Fast, "GET\r\n"),
            Err("invalid HTTP method 'GET\\r\\n'".into())
        );
        assert_eq!(
            method(Flavor::Fast, "straße"),
            Err("invalid HTTP method 'STRASSE'".into())
        );
    }

    #[test]
    fn empty_method_is_its_own() {
        assert_eq!(method_str(&empty_method()), "");
        assert_eq!(method_str(&Method::GET), "GET");
    }

    #[test]
    fn header_rules_follow_requests() {
        let msg = |kind: &str, part: &str| {
            Some(format!(
                "Invalid leading whitespace, reserved character(s), or return character(s) in header {kind}: {part}"
            ))
        };
        assert_eq!(requests_header_fault("X-A", "1"), None);
        assert_eq!(requests_header_fault("x y", "1"), None);
        assert_eq!(requests_header_fault("x\ty", "1"), None);
        assert_eq!(requests_header_fault("x(y", "1"), None);
        assert_eq!(requests_header_fault("X-A", ""), None);
        assert_eq!(requests_header_fault("X-A", "a\tb "), None);
        assert_eq!(requests_header_fault("X-A", "a\x00b"), None);
        assert_eq!(requests_header_fault("X-A", "é€"), None);
        assert_eq!(requests_header_fault("x:y", "1"), msg("name", "'x:y'"));
        assert_eq!(requests_header_fault("x\ny", "1"), msg("name", "'x\\ny'"));
        assert_eq!(requests_header_fault(" x", "1"), msg("name", "' x'"));
        assert_eq!(
            requests_header_fault("\u{1f}x", "1"),
            msg("name", "'\\x1fx'")
        );
        assert_eq!(
            requests_header_fault("\u{a0}x", "1"),
            msg("name", "'\\xa0x'")
        );
        assert_eq!(
            requests_header_fault("X-A", " lead"),
            msg("value", "' lead'")
        );
        assert_eq!(requests_header_fault("X-A", "\tb"), msg("value", "'\\tb'"));
        assert_eq!(
            requests_header_fault("X-A", "\u{3000}b"),
            msg("value", "'\\u3000b'")
        );
        assert_eq!(
            requests_header_fault("X-Nl", "a\r\nb: c"),
            msg("value", "'a\\r\\nb: c'")
        );
        assert_eq!(
            requests_header_fault("X-A", "a\nb"),
            msg("value", "'a\\nb'")
        );
        // the name is checked before the value
        assert_eq!(requests_header_fault("x:y", " v"), msg("name", "'x:y'"));
        assert_eq!(requests_header_fault("", "v"), msg("name", "''"));
    }

    #[test]
    fn header_encodings_follow_http_client() {
        assert!(requests_header_encoding("X-A", "v").is_none());
        assert!(requests_header_encoding("X-A", "é\u{ff}").is_none());
        let e = requests_header_encoding("X-é", "v").unwrap();
        assert_eq!(
            e.repr(),
            "UnicodeEncodeError('ascii', 'X-é', 2, 3, 'ordinal not in range(128)')"
        );
        let e = requests_header_encoding("X-E", "a€€b€").unwrap();
        assert_eq!(
            e.repr(),
            "UnicodeEncodeError('latin-1', 'a€€b€', 1, 3, 'ordinal not in range(256)')"
        );
        assert_eq!(&*latin1("aé\u{ff}"), b"a\xe9\xff");
        assert_eq!(&*latin1("plain"), b"plain");
    }

    #[test]
    fn header_rules_follow_geventhttpclient() {
        assert_eq!(fast_header_fault("X-A", "1"), None);
        assert_eq!(fast_header_fault("X-A", " lead"), None);
        assert_eq!(fast_header_fault("X-A", "a\tb"), None);
        assert_eq!(fast_header_fault("X-A", "é\u{ff}"), None);
        assert_eq!(fast_header_fault("X-A", ""), None);
        assert_eq!(
            fast_header_fault("x y", "1"),
            Some("invalid header field name 'x y'".into())
        );
        assert_eq!(
            fast_header_fault("x:y", "1"),
            Some("invalid header field name 'x:y'".into())
        );
        assert_eq!(
            fast_header_fault("x\ny", "1"),
            Some("invalid header field name 'x\\ny'".into())
        );
        assert_eq!(
            fast_header_fault("X-é", "1"),
            Some("invalid header field name 'X-é'".into())
        );
        assert_eq!(
            fast_header_fault("X-Nl", "a\r\nb: c"),
            Some("invalid value for header field 'X-Nl': 'a\\r\\nb: c'".into())
        );
        assert_eq!(
            fast_header_fault("X-T", "a\x7fb"),
            Some("invalid value for header field 'X-T': 'a\\x7fb'".into())
        );
        assert_eq!(
            fast_header_fault("X-E", "€"),
            Some("invalid value for header field 'X-E': '€'".into())
        );
        assert_eq!(
            fast_header_fault("", "v"),
            Some("invalid header field name ''".into())
        );
    }

    #[test]
    fn targets_follow_geventhttpclient() {
        assert_eq!(fast_target_fault("/a//b", None), None);
        assert_eq!(
            fast_target_fault("//127.0.0.1/hello", Some("a=1")),
            Some("invalid request URI '//127.0.0.1/hello?a=1': protocol-relative targets are not origin-form".into())
        );
    }
}
