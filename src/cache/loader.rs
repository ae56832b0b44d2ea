//! De-duplicated loading: one loader per key at a time, its value handed to
//! the callers of that key that arrived while it ran.
//!
//! A cache keeps a second, small lock-free map beside its entries: the
//! *loads in progress*, one placeholder per key being loaded, each holding a
//! [`Slot`] (a `Mutex` + `Condvar` pair) that the loader fills and its
//! waiters read. The placeholder map is a [`Core`] of its own entry kind
//! ([`LoadEntry`]: a key and an `Arc` of its slot; it never dies), keyed by
//! the cache's own hash of the key, so no second hasher runs.
//!
//! ## The protocol (`SplitCache::load` drives it)
//! 1. Read the cache: a live value is returned (a hit).
//! 2. *Claim* the key: insert a placeholder with a fresh slot if none is
//!    there (`try_insert`, one CAS). Whoever's placeholder is in the map
//!    owns the load; a caller that finds another's *joins* it: it clones
//!    the slot's `Arc` under its pin, unpins, and waits on the slot (a
//!    waiter never holds an epoch pin while it blocks, so it holds back
//!    no reclamation).
//! 3. The owner reads the cache again before it loads: a load that ended
//!    between steps 1 and 2 left its value there (it stores the value
//!    before it takes its placeholder out), so at most one load runs per
//!    value.
//! 4. The owner runs the loader, stores a value in the cache (if the key
//!    has none by then; else the one there is everyone's answer), fills
//!    the slot, wakes the waiters, and takes its placeholder out (by
//!    identity: only its own).
//! 5. A loader that panics fills the slot with `Abandoned` from a drop
//!    guard as the panic unwinds, wakes the waiters and takes the
//!    placeholder out; each waiter then starts again at step 1 (one of them
//!    becomes the next owner and runs its own loader). An error or `None`
//!    is handed to the waiters that asked for that kind of result (the
//!    same error type, or the optional form), and is never cached; a
//!    waiter of another kind starts again.
//!
//! Other keys never wait: the placeholder map is lock-free, and a slot is
//! shared only by callers of one key (the placeholder compares keys, so two
//! keys with one hash have two slots).
//!
//! ## What this module must never do
//! Wait for anything but a slot of the key asked for, or hold a pin while
//! waiting.

use crate::ops::entry_kind::{Entry, Match, OwnedKey, Probe, RawEntry};
use crate::ops::Core;
use crate::sync::{pin, Arc, AtomicUsize, Condvar, Mutex, Ordering};
use core::any::Any;
use core::borrow::Borrow;
use core::fmt;

/// What a load ended with, as its waiters see it.
pub(crate) enum Outcome<V> {
    /// Still running.
    Loading,
    /// The value now in the cache.
    Value(V),
    /// The loader's error (an `Arc<E>`, typed by the waiter that asks).
    Error(std::sync::Arc<dyn Any + Send + Sync>),
    /// The optional loader returned `None`.
    Nothing,
    /// The loader panicked: start again.
    Abandoned,
}

impl<V: Clone> Clone for Outcome<V> {
    fn clone(&self) -> Self {
        match self {
            Outcome::Loading => Outcome::Loading,
            Outcome::Value(v) => Outcome::Value(v.clone()),
            Outcome::Error(e) => Outcome::Error(std::sync::Arc::clone(e)),
            Outcome::Nothing => Outcome::Nothing,
            Outcome::Abandoned => Outcome::Abandoned,
        }
    }
}

/// Where one load's outcome meets its waiters.
pub(crate) struct Slot<V> {
    outcome: Mutex<Outcome<V>>,
    ready: Condvar,
}

impl<V> Slot<V> {
    fn new() -> Self {
        Slot {
            outcome: Mutex::new(Outcome::Loading),
            ready: Condvar::new(),
        }
    }

    /// Sets the outcome (once) and wakes every waiter.
    pub(crate) fn finish(&self, outcome: Outcome<V>) {
        let mut slot = self
            .outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*slot, Outcome::Loading) {
            *slot = outcome;
        }
        drop(slot);
        self.ready.notify_all();
    }

    /// Blocks until the load ends; returns its outcome.
    fn wait(&self) -> Outcome<V>
    where
        V: Clone,
    {
        let mut slot = self
            .outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while matches!(*slot, Outcome::Loading) {
            slot = self
                .ready
                .wait(slot)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        slot.clone()
    }
}

/// A load in progress: the key and its slot.
pub(crate) struct LoadEntry<K, V> {
    key: K,
    slot: Arc<Slot<V>>,
}

impl<K: Eq, V> RawEntry for LoadEntry<K, V> {
    type Ctx = ();
    type Death = ();

    fn same_key(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<K: Eq, V> Entry for LoadEntry<K, V> {
    type Value = Arc<Slot<V>>;

    fn value(&self) -> &Arc<Slot<V>> {
        &self.slot
    }
}

/// A borrowed key, and optionally the one slot to match (removal by
/// identity).
struct LoadProbe<'a, Q: ?Sized, V> {
    key: &'a Q,
    only: Option<&'a Arc<Slot<V>>>,
}

impl<K, V, Q> Probe<LoadEntry<K, V>> for LoadProbe<'_, Q, V>
where
    K: Borrow<Q> + Eq,
    Q: Eq + ?Sized,
{
    fn probe(&mut self, stored: &LoadEntry<K, V>) -> Match<()> {
        let same_slot = self.only.map_or(true, |s| Arc::ptr_eq(s, &stored.slot));
        if stored.key.borrow() == self.key && same_slot {
            Match::Equal
        } else {
            Match::NotEqual
        }
    }
}

/// An owned key on its way into a placeholder.
struct LoadKey<K> {
    key: Option<K>,
}

impl<K: Eq, V> OwnedKey<LoadEntry<K, V>> for LoadKey<K> {
    fn probe(&mut self, stored: &LoadEntry<K, V>, pending: Option<&LoadEntry<K, V>>) -> Match<()> {
        let key = match pending {
            Some(p) => &p.key,
            None => self
                .key
                .as_ref()
                .expect("key is here or in the pending entry"),
        };
        crate::ops::entry_kind::match_if(stored.key == *key)
    }

    fn make(&mut self, slot: Arc<Slot<V>>) -> LoadEntry<K, V> {
        LoadEntry {
            key: self.key.take().expect("key moved into one entry at a time"),
            slot,
        }
    }

    fn restore(&mut self, pending: LoadEntry<K, V>) -> Arc<Slot<V>> {
        self.key = Some(pending.key);
        pending.slot
    }
}

/// Whose load a caller is in.
pub(crate) enum Claim<V> {
    /// The caller owns the load of this slot: it must end it with
    /// [`Loads::end`] (a [`LoadGuard`] does, on every path).
    Mine(Arc<Slot<V>>),
    /// Another caller owns it: wait on this slot.
    Theirs(Arc<Slot<V>>),
}

/// The loads in progress of one cache.
pub(crate) struct Loads<K, V> {
    core: Core<LoadEntry<K, V>, ()>,
    /// Callers waiting for another's load now (a figure for `stats`).
    waiting: AtomicUsize,
}

impl<K, V> Loads<K, V> {
    pub(crate) fn new() -> Self {
        Loads {
            core: Core::with_hasher(()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits for the load of `slot` to end; returns its outcome.
    pub(crate) fn wait(&self, slot: &Slot<V>) -> Outcome<V>
    where
        V: Clone,
    {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let outcome = slot.wait();
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        outcome
    }

    /// Callers waiting for a load now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Placeholders in the map now (loads in progress, or ones whose owner
    /// is between filling the slot and taking it out).
    pub(crate) fn len(&self) -> usize {
        self.core.len()
    }
}

impl<K, V> Loads<K, V>
where
    K: Eq + Send + 'static,
    V: Send + 'static,
{
    /// Claims the load of `key` (with the cache's `hash` of it), or joins
    /// the one in progress.
    pub(crate) fn claim(&self, hash: u64, key: K) -> Claim<V> {
        let mine = Arc::new(Slot::new());
        let guard = pin();
        let mut owned = LoadKey { key: Some(key) };
        match self
            .core
            .try_insert(hash, &mut owned, Arc::clone(&mine), &guard)
        {
            Ok(_) => Claim::Mine(mine),
            Err((theirs, _)) => Claim::Theirs(Arc::clone(&theirs.slot)),
        }
    }

    /// Ends the owner's load: fills `slot` with `outcome`, wakes its
    /// waiters, and takes the placeholder (this slot's only) out.
    pub(crate) fn end<Q>(&self, hash: u64, key: &Q, slot: &Arc<Slot<V>>, outcome: Outcome<V>)
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        slot.finish(outcome);
        let guard = pin();
        let mut probe = LoadProbe {
            key,
            only: Some(slot),
        };
        self.core.remove_if(hash, &mut probe, |_| true, &guard);
    }
}

/// Ends a load as `Abandoned` if its owner unwinds (the loader panicked)
/// before ending it.
pub(crate) struct LoadGuard<'a, K, V, Q: ?Sized>
where
    K: Borrow<Q> + Eq + Send + 'static,
    V: Send + 'static,
    Q: Eq,
{
    pub(crate) loads: &'a Loads<K, V>,
    pub(crate) hash: u64,
    pub(crate) key: &'a Q,
    pub(crate) slot: Option<Arc<Slot<V>>>,
}

impl<K, V, Q: ?Sized> LoadGuard<'_, K, V, Q>
where
    K: Borrow<Q> + Eq + Send + 'static,
    V: Send + 'static,
    Q: Eq,
{
    /// Ends the load with `outcome`.
    pub(crate) fn end(mut self, outcome: Outcome<V>) {
        if let Some(slot) = self.slot.take() {
            self.loads.end(self.hash, self.key, &slot, outcome);
        }
    }
}

impl<K, V, Q: ?Sized> Drop for LoadGuard<'_, K, V, Q>
where
    K: Borrow<Q> + Eq + Send + 'static,
    V: Send + 'static,
    Q: Eq,
{
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.loads
                .end(self.hash, self.key, &slot, Outcome::Abandoned);
        }
    }
}

impl<V> fmt::Debug for Slot<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}
