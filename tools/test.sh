#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite with ctest.
#   tools/test.sh             Release build in build/, warnings as errors
#   tools/test.sh --sanitize  the same with AddressSanitizer and UBSan, in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
flags=(-DSINTER_WERROR=ON)
for arg in "$@"; do
  case "$arg" in
    --sanitize) build=build-sanitize; flags+=(-DSINTER_SANITIZE=ON) ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "tools/test.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

bash tools/setup-deps.sh
cmake -S . -B "$build" -G Ninja "${flags[@]}"
cmake --build "$build" -j "$(nproc)"
# Leak checking stays on; UBSan findings abort the test that hit them.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
