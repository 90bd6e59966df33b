#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_separable.sn (see parity_lib.py for what is compared): grouped
(depthwise) and transposed convolutions, nearest upsampling, constant padding, a mirrored slice (negative
step), `where` on a comparison, one_hot targets with label smoothing, argmax, and an `if` over a layer's
configuration, each against torch's own function of that name."""
import torch
from torch import nn
from torch.nn import functional as F

import parity_lib as P


def leaky(x):
    return torch.where(x > 0, x, 0.1 * x)


class Separable(nn.Module):
    def __init__(self, channels, out_channels, residual=False):
        super().__init__()
        self.residual = residual
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.pointwise = nn.Conv2d(channels, out_channels, 1)

    def layout(self, name):
        return {**conv(f"{name}.depthwise", self.depthwise), **conv(f"{name}.pointwise", self.pointwise)}

    def forward(self, x):
        h = self.pointwise(leaky(self.depthwise(x)))
        return leaky(h + x if self.residual else h)


def conv(name, c):
    # Conv weights keep torch's layout (ConvTranspose2d's [in, out, kh, kw] too); Sinter's bias is [out, 1, 1].
    return P.bound(P.sinter_package.conv2d(name, ""), c)


class SeparableNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, stride=2)
        self.block1, self.block2 = Separable(16, 16, residual=True), Separable(16, 32)
        self.classifier = nn.Linear(1568, 10)
        self.up = nn.ConvTranspose2d(32, 8, 2, stride=2)
        self.redraw = nn.Conv2d(8, 1, 3, padding=1)

    def layout(self):
        return {**conv("stem", self.stem), **self.block1.layout("block1"), **self.block2.layout("block2"),
                **P.dense("classifier", self.classifier), **conv("up", self.up), **conv("redraw", self.redraw)}

    def forward(self, image, label):
        x = F.pad(image.reshape(-1, 1, 28, 28), (1, 1, 1, 1))
        code = F.max_pool2d(self.block2(self.block1(leaky(self.stem(x)))), 2)
        logits = (self.classifier(code.flatten(1)) + self.classifier(code.flip(-1).flatten(1))) / 2
        drawn = torch.sigmoid(self.redraw(F.interpolate(leaky(self.up(code)), scale_factor=2, mode="nearest")))
        reconstruction = drawn.reshape(-1, 784)
        target = F.one_hot(label, 10).to(logits.dtype) * 0.9 + 0.01
        loss = -(target * torch.log_softmax(logits, 1)).sum(1).mean() + F.mse_loss(reconstruction, image)
        return {"probs": torch.softmax(logits, 1), "predicted": logits.argmax(1), "reconstruction": reconstruction,
                "loss": loss}


if __name__ == "__main__":
    P.main("fashion_separable.sn", SeparableNet)
