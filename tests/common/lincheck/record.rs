//! Rounds on real threads: the adapter trait a map under test implements,
//! the random plan of a round, the recording, and the round loop.
//!
//! A round: a fresh map, a small key set (1 to `max_keys` keys, so every key
//! is contended), `threads` threads that start together at a spinning
//! rendezvous, meet there again every `sync_every` operations, and each run
//! a pre-generated list of single-key operations (no random numbers drawn
//! while recording), now and then yielding first. Around every call a
//! thread takes two tickets of one global `AtomicU64` clock (`fetch_add`
//! just before the call, just after it returns). The clock's read-modify-
//! writes are totally ordered and synchronize, so `a.response < b.invoke`
//! means `a` happened before `b`: a sound real-time order for the check.
//! Every key gets exactly `ops_per_key` operations per round, which bounds
//! the checker's work; many short rounds give the depth.

use super::check::{check_history, Violation};
use super::history::{value, Event, Op, Slot, NO, YES};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// Whether the key is present. By default through `get`, for maps
    /// without a `contains_key` of their own.
    fn contains_key(&self, key: usize) -> bool {
        self.get(key).is_some()
    }
}

fn apply<M: SingleKeyMap>(map: &M, key: usize, op: Op) -> Slot {
    match op {
        Op::Get => map.get(key),
        Op::Insert(v) => map.insert(key, v),
        Op::Remove => map.remove(key),
        Op::Update(delta) => map.update(key, delta),
        Op::Compute { init, delta } => map.compute(key, init, delta),
        Op::GetOrInsertWith(v) => Some(map.get_or_insert_with(key, v)),
        Op::ContainsKey => {
            if map.contains_key(key) {
                YES
            } else {
                NO
            }
        }
        Op::Walk | Op::RetainRemove { .. } | Op::ClearRemove => {
            unreachable!("{op} is a whole-map operation's part, never planned")
        }
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
    /// get_or_insert_with, contains_key.
    pub weights: [u32; 7],
    /// One operation in this many yields the thread just before it.
    pub yield_one_in: u32,
    /// Every this many operations the threads meet at a spinning
    /// [`Rendezvous`], so they keep starting operations together instead
    /// of drifting apart (0: only at the start).
    pub sync_every: usize,
}

impl Default for Workload {
    /// Two threads in lockstep (a rendezvous before every operation) on
    /// one or two keys: the shape that makes the most operations overlap
    /// another thread's on the same key without chaos mode.
    ///
    /// Share of operations overlapping another thread's on the same key
    /// (`find_violation` prints it), measured on the 2-core machine shared
    /// with other builds (load 4-7), `splitmap_default` and
    /// `splitmap_pinned_..` tests, release: the earlier default (4 threads,
    /// 1 to 6 keys, a sleeping barrier at the start only) 2-7%; this one
    /// 6-12%, 15-20% with `--test-threads=1` and 50 us of spinning
    /// (`.ci/lincheck.sh`). Real overlap needs two of the round's threads
    /// on the two cores at once, so the figures follow the machine's load.
    fn default() -> Self {
        Workload {
            threads: 2,
            max_keys: 2,
            ops_per_key: 150,
            weights: [25, 20, 20, 10, 10, 15, 10],
            yield_one_in: 32,
            sync_every: 1,
        }
    }
}

impl Workload {
    /// Four threads on one to three keys, meeting every 4 operations: more
    /// operations in flight at once (up to four on a key) than
    /// [`Workload::default`], fewer of them actually overlapping.
    pub fn four_threads() -> Self {
        Workload {
            threads: 4,
            max_keys: 3,
            sync_every: 4,
            ..Workload::default()
        }
    }
}

/// A rendezvous of the round's threads: each spins until all have arrived
/// (yielding now and then, after [`spin_before_yield`]), so they leave it
/// within a few hundred nanoseconds of each other when they are running at
/// the same time. A panicking thread poisons it, so the others fail
/// instead of waiting forever.
pub struct Rendezvous {
    parties: usize,
    arrived: AtomicUsize,
    poisoned: AtomicBool,
}

/// Poisons its rendezvous if dropped while its thread panics.
pub struct Poison<'a>(&'a Rendezvous);

impl Drop for Poison<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::SeqCst);
        }
    }
}

/// How long a thread waiting at a rendezvous spins before it yields:
/// `SPLITMAP_LINCHECK_SPIN_US` microseconds (default 0: yield every 64
/// spins, as `race::StartLine` does). Spinning longer keeps the round's
/// threads on their cores together, which only pays when nothing else
/// wants those cores: `.ci/lincheck.sh` runs one test at a time and sets
/// it; under `cargo test`, with tests running side by side, it only slows
/// them down.
fn spin_before_yield() -> std::time::Duration {
    let us = std::env::var("SPLITMAP_LINCHECK_SPIN_US")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    std::time::Duration::from_micros(us)
}

impl Rendezvous {
    pub fn new(parties: usize) -> Self {
        Rendezvous {
            parties,
            arrived: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    /// Held by each party while it takes part.
    pub fn poison_on_panic(&self) -> Poison<'_> {
        Poison(self)
    }

    /// Meeting number `meeting` (from 0; every party calls each in order).
    pub fn wait(&self, meeting: usize) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let target = (meeting + 1) * self.parties;
        let mut spins = 0u64;
        let mut yield_from = None;
        while self.arrived.load(Ordering::SeqCst) < target {
            spins += 1;
            if spins % 64 != 0 {
                std::hint::spin_loop();
                continue;
            }
            assert!(
                !self.poisoned.load(Ordering::Relaxed),
                "another thread of this round panicked (its message is above)"
            );
            let now = Instant::now();
            if now >= *yield_from.get_or_insert_with(|| now + spin_before_yield()) {
                std::thread::yield_now();
            }
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
                        5 => Op::GetOrInsertWith(fresh()),
                        _ => Op::ContainsKey,
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
/// The threads start together at a spinning rendezvous and meet again
/// every `sync_every` operations (as long as all of them have operations
/// left).
fn record<M: SingleKeyMap>(map: &M, plans: &[Vec<Planned>], sync_every: usize) -> Vec<Event> {
    let clock = &AtomicU64::new(0);
    let line = &Rendezvous::new(plans.len());
    let common = plans.iter().map(Vec::len).min().unwrap_or(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = plans
            .iter()
            .enumerate()
            .map(|(thread, plan)| {
                s.spawn(move || {
                    let _poison = line.poison_on_panic();
                    let mut log = Vec::with_capacity(plan.len());
                    let mut meeting = 0;
                    line.wait(meeting);
                    for (i, p) in plan.iter().enumerate() {
                        if sync_every > 0 && i > 0 && i % sync_every == 0 && i < common {
                            meeting += 1;
                            line.wait(meeting);
                        }
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

/// How many of `events` overlap in real time (their invoke-response
/// intervals intersect) an operation of another thread on the same key:
/// the operations whose order the checker actually has to search for.
pub fn same_key_overlaps(events: &[Event]) -> usize {
    let mut by_key: std::collections::BTreeMap<usize, Vec<&Event>> = Default::default();
    for e in events {
        by_key.entry(e.key).or_default().push(e);
    }
    let mut overlapped = 0;
    for mut key_events in by_key.into_values() {
        key_events.sort_by_key(|e| e.invoke);
        let mut hit = vec![false; key_events.len()];
        for i in 0..key_events.len() {
            let a = key_events[i];
            // Later-invoked events that start before `a` ends overlap it.
            for j in i + 1..key_events.len() {
                let b = key_events[j];
                if b.invoke > a.response {
                    break;
                }
                if b.thread != a.thread {
                    hit[i] = true;
                    hit[j] = true;
                }
            }
        }
        overlapped += hit.iter().filter(|&&h| h).count();
    }
    overlapped
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
    let mut overlapped = 0;
    for round in 0..rounds {
        let seed = round_seed(round);
        let (keys, plans) = plan(w, seed);
        let map = make(keys);
        let history = record(&map, &plans, w.sync_every);
        drop(map);
        ops += history.len();
        overlapped += same_key_overlaps(&history);
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
        "{name}: {rounds} rounds, {ops} operations on {} threads: linearizable ({:.2?}); \
         {overlapped} ({:.1}%) overlapped another thread's operation on the same key",
        w.threads,
        start.elapsed(),
        100.0 * overlapped as f64 / ops.max(1) as f64
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
