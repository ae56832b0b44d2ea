//! `SplitCache` against moka's sync cache, same capacity, same TTL, same
//! fixed-seed hasher, u64 keys and values, in one process, rounds
//! interleaved:
//! - **zipf read-mostly**: cache-aside over 100k keys drawn from a Zipf
//!   distribution (s = 1.0): `get`, and `insert` on a miss; capacity
//!   10,000, TTL 60 s (nothing expires during a run);
//! - **TTL churn**: every op writes a new unique request ID and reads the
//!   one written 500 ops earlier on the same thread; TTL 50 ms of real time
//!   (entries expire all the time), capacity 100,000.
//!
//! Each at 1 and 2 threads; throughput is the median of the rounds, and the
//! ratio is SplitCache / moka (higher is better for SplitCache).
//!
//! ```text
//! cargo run --release --example cache_vs_moka [-- --ops 400000 --rounds 5]
//! ```

#[path = "support/cli.rs"]
mod cli;
#[path = "support/stats.rs"]
mod stats;

use lexopt::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use splitmap::SplitCache;
use std::time::{Duration, Instant};

type H = foldhash::fast::FixedState;

fn hasher() -> H {
    foldhash::fast::FixedState::with_seed(0x5EED_0000_5A17_0001)
}

trait Bench: Send + Sync {
    fn name(&self) -> &'static str;
    fn get(&self, k: u64) -> Option<u64>;
    fn put(&self, k: u64, v: u64);
}

struct Ours(SplitCache<u64, u64, H>);
struct Moka(moka::sync::Cache<u64, u64, H>);

impl Bench for Ours {
    fn name(&self) -> &'static str {
        "SplitCache"
    }
    fn get(&self, k: u64) -> Option<u64> {
        self.0.get(&k)
    }
    fn put(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

impl Bench for Moka {
    fn name(&self) -> &'static str {
        "moka::sync::Cache"
    }
    fn get(&self, k: u64) -> Option<u64> {
        self.0.get(&k)
    }
    fn put(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

fn ours(cap: usize, ttl: Duration) -> Box<dyn Bench> {
    Box::new(Ours(
        SplitCache::builder()
            .max_capacity(cap)
            .time_to_live(ttl)
            .build_with_hasher(hasher()),
    ))
}

fn moka(cap: usize, ttl: Duration) -> Box<dyn Bench> {
    Box::new(Moka(
        moka::sync::Cache::builder()
            .max_capacity(cap as u64)
            .time_to_live(ttl)
            .build_with_hasher(hasher()),
    ))
}

/// Zipf(s = 1) ranks over `n` keys (rank 0 the hottest), spread over `u64`.
fn zipf_keys(n: usize, count: usize, seed: u64) -> Vec<u64> {
    let zipf = Zipf::new(n as f64, 1.0).expect("n >= 1");
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            // rand_distr's Zipf draws whole numbers in `1..=n`.
            let rank = zipf.sample(&mut rng) as u64 - 1;
            rank.wrapping_mul(0x9E37_79B9_7F4A_7C15) // spread the hot keys
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Mix {
    Zipf,
    Churn,
}

/// Ops per second of one run.
fn run(cache: &dyn Bench, mix: Mix, threads: usize, keys: &[Vec<u64>]) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for (t, keys) in keys.iter().enumerate().take(threads) {
            s.spawn(move || match mix {
                Mix::Zipf => {
                    for &k in keys {
                        if cache.get(k).is_none() {
                            cache.put(k, k);
                        }
                    }
                }
                Mix::Churn => {
                    let base = (t as u64) << 48;
                    for (i, _) in keys.iter().enumerate() {
                        let i = i as u64;
                        cache.put(base | i, i);
                        let _ = cache.get(base | i.saturating_sub(500));
                    }
                }
            });
        }
    });
    (keys[0].len() * threads) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let (mut ops, mut rounds) = (400_000usize, 5usize);
    cli::parse("cache_vs_moka [--ops N] [--rounds N]", |p| {
        while let Some(arg) = p.next()? {
            match arg {
                Long("ops") => ops = p.value()?.parse()?,
                Long("rounds") => rounds = p.value()?.parse::<usize>()?.max(1),
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(())
    });
    println!("ops per thread {ops}, rounds {rounds} (median), u64 keys and values, foldhash fixed seed\n");
    println!("| mix | threads | SplitCache Mops/s | moka Mops/s | ratio SplitCache/moka | SplitCache hit ratio | moka hit ratio |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for (mix, label, cap, ttl) in [
        (
            Mix::Zipf,
            "zipf read-mostly (cache-aside)",
            10_000,
            Duration::from_secs(60),
        ),
        (
            Mix::Churn,
            "TTL churn (write + read)",
            100_000,
            Duration::from_millis(50),
        ),
    ] {
        for threads in [1, 2] {
            let keys: Vec<Vec<u64>> = (0..threads)
                .map(|t| zipf_keys(100_000, ops, 7 + t as u64))
                .collect();
            let mut results = [Vec::new(), Vec::new()];
            let mut hits = [0.0; 2];
            for _ in 0..rounds {
                for (i, make) in [ours as fn(usize, Duration) -> Box<dyn Bench>, moka]
                    .iter()
                    .enumerate()
                {
                    let cache = make(cap, ttl);
                    results[i].push(run(&*cache, mix, threads, &keys));
                    // Hit ratio of the zipf mix: a second pass, counted.
                    if let Mix::Zipf = mix {
                        let h = keys[0]
                            .iter()
                            .take(100_000)
                            .filter(|&&k| cache.get(k).is_some())
                            .count();
                        hits[i] = h as f64 / keys[0].len().min(100_000) as f64;
                    }
                    let _ = cache.name();
                }
            }
            let (a, b) = (stats::median(&results[0]), stats::median(&results[1]));
            let hit = |h: f64| match mix {
                Mix::Zipf => format!("{:.2}", h),
                Mix::Churn => "-".into(),
            };
            println!(
                "| {label} | {threads} | {:.2} | {:.2} | {:.2}x | {} | {} |",
                a / 1e6,
                b / 1e6,
                a / b,
                hit(hits[0]),
                hit(hits[1])
            );
        }
    }
}
