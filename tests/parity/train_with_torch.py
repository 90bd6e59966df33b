#!/usr/bin/python3
"""Trains an example's PyTorch twin (the parity tests' model) the way `sinter train` trains the example: from
the same initial weights (Sinter's, seed 1), Adam at lr 1e-3, batches of 64 from a fresh shuffle each
epoch, then the test set. Prints one JSON line per epoch: training seconds, test loss and accuracy. For the
table of examples/README.md, not a test:

  /usr/bin/python3 tests/parity/train_with_torch.py --example cnn --sinter build/tools/sinter --source . \\
      --workdir /tmp/bench --epochs 1 --threads 1
"""
import argparse
import importlib
import json
import os
import time

import numpy as np
import torch

import parity_lib as P

TWINS = {"mlp": "MLP", "cnn": "CNN", "rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "attention": "Attention",
         "multitask": "MultiTask", "recursive": "Recursive", "autoencoder": "Autoencoder"}


def load_split(prefix):
    images = P.read_idx(os.path.join(P.DATA, f"{prefix}-images-idx3-ubyte.gz"), 60000 if prefix == "train" else 10000)
    labels = P.read_idx(os.path.join(P.DATA, f"{prefix}-labels-idx1-ubyte.gz"), len(images))
    return (torch.from_numpy(images.reshape(-1, 784).astype(np.float32) / 255),
            torch.from_numpy(labels.astype(np.int64)))


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--sinter", "--source", "--workdir"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--example", required=True, choices=sorted(TWINS))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    os.makedirs(a.workdir, exist_ok=True)
    # Sinter's initial weights: the example compiled at -O0 (fast; only its initializers run here).
    model = P.build_variant(a.sinter, os.path.join(a.source, "examples", f"fashion_{a.example}.sn"), a.workdir,
                            "init", "optimizer adam(lr = 1e-3)", [], 0)
    twin_class = getattr(importlib.import_module(f"{a.example}_parity"), TWINS[a.example])
    twin = twin_class(dropout=0.25) if a.example == "cnn" else twin_class()
    P.load_twin(twin, model.weights()).float()
    opt = torch.optim.Adam([p for p in twin.parameters() if p.requires_grad], lr=1e-3)
    (x, y), (tx, ty) = load_split("train"), load_split("t10k")
    loss_name = model.loss_name
    for epoch in range(a.epochs):
        twin.train()
        start = time.time()
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            twin(x[idx], y[idx])[loss_name].backward()
            opt.step()
        seconds = time.time() - start
        twin.eval()
        with torch.no_grad():
            loss, correct = 0.0, 0
            for i in range(0, len(tx), 1000):
                out = twin(tx[i:i + 1000], ty[i:i + 1000])
                loss += out[loss_name].item() * len(ty[i:i + 1000])
                first = next(iter(out.values()))  # the first output, as the driver's accuracy uses
                correct += int((first.argmax(1) == ty[i:i + 1000]).sum())
        print(json.dumps({"example": a.example, "epoch": epoch + 1, "seconds": round(seconds, 1),
                          "test_loss": round(loss / len(tx), 4), "test_accuracy": correct / len(tx)}), flush=True)


if __name__ == "__main__":
    main()
