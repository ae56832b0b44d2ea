//! Iteration (snapshot walks, and `SplitMap::iter`, which owns its pin)
//! under concurrent inserts, removes, replaces, growth and shrink: no key
//! is ever yielded twice, and every key present for the whole walk is
//! yielded.

mod common;

use common::{scaled, with_each_config, TestHasher};
use splitmap::SplitMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

const STABLE: u64 = 300;

/// Raises the writers' stop flag when dropped, so a failed assertion on the
/// walking thread ends the test instead of leaving `thread::scope` waiting
/// for writers that never stop.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn walks_see_stable_keys_once_while_the_map_churns() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        // Stable keys: present for the whole test, values replaced often.
        for k in 0..STABLE {
            map.insert(k, 0);
        }
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let _stop_writers = StopOnDrop(&stop);
            // Writers: grow to thousands of churn keys and back to none,
            // over and over (growth and shrink), and replace stable values.
            for t in 0..2u64 {
                let (map, stop) = (&map, &stop);
                s.spawn(move || {
                    let base = 1_000_000 * (t + 1);
                    let mut round = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for i in 0..2_000 {
                            map.insert(base + i, i);
                            map.update(&(i % STABLE), |v| v + 1);
                        }
                        for i in 0..2_000 {
                            map.remove(&(base + i));
                        }
                        match round % 4 {
                            0 => map.compact(),
                            // Finishes a shrink (unless a walk holds the
                            // epoch the whole time), so walks race it.
                            2 => map.shrink_to_fit(),
                            _ => {}
                        }
                        round += 1;
                    }
                });
            }
            // Walk at least `min_walks` times, and on (bounded) until the
            // writers have completed two shrinks, so walks race them.
            let (min_walks, max_walks) = (scaled(300), scaled(30_000));
            let mut walks = 0;
            while walks < min_walks || (map.stats().shrinks < 2 && walks < max_walks) {
                walks += 1;
                // Every other walk is the guard-free one that owns its pin
                // (`SplitMap::iter`, clones); the others borrow a snapshot's.
                let keys: Vec<u64> = if walks % 2 == 0 {
                    map.iter().map(|(k, _)| k).collect()
                } else {
                    map.snapshot().iter().map(|(k, _)| *k).collect()
                };
                let mut seen = HashSet::new();
                for k in keys {
                    assert!(seen.insert(k), "key {k} yielded twice ({})", config.name);
                }
                for k in 0..STABLE {
                    assert!(seen.contains(&k), "stable key {k} missed ({})", config.name);
                }
            }
        });
        assert!(
            map.stats().shrinks > 0 || config.name == "default",
            "no shrink happened"
        );
    });
}

#[test]
fn pinned_iter_and_snapshot_agree_when_quiescent() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        for k in 0..1000 {
            map.insert(k, k * 2);
        }
        for k in (0..1000).step_by(3) {
            map.remove(&k);
        }
        let pinned: HashSet<_> = map.pin().iter().map(|(k, v)| (*k, *v)).collect();
        let snap = map.snapshot();
        let snapped: HashSet<_> = snap.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(pinned, snapped);
        let cloned: HashSet<_> = map.iter().collect();
        let by_ref: HashSet<_> = (&map).into_iter().collect();
        assert_eq!(cloned, snapped);
        assert_eq!(by_ref, snapped);
        assert_eq!(snapped.len(), map.len());
        assert_eq!(snap.len(), map.len());
        assert_eq!(snap.keys().count(), snap.values().count());
        assert!(snapped.iter().all(|(k, v)| k % 3 != 0 && *v == k * 2));
    });
}

/// The parallel walks (feature `rayon`) cut one walk into shares: together
/// they yield every key of a quiescent map exactly once, and under churn
/// every stable key once and no key twice.
#[cfg(feature = "rayon")]
#[test]
fn parallel_walks_cover_the_map_once() {
    use rayon::prelude::*;
    use std::sync::Mutex;
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        for k in 0..STABLE {
            map.insert(k, k);
        }
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let _stop_writers = StopOnDrop(&stop);
            let (m, stop) = (&map, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for i in 0..500 {
                        m.insert(1_000_000 + i, i);
                    }
                    for i in 0..500 {
                        m.remove(&(1_000_000 + i));
                    }
                }
            });
            for _ in 0..scaled(20) {
                let cloned: Vec<u64> = map.par_iter().map(|(k, _)| k).collect();
                let by_ref = Mutex::new(Vec::new());
                map.snapshot()
                    .par_for_each(|k, _| by_ref.lock().unwrap().push(*k));
                for keys in [cloned, by_ref.into_inner().unwrap()] {
                    let mut seen = HashSet::new();
                    for k in keys {
                        assert!(seen.insert(k), "key {k} yielded twice ({})", config.name);
                    }
                    for k in 0..STABLE {
                        assert!(seen.contains(&k), "stable key {k} missed ({})", config.name);
                    }
                }
            }
        });
        let quiet: Vec<u64> = map.par_iter().map(|(k, _)| k).collect();
        let mut sorted = quiet.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), quiet.len());
        assert_eq!(sorted, (0..STABLE).collect::<Vec<_>>());
    });
}
