//! Locust's distributed mode, on Locust's own wire protocol (reference/locust-web-dist.md §2), so rlocust nodes
//! and Locust 2.47 nodes can be master and worker of each other (`--master`, `--worker`, `--processes`).
//!
//! //! - `zmtp`: ZeroMQ's wire protocol (greeting, READY, frames), and `router`: the master's ROUTER on it;
//! - `transport`: the worker's DEALER (the `zeromq` crate), and why it is pure Rust;
//! - `proto`: message type names, timing constants, the client id, builders for the messages a node sends;
//! - `stats_wire`: the `stats` report both ways (a worker's delta report, a master's merge), with rlocust's exact
//!   histograms as an extension key;
//! - `dispatch`: the master's split of users over its workers, step by step, as Locust's `UsersDispatcher`;
//! - `worker`, `master`: the runners of the two roles (each the one owner of the run state in its process);
//! - `open_wire`: the open workload's extension keys (a master's arrival-rate shares, a worker's counts);
//! - `listened`: which distributed-mode events (`report_to_master`, `worker_report`, `heartbeat_*`) have Python
//!   listeners, so the runners call Python only for those;
//! - `node`: what Python's runner object reads of the node (ids, index, the master's workers) and sends;
//! - `processes`: `--processes N`, local worker processes started and reaped by this one;
//! - `auth`: the master secret (opt-in): workers and master prove it to each other on each connection.
pub mod auth;
pub mod dispatch;
pub mod listened;
pub mod master;
pub mod node;
pub mod open_wire;
pub mod processes;
pub mod proto;
pub mod roster;
pub mod router;
pub mod stats_wire;
pub mod transport;
pub mod worker;
pub mod zmtp;

pub use crate::msgpack::{CodecError, MAX_DEPTH, Message, Value};
pub use transport::{MasterSocket, TransportError, WorkerSocket};
