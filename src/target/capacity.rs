//! The target's servers of known capacity: a fixed number of slots, each request holding one for a fixed service
//! time, so the saturated throughput is `slots ÷ service time` by construction (8 slots × 25 ms = 320/s). The
//! capacity searches of issue 52 are checked against them.
//!
//! `ANY /capacity/{slots}/{service_ms}` is served by the pool of those two numbers: one pool per distinct pair, made
//! on its first request and kept for the life of the process, shared by every request that names it (so two tests
//! that want different servers name different pools, and a load test aims all its users at one). `ANY /capacity`
//! is the pool of the command line's defaults (`--capacity-slots`, 8; `--capacity-service-ms`, 25), the same pool
//! as `/capacity/8/25`. `slots` is a whole number from 1 to [`MAX_SLOTS`]; `service_ms` a number above 0 up to
//! 600000 (fractions allowed; pools are told apart to the microsecond). Anything else in the path is answered 400
//! with one line. The answer is 200 with `{"slots", "service_ms", "queue_ms", "held_ms"}` and the header
//! `X-Queue-Ms` (how long it waited for a slot, ms).
//!
//! How a request is served: it joins the pool's queue (first come, first served); once it has a slot it holds it
//! for exactly the service time, then the answer is sent. Requests beyond the slots wait; they never fail. The
//! true capacity of a pool is `slots / service_ms × 1000` requests per second, and a request's time is its queue
//! wait plus the service time. The pool's timeline is exact by construction: a slot is given back by this module's
//! timer thread (a futex wait to the deadline: tokio's timer has a 1 ms grain, which stretched each hold by about
//! 0.9 ms when measured, 4 % of 25 ms), and the first request waiting then gets it *as of the deadline* (or of its
//! own arrival, if later), so a late wake-up of the thread delays answers a little but never shifts the next
//! deadline. A client that goes away while holding a slot does not shorten the hold; one that goes away while
//! waiting leaves the queue.
//!
//! The streamed server of known capacity (`--llm-slots N`, in `llm`) takes its slots from a [`Pool`] of this module
//! the same way.
//!
//! Two memory guards, not capacity behaviour, each answered 503 with one line: at most [`MAX_WAITING`] requests
//! wait in one pool, and at most [`MAX_POOLS`] pools exist (the defaults' pool is always served).
//!
//! Who calls it: the target's router (`/capacity...`) and `llm`. What it must not do: fail or reorder a request
//! that fits the queue, release a slot before its deadline, or keep more than [`MAX_POOLS`] pools.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::oneshot;

/// The most slots one pool may have.
pub const MAX_SLOTS: u64 = 10_000;
/// The longest service time (ms).
pub const MAX_SERVICE_MS: f64 = 600_000.0;
/// The most requests waiting in one pool (a memory guard: past it, 503).
pub const MAX_WAITING: usize = 100_000;
/// The most pools kept (a memory guard: a request naming a new pool past it gets 503).
pub const MAX_POOLS: usize = 64;

/// The command line's pool (`/capacity`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Defaults {
    pub slots: u64,
    pub service_ms: f64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            slots: 8,
            service_ms: 25.0,
        }
    }
}

static DEFAULTS: OnceLock<Defaults> = OnceLock::new();

/// Set the defaults (once, at start).
pub fn set_defaults(d: Defaults) {
    let _ = DEFAULTS.set(d);
}

// ---------- pools and their timer ----------

/// A fixed number of slots granted in arrival order, with a bounded queue. Cloning gives the same pool.
#[derive(Clone)]
pub struct Pool(Arc<Inner>);

struct Inner {
    slots: u64,
    max_waiting: usize,
    state: Mutex<State>,
}

struct State {
    free: u64,
    queue: VecDeque<Waiter>,
    next_id: u64,
}

/// A request waiting for a slot.
struct Waiter {
    id: u64,
    joined: Instant,
    service: Duration,
    grant: oneshot::Sender<Instant>,
    release: oneshot::Sender<Instant>,
}

/// A place in a pool's queue ([`Pool::join`]), or a slot already granted; dropping it while it waits leaves the
/// queue (a slot granted is held to its end all the same).
pub struct Ticket {
    pool: Arc<Inner>,
    id: u64,
    joined: Instant,
    grant: Option<oneshot::Receiver<Instant>>,
    release: Option<oneshot::Receiver<Instant>>,
}

/// A slot held from `at` until `at` + the service time.
pub struct Granted {
    /// When the slot was granted (the service starts here).
    pub at: Instant,
    /// How long the request waited for it.
    pub waited: Duration,
    release: oneshot::Receiver<Instant>,
}

impl Pool {
    pub fn new(slots: u64) -> Pool {
        Pool::bounded(slots, MAX_WAITING)
    }

    fn bounded(slots: u64, max_waiting: usize) -> Pool {
        let slots = slots.clamp(1, MAX_SLOTS);
        Pool(Arc::new(Inner {
            slots,
            max_waiting,
            state: Mutex::new(State {
                free: slots,
                queue: VecDeque::new(),
                next_id: 0,
            }),
        }))
    }

    pub fn slots(&self) -> u64 {
        self.0.slots
    }

    /// Join the queue for a slot to hold for `service`; `Err` is the one line of the 503 when the queue is full
    /// (the memory guard).
    pub fn join(&self, service: Duration) -> Result<Ticket, String> {
        let inner = &self.0;
        let (grant_tx, grant_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        let mut st = lock(&inner.state);
        st.next_id += 1;
        let id = st.next_id;
        let joined = Instant::now();
        if st.free > 0 {
            st.free -= 1;
            let _ = grant_tx.send(joined);
            schedule(joined + service, self.0.clone(), release_tx);
        } else if st.queue.len() >= inner.max_waiting {
            return Err(format!(
                "capacity: {} requests already wait for one of this pool's {} slots (the most queued, a memory guard)\n",
                inner.max_waiting, inner.slots
            ));
        } else {
            st.queue.push_back(Waiter {
                id,
                joined,
                service,
                grant: grant_tx,
                release: release_tx,
            });
        }
        Ok(Ticket {
            pool: self.0.clone(),
            id,
            joined,
            grant: Some(grant_rx),
            release: Some(release_rx),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.grant.is_some() {
            // still waiting (or granted but not yet told): leave the queue if still in it
            let id = self.id;
            lock(&self.pool.state).queue.retain(|w| w.id != id);
        }
    }
}

impl Ticket {
    /// Wait for the slot (first come, first served).
    pub async fn acquire(mut self) -> Granted {
        let joined = self.joined;
        let at = match self.grant.as_mut() {
            Some(rx) => rx.await.unwrap_or_else(|_| Instant::now()),
            None => Instant::now(),
        };
        self.grant = None;
        let (_, release) = oneshot::channel();
        let release = self.release.take().unwrap_or(release);
        Granted {
            at,
            waited: at.saturating_duration_since(joined),
            release,
        }
    }
}

impl Granted {
    /// The instant the slot was given back (never before `at` + the service time).
    pub async fn released(self) -> Instant {
        self.release.await.unwrap_or_else(|_| Instant::now())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A slot to give back at `at`, and who to tell when it was.
struct Due {
    at: Instant,
    seq: u64,
    pool: Arc<Inner>,
    release: oneshot::Sender<Instant>,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

#[derive(Default)]
struct Timer {
    queue: Mutex<(BinaryHeap<Reverse<Due>>, u64)>,
    wake: Condvar,
}

/// The one timer thread of the process (started on first use).
fn timer() -> &'static Timer {
    static T: OnceLock<&'static Timer> = OnceLock::new();
    T.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::default());
        std::thread::Builder::new()
            .name("capacity-timer".into())
            .spawn(move || run_timer(t))
            .expect("spawn the capacity timer thread");
        t
    })
}

/// Give a slot of `pool` back at `at` (never before). Called with the pool's lock held (the order is always the
/// pool's lock, then the timer's).
fn schedule(at: Instant, pool: Arc<Inner>, release: oneshot::Sender<Instant>) {
    let t = timer();
    let mut q = lock(&t.queue);
    q.1 += 1;
    let seq = q.1;
    let earliest = q.0.peek().is_none_or(|Reverse(d)| at < d.at);
    q.0.push(Reverse(Due {
        at,
        seq,
        pool,
        release,
    }));
    drop(q);
    if earliest {
        t.wake.notify_one();
    }
}

fn run_timer(t: &'static Timer) {
    loop {
        let mut q = lock(&t.queue);
        let due = loop {
            let now = Instant::now();
            match q.0.peek() {
                None => q = t.wake.wait(q).unwrap_or_else(|e| e.into_inner()),
                Some(Reverse(d)) if d.at <= now => break q.0.pop(),
                Some(Reverse(d)) => {
                    let left = d.at - now;
                    q = t
                        .wake
                        .wait_timeout(q, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            }
        };
        drop(q);
        if let Some(Reverse(due)) = due {
            give_back(due);
        }
    }
}

/// A slot's time is up: tell its holder, and hand it to the first request still waiting, whose service starts at
/// the instant the slot came free (or at its own arrival, if later), so a late wake-up of this thread never
/// shortens or stretches the pool's timeline.
fn give_back(due: Due) {
    let _ = due.release.send(Instant::now());
    let mut st = lock(&due.pool.state);
    while let Some(w) = st.queue.pop_front() {
        let at = due.at.max(w.joined);
        if w.grant.send(at).is_ok() {
            schedule(at + w.service, due.pool.clone(), w.release);
            return;
        }
    }
    st.free += 1;
}

/// A pool's key: slots and service time in whole microseconds.
type Key = (u64, u64);

/// The pools made so far, at most `max` (the defaults' pool is always served).
struct Pools {
    map: Mutex<HashMap<Key, Pool>>,
    max: usize,
}

impl Pools {
    fn get(&self, key: Key, always: bool) -> Result<Pool, String> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.get(&key) {
            return Ok(p.clone());
        }
        if map.len() >= self.max && !always {
            return Err(format!(
                "capacity: {} pools already exist (the most kept, a memory guard); reuse one of them\n",
                self.max
            ));
        }
        let p = Pool::new(key.0);
        map.insert(key, p.clone());
        Ok(p)
    }
}

static POOLS: OnceLock<Pools> = OnceLock::new();

fn pools() -> &'static Pools {
    POOLS.get_or_init(|| Pools {
        map: Mutex::new(HashMap::new()),
        max: MAX_POOLS,
    })
}

fn key_of(slots: u64, service_ms: f64) -> Key {
    (slots, (service_ms * 1000.0).round() as u64)
}

/// The path's two numbers, checked: `Err` is the one line of the 400.
fn parse_pool(slots: &str, service_ms: &str) -> Result<(u64, f64), String> {
    let shown = |t: &str| t.chars().take(40).collect::<String>();
    let s = match slots.trim().parse::<u64>() {
        Ok(s) if (1..=MAX_SLOTS).contains(&s) => s,
        _ => {
            return Err(format!(
                "slots: expected a whole number from 1 to {MAX_SLOTS}, got {:?}\n",
                shown(slots)
            ));
        }
    };
    match service_ms.trim().parse::<f64>() {
        // (at least a microsecond: the pools' keys are whole microseconds)
        Ok(ms) if (0.001..=MAX_SERVICE_MS).contains(&ms) => Ok((s, ms)),
        _ => Err(format!(
            "service_ms: expected a number above 0 up to {MAX_SERVICE_MS}, got {:?}\n",
            shown(service_ms)
        )),
    }
}

/// A plain-text answer of one line (the refusals of this module and of `llm`).
pub(crate) fn line(code: StatusCode, text: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// `ANY /capacity/{slots}/{service_ms}`.
pub async fn named(Path((slots, service_ms)): Path<(String, String)>) -> Response {
    match parse_pool(&slots, &service_ms) {
        Ok((s, ms)) => serve(s, ms).await,
        Err(l) => line(StatusCode::BAD_REQUEST, l),
    }
}

/// `ANY /capacity`: the command line's pool.
pub async fn default_pool() -> Response {
    let d = *DEFAULTS.get_or_init(Defaults::default);
    serve(d.slots, d.service_ms).await
}

async fn serve(slots: u64, service_ms: f64) -> Response {
    let d = *DEFAULTS.get_or_init(Defaults::default);
    let key = key_of(slots, service_ms);
    let pool = match pools().get(key, key == key_of(d.slots, d.service_ms)) {
        Ok(p) => p,
        Err(l) => return line(StatusCode::SERVICE_UNAVAILABLE, l),
    };
    let ticket = match pool.join(Duration::from_micros(key.1)) {
        Ok(t) => t,
        Err(l) => return line(StatusCode::SERVICE_UNAVAILABLE, l),
    };
    let granted = ticket.acquire().await;
    let (at, waited) = (granted.at, granted.waited);
    let released = granted.released().await;
    let queue_ms = waited.as_secs_f64() * 1000.0;
    let body = json!({
        "slots": slots, "service_ms": service_ms, "queue_ms": queue_ms,
        "held_ms": released.duration_since(at).as_secs_f64() * 1000.0,
    });
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::HeaderName::from_static("x-queue-ms"),
                format!("{queue_ms:.3}"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_numbers_are_checked() {
        assert_eq!(parse_pool("8", "25"), Ok((8, 25.0)));
        assert_eq!(parse_pool("10000", "0.5"), Ok((10000, 0.5)));
        assert_eq!(parse_pool("1", "600000"), Ok((1, 600000.0)));
        for (s, ms) in [
            ("0", "25"),
            ("10001", "25"),
            ("-1", "25"),
            ("x", "25"),
            ("1.5", "25"),
            ("", "25"),
        ] {
            let e = parse_pool(s, ms).unwrap_err();
            assert!(
                e.starts_with("slots: expected a whole number from 1 to 10000, got "),
                "{e}"
            );
            assert_eq!(e.trim_end().lines().count(), 1);
        }
        for ms in [
            "0", "-1", "nan", "inf", "1e300", "600001", "", "x", "0.0001",
        ] {
            let e = parse_pool("8", ms).unwrap_err();
            assert!(
                e.starts_with("service_ms: expected a number above 0 up to 600000, got "),
                "{e}"
            );
        }
        // the same pool, however the time is written
        assert_eq!(key_of(8, 25.0), key_of(8, 25.0000001));
        assert_ne!(key_of(8, 25.0), key_of(8, 25.001));
    }

    #[test]
    fn pools_are_bounded_but_the_defaults_pool_is_always_served() {
        let pools = Pools {
            map: Mutex::new(HashMap::new()),
            max: 2,
        };
        let a = pools.get((1, 1000), false).unwrap();
        assert!(Arc::ptr_eq(&a.0, &pools.get((1, 1000), false).unwrap().0));
        pools.get((2, 1000), false).unwrap();
        let e = pools.get((3, 1000), false).err().unwrap();
        assert!(e.starts_with("capacity: 2 pools already exist"), "{e}");
        // the ones made are still served, and the defaults' pool is made past the bound
        assert!(pools.get((2, 1000), false).is_ok());
        assert!(pools.get((8, 25000), true).is_ok());
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_leaving_it_makes_room() {
        let ms = Duration::from_millis;
        let pool = Pool::bounded(1, 2);
        let first = pool.join(ms(20)).unwrap();
        // one slot taken: two may wait, the third is refused
        let t1 = pool.join(ms(1)).unwrap();
        let t2 = pool.join(ms(1)).unwrap();
        let e = pool.join(ms(1)).err().unwrap();
        assert!(
            e.starts_with("capacity: 2 requests already wait for one of this pool's 1 slots"),
            "{e}"
        );
        drop(t2);
        let t3 = pool.join(ms(1)).unwrap();
        // the one that left is passed over: t1 then t3 are served after the first
        let first = first.acquire().await;
        let (g1, g3) = (t1.acquire().await, t3.acquire().await);
        assert_eq!(g1.at, first.at + ms(20));
        assert_eq!(g3.at, g1.at + ms(1));
    }

    /// The pool's timeline is exact: a request waiting when a slot comes free starts its service at that instant,
    /// however late the timer thread woke, so S slots of T serve S/T per unit of time by construction.
    #[tokio::test]
    async fn slots_are_handed_on_at_their_deadline_in_arrival_order() {
        let t = Duration::from_micros(2500);
        let pool = Pool::new(2);
        let tickets: Vec<Ticket> = (0..7).map(|_| pool.join(t).unwrap()).collect();
        let mut grants = Vec::new();
        for ticket in tickets {
            grants.push(ticket.acquire().await);
        }
        assert_eq!(grants[1].waited, Duration::ZERO);
        for (k, g) in grants.iter().enumerate().skip(2) {
            // request k takes the slot of request k - 2, the moment that one's service ends
            assert_eq!(g.at, grants[k - 2].at + t, "request {k}");
            assert!(g.waited > Duration::ZERO);
        }
        let last = grants.pop().unwrap();
        let due = last.at + t;
        assert!(last.released().await >= due);
    }
}
