#!/usr/bin/env bash
# The GPU check, on the lent machine (one NVIDIA GPU, Ubuntu 24.04, python3 with torch 2.11.0+cu130,
# no package registry), from the repository root, in about 9 minutes all told:
#   1. a Release build of deepcart and the GPU tests in build-gpu/, against LibTorch from that
#      python3's torch and the dependencies bench/gpu/fetch-deps.sh gathered in bench/gpu/deps/
#      (carry that folder with the working tree);
#   2. `ctest -L gpu` and `deepcart doctor`;
#   3. deepcart against PyTorch-Python (bench/peers/, --device cuda) on the same GPU, data,
#      model and batch: SASRec on Amazon Beauty to early stopping (patience 2), NeuMF on ML-100K,
#      cnn and resnet on Fashion-MNIST, gru and transformer on the clothing reviews; then
#      `deepcart serve --device cuda` under load (/v1/recommend, /v1/images/classify);
#   4. one markdown table in $OUT/results.md (printed at the end), every step's JSON in
#      $OUT/results.json and $OUT/raw/, logs in $OUT/log/.
# Every step runs under `timeout`, within what is left of the budget (GPU_BUDGET_SECONDS, 540);
# a failed or timed-out step is recorded and the next one runs; late steps are skipped, with
# the reason, when the budget is spent.
# Usage: [OUT=dir] [THREADS=8] [GPU_BUDGET_SECONDS=540] bash bench/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
T0=$SECONDS
BUDGET=${GPU_BUDGET_SECONDS:-540}
RESERVE=15  # seconds kept for the report
OUT=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUT/raw" "$OUT/log"
OUT=$(cd "$OUT" && pwd)
PY=${PY:-python3}
THREADS=${THREADS:-8}
JOBS=${JOBS:-$(nproc)}
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
DEPS=$ROOT/bench/gpu/deps
SAS_EPOCHS=${SAS_EPOCHS:-20}      # most epochs; early stopping (patience 2) ends SASRec sooner
VISION_EPOCHS=${VISION_EPOCHS:-2}
SERVE_SECONDS=${SERVE_SECONDS:-6}
WORK=$BUILD/bench-work            # models, checkpoints, exported splits (not sent back)
mkdir -p "$WORK"
STEPS=$OUT/steps.tsv
: > "$STEPS"
# The same OpenMP wait for deepcart and the peers (apps/deepcart/cli_common.cpp).
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}

note() { echo "[gpu +$(( SECONDS - T0 ))s] $*"; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$STEPS"; note "$1: $2 ($3 s) $4"; }

# step NAME LIMIT CMD...: CMD's stdout to raw/NAME.out, stderr to log/NAME.log, killed after
# LIMIT seconds or what is left of the budget; returns CMD's status.
step() {
  local name=$1 limit=$2; shift 2
  local remain=$(( BUDGET - (SECONDS - T0) - RESERVE ))
  if (( remain < 20 )); then
    record "$name" skipped 0 "out of time (budget ${BUDGET} s)"
    return 99
  fi
  (( limit > remain )) && limit=$remain
  local t=$SECONDS rc
  timeout -k 10 "$limit" "$@" > "$OUT/raw/$name.out" 2> "$OUT/log/$name.log"
  rc=$?
  local status=ok why=""
  if (( rc == 124 || rc == 137 )); then
    status=timeout; why="killed after ${limit} s"
  elif (( rc != 0 )); then
    status=failed; why="exit $rc: $(grep -v '^\s*$' "$OUT/log/$name.log" | tail -n 3 | tr '\t\n' '  ' | cut -c1-300)"
  fi
  record "$name" "$status" $(( SECONDS - t )) "$why"
  return $rc
}
# skip NAME WHY: records a step that cannot run.
skip() { record "$1" skipped 0 "$2"; }

# --- the machine -----------------------------------------------------------------------------
{
  echo "date: $(date -u)"; uname -a
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())" 2>&1
  cmake --version | head -1; g++ --version | head -1; command -v nvcc && nvcc --version | tail -1
  command -v ninja wrk
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# --- dependencies from bench/gpu/deps ----------------------------------------------------------
if [ -f "$DEPS/sysroot.tar.xz" ]; then
  SYSROOT=$BUILD/sysroot
  rm -rf "$SYSROOT" && mkdir -p "$SYSROOT"
  # tar keeps the files' times, so a kept build tree is not rebuilt for a fresh unpack.
  tar -C "$SYSROOT" -xJf "$DEPS/sysroot.tar.xz" || note "cannot unpack $DEPS/sysroot.tar.xz"
elif [ -d "$DEPS/sysroot/usr" ]; then
  SYSROOT=$DEPS/sysroot
else
  SYSROOT=/nonexistent
  note "no $DEPS/sysroot.tar.xz: run bench/gpu/fetch-deps.sh on the Debian machine and carry bench/gpu/deps"
fi
LIB=$SYSROOT/usr/lib/x86_64-linux-gnu
export PKG_CONFIG_PATH=$LIB/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LIBRARY_PATH=$LIB${LIBRARY_PATH:+:$LIBRARY_PATH}
# Reference BLAS/LAPACK and their Fortran runtime, for deepcart (FAISS) only; not the peers.
DCENV=(env "LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")

# Fashion-MNIST: Debian's folder when the machine has it, else the carried copy
# (deepcart and the vision peer both read $DEEPCART_FASHION_MNIST).
if [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  export DEEPCART_FASHION_MNIST=/usr/share/datasets/fashion-mnist
else
  export DEEPCART_FASHION_MNIST=$DEPS/fashion-mnist
fi

DATA=${DEEPCART_SHARED_DATA:-}
for d in "$ROOT/../shared/data" "$ROOT/shared/data"; do
  [ -z "$DATA" ] && [ -d "$d/rec" ] && DATA=$(cd "$d" && pwd)
done
DATA=${DATA:-$ROOT/../shared/data}
BEAUTY=$DATA/rec/amazon-beauty/Beauty.txt
ML=$DATA/rec/ml-100k/u.data
REVIEWS=$DATA/text/womens-clothing-reviews.csv
note "data: $DATA; Fashion-MNIST: $DEEPCART_FASHION_MNIST; sysroot: $SYSROOT"

# --- build -------------------------------------------------------------------------------------
command -v nvcc > /dev/null || { [ -x /usr/local/cuda/bin/nvcc ] && export PATH=/usr/local/cuda/bin:$PATH; }
GEN=()
[ -f "$BUILD/CMakeCache.txt" ] || ! command -v ninja > /dev/null || GEN=(-G Ninja)
LDFLAGS_DEPS="-L$LIB -Wl,-rpath-link,$LIB"
# tests/CMakeLists.txt finds cpp-httplib through pkg-config: the carried pkgconf where there is none.
PKGCONF=()
command -v pkg-config > /dev/null || PKGCONF=(-DPKG_CONFIG_EXECUTABLE="$SYSROOT/usr/bin/pkgconf")
configure_ok=1
step configure 150 "${DCENV[@]}" cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" "${PKGCONF[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DDEEPCART_TORCH_PYTHON="$PY" \
  -DCMAKE_PREFIX_PATH="$SYSROOT/usr" \
  -Dfaiss_DIR="$LIB/cmake/faiss" \
  -DBoost_DIR="$LIB/cmake/Boost-1.74.0" -DBoost_INCLUDE_DIR="$SYSROOT/usr/include" \
  -DCMAKE_CXX_FLAGS="-isystem $SYSROOT/usr/include" \
  -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS_DEPS" -DCMAKE_SHARED_LINKER_FLAGS="$LDFLAGS_DEPS" \
  -DCMAKE_MODULE_LINKER_FLAGS="$LDFLAGS_DEPS" \
  -DDEEPCART_SHARED_DATA_DIR="$DATA" || configure_ok=0
(( configure_ok )) || { echo "=== configure failed:"; tail -n 30 "$OUT/raw/configure.out" "$OUT/log/configure.log"; }
# Only what this check runs: the program and the GPU tests (not the CPU suite).
if ! step build 420 "${DCENV[@]}" cmake --build "$BUILD" -j "$JOBS" --target deepcart gpu_tests; then
  echo "=== build failed:"; grep -E -B2 -A6 "error|FAILED" "$OUT/raw/build.out" | head -60; tail -n 10 "$OUT/log/build.log"
fi

DC_BIN=$BUILD/apps/deepcart/deepcart
DC=("${DCENV[@]}" "$DC_BIN")
have_dc() { [ -x "$DC_BIN" ]; }

# --- GPU tests and doctor ----------------------------------------------------------------------
if have_dc; then
  echo "=== deepcart doctor"
  timeout 30 "${DC[@]}" doctor 2>&1 | tee "$OUT/doctor.txt"
  step doctor 30 "${DC[@]}" doctor --json
else
  skip doctor "no deepcart binary (build failed)"
fi
if [ -x "$BUILD/tests/gpu_tests" ]; then
  step ctest-gpu 120 "${DCENV[@]}" ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout 110
  echo "=== ctest -L gpu"; tail -n 30 "$OUT/raw/ctest-gpu.out"
else
  skip ctest-gpu "no gpu_tests binary (build failed)"
fi

# --- deepcart against PyTorch-Python, same GPU -------------------------------------------------
dc_step() {  # NAME LIMIT deepcart-args...
  local name=$1 limit=$2; shift 2
  if have_dc; then step "$name" "$limit" "${DC[@]}" "$@"; else skip "$name" "no deepcart binary (build failed)"; fi
}
TRAIN=(--threads "$THREADS" --device cuda --quiet --json)

sasrec() {  # precision
  dc_step "sasrec-$1" 100 rec train --model sasrec --data "$BEAUTY" --split loo --batch-size 128 \
    --epochs "$SAS_EPOCHS" --patience 2 --precision "$1" "${TRAIN[@]}" --out "$WORK/sasrec-$1.dcm"
  step "peer-sasrec-$1" 100 "$PY" bench/peers/sasrec.py --data "$BEAUTY" --batch-size 128 \
    --epochs "$SAS_EPOCHS" --patience 2 --eval --exclude-seen --threads "$THREADS" --device cuda --precision "$1"
}
vision() {  # model precision
  dc_step "$1-$2" 120 vision train --model "$1" --epochs "$VISION_EPOCHS" --batch-size 128 --patience 0 \
    --precision "$2" "${TRAIN[@]}" --out "$WORK/$1-$2.dcm"
  step "peer-$1-$2" 120 "$PY" bench/peers/vision.py --model "$1" --epochs "$VISION_EPOCHS" --batch-size 128 \
    --threads "$THREADS" --device cuda --precision "$2" --data-dir "$DEEPCART_FASHION_MNIST"
}

sasrec fp32

dc_step neumf 60 rec train --model neumf --data "$ML" --split loo --layers 32,16 --negatives 4 \
  --batch-size 256 --epochs 5 --patience 0 --lr 0.001 --precision fp32 "${TRAIN[@]}" --out "$WORK/neumf.dcm"
step peer-neumf 60 "$PY" bench/peers/neumf.py --data "$ML" --epochs 5 --batch-size 256 \
  --threads "$THREADS" --device cuda

vision cnn fp32
vision resnet fp32

for model in gru transformer; do
  rm -rf "$WORK/split-$model"
  dc_step "text-$model" 90 text train --model "$model" --data "$REVIEWS" --text-col Title \
    --text-col "Review Text" --label-col "Recommended IND" --seed 0 --epochs 1 --patience 0 --batch-size 64 \
    --precision fp32 "${TRAIN[@]}" --export-split "$WORK/split-$model" --out "$WORK/text-$model.dcm"
  if [ -f "$WORK/split-$model/train.txt" ]; then
    step "peer-text-$model" 90 "$PY" bench/peers/text.py --split "$WORK/split-$model" --model "$model" \
      --batch-size 64 --threads "$THREADS" --device cuda
  else
    skip "peer-text-$model" "no exported split (deepcart text train did not run)"
  fi
done

# --- serving -----------------------------------------------------------------------------------
if have_dc && [ -f "$WORK/sasrec-fp32.dcm" ] && [ -f "$WORK/cnn-fp32.dcm" ]; then
  step serve $(( 2 * SERVE_SECONDS + 60 )) "${DCENV[@]}" "$PY" bench/gpu/serve_load.py --deepcart "$DC_BIN" \
    --sasrec "$WORK/sasrec-fp32.dcm" --cnn "$WORK/cnn-fp32.dcm" --users-file "$BEAUTY" \
    --fashion-mnist "$DEEPCART_FASHION_MNIST" --seconds "$SERVE_SECONDS" --connections 16 \
    --port "${PORT:-8399}" --log "$OUT/log/serve-server.log"
else
  skip serve "needs the deepcart binary and the SASRec and cnn models of the steps above"
fi

# --- bf16, while time is left ------------------------------------------------------------------
if (( BUDGET - (SECONDS - T0) > 150 )); then vision resnet bf16; fi
if (( BUDGET - (SECONDS - T0) > 150 )); then sasrec bf16; fi

# --- report ------------------------------------------------------------------------------------
note "report ($(( SECONDS - T0 )) s of ${BUDGET} s used)"
"$PY" bench/gpu/report.py "$OUT" || /usr/bin/env python3 bench/gpu/report.py "$OUT"
