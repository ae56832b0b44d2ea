//! A linearizability checker for concurrent histories of single-key map
//! operations, run on real threads.
//!
//! Loom explores every interleaving of a tiny model up to a preemption
//! bound; this goes the other way: many short rounds of random operations on
//! a real map, on real threads, with no bound on preemptions, each round's
//! history checked afterwards against a sequential model.
//!
//! - [`history`] owns what a recorded operation is (`Op`, `Event`), the
//!   sequential model of one key's slot, and how values and operations
//!   print.
//! - [`record`] owns the rounds: the adapter trait a map implements
//!   ([`SingleKeyMap`]), the random plans, the recording on real threads with
//!   a global logical clock and a spinning rendezvous that keeps them in
//!   step, the round loop, and the share of operations that overlapped
//!   another thread's on the same key (printed per set-up).
//! - [`adapters`] owns the adapters of splitmap's pinned and guard-free
//!   layers and of `SplitCache` (expiry and bound that never fire).
//! - [`multikey`] owns whole-map operations (walks, `len`, `retain`,
//!   `clear`) run beside single-key ones, read per key as single-key
//!   operations at some instant of their call, and the count bounds.
//! - [`check`] owns the verdict: a Wing–Gong / Lowe search per key with
//!   memoization, and on failure the shortest readable excerpt of the
//!   offending key's history.
//!
//! The checker is trusted only because `tests/linearizability.rs` shows it
//! rejecting planted bugs (lost inserts, stale reads, racy updates) and
//! hand-built histories with known answers, both ways.

pub mod adapters;
pub mod check;
pub mod history;
pub mod multikey;
pub mod record;

// What a test file needs, in one place (each test binary uses a subset).
#[allow(unused_imports)]
pub use adapters::{Cache, GuardFree, Pinned, LONG_TTL};
#[allow(unused_imports)]
pub use check::{check_history, check_key, Violation};
#[allow(unused_imports)]
pub use history::{value, Event, Op, Slot};
#[allow(unused_imports)]
pub use multikey::{
    check_round, find_multi_violation, run_multi_rounds, MultiKeyMap, MultiWorkload, WholeEvent,
    WholeOp, WholeResult,
};
#[allow(unused_imports)]
pub use record::{
    find_violation, rounds_from_env, run_rounds, same_key_overlaps, Failure, SingleKeyMap, Workload,
};
