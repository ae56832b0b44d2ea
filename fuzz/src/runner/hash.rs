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
use std::collections::hash_map::DefaultHasher;
use std::hash::{BuildHasher, Hasher};

/// Which hash function a map of the run uses.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    /// SipHash with fixed keys, mixed with the seed: a good hash.
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
            sip: DefaultHasher::new(),
            raw: 0,
            raw_len: 0,
            state: *self,
        }
    }
}

/// See [`HashKind`].
#[derive(Debug)]
pub struct FuzzHasher {
    sip: DefaultHasher,
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

impl Hasher for FuzzHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.sip.write(bytes);
        for &b in bytes {
            if self.raw_len < 8 {
                self.raw |= u64::from(b) << (8 * self.raw_len);
                self.raw_len += 1;
            }
        }
    }

    fn finish(&self) -> u64 {
        let h = self.sip.finish() ^ mix(self.state.seed);
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
