#!/usr/bin/env bash
# Builds tests/capi/tiny.sn into a shared and a static library with a generated header, compiles
# train_tiny.c against each with the system C compiler, and runs it.
set -euo pipefail
sinter=$1 src=$2 work=$3
mkdir -p "$work" && cd "$work"
rm -f libtiny.so libtiny.a tiny.h train_shared train_static
"$sinter" build "$src/tiny.sn" --emit header -o tiny.h
"$sinter" build "$src/tiny.sn" --emit shared -o libtiny.so
"$sinter" build "$src/tiny.sn" --emit static -o libtiny.a
# The header is valid C11 and C++ with every warning on.
cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -x c tiny.h
c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -x c++ tiny.h
# Shared: nothing of LLVM or the compiler at run time.
cc -std=c11 -Wall -Wextra -Werror -I. "$src/train_tiny.c" -L. -ltiny -Wl,-rpath,"$work" -lm ${SINTER_LINK_FLAGS:-} -o train_shared
if ldd ./libtiny.so | grep -i llvm; then echo "FAIL: libtiny.so links LLVM"; exit 1; fi
./train_shared "$work/tiny_shared.safetensors"
# Static: the runtime is C++, so the C program links the C++ standard library too.
cc -std=c11 -Wall -Wextra -Werror -I. "$src/train_tiny.c" libtiny.a -lstdc++ -lz -lm ${SINTER_LINK_FLAGS:-} -o train_static
./train_static "$work/tiny_static.safetensors"
