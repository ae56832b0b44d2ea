//! A small fixed workload for instruction-level profiling of one operation
//! at a time (callgrind), so the core's hot paths can be compared with std
//! `HashMap` and papaya on identical keys.
//!
//! ```text
//! cargo build --release --example profile_ops
//! valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!     target/release/examples/profile_ops split-get-hit
//! callgrind_annotate cg.out | head -40
//! ```
//! Modes: `{split,std,papaya,harness}-{get-hit,get-miss,insert,remove,churn}`
//! (`harness`: the key stream and loop alone, no map); `--n N`
//! entries (default 131072), `--ops N` measured operations (default 1,000,000).
//! Setup (filling the map) is part of the run; subtract the `-setup` mode
//! (`split-setup`, ...) to isolate the operation, or use
//! `scripts/profile-core.sh`, which reports per-operation figures of each
//! map's own work (two run lengths differenced, the harness subtracted).

use std::collections::HashMap;
use std::hint::black_box;

use lexopt::prelude::*;

#[path = "support/cli.rs"]
mod cli;

type H = foldhash::fast::FixedState;

fn hasher() -> H {
    foldhash::fast::FixedState::with_seed(0x5EED_0000_5A17_0001)
}

fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5_A5A5_0000_0000
}

trait P {
    fn new_map() -> Self;
    fn ins(&mut self, k: u64);
    fn get_many(&self, keys: &mut dyn Iterator<Item = u64>) -> u64;
    fn del(&mut self, k: u64);
}

impl P for splitmap::SplitMap<u64, u64, H> {
    fn new_map() -> Self {
        splitmap::SplitMap::with_hasher(hasher())
    }
    fn ins(&mut self, k: u64) {
        self.insert(k, k);
    }
    fn get_many(&self, keys: &mut dyn Iterator<Item = u64>) -> u64 {
        let mut sum = 0;
        let mut n = 0;
        let mut g = self.pin();
        for k in keys {
            sum += g.get(&k).copied().unwrap_or(1);
            n += 1;
            if n % 1024 == 0 {
                drop(g);
                g = self.pin();
            }
        }
        sum
    }
    fn del(&mut self, k: u64) {
        self.remove(&k);
    }
}

impl P for HashMap<u64, u64, H> {
    fn new_map() -> Self {
        HashMap::with_hasher(hasher())
    }
    fn ins(&mut self, k: u64) {
        self.insert(k, k);
    }
    fn get_many(&self, keys: &mut dyn Iterator<Item = u64>) -> u64 {
        keys.map(|k| self.get(&k).copied().unwrap_or(1)).sum()
    }
    fn del(&mut self, k: u64) {
        self.remove(&k);
    }
}

impl P for papaya::HashMap<u64, u64, H> {
    fn new_map() -> Self {
        papaya::HashMap::builder().hasher(hasher()).build()
    }
    fn ins(&mut self, k: u64) {
        self.pin().insert(k, k);
    }
    fn get_many(&self, keys: &mut dyn Iterator<Item = u64>) -> u64 {
        let mut sum = 0;
        for chunk in keys.collect::<Vec<_>>().chunks(1024) {
            let g = self.pin();
            sum += chunk
                .iter()
                .map(|k| g.get(k).copied().unwrap_or(1))
                .sum::<u64>();
        }
        sum
    }
    fn del(&mut self, k: u64) {
        self.pin().remove(&k);
    }
}

/// The harness alone: the same key stream through the same `dyn Iterator`
/// and loop, and no map. Its per-operation instructions are what
/// `scripts/profile-core.sh` subtracts to report a map's own ("core")
/// figures.
struct Harness;

impl P for Harness {
    fn new_map() -> Self {
        Harness
    }
    fn ins(&mut self, k: u64) {
        black_box(k);
    }
    fn get_many(&self, keys: &mut dyn Iterator<Item = u64>) -> u64 {
        keys.map(|k| black_box(k) & 1).sum()
    }
    fn del(&mut self, k: u64) {
        black_box(k);
    }
}

fn run<M: P>(op: &str, n: u64, ops: u64) {
    let mut m = M::new_map();
    let fill = if op == "insert" { 0 } else { n };
    for i in 0..fill {
        m.ins(key(2 * i));
    }
    // A fixed pseudo-random walk over the present (even) or absent (odd) ranks.
    let pick = move |j: u64| (j.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 7) % n.max(1);
    match op {
        "setup" => {}
        "get-hit" => {
            black_box(m.get_many(&mut (0..ops).map(|j| key(2 * pick(j)))));
        }
        "get-miss" => {
            black_box(m.get_many(&mut (0..ops).map(|j| key(2 * pick(j) + 1))));
        }
        "insert" => {
            for i in 0..ops {
                m.ins(key(2 * i));
            }
        }
        "remove" => {
            for i in 0..ops.min(n) {
                m.del(key(2 * i));
            }
        }
        "churn" => {
            // A sliding window of `n` live keys: insert the newest, remove
            // the oldest (one step = one insert + one remove).
            for i in 0..ops {
                m.ins(key(2 * (n + i)));
                m.del(key(2 * i));
            }
        }
        other => unreachable!("mode checked in main: {other}"),
    }
    black_box(&m);
    // Not dropped: teardown would be counted against the op (and differs
    // between a full map and an emptied one).
    std::mem::forget(m);
}

const USAGE: &str = "profile_ops [MAP-OP] [--n ENTRIES] [--ops OPERATIONS]\n  \
MAP: split | std | papaya | harness; OP: get-hit | get-miss | insert | remove | churn | setup";

const MAPS: [&str; 4] = ["split", "std", "papaya", "harness"];
const OPS: [&str; 6] = ["get-hit", "get-miss", "insert", "remove", "churn", "setup"];

fn main() {
    let (mut mode, mut n, mut ops) = (None, 131_072u64, 1_000_000u64);
    cli::parse(USAGE, |p| {
        while let Some(arg) = p.next()? {
            match arg {
                Value(m) if mode.is_none() => mode = Some(m.string()?),
                Long("n") => n = p.value()?.parse()?,
                Long("ops") => ops = p.value()?.parse()?,
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(())
    });
    let mode = mode.unwrap_or_else(|| "split-get-hit".into());
    let Some((map, op)) = mode
        .split_once('-')
        .filter(|(map, op)| MAPS.contains(map) && OPS.contains(op))
    else {
        cli::fail(USAGE, format_args!("unknown mode {mode:?}"))
    };
    match map {
        "split" => run::<splitmap::SplitMap<u64, u64, H>>(op, n, ops),
        "std" => run::<HashMap<u64, u64, H>>(op, n, ops),
        "harness" => run::<Harness>(op, n, ops),
        _ => run::<papaya::HashMap<u64, u64, H>>(op, n, ops),
    }
}
