//! One end of a run, whichever way it ends: how it ended ([`End`]), the exit code that follows ([`decide`]: Locust's
//! rule, then rlocust's gates), both kept as the run's [`Verdict`], and the one writer of everything the user asked
//! to get at the end (CSV, HTML, JSON, the final tables, the thresholds table, `--summary-json`): [`RunEnd`].
//!
//! The ways a run ends: the runner quits (`-t`, `--autoquit`, a shape's end, an `abort` rule, the locustfile's
//! `runner.quit()`, the web UI, a master's `quit`) or an interrupt (Ctrl+C, SIGTERM) makes the hub leave, and the
//! shutdown fires `quitting` first; a `sys.exit(N)` ends it at once (no `quitting`, as in Locust); the watchdog
//! gives up on a Python thread that no longer answers (no more listeners); an error of the Python side ends it.
//! Each is judged by the same [`decide`] and written by the same [`RunEnd::write`], exactly once: a CI gate sees
//! the same exit code and the same files however the run ended.
//!
//! Who calls it: `app::session` (the shutdown on the main thread) and `runner::watchdog` (through
//! [`watchdog::Ending`], on the runtime) — whichever comes first writes; the other finds it done. What it must not
//! do: run the locustfile's listeners (the session fires `quitting` and `quit`; the watchdog fires nothing) or
//! wait on the Python thread without a bound.
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::gates::{Gates, THRESHOLD_EXIT_CODE};
use crate::judge::thresholds::Outcome;
use crate::log;
use crate::report::outputs::Outputs;
use crate::runner::{EndCause, Shared, watchdog};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The shutdown ran: `quitting` fired, the users were stopped. The cause says who asked.
    Stopped(EndCause),
    /// `sys.exit(N)` in a task, a listener or `on_stop`: Locust's process ends at once with N, without `quitting`
    /// and without its final tables.
    SysExit(i32),
    /// The watchdog finished the run without a Python thread that no longer answers (or on a second signal): no
    /// more listeners. The cause is what had asked the run to end.
    Abandoned(EndCause),
    /// An error of the Python side ended the run; its own exit code (the caller says its message).
    Failed(i32),
}

/// What the locustfile said about the exit code: `environment.process_exit_code`, and whether an unhandled
/// exception was logged (Locust's `log.unhandled_greenlet_exception`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Said {
    pub process_exit_code: Option<i32>,
    pub unhandled: bool,
}

/// Everything the exit code is decided from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    pub said: Said,
    /// Request failures or task exceptions (Locust's `runner.errors`/`runner.exceptions`).
    pub errors: bool,
    /// A fail-ratio rule decides about failures (they alone do not make the code `--exit-code-on-error`).
    pub tolerates_failures: bool,
    /// A threshold (or `--check-*`) failed, or `--baseline-gate` found a regression.
    pub gate_failed: bool,
    /// A master gave up waiting for `--expect-workers`.
    pub gave_up: bool,
    /// `--exit-code-on-error`.
    pub exit_code_on_error: i32,
}

/// The exit code of a run. Locust 2.47's rule (`main.shutdown`): the locustfile's `process_exit_code`, else
/// `--exit-code-on-error` after failures or exceptions, else 2 after an unhandled exception, else 0; a
/// `sys.exit(N)` is N (whatever `process_exit_code` says). Then rlocust's gates, which Locust does not have: a failed
/// threshold or a regression under `--baseline-gate` makes it 3 — also after a `sys.exit(N)` (ending early does
/// not pass a gate) and when the watchdog ended the run — unless the locustfile set `process_exit_code` (its own
/// verdict on the run wins, as under locust-plugins). A master that gave up waiting for its workers exits 1; an
/// error keeps its code.
pub fn decide(end: End, f: &Facts) -> i32 {
    if let End::Failed(code) = end {
        return code;
    }
    if f.gave_up {
        return 1;
    }
    if let End::SysExit(code) = end {
        return if f.gate_failed {
            THRESHOLD_EXIT_CODE
        } else {
            code
        };
    }
    if let Some(code) = f.said.process_exit_code {
        return code;
    }
    if f.gate_failed {
        THRESHOLD_EXIT_CODE
    } else if f.errors && f.tolerates_failures {
        0
    } else if f.errors {
        f.exit_code_on_error
    } else if f.said.unhandled {
        2
    } else {
        0
    }
}

/// The verdict of a run: how it ended, its exit code, and the gates' outcomes it was judged with.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub end: End,
    pub code: i32,
    pub outcomes: Vec<Outcome>,
}

impl Verdict {
    /// The cause the run ended for: the summary's `ended_by`.
    pub fn ended_by(&self) -> &'static str {
        match self.end {
            End::Stopped(cause) => cause.as_str(),
            End::SysExit(_) => "sys_exit",
            End::Abandoned(_) => "abandoned",
            End::Failed(_) => "error",
        }
    }

    /// Whether the run was cut short (the summary's `interrupted`): a signal, a `sys.exit`, the watchdog.
    pub fn interrupted(&self) -> bool {
        match self.end {
            End::Stopped(cause) => matches!(cause, EndCause::Sigint | EndCause::Sigterm),
            End::SysExit(_) | End::Abandoned(_) => true,
            End::Failed(_) => false,
        }
    }

    /// Whether Locust prints its final tables (and the "Shutting down" line) for this end.
    fn prints(&self) -> bool {
        matches!(self.end, End::Stopped(_) | End::Abandoned(_))
    }
}

/// Reads what the locustfile has said so far without firing anything, within a bound (`None`: no answer).
pub type ReadSaid = Box<dyn Fn(Duration) -> Option<Said> + Send + Sync>;

/// How long the watchdog waits for the Python thread to tell what the locustfile said.
const READ_SAID_WITHIN: Duration = Duration::from_secs(1);

/// The one end of a run: judges it and writes its outputs, once.
pub struct RunEnd {
    shared: Arc<Shared>,
    outputs: Arc<Outputs>,
    gates: Arc<Gates>,
    exit_code_on_error: i32,
    /// What the locustfile said once `quitting` fired (the watchdog uses it if the stop then hangs).
    said: Mutex<Option<Said>>,
    /// The verdict, once judged.
    verdict: Mutex<Option<Verdict>>,
    /// Set by the first writer; the outputs are written under it.
    written: Mutex<Option<i32>>,
    read_said: ReadSaid,
}

impl RunEnd {
    pub fn new(
        shared: Arc<Shared>,
        outputs: Arc<Outputs>,
        gates: Arc<Gates>,
        exit_code_on_error: i32,
        read_said: ReadSaid,
    ) -> Arc<RunEnd> {
        Arc::new(RunEnd {
            shared,
            outputs,
            gates,
            exit_code_on_error,
            said: Mutex::new(None),
            verdict: Mutex::new(None),
            written: Mutex::new(None),
            read_said,
        })
    }

    /// Judge the run: evaluate the gates on the final statistics (logs the `CHECK` lines) and decide the exit
    /// code. The verdict is kept (a later [`RunEnd::write`] by the watchdog uses it).
    pub fn judge(&self, end: End, said: Said) -> Verdict {
        *self.said.lock() = Some(said);
        let run = self.outputs.run();
        self.gates.end_search(&run);
        let outcomes = self.gates.evaluate(&run);
        let facts = Facts {
            said,
            errors: self.outputs.had_errors(),
            tolerates_failures: self.gates.tolerates_failures(),
            gate_failed: outcomes.iter().any(|o| !o.passed)
                || self.gates.regressed()
                || self.gates.search_below_gate(),
            gave_up: self.shared.gave_up(),
            exit_code_on_error: self.exit_code_on_error,
        };
        let verdict = Verdict {
            end,
            code: decide(end, &facts),
            outcomes,
        };
        *self.verdict.lock() = Some(verdict.clone());
        verdict
    }

    /// Write every output asked for, once: the HTML report, the CSV files, the JSON, the final tables (for the
    /// ends Locust prints them), the thresholds table and the summary. Returns the final exit code (a passing run
    /// whose result file could not be written exits 1), or `None` when another end wrote them already.
    pub fn write(&self, verdict: &Verdict) -> Option<i32> {
        let mut written = self.written.lock();
        if written.is_some() {
            return None;
        }
        // one final reading for every output (a request in flight at the stop may still complete meanwhile)
        self.outputs.run().freeze();
        let users = self.shared.user_count();
        if verdict.prints() {
            self.outputs.write_final(users);
        } else {
            self.outputs.write_files(users);
        }
        self.gates.print_table(&verdict.outcomes);
        let code = if verdict.code == 0 && self.outputs.write_failed() {
            1
        } else {
            verdict.code
        };
        let summary = self.gates.write_summary(
            &self.outputs.run(),
            &verdict.outcomes,
            code,
            verdict.interrupted(),
            verdict.ended_by(),
        );
        let code = if code == 0 && !summary { 1 } else { code };
        *written = Some(code);
        Some(code)
    }

    /// Judge and write: a run that ends without a shutdown between the two (a `sys.exit`, an error).
    pub fn conclude(&self, end: End, said: Said) -> (Verdict, i32) {
        let verdict = self.judge(end, said);
        let code = self.write(&verdict);
        let code = code.or(*self.written.lock()).unwrap_or(verdict.code);
        (verdict, code)
    }
}

impl watchdog::Ending for RunEnd {
    fn abandon(&self) -> i32 {
        if let Some(code) = *self.written.lock() {
            return code;
        }
        let cause = self.shared.end_cause();
        // the shutdown judged the run already when the stop hangs after `quitting`: the same code, another end
        let kept = self.verdict.lock().clone();
        let verdict = match kept {
            Some(v) if !matches!(v.end, End::Failed(_)) => Verdict {
                end: End::Abandoned(cause),
                ..v
            },
            _ => {
                // what the locustfile said before it stopped answering, if the Python thread still hands over
                let said = (*self.said.lock())
                    .or_else(|| (self.read_said)(READ_SAID_WITHIN))
                    .unwrap_or_default();
                self.judge(End::Abandoned(cause), said)
            }
        };
        log::info(
            "locust.main",
            &format!("Shutting down (exit code {})", verdict.code),
        );
        self.write(&verdict)
            .or(*self.written.lock())
            .unwrap_or(verdict.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            exit_code_on_error: 1,
            ..Facts::default()
        }
    }

    const ENDS: [End; 5] = [
        End::Stopped(EndCause::RunTime),
        End::Stopped(EndCause::Sigint),
        End::Stopped(EndCause::Sigterm),
        End::Stopped(EndCause::Quit),
        End::Abandoned(EndCause::RunTime),
    ];

    #[test]
    fn locusts_rule_without_gates() {
        for end in ENDS {
            assert_eq!(decide(end, &facts()), 0, "{end:?}");
            let errors = Facts {
                errors: true,
                ..facts()
            };
            assert_eq!(decide(end, &errors), 1);
            assert_eq!(
                decide(
                    end,
                    &Facts {
                        exit_code_on_error: 0,
                        ..errors
                    }
                ),
                0
            );
            let unhandled = Facts {
                said: Said {
                    unhandled: true,
                    process_exit_code: None,
                },
                ..facts()
            };
            assert_eq!(decide(end, &unhandled), 2);
            // failures come before an unhandled exception, the locustfile's code before both
            assert_eq!(
                decide(
                    end,
                    &Facts {
                        errors: true,
                        ..unhandled
                    }
                ),
                1
            );
            let own = Facts {
                said: Said {
                    process_exit_code: Some(7),
                    unhandled: true,
                },
                errors: true,
                ..facts()
            };
            assert_eq!(decide(end, &own), 7);
        }
        // sys.exit(N) is N whatever happened before
        let errors = Facts {
            errors: true,
            ..facts()
        };
        assert_eq!(decide(End::SysExit(0), &errors), 0);
        assert_eq!(decide(End::SysExit(42), &facts()), 42);
        let own = Facts {
            said: Said {
                process_exit_code: Some(7),
                unhandled: false,
            },
            ..facts()
        };
        assert_eq!(decide(End::SysExit(42), &own), 42);
    }

    #[test]
    fn every_end_fails_a_failed_gate_the_same_way() {
        let failed = Facts {
            gate_failed: true,
            ..facts()
        };
        for end in ENDS.into_iter().chain([End::SysExit(0), End::SysExit(42)]) {
            assert_eq!(decide(end, &failed), 3, "{end:?}");
            assert_eq!(
                decide(
                    end,
                    &Facts {
                        errors: true,
                        ..failed
                    }
                ),
                3
            );
        }
        // the locustfile's own verdict wins (locust-plugins sets it so), a master that gave up is 1, an error
        // keeps its code
        let own = Facts {
            said: Said {
                process_exit_code: Some(0),
                unhandled: false,
            },
            ..failed
        };
        assert_eq!(decide(End::Stopped(EndCause::Quit), &own), 0);
        assert_eq!(
            decide(
                End::Stopped(EndCause::RunTime),
                &Facts {
                    gave_up: true,
                    ..failed
                }
            ),
            1
        );
        assert_eq!(decide(End::Failed(1), &failed), 1);
    }

    #[test]
    fn a_fail_ratio_rule_decides_about_failures() {
        let f = Facts {
            errors: true,
            tolerates_failures: true,
            ..facts()
        };
        assert_eq!(decide(End::Stopped(EndCause::RunTime), &f), 0);
        assert_eq!(decide(End::Abandoned(EndCause::Sigterm), &f), 0);
    }

    #[test]
    fn the_summary_names_the_end() {
        let v = |end| Verdict {
            end,
            code: 0,
            outcomes: vec![],
        };
        assert_eq!(v(End::Stopped(EndCause::RunTime)).ended_by(), "run_time");
        assert!(!v(End::Stopped(EndCause::RunTime)).interrupted());
        assert!(v(End::Stopped(EndCause::Sigterm)).interrupted());
        assert_eq!(v(End::Abandoned(EndCause::RunTime)).ended_by(), "abandoned");
        assert!(v(End::Abandoned(EndCause::RunTime)).interrupted());
        assert_eq!(v(End::SysExit(3)).ended_by(), "sys_exit");
        assert!(!v(End::SysExit(3)).prints() && v(End::Abandoned(EndCause::Quit)).prints());
        assert_eq!(v(End::Failed(1)).ended_by(), "error");
    }
}
