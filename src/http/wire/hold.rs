//! The memory response bodies take: how a reader grows the buffer of one body ([`reserve_for`]), and the
//! process-wide budget of body bytes held by all users together ([`Charge`], `RLOCUST_MAX_BODY_MEMORY`).
//!
//! One body: a buffer that doubles as it grows is copied into one twice its size each time, and the allocator
//! (mimalloc) copies a huge block to grow it, so a body at the per-response cap had its last two buffers alive at
//! once (3x the cap with the output that crosses it). Past [`GROW_LIMIT`] the buffer is instead reserved up to
//! the cap in one step: the pages of a large allocation are only made resident as they are written, so the memory
//! a body takes is the bytes it holds, and what crosses the cap fails before it is copied anywhere.
//!
//! All bodies: a [`Charge`] counts the bytes a body buffer holds against one budget for the process, in grains of
//! [`GRAIN`] (a body up to one grain is not counted: the common path costs no atomic operation; a larger one costs
//! one atomic add per grain it grows and one subtraction when it is dropped). A body read whole keeps its charge
//! for as long as its bytes live ([`Charge::attach`]: the response object holds them); a breach fails the response
//! that would pass the budget with [`over_budget`], never the process.
//!
//! Who calls it: the readers of both dialects (`pyhttp`, `llhttp`) and `app::startup` (`set_budget`). Must not:
//! lock, allocate on the path of a body within one grain, or fail for any other reason than the budget.
use super::Dialect;
use super::exc::PyExc;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Up to this size a body buffer grows by doubling; past it, it is reserved up to the per-response cap at once.
pub const GROW_LIMIT: usize = 8 << 20;
/// A cap above this is not reserved at once (the buffer doubles instead): the reservation must be one the kernel
/// grants (its overcommit heuristic refuses a single mapping larger than the machine's memory and swap), so it is
/// also kept within the budget of bodies, which is half of the memory by default.
const RESERVE_MAX: usize = 1 << 30;
/// The budget counts a body's bytes in steps of this size (a body of up to one step is not counted).
pub const GRAIN: usize = 64 << 10;

/// A budget of bytes and what is counted against it now (in grains).
#[derive(Debug)]
pub struct Pool {
    budget: AtomicUsize,
    held: AtomicUsize,
}

impl Pool {
    /// A pool without a budget.
    pub const fn new() -> Pool {
        Pool {
            budget: AtomicUsize::new(usize::MAX),
            held: AtomicUsize::new(0),
        }
    }

    /// Sets the budget (`usize::MAX`: none).
    pub fn set_budget(&self, bytes: usize) {
        self.budget.store(bytes, Ordering::Relaxed);
    }

    /// The budget (`usize::MAX`: none).
    pub fn budget(&self) -> usize {
        self.budget.load(Ordering::Relaxed)
    }

    /// Bytes counted now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

impl Default for Pool {
    fn default() -> Pool {
        Pool::new()
    }
}

/// The process's bodies: the budget is `RLOCUST_MAX_BODY_MEMORY` (`app::startup`), none until it is set.
pub static BODIES: Pool = Pool::new();

/// The failure of a response whose body would take the bodies held by all users past the budget.
pub fn over_budget(dialect: Dialect) -> PyExc {
    super::too_large(
        dialect,
        format!(
            "response bodies held by all users would pass {} bytes (rlocust's process-wide limit; set \
             RLOCUST_MAX_BODY_MEMORY to change it)",
            BODIES.budget()
        ),
    )
}

/// The budget would be passed.
#[derive(Debug, PartialEq, Eq)]
pub struct OverBudget;

/// The bytes one body buffer has counted against a pool's budget; given back when it is dropped.
#[derive(Debug)]
pub struct Charge {
    bytes: usize,
    pool: &'static Pool,
}

impl Default for Charge {
    /// A charge against the process's bodies ([`BODIES`]).
    fn default() -> Charge {
        Charge::in_pool(&BODIES)
    }
}

impl Charge {
    /// A charge against `pool`.
    pub const fn in_pool(pool: &'static Pool) -> Charge {
        Charge { bytes: 0, pool }
    }

    /// Counts a buffer of `len` bytes: the grains not counted yet. Within one grain, or within what is counted
    /// already, it is a comparison.
    #[inline]
    pub fn cover(&mut self, len: usize) -> Result<(), OverBudget> {
        if len <= self.bytes.max(GRAIN) {
            return Ok(());
        }
        self.cover_more(len)
    }

    #[cold]
    fn cover_more(&mut self, len: usize) -> Result<(), OverBudget> {
        let want = len.div_ceil(GRAIN).saturating_mul(GRAIN);
        let more = want - self.bytes;
        let before = self.pool.held.fetch_add(more, Ordering::Relaxed);
        if before.saturating_add(more) > self.pool.budget() {
            self.pool.held.fetch_sub(more, Ordering::Relaxed);
            return Err(OverBudget);
        }
        self.bytes = want;
        Ok(())
    }

    /// Gives back what is counted beyond `len` bytes (a streamed body handed out its pieces).
    pub fn shrink_to(&mut self, len: usize) {
        let keep = if len <= GRAIN {
            0
        } else {
            len.div_ceil(GRAIN) * GRAIN
        };
        if keep < self.bytes {
            self.pool
                .held
                .fetch_sub(self.bytes - keep, Ordering::Relaxed);
            self.bytes = keep;
        }
    }

    /// The body's bytes with this charge, given back when the last of them is dropped (a body within one grain,
    /// counted for nothing, is returned as it is).
    pub fn attach(self, body: Bytes) -> Bytes {
        if self.bytes == 0 {
            return body;
        }
        Bytes::from_owner(Held {
            body,
            _charge: self,
        })
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.pool.held.fetch_sub(self.bytes, Ordering::Relaxed);
        }
    }
}

/// A body and what it counts against the budget.
struct Held {
    body: Bytes,
    _charge: Charge,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

/// The capacity to reserve for a buffer of `len` bytes that needs `more` (`cap`: the per-response limit), if it
/// does not have room: `None` lets it grow as it does (doubling); past [`GROW_LIMIT`] the rest up to the cap (a cap
/// above `RESERVE_MAX` or the budget of bodies doubles as before).
#[inline]
pub fn reserve_for(len: usize, capacity: usize, more: usize, cap: usize) -> Option<usize> {
    let need = len.saturating_add(more);
    if need <= capacity || need <= GROW_LIMIT || cap > RESERVE_MAX || cap >= BODIES.budget() {
        return None;
    }
    // one byte past the cap proves it is crossed
    Some(cap.saturating_add(1).max(need))
}

/// Appends `data` to a `BytesMut` body, reserving as [`reserve_for`] says.
#[inline]
pub fn extend_bytes(body: &mut BytesMut, data: &[u8], cap: usize) {
    if let Some(total) = reserve_for(body.len(), body.capacity(), data.len(), cap) {
        body.reserve(total - body.len());
    }
    body.extend_from_slice(data);
}

/// Appends `data` to a `Vec` body, reserving as [`reserve_for`] says (where the allocator refuses the
/// reservation, the buffer grows as it does).
#[inline]
pub fn extend_vec(body: &mut Vec<u8>, data: &[u8], cap: usize) {
    if let Some(total) = reserve_for(body.len(), body.capacity(), data.len(), cap) {
        let _ = body.try_reserve_exact(total - body.len());
    }
    body.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_doubles_up_to_the_grow_limit_then_takes_the_rest_of_the_cap_at_once() {
        let cap = 256 << 20;
        assert_eq!(reserve_for(0, 0, 100, cap), None);
        assert_eq!(reserve_for(4 << 20, 4 << 20, 4 << 20, cap), None);
        assert_eq!(
            reserve_for(8 << 20, 8 << 20, 1, cap),
            Some(cap + 1),
            "past the grow limit: the rest of the cap"
        );
        assert_eq!(reserve_for(8 << 20, cap + 1, 1, cap), None, "room left");
        assert_eq!(reserve_for(8 << 20, 8 << 20, 1, usize::MAX), None);
        let mut v = Vec::new();
        let block = vec![7u8; 1 << 20];
        for _ in 0..12 {
            extend_vec(&mut v, &block, cap);
        }
        assert_eq!(v.capacity(), cap + 1);
        let mut b = BytesMut::new();
        for _ in 0..12 {
            extend_bytes(&mut b, &block, cap);
        }
        assert!(b.capacity() > cap && b.len() == 12 << 20);
    }

    #[test]
    fn charges_count_grains_fail_past_the_budget_and_are_given_back() {
        static POOL: Pool = Pool::new();
        POOL.set_budget(4 * GRAIN);
        let charge = || Charge::in_pool(&POOL);
        let mut small = charge();
        assert_eq!(small.cover(GRAIN), Ok(()));
        assert_eq!(POOL.held(), 0, "a body within one grain is not counted");
        let mut a = charge();
        assert_eq!(a.cover(GRAIN + 1), Ok(()));
        assert_eq!(POOL.held(), 2 * GRAIN);
        let mut b = charge();
        assert_eq!(b.cover(2 * GRAIN), Ok(()));
        assert_eq!(b.cover(3 * GRAIN), Err(OverBudget));
        assert_eq!(POOL.held(), 4 * GRAIN, "a refused grain is not kept");
        b.shrink_to(10);
        assert_eq!(POOL.held(), 2 * GRAIN);
        let body = a.attach(Bytes::from(vec![1u8; 100]));
        assert_eq!(POOL.held(), 2 * GRAIN, "the body keeps its charge");
        let copy = body.clone();
        drop(body);
        assert_eq!(POOL.held(), 2 * GRAIN, "until its last copy is dropped");
        drop(copy);
        assert_eq!(POOL.held(), 0);
        drop(b);
        drop(small);
        assert_eq!(POOL.held(), 0);
    }
}
