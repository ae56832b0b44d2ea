//! Shared test helpers. Each test binary uses a subset.
#![allow(dead_code, unreachable_pub)]

pub mod alloc;
pub mod lincheck;
pub mod race;
pub mod tracked;

use splitmap::SplitMap;
use std::hash::{BuildHasher, Hasher};

/// How `TestHasher` hashes: the configurations every behaviour runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashMode {
    /// A good deterministic hash (SipHash with fixed keys).
    Good,
    /// Only four distinct hashes: long runs of equal split-order keys.
    Few,
    /// Keys `2m` and `2m + 1` hash alike except in bit 63, placed so that
    /// split order drops that bit (`splitmap::hash_at_reversed_position`):
    /// equal `so_key`s with different keys everywhere.
    Bit63,
}

#[derive(Clone, Copy, Debug)]
pub struct TestHasher(pub HashMode);

impl Default for TestHasher {
    fn default() -> Self {
        TestHasher(HashMode::Good)
    }
}

pub struct ModeHasher {
    mode: HashMode,
    inner: std::hash::DefaultHasher,
    /// Set by `write_u64` in `Bit63` mode: the whole hash.
    fixed: Option<u64>,
}

impl Hasher for ModeHasher {
    fn finish(&self) -> u64 {
        let h = self.fixed.unwrap_or_else(|| self.inner.finish());
        match self.mode {
            HashMode::Good => h,
            HashMode::Bit63 => splitmap::hash_at_reversed_position(h),
            HashMode::Few => h % 4,
        }
    }
    fn write(&mut self, bytes: &[u8]) {
        self.inner.write(bytes);
    }
    fn write_u64(&mut self, k: u64) {
        if self.mode == HashMode::Bit63 {
            // Mix k/2, then put k's low bit in bit 63.
            let mut inner = std::hash::DefaultHasher::new();
            inner.write_u64(k >> 1);
            self.fixed = Some((inner.finish() & !(1 << 63)) | ((k & 1) << 63));
        } else {
            self.inner.write_u64(k);
        }
    }
}

impl BuildHasher for TestHasher {
    type Hasher = ModeHasher;
    fn build_hasher(&self) -> ModeHasher {
        ModeHasher {
            mode: self.0,
            inner: std::hash::DefaultHasher::new(),
            fixed: None,
        }
    }
}

/// One map set-up.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub name: &'static str,
    pub min_log2: u32,
    pub load_factor: usize,
    pub mode: HashMode,
}

impl Config {
    pub fn map<K, V>(&self) -> SplitMap<K, V, TestHasher> {
        SplitMap::with_layout(self.min_log2, self.load_factor, TestHasher(self.mode))
    }
}

/// The set-ups every behaviour runs under: default sizes, a tiny initial
/// directory with load factor 1 (growth and shrink on almost every
/// operation), and the two degenerate hashers.
pub const CONFIGS: &[Config] = &[
    Config {
        name: "default",
        min_log2: 2,
        load_factor: 2,
        mode: HashMode::Good,
    },
    Config {
        name: "tiny",
        min_log2: 0,
        load_factor: 1,
        mode: HashMode::Good,
    },
    Config {
        name: "few-hashes",
        min_log2: 0,
        load_factor: 1,
        mode: HashMode::Few,
    },
    Config {
        name: "bit63",
        min_log2: 0,
        load_factor: 2,
        mode: HashMode::Bit63,
    },
];

/// Runs `body` once per configuration, naming it on failure.
pub fn with_each_config(mut body: impl FnMut(&Config)) {
    for config in CONFIGS {
        eprintln!("config: {}", config.name);
        body(config);
    }
}

/// Flushes this thread's epoch garbage a bounded number of times.
pub fn flush_epoch() {
    for _ in 0..512 {
        crossbeam_epoch::pin().flush();
    }
}

/// Scales a size down under AddressSanitizer.
pub fn scaled(n: usize) -> usize {
    if cfg!(splitmap_asan) {
        (n / 10).max(1)
    } else {
        n
    }
}
