//! Pass/fail thresholds: `--thresholds` rules (k6's idea, Locust's names) and locust-plugins' `--check-rps`,
//! `--check-fail-ratio`, `--check-avg-response-time`, evaluated from the exact histograms of a [`Snapshot`].
//!
//! A rule is `[[METHOD] NAME:] METRIC OP VALUE [abort[=GRACE]]`, rules separated by `;`:
//! - METRIC: `p50` … `p99.9` (also `p(95)`, `median`/`med`; `p99_corrected`: corrected for coordinated
//!   omission), `avg`, `min`, `max` (ms; a value may end in `ms` or `s`), `fail_ratio` (0..1), `rps` (Locust's `total_rps`), `requests`, `failures`.
//!   An open workload's (`--arrival-rate`; about the whole run, no `NAME:`): `dropped` (iterations dropped),
//!   `dropped_ratio` (dropped / intended, 0..1 or a %), `iteration_rate` (iterations started per second, on
//!   average), `start_lag_p50` … `start_lag_p99.9` and `start_lag_max` (ms: how late iterations started after
//!   their intended instants). Without an open workload they have no data (and fail).
//!   A metric row's (`stats::metrics`: a stream's `ttft`, `itl`, `e2e`, `tpot`, `output_tokens`, or a locustfile's
//!   own): `SERIES.STAT`, STAT one of `p50` … `p99.9`, `avg`, `min`, `max`, `count` (`ttft.p99<500`,
//!   `output_tokens.avg>=100`), in the metric's unit (`ms` or `s` may end the value of a metric in ms); with
//!   `NAME:` about that request name's row, else about the metric's row over all names. A rule on a metric the run
//!   never recorded has no data (and fails).
//! - OP: `<`, `<=`, `>`, `>=`.
//! - The text before the last `:` selects rows by request name, optionally preceded by the method (`GET
//!   /login:`); without it the rule is about the Aggregated row. A rule that selects several rows (one name
//!   under several methods) must hold for each; a latency rule on rows without response times fails ("no
//!   data"), a rule whose name matches no row is evaluated on zeros.
//! - `abort`: the runner stops the test as soon as the rule fails while it runs (checked every second, after
//!   GRACE, a Locust time span such as `30s`, from the start of the test).
//!
//! Who calls it: `app::gates` (parses at startup, evaluates during the run for `abort` rules and at the end),
//! `report::summary` (the outcomes go into the JSON summary), the capacity search (`judge::search`: an SLO is
//! rules in this grammar, judged on a probe's window of readings). What it must not do: read live statistics, decide
//! the exit code (the session does: 3 when a rule failed), or touch Python.
use std::fmt::Write as _;

use crate::runner::readings::Readings;
use crate::stats::{EntrySnapshot, Snapshot};

/// What a rule measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// A percentile, `p` in 0..=1.
    Percentile(f64),
    /// A percentile corrected for coordinated omission (the measured one for rows without fixed-rate users).
    CorrectedPercentile(f64),
    Avg,
    Min,
    Max,
    FailRatio,
    Rps,
    Requests,
    Failures,
    /// An open workload's (`runner::open`): dropped iterations, their share of the arrivals, the iterations
    /// started per second, a percentile of the start lag (ms; 1.0: the maximum).
    Dropped,
    DroppedRatio,
    IterationRate,
    StartLag(f64),
}

impl Metric {
    /// About the open workload as a whole (not a request row).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Metric::Dropped | Metric::DroppedRatio | Metric::IterationRate | Metric::StartLag(_)
        )
    }

    pub fn is_latency(self) -> bool {
        matches!(
            self,
            Metric::Percentile(_)
                | Metric::CorrectedPercentile(_)
                | Metric::Avg
                | Metric::Min
                | Metric::Max
                | Metric::StartLag(_)
        )
    }

    /// The unit of the value in tables and JSON.
    pub fn unit(self) -> &'static str {
        if self.is_latency() {
            "ms"
        } else {
            match self {
                Metric::Rps | Metric::IterationRate => "1/s",
                _ => "",
            }
        }
    }

    /// The metric's name in the summary: `p95`, `p99.9`, `avg`, …
    pub fn label(self) -> String {
        match self {
            Metric::Percentile(p) => format!("p{}", pct_text(p)),
            Metric::CorrectedPercentile(p) => format!("p{}_corrected", pct_text(p)),
            Metric::Avg => "avg".into(),
            Metric::Min => "min".into(),
            Metric::Max => "max".into(),
            Metric::FailRatio => "fail_ratio".into(),
            Metric::Rps => "rps".into(),
            Metric::Requests => "requests".into(),
            Metric::Failures => "failures".into(),
            Metric::Dropped => "dropped".into(),
            Metric::DroppedRatio => "dropped_ratio".into(),
            Metric::IterationRate => "iteration_rate".into(),
            Metric::StartLag(p) if p >= 1.0 => "start_lag_max".into(),
            Metric::StartLag(p) => format!("start_lag_p{}", pct_text(p)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    pub fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }
}

/// Which of locust-plugins' checks a rule stands for (it logs the plugin's lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Rps,
    FailRatio,
    AvgResponseTime,
}

/// One rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The rule as written (`--check-rps 10` reads `rps>=10`).
    pub text: String,
    /// `(method, name)` of the rows it is about; `None`: the Aggregated row.
    pub method: Option<String>,
    pub name: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// In the metric's unit (ms for latencies).
    pub limit: f64,
    /// `abort`: seconds of grace from the start of the test.
    pub abort_after: Option<f64>,
    pub check: Option<Check>,
    /// `SERIES.STAT`: the metric whose rows it is about (`metric` is then the statistic, `Requests` its count).
    pub series: Option<String>,
}

impl Rule {
    /// The rule's metric as the summary and the search name it: `p95`, `fail_ratio`, `ttft.p95`, `ttft.count`.
    pub fn metric_label(&self) -> String {
        match &self.series {
            Some(s) if self.metric == Metric::Requests => format!("{s}.count"),
            Some(s) => format!("{s}.{}", self.metric.label()),
            None => self.metric.label(),
        }
    }
}

/// A rule's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub rule: Rule,
    /// The row it was decided on (`Aggregated`, or `METHOD NAME`).
    pub target: String,
    /// `None`: no data (a latency rule on rows without response times).
    pub actual: Option<f64>,
    pub passed: bool,
    /// The unit of `actual` (a metric row's own unit for `SERIES.STAT`).
    pub unit: String,
}

/// `0.999` → `99.9`.
fn pct_text(p: f64) -> String {
    let mut s = format!("{:.4}", p * 100.0);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

fn parse_metric(s: &str) -> Option<Metric> {
    let s = s.trim().to_ascii_lowercase();
    if let Some(base) = s.strip_suffix("_corrected") {
        return match parse_metric(base)? {
            Metric::Percentile(p) => Some(Metric::CorrectedPercentile(p)),
            _ => None,
        };
    }
    match s.as_str() {
        "avg" | "mean" => return Some(Metric::Avg),
        "min" => return Some(Metric::Min),
        "max" => return Some(Metric::Max),
        "med" | "median" => return Some(Metric::Percentile(0.5)),
        "fail_ratio" | "failure_ratio" => return Some(Metric::FailRatio),
        "rps" => return Some(Metric::Rps),
        "requests" => return Some(Metric::Requests),
        "failures" => return Some(Metric::Failures),
        "dropped" | "dropped_iterations" => return Some(Metric::Dropped),
        "dropped_ratio" => return Some(Metric::DroppedRatio),
        "iteration_rate" => return Some(Metric::IterationRate),
        "start_lag_max" => return Some(Metric::StartLag(1.0)),
        _ => {}
    }
    if let Some(p) = s.strip_prefix("start_lag_") {
        return match parse_metric(p)? {
            Metric::Percentile(p) => Some(Metric::StartLag(p)),
            _ => None,
        };
    }
    let rest = s.strip_prefix('p')?;
    let rest = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest);
    let pct: f64 = rest.parse().ok()?;
    // 99.9 / 100 is 0.9990000000000001 in floats: round to the nearest 1e-10 (Locust's percentile rank is
    // `int(n * p)`, which such an error can move by one)
    (pct > 0.0 && pct <= 100.0).then_some(Metric::Percentile((pct / 100.0 * 1e10).round() / 1e10))
}

fn parse_value(s: &str, metric: Metric) -> Option<f64> {
    let s = s.trim();
    let (num, scale) = if metric.is_latency() {
        if let Some(n) = s.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = s.strip_suffix('s') {
            (n, 1000.0)
        } else {
            (s, 1.0)
        }
    } else if metric == Metric::FailRatio || metric == Metric::DroppedRatio {
        match s.strip_suffix('%') {
            Some(n) => (n, 0.01),
            None => (s, 1.0),
        }
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    v.is_finite().then_some(v * scale)
}

/// One rule of `--thresholds`.
/// A rule's `[METHOD] NAME` selector: an all-capitals first word is the method (`GET /login`), else it is all
/// name. (Also `--baseline-limits`'s.)
pub(crate) fn method_and_name(sel: &str) -> (Option<String>, String) {
    match sel.split_once(' ') {
        Some((m, n))
            if !m.is_empty()
                && m.chars().all(|c| c.is_ascii_uppercase())
                && !n.trim().is_empty() =>
        {
            (Some(m.to_string()), n.trim().to_string())
        }
        _ => (None, sel.to_string()),
    }
}

fn parse_rule(text: &str, option: &str) -> Result<Rule, String> {
    let bad = |why: &str| format!("rlocust: {option}: '{text}': {why}");
    // a trailing `abort` / `abort=GRACE`
    let mut body = text.trim();
    let mut abort_after = None;
    if let Some((head, last)) = body.rsplit_once(char::is_whitespace) {
        let last = last.trim();
        if last == "abort" {
            abort_after = Some(0.0);
            body = head.trim_end();
        } else if let Some(grace) = last.strip_prefix("abort=") {
            let secs = crate::cli::timespan::parse_timespan(grace)
                .map_err(|_| bad(&format!("'{grace}' is not a time span (e.g. 30s, 1m)")))?;
            abort_after = Some(secs as f64);
            body = head.trim_end();
        }
    }
    let (selector, expr) = match body.rfind(':') {
        Some(i) => (Some(body[..i].trim()), body[i + 1..].trim()),
        None => (None, body),
    };
    let op_at = expr
        .find(['<', '>'])
        .ok_or_else(|| bad("no comparison (<, <=, >, >=)"))?;
    let (metric_text, rest) = expr.split_at(op_at);
    let (op, value_text) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else {
        (Op::Gt, &rest[1..])
    };
    let (series, metric) = match parse_metric(metric_text) {
        Some(m) => (None, m),
        None => match parse_series(metric_text) {
            Some((series, m)) => (Some(series), m),
            None => {
                return Err(bad(&format!(
                    "unknown metric '{}' (p50..p99.9, p99_corrected, avg, min, max, fail_ratio, rps, requests, failures, dropped, dropped_ratio, iteration_rate, start_lag_p99; a metric row's SERIES.STAT, e.g. ttft.p99)",
                    metric_text.trim()
                )));
            }
        },
    };
    let limit = parse_value(value_text, metric)
        .ok_or_else(|| bad(&format!("'{}' is not a number", value_text.trim())))?;
    if series.is_some() {
        let name = match selector {
            Some("") => return Err(bad("empty request name before ':'")),
            s => s.map(str::to_string),
        };
        return Ok(Rule {
            text: text.trim().to_string(),
            method: None,
            name,
            metric,
            op,
            limit,
            abort_after,
            check: None,
            series,
        });
    }
    if metric.is_open() && selector.is_some() {
        return Err(bad(
            "an arrival-rate metric is about the whole run: no 'NAME:' before it",
        ));
    }
    let (method, name) = match selector {
        None => (None, None),
        Some("") => return Err(bad("empty request name before ':'")),
        Some(sel) => {
            let (m, n) = method_and_name(sel);
            (m, Some(n))
        }
    };
    Ok(Rule {
        text: text.trim().to_string(),
        method,
        name,
        metric,
        op,
        limit,
        abort_after,
        check: None,
        series: None,
    })
}

/// `SERIES.STAT` (a metric row's statistic): the series and the statistic (`count` is `Requests`).
fn parse_series(s: &str) -> Option<(String, Metric)> {
    let (series, stat) = s.trim().split_once('.')?;
    let series = series.trim();
    if series.is_empty() || series.contains(char::is_whitespace) {
        return None;
    }
    let metric = match stat.trim().to_ascii_lowercase().as_str() {
        "count" => Metric::Requests,
        other => match parse_metric(other)? {
            m @ (Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max) => m,
            _ => return None,
        },
    };
    Some((series.to_string(), metric))
}

/// `--thresholds` (rules separated by `;`) followed by the `--check-*` options, as rules.
pub fn parse(
    thresholds: Option<&str>,
    check_rps: Option<f64>,
    check_fail_ratio: Option<f64>,
    check_avg_response_time: Option<f64>,
) -> Result<Vec<Rule>, String> {
    let mut rules = match thresholds {
        Some(text) => parse_rules(text, "--thresholds")?,
        None => Vec::new(),
    };
    let check = |check: Check, metric: Metric, op: Op, limit: f64, text: String| Rule {
        text,
        method: None,
        name: None,
        metric,
        op,
        limit,
        abort_after: None,
        check: Some(check),
        series: None,
    };
    // the plugin fails a check when the figure is strictly beyond the limit
    if let Some(v) = check_fail_ratio {
        rules.push(check(
            Check::FailRatio,
            Metric::FailRatio,
            Op::Le,
            v,
            format!("--check-fail-ratio {v}"),
        ));
    }
    if let Some(v) = check_rps {
        rules.push(check(
            Check::Rps,
            Metric::Rps,
            Op::Ge,
            v,
            format!("--check-rps {v}"),
        ));
    }
    if let Some(v) = check_avg_response_time {
        rules.push(check(
            Check::AvgResponseTime,
            Metric::Avg,
            Op::Le,
            v,
            format!("--check-avg-response-time {v}"),
        ));
    }
    Ok(rules)
}

/// Rules in this grammar separated by `;`, as an option gives them (`option` names it in the error: `--thresholds`,
/// `--slo`).
pub fn parse_rules(text: &str, option: &str) -> Result<Vec<Rule>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| parse_rule(p, option))
        .collect()
}

/// Whether a rule makes failed requests acceptable (then failures alone do not make the exit code 1, as with
/// locust-plugins' `--check-fail-ratio`).
pub fn tolerates_failures(rules: &[Rule]) -> bool {
    rules
        .iter()
        .any(|r| matches!(r.metric, Metric::FailRatio | Metric::Failures))
}

fn value_of(metric: Metric, e: &EntrySnapshot, total: &EntrySnapshot) -> Option<f64> {
    if metric.is_latency() && !e.has_response_times() {
        return None;
    }
    Some(match metric {
        Metric::Percentile(p) => e.percentile(p),
        Metric::CorrectedPercentile(p) => e.corrected_percentile(p).unwrap_or(e.percentile(p)),
        Metric::Avg => e.avg_response_time(),
        Metric::Min => e.totals.min_response_time.unwrap_or(0.0),
        Metric::Max => e.totals.max_response_time,
        Metric::FailRatio => e.fail_ratio(),
        Metric::Rps => e.total_rps(total),
        Metric::Requests => e.totals.num_requests as f64,
        Metric::Failures => e.totals.num_failures as f64,
        Metric::Dropped | Metric::DroppedRatio | Metric::IterationRate | Metric::StartLag(_) => {
            return None;
        }
    })
}

/// Evaluate every rule on a snapshot (and the open workload's accounting, for its rules): one outcome per rule
/// (the failing row when several rows match).
pub fn evaluate(rules: &[Rule], readings: &Readings) -> Vec<Outcome> {
    rules
        .iter()
        .map(|r| {
            if r.metric.is_open() {
                evaluate_open(r, &readings.open)
            } else {
                evaluate_one(r, &readings.stats)
            }
        })
        .collect()
}

/// A rule about the open workload (no data when none ran).
fn evaluate_open(rule: &Rule, s: &crate::runner::open::Snapshot) -> Outcome {
    let actual = s.active.then(|| match rule.metric {
        Metric::Dropped => s.dropped as f64,
        Metric::DroppedRatio => s.dropped_ratio(),
        Metric::IterationRate => s.average_started_rate,
        Metric::StartLag(p) => {
            let l = &s.lag_ms;
            match p {
                p if p >= 1.0 => l.max,
                p if p >= 0.999 => l.p999,
                p if p >= 0.99 => l.p99,
                p if p >= 0.9 => l.p90,
                _ => l.p50,
            }
        }
        _ => 0.0,
    });
    Outcome {
        rule: rule.clone(),
        target: "Arrivals".into(),
        passed: actual.is_some_and(|a| rule.op.holds(a, rule.limit)),
        actual,
        unit: rule.metric.unit().into(),
    }
}

/// A rule about a metric row (`SERIES.STAT`): its request name's row, or the metric's row over all names.
fn evaluate_series(rule: &Rule, series: &str, snap: &Snapshot) -> Outcome {
    let name = rule
        .name
        .as_deref()
        .unwrap_or(crate::stats::metrics::AGGREGATED);
    let row = snap
        .metrics
        .iter()
        .find(|m| m.metric() == series && m.name() == name);
    let actual = row.and_then(|m| {
        if m.count() == 0 && rule.metric != Metric::Requests {
            return None;
        }
        value_of(rule.metric, &m.row, &m.row)
    });
    Outcome {
        rule: rule.clone(),
        target: format!("{series} {name}"),
        passed: actual.is_some_and(|a| rule.op.holds(a, rule.limit)),
        actual,
        unit: row.map_or_else(String::new, |m| m.unit.clone()),
    }
}

fn evaluate_one(rule: &Rule, snap: &Snapshot) -> Outcome {
    if let Some(series) = &rule.series {
        return evaluate_series(rule, series, snap);
    }
    let total = &snap.total;
    let decide = |target: String, actual: Option<f64>| Outcome {
        rule: rule.clone(),
        target,
        passed: actual.is_some_and(|a| rule.op.holds(a, rule.limit)),
        actual,
        unit: rule.metric.unit().into(),
    };
    let Some(name) = &rule.name else {
        return decide("Aggregated".into(), value_of(rule.metric, total, total));
    };
    let rows: Vec<&EntrySnapshot> = snap
        .entries
        .iter()
        .filter(|e| &e.name == name && rule.method.as_ref().is_none_or(|m| &e.method == m))
        .collect();
    let label = |e: &EntrySnapshot| format!("{} {}", e.method, e.name);
    if rows.is_empty() {
        let target = match &rule.method {
            Some(m) => format!("{m} {name}"),
            None => name.clone(),
        };
        let actual = if rule.metric.is_latency() {
            None
        } else {
            Some(0.0)
        };
        return decide(target, actual);
    }
    let mut first = None;
    for e in rows {
        let o = decide(label(e), value_of(rule.metric, e, total));
        if !o.passed {
            return o;
        }
        first.get_or_insert(o);
    }
    first.expect("at least one row")
}

/// The value as the table shows it.
fn shown(o: &Outcome) -> String {
    let (metric, v) = (o.rule.metric, o.actual);
    if o.rule.series.is_some() {
        return match v {
            None => "no data".into(),
            Some(v) if metric == Metric::Requests => format!("{v:.0}"),
            Some(v) => format!("{v:.2} {}", o.unit).trim_end().to_string(),
        };
    }
    match v {
        None => "no data".into(),
        Some(v) => match metric {
            Metric::FailRatio | Metric::DroppedRatio => format!("{v:.4}"),
            Metric::Requests | Metric::Failures | Metric::Dropped => format!("{v:.0}"),
            Metric::Rps | Metric::IterationRate => format!("{v:.2}/s"),
            _ => format!("{v:.2} ms"),
        },
    }
}

/// The pass/fail table printed at the end of the run.
pub fn table(outcomes: &[Outcome]) -> String {
    let rule_w = outcomes
        .iter()
        .map(|o| o.rule.text.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    let target_w = outcomes
        .iter()
        .map(|o| o.target.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 50);
    let mut out = String::new();
    let header = format!(
        "{:<rule_w$} | {:<target_w$} | {:>14} | {}",
        "Threshold", "Target", "Actual", "Result"
    );
    let rule_line = "-".repeat(header.chars().count() + 2);
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{rule_line}");
    for o in outcomes {
        let text: String = o.rule.text.chars().take(rule_w).collect();
        let target: String = o.target.chars().take(target_w).collect();
        let _ = writeln!(
            out,
            "{:<rule_w$} | {:<target_w$} | {:>14} | {}",
            text,
            target,
            shown(o),
            if o.passed { "passed" } else { "FAILED" }
        );
    }
    let _ = writeln!(out, "{rule_line}");
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed == 0 {
        let _ = writeln!(out, "All {} thresholds passed", outcomes.len());
    } else {
        let _ = writeln!(
            out,
            "{failed} of {} thresholds FAILED (exit code 3)",
            outcomes.len()
        );
    }
    out.push('\n');
    out
}

/// locust-plugins' log line for a check: `CHECK FAILED: …` (INFO) or `CHECK SUCCESSFUL: …` (DEBUG).
pub fn check_line(o: &Outcome) -> Option<String> {
    let check = o.rule.check?;
    let verdict = if o.passed { "SUCCESSFUL" } else { "FAILED" };
    let actual = o.actual.unwrap_or(0.0);
    let limit = o.rule.limit;
    Some(match check {
        Check::FailRatio => format!(
            "CHECK {verdict}: fail ratio was {:.2}% (threshold {:.2}%)",
            actual * 100.0,
            limit * 100.0
        ),
        Check::Rps => format!("CHECK {verdict}: total rps was {actual:.1} (threshold {limit:.1})"),
        Check::AvgResponseTime => {
            format!("CHECK {verdict}: avg response time was {actual:.1} (threshold {limit:.1})")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RequestStats;

    fn snap() -> Snapshot {
        let now = 1_700_000_000.0;
        let s = RequestStats::new_at(now);
        for i in 0..100 {
            s.log_request("GET", "/a", Some(i as f64 + 1.0), 0, now + 10.0);
        }
        s.log_request("POST", "/a", Some(900.0), 0, now + 10.0);
        s.log_request("GET", "/login", Some(5.0), 0, now + 10.0);
        s.log_error("GET", "/login", "boom", now + 10.0);
        s.snapshot()
    }

    #[test]
    fn rules_parse() {
        let r = parse(
            Some("p95<500; p(99.9) <= 2s ;GET /login: fail_ratio<1% abort=30s; http://x:1/a: max>3 abort; p99_corrected<1s"),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(r.len(), 5);
        assert_eq!(r[4].metric, Metric::CorrectedPercentile(0.99));
        assert_eq!(r[4].metric.label(), "p99_corrected");
        assert_eq!(r[0].metric, Metric::Percentile(0.95));
        assert_eq!(
            (r[0].op, r[0].limit, r[0].name.clone()),
            (Op::Lt, 500.0, None)
        );
        assert_eq!(r[1].metric, Metric::Percentile(0.999));
        assert_eq!((r[1].op, r[1].limit), (Op::Le, 2000.0));
        assert_eq!(r[2].method.as_deref(), Some("GET"));
        assert_eq!(r[2].name.as_deref(), Some("/login"));
        assert_eq!((r[2].limit, r[2].abort_after), (0.01, Some(30.0)));
        assert_eq!(r[3].name.as_deref(), Some("http://x:1/a"));
        assert_eq!(r[3].abort_after, Some(0.0));
        assert_eq!(r[1].metric.label(), "p99.9");
        for bad in [
            "p95",
            "p95 < x",
            "foo<1",
            ": p95<1",
            "p0<1",
            "p95<1 abort=zz",
        ] {
            let e = parse(Some(bad), None, None, None).unwrap_err();
            assert!(e.starts_with("rlocust: --thresholds: '"), "{e}");
        }
    }

    #[test]
    fn evaluation_uses_rows_and_the_total() {
        let s = snap();
        let rules = parse(
            Some("p95<=96; max<500; /a: max<500; GET /a: p50<60; GET /login: fail_ratio<0.5; /nope: requests<1; /nope: p99<1"),
            None,
            None,
            None,
        )
        .unwrap();
        let o = evaluate(&rules, &crate::runner::readings::Readings::of_stats(s));
        // total p95 of 102 samples: rank 96 → 96 ms (exact)
        assert_eq!(o[0].actual, Some(96.0));
        assert!(o[0].passed);
        assert!(!o[1].passed); // total max 900
        assert!(!o[2].passed && o[2].target == "POST /a"); // the failing row is reported
        assert!(o[3].passed && o[3].target == "GET /a");
        assert!(!o[4].passed && o[4].actual == Some(1.0));
        assert!(o[5].passed && o[5].actual == Some(0.0));
        assert!(!o[6].passed && o[6].actual.is_none());
        let t = table(&o);
        assert!(t.contains("4 of 7 thresholds FAILED (exit code 3)"), "{t}");
        assert!(t.contains("no data | FAILED"), "{t}");
    }

    #[test]
    fn plugin_checks_read_as_rules_with_its_lines() {
        let s = snap();
        let rules = parse(None, Some(1e9), Some(0.5), Some(10.0)).unwrap();
        assert!(tolerates_failures(&rules));
        let o = evaluate(&rules, &crate::runner::readings::Readings::of_stats(s));
        assert_eq!(
            check_line(&o[0]).unwrap(),
            "CHECK SUCCESSFUL: fail ratio was 0.98% (threshold 50.00%)"
        );
        assert!(
            check_line(&o[1])
                .unwrap()
                .starts_with("CHECK FAILED: total rps was ")
        );
        assert!(
            check_line(&o[2])
                .unwrap()
                .starts_with("CHECK FAILED: avg response time was 58.4")
        );
    }

    #[test]
    fn metric_rows_have_rules_of_their_own() {
        let now = 1_700_000_000.0;
        let s = RequestStats::new_at(now);
        let ttft: Vec<f64> = (0..100).map(|i| 300.0 + f64::from(i)).collect();
        s.log_metric("ttft", "/v1/chat/completions", "ms", &ttft, now + 1.0)
            .unwrap();
        s.log_metric(
            "output_tokens",
            "/v1/chat/completions",
            "tokens",
            &[50.0, 70.0],
            now + 1.0,
        )
        .unwrap();
        let snap = s.snapshot();
        let rules = parse(
            Some("ttft.p99<=0.4s; /v1/chat/completions: ttft.p50<350; output_tokens.avg>=100; itl.p50<30; ttft.count>=100"),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(rules[0].series.as_deref(), Some("ttft"));
        assert_eq!(rules[0].limit, 400.0);
        let out = evaluate(&rules, &crate::runner::readings::Readings::of_stats(snap));
        assert!(out[0].passed, "{:?}", out[0]);
        assert_eq!(out[0].target, "ttft Aggregated");
        assert_eq!(out[0].actual, Some(399.0));
        assert!(out[1].passed && out[1].target == "ttft /v1/chat/completions");
        assert!(!out[2].passed && out[2].unit == "tokens" && out[2].actual == Some(60.0));
        // a metric the run never recorded has no data
        assert!(!out[3].passed && out[3].actual.is_none());
        assert!(out[4].passed);
        let t = table(&out);
        assert!(t.contains("60.00 tokens") && t.contains("no data"), "{t}");
        assert!(parse(Some("ttft.rps<3"), None, None, None).is_err());
        assert!(parse(Some(".p99<3"), None, None, None).is_err());
    }
}
