//! Tests of the `stats` report both ways: rlocust worker → rlocust master gives what recording directly gives,
//! Locust's recorded reports merge to Locust's numbers, deltas add up, malformed reports are refused without
//! panicking, and real Locust 2.47 parses our report (the oracle test).

use std::path::PathBuf;

use super::*;
use crate::msgpack::{Message, decode_value, encode_value};
use crate::stats::{EntrySnapshot, PERCENTILES_TO_REPORT, Snapshot};

const T0: f64 = 1_795_332_746.25;

/// One recorded call: `(method, name, response ms, content length, seconds after T0, error)`.
type Call = (
    &'static str,
    &'static str,
    Option<f64>,
    u64,
    f64,
    Option<&'static str>,
);

/// A deterministic mix: three endpoints over ~5 s, times from 0.4 ms to ~4 s, some none requests, failures
/// with two error texts.
fn calls(seed: u64, n: usize) -> Vec<Call> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let r = next();
            let (method, name) = match r % 3 {
                0 => ("GET", "/"),
                1 => ("POST", "/login"),
                _ => ("GET", "/item/[id]"),
            };
            let ms = match r % 17 {
                0 => None,
                k if k < 8 => Some(0.4 + (r >> 20) as f64 % 97.0 * 0.731),
                k if k < 14 => Some(100.0 + (r >> 24) as f64 % 900.0 * 1.37),
                _ => Some(1000.0 + (r >> 28) as f64 % 3000.0 * 1.013),
            };
            let error = match (r >> 8) % 11 {
                0 => Some("HTTPError('500 Server Error: boom for url: /')"),
                1 => Some("CatchResponseError('bad body')"),
                _ => None,
            };
            (method, name, ms, (r >> 40) % 5000, i as f64 * 0.0131, error)
        })
        .collect()
}

fn record(stats: &RequestStats, calls: &[Call]) {
    for &(method, name, ms, len, dt, error) in calls {
        let now = T0 + dt;
        stats.log_request(method, name, ms, len, now);
        if let Some(e) = error {
            stats.log_error(method, name, e, now);
        }
    }
}

/// The worker's report as a `stats` message, through the codec's bytes and back.
fn report_message(worker: &RequestStats, now: f64) -> Value {
    let mut data = take_worker_report(worker, now);
    data.push((
        "user_classes_count".to_owned(),
        Value::map([("WebsiteUser", Value::Int(3))]),
    ));
    data.push(("user_count".to_owned(), Value::Int(3)));
    let data = Value::Map(data.into_iter().map(|(k, v)| (Value::Str(k), v)).collect());
    let bytes = Message::new("stats", data, "worker-1").encode().unwrap();
    Message::decode(&bytes).unwrap().data
}

fn without_hdr(data: &Value) -> Value {
    match data {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, _)| k.as_str() != Some(HDR_KEY))
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Every figure a report carries, compared row by row (`start_time` by the caller).
fn assert_same_row(got: &EntrySnapshot, want: &EntrySnapshot, exact_percentiles: bool) {
    let what = format!("{} {}", want.method, want.name);
    assert_eq!(
        (got.name.as_str(), got.method.as_str()),
        (want.name.as_str(), want.method.as_str())
    );
    assert_eq!(got.totals.num_requests, want.totals.num_requests, "{what}");
    assert_eq!(
        got.totals.num_none_requests, want.totals.num_none_requests,
        "{what}"
    );
    assert_eq!(got.totals.num_failures, want.totals.num_failures, "{what}");
    assert!(
        close(
            got.totals.total_response_time,
            want.totals.total_response_time
        ),
        "{what}: {} vs {}",
        got.totals.total_response_time,
        want.totals.total_response_time
    );
    assert_eq!(
        got.totals.min_response_time, want.totals.min_response_time,
        "{what}"
    );
    assert_eq!(
        got.totals.max_response_time, want.totals.max_response_time,
        "{what}"
    );
    assert_eq!(
        got.totals.total_content_length, want.totals.total_content_length,
        "{what}"
    );
    assert_eq!(
        got.totals.last_request_timestamp, want.totals.last_request_timestamp,
        "{what}"
    );
    assert_eq!(
        got.num_reqs_per_sec().to_map(),
        want.num_reqs_per_sec().to_map(),
        "{what}"
    );
    assert_eq!(
        got.num_fail_per_sec().to_map(),
        want.num_fail_per_sec().to_map(),
        "{what}"
    );
    assert_eq!(
        got.has_response_times(),
        want.has_response_times(),
        "{what}"
    );
    for &p in PERCENTILES_TO_REPORT.iter().chain(&[0.0, 0.1, 0.33]) {
        let (g, w) = (got.percentile(p), want.percentile(p));
        if exact_percentiles {
            assert_eq!(g, w, "{what} p{p}");
        } else {
            assert_eq!(
                bucket_response_time(g),
                bucket_response_time(w),
                "{what} p{p}"
            );
        }
    }
    assert_eq!(
        got.response_times_buckets(),
        want.response_times_buckets(),
        "{what}"
    );
}

fn assert_same(got: &Snapshot, want: &Snapshot, exact_percentiles: bool) {
    let (g, w) = (got.sorted_entries(), want.sorted_entries());
    assert_eq!(g.len(), w.len());
    for (a, b) in g.iter().zip(&w) {
        assert_same_row(a, b, exact_percentiles);
        assert_eq!(
            a.totals.start_time, b.totals.start_time,
            "{} start_time",
            b.name
        );
    }
    assert_same_row(&got.total, &want.total, exact_percentiles);
    let key = |e: &ErrorSnapshot| (e.method.clone(), e.name.clone(), e.error.clone());
    let mut ge = got.errors.clone();
    let mut we = want.errors.clone();
    ge.sort_by_key(key);
    we.sort_by_key(key);
    assert_eq!(ge, we);
}

#[test]
fn rlocust_worker_to_rlocust_master_equals_recording_directly() {
    let plan = calls(1, 3000);
    let direct = RequestStats::new_at(T0 - 1.0);
    let worker = RequestStats::new_at(T0 - 1.0);
    record(&direct, &plan);
    record(&worker, &plan);
    let data = report_message(&worker, T0 + 60.0);
    let master = RequestStats::new_at(T0 - 1.0);
    merge_worker_report(&master, &data).unwrap();
    let (got, want) = (master.snapshot_at(T0 + 61.0), direct.snapshot_at(T0 + 61.0));
    assert!(want.total.totals.num_requests == 3000 && !want.errors.is_empty());
    assert_same(&got, &want, true);
    assert!(
        !got.total.has_current_window(T0 + 61.0) || got.total.current_percentile(0.5).is_some()
    );
}

#[test]
fn the_worker_is_reset_and_deltas_sum_to_the_whole() {
    let plan = calls(7, 2000);
    let (first, second) = plan.split_at(1200);
    let direct = RequestStats::new_at(T0 - 1.0);
    record(&direct, &plan);
    let worker = RequestStats::new_at(T0 - 1.0);
    let master = RequestStats::new_at(T0 - 1.0);
    record(&worker, first);
    merge_worker_report(&master, &report_message(&worker, T0 + 20.0)).unwrap();
    // reset: entries kept but zeroed, total zeroed (start_time = the report's time), errors emptied
    let after = worker.snapshot_at(T0 + 20.0);
    assert_eq!(after.entries.len(), 3);
    assert!(
        after
            .entries
            .iter()
            .all(|e| e.totals.num_requests == 0 && e.totals.num_failures == 0)
    );
    assert_eq!(after.total.totals.num_requests, 0);
    assert_eq!(after.total.totals.start_time, T0 + 20.0);
    assert!(after.errors.is_empty());
    record(&worker, second);
    merge_worker_report(&master, &report_message(&worker, T0 + 40.0)).unwrap();
    // an idle report changes nothing but is well-formed
    let idle = report_message(&worker, T0 + 41.0);
    assert_eq!(
        idle.get("stats").and_then(Value::as_array).map(<[_]>::len),
        Some(0)
    );
    merge_worker_report(&master, &idle).unwrap();
    let (got, want) = (master.snapshot_at(T0 + 61.0), direct.snapshot_at(T0 + 61.0));
    assert_same(&got, &want, true);
}

#[test]
fn metric_rows_travel_exactly_and_never_become_requests() {
    let master = RequestStats::new_at(T0);
    let mut want = 0u64;
    let mut max: f64 = 0.0;
    for w in 0..4u32 {
        let worker = RequestStats::new_at(T0);
        record(&worker, &calls(u64::from(w) + 1, 50));
        let values: Vec<f64> = (0..(100 + w))
            .map(|k| 25.0 + f64::from(k) * 0.125)
            .collect();
        max = max.max(*values.last().unwrap());
        want += values.len() as u64;
        worker
            .log_metric("itl", "/chat", "ms", &values, T0 + 1.0)
            .unwrap();
        worker
            .log_metric("output_tokens", "/chat", "tokens", &[64.0], T0 + 1.0)
            .unwrap();
        merge_worker_report(&master, &report_message(&worker, T0 + 3.0)).unwrap();
    }
    let snap = master.snapshot_at(T0 + 4.0);
    assert_eq!(
        snap.total.totals.num_requests, 200,
        "metric values are no requests"
    );
    let itl = snap
        .metrics
        .iter()
        .find(|m| m.metric() == "itl" && m.name() == "/chat")
        .unwrap();
    assert_eq!(itl.count(), want);
    assert_eq!(itl.unit, "ms");
    assert_eq!(itl.row.percentile(1.0), max);
    assert_eq!(itl.row.percentile(0.0), 25.0);
    // exact: the 50th percentile of the merged values, as the workers' histograms hold them
    let p50 = itl.row.percentile(0.5);
    assert!((p50 - 31.25).abs() <= 0.032, "{p50}");
    let tokens = snap
        .metrics
        .iter()
        .find(|m| m.metric() == "output_tokens" && m.name() == "/chat")
        .unwrap();
    assert_eq!((tokens.count(), tokens.unit.as_str()), (4, "tokens"));
    // the tokens' sum and their per-second sums travel too: the master's throughput is the workers' added up
    assert_eq!(tokens.sum(), 256.0);
    assert_eq!(tokens.row.num_fail_per_sec().get(T0 as i64 + 1), 256);
    // a malformed extension loses that report's metric values, not the report
    let worker = RequestStats::new_at(T0);
    record(&worker, &calls(9, 10));
    let mut data = report_message(&worker, T0 + 5.0);
    if let Value::Map(m) = &mut data {
        m.push((Value::str(METRICS_KEY), Value::Int(3)));
    }
    merge_worker_report(&master, &data).unwrap();
    assert_eq!(master.snapshot_at(T0 + 6.0).total.totals.num_requests, 210);
}

#[test]
fn two_workers_merge_like_one_recorder() {
    // the second worker's requests come after the first's, as they are recorded directly one after the other
    let a = calls(3, 900);
    let b: Vec<Call> = calls(4, 1100)
        .into_iter()
        .map(|(m, n, ms, len, dt, e)| (m, n, ms, len, dt + 20.0, e))
        .collect();
    let direct = RequestStats::new_at(T0 - 1.0);
    record(&direct, &a);
    record(&direct, &b);
    let master = RequestStats::new_at(T0 - 1.0);
    for plan in [&a, &b] {
        let worker = RequestStats::new_at(T0 - 1.0);
        record(&worker, plan);
        merge_worker_report(&master, &report_message(&worker, T0 + 30.0)).unwrap();
    }
    assert_same(
        &master.snapshot_at(T0 + 61.0),
        &direct.snapshot_at(T0 + 61.0),
        true,
    );
}

#[test]
fn without_the_extension_a_master_uses_locusts_buckets() {
    let plan = calls(5, 1500);
    let direct = RequestStats::new_at(T0 - 1.0);
    let worker = RequestStats::new_at(T0 - 1.0);
    record(&direct, &plan);
    record(&worker, &plan);
    let full = report_message(&worker, T0 + 60.0);
    let data = without_hdr(&full);
    let master = RequestStats::new_at(T0 - 1.0);
    merge_worker_report(&master, &data).unwrap();
    // the percentiles are the buckets' values: Locust's rounding of the exact ones
    assert_same(
        &master.snapshot_at(T0 + 61.0),
        &direct.snapshot_at(T0 + 61.0),
        false,
    );
    // a damaged histogram falls back to the buckets too
    let mut damaged = full;
    if let Value::Map(m) = &mut damaged {
        for (k, v) in m.iter_mut() {
            if k.as_str() == Some(HDR_KEY)
                && let Some(Value::Bytes(b)) = v.get("total").cloned()
                && let Value::Map(ext) = v
            {
                let cut = b[..b.len() - 3].to_vec();
                for (ek, ev) in ext.iter_mut() {
                    if ek.as_str() == Some("total") {
                        *ev = Value::Bytes(cut.clone());
                    }
                }
            }
        }
    }
    let other = RequestStats::new_at(T0 - 1.0);
    merge_worker_report(&other, &damaged).unwrap();
    assert_eq!(other.snapshot_at(T0 + 61.0).total.totals.num_requests, 1500);
}

#[test]
fn the_wire_format_is_locusts() {
    // an idle worker's first report is byte for byte the one Locust 2.47 sent (sample capture)
    let reports = locust_reports();
    let (hex_first, node) = reports
        .iter()
        .find_map(|(_, hex, node)| hex.clone().map(|h| (h, node.clone())))
        .unwrap();
    let worker = RequestStats::new_at(1_795_332_745.200_976_1);
    let mut data: Vec<(Value, Value)> = take_worker_report(&worker, 1_795_332_746.0)
        .into_iter()
        .filter(|(k, _)| k != HDR_KEY)
        .map(|(k, v)| (Value::Str(k), v))
        .collect();
    data.push((
        Value::str("user_classes_count"),
        Value::map([("WebsiteUser", Value::Int(0)), ("OtherUser", Value::Int(0))]),
    ));
    data.push((Value::str("user_count"), Value::Int(0)));
    let bytes = Message::new("stats", Value::Map(data), node)
        .encode()
        .unwrap();
    assert_eq!(hex::encode(bytes), hex_first);

    // an entry's dict: Locust's 14 keys in its order, its types
    let worker = RequestStats::new_at(T0);
    worker.log_request("GET", "/a", Some(12.5), 7, T0 + 0.5);
    worker.log_request("GET", "/a", None, 0, T0 + 1.5);
    worker.log_error("GET", "/a", "HTTPError('x')", T0 + 1.5);
    let report = take_worker_report(&worker, T0 + 3.0);
    let entry = &report[0].1.as_array().unwrap()[0];
    let keys: Vec<&str> = entry
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "method",
            "last_request_timestamp",
            "start_time",
            "num_requests",
            "num_none_requests",
            "num_failures",
            "total_response_time",
            "max_response_time",
            "min_response_time",
            "total_content_length",
            "response_times",
            "num_reqs_per_sec",
            "num_fail_per_sec"
        ]
    );
    assert_eq!(entry.get("total_response_time"), Some(&Value::Float(12.5)));
    assert_eq!(entry.get("min_response_time"), Some(&Value::Float(12.5)));
    assert_eq!(entry.get("num_none_requests"), Some(&Value::Int(1)));
    assert_eq!(
        entry.get("response_times"),
        Some(&Value::Map(vec![(Value::Int(12), Value::Int(1))]))
    );
    let sec = T0 as i64;
    assert_eq!(
        entry.get("num_reqs_per_sec"),
        Some(&Value::Map(vec![
            (Value::Int(sec), Value::Int(1)),
            (Value::Int(sec + 1), Value::Int(1))
        ]))
    );
    let errors = report[2].1.as_map().unwrap();
    assert_eq!(errors.len(), 1);
    // Locust's key: sha256 of f"{method}.{name}.{error!r}"
    let key = "GET./a.\"HTTPError('x')\"";
    use sha2::Digest as _;
    assert_eq!(
        errors[0].0,
        Value::Str(hex::encode(sha2::Sha256::digest(key.as_bytes())))
    );
    // empty rows: Locust's initial int 0s and nils
    let total = &take_worker_report(&worker, T0 + 4.0)[1].1;
    assert_eq!(total.get("total_response_time"), Some(&Value::Int(0)));
    assert_eq!(total.get("max_response_time"), Some(&Value::Int(0)));
    assert_eq!(total.get("min_response_time"), Some(&Value::Nil));
    assert_eq!(total.get("last_request_timestamp"), Some(&Value::Nil));
    assert_eq!(total.get("start_time"), Some(&Value::Float(T0 + 3.0)));
}

/// `(data, raw hex of the message when captured, node id)` of the `stats` messages a real Locust 2.47 worker
/// sent in the reference capture (`samples/distributed/headless_run_messages.jsonl`; int dict keys written
/// as `"<int>N"` there).
fn locust_reports() -> Vec<(Value, Option<String>, String)> {
    fn conv(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap()),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Array(a.iter().map(conv).collect()),
            serde_json::Value::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| {
                        let key = match k.strip_prefix("<int>") {
                            Some(i) => Value::Int(i.parse().unwrap()),
                            None => Value::Str(k.clone()),
                        };
                        (key, conv(v))
                    })
                    .collect(),
            ),
        }
    }
    include_str!("locust_reports.jsonl")
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                conv(&j["data"]),
                j["raw_hex"].as_str().map(str::to_owned),
                j["node_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Locust's `calculate_response_time_percentile` on `{ms: count}`.
fn locust_percentile(buckets: &BTreeMap<i64, u64>, p: f64) -> i64 {
    let n: u64 = buckets.values().sum();
    let k = (n as f64 * p) as u64;
    let mut done = 0;
    for (&ms, &c) in buckets.iter().rev() {
        done += c;
        if n - done <= k {
            return ms;
        }
    }
    0
}

#[test]
fn locusts_recorded_reports_merge_to_locusts_numbers() {
    let reports = locust_reports();
    // the first report decodes from the captured bytes themselves
    let (_, hex_first, _) = &reports[0];
    let msg = Message::decode(&hex::decode(hex_first.as_ref().unwrap()).unwrap()).unwrap();
    let master = RequestStats::new_at(1_900_000_000.0);
    merge_worker_report(&master, &msg.data).unwrap();
    for (data, _, _) in &reports {
        merge_worker_report(&master, data).unwrap();
    }
    let snap = master.snapshot();

    // what Locust's master holds: the same `extend` done on the JSON
    #[derive(Default)]
    struct Want {
        n: u64,
        fails: u64,
        sum: f64,
        min: Option<f64>,
        max: f64,
        len: u64,
        start: f64,
        last: f64,
        buckets: BTreeMap<i64, u64>,
        rps: BTreeMap<i64, u64>,
        fps: BTreeMap<i64, u64>,
    }
    let add = |w: &mut Want, e: &Value| {
        let f = |k: &str| e.get(k).unwrap().as_f64().unwrap();
        let counts = |k: &str, into: &mut BTreeMap<i64, u64>| {
            for (s, c) in e.get(k).unwrap().as_map().unwrap() {
                *into.entry(s.as_i64().unwrap()).or_default() += c.as_i64().unwrap() as u64;
            }
        };
        w.n += f("num_requests") as u64;
        w.fails += f("num_failures") as u64;
        w.sum += f("total_response_time");
        if let Some(m) = e.get("min_response_time").unwrap().as_f64() {
            w.min = Some(w.min.map_or(m, |x: f64| x.min(m)));
        }
        w.max = w.max.max(f("max_response_time"));
        w.len += f("total_content_length") as u64;
        w.start = if w.start == 0.0 {
            f("start_time")
        } else {
            w.start.min(f("start_time"))
        };
        if let Some(t) = e.get("last_request_timestamp").unwrap().as_f64() {
            w.last = w.last.max(t);
        }
        counts("response_times", &mut w.buckets);
        counts("num_reqs_per_sec", &mut w.rps);
        counts("num_fail_per_sec", &mut w.fps);
    };
    let mut want_total = Want::default();
    let mut want_entries: BTreeMap<(String, String), Want> = BTreeMap::new();
    let mut want_errors: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
    for (data, _, _) in &reports {
        add(&mut want_total, data.get("stats_total").unwrap());
        for e in data.get("stats").unwrap().as_array().unwrap() {
            let key = (
                e.get("name").unwrap().as_str().unwrap().to_owned(),
                e.get("method").unwrap().as_str().unwrap().to_owned(),
            );
            add(want_entries.entry(key).or_default(), e);
        }
        for (k, e) in data.get("errors").unwrap().as_map().unwrap() {
            let w = want_errors
                .entry(k.as_str().unwrap().to_owned())
                .or_insert((0, f64::MAX, 0.0));
            w.0 += e.get("occurrences").unwrap().as_i64().unwrap() as u64;
            w.1 = w.1.min(e.get("first_seen").unwrap().as_f64().unwrap());
            w.2 = w.2.max(e.get("last_seen").unwrap().as_f64().unwrap());
        }
    }
    let check = |got: &EntrySnapshot, w: &Want| {
        assert_eq!(got.totals.num_requests, w.n, "{}", got.name);
        assert_eq!(got.totals.num_failures, w.fails);
        assert!(close(got.totals.total_response_time, w.sum));
        assert_eq!(got.totals.min_response_time, w.min);
        assert_eq!(got.totals.max_response_time, w.max);
        assert_eq!(got.totals.total_content_length, w.len);
        assert_eq!(got.totals.start_time, w.start);
        assert_eq!(got.totals.last_request_timestamp, Some(w.last));
        assert_eq!(got.response_times_buckets(), w.buckets);
        assert_eq!(got.num_reqs_per_sec().to_map(), w.rps);
        assert_eq!(got.num_fail_per_sec().to_map(), w.fps);
        for &p in &PERCENTILES_TO_REPORT {
            let n = w.n;
            let rank = ((n as f64 * p) as u64).min(n - 1);
            let ours = got.percentile(p);
            if rank == n - 1 {
                // NOTE: rlocust's 100th percentile is the raw maximum; Locust's is its bucket
                assert_eq!(ours, w.max);
                assert_eq!(bucket_response_time(ours), locust_percentile(&w.buckets, p));
            } else if rank > 0 {
                assert_eq!(
                    ours,
                    locust_percentile(&w.buckets, p) as f64,
                    "{} p{p}",
                    got.name
                );
            }
        }
    };
    assert_eq!(want_total.n, 29 + 70 + 70 + 41);
    check(&snap.total, &want_total);
    assert_eq!(snap.entries.len(), want_entries.len());
    for e in &snap.entries {
        check(e, &want_entries[&(e.name.clone(), e.method.clone())]);
    }
    // the errors: grouped under Locust's own keys, occurrences added, first/last seen min/max
    assert_eq!(snap.errors.len(), want_errors.len());
    for e in &snap.errors {
        let w = want_errors[&crate::report::csv::error_key(e)];
        assert_eq!(
            (e.occurrences, e.first_seen, e.last_seen),
            (w.0, Some(w.1), Some(w.2))
        );
    }
}

#[test]
fn malformed_reports_are_refused_whole() {
    let good = {
        let worker = RequestStats::new_at(T0);
        record(&worker, &calls(9, 50));
        report_message(&worker, T0 + 5.0)
    };
    let set = |path: &[&str], v: Value| -> Value {
        fn go(cur: &Value, path: &[&str], v: &Value) -> Value {
            let Some((first, rest)) = path.split_first() else {
                return v.clone();
            };
            match cur {
                Value::Map(m) => Value::Map(
                    m.iter()
                        .map(|(k, x)| {
                            if k.as_str() == Some(*first) {
                                (k.clone(), go(x, rest, v))
                            } else {
                                (k.clone(), x.clone())
                            }
                        })
                        .collect(),
                ),
                Value::Array(a) => Value::Array(
                    a.iter()
                        .enumerate()
                        .map(|(i, x)| {
                            if first.parse() == Ok(i) {
                                go(x, rest, v)
                            } else {
                                x.clone()
                            }
                        })
                        .collect(),
                ),
                other => other.clone(),
            }
        }
        go(&good, path, &v)
    };
    let remove = |key: &str| match &good {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, _)| k.as_str() != Some(key))
                .cloned()
                .collect(),
        ),
        _ => unreachable!(),
    };
    let bad = [
        Value::Nil,
        Value::Int(3),
        Value::Array(vec![]),
        Value::map([("stats", Value::Array(vec![]))]),
        remove("stats"),
        remove("stats_total"),
        remove("errors"),
        set(&["stats"], Value::map([("a", Value::Int(1))])),
        set(&["stats", "0"], Value::Int(1)),
        set(&["stats", "0", "name"], Value::Int(1)),
        set(&["stats", "0", "num_requests"], Value::Int(-1)),
        set(&["stats", "0", "num_requests"], Value::Float(1.0)),
        set(&["stats", "0", "num_requests"], Value::Bool(true)),
        set(&["stats", "0", "start_time"], Value::Nil),
        set(&["stats", "0", "min_response_time"], Value::str("1")),
        set(&["stats", "0", "response_times"], Value::Array(vec![])),
        set(
            &["stats", "0", "response_times"],
            Value::Map(vec![(Value::str("12"), Value::Int(1))]),
        ),
        set(
            &["stats", "0", "response_times"],
            Value::Map(vec![(Value::Int(12), Value::Float(1.0))]),
        ),
        set(
            &["stats", "0", "num_reqs_per_sec"],
            Value::Map(vec![(Value::Float(1.0), Value::Int(1))]),
        ),
        set(
            &["stats", "0", "num_fail_per_sec"],
            Value::Map(vec![(Value::UInt(u64::MAX), Value::Int(1))]),
        ),
        set(&["stats_total"], Value::Nil),
        set(&["stats_total", "method"], Value::Nil),
        set(&["errors"], Value::Array(vec![])),
        set(
            &["errors"],
            Value::Map(vec![(Value::Int(1), Value::map([("a", Value::Nil)]))]),
        ),
        set(
            &["errors"],
            Value::Map(vec![(
                Value::str("k"),
                Value::map([("name", Value::str("x"))]),
            )]),
        ),
    ];
    for (i, data) in bad.iter().enumerate() {
        let master = RequestStats::new_at(T0);
        let err = merge_worker_report(&master, data);
        assert!(err.is_err(), "case {i} was accepted");
        // nothing was merged
        let snap = master.snapshot_at(T0 + 10.0);
        assert_eq!(
            (
                snap.total.totals.num_requests,
                snap.entries.len(),
                snap.errors.len()
            ),
            (0, 0, 0),
            "case {i}: {err:?}"
        );
    }
    // the good one is accepted (so the cases above fail for their own reason)
    merge_worker_report(&RequestStats::new_at(T0), &good).unwrap();
}

#[test]
fn no_input_panics() {
    let worker = RequestStats::new_at(T0);
    record(&worker, &calls(11, 300));
    let bytes = encode_value(&report_message(&worker, T0 + 5.0)).unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let master = RequestStats::new_at(T0);
    let mut decoded = 0;
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() % b.len() as u64) as usize;
            b[i] = next() as u8;
        }
        if let Ok(v) = decode_value(&b) {
            decoded += 1;
            let _ = merge_worker_report(&master, &v);
        }
    }
    assert!(decoded > 100);
    // hostile histogram bytes
    let good = hdr_bytes(&{
        let mut r = RowData::empty("a", "GET", T0);
        r.record_ms(12.5, 3);
        r.hist
    })
    .unwrap();
    assert_eq!(hdr_from_bytes(&good).unwrap().len(), 3);
    for len in 0..good.len() {
        assert!(hdr_from_bytes(&good[..len]).is_err());
    }
    for _ in 0..5000 {
        let mut b = good.clone();
        let i = (next() % b.len() as u64) as usize;
        b[i] = next() as u8;
        let _ = hdr_from_bytes(&b);
    }
    let mut huge = good.clone();
    huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(hdr_from_bytes(&huge).is_err());
    let mut wide = good.clone();
    wide[24..32].copy_from_slice(&u64::MAX.to_be_bytes());
    assert!(hdr_from_bytes(&wide).is_err());
    // the sparse reader of the master never panics either, and refuses what the full decoder refuses
    for len in 0..good.len() {
        assert!(hdr_samples(&good[..len]).is_err() || len == good.len());
    }
    for _ in 0..5000 {
        let mut b = good.clone();
        let i = (next() % b.len() as u64) as usize;
        b[i] = next() as u8;
        let _ = hdr_samples(&b);
    }
    assert!(hdr_samples(&huge).is_err());
    assert!(hdr_samples(&wide).is_err());
}

/// The master reads received histograms sparsely: the same (value, count) pairs the full decoder gives, for
/// values across the whole recordable range.
#[test]
fn sparse_histogram_reading_equals_the_decoder() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for _ in 0..(1 + next() % 300) {
            let magnitude = next() % 40;
            let v = 1 + next() % (1u64 << (magnitude + 1));
            h.record_n(v, 1 + next() % 5).unwrap();
        }
        if round == 0 {
            h.record(1).unwrap();
            h.record(2047).unwrap();
            h.record(2048).unwrap();
            h.record(1 << 40).unwrap();
        }
        let bytes = hdr_bytes(&h).unwrap();
        let full = hdr_from_bytes(&bytes).unwrap();
        let want: Vec<(u64, u64)> = full
            .iter_recorded()
            .map(|v| {
                (
                    full.lowest_equivalent(v.value_iterated_to()),
                    v.count_at_value(),
                )
            })
            .collect();
        assert_eq!(hdr_samples(&bytes).unwrap(), want, "round {round}");
    }
}

// ---------------------------------------------------------------------------------------------
// Real Locust 2.47 parses our report
// ---------------------------------------------------------------------------------------------

/// Python with Locust 2.47: `LOCUST_PYTHON`, else the `python` next to `LOCUST_BIN`, else the repository's
/// `.venv-oracle/bin/python`. Missing: skipped with a reason, except under CI where it fails.
fn oracle_python() -> Option<PathBuf> {
    let py = std::env::var_os("LOCUST_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("LOCUST_BIN").map(|b| PathBuf::from(b).with_file_name("python"))
        })
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-oracle/bin/python")
        });
    if py.is_file() {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "no Locust 2.47 python at {}",
        py.display()
    );
    eprintln!(
        "skipped: no Locust 2.47 python at {} (set LOCUST_PYTHON or LOCUST_BIN)",
        py.display()
    );
    None
}

/// What a Locust 2.47 master does with a `stats` message: `Message.unserialize` (its msgpack settings and
/// decode hook), the runner's `user_classes_count` read, then Locust's own `worker_report` listener
/// (`StatsEntry.unserialize` + `extend` per entry and for the total, `StatsError.unserialize` for new error
/// keys). Prints the resulting numbers as JSON.
const LOCUST_MASTER: &str = r#"
import json, sys
from locust.event import Events
from locust.rpc.protocol import Message
from locust.stats import RequestStats, StatsEntryDict, StatsErrorDict, setup_distributed_stats_event_listeners

msgs = [Message.unserialize(open(p, "rb").read()) for p in sys.argv[1:]]
stats = RequestStats()
events = Events()
setup_distributed_stats_event_listeners(events, stats)
entry_keys, error_keys = list(StatsEntryDict.__annotations__), list(StatsErrorDict.__annotations__)
for msg in msgs:
    assert msg.type == "stats", msg.type
    data = msg.data
    user_classes_count = data["user_classes_count"]
    for d in data["stats"] + [data["stats_total"]]:
        assert list(d) == entry_keys, list(d)
    for d in data["errors"].values():
        assert list(d) == error_keys, list(d)
    events.worker_report.fire(client_id=msg.node_id, data=data)

def f(x):
    # floats as repr text, so the comparison is exact (JSON number parsing may not be)
    return repr(x) if isinstance(x, float) else x

def row(e):
    return {
        "name": e.name, "method": e.method,
        "num_requests": e.num_requests, "num_none_requests": e.num_none_requests,
        "num_failures": e.num_failures, "total_response_time": f(e.total_response_time),
        "min_response_time": f(e.min_response_time), "max_response_time": f(e.max_response_time),
        "total_content_length": e.total_content_length, "start_time": f(e.start_time),
        "last_request_timestamp": f(e.last_request_timestamp),
        "types": [type(e.total_response_time).__name__, type(e.max_response_time).__name__,
                  type(e.min_response_time).__name__],
        "percentiles": [e.get_response_time_percentile(p) for p in (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0)],
        "response_times": {str(k): v for k, v in e.response_times.items()},
        "num_reqs_per_sec": {str(k): v for k, v in e.num_reqs_per_sec.items()},
        "num_fail_per_sec": {str(k): v for k, v in e.num_fail_per_sec.items()},
    }

print(json.dumps({
    "entries": [row(e) for e in stats.entries.values()],
    "total": row(stats.total),
    "errors": {k: {"method": e.method, "name": e.name, "error": e.error, "occurrences": e.occurrences,
                   "first_seen": f(e.first_seen), "last_seen": f(e.last_seen)} for k, e in stats.errors.items()},
}))
"#;

#[test]
fn a_locust_master_parses_our_reports() {
    let Some(py) = oracle_python() else {
        return;
    };
    // two deltas from one worker, as a Locust master receives them
    let plan = calls(13, 1200);
    let (first, second) = plan.split_at(500);
    let worker = RequestStats::new_at(T0 - 1.0);
    let ours = RequestStats::new_at(T0 - 1.0);
    let direct = RequestStats::new_at(T0 - 1.0);
    record(&direct, &plan);
    let dir = std::env::temp_dir().join(format!("rlocust-stats-wire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (i, part) in [first, second].into_iter().enumerate() {
        record(&worker, part);
        // metric rows ride along under their own key, which a Locust master must not mind
        worker
            .log_metric("ttft", "/chat", "ms", &[300.5, 301.25], T0)
            .unwrap();
        let data = report_message(&worker, T0 + 30.0 * (i + 1) as f64);
        assert!(data.get(METRICS_KEY).is_some());
        merge_worker_report(&ours, &data).unwrap();
        let path = dir.join(format!("stats{i}.msgpack"));
        std::fs::write(
            &path,
            Message::new("stats", data, "worker-1").encode().unwrap(),
        )
        .unwrap();
        files.push(path);
    }
    let out = std::process::Command::new(&py)
        .arg("-c")
        .arg(LOCUST_MASTER)
        .args(&files)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "Locust could not merge our reports:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let locust: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // a Python float printed with repr (exact), or None
    let fl = |v: &serde_json::Value| v.as_str().map(|t| t.parse::<f64>().unwrap());
    let check = |got: &EntrySnapshot, l: &serde_json::Value| {
        let what = format!("{} {}", got.method, got.name);
        assert_eq!(l["num_requests"], got.totals.num_requests, "{what}");
        assert_eq!(
            l["num_none_requests"], got.totals.num_none_requests,
            "{what}"
        );
        assert_eq!(l["num_failures"], got.totals.num_failures, "{what}");
        // the float sum of two deltas differs from one sum in the last bits
        assert!(
            close(
                fl(&l["total_response_time"]).unwrap(),
                got.totals.total_response_time
            ),
            "{what}"
        );
        assert_eq!(
            fl(&l["min_response_time"]),
            got.totals.min_response_time,
            "{what}"
        );
        assert_eq!(
            fl(&l["max_response_time"]),
            Some(got.totals.max_response_time),
            "{what}"
        );
        assert_eq!(
            l["total_content_length"], got.totals.total_content_length,
            "{what}"
        );
        assert_eq!(fl(&l["start_time"]), Some(got.totals.start_time), "{what}");
        assert_eq!(
            fl(&l["last_request_timestamp"]),
            got.totals.last_request_timestamp,
            "{what}"
        );
        assert_eq!(
            l["types"],
            serde_json::json!(["float", "float", "float"]),
            "{what}"
        );
        let map = |m: &BTreeMap<i64, u64>| -> serde_json::Value {
            m.iter()
                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect()
        };
        assert_eq!(
            l["response_times"],
            map(&got.response_times_buckets()),
            "{what}"
        );
        assert_eq!(
            l["num_reqs_per_sec"],
            map(&got.num_reqs_per_sec().to_map()),
            "{what}"
        );
        assert_eq!(
            l["num_fail_per_sec"],
            map(&got.num_fail_per_sec().to_map()),
            "{what}"
        );
        // Locust's percentiles are its buckets: the rounding of rlocust's exact ones
        let ps = [0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0];
        for (p, lp) in ps.iter().zip(l["percentiles"].as_array().unwrap()) {
            assert_eq!(
                lp.as_i64(),
                Some(bucket_response_time(got.percentile(*p))),
                "{what} p{p}"
            );
        }
    };
    let compare = |snap: &Snapshot| {
        check(&snap.total, &locust["total"]);
        let entries = locust["entries"].as_array().unwrap();
        assert_eq!(entries.len(), snap.entries.len());
        for l in entries {
            let got = snap
                .entries
                .iter()
                .find(|e| l["name"] == e.name.as_str() && l["method"] == e.method.as_str())
                .unwrap();
            check(got, l);
        }
        let errors = locust["errors"].as_object().unwrap();
        assert_eq!(errors.len(), snap.errors.len());
        for e in &snap.errors {
            let l = &errors[&crate::report::csv::error_key(e)];
            assert_eq!(l["method"], e.method.as_str());
            assert_eq!(l["name"], e.name.as_str());
            assert_eq!(l["error"], e.error.as_str());
            assert_eq!(l["occurrences"], e.occurrences);
            assert_eq!(fl(&l["first_seen"]), e.first_seen);
            assert_eq!(fl(&l["last_seen"]), e.last_seen);
        }
    };
    // Locust's master must hold what was recorded (the truth), and what an rlocust master holds
    compare(&direct.snapshot_at(T0 + 61.0));
    compare(&ours.snapshot_at(T0 + 61.0));
}

#[test]
fn reports_taken_while_recording_lose_nothing_and_count_nothing_twice() {
    let worker = std::sync::Arc::new(RequestStats::new_at(T0));
    let master = RequestStats::new_at(T0);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 20_000;
    let recorders: Vec<_> = (0..THREADS)
        .map(|t| {
            let w = std::sync::Arc::clone(&worker);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let name = if i % 2 == 0 { "/a" } else { "/b" };
                    let now = T0 + (i as f64) * 1e-4;
                    w.log_request("GET", name, Some(1.0 + (i % 50) as f64), 1, now);
                    if (i + t) % 10 == 0 {
                        w.log_error("GET", name, "HTTPError('x')", now);
                    }
                }
            })
        })
        .collect();
    let reporter = {
        let w = std::sync::Arc::clone(&worker);
        let d = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            let mut reports = Vec::new();
            // at least a few reports, most of them while the recorders run
            while !d.load(std::sync::atomic::Ordering::Relaxed) || reports.len() < 3 {
                reports.push(report_message(&w, T0 + 10.0));
                std::thread::yield_now();
            }
            reports
        })
    };
    for r in recorders {
        r.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reports = reporter.join().unwrap();
    reports.push(report_message(&worker, T0 + 20.0));
    for r in &reports {
        merge_worker_report(&master, r).unwrap();
    }
    let snap = master.snapshot_at(T0 + 30.0);
    let n = THREADS * PER_THREAD;
    assert_eq!(snap.total.totals.num_requests, n);
    assert_eq!(snap.total.totals.num_failures, n / 10);
    assert_eq!(snap.total.percentile(1.0), 50.0);
    assert_eq!(
        snap.entries
            .iter()
            .map(|e| e.totals.num_requests)
            .sum::<u64>(),
        n
    );
    assert_eq!(
        snap.entries
            .iter()
            .map(|e| e.totals.num_failures)
            .sum::<u64>(),
        n / 10
    );
    assert_eq!(
        snap.errors.iter().map(|e| e.occurrences).sum::<u64>(),
        n / 10
    );
    let samples: u64 = snap.total.response_times_buckets().values().sum();
    assert_eq!(samples, n);
    for e in &snap.entries {
        assert_eq!(
            e.response_times_buckets().values().sum::<u64>(),
            e.totals.num_requests
        );
    }
}

/// The coordinated-omission extension: an rlocust master gets the same corrected percentiles as recording
/// directly; reports without fixed-rate requests carry no key; a malformed extension is ignored, not the report.
#[test]
fn corrected_percentiles_travel_between_rlocust_nodes() {
    let paced = |s: &RequestStats| {
        for i in 0..200 {
            let ms = if i % 50 == 0 {
                2_500.0
            } else {
                5.0 + i as f64 * 0.1
            };
            s.log_request_paced("GET", "/p", Some(ms), 1, T0 + i as f64 * 0.01, Some(100.0));
        }
        s.log_request("GET", "/plain", Some(7.0), 1, T0 + 1.0);
    };
    let direct = RequestStats::new_at(T0);
    paced(&direct);
    let worker = RequestStats::new_at(T0);
    paced(&worker);
    let data = report_message(&worker, T0 + 3.0);
    assert!(data.get(CO_KEY).is_some());
    let master = RequestStats::new_at(T0);
    merge_worker_report(&master, &data).unwrap();
    let (got, want) = (master.snapshot_at(T0 + 4.0), direct.snapshot_at(T0 + 4.0));
    for (g, w) in [
        (&got.total, &want.total),
        (&got.entries[0], &want.entries[0]),
    ] {
        assert_eq!(g.corrected_counts(), w.corrected_counts());
        for &p in &PERCENTILES_TO_REPORT {
            assert_eq!(g.corrected_percentile(p), w.corrected_percentile(p), "{p}");
        }
    }
    assert_eq!(
        got.total.corrected_counts().unwrap().synthetic_samples,
        4 * 24
    );
    assert!(got.entries[1].corrected_counts().is_none());

    // no fixed-rate requests: no key
    let plain = RequestStats::new_at(T0);
    plain.log_request("GET", "/plain", Some(7.0), 1, T0 + 1.0);
    assert!(report_message(&plain, T0 + 3.0).get(CO_KEY).is_none());

    // malformed: the report is merged, its correction dropped
    let worker = RequestStats::new_at(T0);
    paced(&worker);
    let data = match report_message(&worker, T0 + 3.0) {
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| {
                    if k.as_str() == Some(CO_KEY) {
                        (
                            k,
                            Value::map([("version", Value::Int(1)), ("total", Value::Int(3))]),
                        )
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
        _ => unreachable!(),
    };
    let master = RequestStats::new_at(T0);
    merge_worker_report(&master, &data).unwrap();
    let snap = master.snapshot_at(T0 + 4.0);
    assert_eq!(snap.total.totals.num_requests, 201);
    assert!(!snap.has_corrected());
}
