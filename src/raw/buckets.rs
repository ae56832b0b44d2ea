//! Bucket starts: a bucket's sentinel, linked on first use.
//!
//! A read whose bucket's sentinel is not linked links it first when one
//! CAS does it and nothing is allocated, then starts right at it;
//! otherwise it starts from the nearest linked ancestor
//! (`Directory::read_start`) and walks the ancestor's nodes too
//! ([`RawMap::read_start_unlinked`], off the hot path: the hot path only
//! tests the sentinel's `LINKED` flag). A write links its bucket's
//! sentinel first, so
//! later operations on the bucket start right at it: claim the slot (one
//! CAS), find its place from the parent's sentinel, link it by one CAS on
//! its predecessor (a sentinel *reference* word, `node.rs`), then flag it
//! `LINKED`. Another thread that finds the slot claimed does not wait for
//! the claimer: it starts from the nearest linked ancestor instead.
//!
//! This file owns that protocol and nothing else; the CASes themselves are
//! in `list.rs`.
//!
//! ## What this module must never do
//! Wait for a claimer (it starts from an ancestor instead), link a sentinel
//! of a level a pending shrink drops (`link_for_reads` skips while a shrink
//! is pending; writes read the state that grace periods protect), or
//! allocate directory memory on behalf of a read.

use super::list::{link_sentinel, search, set_linked, try_claim_sentinel, Match};
use super::node::{is_linked, sentinel_word, UNCLAIMED};
use super::split_order::{parent_sentinel, sentinel_of};
use super::{RawEntry, RawMap};
use crate::sync::{AtomicWord, Guard, Ordering, Word};

impl<E: RawEntry + Send + 'static> RawMap<E, E::Ctx> {
    /// Where a read of `so_key` starts when its bucket's sentinel is not
    /// linked: links it first if one CAS does it ([`RawMap::link_for_reads`]),
    /// then starts from it, or else from the nearest linked ancestor.
    #[cold]
    #[inline(never)]
    pub(super) fn read_start_unlinked(&self, so_key: u64, guard: &Guard) -> Word {
        self.link_for_reads(so_key, guard);
        self.dir.read_start(so_key, guard).0
    }

    /// Before a read of `so_key` would start from an ancestor because the
    /// key's bucket sentinel is not linked: links it, once per bucket (the
    /// read then walks from it, over what the linking search just brought
    /// into the cache).
    ///
    /// Only where one link does it and nothing is allocated: the bucket's
    /// level must already be allocated (a read never allocates directory
    /// memory; a new level is allocated by the first write into it, which
    /// in a growing map comes right after the doubling) and its parent
    /// linked. Skipped while a shrink is pending (the map is small then,
    /// and a dropped level must not be linked again).
    fn link_for_reads(&self, so_key: u64, guard: &Guard) {
        let state = self.dir.state();
        if state.shrink_pending() {
            return;
        }
        let s = sentinel_of(so_key, state.log2());
        let Some((slot, _)) = self.dir.slot(s, guard) else {
            return; // level not allocated
        };
        if s == 0 || slot.load(Ordering::Acquire) != UNCLAIMED {
            return; // linked, or being linked
        }
        let parent_linked = self
            .dir
            .slot(parent_sentinel(s), guard)
            .is_some_and(|(parent, _)| is_linked(parent.load(Ordering::Acquire)));
        if parent_linked {
            self.write_start(s, guard);
        }
    }

    /// The start node for a write to the bucket of sentinel `s`: its
    /// sentinel, linked first if needed. If another thread has claimed the
    /// sentinel and is still linking it, starts from the nearest linked
    /// ancestor instead of waiting.
    #[inline(always)]
    pub(super) fn write_start<'g>(&'g self, s: u64, guard: &'g Guard) -> &'g AtomicWord {
        if let Some((slot, _)) = self.dir.slot(s, guard) {
            if is_linked(slot.load(Ordering::Acquire)) {
                return slot;
            }
        }
        self.link_bucket(s, guard)
    }

    /// [`RawMap::write_start`] when the sentinel is not linked yet: links
    /// it (allocating its level if needed), or starts from an ancestor if
    /// another thread is linking it.
    #[cold]
    #[inline(never)]
    fn link_bucket<'g>(&'g self, s: u64, guard: &'g Guard) -> &'g AtomicWord {
        let (slot, parity) = self.dir.slot_or_alloc(s, guard);
        let w = slot.load(Ordering::Acquire);
        if is_linked(w) {
            return slot;
        }
        assert_ne!(s, 0, "the head is linked from birth");
        if w != UNCLAIMED || !try_claim_sentinel(slot) {
            return self.write_start(parent_sentinel(s), guard);
        }
        // We own the claim: only we write the slot until it is reachable.
        let parent = self.write_start(parent_sentinel(s), guard);
        let reference = sentinel_word(s, parity);
        loop {
            // SAFETY: `parent` is a linked sentinel of the current state,
            // before `s` in split order.
            let pos = unsafe { search::<E, _>(parent, s, &mut |_| Match::NotEqual, self, guard) };
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
