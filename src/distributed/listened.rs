//! Which of Locust's distributed-mode events have Python listeners: `report_to_master` and `heartbeat_received`
//! (a worker's), `worker_report` and `heartbeat_sent` (a master's). The shim's `EventHook` sets a flag as listeners
//! come and go (`_rlocust.dist_listened`); `worker` and `master` read it on every report or heartbeat and call
//! into Python only when someone listens, so a fleet without such listeners costs the hub nothing.
//!
//! Also the keys a worker's `report_to_master` listeners added to their `data` dict, handed from the hub back to the
//! worker's loop for the `stats` message being built.
//!
//! Must not: call Python (the flags are plain atomics, read off the GIL).
//!
//! Why statics: they mirror the Python `EventHook`s of the process's one Environment, set from the hub thread by
//! calls that carry no run context, and read by the distributed loops on every message.
use super::Value;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub static REPORT_TO_MASTER: AtomicBool = AtomicBool::new(false);
pub static WORKER_REPORT: AtomicBool = AtomicBool::new(false);
pub static HEARTBEAT_SENT: AtomicBool = AtomicBool::new(false);
pub static HEARTBEAT_RECEIVED: AtomicBool = AtomicBool::new(false);

static REPORT_EXTRA: Mutex<Vec<(Value, Value)>> = Mutex::new(Vec::new());

/// Set the flag of the event `name`; false for a name that has none.
pub fn set(name: &str, on: bool) -> bool {
    let flag = match name {
        "report_to_master" => &REPORT_TO_MASTER,
        "worker_report" => &WORKER_REPORT,
        "heartbeat_sent" => &HEARTBEAT_SENT,
        "heartbeat_received" => &HEARTBEAT_RECEIVED,
        _ => return false,
    };
    flag.store(on, Ordering::Relaxed);
    true
}

/// Whether `flag`'s event has listeners.
pub fn on(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}

/// The hub: what the `report_to_master` listeners left in `data`.
pub fn set_report_extra(pairs: Vec<(Value, Value)>) {
    *REPORT_EXTRA.lock() = pairs;
}

/// The worker's loop: the keys the listeners added for this report (and none for the next unless they fire again).
pub fn take_report_extra() -> Vec<(Value, Value)> {
    std::mem::take(&mut *REPORT_EXTRA.lock())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_their_names_and_unknown_names_are_refused() {
        assert!(set("heartbeat_sent", true));
        assert!(on(&HEARTBEAT_SENT));
        assert!(set("heartbeat_sent", false));
        assert!(!on(&HEARTBEAT_SENT));
        assert!(!set("request", true));
    }

    #[test]
    fn report_extra_is_taken_once() {
        set_report_extra(vec![(Value::str("k"), Value::Int(1))]);
        assert_eq!(take_report_extra().len(), 1);
        assert!(take_report_extra().is_empty());
    }
}
