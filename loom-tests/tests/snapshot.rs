//! Model 9: snapshot iteration racing insert, remove and replace.
//!
//! Keys 0, 4 and 2 are present; in split order (one bucket, `IdHash`) the
//! list is `0 -> 4 -> 2`, and key 6 would go last. During the walk the
//! writer inserts key 6, then removes key 4, then replaces key 2's value
//! (its new node follows the old one, and the walk must not yield it
//! twice). Keys 0 and 2 are present for the whole walk and must be yielded,
//! each once. What the walk sees of the others depends on the interleaving,
//! but not freely: it passes 4 before 2 and 2 before 6, and the writer acts
//! in the order 6, 4, 2. So if it missed 4 (it got there after the remove)
//! or saw 2's new value (it got there after the replace), it got to 6's
//! place after the insert and must yield 6.
//!
//! Over all executions, both answers must occur for each of 6, 4 and 2's
//! value: otherwise the model does not race the walk with the writer.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};
use std::sync::atomic::{AtomicUsize, Ordering};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

/// Executions in which the walk saw 6 / 4 / 2's new value, and not.
static SAW: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
static MISSED: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

fn record(i: usize, saw: bool) {
    let counter = if saw { &SAW[i] } else { &MISSED[i] };
    counter.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn snapshot_vs_insert_remove_and_replace() {
    loom::model(|| {
        // Values: key 0 -> 0, key 4 -> 1, key 2 -> 2 (then 3), key 6 -> 4.
        let log = DropLog::new(5);
        let map = Arc::new(SplitMap::with_layout(0, 4, IdHash::default()));
        for (k, id) in [(0, 0), (4, 1), (2, 2)] {
            assert!(map.pin().insert(k, log.value(id)).is_none());
        }
        let m1 = map.clone();
        let walker = spawn(move || {
            m1.snapshot()
                .iter()
                .map(|(k, v)| (*k, v.id()))
                .collect::<Vec<(u64, usize)>>()
        });
        let (m2, v3, v4) = (map.clone(), log.value(3), log.value(4));
        let writer = spawn(move || {
            let m = m2.pin();
            assert!(m.insert(6, v4).is_none());
            assert_eq!(m.remove(&4).map(Tracked::id), Some(1));
            assert_eq!(m.insert(2, v3).map(Tracked::id), Some(2));
        });
        writer.join().unwrap();
        let seen = walker.join().unwrap();
        let keys: Vec<u64> = seen.iter().map(|&(k, _)| k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            keys.len(),
            "a key was yielded twice: {seen:?}"
        );
        assert!(
            keys.iter().all(|k| [0, 2, 4, 6].contains(k)),
            "unknown key: {seen:?}"
        );
        let value_of = |k: u64| seen.iter().find(|&&(key, _)| key == k).map(|&(_, id)| id);
        assert_eq!(value_of(0), Some(0), "stable key 0: {seen:?}");
        let two = value_of(2).unwrap_or_else(|| panic!("stable key 2 missing: {seen:?}"));
        assert!(two == 2 || two == 3, "key 2 with value {two}: {seen:?}");
        let (saw6, saw4, new2) = (keys.contains(&6), keys.contains(&4), two == 3);
        assert!(
            saw4 || saw6,
            "missed 4 (removed after 6 was inserted) and 6: {seen:?}"
        );
        assert!(
            !new2 || saw6,
            "saw 2 replaced (after 6 was inserted) but missed 6: {seen:?}"
        );
        record(0, saw6);
        record(1, saw4);
        record(2, new2);
        check_drops(unwrap(map), &log, &[0, 3, 4]);
    });
    for (i, what) in ["key 6", "key 4", "key 2's new value"].iter().enumerate() {
        let (saw, missed) = (
            SAW[i].load(Ordering::Relaxed),
            MISSED[i].load(Ordering::Relaxed),
        );
        eprintln!("{what}: seen in {saw} executions, missed in {missed}");
        assert!(
            saw > 0 && missed > 0,
            "{what}: seen in {saw} executions, missed in {missed}: the walk never raced the writer"
        );
    }
}
