//! The hand-off between tokio and the one thread that runs Python (the "hub").
//!
//! Two kinds of message travel to the hub: finished HTTP calls ([`Completion`]s, ~60k/s at full load; with them
//! the pieces of streamed bodies and the wake-ups of users whose waits are over, `engine::timers`) and runner
//! commands ([`IssuedCommand`]s, a few per second). Plain Rust: this module never touches Python (the `py` module
//! turns drained messages into Python objects on the hub thread).
//!
//! Invariants (the rest of the program relies on each):
//! - **Producers.** Any thread may push. Completions come only from `engine` (one per ticket, exactly once, on a
//!   tokio worker); commands only through [`Bridge::command`] (the runner's tasks, and the web server's
//!   [`Command::Web`] actions) and [`Bridge::web_request`] (the web server's [`Command::WebRequest`]s, requests
//!   for the locustfile's Flask routes); pings only from the watchdog.
//! - **One consumer.** Only the hub thread drains ([`Bridge::drain_into`]), when gevent's loop sees the eventfd
//!   readable. Each drain takes everything queued at that moment.
//! - **Wake protocol.** The push that finds the queue empty (no completion, no command, no ping) writes 1 to the
//!   eventfd; every later push into the non-empty queue writes nothing. A drain first reads the eventfd (resetting
//!   it to 0), then takes the queue under its lock. So no wake-up is lost: a push that lands after the take finds
//!   the queue empty and writes again. A wake-up may be spurious (the push between the read and the take already
//!   wrote, and its item went with the take): the hub then drains nothing.
//! - **Owed wake-ups.** On a worker of the I/O runtime (from its first park) the write of a push into the empty
//!   queue is owed instead, and paid by the first of: the worker parking ([`before_park`], its ready work done),
//!   any later push once the first has waited `MAX_DEFER` (200 µs), a command, the watchdog's ping. A drain takes
//!   what is queued and cancels the debt with it. Every owed write is paid exactly once or cancelled by a drain
//!   that took its items.
//!   NOTE: a write per batch woke the hub while the worker still had responses to read; the hub then preempted it
//!   (2 cores, nginx on one), drained a part and slept again. Paying at the park: CPU per request 0.900 of before
//!   with `bench/simultaneous.py` (the hub thread 4.3 → 3.4 µs a request), docs/performance.md. Under full load a
//!   worker rarely parks, and `MAX_DEFER` sets the batch: at 50 µs the hub was woken 0.185 times a request, at
//!   200 µs 0.11 times, and a request cost about 0.95 of before (at 1 ms the hub idles and throughput falls).
//! - **Ids.** Tickets ([`Bridge::next_ticket`]) and command ids come from one counter: unique, non-zero and
//!   increasing, so a ticket is never taken for a command id or the other way round.
//! - **Ordering.** Completions are drained in the order they were pushed; so are commands (the order the runner
//!   issued them is the order the hub starts them). Between a completion and a command in one batch there is no
//!   order (their producers are independent): the hub starts the batch's commands, each in a new greenlet that
//!   runs at its next turn, then resumes the users of the batch's completions.
//! - **Acknowledgements.** [`Bridge::command`] registers the waiter before the command is queued. The hub
//!   acknowledges every command exactly once, when it is done ([`Bridge::ack`], `ok == false` only when a spawn
//!   failed); an acknowledgement of an unknown id does nothing. A command the hub never acknowledges (e.g. a
//!   spawn whose User `__init__` blocks, or a command still running when the hub left its loop on `Quit`) keeps
//!   its waiter pending until the bridge is dropped, when the receiver fails: the runner never waits for an
//!   acknowledgement without also watching its control channel. The hub acknowledges `Quit` before it leaves its
//!   loop.
//! - **Web replies.** A [`Command::WebRequest`] has a reply waiter instead of an acknowledgement waiter, also
//!   registered before the command is queued. The hub answers it with [`Bridge::web_reply`] and then acknowledges
//!   it like any command: the acknowledgement drops a waiter still unanswered (the hub failed to build a
//!   reply), so the web handler learns of it at once. A waiter the web handler gave up on ([`Bridge::forget`],
//!   after its time limit) is removed; a reply for it, or for any unknown id, does nothing.
use crate::http::Completed;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What the runner asks the hub to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start `count` users of the class named `class`.
    Spawn { class: String, count: u64 },
    /// Stop `users`; wait up to `timeout` s for a graceful stop (0: kill at once).
    Stop { users: StopWhat, timeout: f64 },
    /// Fire a Locust event on the hub with number keyword arguments (`user_count=`, `cpu_usage=` …) or none.
    Fire {
        event: String,
        kwargs: Vec<(String, Arg)>,
    },
    /// A web API action that needs Python (`src/web`): `action` names it (`swarm`, `user`, `reset_stats`),
    /// `payload` is its JSON argument. Acknowledged with `ok == false` when the action raised.
    Web { action: String, payload: String },
    /// An HTTP request for the locustfile's Flask routes (`web::python_routes`), answered with
    /// [`Bridge::web_reply`]. Boxed: the request is large and rare.
    WebRequest(Box<WebRequest>),
    /// A message another node sent (`src/distributed`), for Python: on a worker the master's `update_user_class` or a
    /// locustfile's own message type (`runner.register_message`), on a master a locustfile's own type. `data`
    /// becomes the Python value Locust's msgpack decoding gives. Never one of the runners' own commands
    /// ([`Command::Own`]): what comes off the network is told apart from them by its variant.
    Dist {
        kind: String,
        data: crate::msgpack::Value,
        node_id: String,
    },
    /// A command of the Rust runners for the shim's runner (`_start_shape`, `_end_shape`, `_worker_report`,
    /// `_open_mode`, `_spawn_options`, `_report_to_master`). The kind is a constant of the code (`&'static str`),
    /// so nothing a peer sends can become one.
    Own {
        kind: &'static str,
        data: crate::msgpack::Value,
        node_id: String,
    },
    /// Leave the hub loop: the test is over.
    Quit,
}

/// A request the Rust web server does not serve itself, for the locustfile's WSGI (Flask) app. Texts are WSGI
/// "native strings": the request's bytes as Latin-1, so any byte survives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebRequest {
    pub method: String,
    /// The path as sent (still percent-encoded), the full path (Locust's own app serves routes added with
    /// `app.route` at the root, outside `--web-base-path`).
    pub path: String,
    /// The query string without `?` (`""` when none).
    pub query: String,
    /// Header names (lower case) and values, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub remote_addr: String,
    pub remote_port: u16,
    /// `http` or `https`.
    pub scheme: String,
    /// The address the server is bound to (WSGI `SERVER_NAME`/`SERVER_PORT`).
    pub server_name: String,
    pub server_port: u16,
}

/// The WSGI app's answer to a [`WebRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebReply {
    pub status: u16,
    /// Names and values as the app gave them (values as bytes: WSGI allows any Latin-1 text).
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Which users a [`Command::Stop`] stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopWhat {
    /// Every user of every class (Locust's `stop()`): the hub also ends a spawn still in progress and the shape.
    All,
    /// `count` users of the class named `class`, most recently started first (a step of a ramp down).
    Class { class: String, count: u64 },
}

/// A keyword argument of a fired event: Python `int` or `float`.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    Float(f64),
    Str(String),
}

/// A finished HTTP call for the user parked on `ticket`.
#[derive(Debug)]
pub struct Completion {
    pub ticket: u64,
    /// Boxed: the queue moves 16-byte entries, whatever the size of a call's data.
    pub done: Box<Completed>,
}

/// The next piece of a streamed response body for the user parked on `ticket` (`stream=True`): its bytes,
/// `None` at the end of the body, or the exception the client raises reading it.
#[derive(Debug)]
pub struct Piece {
    pub ticket: u64,
    pub data: Result<Option<bytes::Bytes>, Box<crate::http::wire::exc::PyExc>>,
}

/// A command for the hub; `id` is what the hub acknowledges.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedCommand {
    pub id: u64,
    pub command: Command,
}

/// One drain's worth of messages: completions and commands, each in push order.
#[derive(Debug, Default)]
pub struct Drained {
    pub completions: Vec<Completion>,
    pub commands: Vec<IssuedCommand>,
    /// Pieces of streamed bodies (rare: only calls with `stream=True` read them).
    pub pieces: Vec<Piece>,
    /// Tickets of users' waits that are over (`engine::timers`).
    pub wakes: Vec<u64>,
    /// How long the first message of the batch waited in the queue before this drain, and how many completions
    /// the batch brought (the generator's hub lateness, which the drain's caller records: `engine::record`).
    pub waited: Option<(Duration, u64)>,
}

impl Drained {
    /// No buffers yet (a `const` for statics).
    pub const fn new() -> Drained {
        Drained {
            completions: Vec::new(),
            commands: Vec::new(),
            pieces: Vec::new(),
            wakes: Vec::new(),
            waited: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.completions.is_empty()
            && self.commands.is_empty()
            && self.pieces.is_empty()
            && self.wakes.is_empty()
    }
}

/// The queued messages, whether the watchdog's ping waits, and when the oldest of them was queued (how long the
/// hub has left work waiting).
struct Queue {
    waiting: Drained,
    pinged: bool,
    since: Option<Instant>,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.waiting.is_empty() && !self.pinged
    }
}

/// The hub's eventfd, and whether a push into the empty queue left its write owed (see [`Bridge::push_deferred`]).
struct Wake {
    efd: crate::sys::EventFd,
    owed: AtomicBool,
}

impl Wake {
    fn pay(&self) {
        if self.owed.swap(false, Ordering::AcqRel) {
            self.efd.signal();
        }
    }
}

/// The longest a pushed message waits for its worker to park before a later push wakes the hub itself.
const MAX_DEFER: Duration = Duration::from_micros(200);

thread_local! {
    /// Whether this thread pays its owed wake-ups when it parks (a worker of the I/O runtime that parked once).
    static DEFERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The wake-up this tokio worker owes (the bridge it last pushed into the empty queue of).
    /// (weak: a bridge dropped meanwhile is owed nothing, and its eventfd closes with it)
    static OWED: std::cell::RefCell<Option<Weak<Wake>>> = const { std::cell::RefCell::new(None) };
}

/// The I/O runtime's `on_thread_park` hook: the worker has no more ready work; the wake-up its pushes owe is paid
/// now, so one write wakes the hub for everything it queued since, and the hub does not preempt it mid-batch. From
/// its first park on, the thread's pushes defer their wake-up to this hook (only a worker parks: a thread of the
/// blocking pool, which never would, keeps waking the hub at once).
pub fn before_park() {
    DEFERS.set(true);
    OWED.with(|owed| {
        if let Some(w) = owed.borrow().as_ref().and_then(Weak::upgrade) {
            w.pay();
        }
    });
}

pub struct Bridge {
    queue: Mutex<Queue>,
    wake: Arc<Wake>,
    next_id: AtomicU64,
    acks: Mutex<HashMap<u64, oneshot::Sender<bool>>>,
    replies: Mutex<HashMap<u64, oneshot::Sender<WebReply>>>,
    /// Tickets whose user was killed while it waited (see [`Bridge::abandon`]); `any_abandoned` spares the
    /// completions the lock while the set is empty (all the time, outside stops).
    abandoned: Mutex<std::collections::HashSet<u64>>,
    any_abandoned: std::sync::atomic::AtomicBool,
}

impl Bridge {
    pub fn new() -> std::io::Result<Bridge> {
        let wake = Arc::new(Wake {
            efd: crate::sys::EventFd::new()?,
            owed: AtomicBool::new(false),
        });
        Ok(Bridge {
            queue: Mutex::new(Queue {
                waiting: Drained {
                    completions: Vec::with_capacity(1024),
                    commands: Vec::new(),
                    pieces: Vec::new(),
                    wakes: Vec::with_capacity(1024),
                    waited: None,
                },
                pinged: false,
                since: None,
            }),
            wake,
            next_id: AtomicU64::new(1),
            acks: Mutex::new(HashMap::new()),
            replies: Mutex::new(HashMap::new()),
            abandoned: Mutex::new(std::collections::HashSet::new()),
            any_abandoned: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The fd gevent's loop watches for readability.
    pub fn fd(&self) -> RawFd {
        self.wake.efd.fd()
    }

    /// A new ticket (or command id): see the module's invariants.
    pub fn next_ticket(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queue with `add` and wake the hub if the queue was empty (or a deferred wake-up is owed).
    fn push(&self, add: impl FnOnce(&mut Queue)) {
        let (was_empty, _) = self.enqueue(add, false);
        if was_empty || self.wake.owed.swap(false, Ordering::AcqRel) {
            self.wake.efd.signal();
        }
    }

    /// Queue with `add` from a tokio worker: the wake-up a push into the empty queue owes is paid when the worker
    /// parks (its ready work done), or by a later push once the first has waited `MAX_DEFER`. A thread that has
    /// never parked as a worker (any other, the blocking pool's included) wakes the hub at once.
    fn push_deferred(&self, add: impl FnOnce(&mut Queue)) {
        if !DEFERS.get() {
            return self.push(add);
        }
        let (was_empty, overdue) = self.enqueue(add, true);
        if was_empty {
            OWED.with(|owed| {
                let mut owed = owed.borrow_mut();
                if !owed
                    .as_ref()
                    .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&self.wake)))
                    && let Some(other) = owed.replace(Arc::downgrade(&self.wake))
                    && let Some(other) = other.upgrade()
                {
                    other.pay();
                }
            });
        } else if overdue {
            self.wake.pay();
        }
    }

    /// `add` under the queue's lock: whether the queue was empty (its age starts now, and with `owe` the wake-up is
    /// owed, set under the lock a drain clears it under), and whether a write still owed is overdue.
    fn enqueue(&self, add: impl FnOnce(&mut Queue), owe: bool) -> (bool, bool) {
        let mut q = self.queue.lock();
        let was_empty = q.is_empty();
        let mut overdue = false;
        if was_empty {
            q.since = Some(Instant::now());
            if owe {
                self.wake.owed.store(true, Ordering::Release);
            }
        } else if owe && self.wake.owed.load(Ordering::Relaxed) {
            // (the clock read only while a write is owed: not per completion once the hub was woken)
            overdue = q.since.is_some_and(|t| t.elapsed() >= MAX_DEFER);
        }
        add(&mut q);
        (was_empty, overdue)
    }

    /// The user waiting on call `ticket` was killed (a stop): the call is not recorded when it completes, as a
    /// killed Locust user records nothing for the request it was in. Hub thread.
    pub fn abandon(&self, ticket: u64) {
        self.abandoned.lock().insert(ticket);
        self.any_abandoned.store(true, Ordering::Release);
    }

    /// Whether call `ticket` was abandoned (forgetting it): asked once per completion, and by the hub for a
    /// completion nobody waits for (abandoned after it completed).
    pub fn take_abandoned(&self, ticket: u64) -> bool {
        if !self.any_abandoned.load(Ordering::Acquire) {
            return false;
        }
        let mut set = self.abandoned.lock();
        let was = set.remove(&ticket);
        if set.is_empty() {
            self.any_abandoned.store(false, Ordering::Release);
        }
        was
    }

    /// Queue the completion of the call `ticket` (from `engine`, on a tokio worker).
    pub fn complete(&self, ticket: u64, done: Box<Completed>) {
        self.push_deferred(|q| q.waiting.completions.push(Completion { ticket, done }));
    }

    /// Queue the next piece of a streamed body for the user parked on `ticket` (from a tokio worker).
    pub fn piece(&self, piece: Piece) {
        self.push_deferred(|q| q.waiting.pieces.push(piece));
    }

    /// Queue the wake-ups of the users whose waits are over (from `engine::timers`, on a tokio worker).
    pub fn wake(&self, tickets: Vec<u64>) {
        self.push_deferred(|q| {
            if q.waiting.wakes.is_empty() && q.waiting.wakes.capacity() < tickets.capacity() {
                q.waiting.wakes = tickets;
            } else {
                q.waiting.wakes.extend_from_slice(&tickets);
            }
        });
    }

    /// Move everything queued into `into` (called on the hub thread when the fd is readable). `into`'s buffers are
    /// swapped with the queue's when `into` is empty, so a hub that reuses one `Drained` (emptied after each
    /// drain) allocates no new buffers once both have grown to the largest batch.
    pub fn drain_into(&self, into: &mut Drained) {
        self.wake.efd.drain();
        let mut q = self.queue.lock();
        self.wake.owed.store(false, Ordering::Release);
        into.waited = q
            .since
            .take()
            .map(|since| (since.elapsed(), q.waiting.completions.len() as u64));
        q.pinged = false;
        let waiting = &mut q.waiting;
        if into.completions.is_empty() {
            std::mem::swap(&mut into.completions, &mut waiting.completions);
        } else {
            into.completions.append(&mut waiting.completions);
        }
        if into.commands.is_empty() {
            std::mem::swap(&mut into.commands, &mut waiting.commands);
        } else {
            into.commands.append(&mut waiting.commands);
        }
        into.pieces.append(&mut waiting.pieces);
        if into.wakes.is_empty() {
            std::mem::swap(&mut into.wakes, &mut waiting.wakes);
        } else {
            into.wakes.append(&mut waiting.wakes);
        }
    }

    /// Take everything queued (as [`Bridge::drain_into`], into new buffers).
    pub fn drain(&self) -> Drained {
        let mut d = Drained::new();
        self.drain_into(&mut d);
        d
    }

    /// Mark the queue as waiting if nothing is queued, so [`Bridge::waiting_for`] measures whether the hub still
    /// drains even when nobody else has anything for it. A ping wakes the hub like any push and drains as nothing.
    pub fn ping(&self) {
        let empty = self.queue.lock().is_empty();
        if empty {
            self.push(|q| q.pinged = true);
        } else {
            self.wake.pay();
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
        self.push(|q| q.waiting.commands.push(IssuedCommand { id, command }));
        rx
    }

    /// Called by the hub when command `id` is done (`ok`: it succeeded). Drops the reply waiter of a
    /// [`Command::WebRequest`] the hub did not answer.
    pub fn ack(&self, id: u64, ok: bool) {
        if let Some(tx) = self.acks.lock().remove(&id) {
            let _ = tx.send(ok);
        }
        self.replies.lock().remove(&id);
    }

    /// Queue a [`Command::WebRequest`]; returns its id (for [`Bridge::forget`]) and a receiver that completes
    /// with the hub's reply, or fails when the hub acknowledged the request without one.
    pub fn web_request(&self, request: WebRequest) -> (u64, oneshot::Receiver<WebReply>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next_ticket();
        self.replies.lock().insert(id, tx);
        self.push(|q| {
            q.waiting.commands.push(IssuedCommand {
                id,
                command: Command::WebRequest(Box::new(request)),
            })
        });
        (id, rx)
    }

    /// Called by the hub with the reply to the web request `id` (nothing happens when nobody waits for it).
    pub fn web_reply(&self, id: u64, reply: WebReply) {
        if let Some(tx) = self.replies.lock().remove(&id) {
            let _ = tx.send(reply);
        }
    }

    /// The web handler stopped waiting for request `id` (its time limit).
    pub fn forget(&self, id: u64) {
        self.replies.lock().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_fd(b: &Bridge) -> (isize, u64) {
        let mut v: u64 = 0;
        // SAFETY: reading 8 bytes into a valid u64 from the bridge's non-blocking eventfd.
        let n = unsafe { libc::read(b.fd(), (&mut v as *mut u64).cast(), 8) };
        (n, v)
    }

    #[test]
    fn first_push_wakes_and_drain_takes_all_in_order() {
        let b = Bridge::new().unwrap();
        drop(b.command(Command::Quit));
        drop(b.command(Command::Spawn {
            class: "A".into(),
            count: 2,
        }));
        assert_eq!(read_fd(&b), (8, 1), "only the first push writes the fd");
        let d = b.drain();
        let commands: Vec<Command> = d.commands.into_iter().map(|c| c.command).collect();
        assert_eq!(
            commands,
            [
                Command::Quit,
                Command::Spawn {
                    class: "A".into(),
                    count: 2
                }
            ]
        );
        assert!(b.drain().is_empty());
        assert_eq!(b.waiting_for(), Duration::ZERO);
    }

    #[test]
    fn a_push_after_a_drain_wakes_again_and_a_drain_resets_the_fd() {
        let b = Bridge::new().unwrap();
        drop(b.command(Command::Quit));
        b.drain();
        assert_eq!(read_fd(&b).0, -1, "the drain reset the eventfd");
        drop(b.command(Command::Quit));
        assert_eq!(read_fd(&b), (8, 1));
    }

    #[test]
    fn ids_are_unique_across_tickets_and_commands() {
        let b = Bridge::new().unwrap();
        let t1 = b.next_ticket();
        drop(b.command(Command::Quit));
        let t2 = b.next_ticket();
        let id = b.drain().commands[0].id;
        assert!(t1 != 0 && t1 < id && id < t2, "{t1} {id} {t2}");
    }

    #[test]
    fn drain_into_reuses_the_callers_buffers() {
        let b = Bridge::new().unwrap();
        let mut d = Drained::new();
        for _ in 0..3 {
            drop(b.command(Command::Quit));
        }
        b.drain_into(&mut d);
        assert_eq!(d.commands.len(), 3);
        let buf = d.commands.as_ptr();
        d.commands.clear();
        drop(b.command(Command::Quit));
        b.drain_into(&mut d);
        drop(b.command(Command::Quit));
        d.commands.clear();
        b.drain_into(&mut d);
        assert_eq!(d.commands.len(), 1);
        assert_eq!(d.commands.as_ptr(), buf, "the two buffers alternate");
    }

    #[test]
    fn a_ping_wakes_the_hub_and_drains_as_nothing() {
        let b = Bridge::new().unwrap();
        b.ping();
        assert_eq!(read_fd(&b), (8, 1));
        b.ping();
        assert_eq!(
            read_fd(&b).0,
            -1,
            "a second ping while one waits does not write"
        );
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
        let id = b.drain().commands[0].id;
        assert!(rx.try_recv().is_err());
        b.ack(id, false);
        assert_eq!(rx.try_recv(), Ok(false));
        b.ack(id, true); // a second ack of the same id does nothing
    }

    fn web_request() -> WebRequest {
        WebRequest {
            method: "GET".into(),
            path: "/hello".into(),
            query: String::new(),
            headers: vec![],
            body: vec![],
            remote_addr: "127.0.0.1".into(),
            remote_port: 1,
            scheme: "http".into(),
            server_name: "127.0.0.1".into(),
            server_port: 8089,
        }
    }

    #[test]
    fn a_web_reply_reaches_its_waiter_and_an_ack_without_one_fails_it() {
        let b = Bridge::new().unwrap();
        let (id, mut rx) = b.web_request(web_request());
        let d = b.drain();
        assert_eq!(d.commands[0].id, id);
        assert!(matches!(d.commands[0].command, Command::WebRequest(_)));
        let reply = WebReply {
            status: 201,
            headers: vec![("X-A".into(), b"1".to_vec())],
            body: b"hi".to_vec(),
        };
        b.web_reply(id, reply.clone());
        b.ack(id, true);
        assert_eq!(rx.try_recv(), Ok(reply));

        let (id, mut rx) = b.web_request(web_request());
        b.ack(id, false);
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));

        let (id, mut rx) = b.web_request(web_request());
        b.forget(id);
        b.web_reply(
            id,
            WebReply {
                status: 200,
                headers: vec![],
                body: vec![],
            },
        );
        assert!(rx.try_recv().is_err(), "a forgotten waiter gets nothing");
    }

    #[test]
    fn an_unacknowledged_waiter_fails_when_the_bridge_is_dropped() {
        let b = Bridge::new().unwrap();
        let mut rx = b.command(Command::Quit);
        drop(b);
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
    }

    #[test]
    fn a_workers_push_owes_its_wake_until_it_parks() {
        let b = Bridge::new().unwrap();
        before_park(); // (this thread is a worker that parked)
        b.wake(vec![1]);
        b.wake(vec![2]);
        assert_eq!(read_fd(&b).0, -1, "owed, not written");
        before_park();
        assert_eq!(read_fd(&b), (8, 1), "the park pays it once");
        before_park();
        assert_eq!(read_fd(&b).0, -1, "and only once");
        assert_eq!(b.drain().wakes, [1, 2]);
    }

    #[test]
    fn an_owed_wake_is_paid_by_a_command_a_ping_or_an_overdue_push() {
        let b = Bridge::new().unwrap();
        before_park(); // (this thread is a worker that parked)
        b.wake(vec![1]);
        drop(b.command(Command::Quit));
        assert_eq!(read_fd(&b), (8, 1), "a command");
        b.drain();
        b.wake(vec![2]);
        b.ping();
        assert_eq!(read_fd(&b), (8, 1), "the watchdog's ping");
        b.drain();
        b.wake(vec![3]);
        std::thread::sleep(MAX_DEFER * 4);
        b.wake(vec![4]);
        assert_eq!(
            read_fd(&b),
            (8, 1),
            "a push after the first waited MAX_DEFER"
        );
        assert_eq!(b.drain().wakes, [3, 4]);
        before_park();
        assert_eq!(read_fd(&b).0, -1, "nothing left owed");
    }

    #[test]
    fn a_drain_cancels_the_debt_of_what_it_took() {
        let b = Bridge::new().unwrap();
        before_park(); // (this thread is a worker that parked)
        b.wake(vec![1]);
        assert_eq!(b.drain().wakes, [1]);
        before_park();
        assert_eq!(read_fd(&b).0, -1, "no write for a drained queue");
        b.wake(vec![2]);
        before_park();
        assert_eq!(read_fd(&b), (8, 1), "a new debt after the drain");
    }

    #[test]
    fn a_thread_outside_the_runtime_wakes_at_once() {
        let b = Bridge::new().unwrap();
        b.wake(vec![1]);
        assert_eq!(read_fd(&b), (8, 1));
    }

    #[test]
    fn a_debt_to_another_bridge_is_paid_when_the_worker_pushes_to_a_new_one() {
        let (a, b) = (Bridge::new().unwrap(), Bridge::new().unwrap());
        before_park(); // (this thread is a worker that parked)
        a.wake(vec![1]);
        b.wake(vec![2]);
        assert_eq!(read_fd(&a), (8, 1), "paid as the worker took up b's");
        before_park();
        assert_eq!(read_fd(&b), (8, 1));
    }
}
