#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_recursive.sn (see parity_lib.py for what is compared): the same
fixed quad-tree, written as a recursion here rather than Sinter's unrolled loops: 7x7 patches through one
shared leaf layer, four children at a time (row-major) through one shared composition layer."""
import torch
from torch import nn

import parity_lib as P


class Recursive(nn.Module):
    def __init__(self):
        super().__init__()
        self.leaf, self.combine, self.head = nn.Linear(49, 64), nn.Linear(256, 64), nn.Linear(64, 10)

    def layout(self):
        return {**P.dense("leaf", self.leaf), **P.dense("combine", self.combine), **P.dense("head", self.head)}

    def node(self, pixels, r, c, size):
        """The embedding of the size x size square at (r, c)."""
        if size == 7:
            return torch.tanh(self.leaf(pixels[:, r:r + 7, c:c + 7].reshape(-1, 49)))
        h = size // 2
        children = [self.node(pixels, r + i * h, c + j * h, h) for i in (0, 1) for j in (0, 1)]
        return torch.tanh(self.combine(torch.cat(children, 1)))

    def forward(self, image, label):
        logits = self.head(self.node(image.reshape(-1, 28, 28), 0, 0, 28))
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_recursive.sn", Recursive)
