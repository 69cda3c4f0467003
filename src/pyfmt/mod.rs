//! Python-shaped text, the ground floor: `repr()`/`str()` of floats and strings, `%d` on floats, `%.Nf`, the
//! [`Num`] that keeps Python's int/float distinction and its `str()`, Python string-literal parsing, Locust's
//! `format_utc_timestamp`, in [`json`] the JSON value type and the JSON text Python and Flask write, and in [`csv`]
//! the quoting of Python's `csv.writer`.
//!
//! Who calls it: every module that prints what Locust's Python prints (reports, the web API, the CLI's error
//! lines, the HTTP client's exception texts, statistics' rounding, OpenTelemetry's console exporter).
//!
//! What it must not do: import anything of the crate (it is the floor the others stand on); know about
//! statistics or files; it only turns values into text.

pub mod csv;
pub mod json;

use std::fmt::Write as _;

/// A number with the Python type Locust would hold there (`int` or `float`), so reports can
/// print `0` versus `0.0` exactly as `str()` would.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// The value as a float (for arithmetic and `%d`-style printing).
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Python `repr(float)` / `str(float)`: the shortest string that round-trips, `.0` on integral
/// values in fixed notation, scientific notation when the exponent is < -4 or >= 16 (`1e-05`,
/// `1e+16`, `1.5e+16`), and `inf`, `-inf`, `nan`.
pub fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digit count: "-1.2345e-7". NOTE: when two
    // strings of that length round-trip equally close (an exact tie), Python picks the even last
    // digit and Rust may not; the correctly rounded (half-even) string of the same length wins
    // whenever it round-trips, as in Python's dtoa.
    let shortest = format!("{x:e}");
    let ndigits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    let rounded = format!("{x:.prec$e}", prec = ndigits.saturating_sub(1));
    let sci = if rounded.parse::<f64>() == Ok(x) {
        rounded
    } else {
        shortest
    };
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    }
    out
}

/// Python `str()` of an int or float.
pub fn py_num(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => py_float_repr(f),
    }
}

/// Python `int(x)` / `"%d" % x` on a float: truncation toward zero (0 for NaN, saturating).
pub fn py_int_trunc(x: f64) -> i64 {
    if x.is_nan() { 0 } else { x.trunc() as i64 }
}

/// Python `round(x)` to an int (half to even): how a percentile in ms becomes the whole number
/// shown where Locust shows an int.
pub fn py_round_int(x: f64) -> i64 {
    if x.is_nan() {
        0
    } else {
        x.round_ties_even() as i64
    }
}

/// Locust `get_readable_percentiles` for one value: `int(p*100)%` when `p*100` is integral,
/// else `round(100*p, 6)%` (`0.999` -> `99.9%`).
pub fn readable_percentile(p: f64) -> String {
    let pct = p * 100.0;
    if pct.is_finite() && pct.fract() == 0.0 {
        format!("{}%", pct as i64)
    } else {
        let rounded: f64 = format!("{:.6}", 100.0 * p).parse().unwrap_or(pct);
        format!("{}%", py_float_repr(rounded))
    }
}

/// The column labels for the percentiles of the console table and the CSV files (`PERCENTILES_TO_REPORT`).
pub fn readable_percentiles(ps: &[f64]) -> Vec<String> {
    ps.iter().map(|&p| readable_percentile(p)).collect()
}

/// Python `"%.{prec}f" % x` (also `f"{x:.{prec}f}"`): correctly rounded fixed notation.
pub fn py_fixed(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    format!("{x:.prec$}")
}

/// Python's `str.isprintable()` for one character, as used by `repr()`. Covers the control,
/// format, separator and private-use ranges; unassigned code points are treated as printable
/// (that needs the Unicode database).
fn py_printable(c: char) -> bool {
    let u = c as u32;
    !matches!(u,
        0x00..=0x1f | 0x7f..=0xa0 | 0xad
        | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x1680 | 0x180e
        | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f | 0x3000
        | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a
        | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..=0x10ffff)
}

/// Python `repr(str)`: single quotes unless the text has `'` and no `"`; escapes `\\`, the quote,
/// `\t`, `\n`, `\r`, and non-printable characters as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
pub fn py_str_repr(s: &str) -> String {
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
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if py_printable(c) => out.push(c),
            c => {
                let u = c as u32;
                let _ = if u <= 0xff {
                    write!(out, "\\x{u:02x}")
                } else if u <= 0xffff {
                    write!(out, "\\u{u:04x}")
                } else {
                    write!(out, "\\U{u:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// Parse a Python string literal as `repr()` writes it (`'...'` or `"..."`, optionally with a
/// `b`/`r`/`u` prefix absent) back into its text. `None` when `s` is not exactly one such literal.
pub fn parse_py_str_literal(s: &str) -> Option<String> {
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = s.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == quote {
            return None; // an unescaped quote inside: not a single literal
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<char> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return None;
            }
            char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
        };
        match e {
            '\\' | '\'' | '"' => out.push(e),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '0' => out.push('\0'),
            'x' => out.push(hex(&mut chars, 2)?),
            'u' => out.push(hex(&mut chars, 4)?),
            'U' => out.push(hex(&mut chars, 8)?),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// Locust `format_utc_timestamp`: `int(ts)` as `%Y-%m-%dT%H:%M:%SZ` in UTC.
pub fn format_utc_timestamp(ts: f64) -> String {
    let secs = py_int_trunc(ts);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        // Expected strings from python3 -c 'print(repr(x))' on this machine.
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (349.0, "349.0"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (4.731048539472295, "4.731048539472295"),
            (1.6534209999861105, "1.6534209999861105"),
            (1795276670.35, "1795276670.35"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e-05, "1e-05"),
            (1.5e-07, "1.5e-07"),
            (-2.5e-10, "-2.5e-10"),
            (1e15, "1000000000000000.0"),
            (123456789012345.6, "123456789012345.6"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (12345.678, "12345.678"),
            // Exact ties between two shortest strings (1201363153809856.25, 28107777242546.8125,
            // 162565078795859.625): Python keeps the even last digit.
            (f64::from_bits(0x4311_1288_a01d_c701), "1201363153809856.2"),
            (f64::from_bits(0x42b9_905a_13f5_b2d0), "28107777242546.812"),
            (f64::from_bits(0x42e2_7b44_38c8_ca74), "162565078795859.62"),
            (-7.25, "-7.25"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for &(x, want) in cases {
            assert_eq!(py_float_repr(x), want, "{x:?}");
        }
    }

    #[test]
    fn readable_percentile_labels() {
        let labels = readable_percentiles(&[
            0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
        ]);
        // python3: get_readable_percentiles(PERCENTILES_TO_REPORT)
        assert_eq!(
            labels,
            [
                "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"
            ]
        );
        // 0.29 * 100 == 28.999999999999996 -> round(.., 6) -> 29.0
        assert_eq!(readable_percentile(0.29), "29.0%");
        assert_eq!(readable_percentile(0.123456789), "12.345679%");
        assert_eq!(py_round_int(2.5), 2);
        assert_eq!(py_round_int(3.5), 4);
        assert_eq!(py_round_int(29.496), 29);
    }

    #[test]
    fn num_and_int_trunc() {
        assert_eq!(py_num(Num::Int(0)), "0");
        assert_eq!(py_num(Num::Float(0.0)), "0.0");
        assert_eq!(py_num(Num::Float(40.01334099999099)), "40.01334099999099");
        assert_eq!(py_int_trunc(3.99), 3);
        assert_eq!(py_int_trunc(-3.99), -3);
        assert_eq!(py_int_trunc(f64::NAN), 0);
    }

    #[test]
    fn fixed_matches_python_percent_f() {
        // python3 -c "print('%.2f|%.2f|%.2f|%.1f|%.0f|%.0f|%.6f' % (0.125, 0.375, 2.675, 0.25, 0.5, 1.5, 26))"
        // -> 0.12|0.38|2.67|0.2|0|2|26.000000
        let got = [
            py_fixed(0.125, 2),
            py_fixed(0.375, 2),
            py_fixed(2.675, 2),
            py_fixed(0.25, 1),
            py_fixed(0.5, 0),
            py_fixed(1.5, 0),
            py_fixed(26.0, 6),
        ]
        .join("|");
        assert_eq!(got, "0.12|0.38|2.67|0.2|0|2|26.000000");
    }

    #[test]
    fn str_repr_matches_python() {
        // Expected strings from python3 repr().
        let cases: &[(&str, &str)] = &[
            ("abc", "'abc'"),
            ("", "''"),
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("both ' and \"", "'both \\' and \"'"),
            ("back\\slash", "'back\\\\slash'"),
            ("t\tn\nr\r", "'t\\tn\\nr\\r'"),
            ("\u{0}\u{1b}\u{7f}", "'\\x00\\x1b\\x7f'"),
            ("\u{85}\u{a0}\u{ad}", "'\\x85\\xa0\\xad'"),
            ("é ü 日本", "'é ü 日本'"),
            ("\u{2028}\u{200b}\u{feff}", "'\\u2028\\u200b\\ufeff'"),
            ("\u{e000}", "'\\ue000'"),
            ("\u{f0000}", "'\\U000f0000'"),
            ("😀", "'😀'"),
        ];
        for &(s, want) in cases {
            assert_eq!(py_str_repr(s), want, "{s:?}");
        }
    }

    #[test]
    fn str_literal_round_trips() {
        for s in [
            "abc",
            "it's",
            "say \"hi\"",
            "both ' and \"",
            "a\\b\n\t\u{1b}\u{a0}\u{200b}\u{f0000}",
            "",
        ] {
            assert_eq!(parse_py_str_literal(&py_str_repr(s)).as_deref(), Some(s));
        }
        assert_eq!(parse_py_str_literal("'a', 1"), None);
        assert_eq!(parse_py_str_literal("5"), None);
        assert_eq!(parse_py_str_literal("'a"), None);
    }

    #[test]
    fn utc_timestamps() {
        // python3: datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert_eq!(format_utc_timestamp(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc_timestamp(1795276603.9), "2026-11-21T15:56:43Z");
        assert_eq!(format_utc_timestamp(951782400.0), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc_timestamp(4107542399.0), "2100-02-28T23:59:59Z");
        assert_eq!(format_utc_timestamp(-1.5), "1969-12-31T23:59:59Z");
    }
}
