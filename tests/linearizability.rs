//! Linearizability on real threads: recorded concurrent histories of
//! single-key operations, checked per key against a sequential model
//! (`tests/common/lincheck/`).
//!
//! This file owns three things:
//! - the checker's own tests, which it must pass before its verdict on
//!   splitmap means anything: hand-built histories with known answers, both
//!   ways, and `Mutex<HashMap>` maps with planted bugs (a lost insert, a
//!   stale read from a per-thread cache, an update that reads and writes
//!   under two lock acquisitions) that it must reject, next to the correct
//!   `Mutex<HashMap>` that it must accept;
//! - one small adapter per map flavour (`SingleKeyMap`: owned `Option<u64>`
//!   results): the two weak-key maps keyed by `Arc`s kept alive for the
//!   round (splitmap's two layers and `SplitCache` are in
//!   `common/lincheck/adapters.rs`);
//! - the runs on splitmap: the default map, every layout and hasher of
//!   `tests/common::CONFIGS` (tiny directories that grow and shrink all the
//!   time, four distinct hashes, equal split-order keys), both layers, both
//!   weak maps, and `SplitCache` with no expiry and with a TTL, TTI and
//!   bound that never fire.
//!
//! Size: `SPLITMAP_LINCHECK_ROUNDS` rounds per set-up (default a few
//! seconds in all); `.ci/lincheck.sh` runs many more in release mode.

mod common;

use common::lincheck::{
    check_history, check_key, find_violation, rounds_from_env, run_rounds, Cache, Event, GuardFree,
    Op, Pinned, SingleKeyMap, Workload, LONG_TTL,
};
use common::{with_each_config, Config, TestHasher, CONFIGS};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use splitmap::{SplitCache, SplitMap, WeakIdentityMap, WeakKeyMap};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

/// Rounds per splitmap set-up in a plain `cargo test`.
const DEFAULT_ROUNDS: usize = 200;

// ---------------------------------------------------------------------------
// The checker on hand-built histories.

fn ev(thread: usize, op: Op, ret: Option<u64>, invoke: u64, response: u64) -> Event {
    Event::new(thread, op, ret, invoke, response)
}

fn linearizable(events: &[Event]) -> bool {
    check_key(events).is_ok()
}

#[test]
fn sequential_history_of_every_op_is_linearizable() {
    let h = [
        ev(0, Op::Get, None, 0, 1),
        ev(0, Op::Insert(10), None, 2, 3),
        ev(0, Op::Update(2), Some(12), 4, 5),
        ev(0, Op::Compute { init: 7, delta: 1 }, Some(13), 6, 7),
        ev(0, Op::GetOrInsertWith(99), Some(13), 8, 9),
        ev(0, Op::Remove, Some(13), 10, 11),
        ev(0, Op::Update(2), None, 12, 13),
        ev(0, Op::Compute { init: 7, delta: 1 }, Some(7), 14, 15),
        ev(0, Op::Insert(20), Some(7), 16, 17),
        ev(0, Op::Remove, Some(20), 18, 19),
        ev(0, Op::GetOrInsertWith(30), Some(30), 20, 21),
        ev(0, Op::Get, Some(30), 22, 23),
    ];
    assert!(linearizable(&h));
    // Each result changed by one makes it fail.
    for i in 0..h.len() {
        let mut bad = h;
        bad[i].ret = match bad[i].ret {
            None => Some(1),
            Some(v) => Some(v + 1),
        };
        assert!(!linearizable(&bad), "changed result {i} still passed");
    }
}

#[test]
fn read_overlapping_a_write_may_see_either() {
    for seen in [None, Some(1)] {
        let h = [
            ev(0, Op::Insert(1), None, 0, 10),
            ev(1, Op::Get, seen, 1, 2),
        ];
        assert!(linearizable(&h), "get -> {seen:?}");
    }
    // But not a value nobody wrote.
    let h = [
        ev(0, Op::Insert(1), None, 0, 10),
        ev(1, Op::Get, Some(2), 1, 2),
    ];
    assert!(!linearizable(&h));
}

#[test]
fn lost_insert_is_rejected() {
    let h = [ev(0, Op::Insert(1), None, 0, 1), ev(1, Op::Get, None, 2, 3)];
    let v = check_key(&h).unwrap_err();
    assert_eq!(v.cut, 3, "the get is where it becomes impossible");
    // The insert finished before the get began: the excerpt is the get
    // alone, after "the key held 1".
    assert_eq!(v.excerpt, [h[1]]);
    assert_eq!(v.before, [Some(1)]);
}

#[test]
fn stale_read_is_rejected_only_after_the_overwrite_finished() {
    let stale = [
        ev(0, Op::Insert(1), None, 0, 1),
        ev(1, Op::Insert(2), Some(1), 2, 3),
        ev(0, Op::Get, Some(1), 4, 5),
    ];
    assert!(!linearizable(&stale));
    let overlapping = [
        ev(0, Op::Insert(1), None, 0, 1),
        ev(1, Op::Insert(2), Some(1), 2, 5),
        ev(0, Op::Get, Some(1), 3, 4),
    ];
    assert!(linearizable(&overlapping));
}

#[test]
fn real_time_order_is_respected() {
    // A remove cannot see a value whose insert started after it ended...
    let h = [
        ev(0, Op::Remove, Some(1), 0, 1),
        ev(1, Op::Insert(1), None, 2, 3),
    ];
    assert!(!linearizable(&h));
    // ...but can if they overlap.
    let h = [
        ev(0, Op::Remove, Some(1), 0, 3),
        ev(1, Op::Insert(1), None, 1, 2),
    ];
    assert!(linearizable(&h));
}

#[test]
fn concurrent_writers_must_see_each_other() {
    // Two overlapping inserts cannot both have replaced nothing.
    let h = [
        ev(0, Op::Insert(1), None, 0, 3),
        ev(1, Op::Insert(2), None, 1, 4),
    ];
    assert!(!linearizable(&h));
    // Two overlapping updates cannot both have started from 10.
    let lost = [
        ev(0, Op::Insert(10), None, 0, 1),
        ev(0, Op::Update(1), Some(11), 2, 5),
        ev(1, Op::Update(1), Some(11), 3, 6),
    ];
    assert!(!linearizable(&lost));
    let kept = [
        ev(0, Op::Insert(10), None, 0, 1),
        ev(0, Op::Update(1), Some(12), 2, 5),
        ev(1, Op::Update(1), Some(11), 3, 6),
    ];
    assert!(linearizable(&kept));
    // get_or_insert_with: one winner.
    let h = [
        ev(0, Op::GetOrInsertWith(1), Some(1), 0, 3),
        ev(1, Op::GetOrInsertWith(2), Some(2), 1, 4),
    ];
    assert!(!linearizable(&h));
    let h = [
        ev(0, Op::GetOrInsertWith(1), Some(1), 0, 3),
        ev(1, Op::GetOrInsertWith(2), Some(1), 1, 4),
    ];
    assert!(linearizable(&h));
}

#[test]
fn search_backtracks_past_the_invocation_order() {
    // Only "insert 2, then insert 1" explains the results, the opposite of
    // the order the two started in.
    let h = [
        ev(0, Op::Insert(1), Some(2), 0, 10),
        ev(1, Op::Insert(2), None, 1, 11),
        ev(2, Op::Get, Some(1), 12, 13),
    ];
    assert!(linearizable(&h));
    // The insert fits first, but placing it first is a dead end for the
    // slow get that saw the key absent: the search must undo it.
    let h = [
        ev(0, Op::Insert(1), None, 0, 10),
        ev(1, Op::Get, None, 1, 20),
        ev(2, Op::Get, Some(1), 12, 13),
    ];
    assert!(linearizable(&h));
    // With four overlapping writers the right order is the 24th tried.
    let h = [
        ev(0, Op::Insert(1), Some(2), 0, 20),
        ev(1, Op::Insert(2), Some(3), 1, 21),
        ev(2, Op::Insert(3), Some(4), 2, 22),
        ev(3, Op::Insert(4), None, 3, 23),
        ev(0, Op::Get, Some(1), 24, 25),
    ];
    assert!(linearizable(&h));
}

#[test]
fn keys_are_checked_separately() {
    let mut good = ev(0, Op::Insert(1), None, 0, 1);
    good.key = 0;
    // On another key, the same read of "absent" is fine...
    let mut other = ev(1, Op::Get, None, 2, 3);
    other.key = 1;
    assert!(check_history(&[good, other]).is_ok());
    // ...and on the same key it is a lost insert, reported for that key.
    let mut bad = ev(1, Op::Get, None, 4, 5);
    bad.key = 2;
    let mut write = ev(0, Op::Insert(5), None, 2, 3);
    write.key = 2;
    let v = check_history(&[good, other, write, bad]).unwrap_err();
    assert_eq!(v.key, 2);
}

#[test]
fn excerpt_is_short_and_says_what_came_before() {
    // A long correct stretch, then a stale read.
    let mut h = Vec::new();
    let mut t = 0;
    for i in 0..100u64 {
        h.push(ev(0, Op::Insert(i + 1), (i > 0).then_some(i), t, t + 1));
        h.push(ev(1, Op::Get, Some(i + 1), t + 2, t + 3));
        t += 4;
    }
    h.push(ev(1, Op::Insert(500), Some(100), t, t + 1));
    h.push(ev(0, Op::Get, Some(100), t + 2, t + 3));
    let v = check_key(&h).unwrap_err();
    let text = v.to_string();
    eprintln!("{text}");
    assert_eq!(v.excerpt.len(), 1, "only the stale get is needed");
    assert_eq!(v.earlier, h.len() - 1);
    assert_eq!(v.before, vec![Some(500)]);
    assert!(text.contains("get") && text.contains("-> 100"), "{text}");
    assert!(text.contains("can only have left the key 500"), "{text}");
}

#[test]
fn excerpt_keeps_overlapping_operations_as_pending() {
    // The failing point is the second get; the long insert still running
    // then is shown as not counted.
    let h = [
        ev(0, Op::Insert(1), None, 0, 1),
        ev(1, Op::Insert(2), Some(1), 2, 3),
        ev(2, Op::Insert(3), Some(2), 4, 100),
        ev(0, Op::Get, Some(1), 5, 6),
    ];
    let v = check_key(&h).unwrap_err();
    let text = v.to_string();
    eprintln!("{text}");
    assert_eq!(v.cut, 6);
    assert!(text.contains("still running then"), "{text}");
}

/// Random histories that are linearizable by construction: a sequential run
/// of the model (small values, so many are equal), each operation then
/// widened into an interval around its linearization point, every thread's
/// intervals kept disjoint. All must pass; one result changed to a value
/// nobody wrote must fail.
#[test]
fn generated_linearizable_histories_are_accepted() {
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..300 {
        let threads = rng.random_range(1..=6);
        let mut free = vec![0u64; threads];
        let mut slot = None;
        let mut h = Vec::new();
        for i in 0..rng.random_range(1..=150u64) {
            let at = 100 + 10 * i;
            let idle: Vec<usize> = (0..threads).filter(|&t| free[t] < at).collect();
            let Some(&thread) = idle.get(rng.random_range(0..idle.len().max(1))) else {
                continue;
            };
            let op = match rng.random_range(0..6) {
                0 => Op::Get,
                1 => Op::Insert(rng.random_range(1..=5)),
                2 => Op::Remove,
                3 => Op::Update(rng.random_range(1..=2)),
                4 => Op::Compute {
                    init: rng.random_range(1..=5),
                    delta: 1,
                },
                _ => Op::GetOrInsertWith(rng.random_range(1..=5)),
            };
            let (next, ret) = op.step(slot);
            slot = next;
            let invoke = rng.random_range(free[thread].max(at - 50)..at);
            let response = at + rng.random_range(1..=50);
            free[thread] = response;
            h.push(ev(thread, op, ret, invoke, response));
        }
        if let Err(v) = check_key(&h) {
            panic!("round {round}: a linearizable history was rejected:\n{v}");
        }
        let i = rng.random_range(0..h.len());
        h[i].ret = Some(999);
        assert!(!linearizable(&h), "round {round}: 999 was never written");
    }
}

// ---------------------------------------------------------------------------
// The checker on maps with planted bugs, and on a correct one.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bug {
    /// None: one lock around every operation.
    None,
    /// One insert in `LOSE_EVERY` reports the old value and stores nothing.
    LosesInserts,
    /// `get` answers from the calling thread's memory of the key now and
    /// then, instead of from the map.
    StaleReads,
    /// `update`/`compute` read under one lock acquisition and write under
    /// another, so concurrent increments can overwrite each other.
    RacyUpdates,
}

const LOSE_EVERY: usize = 16;
const STALE_EVERY: usize = 4;

/// `Mutex<HashMap>`, correct or with one planted bug.
struct MutexMap {
    map: Mutex<HashMap<usize, u64>>,
    bug: Bug,
    calls: AtomicUsize,
    /// `StaleReads`: what each thread last saw of each key.
    memory: Mutex<HashMap<(ThreadId, usize), Option<u64>>>,
}

impl MutexMap {
    fn new(bug: Bug) -> Self {
        MutexMap {
            map: Mutex::default(),
            bug,
            calls: AtomicUsize::new(0),
            memory: Mutex::default(),
        }
    }

    /// Every `n`-th call to a buggy path.
    fn nth(&self, n: usize) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed) % n == n - 1
    }

    fn remember(&self, key: usize, now: Option<u64>) -> Option<u64> {
        if self.bug == Bug::StaleReads {
            let id = std::thread::current().id();
            self.memory.lock().unwrap().insert((id, key), now);
        }
        now
    }

    /// Runs `f` on the slot under the lock; returns `f`'s result.
    fn with<R>(&self, key: usize, f: impl FnOnce(&mut Option<u64>) -> R) -> R {
        let mut map = self.map.lock().unwrap();
        let mut slot = map.get(&key).copied();
        let r = f(&mut slot);
        match slot {
            Some(v) => map.insert(key, v),
            None => map.remove(&key),
        };
        self.remember(key, slot);
        r
    }

    /// `update`/`compute` as a read-then-write: atomic unless `RacyUpdates`.
    fn read_modify_write(&self, key: usize, f: impl Fn(Option<u64>) -> Option<u64>) -> Option<u64> {
        if self.bug != Bug::RacyUpdates {
            return self.with(key, |slot| {
                let new = f(*slot);
                if new.is_some() {
                    *slot = new;
                }
                new
            });
        }
        let old = self.map.lock().unwrap().get(&key).copied();
        std::thread::yield_now(); // widen the window
        let new = f(old);
        if let Some(v) = new {
            self.map.lock().unwrap().insert(key, v);
        }
        new
    }
}

impl SingleKeyMap for MutexMap {
    fn get(&self, key: usize) -> Option<u64> {
        if self.bug == Bug::StaleReads && self.nth(STALE_EVERY) {
            let id = std::thread::current().id();
            if let Some(&old) = self.memory.lock().unwrap().get(&(id, key)) {
                return old;
            }
        }
        self.with(key, |slot| *slot)
    }
    fn insert(&self, key: usize, value: u64) -> Option<u64> {
        let lose = self.bug == Bug::LosesInserts && self.nth(LOSE_EVERY);
        self.with(key, |slot| {
            let old = *slot;
            if !lose {
                *slot = Some(value);
            }
            old
        })
    }
    fn remove(&self, key: usize) -> Option<u64> {
        self.with(key, |slot| slot.take())
    }
    fn update(&self, key: usize, delta: u64) -> Option<u64> {
        self.read_modify_write(key, |old| old.map(|x| x + delta))
    }
    fn compute(&self, key: usize, init: u64, delta: u64) -> Option<u64> {
        self.read_modify_write(key, |old| Some(old.map_or(init, |x| x + delta)))
    }
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64 {
        self.with(key, |slot| *slot.get_or_insert(value))
    }
    fn contains_key(&self, key: usize) -> bool {
        self.get(key).is_some()
    }
}

#[test]
fn correct_mutex_map_is_linearizable() {
    run_rounds(
        "Mutex<HashMap>",
        &Workload::default(),
        rounds_from_env(DEFAULT_ROUNDS),
        |_| MutexMap::new(Bug::None),
    );
}

/// Runs `bug` until the checker rejects it (it must, within `rounds`).
fn planted_bug_is_caught(bug: Bug, w: &Workload, rounds: usize) {
    let failure = find_violation(&format!("{bug:?}"), w, rounds, |_| MutexMap::new(bug))
        .unwrap_or_else(|| panic!("the checker missed {bug:?} in {rounds} rounds"));
    eprintln!("expected: the checker rejects the planted bug {bug:?}.\n{failure}");
    let v = &failure.violation;
    assert!(!v.excerpt.is_empty() && v.excerpt.len() <= v.ops_on_key);
}

#[test]
fn lost_insert_is_caught() {
    planted_bug_is_caught(Bug::LosesInserts, &Workload::default(), 200);
}

#[test]
fn stale_read_is_caught() {
    planted_bug_is_caught(Bug::StaleReads, &Workload::default(), 200);
}

#[test]
fn racy_update_is_caught() {
    // Mostly increments of one or two keys: the race needs two at once.
    let w = Workload {
        max_keys: 2,
        weights: [10, 10, 5, 40, 40, 5, 0],
        ..Workload::default()
    };
    planted_bug_is_caught(Bug::RacyUpdates, &w, 200);
}

// ---------------------------------------------------------------------------
// Adapters: splitmap's flavours with owned results.

/// `WeakKeyMap` (pinned layer), looked up by `&u64`. Each key has two equal
/// `Arc`s, kept alive for the round; inserts alternate between them, so the
/// stored key is replaced too.
struct WeakByValue<S> {
    map: WeakKeyMap<u64, u64, S>,
    keys: Vec<[Arc<u64>; 2]>,
}

impl<S: BuildHasher + Sync> SingleKeyMap for WeakByValue<S> {
    fn get(&self, key: usize) -> Option<u64> {
        self.map.pin().get(&(key as u64)).copied()
    }
    fn insert(&self, key: usize, value: u64) -> Option<u64> {
        let k = Arc::clone(&self.keys[key][value.count_ones() as usize % 2]);
        self.map.pin().insert(k, value).copied()
    }
    fn remove(&self, key: usize) -> Option<u64> {
        self.map.pin().remove(&(key as u64)).copied()
    }
    fn update(&self, key: usize, delta: u64) -> Option<u64> {
        self.map.pin().update(&(key as u64), |v| v + delta).copied()
    }
    fn compute(&self, key: usize, init: u64, delta: u64) -> Option<u64> {
        let k = Arc::clone(&self.keys[key][init.count_ones() as usize % 2]);
        self.map
            .pin()
            .compute(k, |v| Some(v.map_or(init, |x| x + delta)))
            .copied()
    }
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64 {
        let k = Arc::clone(&self.keys[key][value.count_ones() as usize % 2]);
        *self.map.pin().get_or_insert_with(k, || value)
    }
    fn contains_key(&self, key: usize) -> bool {
        self.map.pin().contains_key(&(key as u64))
    }
}

/// `WeakIdentityMap` (pinned layer), keyed by one `Arc` per key, kept alive
/// for the round.
struct WeakByIdentity<S> {
    map: WeakIdentityMap<u64, u64, S>,
    keys: Vec<Arc<u64>>,
}

impl<S: BuildHasher + Sync> SingleKeyMap for WeakByIdentity<S> {
    fn get(&self, key: usize) -> Option<u64> {
        self.map.pin().get(&self.keys[key]).copied()
    }
    fn insert(&self, key: usize, value: u64) -> Option<u64> {
        self.map
            .pin()
            .insert(Arc::clone(&self.keys[key]), value)
            .copied()
    }
    fn remove(&self, key: usize) -> Option<u64> {
        self.map.pin().remove(&self.keys[key]).copied()
    }
    fn update(&self, key: usize, delta: u64) -> Option<u64> {
        self.map
            .pin()
            .update(&self.keys[key], |v| v + delta)
            .copied()
    }
    fn compute(&self, key: usize, init: u64, delta: u64) -> Option<u64> {
        self.map
            .pin()
            .compute(Arc::clone(&self.keys[key]), |v| {
                Some(v.map_or(init, |x| x + delta))
            })
            .copied()
    }
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64 {
        *self
            .map
            .pin()
            .get_or_insert_with(Arc::clone(&self.keys[key]), || value)
    }
    fn contains_key(&self, key: usize) -> bool {
        self.map.pin().contains_key(&self.keys[key])
    }
}

// ---------------------------------------------------------------------------
// The runs on splitmap.

fn rounds() -> usize {
    rounds_from_env(DEFAULT_ROUNDS)
}

#[test]
fn splitmap_default_is_linearizable() {
    run_rounds(
        "SplitMap::new, pinned",
        &Workload::default(),
        rounds(),
        |_| Pinned(SplitMap::new()),
    );
    run_rounds(
        "SplitMap::new, guard-free",
        &Workload::default(),
        rounds(),
        |_| GuardFree(SplitMap::new()),
    );
    run_rounds(
        "SplitMap::new, pinned, four threads",
        &Workload::four_threads(),
        rounds(),
        |_| Pinned(SplitMap::new()),
    );
}

#[test]
fn splitmap_pinned_is_linearizable_in_every_config() {
    with_each_config(|config| {
        run_rounds(
            &format!("SplitMap {}, pinned", config.name),
            &Workload::default(),
            rounds(),
            |_| Pinned(config.map()),
        );
    });
}

#[test]
fn splitmap_guard_free_is_linearizable_in_every_config() {
    with_each_config(|config| {
        run_rounds(
            &format!("SplitMap {}, guard-free", config.name),
            &Workload::default(),
            rounds(),
            |_| GuardFree(config.map()),
        );
    });
}

/// The tiny layout with many keys and mostly inserts and removes: the
/// directory grows and shrinks within every round.
#[test]
fn splitmap_growing_and_shrinking_is_linearizable() {
    let tiny: &Config = CONFIGS.iter().find(|c| c.name == "tiny").unwrap();
    let w = Workload {
        max_keys: 16,
        ops_per_key: 60,
        weights: [15, 35, 35, 5, 5, 5, 0],
        ..Workload::four_threads()
    };
    run_rounds("SplitMap tiny, churn", &w, rounds(), |_| Pinned(tiny.map()));
}

#[test]
fn weak_key_map_is_linearizable_in_every_config() {
    with_each_config(|config| {
        run_rounds(
            &format!("WeakKeyMap {}", config.name),
            &Workload::default(),
            rounds(),
            |keys| WeakByValue {
                map: WeakKeyMap::with_layout(
                    config.min_log2,
                    config.load_factor,
                    TestHasher(config.mode),
                ),
                keys: (0..keys as u64)
                    .map(|k| [Arc::new(k), Arc::new(k)])
                    .collect(),
            },
        );
    });
}

#[test]
fn weak_identity_map_is_linearizable_in_every_config() {
    with_each_config(|config| {
        run_rounds(
            &format!("WeakIdentityMap {}", config.name),
            &Workload::default(),
            rounds(),
            |keys| WeakByIdentity {
                map: WeakIdentityMap::with_layout(
                    config.min_log2,
                    config.load_factor,
                    TestHasher(config.mode),
                ),
                keys: (0..keys as u64).map(Arc::new).collect(),
            },
        );
    });
}

/// The cache's single-key operations: no update or compute, plus
/// `contains_key`.
const CACHE_WEIGHTS: [u32; 7] = [25, 20, 20, 0, 0, 15, 10];

/// `SplitCache` with no expiry and no bound, and with a time to live, a
/// time to idle (so reads refresh an access word) and a size bound that
/// never fire: a map, for the linearizable core (README: every single-key
/// operation is linearizable; expiry and eviction only add removals).
#[test]
fn split_cache_is_linearizable_in_every_config() {
    let w = Workload {
        weights: CACHE_WEIGHTS,
        ..Workload::default()
    };
    with_each_config(|config| {
        let layout = |b: splitmap::cache::CacheBuilder<u64, u64>| {
            b.layout(config.min_log2, config.load_factor)
                .build_with_hasher(TestHasher(config.mode))
        };
        run_rounds(
            &format!("SplitCache {}, no expiry", config.name),
            &w,
            rounds(),
            |_| Cache(layout(SplitCache::builder())),
        );
        run_rounds(
            &format!(
                "SplitCache {}, TTL, TTI and bound never reached",
                config.name
            ),
            &w,
            rounds() / 2,
            |_| {
                Cache(layout(
                    SplitCache::builder()
                        .time_to_live(LONG_TTL)
                        .time_to_idle(LONG_TTL)
                        .max_capacity(1 << 20),
                ))
            },
        );
    });
}
