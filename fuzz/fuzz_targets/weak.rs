//! `WeakKeyMap` against a model that knows which keys are alive; see
//! `fuzz/src/runner/weak.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| splitmap_fuzz::weak::run_weak_bytes(data));
