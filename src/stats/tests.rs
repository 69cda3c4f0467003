//! Tests of the statistics: recording and snapshots checked against Locust 2.47's numbers
//! (counts, percentiles, median, rates, errors, exceptions, resets, sort order), the bucket
//! layout against hdrhistogram, the current window, the per-second counters, the export cache
//! and concurrent recording.
//!
//! Who calls it: `cargo test` only (`#[cfg(test)] mod tests` in `mod.rs`).
//!
//! What it must not do: be used by non-test code, or reach outside `stats` (no reports, no
//! Python): the report formats are tested in `report`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::window::{Window, WindowCopy, bucket_index, bucket_value};
use super::*;

const T0: f64 = 1_700_000_000.25;

fn one(stats: &RequestStats, name: &str, rt: f64, now: f64) {
    stats.log_request("GET", name, Some(rt), 10, now);
}

#[test]
fn counts_min_max_avg_and_none_requests() {
    let s = RequestStats::new_at(T0);
    one(&s, "/", 10.5, T0 + 1.0);
    one(&s, "/", 2.25, T0 + 1.5);
    s.log_request("GET", "/", None, 0, T0 + 2.0);
    let snap = s.snapshot_with_windows_at(T0 + 3.0);
    let e = &snap.entries[0];
    assert_eq!(
        (
            e.totals.num_requests,
            e.totals.num_none_requests,
            e.totals.num_failures
        ),
        (3, 1, 0)
    );
    assert_eq!(e.totals.min_response_time, Some(2.25));
    assert_eq!(e.totals.max_response_time, 10.5);
    assert_eq!(e.totals.total_response_time, 12.75);
    assert_eq!(e.avg_response_time(), 12.75 / 2.0);
    assert_eq!(e.totals.total_content_length, 20);
    assert_eq!(e.avg_content_length(), Num::Float(20.0 / 3.0));
    assert_eq!(e.totals.last_request_timestamp, Some(T0 + 2.0));
    assert_eq!(snap.total.totals.num_requests, 3);
    assert_eq!(snap.total.name, "Aggregated");
    assert_eq!(snap.total.method, "");
}

#[test]
fn only_none_requests_keep_python_int_zeros() {
    let s = RequestStats::new_at(T0);
    s.log_request("GET", "/", None, 0, T0 + 1.0);
    let snap = s.snapshot_with_windows_at(T0 + 1.0);
    let e = &snap.entries[0];
    assert!(!e.has_response_times());
    assert_eq!(e.avg_response_time(), 0.0);
    assert_eq!(e.median_response_time(), Num::Int(0));
    assert_eq!(e.percentile(0.5), 0.0);
    assert_eq!(e.current_percentile(0.5), None);
    assert_eq!(e.min_or_zero(), Num::Int(0));
    assert_eq!(e.max_response_time_num(), Num::Int(0));
    assert_eq!(e.total_response_time_num(), Num::Int(0));
}

#[test]
fn percentiles_use_locust_rank_rule_and_are_exact() {
    // 0.01 ms .. 1.00 ms: whole µs below 2.048 ms are held exactly.
    let s = RequestStats::new_at(T0);
    for i in 1..=100 {
        one(&s, "/", i as f64 / 100.0, T0 + 1.0);
    }
    let e = &s.snapshot_with_windows_at(T0 + 1.0).entries[0];
    // rank int(100*p) (0-based) -> sample rank+1
    assert_eq!(e.percentile(0.5), 0.51);
    assert_eq!(e.percentile(0.66), 0.67);
    assert_eq!(e.percentile(0.999), 1.0);
    assert_eq!(e.percentile(1.0), 1.0);
    assert_eq!(e.percentile(0.0), 0.01);
    // 1 ms .. 100 ms: within 0.1 %, and the extremes are the raw min/max.
    let s = RequestStats::new_at(T0);
    for i in 1..=100 {
        one(&s, "/", i as f64 + 0.3, T0 + 1.0);
    }
    let e = &s.snapshot_with_windows_at(T0 + 1.0).entries[0];
    for (p, want) in [(0.5, 51.3), (0.66, 67.3), (0.9, 91.3), (0.99, 100.3)] {
        let got = e.percentile(p);
        assert!(
            (got - want).abs() <= want * 0.001 && got <= want,
            "p{p}: {got} vs {want}"
        );
    }
    assert_eq!(e.percentile(1.0), 100.3);
    assert_eq!(e.percentile(0.0), 1.3);
    // Two samples: Locust's median is the larger one.
    let s = RequestStats::new_at(T0);
    one(&s, "/", 1.0, T0);
    one(&s, "/", 100.0, T0);
    assert_eq!(
        s.snapshot_with_windows_at(T0).entries[0].percentile(0.5),
        100.0
    );
}

#[test]
fn percentiles_keep_three_significant_digits() {
    let s = RequestStats::new_at(T0);
    one(&s, "/", 1234.567, T0);
    one(&s, "/", 0.0004, T0); // below 1 µs -> recorded as 1 µs
    let e = &s.snapshot_with_windows_at(T0).entries[0];
    let p = e.percentile(1.0);
    assert_eq!(p, 1234.567, "p100 is the raw max");
    let s = RequestStats::new_at(T0);
    for _ in 0..3 {
        one(&s, "/", 1234.567, T0);
    }
    one(&s, "/", 5000.0, T0);
    let p = s.snapshot_with_windows_at(T0).entries[0].percentile(0.5);
    assert!((p - 1234.567).abs() / 1234.567 < 0.001, "{p}");
    assert_eq!(e.percentile(0.0), 0.0004, "p0 is the raw min");
    assert_eq!(
        e.current_percentile(0.0),
        Some(0.001),
        "the window holds the 1 µs floor"
    );
}

#[test]
fn median_is_clamped_to_raw_min_and_max() {
    let s = RequestStats::new_at(T0);
    one(&s, "/", 40.013340999, T0);
    let e = &s.snapshot_with_windows_at(T0).entries[0];
    // rounded median 40 < min -> the raw min (a float)
    assert_eq!(e.median_response_time(), Num::Float(40.013340999));
    let s = RequestStats::new_at(T0);
    one(&s, "/", 40.6, T0);
    assert_eq!(
        s.snapshot_with_windows_at(T0).entries[0].median_response_time(),
        Num::Float(40.6)
    );
    let s = RequestStats::new_at(T0);
    for rt in [3.2, 4.0, 5.9] {
        one(&s, "/", rt, T0);
    }
    assert_eq!(
        s.snapshot_with_windows_at(T0).entries[0].median_response_time(),
        Num::Int(4)
    );
}

#[test]
fn zero_response_time_is_recorded() {
    let s = RequestStats::new_at(T0);
    one(&s, "/", 0.0, T0);
    let e = &s.snapshot_with_windows_at(T0).entries[0];
    assert!(e.has_response_times());
    assert_eq!(e.totals.min_response_time, Some(0.0));
    assert_eq!(e.min_or_zero(), Num::Int(0));
    assert_eq!(e.max_response_time_num(), Num::Int(0));
    assert_eq!(e.total_response_time_num(), Num::Float(0.0));
    assert_eq!(e.median_response_time(), Num::Int(0));
    assert_eq!(e.response_times_buckets(), BTreeMap::from([(0, 1)]));
}

#[test]
fn current_rps_window_matches_locust() {
    // start at 1000.5; requests: 5 per second in seconds 1000..=1020.
    let start = 1000.5;
    let s = RequestStats::new_at(start);
    for sec in 1000..=1020 {
        for i in 0..(sec - 995) {
            one(&s, "/", 1.0, sec as f64 + 0.1 * i as f64 / 100.0 + 0.6);
        }
    }
    let snap = s.snapshot_with_windows_at(1021.0);
    // L = 1020, S = max(1008, 1000) = 1008, window [1008, 1018): counts sec-995 -> 13..=22
    let expect = (13..=22).sum::<i64>() as f64 / 10.0;
    assert_eq!(snap.entries[0].current_rps(&snap.total), expect);
    assert_eq!(snap.total.current_rps(&snap.total), expect);
    assert_eq!(snap.total.current_fail_per_sec(&snap.total), 0.0);
}

#[test]
fn current_rps_near_start_and_entry_uses_total_timestamp() {
    let s = RequestStats::new_at(1000.9);
    one(&s, "/a", 1.0, 1000.95);
    one(&s, "/a", 1.0, 1001.5);
    one(&s, "/a", 1.0, 1001.6);
    let snap = s.snapshot_with_windows_at(1002.0);
    // L = 1001, S = 1000, end = 999 -> empty -> 0
    assert_eq!(snap.total.current_rps(&snap.total), 0.0);
    one(&s, "/b", 1.0, 1003.2);
    let snap = s.snapshot_with_windows_at(1004.0);
    // L = 1003 (newest request of any entry), S = 1000, window [1000, 1001): /a had 1
    let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
    assert_eq!(a.current_rps(&snap.total), 1.0);
    // Freezes: later snapshots without new requests give the same value.
    let snap = s.snapshot_with_windows_at(1100.0);
    let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
    assert_eq!(a.current_rps(&snap.total), 1.0);
    // L = 1005 -> window [1000, 1003): (1 + 2 + 0) / 3
    one(&s, "/b", 1.0, 1005.0);
    let snap = s.snapshot_with_windows_at(1005.0);
    let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
    assert_eq!(a.current_rps(&snap.total), 1.0);
    s.log_error("GET", "/a", "E", 1001.2);
    let snap = s.snapshot_with_windows_at(1005.0);
    let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
    assert_eq!(a.current_fail_per_sec(&snap.total), 1.0 / 3.0);
}

#[test]
fn total_rps_uses_total_span() {
    let s = RequestStats::new_at(1000.0);
    for i in 0..10 {
        one(&s, "/", 1.0, 1000.0 + i as f64 * 0.5);
    }
    s.log_error("GET", "/", "E", 1004.0);
    let snap = s.snapshot_with_windows_at(1005.0);
    // span = 1004.5 - 1000
    assert_eq!(snap.entries[0].total_rps(&snap.total), 10.0 / 4.5);
    assert_eq!(snap.entries[0].total_fail_per_sec(&snap.total), 1.0 / 4.5);
    let empty = RequestStats::new_at(1000.0).snapshot_at(1001.0);
    assert_eq!(empty.total.total_rps(&empty.total), 0.0);
    assert_eq!(empty.total.current_rps(&empty.total), 0.0);
}

#[test]
fn current_percentile_uses_last_ten_seconds() {
    let s = RequestStats::new_at(1000.0);
    for _ in 0..50 {
        one(&s, "/", 500.0, 1001.5); // old: outside the window at 1020
    }
    for _ in 0..10 {
        one(&s, "/", 5.0, 1011.5); // window [1011, 1020]
    }
    one(&s, "/", 7.0, 1020.5);
    let snap = s.snapshot_with_windows_at(1020.9);
    let e = &snap.entries[0];
    assert_eq!(e.current_percentile(0.5), Some(5.0));
    assert_eq!(e.current_percentile(1.0), Some(7.0));
    assert!(
        (e.percentile(0.5) - 500.0).abs() < 0.5,
        "{}",
        e.percentile(0.5)
    );
    let later = s.snapshot_with_windows_at(1031.0);
    assert_eq!(later.entries[0].current_percentile(0.5), None);
    // the plain snapshot leaves the entries' windows out, not the total's
    let plain = s.snapshot_at(1020.9);
    assert_eq!(plain.entries[0].current_percentile(0.5), None);
    assert_eq!(plain.total.current_percentile(1.0), Some(7.0));
    // The window keeps at most CURRENT_WINDOW_SECS seconds per entry, and its sums
    // match those seconds.
    let s = RequestStats::new_at(1000.0);
    for sec in 1000..1100 {
        one(&s, "/", 1.0, sec as f64);
    }
    let total = s.total.lock();
    assert_eq!(total.window.seconds.len(), CURRENT_WINDOW_SECS as usize);
    assert_eq!(
        total.window.sums().values().sum::<u64>(),
        CURRENT_WINDOW_SECS as u64
    );
    assert_eq!(
        total.window.seconds.front().map(|w| w.sec),
        Some(1099 - CURRENT_WINDOW_SECS + 1)
    );
}

#[test]
fn bucket_layout_matches_hdrhistogram() {
    let h = new_histogram();
    let mut values: Vec<u64> = (0..10_000).collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values.push((x % MAX_RECORDABLE_US) >> (x % 40));
    }
    values.extend([
        2047,
        2048,
        2049,
        4095,
        4096,
        1 << 20,
        (1 << 21) - 1,
        MAX_RECORDABLE_US,
    ]);
    for v in values {
        assert_eq!(bucket_value(bucket_index(v)), h.lowest_equivalent(v), "{v}");
    }
    // Indices are dense and ascending.
    assert_eq!(bucket_index(2047) + 1, bucket_index(2048));
    assert_eq!(bucket_index(4095) + 1, bucket_index(4096));
}

fn window_at(w: &Window, from: i64) -> Vec<(u64, u64)> {
    w.copy(from).map(WindowCopy::export).unwrap_or_default()
}

#[test]
fn window_expires_and_skips_stale_seconds() {
    let mut w = Window::default();
    for sec in 100..=130 {
        for _ in 0..(sec - 99) {
            w.record(sec, bucket_index(sec as u64 * 1000));
        }
    }
    // Holds seconds 121..=130 and their sums only.
    assert_eq!(w.seconds.len(), 10);
    let expected: u64 = (121..=130).map(|s| s - 99).sum();
    assert_eq!(w.sums().values().sum::<u64>(), expected);
    // Read at a later time: seconds before `from` are left out.
    let got = window_at(&w, 125);
    let want: Vec<(u64, u64)> = (125..=130u64)
        .map(|s| (bucket_value(bucket_index(s * 1000)), s - 99))
        .collect();
    assert_eq!(got, want);
    assert_eq!(window_at(&w, 126), want[1..].to_vec());
    assert!(window_at(&w, 131).is_empty());
    assert!(window_at(&w, 140).is_empty());
    // A late sample for an expired second is dropped; one inside the window is kept.
    w.record(110, 5);
    assert_eq!(w.sums().values().sum::<u64>(), expected);
    w.record(122, 5);
    assert_eq!(w.sums().values().sum::<u64>(), expected + 1);
}

#[test]
fn idle_entries_reuse_their_export() {
    let s = RequestStats::new_at(1000.0);
    one(&s, "/", 5.0, 1000.5);
    let a = s.snapshot_with_windows_at(1001.0);
    let b = s.snapshot_with_windows_at(1002.0);
    assert!(Arc::ptr_eq(&a.entries[0].buckets, &b.entries[0].buckets));
    one(&s, "/", 6.0, 1002.5);
    let c = s.snapshot_with_windows_at(1003.0);
    assert!(!Arc::ptr_eq(&a.entries[0].buckets, &c.entries[0].buckets));
    assert_eq!(c.entries[0].percentile(1.0), 6.0);
    assert_eq!(
        a.entries[0].percentile(1.0),
        5.0,
        "old snapshots are unaffected"
    );
}

#[test]
fn out_of_order_seconds_stay_sorted() {
    let s = RequestStats::new_at(1000.0);
    one(&s, "/", 1.0, 1005.0);
    one(&s, "/", 2.0, 1003.0);
    one(&s, "/", 3.0, 1004.0);
    one(&s, "/", 4.0, 980.0); // too old for the window, still counted
    let snap = s.snapshot_with_windows_at(1005.5);
    let e = &snap.entries[0];
    assert_eq!(e.totals.num_requests, 4);
    assert_eq!(e.totals.last_request_timestamp, Some(1005.0));
    assert_eq!(e.current_percentile(1.0), Some(3.0));
    assert_eq!(
        e.num_reqs_per_sec().to_map(),
        BTreeMap::from([(980, 1), (1003, 1), (1004, 1), (1005, 1)])
    );
    let total = s.total.lock();
    let secs: Vec<i64> = total.window.seconds.iter().map(|w| w.sec).collect();
    assert_eq!(secs, vec![1003, 1004, 1005]);
}

#[test]
fn errors_are_keyed_and_ordered() {
    let s = RequestStats::new_at(T0);
    s.log_request("GET", "/x", Some(1.0), 0, T0);
    s.log_error("GET", "/x", "HTTPError('404')", T0 + 1.0);
    s.log_error("POST", "/x", "HTTPError('404')", T0 + 2.0);
    s.log_error("GET", "/x", "HTTPError('404')", T0 + 3.0);
    let snap = s.snapshot_with_windows_at(T0 + 3.0);
    assert_eq!(snap.errors.len(), 2);
    assert_eq!(snap.errors[0].method, "GET");
    assert_eq!(snap.errors[0].occurrences, 2);
    assert_eq!(snap.errors[0].first_seen, Some(T0 + 1.0));
    assert_eq!(snap.errors[0].last_seen, Some(T0 + 3.0));
    assert_eq!(snap.errors[1].method, "POST");
    assert_eq!(snap.total.totals.num_failures, 3);
    // log_error alone creates the entry (Locust's entries dict auto-creates).
    let post = snap.entries.iter().find(|e| e.method == "POST").unwrap();
    assert_eq!((post.totals.num_requests, post.totals.num_failures), (0, 1));
    assert_eq!(post.fail_ratio(), 1.0);
    assert!(s.has_failures());
}

#[test]
fn exceptions_count_and_collect_nodes() {
    let s = RequestStats::new_at(T0);
    assert!(!s.has_exceptions());
    s.log_exception("boom", "tb1", "local");
    s.log_exception("boom again", "tb1", "w2");
    s.log_exception("x", "tb2", "local");
    s.log_exception("boom", "tb1", "local");
    let snap = s.snapshot_with_windows_at(T0);
    assert_eq!(snap.exceptions.len(), 2);
    assert_eq!(snap.exceptions[0].count, 3);
    assert_eq!(snap.exceptions[0].msg, "boom");
    assert_eq!(snap.exceptions[0].nodes, vec!["local", "w2"]);
    s.reset_all(T0 + 1.0);
    assert!(s.has_exceptions(), "reset_all keeps exceptions");
    s.clear_exceptions();
    assert!(!s.has_exceptions());
}

#[test]
fn reset_all_keeps_entries_and_clear_all_drops_them() {
    let s = RequestStats::new_at(T0);
    one(&s, "/", 5.0, T0 + 1.0);
    s.log_error("GET", "/", "E", T0 + 1.0);
    s.reset_all(T0 + 10.0);
    let snap = s.snapshot_with_windows_at(T0 + 10.0);
    assert_eq!(snap.entries.len(), 1);
    let e = &snap.entries[0];
    assert_eq!((e.totals.num_requests, e.totals.num_failures), (0, 0));
    assert_eq!(e.totals.start_time, T0 + 10.0);
    assert_eq!(e.totals.last_request_timestamp, None);
    assert!(!e.has_response_times());
    assert!(e.num_reqs_per_sec().is_empty());
    assert_eq!(snap.total.totals.start_time, T0 + 10.0);
    assert!(snap.errors.is_empty());
    assert!(!s.has_failures());
    one(&s, "/", 5.0, T0 + 11.0);
    assert_eq!(s.num_requests(), 1);
    s.clear_all(T0 + 20.0);
    let snap = s.snapshot_with_windows_at(T0 + 20.0);
    assert!(snap.entries.is_empty());
    assert_eq!(snap.total.totals.num_requests, 0);
    assert_eq!(snap.total.totals.start_time, T0 + 20.0);
}

#[test]
fn reset_reported_entries_leaves_total() {
    let s = RequestStats::new_at(T0);
    one(&s, "/", 5.0, T0 + 1.0);
    s.reset_reported_entries(T0 + 2.0);
    let snap = s.snapshot_with_windows_at(T0 + 2.0);
    assert_eq!(snap.entries[0].totals.num_requests, 0);
    assert_eq!(snap.total.totals.num_requests, 1);
}

#[test]
fn sorted_entries_use_python_tuple_order() {
    let s = RequestStats::new_at(T0);
    for (m, n) in [
        ("POST", "/z"),
        ("GET", "/é"),
        ("POST", "/"),
        ("GET", "/"),
        ("GET", "/Z"),
    ] {
        s.log_request(m, n, Some(1.0), 0, T0);
    }
    let snap = s.snapshot_with_windows_at(T0);
    let order: Vec<(&str, &str)> = snap
        .sorted_entries()
        .iter()
        .map(|e| (e.name.as_str(), e.method.as_str()))
        .collect();
    // python3: sorted([("/z","POST"),("/é","GET"),("/","POST"),("/","GET"),("/Z","GET")])
    assert_eq!(
        order,
        [
            ("/", "GET"),
            ("/", "POST"),
            ("/Z", "GET"),
            ("/z", "POST"),
            ("/é", "GET")
        ]
    );
    // Insertion order is kept in `entries`.
    assert_eq!(snap.entries[0].name, "/z");
}

#[test]
fn bucket_response_time_matches_python() {
    // Expected values from python3: locust.stats.bucket_response_time
    let cases = [
        (0.4, 0),
        (0.5, 0),
        (1.5, 2),
        (2.5, 2),
        (99.5, 100),
        (99.4999, 99),
        (145.0, 140),
        (155.0, 160),
        (147.3, 150),
        (999.0, 1000),
        (1250.0, 1200),
        (1350.0, 1400),
        (3432.0, 3400),
        (9950.0, 10000),
        (58760.0, 59000),
        (12500.0, 12000),
        (13500.0, 14000),
    ];
    for (ms, expect) in cases {
        assert_eq!(bucket_response_time(ms), expect, "{ms}");
    }
}

#[test]
fn per_second_counters_share_chunks() {
    let mut p = PerSecond::default();
    p.add(-1, 1);
    p.add(0, 2);
    p.add(300, 3);
    let copy = p.clone();
    p.add(300, 1);
    assert_eq!(copy.get(300), 3);
    assert_eq!(p.get(300), 4);
    assert_eq!(
        p.iter().collect::<Vec<_>>(),
        vec![(-1, 1), (0, 2), (300, 4)]
    );
}

#[test]
fn ms_to_us_rounds() {
    assert_eq!(ms_to_us(0.0), 0);
    assert_eq!(ms_to_us(-3.0), 0);
    assert_eq!(ms_to_us(f64::NAN), 0);
    assert_eq!(ms_to_us(0.0001), 1);
    assert_eq!(ms_to_us(1.2345), 1235);
    assert_eq!(ms_to_us(f64::INFINITY), MAX_RECORDABLE_US);
}

#[test]
fn concurrent_logging_is_consistent() {
    let s = Arc::new(RequestStats::new_at(T0));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for i in 0..5000 {
                    let name = if t % 2 == 0 { "/a" } else { "/b" };
                    s.log_request(
                        "GET",
                        name,
                        Some(i as f64 / 100.0),
                        1,
                        T0 + i as f64 / 1000.0,
                    );
                }
            })
        })
        .collect();
    // Snapshots taken while writing: the total never shows less than its rows.
    let reader = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            for _ in 0..200 {
                let snap = s.snapshot_with_windows_at(T0 + 3.0);
                let rows: u64 = snap.entries.iter().map(|e| e.totals.num_requests).sum();
                assert!(
                    snap.total.totals.num_requests >= rows,
                    "{} < {rows}",
                    snap.total.totals.num_requests
                );
            }
        })
    };
    for t in writers {
        t.join().unwrap();
    }
    reader.join().unwrap();
    let snap = s.snapshot_with_windows_at(T0 + 5.0);
    assert_eq!(snap.total.totals.num_requests, 20_000);
    assert_eq!(
        snap.entries
            .iter()
            .map(|e| e.totals.num_requests)
            .sum::<u64>(),
        20_000
    );
    assert_eq!(snap.total.percentile(1.0), 49.99);
}

/// A snapshot merges the samples recorded since the last one into its export instead of exporting the whole
/// histogram again: whatever the interleaving (quiet rows, busy rows past the sample cap, resets, recording
/// between copy and store), every snapshot's buckets equal a fresh export of everything recorded.
#[test]
fn incremental_exports_equal_whole_exports() {
    let s = RequestStats::new_at(T0);
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut seed: u64 = 42;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..60 {
        for (row, values) in all.iter_mut().enumerate() {
            // row 0 quiet, row 1 a few per round, row 2 sometimes beyond the cap of kept samples
            let n = match row {
                0 => (round % 7 == 0) as u64,
                1 => next() % 50,
                _ => next() % 3000,
            };
            for _ in 0..n {
                let ms = (next() % 2_000_000) as f64 / 1000.0 + 0.001;
                s.log_request("GET", &format!("/r{row}"), Some(ms), 0, T0 + 1.0);
                values.push(ms);
            }
        }
        if round == 30 {
            s.reset_all(T0 + 2.0);
            all.iter_mut().for_each(Vec::clear);
        }
        let snap = s.snapshot_with_windows_at(T0 + 3.0);
        let fresh = RequestStats::new_at(T0);
        for (row, values) in all.iter().enumerate() {
            for &ms in values {
                fresh.log_request("GET", &format!("/r{row}"), Some(ms), 0, T0 + 1.0);
            }
        }
        let want = fresh.snapshot_at(T0 + 3.0);
        for e in &want.entries {
            let got = snap.entries.iter().find(|x| x.name == e.name).unwrap();
            assert_eq!(
                got.response_times_buckets(),
                e.response_times_buckets(),
                "round {round} {}",
                e.name
            );
            assert_eq!(got.percentile(0.95), e.percentile(0.95));
        }
    }
}

#[test]
fn the_window_reads_as_every_sample_of_its_seconds_summed() {
    // quiet and busy seconds (a busy one counts its small buckets in an array), late samples for held and
    // expired seconds, jumps past the window, and reads mid-second: each read equals the held seconds' samples
    // summed, as a plain model keeps them
    let mut w = Window::default();
    let mut model: std::collections::BTreeMap<i64, std::collections::BTreeMap<usize, u64>> =
        Default::default();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut sec: i64 = 1000;
    let mut reads = 0;
    for step in 0..40_000u64 {
        let r = next();
        match r % 1000 {
            0..=5 => sec += 1,
            6 => sec += 1 + (r >> 10) as i64 % 15,
            _ => {}
        }
        // busy seconds: many distinct small buckets; quiet ones: a few, some beyond the array
        let busy = sec % 3 != 0;
        let us = if busy {
            (r >> 20) % 6000
        } else {
            [700, 900, 30_000, 2_500_000][(r >> 20) as usize % 4]
        };
        let late = if (r >> 40) % 50 == 0 {
            1 + (r >> 46) as i64 % 12
        } else {
            0
        };
        let at = sec - late;
        let n = 1 + (r >> 50) % 3;
        let idx = bucket_index(us);
        w.record_n(at, idx, n);
        let newest = model.keys().next_back().copied().unwrap_or(at).max(at);
        if at > newest - CURRENT_WINDOW_SECS {
            *model.entry(at).or_default().entry(idx).or_insert(0) += n;
        }
        model.retain(|&s, _| s > newest - CURRENT_WINDOW_SECS);
        if step % 97 == 0 {
            reads += 1;
            let from = sec - (r >> 30) as i64 % 12;
            let mut want: std::collections::BTreeMap<u64, u64> = Default::default();
            if model.keys().next_back().is_some_and(|&s| s >= from) {
                for (_, counts) in model.range(from..) {
                    for (&i, &c) in counts {
                        *want.entry(bucket_value(i)).or_insert(0) += c;
                    }
                }
            }
            let want: Vec<(u64, u64)> = want.into_iter().collect();
            assert_eq!(window_at(&w, from), want, "step {step}, from {from}");
        }
    }
    assert!(reads > 400);
}

#[test]
fn expired_seconds_leave_no_sums_behind() {
    // a window whose seconds expired holds no bucket of them: its size follows what it holds now, not the
    // slowest response it ever saw
    let mut w = Window::default();
    for sec in 100..=109 {
        w.record(sec, bucket_index(60_000_000)); // one minute
        w.record(sec, bucket_index(900));
    }
    assert_eq!(w.sums().len(), 2);
    for sec in 110..=119 {
        w.record(sec, bucket_index(900));
    }
    assert_eq!(w.sums().len(), 1);
    assert_eq!(w.sums().values().sum::<u64>(), 10);
    assert_eq!(window_at(&w, 110), vec![(900, 10)]);
}

#[test]
fn a_row_with_few_distinct_times_stays_small() {
    // one slow outlier in a row of fast responses: the row keeps it (max, percentiles) without widening
    let s = RequestStats::new_at(1000.0);
    for i in 0..200 {
        one(
            &s,
            "/few",
            0.5 + (i % 20) as f64 * 0.01,
            1000.0 + i as f64 * 0.01,
        );
    }
    one(&s, "/few", 45_000.0, 1002.5);
    let snap = s.snapshot_with_windows_at(1003.0);
    let e = &snap.entries[0];
    assert_eq!(e.totals.num_requests, 201);
    assert_eq!(e.percentile(1.0), 45_000.0);
    assert_eq!(e.buckets.len(), 21);
    assert!(s.total.lock().hist.is_sparse());
}

// ---- coordinated-omission correction (`co`)

/// Every synthetic value of a request of `us` at interval `t`, one by one (the definition `backfill` must match).
fn synthetic_naive(us: u64, t: u64) -> Vec<(u64, u64)> {
    let mut h = super::hist::RowHist::default();
    let mut k = 1;
    while us > k * t {
        h.record_us(us - k * t, 1);
        k += 1;
    }
    h.pairs()
}

/// A corrected percentile within the histogram's 0.1 % of `ms`.
fn near(got: Option<f64>, ms: f64) {
    let v = got.expect("a corrected percentile");
    assert!((v - ms).abs() <= ms * 0.001, "{v} is not {ms}");
}

#[test]
fn backfill_adds_r_minus_k_t_while_positive() {
    let mut h = super::hist::RowHist::default();
    // R = 5 s, T = 1 s: 4 s, 3 s, 2 s, 1 s (5 - 5 = 0 is not a sample)
    assert_eq!(super::co::backfill(&mut h, 5_000_000, 1_000_000), 4);
    let values: Vec<u64> = h.pairs().iter().map(|p| p.0).collect();
    let expect: Vec<u64> = [1_000_000u64, 2_000_000, 3_000_000, 4_000_000]
        .iter()
        .map(|&v| bucket_value(bucket_index(v)))
        .collect();
    assert_eq!(values, expect);
    // R = 5.5 s: 4.5 ... 0.5 s
    let mut h = super::hist::RowHist::default();
    assert_eq!(super::co::backfill(&mut h, 5_500_000, 1_000_000), 5);
    // not above the interval: nothing
    let mut h = super::hist::RowHist::default();
    assert_eq!(super::co::backfill(&mut h, 1_000_000, 1_000_000), 0);
    assert_eq!(super::co::backfill(&mut h, 999, 1_000_000), 0);
    assert_eq!(super::co::backfill(&mut h, 5_000, 0), 0);
    assert!(h.pairs().is_empty());
}

#[test]
fn backfill_by_bucket_equals_recording_each_value() {
    for &(us, t) in &[
        (60_000_000u64, 1_000u64), // a 60 s stall at 1 ms: 59,999 samples, folded by bucket
        (3_000_001, 7),
        (123_456, 1),
        (10_000, 3_333),
        (2_049, 2),
        (1_000_000_000, 999_999),
    ] {
        let mut h = super::hist::RowHist::default();
        let n = super::co::backfill(&mut h, us, t);
        assert_eq!(n, (us - 1) / t, "count for {us} at {t}");
        assert_eq!(h.pairs(), synthetic_naive(us, t), "{us} at {t}");
    }
}

#[test]
fn corrected_percentiles_only_for_rows_with_fixed_rate_requests() {
    let s = RequestStats::new_at(T0);
    // /paced: 99 requests of 10 ms and one stall of 1 s at an interval of 100 ms -> 9 synthetic samples
    for i in 0..99 {
        s.log_request_paced(
            "GET",
            "/paced",
            Some(10.0),
            1,
            T0 + 0.01 * i as f64,
            Some(100.0),
        );
    }
    s.log_request_paced("GET", "/paced", Some(1000.0), 1, T0 + 1.0, Some(100.0));
    // /plain: no fixed-rate user
    for _ in 0..100 {
        s.log_request("GET", "/plain", Some(10.0), 1, T0 + 1.0);
    }
    let snap = s.snapshot_at(T0 + 2.0);
    assert!(snap.has_corrected());
    let paced = snap.entries.iter().find(|e| e.name == "/paced").unwrap();
    let plain = snap.entries.iter().find(|e| e.name == "/plain").unwrap();
    assert_eq!(plain.corrected_percentile(0.5), None);
    assert_eq!(plain.corrected_counts(), None);
    let c = paced.corrected_counts().unwrap();
    assert_eq!(
        (c.paced_requests, c.synthetic_samples, c.samples),
        (100, 9, 109)
    );
    // measured: p95 = 10 ms; corrected: 109 samples, rank int(109 * .95) = 103 -> the 5th largest synthetic
    assert_eq!(paced.percentile(0.95), 10.0);
    near(paced.corrected_percentile(0.95), 500.0);
    assert_eq!(paced.corrected_percentile(0.5), Some(10.0));
    assert_eq!(paced.corrected_percentile(1.0), Some(1000.0));
    // the total holds every request (the plain ones unchanged) and the same synthetic samples
    let t = snap.total.corrected_counts().unwrap();
    assert_eq!(
        (t.paced_requests, t.synthetic_samples, t.samples),
        (100, 9, 209)
    );
    // rank int(209 * .99) = 206 -> 3rd of the 10 largest from the top: 1000, 900, 800
    near(snap.total.corrected_percentile(0.99), 800.0);
    // the measured figures are untouched
    assert_eq!(snap.total.totals.num_requests, 200);
    assert_eq!(snap.total.percentile(0.99), 10.0);
}

#[test]
fn corrected_equals_measured_without_stalls_and_runs_without_fixed_rate_users_have_none() {
    let s = RequestStats::new_at(T0);
    for i in 0..1000 {
        let rt = 1.0 + (i % 97) as f64 * 0.37;
        s.log_request_paced("GET", "/a", Some(rt), 1, T0 + 1.0, Some(50.0));
    }
    let snap = s.snapshot_at(T0 + 2.0);
    let e = &snap.entries[0];
    for &p in &PERCENTILES_TO_REPORT {
        assert_eq!(e.corrected_percentile(p), Some(e.percentile(p)));
    }
    assert_eq!(e.corrected_counts().unwrap().synthetic_samples, 0);

    let plain = RequestStats::new_at(T0);
    one(&plain, "/a", 5000.0, T0 + 1.0);
    plain.log_request_paced("GET", "/a", Some(5000.0), 1, T0 + 1.0, None);
    plain.log_request_paced("GET", "/a", Some(5000.0), 1, T0 + 1.0, Some(0.0));
    let snap = plain.snapshot_at(T0 + 2.0);
    assert!(!snap.has_corrected());
    assert_eq!(snap.total.corrected_percentile(0.5), None);
}

#[test]
fn corrected_state_is_reset_and_travels_with_reports() {
    let worker = RequestStats::new_at(T0);
    worker.log_request_paced("GET", "/a", Some(400.0), 1, T0 + 1.0, Some(100.0));
    worker.log_request("GET", "/b", Some(5.0), 1, T0 + 1.0);
    let report = worker.take_report(T0 + 2.0);
    let a = report.entries.iter().find(|r| r.name == "/a").unwrap();
    let b = report.entries.iter().find(|r| r.name == "/b").unwrap();
    assert_eq!(
        a.co.as_ref()
            .map(|c| (c.paced, c.synthetic.iter().map(|p| p.1).sum::<u64>())),
        Some((1, 3))
    );
    assert!(b.co.is_none());
    assert_eq!(report.total.co.as_ref().map(|c| c.paced), Some(1));
    assert!(
        !worker.snapshot_at(T0 + 3.0).has_corrected(),
        "taken out with the report"
    );

    let master = RequestStats::new_at(T0);
    master.merge_report(&report, T0 + 2.0);
    master.merge_report(&report, T0 + 2.5);
    let snap = master.snapshot_at(T0 + 3.0);
    let a = snap.entries.iter().find(|e| e.name == "/a").unwrap();
    let c = a.corrected_counts().unwrap();
    assert_eq!((c.paced_requests, c.synthetic_samples), (2, 6));
    // 100, 100, 200, 200, 300, 300, 400, 400: rank int(8 * .5) = 4
    near(a.corrected_percentile(0.5), 300.0);
    assert!(
        snap.entries
            .iter()
            .find(|e| e.name == "/b")
            .unwrap()
            .corrected_counts()
            .is_none()
    );

    master.reset_all(T0 + 4.0);
    assert!(!master.snapshot_at(T0 + 5.0).has_corrected());
}

/// The recording cost of the correction (not a check: `cargo test --release co_recording_cost -- --ignored
/// --nocapture`; numbers in docs/performance.md).
#[test]
#[ignore = "timing only"]
fn co_recording_cost() {
    let n = 2_000_000u64;
    let cases: [(&str, Option<f64>, f64); 4] = [
        ("log_request (no fixed-rate user)", None, 5.0),
        ("paced, on time", Some(1000.0), 5.0),
        ("paced, late: 1 synthetic sample", Some(50.0), 60.0),
        ("paced, 2 s stall at 20 ms: 99 samples", Some(20.0), 2000.0),
    ];
    for round in 0..3 {
        for &(label, interval, rt) in &cases {
            let s = RequestStats::new_at(T0);
            let start = std::time::Instant::now();
            for i in 0..n {
                let ms = rt + (i % 100) as f64 * 0.013;
                s.log_request_paced("GET", "/a", Some(ms), 1, T0 + (i / 50_000) as f64, interval);
            }
            let per = start.elapsed().as_nanos() as f64 / n as f64;
            let t = std::time::Instant::now();
            let snap = s.snapshot_at(T0 + 100.0);
            let snap_us = t.elapsed().as_micros();
            assert_eq!(snap.total.totals.num_requests, n);
            println!("round {round}: {label:40} {per:6.1} ns/request; snapshot {snap_us} µs");
        }
    }
}
