//! The `ops` runner: every `SplitMap` operation, guard-free and pinned,
//! against std `HashMap`, on one thread.
//!
//! After every op it compares the op's result, the touched key and the
//! counters (`len`, `stats()`) with the model; `Iterate`-style ops and the end
//! of the run sweep the whole map (snapshot walk in split order, no key
//! twice, every key with its value). `HoldPin` keeps one `MapRef` across the
//! following ops (until `ReleasePin`): references it returned must stay
//! readable and unchanged while entries are removed, replaced, compacted and
//! reclaimed, and pending shrinks cannot finish meanwhile.

use super::hash::{data_so_key, FuzzState, HashKind, ModelMap};
use super::input::{Ctor, Key, Op, OpsInput};
use super::tracked::{Tracker, Val};
use splitmap::{MapRef, SplitMap};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Runs one fuzz input given as raw bytes (as the fuzz target does).
pub fn run_ops_bytes(data: &[u8]) {
    if let Some((ctor, ops)) = super::decode::<Ctor, Op>(data) {
        run_ops(OpsInput { ctor, ops });
    }
}

/// Runs one decoded input.
pub fn run_ops(input: OpsInput) {
    let tracker = Tracker::new();
    // Initial pairs, keys folded like every op's (`HashKind::fold`).
    let pairs = |kind: HashKind, v: &[(u8, u16)]| -> Vec<(Key, u32)> {
        v.iter()
            .map(|&(k, n)| (kind.fold(Key::from(k)), u32::from(n)))
            .collect()
    };
    let vals = |v: &[(Key, u32)]| -> Vec<(Key, Val)> {
        v.iter().map(|&(k, n)| (k, tracker.val(n))).collect()
    };
    let fuzz = FuzzState::new;
    // `RandomState` maps: a good hash, keys unchanged.
    let std_hash = HashKind::Full;
    let ops = &input.ops;
    match input.ctor {
        Ctor::New => Run::<RandomState>::go(SplitMap::new(), std_hash, &[], &tracker, ops),
        Ctor::Default => Run::<RandomState>::go(SplitMap::default(), std_hash, &[], &tracker, ops),
        Ctor::WithCapacity(c) => Run::<RandomState>::go(
            SplitMap::with_capacity(usize::from(c % 4096)),
            std_hash,
            &[],
            &tracker,
            ops,
        ),
        Ctor::Collect(v) => {
            let init = pairs(std_hash, &v);
            let map: SplitMap<Key, Val> = vals(&init).into_iter().collect();
            Run::go(map, std_hash, &init, &tracker, ops)
        }
        Ctor::FromStd(kind, seed, v) => {
            let init = pairs(kind, &v);
            let mut std_map = HashMap::with_hasher(fuzz(kind, seed));
            std_map.extend(vals(&init));
            // The std map has deduplicated: the split map replaced nothing.
            let init: Vec<_> = std_map.iter().map(|(&k, v)| (k, v.n)).collect();
            Run::go(SplitMap::from(std_map), kind, &init, &tracker, ops)
        }
        Ctor::WithHasher(kind, seed) => Run::go(
            SplitMap::with_hasher(fuzz(kind, seed)),
            kind,
            &[],
            &tracker,
            ops,
        ),
        Ctor::WithCapacityAndHasher(c, kind, seed) => Run::go(
            SplitMap::with_capacity_and_hasher(usize::from(c % 4096), fuzz(kind, seed)),
            kind,
            &[],
            &tracker,
            ops,
        ),
        Ctor::Layout {
            min_log2,
            load_factor,
            kind,
            seed,
        } => Run::go(
            SplitMap::with_layout(
                u32::from(min_log2 % 5),
                1 + usize::from(load_factor % 4),
                fuzz(kind, seed),
            ),
            kind,
            &[],
            &tracker,
            ops,
        ),
    }
}

/// The state of one run: the map, the model, and what the model expects the
/// map's history counters to say.
struct Run<'m, S> {
    map: &'m SplitMap<Key, Val, S>,
    /// The map's hash kind: how the input's keys are folded.
    kind: HashKind,
    tracker: &'m Arc<Tracker>,
    model: ModelMap<Key, u32>,
    inserts: u64,
    removes: u64,
    replaces: u64,
    compactions: u64,
    shrinks_seen: u64,
    step: usize,
}

/// References handed out by the held pin, with the value each must keep.
type Held<'p> = Vec<(&'p Val, u32)>;
const MAX_HELD: usize = 64;

fn range(start: u8, len: u8) -> std::ops::Range<Key> {
    let lo = 8 * Key::from(start);
    lo..lo + 4 * Key::from(len)
}

/// `(a == b, b == a)`: `PartialEq` walks one side and probes the other, so
/// both directions are checked.
fn both_eq<T: PartialEq>(a: &T, b: &T) -> (bool, bool) {
    (a == b, b == a)
}

fn n_of(v: Option<&Val>) -> Option<u32> {
    v.map(|v| v.n)
}

impl<'m, S> Run<'m, S>
where
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// Runs `ops` on `map`, which was built by inserting `init` in order
    /// (later pairs replace earlier ones).
    fn go(
        map: SplitMap<Key, Val, S>,
        kind: HashKind,
        init: &[(Key, u32)],
        tracker: &Arc<Tracker>,
        ops: &[Op],
    ) {
        let mut model = ModelMap::default();
        model.extend(init.iter().copied());
        let mut run = Run {
            map: &map,
            kind,
            tracker,
            inserts: model.len() as u64,
            removes: 0,
            replaces: (init.len() - model.len()) as u64,
            model,
            compactions: 0,
            shrinks_seen: 0,
            step: 0,
        };
        run.check_counts();
        run.sweep("initial contents");
        let mut ops = ops.iter();
        run.seq(&mut ops, None, &mut Vec::new());
        run.sweep("final sweep");
        // Keys absent from the model must be absent from the map too (the
        // walk above saw only present ones); probe the hot key space.
        for k in 0..256 {
            assert_eq!(
                map.get(&k).map(|v| v.n),
                run.model.get(&k).copied(),
                "final: key {k}"
            );
        }
        let awaiting = map.stats().retired_awaiting as u64;
        drop(map);
        // `Drop` frees every linked entry at once; only entries retired to
        // the epoch earlier may still be alive (and the count only falls).
        let live = tracker.live();
        assert!(
            live <= awaiting,
            "after drop: {live} values alive, but only {awaiting} were awaiting reclamation"
        );
    }

    /// Runs ops until the end or, when `pin` is held, until `ReleasePin`.
    fn seq<'p>(
        &mut self,
        ops: &mut std::slice::Iter<'_, Op>,
        pin: Option<&'p MapRef<'m, Key, Val, S>>,
        held: &mut Held<'p>,
    ) {
        while let Some(op) = ops.next() {
            self.step += 1;
            match op {
                Op::HoldPin if pin.is_none() => {
                    let p = self.map.pin();
                    let mut inner: Held<'_> = Vec::new();
                    self.seq(ops, Some(&p), &mut inner);
                }
                Op::HoldPin => {}
                Op::ReleasePin if pin.is_some() => return,
                Op::ReleasePin => {}
                _ => match pin {
                    Some(p) => self.op(op, Some(p), Some(&mut *held)),
                    // Guard-free ops run unpinned; `Pin*` ops get a pin of
                    // their own that ends with the op.
                    None if op.is_pinned() => self.op(op, Some(&self.map.pin()), None),
                    None => self.op(op, None, None),
                },
            }
            self.check_counts();
            for (r, n) in held.iter() {
                r.assert_alive(*n, "reference held by a pin");
            }
        }
    }

    fn val(&self, n: u32) -> Val {
        self.tracker.val(n)
    }

    fn model_put(&mut self, k: Key, n: u32) -> Option<u32> {
        let old = self.model.insert(k, n);
        if old.is_some() {
            self.replaces += 1;
        } else {
            self.inserts += 1;
        }
        old
    }

    fn model_remove(&mut self, k: Key) -> Option<u32> {
        let old = self.model.remove(&k);
        if old.is_some() {
            self.removes += 1;
        }
        old
    }

    /// Applies one op. `pin` is the pin for `Pin*` ops (`None` only for
    /// guard-free ops outside `HoldPin`); `held` is `Some` when the pin
    /// outlives this op, so its references are kept and re-checked.
    fn op<'p>(
        &mut self,
        op: &Op,
        pin: Option<&'p MapRef<'m, Key, Val, S>>,
        mut held: Option<&mut Held<'p>>,
    ) {
        let m = || pin.expect("a Pin* op runs pinned");
        let step = self.step;
        let ctx = |what: &str| format!("step {step}: {op:?}: {what}");
        let mut hold = |r: Option<&'p Val>, n: Option<u32>| {
            if let (Some(h), Some(r), Some(n)) = (held.as_deref_mut(), r, n) {
                if h.len() < MAX_HELD {
                    h.push((r, n));
                }
            }
        };
        let map = self.map;
        // The input's key `k` as this run's key (folded for few-hash maps).
        let kind = self.kind;
        let fold = |k: u8| kind.fold(Key::from(k));
        match *op {
            Op::Insert(k, n) => {
                let (k, n) = (fold(k), u32::from(n));
                let got = map.insert(k, self.val(n)).map(|v| v.n);
                assert_eq!(got, self.model_put(k, n), "{}", ctx("old value"));
                self.check_key(k, &ctx("after"));
            }
            Op::PinInsert(k, n) => {
                let (k, n) = (fold(k), u32::from(n));
                let got = m().insert(k, self.val(n));
                let want = self.model_put(k, n);
                assert_eq!(n_of(got), want, "{}", ctx("old value"));
                hold(got, want);
                self.check_key(k, &ctx("after"));
            }
            Op::Get(k) => {
                let k = fold(k);
                let got = map.get(&k).map(|v| v.n);
                assert_eq!(got, self.model.get(&k).copied(), "{}", ctx("value"));
            }
            Op::PinGet(k) => {
                let k = fold(k);
                let got = m().get(&k);
                let want = self.model.get(&k).copied();
                assert_eq!(n_of(got), want, "{}", ctx("value"));
                hold(got, want);
            }
            Op::GetWith(k) => {
                let k = fold(k);
                let got = map.get_with(&k, |v| v.n);
                assert_eq!(got, self.model.get(&k).copied(), "{}", ctx("value"));
            }
            Op::GetKeyValue(k) => {
                let k = fold(k);
                let got = map.get_key_value(&k).map(|(k, v)| (k, v.n));
                let want = self.model.get(&k).map(|&n| (k, n));
                assert_eq!(got, want, "{}", ctx("entry"));
            }
            Op::PinGetKeyValue(k) => {
                let k = fold(k);
                let got = m().get_key_value(&k);
                let want = self.model.get(&k).copied();
                assert_eq!(
                    got.map(|(k, v)| (*k, v.n)),
                    want.map(|n| (k, n)),
                    "{}",
                    ctx("entry")
                );
                hold(got.map(|(_, v)| v), want);
            }
            Op::ContainsKey(k) => {
                let k = fold(k);
                assert_eq!(
                    map.contains_key(&k),
                    self.model.contains_key(&k),
                    "{}",
                    ctx("")
                );
            }
            Op::PinContainsKey(k) => {
                let k = fold(k);
                assert_eq!(
                    m().contains_key(&k),
                    self.model.contains_key(&k),
                    "{}",
                    ctx("")
                );
            }
            Op::Remove(k) => {
                let k = fold(k);
                let got = map.remove(&k).map(|v| v.n);
                assert_eq!(got, self.model_remove(k), "{}", ctx("removed value"));
                self.check_key(k, &ctx("after"));
            }
            Op::PinRemove(k) => {
                let k = fold(k);
                let got = m().remove(&k);
                let want = self.model_remove(k);
                assert_eq!(n_of(got), want, "{}", ctx("removed value"));
                hold(got, want);
                self.check_key(k, &ctx("after"));
            }
            Op::RemoveEntry(k) => {
                let k = fold(k);
                let got = map.remove_entry(&k).map(|(k, v)| (k, v.n));
                let want = self.model_remove(k).map(|n| (k, n));
                assert_eq!(got, want, "{}", ctx("removed entry"));
                self.check_key(k, &ctx("after"));
            }
            Op::PinRemoveEntry(k) => {
                let k = fold(k);
                let got = m().remove_entry(&k);
                let want = self.model_remove(k);
                assert_eq!(
                    got.map(|(k, v)| (*k, v.n)),
                    want.map(|n| (k, n)),
                    "{}",
                    ctx("removed entry")
                );
                hold(got.map(|(_, v)| v), want);
                self.check_key(k, &ctx("after"));
            }
            Op::Update(k, d) | Op::PinUpdate(k, d) => {
                let k = fold(k);
                let d = u32::from(d);
                let mut calls = 0;
                let tracker = self.tracker;
                let f = |v: &Val| {
                    calls += 1;
                    tracker.val(v.n.wrapping_add(d))
                };
                let (got, r) = if matches!(op, Op::Update(..)) {
                    (map.update(&k, f).map(|v| v.n), None)
                } else {
                    let r = m().update(&k, f);
                    (n_of(r), r)
                };
                let want = self.model.get(&k).map(|n| n.wrapping_add(d));
                assert_eq!(got, want, "{}", ctx("new value"));
                assert_eq!(
                    calls,
                    usize::from(want.is_some()),
                    "{}",
                    ctx("closure calls")
                );
                if let Some(n) = want {
                    self.model_put(k, n);
                }
                hold(r, want);
                self.check_key(k, &ctx("after"));
            }
            Op::GetOrInsertWith(k, n) | Op::PinGetOrInsertWith(k, n) => {
                let (k, n) = (fold(k), u32::from(n));
                let mut calls = 0;
                let tracker = self.tracker;
                let f = || {
                    calls += 1;
                    tracker.val(n)
                };
                let (got, r) = if matches!(op, Op::GetOrInsertWith(..)) {
                    (map.get_or_insert_with(k, f).n, None)
                } else {
                    let r = m().get_or_insert_with(k, f);
                    (r.n, Some(r))
                };
                let present = self.model.get(&k).copied();
                let want = present.unwrap_or(n);
                assert_eq!(got, want, "{}", ctx("value"));
                assert_eq!(
                    calls,
                    usize::from(present.is_none()),
                    "{}",
                    ctx("closure calls")
                );
                if present.is_none() {
                    self.model_put(k, n);
                }
                hold(r, Some(want));
                self.check_key(k, &ctx("after"));
            }
            Op::Compute(k, c) | Op::PinCompute(k, c) => {
                let k = fold(k);
                let mut calls = 0;
                let tracker = self.tracker;
                let f = |cur: Option<&Val>| {
                    calls += 1;
                    c.apply(cur.map(|v| v.n)).map(|n| tracker.val(n))
                };
                let (got, r) = if matches!(op, Op::Compute(..)) {
                    (map.compute(k, f).map(|v| v.n), None)
                } else {
                    let r = m().compute(k, f);
                    (n_of(r), r)
                };
                let cur = self.model.get(&k).copied();
                let want = c.apply(cur);
                assert_eq!(got, want, "{}", ctx("stored value"));
                assert_eq!(calls, 1, "{}", ctx("closure calls"));
                match want {
                    Some(n) => {
                        self.model_put(k, n);
                    }
                    None => {
                        self.model_remove(k);
                    }
                }
                hold(r, want);
                self.check_key(k, &ctx("after"));
            }
            Op::Retain(keep) | Op::PinRetain(keep) => {
                let mut visited = ModelMap::default();
                let f = |k: &Key, v: &Val| {
                    assert!(
                        visited.insert(*k, v.n).is_none(),
                        "retain visited {k} twice"
                    );
                    keep.keep(*k, v.n)
                };
                let got = if matches!(op, Op::Retain(..)) {
                    map.retain(f)
                } else {
                    m().retain(f)
                };
                assert_eq!(visited, self.model, "{}", ctx("entries visited"));
                let before = self.model.len();
                self.model.retain(|&k, &mut n| keep.keep(k, n));
                let removed = before - self.model.len();
                self.removes += removed as u64;
                assert_eq!(got, removed, "{}", ctx("removed count"));
            }
            Op::Clear | Op::PinClear => {
                if matches!(op, Op::Clear) {
                    map.clear();
                } else {
                    m().clear();
                }
                self.removes += self.model.len() as u64;
                self.model.clear();
                assert!(map.is_empty(), "{}", ctx("not empty"));
            }
            Op::InsertRange { start, len, v } => {
                let n = u32::from(v);
                for k in kind.fold_range(range(start, len)) {
                    let got = map.insert(k, self.val(n)).map(|v| v.n);
                    assert_eq!(got, self.model_put(k, n), "{}", ctx(&format!("key {k}")));
                }
            }
            Op::RemoveRange { start, len } => {
                for k in kind.fold_range(range(start, len)) {
                    let got = map.remove(&k).map(|v| v.n);
                    assert_eq!(got, self.model_remove(k), "{}", ctx(&format!("key {k}")));
                }
            }
            Op::Reserve(n) => {
                let additional = usize::from(n % 4096);
                map.reserve(additional);
                let cap = map.capacity();
                // Exact even while a shrink is being carried out: `reserve`
                // finishes that shrink, then grows (the issue 13 report's
                // gap; seeds in fuzz/seeds/ops hit it).
                assert!(
                    cap >= self.model.len() + additional,
                    "{}",
                    ctx(&format!(
                        "capacity {cap} after reserving {additional} more with {} entries ({:?})",
                        self.model.len(),
                        map.stats()
                    ))
                );
            }
            Op::Compact | Op::ShrinkToFit => {
                if matches!(op, Op::Compact) {
                    map.compact();
                } else {
                    map.shrink_to_fit();
                }
                self.compactions += 1;
                let s = map.stats();
                assert_eq!(s.marked_linked, 0, "{}", ctx("marked nodes left linked"));
                if matches!(op, Op::ShrinkToFit) && held.is_none() && !s.shrink_pending {
                    let cap = map.capacity();
                    assert!(
                        s.buckets <= 4 || s.len >= cap / 4,
                        "{}",
                        ctx(&format!(
                            "shrink_to_fit left {} buckets (capacity {cap}) for {} entries",
                            s.buckets, s.len
                        ))
                    );
                }
            }
            Op::Reclaim => {
                // Returns the count of retired nodes not yet freed (a pending
                // shrink may stay pending: another pin can hold it back).
                let left = map.reclaim();
                let s = map.stats();
                assert!(s.retired_awaiting <= left, "{}", ctx("awaiting grew"));
            }
            Op::Iterate => self.sweep(&ctx("snapshot")),
            Op::PinIterate => {
                self.check_walk(m().iter(), &ctx("MapRef::iter"));
                assert_eq!(m().len(), self.model.len(), "{}", ctx("len"));
                assert_eq!(m().is_empty(), self.model.is_empty(), "{}", ctx("is_empty"));
            }
            Op::CloneAndCompare => {
                let copy = map.clone();
                assert!(copy == *map, "{}", ctx("clone != original"));
                self.check_walk(copy.snapshot().iter(), &ctx("clone"));
                assert_eq!(copy.len(), self.model.len(), "{}", ctx("clone len"));
                let s = copy.stats();
                assert_eq!(
                    (s.inserts, s.removes, s.replaces),
                    (self.model.len() as u64, 0, 0),
                    "{}",
                    ctx("clone stats")
                );
            }
            Op::IntoIter => {
                let entries: Vec<(Key, Val)> = map.clone().into_iter().collect();
                self.check_walk(entries.iter().map(|(k, v)| (k, v)), &ctx("into_iter"));
            }
            Op::EqCheck => {
                // Values of their own: what this map retires is not counted
                // in `map`'s stats, so keep it out of the run's tracker.
                // One comparison map, edited between the comparisons (the
                // contents each comparison sees are as if built afresh; a
                // second map built from the model cost as much as the rest
                // of the check).
                let tracker = Tracker::new();
                let same = SplitMap::with_hasher(map.hasher().clone());
                (&same).extend(self.model.iter().map(|(&k, &n)| (k, tracker.val(n))));
                assert_eq!(both_eq(&same, map), (true, true), "{}", ctx("equal maps"));
                if let Some((&k, &n)) = self.model.iter().next() {
                    same.insert(k, tracker.val(n.wrapping_add(1)));
                    assert_eq!(
                        both_eq(&same, map),
                        (false, false),
                        "{}",
                        ctx("changed value")
                    );
                    same.remove(&k);
                    assert_eq!(
                        both_eq(&same, map),
                        (false, false),
                        "{}",
                        ctx("missing key")
                    );
                    same.insert(k, tracker.val(n));
                }
                let extra = (0..=Key::MAX)
                    .find(|k| !self.model.contains_key(k))
                    .unwrap();
                same.insert(extra, tracker.val(0));
                assert_eq!(both_eq(&same, map), (false, false), "{}", ctx("extra key"));
            }
            Op::Extend(ref pairs) => {
                let tracker = self.tracker;
                (&*map).extend(
                    pairs
                        .iter()
                        .map(|&(k, n)| (fold(k), tracker.val(u32::from(n)))),
                );
                for &(k, n) in pairs {
                    self.model_put(fold(k), u32::from(n));
                }
                for &(k, _) in pairs {
                    self.check_key(fold(k), &ctx("after"));
                }
            }
            Op::HoldAcrossRemove(k, n) => {
                let (k, n) = (fold(k), u32::from(n));
                let pin = map.pin();
                let r = pin.get(&k);
                let want = self.model.get(&k).copied();
                assert_eq!(n_of(r), want, "{}", ctx("value"));
                let got = map.remove(&k).map(|v| v.n);
                assert_eq!(got, self.model_remove(k), "{}", ctx("removed"));
                assert_eq!(
                    map.insert(k, self.val(n)).map(|v| v.n),
                    self.model_put(k, n),
                    "{}",
                    ctx("re-insert")
                );
                map.compact();
                self.compactions += 1;
                map.reclaim();
                if let (Some(r), Some(w)) = (r, want) {
                    r.assert_alive(w, &ctx("read before the remove"));
                }
                assert_eq!(n_of(pin.get(&k)), Some(n), "{}", ctx("re-inserted value"));
            }
            Op::HoldPin | Op::ReleasePin => unreachable!("handled by seq"),
        }
    }

    /// The map's value for `k` equals the model's.
    fn check_key(&self, k: Key, ctx: &str) {
        assert_eq!(
            self.map.get(&k).map(|v| v.n),
            self.model.get(&k).copied(),
            "{ctx}: key {k}"
        );
        assert_eq!(
            self.map.contains_key(&k),
            self.model.contains_key(&k),
            "{ctx}: contains {k}"
        );
    }

    /// Lengths and `stats()` against the model; run after every op (the map
    /// is quiescent: one thread).
    fn check_counts(&mut self) {
        let step = self.step;
        let s = self.map.stats();
        let len = self.model.len();
        assert_eq!(self.map.len(), len, "step {step}: len");
        assert_eq!(self.map.is_empty(), len == 0, "step {step}: is_empty");
        assert_eq!(s.len, len, "step {step}: stats.len");
        assert_eq!(
            s.inserts - s.removes - s.purged,
            len as u64,
            "step {step}: inserts - removes - purged"
        );
        assert_eq!(
            (s.inserts, s.removes, s.replaces, s.purged),
            (self.inserts, self.removes, self.replaces, 0),
            "step {step}: stats (inserts, removes, replaces, purged)"
        );
        assert_eq!(
            s.compactions, self.compactions,
            "step {step}: stats.compactions"
        );
        assert!(
            s.buckets.is_power_of_two(),
            "step {step}: buckets {}",
            s.buckets
        );
        assert!(s.peak_len >= s.len, "step {step}: peak_len");
        assert!(s.peak_bytes >= s.heap_bytes, "step {step}: peak_bytes");
        assert_eq!(
            s.heap_bytes,
            s.node_bytes + s.directory_bytes + s.retired_bytes + s.fixed_bytes,
            "step {step}: heap_bytes"
        );
        assert!(
            s.initialized_buckets <= s.directory_slots,
            "step {step}: {} linked sentinels in {} slots",
            s.initialized_buckets,
            s.directory_slots
        );
        assert!(
            s.shrinks >= self.shrinks_seen,
            "step {step}: shrinks went down"
        );
        self.shrinks_seen = s.shrinks;
    }

    /// Compares a walk of the map with the model: split order, no key twice,
    /// every key with its value.
    fn check_walk<'a>(&self, walk: impl Iterator<Item = (&'a Key, &'a Val)>, ctx: &str) {
        let mut seen = ModelMap::with_capacity_and_hasher(self.model.len(), Default::default());
        let mut last_so_key = 0;
        for (k, v) in walk {
            let so_key = data_so_key(self.map.hasher().hash_one(k));
            assert!(so_key >= last_so_key, "{ctx}: key {k} out of split order");
            last_so_key = so_key;
            assert!(
                seen.insert(*k, v.n).is_none(),
                "{ctx}: key {k} yielded twice"
            );
        }
        assert_eq!(seen, self.model, "{ctx}: walk differs from the model");
    }

    /// Full comparison through a snapshot and point lookups.
    fn sweep(&self, ctx: &str) {
        let snap = self.map.snapshot();
        self.check_walk(snap.iter(), ctx);
        assert_eq!(snap.len(), self.model.len(), "{ctx}: snapshot len");
        assert_eq!(
            snap.is_empty(),
            self.model.is_empty(),
            "{ctx}: snapshot is_empty"
        );
        assert_eq!(snap.keys().count(), self.model.len(), "{ctx}: keys");
        let sum: u64 = snap.values().map(|v| u64::from(v.n)).sum();
        let want: u64 = self.model.values().map(|&n| u64::from(n)).sum();
        assert_eq!(sum, want, "{ctx}: values");
        drop(snap);
        for (&k, &n) in &self.model {
            assert_eq!(self.map.get(&k).map(|v| v.n), Some(n), "{ctx}: get {k}");
        }
        let _ = format!("{:?}", self.map);
    }
}
