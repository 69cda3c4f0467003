//! Tests of the FastHttpUser reader: the harness the others share (a reader fed in given pieces, then the EOF),
//! and hand-written cases: broken and odd responses, heads and headers, reuse, HEAD, timeouts and socket errors,
//! the body limit, Locust's verdict on a status. The replay of the fixture recorded under real Locust is in
//! `fixture`, the property tests in `props`.
//!
//! Run by `cargo test`. Must not: need the network or any file but the fixture.
use super::super::Limits;
use super::*;

mod fixture;
mod props;

const URL: &str = "http://127.0.0.1:{PORT}";

fn ctx(method: &str, url: &str, max_body: usize) -> Context {
    Context {
        method: method.to_owned().into(),
        url: url.into(),
        pool: None,
        forwarded: false,
        read_timeout: None,
        limits: Limits {
            max_body,
            ..Limits::default()
        },
    }
}

/// The end of one exchange: the reader's result and the status of the head it reported, if it did.
struct Run {
    result: Result<Complete, PyExc>,
    /// The status when the reader reported the head (what Locust's status check sees).
    head: Option<u16>,
    /// The status the reader holds at the end (what `response.status_code` gives afterwards): 0 without a head.
    status_now: u16,
    /// Every piece was handed over before the end (otherwise the socket still holds unread bytes).
    all_read: bool,
}

/// Hands `raw` to a reader in the pieces `cuts` makes, as `conn` does, then the EOF.
fn run_cuts(raw: &[u8], cuts: &[usize], method: &str, max_body: usize) -> Run {
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < raw.len()));
    bounds.push(raw.len());
    let pieces: Vec<&[u8]> = bounds.windows(2).map(|w| &raw[w[0]..w[1]]).collect();
    run_pieces(&pieces, method, max_body)
}

fn run_pieces(pieces: &[&[u8]], method: &str, max_body: usize) -> Run {
    let mut r = LlReader::new(ctx(method, URL, max_body));
    let mut buf = BytesMut::new();
    let mut head = None;
    for (i, piece) in pieces.iter().enumerate() {
        buf.extend_from_slice(piece);
        let all_read = i + 1 == pieces.len();
        loop {
            match r.feed(&mut buf) {
                Ok(Step::More) => {
                    assert!(buf.is_empty(), "More with bytes left");
                    break;
                }
                Ok(Step::Head) => {
                    assert!(head.is_none(), "Head twice");
                    head = Some(r.head().map_or(0, |h| h.status));
                }
                Ok(Step::Done(c)) => {
                    let status_now = c.head.status;
                    return Run {
                        result: Ok(c),
                        head,
                        status_now,
                        all_read,
                    };
                }
                Err(e) => {
                    let status_now = if head.is_some() {
                        r.head().map_or(0, |h| h.status)
                    } else {
                        0
                    };
                    return Run {
                        result: Err(e),
                        head,
                        status_now,
                        all_read,
                    };
                }
            }
        }
    }
    let all_read = true;
    let result = match r.eof(&mut buf) {
        Ok(Step::Done(c)) => Ok(c),
        Ok(other) => panic!("eof gave {other:?}"),
        Err(e) => Err(e),
    };
    let status_now = match &result {
        Ok(c) => c.head.status,
        Err(_) if head.is_some() => r.head().map_or(0, |h| h.status),
        Err(_) => 0,
    };
    Run {
        result,
        head,
        status_now,
        all_read,
    }
}

const DEFAULT_MAX_BODY_FOR_TESTS: usize = super::super::DEFAULT_MAX_BODY;

fn all_at_once(raw: &[u8], method: &str) -> Result<Complete, PyExc> {
    run_cuts(raw, &[], method, DEFAULT_MAX_BODY_FOR_TESTS).result
}

fn failure(raw: &[u8], method: &str) -> String {
    match all_at_once(raw, method) {
        Ok(c) => panic!(
            "{:?} read without error: {} {:?}",
            String::from_utf8_lossy(raw),
            c.head.status,
            c.body
        ),
        Err(e) => e.repr(),
    }
}

fn gz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn with_body(extra: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

/// A damaged gzip body (from the generated responses) that zlib rejects with "invalid distance too far back".
const TOO_FAR_BACK: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x02\x03\x01\x32\x00\xcd\xff\xad\x54\xf8\x66\xbf\x3c\x1e\x6e\x36\xab\x33\xfd\x8a\xf4\x7c\x7f\xd5\xb9\x1f\x3e\xd4\xb9\x03\x40\x6c\xee\x2f\x2a\x25\x38\x61\xfc\x00\xd4\xc3\xe5\x8a\x92\x07\x94\xdb\x1e\x2c\xa6\x56\x0c\xc9\x7c\x70\x81\x11\xc1\xad\xbe\x32\x00\x00\x3a\x00";

#[test]
fn broken_responses_fail_as_under_locust() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis is not a header\r\nConnection: close\r\n\r\nok",
            "HTTPParseError('Invalid header token', 10)",
        ),
        (b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok", "HTTPParseError('Invalid status code', 13)"),
        (b"garbage here\r\n\r\n", "HTTPParseError('Expected HTTP/, RTSP/ or ICE/', 8)"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc", "HTTPParseError('Incomplete response.')"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "HTTPParseError('Incomplete response.')"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n",
            "HTTPParseError('Incomplete response.')",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
            "HTTPParseError('Chunk size overflow', 12)",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            "HTTPParseError('Invalid character in chunk size', 12)",
        ),
        (b"", "HTTPConnectionClosed('connection closed.')"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nabcd",
            "HTTPParseError('Duplicate Content-Length', 4)",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
            "HTTPParseError('Duplicate Content-Length', 4)",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nshort",
            "HTTPParseError('Content-Length overflow', 11)",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
            "HTTPParseError('Content-Length overflow', 11)",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nabcde", "HTTPParseError('Invalid character in Content-Length', 11)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabcde", "HTTPParseError('Invalid character in Content-Length', 11)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "HTTPParseError('Empty Content-Length', 11)"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nokEXTRA",
            "HTTPParseError('Data after `Connection: close`', 5)",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", "HTTPParseError('Expected HTTP/, RTSP/ or ICE/', 8)"),
        (
            b"HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\nok",
            "HTTPParseError('Missing expected CR after response line', 25)",
        ),
        (b"HTTP/1.1 200 OK\r\r\n", "HTTPParseError('Expected LF after CR', 2)"),
        (b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaa", "HTTPParseError('Invalid EOF state', 14)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "HTTPParseError('Incomplete response.')"),
        (b"HTTP/1.2 200 OK\r\n\r\n", "HTTPParseError('Invalid HTTP version', 9)"),
        (b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", "HTTPParseError('Unexpected whitespace after header value', 10)"),
        (b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n", "HTTPParseError('Invalid header token', 10)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", "HTTPParseError('Invalid header field char', 10)"),
        (b"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n", "HTTPParseError('Invalid header value char', 10)"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "HTTPParseError(\"Content-Length can't be present with Transfer-Encoding\", 11)",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTPParseError(\"Transfer-Encoding can't be present with Content-Length\", 15)",
        ),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "HTTPParseError('Pause on CONNECT/Upgrade', 22)"),
        (b"HTTP/1.1 100 Continue\r\n\r\n", "HTTPParseError('Incomplete response.')"),
        (b"\r\n\r\n", "HTTPParseError('connection closed before end of the headers')"),
        (b"HTTP/1.1 099 Odd\r\n\r\nbody", "HTTPParseError('connection closed after interim response')"),
        // an interim response without keep-alive closes the socket, and _read_headers reads on from it
        (b"HTTP/1.0 100 Continue\r\n\r\n", "OSError(9, 'Bad file descriptor')"),
        (&with_body("Content-Encoding: deflate\r\n", b"\xff\xfenot deflate"), "error('Error -3 while decompressing data: unknown compression method')"),
        (&with_body("Content-Encoding: gzip\r\n", b"this is not gzip at all"), "error('Error -3 while decompressing data: incorrect header check')"),
        (
            &with_body("Content-Encoding: gzip\r\n", &gz(&b"hello world ".repeat(100))[..40]),
            "error('Error -5 while decompressing data: incomplete or truncated stream')",
        ),
        (&with_body("Content-Encoding: gzip\r\n", b""), "error('Error -5 while decompressing data: incomplete or truncated stream')"),
        (&with_body("Content-Encoding: x-zip\r\n", b"abc"), "ValueError('Unknown content encoding: x-zip')"),
        (&with_body("Content-Encoding: gzip \r\n", b"abc"), "ValueError('Unknown content encoding: gzip ')"),
        (&with_body("Content-Encoding: compress\r\n", b"abc"), "ValueError('Compression type not supported: compress')"),
        (&with_body("Content-Encoding: br\r\n", b""), "error('brotli: decoder failed')"),
        // zlib's own message, where zlib-rs's fast loop would say "repeated call with bad state"
        (
            &with_body("Content-Encoding: GZIP\r\n", TOO_FAR_BACK),
            "error('Error -3 while decompressing data: invalid distance too far back')",
        ),
    ];
    let mut bad = Vec::new();
    for (raw, want) in cases {
        // bytes after the end of a response count only when they arrive with it
        let byte_by_byte = !raw.ends_with(b"EXTRA");
        for cuts in [vec![], (1..raw.len()).collect::<Vec<_>>()] {
            if !cuts.is_empty() && !byte_by_byte {
                continue;
            }
            let got = match run_cuts(raw, &cuts, "GET", DEFAULT_MAX_BODY_FOR_TESTS).result {
                Ok(c) => format!("success {} {:?}", c.head.status, c.body),
                Err(e) => e.repr(),
            };
            if got != *want {
                bad.push(format!(
                    "{:?} (cuts {}): want {want}, got {got}",
                    String::from_utf8_lossy(raw),
                    cuts.len()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    // the classes the Python side builds
    let e = all_at_once(b"HTTP/1.1 2x0 OK\r\n\r\n", "GET").unwrap_err();
    assert_eq!(e.class, "geventhttpclient._parser.HTTPParseError");
    assert_eq!(
        e.args,
        vec![PyVal::str("Invalid status code"), PyVal::int(13)]
    );
    assert_eq!(
        all_at_once(b"", "GET").unwrap_err().class,
        "geventhttpclient.response.HTTPConnectionClosed"
    );
    let z = all_at_once(
        &with_body("Content-Encoding: deflate\r\n", b"\xff\xfe"),
        "GET",
    )
    .unwrap_err();
    assert_eq!(z.class, "zlib.error");
    assert_eq!(
        z.context.as_deref().map(PyExc::repr).as_deref(),
        Some("error('Error -3 while decompressing data: invalid block type')")
    );
    assert!(!recorded_by_locust(
        &all_at_once(&with_body("Content-Encoding: x\r\n", b""), "GET").unwrap_err()
    ));
    assert!(recorded_by_locust(&z));
}

#[test]
fn odd_but_valid_responses_read_as_under_locust() {
    let ok = |raw: &[u8], status: u16, body: &[u8]| {
        for cuts in [vec![], (1..raw.len()).collect::<Vec<_>>()] {
            let c = run_cuts(raw, &cuts, "GET", DEFAULT_MAX_BODY_FOR_TESTS)
                .result
                .unwrap_or_else(|e| panic!("{:?}: {}", String::from_utf8_lossy(raw), e.repr()));
            assert_eq!(
                (c.head.status, &c.body[..]),
                (status, body),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    };
    ok(
        b"HTTP/1.1 999 Weird\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        999,
        b"ok",
    );
    ok(b"HTTP/1.0 200 OK\r\n\r\nold style", 200, b"old style");
    ok(b"HTTP/1.1 200 OK\r\n\r\nuntil close", 200, b"until close");
    ok(b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", 200, b"ok");
    ok(b"ICE/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, b"ok");
    ok(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        200,
        b"abc",
    );
    ok(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=\"q\"\r\nhello\r\n0\r\nT: 1\r\n\r\n", 200, b"hello");
    ok(
        &with_body("Content-Encoding: gzip\r\n", &gz(b"hello gzip")),
        200,
        b"hello gzip",
    );
    ok(
        &with_body("Content-Encoding: GZIP\r\n", &gz(b"hello gzip")),
        200,
        b"hello gzip",
    );
    // interim responses are skipped, however many
    let mut flood = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(1000);
    flood.extend_from_slice(
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
    );
    flood.extend(with_body("", b"ok"));
    let c = all_at_once(&flood, "GET").unwrap();
    assert_eq!((c.head.status, &c.body[..]), (200, &b"ok"[..]));
    // after an interim response read() returns what the head's blocks brought: the rest of the body is not read
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab";
    let run = run_pieces(&[raw, b"cd"], "GET", DEFAULT_MAX_BODY_FOR_TESTS);
    let c = run.result.unwrap();
    assert_eq!((&c.body[..], c.reusable), (&b"ab"[..], false));
}

#[test]
fn heads_and_headers_are_kept_as_geventhttpclient_keeps_them() {
    let raw = b"HTTP/1.1 200 \xe9t\xe9\r\nX-Empty:\r\nB: c\r\nD:   \r\nE: \xff\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n";
    let c = all_at_once(raw, "GET").unwrap();
    assert_eq!(c.head.reason, "\u{e9}t\u{e9}");
    assert_eq!(c.head.version, 11);
    let h: Vec<(&str, &str)> = c.head.headers.iter().collect();
    assert_eq!(
        h,
        [
            ("X-Empty", ""),
            ("B", "c"),
            ("D", ""),
            ("E", "\u{ff}"),
            ("Set-Cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("Content-Length", "0")
        ]
    );
    assert!(c.reusable);
    // the reason is the last piece llhttp reported (a status line cut in two keeps its second half)
    let run = run_pieces(
        &[b"HTTP/1.1 200 O", b"K\r\nContent-Length: 0\r\n\r\n"],
        "GET",
        DEFAULT_MAX_BODY_FOR_TESTS,
    );
    assert_eq!(run.result.unwrap().head.reason, "K");
    // trailers are flushed one late: all but the last join the headers
    let c = all_at_once(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n\r\n",
        "GET",
    )
    .unwrap();
    let names: Vec<&str> = c.head.headers.iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Transfer-Encoding", "A"]);
    // HTTP/1.0 and HTTP/2.0 have no keep-alive without the header
    assert_eq!(
        all_at_once(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "GET")
            .unwrap()
            .head
            .version,
        10
    );
    assert!(
        !all_at_once(b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", "GET")
            .unwrap()
            .reusable
    );
    assert!(
        all_at_once(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            "GET"
        )
        .unwrap()
        .reusable
    );
}

#[test]
fn reuse_follows_keep_alive_and_leftovers() {
    let reusable = |raw: &[u8]| all_at_once(raw, "GET").map(|c| c.reusable).unwrap_or(false);
    assert!(reusable(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    assert!(reusable(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n"
    ));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    ));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: close\t\r\nContent-Length: 2\r\n\r\nok"
    ));
    assert!(!reusable(b"HTTP/1.1 200 OK\r\n\r\nuntil close"));
    // bytes in the same 4096-byte block as the end are parsed: a pipelined response begun is read on
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
    let mut raw = head.to_vec();
    raw.extend(std::iter::repeat_n(b'x', 5000));
    raw.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    assert_eq!(
        failure(&raw, "GET"),
        "HTTPParseError('Invalid EOF state', 14)"
    );
    // bytes of a later block stay in the buffer, unread: no reuse
    let head_len = "HTTP/1.1 200 OK\r\nContent-Length: 00000\r\n\r\n".len();
    let body_len = 2 * BLOCK - head_len;
    let mut raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {body_len:05}\r\n\r\n").into_bytes();
    assert_eq!(
        raw.len() + body_len,
        2 * BLOCK,
        "the body ends with the second block"
    );
    raw.extend(std::iter::repeat_n(b'x', body_len));
    raw.extend_from_slice(b"EXTRA");
    let mut r = LlReader::new(ctx("GET", URL, DEFAULT_MAX_BODY_FOR_TESTS));
    let mut buf = BytesMut::from(&raw[..]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
    let Ok(Step::Done(c)) = r.feed(&mut buf) else {
        panic!("not done")
    };
    assert_eq!(c.body.len(), body_len);
    assert!(!c.reusable);
    assert_eq!(&buf[..], b"EXTRA");
}

#[test]
fn head_requests_skip_the_body_and_drop_what_follows() {
    let c = all_at_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD").unwrap();
    assert_eq!((c.head.status, c.body.len(), c.reusable), (200, 0, true));
    assert_eq!(c.head.get("content-length"), Some("5"));
    // a body that came anyway is parsed as the next response, fails, and is dropped with the connection
    // (geventhttpclient's HEAD override); the failed restart cleared the headers
    let c = all_at_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "HEAD").unwrap();
    assert_eq!(
        (
            c.head.status,
            c.body.len(),
            c.reusable,
            c.head.headers.len()
        ),
        (200, 0, false, 0)
    );
    // it arriving later is never read
    let run = run_pieces(
        &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"hello"],
        "HEAD",
        DEFAULT_MAX_BODY_FOR_TESTS,
    );
    assert_eq!(run.result.unwrap().head.headers.len(), 1);
    // an empty gzip body does not decompress
    assert_eq!(
        all_at_once(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 50\r\n\r\n",
            "HEAD"
        )
        .unwrap_err()
        .repr(),
        "error('Error -5 while decompressing data: incomplete or truncated stream')"
    );
}

#[test]
fn timeouts_and_socket_errors_read_as_under_locust() {
    let url = "http://127.0.0.1:8089/slow";
    let mut r = LlReader::new(ctx("GET", url, DEFAULT_MAX_BODY_FOR_TESTS));
    let reset = std::io::Error::from_raw_os_error(libc::ECONNRESET);
    let pipe = std::io::Error::from_raw_os_error(libc::EPIPE);
    // nothing received yet
    assert_eq!(
        r.timeout().repr(),
        format!("RetriesExceeded('{url}', 0, original=timed out)")
    );
    assert_eq!(
        r.timeout().class,
        "geventhttpclient.useragent.RetriesExceeded"
    );
    assert_eq!(
        r.io_error(&reset).repr(),
        "HTTPConnectionClosed('connection closed.')"
    );
    assert_eq!(
        r.io_error(&std::io::Error::from(std::io::ErrorKind::ConnectionReset))
            .repr(),
        "HTTPConnectionClosed('connection closed.')"
    );
    assert_eq!(
        r.io_error(&pipe).repr(),
        format!("RetriesExceeded('{url}', 0, original=[Errno 32] Broken pipe)")
    );
    // part of the head
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Le"[..]);
    assert!(matches!(r.feed(&mut buf), Ok(Step::More)));
    assert!(r.head().is_none());
    assert_eq!(
        r.timeout().repr(),
        format!("RetriesExceeded('{url}', 0, original=timed out)")
    );
    assert_eq!(
        r.io_error(&reset).repr(),
        "ConnectionResetError(104, 'Connection reset by peer')"
    );
    assert_eq!(r.io_error(&reset).class, "builtins.ConnectionResetError");
    // the head, part of the body
    buf.extend_from_slice(b"ngth: 10\r\n\r\n01234");
    assert!(matches!(r.feed(&mut buf), Ok(Step::Head)));
    assert_eq!(
        r.head().map(|h| (h.status, h.get("content-length"))),
        Some((200, Some("10")))
    );
    assert!(matches!(r.feed(&mut buf), Ok(Step::More)));
    assert_eq!(r.timeout().repr(), "TimeoutError('timed out')");
    assert_eq!(
        r.io_error(&reset).repr(),
        "ConnectionResetError(104, 'Connection reset by peer')"
    );
    assert_eq!(
        r.io_error(&pipe).repr(),
        "BrokenPipeError(32, 'Broken pipe')"
    );
    assert_eq!(
        r.io_error(&std::io::Error::from_raw_os_error(libc::ETIMEDOUT))
            .repr(),
        "TimeoutError(110, 'Connection timed out')"
    );
    assert_eq!(
        r.eof(&mut buf).unwrap_err().repr(),
        "HTTPParseError('Incomplete response.')"
    );
    // an error sticks; the head stays (Locust reports its status with the error)
    assert_eq!(
        r.feed(&mut buf).unwrap_err().repr(),
        "HTTPParseError('Incomplete response.')"
    );
    assert_eq!(r.head().map(|h| h.status), Some(200));
    assert_eq!(
        errno_exc(libc::ECONNREFUSED).repr(),
        "ConnectionRefusedError(111, 'Connection refused')"
    );
    assert_eq!(
        errno_exc(libc::EBADF).repr(),
        "OSError(9, 'Bad file descriptor')"
    );
}

#[test]
fn memory_is_bounded_by_the_body_limit() {
    let too_large = body_too_large(Dialect::Fast, 1000).repr();
    let cap = |raw: &[u8]| match run_cuts(raw, &[], "GET", 1000).result {
        Ok(c) => format!("ok {}", c.body.len()),
        Err(e) => e.repr(),
    };
    // head and body together (header names and values, body bytes)
    assert_eq!(cap(&with_body("", &[b'x'; 800])), "ok 800");
    assert_eq!(cap(&with_body("", &[b'x'; 990])), too_large);
    assert_eq!(cap(&with_body("", &[b'x'; 1001])), too_large);
    let mut endless = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    endless.extend(std::iter::repeat_n(b'x', 5000));
    assert_eq!(cap(&endless), too_large);
    let mut header = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    header.extend(std::iter::repeat_n(b'a', 5000));
    header.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(cap(&header), too_large);
    // each kept header counts with what it costs to keep
    let mut flood = b"HTTP/1.1 200 OK\r\n".to_vec();
    flood.extend(b"a:\r\n".repeat(20));
    flood.extend_from_slice(b"\r\n");
    assert_eq!(cap(&flood), too_large);
    let bomb = gz(&vec![0u8; 100_000]);
    assert!(bomb.len() < 500);
    assert_eq!(
        cap(&with_body("Content-Encoding: gzip\r\n", &bomb)),
        too_large
    );
    assert_eq!(
        run_cuts(&with_body("", &[b'x'; 1001]), &[], "GET", 1000)
            .result
            .unwrap_err()
            .class,
        "locust._ffi.FastResponseTooLarge"
    );
}

#[test]
fn locust_verdict_on_a_status_it_does_not_accept() {
    assert_eq!(
        locust_bad_status(URL, 404, b"not found").repr(),
        "LocustBadStatusCode(code=404)"
    );
    assert!(recorded_by_locust(&locust_bad_status(URL, 404, b"")));
    let e = locust_bad_status(URL, 500, b"ab\xffc");
    assert_eq!(
        e.repr(),
        "UnicodeDecodeError('utf-8', b'ab\\xffc', 2, 3, 'invalid start byte')"
    );
    assert!(!recorded_by_locust(&e));
    assert_eq!(
        locust_bad_status(URL, 500, b"a\xe2\x82").repr(),
        "UnicodeDecodeError('utf-8', b'a\\xe2\\x82', 1, 3, 'unexpected end of data')"
    );
    assert_eq!(
        locust_bad_status(URL, 500, b"\xe2(x").repr(),
        "UnicodeDecodeError('utf-8', b'\\xe2(x', 0, 1, 'invalid continuation byte')"
    );
}
