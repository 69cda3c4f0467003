//! [`ExitStatus`]: how an rlocust invocation ends, with the exit code and the user-facing text in one place.
//! Every step of `app` ends the program by returning one; [`ExitStatus::report`] prints its text (help and
//! version to stdout, everything else to stderr) and [`ExitStatus::code`] is the process exit code.
use crate::cli::{CliError, NotBuilt};
use crate::interp::InterpError;

/// The end of an rlocust invocation.
#[derive(Debug)]
pub enum ExitStatus {
    /// Nothing more to say: `--list`, `--show-task-ratio`, or help/version text already printed.
    Success,
    /// A test ran; the code is its verdict's (`app::run_end::decide`: Locust's rules — 0, `--exit-code-on-error`
    /// after failures, 2 after an unhandled exception, `environment.process_exit_code`, or a task's `sys.exit(N)` —
    /// then 3 for a failed threshold or `--baseline-gate` regression), however the run ended.
    Run(i32),
    /// The command line (help and version included): argparse's usage errors exit 2.
    Cli(CliError),
    /// A mistake in the locustfile, the options or the environment: a finished message (possibly a Python
    /// traceback; empty when it was logged already), an optional `hint:` line, and Locust's exit code.
    User {
        message: String,
        hint: Option<String>,
        code: i32,
    },
    /// An option asks for something rlocust has not built yet: one line, exit 1.
    NotBuilt(NotBuilt),
    /// A bug in rlocust, or a failure of the machine it runs on (no threads, no file descriptors): exit 1.
    Internal(String),
}

impl ExitStatus {
    /// A user-caused error without a hint.
    pub fn user(message: impl Into<String>, code: i32) -> ExitStatus {
        ExitStatus::User {
            message: message.into(),
            hint: None,
            code,
        }
    }

    /// The process exit code.
    pub fn code(&self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Run(code) | ExitStatus::User { code, .. } => *code,
            ExitStatus::Cli(e) => e.exit_code(),
            ExitStatus::NotBuilt(_) | ExitStatus::Internal(_) => 1,
        }
    }

    /// The text to show, as (stdout, stderr); either may be empty.
    pub fn text(&self) -> (String, String) {
        let line = |s: String| {
            let s = s.trim_end().to_string();
            if s.is_empty() { s } else { s + "\n" }
        };
        match self {
            ExitStatus::Success | ExitStatus::Run(_) => (String::new(), String::new()),
            ExitStatus::Cli(CliError::Help(text)) => (text.clone(), String::new()),
            ExitStatus::Cli(CliError::Version) => {
                (format!("{}\n", super::version_line()), String::new())
            }
            ExitStatus::Cli(e) => (String::new(), line(e.message())),
            ExitStatus::User { message, hint, .. } => {
                let hint = hint.as_ref().map(|h| format!("hint: {h}\n"));
                (
                    String::new(),
                    line(message.clone()) + hint.as_deref().unwrap_or(""),
                )
            }
            ExitStatus::NotBuilt(n) => (String::new(), line(n.to_string())),
            ExitStatus::Internal(m) => {
                (String::new(), line(format!("rlocust: internal error: {m}")))
            }
        }
    }

    /// Print [`ExitStatus::text`].
    pub fn report(&self) {
        use std::io::Write;
        let (out, err) = self.text();
        if !out.is_empty() {
            print!("{out}");
        }
        let _ = std::io::stdout().flush();
        if !err.is_empty() {
            eprint!("{err}");
        }
    }
}

impl From<CliError> for ExitStatus {
    fn from(e: CliError) -> Self {
        ExitStatus::Cli(e)
    }
}

impl From<InterpError> for ExitStatus {
    fn from(e: InterpError) -> Self {
        match e {
            InterpError::User { message, code } => ExitStatus::user(message, code),
            InterpError::Internal(m) => ExitStatus::Internal(m),
        }
    }
}

impl From<NotBuilt> for ExitStatus {
    fn from(n: NotBuilt) -> Self {
        ExitStatus::NotBuilt(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts() {
        let usage = ExitStatus::from(CliError::Usage("unrecognized arguments: --x".into()));
        assert_eq!(usage.code(), 2);
        assert_eq!(
            usage.text(),
            (
                String::new(),
                "rlocust: error: unrecognized arguments: --x\n".into()
            )
        );
        let help = ExitStatus::from(CliError::Help("Usage: rlocust\n".into()));
        assert_eq!(
            (help.code(), help.text().0.as_str()),
            (0, "Usage: rlocust\n")
        );
        let hinted = ExitStatus::User {
            message: "rlocust: bad value\n".into(),
            hint: Some("use 512M".into()),
            code: 1,
        };
        assert_eq!(hinted.text().1, "rlocust: bad value\nhint: use 512M\n");
        let logged = ExitStatus::user("", 1);
        assert_eq!(
            (logged.code(), logged.text()),
            (1, (String::new(), String::new()))
        );
        let not_built = ExitStatus::from(NotBuilt {
            what: "--web-login",
            instead: "use --basic-auth",
        });
        assert_eq!(not_built.code(), 1);
        assert_eq!(
            not_built.text().1,
            "rlocust: --web-login is not available yet; use --basic-auth\n"
        );
        assert_eq!(ExitStatus::Run(3).code(), 3);
        assert_eq!(
            ExitStatus::Internal("boom".into()).text().1,
            "rlocust: internal error: boom\n"
        );
    }
}
