#!/usr/bin/env bash
# The stress, differential, cache-stress, linearizability (single-key and
# whole-map), exclusive-walk and chaos_short tests in chaos mode: built with
# `--cfg splitmap_chaos`, every atomic operation of the core first passes a
# chaos point that now and then yields the thread or spins a little
# (src/sync.rs), so the tests meet interleavings a quiet 2-core machine
# rarely produces. The test sizes are the ordinary ones, but for
# chaos_short's shared-key conservation test (four threads racing
# insert/remove/update/compute/get_or_insert_with on eight keys, every value
# accounted for and dropped once): SPLITMAP_CHAOS_OPS operations per thread
# per config (default here 20000; 4000 in `cargo test`).
#
# Own target dir, so the cfg never invalidates the normal build.
# Usage: .ci/chaos.sh [extra cargo test args, e.g. -- --test-threads=1]
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg splitmap_chaos"
export SPLITMAP_CHAOS_OPS="${SPLITMAP_CHAOS_OPS:-20000}"
start=$(date +%s)
cargo test -p splitmap --all-features --test stress --test differential \
    --test cache_stress --test linearizability --test linearizability_multikey \
    --test exclusive --test chaos_short \
    --target-dir target/chaos "$@"
echo "chaos-mode tests passed in $(( $(date +%s) - start ))s"
