//! `serde` support (feature `serde`): a map serializes as a map from one
//! snapshot walk; a `SplitMap` deserializes by inserting every entry.
//!
//! Deserializing never trusts the input's length hint beyond a cap (as
//! serde's own collections do), so a hostile hint gets an ordinary error or
//! a small allocation, never a panic or a huge directory.

use crate::weak::{KeyMode, WeakMap};
use crate::SplitMap;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::marker::PhantomData;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The most entries a length hint may pre-size a map for: about 1 MiB of
/// entries, like serde's `size_hint::cautious`. Beyond it the map grows as
/// entries actually arrive.
fn cautious_capacity<K, V>(hint: Option<usize>) -> usize {
    const MAX_PREALLOC_BYTES: usize = 1024 * 1024;
    let entry = core::mem::size_of::<(K, V)>().max(1);
    hint.unwrap_or(0).min(MAX_PREALLOC_BYTES / entry)
}

/// Serializes pairs collected from one walk, announcing their count (so
/// formats that need a length up front, such as bincode, work).
fn serialize_pairs<Ser, K, V>(serializer: Ser, pairs: &[(K, V)]) -> Result<Ser::Ok, Ser::Error>
where
    Ser: Serializer,
    K: Serialize,
    V: Serialize,
{
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl<K, V, S> Serialize for SplitMap<K, V, S>
where
    K: Serialize + Hash + Eq,
    V: Serialize,
    S: BuildHasher,
{
    /// Serializes the entries one snapshot walk yields (see
    /// [`Snapshot::iter`](crate::Snapshot::iter) for what a walk under
    /// concurrent writes contains). The walk's references are collected
    /// first so the announced length is the number serialized.
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let snapshot = self.snapshot();
        let pairs: Vec<(&K, &V)> = snapshot.iter().collect();
        serialize_pairs(serializer, &pairs)
    }
}

impl<K, V, S, M> Serialize for WeakMap<K, V, S, M>
where
    K: Serialize + Send + Sync + 'static,
    V: Serialize + Send + 'static,
    M: KeyMode<K>,
{
    /// Serializes the live entries of one snapshot walk as a map from key to
    /// value. There is no `Deserialize`: a weak map holds no key alive, so
    /// a deserialized one would be empty of live entries by construction.
    /// Deserialize the pairs, keep the `Arc`s, and `collect` them instead.
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let snapshot = self.snapshot();
        let live: Vec<_> = snapshot.iter().collect();
        let pairs: Vec<(&K, &V)> = live.iter().map(|(k, v)| (&**k, *v)).collect();
        serialize_pairs(serializer, &pairs)
    }
}

impl<'de, K, V, S> Deserialize<'de> for SplitMap<K, V, S>
where
    K: Deserialize<'de> + Hash + Eq + Send + 'static,
    V: Deserialize<'de> + Send + 'static,
    S: BuildHasher + Default,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SplitMapVisitor(PhantomData))
    }
}

struct SplitMapVisitor<K, V, S>(PhantomData<(K, V, S)>);

impl<'de, K, V, S> Visitor<'de> for SplitMapVisitor<K, V, S>
where
    K: Deserialize<'de> + Hash + Eq + Send + 'static,
    V: Deserialize<'de> + Send + 'static,
    S: BuildHasher + Default,
{
    type Value = SplitMap<K, V, S>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let capacity = cautious_capacity::<K, V>(access.size_hint());
        let map = SplitMap::for_bulk_build(capacity, S::default());
        {
            let m = map.pin();
            while let Some((k, v)) = access.next_entry()? {
                m.insert(k, v);
            }
        }
        Ok(map)
    }
}
