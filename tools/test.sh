#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite with ctest.
#   tools/test.sh             Release build in build/, warnings as errors
#   tools/test.sh --sanitize  the same with AddressSanitizer and UBSan, in build-sanitize/
#   tools/test.sh --fuzz [S]  the libFuzzer targets (clang-19), each for S seconds (default 20), in build-fuzz/
# docs/testing.md says what each run covers and how to run the fuzzers longer.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
flags=(-DSINTER_WERROR=ON)
fuzz=
fuzz_seconds=20
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) build=build-sanitize; flags+=(-DSINTER_SANITIZE=ON) ;;
    --fuzz)
      fuzz=1
      if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then fuzz_seconds=$2; shift; fi ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "tools/test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -n "$fuzz" ]; then
  bash tools/setup-deps.sh --fuzz
  # Only the fuzz targets are built: SINTER_FUZZ instruments every library they link for coverage.
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DSINTER_FUZZ=ON \
    -DSINTER_FUZZ_SECONDS="$fuzz_seconds"
  targets=$(cmake --build build-fuzz --target help | sed -n 's/^\(sinter_fuzz_[a-z_]*\):.*/\1/p')
  # shellcheck disable=SC2086
  cmake --build build-fuzz -j "$(nproc)" --target $targets
  # One fuzzer at a time: each uses a core, and their times add up predictably.
  ctest --test-dir build-fuzz -L fuzz --output-on-failure
  exit 0
fi

bash tools/setup-deps.sh
cmake -S . -B "$build" -G Ninja "${flags[@]}"
cmake --build "$build" -j "$(nproc)"
# Leak checking stays on; UBSan findings abort the test that hit them.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ "$build" = build-sanitize ]; then
  # ASan's redzones make every frame several times larger: the frontend's nesting limit (2048 levels),
  # sized for the default 8 MiB stack, needs a larger one under the sanitizers.
  ulimit -s 65536
fi
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
