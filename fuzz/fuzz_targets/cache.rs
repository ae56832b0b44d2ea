//! `SplitCache` (TTL, TTI, per-entry TTL, size bound; a mock clock the ops
//! advance) against a model; see `fuzz/src/runner/cache.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| splitmap_fuzz::cache::run_cache_bytes(data));
