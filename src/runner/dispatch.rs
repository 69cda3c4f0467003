//! Which user class the next spawned user belongs to (Locust's `UsersDispatcher`, reference §3.4), for one node.
//!
//! The rules this module reproduces:
//! - Classes are ordered by name.
//! - Missing `fixed_count` users come first. They are interleaved by the same divergence-based picker as the
//!   weighted classes, using the number of missing users of each class as its weight. The missing counts are
//!   recomputed at the start and again whenever users were removed, but only once the batch of fixed users
//!   that was being handed out is finished.
//! - Otherwise an endless weighted sequence over the classes whose `fixed_count` is 0 (weights may be
//!   fractional; a weight <= 0 takes no part). When no class is left for it, the sequence ends, so a
//!   population made only of fixed classes stops at their total.
//! - Shrinking removes the most recently dispatched users first and then re-enables the fixed top-up.
//!
//! The picker keeps, per class, the tuple (score, x, weight, name) with x starting at the weight and the
//! score `weight * log2(x / (x + 1))`; it always takes the smallest tuple, then advances that class to
//! x + 1. Names are unique, so the smallest tuple is unique and a linear scan gives exactly the same order
//! as a binary heap would.

use std::cmp::Ordering;

/// One user class as the dispatcher sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct UserClassSpec {
    pub name: String,
    pub weight: f64,
    pub fixed_count: u64,
}

/// One entry of the divergence-based picker.
#[derive(Clone, Debug)]
struct Entry {
    score: f64,
    x: f64,
    weight: f64,
    /// Index of the class; classes are sorted by name, so comparing indices compares names.
    class: usize,
}

impl Entry {
    fn cmp_key(&self, other: &Entry) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(self.x.total_cmp(&other.x))
            .then(self.weight.total_cmp(&other.weight))
            .then(self.class.cmp(&other.class))
    }
}

/// The endless weighted picker. Yields `None` forever when it has no class with a positive weight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Picker {
    entries: Vec<Entry>,
}

impl Picker {
    /// Items are (class index, weight); indices must order like the class names.
    pub(crate) fn new(items: impl IntoIterator<Item = (usize, f64)>) -> Self {
        let entries = items
            .into_iter()
            .filter(|&(_, w)| w > 0.0)
            .map(|(class, w)| Entry {
                score: w * (w / (w + 1.0)).log2(),
                x: w + 1.0,
                weight: w,
                class,
            })
            .collect();
        Picker { entries }
    }

    pub(crate) fn next(&mut self) -> Option<usize> {
        let best = self
            .entries
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.cmp_key(b.1))
            .map(|(i, _)| i)?;
        let e = &mut self.entries[best];
        let picked = e.class;
        e.score = e.weight * (e.x / (e.x + 1.0)).log2();
        e.x += 1.0;
        Some(picked)
    }
}

/// The dispatched population of one node and the state of Locust's user-class generator.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    classes: Vec<UserClassSpec>,
    counts: Vec<u64>,
    /// Class index of every dispatched user, oldest first (shrinking pops from the end).
    active: Vec<usize>,
    total: u64,
    weighted: Picker,
    /// The batch of fixed users being handed out: its picker and how many are still to come.
    fixed_batch: Option<(Picker, u64)>,
    try_fixed: bool,
}

impl Dispatcher {
    /// A dispatcher with nobody dispatched. Classes are sorted by name; a repeated name keeps its first spec.
    pub fn new(classes: Vec<UserClassSpec>) -> Self {
        let mut sorted: Vec<UserClassSpec> = Vec::with_capacity(classes.len());
        for c in classes {
            if !sorted.iter().any(|s| s.name == c.name) {
                sorted.push(c);
            }
        }
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let weighted = Picker::new(
            sorted
                .iter()
                .enumerate()
                .filter(|(_, c)| c.fixed_count == 0)
                .map(|(i, c)| (i, c.weight)),
        );
        let n = sorted.len();
        Dispatcher {
            classes: sorted,
            counts: vec![0; n],
            active: Vec::new(),
            total: 0,
            weighted,
            fixed_batch: None,
            try_fixed: true,
        }
    }

    /// The class of the next user to spawn, or `None` when nothing more can be spawned.
    fn next_class(&mut self) -> Option<usize> {
        loop {
            if let Some((picker, left)) = &mut self.fixed_batch {
                if *left > 0 {
                    *left -= 1;
                    let picked = picker.next();
                    if *left == 0 {
                        self.fixed_batch = None;
                    }
                    return picked;
                }
                self.fixed_batch = None;
            }
            if self.try_fixed {
                self.try_fixed = false;
                let missing: Vec<(usize, f64)> = self
                    .classes
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| c.fixed_count > self.counts[*i])
                    .map(|(i, c)| (i, (c.fixed_count - self.counts[i]) as f64))
                    .collect();
                let total_missing: u64 = self
                    .classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.fixed_count.saturating_sub(self.counts[i]))
                    .sum();
                if total_missing > 0 {
                    self.fixed_batch = Some((Picker::new(missing), total_missing));
                }
                continue;
            }
            return self.weighted.next();
        }
    }

    /// Move the dispatched population to `target` users: grow along the class sequence (stopping early when
    /// the sequence ends, i.e. only fixed classes are left and they are complete), or shrink by removing the
    /// most recently dispatched users first. Returns the per-class counts afterwards, in class-name order.
    pub fn scale_to(&mut self, target: u64) -> Vec<(String, u64)> {
        while self.total < target {
            match self.next_class() {
                Some(i) => {
                    self.counts[i] += 1;
                    self.total += 1;
                    self.active.push(i);
                }
                None => break,
            }
        }
        while self.total > target {
            let Some(i) = self.active.pop() else { break };
            self.counts[i] -= 1;
            self.total -= 1;
            self.try_fixed = true;
        }
        self.counts()
    }

    /// Users per class, in class-name order (every class, zeros included).
    pub fn counts(&self) -> Vec<(String, u64)> {
        self.classes
            .iter()
            .zip(&self.counts)
            .map(|(c, n)| (c.name.clone(), *n))
            .collect()
    }

    /// Users dispatched now.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Sum of the classes' `fixed_count` (Locust warns when it exceeds `-u`).
    pub fn fixed_total(&self) -> u64 {
        self.classes.iter().map(|c| c.fixed_count).sum()
    }

    /// The classes, sorted by name.
    pub fn classes(&self) -> &[UserClassSpec] {
        &self.classes
    }

    /// The class of the most recently dispatched user (the next one a shrink removes).
    pub fn last_dispatched(&self) -> Option<&str> {
        self.active.last().map(|&i| self.classes[i].name.as_str())
    }
}

/// Spawn-rate plan: users per dispatch iteration = max(1, floor(rate)) and the wait between iterations =
/// that count / rate seconds. The first iteration is immediate and there is no wait after the last one
/// (see [`ramp_plan`]). `from` and `to` do not change the step; the last iteration is just shorter.
/// The CLI guarantees a rate > 0 and finite; anything else is treated as 1 user per second.
pub fn ramp_steps(from: u64, to: u64, rate: f64) -> (u64, f64) {
    let _ = (from, to);
    let rate = if rate > 0.0 && rate.is_finite() {
        rate
    } else {
        1.0
    };
    let step = rate.floor().max(1.0);
    // `as` saturates for huge rates, which only means "everything in one iteration".
    (step as u64, step / rate)
}

/// The iterations of a ramp from `from` to `to` users at `rate`, as (seconds after the start, total users
/// after that iteration), ignoring the time the iterations themselves take. Empty when `from == to`.
/// Example: 0 -> 5 at 2.5/s gives (0.0, 2), (0.8, 4), (1.6, 5).
pub fn ramp_plan(from: u64, to: u64, rate: f64) -> Vec<(f64, u64)> {
    let (step, wait) = ramp_steps(from, to, rate);
    let mut out = Vec::new();
    let mut current = from;
    let mut t = 0.0;
    while current != to {
        current = if current < to {
            current.saturating_add(step).min(to)
        } else {
            current.saturating_sub(step).max(to)
        };
        out.push((t, current));
        t += wait;
    }
    out
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

    /// The class sequence, one user at a time.
    fn sequence(classes: Vec<UserClassSpec>, n: u64) -> String {
        let mut d = Dispatcher::new(classes);
        let mut out = String::new();
        for i in 1..=n {
            d.scale_to(i);
            if d.total() < i {
                break;
            }
            out.push_str(d.last_dispatched().unwrap_or("?"));
        }
        out
    }

    fn counts(d: &Dispatcher) -> Vec<u64> {
        d.counts().into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn verified_weighted_sequences() {
        assert_eq!(
            sequence(vec![spec("A", 5.0, 0), spec("B", 1.0, 0)], 12),
            "AABAAAAABAAA"
        );
        assert_eq!(
            sequence(vec![spec("A", 3.0, 0), spec("B", 1.0, 0)], 12),
            "ABAAABAAABAA"
        );
        assert_eq!(
            sequence(
                vec![spec("C", 1.0, 0), spec("B", 1.0, 0), spec("A", 1.0, 0)],
                9
            ),
            "ABCABCABC"
        );
        assert_eq!(
            sequence(
                vec![spec("A", 2.0, 0), spec("B", 1.0, 0), spec("C", 1.0, 0)],
                12
            ),
            "ABCAABCAABCA"
        );
        assert_eq!(
            sequence(vec![spec("A", 0.5, 0), spec("B", 1.5, 0)], 12),
            "BABBBABBBABB"
        );
        // From the oracle: weights 1,2,3 and a weight-0 class that never appears.
        assert_eq!(
            sequence(
                vec![
                    spec("A", 1.0, 0),
                    spec("B", 2.0, 0),
                    spec("C", 3.0, 0),
                    spec("D", 0.0, 0)
                ],
                20
            ),
            "CBACBCCBACBCCBACBCCB"
        );
    }

    #[test]
    fn fixed_count_example_and_lifo_shrink() {
        // Oracle (UsersDispatcher, one worker): targets 7, 3, 7, 1, 0, 5.
        let mut d = Dispatcher::new(vec![
            spec("F", 1.0, 2),
            spec("B", 1.0, 0),
            spec("A", 3.0, 0),
        ]);
        assert_eq!(d.fixed_total(), 2);
        assert_eq!(
            d.scale_to(7),
            vec![
                ("A".to_string(), 4),
                ("B".to_string(), 1),
                ("F".to_string(), 2)
            ]
        );
        d.scale_to(3);
        assert_eq!(counts(&d), vec![1, 0, 2]);
        d.scale_to(7);
        assert_eq!(counts(&d), vec![4, 1, 2]);
        d.scale_to(1);
        assert_eq!(counts(&d), vec![0, 0, 1]);
        d.scale_to(0);
        assert_eq!(counts(&d), vec![0, 0, 0]);
        d.scale_to(5);
        assert_eq!(counts(&d), vec![2, 1, 2]);
        assert_eq!(d.total(), 5);
    }

    #[test]
    fn only_fixed_classes_stop_at_their_total() {
        // Oracle: G fixed 3, H fixed 1; targets 2, 10, 1, 3.
        let mut d = Dispatcher::new(vec![spec("G", 1.0, 3), spec("H", 1.0, 1)]);
        d.scale_to(2);
        assert_eq!(counts(&d), vec![1, 1]);
        d.scale_to(10);
        assert_eq!(counts(&d), vec![3, 1]);
        assert_eq!(d.total(), 4);
        d.scale_to(1);
        assert_eq!(counts(&d), vec![1, 0]);
        d.scale_to(3);
        assert_eq!(counts(&d), vec![2, 1]);
    }

    #[test]
    fn fixed_then_weighted_mixture() {
        // Oracle: G fixed 3, H fixed 1, A weight 3; targets 3, 5, 2, 9.
        let mut d = Dispatcher::new(vec![
            spec("G", 1.0, 3),
            spec("H", 1.0, 1),
            spec("A", 3.0, 0),
        ]);
        d.scale_to(3);
        assert_eq!(counts(&d), vec![0, 2, 1]);
        d.scale_to(5);
        assert_eq!(counts(&d), vec![1, 3, 1]);
        d.scale_to(2);
        assert_eq!(counts(&d), vec![0, 1, 1]);
        d.scale_to(9);
        assert_eq!(counts(&d), vec![5, 3, 1]);
    }

    #[test]
    fn growing_in_steps_gives_the_same_population() {
        let classes = vec![spec("A", 3.0, 0), spec("B", 1.0, 0), spec("F", 1.0, 2)];
        let mut one = Dispatcher::new(classes.clone());
        one.scale_to(23);
        let mut steps = Dispatcher::new(classes);
        for t in (0..=23).step_by(4) {
            steps.scale_to(t);
        }
        steps.scale_to(23);
        assert_eq!(one.counts(), steps.counts());
    }

    #[test]
    fn fixed_batch_in_progress_survives_a_shrink() {
        // Oracle: F fixed 3, G fixed 2, A weight 1; targets 2, 1, 6, 3, 8, 12; the dispatch order afterwards.
        let mut d = Dispatcher::new(vec![
            spec("F", 1.0, 3),
            spec("G", 1.0, 2),
            spec("A", 1.0, 0),
        ]);
        let mut seen = Vec::new();
        for t in [2, 1, 6, 3, 8, 12] {
            d.scale_to(t);
            seen.push(
                d.active
                    .iter()
                    .map(|&i| d.classes[i].name.as_str())
                    .collect::<String>(),
            );
        }
        assert_eq!(
            seen,
            vec!["FG", "F", "FFGFGA", "FFG", "FFGFGAAA", "FFGFGAAAAAAA"]
        );
    }

    #[test]
    fn no_classes_spawn_nothing() {
        let mut d = Dispatcher::new(Vec::new());
        assert!(d.scale_to(5).is_empty());
        assert_eq!(d.total(), 0);
    }

    #[test]
    fn spawn_rate_plan() {
        assert_eq!(ramp_steps(0, 5, 2.5), (2, 0.8));
        assert_eq!(ramp_steps(0, 5, 0.5), (1, 2.0));
        assert_eq!(ramp_steps(0, 100, 10.0), (10, 1.0));
        let plan = ramp_plan(0, 5, 2.5);
        assert_eq!(plan.iter().map(|p| p.1).collect::<Vec<_>>(), vec![2, 4, 5]);
        assert!((plan[1].0 - 0.8).abs() < 1e-9 && (plan[2].0 - 1.6).abs() < 1e-9);
        assert_eq!(
            ramp_plan(5, 0, 2.0).iter().map(|p| p.1).collect::<Vec<_>>(),
            vec![3, 1, 0]
        );
        assert!(ramp_plan(3, 3, 1.0).is_empty());
    }
}
