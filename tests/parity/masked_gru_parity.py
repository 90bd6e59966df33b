#!/usr/bin/python3
"""Variable-length sequences fed from the command line, against PyTorch's pack_padded_sequence:
examples/masked_gru.sn on 128 Fashion-MNIST images cut to random lengths of 3 to 28 rows.

The data is three NPY files bound by name: the rows (padded after each sample's length with 5.0, garbage that
the mask must hide), the labels and the mask (1 for a real step, 0 for padding), an extra input the driver
feeds beside the samples and the target. `sinter train` saves its initial weights (--lr 0), then trains 4
full-batch Adam steps; torch.nn.GRU over pack_padded_sequence (each sample's state after its own length) does
the same in float64 from those weights. Checked: the loss of every step, the final weights, `sinter run`'s
predictions against torch's, predictions that do not change when the padding does, and the errors of an
extra input without data or of the wrong shape."""
import json
import os
import shutil
import sys

import numpy as np
import torch

import parity_lib as P
from parity_lib import CHECKS, check, read_weights, run, script_args

N, T, STEPS, LR = 128, 28, 4, 0.01
failures = CHECKS.failures


def padded_data(pad_value):
    """The first N training images as sequences of rows, each cut to a seeded random length and padded."""
    images = P.read_idx(os.path.join(P.DATA, "train-images-idx3-ubyte.gz"), N).astype(np.float32) / 255
    labels = P.read_idx(os.path.join(P.DATA, "train-labels-idx1-ubyte.gz"), N).astype(np.int32)
    lengths = np.random.default_rng(7).integers(3, T + 1, size=N)
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float32)
    rows = np.where(mask[:, :, None] > 0, images, np.float32(pad_value)).astype(np.float32)
    return rows, labels, mask, lengths


class Twin(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.rnn, self.head = torch.nn.GRU(28, 64, batch_first=True), torch.nn.Linear(64, 10)
        self.double()
        with torch.no_grad():
            for theirs, ours in [(self.rnn.weight_ih_l0, w["rnn.cell.wx"].T), (self.rnn.weight_hh_l0, w["rnn.cell.wh"].T),
                                 (self.rnn.bias_ih_l0, w["rnn.cell.bx"]), (self.rnn.bias_hh_l0, w["rnn.cell.bh"]),
                                 (self.head.weight, w["head.w"].T), (self.head.bias, w["head.b"])]:
                theirs.copy_(torch.from_numpy(ours.astype(np.float64)))

    def weights(self):
        g = lambda t: t.detach().numpy()
        return {"rnn.cell.wx": g(self.rnn.weight_ih_l0).T, "rnn.cell.wh": g(self.rnn.weight_hh_l0).T,
                "rnn.cell.bx": g(self.rnn.bias_ih_l0), "rnn.cell.bh": g(self.rnn.bias_hh_l0),
                "head.w": g(self.head.weight).T, "head.b": g(self.head.bias)}

    def forward(self, rows, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(rows, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        return self.head(h[0])


def torch_training(init, rows, labels, lengths):
    twin = Twin(init)
    opt = torch.optim.Adam(twin.parameters(), lr=LR)
    x, y, n = torch.from_numpy(rows.astype(np.float64)), torch.from_numpy(labels.astype(np.int64)), torch.from_numpy(lengths)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(twin(x, n), y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    with torch.no_grad():
        probs = torch.softmax(twin(x, n), 1).numpy()
    return losses, twin.weights(), probs


def main():
    a = script_args()
    torch.set_num_threads(1)
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    model = os.path.join(a.source, "examples", "masked_gru.sn")
    rows, labels, mask, lengths = padded_data(5.0)
    files = {name: os.path.join(a.workdir, name + ".npy") for name in ("rows", "label", "mask", "zero_rows")}
    np.save(files["rows"], rows)
    np.save(files["label"], labels)
    np.save(files["mask"], mask)
    np.save(files["zero_rows"], padded_data(0.0)[0])
    bound = [f"--input={k}={files[k]}" for k in ("rows", "label", "mask")]
    init, final = os.path.join(a.workdir, "init.safetensors"), os.path.join(a.workdir, "final.safetensors")
    metrics = os.path.join(a.workdir, "metrics.jsonl")

    p = run([a.sinter, "train", model, "--", *bound, "--batch", str(N), "--lr", "0", "--epochs", "1", "--save", init,
             "--quiet"])
    check(p.returncode == 0, "the initial weights are saved (Adam with lr 0 leaves them as initialized)")
    p = run([a.sinter, "train", model, "--", *bound, "--batch", str(N), "--epochs", str(STEPS), "--lr", str(LR),
             "--load", init, "--save", final, "--metrics", metrics])
    check(p.returncode == 0, f"{STEPS} full-batch steps of `sinter train` with the mask fed by --input mask=FILE")
    if failures:
        sys.exit(1)

    losses, weights, probs = torch_training(read_weights(init), rows, labels, lengths)
    ours = [json.loads(line)["train_loss"] for line in open(metrics) if line.strip()]
    print("losses: sinter", ["%.6f" % v for v in ours], "\n        torch ", ["%.6f" % v for v in losses])
    worst = max(abs(s - t) / t for s, t in zip(ours, losses))
    check(len(ours) == STEPS and worst < 1e-5, f"the loss of each of {STEPS} steps within 1e-5 of torch's over "
                                               f"pack_padded_sequence (worst {worst:.1e})")
    trained = read_weights(final)
    name, worst = max(((k, float(np.max(np.abs(trained[k] - v)))) for k, v in weights.items()), key=lambda t: t[1])
    # Adam divides each gradient by its own root mean square: where a gradient is rounding-sized, float32
    # against float64 moves a weight by up to LR a step in different directions; 1e-3 is a tenth of one step.
    check(worst < 1e-3, f"the weights after {STEPS} Adam steps within 1e-3 of torch's (worst {worst:.1e}, in {name})")

    preds, zero_preds = os.path.join(a.workdir, "preds.npy"), os.path.join(a.workdir, "zero_preds.npy")
    test = [f"--test-input={k}={files[k]}" for k in ("rows", "label", "mask")]
    p = run([a.sinter, "run", model, "--load", final, *test, "--batch", "50", "--predictions", preds])
    err = float(np.max(np.abs(np.load(preds) - probs))) if p.returncode == 0 else 1
    check(err < 1e-4, f"`sinter run --test-input mask=FILE` predicts torch's probabilities (max difference {err:.1e})")
    zero = [f"--test-input=rows={files['zero_rows']}", *test[1:]]
    p = run([a.sinter, "run", model, "--load", final, *zero, "--batch", "50", "--predictions", zero_preds])
    check(p.returncode == 0 and np.array_equal(np.load(preds), np.load(zero_preds)),
          "padding of 5.0 or of 0.0 gives the same predictions, bit for bit: the mask hides it")

    p = run([a.sinter, "train", model, "--", *bound[:2], "--no-save"])
    check(p.returncode == 1 and "model input 'mask' has no data for " in p.stderr and
          "pass --input mask=FILE, an NPY or IDX file [n, ...] of its 28 values per sample" in p.stderr,
          "an extra input left without data is named, with the flag that feeds it")
    np.save(files["mask"], mask[:, :27])
    p = run([a.sinter, "train", model, "--", *bound, "--no-save"])
    check(p.returncode == 1 and f"has shape [{N}, 27]: model input 'mask' takes 28 values per sample" in p.stderr,
          "a mask of the wrong width is refused with both shapes")
    np.save(files["mask"], mask[:-1])
    p = run([a.sinter, "train", model, "--", *bound, "--no-save"])
    check(p.returncode == 1 and f"has {N - 1} samples but {files['rows']} has {N}" in p.stderr,
          "a mask with a row missing is refused with both counts")
    print(f"{len(failures)} failed" if failures else "PASS")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
