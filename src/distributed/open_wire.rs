//! The open workload (`runner::open`) on Locust's wire, as extension keys only rlocust nodes read:
//! - `arrival` in a master's `spawn`: the schedule, this worker's share of the arrivals `(index, count)`, its
//!   maximum and initial users, and how far into the schedule the test is (a worker that joins later starts
//!   there). Its `user_classes_count` is empty, so the message asks nothing of a Locust worker (which an rlocust
//!   master never sends it anyway: it refuses Locust workers in an open test).
//!   With `--arrival-trace`, a `trace` key too: every row's time, the fields of this worker's rows (the
//!   others' fields left empty), so a worker needs no copy of the file, and the master's time 0 for all its
//!   workers (`zero_unix`, Unix seconds).
//! - `arrivals` in a worker's `stats` report: counts since the last report and the gauges now.
//! - `rlocust` in a worker's heartbeat: its version, so a master knows which of its workers can take an arrival
//!   rate (a Locust master reads the keys it knows and ignores this one).
//!
//! Who calls it: `distributed::worker` (decode the share, encode its report), `distributed::master` (encode the shares, merge the
//! reports). Pure data conversion.
use crate::msgpack::Value;
use crate::runner::open::schedule::{Schedule, Share, Stage};
use crate::runner::open::tally::{Delta, Gauges};
use crate::runner::open::trace::Trace;
use crate::runner::open::{Assignment, OpenPlan};

/// The heartbeat key that marks an rlocust worker.
pub const HEARTBEAT_KEY: &str = "rlocust";

/// A trace on the wire: every row's time, and the fields of this share's rows only (the others empty).
fn encode_trace(t: &Trace, share: Share) -> Value {
    let count = share.count.max(1);
    Value::map([
        ("file", Value::Str(t.file.clone())),
        ("scale", Value::Float(t.scale)),
        (
            "zero_unix",
            t.zero_unix.map(Value::Float).unwrap_or(Value::Nil),
        ),
        (
            "times",
            Value::Array(t.times.iter().map(|x| Value::Float(*x)).collect()),
        ),
        (
            "rows",
            Value::Array(
                t.rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        Value::Str(if i as u64 % count == share.index % count {
                            r.clone()
                        } else {
                            String::new()
                        })
                    })
                    .collect(),
            ),
        ),
    ])
}

fn decode_trace(v: &Value) -> Option<Trace> {
    let times = v
        .get("times")?
        .as_array()?
        .iter()
        .map(Value::as_f64)
        .collect::<Option<Vec<f64>>>()?;
    let rows = v
        .get("rows")?
        .as_array()?
        .iter()
        .map(|r| r.as_str().map(str::to_owned))
        .collect::<Option<Vec<String>>>()?;
    (rows.len() == times.len()).then(|| Trace {
        file: v
            .get("file")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        scale: v.get("scale").and_then(Value::as_f64).unwrap_or(1.0),
        zero_unix: v.get("zero_unix").and_then(Value::as_f64),
        times,
        rows,
    })
}

pub fn encode_assignment(a: &Assignment) -> Value {
    let mut v = encode_rate(a);
    if let (Some(t), Value::Map(entries)) = (&a.plan.schedule.trace, &mut v) {
        entries.push((Value::Str("trace".into()), encode_trace(t, a.share)));
    }
    v
}

fn encode_rate(a: &Assignment) -> Value {
    Value::map([
        ("start_rate", Value::Float(a.plan.schedule.start_rate)),
        (
            "stages",
            Value::Array(
                a.plan
                    .schedule
                    .stages
                    .iter()
                    .map(|s| Value::Array(vec![Value::Float(s.duration), Value::Float(s.target)]))
                    .collect(),
            ),
        ),
        ("max_users", Value::from_u64(a.plan.max_users)),
        ("initial_users", Value::from_u64(a.plan.initial_users)),
        ("index", Value::from_u64(a.share.index)),
        ("count", Value::from_u64(a.share.count)),
        ("elapsed", Value::Float(a.elapsed)),
    ])
}

pub fn decode_assignment(v: &Value) -> Option<Assignment> {
    let num = |k: &str| v.get(k).and_then(Value::as_f64);
    let int = |k: &str| num(k).filter(|x| *x >= 0.0).map(|x| x as u64);
    let stages = v
        .get("stages")?
        .as_array()?
        .iter()
        .map(|s| {
            let pair = s.as_array()?;
            Some(Stage {
                duration: pair.first()?.as_f64()?,
                target: pair.get(1)?.as_f64()?,
            })
        })
        .collect::<Option<Vec<Stage>>>()?;
    let trace = match v.get("trace") {
        Some(t) => Some(std::sync::Arc::new(decode_trace(t)?)),
        None => None,
    };
    Some(Assignment {
        plan: OpenPlan {
            schedule: Schedule {
                start_rate: num("start_rate")?,
                stages,
                trace,
            },
            max_users: int("max_users")?,
            initial_users: int("initial_users").unwrap_or(0),
        },
        share: Share {
            index: int("index")?,
            count: int("count")?.max(1),
        },
        elapsed: num("elapsed").unwrap_or(0.0),
    })
}

pub fn encode_delta(d: &Delta) -> Value {
    Value::map([
        ("intended", Value::from_u64(d.intended)),
        ("started", Value::from_u64(d.started)),
        ("dropped", Value::from_u64(d.dropped)),
        (
            "lag_us",
            Value::Array(
                d.lag_us
                    .iter()
                    .map(|&(us, n)| Value::Array(vec![Value::from_u64(us), Value::from_u64(n)]))
                    .collect(),
            ),
        ),
        ("busy", Value::from_u64(d.gauges.busy)),
        ("users", Value::from_u64(d.gauges.users)),
        ("max_users", Value::from_u64(d.gauges.max_users)),
        ("intended_rate", Value::Float(d.gauges.intended_rate)),
    ])
}

pub fn decode_delta(v: &Value) -> Option<Delta> {
    let int = |k: &str| {
        v.get(k)
            .and_then(Value::as_f64)
            .filter(|x| *x >= 0.0)
            .map(|x| x as u64)
    };
    let lag_us = v
        .get("lag_us")
        .and_then(Value::as_array)
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|p| {
                    let p = p.as_array()?;
                    Some((
                        p.first()?.as_f64()?.max(0.0) as u64,
                        p.get(1)?.as_f64()?.max(0.0) as u64,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Delta {
        intended: int("intended")?,
        started: int("started")?,
        dropped: int("dropped")?,
        lag_us,
        gauges: Gauges {
            busy: int("busy").unwrap_or(0),
            users: int("users").unwrap_or(0),
            max_users: int("max_users").unwrap_or(0),
            intended_rate: v
                .get("intended_rate")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
        },
    })
}

/// The shares of `workers` (in this order) of a plan: the arrivals split evenly over at most `max_users` of them
/// (a worker with no user to run them would drop all of its share), the users split as evenly.
pub fn shares(plan: &OpenPlan, workers: &[String], elapsed: f64) -> Vec<(String, Assignment)> {
    let n = (workers.len() as u64).min(plan.max_users.max(1));
    let split = |total: u64, i: u64| total / n + u64::from(i < total % n);
    workers
        .iter()
        .take(n as usize)
        .enumerate()
        .map(|(i, id)| {
            let i = i as u64;
            (
                id.clone(),
                Assignment {
                    plan: OpenPlan {
                        schedule: plan.schedule.clone(),
                        max_users: split(plan.max_users, i),
                        initial_users: split(plan.initial_users, i),
                    },
                    share: Share { index: i, count: n },
                    elapsed,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_and_deltas_round_trip() {
        let a = Assignment {
            plan: OpenPlan {
                schedule: Schedule {
                    start_rate: 10.0,
                    stages: vec![Stage {
                        duration: 30.0,
                        target: 100.0,
                    }],
                    trace: None,
                },
                max_users: 7,
                initial_users: 2,
            },
            share: Share { index: 1, count: 3 },
            elapsed: 4.5,
        };
        let wire = crate::msgpack::Message::new("spawn", encode_assignment(&a), "w")
            .encode()
            .unwrap();
        let back = crate::msgpack::Message::decode(&wire).unwrap();
        assert_eq!(decode_assignment(&back.data), Some(a.clone()));
        // a trace: every time, this share's rows only
        let mut t = a;
        t.plan.schedule = Schedule::replay(
            crate::runner::open::trace::parse(
                "t.csv",
                "timestamp,x\n0,a\n1,b\n2,c\n3,d\n",
                false,
                1.0,
                crate::runner::open::trace::Unit::Auto,
            )
            .unwrap(),
        );
        let back = decode_assignment(&encode_assignment(&t)).unwrap();
        let tr = back.plan.schedule.trace.unwrap();
        assert_eq!(tr.times, [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(tr.rows, ["", r#"{"timestamp":1,"x":"b"}"#, "", ""]);
        assert_eq!(back.share, Share { index: 1, count: 3 });
        let d = Delta {
            intended: 10,
            started: 8,
            dropped: 2,
            lag_us: vec![(120, 5), (2000, 3)],
            gauges: Gauges {
                busy: 3,
                users: 4,
                max_users: 5,
                intended_rate: 3.5,
            },
        };
        assert_eq!(decode_delta(&encode_delta(&d)), Some(d));
        assert_eq!(decode_delta(&Value::Nil), None);
    }

    #[test]
    fn shares_split_rate_and_users() {
        let plan = OpenPlan {
            schedule: Schedule::constant(90.0),
            max_users: 10,
            initial_users: 4,
        };
        let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let s = shares(&plan, &ids, 0.0);
        let max: Vec<u64> = s.iter().map(|(_, a)| a.plan.max_users).collect();
        assert_eq!(max, [4, 3, 3]);
        let initial: Vec<u64> = s.iter().map(|(_, a)| a.plan.initial_users).collect();
        assert_eq!(initial, [2, 1, 1]);
        assert!(s.iter().enumerate().all(|(i, (_, a))| a.share
            == Share {
                index: i as u64,
                count: 3
            }));
        // fewer users than workers: only as many workers take a share
        let small = OpenPlan {
            max_users: 2,
            ..plan
        };
        let s = shares(&small, &ids, 0.0);
        assert_eq!(s.len(), 2);
        assert!(
            s.iter()
                .all(|(_, a)| a.plan.max_users == 1 && a.share.count == 2)
        );
    }
}
