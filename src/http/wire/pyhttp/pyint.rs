//! Python's `int()` where the reader needs it: `int(s)` of a latin-1 `str` (a status code, a Content-Length
//! value) with CPython's whitespace, sign, underscore and 4300-digit rules, kept exact at any size (`PyInt`:
//! urllib3 reports a length past u64 as it is), and `int(b, 16)` of a chunk-size line, reduced to what the
//! chunk parser needs (`ChunkSize`).
//!
//! Who calls it: `head` (status codes, Content-Length) and `body` (chunk sizes, urllib3's `length_remaining`).
//!
//! What it must not do: build exceptions (the callers word the `ValueError` from `IntErr`), or accept anything
//! Python's `int()` refuses.

/// CPython's default `sys.get_int_max_str_digits()`.
pub(super) const INT_MAX_STR_DIGITS: usize = 4300;

/// A Python int as `int()` parsed it: its sign and its magnitude, held as a `u64` when it fits (every status
/// code and nearly every Content-Length: no allocation) and as decimal digits without leading zeros when it
/// does not (`0` is not negative). One value has one representation, so `==` compares values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PyInt {
    pub(super) neg: bool,
    /// The magnitude when `big` is empty.
    small: u64,
    /// The magnitude's digits when it is larger than `u64::MAX`, else empty.
    big: String,
}

impl PyInt {
    pub(super) fn zero() -> PyInt {
        PyInt {
            neg: false,
            small: 0,
            big: String::new(),
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.big.is_empty() && self.small == 0
    }

    /// The magnitude, when it fits in a `u64`.
    pub(super) fn magnitude(&self) -> Option<u64> {
        self.big.is_empty().then_some(self.small)
    }

    /// The magnitude's decimal digits.
    #[cfg(test)]
    pub(super) fn digits(&self) -> std::borrow::Cow<'_, str> {
        match self.magnitude() {
            Some(n) => n.to_string().into(),
            None => self.big.as_str().into(),
        }
    }

    pub(super) fn to_u64_saturating(&self) -> u64 {
        if self.neg {
            return 0;
        }
        self.magnitude().unwrap_or(u64::MAX)
    }

    /// `self - b` for a non-negative `self`, as decimal text.
    pub(super) fn minus(&self, b: u64) -> String {
        if let Some(a) = self.magnitude() {
            let a = i128::from(a);
            let a = if self.neg { -a } else { a };
            return (a - i128::from(b)).to_string();
        }
        // larger than any u64, so the result stays positive
        let mut out: Vec<u8> = self.big.bytes().rev().map(|d| d - b'0').collect();
        let mut borrow = 0u64;
        let mut sub = b;
        for d in out.iter_mut() {
            let s = sub % 10 + borrow;
            sub /= 10;
            if u64::from(*d) >= s {
                *d -= s as u8;
                borrow = 0;
            } else {
                *d = (u64::from(*d) + 10 - s) as u8;
                borrow = 1;
            }
        }
        while out.len() > 1 && out.last() == Some(&0) {
            out.pop();
        }
        out.iter().rev().map(|d| char::from(b'0' + d)).collect()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum IntErr {
    Invalid,
    TooManyDigits(usize),
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `int(s)` of a latin-1 `str` (base 10): ASCII whitespace, `\x85` and `\xa0` around it, a sign, digits with
/// single underscores between them, at most 4300 digits.
pub(super) fn py_int10(s: &str) -> Result<PyInt, IntErr> {
    // latin-1 text: every char is one byte (anything else cannot be a digit or a space); ASCII text, as a
    // status code or a Content-Length nearly always is, is read in place
    let copy: Vec<u8>;
    let s: &[u8] = if s.is_ascii() {
        s.as_bytes()
    } else {
        copy = s
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect();
        &copy
    };
    let space = |c: u8| is_c_space(c) || c == 0x85 || c == 0xa0;
    let mut i = 0;
    while i < s.len() && space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = s.get(i)
        && (c == b'+' || c == b'-')
    {
        neg = c == b'-';
        i += 1;
    }
    let mut small = 0u64;
    let mut big = String::new();
    let mut count = 0usize;
    let mut prev_underscore = true; // no leading underscore
    while let Some(&c) = s.get(i) {
        if c.is_ascii_digit() {
            count += 1;
            let d = u64::from(c - b'0');
            if big.is_empty() {
                match small.checked_mul(10).and_then(|v| v.checked_add(d)) {
                    Some(v) => small = v,
                    None => {
                        big = small.to_string();
                        big.push(c as char);
                    }
                }
            } else {
                big.push(c as char);
            }
            prev_underscore = false;
        } else if c == b'_' && !prev_underscore {
            prev_underscore = true;
        } else {
            break;
        }
        i += 1;
    }
    if count == 0 || prev_underscore {
        return Err(IntErr::Invalid);
    }
    if count > INT_MAX_STR_DIGITS {
        return Err(IntErr::TooManyDigits(count));
    }
    while i < s.len() && space(s[i]) {
        i += 1;
    }
    if i != s.len() {
        return Err(IntErr::Invalid);
    }
    if big.is_empty() && small == 0 {
        return Ok(PyInt::zero());
    }
    Ok(PyInt { neg, small, big })
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum ChunkSize {
    Zero,
    Positive(u64),
    MinusOne,
    Negative,
}

/// `int(b, 16)` of a chunk-size line: ASCII whitespace around, a sign, an optional `0x` (and one `_`), hex
/// digits with single underscores between them. Magnitudes past u64 saturate (no body gets that far).
pub(super) fn py_int16(s: &[u8]) -> Result<ChunkSize, ()> {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = s.get(i)
        && (c == b'+' || c == b'-')
    {
        neg = c == b'-';
        i += 1;
    }
    if s.get(i) == Some(&b'0') && matches!(s.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        if s.get(i) == Some(&b'_') {
            i += 1;
        }
    }
    let mut value = 0u64;
    let mut count = 0usize;
    let mut prev_underscore = true;
    while let Some(&c) = s.get(i) {
        if let Some(d) = (c as char).to_digit(16) {
            value = value.saturating_mul(16).saturating_add(u64::from(d));
            count += 1;
            prev_underscore = false;
        } else if c == b'_' && !prev_underscore {
            prev_underscore = true;
        } else {
            break;
        }
        i += 1;
    }
    if count == 0 || prev_underscore {
        return Err(());
    }
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    if i != s.len() {
        return Err(());
    }
    Ok(match (neg, value) {
        (_, 0) => ChunkSize::Zero,
        (false, n) => ChunkSize::Positive(n),
        (true, 1) => ChunkSize::MinusOne,
        (true, _) => ChunkSize::Negative,
    })
}
