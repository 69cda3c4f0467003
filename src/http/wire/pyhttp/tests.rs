//! Tests of HttpUser's reader: every case of the fault corpus (`tests/faults/expected_requests.json`, what
//! Locust 2.47 recorded for each broken response) read whole, cut at random points and byte by byte; focused
//! cases that pin the exception structure (status lines, truncated bodies, framing headers, codings, head
//! limits, 1xx, HEAD, reuse, socket errors and timeouts, body caps, Python ints, unfolding); an ignored speed
//! check. The property tests are in `props`.
//!
//! Who calls it: `cargo test` only (`#[cfg(test)] mod tests` in `mod.rs`).
//!
//! What it must not do: be used by non-test code, or need a network or Python: everything runs on bytes.
use super::head::unfold;
use super::pyint::{ChunkSize, IntErr, PyInt, py_int10, py_int16};
use super::*;
use crate::http::wire::Limits;
use base64::Engine as _;
use sha2::Digest as _;
use std::io::Read as _;

const POOL: &str = "HTTPConnectionPool(host='127.0.0.1', port=43883)";

fn ctx(method: &str) -> Context {
    Context {
        method: method.to_owned().into(),
        url: "/path".into(),
        pool: Some(POOL.into()),
        forwarded: false,
        read_timeout: Some("2".into()),
        limits: Limits::default(),
    }
}

/// What a reader made of a whole response.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok {
        head: Head,
        body: Vec<u8>,
        reusable: bool,
    },
    Err(PyExc),
}

impl Outcome {
    fn err(&self) -> String {
        match self {
            Outcome::Err(e) => e.reported().repr(),
            Outcome::Ok { head, body, .. } => {
                format!("OK status {} len {}", head.status, body.len())
            }
        }
    }
    fn ok(self) -> (Head, Vec<u8>, bool) {
        match self {
            Outcome::Ok {
                head,
                body,
                reusable,
            } => (head, body, reusable),
            Outcome::Err(e) => panic!("failed: {}", e.reported().repr()),
        }
    }
    /// The same outcome but for `reusable` (which depends on how much was read past the end).
    fn same(&self, other: &Outcome) -> bool {
        match (self, other) {
            (
                Outcome::Ok {
                    head: h1, body: b1, ..
                },
                Outcome::Ok {
                    head: h2, body: b2, ..
                },
            ) => h1 == h2 && b1 == b2,
            (a, b) => a == b,
        }
    }
}

/// Feeds `raw` cut at `cuts` (ascending offsets), then the end of input; checks the reader's progress.
fn drive(c: Context, raw: &[u8], cuts: &[usize]) -> Outcome {
    let mut r = PyReader::new(c);
    let mut buf = BytesMut::new();
    let mut at = 0;
    let mut heads = 0;
    let ends = cuts.iter().copied().chain(std::iter::once(raw.len()));
    for end in ends {
        let end = end.clamp(at, raw.len());
        buf.extend_from_slice(&raw[at..end]);
        at = end;
        loop {
            let before = buf.len();
            match r.feed(&mut buf) {
                Ok(Step::More) => {
                    assert!(buf.len() <= before);
                    // More means nothing more can be done without input: asking again changes nothing
                    let again = buf.len();
                    match r.feed(&mut buf) {
                        Ok(Step::More) => {
                            assert_eq!(buf.len(), again, "More, then progress without input")
                        }
                        other => panic!("More, then {other:?} without input"),
                    }
                    break;
                }
                Ok(Step::Head) => {
                    heads += 1;
                    assert_eq!(heads, 1, "Head twice");
                }
                Ok(Step::Done(c)) => {
                    return Outcome::Ok {
                        head: c.head,
                        body: c.body.to_vec(),
                        reusable: c.reusable,
                    };
                }
                Err(e) => return Outcome::Err(e),
            }
        }
    }
    match r.eof(&mut buf) {
        Ok(Step::Done(c)) => Outcome::Ok {
            head: c.head,
            body: c.body.to_vec(),
            reusable: c.reusable,
        },
        Ok(other) => panic!("eof gave {other:?}"),
        Err(e) => Outcome::Err(e),
    }
}

fn whole(method: &str, raw: &[u8]) -> Outcome {
    drive(ctx(method), raw, &[])
}

fn get(raw: &[u8]) -> Outcome {
    whole("GET", raw)
}

/// Deterministic pseudo-random cut points.
fn cuts(len: usize, seed: u64, n: usize) -> Vec<usize> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut v: Vec<usize> = (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if len == 0 {
                0
            } else {
                (x >> 33) as usize % (len + 1)
            }
        })
        .collect();
    v.sort_unstable();
    v
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

struct Case {
    name: String,
    method: String,
    raw: Vec<u8>,
    v: serde_json::Value,
}

fn fixture() -> Vec<Case> {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/faults/expected_requests.json"
    ));
    let all: Vec<serde_json::Value> = serde_json::from_str(text).expect("fixture json");
    all.into_iter()
        .map(|v| {
            let raw = if let Some(r) = v["raw"].as_str() {
                b64(r)
            } else {
                let z = b64(v["raw_zlib"].as_str().expect("raw or raw_zlib"));
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(&z[..])
                    .read_to_end(&mut out)
                    .expect("raw_zlib");
                out
            };
            Case {
                name: v["name"].as_str().unwrap_or("?").to_owned(),
                method: v["method"].as_str().unwrap_or("GET").to_owned(),
                raw,
                v,
            }
        })
        .collect()
}

/// How the outcome differs from what Locust recorded (None: it matches).
fn mismatch(case: &Case, got: &Outcome) -> Option<String> {
    let v = &case.v;
    if let Some(raised) = v["raised"].as_str() {
        return match got {
            Outcome::Err(e) if e.repr() == raised => None,
            other => Some(format!("expected {raised} to escape, got {}", other.err())),
        };
    }
    let http_error = v["http_error"].as_bool().unwrap_or(false);
    if let Some(want) = v["error"].as_str()
        && !http_error
    {
        let Outcome::Err(e) = got else {
            return Some(format!("expected {want}, got {}", got.err()));
        };
        if e.reported().repr() != want {
            return Some(format!("expected {want}, got {}", got.err()));
        }
        // the exception requests raised, down its __context__ chain: class and repr at each level
        let mut mine = Vec::new();
        let mut at = Some(e);
        while let Some(x) = at {
            mine.push(format!("{} {}", x.class, x.repr()));
            at = x.context.as_deref();
        }
        let theirs: Vec<String> = v["chain"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        format!(
                            "{} {}",
                            p[0].as_str().unwrap_or(""),
                            p[1].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        return if mine == theirs {
            None
        } else {
            Some(format!("chain {mine:?} != {theirs:?}"))
        };
    }
    let Outcome::Ok { head, body, .. } = got else {
        return Some(format!("expected success, got {}", got.err()));
    };
    let mut diffs = Vec::new();
    if v["status"].as_u64() != Some(u64::from(head.status)) {
        diffs.push(format!("status {} != {}", head.status, v["status"]));
    }
    if v["len"].as_u64() != Some(body.len() as u64) {
        diffs.push(format!("len {} != {}", body.len(), v["len"]));
    }
    if let Some(b) = v["body_b64"].as_str() {
        if b64(b) != *body {
            diffs.push("body differs".into());
        }
    } else if let Some(h) = v["body_sha256"].as_str()
        && hex::encode(sha2::Sha256::digest(body)) != h
    {
        diffs.push("body (sha256) differs".into());
    }
    if v["reason"].as_str() != Some(&*head.reason) {
        diffs.push(format!("reason {:?} != {}", head.reason, v["reason"]));
    }
    if v["version"].as_u64() != Some(u64::from(head.version)) {
        diffs.push(format!("version {} != {}", head.version, v["version"]));
    }
    let want: Vec<(String, String)> = v["headers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap_or("").to_owned(),
                        p[1].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if want
        != head
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    {
        diffs.push(format!("headers {:?} != {:?}", head.headers, want));
    }
    if diffs.is_empty() {
        None
    } else {
        Some(diffs.join("; "))
    }
}

/// Cases whose outcome under Locust rlocust does not reproduce, with the reason. Keep it tiny.
const EXCEPTIONS: &[&str] = &[];

#[test]
fn every_fixture_case_reads_as_under_locust() {
    let cases = fixture();
    assert!(cases.len() > 800, "fixture has {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if EXCEPTIONS.contains(&case.name.as_str()) {
            continue;
        }
        let c = || {
            let mut c = ctx(&case.method);
            c.url = format!("/{}", case.name);
            c
        };
        let all = drive(c(), &case.raw, &[]);
        if let Some(m) = mismatch(case, &all) {
            failures.push(format!("{} {} (whole): {m}", case.method, case.name));
            continue;
        }
        // read again whole: a head kept by the first read (`memo`) is taken from there, and must read the same
        let again = drive(c(), &case.raw, &[]);
        if again != all || mismatch(case, &again).is_some() {
            failures.push(format!(
                "{} {} (whole, again): {}",
                case.method,
                case.name,
                again.err()
            ));
            continue;
        }
        let mut ways: Vec<(String, Vec<usize>)> = (1..=3)
            .map(|k| {
                (
                    format!("split {k}"),
                    cuts(case.raw.len(), (i * 7 + k) as u64, 1 + k * 3),
                )
            })
            .collect();
        if case.raw.len() <= 20_000 {
            ways.push(("bytewise".into(), (1..case.raw.len()).collect()));
        }
        for (how, cut) in ways {
            let got = drive(c(), &case.raw, &cut);
            if !got.same(&all) {
                let m =
                    mismatch(case, &got).unwrap_or_else(|| "differs from the whole read".into());
                failures.push(format!("{} {} ({how}): {m}", case.method, case.name));
            }
        }
    }
    let failed = cases
        .iter()
        .filter(|c| c.v["error"].is_string() && !c.v["http_error"].as_bool().unwrap_or(false))
        .count();
    eprintln!(
        "fixture: {} cases ({} failures under Locust), {} mismatches",
        cases.len(),
        failed,
        failures.len()
    );
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("MISMATCH {f}");
        }
        panic!("{} fixture reads differ from Locust", failures.len());
    }
}

// ---- focused cases (the fixture has them too; these pin the exception structure) ----

fn reported(raw: &[u8]) -> String {
    get(raw).err()
}

/// The classes down the `__context__` chain.
fn chain(e: &PyExc) -> Vec<&'static str> {
    let mut v = vec![e.class];
    let mut c = e.context.as_deref();
    while let Some(x) = c {
        v.push(x.class);
        c = x.context.as_deref();
    }
    v
}

#[test]
fn bad_status_lines() {
    assert_eq!(
        reported(b"garbage here\r\n\r\n"),
        r"BadStatusLine('garbage here\r\n')"
    );
    assert_eq!(
        reported(b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok"),
        r"BadStatusLine('HTTP/1.1 2x0 OK\r\n')"
    );
    assert_eq!(
        reported(b"just a body, no head"),
        "BadStatusLine('just a body, no head')"
    );
    assert_eq!(
        reported(b"HTTP/1 200 OK\r\n\r\n"),
        "UnknownProtocol('HTTP/1')"
    );
    assert_eq!(
        reported(b""),
        "RemoteDisconnected('Remote end closed connection without response')"
    );
    let Outcome::Err(e) = get(b"HTTP/1.1 2x0 OK\r\n\r\n") else {
        panic!()
    };
    assert_eq!(
        chain(&e),
        [
            "requests.exceptions.ConnectionError",
            "urllib3.exceptions.ProtocolError",
            "http.client.BadStatusLine",
            "builtins.ValueError"
        ]
    );
    assert_eq!(
        e.str_text(),
        r"('Connection aborted.', BadStatusLine('HTTP/1.1 2x0 OK\r\n'))"
    );
    let ve = e.reported().context.as_deref().map(PyExc::repr);
    assert_eq!(
        ve.as_deref(),
        Some(r#"ValueError("invalid literal for int() with base 10: '2x0'")"#)
    );
}

#[test]
fn truncated_bodies() {
    assert_eq!(
        reported(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
        "ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(5 bytes read, 5 more expected)', \
         IncompleteRead(5 bytes read, 5 more expected)))"
    );
    assert_eq!(
        reported(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nshort"),
        "ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(5 bytes read, 99999999999999999999994 \
         more expected)', IncompleteRead(5 bytes read, 99999999999999999999994 more expected)))"
    );
    let chunked = |body: &[u8]| {
        let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        raw.extend_from_slice(body);
        reported(&raw)
    };
    assert_eq!(
        chunked(b"a\r\nabc"),
        "ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(3 bytes read, 7 more expected)', \
         IncompleteRead(3 bytes read, 7 more expected)))"
    );
    assert_eq!(
        chunked(b"ffffffffffffffff\r\nabc\r\n"),
        "ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(5 bytes read, 10235 more expected)', \
         IncompleteRead(5 bytes read, 10235 more expected)))"
    );
    assert_eq!(
        chunked(b"3\r\nabc\r\n"),
        "ChunkedEncodingError(ProtocolError('Response ended prematurely'))"
    );
    assert_eq!(
        chunked(b"zz\r\nabc\r\n0\r\n\r\n"),
        "ChunkedEncodingError(ProtocolError(\"Connection broken: InvalidChunkLength(got length b'zz\\\\r\\\\n', 0 bytes \
         read)\", InvalidChunkLength(got length b'zz\\r\\n', 0 bytes read)))"
    );
    let Outcome::Err(e) = get(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort") else {
        panic!()
    };
    assert_eq!(
        chain(&e),
        [
            "requests.exceptions.ChunkedEncodingError",
            "urllib3.exceptions.ProtocolError",
            "urllib3.exceptions.IncompleteRead"
        ]
    );
    // a chunk size below -1 is http.client's ValueError, which escapes requests
    assert_eq!(
        chunked(b"-5\r\nhello\r\n0\r\n\r\n"),
        "ValueError('read length must be non-negative or -1')"
    );
}

#[test]
fn framing_headers() {
    assert_eq!(
        reported(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nabcd"),
        "InvalidHeader(InvalidHeader('Content-Length contained multiple unmatching values (2, 4)'))"
    );
    let (head, body, _) =
        get(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab").ok();
    assert_eq!((head.status, &body[..]), (200, &b"ab"[..]));
    for cl in ["-5", "abc"] {
        let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\nabcde");
        assert_eq!(get(raw.as_bytes()).ok().1, b"abcde");
    }
    assert_eq!(
        get(b"HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\nok")
            .ok()
            .1,
        b"ok"
    );
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
            .ok()
            .1,
        b"ok"
    );
    // a line without a colon ends the fields: the Content-Length after it is lost, the body runs to the close
    let (head, body, _) =
        get(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nno colon\r\nContent-Length: 2\r\n\r\nokEXTRA").ok();
    assert_eq!(head.headers.iter().collect::<Vec<_>>(), [("X-A", "1")]);
    assert_eq!(body, b"okEXTRA");
}

#[test]
fn content_codings() {
    let enc = |coding: &str, body: &[u8]| {
        let mut raw = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        get(&raw)
    };
    assert_eq!(
        enc("gzip", b"this is not gzip at all").err(),
        "ContentDecodingError(DecodeError('Received response with content-encoding: gzip, but failed to decode it.', \
         error('Error -3 while decompressing data: incorrect header check')))"
    );
    assert_eq!(
        enc("deflate", b"\xff\xfenot deflate").err(),
        "ContentDecodingError(DecodeError('Received response with content-encoding: deflate, but failed to decode it.', \
         error('Error -3 while decompressing data: invalid block type')))"
    );
    let text = b"hello world ".repeat(100);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &text).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(enc("gzip", &gz).ok().1, &text[..]);
    // cut by 20 bytes: what decodes is the body
    let cut = enc("gzip", &gz[..gz.len() - 20]);
    assert!(text.starts_with(&cut.ok().1));
}

#[test]
fn head_limits() {
    let mut raw = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 1 << 20));
    raw.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(
        reported(&raw),
        "LineTooLong('got more than 65536 bytes when reading header line')"
    );
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..10_000 {
        raw.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    assert_eq!(reported(&raw), "HTTPException('got more than 100 headers')");
}

#[test]
fn informational_responses() {
    let mut raw = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(100_000);
    raw.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let out = drive(ctx("GET"), &raw, &cuts(raw.len(), 1, 50));
    assert_eq!(out.ok().1, b"ok");
    // a 102 is final to http.client: no body, and what follows it is left over
    let raw = b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let (head, body, reusable) = get(raw).ok();
    assert_eq!((head.status, body.len(), reusable), (102, 0, false));
    let (head, _, reusable) = get(b"HTTP/1.1 102 Processing\r\n\r\n").ok();
    assert_eq!((head.status, reusable), (102, false));
    // 204 and 304 have no body whatever their headers say
    let (head, body, reusable) = get(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").ok();
    assert_eq!((head.status, body.len(), reusable), (204, 0, true));
}

#[test]
fn head_requests_have_no_body() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let mut r = PyReader::new(ctx("HEAD"));
    let mut buf = BytesMut::from(&raw[..]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
    let Ok(Step::Done(c)) = r.feed(&mut buf) else {
        panic!()
    };
    assert_eq!((c.head.status, c.body.len(), c.reusable), (200, 0, true));
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (_, body, reusable) = whole("HEAD", raw).ok();
    assert_eq!((body.len(), reusable), (0, true));
    let raw = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n";
    let (_, body, reusable) = whole("HEAD", raw).ok();
    assert_eq!((body.len(), reusable), (0, true));
    let raw = b"HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n";
    let (_, body, reusable) = whole("GET", raw).ok();
    assert_eq!((body.len(), reusable), (0, true));
    // the bodiless statuses still read urllib3's chunked framing on GET
    assert_eq!(
        reported(b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"),
        "ChunkedEncodingError(ProtocolError('Response ended prematurely'))"
    );
}

#[test]
fn reuse_follows_http_client() {
    let reusable = |raw: &[u8]| get(raw).ok().2;
    assert!(reusable(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    assert!(reusable(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    ));
    assert!(reusable(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    ));
    assert!(reusable(
        b"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"
    ));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    ));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\nok"
    ));
    assert!(!reusable(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    assert!(!reusable(b"HTTP/1.1 200 OK\r\n\r\nuntil close"));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"
    ));
    // trailers ended by the close, not by their blank line
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
    ));
}

#[test]
fn head_is_reported_before_the_body() {
    let mut r = PyReader::new(ctx("GET"));
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"[..]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::More)));
    buf.extend_from_slice(b"\r\nab");
    assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
    assert!(matches!(r.feed(&mut buf), Ok(Step::More)));
    assert!(buf.is_empty());
    buf.extend_from_slice(b"cd");
    let Ok(Step::Done(c)) = r.feed(&mut buf) else {
        panic!()
    };
    assert_eq!(&c.body[..], b"abcd");
    assert!(
        r.feed(&mut buf).is_err(),
        "a finished reader reads nothing more"
    );
    // the close completing the head gives Done, not Head
    let mut r = PyReader::new(ctx("GET"));
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\n\r\nbody"[..]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
    let mut r2 = PyReader::new(ctx("GET"));
    let mut buf2 = BytesMut::from(&b"HTTP/1.1 200 OK\r\nX: y"[..]);
    assert!(matches!(r2.feed(&mut buf2), Ok(Step::More)));
    let Ok(Step::Done(c)) = r2.eof(&mut buf2) else {
        panic!()
    };
    assert_eq!(c.head.headers.iter().collect::<Vec<_>>(), [("X", "y")]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::More)));
    assert!(matches!(r.eof(&mut buf), Ok(Step::Done(_))));
}

#[test]
fn socket_errors_and_timeouts() {
    let reset = std::io::Error::from_raw_os_error(libc::ECONNRESET);
    let pipe = std::io::Error::from_raw_os_error(libc::EPIPE);
    let mut r = PyReader::new(ctx("GET"));
    assert_eq!(
        r.io_error(&reset).reported().repr(),
        "ConnectionResetError(104, 'Connection reset by peer')"
    );
    assert_eq!(
        r.io_error(&pipe).reported().repr(),
        "BrokenPipeError(32, 'Broken pipe')"
    );
    assert_eq!(
        chain(&r.io_error(&reset)),
        [
            "requests.exceptions.ConnectionError",
            "urllib3.exceptions.ProtocolError",
            "builtins.ConnectionResetError"
        ]
    );
    assert_eq!(
        r.timeout().reported().repr(),
        "ReadTimeout(ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', port=43883): Read timed out. (read \
         timeout=2)\"))"
    );
    // in the head, requests' adapter raises with the request; urllib3's url is the path it was given
    let head_timeout = r.timeout();
    assert!(!said_no_request(&head_timeout));
    let Some(PyVal::Exc(rte)) = head_timeout.args.first() else {
        panic!("{head_timeout:?}")
    };
    assert!(rte.attrs.contains(&("url", PyVal::str("/path"))), "{rte:?}");
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n012"[..]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
    assert!(matches!(r.feed(&mut buf), Ok(Step::More)));
    assert_eq!(
        r.io_error(&reset).reported().repr(),
        "ChunkedEncodingError(ProtocolError(\"Connection broken: ConnectionResetError(104, 'Connection reset by \
         peer')\", ConnectionResetError(104, 'Connection reset by peer')))"
    );
    assert_eq!(
        r.io_error(&std::io::Error::from_raw_os_error(libc::ECONNABORTED))
            .reported()
            .repr(),
        "ChunkedEncodingError(ProtocolError(\"Connection broken: ConnectionAbortedError(103, 'Software caused \
         connection abort')\", ConnectionAbortedError(103, 'Software caused connection abort')))"
    );
    let t = r.timeout();
    assert_eq!(
        t.reported().repr(),
        "ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', port=43883): Read timed out.\")"
    );
    // in the body, iter_content raises without the request
    assert!(said_no_request(&t));
    assert!(said_no_request(&r.io_error(&reset)));
    assert_eq!(
        chain(&t),
        [
            "requests.exceptions.ConnectionError",
            "urllib3.exceptions.ReadTimeoutError",
            "builtins.TimeoutError"
        ]
    );
    // ETIMEDOUT is a socket.timeout to urllib3
    assert_eq!(
        r.io_error(&std::io::Error::from_raw_os_error(libc::ETIMEDOUT))
            .reported()
            .repr(),
        t.reported().repr()
    );
    let mut c = ctx("GET");
    c.read_timeout = Some("0.5".into());
    assert!(
        PyReader::new(c)
            .timeout()
            .reported()
            .repr()
            .ends_with("(read timeout=0.5)\"))")
    );
}

fn capped(limit: usize) -> Context {
    let mut c = ctx("GET");
    c.limits = Limits {
        max_body: limit,
        ..Limits::default()
    };
    c
}

#[test]
fn bodies_are_capped() {
    let too_large = body_too_large(Dialect::Requests, 1000).reported().repr();
    // fails as soon as the limit is crossed, before the rest arrives
    let mut r = PyReader::new(capped(1000));
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"[..]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
    buf.extend_from_slice(&[b'x'; 1000]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::More)));
    buf.extend_from_slice(b"x");
    assert_eq!(
        r.feed(&mut buf).err().map(|e| e.reported().repr()),
        Some(too_large.clone())
    );
    let body = |head: &str, body: &[u8]| {
        let mut raw = head.as_bytes().to_vec();
        raw.extend_from_slice(body);
        drive(capped(1000), &raw, &[]).err()
    };
    let big = vec![b'y'; 1001];
    assert_eq!(body("HTTP/1.1 200 OK\r\n\r\n", &big), too_large);
    assert_eq!(
        body(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n",
            &big
        ),
        too_large
    );
    assert!(body("HTTP/1.1 200 OK\r\n\r\n", &big[..1000]).starts_with("OK"));
    // a gzip bomb: small on the wire, large decoded
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![0u8; 1_000_000]).unwrap();
    let gz = gz.finish().unwrap();
    let too_large = body_too_large(Dialect::Requests, 2000).reported().repr();
    assert!(gz.len() < 2000);
    let bomb =
        |head: &str, body: &[u8]| drive(capped(2000), &[head.as_bytes(), body].concat(), &[]).err();
    for coding in ["gzip", "gzip, gzip", "deflate, gzip"] {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
            gz.len()
        );
        assert_eq!(bomb(&head, &gz), too_large, "{coding}");
    }
    let head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunked = [
        format!("{:x}\r\n", gz.len()).as_bytes(),
        &gz,
        b"\r\n0\r\n\r\n",
    ]
    .concat();
    assert_eq!(bomb(head, &chunked), too_large);
}

#[test]
fn python_ints() {
    let i10 =
        |s: &str| py_int10(s).map(|n| format!("{}{}", if n.neg { "-" } else { "" }, n.digits()));
    assert_eq!(i10(" +0_07 ").as_deref(), Ok("7"));
    assert_eq!(i10("\u{a0}5\u{85}").as_deref(), Ok("5"));
    assert_eq!(i10("-0").as_deref(), Ok("0"));
    for bad in ["", "_1", "1_", "1__2", "0x5", "\x1c5", "5\0", "+ 5", "5 5"] {
        assert_eq!(i10(bad), Err(IntErr::Invalid), "{bad:?}");
    }
    assert_eq!(i10(&"1".repeat(4301)), Err(IntErr::TooManyDigits(4301)));
    assert_eq!(py_int16(b" 0x_a\r\n"), Ok(ChunkSize::Positive(10)));
    assert_eq!(py_int16(b"-1"), Ok(ChunkSize::MinusOne));
    assert_eq!(py_int16(b"-0X2"), Ok(ChunkSize::Negative));
    assert_eq!(
        py_int16(b"ffffffffffffffffffff"),
        Ok(ChunkSize::Positive(u64::MAX))
    );
    for bad in [&b"0x"[..], b"00x5", b"", b"\r\n", b"5\x00", b"_5", b"5 5"] {
        assert_eq!(py_int16(bad), Err(()), "{bad:?}");
    }
    let int = |s: &str| py_int10(s).unwrap();
    let n = int("99999999999999999999999999999999999999999999");
    assert_eq!(n.minus(5), "99999999999999999999999999999999999999999994");
    let n = int("100000000000000000000000000000000000000000");
    assert_eq!(n.minus(1), "99999999999999999999999999999999999999999");
    assert_eq!(int("5").minus(11), "-6");
    // the magnitude held as a u64 up to its largest value, as digits past it; one value, one representation
    assert_eq!(
        i10("18446744073709551615").as_deref(),
        Ok("18446744073709551615")
    );
    assert_eq!(int("18446744073709551615").to_u64_saturating(), u64::MAX);
    assert_eq!(int("18446744073709551615").minus(1), "18446744073709551614");
    assert_eq!(
        i10("-18446744073709551616").as_deref(),
        Ok("-18446744073709551616")
    );
    assert_eq!(int("18446744073709551616").minus(1), "18446744073709551615");
    assert_eq!(int("1_8446744073709551616"), int("0018446744073709551616"));
    assert_ne!(int("18446744073709551616"), int("18446744073709551615"));
    assert_eq!(int("0"), PyInt::zero());
    assert!(int("-0_0").is_zero());
    assert_eq!(int("-5").to_u64_saturating(), 0);
}

#[test]
fn unfolding_matches_urllib3() {
    assert_eq!(unfold("a\r\n b"), "a b");
    assert_eq!(unfold("a  \r\n\t b"), "a b");
    assert_eq!(unfold("a\r\n \r\n b"), "a  b");
    assert_eq!(unfold("\r\n g"), " g");
    assert_eq!(unfold("a\r\nb"), "a\r\nb");
}

/// The common case's cost: `cargo test --release --lib wire::pyhttp::tests::speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed() {
    let head = "HTTP/1.1 200 OK\r\nDate: Sun, 22 Nov 2026 10:00:00 GMT\r\nServer: uvicorn\r\n\
                Content-Type: application/json\r\nCache-Control: no-cache\r\nX-Request-Id: 0123456789abcdef\r\n\
                Set-Cookie: session=abc; Path=/\r\nVary: Accept-Encoding\r\n";
    let body = vec![b'x'; 1024];
    let cl = [
        format!("{head}Content-Length: 1024\r\n\r\n").as_bytes(),
        &body,
    ]
    .concat();
    let ch = [
        format!("{head}Transfer-Encoding: chunked\r\n\r\n400\r\n").as_bytes(),
        &body,
        b"\r\n0\r\n\r\n",
    ]
    .concat();
    for (name, raw) in [("content-length", cl), ("chunked", ch)] {
        let n = 200_000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            let mut r = PyReader::new(ctx("GET"));
            let mut buf = BytesMut::from(&raw[..]);
            assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
            assert!(matches!(r.feed(&mut buf), Ok(Step::Done(_))));
        }
        eprintln!("{name}: {:?} per response", t.elapsed() / n);
    }
}

// ---- properties: no panic, progress, and the same outcome however the input is cut ----
mod props;

/// The exception says `request=None`, as requests' `iter_content` raises (see `errors::in_body`).
fn said_no_request(e: &PyExc) -> bool {
    e.attrs.contains(&("request", PyVal::None))
}

#[test]
fn a_head_seen_again_is_taken_from_the_memo_and_reads_the_same() {
    let nginx = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sat, 28 Nov 2026 23:00:00 GMT\r\n\
        Content-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nhello\n";
    let first = get(nginx);
    let head_len = nginx.len() - 6;
    assert!(super::memo::lookup(nginx, false).is_some_and(|(n, ..)| n == head_len));
    assert!(
        super::memo::lookup(nginx, true).is_none(),
        "a HEAD's framing is not a GET's"
    );
    let again = get(nginx);
    assert_eq!(again, first);
    let (_, body, reusable) = again.ok();
    assert_eq!((body.as_slice(), reusable), (&b"hello\n"[..], true));
    // the same bytes for a HEAD request: no body, the 6 bytes left unread
    let (head, body, _) = whole("HEAD", nginx).ok();
    assert_eq!((head.status, body.len()), (200, 0));
    // one byte different (the length): parsed anew
    let longer = String::from_utf8_lossy(nginx).replace("Length: 6", "Length: 7") + "!";
    let (_, body, _) = get(longer.as_bytes()).ok();
    assert_eq!(body, b"hello\n!");
    // a head ended by a bare LF before the first CRLF CRLF (which is in the body) is not kept
    let bare = b"HTTP/1.1 200 OK\nContent-Length: 4\n\nab\r\n\r\n";
    let (_, body, _) = get(bare).ok();
    assert_eq!(body, b"ab\r\n");
    assert!(super::memo::lookup(bare, false).is_none());
    assert_eq!(get(bare).ok().1, b"ab\r\n");
    // a final head after a 100 Continue is not kept
    let continued =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx";
    let (head, body, _) = get(continued).ok();
    assert_eq!((head.status, body.as_slice()), (201, &b"x"[..]));
    assert!(super::memo::lookup(&continued[25..], false).is_none());
}
