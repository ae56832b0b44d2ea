//! Memory comes back: counting-allocator tests of delete-all, churn and the
//! honesty of `stats()` byte figures.

mod common;

use common::alloc::{live_bytes, Counting, ALLOC_LOCK, SLACK};
use common::{flush_epoch, scaled};
use splitmap::SplitMap;
use std::sync::atomic::{AtomicIsize, Ordering};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn n_entries() -> u64 {
    scaled(1_000_000) as u64
}

/// Inserts `n` entries into a new map, removes them all and runs
/// `give_back` on it; returns (empty map bytes, full bytes, bytes after,
/// buckets after).
fn delete_all_then(give_back: impl Fn(&SplitMap<u64, u64>)) -> (isize, isize, isize, usize) {
    flush_epoch();
    let before = live_bytes();
    let map: SplitMap<u64, u64> = SplitMap::new();
    let empty = live_bytes() - before;
    let n = n_entries();
    for i in 0..n {
        map.insert(i, i);
    }
    let full = live_bytes() - before;
    assert_eq!(map.stats().len, n as usize);
    for i in 0..n {
        assert_eq!(map.get(&i), Some(i));
        assert!(map.remove(&i).is_some());
    }
    give_back(&map);
    flush_epoch();
    let after = live_bytes() - before;
    let stats = map.stats();
    eprintln!(
        "empty {empty} B, full {full} B ({} B/entry), after delete-all and the call {after} B; {stats:?}",
        full / n as isize
    );
    assert_eq!(stats.len, 0);
    assert!(!stats.shrink_pending, "shrink did not finish: {stats:?}");
    (empty, full, after, stats.buckets)
}

/// `compact()` after deleting everything (with `reclaim()` for the epoch's
/// garbage): the directory goes back to its minimum and the bytes to within
/// `SLACK` of a new empty map.
///
/// One call is not enough: right after the removes the automatic shrink's
/// grace period is still running, and a compaction cannot start the next
/// (smaller) shrink until it is over; without compaction nothing ever
/// starts that last shrink (measured: 128 buckets left). So: a few rounds.
#[test]
fn delete_all_then_compact_returns_to_empty() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (empty, _, after, buckets) = delete_all_then(|map| {
        for _ in 0..4 {
            map.compact();
            map.reclaim();
        }
    });
    assert_eq!(
        buckets, 4,
        "compaction left the directory at {buckets} buckets"
    );
    assert!(
        after - empty <= SLACK,
        "retained {} B over an empty map",
        after - empty
    );
}

/// The same with one `shrink_to_fit()`.
#[test]
fn delete_all_then_shrink_to_fit_returns_to_empty() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (empty, _, after, buckets) = delete_all_then(|map| {
        map.shrink_to_fit();
        map.reclaim();
    });
    assert_eq!(
        buckets, 4,
        "shrink_to_fit left the directory at {buckets} buckets"
    );
    assert!(
        after - empty <= SLACK,
        "retained {} B over an empty map",
        after - empty
    );
}

/// Without `compact()`, `shrink_to_fit()` or `reclaim()`: right after the
/// last remove the map is already back within `SLACK` of an empty map (each
/// remove unlinks its node at once, ordinary pins free them, and the
/// automatic shrinks finish in chunks on the removes themselves).
#[test]
fn delete_all_returns_memory_without_any_call() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    flush_epoch();
    let before = live_bytes();
    let map: SplitMap<u64, u64> = SplitMap::new();
    let empty = live_bytes() - before;
    let n = n_entries();
    for i in 0..n {
        map.insert(i, i);
    }
    let full = live_bytes() - before;
    for i in 0..n {
        map.remove(&i);
    }
    let after_removes = live_bytes() - before;
    eprintln!(
        "no-call: full {full} B, right after the removes {after_removes} B (empty {empty} B); {:?}",
        map.stats()
    );
    assert!(
        after_removes - empty <= SLACK,
        "retained {} B over an empty map right after the removes",
        after_removes - empty
    );
}

/// Recovery by further operations, when it is needed: the removes run while
/// this thread holds the epoch (a long-lived pin elsewhere in the program),
/// so no removed node can be freed and no shrink can finish, and the map
/// still holds about what it held full. Once the pin is gone, a bounded
/// number of ordinary operations on a few keys, and no call at all, brings
/// memory back within `2 * SLACK` of an empty map: their pins free the
/// epoch's garbage and their writes finish the pending shrink chunk by chunk.
#[test]
fn delete_all_under_a_held_pin_recovers_through_later_operations() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    flush_epoch();
    let before = live_bytes();
    let map: SplitMap<u64, u64> = SplitMap::new();
    let empty = live_bytes() - before;
    let n = scaled(100_000) as u64;
    for i in 0..n {
        map.insert(i, i);
    }
    let full = live_bytes() - before;
    let held = crossbeam_epoch::pin();
    for i in 0..n {
        map.remove(&i);
    }
    let under_pin = live_bytes() - before;
    let stats_under_pin = map.stats();
    drop(held);
    // The premise: without further work the memory is still held.
    assert!(
        under_pin >= full / 2,
        "only {under_pin} B held under the pin (full: {full} B): nothing to recover"
    );
    assert!(stats_under_pin.shrink_pending, "{stats_under_pin:?}");
    let mut extra_ops = 0u64;
    let limit = 200_000;
    while extra_ops < limit {
        map.insert(n + extra_ops % 8, 0);
        map.remove(&(n + extra_ops % 8));
        extra_ops += 1;
        if extra_ops % 1000 == 0 && live_bytes() - before - empty <= 2 * SLACK {
            break;
        }
    }
    let after = live_bytes() - before;
    eprintln!(
        "held pin: full {full} B, under the pin {under_pin} B, after {extra_ops} insert+remove pairs \
         {after} B (empty {empty} B); {:?}",
        map.stats()
    );
    assert!(
        after - empty <= 2 * SLACK,
        "retained {} B over an empty map after {extra_ops} further operations",
        after - empty
    );
}

/// Writes that meet a long shrink's grace period help the epoch along
/// (`raw/shrink_work.rs`, `step_collector_for_grace`); while a pinned thread holds the epoch that
/// help cannot progress, and each collector step would push this thread's
/// epoch bag (~2 KiB even for one deferred free) to the global queue. The
/// help backs off then: garbage held under a pin must grow per write by
/// about what the write retired, not by a bag node.
#[test]
fn writes_under_a_held_pin_during_a_long_grace_stay_small() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    flush_epoch();
    let map: SplitMap<u64, u64> = SplitMap::new();
    let n = scaled(100_000) as u64;
    for i in 0..n {
        map.insert(i, i);
    }
    // Removed under a pin, the map cannot shrink level by level as it
    // empties: the first shrink (begun a quarter full) stays pending, and
    // the one after it drops every level at once.
    let first = crossbeam_epoch::pin();
    for i in 0..n {
        map.remove(&i);
    }
    drop(first);
    let mut extra = 0u64;
    let long_shrink_pending =
        |s: splitmap::MapStats| s.shrink_pending && s.initialized_buckets >= 64 * s.buckets;
    while !long_shrink_pending(map.stats()) {
        map.insert(n + extra % 8, 0);
        map.remove(&(n + extra % 8));
        extra += 1;
        assert!(extra < 10 * n, "no many-level shrink: {:?}", map.stats());
    }
    eprintln!("after {extra} pairs: {:?}", map.stats());
    let held = crossbeam_epoch::pin();
    let pairs = 20_000u64;
    let before = live_bytes();
    for i in 0..pairs {
        map.insert(n + i % 8, 0);
        map.remove(&(n + i % 8));
    }
    let per_pair = (live_bytes() - before) as f64 / pairs as f64;
    drop(held);
    eprintln!(
        "under a held pin: {per_pair:.1} B per insert+remove pair; {:?}",
        map.stats()
    );
    // One node (32 B) and its deferred free (~32 B) retired per pair, plus
    // bag nodes amortized over the back-off; a bag node per pair is ~2 KiB.
    assert!(
        per_pair < 256.0,
        "{per_pair:.1} B held per insert+remove pair under a pin"
    );
}

/// `stats()` byte figures agree with the allocator.
#[test]
fn stats_bytes_match_the_allocator() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    flush_epoch();
    let before = live_bytes();
    let map: SplitMap<u64, u64> = SplitMap::new();
    for i in 0..100_000u64 {
        map.insert(i, i);
    }
    let measured = live_bytes() - before;
    let reported = map.stats().heap_bytes as isize;
    eprintln!("allocator {measured} B, stats {reported} B");
    // Outside the map's own figures: the epoch's per-thread bookkeeping.
    assert!(
        (measured - reported).abs() <= 4096,
        "allocator {measured} vs stats {reported}"
    );
}

/// Garbage awaiting reclamation, measured: inserts `n` entries with values
/// of type `V`, removes them all while this thread holds the epoch (so no
/// removed node can be freed), then lets go and reclaims. Returns (bytes the
/// allocator freed once the pin was gone, `stats().retired_bytes` and
/// `retired_awaiting` under the pin).
fn garbage_under_pin<V: Default + Send + Sync + 'static>(n: u64) -> (isize, usize, usize) {
    flush_epoch();
    let before = live_bytes();
    // Capacity up front: no directory growth or shrink mixes in.
    let map: SplitMap<u64, V> = SplitMap::with_capacity(2 * n as usize);
    for i in 0..n {
        map.pin().insert(i, V::default());
    }
    let held = crossbeam_epoch::pin();
    for i in 0..n {
        assert!(map.pin().remove(&i).is_some());
    }
    let under_pin = live_bytes() - before;
    let stats = map.stats();
    drop(held);
    assert_eq!(map.reclaim(), 0, "garbage left after reclaim");
    flush_epoch();
    let freed = under_pin - (live_bytes() - before);
    assert_eq!(map.stats().retired_bytes, 0);
    (freed, stats.retired_bytes, stats.retired_awaiting)
}

/// `stats().retired_bytes` (what `churn_two_threads_structure_stays_bounded`
/// subtracts to get the map's own structure) agrees with the allocator in a
/// remove-heavy run: 100,000 removed nodes held back by a pin are counted,
/// and letting them go frees exactly their bytes plus the epoch's own
/// bookkeeping for each deferred destruction. That bookkeeping is the same
/// per node whatever the node's size, so two runs with different value
/// sizes must differ by exactly the difference in `retired_bytes`.
#[test]
fn retired_bytes_match_the_allocator() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let n = scaled(100_000) as u64;
    let (freed_small, retired_small, awaiting_small) = garbage_under_pin::<u64>(n);
    let (freed_big, retired_big, awaiting_big) = garbage_under_pin::<[u64; 8]>(n);
    let per_node = |freed: isize, retired: usize| (freed - retired as isize) as f64 / n as f64;
    eprintln!(
        "retired under a pin: u64 values {retired_small} B counted, {freed_small} B freed; \
         [u64; 8] values {retired_big} B counted, {freed_big} B freed; epoch bookkeeping \
         {:.1} and {:.1} B per node",
        per_node(freed_small, retired_small),
        per_node(freed_big, retired_big)
    );
    assert_eq!((awaiting_small, awaiting_big), (n as usize, n as usize));
    assert!(
        freed_small >= retired_small as isize,
        "counted more than was freed"
    );
    assert!(
        freed_big >= retired_big as isize,
        "counted more than was freed"
    );
    // What `retired_bytes` leaves out is the epoch's own bookkeeping: a
    // sealed batch of 64 nodes is flushed as one bag node of ~2 KiB (64
    // deferred slots of 32 B), 32 B per node (measured 32.3). More than
    // that uncounted means the map's own garbage (nodes, batch boxes) is
    // missing from `retired_bytes`; the batch boxes alone are ~8 B a node.
    for (name, freed, retired) in [
        ("u64", freed_small, retired_small),
        ("[u64; 8]", freed_big, retired_big),
    ] {
        let uncounted = per_node(freed, retired);
        assert!(
            uncounted <= 36.0,
            "{name} values: {uncounted:.1} B per node freed but not in retired_bytes \
             (epoch bag nodes account for ~32)"
        );
    }
    let counted = retired_big as isize - retired_small as isize;
    let measured = freed_big - freed_small;
    // Slack: a few of the epoch's ~2 KiB bags (the last bag of each run is
    // partly full, and exiting threads of earlier tests may flush theirs).
    assert!(
        (measured - counted).abs() <= 16 * 1024,
        "bigger nodes freed {measured} B more, but retired_bytes grew by {counted} B"
    );
}

/// The classic leak: a sliding window of live unique keys, with no explicit
/// compaction. Runs `steps` insert-new/remove-oldest steps on `threads`
/// threads (each sliding its own share of the window) and returns (window
/// bytes, allocator peak, peak of the map's own structure, final bytes).
const WINDOW: u64 = 10_000;

/// Bytes of a map holding the churn window's 10,000 entries.
fn window_bytes() -> isize {
    flush_epoch();
    let before = live_bytes();
    let map: SplitMap<u64, u64> = SplitMap::new();
    for i in 0..WINDOW {
        map.insert(i, i);
    }
    live_bytes() - before
}

fn churn(threads: u64, steps: u64) -> (isize, isize, isize, isize) {
    let window_bytes = window_bytes();
    flush_epoch();
    let before = live_bytes();
    let map: SplitMap<u64, u64> = SplitMap::new();
    let peak = AtomicIsize::new(0);
    let structure_peak = AtomicIsize::new(0);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (map, peak, structure_peak) = (&map, &peak, &structure_peak);
            s.spawn(move || {
                let base = t << 40;
                let share = WINDOW / threads;
                for i in 0..steps / threads {
                    map.insert(base + i, i);
                    if i >= share {
                        map.remove(&(base + i - share));
                    }
                    if i % 4096 == 0 {
                        peak.fetch_max(live_bytes() - before, Ordering::Relaxed);
                        let st = map.stats();
                        let structure = st.heap_bytes - st.retired_bytes;
                        structure_peak.fetch_max(structure as isize, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    // Garbage still queued in the epoch drains with ordinary use.
    for _ in 0..1000 {
        map.insert(u64::MAX, 0);
        map.remove(&u64::MAX);
    }
    let fin = live_bytes() - before;
    let (peak, structure_peak) = (peak.into_inner(), structure_peak.into_inner());
    eprintln!(
        "churn {threads} thread(s), {steps} steps: window {window_bytes} B, allocator peak {peak} B ({:.2}x), structure peak {structure_peak} B ({:.2}x), final {fin} B; {:?}",
        peak as f64 / window_bytes as f64,
        structure_peak as f64 / window_bytes as f64,
        map.stats()
    );
    (window_bytes, peak, structure_peak, fin)
}

fn churn_steps() -> [u64; 2] {
    [1_000_000u64, 5_000_000].map(|s| if cfg!(splitmap_asan) { s / 20 } else { s })
}

/// One thread: nothing else can hold the epoch back, so everything the
/// allocator sees, garbage awaiting reclamation included, stays within 4x
/// of the window's bytes, and the final bytes do not grow with steps.
#[test]
fn churn_one_thread_stays_bounded() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut finals = Vec::new();
    for steps in churn_steps() {
        let (window, peak, _, fin) = churn(1, steps);
        assert!(peak <= 4 * window, "peak {peak} B > 4x window {window} B");
        finals.push(fin);
    }
    let window = window_bytes();
    assert!(
        finals[1] <= finals[0] + window,
        "final bytes grew with steps: {finals:?}"
    );
}

/// Two threads. The map's own structure (linked nodes and directory, as
/// `stats()` reports them; `stats_bytes_match_the_allocator` checks those
/// figures) stays within 4x of the window, and the final bytes do not grow
/// with steps.
///
/// The allocator's peak is printed, not asserted: it also holds nodes
/// retired to the epoch, and how many those are depends on the scheduler.
/// A thread descheduled while pinned stops the epoch, so the other thread's
/// removals pile up until it runs again (measured on 2 cores: ~1.1-1.3x with
/// the test alone, 8-20x with other processes competing for the cores).
/// That is a property of epoch reclamation, not a leak: it drains once the
/// stalled thread runs, as the final figure shows.
#[test]
fn churn_two_threads_structure_stays_bounded() {
    let _lock = ALLOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut finals = Vec::new();
    for steps in churn_steps() {
        let (window, _, structure_peak, fin) = churn(2, steps);
        assert!(
            structure_peak <= 4 * window,
            "structure peak {structure_peak} B > 4x window {window} B"
        );
        finals.push(fin);
    }
    let window = window_bytes();
    assert!(
        finals[1] <= finals[0] + 2 * window,
        "final bytes grew with steps: {finals:?}"
    );
}
