#!/usr/bin/env bash
# Text accuracy of deepcart against Debian's fastText on IDENTICAL splits, in this one run: each
# deepcart run exports its train/valid/test parts (pre-tokenised, fastText format) and fastText
# trains on train+valid and is tested on the same test part. Prints a markdown table.
# Usage: [SETS="shopping banking77 recommended rating"] bench/text/accuracy.sh [models...]
#        (default models: bow gru; after the build and
#        `scripts/setup.sh --bench`; run it alone: two programs on two cores slow each other)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODELS=${*:-bow gru}
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
DATA=${DEEPCART_SHARED_DATA:-../shared/data}/text
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d)}
FASTTEXT_FLAGS=(-epoch 25 -lr 0.5 -wordNgrams 2 -thread "$THREADS" -seed 0)
# Per-model settings (the issue's budget is 10 minutes of training per set for the best model).
declare -A MODEL_FLAGS=(
  [bow]="--epochs 8 --lr 0.01"
  [gru]="--epochs 4 --lr 0.002"
  [lstm]="--epochs 4 --lr 0.002"
  [transformer]="--epochs 6 --lr 0.001"
  [minilm]=""
)

# Per set and model (replacing MODEL_FLAGS), chosen on VALIDATION accuracy only: on the Chinese reviews, character
# trigrams (0.9309 against 0.9266 with bigrams) and a 2-epoch schedule (0.9309 against 0.9278 over
# 8) were better; on the English clothing reviews bigrams were (0.9148 against 0.9117).
declare -A SET_FLAGS=(
  [shopping-bow]="--ngrams 3 --epochs 2 --lr 0.01"
)

SETS=${SETS:-shopping banking77 recommended rating}
want() { [[ " $SETS " == *" $1 "* ]]; }

field() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }

run() {  # key, name, deepcart flags...
  local key=$1 name=$2; shift 2
  for model in $MODELS; do
    local dir="$OUT/$key-$model"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e" -o "$dir/seconds" "$DEEPCART" text train --model "$model" ${SET_FLAGS[$key-$model]:-${MODEL_FLAGS[$model]}} "$@" --threads "$THREADS" \
      --quiet --json --export-split "$dir/split" --out "$dir/model.dcm" > "$dir/train.json"
    local acc mf1 secs ips
    acc=$(field "$dir/train.json" "['metrics']['test']['accuracy']")
    mf1=$(field "$dir/train.json" "['metrics']['test']['macro_f1']")
    ips=$(field "$dir/train.json" "['metrics']['test']['texts_per_second']")
    secs=$(cat "$dir/seconds")
    if [ "$model" = "$(echo $MODELS | cut -d' ' -f1)" ] && ! command -v fasttext > /dev/null; then
      echo "| $name | fastText: not installed (scripts/setup.sh --bench) | | | | |"
    elif [ "$model" = "$(echo $MODELS | cut -d' ' -f1)" ]; then
      fasttext supervised -input "$dir/split/train_valid.txt" -output "$dir/ft" "${FASTTEXT_FLAGS[@]}" -verbose 0
      local ft
      ft=$(fasttext test "$dir/ft.bin" "$dir/split/test.txt" | awk '/^P@1/ {print $2}')
      echo "| $name | fastText (${FASTTEXT_FLAGS[*]}) | $ft | | | |"
    fi
    /usr/bin/python3 -c "print('| $name | deepcart $model | %.4f | %.4f | %.0f s | %.0f |' % ($acc, $mf1, $secs, $ips))"
  done
}

echo "| set | model | test accuracy | macro-F1 | wall time (train + eval) | inference texts/s |"
echo "|---|---|---|---|---|---|"
want shopping && run shopping "online_shopping pos/neg (80/20, seed 0)" --data "$DATA/online_shopping_10_cats.csv" --text-col review \
  --label-col label --seed 0 --test-fraction 0.2
want banking77 && run banking77 "banking77 (official)" --data "$DATA/banking77/train.csv" --test "$DATA/banking77/test.csv" \
  --text-col text --label-col category --task intent --seed 0
want recommended && run recommended "clothing Recommended IND (80/20, seed 0)" --data "$DATA/womens-clothing-reviews.csv" --text-col Title \
  --text-col "Review Text" --label-col "Recommended IND" --seed 0 --test-fraction 0.2
want rating && run rating "clothing Rating (80/20, seed 0)" --data "$DATA/womens-clothing-reviews.csv" --text-col Title \
  --text-col "Review Text" --label-col Rating --task stars --seed 0 --test-fraction 0.2
true
