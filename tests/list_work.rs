//! What the list's bookkeeping must get right although no operation's
//! result shows it: every lookup starts at its own bucket's sentinel (so it
//! walks a handful of nodes, not the whole list), and a shrink counts every
//! sentinel it unlinks (`stats().initialized_buckets`).
//!
//! Written for the cargo-mutants survivors in `src/raw/list.rs` (issue 17):
//! a `try_claim_sentinel` that never claims (no bucket sentinel is ever
//! linked: every operation walks from the head, results still right), a
//! `set_unlinked` that never reports the unlinking (the count of linked
//! sentinels only grows), and a `count_step` that counts nothing (the work
//! bounds of the other tests then pass vacuously). The bounds are on work
//! (`splitmap::list_steps`, a per-thread test-only counter), not time.
#![cfg(feature = "internal-test-hooks")]

mod common;

use splitmap::SplitMap;

const KEYS: u64 = 20_000;

fn filled() -> SplitMap<u64, u64> {
    let map = SplitMap::new();
    for k in 0..KEYS {
        map.insert(k, k);
    }
    map
}

/// 1,000 lookups in a map of 20,000 keys: each steps onto at least one
/// node (the counter counts), and all of them together onto at most 16
/// per lookup (each starts at its bucket's sentinel; the default load
/// factor keeps a bucket to a node or two). Starting from the head would
/// cost ~10,000 steps per lookup.
#[test]
fn lookups_start_at_their_own_bucket() {
    let map = filled();
    let s = map.stats();
    assert!(
        s.initialized_buckets >= s.buckets / 4,
        "{} of {} bucket sentinels linked after {KEYS} inserts",
        s.initialized_buckets,
        s.buckets
    );
    let lookups = 1_000u64;
    let before = splitmap::list_steps();
    for i in 0..lookups {
        let k = i * 7_919 % KEYS;
        assert_eq!(map.get(&k), Some(k));
    }
    let steps = splitmap::list_steps() - before;
    assert!(
        steps >= lookups,
        "{lookups} lookups counted {steps} list steps: the counter must count \
         every node a walk steps onto"
    );
    assert!(
        steps <= 16 * lookups,
        "{lookups} lookups took {steps} list steps in a map of {KEYS} keys: \
         lookups do not start at their own bucket"
    );
}

/// Grown to 20,000 keys, cleared and shrunk to the smallest directory:
/// every sentinel of the dropped levels was unlinked and counted, so at
/// most one per remaining bucket is still counted as linked.
#[test]
fn shrink_counts_every_sentinel_it_unlinks() {
    let map = filled();
    let grown = map.stats();
    assert!(grown.initialized_buckets > 1_000, "{grown:?}");
    map.clear();
    for _ in 0..1_000 {
        map.shrink_to_fit();
        let s = map.stats();
        if s.buckets <= 4 && !s.shrink_pending {
            break;
        }
        // Another test of this binary may hold the epoch back.
        common::flush_epoch();
    }
    let s = map.stats();
    assert!(
        s.buckets <= 4 && !s.shrink_pending,
        "shrink did not end: {s:?}"
    );
    assert!(
        s.initialized_buckets <= s.buckets,
        "{} sentinels counted as linked in {} buckets after the shrink \
         (grown: {} in {})",
        s.initialized_buckets,
        s.buckets,
        grown.initialized_buckets,
        grown.buckets
    );
}
