#!/usr/bin/python3
"""`sinter run` on models without a train block, against PyTorch: models built in PyTorch 1.13 and exported by
torch.onnx.export (symbolic batch) run with `sinter run model.onnx --predictions` on the first real
Fashion-MNIST test images (read by Sinter from the standard IDX file, scaled to [0, 1] as training scales them),
with a batch that leaves a partial last batch; the predictions must equal the float64 torch model's within
1e-5. The weights are the ONNX file's initializers, or a `sinter import --weights` file passed with --load.
Each model is also written as a model file by `sinter import -o model.sn` (its weights beside it): `sinter
check` accepts the file, and `sinter run model.sn --load model.safetensors` gives the predictions the ONNX
file gives, within 1e-5; recurrent nodes whose final state or sequence alone is read must be written as
lib/nn.sn's layers. Some models are also exported back (`sinter export model.onnx -o back.onnx`, no
--load): the initializers come out bit for bit, and back.onnx predicts what model.onnx does. A .sn model without a train block runs too, with weights written here as
safetensors; without --load it is a clear error."""
import argparse
import json
import warnings
import math
import os
import struct
import subprocess
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
import parity_lib as P  # noqa: E402  (read_idx, DATA)

TOLERANCE = 1e-5
SAMPLES = 300  # batch 128: two full batches and a partial one


class MLP(nn.Module):
    """Gemm, Relu, Softmax: two outputs (the first is what --predictions writes)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 64), nn.Linear(64, 10)

    def forward(self, image):
        logits = self.fc2(torch.relu(self.fc1(image)))
        return logits, torch.softmax(logits, 1)


class CNN(nn.Module):
    """Conv (padded; strided and bias-free; dilated, which Conv2D cannot express), MaxPool, a
    BatchNormalization after it (the exporter folds one after a convolution into its weights), AveragePool,
    x.view(x.size(0), -1) and a Gemm head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, bias=False)
        self.conv3 = nn.Conv2d(8, 8, 3, dilation=2, padding=2)
        self.fc = nn.Linear(8 * 3 * 3, 10)
        with torch.no_grad():  # running statistics far from a fresh layer's
            self.bn1.running_mean.uniform_(-0.5, 0.5)
            self.bn1.running_var.uniform_(0.5, 2)

    def forward(self, image):
        x = self.bn1(nn.functional.max_pool2d(torch.relu(self.conv1(image.view(-1, 1, 28, 28))), 2))
        x = nn.functional.avg_pool2d(torch.relu(self.conv3(torch.relu(self.conv2(x)))), 2)
        return self.fc(x.view(x.size(0), -1))


class Attention(nn.Module):
    """A transformer encoder block on 16 patches of 7x7 pixels: patch projection and a position table,
    LayerNorm (LayerNormalization at opset 17, its ReduceMean/Sub/Pow/Sqrt/Div decomposition before),
    4-head self-attention (Reshape, Transpose, MatMul, Div, Softmax), an exact-GELU MLP (Erf), residuals,
    the first token (Gather at a constant index) plus the mean over tokens (ReduceMean)."""

    def __init__(self, d=32, heads=4, tokens=16):
        super().__init__()
        self.h, self.d, self.t = heads, d, tokens
        self.proj = nn.Linear(49, d)
        self.pos = nn.Parameter(torch.randn(tokens, d) * 0.1)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        with torch.no_grad():  # affine params far from a fresh layer's identity
            for ln in (self.ln1, self.ln2):
                ln.weight.uniform_(0.5, 1.5)
                ln.bias.uniform_(-0.3, 0.3)
        self.fc1, self.fc2 = nn.Linear(d, 64), nn.Linear(64, d)
        self.head = nn.Linear(d, 10)

    def split(self, x):
        return x.view(x.shape[0], self.t, self.h, self.d // self.h).transpose(1, 2)

    def forward(self, image):
        b = image.shape[0]
        x = image.view(b, 4, 7, 4, 7).transpose(2, 3).reshape(b, self.t, 49)
        x = self.proj(x) + self.pos
        y = self.ln1(x)
        q, k, v = self.split(self.q(y)), self.split(self.k(y)), self.split(self.v(y))
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.d // self.h), -1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, self.t, self.d))
        x = x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))
        return self.head(x[:, 0] + x.mean(1))


class Embedding(nn.Module):
    """Token ids (an int64 input: each 7x7 patch's mean brightness in 16 levels) through nn.Embedding (Gather
    of a table's rows), beside the image's patches; LayerNorm over the last axis."""

    inputs = ("image", "tokens")

    def __init__(self, d=24):
        super().__init__()
        self.emb, self.proj = nn.Embedding(16, d), nn.Linear(49, d)
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, 10)

    def forward(self, image, tokens):
        b = image.shape[0]
        x = self.proj(image.view(b, 4, 7, 4, 7).transpose(2, 3).reshape(b, 16, 49)) + self.emb(tokens)
        return self.head(torch.tanh(self.ln(x)).mean(1))


class Recurrent(nn.Module):
    """nn.LSTM, nn.GRU or nn.RNN over the image's 28 rows (batch_first or time first, bidirectional or not):
    the last step's output (Y) and the final hidden state (Y_h; for an LSTM the final cell too, Y_c) into a
    linear head. torch writes the zero initial state as ConstantOfShape of [dirs, batch, hidden]. With
    state_only, the final hidden state alone: what lib/nn.sn's layer (`layer`) computes, so that `sinter
    import -o` writes the layer instead of the unrolled steps. With sequence, the output sequence alone (the
    usual `output, (h, c) = lstm(x)`): its last step ("last") or its mean over every step ("all"), which
    the layer's `.sequence` computes."""

    kind, batch_first, bidirectional, nonlinearity, state_only, sequence = nn.LSTM, True, False, "tanh", False, None

    def __init__(self):
        super().__init__()
        extra = {"nonlinearity": self.nonlinearity} if self.kind is nn.RNN else {}
        self.rnn = self.kind(28, 20, batch_first=self.batch_first, bidirectional=self.bidirectional, **extra)
        dirs = 2 if self.bidirectional else 1
        self.fc_y, self.fc_h, self.fc_c = nn.Linear(20 * dirs, 10), nn.Linear(20, 10), nn.Linear(20, 10)

    def forward(self, image):
        x = image.view(-1, 28, 28)
        if not self.batch_first:
            x = x.transpose(0, 1)
        y, state = self.rnn(x)
        if self.state_only:  # bidirectional: both halves of h_n, the backward one last
            h_n = state[0] if self.kind is nn.LSTM else state
            return self.fc_h(h_n[-1]) + (self.fc_y(torch.cat((h_n[0], h_n[1]), 1)) if self.bidirectional else 0)
        time = 1 if self.batch_first else 0
        if self.sequence == "last":
            return self.fc_y(y.select(time, -1))
        if self.sequence == "all":
            return self.fc_y(y.mean(time))
        out = self.fc_y(y[:, -1] if self.batch_first else y[-1])
        if self.kind is nn.LSTM:
            return out + self.fc_h(state[0][-1]) + self.fc_c(state[1][0])
        return out + self.fc_h(state[-1])


def recurrent(kind, batch_first, bidirectional=False, nonlinearity="tanh", state_only=False, sequence=None):
    attrs = {"kind": kind, "batch_first": batch_first, "bidirectional": bidirectional, "nonlinearity": nonlinearity,
             "state_only": state_only, "sequence": sequence}
    if state_only or sequence:
        attrs["layer"] = {nn.LSTM: "LSTM", nn.GRU: "GRU", nn.RNN: "SimpleRNN"}[kind] + "(28, 20)"
        attrs["call"] = ".sequence(" if sequence else ".reversed(" if bidirectional else "("
    return type(kind.__name__, (Recurrent,), attrs)


def patch_tokens(images):
    """Each image's 16 patch means in 16 levels, int64 [n, 16]."""
    patches = images.reshape(-1, 4, 7, 4, 7).mean(axis=(2, 4))
    return np.minimum((patches * 16).astype(np.int64), 15).reshape(-1, 16)


# (name, model, opset, how the weights reach `sinter run`: the file's initializers or an imported file)
CASES = [
    ("mlp_initializers", MLP, 13, "initializers"),
    ("mlp_load", MLP, 17, "load"),
    ("cnn", CNN, 13, "initializers"),
    ("attention_opset13", Attention, 13, "initializers"),
    ("attention_opset17", Attention, 17, "load"),
    ("embedding_opset17", Embedding, 17, "initializers"),
    ("embedding_opset11", Embedding, 11, "initializers"),
    ("lstm_batch_first", recurrent(nn.LSTM, True), 13, "initializers"),
    ("lstm_time_first", recurrent(nn.LSTM, False), 17, "initializers"),
    ("lstm_bidirectional", recurrent(nn.LSTM, True, True), 11, "initializers"),
    ("gru_batch_first", recurrent(nn.GRU, True), 13, "initializers"),
    ("gru_time_first", recurrent(nn.GRU, False), 11, "initializers"),
    ("gru_bidirectional", recurrent(nn.GRU, False, True), 17, "initializers"),
    ("rnn_tanh", recurrent(nn.RNN, True), 13, "initializers"),
    ("rnn_relu_time_first", recurrent(nn.RNN, False, False, "relu"), 17, "initializers"),
    ("lstm_layer", recurrent(nn.LSTM, True, state_only=True), 13, "initializers"),
    ("gru_layer_time_first", recurrent(nn.GRU, False, state_only=True), 17, "load"),
    ("rnn_layer", recurrent(nn.RNN, True, state_only=True), 11, "initializers"),
    ("lstm_sequence_last", recurrent(nn.LSTM, True, sequence="last"), 13, "initializers"),
    ("lstm_sequence_time_first", recurrent(nn.LSTM, False, sequence="all"), 17, "load"),
    ("gru_sequence", recurrent(nn.GRU, True, sequence="all"), 11, "initializers"),
    ("gru_sequence_time_first", recurrent(nn.GRU, False, sequence="last"), 13, "initializers"),
    ("rnn_sequence", recurrent(nn.RNN, True, sequence="last"), 17, "initializers"),
    ("lstm_bidirectional_layer", recurrent(nn.LSTM, True, True, state_only=True), 13, "initializers"),
    ("gru_bidirectional_layer_time_first", recurrent(nn.GRU, False, True, state_only=True), 17, "load"),
]
# The cases also exported back to ONNX without --load (`sinter export model.onnx -o back.onnx`): the
# initializers must come out as they went in.
EXPORT_BACK = {"mlp_initializers", "cnn", "attention_opset17", "embedding_opset11", "lstm_sequence_last"}


def run(cmd, expect_fail=False):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if (r.returncode != 0) != expect_fail:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def example_inputs(model):
    """A batch of 2 of each input: the images, and token ids for a model that takes them."""
    return tuple(torch.zeros(2, 784) if name == "image" else torch.zeros(2, 16, dtype=torch.long)
                 for name in getattr(model, "inputs", ("image",)))


def export(model, path, opset):
    inputs = example_inputs(model)
    with torch.no_grad():
        outs = model(*inputs)
    names = ["out%d" % i for i in range(len(outs) if isinstance(outs, tuple) else 1)]
    input_names = list(getattr(model, "inputs", ("image",)))
    torch.onnx.export(model, inputs, path, input_names=input_names, output_names=names,
                      dynamic_axes={name: {0: "batch"} for name in input_names + names}, opset_version=opset)


def compare(name, got, want):
    assert got.shape == want.shape, f"{name}: predictions {got.shape}, torch {want.shape}"
    err = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))
    ok = err <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {name:24} max error {err:.2e} (tolerance {TOLERANCE:g})")
    return ok


def check_case(args, name, make, opset, weights, images):
    torch.manual_seed(sum(map(ord, name)))
    model = make().eval()
    path = os.path.join(args.workdir, name + ".onnx")
    export(model, path, opset)
    preds = os.path.join(args.workdir, name + ".npy")
    cmd = [args.sinter, "run", path, "--predictions", preds, "--limit-test", str(SAMPLES), "--batch", "128"]
    if weights == "load":
        load = os.path.join(args.workdir, name + ".safetensors")
        run([args.sinter, "import", path, "--weights", load])
        cmd += ["--load", load]
    feeds, test_inputs = [torch.from_numpy(images).double()], []
    if "tokens" in getattr(model, "inputs", ()):
        tokens = patch_tokens(images)
        np.save(os.path.join(args.workdir, name + "_tokens.npy"), tokens)
        test_inputs = ["--test-input", "tokens=" + os.path.join(args.workdir, name + "_tokens.npy")]
        feeds.append(torch.from_numpy(tokens))
    cmd += test_inputs
    out = run(cmd)
    assert f"on {SAMPLES} samples" in out, f"{name}: unexpected report:\n{out}"
    with torch.no_grad():
        want = model.double()(*feeds)
    want = (want[0] if isinstance(want, tuple) else want).numpy()
    ok = compare(name, np.load(preds), want)
    if name in EXPORT_BACK:
        ok = check_export_back(args, name, path, test_inputs, np.load(preds), want) and ok
    layer = (getattr(model, "layer", None), getattr(model, "call", None))
    return check_model_file(args, name, path, weights == "load", test_inputs, np.load(preds), want, layer) and ok


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    out = {}
    for key, t in header.items():
        if key == "__metadata__":
            continue
        assert t["dtype"] == "F32", f"{path}: {key} is {t['dtype']}"
        begin, end = t["data_offsets"]
        out[key] = np.frombuffer(raw[8 + size + begin:8 + size + end], dtype="<f4").reshape(t["shape"])
    return out


def check_export_back(args, name, path, test_inputs, onnx_preds, want):
    """`sinter export model.onnx -o back.onnx` with no --load: the params hold the ONNX file's initializers,
    so back.onnx's initializers (as `sinter import --weights` reads them) equal model.onnx's bit for bit, and
    `sinter run back.onnx` predicts what `sinter run model.onnx` and torch do."""
    back = os.path.join(args.workdir, name + "_back.onnx")
    run([args.sinter, "export", path, "-o", back])
    files = [os.path.join(args.workdir, name + stem + "_weights.safetensors") for stem in ("", "_back")]
    run([args.sinter, "import", path, "--weights", files[0]])
    run([args.sinter, "import", back, "--weights", files[1]])
    before, after = read_safetensors(files[0]), read_safetensors(files[1])
    same = sorted(before) == sorted(after) and all(np.array_equal(before[k], after[k]) for k in before)
    print(f"{'ok  ' if same else 'FAIL'} {name + ' export -> .onnx':24} {len(before)} initializers "
          f"{'identical' if same else 'differ: ' + str(sorted(before)) + ' vs ' + str(sorted(after))}")
    preds = os.path.join(args.workdir, name + "_back.npy")
    run([args.sinter, "run", back, "--predictions", preds, "--limit-test", str(SAMPLES), "--batch", "128"]
        + test_inputs)
    same_preds = compare(name + " back = .onnx", np.load(preds), onnx_preds)
    return compare(name + " back = torch", np.load(preds), want) and same_preds and same


def check_model_file(args, name, path, beside, test_inputs, onnx_preds, want, layer=(None, None)):
    """`sinter import -o`: the model file with its weights (beside it, or where --weights says) run as the
    ONNX file does, and as torch does; a recognised recurrent layer is declared in it and called (its
    forward, or `.sequence`), no step unrolled."""
    layer, call = layer
    sn = os.path.join(args.workdir, name + ".sn")
    weights = os.path.join(args.workdir, name + (".safetensors" if beside else ".sn.safetensors"))
    run([args.sinter, "import", path, "-o", sn] + ([] if beside else ["--weights", weights]))
    run([args.sinter, "check", sn])
    if layer is not None:
        with open(sn) as f:
            text = f.read()
        if f"= {layer}\n" not in text or call not in text or "sigmoid" in text or "tanh" in text:
            print(f"FAIL {name}: the model file does not declare and call{call}) {layer} (or still unrolls "
                  f"steps):\n{text}")
            return False
    preds = os.path.join(args.workdir, name + "_sn.npy")
    run([args.sinter, "run", sn, "--load", weights, "--predictions", preds, "--limit-test", str(SAMPLES),
         "--batch", "128"] + test_inputs)
    same = compare(name + " .sn = .onnx", np.load(preds), onnx_preds)
    return compare(name + " .sn = torch", np.load(preds), want) and same


def check_import_errors(args):
    """`sinter import -o` into a place it cannot write is an error naming the flag, and writes nothing."""
    path = os.path.join(args.workdir, "mlp_initializers.onnx")
    missing = os.path.join(args.workdir, "no_such_dir", "m.sn")
    cases = [(["-o", missing], "-o " + missing + ": directory"),
             (["-o", args.workdir], "is a directory, not a regular file"),
             (["-o", os.path.join(args.workdir, "err.sn"), "--weights", missing], "--weights " + missing)]
    ok = True
    for flags, want in cases:
        err = run([args.sinter, "import", path] + flags, expect_fail=True)
        if want not in err or os.path.exists(os.path.join(args.workdir, "err.sn")):
            print(f"FAIL sinter import {' '.join(flags)}: expected an error containing {want!r}, got:\n{err}")
            ok = False
    print(f"{'ok  ' if ok else 'FAIL'} import -o errors")
    return ok


def write_safetensors(path, tensors):
    header, data = {}, b""
    for key, value in tensors.items():
        raw = np.ascontiguousarray(value, dtype="<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


SN_MODEL = """# A forward-only model: layers and outputs, no loss and no train block.
model Forward {
  input image: f32[batch, 784]
  param w: f32[784, 10]
  param b: f32[10]
  output scores = tanh(image @ w + b)
}
"""


def check_sn(args, images):
    """A .sn model without a train block: `sinter run --load` gives its outputs; without --load, an error."""
    path = os.path.join(args.workdir, "forward.sn")
    with open(path, "w") as f:
        f.write(SN_MODEL)
    rng = np.random.default_rng(3)
    w, b = rng.normal(0, 0.05, (784, 10)).astype(np.float32), rng.normal(0, 0.1, 10).astype(np.float32)
    weights = os.path.join(args.workdir, "forward.safetensors")
    write_safetensors(weights, {"w": w, "b": b})
    preds = os.path.join(args.workdir, "forward.npy")
    run([args.sinter, "run", path, "--load", weights, "--predictions", preds, "--limit-test", str(SAMPLES),
         "--batch", "128"])
    ok = compare("sn_forward_only", np.load(preds), np.tanh(images.astype(np.float64) @ w + b))
    err = run([args.sinter, "run", path, "--limit-test", "10"], expect_fail=True)
    if "pass --load" not in err:
        print(f"FAIL sn_forward_only without --load: expected an error asking for --load, got:\n{err}")
        ok = False
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--only", help="run the cases whose name contains this")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")  # the exporter's notes on RNNs with batch sizes other than 1
    images = P.read_idx(os.path.join(P.DATA, "t10k-images-idx3-ubyte.gz"), SAMPLES)
    images = images.reshape(-1, 784).astype(np.float32) / 255
    cases = [c for c in CASES if not args.only or args.only in c[0]]
    results = [check_case(args, *case, images) for case in cases]
    if not args.only:
        results.append(check_sn(args, images))
        results.append(check_import_errors(args))
    if not all(results):
        sys.exit(f"FAIL: {results.count(False)} of {len(results)} models differ from PyTorch")
    print(f"all {len(results)} models run by `sinter run` match PyTorch")


if __name__ == "__main__":
    main()
