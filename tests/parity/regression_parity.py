#!/usr/bin/python3
"""A regression trained from the command line, against PyTorch: examples/housing_regression.sn on
python3-sklearn's boston_house_prices.csv (506 rows, 13 features, the target MEDV a float).

`sinter train` reads the CSV (--skip-rows 1 for its count line), standardizes the features and trains 8 full
batches of Adam from weights it initialized and saved with --lr 0; the same 8 steps run in float32 PyTorch
from those weights on the same standardized data. Checked: the loss of every step (the epoch's train_loss),
the final weights, and MAE, RMSE and R^2 of the test split, printed by the driver each epoch and by
`sinter run`, against NumPy's figures from the torch model's predictions. Then the errors of a model that
does not fit the data or the metric: a class-label model reading MEDV, and accuracy asked of a regression.
Last, token ids: a bag-of-embeddings classifier whose samples are an i32 [batch, 5] input, fed from NPY files
bound by name, against torch over the same steps."""
import json
import os
import re
import shutil
import sys

import numpy as np
import torch

from parity_lib import CHECKS, check, read_weights, run, script_args

CSV = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv"
STEPS, LR = 8, 0.05
failures = CHECKS.failures


def standardized():
    """The driver's --normalize standard: mean and population std in double, stored as float32, then
    (x - mean) * (1 / std) in float32."""
    data = np.loadtxt(CSV, delimiter=",", skiprows=2, dtype=np.float32)
    x, y = data[:, :13], data[:, 13]
    x64 = x.astype(np.float64)
    mean = x64.mean(0)
    inv = (1.0 / np.sqrt(((x64 - mean) ** 2).mean(0))).astype(np.float32)
    return (x - mean.astype(np.float32)) * inv, y


def torch_training(w, x, y):
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in w.items()}
    opt = torch.optim.Adam(params.values(), lr=LR)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def predict():
        h = torch.relu(xt @ params["w1"] + params["b1"])
        return (h @ params["w2"] + params["b2"]).reshape(-1)

    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.mean((predict() - yt) ** 2)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = predict().numpy().astype(np.float64)
    return losses, {k: v.detach().numpy() for k, v in params.items()}, pred


def torch_grad_norms(w, x, y):
    """Each param's gradient norm and the norm of all of them at weights w, over the whole set, in float64."""
    params = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in w.items()}
    h = torch.relu(torch.tensor(x, dtype=torch.float64) @ params["w1"] + params["b1"])
    loss = torch.mean(((h @ params["w2"] + params["b2"]).reshape(-1) - torch.tensor(y, dtype=torch.float64)) ** 2)
    loss.backward()
    norms = {k: float(p.grad.norm()) for k, p in params.items()}
    return norms, float(np.sqrt(sum(v * v for v in norms.values())))


def figures(pred, y):
    y = y.astype(np.float64)
    e = y - pred
    return {"mae": np.abs(e).mean(), "rmse": np.sqrt((e * e).mean()), "r2": 1 - (e * e).sum() / ((y - y.mean()) ** 2).sum()}


TOKENS = """
model Bag {
  input tokens: i32[batch, 5]
  input label: i32[batch]
  param table: f32[20, 8] = normal(std = 1)
  param w: f32[8, 3] = glorot_uniform
  param b: f32[3] = zeros
  logits = mean(gather(table, tokens), axis = 1) @ w + b
  output probs = softmax(logits)
  loss = cross_entropy(logits, label)
}

train Bag {
  minimize loss
  optimizer adam(lr = 0.1)
  batch 64
  seed 5
}
"""


def check_tokens(sinter, workdir):
    """Token ids as samples: i32 NPY data through --input, the losses of 6 full-batch Adam steps against torch."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 20, size=(64, 5)).astype(np.int32)
    labels = (tokens.sum(1) % 3).astype(np.int64)
    model = os.path.join(workdir, "bag.sn")
    with open(model, "w") as f:
        f.write(TOKENS)
    t, y = os.path.join(workdir, "tokens.npy"), os.path.join(workdir, "labels.npy")
    np.save(t, tokens)
    np.save(y, labels)
    init, metrics = os.path.join(workdir, "bag0.safetensors"), os.path.join(workdir, "bag.jsonl")
    bound = ["--input", "tokens=" + t, "--input", "label=" + y, "--batch", "64"]
    p = run([sinter, "train", model, "--", *bound, "--lr", "0", "--save", init, "--quiet"])
    p = run([sinter, "train", model, "--", *bound, "--epochs", "6", "--load", init, "--no-save", "--metrics", metrics])
    check(p.returncode == 0, "an i32 [batch, 5] input of token ids trains from NPY")
    ours = [json.loads(line)["train_loss"] for line in open(metrics) if line.strip()] if p.returncode == 0 else []
    w = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in read_weights(init).items()}
    opt = torch.optim.Adam(w.values(), lr=0.1)
    ids, target = torch.tensor(tokens.astype(np.int64)), torch.tensor(labels)
    theirs = []
    for _ in range(6):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(w["table"][ids].mean(1) @ w["w"] + w["b"], target)
        theirs.append(loss.item())
        loss.backward()
        opt.step()
    worst = max((abs(s - r) / r for s, r in zip(ours, theirs)), default=1)
    check(len(ours) == 6 and worst < 1e-5, f"token ids: the loss of 6 steps within 1e-5 of torch (worst {worst:.1e})")
    np.save(t, tokens.astype(np.float32) + 0.5)
    p = run([sinter, "train", model, "--", *bound, "--no-save"])
    check(p.returncode == 1 and f"element 0 of sample 0 is {tokens[0, 0] + 0.5:.6f}, not a token id: model input "
          "'tokens' is i32" in p.stderr,
          "a fractional token id is refused, naming the file, sample and input")
    np.save(t, tokens)
    p = run([sinter, "train", model, "--", *bound, "--no-save", "--normalize", "standard"])
    check(p.returncode == 1 and "takes token ids (i32), which are not standardized" in p.stderr,
          "--normalize standard of token ids is refused")


def check_vector_target(sinter, workdir):
    """A target [batch, 2] from a CSV column group: two of boston's columns predicted from the other twelve, by
    a linear model; the reported R^2 is the mean of numpy's per column for the saved weights."""
    model = os.path.join(workdir, "two.sn")
    with open(model, "w") as f:
        f.write("""model Two {
  input x: f32[batch, 12]
  input y: f32[batch, 2]
  param w: f32[12, 2] = glorot_uniform
  param b: f32[2] = zeros
  output pred = x @ w + b
  loss = mse(pred, y)
}
train Two {
  minimize loss
  optimizer adam(lr = 0.5)
  batch 64
  epochs 30
}
""")
    weights = os.path.join(workdir, "two.safetensors")
    p = run([sinter, "train", model, "--", "--train-csv", CSV, "--test-csv", CSV, "--skip-rows", "1", "--label-column",
             "MEDV,RM", "--normalize", "standard", "--save", weights, "--metrics", os.path.join(workdir, "two.jsonl")])
    check(p.returncode == 0, "--label-column MEDV,RM feeds a target [batch, 2]")
    if p.returncode:
        return
    last = [json.loads(line) for line in open(os.path.join(workdir, "two.jsonl")) if line.strip()][-1]
    data = np.loadtxt(CSV, delimiter=",", skiprows=2, dtype=np.float32)
    y = data[:, [13, 5]].astype(np.float64)
    x = np.delete(data, [13, 5], axis=1)
    x64 = x.astype(np.float64)
    mean = x64.mean(0)
    inv = (1.0 / np.sqrt(((x64 - mean) ** 2).mean(0))).astype(np.float32)
    w = read_weights(weights)
    pred = (((x - mean.astype(np.float32)) * inv) @ w["w"] + w["b"]).astype(np.float64)
    r2 = np.mean([1 - ((y[:, c] - pred[:, c]) ** 2).sum() / ((y[:, c] - y[:, c].mean()) ** 2).sum() for c in range(2)])
    check(abs(last["test_r2"] - r2) < 1e-4 and r2 > 0.5,
          f"test_r2 {last['test_r2']:.5f}: numpy's mean of the two columns' R^2 {r2:.5f}")


def main():
    a = script_args()
    if not os.path.exists(CSV):
        print(f"SKIP: {CSV} missing (apt-get install python3-sklearn)")
        return
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    model = os.path.join(a.source, "examples", "housing_regression.sn")
    data = ["--train-csv", CSV, "--skip-rows", "1", "--normalize", "standard"]
    init, final = os.path.join(a.workdir, "init.safetensors"), os.path.join(a.workdir, "final.safetensors")
    metrics = os.path.join(a.workdir, "metrics.jsonl")

    p = run([a.sinter, "train", model, "--", *data, "--batch", "506", "--epochs", "1", "--lr", "0", "--save", init,
             "--quiet"])
    check(p.returncode == 0, "the initial weights are saved (Adam with lr 0 leaves them as initialized)")
    p = run([a.sinter, "train", model, "--", *data, "--test-csv", CSV, "--batch", "506", "--epochs", str(STEPS),
             "--lr", str(LR), "--load", init, "--save", final, "--metrics", metrics])
    check(p.returncode == 0, f"{STEPS} full-batch steps of `sinter train` on the CSV")
    if failures:
        sys.exit(1)

    x, y = standardized()
    losses, weights, pred = torch_training(read_weights(init), x, y)
    epochs = [json.loads(line) for line in open(metrics) if line.strip()]
    ours = [e["train_loss"] for e in epochs]
    worst = max(abs(s - t) / abs(t) for s, t in zip(ours, losses))
    print("losses: sinter", ["%.5f" % v for v in ours], "\n        torch ", ["%.5f" % v for v in losses])
    check(len(ours) == STEPS and worst < 1e-5, f"the loss of each of {STEPS} steps within 1e-5 of torch (worst {worst:.1e})")
    check(losses[-1] < 0.8 * losses[0], "the loss falls")
    trained = read_weights(final)
    worst = max(float(np.max(np.abs(trained[k] - v)) / max(1e-3, float(np.max(np.abs(v))))) for k, v in weights.items())
    check(worst < 1e-5, f"the weights after {STEPS} Adam steps within 1e-5 of torch (worst {worst:.1e}, relative)")

    want = figures(pred, y)
    last = epochs[-1]
    for k, v in want.items():
        check(abs(last["test_" + k] - v) <= 1e-4 * max(1.0, abs(v)),
              f"test_{k} of the last epoch {last['test_' + k]:.6f}, numpy from torch's predictions {v:.6f}")
    check("train_accuracy" not in last and "test_accuracy" not in last, "a regression reports no accuracy")

    p = run([a.sinter, "run", model, "--load", final, "--test-csv", CSV, *data])
    printed = dict(re.findall(r"^(mae|rmse|r2)\s+(\S+)$", p.stdout, re.M))
    check(p.returncode == 0 and sorted(printed) == ["mae", "r2", "rmse"], "`sinter run` prints MAE, RMSE and R^2")
    for k, v in printed.items():
        check(abs(float(v) - want[k]) <= 1e-4 * max(1.0, abs(want[k])), f"`sinter run` {k} {v} = {want[k]:.4f}")

    # The same data as NPY files bound to the model's inputs by name: the same losses.
    xs, ys = os.path.join(a.workdir, "x.npy"), os.path.join(a.workdir, "medv.npy")
    np.save(xs, x)
    np.save(ys, y.astype(np.float64))
    metrics = os.path.join(a.workdir, "npy.jsonl")
    p = run([a.sinter, "train", model, "--", "--input", "x=" + xs, "--input", "medv=" + ys, "--test-input", "x=" + xs,
             "--test-input", "medv=" + ys, "--batch", "506", "--epochs", str(STEPS), "--lr", str(LR), "--load", init,
             "--no-save", "--metrics", metrics])
    bound = [json.loads(line) for line in open(metrics) if line.strip()] if p.returncode == 0 else []
    worst = max((abs(e["train_loss"] - t) / t for e, t in zip(bound, losses)), default=1)
    check(len(bound) == STEPS and worst < 1e-5, f"--input x=x.npy --input medv=medv.npy: torch's losses (worst {worst:.1e})")
    check(bool(bound) and abs(bound[-1]["test_r2"] - want["r2"]) < 1e-4, "--test-input: the test split's R^2")
    # grad_norm: one full-batch step at lr 0 from the saved weights: the norms of torch's gradient there.
    gn = os.path.join(a.workdir, "grad_norm.jsonl")
    p = run([a.sinter, "train", model, "--", *data, "--batch", "506", "--epochs", "1", "--lr", "0", "--load", init,
             "--no-save", "--metrics-list", "loss,grad_norm", "--metrics", gn])
    line = json.loads(open(gn).readline()) if p.returncode == 0 else {}
    norms, total = torch_grad_norms(read_weights(init), x, y)
    worst = max((abs(line.get("grad_norms", {}).get(k, 0) - v) / v for k, v in norms.items()), default=1)
    check(worst < 1e-5 and abs(line.get("train_grad_norm", 0) - total) < 1e-5 * total and "train_grad_norm" in p.stdout,
          f"--metrics-list loss,grad_norm: every param's gradient norm within 1e-5 of torch's (worst {worst:.1e})")
    p = run([a.sinter, "train", model, "--", "--epochs", "1", "--no-save"])
    check(p.returncode == 0 and "training Housing: 405 samples" in p.stdout and "val_r2" in p.stdout,
          "with no data flag the train block's data(...) reads the CSV and holds out 20% for validation")
    p = run([a.sinter, "train", model, "--", "--input", "y=" + ys, "--no-save"])
    check(p.returncode == 1 and "has no input 'y'; its inputs are x, medv" in p.stderr,
          "--input of an unknown name lists the model's inputs")
    p = run([a.sinter, "train", model, "--", "--input", "x=" + xs, "--no-save"])
    check(p.returncode == 1 and "pass --input medv=FILE too" in p.stderr, "--input of the samples alone names the target")
    p = run([a.sinter, "train", model, "--", "--input", "x=" + ys, "--input", "medv=" + ys, "--no-save"])
    check(p.returncode == 1 and "takes 13 features per sample, data " + ys + " has 1\n" in p.stderr,
          "--input of the wrong shape says the right one")
    p = run([a.sinter, "run", model, "--load", final, "--test-input", "x=" + xs, "--test-input", "medv=" + ys])
    printed = dict(re.findall(r"^(mae|rmse|r2)\s+(\S+)$", p.stdout, re.M))
    check(p.returncode == 0 and abs(float(printed.get("r2", "nan")) - want["r2"]) < 1e-4,
          "`sinter run --test-input x=... --test-input medv=...`: the same R^2")

    # What does not fit is an error that says what would.
    classes = os.path.join(a.workdir, "classes.sn")
    with open(model) as f, open(classes, "w") as g:
        g.write(f.read().replace("input medv: f32[batch]", "input medv: i32[batch]")
                .replace("param w2: f32[32, 1]", "param w2: f32[32, 3]").replace("param b2: f32[1]", "param b2: f32[3]")
                .replace("output pred = reshape(relu(x @ w1 + b1) @ w2 + b2, (-1,))", "output pred = relu(x @ w1 + b1) @ w2 + b2")
                .replace("loss = mse(pred, medv)", "loss = cross_entropy(pred, medv)"))
    p = run([a.sinter, "train", classes, "--", *data, "--no-save"])
    check(p.returncode == 1 and "is not a class index" in p.stderr and "f32 [batch]" in p.stderr,
          "class labels read from a float column: the error names the cell and suggests an f32 target")
    p = run([a.sinter, "train", model, "--", *data, "--no-save", "--metric", "loss,accuracy"])
    check(p.returncode == 1 and "metric accuracy does not fit" in p.stderr and "mae, rmse, r2" in p.stderr,
          "accuracy asked of a regression: the error lists the metrics that fit")
    check_tokens(a.sinter, a.workdir)
    check_vector_target(a.sinter, a.workdir)
    if failures:
        print(f"FAIL: {len(failures)} check(s)")
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
