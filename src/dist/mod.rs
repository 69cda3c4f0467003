//! Locust's distributed mode, on Locust's own wire protocol (reference/locust-web-dist.md §2), so rlocust nodes
//! and Locust 2.47 nodes can be master and worker of each other.
//!
//! So far the building blocks only (not wired into the CLI; `--master`/`--worker` are still refused):
//! - `codec`: the msgpack `[type, data, node_id]` message, byte for byte as Python's msgpack writes it;
//! - `transport`: the ZeroMQ ROUTER (master) / DEALER (worker) sockets on tokio, and why they are pure Rust;
//! - `proto`: message type names, timing constants, the client id, builders for the messages a node sends.
pub mod codec;
pub mod proto;
pub mod transport;

pub use codec::{CodecError, Message, Value};
pub use transport::{MasterSocket, TransportError, WorkerSocket};
