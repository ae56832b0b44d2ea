//! Model 13: growth does not wait for a preempted shrink helper.
//!
//! Setup: 1 initial bucket, load factor 2. Keys 0, 1 and 2 grow the
//! directory to 2 buckets (bucket 1's sentinel linked); removing them
//! publishes a shrink back to 1 bucket: level 1 (bucket 1) is dropped, one
//! chunk of one sentinel. Keys 2 and 3 are inserted again under the smaller
//! count before the grace period ends. One thread inserts key 4: its first
//! step claims the chunk. The other inserts key 6: more than two entries in
//! one bucket, so growth is due.
//!
//! While a claimed chunk is being processed growth is skipped. If the
//! claimer is preempted in the middle of its chunk, or between finishing
//! the last chunk and ending the shrink, the grower must not wait for it
//! (issue 12 §3): it redoes the claimed chunk (unlinking is idempotent) or
//! ends the shrink itself, and grows. So whatever the claimer does, the
//! grower's insert returns with the directory grown.
//!
//! Both threads cross the shrink's chunk, its end and a growth, so the
//! model is large: 23 minutes at `LOOM_MAX_PREEMPTIONS=1` on the 2-core
//! machine (a four-key variant did not finish in 25). It is ignored in the
//! default run; run it with
//! `.ci/loom.sh --test shrink_redo -- --ignored`. It found two gaps while
//! being written (an ender preempted inside `end_shrink`, and a shrink
//! ending between a failed growth and its re-check).
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, model_with_branches, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

/// Branch points one execution may take.
const BRANCHES: usize = 40_000;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

#[test]
#[ignore = "23 minutes at bound 1: run with -- --ignored"]
fn grower_redoes_a_claimed_chunk() {
    model_with_branches(BRANCHES, || {
        let log = DropLog::new(7);
        let map = Arc::new(SplitMap::with_layout(0, 2, IdHash::default()));
        for k in 0..=2u64 {
            assert!(map.pin().insert(k, log.value(k as usize)).is_none());
        }
        assert_eq!(map.capacity(), 4, "setup: 3 keys at load factor 2");
        for k in 0..=2u64 {
            assert_eq!(map.pin().remove(&k).map(Tracked::id), Some(k as usize));
        }
        assert!(
            map.stats().shrink_pending,
            "setup: the last remove starts a shrink"
        );
        // Under the new count; the grace period is still running: no claim.
        assert!(map.pin().insert(2, log.value(3)).is_none());
        assert!(map.pin().insert(3, log.value(4)).is_none());
        assert!(map.loom_end_shrink_grace());

        let (m1, v4) = (map.clone(), log.value(5));
        let claimer = spawn(move || m1.pin().insert(4, v4).map(Tracked::id));
        let (m2, v6) = (map.clone(), log.value(6));
        let grower = spawn(move || {
            assert!(m2.pin().insert(6, v6).is_none());
            (m2.capacity(), format!("{:?}", m2.stats()))
        });
        assert_eq!(claimer.join().unwrap(), None);
        let (cap, st) = grower.join().unwrap();
        assert!(cap >= 4, "growth waited for the chunk's claimer: {st}");

        let s = map.stats();
        assert!(!s.shrink_pending && s.buckets >= 2, "{s:?}");
        let m = map.pin();
        for (k, id) in [(2, 3), (3, 4), (4, 5), (6, 6)] {
            assert_eq!(m.get(&k).map(Tracked::id), Some(id), "key {k}");
        }
        drop(m);
        check_drops(unwrap(map), &log, &[3, 4, 5, 6]);
    });
}
