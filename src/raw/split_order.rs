//! Split-order key math (Shalev–Shavit).
//!
//! The whole map is one list sorted by `so_key`. A data node's key is its hash
//! with the bits reversed and the low bit set; the sentinel of bucket `b` is
//! `b` reversed (low bit clear), so it sorts just before the data of its
//! bucket. Doubling the bucket count splits every bucket in two without
//! moving a node. This module is pure arithmetic and owns nothing else.

/// Largest supported `log2` of the bucket count: a bucket number,
/// bit-reversed, must leave the low bits of a reference word free for its
/// tags (`node.rs`).
pub(crate) const MAX_LOG2: u32 = if usize::BITS >= 64 { 40 } else { 28 };

/// The split-order key of a data node with this hash. Always odd.
///
/// Hash bit 63 lands in bit 0, which is then forced to 1: two hashes that
/// differ only in bit 63 share a key, so searches must compare keys on equal
/// `so_key` runs.
#[inline]
pub(crate) const fn data_so_key(hash: u64) -> u64 {
    hash.reverse_bits() | 1
}

/// The split-order key of the sentinel of `bucket`. Always even.
#[inline]
pub(crate) const fn sentinel_so_key(bucket: usize) -> u64 {
    (bucket as u64).reverse_bits()
}

/// `true` for a sentinel's key, `false` for a data node's.
#[cfg(test)]
#[inline]
pub(crate) const fn is_sentinel_key(so_key: u64) -> bool {
    so_key & 1 == 0
}

/// The bucket of `hash` when there are `1 << log2` buckets.
#[inline]
pub(crate) const fn bucket_of(hash: u64, log2: u32) -> usize {
    (hash & ((1u64 << log2) - 1)) as usize
}

/// The parent of a bucket: the bucket with its highest set bit cleared.
/// Its sentinel precedes `bucket`'s sentinel in the list. `bucket` must be > 0.
#[inline]
pub(crate) const fn parent_bucket(bucket: usize) -> usize {
    debug_assert!(bucket > 0);
    bucket & !(1usize << (usize::BITS - 1 - bucket.leading_zeros()))
}

/// The directory level holding `bucket` and the bucket's index inside it.
///
/// Level 0 holds bucket 0; level `k >= 1` holds buckets `[2^(k-1), 2^k)`.
/// Branch-free: the level is the bit length, the index the bucket without
/// its top bit (bucket 0: index 0 under any mask).
#[inline]
pub(crate) const fn level_of(bucket: usize) -> (usize, usize) {
    let level = (usize::BITS - bucket.leading_zeros()) as usize;
    let below_top_bit = (usize::MAX >> 1).wrapping_shr(bucket.leading_zeros());
    (level, bucket & below_top_bit)
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn data_keys_are_odd_and_sentinels_even() {
        for h in [0u64, 1, 2, 0xdead_beef, u64::MAX, 1 << 63] {
            assert_eq!(data_so_key(h) & 1, 1);
            assert!(!is_sentinel_key(data_so_key(h)));
        }
        for b in 0..4096usize {
            assert!(is_sentinel_key(sentinel_so_key(b)));
        }
    }

    #[test]
    fn hash_bit_63_is_lost() {
        assert_eq!(data_so_key(5), data_so_key(5 | (1 << 63)));
        assert_ne!(data_so_key(5), data_so_key(6));
    }

    #[test]
    fn bit_reversal_matches_naive() {
        fn naive(x: u64) -> u64 {
            (0..64).fold(0, |acc, i| acc | (((x >> i) & 1) << (63 - i)))
        }
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..1000 {
            assert_eq!(data_so_key(x), naive(x) | 1);
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
        }
    }

    #[test]
    fn parents_clear_the_top_bit() {
        assert_eq!(parent_bucket(1), 0);
        assert_eq!(parent_bucket(2), 0);
        assert_eq!(parent_bucket(3), 1);
        assert_eq!(parent_bucket(6), 2);
        assert_eq!(parent_bucket(13), 5);
        for b in 1..1 << 12 {
            let p = parent_bucket(b);
            assert!(p < b);
            assert_eq!(b.count_ones(), p.count_ones() + 1);
            // The parent's sentinel sorts before the child's.
            assert!(sentinel_so_key(p) < sentinel_so_key(b));
        }
    }

    /// Exhaustive over 2^10 buckets: every data key of bucket `b` (at size
    /// 2^10) lies strictly between `b`'s sentinel and the next sentinel in
    /// split order, so a bucket's data is exactly the run after its sentinel.
    #[test]
    fn data_sorts_between_its_sentinel_and_the_next() {
        const LOG2: u32 = 10;
        let mut sentinels: Vec<(u64, usize)> = (0..1usize << LOG2)
            .map(|b| (sentinel_so_key(b), b))
            .collect();
        sentinels.sort();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let key = data_so_key(rng);
            let b = bucket_of(rng, LOG2);
            let idx = sentinels.partition_point(|&(so, _)| so < key);
            assert_eq!(sentinels[idx - 1].1, b, "hash {rng:#x}");
        }
    }

    #[test]
    fn levels_tile_the_buckets() {
        let mut expected = (0usize, 0usize);
        for b in 0..1usize << 12 {
            let (level, idx) = level_of(b);
            if b > 0 && idx == 0 {
                expected = (expected.0 + 1, 0);
            }
            assert_eq!((level, idx), expected, "bucket {b}");
            assert!(idx < level_len(level));
            expected.1 += 1;
        }
    }
}
