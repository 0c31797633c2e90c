#!/usr/bin/env bash
# Image-model speed of deepcart against the same network in PyTorch-Python (bench/peers/vision.py),
# same Fashion-MNIST data, batch, threads and recipe, in this one run: training images/s (one
# epoch) and inference images/s (the 10,000 test images, batch 512). Prints a markdown table.
# Usage: bench/vision/speed.sh [threads] [models...]   (after the build and `scripts/setup.sh --bench`)
# Run it alone: two OpenMP programs on two cores slow each other several-fold.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The peer is PyTorch-Python from the same torch wheel deepcart is built on (scripts/setup.sh),
# with the same LibTorch threads, MKL and libgomp, and the same OpenMP wait setting that the
# deepcart program gives itself (apps/deepcart/cli_common.cpp).
PY=${PY:-.venv/bin/python3}
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}
THREADS=${1:-2}
shift || true
MODELS=${*:-cnn resnet}
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

field() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }
ratio() { /usr/bin/python3 -c "print('%.0f | %.0f | %.2fx' % ($1, $2, $1 / $2))"; }

echo "| model (batch 128, threads $THREADS) | measure | deepcart | PyTorch-Python | ratio |"
echo "|---|---|---|---|---|"
for model in $MODELS; do
  "$PY" bench/peers/vision.py --model "$model" --threads "$THREADS" --epochs 1 \
    --batch-size 128 > "$TMP/peer.json"
  "$DEEPCART" vision train --model "$model" --epochs 1 --batch-size 128 --patience 0 \
    --threads "$THREADS" --quiet --json --out "$TMP/$model.dcm" > "$TMP/train.json"
  "$DEEPCART" vision eval --model "$TMP/$model.dcm" --threads "$THREADS" --json > "$TMP/eval.json"
  echo "| $model | training images/s | $(ratio "$(field "$TMP/train.json" "['metrics']['train_examples_per_second']")" "$(field "$TMP/peer.json" "['train_images_per_second']")") |"
  echo "| $model | inference images/s | $(ratio "$(field "$TMP/eval.json" "['images_per_second']")" "$(field "$TMP/peer.json" "['inference_images_per_second']")") |"
done
