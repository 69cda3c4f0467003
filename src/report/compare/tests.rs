//! The verdicts on synthetic runs: a shifted distribution is flagged, an equal one is not, small samples are
//! "too few samples", names that come and go are new/vanished, and the outputs agree with each other.
use super::limits::{self, Limits};
use super::*;
use crate::stats::RequestStats;

/// A run with `names` rows: `(name, n, base ms, failures)`; response times spread evenly over base..1.5·base
/// (deterministic), scaled by `factor` for the names in `slower`.
fn run(names: &[(&str, u64, f64, u64)], slower: &[&str], factor: f64) -> Side {
    let now = 1_700_000_000.0;
    let stats = RequestStats::new_at(now);
    for &(name, n, base, failures) in names {
        let k = if slower.contains(&name) { factor } else { 1.0 };
        for i in 0..n {
            let ms = base * (1.0 + 0.5 * (i as f64 / n as f64)) * k;
            stats.log_request("GET", name, Some(ms), 10, now + 1.0 + i as f64 / n as f64);
            if i < failures {
                stats.log_error("GET", name, "boom", now + 1.0);
            }
        }
    }
    load::from_snapshot(&stats.snapshot(), None)
}

fn row<'a>(c: &'a Comparison, name: &str) -> &'a RowComparison {
    c.rows.iter().find(|r| r.name == name).unwrap()
}

fn fig(r: &RowComparison, key: &str) -> Verdict {
    r.figures
        .iter()
        .find(|f| f.figure.key() == key)
        .unwrap()
        .verdict
}

const NAMES: [(&str, u64, f64, u64); 3] = [
    ("/slow", 3000, 50.0, 0),
    ("/fast", 3000, 2.0, 0),
    ("/other", 3000, 20.0, 0),
];

#[test]
fn a_twenty_percent_slower_name_is_the_one_flagged() {
    let c = compare(
        run(&NAMES, &[], 1.0),
        run(&NAMES, &["/slow"], 1.2),
        Limits::default_limits(),
    );
    let slow = row(&c, "/slow");
    assert_eq!(slow.verdict, Verdict::Regressed);
    for k in ["p50", "p95", "p99"] {
        assert_eq!(fig(slow, k), Verdict::Regressed, "{k}");
    }
    assert_eq!(fig(slow, "rps"), Verdict::NotJudged);
    for name in ["/fast", "/other"] {
        assert_eq!(row(&c, name).verdict, Verdict::Unchanged, "{name}");
    }
    // the Aggregated row moved too, but only rules naming it judge it
    assert_eq!(row(&c, "Aggregated").verdict, Verdict::Unchanged);
    assert_eq!(c.count(Verdict::Regressed), 1);
    let lines = render::breaches(&c);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("GET /slow: p50 "), "{}", lines[0]);
    assert!(
        lines[0].contains("(+20.") && lines[0].contains("limit +5% +0.5ms"),
        "{}",
        lines[0]
    );
}

#[test]
fn the_same_run_twice_is_unchanged_and_faster_is_improved() {
    let c = compare(
        run(&NAMES, &[], 1.0),
        run(&NAMES, &[], 1.0),
        Limits::default_limits(),
    );
    assert!(c.rows.iter().all(|r| r.verdict == Verdict::Unchanged));
    let c = compare(
        run(&NAMES, &[], 1.0),
        run(&NAMES, &["/other"], 0.7),
        Limits::default_limits(),
    );
    assert_eq!(row(&c, "/other").verdict, Verdict::Improved);
    assert_eq!(c.count(Verdict::Regressed), 0);
}

#[test]
fn small_samples_are_too_few_not_flagged() {
    let small = [("/slow", 50, 50.0, 0)];
    let c = compare(
        run(&small, &[], 1.0),
        run(&small, &["/slow"], 1.2),
        Limits::default_limits(),
    );
    let r = row(&c, "/slow");
    // 50 samples: p50 has 25 on each side, p95 only 2 above it, p99 none
    assert_eq!(fig(r, "p50"), Verdict::Regressed);
    assert_eq!(fig(r, "p95"), Verdict::TooFew);
    assert_eq!(fig(r, "p99"), Verdict::TooFew);
    let tiny = [("/slow", 8, 50.0, 0)];
    let c = compare(
        run(&tiny, &[], 1.0),
        run(&tiny, &["/slow"], 2.0),
        Limits::default_limits(),
    );
    assert_eq!(row(&c, "/slow").verdict, Verdict::TooFew);
}

#[test]
fn a_shift_inside_the_tolerance_or_the_noise_is_not_flagged() {
    // +3 %: under the 5 % tolerance of the p50 (and the 10 % and 15 % of the p95 and p99)
    let c = compare(
        run(&NAMES, &[], 1.0),
        run(&NAMES, &["/slow"], 1.03),
        Limits::default_limits(),
    );
    assert_eq!(row(&c, "/slow").verdict, Verdict::Unchanged);
    // +15 % of 2.5..3 ms is under 0.45 ms: under the p50's 0.5 ms floor (and the p95's 2 ms, the p99's 5 ms)
    let c = compare(
        run(&NAMES, &[], 1.0),
        run(&NAMES, &["/fast"], 1.15),
        Limits::default_limits(),
    );
    assert_eq!(row(&c, "/fast").verdict, Verdict::Unchanged);
    // +20 %, but 60 samples leave 3 above the p95: too few to judge it
    let few = [("/slow", 60, 50.0, 0)];
    let c = compare(
        run(&few, &[], 1.0),
        run(&few, &["/slow"], 1.2),
        limits::parse("p95 10%").unwrap(),
    );
    assert_eq!(fig(row(&c, "/slow"), "p95"), Verdict::TooFew);
}

#[test]
fn failure_ratio_needs_the_points_and_the_evidence() {
    let base = [("/a", 2000, 10.0, 0)];
    let worse = [("/a", 2000, 10.0, 100)]; // 5 %
    let slightly = [("/a", 2000, 10.0, 6)]; // 0.3 %
    let c = compare(
        run(&base, &[], 1.0),
        run(&worse, &[], 1.0),
        Limits::default_limits(),
    );
    assert_eq!(fig(row(&c, "/a"), "fail_ratio"), Verdict::Regressed);
    assert!(render::breaches(&c)[0].contains("fail_ratio 0.00% → 5.00% (+5.00pt"));
    let c = compare(
        run(&base, &[], 1.0),
        run(&slightly, &[], 1.0),
        Limits::default_limits(),
    );
    assert_eq!(fig(row(&c, "/a"), "fail_ratio"), Verdict::Unchanged);
}

#[test]
fn names_that_come_and_go() {
    let a = [("/a", 100, 10.0, 0), ("/old", 100, 10.0, 0)];
    let b = [("/a", 100, 10.0, 0), ("/new", 100, 10.0, 0)];
    let c = compare(
        run(&a, &[], 1.0),
        run(&b, &[], 1.0),
        Limits::default_limits(),
    );
    assert_eq!(row(&c, "/new").verdict, Verdict::New);
    assert_eq!(row(&c, "/old").verdict, Verdict::Vanished);
    assert_eq!(c.rows.last().unwrap().name, "Aggregated");
    let j = render::json(&c);
    let text = crate::pyfmt::json::pretty(&j);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], "rlocust-comparison/1");
    assert_eq!(v["counts"]["new"], 1);
    assert_eq!(v["counts"]["vanished"], 1);
    let old = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "/old")
        .unwrap();
    assert!(old["figures"]["p50"]["current"].is_null());
    assert!(old["figures"]["p50"]["baseline"].as_f64().unwrap() > 10.0);
}

#[test]
fn a_csv_baseline_judges_against_its_interpolated_curve() {
    // this run's /slow written out as a Locust CSV would be, then compared with a 20 % slower run
    let before = run(&NAMES, &[], 1.0);
    let mut text = String::from(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\r\n",
    );
    for r in before.rows.iter().chain([&before.total]) {
        let q = |p: f64| r.dist.quantile(p).unwrap().round();
        text.push_str(&format!(
            "{},{},{},0,{},0,{},{},10,{},0",
            r.method,
            r.name,
            r.requests,
            q(0.5),
            q(0.0),
            q(1.0),
            r.rps
        ));
        for p in [
            0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
        ] {
            text.push_str(&format!(",{}", q(p)));
        }
        text.push_str("\r\n");
    }
    let base = load::from_text(&text).unwrap();
    let c = compare(base, run(&NAMES, &["/slow"], 1.2), Limits::default_limits());
    assert_eq!(row(&c, "/slow").verdict, Verdict::Regressed);
    assert_eq!(row(&c, "/other").verdict, Verdict::Unchanged);
    assert_eq!(c.count(Verdict::Regressed), 1);
}

#[test]
fn console_and_csv_show_every_row_and_figure() {
    let c = compare(
        run(&NAMES, &[], 1.0),
        run(&NAMES, &["/slow"], 1.2),
        Limits::default_limits(),
    );
    let t = render::table(&c, 20);
    assert!(
        t.starts_with("Compared with baseline this run; limits: p50 +5% +0.5ms"),
        "{t}"
    );
    let slow = t.lines().find(|l| l.contains("/slow")).unwrap();
    assert!(
        slow.contains("▲") && slow.ends_with("regressed (p50 p95 p99)"),
        "{slow}"
    );
    assert!(
        t.lines().any(|l| l.starts_with("         Aggregated")),
        "{t}"
    );
    assert!(
        t.contains("1 regressed, 0 improved, 2 unchanged, 0 too few"),
        "{t}"
    );
    let csv = render::csv(&c);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines[0].starts_with("Type,Name,Status,Verdict,Request Count (baseline),Request Count,")
    );
    assert!(lines[0].contains(",95% (baseline),95%,95% Delta,95% Delta %,95% Verdict,"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET,/slow,compared,regressed,"))
    );
    assert!(lines[4].starts_with(",Aggregated,compared,"));
}

#[test]
fn the_capacity_is_compared_only_when_both_runs_searched() {
    use crate::judge::search::Mode;
    let plain = compare(
        run(&NAMES, &[], 1.0),
        run(&NAMES, &[], 1.0),
        Limits::default_limits(),
    );
    assert!(plain.capacity.is_none());
    let v: serde_json::Value =
        serde_json::from_str(&crate::pyfmt::json::pretty(&render::json(&plain))).unwrap();
    assert!(v.get("capacity").is_none(), "no search: the key is absent");
    assert!(!render::table(&plain, 40).contains("Capacity"));
    // the baseline sustained 60/s (70/s failed); this run converged at 40/s with 45/s failing
    let base = crate::report::search::tests::converged(Mode::ArrivalRate);
    let mut cur = base.clone();
    cur.capacity = Some(40.0);
    cur.probes[5].offered = 45.0;
    let (mut b, mut c) = (run(&NAMES, &[], 1.0), run(&NAMES, &[], 1.0));
    b.search = Some(capacity::SearchSide::of(&base));
    c.search = Some(capacity::SearchSide::of(&cur));
    let cmp = compare(b, c, Limits::default_limits());
    assert_eq!(cmp.capacity.as_ref().unwrap().verdict, Verdict::Regressed);
    let v: serde_json::Value =
        serde_json::from_str(&crate::pyfmt::json::pretty(&render::json(&cmp))).unwrap();
    assert_eq!(v["capacity"]["baseline"]["capacity"], 60.0);
    assert_eq!(v["capacity"]["current"]["capacity"], 40.0);
    assert_eq!(v["capacity"]["current"]["upper"], 45.0);
    assert_eq!(v["capacity"]["delta"], -20.0);
    assert_eq!(v["capacity"]["verdict"], "regressed");
    // the gate's breach lines and the console table say it
    let lines = render::breaches(&cmp);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("capacity: 60/s → 40/s (-33.3%)"),
        "{}",
        lines[0]
    );
    assert!(
        render::table(&cmp, 40).contains(
            "Capacity: 60/s → 40/s (-33.3%) regressed (this run [40/s, 45/s), baseline [60/s, 70/s))\n"
        ),
        "{}",
        render::table(&cmp, 40)
    );
}
