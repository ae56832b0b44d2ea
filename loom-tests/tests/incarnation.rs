//! Model 12: a walk holding a reference to a sentinel whose directory level
//! is detached by a finishing shrink and allocated again by growth.
//!
//! Setup as in model 6 (`shrink.rs`): 2 initial buckets, load factor 1;
//! keys 0..=3 grow the directory to 4 buckets, removing them publishes a
//! shrink back to 2 (level 2, buckets 2 and 3, is dropped), and key 3 is
//! inserted again under the new count:
//!
//! ```text
//! head(b0) -> s2 -> s1 -> s3 -> key 3
//! ```
//!
//! A reader gets key 3: it starts at `s1` (bucket 1 of 2), whose successor
//! is a *reference* to `s3` (bucket 3, level 2, incarnation parity 0), so
//! it must follow the reference through the directory. The writer inserts
//! keys 5, 7 and 11: the first claims the shrink's only chunk, unlinks `s2`
//! and `s3` and ends the shrink (level 2 detached); the second pushes the
//! count over the threshold, so the directory grows back to 4 buckets; the
//! third links bucket 3 again, in a fresh level-2 array of the other
//! parity. If the reader read the reference before all that and follows it
//! after, the directory refuses it (level detached, or parity changed) and
//! the reader restarts from a start of the current directory; it must
//! still find key 3 (it is present throughout).
//!
//! The grace period is ended by the loom-only hook, as in model 6: every
//! operation that read the larger bucket count (the setup's) has finished
//! before it runs.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, model_with_branches, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

/// Branch points one execution may take (the writer alone crosses a shrink
/// and a growth).
const BRANCHES: usize = 40_000;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

#[test]
fn stale_reference_to_a_reallocated_level() {
    model_with_branches(BRANCHES, || {
        let log = DropLog::new(8);
        let map = Arc::new(SplitMap::with_layout(1, 1, IdHash::default()));
        for k in 0..=3u64 {
            assert!(map.pin().insert(k, log.value(k as usize)).is_none());
        }
        for k in 0..=3u64 {
            assert_eq!(map.pin().remove(&k).map(Tracked::id), Some(k as usize));
        }
        assert!(
            map.stats().shrink_pending,
            "setup: the last remove starts a shrink"
        );
        assert!(map.pin().insert(3, log.value(4)).is_none());
        assert!(map.loom_end_shrink_grace());

        let m1 = map.clone();
        let reader = spawn(move || m1.pin().get(&3).map(Tracked::id));
        let (m2, v5, v6, v7) = (map.clone(), log.value(5), log.value(6), log.value(7));
        let writer = spawn(move || {
            let m = m2.pin();
            assert!(m.insert(5, v5).is_none());
            assert!(m.insert(7, v6).is_none());
            assert!(m.insert(11, v7).is_none());
        });
        assert_eq!(reader.join().unwrap(), Some(4), "a stable key went missing");
        writer.join().unwrap();

        let s = map.stats();
        assert_eq!((s.buckets, s.shrink_pending, s.shrinks), (4, false, 1));
        let m = map.pin();
        for (k, id) in [(3, 4), (5, 5), (7, 6), (11, 7)] {
            assert_eq!(m.get(&k).map(Tracked::id), Some(id), "key {k}");
        }
        assert_eq!(m.iter().count(), 4);
        drop(m);
        check_drops(unwrap(map), &log, &[4, 5, 6, 7]);
    });
}
