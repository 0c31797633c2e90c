#!/usr/bin/env bash
# Sentence-embedding speed of deepcart's C++ MiniLM against Python sentence-transformers, same
# model files, texts, threads and batch sizes, in this one run: banking77's official test
# questions (3,080, about 12 words each), batch 1 (one call per question) and batch 64.
# Usage: bench/text/encoder_speed.sh [threads]   (after the build and `scripts/setup.sh --bench`;
# run it alone: two programs on two cores slow each other)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python3}
BUILD=${BUILD:-build}
# The same OpenMP wait setting the deepcart program gives itself, for both.
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}
THREADS=${1:-2}
DATA=${DEEPCART_SHARED_DATA:-../shared/data}/text
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 -c "
import csv, sys
rows = csv.DictReader(open('$DATA/banking77/test.csv', encoding='utf-8'))
open('$TMP/questions.txt', 'w', encoding='utf-8').write(''.join(r['text'].replace('\n', ' ') + '\n' for r in rows))"
"$BUILD/bench/bench_text_encoder" "$TMP/questions.txt" "$THREADS" > "$TMP/ours.json"
"$PY" bench/peers/encoder.py --texts "$TMP/questions.txt" --threads "$THREADS" > "$TMP/peer.json"
/usr/bin/python3 - "$TMP/ours.json" "$TMP/peer.json" "$THREADS" <<'PYEND'
import json, sys
ours, peer = (json.load(open(p)) for p in sys.argv[1:3])
print(f"| batch (banking77 test, {ours['texts']} questions, threads {sys.argv[3]}) | deepcart texts/s | sentence-transformers texts/s | ratio |")
print("|---|---|---|---|")
for b in ("1", "64"):
    a, p = ours["texts_per_second"][b], peer["texts_per_second"][b]
    print(f"| {b} | {a:.0f} | {p:.0f} | {a / p:.2f}x |")
PYEND
