#!/usr/bin/python3
"""ONNX export checked in ONNX Runtime: each example is compiled, given weights (its initializers drawn by
`sinter_create`, saved as safetensors), exported with `sinter export`, and run in ONNX Runtime (npm's
onnxruntime-node, CPU, installed by this test into its work directory with `npm install --ignore-scripts`).
ONNX Runtime's outputs on 256 Fashion-MNIST test images must equal `sinter run --predictions` within 1e-5.
Then the exported file is imported back (`sinter import`, `sinter build model.onnx`): the same outputs, and
the same compute ops in its graph as the model file's forward graph.

When npm or the npm registry is missing, the ONNX Runtime comparison cannot run: the test says so and exits
77, which ctest reports as skipped (the round trip still runs first)."""
import argparse
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
import parity_lib as P  # noqa: E402

TOLERANCE = 1e-5
SKIP = 77
EXAMPLES = ["fashion_mlp", "fashion_cnn"]
# The ops that compute (not the loss, not dropout, which is the identity in inference).
COMPUTE = re.compile(r"= (matmul|conv2d|max_pool2d|avg_pool2d|relu|softmax|tanh|sigmoid)\(")


# node and npm run no code of Sinter's: in a sanitizer build they must not get the ASan runtime that ctest
# preloads for the libraries this script loads (tests/CMakeLists.txt, sinter_preload_sanitizer).
NODE_ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def install_ort(workdir):
    """The onnxruntime-node package in workdir/npm, or the reason it cannot be had."""
    prefix = os.path.join(workdir, "npm")
    if os.path.isdir(os.path.join(prefix, "node_modules", "onnxruntime-node")):
        return os.path.join(prefix, "node_modules"), None
    if not shutil.which("npm") or not shutil.which("node"):
        return None, "node and npm are not installed (Debian: apt-get install nodejs npm)"
    r = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", prefix,
                        "onnxruntime-node"], capture_output=True, text=True, timeout=600, env=NODE_ENV)
    if r.returncode != 0:
        return None, "npm install --ignore-scripts onnxruntime-node failed (is the npm registry reachable?):\n" + \
            (r.stderr or r.stdout)[-2000:]
    return os.path.join(prefix, "node_modules"), None


def compute_ops(sinter, model):
    return sorted(COMPUTE.findall(run([sinter, "dump", model, "--stage=graph"])))


def check_example(args, name, x, y, modules):
    source = os.path.join(args.source, "examples", name + ".sn")
    work = lambda f: os.path.join(args.workdir, f)
    run([args.sinter, "build", source, "--emit", "shared", "-o", work(f"lib{name}.so"), "--target-cpu", "native"])
    model = P.SinterModel(work(f"lib{name}.so"), seed=7)
    assert model.lib.sinter_save_weights(ctypes.c_void_p(model.inst), work(name + ".safetensors").encode()) == 0
    onnx = work(name + ".onnx")
    run([args.sinter, "export", source, "--load", work(name + ".safetensors"), "-o", onnx])
    np.save(work("x.npy"), x)
    np.save(work("y.npy"), y)
    run([args.sinter, "run", source, "--load", work(name + ".safetensors"), "--test-input", "image=" + work("x.npy"),
         "--test-input", "label=" + work("y.npy"), "--predictions", work(name + "_pred.npy"), "--threads", "1"])
    want = np.load(work(name + "_pred.npy"))
    ok = True

    # Round trip: the exported file imported back computes the same outputs with the same ops.
    run([args.sinter, "import", onnx, "--weights", work(name + "_back.safetensors")])
    run([args.sinter, "build", onnx, "--emit", "shared", "-o", work(f"lib{name}_back.so"), "--target-cpu", "native"])
    back = P.SinterModel(work(f"lib{name}_back.so"))
    assert back.lib.sinter_load_weights(ctypes.c_void_p(back.inst), work(name + "_back.safetensors").encode()) == 0
    got = list(back.forward([x]).values())[0]
    err = float(np.max(np.abs(got - want)))
    same_ops = compute_ops(args.sinter, source) == compute_ops(args.sinter, onnx)
    print(f"{'ok  ' if err <= TOLERANCE and same_ops else 'FAIL'} {name}: export -> import: max error {err:.2e}, "
          f"same compute ops: {same_ops}")
    ok = ok and err <= TOLERANCE and same_ops

    if modules:
        x.tofile(work("x.f32"))
        out = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_ort.js"), modules,
                              onnx, "image", work("x.f32"), ",".join(map(str, x.shape)), work(name + "_ort_")],
                             capture_output=True, text=True, env=NODE_ENV)
        if out.returncode != 0:
            sys.exit(f"FAIL: ONNX Runtime could not run {onnx}:\n{out.stderr}")
        first = json.loads(out.stdout.splitlines()[0])
        got = np.fromfile(work(name + "_ort_" + first["name"] + ".f32"), dtype=np.float32).reshape(first["dims"])
        err = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
        print(f"{'ok  ' if err <= TOLERANCE else 'FAIL'} {name}: ONNX Runtime vs sinter run: output "
              f"'{first['name']}' {list(got.shape)}, max error {err:.2e} (tolerance {TOLERANCE:g})")
        ok = ok and err <= TOLERANCE
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    modules, why = install_ort(args.workdir)
    if why:
        print(f"ONNX Runtime unavailable, its comparison is skipped: {why}")
    x = (P.read_idx(os.path.join(P.DATA, "t10k-images-idx3-ubyte.gz"), 256).reshape(-1, 784) / 255).astype(np.float32)
    y = P.read_idx(os.path.join(P.DATA, "t10k-labels-idx1-ubyte.gz"), 256).astype(np.int32)
    results = [check_example(args, name, x, y, modules) for name in EXAMPLES]
    if not all(results):
        sys.exit("FAIL: an exported model differs")
    if why:
        print("SKIPPED: the ONNX Runtime comparison (see above); the round trip passed")
        sys.exit(SKIP)
    print(f"all {len(EXAMPLES)} exported examples match in ONNX Runtime and round trip")


if __name__ == "__main__":
    main()
