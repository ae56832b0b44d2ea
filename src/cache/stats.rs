//! What a cache has done: hits, misses, insertions and departures by cause,
//! counted per thread stripe (so readers on different threads never write
//! the same cache line), plus the map's own memory figures; and how often
//! each key was asked for lately ([`FrequencySketch`]), which the size
//! bound's admission reads.

use super::listener::RemovalCause;
use crate::stats::MapStats;
use crate::sync::{
    prefetch, stripe_count, thread_stripe_hint, AtomicIsize, AtomicU64, CachePadded, HeuristicU64,
    Ordering,
};

/// One stripe of event counts. Only ever moved by atomic add.
#[derive(Default)]
struct Stripe {
    hits: AtomicU64,
    misses: AtomicU64,
    insertions: AtomicU64,
    /// Departures, indexed by `cause_index`.
    left: [AtomicU64; 4],
    /// Sketch increments counted on this stripe (toward aging).
    sketched: HeuristicU64,
}

/// How often each key was asked for lately: a count-min sketch of 4-bit
/// counters (TinyLFU, as in Caffeine and moka), read by the size bound's
/// admission (`evict.rs`): a new entry displaces a resident only if its key
/// was asked for more often.
///
/// - **Layout.** `u64` words of 16 counters; a key (its 32-bit fingerprint,
///   from the cache's hash) has 4 counters in one 64-byte block of 8
///   words, one per pair of words, so an access touches one cache line.
/// - **Counting.** Every read of a key (hit or miss) and every write counts
///   once. Conservative update: only the counters at the key's minimum go
///   up, so a key's estimate grows no faster than its accesses. A counter
///   at 15 stays there: a hot key, once saturated, costs four loads and no
///   write, so readers of hot keys share the line read-only.
/// - **Aging.** After `period` counted increments (`16 x` the table's
///   counters / 4, counted per thread stripe and summed loosely: each
///   stripe triggers at its share), one thread (a try-flag) halves every
///   counter, so the sketch follows a changing popularity.
/// - **No lock.** Increments are a relaxed load and store of the word (not
///   a read-modify-write): two threads counting in the same word at once
///   may lose one count, which an estimate tolerates; a halving racing an
///   increment likewise.
///
/// Sized from the bound when the cache is built (`8 B x` the next power of
/// two of `max(max_capacity, 4096)` words, at most 2^22), and only for a
/// bounded cache. Blocks are 64-byte aligned, so a key's counters never
/// straddle two cache lines.
pub(crate) struct FrequencySketch {
    table: Box<[Block]>,
    /// Blocks, minus one (a power of two minus one).
    block_mask: usize,
    /// Counted increments per stripe between two halvings, minus one (a
    /// power of two minus one: a mask, not a division, per increment).
    per_stripe_period_mask: u64,
    /// Try-flag of the halving walk.
    aging: HeuristicU64,
}

/// One cache line of counters: 8 words of 16 four-bit counters.
#[repr(align(64))]
struct Block([HeuristicU64; 8]);

/// A fingerprint spread over 64 bits by one multiply: the high half picks
/// the block, the low half the counters in it.
#[inline]
fn spread(fp: u32) -> u64 {
    u64::from(fp).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Where a key's four counters are: the block, and per counter `i` the
/// word (`2i` or `2i + 1`) and the shift within it.
struct Place {
    block: usize,
    word: [usize; 4],
    shift: [u32; 4],
}

crate::sync::thread_local! {
    /// The fingerprint of this thread's last read that missed (see
    /// `Counters::written`).
    // Not `const`-initialized: loom's `thread_local!` does not take it.
    #[allow(clippy::missing_const_for_thread_local)]
    static LAST_MISS: core::cell::Cell<Option<u32>> = core::cell::Cell::new(None);
}

/// Counters' maximum.
const MAX_COUNT: u64 = 15;

impl FrequencySketch {
    /// A sketch for a cache bounded at `capacity` (entries or weight), its
    /// aging period shared by `stripes` (a power of two) counting stripes.
    pub(crate) fn new(capacity: usize, stripes: usize) -> Self {
        let words = capacity.clamp(4096, 1 << 22).next_power_of_two();
        // Aging period: 16 increments per word (Caffeine uses ten times the
        // capacity); the stripes share it. Both powers of two.
        let period = (words as u64) * 16;
        let per_stripe = (period / stripes as u64).max(64);
        debug_assert!(per_stripe.is_power_of_two());
        FrequencySketch {
            table: (0..words / 8)
                .map(|_| Block(core::array::from_fn(|_| HeuristicU64::new(0))))
                .collect(),
            block_mask: words / 8 - 1,
            per_stripe_period_mask: per_stripe - 1,
            aging: HeuristicU64::new(0),
        }
    }

    /// The counters of fingerprint `fp`: one multiply spreads it; the high
    /// half picks the block, byte `i` of the low half counter `i`'s word
    /// (its low bit) and nibble (the next four).
    #[inline]
    fn place(&self, fp: u32) -> Place {
        let h = spread(fp);
        let block = self.block_of(h);
        let mut word = [0; 4];
        let mut shift = [0; 4];
        for i in 0..4 {
            let bits = (h >> (8 * i)) as u32;
            word[i] = i * 2 + (bits & 1) as usize;
            shift[i] = ((bits >> 1) & 15) * 4;
        }
        Place { block, word, shift }
    }

    /// The block a spread fingerprint's counters live in.
    #[inline]
    fn block_of(&self, h: u64) -> usize {
        (h >> 32) as usize & self.block_mask
    }

    /// Starts loading the cache line of `fp`'s counters (see
    /// [`Counters::prefetch_sketch`]).
    #[inline]
    fn prefetch(&self, fp: u32) {
        prefetch(&self.table[self.block_of(spread(fp))]);
    }

    /// The block at `at`, the four words holding the key's counters, and
    /// the four counters.
    #[inline]
    fn read(&self, at: &Place) -> (&Block, [u64; 4], [u64; 4]) {
        let block = &self.table[at.block];
        let words: [u64; 4] = core::array::from_fn(|i| block.0[at.word[i]].load(Ordering::Relaxed));
        let counts = core::array::from_fn(|i| (words[i] >> at.shift[i]) & MAX_COUNT);
        (block, words, counts)
    }

    /// The smallest of a key's four counters: its estimate.
    #[inline]
    fn min_of(counts: [u64; 4]) -> u64 {
        counts[0].min(counts[1]).min(counts[2]).min(counts[3])
    }

    /// The estimate of how often `fp` was asked for lately (0..=15).
    #[inline]
    pub(crate) fn estimate(&self, fp: u32) -> u64 {
        let (_, _, counts) = self.read(&self.place(fp));
        Self::min_of(counts)
    }

    /// Counts one access of `fp`; `true` if a counter moved (the caller
    /// counts those toward the aging period). One pass: the four words are
    /// read once, and the counters at the minimum (conservative update)
    /// raised (each counter of a key is in its own word).
    #[inline]
    fn increment(&self, fp: u32) -> bool {
        let at = self.place(fp);
        let (block, words, counts) = self.read(&at);
        let min = Self::min_of(counts);
        if min >= MAX_COUNT {
            return false;
        }
        // All four stored, without a branch (the counters at the minimum
        // plus one, the others as read): the line is written anyway, and
        // which counters sit at the minimum is a coin toss a branch would
        // mispredict (0.76 per access, measured).
        for (i, &word) in words.iter().enumerate() {
            let bump = u64::from(counts[i] == min) << at.shift[i];
            block.0[at.word[i]].store(word + bump, Ordering::Relaxed);
        }
        true
    }

    /// Halves every counter (one thread at a time; others skip).
    fn age(&self) {
        if self
            .aging
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        for w in self.table.iter().flat_map(|b| b.0.iter()) {
            let v = w.load(Ordering::Relaxed);
            w.store((v >> 1) & 0x7777_7777_7777_7777, Ordering::Relaxed);
        }
        self.aging.store(0, Ordering::Release);
    }

    /// Heap bytes of the table.
    pub(crate) fn bytes(&self) -> usize {
        self.table.len() * core::mem::size_of::<Block>()
    }
}

/// Striped event counters of one cache, and its one shared count.
pub(crate) struct Counters {
    stripes: Box<[CachePadded<Stripe>]>,
    /// Entries in the cache: +1 after an insert's link CAS, -1 after the
    /// CAS that took an entry out (any cause but `Replaced`). One shared
    /// line, on purpose: the size bound needs a count that is never off by
    /// more than the operations in flight (at most one per thread), and a
    /// sum of per-thread stripes is not (a reader preempted between two
    /// stripes misses every write made meanwhile: 5,700 over a bound of
    /// 200 was seen on 2 cores). Kept only by bounded (or weighted)
    /// caches: an unbounded cache has no bound to hold, and its `len` is
    /// the map's own striped count, so its writers share no line.
    live: Option<CachePadded<AtomicIsize>>,
    /// The weight of the entries in the cache, kept only with a weigher
    /// (the same argument as `live`: one shared count).
    weight: Option<CachePadded<AtomicIsize>>,
    /// The access frequencies (bounded caches only).
    pub(crate) sketch: Option<FrequencySketch>,
}

fn cause_index(cause: RemovalCause) -> usize {
    match cause {
        RemovalCause::Expired => 0,
        RemovalCause::Size => 1,
        RemovalCause::Removed => 2,
        RemovalCause::Replaced => 3,
    }
}

impl Counters {
    /// Counters of a cache; `weighted`: keep the weight too; a bound:
    /// keep a frequency sketch sized from it. Either: keep the live count.
    pub(crate) fn new(weighted: bool, bound: Option<usize>) -> Self {
        let n = stripe_count();
        Counters {
            sketch: bound.map(|cap| FrequencySketch::new(cap, n)),
            stripes: (0..n)
                .map(|_| CachePadded::new(Stripe::default()))
                .collect(),
            live: (weighted || bound.is_some()).then(|| CachePadded::new(AtomicIsize::new(0))),
            weight: weighted.then(|| CachePadded::new(AtomicIsize::new(0))),
        }
    }

    /// Adds (or takes back) weight, with a weigher.
    #[inline]
    fn add_weight(&self, delta: isize) {
        if let Some(w) = &self.weight {
            w.fetch_add(delta, Ordering::Relaxed);
        }
    }

    /// The weight of the entries in the cache (0 without a weigher); off
    /// like `live` by the writes in flight.
    #[inline]
    pub(crate) fn weight(&self) -> usize {
        self.weight
            .as_ref()
            .map_or(0, |w| w.load(Ordering::Relaxed).max(0) as usize)
    }

    /// A value of weight `weight` replaced a live one (whose departure
    /// takes its own weight back).
    #[inline]
    pub(crate) fn replaced_by(&self, weight: u32) {
        self.add_weight(weight as isize);
    }

    #[inline]
    fn local(&self) -> &Stripe {
        &self.stripes[thread_stripe_hint() & (self.stripes.len() - 1)]
    }

    /// Starts loading the sketch line of `fp`'s key (if there is a sketch),
    /// for an access this operation counts after its walk: the line's miss
    /// then overlaps the walk's instead of following them.
    #[inline]
    pub(crate) fn prefetch_sketch(&self, fp: u32) {
        if let Some(sketch) = &self.sketch {
            sketch.prefetch(fp);
        }
    }

    /// Counts one access of the key with fingerprint `fp` in the sketch
    /// (if any), and ages the sketch when its period is up.
    #[inline]
    pub(crate) fn accessed(&self, fp: u32) {
        let Some(sketch) = &self.sketch else { return };
        if sketch.increment(fp) {
            let local = &self.local().sketched;
            let n = local.load(Ordering::Relaxed) + 1;
            local.store(n, Ordering::Relaxed);
            if n & sketch.per_stripe_period_mask == 0 {
                sketch.age();
            }
        }
    }

    /// Counts a write of `fp`'s key, unless this thread's last read missed
    /// that key (get, then insert on a miss, is one request: one count).
    #[inline]
    pub(crate) fn written(&self, fp: u32) {
        if self.sketch.is_none() {
            return;
        }
        let counted = LAST_MISS
            .try_with(|last| last.replace(None) == Some(fp))
            .unwrap_or(false);
        if !counted {
            self.accessed(fp);
        }
    }

    /// Counts a read that missed `fp`'s key (and remembers it for the
    /// write that may follow).
    #[inline]
    pub(crate) fn read_missed(&self, fp: u32) {
        if self.sketch.is_none() {
            return;
        }
        let _ = LAST_MISS.try_with(|last| last.set(Some(fp)));
        self.accessed(fp);
    }

    /// The sketch's estimate for `fp` (0 without a sketch).
    #[inline]
    pub(crate) fn frequency(&self, fp: u32) -> u64 {
        self.sketch.as_ref().map_or(0, |s| s.estimate(fp))
    }

    #[inline]
    pub(crate) fn hit(&self) {
        self.local().hits.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn miss(&self) {
        self.local().misses.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn inserted(&self, weight: u32) {
        self.local().insertions.fetch_add(1, Ordering::Relaxed);
        if let Some(live) = &self.live {
            live.fetch_add(1, Ordering::Relaxed);
        }
        self.add_weight(weight as isize);
    }

    /// A new entry refused before it was published: counted as inserted
    /// and evicted (`Size`), and never in the live count.
    #[inline]
    pub(crate) fn refused(&self) {
        let stripe = self.local();
        stripe.insertions.fetch_add(1, Ordering::Relaxed);
        stripe.left[cause_index(RemovalCause::Size)].fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn count_departure(&self, cause: RemovalCause, weight: u32) {
        self.local().left[cause_index(cause)].fetch_add(1, Ordering::Relaxed);
        if let (Some(live), false) = (&self.live, cause == RemovalCause::Replaced) {
            live.fetch_sub(1, Ordering::Relaxed);
        }
        self.add_weight(-(weight as isize));
    }

    /// Entries in the cache (expired ones not yet purged included); off by
    /// at most the inserts and removals in flight (a removal may be counted
    /// before the insert it undoes, so a transient negative reads as 0).
    /// `None` in an unbounded, unweighted cache, which keeps no such count
    /// (its `len` is the map's).
    #[inline]
    pub(crate) fn live(&self) -> Option<usize> {
        self.live
            .as_ref()
            .map(|live| live.load(Ordering::Relaxed).max(0) as usize)
    }

    fn sum(&self, f: impl Fn(&Stripe) -> &AtomicU64) -> u64 {
        self.stripes
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// The totals, with the map's figures.
    pub(crate) fn report(&self, map: MapStats, entry_bytes: usize) -> CacheStats {
        let left = |cause| self.sum(|s| &s.left[cause_index(cause)]);
        CacheStats {
            hits: self.sum(|s| &s.hits),
            misses: self.sum(|s| &s.misses),
            insertions: self.sum(|s| &s.insertions),
            expired: left(RemovalCause::Expired),
            evicted_size: left(RemovalCause::Size),
            removed: left(RemovalCause::Removed),
            replaced: left(RemovalCause::Replaced),
            entry_bytes,
            sketch_bytes: self.sketch.as_ref().map_or(0, FrequencySketch::bytes),
            map,
            weighted_size: self.weight.as_ref().map(|_| self.weight() as u64),
            loads_in_progress: 0,
            load_waiters: 0,
        }
    }
}

/// A point-in-time report of a [`SplitCache`](crate::SplitCache): its
/// event counts and its memory.
///
/// Counts are read from per-thread stripes without stopping anyone, so under
/// concurrent operations each is a recent value, not one consistent cut.
/// Departures are counted when they are reported to the listener (once per
/// entry, whether or not a listener is set).
///
/// # Examples
/// ```
/// let cache: splitmap::SplitCache<u32, u32> = splitmap::SplitCache::builder().build();
/// cache.insert(1, 10);
/// assert_eq!(cache.get(&1), Some(10));
/// assert_eq!(cache.get(&2), None);
/// cache.remove(&1);
/// let s = cache.stats();
/// assert_eq!((s.hits, s.misses, s.insertions, s.removed), (1, 1, 1, 1));
/// assert_eq!(s.hit_ratio(), 0.5);
/// assert_eq!(s.map.len, 0);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CacheStats {
    /// Reads (`get`, `with_value`, `get_or_insert_with`, the loads of `get_with` and its kin) that found a live
    /// entry. `contains_key` is not a read here: it counts nothing and
    /// refreshes no idle time.
    pub hits: u64,
    /// Reads that found none (absent or expired).
    pub misses: u64,
    /// Entries added for a key that had no live entry (a write over a live
    /// key is a replacement, counted in `replaced`).
    pub insertions: u64,
    /// Entries that left because their deadline passed.
    pub expired: u64,
    /// Entries evicted by the size bound.
    pub evicted_size: u64,
    /// Entries removed by `remove`, `retain` or `clear`.
    pub removed: u64,
    /// Values replaced by a write to their key.
    pub replaced: u64,
    /// Heap bytes of one entry's node (list header, key, value, deadline
    /// and access word), as requested from the allocator.
    pub entry_bytes: usize,
    /// Heap bytes of the frequency sketch the size bound's admission reads
    /// (one 8-byte word per entry of the bound, rounded up to a power of two:
    /// 8-16 B per entry, at least 32 KiB, at most 32 MiB; 0 for a
    /// cache without a bound). Not in `map`'s figures.
    pub sketch_bytes: usize,
    /// The underlying map's figures (length, memory, history); see
    /// [`MapStats`]. `map.len` counts expired entries not yet purged.
    pub map: MapStats,
    /// With a weigher: the weight of the entries in the cache (what
    /// `max_capacity` bounds); `None` without one.
    pub weighted_size: Option<u64>,
    /// Loads of [`get_with`](crate::SplitCache::get_with) and its kin in
    /// progress: keys whose loader runs (0 once every load has ended,
    /// panicked or failed).
    pub loads_in_progress: usize,
    /// Callers waiting for another caller's load of their key now.
    pub load_waiters: usize,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or 0 before the first read.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder().build();
    /// assert_eq!(cache.stats().hit_ratio(), 0.0);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        }
    }

    /// Entries that left for any reason.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder().build();
    /// cache.insert(1, 1);
    /// cache.clear();
    /// assert_eq!(cache.stats().departures(), 1);
    /// ```
    pub fn departures(&self) -> u64 {
        self.expired + self.evicted_size + self.removed + self.replaced
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_keys_counters_sit_in_one_aligned_cache_line() {
        let sketch = FrequencySketch::new(4096, 1);
        assert_eq!(core::mem::align_of::<Block>(), 64);
        assert_eq!(sketch.table.as_ptr() as usize % 64, 0);
        for fp in [0u32, 1, 0xDEAD_BEEF, u32::MAX] {
            let at = sketch.place(fp);
            assert!(at.block <= sketch.block_mask);
            for i in 0..4 {
                // Counter `i` in word 2i or 2i + 1: one word per counter.
                assert!(at.word[i] / 2 == i, "fp {fp:#x} counter {i}");
                assert!(at.shift[i] % 4 == 0 && at.shift[i] < 64);
            }
        }
    }

    #[test]
    fn counts_grow_by_one_per_access_and_stop_at_fifteen() {
        let sketch = FrequencySketch::new(4096, 1);
        let fp = 0x1234_5678;
        assert_eq!(sketch.estimate(fp), 0);
        for n in 1..=15 {
            assert!(sketch.increment(fp), "access {n} moves a counter");
            assert_eq!(sketch.estimate(fp), n);
        }
        assert!(!sketch.increment(fp), "a saturated key writes nothing");
        assert_eq!(sketch.estimate(fp), 15);
        // Another key starts from its own counters.
        assert!(sketch.estimate(0x8765_4321) <= 1);
    }

    #[test]
    fn aging_halves_every_count_after_its_period() {
        let counters = Counters::new(false, Some(4096));
        let sketch = counters.sketch.as_ref().expect("bounded");
        let hot = 7u32;
        for _ in 0..15 {
            counters.accessed(hot);
        }
        assert_eq!(sketch.estimate(hot), 15);
        let period = sketch.per_stripe_period_mask + 1;
        // Fresh keys each move a counter; within one period (this thread's
        // stripe counts them all) the sketch is halved.
        let mut fp = 1_000u32;
        while sketch.estimate(hot) == 15 {
            counters.accessed(fp);
            fp += 1;
            assert!(u64::from(fp - 1_000) <= period, "no aging within a period");
        }
        assert!((7..=8).contains(&sketch.estimate(hot)), "15 halved");
    }
}
