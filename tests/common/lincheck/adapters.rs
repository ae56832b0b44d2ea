//! Adapters from splitmap's two layers to [`SingleKeyMap`]: owned
//! `Option<u64>` results, one pin per call. Shared by
//! `tests/linearizability.rs` and `tests/chaos_short.rs`.

use super::SingleKeyMap;
use splitmap::SplitMap;
use std::hash::BuildHasher;

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
}
