//! ZeroMQ transport of Locust's distributed mode: the master's ROUTER (binds) and the worker's DEALER (connects,
//! identity = client id), carrying one [`Message`] per payload (reference §2.1).
//!
//! Frames, as pyzmq does them: master → worker is the 2-frame `[identity, payload]` on the ROUTER and arrives as a
//! single frame on the DEALER; worker → master is one frame that the ROUTER delivers as `[identity, payload]`. No
//! empty delimiter frame. Like Locust's `recv_from_client`, frames after the payload are ignored.
//!
//! # Decision: `zeromq` (pure Rust, tokio), not `zmq` (libzmq bindings)
//!
//! Measured on this machine (2 cores), 2026-11-22:
//! - **Interoperates with pyzmq exactly as §2.1 says.** `tests/it/dist_interop.rs` runs real Locust 2.47 (pyzmq 27.3.0
//!   with its bundled libzmq 4.3.5, ZMTP 3) both ways: an rlocust DEALER with identity `<host>_<uuid hex>` is taken
//!   by a Locust master as a worker (ack, heartbeats, spawn, stats, quit; the master exits 0), and a Locust worker's
//!   DEALER identity arrives here as the first ROUTER frame and its `client_ready` as the second, and our 2-frame
//!   `[identity, payload]` sends reach it as one frame (it takes our `ack`, `spawn` and `quit` and exits 0).
//! - **Runs inside our tokio runtime**: its sockets are futures on the caller's runtime (feature `tokio-runtime`),
//!   no thread of its own, no blocking call. `zmq` is libzmq's blocking API with its own I/O threads: every socket
//!   would need a dedicated thread (or its fd polled by hand) beside tokio, and `zmq::Socket` is not `Sync`.
//! - **Build cost**: about the same, but `zmq` brings C++. A scratch crate with `zmq` 0.10 built in 29.8 s wall
//!   (46 s user + 8 s sys): with no system libzmq here (`apt list --installed` has none; pyzmq's wheel bundles its
//!   own), `zmq-sys` compiles the vendored libzmq 4.3.4 from C++ sources (needs g++; the binary then links
//!   `libstdc++.so.6`). A scratch crate with `zeromq` 0.7 (features `tokio-runtime`, `tcp-transport`) plus tokio
//!   built in 25.4 s wall (42 s user + 4 s sys), pure Rust, no new runtime library. `zeromq` added 21 crates to
//!   Cargo.lock (futures, regex, scc, uuid, an older parking_lot, …); nothing needs apt in CI.
//! - **Maintenance**: `zeromq` 0.7.0 (the zeromq organisation's Rust implementation) requires Rust 1.89, so it is a
//!   2025+ release; `zmq` 0.10.0 vendors libzmq 4.3.4 (`zeromq-src 0.2.6+4.3.4`), older than libzmq 4.3.5 (2023)
//!   that pyzmq ships.
//!
//! What `zeromq` lacks against libzmq, none of which Locust needs: CURVE/PLAIN security, `ZMQ_TCP_KEEPALIVE*`
//! options (Locust sets keepalive 30 s; the heartbeats detect dead peers anyway), `bind_to_random_port` (binding port
//! 0 returns the chosen port instead). `*` as a bind host is mapped to `0.0.0.0` (IPv4 only for now; Locust binds
//! dual-stack when the OS supports it).

use std::time::Duration;

use bytes::Bytes;
use thiserror::Error;
use zeromq::{
    DealerSocket, Endpoint, RouterSocket, Socket, SocketOptions, SocketRecv, SocketSend, ZmqError,
    ZmqMessage,
};

use super::auth::{self, Secret};
use crate::msgpack::{CodecError, Message};

/// How long a worker holding the master secret waits for each step of the master's side of the exchange (the
/// master asks as soon as the connection is up).
const AUTH_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Error)]
pub enum TransportError {
    #[error("ZeroMQ: {0}")]
    Zmq(#[from] ZmqError),
    #[error("message encoding: {0}")]
    Encode(CodecError),
    /// An undecodable payload. `addr` is the sender's identity on the master side (Locust answers a known sender
    /// with `reconnect`).
    #[error("undecodable message{}: {error}", addr.as_deref().map(|a| format!(" from {a}")).unwrap_or_default())]
    Decode {
        addr: Option<String>,
        error: CodecError,
    },
    #[error("unexpected ZeroMQ frames: {0}")]
    Frames(String),
    #[error("timed out")]
    Timeout,
    /// The master secret's exchange failed: the line to stop with (retrying cannot help).
    #[error("{0}")]
    Auth(String),
}

fn endpoint(host: &str, port: u16) -> String {
    let host = if host == "*" { "0.0.0.0" } else { host };
    if host.contains(':') {
        format!("tcp://[{host}]:{port}")
    } else {
        format!("tcp://{host}:{port}")
    }
}

/// The worker's end: a DEALER whose ZeroMQ identity is the worker's client id.
pub struct WorkerSocket {
    socket: DealerSocket,
}

impl WorkerSocket {
    /// Connects to the master at `host:port` (retrying while nothing listens yet, at most `timeout`). With a
    /// `secret`, worker and master then prove it to each other ([`super::auth`]) before this returns.
    pub async fn connect(
        host: &str,
        port: u16,
        identity: &str,
        timeout: Duration,
        secret: Option<&Secret>,
    ) -> Result<Self, TransportError> {
        let mut options = SocketOptions::default();
        options.peer_identity(identity.parse()?);
        options.connect_timeout(timeout);
        let mut socket = DealerSocket::with_options(options);
        socket.connect(&endpoint(host, port)).await?;
        let mut s = WorkerSocket { socket };
        if let Some(secret) = secret {
            s.authenticate(secret, identity, host, port).await?;
        }
        Ok(s)
    }

    /// The worker's side of the master secret's exchange.
    async fn authenticate(
        &mut self,
        secret: &Secret,
        identity: &str,
        host: &str,
        port: u16,
    ) -> Result<(), TransportError> {
        let fail = |what: String| TransportError::Auth(format!("Master {host}:{port}: {what}"));
        let asked = match self.recv_timeout(AUTH_WAIT).await {
            Ok(m) => m,
            Err(TransportError::Timeout) => {
                return Err(fail(format!(
                    "it did not ask for the master secret within {} s: it runs without one (or is Locust's). Set the same secret on the master, or none on this worker ({} / --master-secret-file)",
                    AUTH_WAIT.as_secs(),
                    auth::ENV
                )));
            }
            Err(e) => return Err(e),
        };
        if asked.kind != auth::KIND {
            return Err(fail(format!(
                "it sent '{}' instead of asking for the master secret: it runs without one. Set the same secret on the master, or none on this worker",
                asked.kind
            )));
        }
        let (data, expect) =
            auth::answer(secret, identity.as_bytes(), &asked.data).map_err(fail)?;
        self.send(&Message::new(auth::KIND, data, identity)).await?;
        let reply = match self.recv_timeout(AUTH_WAIT).await {
            Ok(m) => m,
            Err(TransportError::Timeout) => {
                return Err(fail(
                    "it did not answer this worker's proof of the master secret".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        auth::check_reply(&expect, &reply.data).map_err(fail)
    }

    pub async fn send(&mut self, msg: &Message) -> Result<(), TransportError> {
        let payload = msg.encode().map_err(TransportError::Encode)?;
        self.socket.send(ZmqMessage::from(payload)).await?;
        Ok(())
    }

    /// The next message from the master (one frame).
    pub async fn recv(&mut self) -> Result<Message, TransportError> {
        let frames = self.socket.recv().await?;
        if frames.len() != 1 {
            return Err(TransportError::Frames(format!(
                "the DEALER got {} frames, expected 1",
                frames.len()
            )));
        }
        let payload = frames.get(0).expect("one frame");
        Message::decode(payload).map_err(|error| TransportError::Decode { addr: None, error })
    }

    /// [`WorkerSocket::recv`] bounded by `timeout`.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Message, TransportError> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .map_err(|_| TransportError::Timeout)?
    }
}

/// The master's end: a ROUTER bound to `host:port`.
pub struct MasterSocket {
    socket: RouterSocket,
    port: u16,
}

impl MasterSocket {
    /// Binds `tcp://host:port` (`*` = every IPv4 interface; port 0 picks a free port, see [`MasterSocket::port`]).
    pub async fn bind(host: &str, port: u16) -> Result<Self, TransportError> {
        let mut socket = RouterSocket::new();
        let bound = socket.bind(&endpoint(host, port)).await?;
        let port = match bound {
            Endpoint::Tcp(_, p) => p,
            other => {
                return Err(TransportError::Frames(format!(
                    "bound a non-TCP endpoint {other}"
                )));
            }
        };
        Ok(MasterSocket { socket, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `send_to_client`: the 2-frame `[node_id, payload]`, routed by the message's node id as Locust does.
    pub async fn send_to_client(&mut self, msg: &Message) -> Result<(), TransportError> {
        let payload = msg.encode().map_err(TransportError::Encode)?;
        let frames = vec![
            Bytes::from(msg.node_id.clone().into_bytes()),
            Bytes::from(payload),
        ];
        let message = ZmqMessage::try_from(frames)
            .map_err(|_| TransportError::Frames("empty message".into()))?;
        self.socket.send(message).await?;
        Ok(())
    }

    /// `recv_from_client`: the sender's identity (UTF-8) and its message.
    pub async fn recv_from_client(&mut self) -> Result<(String, Message), TransportError> {
        let frames = self.socket.recv().await?;
        let (Some(ident), Some(payload)) = (frames.get(0), frames.get(1)) else {
            return Err(TransportError::Frames(format!(
                "the ROUTER got {} frames, expected 2",
                frames.len()
            )));
        };
        let addr = std::str::from_utf8(ident)
            .map_err(|_| TransportError::Decode {
                addr: None,
                error: CodecError::InvalidUtf8,
            })?
            .to_owned();
        match Message::decode(payload) {
            Ok(msg) => Ok((addr, msg)),
            Err(error) => Err(TransportError::Decode {
                addr: Some(addr),
                error,
            }),
        }
    }

    /// [`MasterSocket::recv_from_client`] bounded by `timeout`.
    pub async fn recv_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<(String, Message), TransportError> {
        tokio::time::timeout(timeout, self.recv_from_client())
            .await
            .map_err(|_| TransportError::Timeout)?
    }
}
