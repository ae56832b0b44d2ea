//! A value whose `Drop` panics must never make the map touch freed memory,
//! and must not keep the map from dropping (and freeing) everything else.
//! Run under AddressSanitizer by `.ci/asan.sh` (a use after free fails
//! there). Issue 12 §3; the raw-level case (a marked node still linked when
//! `into_iter` runs) is a unit test in `src/raw/reclaim.rs`, since only the
//! raw map can leave a node marked and linked on purpose.
//!
//! Each test lets exactly one value panic: a second panic while the first
//! unwinds aborts, as with std's collections.

mod common;

use common::flush_epoch;
use splitmap::SplitMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts its drops; the one with `panics` set panics in `Drop` (after
/// counting).
struct Bomb {
    panics: bool,
    drops: Arc<AtomicUsize>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("Bomb::drop");
        }
    }
}

fn fill(n: u64, bomb_at: u64, drops: &Arc<AtomicUsize>) -> SplitMap<u64, Bomb> {
    let map = SplitMap::new();
    for i in 0..n {
        let v = Bomb {
            panics: i == bomb_at,
            drops: Arc::clone(drops),
        };
        assert!(map.insert_with_no_clone(i, v));
    }
    map
}

/// `insert` returns the old value cloned, which `Bomb` cannot be; this
/// inserts through `compute` instead.
trait InsertNoClone<V> {
    fn insert_with_no_clone(&self, k: u64, v: V) -> bool;
}

impl<V: Send + Sync + 'static> InsertNoClone<V> for SplitMap<u64, V> {
    fn insert_with_no_clone(&self, k: u64, v: V) -> bool {
        let mut v = Some(v);
        self.pin()
            .get_or_insert_with(k, || v.take().expect("called once"));
        v.is_none()
    }
}

/// Dropping the map: the panicking value's `Drop` unwinds out of the map's
/// `Drop`, and every other value is still dropped (the teardown chain keeps
/// going), without reading a freed node.
#[test]
fn drop_of_the_map_survives_a_panicking_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let n = 1000;
    let map = fill(n, 500, &drops);
    let result = catch_unwind(AssertUnwindSafe(move || drop(map)));
    assert!(result.is_err(), "the value's panic propagates");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        n as usize,
        "every value dropped once"
    );
}

/// `into_iter` moves the values out (no value is dropped inside the map);
/// the panic happens while the iterator drops what was not consumed, and
/// every value is dropped once.
#[test]
fn into_iter_survives_a_panicking_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let n = 1000;
    let map = fill(n, 500, &drops);
    let result = catch_unwind(AssertUnwindSafe(move || {
        let mut it = map.into_iter();
        for _ in 0..10 {
            drop(it.next());
        }
        drop(it);
    }));
    assert!(result.is_err(), "the value's panic propagates");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        n as usize,
        "every value dropped once"
    );
}

/// A removed value is dropped by the epoch's deferred work, on whatever
/// thread collects it, inside an unrelated operation. Its panic is caught
/// there: it does not surface in that operation, the node is freed, and
/// later operations and reclamation go on.
#[test]
fn deferred_drop_panic_stays_in_the_epoch() {
    let drops = Arc::new(AtomicUsize::new(0));
    let n = 5000u64; // large enough that removals go through retire batches
    let map = fill(n, 7, &drops);
    for i in 0..n {
        assert!(map.pin().remove(&i).is_some());
    }
    // Push reclamation along from ordinary operations and explicit calls:
    // none of them may panic.
    let ops = catch_unwind(AssertUnwindSafe(|| {
        for i in 0..10_000u64 {
            map.pin().get(&i);
        }
        map.compact();
        map.reclaim();
        flush_epoch();
        map.reclaim();
    }));
    assert!(
        ops.is_ok(),
        "a deferred drop's panic reached a map operation"
    );
    assert_eq!(map.stats().retired_awaiting, 0);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        n as usize,
        "every value dropped once"
    );
}
