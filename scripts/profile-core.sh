#!/usr/bin/env bash
# Per-operation cachegrind figures of each map's own work ("core" figures):
# instructions, D1 misses, LL misses and mispredicted branches per op.
#
#   scripts/profile-core.sh [OP ...]        # default: get-hit get-miss
#   N=131072 OPS=1000000 MAPS="split papaya std" scripts/profile-core.sh churn
#
# For each map and op, `examples/profile_ops` runs under cachegrind twice,
# with OPS and 2*OPS operations: the difference divided by OPS is the
# steady-state cost per operation (setup and first touches cancel). The same
# is done for the `harness` mode (the key stream and loop with no map) and
# subtracted, so the figures are the map's own. Instruction counts are
# repeatable whatever else the machine runs; cache figures are simulated.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-131072}
OPS=${OPS:-1000000}
MAPS=${MAPS:-split papaya std}
ops_list=("$@")
[ ${#ops_list[@]} -gt 0 ] || ops_list=(get-hit get-miss)

cargo build --release --example profile_ops >&2
BIN=${CARGO_TARGET_DIR:-target}/release/examples/profile_ops
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Ir D1mr+D1mw LLmr+LLmw Bcm+Bim of one run.
measure() {
    local out="$tmp/cg.$1.$2.$3"
    valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes \
        --cachegrind-out-file="$out" "$BIN" "$1-$2" --n "$N" --ops "$3" >/dev/null 2>&1
    awk '/^events:/ { for (i = 2; i <= NF; i++) ev[i] = $i }
         /^summary:/ { for (i = 2; i <= NF; i++) v[ev[i]] = $i
             printf "%d %d %d %d\n", v["Ir"], v["D1mr"] + v["D1mw"], v["DLmr"] + v["DLmw"], v["Bcm"] + v["Bim"] }' "$out"
}

# Per-op steady-state figures of one map and op.
per_op() {
    local a b
    a=$(measure "$1" "$2" "$OPS")
    b=$(measure "$1" "$2" $((2 * OPS)))
    paste -d' ' <(echo "$a") <(echo "$b") |
        awk -v n="$OPS" '{ printf "%.2f %.3f %.3f %.3f\n", ($5-$1)/n, ($6-$2)/n, ($7-$3)/n, ($8-$4)/n }'
}

echo "per operation, N=$N, steady state over $OPS ops, harness subtracted"
echo
echo "| op | map | instructions | D1 misses | LL misses | mispredicts |"
echo "|---|---|--:|--:|--:|--:|"
for op in "${ops_list[@]}"; do
    harness=$(per_op harness "$op")
    for map in $MAPS; do
        fig=$(per_op "$map" "$op")
        paste -d' ' <(echo "$fig") <(echo "$harness") |
            awk -v op="$op" -v map="$map" '{ printf "| %s | %s | %.1f | %.2f | %.2f | %.2f |\n", op, map, $1-$5, $2-$6, $3-$7, $4-$8 }'
    done
done
