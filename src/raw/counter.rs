//! Striped, cache-padded event counters: the map's length and its totals.
//!
//! Each thread adds to its own stripe (picked by `sync::thread_stripe_hint`),
//! so inserts and removes on different threads never contend on a counter
//! line. Reading a total sums every stripe: O(stripes), done only for `len()`,
//! `stats()` and the sampled grow/shrink checks, never on every operation.
//! Stripes are `Arc`-shared so the deferred destructor of a retired node can
//! record its own reclamation even after the map itself is gone.

use crate::sync::{thread_stripe_hint, Arc, AtomicIsize, AtomicUsize, CachePadded, Ordering};

/// One stripe. Every field only ever moves by atomic add.
#[derive(Default)]
pub(crate) struct Stripe {
    /// Entries linked (new keys; a replacement is not counted here).
    pub(crate) inserts: AtomicUsize,
    /// Entries logically deleted by `remove`, `retain`, `clear`, `compute`.
    pub(crate) removes: AtomicUsize,
    /// Dead weak-key entries logically deleted by whoever met them.
    pub(crate) purged: AtomicUsize,
    /// Values replaced in place (insert over an existing key, update).
    pub(crate) replaces: AtomicUsize,
    /// Bucket sentinels linked into the list (bucket 0 not counted).
    pub(crate) sentinels_linked: AtomicUsize,
    /// Bucket sentinels unlinked by a shrink.
    pub(crate) sentinels_unlinked: AtomicUsize,
    /// Data nodes unlinked and retired to the epoch, ever.
    pub(crate) retired: AtomicUsize,
    /// Nodes retired to the epoch and not yet freed (can dip below zero on
    /// one stripe; only the sum is meaningful).
    pub(crate) awaiting_reclaim: AtomicIsize,
}

pub(crate) type SharedStripe = Arc<CachePadded<Stripe>>;

pub(crate) struct Counters {
    stripes: Box<[SharedStripe]>,
}

impl Counters {
    pub(crate) fn new() -> Self {
        #[cfg(not(loom))]
        let n = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .next_power_of_two()
            .clamp(2, 64);
        #[cfg(loom)]
        let n = 1;
        Counters {
            stripes: (0..n)
                .map(|_| Arc::new(CachePadded::new(Stripe::default())))
                .collect(),
        }
    }

    /// The calling thread's stripe.
    #[inline]
    pub(crate) fn local(&self) -> &SharedStripe {
        &self.stripes[thread_stripe_hint() & (self.stripes.len() - 1)]
    }

    /// The sum of one field over all stripes.
    pub(crate) fn sum(&self, field: impl Fn(&Stripe) -> usize) -> usize {
        self.stripes
            .iter()
            .fold(0usize, |acc, s| acc.wrapping_add(field(s)))
    }

    /// Current length: inserts minus removes minus purges. Exact when no
    /// operation is in flight; a snapshot of moving counters otherwise, and
    /// never negative.
    pub(crate) fn len(&self) -> usize {
        // Removals first: a removal counted here had its insert counted
        // before it, so reading inserts last can only over-report under
        // churn, never under-report (which could start a needless shrink).
        let gone = self
            .sum(|s| s.removes.load(Ordering::Relaxed))
            .wrapping_add(self.sum(|s| s.purged.load(Ordering::Relaxed)));
        let ins = self.sum(|s| s.inserts.load(Ordering::Acquire));
        ins.saturating_sub(gone)
    }

    /// Zeroes the length (exclusive access: after `RawMap::take_all`).
    pub(crate) fn reset_len(&mut self) {
        for s in self.stripes.iter() {
            s.inserts.store(0, Ordering::Relaxed);
            s.removes.store(0, Ordering::Relaxed);
            s.purged.store(0, Ordering::Relaxed);
        }
    }

    /// Nodes retired but not yet freed, summed over stripes.
    pub(crate) fn awaiting_reclaim(&self) -> usize {
        let total: isize = self
            .stripes
            .iter()
            .map(|s| s.awaiting_reclaim.load(Ordering::Relaxed))
            .sum();
        total.max(0) as usize
    }

    /// Heap bytes of the stripes themselves.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.stripes.len()
            * (core::mem::size_of::<CachePadded<Stripe>>() + 2 * core::mem::size_of::<usize>())
            + self.stripes.len() * core::mem::size_of::<SharedStripe>()
    }
}
