#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_rnn.sn (see parity_lib.py for what is compared), against
torch.nn.RNN itself: Sinter's SimpleRNNCell, h' = tanh(x wx + h wh + b), is torch's tanh RNN with
weight_ih = wxᵀ, weight_hh = whᵀ and one bias, so torch's second bias (bias_hh) stays frozen at zero."""
from torch import nn

import parity_lib as P


class RNN(P.RowSequenceClassifier):
    layer = nn.RNN

    def biases(self):
        return {"rnn.cell.b": (self.rnn.bias_ih_l0, P.same)}

    def frozen(self):
        return [(self.rnn.bias_hh_l0, 0.0)]


if __name__ == "__main__":
    P.main("fashion_rnn.sn", RNN)
