//! The logs bridge of `--otel`: every log line rlocust writes (Rust's through `log::log`, the locustfile's and
//! the shim's Python `logging` records through the shim's log reader) also becomes an OTLP log record, with the
//! logger's name as its instrumentation scope and Python's severity, as Locust's `LoggingHandler` exports them.
//!
//! Who calls it: `log::log` ([`emit`], installed with `log::forward_to`) after it wrote a line, `py::log_line`
//! ([`emit_python_line`]) with a formatted Python line; [`super::start`] installs the provider. What it must not do: cost anything when
//! `--otel` logs are off (one load of an unset `OnceLock`), call back into `log` (no recursion), or block.
use crate::log::Level;
use opentelemetry::logs::{AnyValue, LogRecord, Logger, LoggerProvider, Severity};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

struct Bridge {
    provider: SdkLoggerProvider,
    /// One logger (instrumentation scope) per logger name.
    loggers: Mutex<HashMap<String, SdkLogger>>,
}

static BRIDGE: OnceLock<Bridge> = OnceLock::new();

pub(super) fn install(p: &SdkLoggerProvider) {
    let _ = BRIDGE.set(Bridge {
        provider: p.clone(),
        loggers: Mutex::new(HashMap::new()),
    });
    crate::log::forward_to(emit);
}

/// Python's severity text (`WARNING` is `WARN` in OpenTelemetry's mapping) and number.
fn severity(level: Level) -> (&'static str, Severity) {
    match level {
        Level::Debug => ("DEBUG", Severity::Debug),
        Level::Info => ("INFO", Severity::Info),
        Level::Warning => ("WARN", Severity::Warn),
        Level::Error => ("ERROR", Severity::Error),
        Level::Critical => ("CRITICAL", Severity::Fatal),
    }
}

/// One log line of `logger` at `level`, written at unix time `at`.
#[inline]
pub fn emit(level: Level, logger: &str, msg: &str, at: f64) {
    let Some(b) = BRIDGE.get() else {
        return;
    };
    let l = {
        let mut loggers = b.loggers.lock();
        match loggers.get(logger) {
            Some(l) => l.clone(),
            None => {
                let l = b.provider.logger(logger.to_string());
                loggers.insert(logger.to_string(), l.clone());
                l
            }
        }
    };
    let (text, number) = severity(level);
    let mut r = l.create_log_record();
    let when = UNIX_EPOCH + Duration::from_secs_f64(at.max(0.0));
    r.set_timestamp(when);
    r.set_observed_timestamp(when);
    r.set_severity_text(text);
    r.set_severity_number(number);
    r.set_body(AnyValue::from(msg.to_string()));
    l.emit(r);
}

/// A Python log line as the shim formats it, `[2026-11-21 15:56:43,107] host/LEVEL/logger.name: message`
/// (the message may span lines, e.g. a traceback).
pub fn emit_python_line(line: &str) {
    if BRIDGE.get().is_none() {
        return;
    }
    if let Some((level, logger, msg)) = parse_python_line(line) {
        emit(level, logger, msg, crate::log::now());
    }
}

fn parse_python_line(line: &str) -> Option<(Level, &str, &str)> {
    let rest = line.strip_prefix('[')?;
    let (_, rest) = rest.split_once("] ")?;
    let (_host, rest) = rest.split_once('/')?;
    let (level, rest) = rest.split_once('/')?;
    let (logger, msg) = rest.split_once(": ")?;
    let level = match level {
        "WARNING" | "WARN" => Level::Warning,
        other => Level::parse(other)?,
    };
    Some((level, logger, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_lines_parse() {
        assert_eq!(
            parse_python_line("[2026-11-21 15:56:43,107] vm/WARNING/mine: hello: there\nline 2"),
            Some((Level::Warning, "mine", "hello: there\nline 2"))
        );
        assert_eq!(parse_python_line("plain text"), None);
    }
}
