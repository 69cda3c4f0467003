//! Users' waits, kept by tokio and handed back to the hub in batches.
//!
//! Under Locust a user's wait (`TaskSet.wait` → `gevent.sleep`) is a libev timer on the hub: a watcher object,
//! a `Waiter`, two greenlet switches and one callback per wait. Here the hub asks for a wake-up by ticket
//! ([`Timers::sleep`]) and parks the user as it parks one waiting for a response; the tickets due in the same
//! millisecond share one tokio timer and reach the hub together, in the same drain as the responses
//! (`Bridge::wake`). Due times are rounded up to the next whole millisecond, so a wait is never short and
//! at most 1 ms long (libev's own timers are late by their loop pass anyway).
//!
//! Invariants:
//! - Every ticket handed out is woken exactly once, unless the process ends first or its due time is beyond
//!   [`MAX_WAIT`] (such a user is only ever killed: it is never woken).
//! - Tickets come from the bridge's counter, so a wake-up is never mistaken for a response or a command.
//! - One tokio task per distinct millisecond with waiters: the task that finds its slot empty has nothing to do.
use crate::bridge::Bridge;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Waits longer than this (about 115 days) are parked without a timer: the user wakes only to be killed.
pub const MAX_WAIT: f64 = 1e7;

pub struct Timers {
    handle: tokio::runtime::Handle,
    bridge: Arc<Bridge>,
    /// Ticks are whole milliseconds since this instant.
    epoch: Instant,
    /// The tickets due at each tick that has a timer running.
    slots: Mutex<BTreeMap<u64, Vec<u64>>>,
}

impl Timers {
    pub fn new(handle: tokio::runtime::Handle, bridge: Arc<Bridge>) -> Arc<Timers> {
        Arc::new(Timers {
            handle,
            bridge,
            epoch: Instant::now(),
            slots: Mutex::new(BTreeMap::new()),
        })
    }

    /// A ticket the bridge wakes `seconds` from now (rounded up to the millisecond). `seconds` must be finite and
    /// positive (the caller sends anything else to gevent's own sleep, with gevent's errors).
    pub fn sleep(self: &Arc<Self>, seconds: f64) -> u64 {
        let ticket = self.bridge.next_ticket();
        if seconds.is_nan() || seconds >= MAX_WAIT {
            return ticket;
        }
        let due_ms = (self.epoch.elapsed().as_secs_f64() + seconds) * 1000.0;
        let tick = due_ms.ceil() as u64;
        let mut slots = self.slots.lock();
        match slots.entry(tick) {
            Entry::Occupied(mut e) => e.get_mut().push(ticket),
            Entry::Vacant(e) => {
                e.insert(vec![ticket]);
                drop(slots);
                let me = self.clone();
                let at = self.epoch + Duration::from_millis(tick);
                self.handle.spawn(async move {
                    tokio::time::sleep_until(at.into()).await;
                    let due = me.slots.lock().remove(&tick);
                    if let Some(tickets) = due {
                        me.bridge.wake(tickets);
                    }
                });
            }
        }
        ticket
    }

    /// How many waits are pending (for tests).
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.slots.lock().values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn waits_end_in_order_never_early_and_together_when_due_together() {
        let bridge = Arc::new(Bridge::new().unwrap());
        let timers = Timers::new(tokio::runtime::Handle::current(), bridge.clone());
        let t0 = Instant::now();
        let late = timers.sleep(0.060);
        let early: Vec<u64> = (0..50).map(|_| timers.sleep(0.020)).collect();
        let never = timers.sleep(MAX_WAIT * 2.0);
        assert_eq!(timers.pending(), 51);
        let mut woken = Vec::new();
        let count = |w: &Vec<(Duration, Vec<u64>)>| w.iter().map(|(_, t)| t.len()).sum::<usize>();
        while count(&woken) < 51 && t0.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let d = bridge.drain();
            if !d.wakes.is_empty() {
                woken.push((t0.elapsed(), d.wakes));
            }
        }
        // the 50 waits due in the same millisecond arrive in one batch, after their 20 ms, before the 60 ms wait
        let (at, first) = &woken[0];
        assert!(*at >= Duration::from_millis(20), "{at:?}");
        let mut sorted = first.clone();
        sorted.sort();
        assert!(early.iter().all(|t| sorted.contains(t)), "{first:?}");
        assert_eq!(first.len(), 50);
        let (at, second) = &woken[1];
        assert!(*at >= Duration::from_millis(60), "{at:?}");
        assert_eq!(second, &vec![late]);
        assert!(woken.iter().all(|(_, w)| !w.contains(&never)));
        assert_eq!(timers.pending(), 0);
    }
}
