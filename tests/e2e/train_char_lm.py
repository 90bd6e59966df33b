#!/usr/bin/env python3
"""End to end: examples/char_lm.sn compiled into a training executable learns the GNU GPL version 3 (Debian's
base-files: /usr/share/common-licenses/GPL-3) from the command line with no flag but the data's, and its
validation perplexity falls epoch after epoch, far below that of the same run with --lr 0."""
import argparse
import json
import os
import shutil
import subprocess
import sys

TEXT = "/usr/share/common-licenses/GPL-3"
EPOCHS = 3


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(p.stdout + p.stderr)
    return p


def epochs(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    if not os.path.exists(TEXT):
        print(f"SKIP: {TEXT} missing (Debian's base-files ships it)")
        return
    work = os.path.join(a.workdir, "char_lm")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    exe = os.path.join(work, "char_lm")
    if run([a.sinter, "build", os.path.join(a.source, "examples", "char_lm.sn"), "--emit", "exe", "-o", exe]).returncode:
        fail("sinter build failed")

    # The train block's defaults (Adam, lr 3e-3, batch 32, seed 1, loss, accuracy and perplexity), fewer epochs.
    trained, still = os.path.join(work, "trained.jsonl"), os.path.join(work, "lr0.jsonl")
    common = ["--train-text", TEXT, "--val-split", "0.1", "--epochs", str(EPOCHS), "--no-save"]
    p = run([exe, *common, "--metrics", trained])
    if p.returncode:
        fail("training on the text failed")
    if "training CharLM: 988 samples, batch 32" not in p.stdout:
        fail("expected 988 training windows of 32 characters (1,098 in the GPL's 35,149 characters, 110 held out)")
    if run([exe, *common, "--lr", "0", "--metrics", still]).returncode:
        fail("the run with --lr 0 failed")
    ppl = [e["val_perplexity"] for e in epochs(trained)]
    flat = epochs(still)[-1]["val_perplexity"]
    last = epochs(trained)[-1]
    print(f"validation perplexity by epoch {['%.2f' % v for v in ppl]}; with --lr 0 {flat:.2f}; "
          f"validation accuracy per character {last['val_accuracy']:.3f}")
    if len(ppl) != EPOCHS or any(b >= a_ for a_, b in zip(ppl, ppl[1:])):
        fail("the validation perplexity should fall every epoch")
    if not ppl[-1] < 13 or not flat > 50:
        fail(f"after {EPOCHS} epochs the perplexity should be below 13 (measured 10.1) and untrained above 50 "
             "(measured 97.3)")
    if not last["val_accuracy"] > 0.3:
        fail("30% of the characters should be predicted right after 3 epochs (measured 37.2%)")
    print("PASS")


if __name__ == "__main__":
    main()
