//! The tasks that run the hub's calls on tokio, made once and reused: one dispatcher per [`super::Submitter`],
//! which takes each flushed batch, and a pool of drivers, each running one call at a time, woken with the next.
//!
//! Who calls it: `engine` alone ([`Dispatch::new`] when the submitter is made, [`Dispatch::hand`] at its flush,
//! [`Dispatch::close`] when it goes). What it must not do: block (it runs on tokio's workers), or let a call
//! go without its one completion (the driver runs `engine::complete`, which always pushes it).
//!
//! Why: every call used to be a tokio task of its own (and every batch one more): a task cell and the call's
//! boxed state allocated, initialised, scheduled and freed per request. A driver keeps its call's state in its
//! own task from one call to the next, so a call on a kept-alive connection allocates no task and no state; the
//! dispatcher keeps the batch's vector, so a flush allocates nothing either.
//!
//! How many drivers: as many as calls ran at once, up to [`KEPT`] idle ones kept for the next calls. A driver that
//! ends a call with [`KEPT`] others idle ends too, so a burst (a spawn step of 1,000 users) does not keep its
//! drivers' memory (a few KiB each) for the rest of the run.
use super::{Job, Recorder};
use crate::bridge::Bridge;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

/// Idle drivers kept for the next calls (memory: a driver holds a call's state, ~3-4 KiB).
const KEPT: usize = 256;

/// A job with its ticket (boxed: each hand-off moves a pointer, not the job).
type Ticketed = (u64, Box<Job>);

/// The hand-off from the submitter (hub thread) to its dispatcher task.
pub(super) struct Dispatch {
    /// Jobs flushed and not yet taken by the dispatcher.
    handed: Mutex<Vec<Ticketed>>,
    waker: AtomicWaker,
    /// The submitter is gone: the dispatcher ends.
    closed: AtomicBool,
    /// (what the dispatcher starts calls on, seen by the tests)
    #[cfg(test)]
    drivers: Arc<Drivers>,
}

impl Dispatch {
    /// Start the dispatcher of a submitter on `handle`'s runtime.
    pub(super) fn new(
        handle: &tokio::runtime::Handle,
        recorder: Recorder,
        bridge: Arc<Bridge>,
    ) -> Arc<Dispatch> {
        let drivers = Arc::new(Drivers {
            idle: Mutex::new(Vec::new()),
            ended: AtomicBool::new(false),
            made: AtomicUsize::new(0),
            recorder,
            bridge,
        });
        let dispatch = Arc::new(Dispatch {
            handed: Mutex::new(Vec::new()),
            waker: AtomicWaker::new(),
            closed: AtomicBool::new(false),
            #[cfg(test)]
            drivers: drivers.clone(),
        });
        handle.spawn(dispatcher(dispatch.clone(), drivers));
        dispatch
    }

    /// Hand `batch`'s jobs to the dispatcher (emptying `batch`, which keeps its room) and wake it.
    pub(super) fn hand(&self, batch: &mut Vec<Ticketed>) {
        self.handed.lock().append(batch);
        self.waker.wake();
    }

    /// The submitter is gone: the dispatcher ends at its next turn, its idle drivers with it.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// How many drivers were made, how many are idle, and how many tasks hold the drivers' state (the dispatcher
    /// and the drivers).
    #[cfg(test)]
    pub(super) fn census(&self) -> (usize, usize, usize) {
        (
            self.drivers.made.load(Ordering::Relaxed),
            self.drivers.idle.lock().len(),
            Arc::strong_count(&self.drivers) - 1,
        )
    }
}

/// Take each batch handed over and start its calls on drivers, until the submitter closes.
async fn dispatcher(dispatch: Arc<Dispatch>, drivers: Arc<Drivers>) {
    // (swapped with the hand-off's vector: both keep their room, so a batch allocates nothing)
    let mut batch: Vec<Ticketed> = Vec::new();
    loop {
        let open = poll_fn(|cx| {
            dispatch.waker.register(cx.waker());
            if dispatch.closed.load(Ordering::Acquire) {
                return Poll::Ready(false);
            }
            let mut handed = dispatch.handed.lock();
            if handed.is_empty() {
                return Poll::Pending;
            }
            std::mem::swap(&mut *handed, &mut batch);
            Poll::Ready(true)
        })
        .await;
        if !open {
            // each idle driver ends, and each busy one when its call is done
            let idle = {
                let mut idle = drivers.idle.lock();
                drivers.ended.store(true, Ordering::Relaxed);
                std::mem::take(&mut *idle)
            };
            for slot in idle {
                slot.closed.store(true, Ordering::Release);
                slot.waker.wake();
            }
            return;
        }
        for job in batch.drain(..) {
            drivers.start(job);
        }
    }
}

/// The drivers of one submitter: the idle ones, and what every driver records and completes with.
struct Drivers {
    idle: Mutex<Vec<Arc<Slot>>>,
    /// The dispatcher has ended (set and read under `idle`'s lock): a driver done with its call ends too.
    ended: AtomicBool,
    /// How many drivers were made (one per call that found none idle).
    made: AtomicUsize,
    recorder: Recorder,
    bridge: Arc<Bridge>,
}

/// Where a driver waits for its next job.
struct Slot {
    job: Mutex<Option<Ticketed>>,
    waker: AtomicWaker,
    /// The dispatcher has ended: no job will come.
    closed: AtomicBool,
}

impl Drivers {
    /// Run `job` on an idle driver, or on a new one when none is idle.
    fn start(self: &Arc<Self>, job: Ticketed) {
        let idle = self.idle.lock().pop();
        match idle {
            Some(slot) => {
                *slot.job.lock() = Some(job);
                slot.waker.wake();
            }
            None => {
                self.made.fetch_add(1, Ordering::Relaxed);
                // (a new driver finds its first job in its slot, as it finds every later one: a job given as an
                // argument would stay in the driver's state for its whole life)
                let slot = Arc::new(Slot {
                    job: Mutex::new(Some(job)),
                    waker: AtomicWaker::new(),
                    closed: AtomicBool::new(false),
                });
                tokio::spawn(drive(self.clone(), slot));
            }
        }
    }

    /// A driver is done with its call: kept for the next one (true), or let go when [`KEPT`] others are idle.
    fn park(&self, slot: &Arc<Slot>) -> bool {
        let mut idle = self.idle.lock();
        if idle.len() >= KEPT || self.ended.load(Ordering::Relaxed) {
            return false;
        }
        idle.push(slot.clone());
        true
    }
}

/// One driver: each call it is woken with (the first is in its slot when it starts), until it is let go or the
/// dispatcher ends. The call's execution is awaited in the driver's own state, the next call's in the same place: no
/// task and no box per call. (Made in the await itself: kept in an `Option` set from a value, the execution, 2.9 KB,
/// was copied twice a call.)
async fn drive(drivers: Arc<Drivers>, slot: Arc<Slot>) {
    loop {
        // (bound by `let`: a `while let`'s scrutinee would stay in the state across the call)
        let Some(job) = next(&slot).await else {
            return;
        };
        let (ticket, job) = job;
        let Job {
            route,
            jar,
            spec,
            meta,
        } = *job;
        let ended = super::execute(route, jar, spec, meta.flavor).await;
        let outcome = super::outcome_of(ended);
        super::complete(ticket, outcome, meta, &drivers.recorder, &drivers.bridge);
        if !drivers.park(&slot) {
            return;
        }
    }
}

/// The job an idle driver is woken with; `None` when the dispatcher has ended.
async fn next(slot: &Slot) -> Option<Ticketed> {
    poll_fn(|cx| {
        slot.waker.register(cx.waker());
        if let Some(job) = slot.job.lock().take() {
            return Poll::Ready(Some(job));
        }
        if slot.closed.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}
