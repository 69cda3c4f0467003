//! HTTP basic authentication of `--basic-auth` (`user:password`, rlocust's own option; Locust 2.47's `--web-auth`
//! is refused), compared in constant time.
//!
//! Who calls it: the web UI's router (`routes::edge`, before every answer) and the `--metrics-port` listener
//! (`metrics`). What it must not do: log or keep what a client sent.
use axum::http::{HeaderMap, header};
use base64::Engine as _;

/// Whether `headers` carry the `user:password` of `--basic-auth` (always true without it).
pub fn ok(expected: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| token.trim().to_string())
        })
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
    else {
        return false;
    };
    // compare without an early exit, so the time taken says nothing about the password
    let want = expected.as_bytes();
    let mut diff = given.len() ^ want.len();
    for (i, b) in want.iter().enumerate() {
        diff |= (*b ^ given.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}
