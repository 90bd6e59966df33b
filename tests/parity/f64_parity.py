#!/usr/bin/python3
"""f64 end to end: a model whose inputs and params are f64 is compiled, trained and checkpointed in f64.

1. C API (shared library, ctypes): the initial weights read out of an instance, the same batches, then
   the forward pass and 10 Adam steps against a torch.float64 twin; weights within 1e-12 (f32 arithmetic
   anywhere on the way would leave errors near 1e-7).
2. Training executable (--emit exe) on NPY data: the checkpoint stores params and optimizer state as F64;
   a run stopped after one epoch and resumed ends with the same bytes as an uninterrupted run; the loss
   falls; `sinter train` (JIT) ends with the same bytes as the executable."""
import argparse
import ctypes
import json
import os
import subprocess
import sys

import numpy as np
import torch

MODEL = """
model F64Mlp {
  input x: f64[batch, 6]
  input label: i32[batch]
  param w1: f64[6, 8] = glorot_uniform
  param b1: f64[8] = normal(0, 0.1)
  param w2: f64[8, 3] = glorot_uniform
  param b2: f64[3] = normal(0, 0.1)
  logits = tanh(x @ w1 + b1) @ w2 + b2
  output probs = softmax(logits)
  loss = cross_entropy(logits, label)
}

train F64Mlp {
  minimize loss
  optimizer adam(lr = 0.05)
  batch 16
  epochs 3
  seed 3
}
"""
SHAPES = [(6, 8), (8,), (8, 3), (3,)]
BATCH, STEPS = 16, 10
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def f32(v):
    """The float the ABI stores for a hyper-parameter, as the double torch gets."""
    return float(np.float32(v))


def data(n, seed):
    """Three classes by the largest of three projections of 6 features; the features are f32 values, which
    the driver reads exactly, so that the C API and the executable see the same numbers."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = np.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1).astype(np.int32)
    return x, y


class SinterF64:
    def __init__(self, lib_path):
        L = self.lib = ctypes.CDLL(lib_path)
        L.sinter_create.restype = ctypes.c_void_p
        L.sinter_create.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
        L.sinter_param_data_f64.restype = ctypes.POINTER(ctypes.c_double)
        L.sinter_param_data_f64.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        L.sinter_param_data.restype = ctypes.POINTER(ctypes.c_float)
        L.sinter_param_data.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        L.sinter_train_step.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_float)]
        L.sinter_forward.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
        L.sinter_last_error.restype = ctypes.c_char_p
        L.sinter_last_error.argtypes = [ctypes.c_void_p]
        self.inst = L.sinter_create(ctypes.addressof(ctypes.c_char.in_dll(L, "F64Mlp_model")), 7)
        assert self.inst, "sinter_create failed"

    def params(self):
        return [np.ctypeslib.as_array(self.lib.sinter_param_data_f64(self.inst, i), s).copy() for i, s in enumerate(SHAPES)]

    def _inputs(self, x, y):
        self._keep = (np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.int32))
        return (ctypes.c_void_p * 2)(*(a.ctypes.data for a in self._keep))

    def forward(self, x, y):
        probs = np.zeros((len(y), 3), dtype=np.float64)
        loss = np.zeros(1, dtype=np.float64)
        outs = (ctypes.c_void_p * 2)(probs.ctypes.data, loss.ctypes.data)
        assert self.lib.sinter_forward(self.inst, len(y), self._inputs(x, y), outs) == 0
        return probs, float(loss[0])

    def train_step(self, x, y):
        loss = ctypes.c_float()
        status = self.lib.sinter_train_step(self.inst, len(y), self._inputs(x, y), ctypes.byref(loss))
        assert status == 0, self.lib.sinter_last_error(self.inst)
        return loss.value


def torch_logits(p, x):
    return torch.tanh(x @ p[0] + p[1]) @ p[2] + p[3]


def check_c_api(lib, xs, ys):
    m = SinterF64(lib)
    check(not m.lib.sinter_param_data(m.inst, 0), "sinter_param_data refuses an f64 param (NULL)")
    twin = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in m.params()]
    probs, loss = m.forward(xs[0], ys[0])
    x0 = torch.from_numpy(xs[0].astype(np.float64))
    t_logits = torch_logits(twin, x0)
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.from_numpy(ys[0].astype(np.int64)))
    err = float(np.max(np.abs(probs - torch.softmax(t_logits, 1).detach().numpy())))
    check(err <= 1e-14, f"forward: f64 probabilities within 1e-14 of torch.float64 (worst {err:.1e})")
    check(abs(loss - t_loss.item()) <= 1e-14 * abs(t_loss.item()), f"forward: f64 loss {loss!r} vs torch {t_loss.item()!r}")

    opt = torch.optim.Adam(twin, lr=f32(0.05), betas=(f32(0.9), f32(0.999)), eps=f32(1e-8))
    for x, y in zip(xs, ys):
        m.train_step(x, y)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(torch_logits(twin, torch.from_numpy(x.astype(np.float64))),
                                          torch.from_numpy(y.astype(np.int64))).backward()
        opt.step()
    worst = max(float(np.max(np.abs(a - b.detach().numpy()))) for a, b in zip(m.params(), twin))
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(m.params(), [p for p in SinterF64(lib).params()]))
    check(moved > 1e-2, f"training moved the weights (by up to {moved:.3f})")
    check(worst <= 1e-12, f"weights after {len(xs)} Adam steps within 1e-12 of torch.float64 (worst {worst:.1e})")


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    return header, raw[8 + n:]


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(p.stdout + p.stderr)
    return p


def params_of(path):
    header, body = read_safetensors(path)
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__" and "/" not in k}


def check_executable(sinter, sn, workdir, x, y):
    np.save(os.path.join(workdir, "x.npy"), x)
    np.save(os.path.join(workdir, "y.npy"), y)
    exe = os.path.join(workdir, "f64_mlp")
    if run([sinter, "build", sn, "--emit", "exe", "-o", exe]).returncode != 0:
        return check(False, "sinter build --emit exe")
    data = ["--train-images", os.path.join(workdir, "x.npy"), "--train-labels", os.path.join(workdir, "y.npy"), "--quiet"]

    def ck(name):
        d = os.path.join(workdir, name)
        for f in ("checkpoint.safetensors", "metrics.jsonl"):
            if os.path.exists(os.path.join(d, f)):
                os.remove(os.path.join(d, f))
        return d

    full, part = ck("ck_full"), ck("ck_part")
    metrics = os.path.join(full, "metrics.jsonl")
    check(run([exe, *data, "--epochs", "3", "--checkpoint-dir", full, "--metrics", metrics]).returncode == 0,
          "the f64 executable trains 3 epochs")
    header, _ = read_safetensors(os.path.join(full, "checkpoint.safetensors"))
    dtypes = {k: v["dtype"] for k, v in header.items() if k != "__metadata__"}
    check(dtypes.get("w1") == "F64" and all(d == "F64" for d in dtypes.values()),
          f"the checkpoint holds params and optimizer state as F64 ({len(dtypes)} tensors)")
    losses = [json.loads(line)["train_loss"] for line in open(metrics)]
    check(len(losses) == 3 and losses[2] < losses[0], f"the training loss falls: {losses}")

    check(run([exe, *data, "--epochs", "1", "--checkpoint-dir", part]).returncode == 0, "one epoch, checkpointed")
    check(run([exe, *data, "--epochs", "3", "--checkpoint-dir", part, "--resume"]).returncode == 0, "resumed to 3 epochs")
    check(params_of(os.path.join(part, "checkpoint.safetensors")) == params_of(os.path.join(full, "checkpoint.safetensors")),
          "resumed run ends with the same f64 weights, byte for byte")

    jit = ck("ck_jit")
    check(run([sinter, "train", sn, "--", *data, "--epochs", "3", "--checkpoint-dir", jit]).returncode == 0,
          "sinter train (JIT) trains the f64 model")
    check(params_of(os.path.join(jit, "checkpoint.safetensors")) == params_of(os.path.join(full, "checkpoint.safetensors")),
          "sinter train ends with the executable's f64 weights, byte for byte")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.set_num_threads(1)
    sn = os.path.join(a.workdir, "f64_mlp.sn")
    with open(sn, "w") as f:
        f.write(MODEL)
    lib = os.path.join(a.workdir, "libf64_mlp.so")
    subprocess.run([a.sinter, "build", sn, "--emit", "shared", "-o", lib], check=True)
    x, y = data(BATCH * STEPS, 5)
    check_c_api(lib, [x[i * BATCH:(i + 1) * BATCH] for i in range(STEPS)], [y[i * BATCH:(i + 1) * BATCH] for i in range(STEPS)])
    check_executable(a.sinter, sn, a.workdir, *data(200, 6))
    print(f"{len(failures)} failed" if failures else "PASS")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
