//! The `threads` runner: two threads apply their own op sequences at once,
//! each on its own keys (thread `t` owns the keys `2k + t`), plus a few
//! shared counter keys that both bump with `update`/`compute`.
//!
//! Each thread checks every result on its own keys against its own model
//! (nobody else writes them, so the answers are exact), that the counters
//! only ever grow, and that snapshot walks taken during the race yield no
//! key twice, keep split order, and show its own keys exactly. After both
//! join, the map must equal the union of the two models with every counter
//! holding exactly the sum of all bumps, and `stats()` must add up.
//!
//! The interleaving comes from the scheduler, so a crash may need several
//! runs to reproduce.

use super::hash::{data_so_key, FuzzState, HashKind, ModelMap};
use super::input::ComputeOp;
use super::tracked::{Tracker, Val};
use arbitrary::Arbitrary;
use splitmap::SplitMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Barrier};

/// The map's key type.
pub type Key = u16;

/// The shared counter keys: `COUNTER_BASE .. COUNTER_BASE + COUNTERS`.
pub const COUNTER_BASE: Key = 60_000;
pub const COUNTERS: u8 = 4;

/// The map's layout: `with_layout(min_log2 % 5, 1 + load_factor % 4, ..)`;
/// each thread runs its op list `1 + rounds % 4` times (more overlap).
#[derive(Arbitrary, Debug)]
pub struct Layout {
    pub min_log2: u8,
    pub load_factor: u8,
    pub kind: HashKind,
    pub seed: u8,
    pub rounds: u8,
}

/// One fuzz input: the map's layout and the two threads' op sequences.
#[derive(Debug)]
pub struct ThreadsInput {
    pub layout: Layout,
    pub a: Vec<TOp>,
    pub b: Vec<TOp>,
}

/// One operation of one thread. `u8` keys are indexes into the thread's own
/// keys (`2k + t`); counters are `c % COUNTERS`.
#[derive(Arbitrary, Clone, Debug)]
pub enum TOp {
    Insert(u8, u16),
    PinInsert(u8, u16),
    Get(u8),
    Remove(u8),
    PinRemove(u8),
    Update(u8, u16),
    Compute(u8, ComputeOp),
    GetOrInsertWith(u8, u16),
    /// Own keys `k .. k + 2 * len` (index space up to 765: the map grows
    /// to ~1,500 keys; ranges of up to 1,020 keys, run up to four rounds
    /// by each thread, made the fuzzer run a third slower for no new
    /// coverage).
    InsertRange(u8, u8),
    RemoveRange(u8, u8),
    /// Removes own keys whose index is divisible by `2 + m % 4`.
    RetainOwn(u8),
    /// `update(counter, +by)`.
    Bump(u8, u8),
    /// `compute(counter, +by)`.
    ComputeBump(u8, u8),
    /// `MapRef::update(counter, +by)`, a few times under one pin.
    PinBump(u8, u8, u8),
    /// `1 + n % 32` bumps of one counter in a row, alternating `update` and
    /// `compute`: the two threads' CASes on one key collide.
    Hammer(u8, u8, u8),
    Iterate,
    Compact,
    ShrinkToFit,
    Reclaim,
    Yield,
}

/// Runs one fuzz input given as raw bytes.
pub fn run_threads_bytes(data: &[u8]) {
    if let Some((layout, ops)) = super::decode::<Layout, TOp>(data) {
        // Ops alternate between the threads: a, b, a, b, ...
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, op) in ops.into_iter().enumerate() {
            if i % 2 == 0 {
                a.push(op)
            } else {
                b.push(op)
            }
        }
        run_threads(&ThreadsInput { layout, a, b });
    }
}

/// What one thread did, for the final check.
#[derive(Debug, Default)]
struct Report {
    model: ModelMap<Key, u32>,
    bumps: [u32; COUNTERS as usize],
    bump_ops: u64,
    inserts: u64,
    removes: u64,
    replaces: u64,
    compactions: u64,
}

/// Runs one decoded input.
pub fn run_threads(input: &ThreadsInput) {
    let tracker = Tracker::new();
    let l = &input.layout;
    let map = SplitMap::with_layout(
        u32::from(l.min_log2 % 5),
        1 + usize::from(l.load_factor % 4),
        FuzzState::new(l.kind, l.seed),
    );
    for c in 0..COUNTERS {
        map.insert(COUNTER_BASE + Key::from(c), tracker.val(0));
    }
    let start = Barrier::new(2);
    let (ra, rb) = std::thread::scope(|s| {
        let a = s.spawn(|| Worker::new(&map, &tracker, 0, l.kind).run(&input.a, l.rounds, &start));
        let b = s.spawn(|| Worker::new(&map, &tracker, 1, l.kind).run(&input.b, l.rounds, &start));
        (a.join().unwrap(), b.join().unwrap())
    });

    // The union of both models, with the counters summed.
    let mut want: ModelMap<Key, u32> = ra.model.clone();
    want.extend(rb.model.iter().map(|(&k, &n)| (k, n)));
    for c in 0..COUNTERS {
        let sum = ra.bumps[usize::from(c)].wrapping_add(rb.bumps[usize::from(c)]);
        want.insert(COUNTER_BASE + Key::from(c), sum);
    }
    let mut seen = ModelMap::default();
    let mut last_so_key = 0;
    for (k, v) in map.snapshot().iter() {
        let so_key = data_so_key(map.hasher().hash_one(k));
        assert!(so_key >= last_so_key, "final: key {k} out of split order");
        last_so_key = so_key;
        assert!(
            seen.insert(*k, v.n).is_none(),
            "final: key {k} yielded twice"
        );
    }
    assert_eq!(seen, want, "final contents (counters summed)");
    for (&k, &n) in &want {
        assert_eq!(map.get(&k).map(|v| v.n), Some(n), "final: get {k}");
    }
    let s = map.stats();
    assert_eq!(map.len(), want.len(), "final len");
    assert_eq!(s.len, want.len(), "final stats.len");
    assert_eq!(
        (s.inserts, s.removes, s.replaces, s.purged),
        (
            u64::from(COUNTERS) + ra.inserts + rb.inserts,
            ra.removes + rb.removes,
            ra.replaces + rb.replaces + ra.bump_ops + rb.bump_ops,
            0
        ),
        "final stats (inserts, removes, replaces, purged)"
    );
    assert_eq!(
        s.compactions,
        ra.compactions + rb.compactions,
        "final stats.compactions"
    );
    map.compact();
    assert_eq!(
        map.stats().marked_linked,
        0,
        "marked nodes left after a quiescent compact"
    );

    let awaiting = map.stats().retired_awaiting as u64;
    drop(map);
    let live = tracker.live();
    assert!(
        live <= awaiting,
        "after drop: {live} values alive, but only {awaiting} were awaiting reclamation"
    );
}

/// One thread's view: the map, its own model and counter totals.
struct Worker<'m, S> {
    map: &'m SplitMap<Key, Val, S>,
    tracker: &'m Arc<Tracker>,
    me: Key,
    /// The map's hash kind: how key indexes are folded.
    kind: HashKind,
    r: Report,
    /// The largest value this thread has seen in each counter.
    counter_seen: [u32; COUNTERS as usize],
}

impl<'m, S> Worker<'m, S>
where
    S: BuildHasher + Send + Sync + 'static,
{
    fn new(
        map: &'m SplitMap<Key, Val, S>,
        tracker: &'m Arc<Tracker>,
        me: Key,
        kind: HashKind,
    ) -> Self {
        Worker {
            map,
            tracker,
            me,
            kind,
            r: Report::default(),
            counter_seen: [0; COUNTERS as usize],
        }
    }

    /// Thread `me`'s key with index `i` (folded for few-hash maps, see
    /// `HashKind::fold`).
    fn key(&self, i: u16) -> Key {
        2 * self.kind.fold(i) + self.me
    }

    /// The indexes of a range op, `i .. i + 2 * len`, each folded key once.
    /// (`key` folds them again: a no-op on a folded index.)
    fn range(&self, i: u8, len: u8) -> Vec<u16> {
        let lo = u16::from(i);
        self.kind.fold_range(lo..lo + 2 * u16::from(len)).collect()
    }

    fn is_mine(&self, k: Key) -> bool {
        k < COUNTER_BASE && k % 2 == self.me
    }

    fn put(&mut self, k: Key, n: u32) -> Option<u32> {
        let old = self.r.model.insert(k, n);
        if old.is_some() {
            self.r.replaces += 1;
        } else {
            self.r.inserts += 1;
        }
        old
    }

    fn del(&mut self, k: Key) -> Option<u32> {
        let old = self.r.model.remove(&k);
        if old.is_some() {
            self.r.removes += 1;
        }
        old
    }

    /// A counter's new value `now` after adding `by`: at least what this
    /// thread saw before plus `by` (counters only grow).
    fn counter_moved(&mut self, c: usize, by: u32, now: Option<u32>, ctx: &str) {
        let now = now.unwrap_or_else(|| panic!("{ctx}: counter {c} missing"));
        let floor = self.counter_seen[c].wrapping_add(by);
        assert!(
            now >= floor,
            "{ctx}: counter {c} went from >= {floor} down to {now}"
        );
        self.counter_seen[c] = now;
        self.r.bumps[c] = self.r.bumps[c].wrapping_add(by);
        self.r.bump_ops += 1;
    }

    fn run(mut self, ops: &[TOp], rounds: u8, start: &Barrier) -> Report {
        start.wait();
        for _ in 0..1 + rounds % 4 {
            self.round(ops);
        }
        self.check_walk("thread end");
        self.r
    }

    fn round(&mut self, ops: &[TOp]) {
        let map = self.map;
        let tracker = self.tracker;
        for (step, op) in ops.iter().enumerate() {
            let ctx = format!("thread {} step {step}: {op:?}", self.me);
            match *op {
                TOp::Insert(i, n) => {
                    let (k, n) = (self.key(u16::from(i)), u32::from(n));
                    let got = map.insert(k, tracker.val(n)).map(|v| v.n);
                    assert_eq!(got, self.put(k, n), "{ctx}");
                }
                TOp::PinInsert(i, n) => {
                    let (k, n) = (self.key(u16::from(i)), u32::from(n));
                    let m = map.pin();
                    let got = m.insert(k, tracker.val(n)).map(|v| v.n);
                    assert_eq!(got, self.put(k, n), "{ctx}");
                    assert_eq!(m.get(&k).map(|v| v.n), Some(n), "{ctx}: read back");
                }
                TOp::Get(i) => {
                    let k = self.key(u16::from(i));
                    let got = map.get(&k).map(|v| v.n);
                    assert_eq!(got, self.r.model.get(&k).copied(), "{ctx}");
                }
                TOp::Remove(i) => {
                    let k = self.key(u16::from(i));
                    let got = map.remove(&k).map(|v| v.n);
                    assert_eq!(got, self.del(k), "{ctx}");
                }
                TOp::PinRemove(i) => {
                    let k = self.key(u16::from(i));
                    let m = map.pin();
                    let got = m.remove(&k);
                    let want = self.del(k);
                    assert_eq!(got.map(|v| v.n), want, "{ctx}");
                    assert!(m.get(&k).is_none(), "{ctx}: still there");
                    if let (Some(v), Some(n)) = (got, want) {
                        v.assert_alive(n, &ctx);
                    }
                }
                TOp::Update(i, d) => {
                    let k = self.key(u16::from(i));
                    let got = map
                        .update(&k, |v| tracker.val(v.n.wrapping_add(u32::from(d))))
                        .map(|v| v.n);
                    let want = self.r.model.get(&k).map(|n| n.wrapping_add(u32::from(d)));
                    assert_eq!(got, want, "{ctx}");
                    if let Some(n) = want {
                        self.put(k, n);
                    }
                }
                TOp::Compute(i, c) => {
                    let k = self.key(u16::from(i));
                    let got = map
                        .compute(k, |cur| c.apply(cur.map(|v| v.n)).map(|n| tracker.val(n)))
                        .map(|v| v.n);
                    let want = c.apply(self.r.model.get(&k).copied());
                    assert_eq!(got, want, "{ctx}");
                    match want {
                        Some(n) => {
                            self.put(k, n);
                        }
                        None => {
                            self.del(k);
                        }
                    }
                }
                TOp::GetOrInsertWith(i, n) => {
                    let (k, n) = (self.key(u16::from(i)), u32::from(n));
                    let got = map.get_or_insert_with(k, || tracker.val(n)).n;
                    let present = self.r.model.get(&k).copied();
                    assert_eq!(got, present.unwrap_or(n), "{ctx}");
                    if present.is_none() {
                        self.put(k, n);
                    }
                }
                TOp::InsertRange(i, len) => {
                    let m = map.pin();
                    for j in self.range(i, len) {
                        let k = self.key(j);
                        let got = m.insert(k, tracker.val(u32::from(j))).map(|v| v.n);
                        assert_eq!(got, self.put(k, u32::from(j)), "{ctx}: key {k}");
                    }
                }
                TOp::RemoveRange(i, len) => {
                    for j in self.range(i, len) {
                        let k = self.key(j);
                        let got = map.remove(&k).map(|v| v.n);
                        assert_eq!(got, self.del(k), "{ctx}: key {k}");
                    }
                }
                TOp::RetainOwn(m) => {
                    let div = 2 + Key::from(m % 4);
                    let me = self.me;
                    let drop_it = |k: Key| k < COUNTER_BASE && k % 2 == me && (k / 2) % div == 0;
                    let removed = map.retain(|&k, _| !drop_it(k));
                    let before = self.r.model.len();
                    self.r.model.retain(|&k, _| !drop_it(k));
                    let want = before - self.r.model.len();
                    self.r.removes += want as u64;
                    // The other thread's keys are kept, so every removal is ours.
                    assert_eq!(removed, want, "{ctx}: removed count");
                }
                TOp::Bump(c, by) => {
                    let (c, by) = (usize::from(c % COUNTERS), u32::from(by));
                    let got = map
                        .update(&(COUNTER_BASE + c as Key), |v| {
                            tracker.val(v.n.wrapping_add(by))
                        })
                        .map(|v| v.n);
                    self.counter_moved(c, by, got, &ctx);
                }
                TOp::ComputeBump(c, by) => {
                    let (c, by) = (usize::from(c % COUNTERS), u32::from(by));
                    let got = map
                        .compute(COUNTER_BASE + c as Key, |v| {
                            let old = v.expect("counters are never removed").n;
                            Some(tracker.val(old.wrapping_add(by)))
                        })
                        .map(|v| v.n);
                    self.counter_moved(c, by, got, &ctx);
                }
                TOp::PinBump(c, by, times) => {
                    let (c, by) = (usize::from(c % COUNTERS), u32::from(by));
                    let m = map.pin();
                    for _ in 0..1 + times % 8 {
                        let got = m
                            .update(&(COUNTER_BASE + c as Key), |v| {
                                tracker.val(v.n.wrapping_add(by))
                            })
                            .map(|v| v.n);
                        self.counter_moved(c, by, got, &ctx);
                    }
                }
                TOp::Hammer(c, by, n) => {
                    let (c, by) = (usize::from(c % COUNTERS), u32::from(by));
                    let key = COUNTER_BASE + c as Key;
                    for i in 0..1 + n % 32 {
                        let got = if i % 2 == 0 {
                            map.update(&key, |v| tracker.val(v.n.wrapping_add(by)))
                        } else {
                            map.compute(key, |v| v.map(|v| tracker.val(v.n.wrapping_add(by))))
                        };
                        self.counter_moved(c, by, got.map(|v| v.n), &ctx);
                    }
                }
                TOp::Iterate => self.check_walk(&ctx),
                TOp::Compact => {
                    map.compact();
                    self.r.compactions += 1;
                }
                TOp::ShrinkToFit => {
                    map.shrink_to_fit();
                    self.r.compactions += 1;
                }
                TOp::Reclaim => {
                    map.reclaim();
                }
                TOp::Yield => std::thread::yield_now(),
            }
        }
    }

    /// A snapshot walk during the race: split order, no key twice, this
    /// thread's keys exactly, counters present and not below what this
    /// thread has seen, other keys only from the other thread.
    fn check_walk(&self, ctx: &str) {
        let snap = self.map.snapshot();
        let mut mine = ModelMap::default();
        let mut others = std::collections::HashSet::with_hasher(super::hash::ModelState);
        let mut last_so_key = 0;
        for (k, v) in snap.iter() {
            let so_key = data_so_key(self.map.hasher().hash_one(k));
            assert!(so_key >= last_so_key, "{ctx}: key {k} out of split order");
            last_so_key = so_key;
            if self.is_mine(*k) {
                assert!(
                    mine.insert(*k, v.n).is_none(),
                    "{ctx}: key {k} yielded twice"
                );
            } else {
                assert!(others.insert(*k), "{ctx}: key {k} yielded twice");
                if *k >= COUNTER_BASE {
                    let c = usize::from(*k - COUNTER_BASE);
                    assert!(c < usize::from(COUNTERS), "{ctx}: stray key {k}");
                    assert!(v.n >= self.counter_seen[c], "{ctx}: counter {c} went down");
                }
            }
        }
        assert_eq!(mine, self.r.model, "{ctx}: own keys in the walk");
        for c in 0..COUNTERS {
            assert!(
                others.contains(&(COUNTER_BASE + Key::from(c))),
                "{ctx}: counter {c} missing"
            );
        }
    }
}
