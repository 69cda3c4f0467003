//! What a session opens before Locust's `init` event, in Locust's order: the master's bound socket or the worker's
//! connection to its master, the `--processes` workers, the result files and outputs, the web UI's checked
//! configuration, and the run's one end ([`RunEnd`]).
//!
//! Who calls it: [`Session::prepare`](super::session::Session::prepare), once per run, on the main thread
//! (Python is not running: nothing here touches it but through `interp`'s calls the session makes).
//! What it must not do: start the users, the reporters or the web UI (that is `Session::start`), or fire `init`.
use super::ExitStatus;
use super::gates::Gates;
use super::run_end::{RunEnd, Said};
use super::startup::{RunnerHandle, Services};
use crate::cli::Options;
use crate::distributed::{self, node::Node, worker};
use crate::interp;
use crate::log;
use crate::report::{console::name_width, csv::CsvWriter, outputs::Outputs};
use crate::runner;
use crate::web;
use std::sync::Arc;

/// `--processes` under this master: workers forked already (told the port once it is bound), or to start then.
pub enum LocalWorkers {
    /// (the pipes go first when dropped: a child waiting on its pipe then ends, and can be reaped)
    Forked(
        Vec<distributed::processes::Pipe>,
        distributed::processes::Children,
    ),
    Start(usize),
}

/// A master's bound socket (bound before `init`, as Locust's master runner binds when it is created).
pub(super) struct MasterConn {
    pub(super) node: Arc<Node>,
    pub(super) link: distributed::master::Link,
    pub(super) custom: tokio::sync::mpsc::UnboundedReceiver<distributed::node::Custom>,
    /// The port bound (`--master-bind-port 0` picks one).
    pub(super) port: u16,
}

/// `--master`: bind `--master-bind-host:--master-bind-port` (Locust's line and exit 1 when the port is taken).
fn bind_master(services: &Services, options: &Options) -> Result<MasterConn, ExitStatus> {
    let port = u16::try_from(options.master_bind_port).map_err(|_| {
        ExitStatus::user(
            format!(
                "rlocust: --master-bind-port must be a port number (0-65535), got {}",
                options.master_bind_port
            ),
            1,
        )
    })?;
    let host = options.master_bind_host.clone();
    let _rt = services.rt.enter();
    let (bound, link) = services
        .rt
        .block_on(distributed::master::bind(
            &host,
            port,
            distributed::auth::process_secret(),
        ))
        .map_err(|message| {
            log::log(log::Level::Error, "locust.runners", &message);
            ExitStatus::user("", 1)
        })?;
    let (node, custom) = Node::install(
        distributed::node::Role::Master,
        distributed::proto::worker_client_id(),
        -1,
    );
    Ok(MasterConn {
        node,
        link,
        custom,
        port: bound,
    })
}

/// A worker connected to its master (before `init`, as Locust's worker runner connects when it is created).
pub(super) struct WorkerConn {
    pub(super) node: Arc<Node>,
    pub(super) link: worker::Link,
    pub(super) inbound: tokio::sync::mpsc::UnboundedReceiver<distributed::Message>,
    pub(super) custom: tokio::sync::mpsc::UnboundedReceiver<distributed::node::Custom>,
}

/// `--worker`: connect to `--master-host:--master-port` (Locust's `connect_to_master`; exit 255 when the master
/// never answers).
pub(super) fn connect_worker(
    services: &Services,
    options: &Options,
    shared: &Arc<runner::Shared>,
) -> Result<WorkerConn, ExitStatus> {
    let port = crate::cli::port("--master-port", options.master_port)
        .map_err(|e| ExitStatus::user(e, 1))?;
    let (mut host, mut port) = (options.master_host.clone(), port);
    // a forked `--processes` child learns where its parent listens only now
    match distributed::processes::master_address() {
        Some(Some(address)) => {
            if let Some((h, p)) = address.rsplit_once(':') {
                host = h.to_owned();
                port = p.parse().unwrap_or(port);
            }
        }
        // the master ended before it listened (it said why)
        Some(None) => return Err(ExitStatus::Run(1)),
        None => {}
    }
    let addr = worker::Address {
        host,
        port,
        base_path: options.web_base_path.clone(),
        client_id: distributed::proto::worker_client_id(),
        secret: distributed::auth::process_secret(),
    };
    let conn = match services.rt.block_on(worker::connect(&addr)) {
        Ok(conn) => conn,
        Err(None) => {
            log::log(
                log::Level::Error,
                "locust.main",
                "Failed to connect to the Locust master: ",
            );
            return Err(ExitStatus::user("", 255));
        }
        Err(Some(line)) => {
            log::log(log::Level::Error, "locust.main", &line);
            return Err(ExitStatus::user("", 1));
        }
    };
    log::log(
        log::Level::Debug,
        "locust.main",
        &format!(
            "Connected to locust master: {}:{}{}",
            addr.host, addr.port, addr.base_path
        ),
    );
    let (node, custom) = Node::install(
        distributed::node::Role::Worker,
        addr.client_id.clone(),
        conn.index,
    );
    let _rt = services.rt.enter();
    let (link, inbound) = worker::start_link(addr, conn, shared.clone());
    Ok(WorkerConn {
        node,
        link,
        inbound,
        custom,
    })
}

/// Python's runner class for this process's part (`create_runner`'s argument).
pub(super) fn role_name(options: &Options) -> &'static str {
    if options.worker {
        "worker"
    } else if options.master {
        "master"
    } else {
        "local"
    }
}

/// `--master`: check `--expect-workers` and bind (Locust's error line and exit 255 for a count below 1).
pub(super) fn open_master(
    services: &Services,
    options: &Options,
) -> Result<Option<MasterConn>, ExitStatus> {
    if !options.master {
        return Ok(None);
    }
    if options.expect_workers < 1 {
        log::log(
            log::Level::Error,
            "locust.main",
            &format!(
                "Invalid --expect-workers argument ({}), must be a positive number",
                options.expect_workers
            ),
        );
        return Err(ExitStatus::user("", 255));
    }
    bind_master(services, options).map(Some)
}

/// `--processes`: tell the forked workers where the master listens, or start them now.
pub(super) fn start_local_workers(
    conn: &MasterConn,
    workers: LocalWorkers,
    options: &Options,
) -> Result<distributed::processes::Children, ExitStatus> {
    let host = match options.master_bind_host.as_str() {
        "*" | "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h,
    };
    match workers {
        LocalWorkers::Forked(pipes, children) => {
            children.log_started();
            for pipe in pipes {
                pipe.send(host, conn.port);
            }
            Ok(children)
        }
        LocalWorkers::Start(n) => {
            let argv = crate::app::ARGV.get().cloned().unwrap_or_default();
            distributed::processes::spawn(n, &argv, host, conn.port).map_err(|e| {
                ExitStatus::user(format!("rlocust: cannot start worker processes: {e}"), 1)
            })
        }
    }
}

/// The run's final and periodic outputs: the `--csv` files (created now, as Locust opens them before `init`),
/// `--json`, the baseline comparison and the capacity search's tables; a worker prints no tables.
pub(super) fn make_outputs(
    services: &Services,
    options: &Options,
    gates: &Gates,
    is_worker: bool,
) -> Result<Arc<Outputs>, ExitStatus> {
    let csv = match &options.csv_prefix {
        Some(prefix) => Some(
            CsvWriter::create(
                prefix,
                options.csv_full_history,
                options.csv_generator && !options.master,
            )
            .map_err(|e| {
                ExitStatus::user(
                    format!("rlocust: cannot write CSV files {prefix}_*.csv: {e}"),
                    1,
                )
            })?,
        ),
        None => None,
    };
    let outputs = Arc::new(Outputs::new(
        services.run.clone(),
        csv,
        options.json,
        options.json_file.clone(),
        name_width(),
    ));
    if is_worker {
        outputs.without_tables();
    }
    if let Some(b) = gates.baseline() {
        outputs.set_baseline(b, options.csv_prefix.clone());
    }
    outputs.set_search(gates.search.clone());
    Ok(outputs)
}

/// The web UI's configuration, checked and announced (a run without `--headless`, not a worker).
pub(super) fn web_config(options: &Options) -> Result<Option<web::WebConfig>, ExitStatus> {
    if options.headless || options.worker {
        return Ok(None);
    }
    let config = web::WebConfig::from_options(options).map_err(|message| {
        if message.starts_with("rlocust:") {
            ExitStatus::user(message, 1)
        } else {
            log::log(log::Level::Error, "locust.main", &message);
            ExitStatus::user("", 1)
        }
    })?;
    web::announce(&config, options);
    Ok(Some(config))
}

/// Locust's notes on `--autostart` where it has no meaning or is implied.
pub(super) fn log_autostart_notes(options: &Options) {
    if options.autostart && options.worker {
        log::log(
            log::Level::Debug,
            "locust.main",
            "The --autostart argument has no meaning on a worker.",
        );
    } else if options.autostart && options.headless {
        log::info(
            "locust.main",
            "The --autostart argument is implied by --headless, no need to set both.",
        );
    }
}

/// The run's one end, asking Python for its exit facts (`process_exit_code`, an unhandled greenlet error).
pub(super) fn run_end(
    runner: &RunnerHandle,
    outputs: &Arc<Outputs>,
    gates: &Arc<Gates>,
    options: &Options,
) -> Arc<RunEnd> {
    RunEnd::new(
        runner.shared.clone(),
        outputs.clone(),
        gates.clone(),
        options.exit_code_on_error,
        Box::new(|within| {
            interp::exit_facts_within(within).map(|(process_exit_code, unhandled)| Said {
                process_exit_code,
                unhandled,
            })
        }),
    )
}
