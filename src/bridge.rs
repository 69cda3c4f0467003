//! The hand-off between tokio and the one thread that runs Python (the "hub").
//!
//! Tokio tasks push finished HTTP exchanges and runner commands onto one queue; the first push into an empty
//! queue writes an eventfd that gevent's loop watches, and the hub drains everything in one batch. Commands
//! carry an id; the hub acknowledges each one when it is done so the runner can await it. Plain Rust: this
//! module never touches Python (the `py` module turns items into Python objects on the hub thread).
use crate::http::Completed;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What the runner asks the hub to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Start `count` users of `class`.
    Spawn { class: String, count: u64 },
    /// Stop `count` users of `class`, most recently started first; wait up to `timeout` s for a graceful stop
    /// (0: kill at once).
    Stop {
        class: String,
        count: u64,
        timeout: f64,
    },
    /// Fire a Locust event on the hub with number keyword arguments (`user_count=`, `cpu_usage=` …) or none.
    Fire {
        event: String,
        kwargs: Vec<(String, Arg)>,
    },
    /// Leave the hub loop: the test is over.
    Quit,
}

/// A keyword argument of a fired event: Python `int` or `float`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg {
    Int(i64),
    Float(f64),
}

pub enum Item {
    Http {
        ticket: u64,
        done: Box<Completed>,
    },
    Command {
        id: u64,
        command: Command,
    },
    /// Nothing to do: proves the hub still drains (see [`Bridge::ping`]).
    Ping,
}

/// The queued items and when the oldest of them was queued (how long the hub has left work waiting).
struct Queue {
    items: Vec<Item>,
    since: Option<Instant>,
}

pub struct Bridge {
    queue: Mutex<Queue>,
    efd: RawFd,
    next_id: AtomicU64,
    acks: Mutex<HashMap<u64, oneshot::Sender<bool>>>,
}

impl Bridge {
    pub fn new() -> std::io::Result<Bridge> {
        // SAFETY: plain syscall; the fd is owned by the Bridge and closed in Drop.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Bridge {
            queue: Mutex::new(Queue {
                items: Vec::with_capacity(1024),
                since: None,
            }),
            efd,
            next_id: AtomicU64::new(1),
            acks: Mutex::new(HashMap::new()),
        })
    }

    /// The fd gevent's loop watches for readability.
    pub fn fd(&self) -> RawFd {
        self.efd
    }

    pub fn next_ticket(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn push(&self, item: Item) {
        let was_empty = {
            let mut q = self.queue.lock();
            let was_empty = q.items.is_empty();
            if was_empty {
                q.since = Some(Instant::now());
            }
            q.items.push(item);
            was_empty
        };
        if was_empty {
            let one: u64 = 1;
            // SAFETY: writing 8 bytes from a valid u64 to our eventfd.
            unsafe { libc::write(self.efd, (&one as *const u64).cast(), 8) };
        }
    }

    /// Take everything queued (called on the hub thread when the fd is readable).
    pub fn drain(&self) -> Vec<Item> {
        let mut buf: u64 = 0;
        // SAFETY: reading 8 bytes into a valid u64 from our non-blocking eventfd.
        unsafe { libc::read(self.efd, (&mut buf as *mut u64).cast(), 8) };
        let mut q = self.queue.lock();
        q.since = None;
        std::mem::take(&mut q.items)
    }

    /// Queue a [`Item::Ping`] if nothing is queued, so [`Bridge::waiting_for`] measures whether the hub still runs
    /// even when nobody else has anything for it.
    pub fn ping(&self) {
        if self.queue.lock().items.is_empty() {
            self.push(Item::Ping);
        }
    }

    /// How long the oldest queued item has waited for the hub (zero when nothing waits). A hub that leaves work
    /// waiting for seconds is not running: a task that never yields, or Python blocked in C code.
    pub fn waiting_for(&self) -> Duration {
        self.queue
            .lock()
            .since
            .map(|t| t.elapsed())
            .unwrap_or(Duration::ZERO)
    }

    /// Queue a command and get a receiver that completes when the hub acknowledges it: `true` when the command
    /// was carried out, `false` when it failed (e.g. a User's `__init__` raised while spawning).
    pub fn command(&self, command: Command) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        let id = self.next_ticket();
        self.acks.lock().insert(id, tx);
        self.push(Item::Command { id, command });
        rx
    }

    /// Called by the hub when command `id` is done (`ok`: it succeeded).
    pub fn ack(&self, id: u64, ok: bool) {
        if let Some(tx) = self.acks.lock().remove(&id) {
            let _ = tx.send(ok);
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // SAFETY: closing the fd we opened.
        unsafe { libc::close(self.efd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_push_wakes_and_drain_takes_all_in_order() {
        let b = Bridge::new().unwrap();
        drop(b.command(Command::Quit));
        drop(b.command(Command::Spawn {
            class: "A".into(),
            count: 2,
        }));
        let mut v: u64 = 0;
        let n = unsafe { libc::read(b.fd(), (&mut v as *mut u64).cast(), 8) };
        assert_eq!((n, v), (8, 1), "only the first push writes the fd");
        let items = b.drain();
        assert_eq!(items.len(), 2);
        assert!(matches!(
            &items[0],
            Item::Command {
                command: Command::Quit,
                ..
            }
        ));
        assert!(b.drain().is_empty());
        assert_eq!(b.waiting_for(), Duration::ZERO);
    }

    #[test]
    fn waiting_time_runs_from_the_first_undrained_push() {
        let b = Bridge::new().unwrap();
        assert_eq!(b.waiting_for(), Duration::ZERO);
        drop(b.command(Command::Quit));
        std::thread::sleep(Duration::from_millis(20));
        drop(b.command(Command::Quit));
        assert!(b.waiting_for() >= Duration::from_millis(20));
        b.drain();
        assert_eq!(b.waiting_for(), Duration::ZERO);
    }

    #[test]
    fn ack_completes_the_waiter() {
        let b = Bridge::new().unwrap();
        let mut rx = b.command(Command::Quit);
        let id = match &b.drain()[0] {
            Item::Command { id, .. } => *id,
            _ => unreachable!(),
        };
        assert!(rx.try_recv().is_err());
        b.ack(id, false);
        assert_eq!(rx.try_recv(), Ok(false));
    }
}
