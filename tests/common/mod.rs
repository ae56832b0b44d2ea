//! Shared test helpers. Each test binary uses a subset.
#![allow(dead_code)]

pub mod alloc;
