//! Bucket starts for writes: a bucket's sentinel, linked on first use.
//!
//! Reads never link a sentinel; they start from the nearest linked ancestor
//! (`Directory::read_start`). A write links its bucket's sentinel first, so
//! later operations on the bucket start right at it: claim the slot (one
//! CAS), find its place from the parent's sentinel, link it by one CAS on
//! its predecessor (a sentinel *reference* word, `node.rs`), then flag it
//! `LINKED`. Another thread that finds the slot claimed does not wait for
//! the claimer: it starts from the nearest linked ancestor instead.
//!
//! This file owns that protocol and nothing else; the CASes themselves are
//! in `list.rs`.

use super::list::{link_sentinel, search, set_linked, try_claim_sentinel, Match};
use super::node::{is_linked, sentinel_word, UNCLAIMED};
use super::split_order::{parent_bucket, sentinel_so_key};
use super::{RawEntry, RawMap};
use crate::sync::{AtomicWord, Guard, Ordering};

impl<E: RawEntry + Send + 'static> RawMap<E> {
    /// The start node for a write to `bucket`: its sentinel, linked first if
    /// needed. If another thread has claimed the sentinel and is still
    /// linking it, starts from the nearest linked ancestor instead of
    /// waiting.
    pub(super) fn write_start<'g>(&'g self, bucket: usize, guard: &'g Guard) -> &'g AtomicWord {
        let (slot, parity) = self.dir.slot_or_alloc(bucket, guard);
        let w = slot.load(Ordering::Acquire);
        if is_linked(w) {
            return slot;
        }
        assert_ne!(bucket, 0, "bucket 0 is linked from birth");
        if w != UNCLAIMED || !try_claim_sentinel(slot) {
            return self.write_start(parent_bucket(bucket), guard);
        }
        // We own the claim: only we write the slot until it is reachable.
        let parent = self.write_start(parent_bucket(bucket), guard);
        let reference = sentinel_word(bucket, parity);
        loop {
            // SAFETY: `parent` is a linked sentinel of the current state,
            // before `bucket`'s sentinel in split order.
            let pos = unsafe {
                search::<E, _>(
                    parent,
                    sentinel_so_key(bucket),
                    &mut |_| Match::NotEqual,
                    self,
                    guard,
                )
            };
            // SAFETY: we claimed `slot` above and have not linked it;
            // `reference` names it with the parity read with it.
            if unsafe { link_sentinel(&pos, slot, reference) }.is_ok() {
                break;
            }
        }
        set_linked(slot);
        self.counters
            .local()
            .sentinels_linked
            .fetch_add(1, Ordering::Relaxed);
        slot
    }
}
