//! The names, constants and message shapes of Locust 2.47's distributed protocol (`locust/runners.py`), for both
//! sides. Reference: shared/reference/locust-web-dist.md §2.3 (timing), §2.4 (catalogue), §2.10 (what a node must
//! send to stay compatible with Python nodes).

use std::time::Duration;

use crate::msgpack::{Message, Value};

/// The version a Rust node announces in `client_ready` and expects from workers. A Locust master accepts any
/// truthy version (a different patch version is a DEBUG line, a different minor one a WARNING, never a refusal).
pub use crate::version::LOCUST_VERSION;

/// A worker heartbeat every second; the master's liveness loop ticks at the same period.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// The liveness counter a heartbeat sets; one tick takes one off, below 0 the worker is `missing`.
pub const HEARTBEAT_LIVENESS: i32 = 3;
/// A missing worker whose counter reaches this is deleted (Locust's spelling: `HEARTBEAT_DEAD_INTERNAL`).
pub const HEARTBEAT_DEAD_INTERNAL: i32 = -60;
/// A worker that has had a master heartbeat and then none for this long quits.
pub const MASTER_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);
/// Worker `stats` period (the first report goes out right after connecting).
pub const WORKER_REPORT_INTERVAL: Duration = Duration::from_secs(3);
/// Worker `logs` period.
pub const WORKER_LOG_REPORT_INTERVAL: Duration = Duration::from_secs(10);
/// CPU/RSS sampling period.
pub const CPU_MONITOR_INTERVAL: Duration = Duration::from_secs(10);
/// A worker waits this long for `ack` before resending `client_ready`…
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// …at most this many times, then "Failed to connect to the Locust master" (exit 255).
pub const CONNECT_RETRY_COUNT: u32 = 60;
/// Sleep after an RPC error.
pub const FALLBACK_INTERVAL: Duration = Duration::from_secs(5);

/// Locust's runner constants (`locust.runners.HEARTBEAT_INTERVAL`, …) as this process uses them: Locust's values,
/// or what the locustfile set on `locust.runners` when it was loaded (Locust's runners read the module's globals,
/// so a locustfile's `runners.MASTER_HEARTBEAT_TIMEOUT = 2` takes effect; the app reads them once the locustfile
/// is loaded and calls [`set_tunables`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Tunables {
    pub heartbeat_interval: Duration,
    pub heartbeat_liveness: i32,
    pub heartbeat_dead_internal: i32,
    pub master_heartbeat_timeout: Duration,
    /// How Python prints the value (Locust's "Didn't get heartbeat from master in over 60s").
    pub master_heartbeat_timeout_text: String,
    pub worker_report_interval: Duration,
    pub worker_log_report_interval: Duration,
    pub cpu_monitor_interval: Duration,
    pub cpu_warning_threshold: f64,
    pub connect_timeout: Duration,
    pub connect_retry_count: u32,
    pub fallback_interval: Duration,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            heartbeat_interval: HEARTBEAT_INTERVAL,
            heartbeat_liveness: HEARTBEAT_LIVENESS,
            heartbeat_dead_internal: HEARTBEAT_DEAD_INTERNAL,
            master_heartbeat_timeout: MASTER_HEARTBEAT_TIMEOUT,
            master_heartbeat_timeout_text: MASTER_HEARTBEAT_TIMEOUT.as_secs().to_string(),
            worker_report_interval: WORKER_REPORT_INTERVAL,
            worker_log_report_interval: WORKER_LOG_REPORT_INTERVAL,
            cpu_monitor_interval: CPU_MONITOR_INTERVAL,
            cpu_warning_threshold: 90.0,
            connect_timeout: CONNECT_TIMEOUT,
            connect_retry_count: CONNECT_RETRY_COUNT,
            fallback_interval: FALLBACK_INTERVAL,
        }
    }
}

static TUNABLES: std::sync::OnceLock<Tunables> = std::sync::OnceLock::new();

/// The constants in effect ([`Tunables::default`] until [`set_tunables`]).
pub fn tunables() -> &'static Tunables {
    TUNABLES.get_or_init(Tunables::default)
}

/// Fix the constants for this process (the first call wins; later ones are ignored).
pub fn set_tunables(t: Tunables) {
    let _ = TUNABLES.set(t);
}

/// A duration from a number of seconds a locustfile set (non-finite or negative values keep `default`).
pub fn seconds(value: f64, default: Duration) -> Duration {
    if value.is_finite() && value >= 0.0 {
        Duration::from_secs_f64(value.min(1e9))
    } else {
        default
    }
}

/// Message types (`Message.type`), both directions. Custom types registered by locustfiles ride alongside.
pub mod kind {
    // worker → master
    pub const CLIENT_READY: &str = "client_ready";
    pub const HEARTBEAT: &str = "heartbeat";
    pub const STATS: &str = "stats";
    pub const SPAWNING: &str = "spawning";
    pub const SPAWNING_COMPLETE: &str = "spawning_complete";
    pub const CLIENT_STOPPED: &str = "client_stopped";
    pub const QUIT: &str = "quit";
    pub const EXCEPTION: &str = "exception";
    pub const LOGS: &str = "logs";
    pub const LOCUSTFILE: &str = "locustfile";
    // master → worker (plus HEARTBEAT, SPAWNING_COMPLETE, QUIT, LOCUSTFILE above)
    pub const ACK: &str = "ack";
    pub const SPAWN: &str = "spawn";
    pub const STOP: &str = "stop";
    pub const RECONNECT: &str = "reconnect";
    pub const UPDATE_USER_CLASS: &str = "update_user_class";
}

/// A worker's state as its heartbeats report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    Ready,
    Spawning,
    Running,
}

impl WorkerState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Ready => "ready",
            WorkerState::Spawning => "spawning",
            WorkerState::Running => "running",
        }
    }
}

/// `<socket.gethostname()>_<uuid4 hex>`, the id a Locust worker gives itself (ZeroMQ identity and node_id).
pub fn worker_client_id() -> String {
    format!("{}_{}", crate::sys::hostname(), uuid4_hex())
}

/// The part of a client id before the first `_`: the "host" the dispatcher spreads users over.
pub fn client_id_host(client_id: &str) -> &str {
    client_id.split('_').next().unwrap_or(client_id)
}

/// 32 lowercase hex digits of a random (version 4, RFC 4122 variant) UUID, as Python's `uuid4().hex`.
fn uuid4_hex() -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    let filled = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if filled.is_err() {
        // No /dev/urandom: time and pid are unique enough for an id that only has to differ between processes.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b = (t ^ ((std::process::id() as u128) << 64)).to_be_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    hex::encode(b)
}

// Message builders: the shapes Locust 2.47 sends (reference §2.4, samples/distributed/*.jsonl).

/// worker → master: `client_ready` with the version string.
pub fn client_ready(node_id: &str) -> Message {
    Message::new(kind::CLIENT_READY, Value::str(LOCUST_VERSION), node_id)
}

/// worker → master: `heartbeat {"state", "current_cpu_usage", "current_memory_usage"}`.
pub fn worker_heartbeat(
    node_id: &str,
    state: WorkerState,
    cpu_percent: f64,
    memory_bytes: i64,
) -> Message {
    let data = Value::map([
        ("state", Value::str(state.as_str())),
        ("current_cpu_usage", Value::Float(cpu_percent)),
        ("current_memory_usage", Value::Int(memory_bytes)),
    ]);
    Message::new(kind::HEARTBEAT, data, node_id)
}

/// master → worker: the `heartbeat` reply (data `None`).
pub fn master_heartbeat(node_id: &str) -> Message {
    Message::new(kind::HEARTBEAT, Value::Nil, node_id)
}

/// master → worker: `ack {"index": n}`.
pub fn ack(node_id: &str, index: i64) -> Message {
    Message::new(
        kind::ACK,
        Value::map([("index", Value::Int(index))]),
        node_id,
    )
}

/// A message whose data is `None` (`spawning`, `client_stopped`, `quit`, `stop`, `reconnect`).
pub fn bare(kind: &str, node_id: &str) -> Message {
    Message::new(kind, Value::Nil, node_id)
}

/// `{class: count}` in the given order.
pub fn user_classes_count(counts: &[(&str, i64)]) -> Value {
    Value::map(counts.iter().map(|&(c, n)| (c, Value::Int(n))))
}

/// worker → master: `spawning_complete {"user_classes_count", "user_count"}`.
pub fn spawning_complete(node_id: &str, counts: &[(&str, i64)]) -> Message {
    let data = Value::map([
        ("user_classes_count", user_classes_count(counts)),
        ("user_count", Value::Int(counts.iter().map(|c| c.1).sum())),
    ]);
    Message::new(kind::SPAWNING_COMPLETE, data, node_id)
}

/// An empty StatsEntry dict (14 keys, wire order), as `get_stripped_report()` of an entry with no requests.
pub fn empty_stats_entry(name: &str, method: &str, start_time: f64) -> Value {
    let empty = || Value::Map(Vec::new());
    Value::map([
        ("name", Value::str(name)),
        ("method", Value::str(method)),
        ("last_request_timestamp", Value::Nil),
        ("start_time", Value::Float(start_time)),
        ("num_requests", Value::Int(0)),
        ("num_none_requests", Value::Int(0)),
        ("num_failures", Value::Int(0)),
        ("total_response_time", Value::Int(0)),
        ("max_response_time", Value::Int(0)),
        ("min_response_time", Value::Nil),
        ("total_content_length", Value::Int(0)),
        ("response_times", empty()),
        ("num_reqs_per_sec", empty()),
        ("num_fail_per_sec", empty()),
    ])
}

/// worker → master: a `stats` report with no requests (what an idle worker sends every 3 s).
pub fn empty_stats_report(node_id: &str, start_time: f64, counts: &[(&str, i64)]) -> Message {
    let data = Value::map([
        ("stats", Value::Array(Vec::new())),
        (
            "stats_total",
            empty_stats_entry("Aggregated", "", start_time),
        ),
        ("errors", Value::Map(Vec::new())),
        ("user_classes_count", user_classes_count(counts)),
        ("user_count", Value::Int(counts.iter().map(|c| c.1).sum())),
    ]);
    Message::new(kind::STATS, data, node_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_has_locusts_shape() {
        let id = worker_client_id();
        let (host, hex) = id.rsplit_once('_').unwrap();
        assert!(!host.is_empty());
        assert_eq!(hex.len(), 32);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(&hex[12..13], "4", "version 4");
        assert!("89ab".contains(&hex[16..17]), "RFC 4122 variant");
        assert_ne!(worker_client_id(), id);
        assert_eq!(client_id_host("vm_9c4b"), "vm");
    }
}
