#!/usr/bin/env bash
# Cross compilation to 64-bit Arm, run under qemu-user: `sinter build --target-triple aarch64-linux-gnu`
# links the runtime built for aarch64 (runtime/cross/) into a shared library and a training executable,
# and the C API test program, compiled by Debian's cross compiler, passes its checks on them.
#   run_cross_test.sh SINTER SOURCE_DIR WORK_DIR
set -euo pipefail
sinter=$1 src=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
triple=aarch64-linux-gnu
qemu=(qemu-aarch64 -L /usr/$triple)
"$sinter" build "$src/tests/capi/tiny.sn" --emit header -o tiny.h
"$sinter" build "$src/tests/capi/tiny.sn" --emit shared --target-triple $triple -o libtiny.so
file -L libtiny.so | grep -q "ARM aarch64" || fail "libtiny.so is not an aarch64 library: $(file -L libtiny.so)"
$triple-gcc -std=c11 -Wall -Wextra -Werror -I. -I"$src/tests/capi" "$src/tests/capi/evaluate_tiny.c" -L. -ltiny -lm \
  -Wl,-rpath,"$work" -o evaluate_tiny
"${qemu[@]}" ./evaluate_tiny
"$sinter" build "$src/tests/capi/tiny.sn" --emit exe --target-triple $triple -o tiny_train
"${qemu[@]}" ./tiny_train --version | grep -q "(model Tiny), Sinter runtime" || fail "tiny_train --version under qemu"
echo "cross ($triple): all passed"
