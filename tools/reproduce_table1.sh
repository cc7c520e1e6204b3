#!/usr/bin/env bash
# Table 1 with default and re-trained rows on the embedded default (paper §3.3 and §4), end to end:
#   1. the default sweep (cfc-ref run), 2. compression-augmented fine-tuning at max 11 and at max 17 (cfc-ref train),
#   3. the lossy sweep of each re-trained model, 4. the report with both columns and the dashed curves.
#
#   tools/reproduce_table1.sh [ITERATIONS] [OUT]      # defaults: 600 iterations of 16 images, runs/table1
# Everything is resumable: rerun the script after an interruption.
set -euo pipefail
ITERATIONS=${1:-600}
OUT=${2:-runs/table1}
mkdir -p "$OUT"

cfc-ref run --output "$OUT/default" --quiet > /dev/null
for split in max_11 max_17; do
  cfc-ref train --split "$split" --iterations "$ITERATIONS" --output "$OUT/train-$split"
  cfc-ref run --weights "$OUT/train-$split/model.weights" --cfg "$OUT/train-$split/model.cfg" --splits "$split" \
    --lossy-only --output "$OUT/retrained-$split" --quiet > /dev/null
done
cfc-ref report "$OUT/default/results.json" --retrained "max_11=$OUT/retrained-max_11/results.json" \
  --retrained "max_17=$OUT/retrained-max_17/results.json"
