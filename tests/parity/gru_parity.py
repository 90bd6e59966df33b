#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_gru.sn (see parity_lib.py for what is compared), against
torch.nn.GRU itself, which checks lib/nn.sn's claim to follow PyTorch's formulas (gates r, z, n; the reset
gate applied to h un + bh): weight_ih = wxᵀ, weight_hh = whᵀ, bias_ih = bx, bias_hh = bh."""
from torch import nn

import parity_lib as P


class GRU(P.RowSequenceClassifier):
    layer = nn.GRU

    def biases(self):
        return {"rnn.cell.bx": (self.rnn.bias_ih_l0, P.same), "rnn.cell.bh": (self.rnn.bias_hh_l0, P.same)}


if __name__ == "__main__":
    P.main("fashion_gru.sn", GRU)
