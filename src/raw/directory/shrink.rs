//! A directory shrink, once published: its grace period, the work of
//! unlinking the dropped levels' sentinels shared out in chunks, and its
//! end (detaching and retiring those levels).
//!
//! ## Shrink work: claimed chunks, redone when growth waits
//! The dropped levels' sentinels are cut into chunks of [`SHRINK_CHUNK`]
//! buckets (a chunk never spans two levels). Write operations each take one
//! fresh chunk of work, handed out by a cursor (one thread each), and then
//! advance the *done prefix*: the chunks verified finished, in order. A
//! chunk is verified by reading its slots: each is
//! [`UNCLAIMED`](crate::raw::node::UNCLAIMED) or marked and no longer
//! `LINKED`. Whoever advances the prefix past the last chunk detaches the
//! levels, retires them and ends the shrink ([`Directory::advance_shrink`]).
//!
//! Growth is skipped while a shrink's chunks are being processed, so a
//! claimer preempted in the middle of its chunk would hold growth up for as
//! long as it sleeps. Instead, a thread whose insert finds growth due and
//! blocked, `compact()` and `reserve` take the chunk at the done prefix
//! once every chunk is handed out, claimed or not ([`Directory::try_take_shrink_work`]
//! with `redo_claimed`), and redo it: unlinking is idempotent (marking is
//! an OR, the unlinking search finds the sentinel gone, the `LINKED` clear
//! is an AND). So the shrink ends after a bounded number of such inserts,
//! whatever the claimer does, and growth proceeds. Ordinary writes do not
//! redo claimed chunks: in the common case that would only double the work
//! (and the interleavings a model checker has to explore).
//!
//! The end itself (detach the levels, clear `PENDING`) is helpable the same
//! way: a thread that finds the done prefix past the last chunk, or whose
//! insert waits for growth and finds it so, ends the shrink for an ender
//! preempted in between ([`Directory::help_end_shrink`]). Each level is
//! detached by one CAS on the array word loaded while the shrink was still
//! pending (checked after the load), so a late helper can never detach a
//! later incarnation; the thread whose state CAS succeeds counts it.
//!
//! A thread that works on a chunk captures the level array's address
//! and then proves the capture is this shrink's array and never a later
//! incarnation, however long it was preempted before or after:
//! - a fresh chunk: after the capture it re-reads the state word and gives
//!   up unless it still equals the state it started from. The state word
//!   never returns to an earlier value (below), so the shrink was pending
//!   throughout, and a level array installed after the shrink ended would
//!   have been installed by a thread that saw the later state (its CAS
//!   releases that; our acquire load of the level word would carry it to
//!   our re-read). The cursor CAS alone proves nothing: a shrink can end
//!   with its cursor short of the last chunk, because the done prefix moves
//!   past chunks never handed out whose slots are all unclaimed or whose
//!   level was never allocated (issue 17: a helper preempted between
//!   reading the state and loading the cursor used to claim such a chunk
//!   after the shrink ended and the map regrew, and mark a live sentinel
//!   of the new array; `shrink_work.rs` test
//!   `a_stale_helper_claims_nothing_after_its_shrink_ended`, loom
//!   `stale_claim.rs`);
//! - a helped chunk: it captures before re-checking the done prefix, and
//!   the prefix is short of the last chunk exactly while the shrink is
//!   pending.
//!
//! Growth while a shrink is pending cancels it if no chunk has been claimed
//! yet (nothing was unlinked, so the old levels are intact); otherwise growth
//! is skipped until the shrink ends. Because every shrink gets a new `seq`,
//! a cancelled shrink's late grace closure cannot end a later shrink's grace
//! period early, the cursor and the prefix carry the shrink's `seq` tag, and
//! the state word never returns to an earlier value (no ABA for a stale
//! CAS or a stale re-read): within one `seq` the state goes pending, then
//! not pending, and then only grows its `log2`.
//!
//! ## Why the shrink words are 64 bits on every target
//! The state word, the cursor and the prefix are `u64` even where `usize`
//! has 32 bits. With `usize` words a 32-bit target had a 16-bit `seq` and
//! an 8-bit tag, so 256 (or 65,536) shrinks begun and cancelled while one
//! helper stayed preempted between two instructions could make a stale
//! claim look current. With 64 bits `seq` has 48 bits and the tag at least
//! 28 on every target. The cost is nothing on 64-bit targets (the same
//! instructions) and a 64-bit atomic load on 32-bit ones, which the crate
//! already requires (the cache's access word is an `AtomicU64`).

//! ## What this module must never do
//! Wait, or touch a node: it hands out work and verifies it by reading
//! slot words; the unlinking itself is `shrink_work.rs`'s (through `list.rs`).

use super::{
    free_level, table_index, DirState, Directory, FROM_SHIFT, LOG2_MASK, PARITY, PENDING, SEQ_MASK,
    SEQ_SHIFT,
};
use crate::raw::node::{is_linked, is_marked, UNCLAIMED};
use crate::raw::split_order::{level_len, MAX_LOG2};
use crate::sync::{Arc, AtomicWord, Guard, Ordering, Word};
use core::ops::Range;

impl DirState {
    #[inline]
    pub(super) fn shrink_from(self) -> u32 {
        ((self.0 >> FROM_SHIFT) & LOG2_MASK) as u32
    }
    #[inline]
    pub(super) fn seq(self) -> u64 {
        self.0 >> SEQ_SHIFT
    }
    /// How many times longer than its own share a surviving bucket's walk
    /// is while the pending shrink's dropped sentinels are still linked:
    /// each surviving bucket spans `2^(from - to)` buckets of the old size
    /// (1 when no shrink is pending).
    #[inline]
    pub(crate) fn shrink_span(self) -> usize {
        if !self.shrink_pending() {
            return 1;
        }
        1usize << (self.shrink_from().saturating_sub(self.log2())).min(24)
    }

    /// Number of chunks of the pending shrink, or 0 when none is pending.
    #[inline]
    pub(crate) fn shrink_chunks_bound(self) -> usize {
        if self.shrink_pending() {
            self.shrink_chunks()
        } else {
            0
        }
    }

    /// Number of chunks of the pending shrink.
    #[inline]
    pub(super) fn shrink_chunks(self) -> usize {
        (self.log2() as usize + 1..=self.shrink_from() as usize)
            .map(|level| level_len(level).div_ceil(SHRINK_CHUNK))
            .sum()
    }

    /// The level and the slot indices (in split order) of chunk `chunk` of
    /// the pending shrink. Chunks are handed out top level first, so when a
    /// sentinel is unlinked its parent (one level down) is usually still
    /// linked and every stray sentinel between the two is already gone: the
    /// unlinking search from the parent then walks only data nodes.
    fn shrink_chunk(self, mut chunk: usize) -> (usize, Range<usize>) {
        for level in (self.log2() as usize + 1..=self.shrink_from() as usize).rev() {
            let chunks = level_len(level).div_ceil(SHRINK_CHUNK);
            if chunk < chunks {
                let first = chunk * SHRINK_CHUNK;
                return (level, first..(first + SHRINK_CHUNK).min(level_len(level)));
            }
            chunk -= chunks;
        }
        unreachable!("chunk index past the shrink")
    }
}

/// `a` is `b` or later in the wrapping sequence space (outstanding shrinks
/// are never more than a handful apart).
#[inline]
fn seq_reached(a: u64, b: u64) -> bool {
    a.wrapping_sub(b) & SEQ_MASK <= SEQ_MASK / 2
}

/// Slots of the levels being dropped that one helping operation unlinks.
pub(crate) const SHRINK_CHUNK: usize = 64;
/// The shrink cursor and the done prefix count chunks in their low bits
/// (enough for every chunk of `MAX_LOG2` levels, plus the cancelled mark)
/// and carry a tag of the shrink's `seq` above.
const COUNT_BITS: u32 = MAX_LOG2 - SHRINK_CHUNK.trailing_zeros() + 2;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
/// Cursor value of a cancelled shrink: larger than any chunk count.
pub(super) const CANCELLED: u64 = COUNT_MASK;

/// The chunk count a cursor or prefix word holds (or [`CANCELLED`]).
#[inline]
fn count_of(word: u64) -> usize {
    // A count fits in `COUNT_BITS` (at most 36) bits, and chunk counts are
    // `usize` because every chunk is a slot range of an allocated level.
    (word & COUNT_MASK) as usize
}

/// The tag of a shrink's cursor and prefix words: the low bits of its
/// `seq`. A stale thread would need as many shrinks to begin (and end)
/// between two of its instructions as the tag has values to mistake a
/// later shrink's word for its own.
#[inline]
pub(super) fn seq_tag(seq: u64) -> u64 {
    (seq & (u64::MAX >> COUNT_BITS)) << COUNT_BITS
}

/// A stretch of a pending shrink's work taken by one thread: slots of one
/// dropped level whose sentinels it unlinks.
pub(crate) struct ShrinkWork {
    /// The bucket count the shrink goes down to (`log2`).
    pub(crate) to: u32,
    /// The dropped level the chunk lies in.
    pub(crate) level: usize,
    /// The chunk's slot indices in its level (split order).
    pub(crate) slots: Range<usize>,
    /// The chunk's level array, captured before the claim (module docs);
    /// `None` if the level was never allocated.
    base: Option<*const AtomicWord>,
    chunk: usize,
    state: DirState,
}

impl ShrinkWork {
    /// The slot at index `idx` (in `self.slots`) of the captured array.
    pub(crate) fn slot<'g>(&self, idx: usize, _guard: &'g Guard) -> Option<&'g AtomicWord> {
        debug_assert!(self.slots.contains(&idx));
        let base = self.base?;
        // SAFETY: `base` is a level array of this shrink's dropped level,
        // captured while it was installed; it is retired through the epoch
        // only after being detached, and we are pinned by `_guard` since
        // before the capture. `idx` is in range: a chunk lies inside its
        // level.
        Some(unsafe { &*base.add(idx) })
    }
}

impl Directory {
    /// Publishes a smaller bucket count `1 << to` and starts its grace
    /// period. Returns false if another shrink is pending or the state moved.
    pub(crate) fn try_begin_shrink(&self, expected: DirState, to: u32, guard: &Guard) -> bool {
        if expected.shrink_pending() || to >= expected.log2() {
            return false;
        }
        let seq = (expected.seq() + 1) & SEQ_MASK;
        let new =
            u64::from(to) | u64::from(expected.log2()) << FROM_SHIFT | PENDING | seq << SEQ_SHIFT;
        if self
            .state
            .compare_exchange(expected.0, new, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        // Nobody can take work before the grace period, which cannot end
        // while we are pinned, so these plain stores come first. A grower
        // that tries to cancel before the store finds the previous shrink's
        // tag and simply does not grow this time.
        self.shrink_done.store(seq_tag(seq), Ordering::Relaxed);
        self.shrink_cursor.store(seq_tag(seq), Ordering::Release);
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

    /// Whether `state` has a shrink pending whose grace period is still
    /// running (no chunk can be taken yet).
    #[cfg(not(loom))]
    #[inline]
    pub(crate) fn shrink_grace_running(&self, state: DirState) -> bool {
        state.shrink_pending() && !seq_reached(self.grace_done.load(Ordering::Acquire), state.seq())
    }

    /// If a pending shrink's grace period has elapsed, takes one chunk of
    /// its work: a fresh one if any is left, else (with `redo_claimed`) the
    /// first one not yet verified finished, which another thread claimed
    /// (module docs). Never waits.
    pub(crate) fn try_take_shrink_work(&self, redo_claimed: bool) -> Option<ShrinkWork> {
        self.take_shrink_work_as_of(self.state(), redo_claimed)
    }

    /// [`Directory::try_take_shrink_work`] by a thread that read the state
    /// word as `state`, possibly long ago: it may have been preempted right
    /// after the read (a test seam for exactly that thread).
    pub(crate) fn take_shrink_work_as_of(
        &self,
        state: DirState,
        redo_claimed: bool,
    ) -> Option<ShrinkWork> {
        if !state.shrink_pending() {
            return None;
        }
        if !seq_reached(self.grace_done.load(Ordering::Acquire), state.seq()) {
            return None; // grace period still running
        }
        let total = state.shrink_chunks();
        let tag = seq_tag(state.seq());
        let mut cursor = self.shrink_cursor.load(Ordering::Acquire);
        loop {
            if cursor & !COUNT_MASK != tag {
                return None; // a different shrink's cursor
            }
            let chunk = count_of(cursor);
            if chunk >= total {
                break; // all handed out, or cancelled
            }
            let work = self.capture(state, chunk);
            // The shrink may have ended before the capture (its cursor can
            // stop short of `total`: the done prefix passes chunks never
            // handed out), and a regrown map may have a new array for the
            // level. The state word still reading `state` proves it had
            // not: it never returns to an earlier value (module docs).
            if self.state.load(Ordering::Acquire) != state.0 {
                return None;
            }
            match self.shrink_cursor.compare_exchange(
                cursor,
                tag | (chunk as u64 + 1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(work),
                Err(actual) => cursor = actual,
            }
        }
        if !redo_claimed || count_of(cursor) != total {
            return None; // not asked to redo, or cancelled
        }
        // Every chunk is handed out: help at the done prefix.
        let done = self.shrink_done.load(Ordering::Acquire);
        if done & !COUNT_MASK != tag || count_of(done) >= total {
            return None;
        }
        let work = self.capture(state, count_of(done));
        // The prefix has not moved, so the shrink has not ended and the
        // captured array is this shrink's (module docs).
        (self.shrink_done.load(Ordering::Acquire) == done).then_some(work)
    }

    /// Chunk `chunk` of the shrink `state`, with its level array captured.
    fn capture(&self, state: DirState, chunk: usize) -> ShrinkWork {
        let (level, slots) = state.shrink_chunk(chunk);
        ShrinkWork {
            to: state.log2(),
            level,
            slots,
            base: self.level(level).0,
            chunk,
            state,
        }
    }

    /// Records that `work` is finished (every sentinel in it unlinked) and
    /// advances the done prefix over it and over every following chunk
    /// that is verifiably finished. A thread that finds the prefix past the
    /// last chunk (its own CAS, or another's) ends the shrink: detaches
    /// levels `to+1 ..= from` (every sentinel in them is unlinked by then),
    /// retires them, and clears `PENDING` (helpable, see `end_shrink`).
    pub(crate) fn advance_shrink(&self, work: ShrinkWork, guard: &Guard) {
        let state = work.state;
        let total = state.shrink_chunks();
        let tag = seq_tag(state.seq());
        let mut done = self.shrink_done.load(Ordering::Acquire);
        loop {
            if done & !COUNT_MASK != tag {
                return; // a later shrink
            }
            let next = count_of(done);
            if next >= total {
                // Every chunk is verified: the shrink ends, or has ended.
                // Its ender may be preempted between the two: end it (a
                // no-op if it has ended).
                self.end_shrink(state, guard);
                return;
            }
            if next != work.chunk && !self.chunk_finished(state, next) {
                return; // someone is still on it; they (or a helper) advance
            }
            match self.shrink_done.compare_exchange(
                done,
                done + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) if next + 1 == total => {
                    self.end_shrink(state, guard);
                    return;
                }
                Ok(_) => done += 1,
                Err(actual) => done = actual,
            }
        }
    }

    /// Whether every sentinel of chunk `chunk` is unlinked (or never was).
    /// A stale answer is harmless: the prefix CAS that follows fails if the
    /// shrink moved on.
    fn chunk_finished(&self, state: DirState, chunk: usize) -> bool {
        let (level, slots) = state.shrink_chunk(chunk);
        let Some(base) = self.level(level).0 else {
            return true;
        };
        slots.into_iter().all(|idx| {
            // SAFETY: `base` is an installed level array (read from its
            // word just now), `idx` is inside the level (a chunk lies in its
            // level), and the array is retired through the epoch only after
            // its word is cleared, while the caller is pinned (it holds a
            // guard for `advance_shrink`).
            let w = unsafe { &*base.add(idx) }.load(Ordering::Acquire);
            w == UNCLAIMED || (is_marked(w) && !is_linked(w))
        })
    }

    /// If every chunk of the pending shrink is verified finished but the
    /// shrink has not ended yet (its ender is preempted), ends it. Returns
    /// whether it ended it. Never waits.
    pub(crate) fn help_end_shrink(&self, guard: &Guard) -> bool {
        let state = self.state();
        if !state.shrink_pending() {
            return false;
        }
        let done = self.shrink_done.load(Ordering::Acquire);
        if done != seq_tag(state.seq()) | state.shrink_chunks() as u64 {
            return false;
        }
        self.end_shrink(state, guard)
    }

    /// Detaches and retires the dropped levels and clears `PENDING`, once
    /// every chunk of the shrink `state` is verified finished. Helpable:
    /// several threads may run it at once, each level is detached by one
    /// CAS on the array word it held while the shrink was still pending, and
    /// the thread whose state CAS succeeds counts the shrink. Returns
    /// whether this call ended the shrink.
    fn end_shrink(&self, state: DirState, guard: &Guard) -> bool {
        let (to, from) = (state.log2(), state.shrink_from());
        for level in to as usize + 1..=from as usize {
            let old = self.levels[table_index(level)].load(Ordering::Acquire);
            let base: *const AtomicWord = old.ptr(PARITY);
            if base.is_null() {
                continue; // never allocated, or already detached
            }
            // Loaded before this check: if the shrink is still pending,
            // `old` is its array (growth cannot re-allocate a level before
            // the state changes), and we are pinned, so the address cannot
            // come back as a later array while we hold it.
            if self.state.load(Ordering::Acquire) != state.0 {
                return false; // ended by another thread meanwhile
            }
            // Keep the parity bit: the next array for this level gets the
            // other one.
            let detached = Word::from_bits(old.bits() & PARITY);
            if self.levels[table_index(level)]
                .compare_exchange(old, detached, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue; // another ender detached it
            }
            self.allocated_slots
                .fetch_sub(level_len(level), Ordering::Relaxed);
            // SAFETY: every sentinel of this level is unlinked (all chunks
            // are verified), our CAS detached the level word from this array
            // (so this runs once per array), and the bucket count no longer
            // covers it, so no new reference to it can be made; threads
            // still holding one are pinned, and the epoch frees it after
            // them. The closure owns what it touches (the array's pointer,
            // kept as a pointer for its provenance, and a length).
            unsafe {
                guard.defer_unchecked(move || free_level(base, level));
            }
        }
        // Every level is detached by now (by us or by the thread whose CAS
        // beat ours). Once a chunk is claimed, growth can neither cancel the
        // shrink nor run, so only enders write the state.
        let ended = self
            .state
            .compare_exchange(
                state.0,
                (state.0 & !(LOG2_MASK | (LOG2_MASK << FROM_SHIFT) | PENDING)) | u64::from(to),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if ended {
            self.shrinks.fetch_add(1, Ordering::Relaxed);
        }
        ended
    }
}
