//! Locust-formatted log lines written from Rust (the runner, the reporters, startup and shutdown).
//!
//! Python code logs through Python's `logging`, which the shim configures with the same format and the same
//! destination, so both halves interleave into one stream: `[2026-11-21 15:56:43,107] host/INFO/locust.main: msg`.
//! The stats tables are not log lines: they go to stderr through [`print_table`] (Locust's `stats_logger`),
//! even when `--logfile` sends log lines to a file. Never takes the GIL.
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Debug = 10,
    Info = 20,
    Warning = 30,
    Error = 40,
    Critical = 50,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Level::Debug,
            "INFO" => Level::Info,
            "WARNING" => Level::Warning,
            "ERROR" => Level::Error,
            "CRITICAL" => Level::Critical,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }
}

struct Sink {
    level: Level,
    file: Option<File>,
    /// `--skip-log-setup`: Rust writes no log lines and no tables (as Locust with logging unconfigured).
    silent: bool,
}

fn sink() -> &'static Mutex<Sink> {
    static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();
    SINK.get_or_init(|| {
        Mutex::new(Sink {
            level: Level::Info,
            file: None,
            silent: false,
        })
    })
}

/// Configure the destination once the options are known.
pub fn setup(level: Level, logfile: Option<File>, silent: bool) {
    let mut s = sink().lock();
    s.level = level;
    s.file = logfile;
    s.silent = silent;
}

pub fn enabled(level: Level) -> bool {
    let s = sink().lock();
    !s.silent && level >= s.level
}

/// The host name up to the first dot, as Locust prints it.
pub fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let name = crate::sys::hostname();
        name.split('.').next().unwrap_or("").to_string()
    })
}

/// `2026-11-21 15:56:43,107` in local time (Python logging's default asctime).
pub fn asctime(unix: f64) -> String {
    let millis = ((unix - unix.floor()) * 1000.0) as u32;
    let tm = crate::sys::localtime(unix.floor() as i64);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        tm.year,
        tm.month,
        tm.day,
        tm.hour,
        tm.minute,
        tm.second,
        millis.min(999)
    )
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// How many formatted lines `/logs` shows (Locust's log reader keeps 500).
pub const KEPT_LINES: usize = 500;

fn kept() -> &'static Mutex<VecDeque<String>> {
    static KEPT: OnceLock<Mutex<VecDeque<String>>> = OnceLock::new();
    KEPT.get_or_init(|| Mutex::new(VecDeque::with_capacity(KEPT_LINES)))
}

/// Keep one formatted log line (without its newline) for the web UI's `/logs`; the oldest goes past
/// [`KEPT_LINES`]. Rust's own lines come through [`log`], Python's through the shim's log reader.
pub fn remember(line: &str) {
    let mut k = kept().lock();
    if k.len() == KEPT_LINES {
        k.pop_front();
    }
    k.push_back(line.to_string());
}

/// The kept log lines, oldest first.
pub fn recent_lines() -> Vec<String> {
    kept().lock().iter().cloned().collect()
}

/// Library mode (`rlocust-python`): log lines are handed to Python's `logging` (the hub takes them with
/// [`take_forwarded`]) instead of being written here, so a script's handlers see the runner's lines as they see
/// Locust's.
static FORWARD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static FORWARDED: Mutex<Vec<(Level, String, String)>> = Mutex::new(Vec::new());

pub fn forward_to_python() {
    FORWARD.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The lines logged since the last call, as (level number, logger, message).
pub fn take_forwarded() -> Vec<(u8, String, String)> {
    std::mem::take(&mut *FORWARDED.lock())
        .into_iter()
        .map(|(l, logger, msg)| (l as u8, logger, msg))
        .collect()
}

/// Write one log line for `logger` (e.g. "locust.main") at `level`.
pub fn log(level: Level, logger: &str, msg: &str) {
    let mut s = sink().lock();
    if s.silent || level < s.level {
        return;
    }
    if FORWARD.load(std::sync::atomic::Ordering::Relaxed) {
        drop(s);
        FORWARDED
            .lock()
            .push((level, logger.to_string(), msg.to_string()));
        return;
    }
    let at = now();
    let text = format!(
        "[{}] {}/{}/{}: {}",
        asctime(at),
        hostname(),
        level.name(),
        logger,
        msg
    );
    remember(&text);
    let line = text + "\n";
    match s.file.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
            let _ = f.flush();
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
    drop(s);
    if let Some(forward) = ALSO_TO.get() {
        forward(level, logger, msg, at);
    }
}

/// Where each line also goes after it was written: `--otel` logs install their exporter's entry here, once.
static ALSO_TO: OnceLock<fn(Level, &str, &str, f64)> = OnceLock::new();

/// Send every later log line also to `forward` (level, logger, message, unix time). The first caller wins; it
/// must not log (no recursion) nor block.
pub fn forward_to(forward: fn(Level, &str, &str, f64)) {
    let _ = ALSO_TO.set(forward);
}

pub fn info(logger: &str, msg: &str) {
    log(Level::Info, logger, msg)
}

pub fn warning(logger: &str, msg: &str) {
    log(Level::Warning, logger, msg)
}

/// A stats table (already formatted, ending in an empty line) to stderr, as Locust's stats logger does.
pub fn print_table(text: &str) {
    let s = sink().lock();
    if s.silent {
        return;
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}
