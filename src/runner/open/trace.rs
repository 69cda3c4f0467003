//! `--arrival-trace FILE`: a recorded arrival schedule read from a CSV or JSONL file, one iteration per row at
//! the row's time, each row's fields handed to its iteration (`self.arrival`).
//!
//! The file: CSV with a header row, or JSONL (one JSON object per line; chosen by the extension `.jsonl`,
//! `.ndjson`, `.json`, or by a first non-blank character `{`). The time is in a column `timestamp` (any case, so
//! the Azure LLM inference trace's `TIMESTAMP` is it) or `timestamp_ms`. A time is a number (seconds or
//! milliseconds, from the trace's start or from the Unix epoch) or an ISO 8601 date and time (`T` or a space
//! between them, any number of fractional digits, an optional `Z` or `±HH:MM` offset). The first row is time 0;
//! times must not decrease (equal times are a burst).
//!
//! Seconds or milliseconds (numbers only; an ISO time is exact): `--arrival-trace-unit s|ms` when given; else
//! milliseconds for a `timestamp_ms` column, for a first value ≥ 10¹² (Unix epoch milliseconds), and for JSONL rows
//! with integer timestamps and an `input_length` field (Mooncake's published format); seconds otherwise.
//!
//! Row fields: a JSONL row is its object as written; a CSV row is a map of the header's names to the cells, a cell
//! that reads as an integer or a decimal number converted to one (so `ContextTokens` is an `int`), the others
//! kept as text. Each row is kept as its JSON text, which Python reads when the row's iteration starts.
//!
//! Who calls it: `runner::open::config` (the command line, before anything starts), `runner::open::schedule` (a
//! trace's times), `distributed::open_wire` (the rows travel to the workers). Pure functions; `load` reads the file.
use serde_json::{Map, Value};

/// How a trace's numeric times are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Auto,
    Seconds,
    Millis,
}

impl Unit {
    pub fn parse(text: &str) -> Result<Unit, String> {
        match text.trim() {
            "" | "auto" => Ok(Unit::Auto),
            "s" | "sec" | "seconds" => Ok(Unit::Seconds),
            "ms" | "milliseconds" => Ok(Unit::Millis),
            other => Err(format!(
                "--arrival-trace-unit must be auto, s or ms, got {other:?}"
            )),
        }
    }
}

/// A trace ready to replay.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The file's name as given (for the log line and the outputs' schedule text).
    pub file: String,
    /// Each row's intended time in seconds after the first row's, after `scale`.
    pub times: Vec<f64>,
    /// Each row's fields as a JSON object's text.
    pub rows: Vec<String>,
    /// `--arrival-trace-scale` (2 = twice as fast).
    pub scale: f64,
    /// A master's time 0 for all its workers (Unix seconds); `None` in a local run (time 0 is when it starts).
    pub zero_unix: Option<f64>,
}

impl Trace {
    /// The seconds from the first row to the last (after scaling).
    pub fn span(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }

    /// Rows intended at or before `t`.
    pub fn due(&self, t: f64) -> u64 {
        self.times.partition_point(|&x| x <= t) as u64
    }

    /// Rows intended in the second before `t` (the trace's rate at `t`).
    pub fn rate_at(&self, t: f64) -> f64 {
        let lo = self.times.partition_point(|&x| x <= t - 1.0);
        let hi = self.times.partition_point(|&x| x <= t);
        (hi - lo) as f64
    }

    /// The most rows in any one second of the trace.
    pub fn peak(&self) -> f64 {
        let mut best = 0;
        let mut lo = 0;
        for (hi, &t) in self.times.iter().enumerate() {
            while self.times[lo] <= t - 1.0 {
                lo += 1;
            }
            best = best.max(hi + 1 - lo);
        }
        best as f64
    }
}

/// One time as read from a cell.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stamp {
    /// A number, and whether it was written as an integer.
    Number(f64, bool),
    /// An ISO 8601 time: Unix seconds and nanoseconds.
    Absolute(i64, u32),
}

/// Read and parse the trace at `path`.
pub fn load(path: &str, scale: f64, unit: Unit) -> Result<Trace, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--arrival-trace {path}: cannot read the file ({e})"))?;
    let lower = path.to_ascii_lowercase();
    let jsonl = [".jsonl", ".ndjson", ".json"]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{');
    parse(path, &text, jsonl, scale, unit)
}

/// Parse a trace's text (`jsonl`: JSON lines, else CSV). Errors are one line naming the file, the line (the
/// file's line number, 1-based, the CSV header being line 1) and the column.
pub fn parse(file: &str, text: &str, jsonl: bool, scale: f64, unit: Unit) -> Result<Trace, String> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!(
            "--arrival-trace-scale must be a number above 0, got {scale}"
        ));
    }
    let text = text.trim_start_matches('\u{feff}');
    let (column, rows) = if jsonl {
        jsonl_rows(file, text)?
    } else {
        csv_rows(file, text)?
    };
    if rows.is_empty() {
        return Err(format!("--arrival-trace {file}: the trace has no rows"));
    }
    // the times as read
    let mut stamps = Vec::with_capacity(rows.len());
    for (line, obj) in &rows {
        let at =
            |why: String| format!("--arrival-trace {file}: line {line}, column {column}: {why}");
        let stamp = match obj.get(&column) {
            Some(Value::Number(n)) => Stamp::Number(
                n.as_f64().unwrap_or(f64::NAN),
                n.is_i64() || n.is_u64(),
            ),
            Some(Value::String(s)) => read_stamp(s).ok_or_else(|| {
                at(format!(
                    "{s:?} is not a time (a number of seconds or milliseconds, or an ISO 8601 date and time)"
                ))
            })?,
            Some(Value::Null) | None => return Err(at("no value".into())),
            Some(other) => return Err(at(format!("{other} is not a time"))),
        };
        if let Stamp::Number(x, _) = stamp
            && !x.is_finite()
        {
            return Err(at("not a finite number".into()));
        }
        stamps.push(stamp);
    }
    let millis = match unit {
        Unit::Seconds => false,
        Unit::Millis => true,
        Unit::Auto => {
            column.eq_ignore_ascii_case("timestamp_ms")
                || matches!(stamps[0], Stamp::Number(x, _) if x >= 1e12)
                || (jsonl
                    && stamps.iter().all(|s| matches!(s, Stamp::Number(_, true)))
                    && rows[0].1.contains_key("input_length"))
        }
    };
    let per = if millis { 0.001 } else { 1.0 };
    let mut times = Vec::with_capacity(rows.len());
    let first = stamps[0];
    let mut previous = 0.0f64;
    for (i, stamp) in stamps.iter().enumerate() {
        let line = rows[i].0;
        let at =
            |why: String| format!("--arrival-trace {file}: line {line}, column {column}: {why}");
        let t = match (first, *stamp) {
            (Stamp::Number(a, _), Stamp::Number(b, _)) => (b - a) * per,
            (Stamp::Absolute(s0, n0), Stamp::Absolute(s, n)) => {
                (s - s0) as f64 + (f64::from(n) - f64::from(n0)) * 1e-9
            }
            _ => {
                return Err(at(
                    "mixes numbers and ISO 8601 times (write every row's time the same way)".into(),
                ));
            }
        };
        if t < previous {
            return Err(at(format!(
                "this row's time is {} s before the previous row's (rows must be in time order)",
                fmt_secs(previous - t)
            )));
        }
        previous = t;
        times.push(t / scale);
    }
    let rows = rows
        .into_iter()
        .map(|(_, obj)| Value::Object(obj).to_string())
        .collect();
    Ok(Trace {
        file: file.to_string(),
        times,
        rows,
        scale,
        zero_unix: None,
    })
}

fn fmt_secs(s: f64) -> String {
    let t = format!("{s:.6}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The time column's name among `names`: `timestamp` (any case), else `timestamp_ms`.
fn time_column<'a>(mut names: impl Iterator<Item = &'a String> + Clone) -> Option<String> {
    names
        .clone()
        .find(|n| n.trim().eq_ignore_ascii_case("timestamp"))
        .or_else(|| names.find(|n| n.trim().eq_ignore_ascii_case("timestamp_ms")))
        .cloned()
}

type Rows = (String, Vec<(usize, Map<String, Value>)>);

fn jsonl_rows(file: &str, text: &str) -> Result<Rows, String> {
    let mut rows = Vec::new();
    let mut column: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let obj = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(format!(
                    "--arrival-trace {file}: line {line}: not a JSON object"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "--arrival-trace {file}: line {line}: not JSON ({e})"
                ));
            }
        };
        let name = match &column {
            Some(c) => c.clone(),
            None => {
                let c = time_column(obj.keys()).ok_or_else(|| {
                    format!(
                        "--arrival-trace {file}: line {line}: no column timestamp (or timestamp_ms) in the first row"
                    )
                })?;
                column = Some(c.clone());
                c
            }
        };
        if !obj.contains_key(&name) {
            return Err(format!(
                "--arrival-trace {file}: line {line}, column {name}: missing"
            ));
        }
        rows.push((line, obj));
    }
    Ok((column.unwrap_or_else(|| "timestamp".into()), rows))
}

fn csv_rows(file: &str, text: &str) -> Result<Rows, String> {
    let records = crate::pyfmt::csv::records(text).map_err(|start| {
        format!("--arrival-trace {file}: line {start}: a quoted field is not closed")
    })?;
    let mut it = records.into_iter();
    let Some((_, header)) = it.next() else {
        return Err(format!("--arrival-trace {file}: the trace is empty"));
    };
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_string()).collect();
    let column = time_column(header.iter()).ok_or_else(|| {
        format!(
            "--arrival-trace {file}: line 1: no column timestamp (or timestamp_ms) in the header ({})",
            header.join(",")
        )
    })?;
    let mut rows = Vec::new();
    for (line, cells) in it {
        if cells.len() != header.len() {
            return Err(format!(
                "--arrival-trace {file}: line {line}: {} cells where the header has {} columns",
                cells.len(),
                header.len()
            ));
        }
        let obj: Map<String, Value> = header
            .iter()
            .cloned()
            .zip(cells.into_iter().map(|c| cell_value(&c)))
            .collect();
        rows.push((line, obj));
    }
    Ok((column, rows))
}

/// A CSV cell as Python sees it: an `int`, a `float`, or the text.
fn cell_value(cell: &str) -> Value {
    let t = cell.trim();
    let numeric = !t.is_empty()
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if numeric {
        if let Ok(i) = t.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(x) = t.parse::<f64>()
            && x.is_finite()
            && let Some(n) = serde_json::Number::from_f64(x)
        {
            return Value::Number(n);
        }
    }
    Value::String(cell.to_string())
}

/// A cell's time: a number, or an ISO 8601 date and time.
fn read_stamp(s: &str) -> Option<Stamp> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Stamp::Number(i as f64, true));
    }
    if t.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && let Ok(x) = t.parse::<f64>()
    {
        return Some(Stamp::Number(x, false));
    }
    iso8601(t).map(|(secs, nanos)| Stamp::Absolute(secs, nanos))
}

/// `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±HH[:MM]]` as Unix seconds and nanoseconds (no offset: as if UTC;
/// only differences between rows matter).
fn iso8601(t: &str) -> Option<(i64, u32)> {
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    if b.get(13) != Some(&b':') {
        return None;
    }
    let mut i = 16;
    let mut second = 0;
    if b.get(i) == Some(&b':') {
        second = num(17, 2)?;
        i = 19;
    }
    let mut nanos: u32 = 0;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for k in 0..9 {
            let d = if k < digits {
                u32::from(b[i + k] - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + d;
        }
        i += digits;
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let h = num(i + 1, 2)?;
            let rest = &b[i + 3..];
            let m = match rest {
                [] => 0,
                [b':', ..] if rest.len() == 3 => num(i + 4, 2)?,
                _ if rest.len() == 2 => num(i + 3, 2)?,
                _ => return None,
            };
            let o = h * 3600 + m * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Trace, String> {
        parse("t.csv", text, false, 1.0, Unit::Auto)
    }

    fn jsonl(text: &str) -> Result<Trace, String> {
        parse("t.jsonl", text, true, 1.0, Unit::Auto)
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn csv_seconds_from_the_first_row_with_typed_cells() {
        let t = csv(
            "timestamp,prompt,input_length,temp\n10,hello,12,0.5\n10.25,\"a, \"\"b\"\"\",3,x\n",
        )
        .unwrap();
        assert!(close(&t.times, &[0.0, 0.25]));
        let r0: Value = serde_json::from_str(&t.rows[0]).unwrap();
        assert_eq!(r0["input_length"], Value::from(12));
        assert_eq!(r0["temp"], Value::from(0.5));
        assert_eq!(r0["prompt"], Value::from("hello"));
        let r1: Value = serde_json::from_str(&t.rows[1]).unwrap();
        assert_eq!(r1["prompt"], Value::from("a, \"b\""));
        assert_eq!(r1["temp"], Value::from("x"));
    }

    #[test]
    fn the_azure_trace_as_published() {
        let t = csv("TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:50.9951690,396,109\r\n2023-11-16 18:16:00.0000000,1,1\r\n").unwrap();
        assert!(close(&t.times, &[0.0, 4.314579, 13.31941]));
        let r: Value = serde_json::from_str(&t.rows[0]).unwrap();
        assert_eq!(r["ContextTokens"], Value::from(374));
        assert_eq!(r["TIMESTAMP"], Value::from("2023-11-16 18:15:46.6805900"));
    }

    #[test]
    fn mooncake_jsonl_is_milliseconds() {
        let t = jsonl("{\"timestamp\": 27482, \"input_length\": 6955, \"output_length\": 52, \"hash_ids\": [46, 47]}\n\n{\"timestamp\": 27482, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": []}\n{\"timestamp\": 30000, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1]}\n").unwrap();
        assert!(close(&t.times, &[0.0, 0.0, 2.518]));
        let r: Value = serde_json::from_str(&t.rows[0]).unwrap();
        assert_eq!(r["hash_ids"], serde_json::json!([46, 47]));
        // the same numbers without input_length are seconds; a unit forces either
        let plain = "{\"timestamp\": 1}\n{\"timestamp\": 3}\n";
        assert!(close(&jsonl(plain).unwrap().times, &[0.0, 2.0]));
        let ms = parse("t.jsonl", plain, true, 1.0, Unit::Millis).unwrap();
        assert!(close(&ms.times, &[0.0, 0.002]));
    }

    #[test]
    fn epochs_iso_times_units_and_scale() {
        // epoch milliseconds (≥ 10^12), epoch seconds
        assert!(close(
            &csv("timestamp\n1700000000000\n1700000000250\n")
                .unwrap()
                .times,
            &[0.0, 0.25]
        ));
        assert!(close(
            &csv("timestamp\n1700000000.5\n1700000002\n").unwrap().times,
            &[0.0, 1.5]
        ));
        // a timestamp_ms column
        assert!(close(
            &csv("timestamp_ms,x\n100,a\n600,b\n").unwrap().times,
            &[0.0, 0.5]
        ));
        // ISO with T, Z and offsets (the same instant twice), a date change
        let t = csv(
            "timestamp\n2024-02-28T23:59:59Z\n2024-02-29T01:00:00+01:00\n2024-03-01T00:00:00.5\n",
        )
        .unwrap();
        assert!(close(&t.times, &[0.0, 1.0, 86_401.5]));
        // twice as fast
        let t = parse("t.csv", "timestamp\n0\n1\n3\n", false, 2.0, Unit::Auto).unwrap();
        assert!(close(&t.times, &[0.0, 0.5, 1.5]));
        assert_eq!(t.due(0.5), 2);
        assert_eq!(t.rate_at(0.5), 2.0); // rows in (t - 1 s, t]
        assert_eq!(t.rate_at(1.0), 1.0);
        assert_eq!(t.peak(), 2.0);
        assert!(parse("t.csv", "timestamp\n0\n", false, 0.0, Unit::Auto).is_err());
        assert_eq!(Unit::parse("ms"), Ok(Unit::Millis));
        assert!(Unit::parse("us").is_err());
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let one = |r: Result<Trace, String>| {
            let e = r.unwrap_err();
            assert!(!e.contains('\n') && e.starts_with("--arrival-trace"), "{e}");
            e
        };
        let e = one(csv("time,x\n1,2\n"));
        assert!(
            e.contains("t.csv") && e.contains("line 1") && e.contains("no column timestamp"),
            "{e}"
        );
        let e = one(csv("timestamp,x\n1,2\nsoon,3\n"));
        assert!(
            e.contains("line 3, column timestamp") && e.contains("\"soon\""),
            "{e}"
        );
        let e = one(csv("timestamp,x\n5,2\n4,3\n"));
        assert!(
            e.contains("line 3, column timestamp") && e.contains("before the previous"),
            "{e}"
        );
        let e = one(csv("timestamp,x\n5,2\n6\n"));
        assert!(e.contains("line 3") && e.contains("1 cells"), "{e}");
        let e = one(jsonl("{\"timestamp\": 1}\n{\"ts\": 2}\n"));
        assert!(
            e.contains("t.jsonl: line 2, column timestamp: missing"),
            "{e}"
        );
        let e = one(jsonl("{\"timestamp\": 1}\nnope\n"));
        assert!(e.contains("line 2: not JSON"), "{e}");
        let e = one(csv("timestamp\n1\n2024-01-01T00:00:00\n"));
        assert!(e.contains("line 3") && e.contains("mixes"), "{e}");
        one(csv("timestamp\n"));
        one(csv(""));
        let e = one(load("/nonexistent/trace.csv", 1.0, Unit::Auto));
        assert!(
            e.contains("/nonexistent/trace.csv") && e.contains("cannot read"),
            "{e}"
        );
    }
}
