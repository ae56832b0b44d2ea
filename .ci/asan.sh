#!/usr/bin/env bash
# The library's unit and integration tests under AddressSanitizer (stable
# toolchain with RUSTC_BOOTSTRAP for -Z flags). `--cfg splitmap_asan` scales
# test sizes down. Own target dir, so these flags never invalidate the
# normal build.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=address --cfg splitmap_asan"
export RUSTDOCFLAGS="-Zsanitizer=address"
# Leak checking stays on: a node the map forgot to free fails the run.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
cargo test -p splitmap --all-features --lib --tests \
    --target x86_64-unknown-linux-gnu --target-dir target/asan "$@"
