//! A response's header fields as the clients keep them: in arrival order, repeated names kept, names and values
//! as latin-1 text, all of them held in one string with the fields as ranges of it.
//!
//! Who uses it: the readers (`wire::pyhttp`, `wire::llhttp`, `conn::h2`) fill it; `http` (cookies, redirects,
//! framing) and `py` (the Python `Response`'s headers) read it.
//!
//! NOTE (issue 43): a field used to be two `String`s, allocated by the reader on the I/O thread and dropped on the
//! hub thread: 12 of the 38 allocations of an nginx response (6 fields) on the I/O thread. One block is two
//! allocations whatever the number of fields, each sized up front for a usual head (`TEXT` bytes, `FIELDS` fields).
//!
//! What it must not do: tidy what the clients keep (case, order, repeats, empty values stay as they came).
use std::fmt;

/// What a usual response head needs (nginx's 6 fields are about 150 bytes): one allocation each.
const TEXT: usize = 256;
const FIELDS: usize = 12;

#[derive(Clone, Default)]
pub struct Fields {
    text: String,
    /// Each field's name and value: `text[name.0..name.1]`, `text[name.1..value]` (the value follows its name).
    spans: Vec<(u32, u32, u32)>,
    /// The last span is a field still being read ([`Fields::open`]): not one of the fields until it is
    /// [`Fields::commit`]ted, as a client that keeps a field when the next one starts does not show it before.
    open: bool,
}

fn pos(i: usize) -> u32 {
    u32::try_from(i).expect("a header block under 4 GiB")
}

impl Fields {
    pub const fn new() -> Fields {
        Fields {
            text: String::new(),
            spans: Vec::new(),
            open: false,
        }
    }

    /// The fields, without one still open.
    fn shown(&self) -> &[(u32, u32, u32)] {
        &self.spans[..self.spans.len() - usize::from(self.open)]
    }

    pub fn len(&self) -> usize {
        self.shown().len()
    }

    pub fn is_empty(&self) -> bool {
        self.shown().is_empty()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.open = false;
    }

    fn reserve(&mut self, more: usize) {
        if self.spans.capacity() == 0 {
            self.spans.reserve(FIELDS);
            self.text.reserve(TEXT.max(more));
        }
    }

    fn close(&mut self, start: usize, name_end: usize) {
        self.spans
            .push((pos(start), pos(name_end), pos(self.text.len())));
    }

    /// Adds a field (committing one still open first).
    pub fn push(&mut self, name: &str, value: &str) {
        self.commit();
        self.reserve(name.len() + value.len());
        let start = self.text.len();
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.close(start, name_end);
    }

    /// Adds a field whose name and value are bytes decoded as latin-1 (each byte one character).
    pub fn push_latin1(&mut self, name: &[u8], value: &[u8]) {
        self.commit();
        self.reserve(name.len() + value.len());
        let start = self.text.len();
        push_latin1(&mut self.text, name);
        let name_end = self.text.len();
        push_latin1(&mut self.text, value);
        self.close(start, name_end);
    }

    /// Starts a field read in pieces ([`Fields::extend_last_name_latin1`], then [`Fields::extend_last_latin1`]),
    /// shown once [`Fields::commit`]ted (one still open is dropped first).
    pub fn open(&mut self) {
        self.drop_open();
        self.reserve(0);
        let at = self.text.len();
        self.close(at, at);
        self.open = true;
    }

    /// The open field becomes one of the fields.
    pub fn commit(&mut self) {
        self.open = false;
    }

    /// The open field, if any, is dropped.
    pub fn drop_open(&mut self) {
        if std::mem::take(&mut self.open)
            && let Some((start, _, _)) = self.spans.pop()
        {
            self.text.truncate(start as usize);
        }
    }

    /// Appends bytes (latin-1) to the last field's name (the open one), while its value is still empty.
    pub fn extend_last_name_latin1(&mut self, more: &[u8]) {
        match self.spans.last() {
            Some(&(_, name_end, end)) if name_end == end => {}
            _ => return,
        }
        push_latin1(&mut self.text, more);
        let end = pos(self.text.len());
        if let Some(last) = self.spans.last_mut() {
            last.1 = end;
            last.2 = end;
        }
    }

    /// The bytes of the last field's name and value as they are kept (UTF-8), the open one's included.
    pub fn last_len(&self) -> usize {
        self.spans
            .last()
            .map_or(0, |&(start, _, end)| (end - start) as usize)
    }

    /// Appends bytes (latin-1) to the last field's value (the open one's, or a field read in lines).
    pub fn extend_last_latin1(&mut self, more: &[u8]) {
        if self.spans.is_empty() {
            return;
        }
        push_latin1(&mut self.text, more);
        let end = pos(self.text.len());
        if let Some(last) = self.spans.last_mut() {
            last.2 = end;
        }
    }

    /// The last field (the open one, if any).
    pub fn last(&self) -> Option<(&str, &str)> {
        self.spans.last().map(|s| self.span(s))
    }

    /// The last field's value.
    pub fn last_value(&self) -> Option<&str> {
        self.spans.last().map(|s| self.span(s).1)
    }

    /// Keeps the first `len` bytes of the last field's value (a char boundary).
    pub fn truncate_last_value(&mut self, len: usize) {
        let Some(last) = self.spans.last_mut() else {
            return;
        };
        let end = (last.1 as usize + len).min(last.2 as usize);
        last.2 = pos(end);
        self.text.truncate(end);
    }

    /// Replaces the last field's value.
    pub fn set_last_value(&mut self, value: &str) {
        let Some(&(_, name_end, _)) = self.spans.last() else {
            return;
        };
        self.text.truncate(name_end as usize);
        self.text.push_str(value);
        let end = pos(self.text.len());
        if let Some(last) = self.spans.last_mut() {
            last.2 = end;
        }
    }

    fn span(&self, &(start, name_end, end): &(u32, u32, u32)) -> (&str, &str) {
        let (start, name_end, end) = (start as usize, name_end as usize, end as usize);
        (&self.text[start..name_end], &self.text[name_end..end])
    }

    /// Field `i`: its name and value.
    pub fn get(&self, i: usize) -> Option<(&str, &str)> {
        self.shown().get(i).map(|s| self.span(s))
    }

    /// The fields in order, as name and value.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator + Clone {
        self.shown().iter().map(|s| self.span(s))
    }

    /// The first value of `name` (case-insensitive).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every value of `name` (case-insensitive), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Equal when the fields shown are (whatever the text holds besides).
impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Fields {}

/// Bytes decoded as latin-1 onto `out`: ASCII as it is (the usual case), any other byte as its character.
pub fn push_latin1(out: &mut String, b: &[u8]) {
    if b.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8 (checked by the one scan above, not again by from_utf8)
        out.push_str(unsafe { std::str::from_utf8_unchecked(b) });
    } else {
        out.extend(b.iter().map(|&c| c as char));
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Fields {
        let mut f = Fields::new();
        for (n, v) in pairs {
            f.push(n.as_ref(), v.as_ref());
        }
        f
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_order_case_repeats_and_latin1() {
        let mut f = Fields::new();
        assert!(f.is_empty() && f.first("x").is_none());
        f.push("Set-Cookie", "a=1");
        f.push_latin1(b"X-Name", b"caf\xe9");
        f.push("set-cookie", "");
        f.push_latin1(b"Empty", b"");
        assert_eq!(f.len(), 4);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [
                ("Set-Cookie", "a=1"),
                ("X-Name", "caf\u{e9}"),
                ("set-cookie", ""),
                ("Empty", "")
            ]
        );
        assert_eq!(f.first("x-NAME"), Some("caf\u{e9}"));
        assert_eq!(f.all("SET-COOKIE").collect::<Vec<_>>(), ["a=1", ""]);
        assert_eq!(f.get(1), Some(("X-Name", "caf\u{e9}")));
        assert_eq!(f.get(4), None);
        assert_eq!(f.iter().next_back(), Some(("Empty", "")));
        let g: Fields = f.iter().collect();
        assert_eq!(g, f);
        let mut h = g.clone();
        h.extend_last_latin1(b"\r\n \xff");
        assert_eq!(h.last_value(), Some("\r\n \u{ff}"));
        h.open();
        h.extend_last_name_latin1(b"Na");
        h.extend_last_name_latin1(b"me");
        assert_eq!(h.len(), 4, "an open field is not shown");
        h.extend_last_latin1(b"v\xe9");
        h.extend_last_name_latin1(b"late");
        assert_eq!(h.last_len(), 7);
        assert_eq!(h.iter().last(), Some(("Empty", "\r\n \u{ff}")));
        h.commit();
        assert_eq!(h.iter().last(), Some(("Name", "v\u{e9}")));
        h.open();
        h.extend_last_name_latin1(b"Gone");
        h.drop_open();
        h.open();
        h.push("Next", "1");
        assert_eq!(h.len(), 7, "pushing commits the open field");
        assert_eq!(h.get(5), Some(("", "")));
        let mut h = g.clone();
        h.extend_last_latin1(b"\r\n \xff");
        h.truncate_last_value(2);
        assert_eq!(h.last_value(), Some("\r\n"));
        h.set_last_value("x");
        assert_eq!(h.iter().last(), Some(("Empty", "x")));
        assert_eq!(h.get(0), g.get(0));
        assert_eq!(format!("{f:?}").matches("Set-Cookie").count(), 1);
        f.clear();
        assert!(f.is_empty() && f.iter().next().is_none());
    }

    #[test]
    fn a_usual_head_takes_two_allocations() {
        let mut f = Fields::new();
        for (n, v) in [
            ("Server", "nginx/1.22.1"),
            ("Date", "Thu, 26 Nov 2026 08:00:00 GMT"),
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", "6"),
            ("Connection", "keep-alive"),
            ("X-Extra", "1"),
        ] {
            f.push(n, v);
        }
        assert!(f.spans.capacity() == FIELDS && f.text.capacity() == TEXT);
    }
}
