#!/usr/bin/env bash
# Controls for compression-augmented training at max 11 (README, "What the embedded default measures"): the same
# fine-tuning budget with the noise proxy (spec R-2) and with no compression at all, then their lossy sweeps.
# Compare with Table 1 via `cfc-ref report OUT/default/results.json --retrained max_11=OUT/control-max_11-MODE/...`.
#
#   tools/training_controls.sh [ITERATIONS] [OUT]     # defaults: 600, runs/table1 (run tools/reproduce_table1.sh first)
set -euo pipefail
ITERATIONS=${1:-600}
OUT=${2:-runs/table1}
for mode in proxy none; do
  cfc-ref train --split max_11 --mode "$mode" --iterations "$ITERATIONS" --output "$OUT/train-max_11-$mode"
  cfc-ref run --weights "$OUT/train-max_11-$mode/model.weights" --cfg "$OUT/train-max_11-$mode/model.cfg" \
    --splits max_11 --lossy-only --output "$OUT/control-max_11-$mode" --quiet > /dev/null
  echo "control $mode: $OUT/control-max_11-$mode/results.json"
done
