#!/usr/bin/env bash
# Self-tuning by adaptation, measured (issue 7): the plain self-tuning NAdamW baseline
# against the same baseline adapted by each strategy of `autotune adapt`, under AlgoPerf
# v0.6's self-tuning rules (1.5 x each proxy's calibrated budget), scored together.
#
#   benchmarks/self_tuning.sh OUT [WORKLOADS] [STUDIES]
#
# WORKLOADS: comma-separated proxies (default: the eight scored AlgoPerf families); STUDIES: per
# workload (default 1; the official protocol is 3). Trials run one at a time, on one core
# when the caller pins it (taskset), so their times compare. Environment:
#   SUBMISSIONS  contenders (default: baseline adapted_sequential adapted_halving adapted_schedule_free)
#   BUDGET_SCALE proxies' budget scale, a number or "auto" to time this machine (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?output folder}
WORKLOADS=${2:-criteo1tb,fastmri,imagenet_resnet,imagenet_vit,librispeech_conformer,librispeech_deepspeech,ogbg,wmt}
STUDIES=${3:-1}
SUBMISSIONS=${SUBMISSIONS:-baseline adapted_sequential adapted_halving adapted_schedule_free}
BUDGET_SCALE=${BUDGET_SCALE:-1}
AT=.venv/bin/autotune
SPACE=search_spaces/nadamw.json
mkdir -p "$OUT/submissions"
for strategy in sequential halving schedule_free; do
  $AT adapt --submission baseline --search-space "$SPACE" --strategy "$strategy" \
    -o "$OUT/submissions/adapted_$strategy" > /dev/null
done
for sub in $SUBMISSIONS; do
  path=$sub; [ "$sub" = baseline ] || path="$OUT/submissions/$sub"
  $AT search --submission "$path" --workload "$WORKLOADS" --ruleset self --rules v0.6 \
    --studies "$STUDIES" --jobs 1 --budget-scale "$BUDGET_SCALE" \
    --out "$OUT/$sub" --name "$sub" --json > "$OUT/$sub.json"
done
# one pool: every contender's log folder, scored together
mkdir -p "$OUT/pool"
for sub in $SUBMISSIONS; do
  ln -sfn "$(realpath "$OUT/$sub/logs/$sub")"/* "$OUT/pool/" 2>/dev/null || true
done
$AT score "$OUT/pool" --ruleset self --rules v0.6 --json > "$OUT/score.json"
$AT score "$OUT/pool" --ruleset self --rules v0.6
