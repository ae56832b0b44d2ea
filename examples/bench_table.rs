//! Regenerates the README's speed tables: every map side by side in one
//! process, rounds interleaved across maps (so machine noise hits all of
//! them alike), medians reported as ratios to `Mutex<HashMap>`.
//!
//! Uses the same adapters and workloads as `benches/` (criterion); this
//! driver exists because a shared 2-core machine drifts too much between
//! criterion's back-to-back per-map runs for the ratios to be stable.
//!
//! ```text
//! cargo run --release --example bench_table > /tmp/speed.md
//! cargo run --release --example bench_table -- --rounds 15 --threads 1,2
//! ```
//! Flags: `--rounds N` (timed rounds per map and cell, default 7),
//! `--ops N` (ops per thread per round, default 32768), `--threads 1,2,4`,
//! `--single-only`, `--concurrent-only`. Markdown goes to stdout, progress
//! to stderr.

#[path = "support/cli.rs"]
mod cli;
#[path = "../benches/common/mod.rs"]
mod common;
#[path = "support/stats.rs"]
mod stats;

use std::hint::black_box;

use lexopt::prelude::*;
use std::time::{Duration, Instant};

use common::single::{self, SingleMap};
use common::{BenchMap, Dist, Runner, Workload, MIXES};

struct Args {
    rounds: usize,
    ops: usize,
    threads: Vec<usize>,
    single: bool,
    concurrent: bool,
}

fn parse_args() -> Args {
    let usage =
        "bench_table [--rounds N] [--ops N] [--threads 1,2,4] [--single-only|--concurrent-only]\n\
         (markdown to stdout; progress to stderr, on a terminal only)";
    let mut a = Args {
        rounds: 7,
        ops: 1 << 15,
        threads: vec![1, 2, 4],
        single: true,
        concurrent: true,
    };
    cli::parse(usage, |p| {
        while let Some(arg) = p.next()? {
            match arg {
                Long("rounds") => a.rounds = p.value()?.parse::<usize>()?.max(1),
                Long("ops") => a.ops = p.value()?.parse()?,
                Long("threads") => a.threads = cli::list(p)?,
                Long("concurrent-only") => a.single = false,
                Long("single-only") => a.concurrent = false,
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(())
    });
    a
}

// ---------------------------------------------------------------------------
// Concurrent mixes
// ---------------------------------------------------------------------------

/// A map type behind a uniform, object-safe face so one cell's maps can be
/// driven round-robin.
trait Cell {
    fn name(&self) -> &'static str;
    fn round(&mut self, w: &Workload) -> Duration;
}

struct Typed<M: BenchMap>(Runner<M>);

impl<M: BenchMap> Cell for Typed<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn round(&mut self, w: &Workload) -> Duration {
        self.0.round(w)
    }
}

fn cells() -> Vec<Box<dyn Cell>> {
    vec![
        Box::new(Typed::<common::MutexStd>(Runner::default())),
        Box::new(Typed::<common::RwLockStd>(Runner::default())),
        Box::new(Typed::<common::Dash>(Runner::default())),
        Box::new(Typed::<common::Papaya>(Runner::default())),
        Box::new(Typed::<common::Scc>(Runner::default())),
        Box::new(Typed::<common::Split>(Runner::default())),
        Box::new(Typed::<common::SplitPinned>(Runner::default())),
    ]
}

fn concurrent_tables(a: &Args) {
    let progress = cli::Progress::default();
    let names: Vec<&str> = cells().iter().map(|c| c.name()).collect();
    for &threads in &a.threads {
        let note = if threads > available() {
            " (oversubscribed: more threads than cores)"
        } else {
            ""
        };
        println!("\n### {threads} thread(s){note}\n");
        println!(
            "Throughput as a ratio to `Mutex<HashMap>` (median of {} interleaved rounds of {} ops per thread; higher is better).\n",
            a.rounds, a.ops
        );
        print!("| mix | keys | Mutex<HashMap> Mops/s |");
        for n in &names[1..] {
            print!(" {n} |");
        }
        println!();
        print!("|---|---|--:|");
        for _ in &names[1..] {
            print!("--:|");
        }
        println!();
        for mix in MIXES {
            for dist in Dist::ALL {
                progress.update(format_args!(
                    "{:>2} threads: {:<10} {:<8}",
                    threads,
                    mix.name,
                    dist.name()
                ));
                let w = Workload::new(mix, dist, threads, a.ops);
                let mut cs = cells();
                let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cs.len()];
                // One untimed warm-up round each (it also pre-fills).
                for c in cs.iter_mut() {
                    c.round(&w);
                }
                for _ in 0..a.rounds {
                    for (i, c) in cs.iter_mut().enumerate() {
                        let d = c.round(&w);
                        samples[i].push((a.ops * threads) as f64 / d.as_secs_f64());
                    }
                }
                let med: Vec<f64> = samples.iter().map(|s| stats::median(s)).collect();
                let base = med[0];
                let best_peer = med[1..5].iter().cloned().fold(0.0, f64::max);
                print!("| {} | {} | {:.1} |", mix.name, dist.name(), base / 1e6);
                for (i, m) in med.iter().enumerate().skip(1) {
                    let r = m / base;
                    if i >= 5 && *m >= best_peer {
                        print!(" **{r:.2}x** |");
                    } else {
                        print!(" {r:.2}x |");
                    }
                }
                println!();
            }
        }
        progress.clear();
    }
    println!(
        "\nBold: `SplitMap` at or above the best peer (RwLock, dashmap, papaya, scc) in that row."
    );
}

fn available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// ---------------------------------------------------------------------------
// Single thread
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Work {
    GetHit,
    GetMiss,
    Insert,
    Remove,
}

/// ns per operation for one sample of `work` on `M`.
fn sample<M: SingleMap>(keys: &single::Keys, map: &mut M, work: Work) -> f64 {
    match work {
        Work::GetHit | Work::GetMiss => {
            let probe = if matches!(work, Work::GetHit) {
                &keys.hit
            } else {
                &keys.miss
            };
            let reps = 2;
            let t = Instant::now();
            for _ in 0..reps {
                black_box(map.get_all(black_box(probe)));
            }
            t.elapsed().as_nanos() as f64 / (reps * probe.len()) as f64
        }
        Work::Insert => {
            let mut m = M::new_map();
            let t = Instant::now();
            m.insert_all(black_box(&keys.write));
            let ns = t.elapsed().as_nanos() as f64;
            drop(m);
            ns / keys.write.len() as f64
        }
        Work::Remove => {
            let mut m = M::new_map();
            m.insert_all(&keys.write);
            let t = Instant::now();
            black_box(m.remove_all(black_box(&keys.write)));
            let ns = t.elapsed().as_nanos() as f64;
            drop(m);
            ns / keys.write.len() as f64
        }
    }
}

struct SingleRow<M: SingleMap> {
    map: M,
    samples: [Vec<f64>; 4],
}

trait SingleCell {
    fn name(&self) -> &'static str;
    fn sample(&mut self, keys: &single::Keys, w: usize);
    fn medians(&self) -> [f64; 4];
}

const WORKS: [Work; 4] = [Work::GetHit, Work::GetMiss, Work::Insert, Work::Remove];

impl<M: SingleMap> SingleCell for SingleRow<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn sample(&mut self, keys: &single::Keys, w: usize) {
        let ns = sample(keys, &mut self.map, WORKS[w]);
        self.samples[w].push(ns);
    }
    fn medians(&self) -> [f64; 4] {
        std::array::from_fn(|i| stats::median(&self.samples[i]))
    }
}

fn row<M: SingleMap + 'static>(keys: &single::Keys) -> Box<dyn SingleCell> {
    let mut map = M::new_map();
    map.insert_all(&keys.present);
    Box::new(SingleRow {
        map,
        samples: Default::default(),
    })
}

fn single_table(a: &Args) {
    let progress = cli::Progress::default();
    let keys = single::Keys::new();
    let mut rows: Vec<Box<dyn SingleCell>> = vec![
        row::<single::Std>(&keys),
        row::<single::MutexStd>(&keys),
        row::<single::Split>(&keys),
        row::<single::SplitPinned>(&keys),
        row::<single::Papaya>(&keys),
        row::<single::Dash>(&keys),
        row::<single::Scc>(&keys),
    ];
    let rounds = a.rounds * 3;
    for r in 0..rounds {
        progress.update(format_args!("single thread: round {}/{}", r + 1, rounds));
        for w in 0..WORKS.len() {
            for row in rows.iter_mut() {
                row.sample(&keys, w);
            }
        }
    }
    progress.clear();
    println!("\n### Single thread\n");
    println!(
        "ns per operation (median of {rounds} interleaved samples); in brackets the ratio to std `HashMap` without a lock (lower is better). \
         get: every key of a {}-entry map (hit) or as many absent keys (miss), random order, pinned variants pin once per {} gets; insert: {} fresh keys into an empty map; remove: all {} keys.\n",
        single::GET_MAP_LEN,
        single::BATCH,
        single::WRITE_LEN,
        single::WRITE_LEN
    );
    println!("| map | get hit | get miss | insert | remove |");
    println!("|---|--:|--:|--:|--:|");
    let base = rows[0].medians();
    for row in &rows {
        let m = row.medians();
        print!("| {} |", row.name());
        for (v, b) in m.iter().zip(base) {
            print!(" {v:.1} ({:.2}x) |", v / b);
        }
        println!();
    }
}

/// Pinned get-hit and get-miss by map size: the read path from all-in-L1
/// to well past the last-level cache, for the maps with a pinned (or no)
/// read path.
fn size_table(a: &Args) {
    let progress = cli::Progress::default();
    const SIZES: [usize; 4] = [1 << 10, 1 << 14, 1 << 17, 1 << 20];
    println!("\n### Single thread, reads by map size\n");
    println!(
        "ns per get (median of {} interleaved samples, each at least 2^20 gets over every key of the map in random order; the pinned variants pin once per {} gets); in brackets the ratio to papaya in the same rounds.\n",
        a.rounds * 3,
        single::BATCH
    );
    println!("| entries | std hit | papaya hit | SplitMap hit | std miss | papaya miss | SplitMap miss |");
    println!("|--:|--:|--:|--:|--:|--:|--:|");
    for &len in &SIZES {
        let keys = single::Keys::with_len(len);
        let mut std_map = single::Std::new_map();
        std_map.insert_all(&keys.present);
        let mut papaya = single::Papaya::new_map();
        papaya.insert_all(&keys.present);
        let mut split = single::SplitPinned::new_map();
        split.insert_all(&keys.present);
        let reps = ((1 << 20) / len).max(1);
        let time = |f: &dyn Fn() -> u64| {
            let t = Instant::now();
            for _ in 0..reps {
                black_box(f());
            }
            t.elapsed().as_nanos() as f64 / (reps * len) as f64
        };
        let mut samples: [Vec<f64>; 6] = Default::default();
        for r in 0..a.rounds * 3 {
            progress.update(format_args!("sizes: {len} entries, round {}", r + 1));
            for (i, probe) in [&keys.hit, &keys.miss].into_iter().enumerate() {
                samples[3 * i].push(time(&|| std_map.get_all(black_box(probe))));
                samples[3 * i + 1].push(time(&|| papaya.get_all(black_box(probe))));
                samples[3 * i + 2].push(time(&|| split.get_all(black_box(probe))));
            }
        }
        let m: Vec<f64> = samples.iter().map(|s| stats::median(s)).collect();
        println!(
            "| {len} | {:.1} | {:.1} | {:.1} ({:.2}x) | {:.1} | {:.1} | {:.1} ({:.2}x) |",
            m[0],
            m[1],
            m[2],
            m[2] / m[1],
            m[3],
            m[4],
            m[5],
            m[5] / m[4]
        );
    }
    progress.clear();
}

fn main() {
    let a = parse_args();
    if a.single {
        single_table(&a);
        size_table(&a);
    }
    if a.concurrent {
        concurrent_tables(&a);
    }
}
