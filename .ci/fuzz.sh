#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a bounded time; a crash (a
# failed differential check, a panic, a sanitizer report) fails the script.
#
#   FUZZ_TIME       seconds per target (default 60)
#   FUZZ_TARGETS    targets to run (default: ops threads weak weak_identity cache)
#   FUZZ_INPUT_TIMEOUT  seconds one input may run before it counts as a hang
#                   (default 20; libFuzzer's own default is 1200)
#   FUZZ_SANITIZER  none (default) or address. `address` runs under
#                   AddressSanitizer on the stable toolchain through
#                   RUSTC_BOOTSTRAP=1. Measured on the 2-core machine: the
#                   build takes about as long (~100 s), and ASan runs about
#                   7x fewer executions. `ops` runs ~45-50 exec/s without a
#                   sanitizer once its corpus is loaded (each input runs
#                   ~100M instrumented instructions: the runner checks the
#                   whole map after many ops); the ~660 exec/s once noted
#                   here was the empty-corpus start. The
#                   default leans on the differential checks and the
#                   drop-tracking values; the test suite already runs under
#                   ASan (.ci/asan.sh), replaying these runners too.
#
# Each target starts from the committed seeds (fuzz/seeds/<target>) plus the
# git-ignored growing corpus (fuzz/corpus/<target>, kept between runs on the
# same machine). A crash input lands in fuzz/artifacts/<target>/ and is
# printed (base64) so it survives a throwaway CI machine; replay it with
# `cargo fuzz run <target> <file>` or add it to fuzz/seeds/<target>/ so
# `cargo test --test fuzz_replay` replays it on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

time_per_target="${FUZZ_TIME:-60}"
targets="${FUZZ_TARGETS:-ops threads weak weak_identity cache}"
sanitizer="${FUZZ_SANITIZER:-none}"
input_timeout="${FUZZ_INPUT_TIMEOUT:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# Builds go to fuzz/target (instrumented, own RUSTFLAGS): never into a shared
# target dir, where they would invalidate the normal build.
unset CARGO_TARGET_DIR

if [ "$sanitizer" != none ]; then
    # -Zsanitizer on stable.
    export RUSTC_BOOTSTRAP=1
fi

# One build of every target first, so the time limits below are fuzzing time.
build_start=$(date +%s)
for t in $targets; do
    cargo fuzz build --sanitizer "$sanitizer" "$t"
done
echo "fuzz build: $(( $(date +%s) - build_start ))s"

status=0
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    echo "=== fuzz $t: ${time_per_target}s, sanitizer $sanitizer"
    if ! cargo fuzz run --sanitizer "$sanitizer" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$time_per_target" -timeout="$input_timeout" -print_final_stats=1; then
        echo "!!! fuzz target $t failed"
        for f in fuzz/artifacts/"$t"/*; do
            [ -f "$f" ] || continue
            echo "--- crash input $f (base64):"
            base64 -w0 "$f"
            echo
        done
        status=1
    fi
done
exit "$status"
