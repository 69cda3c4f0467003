//! Where an open workload comes from and where it cannot apply: the command line's `--arrival-rate`,
//! `--arrival-stages`, `--arrival-trace` (with `--arrival-trace-scale`/`-unit`; the file is read here, before
//! anything starts), `--arrival-max-users`, `--arrival-initial-users` (config files and `RLOCUST_*` variables included), or an
//! `ArrivalRateShape` in the locustfile; and the combinations refused with one line (`-u`/`-r`, a LoadTestShape,
//! `-i`, a missing `--arrival-max-users`, ...).
//!
//! Who calls it: `app` once the locustfile is loaded (before anything starts), `web` for the start form's fields.
//! Pure functions of their arguments.
use super::OpenPlan;
use super::schedule::{Schedule, Stage, parse_rate, parse_stages};
use crate::cli::Options;

/// An `ArrivalRateShape` class of the locustfile, its values as texts (read here as the command line's are).
#[derive(Clone, Debug, PartialEq)]
pub struct ArrivalShape {
    pub name: String,
    pub start_rate: String,
    /// `(duration, rate)` per stage.
    pub stages: Vec<(String, String)>,
    pub max_users: i64,
    pub initial_users: i64,
}

/// The open workload the run starts with, if any; `Err` is the one line that refuses the combination.
/// `load_shape` names the locustfile's LoadTestShape.
pub fn plan(
    options: &Options,
    shapes: &[ArrivalShape],
    load_shape: Option<&str>,
) -> Result<Option<OpenPlan>, String> {
    let trace = options.arrival_trace.as_deref();
    let from_cli =
        options.arrival_rate.is_some() || options.arrival_stages.is_some() || trace.is_some();
    if options.worker {
        // a worker's arrivals come from its master (its share of the master's rate), as its users do
        return Ok(None);
    }
    if trace.is_some() {
        for (dest, flag) in [
            ("arrival_rate", "--arrival-rate"),
            ("arrival_stages", "--arrival-stages"),
        ] {
            if options.given.contains(dest) {
                return Err(format!(
                    "rlocust: --arrival-trace cannot be used with {flag}: the trace's rows are the schedule (--arrival-trace-scale speeds it up or slows it down)"
                ));
            }
        }
    } else {
        for (dest, flag) in [
            ("arrival_trace_scale", "--arrival-trace-scale"),
            ("arrival_trace_unit", "--arrival-trace-unit"),
        ] {
            if options.given.contains(dest) {
                return Err(format!(
                    "rlocust: {flag} applies to a replay: give --arrival-trace FILE too"
                ));
            }
        }
    }
    let shape = match shapes {
        [] => None,
        [one] => Some(one),
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "rlocust: the locustfile has {} ArrivalRateShape classes ({}): keep one",
                many.len(),
                names.join(", ")
            ));
        }
    };
    if !from_cli && shape.is_none() {
        if options.given.contains("search") {
            // a capacity search sets the rate itself (`judge::search::options` checks its options)
            return Ok(None);
        }
        for (dest, flag) in [
            ("arrival_max_users", "--arrival-max-users"),
            ("arrival_initial_users", "--arrival-initial-users"),
        ] {
            if options.given.contains(dest) {
                return Err(format!(
                    "rlocust: {flag} applies to an arrival rate: give --arrival-rate or --arrival-stages too"
                ));
            }
        }
        return Ok(None);
    }
    let what = match shape {
        Some(s) if !from_cli => format!("the ArrivalRateShape {}", s.name),
        _ if trace.is_some() => "--arrival-trace".to_string(),
        _ => "--arrival-rate".to_string(),
    };
    if let (Some(s), true) = (shape, from_cli) {
        return Err(format!(
            "rlocust: {} and the locustfile's ArrivalRateShape {} both set an arrival rate: keep one",
            if trace.is_some() {
                "--arrival-trace"
            } else {
                "--arrival-rate/--arrival-stages"
            },
            s.name
        ));
    }
    if let Some(load) = load_shape {
        return Err(format!(
            "rlocust: {what} cannot run with the locustfile's LoadTestShape {load}, which sets numbers of users (a closed model): keep one"
        ));
    }
    for (dest, flag) in [
        ("num_users", "-u/--users"),
        ("spawn_rate", "-r/--spawn-rate"),
    ] {
        if options.given.contains(dest) {
            return Err(format!(
                "rlocust: {what} cannot be used with {flag}, which runs a number of users in a loop (a closed model); --arrival-max-users caps the users of an arrival rate"
            ));
        }
    }
    if options.given.contains("iterations") {
        return Err(format!(
            "rlocust: {what} cannot be used with -i/--iterations: the arrival rate and --run-time or --arrival-stages decide how many iterations run"
        ));
    }
    let (schedule, max_users, initial_users) = match shape {
        Some(s) if !from_cli => {
            let start_rate =
                parse_rate(&s.start_rate).map_err(|e| format!("rlocust: {}: {e}", s.name))?;
            let mut stages = Vec::new();
            for (duration, rate) in &s.stages {
                let mut one = parse_stages(&format!("{duration}:{rate}"))
                    .map_err(|e| format!("rlocust: {}: {e}", s.name))?;
                stages.append(&mut one);
            }
            (
                Schedule {
                    start_rate,
                    stages,
                    trace: None,
                },
                Some(s.max_users),
                Some(s.initial_users),
            )
        }
        _ if trace.is_some() => {
            let unit =
                super::trace::Unit::parse(options.arrival_trace_unit.as_deref().unwrap_or(""))
                    .map_err(|e| format!("rlocust: {e}"))?;
            let scale = options.arrival_trace_scale.unwrap_or(1.0);
            let t = super::trace::load(trace.unwrap_or_default(), scale, unit)
                .map_err(|e| format!("rlocust: {e}"))?;
            (
                Schedule::replay(t),
                options.max_users,
                options.initial_users,
            )
        }
        _ => {
            let start_rate = match &options.arrival_rate {
                Some(t) => parse_rate(t).map_err(|e| format!("rlocust: --arrival-rate: {e}"))?,
                None => 0.0,
            };
            let stages: Vec<Stage> = match &options.arrival_stages {
                Some(t) => {
                    parse_stages(t).map_err(|e| format!("rlocust: --arrival-stages: {e}"))?
                }
                None => Vec::new(),
            };
            (
                Schedule {
                    start_rate,
                    stages,
                    trace: None,
                },
                options.max_users,
                options.initial_users,
            )
        }
    };
    if schedule.trace.is_none() && schedule.stages.is_empty() && schedule.start_rate <= 0.0 {
        return Err(format!(
            "rlocust: {what}: the rate must be more than 0 (or give stages that ramp it up)"
        ));
    }
    let max_users = match max_users {
        Some(n) if n > 0 => n as u64,
        Some(n) if options.given.contains("arrival_max_users") || shape.is_none() || from_cli => {
            return Err(format!(
                "rlocust: --arrival-max-users must be at least 1, got {n}"
            ));
        }
        _ => {
            return Err(match shape {
                Some(s) if !from_cli => format!(
                    "rlocust: the ArrivalRateShape {} needs max_users (the most users that may run iterations at the same time)",
                    s.name
                ),
                _ => format!(
                    "rlocust: {what} needs --arrival-max-users (the most users that may run iterations at the same time)"
                ),
            });
        }
    };
    let initial_users = initial_users.unwrap_or(0);
    if initial_users < 0 || initial_users as u64 > max_users {
        return Err(format!(
            "rlocust: --arrival-initial-users must be between 0 and --arrival-max-users ({max_users}), got {initial_users}"
        ));
    }
    Ok(Some(OpenPlan {
        schedule,
        max_users,
        initial_users: initial_users as u64,
    }))
}

/// The start form's fields (`arrival_rate`, `arrival_stages`, `max_users`, `initial_users`): `Ok(None)` when the
/// form asks for no arrival rate (a closed test), `Err` the message the form shows.
pub fn plan_from_form(
    rate: Option<&str>,
    stages: Option<&str>,
    max_users: Option<&str>,
    initial_users: Option<&str>,
) -> Result<Option<OpenPlan>, String> {
    fn blank(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|t| !t.is_empty())
    }
    let (rate, stages) = (blank(rate), blank(stages));
    if rate.is_none() && stages.is_none() {
        return Ok(None);
    }
    let start_rate = match rate {
        Some(t) => parse_rate(t)?,
        None => 0.0,
    };
    let stages = match stages {
        Some(t) => parse_stages(t)?,
        None => Vec::new(),
    };
    if stages.is_empty() && start_rate <= 0.0 {
        return Err("The arrival rate must be more than 0".into());
    }
    let int = |name: &str, v: Option<&str>| -> Result<Option<u64>, String> {
        match blank(v) {
            None => Ok(None),
            Some(t) => t
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("{name} must be a whole number, got {t:?}")),
        }
    };
    let max_users = int("Max users", max_users)?
        .filter(|n| *n > 0)
        .ok_or_else(|| "An arrival rate needs a maximum of users (1 or more)".to_string())?;
    let initial_users = int("Initial users", initial_users)?.unwrap_or(0);
    if initial_users > max_users {
        return Err(format!(
            "Initial users ({initial_users}) cannot be more than the maximum ({max_users})"
        ));
    }
    Ok(Some(OpenPlan {
        schedule: Schedule {
            start_rate,
            stages,
            trace: None,
        },
        max_users,
        initial_users,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Value;
    use indexmap::IndexMap;

    fn options(pairs: &[(&str, Value)]) -> Options {
        let mut values: IndexMap<String, Value> = IndexMap::new();
        let mut given = std::collections::BTreeSet::new();
        for (k, v) in pairs {
            values.insert((*k).into(), v.clone());
            given.insert((*k).to_string());
        }
        Options::from_values(&values, given)
    }

    fn s(t: &str) -> Value {
        Value::Str(t.into())
    }

    #[test]
    fn the_command_line_gives_a_plan() {
        let o = options(&[
            ("arrival_rate", s("50")),
            ("arrival_max_users", Value::Int(20)),
            ("arrival_initial_users", Value::Int(5)),
        ]);
        let p = plan(&o, &[], None).unwrap().unwrap();
        assert_eq!(p.schedule, Schedule::constant(50.0));
        assert_eq!((p.max_users, p.initial_users), (20, 5));
        let o = options(&[
            ("arrival_stages", s("10s:100,10s:0")),
            ("arrival_max_users", Value::Int(20)),
        ]);
        let p = plan(&o, &[], None).unwrap().unwrap();
        assert_eq!(p.schedule.start_rate, 0.0);
        assert_eq!(p.schedule.end(), Some(20.0));
        assert_eq!(plan(&options(&[]), &[], None), Ok(None));
    }

    #[test]
    fn the_refusals_are_one_line_each() {
        let refused = |pairs: &[(&str, Value)], load: Option<&str>| {
            let e = plan(&options(pairs), &[], load).unwrap_err();
            assert!(e.starts_with("rlocust: ") && !e.contains('\n'), "{e}");
            e
        };
        let rate = ("arrival_rate", s("50"));
        let max = ("arrival_max_users", Value::Int(5));
        assert!(
            refused(
                &[rate.clone(), max.clone(), ("num_users", Value::Int(3))],
                None
            )
            .contains("-u/--users")
        );
        assert!(
            refused(
                &[rate.clone(), max.clone(), ("spawn_rate", Value::Float(3.0))],
                None
            )
            .contains("-r/--spawn-rate")
        );
        assert!(
            refused(&[rate.clone(), max.clone()], Some("Steps")).contains("LoadTestShape Steps")
        );
        assert!(
            refused(
                &[rate.clone(), max.clone(), ("iterations", Value::Int(9))],
                None
            )
            .contains("--iterations")
        );
        assert!(refused(std::slice::from_ref(&rate), None).contains("needs --arrival-max-users"));
        assert!(
            refused(&[rate.clone(), ("arrival_max_users", Value::Int(0))], None)
                .contains("at least 1")
        );
        assert!(
            refused(
                &[
                    rate.clone(),
                    max.clone(),
                    ("arrival_initial_users", Value::Int(9))
                ],
                None
            )
            .contains("--arrival-initial-users")
        );
        assert!(
            refused(&[("arrival_rate", s("fast")), max.clone()], None)
                .contains("invalid arrival rate")
        );
        assert!(refused(&[("arrival_rate", s("0")), max.clone()], None).contains("more than 0"));
        assert!(
            refused(&[("arrival_stages", s("10s")), max.clone()], None).contains("DURATION:RATE")
        );
        assert!(
            refused(std::slice::from_ref(&max), None)
                .contains("--arrival-max-users applies to an arrival rate")
        );
    }

    fn shape(max_users: i64) -> ArrivalShape {
        ArrivalShape {
            name: "Arrivals".into(),
            start_rate: "10".into(),
            stages: vec![("30".into(), "100".into()), ("1m".into(), "6000/m".into())],
            max_users,
            initial_users: 2,
        }
    }

    #[test]
    fn a_locustfile_shape_gives_a_plan() {
        let p = plan(&options(&[]), &[shape(50)], None).unwrap().unwrap();
        assert_eq!(p.schedule.start_rate, 10.0);
        assert_eq!(p.schedule.stages[1].target, 100.0);
        assert_eq!(p.schedule.end(), Some(90.0));
        assert_eq!((p.max_users, p.initial_users), (50, 2));
        let e = plan(&options(&[]), &[shape(0)], None).unwrap_err();
        assert!(e.contains("needs max_users"), "{e}");
        let e = plan(
            &options(&[
                ("arrival_rate", s("5")),
                ("arrival_max_users", Value::Int(5)),
            ]),
            &[shape(5)],
            None,
        )
        .unwrap_err();
        assert!(e.contains("both set an arrival rate"), "{e}");
        let e = plan(&options(&[]), &[shape(5)], Some("Steps")).unwrap_err();
        assert!(
            e.contains(
                "ArrivalRateShape Arrivals cannot run with the locustfile's LoadTestShape Steps"
            ),
            "{e}"
        );
        let mut two = shape(5);
        two.name = "Other".into();
        assert!(
            plan(&options(&[]), &[shape(5), two], None)
                .unwrap_err()
                .contains("keep one")
        );
        // a worker's come from its master
        assert_eq!(
            plan(
                &options(&[("worker", Value::Bool(true))]),
                &[shape(5)],
                None
            ),
            Ok(None)
        );
    }

    #[test]
    fn the_form_fields() {
        assert_eq!(plan_from_form(None, Some(" "), None, None), Ok(None));
        let p = plan_from_form(Some("20"), None, Some("10"), Some("2"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.schedule.start_rate, p.max_users, p.initial_users),
            (20.0, 10, 2)
        );
        assert!(plan_from_form(Some("20"), None, None, None).is_err());
        assert!(plan_from_form(Some("20"), None, Some("x"), None).is_err());
        assert!(plan_from_form(Some("20"), None, Some("2"), Some("3")).is_err());
        assert!(plan_from_form(Some("0"), None, Some("2"), None).is_err());
        let p = plan_from_form(None, Some("5s:10"), Some("2"), None)
            .unwrap()
            .unwrap();
        assert_eq!(p.schedule.end(), Some(5.0));
    }
}
