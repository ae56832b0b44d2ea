//! Multi-thread stress tests (4–8 threads on 2 cores): every value dropped
//! exactly once, concurrent increments add up exactly, and no entry is ever
//! lost or duplicated, under every configuration.

mod common;

use common::race::StartLine;
use common::tracked::{Ledger, Tracked};
use common::{flush_epoch, scaled, with_each_config, HashMode, TestHasher};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use splitmap::SplitMap;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::SeqCst;

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
                            let k = rng.random_range(0..512);
                            match rng.random_range(0..8) {
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

/// Four threads increment eight counters (`update` and `compute`) while
/// their own junk keys make the directory grow and shrink under them: each
/// cycle every thread fills its junk keys, meets the others at a start line,
/// and drains them again, so the map goes from a few thousand entries back
/// to eight, ten times (and on, bounded, until a shrink has completed). The counters add up exactly, and the directory
/// did grow and did finish shrinks while the increments ran.
#[test]
fn concurrent_increments_add_up() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        const KEYS: u64 = 8;
        const THREADS: usize = 4;
        const INCREMENTS_PER_JUNK: u64 = 4;
        // Few hashes: every operation walks the whole list.
        let junk = if config.mode == HashMode::Few {
            100
        } else {
            400
        };
        let cycles = scaled(10);
        for k in 0..KEYS {
            map.insert(k, 0);
        }
        let initial_buckets = map.stats().buckets;
        let line = StartLine::new(THREADS);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let increments: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS as u64)
                .map(|t| {
                    let (map, line, stop) = (&map, &line, &stop);
                    s.spawn(move || {
                        let _poison = line.poison_on_panic();
                        let mut done = 0u64;
                        let mut max_buckets = 0;
                        let mut increment = |i: u64| {
                            let k = i % KEYS; // all threads on the same key at once
                            if i % 2 == 0 {
                                assert!(map.update(&k, |v| v + 1).is_some(), "counter {k} lost");
                            } else {
                                map.compute(k, |v| Some(v.copied().unwrap_or(0) + 1));
                            }
                            done += 1;
                        };
                        let base = 1_000 + t * 100_000;
                        for cycle in 0.. {
                            for i in 0..junk {
                                for j in 0..INCREMENTS_PER_JUNK {
                                    increment(i * INCREMENTS_PER_JUNK + j);
                                }
                                map.insert(base + i, i);
                            }
                            max_buckets = max_buckets.max(map.stats().buckets);
                            line.wait(3 * cycle);
                            for i in 0..junk {
                                for j in 0..INCREMENTS_PER_JUNK {
                                    increment(i * INCREMENTS_PER_JUNK + j);
                                }
                                assert!(
                                    map.remove(&(base + i)).is_some(),
                                    "junk {} lost",
                                    base + i
                                );
                            }
                            line.wait(3 * cycle + 1);
                            // Thread 0 decides for all: at least `cycles`,
                            // then on (bounded) until a shrink has completed.
                            if t == 0 {
                                let done = cycle + 1 >= cycles
                                    && (map.stats().shrinks > 0 || cycle + 1 >= 10 * cycles);
                                stop.store(done, SeqCst);
                            }
                            line.wait(3 * cycle + 2);
                            if stop.load(SeqCst) {
                                break;
                            }
                        }
                        assert!(
                            max_buckets > initial_buckets,
                            "{}: junk never grew the directory ({max_buckets} buckets)",
                            config.name
                        );
                        done
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        let stats = map.stats();
        let total: u64 = (0..KEYS).map(|k| map.get(&k).unwrap()).sum();
        assert_eq!(total, increments, "{}: lost increments", config.name);
        assert_eq!(stats.len, KEYS as usize);
        assert!(
            stats.shrinks > 0,
            "{}: no shrink completed while the increments ran: {stats:?}",
            config.name
        );
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
                            if !mine.is_empty() && rng.random_bool(0.5) {
                                let k = mine.swap_remove(rng.random_range(0..mine.len()));
                                assert_eq!(map.insert(k, k), None, "token {k} was duplicated");
                            } else {
                                let k = rng.random_range(0..TOKENS);
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

/// Replacing values races removing them. Each round one thread runs
/// `UPDATES` increments of a key while the other, released at the same
/// moment, removes it once a random number of them is visible. A remove returns the value the
/// updates had built when it took effect, so it must equal exactly the
/// number of updates that succeeded; once one update has failed (the key is
/// gone) no later one may succeed, and the key stays gone.
///
/// The rounds must actually interleave: the test counts the rounds whose
/// remove landed between two updates and fails if there are too few (the
/// race was not exercised).
#[test]
fn replace_racing_remove_never_resurrects() {
    const UPDATES: u64 = 32;
    const STOP: u64 = u64::MAX;
    with_each_config(|config| {
        let map = config.map::<u64, u64>();
        let min_rounds = scaled(2_000);
        let max_rounds = 20 * min_rounds;
        let want_interleaved = min_rounds / 10;
        // Each round: the main thread publishes the key, both meet at the
        // line (round 2r), race, and meet again (2r + 1) once the updater has
        // published how many of its updates succeeded.
        let line = StartLine::new(2);
        let key = AtomicU64::new(STOP);
        let applied = AtomicU64::new(0);
        let (mut interleaved, mut flat_out) = (0, 0);
        let mut round = 0;
        std::thread::scope(|s| {
            let (m, line_ref, key_ref, applied_ref) = (&map, &line, &key, &applied);
            s.spawn(move || {
                let _poison = line_ref.poison_on_panic();
                for r in 0.. {
                    line_ref.wait(2 * r);
                    let k = key_ref.load(SeqCst);
                    if k == STOP {
                        return;
                    }
                    let mut done = 0;
                    let mut failed = false;
                    for i in 0..UPDATES {
                        if r % 2 == 1 {
                            // Odd rounds let the remover in between updates
                            // even when both threads share one core (other
                            // tests run in parallel); even rounds run flat
                            // out, for the CAS-level race on two cores.
                            std::thread::yield_now();
                        }
                        if m.update(&k, |v| v + 1).is_some() {
                            assert!(
                                !failed,
                                "update {i} of key {k} succeeded after one failed: resurrected"
                            );
                            done += 1;
                        } else {
                            failed = true;
                        }
                    }
                    applied_ref.store(done, SeqCst);
                    line_ref.wait(2 * r + 1);
                }
            });
            let _poison = line.poison_on_panic();
            let mut rng = StdRng::seed_from_u64(7);
            while round < min_rounds || (interleaved < want_interleaved && round < max_rounds) {
                let k = round as u64 % 16;
                map.insert(k, 0);
                key.store(k, SeqCst);
                line.wait(2 * round);
                // Land the remove in the middle of the update run: wait
                // until a random number of updates is visible (the updater
                // gets there: nobody else removes the key), then remove.
                let target = rng.random_range(1..UPDATES);
                line.spin_until(|| map.get(&k).expect("present until removed") >= target);
                let removed = map.pin().remove(&k).copied();
                line.wait(2 * round + 1);
                let applied = applied.load(SeqCst);
                let removed = removed.expect("the key was present until removed");
                assert_eq!(
                    removed, applied,
                    "{}: remove took value {removed}, but {applied} updates succeeded",
                    config.name
                );
                assert_eq!(map.get(&k), None, "key {k} resurrected");
                if removed < UPDATES {
                    interleaved += 1;
                    flat_out += usize::from(round % 2 == 0);
                }
                round += 1;
            }
            key.store(STOP, SeqCst);
            line.wait(2 * round);
        });
        eprintln!(
            "{}: {interleaved} of {round} rounds interleaved ({flat_out} without yields)",
            config.name
        );
        assert!(
            interleaved >= want_interleaved,
            "{}: only {interleaved} of {round} rounds had the remove land between updates",
            config.name
        );
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
