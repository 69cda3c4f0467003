//! Statistics over Locust 2.47's distributed wire protocol, both directions (reference §2.4 `stats`, §2.7):
//! the worker's report ([`take_worker_report`]: Locust's `report_to_master` stats part, a delta since the
//! previous report) and the master's merge of one ([`merge_worker_report`]: Locust's `worker_report`
//! listener with `StatsEntry.extend` semantics).
//!
//! On the wire each entry is Locust's `StatsEntryDict` (exactly its 14 keys, in its order, with its int/float
//! types), the errors are `{sha256 key: StatsErrorDict}`, so a Locust master merges an rlocust worker's report
//! and an rlocust master merges a Locust worker's. Locust sends response times as its rounded buckets
//! `{int ms: count}`; a master records each bucket value `count` times, so its percentiles come out as Locust's
//! master computes them.
//!
//! The rlocust extension: an rlocust worker also sends its exact HDR histograms under one more top-level key,
//! [`HDR_KEY`] (`"rlocust_hdr"`):
//! `{"version": 1, "entries": {int index into "stats": bin}, "total": bin}`, each `bin` an HDR histogram of
//! the response times in µs written by hdrhistogram's V2 serializer (uncompressed; empty histograms are left
//! out, and "total" too when it is empty). An rlocust master uses such a histogram instead of the entry's
//! buckets when it decodes, has our layout (1 µs, 3 significant digits) and holds as many samples as the
//! buckets; otherwise it falls back to the buckets. A Locust master ignores the key: its `stats` handler only
//! fires `worker_report`, whose two listeners read `stats`, `stats_total`, `errors` (stats.py
//! `setup_distributed_stats_event_listeners`) and `user_classes_count` (runners.py `MasterRunner`); msgpack
//! decodes `bin` to `bytes` and int map keys are allowed (`strict_map_key=False`).
//!
//! A second rlocust extension carries the coordinated-omission correction (`stats::co`) of the rows that have
//! one, under [`CO_KEY`] (`"rlocust_co"`, only in reports that have such rows):
//! `{"version": 1, "entries": {int index into "stats": row}, "total": row}`, each `row` a list
//! `[paced requests, [µs, count, µs, count, ...]]` (the synthetic samples). A Locust master ignores it as it
//! ignores [`HDR_KEY`]; a Locust worker sends none, so its requests are merged as measured only. An rlocust
//! master ignores a malformed one (the correction of that report is lost, the report itself is merged).
//!
//! A third carries the metric rows (`stats::metrics`: a stream's `ttft`, `itl`, ...; a locustfile's own values),
//! which are not requests, under [`METRICS_KEY`] (`"rlocust_metrics"`, only in reports that have such rows):
//! `{"version": 1, "rows": [{"unit": str, "row": StatsEntryDict, "hdr": bin}]}`, each `row` a `StatsEntryDict`
//! whose `method` is the metric and whose "response times" are the values (× 1000 in `hdr`, as µs are to ms),
//! `hdr` its exact histogram as in [`HDR_KEY`]. A Locust master ignores it; an rlocust master merges each row into
//! its metric rows exactly, and ignores a malformed extension (that report's metric values are lost).
//!
//! Who calls it: the worker runner every `WORKER_REPORT_INTERVAL` (it adds `user_classes_count` and
//! `user_count`), the master runner for each `stats` message.
//!
//! What it must not do: touch sockets or the runner state, log (the caller logs the `Err` of a malformed
//! report), or panic on any input.

use std::collections::BTreeMap;
use std::fmt::Display;

use hdrhistogram::Histogram;
#[cfg(test)]
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::{Serializer as _, V2Serializer};

use crate::msgpack::Value;
use crate::stats::{
    CoRow, ErrorSnapshot, MetricRowData, ReportData, RequestStats, RowData, bucket_response_time,
    unix_now,
};

/// The top-level report key of the rlocust extension (exact histograms).
pub const HDR_KEY: &str = "rlocust_hdr";

/// Version of the [`HDR_KEY`] map's layout.
const HDR_VERSION: i64 = 1;

/// The top-level report key of the coordinated-omission extension.
pub const CO_KEY: &str = "rlocust_co";

/// Version of the [`CO_KEY`] map's layout.
const CO_VERSION: i64 = 1;

/// The top-level report key of the metric rows' extension.
pub const METRICS_KEY: &str = "rlocust_metrics";

/// Version of the [`METRICS_KEY`] map's layout.
const METRICS_VERSION: i64 = 1;

/// Worker side: Locust's `report_to_master` stats part. Returns the values for the keys "stats" (list of
/// StatsEntryDicts of entries with requests or failures), "stats_total", "errors" ({sha256 key: StatsErrorDict})
/// and [`HDR_KEY`], in that order, and RESETS what it reported (entries zeroed but kept, total zeroed, errors
/// emptied); see [`RequestStats::take_report`] for the atomicity (nothing lost or counted twice; a request
/// recorded during the call can be in this report's total and in the next report's entry). The caller adds
/// `user_classes_count` and `user_count`.
pub fn take_worker_report(stats: &RequestStats, now: f64) -> Vec<(String, Value)> {
    report_values(&stats.take_report(now))
}

/// The report's values (see [`take_worker_report`]).
fn report_values(report: &ReportData) -> Vec<(String, Value)> {
    let entries = report.entries.iter().map(entry_dict).collect();
    let errors = report
        .errors
        .iter()
        .map(|e| (Value::Str(crate::report::csv::error_key(e)), error_dict(e)))
        .collect();
    let hdr_entries = report
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            Some((
                Value::from_u64(i as u64),
                Value::Bytes(hdr_bytes(&row.hist)?),
            ))
        })
        .collect();
    let mut hdr = vec![
        (Value::str("version"), Value::Int(HDR_VERSION)),
        (Value::str("entries"), Value::Map(hdr_entries)),
    ];
    if let Some(b) = hdr_bytes(&report.total.hist) {
        hdr.push((Value::str("total"), Value::Bytes(b)));
    }
    let mut values = vec![
        ("stats".to_owned(), Value::Array(entries)),
        ("stats_total".to_owned(), entry_dict(&report.total)),
        ("errors".to_owned(), Value::Map(errors)),
        (HDR_KEY.to_owned(), Value::Map(hdr)),
    ];
    if let Some(co) = co_value(report) {
        values.push((CO_KEY.to_owned(), co));
    }
    if !report.metrics.is_empty() {
        values.push((METRICS_KEY.to_owned(), metrics_value(&report.metrics)));
    }
    values
}

/// The [`METRICS_KEY`] map.
fn metrics_value(rows: &[MetricRowData]) -> Value {
    let rows = rows
        .iter()
        .map(|m| {
            let mut row = vec![
                (Value::str("unit"), Value::str(m.unit.as_str())),
                (Value::str("row"), entry_dict(&m.row)),
            ];
            if let Some(b) = hdr_bytes(&m.row.hist) {
                row.push((Value::str("hdr"), Value::Bytes(b)));
            }
            Value::Map(row)
        })
        .collect();
    Value::Map(vec![
        (Value::str("version"), Value::Int(METRICS_VERSION)),
        (Value::str("rows"), Value::Array(rows)),
    ])
}

/// The metric rows of a [`METRICS_KEY`] extension; `None` when it is malformed (all or none).
fn parse_metrics(ext: &Value, now: f64) -> Option<Vec<MetricRowData>> {
    if ext.get("version").and_then(Value::as_i64) != Some(METRICS_VERSION) {
        return None;
    }
    let Some(Value::Array(rows)) = ext.get("rows") else {
        return None;
    };
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let unit = r.get("unit")?.as_str()?.to_owned();
            let mut row = parse_entry(r.get("row")?, &format!("{METRICS_KEY}[{i}]"), now).ok()?;
            if let Some(Value::Bytes(b)) = r.get("hdr")
                && let Ok(samples) = hdr_samples(b)
                && samples.iter().map(|&(_, n)| n).sum::<u64>() == row.sample_count()
            {
                row.samples = Some(samples);
            }
            Some(MetricRowData { unit, row })
        })
        .collect()
}

/// The [`CO_KEY`] map, when a row of the report has a correction.
fn co_value(report: &ReportData) -> Option<Value> {
    let row = |co: &CoRow| {
        let flat = co
            .synthetic
            .iter()
            .flat_map(|&(us, n)| [Value::from_u64(us), Value::from_u64(n)])
            .collect();
        Value::Array(vec![Value::from_u64(co.paced), Value::Array(flat)])
    };
    let total = report.total.co.as_ref().map(row);
    let entries: Vec<(Value, Value)> = report
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((Value::from_u64(i as u64), row(r.co.as_ref()?))))
        .collect();
    if total.is_none() && entries.is_empty() {
        return None;
    }
    let mut m = vec![
        (Value::str("version"), Value::Int(CO_VERSION)),
        (Value::str("entries"), Value::Map(entries)),
    ];
    if let Some(t) = total {
        m.push((Value::str("total"), t));
    }
    Some(Value::Map(m))
}

/// Master side: Locust's `worker_report` listener: merge one worker's report `data` (the whole `stats` message
/// data map) into `stats` with Locust's `extend` semantics (sums, min/max, min start_time, max
/// last_request_timestamp, histogram + per-second maps added, errors merged by key: occurrences added, min
/// first_seen, max last_seen). The report is checked whole before anything is merged: `Err(text)` for a
/// malformed one leaves `stats` untouched. Never panics.
///
/// NOTE: errors are merged by `(method, name, error)`, as rlocust keys its failure rows, not by the wire's
/// sha256 key; Locust derives that key from those three, so the grouping is the same.
pub fn merge_worker_report(stats: &RequestStats, data: &Value) -> Result<(), String> {
    let report = parse_report(data)?;
    stats.merge_report(&report, unix_now());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

fn per_second_map(counts: &[(i64, u64)]) -> Value {
    Value::Map(
        counts
            .iter()
            .filter(|&&(_, n)| n != 0)
            .map(|&(s, n)| (Value::Int(s), Value::from_u64(n)))
            .collect(),
    )
}

/// Locust's `response_times` of a histogram: `{bucket_response_time(ms): count}` (ascending).
fn locust_buckets(hist: &Histogram<u64>) -> BTreeMap<i64, u64> {
    let mut out = BTreeMap::new();
    for v in hist.iter_recorded() {
        let us = hist.lowest_equivalent(v.value_iterated_to());
        let n = out
            .entry(bucket_response_time(us as f64 / 1000.0))
            .or_insert(0u64);
        *n = n.saturating_add(v.count_at_value());
    }
    out
}

/// Locust `StatsEntry.serialize()`: the 14 keys of `StatsEntryDict` in its order. Types as Locust holds them:
/// `total_response_time` and `max_response_time` stay the int 0 until a (positive) time adds a float, and
/// `min_response_time` is nil until the first timed request.
fn entry_dict(row: &RowData) -> Value {
    let timed = row
        .totals
        .num_requests
        .saturating_sub(row.totals.num_none_requests);
    let opt = |v: Option<f64>| v.map_or(Value::Nil, Value::Float);
    Value::map([
        ("name", Value::str(row.name.as_str())),
        ("method", Value::str(row.method.as_str())),
        (
            "last_request_timestamp",
            opt(row.totals.last_request_timestamp),
        ),
        ("start_time", Value::Float(row.totals.start_time)),
        ("num_requests", Value::from_u64(row.totals.num_requests)),
        (
            "num_none_requests",
            Value::from_u64(row.totals.num_none_requests),
        ),
        ("num_failures", Value::from_u64(row.totals.num_failures)),
        (
            "total_response_time",
            if timed == 0 {
                Value::Int(0)
            } else {
                Value::Float(row.totals.total_response_time)
            },
        ),
        (
            "max_response_time",
            if row.totals.max_response_time > 0.0 {
                Value::Float(row.totals.max_response_time)
            } else {
                Value::Int(0)
            },
        ),
        ("min_response_time", opt(row.totals.min_response_time)),
        (
            "total_content_length",
            Value::from_u64(row.totals.total_content_length),
        ),
        (
            "response_times",
            Value::Map(
                locust_buckets(&row.hist)
                    .into_iter()
                    .map(|(ms, n)| (Value::Int(ms), Value::from_u64(n)))
                    .collect(),
            ),
        ),
        ("num_reqs_per_sec", per_second_map(&row.reqs_per_sec)),
        ("num_fail_per_sec", per_second_map(&row.fails_per_sec)),
    ])
}

/// Locust `StatsError.serialize()`: `StatsErrorDict`'s keys in its order.
fn error_dict(e: &ErrorSnapshot) -> Value {
    let opt = |v: Option<f64>| v.map_or(Value::Nil, Value::Float);
    Value::map([
        ("name", Value::str(e.name.as_str())),
        ("method", Value::str(e.method.as_str())),
        ("error", Value::str(e.error.as_str())),
        ("occurrences", Value::from_u64(e.occurrences)),
        ("first_seen", opt(e.first_seen)),
        ("last_seen", opt(e.last_seen)),
    ])
}

/// The histogram in hdrhistogram's V2 format; `None` when it is empty (or cannot be written).
fn hdr_bytes(hist: &Histogram<u64>) -> Option<Vec<u8>> {
    if hist.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    V2Serializer::new().serialize(hist, &mut out).ok()?;
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Size of the V2 header (cookie, payload length, normalizing offset, digits, lowest, highest, ratio).
const V2_HEADER: usize = 40;
/// The V2 (uncompressed) cookie hdrhistogram writes.
const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
/// The highest trackable value accepted in a received histogram header (µs; ~285 years, above anything
/// `log_request` records), so a hostile header cannot make the decoder allocate without bound.
const MAX_HIGHEST: u64 = 1 << 53;

/// A histogram written by [`hdr_bytes`]: V2, lowest 1 µs, 3 significant digits. The header is checked before
/// decoding so the decoder never allocates from hostile sizes.
#[cfg(test)]
fn hdr_from_bytes(bytes: &[u8]) -> Result<Histogram<u64>, String> {
    hdr_header_ok(bytes)?;
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| format!("{e:?}"))
}

/// The checks of [`hdr_from_bytes`] on the header; the bytes when they pass.
fn hdr_header_ok(bytes: &[u8]) -> Result<&[u8], String> {
    let word = |at: usize| -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[at..at + 4]);
        u32::from_be_bytes(b)
    };
    let dword = |at: usize| -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        u64::from_be_bytes(b)
    };
    if bytes.len() < V2_HEADER {
        return Err(format!("{} bytes, shorter than a V2 header", bytes.len()));
    }
    if word(0) != V2_COOKIE {
        return Err(format!("cookie {:#x} is not hdrhistogram V2", word(0)));
    }
    let payload = word(4) as usize;
    if V2_HEADER.checked_add(payload) != Some(bytes.len()) {
        return Err(format!(
            "payload length {payload} does not match {} bytes",
            bytes.len()
        ));
    }
    let (digits, lowest, highest) = (word(12), dword(16), dword(24));
    if digits != 3 || lowest != 1 || !(2..=MAX_HIGHEST).contains(&highest) {
        return Err(format!(
            "layout (digits {digits}, lowest {lowest}, highest {highest}) is not rlocust's"
        ));
    }
    Ok(bytes)
}

/// The `(lowest µs of the bucket, count)` pairs of a histogram written by [`hdr_bytes`], read straight from the
/// V2 payload (ZigZag LEB128 counts, negative runs of empty buckets) without allocating a histogram. The header is
/// checked as [`hdr_from_bytes`] checks it; the normalizing offset must be 0 (rlocust never shifts).
fn hdr_samples(bytes: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    // validates the header (cookie, length, layout) without decoding
    let checked = hdr_header_ok(bytes)?;
    let offset = u32::from_be_bytes([checked[8], checked[9], checked[10], checked[11]]);
    if offset != 0 {
        return Err(format!("normalizing index offset {offset}"));
    }
    let mut payload = &bytes[V2_HEADER..];
    let mut index: u64 = 0;
    let mut out = Vec::new();
    while !payload.is_empty() {
        let (n, used) = leb128_zigzag(payload)?;
        payload = &payload[used..];
        if n < 0 {
            index = index
                .checked_add(n.unsigned_abs())
                .ok_or("bucket index overflow")?;
        } else {
            if n > 0 {
                out.push((value_at_index(index)?, n as u64));
            }
            index += 1;
        }
    }
    Ok(out)
}

/// The lowest value of bucket `index` of a histogram with 3 significant digits and a lowest value of 1 (2,048
/// sub-buckets; the upper half of each bucket after the first).
fn value_at_index(index: u64) -> Result<u64, String> {
    const HALF_MAGNITUDE: u32 = 10;
    const HALF: u64 = 1 << HALF_MAGNITUDE;
    let bucket = (index >> HALF_MAGNITUDE) as i64 - 1;
    let mut sub = (index & (HALF - 1)) + HALF;
    let bucket = if bucket < 0 {
        sub -= HALF;
        0
    } else {
        bucket as u32
    };
    if bucket > 52 {
        return Err(format!("bucket index {index} out of range"));
    }
    Ok(sub << bucket)
}

/// One ZigZag LEB128 number as hdrhistogram writes it (at most 9 bytes, the 9th with 8 bits); the bytes used.
fn leb128_zigzag(bytes: &[u8]) -> Result<(i64, usize), String> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        if i == 8 {
            value |= (b as u64) << 56;
            return Ok((zigzag(value), 9));
        }
        value |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((zigzag(value), i + 1));
        }
    }
    Err("truncated histogram payload".into())
}

fn zigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// A non-negative Python int.
fn uint(v: &Value, what: impl Display) -> Result<u64, String> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as u64),
        Value::UInt(u) => Ok(*u),
        _ => Err(format!("{what}: expected an int >= 0, got {}", describe(v))),
    }
}

/// A Python int or float (not bool).
fn number(v: &Value, what: impl Display) -> Result<f64, String> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::UInt(u) => Ok(*u as f64),
        Value::Float(f) => Ok(*f),
        _ => Err(format!("{what}: expected a number, got {}", describe(v))),
    }
}

/// nil or a number.
fn opt_number(v: &Value, what: impl Display) -> Result<Option<f64>, String> {
    if v.is_nil() {
        Ok(None)
    } else {
        number(v, what).map(Some)
    }
}

fn text(v: &Value, what: impl Display) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what}: expected a str, got {}", describe(v)))
}

fn map(v: &Value, what: impl Display) -> Result<&[(Value, Value)], String> {
    v.as_map()
        .ok_or_else(|| format!("{what}: expected a dict, got {}", describe(v)))
}

/// Where a value sits in a report (`what.key`, plus a suffix), formatted only when an error is reported: a report
/// of 20 rows has some 300 values, checked at every report of every worker.
#[derive(Clone, Copy)]
struct At<'a>(&'a str, &'a str, &'a str);

impl Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.1.is_empty() {
            write!(f, "{}{}", self.0, self.2)
        } else {
            write!(f, "{}.{}{}", self.0, self.1, self.2)
        }
    }
}

fn describe(v: &Value) -> String {
    let repr = format!("{v:?}");
    let short: String = repr.chars().take(60).collect();
    format!(
        "{} {short}{}",
        v.type_name(),
        if short.len() < repr.len() { "…" } else { "" }
    )
}

/// `{int: int >= 0}` (the per-second maps), summing duplicate keys.
fn int_counts(v: &Value, what: impl Display + Copy) -> Result<Vec<(i64, u64)>, String> {
    let mut out: BTreeMap<i64, u64> = BTreeMap::new();
    for (k, n) in map(v, what)? {
        let sec = match k {
            Value::Int(i) => *i,
            Value::UInt(u) => {
                i64::try_from(*u).map_err(|_| format!("{what}: key {u} too large"))?
            }
            _ => return Err(format!("{what}: expected int keys, got {}", describe(k))),
        };
        let n = uint(n, what)?;
        let slot = out.entry(sec).or_insert(0);
        *slot = slot.saturating_add(n);
    }
    Ok(out.into_iter().filter(|&(_, n)| n != 0).collect())
}

/// Locust `StatsEntry.unserialize(data)`: `name` and `method` are required; any of the other 12 keys may be
/// missing (then Locust's initial value stays), unknown keys are ignored; a present key of the wrong type is
/// an error. The `response_times` buckets are recorded into the histogram.
fn parse_entry(v: &Value, what: &str, now: f64) -> Result<RowData, String> {
    let entries = map(v, what)?;
    let field = |key: &str| v.get(key);
    let name = text(
        field("name").ok_or_else(|| format!("{what}: no 'name'"))?,
        At(what, "name", ""),
    )?;
    let method = text(
        field("method").ok_or_else(|| format!("{what}: no 'method'"))?,
        At(what, "method", ""),
    )?;
    let mut row = RowData::received(name, method, now);
    for (k, val) in entries {
        let Some(key) = k.as_str() else {
            continue; // not a StatsEntryDict key: Locust skips it too
        };
        let at = At(what, key, "");
        match key {
            "last_request_timestamp" => row.totals.last_request_timestamp = opt_number(val, at)?,
            "start_time" => row.totals.start_time = number(val, at)?,
            "num_requests" => row.totals.num_requests = uint(val, at)?,
            "num_none_requests" => row.totals.num_none_requests = uint(val, at)?,
            "num_failures" => row.totals.num_failures = uint(val, at)?,
            "total_response_time" => row.totals.total_response_time = number(val, at)?,
            "max_response_time" => row.totals.max_response_time = number(val, at)?,
            "min_response_time" => row.totals.min_response_time = opt_number(val, at)?,
            "total_content_length" => row.totals.total_content_length = uint(val, at)?,
            "response_times" => {
                for (ms, n) in map(val, at)? {
                    let ms = number(ms, At(what, key, " key"))?;
                    row.record_ms(ms, uint(n, at)?);
                }
            }
            "num_reqs_per_sec" => row.reqs_per_sec = int_counts(val, at)?,
            "num_fail_per_sec" => row.fails_per_sec = int_counts(val, at)?,
            _ => {}
        }
    }
    Ok(row)
}

/// Locust `StatsError.unserialize(data)` (`first_seen`/`last_seen` may be missing).
fn parse_error(key: &Value, v: &Value) -> Result<ErrorSnapshot, String> {
    let what = match key {
        Value::Str(k) => format!("errors[{:?}]", k.chars().take(16).collect::<String>()),
        _ => return Err(format!("errors: expected str keys, got {}", describe(key))),
    };
    map(v, &what)?;
    let req = |k: &str| v.get(k).ok_or_else(|| format!("{what}: no '{k}'"));
    let seen = |k: &str| match v.get(k) {
        None => Ok(None),
        Some(t) => opt_number(t, format!("{what}.{k}")),
    };
    Ok(ErrorSnapshot {
        method: text(req("method")?, format!("{what}.method"))?.to_owned(),
        name: text(req("name")?, format!("{what}.name"))?.to_owned(),
        error: text(req("error")?, format!("{what}.error"))?.to_owned(),
        occurrences: uint(req("occurrences")?, format!("{what}.occurrences"))?,
        first_seen: seen("first_seen")?,
        last_seen: seen("last_seen")?,
    })
}

/// Replace the bucketed histograms by the exact ones of the [`HDR_KEY`] extension, where usable.
fn apply_hdr(report: &mut ReportData, ext: &Value) {
    if ext.get("version").and_then(Value::as_i64) != Some(HDR_VERSION) {
        return;
    }
    let exact = |row: &mut RowData, bytes: Option<&Value>| {
        let Some(Value::Bytes(b)) = bytes else {
            return;
        };
        if let Ok(samples) = hdr_samples(b)
            && samples.iter().map(|&(_, n)| n).sum::<u64>() == row.sample_count()
        {
            row.samples = Some(samples);
        }
    };
    if let Some(entries) = ext.get("entries").and_then(Value::as_map) {
        for (k, b) in entries {
            let Some(i) = k.as_i64().and_then(|i| usize::try_from(i).ok()) else {
                continue;
            };
            if let Some(row) = report.entries.get_mut(i) {
                exact(row, Some(b));
            }
        }
    }
    exact(&mut report.total, ext.get("total"));
}

/// One row of the [`CO_KEY`] extension; `None` when malformed (or a value above [`MAX_HIGHEST`]).
fn parse_co_row(v: &Value) -> Option<CoRow> {
    let [paced, flat] = v.as_array()? else {
        return None;
    };
    let paced = uint(paced, "co").ok()?;
    let flat = flat.as_array()?;
    if flat.len() % 2 != 0 {
        return None;
    }
    let synthetic = flat
        .chunks_exact(2)
        .map(|p| {
            let us = uint(&p[0], "co").ok().filter(|&us| us <= MAX_HIGHEST)?;
            Some((us, uint(&p[1], "co").ok()?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(CoRow { paced, synthetic })
}

/// Attach the corrections of the [`CO_KEY`] extension to the report's rows (all or none).
fn apply_co(report: &mut ReportData, ext: &Value) {
    if ext.get("version").and_then(Value::as_i64) != Some(CO_VERSION) {
        return;
    }
    let mut rows = Vec::new();
    if let Some(entries) = ext.get("entries").and_then(Value::as_map) {
        for (k, v) in entries {
            let Some(i) = k
                .as_i64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < report.entries.len())
            else {
                return;
            };
            let Some(row) = parse_co_row(v) else {
                return;
            };
            rows.push((i, row));
        }
    }
    let total = match ext.get("total") {
        Some(v) => match parse_co_row(v) {
            Some(row) => Some(row),
            None => return,
        },
        None => None,
    };
    for (i, row) in rows {
        report.entries[i].co = Some(row);
    }
    report.total.co = total;
}

/// The whole `stats` message data, checked and converted (nothing is merged yet).
fn parse_report(data: &Value) -> Result<ReportData, String> {
    map(data, "report")?;
    let now = unix_now();
    let get = |k: &str| data.get(k).ok_or_else(|| format!("report: no '{k}'"));
    let stats = get("stats")?;
    let stats = stats
        .as_array()
        .ok_or_else(|| format!("stats: expected a list, got {}", describe(stats)))?;
    let entries = stats
        .iter()
        .enumerate()
        .map(|(i, e)| parse_entry(e, &format!("stats[{i}]"), now))
        .collect::<Result<Vec<_>, _>>()?;
    let total = parse_entry(get("stats_total")?, "stats_total", now)?;
    let errors = map(get("errors")?, "errors")?
        .iter()
        .map(|(k, v)| parse_error(k, v))
        .collect::<Result<Vec<_>, _>>()?;
    let metrics = data
        .get(METRICS_KEY)
        .and_then(|ext| parse_metrics(ext, now))
        .unwrap_or_default();
    let mut report = ReportData {
        entries,
        total,
        errors,
        metrics,
    };
    if let Some(ext) = data.get(HDR_KEY) {
        apply_hdr(&mut report, ext);
    }
    if let Some(ext) = data.get(CO_KEY) {
        apply_co(&mut report, ext);
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
