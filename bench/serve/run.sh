#!/usr/bin/env bash
# Server throughput with wrk (Debian's): /v1/recommend (16 connections), /v1/reviews/analyze
# with 32 texts per request, and /v1/images/classify with micro-batching on and off. Reports
# req/s, p50/p99, non-2xx responses and the server's RSS before and after each run.
# Usage: [BENCH_SECONDS=60] bench/serve/run.sh [DEMO_DIR]   (after the build, `scripts/setup.sh --bench`
#        and `deepcart demo --out DEMO_DIR`; run it alone: wrk and the server share the 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
DEEPCART=${DEEPCART:-build/apps/deepcart/deepcart}
DEMO=${1:-demo-out}
SECONDS_PER_RUN=${BENCH_SECONDS:-60}  # not $SECONDS: bash sets that one itself
PORT=${PORT:-8299}
TMP=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$TMP"' EXIT

start() {  # extra serve flags...
  # shellcheck disable=SC2086
  "$DEEPCART" serve --models "$DEMO/models" --port "$PORT" --no-log ${SERVE_FLAGS:-} "$@" > "$TMP/serve.out" 2> "$TMP/serve.err" &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "localhost:$PORT/readyz" > /dev/null && return; sleep 0.1; done
  echo "server did not start: $(cat "$TMP/serve.err")" >&2; exit 1
}
stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; }
rss() { awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$SERVER/status"; }

bench() {  # label, connections, script, per-request items
  local label=$1 conns=$2 script=$3 items=$4 before after
  before=$(rss)
  wrk -t2 -c"$conns" -d"${SECONDS_PER_RUN}s" --latency -s "bench/serve/$script" "http://localhost:$PORT" > "$TMP/wrk.txt"
  after=$(rss)
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk.txt"); non2xx=${non2xx:-0}
  local errors; errors=$(awk '/Socket errors/ {print $0}' "$TMP/wrk.txt"); errors=${errors:-none}
  echo "| $label | $conns | $rps | $(/usr/bin/python3 -c "print('%.0f' % ($rps * $items))") | $p50 | $p99 | $non2xx | $errors | $before -> $after |"
}

curl_png() { curl -sf "localhost:$PORT/v1/images/catalogue?id=fashion-mnist:test:0" -o "$TMP/image.png"; }

echo "| route | connections | req/s | items/s | p50 | p99 | non-2xx | socket errors | server RSS before -> after |"
echo "|---|---|---|---|---|---|---|---|---|"
start
curl_png
export IMAGE="$TMP/image.png"
bench "/v1/recommend (sasrec, k 10)" 16 recommend.lua 1
bench "/v1/reviews/analyze (32 texts, bow)" 16 analyze.lua 32
bench "/v1/images/classify (cnn, batching on: up to 64, no wait, 2 workers)" 16 classify.lua 1
stop
start --batch-delay-ms 2
bench "/v1/images/classify (cnn, batching on: up to 64, 2 ms wait, 2 workers)" 16 classify.lua 1
stop
start --max-batch 1
bench "/v1/images/classify (cnn, batching off, 2 workers)" 16 classify.lua 1
stop
