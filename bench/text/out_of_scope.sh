#!/usr/bin/env bash
# Out-of-scope questions, CLINC150-style, on the Bitext customer-service questions: intent models
# train on 22 of the 27 intents; the other 5, each close to an intent that stays (cancellation fee
# / cancel order, track refund / get refund, delete / edit account, change / set up shipping
# address, get / check invoice), are near-miss questions the model has never seen. Every model
# answers, in this one run:
#   - the in-scope test questions (a seeded 20% of each kept intent): in-scope accuracy counts a
#     question right only when the intent is right AND the model is sure (over its threshold);
#   - the near-miss questions, banking77's test questions (another business), and 500 random
#     texts (letter strings and salads of the training questions' own words): out-of-scope
#     recall is the share answered "not sure".
# The threshold is the one `text train --task intent` tunes on validation questions against
# generated nonsense; nothing here is tuned on these sets.
# Usage: bench/text/out_of_scope.sh [models...]   (default: bow minilm; after the build and
#        `scripts/setup.sh`; run it alone: two programs on two cores slow each other)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODELS=${*:-bow minilm}
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
DATA=${DEEPCART_SHARED_DATA:-../shared/data}/text
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d)}
declare -A MODEL_FLAGS=(
  [bow]="--epochs 8 --lr 0.01"
  [minilm]=""
)

/usr/bin/python3 - "$DATA" "$OUT" <<'PYEND'
import csv, random, sys
data, out = sys.argv[1:3]
near = ["check_cancellation_fee", "track_refund", "delete_account", "change_shipping_address",
        "get_invoice"]
rows = list(csv.DictReader(open(f"{data}/bitext-customer-service/bitext_customer_service_8k.csv",
                                encoding="utf-8-sig")))
line = lambda t: " ".join(t.split())
by_intent = {}
for r in rows:
    by_intent.setdefault(r["intent"], []).append(line(r["utterance"]))
rng = random.Random(0)
train, test = [], []
for intent in sorted(by_intent):
    if intent in near:
        continue
    texts = by_intent[intent][:]
    rng.shuffle(texts)
    cut = round(0.2 * len(texts))
    test += [(t, intent) for t in texts[:cut]]
    train += [(t, intent) for t in texts[cut:]]
for name, part in (("train", train), ("test", test)):
    with open(f"{out}/{name}.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["utterance", "intent"])
        w.writerows(part)
open(f"{out}/in_scope.txt", "w", encoding="utf-8").write("".join(t + "\n" for t, _ in test))
open(f"{out}/in_scope_labels.txt", "w", encoding="utf-8").write("".join(i + "\n" for _, i in test))
open(f"{out}/near_miss.txt", "w", encoding="utf-8").write(
    "".join(t + "\n" for i in near for t in by_intent[i]))
banking = [line(r["text"]) for r in csv.DictReader(open(f"{data}/banking77/test.csv", encoding="utf-8"))]
open(f"{out}/banking77.txt", "w", encoding="utf-8").write("".join(t + "\n" for t in banking))
words = [w for t, _ in train for w in t.split()]
noise = []
for k in range(500):
    if k % 2 == 0:
        noise.append(" ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                                      for _ in range(rng.randint(2, 9)))
                              for _ in range(rng.randint(1, 6))))
    else:
        noise.append(" ".join(rng.choice(words) for _ in range(rng.randint(2, 12))))
open(f"{out}/random.txt", "w", encoding="utf-8").write("".join(t + "\n" for t in noise))
print(f"{len(train)} training and {len(test)} in-scope test questions over "
      f"{len(by_intent) - len(near)} intents; {sum(len(by_intent[i]) for i in near)} near-miss, "
      f"{len(banking)} banking77, {len(noise)} random", file=sys.stderr)
PYEND

echo "| model | threshold | in-scope accuracy (right and sure) | in-scope accuracy (top-1) | OOS recall: near-miss intents | OOS recall: banking77 | OOS recall: random | train wall time |"
echo "|---|---|---|---|---|---|---|---|"
for model in $MODELS; do
  dir="$OUT/$model"
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  /usr/bin/time -f "%e" -o "$dir/seconds" "$DEEPCART" text train --model "$model" ${MODEL_FLAGS[$model]} \
    --data "$OUT/train.csv" --test "$OUT/test.csv" --text-col utterance --label-col intent --task intent \
    --seed 0 --threads "$THREADS" --quiet --json --out "$dir/model.dcm" > "$dir/train.json"
  for set in in_scope near_miss banking77 random; do
    "$DEEPCART" text answer --model "$dir/model.dcm" --file "$OUT/$set.txt" --threads "$THREADS" --quiet \
      --json > "$dir/$set.json"
  done
  /usr/bin/python3 - "$OUT" "$dir" "$model" <<'PYEND'
import json, sys
out, dir, model = sys.argv[1:4]
labels = open(f"{out}/in_scope_labels.txt", encoding="utf-8").read().split("\n")[:-1]
answers = json.load(open(f"{dir}/in_scope.json"))
assert len(answers) == len(labels), (len(answers), len(labels))
sure_right = sum(a["sure"] and a["intent"] == l for a, l in zip(answers, labels)) / len(labels)
top1 = sum(a["intent"] == l for a, l in zip(answers, labels)) / len(labels)
recall = {s: sum(not a["sure"] for a in json.load(open(f"{dir}/{s}.json"))) /
             len(json.load(open(f"{dir}/{s}.json"))) for s in ("near_miss", "banking77", "random")}
seconds = float(open(f"{dir}/seconds").read())
print(f"| {model} | {answers[0]['threshold']:.2f} | {sure_right:.4f} | {top1:.4f} | {recall['near_miss']:.4f} "
      f"| {recall['banking77']:.4f} | {recall['random']:.4f} | {seconds:.0f} s |")
PYEND
done
