//! Two threads on disjoint keys plus shared counters; see
//! `fuzz/src/runner/threads.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| splitmap_fuzz::threads::run_threads_bytes(data));
