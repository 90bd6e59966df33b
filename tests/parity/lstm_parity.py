#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_lstm.sn (see parity_lib.py for what is compared), against
torch.nn.LSTM itself, which checks lib/nn.sn's claim to follow PyTorch's gate order (i, f, g, o) and
formulas: weight_ih = wxᵀ, weight_hh = whᵀ, and Sinter's one bias b is bias_ih, with torch's second bias
(bias_hh) frozen at zero."""
import torch
from torch import nn

import parity_lib as P


class LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10)

    def layout(self):
        return {"rnn.cell.wx": (self.rnn.weight_ih_l0, P.transposed), "rnn.cell.wh": (self.rnn.weight_hh_l0, P.transposed),
                "rnn.cell.b": (self.rnn.bias_ih_l0, P.same), **P.dense("head", self.head)}

    def frozen(self):
        return [(self.rnn.bias_hh_l0, 0.0)]

    def forward(self, image, label):
        _, (h, _) = self.rnn(image.reshape(-1, 28, 28))  # h: the last hidden state [1, batch, 128]
        logits = self.head(h[0])
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_lstm.sn", LSTM)
