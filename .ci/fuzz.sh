#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a bounded time; a crash (a
# failed differential check, a panic, a sanitizer report) fails the script.
# Ends with one summary line per target: inputs executed, inputs/s, and
# libFuzzer's final coverage (cov: edges, ft: features, corpus size).
#
#   FUZZ_TIME       seconds per target (default 60)
#   FUZZ_TARGETS    targets to run (default: ops threads weak weak_identity cache)
#   FUZZ_INPUT_TIMEOUT  seconds one input may run before it counts as a hang
#                   (default 20; libFuzzer's own default is 1200)
#   FUZZ_MAX_LEN    longest input libFuzzer makes for `ops` and `threads`
#                   (default 160 bytes, ~40 ops, for `ops` and 128 for
#                   `threads`, whose inputs run twice as long per byte: two
#                   threads, each op list run up to four times; the other
#                   targets keep libFuzzer's choice, the longest seed).
#                   Committed seeds longer than this are fuzzed from their
#                   first bytes (a prefix is a valid input) and replayed
#                   whole by `cargo test --test fuzz_replay`.
#   FUZZ_TRACE_COMPARES  1 to build with libFuzzer's comparison tracing
#                   (cargo-fuzz's default; off here). The inputs are decoded
#                   by `arbitrary`, so every byte string is a valid op list
#                   and there are no magic values for the tracing to solve,
#                   while its hooks took half of each run's time.
#   FUZZ_SANITIZER  none (default) or address. `address` runs under
#                   AddressSanitizer on the stable toolchain through
#                   RUSTC_BOOTSTRAP=1 (the build takes about as long, ~100 s,
#                   and runs about 7x fewer executions). The default leans
#                   on the differential checks and the drop-tracking values;
#                   the test suite already runs under ASan (.ci/asan.sh),
#                   replaying these runners too.
#
# Speed, measured on the 2-core machine (shared with other builds, load
# 2-5) from the committed seeds with an empty corpus, 60 s per target
# (issue 17); inputs/s, then final cov / ft:
#   ops      before: 7/s (519 inputs: the seeds alone took 71 s), 2372 / 11560
#            after:  1245/s (1780 per CPU-second), 2676 / 15154
#   threads  before: 14/s, 1322 / 6269
#            after:  1195/s at -max_len=128 (1410 per CPU-second), 1515 / 8384
#   weak 63 -> 93/s, weak_identity 31 -> 46/s, cache 4512 -> 10974/s, each
#   with higher cov and ft.
# Most of it came from the runners (few-hash maps fold their keys into 64,
# a bitset drop tracker, cheap model and fuzz hashers; fuzz/src/runner/),
# the rest from this script's flags.
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
build_flags=(--sanitizer "$sanitizer")
if [ "${FUZZ_TRACE_COMPARES:-0}" != 1 ]; then
    build_flags+=(--no-trace-compares)
fi

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
    cargo fuzz build "${build_flags[@]}" "$t"
done
echo "fuzz build: $(( $(date +%s) - build_start ))s"

status=0
summary=()
for t in $targets; do
    mkdir -p "fuzz/corpus/$t" target
    log="target/fuzz-$t.log"
    len_flag=()
    case "$t" in
    ops) len_flag=(-max_len="${FUZZ_MAX_LEN:-160}") ;;
    threads) len_flag=(-max_len="${FUZZ_MAX_LEN:-128}") ;;
    esac
    echo "=== fuzz $t: ${time_per_target}s, sanitizer $sanitizer"
    # `run` must use the build flags too, or it rebuilds with its defaults.
    if cargo fuzz run "${build_flags[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$time_per_target" -timeout="$input_timeout" \
        "${len_flag[@]}" -print_final_stats=1 2>&1 | tee "$log"; then
        result=ok
    else
        result=FAILED
        echo "!!! fuzz target $t failed"
        for f in fuzz/artifacts/"$t"/*; do
            [ -f "$f" ] || continue
            echo "--- crash input $f (base64):"
            base64 -w0 "$f"
            echo
        done
        status=1
    fi
    # libFuzzer's final figures: executed inputs, their rate, and the last
    # status line's coverage.
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
    summary+=("fuzz $t: $result, ${runs:-?} inputs in ${time_per_target}s (${rate:-?}/s), ${cov:-no coverage line}")
done
echo
printf '%s\n' "${summary[@]}"
exit "$status"
