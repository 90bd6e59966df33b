#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_gru.sn (see parity_lib.py for what is compared), against
torch.nn.GRU itself, which checks lib/nn.sn's claim to follow PyTorch's formulas (gates r, z, n; the reset
gate applied to h un + bh): weight_ih = wxᵀ, weight_hh = whᵀ, bias_ih = bx, bias_hh = bh."""
import torch
from torch import nn

import parity_lib as P


class GRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.GRU(28, 128, batch_first=True), nn.Linear(128, 10)

    def layout(self):
        return {"rnn.cell.wx": (self.rnn.weight_ih_l0, P.transposed), "rnn.cell.wh": (self.rnn.weight_hh_l0, P.transposed),
                "rnn.cell.bx": (self.rnn.bias_ih_l0, P.same), "rnn.cell.bh": (self.rnn.bias_hh_l0, P.same),
                **P.dense("head", self.head)}

    def forward(self, image, label):
        _, h = self.rnn(image.reshape(-1, 28, 28))
        logits = self.head(h[0])
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_gru.sn", GRU)
