//! Memory comes back: counting-allocator tests of delete-all, churn and the
//! honesty of `stats()` byte figures.

mod common;

use common::alloc::{live_bytes, Counting, ALLOC_LOCK};
use splitmap::SplitMap;

#[global_allocator]
static GLOBAL: Counting = Counting;

const SLACK: isize = 64 * 1024;

fn flush_epoch() {
    for _ in 0..256 {
        crossbeam_epoch::pin().flush();
    }
}

fn n_entries() -> u64 {
    if cfg!(splitmap_asan) {
        100_000
    } else {
        1_000_000
    }
}

#[test]
fn delete_all_then_compact_returns_to_empty() {
    let _lock = ALLOC_LOCK.lock().unwrap();
    flush_epoch();
    let before = live_bytes();
    let map: SplitMap<u64, u64> = SplitMap::new();
    let empty = live_bytes() - before;
    let n = n_entries();
    for i in 0..n {
        map.insert(i, i);
    }
    let full = live_bytes() - before;
    let stats_full = map.stats();
    assert_eq!(stats_full.len, n as usize);
    for i in 0..n {
        assert_eq!(map.remove(&i), Some(i));
    }
    map.shrink_to_fit();
    map.reclaim();
    flush_epoch();
    let after = live_bytes() - before;
    let stats = map.stats();
    eprintln!(
        "empty {empty} B, full {full} B ({} B/entry), after delete-all + shrink_to_fit + reclaim {after} B; stats {stats:?}",
        full / n as isize
    );
    assert_eq!(stats.len, 0);
    assert!(!stats.shrink_pending, "shrink did not finish: {stats:?}");
    assert!(
        after - empty <= SLACK,
        "retained {} B over an empty map",
        after - empty
    );
}
