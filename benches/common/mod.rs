//! Shared benchmark harness: one adapter per map, key generators, the
//! workload mixes and a small threaded driver.
//!
//! Used by `benches/concurrent.rs` (criterion) and, through `#[path]`, by
//! `examples/bench_table.rs`, which prints the README's table. Every map gets
//! the same fixed-seed foldhash hasher and the same pre-generated op stream.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::sync::{Barrier, Mutex, RwLock};
use std::time::{Duration, Instant};

pub mod single;

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use rand_distr::{Distribution, Zipf};

/// The hasher every map in every benchmark uses.
pub type Hasher = foldhash::fast::FixedState;

/// Seed of that hasher; fixed so runs hash identically.
pub const HASH_SEED: u64 = 0x5EED_0000_5A17_0001;

/// A fresh copy of the one hasher.
pub fn hasher() -> Hasher {
    foldhash::fast::FixedState::with_seed(HASH_SEED)
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// Spreads small integers over `u64` (an odd-multiplier bijection), so key
/// `i` is not just `i` and every hasher sees realistic bit patterns.
#[inline]
pub fn scramble(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5_A5A5_0000_0000
}

/// Zipf ranks over `0..n` (`P(rank) ~ 1 / (rank + 1)^s`); rank 0 is the
/// hottest. Only used outside timed code.
#[derive(Debug, Clone, Copy)]
pub struct ZipfRanks(Zipf<f64>);

impl ZipfRanks {
    /// Ranks `0..n` with exponent `s` (0.99 is YCSB's default).
    pub fn new(n: usize, s: f64) -> Self {
        ZipfRanks(Zipf::new(n as f64, s).expect("n >= 1 and s >= 0"))
    }

    /// One rank in `0..n`.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        // rand_distr's Zipf draws whole numbers in `1..=n`.
        self.0.sample(rng) as usize - 1
    }
}

/// How the keys of an op stream are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dist {
    /// Every key of the key space equally likely.
    Uniform,
    /// Zipf(0.99) over the key space: a few hot keys take most operations.
    Skewed,
}

impl Dist {
    /// Both, in table order.
    pub const ALL: [Dist; 2] = [Dist::Uniform, Dist::Skewed];

    /// Name used in group ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            Dist::Uniform => "uniform",
            Dist::Skewed => "skewed",
        }
    }
}

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

/// One operation of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Look the key up.
    Get(u64),
    /// Insert (or replace) the key.
    Insert(u64),
    /// Remove the key.
    Remove(u64),
    /// Add one to the key's value if it is present.
    Update(u64),
}

/// A read/write mix, in percent.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Name used in group ids and tables.
    pub name: &'static str,
    /// Percent of gets.
    pub get: u32,
    /// Percent of inserts.
    pub insert: u32,
    /// Percent of removes.
    pub remove: u32,
    /// Percent of updates.
    pub update: u32,
    /// Starts from an empty map every round and inserts fresh keys, so the
    /// map must grow during the timed run.
    pub grow: bool,
}

/// Read-heavy 98/1/1/0 (get/insert/remove/update).
pub const READ_HEAVY: Mix = Mix {
    name: "read-heavy",
    get: 98,
    insert: 1,
    remove: 1,
    update: 0,
    grow: false,
};
/// Exchange 10/40/40/10.
pub const EXCHANGE: Mix = Mix {
    name: "exchange",
    get: 10,
    insert: 40,
    remove: 40,
    update: 10,
    grow: false,
};
/// Mixed 50/20/20/10.
pub const MIXED: Mix = Mix {
    name: "mixed",
    get: 50,
    insert: 20,
    remove: 20,
    update: 10,
    grow: false,
};
/// Rapid grow 5/80/5/10, from an empty map.
pub const RAPID_GROW: Mix = Mix {
    name: "rapid-grow",
    get: 5,
    insert: 80,
    remove: 5,
    update: 10,
    grow: true,
};
/// All mixes, in table order.
pub const MIXES: [Mix; 4] = [READ_HEAVY, EXCHANGE, MIXED, RAPID_GROW];

/// Key space of the steady mixes; half of it is present at the start.
pub const KEY_SPACE: usize = 1 << 18;

/// The keys present before a steady mix starts (every even rank).
pub fn prefill_keys() -> impl Iterator<Item = u64> {
    (0..KEY_SPACE as u64).step_by(2).map(scramble)
}

/// A pre-generated workload: one op stream per thread.
#[derive(Debug)]
pub struct Workload {
    /// The mix it was drawn from.
    pub mix: Mix,
    /// Per-thread op streams (each `rounds_in_stream * ops_per_round` long).
    pub streams: Vec<Vec<Op>>,
    /// Ops each thread runs per round.
    pub ops_per_round: usize,
}

impl Workload {
    /// Draws `threads` streams of `ops_per_round * chunks` ops. Steady mixes
    /// pick keys from `KEY_SPACE` by `dist`; the grow mix inserts fresh keys
    /// (unique per thread) and aims the other ops at keys this thread
    /// inserted earlier in the round, picked by `dist` counted back from the
    /// newest.
    pub fn new(mix: Mix, dist: Dist, threads: usize, ops_per_round: usize) -> Self {
        let chunks = if mix.grow { 1 } else { 4 };
        let zipf = ZipfRanks::new(KEY_SPACE, 0.99);
        let streams = (0..threads)
            .map(|t| {
                let mut rng = StdRng::seed_from_u64(0xB0B0 + t as u64);
                let mut fresh: Vec<u64> = Vec::new();
                let mut ops = Vec::with_capacity(ops_per_round * chunks);
                let existing = |rng: &mut StdRng, fresh: &Vec<u64>| -> u64 {
                    if mix.grow {
                        if fresh.is_empty() {
                            return scramble(u64::MAX - t as u64);
                        }
                        let back = match dist {
                            Dist::Uniform => rng.random_range(0..fresh.len()),
                            Dist::Skewed => zipf.sample(rng) % fresh.len(),
                        };
                        fresh[fresh.len() - 1 - back]
                    } else {
                        let rank = match dist {
                            Dist::Uniform => rng.random_range(0..KEY_SPACE),
                            Dist::Skewed => zipf.sample(rng),
                        };
                        scramble(rank as u64)
                    }
                };
                for i in 0..ops_per_round * chunks {
                    let p = rng.random_range(0..100);
                    let op = if p < mix.get {
                        Op::Get(existing(&mut rng, &fresh))
                    } else if p < mix.get + mix.insert {
                        if mix.grow {
                            let k = scramble(((t as u64) << 40) | (1 << 39) | i as u64);
                            fresh.push(k);
                            Op::Insert(k)
                        } else {
                            Op::Insert(existing(&mut rng, &fresh))
                        }
                    } else if p < mix.get + mix.insert + mix.remove {
                        Op::Remove(existing(&mut rng, &fresh))
                    } else {
                        Op::Update(existing(&mut rng, &fresh))
                    };
                    ops.push(op);
                }
                ops
            })
            .collect();
        Workload {
            mix,
            streams,
            ops_per_round,
        }
    }

    /// The ops thread `t` runs in round `round`.
    pub fn chunk(&self, t: usize, round: u64) -> &[Op] {
        let s = &self.streams[t];
        let chunks = s.len() / self.ops_per_round;
        let c = (round as usize) % chunks;
        &s[c * self.ops_per_round..(c + 1) * self.ops_per_round]
    }
}

// ---------------------------------------------------------------------------
// Maps
// ---------------------------------------------------------------------------

/// A map under test: built with the shared hasher, runs a slice of ops.
///
/// `run` takes a whole slice so each adapter can use its fast path (the
/// pinned adapters pin once per `PIN_BATCH` ops, as a real hot loop would).
pub trait BenchMap: Send + Sync + 'static {
    /// Name used in tables.
    const NAME: &'static str;
    /// An empty map.
    fn new_map() -> Self;
    /// Runs `ops`; returns a checksum so nothing is optimized away.
    fn run(&self, ops: &[Op]) -> u64;
    /// Inserts `k -> v` (used for pre-filling).
    fn put(&self, k: u64, v: u64);
}

/// Ops per pin for the adapters that hold a guard across operations.
pub const PIN_BATCH: usize = 256;

/// `SplitMap` through its guard-free API (one pin per call).
pub type Split = splitmap::SplitMap<u64, u64, Hasher>;

/// `SplitMap` through `map.pin()` (one pin per `PIN_BATCH` ops).
#[derive(Debug)]
pub struct SplitPinned(pub Split);

/// papaya through `map.pin()` (one pin per `PIN_BATCH` ops).
#[derive(Debug)]
pub struct Papaya(pub papaya::HashMap<u64, u64, Hasher>);

/// The baseline: std `HashMap` behind a `Mutex`.
pub type MutexStd = Mutex<HashMap<u64, u64, Hasher>>;
/// std `HashMap` behind an `RwLock`.
pub type RwLockStd = RwLock<HashMap<u64, u64, Hasher>>;
/// dashmap.
pub type Dash = dashmap::DashMap<u64, u64, Hasher>;
/// scc.
pub type Scc = scc::HashMap<u64, u64, Hasher>;

impl BenchMap for Split {
    const NAME: &'static str = "SplitMap";
    fn new_map() -> Self {
        splitmap::SplitMap::with_hasher(hasher())
    }
    fn run(&self, ops: &[Op]) -> u64 {
        let mut sum = 0u64;
        for op in ops {
            match *op {
                Op::Get(k) => sum = sum.wrapping_add(self.get(&k).unwrap_or(1)),
                Op::Insert(k) => sum = sum.wrapping_add(self.insert(k, k).is_some() as u64),
                Op::Remove(k) => sum = sum.wrapping_add(self.remove(&k).is_some() as u64),
                Op::Update(k) => {
                    sum = sum.wrapping_add(self.update(&k, |v| v.wrapping_add(1)).is_some() as u64)
                }
            }
        }
        sum
    }
    fn put(&self, k: u64, v: u64) {
        self.insert(k, v);
    }
}

impl BenchMap for SplitPinned {
    const NAME: &'static str = "SplitMap (pinned)";
    fn new_map() -> Self {
        SplitPinned(splitmap::SplitMap::with_hasher(hasher()))
    }
    fn run(&self, ops: &[Op]) -> u64 {
        let mut sum = 0u64;
        for batch in ops.chunks(PIN_BATCH) {
            let m = self.0.pin();
            for op in batch {
                match *op {
                    Op::Get(k) => sum = sum.wrapping_add(m.get(&k).copied().unwrap_or(1)),
                    Op::Insert(k) => sum = sum.wrapping_add(m.insert(k, k).is_some() as u64),
                    Op::Remove(k) => sum = sum.wrapping_add(m.remove(&k).is_some() as u64),
                    Op::Update(k) => {
                        sum = sum.wrapping_add(m.update(&k, |v| v.wrapping_add(1)).is_some() as u64)
                    }
                }
            }
        }
        sum
    }
    fn put(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

impl BenchMap for Papaya {
    const NAME: &'static str = "papaya (pinned)";
    fn new_map() -> Self {
        Papaya(papaya::HashMap::builder().hasher(hasher()).build())
    }
    fn run(&self, ops: &[Op]) -> u64 {
        let mut sum = 0u64;
        for batch in ops.chunks(PIN_BATCH) {
            let m = self.0.pin();
            for op in batch {
                match *op {
                    Op::Get(k) => sum = sum.wrapping_add(m.get(&k).copied().unwrap_or(1)),
                    Op::Insert(k) => sum = sum.wrapping_add(m.insert(k, k).is_some() as u64),
                    Op::Remove(k) => sum = sum.wrapping_add(m.remove(&k).is_some() as u64),
                    Op::Update(k) => {
                        sum = sum.wrapping_add(m.update(k, |v| v.wrapping_add(1)).is_some() as u64)
                    }
                }
            }
        }
        sum
    }
    fn put(&self, k: u64, v: u64) {
        self.0.pin().insert(k, v);
    }
}

impl BenchMap for MutexStd {
    const NAME: &'static str = "Mutex<HashMap>";
    fn new_map() -> Self {
        Mutex::new(HashMap::with_hasher(hasher()))
    }
    fn run(&self, ops: &[Op]) -> u64 {
        let mut sum = 0u64;
        for op in ops {
            match *op {
                Op::Get(k) => {
                    sum = sum.wrapping_add(self.lock().unwrap().get(&k).copied().unwrap_or(1))
                }
                Op::Insert(k) => {
                    sum = sum.wrapping_add(self.lock().unwrap().insert(k, k).is_some() as u64)
                }
                Op::Remove(k) => {
                    sum = sum.wrapping_add(self.lock().unwrap().remove(&k).is_some() as u64)
                }
                Op::Update(k) => {
                    if let Some(v) = self.lock().unwrap().get_mut(&k) {
                        *v += 1;
                        sum += 1;
                    }
                }
            }
        }
        sum
    }
    fn put(&self, k: u64, v: u64) {
        self.lock().unwrap().insert(k, v);
    }
}

impl BenchMap for RwLockStd {
    const NAME: &'static str = "RwLock<HashMap>";
    fn new_map() -> Self {
        RwLock::new(HashMap::with_hasher(hasher()))
    }
    fn run(&self, ops: &[Op]) -> u64 {
        let mut sum = 0u64;
        for op in ops {
            match *op {
                Op::Get(k) => {
                    sum = sum.wrapping_add(self.read().unwrap().get(&k).copied().unwrap_or(1))
                }
                Op::Insert(k) => {
                    sum = sum.wrapping_add(self.write().unwrap().insert(k, k).is_some() as u64)
                }
                Op::Remove(k) => {
                    sum = sum.wrapping_add(self.write().unwrap().remove(&k).is_some() as u64)
                }
                Op::Update(k) => {
                    if let Some(v) = self.write().unwrap().get_mut(&k) {
                        *v += 1;
                        sum += 1;
                    }
                }
            }
        }
        sum
    }
    fn put(&self, k: u64, v: u64) {
        self.write().unwrap().insert(k, v);
    }
}

impl BenchMap for Dash {
    const NAME: &'static str = "dashmap";
    fn new_map() -> Self {
        dashmap::DashMap::with_hasher(hasher())
    }
    fn run(&self, ops: &[Op]) -> u64 {
        let mut sum = 0u64;
        for op in ops {
            match *op {
                Op::Get(k) => sum = sum.wrapping_add(self.get(&k).map(|v| *v).unwrap_or(1)),
                Op::Insert(k) => sum = sum.wrapping_add(self.insert(k, k).is_some() as u64),
                Op::Remove(k) => sum = sum.wrapping_add(self.remove(&k).is_some() as u64),
                Op::Update(k) => {
                    if let Some(mut v) = self.get_mut(&k) {
                        *v += 1;
                        sum += 1;
                    }
                }
            }
        }
        sum
    }
    fn put(&self, k: u64, v: u64) {
        self.insert(k, v);
    }
}

impl BenchMap for Scc {
    const NAME: &'static str = "scc";
    fn new_map() -> Self {
        scc::HashMap::with_hasher(hasher())
    }
    fn run(&self, ops: &[Op]) -> u64 {
        let mut sum = 0u64;
        for op in ops {
            match *op {
                Op::Get(k) => sum = sum.wrapping_add(self.read_sync(&k, |_, v| *v).unwrap_or(1)),
                Op::Insert(k) => sum = sum.wrapping_add(self.upsert_sync(k, k).is_some() as u64),
                Op::Remove(k) => sum = sum.wrapping_add(self.remove_sync(&k).is_some() as u64),
                Op::Update(k) => {
                    sum = sum.wrapping_add(self.update_sync(&k, |_, v| *v += 1).is_some() as u64)
                }
            }
        }
        sum
    }
    fn put(&self, k: u64, v: u64) {
        self.upsert_sync(k, v);
    }
}

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

/// Runs workloads against one map type, keeping the map between rounds for
/// the steady mixes.
#[derive(Debug)]
pub struct Runner<M: BenchMap> {
    map: Option<M>,
    round: u64,
}

impl<M: BenchMap> Default for Runner<M> {
    fn default() -> Self {
        Runner {
            map: None,
            round: 0,
        }
    }
}

impl<M: BenchMap> Runner<M> {
    /// One round: every thread runs its chunk of `w` once, started together
    /// at a barrier (threads are spawned before the clock starts, and the
    /// map is built or pre-filled before it too). Returns the wall time from
    /// the barrier to the last thread's finish.
    pub fn round(&mut self, w: &Workload) -> Duration {
        if w.mix.grow {
            // A fresh map each round; the old one is dropped here, untimed.
            self.map = Some(M::new_map());
        } else if self.map.is_none() {
            let m = M::new_map();
            for k in prefill_keys() {
                m.put(k, k);
            }
            self.map = Some(m);
        }
        let map = self.map.as_ref().expect("map built above");
        let threads = w.streams.len();
        let barrier = Barrier::new(threads + 1);
        let round = self.round;
        self.round += 1;
        // Each thread reads the clock itself right after the barrier: on a
        // machine with as many busy threads as cores, the spawning thread
        // may not run again until the workers are done.
        let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let barrier = &barrier;
                    let ops = w.chunk(t, round);
                    s.spawn(move || {
                        barrier.wait();
                        let start = Instant::now();
                        let sum = map.run(ops);
                        let end = Instant::now();
                        std::hint::black_box(sum);
                        (start, end)
                    })
                })
                .collect();
            barrier.wait();
            handles
                .into_iter()
                .map(|h| h.join().expect("bench thread panicked"))
                .collect()
        });
        let start = spans.iter().map(|s| s.0).min().expect("one thread");
        let end = spans.iter().map(|s| s.1).max().expect("one thread");
        end - start
    }
}
