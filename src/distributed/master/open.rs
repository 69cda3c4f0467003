//! A master's open workload (issue 31): the arrival rate split over its rlocust workers, as it splits users.
//!
//! Each worker gets a share `(index, count)` of the whole arrival sequence (`runner::open::schedule`), a part of
//! the maximum and initial users, and where the schedule is (`distributed::open_wire`), in a `spawn` of its own; the
//! workers run their clocks and report their counts with their stats, which are summed here
//! (`runner::open::tally`). Workers that join, come back or leave while it runs are handled by the master's usual
//! re-dispatch (the dispatcher is kept for its bookkeeping only), which lands in [`Master::open_reshare`]: every
//! worker whose share changed gets a new `spawn`.
//!
//! A real Locust worker cannot run an arrival rate: its heartbeats lack rlocust's key, and it is refused (one
//! error line each, no share); a test with no rlocust worker does not start.
//!
//! Who calls it: `distributed::master` (its start, controls, heartbeats, reports and stop). Never touches Python.
use super::{Master, Priority, Value, WorkerDispatcher, kind};
use crate::bridge::Arg;
use crate::distributed::open_wire;
use crate::log;
use crate::msgpack::Message;
use crate::runner::open::{self, Assignment, OpenPlan, tally};
use crate::runner::{self, Control, State};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How far ahead of a distributed replay's start its time 0 is (the same instant for every worker).
const TRACE_LEAD: Duration = Duration::from_secs(1);

/// What the master knows of the open workload and of its workers' kinds.
#[derive(Default)]
pub(super) struct OpenState {
    /// Workers whose heartbeats carry rlocust's key.
    rlocust: HashSet<String>,
    /// Workers heard without it (Locust workers), each refused once.
    locust: HashSet<String>,
    run: Option<Run>,
}

struct Run {
    plan: OpenPlan,
    origin: Instant,
    /// The last assignment sent to each worker.
    sent: HashMap<String, Assignment>,
    /// The history sampler and the end of the stages.
    tasks: Vec<tokio::task::AbortHandle>,
}

impl OpenState {
    pub(super) fn running(&self) -> bool {
        self.run.is_some()
    }
}

impl Master {
    /// A worker's heartbeat: is it an rlocust worker? A Locust worker is refused when an open workload is planned.
    pub(super) fn open_heard(&mut self, id: &str, data: &Value) {
        if data.get(open_wire::HEARTBEAT_KEY).is_some() {
            if !self.open.rlocust.contains(id) {
                self.open.rlocust.insert(id.to_owned());
                if self.open.running() {
                    self.redispatch_soon();
                }
            }
        } else if !self.open.locust.contains(id) {
            self.open.locust.insert(id.to_owned());
            if self.plan.open.is_some() || self.open.running() {
                self.refuse_locust_worker(id);
            }
        }
    }

    fn refuse_locust_worker(&self, id: &str) {
        log::log(
            log::Level::Error,
            "locust.runners",
            &format!(
                "Worker {id} is a Locust worker: an arrival rate (open workload) runs on rlocust workers only, so it gets no share of it"
            ),
        );
    }

    /// A worker's `stats` report: its arrivals, summed into the master's tally.
    pub(super) fn open_report(&mut self, id: &str, data: &Value) {
        if let Some(delta) = data.get("arrivals").and_then(open_wire::decode_delta) {
            tally().merge(id, &delta, crate::stats::unix_now());
        }
    }

    /// The active rlocust workers, in id order (their shares' order).
    fn open_workers(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .roster
            .iter()
            .filter(|w| w.state().active() && self.open.rlocust.contains(&*w.id))
            .map(|w| w.id.to_string())
            .collect();
        ids.sort();
        ids
    }

    /// Start an open workload over the workers (or change the running one: a new schedule from now).
    pub(super) async fn start_open(&mut self, plan: OpenPlan) {
        if let Some(run) = self.open.run.as_mut() {
            log::info(
                "locust.runners",
                &open::describe(&plan).replacen("Starting", "Changing to", 1),
            );
            run.plan = plan;
            run.origin = Instant::now();
            tally().set_rate(&run.plan.schedule, run.origin, 1.0);
            self.shared.set_target_user_count(run.plan.max_users);
            self.open_reshare().await;
            return;
        }
        if matches!(self.shared.state(), State::Running | State::Spawning) {
            log::log(
                log::Level::Error,
                "locust.runners",
                "A closed-model test (users) is running: stop it before starting an arrival rate",
            );
            return;
        }
        for id in self
            .roster
            .iter()
            .map(|w| w.id.to_string())
            .collect::<Vec<_>>()
        {
            if self.open.locust.contains(&id) {
                self.refuse_locust_worker(&id);
            }
        }
        let workers = self.open_workers();
        if workers.is_empty() {
            log::warning(
                "locust.runners",
                "You can't start an arrival rate before at least one rlocust worker has connected",
            );
            return;
        }
        self.started = true;
        self.spawning_completed = false;
        self.stats.clear_all(log::now());
        self.stats.clear_exceptions();
        tally().clear(false, crate::stats::unix_now());
        for w in self.roster.iter_mut() {
            w.spawned = None;
        }
        runner::fire(&self.bridge, "test_start", vec![]).await;
        self.shared.set_state(State::Spawning);
        self.shared.set_target_user_count(plan.max_users);
        log::info(
            "locust.runners",
            &format!(
                "{} over {} workers",
                open::describe(&plan),
                workers.len().min(plan.max_users as usize)
            ),
        );
        let mut plan = plan;
        let mut origin = Instant::now();
        if let Some(t) = &plan.schedule.trace {
            // one time 0 for every worker: the master's clock TRACE_LEAD from now (time for the shares to arrive and
            // the workers' initial users to start)
            let mut t = (**t).clone();
            t.zero_unix = Some(crate::stats::unix_now() + TRACE_LEAD.as_secs_f64());
            plan.schedule.trace = Some(std::sync::Arc::new(t));
            origin += TRACE_LEAD;
        }
        tally().begin(&plan.schedule, 1.0, crate::stats::unix_now());
        tally().set_rate(&plan.schedule, origin, 1.0);
        // (the dispatcher only keeps the master's join/leave bookkeeping going: a change re-shares)
        let active: Vec<String> = self
            .roster
            .iter()
            .filter(|w| w.state().active())
            .map(|w| w.id.to_string())
            .collect();
        self.pending.clear();
        self.dispatcher = Some(WorkerDispatcher::new(self.plan.classes.clone(), &active));
        let mut tasks = Vec::new();
        tasks.push(
            tokio::spawn(async {
                let mut every = tokio::time::interval(Duration::from_secs_f64(
                    crate::stats::history::INTERVAL_SECS,
                ));
                every.tick().await;
                loop {
                    every.tick().await;
                    tally().sample(open::gauges(), crate::stats::unix_now());
                }
            })
            .abort_handle(),
        );
        if let Some(end) = plan.schedule.end() {
            let shared = self.shared.clone();
            let headless = self.plan.headless;
            let rows = plan.schedule.trace.as_ref().map(|t| t.rows.len() as u64);
            tasks.push(
                tokio::spawn(async move {
                    let lead = if rows.is_some() {
                        TRACE_LEAD
                    } else {
                        Duration::ZERO
                    };
                    tokio::time::sleep(Duration::from_secs_f64(end) + lead).await;
                    let what = match rows {
                        // a trace ends once the workers have reported every row started (or dropped) and
                        // no user busy: its last iterations have ended
                        Some(rows) => {
                            loop {
                                let s = open::snapshot();
                                if s.started + s.dropped >= rows && s.gauges.busy == 0 {
                                    break;
                                }
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            "Arrival trace replayed"
                        }
                        None => "Arrival stages completed",
                    };
                    if headless {
                        log::info("locust.main", &format!("{what}, shutting down"));
                        shared.send(Control::Quit);
                    } else {
                        log::info("locust.main", &format!("{what}, stopping test"));
                        shared.send(Control::Stop);
                    }
                })
                .abort_handle(),
            );
        }
        let initial = plan.initial_users;
        self.open.run = Some(Run {
            plan,
            origin,
            sent: HashMap::new(),
            tasks,
        });
        self.open_reshare().await;
        self.shared.set_state(State::Running);
        self.spawning_completed = true;
        runner::fire(
            &self.bridge,
            "spawning_complete",
            vec![("user_count".into(), Arg::Int(initial as i64))],
        )
        .await;
        let data = Value::map([("user_count", Value::from_u64(initial))]);
        for w in self.roster.iter() {
            if self.open.rlocust.contains(&*w.id) {
                Self::send_on(
                    &w.conn,
                    kind::SPAWNING_COMPLETE,
                    data.clone(),
                    &w.id,
                    Priority::Control,
                );
            }
        }
    }

    /// Send each rlocust worker its share (only those whose share changed), after joins, returns or departures.
    pub(super) async fn open_reshare(&mut self) {
        self.apply_membership();
        let workers = self.open_workers();
        let Some(run) = self.open.run.as_mut() else {
            return;
        };
        // a trace's first shares start at its row 0 (the workers' clocks start as they get them); a later share
        // (a worker joining) from where the run is
        let elapsed = if run.sent.is_empty() && run.plan.schedule.trace.is_some() {
            0.0
        } else {
            run.origin.elapsed().as_secs_f64()
        };
        let shares = open_wire::shares(&run.plan, &workers, elapsed);
        let (host, options) = self.node.spawn_info();
        let mut sent = 0;
        for (id, a) in &shares {
            let unchanged = run
                .sent
                .get(id)
                .is_some_and(|old| old.plan == a.plan && old.share == a.share);
            if unchanged {
                continue;
            }
            let data = Value::map([
                ("timestamp", Value::Float(crate::stats::unix_now())),
                ("user_classes_count", Value::Map(Vec::new())),
                ("host", host.clone().map(Value::Str).unwrap_or(Value::Nil)),
                ("stop_timeout", Value::Float(self.shared.stop_timeout())),
                ("parsed_options", options.clone()),
                ("arrival", open_wire::encode_assignment(a)),
            ]);
            if let Some(w) = self.roster.get(id) {
                w.conn
                    .send(&Message::new(kind::SPAWN, data, id), Priority::Control);
                sent += 1;
            }
        }
        let keep: HashSet<&String> = shares.iter().map(|(id, _)| id).collect();
        for gone in run.sent.keys().filter(|id| !keep.contains(id)) {
            tally().forget_worker(gone);
        }
        run.sent = shares.into_iter().collect();
        if sent > 0 {
            log::log(
                log::Level::Debug,
                "locust.runners",
                &format!(
                    "Sent arrival-rate shares to {sent} worker(s) ({} in all)",
                    run.sent.len()
                ),
            );
        }
    }

    /// The test stops: no share any more.
    pub(super) fn open_stop(&mut self) {
        if let Some(run) = self.open.run.take() {
            for t in run.tasks {
                t.abort();
            }
            tally().end(None);
        }
    }
}
