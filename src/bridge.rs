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
    Http { ticket: u64, done: Box<Completed> },
    Command { id: u64, command: Command },
}

pub struct Bridge {
    queue: Mutex<Vec<Item>>,
    efd: RawFd,
    next_id: AtomicU64,
    acks: Mutex<HashMap<u64, oneshot::Sender<()>>>,
}

impl Bridge {
    pub fn new() -> std::io::Result<Bridge> {
        // SAFETY: plain syscall; the fd is owned by the Bridge and closed in Drop.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Bridge {
            queue: Mutex::new(Vec::with_capacity(1024)),
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
            let was_empty = q.is_empty();
            q.push(item);
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
        std::mem::take(&mut *self.queue.lock())
    }

    /// Queue a command and get a receiver that completes when the hub acknowledges it.
    pub fn command(&self, command: Command) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let id = self.next_ticket();
        self.acks.lock().insert(id, tx);
        self.push(Item::Command { id, command });
        rx
    }

    /// Called by the hub when command `id` is done.
    pub fn ack(&self, id: u64) {
        if let Some(tx) = self.acks.lock().remove(&id) {
            let _ = tx.send(());
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
        b.ack(id);
        assert!(rx.try_recv().is_ok());
    }
}
