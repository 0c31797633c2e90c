#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) and runs each
# for a bounded number of executions, starting from small seed inputs. Exit non-zero on any crash,
# sanitizer report or unexpected exception.
# Usage: tests/fuzz/run.sh [RUNS]   (default 20000 executions per target)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-20000}
OUT=${FUZZ_OUT:-$(mktemp -d)}
FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc)

clang++ "${FLAGS[@]}" tests/fuzz/request_json_fuzz.cpp src/deepcart/serve/request_json.cpp -o "$OUT/request_json_fuzz"
clang++ "${FLAGS[@]}" tests/fuzz/image_fuzz.cpp src/deepcart/data/image.cpp -lpng -ljpeg -o "$OUT/image_fuzz"

mkdir -p "$OUT/json" "$OUT/image"
printf '{"user": "u1", "k": 10, "history": ["a", "b"]}' > "$OUT/json/1"
printf '{"texts": ["\xe5\xa5\xbd", "ok"], "explain": true}' > "$OUT/json/2"
printf '[[[[{"a": [1, 2.5e3, null, true]}]]]]' > "$OUT/json/3"
# Seeds for the decoder: a tiny PNG and a tiny JPEG (made by the fuzzer build's own tools would
# need more code; these are 1x1 images written by hand-checked encoders: see image_test.cpp).
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82' > "$OUT/image/png"
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9' > "$OUT/image/jpeg"

ASAN_OPTIONS=detect_leaks=1 "$OUT/request_json_fuzz" -artifact_prefix="$OUT/" -runs="$RUNS" -max_len=4096 -seed=1 "$OUT/json" 2>&1 | tail -2
ASAN_OPTIONS=detect_leaks=1 "$OUT/image_fuzz" -artifact_prefix="$OUT/" -runs="$RUNS" -max_len=65536 -seed=1 -rss_limit_mb=2048 "$OUT/image" 2>&1 | tail -2
echo "fuzz: both targets ran $RUNS executions without a finding"
