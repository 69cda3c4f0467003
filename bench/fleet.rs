//! A fleet of simulated Locust 2.47 workers against one master, for `bench/fleet.py` (a master's cost at 100 …
//! 10,000 workers). Each simulated worker is a task speaking Locust's worker protocol over its own ZeroMQ DEALER
//! connection, message for message as a real worker does (`tests/dist/test_fleet_protocol.py` checks the message
//! kinds, keys, key order and value types against a real Locust 2.47 worker's): `client_ready`, a heartbeat every
//! `--heartbeat` seconds, a `stats` report every `--report` seconds over `--names` request names (Locust's delta
//! format with its response-time buckets, per-second counts and errors), `spawning`/`spawning_complete` for each
//! `spawn`, `client_stopped` + `client_ready` for `stop`, the final report and `quit` for `quit`.
//!
//! Requests are not made: each user counts `--rps-per-user` requests a second, spread over the names, so the totals
//! every worker reported are known exactly and `bench/fleet.py` compares them with the master's. Also measured:
//! the heartbeat round trip (worker heartbeat → master reply), which workers received `quit`, and when the last
//! worker had its final users.
//!
//! More workers than one process may hold sockets for (the hard limit here is 20,000 open files) are spread over
//! `--procs` child processes of this program, each on a single-threaded runtime. Every worker stops by itself at
//! `--max-seconds`. Loopback only: `--master` must be a 127.0.0.0/8 or ::1 address.
//!
//! ```text
//! cargo build --release --example fleet
//! target/release/examples/fleet --master 127.0.0.1:5557 --workers 1000 --procs 2 --classes User1 --max-seconds 120
//! ```
use hdrhistogram::Histogram;
use rlocust::distributed::zmtp::{self, Incoming};
use rlocust::msgpack::{Message, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[derive(Clone)]
struct Opts {
    master: SocketAddr,
    workers: usize,
    procs: usize,
    classes: Vec<String>,
    names: usize,
    rps_per_user: f64,
    heartbeat: f64,
    report: f64,
    max_seconds: f64,
    host_prefix: String,
    child: Option<usize>,
    first_index: usize,
    /// Spread the connects over this many seconds.
    ramp_connect: f64,
}

fn usage(msg: &str) -> ! {
    eprintln!("fleet: {msg}");
    eprintln!(
        "usage: fleet --master HOST:PORT --workers N [--procs P] [--classes A,B] [--names 20] [--rps-per-user 1] \
         [--heartbeat 1] [--report 3] [--max-seconds 300] [--connect-over S]"
    );
    std::process::exit(2)
}

fn parse_args() -> Opts {
    let mut o = Opts {
        master: "127.0.0.1:5557".parse().expect("address"),
        workers: 100,
        procs: 1,
        classes: vec!["User1".into()],
        names: 20,
        rps_per_user: 1.0,
        heartbeat: 1.0,
        report: 3.0,
        max_seconds: 300.0,
        host_prefix: "fleet".into(),
        child: None,
        first_index: 0,
        ramp_connect: 0.0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let key = args[i].as_str();
        let val = || -> &str {
            args.get(i + 1)
                .map(String::as_str)
                .unwrap_or_else(|| usage(&format!("{key} needs a value")))
        };
        let num = |s: &str| -> f64 {
            s.parse()
                .unwrap_or_else(|_| usage(&format!("bad number {s}")))
        };
        match key {
            "--master" => {
                o.master = val()
                    .parse()
                    .unwrap_or_else(|_| usage("--master must be IP:PORT"))
            }
            "--workers" => o.workers = num(val()) as usize,
            "--procs" => o.procs = (num(val()) as usize).max(1),
            "--classes" => o.classes = val().split(',').map(str::to_owned).collect(),
            "--names" => o.names = (num(val()) as usize).max(1),
            "--rps-per-user" => o.rps_per_user = num(val()),
            "--heartbeat" => o.heartbeat = num(val()),
            "--report" => o.report = num(val()),
            "--max-seconds" => o.max_seconds = num(val()),
            "--host-prefix" => o.host_prefix = val().to_owned(),
            "--connect-over" => o.ramp_connect = num(val()),
            "--child" => o.child = Some(num(val()) as usize),
            "--first-index" => o.first_index = num(val()) as usize,
            _ => usage(&format!("unknown argument {key}")),
        }
        i += 2;
    }
    let ip = o.master.ip();
    let loopback = match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback(),
    };
    if !loopback {
        usage("--master must be a loopback address (127.0.0.0/8 or ::1)");
    }
    o
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What one process measured, summed by the parent.
#[derive(Default)]
struct Tally {
    workers: usize,
    connected: usize,
    acked: usize,
    got_quit: usize,
    sent_quit: usize,
    reconnects: usize,
    requests: BTreeMap<String, (u64, u64)>,
    first_spawn: Option<f64>,
    last_running: Option<f64>,
    rtt: Option<Histogram<u64>>,
    late: Option<Histogram<u64>>,
    heartbeats: u64,
    replies: u64,
    reports: u64,
}

/// One request name's counts since the last report (Locust's StatsEntry as `get_stripped_report` sends it).
#[derive(Default, Clone)]
struct Entry {
    num_requests: u64,
    num_failures: u64,
    total_response_time: f64,
    max_response_time: f64,
    min_response_time: Option<f64>,
    total_content_length: u64,
    response_times: BTreeMap<i64, u64>,
    reqs_per_sec: BTreeMap<i64, u64>,
    fails_per_sec: BTreeMap<i64, u64>,
    last_request_timestamp: Option<f64>,
}

/// Locust's bucket of a response time (ms): exact below 100, then 2 significant digits, then 3 below 10 s.
fn bucket(ms: f64) -> i64 {
    let r = ms.round() as i64;
    if r < 100 {
        r
    } else if r < 1000 {
        ((r as f64 / 10.0).round() * 10.0) as i64
    } else if r < 10_000 {
        ((r as f64 / 100.0).round() * 100.0) as i64
    } else {
        ((r as f64 / 1000.0).round() * 1000.0) as i64
    }
}

impl Entry {
    fn record(&mut self, ms: f64, failed: bool, len: u64, at: f64) {
        self.num_requests += 1;
        self.total_response_time += ms;
        self.max_response_time = self.max_response_time.max(ms);
        self.min_response_time = Some(self.min_response_time.map_or(ms, |m| m.min(ms)));
        self.total_content_length += len;
        *self.response_times.entry(bucket(ms)).or_insert(0) += 1;
        *self.reqs_per_sec.entry(at as i64).or_insert(0) += 1;
        if failed {
            self.num_failures += 1;
            *self.fails_per_sec.entry(at as i64).or_insert(0) += 1;
        }
        self.last_request_timestamp = Some(at);
    }

    fn merge(&mut self, o: &Entry) {
        self.num_requests += o.num_requests;
        self.num_failures += o.num_failures;
        self.total_response_time += o.total_response_time;
        self.max_response_time = self.max_response_time.max(o.max_response_time);
        self.min_response_time = match (self.min_response_time, o.min_response_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.total_content_length += o.total_content_length;
        for (k, v) in &o.response_times {
            *self.response_times.entry(*k).or_insert(0) += v;
        }
        for (k, v) in &o.reqs_per_sec {
            *self.reqs_per_sec.entry(*k).or_insert(0) += v;
        }
        for (k, v) in &o.fails_per_sec {
            *self.fails_per_sec.entry(*k).or_insert(0) += v;
        }
        self.last_request_timestamp = match (self.last_request_timestamp, o.last_request_timestamp)
        {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn to_value(&self, name: &str, method: &str, start_time: f64) -> Value {
        let int_map = |m: &BTreeMap<i64, u64>| {
            Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::Int(*k), Value::from_u64(*v)))
                    .collect(),
            )
        };
        // Locust's sums of exact times are floats (ints only while nothing was recorded)
        let float_or_zero = |f: f64, any: bool| if any { Value::Float(f) } else { Value::Int(0) };
        let any = self.num_requests > 0;
        Value::map([
            ("name", Value::str(name)),
            ("method", Value::str(method)),
            (
                "last_request_timestamp",
                self.last_request_timestamp.map_or(Value::Nil, Value::Float),
            ),
            ("start_time", Value::Float(start_time)),
            ("num_requests", Value::from_u64(self.num_requests)),
            ("num_none_requests", Value::Int(0)),
            ("num_failures", Value::from_u64(self.num_failures)),
            (
                "total_response_time",
                float_or_zero(self.total_response_time, any),
            ),
            (
                "max_response_time",
                float_or_zero(self.max_response_time, any),
            ),
            (
                "min_response_time",
                self.min_response_time.map_or(Value::Nil, Value::Float),
            ),
            (
                "total_content_length",
                Value::from_u64(self.total_content_length),
            ),
            ("response_times", int_map(&self.response_times)),
            ("num_reqs_per_sec", int_map(&self.reqs_per_sec)),
            ("num_fail_per_sec", int_map(&self.fails_per_sec)),
        ])
    }
}

/// One simulated worker's state.
struct Worker {
    id: String,
    opts: Opts,
    state: &'static str,
    counts: Vec<(String, u64)>,
    last_spawn_ts: f64,
    entries: Vec<Entry>,
    /// Failures since the last report: (name index, occurrences, first, last).
    errors: BTreeMap<usize, (u64, f64, f64)>,
    last_report: f64,
    /// Requests owed but not yet counted (fractions carry over).
    owed: f64,
    /// Which name the next request goes to.
    next_name: usize,
    sent_totals: Vec<(u64, u64)>,
    sent_heartbeats: VecDeque<Instant>,
    cpu: f64,
}

impl Worker {
    fn user_count(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    fn counts_value(&self) -> Value {
        Value::Map(
            self.counts
                .iter()
                .map(|(c, n)| (Value::str(c.as_str()), Value::from_u64(*n)))
                .collect(),
        )
    }

    /// Count the requests the users made since the last report.
    fn make_requests(&mut self, now: f64) {
        let elapsed = (now - self.last_report).max(0.0);
        self.owed += self.user_count() as f64 * self.opts.rps_per_user * elapsed;
        let n = self.owed.floor() as u64;
        self.owed -= n as f64;
        for k in 0..n {
            let i = self.next_name;
            self.next_name = (self.next_name + 1) % self.opts.names;
            // spread within the interval so the per-second maps cover several seconds
            let at = self.last_report + elapsed * (k as f64 + 0.5) / n as f64;
            let ms = [12.0, 48.0, 131.0, 2340.0][(k % 4) as usize] + (i as f64) * 0.25;
            let failed = i == 0 && k % 10 == 0;
            self.entries[i].record(ms, failed, 1234, at);
            if failed {
                let e = self.errors.entry(i).or_insert((0, at, at));
                e.0 += 1;
                e.2 = at;
            }
        }
    }

    fn report(&mut self, now: f64) -> Message {
        self.make_requests(now);
        let start = self.last_report;
        let mut stats = Vec::new();
        let mut total = Entry::default();
        for (i, e) in self.entries.iter().enumerate() {
            if e.num_requests == 0 && e.num_failures == 0 {
                continue;
            }
            stats.push(e.to_value(&format!("/n{i}"), "GET", start));
            total.merge(e);
            self.sent_totals[i].0 += e.num_requests;
            self.sent_totals[i].1 += e.num_failures;
        }
        let mut errors = Vec::new();
        for (i, (n, first, last)) in std::mem::take(&mut self.errors) {
            let name = format!("/n{i}");
            let error = "HTTPError('500 Server Error: INTERNAL SERVER ERROR for url: /')";
            let key = hex::encode(Sha256::digest(format!("GET.{name}.{error:?}").as_bytes()));
            errors.push((
                Value::Str(key),
                Value::map([
                    ("name", Value::Str(name)),
                    ("method", Value::str("GET")),
                    ("error", Value::str(error)),
                    ("occurrences", Value::from_u64(n)),
                    ("first_seen", Value::Float(first)),
                    ("last_seen", Value::Float(last)),
                ]),
            ));
        }
        for e in self.entries.iter_mut() {
            *e = Entry::default();
        }
        self.last_report = now;
        let data = Value::map([
            ("stats", Value::Array(stats)),
            ("stats_total", total.to_value("Aggregated", "", start)),
            ("errors", Value::Map(errors)),
            ("user_classes_count", self.counts_value()),
            ("user_count", Value::from_u64(self.user_count())),
        ]);
        Message::new("stats", data, self.id.as_str())
    }

    fn heartbeat(&mut self) -> Message {
        self.sent_heartbeats.push_back(Instant::now());
        Message::new(
            "heartbeat",
            Value::map([
                ("state", Value::str(self.state)),
                ("current_cpu_usage", Value::Float(self.cpu)),
                ("current_memory_usage", Value::Int(48_000_000)),
            ]),
            self.id.as_str(),
        )
    }
}

async fn send(s: &mut TcpStream, m: &Message) -> std::io::Result<()> {
    let payload = m
        .encode()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    s.write_all(&zmtp::frame(&payload)).await
}

/// What one worker ended with.
struct Outcome {
    connected: bool,
    acked: bool,
    got_quit: bool,
    sent_quit: bool,
    reconnects: usize,
    totals: Vec<(u64, u64)>,
    first_spawn: Option<f64>,
    last_running: Option<f64>,
    rtts: Vec<u64>,
    late_us: Vec<u64>,
    heartbeats: u64,
    replies: u64,
    reports: u64,
}

async fn run_worker(opts: Opts, index: usize, deadline: Instant) -> Outcome {
    let host = format!("{}{}", opts.host_prefix, index % 64);
    let id = format!(
        "{host}_{:032x}",
        (index as u128) * 0x9e37_79b9_7f4a_7c15 + 1
    );
    let mut out = Outcome {
        connected: false,
        acked: false,
        got_quit: false,
        sent_quit: false,
        reconnects: 0,
        totals: vec![(0, 0); opts.names],
        first_spawn: None,
        last_running: None,
        rtts: Vec::new(),
        late_us: Vec::new(),
        heartbeats: 0,
        replies: 0,
        reports: 0,
    };
    // connect (the master may not listen yet)
    let mut stream = loop {
        if Instant::now() >= deadline {
            return out;
        }
        match TcpStream::connect(opts.master).await {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let _ = stream.set_nodelay(true);
    let Ok((_peer, mut dec)) = zmtp::handshake(
        &mut stream,
        "DEALER",
        Some(id.as_bytes()),
        Duration::from_secs(30),
    )
    .await
    else {
        return out;
    };
    out.connected = true;
    let now = unix_now();
    let mut w = Worker {
        id: id.clone(),
        state: "ready",
        counts: opts.classes.iter().map(|c| (c.clone(), 0)).collect(),
        last_spawn_ts: 0.0,
        entries: vec![Entry::default(); opts.names],
        errors: BTreeMap::new(),
        last_report: now,
        owed: 0.0,
        next_name: index % opts.names,
        sent_totals: vec![(0, 0); opts.names],
        sent_heartbeats: VecDeque::new(),
        cpu: 5.0 + (index % 7) as f64,
        opts: opts.clone(),
    };
    let ready = Message::new("client_ready", Value::str("2.47.0"), id.as_str());
    if send(&mut stream, &ready).await.is_err() {
        return out;
    }
    // Locust's worker: the first heartbeat and report right away, then at their intervals
    let hb_every = Duration::from_secs_f64(opts.heartbeat);
    let report_every = Duration::from_secs_f64(opts.report);
    let mut hb = tokio::time::interval(hb_every);
    let mut report = tokio::time::interval(report_every);
    hb.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let logs = Message::new(
        "logs",
        Value::map([
            ("worker_id", Value::str(id.as_str())),
            (
                "logs",
                Value::Array(vec![Value::str(format!(
                    "[2026-11-23 00:00:00,000] {host}/INFO/locust.main: Starting Locust 2.47.0"
                ))]),
            ),
        ]),
        id.as_str(),
    );
    let mut logs_sent = false;
    let end = tokio::time::Instant::from_std(deadline);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end) => break,
            due = hb.tick() => {
                out.heartbeats += 1;
                let m = w.heartbeat();
                if send(&mut stream, &m).await.is_err() { break; }
                // how late the heartbeat left: the simulator's own delay (ticks late, or a blocked send)
                out.late_us.push(due.elapsed().as_micros() as u64);
            }
            _ = report.tick() => {
                out.reports += 1;
                let m = w.report(unix_now());
                if send(&mut stream, &m).await.is_err() { break; }
                if !logs_sent {
                    logs_sent = true;
                    if send(&mut stream, &logs).await.is_err() { break; }
                }
            }
            r = zmtp::read_message(&mut stream, &mut dec) => {
                let payload = match r {
                    Ok(Incoming::Message(p)) => p,
                    Ok(Incoming::Ping(pong)) => {
                        if stream.write_all(&pong).await.is_err() { break; }
                        continue;
                    }
                    Err(_) => break,
                };
                let Ok(msg) = Message::decode(&payload) else { continue };
                match msg.kind.as_str() {
                    "ack" => out.acked = true,
                    "heartbeat" => {
                        out.replies += 1;
                        if let Some(t) = w.sent_heartbeats.pop_front() {
                            out.rtts.push(t.elapsed().as_micros() as u64);
                        }
                    }
                    "spawn" => {
                        if send(&mut stream, &Message::new("spawning", Value::Nil, id.as_str())).await.is_err() { break; }
                        let ts = msg.data.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0);
                        if ts <= w.last_spawn_ts { continue; }
                        w.last_spawn_ts = ts;
                        let now = unix_now();
                        out.first_spawn.get_or_insert(now);
                        // count what the old users did before the change
                        w.make_requests(now);
                        w.last_report = w.last_report.min(now);
                        if let Some(pairs) = msg.data.get("user_classes_count").and_then(Value::as_map) {
                            for (k, v) in pairs {
                                let (Some(k), Some(v)) = (k.as_str(), v.as_i64()) else { continue };
                                match w.counts.iter_mut().find(|(c, _)| c == k) {
                                    Some(slot) => slot.1 = v.max(0) as u64,
                                    None => w.counts.push((k.to_owned(), v.max(0) as u64)),
                                }
                            }
                        }
                        w.state = "running";
                        let done = Message::new(
                            "spawning_complete",
                            Value::map([
                                ("user_classes_count", w.counts_value()),
                                ("user_count", Value::from_u64(w.user_count())),
                            ]),
                            id.as_str(),
                        );
                        if send(&mut stream, &done).await.is_err() { break; }
                        out.last_running = Some(now);
                    }
                    "stop" => {
                        w.make_requests(unix_now());
                        for c in w.counts.iter_mut() { c.1 = 0; }
                        w.state = "ready";
                        if send(&mut stream, &Message::new("client_stopped", Value::Nil, id.as_str())).await.is_err() { break; }
                        if send(&mut stream, &ready).await.is_err() { break; }
                    }
                    "quit" => {
                        out.got_quit = true;
                        let m = w.report(unix_now());
                        if send(&mut stream, &m).await.is_err() { break; }
                        if send(&mut stream, &Message::new("quit", Value::Nil, id.as_str())).await.is_ok() {
                            out.sent_quit = true;
                        }
                        let _ = stream.flush().await;
                        // linger briefly so the last frames leave before the socket closes
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                    "reconnect" => out.reconnects += 1,
                    _ => {}
                }
            }
        }
    }
    out.totals = w.sent_totals;
    out
}

fn run_child(opts: Opts) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let deadline = Instant::now() + Duration::from_secs_f64(opts.max_seconds);
    let tally = rt.block_on(async {
        let mut handles = Vec::with_capacity(opts.workers);
        for k in 0..opts.workers {
            let o = opts.clone();
            let index = opts.first_index + k;
            let delay = if opts.workers > 1 {
                opts.ramp_connect * k as f64 / opts.workers as f64
            } else {
                0.0
            };
            handles.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs_f64(delay)).await;
                run_worker(o, index, deadline).await
            }));
        }
        let mut t = Tally {
            workers: opts.workers,
            rtt: Some(Histogram::new(3).expect("histogram")),
            late: Some(Histogram::new(3).expect("histogram")),
            ..Tally::default()
        };
        for h in handles {
            let Ok(o) = h.await else { continue };
            t.connected += o.connected as usize;
            t.acked += o.acked as usize;
            t.got_quit += o.got_quit as usize;
            t.sent_quit += o.sent_quit as usize;
            t.reconnects += o.reconnects;
            t.heartbeats += o.heartbeats;
            t.replies += o.replies;
            t.reports += o.reports;
            for (i, (r, f)) in o.totals.iter().enumerate() {
                let e = t.requests.entry(format!("/n{i}")).or_insert((0, 0));
                e.0 += r;
                e.1 += f;
            }
            if let Some(s) = o.first_spawn {
                t.first_spawn = Some(t.first_spawn.map_or(s, |x: f64| x.min(s)));
            }
            if let Some(s) = o.last_running {
                t.last_running = Some(t.last_running.map_or(s, |x: f64| x.max(s)));
            }
            if let Some(h) = t.rtt.as_mut() {
                for us in o.rtts {
                    let _ = h.record(us.max(1));
                }
            }
            if let Some(h) = t.late.as_mut() {
                for us in o.late_us {
                    let _ = h.record(us.max(1));
                }
            }
        }
        t
    });
    println!("{}", tally_json(&tally));
}

fn tally_json(t: &Tally) -> String {
    let mut j = serde_json::json!({
        "workers": t.workers,
        "connected": t.connected,
        "acked": t.acked,
        "got_quit": t.got_quit,
        "sent_quit": t.sent_quit,
        "reconnects": t.reconnects,
        "heartbeats": t.heartbeats,
        "heartbeat_replies": t.replies,
        "reports": t.reports,
        "first_spawn": t.first_spawn,
        "last_running": t.last_running,
        "requests": t.requests.iter().map(|(k, (r, f))| (k.clone(), serde_json::json!([r, f]))).collect::<serde_json::Map<_, _>>(),
    });
    if let Some(h) = &t.rtt {
        let mut hist = Vec::new();
        // the raw histogram, so the parent can merge exactly: (value µs, count)
        for v in h.iter_recorded() {
            hist.push(serde_json::json!([
                v.value_iterated_to(),
                v.count_at_value()
            ]));
        }
        j["rtt_us"] = serde_json::Value::Array(hist);
    }
    if let Some(h) = &t.late {
        let mut hist = Vec::new();
        for v in h.iter_recorded() {
            hist.push(serde_json::json!([
                v.value_iterated_to(),
                v.count_at_value()
            ]));
        }
        j["heartbeat_late_us"] = serde_json::Value::Array(hist);
    }
    j.to_string()
}

fn main() {
    let opts = parse_args();
    if opts.child.is_some() || opts.procs == 1 {
        run_child(opts);
        return;
    }
    // spread the workers over child processes of this program
    let exe = std::env::current_exe().expect("own path");
    let per = opts.workers.div_ceil(opts.procs);
    let mut children = Vec::new();
    let mut first = 0;
    for p in 0..opts.procs {
        let n = per.min(opts.workers - first);
        if n == 0 {
            break;
        }
        let child = Command::new(&exe)
            .args([
                "--master",
                &opts.master.to_string(),
                "--workers",
                &n.to_string(),
                "--procs",
                "1",
                "--classes",
                &opts.classes.join(","),
                "--names",
                &opts.names.to_string(),
                "--rps-per-user",
                &opts.rps_per_user.to_string(),
                "--heartbeat",
                &opts.heartbeat.to_string(),
                "--report",
                &opts.report.to_string(),
                "--max-seconds",
                &opts.max_seconds.to_string(),
                "--host-prefix",
                &opts.host_prefix,
                "--connect-over",
                &opts.ramp_connect.to_string(),
                "--child",
                &p.to_string(),
                "--first-index",
                &first.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a child");
        children.push(child);
        first += n;
    }
    let mut total = Tally {
        rtt: Some(Histogram::new(3).expect("histogram")),
        late: Some(Histogram::new(3).expect("histogram")),
        ..Tally::default()
    };
    for mut c in children {
        let stdout = c.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let n = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
            total.workers += n("workers");
            total.connected += n("connected");
            total.acked += n("acked");
            total.got_quit += n("got_quit");
            total.sent_quit += n("sent_quit");
            total.reconnects += n("reconnects");
            total.heartbeats += n("heartbeats") as u64;
            total.replies += n("heartbeat_replies") as u64;
            total.reports += n("reports") as u64;
            if let Some(s) = v["first_spawn"].as_f64() {
                total.first_spawn = Some(total.first_spawn.map_or(s, |x: f64| x.min(s)));
            }
            if let Some(s) = v["last_running"].as_f64() {
                total.last_running = Some(total.last_running.map_or(s, |x: f64| x.max(s)));
            }
            if let Some(m) = v["requests"].as_object() {
                for (k, pair) in m {
                    let e = total.requests.entry(k.clone()).or_insert((0, 0));
                    e.0 += pair[0].as_u64().unwrap_or(0);
                    e.1 += pair[1].as_u64().unwrap_or(0);
                }
            }
            for (h, key) in [
                (total.rtt.as_mut(), "rtt_us"),
                (total.late.as_mut(), "heartbeat_late_us"),
            ] {
                if let (Some(h), Some(rows)) = (h, v[key].as_array()) {
                    for r in rows {
                        let value = r[0].as_u64().unwrap_or(1).max(1);
                        let count = r[1].as_u64().unwrap_or(0);
                        let _ = h.record_n(value, count);
                    }
                }
            }
        }
        let _ = c.wait();
    }
    println!("{}", tally_json(&total));
}
