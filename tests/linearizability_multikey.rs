//! Whole-map operations against a model (`tests/common/lincheck/multikey.rs`):
//! walks (`snapshot().iter()`, `pin().iter()`, the walk of `retain`),
//! `len()`, `is_empty()`, a walk's count, `retain` and `clear`, run by one
//! thread while others run single-key operations on keys they own. Each
//! round's outcome is checked against what the README's "Consistency
//! guarantees" allow: per key through the Wing–Gong search (a walk is a
//! read at some instant of it, `retain`/`clear` a removal at some instant),
//! counts against the bounds that search gives.
//!
//! First the checker itself: it accepts a `Mutex<BTreeMap>` (whose whole-map
//! operations are atomic, so stronger than promised) and rejects the same
//! map with one planted bug each (a walk that skips a present key or
//! yields one twice, a `len` that over- or under-counts, a `retain` that
//! miscounts or tests the predicate the wrong way round, a `clear` that
//! leaves a key). Then splitmap's two layers and `SplitCache`, in every
//! configuration of `tests/common::CONFIGS`.
//!
//! Size: `SPLITMAP_LINCHECK_MULTI_ROUNDS` rounds per set-up (default 60);
//! `.ci/lincheck.sh` runs more in release mode.

mod common;

use common::lincheck::{
    find_multi_violation, run_multi_rounds, Cache, GuardFree, MultiKeyMap, MultiWorkload, Pinned,
    SingleKeyMap,
};
use common::{with_each_config, TestHasher};
use splitmap::SplitCache;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Rounds per splitmap set-up in a plain `cargo test`.
const DEFAULT_ROUNDS: usize = 60;

fn rounds() -> usize {
    std::env::var("SPLITMAP_LINCHECK_MULTI_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| common::scaled(DEFAULT_ROUNDS))
}

// ---------------------------------------------------------------------------
// The checker on a lock-based map, correct and with planted bugs.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bug {
    None,
    /// Every third walk leaves out the smallest key present.
    WalkSkipsAKey,
    /// Every third walk yields its first key a second time.
    WalkYieldsTwice,
    /// `len()` reports two more than it holds.
    LenOverCounts,
    /// `len()` reports one less than it holds (when it holds any).
    LenUnderCounts,
    /// `retain` reports one more than it removed.
    RetainMiscounts,
    /// `retain` removes the entries its predicate keeps, and keeps the rest.
    RetainInverted,
    /// `clear` leaves the largest key.
    ClearLeavesAKey,
}

/// One lock around everything; whole-map operations see one instant.
struct LockedMap {
    map: Mutex<BTreeMap<usize, u64>>,
    bug: Bug,
    walks: AtomicUsize,
}

impl LockedMap {
    fn new(bug: Bug) -> Self {
        LockedMap {
            map: Mutex::default(),
            bug,
            walks: AtomicUsize::new(0),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<usize, u64>) -> R) -> R {
        f(&mut self.map.lock().unwrap())
    }
}

impl SingleKeyMap for LockedMap {
    fn get(&self, key: usize) -> Option<u64> {
        self.with(|m| m.get(&key).copied())
    }
    fn insert(&self, key: usize, value: u64) -> Option<u64> {
        self.with(|m| m.insert(key, value))
    }
    fn remove(&self, key: usize) -> Option<u64> {
        self.with(|m| m.remove(&key))
    }
    fn update(&self, key: usize, delta: u64) -> Option<u64> {
        self.with(|m| {
            m.get_mut(&key).map(|v| {
                *v += delta;
                *v
            })
        })
    }
    fn compute(&self, key: usize, init: u64, delta: u64) -> Option<u64> {
        self.with(|m| {
            let v = m.get(&key).map_or(init, |x| x + delta);
            m.insert(key, v);
            Some(v)
        })
    }
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64 {
        self.with(|m| *m.entry(key).or_insert(value))
    }
}

impl MultiKeyMap for LockedMap {
    const WALKS: usize = 1;
    fn walk(&self, _flavour: usize) -> Vec<(usize, u64)> {
        let mut pairs: Vec<(usize, u64)> = self.with(|m| m.iter().map(|(&k, &v)| (k, v)).collect());
        let third = self.walks.fetch_add(1, Ordering::Relaxed) % 3 == 2;
        match self.bug {
            Bug::WalkSkipsAKey if third && !pairs.is_empty() => {
                pairs.remove(0);
            }
            Bug::WalkYieldsTwice if third && !pairs.is_empty() => pairs.push(pairs[0]),
            _ => {}
        }
        pairs
    }
    fn len(&self) -> usize {
        let n = self.with(|m| m.len());
        match self.bug {
            Bug::LenOverCounts => n + 2,
            Bug::LenUnderCounts => n.saturating_sub(1),
            _ => n,
        }
    }
    fn is_empty(&self) -> bool {
        self.with(|m| m.is_empty())
    }
    fn retain(&self, modulus: u64, rem: u64) -> usize {
        let inverted = self.bug == Bug::RetainInverted;
        let removed = self.with(|m| {
            let before = m.len();
            m.retain(|_, &mut v| (v % modulus != rem) != inverted);
            before - m.len()
        });
        removed + usize::from(self.bug == Bug::RetainMiscounts)
    }
    fn clear(&self) {
        self.with(|m| {
            let last = m.iter().next_back().map(|(&k, &v)| (k, v));
            m.clear();
            if let (Bug::ClearLeavesAKey, Some((k, v))) = (self.bug, last) {
                m.insert(k, v);
            }
        });
    }
}

#[test]
fn correct_locked_map_passes() {
    run_multi_rounds("Mutex<BTreeMap>", &MultiWorkload::default(), 40, || {
        LockedMap::new(Bug::None)
    });
}

/// The checker must reject `bug` within `rounds`, with a message naming
/// one of `expect`.
fn planted_bug_is_caught(bug: Bug, w: &MultiWorkload, expect: &[&str]) {
    let rounds = 100;
    let failure = find_multi_violation(&format!("{bug:?}"), w, rounds, || LockedMap::new(bug))
        .unwrap_or_else(|| panic!("the checker missed {bug:?} in {rounds} rounds"));
    let text = failure.to_string();
    eprintln!(
        "expected: the checker rejects {bug:?} (round {}).\n{text}",
        failure.round
    );
    assert!(
        expect.iter().any(|e| text.contains(e)),
        "{bug:?}: message names none of {expect:?}:\n{text}"
    );
}

/// Mostly walks / counts / the one operation the bug is in.
fn focus(whole_weights: [u32; 6]) -> MultiWorkload {
    MultiWorkload {
        whole_weights,
        ..MultiWorkload::default()
    }
}

#[test]
fn walk_skipping_a_present_key_is_caught() {
    planted_bug_is_caught(
        Bug::WalkSkipsAKey,
        &focus([1, 0, 0, 0, 0, 0]),
        &["walk (absent = not yielded)"],
    );
}

#[test]
fn walk_yielding_a_key_twice_is_caught() {
    planted_bug_is_caught(Bug::WalkYieldsTwice, &focus([1, 0, 0, 0, 0, 0]), &["twice"]);
}

#[test]
fn len_over_counting_is_caught() {
    planted_bug_is_caught(Bug::LenOverCounts, &focus([0, 0, 1, 0, 0, 0]), &["len()"]);
}

#[test]
fn len_under_counting_is_caught() {
    planted_bug_is_caught(Bug::LenUnderCounts, &focus([0, 0, 1, 0, 0, 0]), &["len()"]);
}

#[test]
fn retain_miscounting_is_caught() {
    planted_bug_is_caught(
        Bug::RetainMiscounts,
        &focus([0, 0, 0, 0, 1, 0]),
        &["must have been removed"],
    );
}

#[test]
fn retain_testing_the_predicate_backwards_is_caught() {
    planted_bug_is_caught(
        Bug::RetainInverted,
        &focus([0, 0, 0, 0, 1, 0]),
        &["retain passes it", "must have been removed"],
    );
}

#[test]
fn clear_leaving_a_key_is_caught() {
    planted_bug_is_caught(
        Bug::ClearLeavesAKey,
        &focus([0, 0, 0, 0, 0, 1]),
        &["clear passes it"],
    );
}

// ---------------------------------------------------------------------------
// The runs on splitmap.

#[test]
fn splitmap_whole_map_operations_keep_their_guarantees() {
    with_each_config(|config| {
        run_multi_rounds(
            &format!("SplitMap {}, guard-free", config.name),
            &MultiWorkload::default(),
            rounds(),
            || GuardFree(config.map()),
        );
        run_multi_rounds(
            &format!("SplitMap {}, pinned", config.name),
            &MultiWorkload::default(),
            rounds(),
            || Pinned(config.map()),
        );
    });
}

#[test]
fn split_cache_whole_map_operations_keep_their_guarantees() {
    with_each_config(|config| {
        run_multi_rounds(
            &format!("SplitCache {}", config.name),
            &MultiWorkload {
                // No update or compute in a cache.
                single_weights: [10, 40, 35, 0, 0, 15],
                ..MultiWorkload::default()
            },
            rounds(),
            || {
                Cache(
                    SplitCache::builder()
                        .layout(config.min_log2, config.load_factor)
                        .build_with_hasher(TestHasher(config.mode)),
                )
            },
        );
    });
}
