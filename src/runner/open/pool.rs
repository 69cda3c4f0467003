//! Who starts an arrival: the users of an open workload and the rule that gives each arrival to one of them.
//!
//! The rule (issue 31): an arrival goes to an idle user (the one idle longest); when none is idle it is owed to a
//! user that is starting (its `on_start` runs) and has nothing owed yet; otherwise, while fewer than the maximum
//! users exist, a new user is started for it; otherwise it is **dropped** — counted, never delayed. An owed
//! arrival is started by the first user that becomes free (usually the new one, after its `on_start`), so it
//! starts late by that user's start-up; the lateness is measured like any other.
//!
//! A user is "idle" while it waits for an arrival at the start of a task (parked on a ticket the clock wakes),
//! "busy" otherwise (starting, running a task, or between two tasks). Users here are the open workload's only:
//! `starting` counts those asked for that have not yet come to their first task, `active` those that have.
//!
//! Who calls it: `runner::open` under its lock (the arrival clock's thread and the hub thread's calls from
//! Python). Pure state; no clock of its own (instants are passed in), no I/O.
use super::super::dispatch::{Dispatcher, UserClassSpec};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

/// What became of one arrival.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assign {
    /// Wake the idle user parked on this ticket.
    Wake(u64),
    /// Owed to a user that is starting (no new user needed).
    Owed,
    /// Owed to a new user of this class, to be started now.
    Spawn(String),
    /// The maximum of users are busy: dropped.
    Dropped,
}

/// An arrival: its intended instant and its number `k` in the whole sequence (a trace's row).
pub type Due = (Instant, u64);

pub struct Pool {
    /// Tickets of idle users, longest idle first (some may be cancelled: see `cancelled`).
    idle: VecDeque<u64>,
    /// Idle tickets whose user went away (stopped, killed) before an arrival came: skipped when met.
    cancelled: HashSet<u64>,
    /// Arrivals owed to users not yet idle, by intended instant (oldest first).
    owed: VecDeque<Due>,
    /// Tickets woken for an arrival, until the user resumes (its intended instant).
    woken: HashMap<u64, Due>,
    starting: u64,
    active: u64,
    max_users: u64,
    classes: Dispatcher,
}

impl Pool {
    pub fn new(classes: Vec<UserClassSpec>, max_users: u64) -> Pool {
        Pool {
            idle: VecDeque::new(),
            cancelled: HashSet::new(),
            owed: VecDeque::new(),
            woken: HashMap::new(),
            starting: 0,
            active: 0,
            max_users,
            classes: Dispatcher::new(classes),
        }
    }

    pub fn set_max_users(&mut self, max: u64) {
        self.max_users = max;
    }

    pub fn max_users(&self) -> u64 {
        self.max_users
    }

    /// Users of the open workload (starting or active).
    pub fn users(&self) -> u64 {
        self.starting + self.active
    }

    /// Users asked for that have not come to their first task yet.
    pub fn starting(&self) -> u64 {
        self.starting
    }

    pub fn idle(&self) -> u64 {
        (self.idle.len() - self.cancelled.len()) as u64
    }

    /// Users not idle: starting, running a task, or between two tasks.
    pub fn busy(&self) -> u64 {
        self.users().saturating_sub(self.idle())
    }

    /// The class of the next new user (the user classes' weights and `fixed_count`, as a ramp would pick).
    fn next_class(&mut self) -> Option<String> {
        let n = self.classes.total() + 1;
        self.classes.scale_to(n);
        if self.classes.total() < n {
            return None; // only fixed_count classes, all placed
        }
        self.classes.last_dispatched().map(str::to_owned)
    }

    /// Users to start before the first arrival (`--arrival-initial-users`, at most the maximum), as `(class, count)`.
    pub fn initial(&mut self, n: u64) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = Vec::new();
        for _ in 0..n.min(self.max_users.saturating_sub(self.users())) {
            let Some(class) = self.next_class() else {
                break;
            };
            self.starting += 1;
            match out.iter_mut().find(|(c, _)| *c == class) {
                Some((_, k)) => *k += 1,
                None => out.push((class, 1)),
            }
        }
        out
    }

    /// An arrival (its intended instant, its number) is due: who starts it.
    pub fn arrive(&mut self, intended: Due) -> Assign {
        while let Some(ticket) = self.idle.pop_front() {
            if self.cancelled.remove(&ticket) {
                continue;
            }
            self.woken.insert(ticket, intended);
            return Assign::Wake(ticket);
        }
        if (self.owed.len() as u64) < self.starting {
            self.owed.push_back(intended);
            return Assign::Owed;
        }
        if self.users() < self.max_users
            && let Some(class) = self.next_class()
        {
            self.starting += 1;
            self.owed.push_back(intended);
            return Assign::Spawn(class);
        }
        Assign::Dropped
    }

    /// A user comes to the start of a task (`first`: its first one). `Some(intended)`: an owed arrival it starts
    /// now. `None`: it waits, idle, on `ticket`.
    pub fn acquire(&mut self, first: bool, ticket: u64) -> Option<Due> {
        if first {
            self.starting = self.starting.saturating_sub(1);
            self.active += 1;
        }
        if let Some(intended) = self.owed.pop_front() {
            return Some(intended);
        }
        self.idle.push_back(ticket);
        None
    }

    /// The user woken on `ticket` runs: its arrival's intended instant (`None`: not woken for one).
    pub fn begin(&mut self, ticket: u64) -> Option<Due> {
        self.woken.remove(&ticket)
    }

    /// Arrivals handed out but not started yet (owed to starting users, or woken).
    pub fn pending(&self) -> usize {
        self.owed.len() + self.woken.len()
    }

    /// The user waiting on `ticket` went away before its arrival ran (a stop killed it).
    pub fn cancel(&mut self, ticket: u64) {
        if self.woken.remove(&ticket).is_none() && self.idle.contains(&ticket) {
            self.cancelled.insert(ticket);
        }
    }

    /// A user of the open workload ended (`seen`: it had come to a task).
    pub fn leave(&mut self, seen: bool) {
        if seen {
            self.active = self.active.saturating_sub(1);
        } else {
            self.starting = self.starting.saturating_sub(1);
        }
        // owed arrivals nobody will take any more (every user gone) are not kept for ever
        while self.owed.len() as u64 > self.users() {
            self.owed.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, weight: f64, fixed_count: u64) -> UserClassSpec {
        UserClassSpec {
            name: name.into(),
            weight,
            fixed_count,
        }
    }

    #[test]
    fn idle_users_first_then_new_users_then_drops() {
        let mut p = Pool::new(vec![spec("U", 1.0, 0)], 2);
        let t = (Instant::now(), 0);
        // nobody yet: a new user is started and owed the arrival
        assert_eq!(p.arrive(t), Assign::Spawn("U".into()));
        assert_eq!((p.users(), p.busy()), (1, 1));
        // it is still starting: the next arrival needs a second user
        assert_eq!(p.arrive(t), Assign::Spawn("U".into()));
        // both starting, both owed: the maximum is reached, the third is dropped
        assert_eq!(p.arrive(t), Assign::Dropped);
        // the first user comes to its first task: it runs an owed arrival at once
        assert_eq!(p.acquire(true, 10), Some(t));
        // the second too
        assert_eq!(p.acquire(true, 11), Some(t));
        // the first finishes its task: nothing owed, it waits idle
        assert_eq!(p.acquire(false, 12), None);
        assert_eq!((p.users(), p.idle(), p.busy()), (2, 1, 1));
        // the next arrival wakes it
        assert_eq!(p.arrive(t), Assign::Wake(12));
        assert_eq!(p.begin(12), Some(t));
        assert_eq!(p.begin(12), None, "a ticket starts once");
        assert_eq!(p.arrive(t), Assign::Dropped, "both busy, at the maximum");
    }

    #[test]
    fn a_starting_user_takes_an_owed_arrival_without_another_spawn() {
        let mut p = Pool::new(vec![spec("U", 1.0, 0)], 10);
        let counts = p.initial(3);
        assert_eq!(counts, vec![("U".to_string(), 3)]);
        let t = (Instant::now(), 0);
        for _ in 0..3 {
            assert_eq!(p.arrive(t), Assign::Owed);
        }
        assert_eq!(p.arrive(t), Assign::Spawn("U".into()));
        assert_eq!(p.users(), 4);
    }

    #[test]
    fn the_longest_idle_user_goes_first_and_cancelled_ones_are_skipped() {
        let mut p = Pool::new(vec![spec("U", 1.0, 0)], 10);
        p.initial(3);
        for ticket in [1, 2, 3] {
            assert_eq!(p.acquire(true, ticket), None);
        }
        p.cancel(1); // stopped while idle
        p.leave(true);
        let t = (Instant::now(), 0);
        assert_eq!(p.arrive(t), Assign::Wake(2));
        assert_eq!(p.arrive(t), Assign::Wake(3));
        assert_eq!((p.users(), p.idle()), (2, 0));
        // a user killed after its wake, before it ran: the arrival is not started by anyone
        p.cancel(3);
        assert_eq!(p.begin(3), None);
    }

    #[test]
    fn new_users_follow_the_classes_weights_and_fixed_counts() {
        let mut p = Pool::new(
            vec![spec("A", 3.0, 0), spec("B", 1.0, 0), spec("F", 1.0, 1)],
            100,
        );
        let t = (Instant::now(), 0);
        let mut spawned = Vec::new();
        for _ in 0..9 {
            if let Assign::Spawn(c) = p.arrive(t) {
                spawned.push(c);
            }
        }
        assert_eq!(spawned[0], "F", "fixed_count users first");
        let a = spawned.iter().filter(|c| *c == "A").count();
        let b = spawned.iter().filter(|c| *c == "B").count();
        assert_eq!((a, b), (6, 2));
    }

    #[test]
    fn owed_arrivals_go_when_their_users_do() {
        let mut p = Pool::new(vec![spec("U", 1.0, 0)], 5);
        let t = (Instant::now(), 0);
        assert_eq!(p.arrive(t), Assign::Spawn("U".into()));
        p.leave(false); // on_start failed
        assert_eq!(p.users(), 0);
        // nothing owed any more: the next arrival starts a new user again
        assert_eq!(p.arrive(t), Assign::Spawn("U".into()));
        assert_eq!(p.acquire(true, 7), Some(t));
        assert_eq!(p.acquire(false, 8), None);
    }

    #[test]
    fn a_lower_maximum_applies_to_new_users_only() {
        let mut p = Pool::new(vec![spec("U", 1.0, 0)], 3);
        p.initial(3);
        p.set_max_users(1);
        for ticket in [1, 2, 3] {
            p.acquire(true, ticket);
        }
        let t = (Instant::now(), 0);
        assert_eq!(p.arrive(t), Assign::Wake(1));
        assert_eq!(p.users(), 3, "running users are not stopped");
    }

    #[test]
    fn each_arrival_keeps_its_number_to_the_user_that_starts_it() {
        let mut p = Pool::new(vec![spec("U", 1.0, 0)], 3);
        let t = Instant::now();
        assert_eq!(p.arrive((t, 7)), Assign::Spawn("U".into()));
        assert_eq!(p.pending(), 1);
        assert_eq!(p.acquire(true, 1), Some((t, 7)));
        assert_eq!(p.acquire(false, 2), None);
        assert_eq!(p.arrive((t, 8)), Assign::Wake(2));
        assert_eq!(p.pending(), 1);
        assert_eq!(p.begin(2), Some((t, 8)));
        assert_eq!(p.pending(), 0);
    }
}
