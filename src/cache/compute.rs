//! `compute` and `update` on a cache (moka's `entry().and_compute_with`):
//! a closure decides on the live value, and the decision is applied only if
//! that value is still the key's entry.
//!
//! Each round reads the key's live entry, asks the closure, and applies
//! the decision with one CAS *conditional on that entry* (the probes match
//! it by address: `CacheKey::only`, `SameEntry`): a replacement or removal
//! of exactly the entry the closure saw, or an insert only if the key is
//! still absent (`try_insert`). If another write got there first, the
//! round starts again and the closure runs again on the new value, so the
//! closure may run more than once (as in `SplitMap::compute`). The entry
//! that leaves is reported (`Replaced`, `Removed`) by the round that took
//! it out, once.

use super::entry::{CacheKey, CacheProbe, SameEntry};
use super::evict;
use super::listener::RemovalCause;
use super::SplitCache;
use crate::guarded::Guarded;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};

/// What a [`compute`](SplitCache::compute) closure decides (moka's
/// `ops::compute::Op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op<V> {
    /// Leave the key as it is.
    Nop,
    /// Store this value (insert, or replace the value the closure saw).
    Put(V),
    /// Remove the value the closure saw (nothing if there was none).
    Remove,
}

/// What [`compute`](SplitCache::compute) did (moka's `CompResult`). The
/// references hold an epoch pin, like every [`Guarded`].
pub enum CompResult<'c, V> {
    /// The key had no live value; this one was inserted.
    Inserted(Guarded<'c, V>),
    /// The value the closure saw was replaced by this one (the old one was
    /// reported to the listener as `Replaced`).
    ReplacedWith(Guarded<'c, V>),
    /// This value was removed (reported as `Removed`).
    Removed(Guarded<'c, V>),
    /// The closure chose [`Op::Nop`]; this is the value it saw.
    Unchanged(Guarded<'c, V>),
    /// The key had no live value and still has none.
    StillNone,
}

impl<V> CompResult<'_, V> {
    /// The value stored or removed, or the one left unchanged (`None` for
    /// `StillNone`).
    pub fn value(&self) -> Option<&V> {
        match self {
            CompResult::Inserted(v)
            | CompResult::ReplacedWith(v)
            | CompResult::Removed(v)
            | CompResult::Unchanged(v) => Some(v),
            CompResult::StillNone => None,
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for CompResult<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompResult::Inserted(v) => f.debug_tuple("Inserted").field(v).finish(),
            CompResult::ReplacedWith(v) => f.debug_tuple("ReplacedWith").field(v).finish(),
            CompResult::Removed(v) => f.debug_tuple("Removed").field(v).finish(),
            CompResult::Unchanged(v) => f.debug_tuple("Unchanged").field(v).finish(),
            CompResult::StillNone => f.write_str("StillNone"),
        }
    }
}

/// Which [`CompResult`] a round produced (the entry travels in the
/// `Guarded`).
enum Done {
    Inserted,
    Replaced,
    Removed,
    Unchanged,
}

impl<K, V, S> SplitCache<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    /// Decides what happens to `key` from its live value: `f(Some(&v))` or
    /// `f(None)` returns [`Op::Put`], [`Op::Remove`] or [`Op::Nop`], and
    /// the decision is applied only if that value (or its absence) is still
    /// current; else `f` runs again on the new one. moka's
    /// `entry(k).and_compute_with(f)`, without a lock: `f` may run more
    /// than once, so keep it free of side effects.
    ///
    /// A stored value gets the cache's time to live (or the expiry
    /// policy's create or update answer) and may evict; a replaced value
    /// is reported as `Replaced`, a removed one as `Removed`. Does not count
    /// as a read.
    ///
    /// # Examples
    /// ```
    /// use splitmap::cache::{CompResult, Op};
    /// let cache: splitmap::SplitCache<&str, u32> = splitmap::SplitCache::new(10);
    /// let bump = |v: Option<&u32>| Op::Put(v.map_or(1, |n| n + 1));
    /// assert!(matches!(cache.compute("hits", bump), CompResult::Inserted(v) if *v == 1));
    /// assert!(matches!(cache.compute("hits", bump), CompResult::ReplacedWith(v) if *v == 2));
    /// let r = cache.compute("hits", |v| if v == Some(&2) { Op::Remove } else { Op::Nop });
    /// assert!(matches!(r, CompResult::Removed(v) if *v == 2));
    /// assert!(matches!(cache.compute("hits", |_| Op::Nop), CompResult::StillNone));
    /// ```
    #[doc(alias = "and_compute_with")]
    pub fn compute(&self, key: K, mut f: impl FnMut(Option<&V>) -> Op<V>) -> CompResult<'_, V> {
        let op = self.begin();
        let ctx = self.core.ctx();
        let hash = self.core.hash(&key);
        let mut key = Some(key);
        let done = Guarded::pin_with(&self.core, |core, guard| loop {
            let k = key.as_ref().expect("the key is ours until stored");
            let mut probe = CacheProbe::new(k, op.now, ctx.tti);
            let current = core.get(hash, &mut probe, guard);
            match (current, f(current.map(|e| &e.value))) {
                (None, Op::Nop | Op::Remove) => return None,
                (Some(e), Op::Nop) => return Some((e, Done::Unchanged)),
                (None, Op::Put(value)) => {
                    let k = key.take().expect("ours");
                    let mut owned = CacheKey::new(k, hash, ctx, op.now, ctx.ttl);
                    match core.try_insert(hash, &mut owned, value, guard) {
                        Ok(new) => {
                            ctx.floor.note(owned.made_deadline());
                            ctx.counters.inserted(owned.made_weight());
                            ctx.counters.accessed(new.fp);
                            evict::enforce_bound(core, guard, Some((new, hash)));
                            return Some((new, Done::Inserted));
                        }
                        // Another write inserted first: decide again.
                        Err(_) => key = owned.into_key(),
                    }
                }
                (Some(old), Op::Put(value)) => {
                    let k = key.take().expect("ours");
                    let mut owned = CacheKey::new(k, hash, ctx, op.now, ctx.ttl).only(old);
                    let mut value = Some(value);
                    // The closure below answers `None` to "absent" (another
                    // entry of the key, or none: `only`), so the core never
                    // inserts here; it runs once with `Some` (the CAS on
                    // `old` is retried without deciding again).
                    let stored = core.compute(
                        hash,
                        &mut owned,
                        |cur| {
                            debug_assert!(cur.is_none() || value.is_some(), "decided twice");
                            cur.and(value.take())
                        },
                        guard,
                    );
                    match stored {
                        Some(new) => {
                            ctx.floor.note(owned.made_deadline());
                            ctx.counters.replaced_by(owned.made_weight());
                            ctx.report_departure(old, RemovalCause::Replaced);
                            ctx.counters.accessed(new.fp);
                            if ctx.weigher.is_some() {
                                evict::enforce_bound(core, guard, None);
                            }
                            return Some((new, Done::Replaced));
                        }
                        // `old` left meanwhile: decide again.
                        None => key = owned.into_key(),
                    }
                }
                (Some(old), Op::Remove) => {
                    let mut same = SameEntry::new(old, op.now, ctx.tti);
                    if let Some(gone) = core.remove_if(hash, &mut same, |_| true, guard) {
                        ctx.report_departure(gone, RemovalCause::Removed);
                        return Some((gone, Done::Removed));
                    }
                }
            }
        });
        op.finish();
        match done {
            None => CompResult::StillNone,
            Some((v, Done::Inserted)) => CompResult::Inserted(v),
            Some((v, Done::Replaced)) => CompResult::ReplacedWith(v),
            Some((v, Done::Removed)) => CompResult::Removed(v),
            Some((v, Done::Unchanged)) => CompResult::Unchanged(v),
        }
    }

    /// Replaces the live value of `key` with `f(&old)` (the old one is
    /// reported as `Replaced`) and returns the new one; `None`, and `f`
    /// not run, if the key has no live value. Like
    /// [`compute`](Self::compute), conditional on the value `f` saw: `f`
    /// may run more than once.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<String, u32> = splitmap::SplitCache::new(10);
    /// cache.insert("a".to_string(), 1);
    /// assert_eq!(cache.update("a", |n| n + 10).as_deref(), Some(&11));
    /// assert!(cache.update("b", |n| n + 10).is_none());
    /// ```
    pub fn update<Q>(&self, key: &Q, mut f: impl FnMut(&V) -> V) -> Option<Guarded<'_, V>>
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
    {
        let owned = {
            let guard = crate::sync::pin();
            let ctx = self.core.ctx();
            let mut probe = CacheProbe::new(key, ctx.clock.now(), ctx.tti);
            self.core
                .get(self.core.hash(key), &mut probe, &guard)?
                .key
                .clone()
        };
        match self.compute(owned, |cur| cur.map_or(Op::Nop, |v| Op::Put(f(v)))) {
            CompResult::ReplacedWith(v) => Some(v),
            _ => None,
        }
    }
}
