//! `--processes N`: N local worker processes (Locust forks them; rlocust starts its own program again, each child
//! with its own embedded interpreter), under this process as master, or, with `--worker`, under a remote master
//! while this process only waits (reference/locust-web-dist.md §2.9).
//!
//! A child is told what it is by the environment variable [`CHILD_ENV`]: the address of its master
//! (`host:port`). It then runs as a worker and drops what makes no sense there, as Locust's forked children do
//! (`-t`, `--autostart`, `--csv`, `--csv-full-history`, `--html`, `--print-stats`; rlocust also drops `--json` and
//! `--json-file`, which the master writes, so the children do not overwrite its file).
use crate::log;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Set in a child's environment: `host:port` of the master it joins.
pub const CHILD_ENV: &str = "RLOCUST_PROCESS_WORKER";

/// How to start this program again: the binary itself, or (in the wheel) the Python interpreter with `-m rlocust`.
fn relaunch() -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "rlocust".into());
    let name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with("python") {
        let mut c = Command::new(exe);
        c.args(["-m", "rlocust"]);
        c
    } else {
        Command::new(exe)
    }
}

/// The children of this process.
pub struct Children {
    children: Vec<Child>,
}

/// Start `n` workers for the master at `host:port`, each with the same arguments as this process.
pub fn spawn(n: usize, argv: &[String], host: &str, port: u16) -> std::io::Result<Children> {
    let mut children = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = relaunch();
        c.args(argv).env(CHILD_ENV, format!("{host}:{port}"));
        match c.spawn() {
            Ok(child) => {
                log::log(
                    log::Level::Debug,
                    "root",
                    &format!("Started child worker with pid #{}", child.id()),
                );
                children.push(child);
            }
            Err(e) => {
                let mut started = Children { children };
                started.interrupt_and_reap();
                return Err(e);
            }
        }
    }
    Ok(Children { children })
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => -sig,
        _ => 0,
    }
}

/// Wait for `child` until `deadline`: its exit code, or `None` when it still runs (or cannot be waited for).
fn wait_until(child: &mut Child, deadline: Instant) -> Option<i32> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(exit_code(status)),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill() with a pid of our own child; a child already reaped is at worst ESRCH.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

impl Children {
    /// The master is done (Locust's `kill_workers` at exit): give the children 3 s to end by themselves (they
    /// got `quit`), then SIGINT the rest and wait for them. Logs "Bad response code from worker children" above 1.
    pub fn reap(mut self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut code = 0;
        let mut left = Vec::new();
        for mut child in self.children.drain(..) {
            match wait_until(&mut child, deadline) {
                Some(c) => code = code.max(c),
                None => left.push(child),
            }
        }
        self.children = left;
        code = code.max(self.interrupt_and_reap());
        if code > 1 {
            log::log(
                log::Level::Error,
                "root",
                &format!("Bad response code from worker children: {code}"),
            );
        }
    }

    /// SIGINT every child, then wait for each; the highest exit code.
    fn interrupt_and_reap(&mut self) -> i32 {
        for child in &self.children {
            log::log(
                log::Level::Debug,
                "root",
                &format!("Sending SIGINT to child with pid {}", child.id()),
            );
            signal(child, libc::SIGINT);
        }
        let mut code = 0;
        for mut child in self.children.drain(..) {
            // a child that ignores SIGINT for 60 s is killed
            let c =
                wait_until(&mut child, Instant::now() + Duration::from_secs(60)).or_else(|| {
                    signal(&child, libc::SIGKILL);
                    child.wait().ok().map(exit_code)
                });
            code = code.max(c.unwrap_or(0));
        }
        code
    }

    // (the children removed below have been reaped by `try_wait`)
    #[allow(clippy::zombie_processes)]
    /// `--worker --processes N`: only wait for the children (the first Ctrl+C is theirs; a second one kills them)
    /// and exit with the highest code.
    pub fn wait_all(mut self) -> i32 {
        let interrupts = ignore_sigint();
        let mut code = 0;
        let mut killed = false;
        while !self.children.is_empty() {
            if !killed && interrupts.load(std::sync::atomic::Ordering::Relaxed) >= 2 {
                for child in &self.children {
                    log::log(
                        log::Level::Debug,
                        "root",
                        &format!("Sending SIGKILL to child with pid {}", child.id()),
                    );
                    signal(child, libc::SIGKILL);
                }
                killed = true;
            }
            let mut i = 0;
            while i < self.children.len() {
                match self.children[i].try_wait() {
                    Ok(Some(status)) => {
                        code = code.max(exit_code(status));
                        self.children.remove(i);
                    }
                    Ok(None) => i += 1,
                    Err(_) => {
                        self.children.remove(i);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if killed { 1 } else { code }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        if !self.children.is_empty() {
            self.interrupt_and_reap();
        }
    }
}

static SIGINTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn count_sigint(_: libc::c_int) {
    SIGINTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Count SIGINTs instead of dying of them (the waiting parent of `--worker --processes`).
fn ignore_sigint() -> &'static std::sync::atomic::AtomicUsize {
    // SAFETY: the handler only does an atomic add, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            count_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    &SIGINTS
}

/// `--processes` as Locust checks it: `-1` is one per core; below -1 is an error (exit 1), as is `--master` with it.
pub fn count(processes: i64, master: bool) -> Result<usize, String> {
    if processes == -1 {
        return Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1));
    }
    if processes < -1 {
        return Err(format!("Invalid --processes count {processes}"));
    }
    if master {
        return Err("--master cannot be combined with --processes. Remove --master, as it is implicit as long as --worker is not set.".into());
    }
    Ok(processes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_count_rules() {
        assert!(count(-1, false).unwrap() >= 1);
        assert_eq!(count(3, false), Ok(3));
        assert_eq!(count(0, false), Ok(0));
        assert_eq!(
            count(-2, false),
            Err("Invalid --processes count -2".to_string())
        );
        assert!(
            count(2, true)
                .unwrap_err()
                .starts_with("--master cannot be combined")
        );
    }
}
