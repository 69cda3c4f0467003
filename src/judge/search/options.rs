//! `--search [MODE]` and its settings, checked: a [`Spec`], or the one line that refuses the combination (nothing
//! has started yet).
//!
//! Refused: `--slo` or a `--search-*` option without `--search`, `--search` without `--slo`, a malformed rule (the
//! `--thresholds` grammar, errors naming `--slo`; no `abort`), an unknown mode, a start or maximum <= 0, a start above
//! the maximum, a precision outside (0, 1), a budget below 2, a bad `--search-levels` (empty, not a number, <= 0, not
//! increasing), a gate <= 0; `--search` with `-u`/`--users`, `--arrival-rate`, `--arrival-stages`, `--arrival-trace`, `-i/--iterations`
//! (the search decides how long each level runs), a LoadTestShape or an ArrivalRateShape (they set the load
//! themselves), `--worker` (a worker follows its master: give `--search` to the master) or without `--headless`/
//! `--autostart`; arrival-rate without `--arrival-max-users`; `--search users` with `--arrival-max-users`,
//! `--arrival-initial-users` or an arrival-rule (`dropped`, `iteration_rate`, `start_lag_*`), which only an arrival
//! rate has. A master (`--master`) and `--processes N` search over their workers.
//!
//! Who calls it: `app` before any process starts. Pure: reads the options it is handed.
use super::{Mode, Spec};
use crate::cli::Options;
use crate::judge::thresholds;

/// The defaults (see docs/capacity.md for why).
pub const DEFAULT_START: f64 = 10.0;
/// 20 s: enough samples for a p99 of a few hundred requests per second to be known within a few percent, and short
/// enough that a search of ~10 probes takes a few minutes.
pub const DEFAULT_PROBE_TIME: f64 = 20.0;
pub const DEFAULT_WARMUP: f64 = 5.0;
pub const DEFAULT_PRECISION: f64 = 0.05;
pub const DEFAULT_BUDGET: u32 = 15;

fn bad(option: &str, why: impl std::fmt::Display) -> String {
    format!("rlocust: {option}: {why}")
}

/// A positive level (`--search-start`, `--search-max`, `--search-gate`, one of `--search-levels`).
fn level(option: &str, text: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .trim_end_matches("/s")
        .parse()
        .map_err(|_| bad(option, format!("'{}' is not a number", text.trim())))?;
    if !v.is_finite() || v <= 0.0 {
        return Err(bad(
            option,
            format!("must be more than 0, got {}", text.trim()),
        ));
    }
    Ok(v)
}

/// Seconds: `20`, `2.5`, `2.5s`, `500ms`, `1m`, `1h30m`.
fn seconds(option: &str, text: &str) -> Result<f64, String> {
    let t = text.trim();
    let number = |n: &str| n.parse::<f64>().ok().filter(|v| v.is_finite());
    let v = if let Some(v) = t.strip_suffix("ms").and_then(number) {
        v / 1000.0
    } else if let Some(v) = number(t).or_else(|| t.strip_suffix('s').and_then(number)) {
        v
    } else {
        crate::cli::timespan::parse_timespan(t)
            .map(|s| s as f64)
            .map_err(|_| {
                bad(
                    option,
                    format!("'{t}' is not a time span (e.g. 20s, 1m, 2.5s)"),
                )
            })?
    };
    if v <= 0.0 {
        return Err(bad(option, format!("must be more than 0, got {t}")));
    }
    Ok(v)
}

/// A ratio in (0, 1): `0.05` or `5%`.
fn precision(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (n, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    let v = n
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v * scale)
        .ok_or_else(|| bad("--search-precision", format!("'{t}' is not a number")))?;
    if v <= 0.0 || v >= 1.0 {
        return Err(bad(
            "--search-precision",
            format!("must be between 0 and 1 (e.g. 0.05 or 5%), got {t}"),
        ));
    }
    Ok(v)
}

/// The options that only a search reads, with their flags.
const SETTINGS: [(&str, &str); 9] = [
    ("slo", "--slo"),
    ("search_start", "--search-start"),
    ("search_max", "--search-max"),
    ("search_probe_time", "--search-probe-time"),
    ("search_warmup", "--search-warmup"),
    ("search_precision", "--search-precision"),
    ("search_budget", "--search-budget"),
    ("search_levels", "--search-levels"),
    ("search_gate", "--search-gate"),
];

/// The search the command line asks for (`None`: none), or the line that refuses it. `load_shape` and
/// `arrival_shape` name the locustfile's LoadTestShape and ArrivalRateShape, if any.
pub fn spec(
    options: &Options,
    load_shape: Option<&str>,
    arrival_shape: Option<&str>,
) -> Result<Option<Spec>, String> {
    let given = |dest: &str| options.given.contains(dest);
    if !given("search") {
        if let Some((_, flag)) = SETTINGS.iter().find(|(d, _)| given(d)) {
            return Err(format!(
                "rlocust: {flag} applies to a capacity search: give --search too"
            ));
        }
        return Ok(None);
    }
    let mode = match options.search.as_slice() {
        [] => Mode::ArrivalRate,
        [one] if one.trim() == "arrival-rate" => Mode::ArrivalRate,
        [one] if one.trim() == "users" => Mode::Users,
        [one] => {
            return Err(bad(
                "--search",
                format!("unknown mode '{one}' (arrival-rate or users)"),
            ));
        }
        many => {
            return Err(bad(
                "--search",
                format!(
                    "one mode (arrival-rate or users), got '{}' (user classes go before --search)",
                    many.join(" ")
                ),
            ));
        }
    };
    if options.worker {
        return Err(
            "rlocust: --search is the master's: a worker follows its master (give --search to the master)"
                .into(),
        );
    }
    if !options.headless && !options.autostart {
        return Err(
            "rlocust: --search runs with --headless (or --autostart): it starts the test itself"
                .into(),
        );
    }
    for (dest, flag) in [
        ("num_users", "-u/--users"),
        ("arrival_rate", "--arrival-rate"),
        ("arrival_stages", "--arrival-stages"),
        ("arrival_trace", "--arrival-trace"),
        ("iterations", "-i/--iterations"),
    ] {
        if given(dest) {
            return Err(format!(
                "rlocust: --search cannot be used with {flag}: the search sets the load, level by level"
            ));
        }
    }
    if let Some(name) = load_shape {
        return Err(format!(
            "rlocust: --search cannot run with the locustfile's LoadTestShape {name}, which sets the load itself: keep one"
        ));
    }
    if let Some(name) = arrival_shape {
        return Err(format!(
            "rlocust: --search cannot run with the locustfile's ArrivalRateShape {name}, which sets the arrival rate itself: keep one"
        ));
    }
    let slo_text = options
        .slo
        .clone()
        .ok_or("rlocust: --search needs --slo RULES (the service level each probe must meet, e.g. 'p95<200; fail_ratio<0.01')")?;
    let slo = thresholds::parse_rules(&slo_text, "--slo")?;
    if slo.is_empty() {
        return Err(bad("--slo", "no rule"));
    }
    if let Some(r) = slo.iter().find(|r| r.abort_after.is_some()) {
        return Err(bad(
            "--slo",
            format!(
                "'{}': abort has no meaning in an SLO (a probe that breaches it fails)",
                r.text
            ),
        ));
    }
    if mode == Mode::Users {
        for (dest, flag) in [
            ("arrival_max_users", "--arrival-max-users"),
            ("arrival_initial_users", "--arrival-initial-users"),
        ] {
            if given(dest) {
                return Err(format!(
                    "rlocust: {flag} applies to --search arrival-rate, not to --search users (-r is the spawn rate)"
                ));
            }
        }
        if let Some(r) = slo.iter().find(|r| r.metric.is_open()) {
            return Err(bad(
                "--slo",
                format!(
                    "'{}' is about arrivals: only --search arrival-rate has them",
                    r.text
                ),
            ));
        }
    } else if given("spawn_rate") {
        return Err(
            "rlocust: --search arrival-rate cannot be used with -r/--spawn-rate: the arrival rate starts users as needed, up to --arrival-max-users"
                .into(),
        );
    }
    let start = match &options.search_start {
        Some(t) => level("--search-start", t)?,
        None => DEFAULT_START,
    };
    let max = match &options.search_max {
        Some(t) => Some(level("--search-max", t)?),
        None => None,
    };
    if let Some(m) = max
        && start > m
    {
        return Err(format!(
            "rlocust: --search-start ({start}) is above --search-max ({m})"
        ));
    }
    let probe_time = match &options.search_probe_time {
        Some(t) => seconds("--search-probe-time", t)?,
        None => DEFAULT_PROBE_TIME,
    };
    let warmup = match &options.search_warmup {
        Some(t) => seconds("--search-warmup", t)?,
        None => DEFAULT_WARMUP,
    };
    let precision = match &options.search_precision {
        Some(t) => precision(t)?,
        None => DEFAULT_PRECISION,
    };
    let max_probes = match options.search_budget {
        Some(n) if n >= 2 => n.min(u32::MAX as i64) as u32,
        Some(n) => {
            return Err(format!(
                "rlocust: --search-budget must be at least 2 (a level and its confirmation), got {n}"
            ));
        }
        None => DEFAULT_BUDGET,
    };
    let levels = match &options.search_levels {
        Some(t) => {
            let mut out = Vec::new();
            for part in t.split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let v = level("--search-levels", part)?;
                if out.last().is_some_and(|l| *l >= v) {
                    return Err(bad(
                        "--search-levels",
                        format!("levels must increase, got '{t}'"),
                    ));
                }
                out.push(v);
            }
            if out.is_empty() {
                return Err(bad("--search-levels", "no level (e.g. 50,100,200,400)"));
            }
            Some(out)
        }
        None => None,
    };
    let gate = match &options.search_gate {
        Some(t) => Some(level("--search-gate", t)?),
        None => None,
    };
    let max_users = match mode {
        Mode::ArrivalRate => match options.max_users {
            Some(n) if n > 0 => n as u64,
            Some(n) => {
                return Err(format!(
                    "rlocust: --arrival-max-users must be at least 1, got {n}"
                ));
            }
            None => {
                return Err(
                    "rlocust: --search arrival-rate needs --arrival-max-users (the most users that may run iterations at the same time)"
                        .into(),
                );
            }
        },
        Mode::Users => 0,
    };
    if mode == Mode::ArrivalRate
        && let Some(n) = options.initial_users
        && (n < 0 || n as u64 > max_users)
    {
        return Err(format!(
            "rlocust: --arrival-initial-users must be between 0 and --arrival-max-users ({max_users}), got {n}"
        ));
    }
    Ok(Some(Spec {
        mode,
        slo_text,
        slo,
        start,
        max,
        probe_time,
        warmup,
        precision,
        max_probes,
        levels,
        max_users,
        spawn_rate: options.spawn_rate_or_default(),
        gate,
    }))
}

/// The form's fields that set a search, with the option each stands for (`POST /swarm`, webui/README.md).
const FORM_FIELDS: [(&str, &str); 8] = [
    ("slo", "slo"),
    ("search_start", "search_start"),
    ("search_max", "search_max"),
    ("search_probe_time", "search_probe_time"),
    ("search_warmup", "search_warmup"),
    ("search_precision", "search_precision"),
    ("search_levels", "search_levels"),
    ("search_gate", "search_gate"),
];

/// The search the web UI's start form asks for (`field` reads a posted field; `search` empty or absent: none),
/// checked by the same rules as the command line's: the run's options with the form's fields in place of the
/// load it would otherwise start (`-u`, the arrival rate), and started by the form itself. With the spec, the users
/// an arrival-rate search starts first (the form's `arrival_initial_users`, else the command line's), as checked.
pub fn spec_from_form(
    options: &Options,
    field: &dyn Fn(&str) -> Option<String>,
    load_shape: Option<&str>,
    arrival_shape: Option<&str>,
) -> Result<Option<(Spec, u64)>, String> {
    let filled = |name: &str| {
        field(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let Some(mode) = filled("search") else {
        return Ok(None);
    };
    let mut o = options.clone();
    o.headless = true;
    for dest in [
        "num_users",
        "arrival_rate",
        "arrival_stages",
        "iterations",
        "spawn_rate",
        "arrival_max_users",
        "arrival_initial_users",
    ]
    .into_iter()
    .chain(SETTINGS.iter().map(|(d, _)| *d))
    {
        o.given.remove(dest);
    }
    o.given.insert("search".into());
    o.search = vec![mode];
    o.slo = None;
    o.search_start = None;
    o.search_max = None;
    o.search_probe_time = None;
    o.search_warmup = None;
    o.search_precision = None;
    o.search_levels = None;
    o.search_gate = None;
    o.search_budget = None;
    for (name, dest) in FORM_FIELDS {
        let Some(v) = filled(name) else { continue };
        o.given.insert(dest.into());
        let slot = match dest {
            "slo" => &mut o.slo,
            "search_start" => &mut o.search_start,
            "search_max" => &mut o.search_max,
            "search_probe_time" => &mut o.search_probe_time,
            "search_warmup" => &mut o.search_warmup,
            "search_precision" => &mut o.search_precision,
            "search_levels" => &mut o.search_levels,
            _ => &mut o.search_gate,
        };
        *slot = Some(v);
    }
    let whole = |name: &str, dest: &str, o: &mut Options| -> Result<Option<i64>, String> {
        let Some(v) = filled(name) else {
            return Ok(None);
        };
        o.given.insert(dest.into());
        v.parse::<i64>()
            .map(Some)
            .map_err(|_| format!("rlocust: {name}: '{v}' is not a whole number"))
    };
    o.search_budget = whole("search_budget", "search_budget", &mut o)?;
    o.max_users = whole("arrival_max_users", "arrival_max_users", &mut o)?;
    o.initial_users = whole("arrival_initial_users", "arrival_initial_users", &mut o)?;
    if let Some(v) = filled("spawn_rate") {
        o.given.insert("spawn_rate".into());
        o.spawn_rate = Some(
            v.parse::<f64>()
                .map_err(|_| format!("rlocust: spawn_rate: '{v}' is not a number"))?,
        );
    }
    let initial = match o.initial_users {
        Some(n) if n > 0 => n as u64,
        _ => 0,
    };
    Ok(spec(&o, load_shape, arrival_shape)?.map(|s| (s, initial)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Spec>, String> {
        let mut argv: Vec<String> = vec!["rlocust".into(), "--headless".into()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let env = crate::cli::Env::default();
        let parsed = crate::cli::parse(&argv, &env, &[]).map_err(|e| format!("{e:?}"))?;
        spec(&parsed.options, None, None)
    }

    #[test]
    fn a_search_is_read_with_its_defaults() {
        let s = parse(&["--search", "--slo", "p95<100", "--arrival-max-users", "50"])
            .unwrap()
            .unwrap();
        assert_eq!(s.mode, Mode::ArrivalRate);
        assert_eq!(
            (
                s.start,
                s.max,
                s.probe_time,
                s.warmup,
                s.precision,
                s.max_probes
            ),
            (10.0, None, 20.0, 5.0, 0.05, 15)
        );
        assert_eq!(s.max_users, 50);
        let s = parse(&[
            "--search",
            "users",
            "--slo",
            "p95<100",
            "--search-start",
            "4",
            "--search-max",
            "64",
            "--search-precision",
            "2%",
            "--search-probe-time",
            "2.5s",
            "--search-warmup",
            "500ms",
            "--search-levels",
            "4, 8,16",
            "--search-gate",
            "8",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(s.mode, Mode::Users);
        assert_eq!((s.start, s.max, s.precision), (4.0, Some(64.0), 0.02));
        assert_eq!((s.probe_time, s.warmup), (2.5, 0.5));
        assert_eq!(s.levels, Some(vec![4.0, 8.0, 16.0]));
        assert_eq!(s.gate, Some(8.0));
        assert_eq!(parse(&[]).unwrap(), None);
    }

    #[test]
    fn bad_searches_are_refused_naming_the_option() {
        let base = ["--slo", "p95<100", "--arrival-max-users", "50"];
        let refused = |extra: &[&str], with_base: bool, says: &str| {
            let mut args: Vec<&str> = vec!["--search"];
            if with_base {
                args.extend(base);
            }
            args.extend(extra);
            let e = parse(&args).expect_err(&format!("{args:?} refused"));
            assert!(e.contains(says), "{args:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        };
        refused(&[], false, "--search needs --slo");
        refused(
            &["--slo", "p95<<1", "--arrival-max-users", "5"],
            false,
            "--slo: 'p95<<1'",
        );
        refused(&["--search-start", "0"], true, "--search-start");
        refused(&["--search-start", "-3"], true, "--search-start");
        refused(
            &["--search-start", "50", "--search-max", "20"],
            true,
            "above --search-max",
        );
        refused(&["--search-max", "0"], true, "--search-max");
        refused(&["--search-precision", "0"], true, "--search-precision");
        refused(&["--search-precision", "1"], true, "--search-precision");
        refused(&["--search-precision", "150%"], true, "--search-precision");
        refused(&["--search-budget", "1"], true, "--search-budget");
        refused(&["--search-levels", ","], true, "--search-levels");
        refused(&["--search-levels", "10,0"], true, "--search-levels");
        refused(&["--search-levels", "10,5"], true, "must increase");
        refused(&["--search-levels", "10,x"], true, "--search-levels");
        refused(&["-u", "5"], true, "-u/--users");
        refused(&["--arrival-rate", "5"], true, "--arrival-rate");
        refused(&["--arrival-stages", "1s:5"], true, "--arrival-stages");
        refused(&["-i", "5"], true, "-i/--iterations");
        refused(&["-r", "5"], true, "-r/--spawn-rate");
        refused(
            &["--search-probe-time", "soon"],
            true,
            "--search-probe-time",
        );
        refused(&["--slo", "p95<100 abort"], true, "abort");
        let e = parse(&["--search", "fastest", "--slo", "p95<1"]).unwrap_err();
        assert!(e.contains("unknown mode 'fastest'"), "{e}");
        let e = parse(&[
            "--search",
            "users",
            "--slo",
            "p95<1",
            "--arrival-max-users",
            "4",
        ])
        .unwrap_err();
        assert!(
            e.contains("--arrival-max-users applies to --search arrival-rate"),
            "{e}"
        );
        let e = parse(&["--search", "users", "--slo", "dropped<1"]).unwrap_err();
        assert!(e.contains("about arrivals"), "{e}");
        let e = parse(&["--search", "--slo", "p95<1"]).unwrap_err();
        assert!(e.contains("needs --arrival-max-users"), "{e}");
        let e = parse(&["--slo", "p95<1"]).unwrap_err();
        assert!(e.contains("--slo applies to a capacity search"), "{e}");
        let e = parse(&["--search-gate", "5"]).unwrap_err();
        assert!(e.contains("--search-gate applies"), "{e}");
    }
}
