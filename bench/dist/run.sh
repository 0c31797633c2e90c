#!/usr/bin/env bash
# Data-parallel sanity check on one 2-core host: each rec model trained by one worker with 2
# LibTorch threads, then by 2 workers (`deepcart launch --nproc 2`) with 1 thread each, at the
# same global batch (B, or B/2 per worker), same data and epochs. Reports training samples/s,
# the all-reduce share of step time and bytes all-reduced per step. Then one distributed epoch
# of the vision and text models for their all-reduce cost per step.
# Usage: bench/dist/run.sh   (after the build; run it alone: the workers share the 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
DATA=${DEEPCART_SHARED_DATA:-../shared/data}
ML=$DATA/rec/ml-100k/u.data
BITEXT=share/data/bitext-customer-service/bitext_customer_service_8k.csv.gz
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

row() {  # label, json file
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
text = open(path).read()
m = json.loads(text[text.index("{"):])["metrics"]
share = m["allreduce_seconds"] / m["step_seconds"] if m["step_seconds"] else 0
val = m["validation"]
key = next((k for k in ("ndcg@10", "accuracy") if k in val), None)
print("| %s | %d x %d | %s | %.0f | %.1f%% | %s | %s %.4f |" % (
    label, m["workers"], m["threads"], m.get("batch_size", "-"), m["train_examples_per_second"], 100 * share,
    format(m["allreduce_bytes_per_step"], ","), key, val[key]))
PY
}

echo "| model | workers x threads | batch per worker | train samples/s | all-reduce share of step time | bytes all-reduced per step | validation |"
echo "|---|---|---|---|---|---|---|"
for spec in "neumf 256 3" "sasrec 128 3"; do
  read -r model batch epochs <<< "$spec"
  common="rec train --model $model --data $ML --epochs $epochs --patience 0 --json --quiet"
  "$DEEPCART" $common --threads 2 --batch-size "$batch" --out "$TMP/one.dcm" > "$TMP/one.json"
  row "$model (ML-100k)" "$TMP/one.json"
  "$DEEPCART" launch --quiet --nproc 2 --threads 1 -- $common --batch-size $((batch / 2)) --out "$TMP/two.dcm" > "$TMP/two.json"
  row "$model (ML-100k)" "$TMP/two.json"
done
"$DEEPCART" launch --quiet --nproc 2 --threads 1 -- vision train --epochs 1 --valid 5000 --json --quiet \
  --out "$TMP/v.dcm" > "$TMP/v.json"
row "vision cnn (Fashion-MNIST)" "$TMP/v.json"
for arch in bow gru; do
  "$DEEPCART" launch --quiet --nproc 2 --threads 1 -- text train --data "$BITEXT" --text-col utterance \
    --label-col intent --task intent --model $arch --epochs 1 --json --quiet --out "$TMP/t.dcm" > "$TMP/t.json"
  row "text $arch (Bitext intents)" "$TMP/t.json"
done
