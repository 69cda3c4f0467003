//! `--baseline-limits`: what counts as a regression against the baseline.
//!
//! Rules separated by `;`, each `[[METHOD] NAME:] FIGURE TOLERANCE [TOLERANCE]`:
//! - FIGURE: `p50` … `p99.9` (also `median`), `fail_ratio`, `rps`;
//! - TOLERANCE: how much worse the figure may get: `10%` (of the baseline's value), `5ms`/`0.5s`/`5` (latency,
//!   ms), `0.5pt` (failure ratio, percentage points), `2/s` or `2` (requests/s). A `+` (latency, failures) or
//!   `-` (requests/s) may lead it, and must be the worse direction. With two tolerances the figure must be
//!   worse by more than both (`p95 +10% +5ms`: 10 % *and* 5 ms), which keeps fast names from being flagged for a
//!   fraction of a millisecond.
//! - without `NAME:` a rule is about every request name (not the Aggregated row, which mixes them all; name it
//!   `Aggregated:` to judge it); with it, about that name (optionally under that method), and it wins over a
//!   rule without one for the same figure.
//!
//! The rules given replace the default ([`DEFAULT`]). Who calls it: `report::compare` (judging), `app::gates`
//! and `app::report_cli` (parsing). What it must not do: judge anything itself.
use super::Figure;

/// The limits when none are given.
pub const DEFAULT: &str = "p50 +5% +0.5ms; p95 +10% +2ms; p99 +15% +5ms; fail_ratio +0.5pt";

/// How much worse one figure may get.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// The tolerances as written (`+10% +5ms`).
    pub text: String,
    /// Relative, in % of the baseline's value.
    pub rel_pct: Option<f64>,
    /// Absolute, in the figure's unit (ms, a 0..1 ratio, requests/s).
    pub abs: Option<f64>,
}

impl Limit {
    /// Whether getting worse by `amount` (> 0, the figure's unit) from `base` breaks every tolerance.
    pub fn exceeded(&self, amount: f64, base: f64) -> bool {
        amount > 0.0
            && self
                .rel_pct
                .is_none_or(|r| base <= 0.0 || amount / base * 100.0 > r)
            && self.abs.is_none_or(|a| amount > a)
    }
}

#[derive(Clone, Debug)]
struct Rule {
    method: Option<String>,
    name: Option<String>,
    figure: Figure,
    limit: Limit,
}

/// The parsed rules.
#[derive(Clone, Debug)]
pub struct Limits {
    rules: Vec<Rule>,
    /// Each rule as written, for the outputs.
    pub texts: Vec<String>,
}

impl Limits {
    pub fn default_limits() -> Limits {
        parse(DEFAULT).expect("the default limits parse")
    }

    /// The limit for `figure` of a row: a rule naming the row wins over one that does not; the Aggregated row is
    /// judged only by rules that name it.
    pub fn for_row(
        &self,
        method: &str,
        name: &str,
        aggregated: bool,
        figure: Figure,
    ) -> Option<&Limit> {
        let named = |r: &&Rule| {
            r.name.as_deref() == Some(name) && r.method.as_deref().is_none_or(|m| m == method)
        };
        let candidates = || self.rules.iter().filter(|r| r.figure == figure);
        candidates()
            .rfind(named)
            .or_else(|| {
                if aggregated {
                    None
                } else {
                    candidates().rfind(|r| r.name.is_none())
                }
            })
            .map(|r| &r.limit)
    }

    /// Every figure a rule names.
    pub fn figures(&self) -> Vec<Figure> {
        let mut out: Vec<Figure> = Vec::new();
        for r in &self.rules {
            if !out.contains(&r.figure) {
                out.push(r.figure);
            }
        }
        out
    }
}

fn parse_figure(text: &str) -> Option<Figure> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "fail_ratio" | "failure_ratio" | "fail-ratio" => return Some(Figure::FailRatio),
        "rps" | "requests/s" => return Some(Figure::Rps),
        "median" | "med" => return Some(Figure::Pct(0.5)),
        _ => {}
    }
    let num = t
        .strip_prefix("p(")
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| t.strip_prefix('p'))?;
    let v: f64 = num.parse().ok()?;
    (v > 0.0 && v < 100.0).then_some(Figure::Pct(v / 100.0))
}

/// One tolerance: `(relative %, absolute)`, one of them set.
fn parse_tolerance(token: &str, figure: Figure) -> Result<(Option<f64>, Option<f64>), String> {
    let worse_sign = if figure == Figure::Rps { '-' } else { '+' };
    let mut t = token.trim();
    if let Some(first) = t.chars().next()
        && (first == '+' || first == '-')
    {
        if first != worse_sign {
            return Err(format!(
                "'{token}': a tolerance says how much worse the figure may get, so its sign is '{worse_sign}' (or none)"
            ));
        }
        t = &t[1..];
    }
    let number = |s: &str| -> Result<f64, String> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("'{token}' is not a tolerance (e.g. 10%, 5ms, 0.5pt)"))
    };
    if let Some(n) = t.strip_suffix('%') {
        if figure == Figure::FailRatio {
            return Err(format!(
                "'{token}': a failure ratio's tolerance is in percentage points, e.g. +0.5pt"
            ));
        }
        return Ok((Some(number(n)?), None));
    }
    match figure {
        Figure::Pct(_) => {
            if let Some(n) = t.strip_suffix("ms") {
                Ok((None, Some(number(n)?)))
            } else if let Some(n) = t.strip_suffix('s') {
                Ok((None, Some(number(n)? * 1000.0)))
            } else {
                Ok((None, Some(number(t)?)))
            }
        }
        Figure::FailRatio => match t.strip_suffix("pt") {
            Some(n) => Ok((None, Some(number(n)? / 100.0))),
            None => Err(format!(
                "'{token}': a failure ratio's tolerance is in percentage points, e.g. +0.5pt"
            )),
        },
        Figure::Rps | Figure::Requests => {
            let n = t.strip_suffix("/s").unwrap_or(t);
            Ok((None, Some(number(n)?)))
        }
    }
}

fn parse_rule(text: &str) -> Result<Rule, String> {
    let bad = |why: String| format!("rlocust: --baseline-limits: '{text}': {why}");
    let (selector, expr) = match text.rfind(':') {
        Some(i) => (Some(text[..i].trim()), text[i + 1..].trim()),
        None => (None, text.trim()),
    };
    let mut words = expr.split_whitespace();
    let figure_text = words.next().ok_or_else(|| bad("no figure".into()))?;
    let figure = parse_figure(figure_text).ok_or_else(|| {
        bad(format!(
            "unknown figure '{figure_text}' (p50..p99.9, median, fail_ratio, rps)"
        ))
    })?;
    let mut limit = Limit {
        text: String::new(),
        rel_pct: None,
        abs: None,
    };
    let tokens: Vec<&str> = words.collect();
    if tokens.is_empty() {
        return Err(bad(
            "no tolerance after the figure (e.g. 'p95 +10% +5ms', 'fail_ratio +0.5pt')".into(),
        ));
    }
    for token in &tokens {
        let (rel, abs) = parse_tolerance(token, figure).map_err(bad)?;
        if rel.is_some() && limit.rel_pct.replace(rel.unwrap_or(0.0)).is_some()
            || abs.is_some() && limit.abs.replace(abs.unwrap_or(0.0)).is_some()
        {
            return Err(bad(format!(
                "'{token}': at most one relative and one absolute tolerance"
            )));
        }
    }
    limit.text = tokens.join(" ");
    let (method, name) = match selector {
        None => (None, None),
        Some("") => return Err(bad("empty request name before ':'".into())),
        Some(sel) => {
            let (m, n) = crate::judge::thresholds::method_and_name(sel);
            (m, Some(n))
        }
    };
    Ok(Rule {
        method,
        name,
        figure,
        limit,
    })
}

/// Parse `--baseline-limits`; one line naming the bad rule otherwise.
pub fn parse(text: &str) -> Result<Limits, String> {
    let mut rules = Vec::new();
    let mut texts = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        rules.push(parse_rule(part)?);
        texts.push(part.to_string());
    }
    if rules.is_empty() {
        return Err(
            "rlocust: --baseline-limits: no rule (e.g. 'p95 +10% +5ms; fail_ratio +0.5pt')".into(),
        );
    }
    Ok(Limits { rules, texts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_parses_and_applies_to_request_rows_only() {
        let l = Limits::default_limits();
        assert_eq!(l.texts.len(), 4);
        let p95 = l.for_row("GET", "/x", false, Figure::Pct(0.95)).unwrap();
        assert_eq!(p95.rel_pct, Some(10.0));
        assert_eq!(p95.abs, Some(2.0));
        assert!(
            l.for_row("", "Aggregated", true, Figure::Pct(0.95))
                .is_none()
        );
        assert!(l.for_row("GET", "/x", false, Figure::Rps).is_none());
        let f = l.for_row("GET", "/x", false, Figure::FailRatio).unwrap();
        assert_eq!(f.abs, Some(0.005));
    }

    #[test]
    fn named_rules_win_and_units_convert() {
        let l =
            parse("p95 10% 5ms; GET /login: p95 +20% +0.1s; Aggregated: p99 5%; rps -20%").unwrap();
        assert_eq!(
            l.for_row("GET", "/login", false, Figure::Pct(0.95))
                .unwrap()
                .abs,
            Some(100.0)
        );
        assert_eq!(
            l.for_row("POST", "/login", false, Figure::Pct(0.95))
                .unwrap()
                .abs,
            Some(5.0)
        );
        assert_eq!(
            l.for_row("", "Aggregated", true, Figure::Pct(0.99))
                .unwrap()
                .rel_pct,
            Some(5.0)
        );
        assert_eq!(
            l.for_row("GET", "/a", false, Figure::Rps).unwrap().rel_pct,
            Some(20.0)
        );
        assert!(l.figures().contains(&Figure::Rps));
    }

    #[test]
    fn both_tolerances_must_be_broken() {
        let l = Limit {
            text: String::new(),
            rel_pct: Some(10.0),
            abs: Some(5.0),
        };
        assert!(!l.exceeded(4.0, 10.0)); // +40 % but only 4 ms
        assert!(!l.exceeded(6.0, 100.0)); // 6 ms but only +6 %
        assert!(l.exceeded(12.0, 100.0));
        assert!(!l.exceeded(0.0, 0.0));
    }

    #[test]
    fn mistakes_get_one_line() {
        for (text, says) in [
            ("p95", "no tolerance"),
            ("p95 -10%", "sign is '+'"),
            ("rps +10%", "sign is '-'"),
            ("fail_ratio 1%", "percentage points"),
            ("latency 10%", "unknown figure"),
            ("p95 10% 20%", "at most one relative"),
            ("p95 ten", "not a tolerance"),
            (": p95 10%", "empty request name"),
            (" ; ", "no rule"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says) && !e.contains('\n'), "{text}: {e}");
        }
    }
}
