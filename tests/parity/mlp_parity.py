#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_mlp.sn: the same weights (read out of a Sinter instance through
the C API), the same Fashion-MNIST batches in the same order, and then
  - the forward pass (probabilities and loss),
  - the gradients (one SGD step with lr 1, so that the weights move by exactly minus the gradient),
  - 20 optimizer steps with SGD + momentum, and with Adam: the loss at every step and the final weights,
each against torch 1.13 (Debian's python3-torch) within the tolerances below."""
import argparse
import ctypes
import gzip
import os
import re
import struct
import subprocess
import sys

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"
SHAPES = [("w1", (784, 256)), ("b1", (256,)), ("w2", (256, 128)), ("b2", (128,)), ("w3", (128, 10)), ("b3", (10,))]
BATCH, STEPS = 64, 20
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def read_idx(path, count):
    with gzip.open(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        n = count * int(np.prod(dims[1:])) if len(dims) > 1 else count
        return np.frombuffer(f.read(n), dtype=np.uint8).reshape((count,) + tuple(dims[1:]))


class SinterModel:
    """A compiled model driven through the C API (runtime/include/sinter/sinter.h) with ctypes."""

    def __init__(self, lib_path):
        self.lib = ctypes.CDLL(lib_path)
        L = self.lib
        L.sinter_create.restype = ctypes.c_void_p
        L.sinter_create.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
        L.sinter_param_data.restype = ctypes.POINTER(ctypes.c_float)
        L.sinter_param_data.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        L.sinter_train_step.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_float)]
        L.sinter_forward.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
        L.sinter_last_error.restype = ctypes.c_char_p
        L.sinter_last_error.argtypes = [ctypes.c_void_p]
        desc = ctypes.addressof(ctypes.c_char.in_dll(L, "sinter_model"))
        self.inst = L.sinter_create(desc, 1)
        assert self.inst, "sinter_create failed"

    def params(self):
        return [np.ctypeslib.as_array(self.lib.sinter_param_data(self.inst, i), shape) for i, (_, shape) in enumerate(SHAPES)]

    def _inputs(self, x, y):
        self._keep = (np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int32))
        return (ctypes.c_void_p * 2)(*(a.ctypes.data for a in self._keep))

    def train_step(self, x, y):
        loss = ctypes.c_float()
        status = self.lib.sinter_train_step(self.inst, len(y), self._inputs(x, y), ctypes.byref(loss))
        assert status == 0, self.lib.sinter_last_error(self.inst)
        return loss.value

    def forward(self, x, y):
        probs = np.zeros((len(y), 10), dtype=np.float32)
        loss = np.zeros(1, dtype=np.float32)
        outs = (ctypes.c_void_p * 2)(probs.ctypes.data, loss.ctypes.data)
        assert self.lib.sinter_forward(self.inst, len(y), self._inputs(x, y), outs) == 0
        return probs, float(loss[0])


def torch_twin(params):
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    with torch.no_grad():
        for layer, (w, b) in zip([model[0], model[2], model[4]], [(params[0], params[1]), (params[2], params[3]), (params[4], params[5])]):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))  # Sinter keeps weights [in, out], torch [out, in]
            layer.bias.copy_(torch.from_numpy(b.copy()))
    return model


def torch_params(model):
    return [model[0].weight.detach().numpy().T, model[0].bias.detach().numpy(), model[2].weight.detach().numpy().T,
            model[2].bias.detach().numpy(), model[4].weight.detach().numpy().T, model[4].bias.detach().numpy()]


def build_variant(sinter, source, workdir, name, optimizer_line):
    text = re.sub(r"optimizer .*", optimizer_line, open(source).read())
    sn = os.path.join(workdir, f"mlp_{name}.sn")
    with open(sn, "w") as f:
        f.write(text)
    lib = os.path.join(workdir, f"libmlp_{name}.so")
    subprocess.run([sinter, "build", sn, "--emit", "shared", "-o", lib], check=True)
    return SinterModel(lib)


def compare_training(name, model, make_opt, xs, ys, loss_rtol, param_atol):
    twin = torch_twin([p.copy() for p in model.params()])
    opt = make_opt(twin.parameters())
    worst_loss = 0.0
    for x, y in zip(xs, ys):
        ls = model.train_step(x, y)
        opt.zero_grad()
        lt = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y.astype(np.int64)))
        lt.backward()
        opt.step()
        worst_loss = max(worst_loss, abs(ls - lt.item()) / abs(lt.item()))
    check(worst_loss <= loss_rtol, f"{name}: loss at each of {len(xs)} steps within {loss_rtol:g} relative (worst {worst_loss:.2e})")
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(model.params(), torch_params(twin)))
    check(worst <= param_atol, f"{name}: weights after {len(xs)} steps within {param_atol:g} (worst {worst:.2e})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.set_num_threads(1)
    images = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"), BATCH * STEPS).reshape(-1, 784).astype(np.float32) / 255
    labels = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), BATCH * STEPS).astype(np.int32)
    xs = [images[i * BATCH:(i + 1) * BATCH] for i in range(STEPS)]
    ys = [labels[i * BATCH:(i + 1) * BATCH] for i in range(STEPS)]
    source = os.path.join(a.source, "examples", "fashion_mlp.sn")

    # Forward pass and gradients: SGD with lr 1 moves every weight by exactly minus its gradient.
    m = build_variant(a.sinter, source, a.workdir, "grad", "optimizer sgd(lr = 1.0)")
    before = [p.copy() for p in m.params()]
    twin = torch_twin(before)
    probs, loss = m.forward(xs[0], ys[0])
    logits = twin(torch.from_numpy(xs[0]))
    tloss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(ys[0].astype(np.int64)))
    check(np.allclose(probs, torch.softmax(logits, 1).detach().numpy(), atol=1e-6), "forward: probabilities within 1e-6")
    check(abs(loss - tloss.item()) <= 1e-5 * abs(tloss.item()), f"forward: loss {loss:.6f} vs torch {tloss.item():.6f}")
    tloss.backward()
    m.train_step(xs[0], ys[0])
    grads = [b - a for a, b in zip(m.params(), before)]
    tgrads = [twin[0].weight.grad.numpy().T, twin[0].bias.grad.numpy(), twin[2].weight.grad.numpy().T, twin[2].bias.grad.numpy(),
              twin[4].weight.grad.numpy().T, twin[4].bias.grad.numpy()]
    for (name, _), g, t in zip(SHAPES, grads, tgrads):
        err = float(np.max(np.abs(g - t)))
        check(err <= 1e-6 + 1e-4 * float(np.max(np.abs(t))), f"gradient of {name}: max abs difference {err:.2e}")

    # Training: the same batches, 20 steps.
    compare_training("sgd + momentum", build_variant(a.sinter, source, a.workdir, "sgd", "optimizer sgd(lr = 0.05, momentum = 0.9)"),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), xs, ys, 1e-4, 1e-5)
    compare_training("adam", build_variant(a.sinter, source, a.workdir, "adam", "optimizer adam(lr = 1e-3)"),
                     lambda p: torch.optim.Adam(p, lr=1e-3), xs, ys, 1e-3, 1e-4)
    print(f"{len(failures)} failed" if failures else "PASS")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
