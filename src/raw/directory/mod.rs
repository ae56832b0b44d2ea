//! The segmented bucket directory: where each bucket's sentinel lives, how
//! many buckets are in use, and the grow / shrink state machine.
//!
//! A bucket is named by its sentinel's key `s` (`split_order.rs`). Level 0
//! holds the sentinel 0; level `k >= 1` the `2^(k-1)` sentinels whose lowest
//! set bit is bit `64 - k`, in split order, so doubling the bucket count
//! only adds a level and never moves a node. The sentinels *are* the level
//! slots: one link word per bucket, no separate allocation, no stored
//! `so_key` (it is implied by the slot). Level words are kept in a table
//! indexed by the trailing zeros of the keys they hold (`64 - k`), so a
//! read finds its slot from its key with a mask, a `tzcnt` and a shift.
//! Levels are allocated lazily by CAS; a level past the bucket count is
//! retired only by a finished shrink, through the epoch.
//!
//! The directory owns the `state` word, the level arrays and the shrink's
//! work distribution. It never walks the list and never changes a slot:
//! linking and unlinking sentinels is the list's job (`list.rs`), driven by
//! `buckets.rs` and `shrink_work.rs`.
//!
//! ## Incarnations of a level
//! A level word holds the level array's address with an incarnation parity
//! in bit 0; a detached level keeps its parity (the word is just the bit),
//! and the next array allocated for that level gets the other parity. A
//! sentinel reference carries the parity of the level it was made for
//! (`node.rs`), and [`Directory::follow`] refuses a reference whose level
//! is detached or has the other parity (the walker restarts).
//!
//! One bit is enough: a thread pinned at time `t` sees at most one
//! detachment of a level while it stays pinned. A detachment ends a shrink
//! whose grace period has elapsed; only one shrink is pending at a time,
//! and the next shrink's grace period cannot elapse while our thread is
//! still pinned (it began after `t`). So every reference a pinned walker
//! holds names either the current array or a detached one, never a newer
//! array of the same parity, and a reachable sentinel it follows a
//! reference to has had its linking CAS done (references to an array are
//! only made by that CAS), so its successor is valid even before it is
//! flagged `LINKED`.
//!
//! ## The state word
//! A `u64` on every target (`shrink.rs` says why). `log2` (bits 0..6) is
//! the published bucket count. A shrink publishes the
//! smaller `log2` together with `from` (the old `log2`), the `PENDING` flag
//! and a new shrink sequence number `seq`, then defers a closure that records
//! `seq` in `grace_done`. Once it has, every operation that could have used
//! the old bucket count has finished, so no operation uses a sentinel of a
//! dropped level as a start or links one.
//!
//! The shrink's work distribution (chunks, the done prefix, helping, the
//! end) is in `shrink.rs`.
//!
//! ## What this module must never do
//! Wait: every loop here retries a CAS that failed because another thread
//! moved the word. It never reads or writes a node.

mod shrink;

pub(crate) use shrink::ShrinkWork;
use shrink::{seq_tag, CANCELLED};

use crate::raw::node::{is_linked, ref_parity, ref_so_key, LINKED, UNCLAIMED};
use crate::raw::split_order::{
    bucket_mask, level_len, parent_sentinel, slot_of_sentinel, MAX_LOG2,
};
use crate::sync::{Arc, AtomicU64, AtomicUsize, AtomicWord, Guard, Ordering, Word};

/// One level word per possible count of trailing zeros of a sentinel key
/// (0..=64), though only levels up to `MAX_LOG2` (at least `64 - MAX_LOG2`
/// trailing zeros) are ever allocated: the hot path then needs no bounds
/// check.
const LEVELS: usize = 65;

/// The index in the level table of directory level `level`.
#[inline]
const fn table_index(level: usize) -> usize {
    64 - level
}

const LOG2_MASK: u64 = 0x3f;
const FROM_SHIFT: u32 = 6;
const PENDING: u64 = 1 << 12;
const SEQ_SHIFT: u32 = 16;
const SEQ_MASK: u64 = u64::MAX >> SEQ_SHIFT;

/// Incarnation parity bit of a level word.
const PARITY: usize = 1;

/// A decoded state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DirState(u64);

impl DirState {
    #[inline]
    pub(crate) fn log2(self) -> u32 {
        (self.0 & LOG2_MASK) as u32
    }
    #[inline]
    pub(crate) fn shrink_pending(self) -> bool {
        self.0 & PENDING != 0
    }
}

pub(crate) struct Directory {
    state: AtomicU64,
    /// Level arrays, indexed by [`table_index`], each word an array
    /// address with its incarnation parity in bit 0 (module docs).
    levels: [AtomicWord; LEVELS],
    /// The latest shrink `seq` whose grace period has elapsed, recorded by
    /// the shrink's deferred closure; shared with it.
    grace_done: Arc<AtomicU64>,
    /// Automatic shrinking never goes below this `log2` (raised by
    /// `with_capacity` / `reserve`, lowered by `shrink_to_fit`).
    floor_log2: AtomicUsize,
    /// Next fresh chunk of the pending shrink to hand out, tagged with its
    /// `seq` so a thread holding a stale state cannot claim work of a later
    /// shrink; [`CANCELLED`] once growth cancelled it.
    shrink_cursor: AtomicU64,
    /// Chunks of the pending shrink verified finished, in order (tagged).
    shrink_done: AtomicU64,
    pub(crate) allocated_slots: AtomicUsize,
    pub(crate) shrinks: AtomicUsize,
}

impl Directory {
    /// A directory of `1 << log2` buckets whose bucket 0 sentinel is linked
    /// as the head of an empty list.
    pub(crate) fn new(log2: u32) -> Self {
        let log2 = log2.min(MAX_LOG2);
        let dir = Directory {
            state: AtomicU64::new(u64::from(log2)),
            levels: core::array::from_fn(|_| AtomicWord::new(Word::from_bits(0))),
            grace_done: Arc::new(AtomicU64::new(0)),
            floor_log2: AtomicUsize::new(log2 as usize),
            shrink_cursor: AtomicU64::new(0),
            shrink_done: AtomicU64::new(0),
            allocated_slots: AtomicUsize::new(0),
            shrinks: AtomicUsize::new(0),
        };
        // Bucket 0 is linked from birth: the head of an empty list.
        let head = new_level(0);
        head[0].store(crate::raw::node::END.or(LINKED), Ordering::Relaxed);
        let head = Box::into_raw(head) as *const AtomicWord;
        dir.levels[table_index(0)].store(Word::from_ptr(head), Ordering::Relaxed);
        dir.allocated_slots.store(1, Ordering::Relaxed);
        dir
    }

    #[inline]
    pub(crate) fn state(&self) -> DirState {
        DirState(self.state.load(Ordering::Acquire))
    }

    /// The head of the list (bucket 0's sentinel), always linked.
    #[inline]
    pub(crate) fn head<'g>(&'g self, _guard: &'g Guard) -> &'g AtomicWord {
        let base: *const AtomicWord = self.levels[table_index(0)]
            .load(Ordering::Relaxed)
            .ptr(PARITY);
        // SAFETY: level 0 is allocated in `new` and only freed in `Drop`.
        unsafe { &*base }
    }

    /// The level array of `level` and its parity, if allocated.
    #[inline]
    fn level(&self, level: usize) -> (Option<*const AtomicWord>, usize) {
        let w = self.levels[table_index(level)].load(Ordering::Acquire);
        let base: *const AtomicWord = w.ptr(PARITY);
        ((!base.is_null()).then_some(base), w.bits() & PARITY)
    }

    /// The slot of the sentinel `s` and its level's parity, if its level is
    /// allocated.
    #[inline(always)]
    pub(crate) fn slot<'g>(&'g self, s: u64, _guard: &'g Guard) -> Option<(&'g AtomicWord, usize)> {
        let (table, idx) = slot_of_sentinel(s);
        let w = self.levels[table].load(Ordering::Acquire);
        let base: *const AtomicWord = w.ptr(PARITY);
        // SAFETY: a non-null level word points at the level's slots, and
        // `idx` is in range (`slot_of_sentinel` gives an index below
        // `level_len` of the level `table` stands for); a level is retired
        // through the epoch after its word is cleared, and we are pinned by
        // `_guard`.
        (!base.is_null()).then(|| (unsafe { &*base.add(idx) }, w.bits() & PARITY))
    }

    /// The sentinel a reference word names, if that incarnation of its
    /// level is still installed (else the caller must restart its walk).
    #[inline]
    pub(crate) fn follow<'g>(
        &'g self,
        reference: Word,
        _guard: &'g Guard,
    ) -> Option<&'g AtomicWord> {
        let (table, idx) = slot_of_sentinel(ref_so_key(reference));
        let w = self.levels[table].load(Ordering::Acquire);
        if w.bits() & PARITY != ref_parity(reference) {
            return None;
        }
        let base: *const AtomicWord = w.ptr(PARITY);
        if base.is_null() {
            return None;
        }
        // SAFETY: a non-null level word points at the level's slots, `idx`
        // is below its length (`slot_of_sentinel`), and the array is
        // retired through the epoch only after its word is cleared, while
        // we are pinned by `_guard`.
        Some(unsafe { &*base.add(idx) })
    }

    /// The slot of the sentinel `s` and its parity, allocating its level if
    /// needed.
    pub(crate) fn slot_or_alloc<'g>(&'g self, s: u64, guard: &'g Guard) -> (&'g AtomicWord, usize) {
        if let Some(found) = self.slot(s, guard) {
            return found;
        }
        let level = crate::raw::split_order::level_of_sentinel(s);
        let word = &self.levels[table_index(level)];
        let current = word.load(Ordering::Acquire);
        if current.bits() & !PARITY == 0 {
            let fresh = Box::into_raw(new_level(level)) as *const AtomicWord;
            let parity = (current.bits() & PARITY) ^ PARITY;
            let installed = Word::from_ptr(fresh).or(parity);
            match word.compare_exchange(current, installed, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    self.allocated_slots
                        .fetch_add(level_len(level), Ordering::Relaxed);
                }
                Err(_) => {
                    // SAFETY: `fresh` lost the race and was never shared.
                    unsafe { free_level(fresh, level) };
                }
            }
        }
        self.slot(s, guard).expect("level was just installed")
    }

    /// The word of the sentinel of `so_key`'s bucket, if its level is
    /// allocated, else [`UNCLAIMED`]: the start of a read when it is
    /// flagged `LINKED` (the common case, one load after the level word).
    #[inline(always)]
    pub(crate) fn own_start(&self, so_key: u64, guard: &Guard) -> Word {
        // The state word's low six bits are `log2`: the mask takes it as is.
        let s = so_key & bucket_mask(self.state.load(Ordering::Acquire));
        match self.slot(s, guard) {
            Some((slot, _)) => slot.load(Ordering::Acquire),
            None => UNCLAIMED,
        }
    }

    /// The word a read of `so_key` starts from: the successor word of its
    /// bucket's sentinel if that is linked, else of the nearest linked
    /// ancestor's; and whether it is the bucket's own. Never allocates or
    /// links. Also the start of a walk resumed at `so_key` (any key).
    #[inline(always)]
    pub(crate) fn read_start(&self, so_key: u64, guard: &Guard) -> (Word, bool) {
        // The state word's low six bits are `log2`: the mask takes it as is.
        let s = so_key & bucket_mask(self.state.load(Ordering::Acquire));
        if let Some((slot, _)) = self.slot(s, guard) {
            let w = slot.load(Ordering::Acquire);
            if is_linked(w) {
                return (w, true);
            }
        }
        (self.ancestor_start(s, guard), false)
    }

    /// [`Directory::read_start`] when the bucket's own sentinel is not
    /// linked: the nearest linked ancestor's successor word.
    #[cold]
    #[inline(never)]
    fn ancestor_start(&self, mut s: u64, guard: &Guard) -> Word {
        loop {
            s = parent_sentinel(s); // the sentinel 0 is always linked
            if let Some((slot, _)) = self.slot(s, guard) {
                let w = slot.load(Ordering::Acquire);
                if is_linked(w) {
                    return w;
                }
            }
        }
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
                let tag = seq_tag(cur.seq());
                if self
                    .shrink_cursor
                    .compare_exchange(tag, tag | CANCELLED, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    return false; // chunks are being unlinked: let them finish
                }
                // Nobody else can move the state now: no chunk can be taken,
                // so the shrink can neither finish nor be cancelled twice.
                (cur.0 & !(LOG2_MASK | (LOG2_MASK << FROM_SHIFT) | PENDING))
                    | u64::from(log2.max(cur.shrink_from()))
            } else {
                (cur.0 & !LOG2_MASK) | u64::from(log2)
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

    /// Bytes held by allocated level arrays.
    pub(crate) fn slot_bytes(&self) -> usize {
        self.allocated_slots.load(Ordering::Relaxed) * core::mem::size_of::<AtomicWord>()
    }

    /// Number of slots allocated.
    pub(crate) fn allocated_slots(&self) -> usize {
        self.allocated_slots.load(Ordering::Relaxed)
    }

    /// Resets every slot to unclaimed and the head to an empty list
    /// (exclusive access: the list's nodes were taken out, see
    /// `RawMap::take_all`).
    pub(crate) fn reset_slots(&mut self) {
        for (table, word) in self.levels.iter_mut().enumerate() {
            let base: *const AtomicWord = word.get_mut().ptr(PARITY);
            if base.is_null() {
                continue;
            }
            for idx in 0..level_len(table_index(table)) {
                // SAFETY: `&mut self`; an installed level has `level_len`
                // slots.
                unsafe { &*base.add(idx) }.store(UNCLAIMED, Ordering::Relaxed);
            }
        }
        // SAFETY: exclusive access; nothing is retired through it.
        let guard = unsafe { crate::sync::unprotected() };
        self.head(guard)
            .store(crate::raw::node::END.or(LINKED), Ordering::Relaxed);
    }
}

/// A fresh level array of unclaimed slots.
fn new_level(level: usize) -> Box<[AtomicWord]> {
    (0..level_len(level))
        .map(|_| AtomicWord::new(UNCLAIMED))
        .collect()
}

/// Frees a level array.
///
/// # Safety
/// 1. `base` came from a `Box<[AtomicWord]>` of `level_len(level)` slots;
/// 2. it is no longer reachable (its level word was cleared or replaced);
/// 3. no thread holds a reference into it.
unsafe fn free_level(base: *const AtomicWord, level: usize) {
    let len = level_len(level);
    // SAFETY: the original boxed slice (contract 1), which nobody can reach
    // or hold (contracts 2 and 3).
    drop(unsafe {
        Box::from_raw(core::ptr::slice_from_raw_parts_mut(
            base as *mut AtomicWord,
            len,
        ))
    });
}

impl Drop for Directory {
    fn drop(&mut self) {
        for (table, word) in self.levels.iter_mut().enumerate() {
            let base: *const AtomicWord = word.get_mut().ptr(PARITY);
            if !base.is_null() {
                // SAFETY: `&mut self`: no other thread can reach the
                // directory; retired levels were detached before retiring.
                // `table_index` is its own inverse: this is level `table`'s
                // array.
                unsafe { free_level(base, table_index(table)) };
            }
        }
    }
}
