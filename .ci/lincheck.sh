#!/usr/bin/env bash
# The long linearizability run (tests/linearizability.rs and
# tests/linearizability_multikey.rs, checker in tests/common/lincheck/):
# many more rounds of recorded concurrent histories per map set-up than
# `cargo test` runs, in release mode, one test at a time so each round's
# threads have the cores, and with the round's threads spinning longer at
# their rendezvous (so more operations overlap on the same key). Each
# set-up prints the share of operations that overlapped another thread's on
# the same key.
#
# Usage: .ci/lincheck.sh [extra cargo test args]
# Env: SPLITMAP_LINCHECK_ROUNDS (single-key rounds per set-up, default 3000),
#      SPLITMAP_LINCHECK_MULTI_ROUNDS (whole-map rounds per set-up,
#      default 600),
#      SPLITMAP_LINCHECK_SPIN_US (how long a thread spins at a rendezvous
#      before yielding, default 50),
#      SPLITMAP_LINCHECK_SEED (plan seed; default: new each run, printed;
#      thread timing is never reproducible, the plans are).
set -euo pipefail
cd "$(dirname "$0")/.."

export SPLITMAP_LINCHECK_ROUNDS="${SPLITMAP_LINCHECK_ROUNDS:-3000}"
export SPLITMAP_LINCHECK_MULTI_ROUNDS="${SPLITMAP_LINCHECK_MULTI_ROUNDS:-600}"
export SPLITMAP_LINCHECK_SPIN_US="${SPLITMAP_LINCHECK_SPIN_US:-50}"
export SPLITMAP_LINCHECK_SEED="${SPLITMAP_LINCHECK_SEED:-$(date +%s)}"
echo "lincheck: SPLITMAP_LINCHECK_ROUNDS=$SPLITMAP_LINCHECK_ROUNDS" \
    "SPLITMAP_LINCHECK_MULTI_ROUNDS=$SPLITMAP_LINCHECK_MULTI_ROUNDS" \
    "SPLITMAP_LINCHECK_SPIN_US=$SPLITMAP_LINCHECK_SPIN_US" \
    "SPLITMAP_LINCHECK_SEED=$SPLITMAP_LINCHECK_SEED"

start=$(date +%s)
cargo test --release --test linearizability --test linearizability_multikey "$@" -- \
    --test-threads=1 --nocapture
echo "lincheck passed in $(( $(date +%s) - start ))s"
