//! The exceptions FastHttpUser's client stack raises while reading a response (geventhttpclient's
//! `HTTPParseError` and `HTTPConnectionClosed`, UserAgent's `RetriesExceeded`, the `OSError`s of gevent's socket
//! with CPython's `strerror` texts) and what Locust makes of a response: the statuses it accepts,
//! `LocustBadStatusCode` (or the `UnicodeDecodeError` of its debug text), and which exceptions it records.
//!
//! Who calls it: [`LlReader`](super::LlReader) (the exceptions) and, through `llhttp`'s re-exports, the engine
//! (`http`: the status check, recorded failures versus exceptions raised into the task). Must not: decide when an
//! exception is raised (the reader does), or change a class, an argument or a text: Locust's failure rows show
//! them.
use super::tables::PErr;
use crate::http::wire::exc::{PyExc, PyVal, os_error, os_error_class};

pub(super) fn parse_error(e: PErr) -> PyExc {
    PyExc::new(
        "geventhttpclient._parser.HTTPParseError",
        vec![PyVal::str(e.reason), PyVal::int(e.code)],
    )
}

pub(super) fn parse_text(text: &str) -> PyExc {
    PyExc::new(
        "geventhttpclient._parser.HTTPParseError",
        vec![PyVal::str(text)],
    )
}

pub(super) fn connection_closed() -> PyExc {
    PyExc::new(
        "geventhttpclient.response.HTTPConnectionClosed",
        vec![PyVal::str("connection closed.")],
    )
}

pub(super) fn bad_fd() -> PyExc {
    errno_exc(libc::EBADF)
}

/// `RetriesExceeded(url, 0, original=<e>)`: UserAgent.urlopen after a retriable error, with FastHttpUser's
/// `max_retries = 0`.
pub(super) fn retries_exceeded(url: &str, original: PyExc) -> PyExc {
    let kw = format!("original={}", original.str_text());
    // (geventhttpclient's ConnectionError keeps the URL, and `text`: its args' and keywords' text)
    PyExc::new(
        "geventhttpclient.useragent.RetriesExceeded",
        vec![PyVal::str(url), PyVal::int(0)],
    )
    .with_attr("url", PyVal::str(url))
    .with_attr("original", PyVal::Exc(Box::new(original)))
    .with_attr("text", PyVal::str(format!("0, {kw}")))
    .with_attr("kw_text", PyVal::str(kw))
}

/// The OSError subclass and `strerror` text CPython gives an errno.
pub fn errno_exc(errno: i32) -> PyExc {
    let class = os_error_class(errno);
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    let text = text.strip_suffix(&suffix).unwrap_or(&text);
    os_error(class, errno, text)
}

/// Locust's FastHttpUser accepts these statuses (`LocustUserAgent.valid_response_codes`); with redirects followed,
/// 301/302/303/307/308 with a Location are followed instead.
pub const LOCUST_VALID_STATUSES: [u16; 16] = [
    200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 301, 302, 303, 304, 307, 308,
];

/// What FastHttpSession makes of a response read without error whose status it does not accept: UserAgent.urlopen
/// builds its debug text (`_conversation_str`), which decodes the body as UTF-8 — a body that is not UTF-8 raises
/// `UnicodeDecodeError` out of `FastHttpSession.request` (not a recorded failure) — and then Locust records
/// `LocustBadStatusCode(code=N)` with the body's length. (An error while reading such a body is recorded as the
/// error itself, with status 0 and length 0: Locust's ErrorResponse.)
pub fn locust_bad_status(url: &str, status: u16, body: &[u8]) -> PyExc {
    if let Err(e) = std::str::from_utf8(body) {
        let start = e.valid_up_to();
        let (end, reason) = match e.error_len() {
            None => (body.len(), "unexpected end of data"),
            Some(n) => {
                let lead = body[start];
                let reason = if (0x80..=0xc1).contains(&lead) || lead >= 0xf5 {
                    "invalid start byte"
                } else {
                    "invalid continuation byte"
                };
                (start + n, reason)
            }
        };
        return PyExc::new(
            "builtins.UnicodeDecodeError",
            vec![
                PyVal::str("utf-8"),
                PyVal::Bytes(body.to_vec()),
                PyVal::int(start),
                PyVal::int(end),
                PyVal::str(reason),
            ],
        );
    }
    PyExc::new(
        "locust.contrib.fasthttp.LocustBadStatusCode",
        vec![PyVal::str(url)],
    )
    .with_attr("code", PyVal::int(status))
    .with_attr("kw_text", PyVal::str(format!("code={status}")))
}

/// Whether Locust's FastHttpSession records this exception as the request's failure (`FAILURE_EXCEPTIONS`); the
/// others (ValueError of an unknown Content-Encoding, brotli.error, UnicodeDecodeError) escape
/// `FastHttpSession.request` into the task.
pub fn recorded_by_locust(e: &PyExc) -> bool {
    !matches!(
        e.class,
        "builtins.ValueError"
            | "builtins.UnicodeDecodeError"
            | "brotli.error"
            | "builtins.RuntimeError"
    )
}
