//! Ctrl+C, SIGTERM and the run-time limit stay effective when the Python thread never yields.
//!
//! Users are greenlets on the one Python thread. A task that never yields (`while True: pass`), or Python blocked
//! in C code, stops the hub: the runner's commands, the stop sequence and gevent's signal handlers all wait for
//! it, so without this module such a run could only be ended with SIGKILL and would write no results. Here the
//! signals are Rust's, and the run's end is watched from a tokio task:
//!
//! 1. The first SIGINT or SIGTERM interrupts the run as in Locust ([`Control::Interrupt`]: `quitting` and the
//!    exit code first, then the users are stopped with `test_stopping`/`test_stop`, then the results).
//! 2. When the run is ending (a signal, `-t`, a quit from the locustfile) and the hub has left work waiting for
//!    [`INTERRUPT_AFTER`], the Python thread is interrupted: it raises `KeyboardInterrupt` in whatever it is running,
//!    as a Ctrl+C does under Locust, and the stop sequence goes on without the interrupted user.
//! 3. When the hub still does not respond [`ABANDON_AFTER`] later (a task that swallows the interrupt, or a C call
//!    that never returns), or on a second SIGINT/SIGTERM, the run ends here through its one end ([`Ending`]:
//!    `app::run_end`): judged by the same rule as every other end (Locust's exit code, then thresholds and
//!    `--baseline-gate`), every output asked for written from Rust (CSV, HTML, JSON, tables, the summary: the
//!    statistics are all Rust's), and the process exits with that code, without running the locustfile's
//!    remaining listeners.
//!
//! NOTE (Locust 2.47): SIGINT that the process inherited as ignored (e.g. `nohup`, background jobs of a
//! non-interactive shell) stays ignored, as it does for Python.
//!
//! Runs on the tokio runtime; never touches Python itself (the interrupt is a function `app` hands in).
use super::{Control, EndCause, Shared};
use crate::bridge::Bridge;
use crate::log::{self, Level};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the hub may leave work waiting while the run ends before the Python thread is interrupted.
pub const INTERRUPT_AFTER: Duration = Duration::from_secs(2);
/// How long after the interrupt before the run is finished without the Python thread.
pub const ABANDON_AFTER: Duration = Duration::from_secs(5);
/// After an interrupt that ended a user, how soon the next one follows while the hub is still stuck.
pub const RETRY_AFTER: Duration = Duration::from_millis(300);
const TICK: Duration = Duration::from_millis(100);

/// The run's one end (`app::run_end` implements it; handed in by `app`, so this floor imports neither the reports
/// nor the gates).
pub trait Ending: Send + Sync {
    /// Judge a run that ends here, without the locustfile's remaining listeners, by the same rule as every other
    /// end (thresholds and `--baseline-gate` included); write every output asked for (nothing when they were
    /// written already); log "Shutting down"; return the exit code.
    fn abandon(&self) -> i32;
}

/// What the watchdog needs to end a run on its own.
pub struct Watchdog {
    pub shared: Arc<Shared>,
    pub bridge: Arc<Bridge>,
    pub ending: Arc<dyn Ending>,
    /// Makes the Python thread raise `KeyboardInterrupt` at its next bytecode (from any thread).
    pub interrupt: Box<dyn Fn() + Send + Sync>,
    /// Set when the hub has left its loop: from then on the main thread owns the shutdown.
    pub hub_done: Arc<AtomicBool>,
}

impl Watchdog {
    /// Write the results and end the process now.
    fn abandon(&self, why: &str) -> ! {
        super::keyboard::restore();
        log::log(Level::Error, "locust.main", why);
        let code = self.ending.abandon();
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let _ = std::io::Write::flush(&mut std::io::stderr());
        // (at once: the Python thread is not in a state to run its exit handlers)
        crate::sys::exit_now(code)
    }
}

/// Whether SIGINT was inherited as ignored (then it stays ignored).
/// SIGINT was ignored when rlocust started (a background job of a script, `nohup`): it stays ignored.
static SIGINT_IGNORED_AT_START: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Note whether SIGINT is ignored; call first thing, before Python or anything else installs handlers.
pub fn note_sigint_disposition() {
    SIGINT_IGNORED_AT_START.store(sigint_ignored(), std::sync::atomic::Ordering::Relaxed);
}

/// The shim installs its Python-level SIGINT handler even when SIGINT was ignored at start (the watchdog's
/// interrupt of a task that never yields trips that handler); the OS-level disposition goes back to ignored here,
/// so a real SIGINT still does nothing, as the user's environment asked.
pub fn keep_sigint_ignored() {
    if SIGINT_IGNORED_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
        crate::sys::ignore_sigint();
    }
}

use crate::sys::sigint_ignored;

/// Install the signal handlers and start watching. Call on the runtime before the hub runs.
pub fn start(rt: &tokio::runtime::Handle, dog: Watchdog) {
    let dog = Arc::new(dog);
    let watch_sigint = !sigint_ignored();
    let signals = dog.clone();
    rt.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = if watch_sigint {
            signal(SignalKind::interrupt()).ok()
        } else {
            None
        };
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return;
        };
        let mut count = 0;
        loop {
            let name = tokio::select! {
                Some(()) = async { match int.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => "SIGINT",
                Some(()) = term.recv() => "SIGTERM",
                else => return,
            };
            count += 1;
            if count > 1 {
                signals.abandon(&format!(
                    "{name} again: writing the results and exiting without waiting for the users to stop"
                ));
            }
            signals.shared.end_because(if name == "SIGTERM" {
                EndCause::Sigterm
            } else {
                EndCause::Sigint
            });
            if name == "SIGTERM" {
                log::info("locust.main", "Got SIGTERM signal");
            } else {
                // what gevent's hub prints as it throws the KeyboardInterrupt into Locust's main greenlet
                eprint!(
                    "KeyboardInterrupt\n{}\n",
                    crate::pyfmt::format_utc_timestamp(log::now())
                );
            }
            signals.shared.send(Control::Interrupt {
                sigterm: name == "SIGTERM",
            });
        }
    });
    rt.spawn(async move {
        // When the Python thread was last interrupted, and how many users had ended with KeyboardInterrupt then:
        // an interrupt that ended a user is progress (the next user may be stuck the same way), one that changed
        // nothing is not.
        let mut interrupted: Option<(Instant, u64)> = None;
        loop {
            tokio::time::sleep(TICK).await;
            if dog.hub_done.load(Ordering::Acquire) || !dog.shared.is_quitting() {
                continue;
            }
            // The hub may have taken every command and still be stuck (a user it switched to never yields while
            // the stop command waits for it): a ping shows whether it still drains.
            dog.bridge.ping();
            let waiting = dog.bridge.waiting_for();
            if waiting < INTERRUPT_AFTER {
                interrupted = None;
                continue;
            }
            let ended = dog.shared.interrupted_users();
            match interrupted {
                None => {
                    log::warning(
                        "locust.main",
                        &format!(
                            "The Python thread has not run for {:.0} s while the test is stopping (a task that never yields?): interrupting it with KeyboardInterrupt",
                            waiting.as_secs_f64()
                        ),
                    );
                    (dog.interrupt)();
                    interrupted = Some((Instant::now(), ended));
                }
                Some((at, before)) if ended > before => {
                    if at.elapsed() >= RETRY_AFTER {
                        (dog.interrupt)();
                        interrupted = Some((Instant::now(), ended));
                    }
                }
                Some((at, _)) if at.elapsed() >= ABANDON_AFTER => {
                    dog.abandon(&format!(
                        "The Python thread still does not respond {:.0} s after the interrupt: writing the results and exiting without the locustfile's remaining listeners",
                        at.elapsed().as_secs_f64()
                    ));
                }
                Some(_) => {}
            }
        }
    });
}
