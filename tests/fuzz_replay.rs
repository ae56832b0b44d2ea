//! Replays the cargo-fuzz op-runners (`fuzz/src/runner/`) under plain
//! `cargo test`: on seeded random byte buffers and on the committed seed
//! corpus `fuzz/seeds/<target>/`, so the differential checks run in every
//! CI run even without cargo-fuzz or a nightly toolchain.
//!
//! A failing random buffer is saved under the target directory's
//! `tmp/fuzz-replay-failures/` (the panic message gives the path) so it can
//! be replayed with `cargo fuzz run <target> <file>`.

#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/runner/mod.rs"]
mod runner;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Random buffers per target (each decodes to about 50 ops on average).
#[cfg(not(splitmap_asan))]
const RANDOM_CASES: usize = 2000;
#[cfg(splitmap_asan)]
const RANDOM_CASES: usize = 200;
/// The largest random buffer (about 250 ops).
const MAX_LEN: usize = 1024;

/// Runs `run` on `cases` buffers from a fixed seed; sizes are skewed small
/// with a quarter up to `MAX_LEN`.
fn replay_random(target: &str, seed: u64, cases: usize, run: fn(&[u8])) {
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..cases {
        let len = match rng.random_range(0..4) {
            0 => rng.random_range(0..64),
            1 | 2 => rng.random_range(0..256),
            _ => rng.random_range(0..=MAX_LEN),
        };
        let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        replay_one(
            target,
            &format!("random case {case} (seed {seed})"),
            &data,
            run,
        );
    }
}

/// Runs every file of `fuzz/seeds/<target>/`; returns how many.
fn replay_seeds(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        replay_one(target, &file.display().to_string(), &data, run);
    }
    files.len()
}

/// Runs one buffer; on a panic saves it and fails naming where it is.
fn replay_one(target: &str, what: &str, data: &[u8], run: fn(&[u8])) {
    if catch_unwind(AssertUnwindSafe(|| run(data))).is_ok() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-replay-failures");
    let saved = std::fs::create_dir_all(&dir).and_then(|()| {
        let path = dir.join(format!("{target}-{:016x}", fnv(data)));
        std::fs::write(&path, data).map(|()| path)
    });
    match saved {
        Ok(path) => panic!(
            "{target}: {what} failed; input saved to {} (replay: cargo fuzz run {target} {})",
            path.display(),
            path.display()
        ),
        Err(e) => panic!("{target}: {what} failed (could not save the input: {e}): {data:?}"),
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn ops_random_buffers() {
    replay_random("ops", 0x5eed_0001, RANDOM_CASES, runner::ops::run_ops_bytes);
}

#[test]
fn ops_seed_corpus() {
    let n = replay_seeds("ops", runner::ops::run_ops_bytes);
    assert!(n > 0, "no seeds in fuzz/seeds/ops");
}

#[test]
fn threads_random_buffers() {
    replay_random(
        "threads",
        0x5eed_0002,
        RANDOM_CASES / 2,
        runner::threads::run_threads_bytes,
    );
}

#[test]
fn threads_seed_corpus() {
    let n = replay_seeds("threads", runner::threads::run_threads_bytes);
    assert!(n > 0, "no seeds in fuzz/seeds/threads");
}

#[test]
fn weak_random_buffers() {
    replay_random(
        "weak",
        0x5eed_0003,
        // Each weak op walks the list twice (`weak_stats`, `live_len`).
        RANDOM_CASES / 2,
        runner::weak::run_weak_bytes,
    );
}

#[test]
fn weak_seed_corpus() {
    let n = replay_seeds("weak", runner::weak::run_weak_bytes);
    assert!(n > 0, "no seeds in fuzz/seeds/weak");
}

#[test]
fn weak_identity_random_buffers() {
    replay_random(
        "weak_identity",
        0x5eed_0004,
        RANDOM_CASES / 2,
        runner::weak_identity::run_weak_identity_bytes,
    );
}

#[test]
fn weak_identity_seed_corpus() {
    let n = replay_seeds(
        "weak_identity",
        runner::weak_identity::run_weak_identity_bytes,
    );
    assert!(n > 0, "no seeds in fuzz/seeds/weak_identity");
}

#[test]
fn cache_random_buffers() {
    replay_random(
        "cache",
        0x5eed_0005,
        RANDOM_CASES,
        runner::cache::run_cache_bytes,
    );
}

#[test]
fn cache_seed_corpus() {
    let n = replay_seeds("cache", runner::cache::run_cache_bytes);
    assert!(n > 0, "no seeds in fuzz/seeds/cache");
}

/// The fuzz hasher's integer shortcuts (`write_u16`, `write_u64`,
/// `write_usize`) hash exactly as `write` of the same little-endian bytes,
/// for every hash kind: the runners' keys take the shortcuts, and a hasher
/// whose two paths disagreed would hash one key two ways.
#[test]
fn fuzz_hasher_integer_paths_match_bytes() {
    use runner::hash::{FuzzState, HashKind};
    use std::hash::{BuildHasher, Hasher};
    let kinds = [
        HashKind::Full,
        HashKind::Few(3),
        HashKind::Bit63,
        HashKind::Bit63Pairs,
        HashKind::Identity,
    ];
    let mut rng = StdRng::seed_from_u64(17);
    for kind in kinds {
        let state = FuzzState::new(kind, rng.random());
        let by_bytes = |bytes: &[u8]| {
            let mut h = state.build_hasher();
            h.write(bytes);
            h.finish()
        };
        for _ in 0..1000 {
            let k: u64 = rng.random();
            let mut h = state.build_hasher();
            h.write_u16(k as u16);
            assert_eq!(
                h.finish(),
                by_bytes(&(k as u16).to_le_bytes()),
                "{kind:?} u16 {k}"
            );
            let mut h = state.build_hasher();
            h.write_u64(k);
            assert_eq!(h.finish(), by_bytes(&k.to_le_bytes()), "{kind:?} u64 {k}");
            let mut h = state.build_hasher();
            h.write_usize(k as usize);
            assert_eq!(
                h.finish(),
                by_bytes(&(k as usize).to_le_bytes()),
                "{kind:?} usize {k}"
            );
            // Two writes: the second lands after the first's bytes.
            let mut h = state.build_hasher();
            h.write_u16(k as u16);
            h.write_u16((k >> 16) as u16);
            let mut b = state.build_hasher();
            b.write(&(k as u16).to_le_bytes());
            b.write(&((k >> 16) as u16).to_le_bytes());
            assert_eq!(h.finish(), b.finish(), "{kind:?} two u16 {k}");
        }
    }
}

/// The runners' drop tracker: `is_dropped` and `live` follow the drops,
/// across the bitset's word boundaries.
#[test]
fn fuzz_tracker_records_drops() {
    use runner::tracked::Tracker;
    let tracker = Tracker::new();
    let vals: Vec<_> = (0..200).map(|n| tracker.val(n)).collect();
    let ids: Vec<u64> = vals.iter().map(|v| v.id).collect();
    let goes = |id: u64| id % 3 == 0 || id == 63 || id == 64;
    let (gone, kept): (Vec<_>, Vec<_>) = vals.into_iter().partition(|v| goes(v.id));
    drop(gone);
    assert_eq!(tracker.live(), kept.len() as u64);
    for &id in &ids {
        assert_eq!(tracker.is_dropped(id), goes(id), "value #{id}");
    }
    assert!(!tracker.is_dropped(1_000_000), "an id never made");
    drop(kept);
    assert_eq!(tracker.live(), 0);
    assert!(ids.iter().all(|&id| tracker.is_dropped(id)));
}
