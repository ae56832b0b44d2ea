//! Weak-key maps: entries that vanish when their key's last `Arc` drops.
//!
//! One type, [`WeakMap`], generic over its key mode ([`ByValue`]:
//! equality; [`ByIdentity`]: the same allocation), with the two common
//! names [`WeakKeyMap`] and [`WeakIdentityMap`] as aliases, its pinned
//! handle ([`WeakMapRef`]), its walk ([`WeakSnapshot`]) and its figures
//! ([`WeakStats`]).
//!
//! ```
//! use splitmap::weak::WeakKeyMap;
//! use std::sync::Arc;
//!
//! let map = WeakKeyMap::new();
//! let key = Arc::new("session-7".to_string());
//! map.insert(Arc::clone(&key), 42);
//! assert_eq!(map.get("session-7"), Some(42));
//! drop(key); // the last strong reference: the entry is dead
//! assert_eq!(map.get("session-7"), None);
//! assert_eq!(map.purge_dead(), 1);
//! ```

// It runs on the same operations core as `SplitMap` (`ops/`); only the
// entry kind differs (`entry.rs`: a `Weak<K>` that can die). Files:
// `map.rs` the operations every mode shares (constructors, owned-key
// writes, walks, purging); `by_value.rs` and `by_identity.rs` the lookups
// by a borrowed key, whose signatures differ by mode, for both layers;
// `pinned.rs` the pinned handle; `snapshot.rs` the walk; `mode.rs` the
// modes. None of them holds an algorithm of its own.

mod by_identity;
mod by_value;
mod entry;
mod map;
mod mode;
mod pinned;
mod snapshot;

pub use mode::{ByIdentity, ByValue, KeyMode};
pub use pinned::WeakMapRef;
pub use snapshot::{WeakIter, WeakSnapshot};

use crate::ops::Core;
use crate::stats::MapStats;
use core::marker::PhantomData;
use entry::WeakEntry;
use std::collections::hash_map::RandomState;

/// A lock-free concurrent map whose entries vanish when their key's last
/// `Arc` drops.
///
/// - `insert(Arc<K>, V)` stores a `Weak<K>`; the map never keeps a key
///   alive. Pass a clone of an `Arc` you keep: a temporary `Arc` dies when
///   `insert` returns, and so does its entry.
/// - A dead entry never matches; inserting an equal key adds a fresh entry
///   (the dead one is purged on the way, never revived).
/// - `len()` is an upper bound until dead entries are purged;
///   [`live_len`](Self::live_len) counts exactly with a walk.
///
/// Every single-key operation is linearizable and lock-free, as for
/// [`SplitMap`](crate::SplitMap), and the guard-free and pinned layers work
/// the same way (values need not be `Clone`; [`Guarded`](crate::Guarded)
/// references come back where a value is returned without cloning).
///
/// # Choosing the mode
/// Both modes run on the same core as [`SplitMap`](crate::SplitMap) (same
/// list, directory, counters and reclamation; only the entry kind differs):
///
/// | | [`WeakKeyMap`] (`ByValue`) | [`WeakIdentityMap`] (`ByIdentity`) |
/// |---|---|---|
/// | an entry matches a key that is | equal (`==`, like `HashMap`) | the same allocation (`Arc::ptr_eq`) |
/// | look up with | any `&Q` where `K: Borrow<Q>` | the `&Arc<K>` itself |
/// | `K` needs | `Hash + Eq` | nothing (the address is hashed) |
/// | a lookup costs | an `upgrade()` (two atomic RMWs on the key's counts) and `==` | one pointer compare, no RMW |
/// | like | Java's `WeakHashMap` | Caffeine's / Guava's `weakKeys()` |
///
/// Use [`WeakIdentityMap`] for side tables keyed by objects (sessions,
/// connections, handles: "data attached to *this* object"), which is the
/// common case and the faster one. Use [`WeakKeyMap`] when lookups come with
/// a value that is not the `Arc` (a name, an id) and equal keys are the same
/// key, as in an interner or a canonicalizing cache. In equality mode,
/// inserting a key equal to a live stored one replaces the value **and the
/// stored key**: the entry then lives as long as the new `Arc`.
///
/// # Liveness and purging
/// An entry holds a `Weak<K>` and is *dead* once every `Arc<K>` is gone. A
/// dead entry never matches a lookup (even if an equal key is inserted later:
/// it is never revived). It stays linked until someone purges it:
/// - a write (insert, remove, update, ...) that meets it in its key's run
///   marks and unlinks it;
/// - before the directory grows, one inserting thread walks the list and
///   purges every dead entry, and grows only if the map is still over three
///   quarters full (so dead entries do not make the directory grow);
/// - every 256 removes (per thread stripe), a bounded stretch is swept;
/// - `purge_dead()` and `shrink_to_fit()` walk the whole list; a purge is a
///   removal like any other, so a map it leaves nearly empty starts
///   shrinking its directory.
///
/// Until purged, a dead entry counts in `len()` (an upper bound on live
/// entries) and keeps two allocations: its list node, and the `Arc<K>`
/// allocation (`K`'s bytes plus two counters; `K`'s destructor has run, but
/// the allocation is freed only when the last `Weak` goes). Nothing tells the
/// map when a key dies, so no O(1) count of dead entries exists:
/// `stats()` is O(1) and cannot separate them, `weak_stats()` walks the list
/// and gives exact live and dead counts and bytes; `live_len()` is the walk's
/// live count.
///
/// # Keys' destructors
/// A lookup that upgrades a stored key may end up holding its last `Arc`
/// (another thread dropped its own meanwhile). The map keeps such `Arc`s
/// until the operation is done with the entry (after its atomic step and
/// after cloning the value or running your closure) and drops them then, on
/// the calling thread, so `K::drop` never runs inside a list traversal.
///
/// # A value that holds its own key
/// An entry whose value holds an `Arc` of its own key (directly or through a
/// cycle) keeps that key alive, so the entry never dies, exactly like Java's
/// `WeakHashMap`. Hold a `Weak<K>` in the value instead, or remove the entry
/// explicitly.
///
/// # Time to live
/// A weak map has no expiry of its own: an entry lives exactly as long as
/// its key. For "as long as the key, but at most T", keep a deadline in the
/// value and `retain` expired entries from time to time.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use splitmap::WeakKeyMap;
///
/// let names: WeakKeyMap<String, u32> = WeakKeyMap::new();
/// let alice = Arc::new("alice".to_string());
/// names.insert(Arc::clone(&alice), 1);
/// assert_eq!(names.get("alice"), Some(1)); // look up by &str
/// drop(alice); // last Arc: the entry is dead
/// assert_eq!(names.get("alice"), None);
/// assert_eq!(names.purge_dead(), 1);
/// assert_eq!(names.len(), 0);
/// ```
pub struct WeakMap<K, V, S = RandomState, M = ByValue> {
    core: Core<WeakEntry<K, V>, S>,
    _mode: PhantomData<M>,
}

/// A weak-key map with **equality** semantics: a lookup by any `&Q` equal to
/// a live stored key finds it. See [`WeakMap`] for the guide.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// let map: splitmap::WeakKeyMap<String, u32> = splitmap::WeakKeyMap::new();
/// let k1 = Arc::new("k".to_string());
/// let k2 = Arc::new("k".to_string()); // equal, distinct allocation
/// assert!(map.insert(Arc::clone(&k1), 1).is_none());
/// assert_eq!(map.insert(Arc::clone(&k2), 2).as_deref(), Some(&1));
/// drop(k2); // the stored key was k2: the entry dies with it
/// assert_eq!(map.get("k"), None);
/// ```
pub type WeakKeyMap<K, V, S = RandomState> = WeakMap<K, V, S, ByValue>;

/// A weak-key map with **identity** semantics: an entry matches only the
/// very `Arc` allocation it was inserted with (`Arc::ptr_eq`), whatever
/// `K`'s `Eq` says. `K` needs neither `Hash` nor `Eq` (the address is
/// hashed). See [`WeakMap`] for the guide.
///
/// - A dead entry never matches: while you hold an `Arc`, no dead entry can
///   have its address (the map's `Weak` keeps a dead key's allocation, so
///   the address is not reused until the entry is purged).
/// - Two equal but distinct `Arc`s are two keys with two entries.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use splitmap::WeakIdentityMap;
///
/// struct Session {
///     user: String,
/// }
/// let bytes_sent: WeakIdentityMap<Session, u64> = WeakIdentityMap::new();
/// let s = Arc::new(Session { user: "ann".into() });
/// bytes_sent.insert(Arc::clone(&s), 0);
/// bytes_sent.update(&s, |n| n + 512);
/// assert_eq!(bytes_sent.get(&s), Some(512));
/// assert_eq!(s.user, "ann");
/// drop(s); // the session ends: its entry is dead
/// assert_eq!(bytes_sent.live_len(), 0);
/// assert_eq!(bytes_sent.purge_dead(), 1);
/// ```
pub type WeakIdentityMap<K, V, S = RandomState> = WeakMap<K, V, S, ByIdentity>;

/// The pinned handle of a [`WeakKeyMap`].
pub type WeakKeyMapRef<'m, K, V, S = RandomState> = WeakMapRef<'m, K, V, S, ByValue>;

/// The pinned handle of a [`WeakIdentityMap`].
pub type WeakIdentityMapRef<'m, K, V, S = RandomState> = WeakMapRef<'m, K, V, S, ByIdentity>;

/// Exact live and dead figures of a weak-key map, from one walk over its
/// list; see [`WeakMap::weak_stats`]. Under concurrent writes the walk
/// sees each entry at some moment during it.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// let map = splitmap::WeakKeyMap::new();
/// let kept = Arc::new(1u64);
/// map.insert(Arc::clone(&kept), "kept");
/// map.insert(Arc::new(2u64), "dead at once");
/// let w = map.weak_stats();
/// assert_eq!((w.live, w.dead), (1, 1));
/// assert!(w.dead_key_bytes >= 8);
/// assert_eq!(w.stats.len, 2); // the O(1) count includes the dead entry
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeakStats {
    /// The O(1) counter figures (as `stats()`); `stats.len` counts dead
    /// entries not yet purged.
    pub stats: MapStats,
    /// Live entries the walk found.
    pub live: usize,
    /// Dead entries still linked (pending purge).
    pub dead: usize,
    /// Bytes of those entries' list nodes.
    pub dead_node_bytes: usize,
    /// Bytes of the `Arc<K>` allocations their `Weak<K>` keep alive (two
    /// counters plus `size_of::<K>()`, padded). Freed by purging unless
    /// another `Weak<K>` outside the map holds the same allocation.
    pub dead_key_bytes: usize,
}
