//! Weak-key maps: entries vanish with their keys, under both semantics.
//!
//! Every behaviour runs under several set-ups (default layout; a tiny
//! directory with load factor 1; a hasher with only four hashes, so every
//! operation walks long runs of equal split-order keys full of dead
//! entries).

mod common;

use common::race::StartLine;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use splitmap::{WeakIdentityMap, WeakKeyMap};
use std::collections::hash_map::DefaultHasher;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

// ---------- set-ups ----------

#[derive(Clone, Copy, Debug)]
struct TestHasher {
    few: bool,
}

struct TestHasherState {
    few: bool,
    inner: DefaultHasher,
}

impl Hasher for TestHasherState {
    fn finish(&self) -> u64 {
        let h = self.inner.finish();
        if self.few {
            h % 4
        } else {
            h
        }
    }
    fn write(&mut self, bytes: &[u8]) {
        self.inner.write(bytes);
    }
}

impl BuildHasher for TestHasher {
    type Hasher = TestHasherState;
    fn build_hasher(&self) -> TestHasherState {
        TestHasherState {
            few: self.few,
            inner: DefaultHasher::new(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Setup {
    Default,
    Tiny,
    FewHashes,
}

const SETUPS: [Setup; 3] = [Setup::Default, Setup::Tiny, Setup::FewHashes];

impl Setup {
    fn layout(self) -> (u32, usize, TestHasher) {
        match self {
            Setup::Default => (2, 2, TestHasher { few: false }),
            Setup::Tiny => (0, 1, TestHasher { few: false }),
            Setup::FewHashes => (2, 2, TestHasher { few: true }),
        }
    }
    fn by_value<K, V>(self) -> WeakKeyMap<K, V, TestHasher> {
        let (log2, lf, h) = self.layout();
        WeakKeyMap::with_layout(log2, lf, h)
    }
    fn by_identity<K, V>(self) -> WeakIdentityMap<K, V, TestHasher> {
        let (log2, lf, h) = self.layout();
        WeakIdentityMap::with_layout(log2, lf, h)
    }
    /// Keys per test: the few-hashes set-up makes every operation O(n).
    fn n(self) -> u64 {
        let n = match self {
            Setup::FewHashes => 300,
            _ => 5_000,
        };
        if cfg!(splitmap_asan) {
            n / 5
        } else {
            n
        }
    }
}

/// Frees what the epoch holds, bounded: pins and flushes until `done`.
fn flush_until(done: impl Fn() -> bool) -> bool {
    // Generous: parallel tests in this binary queue their own garbage ahead
    // of ours and keep pinning, and each flush frees only a few bags.
    for _ in 0..1_000_000 {
        if done() {
            return true;
        }
        crossbeam_epoch::pin().flush();
        thread::yield_now();
    }
    done()
}

/// A value that counts its live instances.
#[derive(Debug)]
struct Tracked {
    id: u64,
    live: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(id: u64, live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::Relaxed);
        Tracked {
            id,
            live: Arc::clone(live),
        }
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(self.id, &self.live)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

// ---------- entries vanish after the last Arc drops ----------

#[test]
fn entries_vanish_after_last_arc_by_value() {
    for setup in SETUPS {
        let map = setup.by_value::<u64, u64>();
        let n = setup.n();
        let keys: Vec<Arc<u64>> = (0..n).map(Arc::new).collect();
        for k in &keys {
            assert_eq!(map.insert(Arc::clone(k), **k * 10), None);
        }
        assert_eq!(map.live_len(), n as usize, "{setup:?}");
        // Keep the odd keys, drop the even ones.
        let (odd, even): (Vec<_>, Vec<_>) = keys.into_iter().partition(|k| **k % 2 == 1);
        drop(even);
        for i in 0..n {
            let want = (i % 2 == 1).then_some(i * 10);
            assert_eq!(map.get(&i), want, "{setup:?} key {i}: get misses at once");
            assert_eq!(map.contains_key(&i), want.is_some());
        }
        let dead = (n / 2) as usize;
        let w = map.weak_stats();
        assert_eq!((w.live, w.dead), (dead, dead), "{setup:?}");
        assert_eq!(
            w.stats.len, n as usize,
            "len is an upper bound until purged"
        );
        assert_eq!(w.dead_key_bytes, dead * 24);
        let purged = map.purge_dead();
        assert_eq!(purged, dead, "{setup:?}");
        let s = map.stats();
        assert_eq!(s.len, dead);
        assert_eq!(s.purged as usize, dead);
        assert_eq!(map.weak_stats().dead, 0);
        assert_eq!(map.live_len(), dead);
        assert!(
            flush_until(|| map.stats().retired_awaiting == 0),
            "purged nodes freed"
        );
        drop(odd);
        assert!(map.is_empty());
        assert_eq!(map.purge_dead(), dead);
        assert_eq!(map.len(), 0);
    }
}

#[test]
fn entries_vanish_after_last_arc_by_identity() {
    for setup in SETUPS {
        let map = setup.by_identity::<u64, u64>();
        let n = setup.n();
        let keys: Vec<Arc<u64>> = (0..n).map(Arc::new).collect();
        for k in &keys {
            map.insert(Arc::clone(k), **k);
        }
        let (odd, even): (Vec<_>, Vec<_>) = keys.into_iter().partition(|k| **k % 2 == 1);
        let weak_even: Vec<_> = even.iter().map(Arc::downgrade).collect();
        drop(even);
        for k in &odd {
            assert_eq!(map.get(k), Some(**k));
        }
        assert!(weak_even.iter().all(|w| w.upgrade().is_none()));
        let dead = (n / 2) as usize;
        let w = map.weak_stats();
        assert_eq!((w.live, w.dead), (dead, dead), "{setup:?}");
        assert_eq!(map.purge_dead(), dead);
        assert_eq!(map.stats().len, dead);
        assert_eq!(map.snapshot().iter().count(), dead);
        // Purging dropped the map's Weak: the Arc allocations are gone too.
        assert!(weak_even.iter().all(|w| w.weak_count() == 0));
    }
}

#[test]
fn writes_purge_dead_entries_they_meet_and_never_revive() {
    for setup in SETUPS {
        let map = setup.by_value::<String, u32>();
        let k1 = Arc::new("k".to_string());
        map.insert(Arc::clone(&k1), 1);
        drop(k1);
        assert_eq!(map.get("k"), None);
        assert_eq!(
            map.update("k", |v| v + 1),
            None,
            "{setup:?}: dead never updated"
        );
        let k2 = Arc::new("k".to_string());
        assert_eq!(map.insert(Arc::clone(&k2), 2), None, "not revived");
        assert_eq!(map.get("k"), Some(2));
        let s = map.stats();
        assert_eq!((s.len, s.purged), (1, 1), "{setup:?}: {s:?}");
        assert_eq!(*map.get_or_insert_with(Arc::clone(&k2), || 9), 2);
        assert_eq!(map.remove("k").as_deref(), Some(&2));
        assert_eq!(map.len(), 0);
    }
}

#[test]
fn dead_entries_do_not_grow_the_directory() {
    let n = if cfg!(splitmap_asan) { 20_000 } else { 100_000 };
    let map: WeakIdentityMap<u64, u64> = WeakIdentityMap::new();
    let kept: Vec<Arc<u64>> = (0..100).map(Arc::new).collect();
    for k in &kept {
        map.insert(Arc::clone(k), 0);
    }
    for i in 0..n {
        map.insert(Arc::new(i), i); // dies at once
    }
    let s = map.stats();
    assert!(
        s.buckets <= 256,
        "grew to {} buckets for 100 live keys: {s:?}",
        s.buckets
    );
    assert!(s.purged as usize >= n as usize - 256, "{s:?}");
    assert!(s.len <= 512, "{s:?}");
    assert_eq!(map.live_len(), 100);
}

// ---------- the last Arc dropping during an operation ----------

/// A key whose `==` can hand control to another thread in the middle of a
/// lookup, and whose destructor records the thread it ran on and re-enters
/// the map.
struct Gated {
    id: u64,
    gate: Option<Gate>,
    dropped_on: Arc<Mutex<Vec<thread::ThreadId>>>,
    on_drop: Option<Box<dyn Fn() + Send + Sync>>,
}

struct Gate {
    reached: mpsc::SyncSender<()>,
    resume: Mutex<mpsc::Receiver<()>>,
}

impl PartialEq for Gated {
    fn eq(&self, other: &Self) -> bool {
        // The lookup key carries the gate: pause here (the stored key is
        // upgraded and held by the map) until the other thread has dropped
        // its Arc.
        if let Some(gate) = &other.gate {
            gate.reached.send(()).unwrap();
            gate.resume.lock().unwrap().recv().unwrap();
        }
        self.id == other.id
    }
}
impl Eq for Gated {}
impl Hash for Gated {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h);
    }
}
impl Drop for Gated {
    fn drop(&mut self) {
        if self.gate.is_none() {
            self.dropped_on.lock().unwrap().push(thread::current().id());
            if let Some(f) = &self.on_drop {
                f();
            }
        }
    }
}

fn gated_lookup(remove: bool) {
    for setup in SETUPS {
        let map = Arc::new(setup.by_value::<Gated, Witness>());
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let reentered = Arc::new(AtomicUsize::new(0));
        let clones = Arc::new(AtomicUsize::new(0));
        // What K's destructor saw: (value clones made, removes done).
        let seen_at_drop = Arc::new(Mutex::new(None));
        let (m, r) = (Arc::clone(&map), Arc::clone(&reentered));
        let (c, seen) = (Arc::clone(&clones), Arc::clone(&seen_at_drop));
        let key = Arc::new(Gated {
            id: 7,
            gate: None,
            dropped_on: Arc::clone(&dropped_on),
            // K's destructor touches the same map: it must not run inside
            // a traversal, and re-entering must work.
            on_drop: Some(Box::new(move || {
                // The operation is done with the entry when K dies: the
                // value is cloned and a remove has taken effect.
                *seen.lock().unwrap() = Some((c.load(Ordering::Relaxed), m.stats().removes));
                m.purge_dead();
                assert!(m.get(&Gated::probe(99)).is_none());
                r.fetch_add(1, Ordering::Relaxed);
            })),
        });
        map.insert(
            Arc::clone(&key),
            Witness {
                id: 70,
                clones: Arc::clone(&clones),
            },
        );
        let (reached_tx, reached_rx) = mpsc::sync_channel(0);
        let (resume_tx, resume_rx) = mpsc::channel();
        let lookup = Gated {
            id: 7,
            gate: Some(Gate {
                reached: reached_tx,
                resume: Mutex::new(resume_rx),
            }),
            dropped_on: Arc::new(Mutex::new(Vec::new())),
            on_drop: None,
        };
        let m = Arc::clone(&map);
        let reader = thread::spawn(move || {
            let got = if remove {
                m.remove(&lookup).map(|v| v.clone())
            } else {
                m.get(&lookup)
            };
            (got.map(|w| w.id), thread::current().id())
        });
        reached_rx.recv().unwrap(); // the reader is inside `==`
        drop(key); // the reader's upgraded Arc is now the last one
        assert!(dropped_on.lock().unwrap().is_empty(), "not dropped yet");
        resume_tx.send(()).unwrap();
        let (got, reader_id) = reader.join().unwrap();
        assert_eq!(got, Some(70), "{setup:?}: live when matched");
        assert_eq!(
            *dropped_on.lock().unwrap(),
            [reader_id],
            "K dropped once, by the reader"
        );
        assert_eq!(reentered.load(Ordering::Relaxed), 1);
        // `get` clones inside the operation, before K may die; `remove`
        // hands back a `Guarded` reference, cloned by the caller after the
        // operation (and K's drop) is over.
        assert_eq!(
            *seen_at_drop.lock().unwrap(),
            Some((usize::from(!remove), u64::from(remove))),
            "{setup:?}: K dropped before the operation was done with the entry"
        );
        assert!(map.get(&Gated::probe(7)).is_none(), "dead after the drop");
        assert!(map.is_empty());
        let purged = map.purge_dead() + map.stats().purged as usize;
        if remove {
            assert_eq!(map.len(), 0);
        } else {
            assert!(purged >= 1, "{setup:?}");
            assert_eq!(map.len(), 0);
        }
    }
}

/// A value that counts its clones.
#[derive(Debug)]
struct Witness {
    id: u64,
    clones: Arc<AtomicUsize>,
}

impl Clone for Witness {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::Relaxed);
        Witness {
            id: self.id,
            clones: Arc::clone(&self.clones),
        }
    }
}

impl Gated {
    fn probe(id: u64) -> Gated {
        Gated {
            id,
            gate: None,
            dropped_on: Arc::new(Mutex::new(Vec::new())),
            on_drop: None,
        }
    }
}

#[test]
fn last_arc_drops_during_get_on_another_thread() {
    gated_lookup(false);
}

#[test]
fn last_arc_drops_during_remove_on_another_thread() {
    gated_lookup(true);
}

/// A key that records its own destruction: how many times each id was
/// dropped, and (for the reader) whether it is gone already.
struct DyingKey {
    id: u64,
    deaths: Arc<Vec<AtomicUsize>>,
}

impl PartialEq for DyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for DyingKey {}
impl Hash for DyingKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h); // as `u64` hashes: lookups by `&u64` find it
    }
}
impl std::borrow::Borrow<u64> for DyingKey {
    fn borrow(&self) -> &u64 {
        &self.id
    }
}
impl Drop for DyingKey {
    fn drop(&mut self) {
        self.deaths[(self.id % KEYS_PER_ROUND) as usize].fetch_add(1, Ordering::SeqCst);
    }
}

const KEYS_PER_ROUND: u64 = 16;

/// Readers race the drop of keys, many rounds. Both sides leave a start
/// line together: the reader looks all 16 keys up, pass after pass, while
/// the dropper drops them one by one, each after a random number of the
/// reader's lookups. Every hit has the right value; a key whose destructor
/// had already run when a lookup began is never found; each key is dropped
/// exactly once (by the dropper, or by the reader whose upgrade held it
/// last). Rounds where the reader saw both hits and misses of one key must
/// be common, or the lookups never met the drops.
#[test]
fn keys_dying_under_concurrent_lookups() {
    use std::sync::atomic::{AtomicBool, AtomicU64};
    const STOP: u64 = u64::MAX;
    let rounds = if cfg!(splitmap_asan) { 50 } else { 500 };
    let map = WeakKeyMap::<DyingKey, u64>::new();
    let line = StartLine::new(2);
    // Shared with the reader: this round's first id (STOP ends it), its
    // keys' death counts, its lookup count, whether all keys are dropped,
    // and the keys that were both hit and missed in the round.
    let first_id = AtomicU64::new(STOP);
    let deaths: Vec<AtomicUsize> = (0..KEYS_PER_ROUND).map(|_| AtomicUsize::new(0)).collect();
    let deaths = Arc::new(deaths);
    let lookups = AtomicU64::new(0);
    let all_dropped = AtomicBool::new(false);
    let mixed_keys = AtomicU64::new(0);
    let raced = AtomicU64::new(0);
    let mut mixed_rounds = 0;
    thread::scope(|s| {
        let (map, line, first_id, deaths, lookups, all_dropped, mixed_keys, raced) = (
            &map,
            &line,
            &first_id,
            &deaths,
            &lookups,
            &all_dropped,
            &mixed_keys,
            &raced,
        );
        s.spawn(move || {
            let _poison = line.poison_on_panic();
            for r in 0.. {
                line.wait(2 * r);
                let first = first_id.load(Ordering::SeqCst);
                if first == STOP {
                    return;
                }
                let mut hit = [false; KEYS_PER_ROUND as usize];
                let mut missed = [false; KEYS_PER_ROUND as usize];
                let mut last_pass = false;
                while !last_pass {
                    last_pass = all_dropped.load(Ordering::SeqCst);
                    for i in 0..KEYS_PER_ROUND as usize {
                        let id = first + i as u64;
                        let dead_before = deaths[i].load(Ordering::SeqCst) > 0;
                        match map.get(&id) {
                            Some(v) => {
                                assert_eq!(v, id + 1, "key {id}: wrong value");
                                assert!(!dead_before, "key {id} found after it died");
                                assert!(
                                    !last_pass,
                                    "key {id} found after the last Arc of it was dropped"
                                );
                                hit[i] = true;
                                // Died while (or just after) we looked it up.
                                if deaths[i].load(Ordering::SeqCst) > 0 {
                                    raced.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            None => missed[i] = true,
                        }
                        lookups.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let mixed = hit.iter().zip(&missed).filter(|(h, m)| **h && **m).count();
                mixed_keys.store(mixed as u64, Ordering::SeqCst);
                line.wait(2 * r + 1);
            }
        });
        let _poison = line.poison_on_panic();
        let mut rng = SmallRng::seed_from_u64(0x2545_f491_4f6c_dd1d);
        for round in 0..rounds {
            let first = round as u64 * KEYS_PER_ROUND;
            for d in deaths.iter() {
                d.store(0, Ordering::SeqCst);
            }
            let keys: Vec<Arc<DyingKey>> = (first..first + KEYS_PER_ROUND)
                .map(|id| {
                    Arc::new(DyingKey {
                        id,
                        deaths: Arc::clone(deaths),
                    })
                })
                .collect();
            for k in &keys {
                assert_eq!(map.insert(Arc::clone(k), k.id + 1), None);
            }
            lookups.store(0, Ordering::SeqCst);
            all_dropped.store(false, Ordering::SeqCst);
            first_id.store(first, Ordering::SeqCst);
            line.wait(2 * round);
            for (i, k) in keys.into_iter().enumerate() {
                // Drop key i after a random number of lookups, growing with
                // i: the reader meets each key alive and dead.
                let target =
                    (i as u64 + 1) * KEYS_PER_ROUND / 2 + rng.random_range(0..KEYS_PER_ROUND);
                line.spin_until(|| lookups.load(Ordering::SeqCst) >= target);
                drop(k);
            }
            all_dropped.store(true, Ordering::SeqCst);
            line.wait(2 * round + 1);
            for (i, d) in deaths.iter().enumerate() {
                assert_eq!(
                    d.load(Ordering::SeqCst),
                    1,
                    "round {round}: key {} not dropped exactly once",
                    first + i as u64
                );
                assert_eq!(map.get(&(first + i as u64)), None, "found after the round");
            }
            if mixed_keys.load(Ordering::SeqCst) > 0 {
                mixed_rounds += 1;
            }
        }
        first_id.store(STOP, Ordering::SeqCst);
        line.wait(2 * rounds);
    });
    eprintln!(
        "{mixed_rounds} of {rounds} rounds saw a key both hit and missed; \
         {} hits on a key that died during the lookup",
        raced.load(Ordering::Relaxed)
    );
    assert!(
        mixed_rounds >= rounds / 2,
        "only {mixed_rounds} of {rounds} rounds saw a key both hit and missed: \
         the lookups never met the drops"
    );
    map.purge_dead();
    assert_eq!(map.len(), 0);
}

// ---------- a value holding its own key ----------

struct Node {
    drops: Arc<AtomicUsize>,
}
impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn value_holding_its_own_key_stays_alive() {
    for setup in SETUPS {
        let drops = Arc::new(AtomicUsize::new(0));
        let map = setup.by_identity::<Node, Arc<Node>>();
        let key = Arc::new(Node {
            drops: Arc::clone(&drops),
        });
        map.insert(Arc::clone(&key), Arc::clone(&key)); // value keeps key alive
        let weak = Arc::downgrade(&key);
        drop(key);
        assert_eq!(map.purge_dead(), 0, "{setup:?}: never dies (documented)");
        assert_eq!(map.live_len(), 1);
        let key = weak.upgrade().expect("kept alive by its own value");
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        // Removing it explicitly is the way out.
        assert!(map.remove(&key).is_some());
        drop(key);
        assert!(
            flush_until(|| drops.load(Ordering::Relaxed) == 1),
            "{setup:?}"
        );
        assert!(weak.upgrade().is_none());
        assert_eq!(map.len(), 0);
    }
}

// ---------- equal-but-distinct keys ----------

#[test]
fn equal_but_distinct_keys_by_value() {
    for setup in SETUPS {
        let map = setup.by_value::<String, u32>();
        let k1 = Arc::new("same".to_string());
        let k2 = Arc::new("same".to_string());
        assert!(!Arc::ptr_eq(&k1, &k2));
        assert_eq!(map.insert(Arc::clone(&k1), 1), None);
        // One key: the second insert replaces value and stored key.
        assert_eq!(map.insert(Arc::clone(&k2), 2).as_deref(), Some(&1));
        assert_eq!(map.live_len(), 1);
        let (stored, v) = map.snapshot().iter().map(|(k, v)| (k, *v)).next().unwrap();
        assert!(
            Arc::ptr_eq(&stored, &k2),
            "{setup:?}: the stored key is replaced"
        );
        assert_eq!(v, 2);
        drop(stored);
        drop(k2);
        assert_eq!(map.get("same"), None, "{setup:?}: dies with the new key");
        assert_eq!(map.purge_dead(), 1);
        // get_or_insert_with keeps the existing stored key.
        let k3 = Arc::new("same".to_string());
        map.get_or_insert_with(Arc::clone(&k3), || 3);
        assert_eq!(*map.get_or_insert_with(Arc::clone(&k1), || 4), 3);
        drop(k1);
        assert_eq!(map.get("same"), Some(3), "stored key is still k3");
        drop(k3);
        assert_eq!(map.get("same"), None);
    }
}

#[test]
fn equal_but_distinct_keys_by_identity() {
    for setup in SETUPS {
        let map = setup.by_identity::<String, u32>();
        let k1 = Arc::new("same".to_string());
        let k2 = Arc::new("same".to_string());
        assert_eq!(map.insert(Arc::clone(&k1), 1), None);
        assert_eq!(map.insert(Arc::clone(&k2), 2), None, "{setup:?}: two keys");
        assert_eq!(
            map.insert(Arc::clone(&k2), 3).as_deref(),
            Some(&2),
            "same Arc replaces"
        );
        assert_eq!(map.live_len(), 2);
        assert_eq!((map.get(&k1), map.get(&k2)), (Some(1), Some(3)));
        drop(k1);
        assert_eq!(map.get(&k2), Some(3), "{setup:?}: k1's death spares k2");
        assert_eq!(map.live_len(), 1);
        assert_eq!(map.purge_dead(), 1);
        let mut seen: Vec<u32> = map.snapshot().iter().map(|(_, v)| *v).collect();
        seen.sort();
        assert_eq!(seen, [3]);
    }
}

#[test]
fn retain_update_and_clear_skip_dead_entries() {
    for setup in SETUPS {
        let map = setup.by_value::<u64, u64>();
        let keys: Vec<Arc<u64>> = (0..100).map(Arc::new).collect();
        for k in &keys {
            map.insert(Arc::clone(k), 0);
        }
        for k in keys.iter().take(50) {
            assert_eq!(map.update(&**k, |v| v + 1).as_deref(), Some(&1));
        }
        let kept: Vec<_> = keys.into_iter().skip(25).collect(); // 0..25 die
        let mut visited = 0;
        let removed = map.retain(|k, v| {
            visited += 1;
            assert!(*k >= 25, "{setup:?}: retain never shows a dead key");
            *v == 1
        });
        assert_eq!(visited, 75);
        assert_eq!(removed, 25 + 50, "{setup:?}");
        assert_eq!(map.live_len(), 25);
        map.clear();
        assert_eq!(map.len(), 0);
        drop(kept);
    }
}

// ---------- 4-thread stress ----------

trait WeakLike: Send + Sync {
    /// Inserts; returns the old value's id.
    fn put(&self, k: &Arc<u64>, v: Tracked) -> Option<u64>;
    fn fetch(&self, k: &Arc<u64>) -> Option<u64>;
    fn take(&self, k: &Arc<u64>) -> Option<u64>;
    /// Looks up a key by value without an `Arc` (`None`: this map cannot).
    fn fetch_by_value(&self, id: u64) -> Option<Option<u64>>;
    fn purge(&self) -> usize;
    fn live(&self) -> usize;
}

impl WeakLike for WeakKeyMap<u64, Tracked, TestHasher> {
    fn put(&self, k: &Arc<u64>, v: Tracked) -> Option<u64> {
        self.insert(Arc::clone(k), v).map(|old| old.id)
    }
    fn fetch(&self, k: &Arc<u64>) -> Option<u64> {
        self.get_with(&**k, |v| v.id)
    }
    fn take(&self, k: &Arc<u64>) -> Option<u64> {
        self.pin().remove(&**k).map(|v| v.id)
    }
    fn fetch_by_value(&self, id: u64) -> Option<Option<u64>> {
        Some(self.get_with(&id, |v| v.id))
    }
    fn purge(&self) -> usize {
        self.purge_dead()
    }
    fn live(&self) -> usize {
        self.live_len()
    }
}

impl WeakLike for WeakIdentityMap<u64, Tracked, TestHasher> {
    fn put(&self, k: &Arc<u64>, v: Tracked) -> Option<u64> {
        self.insert(Arc::clone(k), v).map(|old| old.id)
    }
    fn fetch(&self, k: &Arc<u64>) -> Option<u64> {
        self.get_with(k, |v| v.id)
    }
    fn take(&self, k: &Arc<u64>) -> Option<u64> {
        self.pin().remove(k).map(|v| v.id)
    }
    fn fetch_by_value(&self, _: u64) -> Option<Option<u64>> {
        None
    }
    fn purge(&self) -> usize {
        self.purge_dead()
    }
    fn live(&self) -> usize {
        self.live_len()
    }
}

/// One key slot of a stress thread: the key it holds (if any) and what the
/// map holds for that key, which only this thread ever writes.
#[derive(Default)]
struct Slot {
    key: Option<Arc<u64>>,
    /// The id of the value stored under `key`, if any.
    stored: Option<u64>,
    /// The last key of this slot that died: its id and a `Weak` to tell
    /// when its destructor has run.
    dead: Option<(u64, std::sync::Weak<u64>)>,
    /// Keys created so far: part of the next key's id, so a key re-created
    /// after its death is a different key (an old entry whose key is still
    /// being upgraded by another thread's probe cannot answer for it).
    generation: u64,
}

/// Four threads, each with its own keys: every answer is known to the
/// thread that asks (its per-slot model), and each is checked exactly, while
/// the other threads' keys live, die and get purged in the same list.
fn stress<M: WeakLike + 'static>(map: M, ops: u64, live: Arc<AtomicUsize>) {
    let map = Arc::new(map);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let map = Arc::clone(&map);
            let live = Arc::clone(&live);
            thread::spawn(move || {
                let mut slots: Vec<Slot> = (0..64).map(|_| Slot::default()).collect();
                let mut rng = SmallRng::seed_from_u64(t);
                let mut next_value = t << 48;
                let mut dead_probes = 0;
                for op in 0..ops {
                    let x: u64 = rng.random();
                    let s = (x % 64) as usize;
                    let slot = &mut slots[s];
                    match (x >> 8) % 8 {
                        0..=2 => {
                            if slot.key.is_none() {
                                slot.generation += 1;
                                let id = (t << 40) | ((s as u64) << 32) | slot.generation;
                                slot.key = Some(Arc::new(id));
                                slot.stored = None;
                            }
                            let k = slot.key.as_ref().unwrap();
                            next_value += 1;
                            let old = map.put(k, Tracked::new(next_value, &live));
                            assert_eq!(old, slot.stored, "op {op}: insert of key {k} returned");
                            slot.stored = Some(next_value);
                        }
                        3..=4 => match &slot.key {
                            Some(k) => {
                                assert_eq!(map.fetch(k), slot.stored, "op {op}: get of key {k}")
                            }
                            None => {
                                // A key whose destructor has run is never found.
                                if let Some((id, weak)) = &slot.dead {
                                    let gone = weak.strong_count() == 0;
                                    if let Some(got) = map.fetch_by_value(*id) {
                                        if gone {
                                            dead_probes += 1;
                                            assert_eq!(got, None, "op {op}: dead key {id} found");
                                        }
                                    }
                                }
                            }
                        },
                        5 => {
                            if let Some(k) = &slot.key {
                                let got = map.take(k);
                                assert_eq!(got, slot.stored, "op {op}: remove of key {k}");
                                slot.stored = None;
                            }
                        }
                        6 => {
                            // The key dies (this thread held its only Arc).
                            if let Some(k) = slot.key.take() {
                                slot.dead = Some((*k, Arc::downgrade(&k)));
                                slot.stored = None;
                            }
                        }
                        _ => {
                            if x % 97 == 0 {
                                map.purge();
                            }
                        }
                    }
                }
                let stored = slots.iter().filter(|s| s.stored.is_some()).count();
                (stored, slots, dead_probes)
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| panic!("a stress thread panicked (its message is above)"))
        })
        .collect();
    // Every key a thread still holds with a value is live; nothing else is.
    let stored: usize = results.iter().map(|r| r.0).sum();
    let dead_probes: usize = results.iter().map(|r| r.2).sum();
    eprintln!("{stored} live entries at the end; {dead_probes} lookups of dead keys");
    assert_eq!(map.live(), stored, "live entries after the threads");
    drop(results); // every key dies
    assert_eq!(map.live(), 0);
    let map = Arc::try_unwrap(map).ok().expect("threads are done");
    drop(map);
    assert!(
        flush_until(|| live.load(Ordering::Relaxed) == 0),
        "{} values never dropped",
        live.load(Ordering::Relaxed)
    );
}

fn stress_ops(setup: Setup) -> u64 {
    let n = match setup {
        Setup::FewHashes => 5_000,
        _ => 50_000,
    };
    if cfg!(splitmap_asan) {
        n / 10
    } else {
        n
    }
}

#[test]
fn stress_four_threads_by_value() {
    for setup in SETUPS {
        let live = Arc::new(AtomicUsize::new(0));
        stress(setup.by_value(), stress_ops(setup), Arc::clone(&live));
        assert_eq!(live.load(Ordering::Relaxed), 0, "{setup:?}");
    }
}

#[test]
fn stress_four_threads_by_identity() {
    for setup in SETUPS {
        let live = Arc::new(AtomicUsize::new(0));
        stress(setup.by_identity(), stress_ops(setup), Arc::clone(&live));
        assert_eq!(live.load(Ordering::Relaxed), 0, "{setup:?}");
    }
}

/// The pinned layer: same answers as the guard-free one, and a `&V` it
/// returned stays readable after its key dies and the entry is purged,
/// while the handle lives.
#[test]
fn pinned_layer_references_outlive_their_keys() {
    use splitmap::{WeakIdentityMap, WeakKeyMap};
    let by_value: WeakKeyMap<String, Vec<u32>> = WeakKeyMap::new();
    let key = Arc::new("k".to_string());
    {
        let m = by_value.pin();
        assert!(m.insert(Arc::clone(&key), vec![1, 2, 3]).is_none());
        assert_eq!(
            m.update("k", |v| v.iter().map(|x| x * 2).collect()),
            Some(&vec![2, 4, 6])
        );
        let value = m.get("k").expect("live key");
        drop(key); // last Arc: the entry is dead from now on
        assert!(m.get("k").is_none(), "dead entry matched");
        assert_eq!(by_value.purge_dead(), 1);
        assert_eq!(value, &vec![2, 4, 6], "reference outlived the purge");
    }
    assert_eq!(by_value.live_len(), 0);

    let by_id: WeakIdentityMap<u32, u32> = WeakIdentityMap::new();
    let a = Arc::new(7u32);
    let m = by_id.pin();
    assert_eq!(*m.get_or_insert_with(Arc::clone(&a), || 1), 1);
    assert_eq!(*m.get_or_insert_with(Arc::clone(&a), || 2), 1);
    assert!(
        m.get(&Arc::new(7u32)).is_none(),
        "identity map matched an equal key"
    );
    assert_eq!(m.remove(&a), Some(&1));
    assert!(!m.contains_key(&a));
}
