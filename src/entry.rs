//! The entry payload of `SplitMap`'s nodes: a strong key and its value.

use crate::raw::RawEntry;

/// One key-value pair, stored inline in an immutable list node.
pub(crate) struct MapEntry<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
}

impl<K: Eq, V> RawEntry for MapEntry<K, V> {
    #[inline]
    fn same_key(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
