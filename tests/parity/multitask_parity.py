#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_multitask.sn (see parity_lib.py for what is compared): both heads'
outputs, and the weighted sum of cross-entropy and torch's own binary_cross_entropy_with_logits on the
footwear target (classes 5, 7 and 9: sandal, sneaker, ankle boot)."""
import torch
from torch import nn

import parity_lib as P


class MultiTask(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk, self.classes, self.footwear = nn.Linear(784, 256), nn.Linear(256, 10), nn.Linear(256, 1)

    def layout(self):
        return {**P.dense("trunk", self.trunk), **P.dense("classes", self.classes), **P.dense("footwear", self.footwear)}

    def forward(self, image, label):
        h = torch.relu(self.trunk(image))
        logits, footwear_logit = self.classes(h), self.footwear(h)
        is_footwear = ((label == 5) | (label == 7) | (label == 9)).to(h.dtype).unsqueeze(1)
        loss = (nn.functional.cross_entropy(logits, label)
                + 0.5 * nn.functional.binary_cross_entropy_with_logits(footwear_logit, is_footwear))
        return {"probs": torch.softmax(logits, 1), "footwear_prob": torch.sigmoid(footwear_logit), "loss": loss}


if __name__ == "__main__":
    P.main("fashion_multitask.sn", MultiTask)
