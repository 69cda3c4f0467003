//! Replays `tests/faults/expected_fast.json` (what real Locust 2.47 and geventhttpclient 2.6.1 made of each
//! response, written by `tests/faults/oracle_outcomes_fast.py`): every raw case whole, one byte at a time and in
//! the recorded random splits, compared on verdict, exception repr, status, body, headers, reason and reuse; the
//! scripted cases (data, resets, timeouts, the fault server's large responses) against what Locust recorded.
//!
//! Run by `cargo test`; `generated_responses_match_geventhttpclient` (ignored) replays a generated corpus named by
//! `LLHTTP_FUZZ`. Must not: let a mismatch pass (a knowing difference goes through `known_difference`, with its
//! reason).
use super::*;
use base64::Engine;
use serde_json::Value;

/// Written by `tests/faults/oracle_outcomes_fast.py` (real Locust 2.47 + geventhttpclient 2.6.1).
const FIXTURE: &str = include_str!("../../../../../tests/faults/expected_fast.json");

fn b64(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(|s| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64")
    })
}

/// The outcome in the fixture's terms: (error or raised repr, raised?, status, len, body).
#[derive(Debug, PartialEq)]
struct Outcome {
    error: Option<String>,
    raised: bool,
    status: Option<i64>,
    len: i64,
    body: Option<Vec<u8>>,
}

fn expected(rec: &Value) -> Outcome {
    let (error, raised) = match (rec["error"].as_str(), rec["raised"].as_str()) {
        (Some(e), _) => (Some(e.to_string()), false),
        (None, Some(r)) => (Some(r.to_string()), true),
        _ => (None, false),
    };
    Outcome {
        error,
        raised,
        status: if raised { None } else { rec["status"].as_i64() },
        len: if raised {
            0
        } else {
            rec["len"].as_i64().unwrap_or(0)
        },
        body: b64(&rec["body_b64"]),
    }
}

/// What the reader alone decides (every status counts as valid).
fn reader_outcome(run: &Run) -> Outcome {
    match &run.result {
        Ok(c) => Outcome {
            error: None,
            raised: false,
            status: Some(i64::from(c.head.status)),
            len: c.body.len() as i64,
            body: Some(c.body.to_vec()),
        },
        Err(e) => error_outcome(e, i64::from(run.status_now)),
    }
}

fn error_outcome(e: &PyExc, status: i64) -> Outcome {
    let raised = !recorded_by_locust(e);
    Outcome {
        error: Some(e.repr()),
        raised,
        status: (!raised).then_some(status),
        len: 0,
        body: None,
    }
}

/// What Locust records: the reader's outcome with FastHttpSession's handling of a status it does not accept.
fn locust_outcome(run: &Run) -> Outcome {
    let bad = |s: u16| !LOCUST_VALID_STATUSES.contains(&s);
    match &run.result {
        Ok(c) if run.head.is_some_and(bad) => {
            let e = locust_bad_status(URL, run.head.unwrap_or(0), &c.body);
            let mut o = error_outcome(&e, i64::from(c.head.status));
            if !o.raised {
                o.len = c.body.len() as i64;
            }
            o
        }
        Err(e) if run.head.is_some_and(bad) => error_outcome(e, 0),
        _ => reader_outcome(run),
    }
}

fn latin1_json(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

/// Where rlocust knowingly differs from Locust, with the reason (none today).
fn known_difference(_rec: &Value, _run: &Run) -> Option<&'static str> {
    None
}

/// Checks one raw case of a fixture; `locust`: also what Locust records (the network run's fields).
/// Returns the mismatches, whether it is a known difference, and how many split runs were checked.
fn check_raw_case(i: usize, case: &Value, raw: &[u8], locust: bool) -> (Vec<String>, bool, usize) {
    let method = case["method"].as_str().unwrap_or("GET");
    let mut mismatches = Vec::new();
    let label = format!(
        "#{i} {method} {:?}",
        String::from_utf8_lossy(&raw[..raw.len().min(60)])
    );
    let all = run_cuts(raw, &[], method, DEFAULT_MAX_BODY_FOR_TESTS);
    if known_difference(&case["reader"], &all).is_some() {
        return (mismatches, true, 0);
    }
    // (a) all at once: what the reader decides, with the head as geventhttpclient keeps it
    let rec = &case["reader"];
    let got = reader_outcome(&all);
    if got != expected(rec) {
        mismatches.push(format!(
            "{label} reader: expected {:?}, got {got:?}",
            expected(rec)
        ));
    }
    if let Ok(c) = &all.result {
        // geventhttpclient's Headers lists repeated names together
        let mut grouped: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (n, _) in c.head.headers.iter() {
            if grouped
                .iter()
                .any(|(g, _)| latin1_json(n).eq_ignore_ascii_case(g))
            {
                continue;
            }
            for (m, w) in c.head.headers.iter() {
                if m.eq_ignore_ascii_case(n) {
                    grouped.push((latin1_json(m), latin1_json(w)));
                }
            }
        }
        let want: Vec<(Vec<u8>, Vec<u8>)> = rec["headers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            latin1_json(p[0].as_str().unwrap_or("")),
                            latin1_json(p[1].as_str().unwrap_or("")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if grouped != want {
            mismatches.push(format!(
                "{label} headers: expected {want:?}, got {grouped:?}"
            ));
        }
        let reason = rec["reason"].as_str().map(latin1_json).unwrap_or_default();
        if latin1_json(&c.head.reason) != reason {
            mismatches.push(format!(
                "{label} reason: expected {reason:?}, got {:?}",
                c.head.reason
            ));
        }
        if rec["reusable"].as_bool() != Some(c.reusable) {
            mismatches.push(format!(
                "{label} reusable: expected {}, got {}",
                rec["reusable"], c.reusable
            ));
        }
    }
    // what Locust records, with its verdict on the status
    if locust {
        let got = locust_outcome(&all);
        let want = expected(case);
        if got.error != want.error
            || got.raised != want.raised
            || got.status != want.status
            || got.len != want.len
            || (want.body.is_some() && got.body != want.body)
        {
            mismatches.push(format!("{label} locust: expected {want:?}, got {got:?}"));
        }
    }
    // (b) one byte at a time and (c) seeded random cuts, each against geventhttpclient on the same pieces
    let mut split_runs = 0;
    for split in case["splits"].as_array().into_iter().flatten() {
        split_runs += 1;
        let cuts: Vec<usize> = split["cuts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .map(|c| c as usize)
            .collect();
        let run = run_cuts(raw, &cuts, method, DEFAULT_MAX_BODY_FOR_TESTS);
        let got = reader_outcome(&run);
        if known_difference(split, &run).is_some() {
            continue;
        }
        if got != expected(split) {
            mismatches.push(format!(
                "{label} cuts {cuts:?}: expected {:?}, got {got:?}",
                expected(split)
            ));
        }
        // geventhttpclient's socket still holds the pieces not yet read: no reuse
        if let (Ok(c), Some(r)) = (&run.result, split["reusable"].as_bool())
            && (c.reusable && run.all_read) != r
        {
            mismatches.push(format!(
                "{label} cuts {cuts:?}: reusable expected {r}, got {}",
                c.reusable
            ));
        }
    }
    (mismatches, false, split_runs)
}

#[test]
fn fixture_matches_locust() {
    let cases: Vec<Value> = serde_json::from_str(FIXTURE).expect("fixture");
    let mut mismatches = Vec::new();
    let (mut raw_cases, mut scripted, mut split_runs, mut known) = (0, 0, 0, 0);
    for (i, case) in cases.iter().enumerate() {
        let Some(raw) = b64(&case["raw"]) else {
            scripted += 1;
            if let Some(m) = check_scripted(case) {
                mismatches.push(format!("#{i} {}: {m}", case["mode"]));
            }
            continue;
        };
        raw_cases += 1;
        let (m, k, n) = check_raw_case(i, case, &raw, true);
        mismatches.extend(m);
        known += usize::from(k);
        split_runs += n;
    }
    for m in &mismatches {
        eprintln!("MISMATCH {m}");
    }
    eprintln!(
        "fixture: {raw_cases} raw cases ({split_runs} split runs), {scripted} scripted, {known} known differences, {} mismatches",
        mismatches.len()
    );
    assert!(raw_cases > 800 && scripted >= 9, "fixture too small");
    assert!(known <= 4, "more known differences than expected: {known}");
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}

/// A wider differential check against geventhttpclient on generated responses, not kept in the repository:
/// `.venv-oracle/bin/python tests/faults/oracle_outcomes_fast.py --fuzz 20000 --seed 1 --out /tmp/f.json`, then
/// `LLHTTP_FUZZ=/tmp/f.json cargo test --release --lib llhttp -- --ignored`.
#[test]
#[ignore]
fn generated_responses_match_geventhttpclient() {
    let path = std::env::var("LLHTTP_FUZZ")
        .expect("LLHTTP_FUZZ=<file written by oracle_outcomes_fast.py --fuzz>");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let (mut mismatches, mut known, mut split_runs) = (Vec::new(), 0, 0);
    for (i, case) in cases.iter().enumerate() {
        let raw = b64(&case["raw"]).unwrap_or_default();
        let (m, k, n) = check_raw_case(i, case, &raw, false);
        mismatches.extend(m);
        known += usize::from(k);
        split_runs += n;
    }
    for m in mismatches.iter().take(60) {
        eprintln!("MISMATCH {}", &m[..m.len().min(1500)]);
    }
    eprintln!(
        "{} cases ({split_runs} split runs), {known} known differences, {} mismatches",
        cases.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty());
}

/// The large responses of the fault server, rebuilt.
fn generated(name: &str) -> Vec<u8> {
    let ok = |body: &[u8]| {
        let mut v = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        v.extend_from_slice(body);
        v
    };
    match name {
        "many-headers" => {
            let mut v = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..10000 {
                v.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
            }
            v.extend_from_slice(b"Content-Length: 2\r\nConnection: close\r\n\r\nok");
            v
        }
        "huge-header" => {
            let mut v = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            v.extend(std::iter::repeat_n(b'a', 1 << 20));
            v.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
            v
        }
        "informational-flood" => {
            let mut v = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(100_000);
            v.extend(ok(b"ok"));
            v
        }
        "big-body" => ok(&vec![b'y'; 8 << 20]),
        other => panic!("unknown generated response {other}"),
    }
}

/// Replays a scripted case (data, resets, timeouts) and compares with what Locust recorded.
fn check_scripted(case: &Value) -> Option<String> {
    let url = format!("{URL}{}", case["mode"].as_str().unwrap_or(""));
    let mut r = LlReader::new(ctx("GET", &url, DEFAULT_MAX_BODY_FOR_TESTS));
    let mut buf = BytesMut::new();
    let mut head = None;
    let mut result = None;
    for ev in case["events"].as_array().into_iter().flatten() {
        let kind = ev[0].as_str().unwrap_or("");
        let step = match kind {
            "data" | "gen" => {
                let data = if kind == "data" {
                    b64(&ev[1]).unwrap_or_default()
                } else {
                    generated(ev[1].as_str().unwrap_or(""))
                };
                // as a socket hands it over: in reads of at most 64 KiB
                let mut out = None;
                for piece in data.chunks(65536) {
                    buf.extend_from_slice(piece);
                    loop {
                        match r.feed(&mut buf) {
                            Ok(Step::More) => break,
                            Ok(Step::Head) => head = Some(r.head().map_or(0, |h| h.status)),
                            other => {
                                out = Some(other);
                                break;
                            }
                        }
                    }
                    if out.is_some() {
                        break;
                    }
                }
                out
            }
            "eof" => Some(r.eof(&mut buf)),
            "io" => Some(Err(r.io_error(&std::io::Error::from_raw_os_error(
                ev[1].as_i64().unwrap_or(0) as i32,
            )))),
            "timeout" => Some(Err(r.timeout())),
            _ => return Some(format!("unknown event {ev}")),
        };
        if let Some(s) = step {
            result = Some(s);
            break;
        }
    }
    let status_now = if head.is_some() {
        r.head().map_or(0, |h| h.status)
    } else {
        0
    };
    let run = match result {
        Some(Ok(Step::Done(c))) => Run {
            status_now: c.head.status,
            result: Ok(c),
            head,
            all_read: true,
        },
        Some(Err(e)) => Run {
            result: Err(e),
            head,
            status_now,
            all_read: true,
        },
        other => return Some(format!("no end: {other:?}")),
    };
    let got = locust_outcome(&run);
    let want = expected(case);
    (got.error != want.error || got.status != want.status || got.len != want.len)
        .then(|| format!("expected {want:?}, got {got:?}"))
}
