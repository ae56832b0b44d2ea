//! Deterministic hashers chosen by the fuzz input, including degenerate ones
//! that make equal split-order keys common.
//!
//! The map's split-order key of a hash (`splitmap::split_order_key`) drops
//! one bit of the hash's spread value, so some hashes share a split-order
//! key, and the map must compare keys along the whole run of equal
//! split-order keys. The `Bit63` kinds build such runs on purpose: they pass
//! their hash through `splitmap::hash_at_reversed_position`, under which
//! the split-order key is the hash reversed with bit 0 set, so hashes that
//! differ only in bit 63 share it.

use arbitrary::Arbitrary;
use std::hash::{BuildHasher, Hasher};

/// Which hash function a map of the run uses.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    /// The key's bytes mixed with the seed (splitmix64's finalizer): a good
    /// hash.
    Full,
    /// Only `1 + n % 4` distinct hashes: long runs of equal split-order keys
    /// in one bucket.
    Few(u8),
    /// A good hash with bit 63 always set.
    Bit63,
    /// Three low bits plus a free bit 63: 16 hashes over 8 split-order keys,
    /// every key sharing its split-order key with keys of another hash.
    Bit63Pairs,
    /// The key itself (little-endian bytes): structured, not mixed.
    Identity,
}

/// Distinct keys a run uses with a hasher of few hashes (see
/// [`HashKind::fold`]).
pub const FEW_HASH_KEYS: u16 = 64;

impl HashKind {
    /// Whether this hasher gives every key one of a handful of hashes
    /// (`Few`: 1 to 4, `Bit63Pairs`: 16 over 8 split-order keys), so the
    /// map is a few long runs of equal split-order keys and every operation
    /// scans a run.
    pub fn few_hashes(self) -> bool {
        matches!(self, HashKind::Few(_) | HashKind::Bit63Pairs)
    }

    /// The key a run uses for the input's key `k`: folded into
    /// `0..FEW_HASH_KEYS` for the few-hash kinds, unchanged otherwise.
    ///
    /// With one hash, `n` keys make one run of `n` nodes: every operation
    /// costs `O(n)`, and whole-map checks (building two comparison maps,
    /// probing every key) `O(n^2)`. Unfolded, a range op makes `n` reach
    /// 1,020 and a single input ran for seconds (the fuzzer made ~20
    /// inputs/s). Runs of up to 64 equal split-order keys exercise the same
    /// code (whole-run scans, insert positions inside a run, replacing and
    /// removing in the middle of one) at a fraction of the cost.
    pub fn fold(self, k: u16) -> u16 {
        if self.few_hashes() {
            k % FEW_HASH_KEYS
        } else {
            k
        }
    }

    /// A range of input keys, folded: each folded key once (a consecutive
    /// range folded past `FEW_HASH_KEYS` keys would only repeat them).
    pub fn fold_range(self, r: std::ops::Range<u16>) -> impl Iterator<Item = u16> {
        let distinct = if self.few_hashes() {
            usize::from(FEW_HASH_KEYS)
        } else {
            usize::MAX
        };
        r.map(move |k| self.fold(k)).take(distinct)
    }
}

/// The `BuildHasher` of the fuzzed maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuzzState {
    pub kind: HashKind,
    pub seed: u64,
}

impl FuzzState {
    pub fn new(kind: HashKind, seed: u8) -> Self {
        FuzzState {
            kind,
            seed: u64::from(seed),
        }
    }
}

impl BuildHasher for FuzzState {
    type Hasher = FuzzHasher;

    fn build_hasher(&self) -> FuzzHasher {
        FuzzHasher {
            acc: 0,
            raw: 0,
            raw_len: 0,
            state: *self,
        }
    }
}

/// See [`HashKind`].
#[derive(Debug)]
pub struct FuzzHasher {
    /// Every byte written, mixed in 8-byte chunks.
    acc: u64,
    /// The first 8 bytes written, little-endian (for `Identity`).
    raw: u64,
    raw_len: u32,
    state: FuzzState,
}

/// A bijective 64-bit mixer (splitmix64's finalizer).
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl FuzzHasher {
    /// Writes one chunk of `len <= 8` bytes, little-endian in `word`.
    #[inline]
    fn chunk(&mut self, word: u64, len: u32) {
        self.acc = mix(self.acc ^ word);
        if self.raw_len < 8 {
            self.raw |= word << (8 * self.raw_len);
            self.raw_len = (self.raw_len + len).min(8);
        }
    }
}

impl Hasher for FuzzHasher {
    fn write(&mut self, bytes: &[u8]) {
        // The good hash: each chunk of up to 8 bytes mixed into the state
        // (the keys are integers of at most 8 bytes: one chunk). It used to
        // be std's SipHash, which compiled into the instrumented runner cost
        // a tenth of a fuzzing run's time.
        for chunk in bytes.chunks(8) {
            let mut word = 0u64;
            for (i, &b) in chunk.iter().enumerate() {
                word |= u64::from(b) << (8 * i);
            }
            self.chunk(word, chunk.len() as u32);
        }
    }

    // The integer keys' paths: the same result as `write` of their
    // little-endian bytes, without the loops.
    fn write_u16(&mut self, k: u16) {
        self.chunk(u64::from(k), 2);
    }

    fn write_u64(&mut self, k: u64) {
        self.chunk(k, 8);
    }

    fn write_usize(&mut self, k: usize) {
        self.chunk(k as u64, usize::BITS / 8);
    }

    fn finish(&self) -> u64 {
        let h = mix(self.acc ^ mix(self.state.seed));
        match self.state.kind {
            HashKind::Full => h,
            HashKind::Few(n) => mix((h % (1 + u64::from(n % 4))) ^ self.state.seed),
            HashKind::Bit63 => splitmap::hash_at_reversed_position(h | 1 << 63),
            HashKind::Bit63Pairs => {
                splitmap::hash_at_reversed_position((h & 0b111) | ((h >> 3) & 1) << 63)
            }
            HashKind::Identity => self.raw,
        }
    }
}

/// The split-order key of a data node with this hash (the order in which the
/// map's iterators yield entries).
pub fn data_so_key(hash: u64) -> u64 {
    splitmap::split_order_key(hash)
}

/// The models' `BuildHasher` (std maps keyed by the runs' `u16` keys): one
/// multiply, where std's SipHash, compiled into the instrumented runner,
/// cost a tenth of a fuzzing run's time. Keys are small integers, so the
/// multiply spreads them over the high bits hashbrown reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct ModelState;

impl BuildHasher for ModelState {
    type Hasher = ModelHasher;

    fn build_hasher(&self) -> ModelHasher {
        ModelHasher(0)
    }
}

/// See [`ModelState`].
#[derive(Debug)]
pub struct ModelHasher(u64);

impl Hasher for ModelHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, k: u16) {
        self.0 = (self.0 ^ u64::from(k)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A model map: std's `HashMap` with [`ModelState`].
pub type ModelMap<K, V> = std::collections::HashMap<K, V, ModelState>;
