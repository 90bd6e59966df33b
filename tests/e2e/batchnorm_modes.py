#!/usr/bin/env python3
"""End-to-end test of examples/fashion_batchnorm.sn: its running statistics are states that the train steps
update and `--save` keeps, and evaluation uses them, so the test accuracy does not depend on the batch size.

1. `sinter train` for one epoch on 4000 images saves the weights; the saved running means and variances
   must have moved from their initial zeros and ones (the train step updated them).
2. `sinter run --batch 1` and `--batch 64` on 1000 test images must report the same accuracy and the same
   predictions (to float32 rounding): in inference each sample is normalized by the running statistics alone.
   A model normalizing by the batch's statistics fails this (issue 17 measured 9.85% against 84%).
3. The accuracy must beat a threshold an untrained net cannot pass (one epoch measured 81.9%; --lr 0 stays
   near chance)."""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"
THRESHOLD = 0.6


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        sys.stdout.write(p.stderr)
        print(f"FAIL: exit status {p.returncode}")
        sys.exit(1)
    return p.stdout


def safetensors(path):
    """The tensors of a safetensors file, by name (f32 only: the example's)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", f"{name}: {t['dtype']}"
        begin, end = t["data_offsets"]
        out[name] = np.frombuffer(body[begin:end], dtype=np.float32).reshape(t["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    model = os.path.join(a.source, "examples", "fashion_batchnorm.sn")
    weights = os.path.join(a.workdir, "batchnorm.safetensors")
    data = ["--data", DATA, "--limit-test", "1000"]
    run([a.sinter, "train", model, "--"] + data +
        ["--limit-train", "4000", "--epochs", "1", "--threads", "1", "--no-train-acc", "--save", weights])
    failures = []
    w = safetensors(weights)
    for layer in ("bn1", "bn2", "bn3"):
        mean, var = w[f"{layer}.running_mean"], w[f"{layer}.running_var"]
        moved = np.max(np.abs(mean)) > 1e-3 and np.max(np.abs(var - 1)) > 1e-3
        print(f"{'ok  ' if moved else 'FAIL'}  {layer}: running mean up to {np.max(np.abs(mean)):.3g}, "
              f"running variance {np.min(var):.3g} to {np.max(var):.3g}")
        if not moved:
            failures.append(f"{layer}'s running statistics did not move")
    results = {}
    for batch in (1, 64):
        preds = os.path.join(a.workdir, f"batchnorm_preds_{batch}.npy")
        out = run([a.sinter, "run", model, "--load", weights, "--batch", str(batch), "--threads", "1",
                   "--predictions", preds] + data)
        m = re.search(r"accuracy\s+([0-9.]+)%", out)
        assert m, "no accuracy in the output of sinter run"
        results[batch] = (float(m.group(1)) / 100, np.load(preds))
    (acc1, p1), (acc64, p64) = results[1], results[64]
    diff = float(np.max(np.abs(p1 - p64)))
    print(f"accuracy with --batch 1: {acc1:.4f}, with --batch 64: {acc64:.4f}; predictions differ by {diff:.2e}")
    if acc1 != acc64 or diff > 1e-5:
        failures.append("the batch size changed the results")
    if acc64 <= THRESHOLD:
        failures.append(f"test accuracy {acc64:.4f} is not above {THRESHOLD}")
    for f in failures:
        print("FAIL: " + f)
    print("PASS" if not failures else f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
