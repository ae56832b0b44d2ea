//! Node layout and the vocabulary of a link word: what each bit of a
//! node's `next` (or of a directory slot) means.
//!
//! Data nodes are immutable once published: key, value and `so_key` never
//! change. Replacing a value links a new node (see `raw/mod.rs`). Sentinels
//! are bare link words living inline in the directory's level arrays (one
//! word per bucket; a sentinel's `so_key` is implied by its slot).
//! This module owns layout and word vocabulary only; it never walks a list
//! and never touches an atomic.
//!
//! ## A link word
//! ```text
//!  successor is a data node:  [ pointer to Node<E> ............ | 0 LINKED MARK ]
//!  successor is a sentinel:   [ its so_key's top bits  | parity | 1 LINKED MARK ]
//!                              high bits                 bit 3    bit 1, 2, 0
//! ```
//! - [`MARK`] (bit 0) and [`LINKED`] (bit 2) describe the *owner* of the
//!   word, not its successor; every CAS that swings a word to a new
//!   successor keeps them ([`relink`]).
//! - [`REF`] (bit 1) says the successor is a bucket sentinel, named by its
//!   key rather than by address: the word holds the sentinel's `so_key`
//!   (its top bits, on a 32-bit target the top 32; a sentinel key has at
//!   most `MAX_LOG2` set bits, all at the top, so the low 24 bits, or 4 on
//!   a 32-bit target, are free for the tags). A walker compares the successor's key
//!   without touching it or computing anything, and follows it through the
//!   directory only when it must pass it. `parity` is the
//!   incarnation parity of the sentinel's directory level (see
//!   `directory/mod.rs`: a level dropped by a shrink and allocated again by a
//!   later growth is a new array with the other parity), so a stale
//!   reference to a dropped level is recognized and the walk restarts.
//! - The end of the list is [`END`], a reference to the sentinel 0: it is
//!   the head, which is never anyone's successor. So a published word is
//!   never 0, and 0 can mean "never claimed" in a slot.
//!
//! ### Why a CAS that expects a sentinel reference is ABA-safe
//! A CAS on a pointer word is protected from ABA by the epoch (a node's
//! address is not reused while a thread that read it is pinned). A
//! reference is a number that may come back, but it names its successor's
//! `so_key` exactly and ordering is all a CAS relies on: inserting `n`
//! between `pred` and "the sentinel `s`" is correct whichever
//! incarnation of that sentinel is linked there now, because both have the
//! same `so_key`. Unlinking a marked sentinel by a CAS that expects a
//! reference to it can only succeed while that same incarnation is still
//! linked: the other incarnation has the other parity, and a pinned thread
//! sees at most one change of incarnation (`directory/mod.rs`).
//!
//! ### Slot states (a directory slot is a sentinel's `next`)
//! - `0` ([`UNCLAIMED`]): never linked in this incarnation of its level;
//! - non-zero without [`LINKED`]: a thread has claimed the sentinel and is
//!   linking it (only the claimer writes it until its linking CAS
//!   succeeds; from then on walkers that reach it may pass it);
//! - [`LINKED`]: linked and usable as a start; with [`MARK`] as well, a
//!   shrink is unlinking it (its successor is frozen, like a marked node's);
//! - [`MARK`] without [`LINKED`]: unlinked by a shrink, never used again
//!   in this incarnation of its level.

use crate::sync::{AtomicWord, Word};
use core::mem::{align_of, size_of};

/// Owner bit: the node (or sentinel) is logically deleted. Its word is
/// frozen from then on: every CAS that changes a successor expects it clear.
pub(crate) const MARK: usize = 0b0001;
/// Successor bit: the successor is a sentinel named by its key (see the
/// module docs); clear: the successor is a data node, by address.
pub(crate) const REF: usize = 0b0010;
/// Owner bit, slot words only: the sentinel is linked and may be used as a
/// starting point (see "Slot states").
pub(crate) const LINKED: usize = 0b0100;
/// The owner bits of a word: kept by every CAS that swings the successor.
pub(crate) const OWNER_BITS: usize = MARK | LINKED;
/// The low bits a node pointer must leave free.
pub(crate) const TAG_BITS: usize = 0b0111;
const PARITY_SHIFT: u32 = 3;
/// The low bits of a reference word that are not its key.
const REF_LOW_BITS: usize = 0b1111;
// A sentinel key below 2^MAX_LOG2 buckets leaves the 4 low bits of a
// reference free, on every target.
const _: () = assert!(crate::raw::split_order::MAX_LOG2 + 4 <= usize::BITS);

/// The end of the list: a reference to the sentinel 0 (never a successor).
pub(crate) const END: Word = Word::from_bits(REF);
/// A slot nobody has claimed in this incarnation of its level.
pub(crate) const UNCLAIMED: Word = Word::from_bits(0);
/// The value a claim installs: claimed, no successor chosen yet (END).
pub(crate) const CLAIMED: Word = END;

/// The header of every data node.
///
/// `so_key` is written before the node becomes reachable and never again.
/// `next` is a link word (module docs); a data node's own bits are only
/// ever [`MARK`].
#[repr(C, align(8))]
pub(crate) struct Link {
    pub(crate) so_key: u64,
    pub(crate) next: AtomicWord,
}

// Three tag bits live in the low bits of a node pointer, on every target
// (`align(8)` also on 32-bit targets, where `u64` may be 4-aligned).
const _: () = assert!(align_of::<Link>() > TAG_BITS);

/// A data node: the list header followed by the entry payload.
#[repr(C)]
pub(crate) struct Node<E> {
    pub(crate) link: Link,
    pub(crate) entry: E,
}

impl<E> Node<E> {
    /// Heap bytes of one node as requested from the allocator.
    pub(crate) const SIZE: usize = size_of::<Node<E>>();

    /// Allocates an unpublished node whose successor is `next`.
    pub(crate) fn alloc(so_key: u64, entry: E, next: Word) -> *mut Node<E> {
        Box::into_raw(Box::new(Node {
            link: Link {
                so_key,
                next: AtomicWord::new(next),
            },
            entry,
        }))
    }

    /// Frees a node that was never published and returns its entry.
    ///
    /// # Safety
    /// 1. `node` came from [`Node::alloc`];
    /// 2. no other thread has seen it.
    pub(crate) unsafe fn unpublish(node: *mut Node<E>) -> E {
        // SAFETY: a `Box` allocation (contract 1) that we own exclusively
        // (contract 2).
        unsafe { Box::from_raw(node) }.entry
    }

    /// Frees a node.
    ///
    /// # Safety
    /// 1. `node` came from [`Node::alloc`];
    /// 2. it is unreachable;
    /// 3. no thread can still hold a reference to it (a grace period has
    ///    elapsed since it was unlinked, or exclusive access).
    pub(crate) unsafe fn free(node: *mut Node<E>) {
        // SAFETY: a `Box` allocation (contract 1) nobody can reach or hold
        // (contracts 2 and 3), so ours to drop.
        drop(unsafe { Box::from_raw(node) });
    }

    /// The entry of a live node, as a reference derived from the node
    /// pointer itself (so it covers the whole node).
    ///
    /// # Safety
    /// `node` points to a live `Node<E>` that stays live, and is never
    /// written but through atomics, for `'g`.
    #[inline]
    pub(crate) unsafe fn entry<'g>(node: *const Node<E>) -> &'g E {
        // SAFETY: the contract is exactly what a shared reference needs.
        unsafe { &(*node).entry }
    }

    /// The header of a live node.
    ///
    /// # Safety
    /// `node` points to a live `Node<E>` that stays live for `'g` (its header
    /// is only ever written through the atomic `next`).
    #[inline]
    pub(crate) unsafe fn link<'g>(node: *const Node<E>) -> &'g Link {
        // SAFETY: the contract is exactly what a shared reference needs.
        unsafe { &(*node).link }
    }
}

/// A word whose successor is the data node `node`, owner bits clear.
#[inline]
pub(crate) fn node_word<E>(node: *const Node<E>) -> Word {
    Word::from_ptr(node)
}

/// A word whose successor is the sentinel `s` (its `so_key`) in the
/// incarnation of its level with parity `parity`, owner bits clear.
#[inline]
pub(crate) fn sentinel_word(s: u64, parity: usize) -> Word {
    let key_bits = (s >> (u64::BITS - usize::BITS)) as usize;
    debug_assert_eq!(key_bits & REF_LOW_BITS, 0);
    Word::from_bits(key_bits | (parity & 1) << PARITY_SHIFT | REF)
}

/// `succ`'s successor with `owner`'s owner bits: what a CAS on `owner`'s
/// word writes to swing it to `succ`'s successor.
#[inline]
pub(crate) fn relink(owner: Word, succ: Word) -> Word {
    succ.with_bits(OWNER_BITS, owner.bits())
}

#[inline]
pub(crate) fn is_marked(w: Word) -> bool {
    w.bits() & MARK != 0
}

#[inline]
pub(crate) fn is_linked(w: Word) -> bool {
    w.bits() & LINKED != 0
}

#[inline]
pub(crate) fn is_ref(w: Word) -> bool {
    w.bits() & REF != 0
}

/// Whether a word's successor is the end of the list.
#[inline]
pub(crate) fn is_end(w: Word) -> bool {
    w.bits() & !OWNER_BITS == REF
}

/// The data node a word's successor points to (the word must not be a
/// reference).
#[inline]
pub(crate) fn succ_node<E>(w: Word) -> *const Node<E> {
    debug_assert!(!is_ref(w));
    w.ptr(TAG_BITS)
}

/// The level parity a reference word carries.
#[inline]
pub(crate) fn ref_parity(w: Word) -> usize {
    (w.bits() >> PARITY_SHIFT) & 1
}

/// The `so_key` of the sentinel a reference word names, read from the word
/// alone (no arithmetic but a mask and, on 32-bit targets, a shift). For
/// [`END`] this is 0 (the head's key): see [`stop_key`].
#[inline]
pub(crate) fn ref_so_key(w: Word) -> u64 {
    debug_assert!(is_ref(w));
    ((w.bits() & !REF_LOW_BITS) as u64) << (u64::BITS - usize::BITS)
}

/// A successor's `so_key` minus one, wrapping: the key walks compare with
/// `target - 1` to ask "is the successor at or past `target`?" in one
/// test. [`END`] (key 0) becomes `u64::MAX`, past everything; every other
/// key is at least 1 (data keys are odd, every sentinel's but the head's
/// is non-zero), so for them the test is the plain `>=`.
#[inline]
pub(crate) fn stop_key(so_key: u64) -> u64 {
    so_key.wrapping_sub(1)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip() {
        use crate::raw::split_order::{level_len, sentinel_at, MAX_LOG2};
        let top = MAX_LOG2 as usize;
        for (level, idx) in [(0, 0), (1, 0), (2, 1), (3, 2), (11, 1000), (top, 0)]
            .into_iter()
            .chain([(top, level_len(top) - 1)])
        {
            let s = sentinel_at(level, idx);
            for parity in 0..2 {
                let w = sentinel_word(s, parity);
                assert!(is_ref(w) && !is_marked(w) && !is_linked(w));
                assert_eq!(ref_so_key(w), s);
                assert_eq!(ref_parity(w), parity);
                let owned = relink(Word::from_bits(MARK | LINKED), w);
                assert_eq!(ref_so_key(owned), s);
                assert!(is_marked(owned) && is_linked(owned));
            }
        }
        assert_eq!(END, sentinel_word(0, 0));
        assert_ne!(END.bits(), 0);
        assert_eq!(stop_key(ref_so_key(END)), u64::MAX);
    }

    #[test]
    fn node_words_keep_the_pointer() {
        let node = Node::alloc(7, 5u64, END);
        let w = relink(Word::from_bits(LINKED), node_word(node));
        assert!(!is_ref(w) && is_linked(w));
        assert_eq!(succ_node::<u64>(w), node as *const _);
        // SAFETY: allocated above, never shared.
        assert_eq!(unsafe { *Node::entry(succ_node::<u64>(w)) }, 5);
        // SAFETY: allocated above by `Node::alloc`, never shared.
        assert_eq!(unsafe { Node::unpublish(node) }, 5);
    }
}
