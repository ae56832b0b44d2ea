//! `serde` support (feature `serde`): a `SplitMap` serializes as a map from
//! one snapshot walk, and deserializes by inserting every entry.

use crate::SplitMap;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::marker::PhantomData;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

impl<K, V, S> Serialize for SplitMap<K, V, S>
where
    K: Serialize + Hash + Eq + Send + Sync + 'static,
    V: Serialize + Send + Sync + 'static,
    S: BuildHasher,
{
    /// Serializes the entries one snapshot walk yields (see
    /// [`Snapshot::iter`](crate::Snapshot::iter) for what a walk under
    /// concurrent writes contains). The length is not announced up front,
    /// since it can change during the walk.
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let snapshot = self.snapshot();
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in snapshot.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, K, V, S> Deserialize<'de> for SplitMap<K, V, S>
where
    K: Deserialize<'de> + Hash + Eq + Send + Sync + 'static,
    V: Deserialize<'de> + Send + Sync + 'static,
    S: BuildHasher + Default,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SplitMapVisitor(PhantomData))
    }
}

struct SplitMapVisitor<K, V, S>(PhantomData<(K, V, S)>);

impl<'de, K, V, S> Visitor<'de> for SplitMapVisitor<K, V, S>
where
    K: Deserialize<'de> + Hash + Eq + Send + Sync + 'static,
    V: Deserialize<'de> + Send + Sync + 'static,
    S: BuildHasher + Default,
{
    type Value = SplitMap<K, V, S>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let map = SplitMap::with_capacity_and_hasher(access.size_hint().unwrap_or(0), S::default());
        {
            let m = map.pin();
            while let Some((k, v)) = access.next_entry()? {
                m.insert(k, v);
            }
        }
        Ok(map)
    }
}
