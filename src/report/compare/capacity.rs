//! The capacity found by a search (`--search`) compared with a baseline's: each side's capacity as a range (what
//! its search showed: the capacity passed, the first failing level or the precision bounds the truth above), and a
//! verdict that takes both searches' precision into account.
//!
//! How it is judged (docs/capacity.md says the same for users): a side's true capacity lies in
//! `[capacity, upper)`, where `upper` is its first failing level when a level above the capacity failed, else
//! the capacity × (1 + precision) when the search converged, else unbounded (it reached its maximum, the
//! generator was the limit, a list of levels all passed, the budget ran out before a failure). A side whose
//! search found nothing passing has `[0, the level that failed)`. The current run *regressed* when its whole
//! range is below the baseline's (its `upper` at or below the baseline's capacity: a drop beyond the precision of
//! either search), *improved* when its capacity is at or above the baseline's `upper`, and is *unchanged*
//! otherwise. Two searches of different modes or SLOs are *not judged* (their capacities are not the same
//! figure); both are still shown.
//!
//! Who calls it: `report::compare` (a side's search as loaded or this run's; the comparison), `report::compare::
//! render` (JSON, console line, gate breach). What it must not do: read live state (this run's search is handed in
//! as an [`Outcome`]).
use super::Verdict;
use crate::judge::search::{End, Outcome};
use crate::pyfmt::json::J;

/// A search's result as a comparison reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchSide {
    /// `arrival-rate` or `users`, and the level's unit.
    pub mode: String,
    pub unit: String,
    /// The SLO as written.
    pub slo: String,
    /// The highest passing level (`None`: none passed).
    pub capacity: Option<f64>,
    /// The first failing level above it, if any.
    pub first_failing: Option<f64>,
    /// The search's relative precision.
    pub precision: f64,
    /// How the search ended (`End::as_str`).
    pub ended_by: String,
}

impl SearchSide {
    /// This run's search.
    pub fn of(o: &Outcome) -> SearchSide {
        SearchSide {
            mode: o.spec.mode.as_str().into(),
            unit: o.spec.mode.unit().into(),
            slo: o.spec.slo_text.clone(),
            capacity: o.capacity,
            first_failing: o.first_failing_probe().map(|p| p.offered),
            precision: o.spec.precision,
            ended_by: o.end.as_str().into(),
        }
    }

    /// A summary's `search` object (`report::search::json`); `None` when it has none.
    pub fn from_summary(v: &serde_json::Value) -> Option<SearchSide> {
        let s = v.get("search").filter(|s| s.is_object())?;
        let text = |k: &str| s.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        Some(SearchSide {
            mode: text("mode"),
            unit: text("unit"),
            slo: text("slo"),
            capacity: s.get("capacity").and_then(|c| c.as_f64()),
            first_failing: s
                .get("first_failing")
                .and_then(|f| f.get("offered"))
                .and_then(|x| x.as_f64()),
            precision: s
                .get("settings")
                .and_then(|x| x.get("precision"))
                .and_then(|x| x.as_f64())
                .unwrap_or(0.0)
                .max(0.0),
            ended_by: text("ended_by"),
        })
    }

    /// The lowest the true capacity can be (what passed).
    pub fn lower(&self) -> f64 {
        self.capacity.unwrap_or(0.0)
    }

    /// The level the true capacity is below (`None`: unbounded above).
    pub fn upper(&self) -> Option<f64> {
        if let Some(f) = self.first_failing {
            return Some(f);
        }
        match self.capacity {
            Some(c) if self.ended_by == End::Converged.as_str() => Some(c * (1.0 + self.precision)),
            _ => None,
        }
    }
}

/// Both capacities and the verdict.
#[derive(Clone, Debug)]
pub struct CapacityComparison {
    pub baseline: SearchSide,
    pub current: SearchSide,
    pub verdict: Verdict,
}

impl CapacityComparison {
    /// The change of the capacity, absolute and in % of the baseline's (none unless both found one).
    pub fn delta(&self) -> Option<f64> {
        Some(self.current.capacity? - self.baseline.capacity?)
    }

    pub fn delta_pct(&self) -> Option<f64> {
        let b = self.baseline.capacity.filter(|b| *b != 0.0)?;
        Some(self.delta()? / b * 100.0)
    }
}

/// Compare two searches (`None` unless both sides have one).
pub fn compare(
    baseline: Option<&SearchSide>,
    current: Option<&SearchSide>,
) -> Option<CapacityComparison> {
    let (b, c) = (baseline?.clone(), current?.clone());
    let verdict = if b.mode != c.mode || b.slo != c.slo {
        Verdict::NotJudged
    } else if b.capacity.is_some() && c.upper().is_some_and(|u| u <= b.lower()) {
        Verdict::Regressed
    } else if c.capacity.is_some() && b.upper().is_some_and(|u| c.lower() >= u) {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
    Some(CapacityComparison {
        baseline: b,
        current: c,
        verdict,
    })
}

fn side_json(s: &SearchSide) -> J {
    J::obj([
        ("mode", J::str(&s.mode)),
        ("unit", J::str(&s.unit)),
        ("slo", J::str(&s.slo)),
        ("capacity", J::opt_float(s.capacity)),
        ("first_failing", J::opt_float(s.first_failing)),
        ("precision", J::Float(s.precision)),
        ("ended_by", J::str(&s.ended_by)),
        ("upper", J::opt_float(s.upper())),
    ])
}

/// The comparison's `capacity` object.
pub fn json(c: &CapacityComparison) -> J {
    J::obj([
        ("baseline", side_json(&c.baseline)),
        ("current", side_json(&c.current)),
        ("delta", J::opt_float(c.delta())),
        ("delta_pct", J::opt_float(c.delta_pct())),
        ("verdict", J::str(c.verdict.text())),
    ])
}

fn level(s: &SearchSide, v: Option<f64>) -> String {
    match v {
        None => "none".into(),
        Some(v) => {
            let n = crate::runner::open::schedule::fmt_rate(v);
            if s.unit == "1/s" {
                format!("{n}/s")
            } else if s.unit.is_empty() {
                n
            } else {
                format!("{n} {}", s.unit)
            }
        }
    }
}

fn range(s: &SearchSide) -> String {
    match s.upper() {
        Some(u) => format!("[{}, {})", level(s, Some(s.lower())), level(s, Some(u))),
        None => format!(">= {}", level(s, Some(s.lower()))),
    }
}

/// The console line: `Capacity: 310/s → 250/s (-19.4%) regressed (this run [250/s, 262.5/s), baseline …)`.
pub fn line(c: &CapacityComparison) -> String {
    let change = c
        .delta_pct()
        .map_or(String::new(), |p| format!(" ({p:+.1}%)"));
    let why = if c.verdict == Verdict::NotJudged {
        format!(
            "the searches differ: baseline {} under {}, this run {} under {}",
            c.baseline.mode, c.baseline.slo, c.current.mode, c.current.slo
        )
    } else {
        format!(
            "this run {}, baseline {}",
            range(&c.current),
            range(&c.baseline)
        )
    };
    format!(
        "Capacity: {} → {}{change} {} ({why})",
        level(&c.baseline, c.baseline.capacity),
        level(&c.current, c.current.capacity),
        c.verdict.text()
    )
}

/// The gate's breach line when the capacity regressed.
pub fn breach(c: &CapacityComparison) -> Option<String> {
    (c.verdict == Verdict::Regressed).then(|| {
        format!(
            "capacity: {} → {}{} (this run below {}, the baseline sustained {})",
            level(&c.baseline, c.baseline.capacity),
            level(&c.current, c.current.capacity),
            c.delta_pct()
                .map_or(String::new(), |p| format!(" ({p:+.1}%)")),
            level(&c.current, c.current.upper()),
            level(&c.baseline, c.baseline.capacity),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(capacity: Option<f64>, first_failing: Option<f64>, ended_by: &str) -> SearchSide {
        SearchSide {
            mode: "arrival-rate".into(),
            unit: "1/s".into(),
            slo: "p95<100".into(),
            capacity,
            first_failing,
            precision: 0.05,
            ended_by: ended_by.into(),
        }
    }

    #[test]
    fn a_drop_beyond_both_precisions_regresses() {
        let base = side(Some(310.0), Some(325.0), "converged");
        let v = |cur: &SearchSide| compare(Some(&base), Some(cur)).unwrap().verdict;
        // this run's range [250, 262.5) is below the 310 the baseline sustained
        let lower = side(Some(250.0), Some(262.5), "converged");
        assert_eq!(v(&lower), Verdict::Regressed);
        let c = compare(Some(&base), Some(&lower)).unwrap();
        assert_eq!(c.delta(), Some(-60.0));
        assert!((c.delta_pct().unwrap() + 19.354).abs() < 0.01);
        assert_eq!(
            line(&c),
            "Capacity: 310/s → 250/s (-19.4%) regressed (this run [250/s, 262.5/s), baseline [310/s, 325/s))"
        );
        assert!(
            breach(&c)
                .unwrap()
                .starts_with("capacity: 310/s → 250/s (-19.4%)")
        );
        // within the precision: the ranges overlap
        assert_eq!(
            v(&side(Some(300.0), Some(315.0), "converged")),
            Verdict::Unchanged
        );
        // converged without a failing level kept: the precision bounds it
        assert_eq!(v(&side(Some(290.0), None, "converged")), Verdict::Regressed);
        assert_eq!(v(&side(Some(300.0), None, "converged")), Verdict::Unchanged);
        // reached the maximum below the baseline: unbounded above, so not a regression
        assert_eq!(
            v(&side(Some(200.0), None, "reached_max")),
            Verdict::Unchanged
        );
        // nothing passed at a level below the baseline's capacity
        assert_eq!(
            v(&side(None, Some(100.0), "nothing_passed")),
            Verdict::Regressed
        );
        // better than the baseline's first failing level
        assert_eq!(
            v(&side(Some(330.0), Some(345.0), "converged")),
            Verdict::Improved
        );
        // another SLO: not the same figure
        let mut other = side(Some(100.0), Some(105.0), "converged");
        other.slo = "p99<100".into();
        let c = compare(Some(&base), Some(&other)).unwrap();
        assert_eq!(c.verdict, Verdict::NotJudged);
        assert!(breach(&c).is_none());
        // one side without a search: nothing to compare
        assert!(compare(None, Some(&base)).is_none() && compare(Some(&base), None).is_none());
    }

    #[test]
    fn a_summary_states_its_search() {
        let o = crate::report::search::tests::converged(crate::judge::search::Mode::ArrivalRate);
        let text =
            crate::pyfmt::json::pretty(&J::obj([("search", crate::report::search::json(&o))]));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let s = SearchSide::from_summary(&v).unwrap();
        assert_eq!(s, SearchSide::of(&o));
        assert_eq!(s.capacity, Some(60.0));
        assert_eq!(s.first_failing, Some(70.0));
        assert_eq!(s.precision, 0.05);
        let none: serde_json::Value = serde_json::json!({"search": null});
        assert!(SearchSide::from_summary(&none).is_none());
    }
}
