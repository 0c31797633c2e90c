#!/usr/bin/env bash
# Text-model speed of deepcart against the same GRU and Transformer in PyTorch-Python
# (bench/peers/text.py) on identical texts and tokens (deepcart's exported split), same batch,
# threads and sizes, in this one run: training texts/s over one epoch, inference texts/s over the
# test part (deepcart's figure includes tokenising the raw text; the peer's starts from tokens).
# Usage: [MODELS="gru transformer"] bench/text/speed.sh [threads]   (after the build and `scripts/setup.sh --bench`; run it alone)
set -euo pipefail
cd "$(dirname "$0")/../.."
# The peer is PyTorch-Python from the same torch wheel deepcart is built on (scripts/setup.sh),
# with the same LibTorch threads, MKL and libgomp, and the same OpenMP wait setting that the
# deepcart program gives itself (apps/deepcart/cli_common.cpp).
PY=${PY:-.venv/bin/python3}
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}
THREADS=${1:-2}
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
DATA=${DEEPCART_SHARED_DATA:-../shared/data}/text
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
field() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }
ratio() { /usr/bin/python3 -c "print('%.0f | %.0f | %.2fx' % ($1, $2, $1 / $2))"; }

echo "| model (clothing reviews, batch 64, threads $THREADS) | measure | deepcart | PyTorch-Python | ratio |"
echo "|---|---|---|---|---|"
for model in ${MODELS:-gru transformer}; do
  "$DEEPCART" text train --model "$model" --data "$DATA/womens-clothing-reviews.csv" --text-col Title \
    --text-col "Review Text" --label-col "Recommended IND" --seed 0 --epochs 1 --patience 0 --batch-size 64 \
    --threads "$THREADS" --quiet --json --export-split "$TMP/split" --out "$TMP/$model.dcm" > "$TMP/ours.json"
  "$PY" bench/peers/text.py --split "$TMP/split" --model "$model" --threads "$THREADS" \
    --batch-size 64 > "$TMP/peer.json"
  echo "| $model | training texts/s | $(ratio "$(field "$TMP/ours.json" "['metrics']['train_examples_per_second']")" "$(field "$TMP/peer.json" "['train_texts_per_second']")") |"
  echo "| $model | inference texts/s | $(ratio "$(field "$TMP/ours.json" "['metrics']['test']['texts_per_second']")" "$(field "$TMP/peer.json" "['inference_texts_per_second']")") |"
done
