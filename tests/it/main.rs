//! The one Rust integration-test binary (each binary links libpython and the whole crate, so they are modules of
//! one): `cli` runs the `rlocust` binary (user errors, a short real run against the loopback target), and
//! `dist_interop` speaks Locust's distributed protocol with real Locust 2.47 masters and workers.
//! Run one with `cargo test --release --test it cli::` (or `dist_interop::`).
mod cli;
mod dist_interop;
