#!/usr/bin/env python3
"""End-to-end test of one example model: `sinter train` (the JIT) for one epoch on a slice of Fashion-MNIST,
then the test figure of the metrics file against a threshold that a model which does not learn cannot pass.

The thresholds sit between two measured runs (seed 1, one thread): the example as it is, and a run with
`--lr 0`, i.e. zeroed updates, which stays at or below chance (3% to 12%; 0.17 mean squared error for the
autoencoder; examples/README.md has the table). Each threshold is well below the trained figure, so rounding
changes cannot flip the result, but a model that stops learning, or learns much worse, fails. To see a
failure: --driver-arg=--lr=0.

Every example compiles at the default -O3, as a user's would (since identical kernels share one function,
the unrolled LSTM compiles in about a second)."""
import argparse
import json
import os
import subprocess
import sys

DATA = "/usr/share/datasets/fashion-mnist"

# example: (-O, training images, test images, metric, threshold, the measured trained figure)
EXAMPLES = {
    "cnn": (3, 4000, 1000, "test_accuracy", 0.55, "71.5%"),
    "rnn": (3, 5000, 1000, "test_accuracy", 0.45, "60.9%"),
    "lstm": (3, 4000, 1000, "test_accuracy", 0.42, "57.6%"),
    "gru": (3, 4000, 1000, "test_accuracy", 0.45, "60.3%"),
    # 784 steps of one pixel each (a scan): learns slowly, but far from the 9.4% of --lr 0.
    "pixel_gru": (3, 4000, 1000, "test_accuracy", 0.15, "21.9%"),
    "attention": (3, 5000, 1000, "test_accuracy", 0.45, "63.6%"),
    # 79 steps, all inside the 200-step warm-up: the rate never reaches its peak.
    "transformer": (3, 5000, 1000, "test_accuracy", 0.40, "56.8%"),
    "multitask": (3, 5000, 1000, "test_accuracy", 0.60, "77.4%"),
    "recursive": (3, 5000, 1000, "test_accuracy", 0.60, "75.3%"),
    # The autoencoder's figure is the reconstruction error, lower is better. 0.065 is also well under 0.087,
    # the error of the best answer that ignores the input (the mean training image, computed with numpy).
    "autoencoder": (3, 5000, 1000, "test_loss", 0.065, "0.047"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--example", required=True, choices=sorted(EXAMPLES))
    ap.add_argument("--driver-arg", action="append", default=[], help="an extra flag for the training driver")
    a = ap.parse_args()
    opt, n_train, n_test, metric, threshold, measured = EXAMPLES[a.example]
    os.makedirs(a.workdir, exist_ok=True)
    metrics = os.path.join(a.workdir, f"{a.example}_metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    cmd = [a.sinter, "train", "-O", str(opt), os.path.join(a.source, "examples", f"fashion_{a.example}.sn"), "--",
           "--data", DATA, "--limit-train", str(n_train), "--limit-test", str(n_test), "--epochs", "1",
           "--threads", "1", "--no-train-acc", "--no-save", "--metrics", metrics] + a.driver_arg
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        sys.stdout.write(p.stderr)
        print(f"FAIL: sinter train exited with {p.returncode}")
        sys.exit(1)
    with open(metrics) as f:
        value = json.loads(f.readline())[metric]
    lower_is_better = metric.endswith("loss")
    ok = value < threshold if lower_is_better else value > threshold
    print(f"{metric} after one epoch on {n_train} images: {value:.4f}, needs {'<' if lower_is_better else '>'} "
          f"{threshold} (measured when written: {measured})")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
