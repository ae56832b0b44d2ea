//! Node layout: the list header every node starts with, data nodes, and the
//! meaning of the tag bits on `next`.
//!
//! Data nodes are immutable once published: key, value and `so_key` never
//! change. Replacing a value links a new node (see `raw/mod.rs`). Sentinels
//! are bare [`Link`]s living inline in the directory's level arrays.
//! This module owns layout and tag vocabulary only; it never walks a list.

use crate::sync::Atomic;
use core::mem::{align_of, size_of};

/// Tag on a node's own `next`: the node is logically deleted. Its `next` is
/// frozen from then on (every CAS on it expects an unmarked value).
pub(crate) const MARK: usize = 0b001;
/// Tag on a sentinel's `next`: a thread has claimed the sentinel and is
/// linking it. Only the claimer writes `next` until the sentinel is reachable.
pub(crate) const SENTINEL_CLAIMED: usize = 0b010;
/// Tag on a sentinel's `next`: the sentinel is linked into the list and may
/// be used as a starting point.
pub(crate) const SENTINEL_LINKED: usize = 0b100;
// SENTINEL_CLAIMED and SENTINEL_LINKED describe the *owner* of a `next`
// field, not its successor: every CAS that swings `next` to a new successor
// keeps them (callers pass the tag of the value they expected).

/// The header of every list node, data or sentinel.
///
/// `so_key` is written before the node becomes reachable and never again.
/// `next` carries the successor plus the tag bits above; data nodes only
/// ever carry [`MARK`].
#[repr(C)]
pub(crate) struct Link {
    pub(crate) so_key: u64,
    pub(crate) next: Atomic<Link>,
}

// Three tag bits live in the low bits of a `Link` pointer.
const _: () = assert!(align_of::<Link>() >= 8);

impl Link {
    pub(crate) fn new(so_key: u64) -> Self {
        Link {
            so_key,
            next: Atomic::null(),
        }
    }

    #[inline]
    pub(crate) fn is_sentinel(&self) -> bool {
        crate::raw::split_order::is_sentinel_key(self.so_key)
    }

    /// The entry of the data node this link heads.
    ///
    /// # Safety
    /// `self` must be the `link` field of a live `Node<E>` (a data node, that
    /// is `!self.is_sentinel()`, of the map whose entry type is `E`).
    #[inline]
    pub(crate) unsafe fn entry<E>(&self) -> &E {
        // SAFETY: `Node<E>` is `repr(C)` with `link` first, so a pointer to
        // the link is a pointer to the node; the caller guarantees the node
        // is a live `Node<E>`.
        unsafe { &(*(self as *const Link as *const Node<E>)).entry }
    }
}

/// A data node: the list header followed by the entry payload.
#[repr(C)]
pub(crate) struct Node<E> {
    pub(crate) link: Link,
    pub(crate) entry: E,
}

impl<E> Node<E> {
    /// Heap bytes of one node as requested from the allocator.
    pub(crate) const SIZE: usize = size_of::<Node<E>>();

    /// Allocates an unpublished node.
    pub(crate) fn alloc(so_key: u64, entry: E) -> *mut Node<E> {
        Box::into_raw(Box::new(Node {
            link: Link::new(so_key),
            entry,
        }))
    }

    /// Frees a node that was never published and returns its entry.
    ///
    /// # Safety
    /// `node` came from [`Node::alloc`] and no other thread has seen it.
    pub(crate) unsafe fn unpublish(node: *mut Node<E>) -> E {
        // SAFETY: per the contract, we own the allocation exclusively.
        unsafe { Box::from_raw(node) }.entry
    }

    /// Frees a node.
    ///
    /// # Safety
    /// `node` came from [`Node::alloc`], is unreachable, and no thread can
    /// still hold a reference to it (grace period elapsed, or exclusive
    /// access in `Drop`).
    pub(crate) unsafe fn free(node: *mut Node<E>) {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(node) });
    }
}
