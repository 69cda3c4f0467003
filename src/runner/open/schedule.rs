//! The arrival schedule of an open workload: the intended rate over time (a constant rate, or a start rate and
//! linear stages as k6's `ramping-arrival-rate`), the intended instant of every arrival, and which arrivals one
//! process of several starts.
//!
//! The maths, in one place: with the rate `r(t)` (iterations per second, piecewise linear) and its integral
//! `Λ(t) = ∫₀ᵗ r`, arrival `k` (k = 0, 1, 2, …) is intended at the first instant where `Λ(t) ≥ k`; arrival 0 is the
//! first instant the rate is positive (t = 0 for any constant rate > 0). So `n` seconds at a constant rate `r`
//! hold arrivals 0, 1/r, 2/r, … and `Λ(n)` of them are due by then, whatever earlier iterations took. A share
//! `(index, count)` of the sequence (the master's split over its workers) starts the arrivals `k ≡ index (mod
//! count)`: each worker runs `1/count` of the rate, interleaved with the others, and together they start exactly
//! the global sequence, none twice.
//!
//! A trace (`--arrival-trace`, [`super::trace`]) replaces the rate: arrival `k` is the trace's row `k` at its time,
//! and the shares split its rows the same way.
//!
//! Who calls it: `runner::open` (the arrival clock, the accounting of the intended rate), `cli` (parsing
//! `--arrival-rate`/`--arrival-stages`), `distributed` (the schedule travels in the master's `spawn`). Pure functions, no
//! clock and no I/O.

/// One stage: over `duration` seconds the rate moves linearly from where it was to `target` per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub duration: f64,
    pub target: f64,
}

/// The intended rate over a test's time (seconds since its start).
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The rate at t = 0 (the whole test's rate when there are no stages).
    pub start_rate: f64,
    /// Empty: a constant rate until the test is stopped. Otherwise the test's arrivals end with the last stage.
    pub stages: Vec<Stage>,
    /// `--arrival-trace`: the arrivals are the trace's rows at their times (the rate and stages are unused).
    pub trace: Option<std::sync::Arc<super::trace::Trace>>,
}

/// The most arrivals a schedule may ask for per second (a typo such as `5e9` is refused, not attempted).
pub const MAX_RATE: f64 = 1_000_000.0;

impl Schedule {
    pub fn constant(rate: f64) -> Schedule {
        Schedule {
            start_rate: rate,
            stages: Vec::new(),
            trace: None,
        }
    }

    /// A trace's rows at their times.
    pub fn replay(trace: super::trace::Trace) -> Schedule {
        Schedule {
            start_rate: 0.0,
            stages: Vec::new(),
            trace: Some(std::sync::Arc::new(trace)),
        }
    }

    /// The fields of arrival `k` (a trace's row as a JSON object's text), `None` without a trace.
    pub fn row(&self, k: u64) -> Option<&str> {
        self.trace
            .as_ref()?
            .rows
            .get(k as usize)
            .map(String::as_str)
    }

    /// The seconds the stages last (`None`: a constant rate, no end of its own).
    pub fn end(&self) -> Option<f64> {
        if let Some(t) = &self.trace {
            return Some(t.span());
        }
        (!self.stages.is_empty()).then(|| self.stages.iter().map(|s| s.duration).sum())
    }

    /// The segments `(t0, t1, r0, r1)`; a constant schedule is one segment to infinity.
    fn segments(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        let constant = self.stages.is_empty().then_some((
            0.0,
            f64::INFINITY,
            self.start_rate,
            self.start_rate,
        ));
        let mut t = 0.0;
        let mut r = self.start_rate;
        let staged = self.stages.iter().map(move |s| {
            let seg = (t, t + s.duration, r, s.target);
            t += s.duration;
            r = s.target;
            seg
        });
        constant.into_iter().chain(staged)
    }

    /// The intended rate at `t` (0 after the last stage).
    pub fn rate_at(&self, t: f64) -> f64 {
        if let Some(tr) = &self.trace {
            return tr.rate_at(t);
        }
        for (t0, t1, r0, r1) in self.segments() {
            if t < t1 || t1.is_infinite() {
                if t < t0 {
                    return r0;
                }
                let d = t1 - t0;
                return if d.is_finite() && d > 0.0 {
                    r0 + (r1 - r0) * (t - t0) / d
                } else {
                    r0
                };
            }
        }
        0.0
    }

    /// `Λ(t)`: the arrivals intended in `[0, t]` as a real number (the integral of the rate).
    pub fn cumulative(&self, t: f64) -> f64 {
        if let Some(tr) = &self.trace {
            return tr.due(t) as f64;
        }
        let mut sum = 0.0;
        for (t0, t1, r0, r1) in self.segments() {
            if t <= t0 {
                break;
            }
            let end = t.min(t1);
            let tau = end - t0;
            let d = t1 - t0;
            let slope = if d.is_finite() && d > 0.0 {
                (r1 - r0) / d
            } else {
                0.0
            };
            sum += r0 * tau + 0.5 * slope * tau * tau;
            if t <= t1 {
                break;
            }
        }
        sum
    }

    /// When arrival `k` of the whole sequence is intended (seconds since the start), or `None` when the schedule
    /// ends (or its rate stays 0) before it.
    pub fn time_of(&self, k: u64) -> Option<f64> {
        if let Some(tr) = &self.trace {
            return tr.times.get(k as usize).copied();
        }
        if k == 0 {
            return self
                .segments()
                .find(|&(_, t1, r0, r1)| (r0 > 0.0 || r1 > 0.0) && t1 > 0.0)
                .map(|(t0, ..)| t0);
        }
        let n = k as f64;
        let mut before = 0.0; // Λ(t0)
        for (t0, t1, r0, r1) in self.segments() {
            let d = t1 - t0;
            let slope = if d.is_finite() && d > 0.0 {
                (r1 - r0) / d
            } else {
                0.0
            };
            let area = if d.is_finite() {
                r0 * d + 0.5 * slope * d * d
            } else if r0 > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            if before + area >= n {
                // solve r0·τ + slope/2·τ² = need for the smallest τ ≥ 0 (the numerically stable root)
                let need = n - before;
                let disc = (r0 * r0 + 2.0 * slope * need).max(0.0);
                let denom = r0 + disc.sqrt();
                let tau = if denom > 0.0 { 2.0 * need / denom } else { 0.0 };
                let tau = if d.is_finite() { tau.min(d) } else { tau };
                return Some(t0 + tau);
            }
            before += area;
        }
        None
    }

    /// How many arrivals of the whole sequence are due at `t` (arrivals `0..due(t)` have intended times `≤ t`).
    pub fn due(&self, t: f64) -> u64 {
        if let Some(tr) = &self.trace {
            return tr.due(t);
        }
        match self.time_of(0) {
            Some(t0) if t0 <= t => {
                let after = self.cumulative(t).floor();
                let mut n = if after.is_finite() {
                    after as u64
                } else {
                    u64::MAX - 1
                } + 1;
                // floating point: make sure arrival n-1 is really due and n is not
                while n > 1 && self.time_of(n - 1).is_none_or(|x| x > t) {
                    n -= 1;
                }
                while self.time_of(n).is_some_and(|x| x <= t) {
                    n += 1;
                }
                n
            }
            _ => 0,
        }
    }

    /// The highest rate anywhere in the schedule.
    pub fn peak(&self) -> f64 {
        if let Some(tr) = &self.trace {
            return tr.peak();
        }
        self.stages
            .iter()
            .map(|s| s.target)
            .fold(self.start_rate, f64::max)
    }

    /// The schedule as `--arrival-rate`/`--arrival-stages` would give it back (for logs, the UI, the summary).
    /// The schedule as `--arrival-rate` and `--arrival-stages` texts (what the web form shows).
    pub fn texts(&self) -> (String, String) {
        if self.trace.is_some() {
            return (String::new(), String::new());
        }
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| format!("{}:{}", fmt_secs(s.duration), fmt_rate(s.target)))
            .collect();
        (fmt_rate(self.start_rate), stages.join(", "))
    }

    pub fn describe(&self) -> String {
        if let Some(tr) = &self.trace {
            let scaled = if tr.scale == 1.0 {
                String::new()
            } else {
                format!(", {}x as fast", fmt_rate(tr.scale))
            };
            return format!(
                "the rows of the trace {} ({} rows over {}{scaled})",
                tr.file,
                tr.rows.len(),
                fmt_secs(tr.span())
            );
        }
        let mut out = format!("{}/s", fmt_rate(self.start_rate));
        for s in &self.stages {
            out.push_str(&format!(
                ", then to {}/s over {}",
                fmt_rate(s.target),
                fmt_secs(s.duration)
            ));
        }
        out
    }
}

/// Which arrivals of the whole sequence this process starts: those `k` with `k % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub index: u64,
    pub count: u64,
}

impl Share {
    pub const WHOLE: Share = Share { index: 0, count: 1 };

    /// The first arrival of this share at or after arrival `k` of the whole sequence.
    pub fn first_from(self, k: u64) -> u64 {
        let count = self.count.max(1);
        let index = self.index % count;
        let base = k - k % count + index;
        if base >= k { base } else { base + count }
    }

    /// The fraction of the rate this share starts.
    pub fn fraction(self) -> f64 {
        1.0 / self.count.max(1) as f64
    }
}

/// A rate as given to `--arrival-rate`: iterations per second, optionally written per second, minute or hour
/// (`50`, `50/s`, `3000/m`, `120/h`). Must be a finite number ≥ 0 and at most [`MAX_RATE`] per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, per) = match t.rsplit_once('/') {
        Some((n, unit)) => {
            let secs = match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                "h" | "hour" => 3600.0,
                _ => {
                    return Err(format!(
                        "invalid arrival rate {text:?} (use e.g. 50, 50/s, 3000/m or 120/h)"
                    ));
                }
            };
            (n.trim(), secs)
        }
        None => (t, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| {
        format!("invalid arrival rate {text:?} (use e.g. 50, 50/s, 3000/m or 120/h)")
    })?;
    let rate = value / per;
    if !rate.is_finite() || rate < 0.0 {
        return Err(format!(
            "invalid arrival rate {text:?} (a number of iterations per second, 0 or more)"
        ));
    }
    if rate > MAX_RATE {
        return Err(format!(
            "arrival rate {text:?} is above the most rlocust schedules ({} per second)",
            fmt_rate(MAX_RATE)
        ));
    }
    Ok(rate)
}

/// `--arrival-stages`: stages separated by commas, each `DURATION:RATE` (a Locust time span, then a rate as
/// [`parse_rate`] reads it), e.g. `30s:100, 2m:100, 30s:0`.
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((duration, rate)) = part.split_once(':') else {
            return Err(format!(
                "invalid arrival stage {part:?}: write DURATION:RATE, e.g. 30s:100"
            ));
        };
        let duration = crate::cli::parse_timespan(duration.trim())
            .map_err(|_| format!("invalid arrival stage {part:?}: the duration is a time span such as 30, 30s, 2m or 1h30m"))?;
        if duration == 0 {
            return Err(format!(
                "invalid arrival stage {part:?}: a stage lasts at least one second"
            ));
        }
        out.push(Stage {
            duration: duration as f64,
            target: parse_rate(rate)?,
        });
    }
    if out.is_empty() {
        return Err("--arrival-stages has no stage (write DURATION:RATE, ...)".into());
    }
    Ok(out)
}

/// A rate for people: `50`, `12.5`, `0.25`.
pub fn fmt_rate(r: f64) -> String {
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        let s = format!("{r:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Seconds as `45s`, `3m`, `3m12s`, `1h0m5s`.
pub fn fmt_secs(s: f64) -> String {
    let s = s.round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn a_constant_rate_spaces_arrivals_evenly_from_zero() {
        let s = Schedule::constant(4.0);
        let times: Vec<f64> = (0..5).map(|k| s.time_of(k).unwrap()).collect();
        assert_eq!(times, [0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(s.due(0.0), 1);
        assert_eq!(s.due(0.2499), 1);
        assert_eq!(s.due(0.25), 2);
        assert_eq!(s.due(10.0), 41);
        assert_eq!(s.end(), None);
        assert!(close(s.cumulative(2.5), 10.0));
    }

    #[test]
    fn no_arrival_at_a_rate_of_zero() {
        let s = Schedule::constant(0.0);
        assert_eq!(s.time_of(0), None);
        assert_eq!(s.time_of(1), None);
        assert_eq!(s.due(1000.0), 0);
    }

    #[test]
    fn a_linear_ramp_follows_the_integral() {
        // 0 -> 10/s over 10 s: Λ(t) = t²/2, so arrival k at sqrt(2k); then 10 s at 10/s
        let s = Schedule {
            start_rate: 0.0,
            stages: vec![
                Stage {
                    duration: 10.0,
                    target: 10.0,
                },
                Stage {
                    duration: 10.0,
                    target: 10.0,
                },
            ],
            trace: None,
        };
        assert_eq!(s.time_of(0), Some(0.0));
        for k in 1..=50u64 {
            assert!(close(s.time_of(k).unwrap(), (2.0 * k as f64).sqrt()), "{k}");
        }
        // the plateau: arrival 50 at 10 s, then every 0.1 s
        assert!(close(s.time_of(60).unwrap(), 11.0));
        assert!(close(s.time_of(150).unwrap(), 20.0));
        assert_eq!(s.time_of(151), None, "the schedule ends after its stages");
        assert_eq!(s.end(), Some(20.0));
        assert!(close(s.rate_at(5.0), 5.0));
        assert!(close(s.rate_at(15.0), 10.0));
        assert_eq!(s.rate_at(25.0), 0.0);
        assert!(close(s.cumulative(20.0), 150.0));
        assert_eq!(s.due(20.0), 151);
    }

    #[test]
    fn a_ramp_down_and_a_pause() {
        // 8/s down to 0 over 4 s (16 arrivals: Λ(4) = 16), 2 s at 0, then 0 -> 4/s over 2 s (4 more)
        let s = Schedule {
            start_rate: 8.0,
            stages: vec![
                Stage {
                    duration: 4.0,
                    target: 0.0,
                },
                Stage {
                    duration: 2.0,
                    target: 0.0,
                },
                Stage {
                    duration: 2.0,
                    target: 4.0,
                },
            ],
            trace: None,
        };
        // Λ(t) = 8t - t² on [0, 4]: arrival k at 4 - sqrt(16 - k)
        for k in 1..16u64 {
            assert!(
                close(s.time_of(k).unwrap(), 4.0 - (16.0 - k as f64).sqrt()),
                "{k}"
            );
        }
        assert!(close(s.time_of(16).unwrap(), 4.0));
        // nothing during the pause; arrival 17 at 6 + sqrt(1)
        assert!(close(s.time_of(17).unwrap(), 7.0));
        assert!(close(s.time_of(20).unwrap(), 8.0));
        assert_eq!(s.time_of(21), None);
        assert_eq!(s.due(5.9), 17);
    }

    #[test]
    fn stages_that_start_at_zero_and_hold_there_start_later() {
        let s = Schedule {
            start_rate: 0.0,
            stages: vec![
                Stage {
                    duration: 5.0,
                    target: 0.0,
                },
                Stage {
                    duration: 5.0,
                    target: 2.0,
                },
            ],
            trace: None,
        };
        assert_eq!(s.time_of(0), Some(5.0));
        assert_eq!(s.due(4.0), 0);
    }

    #[test]
    fn shares_split_the_sequence_without_overlap() {
        let s = Schedule::constant(100.0);
        let mut seen = std::collections::BTreeSet::new();
        for index in 0..3 {
            let share = Share { index, count: 3 };
            let mut k = share.first_from(0);
            while k < 300 {
                assert!(seen.insert(k), "{k} twice");
                k += share.count;
            }
        }
        assert_eq!(seen.len(), 300);
        assert!(close(Share { index: 1, count: 4 }.fraction(), 0.25));
        // joining later: the first of its arrivals not yet due
        let share = Share { index: 2, count: 3 };
        let from = s.due(1.234);
        let k = share.first_from(from);
        assert!(k >= from && k % 3 == 2 && k < from + 3);
        assert_eq!(Share::WHOLE.first_from(7), 7);
    }

    #[test]
    fn rates_and_stages_parse() {
        assert_eq!(parse_rate("50"), Ok(50.0));
        assert_eq!(parse_rate(" 50/s "), Ok(50.0));
        assert_eq!(parse_rate("3000/m"), Ok(50.0));
        assert_eq!(parse_rate("7200/h"), Ok(2.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("lots").is_err());
        assert!(parse_rate("5/d").is_err());
        assert!(parse_rate("nan").is_err());
        assert!(parse_rate("5e9").unwrap_err().contains("above"));
        let st = parse_stages("30s:100, 2m:100 ,30s:0").unwrap();
        assert_eq!(
            st,
            vec![
                Stage {
                    duration: 30.0,
                    target: 100.0
                },
                Stage {
                    duration: 120.0,
                    target: 100.0
                },
                Stage {
                    duration: 30.0,
                    target: 0.0
                }
            ]
        );
        assert!(parse_stages("30s").is_err());
        assert!(parse_stages("0s:5").is_err());
        assert!(parse_stages("x:5").is_err());
        assert!(parse_stages("").is_err());
        let s = Schedule {
            start_rate: 10.0,
            stages: st,
            trace: None,
        };
        assert_eq!(
            s.describe(),
            "10/s, then to 100/s over 30s, then to 100/s over 2m, then to 0/s over 30s"
        );
        assert_eq!(s.peak(), 100.0);
        assert_eq!(fmt_rate(12.5), "12.5");
    }

    #[test]
    fn many_arrivals_stay_exact_at_high_rates() {
        // 5,000/s for an hour: the 18-millionth arrival is still at its exact time
        let s = Schedule::constant(5000.0);
        let k = 18_000_000;
        assert!(close(s.time_of(k).unwrap(), 3600.0));
        assert_eq!(s.due(3600.0), k + 1);
    }

    #[test]
    fn a_trace_is_its_rows_times() {
        let t = super::super::trace::parse(
            "t.csv",
            "timestamp\n0\n0\n0.5\n2\n",
            false,
            1.0,
            super::super::trace::Unit::Auto,
        )
        .unwrap();
        let s = Schedule::replay(t);
        assert_eq!(s.time_of(0), Some(0.0));
        assert_eq!(s.time_of(2), Some(0.5));
        assert_eq!(s.time_of(4), None);
        assert_eq!(s.due(0.0), 2);
        assert_eq!(s.cumulative(1.0), 3.0);
        assert_eq!(s.end(), Some(2.0));
        assert_eq!(s.peak(), 3.0);
        assert_eq!(s.row(3), Some(r#"{"timestamp":2}"#));
        assert_eq!(s.row(4), None);
        assert!(
            s.describe()
                .contains("the rows of the trace t.csv (4 rows over 2s)")
        );
        // a share of two starts every other row
        let share = Share { index: 1, count: 2 };
        assert_eq!(share.first_from(0), 1);
        assert_eq!(Schedule::constant(1.0).row(0), None);
    }
}
