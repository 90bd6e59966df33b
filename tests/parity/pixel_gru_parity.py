#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_pixel_gru.sn (see parity_lib.py for what is compared): a GRU over the
784 pixels of each image, compiled as one loop (a scan, GRU.looped in lib/nn.sn) and differentiated through
its reverse loop, against torch.nn.GRU over the same 784 steps. The layout is the GRU examples':
weight_ih = wxᵀ, weight_hh = whᵀ, bias_ih = bx, bias_hh = bh."""
import torch
from torch import nn

import parity_lib as P


class PixelGRU(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.GRU(1, 64, batch_first=True), nn.Linear(64, 10)

    def layout(self):
        return {**P.recurrent_weights("rnn.cell", self.rnn), "rnn.cell.bx": (self.rnn.bias_ih_l0, P.same),
                "rnn.cell.bh": (self.rnn.bias_hh_l0, P.same), **P.dense("head", self.head)}

    def forward(self, image, label):
        _, h = self.rnn(image.reshape(-1, 784, 1))
        logits = self.head(h[0])
        return {"probs": torch.softmax(logits, 1), "loss": torch.nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_pixel_gru.sn", PixelGRU, substitutions=[("  clip_norm 1.0\n", "")], batch=16, steps=8,
           notes=["the example's clip_norm is left out: the twin's optimizers do not clip"])
