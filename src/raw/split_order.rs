//! Split-order key math (Shalev–Shavit), in top-bit order.
//!
//! The whole map is one list sorted by `so_key`. A data node's key is its
//! hash, spread by one multiply (below), with the low bit set; with `2^L`
//! buckets a key's bucket is its top `L` bits, and the bucket's sentinel
//! key is those bits with every lower bit clear (low bit clear: a sentinel
//! sorts just before the data of its bucket). Doubling the bucket count
//! splits every bucket in two without moving a node, as in the original
//! bit-reversed split order, whose list this is: Shalev and Shavit reverse
//! the hash to put its low bits on top; taking the top bits as the bucket
//! gives the same structure with no reversal on the read path.
//!
//! The core names a bucket by its sentinel key `s`, never by a number:
//! - the bucket of `so_key` at `2^L` buckets: `so_key & bucket_mask(L)`;
//! - the parent of `s` (the bucket it split from): `s` with its lowest set
//!   bit cleared;
//! - its directory level: `64 - trailing_zeros(s)` (level 0 holds the
//!   sentinel 0, level `k >= 1` the `2^(k-1)` sentinels whose lowest set
//!   bit is bit `64 - k`), and its index in the level
//!   `s >> (trailing_zeros(s) + 1)`, so a level's slots are stored in
//!   split order and a range of them is a range of keys.
//!
//! ## Why the multiply
//! With an identity hasher (integer keys hashed to themselves, a common
//! choice), the top bits of small keys are all zero, and every key would
//! land in bucket 0. Multiplying by an odd constant (Fibonacci hashing)
//! spreads the low bits to the top; it is a bijection on `u64`, so no two
//! hashes collide that did not already.
//!
//! This module is pure arithmetic and owns nothing else.

/// Largest supported `log2` of the bucket count: a sentinel key must leave
/// the low bits of a reference word free for its tags (`node.rs`).
pub(crate) const MAX_LOG2: u32 = if usize::BITS >= 64 { 40 } else { 28 };

/// The odd constant a hash is multiplied by (`2^64` divided by the golden
/// ratio, rounded to odd).
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;
/// The inverse of [`SPREAD`] modulo `2^64`.
const SPREAD_INVERSE: u64 = 0xF1DE_83E1_9937_733D;
const _: () = assert!(SPREAD.wrapping_mul(SPREAD_INVERSE) == 1);

/// The split-order key of a data node with this hash. Always odd.
///
/// The spread hash's bit 0 is forced to 1: two hashes whose spread values
/// differ only in bit 0 share a key, so searches must compare keys on
/// equal `so_key` runs.
#[inline(always)]
pub(crate) const fn data_so_key(hash: u64) -> u64 {
    hash.wrapping_mul(SPREAD) | 1
}

/// A hash whose data key is `reverse_bits(k) | 1`: it places `k` where the
/// bit-reversed split order put a key whose hash was `k` (its low bits
/// choose its bucket). For tests and models that place keys by hand.
pub(crate) const fn hash_at_reversed_position(k: u64) -> u64 {
    k.reverse_bits().wrapping_mul(SPREAD_INVERSE)
}

/// The mask that keeps a key's top `log2` bits: its bucket's sentinel key
/// at `2^log2` buckets. `log2` may come with other bits above bit 5 (only
/// its low six bits count), so the directory's state word can be passed
/// as it is.
#[inline(always)]
pub(crate) const fn bucket_mask(log2: u64) -> u64 {
    !(u64::MAX.wrapping_shr(log2 as u32))
}

/// The sentinel key of the bucket holding `so_key` at `2^log2` buckets.
#[inline(always)]
pub(crate) const fn sentinel_of(so_key: u64, log2: u32) -> u64 {
    so_key & bucket_mask(log2 as u64)
}

/// The parent of the sentinel `s` (`s > 0`): the bucket it split from, at
/// a lower level. Its sentinel precedes `s`'s in the list.
#[inline]
pub(crate) const fn parent_sentinel(s: u64) -> u64 {
    debug_assert!(s > 0);
    s & (s - 1)
}

/// The directory level of the sentinel `s`.
#[inline]
pub(crate) const fn level_of_sentinel(s: u64) -> usize {
    64 - s.trailing_zeros() as usize
}

/// The place of the sentinel `s` in the directory: the index of its
/// level's word in a level table ordered by trailing zeros (`64 - level`),
/// and its index inside the level. Branch-free (sentinel 0: 64 and 0).
#[inline(always)]
pub(crate) const fn slot_of_sentinel(s: u64) -> (usize, usize) {
    let tz = s.trailing_zeros();
    // `tz & 63`: for s = 0 the shift is 0 and the index 0 >> 1 = 0.
    (tz as usize, ((s >> (tz & 63)) >> 1) as usize)
}

/// The sentinel key at index `idx` of directory level `level`.
#[inline]
pub(crate) const fn sentinel_at(level: usize, idx: usize) -> u64 {
    if level == 0 {
        0
    } else {
        ((2 * idx as u64) | 1) << (64 - level)
    }
}

/// Number of slots in directory level `level`.
#[inline]
pub(crate) const fn level_len(level: usize) -> usize {
    if level == 0 {
        1
    } else {
        1usize << (level - 1)
    }
}

/// `true` for a sentinel's key, `false` for a data node's.
#[cfg(test)]
#[inline]
pub(crate) const fn is_sentinel_key(so_key: u64) -> bool {
    so_key & 1 == 0
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn data_keys_are_odd_and_sentinels_even() {
        for h in [0u64, 1, 2, 0xdead_beef, u64::MAX, 1 << 63] {
            assert_eq!(data_so_key(h) & 1, 1);
            assert!(!is_sentinel_key(data_so_key(h)));
        }
        for level in 0..12 {
            for idx in 0..level_len(level) {
                assert!(is_sentinel_key(sentinel_at(level, idx)));
            }
        }
    }

    #[test]
    fn the_spread_is_a_bijection_that_moves_low_bits_up() {
        // Small keys (an identity hasher) spread over the top bits.
        let buckets: std::collections::HashSet<u64> =
            (0..1024u64).map(|k| data_so_key(k) >> 54).collect();
        assert!(
            buckets.len() > 600,
            "{} of 1024 top-10-bit buckets",
            buckets.len()
        );
        // Only hashes whose spread differs in bit 0 share a key.
        let h = 12345u64;
        let twin = (h.wrapping_mul(SPREAD) ^ 1).wrapping_mul(SPREAD_INVERSE);
        assert_ne!(h, twin);
        assert_eq!(data_so_key(h), data_so_key(twin));
        assert_ne!(data_so_key(h), data_so_key(h + 1));
    }

    #[test]
    fn reversed_positions_match_the_bit_reversed_order() {
        for k in [0u64, 1, 2, 3, 600, 1 << 40, u64::MAX] {
            assert_eq!(
                data_so_key(hash_at_reversed_position(k)),
                k.reverse_bits() | 1
            );
        }
    }

    #[test]
    fn sentinels_tile_the_levels_in_split_order() {
        let mut previous = None;
        for level in 0..12usize {
            for idx in 0..level_len(level) {
                let s = sentinel_at(level, idx);
                assert_eq!(level_of_sentinel(s), level, "{s:#x}");
                let (tz, i) = slot_of_sentinel(s);
                assert_eq!((64 - tz, i), (level, idx), "{s:#x}");
                if let Some(p) = previous.filter(|_| idx > 0) {
                    assert!(p < s, "a level's slots are in split order");
                }
                previous = Some(s);
            }
        }
    }

    #[test]
    fn parents_are_lower_down_and_sort_first() {
        for level in 1..12usize {
            for idx in 0..level_len(level) {
                let s = sentinel_at(level, idx);
                let p = parent_sentinel(s);
                assert!(p == 0 || level_of_sentinel(p) < level);
                assert!(p < s);
                // The bucket `s` splits from contains `s`'s keys at the
                // smaller size.
                assert_eq!(sentinel_of(s | 1, level as u32 - 1), p);
            }
        }
    }

    /// Exhaustive over 2^10 buckets: every data key of a bucket lies
    /// strictly between the bucket's sentinel and the next sentinel in
    /// split order, so a bucket's data is exactly the run after its
    /// sentinel.
    #[test]
    fn data_sorts_between_its_sentinel_and_the_next() {
        const LOG2: u32 = 10;
        let mut sentinels: Vec<u64> = (0..=LOG2 as usize)
            .flat_map(|level| (0..level_len(level)).map(move |i| sentinel_at(level, i)))
            .collect();
        sentinels.sort_unstable();
        assert_eq!(sentinels.len(), 1 << LOG2);
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let key = data_so_key(rng);
            let own = sentinel_of(key, LOG2);
            let idx = sentinels.partition_point(|&s| s < key);
            assert_eq!(sentinels[idx - 1], own, "hash {rng:#x}");
        }
    }

    #[test]
    fn the_mask_takes_the_state_word_as_it_is() {
        assert_eq!(bucket_mask(0), 0);
        assert_eq!(bucket_mask(1), 1 << 63);
        assert_eq!(bucket_mask(40), !((1u64 << 24) - 1));
        // Bits above the low six are ignored (the state word's other fields).
        assert_eq!(bucket_mask(40 | (7 << 6) | (1 << 12)), bucket_mask(40));
    }
}
