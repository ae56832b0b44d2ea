//! The Harris–Michael ordered list over split-order keys.
//!
//! Owns the traversal rules and nothing else: `search` (find a position,
//! helping to unlink marked nodes on the way), `lookup` (read-only, never
//! writes), and `RawIter` (a forward walk that yields live data nodes once
//! each). It does not know about buckets or counters; callers pass a start
//! node and [`ListHooks`] for what happens when a node is unlinked.
//!
//! Rules every function here keeps:
//! - compare `so_key` first, keys only on an equal `so_key`, and scan the
//!   whole run of equal `so_key` before answering "absent";
//! - never stop at a sentinel, only at a strictly larger `so_key`;
//! - a node is unlinked only after it was marked, by one CAS on its unmarked
//!   predecessor, and the thread whose CAS succeeded retires it (data nodes;
//!   sentinels belong to their directory level).

use crate::raw::node::{Link, MARK};
use crate::sync::{Guard, Ordering, Shared};
use core::marker::PhantomData;

/// Test hook (feature `internal-test-hooks`): counts, per thread, the nodes
/// the traversals below step onto, so a test can bound the work of an
/// operation without timing it. Compiled to nothing without the feature.
#[inline(always)]
fn count_step() {
    #[cfg(all(feature = "internal-test-hooks", not(loom)))]
    STEPS.with(|s| s.set(s.get() + 1));
}

#[cfg(all(feature = "internal-test-hooks", not(loom)))]
std::thread_local! {
    static STEPS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// The calling thread's count of [`count_step`]s so far.
#[cfg(all(feature = "internal-test-hooks", not(loom)))]
pub(crate) fn steps() -> u64 {
    STEPS.with(core::cell::Cell::get)
}

/// How an entry compares with the key being looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Equal,
    NotEqual,
    /// The entry can never match anything again (a weak key whose referent
    /// is gone). `search` marks it so it gets unlinked.
    Dead,
}

/// What the list needs from the map that owns it (whose entries are `E`).
pub(crate) trait ListHooks<E> {
    /// Retires a data node this thread just unlinked.
    ///
    /// # Safety
    /// `node` is a data node of this map, the calling thread's CAS unlinked
    /// it, and it has not been retired before.
    unsafe fn retire(&self, node: *const Link, guard: &Guard);
    /// Whether `entry` can never match again ([`RawEntry::is_dead`], asked
    /// with the map's context).
    fn is_dead(&self, entry: &E) -> bool;
    /// Records that this thread's CAS marked the dead `entry` (called once
    /// per dead entry, right after the mark).
    fn dead_marked(&self, entry: &E);
}

/// What an entry type must tell the list.
pub(crate) trait RawEntry {
    /// What [`is_dead`](Self::is_dead) and
    /// [`on_dead_marked`](Self::on_dead_marked) read besides the entry (an
    /// expiring cache's clock and listener), held once by the map. `()` for
    /// entry kinds that need none.
    type Ctx;

    /// Whether entries of this type can die on their own (weak keys,
    /// expiring entries). When false, `is_dead` is never called and sweeps
    /// skip the check.
    const CAN_DIE: bool = false;

    /// Whether two entries of equal `so_key` hold the same key. Used only to
    /// keep iteration from yielding a replaced key twice.
    fn same_key(&self, other: &Self) -> bool;

    /// Whether the entry can never match again (its weak key is gone, its
    /// deadline has passed).
    fn is_dead(&self, _ctx: &Self::Ctx) -> bool {
        false
    }

    /// Called by the thread whose CAS marked this dead entry (a search that
    /// met it, or a sweep), once per entry, right after the mark. The entry
    /// is still readable: it is unlinked later and freed after a grace
    /// period.
    fn on_dead_marked(&self, _ctx: &Self::Ctx) {}
}

/// A position in the list: `pred` is a node with `so_key <=` the target,
/// `pred_next` the exact unmarked value read from `pred.next` (its pointer
/// is `curr`). If `found`, `curr` is the matching data node; otherwise `curr`
/// is the first node with a larger `so_key` (or null) and a new node for the
/// target belongs between `pred` and `curr`.
pub(crate) struct Position<'g> {
    pub(crate) pred: &'g Link,
    pub(crate) pred_next: Shared<'g, Link>,
    pub(crate) found: bool,
}

impl<'g> Position<'g> {
    /// The node after `pred` (the match when `found`).
    #[inline]
    pub(crate) fn curr(&self) -> Shared<'g, Link> {
        self.pred_next.with_tag(0)
    }
}

/// Finds the position of `so_key`, unlinking marked nodes on the way.
///
/// # Safety
/// - `start` is a linked sentinel that is never marked while `guard` is held
///   (a bucket start read from the current directory state) with
///   `start.so_key < so_key`;
/// - every data node reachable from it is a `Node<E>`.
pub(crate) unsafe fn search<'g, E, H>(
    start: &'g Link,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match,
    hooks: &H,
    guard: &'g Guard,
) -> Position<'g>
where
    H: ListHooks<E>,
{
    // SAFETY: forwarded contract; `start` serves as its own hint.
    unsafe { search_hinted(start, start, so_key, matcher, hooks, guard) }
}

/// [`search`] that first tries to start at `hint`, a node closer to the
/// target that may be deleted at any moment. If `hint` is already marked,
/// or the search has to restart, it starts from `start` instead.
///
/// # Safety
/// As for [`search`]; in addition `hint` is a node of this list, live while
/// `guard` is held, with `start.so_key <= hint.so_key < so_key`.
pub(crate) unsafe fn search_hinted<'g, E, H>(
    hint: &'g Link,
    start: &'g Link,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match,
    hooks: &H,
    guard: &'g Guard,
) -> Position<'g>
where
    H: ListHooks<E>,
{
    let mut first = Some(hint);
    'restart: loop {
        if let Some(hint) = first.take() {
            let hint_next = hint.next.load(Ordering::Acquire, guard);
            if hint_next.tag() & MARK == 0 {
                // SAFETY: forwarded contract; `hint` was unmarked at this
                // load, and every CAS expects that exact unmarked value.
                if let Some(pos) =
                    unsafe { search_once(hint, hint_next, so_key, matcher, hooks, guard) }
                {
                    return pos;
                }
            }
            continue 'restart;
        }
        let start_next = start.next.load(Ordering::Acquire, guard);
        // Every CAS in `search_once` expects an unmarked `pred_next`; that
        // is what makes "retired only after unlinked" hold. A marked start
        // would break it, so this is a real check, not a debug one.
        assert_eq!(
            start_next.tag() & MARK,
            0,
            "splitmap bug: a search started at a deleted sentinel"
        );
        // SAFETY: forwarded contract.
        if let Some(pos) = unsafe { search_once(start, start_next, so_key, matcher, hooks, guard) }
        {
            return pos;
        }
    }
}

/// One pass of [`search`] from `pred`, whose `next` was `pred_next`
/// (unmarked). `None` when it must restart (a predecessor was deleted).
///
/// # Safety
/// As for [`search`], with `pred` in place of `start`.
unsafe fn search_once<'g, E, H>(
    pred: &'g Link,
    pred_next: Shared<'g, Link>,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match,
    hooks: &H,
    guard: &'g Guard,
) -> Option<Position<'g>>
where
    H: ListHooks<E>,
{
    let (mut pred, mut pred_next) = (pred, pred_next);
    loop {
        count_step();
        let curr = pred_next.with_tag(0);
        // SAFETY: `curr` was read from a node reachable under `guard`.
        // Nodes are retired only after being unlinked, by a CAS on an
        // unmarked predecessor (every CAS here expects an unmarked
        // `pred_next`), and freed only after every guard that could have
        // reached them is gone; so it is live.
        let Some(curr_ref) = (unsafe { curr.as_ref() }) else {
            return Some(Position {
                pred,
                pred_next,
                found: false,
            });
        };
        let curr_next = curr_ref.next.load(Ordering::Acquire, guard);
        if curr_next.tag() & MARK != 0 {
            // SAFETY: `curr` is `pred`'s successor as read, and marked.
            // `None`: `pred` itself was deleted, restart.
            pred_next =
                unsafe { help_unlink::<E, H>(pred, pred_next, curr_ref, curr_next, hooks, guard) }?;
            continue;
        }
        if curr_ref.so_key > so_key {
            return Some(Position {
                pred,
                pred_next,
                found: false,
            });
        }
        if curr_ref.so_key == so_key && !curr_ref.is_sentinel() {
            // SAFETY: a data node of this map (caller's contract).
            let entry = unsafe { curr_ref.entry::<E>() };
            match matcher(entry) {
                Match::Equal => {
                    return Some(Position {
                        pred,
                        pred_next,
                        found: true,
                    })
                }
                Match::Dead => {
                    mark_dead(curr_ref, entry, curr_next, hooks, guard);
                    continue; // look at `curr` again: now marked, unlink it
                }
                Match::NotEqual => {}
            }
        }
        pred = curr_ref;
        pred_next = curr_next;
    }
}

/// One helping step of a traversal: `curr` (read as `pred`'s successor,
/// with `pred_next` the exact unmarked value read from `pred.next`) is
/// marked, so swing `pred.next` past it, keeping `pred`'s own tags, and
/// retire it if it is a data node and our CAS did the unlinking. Returns the
/// value `pred.next` now holds, or `None` if `pred` itself was deleted (the
/// traversal must restart from a start that cannot be).
///
/// # Safety
/// `pred` and `curr` are live under `guard`, `curr_next` (marked) was read
/// from `curr.next`, and the data nodes of this list are the `Node<E>`s the
/// hooks retire.
#[inline]
unsafe fn help_unlink<'g, E, H: ListHooks<E>>(
    pred: &'g Link,
    pred_next: Shared<'g, Link>,
    curr: &'g Link,
    curr_next: Shared<'g, Link>,
    hooks: &H,
    guard: &'g Guard,
) -> Option<Shared<'g, Link>> {
    debug_assert_ne!(curr_next.tag() & MARK, 0);
    let succ = curr_next.with_tag(pred_next.tag());
    match pred
        .next
        .compare_exchange(pred_next, succ, Ordering::AcqRel, Ordering::Acquire, guard)
    {
        Ok(_) => {
            if !curr.is_sentinel() {
                // SAFETY: our CAS unlinked this data node; it was marked, so
                // no other CAS can unlink it again, and it was never retired.
                unsafe { hooks.retire(curr as *const Link, guard) };
            }
            Some(succ)
        }
        Err(e) if e.current.tag() & MARK != 0 => None,
        Err(e) => Some(e.current),
    }
}

/// Marks a data node whose `entry` is dead (its `next` was `curr_next`,
/// unmarked), reporting it if this thread's CAS did the marking. Whoever
/// meets it next unlinks it.
#[inline]
fn mark_dead<'g, E, H: ListHooks<E>>(
    curr: &'g Link,
    entry: &E,
    curr_next: Shared<'g, Link>,
    hooks: &H,
    guard: &'g Guard,
) {
    if curr
        .next
        .compare_exchange(
            curr_next,
            curr_next.with_tag(MARK),
            Ordering::AcqRel,
            Ordering::Acquire,
            guard,
        )
        .is_ok()
    {
        hooks.dead_marked(entry);
    }
}

/// The compaction walk: from `start`, visits at most `budget` nodes,
/// unlinking marked nodes (retiring data nodes, dropping stray sentinels)
/// and marking dead entries (then unlinking them). Returns the number of
/// nodes visited; fewer than `budget` means it reached the end of the list.
///
/// After a failed CAS on a deleted predecessor it resumes from the last
/// sentinel it passed that is still unmarked, or from `start`.
///
/// # Safety
/// As for [`search`].
pub(crate) unsafe fn sweep<'g, E, H>(
    start: &'g Link,
    budget: usize,
    hooks: &H,
    guard: &'g Guard,
) -> usize
where
    E: RawEntry,
    H: ListHooks<E>,
{
    let mut visited = 0usize;
    let mut resume: &'g Link = start;
    'restart: loop {
        let pred = resume;
        // One load, checked: a shrink may mark `resume` (a sentinel of a
        // dropped level) at any moment, and a CAS that expects a marked
        // value would swing a deleted node's frozen `next`.
        let pred_next = pred.next.load(Ordering::Acquire, guard);
        if pred_next.tag() & MARK != 0 {
            resume = start; // never marked while `guard` is held
            continue 'restart;
        }
        let (mut pred, mut pred_next) = (pred, pred_next);
        loop {
            count_step();
            if visited >= budget {
                return visited;
            }
            let curr = pred_next.with_tag(0);
            // SAFETY: reachable under `guard`, so live.
            let Some(curr_ref) = (unsafe { curr.as_ref() }) else {
                return visited;
            };
            visited += 1;
            let curr_next = curr_ref.next.load(Ordering::Acquire, guard);
            if curr_next.tag() & MARK != 0 {
                // SAFETY: `curr` is `pred`'s successor as read, and marked.
                match unsafe {
                    help_unlink::<E, H>(pred, pred_next, curr_ref, curr_next, hooks, guard)
                } {
                    Some(next) => pred_next = next,
                    None => continue 'restart,
                }
                continue;
            }
            if E::CAN_DIE && !curr_ref.is_sentinel() {
                // SAFETY: a data node of this map.
                let entry = unsafe { curr_ref.entry::<E>() };
                if hooks.is_dead(entry) {
                    mark_dead(curr_ref, entry, curr_next, hooks, guard);
                    continue; // now marked: unlink it on the next turn
                }
            }
            if curr_ref.is_sentinel() {
                resume = curr_ref;
            }
            pred = curr_ref;
            pred_next = curr_next;
        }
    }
}

/// Read-only lookup: the first live data node of `so_key` that `matcher`
/// calls `Equal`. Never writes. Dead entries are skipped, not marked.
///
/// Linearizes at the load of the returned node's `next` that showed it
/// unmarked (or, for `None`, at a moment the key was absent).
///
/// # Safety
/// As for [`search`], except that `start` may also be an older linked
/// ancestor sentinel and may be marked (a marked node still leads forward).
#[inline]
pub(crate) unsafe fn lookup<'g, E>(
    start: &'g Link,
    so_key: u64,
    matcher: &mut impl FnMut(&E) -> Match,
    guard: &'g Guard,
) -> Option<&'g E> {
    let mut curr = start.next.load(Ordering::Acquire, guard);
    loop {
        count_step();
        // SAFETY: read from a node reachable under `guard`, so live.
        let curr_ref = unsafe { curr.with_tag(0).as_ref() }?;
        if curr_ref.so_key > so_key {
            return None;
        }
        let next = curr_ref.next.load(Ordering::Acquire, guard);
        if curr_ref.so_key == so_key && next.tag() & MARK == 0 && !curr_ref.is_sentinel() {
            // SAFETY: a data node of this map (caller's contract).
            let entry = unsafe { curr_ref.entry::<E>() };
            if matcher(entry) == Match::Equal {
                return Some(entry);
            }
        }
        curr = next;
    }
}

/// A forward walk over the whole list yielding each live data node once.
///
/// A node is yielded if its `next` was unmarked when the walk reached it.
/// A replaced value's new node follows its old one, so within a run of equal
/// `so_key` the walk remembers what it yielded and skips a second node for
/// the same key.
pub(crate) struct RawIter<'g, E> {
    next: Shared<'g, Link>,
    guard: &'g Guard,
    run_so_key: u64,
    run_yielded: Vec<&'g E>,
    _entries: PhantomData<&'g E>,
}

impl<'g, E: RawEntry> RawIter<'g, E> {
    /// # Safety
    /// `head` is the list head of a map whose data nodes are `Node<E>`.
    pub(crate) unsafe fn new(head: &'g Link, guard: &'g Guard) -> Self {
        RawIter {
            next: head.next.load(Ordering::Acquire, guard),
            guard,
            run_so_key: 0, // a sentinel key: no data node has it
            run_yielded: Vec::new(),
            _entries: PhantomData,
        }
    }
}

impl<'g, E: RawEntry> Iterator for RawIter<'g, E> {
    /// The link (for its `so_key`) and the entry.
    type Item = (&'g Link, &'g E);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            count_step();
            // SAFETY: reached from the head under `guard`, so live.
            let link = unsafe { self.next.with_tag(0).as_ref() }?;
            let next = link.next.load(Ordering::Acquire, self.guard);
            self.next = next;
            if link.is_sentinel() || next.tag() & MARK != 0 {
                continue;
            }
            // SAFETY: a data node of this map (constructor's contract).
            let entry = unsafe { link.entry::<E>() };
            if link.so_key == self.run_so_key {
                if self.run_yielded.iter().any(|seen| seen.same_key(entry)) {
                    continue;
                }
            } else {
                self.run_so_key = link.so_key;
                self.run_yielded.clear();
            }
            self.run_yielded.push(entry);
            return Some((link, entry));
        }
    }
}
