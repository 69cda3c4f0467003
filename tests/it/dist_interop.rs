//! Interop spike of `rlocust::distributed` against real Locust 2.47, both directions, on 127.0.0.1 only:
//! - an rlocust DEALER plays a minimal worker for a headless Locust master (`client_ready` → `ack`, heartbeats both
//!   ways, `spawn` → `spawning` + `spawning_complete`, `stats` every 3 s, `quit` → final `stats` + `quit`), and the
//!   master runs its `-t 3s` test to the end and exits 0;
//! - an rlocust ROUTER plays a minimal master for a Locust worker (`client_ready` → `ack`, heartbeat replies, one
//!   `spawn`, `quit`), and the worker exits 0.
//!
//! Locust: `LOCUST_BIN`, else the repository's `.venv-oracle/bin/locust` (`make test` installs it). Without either
//! the tests say so and pass, except under CI, where they fail. Every wait is bounded; the child is killed on drop.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rlocust::distributed::proto::{self, WorkerState, kind};
use rlocust::distributed::{MasterSocket, Message, Value, WorkerSocket};

const LOCUSTFILE: &str = "\
from locust import User, constant, task


class TinyUser(User):
    wait_time = constant(1)

    @task
    def idle(self):
        pass
";

fn locust_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("LOCUST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-oracle/bin/locust"));
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "no Locust 2.47 at {}",
        bin.display()
    );
    eprintln!(
        "skipped: no Locust 2.47 at {} (set LOCUST_BIN)",
        bin.display()
    );
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Locust process whose stdout and stderr go to files; killed if still running when dropped.
struct Locust {
    child: Child,
    log: PathBuf,
}

impl Locust {
    fn start(dir: &Path, args: &[&str]) -> Locust {
        std::fs::write(dir.join("locustfile.py"), LOCUSTFILE).unwrap();
        let log = dir.join("locust.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(locust_bin().unwrap())
            .args(["-f", "locustfile.py"])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start locust");
        Locust { child, log }
    }

    /// The exit code, waiting at most `limit`.
    async fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "locust did not exit within {limit:?}; its output:\n{}",
            self.output()
        );
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Locust {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `{class: count}` of a `user_classes_count` value, in wire order.
fn counts(v: &Value) -> Vec<(String, i64)> {
    v.as_map()
        .expect("user_classes_count is a dict")
        .iter()
        .map(|(k, n)| (k.as_str().unwrap().to_owned(), n.as_i64().unwrap()))
        .collect()
}

fn refs(users: &[(String, i64)]) -> Vec<(&str, i64)> {
    users.iter().map(|(c, n)| (c.as_str(), *n)).collect()
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dist_rust_worker_runs_a_headless_test_for_a_locust_master() {
    if locust_bin().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut master = Locust::start(
        dir.path(),
        &[
            "--master",
            "--headless",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &port,
            "--expect-workers",
            "1",
            "-u",
            "1",
            "-r",
            "1",
            "-t",
            "3s",
        ],
    );
    let id = proto::worker_client_id();
    let mut sock = WorkerSocket::connect(
        "127.0.0.1",
        port.parse().unwrap(),
        &id,
        Duration::from_secs(30),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("connect: {e}\n{}", master.output()));

    sock.send(&proto::client_ready(&id)).await.unwrap();
    let ack = sock.recv_timeout(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        ack,
        proto::ack(&id, 0),
        "the first answer is ack {{index: 0}} addressed to our id"
    );

    let start_time = now();
    let mut users: Vec<(String, i64)> = vec![("TinyUser".into(), 0)];
    let mut state = WorkerState::Ready;
    let (mut master_heartbeats, mut spawns, mut stats_sent) = (0, 0, 0);
    let mut master_spawning_complete = None;
    let mut heartbeat = tokio::time::interval(proto::HEARTBEAT_INTERVAL);
    let mut report = tokio::time::interval(proto::WORKER_REPORT_INTERVAL);
    let deadline = tokio::time::sleep(Duration::from_secs(40));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => panic!("no quit from the master within 40 s\n{}", master.output()),
            _ = heartbeat.tick() => {
                sock.send(&proto::worker_heartbeat(&id, state, 0.0, 0)).await.unwrap();
            }
            _ = report.tick() => {
                sock.send(&proto::empty_stats_report(&id, start_time, &refs(&users))).await.unwrap();
                stats_sent += 1;
            }
            msg = sock.recv() => {
                let msg = msg.unwrap();
                assert_eq!(msg.node_id, id, "every master message is addressed with our id");
                match msg.kind.as_str() {
                    kind::HEARTBEAT => {
                        assert!(msg.data.is_nil());
                        master_heartbeats += 1;
                    }
                    kind::SPAWN => {
                        spawns += 1;
                        sock.send(&proto::bare(kind::SPAWNING, &id)).await.unwrap();
                        let d = &msg.data;
                        assert!(matches!(d.get("timestamp"), Some(Value::Float(_))), "{d:?}");
                        assert!(d.get("host").is_some() && d.get("stop_timeout").is_some(), "{d:?}");
                        assert!(d.get("parsed_options").and_then(Value::as_map).is_some(), "{d:?}");
                        users = counts(d.get("user_classes_count").unwrap());
                        state = WorkerState::Running;
                        sock.send(&proto::spawning_complete(&id, &refs(&users))).await.unwrap();
                    }
                    kind::SPAWNING_COMPLETE => master_spawning_complete = Some(msg.data.clone()),
                    kind::QUIT => {
                        users.iter_mut().for_each(|u| u.1 = 0);
                        sock.send(&proto::empty_stats_report(&id, start_time, &refs(&users))).await.unwrap();
                        sock.send(&proto::bare(kind::QUIT, &id)).await.unwrap();
                        break;
                    }
                    other => panic!("unexpected {other} from the master: {msg:?}"),
                }
            }
        }
    }
    let code = master.exit_code(Duration::from_secs(20)).await;
    let out = master.output();
    eprintln!("--- Locust master ---\n{out}");
    assert_eq!(users, [("TinyUser".to_string(), 0)]);
    assert_eq!(spawns, 1, "-u 1 -r 1 is one spawn step");
    assert_eq!(
        master_spawning_complete,
        Some(Value::map([("user_count", Value::Int(1))])),
        "the master's own spawning_complete"
    );
    assert!(
        master_heartbeats >= 3,
        "each heartbeat is answered: {master_heartbeats}"
    );
    assert!(stats_sent >= 2);
    assert!(
        out.contains(&format!(
            "{id} (index 0) reported as ready. 1 workers connected."
        )),
        "{out}"
    );
    assert!(
        out.contains("All users spawned: {\"TinyUser\": 1} (1 total users)"),
        "{out}"
    );
    assert!(out.contains("--run-time limit reached"), "{out}");
    assert!(!out.contains("Traceback"), "{out}");
    assert_eq!(code, Some(0), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dist_locust_worker_takes_ack_spawn_and_quit_from_a_rust_master() {
    if locust_bin().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sock = MasterSocket::bind("127.0.0.1", 0).await.unwrap();
    let port = sock.port().to_string();
    let mut worker = Locust::start(
        dir.path(),
        &[
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            &port,
        ],
    );
    let limit = Duration::from_secs(30);
    let recv = async |sock: &mut MasterSocket, worker: &Locust| -> (String, Message) {
        sock.recv_timeout(limit)
            .await
            .unwrap_or_else(|e| panic!("recv: {e}\n{}", worker.output()))
    };

    let (addr, ready) = recv(&mut sock, &worker).await;
    assert_eq!(ready.kind, kind::CLIENT_READY);
    assert_eq!(ready.data, Value::str(proto::LOCUST_VERSION));
    assert_eq!(ready.node_id, addr, "the ZeroMQ identity is the node id");
    let (host, hex) = addr.rsplit_once('_').unwrap();
    let ours = proto::worker_client_id();
    assert_eq!(
        host,
        ours.rsplit_once('_').unwrap().0,
        "<socket.gethostname()>_<uuid4 hex>"
    );
    assert!(
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{addr}"
    );
    sock.send_to_client(&proto::ack(&addr, 0)).await.unwrap();

    // Heartbeats (answered), the first stats report right away, maybe logs; then a spawn of one user.
    let mut heartbeats = 0;
    let mut first_stats = None;
    while heartbeats < 2 || first_stats.is_none() {
        let (from, msg) = recv(&mut sock, &worker).await;
        assert_eq!(from, addr);
        match msg.kind.as_str() {
            kind::HEARTBEAT => {
                assert_eq!(msg.data.get("state"), Some(&Value::str("ready")));
                assert!(
                    matches!(msg.data.get("current_cpu_usage"), Some(Value::Float(_))),
                    "{msg:?}"
                );
                assert!(
                    matches!(msg.data.get("current_memory_usage"), Some(Value::Int(_))),
                    "{msg:?}"
                );
                heartbeats += 1;
                sock.send_to_client(&proto::master_heartbeat(&addr))
                    .await
                    .unwrap();
            }
            kind::STATS if first_stats.is_none() => first_stats = Some(msg.data),
            kind::STATS | kind::LOGS => {}
            other => panic!("unexpected {other}: {msg:?}"),
        }
    }
    let stats = first_stats.unwrap();
    assert_eq!(
        counts(stats.get("user_classes_count").unwrap()),
        [("TinyUser".to_string(), 0)]
    );
    assert_eq!(stats.get("stats"), Some(&Value::Array(vec![])));
    assert_eq!(
        stats.get("stats_total").and_then(|t| t.get("name")),
        Some(&Value::str("Aggregated"))
    );

    let spawn = Value::map([
        ("timestamp", Value::Float(now())),
        (
            "user_classes_count",
            proto::user_classes_count(&[("TinyUser", 1)]),
        ),
        ("host", Value::Nil),
        ("stop_timeout", Value::Nil),
        ("parsed_options", Value::Map(vec![])),
    ]);
    sock.send_to_client(&Message::new(kind::SPAWN, spawn, &addr))
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let (_, msg) = recv(&mut sock, &worker).await;
        match msg.kind.as_str() {
            kind::HEARTBEAT => sock
                .send_to_client(&proto::master_heartbeat(&addr))
                .await
                .unwrap(),
            kind::STATS | kind::LOGS => {}
            kind::SPAWNING => seen.push(msg.kind),
            kind::SPAWNING_COMPLETE => {
                assert_eq!(
                    msg.data,
                    proto::spawning_complete(&addr, &[("TinyUser", 1)]).data
                );
                seen.push(msg.kind);
                break;
            }
            other => panic!("unexpected {other}: {msg:?}"),
        }
    }
    assert_eq!(seen, [kind::SPAWNING, kind::SPAWNING_COMPLETE]);

    // quit → the final stats report, then quit, then a clean exit.
    sock.send_to_client(&proto::bare(kind::QUIT, &addr))
        .await
        .unwrap();
    let mut after_quit = Vec::new();
    while after_quit.last().map(String::as_str) != Some(kind::QUIT) {
        let (_, msg) = recv(&mut sock, &worker).await;
        if msg.kind == kind::STATS {
            assert_eq!(msg.data.get("user_count"), Some(&Value::Int(0)), "{msg:?}");
        }
        if msg.kind != kind::HEARTBEAT && msg.kind != kind::LOGS {
            after_quit.push(msg.kind);
        }
    }
    assert_eq!(after_quit, [kind::STATS, kind::QUIT]);
    let code = worker.exit_code(Duration::from_secs(20)).await;
    let out = worker.output();
    eprintln!("--- Locust worker ---\n{out}");
    assert!(!out.contains("Traceback"), "{out}");
    assert_eq!(code, Some(0), "{out}");
}
