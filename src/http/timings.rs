//! A call's timings as one value: the instants `http` observed while it ran the call, on the monotonic clock, and
//! the call's start as Unix time.
//!
//! Who makes it: [`super::UserClient::execute`], once per call. Who reads it: `engine::record` alone turns it into
//! records (the request row, the generator's socket lateness, OpenTelemetry); `py` reads what the engine decided.
//! What it must not do: record anything, or decide what a figure means for Locust (the response time of a
//! `stream=True` call is the head's; that rule is the engine's).
//!
//! To add an instant (each chunk of a streamed body): observe it where the bytes are read (`conn`), carry it here,
//! and let `engine::record` decide what it becomes.
use std::time::{Duration, Instant};

/// When a call started, ran and ended.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// When the call began (before connecting), as Unix time in seconds.
    pub start_unix: f64,
    /// The same moment on the monotonic clock.
    pub start: Instant,
    /// When the connection the final response came on was connected (through a proxy's tunnel, if any) and its
    /// TLS handshake done, if the call opened it; `None` when it reused one.
    pub connected: Option<Instant>,
    pub secured: Option<Instant>,
    /// When the final request had been written to its connection (over HTTP/2, its END_STREAM frame); `None`
    /// when unknown or no request went out.
    pub sent: Option<Instant>,
    /// When the final response's head had arrived (as the kernel stamped its packets, where it does); `None`
    /// when the call ended without a response.
    pub head: Option<Instant>,
    /// When the first byte of its body arrived (with the head, when they came in one read); `None` without
    /// one, or for `stream=True` when the call returned before any.
    pub first_byte: Option<Instant>,
    /// When the call ended: its response read through (up to its head, for `stream=True`), or its error.
    pub end: Instant,
    /// How long the bytes that ended the call had waited in the socket before the I/O thread read them
    /// (`conn::stamp`): the generator's delay, not the server's, so the response time leaves it out.
    pub socket_wait: Duration,
}

impl Timings {
    /// A call starting now.
    pub fn start_now() -> Timings {
        let start = Instant::now();
        Timings {
            start_unix: crate::log::now(),
            start,
            connected: None,
            secured: None,
            sent: None,
            head: None,
            first_byte: None,
            end: start,
            socket_wait: Duration::ZERO,
        }
    }

    /// Locust's response time in ms: from the start to the end, less the socket wait.
    pub fn response_ms(&self) -> f64 {
        self.end
            .saturating_duration_since(self.start)
            .saturating_sub(self.socket_wait)
            .as_secs_f64()
            * 1000.0
    }

    /// From the start to the final response's head in ms (what requests has timed when a `stream=True` call
    /// returns); the response time when there was no head.
    pub fn head_ms(&self) -> f64 {
        match self.head {
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
        t.socket_wait = Duration::from_millis(4);
        assert!((t.response_ms() - 26.0).abs() < 1e-9);
        assert!((t.head_ms() - 26.0).abs() < 1e-9);
        t.head = Some(t.start + Duration::from_millis(10));
        assert!((t.head_ms() - 10.0).abs() < 1e-9);
        // a wait longer than the call is no negative time
        t.socket_wait = Duration::from_secs(1);
        assert_eq!(t.response_ms(), 0.0);
    }
}
