//! Striped, cache-padded event counters (the map's length and its totals),
//! each stripe's retire batch, and the `stats()` figures computed from them.
//!
//! Each thread adds to its own stripe (picked by `sync::thread_stripe_hint`),
//! so inserts and removes on different threads never contend on a counter
//! line. Reading a total sums every stripe: O(stripes), done only for `len()`,
//! `stats()` and the sampled grow/shrink checks, never on every operation.
//! Stripes are `Arc`-shared so the deferred destructor of a retired batch can
//! record its own reclamation even after the map itself is gone (one `Arc`
//! clone per batch, not per node).
//!
//! ## `len()` never under-reports
//! An insert is counted *before* the CAS that publishes its node (and
//! uncounted if the CAS fails); a removal is counted after the CAS that
//! marks its node, with `Release`. A remover found the node through the
//! publishing CAS (`Acquire`), so its count happens after the insert's
//! count; `len()` reads the removals first (`Acquire`) and the inserts
//! after, so every removal it sees comes with its insert. Concurrent
//! inserts can make it over-report, never under-report (which could start
//! a needless shrink). Modelled by `loom-tests/tests/len_count.rs`.
//!
//! ## The retire batch
//! A stripe collects the data nodes its thread unlinks into a heap batch of
//! [`BATCH`] addresses and hands a full batch to the epoch as one deferred
//! closure (`reclaim.rs`). The batch is behind a try-flag: a thread that
//! finds it taken (two threads sharing a stripe) retires its node on its
//! own instead of waiting. Nodes in an open batch count as retired and
//! awaiting reclamation, so `stats()` reports them; `reclaim()` and
//! `compact()` flush open batches.
//!
//! ## What this module must never do
//! Read or write the list, or wait: the batch flag is only ever *tried*.

use crate::sync::{
    stripe_count, thread_stripe_hint, Arc, AtomicPtr, AtomicUsize, CachePadded, Ordering,
};

/// Nodes per retire batch.
#[cfg(not(loom))]
pub(crate) const BATCH: usize = 64;
#[cfg(loom)]
pub(crate) const BATCH: usize = 2;

/// A batch of retired node addresses, filled under its stripe's flag.
pub(crate) struct Batch {
    pub(crate) len: usize,
    /// Retired `Node<E>`s (type-erased; the deferred closure knows `E`).
    pub(crate) nodes: [*mut u8; BATCH],
    /// The stripe that counts this batch's nodes as freed (`None` while the
    /// emptied box waits in its stripe's `spare_box`: no reference cycle).
    pub(crate) stripe: Option<SharedStripe>,
}

impl Batch {
    /// Heap bytes of one batch.
    pub(crate) const SIZE: usize = core::mem::size_of::<Batch>();
}

/// One stripe. Every counter only ever moves up (but `inserts`, which a
/// failed publication takes back).
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
    /// Data nodes put into this stripe's batches, ever. Written only under
    /// the batch flag (a plain load and store).
    pub(crate) batched: AtomicUsize,
    /// Data nodes retired one by one (batch flag taken), ever.
    pub(crate) retired_alone: AtomicUsize,
    /// Data nodes freed by deferred destructors, ever.
    pub(crate) freed: AtomicUsize,
    /// Batches allocated and not yet freed.
    pub(crate) batches_live: AtomicUsize,
    /// Try-flag of `open` (0 free, 1 taken).
    pub(crate) batch_flag: AtomicUsize,
    /// The batch being filled, or null.
    pub(crate) open: AtomicPtr<Batch>,
    /// Emptied batch boxes, handed back by the deferred free for the next
    /// batches to use (so a batch costs no allocation of its own), or null.
    /// Two, because about two batches are waiting for their grace period at
    /// any time.
    pub(crate) spare_boxes: [AtomicPtr<Batch>; 2],
}

impl Drop for Stripe {
    fn drop(&mut self) {
        for slot in &mut self.spare_boxes {
            let spare = crate::sync::atomic_ptr_get_mut(slot);
            if !spare.is_null() {
                // SAFETY: `&mut self`: the box was handed back to this
                // stripe and nobody else can take it any more.
                drop(unsafe { Box::from_raw(spare) });
            }
        }
    }
}

pub(crate) type SharedStripe = Arc<CachePadded<Stripe>>;

/// Exclusive use of a stripe's retire batch while held.
pub(crate) struct BatchGuard<'a> {
    pub(crate) stripe: &'a SharedStripe,
}

impl Drop for BatchGuard<'_> {
    fn drop(&mut self) {
        self.stripe.batch_flag.store(0, Ordering::Release);
    }
}

impl Default for Stripe {
    fn default() -> Self {
        Stripe {
            inserts: AtomicUsize::new(0),
            removes: AtomicUsize::new(0),
            purged: AtomicUsize::new(0),
            replaces: AtomicUsize::new(0),
            sentinels_linked: AtomicUsize::new(0),
            sentinels_unlinked: AtomicUsize::new(0),
            batched: AtomicUsize::new(0),
            retired_alone: AtomicUsize::new(0),
            freed: AtomicUsize::new(0),
            batches_live: AtomicUsize::new(0),
            batch_flag: AtomicUsize::new(0),
            open: AtomicPtr::new(core::ptr::null_mut()),
            spare_boxes: [
                AtomicPtr::new(core::ptr::null_mut()),
                AtomicPtr::new(core::ptr::null_mut()),
            ],
        }
    }
}

impl Stripe {
    /// Tries to take the batch flag. Never waits.
    #[inline]
    pub(crate) fn try_batch(this: &SharedStripe) -> Option<BatchGuard<'_>> {
        this.batch_flag
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| BatchGuard { stripe: this })
    }
}

pub(crate) struct Counters {
    stripes: Box<[SharedStripe]>,
}

impl Counters {
    pub(crate) fn new() -> Self {
        let n = stripe_count();
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

    /// Every stripe.
    pub(crate) fn stripes(&self) -> &[SharedStripe] {
        &self.stripes
    }

    /// The sum of one field over all stripes.
    pub(crate) fn sum(&self, field: impl Fn(&Stripe) -> usize) -> usize {
        self.stripes
            .iter()
            .fold(0usize, |acc, s| acc.wrapping_add(field(s)))
    }

    /// Counts an insert about to be published ([`Counters::uncount_insert`]
    /// if the publishing CAS fails). Returns this stripe's new insert count.
    #[inline]
    pub(crate) fn count_insert(&self) -> usize {
        self.local().inserts.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Takes back a [`Counters::count_insert`] whose CAS failed.
    #[inline]
    pub(crate) fn uncount_insert(&self) {
        self.local().inserts.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts a removal after its marking CAS. Returns this stripe's new
    /// removal count.
    #[inline]
    pub(crate) fn count_remove(&self) -> usize {
        self.local().removes.fetch_add(1, Ordering::Release) + 1
    }

    /// Current length: inserts minus removes minus purges (module docs:
    /// never under-reports, may over-report under concurrent inserts).
    pub(crate) fn len(&self) -> usize {
        let gone = self
            .sum(|s| s.removes.load(Ordering::Acquire))
            .wrapping_add(self.sum(|s| s.purged.load(Ordering::Acquire)));
        let ins = self.sum(|s| s.inserts.load(Ordering::Relaxed));
        ins.saturating_sub(gone)
    }

    /// Records what `RawMap::take_all` did (exclusive access): `taken`
    /// entries moved out (counted as removed), `freed_marked` marked nodes
    /// freed on the spot (counted as retired and freed), and every sentinel
    /// unlinked.
    pub(crate) fn record_take_all(&mut self, taken: usize, freed_marked: usize) {
        let s = &self.stripes[0];
        s.removes.fetch_add(taken, Ordering::Relaxed);
        s.retired_alone.fetch_add(freed_marked, Ordering::Relaxed);
        s.freed.fetch_add(freed_marked, Ordering::Relaxed);
        let linked = self.sum(|s| s.sentinels_linked.load(Ordering::Relaxed));
        let unlinked = self.sum(|s| s.sentinels_unlinked.load(Ordering::Relaxed));
        s.sentinels_unlinked
            .fetch_add(linked.wrapping_sub(unlinked), Ordering::Relaxed);
    }

    /// Data nodes retired (in a batch or alone), ever.
    pub(crate) fn retired(&self) -> usize {
        self.sum(|s| s.batched.load(Ordering::Relaxed))
            .wrapping_add(self.sum(|s| s.retired_alone.load(Ordering::Relaxed)))
    }

    /// Nodes retired but not yet freed (in open batches or held by the
    /// epoch).
    pub(crate) fn awaiting_reclaim(&self) -> usize {
        // Freed first: a node counted freed was counted retired before.
        let freed = self.sum(|s| s.freed.load(Ordering::Acquire));
        self.retired().saturating_sub(freed)
    }

    /// Heap bytes of the stripes themselves.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.stripes.len()
            * (core::mem::size_of::<CachePadded<Stripe>>() + 2 * core::mem::size_of::<usize>())
            + self.stripes.len() * core::mem::size_of::<SharedStripe>()
    }

    /// Emptied batch boxes kept for reuse: idle memory of the map, not
    /// garbage awaiting reclamation.
    fn spare_batches(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| {
                s.spare_boxes
                    .iter()
                    .filter(|b| !b.load(Ordering::Relaxed).is_null())
                    .count()
            })
            .sum()
    }

    /// Heap bytes of the retire batches in use (open, or handed to the
    /// epoch and not yet freed) and of the spare boxes kept for reuse.
    pub(crate) fn batch_bytes(&self) -> (usize, usize) {
        let live = self.sum(|s| s.batches_live.load(Ordering::Relaxed));
        let spare = self.spare_batches().min(live);
        ((live - spare) * Batch::SIZE, spare * Batch::SIZE)
    }
}

/// Counter figures for `stats()`; see `MapStats` for their meaning.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawStats {
    pub(crate) len: usize,
    pub(crate) buckets: usize,
    pub(crate) linked_sentinels: usize,
    pub(crate) directory_slots: usize,
    pub(crate) directory_bytes: usize,
    pub(crate) node_bytes: usize,
    pub(crate) marked_linked: usize,
    pub(crate) retired_awaiting: usize,
    pub(crate) retired_bytes: usize,
    pub(crate) fixed_bytes: usize,
    pub(crate) inserts: usize,
    pub(crate) removes: usize,
    pub(crate) purged: usize,
    pub(crate) replaces: usize,
    pub(crate) compactions: usize,
    pub(crate) shrinks: usize,
    pub(crate) shrink_pending: bool,
    pub(crate) peak_len: usize,
    pub(crate) peak_bytes: usize,
}

/// What the stats need from outside the counters.
pub(crate) struct StatsInputs {
    pub(crate) node_size: usize,
    pub(crate) buckets: usize,
    pub(crate) directory_slots: usize,
    pub(crate) directory_bytes: usize,
    pub(crate) compactions: usize,
    pub(crate) shrinks: usize,
    pub(crate) shrink_pending: bool,
    pub(crate) peak_len: usize,
    pub(crate) peak_bytes: usize,
}

impl Counters {
    /// O(stripes) figures: the counters' part of `stats()`.
    pub(crate) fn stats(&self, inputs: StatsInputs) -> RawStats {
        let load = |f: fn(&Stripe) -> &AtomicUsize| self.sum(|s| f(s).load(Ordering::Relaxed));
        let inserts = load(|s| &s.inserts);
        let removes = load(|s| &s.removes);
        let purged = load(|s| &s.purged);
        let replaces = load(|s| &s.replaces);
        let retired = self.retired();
        let len = inserts.saturating_sub(removes.wrapping_add(purged));
        let marked_linked = removes
            .wrapping_add(purged)
            .wrapping_add(replaces)
            .saturating_sub(retired);
        let awaiting = self.awaiting_reclaim();
        let (batches_in_use, spare_batches) = self.batch_bytes();
        RawStats {
            len,
            buckets: inputs.buckets,
            linked_sentinels: 1 + load(|s| &s.sentinels_linked)
                .saturating_sub(load(|s| &s.sentinels_unlinked)),
            directory_slots: inputs.directory_slots,
            directory_bytes: inputs.directory_bytes,
            node_bytes: (len + marked_linked) * inputs.node_size,
            marked_linked,
            retired_awaiting: awaiting,
            retired_bytes: awaiting * inputs.node_size + batches_in_use,
            fixed_bytes: self.heap_bytes() + spare_batches,
            inserts,
            removes,
            purged,
            replaces,
            compactions: inputs.compactions,
            shrinks: inputs.shrinks,
            shrink_pending: inputs.shrink_pending,
            peak_len: inputs.peak_len.max(len),
            peak_bytes: inputs.peak_bytes,
        }
    }
}
