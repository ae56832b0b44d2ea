//! Model 2: an insert that initializes a bucket (claims, links and
//! publishes its sentinel) racing a reader of the same bucket.
//!
//! Two buckets; bucket 1 is uninitialized (key 1 sits there since before a
//! `reserve` doubled the directory, reached from bucket 0). The writer
//! inserts key 3 into bucket 1, which links bucket 1's sentinel between
//! key 1 and the end of the list; the reader, starting from whichever
//! start node it finds, must always find the stable key 1.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

#[test]
fn insert_vs_get_on_uninitialized_bucket() {
    loom::model(|| {
        let log = DropLog::new(2);
        let map = Arc::new(SplitMap::with_layout(0, 4, IdHash::default()));
        assert!(map.pin().insert(1, log.value(0)).is_none());
        map.reserve(8); // two buckets now; bucket 1 has no sentinel yet
        let (m1, v1) = (map.clone(), log.value(1));
        let writer = spawn(move || m1.pin().insert(3, v1).map(Tracked::id));
        let m2 = map.clone();
        // One read only: a second one (of key 3) made the model run for
        // five minutes at preemption bound 1.
        let reader = spawn(move || m2.pin().get(&1).map(Tracked::id));
        assert_eq!(writer.join().unwrap(), None);
        assert_eq!(reader.join().unwrap(), Some(0), "a stable key went missing");
        let m = map.pin();
        assert_eq!(m.get(&1).map(Tracked::id), Some(0));
        assert_eq!(m.get(&3).map(Tracked::id), Some(1));
        drop(m);
        check_drops(unwrap(map), &log, &[0, 1]);
    });
}
