#!/usr/bin/env bash
# Installs every Debian package deepcart needs to build, test and benchmark.
# Idempotent and non-interactive; fast (no apt-get at all) when everything is present.
set -euo pipefail

packages=(
  # build
  cmake g++ make ninja-build pkg-config git
  # engine: LibTorch C++ API, fast BLAS, c10d Gloo headers
  libtorch-dev libopenblas0-pthread libgloo-dev
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
  # real product images
  dataset-fashion-mnist
)

# Peers for the side-by-side benchmarks (bench/): only with --bench.
if [ "${1:-}" = "--bench" ]; then
  packages+=(python3-torch python3-torchvision fasttext wrk)
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
