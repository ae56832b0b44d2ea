//! The `weak_identity` runner: `WeakIdentityMap` against a model that knows
//! which keys are alive and tells keys apart by allocation, not by value.
//!
//! As in the `weak` runner (`weak.rs`), the runner owns the keys (16 slots
//! of `Arc<Key>` plus a bulk list) and the model keeps, per entry, a `Weak`
//! of its key's allocation and the value, so every lookup's answer is exact.
//! What identity adds:
//! - two `Arc`s with equal values are two keys (`NewKey` twice with the
//!   same value, then `Insert` both: two entries);
//! - a lookup through a fresh `Arc` equal in value to a stored key never
//!   matches (`GetFresh`);
//! - the model's entries are keyed by the key's address, which cannot be
//!   reused while the map or the model still holds a `Weak` of it.
//!
//! The counter identities of `weak.rs` hold here too, and `purge_dead` on
//! one thread purges exactly the dead entries still linked.

use super::hash::FuzzState;
use super::input::Keep;
use super::tracked::{Tracker, Val};
use super::weak::{Key, WeakLayout};
use arbitrary::Arbitrary;
use splitmap::WeakIdentityMap;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Weak};

const SLOTS: usize = 16;
const SLOT_KEYS: u8 = 64;

/// One operation. Slots are `s % 16`.
#[derive(Arbitrary, Clone, Debug)]
pub enum IOp {
    /// `slot = Arc::new(k % 64)`: a new key, even if an equal one exists.
    NewKey(u8, u8),
    /// `to = from.clone()`: the same key.
    CloneKey(u8, u8),
    /// Drops the slot's `Arc` (its entry dies if that was the last one).
    DropKey(u8),
    Insert(u8, u16),
    /// `insert(Arc::new(k), v)`: a new key, dead on return.
    InsertTemp(u8, u16),
    Get(u8),
    GetWith(u8),
    ContainsKey(u8),
    /// `get(&Arc::new(slot's value))`: an equal key is not the same key.
    GetFresh(u8),
    Remove(u8),
    Update(u8, u16),
    GetOrInsertWith(u8, u16),
    Retain(Keep),
    Clear,
    PurgeDead,
    ShrinkToFit,
    Reclaim,
    Iterate,
    /// Inserts `4 * len` new keys from `64 + 8 * start`, kept alive in the
    /// bulk list (growth).
    InsertBulk(u8, u8),
    /// Drops every `2 + n % 3`-th bulk key (mass death).
    DropBulk(u8),
}

/// Runs one fuzz input given as raw bytes.
pub fn run_weak_identity_bytes(data: &[u8]) {
    if let Some((layout, ops)) = super::decode::<WeakLayout, IOp>(data) {
        run_weak_identity(&layout, &ops);
    }
}

/// Runs one decoded input.
pub fn run_weak_identity(layout: &WeakLayout, ops: &[IOp]) {
    let tracker = Tracker::new();
    let map = WeakIdentityMap::with_layout(
        u32::from(layout.min_log2 % 5),
        1 + usize::from(layout.load_factor % 4),
        FuzzState::new(layout.kind, layout.seed),
    );
    let mut run = IdRun {
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

/// A key's identity: its allocation's address.
fn addr(k: &Key) -> usize {
    k as *const Key as usize
}

struct IdRun<'m, S> {
    map: &'m WeakIdentityMap<Key, Val, S>,
    tracker: &'m Arc<Tracker>,
    slots: [Option<Arc<Key>>; SLOTS],
    bulk: Vec<Arc<Key>>,
    /// Per key address: a `Weak` of the key (it also keeps the address from
    /// being reused while the model knows it) and the value.
    entries: HashMap<usize, (Weak<Key>, u32)>,
    inserts: u64,
    replaces: u64,
    live_removes: u64,
    died: u64,
    step: usize,
}

impl<S> IdRun<'_, S>
where
    S: BuildHasher + Send + Sync + 'static,
{
    /// Moves entries whose key has died out of the model.
    fn refresh(&mut self) {
        let before = self.entries.len();
        self.entries.retain(|_, (w, _)| w.strong_count() > 0);
        self.died += (before - self.entries.len()) as u64;
    }

    fn live(&self, k: &Arc<Key>) -> Option<u32> {
        self.entries.get(&addr(k)).map(|&(_, n)| n)
    }

    fn store(&mut self, k: &Arc<Key>, n: u32) -> Option<u32> {
        let old = self.entries.insert(addr(k), (Arc::downgrade(k), n));
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

    fn op(&mut self, op: &IOp) {
        let ctx = format!("step {}: {op:?}", self.step);
        let map = self.map;
        let tracker = self.tracker;
        self.refresh();
        match *op {
            IOp::NewKey(s, k) => {
                self.slots[usize::from(s) % SLOTS] = Some(Arc::new(Key::from(k % SLOT_KEYS)));
            }
            IOp::CloneKey(from, to) => self.slots[usize::from(to) % SLOTS] = self.slot(from),
            IOp::DropKey(s) => self.slots[usize::from(s) % SLOTS] = None,
            IOp::Insert(s, n) => {
                if let Some(k) = self.slot(s) {
                    let n = u32::from(n);
                    let got = map.insert(Arc::clone(&k), tracker.val(n)).map(|v| v.n);
                    assert_eq!(got, self.store(&k, n), "{ctx}: old value");
                    assert_eq!(map.get_with(&k, |v| v.n), Some(n), "{ctx}: read back");
                }
            }
            IOp::InsertTemp(k, n) => {
                let k = Arc::new(Key::from(k % SLOT_KEYS));
                let n = u32::from(n);
                let got = map.insert(Arc::clone(&k), tracker.val(n)).map(|v| v.n);
                assert_eq!(got, None, "{ctx}: a new key replaced something");
                self.store(&k, n);
                drop(k);
                self.refresh();
            }
            IOp::Get(s) => {
                if let Some(k) = self.slot(s) {
                    assert_eq!(map.get(&k).map(|v| v.n), self.live(&k), "{ctx}");
                }
            }
            IOp::GetWith(s) => {
                if let Some(k) = self.slot(s) {
                    assert_eq!(map.get_with(&k, |v| v.n), self.live(&k), "{ctx}");
                }
            }
            IOp::ContainsKey(s) => {
                if let Some(k) = self.slot(s) {
                    assert_eq!(map.contains_key(&k), self.live(&k).is_some(), "{ctx}");
                }
            }
            IOp::GetFresh(s) => {
                if let Some(k) = self.slot(s) {
                    let twin = Arc::new(*k);
                    assert!(!map.contains_key(&twin), "{ctx}: an equal key matched");
                    assert_eq!(map.get_with(&twin, |v| v.n), None, "{ctx}");
                }
            }
            IOp::Remove(s) => {
                if let Some(k) = self.slot(s) {
                    let want = self.entries.remove(&addr(&k)).map(|(_, n)| n);
                    self.live_removes += u64::from(want.is_some());
                    assert_eq!(map.remove(&k).map(|v| v.n), want, "{ctx}");
                    assert!(!map.contains_key(&k), "{ctx}: still there");
                }
            }
            IOp::Update(s, d) => {
                if let Some(k) = self.slot(s) {
                    let d = u32::from(d);
                    let mut calls = 0;
                    let got = map.update(&k, |v| {
                        calls += 1;
                        tracker.val(v.n.wrapping_add(d))
                    });
                    let want = self.live(&k).map(|n| n.wrapping_add(d));
                    assert_eq!(got.map(|v| v.n), want, "{ctx}");
                    assert_eq!(calls, usize::from(want.is_some()), "{ctx}: closure calls");
                    if let (Some(n), Some(e)) = (want, self.entries.get_mut(&addr(&k))) {
                        e.1 = n;
                        self.replaces += 1;
                    }
                }
            }
            IOp::GetOrInsertWith(s, n) => {
                if let Some(k) = self.slot(s) {
                    let n = u32::from(n);
                    let mut calls = 0;
                    let got = map
                        .get_or_insert_with(Arc::clone(&k), || {
                            calls += 1;
                            tracker.val(n)
                        })
                        .n;
                    let present = self.live(&k);
                    assert_eq!(got, present.unwrap_or(n), "{ctx}");
                    assert_eq!(calls, usize::from(present.is_none()), "{ctx}: calls");
                    if present.is_none() {
                        self.store(&k, n);
                    }
                }
            }
            IOp::Retain(keep) => {
                let dead_before = map.weak_stats().dead;
                let mut visited = HashMap::new();
                let got = map.retain(|k, v| {
                    assert!(
                        visited.insert(addr(k), v.n).is_none(),
                        "{ctx}: visited key {k} twice"
                    );
                    keep.keep(*k, v.n)
                });
                let model: HashMap<usize, u32> =
                    self.entries.iter().map(|(&a, &(_, n))| (a, n)).collect();
                assert_eq!(visited, model, "{ctx}: live entries visited");
                let before = self.entries.len();
                self.entries.retain(|_, (w, n)| match w.upgrade() {
                    Some(k) => keep.keep(*k, *n),
                    None => false,
                });
                let removed = before - self.entries.len();
                self.live_removes += removed as u64;
                assert!(
                    got >= removed && got <= removed + dead_before,
                    "{ctx}: removed {got}, want {removed} live + up to {dead_before} dead"
                );
            }
            IOp::Clear => {
                map.clear();
                self.live_removes += self.entries.len() as u64;
                self.entries.clear();
                assert_eq!(map.weak_stats().dead, 0, "{ctx}: dead entries left");
            }
            IOp::PurgeDead | IOp::ShrinkToFit => {
                let dead_before = map.weak_stats().dead;
                if matches!(op, IOp::PurgeDead) {
                    let got = map.purge_dead();
                    assert_eq!(
                        got, dead_before,
                        "{ctx}: purged {got} of {dead_before} dead"
                    );
                } else {
                    map.shrink_to_fit();
                }
                assert_eq!(map.weak_stats().dead, 0, "{ctx}: dead entries left");
                assert_eq!(map.len(), self.entries.len(), "{ctx}: len after purge");
            }
            IOp::Reclaim => {
                let left = map.reclaim();
                assert!(map.stats().retired_awaiting <= left, "{ctx}: awaiting grew");
            }
            IOp::Iterate => self.check_walk(&ctx),
            IOp::InsertBulk(start, len) => {
                let lo = Key::from(SLOT_KEYS) + 8 * Key::from(start);
                for k in lo..lo + 4 * Key::from(len) {
                    let k = Arc::new(k);
                    let n = u32::from(*k);
                    let got = map.insert(Arc::clone(&k), tracker.val(n)).map(|v| v.n);
                    assert_eq!(got, self.store(&k, n), "{ctx}: key {k}");
                    self.bulk.push(k);
                }
            }
            IOp::DropBulk(n) => {
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

    /// The counter identities of `weak.rs`; run after every op.
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

    /// A snapshot walk yields each live key (by address) once, with its value.
    fn check_walk(&self, ctx: &str) {
        let snap = self.map.snapshot();
        let mut seen = HashMap::new();
        for (k, v) in snap.iter() {
            assert!(
                seen.insert(addr(&k), v.n).is_none(),
                "{ctx}: key {k} yielded twice"
            );
        }
        let model: HashMap<usize, u32> = self.entries.iter().map(|(&a, &(_, n))| (a, n)).collect();
        assert_eq!(seen, model, "{ctx}: walk differs from the model");
        assert_eq!(snap.len(), model.len(), "{ctx}: snapshot len");
        drop(snap);
        assert_eq!(self.map.live_len(), model.len(), "{ctx}: live_len");
    }
}
