//! A run compared with a baseline (`--baseline`, `rlocust-report compare`): per request name, requests/s,
//! failure ratio and response-time percentiles side by side, their deltas, and a verdict that is noise-aware.
//!
//! - `load`: a run's result as a [`Side`]: this run's [`crate::stats::Snapshot`], an rlocust summary JSON (exact histograms
//!   since issue 42, percentiles only before) or a Locust/rlocust `_stats.csv` (its percentile columns).
//! - `limits`: `--baseline-limits` (what counts as a regression: per figure, a relative and/or absolute
//!   tolerance, optionally per request name).
//! - `capacity`: the capacity two searches found (`--search`), each with its precision, and the verdict.
//! - `render`: the comparison as JSON (summary, HTML report, web UI), the console table, `_baseline.csv`, and
//!   the gate's breach lines.
//!
//! How a figure is judged (docs/reports.md says the same for users): a percentile is *too few samples* unless
//! both runs have at least [`MIN_TAIL`] samples on each side of it (p99 needs 1,000 requests, p95 200, p50 20).
//! Otherwise it *regressed* when it got worse by more than every tolerance of its limit **and** the two runs'
//! 95 % confidence intervals of that percentile do not overlap (distribution-free, from the order statistics:
//! ranks n·p ± 1.96·√(n·p·(1−p)) of the exact histogram, or of the quantile curve interpolated between a CSV's
//! percentile columns). *Improved* is the mirror image; anything else is *unchanged*. The failure ratio uses a
//! two-proportion z-test (|z| > 1.96) with its tolerance in percentage points. Requests/s is shown but judged
//! only when a limit names it: in a closed workload one slower endpoint lowers every name's throughput.
//!
//! Who calls it: `app::gates` (the run's baseline), `report::html` and `web` (through `report::html`'s
//! [`crate::report::html::RunContext`]), `report::outputs` (console and CSV at the end) and `app::report_cli`.
//! What it must not do: read live statistics (it is given a snapshot) or decide the exit code.
pub mod capacity;
pub mod limits;
pub mod load;
pub mod render;

use limits::{Limit, Limits};

/// Samples a percentile needs on each side of it, in both runs, to be judged.
pub const MIN_TAIL: u64 = 10;
/// Requests a failure ratio or a rate needs in both runs to be judged.
const MIN_REQUESTS: u64 = 2 * MIN_TAIL;
/// The normal quantile of the two-sided 95 % intervals.
const Z: f64 = 1.96;

/// A row's response times, as much of them as the result kept.
#[derive(Clone, Debug, Default)]
pub enum Dist {
    /// Exact: `(lowest µs of the bucket, count)` ascending, with the raw min and max (ms).
    Hist {
        buckets: Vec<(u64, u64)>,
        n: u64,
        min: f64,
        max: f64,
    },
    /// Some points of the quantile curve `(p in 0..=1, ms)`, ascending (a CSV's percentile columns with its
    /// min at 0 and max at 1, or an older summary's `percentiles_ms`).
    Points(Vec<(f64, f64)>),
    #[default]
    None,
}

/// The step Locust rounds a response time to in its percentiles: 1 ms below 100 ms, 10 below 1,000, …
fn locust_step(ms: f64) -> f64 {
    if ms < 100.0 {
        1.0
    } else {
        10f64.powi(ms.log10().floor() as i32 - 1)
    }
}

/// Locust's rank rule: `int(n·p)`, at most `n − 1`.
fn rank_of(n: u64, p: f64) -> u64 {
    let r = if p <= 0.0 { 0 } else { ((n as f64) * p) as u64 };
    r.min(n.saturating_sub(1))
}

impl Dist {
    /// The value at 0-based rank `rank` of a histogram (the raw min and max at the ends, as the tables give).
    fn at_rank(buckets: &[(u64, u64)], n: u64, min: f64, max: f64, rank: u64) -> f64 {
        if rank >= n.saturating_sub(1) {
            return max;
        }
        if rank == 0 {
            return min;
        }
        let mut acc = 0;
        for &(us, c) in buckets {
            acc += c;
            if acc > rank {
                return (us as f64 / 1000.0).clamp(min, max);
            }
        }
        max
    }

    fn interpolate(points: &[(f64, f64)], p: f64) -> Option<f64> {
        let first = points.first()?;
        if p <= first.0 {
            return Some(first.1);
        }
        for w in points.windows(2) {
            let ((p0, v0), (p1, v1)) = (w[0], w[1]);
            if p <= p1 {
                return Some(if p1 > p0 {
                    v0 + (v1 - v0) * (p - p0) / (p1 - p0)
                } else {
                    v1
                });
            }
        }
        points.last().map(|l| l.1)
    }

    /// The `p` percentile (ms), as the run's own tables give it.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        match self {
            Dist::Hist {
                buckets,
                n,
                min,
                max,
            } if *n > 0 => Some(Self::at_rank(buckets, *n, *min, *max, rank_of(*n, p))),
            Dist::Points(points) => Self::interpolate(points, p),
            _ => None,
        }
    }

    /// The 95 % confidence interval of the `p` percentile of `n` samples (ms).
    pub fn interval(&self, p: f64, n: u64) -> Option<(f64, f64)> {
        let half = Z * ((n as f64) * p * (1.0 - p)).sqrt();
        match self {
            Dist::Hist {
                buckets,
                n,
                min,
                max,
            } if *n > 0 => {
                let centre = (*n as f64) * p;
                let lo = (centre - half).floor().max(0.0) as u64;
                let hi = ((centre + half).ceil() as u64).min(n - 1);
                Some((
                    Self::at_rank(buckets, *n, *min, *max, lo),
                    Self::at_rank(buckets, *n, *min, *max, hi),
                ))
            }
            Dist::Points(points) if n > 0 => {
                let d = half / n as f64;
                // Locust's CSV rounds its percentiles (to whole ms below 100 ms, then to 2 significant
                // digits): the interval also spans half of that step
                let lo = Self::interpolate(points, (p - d).max(0.0))?;
                let hi = Self::interpolate(points, (p + d).min(1.0))?;
                Some((lo - locust_step(lo) / 2.0, hi + locust_step(hi) / 2.0))
            }
            _ => None,
        }
    }
}

/// One request name's row of a result (the Aggregated row too).
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    /// Requests with a response time (the percentiles' sample count).
    pub timed: u64,
    /// Locust's `total_rps`.
    pub rps: f64,
    pub dist: Dist,
}

impl Row {
    pub fn fail_ratio(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.failures as f64 / self.requests as f64)
    }

    fn key(&self) -> (&str, &str) {
        (&self.method, &self.name)
    }
}

/// One side of a comparison: a run's result.
#[derive(Clone, Debug)]
pub struct Side {
    /// The file it came from (none for this run).
    pub source: Option<String>,
    /// `this run`, `rlocust summary` or `Locust _stats.csv`.
    pub format: &'static str,
    /// The run's parameters when the result has them (a summary's, or this run's).
    pub run: Option<crate::pyfmt::json::J>,
    /// Request rows in the result's order, without the Aggregated row.
    pub rows: Vec<Row>,
    pub total: Row,
    /// The run's capacity search, when it had one (`capacity`).
    pub search: Option<capacity::SearchSide>,
}

/// What a comparison figure is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Figure {
    Requests,
    Rps,
    FailRatio,
    /// A percentile, `p` in 0..=1.
    Pct(f64),
}

impl Figure {
    /// Its key in JSON and in `--baseline-limits`: `requests`, `rps`, `fail_ratio`, `p50`, `p99.9`.
    pub fn key(self) -> String {
        match self {
            Figure::Requests => "requests".into(),
            Figure::Rps => "rps".into(),
            Figure::FailRatio => "fail_ratio".into(),
            Figure::Pct(p) => {
                let mut s = format!("{:.4}", p * 100.0);
                while s.ends_with('0') {
                    s.pop();
                }
                if s.ends_with('.') {
                    s.pop();
                }
                format!("p{s}")
            }
        }
    }

    /// Whether a larger value is worse.
    fn up_is_worse(self) -> bool {
        !matches!(self, Figure::Rps)
    }

    fn value(self, row: &Row) -> Option<f64> {
        match self {
            Figure::Requests => Some(row.requests as f64),
            Figure::Rps => Some(row.rps),
            Figure::FailRatio => row.fail_ratio(),
            Figure::Pct(p) => row.dist.quantile(p),
        }
    }
}

/// The figures every comparison shows, before those a limit adds.
pub const FIGURES: [Figure; 6] = [
    Figure::Requests,
    Figure::Rps,
    Figure::FailRatio,
    Figure::Pct(0.5),
    Figure::Pct(0.95),
    Figure::Pct(0.99),
];

/// A figure's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Regressed,
    Improved,
    Unchanged,
    TooFew,
    NotJudged,
    /// Row-level only: the name is only in this run / only in the baseline.
    New,
    Vanished,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::TooFew => "too few samples",
            Verdict::NotJudged => "not judged",
            Verdict::New => "new",
            Verdict::Vanished => "vanished",
        }
    }
}

/// One figure of one row, both runs.
#[derive(Clone, Debug)]
pub struct Compared {
    pub figure: Figure,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub verdict: Verdict,
    /// The limit it was judged against (its text), if any.
    pub limit: Option<String>,
}

impl Compared {
    pub fn delta(&self) -> Option<f64> {
        Some(self.current? - self.baseline?)
    }

    /// The delta in % of the baseline (none for a ratio, or from 0).
    pub fn delta_pct(&self) -> Option<f64> {
        if self.figure == Figure::FailRatio {
            return None;
        }
        let b = self.baseline?;
        (b != 0.0).then(|| self.delta().map(|d| d / b * 100.0))?
    }
}

/// One request name, both runs.
#[derive(Clone, Debug)]
pub struct RowComparison {
    pub method: String,
    pub name: String,
    /// `compared`, `new` or `vanished`.
    pub status: &'static str,
    pub verdict: Verdict,
    pub figures: Vec<Compared>,
    pub aggregated: bool,
}

/// The whole comparison.
pub struct Comparison {
    pub baseline: Side,
    pub current: Side,
    pub limits: Limits,
    /// Request rows (this run's order, then the vanished ones), then the Aggregated row.
    pub rows: Vec<RowComparison>,
    /// Both runs' capacities, when both searched (`capacity`).
    pub capacity: Option<capacity::CapacityComparison>,
}

impl Comparison {
    /// The request names (not the Aggregated row) whose verdict is `v`.
    pub fn count(&self, v: Verdict) -> usize {
        self.rows
            .iter()
            .filter(|r| !r.aggregated && r.verdict == v)
            .count()
    }

    /// The request rows that regressed (the capacity's verdict is `capacity`'s).
    pub fn regressed(&self) -> impl Iterator<Item = &RowComparison> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed)
    }
}

/// The figures shown: the fixed ones, then any other percentile a limit names.
fn figures(limits: &Limits) -> Vec<Figure> {
    let mut out = FIGURES.to_vec();
    for f in limits.figures() {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// Judge one figure of a row present in both runs.
fn judge(figure: Figure, base: &Row, cur: &Row, limit: Option<&Limit>) -> Compared {
    let b = figure.value(base);
    let c = figure.value(cur);
    let mut out = Compared {
        figure,
        baseline: b,
        current: c,
        verdict: Verdict::NotJudged,
        limit: limit.map(|l| l.text.clone()),
    };
    let (Some(limit), Some(bv), Some(cv)) = (limit, b, c) else {
        if limit.is_some() && (b.is_some() || c.is_some()) {
            out.verdict = Verdict::TooFew;
        }
        return out;
    };
    let delta = cv - bv;
    let worse = if figure.up_is_worse() { delta } else { -delta };
    let beyond = |amount: f64| limit.exceeded(amount, bv);
    let (enough, apart_worse, apart_better) = match figure {
        Figure::Pct(p) => {
            let tail = |n: u64| ((n as f64) * p.min(1.0 - p)).floor() as u64 >= MIN_TAIL;
            let enough = p < 1.0 && tail(base.timed) && tail(cur.timed);
            match (
                base.dist.interval(p, base.timed),
                cur.dist.interval(p, cur.timed),
            ) {
                (Some(bi), Some(ci)) => (enough, ci.0 > bi.1, ci.1 < bi.0),
                _ => (false, false, false),
            }
        }
        Figure::FailRatio => {
            let (n1, n2) = (base.requests as f64, cur.requests as f64);
            let pooled = (base.failures + cur.failures) as f64 / (n1 + n2);
            let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
            let z = if se > 0.0 { delta / se } else { 0.0 };
            (
                base.requests >= MIN_REQUESTS && cur.requests >= MIN_REQUESTS,
                z > Z,
                z < -Z,
            )
        }
        Figure::Rps | Figure::Requests => {
            // counts are Poisson: the rate's standard error is √N / T = rate / √N
            let se = |r: &Row, v: f64| {
                if r.requests > 0 {
                    v / (r.requests as f64).sqrt()
                } else {
                    0.0
                }
            };
            let spread = Z * (se(base, bv).powi(2) + se(cur, cv).powi(2)).sqrt();
            let enough = base.requests >= MIN_REQUESTS && cur.requests >= MIN_REQUESTS;
            let apart = delta.abs() > spread;
            let up = delta > 0.0;
            let worse_dir = up == figure.up_is_worse();
            (enough, apart && worse_dir, apart && !worse_dir)
        }
    };
    out.verdict = if !enough {
        Verdict::TooFew
    } else if worse > 0.0 && apart_worse && beyond(worse) {
        Verdict::Regressed
    } else if worse < 0.0 && apart_better && beyond(-worse) {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
    out
}

fn row_verdict(figures: &[Compared]) -> Verdict {
    let any = |v: Verdict| figures.iter().any(|f| f.verdict == v);
    if any(Verdict::Regressed) {
        Verdict::Regressed
    } else if any(Verdict::Improved) {
        Verdict::Improved
    } else if any(Verdict::Unchanged) {
        Verdict::Unchanged
    } else if any(Verdict::TooFew) {
        Verdict::TooFew
    } else {
        Verdict::Unchanged
    }
}

fn one_sided(figures: &[Figure], row: &Row, baseline_side: bool) -> Vec<Compared> {
    figures
        .iter()
        .map(|&f| {
            let v = f.value(row);
            Compared {
                figure: f,
                baseline: if baseline_side { v } else { None },
                current: if baseline_side { None } else { v },
                verdict: Verdict::NotJudged,
                limit: None,
            }
        })
        .collect()
}

/// Compare `current` with `baseline` under `limits`.
pub fn compare(baseline: Side, current: Side, limits: Limits) -> Comparison {
    let figs = figures(&limits);
    let mut rows = Vec::new();
    let compare_rows = |b: &Row, c: &Row, aggregated: bool| {
        let figures: Vec<Compared> = figs
            .iter()
            .map(|&f| judge(f, b, c, limits.for_row(&c.method, &c.name, aggregated, f)))
            .collect();
        RowComparison {
            method: c.method.clone(),
            name: c.name.clone(),
            status: "compared",
            verdict: row_verdict(&figures),
            figures,
            aggregated,
        }
    };
    let in_baseline: std::collections::HashMap<(&str, &str), &Row> =
        baseline.rows.iter().map(|b| (b.key(), b)).collect();
    let in_current: std::collections::HashSet<(&str, &str)> =
        current.rows.iter().map(Row::key).collect();
    for c in &current.rows {
        match in_baseline.get(&c.key()).copied() {
            Some(b) => rows.push(compare_rows(b, c, false)),
            None => rows.push(RowComparison {
                method: c.method.clone(),
                name: c.name.clone(),
                status: "new",
                verdict: Verdict::New,
                figures: one_sided(&figs, c, false),
                aggregated: false,
            }),
        }
    }
    for b in &baseline.rows {
        if !in_current.contains(&b.key()) {
            rows.push(RowComparison {
                method: b.method.clone(),
                name: b.name.clone(),
                status: "vanished",
                verdict: Verdict::Vanished,
                figures: one_sided(&figs, b, true),
                aggregated: false,
            });
        }
    }
    rows.push(compare_rows(&baseline.total, &current.total, true));
    let capacity = capacity::compare(baseline.search.as_ref(), current.search.as_ref());
    Comparison {
        baseline,
        current,
        limits,
        rows,
        capacity,
    }
}

#[cfg(test)]
mod tests;

/// A run's `--baseline`: the result it is compared with, the limits, and whether regressions fail the run
/// (`--baseline-gate`). Every output at the end shows the same comparison: the first [`Baseline::at_end`]
/// computes it and keeps it.
pub struct Baseline {
    pub side: Side,
    pub limits: Limits,
    pub gate: bool,
    at_end: parking_lot::Mutex<Option<std::sync::Arc<Comparison>>>,
    /// This run's capacity search (compared with the baseline's once it has published an outcome).
    search: parking_lot::Mutex<crate::judge::search::Handle>,
}

impl Baseline {
    /// Read the file and the limits (the defaults when `limits` is none); one line when either is wrong.
    pub fn load(path: &str, limits: Option<&str>, gate: bool) -> Result<Baseline, String> {
        let limits = match limits {
            Some(text) => limits::parse(text)?,
            None => Limits::default_limits(),
        };
        let side = load::from_file(path).map_err(|e| format!("rlocust: --baseline: {e}"))?;
        Ok(Baseline {
            side,
            limits,
            gate,
            at_end: parking_lot::Mutex::new(None),
            search: parking_lot::Mutex::new(Default::default()),
        })
    }

    /// This run's capacity search: its capacity is compared with the baseline's (`capacity`).
    pub fn set_search(&self, handle: crate::judge::search::Handle) {
        *self.search.lock() = handle;
    }

    /// The comparison with the statistics as they are now (the web UI's, while the run goes on).
    pub fn live(&self, snap: &crate::stats::Snapshot) -> Comparison {
        let mut current = load::from_snapshot(snap, None);
        current.search = self
            .search
            .lock()
            .outcome()
            .map(|o| capacity::SearchSide::of(&o));
        compare(self.side.clone(), current, self.limits.clone())
    }

    /// The final comparison once [`Baseline::at_end`] made it, else the live one.
    pub fn latest(&self, snap: &crate::stats::Snapshot) -> std::sync::Arc<Comparison> {
        if let Some(c) = self.at_end.lock().as_ref() {
            return c.clone();
        }
        std::sync::Arc::new(self.live(snap))
    }

    /// The final comparison, if [`Baseline::at_end`] made it.
    pub fn finished(&self) -> Option<std::sync::Arc<Comparison>> {
        self.at_end.lock().clone()
    }

    /// The run's final comparison: computed from `snap` the first time, the same one afterwards.
    pub fn at_end(&self, snap: &crate::stats::Snapshot) -> std::sync::Arc<Comparison> {
        self.at_end
            .lock()
            .get_or_insert_with(|| std::sync::Arc::new(self.live(snap)))
            .clone()
    }
}
