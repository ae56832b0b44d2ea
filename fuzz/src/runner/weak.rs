//! The `weak` runner: `WeakKeyMap` against a model that knows which keys are
//! alive.
//!
//! The runner owns the keys: 16 slots of `Arc<Key>` (plus a bulk list for
//! growth), and ops create, clone and drop them. The model stores, per key,
//! a `Weak` of the allocation the map's entry holds and the value; an entry
//! is live exactly while that `Weak` upgrades, so the model's answer to every
//! lookup is exact. Dead entries linger in the map until purged at times the
//! map chooses, so the counters are checked as identities that hold whenever
//! the map is quiescent:
//! - `weak_stats().live ==` the model's live entries (`live_len()` too, at
//!   every walk check);
//! - `stats().len == live + weak_stats().dead`;
//! - `inserts` and `replaces` exactly as the model counts them;
//! - `removes + purged ==` live entries removed + (entries that died −
//!   dead entries still linked).
//!
//! After `purge_dead`, `shrink_to_fit` and `clear` no dead entry is left.

use super::hash::{FuzzState, HashKind};
use super::input::Keep;
use super::tracked::{Tracker, Val};
use arbitrary::Arbitrary;
use splitmap::WeakKeyMap;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Weak};

/// The key type (held in `Arc`s).
pub type Key = u16;

const SLOTS: usize = 16;
/// Slot keys are `k % SLOT_KEYS`; bulk keys start at `SLOT_KEYS`.
const SLOT_KEYS: u8 = 64;

/// The map's layout: `with_layout(min_log2 % 5, 1 + load_factor % 4, ..)`.
#[derive(Arbitrary, Debug)]
pub struct WeakLayout {
    pub min_log2: u8,
    pub load_factor: u8,
    pub kind: HashKind,
    pub seed: u8,
}

/// One operation. Slots are `s % 16`.
#[derive(Arbitrary, Clone, Debug)]
pub enum WOp {
    /// `slot = Arc::new(k % 64)`, dropping what the slot held.
    NewKey(u8, u8),
    /// `to = from.clone()`.
    CloneKey(u8, u8),
    /// Drops the slot's `Arc` (its entry dies if that was the last one).
    DropKey(u8),
    /// `insert(slot.clone(), v)`.
    Insert(u8, u16),
    /// `insert(Arc::new(k), v)`: the entry is dead on return.
    InsertTemp(u8, u16),
    Get(u8),
    GetWith(u8),
    ContainsKey(u8),
    Remove(u8),
    Update(u8, u16),
    /// `get_or_insert_with(slot.clone(), || v)`.
    GetOrInsertWith(u8, u16),
    Retain(Keep),
    Clear,
    PurgeDead,
    ShrinkToFit,
    Reclaim,
    Iterate,
    /// Inserts `4 * len` keys from `64 + 8 * start`, kept alive in the bulk
    /// list (growth).
    InsertBulk(u8, u8),
    /// Drops every `2 + n % 3`-th bulk key (mass death).
    DropBulk(u8),
}

/// Runs one fuzz input given as raw bytes.
pub fn run_weak_bytes(data: &[u8]) {
    if let Some((layout, ops)) = super::decode::<WeakLayout, WOp>(data) {
        run_weak(&layout, &ops);
    }
}

/// Runs one decoded input.
pub fn run_weak(layout: &WeakLayout, ops: &[WOp]) {
    let tracker = Tracker::new();
    let map = WeakKeyMap::with_layout(
        u32::from(layout.min_log2 % 5),
        1 + usize::from(layout.load_factor % 4),
        FuzzState::new(layout.kind, layout.seed),
    );
    let mut run = WeakRun {
        map: &map,
        tracker: &tracker,
        slots: Default::default(),
        bulk: Vec::new(),
        entries: HashMap::new(),
        inserts: 0,
        replaces: 0,
        live_removes: 0,
        died: 0,
        step: 0,
    };
    for op in ops {
        run.step += 1;
        run.op(op);
        run.check_counts();
    }
    run.check_walk("final walk");
    // Drop every key the runner holds: every entry dies.
    run.slots = Default::default();
    run.bulk.clear();
    run.refresh();
    assert!(run.entries.is_empty());
    run.check_counts();
    assert_eq!(map.live_len(), 0, "live entries after every key dropped");
    let awaiting = map.stats().retired_awaiting as u64;
    drop(run);
    drop(map);
    let live = tracker.live();
    assert!(
        live <= awaiting,
        "after drop: {live} values alive, but only {awaiting} were awaiting reclamation"
    );
}

struct WeakRun<'m, S> {
    map: &'m WeakKeyMap<Key, Val, S>,
    tracker: &'m Arc<Tracker>,
    slots: [Option<Arc<Key>>; SLOTS],
    bulk: Vec<Arc<Key>>,
    /// Per key: a `Weak` of the allocation the live entry holds, and its value.
    entries: HashMap<Key, (Weak<Key>, u32)>,
    inserts: u64,
    replaces: u64,
    live_removes: u64,
    /// Entries whose key died while they were in the map.
    died: u64,
    step: usize,
}

impl<S> WeakRun<'_, S>
where
    S: BuildHasher + Send + Sync + 'static,
{
    /// Moves entries whose key has died out of the model.
    fn refresh(&mut self) {
        let before = self.entries.len();
        self.entries.retain(|_, (w, _)| w.strong_count() > 0);
        self.died += (before - self.entries.len()) as u64;
    }

    fn live(&self, k: Key) -> Option<u32> {
        self.entries.get(&k).map(|&(_, n)| n)
    }

    /// The model's side of storing `arc -> n` as a new or replacing entry.
    fn store(&mut self, arc: &Arc<Key>, n: u32) -> Option<u32> {
        let old = self.entries.insert(**arc, (Arc::downgrade(arc), n));
        if old.is_some() {
            self.replaces += 1;
        } else {
            self.inserts += 1;
        }
        old.map(|(_, n)| n)
    }

    fn slot(&self, s: u8) -> Option<Arc<Key>> {
        self.slots[usize::from(s) % SLOTS].clone()
    }

    fn op(&mut self, op: &WOp) {
        let ctx = format!("step {}: {op:?}", self.step);
        let map = self.map;
        let tracker = self.tracker;
        self.refresh();
        match *op {
            WOp::NewKey(s, k) => {
                self.slots[usize::from(s) % SLOTS] = Some(Arc::new(Key::from(k % SLOT_KEYS)));
            }
            WOp::CloneKey(from, to) => {
                self.slots[usize::from(to) % SLOTS] = self.slot(from);
            }
            WOp::DropKey(s) => self.slots[usize::from(s) % SLOTS] = None,
            WOp::Insert(s, n) => {
                if let Some(arc) = self.slot(s) {
                    let n = u32::from(n);
                    let got = map.insert(Arc::clone(&arc), tracker.val(n)).map(|v| v.n);
                    assert_eq!(got, self.store(&arc, n), "{ctx}: old value");
                    assert_eq!(map.get(&*arc).map(|v| v.n), Some(n), "{ctx}: read back");
                }
            }
            WOp::InsertTemp(k, n) => {
                let arc = Arc::new(Key::from(k % SLOT_KEYS));
                let n = u32::from(n);
                let got = map.insert(Arc::clone(&arc), tracker.val(n)).map(|v| v.n);
                assert_eq!(got, self.store(&arc, n), "{ctx}: old value");
                drop(arc);
                self.refresh();
                assert_eq!(
                    map.get(&Key::from(k % SLOT_KEYS)),
                    None,
                    "{ctx}: dead key found"
                );
            }
            WOp::Get(k) => {
                let k = Key::from(k);
                assert_eq!(map.get(&k).map(|v| v.n), self.live(k), "{ctx}");
            }
            WOp::GetWith(k) => {
                let k = Key::from(k);
                assert_eq!(map.get_with(&k, |v| v.n), self.live(k), "{ctx}");
            }
            WOp::ContainsKey(k) => {
                let k = Key::from(k);
                assert_eq!(map.contains_key(&k), self.live(k).is_some(), "{ctx}");
            }
            WOp::Remove(k) => {
                let k = Key::from(k);
                let want = self.entries.remove(&k).map(|(_, n)| n);
                self.live_removes += u64::from(want.is_some());
                assert_eq!(map.remove(&k).map(|v| v.n), want, "{ctx}");
                assert!(!map.contains_key(&k), "{ctx}: still there");
            }
            WOp::Update(k, d) => {
                let (k, d) = (Key::from(k), u32::from(d));
                let mut calls = 0;
                let got = map.update(&k, |v| {
                    calls += 1;
                    tracker.val(v.n.wrapping_add(d))
                });
                let want = self.live(k).map(|n| n.wrapping_add(d));
                assert_eq!(got.map(|v| v.n), want, "{ctx}");
                assert_eq!(calls, usize::from(want.is_some()), "{ctx}: closure calls");
                if let (Some(n), Some(e)) = (want, self.entries.get_mut(&k)) {
                    e.1 = n;
                    self.replaces += 1;
                }
            }
            WOp::GetOrInsertWith(s, n) => {
                if let Some(arc) = self.slot(s) {
                    let n = u32::from(n);
                    let mut calls = 0;
                    let got = map
                        .get_or_insert_with(Arc::clone(&arc), || {
                            calls += 1;
                            tracker.val(n)
                        })
                        .n;
                    let present = self.live(*arc);
                    assert_eq!(got, present.unwrap_or(n), "{ctx}");
                    assert_eq!(
                        calls,
                        usize::from(present.is_none()),
                        "{ctx}: closure calls"
                    );
                    if present.is_none() {
                        // An existing entry keeps its stored key; only a new
                        // one holds this `Arc`.
                        self.store(&arc, n);
                    }
                }
            }
            WOp::Retain(keep) => {
                let dead_before = map.weak_stats().dead;
                let mut visited = HashMap::new();
                let got = map.retain(|k, v| {
                    assert!(
                        visited.insert(*k, v.n).is_none(),
                        "{ctx}: visited {k} twice"
                    );
                    keep.keep(*k, v.n)
                });
                let model: HashMap<Key, u32> =
                    self.entries.iter().map(|(&k, &(_, n))| (k, n)).collect();
                assert_eq!(visited, model, "{ctx}: live entries visited");
                let before = self.entries.len();
                self.entries.retain(|&k, e| keep.keep(k, e.1));
                let removed = before - self.entries.len();
                self.live_removes += removed as u64;
                assert!(
                    got >= removed && got <= removed + dead_before,
                    "{ctx}: removed {got}, want {removed} live + up to {dead_before} dead"
                );
            }
            WOp::Clear => {
                map.clear();
                self.live_removes += self.entries.len() as u64;
                self.entries.clear();
                assert_eq!(map.weak_stats().dead, 0, "{ctx}: dead entries left");
            }
            WOp::PurgeDead | WOp::ShrinkToFit => {
                let dead_before = map.weak_stats().dead;
                if matches!(op, WOp::PurgeDead) {
                    // One thread: every dead entry still linked is this
                    // walk's to purge.
                    let got = map.purge_dead();
                    assert_eq!(
                        got, dead_before,
                        "{ctx}: purged {got} of {dead_before} dead"
                    );
                } else {
                    map.shrink_to_fit();
                }
                let w = map.weak_stats();
                assert_eq!(w.dead, 0, "{ctx}: dead entries left");
                assert_eq!(map.len(), self.entries.len(), "{ctx}: len after purge");
            }
            WOp::Reclaim => {
                let left = map.reclaim();
                assert!(map.stats().retired_awaiting <= left, "{ctx}: awaiting grew");
            }
            WOp::Iterate => self.check_walk(&ctx),
            WOp::InsertBulk(start, len) => {
                let lo = Key::from(SLOT_KEYS) + 8 * Key::from(start);
                for k in lo..lo + 4 * Key::from(len) {
                    let arc = Arc::new(k);
                    let got = map.insert(Arc::clone(&arc), tracker.val(u32::from(k)));
                    assert_eq!(
                        got.map(|v| v.n),
                        self.store(&arc, u32::from(k)),
                        "{ctx}: key {k}"
                    );
                    self.bulk.push(arc);
                }
            }
            WOp::DropBulk(n) => {
                let every = 2 + usize::from(n % 3);
                let mut i = 0;
                self.bulk.retain(|_| {
                    i += 1;
                    i % every != 0
                });
            }
        }
        self.refresh();
    }

    /// The identities of the module docs; run after every op.
    fn check_counts(&mut self) {
        self.refresh();
        let step = self.step;
        let w = self.map.weak_stats();
        let s = self.map.stats();
        let live = self.entries.len();
        assert_eq!(w.live, live, "step {step}: weak_stats.live");
        assert_eq!(self.map.is_empty(), live == 0, "step {step}: is_empty");
        assert_eq!(self.map.len(), s.len, "step {step}: len");
        assert_eq!(s.len, live + w.dead, "step {step}: stats.len = live + dead");
        assert_eq!(
            (s.inserts, s.replaces),
            (self.inserts, self.replaces),
            "step {step}: stats (inserts, replaces)"
        );
        assert_eq!(
            s.removes + s.purged,
            self.live_removes + self.died - w.dead as u64,
            "step {step}: removes + purged = live removes + purged dead"
        );
    }

    /// A snapshot walk yields each live key once, with its value.
    fn check_walk(&self, ctx: &str) {
        let snap = self.map.snapshot();
        let mut seen = HashMap::new();
        for (k, v) in snap.iter() {
            assert!(
                seen.insert(*k, v.n).is_none(),
                "{ctx}: key {k} yielded twice"
            );
        }
        let model: HashMap<Key, u32> = self.entries.iter().map(|(&k, &(_, n))| (k, n)).collect();
        assert_eq!(seen, model, "{ctx}: walk differs from the model");
        assert_eq!(snap.len(), model.len(), "{ctx}: snapshot len");
        assert_eq!(
            snap.is_empty(),
            model.is_empty(),
            "{ctx}: snapshot is_empty"
        );
        drop(snap);
        // Another walk: checked with the walks, not after every op.
        assert_eq!(self.map.live_len(), model.len(), "{ctx}: live_len");
    }
}
