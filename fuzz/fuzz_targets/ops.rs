//! Every `SplitMap` operation against std `HashMap`; see
//! `fuzz/src/runner/ops.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| splitmap_fuzz::ops::run_ops_bytes(data));
