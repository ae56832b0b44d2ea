#!/usr/bin/env bash
# The long linearizability run (tests/linearizability.rs, checker in
# tests/common/lincheck/): many more rounds of recorded concurrent
# single-key histories per map set-up than `cargo test` runs, in release
# mode, one test at a time so each round's threads have the cores.
# About 2-3 minutes on the 2-core CI machine.
#
# Usage: .ci/lincheck.sh [extra cargo test args]
# Env: SPLITMAP_LINCHECK_ROUNDS (rounds per set-up, default 6000),
#      SPLITMAP_LINCHECK_SEED (plan seed; default: new each run, printed;
#      thread timing is never reproducible, the plans are).
set -euo pipefail
cd "$(dirname "$0")/.."

export SPLITMAP_LINCHECK_ROUNDS="${SPLITMAP_LINCHECK_ROUNDS:-6000}"
export SPLITMAP_LINCHECK_SEED="${SPLITMAP_LINCHECK_SEED:-$(date +%s)}"
echo "lincheck: SPLITMAP_LINCHECK_ROUNDS=$SPLITMAP_LINCHECK_ROUNDS SPLITMAP_LINCHECK_SEED=$SPLITMAP_LINCHECK_SEED"

start=$(date +%s)
cargo test --release --test linearizability "$@" -- --test-threads=1 --nocapture
echo "lincheck passed in $(( $(date +%s) - start ))s"
