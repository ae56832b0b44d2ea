//! Values that notice being dropped twice, and whether a value a reader still
//! holds a reference to has been dropped under it.
//!
//! Each run owns one [`Tracker`]; every [`Val`] (clones included) gets a
//! fresh id and records its drop there. The map's deferred destructors may
//! run later on any thread; they only touch the tracker through its `Arc`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Drop records of one run.
#[derive(Debug, Default)]
pub struct Tracker {
    next_id: AtomicU64,
    /// One bit per id, set when that value is dropped (ids are dense from
    /// 0, so a bitset: every held reference is re-checked after every op,
    /// and a hashed set made those checks a tenth of the run's time).
    dropped: Mutex<Vec<u64>>,
    /// Bits set in `dropped`.
    dropped_count: AtomicU64,
}

impl Tracker {
    pub fn new() -> Arc<Self> {
        Arc::new(Tracker::default())
    }

    /// A new value `n` with a fresh id.
    pub fn val(self: &Arc<Self>, n: u32) -> Val {
        Val {
            n,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            tracker: Arc::clone(self),
        }
    }

    /// `true` if the value with this id has been dropped.
    pub fn is_dropped(&self, id: u64) -> bool {
        let (word, bit) = Self::bit(id);
        self.dropped
            .lock()
            .unwrap()
            .get(word)
            .is_some_and(|w| w & bit != 0)
    }

    /// Values created so far minus values dropped so far.
    pub fn live(&self) -> u64 {
        // Both counts only grow; reading the drops under the lock orders
        // them after every drop recorded so far.
        let dropped = {
            let _bits = self.dropped.lock().unwrap();
            self.dropped_count.load(Ordering::Relaxed)
        };
        self.next_id.load(Ordering::Relaxed) - dropped
    }

    /// Records the drop of `id`; false if it was already recorded.
    fn record_drop(&self, id: u64) -> bool {
        let (word, bit) = Self::bit(id);
        let mut bits = self.dropped.lock().unwrap();
        if bits.len() <= word {
            bits.resize(word + 1, 0);
        }
        let fresh = bits[word] & bit == 0;
        bits[word] |= bit;
        if fresh {
            self.dropped_count.fetch_add(1, Ordering::Relaxed);
        }
        fresh
    }

    fn bit(id: u64) -> (usize, u64) {
        ((id / 64) as usize, 1 << (id % 64))
    }
}

/// A map value: a number compared with the model, plus a drop record.
pub struct Val {
    pub n: u32,
    pub id: u64,
    tracker: Arc<Tracker>,
}

impl Val {
    /// Panics if this value (as seen through a reference into the map) was
    /// already dropped, or does not hold `expected`.
    pub fn assert_alive(&self, expected: u32, what: &str) {
        assert!(
            !self.tracker.is_dropped(self.id),
            "{what}: value #{} (n = {}) read after it was dropped",
            self.id,
            self.n
        );
        assert_eq!(self.n, expected, "{what}: value changed under a reference");
    }
}

impl Clone for Val {
    fn clone(&self) -> Self {
        self.tracker.val(self.n)
    }
}

impl PartialEq for Val {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.n, self.id)
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        let fresh = self.tracker.record_drop(self.id);
        assert!(fresh, "value #{} (n = {}) dropped twice", self.id, self.n);
    }
}
