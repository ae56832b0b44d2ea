//! `WeakCore`: the operations both weak-key maps share, written once over a
//! [`Probe`] (equality or identity). The public types only hash and pick the
//! probe. No unsafe code: everything goes through `RawMap`'s safe methods.

use super::entry::{arc_allocation_bytes, Probe, WeakEntry};
use super::WeakStats;
use crate::raw::node::Node;
use crate::raw::{Action, Outcome, RawMap};
use crate::sync::Guard;
use std::sync::Arc;

pub(crate) struct WeakCore<K, V, S> {
    pub(crate) raw: RawMap<WeakEntry<K, V>>,
    pub(crate) hasher: S,
}

impl<K, V, S> WeakCore<K, V, S> {
    pub(crate) fn new(log2: u32, load_factor: usize, hasher: S) -> Self {
        WeakCore {
            raw: RawMap::new(log2, load_factor),
            hasher,
        }
    }
}

impl<K, V, S> WeakCore<K, V, S>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    #[inline]
    pub(crate) fn get_in<'g>(
        &'g self,
        hash: u64,
        probe: &mut impl Probe<K>,
        guard: &'g Guard,
    ) -> Option<&'g WeakEntry<K, V>> {
        self.raw.get(hash, &mut |e| probe.probe(&e.key), guard)
    }

    /// Inserts or replaces (value and stored key). Returns the old value.
    pub(crate) fn insert_in<'g>(
        &'g self,
        hash: u64,
        key: &Arc<K>,
        value: V,
        probe: &mut impl Probe<K>,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        // The entry stays here until `decide` moves it into a node; after a
        // failed publication the raw map hands it back as `pending`. The
        // matcher needs neither: the probe holds the caller's key.
        let mut home = Some(WeakEntry::new(key, value));
        let outcome = self.raw.compute(
            hash,
            &mut |e, _| probe.probe(&e.key),
            &mut |_, pending| {
                Action::Put(pending.unwrap_or_else(|| home.take().expect("entry moved once")))
            },
            guard,
        );
        match outcome {
            Outcome::Replaced { old, .. } => Some(&old.value),
            _ => None,
        }
    }

    pub(crate) fn remove_in<'g>(
        &'g self,
        hash: u64,
        probe: &mut impl Probe<K>,
        guard: &'g Guard,
    ) -> Option<&'g WeakEntry<K, V>> {
        let outcome = self.raw.compute(
            hash,
            &mut |e, _| probe.probe(&e.key),
            &mut |cur, _| {
                if cur.is_some() {
                    Action::Remove
                } else {
                    Action::Keep
                }
            },
            guard,
        );
        match outcome {
            Outcome::Removed(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn update_in<'g>(
        &'g self,
        hash: u64,
        probe: &mut impl Probe<K>,
        mut f: impl FnMut(&V) -> V,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        let outcome = self.raw.compute(
            hash,
            &mut |e, _| probe.probe(&e.key),
            &mut |cur, _| match cur {
                Some(e) => Action::Put(WeakEntry {
                    key: e.key.clone(),
                    value: f(&e.value),
                }),
                None => Action::Keep,
            },
            guard,
        );
        match outcome {
            Outcome::Replaced { new, .. } => Some(&new.value),
            _ => None,
        }
    }

    pub(crate) fn get_or_insert_with_in<'g>(
        &'g self,
        hash: u64,
        key: &Arc<K>,
        probe: &mut impl Probe<K>,
        f: impl FnOnce() -> V,
        guard: &'g Guard,
    ) -> &'g V {
        let mut make = Some(f);
        let outcome =
            self.raw.compute(
                hash,
                &mut |e, _| probe.probe(&e.key),
                &mut |cur, pending| match cur {
                    Some(_) => Action::Keep,
                    None => Action::Put(pending.unwrap_or_else(|| {
                        WeakEntry::new(key, (make.take().expect("f runs once"))())
                    })),
                },
                guard,
            );
        match outcome {
            Outcome::Unchanged(Some(e)) | Outcome::Inserted(e) => &e.value,
            _ => unreachable!("get_or_insert_with only keeps or inserts"),
        }
    }

    /// Removes live entries `keep` rejects, and dead ones. Each upgraded key
    /// is held until `keep` has been asked about the next entry, so a key
    /// whose last `Arc` we hold dies after we are done with its entry.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool, guard: &Guard) -> usize {
        let mut held: Option<Arc<K>> = None;
        let removed = self.raw.retain(
            |e| match e.key.upgrade() {
                None => false,
                Some(k) => {
                    let kept = keep(&k, &e.value);
                    held = Some(k);
                    kept
                }
            },
            guard,
        );
        drop(held);
        removed
    }

    /// Purges, then shrinks the directory. A purge can empty a big map at
    /// once, leaving a backlog of deferred frees queued ahead of the
    /// shrink's grace closure; so this first frees the purged nodes, then
    /// repeats the raw `shrink_to_fit` (which gives up after a bounded number
    /// of epoch pushes) while it makes progress (bounded).
    pub(crate) fn shrink_to_fit(&self) {
        {
            let guard = crate::sync::pin();
            let _ = self.raw.compact(&guard);
        }
        self.raw.reclaim();
        let mut last = usize::MAX;
        for _ in 0..32 {
            self.raw.shrink_to_fit();
            let s = self.raw.raw_stats();
            if !s.shrink_pending && s.buckets >= last {
                return;
            }
            last = s.buckets;
        }
    }

    /// Exact figures from a walk over the list.
    pub(crate) fn weak_stats(&self, guard: &Guard) -> WeakStats {
        let mut live = 0;
        let mut dead = 0;
        for (_, e) in self.raw.iter(guard) {
            if e.key.strong_count() == 0 {
                dead += 1;
            } else {
                live += 1;
            }
        }
        WeakStats {
            stats: self.raw.raw_stats().into(),
            live,
            dead,
            dead_node_bytes: dead * Node::<WeakEntry<K, V>>::SIZE,
            dead_key_bytes: dead * arc_allocation_bytes::<K>(),
        }
    }
}
