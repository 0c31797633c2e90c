#!/usr/bin/env bash
# Training speed of deepcart against the same architecture in PyTorch-Python (bench/peers/),
# same data, batch, threads and epochs, in this one run. Prints a markdown table.
# Usage: bench/rec/speed.sh [threads]   (after `make build` and `bash scripts/setup.sh --bench`)
set -euo pipefail
cd "$(dirname "$0")/../.."
# The peer is PyTorch-Python from the same torch wheel deepcart is built on (scripts/setup.sh),
# with the same LibTorch threads, MKL and libgomp, and the same OpenMP wait setting that the
# deepcart program gives itself (apps/deepcart/cli_common.cpp).
PY=${PY:-.venv/bin/python3}
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}
THREADS=${1:-2}
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
DATA=${DEEPCART_SHARED_DATA:-../shared/data}
ML=$DATA/rec/ml-100k/u.data
BEAUTY=$DATA/rec/amazon-beauty/Beauty.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

field() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }

run_pair() {  # name, peer json, deepcart json, samples key
  local peer ours
  peer=$(field "$2" "['samples_per_second']")
  ours=$(field "$3" "['metrics']['train_examples_per_second']")
  /usr/bin/python3 -c "print('| $1 | %.0f | %.0f | %.2fx |' % ($ours, $peer, $ours / $peer))"
}

echo "| model (data, batch, threads $THREADS) | deepcart samples/s | PyTorch-Python samples/s | ratio |"
echo "|---|---|---|---|"

# NeuMF on MovieLens-100K: 256 positives per batch with 4 sampled negatives each, 5 epochs.
"$PY" bench/peers/neumf.py --data "$ML" --threads "$THREADS" --epochs 5 --batch-size 256 > "$TMP/peer-neumf.json"
"$DEEPCART" rec train --model neumf --data "$ML" --split loo --layers 32,16 --negatives 4 \
  --batch-size 256 --epochs 5 --patience 0 --lr 0.001 --threads "$THREADS" --quiet --json \
  --out "$TMP/neumf.dcm" > "$TMP/neumf.json"
run_pair "NeuMF (ML-100K, 256 x (1+4), 5 epochs)" "$TMP/peer-neumf.json" "$TMP/neumf.json"

# SASRec on Amazon Beauty: 128 sequences per batch, length 50, full softmax, 1 epoch.
"$PY" bench/peers/sasrec.py --data "$BEAUTY" --threads "$THREADS" --epochs 1 --batch-size 128 > "$TMP/peer-sasrec.json"
"$DEEPCART" rec train --model sasrec --data "$BEAUTY" --split loo --batch-size 128 --epochs 1 \
  --patience 0 --threads "$THREADS" --quiet --json --out "$TMP/sasrec.dcm" > "$TMP/sasrec.json"
run_pair "SASRec (Beauty, 128 x 50, 1 epoch)" "$TMP/peer-sasrec.json" "$TMP/sasrec.json"
