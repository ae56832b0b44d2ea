//! `MapStats`: what the map holds and what it has done, read in O(1) from
//! its counters (no walk). This module only describes; it never changes the
//! map.

use crate::ops::CoreFigures;

/// A point-in-time report of a map's contents, memory and history.
///
/// Figures are read from striped counters without stopping writers, so
/// under concurrent writes they are each a recent value, not one consistent
/// cut. Byte figures count what the map asked the allocator for (the
/// allocator's own rounding and headers are not included) and cover the
/// map's nodes and directory, not heap memory owned by keys or values
/// themselves (a `String` key's buffer, say).
///
/// # Examples
/// ```
/// let map = splitmap::SplitMap::new();
/// for i in 0..1000u64 {
///     map.insert(i, i);
/// }
/// let s = map.stats();
/// assert_eq!(s.len, 1000);
/// assert!(s.node_bytes >= 1000 * 16);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapStats {
    /// Live entries (inserted, not removed or purged).
    pub len: usize,
    /// Buckets in the published directory size.
    pub buckets: usize,
    /// Bucket sentinels linked into the list (buckets in use).
    pub initialized_buckets: usize,
    /// Directory slots allocated (each is a potential sentinel).
    pub directory_slots: usize,
    /// Bytes of the allocated directory levels.
    pub directory_bytes: usize,
    /// Bytes of the data nodes still linked (live, plus marked ones not yet
    /// unlinked).
    pub node_bytes: usize,
    /// Entries logically deleted (removed, replaced or dead) but still
    /// linked; the next traversal or compaction unlinks them.
    pub marked_linked: usize,
    /// Nodes unlinked and handed to the epoch, not yet freed.
    pub retired_awaiting: usize,
    /// Bytes of those nodes.
    pub retired_bytes: usize,
    /// Bytes of fixed per-map overhead (the striped counters, and emptied
    /// retire batches kept for reuse).
    pub fixed_bytes: usize,
    /// Total heap bytes held: nodes + directory + retired + fixed.
    pub heap_bytes: usize,
    /// Entries inserted under a new key, ever.
    pub inserts: u64,
    /// Entries removed (`remove`, `retain`, `clear`, `compute`), ever.
    pub removes: u64,
    /// Values replaced (`insert` on an existing key, `update`, `compute`).
    pub replaces: u64,
    /// Dead weak-key entries purged, ever (always 0 for `SplitMap`).
    pub purged: u64,
    /// Full compaction walks run.
    pub compactions: u64,
    /// Directory shrinks completed.
    pub shrinks: u64,
    /// A shrink has been published and is waiting for its grace period or
    /// for its sentinels to be unlinked.
    pub shrink_pending: bool,
    /// Highest `len` seen (sampled on growth checks).
    pub peak_len: usize,
    /// Highest `heap_bytes` seen (sampled on growth checks and `stats()`).
    pub peak_bytes: usize,
}

impl From<CoreFigures> for MapStats {
    fn from(r: CoreFigures) -> Self {
        let heap_bytes = r.node_bytes + r.directory_bytes + r.retired_bytes + r.fixed_bytes;
        MapStats {
            len: r.len,
            buckets: r.buckets,
            initialized_buckets: r.linked_sentinels,
            directory_slots: r.directory_slots,
            directory_bytes: r.directory_bytes,
            node_bytes: r.node_bytes,
            marked_linked: r.marked_linked,
            retired_awaiting: r.retired_awaiting,
            retired_bytes: r.retired_bytes,
            fixed_bytes: r.fixed_bytes,
            heap_bytes,
            inserts: r.inserts as u64,
            removes: r.removes as u64,
            replaces: r.replaces as u64,
            purged: r.purged as u64,
            compactions: r.compactions as u64,
            shrinks: r.shrinks as u64,
            shrink_pending: r.shrink_pending,
            peak_len: r.peak_len,
            peak_bytes: r.peak_bytes.max(heap_bytes),
        }
    }
}
