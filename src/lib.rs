//! A lock-free concurrent hash map that gives memory back.
//!
//! `splitmap` replaces `Mutex<HashMap<K, V>>` and `RwLock<HashMap<K, V>>` in
//! hot paths. Readers never block, writers never take a lock, and — unlike
//! std's `HashMap`, Go maps or `sync.Map` — removed entries are actually
//! freed, the bucket directory shrinks when the map empties, and dead weak
//! keys are purged. [`SplitMap::stats`] says so in numbers.
//!
//! # The three products
//!
//! | you need | use | where |
//! |---|---|---|
//! | a concurrent `HashMap` that frees what it removes | [`SplitMap`]: the guard-free calls, [`pin`](SplitMap::pin) → [`MapRef`] for hot loops, [`snapshot`](SplitMap::snapshot) → [`Snapshot`] to iterate | the crate root |
//! | entries that vanish when their key's last `Arc` drops | [`WeakKeyMap`] (keys compared by value), [`WeakIdentityMap`] (by allocation) | [`weak`] |
//! | an expiring, bounded cache that says why each entry left | [`SplitCache`], built with [`SplitCache::builder`] | [`cache`] |
//!
//! All three run on one lock-free core (the same list, directory, counters
//! and reclamation), so everything below about consistency, memory and
//! performance holds for each; writes that hand a value back return a
//! [`Guarded`] reference (values need not be `Clone`).
//!
//! # Usage
//! ```
//! use splitmap::SplitMap;
//! use std::sync::Arc;
//!
//! let sessions = Arc::new(SplitMap::new());
//! let handles: Vec<_> = (0..4u64)
//!     .map(|t| {
//!         let sessions = Arc::clone(&sessions);
//!         std::thread::spawn(move || {
//!             for i in 0..1000 {
//!                 sessions.insert(t * 1000 + i, format!("user-{i}"));
//!             }
//!         })
//!     })
//!     .collect();
//! for h in handles {
//!     h.join().unwrap();
//! }
//! assert_eq!(sessions.len(), 4000);
//! assert_eq!(sessions.get(&42).as_deref(), Some("user-42"));
//!
//! // Hot loops: pin once, get references instead of clones.
//! let m = sessions.pin();
//! let total: usize = (0..4000u64).filter_map(|k| m.get(&k)).map(|s| s.len()).sum();
//! assert!(total > 0);
//! ```
//!
//! Two layers share one implementation:
//! - the guard-free layer on [`SplitMap`] (`get`, `insert`, `remove`, ...):
//!   each call pins the epoch once. Reads return owned data (`get` clones,
//!   `get_with` runs your closure); writes that hand a value back (`insert`,
//!   `remove`, `update`, `compute`, `get_or_insert_with`, ...) return a
//!   [`Guarded`] reference, so values need not be `Clone`;
//! - the pinned layer, [`SplitMap::pin`] → [`MapRef`]: one pin for many
//!   operations, results borrowed as `&V` for as long as the `MapRef` lives.
//!   This is the fast path for loops.
//!
//! [`SplitMap::snapshot`] gives a live walk for iteration (references), and
//! [`SplitMap::iter`] the same walk yielding clones.
//!
//! # Consistency
//! - Every single-key operation (`get`, `insert`, `remove`, `update`,
//!   `get_or_insert_with`, `compute`, `try_insert`, `remove_if`,
//!   `update_or_insert`) is **linearizable**: it takes effect atomically at
//!   one instant between its call and its return.
//! - **Happens-before**: a write that stores a value *releases* it and a
//!   read that returns it *acquires* it. If a read (of any layer, or a walk)
//!   sees a value stored by a write, everything the writing thread did
//!   before that write happens-before everything the reading thread does
//!   after the read; a `remove`, `update` or `compute` that acts on a value
//!   likewise happens-after the write that stored it. So a value may carry
//!   non-atomic data built before it was inserted. A read that does not see
//!   a write promises nothing about it. `len()` and `stats()` are counters
//!   that order nothing.
//! - **Lock-free**: no operation waits for another thread. Growth and shrink
//!   of the directory are background steps that operations help with in
//!   bounded pieces or skip, never wait on.
//! - Closures passed to `update`, `update_or_insert` and `compute` may run
//!   **more than once** under contention (only the last run's result is
//!   stored); keep them free of side effects. `get_or_insert_with` runs its
//!   closure at most once.
//! - **Iteration** ([`Snapshot::iter`], [`MapRef::iter`]) is a live, weakly
//!   consistent walk, not a copy: it never blocks writers and never waits
//!   for a resize; it never yields a key twice and yields every key present
//!   for the whole walk. Keys inserted or removed during the walk may or may
//!   not appear. `len()` is exact when no write is in flight; under
//!   concurrent writes it may be off by the writes that ran during the call.
//! - `retain` and `clear` are walks of single-key removals, not one atomic
//!   step.
//!
//! # Memory
//! A removed entry is unlinked at once and freed after an epoch grace
//! period (crossbeam-epoch): once every thread that might still be reading it
//! has left its operation. When the map falls under a quarter of its
//! capacity, the directory shrinks (an RCU-style publish, a grace period,
//! then the dropped levels' sentinels are unlinked in bounded chunks by
//! ordinary writes). So memory follows the contents down as well as up
//! without any call; [`SplitMap::compact`], [`SplitMap::shrink_to_fit`] and
//! [`SplitMap::reclaim`] hurry it. Measured with a counting allocator (see
//! `tests/memory.rs`): 1,000,000 `u64 → u64` entries take 40 requested
//! bytes each, and after removing them all the map is back within a few
//! KiB of a new empty map.
//!
//! One caveat of epoch reclamation: a thread that stays pinned (a long-lived
//! [`MapRef`], [`Snapshot`] or [`Guarded`]) delays the freeing of everything
//! removed meanwhile, in every map. Hold pins for a batch of work, not
//! forever.
//!
//! # Migrating from `Mutex<HashMap>`
//! | `Mutex<HashMap<K, V>>` | `SplitMap<K, V>` |
//! |---|---|
//! | `m.lock().unwrap().insert(k, v)` | `m.insert(k, v)` (the old value as a [`Guarded`]) |
//! | `m.lock().unwrap().get(&k).cloned()` | `m.get(&k)` |
//! | `m.lock().unwrap().get(&k).map(f)` | `m.get_with(&k, f)` |
//! | `m.lock().unwrap().contains_key(&k)` | `m.contains_key(&k)` |
//! | `m.lock().unwrap().remove(&k)` | `m.remove(&k)` (a [`Guarded`]; see below) |
//! | `if let Some(v) = m.lock().unwrap().get_mut(&k) { *v += 1 }` | `m.update(&k, \|v\| v + 1)` |
//! | `*m.lock().unwrap().entry(k).or_insert(0) += n` | `m.update_or_insert(k, \|v\| v + n, n)` |
//! | `m.lock().unwrap().entry(k).or_insert_with(f).clone()` | `m.get_or_insert_with(k, f).clone()` |
//! | `entry(k)` with insert / modify / remove logic | `m.compute(k, \|old\| new)` (`None` removes) |
//! | `m.lock().unwrap().try_insert(k, v)` (nightly) | `m.try_insert(k, v)` |
//! | `m.lock().unwrap().retain(f)` | `m.retain(f)` |
//! | `for (k, v) in m.lock().unwrap().iter()` | `for (k, v) in m.snapshot().iter()` |
//! | a loop of lookups under one lock | `let m = map.pin();` then `m.get(&k)` → `&V` |
//! | `m.lock().unwrap().len()` | `m.len()` |
//! | `m.get_mut().unwrap().get_mut(&k)` (exclusive) | `m.get_mut(&k)` on `&mut SplitMap` (also `iter_mut`, `values_mut`) |
//! | `m.lock().unwrap().shrink_to_fit()` | `m.shrink_to_fit()` (rarely needed: memory comes back by itself) |
//!
//! `tests/port_mutex_hashmap.rs` ports a service (a request registry whose
//! values are not `Clone`, a counter map, a cache-aside lookup) with exactly
//! these edits and checks that it behaves the same.
//!
//! **The one behaviour a port cannot keep: a removed value is dropped after
//! a grace period, not by `remove`.** The map cannot hand the value itself
//! back (another thread may be reading it), so `remove` returns a
//! reference and the value is dropped once no thread can still read it. A
//! value that owns a resource (a channel sender whose drop signals the
//! receiver, a file, a lock guard) keeps it open until then: with no
//! further map activity, possibly for long. Either take the resource out of
//! the value when you remove it (the take-on-remove recipe below), or call
//! [`SplitMap::reclaim`] after removing.
//!
//! There is no `Index` and no `get_mut` on a *shared* map: handing out
//! `&mut V` into a shared map is impossible without a lock. Mutate through
//! `update` / `compute`, or store atomics or a `Mutex<T>` as values. With
//! the map owned or borrowed mutably (`&mut SplitMap`: set-up, teardown,
//! between phases), [`SplitMap::get_mut`], [`SplitMap::iter_mut`] and
//! [`SplitMap::values_mut`] change values in place.
//!
//! # Recipes
//! - **Big values read often**: store `Arc<V>`; a reader clones the `Arc`
//!   (one reference-count increment) instead of the value.
//! - **Counters and flags updated in place**: store atomics as values and
//!   mutate through a shared reference, with no new node per update:
//!   ```
//!   use std::sync::atomic::{AtomicU64, Ordering};
//!   let hits: splitmap::SplitMap<&str, AtomicU64> = splitmap::SplitMap::new();
//!   hits.get_or_insert_with("/", || AtomicU64::new(0)).fetch_add(1, Ordering::Relaxed);
//!   hits.get_with("/", |n| n.fetch_add(1, Ordering::Relaxed));
//!   assert_eq!(hits.get_with("/", |n| n.load(Ordering::Relaxed)), Some(2));
//!   ```
//!   A `Mutex<T>` value does the same for anything larger.
//! - **Take on remove** (get the value itself out, and release it now):
//!   store `Mutex<Option<T>>` and take it out of the removed entry:
//!   ```
//!   use std::sync::{mpsc, Mutex};
//!   let waiters: splitmap::SplitMap<u64, Mutex<Option<mpsc::Sender<&str>>>> =
//!       splitmap::SplitMap::new();
//!   let (tx, rx) = mpsc::channel();
//!   waiters.insert(7, Mutex::new(Some(tx)));
//!   let tx = waiters.remove(&7).and_then(|slot| slot.lock().unwrap().take());
//!   tx.expect("was waiting").send("done").unwrap(); // ours now; dropped here
//!   assert_eq!(rx.recv(), Ok("done"));
//!   assert!(rx.recv().is_err()); // the sender is gone at once, not after a grace period
//!   ```
//!
//! # Async code
//! [`SplitMap`] is `Send + Sync` (when `K` and `V` are): share it in an
//! `Arc` across tasks. [`MapRef`], [`Snapshot`] and [`Guarded`] hold an epoch
//! pin, which belongs to its thread, so they are not `Send`: a future that
//! holds one across an `.await` is not `Send` and a multi-threaded runtime
//! will refuse to spawn it (and it would keep the pin for the whole wait).
//! Use the guard-free methods between awaits, turn a `Guarded` into an owned
//! value (`.clone()`, or a closure with `get_with`) before awaiting, and
//! scope pinned work in a block with no `.await` inside.
//!
//! # Type bounds
//! Exactly what each group of methods needs, and why:
//! - **Walks and handles** (`pin`, `snapshot`, iteration, `len`, `stats`,
//!   `Debug`): `K: Hash + Eq` and `S: BuildHasher`; a walk never unlinks
//!   anything.
//! - **Lookups** (`get`, `get_with`, `get_key_value`, `contains_key`, the
//!   same on [`MapRef`], and `PartialEq`): additionally `K: Send + 'static`
//!   and `V: Send + 'static`, as for writes. The first lookup to reach a
//!   bucket whose sentinel is not linked yet links it, and that search
//!   unlinks and retires deleted nodes on its way, which the epoch may drop
//!   on another thread. `get` and `get_key_value` also need `Clone` on what
//!   they clone.
//! - **Writes** (`insert`, `remove`, `update`, `compute`, `retain`, ...):
//!   `K: Send + 'static` and `V: Send + 'static`: a removed or
//!   replaced entry is dropped later by whichever thread runs the epoch's
//!   deferred destructor, possibly after the map itself is gone. `update`
//!   and `remove_entry` also need `K: Clone` (a replacement node carries its
//!   own copy of the key; `update_or_insert` and `compute` take the key by
//!   value instead).
//! - **Sharing** the map between threads (`SplitMap: Sync`) needs
//!   `K: Send + Sync` and `V: Send + Sync`, by the auto traits (a
//!   `Mutex<HashMap>` needs only `Send`): readers on many threads hold `&K`
//!   and `&V` at the same time.
//!
//! # Performance
//! The map is one lock-free ordered list (Shalev–Shavit split ordering) with
//! a segmented bucket directory of inline sentinels: doubling the directory
//! moves no node, and a lookup is a directory slot plus a short walk. Nodes
//! are immutable with the value inline: a read costs no extra pointer hop; an
//! update allocates one node. Counters are striped per thread.
//!
//! See `docs/results.md` for the ratios against `Mutex<HashMap>`, dashmap,
//! papaya and scc, measured side by side, and `docs/architecture.md` for
//! the layers. In hot loops use the pinned layer: pinning per call costs a
//! fence per operation.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod cache;
mod entry;
mod exclusive;
mod guarded;
mod map;
mod map_traits;
mod occupied;
mod ops;
mod pinned;
mod raw;
#[cfg(feature = "rayon")]
mod rayon_impl;
#[cfg(feature = "serde")]
mod serde_impl;
mod snapshot;
mod stats;
mod sync;
pub mod weak;

pub use cache::SplitCache;
pub use exclusive::IterMut;
pub use guarded::Guarded;
pub use map::SplitMap;
pub use map_traits::IntoIter;
pub use occupied::OccupiedError;
pub use pinned::MapRef;
pub use snapshot::{ClonedIter, Iter, Snapshot};
pub use stats::MapStats;
pub use weak::{WeakIdentityMap, WeakKeyMap};

/// Test hook, not a stable API: a hash that places the key `k` where a
/// bit-reversed split order would put a key whose hash is `k`: its low bits
/// choose its bucket (at `2^L` buckets, bucket `k mod 2^L`), its bits
/// reversed its place in the list. Models and tests that place keys by hand
/// (an identity hasher returning this) keep their layouts under the
/// top-bit order the map uses (`raw/split_order.rs`).
#[doc(hidden)]
pub const fn hash_at_reversed_position(k: u64) -> u64 {
    raw::split_order::hash_at_reversed_position(k)
}

/// Test hook, not a stable API: the split-order key of an entry whose hash
/// is `hash`; walks yield entries in increasing order of it (differential
/// tests model the iteration order with it).
#[doc(hidden)]
pub const fn split_order_key(hash: u64) -> u64 {
    raw::split_order::data_so_key(hash)
}

/// Test hook, not a stable API (feature `internal-test-hooks`): the number
/// of list nodes the calling thread has stepped onto in searches, lookups,
/// compaction walks and iteration since it started.
#[cfg(all(feature = "internal-test-hooks", not(loom)))]
#[doc(hidden)]
pub fn list_steps() -> u64 {
    raw::list::steps()
}

/// Test hook, not a stable API (feature `internal-test-hooks`): switches
/// chaos mode on or off for the whole process (random yields and spins
/// before the core's atomic operations; see `.ci/chaos.sh`).
#[cfg(all(feature = "internal-test-hooks", not(loom)))]
#[doc(hidden)]
pub fn set_chaos(on: bool) {
    sync::set_chaos(on)
}

/// Test hook, not a stable API (feature `internal-test-hooks`): how many
/// chaos points have yielded the thread so far, process-wide.
#[cfg(all(feature = "internal-test-hooks", not(loom)))]
#[doc(hidden)]
pub fn chaos_yields() -> u64 {
    sync::chaos_yields()
}
