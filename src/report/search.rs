//! The capacity search (`--search`, `judge::search`) as people and tools read it: one JSON object ([`json`]: the
//! summary's `search` key, the web UI's `GET /search`, the HTML report's `search` data), `{prefix}_search.csv`
//! ([`csv`], a row per probe), the console's probe table ([`console_table`]) and its one headline line
//! ([`headline`]: the capacity, the first failing level and the rule it broke), and the `/metrics` families
//! ([`prometheus_families`], written by `report::prometheus`). The shape is fixed in docs/capacity.md; all of them
//! exist only when a search ran, so a run without one keeps Locust's outputs byte for byte.
//!
//! Who calls it: `report::outputs` (final table, headline, CSV), the periodic printer (`app::session`),
//! `report::summary`, `report::html`, `report::prometheus`, `web::routes`. What it must not do: read live state
//! (always an [`Outcome`] it is handed), print or write anything itself, or judge anything (the verdicts are the
//! search's).
use crate::judge::search::{End, Mode, Outcome, Probe, Verdict};
use crate::judge::thresholds::{Op, Outcome as RuleOutcome, Rule};
use crate::pyfmt::json::J;
use crate::runner::open::schedule::{fmt_rate, fmt_secs};
use std::fmt::Write as _;

/// The console table's first words.
pub const TITLE: &str = "Capacity search";

/// Every verdict, in the order the `/metrics` counter lists them.
const VERDICTS: [Verdict; 5] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::Undecided,
    Verdict::GeneratorBound,
    Verdict::Interrupted,
];

/// A level with its unit: `310/s`, `40 users`.
pub fn level_text(mode: Mode, level: f64) -> String {
    match mode {
        Mode::ArrivalRate => format!("{}/s", fmt_rate(level)),
        Mode::Users => format!("{} users", fmt_rate(level)),
    }
}

/// A rule's target as the thresholds state it: `Aggregated`, `GET /login`, `ttft Aggregated`.
fn rule_target(r: &Rule) -> J {
    match (&r.method, &r.name) {
        (Some(m), Some(n)) => J::str(format!("{m} {n}")),
        (None, Some(n)) => J::str(n),
        _ => J::Null,
    }
}

fn rule_json(r: &Rule) -> J {
    J::obj([
        ("rule", J::str(&r.text)),
        ("metric", J::str(r.metric_label())),
        ("op", J::str(r.op.as_str())),
        ("limit", J::Float(r.limit)),
        ("unit", J::str(r.metric.unit())),
        ("target", rule_target(r)),
    ])
}

fn rule_outcome_json(o: &RuleOutcome) -> J {
    J::obj([
        ("rule", J::str(&o.rule.text)),
        ("target", J::str(&o.target)),
        ("actual", J::opt_float(o.actual)),
        ("unit", J::str(&o.unit)),
        ("passed", J::Bool(o.passed)),
    ])
}

fn int(n: u64) -> J {
    J::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn probe_json(p: &Probe) -> J {
    J::obj([
        ("index", int(p.index.into())),
        ("offered", J::Float(p.offered)),
        ("achieved", J::Float(p.achieved)),
        ("throughput", J::Float(p.throughput)),
        ("mean_in_flight", J::Float(p.mean_in_flight)),
        ("goodput", J::Float(p.goodput)),
        ("goodput_share", J::Float(p.goodput_share)),
        ("p50", J::Float(p.p50)),
        ("p95", J::Float(p.p95)),
        ("p99", J::Float(p.p99)),
        ("requests", int(p.requests)),
        ("failures", int(p.failures)),
        ("fail_ratio", J::Float(p.fail_ratio)),
        ("dropped", int(p.dropped)),
        (
            "figures",
            J::Arr(
                p.figures
                    .iter()
                    .map(|f| {
                        J::obj([
                            ("label", J::str(&f.label)),
                            ("value", J::opt_float(f.value)),
                            ("unit", J::str(&f.unit)),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("verdict", J::str(p.verdict.as_str())),
        ("bound_by", p.bound_by.clone().map_or(J::Null, J::Str)),
        ("window_start", J::Float(p.window_start)),
        ("window_end", J::Float(p.window_end)),
        ("generator_lateness_p99", J::Float(p.generator_lateness_p99)),
        ("generator_cpu", J::Float(p.generator_cpu)),
        ("extended", J::Bool(p.extended)),
        ("ended_early", J::Bool(p.ended_early)),
        (
            "outcomes",
            J::Arr(p.outcomes.iter().map(rule_outcome_json).collect()),
        ),
    ])
}

/// What broke a failing probe: the rule its `bound_by` names (else its first failed rule), `dropped`, or
/// `achieved`.
pub struct Breach {
    pub rule: String,
    pub target: String,
    pub actual: Option<f64>,
    pub unit: String,
    /// The rule's comparison and limit (`None` for `dropped` and `achieved`).
    pub limit: Option<(Op, f64)>,
}

/// The breach of a probe that did not pass (`None` when it passed or nothing says why).
pub fn breach(mode: Mode, p: &Probe) -> Option<Breach> {
    if p.verdict == Verdict::Pass {
        return None;
    }
    let of_rule = |o: &RuleOutcome| Breach {
        rule: o.rule.text.clone(),
        target: o.target.clone(),
        actual: o.actual,
        unit: o.unit.clone(),
        limit: Some((o.rule.op, o.rule.limit)),
    };
    let bound = p.bound_by.as_deref();
    if let Some(b) = bound
        && let Some(o) = p.outcomes.iter().find(|o| o.rule.text == b)
    {
        return Some(of_rule(o));
    }
    match bound {
        Some(b) if b.starts_with("dropped") => Some(Breach {
            rule: "dropped".into(),
            target: "Arrivals".into(),
            actual: Some(p.dropped as f64),
            unit: String::new(),
            limit: None,
        }),
        Some(b) if b.starts_with("achieved") => Some(Breach {
            rule: "achieved".into(),
            target: "Arrivals".into(),
            actual: Some(p.achieved),
            unit: mode.unit().into(),
            limit: None,
        }),
        _ => p
            .outcomes
            .iter()
            .find(|o| !o.passed)
            .map(of_rule)
            .or_else(|| {
                bound.map(|b| Breach {
                    rule: b.to_string(),
                    target: "Aggregated".into(),
                    actual: None,
                    unit: String::new(),
                    limit: None,
                })
            }),
    }
}

fn opt_u32(v: Option<u32>) -> J {
    v.map_or(J::Null, |n| int(n.into()))
}

/// The search's one JSON object (docs/capacity.md has every key).
pub fn json(o: &Outcome) -> J {
    let s = &o.spec;
    let state = match o.end {
        End::Running => "running",
        End::Interrupted => "interrupted",
        _ => "finished",
    };
    let first_failing = o.first_failing_probe().map_or(J::Null, |p| {
        J::obj([
            ("offered", J::Float(p.offered)),
            ("index", int(p.index.into())),
            ("verdict", J::str(p.verdict.as_str())),
            (
                "breach",
                breach(s.mode, p).map_or(J::Null, |b| {
                    J::obj([
                        ("rule", J::str(b.rule)),
                        ("target", J::str(b.target)),
                        ("actual", J::opt_float(b.actual)),
                        ("unit", J::str(b.unit)),
                    ])
                }),
            ),
        ])
    });
    J::obj([
        ("mode", J::str(s.mode.as_str())),
        ("unit", J::str(s.mode.unit())),
        ("slo", J::str(&s.slo_text)),
        ("rules", J::Arr(s.slo.iter().map(rule_json).collect())),
        (
            "settings",
            J::obj([
                ("start", J::Float(s.start)),
                ("max", J::opt_float(s.max)),
                ("probe_time", J::Float(s.probe_time)),
                ("warmup", J::Float(s.warmup)),
                ("precision", J::Float(s.precision)),
                ("max_probes", opt_u32(Some(s.max_probes))),
                (
                    "levels",
                    s.levels.as_ref().map_or(J::Null, |l| {
                        J::Arr(l.iter().map(|&v| J::Float(v)).collect())
                    }),
                ),
                ("max_users", int(s.max_users)),
                ("gate", J::opt_float(s.gate)),
            ]),
        ),
        ("state", J::str(state)),
        ("current", J::opt_float(o.current)),
        ("capacity", J::opt_float(o.capacity)),
        ("first_failing", first_failing),
        ("ended_by", J::str(o.end.as_str())),
        ("gate", J::opt_float(s.gate)),
        (
            "gate_passed",
            if s.gate.is_some() {
                J::Bool(!o.below_gate())
            } else {
                J::Null
            },
        ),
        ("started_at", J::Float(o.started_at)),
        ("ended_at", J::opt_float(o.ended_at)),
        ("probes", J::Arr(o.probes.iter().map(probe_json).collect())),
    ])
}

/// The figure labels of the SLO (one column each in the table and the CSV), in the order the probes give them.
fn figure_labels(o: &Outcome) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for p in &o.probes {
        for f in &p.figures {
            if !labels.contains(&f.label) {
                labels.push(f.label.clone());
            }
        }
    }
    labels
}

fn figure_value(p: &Probe, label: &str) -> Option<f64> {
    p.figures
        .iter()
        .find(|f| f.label == label)
        .and_then(|f| f.value)
}

/// `{prefix}_search.csv`: a header and a row per probe (CRLF, quoted as Python's `csv` module quotes).
pub fn csv(o: &Outcome) -> String {
    let labels = figure_labels(o);
    let mut header: Vec<String> = [
        "Probe",
        "Offered",
        "Achieved",
        "Throughput",
        "Mean In Flight",
        "Goodput",
        "Goodput %",
        "50%",
        "95%",
        "99%",
        "Requests",
        "Failures",
        "Fail %",
        "Dropped",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(labels.iter().cloned());
    header.extend(
        ["Verdict", "Bound By", "Window Start", "Window End"]
            .iter()
            .map(|s| s.to_string()),
    );
    let mut out = String::new();
    crate::pyfmt::csv::push_row(&mut out, &header);
    for p in &o.probes {
        let mut row = vec![
            p.index.to_string(),
            format!("{:.2}", p.offered),
            format!("{:.2}", p.achieved),
            format!("{:.2}", p.throughput),
            format!("{:.3}", p.mean_in_flight),
            format!("{:.2}", p.goodput),
            format!("{:.2}", p.goodput_share * 100.0),
            format!("{:.2}", p.p50),
            format!("{:.2}", p.p95),
            format!("{:.2}", p.p99),
            p.requests.to_string(),
            p.failures.to_string(),
            format!("{:.2}", p.fail_ratio * 100.0),
            p.dropped.to_string(),
        ];
        for l in &labels {
            row.push(figure_value(p, l).map_or(String::new(), |v| format!("{v:.2}")));
        }
        row.push(p.verdict.as_str().to_string());
        row.push(p.bound_by.clone().unwrap_or_default());
        row.push(format!("{:.3}", p.window_start));
        row.push(format!("{:.3}", p.window_end));
        crate::pyfmt::csv::push_row(&mut out, &row);
    }
    out
}

use super::compare::render::short;

/// The verdict cell: the verdict, and what the probe is to the result (the capacity, the first failing level) or
/// how its window went (extended, ended early).
fn verdict_cell(o: &Outcome, i: usize, p: &Probe) -> String {
    let mut notes: Vec<&str> = Vec::new();
    if p.verdict == Verdict::Pass && o.capacity == Some(p.offered) {
        // (the best passing level may have been probed twice: mark its last probe)
        let last = o
            .probes
            .iter()
            .rposition(|q| q.verdict == Verdict::Pass && q.offered == p.offered);
        if last == Some(i) {
            notes.push("capacity");
        }
    }
    if o.first_failing == Some(i) {
        notes.push("first failing");
    }
    if p.extended {
        notes.push("extended");
    }
    if p.ended_early {
        notes.push("ended early");
    }
    if notes.is_empty() {
        p.verdict.as_str().to_string()
    } else {
        format!("{} ({})", p.verdict.as_str(), notes.join(", "))
    }
}

/// The console's probe table: a title line, the header, a rule, a row per probe (the probe now running, if any,
/// as a last row without figures), and an empty line, like every table. Column widths fit their content.
pub fn console_table(o: &Outcome) -> String {
    let labels = figure_labels(o);
    let mut header: Vec<String> = [
        "#",
        "offered",
        "achieved",
        "in flight",
        "goodput",
        "good%",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "fail%",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(labels.iter().cloned());
    header.extend(["dropped", "verdict", "bound by"].map(String::from));
    let left = header.len() - 2; // the verdict and the rule that bound are text
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (i, p) in o.probes.iter().enumerate() {
        let mut row = vec![
            p.index.to_string(),
            fmt_rate(p.offered),
            format!("{:.1}", p.achieved),
            format!("{:.2}", p.mean_in_flight),
            format!("{:.1}", p.goodput),
            format!("{:.1}%", p.goodput_share * 100.0),
            short(p.p50),
            short(p.p95),
            short(p.p99),
            format!("{:.2}%", p.fail_ratio * 100.0),
        ];
        for l in &labels {
            row.push(figure_value(p, l).map_or("-".into(), short));
        }
        row.push(p.dropped.to_string());
        row.push(verdict_cell(o, i, p));
        row.push(p.bound_by.clone().unwrap_or_default());
        rows.push(row);
    }
    if o.end == End::Running
        && let Some(level) = o.current
    {
        let mut row = vec![String::new(); header.len()];
        row[0] = (o.probes.len() + 1).to_string();
        row[1] = fmt_rate(level);
        row[left] = "probing".into();
        rows.push(row);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c > 0 {
                s.push_str("  ");
            }
            let w = widths[c];
            if c >= left {
                let _ = write!(s, "{cell:<w$}");
            } else {
                let _ = write!(s, "{cell:>w$}");
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{TITLE} ({}, levels in {}; SLO {})",
        o.spec.mode.as_str(),
        o.spec.mode.unit(),
        o.spec.slo_text
    );
    let head = line(&header);
    let _ = writeln!(out, "{head}");
    let _ = writeln!(out, "{}", "-".repeat(head.chars().count()));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    out.push('\n');
    out
}

/// The negation of a rule's comparison: what the breach was (`p95 154 ms >= 100` for `p95<100`).
fn broken(op: Op) -> &'static str {
    match op {
        Op::Lt => ">=",
        Op::Le => ">",
        Op::Gt => "<=",
        Op::Ge => "<",
    }
}

/// How a failing probe broke the SLO, in words: `p95 154 ms >= 100`, `12 arrivals dropped`,
/// `achieved 300/s of 330/s`.
fn breach_text(o: &Outcome, p: &Probe) -> String {
    let Some(b) = breach(o.spec.mode, p) else {
        return p.verdict.as_str().to_string();
    };
    match (b.rule.as_str(), b.limit) {
        ("dropped", None) => format!("{} arrivals dropped", p.dropped),
        ("achieved", None) => format!(
            "achieved {} of {}",
            level_text(o.spec.mode, (p.achieved * 10.0).round() / 10.0),
            level_text(o.spec.mode, p.offered)
        ),
        (_, Some((op, limit))) => {
            // the rule's metric as written (without its target), then the figure
            let metric = b
                .rule
                .split(['<', '>'])
                .next()
                .unwrap_or(&b.rule)
                .trim()
                .to_string();
            let actual = b.actual.map_or("no data".to_string(), |a| {
                let unit = if b.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", b.unit)
                };
                format!("{}{unit}", short(a))
            });
            format!("{metric} {actual} {} {}", broken(op), fmt_rate(limit))
        }
        (rule, None) => rule.to_string(),
    }
}

fn count_probes(n: usize) -> String {
    if n == 1 {
        "1 probe".into()
    } else {
        format!("{n} probes")
    }
}

/// The one line that says the result (the last line a user sees of the search).
pub fn headline(o: &Outcome) -> String {
    let mode = o.spec.mode;
    let slo = &o.spec.slo_text;
    let lvl = |v: f64| level_text(mode, v);
    let end_time = o
        .ended_at
        .or_else(|| o.probes.last().map(|p| p.window_end))
        .unwrap_or(o.started_at);
    let took = fmt_secs((end_time - o.started_at).max(0.0));
    let tail = |why: &str| {
        let mut parts = vec![count_probes(o.probes.len()), took.clone()];
        if !why.is_empty() {
            parts.push(why.to_string());
        }
        parts.join(", ")
    };
    let failing = o
        .first_failing_probe()
        .map(|p| format!("first failing: {}, {}", lvl(p.offered), breach_text(o, p)));
    let cap = o.capacity.map(lvl);
    let gate = match (o.spec.gate, o.below_gate()) {
        (Some(g), true) => format!(" BELOW the gate {} (exit code 3)", lvl(g)),
        (Some(g), false) => format!(", at or above the gate {}", lvl(g)),
        (None, _) => String::new(),
    };
    match o.end {
        End::Running => {
            let now = o
                .current
                .map_or(String::new(), |c| format!("probing {}; ", lvl(c)));
            format!(
                "Capacity so far: {} under {slo} (searching: {now}{})",
                cap.unwrap_or_else(|| "none yet".into()),
                tail("")
            )
        }
        End::Levels => {
            let passing = cap.map_or("no level passed".to_string(), |c| {
                format!("highest passing level {c}")
            });
            let failing = failing.map_or(String::new(), |f| format!("{f}; "));
            format!(
                "Levels under {slo}: {passing}{gate} ({failing}{})",
                tail("levels only, no search")
            )
        }
        End::NothingPassed => {
            let first =
                o.probes
                    .iter()
                    .find(|p| p.verdict != Verdict::Pass)
                    .map_or(String::new(), |p| {
                        format!(
                            ": the first level, {}, failed ({})",
                            lvl(p.offered),
                            breach_text(o, p)
                        )
                    });
            format!(
                "Capacity: none under {slo}{first}{gate} ({}; lower --search-start)",
                tail("nothing passed")
            )
        }
        End::ReachedMax => format!(
            "Capacity: >= {} under {slo}{gate} (the maximum level passed; raise --search-max to search higher; {})",
            cap.unwrap_or_else(|| o.spec.max.map_or("the maximum".into(), lvl)),
            tail("reached the maximum")
        ),
        End::GeneratorBound => {
            let at = o
                .probes
                .iter()
                .rev()
                .find(|p| p.verdict == Verdict::GeneratorBound);
            let signal = at.map_or(String::new(), |p| {
                format!(
                    " at {} (its lateness p99 {} ms, CPU {:.0}% of a core)",
                    lvl(p.offered),
                    short(p.generator_lateness_p99),
                    p.generator_cpu * 100.0
                )
            });
            format!(
                "Capacity: {} under {slo}{gate}; the generator, not the service, was the limit{signal}: add --processes N (or workers) to search higher ({})",
                cap.map_or("unknown".to_string(), |c| format!(">= {c}")),
                tail("generator-bound")
            )
        }
        End::Interrupted => {
            let failing = failing.map_or(String::new(), |f| format!("{f}; "));
            format!(
                "Capacity so far: {} under {slo}{gate} (interrupted, the best so far; {failing}{})",
                cap.unwrap_or_else(|| "none".into()),
                tail("")
            )
        }
        End::Converged | End::Budget => {
            let why = if o.end == End::Budget {
                "probe budget spent"
            } else {
                "converged"
            };
            let failing = failing.map_or("no level failed; ".to_string(), |f| format!("{f}; "));
            format!(
                "Capacity: {} under {slo}{gate} ({failing}{})",
                cap.unwrap_or_else(|| "none".into()),
                tail(why)
            )
        }
    }
}

/// What `/metrics` says of a search: a family writer `report::prometheus` hands in (name, kind, unit, help),
/// then the samples (name, labels, value).
pub struct Family {
    pub name: &'static str,
    /// Counter (`name` without `_total`) or gauge.
    pub counter: bool,
    pub help: &'static str,
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// The search's `/metrics` families: `rlocust_search_level` (the level probed now, only while probing),
/// `rlocust_search_capacity` (the highest passing level so far, only once one passed),
/// `rlocust_search_first_failing` (only once a level failed) and `rlocust_search_probes_total{verdict}` (every
/// verdict, 0 included); each sample has a `mode` label.
pub fn prometheus_families(o: &Outcome) -> Vec<Family> {
    let mode = || ("mode", o.spec.mode.as_str().to_string());
    let gauge = |name, help, v: Option<f64>| Family {
        name,
        counter: false,
        help,
        samples: v.map(|v| (vec![mode()], v)).into_iter().collect(),
    };
    vec![
        gauge(
            "rlocust_search_level",
            "The level the capacity search probes now (iterations per second, or users; see the mode label).",
            o.current.filter(|_| o.end == End::Running),
        ),
        gauge(
            "rlocust_search_capacity",
            "The highest level that passed the SLO so far (the capacity once the search ended).",
            o.capacity,
        ),
        gauge(
            "rlocust_search_first_failing",
            "The lowest level above the capacity that failed the SLO.",
            o.first_failing_probe().map(|p| p.offered),
        ),
        Family {
            name: "rlocust_search_probes",
            counter: true,
            help: "Probes of the capacity search judged, by verdict.",
            samples: VERDICTS
                .iter()
                .map(|v| {
                    (
                        vec![mode(), ("verdict", v.as_str().to_string())],
                        o.probes.iter().filter(|p| p.verdict == *v).count() as f64,
                    )
                })
                .collect(),
        },
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::judge::search::{Figure, Spec};
    use crate::judge::thresholds;

    pub(crate) const T0: f64 = 1_700_000_000.0;

    pub(crate) fn spec(mode: Mode) -> Spec {
        let slo = "p95<100; ttft.p95<500; fail_ratio<0.01";
        Spec {
            mode,
            slo_text: slo.into(),
            slo: thresholds::parse(Some(slo), None, None, None).unwrap(),
            start: 10.0,
            max: None,
            probe_time: 20.0,
            warmup: 5.0,
            precision: 0.05,
            max_probes: 12,
            levels: None,
            max_users: 1000,
            spawn_rate: 10.0,
            gate: None,
        }
    }

    /// A probe at `offered` judged `verdict`, with `p95` as its response-time p95 (the `p95<100` rule).
    pub(crate) fn probe(
        spec: &Spec,
        index: u32,
        offered: f64,
        p95: f64,
        verdict: Verdict,
    ) -> Probe {
        let start = T0 + 25.0 * f64::from(index);
        let outcomes: Vec<RuleOutcome> = spec
            .slo
            .iter()
            .map(|r| {
                let (target, actual, unit) = match r.series.as_deref() {
                    Some(s) => (format!("{s} Aggregated"), 31.0, "ms"),
                    None if r.text.starts_with("p95") => ("Aggregated".into(), p95, "ms"),
                    None => ("Aggregated".into(), 0.0, ""),
                };
                RuleOutcome {
                    rule: r.clone(),
                    target,
                    actual: Some(actual),
                    passed: !(r.text.starts_with("p95") && p95 >= 100.0),
                    unit: unit.into(),
                }
            })
            .collect();
        Probe {
            index,
            offered,
            window_start: start + 5.0,
            window_end: start + 25.0,
            achieved: offered,
            throughput: offered * 2.0,
            mean_in_flight: offered * 2.0 * p95 / 1000.0,
            goodput: offered * 2.0,
            goodput_share: 1.0,
            p50: 25.0,
            p95,
            p99: p95 * 1.1,
            requests: (offered * 40.0) as u64,
            failures: 0,
            fail_ratio: 0.0,
            dropped: 0,
            figures: vec![Figure {
                label: "ttft.p95".into(),
                value: Some(31.0),
                unit: "ms".into(),
            }],
            outcomes,
            verdict,
            bound_by: (verdict == Verdict::Fail && p95 >= 100.0).then(|| "p95<100".to_string()),
            generator_lateness_p99: 0.05,
            generator_cpu: 0.31,
            extended: false,
            ended_early: false,
        }
    }

    /// A converged search: 10, 20, 40 pass, 80 fails (p95 154), 60 passes, 70 fails.
    pub(crate) fn converged(mode: Mode) -> Outcome {
        let s = spec(mode);
        let mut o = Outcome::new(s.clone(), T0);
        for (i, (level, p95, v)) in [
            (10.0, 25.1, Verdict::Pass),
            (20.0, 30.0, Verdict::Pass),
            (40.0, 60.0, Verdict::Pass),
            (80.0, 154.2, Verdict::Fail),
            (60.0, 80.0, Verdict::Pass),
            (70.0, 120.0, Verdict::Fail),
        ]
        .into_iter()
        .enumerate()
        {
            o.probes.push(probe(&s, i as u32 + 1, level, p95, v));
        }
        o.capacity = Some(60.0);
        o.first_failing = Some(5);
        o.end = End::Converged;
        o.ended_at = Some(T0 + 192.0);
        o
    }

    fn parse(j: &J) -> serde_json::Value {
        serde_json::from_str(&crate::pyfmt::json::pretty(j)).unwrap()
    }

    #[test]
    fn json_has_the_documented_shape() {
        let o = converged(Mode::ArrivalRate);
        let v = parse(&json(&o));
        assert_eq!(v["mode"], "arrival-rate");
        assert_eq!(v["unit"], "1/s");
        assert_eq!(v["slo"], "p95<100; ttft.p95<500; fail_ratio<0.01");
        assert_eq!(v["rules"][0]["metric"], "p95");
        assert_eq!(v["rules"][0]["op"], "<");
        assert_eq!(v["rules"][0]["limit"], 100.0);
        assert_eq!(v["rules"][0]["unit"], "ms");
        assert!(v["rules"][0]["target"].is_null());
        assert_eq!(v["rules"][1]["metric"], "ttft.p95");
        assert_eq!(v["settings"]["start"], 10.0);
        assert!(v["settings"]["max"].is_null());
        assert_eq!(v["settings"]["max_probes"], 12);
        assert_eq!(v["state"], "finished");
        assert!(v["current"].is_null());
        assert_eq!(v["capacity"], 60.0);
        assert_eq!(v["ended_by"], "converged");
        assert_eq!(v["first_failing"]["offered"], 70.0);
        assert_eq!(v["first_failing"]["index"], 6);
        assert_eq!(v["first_failing"]["verdict"], "fail");
        assert_eq!(v["first_failing"]["breach"]["rule"], "p95<100");
        assert_eq!(v["first_failing"]["breach"]["target"], "Aggregated");
        assert_eq!(v["first_failing"]["breach"]["actual"], 120.0);
        assert_eq!(v["first_failing"]["breach"]["unit"], "ms");
        assert!(v["gate"].is_null() && v["gate_passed"].is_null());
        assert_eq!(v["ended_at"], T0 + 192.0);
        let p = &v["probes"][0];
        assert_eq!(v["probes"].as_array().unwrap().len(), 6);
        for key in [
            "index",
            "offered",
            "achieved",
            "throughput",
            "mean_in_flight",
            "goodput",
            "goodput_share",
            "p50",
            "p95",
            "p99",
            "requests",
            "failures",
            "fail_ratio",
            "dropped",
            "figures",
            "verdict",
            "bound_by",
            "window_start",
            "window_end",
            "generator_lateness_p99",
            "generator_cpu",
            "extended",
            "ended_early",
            "outcomes",
        ] {
            assert!(p.get(key).is_some(), "probe key {key}");
        }
        assert_eq!(p.as_object().unwrap().len(), 24);
        assert_eq!(p["offered"], 10.0);
        assert_eq!(p["requests"], 400);
        assert_eq!(p["verdict"], "pass");
        assert_eq!(p["figures"][0]["label"], "ttft.p95");
        assert_eq!(p["outcomes"][0]["passed"], true);
        assert_eq!(v["probes"][3]["bound_by"], "p95<100");
        // a float stays a float in the text (Python's json)
        assert!(crate::pyfmt::json::pretty(&json(&o)).contains("\"capacity\": 60.0"));
    }

    #[test]
    fn json_of_a_running_and_an_empty_search() {
        let s = spec(Mode::Users);
        let mut o = Outcome::new(s.clone(), T0);
        let v = parse(&json(&o));
        assert_eq!(v["state"], "running");
        assert_eq!(v["unit"], "users");
        assert_eq!(v["probes"], serde_json::json!([]));
        assert!(v["capacity"].is_null() && v["first_failing"].is_null() && v["ended_at"].is_null());
        o.probes.push(probe(&s, 1, 10.0, 20.0, Verdict::Pass));
        o.capacity = Some(10.0);
        o.current = Some(20.0);
        let v = parse(&json(&o));
        assert_eq!(v["current"], 20.0);
        assert_eq!(v["ended_by"], "running");
        // interrupted, with a gate the capacity is below
        o.end = End::Interrupted;
        o.spec.gate = Some(50.0);
        let v = parse(&json(&o));
        assert_eq!(v["state"], "interrupted");
        assert_eq!(v["gate"], 50.0);
        assert_eq!(v["gate_passed"], false);
    }

    #[test]
    fn breaches_name_dropped_and_achieved() {
        let s = spec(Mode::ArrivalRate);
        let mut p = probe(&s, 1, 100.0, 20.0, Verdict::Fail);
        p.dropped = 12;
        p.bound_by = Some("dropped".into());
        let b = breach(s.mode, &p).unwrap();
        assert_eq!((b.rule.as_str(), b.actual), ("dropped", Some(12.0)));
        p.bound_by = Some("achieved".into());
        p.achieved = 90.0;
        let b = breach(s.mode, &p).unwrap();
        assert_eq!((b.rule.as_str(), b.unit.as_str()), ("achieved", "1/s"));
        let mut o = Outcome::new(s, T0);
        o.probes.push(p);
        o.first_failing = Some(0);
        o.end = End::NothingPassed;
        o.ended_at = Some(T0 + 25.0);
        assert_eq!(
            headline(&o),
            "Capacity: none under p95<100; ttft.p95<500; fail_ratio<0.01: the first level, 100/s, failed (achieved 90/s of 100/s) (1 probe, 25s, nothing passed; lower --search-start)"
        );
        let v = parse(&json(&o));
        assert_eq!(v["first_failing"]["breach"]["rule"], "achieved");
        assert_eq!(v["first_failing"]["breach"]["actual"], 90.0);
    }

    #[test]
    fn csv_has_a_row_per_probe_and_a_column_per_figure() {
        let o = converged(Mode::ArrivalRate);
        let text = csv(&o);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 8, "header, 6 rows, and the last CRLF");
        assert_eq!(
            lines[0],
            "Probe,Offered,Achieved,Throughput,Mean In Flight,Goodput,Goodput %,50%,95%,99%,Requests,Failures,Fail %,Dropped,ttft.p95,Verdict,Bound By,Window Start,Window End"
        );
        assert_eq!(
            lines[4],
            "4,80.00,80.00,160.00,24.672,160.00,100.00,25.00,154.20,169.62,3200,0,0.00,0,31.00,fail,p95<100,1700000105.000,1700000125.000"
        );
        assert!(text.ends_with("\r\n") && !text.contains("\n\n"));
        // a field with a comma is quoted as Python's csv quotes it
        let mut o = o;
        o.probes[0].bound_by = Some("GET /a,b: p95<1".into());
        assert!(csv(&o).contains(",\"GET /a,b: p95<1\","));
        // an empty search: the header only (without figure columns)
        let empty = Outcome::new(spec(Mode::Users), T0);
        assert_eq!(
            csv(&empty),
            "Probe,Offered,Achieved,Throughput,Mean In Flight,Goodput,Goodput %,50%,95%,99%,Requests,Failures,Fail %,Dropped,Verdict,Bound By,Window Start,Window End\r\n"
        );
    }

    #[test]
    fn console_table_fits_its_content() {
        let o = converged(Mode::ArrivalRate);
        let t = console_table(&o);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "Capacity search (arrival-rate, levels in 1/s; SLO p95<100; ttft.p95<500; fail_ratio<0.01)"
        );
        assert!(lines[1].starts_with("#  offered  achieved  in flight  goodput   good%  p50 ms  p95 ms  p99 ms  fail%  ttft.p95  dropped  verdict"), "{}", lines[1]);
        assert_eq!(lines[2].len(), lines[1].len());
        assert_eq!(lines.len(), 3 + 6 + 1, "the table ends with an empty line");
        assert!(
            lines[6].contains("  154.2  ")
                && lines[6].ends_with(&format!("fail{}p95<100", " ".repeat(18))),
            "{t}"
        );
        assert!(lines[7].contains("pass (capacity)"), "{t}");
        assert!(lines[8].contains("fail (first failing)"), "{t}");
        assert!(t.ends_with("\n\n"));
        // the columns line up: every row as wide as the header up to the verdict
        let verdict_at = lines[1].find("verdict").unwrap();
        for l in &lines[3..9] {
            assert!(l.chars().nth(verdict_at - 1) == Some(' '), "{l}");
            assert!(l.chars().nth(verdict_at) != Some(' '), "{l}");
        }
        // a running search shows the probe in progress; an empty one only the header
        let mut running = Outcome::new(spec(Mode::Users), T0);
        running.current = Some(10.0);
        let t = console_table(&running);
        assert!(t.lines().nth(3).unwrap().ends_with("probing"), "{t}");
        running.current = None;
        assert_eq!(console_table(&running).lines().count(), 4);
    }

    #[test]
    fn headline_variants() {
        let mut o = converged(Mode::ArrivalRate);
        assert_eq!(
            headline(&o),
            "Capacity: 60/s under p95<100; ttft.p95<500; fail_ratio<0.01 (first failing: 70/s, p95 120.0 ms >= 100; 6 probes, 3m12s, converged)"
        );
        o.end = End::Budget;
        assert!(headline(&o).ends_with("6 probes, 3m12s, probe budget spent)"));
        o.end = End::Interrupted;
        assert_eq!(
            headline(&o),
            "Capacity so far: 60/s under p95<100; ttft.p95<500; fail_ratio<0.01 (interrupted, the best so far; first failing: 70/s, p95 120.0 ms >= 100; 6 probes, 3m12s)"
        );
        o.end = End::Levels;
        assert_eq!(
            headline(&o),
            "Levels under p95<100; ttft.p95<500; fail_ratio<0.01: highest passing level 60/s (first failing: 70/s, p95 120.0 ms >= 100; 6 probes, 3m12s, levels only, no search)"
        );
        o.end = End::Converged;
        o.spec.gate = Some(100.0);
        assert!(
            headline(&o).starts_with("Capacity: 60/s under p95<100; ttft.p95<500; fail_ratio<0.01 BELOW the gate 100/s (exit code 3) (")
        );
        o.spec.gate = Some(50.0);
        assert!(headline(&o).contains(", at or above the gate 50/s ("));

        // reached the maximum: the capacity is at least it
        let mut o = converged(Mode::Users);
        o.probes.truncate(3);
        o.capacity = Some(40.0);
        o.first_failing = None;
        o.spec.max = Some(40.0);
        o.end = End::ReachedMax;
        assert_eq!(
            headline(&o),
            "Capacity: >= 40 users under p95<100; ttft.p95<500; fail_ratio<0.01 (the maximum level passed; raise --search-max to search higher; 3 probes, 3m12s, reached the maximum)"
        );
        // generator-bound: the generator was the limit
        o.probes[2].verdict = Verdict::GeneratorBound;
        o.probes[2].bound_by = Some("generator cpu".into());
        o.probes[2].generator_cpu = 0.97;
        o.capacity = Some(20.0);
        o.end = End::GeneratorBound;
        assert_eq!(
            headline(&o),
            "Capacity: >= 20 users under p95<100; ttft.p95<500; fail_ratio<0.01; the generator, not the service, was the limit at 40 users (its lateness p99 0.05 ms, CPU 97% of a core): add --processes N (or workers) to search higher (3 probes, 3m12s, generator-bound)"
        );
        // nothing passed
        let s = spec(Mode::ArrivalRate);
        let mut o = Outcome::new(s.clone(), T0);
        o.probes.push(probe(&s, 1, 10.0, 154.2, Verdict::Fail));
        o.first_failing = Some(0);
        o.end = End::NothingPassed;
        o.ended_at = Some(T0 + 20.0);
        assert_eq!(
            headline(&o),
            "Capacity: none under p95<100; ttft.p95<500; fail_ratio<0.01: the first level, 10/s, failed (p95 154.2 ms >= 100) (1 probe, 20s, nothing passed; lower --search-start)"
        );
        // running, and running before any probe
        let mut o = Outcome::new(s.clone(), T0);
        o.current = Some(10.0);
        assert_eq!(
            headline(&o),
            "Capacity so far: none yet under p95<100; ttft.p95<500; fail_ratio<0.01 (searching: probing 10/s; 0 probes, 0s)"
        );
        o.probes.push(probe(&s, 1, 10.0, 20.0, Verdict::Pass));
        o.capacity = Some(10.0);
        o.current = Some(20.0);
        assert!(headline(&o).starts_with("Capacity so far: 10/s under"));
        // an interrupted search before any probe
        let mut o = Outcome::new(s, T0);
        o.end = End::Interrupted;
        o.ended_at = Some(T0 + 3.0);
        assert!(
            headline(&o).starts_with("Capacity so far: none under ")
                && headline(&o).ends_with("(interrupted, the best so far; 0 probes, 3s)")
        );
    }

    #[test]
    fn prometheus_families_follow_the_search() {
        let o = converged(Mode::ArrivalRate);
        let f = prometheus_families(&o);
        let by = |n: &str| f.iter().find(|x| x.name == n).unwrap();
        assert!(by("rlocust_search_level").samples.is_empty());
        assert_eq!(by("rlocust_search_capacity").samples[0].1, 60.0);
        assert_eq!(by("rlocust_search_first_failing").samples[0].1, 70.0);
        let probes = &by("rlocust_search_probes").samples;
        assert_eq!(probes.len(), 5);
        assert_eq!(probes[0].0[1], ("verdict", "pass".to_string()));
        assert_eq!(probes[0].1, 4.0);
        assert_eq!(probes[1].1, 2.0);
        let mut running = Outcome::new(spec(Mode::Users), T0);
        running.current = Some(5.0);
        let f = prometheus_families(&running);
        assert_eq!(
            f[0].samples,
            vec![(vec![("mode", "users".to_string())], 5.0)]
        );
        assert!(f[1].samples.is_empty() && f[2].samples.is_empty());
    }
}
