//! One test run, from the runner objects to the exit code: [`Session::prepare`] (runner, result files, the
//! `init` event; what it opens is `prepare`'s), [`Session::start`] (reporters, watchdog, runner task, the first
//! spawn), then [`Running::finish`] (the gevent hub until the runner quits) and its shutdown (`quitting`, final
//! output, `quit`), in Locust's order (reference §4.6, §5).
//!
//! Threads: called on the main thread, which runs the hub (Python) inside [`Running::finish`]; everything it
//! starts (runner, reporters, watchdog) runs on the tokio runtime of [`Services`] and never touches Python.
use super::ExitStatus;
use super::gates::Gates;
pub use super::prepare::LocalWorkers;
use super::prepare::{
    MasterConn, WorkerConn, connect_worker, log_autostart_notes, make_outputs, open_master,
    role_name, run_end, start_local_workers, web_config,
};
use super::run_end::{End, RunEnd, Said};
use super::startup::{RunnerHandle, Services, Setup};
use crate::cli::Options;
use crate::distributed::{self, worker};
use crate::interp;
use crate::log;
use crate::report::html::{Report, RunInfo};
use crate::report::{console, outputs::Outputs};
use crate::runner::Context;
use crate::runner::{self, Control, Plan, dispatch::UserClassSpec};
use crate::web;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A test that is about to run or running.
pub struct Session<'a> {
    services: Services,
    runner: RunnerHandle,
    options: &'a Options,
    setup: Setup,
    outputs: Arc<Outputs>,
    /// Tells the periodic reporters to stop.
    done: tokio::sync::watch::Sender<bool>,
    /// Set when the hub has left its loop (the watchdog stops acting then).
    hub_done: Arc<AtomicBool>,
    /// The web UI's configuration (a run without `--headless`).
    web: Option<web::WebConfig>,
    /// `--worker`: the connection to the master.
    worker: Option<WorkerConn>,
    /// `--master`: the bound socket.
    master: Option<MasterConn>,
    /// `--processes`: the local workers.
    children: Option<distributed::processes::Children>,
    /// Thresholds, the run summary and the Prometheus sources.
    gates: Arc<Gates>,
    /// The one end of the run (its verdict and final outputs), for the shutdown and the watchdog alike.
    end: Arc<RunEnd>,
}

/// What `start` decides from the options before anything starts, with Locust's lines about it.
struct Launch {
    /// `--headless` or `--autostart`: -u/-r/-t start the test (otherwise they only fill in the web UI's form).
    automatic: bool,
    users: u64,
    spawn_rate: f64,
    /// `-t`, for a run that starts by itself and has no shape, or whose shape has ended (the shim says so then).
    run_time: Option<u64>,
}

impl Launch {
    fn decide(options: &Options, setup: &Setup, is_master: bool) -> Result<Launch, ExitStatus> {
        let automatic = options.headless || options.autostart;
        let users = if automatic {
            super::startup::user_count(options)?
        } else {
            0
        };
        let spawn_rate = options.spawn_rate_or_default();
        if spawn_rate > 100.0 && !is_master {
            log::warning(
                "locust.runners",
                "Your selected spawn rate is very high (>100), and this is known to sometimes cause issues. Do you really need to ramp up that fast?",
            );
        }
        // Locust sets up -t for a shape only after the shape test has ended (the shim logs it then).
        let run_time = options
            .run_time
            .filter(|_| setup.shape != Some(false) && automatic);
        match run_time {
            // a master logs it once its workers are there
            _ if is_master => {}
            Some(t) => log::info("locust.main", &format!("Run time limit set to {t} seconds")),
            None if setup.shape.is_none() && automatic => log::info(
                "locust.main",
                "No run time limit set, use CTRL+C to interrupt",
            ),
            None => {}
        }
        Ok(Launch {
            automatic,
            users,
            spawn_rate,
            run_time,
        })
    }

    /// The local runner's first start: the open workload, or -u users at -r per second.
    fn first_start(&self, setup: &Setup) -> Control {
        match &setup.open {
            Some(open) => Control::StartOpen(open.clone()),
            None => Control::Start {
                users: self.users,
                spawn_rate: self.spawn_rate,
                classes: None,
            },
        }
    }
}

/// The user classes as the dispatch weighs them (name, weight, fixed_count).
fn class_specs(setup: &Setup) -> Vec<UserClassSpec> {
    setup
        .classes
        .iter()
        .map(|c| UserClassSpec {
            name: c.name.clone(),
            weight: c.weight,
            fixed_count: c.fixed_count,
        })
        .collect()
}

/// The user classes and the run's limits, as the runner plays them.
fn user_plan(setup: &Setup, options: &Options, run_time: Option<u64>) -> Plan {
    Plan {
        classes: class_specs(setup),
        run_time,
        reset_stats: options.reset_stats,
        headless: options.headless,
        autoquit: options.autoquit,
    }
}

/// `--master`: the master's plan: the local plan with the workers to wait for and when the search may begin.
fn master_plan(
    plan: Plan,
    launch: &Launch,
    setup: &Setup,
    options: &Options,
    search_ready: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<distributed::master::Plan, ExitStatus> {
    let automatic = launch.automatic;
    Ok(distributed::master::Plan {
        classes: plan.classes,
        auto_start: automatic.then_some((launch.users, launch.spawn_rate)),
        shape: setup.shape.is_some(),
        run_time: options.run_time.filter(|_| automatic),
        headless: options.headless,
        autoquit: options.autoquit,
        reset_stats: options.reset_stats,
        expect_workers: options.expect_workers.max(1) as u64,
        expect_workers_max_wait: options.expect_workers_max_wait,
        enable_rebalancing: options.enable_rebalancing,
        locustfiles: interp::locustfile_paths()?,
        open: setup.open.clone(),
        search_ready,
    })
}

/// `--master`: the master's task in place of the local runner (it starts the users once its workers are there);
/// answers its `done` signal and its workers' highest CPU share.
fn start_master(
    conn: MasterConn,
    services: &Services,
    shared: &Arc<runner::Shared>,
    control_rx: tokio::sync::mpsc::UnboundedReceiver<Control>,
    plan: distributed::master::Plan,
) -> (
    tokio::sync::watch::Receiver<bool>,
    crate::judge::search::driver::WorkersCpu,
) {
    let master_done = conn.link.done.subscribe();
    let node = conn.node.clone();
    let workers_cpu: crate::judge::search::driver::WorkersCpu = Arc::new(move || {
        node.workers()
            .iter()
            .map(|w| w.cpu_usage)
            .fold(0.0, f64::max)
    });
    services.rt.spawn(distributed::master::run(
        shared.clone(),
        services.bridge.clone(),
        services.run.stats.clone(),
        conn.node,
        conn.link,
        conn.custom,
        control_rx,
        plan,
    ));
    (master_done, workers_cpu)
}

/// `--search`: the capacity search drives the load from here on (it starts when `go` does).
fn start_search(
    spec: crate::judge::search::Spec,
    options: &Options,
    workers_cpu: Option<crate::judge::search::driver::WorkersCpu>,
    services: &Services,
    shared: &Arc<runner::Shared>,
    gates: &Gates,
    go: tokio::sync::oneshot::Receiver<()>,
) {
    let drive = crate::judge::search::driver::Drive {
        spec,
        initial_users: options.initial_users.unwrap_or(0).max(0) as u64,
        workers_cpu,
        quit_at_end: options.headless,
    };
    drop(crate::judge::search::driver::spawn(
        services.rt.handle(),
        drive,
        shared.clone(),
        services.run.clone(),
        gates.search.clone(),
        async move {
            // (a master that gave up waiting for its workers never starts the search)
            if go.await.is_err() {
                std::future::pending::<()>().await;
            }
        },
    ));
}

pub(crate) use crate::report::console::name_width;

impl<'a> Session<'a> {
    /// Create the runner objects and the result files, then fire `init`. An exception in an `init` listener
    /// ends the run here with exit 1 (logged already, as Locust logs it), before any user starts; the CSV files
    /// exist then (Locust opens them before `init` too) but nothing is written into them.
    pub fn prepare(
        services: Services,
        runner: RunnerHandle,
        options: &'a Options,
        mut setup: Setup,
        gates: Arc<Gates>,
        local_workers: Option<LocalWorkers>,
    ) -> Result<Session<'a>, ExitStatus> {
        interp::create_runner(role_name(options))?;
        runner::watchdog::keep_sigint_ignored();
        let worker = match options.worker {
            true => Some(connect_worker(&services, options, &runner.shared)?),
            false => None,
        };
        let master = open_master(&services, options)?;
        let children = match (&master, local_workers) {
            (Some(conn), Some(workers)) => Some(start_local_workers(conn, workers, options)?),
            _ => None,
        };
        let outputs = make_outputs(&services, options, &gates, worker.is_some())?;
        // Locust checks the base path and logs the web UI's address before `init` (it binds after)
        let web = web_config(options)?;
        log_autostart_notes(options);
        // with the web UI, `environment.web_ui` (host and port as Locust's WebUI has them) before `init`
        let web_ui = web.as_ref().map(|c| (c.host.as_str(), c.port));
        setup.classes = interp::fire_init(web_ui)?.ok_or_else(|| ExitStatus::user("", 1))?;
        gates.set_user_classes(setup.classes.iter().map(|c| c.name.clone()).collect());
        let (done, _) = tokio::sync::watch::channel(false);
        let end = run_end(&runner, &outputs, &gates, options);
        Ok(Session {
            services,
            runner,
            options,
            setup,
            outputs,
            done,
            hub_done: Arc::new(AtomicBool::new(false)),
            web,
            worker,
            master,
            children,
            gates,
            end,
        })
    }

    /// Start the reporters, the watchdog, the saturation monitor and the runner task, and (without a shape)
    /// the first ramp.
    pub fn start(self) -> Result<Running, ExitStatus> {
        if self.worker.is_some() {
            return self.start_worker();
        }
        let launch = Launch::decide(self.options, &self.setup, self.master.is_some())?;
        self.start_reporters();
        self.start_watchdog();
        let Session {
            services,
            runner,
            options,
            setup,
            outputs,
            done,
            hub_done,
            web,
            worker: _,
            master,
            children,
            gates,
            end,
        } = self;
        let node = master.as_ref().map(|conn| conn.node.clone());
        let metrics = gates.metrics_source(&runner.shared, &services.run, node.clone(), options);
        gates.start_metrics_listener(services.rt.handle(), metrics.clone(), options)?;
        gates.watch(
            services.rt.handle(),
            runner.shared.clone(),
            services.run.clone(),
            launch.automatic && options.headless,
            done.subscribe(),
        );
        // what the dashboard and the report know about the locustfile, handed over by Python once
        let info = match web.is_some() || options.html_file.is_some() {
            true => Some(Arc::new(RunInfo::new(&interp::web_info()?, options))),
            false => None,
        };
        if let Some(info) = &info {
            let shared = &runner.shared;
            attach_html_report(
                &outputs,
                options,
                &services,
                shared,
                info.clone(),
                gates.clone(),
            );
        }
        // Enter opens the web UI (Locust's prompt), from the keyboard thread
        let mut keys_browser = web.as_ref().map(|c| runner::keyboard::Browser {
            url: c.url(options.web_host_display_name.as_deref()),
            bridge: services.bridge.clone(),
        });
        if let (Some(config), Some(info)) = (web, info) {
            let state = Arc::new(web::WebState::new(
                config,
                runner.shared.clone(),
                services.run.clone(),
                node,
                services.bridge.clone(),
                options,
                info,
                metrics,
                Some(gates.clone() as Arc<dyn crate::report::html::RunContext>),
                Some(gates.search.clone()),
            ));
            // --autostart: the first page shows the state after the first spawn step, as Locust's does
            let hold = (launch.automatic && master.is_none() && setup.shape.is_none())
                .then(|| Box::pin(runner.shared.first_settled()) as web::Hold);
            web::start(state, hold).map_err(|e| ExitStatus::user(e, 1))?;
        }
        if options.class_picker {
            log::log(
                log::Level::Debug,
                "locust.main",
                "Locust is running with the UserClass Picker Enabled",
            );
        }
        let shared = runner.shared.clone();
        let plan = user_plan(&setup, options, launch.run_time);
        // `--search`: the search sets the load level by level instead of the first start (on a master, once the
        // workers are there)
        let search = gates.search_spec.clone().filter(|_| launch.automatic);
        let (search_ready, search_go) = tokio::sync::oneshot::channel::<()>();
        let mut search_ready = Some(search_ready);
        let (master_done, workers_cpu) = match master {
            Some(conn) => {
                let ready = search_ready.take().filter(|_| search.is_some());
                let plan = master_plan(plan, &launch, &setup, options, ready)?;
                let (done, cpu) = start_master(conn, &services, &shared, runner.control_rx, plan);
                if setup.shape.is_none() {
                    runner::keyboard::start(shared.clone(), keys_browser.take());
                }
                (Some(done), Some(cpu))
            }
            None => {
                let (bridge, stats) = (services.bridge.clone(), services.run.stats.clone());
                services.rt.spawn(runner::run(
                    shared.clone(),
                    bridge,
                    stats,
                    plan,
                    runner.control_rx,
                ));
                if setup.shape.is_none() {
                    // (Locust starts its input listener after the run, but it runs first: its DEBUG line precedes
                    // test_start; with a shape, Locust's main waits for the shape and the keys are never read)
                    runner::keyboard::start(shared.clone(), keys_browser.take());
                    if launch.automatic && search.is_none() {
                        shared.send(launch.first_start(&setup));
                    }
                }
                (None, None)
            }
        };
        if let Some(spec) = search {
            if let Some(ready) = search_ready.take() {
                // a local run is ready at once
                let _ = ready.send(());
            }
            start_search(
                spec,
                options,
                workers_cpu,
                &services,
                &shared,
                &gates,
                search_go,
            );
        }
        Ok(Running {
            services,
            shared,
            done,
            hub_done,
            link: None,
            master_done,
            children,
            end,
        })
    }

    /// `--worker`: the worker's runner instead of the local one; the master starts and stops the users.
    fn start_worker(mut self) -> Result<Running, ExitStatus> {
        let options = self.options;
        if options.run_time.is_some() {
            log::log(
                log::Level::Debug,
                "locust.main",
                "--run-time specified for a worker node will be ignored.",
            );
        }
        // the master compares the run with its baseline (it has every worker's numbers)
        if options.baseline.is_some() || options.baseline_gate || options.baseline_limits.is_some()
        {
            log::warning(
                "rlocust.baseline",
                "--baseline, --baseline-limits and --baseline-gate are the master's: this worker ignores them",
            );
        }
        self.start_reporters();
        self.start_watchdog();
        let conn = self.worker.take().expect("a worker session");
        if options.html_file.is_some() {
            let info = Arc::new(RunInfo::new(&interp::web_info()?, options));
            attach_html_report(
                &self.outputs,
                options,
                &self.services,
                &self.runner.shared,
                info,
                self.gates.clone(),
            );
        }
        let Session {
            services,
            runner,
            setup,
            done,
            hub_done,
            gates,
            end,
            ..
        } = self;
        let shared = runner.shared.clone();
        let node = Some(conn.node.clone());
        let metrics = gates.metrics_source(&shared, &services.run, node, options);
        gates.start_metrics_listener(services.rt.handle(), metrics, options)?;
        services.rt.spawn(worker::run(
            shared.clone(),
            services.bridge.clone(),
            services.run.stats.clone(),
            conn.node,
            conn.link.clone(),
            conn.inbound,
            conn.custom,
            runner.control_rx,
            worker::Plan {
                classes: setup.classes.iter().map(|c| c.name.clone()).collect(),
                specs: class_specs(&setup),
            },
        ));
        Ok(Running {
            services,
            shared,
            done,
            hub_done,
            link: Some(conn.link),
            master_done: None,
            children: None,
            end,
        })
    }

    /// The periodic console table (Locust's stats_printer: at once, then every interval) and the CSV writer.
    fn start_reporters(&self) {
        let (console_secs, csv_secs) = crate::stats::report_intervals();
        let rt = &self.services.rt;
        // the periodic table: headless, or with --print-stats
        let headless_table = self.options.headless && self.worker.is_none();
        if !self.options.only_summary && (headless_table || self.options.print_stats) {
            let run = self.services.run.clone();
            let width = name_width();
            let mut done = self.done.subscribe();
            // the first table before the runner (and a shape) starts, as Locust's printer greenlet prints it
            // before the shape's first tick
            log::print_table(&console::stats_table(&run.stats.snapshot(), true, width));
            let search = self.gates.search.clone();
            let periodic = move |run: &Context| {
                let readings = run.readings();
                let mut out = console::stats_table(&readings.stats, true, width);
                if let Some(t) = crate::report::arrivals::console_table(&readings.open, true) {
                    out.push_str(&t);
                }
                // tokens per second, over the run and current (a run with token metrics only)
                if let Some(t) = crate::report::metrics::console_throughput(&readings.stats, width)
                {
                    out.push_str(&t);
                }
                // the capacity search's probes so far (only a run that searches has any)
                if let Some(o) = search.outcome() {
                    out.push_str(&crate::report::search::console_table(&o));
                }
                out
            };
            rt.spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs_f64(console_secs)) => {}
                        _ = done.changed() => return,
                    }
                    log::print_table(&periodic(&run));
                }
            });
        }
        // Locust's stats_history greenlet: a point every 5 s while a test runs (the charts and the report); here the
        // history also begins with the test's start (0 users, when its statistics were cleared), and with a sample
        // right after a reset, so the charts (and a reloaded dashboard) begin where the test began
        {
            let stats = self.services.run.stats.clone();
            let shared = self.runner.shared.clone();
            let mut done = self.done.subscribe();
            let every = Duration::from_secs_f64(crate::stats::history::INTERVAL_SECS);
            rt.spawn(async move {
                let mut last: Option<std::time::Instant> = None;
                loop {
                    let state = shared.state();
                    if state == runner::State::Ready || state == runner::State::Stopped {
                        last = None;
                    } else if last.is_none() && stats.history_is_empty() {
                        // a new test (its statistics, history included, were cleared as it started)
                        stats.history_start(crate::stats::unix_now());
                        last = Some(std::time::Instant::now());
                    } else if stats.history_is_empty() || last.is_none_or(|t| t.elapsed() >= every)
                    {
                        stats.sample_history(shared.user_count(), crate::stats::unix_now());
                        last = Some(std::time::Instant::now());
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        _ = done.changed() => return,
                    }
                }
            });
        }
        if self.outputs.has_csv() {
            let outputs = self.outputs.clone();
            let shared = self.runner.shared.clone();
            let mut done = self.done.subscribe();
            rt.spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs_f64(csv_secs)) => outputs.csv_tick(shared.user_count()),
                        _ = done.changed() => return,
                    }
                }
            });
        }
    }

    /// Ctrl+C / SIGTERM, a hub that stops responding while the run ends (see `runner::watchdog`), and the
    /// saturation warnings, which read the CPU clock of this thread (the hub from here on).
    fn start_watchdog(&self) {
        let Services { rt, bridge, .. } = &self.services;
        let shared = &self.runner.shared;
        runner::watchdog::start(
            rt.handle(),
            runner::watchdog::Watchdog {
                shared: shared.clone(),
                bridge: bridge.clone(),
                ending: self.end.clone(),
                interrupt: Box::new(interp::interrupt),
                hub_done: self.hub_done.clone(),
            },
        );
        if let Some(hub) = runner::monitor::ThreadClock::current() {
            rt.spawn(runner::monitor::run(
                shared.clone(),
                bridge.clone(),
                hub,
                runner::monitor::CPU_MONITOR_INTERVAL,
            ));
        }
    }
}

/// `--html FILE`: the report is written with the other result files at the end.
fn attach_html_report(
    outputs: &Outputs,
    options: &Options,
    services: &Services,
    shared: &Arc<runner::Shared>,
    info: Arc<RunInfo>,
    gates: Arc<Gates>,
) {
    if let Some(pattern) = &options.html_file {
        outputs.set_html_report(
            pattern.clone(),
            Arc::new(Report {
                run: services.run.clone(),
                users: shared.clone(),
                info,
                context: Some(gates),
            }),
        );
    }
}

/// A started test: the hub runs it, then the shutdown ends it through the run's one end ([`RunEnd`]).
pub struct Running {
    services: Services,
    shared: Arc<runner::Shared>,
    done: tokio::sync::watch::Sender<bool>,
    hub_done: Arc<AtomicBool>,
    /// A worker's way to its master (the shutdown says `quit` on it, as Locust's `quitting` listener does).
    link: Option<worker::Link>,
    /// `--master`: true once the master has quit (its workers told, their last reports in).
    master_done: Option<tokio::sync::watch::Receiver<bool>>,
    /// `--processes`: the local workers, reaped when the master is done.
    children: Option<distributed::processes::Children>,
    end: Arc<RunEnd>,
}

impl Running {
    /// Run the gevent hub until the runner quits, then shut down: the exit code of the run.
    pub fn finish(self) -> ExitStatus {
        let hub = interp::run_hub();
        // After an interrupt the hub runs once more, to stop the users (see `shutdown`): the watchdog keeps
        // watching it until then.
        let interrupted = matches!(hub, Ok(None)) && self.shared.users_left_running();
        if !interrupted {
            self.hub_done.store(true, Ordering::Release);
        }
        match hub {
            Err(e) => self.failed(e.into()),
            Ok(Some(code)) => self.exit_now(code),
            Ok(None) => self.shutdown(interrupted),
        }
    }

    /// An error of the Python side ended the run: its outputs are still written (the summary says `error`), and
    /// the error's text and code are the invocation's.
    fn failed(self, status: ExitStatus) -> ExitStatus {
        runner::keyboard::restore();
        self.end
            .conclude(End::Failed(status.code()), Said::default());
        self.close();
        status
    }

    /// NOTE: a task's (or, after an interrupt, a stopping user's) sys.exit(N) ends Locust's process at once with
    /// N: no stop sequence, no quitting event, no final tables. The result files the user asked for are still
    /// written, and a failed gate still makes the code 3 (`run_end::decide`).
    fn exit_now(self, code: i32) -> ExitStatus {
        runner::keyboard::restore();
        let (_, code) = self.end.conclude(End::SysExit(code), Said::default());
        self.close();
        ExitStatus::Run(code)
    }

    /// Locust's `shutdown()`: fire `quitting`, judge the run (the exit code), stop the users if an interrupt
    /// (Ctrl+C, SIGTERM) left them running (Locust's `runner.quit()` comes after `quitting`), write the final
    /// output, fire `quit`.
    fn shutdown(self, interrupted: bool) -> ExitStatus {
        // NOTE: Locust's master runner listens to `quitting` itself and quits there, before the locustfile's own
        // listeners and before the exit code is decided: the workers' last reports (their failures) count.
        let master_quit_now = self
            .master_done
            .as_ref()
            .is_some_and(|done| !*done.borrow());
        if master_quit_now {
            self.shared.send(Control::Quit);
            if let Ok(Some(code)) = interp::stop_users() {
                self.hub_done.store(true, Ordering::Release);
                return self.exit_now(code);
            }
        }
        let said = match interp::quitting() {
            Ok((process_exit_code, unhandled)) => Said {
                process_exit_code,
                unhandled,
            },
            Err(e) => return self.failed(e.into()),
        };
        if let Some(link) = &self.link {
            self.services.rt.block_on(link.send_quit());
        }
        let verdict = self.end.judge(End::Stopped(self.shared.end_cause()), said);
        log::info(
            "locust.main",
            &format!("Shutting down (exit code {})", verdict.code),
        );
        if interrupted && self.master_done.is_none() {
            self.shared.send(Control::Quit);
            let stopped = interp::stop_users();
            self.hub_done.store(true, Ordering::Release);
            if let Ok(Some(code)) = stopped {
                return self.exit_now(code);
            }
        } else if interrupted {
            self.hub_done.store(true, Ordering::Release);
        }
        runner::keyboard::restore();
        let _ = self.done.send(true);
        let code = self.end.write(&verdict).unwrap_or(verdict.code);
        let _ = interp::quit(code);
        self.close();
        ExitStatus::Run(code)
    }

    /// Flush stdout, reap `--processes` children, and give the runtime's tasks a moment to end.
    fn close(self) {
        let _ = std::io::stdout().flush();
        if let Some(children) = self.children {
            children.reap();
        }
        self.services
            .rt
            .shutdown_timeout(Duration::from_millis(200));
    }
}
