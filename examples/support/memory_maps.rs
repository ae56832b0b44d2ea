//! The maps the memory examples compare, behind one small trait: how to
//! build each with the shared fixed-seed hasher, insert, remove, and call
//! its own "give memory back" method. Included by `leak_demo` and
//! `memory_table` with `#[path = "support/memory_maps.rs"] mod memory_maps;`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

/// The hasher every map uses: foldhash with a fixed seed.
pub(crate) type H = foldhash::fast::FixedState;
const SEED: u64 = 0x5EED_0000_5A17_0001;

pub(crate) fn hasher() -> H {
    foldhash::fast::FixedState::with_seed(SEED)
}

/// The operations the measurement needs, per map.
pub(crate) trait MemoryMap: Send + Sync {
    fn new_map() -> Self;
    fn ins(&self, k: u64);
    fn del(&self, k: u64);
    /// The map's own "give memory back" call, if it has one.
    fn reclaim_call(&self);
    /// Internal accounting, if the map reports any (printed under the table).
    fn detail(&self) -> String {
        String::new()
    }
}

impl MemoryMap for splitmap::SplitMap<u64, u64, H> {
    fn new_map() -> Self {
        splitmap::SplitMap::with_hasher(hasher())
    }
    fn ins(&self, k: u64) {
        self.insert(k, k);
    }
    fn del(&self, k: u64) {
        self.remove(&k);
    }
    fn reclaim_call(&self) {
        self.shrink_to_fit();
        self.reclaim();
    }
    fn detail(&self) -> String {
        let s = self.stats();
        format!(
            "heap_bytes {} = nodes {} + directory {} + retired {} ({} awaiting) + fixed {}; buckets {}, marked_linked {}",
            s.heap_bytes,
            s.node_bytes,
            s.directory_bytes,
            s.retired_bytes,
            s.retired_awaiting,
            s.fixed_bytes,
            s.buckets,
            s.marked_linked
        )
    }
}

impl MemoryMap for Mutex<HashMap<u64, u64, H>> {
    fn new_map() -> Self {
        Mutex::new(HashMap::with_hasher(hasher()))
    }
    fn ins(&self, k: u64) {
        self.lock().unwrap().insert(k, k);
    }
    fn del(&self, k: u64) {
        self.lock().unwrap().remove(&k);
    }
    fn reclaim_call(&self) {
        self.lock().unwrap().shrink_to_fit();
    }
}

impl MemoryMap for dashmap::DashMap<u64, u64, H> {
    fn new_map() -> Self {
        dashmap::DashMap::with_hasher(hasher())
    }
    fn ins(&self, k: u64) {
        self.insert(k, k);
    }
    fn del(&self, k: u64) {
        self.remove(&k);
    }
    fn reclaim_call(&self) {
        self.shrink_to_fit();
    }
}

impl MemoryMap for scc::HashMap<u64, u64, H> {
    fn new_map() -> Self {
        scc::HashMap::with_hasher(hasher())
    }
    fn ins(&self, k: u64) {
        let _ = self.upsert_sync(k, k);
    }
    fn del(&self, k: u64) {
        self.remove_sync(&k);
    }
    fn reclaim_call(&self) {
        for _ in 0..4 {
            scc::Guard::new().accelerate();
        }
    }
}

impl MemoryMap for papaya::HashMap<u64, u64, H> {
    fn new_map() -> Self {
        papaya::HashMap::builder().hasher(hasher()).build()
    }
    fn ins(&self, k: u64) {
        self.pin().insert(k, k);
    }
    fn del(&self, k: u64) {
        self.pin().remove(&k);
    }
    fn reclaim_call(&self) {}
}

/// The expiring cache, used as the leak scenario's request map: each request
/// is written with a time to live (10 s, a backstop for requests that never
/// complete) and removed when it completes, like the maps above.
impl MemoryMap for splitmap::SplitCache<u64, u64, H> {
    fn new_map() -> Self {
        splitmap::SplitCache::builder()
            .time_to_live(std::time::Duration::from_secs(10))
            .build_with_hasher(hasher())
    }
    fn ins(&self, k: u64) {
        self.insert(k, k);
    }
    fn del(&self, k: u64) {
        self.remove(&k);
    }
    fn reclaim_call(&self) {
        self.run_pending_tasks();
    }
    fn detail(&self) -> String {
        let s = self.stats();
        format!(
            "heap_bytes {} = nodes {} + directory {} + retired {}; expired {}, removed {}",
            s.map.heap_bytes,
            s.map.node_bytes,
            s.map.directory_bytes,
            s.map.retired_bytes,
            s.expired,
            s.removed
        )
    }
}
