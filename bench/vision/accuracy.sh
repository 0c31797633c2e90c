#!/usr/bin/env bash
# Fashion-MNIST test accuracy against training wall time for the two recipes in bench/RESULTS.md:
# `cnn` within 5 minutes, `resnet` within 30 minutes, on this machine's cores.
# Usage: bench/vision/accuracy.sh [cnn|resnet|both]   (after the build; run it alone)
set -euo pipefail
cd "$(dirname "$0")/../.."
WHICH=${1:-both}
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
OUT=${OUT:-bench/vision/out}
mkdir -p "$OUT"
if [ "$WHICH" = cnn ] || [ "$WHICH" = both ]; then
  CNN_RECIPE=(--model cnn --epochs 9 --lr-schedule onecycle --lr 0.004 --dropout 0.1 --label-smoothing 0.05 --patience 0)
  /usr/bin/time -f "cnn wall %e s" "$DEEPCART" vision train "${CNN_RECIPE[@]}" --out "$OUT/cnn.dcm" \
    --metrics-log "$OUT/cnn.jsonl"
fi
if [ "$WHICH" = resnet ] || [ "$WHICH" = both ]; then
  RESNET_RECIPE=(--model resnet --width 16 --depth 2 --epochs 23 --lr-schedule onecycle --lr 0.004 --dropout 0.1 --label-smoothing 0.05 --patience 0)
  /usr/bin/time -f "resnet wall %e s" "$DEEPCART" vision train "${RESNET_RECIPE[@]}" --out "$OUT/resnet.dcm" \
    --metrics-log "$OUT/resnet.jsonl"
fi
