//! The Harris–Michael ordered list over split-order keys: every traversal
//! and every CAS on a link word.
//!
//! Owns the traversal rules: `search` (find a position, helping to unlink
//! marked nodes on the way), `lookup` (read-only, never writes), `sweep`
//! (the compaction walk; the iteration walk is `iter.rs`), and the writes
//! that change the list: insert a node,
//! mark, replace, unlink, and the sentinel state changes (claim, link,
//! mark, retire-flag). It does not know about counters or resize policy;
//! callers pass [`ListHooks`] for what happens when a node is unlinked.
//!
//! Successors are link words (`node.rs`): a data node by address, a
//! sentinel by bucket number, which a walker compares by its implied
//! `so_key` and follows through the directory only when it must pass it.
//! Following fails if the sentinel's level was detached by a finished
//! shrink (or re-allocated since): the walk restarts from a fresh start,
//! which happens at most once per shrink a walker overlaps.
//!
//! Rules every function here keeps:
//! - compare `so_key` first, keys only on an equal `so_key`, and scan the
//!   whole run of equal `so_key` before answering "absent";
//! - never stop at a sentinel, only at a strictly larger `so_key`;
//! - a node is unlinked only after it was marked, by one CAS on its unmarked
//!   predecessor, and the thread whose CAS succeeded retires it (data nodes;
//!   sentinels belong to their directory level);
//! - every CAS that swings a successor expects an unmarked word and keeps
//!   the owner bits of the word it replaces (`node::relink`).
//!
//! ## What this module must never do
//! Wait for another thread (every loop retries only after a CAS lost to
//! another thread's progress, or restarts after a shrink moved the
//! directory), or free memory (retiring is the hooks' job).
//!
//! Why over 600 lines: every CAS on a link word lives here by design (one
//! place to audit the list's memory orderings); a third of it is the
//! `SAFETY` arguments and docs of those operations.

use crate::raw::directory::Directory;
use crate::raw::node::{
    is_end, is_linked, is_marked, is_ref, node_word, ref_so_key, relink, stop_key, succ_node, Link,
    Node, CLAIMED, LINKED, MARK, UNCLAIMED,
};
use crate::sync::{prefetch, AtomicWord, Guard, Ordering, Word};
use core::marker::PhantomData;

/// Test hook (feature `internal-test-hooks`): counts, per thread, the nodes
/// the traversals step onto (searches, lookups, sweeps, iteration), so a
/// test can bound the work of an operation without timing it. Compiled to
/// nothing without the feature. Steps taken while the thread's
/// thread-locals are destroyed (a map used from a thread-local destructor)
/// are not counted.
#[inline(always)]
pub(crate) fn count_step() {
    #[cfg(all(feature = "internal-test-hooks", not(loom)))]
    let _ = STEPS.try_with(|s| s.set(s.get() + 1));
}

#[cfg(all(feature = "internal-test-hooks", not(loom)))]
std::thread_local! {
    static STEPS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// The calling thread's count of [`count_step`]s so far (0 once its
/// thread-locals are destroyed).
#[cfg(all(feature = "internal-test-hooks", not(loom)))]
pub(crate) fn steps() -> u64 {
    STEPS.try_with(core::cell::Cell::get).unwrap_or(0)
}

/// How an entry compares with the key being looked for. `D` is the entry
/// kind's [`RawEntry::Death`]: why the matcher found the entry dead, which
/// the list hands unchanged to [`RawEntry::on_dead_marked`] if its CAS
/// marks the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match<D = ()> {
    Equal,
    NotEqual,
    /// The entry can never match anything again (a weak key whose referent
    /// is gone, an expired cache entry), for the reason `D`. `search` marks
    /// it so it gets unlinked.
    Dead(D),
}

/// What the list needs from the map that owns it.
pub(crate) trait ListHooks<E: RawEntry> {
    /// The directory that sentinel references are followed through.
    fn dir(&self) -> &Directory;
    /// Retires a data node this thread just unlinked.
    ///
    /// # Safety
    /// 1. `node` is a data node of this map;
    /// 2. the calling thread's CAS unlinked it;
    /// 3. it has not been retired before.
    unsafe fn retire(&self, node: *const Node<E>, guard: &Guard);
    /// Whether `entry` can never match again, and why
    /// ([`RawEntry::is_dead`], asked with the map's context).
    fn is_dead(&self, entry: &E) -> Option<E::Death>;
    /// Records that this thread's CAS marked the dead `entry`, found dead
    /// for `death` (called once per dead entry, right after the mark).
    fn dead_marked(&self, entry: &E, death: E::Death);
}

/// What an entry type must tell the list.
pub(crate) trait RawEntry {
    /// What [`is_dead`](Self::is_dead) and
    /// [`on_dead_marked`](Self::on_dead_marked) read besides the entry (an
    /// expiring cache's clock and listener), held once by the map. `()` for
    /// entry kinds that need none.
    type Ctx;

    /// Why an entry is dead, as decided when it was found dead (by
    /// [`is_dead`](Self::is_dead) or by a matcher's [`Match::Dead`]). Opaque
    /// to the list: it carries the decision, unchanged, to
    /// [`on_dead_marked`](Self::on_dead_marked) after its CAS marked the
    /// entry, so the hook never decides again on state that may have moved
    /// since (an expiring entry touched by a reader with an older clock
    /// reading). `()` for entry kinds with one way to die, or none.
    type Death: Copy;

    /// Whether entries of this type can die on their own (weak keys,
    /// expiring entries). When false, `is_dead` is never called and sweeps
    /// skip the check.
    const CAN_DIE: bool = false;

    /// Whether two entries of equal `so_key` hold the same key. Used only to
    /// keep iteration from yielding a replaced key twice.
    fn same_key(&self, other: &Self) -> bool;

    /// `Some(why)` if the entry can never match again (its weak key is
    /// gone, its deadline has passed).
    fn is_dead(&self, _ctx: &Self::Ctx) -> Option<Self::Death> {
        None
    }

    /// Called by the thread whose CAS marked this dead entry (a search that
    /// met it, or a sweep), once per entry, right after the mark, with the
    /// reason it was found dead (what `is_dead` or the matcher answered
    /// before the CAS). The entry is still readable: it is unlinked later
    /// and freed after a grace period.
    fn on_dead_marked(&self, _ctx: &Self::Ctx, _death: Self::Death) {}
}

/// A walk met a reference to a sentinel whose level is gone (a shrink
/// ended meanwhile): start again from a fresh start.
#[derive(Debug)]
pub(crate) struct Restart;

/// A position in the list: `pred` is the word of a node (or sentinel) with
/// `so_key <=` the target, `pred_next` the exact unmarked value read from it.
/// If `found`, its successor is the matching data node; otherwise the
/// successor is the first node with a larger `so_key` (or the end), and a
/// new node for the target belongs right after `pred`.
pub(crate) struct Position<'g, E> {
    pub(crate) pred: &'g AtomicWord,
    pub(crate) pred_next: Word,
    pub(crate) found: bool,
    _nodes: PhantomData<&'g Node<E>>,
}

impl<E> Position<'_, E> {
    fn at(pred: &AtomicWord, pred_next: Word, found: bool) -> Position<'_, E> {
        Position {
            pred,
            pred_next,
            found,
            _nodes: PhantomData,
        }
    }

    /// The matching node (only when `found`).
    #[inline]
    pub(crate) fn node(&self) -> *const Node<E> {
        debug_assert!(self.found);
        succ_node(self.pred_next)
    }
}

/// Finds the position of `so_key`, unlinking marked nodes on the way.
///
/// # Safety
/// 1. `start` is a linked sentinel that is never marked while `guard` is
///    held (a bucket start for the current directory state), with a
///    `so_key` smaller than `so_key`;
/// 2. every data node reachable from it is a `Node<E>` of the map `hooks`
///    belongs to.
pub(crate) unsafe fn search<'g, E: RawEntry, H: ListHooks<E>>(
    start: &'g AtomicWord,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match<E::Death>,
    hooks: &'g H,
    guard: &'g Guard,
) -> Position<'g, E> {
    loop {
        let start_next = start.load(Ordering::Acquire);
        // Every CAS in `search_once` expects an unmarked `pred_next`; that
        // is what makes "retired only after unlinked" hold. A marked start
        // would break it, so this is a real check, not a debug one.
        assert!(
            !is_marked(start_next),
            "splitmap bug: a search started at a deleted sentinel"
        );
        // SAFETY: `search_once`'s contract:
        // 1. `start` is linked, reachable under `guard`, with a smaller key,
        //    and `start_next` was read from it unmarked (checked above);
        // 2. our contract 2.
        if let Some(pos) = unsafe { search_once(start, start_next, so_key, matcher, hooks, guard) }
        {
            return pos;
        }
    }
}

/// [`search`] that first tries to start at `hint`, a sentinel closer to the
/// target that may be deleted at any moment. If `hint` is already marked,
/// or the search has to restart, it starts from `start` instead.
///
/// # Safety
/// 1. and 2. as for [`search`];
/// 3. `hint` is a sentinel reachable in this list when it was read (flagged
///    `LINKED`), live while `guard` is held, with `start`'s key `<=` its key
///    `<` `so_key`.
pub(crate) unsafe fn search_hinted<'g, E: RawEntry, H: ListHooks<E>>(
    hint: &'g AtomicWord,
    start: &'g AtomicWord,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match<E::Death>,
    hooks: &'g H,
    guard: &'g Guard,
) -> Position<'g, E> {
    let hint_next = hint.load(Ordering::Acquire);
    if !is_marked(hint_next) {
        // SAFETY: `search_once`'s contract:
        // 1. `hint` was reachable, is live under `guard`, has a smaller key
        //    (our contract 3), and `hint_next` was read from it unmarked
        //    (every CAS expects that exact unmarked value, so a `hint` marked
        //    since makes the pass restart, never write through it);
        // 2. our contract 2.
        if let Some(pos) = unsafe { search_once(hint, hint_next, so_key, matcher, hooks, guard) } {
            return pos;
        }
    }
    // SAFETY: our contracts 1 and 2 are `search`'s.
    unsafe { search(start, so_key, matcher, hooks, guard) }
}

/// One pass of [`search`] from `pred`, whose word was `pred_next`
/// (unmarked). `None` when it must restart (a predecessor was deleted, or a
/// sentinel's level is gone).
///
/// # Safety
/// 1. `pred` is a node's or sentinel's word reachable in this list under
///    `guard` (so live while `guard` is held), with a key smaller than
///    `so_key`, and `pred_next` is an unmarked value read from it;
/// 2. every data node reachable from it is a `Node<E>` of the map `hooks`
///    belongs to.
unsafe fn search_once<'g, E: RawEntry, H: ListHooks<E>>(
    pred: &'g AtomicWord,
    pred_next: Word,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match<E::Death>,
    hooks: &'g H,
    guard: &'g Guard,
) -> Option<Position<'g, E>> {
    let (mut pred, mut pred_next) = (pred, pred_next);
    loop {
        count_step();
        if is_ref(pred_next) {
            if stop_key(ref_so_key(pred_next)) >= so_key {
                // Past `so_key` (or the end).
                return Some(Position::at(pred, pred_next, false));
            }
            let slot = hooks.dir().follow(pred_next, guard)?;
            let slot_next = slot.load(Ordering::Acquire);
            debug_assert_ne!(slot_next, UNCLAIMED, "a reference to an unclaimed slot");
            if is_marked(slot_next) {
                // SAFETY: `help_unlink`'s contract:
                // 1. `pred` is reachable under `guard` (our contract 1, or an
                //    earlier step), and the sentinel it names was just
                //    followed (its level installed, so its slot live);
                // 2. `slot_next` was read from the sentinel, marked;
                // 3. `None`: a sentinel (never retired, it belongs to its
                //    directory level).
                pred_next = unsafe { help_unlink(pred, pred_next, slot_next, None, hooks, guard) }?;
                continue;
            }
            (pred, pred_next) = (slot, slot_next);
            continue;
        }
        let curr = succ_node::<E>(pred_next);
        // SAFETY: `curr` was read from a word reachable under `guard`.
        // Nodes are retired only after being unlinked, by a CAS on an
        // unmarked predecessor (every CAS here expects an unmarked
        // `pred_next`), and freed only after every guard that could have
        // reached them is gone; so it is live.
        let link = unsafe { Node::link(curr) };
        let curr_next = link.next.load(Ordering::Acquire);
        if is_marked(curr_next) {
            // SAFETY: `help_unlink`'s contract:
            // 1. `pred` is reachable under `guard` and `curr` is live (above);
            // 2. `curr_next` was read from `curr`, marked;
            // 3. `curr` is that successor, a data node of this map (our
            //    contract 2).
            // `None`: `pred` itself was deleted, restart.
            pred_next =
                unsafe { help_unlink(pred, pred_next, curr_next, Some(curr), hooks, guard) }?;
            continue;
        }
        if link.so_key > so_key {
            return Some(Position::at(pred, pred_next, false));
        }
        if link.so_key == so_key {
            // SAFETY: `curr` is live for `'g` (above) and a data node of
            // this map (our contract 2).
            let entry = unsafe { Node::entry(curr) };
            match matcher(entry) {
                Match::Equal => return Some(Position::at(pred, pred_next, true)),
                Match::Dead(death) => {
                    mark_dead(link, entry, curr_next, death, hooks);
                    continue; // look at `curr` again: now marked, unlink it
                }
                Match::NotEqual => {}
            }
        }
        (pred, pred_next) = (&link.next, curr_next);
    }
}

/// One helping step of a traversal: `pred`'s successor (read as
/// `pred_next`, unmarked) is marked and its word is `curr_next`, so swing
/// `pred` past it, keeping `pred`'s owner bits, and retire it if it is a
/// data node (`node`) and our CAS did the unlinking. Returns the value
/// `pred` now holds, or `None` if `pred` itself was deleted (the traversal
/// must restart from a start that cannot be).
///
/// # Safety
/// 1. `pred` and its successor (as `pred_next` names it) are live under
///    `guard`;
/// 2. `curr_next` (marked) was read from the successor's word;
/// 3. `node` is that successor if it is a data node (`None` for a
///    sentinel), a `Node<E>` of the map `hooks` belongs to.
#[inline]
unsafe fn help_unlink<'g, E: RawEntry, H: ListHooks<E>>(
    pred: &'g AtomicWord,
    pred_next: Word,
    curr_next: Word,
    node: Option<*const Node<E>>,
    hooks: &'g H,
    guard: &'g Guard,
) -> Option<Word> {
    debug_assert!(is_marked(curr_next));
    let succ = relink(pred_next, curr_next);
    match pred.compare_exchange(pred_next, succ, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            if let Some(node) = node {
                // SAFETY: our CAS unlinked this data node; it was marked, so
                // no other CAS can unlink it again, and it was never retired.
                unsafe { hooks.retire(node, guard) };
            }
            Some(succ)
        }
        Err(current) if is_marked(current) => None,
        Err(current) => Some(current),
    }
}

/// Marks a data node whose `entry` was found dead for `death` (its word
/// was `next`, unmarked), reporting it with that reason if this thread's
/// CAS did the marking. Whoever meets it next unlinks it.
#[inline]
fn mark_dead<E: RawEntry, H: ListHooks<E>>(
    link: &Link,
    entry: &E,
    next: Word,
    death: E::Death,
    hooks: &H,
) {
    if try_mark(link, next).is_ok() {
        hooks.dead_marked(entry, death);
    }
}

// ---- writes on data nodes ----

/// Links the unpublished node `new` at `pos` (not `found`): `new`'s word
/// must already hold `pos`'s successor. Err: `pos` is stale, re-search.
///
/// # Safety
/// `new` came from `Node::alloc`, no other thread has seen it, and its word
/// holds `node::relink(Word::from_bits(0), pos.pred_next)`.
pub(crate) unsafe fn insert_at<E>(pos: &Position<'_, E>, new: *const Node<E>) -> Result<(), ()> {
    let linked = relink(pos.pred_next, node_word(new));
    pos.pred
        .compare_exchange(pos.pred_next, linked, Ordering::AcqRel, Ordering::Acquire)
        .map(drop)
        .map_err(drop)
}

/// Marks a data node whose word is `next` (unmarked): removes it logically.
/// Err carries the word found instead.
#[inline]
pub(crate) fn try_mark(link: &Link, next: Word) -> Result<(), Word> {
    debug_assert!(!is_marked(next));
    link.next
        .compare_exchange(next, next.or(MARK), Ordering::AcqRel, Ordering::Acquire)
        .map(drop)
}

/// Replaces a data node whose word is `next` (unmarked) by `new`, in one
/// CAS that marks it and makes `new` its successor. Err carries the word
/// found instead (retry unless it is marked).
///
/// # Safety
/// 1. `new` came from `Node::alloc` and no other thread has seen it;
/// 2. its word holds `node::relink(Word::from_bits(0), next)`.
pub(crate) unsafe fn try_replace<E>(
    link: &Link,
    next: Word,
    new: *const Node<E>,
) -> Result<(), Word> {
    debug_assert!(!is_marked(next));
    link.next
        .compare_exchange(
            next,
            node_word(new).or(MARK),
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .map(drop)
}

/// After this thread marked `pos`'s node (whose word, now frozen, is
/// `node_next`), tries to swing `pos.pred` past it. Returns whether this
/// CAS unlinked it (then the caller retires it; otherwise someone else
/// will, or a search must help).
pub(crate) fn try_unlink_at<E>(pos: &Position<'_, E>, node_next: Word) -> bool {
    debug_assert!(is_marked(node_next));
    pos.pred
        .compare_exchange(
            pos.pred_next,
            relink(pos.pred_next, node_next),
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_ok()
}

// ---- sentinel state changes (slot words; see node.rs "Slot states") ----

/// Claims an unclaimed sentinel for linking. Only the claimer writes the
/// slot until its linking CAS succeeds.
pub(crate) fn try_claim_sentinel(slot: &AtomicWord) -> bool {
    slot.compare_exchange(UNCLAIMED, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// Links a claimed sentinel at `pos` (not `found`): sets its successor and
/// swings `pos.pred` to `reference`, the sentinel's reference word. Err:
/// `pos` is stale, re-search. On success the caller flags it `LINKED`
/// ([`set_linked`]); walkers that reach it meanwhile pass it.
///
/// # Safety
/// The caller claimed `slot` ([`try_claim_sentinel`]) and has not linked it
/// yet, and `reference` names `slot` in its current level incarnation.
pub(crate) unsafe fn link_sentinel<E>(
    pos: &Position<'_, E>,
    slot: &AtomicWord,
    reference: Word,
) -> Result<(), ()> {
    // Still claimed (no `LINKED`), and never 0: the successor is non-zero.
    slot.store(relink(Word::from_bits(0), pos.pred_next), Ordering::Relaxed);
    pos.pred
        .compare_exchange(
            pos.pred_next,
            relink(pos.pred_next, reference),
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .map(drop)
        .map_err(drop)
}

/// Flags a sentinel this thread linked as usable as a start.
pub(crate) fn set_linked(slot: &AtomicWord) {
    slot.fetch_or(LINKED, Ordering::AcqRel);
}

/// Marks a linked sentinel for unlinking (shrink). Returns false if it is
/// not linked (never was, or already unlinked).
pub(crate) fn mark_sentinel(slot: &AtomicWord) -> bool {
    let w = slot.load(Ordering::Acquire);
    if !is_linked(w) {
        return false;
    }
    slot.fetch_or(MARK, Ordering::AcqRel);
    true
}

/// Records that a marked sentinel is unlinked (after a search for its key
/// passed its position). Returns whether this call made the change (so the
/// unlinking is counted once).
pub(crate) fn set_unlinked(slot: &AtomicWord) -> bool {
    debug_assert!(is_marked(slot.load(Ordering::Relaxed)));
    is_linked(slot.fetch_clear(LINKED, Ordering::AcqRel))
}

// ---- read-only walks ----

/// Read-only lookup from `start` (a start word: the successor word of a
/// linked sentinel): the first live data node of `so_key` that `matcher`
/// calls `Equal`. Never writes. Dead entries are skipped, not marked.
///
/// Linearizes at the load of the returned node's word that showed it
/// unmarked (or, for `None`, at a moment the key was absent).
///
/// # Safety
/// 1. `start` was read under `guard` from a sentinel of this list with a
///    smaller `so_key` (it may be marked since: a marked node still leads
///    forward);
/// 2. every data node reachable from it is a `Node<E>` of the map `dir`
///    belongs to.
#[inline]
pub(crate) unsafe fn lookup<'g, E, D>(
    dir: &'g Directory,
    start: Word,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match<D>,
    guard: &'g Guard,
) -> Result<Option<&'g E>, Restart> {
    // SAFETY: our contracts 1 and 2 are `walk`'s, for the word `start`.
    unsafe { walk(dir, start, so_key, matcher, guard) }
}

/// The walk of [`lookup`], from the successor `w` names.
///
/// Shaped for the common step, a data successor: one test of the word's
/// kind, then the node's key and successor loaded together (one cache
/// line) and one "at or past the key?" test. A reference (a sentinel, or
/// the end) is handled out of line: its key is read from the word itself,
/// so ending at one costs no load. Measured against one branch-free "at or
/// past?" test for both kinds (`docs/decisions.md`, issue 18 lever 2): 14
/// fewer instructions per hit, no more mispredictions.
///
/// # Safety
/// 1. `w` was read under `guard` from a word of this list with a smaller
///    `so_key` (a sentinel's or a node's);
/// 2. every data node reachable from it is a `Node<E>` of the map `dir`
///    belongs to.
#[inline]
unsafe fn walk<'g, E, D>(
    dir: &'g Directory,
    mut w: Word,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match<D>,
    guard: &'g Guard,
) -> Result<Option<&'g E>, Restart> {
    loop {
        count_step();
        if is_ref(w) {
            // A sentinel (or the end): its key is in the word. A sentinel's
            // key is even and never equal to a data key, so one at or past
            // the key ends the walk.
            if stop_key(ref_so_key(w)) >= so_key - 1 {
                return Ok(None);
            }
            w = dir.follow(w, guard).ok_or(Restart)?.load(Ordering::Acquire);
            continue;
        }
        let node = succ_node::<E>(w);
        // SAFETY: `node` was read from a word reachable under `guard`
        // (contract 1, then each step), so it is live for `'g` (nodes are
        // freed only after every guard that could reach them is gone; see
        // `search_once`), and it is a data node of this map (contract 2).
        let link = unsafe { Node::link(node) };
        // Both header fields at once: they share a cache line, and the
        // successor is needed whichever way the key compares.
        let (key, next) = (link.so_key, link.next.load(Ordering::Acquire));
        if key >= so_key {
            if key != so_key {
                return Ok(None);
            }
            if !is_marked(next) {
                // SAFETY: the same node, live for `'g` (see `link` above).
                let entry = unsafe { Node::entry(node) };
                if matches!(matcher(entry), Match::Equal) {
                    return Ok(Some(entry));
                }
            }
            // A marked node, or another key of equal `so_key`: go on.
        }
        w = next;
    }
}

/// How many buckets ahead of itself a sweep asks for a bucket's first
/// node (and twice as many for its slot).
const PREFETCH_BUCKETS: u64 = 8;

/// Sweeps shorter than this many nodes do not prefetch: they would end
/// before the buckets they prefetch (the cache's 16-node admission
/// stretches paid 82 instructions per request for nothing).
const PREFETCH_MIN_BUDGET: usize = 64;

/// Software pipelining for a walk in key order (a long sweep, an
/// iteration) that has just reached the sentinel of key `s`: prefetches the slot of the bucket
/// `2 * PREFETCH_BUCKETS` on, and the first node of the bucket
/// `PREFETCH_BUCKETS` on (whose slot the same call made
/// `PREFETCH_BUCKETS` buckets ago). A sweep's nodes are scattered over the
/// heap, so without it each step waits for a miss of its own; with it,
/// about `PREFETCH_BUCKETS` misses are in flight at once. Hints only: a
/// slot read here may be stale by the time the walk gets there, which costs
/// a wasted prefetch, nothing else. Nothing under loom (where a prefetch is
/// nothing, its slot loads would only add scheduling points).
#[inline]
pub(crate) fn prefetch_ahead<E>(dir: &Directory, s: u64, guard: &Guard) {
    if cfg!(loom) {
        return;
    }
    let log2 = dir.state().log2();
    if log2 == 0 || log2 >= 64 {
        return;
    }
    let shift = 64 - log2;
    let bucket = s >> shift;
    let slot_ahead = |buckets: u64| {
        let b = bucket + buckets;
        (b >> log2 == 0)
            .then(|| dir.slot(b << shift, guard))
            .flatten()
    };
    if let Some((slot, _)) = slot_ahead(2 * PREFETCH_BUCKETS) {
        prefetch(slot as *const AtomicWord);
    }
    if let Some((slot, _)) = slot_ahead(PREFETCH_BUCKETS) {
        let w = slot.load(Ordering::Relaxed);
        if is_linked(w) && !is_ref(w) {
            prefetch(succ_node::<E>(w));
        }
    }
}

/// The compaction walk: from `start`, visits at most `budget` nodes,
/// unlinking marked nodes (retiring data nodes, dropping stray sentinels)
/// and marking dead entries (then unlinking them). Returns the number of
/// nodes visited; fewer than `budget` means it reached the end of the list.
///
/// After a failed CAS on a deleted predecessor, or a sentinel whose level
/// is gone, it resumes from the last sentinel it passed that is still
/// unmarked, or from `start`.
///
/// # Safety
/// 1. and 2. as for [`search`].
pub(crate) unsafe fn sweep<'g, E: RawEntry, H: ListHooks<E>>(
    start: &'g AtomicWord,
    budget: usize,
    hooks: &'g H,
    guard: &'g Guard,
) -> usize {
    let mut visited = 0usize;
    let mut resume: &'g AtomicWord = start;
    'restart: loop {
        // One load, checked: a shrink may mark `resume` (a sentinel of a
        // dropped level) at any moment, and a CAS that expects a marked
        // value would swing a deleted node's frozen word.
        let pred_next = resume.load(Ordering::Acquire);
        if is_marked(pred_next) {
            resume = start; // never marked while `guard` is held
            continue 'restart;
        }
        let (mut pred, mut pred_next) = (resume, pred_next);
        loop {
            count_step();
            if visited >= budget {
                return visited;
            }
            if is_ref(pred_next) {
                if is_end(pred_next) {
                    return visited;
                }
                visited += 1;
                if budget >= PREFETCH_MIN_BUDGET {
                    prefetch_ahead::<E>(hooks.dir(), ref_so_key(pred_next), guard);
                }
                let Some(slot) = hooks.dir().follow(pred_next, guard) else {
                    resume = start;
                    continue 'restart;
                };
                let slot_next = slot.load(Ordering::Acquire);
                if is_marked(slot_next) {
                    // SAFETY: `help_unlink`'s contract:
                    // 1. `pred` is reachable under `guard`, the sentinel it
                    //    names was just followed (its slot live);
                    // 2. `slot_next` was read from it, marked;
                    // 3. `None`: a sentinel, never retired.
                    match unsafe {
                        help_unlink::<E, H>(pred, pred_next, slot_next, None, hooks, guard)
                    } {
                        Some(next) => pred_next = next,
                        None => continue 'restart,
                    }
                    continue;
                }
                resume = slot;
                (pred, pred_next) = (slot, slot_next);
                continue;
            }
            visited += 1;
            let curr = succ_node::<E>(pred_next);
            // SAFETY: read from a word reachable under `guard` (contract 1,
            // then each step), so live for `'g`; a data node of this map
            // (contract 2).
            let link = unsafe { Node::link(curr) };
            let curr_next = link.next.load(Ordering::Acquire);
            if is_marked(curr_next) {
                // SAFETY: `help_unlink`'s contract:
                // 1. `pred` is reachable, `curr` live (above);
                // 2. `curr_next` was read from `curr`, marked;
                // 3. `curr` is that successor, a data node of this map.
                match unsafe { help_unlink(pred, pred_next, curr_next, Some(curr), hooks, guard) } {
                    Some(next) => pred_next = next,
                    None => continue 'restart,
                }
                continue;
            }
            if E::CAN_DIE {
                // SAFETY: `curr`, live for `'g` and a data node (above).
                let entry = unsafe { Node::entry(curr) };
                if let Some(death) = hooks.is_dead(entry) {
                    mark_dead(link, entry, curr_next, death, hooks);
                    continue; // now marked: unlink it on the next turn
                }
            }
            (pred, pred_next) = (&link.next, curr_next);
        }
    }
}
