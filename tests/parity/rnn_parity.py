#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_rnn.sn (see parity_lib.py for what is compared), against
torch.nn.RNN itself: Sinter's SimpleRNNCell, h' = tanh(x wx + h wh + b), is torch's tanh RNN with
weight_ih = wxᵀ, weight_hh = whᵀ and one bias, so torch's second bias (bias_hh) stays frozen at zero."""
import torch
from torch import nn

import parity_lib as P


class RNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.RNN(28, 128, batch_first=True), nn.Linear(128, 10)

    def layout(self):
        return {"rnn.cell.wx": (self.rnn.weight_ih_l0, P.transposed), "rnn.cell.wh": (self.rnn.weight_hh_l0, P.transposed),
                "rnn.cell.b": (self.rnn.bias_ih_l0, P.same), **P.dense("head", self.head)}

    def frozen(self):
        return [(self.rnn.bias_hh_l0, 0.0)]

    def forward(self, image, label):
        _, h = self.rnn(image.reshape(-1, 28, 28))  # 28 time steps of 28 pixels; h: the last state [1, batch, 128]
        logits = self.head(h[0])
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_rnn.sn", RNN)
