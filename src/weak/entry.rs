//! The entry payload of the weak-key maps' nodes, and the probes that
//! compare a stored weak key with the key an operation looks for.
//!
//! A probe that upgrades a stored `Weak<K>` keeps the resulting `Arc<K>` in
//! a [`KeepAlive`] owned by the calling operation, so if that `Arc` turns out
//! to be the last one, `K`'s destructor runs when the operation has finished
//! with the entry (after its CAS, after the value was cloned), never inside
//! a list traversal.

use crate::raw::{Match, RawEntry};
use core::alloc::Layout;
use core::borrow::Borrow;
use std::sync::{Arc, Weak};

/// One weak-key entry, stored inline in an immutable list node. The key's
/// hash is not stored here: the node's `so_key` carries it.
pub(crate) struct WeakEntry<K, V> {
    pub(crate) key: Weak<K>,
    pub(crate) value: V,
}

impl<K, V> WeakEntry<K, V> {
    pub(crate) fn new(key: &Arc<K>, value: V) -> Self {
        WeakEntry {
            key: Arc::downgrade(key),
            value,
        }
    }
}

impl<K, V> RawEntry for WeakEntry<K, V> {
    const CAN_DIE: bool = true;

    /// Same allocation. Exact: our `Weak` keeps the allocation (not the key)
    /// alive, so its address cannot be reused by another key meanwhile.
    /// Equal-but-distinct keys are told apart by the weak iterator itself.
    #[inline]
    fn same_key(&self, other: &Self) -> bool {
        Weak::ptr_eq(&self.key, &other.key)
    }

    #[inline]
    fn is_dead(&self) -> bool {
        self.key.strong_count() == 0
    }
}

/// Heap bytes of the `Arc<K>` allocation a dead `Weak<K>` keeps alive: the
/// two reference counts plus `K`, padded (std's layout today).
pub(crate) fn arc_allocation_bytes<K>() -> usize {
    Layout::new::<[usize; 2]>()
        .extend(Layout::new::<K>())
        .map_or(0, |(l, _)| l.pad_to_align().size())
}

/// Upgraded keys an operation holds until it is done with the entries.
pub(crate) struct KeepAlive<K> {
    first: Option<Arc<K>>,
    rest: Vec<Arc<K>>,
}

impl<K> KeepAlive<K> {
    #[inline]
    pub(crate) fn new() -> Self {
        KeepAlive {
            first: None,
            rest: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn hold(&mut self, key: Arc<K>) {
        if self.first.is_none() {
            self.first = Some(key);
        } else {
            self.rest.push(key);
        }
    }
}

/// How an operation's key compares with stored entries.
pub(crate) trait Probe<K> {
    fn probe(&mut self, stored: &Weak<K>) -> Match;
}

/// Equality semantics: upgrade, then `==`. A stored key that cannot be
/// upgraded is `Dead`.
pub(crate) struct ByValue<'q, K, Q: ?Sized> {
    key: &'q Q,
    /// The allocation of the caller's own `Arc<K>`, when it has one: an entry
    /// holding it matches without an upgrade (the caller keeps it alive).
    own: *const K,
    held: KeepAlive<K>,
}

impl<'q, K, Q: ?Sized> ByValue<'q, K, Q> {
    #[inline]
    pub(crate) fn borrowed(key: &'q Q) -> Self {
        ByValue {
            key,
            own: core::ptr::null(),
            held: KeepAlive::new(),
        }
    }
}

impl<'q, K> ByValue<'q, K, K> {
    #[inline]
    pub(crate) fn owned(key: &'q Arc<K>) -> Self {
        ByValue {
            key,
            own: Arc::as_ptr(key),
            held: KeepAlive::new(),
        }
    }
}

impl<K, Q> Probe<K> for ByValue<'_, K, Q>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    #[inline]
    fn probe(&mut self, stored: &Weak<K>) -> Match {
        if core::ptr::eq(stored.as_ptr(), self.own) {
            return Match::Equal;
        }
        match stored.upgrade() {
            None => Match::Dead,
            Some(k) => {
                let m = if (*k).borrow() == self.key {
                    Match::Equal
                } else {
                    Match::NotEqual
                };
                self.held.hold(k);
                m
            }
        }
    }
}

/// Identity semantics: the same allocation. The caller's `Arc` is alive, so
/// an entry with its address is alive too (our `Weak` pins the allocation,
/// so the address cannot belong to a dead key); no upgrade is needed.
pub(crate) struct ByIdentity<K> {
    ptr: *const K,
}

impl<K> ByIdentity<K> {
    #[inline]
    pub(crate) fn new(key: &Arc<K>) -> Self {
        ByIdentity {
            ptr: Arc::as_ptr(key),
        }
    }
}

impl<K> Probe<K> for ByIdentity<K> {
    #[inline]
    fn probe(&mut self, stored: &Weak<K>) -> Match {
        if core::ptr::eq(stored.as_ptr(), self.ptr) {
            Match::Equal
        } else if stored.strong_count() == 0 {
            Match::Dead
        } else {
            Match::NotEqual
        }
    }
}
