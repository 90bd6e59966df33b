#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_transformer.sn: a transformer classifier trained with AdamW whose
param group `no_decay` (biases, layer norms, the position embedding) has no weight decay, under a linear
warm-up and a linear decay stepped every optimizer step, with gradient clipping.

1. Through the C API (parity_lib): the forward pass and every gradient, then 12 steps of AdamW with the
   example's param group (the C API runs the optimizer at the base rates: no schedule, no clipping)
   against torch.optim.AdamW with the same two param groups.
2. From the command line: `sinter build --emit exe` of the example (its warm-up cut to 3 steps so that the
   decay shows within the run; the weight decay raised as below), one run with --lr 0 that saves the initial weights, then 8 epochs of one
   full batch of 64 images: the loss of every step (the epoch's train_loss) and the final weights against
   torch.optim.AdamW with the two groups, torch.optim.lr_scheduler.LinearLR(start_factor 1, end_factor 0,
   total_iters 8) times the warm-up, and torch.nn.utils.clip_grad_norm_(1.0).

The twin computes in float64 and spells attention out (softmax(q k^T / sqrt(d)) v per head, as
docs/language.md defines it); attention_parity.py checks that against torch.nn.MultiheadAttention."""
import json
import math
import os
import subprocess
import sys

import torch
from torch import nn

import parity_lib as P

D, HEADS, FF = 64, 4, 128
# The weight decay is 10 times the example's, so that a group applied wrongly shows: a layer norm's gain of 1
# would decay by lr * wd = 5e-4 a step, beyond the tolerance within one step.
LR, WD, WARMUP, EPOCHS, ROWS = 1e-3, 0.5, 3, 8, 64
OPTIMIZER = f"optimizer adamw(lr = {LR}, weight_decay = {WD})"


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(D, eps=1e-5), nn.LayerNorm(D, eps=1e-5)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(D, D) for _ in range(4))
        self.ff1, self.ff2 = nn.Linear(D, FF), nn.Linear(FF, D)

    def attention(self, x):
        b, t, _ = x.shape
        split = lambda y: y.reshape(b, t, HEADS, D // HEADS).transpose(1, 2)  # [b, heads, t, d_head]
        q, k, v = split(self.wq(x)), split(self.wk(x)), split(self.wv(x))
        o = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // HEADS), -1) @ v
        return self.wo(o.transpose(1, 2).reshape(b, t, D))

    def forward(self, x):
        h = x + self.attention(self.norm1(x))
        return h + self.ff2(nn.functional.gelu(self.ff1(self.norm2(h))))

    def layout(self, name):
        out = {}
        for n in ["norm1", "norm2"]:
            m = getattr(self, n)
            out.update({f"{name}.{n}.gamma": (m.weight, P.same), f"{name}.{n}.beta": (m.bias, P.same)})
        for n in ["wq", "wk", "wv", "wo"]:
            out.update(P.dense(f"{name}.attn.{n}", getattr(self, n)))
        return {**out, **P.dense(f"{name}.ff1", self.ff1), **P.dense(f"{name}.ff2", self.ff2)}


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.position = nn.Parameter(torch.zeros(16, D))
        self.embed, self.head = nn.Linear(49, D), nn.Linear(D, 10)
        self.block1, self.block2 = Block(), Block()
        self.norm = nn.LayerNorm(D, eps=1e-5)

    def layout(self):
        return {"position": (self.position, P.same), **P.dense("embed", self.embed), **self.block1.layout("block1"),
                **self.block2.layout("block2"), "norm.gamma": (self.norm.weight, P.same),
                "norm.beta": (self.norm.bias, P.same), **P.dense("head", self.head)}

    def zero_gradient(self):
        # Adding a key bias adds q . bk to every score of a query's row, which softmax ignores.
        return ["block1.attn.wk.b", "block2.attn.wk.b"]

    def forward(self, image, label):
        patches = image.reshape(-1, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(-1, 16, 49)
        y = self.norm(self.block2(self.block1(self.embed(patches) + self.position)))
        logits = self.head(y.mean(1))
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


def no_decay(name):
    """The example's group: "*.b", "*.gamma", "*.beta", "position"."""
    return name.endswith((".b", ".gamma", ".beta")) or name == "position"


def grouped_adamw(twin, lr=LR):
    """torch.optim.AdamW with the example's two param groups, from the twin's Sinter names."""
    decay, spared, seen = [], [], set()
    for name, (param, _) in twin.layout().items():
        if id(param) not in seen:
            seen.add(id(param))
            (spared if no_decay(name) else decay).append(param)
    return torch.optim.AdamW([{"params": decay}, {"params": spared, "weight_decay": 0.0}], lr=lr, weight_decay=WD)


def check_c_api(c, sinter, source, workdir, batches):
    model = P.build_variant(sinter, source, workdir, "capi", OPTIMIZER, [], 3)
    P.compare_forward_and_gradients(c, model, Transformer, batches[0], P.DEFAULT_TOLERANCES)
    twin = P.load_twin(Transformer(), model.weights())
    opt = grouped_adamw(twin)
    worst = 0.0
    for batch in batches:
        ours = model.train_step(batch)
        opt.zero_grad()
        theirs = twin(*P.torch_inputs(batch))["loss"]
        theirs.backward()
        opt.step()
        worst = max(worst, abs(ours - theirs.item()) / theirs.item())
    c.check(worst < 1e-4, f"C API, AdamW with the no_decay group: loss of {len(batches)} steps within 1e-4 (worst {worst:.1e})")
    check_weights(c, "C API", model.weights(), P.twin_weights(twin), len(batches))


def check_weights(c, label, ours, theirs, steps):
    noise = set(Transformer().zero_gradient())
    name, err = max(((n, P.max_abs(ours[n], theirs[n])) for n in ours if n not in noise), key=lambda t: t[1])
    c.check(err < 2e-4, f"{label}: weights after {steps} steps within 2e-4 (worst {err:.1e}, in {name})")
    # A weight whose exact gradient is 0 moves by up to lr a step either way under Adam (see parity_lib).
    worst = max(P.max_abs(ours[n], theirs[n]) for n in noise)
    c.check(worst <= 2e-4 + LR * steps, f"{label}: the key biases, whose gradient is 0, within lr per step ({worst:.1e})")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}"
    return p


def check_command_line(c, sinter, source, workdir):
    text = open(source).read()
    for old in ["warmup = 200", "optimizer adamw(lr = 1e-3, weight_decay = 0.05)"]:
        assert old in text, f"the example's '{old}' changed: update the test"
    sn = os.path.join(workdir, "fashion_transformer_cli.sn")
    with open(sn, "w") as f:
        f.write(text.replace("warmup = 200", f"warmup = {WARMUP}").replace(
            "optimizer adamw(lr = 1e-3, weight_decay = 0.05)", OPTIMIZER))
    exe = os.path.join(workdir, "train_transformer")
    run([sinter, "build", sn, "--emit", "exe", "-o", exe])
    init, final, metrics = (os.path.join(workdir, n) for n in ["init.safetensors", "final.safetensors", "m.jsonl"])
    if os.path.exists(metrics):
        os.remove(metrics)
    data = ["--limit-train", str(ROWS), "--limit-test", str(ROWS), "--batch", str(ROWS), "--threads", "1", "--quiet"]
    run([exe, *data, "--epochs", "1", "--lr", "0", "--save", init])
    run([exe, *data, "--epochs", str(EPOCHS), "--load", init, "--save", final, "--metrics", metrics])
    losses = [json.loads(line)["train_loss"] for line in open(metrics) if line.strip()]

    twin = P.load_twin(Transformer(), P.read_weights(init))
    opt = grouped_adamw(twin)
    decay = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=EPOCHS)
    image, label = P.fashion_batches(ROWS, 1)[0]
    x, y = P.torch_inputs((image, label))
    theirs = []
    for s in range(EPOCHS):
        opt.zero_grad()
        loss = twin(x, y)["loss"]
        theirs.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in twin.parameters()], 1.0)
        rates = [g["lr"] for g in opt.param_groups]
        for g in opt.param_groups:
            g["lr"] *= min(1.0, (s + 1) / WARMUP)  # the warm-up multiplies the schedule's rate
        opt.step()
        for g, r in zip(opt.param_groups, rates):
            g["lr"] = r
        decay.step()
    worst = max(abs(a - b) / b for a, b in zip(losses, theirs)) if len(losses) == EPOCHS else 1.0
    c.check(worst < 1e-4, f"sinter train: loss of {EPOCHS} steps within 1e-4 of torch (worst {worst:.1e}; "
                          f"{losses[0]:.4f} -> {losses[-1]:.4f})")
    check_weights(c, "sinter train, warm-up + linear decay + clipping", P.read_weights(final), P.twin_weights(twin), EPOCHS)


def main():
    import argparse
    import time
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.set_num_threads(1)
    start = time.time()
    source = os.path.join(a.source, "examples", "fashion_transformer.sn")
    c = P.Checker()
    check_c_api(c, a.sinter, source, a.workdir, P.fashion_batches(32, 12))
    check_command_line(c, a.sinter, source, a.workdir)
    print(f"{time.time() - start:.1f}s")
    print(f"{len(c.failures)} failed" if c.failures else "PASS")
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
