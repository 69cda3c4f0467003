//! The head of an HttpUser response, one line at a time: http.client's `_read_status` (the status line, its
//! version and code, `int()`'s errors inside `BadStatusLine`) and `_read_headers` (at most 100 lines a block,
//! the blank one included), the email package's compat32 parser that turns those lines into fields, and
//! urllib3's view of them (folded values unfolded, repeated fields joined with `", "`). When the block ends,
//! `finish_head` makes the decisions that follow from it: http.client's and urllib3's framing (Content-Length,
//! chunked), whether the connection closes, and the content decoder, all into `body::Framing`.
//!
//! Who calls it: the state machine in `mod.rs` (`PyReader::run`: `parse_status`, `header_line`, `finish_head`).
//!
//! What it must not do: touch the caller's buffer or the body (it is handed one line at a time), or tidy what
//! Python keeps: field names keep their case, values their latin-1 text, repeated fields stay, in order.
use super::body::Framing;
use super::decode::decoder_for;
use super::errors::{aborted, trunc200, value_error, wrap};
use super::pyint::{INT_MAX_STR_DIGITS, IntErr, PyInt, py_int10};
use super::pystr::{py_lower, py_strip, split_ws};
use super::{Phase, PyReader};
use crate::http::Fields;
use crate::http::wire::exc::{PyExc, PyVal};
use crate::pyfmt::py_str_repr;
use std::borrow::Cow;

/// http.client's `_MAXHEADERS`.
const MAXHEADERS: usize = 100;

impl PyReader {
    /// One line of a header block as `_read_headers` reads it (and the email parser sees it); true at the
    /// block's end.
    pub(super) fn header_line(&mut self, line: &[u8]) -> Result<bool, PyExc> {
        self.hp.lines += 1;
        if self.hp.lines > MAXHEADERS {
            return Err(aborted(PyExc::new(
                "http.client.HTTPException",
                vec![PyVal::str(format!("got more than {MAXHEADERS} headers"))],
            )));
        }
        if line == b"\r\n" || line == b"\n" || line.is_empty() {
            return Ok(true);
        }
        if self.phase == Phase::Headers && !self.hp.email_done {
            self.hp.feed_line(line, &mut self.head.headers);
        }
        Ok(false)
    }

    /// The head is complete: http.client's and urllib3's decisions on framing, reuse and decoding.
    pub(super) fn finish_head(&mut self) -> Result<(), PyExc> {
        self.hp.flush(&mut self.head.headers);
        let status = self.head.status;
        let no_body =
            status == 204 || status == 304 || (100..200).contains(&status) || self.is_head;
        let hp = &self.hp;
        let fields = &self.head.headers;

        // http.client (the raw values of the first field of each name)
        let hc_chunked =
            Slot::raw(&hp.te, fields).is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
        let mut will_close = if self.head.version == 11 {
            Slot::raw(&hp.conn, fields).is_some_and(|c| contains_ignore_ascii_case(c, "close"))
        } else {
            !(Slot::raw(&hp.keep_alive, fields).is_some_and(|k| !k.is_empty())
                || Slot::raw(&hp.conn, fields)
                    .is_some_and(|c| contains_ignore_ascii_case(c, "keep-alive"))
                || Slot::raw(&hp.pconn, fields)
                    .is_some_and(|c| contains_ignore_ascii_case(c, "keep-alive")))
        };
        let mut hc_left = match Slot::raw(&hp.cl, fields) {
            Some(cl) if !cl.is_empty() && !hc_chunked => match py_int10(cl) {
                Ok(n) if !n.neg => Some(n.to_u64_saturating()),
                _ => None,
            },
            _ => None,
        };
        if no_body {
            hc_left = Some(0);
        }
        if !will_close && !hc_chunked && hc_left.is_none() {
            will_close = true;
        }

        // urllib3 (the unfolded values, repeated fields joined)
        let te = hp.u3.joined(U3_TE, &self.head.headers, "transfer-encoding");
        let u3_chunked = te
            .as_deref()
            .is_some_and(|t| py_lower(t).split(',').any(|e| py_strip(e) == "chunked"));
        let mut u3_len = None;
        if !u3_chunked && let Some(cl) = hp.u3.joined(U3_CL, &self.head.headers, "content-length") {
            // the distinct values: one, or more than one (an error)
            let mut value: Option<PyInt> = None;
            let mut several = false;
            let mut valid = true;
            for part in cl.split(',') {
                match py_int10(part) {
                    Ok(n) => match &value {
                        None => value = Some(n),
                        Some(v) if *v != n => several = true,
                        Some(_) => {}
                    },
                    Err(_) => {
                        valid = false;
                        break;
                    }
                }
            }
            if valid && several {
                let inner = PyExc::new(
                    "urllib3.exceptions.InvalidHeader",
                    vec![PyVal::str(format!(
                        "Content-Length contained multiple unmatching values ({cl})"
                    ))],
                );
                return Err(wrap("requests.exceptions.InvalidHeader", inner));
            }
            if valid
                && let Some(n) = value
                && !n.neg
            {
                u3_len = Some(n);
            }
        }
        if no_body {
            u3_len = Some(PyInt::zero());
        }
        let encoding = hp
            .u3
            .joined(U3_CE, &self.head.headers, "content-encoding")
            .map(|e| py_lower(&e))
            .unwrap_or_default();
        let decoder = decoder_for(&encoding, self.max_body());
        self.fr = Some(Framing {
            u3_chunked,
            hc_left,
            u3_len,
            will_close,
            informational: (100..200).contains(&status),
            encoding,
            decoder: Some(decoder),
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------
// the status line

pub(super) struct StatusLine<'a> {
    /// The line as latin-1 text (the line itself when it is ASCII, as it nearly always is); the version and the
    /// reason are parts of it.
    text: Cow<'a, str>,
    version: std::ops::Range<usize>,
    pub(super) status: u16,
    reason: std::ops::Range<usize>,
}

impl StatusLine<'_> {
    pub(super) fn version(&self) -> &str {
        &self.text[self.version.clone()]
    }

    /// The reason as http.client keeps it (stripped); the standard phrase of the status is not copied.
    pub(super) fn reason(&self) -> Cow<'static, str> {
        crate::http::wire::reason(self.status, py_strip(&self.text[self.reason.clone()]))
    }
}

/// `HTTPResponse._read_status`.
pub(super) fn parse_status(line: &[u8]) -> Result<StatusLine<'_>, PyExc> {
    if line.is_empty() {
        let rd = PyExc::new(
            "http.client.RemoteDisconnected",
            vec![PyVal::str("Remote end closed connection without response")],
        )
        .with_attr("line", PyVal::str("''"));
        return Err(aborted(rd));
    }
    let text: Cow<'_, str> = match std::str::from_utf8(line) {
        Ok(s) if s.is_ascii() => Cow::Borrowed(s),
        _ => Cow::Owned(latin1(line)),
    };
    let bad = |context: Option<PyExc>| {
        let v = PyVal::str(text.clone().into_owned());
        let mut e = PyExc::new("http.client.BadStatusLine", vec![v.clone()]).with_attr("line", v);
        e.context = context.map(Box::new);
        aborted(e)
    };
    // line.split(None, 2), else line.split(None, 1) with reason "", else version ""
    let (a, rest) = split_ws(&text);
    let (version, status, reason) = match rest.map(split_ws) {
        Some((b, Some(c))) => (a, b, c),
        Some(_) => match rest {
            Some(r) => (a, r, ""),
            None => ("", "", ""),
        },
        None => ("", "", ""),
    };
    if !version.starts_with("HTTP/") {
        return Err(bad(None));
    }
    let n = match py_int10(status) {
        Ok(n) => n,
        Err(IntErr::Invalid) => {
            let msg = format!(
                "invalid literal for int() with base 10: {}",
                trunc200(&py_str_repr(status))
            );
            return Err(bad(Some(value_error(msg))));
        }
        Err(IntErr::TooManyDigits(d)) => {
            let msg = format!(
                "Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion: value has {d} \
                 digits; use sys.set_int_max_str_digits() to increase the limit"
            );
            return Err(bad(Some(value_error(msg))));
        }
    };
    let status = match (n.neg, n.magnitude()) {
        (false, Some(s)) if (100..=999).contains(&s) => s as u16,
        _ => return Err(bad(None)),
    };
    // (the parts are slices of `text`, or an empty literal)
    let at = |part: &str| {
        if part.is_empty() {
            return 0..0;
        }
        let start = part.as_ptr() as usize - text.as_ptr() as usize;
        start..start + part.len()
    };
    let (version, reason) = (at(version), at(reason));
    Ok(StatusLine {
        text,
        version,
        status,
        reason,
    })
}

fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Bytes decoded as latin-1.
fn latin1(b: &[u8]) -> String {
    if b.is_ascii() {
        // ASCII is the same in UTF-8
        String::from_utf8_lossy(b).into_owned()
    } else {
        b.iter().map(|&c| c as char).collect()
    }
}

// ---------------------------------------------------------------------------------------------------------
// header fields: the email package's compat32 parser, and urllib3's view of the result

#[derive(Default)]
pub(super) struct HeadParse {
    /// Lines of the current header block (http.client's count, the blank line included).
    pub(super) lines: usize,
    /// The email parser left its header section (a blank or non-field line): later lines are "body".
    email_done: bool,
    /// A field is being collected: the field list's open one (not shown until `flush` commits it), its value
    /// lines (the first without its leading blanks) as they came.
    pending: bool,
    /// The raw values of the first field of each name http.client looks at.
    cl: Option<Slot>,
    te: Option<Slot>,
    conn: Option<Slot>,
    keep_alive: Option<Slot>,
    pconn: Option<Slot>,
    /// The pending field's value has a continuation line.
    continued: bool,
    /// Where the fields urllib3 joins are in the field list.
    u3: Seen,
}

/// The fields urllib3 reads by name ([`joined`]), by index in [`Seen`].
const U3_CL: usize = 0;
const U3_TE: usize = 1;
const U3_CE: usize = 2;

/// Of each field [`joined`] looks up: the first one's index in the field list, and how many there are (2: more
/// than one).
#[derive(Default)]
struct Seen {
    first: [usize; 3],
    count: [u8; 3],
}

impl Seen {
    fn note(&mut self, which: usize, i: usize) {
        if self.count[which] == 0 {
            self.first[which] = i;
        }
        self.count[which] = self.count[which].saturating_add(1).min(2);
    }

    /// `joined(headers, name)` for the field `which` is named.
    fn joined<'a>(&self, which: usize, headers: &'a Fields, name: &'a str) -> Option<Cow<'a, str>> {
        match self.count[which] {
            0 => None,
            1 => headers
                .get(self.first[which])
                .map(|(_, v)| Cow::Borrowed(v)),
            _ => joined(headers, name),
        }
    }
}

/// The raw value of a field http.client looks at: where it is in the field list, where it is the same (not
/// folded), or the raw value itself (folded: the list has it unfolded).
enum Slot {
    At(usize),
    Raw(String),
}

impl Slot {
    fn raw<'a>(slot: &'a Option<Slot>, fields: &'a Fields) -> Option<&'a str> {
        match slot.as_ref()? {
            Slot::At(i) => fields.get(*i).map(|(_, v)| v),
            Slot::Raw(v) => Some(v),
        }
    }
}

impl HeadParse {
    /// One http.client line, cut into the email parser's lines (`\r\n`, `\r` or `\n` ends one).
    fn feed_line(&mut self, line: &[u8], out: &mut Fields) {
        let mut start = 0;
        while let Some(at) = memchr::memchr2(b'\r', b'\n', &line[start..]) {
            let i = start + at;
            let end = if line[i] == b'\r' && line.get(i + 1) == Some(&b'\n') {
                i + 2
            } else {
                i + 1
            };
            self.email_line(&line[start..end], out);
            start = end;
        }
        if start < line.len() {
            self.email_line(&line[start..], out);
        }
    }

    /// `FeedParser._parsegen` (header section) and `_parse_headers`, one line at a time.
    fn email_line(&mut self, line: &[u8], out: &mut Fields) {
        if self.email_done || line.is_empty() {
            return;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // a continuation line; without a field before it, a defect and dropped
            if self.pending {
                out.extend_last_latin1(line);
                self.continued = true;
            }
            return;
        }
        let from = line.starts_with(b"From ");
        let colon = name_colon(line);
        if !from && colon.is_none() {
            // (not the email parser's `headerRE`) a blank line ends the headers; any other line starts the body
            self.email_done = true;
            return;
        }
        self.flush(out);
        let Some(colon) = colon.filter(|_| !from) else {
            return; // a Unix "From " line: never a field
        };
        if colon == 0 {
            return; // "Missing header name": a defect, dropped
        }
        let rest = &line[colon + 1..];
        let lead = rest
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        self.pending = true;
        out.open();
        out.extend_last_name_latin1(&line[..colon]);
        out.extend_last_latin1(&rest[lead..]);
    }

    /// `compat32.header_source_parse` of the pending field (the last of `out`); urllib3's unfolding for the
    /// field list.
    fn flush(&mut self, out: &mut Fields) {
        if !std::mem::take(&mut self.pending) {
            return;
        }
        // (the open field's index once committed)
        let i = out.len();
        let Some((name, value)) = out.last() else {
            return;
        };
        let trimmed = value.trim_end_matches(['\r', '\n']);
        // (one email line holds no `\r\n` but at its end: only a continuation can have put one inside)
        let folded = std::mem::take(&mut self.continued) && trimmed.contains("\r\n");
        let mut other = None;
        let is = |known: &str| name.len() == known.len() && name.eq_ignore_ascii_case(known);
        let slot = match name.len() {
            14 if is("content-length") => {
                self.u3.note(U3_CL, i);
                &mut self.cl
            }
            17 if is("transfer-encoding") => {
                self.u3.note(U3_TE, i);
                &mut self.te
            }
            16 if is("content-encoding") => {
                self.u3.note(U3_CE, i);
                &mut other
            }
            10 if is("connection") => &mut self.conn,
            10 if is("keep-alive") => &mut self.keep_alive,
            16 if is("proxy-connection") => &mut self.pconn,
            _ => &mut other,
        };
        if !folded {
            let keep = trimmed.len();
            if slot.is_none() {
                *slot = Some(Slot::At(i));
            }
            out.truncate_last_value(keep);
            out.commit();
            return;
        }
        // a folded value (rare): http.client keeps it raw, urllib3's list unfolded
        let raw = trimmed.to_owned();
        let unfolded = unfold(&raw);
        if slot.is_none() {
            *slot = Some(Slot::Raw(raw));
        }
        out.set_last_value(&unfolded);
        out.commit();
    }
}

/// The email parser's `headerRE` (`^(From |[\041-\071\073-\176]*:|[\t ])`) for its middle part: the first
/// `:` of a line whose bytes before it are all printable and not blank (the name), else None.
fn name_colon(line: &[u8]) -> Option<usize> {
    for (i, &c) in line.iter().enumerate() {
        if c == b':' {
            return Some(i);
        }
        if !(0x21..=0x7e).contains(&c) {
            return None;
        }
    }
    None
}

/// urllib3's `_OBSOLETE_FOLD_RE.sub(" ", value)`: `(?:(?<![ \t])[ \t]+)?\r\n[ \t]+` becomes one space.
pub(super) fn unfold(v: &str) -> String {
    let b = v.as_bytes();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut out = String::with_capacity(v.len());
    let mut last = 0;
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == b'\r' && b[i + 1] == b'\n' && blank(b[i + 2]) {
            let mut s = i;
            while s > last && blank(b[s - 1]) {
                s -= 1;
            }
            out.push_str(&v[last..s]);
            out.push(' ');
            let mut e = i + 2;
            while e < b.len() && blank(b[e]) {
                e += 1;
            }
            last = e;
            i = e;
        } else {
            i += 1;
        }
    }
    out.push_str(&v[last..]);
    out
}

/// urllib3's `HTTPHeaderDict.get(name)`: the values of every field `name`, joined with ", ".
fn joined<'a>(headers: &'a Fields, name: &'a str) -> Option<Cow<'a, str>> {
    let mut it = headers.all(name);
    let first = it.next()?;
    let Some(second) = it.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut s = format!("{first}, {second}");
    for v in it {
        s.push_str(", ");
        s.push_str(v);
    }
    Some(Cow::Owned(s))
}
