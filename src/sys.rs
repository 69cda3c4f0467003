//! The operating system's calls, as safe functions: host name, local time, the terminal (width, cbreak mode,
//! polling stdin), the open-file limit, CPU clocks and memory (transparent huge pages, the allocator's collection),
//! signal dispositions, an eventfd, and `gai_strerror`. Each `unsafe` block carries its `// SAFETY:` reasoning
//! here, once, so the rest of the crate calls plain Rust functions.
//!
//! Who calls it: `log` (host name, asctime), `web` (download names), `app` (terminal width, open-file limit),
//! `runner` (keyboard, watchdog, CPU monitor), `bridge` (its eventfd), `http` (resolver messages), `otel` and the
//! distributed protocol (host name).
//!
//! What it must not do: import anything of the crate, keep state beyond what the OS holds (the terminal settings
//! to restore are the one exception), or decide policy (what to print, when to exit): callers do that.
//!
//! To add an OS call: a safe function here with its `// SAFETY:` line on the `unsafe` block (clippy's
//! `undocumented_unsafe_blocks` asks for it), taking and returning plain Rust values; callers never see a raw
//! pointer.
//!
//! Left where they are, on purpose: the socket calls of `http::conn` (a `recv(MSG_PEEK)` on an idle connection,
//! the receive timestamps of `conn::stamp`, both on the request path, tied to the connection's buffers), the child
//! processes of `--processes` (fork, pipes, kill and waitpid in `distributed::processes`, rewritten with the distributed
//! master) and the interpreter's own C API in `interp`.

use std::io;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::time::Duration;

/// The machine's host name as Python's `socket.gethostname()` gives it ("localhost" when the OS will not say).
/// Read once.
pub fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: buf is valid for its length; gethostname writes at most that many bytes (NUL-terminated on
        // success, and the search below stops at the buffer's end when it is not).
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return "localhost".to_owned();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    })
}

/// A moment in local time, broken down as C's `struct tm` (but with the real year and a 1-based month).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: i32,
    pub day: i32,
    pub hour: i32,
    pub minute: i32,
    pub second: i32,
}

/// Unix seconds in the local time zone (`localtime_r`; TZ as the C library reads it).
pub fn localtime(secs: i64) -> LocalTime {
    let secs = secs as libc::time_t;
    // SAFETY: tm is plain data (all-zero is a valid value).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid; localtime_r writes tm fully on success and leaves it as it was on failure.
    unsafe { libc::localtime_r(&secs, &mut tm) };
    LocalTime {
        year: tm.tm_year + 1900,
        month: tm.tm_mon + 1,
        day: tm.tm_mday,
        hour: tm.tm_hour,
        minute: tm.tm_min,
        second: tm.tm_sec,
    }
}

/// The columns of the terminal on stdout; None when stdout is no terminal or the size is unknown.
pub fn stdout_columns() -> Option<u16> {
    // SAFETY: winsize is plain data (all-zero is a valid value).
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills a valid winsize for a tty fd, and is asked only when fd 1 is one.
    let ok = unsafe { libc::isatty(1) == 1 && libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 };
    (ok && ws.ws_col > 0).then_some(ws.ws_col)
}

/// Raise the soft limit of open files to `minimum` (within the hard limit). Ok when it already was that high or
/// was raised; Err(the soft limit) when the OS did not allow it.
pub fn raise_open_files(minimum: u64) -> Result<(), u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write a valid rlimit struct owned by this frame.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 || limit.rlim_cur >= minimum
    {
        return Ok(());
    }
    let raised = libc::rlimit {
        rlim_cur: minimum,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: as above.
    if limit.rlim_max < minimum || unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(limit.rlim_cur);
    }
    Ok(())
}

/// A CPU-time clock of one thread, readable from any thread.
#[derive(Clone, Copy)]
pub struct ThreadClock(libc::clockid_t);

impl ThreadClock {
    /// The clock of the calling thread.
    pub fn current() -> Option<ThreadClock> {
        let mut id: libc::clockid_t = 0;
        // SAFETY: pthread_self is always valid for the calling thread; id is written on success.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
        (rc == 0).then_some(ThreadClock(id))
    }

    /// CPU seconds the thread has used.
    pub fn seconds(self) -> Option<f64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid out-pointer; an invalid clock id returns an error, not UB.
        let rc = unsafe { libc::clock_gettime(self.0, &mut ts) };
        (rc == 0).then(|| ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
    }
}

/// Resident set size of this process in bytes (0 if unknown).
pub fn rss_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

/// Stop the kernel from backing this process's memory with transparent huge pages from now on (Linux's
/// `PR_SET_THP_DISABLE`, checked when a page is first touched, and kept by `--processes`' children). Returns whether
/// the kernel took it.
pub fn disable_transparent_huge_pages() -> bool {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and changes only this process's flag.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, 0, 0, 0) == 0 }
}

/// Have the allocator (mimalloc, the global allocator) give the calling thread's empty pages back and return what
/// it freed to the OS now (`mi_collect(true)`, forced: the unforced call gave nothing back at 10,000 users).
pub fn allocator_collect() {
    // SAFETY: mi_collect takes a plain bool and only touches the calling thread's heap and the shared arenas,
    // which mimalloc synchronizes itself.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// CPU seconds (user + system) used by the whole process.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: rusage is plain data (all-zero is a valid value).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is a valid out-pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// End the process now with `code`, without exit handlers or flushing (the caller flushes what it must).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions; it does not return.
    unsafe { libc::_exit(code) }
}

/// Whether SIGINT's disposition is "ignore" (inherited from a shell's background job or `nohup`).
pub fn sigint_ignored() -> bool {
    // SAFETY: querying the current disposition with a null new action changes nothing; `old` is plain data and a
    // valid out-pointer.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Set SIGINT's disposition to "ignore".
pub fn ignore_sigint() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

/// The message of a `getaddrinfo` error code (`gai_strerror`).
pub fn gai_strerror(code: i32) -> String {
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated message for any code.
    unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(code)) }
        .to_string_lossy()
        .into_owned()
}

/// A non-blocking eventfd counter (close-on-exec), closed when dropped: one thread signals, another waits on
/// the descriptor's readability and drains it.
pub struct EventFd(RawFd);

impl EventFd {
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain syscall; the fd is owned by the EventFd and closed in Drop.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EventFd(fd))
    }

    pub fn fd(&self) -> RawFd {
        self.0
    }

    /// Add one to the counter (the descriptor becomes readable).
    #[inline]
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.0, (&one as *const u64).cast(), 8) };
    }

    /// Take the counter (0 when it was 0: the descriptor is non-blocking); the descriptor is no longer readable.
    #[inline]
    pub fn drain(&self) -> u64 {
        let mut buf: u64 = 0;
        // SAFETY: reading 8 bytes into a valid u64 from our non-blocking eventfd.
        unsafe { libc::read(self.0, (&mut buf as *mut u64).cast(), 8) };
        buf
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: closing the fd we opened, once.
        unsafe { libc::close(self.0) };
    }
}

/// Why stdin cannot take keys, if it cannot: no terminal, or a terminal whose foreground job is another.
pub fn stdin_keys_unusable() -> Option<&'static str> {
    // SAFETY: isatty/tcgetpgrp/getpgrp only read the state of file descriptor 0 and of this process.
    unsafe {
        if libc::isatty(0) != 1 {
            return Some("Terminal was not a tty. Keyboard input disabled");
        }
        let fg = libc::tcgetpgrp(0);
        // (on a terminal that is not our controlling terminal tcgetpgrp fails: nobody to stop us then)
        if fg > 0 && fg != libc::getpgrp() {
            return Some(
                "Terminal belongs to the foreground job, not to this background process. Keyboard input disabled",
            );
        }
    }
    None
}

/// The terminal settings of stdin, as they were before [`stdin_cbreak`] changed them.
pub struct SavedTerminal(libc::termios);

/// Put stdin in cbreak mode (no echo, a key at a time). Err when the terminal refused; the saved settings (to
/// give [`restore_terminal`]) come with either answer when they could be read.
pub fn stdin_cbreak() -> (Option<SavedTerminal>, io::Result<()>) {
    // SAFETY: termios is plain data and `saved` a valid out-pointer for tcgetattr; tcsetattr gets a termios
    // derived from it.
    unsafe {
        let mut saved: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut saved) != 0 {
            return (None, Err(io::Error::last_os_error()));
        }
        let mut raw = saved;
        raw.c_lflag &= !(libc::ECHO | libc::ICANON);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        let set = if libc::tcsetattr(0, libc::TCSANOW, &raw) == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        };
        (Some(SavedTerminal(saved)), set)
    }
}

/// Give stdin back the settings [`stdin_cbreak`] saved.
pub fn restore_terminal(saved: SavedTerminal) {
    // SAFETY: `saved` came from tcgetattr on the same descriptor.
    unsafe {
        libc::tcsetattr(0, libc::TCSANOW, &saved.0);
    }
}

/// What waiting on stdin found.
#[derive(Debug, PartialEq, Eq)]
pub enum StdinReady {
    /// Nothing within the timeout (or a signal interrupted the wait).
    Nothing,
    /// A byte can be read.
    Readable,
    /// The terminal went away (hang-up or error with nothing to read).
    Gone,
}

/// Wait up to `timeout` for stdin to become readable.
pub fn poll_stdin(timeout: Duration) -> io::Result<StdinReady> {
    let mut fds = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut fds, 1, timeout.as_millis() as libc::c_int) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(StdinReady::Nothing)
        } else {
            Err(e)
        };
    }
    if n == 0 {
        return Ok(StdinReady::Nothing);
    }
    if fds.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
        && fds.revents & libc::POLLIN == 0
    {
        return Ok(StdinReady::Gone);
    }
    Ok(StdinReady::Readable)
}

/// Read one byte of stdin: Some(byte), None at its end, or the OS error (Interrupted and WouldBlock are the
/// caller's to retry).
pub fn read_stdin_byte() -> io::Result<Option<u8>> {
    let mut byte = 0u8;
    // SAFETY: reads at most one byte into `byte`.
    let got = unsafe { libc::read(0, (&mut byte as *mut u8).cast(), 1) };
    match got {
        1 => Ok(Some(byte)),
        0 => Ok(None),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventfd_counts_signals_and_drains_to_zero() {
        let e = EventFd::new().unwrap();
        assert_eq!(e.drain(), 0);
        e.signal();
        e.signal();
        assert_eq!(e.drain(), 2);
        assert_eq!(e.drain(), 0);
    }

    #[test]
    fn localtime_of_a_known_moment_in_utc() {
        // (TZ is whatever the test process has; the date of noon UTC is the same in every zone within ±11 h)
        let t = localtime(1_700_000_000 - 1_700_000_000 % 86_400 + 43_200);
        assert_eq!((t.year, t.month, t.day), (2023, 11, 14));
        assert!((0..24).contains(&t.hour) && (0..60).contains(&t.minute));
    }

    #[test]
    fn hostname_is_read_once_without_its_nul() {
        let h = hostname();
        assert!(!h.contains('\0'));
        assert_eq!(h, hostname());
    }

    #[test]
    fn gai_strerror_names_the_error() {
        assert!(!gai_strerror(libc::EAI_NONAME).is_empty());
    }
}
