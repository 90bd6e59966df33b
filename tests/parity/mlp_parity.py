#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_mlp.sn (see parity_lib.py for what is compared)."""
import torch
from torch import nn

import parity_lib as P


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)

    def layout(self):
        # The MLP's params are plain ones (w1 [784, 256], ...), not Dense layers.
        return {"w1": (self.l1.weight, P.transposed), "b1": (self.l1.bias, P.same),
                "w2": (self.l2.weight, P.transposed), "b2": (self.l2.bias, P.same),
                "w3": (self.l3.weight, P.transposed), "b3": (self.l3.bias, P.same)}

    def forward(self, image, label):
        logits = self.l3(torch.relu(self.l2(torch.relu(self.l1(image)))))
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_mlp.sn", MLP)
