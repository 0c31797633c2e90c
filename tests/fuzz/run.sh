#!/usr/bin/env bash
# Builds the four libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) and runs each
# for a bounded number of executions from its seed corpus: the server's request JSON, the image
# decoder, the ModelFile reader and the CSV reader. Exits non-zero on any crash, sanitizer report
# or unexpected exception. New inputs the fuzzer finds go to a scratch folder, never to the
# committed seeds (tests/fuzz/corpus, written by make_seeds.py).
# Usage: tests/fuzz/run.sh [RUNS] [TARGET...]   (default 20000 executions per target, all targets)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-20000}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(request_json image model_file csv)
OUT=${FUZZ_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc)

build() {
  case "$1" in
    request_json) clang++ "${FLAGS[@]}" tests/fuzz/request_json_fuzz.cpp src/deepcart/serve/request_json.cpp -o "$OUT/request_json_fuzz" ;;
    image) clang++ "${FLAGS[@]}" tests/fuzz/image_fuzz.cpp src/deepcart/data/image.cpp -lpng -ljpeg -o "$OUT/image_fuzz" ;;
    model_file) clang++ "${FLAGS[@]}" tests/fuzz/model_file_fuzz.cpp src/deepcart/core/model_file_format.cpp -lcrypto -o "$OUT/model_file_fuzz" ;;
    csv) clang++ "${FLAGS[@]}" tests/fuzz/csv_fuzz.cpp src/deepcart/data/csv_reader.cpp src/deepcart/data/gz_reader.cpp src/deepcart/data/table.cpp -lz -o "$OUT/csv_fuzz" ;;
    *) echo "fuzz: unknown target '$1' (request_json, image, model_file, csv)" >&2; exit 2 ;;
  esac
}

seed() {
  mkdir -p "$OUT/$1"
  case "$1" in
    request_json)
      printf '{"user": "u1", "k": 10, "history": ["a", "b"]}' > "$OUT/$1/1"
      printf '{"texts": ["\xe5\xa5\xbd", "ok"], "explain": true}' > "$OUT/$1/2"
      printf '[[[[{"a": [1, 2.5e3, null, true]}]]]]' > "$OUT/$1/3" ;;
    image)
      # A 1x1 PNG and a minimal JPEG, written by hand-checked encoders (see image_test.cpp).
      printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82' > "$OUT/$1/png"
      printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9' > "$OUT/$1/jpeg" ;;
    model_file|csv) cp tests/fuzz/corpus/$1/* "$OUT/$1/" ;;
  esac
}

for t in "${TARGETS[@]}"; do
  build "$t"
  seed "$t"
  max_len=4096
  [ "$t" = image ] && max_len=65536
  echo "fuzz: $t, $RUNS executions"
  if ! ASAN_OPTIONS=detect_leaks=1 "$OUT/${t}_fuzz" -artifact_prefix="$OUT/" -runs="$RUNS" -max_len=$max_len -seed=1 \
      -rss_limit_mb=2048 -print_final_stats=1 "$OUT/$t" > "$OUT/$t.log" 2>&1; then
    tail -40 "$OUT/$t.log" >&2
    echo "fuzz: $t found a problem (log: $OUT/$t.log; input: $(ls "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* "$OUT"/oom-* 2>/dev/null))" >&2
    exit 1
  fi
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|^Done' "$OUT/$t.log"
done
echo "fuzz: ${TARGETS[*]}: $RUNS executions each without a finding"
