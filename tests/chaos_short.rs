//! Short chaos-mode rounds inside the ordinary test command: with chaos
//! switched on for this process (`splitmap::set_chaos`, feature
//! `internal-test-hooks`, on in `cargo test --all-features`), the core's
//! atomics now and then yield or spin first, so these runs meet
//! interleavings a quiet machine rarely produces. `.ci/chaos.sh` runs the
//! long version: the stress, differential and linearizability suites and
//! this file built with `--cfg splitmap_chaos`.
//!
//! Two drop-ledger tests: one where each thread owns its keys (exact
//! per-thread models), and one where four threads race on eight shared keys
//! (same-key contention: lost or duplicated values show as a conservation
//! failure).
//!
//! Every test here switches chaos on first; the process holds nothing else.
#![cfg(feature = "internal-test-hooks")]

mod common;

use common::lincheck::{rounds_from_env, run_rounds, GuardFree, Pinned, Workload};
use common::race::StartLine;
use common::tracked::{Ledger, Tracked};
use common::{with_each_config, CONFIGS};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::{HashMap, HashSet};
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

/// Operations per thread in [`values_conserved_under_chaos_on_shared_keys`]:
/// `SPLITMAP_CHAOS_OPS` if set (`.ci/chaos.sh` runs more), else 4,000.
fn shared_key_ops() -> usize {
    std::env::var("SPLITMAP_CHAOS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| common::scaled(4_000))
}

/// What one thread saw of the values on the shared keys.
#[derive(Default)]
struct Flow {
    /// Values this thread's operations stored, with their key.
    entered: Vec<(u64, u64)>,
    /// Values this thread's operations took out (returned as the old value
    /// of an `insert` or `remove`, or replaced by an `update`/`compute`).
    left: Vec<u64>,
}

/// Four threads race `insert`, `remove`, `update`, `compute` and
/// `get_or_insert_with` on the same eight keys, under chaos, in every
/// configuration (tiny directories grow and shrink under them). Every value
/// is unique (its tag names the thread and the call that made it), so the
/// values are conserved: each one stored leaves at most once (a lost mark
/// race reported as a removal hands one value to two removers), only stored
/// values leave, and what stayed is exactly the map's final contents, under
/// the key it was stored with (a lost insert or update leaves a value
/// stored but neither left nor present). `update` and `compute` may run
/// their closure more than once: the stored result's tag says which run
/// won, and so which value it replaced. After the map is dropped the drop
/// ledger shows every value (the losers of retried closures and
/// `get_or_insert_with` included) dropped exactly once.
#[test]
fn values_conserved_under_chaos_on_shared_keys() {
    chaos_on();
    const KEYS: u64 = 8;
    const THREADS: u64 = 4;
    let ops = shared_key_ops();
    with_each_config(|config| {
        let ledger = Ledger::new();
        {
            let map = config.map::<u64, Tracked>();
            let line = StartLine::new(THREADS as usize);
            let flows: Vec<Flow> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|t| {
                        let (map, ledger, line) = (&map, &ledger, &line);
                        s.spawn(move || {
                            let _poison = line.poison_on_panic();
                            let mut rng = StdRng::seed_from_u64(0xC4A05 + t);
                            let mut seq = 0u64;
                            let mut tag = move || {
                                seq += 1;
                                (t << 32) | seq
                            };
                            let mut flow = Flow::default();
                            for i in 0..ops {
                                if i % 256 == 0 {
                                    line.wait(i / 256);
                                }
                                let k = rng.random_range(0..KEYS);
                                match rng.random_range(0..10) {
                                    0..=2 => {
                                        let v = tag();
                                        let old = map.insert(k, Tracked::new(v, ledger));
                                        flow.entered.push((v, k));
                                        flow.left.extend(old.map(|o| o.value));
                                    }
                                    3..=4 => flow.left.extend(map.remove(&k).map(|o| o.value)),
                                    5..=6 => {
                                        // Each closure run: (replaced, new).
                                        let mut runs = Vec::new();
                                        let got = map.update(&k, |old| {
                                            let v = tag();
                                            runs.push((old.value, v));
                                            Tracked::new(v, ledger)
                                        });
                                        if let Some(new) = got {
                                            let &(old, v) = runs
                                                .iter()
                                                .find(|r| r.1 == new.value)
                                                .expect(
                                                "update stored a value no run of its closure made",
                                            );
                                            flow.entered.push((v, k));
                                            flow.left.push(old);
                                        }
                                    }
                                    7 => {
                                        let mut runs = Vec::new();
                                        let new = map.compute(k, |cur| {
                                            let v = tag();
                                            runs.push((cur.map(|c| c.value), v));
                                            Some(Tracked::new(v, ledger))
                                        });
                                        let new = new.expect("compute returned None for Some");
                                        let &(old, v) =
                                            runs.iter().find(|r| r.1 == new.value).expect(
                                                "compute stored a value no run of its closure made",
                                            );
                                        flow.entered.push((v, k));
                                        flow.left.extend(old);
                                    }
                                    _ => {
                                        let v = tag();
                                        let mut ran = 0;
                                        let got = map
                                            .get_or_insert_with(k, || {
                                                ran += 1;
                                                Tracked::new(v, ledger)
                                            })
                                            .value;
                                        assert!(
                                            ran <= 1,
                                            "get_or_insert_with ran its closure {ran} times"
                                        );
                                        if got == v {
                                            assert_eq!(ran, 1);
                                            flow.entered.push((v, k));
                                        }
                                    }
                                }
                            }
                            flow
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let mut entered: HashMap<u64, u64> = HashMap::new();
            let mut left: HashSet<u64> = HashSet::new();
            for flow in &flows {
                for &(v, k) in &flow.entered {
                    assert!(entered.insert(v, k).is_none(), "value {v:#x} stored twice");
                }
            }
            for flow in &flows {
                for &v in &flow.left {
                    assert!(
                        left.insert(v),
                        "value {v:#x} left the map twice (two operations got it back)"
                    );
                    assert!(
                        entered.contains_key(&v),
                        "value {v:#x} left but was never stored"
                    );
                }
            }
            let mut want: Vec<(u64, u64)> = entered
                .iter()
                .filter(|(v, _)| !left.contains(v))
                .map(|(&v, &k)| (k, v))
                .collect();
            want.sort_unstable();
            let mut got: Vec<(u64, u64)> =
                map.snapshot().iter().map(|(&k, v)| (k, v.value)).collect();
            got.sort_unstable();
            if got != want {
                let extra: Vec<_> = got.iter().filter(|p| !want.contains(p)).collect();
                let missing: Vec<_> = want.iter().filter(|p| !got.contains(p)).collect();
                panic!(
                    "{}: the map holds {} (key, value) pairs, {} were stored and never \
                     taken out; in the map only: {extra:x?}; stored, never taken out, \
                     not in the map (lost): {missing:x?}",
                    config.name,
                    got.len(),
                    want.len()
                );
            }
            assert_eq!(map.len(), want.len(), "{}: len", config.name);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while ledger.alive() != 0 && std::time::Instant::now() < deadline {
            common::flush_epoch();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(
            ledger.alive(),
            0,
            "{}: {} of {} values never dropped",
            config.name,
            ledger.alive(),
            ledger.created()
        );
    });
    eprintln!("{ops} operations per thread on {KEYS} shared keys in every config: conserved");
}
