#!/usr/bin/python3
"""A character-level language model trained from the command line, against PyTorch: examples/char_lm.sn on the
GNU GPL version 3 that Debian's base-files ships (/usr/share/common-licenses/GPL-3).

The training executable reads the text with --train-text: the vocabulary is the text's distinct characters sorted
by code point, the samples windows of 32 character ids and the targets the ids one character further on. This
script cuts the windows on its own from the same file (the oracle of the reader), and a float64 torch twin
(nn.Embedding, nn.GRU, nn.Linear, cross_entropy over every step, Adam with clip_grad_norm_) starts from the
weights the executable saved with --lr 0. Over 6 full-batch steps of the first 64 windows it checks the loss of
every step, the test split's loss, per-token accuracy and perplexity after every step, the final weights, and
what `sinter run` prints for them. Then a few inputs the reader refuses, each with its message."""
import json
import math
import os
import re
import shutil
import sys

import numpy as np
import torch

from parity_lib import CHECKS, check, read_weights, run, script_args

TEXT = "/usr/share/common-licenses/GPL-3"
T, WINDOWS, STEPS, LR, CLIP = 32, 64, 6, 3e-3, 1.0
failures = CHECKS.failures


def windows(path):
    """The reader's windows, written independently: ids in the sorted vocabulary, next-character targets."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    vocab = sorted(set(text))
    ids = np.array([vocab.index(c) for c in text], dtype=np.int64)
    n = (len(ids) - 1) // T
    return ids[:n * T].reshape(n, T), ids[1:n * T + 1].reshape(n, T), len(vocab)


class Twin(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        vocab, dim = w["embed.table"].shape
        hidden = w["rnn.cell.wh"].shape[0]
        self.embed = torch.nn.Embedding(vocab, dim)
        self.rnn = torch.nn.GRU(dim, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, w["head.w"].shape[1])
        t = lambda a: torch.tensor(np.array(a, dtype=np.float64))
        with torch.no_grad():  # Sinter's wx [in, 3h] and wh [h, 3h] (gates r, z, n) are torch's, transposed
            self.embed.weight.copy_(t(w["embed.table"]))
            self.rnn.weight_ih_l0.copy_(t(w["rnn.cell.wx"]).T)
            self.rnn.weight_hh_l0.copy_(t(w["rnn.cell.wh"]).T)
            self.rnn.bias_ih_l0.copy_(t(w["rnn.cell.bx"]))
            self.rnn.bias_hh_l0.copy_(t(w["rnn.cell.bh"]))
            self.head.weight.copy_(t(w["head.w"]).T)
            self.head.bias.copy_(t(w["head.b"]))
        self.double()

    def forward(self, x):
        return self.head(self.rnn(self.embed(x))[0])  # [batch, T, vocab]

    def sinter_weights(self):
        g = lambda p: p.detach().numpy()
        return {"embed.table": g(self.embed.weight), "rnn.cell.wx": g(self.rnn.weight_ih_l0).T,
                "rnn.cell.wh": g(self.rnn.weight_hh_l0).T, "rnn.cell.bx": g(self.rnn.bias_ih_l0),
                "rnn.cell.bh": g(self.rnn.bias_hh_l0), "head.w": g(self.head.weight).T, "head.b": g(self.head.bias)}


def figures(model, x, y):
    """Loss (mean cross-entropy over every token), per-token accuracy (the first maximum wins) and perplexity."""
    with torch.no_grad():
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
        accuracy = (logits.argmax(-1) == y).double().mean().item()
    return {"loss": loss, "accuracy": accuracy, "perplexity": math.exp(loss)}


def torch_training(init, x, y):
    model = Twin(init)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    losses, after = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        losses.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        after.append(figures(model, x, y))
    return losses, after, model.sinter_weights()


def check_errors(exe, workdir):
    """Text the reader refuses: the message names the file and what would fit; exit status 1."""
    def bad(name, data, needle, what):
        path = os.path.join(workdir, name)
        with open(path, "wb") as f:
            f.write(data)
        p = run([exe, "--train-text", path, "--no-save", "--quiet"])
        check(p.returncode == 1 and needle.replace("FILE", path) in p.stderr, what)

    bad("empty.txt", b"", "FILE: the file is empty", "an empty file is refused")
    bad("short.txt", b"x" * 20, "FILE has 20 characters, fewer than one window of 32", "a text shorter than a window")
    bad("latin1.txt", "GNU General Public License\n".encode() + "caf\xe9".encode("latin-1") + b" " * 40,
        "FILE:2:4: not UTF-8 at byte offset 30", "a Latin-1 byte is refused with its place")
    bad("wide.txt", "".join(chr(0x100 + i) for i in range(100)).encode() * 2,
        "FILE has 100 distinct characters, more than the 96 classes of model output 'probs'",
        "a vocabulary larger than the model's classes says how many would fit")


def main():
    a = script_args()
    if not os.path.exists(TEXT):
        print(f"SKIP: {TEXT} missing (Debian's base-files ships it)")
        return
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    model = os.path.join(a.source, "examples", "char_lm.sn")
    exe = os.path.join(a.workdir, "char_lm")
    p = run([a.sinter, "build", model, "--emit", "exe", "-o", exe])
    check(p.returncode == 0, "the example builds into a training executable")
    if failures:
        sys.exit(1)
    # No data flag: the train block's data(train_text = GPL-3, val_split = 0.1); the limit cuts first, then 3 of
    # the 32 windows are held out.
    p = run([exe, "--epochs", "1", "--limit-train", "32", "--no-save"])
    check(p.returncode == 0 and "training CharLM: 29 samples" in p.stdout and "val_ppl" in p.stdout,
          "with no data flag the executable reads the train block's text and holds out a validation split")
    init, final = os.path.join(a.workdir, "init.safetensors"), os.path.join(a.workdir, "final.safetensors")
    metrics = os.path.join(a.workdir, "metrics.jsonl")
    data = ["--train-text", TEXT, "--limit-train", str(WINDOWS), "--batch", str(WINDOWS)]
    p = run([exe, *data, "--epochs", "1", "--lr", "0", "--save", init, "--quiet"])
    check(p.returncode == 0, "the initial weights are saved (Adam with lr 0 leaves them as initialized)")
    p = run([exe, *data, "--test-text", TEXT, "--limit-test", str(WINDOWS), "--epochs", str(STEPS), "--load", init,
             "--save", final, "--metrics", metrics])
    check(p.returncode == 0, f"{STEPS} full-batch steps of the training executable on the text")
    if failures:
        sys.exit(1)

    xs, ys, vocab = windows(TEXT)
    check(vocab == 76, f"the GPL's vocabulary has 76 characters ({vocab})")
    x, y = torch.tensor(xs[:WINDOWS]), torch.tensor(ys[:WINDOWS])
    losses, after, weights = torch_training(read_weights(init), x, y)
    epochs = [json.loads(line) for line in open(metrics) if line.strip()]
    ours = [e["train_loss"] for e in epochs]
    print("losses: sinter", ["%.6f" % v for v in ours], "\n        torch ", ["%.6f" % v for v in losses])
    worst = max(abs(s - t) / t for s, t in zip(ours, losses))
    check(len(ours) == STEPS and worst < 1e-5, f"the loss of each of {STEPS} steps within 1e-5 of torch (worst {worst:.1e})")
    check(losses[-1] < losses[0], "the loss falls")
    for k in ("loss", "accuracy", "perplexity"):
        worst = max(abs(e["test_" + k] - f[k]) / f[k] for e, f in zip(epochs, after))
        check(worst < 1e-5, f"test_{k} after each step within 1e-5 of torch's, relative (worst {worst:.1e})")
    trained = read_weights(final)
    worst = max(float(np.max(np.abs(trained[k] - v))) for k, v in weights.items())
    check(worst < 1e-5, f"the weights after {STEPS} Adam steps within 1e-5 of torch (worst {worst:.1e})")

    want = after[-1]
    p = run([a.sinter, "run", model, "--load", final, "--train-text", TEXT, "--test-text", TEXT, "--limit-test",
             str(WINDOWS)])
    printed = dict(re.findall(r"^(loss|accuracy|perplexity)\s+([0-9.]+)", p.stdout, re.M))
    check(p.returncode == 0 and sorted(printed) == ["accuracy", "loss", "perplexity"],
          "`sinter run` prints the loss, accuracy and perplexity")
    check(f"of {WINDOWS * T} tokens)" in p.stdout, "`sinter run` counts the accuracy in tokens")
    check(abs(float(printed.get("loss", "nan")) - want["loss"]) < 1e-4 and
          abs(float(printed.get("accuracy", "nan")) - 100 * want["accuracy"]) < 0.01 and
          abs(float(printed.get("perplexity", "nan")) - want["perplexity"]) < 1e-3,
          f"`sinter run` agrees with torch: loss {want['loss']:.4f}, accuracy {100 * want['accuracy']:.2f}%, "
          f"perplexity {want['perplexity']:.4f}")
    p = run([a.sinter, "run", model, "--load", final, "--test-text", TEXT])
    check(p.returncode != 0 and "--test-text needs --train-text FILE" in p.stderr,
          "`sinter run --test-text` alone asks for the training text, whose vocabulary it needs")
    check_errors(exe, a.workdir)
    if failures:
        print(f"FAIL: {len(failures)} check(s)")
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
