#!/usr/bin/env bash
# Gathers, on this Debian 12 machine, what the GPU machine (Ubuntu 24.04, no package registry)
# lacks to build and benchmark deepcart, into bench/gpu/deps/ (git-ignored), for bench/gpu/run.sh:
#   - FAISS (libfaiss-dev: static, with its CMake config) and what it links: Debian's reference
#     BLAS and LAPACK (libblas3, liblapack3; OpenBLAS's 36 MB library would not fit the transfer)
#     with their Fortran runtime (libgfortran5, libquadmath0);
#   - utf8proc (static), cpp-httplib (the API tests' client) with Brotli, the c10d Gloo headers;
#   - the Boost headers that Beast and Asio need (2,300 of Boost's 14,000 files, about 12 MiB);
#   - pkgconf (pkgconf-bin, libpkgconf3), used only where the GPU machine has no pkg-config;
#   - Debian's dataset-fashion-mnist (the four .gz files, 30 MiB).
# Layout: deps/fashion-mnist/*.gz as shipped, and deps/sysroot.tar.xz (the rest, a usr/ tree:
# about 35 MiB unpacked, 6 MiB packed), which run.sh unpacks on the GPU machine.
# DEPS_UNPACKED=1 leaves the usr/ tree unpacked in deps/sysroot/ instead (about 64 MiB in all:
# too big for the transfer with anything else).
# Usage: bash bench/gpu/fetch-deps.sh   (needs apt-get download access; compiles nothing)
set -euo pipefail
cd "$(dirname "$0")/../.."
DEPS=bench/gpu/deps
MA=x86_64-linux-gnu
packages=(
  libfaiss-dev libblas3 liblapack3 libgfortran5 libquadmath0
  libutf8proc-dev
  libcpp-httplib-dev libcpp-httplib0.11 libbrotli-dev libbrotli1
  libboost1.74-dev
  libgloo-dev
  pkgconf-bin libpkgconf3
  dataset-fashion-mnist
)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/debs" "$TMP/root"
chmod 777 "$TMP/debs"  # apt-get download drops to the _apt user where it can
(cd "$TMP/debs" && apt-get download -q "${packages[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
for p in "${packages[@]}"; do
  ls "$TMP/debs/${p}_"*.deb > /dev/null 2>&1 || { echo "fetch-deps: $p did not download" >&2; exit 1; }
done
for deb in "$TMP"/debs/*.deb; do dpkg -x "$deb" "$TMP/root"; done
R=$TMP/root/usr
L=$R/lib/$MA

# Documentation, and what the build does not use: the gloo library (the torch wheel has Gloo
# compiled in; only its headers are needed) and its CMake files, utf8proc's shared-library link
# (its .so is not shipped, so -lutf8proc takes the static archive), Brotli's static archives.
rm -rf "$R/share/doc" "$R/share/lintian" "$R/share/man" "$R/share/cmake" "$R/lib/libgloo.so"
rm -f "$L/libutf8proc.so" "$L"/libbrotli*.a

# Boost: keep the include closure of the Boost headers deepcart's sources include.
python3 - "$R/include" "$PWD" <<'PY'
"""Keep only the Boost headers that deepcart's Beast/Asio server needs: the include closure of
the ones its sources name, over-approximated (every "boost/..." name in a kept file counts,
whatever #if it sits under), plus whole folders whose files are included through macros."""
import os, re, sys
root, repo = sys.argv[1], sys.argv[2]
used = {"boost/version.hpp", "boost/beast/core.hpp", "boost/beast/http.hpp"}
for top in ("src", "apps", "tests", "bench"):
    for dp, _, fs in os.walk(os.path.join(repo, top)):
        for f in fs:
            if f.endswith((".cpp", ".h", ".hpp", ".cc")):
                used |= set(re.findall(r'^\s*#\s*include\s*<(boost/[^>]+)>', open(os.path.join(dp, f), errors="replace").read(), re.M))
missing = sorted(u for u in used if not os.path.isfile(os.path.join(root, u)))
if missing:
    sys.exit("fetch-deps: Boost headers not in libboost1.74-dev: " + " ".join(missing))
used = sorted(used)
# Computed includes (#include MACRO): config picks its compiler/platform/stdlib files,
# preprocessor iterates, mpl reads its preprocessed GCC headers and numbered list/vector/set/map
# files, numeric/conversion its preprocessed traits, function and type_traits iterate.
macro_dirs = ["boost/config", "boost/preprocessor", "boost/mpl", "boost/numeric/conversion",
              "boost/function/detail", "boost/type_traits"]
other_compilers = {"bcc", "bcc551", "bcc_pre590", "dmc", "msvc60", "msvc70", "mwcw", "no_ctps", "no_ttp"}
starts = list(used)
for d in macro_dirs:
    for dp, _, fs in os.walk(os.path.join(root, d)):
        if "/preprocessed/" in dp + "/" and os.path.basename(dp) in other_compilers:
            continue
        starts += [os.path.relpath(os.path.join(dp, f), root) for f in fs]
ref = re.compile(r'[<"](boost/[A-Za-z0-9_./-]+)[>"]')
quoted = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
computed = re.compile(r'^\s*#\s*include\s+[A-Za-z_]', re.M)
seen, stack, macro_users = set(), list(starts), set()
while stack:
    rel = os.path.normpath(stack.pop())
    if rel in seen or not os.path.isfile(os.path.join(root, rel)):
        continue
    seen.add(rel)
    text = open(os.path.join(root, rel), errors="replace").read()
    stack += ref.findall(text)
    stack += [os.path.join(os.path.dirname(rel), n) for n in quoted.findall(text)]
    if computed.search(text):
        macro_users.add(rel)
# Files with computed includes outside those folders; each was checked by hand: the macro
# names a file already kept (BOOST_PP_ITERATION_PARAMS with a <boost/...> name) or one a user
# would define (BOOST_ASIO_CUSTOM_HANDLER_TRACKING, BOOST_TYPE_INDEX_USER_TYPEINDEX, the
# BOOST_INTRUSIVE_*_ASSERT_INCLUDE hooks), which deepcart does not.
checked = {"boost/asio/detail/handler_tracking.hpp", "boost/config.hpp", "boost/function.hpp",
           "boost/intrusive/detail/assert.hpp", "boost/type_index.hpp", "boost/utility/result_of.hpp"}
new = sorted(m for m in macro_users - checked if not any(m.startswith(d + "/") for d in macro_dirs))
if new:
    sys.exit("fetch-deps: Boost files with computed includes not yet checked: " + " ".join(new))
for dp, _, fs in os.walk(os.path.join(root, "boost")):
    for f in fs:
        if os.path.relpath(os.path.join(dp, f), root) not in seen:
            os.remove(os.path.join(dp, f))
for dp, _, _ in sorted(os.walk(os.path.join(root, "boost")), key=lambda w: -len(w[0])):
    if not os.listdir(dp):
        os.rmdir(dp)
kept = sum(os.path.getsize(os.path.join(root, r)) for r in seen)
print(f"fetch-deps: Boost headers kept: {len(seen)} files, {kept / 2**20:.1f} MiB")
PY

# BLAS and LAPACK: Debian picks the implementation through update-alternatives links, which
# dpkg -x does not make; name the reference ones where FAISS's CMake file looks.
ln -sf blas/libblas.so.3 "$L/libblas.so.3"
ln -sf libblas.so.3 "$L/libblas.so"
ln -sf lapack/liblapack.so.3 "$L/liblapack.so.3"
ln -sf liblapack.so.3 "$L/liblapack.so"
# FAISS's CMake targets name /usr/lib/x86_64-linux-gnu/lib{blas,lapack}.so: relative to the
# unpacked tree instead (the file already computes _IMPORT_PREFIX from its own place).
sed -i "s|/usr/lib/$MA/libblas.so|\${_IMPORT_PREFIX}/lib/$MA/libblas.so|g; s|/usr/lib/$MA/liblapack.so|\${_IMPORT_PREFIX}/lib/$MA/liblapack.so|g" \
  "$L/cmake/faiss/faiss-targets.cmake"
grep -q "_IMPORT_PREFIX}/lib/$MA/libblas.so" "$L/cmake/faiss/faiss-targets.cmake"
# pkg-config files: relative to their own folder; cpp-httplib's Requires.private (openssl, zlib,
# brotli) matter only for static linking and would make pkg-config demand their .pc files.
for pc in "$L"/pkgconfig/*.pc; do
  sed -i 's|^prefix=/usr$|prefix=${pcfiledir}/../../..|; s|^exec_prefix=/usr$|exec_prefix=${prefix}|' "$pc"
done
sed -i '/^Requires.private:/d' "$L/pkgconfig/cpp-httplib.pc"

rm -rf "$DEPS"
mkdir -p "$DEPS/fashion-mnist"
mv "$R"/share/datasets/fashion-mnist/*.gz "$DEPS/fashion-mnist/"
rm -rf "$R/share"
{
  echo "# bench/gpu/deps: made by bench/gpu/fetch-deps.sh on $(date -u +%Y-%m-%d) from Debian 12 packages:"
  for deb in "$TMP"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done
  echo "# sysroot (usr/), unpacked sizes:"
  (cd "$TMP/root" && du -sh --apparent-size usr/include/* usr/lib/$MA/* 2>/dev/null | grep -v "^0")
} > "$DEPS/MANIFEST.txt"
if [ "${DEPS_UNPACKED:-0}" = 1 ]; then
  mkdir -p "$DEPS/sysroot"
  mv "$TMP/root/usr" "$DEPS/sysroot/"
else
  # One core, politely: the machine may be busy.
  tar -C "$TMP/root" -cf - usr | nice -n 19 xz -6 -T1 > "$DEPS/sysroot.tar.xz"
fi
echo "fetch-deps: $DEPS holds:"
du -sh --apparent-size "$DEPS"/*
du -sh --apparent-size "$DEPS" | sed "s/\t.*/\tin all/"
