//! rlocust: runs Locust locustfiles unchanged, with the HTTP client, scheduling, statistics and reports in Rust.
//!
//! Module map, from the ground floor up (a module imports only from floors below it; only `interp`, `py` and `doors`
//! touch Python; `cargo doc --open` shows each module's own header: who calls it, what it must not do):
//! - `version`, `sys`, `pyfmt`: the ground. The two version strings; the OS calls as safe functions (host name,
//!   local time, terminal, limits, clocks, signals, eventfd); Python-shaped text (`repr`, `%d`, the int/float
//!   [`pyfmt::Num`]) and the JSON value type with the JSON Python and Flask write ([`pyfmt::json`]).
//! - `tokens`: Hugging Face tokenizers read from a `tokenizer.json` (count, encode, decode), loaded once per path.
//! - `msgpack`: Locust's message codec (msgpack byte for byte as Python writes it), and the value type a
//!   distributed-mode message carries.
//! - `log`: Locust-formatted log lines from Rust (a hook forwards them to `--otel` logs).
//! - `stats`: request statistics (HDR histograms), metric rows, failures, task exceptions, history, lateness.
//! - `cli`: flags, config files, `LOCUST_*` variables, timespans, `--help`.
//! - `http`: one HTTP call on tokio, as each Locust client makes it (requests-style semantics); `http::CallTrace`
//!   is the hook an observer of calls implements.
//! - `otel`: `--otel` (OpenTelemetry metrics, traces of HttpUser calls, logs), implementing `http`'s and `log`'s
//!   hooks.
//! - `bridge`: the queue and eventfd between tokio and the Python thread (typed messages, one consumer).
//! - `engine`: the tokio half of a request: batches the hub's requests, runs them, records them, completes them.
//! - `runner`: when users start and stop; the user-class dispatch sequence; keyboard, watchdog, CPU monitor; the
//!   run context (`runner::Context`: where the run's state lives, handed down to every reader) and the run's
//!   readings as one value (`runner::readings`: taken from the context, handed to every writer, windows by
//!   `since`).
//! - `judge`: the `--thresholds` grammar and its evaluation on readings, and the capacity search (`--search`).
//! - `report`: console tables, CSV, JSON, the HTML report, the summary JSON, the comparison with a
//!   baseline (`report::compare`), `/metrics`'s text, and the JSON rows the web API and the report share
//!   (`report::ui_json`). Fed snapshots and plain data.
//! - `distributed`: distributed mode (Locust's master/worker protocol: ZeroMQ transport, the master, the worker,
//!   `--processes`).
//! - `web`: the web UI's server (axum on the engine's runtime): the API's routes, pages, login, `/metrics`.
//! - `py`: the classes and functions Python sees (below `app`: it never calls the program's flow).
//! - `interp`: the embedded interpreter, the hub loop, loading locustfiles.
//! - `app`: the program flow (options, locustfiles, run, final output), standalone and as a library.
//! - `doors`: how each way of starting rlocust enters `app` (the binaries' `main`, the wheel's `_rlocust` module
//!   with its console-script and plugin entry points). Nothing imports it.
//! - `target`: the small loopback HTTP server used by the demo and the tests.
//!
//! Where a newcomer adds things (each place's module header has its "To add" note, saying what else it touches):
//! - an option: one row in `cli::spec`'s `declare!` list (flags, destination, type, default, env variable, group,
//!   help), ending in the typed field of `cli::Options` that Rust reads (with its reader in `cli::spec::read`) or
//!   in `@python`; the table, the struct and `Options::from_values` are generated from it;
//! - an API route of the web UI: `web::routes` (one `.route` line in `router` and a named handler);
//! - a figure every statistics row carries (request rows and metric rows): `stats::totals`;
//! - a reading of the run that every writer sees (console, CSV, JSON, HTML, web UI, `/metrics`): `runner::readings`;
//! - an instant of a call (a chunk, a handshake): `http::timings`;
//! - a Response attribute (Python's `requests.Response` surface): `py::response`;
//! - a shim function Rust calls: `py::callables`;
//! - a chart of the dashboard or the HTML report: `webui/README.md` ("How to add a chart");
//! - a `/metrics` family: `report::prometheus` (one named part of `render`);
//! - an OS call: `sys`, with its `// SAFETY:` line (clippy's `undocumented_unsafe_blocks` asks for it).
//!
//! The quick loop: `make build`, then one test file (`.venv/bin/python -m pytest -q tests/web/test_api.py -k x`,
//! with the environment variables of the Makefile's target for that suite) or `cargo test --release --lib NAME`;
//! `make lint` before a commit.
pub mod app;
pub mod bridge;
pub mod cli;
pub mod distributed;
pub mod doors;
pub mod engine;
pub mod http;
pub mod int_hash;
pub mod interp;
pub mod judge;
pub mod log;
pub mod msgpack;
pub mod otel;
pub mod py;
pub mod pyfmt;
pub mod report;
pub mod runner;
pub mod stats;
pub mod sys;
pub mod target;
pub mod tokens;
pub mod version;
pub mod web;

/// The recorded Locust samples the unit tests compare with (tests/samples, see its README): read, or fail the test.
#[cfg(test)]
pub(crate) mod test_samples {
    /// The text of `tests/samples/locust-2.47/<relative>`; panics (failing the test) when it is missing.
    pub fn read(relative: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/samples/locust-2.47")
            .join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the recorded sample {} cannot be read ({e})",
                path.display()
            )
        })
    }
}

// Every request allocates and frees small buffers on two threads (the Python thread builds the request, a tokio
// worker finishes it, the Python thread drops the response): glibc's malloc spent ~20% of all CPU there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
