#!/usr/bin/env bash
# The deep loom models (loom-tests/tests/deep_list.rs: the list step, the
# shrink's sentinel unlinking and the sentinel claim, restated without the
# epoch) at a higher bound than the CI run. `.ci/loom.sh` already runs them
# at their CI bounds (two-thread models: every interleaving; three-thread
# models: preemption bound 3, about 30 s in all); this script is the longer
# sweep, for a change to the core or a nightly run.
#
# Env: LOOM_DEEP_PREEMPTIONS (default 5: about 13 minutes on the 2-core
# machine, all eight models passing; `none` for no bound: far longer) for the
# three-thread models.
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_DEEP_PREEMPTIONS="${LOOM_DEEP_PREEMPTIONS:-5}"
exec .ci/loom.sh --test deep_list
