//! Short chaos-mode rounds inside the ordinary test command: with chaos
//! switched on for this process (`splitmap::set_chaos`, feature
//! `internal-test-hooks`, on in `cargo test --all-features`), the core's
//! atomics now and then yield or spin first, so these runs meet
//! interleavings a quiet machine rarely produces. `.ci/chaos.sh` runs the
//! long version: the stress, differential and linearizability suites built
//! with `--cfg splitmap_chaos`.
//!
//! Every test here switches chaos on first; the process holds nothing else.
#![cfg(feature = "internal-test-hooks")]

mod common;

use common::lincheck::{rounds_from_env, run_rounds, GuardFree, Pinned, Workload};
use common::tracked::{Ledger, Tracked};
use common::{with_each_config, CONFIGS};
use std::sync::Arc;

fn chaos_on() {
    splitmap::set_chaos(true);
}

#[test]
fn linearizable_under_chaos() {
    chaos_on();
    let before = splitmap::chaos_yields();
    let rounds = rounds_from_env(40);
    with_each_config(|config| {
        run_rounds(
            &format!("SplitMap {}, pinned, chaos", config.name),
            &Workload::default(),
            rounds,
            |_| Pinned(config.map()),
        );
        run_rounds(
            &format!("SplitMap {}, guard-free, chaos", config.name),
            &Workload::default(),
            rounds / 2,
            |_| GuardFree(config.map()),
        );
    });
    assert!(
        splitmap::chaos_yields() > before,
        "chaos mode is on, yet no chaos point yielded"
    );
}

/// Four threads insert, replace and remove drop-tracked values on a small
/// key range (tiny directory: growth and shrink all the time); at the end
/// the map's contents are what the threads left, and after the map is
/// dropped every value ever made has been dropped exactly once (the ledger
/// panics on a double drop).
#[test]
fn every_value_dropped_once_under_chaos() {
    chaos_on();
    let ledger = Ledger::new();
    {
        let map = Arc::new(CONFIGS[1].map::<u64, Tracked>());
        let threads = 4u64;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let map = Arc::clone(&map);
                let ledger = Arc::clone(&ledger);
                std::thread::spawn(move || {
                    // Each thread owns the keys `k % threads == t`.
                    let mut mine = std::collections::HashMap::new();
                    for i in 0..3_000u64 {
                        let k = (i % 64) * threads + t;
                        match i % 5 {
                            0 | 1 => {
                                let old = map.insert(k, Tracked::new(i, &ledger)).map(|v| v.value);
                                assert_eq!(old, mine.insert(k, i), "insert {k}");
                            }
                            2 => {
                                let got = map.update(&k, |v| Tracked::new(v.value + 1, &ledger));
                                let want = mine.get_mut(&k).map(|v| {
                                    *v += 1;
                                    *v
                                });
                                assert_eq!(got.map(|v| v.value), want, "update {k}");
                            }
                            _ => {
                                let got = map.remove(&k).map(|v| v.value);
                                assert_eq!(got, mine.remove(&k), "remove {k}");
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut left = std::collections::HashMap::new();
        for h in handles {
            left.extend(h.join().unwrap());
        }
        let map = Arc::into_inner(map).expect("threads joined");
        let mut contents: Vec<(u64, u64)> =
            map.snapshot().iter().map(|(k, v)| (*k, v.value)).collect();
        contents.sort_unstable();
        let mut want: Vec<(u64, u64)> = left.into_iter().collect();
        want.sort_unstable();
        assert_eq!(contents, want);
        assert_eq!(map.len(), want.len());
    }
    // Deferred frees of removed values run once the epoch advances, which
    // the other test of this binary (pinning all the time, slowed by
    // chaos) can hold up for a while: wait for it, boundedly.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ledger.alive() != 0 && std::time::Instant::now() < deadline {
        common::flush_epoch();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(
        ledger.alive(),
        0,
        "values still alive after the map is gone"
    );
}
