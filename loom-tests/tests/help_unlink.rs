//! Model 5: a remove racing a traversal that helps unlink the same node.
//!
//! One bucket holding keys 4 and 2 (split order: 4 before 2). One thread
//! removes key 4 (marks it, then tries to unlink it); the other removes
//! key 2, whose search passes key 4 and, if it sees the mark first, unlinks
//! it itself. Exactly one of them may retire node 4: a double retire drops
//! its value twice (or breaks the epoch count in `check_drops`), a missed
//! one leaks it.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

#[test]
fn remove_vs_helping_search() {
    loom::model(|| {
        let log = DropLog::new(2);
        let map = Arc::new(SplitMap::with_layout(0, 4, IdHash::default()));
        assert!(map.pin().insert(4, log.value(0)).is_none());
        assert!(map.pin().insert(2, log.value(1)).is_none());
        let m1 = map.clone();
        let t1 = spawn(move || m1.pin().remove(&4).map(Tracked::id));
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().remove(&2).map(Tracked::id));
        assert_eq!(t1.join().unwrap(), Some(0));
        assert_eq!(t2.join().unwrap(), Some(1));
        assert_eq!(map.len(), 0);
        assert_eq!(map.pin().iter().count(), 0);
        check_drops(unwrap(map), &log, &[]);
    });
}
