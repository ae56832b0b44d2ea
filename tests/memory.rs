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

#[test]
fn delete_all_then_compact_returns_to_empty() {
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
    let stats_full = map.stats();
    assert_eq!(stats_full.len, n as usize);
    for i in 0..n {
        assert_eq!(map.remove(&i).as_deref(), Some(&i));
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

/// Without `compact()` or `reclaim()`: after deleting everything, a bounded
/// number of further ordinary operations brings memory back within 2x the
/// compact() bound (the shrink finishes in bounded chunks on writes, and
/// ordinary pins collect the epoch's garbage).
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
    for i in 0..n {
        map.remove(&i);
    }
    let after_removes = live_bytes() - before;
    // Bounded further work: ordinary operations on a few keys.
    let mut extra_ops = 0;
    while extra_ops < 200_000 {
        map.insert(n + (extra_ops % 8), 0);
        map.remove(&(n + (extra_ops % 8)));
        extra_ops += 1;
        if extra_ops % 1000 == 0 && live_bytes() - before - empty <= 2 * SLACK {
            break;
        }
    }
    let after = live_bytes() - before;
    eprintln!(
        "no-call: right after removes {after_removes} B, after {extra_ops} more insert+remove pairs {after} B (empty {empty} B); stats {:?}",
        map.stats()
    );
    assert!(
        after - empty <= 2 * SLACK,
        "retained {} B over an empty map",
        after - empty
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
