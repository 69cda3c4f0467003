//! The distributed node this process is (a worker or a master), as Python's runner object sees it: its role, its
//! client id and worker index, the workers a master knows, and the way out for `runner.send_message`.
//!
//! Set once when the worker has connected or the master has bound; read from the hub thread (`_rlocust`).
//!
//! Why a static (`NODE`, [`Node::get`]): Python's runner object asks for it through `_rlocust` calls that carry no
//! run context, and a process is one node for its life (a master binds once, a worker connects once). Everything
//! else is handed the node it holds: the session gives it to the web UI (`web::WebState::node`) and to `/metrics`.
use crate::msgpack::Value;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Worker,
    Master,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Master => "master",
        }
    }
}

/// A message a locustfile sends with `runner.send_message(type, data, client_id)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom {
    pub kind: String,
    pub data: Value,
    /// Master: the worker to send to (`None`: every known worker). Worker: ignored (always the master).
    pub to: Option<String>,
}

/// What a master knows of one worker, for `runner.clients` and the web UI.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerInfo {
    pub id: String,
    pub index: i64,
    /// `ready`, `spawning`, `running`, `missing` (or `stopped` in Locust's web UI when gone).
    pub state: &'static str,
    pub user_count: u64,
    pub user_classes_count: Vec<(String, u64)>,
    pub cpu_usage: f64,
    pub memory_usage: u64,
}

pub struct Node {
    pub role: Role,
    /// A worker's own id (`<hostname>_<hex>`); a master's own id (Locust gives the master one too).
    pub client_id: String,
    index: AtomicI64,
    out: mpsc::UnboundedSender<Custom>,
    /// A master's workers as of its last snapshot (taken on change, at most every 100 ms, and every second).
    workers: Mutex<Arc<Vec<WorkerInfo>>>,
    /// A master's ready + spawning + running workers, current (Locust's `worker_count`).
    worker_count: AtomicI64,
    /// A master's `environment.host` and `vars(environment.parsed_options)`, as every `spawn` carries them (Python
    /// publishes them when they may have changed: runner creation, `init`, each start).
    spawn_info: Mutex<(Option<String>, Value)>,
    /// A master's copy of each worker's last `logs` message (its whole buffer).
    worker_logs: Mutex<Vec<(String, Vec<String>)>>,
}

static NODE: OnceLock<Arc<Node>> = OnceLock::new();

impl Node {
    /// Make this process a worker or a master; the receiver gets what Python sends.
    pub fn install(
        role: Role,
        client_id: String,
        index: i64,
    ) -> (Arc<Node>, mpsc::UnboundedReceiver<Custom>) {
        let (out, rx) = mpsc::unbounded_channel();
        let node = Arc::new(Node {
            role,
            client_id,
            index: AtomicI64::new(index),
            out,
            workers: Mutex::new(Arc::new(Vec::new())),
            worker_count: AtomicI64::new(0),
            spawn_info: Mutex::new((None, Value::Map(Vec::new()))),
            worker_logs: Mutex::new(Vec::new()),
        });
        let _ = NODE.set(node.clone());
        (node, rx)
    }

    /// The node, when this process is part of a distributed run.
    pub fn get() -> Option<&'static Arc<Node>> {
        NODE.get()
    }

    /// `runner.worker_index` (a worker's, from the master's `ack`).
    pub fn index(&self) -> i64 {
        self.index.load(Ordering::Relaxed)
    }

    pub fn set_index(&self, index: i64) {
        self.index.store(index, Ordering::Relaxed);
    }

    pub fn send(&self, message: Custom) -> bool {
        self.out.send(message).is_ok()
    }

    /// The master's workers (a shared snapshot: cheap to take, whatever the fleet).
    pub fn workers(&self) -> Arc<Vec<WorkerInfo>> {
        self.workers.lock().clone()
    }

    pub fn set_workers(&self, workers: Vec<WorkerInfo>) {
        *self.workers.lock() = Arc::new(workers);
    }

    /// ready + spawning + running workers of a master, as of now.
    pub fn worker_count(&self) -> i64 {
        self.worker_count.load(Ordering::Relaxed)
    }

    pub fn set_worker_count(&self, n: usize) {
        self.worker_count.store(n as i64, Ordering::Relaxed);
    }

    pub fn worker_logs(&self) -> Vec<(String, Vec<String>)> {
        self.worker_logs.lock().clone()
    }

    /// A worker's `logs` message replaces what the master had from it.
    pub fn set_worker_logs(&self, worker: &str, lines: Vec<String>) {
        let mut logs = self.worker_logs.lock();
        match logs.iter_mut().find(|(id, _)| id == worker) {
            Some(entry) => entry.1 = lines,
            None => logs.push((worker.to_owned(), lines)),
        }
    }

    pub fn spawn_info(&self) -> (Option<String>, Value) {
        self.spawn_info.lock().clone()
    }

    /// What the next `spawn` messages carry. The credentials among the options (`--basic-auth`, the master secret's
    /// file: the rows `cli::spec` marks `secret`) are left out here, the one way into a `spawn`: the web UI's
    /// password never leaves the master. The locustfile's own options go as they are (its tasks on the workers
    /// read them, as under Locust), and only to registered workers (the master sends `spawn` to no one else).
    pub fn set_spawn_info(&self, host: Option<String>, parsed_options: Value) {
        *self.spawn_info.lock() = (host, without_secrets(parsed_options));
    }
}

/// `parsed_options` without rlocust's credentials.
fn without_secrets(options: Value) -> Value {
    match options {
        Value::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .filter(|(k, _)| !k.as_str().is_some_and(crate::cli::spec::is_secret))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_options_leave_credentials_behind() {
        let options = without_secrets(Value::map([
            ("basic_auth", Value::str("admin:hunter2")),
            ("web_auth", Value::str("a:b")),
            ("master_secret_file", Value::str("/run/secret")),
            ("num_users", Value::Int(3)),
            ("my_custom_token", Value::str("kept: the locustfile's own")),
        ]));
        let keys: Vec<&str> = options
            .as_map()
            .unwrap()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["num_users", "my_custom_token"]);
    }
}
