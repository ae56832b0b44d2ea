//! Shared helpers for the loom models of splitmap (the models are in
//! `tests/`, each file `#![cfg(loom)]`; run them with `.ci/loom.sh`).
//!
//! - [`IdHash`]: a hasher under which a `u64` key places itself by hand
//!   (`splitmap::hash_at_reversed_position`), so a model chooses exactly
//!   which bucket and which split-order position every key gets (key `k` lives in bucket `k & (buckets - 1)`; in one bucket,
//!   keys sort by their bit-reversed value: 0, 4, 2, 6, 1, 5, 3, 7 ...).
//! - [`Tracked`] and [`DropLog`]: values that record their drops, so a model
//!   checks that every value it created was dropped exactly once.
//! - [`spawn`]: a model thread, and [`check_drops`]: accounts for every
//!   value a model created (dropped once, still in the map, or still held
//!   by the epoch) and checks that dropping the map drops the rest.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use splitmap::{SplitMap, WeakKeyMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc as StdArc;

/// A `Hasher` under which the `u64` written to it places its key by hand
/// (FNV-1a over bytes for anything else). Only for models: it makes bucket
/// placement explicit.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // The map orders its list by the top bits of a spread hash; this
        // hash places `n` where a bit-reversed split order would put a key
        // whose hash is `n` (bucket `n mod 2^L`, list position `n`
        // reversed), the layout every model describes.
        self.0 = splitmap::hash_at_reversed_position(n);
    }
}

/// The `BuildHasher` of [`IdHasher`].
pub type IdHash = BuildHasherDefault<IdHasher>;

/// Drop counts of the values one model execution creates, by value id.
///
/// Uses std atomics on purpose: loom runs every model thread on one OS
/// thread, and these counters are the checker's bookkeeping, not part of the
/// algorithm under test (they must not add interleavings).
#[derive(Debug)]
pub struct DropLog {
    drops: Vec<AtomicUsize>,
    /// The next id [`DropLog::fresh`] hands out (counting down from the
    /// top, so fixed ids from [`DropLog::value`] stay at the bottom).
    fresh_below: AtomicUsize,
}

impl DropLog {
    /// A log for value ids `0..n`.
    pub fn new(n: usize) -> StdArc<Self> {
        StdArc::new(DropLog {
            drops: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            fresh_below: AtomicUsize::new(n),
        })
    }

    /// A fresh value with id `id` (each id must be created once).
    pub fn value(self: &StdArc<Self>, id: usize) -> Tracked {
        self.value_with(id, 0)
    }

    /// A fresh value with id `id` carrying `payload` (for models whose
    /// values are computed, such as counters).
    pub fn value_with(self: &StdArc<Self>, id: usize, payload: u64) -> Tracked {
        assert!(id < self.drops.len(), "value id {id} out of range");
        Tracked {
            id,
            payload,
            alive: ALIVE,
            log: StdArc::clone(self),
        }
    }

    /// A value with the next unused id, taken from the top of the range
    /// (for closures that may run any number of times up to the range).
    pub fn fresh(self: &StdArc<Self>, payload: u64) -> Tracked {
        let id = self.fresh_below.fetch_sub(1, Ordering::SeqCst) - 1;
        self.value_with(id, payload)
    }

    /// Creates and drops every id `fresh` has not handed out down to
    /// `lowest`, so [`check_drops`] sees each of them dropped once.
    pub fn settle_unused_fresh(self: &StdArc<Self>, lowest: usize) {
        let below = self.fresh_below.swap(lowest, Ordering::SeqCst);
        for id in lowest..below {
            drop(self.value(id));
        }
    }

    /// Number of value ids.
    pub fn len(&self) -> usize {
        self.drops.len()
    }

    /// Whether the log tracks no value.
    pub fn is_empty(&self) -> bool {
        self.drops.is_empty()
    }

    /// How many times value `id` was dropped.
    pub fn drops(&self, id: usize) -> usize {
        self.drops[id].load(Ordering::SeqCst)
    }

    /// Asserts that each of the values `ids` was dropped exactly once.
    pub fn assert_each_dropped_once(&self, ids: impl IntoIterator<Item = usize>) {
        for id in ids {
            assert_eq!(
                self.drops(id),
                1,
                "value {id} dropped {} times (expected exactly once)",
                self.drops(id)
            );
        }
    }

    /// Asserts that no value was dropped more than once (for use while the
    /// map is still alive: everything not yet dropped is still owned).
    pub fn assert_none_dropped_twice(&self) {
        for id in 0..self.drops.len() {
            assert!(
                self.drops(id) <= 1,
                "value {id} dropped {} times",
                self.drops(id)
            );
        }
    }
}

/// A map value that records its drop in a [`DropLog`]. Deliberately not
/// `Clone`: models use the pinned API, so every value has one owner.
#[derive(Debug)]
pub struct Tracked {
    id: usize,
    payload: u64,
    /// [`ALIVE`] until dropped; a reader that sees anything else read a
    /// value after its destruction (a node freed while still reachable).
    alive: u64,
    log: StdArc<DropLog>,
}

const ALIVE: u64 = 0x5afe_5afe_5afe_5afe;

impl Tracked {
    /// Which value this is. Panics if the value was already dropped (a
    /// best-effort use-after-free detector: `Drop` clears the marker).
    pub fn id(&self) -> usize {
        // SAFETY: none needed; a volatile read only keeps the compiler from
        // assuming the marker (which `Drop` overwrites) is still `ALIVE`.
        let alive = unsafe { std::ptr::read_volatile(&self.alive) };
        assert_eq!(alive, ALIVE, "value read after it was dropped");
        self.id
    }

    /// The payload given to [`DropLog::value_with`] or [`DropLog::fresh`].
    pub fn payload(&self) -> u64 {
        let _ = self.id(); // the same use-after-drop check
        self.payload
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        assert_eq!(self.alive, ALIVE, "value {} dropped twice", self.id);
        // SAFETY: `&mut self` is valid for writes; volatile so the store
        // survives although the value is about to be freed.
        unsafe { std::ptr::write_volatile(&mut self.alive, 0) };
        self.log.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// Spawns a model thread (loom's `thread::spawn`; std's outside loom).
///
/// A model thread's epoch handle, and the bag of destructions it deferred,
/// is only finalized when the whole loom execution ends, after the model's
/// assertions; [`check_drops`] counts those destructions as still held by
/// the epoch. (Flushing the bag as each thread's last step would free them
/// inside the model, but multiplies the interleavings to explore by the
/// epoch's own collection code: a single two-thread model then ran for
/// more than ten minutes.)
pub fn spawn<T, F>(f: F) -> model_thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    model_thread::spawn(f)
}

#[cfg(loom)]
use loom::thread as model_thread;
#[cfg(not(loom))]
use std::thread as model_thread;

/// Checks, at the end of a model, that every value the model created is
/// accounted for exactly once, then drops `map` and checks that the values
/// in `live` (those the model expects still in the map) are dropped by it.
///
/// Call it on the main model thread after joining every model thread
/// started with [`spawn`]. It does not push the epoch: the model threads'
/// bags stay with their handles until the execution ends, and pin+flush
/// rounds on the main thread multiplied a model's executions (each round's
/// relaxed loads of other participants' epochs are branch points for loom)
/// without ever being sure to free a bag (crossbeam-epoch under loom does
/// not always advance its global epoch within a bounded number of flushes;
/// reproduced with a model of crossbeam-epoch alone).
/// Instead, with no other thread alive, it counts honestly:
/// - no value was dropped twice;
/// - every value in `live` is not dropped yet;
/// - the values neither live nor dropped are exactly as many as the map's
///   own count of nodes retired to the epoch and not yet freed
///   (`stats().retired_awaiting`, incremented on retire and decremented by
///   the deferred destructor). A node unlinked and never retired (a leak)
///   or retired twice breaks this equation;
/// - after dropping the map, every `live` value was dropped exactly once.
pub fn check_drops<K, S>(map: SplitMap<K, Tracked, S>, log: &DropLog, live: &[usize]) {
    let awaiting = map.stats().retired_awaiting;
    account(log, live, awaiting, move || drop(map));
}

/// [`check_drops`] for a [`WeakKeyMap`]: the same accounting (a dead entry
/// purged from the list is a retired node like a removed one; a dead entry
/// still linked holds its value, so list it in `live`).
pub fn check_weak_drops<K, S>(map: WeakKeyMap<K, Tracked, S>, log: &DropLog, live: &[usize]) {
    let awaiting = map.stats().retired_awaiting;
    account(log, live, awaiting, move || drop(map));
}

/// The accounting of [`check_drops`], given the map's count of retired
/// nodes awaiting reclamation and a closure that drops the map.
fn account(log: &DropLog, live: &[usize], awaiting: usize, drop_map: impl FnOnce()) {
    log.assert_none_dropped_twice();
    for &id in live {
        assert_eq!(log.drops(id), 0, "live value {id} was dropped");
    }
    let held_by_epoch = (0..log.len())
        .filter(|id| !live.contains(id) && log.drops(*id) == 0)
        .count();
    assert_eq!(
        held_by_epoch, awaiting,
        "{held_by_epoch} removed values not dropped, but the map has {awaiting} \
         nodes awaiting reclamation"
    );
    drop_map();
    log.assert_each_dropped_once(live.iter().copied());
    log.assert_none_dropped_twice();
}

/// Runs `f` as a loom model (like `loom::model`) allowing `branches` branch
/// points per execution, unless `LOOM_MAX_BRANCHES` is set. Loom's default
/// (1,000) is too few for a model whose single-threaded setup crosses
/// growth and a shrink: every atomic access of the setup, the epoch's
/// included, is a branch point, although with one thread running none of
/// them multiplies the executions.
#[cfg(loom)]
pub fn model_with_branches<F>(branches: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
        builder.max_branches = builder.max_branches.max(branches);
    }
    builder.check(f);
}
