//! The entry kind of the weak-key maps, and the probes that compare a
//! stored weak key with the key an operation looks for.
//!
//! A probe that upgrades a stored `Weak<K>` keeps the resulting `Arc<K>`
//! until the probe itself is dropped, which the calling operation does after
//! it is done with the entry (after its CAS, after the value was cloned or
//! the closure ran), so if that `Arc` was the last one, `K`'s destructor
//! never runs inside a list traversal.

use crate::ops::entry_kind::{Entry, Match, OwnedKey, Probe, RawEntry, Rebuild};
use core::alloc::Layout;
use core::borrow::Borrow;
use std::sync::{Arc, Weak};

/// Compares a stored weak key with the key an operation looks for: the
/// value probe (`ByValue`) or the identity probe (`ByIdentity`). Public
/// only because `KeyMode`'s associated probe type names it; this module is
/// private, so no user can reach it (rustc before 1.85 still flags it).
#[allow(unreachable_pub)]
pub trait WeakProbe<K> {
    /// `None` if the stored key is dead, else whether it matches.
    fn probe_weak(&mut self, stored: &Weak<K>) -> Option<bool>;
}

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
    type Ctx = ();
    /// One way to die: the key's referent is gone.
    type Death = ();
    const CAN_DIE: bool = true;

    /// Same allocation. Exact: our `Weak` keeps the allocation (not the key)
    /// alive, so its address cannot be reused by another key meanwhile.
    /// Equal-but-distinct keys are told apart by the weak iterator itself.
    #[inline]
    fn same_key(&self, other: &Self) -> bool {
        Weak::ptr_eq(&self.key, &other.key)
    }

    #[inline]
    fn is_dead(&self, _ctx: &()) -> Option<()> {
        (self.key.strong_count() == 0).then_some(())
    }
}

impl<K, V> Entry for WeakEntry<K, V> {
    type Value = V;

    #[inline]
    fn value(&self) -> &V {
        &self.value
    }
}

impl<K, V> Rebuild for WeakEntry<K, V> {
    /// Keeps the stored key (another `Weak` of the same allocation).
    #[inline]
    fn rebuild(&self, value: V) -> Self {
        WeakEntry {
            key: self.key.clone(),
            value,
        }
    }
}

/// Heap bytes of the `Arc<K>` allocation a dead `Weak<K>` keeps alive: the
/// two reference counts plus `K`, padded (std's layout today).
pub(crate) fn arc_allocation_bytes<K>() -> usize {
    Layout::new::<[usize; 2]>()
        .extend(Layout::new::<K>())
        .map_or(0, |(l, _)| l.pad_to_align().size())
}

/// A weak probe as a borrowed-key probe of the operations core.
impl<K, V, P: WeakProbe<K>> Probe<WeakEntry<K, V>> for P {
    #[inline]
    fn probe(&mut self, stored: &WeakEntry<K, V>) -> Match {
        to_match(self.probe_weak(&stored.key))
    }
}

#[inline]
fn to_match(answer: Option<bool>) -> Match {
    match answer {
        None => Match::Dead(()),
        Some(true) => Match::Equal,
        Some(false) => Match::NotEqual,
    }
}

/// An owned key of a weak map: the caller's `Arc<K>` (which keeps the key
/// alive for the whole operation) and the probe that compares with it. The
/// entry holds only a `Weak`, so the key never moves and a pending entry
/// needs no special handling.
pub(crate) struct WeakOwnedKey<'k, K, P> {
    key: &'k Arc<K>,
    probe: P,
}

impl<'k, K, P> WeakOwnedKey<'k, K, P> {
    #[inline]
    pub(crate) fn new(key: &'k Arc<K>, probe: P) -> Self {
        WeakOwnedKey { key, probe }
    }
}

impl<K, V, P: WeakProbe<K>> OwnedKey<WeakEntry<K, V>> for WeakOwnedKey<'_, K, P> {
    #[inline]
    fn probe(&mut self, stored: &WeakEntry<K, V>, _pending: Option<&WeakEntry<K, V>>) -> Match {
        to_match(self.probe.probe_weak(&stored.key))
    }

    #[inline]
    fn make(&mut self, value: V) -> WeakEntry<K, V> {
        WeakEntry::new(self.key, value)
    }

    #[inline]
    fn restore(&mut self, pending: WeakEntry<K, V>) -> V {
        pending.value
    }
}

/// Equality semantics: upgrade, then `==`. A stored key that cannot be
/// upgraded is dead.
pub struct ValueProbe<'q, K, Q: ?Sized> {
    key: &'q Q,
    /// The allocation of the caller's own `Arc<K>`, when it has one: an entry
    /// holding it matches without an upgrade (the caller keeps it alive).
    own: *const K,
    /// Keys this probe upgraded, released when the probe is dropped.
    held: Vec<Arc<K>>,
}

impl<'q, K, Q: ?Sized> ValueProbe<'q, K, Q> {
    #[inline]
    pub(crate) fn borrowed(key: &'q Q) -> Self {
        ValueProbe {
            key,
            own: core::ptr::null(),
            held: Vec::new(),
        }
    }
}

impl<'q, K> ValueProbe<'q, K, K> {
    #[inline]
    pub(crate) fn owned(key: &'q Arc<K>) -> Self {
        ValueProbe {
            key,
            own: Arc::as_ptr(key),
            held: Vec::new(),
        }
    }
}

impl<K, Q> WeakProbe<K> for ValueProbe<'_, K, Q>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    #[inline]
    fn probe_weak(&mut self, stored: &Weak<K>) -> Option<bool> {
        if core::ptr::eq(stored.as_ptr(), self.own) {
            return Some(true);
        }
        let key = stored.upgrade()?;
        let equal = (*key).borrow() == self.key;
        self.held.push(key);
        Some(equal)
    }
}

impl<K, Q: ?Sized> core::fmt::Debug for ValueProbe<'_, K, Q> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ValueProbe").finish_non_exhaustive()
    }
}

/// Identity semantics: the same allocation. The caller's `Arc` is alive, so
/// an entry with its address is alive too (our `Weak` pins the allocation,
/// so the address cannot belong to a dead key); no upgrade is needed.
pub struct IdentityProbe<K> {
    ptr: *const K,
}

impl<K> IdentityProbe<K> {
    #[inline]
    pub(crate) fn new(key: &Arc<K>) -> Self {
        IdentityProbe {
            ptr: Arc::as_ptr(key),
        }
    }
}

impl<K> core::fmt::Debug for IdentityProbe<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityProbe").finish_non_exhaustive()
    }
}

impl<K> WeakProbe<K> for IdentityProbe<K> {
    #[inline]
    fn probe_weak(&mut self, stored: &Weak<K>) -> Option<bool> {
        if core::ptr::eq(stored.as_ptr(), self.ptr) {
            Some(true)
        } else if stored.strong_count() == 0 {
            None
        } else {
            Some(false)
        }
    }
}
