//! A [`Comparison`] as each output shows it: the JSON object (`rlocust-comparison/1`: the summary's
//! `baseline`, the HTML report's and the web UI's), the console table, `PREFIX_baseline.csv` and the gate's
//! breach lines. docs/reports.md documents every field and column.
//!
//! Who calls it: `app::gates`, `report::html`, `report::outputs`, `app::report_cli`. What it must not do: judge
//! (`report::compare` did) or write anywhere (the callers do).
use std::fmt::Write as _;

use super::{Compared, Comparison, Figure, RowComparison, Side, Verdict};
use crate::pyfmt::json::J;
use crate::pyfmt::py_float_repr;

/// The schema of the comparison object.
pub const SCHEMA: &str = "rlocust-comparison/1";

fn side_json(s: &Side) -> J {
    J::obj([
        ("source", s.source.clone().map_or(J::Null, J::Str)),
        ("format", J::str(s.format)),
        ("run", s.run.clone().unwrap_or(J::Null)),
    ])
}

fn figure_json(c: &Compared) -> J {
    J::obj([
        ("baseline", J::opt_float(c.baseline)),
        ("current", J::opt_float(c.current)),
        ("delta", J::opt_float(c.delta())),
        ("delta_pct", J::opt_float(c.delta_pct())),
        ("verdict", J::str(c.verdict.text())),
        ("limit", c.limit.clone().map_or(J::Null, J::Str)),
    ])
}

fn row_json(r: &RowComparison) -> J {
    J::obj([
        ("method", J::str(&r.method)),
        ("name", J::str(&r.name)),
        ("status", J::str(r.status)),
        ("verdict", J::str(r.verdict.text())),
        (
            "figures",
            J::obj(r.figures.iter().map(|f| (f.figure.key(), figure_json(f)))),
        ),
    ])
}

/// The comparison object (with `capacity` only when both runs searched).
pub fn json(c: &Comparison) -> J {
    let mut doc = J::obj([
        ("schema", J::str(SCHEMA)),
        ("baseline", side_json(&c.baseline)),
        ("current", side_json(&c.current)),
        (
            "limits",
            J::Arr(c.limits.texts.iter().map(J::str).collect()),
        ),
        ("min_tail_samples", J::Int(super::MIN_TAIL as i64)),
        (
            "counts",
            J::obj(
                [
                    ("regressed", Verdict::Regressed),
                    ("improved", Verdict::Improved),
                    ("unchanged", Verdict::Unchanged),
                    ("too_few_samples", Verdict::TooFew),
                    ("new", Verdict::New),
                    ("vanished", Verdict::Vanished),
                ]
                .map(|(k, v)| (k, J::Int(c.count(v) as i64))),
            ),
        ),
        ("rows", J::Arr(c.rows.iter().map(row_json).collect())),
        (
            "breaches",
            J::Arr(breaches(c).into_iter().map(J::Str).collect()),
        ),
    ]);
    if let (Some(cap), J::Obj(m)) = (&c.capacity, &mut doc) {
        m.insert("capacity".into(), super::capacity::json(cap));
    }
    doc
}

/// A value in the figure's unit, short: ms with 3 significant digits (at least 1 decimal), rates with 2
/// decimals, a failure ratio as a percentage.
pub fn value_text(figure: Figure, v: Option<f64>) -> String {
    let Some(v) = v else {
        return "-".into();
    };
    match figure {
        Figure::Requests => format!("{v:.0}"),
        Figure::Rps => format!("{v:.2}"),
        Figure::FailRatio => format!("{:.2}%", v * 100.0),
        Figure::Pct(_) => short(v),
    }
}

/// The signed change: `+21.0%`, or `+1.50pt` for a failure ratio.
pub fn delta_text(c: &Compared) -> String {
    match (c.figure, c.delta(), c.delta_pct()) {
        (Figure::FailRatio, Some(d), _) => format!("{:+.2}pt", d * 100.0),
        (_, _, Some(p)) => format!("{p:+.1}%"),
        (_, Some(0.0), None) => "+0.0%".into(),
        (_, Some(_), None) => "new".into(),
        _ => String::new(),
    }
}

fn unit(f: Figure) -> &'static str {
    match f {
        Figure::Pct(_) => " ms",
        Figure::Rps => "/s",
        _ => "",
    }
}

fn row_label(r: &RowComparison) -> String {
    if r.method.is_empty() {
        r.name.clone()
    } else {
        format!("{} {}", r.method, r.name)
    }
}

/// One line per regressed row: `GET /slow: p50 100.0 → 121.0 ms (+21.0%, limit +10% +1ms), p95 …`.
pub fn breaches(c: &Comparison) -> Vec<String> {
    let mut lines: Vec<String> = c
        .regressed()
        .map(|r| {
            let parts: Vec<String> = r
                .figures
                .iter()
                .filter(|f| f.verdict == Verdict::Regressed)
                .map(|f| {
                    format!(
                        "{} {} → {}{} ({}, limit {})",
                        f.figure.key(),
                        value_text(f.figure, f.baseline),
                        value_text(f.figure, f.current),
                        unit(f.figure),
                        delta_text(f),
                        f.limit.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            format!("{}: {}", row_label(r), parts.join(", "))
        })
        .collect();
    // a capacity that dropped beyond both searches' precision (`capacity`)
    lines.extend(c.capacity.as_ref().and_then(super::capacity::breach));
    lines
}

/// The row's verdict with the figures behind it: `regressed (p50 p95)`.
fn verdict_text(r: &RowComparison) -> String {
    let which: Vec<String> = r
        .figures
        .iter()
        .filter(|f| f.verdict == r.verdict)
        .map(|f| f.figure.key())
        .collect();
    match r.verdict {
        Verdict::Regressed | Verdict::Improved => {
            format!("{} ({})", r.verdict.text(), which.join(" "))
        }
        v => v.text().into(),
    }
}

fn side_label(s: &Side) -> String {
    match &s.source {
        Some(p) => format!("{p} ({})", s.format),
        None => s.format.to_string(),
    }
}

/// The console table (stderr, after the final tables), ending in an empty line.
pub fn table(c: &Comparison, name_width: usize) -> String {
    let figures: Vec<Figure> = c
        .rows
        .first()
        .map(|r| {
            r.figures
                .iter()
                .map(|f| f.figure)
                .filter(|f| *f != Figure::Requests)
                .collect()
        })
        .unwrap_or_default();
    let header_of = |f: Figure| match f {
        Figure::Rps => "req/s".to_string(),
        Figure::FailRatio => "fail %".to_string(),
        Figure::Pct(_) => format!("{} ms", f.key()),
        Figure::Requests => "# reqs".to_string(),
    };
    let cell = |cmp: &Compared| {
        let mark = match cmp.verdict {
            Verdict::Regressed => " ▲",
            Verdict::Improved => " ▼",
            Verdict::TooFew => " ?",
            _ => "",
        };
        let delta = delta_text(cmp);
        format!(
            "{} → {}{}{}",
            value_text(cmp.figure, cmp.baseline),
            value_text(cmp.figure, cmp.current),
            if delta.is_empty() {
                String::new()
            } else {
                format!(" {delta}")
            },
            mark
        )
    };
    let cells: Vec<Vec<String>> = c
        .rows
        .iter()
        .map(|r| {
            figures
                .iter()
                .map(|f| {
                    r.figures
                        .iter()
                        .find(|x| x.figure == *f)
                        .map(cell)
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = figures
        .iter()
        .enumerate()
        .map(|(i, f)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([header_of(*f).len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let nw = name_width.max(4);
    let clip = |s: &str| -> String {
        if s.chars().count() > nw {
            s.chars().take(nw).collect()
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Compared with baseline {}; limits: {}",
        side_label(&c.baseline),
        c.limits.texts.join("; ")
    );
    let mut line = format!("{:<8} {:<nw$}", "Type", "Name");
    for (f, w) in figures.iter().zip(&widths) {
        let _ = write!(line, " | {:>w$}", header_of(*f));
    }
    line.push_str(" | verdict");
    let _ = writeln!(out, "{line}");
    let sep = |out: &mut String| {
        let mut s = format!("{}|{}", "-".repeat(8), "-".repeat(nw + 1));
        for w in &widths {
            s.push('|');
            s.push_str(&"-".repeat(w + 2));
        }
        s.push('|');
        s.push_str(&"-".repeat(16));
        let _ = writeln!(out, "{s}");
    };
    sep(&mut out);
    for (i, (r, row)) in c.rows.iter().zip(&cells).enumerate() {
        if r.aggregated && i > 0 {
            sep(&mut out);
        }
        let mut line = format!("{:<8} {:<nw$}", clip(&r.method), clip(&r.name));
        for (text, w) in row.iter().zip(&widths) {
            let pad = w.saturating_sub(text.chars().count());
            let _ = write!(line, " | {}{text}", " ".repeat(pad));
        }
        let _ = write!(line, " | {}", verdict_text(r));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{} regressed, {} improved, {} unchanged, {} too few samples, {} new, {} vanished (▲ worse beyond the limit, ▼ better, ? too few samples to judge)",
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged),
        c.count(Verdict::TooFew),
        c.count(Verdict::New),
        c.count(Verdict::Vanished),
    );
    if let Some(cap) = &c.capacity {
        let _ = writeln!(out, "{}", super::capacity::line(cap));
    }
    out.push('\n');
    out
}

fn csv_label(f: Figure) -> String {
    match f {
        Figure::Requests => "Request Count".into(),
        Figure::Rps => "Requests/s".into(),
        Figure::FailRatio => "Failure Ratio".into(),
        Figure::Pct(_) => {
            let k = f.key();
            format!("{}%", &k[1..])
        }
    }
}

fn num(f: Figure, v: Option<f64>) -> String {
    match (f, v) {
        (Figure::Requests, Some(n)) => format!("{n:.0}"),
        (_, v) => v.map(py_float_repr).unwrap_or_default(),
    }
}

/// `PREFIX_baseline.csv`: one row per name (Aggregated last); per figure its baseline and current values, the
/// delta, the delta in % (empty for the failure ratio, whose delta is already a ratio) and its verdict.
pub fn csv(c: &Comparison) -> String {
    let figures: Vec<Figure> = c
        .rows
        .first()
        .map(|r| r.figures.iter().map(|f| f.figure).collect())
        .unwrap_or_default();
    let mut header: Vec<String> = ["Type", "Name", "Status", "Verdict"]
        .map(String::from)
        .to_vec();
    for f in &figures {
        let l = csv_label(*f);
        header.extend([
            format!("{l} (baseline)"),
            l.clone(),
            format!("{l} Delta"),
            format!("{l} Delta %"),
            format!("{l} Verdict"),
        ]);
    }
    let mut out = String::new();
    let push = |out: &mut String, fields: &[String]| {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::pyfmt::csv::push_field(out, f);
        }
        out.push_str("\r\n");
    };
    push(&mut out, &header);
    for r in &c.rows {
        let mut fields = vec![
            r.method.clone(),
            r.name.clone(),
            r.status.to_string(),
            r.verdict.text().to_string(),
        ];
        for f in &figures {
            match r.figures.iter().find(|x| x.figure == *f) {
                Some(x) => fields.extend([
                    num(*f, x.baseline),
                    num(*f, x.current),
                    num(*f, x.delta()),
                    num(Figure::Rps, x.delta_pct()),
                    x.verdict.text().to_string(),
                ]),
                None => fields.extend(std::iter::repeat_n(String::new(), 5)),
            }
        }
        push(&mut out, &fields);
    }
    out
}

/// A response time in a table cell: 2 decimals below 10, 1 below 1,000, whole above (the capacity search's table
/// prints its figures so too).
pub fn short(v: f64) -> String {
    if v.abs() < 10.0 {
        format!("{v:.2}")
    } else if v.abs() < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}
