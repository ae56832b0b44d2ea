//! A lock-free concurrent hash map that gives memory back.
//!
//! `splitmap` replaces `Mutex<HashMap<K, V>>` and `RwLock<HashMap<K, V>>` in
//! hot paths. Readers never block, writers never take a lock, and — unlike
//! std's `HashMap`, Go maps or `sync.Map` — removed entries are actually
//! freed, the bucket directory shrinks when the map empties, and dead weak
//! keys are purged. [`SplitMap::stats`] says so in numbers.
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
//!   each call pins the epoch once and returns owned values (`V: Clone` where
//!   a value is returned);
//! - the pinned layer, [`SplitMap::pin`] → [`MapRef`]: one pin for many
//!   operations, results borrowed as `&V` for as long as the `MapRef` lives.
//!   This is the fast path for loops, and the way to use values that are not
//!   `Clone`.
//!
//! [`SplitMap::snapshot`] gives a read view for iteration;
//! [`WeakKeyMap`] and [`WeakIdentityMap`] hold their keys weakly.
//!
//! # Consistency
//! - Every single-key operation (`get`, `insert`, `remove`, `update`,
//!   `get_or_insert_with`, `compute`) is **linearizable**: it takes effect
//!   atomically at one instant between its call and its return.
//! - **Lock-free**: no operation waits for another thread. Growth and shrink
//!   of the directory are background steps that operations help with in
//!   bounded pieces or skip, never wait on.
//! - Closures passed to `update` and `compute` may run **more than once**
//!   under contention (only the last run's result is stored); keep them
//!   free of side effects. `get_or_insert_with` runs its closure at most
//!   once.
//! - **Iteration** ([`Snapshot::iter`], [`MapRef::iter`]) never blocks
//!   writers and never waits for a resize; it never yields a key twice and
//!   yields every key present for the whole walk. Keys inserted or removed
//!   during the walk may or may not appear. `len()` is exact when no write is
//!   in flight.
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
//! [`MapRef`] or [`Snapshot`]) delays the freeing of everything removed
//! meanwhile, in every map. Hold pins for a batch of work, not forever.
//!
//! # Migrating from `Mutex<HashMap>`
//! | `Mutex<HashMap<K, V>>` | `SplitMap<K, V>` |
//! |---|---|
//! | `m.lock().unwrap().insert(k, v)` | `m.insert(k, v)` |
//! | `m.lock().unwrap().get(&k).cloned()` | `m.get(&k)` |
//! | `m.lock().unwrap().get(&k).map(f)` | `m.get_with(&k, f)` |
//! | `m.lock().unwrap().contains_key(&k)` | `m.contains_key(&k)` |
//! | `m.lock().unwrap().remove(&k)` | `m.remove(&k)` |
//! | `if let Some(v) = m.lock().unwrap().get_mut(&k) { *v += 1 }` | `m.update(&k, \|v\| v + 1)` |
//! | `*m.lock().unwrap().entry(k).or_insert_with(f)` | `m.get_or_insert_with(k, f)` |
//! | `entry(k)` with insert / modify / remove logic | `m.compute(k, \|old\| new)` |
//! | `m.lock().unwrap().retain(f)` | `m.retain(f)` |
//! | `for (k, v) in m.lock().unwrap().iter()` | `for (k, v) in m.snapshot().iter()` |
//! | `m.lock().unwrap().len()` | `m.len()` |
//! | `m.lock().unwrap().shrink_to_fit()` | `m.shrink_to_fit()` (rarely needed) |
//!
//! There is no `get_mut`, `iter_mut` or `Index`: handing out `&mut V` into a
//! shared map is impossible without a lock. Mutate through `update` /
//! `compute`, or store `V = Mutex<T>` / atomics for in-place changes.
//!
//! # Type bounds
//! Operations that store or remove entries require `K: Hash + Eq + Send +
//! Sync + 'static` and `V: Send + Sync + 'static`: readers on any thread
//! share `&K`/`&V` (`Sync`), and a removed entry is dropped later by
//! whichever thread runs the epoch's deferred destructor, possibly after the
//! map itself is gone (`Send + 'static`). `update` and `remove_entry` also
//! need `K: Clone`, because a replacement node carries its own copy of the
//! key (nodes are immutable; see Performance).
//!
//! # Performance
//! The map is one lock-free ordered list (Shalev–Shavit split ordering) with
//! a segmented bucket directory of inline sentinels: doubling the directory
//! moves no node, and a lookup is a directory slot plus a short walk. Nodes
//! are immutable with the value inline: a read costs no extra pointer hop; an
//! update allocates one node. Counters are striped per thread.
//!
//! Measured honestly (see `docs/results.md` for the ratios against
//! `Mutex<HashMap>`, dashmap, papaya and scc): memory behaviour leads the
//! field, throughput does not yet. A lookup in a large map is a chain of
//! dependent cache misses (directory slot, then list nodes), so in hot
//! loops use the pinned layer, which is about twice as fast as pinning per
//! call.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod entry;
mod map;
mod pinned;
mod raw;
#[cfg(feature = "serde")]
mod serde_impl;
mod snapshot;
mod stats;
mod sync;
mod weak;

pub use map::{IntoIter, SplitMap};
pub use pinned::MapRef;
pub use snapshot::{Iter, Snapshot};
pub use stats::MapStats;
pub use weak::{
    WeakIdentityMap, WeakIdentityMapRef, WeakIter, WeakKeyMap, WeakKeyMapRef, WeakSnapshot,
    WeakStats,
};

/// Test hook, not a stable API (feature `internal-test-hooks`): the number
/// of list nodes the calling thread has stepped onto in searches, lookups,
/// compaction walks and iteration since it started.
#[cfg(all(feature = "internal-test-hooks", not(loom)))]
#[doc(hidden)]
pub fn list_steps() -> u64 {
    raw::list::steps()
}
