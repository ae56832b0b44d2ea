#!/usr/bin/env bash
# Runs the loom models of splitmap (loom-tests/tests/*.rs).
#
# Own target dir, so the loom cfgs never invalidate the normal build.
# Usage: .ci/loom.sh [cargo test args, e.g. a test file: --test same_key]
# Env: LOOM_MAX_PREEMPTIONS (default 1), LOOM_MAX_BRANCHES (loom's default
# unless set).
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom --cfg crossbeam_loom"
# Bound 1: with the epoch's own atomics modeled, bound 2 does not fit the
# CI budget (not run to completion; single models ran for many minutes).
# The deep models (tests/deep_list.rs: the protocol restated without the
# epoch) set their own bounds and ignore this one: every interleaving for
# two threads, bound 3 (LOOM_DEEP_PREEMPTIONS) for three; see
# .ci/loom-deep.sh for a longer sweep.
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-1}"

start=$(date +%s)
cargo test -p splitmap-loom-tests --release --target-dir target/loom "$@" -- --test-threads="${LOOM_TEST_THREADS:-2}"
echo "loom models passed in $(( $(date +%s) - start ))s (LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS)"
