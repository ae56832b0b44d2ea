//! Op-runners for splitmap's differential fuzz targets.
//!
//! The runners live in `src/runner/` so that the main crate's
//! `tests/fuzz_replay.rs` can include the very same files with `#[path]` and
//! replay them under a plain `cargo test`; this library only re-exports them
//! for the `fuzz_targets/`.

#[path = "runner/mod.rs"]
mod runner;

pub use runner::*;
