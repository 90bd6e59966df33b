#!/usr/bin/env bash
# Runs clang-tidy (the checks of .clang-tidy) over the tree's C++ sources with the build's compile commands,
# and fails when it reports anything. Needs a configured build directory (tools/test.sh makes build/).
#   tools/tidy.sh [BUILD_DIR] [PATH_REGEX]      e.g. tools/tidy.sh build 'compiler/ir/'
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
filter=${2:-"$PWD/(compiler|frontend|runtime|tools)/"}
command -v run-clang-tidy > /dev/null || { echo "tools/tidy.sh: run-clang-tidy not found (apt-get install clang-tidy)" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The build's flags are GCC's: clang warns about the few it does not know.
run-clang-tidy -p "$build" -quiet -extra-arg=-Wno-unknown-warning-option "$filter" > "$log" 2>&1 || true
if grep -E "(warning|error): " "$log" | grep -v "warnings generated\|errors generated" | sed 's/\x1b\[[0-9;]*m//g' | sort -u | grep .; then
  echo "tools/tidy.sh: clang-tidy reported the findings above" >&2
  exit 1
fi
echo "tools/tidy.sh: clean"
