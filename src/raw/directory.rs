//! The segmented bucket directory: where each bucket's sentinel lives, how
//! many buckets are in use, and the grow / shrink state machine.
//!
//! Level 0 holds bucket 0; level `k >= 1` holds buckets `[2^(k-1), 2^k)`, so
//! doubling the bucket count only adds a level and never moves a node. The
//! sentinels *are* the level slots: one link word per bucket, no separate
//! allocation, no stored `so_key` (it is `reverse_bits(bucket)`). Levels are
//! allocated lazily by CAS; a level past the bucket count is retired only by
//! a finished shrink, through the epoch.
//!
//! The directory owns the `state` word, the level arrays and the shrink's
//! work distribution. It never walks the list and never changes a slot:
//! linking and unlinking sentinels is the list's job (`list.rs`), driven by
//! `buckets.rs` and `resize.rs`.
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
//! `log2` (bits 0..6) is the published bucket count. A shrink publishes the
//! smaller `log2` together with `from` (the old `log2`), the `PENDING` flag
//! and a new shrink sequence number `seq`, then defers a closure that records
//! `seq` in `grace_done`. Once it has, every operation that could have used
//! the old bucket count has finished, so no operation uses a sentinel of a
//! dropped level as a start or links one.
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
//! blocked, and `compact()`, take the chunk at the done prefix once every
//! chunk is handed out, claimed or not ([`Directory::try_take_shrink_work`]
//! with `redo_claimed`), and redo it: unlinking is idempotent (marking is
//! an OR, the unlinking search finds the sentinel gone, the `LINKED` clear
//! is an AND). So the shrink ends after a bounded number of such inserts,
//! whatever the claimer does, and growth proceeds. Ordinary writes do not
//! redo claimed chunks: in the common case that would only double the work
//! (and the interleavings a model checker has to explore).
//!
//! A thread that works on a chunk captures the level array's address
//! *before* the claim (fresh chunk) or before re-checking the prefix (helped
//! chunk); the successful claim or re-check proves the shrink had not ended,
//! so the captured array is this shrink's and never a later incarnation,
//! even if the thread is preempted until long after the shrink ended.
//!
//! Growth while a shrink is pending cancels it if no chunk has been claimed
//! yet (nothing was unlinked, so the old levels are intact); otherwise growth
//! is skipped until the shrink ends. Because every shrink gets a new `seq`,
//! a cancelled shrink's late grace closure cannot end a later shrink's grace
//! period early, the cursor and the prefix carry the shrink's `seq` tag, and
//! the state word never returns to an earlier value (no ABA for a stale
//! CAS).
//!
//! ## What this module must never do
//! Wait: every loop here retries a CAS that failed because another thread
//! moved the word. It never reads or writes a node.

use crate::raw::node::{is_linked, is_marked, ref_bucket, ref_parity, LINKED, UNCLAIMED};
use crate::raw::split_order::{bucket_of, level_len, level_of, parent_bucket};
use crate::sync::{Arc, AtomicUsize, AtomicWord, Guard, Ordering, Word};
use core::ops::Range;

/// Largest supported `log2` of the bucket count.
pub(crate) const MAX_LOG2: u32 = if usize::BITS >= 64 { 40 } else { 28 };
/// One level word per possible bit length of a bucket number, though only
/// levels up to `MAX_LOG2` are ever allocated: `level_of` then needs no
/// bounds check on the hot path.
const LEVELS: usize = usize::BITS as usize + 1;

const LOG2_MASK: usize = 0x3f;
const FROM_SHIFT: u32 = 6;
const PENDING: usize = 1 << 12;
const SEQ_SHIFT: u32 = 16;
const SEQ_MASK: usize = usize::MAX >> SEQ_SHIFT;

/// Incarnation parity bit of a level word.
const PARITY: usize = 1;

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
    /// Number of chunks of the pending shrink.
    #[inline]
    fn shrink_chunks(self) -> usize {
        (self.log2() as usize + 1..=self.shrink_from() as usize)
            .map(|level| level_len(level).div_ceil(SHRINK_CHUNK))
            .sum()
    }

    /// The level and buckets of chunk `chunk` of the pending shrink. Chunks
    /// are handed out top level first, so when a sentinel is unlinked its
    /// parent (one level down) is usually still linked and every stray
    /// sentinel between the two is already gone: the unlinking search from
    /// the parent then walks only data nodes.
    fn shrink_chunk(self, mut chunk: usize) -> (usize, Range<usize>) {
        for level in (self.log2() as usize + 1..=self.shrink_from() as usize).rev() {
            let chunks = level_len(level).div_ceil(SHRINK_CHUNK);
            if chunk < chunks {
                let first = (1usize << (level - 1)) + chunk * SHRINK_CHUNK;
                return (level, first..(first + SHRINK_CHUNK).min(1usize << level));
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

/// Slots of the levels being dropped that one helping operation unlinks.
pub(crate) const SHRINK_CHUNK: usize = 64;
/// The shrink cursor and the done prefix count chunks in their low bits
/// (enough for every chunk of `MAX_LOG2` levels, plus the cancelled mark)
/// and carry a tag of the shrink's `seq` above.
const COUNT_BITS: u32 = MAX_LOG2 - SHRINK_CHUNK.trailing_zeros() + 2;
const COUNT_MASK: usize = (1 << COUNT_BITS) - 1;
/// Cursor value of a cancelled shrink: larger than any chunk count.
const CANCELLED: usize = COUNT_MASK;

/// The tag of a shrink's cursor and prefix words: the low bits of its
/// `seq`. A stale thread would need as many shrinks to begin (and end)
/// between two of its instructions as the tag has values to mistake a
/// later shrink's word for its own.
#[inline]
fn seq_tag(seq: usize) -> usize {
    (seq & (usize::MAX >> COUNT_BITS)) << COUNT_BITS
}

/// A stretch of a pending shrink's work taken by one thread: the buckets
/// (all in one dropped level) whose sentinels it unlinks.
pub(crate) struct ShrinkWork {
    /// The bucket count the shrink goes down to (`log2`).
    pub(crate) to: u32,
    pub(crate) buckets: Range<usize>,
    /// The chunk's level array, captured before the claim (module docs);
    /// `None` if the level was never allocated.
    base: Option<*const AtomicWord>,
    first: usize,
    chunk: usize,
    state: DirState,
}

impl ShrinkWork {
    /// The slot of `bucket` (in `self.buckets`) in the captured array.
    pub(crate) fn slot<'g>(&self, bucket: usize, _guard: &'g Guard) -> Option<&'g AtomicWord> {
        debug_assert!(self.buckets.contains(&bucket));
        let base = self.base?;
        // SAFETY: `base` is a level array of this shrink's dropped level,
        // captured while it was installed; it is retired through the epoch
        // only after being detached, and we are pinned by `_guard` since
        // before the capture. `bucket - first` is in range: a chunk lies
        // inside its level.
        Some(unsafe { &*base.add(bucket - self.first) })
    }
}

pub(crate) struct Directory {
    state: AtomicUsize,
    /// Level arrays, each word an array address with its incarnation
    /// parity in bit 0 (module docs).
    levels: [AtomicWord; LEVELS],
    /// The latest shrink `seq` whose grace period has elapsed, recorded by
    /// the shrink's deferred closure; shared with it.
    grace_done: Arc<AtomicUsize>,
    /// Automatic shrinking never goes below this `log2` (raised by
    /// `with_capacity` / `reserve`, lowered by `shrink_to_fit`).
    floor_log2: AtomicUsize,
    /// Next fresh chunk of the pending shrink to hand out, tagged with its
    /// `seq` so a thread holding a stale state cannot claim work of a later
    /// shrink; [`CANCELLED`] once growth cancelled it.
    shrink_cursor: AtomicUsize,
    /// Chunks of the pending shrink verified finished, in order (tagged).
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
            levels: core::array::from_fn(|_| AtomicWord::new(Word::from_bits(0))),
            grace_done: Arc::new(AtomicUsize::new(0)),
            floor_log2: AtomicUsize::new(log2 as usize),
            shrink_cursor: AtomicUsize::new(0),
            shrink_done: AtomicUsize::new(0),
            allocated_slots: AtomicUsize::new(0),
            shrinks: AtomicUsize::new(0),
        };
        // Bucket 0 is linked from birth: the head of an empty list.
        let head = new_level(0);
        head[0].store(crate::raw::node::END.or(LINKED), Ordering::Relaxed);
        let head = Box::into_raw(head) as *const AtomicWord;
        dir.levels[0].store(Word::from_ptr(head), Ordering::Relaxed);
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
        let base: *const AtomicWord = self.levels[0].load(Ordering::Relaxed).ptr(PARITY);
        // SAFETY: level 0 is allocated in `new` and only freed in `Drop`.
        unsafe { &*base }
    }

    /// The level array of `level` and its parity, if allocated.
    #[inline]
    fn level(&self, level: usize) -> (Option<*const AtomicWord>, usize) {
        let w = self.levels[level].load(Ordering::Acquire);
        let base: *const AtomicWord = w.ptr(PARITY);
        ((!base.is_null()).then_some(base), w.bits() & PARITY)
    }

    /// The slot of `bucket` and its level's parity, if its level is
    /// allocated.
    #[inline]
    pub(crate) fn slot<'g>(
        &'g self,
        bucket: usize,
        _guard: &'g Guard,
    ) -> Option<(&'g AtomicWord, usize)> {
        let (level, idx) = level_of(bucket);
        let (base, parity) = self.level(level);
        // SAFETY: a non-null level word points at `level_len(level)` slots
        // (`idx` is in range by `level_of`); a level is retired through the
        // epoch after its word is cleared, and we are pinned by `_guard`.
        base.map(|base| (unsafe { &*base.add(idx) }, parity))
    }

    /// The sentinel a reference word names, if that incarnation of its
    /// level is still installed (else the caller must restart its walk).
    #[inline]
    pub(crate) fn follow<'g>(
        &'g self,
        reference: Word,
        _guard: &'g Guard,
    ) -> Option<&'g AtomicWord> {
        let (level, idx) = level_of(ref_bucket(reference));
        let w = self.levels[level].load(Ordering::Acquire);
        if w.bits() & PARITY != ref_parity(reference) {
            return None;
        }
        let base: *const AtomicWord = w.ptr(PARITY);
        if base.is_null() {
            return None;
        }
        // SAFETY: as in `slot`.
        Some(unsafe { &*base.add(idx) })
    }

    /// The slot of `bucket` and its parity, allocating its level if needed.
    pub(crate) fn slot_or_alloc<'g>(
        &'g self,
        bucket: usize,
        guard: &'g Guard,
    ) -> (&'g AtomicWord, usize) {
        if let Some(found) = self.slot(bucket, guard) {
            return found;
        }
        let (level, _) = level_of(bucket);
        let current = self.levels[level].load(Ordering::Acquire);
        if current.bits() & !PARITY == 0 {
            let fresh = Box::into_raw(new_level(level)) as *const AtomicWord;
            let parity = (current.bits() & PARITY) ^ PARITY;
            let installed = Word::from_ptr(fresh).or(parity);
            match self.levels[level].compare_exchange(
                current,
                installed,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
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
        self.slot(bucket, guard).expect("level was just installed")
    }

    /// The word a read of `hash` starts from: the successor word of its
    /// bucket's sentinel if that is linked, else of the nearest linked
    /// ancestor's; and whether it is the bucket's own. Never allocates or
    /// links.
    #[inline(always)]
    pub(crate) fn read_start(&self, hash: u64, guard: &Guard) -> (Word, bool) {
        let bucket = bucket_of(hash, self.state().log2());
        if let Some((slot, _)) = self.slot(bucket, guard) {
            let w = slot.load(Ordering::Acquire);
            if is_linked(w) {
                return (w, true);
            }
        }
        (self.ancestor_start(bucket, guard), false)
    }

    /// [`Directory::read_start`] when the bucket's own sentinel is not
    /// linked: the nearest linked ancestor's successor word.
    #[cold]
    #[inline(never)]
    fn ancestor_start(&self, mut bucket: usize, guard: &Guard) -> Word {
        loop {
            bucket = parent_bucket(bucket); // bucket 0 is always linked
            if let Some((slot, _)) = self.slot(bucket, guard) {
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

    /// If a pending shrink's grace period has elapsed, takes one chunk of
    /// its work: a fresh one if any is left, else (with `redo_claimed`) the
    /// first one not yet verified finished, which another thread claimed
    /// (module docs). Never waits.
    pub(crate) fn try_take_shrink_work(&self, redo_claimed: bool) -> Option<ShrinkWork> {
        let state = self.state();
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
            let chunk = cursor & COUNT_MASK;
            if chunk >= total {
                break; // all handed out, or cancelled
            }
            let work = self.capture(state, chunk);
            match self.shrink_cursor.compare_exchange(
                cursor,
                tag | (chunk + 1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(work),
                Err(actual) => cursor = actual,
            }
        }
        if !redo_claimed || cursor & COUNT_MASK != total {
            return None; // not asked to redo, or cancelled
        }
        // Every chunk is handed out: help at the done prefix.
        let done = self.shrink_done.load(Ordering::Acquire);
        if done & !COUNT_MASK != tag || done & COUNT_MASK >= total {
            return None;
        }
        let work = self.capture(state, done & COUNT_MASK);
        // The prefix has not moved, so the shrink has not ended and the
        // captured array is this shrink's (module docs).
        (self.shrink_done.load(Ordering::Acquire) == done).then_some(work)
    }

    /// Chunk `chunk` of the shrink `state`, with its level array captured.
    fn capture(&self, state: DirState, chunk: usize) -> ShrinkWork {
        let (level, buckets) = state.shrink_chunk(chunk);
        ShrinkWork {
            to: state.log2(),
            first: 1usize << (level - 1),
            buckets,
            base: self.level(level).0,
            chunk,
            state,
        }
    }

    /// Records that `work` is finished (every sentinel in it unlinked) and
    /// advances the done prefix over it and over every following chunk
    /// that is verifiably finished. The thread that advances it past the
    /// last chunk detaches levels `to+1 ..= from` (every sentinel in them
    /// is unlinked by then), retires them, and ends the shrink.
    pub(crate) fn advance_shrink(&self, work: ShrinkWork, guard: &Guard) {
        let state = work.state;
        let total = state.shrink_chunks();
        let tag = seq_tag(state.seq());
        let mut done = self.shrink_done.load(Ordering::Acquire);
        loop {
            if done & !COUNT_MASK != tag {
                return; // a later shrink
            }
            let next = done & COUNT_MASK;
            if next >= total {
                return; // ended by another thread
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
                Ok(_) if next + 1 == total => return self.end_shrink(state, guard),
                Ok(_) => done += 1,
                Err(actual) => done = actual,
            }
        }
    }

    /// Whether every sentinel of chunk `chunk` is unlinked (or never was).
    /// A stale answer is harmless: the prefix CAS that follows fails if the
    /// shrink moved on.
    fn chunk_finished(&self, state: DirState, chunk: usize) -> bool {
        let (level, buckets) = state.shrink_chunk(chunk);
        let Some(base) = self.level(level).0 else {
            return true;
        };
        let first = 1usize << (level - 1);
        buckets.into_iter().all(|bucket| {
            // SAFETY: as in `slot`; the caller is pinned (it holds a guard
            // for `advance_shrink`).
            let w = unsafe { &*base.add(bucket - first) }.load(Ordering::Acquire);
            w == UNCLAIMED || (is_marked(w) && !is_linked(w))
        })
    }

    /// Detaches and retires the dropped levels and clears `PENDING`.
    fn end_shrink(&self, state: DirState, guard: &Guard) {
        let (to, from) = (state.log2(), state.shrink_from());
        for level in to as usize + 1..=from as usize {
            // Keep the parity bit: the next array for this level gets the
            // other one.
            let old = self.levels[level].load(Ordering::Acquire);
            let base: *const AtomicWord = old.ptr(PARITY);
            if base.is_null() {
                continue;
            }
            let detached = Word::from_bits(old.bits() & PARITY);
            // Growth cannot allocate this level before the state changes
            // below, so this CAS cannot fail; a CAS documents the claim.
            let res = self.levels[level].compare_exchange(
                old,
                detached,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            debug_assert!(res.is_ok(), "a dropped level moved during its shrink");
            self.allocated_slots
                .fetch_sub(level_len(level), Ordering::Relaxed);
            let addr = base as usize;
            // SAFETY: every sentinel of this level is unlinked (all chunks
            // are verified), the level word no longer points to it, and the
            // bucket count no longer covers it, so no new reference to it
            // can be made; threads still holding one are pinned, and the
            // epoch frees it after them. The closure owns what it touches
            // (an address and a length).
            unsafe {
                guard.defer_unchecked(move || free_level(addr as *const AtomicWord, level));
            }
        }
        self.shrinks.fetch_add(1, Ordering::Relaxed);
        // Once a chunk is claimed, growth can no longer cancel the shrink
        // and is skipped, so nothing else writes the state and this CAS
        // succeeds.
        let res = self.state.compare_exchange(
            state.0,
            (state.0 & !(LOG2_MASK | (LOG2_MASK << FROM_SHIFT) | PENDING)) | to as usize,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        debug_assert!(res.is_ok(), "directory state moved during a shrink");
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
        for (level, word) in self.levels.iter_mut().enumerate() {
            let base: *const AtomicWord = word.get_mut().ptr(PARITY);
            if base.is_null() {
                continue;
            }
            for idx in 0..level_len(level) {
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
/// `base` came from a `Box<[AtomicWord]>` of `level_len(level)` slots, is no
/// longer reachable, and no thread holds a reference into it.
unsafe fn free_level(base: *const AtomicWord, level: usize) {
    let len = level_len(level);
    // SAFETY: per the contract, this is the original boxed slice.
    drop(unsafe {
        Box::from_raw(core::ptr::slice_from_raw_parts_mut(
            base as *mut AtomicWord,
            len,
        ))
    });
}

impl Drop for Directory {
    fn drop(&mut self) {
        for (level, word) in self.levels.iter_mut().enumerate() {
            let base: *const AtomicWord = word.get_mut().ptr(PARITY);
            if !base.is_null() {
                // SAFETY: `&mut self`: no other thread can reach the
                // directory; retired levels were detached before retiring.
                unsafe { free_level(base, level) };
            }
        }
    }
}
