#!/usr/bin/python3
"""Fine-tuning an ONNX model imported as a layer (`import "mlp.onnx" as Backbone`, docs/onnx.md), against
PyTorch 1.13. A torch MLP (784-64-10) is exported by torch.onnx.export (opset 13, symbolic batch); a model
file imports it as a layer and adds a softmax output, a cross-entropy loss and a train block.

  - forward: `sinter run` of a model file whose only layer is the import gives the predictions `sinter run
    mlp.onnx` gives, on 300 Fashion-MNIST test images (batch 128);
  - initial weights: the compiled model's params (C API, `sinter build --emit shared`) are the ONNX
    initializers, that is torch's own weights, bit for bit (Gemm's weight stored [in, out]);
  - fine-tuning: 20 steps of SGD with momentum and of Adam on 32-image Fashion-MNIST training batches, and SGD
    with the first layer frozen by a param group with lr = 0, against the same steps of the float64 torch
    model from the same weights: the loss at every step and the final weights within parity_lib's
    tolerances (the frozen layer unchanged, bit for bit);
  - the training executable: `sinter build ft.sn --emit exe` trains one epoch on a 2,000-image slice and its
    saved weights start from the ONNX file's (its test accuracy is far above chance).
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
import parity_lib as P  # noqa: E402

SAMPLES = 300


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 64), nn.Linear(64, 10)

    def forward(self, image):
        return self.fc2(torch.relu(self.fc1(image)))


class Twin(nn.Module):
    """The fine-tuned model on the torch side: the MLP, a softmax output and the cross-entropy loss."""

    def __init__(self, mlp, frozen_fc1=False):
        super().__init__()
        self.mlp = mlp
        if frozen_fc1:
            for p in self.mlp.fc1.parameters():
                p.requires_grad_(False)

    def layout(self):
        return {"bb.fc1.weight": (self.mlp.fc1.weight, P.transposed), "bb.fc1.bias": (self.mlp.fc1.bias, P.same),
                "bb.fc2.weight": (self.mlp.fc2.weight, P.transposed), "bb.fc2.bias": (self.mlp.fc2.bias, P.same)}

    def forward(self, image, label):
        logits = self.mlp(image)
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


FINETUNE = """import "mlp.onnx" as Backbone

model finetune {{
  input image: f32[batch, 784]
  input label: i32[batch]
  bb = Backbone()
  logits = bb(image)
  output probs = softmax(logits)
  loss = cross_entropy(logits, label)
}}

train finetune {{
  minimize loss
  {optimizer}
  batch 32
  {group}
}}
"""

FORWARD = """import "mlp.onnx" as Backbone

model classifier {
  input image: f32[batch, 784]
  backbone = Backbone()
  output logits = backbone(image)
}
"""


def main():
    a = P.script_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(7)
    mlp = MLP()
    onnx_path = os.path.join(a.workdir, "mlp.onnx")
    torch.onnx.export(mlp, torch.zeros(1, 784), onnx_path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    reference = {k: v.detach().numpy().copy() for k, v in mlp.state_dict().items()}
    c = P.Checker()

    # Forward: the layer against the ONNX file itself.
    fwd = os.path.join(a.workdir, "classifier.sn")
    with open(fwd, "w") as f:
        f.write(FORWARD)
    preds = {}
    for name, path in (("onnx", onnx_path), ("layer", fwd)):
        preds[name] = os.path.join(a.workdir, f"{name}_preds.npy")
        p = P.run([a.sinter, "run", path, "--predictions", preds[name], "--limit-test", str(SAMPLES), "--batch", "128"])
        c.check(p.returncode == 0, f"sinter run {os.path.basename(path)}")
    if all(os.path.exists(p) for p in preds.values()):
        ours, theirs = np.load(preds["layer"]), np.load(preds["onnx"])
        err = P.max_abs(ours, theirs)
        c.check(ours.shape == (SAMPLES, 10) and err <= 1e-6,
                f"forward: the layer's logits {list(ours.shape)} equal `sinter run mlp.onnx`'s (max abs difference {err:.1e})")

    # The model file with the layer exported without --load: the layer's params hold mlp.onnx's initializers,
    # so the export predicts what mlp.onnx does.
    exported = os.path.join(a.workdir, "classifier.onnx")
    p = P.run([a.sinter, "export", fwd, "-o", exported])
    c.check(p.returncode == 0, "sinter export classifier.sn (no --load)")
    back = os.path.join(a.workdir, "exported_preds.npy")
    p = P.run([a.sinter, "run", exported, "--predictions", back, "--limit-test", str(SAMPLES), "--batch", "128"])
    c.check(p.returncode == 0, "sinter run classifier.onnx")
    if p.returncode == 0 and os.path.exists(preds["onnx"]):
        ours, theirs = np.load(back), np.load(preds["onnx"])
        err = P.max_abs(ours, theirs)
        c.check(ours.shape == (SAMPLES, 10) and err <= 1e-6,
                f"export without --load: classifier.onnx's logits equal mlp.onnx's (max abs difference {err:.1e})")

    # Fine-tuning against torch.
    batches = P.fashion_batches(32, 20)
    variants = [("sgd", "optimizer sgd(lr = 0.01, momentum = 0.9)", "", lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), None, False),
                ("adam", "optimizer adam(lr = 1e-3)", "", lambda p: torch.optim.Adam(p, lr=1e-3), 1e-3, False),
                ("sgd, fc1 frozen", "optimizer sgd(lr = 0.01, momentum = 0.9)", 'group frozen("bb.fc1.*", lr = 0)',
                 lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), None, True)]
    for i, (label, optimizer, group, make_opt, adaptive, frozen) in enumerate(variants):
        sn = os.path.join(a.workdir, f"finetune_{i}.sn")
        with open(sn, "w") as f:
            f.write(FINETUNE.format(optimizer=optimizer, group=group))
        lib = os.path.join(a.workdir, f"libfinetune_{i}.so")
        p = P.run([a.sinter, "build", sn, "--emit", "shared", "-o", lib])
        c.check(p.returncode == 0, f"{label}: sinter build --emit shared")
        if p.returncode:
            continue
        model = P.SinterModel(lib)
        w = model.weights()
        start = {n: v.copy() for n, v in w.items()}
        exact = (np.array_equal(w["bb.fc1.weight"], reference["fc1.weight"].T) and
                 np.array_equal(w["bb.fc1.bias"], reference["fc1.bias"]) and
                 np.array_equal(w["bb.fc2.weight"], reference["fc2.weight"].T) and
                 np.array_equal(w["bb.fc2.bias"], reference["fc2.bias"]))
        c.check(exact, f"{label}: the params start from the ONNX initializers (torch's weights), bit for bit")
        if i == 0:
            P.compare_forward_and_gradients(c, model, lambda: Twin(MLP()), batches[0], P.DEFAULT_TOLERANCES)
        P.compare_training(c, label, model, lambda: Twin(MLP(), frozen), make_opt, adaptive, batches,
                           P.DEFAULT_TOLERANCES)
        if frozen:
            after = model.weights()
            same = all(np.array_equal(after[n], start[n]) for n in ("bb.fc1.weight", "bb.fc1.bias"))
            moved = not np.array_equal(after["bb.fc2.weight"], start["bb.fc2.weight"])
            c.check(same and moved, f"{label}: fc1 unchanged bit for bit, fc2 trained")

    # The training executable.
    exe = os.path.join(a.workdir, "finetune")
    sn = os.path.join(a.workdir, "finetune_0.sn")
    p = P.run([a.sinter, "build", sn, "--emit", "exe", "-o", exe])
    c.check(p.returncode == 0, "sinter build --emit exe")
    if p.returncode == 0:
        weights, metrics = os.path.join(a.workdir, "ft.safetensors"), os.path.join(a.workdir, "ft.jsonl")
        p = P.run([exe, "--data", P.DATA, "--limit-train", "2000", "--limit-test", "1000", "--epochs", "1",
                   "--save", weights, "--metrics", metrics])
        c.check(p.returncode == 0, "the training executable trains one epoch")
        if p.returncode == 0:
            with open(metrics) as f:
                records = [json.loads(line) for line in f if line.strip()]
            acc = records[-1]["test_accuracy"]
            acc = acc / 100 if acc > 1 else acc
            # The random MLP starts at chance (10%); one epoch of SGD on 2,000 images reaches about 70%.
            c.check(acc > 0.5, f"fine-tuned test accuracy {acc:.3f} (> 0.5)")
            saved = P.read_weights(weights)
            moved = P.max_abs(saved["bb.fc2.weight"], reference["fc2.weight"].T)
            c.check(0 < moved < 1, f"saved weights moved from the ONNX file's by {moved:.2e} (a fine-tuning, "
                                   "not a fresh start)")
    print(f"{len(c.failures)} failed" if c.failures else "PASS")
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
