//! The capacity search as a task: sets each level through the runner's own controls, waits out the warm-up,
//! measures the probe's window, judges it (`judge`), publishes the outcome to the [`Handle`] and asks the state
//! machine (`machine`) for the next level, until the search ends; then ends the run (headless: a quit, which goes
//! through the run's one end that writes every output) or stops the test.
//!
//! A level: arrival-rate sends `Control::StartOpen` with a constant rate (a running open test changes its rate);
//! users sends `Control::Start` (a running test ramps to the new count) and waits until the ramp is done before the
//! warm-up. On a master the same controls go to the workers (each its share of the rate, or of the users) and the
//! readings are the merged exact ones; `--processes N` is a master too.
//!
//! Draining: before a level below the last one probed (after a failing or undecided probe), an arrival-rate search
//! sets the rate to 0.01/s and waits until no user is running an iteration and no request is in flight (at most
//! `max(10 s, probe time)`), so the next window does not inherit the failed level's backlog. A users search does not
//! drain: lowering the user count bounds the backlog, and the warm-up absorbs what is left.
//!
//! The window is checked once a second for a certain breach (`judge::certain_breach`: the probe then ends early) and
//! for the run ending: Ctrl+C, SIGTERM, `-t` (the run time bounds the whole search), a quit or a stop end the
//! search with the probe in progress recorded as interrupted (`Handle::interrupt`, also called by the run's end, so
//! the final files have it whichever notices first).
//!
//! Who calls it: `app::session` (headless `--search`), later the web UI's start form. What it must not do: touch
//! Python, format output files, or know about the CLI (everything comes in [`Drive`]).
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::judge::{self, Signals};
use super::machine::{self, Next};
use super::{End, Handle, Mode, Outcome, Pending, Probe, Spec, Verdict};
use crate::log;
use crate::runner::open::{OpenPlan, schedule::Schedule};
use crate::runner::readings::Readings;
use crate::runner::{Context, Control, EndCause, Shared, State};

/// The rate an arrival-rate search drains at (a constant rate of 0 would end the open test's schedule).
const DRAIN_RATE: f64 = 0.01;
/// How often the window is checked.
const TICK: Duration = Duration::from_secs(1);

/// Reads the highest CPU percent of a master's workers (from their heartbeats).
pub type WorkersCpu = Arc<dyn Fn() -> f64 + Send + Sync>;

/// What a search runs with.
pub struct Drive {
    pub spec: Spec,
    /// Arrival-rate: users started before the first arrival (`--arrival-initial-users`).
    pub initial_users: u64,
    /// A master: its workers' CPU.
    pub workers_cpu: Option<WorkersCpu>,
    /// End the run when the search ends (headless); else only stop the test.
    pub quit_at_end: bool,
}

/// Start the search on `rt` once `ready` resolves (a master: its workers are there). The task's result is the
/// final outcome (also published to `handle`).
pub fn spawn(
    rt: &tokio::runtime::Handle,
    drive: Drive,
    shared: Arc<Shared>,
    ctx: Arc<Context>,
    handle: Handle,
    ready: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<Outcome> {
    handle.begin(Outcome::new(drive.spec.clone(), crate::stats::unix_now()));
    rt.spawn(async move {
        tokio::select! {
            _ = ready => {}
            _ = ended(&shared) => {
                return finish_interrupted(&handle, &ctx);
            }
        }
        run(drive, shared, ctx, handle).await
    })
}

/// Resolves when the run is ending (or, once a test ran, stopped).
async fn ended(shared: &Shared) {
    loop {
        if shared.is_quitting() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn finish_interrupted(handle: &Handle, ctx: &Context) -> Outcome {
    let now = ctx.readings();
    if let Some(ended) = handle.interrupt(&now) {
        log_interrupted(&ended);
    }
    handle.outcome().expect("the search published its outcome")
}

/// The lines of a search an interruption ended: the probe it cut short, if any, and the headline.
pub fn log_interrupted(o: &Outcome) {
    if let Some(p) = o
        .probes
        .last()
        .filter(|p| p.verdict == Verdict::Interrupted)
    {
        log::info("rlocust.search", &probe_line(&o.spec, p));
    }
    log::info("rlocust.search", &headline(o));
}

/// The search is over when the run quits, or when the test was stopped (the web UI's stop) after it started.
fn interrupted(shared: &Shared, started: bool) -> bool {
    shared.is_quitting()
        || (started
            && matches!(
                shared.state(),
                State::Stopped | State::Stopping | State::Cleanup
            ))
}

fn signals(shared: &Shared, drive: &Drive) -> Signals {
    Signals {
        monitor_cpu_percent: shared.usage().0,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64,
        workers_cpu_percent: drive.workers_cpu.as_ref().map(|f| f()),
        users: shared.user_count(),
    }
}

fn set_level(shared: &Shared, drive: &Drive, level: f64) {
    match drive.spec.mode {
        Mode::ArrivalRate => shared.send(Control::StartOpen(OpenPlan {
            schedule: Schedule::constant(level),
            max_users: drive.spec.max_users,
            initial_users: drive.initial_users,
        })),
        Mode::Users => shared.send(Control::Start {
            users: level as u64,
            spawn_rate: drive.spec.spawn_rate,
            classes: None,
        }),
    }
}

/// Sleep `secs`, waking every tick to see whether the run is ending: false when it is.
async fn wait(shared: &Shared, secs: f64, started: bool) -> bool {
    let until = tokio::time::Instant::now() + Duration::from_secs_f64(secs.max(0.0));
    loop {
        if interrupted(shared, started) {
            return false;
        }
        let now = tokio::time::Instant::now();
        if now >= until {
            return true;
        }
        tokio::time::sleep((until - now).min(Duration::from_millis(200))).await;
    }
}

/// Arrival-rate: a trickle until no iteration runs and nothing is in flight (bounded). False: the run is ending.
async fn drain(shared: &Shared, drive: &Drive, ctx: &Context) -> bool {
    set_level(shared, drive, DRAIN_RATE);
    let bound = drive.spec.probe_time.max(10.0);
    let until = tokio::time::Instant::now() + Duration::from_secs_f64(bound);
    loop {
        if interrupted(shared, true) {
            return false;
        }
        let r = ctx.readings();
        if r.open.gauges.busy == 0 && r.in_flight.now == 0 {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            log::info(
                "rlocust.search",
                &format!(
                    "Search: {} iterations still running after {bound:.0} s of draining; the next probe starts anyway",
                    r.open.gauges.busy
                ),
            );
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Users: until the ramp to the level is done (bounded by the time the spawn rate needs, plus 10 s).
async fn ramped(shared: &Shared, drive: &Drive, level: f64, from: f64) -> bool {
    let need = (level - from).abs() / drive.spec.spawn_rate.max(1e-9) + 10.0;
    let until = tokio::time::Instant::now() + Duration::from_secs_f64(need);
    loop {
        if interrupted(shared, true) {
            return false;
        }
        if shared.state() == State::Running && shared.user_count() as f64 == level {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn unit_of(mode: Mode, level: f64) -> String {
    match mode {
        Mode::ArrivalRate => format!("{}/s", short(level)),
        Mode::Users => format!("{} users", short(level)),
    }
}

/// A level without needless decimals: 320, 327.5, 0.01.
fn short(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// `Search probe 3: 320/s pass (p95 26 ms, 319.8/s achieved)`.
pub fn probe_line(spec: &Spec, p: &Probe) -> String {
    let mut line = format!(
        "Search probe {}: {} {}",
        p.index,
        unit_of(spec.mode, p.offered),
        p.verdict.as_str()
    );
    if let Some(b) = &p.bound_by {
        line.push_str(&format!(": {b}"));
    }
    let achieved = match spec.mode {
        Mode::ArrivalRate => format!("{:.1}/s achieved", p.achieved),
        Mode::Users => format!("{:.1}/s", p.throughput),
    };
    line.push_str(&format!(" (p95 {:.0} ms, {achieved}", p.p95));
    if p.dropped > 0 {
        line.push_str(&format!(", {} dropped", p.dropped));
    }
    if p.extended {
        line.push_str(", extended");
    }
    if p.ended_early {
        line.push_str(", ended early");
    }
    line.push(')');
    if p.verdict == Verdict::GeneratorBound {
        line.push_str(
            ": the generator is the limit here, not the service (use --processes N or more workers)",
        );
    }
    line
}

/// `Search ended (converged): capacity 320/s, first failing 336/s (p95<50)`.
pub fn headline(o: &Outcome) -> String {
    let mode = o.spec.mode;
    let capacity = match o.capacity {
        Some(c) => format!("capacity {}", unit_of(mode, c)),
        None => "no level passed".to_string(),
    };
    let mut line = format!("Search ended ({}): {capacity}", o.end.as_str());
    if let Some(f) = o.first_failing_probe() {
        line.push_str(&format!(", first failing {}", unit_of(mode, f.offered)));
        if let Some(b) = &f.bound_by {
            line.push_str(&format!(" ({b})"));
        }
    }
    match o.end {
        End::NothingPassed => line.push_str(": lower --search-start"),
        End::ReachedMax => line.push_str(": at least --search-max"),
        End::GeneratorBound => {
            line.push_str(": the generator was the limit (use --processes N or more workers)")
        }
        _ => {}
    }
    if let Some(g) = o.spec.gate {
        line.push_str(&format!(
            "; --search-gate {}: {}",
            short(g),
            if o.below_gate() { "failed" } else { "passed" }
        ));
    }
    line
}

/// Measure one level; `None`: the run is ending (the probe in progress was recorded as interrupted).
async fn probe(
    drive: &Drive,
    shared: &Shared,
    ctx: &Context,
    handle: &Handle,
    index: u32,
    level: f64,
    previous: Option<f64>,
) -> Option<Probe> {
    let spec = &drive.spec;
    let lower = previous.is_some_and(|p| level < p);
    if lower && spec.mode == Mode::ArrivalRate && !drain(shared, drive, ctx).await {
        return None;
    }
    let level_start = ctx.readings();
    handle.set_pending(Some(Pending {
        index,
        offered: level,
        since: level_start,
        signals: signals(shared, drive),
    }));
    set_level(shared, drive, level);
    if spec.mode == Mode::Users && !ramped(shared, drive, level, previous.unwrap_or(0.0)).await {
        return None;
    }
    if !wait(shared, spec.warmup, true).await {
        return None;
    }
    let start: Readings = ctx.readings();
    handle.set_pending(Some(Pending {
        index,
        offered: level,
        since: start.clone(),
        signals: signals(shared, drive),
    }));
    let mut length = spec.probe_time;
    let mut extended = false;
    let began = tokio::time::Instant::now();
    loop {
        let until = began + Duration::from_secs_f64(length);
        let mut early = false;
        loop {
            if interrupted(shared, true) {
                return None;
            }
            let now = tokio::time::Instant::now();
            if now >= until {
                break;
            }
            tokio::time::sleep((until - now).min(TICK)).await;
            let elapsed = began.elapsed().as_secs_f64();
            if elapsed < length {
                let w = ctx.readings().since(&start);
                if judge::certain_breach(spec, &w, elapsed).is_some() {
                    early = true;
                    break;
                }
            }
        }
        let w = ctx.readings().since(&start);
        let mut j = judge::judge(spec, level, &w, &signals(shared, drive));
        if !early && !extended && j.probe.verdict == Verdict::Undecided {
            // a percentile straddles its limit: once more, judged on the whole longer window
            extended = true;
            length += spec.probe_time;
            continue;
        }
        j.probe.index = index;
        j.probe.extended = extended;
        j.probe.ended_early = early;
        handle.set_pending(None);
        return Some(j.probe);
    }
}

fn publish(handle: &Handle, outcome: &mut Outcome) {
    let (capacity, first_failing) = machine::result(&outcome.probes);
    outcome.capacity = capacity;
    outcome.first_failing = first_failing;
    handle.publish(outcome.clone());
}

async fn run(drive: Drive, shared: Arc<Shared>, ctx: Arc<Context>, handle: Handle) -> Outcome {
    let spec = drive.spec.clone();
    let mut outcome = handle
        .outcome()
        .unwrap_or_else(|| Outcome::new(spec.clone(), crate::stats::unix_now()));
    outcome.started_at = crate::stats::unix_now();
    log::info(
        "rlocust.search",
        &format!(
            "Searching the capacity ({}) under '{}': from {}, probes of {} s after {} s of warm-up",
            spec.mode.as_str(),
            spec.slo_text,
            unit_of(spec.mode, spec.levels.as_ref().map_or(spec.start, |l| l[0])),
            short(spec.probe_time),
            short(spec.warmup)
        ),
    );
    let end = loop {
        let level = match machine::next(&spec, &outcome.probes) {
            Next::Probe(l) => l,
            Next::Done(end) => break end,
        };
        outcome.current = Some(level);
        publish(&handle, &mut outcome);
        let index = outcome.probes.len() as u32 + 1;
        let previous = outcome.probes.last().map(|p| p.offered);
        match probe(&drive, &shared, &ctx, &handle, index, level, previous).await {
            Some(p) => {
                log::info("rlocust.search", &probe_line(&spec, &p));
                outcome.probes.push(p);
                outcome.current = None;
                publish(&handle, &mut outcome);
            }
            None => return finish_interrupted(&handle, &ctx),
        }
    };
    outcome.current = None;
    outcome.end = end;
    outcome.ended_at = Some(crate::stats::unix_now());
    publish(&handle, &mut outcome);
    let outcome = handle.outcome().unwrap_or(outcome);
    log::info("rlocust.search", &headline(&outcome));
    if outcome.end != End::Interrupted {
        if drive.quit_at_end {
            shared.end_because(EndCause::Search);
            shared.send(Control::Quit);
        } else {
            shared.send(Control::Stop);
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_the_level_verdict_and_bound() {
        let spec = Spec {
            slo_text: "p95<50".into(),
            gate: Some(400.0),
            ..super::super::machine::tests::spec()
        };
        let mut p = super::super::machine::tests::probe(3, 320.0, Verdict::Pass);
        p.p95 = 26.2;
        p.achieved = 319.8;
        assert_eq!(
            probe_line(&spec, &p),
            "Search probe 3: 320/s pass (p95 26 ms, 319.8/s achieved)"
        );
        let mut f = super::super::machine::tests::probe(4, 640.0, Verdict::Fail);
        f.bound_by = Some("p95<50".into());
        f.p95 = 120.0;
        f.achieved = 600.0;
        f.ended_early = true;
        assert_eq!(
            probe_line(&spec, &f),
            "Search probe 4: 640/s fail: p95<50 (p95 120 ms, 600.0/s achieved, ended early)"
        );
        let mut o = Outcome::new(spec, 0.0);
        o.probes = vec![p, f];
        o.capacity = Some(320.0);
        o.first_failing = Some(1);
        o.end = End::Converged;
        assert_eq!(
            headline(&o),
            "Search ended (converged): capacity 320/s, first failing 640/s (p95<50); --search-gate 400: failed"
        );
    }
}
