//! `WeakIdentityMap` against a model that tells keys apart by allocation;
//! see `fuzz/src/runner/weak_identity.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    splitmap_fuzz::weak_identity::run_weak_identity_bytes(data)
});
