//! The std-like surface: traits, conversions, owned iteration, serde.

use splitmap::SplitMap;
use std::collections::HashMap;

#[test]
fn conversions_and_traits() {
    let from_array = SplitMap::from([(1, "a"), (2, "b")]);
    assert_eq!(from_array.len(), 2);

    let std_map: HashMap<u32, &str> = [(1, "a"), (2, "b")].into_iter().collect();
    let from_std = SplitMap::from(std_map);
    assert_eq!(from_std, from_array);

    let collected: SplitMap<u32, &str> = vec![(1, "a"), (2, "b")].into_iter().collect();
    assert_eq!(collected, from_array);

    let cloned = collected.clone();
    assert_eq!(cloned, collected);
    cloned.insert(3, "c");
    assert_ne!(cloned, collected);
    cloned.remove(&3);
    cloned.insert(2, "z");
    assert_ne!(cloned, collected, "same keys, different value");

    let mut extended: SplitMap<u32, &str> = SplitMap::default();
    extended.extend([(1, "a")]);
    (&extended).extend([(2, "b")]);
    assert_eq!(extended, from_array);

    let debug = format!("{:?}", SplitMap::from([(7, 8)]));
    assert_eq!(debug, "{7: 8}");

    let mut owned: Vec<_> = from_array.into_iter().collect();
    owned.sort();
    assert_eq!(owned, [(1, "a"), (2, "b")]);
}

#[test]
fn borrowed_lookups() {
    let map: SplitMap<String, Vec<u8>> = SplitMap::new();
    map.insert("key".to_string(), vec![1, 2]);
    assert!(map.contains_key("key"));
    assert_eq!(map.get_with("key", Vec::len), Some(2));
    assert_eq!(
        map.remove_entry("key"),
        Some(("key".to_string(), vec![1, 2]))
    );
    assert!(map.get("key").is_none());
}

#[test]
fn non_clone_values_through_the_pinned_layer() {
    struct NoClone(u32);
    let map: SplitMap<u32, NoClone> = SplitMap::new();
    let m = map.pin();
    assert!(m.insert(1, NoClone(1)).is_none());
    assert_eq!(m.insert(1, NoClone(2)).map(|v| v.0), Some(1));
    assert_eq!(m.get(&1).map(|v| v.0), Some(2));
    assert_eq!(map.get_with(&1, |v| v.0), Some(2));
    assert_eq!(m.remove(&1).map(|v| v.0), Some(2));
}

#[test]
fn capacity_and_reserve() {
    let map: SplitMap<u64, u64> = SplitMap::with_capacity(10_000);
    assert!(map.capacity() >= 10_000);
    let small: SplitMap<u64, u64> = SplitMap::new();
    let before = small.capacity();
    small.reserve(100_000);
    assert!(small.capacity() >= 100_000 && small.capacity() > before);
    // Automatic shrinking respects the reservation...
    for i in 0..1000 {
        small.insert(i, i);
        small.remove(&i);
    }
    assert!(small.capacity() >= 100_000);
    // ...and shrink_to_fit drops it.
    small.shrink_to_fit();
    assert!(small.capacity() < 100_000, "capacity {}", small.capacity());
}

#[cfg(feature = "serde")]
#[test]
fn serde_round_trip() {
    let map: SplitMap<String, u32> = (0..50).map(|i| (format!("k{i}"), i)).collect();
    let json = serde_json::to_string(&map).unwrap();
    let back: SplitMap<String, u32> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, map);
    let as_std: HashMap<String, u32> = serde_json::from_str(&json).unwrap();
    assert_eq!(as_std.len(), 50);
    assert_eq!(as_std["k7"], 7);
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn absurd_capacity_panics_clearly() {
    let _map: SplitMap<u64, u64> = SplitMap::with_capacity(usize::MAX);
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn absurd_reserve_panics_clearly() {
    let map: SplitMap<u64, u64> = SplitMap::new();
    map.reserve(usize::MAX / 2);
}
