//! The master's table of workers (Locust's `MasterRunner.clients`), kept so that every message costs the same
//! whatever the size of the fleet: a worker is found by id in a hash map, and what the runner and the reports read
//! of the fleet — how many workers are in each state, the users they report per class — is counted as it changes,
//! never recomputed by walking every worker. Only a snapshot for readers ([`Roster::snapshot`], for `runner.clients`
//! and the web UI) walks the table, and the master takes it on a timer, not per message.
//!
//! Who calls it: [`super::master`] only (one task owns it). Never touches Python.
use super::node::WorkerInfo;
use super::router::Conn;
use crate::msgpack::Value;
use bytes::Bytes;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NodeState {
    Ready,
    Spawning,
    Running,
    Missing,
}

impl NodeState {
    pub fn parse(s: &str) -> NodeState {
        match s {
            "spawning" => NodeState::Spawning,
            "running" => NodeState::Running,
            "missing" => NodeState::Missing,
            _ => NodeState::Ready,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Ready => "ready",
            NodeState::Spawning => "spawning",
            NodeState::Running => "running",
            NodeState::Missing => "missing",
        }
    }

    pub fn active(self) -> bool {
        self != NodeState::Missing
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One worker, as the master knows it.
pub struct Worker {
    pub id: Arc<str>,
    /// Fixed per id for the master's lifetime (the `ack`'s index).
    pub index: i64,
    /// Insertion order (Locust's `clients` is a dict: a worker that comes back keeps its place only while known).
    seq: u64,
    state: NodeState,
    /// When its last heartbeat (or its `client_ready`) was read off its connection.
    pub last_heartbeat: Instant,
    pub cpu_usage: f64,
    pub memory_usage: u64,
    pub cpu_warned: bool,
    /// What it last reported, per class.
    counts: Vec<(String, u64)>,
    /// Where to send to it (the connection of its latest message).
    pub conn: Arc<Conn>,
    /// The `heartbeat` reply, encoded once.
    pub heartbeat_reply: Bytes,
    /// The user counts of the last `spawn` sent to it in this test (`None`: none yet), so an unchanged target is
    /// not sent again.
    pub spawned: Option<Vec<(String, u64)>>,
}

impl Worker {
    pub fn state(&self) -> NodeState {
        self.state
    }

    pub fn user_count(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

/// What readers have not seen yet.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub enum Change {
    #[default]
    None,
    /// Only values that readers may see a second late (CPU, memory, user counts).
    Values,
    /// Who is there, or in which state.
    Members,
}

#[derive(Default)]
pub struct Roster {
    slots: Vec<Option<Worker>>,
    free: Vec<usize>,
    by_id: HashMap<Arc<str>, usize>,
    next_seq: u64,
    /// Workers per state (index: [`NodeState`] as usize).
    in_state: [usize; 4],
    /// Users per class over the active workers (Locust's `reported_user_classes_count`), with how many workers
    /// report each class (a class leaves when none does).
    reported: IndexMap<String, (u64, usize)>,
    /// Users over every worker, missing ones included (Locust's master `user_count`).
    all_users: u64,
    reported_changed: bool,
    change: Change,
}

impl Roster {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn get(&self, id: &str) -> Option<&Worker> {
        self.by_id.get(id).and_then(|&i| self.slots[i].as_ref())
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Worker> {
        match self.by_id.get(id) {
            Some(&i) => self.slots[i].as_mut(),
            None => None,
        }
    }

    /// Every worker, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Worker> {
        self.slots.iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Worker> {
        self.slots.iter_mut().flatten()
    }

    pub fn ids(&self) -> Vec<Arc<str>> {
        self.iter().map(|w| w.id.clone()).collect()
    }

    /// ready + spawning + running (Locust's `worker_count`).
    pub fn active(&self) -> usize {
        self.len() - self.in_state[NodeState::Missing.slot()]
    }

    pub fn count(&self, state: NodeState) -> usize {
        self.in_state[state.slot()]
    }

    /// Every known worker is ready (true when none is known).
    pub fn all_ready(&self) -> bool {
        self.count(NodeState::Ready) == self.len()
    }

    /// The users the active workers reported, per class.
    pub fn reported(&self) -> IndexMap<String, u64> {
        self.reported
            .iter()
            .map(|(k, (n, _))| (k.clone(), *n))
            .collect()
    }

    pub fn reported_total(&self) -> u64 {
        self.reported.values().map(|(n, _)| n).sum()
    }

    pub fn all_users(&self) -> u64 {
        self.all_users
    }

    /// Whether the reported counts changed since the last call.
    pub fn take_reported_changed(&mut self) -> bool {
        std::mem::take(&mut self.reported_changed)
    }

    /// What changed since the last snapshot.
    pub fn change(&self) -> Change {
        self.change
    }

    /// A worker's CPU or memory changed (readers may see it on the next periodic snapshot).
    pub fn mark_values_changed(&mut self) {
        self.touch(Change::Values);
    }

    fn touch(&mut self, c: Change) {
        self.change = self.change.max(c);
    }

    /// A worker (re)registers: a new record in `ready`, or the known one reset in place (Locust replaces the dict
    /// entry, which keeps its position).
    pub fn insert(&mut self, id: Arc<str>, index: i64, conn: Arc<Conn>, at: Instant) {
        let reply = crate::msgpack::Message::new(super::proto::kind::HEARTBEAT, Value::Nil, &*id)
            .encode()
            .map(|p| Bytes::from(super::zmtp::frame(&p)))
            .unwrap_or_default();
        if let Some(&i) = self.by_id.get(&id) {
            self.forget_counts(i);
            let old = self.slots[i]
                .as_ref()
                .map(|w| w.state)
                .unwrap_or(NodeState::Ready);
            self.in_state[old.slot()] -= 1;
            self.in_state[NodeState::Ready.slot()] += 1;
            if let Some(w) = self.slots[i].as_mut() {
                w.state = NodeState::Ready;
                w.last_heartbeat = at;
                w.cpu_usage = 0.0;
                w.memory_usage = 0;
                w.cpu_warned = false;
                w.conn = conn;
                w.heartbeat_reply = reply;
                w.spawned = None;
            }
        } else {
            let worker = Worker {
                id: id.clone(),
                index,
                seq: self.next_seq,
                state: NodeState::Ready,
                last_heartbeat: at,
                cpu_usage: 0.0,
                memory_usage: 0,
                cpu_warned: false,
                counts: Vec::new(),
                conn,
                heartbeat_reply: reply,
                spawned: None,
            };
            self.next_seq += 1;
            let i = match self.free.pop() {
                Some(i) => {
                    self.slots[i] = Some(worker);
                    i
                }
                None => {
                    self.slots.push(Some(worker));
                    self.slots.len() - 1
                }
            };
            self.by_id.insert(id, i);
            self.in_state[NodeState::Ready.slot()] += 1;
        }
        self.touch(Change::Members);
    }

    pub fn remove(&mut self, id: &str) -> Option<Worker> {
        // (its requests in flight are no longer the run's)
        crate::stats::in_flight::worker_left(id);
        let i = self.by_id.remove(id)?;
        self.forget_counts(i);
        let w = self.slots[i].take()?;
        self.in_state[w.state.slot()] -= 1;
        self.free.push(i);
        self.touch(Change::Members);
        Some(w)
    }

    pub fn set_state(&mut self, id: &str, state: NodeState) {
        let Some(&i) = self.by_id.get(id) else { return };
        let Some(old) = self.slots[i].as_ref().map(|w| w.state) else {
            return;
        };
        if old == state {
            return;
        }
        // a worker moving in or out of `missing` adds or removes its users from the reported counts
        if old.active() != state.active() {
            let counts = self.slots[i]
                .as_ref()
                .map(|w| w.counts.clone())
                .unwrap_or_default();
            if old.active() {
                self.unreport(&counts);
            } else {
                self.report(&counts);
            }
        }
        self.in_state[old.slot()] -= 1;
        self.in_state[state.slot()] += 1;
        if let Some(w) = self.slots[i].as_mut() {
            w.state = state;
        }
        self.touch(Change::Members);
    }

    /// A report of the worker's users per class (from `stats` or `spawning_complete`): the totals follow.
    pub fn set_counts(&mut self, id: &str, pairs: &[(Value, Value)]) {
        let Some(&i) = self.by_id.get(id) else { return };
        let same = {
            let Some(w) = self.slots[i].as_ref() else {
                return;
            };
            let mut n = 0;
            let mut same = true;
            for (k, v) in pairs {
                let Some(k) = k.as_str() else { continue };
                let v = v.as_i64().unwrap_or(0).max(0) as u64;
                if w.counts.get(n).is_none_or(|(ck, cv)| ck != k || *cv != v) {
                    same = false;
                    break;
                }
                n += 1;
            }
            same && n == w.counts.len()
        };
        if same {
            return;
        }
        let new: Vec<(String, u64)> = pairs
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str()?.to_owned(),
                    v.as_i64().unwrap_or(0).max(0) as u64,
                ))
            })
            .collect();
        self.forget_counts(i);
        let active = self.slots[i].as_ref().is_some_and(|w| w.state.active());
        if active {
            self.report(&new);
        }
        self.all_users += new.iter().map(|(_, n)| n).sum::<u64>();
        if let Some(w) = self.slots[i].as_mut() {
            w.counts = new;
        }
        self.touch(Change::Values);
    }

    /// Forget a worker's users (it went missing: Locust empties its `user_classes_count`).
    pub fn clear_counts(&mut self, id: &str) {
        if let Some(&i) = self.by_id.get(id) {
            self.forget_counts(i);
            if let Some(w) = self.slots[i].as_mut() {
                w.counts.clear();
            }
            self.touch(Change::Values);
        }
    }

    /// Take a worker's counts out of the totals (its record keeps them).
    fn forget_counts(&mut self, i: usize) {
        let Some(w) = self.slots[i].as_ref() else {
            return;
        };
        let counts = w.counts.clone();
        let active = w.state.active();
        self.all_users -= counts.iter().map(|(_, n)| n).sum::<u64>();
        if active {
            self.unreport(&counts);
        }
        if let Some(w) = self.slots[i].as_mut() {
            w.counts.clear();
        }
    }

    fn report(&mut self, counts: &[(String, u64)]) {
        for (k, n) in counts {
            let e = self.reported.entry(k.clone()).or_insert((0, 0));
            e.0 += n;
            e.1 += 1;
        }
        if !counts.is_empty() {
            self.reported_changed = true;
        }
    }

    fn unreport(&mut self, counts: &[(String, u64)]) {
        for (k, n) in counts {
            if let Some(e) = self.reported.get_mut(k) {
                e.0 -= n;
                e.1 -= 1;
                if e.1 == 0 {
                    self.reported.shift_remove(k);
                }
            }
        }
        if !counts.is_empty() {
            self.reported_changed = true;
        }
    }

    /// Every worker for readers, in the order they registered; clears the change mark.
    pub fn snapshot(&mut self) -> Vec<WorkerInfo> {
        self.change = Change::None;
        let mut rows: Vec<&Worker> = self.iter().collect();
        rows.sort_unstable_by_key(|w| w.seq);
        rows.into_iter()
            .map(|w| WorkerInfo {
                id: w.id.to_string(),
                index: w.index,
                state: w.state.as_str(),
                user_count: w.user_count(),
                user_classes_count: w.counts.clone(),
                cpu_usage: w.cpu_usage,
                memory_usage: w.memory_usage,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> Vec<(Value, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (Value::str(*k), Value::Int(*v)))
            .collect()
    }

    /// A roster whose workers need a connection: take one from a real router on loopback.
    async fn conn() -> Arc<Conn> {
        use crate::distributed::router::Router;
        use crate::distributed::zmtp;
        let (router, mut rx) = Router::bind("127.0.0.1", 0, None).await.unwrap();
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", router.port()))
            .await
            .unwrap();
        zmtp::handshake(
            &mut s,
            "DEALER",
            Some(b"x"),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
        let m = crate::msgpack::Message::new("heartbeat", Value::Nil, "x");
        tokio::io::AsyncWriteExt::write_all(&mut s, &zmtp::frame(&m.encode().unwrap()))
            .await
            .unwrap();
        let c = rx.recv().await.unwrap().conn;
        std::mem::forget(s);
        std::mem::forget(router);
        c
    }

    #[tokio::test]
    async fn counters_follow_states_and_reports() {
        let c = conn().await;
        let now = Instant::now();
        let mut r = Roster::default();
        r.insert("a".into(), 0, c.clone(), now);
        r.insert("b".into(), 1, c.clone(), now);
        assert_eq!((r.len(), r.active(), r.count(NodeState::Ready)), (2, 2, 2));
        assert!(r.all_ready());
        r.set_counts("a", &counts(&[("U1", 2), ("U2", 1)]));
        r.set_counts("b", &counts(&[("U1", 3), ("U2", 0)]));
        assert_eq!(r.reported()["U1"], 5);
        assert_eq!(r.reported_total(), 6);
        assert!(r.take_reported_changed());
        // the same report again changes nothing
        r.set_counts("b", &counts(&[("U1", 3), ("U2", 0)]));
        assert!(!r.take_reported_changed());
        r.set_state("a", NodeState::Running);
        assert!(!r.all_ready());
        // missing: its users leave the reported counts, not the master's user count
        r.set_state("a", NodeState::Missing);
        assert_eq!(r.active(), 1);
        assert_eq!(r.reported()["U1"], 3);
        assert_eq!(r.all_users(), 6);
        r.clear_counts("a");
        assert_eq!(r.all_users(), 3);
        // back from missing
        r.set_state("a", NodeState::Running);
        r.set_counts("a", &counts(&[("U1", 1)]));
        assert_eq!(r.reported()["U1"], 4);
        // gone: its classes go with it when no other worker reports them
        r.remove("b");
        assert_eq!(r.reported().get("U2"), None);
        assert_eq!(r.reported()["U1"], 1);
        r.remove("a");
        assert!(r.reported().is_empty());
        assert_eq!((r.len(), r.active(), r.all_users()), (0, 0, 0));
    }

    #[tokio::test]
    async fn snapshot_keeps_registration_order_and_reinsert_keeps_place() {
        let c = conn().await;
        let now = Instant::now();
        let mut r = Roster::default();
        for id in ["c", "a", "b"] {
            r.insert(id.into(), 0, c.clone(), now);
        }
        r.set_counts("a", &counts(&[("U", 4)]));
        // a duplicate client_ready resets the record where it is
        r.insert("a".into(), 0, c.clone(), now);
        assert_eq!(r.get("a").unwrap().user_count(), 0);
        assert_eq!(r.all_users(), 0);
        let ids: Vec<String> = r.snapshot().into_iter().map(|w| w.id).collect();
        assert_eq!(ids, ["c", "a", "b"]);
        assert_eq!(r.change(), Change::None);
        // removed and back: at the end
        r.remove("c");
        r.insert("c".into(), 0, c, now);
        let ids: Vec<String> = r.snapshot().into_iter().map(|w| w.id).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
