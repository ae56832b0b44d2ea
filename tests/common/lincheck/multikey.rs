//! Whole-map operations (walks, `len`, `is_empty`, `retain`, `clear`)
//! against a model, while other threads run single-key operations.
//!
//! ## What is promised (README, "Consistency guarantees")
//! - A walk yields every key present for the whole walk, no key absent for
//!   the whole walk, never a key twice, and for each key a value it held at
//!   some instant of the walk.
//! - `retain` and `clear` are walks of individually atomic removals: each
//!   key's removal (or not) happens at one instant between the call and the
//!   return, `retain` deciding on the value the key has then.
//! - `len()` is exact when no write is in flight, and under concurrent
//!   writes off by at most the writes that ran during the call.
//!
//! ## How it is checked
//! The per-key reading of those promises is a single-key operation each
//! (`history::Op::{Walk, RetainRemove, ClearRemove}`), so every key's
//! history — its owner's operations plus the whole-map operations' parts —
//! goes through the same Wing–Gong search as single-key histories
//! (`check.rs`): a walk that missed a key present throughout, a `retain`
//! that removed a key whose value passed, a `clear` that left a key, a
//! value nobody wrote... each makes that key's history impossible.
//!
//! Counts are not per key; they are checked against bounds the search
//! gives. For a window `[call, return]` and a key, probing the key's
//! history with one extra `contains_key` over the window answering "no"
//! (or "yes") asks whether the key can have been absent (present) at some
//! instant of it. Keys are independent (linearizability is local), so:
//! - a walk's count (`snapshot().len()`) lies between the keys present for
//!   the whole walk and the keys present at some instant of it;
//! - a counter `len()` lies in the same range, plus at most one for every
//!   write that could insert running during the call (an insert is counted
//!   before it is published and uncounted if its CAS fails; the removes
//!   are read before the inserts, so a key removed and re-inserted during
//!   the call can count twice) — and never below it (`counter.rs`: `len()`
//!   never under-reports);
//! - `retain`'s count lies between the keys its part must have removed and
//!   those it can have removed (its part probed with "removed" and "left").
//!
//! The single-key operations run on keys owned by one thread each, so the
//! counters of one key are written by one owner plus the whole-map thread,
//! which runs one operation at a time: the per-key bounds add up.

use super::check::{check_history, check_key, Violation};
use super::history::{value, Event, Op, Slot, ANY, NO, YES};
use super::record::{Rendezvous, SingleKeyMap};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// A map with whole-map operations, on top of its single-key ones. Keys are
/// the round's key indexes (`0..keys`), as for [`SingleKeyMap`].
pub trait MultiKeyMap: SingleKeyMap {
    /// How many walk flavours [`walk`](Self::walk) has.
    const WALKS: usize;
    /// Walks the whole map with flavour `flavour` (`< WALKS`): the pairs
    /// yielded, in order.
    fn walk(&self, flavour: usize) -> Vec<(usize, u64)>;
    /// The counter length (`len()`).
    fn len(&self) -> usize;
    /// `is_empty()`.
    fn is_empty(&self) -> bool;
    /// Removes every entry whose value `x` has `x % modulus == rem`;
    /// returns how many it removed.
    fn retain(&self, modulus: u64, rem: u64) -> usize;
    /// `clear()`.
    fn clear(&self);
}

/// A whole-map operation of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WholeOp {
    /// A walk of the given flavour; its result is what it yielded.
    Walk(usize),
    /// The number of pairs a walk of the given flavour yields (a
    /// snapshot's `len()` is such a walk).
    WalkCount(usize),
    Len,
    IsEmpty,
    Retain {
        modulus: u64,
        rem: u64,
    },
    Clear,
}

impl fmt::Display for WholeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WholeOp::Walk(n) => write!(f, "walk #{n}"),
            WholeOp::WalkCount(n) => write!(f, "count of walk #{n}"),
            WholeOp::Len => write!(f, "len()"),
            WholeOp::IsEmpty => write!(f, "is_empty()"),
            WholeOp::Retain { modulus, rem } => {
                write!(f, "retain(drop x % {modulus} == {rem})")
            }
            WholeOp::Clear => write!(f, "clear()"),
        }
    }
}

/// What a whole-map operation returned.
#[derive(Clone, Debug)]
pub enum WholeResult {
    Walk(Vec<(usize, u64)>),
    Count(usize),
    Bool(bool),
    Unit,
}

/// One recorded whole-map call, with the same clock as the events.
#[derive(Clone, Debug)]
pub struct WholeEvent {
    pub op: WholeOp,
    pub result: WholeResult,
    pub invoke: u64,
    pub response: u64,
}

/// The shape of a round.
#[derive(Clone, Copy, Debug)]
pub struct MultiWorkload {
    /// Threads running single-key operations, each on its own keys.
    pub owners: usize,
    /// Keys per round (owner `t` owns the keys `k % owners == t`).
    pub keys: usize,
    /// Single-key operations per key per round.
    pub ops_per_key: usize,
    /// Whole-map operations per round, spread over the owners' run.
    pub whole_ops: usize,
    /// Relative weights of the owners' get, insert, remove, update,
    /// compute, get_or_insert_with.
    pub single_weights: [u32; 6],
    /// Relative weights of walk, walk count, len, is_empty, retain, clear.
    pub whole_weights: [u32; 6],
}

impl Default for MultiWorkload {
    fn default() -> Self {
        MultiWorkload {
            owners: 2,
            keys: 8,
            ops_per_key: 24,
            whole_ops: 12,
            // Writes that insert and remove often, so keys come and go
            // under the walks.
            single_weights: [10, 35, 30, 10, 10, 5],
            whole_weights: [30, 10, 25, 5, 20, 10],
        }
    }
}

fn pick(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total);
    weights
        .iter()
        .position(|&w| {
            let hit = x < w;
            x = x.saturating_sub(w);
            hit
        })
        .expect("x < total")
}

/// A round's plan: each owner's calls, and the whole-map calls.
struct Plan {
    owners: Vec<Vec<(usize, Op)>>,
    whole: Vec<WholeOp>,
}

fn plan<M: MultiKeyMap>(w: &MultiWorkload, seed: u64) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let owners = (0..w.owners)
        .map(|t| {
            let mine: Vec<usize> = (0..w.keys).filter(|k| k % w.owners == t).collect();
            let mut slots: Vec<usize> = mine
                .iter()
                .flat_map(|&k| std::iter::repeat(k).take(w.ops_per_key))
                .collect();
            slots.shuffle(&mut rng);
            let mut writes = 0;
            // Every key starts present, so the first walks have something
            // to miss.
            let mut calls: Vec<(usize, Op)> = mine
                .iter()
                .map(|&k| {
                    writes += 1;
                    (k, Op::Insert(value(t, writes)))
                })
                .collect();
            for key in slots {
                let op = match pick(&mut rng, &w.single_weights) {
                    0 => Op::Get,
                    1 => {
                        writes += 1;
                        Op::Insert(value(t, writes))
                    }
                    2 => Op::Remove,
                    3 => Op::Update(rng.random_range(1..=3)),
                    4 => {
                        writes += 1;
                        Op::Compute {
                            init: value(t, writes),
                            delta: rng.random_range(1..=3),
                        }
                    }
                    _ => {
                        writes += 1;
                        Op::GetOrInsertWith(value(t, writes))
                    }
                };
                calls.push((key, op));
            }
            calls
        })
        .collect();
    let whole = (0..w.whole_ops)
        .map(|_| match pick(&mut rng, &w.whole_weights) {
            0 => WholeOp::Walk(rng.random_range(0..M::WALKS)),
            1 => WholeOp::WalkCount(rng.random_range(0..M::WALKS)),
            2 => WholeOp::Len,
            3 => WholeOp::IsEmpty,
            4 => {
                let modulus = rng.random_range(2..=3);
                WholeOp::Retain {
                    modulus,
                    rem: rng.random_range(0..modulus),
                }
            }
            _ => WholeOp::Clear,
        })
        .collect();
    Plan { owners, whole }
}

fn apply_single<M: SingleKeyMap>(map: &M, key: usize, op: Op) -> Slot {
    match op {
        Op::Get => map.get(key),
        Op::Insert(v) => map.insert(key, v),
        Op::Remove => map.remove(key),
        Op::Update(d) => map.update(key, d),
        Op::Compute { init, delta } => map.compute(key, init, delta),
        Op::GetOrInsertWith(v) => Some(map.get_or_insert_with(key, v)),
        Op::ContainsKey => {
            if map.contains_key(key) {
                YES
            } else {
                NO
            }
        }
        Op::Walk | Op::RetainRemove { .. } | Op::ClearRemove => unreachable!(),
    }
}

fn apply_whole<M: MultiKeyMap>(map: &M, op: WholeOp) -> WholeResult {
    match op {
        WholeOp::Walk(n) => WholeResult::Walk(map.walk(n)),
        WholeOp::WalkCount(n) => WholeResult::Count(map.walk(n).len()),
        WholeOp::Len => WholeResult::Count(map.len()),
        WholeOp::IsEmpty => WholeResult::Bool(map.is_empty()),
        WholeOp::Retain { modulus, rem } => WholeResult::Count(map.retain(modulus, rem)),
        WholeOp::Clear => {
            map.clear();
            WholeResult::Unit
        }
    }
}

/// Runs a plan. The owners' calls are cut into as many stretches as there
/// are whole-map calls; before each stretch every thread meets at a
/// spinning rendezvous, then the whole-map thread makes its next call while
/// the owners run the stretch (so each whole-map call runs among writes,
/// even on a busy machine where the threads rarely run at once). After
/// the owners finish, the whole-map thread walks and counts once more, with
/// nothing in flight.
fn record<M: MultiKeyMap>(map: &M, plan: &Plan) -> (Vec<Event>, Vec<WholeEvent>) {
    let clock = &AtomicU64::new(0);
    let line = &Rendezvous::new(plan.owners.len() + 1);
    let done = &AtomicUsize::new(0);
    let stretches = plan.whole.len().max(1);
    let call = |op: WholeOp| {
        let invoke = clock.fetch_add(1, Ordering::SeqCst);
        let result = apply_whole(map, op);
        let response = clock.fetch_add(1, Ordering::SeqCst);
        WholeEvent {
            op,
            result,
            invoke,
            response,
        }
    };
    std::thread::scope(|s| {
        let owners: Vec<_> = plan
            .owners
            .iter()
            .enumerate()
            .map(|(thread, calls)| {
                s.spawn(move || {
                    let _poison = line.poison_on_panic();
                    // Counted when the owner ends, panicking or not.
                    let _done = Done(done);
                    let mut log = Vec::with_capacity(calls.len());
                    for stretch in 0..stretches {
                        line.wait(stretch);
                        let from = calls.len() * stretch / stretches;
                        let to = calls.len() * (stretch + 1) / stretches;
                        for &(key, op) in &calls[from..to] {
                            let invoke = clock.fetch_add(1, Ordering::SeqCst);
                            let ret = apply_single(map, key, op);
                            let response = clock.fetch_add(1, Ordering::SeqCst);
                            log.push(Event {
                                thread,
                                key,
                                op,
                                ret,
                                invoke,
                                response,
                            });
                        }
                    }
                    log
                })
            })
            .collect();
        let whole = s.spawn(move || {
            let _poison = line.poison_on_panic();
            let mut log = Vec::with_capacity(plan.whole.len() + 2);
            for (stretch, &op) in plan.whole.iter().enumerate() {
                line.wait(stretch);
                log.push(call(op));
            }
            while done.load(Ordering::SeqCst) != plan.owners.len() {
                std::thread::yield_now();
            }
            log.push(call(WholeOp::Walk(0)));
            log.push(call(WholeOp::Len));
            log
        });
        let events = owners
            .into_iter()
            .flat_map(|o| o.join().expect("an owner thread panicked"))
            .collect();
        (events, whole.join().expect("the whole-map thread panicked"))
    })
}

/// Counts an owner thread as finished when dropped.
struct Done<'a>(&'a AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Why a round's history is impossible.
#[derive(Clone, Debug)]
pub enum MultiViolation {
    /// A walk yielded a key twice, or a key outside the round's keys.
    BadWalk { op: WholeEvent, why: String },
    /// A key's history, with the whole-map operations' parts, has no
    /// linearization.
    Key(Violation),
    /// A count outside what the keys' histories allow.
    Count {
        op: WholeEvent,
        got: usize,
        low: usize,
        high: usize,
        why: String,
    },
}

impl fmt::Display for MultiViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultiViolation::BadWalk { op, why } => write!(
                f,
                "{} (invoke {}, response {}): {why}",
                op.op, op.invoke, op.response
            ),
            MultiViolation::Key(v) => write!(
                f,
                "with the whole-map operations' parts (walks, retain, clear; \
                 T{WHOLE_THREAD} below) {v}"
            ),
            MultiViolation::Count {
                op,
                got,
                low,
                high,
                why,
            } => write!(
                f,
                "{} (invoke {}, response {}) returned {got}, but the keys' histories \
                 allow only {low}..={high}: {why}",
                op.op, op.invoke, op.response
            ),
        }
    }
}

/// The thread number the whole-map operations' parts get in key histories.
pub const WHOLE_THREAD: usize = 99;

/// Each key's events, owners' and whole-map parts together.
fn key_histories(keys: usize, events: &[Event], whole: &[WholeEvent]) -> Vec<Vec<Event>> {
    let mut by_key = vec![Vec::new(); keys];
    for e in events {
        by_key[e.key].push(*e);
    }
    for w in whole {
        let part = |op: Op, ret: Slot| Event {
            thread: WHOLE_THREAD,
            key: 0,
            op,
            ret,
            invoke: w.invoke,
            response: w.response,
        };
        let parts: Vec<Event> = match (&w.op, &w.result) {
            (WholeOp::Walk(_), WholeResult::Walk(pairs)) => {
                let mut seen = vec![None; keys];
                for &(k, v) in pairs {
                    seen[k] = Some(v);
                }
                seen.into_iter().map(|v| part(Op::Walk, v)).collect()
            }
            (&WholeOp::Retain { modulus, rem }, _) => (0..keys)
                .map(|_| part(Op::RetainRemove { modulus, rem }, ANY))
                .collect(),
            (WholeOp::Clear, _) => (0..keys).map(|_| part(Op::ClearRemove, ANY)).collect(),
            _ => Vec::new(),
        };
        for (k, mut e) in parts.into_iter().enumerate() {
            e.key = k;
            by_key[k].push(e);
        }
    }
    by_key
}

/// Whether `history` (one key's) stays linearizable with `extra` added.
fn possible(history: &[Event], extra: Event) -> bool {
    let mut h = history.to_vec();
    h.push(extra);
    check_key(&h).is_ok()
}

/// Checks a round: walks well formed, every key's history linearizable
/// with the whole-map parts, every count within its bounds.
pub fn check_round(
    keys: usize,
    events: &[Event],
    whole: &[WholeEvent],
) -> Result<(), MultiViolation> {
    for w in whole {
        if let WholeResult::Walk(pairs) = &w.result {
            let mut seen = vec![false; keys];
            for &(k, v) in pairs {
                if k >= keys {
                    return Err(MultiViolation::BadWalk {
                        op: w.clone(),
                        why: format!("yielded key {k} (value {v}), but the round has {keys} keys"),
                    });
                }
                if std::mem::replace(&mut seen[k], true) {
                    return Err(MultiViolation::BadWalk {
                        op: w.clone(),
                        why: format!("yielded key {k} twice"),
                    });
                }
            }
        }
    }
    let histories = key_histories(keys, events, whole);
    let all: Vec<Event> = histories.iter().flatten().copied().collect();
    check_history(&all).map_err(MultiViolation::Key)?;

    for w in whole {
        let probe = |k: usize, op: Op, ret: Slot| Event {
            thread: WHOLE_THREAD + 1,
            key: k,
            op,
            ret,
            invoke: w.invoke,
            response: w.response,
        };
        // Keys surely present for the whole call, keys possibly present
        // at some instant of it.
        let present_bounds = || {
            let mut low = 0;
            let mut high = 0;
            for (k, h) in histories.iter().enumerate() {
                if !possible(h, probe(k, Op::ContainsKey, NO)) {
                    low += 1;
                }
                if possible(h, probe(k, Op::ContainsKey, YES)) {
                    high += 1;
                }
            }
            (low, high)
        };
        match (&w.op, &w.result) {
            (WholeOp::WalkCount(_), &WholeResult::Count(got)) => {
                let (low, high) = present_bounds();
                if !(low..=high).contains(&got) {
                    return Err(MultiViolation::Count {
                        op: w.clone(),
                        got,
                        low,
                        high,
                        why: format!(
                            "{low} keys were present for the whole walk, \
                             {high} at some instant of it"
                        ),
                    });
                }
            }
            (WholeOp::Len | WholeOp::IsEmpty, result) => {
                let (low, high) = present_bounds();
                // Writes that may insert and ran during the call.
                let inserting = events
                    .iter()
                    .filter(|e| e.op.may_insert() && e.invoke < w.response && e.response > w.invoke)
                    .count();
                let slack_high = high + inserting;
                let why = format!(
                    "{low} keys were present for the whole call, {high} at some \
                     instant of it, and {inserting} writes that may insert ran \
                     during it"
                );
                match *result {
                    WholeResult::Count(got) if !(low..=slack_high).contains(&got) => {
                        return Err(MultiViolation::Count {
                            op: w.clone(),
                            got,
                            low,
                            high: slack_high,
                            why,
                        });
                    }
                    WholeResult::Bool(empty)
                        if (empty && low > 0) || (!empty && slack_high == 0) =>
                    {
                        return Err(MultiViolation::Count {
                            op: w.clone(),
                            got: usize::from(!empty),
                            low: usize::from(low > 0),
                            high: usize::from(slack_high > 0),
                            why: format!("as a count of 0 or 1 (is_empty = {empty}): {why}"),
                        });
                    }
                    _ => {}
                }
            }
            (&WholeOp::Retain { modulus, rem }, &WholeResult::Count(got)) => {
                // The retain's own part on each key, probed with "removed"
                // and with "left".
                let mut low = 0;
                let mut high = 0;
                for (k, h) in histories.iter().enumerate() {
                    let without: Vec<Event> = h
                        .iter()
                        .filter(|e| {
                            !(e.thread == WHOLE_THREAD
                                && e.invoke == w.invoke
                                && e.response == w.response)
                        })
                        .copied()
                        .collect();
                    let mut own = probe(k, Op::RetainRemove { modulus, rem }, YES);
                    own.thread = WHOLE_THREAD;
                    if possible(&without, own) {
                        high += 1;
                    }
                    own.ret = NO;
                    if !possible(&without, own) {
                        low += 1;
                    }
                }
                if !(low..=high).contains(&got) {
                    return Err(MultiViolation::Count {
                        op: w.clone(),
                        got,
                        low,
                        high,
                        why: format!(
                            "{low} keys must have been removed by it, {high} can have been"
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first failing round, with what it takes to look at it.
#[derive(Clone, Debug)]
pub struct MultiFailure {
    pub name: String,
    pub round: usize,
    pub seed: u64,
    pub violation: MultiViolation,
}

impl fmt::Display for MultiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: round {} (plan seed {}) breaks the whole-map guarantees.",
            self.name, self.round, self.seed
        )?;
        write!(f, "{}", self.violation)
    }
}

/// Runs up to `rounds` rounds, each on a fresh map from `make()`, and
/// returns the first failing one.
pub fn find_multi_violation<M: MultiKeyMap>(
    name: &str,
    w: &MultiWorkload,
    rounds: usize,
    mut make: impl FnMut() -> M,
) -> Option<MultiFailure> {
    let start = Instant::now();
    let (mut ops, mut whole_ops, mut overlapped) = (0, 0, 0);
    let base = std::env::var("SPLITMAP_LINCHECK_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5EED_3417);
    for round in 0..rounds {
        let seed = base ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let plan = plan::<M>(w, seed);
        let map = make();
        let (events, whole) = record(&map, &plan);
        drop(map);
        ops += events.len();
        whole_ops += whole.len();
        // Whole-map calls that overlapped an owner's call.
        overlapped += whole
            .iter()
            .filter(|o| {
                events
                    .iter()
                    .any(|e| e.invoke < o.response && e.response > o.invoke)
            })
            .count();
        if let Err(violation) = check_round(w.keys, &events, &whole) {
            return Some(MultiFailure {
                name: name.to_string(),
                round,
                seed,
                violation,
            });
        }
    }
    eprintln!(
        "{name}: {rounds} rounds, {ops} single-key and {whole_ops} whole-map operations: \
         consistent ({:.2?}); {overlapped} whole-map operations overlapped an owner's",
        start.elapsed()
    );
    None
}

/// Runs `rounds` rounds and panics with the first failure.
pub fn run_multi_rounds<M: MultiKeyMap>(
    name: &str,
    w: &MultiWorkload,
    rounds: usize,
    make: impl FnMut() -> M,
) {
    if let Some(failure) = find_multi_violation(name, w, rounds, make) {
        panic!("{failure}");
    }
}
