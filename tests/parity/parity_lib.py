"""Shared machinery of the parity tests: one example model compiled by Sinter and its PyTorch twin start from
the same weights and see the same Fashion-MNIST batches; the test then compares

  - the forward pass: every output of the model (the loss included),
  - the gradients of every param, taken from the model's own train-step entry point (no optimizer between),
  - 20 optimizer steps with SGD + momentum, Adam and AdamW: the loss at every step and the final weights,
  - when the compared copies were edited (dropout off), the forward pass of the example as written,

against PyTorch 1.13 (Debian's python3-torch, which only /usr/bin/python3 has).

Sinter's side goes through the C API (runtime/include/sinter/sinter.h) of a `sinter build --emit shared`
library, with ctypes. The param names, shapes, inputs and outputs are read from the library's
sinter_model_desc, so a twin only states how each Sinter param maps onto a torch tensor.

The twin computes in float64: its results are then (nearly) exact, and the differences the checks measure are
Sinter's float32 rounding, not the sum of two float32 implementations' errors.

A twin is a torch.nn.Module with
  forward(image, label) -> dict of Sinter output name -> tensor (the loss included, under its output name),
  layout() -> dict of Sinter param name -> (torch parameter, view), where view(t) presents t, or its gradient,
              in Sinter's layout (Dense w is [in, out] where torch.nn.Linear keeps [out, in], ...).
Torch parameters that no Sinter param maps onto must be frozen (requires_grad False): frozen() lists them
with the value they keep, e.g. the second bias of torch.nn.LSTM, which Sinter's cell does not have.
"""
import argparse
import ctypes
import gzip
import os
import re
import struct
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import sinter as sinter_package  # noqa: E402  (python/sinter: model_names, the layouts of nn.sn's layers)
from sinter import read_weights, same, transposed  # noqa: E402,F401  (for the parity scripts)

DATA = "/usr/share/datasets/fashion-mnist"

# The optimizers of the training comparison: a train-block line, torch.optim, and for Adam and AdamW the most
# a step can move a weight whatever its gradient (lr; see the twins' zero_gradient()).
# SGD's lr is 0.01: at 0.05 the simple RNN's gradient norm jumps to 14 within 12 steps and the two float
# trajectories part exponentially (1e-7 to 1e-1 relative in 20 steps), which would test chaos, not Sinter.
# AdamW's weight decay is large so that a decay applied wrongly (or not at all) moves the weights by more than
# the tolerance in 20 steps: lr * wd * 20 = 1% of each weight.
OPTIMIZERS = [
    ("sgd + momentum", "optimizer sgd(lr = 0.01, momentum = 0.9)", lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), None),
    ("adam", "optimizer adam(lr = 1e-3)", lambda p: torch.optim.Adam(p, lr=1e-3), 1e-3),
    ("adamw", "optimizer adamw(lr = 1e-3, weight_decay = 0.5)", lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.5), 1e-3),
]


# ---------------------------------------------------------------------------------------------------------
# The model descriptor (runtime/include/sinter/model_abi.h), as far as the tests read it.

class TensorDesc(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64)), ("init", ctypes.c_int32), ("init_a", ctypes.c_float),
                ("init_b", ctypes.c_float)]


ENTRY = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64))


class ModelDesc(ctypes.Structure):
    # Only the leading fields up to num_state: the train config and the hooks that follow are not read here.
    _fields_ = [("abi_version", ctypes.c_int32), ("num_syms", ctypes.c_int32), ("name", ctypes.c_char_p),
                ("sym_names", ctypes.POINTER(ctypes.c_char_p)), ("num_inputs", ctypes.c_int32),
                ("num_params", ctypes.c_int32), ("num_outputs", ctypes.c_int32), ("loss_output", ctypes.c_int32),
                ("inputs", ctypes.POINTER(TensorDesc)), ("params", ctypes.POINTER(TensorDesc)),
                ("outputs", ctypes.POINTER(TensorDesc)), ("forward", ENTRY), ("train_step", ENTRY),
                ("has_train", ctypes.c_int32), ("num_state", ctypes.c_int32)]


NUMPY_DTYPE = {0: np.float32, 1: np.float64, 2: np.int32}


class Tensor:
    """A tensor of the descriptor: name, dtype and dims (None for a symbolic dimension, i.e. the batch)."""

    def __init__(self, d):
        self.name = d.name.decode()
        self.dtype = NUMPY_DTYPE[d.dtype]
        self.dims = tuple(d.dims[i] if d.dims[i] >= 0 else None for i in range(d.rank))

    def shape(self, batch):
        return tuple(batch if n is None else n for n in self.dims)


class SinterModel:
    """A compiled model driven through the C API, with one instance (its weights and optimizer state)."""

    def __init__(self, lib_path, seed=1):
        self.lib = ctypes.CDLL(lib_path)
        L = self.lib
        L.sinter_create.restype = ctypes.c_void_p
        L.sinter_create.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
        L.sinter_param_data.restype = ctypes.POINTER(ctypes.c_float)
        L.sinter_param_data.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        L.sinter_train_step.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p),
                                        ctypes.POINTER(ctypes.c_float)]
        L.sinter_forward.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p),
                                     ctypes.POINTER(ctypes.c_void_p)]
        L.sinter_last_error.restype = ctypes.c_char_p
        L.sinter_last_error.argtypes = [ctypes.c_void_p]
        L.sinter_set_threads.argtypes = [ctypes.c_int]
        # One thread: the machine is shared, and the results are the same bits for any count.
        L.sinter_set_threads(1)
        # A library's descriptor is named after its model (<Model>_model); the sinter package reads its name.
        [model_name] = sinter_package.model_names(lib_path)
        self.desc = ModelDesc.in_dll(L, f"{model_name}_model")
        d = self.desc
        assert d.abi_version == 8, f"model ABI version {d.abi_version}, the test knows 8"
        # Every symbolic dimension of the examples is the batch size.
        syms = [d.sym_names[i].decode() for i in range(d.num_syms)]
        assert syms == ["batch"], f"symbolic dimensions {syms}, expected only 'batch'"
        self.inputs = [Tensor(d.inputs[i]) for i in range(d.num_inputs)]
        self.params = [Tensor(d.params[i]) for i in range(d.num_params)]  # the trained params, then the states
        self.trained = self.params[:d.num_params - d.num_state]
        self.states = self.params[d.num_params - d.num_state:]
        self.outputs = [Tensor(d.outputs[i]) for i in range(d.num_outputs)]
        self.loss_name = self.outputs[d.loss_output].name
        self.inst = L.sinter_create(ctypes.addressof(d), seed)
        assert self.inst, "sinter_create failed"

    def weights(self):
        """Live views of the instance's params, by name."""
        return {p.name: np.ctypeslib.as_array(self.lib.sinter_param_data(self.inst, i), p.shape(None))
                for i, p in enumerate(self.params)}

    def _input_ptrs(self, batch_inputs):
        self._keep = [np.ascontiguousarray(a, dtype=t.dtype) for a, t in zip(batch_inputs, self.inputs)]
        return [a.ctypes.data for a in self._keep]

    def forward(self, batch_inputs):
        """Every output of the model for one batch, by name."""
        batch = len(batch_inputs[0])
        outs = {t.name: np.zeros(t.shape(batch), dtype=t.dtype) for t in self.outputs}
        ins = (ctypes.c_void_p * len(self.inputs))(*self._input_ptrs(batch_inputs))
        ptrs = (ctypes.c_void_p * len(outs))(*(a.ctypes.data for a in outs.values()))
        status = self.lib.sinter_forward(self.inst, batch, ins, ptrs)
        assert status == 0, self.lib.sinter_last_error(self.inst)
        return outs

    def gradients(self, batch_inputs):
        """The loss, every trained param's gradient and every state's next value, by name, from the generated
        train-step entry point itself (buffers: inputs, params, loss, gradients, next states), so that no
        optimizer update stands in between. The instance's weights are read, not changed."""
        batch = len(batch_inputs[0])
        loss = np.zeros(1, dtype=np.float32)
        grads = {p.name: np.zeros(p.shape(None), dtype=np.float32) for p in self.trained}
        states = {p.name: np.zeros(p.shape(None), dtype=np.float32) for p in self.states}
        params = [ctypes.cast(self.lib.sinter_param_data(self.inst, i), ctypes.c_void_p).value
                  for i in range(len(self.params))]
        buffers = (self._input_ptrs(batch_inputs) + params + [loss.ctypes.data] +
                   [a.ctypes.data for a in list(grads.values()) + list(states.values())])
        syms = (ctypes.c_int64 * 2)(batch, 0)  # the batch, then the seed of random ops (none when p = 0)
        self.desc.train_step((ctypes.c_void_p * len(buffers))(*buffers), syms)
        return float(loss[0]), grads, states

    def train_step(self, batch_inputs):
        """One step through the C API: loss and gradients, then the train block's optimizer."""
        loss = ctypes.c_float()
        ins = (ctypes.c_void_p * len(self.inputs))(*self._input_ptrs(batch_inputs))
        status = self.lib.sinter_train_step(self.inst, len(batch_inputs[0]), ins, ctypes.byref(loss))
        assert status == 0, self.lib.sinter_last_error(self.inst)
        return loss.value


# ---------------------------------------------------------------------------------------------------------
# Data

def read_idx(path, count):
    """The first `count` items of a gzipped IDX file."""
    with gzip.open(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        n = count * int(np.prod(dims[1:])) if len(dims) > 1 else count
        return np.frombuffer(f.read(n), dtype=np.uint8).reshape((count,) + tuple(dims[1:]))


def fashion_batches(batch, steps):
    """The first batch * steps training images (as the driver feeds them: 784 floats in [0, 1]) and labels,
    cut into `steps` batches."""
    images = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"), batch * steps)
    images = images.reshape(-1, 784).astype(np.float32) / 255
    labels = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), batch * steps).astype(np.int32)
    return [(images[i * batch:(i + 1) * batch], labels[i * batch:(i + 1) * batch]) for i in range(steps)]


# ---------------------------------------------------------------------------------------------------------
# Twins and the comparisons

class Checker:
    def __init__(self):
        self.failures = []

    def check(self, ok, what):
        print(("ok    " if ok else "FAIL  ") + what, flush=True)
        if not ok:
            self.failures.append(what)


# Checks of the scripts that drive the command line: each prints ok/FAIL and the script exits with 1 at the
# end when any failed (CHECKS.failures).
CHECKS = Checker()
check = CHECKS.check


def script_args():
    """The command line ctest gives every parity script: the sinter binary, the source tree and a scratch dir."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    return ap.parse_args()


def run(cmd):
    """Runs a command, echoing it and its output; returns the CompletedProcess (the caller checks the status)."""
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(p.stdout + p.stderr)
    return p


def load_twin(twin, weights):
    """Gives the twin Sinter's weights (float64) and checks that the layout covers every trainable torch
    parameter exactly once, so that nothing keeps torch's own random initialization."""
    twin.double()
    layout = twin.layout()
    assert set(layout) == set(weights), f"twin maps {sorted(layout)}, the model has {sorted(weights)}"
    covered = {}
    with torch.no_grad():
        for name, (param, view) in layout.items():
            target = view(param.data)
            assert tuple(target.shape) == weights[name].shape, f"{name}: twin {tuple(target.shape)}, model {weights[name].shape}"
            target.copy_(torch.from_numpy(weights[name].astype(np.float64)))
            covered[id(param)] = covered.get(id(param), 0) + target.numel()
        for param, value in getattr(twin, "frozen", lambda: [])():
            param.requires_grad_(False)
            param.fill_(value)
    for name, p in twin.named_parameters():
        if p.requires_grad:
            assert covered.get(id(p), 0) == p.numel(), f"torch parameter {name} is not (wholly) mapped from the model"
    return twin


def twin_weights(twin):
    return {name: view(param.detach()).numpy() for name, (param, view) in twin.layout().items()}


def torch_inputs(batch_inputs):
    image, label = batch_inputs
    return torch.from_numpy(image.astype(np.float64)), torch.from_numpy(label.astype(np.int64))


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def compare_forward(c, model, twin, batch_inputs, tol, label="forward"):
    """Every output (the loss included) for one batch, inference against the twin in eval mode (BatchNorm's
    running statistics); returns the twin's outputs."""
    outs = model.forward(batch_inputs)
    twin.eval()
    with torch.no_grad():
        touts = twin(*torch_inputs(batch_inputs))
    twin.train()
    for name, value in outs.items():
        assert name in touts, f"the twin does not compute output '{name}'"
        ref = touts[name].detach().numpy()
        err = max_abs(value, ref)
        bound = tol["forward"] * max(1.0, float(np.max(np.abs(ref))))
        c.check(err <= bound, f"{label}: output '{name}' {list(value.shape)} max abs difference {err:.2e} (<= {bound:.1e})")
    return touts


def compare_forward_and_gradients(c, model, make_twin, batch_inputs, tol):
    """Outputs, loss and gradients for one batch, from the same weights."""
    twin = load_twin(make_twin(), model.weights())
    compare_forward(c, model, twin, batch_inputs, tol)
    loss, grads, states = model.gradients(batch_inputs)
    tloss = twin(*torch_inputs(batch_inputs))[model.loss_name]  # train mode: batch statistics, states updated
    c.check(abs(loss - tloss.item()) <= tol["forward"] * abs(tloss.item()),
            f"train step: loss {loss:.6f} vs torch {tloss.item():.6f}")
    theirs = twin_weights(twin)
    for name, value in states.items():
        err = max_abs(value, theirs[name])
        c.check(err <= tol["forward"] * max(1.0, float(np.max(np.abs(theirs[name])))),
                f"train step: next value of state {name} {list(value.shape)} max abs difference {err:.2e}")
    tloss.backward()
    for name, (param, view) in twin.layout().items():
        if name not in grads:
            continue  # a state: no gradient
        ref = view(param.grad).numpy()
        err = max_abs(grads[name], ref)
        bound = tol["grad"] * float(np.max(np.abs(ref))) + 1e-7
        c.check(err <= bound, f"gradient of {name} {list(ref.shape)}: max abs difference {err:.2e} "
                              f"(<= {bound:.1e}, largest element {float(np.max(np.abs(ref))):.1e})")


def compare_training(c, label, model, make_twin, make_opt, adaptive_step, batches, tol):
    """`len(batches)` optimizer steps on both sides: the loss at each, then every weight.

    A param whose exact gradient is zero (the twin's zero_gradient(), e.g. attention's key bias) has a
    float32 gradient of pure rounding noise, ~1e-10 on both sides but of unrelated signs; Adam divides it by
    its own root mean square and moves such a weight by up to lr a step in a direction that is noise. Under
    Adam and AdamW those weights are held only to adaptive_step * steps (their gradients are still checked
    to be ~0 in compare_forward_and_gradients)."""
    twin = load_twin(make_twin(), model.weights())
    opt = make_opt([p for p in twin.parameters() if p.requires_grad])
    worst_loss = 0.0
    for batch_inputs in batches:
        ls = model.train_step(batch_inputs)
        opt.zero_grad()
        lt = twin(*torch_inputs(batch_inputs))[model.loss_name]
        lt.backward()
        opt.step()
        worst_loss = max(worst_loss, abs(ls - lt.item()) / abs(lt.item()))
    c.check(worst_loss <= tol["train_loss"],
            f"{label}: loss at each of {len(batches)} steps within {tol['train_loss']:g} relative (worst {worst_loss:.2e})")
    ours, theirs = model.weights(), twin_weights(twin)
    noise = set(getattr(twin, "zero_gradient", lambda: [])()) if adaptive_step else set()
    states = {s.name for s in model.states}
    name, err = max(((n, max_abs(ours[n], theirs[n])) for n in ours if n not in noise | states), key=lambda t: t[1])
    c.check(err <= tol["train_weights"],
            f"{label}: weights after {len(batches)} steps within {tol['train_weights']:g} (worst {err:.2e}, in {name})")
    if states:
        # Running statistics grow with the values they average (a variance of 30 is common): relative to them.
        name, err = max(((n, max_abs(ours[n], theirs[n]) / max(1.0, float(np.max(np.abs(theirs[n]))))) for n in states),
                        key=lambda t: t[1])
        c.check(err <= tol["train_weights"], f"{label}: states after {len(batches)} steps within "
                                             f"{tol['train_weights']:g} relative (worst {err:.2e}, in {name})")
    for n in sorted(noise):
        bound = tol["train_weights"] + adaptive_step * len(batches)
        err = max_abs(ours[n], theirs[n])
        c.check(err <= bound, f"{label}: {n}, whose exact gradient is 0, within {bound:g} (worst {err:.2e})")


# Tolerances, all for float32 against a float64 reference:
#  forward: outputs, max abs difference relative to max(1, largest element); the loss, relative;
#  grad: gradients, max abs difference relative to the largest element of that gradient (plus 1e-7);
#  train_loss: the loss at every step, relative; train_weights: every final weight, absolute.
# Training compounds rounding over 20 steps, and Adam's normalized step turns a tiny difference in a
# near-zero gradient into up to lr per step, hence the looser bounds there.
DEFAULT_TOLERANCES = {"forward": 1e-5, "grad": 1e-4, "train_loss": 1e-4, "train_weights": 2e-4}


def build_variant(sinter, source, workdir, tag, optimizer_line, substitutions, opt_level):
    """A copy of the example with another optimizer line (and other textual edits), compiled to a shared
    library at LLVM optimization level `opt_level`. The copy lives in workdir; `import "nn.sn"` still finds
    lib/ through the default include path."""
    text = open(source).read()
    text, n = re.subn(r"optimizer .*", optimizer_line, text)
    assert n == 1, f"{source}: expected one optimizer line"
    for old, new in substitutions:
        assert old in text, f"{source}: '{old}' not found"
        text = text.replace(old, new)
    stem = os.path.splitext(os.path.basename(source))[0]
    sn = os.path.join(workdir, f"{stem}_{tag}.sn")
    with open(sn, "w") as f:
        f.write(text)
    lib = os.path.join(workdir, f"lib{stem}_{tag}.so")
    p = subprocess.run([sinter, "build", sn, "--emit", "shared", "-O", str(opt_level), "-o", lib], capture_output=True, text=True)
    assert p.returncode == 0, f"sinter build {sn} failed:\n{p.stdout}{p.stderr}"
    # A clean build says nothing: LLVM's remarks (a loop it was told to vectorize and could not) or warnings
    # mean the generated code is not what the compiler planned.
    noise = [l for l in p.stderr.splitlines() if "remark:" in l or "warning:" in l]
    assert not noise, f"sinter build {sn} printed:\n" + "\n".join(noise)
    return SinterModel(lib)


# The unrolled models (recurrent, recursive) compile at -O0: LLVM's -O3 pipeline takes from 5 s (recursive)
# to about 2 minutes (LSTM) on them, three times per test. The optimization level changes only the order of
# float operations (an LSTM gradient moved by 7e-9 between -O0 and -O3), far inside the tolerances.
def main(example, make_twin, substitutions=(), tolerances=None, batch=32, steps=20, opt_level=3, notes=()):
    """The whole parity test of examples/<example>: parses the command line ctest passes, runs every check
    and exits with 1 when any failed. `substitutions` are (old, new) text edits applied to the model before
    compiling, e.g. to turn dropout off; `notes` are printed first to say what the test leaves out."""
    a = script_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.set_num_threads(1)
    tol = dict(DEFAULT_TOLERANCES, **(tolerances or {}))
    source = os.path.join(a.source, "examples", example)
    for note in notes:
        print("note: " + note)
    c = Checker()
    start = time.time()
    batches = fashion_batches(batch, steps)
    for i, (label, line, make_opt, adaptive_step) in enumerate(OPTIMIZERS):
        model = build_variant(a.sinter, source, a.workdir, label.split()[0], line, substitutions, opt_level)
        if i == 0:
            compare_forward_and_gradients(c, model, make_twin, batches[0], tol)
        compare_training(c, label, model, make_twin, make_opt, adaptive_step, batches, tol)
    if substitutions:
        # The edits (dropout off) must not matter to inference: the example as written computes the same.
        model = build_variant(a.sinter, source, a.workdir, "as_written", "optimizer adam(lr = 1e-3)", [], opt_level)
        twin = load_twin(make_twin(), model.weights())
        compare_forward(c, model, twin, batches[0], tol, "forward of the example as written")
    print(f"{time.time() - start:.1f}s")
    print(f"{len(c.failures)} failed" if c.failures else "PASS")
    sys.exit(1 if c.failures else 0)


# ---------------------------------------------------------------------------------------------------------
# Layouts of common layers: python/sinter's, bound to a twin's modules (a twin's layout maps to its parameter
# objects, not to state_dict keys, so that its gradients can be viewed the same way)

def bound(layout, module):
    """A layout of python/sinter (keys relative to `module`) with each key replaced by the module's tensor."""
    return {name: (getattr(module, key), view) for name, (key, view) in layout.items()}


def dense(name, linear):
    """Sinter's Dense(in, out) (w [in, out], b [out]) is torch.nn.Linear (weight [out, in], bias [out])."""
    return bound(sinter_package.dense(name, ""), linear)


def recurrent_weights(name, rnn):
    """The input and recurrent weights of Sinter's cells (wx [in, k·hidden], wh [hidden, k·hidden]) are
    torch.nn.RNN/LSTM/GRU's weight_ih and weight_hh (layer 0), transposed; the gates are in torch's order."""
    return bound(sinter_package.recurrent_weights(name, ""), rnn)


class RowSequenceClassifier(torch.nn.Module):
    """The recurrent examples' twin: a torch recurrent layer over the 28 rows of 28 pixels of each image (the
    examples' reshape to [batch, 28, 28]), then a Dense head on the last hidden state. Subclasses say which
    layer (`layer`) and how its biases map (`biases`, `frozen`)."""

    layer = None

    def __init__(self):
        super().__init__()
        self.rnn, self.head = self.layer(28, 128, batch_first=True), torch.nn.Linear(128, 10)

    def layout(self):
        return {**recurrent_weights("rnn.cell", self.rnn), **self.biases(), **dense("head", self.head)}

    def forward(self, image, label):
        _, state = self.rnn(image.reshape(-1, 28, 28))
        h = state[0] if isinstance(state, tuple) else state  # an LSTM's state is (h, c); h is [1, batch, 128]
        logits = self.head(h[0])
        return {"probs": torch.softmax(logits, 1), "loss": torch.nn.functional.cross_entropy(logits, label)}
