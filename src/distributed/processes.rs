//! `--processes N`: N local worker processes under this process as master, or, with `--worker`, under a remote
//! master while this process only waits (reference/locust-web-dist.md §2.9).
//!
//! # Decision: fork once the locustfile is loaded, as Locust does
//!
//! Locust forks (`gevent.fork()`) after parsing the options and importing the locustfile, so its children are
//! workers within milliseconds. rlocust does the same: [`fork`] runs right after the command line is parsed, before
//! the I/O runtime starts any thread, through the interpreter's own fork (so CPython and gevent re-initialise what
//! they must in the child), and each child carries on as a worker with the interpreter and the locustfile already
//! loaded. Measured (docs/performance.md): 4 workers ready about 0.1 s after start, where starting the program
//! again per child took 1.8 s idle and 4 s under load. A forked child of a master learns the port its master bound
//! through a pipe ([`Pipe`]), since `--master-bind-port 0` picks the port after the fork.
//!
//! A process that already runs other threads at that point (a locustfile that started one at import, `--otel`'s
//! exporters) cannot be forked safely; rlocust then starts the program again per child ([`spawn`]), each child
//! told its master's address by the environment variable [`CHILD_ENV`].
//!
//! Its workers being local, such a master listens on 127.0.0.1 and gives them a random master secret
//! (`distributed::auth`: set before the fork, so forked children hold it; in a started child's environment),
//! unless `--master-bind-host` or a secret was given (`app::master_secret`).
//!
//! Either way a child drops what makes no sense on a worker, as Locust's children do (`-t`, `--autostart`,
//! `--csv`, `--csv-full-history`, `--html`, `--print-stats`; rlocust also drops `--json` and `--json-file`,
//! which the master writes, so the children do not overwrite its file).
use crate::log;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant};

/// Set in a started (not forked) child's environment: `host:port` of the master it joins.
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

/// The children of this process, by pid.
pub struct Children {
    pids: Vec<libc::pid_t>,
}

/// Log Locust's line for each child started (once logging is set up).
fn log_started(pids: &[libc::pid_t]) {
    for pid in pids {
        log::log(
            log::Level::Debug,
            "root",
            &format!("Started child worker with pid #{pid}"),
        );
    }
}

/// Start `n` workers for the master at `host:port`, each with the same arguments as this process.
pub fn spawn(n: usize, argv: &[String], host: &str, port: u16) -> std::io::Result<Children> {
    let mut started = Children { pids: Vec::new() };
    for _ in 0..n {
        let mut c = relaunch();
        c.args(argv).env(CHILD_ENV, format!("{host}:{port}"));
        if let Some(secret) = super::auth::generated_secret() {
            // the master secret this master made for its own workers (in the environment: a command line is
            // readable by every local user)
            c.env(super::auth::ENV, secret.text());
        }
        let child = c.spawn()?;
        // reaped by pid below (a `Child` is not reaped when dropped)
        started.pids.push(child.id() as libc::pid_t);
    }
    log_started(&started.pids);
    Ok(started)
}

/// A pipe to a forked child of a master, on which it learns where its master listens.
pub struct Pipe(OwnedFd);

/// What [`fork`] made of this process.
pub enum Forked {
    /// A child: a worker from here on. `master` tells it its master's address when the parent binds it (`None`
    /// with `--worker`: the address is the command line's).
    Child { master: Option<Pipe> },
    /// The parent, with its children (and a pipe to each, for a master).
    Parent {
        children: Children,
        pipes: Vec<Pipe>,
    },
}

/// Whether this process runs a single thread (the only state in which `fork` keeps a process sound).
pub fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1)
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills both descriptors on success; each is owned exactly once below.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2, not owned elsewhere.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Fork `n` children with `fork_once` (the interpreter's fork: it returns the child's pid in the parent, 0 in the
/// child). `pipes`: give each child a pipe on which the parent will write its master's address. The caller has
/// checked [`single_threaded`].
pub fn fork<E>(
    n: usize,
    pipes: bool,
    mut fork_once: impl FnMut() -> Result<i32, E>,
) -> Result<Forked, E> {
    let mut pids = Vec::new();
    let mut writers: Vec<Pipe> = Vec::new();
    for _ in 0..n {
        let ends = if pipes { pipe().ok() } else { None };
        let pid = fork_once()?;
        if pid == 0 {
            // the siblings' pipes stay with the parent: a child holding one would keep it from ending
            drop(writers);
            return Ok(Forked::Child {
                master: ends.map(|(r, _)| Pipe(r)),
            });
        }
        pids.push(pid as libc::pid_t);
        if let Some((_, w)) = ends {
            writers.push(Pipe(w));
        }
    }
    Ok(Forked::Parent {
        children: Children { pids },
        pipes: writers,
    })
}

static MASTER_PIPE: std::sync::Mutex<Option<Pipe>> = std::sync::Mutex::new(None);

/// A forked child of a master: keep the pipe on which its master's address will come (read when it connects).
pub fn expect_master_address(pipe: Pipe) {
    if let Ok(mut slot) = MASTER_PIPE.lock() {
        *slot = Some(pipe);
    }
}

/// A forked child of a master: its master's `host:port`, once the parent has bound it (blocks until then). `None`
/// for any other process, or when the parent ended without binding.
pub fn master_address() -> Option<Option<String>> {
    let pipe = MASTER_PIPE.lock().ok()?.take()?;
    Some(pipe.receive())
}

impl Pipe {
    /// Parent: tell the child its master's address.
    pub fn send(self, host: &str, port: u16) {
        let mut f = std::fs::File::from(self.0);
        let _ = writeln!(f, "{host}:{port}");
    }

    /// Child: wait for the address (`None` when the parent ended without binding).
    pub fn receive(self) -> Option<String> {
        let mut f = std::fs::File::from(self.0);
        let mut text = String::new();
        f.read_to_string(&mut text).ok()?;
        let line = text.lines().next()?.trim().to_owned();
        (!line.is_empty()).then_some(line)
    }
}

impl Children {
    /// Locust's line for each child, once logging is set up.
    pub fn log_started(&self) {
        log_started(&self.pids);
    }

    /// The master is done (Locust's `kill_workers` at exit): give the children 3 s to end by themselves (they
    /// got `quit`), then SIGINT the rest and wait for them. Logs "Bad response code from worker children" above 1.
    pub fn reap(mut self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut code = 0;
        let mut left = Vec::new();
        for pid in self.pids.drain(..) {
            match wait_until(pid, deadline) {
                Some(c) => code = code.max(c),
                None => left.push(pid),
            }
        }
        self.pids = left;
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
        for &pid in &self.pids {
            log::log(
                log::Level::Debug,
                "root",
                &format!("Sending SIGINT to child with pid {pid}"),
            );
            signal(pid, libc::SIGINT);
        }
        let mut code = 0;
        for pid in self.pids.drain(..) {
            // a child that ignores SIGINT for 60 s is killed
            let c = wait_until(pid, Instant::now() + Duration::from_secs(60)).or_else(|| {
                signal(pid, libc::SIGKILL);
                wait_until(pid, Instant::now() + Duration::from_secs(5))
            });
            code = code.max(c.unwrap_or(0));
        }
        code
    }

    /// `--worker --processes N`: only wait for the children (the first Ctrl+C is theirs; a second one kills them)
    /// and exit with the highest code.
    pub fn wait_all(mut self) -> i32 {
        let interrupts = ignore_sigint();
        let mut code = 0;
        let mut killed = false;
        while !self.pids.is_empty() {
            if !killed && interrupts.load(std::sync::atomic::Ordering::Relaxed) >= 2 {
                for &pid in &self.pids {
                    log::log(
                        log::Level::Debug,
                        "root",
                        &format!("Sending SIGKILL to child with pid {pid}"),
                    );
                    signal(pid, libc::SIGKILL);
                }
                killed = true;
            }
            self.pids.retain(|&pid| match try_wait(pid) {
                Waited::Exited(c) => {
                    code = code.max(c);
                    false
                }
                Waited::Running => true,
                Waited::Gone => false,
            });
            std::thread::sleep(Duration::from_millis(20));
        }
        if killed { 1 } else { code }
    }
}

impl Drop for Children {
    /// The master ended early (an error): as at its normal end, the children get 3 s to end by themselves (they
    /// may be reporting the same error), then SIGINT.
    fn drop(&mut self) {
        if !self.pids.is_empty() {
            let deadline = Instant::now() + Duration::from_secs(3);
            self.pids.retain(|&pid| wait_until(pid, deadline).is_none());
            self.interrupt_and_reap();
        }
    }
}

fn signal(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill() of our own child; one already reaped is at worst ESRCH.
    unsafe {
        libc::kill(pid, sig);
    }
}

enum Waited {
    Exited(i32),
    Running,
    /// Not our child (any more).
    Gone,
}

fn try_wait(pid: libc::pid_t) -> Waited {
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid on our own child with WNOHANG; `status` is written on success.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return Waited::Running;
    }
    if r < 0 {
        return Waited::Gone;
    }
    if libc::WIFEXITED(status) {
        Waited::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Waited::Exited(-libc::WTERMSIG(status))
    } else {
        Waited::Running
    }
}

/// Wait for `pid` until `deadline`: its exit code, or `None` when it still runs (or cannot be waited for).
fn wait_until(pid: libc::pid_t, deadline: Instant) -> Option<i32> {
    loop {
        match try_wait(pid) {
            Waited::Exited(c) => return Some(c),
            Waited::Gone => return None,
            Waited::Running if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Waited::Running => return None,
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

    #[test]
    fn a_pipe_carries_the_address_and_ends_empty_without_it() {
        let (r, w) = pipe().unwrap();
        Pipe(w).send("127.0.0.1", 5557);
        assert_eq!(Pipe(r).receive().as_deref(), Some("127.0.0.1:5557"));
        let (r, w) = pipe().unwrap();
        drop(w);
        assert_eq!(Pipe(r).receive(), None);
    }
}
