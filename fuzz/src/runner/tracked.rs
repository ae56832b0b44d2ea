//! Values that notice being dropped twice, and whether a value a reader still
//! holds a reference to has been dropped under it.
//!
//! Each run owns one [`Tracker`]; every [`Val`] (clones included) gets a
//! fresh id and records its drop there. The map's deferred destructors may
//! run later on any thread; they only touch the tracker through its `Arc`.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Drop records of one run.
#[derive(Debug, Default)]
pub struct Tracker {
    next_id: AtomicU64,
    dropped: Mutex<HashSet<u64>>,
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
        self.dropped.lock().unwrap().contains(&id)
    }

    /// Values created so far minus values dropped so far.
    pub fn live(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed) - self.dropped.lock().unwrap().len() as u64
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
        let fresh = self.tracker.dropped.lock().unwrap().insert(self.id);
        assert!(fresh, "value #{} (n = {}) dropped twice", self.id, self.n);
    }
}
