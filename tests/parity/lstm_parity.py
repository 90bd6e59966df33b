#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_lstm.sn (see parity_lib.py for what is compared), against
torch.nn.LSTM itself, which checks lib/nn.sn's claim to follow PyTorch's gate order (i, f, g, o) and
formulas: weight_ih = wxᵀ, weight_hh = whᵀ, and Sinter's one bias b is bias_ih, with torch's second bias
(bias_hh) frozen at zero."""
from torch import nn

import parity_lib as P


class LSTM(P.RowSequenceClassifier):
    layer = nn.LSTM

    def biases(self):
        return {"rnn.cell.b": (self.rnn.bias_ih_l0, P.same)}

    def frozen(self):
        return [(self.rnn.bias_hh_l0, 0.0)]


if __name__ == "__main__":
    P.main("fashion_lstm.sn", LSTM)
