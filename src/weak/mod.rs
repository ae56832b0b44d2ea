//! Weak-key maps: entries that vanish when their key's last `Arc` drops.
//!
//! Two public types, [`WeakKeyMap`] (equality) and [`WeakIdentityMap`]
//! (identity), over one shared implementation (`ops.rs`, generic over a
//! probe that says how a stored `Weak<K>` compares with the operation's key)
//! and the same raw core as `SplitMap`: only the entry type differs
//! (`entry.rs`). The user-facing guide (which type to use, purging, `len()`,
//! destructors, self-referencing values) is on [`WeakKeyMap`]'s docs.
//!
//! A second type rather than a mode parameter because the two differ in
//! their signatures, not just their behaviour: identity lookups take the
//! `&Arc<K>` and need no `Hash`/`Eq` on `K`, equality lookups take any `&Q`.

mod by_identity;
mod by_value;
mod entry;
mod ops;
mod pinned;
mod snapshot;

pub use by_identity::WeakIdentityMap;
pub use by_value::WeakKeyMap;
pub use pinned::{WeakIdentityMapRef, WeakKeyMapRef};
pub use snapshot::{WeakIter, WeakSnapshot};

use crate::stats::MapStats;

/// Exact live and dead figures of a weak-key map, from one walk over its
/// list; see [`WeakKeyMap::weak_stats`]. Under concurrent writes the walk
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
