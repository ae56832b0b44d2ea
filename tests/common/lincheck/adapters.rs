//! Adapters from splitmap's two layers and from `SplitCache` to
//! [`SingleKeyMap`]: owned `Option<u64>` results, one pin per call. Shared
//! by `tests/linearizability.rs`, `tests/linearizability_multikey.rs` and
//! `tests/chaos_short.rs`.

use super::{MultiKeyMap, SingleKeyMap};
use splitmap::{SplitCache, SplitMap};
use std::cell::Cell;
use std::hash::BuildHasher;
use std::time::Duration;

/// `SplitMap` through the pinned layer (`map.pin()`, one pin per call).
pub struct Pinned<S>(pub SplitMap<u64, u64, S>);

impl<S: BuildHasher + Sync> SingleKeyMap for Pinned<S> {
    fn get(&self, key: usize) -> Option<u64> {
        self.0.pin().get(&(key as u64)).copied()
    }
    fn insert(&self, key: usize, value: u64) -> Option<u64> {
        self.0.pin().insert(key as u64, value).copied()
    }
    fn remove(&self, key: usize) -> Option<u64> {
        self.0.pin().remove(&(key as u64)).copied()
    }
    fn update(&self, key: usize, delta: u64) -> Option<u64> {
        self.0.pin().update(&(key as u64), |v| v + delta).copied()
    }
    fn compute(&self, key: usize, init: u64, delta: u64) -> Option<u64> {
        let f = |v: Option<&u64>| Some(v.map_or(init, |x| x + delta));
        self.0.pin().compute(key as u64, f).copied()
    }
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64 {
        *self.0.pin().get_or_insert_with(key as u64, || value)
    }
    fn contains_key(&self, key: usize) -> bool {
        self.0.pin().contains_key(&(key as u64))
    }
}

/// `SplitMap` through the guard-free layer (`map.insert(..)` etc.): writes
/// hand back `Guarded` references, read here before they are dropped.
pub struct GuardFree<S>(pub SplitMap<u64, u64, S>);

impl<S: BuildHasher + Sync> SingleKeyMap for GuardFree<S> {
    fn get(&self, key: usize) -> Option<u64> {
        self.0.get(&(key as u64))
    }
    fn insert(&self, key: usize, value: u64) -> Option<u64> {
        self.0.insert(key as u64, value).map(|v| *v)
    }
    fn remove(&self, key: usize) -> Option<u64> {
        self.0.remove(&(key as u64)).map(|v| *v)
    }
    fn update(&self, key: usize, delta: u64) -> Option<u64> {
        self.0.update(&(key as u64), |v| v + delta).map(|v| *v)
    }
    fn compute(&self, key: usize, init: u64, delta: u64) -> Option<u64> {
        self.0
            .compute(key as u64, |v| Some(v.map_or(init, |x| x + delta)))
            .map(|v| *v)
    }
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64 {
        *self.0.get_or_insert_with(key as u64, || value)
    }
    fn contains_key(&self, key: usize) -> bool {
        self.0.contains_key(&(key as u64))
    }
}

/// `SplitCache` as a map: built with no expiry and no bound, or with a
/// time to live and to idle long enough never to fire and a bound never
/// reached, it must behave exactly as a map (README: the cache is built on
/// the same core). Each thread alternates between the cache's two ways of
/// doing a read (`get`, `get_with`) and an insert (`insert`,
/// `insert_with_ttl` with a long TTL). It has no `update` or `compute`:
/// its workloads give them no weight.
pub struct Cache<S>(pub SplitCache<u64, u64, S>);

/// A TTL no test outlives.
pub const LONG_TTL: Duration = Duration::from_secs(3600);

thread_local! {
    /// Calls made by this thread, to alternate between equivalent calls.
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

/// Whether this call is an odd one of the calling thread.
fn odd_call() -> bool {
    CALLS.with(|c| {
        c.set(c.get() + 1);
        c.get() % 2 == 1
    })
}

impl<S: BuildHasher + Sync> SingleKeyMap for Cache<S> {
    fn get(&self, key: usize) -> Option<u64> {
        let key = key as u64;
        if odd_call() {
            self.0.get(&key)
        } else {
            self.0.with_value(&key, |v| *v)
        }
    }
    fn insert(&self, key: usize, value: u64) -> Option<u64> {
        let key = key as u64;
        if odd_call() {
            self.0.insert(key, value).map(|v| *v)
        } else {
            self.0.insert_with_ttl(key, value, LONG_TTL).map(|v| *v)
        }
    }
    fn remove(&self, key: usize) -> Option<u64> {
        self.0.remove(&(key as u64)).map(|v| *v)
    }
    fn update(&self, _key: usize, _delta: u64) -> Option<u64> {
        unreachable!("SplitCache has no update: cache workloads give it weight 0")
    }
    fn compute(&self, _key: usize, _init: u64, _delta: u64) -> Option<u64> {
        unreachable!("SplitCache has no compute: cache workloads give it weight 0")
    }
    fn get_or_insert_with(&self, key: usize, value: u64) -> u64 {
        *self.0.get_or_insert_with(key as u64, || value)
    }
    fn contains_key(&self, key: usize) -> bool {
        self.0.contains_key(&(key as u64))
    }
}

/// Keys yielded by a walk, as the round's key indexes.
fn pairs<'a>(walk: impl Iterator<Item = (&'a u64, &'a u64)>) -> Vec<(usize, u64)> {
    walk.map(|(&k, &v)| (k as usize, v)).collect()
}

/// `x % modulus == rem`: the entries `MultiKeyMap::retain` drops.
fn drops(x: u64, modulus: u64, rem: u64) -> bool {
    x % modulus == rem
}

impl<S: BuildHasher + Sync> MultiKeyMap for GuardFree<S> {
    /// `snapshot().iter()`, and a `retain` that keeps everything (its walk).
    const WALKS: usize = 2;
    fn walk(&self, flavour: usize) -> Vec<(usize, u64)> {
        match flavour {
            0 => pairs(self.0.snapshot().iter()),
            _ => {
                let mut seen = Vec::new();
                let removed = self.0.retain(|&k, &v| {
                    seen.push((k as usize, v));
                    true
                });
                assert_eq!(removed, 0, "a retain that keeps everything removed some");
                seen
            }
        }
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn retain(&self, modulus: u64, rem: u64) -> usize {
        self.0.retain(|_, &v| !drops(v, modulus, rem))
    }
    fn clear(&self) {
        self.0.clear();
    }
}

impl<S: BuildHasher + Sync> MultiKeyMap for Pinned<S> {
    /// `pin().iter()`, and `pin().retain` keeping everything (its walk).
    const WALKS: usize = 2;
    fn walk(&self, flavour: usize) -> Vec<(usize, u64)> {
        match flavour {
            0 => pairs(self.0.pin().iter()),
            _ => {
                let mut seen = Vec::new();
                let removed = self.0.pin().retain(|&k, &v| {
                    seen.push((k as usize, v));
                    true
                });
                assert_eq!(removed, 0, "a retain that keeps everything removed some");
                seen
            }
        }
    }
    fn len(&self) -> usize {
        self.0.pin().len()
    }
    fn is_empty(&self) -> bool {
        self.0.pin().is_empty()
    }
    fn retain(&self, modulus: u64, rem: u64) -> usize {
        self.0.pin().retain(|_, &v| !drops(v, modulus, rem))
    }
    fn clear(&self) {
        self.0.pin().clear();
    }
}

impl<S: BuildHasher + Sync> MultiKeyMap for Cache<S> {
    /// The cache has no iterator: its walk is a `retain` that keeps
    /// everything.
    const WALKS: usize = 1;
    fn walk(&self, _flavour: usize) -> Vec<(usize, u64)> {
        let mut seen = Vec::new();
        let removed = self.0.retain(|&k, &v| {
            seen.push((k as usize, v));
            true
        });
        assert_eq!(removed, 0, "a retain that keeps everything removed some");
        seen
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn retain(&self, modulus: u64, rem: u64) -> usize {
        self.0.retain(|_, &v| !drops(v, modulus, rem))
    }
    fn clear(&self) {
        self.0.clear();
    }
}
