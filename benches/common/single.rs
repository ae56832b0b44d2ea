//! Single-thread adapters: each map runs a batch of one kind of operation,
//! so every map can use its fast path (the pinned ones pin once per
//! `BATCH`). Shared by `benches/single_thread.rs` and `examples/bench_table.rs`.

use std::collections::HashMap;
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::{hasher, scramble, Hasher};

/// Entries in the map that gets run against.
pub const GET_MAP_LEN: usize = 1 << 17;
/// Operations per pin for the pinned variants.
pub const BATCH: usize = 1024;
/// Entries inserted (into an empty map) or removed (down to empty) per iteration.
pub const WRITE_LEN: usize = 10_000;

/// A map measured here: batch operations so each one can use its fast path.
pub trait SingleMap {
    const NAME: &'static str;
    fn new_map() -> Self;
    fn insert_all(&mut self, keys: &[u64]);
    fn get_all(&self, keys: &[u64]) -> u64;
    fn remove_all(&mut self, keys: &[u64]) -> u64;
}

pub type Std = HashMap<u64, u64, Hasher>;
pub struct MutexStd(pub Mutex<Std>);
pub struct Split(pub splitmap::SplitMap<u64, u64, Hasher>);
pub struct SplitPinned(pub splitmap::SplitMap<u64, u64, Hasher>);
pub struct Papaya(pub papaya::HashMap<u64, u64, Hasher>);
pub struct Dash(pub dashmap::DashMap<u64, u64, Hasher>);
pub struct Scc(pub scc::HashMap<u64, u64, Hasher>);

impl SingleMap for Std {
    const NAME: &'static str = "std HashMap (no lock)";
    fn new_map() -> Self {
        HashMap::with_hasher(hasher())
    }
    fn insert_all(&mut self, keys: &[u64]) {
        for &k in keys {
            self.insert(k, k);
        }
    }
    fn get_all(&self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.get(k).copied().unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
    fn remove_all(&mut self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.remove(k).unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
}

impl SingleMap for MutexStd {
    const NAME: &'static str = "Mutex<HashMap>";
    fn new_map() -> Self {
        MutexStd(Mutex::new(HashMap::with_hasher(hasher())))
    }
    fn insert_all(&mut self, keys: &[u64]) {
        for &k in keys {
            self.0.lock().unwrap().insert(k, k);
        }
    }
    fn get_all(&self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.lock().unwrap().get(k).copied().unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
    fn remove_all(&mut self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.lock().unwrap().remove(k).unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
}

impl SingleMap for Split {
    const NAME: &'static str = "SplitMap";
    fn new_map() -> Self {
        Split(splitmap::SplitMap::with_hasher(hasher()))
    }
    fn insert_all(&mut self, keys: &[u64]) {
        for &k in keys {
            self.0.insert(k, k);
        }
    }
    fn get_all(&self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.get(k).unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
    fn remove_all(&mut self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.remove(k).map_or(1, |v| *v))
            .fold(0, u64::wrapping_add)
    }
}

impl SingleMap for SplitPinned {
    const NAME: &'static str = "SplitMap (pinned)";
    fn new_map() -> Self {
        SplitPinned(splitmap::SplitMap::with_hasher(hasher()))
    }
    fn insert_all(&mut self, keys: &[u64]) {
        for batch in keys.chunks(BATCH) {
            let m = self.0.pin();
            for &k in batch {
                m.insert(k, k);
            }
        }
    }
    fn get_all(&self, keys: &[u64]) -> u64 {
        keys.chunks(BATCH)
            .map(|batch| {
                let m = self.0.pin();
                batch
                    .iter()
                    .map(|k| m.get(k).copied().unwrap_or(1))
                    .fold(0u64, u64::wrapping_add)
            })
            .fold(0, u64::wrapping_add)
    }
    fn remove_all(&mut self, keys: &[u64]) -> u64 {
        keys.chunks(BATCH)
            .map(|batch| {
                let m = self.0.pin();
                batch
                    .iter()
                    .map(|k| m.remove(k).copied().unwrap_or(1))
                    .fold(0u64, u64::wrapping_add)
            })
            .fold(0, u64::wrapping_add)
    }
}

impl SingleMap for Papaya {
    const NAME: &'static str = "papaya (pinned)";
    fn new_map() -> Self {
        Papaya(papaya::HashMap::builder().hasher(hasher()).build())
    }
    fn insert_all(&mut self, keys: &[u64]) {
        for batch in keys.chunks(BATCH) {
            let m = self.0.pin();
            for &k in batch {
                m.insert(k, k);
            }
        }
    }
    fn get_all(&self, keys: &[u64]) -> u64 {
        keys.chunks(BATCH)
            .map(|batch| {
                let m = self.0.pin();
                batch
                    .iter()
                    .map(|k| m.get(k).copied().unwrap_or(1))
                    .fold(0u64, u64::wrapping_add)
            })
            .fold(0, u64::wrapping_add)
    }
    fn remove_all(&mut self, keys: &[u64]) -> u64 {
        keys.chunks(BATCH)
            .map(|batch| {
                let m = self.0.pin();
                batch
                    .iter()
                    .map(|k| m.remove(k).copied().unwrap_or(1))
                    .fold(0u64, u64::wrapping_add)
            })
            .fold(0, u64::wrapping_add)
    }
}

impl SingleMap for Dash {
    const NAME: &'static str = "dashmap";
    fn new_map() -> Self {
        Dash(dashmap::DashMap::with_hasher(hasher()))
    }
    fn insert_all(&mut self, keys: &[u64]) {
        for &k in keys {
            self.0.insert(k, k);
        }
    }
    fn get_all(&self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.get(k).map(|v| *v).unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
    fn remove_all(&mut self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.remove(k).map(|e| e.1).unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
}

impl SingleMap for Scc {
    const NAME: &'static str = "scc";
    fn new_map() -> Self {
        Scc(scc::HashMap::with_hasher(hasher()))
    }
    fn insert_all(&mut self, keys: &[u64]) {
        for &k in keys {
            let _ = self.0.insert_sync(k, k);
        }
    }
    fn get_all(&self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.read_sync(k, |_, v| *v).unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
    fn remove_all(&mut self, keys: &[u64]) -> u64 {
        keys.iter()
            .map(|k| self.0.remove_sync(k).map(|e| e.1).unwrap_or(1))
            .fold(0, u64::wrapping_add)
    }
}

/// Keys shared by every map: present ones (even ranks), absent ones (odd
/// ranks). `hit` and `miss` are every present / absent key in a random order,
/// so a get run touches the whole map (a small repeated probe set would sit
/// in L1/L2 and hide each map's cache misses).
pub struct Keys {
    pub present: Vec<u64>,
    pub hit: Vec<u64>,
    pub miss: Vec<u64>,
    pub write: Vec<u64>,
}

impl Keys {
    pub fn new() -> Self {
        Self::with_len(GET_MAP_LEN)
    }

    /// Keys for a map of `len` entries (the probes in random order).
    pub fn with_len(len: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(7);
        let present: Vec<u64> = (0..len as u64).map(|i| scramble(2 * i)).collect();
        let mut hit = present.clone();
        hit.shuffle(&mut rng);
        let mut miss: Vec<u64> = (0..len as u64).map(|i| scramble(2 * i + 1)).collect();
        miss.shuffle(&mut rng);
        let write = (0..WRITE_LEN as u64)
            .map(|i| scramble(i + (1 << 40)))
            .collect();
        Keys {
            present,
            hit,
            miss,
            write,
        }
    }
}
