//! Key modes of the weak map: [`ByValue`] (equality, like `WeakHashMap`)
//! and [`ByIdentity`] (the same `Arc` allocation, like Caffeine's
//! `weakKeys()`). A mode says how an owned `Arc<K>` is hashed and compared;
//! everything else about the weak map is shared. The trait is sealed: these
//! two are the only modes.

use super::entry::{IdentityProbe, ValueProbe, WeakProbe};
use core::hash::{BuildHasher, Hash};
use std::sync::Arc;

pub(crate) mod private {
    /// Seals [`KeyMode`](super::KeyMode).
    pub trait Sealed {}
}

/// How a [`WeakMap`](crate::weak::WeakMap) compares keys: [`ByValue`] or
/// [`ByIdentity`]. Sealed; its items are internal.
pub trait KeyMode<K>: private::Sealed {
    #[doc(hidden)]
    type OwnedProbe<'k>: WeakProbe<K>
    where
        K: 'k;

    #[doc(hidden)]
    fn hash_key<S: BuildHasher>(hasher: &S, key: &Arc<K>) -> u64;

    #[doc(hidden)]
    fn owned_probe(key: &Arc<K>) -> Self::OwnedProbe<'_>;

    /// Whether two live keys are the same key in this mode (used to yield a
    /// key once when a replacement holds an equal but distinct `Arc`).
    #[doc(hidden)]
    fn same_key(a: &Arc<K>, b: &Arc<K>) -> bool;
}

/// Equality mode: an entry matches a key that is `==` to it; lookups take
/// any `&Q` where `K: Borrow<Q>`. See [`WeakKeyMap`](crate::WeakKeyMap).
#[derive(Debug, Clone, Copy)]
pub enum ByValue {}

/// Identity mode: an entry matches only the very `Arc` allocation it was
/// inserted with; `K` needs neither `Hash` nor `Eq`. See
/// [`WeakIdentityMap`](crate::WeakIdentityMap).
#[derive(Debug, Clone, Copy)]
pub enum ByIdentity {}

impl private::Sealed for ByValue {}
impl private::Sealed for ByIdentity {}

impl<K: Hash + Eq> KeyMode<K> for ByValue {
    type OwnedProbe<'k>
        = ValueProbe<'k, K, K>
    where
        K: 'k;

    #[inline]
    fn hash_key<S: BuildHasher>(hasher: &S, key: &Arc<K>) -> u64 {
        hasher.hash_one(&**key)
    }

    #[inline]
    fn owned_probe(key: &Arc<K>) -> ValueProbe<'_, K, K> {
        ValueProbe::owned(key)
    }

    #[inline]
    fn same_key(a: &Arc<K>, b: &Arc<K>) -> bool {
        **a == **b
    }
}

impl<K> KeyMode<K> for ByIdentity {
    type OwnedProbe<'k>
        = IdentityProbe<K>
    where
        K: 'k;

    #[inline]
    fn hash_key<S: BuildHasher>(hasher: &S, key: &Arc<K>) -> u64 {
        hasher.hash_one(Arc::as_ptr(key) as usize)
    }

    #[inline]
    fn owned_probe(key: &Arc<K>) -> IdentityProbe<K> {
        IdentityProbe::new(key)
    }

    #[inline]
    fn same_key(a: &Arc<K>, b: &Arc<K>) -> bool {
        Arc::ptr_eq(a, b)
    }
}
