#!/usr/bin/env bash
# Runs the loom models of splitmap (loom-tests/tests/*.rs).
#
# Own target dir, so the loom cfgs never invalidate the normal build.
# Usage: .ci/loom.sh [cargo test build args, e.g. a test file: --test same_key]
# Env: LOOM_MAX_PREEMPTIONS (default 1), LOOM_MAX_BRANCHES (loom's default
# unless set), LOOM_JOBS (model binaries run at once, default 2).
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
mkdir -p target
# Build every model binary, then run the binaries two at a time, one test
# thread each, longest first: one model (incarnation.rs, ~500 s) is most of
# the run, and `cargo test` runs binaries one after another, so its
# `--test-threads=2` left a core idle for most of it (22 min -> about 12 on
# 2 cores). LOOM_JOBS sets how many binaries run at once.
cargo test -p splitmap-loom-tests --release --target-dir target/loom "$@" --no-run 2>&1 |
    tee target/loom-build.log | grep -v "^\s*Compiling" || true
mapfile -t bins < <(sed -n 's/.*Executable .*(\(target\/loom\/release\/deps\/[^)]*\)).*/\1/p' target/loom-build.log)
if [[ ${#bins[@]} -eq 0 ]]; then
    echo "no loom model binaries built" >&2
    exit 1
fi
# The longest models first (measured on 2 cores), the rest in build order.
longest=(incarnation compact bucket_init)
ordered=()
for name in "${longest[@]}"; do
    for b in "${bins[@]}"; do
        [[ $(basename "$b") == "$name"-* ]] && ordered+=("$b")
    done
done
for b in "${bins[@]}"; do
    case " ${ordered[*]} " in *" $b "*) ;; *) ordered+=("$b") ;; esac
done
mkdir -p target/loom-logs
run_one() {
    local log
    log="target/loom-logs/$(basename "$1").log"
    local t0=$SECONDS
    if "$1" --test-threads=1 >"$log" 2>&1; then
        echo "$(basename "$1"): $(grep -E '^test result' "$log" | tail -1) [$((SECONDS - t0))s]"
    else
        echo "FAILED $(basename "$1") [$((SECONDS - t0))s]:"
        cat "$log"
        return 1
    fi
}
export -f run_one
printf '%s\n' "${ordered[@]}" | xargs -P "${LOOM_JOBS:-2}" -I{} bash -c 'run_one "$@"' _ {}
echo "loom models passed in $(( $(date +%s) - start ))s (LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS)"
