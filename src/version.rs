//! The two versions a run names, defined once: rlocust's own (the crate's) and the Locust version it follows.
//!
//! Who reads it: `-V` and the start line (`app`), the web UI's page and `/version`, the summary JSON, the
//! `locust_info` metric, OpenTelemetry's `service.version`, and the distributed protocol's version handshake.
//! The Makefile reads `LOCUST_VERSION` from this file (the image's tag).
//!
//! What it must not do: import anything of the crate, or hold anything but constants.

/// rlocust's version (Cargo.toml's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Locust release whose behaviour rlocust follows (and announces to Locust masters and workers).
pub const LOCUST_VERSION: &str = "2.47.0";
