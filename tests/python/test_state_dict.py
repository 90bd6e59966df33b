"""PyTorch weights into compiled Sinter models and back through python/sinter's state_dict helpers: a torch
model's state_dict (random weights, BatchNorm running statistics, two recurrent biases) loaded into the
Sinter model predicts what torch computes (in float64, from the same float32 weights) within 1e-5; the Sinter
model's own weights given back as a state_dict make torch predict what Sinter does; and write_weights makes a
file that Model.load reads. The oracle is PyTorch 1.13 (/usr/bin/python3).
    test_state_dict.py SINTER SOURCE_DIR WORK_DIR"""
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

sinter_exe, src, work = sys.argv[1:4]
sys.path.insert(0, os.path.join(src, "python"))
import sinter  # noqa: E402

failures = []
TOL = 1e-5


def check(ok, what):
    print("ok:  " if ok else "FAIL:", what)
    if not ok:
        failures.append(what)


def build(model):
    lib = os.path.join(work, f"lib{model}.so")
    subprocess.run([sinter_exe, "build", os.path.join(src, "tests", "python", f"{model}.sn"), "--emit", "shared",
                    "-o", lib], check=True, capture_output=True)
    return sinter.Model(lib)


class TorchCNN(nn.Module):
    layout = {**sinter.conv2d("conv", "conv"), **sinter.batch_norm("bn", "bn"), **sinter.conv2d("up", "up"),
              **sinter.dense("fc", "fc"), **sinter.layer_norm("norm", "norm")}

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3)
        self.up, self.fc, self.norm = nn.ConvTranspose2d(3, 2, 2, stride=2), nn.Linear(512, 5), nn.LayerNorm(5)

    def forward(self, image):
        h = self.up(torch.relu(self.bn(self.conv(image.reshape(-1, 1, 8, 8)))))
        return self.norm(self.fc(h.flatten(1)))


class TorchRNN(nn.Module):
    layout = {**sinter.simple_rnn("srnn.cell", "srnn"), **sinter.lstm("lstm.cell", "lstm"),
              **sinter.gru("gru.cell", "gru"), **sinter.embedding("embed", "embed"), **sinter.dense("head", "head")}

    def __init__(self):
        super().__init__()
        self.srnn, self.lstm = nn.RNN(3, 4, batch_first=True), nn.LSTM(3, 4, batch_first=True)
        self.gru, self.embed, self.head = nn.GRU(3, 4, batch_first=True), nn.Embedding(7, 3), nn.Linear(4, 2)

    def forward(self, seq, tokens):
        rows = seq.reshape(-1, 5, 3) + self.embed(tokens.long())
        last = [self.srnn(rows)[1][0], self.lstm(rows)[1][0][0], self.gru(rows)[1][0]]
        return sum(self.head(h) for h in last)


def randomize(net, seed):
    """Every parameter and buffer drawn away from torch's defaults (biases and running statistics included),
    so that a mapping that drops or misplaces one shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if name.endswith("running_var")
                        else torch.randn(t.shape, generator=g) * 0.5)
    return net.eval()


def torch_forward(net, inputs):
    """The oracle: torch in float64 on the float32 weights."""
    twin = type(net)().double().eval()
    twin.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in net.state_dict().items()})
    with torch.no_grad():
        return twin(*[torch.from_numpy(a.astype(np.float64) if a.dtype == np.float32 else a) for a in inputs]).numpy()


def compare(label, got, want):
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    check(err <= TOL * max(1.0, float(np.max(np.abs(want)))), f"{label}: max abs difference {err:.2e}")


def run(model_name, net, inputs):
    model = build(model_name)
    outs = lambda: model.forward(*inputs)["out"]
    # torch -> Sinter
    model.load_state_dict(net.state_dict(), net.layout)
    compare(f"{model_name}: torch's state_dict in Sinter", outs(), torch_forward(net, inputs))
    # Sinter -> torch: the Sinter model's own initial weights, given to a fresh torch module.
    fresh = build(model_name)
    back = type(net)().eval()
    back.load_state_dict(fresh.state_dict(net.layout, back.state_dict()))
    compare(f"{model_name}: Sinter's weights in torch", fresh.forward(*inputs)["out"], torch_forward(back, inputs))
    # A round trip keeps every value, and a file written from torch's weights loads.
    again = sinter.to_sinter(fresh.state_dict(net.layout, back.state_dict()), net.layout)
    check(all(np.array_equal(again[k], v) for k, v in fresh.weights().items()), f"{model_name}: round trip")
    path = os.path.join(work, f"{model_name}.safetensors")
    sinter.write_weights(path, sinter.to_sinter(net.state_dict(), net.layout), model=model_name)
    fresh.load(path)
    check(np.array_equal(fresh.forward(*inputs)["out"], outs()), f"{model_name}: write_weights then Model.load")
    read = sinter.read_weights(path)
    check(all(np.array_equal(read[k], v) for k, v in model.weights().items()), f"{model_name}: read_weights")
    return model


os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(2)
cnn = run("torch_cnn", randomize(TorchCNN(), 1), [rng.normal(size=(6, 64)).astype(np.float32)])
run("torch_rnn", randomize(TorchRNN(), 2),
    [rng.normal(size=(6, 15)).astype(np.float32), rng.integers(0, 7, (6, 5)).astype(np.int32)])

# Mistakes are named: a key the state_dict lacks, a param the layout misses, a shape that does not fit.
net = randomize(TorchCNN(), 3)
sd = net.state_dict()
del sd["fc.bias"]
try:
    cnn.load_state_dict(sd, net.layout)
    check(False, "a state_dict without fc.bias loaded")
except KeyError as e:
    check("fc.bias" in str(e), f"missing key: {e}")
try:
    cnn.load_state_dict(net.state_dict(), {k: v for k, v in net.layout.items() if k != "fc.w"})
    check(False, "a layout without fc.w loaded")
except sinter.Error as e:
    check("fc.w" in str(e), f"param the layout misses: {e}")
try:
    cnn.load_state_dict(net.state_dict(), {**net.layout, "fc.w": ("fc.weight", sinter.same)})
    check(False, "fc.w untransposed loaded")
except sinter.Error as e:
    check("'fc.w' is [512, 5]" in str(e), f"shape: {e}")

print(f"{len(failures)} failures" if failures else "state_dict: all passed")
sys.exit(1 if failures else 0)
