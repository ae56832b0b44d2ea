//! Model 11: retire batches (raw/reclaim.rs).
//!
//! A map of 64 buckets, so removed nodes go into the stripe's retire batch
//! (small maps retire one by one); under loom a batch holds 2 nodes and
//! every model thread shares the one stripe. Keys 1, 2 and 3 sit in
//! buckets of their own. One thread removes 1 then 2 (its second retire
//! fills the batch, which it seals and hands to the epoch); the other
//! removes 3, racing for the batch flag: if it finds the flag taken it
//! retires its node on its own instead of waiting. Either way each removed
//! value is dropped exactly once, never while it can still be read (the
//! epoch holds sealed batches until the end of the execution here), and
//! `stats().retired_awaiting` counts every node in an open or sealed batch
//! (`check_drops` balances it against the values not yet dropped).
//!
//! A second model races a remover against `compact()`, which flushes every
//! open batch whose flag is free: the batch must be sealed once, by one of
//! them.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

/// 64 buckets (the batching floor), keys 1..=n each in its own bucket.
fn batching_map(log: &std::sync::Arc<DropLog>, n: u64) -> Arc<Map> {
    let map = Arc::new(SplitMap::with_layout(6, 1, IdHash::default()));
    for k in 1..=n {
        assert!(map.pin().insert(k, log.value(k as usize - 1)).is_none());
    }
    map
}

#[test]
fn removers_share_a_batch() {
    loom::model(|| {
        let log = DropLog::new(3);
        let map = batching_map(&log, 3);
        let m1 = map.clone();
        let t1 = spawn(move || {
            let m = m1.pin();
            (m.remove(&1).map(Tracked::id), m.remove(&2).map(Tracked::id))
        });
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().remove(&3).map(Tracked::id));
        assert_eq!(t1.join().unwrap(), (Some(0), Some(1)));
        assert_eq!(t2.join().unwrap(), Some(2));
        assert_eq!(map.len(), 0);
        assert_eq!(map.pin().iter().count(), 0);
        assert_eq!(map.stats().retired_awaiting, 3, "open or sealed, not freed");
        check_drops(unwrap(map), &log, &[]);
    });
}

#[test]
fn remove_vs_compact_flush() {
    loom::model(|| {
        let log = DropLog::new(2);
        let map = batching_map(&log, 2);
        assert_eq!(map.pin().remove(&1).map(Tracked::id), Some(0)); // batch open
        let m1 = map.clone();
        let t1 = spawn(move || m1.pin().remove(&2).map(Tracked::id));
        let m2 = map.clone();
        let t2 = spawn(move || m2.compact());
        assert_eq!(t1.join().unwrap(), Some(1));
        t2.join().unwrap();
        assert_eq!(map.len(), 0);
        check_drops(unwrap(map), &log, &[]);
    });
}
