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

#[cfg(feature = "serde")]
#[test]
fn serde_announces_the_length_it_serializes() {
    use serde_test::{assert_ser_tokens, Token};
    let map: SplitMap<u64, u64> = SplitMap::from([(3, 30)]);
    assert_ser_tokens(
        &map,
        &[
            Token::Map { len: Some(1) },
            Token::U64(3),
            Token::U64(30),
            Token::MapEnd,
        ],
    );
    let empty: SplitMap<u64, u64> = SplitMap::new();
    assert_ser_tokens(&empty, &[Token::Map { len: Some(0) }, Token::MapEnd]);
}

#[cfg(feature = "serde")]
#[test]
fn serde_ignores_a_hostile_size_hint() {
    use serde_test::{assert_de_tokens, Token};
    // A length hint of usize::MAX used to reach `with_capacity` ("capacity
    // overflow" panic) or allocate a huge directory level and abort.
    let expected: SplitMap<u64, u64> = SplitMap::from([(1, 2)]);
    for hint in [usize::MAX, 1 << 40, 1 << 25] {
        assert_de_tokens(
            &expected,
            &[
                Token::Map { len: Some(hint) },
                Token::U64(1),
                Token::U64(2),
                Token::MapEnd,
            ],
        );
    }
    let back: SplitMap<u64, u64> =
        serde_json::from_str(r#"{"1": 2}"#).expect("an ordinary map deserializes");
    assert!(back.capacity() < 1 << 20, "capacity {}", back.capacity());
}

#[cfg(feature = "serde")]
#[test]
fn serde_weak_maps_serialize_live_entries() {
    use std::sync::Arc;
    let map: splitmap::WeakKeyMap<String, u32> = splitmap::WeakKeyMap::new();
    let kept = Arc::new("kept".to_string());
    map.insert(Arc::clone(&kept), 1);
    map.insert(Arc::new("dead".to_string()), 2);
    assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"kept":1}"#);
}

#[test]
fn values_need_not_be_clone() {
    #[derive(Debug, PartialEq)]
    struct Handle(u32); // not Clone: a channel, a file, a connection
    let map: SplitMap<&str, Handle> = SplitMap::new();
    assert!(map.insert("a", Handle(1)).is_none());
    assert_eq!(map.insert("a", Handle(2)).as_deref(), Some(&Handle(1)));
    assert_eq!(*map.get_or_insert_with("b", || Handle(3)), Handle(3));
    assert_eq!(
        *map.update_or_insert("b", |h| Handle(h.0 + 1), Handle(0)),
        Handle(4)
    );
    assert_eq!(
        map.compute("c", |_| Some(Handle(5))).as_deref(),
        Some(&Handle(5))
    );
    assert_eq!(map.get_with("a", |h| h.0), Some(2));
    let err = map.try_insert("a", Handle(9)).unwrap_err();
    assert_eq!((&*err.current, err.value), (&Handle(2), Handle(9)));
    assert!(map.remove_if("a", |_, h| h.0 == 7).is_none());
    assert_eq!(
        map.remove_if("a", |_, h| h.0 == 2).as_deref(),
        Some(&Handle(2))
    );
    assert_eq!(map.remove("b").as_deref(), Some(&Handle(4)));
    assert!(map.compute("c", |_| None).is_none());
    assert!(map.is_empty());
}

#[test]
fn a_guarded_value_stays_readable_until_dropped() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    struct Counted(Arc<AtomicUsize>, u64);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let map: SplitMap<u64, Counted> = SplitMap::new();
    map.insert(1, Counted(Arc::clone(&drops), 10));
    let removed = map.remove(&1).expect("present");
    // Another thread churns and pushes reclamation along meanwhile: the
    // removed value must not be freed while `removed` pins it.
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 2..2_000 {
                map.insert(i, Counted(Arc::clone(&drops), i));
                map.remove(&i);
            }
            map.reclaim();
        });
    });
    assert_eq!(removed.1, 10, "still readable");
    let dropped_while_held = drops.load(Ordering::SeqCst);
    assert!(
        dropped_while_held <= 1_998,
        "only the churn's values may go"
    );
    drop(removed);
    map.reclaim();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1_999,
        "every value dropped once"
    );
}

#[test]
fn try_insert_keeps_the_present_value() {
    let map = SplitMap::new();
    assert_eq!(*map.try_insert(1, "one").unwrap(), "one");
    let err = map.try_insert(1, "uno").unwrap_err();
    assert_eq!((*err.current, err.value), ("one", "uno"));
    assert_eq!(err.to_string(), "the key is already present");
    assert_eq!(map.get(&1), Some("one"));
    let m = map.pin();
    assert_eq!(m.try_insert(2, "two"), Ok(&"two"));
    assert_eq!(m.try_insert(2, "dos").unwrap_err().current, &"two");
}

#[test]
fn update_or_insert_counts() {
    let map = SplitMap::new();
    for w in "a b a c a b".split(' ') {
        map.update_or_insert(w.to_string(), |n| n + 1, 1u32);
    }
    let mut counts: Vec<(String, u32)> = map
        .snapshot()
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    counts.sort();
    assert_eq!(counts, [("a".into(), 3), ("b".into(), 2), ("c".into(), 1)]);
}

#[test]
fn borrowed_iteration_and_pinned_keys_values() {
    let map: SplitMap<u32, u32> = (0..10).map(|i| (i, i * 2)).collect();
    let mut seen = 0;
    for (k, v) in &map.snapshot() {
        assert_eq!(*v, k * 2);
        seen += 1;
    }
    assert_eq!(seen, 10);
    let m = map.pin();
    let mut keys: Vec<u32> = m.keys().copied().collect();
    keys.sort();
    assert_eq!(keys, (0..10).collect::<Vec<_>>());
    assert_eq!(m.values().sum::<u32>(), 90);
    assert_eq!((&m).into_iter().count(), 10);
}

/// Only `with_capacity`/`reserve` set a floor under automatic shrinking: a
/// map built in bulk gives its directory back when it empties.
#[test]
fn bulk_built_maps_shrink_on_their_own() {
    fn empties_and_shrinks(map: &SplitMap<u64, u64>, built: &str) {
        let big = map.capacity();
        assert!(big >= 50_000, "{built}: capacity {big}");
        map.clear();
        // Ordinary traffic finishes the shrinks; the epoch may be held up by
        // other tests' pins for a while, so give it rounds (bounded). With a
        // floor at the bulk size the capacity would never move at all.
        for _ in 0..200 {
            for i in 0..500u64 {
                map.insert(1 << 40 | i, i);
                map.remove(&(1 << 40 | i));
            }
            map.reclaim();
            if map.capacity() < big / 16 {
                return;
            }
        }
        panic!("{built}: capacity {} stayed near {big}", map.capacity());
    }
    let collected: SplitMap<u64, u64> = (0..50_000).map(|i| (i, i)).collect();
    empties_and_shrinks(&collected, "collect");
    let from_std = SplitMap::from((0..50_000u64).map(|i| (i, i)).collect::<HashMap<_, _>>());
    empties_and_shrinks(&from_std, "From<HashMap>");
    let source: SplitMap<u64, u64> = (0..50_000).map(|i| (i, i)).collect();
    empties_and_shrinks(&source.clone(), "clone");
    #[cfg(feature = "serde")]
    {
        let json = serde_json::to_string(&source).unwrap();
        let back: SplitMap<u64, u64> = serde_json::from_str(&json).unwrap();
        empties_and_shrinks(&back, "deserialize");
    }
    // An explicit capacity is a promise: it stays.
    let reserved: SplitMap<u64, u64> = SplitMap::with_capacity(50_000);
    for i in 0..2_000u64 {
        reserved.insert(i, i);
        reserved.remove(&i);
    }
    assert!(reserved.capacity() >= 50_000);
}

/// A purge is a removal like any other: a map it empties starts, and
/// `purge_dead` finishes, a directory shrink without `shrink_to_fit`.
#[test]
fn purge_dead_gives_the_directory_back() {
    use std::sync::Arc;
    for identity in [false, true] {
        let keys: Vec<Arc<u64>> = (0..50_000).map(Arc::new).collect();
        let (by_value, by_identity) = (
            splitmap::WeakKeyMap::<u64, u64>::new(),
            splitmap::WeakIdentityMap::<u64, u64>::new(),
        );
        for k in &keys {
            if identity {
                by_identity.insert(Arc::clone(k), 0);
            } else {
                by_value.insert(Arc::clone(k), 0);
            }
        }
        let full = by_value
            .stats()
            .directory_bytes
            .max(by_identity.stats().directory_bytes);
        drop(keys);
        let purged = by_value.purge_dead() + by_identity.purge_dead();
        let purged = purged as u64 + by_value.stats().purged + by_identity.stats().purged;
        assert!(purged >= 50_000, "identity {identity}: purged {purged}");
        // `purge_dead` finishes the shrink it starts as soon as the epoch
        // allows; other tests' pins can hold the epoch for a moment, so a
        // later call (which walks an empty list) may have to finish it.
        let mut left = usize::MAX;
        for _ in 0..200 {
            left = by_value
                .stats()
                .directory_bytes
                .max(by_identity.stats().directory_bytes);
            if left * 64 < full {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
            by_value.purge_dead();
            by_identity.purge_dead();
        }
        assert!(
            left * 64 < full,
            "identity {identity}: directory {left} B after the purge (was {full} B)"
        );
    }
}
