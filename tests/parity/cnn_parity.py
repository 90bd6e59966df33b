#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_cnn.sn (see parity_lib.py for what is compared).

Dropout draws its masks from Sinter's Philox stream, which torch cannot reproduce, so the compared copies
of the model have Dropout(0.0): the training comparison covers everything but the masks. The forward pass of
the example as written (p = 0.25: dropout is the identity in inference) is compared too. Dropout's own
behaviour in training (rate, scaling) is left to the unit tests."""
import torch
from torch import nn

import parity_lib as P


class CNN(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.p = dropout  # 0 in the parity test; train_with_torch.py trains with the example's 0.25
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def layout(self):
        # Conv weights are [out, in, kh, kw] on both sides; Sinter's conv bias is [out, 1, 1] to broadcast.
        conv_bias = lambda t: t.view(-1, 1, 1)
        return {"conv1.w": (self.conv1.weight, P.same), "conv1.b": (self.conv1.bias, conv_bias),
                "conv2.w": (self.conv2.weight, P.same), "conv2.b": (self.conv2.bias, conv_bias),
                **P.dense("fc1", self.fc1), **P.dense("fc2", self.fc2), **P.dense("fc3", self.fc3)}

    def forward(self, image, label):
        pool = lambda x: nn.functional.max_pool2d(x, 2)
        x = image.reshape(-1, 1, 28, 28)
        h1 = pool(torch.relu(self.conv1(x)))
        h2 = pool(torch.relu(self.conv2(h1)))
        drop = lambda x: nn.functional.dropout(x, self.p, self.training)
        logits = self.fc3(drop(torch.relu(self.fc2(drop(torch.relu(self.fc1(h2.flatten(1))))))))
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_cnn.sn", CNN, substitutions=[("Dropout(0.25)", "Dropout(0.0)")],
           notes=["dropout is off (p = 0) in the compared models: torch cannot draw Sinter's masks"])
