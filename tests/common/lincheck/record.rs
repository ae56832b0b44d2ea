//! Rounds on real threads: the adapter trait a map under test implements,
//! the random plan of a round, the recording, and the round loop.
//!
//! A round: a fresh map, a small key set (1 to `max_keys` keys, so every key
//! is contended), `threads` threads that start together at a barrier and
//! each run a pre-generated list of single-key operations (no random numbers
//! drawn while recording), now and then yielding first. Around every call a
//! thread takes two tickets of one global `AtomicU64` clock (`fetch_add`
//! just before the call, just after it returns). The clock's read-modify-
//! writes are totally ordered and synchronize, so `a.response < b.invoke`
//! means `a` happened before `b`: a sound real-time order for the check.
//! Every key gets exactly `ops_per_key` operations per round, which bounds
//! the checker's work; many short rounds give the depth.

use super::check::{check_history, Violation};
use super::history::{value, Event, Op, Slot};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Instant;

/// A map under test, seen through owned `u64` results. Keys are indexes
/// into the round's key set (`0..keys`); the adapter maps them to its own
/// keys. One implementation per map flavour lives in the test file.
pub trait SingleKeyMap: Sync {
    fn get(&self, key: usize) -> Option<u64>;
    /// Returns the old value.
    fn insert(&self, key: usize, value: u64) -> Option<u64>;
    /// Returns the old value.
    fn remove(&self, key: usize) -> Option<u64>;
    /// Adds `delta` if present; returns the new value.
    fn update(&self, key: usize, delta: u64) -> Option<u64>;
    /// Inserts `init` if absent, else adds `delta`; returns the new value.
    fn compute(&self, key: usize, init: u64, delta: u64) -> Option<u64>;
    /// Returns the value, inserting `value` first if absent.
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64;
}

fn apply<M: SingleKeyMap>(map: &M, key: usize, op: Op) -> Slot {
    match op {
        Op::Get => map.get(key),
        Op::Insert(v) => map.insert(key, v),
        Op::Remove => map.remove(key),
        Op::Update(delta) => map.update(key, delta),
        Op::Compute { init, delta } => map.compute(key, init, delta),
        Op::GetOrInsertWith(v) => Some(map.get_or_insert_with(key, v)),
    }
}

/// The shape of a round.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    pub threads: usize,
    /// Each round draws its number of keys from `1..=max_keys`.
    pub max_keys: usize,
    /// Operations per key per round: the length of each history checked.
    pub ops_per_key: usize,
    /// Relative weights of get, insert, remove, update, compute,
    /// get_or_insert_with.
    pub weights: [u32; 6],
    /// One operation in this many yields the thread just before it.
    pub yield_one_in: u32,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            threads: 4,
            max_keys: 6,
            ops_per_key: 150,
            weights: [25, 20, 20, 10, 10, 15],
            yield_one_in: 32,
        }
    }
}

/// One pre-generated call.
#[derive(Clone, Copy, Debug)]
struct Planned {
    key: usize,
    op: Op,
    yield_first: bool,
}

/// A round's plan: the number of keys, and each thread's calls.
fn plan(w: &Workload, seed: u64) -> (usize, Vec<Vec<Planned>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = rng.random_range(1..=w.max_keys);
    let mut slots: Vec<usize> = (0..keys)
        .flat_map(|k| std::iter::repeat(k).take(w.ops_per_key))
        .collect();
    slots.shuffle(&mut rng);
    let weights = w.weights;
    let total: u32 = weights.iter().sum();
    assert!(total > 0, "a workload needs some operations");
    let plans = (0..w.threads)
        .map(|t| {
            let mut writes = 0;
            let mut fresh = || {
                writes += 1;
                value(t, writes)
            };
            slots
                .iter()
                .skip(t)
                .step_by(w.threads)
                .map(|&key| {
                    let mut pick = rng.random_range(0..total);
                    let kind = weights
                        .iter()
                        .position(|&weight| {
                            let hit = pick < weight;
                            pick = pick.saturating_sub(weight);
                            hit
                        })
                        .expect("pick < total");
                    let op = match kind {
                        0 => Op::Get,
                        1 => Op::Insert(fresh()),
                        2 => Op::Remove,
                        3 => Op::Update(rng.random_range(1..=3)),
                        4 => Op::Compute {
                            init: fresh(),
                            delta: rng.random_range(1..=3),
                        },
                        _ => Op::GetOrInsertWith(fresh()),
                    };
                    Planned {
                        key,
                        op,
                        yield_first: rng.random_ratio(1, w.yield_one_in),
                    }
                })
                .collect()
        })
        .collect();
    (keys, plans)
}

/// Runs `plans` on `map`, one thread each, and returns every call made.
fn record<M: SingleKeyMap>(map: &M, plans: &[Vec<Planned>]) -> Vec<Event> {
    let clock = &AtomicU64::new(0);
    let barrier = &Barrier::new(plans.len());
    std::thread::scope(|s| {
        let workers: Vec<_> = plans
            .iter()
            .enumerate()
            .map(|(thread, plan)| {
                s.spawn(move || {
                    let mut log = Vec::with_capacity(plan.len());
                    barrier.wait();
                    for p in plan {
                        if p.yield_first {
                            std::thread::yield_now();
                        }
                        let invoke = clock.fetch_add(1, Ordering::SeqCst);
                        let ret = apply(map, p.key, p.op);
                        let response = clock.fetch_add(1, Ordering::SeqCst);
                        log.push(Event {
                            thread,
                            key: p.key,
                            op: p.op,
                            ret,
                            invoke,
                            response,
                        });
                    }
                    log
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect()
    })
}

/// The seed of round `round`: `SPLITMAP_LINCHECK_SEED` (default fixed) mixed
/// with the round number. Plans are reproducible; thread timing is not.
fn round_seed(round: usize) -> u64 {
    let base = std::env::var("SPLITMAP_LINCHECK_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5EED_0F1C);
    base ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Rounds per map set-up: `SPLITMAP_LINCHECK_ROUNDS` if set, else
/// `default` (scaled down under AddressSanitizer).
pub fn rounds_from_env(default: usize) -> usize {
    std::env::var("SPLITMAP_LINCHECK_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| super::super::scaled(default))
}

/// The first non-linearizable round, with what it takes to look at it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub name: String,
    pub round: usize,
    pub seed: u64,
    pub violation: Violation,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: round {} (plan seed {}) is not linearizable.",
            self.name, self.round, self.seed
        )?;
        write!(f, "{}", self.violation)
    }
}

/// Runs up to `rounds` rounds of `w`, each on a fresh map from
/// `make(keys)`, and returns the first violation found, if any.
pub fn find_violation<M: SingleKeyMap>(
    name: &str,
    w: &Workload,
    rounds: usize,
    mut make: impl FnMut(usize) -> M,
) -> Option<Failure> {
    let start = Instant::now();
    let mut ops = 0;
    for round in 0..rounds {
        let seed = round_seed(round);
        let (keys, plans) = plan(w, seed);
        let map = make(keys);
        let history = record(&map, &plans);
        drop(map);
        ops += history.len();
        if let Err(violation) = check_history(&history) {
            return Some(Failure {
                name: name.to_string(),
                round,
                seed,
                violation,
            });
        }
    }
    eprintln!(
        "{name}: {rounds} rounds, {ops} operations on {} threads: linearizable ({:.2?})",
        w.threads,
        start.elapsed()
    );
    None
}

/// Runs `rounds` rounds like [`find_violation`] and panics with the excerpt
/// of the first violation.
pub fn run_rounds<M: SingleKeyMap>(
    name: &str,
    w: &Workload,
    rounds: usize,
    make: impl FnMut(usize) -> M,
) {
    if let Some(failure) = find_violation(name, w, rounds, make) {
        panic!("{failure}");
    }
}
