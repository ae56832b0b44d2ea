#!/usr/bin/env bash
# Plants known bugs in a scratch copy of the crate and checks that the test
# suite catches each one: the evidence that the checkers (linearizability,
# stress, cache causes, the shrink claim test) can fail. Issue 17.
#
# Each scripts/plants/NAME.patch starts with two comment lines:
#   # plant: what the bug is
#   # caught by: the `cargo test` arguments that must fail with it
# followed by a `git diff` of the planted change. A patch that no longer
# applies fails the script (re-plant it against the current code, by hand,
# and regenerate the patch with `git diff`).
#
#   scripts/plants.sh                 # every plant
#   scripts/plants.sh shrink-stale-claim remove-reports-a-lost-race
#
# Output: one line per plant, CAUGHT or SURVIVED; exit status 1 if any
# survived or did not apply. Takes 1-3 minutes per plant on 2 cores (one
# incremental build each, in target/plants).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for p in scripts/plants/*.patch; do
        names+=("$(basename "$p" .patch)")
    done
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export CARGO_TARGET_DIR="$root/target/plants"
failed=0
results=()
for name in "${names[@]}"; do
    patch="$root/scripts/plants/$name.patch"
    test_args=$(sed -n 's/^# caught by: //p' "$patch")
    rm -rf "$scratch/crate"
    mkdir -p "$scratch/crate"
    # The tracked files only: a clean tree at HEAD plus the work tree's edits.
    git ls-files -z | xargs -0 cp --parents -t "$scratch/crate"
    if ! (cd "$scratch/crate" && git apply --unidiff-zero "$patch" 2>/dev/null); then
        results+=("$name: DOES NOT APPLY (re-plant it)")
        failed=1
        continue
    fi
    echo "=== $name: cargo test --all-features $test_args" >&2
    # shellcheck disable=SC2086 # the arguments are words on purpose
    if (cd "$scratch/crate" && cargo test --all-features $test_args) >"$scratch/log" 2>&1; then
        results+=("$name: SURVIVED ($test_args passed)")
        failed=1
    elif grep -qE "^error\[E[0-9]+\]|could not compile" "$scratch/log"; then
        results+=("$name: DOES NOT BUILD (re-plant it)")
        failed=1
    else
        why=$(grep -m1 -A1 "panicked at" "$scratch/log" | tail -1 || true)
        results+=("$name: CAUGHT by $test_args: $why")
    fi
done
printf '%s\n' "${results[@]}"
exit $failed
