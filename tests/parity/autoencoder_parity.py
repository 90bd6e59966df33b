#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_autoencoder.sn (see parity_lib.py for what is compared): the code,
the reconstruction and torch's own mse_loss against the input image."""
import torch
from torch import nn

import parity_lib as P


class Autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1, self.enc2 = nn.Linear(784, 128), nn.Linear(128, 32)
        self.dec1, self.dec2 = nn.Linear(32, 128), nn.Linear(128, 784)

    def layout(self):
        return {**P.dense("enc1", self.enc1), **P.dense("enc2", self.enc2), **P.dense("dec1", self.dec1),
                **P.dense("dec2", self.dec2)}

    def forward(self, image, label):
        code = self.enc2(torch.relu(self.enc1(image)))
        reconstruction = torch.sigmoid(self.dec2(torch.relu(self.dec1(code))))
        return {"code": code, "reconstruction": reconstruction, "loss": nn.functional.mse_loss(reconstruction, image)}


if __name__ == "__main__":
    P.main("fashion_autoencoder.sn", Autoencoder)
