//! Weak-key maps: entries vanish with their keys, under both semantics.
//!
//! Every behaviour runs under several set-ups (default layout; a tiny
//! directory with load factor 1; a hasher with only four hashes, so every
//! operation walks long runs of equal split-order keys full of dead
//! entries).

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

/// Unsynchronized version: readers race the drop of keys many times; every
/// result is the right value or a miss, and every key is dropped once.
#[test]
fn keys_dying_under_concurrent_lookups() {
    let rounds = if cfg!(splitmap_asan) { 50 } else { 500 };
    let map = Arc::new(WeakKeyMap::<u64, u64>::new());
    for round in 0..rounds {
        let keys: Vec<Arc<u64>> = (0..16).map(|i| Arc::new(round * 16 + i)).collect();
        for k in &keys {
            map.insert(Arc::clone(k), **k + 1);
        }
        let m = Arc::clone(&map);
        let reader = thread::spawn(move || {
            for _ in 0..4 {
                for i in 0..16 {
                    let k = round * 16 + i;
                    if let Some(v) = m.get(&k) {
                        assert_eq!(v, k + 1);
                    }
                }
            }
        });
        drop(keys);
        reader.join().unwrap();
        for i in 0..16 {
            assert_eq!(map.get(&(round * 16 + i)), None);
        }
    }
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
    fn put(&self, k: &Arc<u64>, v: Tracked);
    fn fetch(&self, k: &Arc<u64>) -> Option<Tracked>;
    fn take(&self, k: &Arc<u64>) -> Option<Tracked>;
    fn purge(&self) -> usize;
}

impl WeakLike for WeakKeyMap<u64, Tracked, TestHasher> {
    fn put(&self, k: &Arc<u64>, v: Tracked) {
        if let Some(old) = self.insert(Arc::clone(k), v) {
            assert_eq!(old.id, **k);
        }
    }
    fn fetch(&self, k: &Arc<u64>) -> Option<Tracked> {
        self.get(&**k)
    }
    fn take(&self, k: &Arc<u64>) -> Option<Tracked> {
        self.remove(&**k).map(|v| v.clone())
    }
    fn purge(&self) -> usize {
        self.purge_dead()
    }
}

impl WeakLike for WeakIdentityMap<u64, Tracked, TestHasher> {
    fn put(&self, k: &Arc<u64>, v: Tracked) {
        if let Some(old) = self.insert(Arc::clone(k), v) {
            assert_eq!(old.id, **k);
        }
    }
    fn fetch(&self, k: &Arc<u64>) -> Option<Tracked> {
        self.get(k)
    }
    fn take(&self, k: &Arc<u64>) -> Option<Tracked> {
        self.remove(k).map(|v| v.clone())
    }
    fn purge(&self) -> usize {
        self.purge_dead()
    }
}

fn stress<M: WeakLike + 'static>(map: M, ops: u64, live: Arc<AtomicUsize>) {
    let map = Arc::new(map);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let map = Arc::clone(&map);
            let live = Arc::clone(&live);
            thread::spawn(move || {
                // Each thread owns a window of keys (disjoint ids, so by-value
                // keys of different threads never collide) and keeps some
                // alive, drops others, re-creates them.
                let mut held: Vec<Option<Arc<u64>>> = vec![None; 64];
                let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for _ in 0..ops {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let slot = (x % 64) as usize;
                    let id = t * 1000 + slot as u64;
                    match (x >> 8) % 8 {
                        0..=2 => {
                            let k = held[slot].get_or_insert_with(|| Arc::new(id));
                            map.put(k, Tracked::new(id, &live));
                        }
                        3..=4 => {
                            if let Some(k) = &held[slot] {
                                if let Some(v) = map.fetch(k) {
                                    assert_eq!(v.id, id);
                                }
                            }
                        }
                        5 => {
                            if let Some(k) = &held[slot] {
                                if let Some(v) = map.take(k) {
                                    assert_eq!(v.id, id);
                                }
                            }
                        }
                        6 => held[slot] = None, // the key dies
                        _ => {
                            if x % 97 == 0 {
                                map.purge();
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
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
