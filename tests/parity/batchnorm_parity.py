#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_batchnorm.sn (see parity_lib.py for what is compared): BatchNorm2D
and BatchNorm1D against torch.nn.BatchNorm2d and BatchNorm1d, in both modes. Inference (Sinter's forward) is
compared with the twin in eval mode, normalizing by the running statistics; the train step with the twin in
train mode, normalizing by the batch's statistics. The running means and variances are states: the next
values the train step computes, and their values after 20 steps of each optimizer (momentum 0.1, the
unbiased batch variance, as torch), are compared like the weights, relative to their size.

The training tolerances are looser than the other examples': each batch statistic of bn1 is a float32 sum
over 25,088 values (32 images of 28x28) against torch's float64, about 1e-5 relative apart, and each step's
normalization carries that into every later layer; measured worst over 20 steps: loss 9e-5 relative,
weights 2.5e-4 (fc1.w under Adam), states 5.3e-4 relative."""
from torch import nn

import parity_lib as P


def batch_norm(name, bn):
    # gamma and beta are torch's weight and bias; the running statistics are buffers there, states here.
    return P.bound(P.sinter_package.batch_norm(name, ""), bn)


class BatchNormCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(16), nn.BatchNorm2d(32), nn.BatchNorm1d(64)
        self.fc1, self.fc2 = nn.Linear(32 * 7 * 7, 64, bias=False), nn.Linear(64, 10)

    def layout(self):
        return {"conv1.w": (self.conv1.weight, P.same), "conv2.w": (self.conv2.weight, P.same),
                **batch_norm("bn1", self.bn1), **batch_norm("bn2", self.bn2), **batch_norm("bn3", self.bn3),
                "fc1.w": (self.fc1.weight, P.transposed), **P.dense("fc2", self.fc2)}

    def forward(self, image, label):
        pool = lambda x: nn.functional.max_pool2d(x, 2)
        x = image.reshape(-1, 1, 28, 28)
        h1 = pool(nn.functional.relu(self.bn1(self.conv1(x))))
        h2 = pool(nn.functional.relu(self.bn2(self.conv2(h1))))
        logits = self.fc2(nn.functional.relu(self.bn3(self.fc1(h2.flatten(1)))))
        return {"probs": nn.functional.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_batchnorm.sn", BatchNormCNN, tolerances={"train_loss": 3e-4, "train_weights": 1e-3})
