//! Form bodies of the web API and the `POST /swarm` rules of Locust 2.47 (reference §1.3.1): the fields are
//! walked in form order (each key once, with its first value), `user_count` is Python `int()`, `spawn_rate`
//! Python `float()`, `run_time` a Locust time span; the first bad field ends the walk with Locust's message.
//!
//! Multipart bodies are bounded: a boundary of RFC 2046's 1 to 70 characters, at most [`MAX_PARTS`] parts, parsed
//! in one linear pass (the body itself is at most `routes::MAX_BODY`, read within `serve::BODY_READ_TIMEOUT`).
//!
//! Who calls it: `web::routes` for `POST /swarm`. Pure functions on bytes and strings; no I/O, no Python.
use crate::cli::pyval::{py_float, py_int_saturating};
use crate::pyfmt::py_str_repr;
use std::collections::BTreeMap;

/// A parsed form: each key once with its first value, in the order keys first appear (werkzeug's
/// `request.form.items()`), and every value of every key (`getlist`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    pub items: Vec<(String, String)>,
    pub lists: BTreeMap<String, Vec<String>>,
}

impl Form {
    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Form {
        let mut form = Form::default();
        for (k, v) in pairs {
            let list = form.lists.entry(k.clone()).or_default();
            if list.is_empty() {
                form.items.push((k, v.clone()));
            }
            list.push(v);
        }
        form
    }

    /// The body of a request with this `Content-Type`: `application/x-www-form-urlencoded` or
    /// `multipart/form-data` (file parts are not form fields, as in werkzeug); anything else is an empty form.
    /// `Err` is the 400 or 413 a bad multipart body gets: no boundary, one that RFC 2046 does not allow (1 to 70
    /// characters), or more than [`MAX_PARTS`] parts.
    pub fn parse(content_type: &str, body: &[u8]) -> Result<Form, Refused> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/x-www-form-urlencoded" => Ok(Form::from_pairs(
                url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
            )),
            "multipart/form-data" => {
                let b = boundary(content_type).ok_or(Refused::BadBoundary)?;
                Ok(Form::from_pairs(multipart_fields(body, &b)?))
            }
            _ => Ok(Form::default()),
        }
    }
}

/// Why a multipart body is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No boundary, or not 1 to 70 of RFC 2046's characters: 400.
    BadBoundary,
    /// More than [`MAX_PARTS`] parts: 413.
    TooManyParts,
}

/// The most parts a multipart body may have (werkzeug's `max_form_parts` default; the start form has about ten).
pub const MAX_PARTS: usize = 1000;

/// RFC 2046's longest boundary. A longer one made every delimiter search cost its length at every byte of the body
/// (a 64 KB boundary held the web UI's thread 8.4 s on a 1 MiB body).
const MAX_BOUNDARY: usize = 70;

fn boundary(content_type: &str) -> Option<String> {
    let b = content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_string())
    })?;
    // bchars: digits, letters and '()+_,-./:=? and space, not ending in a space
    let bchar = |c: u8| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c);
    (!b.is_empty() && b.len() <= MAX_BOUNDARY && b.bytes().all(bchar) && !b.ends_with(' '))
        .then_some(b)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|p| p + from)
}

/// The `name`d text parts of a multipart body (parts with a `filename` are files, not form fields). Linear in the
/// body's length: each delimiter is searched for once, from where the last one ended.
fn multipart_fields(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, Refused> {
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = [b"\r\n", delim.as_slice()].concat();
    let mut out = Vec::new();
    let Some(mut pos) = find(body, &delim, 0) else {
        return Ok(out);
    };
    let mut parts = 0;
    loop {
        let start = pos + delim.len();
        if body[start..].starts_with(b"--") {
            break; // the closing delimiter
        }
        let Some(next) = find(body, &next_delim, start) else {
            break;
        };
        parts += 1;
        if parts > MAX_PARTS {
            return Err(Refused::TooManyParts);
        }
        let part = &body[start..next];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        if let Some(split) = find(part, b"\r\n\r\n", 0) {
            let head = String::from_utf8_lossy(&part[..split]);
            let value = &part[split + 4..];
            let disposition = head
                .split("\r\n")
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
                .unwrap_or("");
            let param = |key: &str| {
                disposition.split(';').skip(1).find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
                })
            };
            if let (Some(name), None) = (param("name"), param("filename")) {
                out.push((name, String::from_utf8_lossy(value).into_owned()));
            }
        }
        pos = next + 2;
    }
    Ok(out)
}

/// What a `/swarm` form asks for once its fields have been walked.
#[derive(Clone, Debug, PartialEq)]
pub struct Swarm {
    /// The fields Locust stores before it answers (all of them, or those before the bad one): handed to
    /// Python, which applies host, profile and `parsed_options` as Locust does.
    pub applied: Vec<(String, String)>,
    /// The first bad field's message (Locust answers with it at once, before touching the running test).
    pub error: Option<String>,
    pub user_count: Option<i64>,
    pub spawn_rate: Option<f64>,
    /// `run_time` in seconds (0 when given as 0: no timer, as Locust's `if run_time`).
    pub run_time: Option<u64>,
    /// The new host (`<` and `>` removed) when the form has one.
    pub host: Option<String>,
}

/// The message when the counts are missing or out of range (checked after the walk).
pub const MISSING_COUNTS: &str = "Missing or invalid user_count or spawn_rate from /swarm request";

/// The message of a bad run time.
pub const RUN_TIME_FORMATS: &str =
    "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.";

impl Swarm {
    /// Walk the form's fields in order, as Locust's `/swarm` does.
    pub fn walk(form: &Form) -> Swarm {
        let mut s = Swarm {
            applied: Vec::new(),
            error: None,
            user_count: None,
            spawn_rate: None,
            run_time: None,
            host: None,
        };
        for (key, value) in &form.items {
            match key.as_str() {
                "user_count" => match py_int_saturating(value) {
                    Some(n) => s.user_count = Some(n),
                    None => {
                        s.error = Some(format!(
                            "Invalid user_count value: {} (must be an integer)",
                            py_str_repr(value)
                        ));
                        return s;
                    }
                },
                "spawn_rate" => match py_float(value) {
                    Some(r) => s.spawn_rate = Some(r),
                    None => {
                        s.error = Some(format!(
                            "Invalid spawn_rate value: {} (must be a number)",
                            py_str_repr(value)
                        ));
                        return s;
                    }
                },
                "host" => s.host = Some(value.replace(['<', '>'], "")),
                "run_time" if value.is_empty() => continue,
                "run_time" => match crate::cli::parse_timespan(value) {
                    Ok(secs) => s.run_time = Some(secs),
                    Err(_) => {
                        s.error = Some(RUN_TIME_FORMATS.to_string());
                        return s;
                    }
                },
                _ => {}
            }
            s.applied.push((key.clone(), value.clone()));
        }
        s
    }

    /// The users and spawn rate to start with, or `None` when Locust refuses them ([`MISSING_COUNTS`]).
    pub fn counts(&self) -> Option<(u64, f64)> {
        match (self.user_count, self.spawn_rate) {
            (Some(u), Some(r)) if u >= 0 && r > 0.0 && r.is_finite() => Some((u as u64, r)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        Form::parse("application/x-www-form-urlencoded", body.as_bytes()).unwrap()
    }

    #[test]
    fn urlencoded_keeps_first_values_in_order_and_every_value() {
        let f = form("user_classes=B&user_count=5&user_classes=A&host=http%3A%2F%2Fx+y");
        assert_eq!(
            f.items,
            [
                ("user_classes".to_string(), "B".to_string()),
                ("user_count".into(), "5".into()),
                ("host".into(), "http://x y".into())
            ]
        );
        assert_eq!(f.lists["user_classes"], ["B", "A"]);
        assert_eq!(Form::parse("text/plain", b"a=1"), Ok(Form::default()));
    }

    #[test]
    fn multipart_text_fields() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"user_count\"\r\n\r\n3\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n--XyZ\r\nContent-Disposition: form-data; name=\"spawn_rate\"\r\n\r\n1.5\r\n--XyZ--\r\n";
        let f = Form::parse("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap();
        assert_eq!(
            f.items,
            [
                ("user_count".to_string(), "3".to_string()),
                ("spawn_rate".into(), "1.5".into())
            ]
        );
    }

    #[test]
    fn multipart_refusals() {
        let part = "--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n";
        let body = format!("{}--b--\r\n", part.repeat(MAX_PARTS));
        let ct = "multipart/form-data; boundary=b";
        assert_eq!(
            Form::parse(ct, body.as_bytes()).unwrap().lists["k"].len(),
            MAX_PARTS
        );
        let body = format!("{}--b--\r\n", part.repeat(MAX_PARTS + 1));
        assert_eq!(Form::parse(ct, body.as_bytes()), Err(Refused::TooManyParts));
        let long = format!("multipart/form-data; boundary={}", "-".repeat(71));
        assert_eq!(Form::parse(&long, b"x"), Err(Refused::BadBoundary));
        let ok = format!("multipart/form-data; boundary=\"{}\"", "-".repeat(70));
        assert_eq!(Form::parse(&ok, b"x"), Ok(Form::default()));
        for bad in [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=a\u{7f}b",
        ] {
            assert_eq!(Form::parse(bad, b"x"), Err(Refused::BadBoundary), "{bad}");
        }
    }

    #[test]
    fn python_numbers() {
        assert_eq!(py_int_saturating(" 12 "), Some(12));
        assert_eq!(py_int_saturating("99999999999999999999"), Some(i64::MAX));
        assert_eq!(py_int_saturating("-3"), Some(-3));
        assert_eq!(py_int_saturating("1_000"), Some(1000));
        for bad in ["", "abc", "1.5", "1__0", "_1", "1_", "--1"] {
            assert_eq!(py_int_saturating(bad), None, "{bad}");
        }
        assert_eq!(py_float("2"), Some(2.0));
        assert_eq!(py_float(" .5 "), Some(0.5));
        assert_eq!(py_float("1e3"), Some(1000.0));
        assert_eq!(py_float("1_0.5"), Some(10.5));
        assert!(py_float("-inf").unwrap().is_infinite());
        assert!(py_float("NaN").unwrap().is_nan());
        for bad in ["", "abc", "1,5", "_1", "++1", "1_"] {
            assert_eq!(py_float(bad), None, "{bad}");
        }
    }

    #[test]
    fn swarm_walk_messages_and_checks() {
        let s = Swarm::walk(&form("host=h&user_count=abc&spawn_rate=1"));
        assert_eq!(
            s.error.as_deref(),
            Some("Invalid user_count value: 'abc' (must be an integer)")
        );
        assert_eq!(s.applied, [("host".to_string(), "h".to_string())]);
        let s = Swarm::walk(&form("user_count=1&spawn_rate=x"));
        assert_eq!(
            s.error.as_deref(),
            Some("Invalid spawn_rate value: 'x' (must be a number)")
        );
        let s = Swarm::walk(&form("user_count=1&spawn_rate=1&run_time=1x"));
        assert_eq!(s.error.as_deref(), Some(RUN_TIME_FORMATS));
        let s = Swarm::walk(&form("user_count=4&spawn_rate=2&run_time=1m&host=%3Cb%3Ex"));
        assert_eq!(s.error, None);
        assert_eq!(s.counts(), Some((4, 2.0)));
        assert_eq!((s.run_time, s.host.as_deref()), (Some(60), Some("bx")));
        for bad in [
            "user_count=-1&spawn_rate=1",
            "user_count=1&spawn_rate=0",
            "user_count=1&spawn_rate=inf",
            "user_count=1",
            "spawn_rate=1",
        ] {
            let s = Swarm::walk(&form(bad));
            assert_eq!((s.error.as_deref(), s.counts()), (None, None), "{bad}");
        }
        let s = Swarm::walk(&form("user_count=1&spawn_rate=1&run_time="));
        assert_eq!((s.run_time, s.applied.len()), (None, 2));
    }
}
