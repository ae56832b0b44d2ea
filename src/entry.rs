//! The entry kind of `SplitMap`: a strong key and its value inline in an
//! immutable node, and the two probes that find it (a borrowed `&Q`, or an
//! owned `K` on its way into a node).

use crate::ops::entry_kind::{match_if, Entry, Match, OwnedKey, Probe, RawEntry, Rebuild};
use core::borrow::Borrow;

/// One key-value pair, stored inline in an immutable list node.
pub(crate) struct MapEntry<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
}

impl<K: Eq, V> RawEntry for MapEntry<K, V> {
    type Ctx = ();
    type Death = ();

    #[inline]
    fn same_key(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<K: Eq, V> Entry for MapEntry<K, V> {
    type Value = V;

    #[inline]
    fn value(&self) -> &V {
        &self.value
    }
}

impl<K: Eq + Clone, V> Rebuild for MapEntry<K, V> {
    #[inline]
    fn rebuild(&self, value: V) -> Self {
        MapEntry {
            key: self.key.clone(),
            value,
        }
    }
}

/// A borrowed key `&Q` where `K: Borrow<Q>`, compared with `==`.
pub(crate) struct BorrowedKey<'q, Q: ?Sized>(pub(crate) &'q Q);

impl<K, V, Q> Probe<MapEntry<K, V>> for BorrowedKey<'_, Q>
where
    K: Borrow<Q> + Eq,
    Q: Eq + ?Sized,
{
    #[inline]
    fn probe(&mut self, stored: &MapEntry<K, V>) -> Match {
        match_if(stored.key.borrow() == self.0)
    }
}

/// An owned key, kept here until [`OwnedKey::make`] moves it into an entry.
pub(crate) struct StrongKey<K>(Option<K>);

impl<K> StrongKey<K> {
    #[inline]
    pub(crate) fn new(key: K) -> Self {
        StrongKey(Some(key))
    }
}

impl<K: Eq, V> OwnedKey<MapEntry<K, V>> for StrongKey<K> {
    #[inline]
    fn probe(&mut self, stored: &MapEntry<K, V>, pending: Option<&MapEntry<K, V>>) -> Match {
        let key = match pending {
            Some(p) => &p.key,
            None => self
                .0
                .as_ref()
                .expect("key is here or in the pending entry"),
        };
        match_if(stored.key == *key)
    }

    #[inline]
    fn make(&mut self, value: V) -> MapEntry<K, V> {
        MapEntry {
            key: self.0.take().expect("key moved into one entry at a time"),
            value,
        }
    }

    #[inline]
    fn restore(&mut self, pending: MapEntry<K, V>) -> V {
        debug_assert!(self.0.is_none(), "the key was in the pending entry");
        self.0 = Some(pending.key);
        pending.value
    }
}
