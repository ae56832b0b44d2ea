//! Model 6: a directory shrink racing inserts, gets and growth.
//!
//! Setup (main thread, before any model thread): 2 initial buckets (also
//! the shrink floor), load factor 1. Keys 0..=3 grow the directory to 4
//! buckets (sentinels of buckets 1..=3 linked); removing them all publishes
//! a shrink back to 2 buckets: level 2 (buckets 2 and 3) is dropped, one
//! chunk of work. Key 3 is then inserted again (value 4) under the new
//! bucket count. The list is, in split order:
//!
//! ```text
//! head(b0) -> s2 -> s1 -> s3 -> key 3
//! ```
//!
//! The model threads insert keys 5 (between `s1` and `s3`, bucket 1) and 6
//! (between `s2` and `s1`, bucket 0) and read key 3 (bucket 1: the lookup
//! starts at `s1` and walks through `s3`), while the first write to claim
//! the chunk marks and unlinks `s2` and `s3`, right next to the positions
//! the inserts link at. The third entry pushes the count past the
//! threshold, so one of the inserts also tries to grow.
//!
//! ## The grace period
//! A shrink's chunk may be claimed only after an epoch grace period, which
//! a deferred closure records. Letting the epoch advance inside a model is
//! far too costly (see `check_drops`), so the models end it through the
//! loom-only hook `SplitMap::loom_end_shrink_grace`. That is sound here:
//! the grace period protects operations that read the bucket count *before*
//! the shrink was published (they may still start from a dropped level's
//! sentinel). The only such operations are the setup's, on the main
//! thread, and each of them finished (its guard dropped) before the hook
//! runs; every later operation (the setup's re-insert of key 3, all of the
//! model threads', spawned after the publication) reads the smaller (or a
//! later) bucket count, exactly the situation the real grace period
//! guarantees.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, model_with_branches, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

/// Branch points one execution may take (the setup alone takes over 1,000).
const BRANCHES: usize = 20_000;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

/// Value ids: key `k` of the setup gets value `k` (k in 0..=3), key 3's
/// re-insert gets 4, key 5 gets 5, key 6 gets 6.
/// Without `key3`, key 3 is not re-inserted (and value 4 is not created).
fn shrinking_map(log: &std::sync::Arc<DropLog>, key3: bool) -> Arc<Map> {
    let map = Arc::new(SplitMap::with_layout(1, 1, IdHash::default()));
    for k in 0..=3u64 {
        assert!(map.pin().insert(k, log.value(k as usize)).is_none());
    }
    assert_eq!(map.capacity(), 4, "setup: 4 keys at load factor 1");
    for k in 0..=3u64 {
        assert_eq!(map.pin().remove(&k).map(Tracked::id), Some(k as usize));
    }
    let s = map.stats();
    assert!(s.shrink_pending, "setup: the last remove starts a shrink");
    assert_eq!((s.buckets, s.initialized_buckets), (2, 4));
    if key3 {
        // Under the new count; the grace period is still running: no claim.
        assert!(map.pin().insert(3, log.value(4)).is_none());
        assert!(map.stats().shrink_pending);
    }
    map
}

/// Exactly the keys of `present` (key, value id) are in the map, each
/// once; every value is accounted for.
fn check_final(map: Arc<Map>, log: &DropLog, present: &[(u64, usize)]) {
    let m = map.pin();
    for &(k, id) in present {
        assert_eq!(m.get(&k).map(Tracked::id), Some(id), "key {k}");
    }
    let mut keys: Vec<u64> = m.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    let mut expected: Vec<u64> = present.iter().map(|&(k, _)| k).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    drop(m);
    assert_eq!(map.len(), present.len());
    let live: Vec<usize> = present.iter().map(|&(_, id)| id).collect();
    check_drops(unwrap(map), log, &live);
}

/// Grace period over before the threads start; key 3 not re-inserted
/// (the list is `head -> s2 -> s1 -> s3`); two inserts: the first to claim
/// the chunk unlinks `s2` and `s3` while the other inserts right next to
/// one of them (key 6 after `s2`, or key 5 between `s1` and `s3`). Two
/// entries in two buckets: no growth.
#[test]
fn shrink_unlinking_vs_inserts() {
    model_with_branches(BRANCHES, || {
        let log = DropLog::new(7);
        let map = shrinking_map(&log, false);
        assert!(map.loom_end_shrink_grace());
        let (m1, v5) = (map.clone(), log.value(5));
        let t1 = spawn(move || m1.pin().insert(5, v5).map(Tracked::id));
        let (m2, v6) = (map.clone(), log.value(6));
        let t2 = spawn(move || m2.pin().insert(6, v6).map(Tracked::id));
        assert_eq!(t1.join().unwrap(), None);
        assert_eq!(t2.join().unwrap(), None);
        let s = map.stats();
        let end = (s.buckets, s.shrink_pending, s.shrinks);
        assert_eq!(end, (2, false, 1), "(buckets, pending, shrinks)");
        // Sentinels 2 and 3 unlinked, level 2 retired.
        assert_eq!((s.initialized_buckets, s.directory_slots), (2, 2));
        drop(log.value(4)); // value 4 is not used by this model
        check_final(map, &log, &[(5, 5), (6, 6)]);
    });
}

/// Grace period over before the threads start; an insert (which claims the
/// chunk and unlinks `s2` and `s3`) against a read of key 3 that starts at
/// `s1` and walks through `s3` while it is marked and unlinked.
#[test]
fn shrink_unlinking_vs_get() {
    model_with_branches(BRANCHES, || {
        let log = DropLog::new(7);
        let map = shrinking_map(&log, true);
        assert!(map.loom_end_shrink_grace());
        let (m1, v5) = (map.clone(), log.value(5));
        let t1 = spawn(move || m1.pin().insert(5, v5).map(Tracked::id));
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().get(&3).map(Tracked::id));
        assert_eq!(t1.join().unwrap(), None);
        assert_eq!(t2.join().unwrap(), Some(4), "stable key missed");
        let s = map.stats();
        let end = (s.buckets, s.shrink_pending, s.shrinks);
        assert_eq!(end, (2, false, 1), "(buckets, pending, shrinks)");
        assert_eq!((s.initialized_buckets, s.directory_slots), (2, 2));
        drop(log.value(6)); // value 6 is not used by this model
        check_final(map, &log, &[(3, 4), (5, 5)]);
    });
}

/// Grace period ended by thread 1 after its insert, while thread 2 runs.
/// A write claims the chunk only once the grace period is over, and the
/// later of the two inserts grows (3 entries, 2 buckets). Allowed ends:
/// - thread 2 inserted before the hook, or thread 1 inserted last: nobody
///   claimed the chunk, so the growth cancels the shrink (4 buckets, no
///   shrink done, nothing unlinked);
/// - thread 2 inserted after the hook: it claimed the chunk and finished
///   the shrink, then its growth doubled the smaller directory (4 buckets,
///   one shrink done).
#[test]
fn growth_cancelling_shrink() {
    model_with_branches(BRANCHES, || {
        let log = DropLog::new(7);
        let map = shrinking_map(&log, true);
        let (m1, v5) = (map.clone(), log.value(5));
        let t1 = spawn(move || {
            let r = m1.pin().insert(5, v5).map(Tracked::id);
            m1.loom_end_shrink_grace();
            r
        });
        let (m2, v6) = (map.clone(), log.value(6));
        let t2 = spawn(move || {
            let m = m2.pin();
            let r = m.insert(6, v6).map(Tracked::id);
            (r, m.get(&3).map(Tracked::id))
        });
        assert_eq!(t1.join().unwrap(), None);
        assert_eq!(t2.join().unwrap(), (None, Some(4)));
        let s = map.stats();
        let end = (s.buckets, s.shrink_pending, s.shrinks);
        assert!(
            [(4, false, 0), (4, false, 1)].contains(&end),
            "(buckets, pending, shrinks) = {end:?}"
        );
        if s.shrinks == 1 {
            assert_eq!((s.initialized_buckets, s.directory_slots), (2, 2));
        } else {
            assert_eq!(s.initialized_buckets, 4, "cancelled: nothing unlinked");
        }
        check_final(map, &log, &[(3, 4), (5, 5), (6, 6)]);
    });
}
