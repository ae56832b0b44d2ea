//! Hit ratios of `SplitCache`, moka's sync cache and quick_cache, side by
//! side: one thread, the same request stream for all three, `get` and an
//! `insert` on a miss, the same capacity (entries), u64 keys and values.
//!
//! Rows (key space 100,000 unless said):
//! - Zipf s = 0.6, 0.8, 1.0, 1.2 at capacities 0.1%, 1% and 10% of the keys;
//! - **scan**: a Zipf (s = 1.0) hot set with scans of one-time keys mixed
//!   in (every 1,000 requests, a run of 200 keys never seen before), cache
//!   1% of the keys;
//! - **loop**: keys 0..1,200 requested in order, again and again, cache
//!   1,000 (a loop 20% larger than the cache).
//!
//! The first 10% of each stream warms the caches and is not counted.
//! Output: a markdown table (`docs/results.md` keeps one).
//!
//! ```text
//! cargo run --release --example cache_hit_ratio [-- --requests 1000000]
//! ```

#[path = "support/cli.rs"]
mod cli;

use lexopt::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use splitmap::SplitCache;

type H = foldhash::fast::FixedState;

fn hasher() -> H {
    foldhash::fast::FixedState::with_seed(0x5EED_0000_5A17_0002)
}

trait Policy {
    fn get(&self, k: u64) -> bool;
    fn put(&self, k: u64);
}

impl Policy for SplitCache<u64, u64, H> {
    fn get(&self, k: u64) -> bool {
        self.get(&k).is_some()
    }
    fn put(&self, k: u64) {
        self.insert(k, k);
    }
}

impl Policy for moka::sync::Cache<u64, u64, H> {
    fn get(&self, k: u64) -> bool {
        self.get(&k).is_some()
    }
    fn put(&self, k: u64) {
        self.insert(k, k);
    }
}

impl Policy for quick_cache::sync::Cache<u64, u64, quick_cache::UnitWeighter, H> {
    fn get(&self, k: u64) -> bool {
        self.get(&k).is_some()
    }
    fn put(&self, k: u64) {
        self.insert(k, k);
    }
}

fn ours(cap: usize) -> SplitCache<u64, u64, H> {
    SplitCache::builder()
        .max_capacity(cap)
        .build_with_hasher(hasher())
}

fn moka(cap: usize) -> moka::sync::Cache<u64, u64, H> {
    moka::sync::Cache::builder()
        .max_capacity(cap as u64)
        .build_with_hasher(hasher())
}

fn quick(cap: usize) -> quick_cache::sync::Cache<u64, u64, quick_cache::UnitWeighter, H> {
    quick_cache::sync::Cache::with(
        cap,
        cap as u64,
        quick_cache::UnitWeighter,
        hasher(),
        quick_cache::sync::DefaultLifecycle::default(),
    )
}

/// Hit ratio of `cache` on `keys`, counting after the warm-up.
fn replay(cache: &dyn Policy, keys: &[u64]) -> f64 {
    let warm = keys.len() / 10;
    let mut hits = 0usize;
    for (i, &k) in keys.iter().enumerate() {
        if cache.get(k) {
            hits += usize::from(i >= warm);
        } else {
            cache.put(k);
        }
    }
    hits as f64 / (keys.len() - warm) as f64
}

/// Zipf(s) ranks over `n` keys, spread over `u64`.
fn zipf(n: usize, s: f64, count: usize, seed: u64) -> Vec<u64> {
    let z = Zipf::new(n as f64, s).expect("n >= 1");
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| spread(z.sample(&mut rng) as u64 - 1))
        .collect()
}

fn spread(rank: u64) -> u64 {
    rank.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Zipf(1.0) requests with a run of 200 one-time keys every 1,000.
fn scans(n: usize, count: usize, seed: u64) -> Vec<u64> {
    let hot = zipf(n, 1.0, count, seed);
    let mut out = Vec::with_capacity(count);
    let mut fresh = 1u64 << 40;
    for (i, k) in hot.into_iter().enumerate() {
        if out.len() >= count {
            break;
        }
        out.push(k);
        if i % 1000 == 999 {
            for _ in 0..200 {
                fresh += 1;
                out.push(spread(fresh));
            }
        }
    }
    out.truncate(count);
    out
}

fn looped(len: u64, count: usize) -> Vec<u64> {
    (0..count as u64).map(|i| spread(i % len)).collect()
}

fn main() {
    let mut requests = 1_000_000usize;
    cli::parse("cache_hit_ratio [--requests N]", |p| {
        while let Some(arg) = p.next()? {
            match arg {
                Long("requests") => requests = p.value()?.parse()?,
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(())
    });
    const N: usize = 100_000;
    let mut rows: Vec<(String, usize, Vec<u64>)> = Vec::new();
    for s in [0.6, 0.8, 1.0, 1.2] {
        for (pct, cap) in [("0.1%", N / 1000), ("1%", N / 100), ("10%", N / 10)] {
            rows.push((
                format!("zipf s={s}, cache {pct}"),
                cap,
                zipf(N, s, requests, 42),
            ));
        }
    }
    rows.push((
        "zipf 1.0 + scans of one-time keys, cache 1%".into(),
        N / 100,
        scans(N, requests, 43),
    ));
    rows.push((
        "loop of 1,200 keys, cache 1,000".into(),
        1000,
        looped(1200, requests),
    ));
    println!(
        "{requests} requests per row, one thread, get + insert on a miss; the first 10% warm up\n"
    );
    println!("| workload | SplitCache | moka | quick_cache | SplitCache - best peer |");
    println!("|---|--:|--:|--:|--:|");
    for (label, cap, keys) in &rows {
        let a = replay(&ours(*cap), keys);
        let b = replay(&moka(*cap), keys);
        let c = replay(&quick(*cap), keys);
        println!(
            "| {label} | {a:.3} | {b:.3} | {c:.3} | {:+.3} |",
            a - b.max(c)
        );
    }
}
