//! Multi-thread stress tests (4–8 threads on 2 cores): every value dropped
//! exactly once, concurrent increments add up exactly, and no entry is ever
//! lost or duplicated, under every configuration.

mod common;

use common::tracked::{Ledger, Tracked};
use common::{flush_epoch, scaled, with_each_config, HashMode, TestHasher};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use splitmap::SplitMap;
use std::sync::Arc;

/// Flushes the epoch until every tracked value is dropped, or gives up after
/// a bounded number of rounds (another test thread may be pinned).
fn wait_all_dropped(ledger: &Ledger) {
    for _ in 0..2000 {
        if ledger.alive() == 0 {
            return;
        }
        flush_epoch();
        std::thread::yield_now();
    }
}

#[test]
fn every_value_dropped_exactly_once() {
    with_each_config(|config| {
        let ledger = Ledger::new();
        {
            let map: SplitMap<u64, Tracked, TestHasher> = config.map();
            std::thread::scope(|s| {
                for t in 0..4u64 {
                    let (map, ledger) = (&map, &ledger);
                    s.spawn(move || {
                        let mut rng = StdRng::seed_from_u64(t);
                        for _ in 0..scaled(20_000) {
                            let k = rng.gen_range(0..512);
                            match rng.gen_range(0..8) {
                                0 | 1 => drop(map.insert(k, Tracked::new(k, ledger))),
                                2 | 3 => drop(map.remove(&k)),
                                4 => drop(map.update(&k, |v| Tracked::new(v.value + 1, ledger))),
                                5 => drop(map.compute(k, |v| match v {
                                    Some(v) if v.value % 3 == 0 => None,
                                    Some(v) => Some(Tracked::new(v.value + 1, ledger)),
                                    None => Some(Tracked::new(k, ledger)),
                                })),
                                6 => drop(map.get_or_insert_with(k, || Tracked::new(k, ledger))),
                                _ => drop(map.get(&k)),
                            }
                        }
                    });
                }
            });
            // Half of the remaining entries go through remove, the rest
            // through Drop.
            let keys: Vec<u64> = map
                .snapshot()
                .keys()
                .copied()
                .filter(|k| k % 2 == 0)
                .collect();
            for k in keys {
                assert!(map.remove(&k).is_some());
            }
        }
        wait_all_dropped(&ledger);
        assert_eq!(
            ledger.alive(),
            0,
            "{} of {} values never dropped",
            ledger.alive(),
            ledger.created()
        );
    });
}

#[test]
fn concurrent_increments_add_up() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        const KEYS: u64 = 8;
        let per_thread = scaled(5_000) as u64;
        for k in 0..KEYS {
            map.insert(k, 0);
        }
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let map = &map;
                s.spawn(move || {
                    for i in 0..per_thread {
                        let k = (i + t) % KEYS;
                        if i % 2 == 0 {
                            assert!(map.update(&k, |v| v + 1).is_some());
                        } else {
                            map.compute(k, |v| Some(v.copied().unwrap_or(0) + 1));
                        }
                        // Unrelated churn forces growth and shrink meanwhile.
                        let junk = 1_000 + t * 100_000 + i % 300;
                        map.insert(junk, i);
                        map.remove(&(junk ^ 1));
                    }
                });
            }
        });
        let total: u64 = (0..KEYS).map(|k| map.get(&k).unwrap()).sum();
        assert_eq!(total, 4 * per_thread);
    });
}

#[test]
fn get_or_insert_with_agrees_on_one_value() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        let n = scaled(2_000) as u64;
        let seen: Vec<Vec<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|t| {
                    let map = &map;
                    s.spawn(move || (0..n).map(|k| *map.get_or_insert_with(k, || t)).collect())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for k in 0..n as usize {
            let first = seen[0][k];
            assert!(
                seen.iter().all(|s| s[k] == first),
                "threads disagree on key {k}"
            );
            assert_eq!(map.get(&(k as u64)), Some(first));
        }
    });
}

/// Tokens move between the map and the threads: a thread owns a token once
/// its `remove` returned it, and puts it back later. Any lost update or
/// resurrection shows up as a token missing or present twice at the end.
#[test]
fn tokens_are_conserved() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        const TOKENS: u64 = 256;
        for k in 0..TOKENS {
            map.insert(k, k);
        }
        let owned: Vec<Vec<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6u64)
                .map(|t| {
                    let map = &map;
                    s.spawn(move || {
                        let mut rng = StdRng::seed_from_u64(100 + t);
                        let mut mine = Vec::new();
                        for _ in 0..scaled(20_000) {
                            if !mine.is_empty() && rng.gen_bool(0.5) {
                                let k = mine.swap_remove(rng.gen_range(0..mine.len()));
                                assert_eq!(map.insert(k, k), None, "token {k} was duplicated");
                            } else {
                                let k = rng.gen_range(0..TOKENS);
                                if let Some(v) = map.remove(&k) {
                                    assert_eq!(*v, k);
                                    mine.push(k);
                                }
                            }
                        }
                        mine
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<u64> = map.snapshot().keys().copied().collect();
        all.extend(owned.into_iter().flatten());
        all.sort_unstable();
        assert_eq!(all, (0..TOKENS).collect::<Vec<_>>());
        assert_eq!(map.len(), map.snapshot().len());
    });
}

/// Replacing values races removing them: a remove returns either the value
/// that was inserted last by the writer or nothing; a removed key never
/// comes back by itself.
#[test]
fn replace_racing_remove_never_resurrects() {
    with_each_config(|config| {
        let map = Arc::new(config.map::<u64, u64>());
        let rounds = scaled(3_000) as u64;
        for round in 0..rounds {
            let k = round % 16;
            map.insert(k, 0);
            std::thread::scope(|s| {
                let m = &map;
                let updater = s.spawn(move || {
                    let mut applied = 0;
                    while m.update(&k, |v| v + 1).is_some() {
                        applied += 1;
                        if applied == 3 {
                            break;
                        }
                    }
                    applied
                });
                let remover = s.spawn(move || m.remove(&k).map(|v| *v));
                let applied = updater.join().unwrap();
                let removed = remover.join().unwrap();
                // The remove took the value after some prefix of the updates.
                let removed = removed.expect("the key was present until removed");
                assert!(
                    removed <= applied,
                    "removed {removed} after {applied} updates"
                );
                // Updates after the remove must fail: the key stays gone.
                assert_eq!(m.get(&k), None, "key {k} resurrected");
            });
        }
    });
}

/// `clear` racing `update` (which never inserts): every key existed before
/// `clear` began and was only replaced, so none may survive. Regression:
/// the walk used to skip a key whose node was replaced between the walk
/// yielding it and `retain` marking it.
#[test]
fn clear_racing_update_leaves_nothing() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        for round in 0..scaled(100) {
            for k in 0..500 {
                map.insert(k, 0);
            }
            std::thread::scope(|s| {
                let m = &map;
                s.spawn(move || {
                    for k in 0..500 {
                        m.update(&k, |v| v + 1);
                    }
                });
                m.clear();
            });
            let left: Vec<u64> = map.snapshot().keys().copied().collect();
            assert!(left.is_empty(), "round {round}: clear left {left:?}");
            assert_eq!(map.len(), 0);
        }
    });
}

/// Shrink racing inserts and gets: writers fill and drain their key ranges
/// over and over (every drain publishes and finishes shrinks, every refill
/// grows or cancels them) while readers look up keys that stay present.
/// Every value is dropped exactly once, and stable keys are always found.
#[test]
fn shrink_racing_inserts_and_gets_drops_each_value_once() {
    with_each_config(|config| {
        if config.mode == HashMode::Few {
            return; // O(n) per op with four hashes; covered by the others
        }
        let ledger = Ledger::new();
        let shrinks;
        {
            let map: SplitMap<u64, Tracked, TestHasher> = config.map();
            const STABLE: u64 = 64;
            for k in 0..STABLE {
                map.insert(k, Tracked::new(k, &ledger));
            }
            let stop = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|s| {
                let writers: Vec<_> = (0..2u64)
                    .map(|t| {
                        let (map, ledger) = (&map, &ledger);
                        s.spawn(move || {
                            let base = 1_000_000 * (t + 1);
                            // Rounds go on (bounded) until shrinks have
                            // completed while the others were running.
                            let mut round = 0u64;
                            while round < scaled(20) as u64
                                || (map.stats().shrinks < 3 && round < scaled(2_000) as u64)
                            {
                                for i in 0..3_000 {
                                    map.insert(base + i, Tracked::new(round, ledger));
                                }
                                for i in 0..3_000 {
                                    assert!(map.remove(&(base + i)).is_some());
                                }
                                map.shrink_to_fit();
                                round += 1;
                            }
                        })
                    })
                    .collect();
                for _ in 0..2 {
                    let (map, stop) = (&map, &stop);
                    s.spawn(move || {
                        let mut k = 0;
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            assert_eq!(
                                map.get_with(&k, |v| v.value),
                                Some(k),
                                "stable key {k} lost"
                            );
                            k = (k + 1) % STABLE;
                        }
                    });
                }
                for w in writers {
                    w.join().unwrap();
                }
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            shrinks = map.stats().shrinks;
            assert_eq!(map.len(), STABLE as usize);
        }
        assert!(shrinks > 0, "no shrink completed ({})", config.name);
        wait_all_dropped(&ledger);
        assert_eq!(ledger.alive(), 0, "{} values never dropped", ledger.alive());
    });
}
