//! Drop-tracked values: every instance (clones included) gets a serial
//! number; a ledger records creations and drops and catches double drops.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Shared record of every `Tracked` created and dropped.
#[derive(Default)]
pub struct Ledger {
    next_serial: AtomicU64,
    created: AtomicUsize,
    dropped: AtomicUsize,
    /// One bit per serial: set when dropped.
    dropped_bits: Mutex<Vec<u64>>,
}

impl Ledger {
    pub fn new() -> Arc<Self> {
        Arc::new(Ledger::default())
    }
    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
    /// Instances created and not yet dropped.
    pub fn alive(&self) -> usize {
        self.created() - self.dropped()
    }
}

/// A value whose drops are counted exactly.
pub struct Tracked {
    pub value: u64,
    serial: u64,
    ledger: Arc<Ledger>,
}

impl Tracked {
    pub fn new(value: u64, ledger: &Arc<Ledger>) -> Self {
        ledger.created.fetch_add(1, Ordering::SeqCst);
        Tracked {
            value,
            serial: ledger.next_serial.fetch_add(1, Ordering::SeqCst),
            ledger: Arc::clone(ledger),
        }
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(self.value, &self.ledger)
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tracked({})", self.value)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let word = (self.serial / 64) as usize;
        let bit = 1u64 << (self.serial % 64);
        {
            let mut bits = self.ledger.dropped_bits.lock().unwrap();
            if bits.len() <= word {
                bits.resize(word + 1, 0);
            }
            assert_eq!(
                bits[word] & bit,
                0,
                "value serial {} dropped twice",
                self.serial
            );
            bits[word] |= bit;
        }
        self.ledger.dropped.fetch_add(1, Ordering::SeqCst);
    }
}
