//! Differential tests: long seeded random sequences of every operation,
//! applied to a `SplitMap` and to std `HashMap`, compared after every op
//! and by a full snapshot sweep now and then, under every configuration.

mod common;

use common::{scaled, with_each_config, Config, HashMode, TestHasher};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use splitmap::SplitMap;
use std::collections::HashMap;

fn sorted_contents(map: &SplitMap<u64, u64, TestHasher>) -> Vec<(u64, u64)> {
    let snapshot = map.snapshot();
    let mut v: Vec<_> = snapshot.iter().map(|(k, v)| (*k, *v)).collect();
    let before = v.len();
    v.sort_unstable();
    v.dedup_by_key(|e| e.0);
    assert_eq!(before, v.len(), "snapshot yielded a key twice");
    v
}

fn model_contents(model: &HashMap<u64, u64>) -> Vec<(u64, u64)> {
    let mut v: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
    v.sort_unstable();
    v
}

/// Runs `ops` random operations over keys `0..key_space`.
fn run(config: &Config, seed: u64, ops: usize, key_space: u64) {
    let map: SplitMap<u64, u64, TestHasher> = config.map();
    let mut model: HashMap<u64, u64> = HashMap::new();
    let mut rng = StdRng::seed_from_u64(seed);
    for step in 0..ops {
        let k = rng.random_range(0..key_space);
        let v: u64 = rng.random_range(0..1_000_000);
        let op = rng.random_range(0..100);
        match op {
            0..=24 => assert_eq!(
                map.insert(k, v).as_deref(),
                model.insert(k, v).as_ref(),
                "insert {k} at {step}"
            ),
            25..=39 => assert_eq!(
                map.remove(&k).as_deref(),
                model.remove(&k).as_ref(),
                "remove {k} at {step}"
            ),
            40..=44 => assert_eq!(
                map.remove_entry(&k),
                model.remove_entry(&k),
                "remove_entry {k} at {step}"
            ),
            45..=59 => assert_eq!(map.get(&k), model.get(&k).copied(), "get {k} at {step}"),
            60..=62 => assert_eq!(map.get_with(&k, |x| x + 1), model.get(&k).map(|x| x + 1)),
            63..=64 => assert_eq!(
                map.get_key_value(&k),
                model.get_key_value(&k).map(|(a, b)| (*a, *b))
            ),
            65..=67 => assert_eq!(map.contains_key(&k), model.contains_key(&k)),
            68..=73 => {
                let expected = model.get_mut(&k).map(|x| {
                    *x = x.wrapping_mul(3).wrapping_add(1);
                    *x
                });
                assert_eq!(
                    map.update(&k, |x| x.wrapping_mul(3).wrapping_add(1))
                        .as_deref(),
                    expected.as_ref()
                );
            }
            74..=78 => {
                let expected = *model.entry(k).or_insert(v);
                assert_eq!(*map.get_or_insert_with(k, || v), expected);
            }
            79..=84 => {
                // compute: increment, insert 1 if absent, remove at a multiple of 5.
                let f = |cur: Option<&u64>| match cur {
                    Some(x) if x % 5 == 4 => None,
                    Some(x) => Some(x + 1),
                    None => Some(1),
                };
                let expected = f(model.get(&k));
                match expected {
                    Some(n) => model.insert(k, n),
                    None => model.remove(&k),
                };
                assert_eq!(
                    map.compute(k, f).as_deref(),
                    expected.as_ref(),
                    "compute {k} at {step}"
                );
            }
            85..=89 => {
                // The pinned layer.
                let m = map.pin();
                match rng.random_range(0..4) {
                    0 => assert_eq!(m.insert(k, v).copied(), model.insert(k, v)),
                    1 => assert_eq!(m.remove(&k).copied(), model.remove(&k)),
                    2 => assert_eq!(m.get(&k), model.get(&k)),
                    _ => {
                        let expected = *model.entry(k).or_insert(v);
                        assert_eq!(*m.get_or_insert_with(k, || v), expected);
                    }
                }
            }
            90 => {
                let modulus = rng.random_range(2..5);
                let before = model.len();
                model.retain(|k, _| k % modulus != 0);
                assert_eq!(map.retain(|k, _| k % modulus != 0), before - model.len());
            }
            91 if rng.random_ratio(1, 20) => {
                map.clear();
                model.clear();
            }
            92 => map.compact(),
            93 if rng.random_ratio(1, 4) => map.shrink_to_fit(),
            94 => map.reserve(rng.random_range(0..64)),
            95 => {
                map.reclaim();
            }
            _ => {
                assert_eq!(
                    sorted_contents(&map),
                    model_contents(&model),
                    "sweep at {step}"
                );
            }
        }
        assert_eq!(map.len(), model.len(), "len after step {step} (op {op})");
        assert_eq!(map.is_empty(), model.is_empty());
    }
    assert_eq!(sorted_contents(&map), model_contents(&model), "final sweep");
    let stats = map.stats();
    assert_eq!(stats.len, model.len());
    assert_eq!(
        stats.inserts - stats.removes - stats.purged,
        model.len() as u64,
        "counters disagree: {stats:?}"
    );
    assert_eq!(
        stats.marked_linked, 0,
        "quiescent map keeps marked nodes linked: {stats:?}"
    );
    // The owning iterator yields exactly the model.
    let mut owned: Vec<_> = map.into_iter().collect();
    owned.sort_unstable();
    assert_eq!(owned, model_contents(&model));
}

#[test]
fn small_key_space_all_ops() {
    with_each_config(|config| {
        for seed in 0..4 {
            run(config, seed, scaled(20_000), 64);
        }
    });
}

#[test]
fn growing_key_space_all_ops() {
    with_each_config(|config| run(config, 99, scaled(60_000), 5_000));
}

#[test]
fn grow_to_many_then_delete_all_shrinks() {
    with_each_config(|config| {
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        // Four distinct hashes make every operation O(n): keep n small there.
        let n = scaled(if config.mode == HashMode::Few {
            3_000
        } else {
            50_000
        }) as u64;
        for i in 0..n {
            assert_eq!(map.insert(i, i), None);
        }
        let grown = map.stats();
        assert!(
            grown.buckets >= (n as usize) / 2 / config.load_factor.max(1),
            "{grown:?}"
        );
        for i in 0..n {
            assert_eq!(map.get(&i), Some(i));
        }
        for i in 0..n {
            assert_eq!(map.remove(&i).as_deref(), Some(&i), "remove {i}");
        }
        // shrink_to_fit never waits for other threads; parallel tests in this
        // process may hold the epoch for a while (a pinned thread descheduled
        // on a busy machine), so retry a bounded number of times.
        for _ in 0..100_000 {
            map.shrink_to_fit();
            map.reclaim();
            if !map.stats().shrink_pending && map.stats().buckets <= 4 {
                break;
            }
            std::thread::yield_now();
        }
        let shrunk = map.stats();
        assert_eq!(shrunk.len, 0);
        assert!(shrunk.buckets <= 4, "did not shrink: {shrunk:?}");
        assert!(shrunk.shrinks > 0);
        // Still fully usable after shrinking.
        for i in 0..1000 {
            map.insert(i, i * 2);
        }
        for i in 0..1000 {
            assert_eq!(map.get(&i), Some(i * 2));
        }
    });
}

/// A shrink waiting for its grace period must not stop growth: refill a
/// cleared map while this thread holds a snapshot (so the grace period
/// cannot end) and the directory still grows back (growth cancels the
/// pending shrink), instead of leaving 100k entries in a 4-bucket list.
#[test]
fn refill_after_clear_grows_while_epoch_is_held() {
    with_each_config(|config| {
        if config.mode == HashMode::Few {
            return; // four hashes: bucket count is irrelevant there
        }
        let map: SplitMap<u64, u64, TestHasher> = config.map();
        let n = scaled(100_000) as u64;
        for i in 0..n {
            map.insert(i, i);
        }
        let full = map.stats();
        let other: SplitMap<u64, u64> = SplitMap::new();
        let held = other.snapshot(); // pins this thread: no grace period ends
        map.clear();
        let after_clear = map.stats();
        for i in 0..n {
            map.insert(i, i + 1);
        }
        let refilled = map.stats();
        drop(held);
        assert!(
            after_clear.buckets < full.buckets,
            "clear started no shrink: {after_clear:?}"
        );
        assert!(
            refilled.buckets >= full.buckets,
            "directory did not grow back: full {full:?}, after clear {after_clear:?}, refilled {refilled:?}"
        );
        for i in (0..n).step_by(97) {
            assert_eq!(map.get(&i), Some(i + 1));
        }
    });
}

/// A shrink that drops many levels at once (here: `clear` while the epoch
/// is held, then `shrink_to_fit` from 2^17 buckets down to 4) unlinks each
/// stray sentinel by a search from its parent, so the whole shrink is linear
/// in the sentinels; it used to search from the surviving bucket, walking
/// past every stray not yet unlinked (quadratic: minutes at this size).
///
/// The bound is on work, not time: the list nodes this thread steps onto
/// (`splitmap::list_steps`, a test-only counter) while shrinking. Each
/// `shrink_to_fit` starts with a compaction walk over every linked node
/// (allowed: two steps per linked sentinel at the time of the call, however
/// many calls the grace periods take while other tests hold the epoch);
/// on top of that, unlinking the strays may cost a few steps each. The
/// loop checks the bound after every call, so a quadratic shrink fails
/// after one call instead of running on.
#[test]
fn many_level_shrink_after_clear_completes() {
    let map: SplitMap<u64, u64> = SplitMap::new();
    let n = scaled(300_000) as u64;
    for i in 0..n {
        map.insert(i, i);
    }
    {
        let other: SplitMap<u64, u64> = SplitMap::new();
        let _held = other.snapshot(); // no grace period ends meanwhile
        map.clear();
    }
    let before = map.stats();
    const STEPS_PER_STRAY: u64 = 4;
    let strays = before.initialized_buckets as u64;
    let mut walks = 0;
    let steps_before = list_steps();
    let mut calls = 0;
    for _ in 0..1000 {
        walks += 2 * map.stats().initialized_buckets as u64;
        map.shrink_to_fit();
        calls += 1;
        let steps = list_steps() - steps_before;
        let bound = walks + STEPS_PER_STRAY * strays;
        assert!(
            !STEPS_COUNTED || steps <= bound,
            "shrinking {strays} sentinels took {steps} list steps after {calls} \
             shrink_to_fit calls (bound {bound}: {walks} for their walks + \
             {STEPS_PER_STRAY} per sentinel): not linear"
        );
        if map.stats().buckets <= 4 && !map.stats().shrink_pending {
            break;
        }
    }
    let steps = list_steps() - steps_before;
    let after = map.stats();
    eprintln!(
        "many-level shrink: {before:?} -> {after:?}: {steps} list steps for {strays} \
         sentinels in {calls} calls ({walks} allowed for the walks)"
    );
    assert!(after.buckets <= 4 && !after.shrink_pending, "{after:?}");
    assert_eq!(
        after.initialized_buckets,
        after.buckets.min(after.initialized_buckets)
    );
}

/// `splitmap::list_steps()`, or 0 when the crate is built without the
/// test-only feature (the README's command, `--all-features`, has it).
fn list_steps() -> u64 {
    #[cfg(feature = "internal-test-hooks")]
    return splitmap::list_steps();
    #[cfg(not(feature = "internal-test-hooks"))]
    0
}

const STEPS_COUNTED: bool = cfg!(feature = "internal-test-hooks");

/// Issue 13 review finding: after a delete-all under a held pin, ordinary
/// operations must bring the map back in work linear in what it held. While
/// the many-level shrink is pending, every write starts at its surviving
/// bucket's sentinel and walks past the stray sentinels of the dropped
/// levels; the grace period waits behind the deferred frees of every
/// removed node. Writes that meet the shrink now help in proportion to the
/// walk they pay (collector steps during the grace period, several chunks
/// after it). Measured at 200k entries: 1,314 list steps per stray
/// sentinel before (17,761 insert+remove pairs, 3.3 s), 4.6 after (1,172
/// pairs, 0.2 s).
#[test]
fn recovery_after_delete_all_under_a_pin_is_linear() {
    const STEPS_PER_STRAY: u64 = 32;
    let n = scaled(200_000) as u64;
    let map: SplitMap<u64, u64> = SplitMap::new();
    for i in 0..n {
        map.insert(i, i);
    }
    let strays = map.stats().initialized_buckets as u64;
    let held = crossbeam_epoch::pin();
    for i in 0..n {
        map.remove(&i);
    }
    drop(held);
    let steps_before = list_steps();
    let mut pairs = 0u64;
    while (map.stats().buckets > 4 || map.stats().shrink_pending) && pairs < 10 * n {
        map.insert(n + pairs % 8, 0);
        map.remove(&(n + pairs % 8));
        pairs += 1;
    }
    let steps = list_steps() - steps_before;
    eprintln!("{strays} stray sentinels: {pairs} insert+remove pairs, {steps} list steps");
    assert!(map.stats().buckets <= 4, "{:?}", map.stats());
    assert!(
        !STEPS_COUNTED || steps <= STEPS_PER_STRAY * strays,
        "recovering from {strays} stray sentinels took {steps} list steps \
         ({:.0} per sentinel; bound {STEPS_PER_STRAY})",
        steps as f64 / strays as f64
    );
}
