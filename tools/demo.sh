#!/usr/bin/env bash
# The main job: installs what is missing, builds Sinter, compiles examples/fashion_mlp.sn into a
# training executable and trains it on the full Fashion-MNIST, printing loss and accuracy per epoch.
# Weights: build/fashion_mlp.safetensors; a resumable checkpoint (weights, optimizer state, position):
# build/fashion_mlp.ckpt/; metrics: build/fashion_mlp.metrics.jsonl, drawn in build/fashion_mlp.curves.svg.
# Extra arguments go to the executable (for example --epochs 2, or --resume after an interruption;
# build/fashion_mlp --help lists them all).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup-deps.sh
cmake -S . -B build -G Ninja
cmake --build build -j "$(nproc)"

echo "== compiling examples/fashion_mlp.sn into build/fashion_mlp"
build/tools/sinter build examples/fashion_mlp.sn --emit exe --target-cpu native -o build/fashion_mlp

echo "== training on Fashion-MNIST (/usr/share/datasets/fashion-mnist)"
build/fashion_mlp --data /usr/share/datasets/fashion-mnist --save build/fashion_mlp.safetensors \
  --checkpoint-dir build/fashion_mlp.ckpt --metrics build/fashion_mlp.metrics.jsonl "$@"

build/tools/sinter plot build/fashion_mlp.metrics.jsonl -o build/fashion_mlp.curves.svg
echo "learning curves: build/fashion_mlp.curves.svg"
