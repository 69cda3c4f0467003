//! rlocust: runs Locust locustfiles unchanged, with the HTTP client, scheduling, statistics and reports in Rust.
//!
//! Module map (one responsibility each; only `interp` and `py` touch Python):
//! - `app`: the program flow (options, locustfiles, run, final output).
//! - `bridge`: the queue and eventfd between tokio and the Python thread (typed messages, one consumer).
//! - `cli`: flags, config files, `LOCUST_*` variables, timespans.
//! - `engine`: the tokio half of a request: batches the hub's requests, runs them, records them, completes them.
//! - `stats`: request statistics (HDR histograms), failures, task exceptions.
//! - `report`: console tables, CSV and JSON writers.
//! - `http`: one HTTP call on tokio, as each Locust client makes it (requests-style semantics).
//! - `runner`: when users start and stop; the user-class dispatch sequence.
//! - `interp`: the embedded interpreter, the hub bridge, loading locustfiles.
//! - `py`: the classes Python sees.
//! - `log`: Locust-formatted log lines from Rust.
//! - `web`: the web UI's HTTP API (axum on the engine's runtime), read from the Rust run state.
//! - `dist`: Locust's distributed protocol (msgpack codec, ZeroMQ transport); not wired into the CLI yet.
//! - `target`: the small loopback HTTP server used by the demo and the tests.
pub mod app;
pub mod bridge;
pub mod cli;
pub mod dist;
pub mod engine;
pub mod http;
pub mod interp;
pub mod log;
pub mod otel;
pub mod py;
pub mod pyfmt;
pub mod report;
pub mod runner;
pub mod stats;
pub mod sys;
pub mod target;
pub mod version;
pub mod web;

// Every request allocates and frees small buffers on two threads (the Python thread builds the request, a tokio
// worker finishes it, the Python thread drops the response): glibc's malloc spent ~20% of all CPU there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
