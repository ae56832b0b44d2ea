//! The segmented bucket directory: where each bucket's sentinel lives, how
//! many buckets are in use, and the grow / shrink state machine.
//!
//! Level 0 holds bucket 0; level `k >= 1` holds buckets `[2^(k-1), 2^k)`, so
//! doubling the bucket count only adds a level and never moves a node. The
//! sentinels *are* the level slots (no separate allocation). Levels are
//! allocated lazily by CAS; a level past the bucket count is retired only by a
//! finished shrink, through the epoch.
//!
//! The directory owns the `state` word and the level arrays. It never walks
//! the list: linking and unlinking sentinels is `RawMap`'s job, which calls in
//! here for slots and for the state transitions.
//!
//! ## The state word
//! `log2` (bits 0..6) is the published bucket count. A shrink publishes the
//! smaller `log2` together with `from` (the old `log2`), the `PENDING` flag
//! and a new shrink sequence number `seq`, then defers a closure that records
//! `seq` in `grace_done`. Once it has, every operation that could have used
//! the old bucket count has finished. Write operations then each claim a
//! bounded chunk of the dropped levels' sentinels to unlink
//! (`try_claim_shrink_chunk`); whoever completes the last chunk retires the
//! levels and clears the flag (`finish_shrink_chunk`).
//!
//! Growth while a shrink is pending cancels it if no chunk has been claimed
//! yet (nothing was unlinked, so the old levels are intact); otherwise growth
//! is skipped until the shrink ends (inserts never wait for it). Because every
//! shrink gets a new `seq`, a cancelled shrink's late grace closure cannot
//! end a later shrink's grace period early, and the state word never returns
//! to an earlier value (no ABA for a stale CAS).

use crate::raw::node::{Link, SENTINEL_LINKED};
use crate::raw::split_order::{level_len, level_of, sentinel_so_key};
use crate::sync::{Arc, AtomicPtr, AtomicUsize, Guard, Ordering};
use core::ptr;

/// Largest supported `log2` of the bucket count.
pub(crate) const MAX_LOG2: u32 = if usize::BITS >= 64 { 40 } else { 28 };
const LEVELS: usize = MAX_LOG2 as usize + 1;

const LOG2_MASK: usize = 0x3f;
const FROM_SHIFT: u32 = 6;
const PENDING: usize = 1 << 12;
const SEQ_SHIFT: u32 = 16;
const SEQ_MASK: usize = usize::MAX >> SEQ_SHIFT;

/// A decoded state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DirState(usize);

impl DirState {
    #[inline]
    pub(crate) fn log2(self) -> u32 {
        (self.0 & LOG2_MASK) as u32
    }
    #[inline]
    pub(crate) fn shrink_pending(self) -> bool {
        self.0 & PENDING != 0
    }
    #[inline]
    fn shrink_from(self) -> u32 {
        ((self.0 >> FROM_SHIFT) & LOG2_MASK) as u32
    }
    #[inline]
    fn seq(self) -> usize {
        self.0 >> SEQ_SHIFT
    }
    /// Number of chunks of the pending shrink: each dropped level split
    /// into `SHRINK_CHUNK`-bucket chunks (a chunk never spans two levels).
    #[inline]
    fn shrink_chunks(self) -> usize {
        (self.log2() as usize + 1..=self.shrink_from() as usize)
            .map(|level| level_len(level).div_ceil(SHRINK_CHUNK))
            .sum()
    }

    /// The buckets of chunk `chunk` of the pending shrink. Chunks are handed
    /// out top level first, so when a sentinel is unlinked its parent (one
    /// level down) is usually still linked and every stray sentinel between
    /// the two is already gone: the unlinking search from the parent then
    /// walks only data nodes.
    fn shrink_chunk_buckets(self, mut chunk: usize) -> core::ops::Range<usize> {
        for level in (self.log2() as usize + 1..=self.shrink_from() as usize).rev() {
            let chunks = level_len(level).div_ceil(SHRINK_CHUNK);
            if chunk < chunks {
                let first = (1usize << (level - 1)) + chunk * SHRINK_CHUNK;
                return first..(first + SHRINK_CHUNK).min(1usize << level);
            }
            chunk -= chunks;
        }
        unreachable!("chunk index past the shrink")
    }
}

/// `a` is `b` or later in the wrapping sequence space (outstanding shrinks
/// are never more than a handful apart).
#[inline]
fn seq_reached(a: usize, b: usize) -> bool {
    a.wrapping_sub(b) & SEQ_MASK <= SEQ_MASK / 2
}

/// The cursor tag of a shrink: the low bits of its `seq`. A stale thread
/// would need as many shrinks to begin (and be cancelled) between two of its
/// instructions as the tag has values to mistake a later shrink's cursor for
/// its own.
#[inline]
fn cursor_tag(seq: usize) -> usize {
    (seq & (usize::MAX >> CURSOR_SEQ_SHIFT)) << CURSOR_SEQ_SHIFT
}

/// Slots of the levels being dropped that one helping operation unlinks.
pub(crate) const SHRINK_CHUNK: usize = 64;
/// The shrink cursor counts chunks in its low bits (enough for every chunk
/// of `MAX_LOG2` levels) and carries a tag of the shrink's `seq` above.
const CURSOR_SEQ_SHIFT: u32 = MAX_LOG2 - SHRINK_CHUNK.trailing_zeros() + 1;
const CURSOR_POS_MASK: usize = (1 << CURSOR_SEQ_SHIFT) - 1;

/// A stretch of a pending shrink's work, claimed by one thread: the buckets
/// `first..end` (all in levels `to+1 ..= from`) whose sentinels it unlinks.
#[derive(Debug)]
pub(crate) struct ShrinkChunk {
    pub(crate) to: u32,
    pub(crate) buckets: core::ops::Range<usize>,
    state: DirState,
}

pub(crate) struct Directory {
    state: AtomicUsize,
    levels: [AtomicPtr<Link>; LEVELS],
    /// The latest shrink `seq` whose grace period has elapsed, recorded by
    /// the shrink's deferred closure; shared with it.
    grace_done: Arc<AtomicUsize>,
    /// Automatic shrinking never goes below this `log2` (raised by
    /// `with_capacity` / `reserve`, lowered by `shrink_to_fit`).
    floor_log2: AtomicUsize,
    /// Next chunk of the pending shrink to hand out, tagged with its `seq`
    /// so a thread holding a stale state cannot claim work of a later shrink.
    shrink_cursor: AtomicUsize,
    /// Chunks of the pending shrink already processed.
    shrink_done: AtomicUsize,
    pub(crate) allocated_slots: AtomicUsize,
    pub(crate) shrinks: AtomicUsize,
}

impl Directory {
    /// A directory of `1 << log2` buckets whose bucket 0 sentinel is linked
    /// as the head of an empty list.
    pub(crate) fn new(log2: u32) -> Self {
        let log2 = log2.min(MAX_LOG2);
        let dir = Directory {
            state: AtomicUsize::new(log2 as usize),
            levels: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            grace_done: Arc::new(AtomicUsize::new(0)),
            floor_log2: AtomicUsize::new(log2 as usize),
            shrink_cursor: AtomicUsize::new(0),
            shrink_done: AtomicUsize::new(0),
            allocated_slots: AtomicUsize::new(0),
            shrinks: AtomicUsize::new(0),
        };
        let head_link = Link::new(sentinel_so_key(0));
        // Bucket 0 is linked from birth: the head of an empty list.
        head_link.next.store(
            crate::sync::Shared::null().with_tag(SENTINEL_LINKED),
            Ordering::Relaxed,
        );
        let head = Box::into_raw(Box::new([head_link])) as *mut Link;
        dir.levels[0].store(head, Ordering::Relaxed);
        dir.allocated_slots.store(1, Ordering::Relaxed);
        dir
    }

    #[inline]
    pub(crate) fn state(&self) -> DirState {
        DirState(self.state.load(Ordering::Acquire))
    }

    /// The head of the list (bucket 0's sentinel), always linked.
    #[inline]
    pub(crate) fn head<'g>(&'g self, _guard: &'g Guard) -> &'g Link {
        // SAFETY: level 0 is allocated in `new` and only freed in `Drop`.
        unsafe { &*self.levels[0].load(Ordering::Relaxed) }
    }

    /// The slot of `bucket` if its level is allocated.
    #[inline]
    pub(crate) fn slot<'g>(&'g self, bucket: usize, _guard: &'g Guard) -> Option<&'g Link> {
        let (level, idx) = level_of(bucket);
        let base = self.levels[level].load(Ordering::Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: a non-null level pointer points at `level_len(level)` links
        // (`idx` is in range by `level_of`); a level is retired through the
        // epoch after its pointer is nulled, and we are pinned by `_guard`.
        Some(unsafe { &*base.add(idx) })
    }

    /// The slot of `bucket`, allocating its level if needed.
    pub(crate) fn slot_or_alloc<'g>(&'g self, bucket: usize, guard: &'g Guard) -> &'g Link {
        if let Some(slot) = self.slot(bucket, guard) {
            return slot;
        }
        let (level, idx) = level_of(bucket);
        let len = level_len(level);
        let first = bucket - idx;
        let fresh: Box<[Link]> = (0..len)
            .map(|i| Link::new(sentinel_so_key(first + i)))
            .collect();
        let fresh = Box::into_raw(fresh) as *mut Link;
        match self.levels[level].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                self.allocated_slots.fetch_add(len, Ordering::Relaxed);
            }
            Err(_) => {
                // SAFETY: `fresh` lost the race and was never shared.
                unsafe { free_level(fresh, level) };
            }
        }
        self.slot(bucket, guard).expect("level was just installed")
    }

    /// Raises the bucket count to at least `1 << log2`. Cancels a pending
    /// shrink none of whose chunks has been claimed; skipped (returns false)
    /// while a shrink is being carried out. Never waits.
    pub(crate) fn try_grow_to(&self, log2: u32) -> bool {
        let log2 = log2.min(MAX_LOG2);
        let mut cur = self.state();
        loop {
            if cur.log2() >= log2 {
                return false;
            }
            let new = if cur.shrink_pending() {
                // Cancel: take every chunk at once, if none was taken yet.
                let tag = cursor_tag(cur.seq());
                if self
                    .shrink_cursor
                    .compare_exchange(
                        tag,
                        tag | cur.shrink_chunks(),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_err()
                {
                    return false; // chunks are being unlinked: let it finish
                }
                // Nobody else can move the state now: claims find no chunk
                // left, so the shrink can neither finish nor be cancelled twice.
                (cur.0 & !(LOG2_MASK | (LOG2_MASK << FROM_SHIFT) | PENDING))
                    | log2.max(cur.shrink_from()) as usize
            } else {
                (cur.0 & !LOG2_MASK) | log2 as usize
            };
            match self
                .state
                .compare_exchange(cur.0, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => {
                    debug_assert!(
                        !cur.shrink_pending(),
                        "state moved under a cancelled shrink"
                    );
                    cur = DirState(actual);
                }
            }
        }
    }

    pub(crate) fn floor_log2(&self) -> u32 {
        self.floor_log2.load(Ordering::Relaxed) as u32
    }

    pub(crate) fn set_floor_log2(&self, log2: u32) {
        self.floor_log2
            .store(log2.min(MAX_LOG2) as usize, Ordering::Relaxed);
    }

    pub(crate) fn raise_floor_log2(&self, log2: u32) {
        self.floor_log2
            .fetch_max(log2.min(MAX_LOG2) as usize, Ordering::Relaxed);
    }

    /// Publishes a smaller bucket count `1 << to` and starts its grace
    /// period. Returns false if another shrink is pending or the state moved.
    pub(crate) fn try_begin_shrink(&self, expected: DirState, to: u32, guard: &Guard) -> bool {
        if expected.shrink_pending() || to >= expected.log2() {
            return false;
        }
        let seq = (expected.seq() + 1) & SEQ_MASK;
        let new =
            to as usize | (expected.log2() as usize) << FROM_SHIFT | PENDING | seq << SEQ_SHIFT;
        if self
            .state
            .compare_exchange(expected.0, new, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        // Nobody can claim work before the grace period, which cannot end
        // while we are pinned, so these plain stores come first. A grower
        // that tries to cancel before the store finds the previous shrink's
        // tag and simply does not grow this time.
        self.shrink_done.store(0, Ordering::Relaxed);
        self.shrink_cursor.store(cursor_tag(seq), Ordering::Release);
        let grace_done = Arc::clone(&self.grace_done);
        // SAFETY: the closure owns everything it touches (an `Arc`), so it may
        // run on any thread at any later time, after the map is gone too.
        unsafe {
            guard.defer_unchecked(move || {
                let _ = grace_done.fetch_update(Ordering::Release, Ordering::Relaxed, |done| {
                    (!seq_reached(done, seq)).then_some(seq)
                });
            })
        };
        true
    }

    /// Model-checking hook (loom builds only): records the pending shrink's
    /// grace period as elapsed, as its deferred closure would once the epoch
    /// has advanced twice. Returns false if no shrink is pending.
    ///
    /// Why skipping the wait is sound for a model that uses it: the grace
    /// period only protects operations that read the state *before* the
    /// shrink was published (they may still use a sentinel of a dropped
    /// level as a start). A model calls this only when every such operation
    /// has finished (its guard dropped) and every operation still to run
    /// reads the state after the publication, so it sees the smaller count,
    /// exactly the situation the real grace period guarantees. (Letting the
    /// epoch elapse inside a model costs far too many interleavings and
    /// does not reliably advance it; see `loom-tests/src/lib.rs`.)
    #[cfg(loom)]
    pub(crate) fn loom_end_shrink_grace(&self) -> bool {
        let state = self.state();
        if !state.shrink_pending() {
            return false;
        }
        let seq = state.seq();
        let _ = self
            .grace_done
            .fetch_update(Ordering::Release, Ordering::Relaxed, |done| {
                (!seq_reached(done, seq)).then_some(seq)
            });
        true
    }

    /// If a pending shrink's grace period has elapsed, claims its next chunk
    /// of work (at most [`SHRINK_CHUNK`] buckets). Never waits.
    pub(crate) fn try_claim_shrink_chunk(&self) -> Option<ShrinkChunk> {
        let state = self.state();
        if !state.shrink_pending() {
            return None;
        }
        if !seq_reached(self.grace_done.load(Ordering::Acquire), state.seq()) {
            return None; // grace period still running
        }
        let to = state.log2();
        let total = state.shrink_chunks();
        let tag = cursor_tag(state.seq());
        let mut cursor = self.shrink_cursor.load(Ordering::Acquire);
        loop {
            if cursor & !CURSOR_POS_MASK != tag {
                return None; // a different shrink's cursor
            }
            let chunk = cursor & CURSOR_POS_MASK;
            if chunk >= total {
                return None; // all handed out (or the shrink was cancelled)
            }
            match self.shrink_cursor.compare_exchange_weak(
                cursor,
                tag | (chunk + 1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Some(ShrinkChunk {
                        to,
                        buckets: state.shrink_chunk_buckets(chunk),
                        state,
                    });
                }
                Err(actual) => cursor = actual,
            }
        }
    }

    /// Records a processed chunk. The thread that records the last one
    /// detaches levels `to+1 ..= from` (every sentinel in them is unlinked by
    /// then), retires them, and ends the shrink.
    pub(crate) fn finish_shrink_chunk(&self, chunk: ShrinkChunk, guard: &Guard) {
        let (to, from) = (chunk.state.log2(), chunk.state.shrink_from());
        if self.shrink_done.fetch_add(1, Ordering::AcqRel) + 1 != chunk.state.shrink_chunks() {
            return;
        }
        for level in to as usize + 1..=from as usize {
            let base = self.levels[level].swap(ptr::null_mut(), Ordering::AcqRel);
            if base.is_null() {
                continue;
            }
            self.allocated_slots
                .fetch_sub(level_len(level), Ordering::Relaxed);
            let addr = base as usize;
            // SAFETY: every sentinel of this level is unlinked (all chunks are
            // done), the level pointer is now null, and the bucket count no
            // longer covers it, so no new reference can be made; threads still
            // holding one are pinned, and the epoch frees it after them. The
            // closure owns what it touches (an address and a length).
            unsafe {
                guard.defer_unchecked(move || free_level(addr as *mut Link, level));
            }
        }
        self.shrinks.fetch_add(1, Ordering::Relaxed);
        // Once a chunk is claimed, growth can no longer cancel the shrink and
        // is skipped, so nothing else writes the state and this CAS succeeds.
        let res = self.state.compare_exchange(
            chunk.state.0,
            (chunk.state.0 & !(LOG2_MASK | (LOG2_MASK << FROM_SHIFT) | PENDING)) | to as usize,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        debug_assert!(res.is_ok(), "directory state moved during a shrink");
    }

    /// Bytes held by allocated level arrays.
    pub(crate) fn slot_bytes(&self) -> usize {
        self.allocated_slots.load(Ordering::Relaxed) * core::mem::size_of::<Link>()
    }

    /// Number of level arrays' worth of slots allocated.
    pub(crate) fn allocated_slots(&self) -> usize {
        self.allocated_slots.load(Ordering::Relaxed)
    }
}

/// Frees a level array.
///
/// # Safety
/// `base` came from a `Box<[Link]>` of `level_len(level)` links, is no
/// longer reachable, and no thread holds a reference into it.
unsafe fn free_level(base: *mut Link, level: usize) {
    let len = level_len(level);
    // SAFETY: per the contract, this is the original boxed slice.
    drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(base, len)) });
}

impl Drop for Directory {
    fn drop(&mut self) {
        for (level, slot) in self.levels.iter().enumerate() {
            let base = slot.load(Ordering::Relaxed);
            if !base.is_null() {
                // SAFETY: `&mut self`: no other thread can reach the
                // directory; retired levels were nulled before retiring.
                unsafe { free_level(base, level) };
            }
        }
    }
}
