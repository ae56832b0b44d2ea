//! Making threads actually meet: a start line that releases every party of
//! a round at once, and a short random delay to spread one side's operation
//! over the other side's.
//!
//! `std::sync::Barrier` puts all but the last thread to sleep; the last one
//! runs on while the others are still being woken, so a short race is often
//! over before it starts. Here every party spins (yielding now and then, so
//! an oversubscribed machine still makes progress) until the round is full.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A reusable start line for `parties` threads.
pub struct StartLine {
    parties: usize,
    arrived: AtomicUsize,
}

impl StartLine {
    pub fn new(parties: usize) -> Self {
        StartLine {
            parties,
            arrived: AtomicUsize::new(0),
        }
    }

    /// Waits until every party has arrived for round `round` (rounds count
    /// from 0, and every party calls this once per round, in order).
    pub fn wait(&self, round: usize) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let target = (round + 1) * self.parties;
        let mut spins = 0u32;
        while self.arrived.load(Ordering::SeqCst) < target {
            spins += 1;
            if spins % 64 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// Spins for `n` iterations (a delay that does not leave the CPU).
pub fn spin(n: u64) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}
