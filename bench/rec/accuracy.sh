#!/usr/bin/env bash
# Accuracy on the published protocols (data/README.md in ../shared). Prints a markdown table;
# each row's command is in this file. Hyper-parameters are fixed here or chosen on the
# validation split inside training (early stopping, EASE's L2); the test split is never used
# for a choice.
# Usage: bench/rec/accuracy.sh [movielens|beauty|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
WHICH=${1:-all}
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
DATA=${DEEPCART_SHARED_DATA:-../shared/data}
OUT=${OUT:-bench/rec/out}
mkdir -p "$OUT"

row() {  # label, json file, metric keys...
  local label=$1 file=$2; shift 2
  /usr/bin/python3 - "$file" "$label" "$@" <<'PY'
import json, sys
path, label, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
m = json.load(open(path))["metrics"]
t = m["test"]
extra = f'{m.get("train_seconds", 0):.0f} s' if "train_seconds" in m else "-"
print("| " + label + " | " + " | ".join(f'{t[k]:.4f}' for k in keys) + f" | {extra} |")
PY
}

train() {  # name, args...
  local name=$1; shift
  "$DEEPCART" rec train "$@" --quiet --json --out "$OUT/$name.dcm" > "$OUT/$name.json"
}

if [ "$WHICH" = movielens ] || [ "$WHICH" = all ]; then
  ML=$DATA/rec/ml-100k/u.data
  S="--data $ML --split random:0.25"
  echo "MovieLens-100K, per-user random 75/25 (seed 42), every rating an interaction, full ranking"
  echo "| model | nDCG@10 | P@10 | R@10 | MAP@10 | train time |"
  echo "|---|---|---|---|---|---|"
  train ml-pop --model pop $S;                                   row pop "$OUT/ml-pop.json" ndcg@10 precision@10 recall@10 map@10
  train ml-bpr --model bpr-mf $S --lr 0.002 --weight-decay 1e-5 --epochs 80 --patience 8
  row bpr-mf "$OUT/ml-bpr.json" ndcg@10 precision@10 recall@10 map@10
  train ml-mlp --model ncf-mlp --layers 64,32 $S --epochs 40 --patience 5
  row "seed mlp (ncf-mlp --layers 64,32)" "$OUT/ml-mlp.json" ndcg@10 precision@10 recall@10 map@10
  train ml-neumf --model neumf $S --epochs 40 --patience 5;      row neumf "$OUT/ml-neumf.json" ndcg@10 precision@10 recall@10 map@10
  train ml-sasrec --model sasrec $S --epochs 100 --patience 10;  row sasrec "$OUT/ml-sasrec.json" ndcg@10 precision@10 recall@10 map@10
  train ml-ease --model ease $S;                                 row ease "$OUT/ml-ease.json" ndcg@10 precision@10 recall@10 map@10
fi

if [ "$WHICH" = beauty ] || [ "$WHICH" = all ]; then
  B=$DATA/rec/amazon-beauty/Beauty.txt
  S="--data $B --split loo"
  echo "Amazon Beauty, leave-one-out (last item test, second-to-last validation), ranked against all items"
  echo "| model | HR@10 | NDCG@10 | HR@20 | NDCG@20 | train time |"
  echo "|---|---|---|---|---|---|"
  train b-pop --model pop $S;                                    row pop "$OUT/b-pop.json" hr@10 ndcg@10 hr@20 ndcg@20
  train b-bpr --model bpr-mf $S --lr 0.002 --weight-decay 1e-5 --epochs 80 --patience 8
  row bpr-mf "$OUT/b-bpr.json" hr@10 ndcg@10 hr@20 ndcg@20
  train b-gru --model gru4rec $S --epochs 200 --patience 10;     row gru4rec "$OUT/b-gru.json" hr@10 ndcg@10 hr@20 ndcg@20
  train b-sasrec --model sasrec $S --epochs 200 --patience 10;   row sasrec "$OUT/b-sasrec.json" hr@10 ndcg@10 hr@20 ndcg@20
fi
