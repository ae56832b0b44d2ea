//! `get_mut`, `iter_mut` and `values_mut` on `&mut SplitMap`, checked
//! against a std `HashMap` model under every hashing set-up (equal
//! split-order keys, tiny directories, pending shrinks, unlinked sentinels).

mod common;

use common::{with_each_config, Config};
use std::collections::HashMap;
use std::sync::Arc;

/// Fills `map` and a model, removes two keys in three (so the map shrinks
/// or has a shrink pending), then replaces a few.
fn build(
    config: &Config,
    n: u64,
) -> (
    splitmap::SplitMap<u64, u64, common::TestHasher>,
    HashMap<u64, u64>,
) {
    let map = config.map();
    let mut model = HashMap::new();
    for k in 0..n {
        map.insert(k, k * 10);
        model.insert(k, k * 10);
    }
    for k in (0..n).filter(|k| k % 3 != 0) {
        assert!(map.remove(&k).is_some());
        model.remove(&k);
    }
    for k in (0..n).step_by(9) {
        map.insert(k, k * 100);
        model.insert(k, k * 100);
    }
    (map, model)
}

#[test]
fn get_mut_finds_each_key_and_only_its_key() {
    with_each_config(|config| {
        let n = 3_000;
        let (mut map, mut model) = build(config, n);
        for k in 0..n + 10 {
            let got = map.get_mut(&k).map(|v| {
                *v += 1;
                *v - 1
            });
            let want = model.get_mut(&k).map(|v| {
                *v += 1;
                *v - 1
            });
            assert_eq!(got, want, "{}: key {k}", config.name);
        }
        for (k, v) in &model {
            assert_eq!(
                map.get(k),
                Some(*v),
                "{}: key {k} after get_mut",
                config.name
            );
        }
        assert_eq!(map.len(), model.len());
    });
}

#[test]
fn iter_mut_visits_every_live_key_exactly_once() {
    with_each_config(|config| {
        let (mut map, model) = build(config, 5_000);
        let mut seen = HashMap::new();
        for (k, v) in map.iter_mut() {
            assert!(
                seen.insert(*k, *v).is_none(),
                "{}: key {k} twice",
                config.name
            );
            *v = v.wrapping_mul(3) + 1;
        }
        assert_eq!(seen, model, "{}: iter_mut saw other entries", config.name);
        for v in map.values_mut() {
            *v += 1;
        }
        for (k, v) in &model {
            let want = v.wrapping_mul(3) + 2;
            assert_eq!(map.get(k), Some(want), "{}: key {k}", config.name);
        }
    });
}

/// Entries removed by threads that lost unlinking races stay linked,
/// marked, until a search passes them: the exclusive walk must skip them.
/// With only four distinct hashes every key sits in one of four long runs,
/// so removers of neighbouring nodes often lose their unlinking CAS.
#[test]
fn iter_mut_after_concurrent_churn_matches_the_survivors() {
    for round in 0..20 {
        let map = Arc::new(common::CONFIGS[2].map::<u64, u64>());
        let threads = 4u64;
        let per = 300u64;
        let barrier = Arc::new(std::sync::Barrier::new(threads as usize));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let map = Arc::clone(&map);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    for i in 0..per {
                        map.insert(i * threads + t, t);
                    }
                    barrier.wait();
                    // Neighbours in the runs belong to different threads.
                    for i in (0..per).filter(|i| i % 4 != 0) {
                        map.remove(&(i * threads + t));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let mut map = Arc::into_inner(map).expect("threads joined");
        let survivors: HashMap<u64, u64> = (0..per * threads)
            .filter(|k| (k / threads) % 4 == 0)
            .map(|k| (k, k % threads))
            .collect();
        let mut seen = HashMap::new();
        for (k, v) in map.iter_mut() {
            assert!(
                seen.insert(*k, *v).is_none(),
                "round {round}: key {k} twice"
            );
            *v = u64::MAX - *v;
        }
        assert_eq!(seen, survivors, "round {round}");
        for (k, v) in &survivors {
            assert_eq!(map.get_mut(k).copied(), Some(u64::MAX - v), "round {round}");
        }
    }
}

#[test]
fn values_need_not_be_clone() {
    let mut handles: splitmap::SplitMap<u32, std::sync::mpsc::Sender<u32>> =
        splitmap::SplitMap::new();
    let (tx, rx) = std::sync::mpsc::channel();
    handles.insert(7, tx);
    if let Some(tx) = handles.get_mut(&7) {
        tx.send(42).unwrap();
    }
    assert!(handles.get_mut(&8).is_none());
    assert_eq!(rx.recv().unwrap(), 42);
}
