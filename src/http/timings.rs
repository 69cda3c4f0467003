//! A call's instants, declared once: what the connection observed of the exchange that gave the final response
//! ([`Stamps`], with the setup of a connection opened for it, [`Setup`]), and the call's start and end around it
//! ([`Timings`]), on the monotonic clock, with the start as Unix time.
//!
//! Who makes it: `conn` fills a [`Stamps`] as it reads each exchange (HTTP/1.1 and HTTP/2) and hands it up in the
//! response, where it stays as it is; [`super::UserClient::execute`] wraps the final hop's in the call's
//! [`Timings`], once per call, without copying it field by field. Who reads it: `engine::record` alone turns it into
//! records (the request row, the generator's socket lateness, stream metrics, OpenTelemetry); `py` reads what the
//! engine decided. What it must not do: record anything, or decide what a figure means for Locust (the response
//! time of a `stream=True` call is the head's; that rule is the engine's).
//!
//! To add an instant (connect, TLS, a chunk of a streamed body): declare it in [`Stamps`] (or [`Setup`]), observe
//! it where the bytes are read (`conn`), and let `engine::record` decide what it becomes. Nothing between them
//! names it.
use std::time::{Duration, Instant};

/// When a new connection was ready: its TCP connection (through the proxy's tunnel, if any) and its TLS
/// handshake.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub connected: Instant,
    /// `None` for plain HTTP.
    pub secured: Option<Instant>,
}

/// What the connection observed of one exchange (one hop of a call), as `conn` stamps it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stamps {
    /// When the connection the response came on was connected and secured, if the exchange opened it; `None`
    /// when it reused one.
    pub setup: Option<Setup>,
    /// When the request had been written to its connection (over HTTP/2, its END_STREAM frame); `None` when
    /// unknown or no request went out.
    pub sent: Option<Instant>,
    /// When the response's head had arrived (as the kernel stamped its packets, where it does); `None` when the
    /// exchange ended without one.
    pub head: Option<Instant>,
    /// When the first byte of its body arrived (with the head, when they came in one read); `None` without
    /// one, or for `stream=True` when the call returned before any.
    pub first_byte: Option<Instant>,
    /// How long the bytes that ended the exchange (its head, for a streamed response) had waited in the socket
    /// before the I/O thread read them (`conn::stamp`): the generator's delay, not the server's, so the response
    /// time leaves it out. Zero where the kernel does not say.
    pub socket_wait: Duration,
}

/// When a call started, ran and ended.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// When the call began (before connecting), as Unix time in seconds.
    pub start_unix: f64,
    /// The same moment on the monotonic clock.
    pub start: Instant,
    /// When the call ended: its response read through (up to its head, for `stream=True`), or its error.
    pub end: Instant,
    /// The final response's exchange, as the connection stamped it (all `None` when the call ended without a
    /// response).
    pub hop: Stamps,
}

impl Timings {
    /// A call starting now.
    pub fn start_now() -> Timings {
        let start = Instant::now();
        Timings {
            start_unix: crate::log::now(),
            start,
            end: start,
            hop: Stamps::default(),
        }
    }

    /// Locust's response time in ms: from the start to the end, less the socket wait.
    pub fn response_ms(&self) -> f64 {
        self.end
            .saturating_duration_since(self.start)
            .saturating_sub(self.hop.socket_wait)
            .as_secs_f64()
            * 1000.0
    }

    /// From the start to the final response's head in ms (what requests has timed when a `stream=True` call
    /// returns); the response time when there was no head.
    pub fn head_ms(&self) -> f64 {
        match self.hop.head {
            Some(h) => h.saturating_duration_since(self.start).as_secs_f64() * 1000.0,
            None => self.response_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_time_leaves_out_the_socket_wait_and_the_head_time_falls_back_to_it() {
        let mut t = Timings::start_now();
        t.end = t.start + Duration::from_millis(30);
        t.hop.socket_wait = Duration::from_millis(4);
        assert!((t.response_ms() - 26.0).abs() < 1e-9);
        assert!((t.head_ms() - 26.0).abs() < 1e-9);
        t.hop.head = Some(t.start + Duration::from_millis(10));
        assert!((t.head_ms() - 10.0).abs() < 1e-9);
        // a wait longer than the call is no negative time
        t.hop.socket_wait = Duration::from_secs(1);
        assert_eq!(t.response_ms(), 0.0);
    }
}
