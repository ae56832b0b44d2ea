#!/usr/bin/env bash
# The long checks of the expiring cache (SplitCache) alone, beyond what
# `cargo test --workspace --all-features` runs (.ci/run covers all three:
# the long stress step, loom.sh, fuzz.sh):
#   1. the 4-thread stress with 400,000 ops per thread per set-up (release);
#   2. its loom models (loom-tests/tests/cache.rs; ~25 s at bound 1);
#   3. the cache fuzz target for FUZZ_TIME seconds (default 60).
# About 5 minutes on the 2-core CI machine, most of it the fuzz build.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
SPLITMAP_CACHE_STRESS_OPS="${SPLITMAP_CACHE_STRESS_OPS:-400000}" \
    cargo test --release --test cache_stress -- --nocapture
.ci/loom.sh --test cache
FUZZ_TARGETS=cache .ci/fuzz.sh
echo "cache checks passed in $(( $(date +%s) - start ))s"
