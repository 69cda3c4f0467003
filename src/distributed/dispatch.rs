//! How the master splits users over its workers (Locust 2.47's `UsersDispatcher`, reference §2.8 and §2.6).
//!
//! A dispatch takes the population from where it is to a target, in steps of `max(1, floor(rate))` users, each
//! step being the full absolute map `{worker: {class: count}}`. The rules reproduced here:
//! - Classes are in name order. Which class comes next is decided as on one node (`runner::dispatch`): missing
//!   `fixed_count` users first, then the divergence-based weighted sequence over the other classes. The sequence
//!   lives across dispatches; it is only restarted when a dispatch names a different set of classes, or by a
//!   rebalance.
//! - Which worker gets it: a round-robin over the workers sorted by (index within host, id), host being the id
//!   up to its first `_`; the index within host counts the workers of that host with a smaller id. The
//!   round-robin position also lives across dispatches.
//! - Shrinking removes the most recently placed (worker, class) pairs first; every removal re-arms the fixed
//!   top-up.
//! - Adding or removing a worker rebalances at once: the current count is placed again from nothing over the
//!   new worker list (fixed classes first, counted as all missing), which restarts the class sequence and the
//!   round-robin. The result is handed out as a step of its own at the next resume point of the dispatch (or as
//!   the first step of the next dispatch when none is running). Removing the last worker does nothing else: the
//!   map keeps naming the removed worker, as in Locust, whose master stops the test at that point.
//! - A dispatch whose count is already the target hands out the unchanged map once.
//!
//! Locust's dispatcher is a Python generator that sleeps between iterations. This one is a state machine with
//! the generator's resume points (so add/remove between two steps has exactly Locust's effect), and it returns
//! the wait instead of sleeping. Each ramp iteration has one wait, `users_per_step / rate`, returned with the
//! iteration's step, and none when the iteration reached the target. A rebalance step handed out in the middle
//! of an iteration carries no wait of its own (Locust sleeps once for the pair, after the rebalance step).
//!
//! Deliberate departures, all in situations Locust's master never creates: no workers at all when users must
//! be placed ends the ramp (Locust raises); class names a dispatch restricts to that are unknown are ignored, and
//! repeated ones count once; a rate that is not a positive finite number counts as 1 user/s.
//! Faithful oddities: `dispatch_in_progress` stays true after a dispatch that only handed out a rebalance
//! (Locust's early return skips the reset); when the sequence runs dry (only fixed classes, all placed) the
//! last step still carries its wait, and a dispatch abandoned right after such a step makes the next dispatch
//! stop after its first step.

use std::time::Duration;

use indexmap::IndexMap;

use crate::runner::dispatch::{Picker, UserClassSpec, ramp_steps};

/// `{worker id: {class name: users}}`.
pub type Distribution = IndexMap<String, IndexMap<String, u64>>;

/// Where the dispatch stands between two steps: the resume points of Locust's generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// No dispatch, or the last one is over.
    Idle,
    /// `new_dispatch` was called; nothing handed out yet.
    Start,
    /// The pending rebalance was handed out before anything else.
    AfterLeadingRebalance,
    /// Decide between "already at the target" and ramping.
    CheckUnchanged,
    /// The unchanged map was handed out.
    AfterUnchanged,
    /// Top of the ramp-up loop.
    Up,
    /// An up step was handed out.
    UpStepped,
    /// End of an up iteration (after the step and any rebalance step).
    UpDone,
    /// Top of the ramp-down loop.
    Down,
    DownStepped,
    DownDone,
}

/// The class sequence: a batch of fixed users being handed out, else the endless weighted picker.
#[derive(Clone, Debug)]
struct ClassSequence {
    weighted: Picker,
    /// The fixed batch's picker and how many of it are still to come.
    fixed_batch: Option<(Picker, u64)>,
}

impl ClassSequence {
    fn new(classes: &[UserClassSpec], allowed: &[usize]) -> Self {
        let weighted = Picker::new(
            allowed
                .iter()
                .filter(|&&i| classes[i].fixed_count == 0)
                .map(|&i| (i, classes[i].weight)),
        );
        ClassSequence {
            weighted,
            fixed_batch: None,
        }
    }
}

/// The master's user dispatcher. See the module documentation.
#[derive(Clone, Debug)]
pub struct WorkerDispatcher {
    /// All classes, by name; indices into this are the class ids used everywhere else.
    classes: Vec<UserClassSpec>,
    /// The classes the current dispatch may place (sorted indices).
    allowed: Vec<usize>,
    /// Worker ids in round-robin order (duplicates possible, as in Locust when a worker says ready twice).
    workers: Vec<String>,
    target: u64,
    per_step: u64,
    wait: f64,
    /// The map when the current dispatch began.
    initial: IndexMap<String, Vec<u64>>,
    /// The map now: per worker, users by class id.
    users: IndexMap<String, Vec<u64>>,
    /// The count the dispatch works from (Locust's `_current_user_count`; normally the map's total).
    current: u64,
    stage: Stage,
    sequence: ClassSequence,
    /// Round-robin: slots of `users`, and the next position.
    cycle: Vec<usize>,
    cycle_pos: usize,
    /// Every placed user, oldest first: (slot of `users`, class id).
    placed: Vec<(usize, usize)>,
    in_progress: bool,
    rebalance: bool,
    try_fixed: bool,
    ran_dry: bool,
}

/// Sorts worker ids by (number of workers of the same host with a smaller id, id).
fn sort_workers(ids: &[String]) -> Vec<String> {
    let mut by_id: Vec<usize> = (0..ids.len()).collect();
    by_id.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
    let mut seen_per_host: IndexMap<&str, usize> = IndexMap::new();
    let mut rank = vec![0usize; ids.len()];
    for &i in &by_id {
        let host = ids[i].split('_').next().unwrap_or("");
        let n = seen_per_host.entry(host).or_insert(0);
        rank[i] = *n;
        *n += 1;
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by(|&a, &b| rank[a].cmp(&rank[b]).then_with(|| ids[a].cmp(&ids[b])));
    order.into_iter().map(|i| ids[i].clone()).collect()
}

impl WorkerDispatcher {
    /// `workers`: worker ids (`<host>_<hex>`), in the order the master knows them. Classes are sorted by name;
    /// a repeated name keeps its first spec.
    pub fn new(classes: Vec<UserClassSpec>, workers: &[String]) -> Self {
        let mut sorted: Vec<UserClassSpec> = Vec::with_capacity(classes.len());
        for c in classes {
            if !sorted.iter().any(|s| s.name == c.name) {
                sorted.push(c);
            }
        }
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let allowed: Vec<usize> = (0..sorted.len()).collect();
        // The first map lists the workers in the order given; the round-robin uses the sorted order.
        let mut users = IndexMap::new();
        for w in workers {
            users.insert(w.clone(), vec![0; sorted.len()]);
        }
        let workers = sort_workers(workers);
        let cycle = workers
            .iter()
            .map(|w| users.get_index_of(w).expect("every worker has a slot"))
            .collect();
        let sequence = ClassSequence::new(&sorted, &allowed);
        WorkerDispatcher {
            classes: sorted,
            allowed,
            workers,
            target: 0,
            per_step: 1,
            wait: 0.0,
            initial: users.clone(),
            users,
            current: 0,
            stage: Stage::Idle,
            sequence,
            cycle,
            cycle_pos: 0,
            placed: Vec::new(),
            in_progress: false,
            rebalance: false,
            try_fixed: true,
            ran_dry: false,
        }
    }

    /// A worker joined: the current count is redistributed, handed out as the next step.
    pub fn add_worker(&mut self, id: &str) {
        self.workers.push(id.to_string());
        self.workers = sort_workers(&self.workers);
        self.prepare_rebalance();
    }

    /// A worker left: the current count is redistributed over the others, handed out as the next step. Removing
    /// the last worker only forgets it (see the module documentation). An unknown id still rebalances.
    pub fn remove_worker(&mut self, id: &str) {
        // No re-sort here: the survivors keep their order until the next add.
        self.workers.retain(|w| w != id);
        if self.workers.is_empty() {
            return;
        }
        self.prepare_rebalance();
    }

    /// Several workers joined: the same as adding them one by one (each add re-sorts and rebalances, so only
    /// the last one counts), in one sort and one rebalance.
    pub fn add_workers(&mut self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        self.workers.extend(ids.iter().cloned());
        self.workers = sort_workers(&self.workers);
        self.prepare_rebalance();
    }

    /// Several workers left: the same as removing them one by one (each removal drops every occurrence).
    pub fn remove_workers(&mut self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let gone: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        self.workers.retain(|w| !gone.contains(w.as_str()));
        if self.workers.is_empty() {
            return;
        }
        self.prepare_rebalance();
    }

    pub fn has_workers(&self) -> bool {
        !self.workers.is_empty()
    }

    /// The workers in round-robin order.
    pub fn workers(&self) -> &[String] {
        &self.workers
    }

    /// Locust's `dispatch_in_progress`: set by the first step of a dispatch, cleared when it ends normally.
    pub fn dispatch_in_progress(&self) -> bool {
        self.in_progress
    }

    /// Start a dispatch towards `target` users at `spawn_rate` users/s, optionally placing only the named
    /// classes from now on. Any dispatch still running is abandoned where it stands.
    pub fn new_dispatch(&mut self, target: u64, spawn_rate: f64, classes: Option<&[String]>) {
        if let Some(names) = classes {
            let mut allowed: Vec<usize> = names
                .iter()
                .filter_map(|n| self.classes.iter().position(|c| &c.name == n))
                .collect();
            allowed.sort_unstable();
            allowed.dedup();
            if allowed != self.allowed {
                self.sequence = ClassSequence::new(&self.classes, &allowed);
                self.allowed = allowed;
            }
        }
        self.target = target;
        let (per_step, wait) = ramp_steps(0, target, spawn_rate);
        self.per_step = per_step;
        self.wait = wait;
        self.initial = self.users.clone();
        self.current = self.map_total();
        self.stage = Stage::Start;
    }

    /// The next step and the wait before the one after it (the caller subtracts the time the step took), or
    /// `None` when the dispatch is over.
    pub fn next_step(&mut self) -> Option<(Distribution, Duration)> {
        loop {
            match self.stage {
                Stage::Idle => return None,
                Stage::Start => {
                    self.in_progress = true;
                    if self.rebalance {
                        self.rebalance = false;
                        self.stage = Stage::AfterLeadingRebalance;
                        return Some((self.snapshot(&self.users), Duration::ZERO));
                    }
                    self.stage = Stage::CheckUnchanged;
                }
                Stage::AfterLeadingRebalance => {
                    if self.current == self.target {
                        // Locust returns here without clearing `dispatch_in_progress`.
                        self.stage = Stage::Idle;
                        return None;
                    }
                    self.stage = Stage::CheckUnchanged;
                }
                Stage::CheckUnchanged => {
                    if self.current == self.target {
                        self.stage = Stage::AfterUnchanged;
                        return Some((self.snapshot(&self.initial), Duration::ZERO));
                    }
                    self.stage = Stage::Up;
                }
                Stage::AfterUnchanged => {
                    self.in_progress = false;
                    self.stage = Stage::Idle;
                    return None;
                }
                Stage::Up => {
                    if self.current < self.target {
                        self.grow_one_step();
                        self.stage = Stage::UpStepped;
                        return Some((self.snapshot(&self.users), self.iteration_wait()));
                    }
                    self.stage = Stage::Down;
                }
                Stage::UpStepped => {
                    self.stage = Stage::UpDone;
                    if let Some(step) = self.pending_rebalance() {
                        return Some(step);
                    }
                }
                Stage::UpDone => {
                    // The end of the iteration, where Locust sleeps.
                    if self.ran_dry {
                        self.ran_dry = false;
                        self.stage = Stage::Down;
                    } else {
                        self.stage = Stage::Up;
                    }
                }
                Stage::Down => {
                    if self.current > self.target {
                        self.shrink_one_step();
                        self.stage = Stage::DownStepped;
                        return Some((self.snapshot(&self.users), self.iteration_wait()));
                    }
                    self.in_progress = false;
                    self.stage = Stage::Idle;
                    return None;
                }
                Stage::DownStepped => {
                    self.stage = Stage::DownDone;
                    if let Some(step) = self.pending_rebalance() {
                        return Some(step);
                    }
                }
                Stage::DownDone => self.stage = Stage::Down,
            }
        }
    }

    /// Users per class in the current map (every class, in name order).
    pub fn counts(&self) -> IndexMap<String, u64> {
        self.classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), self.class_total(i)))
            .collect()
    }

    /// Users in the current map.
    pub fn total(&self) -> u64 {
        self.map_total()
    }

    fn map_total(&self) -> u64 {
        self.users.values().flatten().sum()
    }

    fn class_total(&self, class: usize) -> u64 {
        self.users.values().map(|v| v[class]).sum()
    }

    fn snapshot(&self, map: &IndexMap<String, Vec<u64>>) -> Distribution {
        map.iter()
            .map(|(w, counts)| {
                let per_class = self
                    .classes
                    .iter()
                    .zip(counts)
                    .map(|(c, n)| (c.name.clone(), *n))
                    .collect();
                (w.clone(), per_class)
            })
            .collect()
    }

    /// The wait after a ramp iteration: none when it reached the target.
    fn iteration_wait(&self) -> Duration {
        if self.current == self.target {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(self.wait)
        }
    }

    /// A rebalance flagged since the last step, handed out in the middle of an iteration.
    fn pending_rebalance(&mut self) -> Option<(Distribution, Duration)> {
        if !self.rebalance {
            return None;
        }
        self.rebalance = false;
        Some((self.snapshot(&self.users), Duration::ZERO))
    }

    /// The class of the next user, or `None` when the sequence has nothing (only fixed classes, all placed).
    fn next_class(&mut self) -> Option<usize> {
        loop {
            if let Some((picker, left)) = &mut self.sequence.fixed_batch {
                if *left > 0 {
                    *left -= 1;
                    let picked = picker.next();
                    if *left == 0 {
                        self.sequence.fixed_batch = None;
                    }
                    return picked;
                }
                self.sequence.fixed_batch = None;
            }
            if self.try_fixed {
                self.try_fixed = false;
                let missing: Vec<(usize, f64)> = self
                    .allowed
                    .iter()
                    .filter(|&&i| self.classes[i].fixed_count > 0)
                    .filter_map(|&i| {
                        let miss = self.classes[i]
                            .fixed_count
                            .saturating_sub(self.class_total(i));
                        (miss > 0).then_some((i, miss as f64))
                    })
                    .collect();
                let total: u64 = missing.iter().map(|&(_, m)| m as u64).sum();
                if total > 0 {
                    self.sequence.fixed_batch = Some((Picker::new(missing), total));
                }
                continue;
            }
            return self.sequence.weighted.next();
        }
    }

    fn next_worker_slot(&mut self) -> Option<usize> {
        let slot = *self.cycle.get(self.cycle_pos)?;
        self.cycle_pos = (self.cycle_pos + 1) % self.cycle.len();
        Some(slot)
    }

    /// One ramp-up iteration: place up to `per_step` users (fewer at the target or when the sequence runs dry).
    fn grow_one_step(&mut self) {
        let goal = self.current.saturating_add(self.per_step).min(self.target);
        loop {
            if self.cycle.is_empty() {
                self.ran_dry = true;
                break;
            }
            let Some(class) = self.next_class() else {
                self.ran_dry = true;
                break;
            };
            let slot = self.next_worker_slot().expect("cycle is not empty");
            self.users[slot][class] += 1;
            self.current += 1;
            self.placed.push((slot, class));
            if self.current >= goal {
                break;
            }
        }
    }

    /// One ramp-down iteration: remove up to `per_step` users, newest first.
    fn shrink_one_step(&mut self) {
        let goal = self.current.saturating_sub(self.per_step).max(self.target);
        while let Some((slot, class)) = self.placed.pop() {
            self.users[slot][class] -= 1;
            self.current = self.current.saturating_sub(1);
            self.try_fixed = true;
            if self.current == 0 || self.current <= goal {
                break;
            }
        }
    }

    /// Place the current count again from nothing over the current workers (fixed classes first, all counted
    /// as missing), restarting the class sequence and the round-robin, and flag the result as the next step.
    fn prepare_rebalance(&mut self) {
        let mut users = IndexMap::new();
        for w in &self.workers {
            users.insert(w.clone(), vec![0; self.classes.len()]);
        }
        self.cycle = self
            .workers
            .iter()
            .map(|w| users.get_index_of(w).expect("every worker has a slot"))
            .collect();
        self.users = users;
        self.cycle_pos = 0;
        self.placed.clear();
        self.try_fixed = true;
        self.sequence = ClassSequence::new(&self.classes, &self.allowed);
        let mut placed = 0;
        while placed < self.current {
            let Some(class) = self.next_class() else {
                break;
            };
            let slot = self.next_worker_slot().expect("workers is not empty");
            self.users[slot][class] += 1;
            self.placed.push((slot, class));
            placed += 1;
        }
        self.rebalance = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, weight: f64, fixed_count: u64) -> UserClassSpec {
        UserClassSpec {
            name: name.to_string(),
            weight,
            fixed_count,
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// A step as `worker[ClassN ...]` per worker, zero counts left out.
    fn show(step: &Distribution) -> String {
        step.iter()
            .map(|(w, counts)| {
                let inner: Vec<String> = counts
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(c, n)| format!("{c}{n}"))
                    .collect();
                format!("{w}[{}]", inner.join(" "))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every remaining step of the dispatch, with its wait in seconds.
    fn drain(d: &mut WorkerDispatcher) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        while let Some((step, wait)) = d.next_step() {
            assert!(out.len() < 1000, "dispatch does not end");
            out.push((show(&step), wait.as_secs_f64()));
        }
        out
    }

    fn steps(list: &[(&str, f64)]) -> Vec<(String, f64)> {
        list.iter().map(|(s, w)| (s.to_string(), *w)).collect()
    }

    // The expectations below are Locust 2.47's own output for the same calls (its sleeps moved to the step
    // they follow).

    #[test]
    fn workers_round_robin_across_hosts_first() {
        let d = WorkerDispatcher::new(
            vec![spec("A", 5.0, 0)],
            &ids(&["b_2", "a_1", "a_2", "b_1", "c_9"]),
        );
        assert_eq!(d.workers(), ids(&["a_1", "b_1", "c_9", "a_2", "b_2"]));
        assert_eq!(
            sort_workers(&ids(&["x", "h_1_b", "h_1_a", "y_3", "x_2"])),
            ids(&["h_1_a", "x", "y_3", "h_1_b", "x_2"])
        );
    }

    #[test]
    fn ramp_up_then_lifo_ramp_down() {
        let mut d = WorkerDispatcher::new(
            vec![spec("B", 1.0, 0), spec("A", 5.0, 0)],
            &ids(&["b_2", "a_1", "a_2", "b_1", "c_9"]),
        );
        assert!(d.next_step().is_none(), "no dispatch yet");
        d.new_dispatch(7, 3.0, None);
        assert_eq!(
            drain(&mut d),
            steps(&[
                ("b_2[] a_1[A1] a_2[] b_1[A1] c_9[B1]", 1.0),
                ("b_2[A1] a_1[A2] a_2[A1] b_1[A1] c_9[B1]", 1.0),
                ("b_2[A1] a_1[A2] a_2[A1] b_1[A2] c_9[B1]", 0.0),
            ])
        );
        assert_eq!(d.total(), 7);
        assert_eq!(
            d.counts().into_iter().collect::<Vec<_>>(),
            vec![("A".to_string(), 6), ("B".to_string(), 1)]
        );
        assert!(!d.dispatch_in_progress());
        d.new_dispatch(3, 2.0, None);
        assert_eq!(
            drain(&mut d),
            steps(&[
                ("b_2[A1] a_1[A1] a_2[A1] b_1[A1] c_9[B1]", 1.0),
                ("b_2[] a_1[A1] a_2[] b_1[A1] c_9[B1]", 0.0),
            ])
        );
    }

    #[test]
    fn fixed_classes_first_and_an_unchanged_target_is_one_step() {
        let mut d = WorkerDispatcher::new(
            vec![spec("A", 5.0, 0), spec("B", 1.0, 0), spec("F", 1.0, 2)],
            &ids(&["h_1", "h_2"]),
        );
        d.new_dispatch(6, 100.0, None);
        let expected = steps(&[("h_1[A1 B1 F1] h_2[A2 F1]", 0.0)]);
        assert_eq!(drain(&mut d), expected);
        d.new_dispatch(6, 1.0, None);
        assert_eq!(drain(&mut d), expected);
    }

    #[test]
    fn spawn_rate_steps() {
        let mut d = WorkerDispatcher::new(vec![spec("A", 1.0, 0)], &ids(&["h_1"]));
        d.new_dispatch(3, 0.5, None);
        let waits: Vec<f64> = drain(&mut d).into_iter().map(|s| s.1).collect();
        assert_eq!(waits, vec![2.0, 2.0, 0.0]);
        d.new_dispatch(10, 3.5, None);
        let got = drain(&mut d);
        assert_eq!(
            got.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
            vec!["h_1[A6]", "h_1[A9]", "h_1[A10]"]
        );
        assert!((got[0].1 - 3.0 / 3.5).abs() < 1e-9 && got[2].1 == 0.0);
    }

    #[test]
    fn adding_a_worker_mid_ramp_yields_the_rebalance_next() {
        let mut d = WorkerDispatcher::new(
            vec![spec("A", 5.0, 0), spec("B", 1.0, 0)],
            &ids(&["h_1", "h_2"]),
        );
        d.new_dispatch(6, 2.0, None);
        let (first, wait) = d.next_step().unwrap();
        assert_eq!(
            (show(&first).as_str(), wait),
            ("h_1[A1] h_2[A1]", Duration::from_secs(1))
        );
        d.add_worker("g_1");
        assert_eq!(
            drain(&mut d),
            steps(&[
                ("g_1[A1] h_1[A1] h_2[]", 0.0),
                ("g_1[A2] h_1[A1] h_2[B1]", 1.0),
                ("g_1[A2] h_1[A2] h_2[A1 B1]", 0.0),
            ])
        );
        // Removing while idle: the next dispatch starts with the rebalance, and (as in Locust) stays
        // "in progress" afterwards because that path ends early.
        d.remove_worker("h_1");
        d.new_dispatch(6, 2.0, None);
        assert_eq!(drain(&mut d), steps(&[("g_1[A2 B1] h_2[A3]", 0.0)]));
        assert!(d.dispatch_in_progress());
    }

    #[test]
    fn only_fixed_classes_run_dry() {
        let mut d =
            WorkerDispatcher::new(vec![spec("G", 1.0, 3), spec("H", 1.0, 1)], &ids(&["h_1"]));
        d.new_dispatch(10, 1.0, None);
        assert_eq!(
            drain(&mut d),
            steps(&[
                ("h_1[G1]", 1.0),
                ("h_1[G1 H1]", 1.0),
                ("h_1[G2 H1]", 1.0),
                ("h_1[G3 H1]", 1.0),
                ("h_1[G3 H1]", 1.0),
            ])
        );
        assert_eq!(d.total(), 4);
    }

    #[test]
    fn a_dispatch_can_name_its_classes() {
        let mut d = WorkerDispatcher::new(
            vec![spec("A", 5.0, 0), spec("B", 1.0, 0), spec("C", 0.5, 0)],
            &ids(&["h_1", "h_2"]),
        );
        d.new_dispatch(4, 0.5, Some(&ids(&["B"])));
        let got = drain(&mut d);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], ("h_1[B1] h_2[]".to_string(), 2.0));
        assert_eq!(got[3], ("h_1[B2] h_2[B2]".to_string(), 0.0));
        let (step, _) = {
            d.new_dispatch(4, 1.0, None);
            d.next_step().unwrap()
        };
        // Every class is listed even when only some are placed.
        assert_eq!(step["h_1"].keys().collect::<Vec<_>>(), vec!["A", "B", "C"]);
    }

    #[test]
    fn without_workers() {
        let mut d = WorkerDispatcher::new(vec![spec("A", 1.0, 0)], &[]);
        assert!(!d.has_workers());
        d.new_dispatch(5, 1.0, None);
        assert_eq!(drain(&mut d), steps(&[("", 1.0)]));
        assert_eq!(d.total(), 0);
        d.add_worker("h_1");
        assert!(d.has_workers());
        d.new_dispatch(2, 10.0, None);
        assert_eq!(drain(&mut d), steps(&[("h_1[]", 0.0), ("h_1[A2]", 0.0)]));
        // Losing the last worker leaves the map as it was, naming the lost worker.
        d.remove_worker("h_1");
        assert!(!d.has_workers());
        assert_eq!(d.total(), 2);
    }

    /// Real Locust's interpreter: `LOCUST_PYTHON`, else next to `LOCUST_BIN`, else the repository's
    /// `.venv-oracle`. Without one the differential test says so and passes, except under CI.
    fn oracle_python() -> Option<std::path::PathBuf> {
        use std::path::{Path, PathBuf};
        let candidate = std::env::var_os("LOCUST_PYTHON")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("LOCUST_BIN").map(|b| Path::new(&b).with_file_name("python"))
            })
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-oracle/bin/python")
            });
        if candidate.is_file() {
            return Some(candidate);
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "no Locust 2.47 Python at {}",
            candidate.display()
        );
        eprintln!(
            "skipped: no Locust 2.47 Python at {} (set LOCUST_PYTHON)",
            candidate.display()
        );
        None
    }

    fn step_json(step: &Distribution) -> serde_json::Value {
        serde_json::Value::Array(
            step.iter()
                .map(|(w, counts)| {
                    let per_class = counts
                        .iter()
                        .map(|(c, n)| serde_json::json!([c, n]))
                        .collect();
                    serde_json::json!([w, serde_json::Value::Array(per_class)])
                })
                .collect(),
        )
    }

    /// Replays one oracle scenario; returns (steps compared, waits compared).
    fn replay(scenario: &serde_json::Value) -> Result<(usize, usize), String> {
        let classes = scenario["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                spec(
                    c[0].as_str().unwrap(),
                    c[1].as_f64().unwrap(),
                    c[2].as_u64().unwrap(),
                )
            })
            .collect();
        let workers: Vec<String> = scenario["workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect();
        let mut d = WorkerDispatcher::new(classes, &workers);
        let (mut steps, mut waits) = (0, 0);
        // The wait of our latest step that Locust has not slept yet: (call number, seconds).
        let mut pending: Option<(usize, f64)> = None;
        let mut call = 0;
        for (i, op) in scenario["ops"].as_array().unwrap().iter().enumerate() {
            let at = |what: String| format!("op {i} {op}: {what}");
            match op[0].as_str().unwrap() {
                "dispatch" => {
                    let names: Option<Vec<String>> = op[3]
                        .as_array()
                        .map(|a| a.iter().map(|n| n.as_str().unwrap().to_string()).collect());
                    d.new_dispatch(
                        op[1].as_u64().unwrap(),
                        op[2].as_f64().unwrap(),
                        names.as_deref(),
                    );
                    // An abandoned dispatch never sleeps its last wait.
                    pending = None;
                    call = 0;
                }
                "add" => d.add_worker(op[1].as_str().unwrap()),
                "remove" => d.remove_worker(op[1].as_str().unwrap()),
                "next" => {
                    call += 1;
                    // Locust sleeps at the start of a call, for the iteration of the step one or two calls
                    // back (two when a rebalance step came in between).
                    let slept = op[2].as_f64().unwrap();
                    if slept > 0.0 {
                        match pending.take() {
                            Some((c, w)) if (w - slept).abs() < 1e-9 && c + 2 >= call => waits += 1,
                            other => {
                                return Err(at(format!(
                                    "Locust slept {slept}, ours pending {other:?}"
                                )));
                            }
                        }
                    } else if let Some((c, w)) = pending
                        && c + 2 <= call
                    {
                        return Err(at(format!(
                            "ours waits {w} after call {c}, Locust never slept"
                        )));
                    }
                    let ours = d.next_step();
                    let got = ours
                        .as_ref()
                        .map(|(s, _)| step_json(s))
                        .unwrap_or(serde_json::Value::Null);
                    if got != op[1] {
                        return Err(at(format!("ours {got}")));
                    }
                    if let Some((step, wait)) = &ours {
                        steps += 1;
                        let total: u64 = step.values().flat_map(|c| c.values()).sum();
                        if d.total() != total {
                            return Err(at(format!(
                                "total {} but the step has {total}",
                                d.total()
                            )));
                        }
                        if !wait.is_zero() {
                            if let Some(p) = pending {
                                return Err(at(format!("Locust never slept ours {p:?}")));
                            }
                            pending = Some((call, wait.as_secs_f64()));
                        }
                    }
                    if d.dispatch_in_progress() != op[3].as_bool().unwrap() {
                        return Err(at(format!(
                            "dispatch_in_progress {}",
                            d.dispatch_in_progress()
                        )));
                    }
                }
                other => panic!("unknown op {other}"),
            }
        }
        Ok((steps, waits))
    }

    /// Random scenarios (classes, weights, fixed counts, worker sets, targets, rates, restrictions, workers
    /// added and removed between steps, dispatches abandoned midway) run by Locust 2.47's UsersDispatcher in
    /// `tests/dist_dispatch_oracle.py`, then replayed here: every step and every wait must match.
    #[test]
    fn matches_locust_on_random_scenarios() {
        let Some(python) = oracle_python() else {
            return;
        };
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dist_dispatch_oracle.py");
        let out = std::process::Command::new(&python)
            .arg(&script)
            .args(["--count", "600", "--seed", "1"])
            .output()
            .expect("run the oracle");
        assert!(
            out.status.success(),
            "oracle failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (mut scenarios, mut steps, mut waits) = (0, 0, 0);
        let mut failures = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let scenario: serde_json::Value = serde_json::from_str(line).unwrap();
            match replay(&scenario) {
                Ok((s, w)) => {
                    steps += s;
                    waits += w;
                }
                Err(e) => failures.push(format!("scenario {n}: {e}\n  {line}")),
            }
            scenarios += 1;
        }
        eprintln!("{scenarios} scenarios, {steps} steps and {waits} waits compared with Locust");
        assert!(
            failures.is_empty(),
            "{} mismatches; first:\n{}",
            failures.len(),
            failures[0]
        );
        assert_eq!(scenarios, 600);
        assert!(steps > 5000 && waits > 3000, "too little was compared");
    }
}
