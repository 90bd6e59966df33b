#!/usr/bin/env bash
# Installs the Debian 12 packages Sinter needs to build, test and run its demo; with --fuzz, also clang-19
# and its sanitizer and libFuzzer runtimes for the fuzz targets (tools/test.sh --fuzz).
# Idempotent: when every package is present it only checks and returns at once.
set -euo pipefail

packages=(
  cmake g++ ninja-build
  llvm-19-dev libzstd-dev       # LLVM 19 (its CMake config needs zstd)
  llvm-19-tools                 # FileCheck and lit for golden tests
  libfmt-dev libboost-graph-dev catch2 zlib1g-dev libcli11-dev nlohmann-json3-dev
  python3                       # lit runs on python3
  libonnx-dev libprotobuf-dev protobuf-compiler  # ONNX in and out (frontend/onnx): protobuf classes, checker
  nodejs                        # runs ONNX Runtime (npm's onnxruntime-node, which tests/onnx installs) on exports
  dataset-fashion-mnist         # real data for the demo and end-to-end tests
  python3-torch python3-numpy   # the PyTorch peer: parity tests and tools/bench
  libopenblas0-openmp           # so that torch's BLAS is a tuned one, not the reference BLAS
  valgrind                      # helgrind checks the C API's threads (tests/capi)
  help2man dpkg-dev file pkgconf  # the man page, cpack -G DEB's dependencies, tests/install
  g++-aarch64-linux-gnu zlib1g-dev:arm64 qemu-user  # the aarch64 runtime and tests/cross under qemu
  libopenmpi-dev openmpi-bin    # `sinter build --mpi`: data-parallel training (docs/distributed.md)
  librsvg2-dev                  # `sinter plot -o curves.png` rasterizes its SVG
  graphviz                      # tests/lit checks that `sinter dump --format dot` is a graph dot reads
)
if [ "${1:-}" = --fuzz ]; then
  packages+=(clang-19 libclang-rt-19-dev)   # libFuzzer, ASan and UBSan for clang
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# npm installs the test-only ONNX Runtime (tests/onnx). A machine whose Node.js bundles its own npm (NodeSource's)
# keeps it: Debian's npm package would conflict with that Node.js.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# zlib1g-dev:arm64 is a multiarch package: apt knows arm64 packages once dpkg knows the architecture.
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
