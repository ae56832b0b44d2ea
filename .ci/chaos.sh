#!/usr/bin/env bash
# The stress, differential, cache-stress, linearizability and exclusive-walk
# tests in chaos mode: built with
# `--cfg splitmap_chaos`, every atomic operation of the core first passes a
# chaos point that now and then yields the thread or spins a little
# (src/sync.rs), so the tests meet interleavings a quiet 2-core machine
# rarely produces. Short: the test sizes are the ordinary ones.
#
# Own target dir, so the cfg never invalidates the normal build.
# Usage: .ci/chaos.sh [extra cargo test args, e.g. -- --test-threads=1]
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg splitmap_chaos"
start=$(date +%s)
cargo test -p splitmap --all-features --test stress --test differential \
    --test cache_stress --test linearizability --test exclusive \
    --target-dir target/chaos "$@"
echo "chaos-mode tests passed in $(( $(date +%s) - start ))s"
