"""The `sinter` Python package (python/sinter) on libraries that `sinter build --emit shared` makes: shapes,
forward against a NumPy oracle (softmax(x @ w + b) from the instance's own weights), training, metrics,
weights saved and loaded, denormals flushed or kept, and errors carrying the runtime's message.
    test_sinter_package.py SINTER SOURCE_DIR WORK_DIR"""
import os
import subprocess
import sys

import numpy as np

sinter_exe, src, work = sys.argv[1:4]
sys.path.insert(0, os.path.join(src, "python"))
import sinter  # noqa: E402

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def build(model):
    lib = os.path.join(work, f"lib{model}.so")
    subprocess.run([sinter_exe, "build", os.path.join(src, "tests", "capi", f"{model}.sn"), "--emit", "shared",
                    "-o", lib], check=True, capture_output=True)
    return lib


def batch(seed, n):
    """Inputs in [-1, 1) and the class of the rule the C API tests use (tests/capi/capi_test.h)."""
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 4)).astype(np.float32)
    scores = np.stack([x[:, 0] + x[:, 1], x[:, 2] - x[:, 0], x[:, 3] - x[:, 1]], axis=1)
    return x, scores.argmax(axis=1).astype(np.int32)


def expect_error(fn, error, text, what):
    try:
        fn()
    except error as e:
        check(text in str(e), f"{what}: message {e!r} lacks {text!r}")
        return
    check(False, f"{what}: no {error.__name__}")


os.makedirs(work, exist_ok=True)
tiny_lib, other_lib = build("tiny"), build("other")
check(sinter.model_names(tiny_lib) == ["Tiny"], f"model_names: {sinter.model_names(tiny_lib)}")
m = sinter.Model(tiny_lib, seed=3)
check([(t.name, t.dims) for t in m.inputs] == [("x", (None, 4)), ("y", (None,))], f"inputs {m.inputs}")
check([(t.name, t.dims, t.dtype) for t in m.params] == [("w", (4, 3), np.float32), ("b", (3,), np.float32)],
      f"params {m.params}")
check([t.name for t in m.outputs] == ["probs", "loss"], f"outputs {m.outputs}")

# Forward against NumPy in f64 from the instance's weights.
x, y = batch(1, 16)
w, b = m.param("w").astype(np.float64), m.param("b").astype(np.float64)
logits = x.astype(np.float64) @ w + b
oracle = np.exp(logits - logits.max(axis=1, keepdims=True))
oracle /= oracle.sum(axis=1, keepdims=True)
out = m.forward(x=x, y=y)
check(out["probs"].shape == (16, 3) and np.allclose(out["probs"], oracle, rtol=1e-5, atol=1e-6),
      f"forward differs from NumPy by {np.abs(out['probs'] - oracle).max()}")
ce = -np.log(oracle[np.arange(16), y]).mean()
check(abs(float(out["loss"].reshape(-1)[0]) - ce) < 1e-5, f"loss {out['loss']} vs {ce}")

# Training learns the rule; the metrics say so.
first = m.train_step(x, y)
for step in range(300):
    loss = m.train_step(*batch(step + 10, 32))
check(loss < first / 2, f"loss {first} -> {loss}")
xt, yt = batch(99, 200)
metrics = m.evaluate(x=xt, y=yt)
check(metrics["accuracy"] > 0.9, f"held-out accuracy {metrics}")
acc = (m.forward(x=xt, y=yt)["probs"].argmax(axis=1) == yt).mean()
check(abs(acc - metrics["accuracy"]) < 1e-12, f"evaluate's accuracy {metrics['accuracy']} vs forward's {acc}")

# Weights round-trip into a fresh instance; another model's weights are refused with the runtime's message.
path = os.path.join(work, "tiny.safetensors")
m.save(path)
fresh = sinter.Model(tiny_lib, "Tiny", seed=9)
fresh.load(path)
check(np.array_equal(fresh.forward(x=xt, y=yt)["probs"], m.forward(x=xt, y=yt)["probs"]), "loaded weights differ")
other = sinter.Model(other_lib)
other_path = os.path.join(work, "other.safetensors")
other.save(other_path)
expect_error(lambda: fresh.load(other_path), sinter.Error, "Other", "loading Other's weights into Tiny")
expect_error(lambda: fresh.load(os.path.join(work, "missing.safetensors")), sinter.Error, "missing.safetensors",
             "a missing file")

# Weights of `sinter train` (a model with a label and a loss) in the label-free twin (tiny_twin.sn: the same
# params, no label, no loss, no train block): its forward predicts what `sinter run` of the trained model does.
xs, ys = batch(11, 96)
csv = os.path.join(work, "tiny.csv")
np.savetxt(csv, np.column_stack([xs, ys]), fmt=["%.9g"] * 4 + ["%d"], delimiter=",", header="a,b,c,d,label",
           comments="")
trained, predicted = os.path.join(work, "trained.safetensors"), os.path.join(work, "trained.npy")
tiny_sn = os.path.join(src, "tests", "capi", "tiny.sn")
subprocess.run([sinter_exe, "train", tiny_sn, "--", "--train-csv", csv, "--epochs", "3", "--save", trained], check=True,
               capture_output=True)
subprocess.run([sinter_exe, "run", tiny_sn, "--load", trained, "--test-csv", csv, "--threads", "1", "--predictions",
                predicted], check=True, capture_output=True)
twin = sinter.Model(build("tiny_twin"))
check([t.name for t in twin.inputs] == ["x"] and [t.name for t in twin.outputs] == ["probs"], "the twin's tensors")
twin.load(trained)
got, want = twin.forward(xs)["probs"], np.load(predicted)
check(got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-7),
      f"the twin predicts other than `sinter run` of the trained model: {np.abs(got - want).max()}")
expect_error(lambda: twin.load(other_path), sinter.Error, "tensor 'b': shape [1, 3] in the file but [3]",
             "loading Other's weights (another bias shape) into the twin")

# Denormals (tests/capi/denormals.sn: output sq = x * x): x * x of 1e-20 is 1e-40, below f32's smallest normal.
# The oracle is NumPy's IEEE product: the model flushes it to 0 by default, keeps it exactly after
# set_flush_denormals(False), and flushes it again after set_flush_denormals(True).
den = sinter.Model(build("denormals"))
xd = np.array([[1e-20, 1.0], [1e-20, 2.0]], np.float32)
square = xd[0, 0] * xd[0, 0]
check(0 < square < np.finfo(np.float32).tiny, f"the oracle is not a denormal: {square}")
check(np.array_equal(den.forward(x=xd, t=xd)["sq"][:, 0], [0, 0]), "denormals not flushed by default")
den.set_flush_denormals(False)
kept = den.forward(x=xd, t=xd)["sq"]
check(np.array_equal(kept[:, 0], [square, square]) and np.array_equal(kept[:, 1], [1, 4]),
      f"denormals not kept after set_flush_denormals(False): {kept}")
den.set_flush_denormals(True)
check(np.array_equal(den.forward(x=xd, t=xd)["sq"][:, 0], [0, 0]), "denormals not flushed again")

# Bad inputs: a label out of range (the runtime's check), a wrong shape, a wrong name, a wrong model name.
bad_y = y.copy()
bad_y[2] = 7
expect_error(lambda: m.train_step(x, bad_y), sinter.Error, "label", "a label out of range")
expect_error(lambda: m.forward(x=x[:, :3], y=y), ValueError, "'x' has shape (16, 3)", "a wrong shape")
expect_error(lambda: m.forward(x=x, label=y), TypeError, "unknown inputs ['label']", "a wrong input name")
expect_error(lambda: sinter.Model(tiny_lib, "Other"), sinter.Error, "no model 'Other'", "a wrong model name")

print(f"{len(failures)} failed" if failures else "python package: all passed")
sys.exit(1 if failures else 0)
