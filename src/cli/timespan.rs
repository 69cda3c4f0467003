//! Locust's time spans (reference §1.18): plain digits are seconds; otherwise optional `<n>h`, `<n>m`, `<n>s`
//! parts in that order that must make up the whole text. Fractions are refused.

/// The error text for anything that is not a time span.
pub const TIMESPAN_ERROR: &str =
    "Invalid time span format. Valid formats: 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.";

/// Seconds in a time span such as `20`, `20s`, `3m`, `2h`, `1h20m` or `3h30m10s`.
/// The error is Locust's message (an empty text gets its shorter one).
pub fn parse_timespan(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("Invalid time span format".to_string());
    }
    // Python's `^\d+$` also matches before one final newline.
    let digits = s.strip_suffix('\n').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits
            .parse::<u64>()
            .map_err(|_| TIMESPAN_ERROR.to_string());
    }
    let mut rest = s;
    let mut total: u64 = 0;
    let mut any = false;
    for (unit, factor) in [('h', 3600u64), ('m', 60), ('s', 1)] {
        let n = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 && rest[n..].starts_with(unit) {
            let v: u64 = rest[..n].parse().map_err(|_| TIMESPAN_ERROR.to_string())?;
            total = v
                .checked_mul(factor)
                .and_then(|x| x.checked_add(total))
                .ok_or_else(|| TIMESPAN_ERROR.to_string())?;
            rest = &rest[n + 1..];
            any = true;
        }
    }
    if !rest.is_empty() || !any {
        return Err(TIMESPAN_ERROR.to_string());
    }
    Ok(total)
}
