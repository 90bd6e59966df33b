#!/usr/bin/python3
"""ONNX import against PyTorch: models built in PyTorch 1.13, exported by torch.onnx.export with a symbolic
batch axis at opsets 11, 13 and 17, are imported by Sinter (`sinter build model.onnx --emit shared`, driven
through the C API) and must give PyTorch's outputs within 1e-5 on real Fashion-MNIST test images, at two batch
sizes (the batch is a symbolic dimension): first as built (the params start from the file's initializers, no
weights file loaded), then with the safetensors file `sinter import --weights` wrote loaded.

The reference is the same torch model in float64, so that the differences measured are Sinter's float32
rounding. Batch normalization has random running statistics (not the identity a fresh layer would be);
dropout must vanish in inference."""
import argparse
import ctypes
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
import parity_lib as P  # noqa: E402  (SinterModel: a shared library through ctypes; read_idx)

TOLERANCE = 1e-5


class MLP(nn.Module):
    """Gemm, Relu, Dropout, BatchNormalization on [N, C], Tanh, Sigmoid, Softmax: two outputs."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)
        self.bn = nn.BatchNorm1d(64)
        self.drop = nn.Dropout(0.3)

    def forward(self, image):
        h = self.drop(torch.relu(self.fc1(image)))
        h = torch.tanh(self.bn(self.fc2(h))) + torch.sigmoid(h[:, :64]) * 0.5
        logits = self.fc3(h)
        return logits, torch.softmax(logits, 1)


class MLPMatMul(nn.Module):
    """x @ W + b with W a plain tensor: MatMul and Add (not Gemm), and leaky ReLU, log-softmax."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(784, 32) * 0.05)
        self.b1 = nn.Parameter(torch.randn(32) * 0.1)
        self.w2 = nn.Parameter(torch.randn(32, 10) * 0.2)

    def forward(self, image):
        h = nn.functional.leaky_relu(image @ self.w1 + self.b1, 0.1)
        return torch.log_softmax(h @ self.w2, 1)


class CNN(nn.Module):
    """x.view(x.size(0), 1, 28, 28) (Shape, Gather, Unsqueeze, Concat, Reshape), Conv with padding,
    BatchNormalization on NCHW, MaxPool, AveragePool, Flatten, Dropout, Gemm, Softmax."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.bn = nn.BatchNorm2d(6)
        self.fc1, self.fc2 = nn.Linear(400, 84), nn.Linear(84, 10)
        self.drop = nn.Dropout(0.25)

    def forward(self, image):
        x = image.view(image.size(0), 1, 28, 28)
        h = nn.functional.max_pool2d(torch.relu(self.bn(self.conv1(x))), 2)
        h = nn.functional.avg_pool2d(torch.relu(self.conv2(h)), 2)
        return torch.softmax(self.fc2(self.drop(torch.relu(self.fc1(torch.flatten(h, 1))))), 1)


class StridedCNN(nn.Module):
    """Reshape by a constant shape, a strided convolution, global average pooling, Flatten."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.Conv2d(8, 12, 3, dilation=2)
        self.fc = nn.Linear(12, 10)

    def forward(self, image):
        x = image.reshape(-1, 1, 28, 28)
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1))


# (name, model, opset, training mode of the export: EVAL folds BatchNorm into Conv, PRESERVE keeps its node)
CASES = [
    ("mlp_opset11", MLP, 11, torch.onnx.TrainingMode.EVAL),
    ("mlp_opset17", MLP, 17, torch.onnx.TrainingMode.PRESERVE),
    ("matmul_opset13", MLPMatMul, 13, torch.onnx.TrainingMode.EVAL),
    ("cnn_opset11", CNN, 11, torch.onnx.TrainingMode.PRESERVE),
    ("cnn_opset13", CNN, 13, torch.onnx.TrainingMode.EVAL),
    ("cnn_opset17", CNN, 17, torch.onnx.TrainingMode.PRESERVE),
    ("strided_cnn_opset17", StridedCNN, 17, torch.onnx.TrainingMode.EVAL),
]


def randomize_batchnorm(model):
    """Running statistics and affine params far from a fresh layer's, so that a wrong fold shows."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)


def export(model, path, opset, mode):
    outputs = ["out%d" % i for i in range(2 if isinstance(model, MLP) else 1)]
    torch.onnx.export(model, torch.zeros(2, 784), path, input_names=["image"], output_names=outputs,
                      dynamic_axes={name: {0: "batch"} for name in ["image"] + outputs}, opset_version=opset,
                      training=mode, do_constant_folding=mode == torch.onnx.TrainingMode.EVAL)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def max_error(name, sinter, images, reference):
    """The largest relative difference of the library's outputs from torch's, at two batch sizes."""
    worst = 0.0
    for batch in (len(images), 7):  # the batch axis is symbolic: any size runs
        outs = list(sinter.forward([images[:batch]]).values())
        assert len(outs) == len(reference), f"{name}: {len(outs)} outputs, torch has {len(reference)}"
        for got, want in zip(outs, reference):
            want = want[:batch].numpy()
            assert got.shape == want.shape, f"{name}: output shape {got.shape}, torch {want.shape}"
            err = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))
            worst = max(worst, err)
    return worst


def check_case(args, name, make, opset, mode, images):
    torch.manual_seed(hash(name) % 1000)
    model = make()
    randomize_batchnorm(model)
    model.eval()
    path = os.path.join(args.workdir, name + ".onnx")
    export(model, path, opset, mode)
    weights = os.path.join(args.workdir, name + ".safetensors")
    lib = os.path.join(args.workdir, "lib" + name + ".so")
    run([args.sinter, "check", path])
    run([args.sinter, "import", path, "--weights", weights])
    run([args.sinter, "build", path, "--emit", "shared", "-o", lib, "--target-cpu", "native"])
    with torch.no_grad():
        reference = model.double()(torch.from_numpy(images).double())
    reference = [reference] if isinstance(reference, torch.Tensor) else list(reference)
    sinter = P.SinterModel(lib)
    # The library's params start from the file's initializers: no weights file loaded yet.
    from_library = max_error(name, sinter, images, reference)
    status = sinter.lib.sinter_load_weights(ctypes.c_void_p(sinter.inst), weights.encode())
    assert status == 0, f"{name}: sinter_load_weights failed: {sinter.lib.sinter_last_error(sinter.inst)}"
    from_weights = max_error(name, sinter, images, reference)  # the same values, from `sinter import --weights`
    worst = max(from_library, from_weights)
    ok = worst <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {name:22} max error {from_library:.2e} as built, {from_weights:.2e} with "
          f"the weights file loaded (tolerance {TOLERANCE:g})")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(1)
    images = P.read_idx(os.path.join(P.DATA, "t10k-images-idx3-ubyte.gz"), 256)
    images = images.reshape(-1, 784).astype(np.float32) / 255
    results = [check_case(args, *case, images) for case in CASES]
    if not all(results):
        sys.exit(f"FAIL: {results.count(False)} of {len(results)} imported models differ from PyTorch")
    print(f"all {len(results)} imported models match PyTorch")


if __name__ == "__main__":
    main()
