//! Making threads actually meet: a start line that releases every party of
//! a round at once, and a wait on the other side's progress.
//!
//! `std::sync::Barrier` puts all but the last thread to sleep; the last one
//! runs on while the others are still being woken, so a short race is often
//! over before it starts. Here every party spins (yielding now and then, so
//! an oversubscribed machine still makes progress) until the round is full.
//!
//! A party that panics poisons the line (see [`StartLine::poison_on_panic`])
//! so that the others fail too instead of spinning forever.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A reusable start line for `parties` threads.
pub struct StartLine {
    parties: usize,
    arrived: AtomicUsize,
    poisoned: AtomicBool,
}

/// Poisons its line if dropped while its thread panics.
pub struct PoisonOnPanic<'a>(&'a StartLine);

impl Drop for PoisonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::SeqCst);
        }
    }
}

impl StartLine {
    pub fn new(parties: usize) -> Self {
        StartLine {
            parties,
            arrived: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    /// Hold this for as long as the thread takes part: if it panics, every
    /// other party's next wait panics too.
    pub fn poison_on_panic(&self) -> PoisonOnPanic<'_> {
        PoisonOnPanic(self)
    }

    /// Waits until every party has arrived for round `round` (rounds count
    /// from 0, and every party calls this once per round, in order).
    pub fn wait(&self, round: usize) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let target = (round + 1) * self.parties;
        self.spin_until(|| self.arrived.load(Ordering::SeqCst) >= target);
    }

    /// Spins (yielding now and then) until `done()`; panics if another party
    /// panicked meanwhile.
    pub fn spin_until(&self, mut done: impl FnMut() -> bool) {
        let mut spins = 0u64;
        while !done() {
            assert!(
                !self.poisoned.load(Ordering::SeqCst),
                "another thread of this race panicked (its message is above)"
            );
            spins += 1;
            if spins % 64 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}
