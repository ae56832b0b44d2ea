//! Differential op-runners: an `Arbitrary` op sequence applied to splitmap and
//! to a model (std `HashMap`), compared after every op and swept at the end.
//!
//! Shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`) and the main
//! crate's `tests/fuzz_replay.rs`, which includes this directory with
//! `#[path]`. Each runner takes raw bytes (`run_*_bytes`) and decodes them
//! with [`decode`] in both places, so a crash file replays byte for byte.
//!
//! Everything here is deterministic except `threads`, whose interleaving
//! depends on the scheduler.

pub mod cache;
pub mod hash;
pub mod input;
pub mod ops;
pub mod threads;
pub mod tracked;
pub mod weak;
pub mod weak_identity;

use arbitrary::{Arbitrary, Unstructured};

/// Decodes a fuzz input: a header `H`, then ops `T` until the bytes run out.
///
/// Unlike a derived `Vec<T>` (which reads a "keep going" flag before every
/// element, so random bytes average one element), every byte after the
/// header goes into ops: random buffers make long sequences, and the fuzzer
/// needs no flag bits to grow one. A trailing partial op is dropped.
pub fn decode<'a, H: Arbitrary<'a>, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<(H, Vec<T>)> {
    let mut u = Unstructured::new(data);
    let header = H::arbitrary(&mut u).ok()?;
    let mut ops = Vec::new();
    while !u.is_empty() {
        match T::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    Some((header, ops))
}
