//! A hasher for maps keyed by integers the process counts out itself: the histogram's bucket indexes
//! (`stats::window`) and the tickets of parked calls (`py::call`). One multiplication by an odd constant spreads
//! consecutive keys over a table's buckets and its control bits.
//!
//! Why not the default: SipHash guards a map against keys an attacker picks, and costs more than the rest of an
//! insert and a remove; these keys never come from outside the process (`bench/flame.py --thread python` showed it
//! on the hub thread's path, once per request).
//!
//! What it must not do: key a map with anything read from the network or a file.
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

/// What a `HashMap` takes to hash its keys with [`IntHasher`].
pub type IntHashing = BuildHasherDefault<IntHasher>;

const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(SPREAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn consecutive_keys_spread_and_every_key_is_found() {
        let mut m: HashMap<u64, u64, IntHashing> = HashMap::default();
        for k in 0..10_000u64 {
            m.insert(k, k * 2);
        }
        assert!((0..10_000u64).all(|k| m.get(&k) == Some(&(k * 2))));
        let hash = |k: u64| {
            let mut h = IntHasher::default();
            h.write_u64(k);
            h.finish()
        };
        // the top 7 bits (the table's control bytes) differ between neighbours
        let tops: std::collections::HashSet<u64> = (0..128u64).map(|k| hash(k) >> 57).collect();
        assert!(tops.len() > 64, "{}", tops.len());
    }
}
