//! Throughput of `SplitCache`, quick_cache and moka's sync cache, side by
//! side (issue 19 §2): each thread replays its own Zipf (s = 0.9) stream
//! over 100,000 keys against one shared cache of 10,000 entries, `get` and
//! an `insert` on a miss, u64 keys and values, no expiry, the same
//! fixed-seed hasher. At 1, 2 and 4 threads (4 threads on a 2-core machine
//! measures what preemption costs); the three caches are interleaved within
//! each round, and each cell gives the median of the rounds and, in
//! brackets, the best round. (On the 2-core development VM a multi-thread
//! round sometimes runs as if on one core, for every cache: the median
//! then mixes two regimes, and the best round shows the parallel one.)
//!
//! ```text
//! cargo run --release --example cache_throughput [-- --ops 1000000 --rounds 5 --threads 1,2,4]
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
use std::time::Instant;

type H = foldhash::fast::FixedState;
type Quick = quick_cache::sync::Cache<u64, u64, quick_cache::UnitWeighter, H>;

const KEYS: usize = 100_000;
const CAPACITY: usize = 10_000;
const SKEW: f64 = 0.9;

fn hasher() -> H {
    foldhash::fast::FixedState::with_seed(0x5EED_0000_5A17_0001)
}

/// The operations the benchmark needs, implemented by each cache.
trait Bench: Send + Sync {
    fn get(&self, k: u64) -> Option<u64>;
    fn put(&self, k: u64, v: u64);
}

impl Bench for SplitCache<u64, u64, H> {
    fn get(&self, k: u64) -> Option<u64> {
        SplitCache::get(self, &k)
    }
    fn put(&self, k: u64, v: u64) {
        self.insert(k, v);
    }
}

impl Bench for moka::sync::Cache<u64, u64, H> {
    fn get(&self, k: u64) -> Option<u64> {
        moka::sync::Cache::get(self, &k)
    }
    fn put(&self, k: u64, v: u64) {
        self.insert(k, v);
    }
}

impl Bench for Quick {
    fn get(&self, k: u64) -> Option<u64> {
        Quick::get(self, &k)
    }
    fn put(&self, k: u64, v: u64) {
        self.insert(k, v);
    }
}

const NAMES: [&str; 3] = ["SplitCache", "quick_cache", "moka"];

fn make(which: usize) -> Box<dyn Bench> {
    match which {
        0 => Box::new(
            SplitCache::builder()
                .max_capacity(CAPACITY)
                .build_with_hasher(hasher()),
        ),
        1 => Box::new(Quick::with(
            CAPACITY,
            CAPACITY as u64,
            quick_cache::UnitWeighter,
            hasher(),
            quick_cache::sync::DefaultLifecycle::default(),
        )),
        _ => Box::new(
            moka::sync::Cache::builder()
                .max_capacity(CAPACITY as u64)
                .build_with_hasher(hasher()),
        ),
    }
}

/// Zipf(s = `SKEW`) ranks over `KEYS` keys, spread over `u64`.
fn zipf_keys(count: usize, seed: u64) -> Vec<u64> {
    let zipf = Zipf::new(KEYS as f64, SKEW).expect("KEYS >= 1");
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            // rand_distr's Zipf draws whole numbers in `1..=n`.
            let rank = zipf.sample(&mut rng) as u64 - 1;
            rank.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        })
        .collect()
}

/// Ops per second of one run, and the fraction of gets that hit.
fn run(cache: &dyn Bench, streams: &[Vec<u64>]) -> (f64, f64) {
    let start = Instant::now();
    let hits: usize = std::thread::scope(|s| {
        let workers: Vec<_> = streams
            .iter()
            .map(|keys| {
                s.spawn(move || {
                    let mut hits = 0usize;
                    for &k in keys {
                        if cache.get(k).is_some() {
                            hits += 1;
                        } else {
                            cache.put(k, k);
                        }
                    }
                    hits
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    let secs = start.elapsed().as_secs_f64();
    let ops: usize = streams.iter().map(Vec::len).sum();
    (ops as f64 / secs, hits as f64 / ops as f64)
}

fn main() {
    let (mut ops, mut rounds) = (1_000_000usize, 5usize);
    let mut thread_counts = vec![1usize, 2, 4];
    let mut only: Option<String> = None;
    cli::parse(
        "cache_throughput [--ops N] [--rounds N] [--threads 1,2,4] [--only NAME]",
        |p| {
            while let Some(arg) = p.next()? {
                match arg {
                    Long("ops") => ops = p.value()?.parse()?,
                    Long("rounds") => rounds = p.value()?.parse::<usize>()?.max(1),
                    Long("threads") => {
                        thread_counts = p
                            .value()?
                            .string()?
                            .split(',')
                            .map(str::parse)
                            .collect::<Result<_, _>>()
                            .map_err(|e| format!("--threads: {e}"))?
                    }
                    // One cache alone, for a profiler: SplitCache, quick_cache or moka.
                    Long("only") => only = Some(p.value()?.string()?),
                    _ => return Err(arg.unexpected()),
                }
            }
            Ok(())
        },
    );
    if let Some(name) = only {
        let which = NAMES
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("--only takes one of {NAMES:?}, not {name:?}"));
        for &threads in &thread_counts {
            let streams: Vec<Vec<u64>> = (0..threads)
                .map(|t| zipf_keys(ops, 11 + t as u64))
                .collect();
            for _ in 0..rounds {
                let (rate, hit) = run(&*make(which), &streams);
                println!(
                    "{name} {threads} threads: {:.2} Mops/s, hit ratio {hit:.3}",
                    rate / 1e6
                );
            }
        }
        return;
    }
    println!(
        "ops per thread {ops}, rounds {rounds} (median), Zipf s = {SKEW} over {KEYS} keys, \
         capacity {CAPACITY}, no expiry, u64 keys and values, foldhash fixed seed\n"
    );
    println!(
        "| threads | SplitCache Mops/s | quick_cache Mops/s | moka Mops/s | SplitCache / quick_cache | SplitCache / moka | hit ratio (ours / quick / moka) |"
    );
    println!("|--:|--:|--:|--:|--:|--:|--:|");
    let mut own = Vec::new();
    for &threads in &thread_counts {
        let streams: Vec<Vec<u64>> = (0..threads)
            .map(|t| zipf_keys(ops, 11 + t as u64))
            .collect();
        let mut speed: [Vec<f64>; 3] = Default::default();
        let mut hit = [0.0f64; 3];
        for _ in 0..rounds {
            for (which, samples) in speed.iter_mut().enumerate() {
                let cache = make(which);
                let (rate, ratio) = run(&*cache, &streams);
                samples.push(rate);
                hit[which] = ratio;
            }
        }
        let median: Vec<f64> = speed.iter().map(|s| stats::median(s)).collect();
        let best: Vec<f64> = speed
            .iter()
            .map(|s| s.iter().copied().fold(0.0, f64::max))
            .collect();
        own.push((threads, median[0], best[0]));
        let cell = |i: usize| format!("{:.2} ({:.2})", median[i] / 1e6, best[i] / 1e6);
        let ratio = |i: usize| format!("{:.2}x ({:.2}x)", median[0] / median[i], best[0] / best[i]);
        println!(
            "| {threads} | {} | {} | {} | {} | {} | {:.3} / {:.3} / {:.3} |",
            cell(0),
            cell(1),
            cell(2),
            ratio(1),
            ratio(2),
            hit[0],
            hit[1],
            hit[2],
        );
    }
    let at = |n: usize| own.iter().find(|&&(t, _, _)| t == n);
    if let (Some(two), Some(four)) = (at(2), at(4)) {
        println!(
            "\nSplitCache at 4 threads / its own 2-thread figure: {:.2}x median ({:.2}x best)",
            four.1 / two.1,
            four.2 / two.2
        );
    }
}
