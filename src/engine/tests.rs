//! The request life cycle without Python: jobs queued and flushed as the hub does, run against the loopback
//! target (`crate::target`) or a raw loopback server, their completions drained from the bridge.
use super::*;
use crate::bridge::{Completion, Drained};
use crate::http::{Flavor, Timeouts};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

struct Rig {
    submitter: Submitter,
    http: Arc<http::Engine>,
    stats: Arc<RequestStats>,
    bridge: Arc<Bridge>,
}

fn rig() -> Rig {
    let http = http::Engine::new(
        tokio::runtime::Handle::current(),
        http::wire::DEFAULT_MAX_BODY,
    );
    let stats = Arc::new(RequestStats::new());
    let bridge = Arc::new(Bridge::new().unwrap());
    Rig {
        submitter: Submitter::new(http.clone(), stats.clone(), bridge.clone()),
        http,
        stats,
        bridge,
    }
}

/// The loopback target, serving until the test's runtime ends; returns its base URL.
async fn target() -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(crate::target::serve(listener));
    url
}

/// A loopback server that answers every request on every connection with `answer`.
async fn raw_server(answer: &'static [u8]) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut b = [0u8; 1024];
                loop {
                    let n = sock.read(&mut b).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&b[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        seen.clear();
                        if sock.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    url
}

fn call(url: &Url, flavor: Flavor, recorded: bool) -> (RequestSpec, CallMeta) {
    let spec = RequestSpec {
        method: ::http::Method::GET,
        url: url.clone(),
        headers: Default::default(),
        header_fault: None,
        no_host: false,
        body: None,
        timeouts: Timeouts {
            connect: Some(Duration::from_secs(5)),
            read: Some(Duration::from_secs(5)),
        },
        timeout_texts: ("5".into(), Some("5".into())),
        allow_redirects: true,
        max_redirects: 30,
        verify: true,
        extra_cookies: Vec::new(),
        retries_on_close: 0,
        max_body: http::wire::DEFAULT_MAX_BODY,
        proxy: None,
        tls: None,
        http2: false,
        stream: false,
    };
    let meta = CallMeta {
        flavor,
        method_label: "GET".into(),
        name: http::path_url(url),
        request_url: url.clone(),
        request_body: None,
        recorded,
        stream: false,
        pacing_ms: None,
        trace: None,
    };
    (spec, meta)
}

/// Queue one call of `url` for a fresh user.
fn queue(rig: &Rig, url: &Url, flavor: Flavor, recorded: bool) -> Queued {
    let (spec, meta) = call(url, flavor, recorded);
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta))
}

/// Drain the bridge (as the hub does when its fd is readable) until `n` completions arrived; bounded.
async fn completions(bridge: &Bridge, n: usize) -> Vec<Completion> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut batch = Drained::new();
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} completions arrived",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
        bridge.drain_into(&mut batch);
        assert!(batch.commands.is_empty());
        got.append(&mut batch.completions);
    }
    got
}

fn row(stats: &RequestStats, name: &str) -> Option<(u64, u64)> {
    let snap = stats.snapshot();
    snap.entries
        .iter()
        .find(|e| e.name == name && e.method == "GET")
        .map(|e| (e.totals.num_requests, e.totals.num_failures))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_carry_their_tickets_and_are_recorded_with_the_default_rule() {
    let rig = rig();
    let base = target().await;
    let ok = queue(&rig, &base.join("/hello").unwrap(), Flavor::Requests, true);
    let bad = queue(
        &rig,
        &base.join("/status/500").unwrap(),
        Flavor::Requests,
        true,
    );
    assert!(ok.opens_batch && !bad.opens_batch, "{ok:?} {bad:?}");
    assert_ne!(ok.ticket, bad.ticket);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        rig.bridge.drain().is_empty(),
        "nothing runs before the flush"
    );
    assert_eq!(rig.submitter.flush(), 2);
    assert_eq!(rig.submitter.flush(), 0, "a flush takes the batch");

    let mut done = completions(&rig.bridge, 2).await;
    done.sort_by_key(|c| c.ticket);
    let (first, second) = (&done[0], &done[1]);
    assert_eq!(first.ticket, ok.ticket);
    assert_eq!(first.done.outcome.response.as_ref().unwrap().status, 200);
    assert_eq!(
        &first.done.outcome.response.as_ref().unwrap().body[..],
        b"Hello!"
    );
    assert_eq!(first.done.failure, None);
    assert_eq!(second.ticket, bad.ticket);
    assert_eq!(
        second.done.failure.as_deref(),
        Some("HTTPError('500 Server Error: Internal Server Error for url: /status/500')")
    );
    assert_eq!(row(&rig.stats, "/hello"), Some((1, 0)));
    assert_eq!(row(&rig.stats, "/status/500"), Some((1, 1)));
    let snap = rig.stats.snapshot();
    assert_eq!(snap.total.totals.num_requests, 2);
    assert_eq!(snap.errors.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_caller_records_itself_completes_unrecorded() {
    let rig = rig();
    let base = target().await;
    let q = queue(
        &rig,
        &base.join("/status/404").unwrap(),
        Flavor::Requests,
        false,
    );
    rig.submitter.flush();
    let done = completions(&rig.bridge, 1).await;
    assert_eq!(done[0].ticket, q.ticket);
    assert!(
        done[0].done.failure.is_some(),
        "the verdict still travels to the hub"
    );
    assert_eq!(rig.stats.snapshot().total.totals.num_requests, 0);
    assert!(rig.stats.snapshot().errors.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_that_escapes_into_the_task_is_no_request_in_the_stats() {
    // FastHttpUser decodes a refused status's body for its debug text: a body that is not UTF-8 raises
    // UnicodeDecodeError out of the call instead of recording a failure
    let rig = rig();
    let url = raw_server(b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\n\xff\xfe").await;
    let q = queue(&rig, &url, Flavor::Fast, true);
    rig.submitter.flush();
    let done = completions(&rig.bridge, 1).await;
    assert_eq!(done[0].ticket, q.ticket);
    assert!(http::escaping_error(&done[0].done.outcome, &done[0].done.meta).is_some());
    assert_eq!(done[0].done.failure, None);
    assert_eq!(rig.stats.snapshot().total.totals.num_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_execution_completes_the_ticket_as_a_recorded_failure() {
    let rig = rig();
    let url = Url::parse("http://127.0.0.1:9/boom").unwrap();
    let (_, meta) = call(&url, Flavor::Requests, true);
    let ticket = rig.bridge.next_ticket();
    let recorder = record::Recorder::new(rig.stats.clone());
    let bridge = rig.bridge.clone();
    tokio::spawn(async move {
        // what a driver does with an execution that panics
        let ended = AssertUnwindSafe(async { panic!("engine bug") })
            .catch_unwind()
            .await;
        complete(ticket, outcome_of(ended), meta, &recorder, &bridge);
    })
    .await
    .unwrap();
    let done = completions(&rig.bridge, 1).await;
    assert_eq!(done[0].ticket, ticket);
    assert!(matches!(
        &done[0].done.outcome.error,
        Some(HttpError::Internal(m)) if m == "engine bug"
    ));
    assert!(done[0].done.failure.is_some());
    assert_eq!(row(&rig.stats, "/boom"), Some((1, 1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_recorded_failure_and_the_user_keeps_its_cookies() {
    let rig = rig();
    let base = target().await;
    let client = rig.http.user_client();
    let (spec, meta) = call(
        &base.join("/set-cookie?k=v").unwrap(),
        Flavor::Requests,
        true,
    );
    rig.submitter.queue(Job::new(&client, spec, meta));
    // a port nothing listens on (the target's own listener was bound on another)
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Url::parse(&format!("http://{}/gone", l.local_addr().unwrap())).unwrap()
    };
    queue(&rig, &closed, Flavor::Requests, true);
    rig.submitter.flush();
    completions(&rig.bridge, 2).await;
    let (n, failures) = row(&rig.stats, "/gone").unwrap();
    assert_eq!((n, failures), (1, 1));
    let jar = client.jar.lock();
    assert_eq!(
        jar.iter_unexpired()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect::<Vec<_>>(),
        [("k".to_string(), "v".to_string())],
        "the job updated the user's own jar"
    );
}

/// A loopback server whose every response sends its head at once and its 5-byte body `delay` later.
async fn slow_body_server(delay: Duration) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut b = [0u8; 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut b).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&b[..n]);
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
                    .await;
                tokio::time::sleep(delay).await;
                let _ = sock.write_all(b"hello").await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_records_a_streamed_call_at_its_head_and_hands_that_time_to_the_hub() {
    let rig = rig();
    let base = slow_body_server(Duration::from_millis(300)).await;
    let (whole, streamed) = (base.join("whole").unwrap(), base.join("streamed").unwrap());
    let (spec, meta) = call(&whole, Flavor::Requests, true);
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta));
    let (mut spec, mut meta) = call(&streamed, Flavor::Requests, true);
    spec.stream = true;
    meta.stream = true;
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta));
    rig.submitter.flush();
    let done = completions(&rig.bridge, 2).await;
    let snap = rig.stats.snapshot();
    for c in &done {
        let e = snap
            .entries
            .iter()
            .find(|e| e.name == c.done.meta.name)
            .unwrap();
        // the row holds exactly the time the hub was handed
        assert_eq!(e.totals.total_response_time, c.done.response_time_ms);
        let t = &c.done.outcome.timings;
        let hop = &t.hop;
        assert!(hop.head.is_some() && t.head_ms() <= t.response_ms());
        // each call opened its connection (plain HTTP: no TLS)
        let setup = hop.setup.unwrap();
        assert!(setup.connected >= t.start && setup.connected <= hop.head.unwrap());
        assert!(setup.secured.is_none());
        if c.done.meta.stream {
            assert!(
                c.done.response_time_ms < 250.0,
                "{}",
                c.done.response_time_ms
            );
            assert_eq!(c.done.response_time_ms, t.head_ms());
            // it returned at the head, before the body's first byte
            assert!(hop.first_byte.is_none());
        } else {
            assert!(
                c.done.response_time_ms >= 290.0,
                "{}",
                c.done.response_time_ms
            );
            assert_eq!(c.done.response_time_ms, t.response_ms());
            let gap = hop.first_byte.unwrap() - hop.head.unwrap();
            assert!(gap >= Duration::from_millis(290), "{gap:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_on_a_reused_connection_has_no_setup_and_its_body_arrives_with_its_head() {
    let rig = rig();
    let url = target().await;
    let client = rig.http.user_client();
    for round in 0..2 {
        let (spec, meta) = call(&url, Flavor::Requests, true);
        rig.submitter.queue(Job::new(&client, spec, meta));
        rig.submitter.flush();
        let done = completions(&rig.bridge, 1).await;
        let t = &done[0].done.outcome.timings;
        assert_eq!(t.hop.setup.is_some(), round == 0, "round {round}");
        assert!(
            t.hop.head.is_some() && t.hop.first_byte == t.hop.head,
            "round {round}: {t:?}"
        );
    }
}

/// A POST of an OpenAI-style streaming request to the target's `path` (with its query's schedule).
fn llm_call(base: &Url, path: &str, flavor: Flavor, stream: bool) -> (RequestSpec, CallMeta) {
    let url = base.join(path).unwrap();
    let (mut spec, mut meta) = call(&url, flavor, true);
    spec.method = ::http::Method::POST;
    spec.body = Some(bytes::Bytes::from_static(
        br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
    ));
    spec.stream = stream;
    meta.stream = stream;
    meta.method_label = "POST".into();
    meta.name = "chat".into();
    (spec, meta)
}

fn metric(stats: &RequestStats, metric: &str) -> Option<crate::stats::MetricSnapshot> {
    stats
        .snapshot()
        .metrics
        .into_iter()
        .find(|m| m.metric() == metric && m.name() == "chat")
}

/// Read a feed to its end as a slow locustfile would, with the hub's waits; the pieces joined, or the failure.
async fn read_feed(feed: &http::Feed) -> Result<Vec<u8>, HttpError> {
    use crate::http::feed::Next;
    let mut body = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the feed never ended");
        // (what comes while nothing is there goes to the waiter, as it goes to a parked user)
        let (tx, rx) = std::sync::mpsc::channel();
        let next = match feed.next(move |n| tx.send(n).unwrap()) {
            Some(n) => n,
            None => loop {
                if let Ok(n) = rx.try_recv() {
                    break n;
                }
                assert!(Instant::now() < deadline, "the feed never ended");
                tokio::time::sleep(Duration::from_millis(2)).await;
            },
        };
        match next {
            Next::Piece(p) => body.extend_from_slice(&p),
            Next::End => return Ok(body),
            Next::Failed(e) => return Err(e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_timed_at_the_wire_however_late_the_locustfile_reads_it() {
    let rig = rig();
    let base = target().await;
    let (spec, meta) = llm_call(
        &base,
        "/v1/chat/completions?ttft_ms=80&itl_ms=30&tokens=5",
        Flavor::Requests,
        true,
    );
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta));
    rig.submitter.flush();
    let done = completions(&rig.bridge, 1).await;
    let c = &done[0].done;
    // the call returned at the head, before the first token, and its row is timed there
    assert!(c.response_time_ms < 60.0, "{}", c.response_time_ms);
    let feed = c.feed.clone().expect("a streamed call hands over its feed");
    // the locustfile is busy for longer than the whole stream takes: its stamps do not move
    tokio::time::sleep(Duration::from_millis(400)).await;
    let body = String::from_utf8(read_feed(&feed).await.unwrap()).unwrap();
    assert_eq!(body.matches("\"content\":\"tok \"").count(), 5, "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"));
    let ttft = metric(&rig.stats, "ttft").unwrap();
    assert_eq!(ttft.count(), 1);
    let v = ttft.row.percentile(0.5);
    assert!((79.0..100.0).contains(&v), "ttft {v}");
    let itl = metric(&rig.stats, "itl").unwrap();
    assert_eq!(itl.count(), 4);
    for p in [0.0, 1.0] {
        let v = itl.row.percentile(p);
        assert!((20.0..40.0).contains(&v), "itl {v}");
    }
    let e2e = metric(&rig.stats, "e2e").unwrap().row.percentile(0.5);
    assert!((199.0..260.0).contains(&e2e), "e2e {e2e}");
    assert_eq!(
        metric(&rig.stats, "output_tokens")
            .unwrap()
            .row
            .percentile(0.5),
        5.0
    );
    let tpot = metric(&rig.stats, "tpot").unwrap().row.percentile(0.5);
    assert!((tpot - (e2e - v) / 4.0).abs() < 0.5, "tpot {tpot}");
    // metric values are never requests
    assert_eq!(rig.stats.snapshot().total.totals.num_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_read_whole_is_timed_too_by_both_clients() {
    let rig = rig();
    let base = target().await;
    for flavor in [Flavor::Requests, Flavor::Fast] {
        let (spec, meta) = llm_call(
            &base,
            "/v1/completions?ttft_ms=40&itl_ms=20&tokens=3",
            flavor,
            false,
        );
        rig.submitter
            .queue(Job::new(&rig.http.user_client(), spec, meta));
    }
    rig.submitter.flush();
    let done = completions(&rig.bridge, 2).await;
    assert!(done.iter().all(|c| c.done.feed.is_none()));
    let ttft = metric(&rig.stats, "ttft").unwrap();
    assert_eq!(ttft.count(), 2, "one per flavor");
    assert!(ttft.row.percentile(0.0) >= 39.0);
    assert_eq!(metric(&rig.stats, "itl").unwrap().count(), 4);
    assert_eq!(metric(&rig.stats, "output_tokens").unwrap().count(), 2);
    // whole, the request rows are timed to the end, as Locust times them
    let snap = rig.stats.snapshot();
    assert!(snap.total.totals.max_response_time >= 79.0);
    assert_eq!(snap.total.totals.num_requests, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_breaks_or_is_dropped_keeps_what_it_measured_and_stops_the_engine() {
    let rig = rig();
    let base = target().await;
    let (spec, meta) = llm_call(
        &base,
        "/v1/chat/completions?ttft_ms=20&itl_ms=10&tokens=50&reset_after=3",
        Flavor::Requests,
        true,
    );
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta));
    rig.submitter.flush();
    let done = completions(&rig.bridge, 1).await;
    let feed = done[0].done.feed.clone().unwrap();
    let err = read_feed(&feed).await.unwrap_err();
    assert!(matches!(err, HttpError::Read { .. }), "{err:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(metric(&rig.stats, "ttft").unwrap().count(), 1);
    assert_eq!(metric(&rig.stats, "itl").unwrap().count(), 2);
    assert!(metric(&rig.stats, "e2e").is_none(), "no end, no e2e");

    // a stream that stalls: the locustfile lets go of it (its user stopped), and the engine stops reading
    let (spec, meta) = llm_call(
        &base,
        "/v1/chat/completions?ttft_ms=10&itl_ms=10&tokens=50&stall_after=2",
        Flavor::Requests,
        true,
    );
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta));
    rig.submitter.flush();
    let done = completions(&rig.bridge, 1).await;
    let feed = done[0].done.feed.clone().unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    feed.close();
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&rig.stats, "ttft").unwrap().count() < 2 {
        assert!(
            Instant::now() < deadline,
            "the abandoned stream was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(metric(&rig.stats, "itl").unwrap().count(), 3);
    assert!(metric(&rig.stats, "e2e").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_timeout_applies_between_the_pieces_of_a_stream() {
    let rig = rig();
    let base = target().await;
    let (mut spec, meta) = llm_call(
        &base,
        "/v1/chat/completions?ttft_ms=10&itl_ms=10&tokens=50&stall_after=3",
        Flavor::Requests,
        true,
    );
    spec.timeouts.read = Some(Duration::from_millis(300));
    spec.timeout_texts.1 = Some("0.3".into());
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta));
    rig.submitter.flush();
    let done = completions(&rig.bridge, 1).await;
    let feed = done[0].done.feed.clone().unwrap();
    let t0 = Instant::now();
    let err = read_feed(&feed).await.unwrap_err();
    // requests' ReadTimeoutError inside its ConnectionError, raised where the locustfile reads
    let HttpError::Read { exc, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(format!("{exc:?}").contains("Read timed out"), "{exc:?}");
    assert!(t0.elapsed() < Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(metric(&rig.stats, "itl").unwrap().count(), 2);
    assert!(metric(&rig.stats, "e2e").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_json_answer_reports_its_output_tokens_only() {
    let rig = rig();
    let base = target().await;
    let (mut spec, meta) = llm_call(
        &base,
        "/v1/chat/completions?ttft_ms=5&itl_ms=1&tokens=9",
        Flavor::Requests,
        false,
    );
    spec.body = Some(bytes::Bytes::from_static(br#"{"model":"m"}"#));
    rig.submitter
        .queue(Job::new(&rig.http.user_client(), spec, meta));
    rig.submitter.flush();
    completions(&rig.bridge, 1).await;
    let tokens = metric(&rig.stats, "output_tokens").unwrap();
    assert_eq!((tokens.count(), tokens.row.percentile(0.5)), (1, 9.0));
    // no stream, no stream timings
    assert!(metric(&rig.stats, "ttft").is_none() && metric(&rig.stats, "e2e").is_none());
}

/// Wait (bounded) until `ok` holds of the submitter's drivers (made, idle, tasks holding them).
async fn drivers_until(
    rig: &Rig,
    ok: impl Fn((usize, usize, usize)) -> bool,
) -> (usize, usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let census = rig.submitter.dispatch.census();
        if ok(census) || Instant::now() > deadline {
            return census;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_on_drivers_that_are_kept_and_reused_and_end_with_the_submitter() {
    let rig = rig();
    let url = target().await;
    let client = rig.http.user_client();
    // one call after another: one driver runs them all (no task per call)
    for _ in 0..5 {
        let (spec, meta) = call(&url, Flavor::Requests, true);
        rig.submitter.queue(Job::new(&client, spec, meta));
        rig.submitter.flush();
        assert_eq!(completions(&rig.bridge, 1).await.len(), 1);
        // (the driver goes back to the pool just after it pushed its completion)
        assert_eq!(drivers_until(&rig, |(_, idle, _)| idle == 1).await.1, 1);
    }
    assert_eq!(rig.submitter.dispatch.census().0, 1);
    // three at once: the idle driver and two new ones, all kept afterwards (each call answered after 300 ms, so
    // none is back in the pool before the three are handed out)
    let slow = url.join("/delay/300").unwrap();
    for _ in 0..3 {
        queue(&rig, &slow, Flavor::Requests, true);
    }
    rig.submitter.flush();
    assert_eq!(completions(&rig.bridge, 3).await.len(), 3);
    assert_eq!(
        drivers_until(&rig, |(_, idle, _)| idle == 3).await,
        (3, 3, 4)
    );
    assert_eq!(row(&rig.stats, "/"), Some((5, 0)));
    assert_eq!(row(&rig.stats, "/delay/300"), Some((3, 0)));
    // the submitter gone, the dispatcher and its idle drivers end
    let dispatch = rig.submitter.dispatch.clone();
    drop(rig);
    let deadline = Instant::now() + Duration::from_secs(10);
    while dispatch.census().2 > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(dispatch.census(), (3, 0, 0));
}
