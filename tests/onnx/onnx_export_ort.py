#!/usr/bin/python3
"""ONNX export checked in ONNX Runtime: each example is compiled, given weights (its initializers drawn by
`sinter_create`, saved as safetensors), exported with `sinter export`, and run in ONNX Runtime (npm's
onnxruntime-node, CPU, installed by this test into its work directory with `npm install --ignore-scripts`).
Every example in examples/: ONNX Runtime's outputs on a batch of 256 (Fashion-MNIST test images, or seeded
random values for the inputs that are not images) must equal the compiled model's `sinter_forward` (what
`sinter run` calls) within 1e-5, integer outputs exactly. Exported without --load (the params' initial
values), with --seed 7 and with the train block's seed, the file is byte for byte the export of the weights
`sinter_create` draws with that seed. Then the exported file is imported back (`sinter
import`, `sinter build model.onnx`): the same outputs, and the same compute ops in its graph as the model
file's forward graph, compiled from the .onnx file and from the model file `sinter import -o` writes; the
recurrent examples' loops are ONNX Scans, which come back as the same loops. A loop over a symbolic number of
steps round trips too, run at three lengths against NumPy.

When npm or the npm registry is missing, the ONNX Runtime comparison cannot run: the test says so and exits
77, which ctest reports as skipped (the round trip still runs first)."""
import argparse
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
import parity_lib as P  # noqa: E402

TOLERANCE = 1e-5
SKIP = 77
BATCH = 256
# Every example: each has outputs besides its loss (examples/README.md lists them).
EXAMPLES = sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                           "..", "..", "examples")) if f.endswith(".sn"))
# The ops that compute (not the loss, not dropout, which is the identity in inference), a loop's body's included
# (the dump prints it inside the graph), and the loops' scan nodes: a loop must come back a loop, not unrolled.
COMPUTE = re.compile(r"= (matmul|conv2d|max_pool2d|avg_pool2d|relu|softmax|tanh|sigmoid|scan)\(")


# node and npm run no code of Sinter's: in a sanitizer build they must not get the ASan runtime that ctest
# preloads for the libraries this script loads (tests/CMakeLists.txt, sinter_preload_sanitizer).
NODE_ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def install_ort(workdir):
    """The onnxruntime-node package in workdir/npm, or the reason it cannot be had."""
    prefix = os.path.join(workdir, "npm")
    if os.path.isdir(os.path.join(prefix, "node_modules", "onnxruntime-node")):
        return os.path.join(prefix, "node_modules"), None
    if not shutil.which("npm") or not shutil.which("node"):
        return None, "node and npm are not installed (Debian: apt-get install nodejs npm)"
    r = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", prefix,
                        "onnxruntime-node"], capture_output=True, text=True, timeout=600, env=NODE_ENV)
    if r.returncode != 0:
        return None, "npm install --ignore-scripts onnxruntime-node failed (is the npm registry reachable?):\n" + \
            (r.stderr or r.stdout)[-2000:]
    return os.path.join(prefix, "node_modules"), None


def compute_ops(sinter, model):
    # The first graph of the dump: the inference forward graph (a model with batch statistics also prints its
    # train-mode forward graph after it).
    dump = run([sinter, "dump", model, "--stage=graph"])
    return sorted(COMPUTE.findall(dump.split("\n}\n")[0]))


def example_inputs(model, images, batch, seed):
    """A batch for every input of the model: Fashion-MNIST test images for an input of 784 values a sample
    (in the input's shape), standard normal values for any other float input (features, masks), and integers
    in [0, 10) for an integer one (labels, character ids: every vocabulary of the examples has at least 10)."""
    rng = np.random.default_rng(seed)
    out = {}
    for t in model.inputs:
        shape = t.shape(batch)
        if t.dtype == np.float32 and int(np.prod(shape[1:])) == 784:
            out[t.name] = images[:batch].reshape(shape)
        elif t.dtype == np.float32:
            out[t.name] = rng.standard_normal(shape).astype(np.float32)
        else:
            out[t.name] = rng.integers(0, 10, shape).astype(t.dtype)
    return out


def compare(label, got, want):
    """Whether every output of `want` is in `got` with the same shape and within TOLERANCE (integers: equal)."""
    ok = True
    for name, w in want.items():
        g = got.get(name)
        if g is None or g.shape != w.shape:
            print(f"FAIL {label}: output '{name}' {w.shape} missing or of shape {None if g is None else g.shape}")
            ok = False
            continue
        err = float(np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))) if w.size else 0.0
        bound = 0 if w.dtype.kind == "i" else TOLERANCE
        print(f"{'ok  ' if err <= bound else 'FAIL'} {label}: output '{name}' {list(w.shape)}, max error {err:.2e}")
        ok = ok and err <= bound
    return ok


def check_example(args, name, images, modules):
    source = os.path.join(args.source, "examples", name + ".sn")
    work = lambda f: os.path.join(args.workdir, f)
    run([args.sinter, "build", source, "--emit", "shared", "-o", work(f"lib{name}.so"), "--target-cpu", "native"])
    model = P.SinterModel(work(f"lib{name}.so"), seed=7)
    assert model.lib.sinter_save_weights(ctypes.c_void_p(model.inst), work(name + ".safetensors").encode()) == 0
    onnx = work(name + ".onnx")
    run([args.sinter, "export", source, "--load", work(name + ".safetensors"), "-o", onnx])
    ok = check_initial_export(args, name, source, onnx)
    inputs = example_inputs(model, images, BATCH, seed=len(name))
    everything = model.forward([inputs[t.name] for t in model.inputs])
    want = {k: v for k, v in everything.items() if k != model.loss_name}  # the export holds the outputs only

    # Round trip: the exported file imported back computes the same outputs with the same ops, compiled from
    # the .onnx file and from the model file `sinter import -o` writes of it (which `sinter check` accepts).
    want_ops = compute_ops(args.sinter, source)
    written = work(name + "_source.sn")
    run([args.sinter, "import", onnx, "--weights", work(name + "_back.safetensors")])
    run([args.sinter, "import", onnx, "-o", written])  # and its weights beside it, NAME_source.safetensors
    run([args.sinter, "check", written])
    for label, model_path, stem in (("import", onnx, "_back"), ("import -o", written, "_source")):
        lib = work(f"lib{name}{stem}.so")
        run([args.sinter, "build", model_path, "--emit", "shared", "-o", lib, "--target-cpu", "native"])
        back = P.SinterModel(lib)
        weights = work(name + stem + ".safetensors").encode()
        assert back.lib.sinter_load_weights(ctypes.c_void_p(back.inst), weights) == 0
        got = back.forward([inputs[t.name] for t in back.inputs])
        got_ops = compute_ops(args.sinter, model_path)
        same_ops = want_ops == got_ops
        print(f"{'ok  ' if same_ops else 'FAIL'} {name}: export -> {label}: same compute ops: {same_ops}"
              + ("" if same_ops else f"\n  model file: {want_ops}\n  imported:   {got_ops}"))
        ok = compare(f"{name} export -> {label}", got, want) and same_ops and ok

    if modules:
        specs = []
        for t in model.inputs:
            a = np.ascontiguousarray(inputs[t.name])
            a.tofile(work(f"{name}_in_{t.name}.bin"))
            specs.append(f"{t.name}={work(f'{name}_in_{t.name}.bin')}:{a.dtype.name}:{','.join(map(str, a.shape))}")
        out = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_ort.js"), modules,
                              onnx, work(name + "_ort_")] + specs, capture_output=True, text=True, env=NODE_ENV)
        if out.returncode != 0:
            sys.exit(f"FAIL: ONNX Runtime could not run {onnx}:\n{out.stderr}")
        got = {}
        for line in out.stdout.splitlines():
            o = json.loads(line)
            got[o["name"]] = np.fromfile(work(name + "_ort_" + o["name"] + ".bin"), dtype=o["type"]).reshape(o["dims"])
        ok = compare(f"{name} ONNX Runtime vs sinter_forward", got, want) and ok
    return ok


def check_initial_export(args, name, source, onnx):
    """`sinter export` without --load writes the params' initial values as the compiled model's sinter_create
    draws them: with --seed 7, the same file byte for byte as the export of the weights an instance created
    with seed 7 saved (`onnx`, which ONNX Runtime runs below); with no --seed, the same file as the export of
    an instance created with the train block's seed (every example has one)."""
    work = lambda f: os.path.join(args.workdir, f)
    with open(source) as f:
        block_seed = int(re.search(r"^\s*seed (\d+)", f.read(), re.M).group(1))
    model = P.SinterModel(work(f"lib{name}.so"), seed=block_seed)
    weights = work(f"{name}_seed{block_seed}.safetensors")
    assert model.lib.sinter_save_weights(ctypes.c_void_p(model.inst), weights.encode()) == 0
    run([args.sinter, "export", source, "--load", weights, "-o", work(name + "_block_seed.onnx")])
    run([args.sinter, "export", source, "--seed", "7", "-o", work(name + "_seed7.onnx")])
    run([args.sinter, "export", source, "-o", work(name + "_default.onnx")])
    read = lambda path: open(path, "rb").read()
    ok = True
    for label, initial, loaded in (("--seed 7", "_seed7", onnx), ("no --seed", "_default", work(name + "_block_seed.onnx"))):
        seed = 7 if initial == "_seed7" else block_seed
        same = read(work(name + initial + ".onnx")) == read(loaded)
        print(f"{'ok  ' if same else 'FAIL'} {name}: export {label} = export --load of sinter_create(seed {seed})'s "
              "weights, byte for byte")
        ok = ok and same
    return ok


# A loop over a symbolic number of steps, backwards, with a stacked value: the examples' loops have 28 or 784.
SYMBOLIC_LOOP = """model seqloop {
  input x: f32[batch, seq, 3]
  h = zeros((dim(x, 0), 3))
  for x_t in x along 1 reverse {
    h = tanh(h + x_t)
    stack hs = h * 2
  }
  output last = h
  output all = hs
}
"""


def check_symbolic_loop(args):
    """The loop exported (a Scan over the symbol seq), imported back and compiled from the .onnx file and from
    the model file `sinter import -o` writes: one library per form, run at three sequence lengths (the entry
    point binds seq apart from batch), against NumPy in float64."""
    work = lambda f: os.path.join(args.workdir, f)
    with open(work("seqloop.sn"), "w") as f:
        f.write(SYMBOLIC_LOOP)
    with open(work("seqloop_none.safetensors"), "wb") as f:  # the model has no params
        f.write(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    run([args.sinter, "export", work("seqloop.sn"), "--load", work("seqloop_none.safetensors"), "-o",
         work("seqloop.onnx")])
    run([args.sinter, "import", work("seqloop.onnx"), "-o", work("seqloop_source.sn")])
    ok = True
    for label, path in (("import", work("seqloop.onnx")), ("import -o", work("seqloop_source.sn"))):
        lib_path = work(f"libseqloop_{'onnx' if path.endswith('.onnx') else 'source'}.so")
        run([args.sinter, "build", path, "--emit", "shared", "-o", lib_path, "--target-cpu", "native"])
        lib = ctypes.CDLL(lib_path)
        desc = P.ModelDesc.in_dll(lib, "seqloop_model")
        names = [desc.sym_names[i].decode() for i in range(desc.num_syms)]
        for batch, seq in ((2, 3), (3, 17), (1, 1)):
            x = np.random.default_rng(seq).standard_normal((batch, seq, 3)).astype(np.float32)
            last, stacked = np.zeros((batch, 3), np.float32), np.zeros((batch, seq, 3), np.float32)
            buffers = (ctypes.c_void_p * 3)(x.ctypes.data, last.ctypes.data, stacked.ctypes.data)
            desc.forward(buffers, (ctypes.c_int64 * 3)(*[{"batch": batch, "seq": seq}[n] for n in names], 0))
            h, want = np.zeros((batch, 3)), np.zeros((batch, seq, 3))
            for t in reversed(range(seq)):
                h = np.tanh(h + x[:, t])
                want[:, t] = 2 * h
            ok = compare(f"seqloop export -> {label} at seq = {seq}", {"last": last, "all": stacked},
                         {"last": h, "all": want}) and ok
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    modules, why = install_ort(args.workdir)
    if why:
        print(f"ONNX Runtime unavailable, its comparison is skipped: {why}")
    images = (P.read_idx(os.path.join(P.DATA, "t10k-images-idx3-ubyte.gz"), BATCH).reshape(-1, 784) / 255).astype(np.float32)
    results = [check_example(args, name, images, modules) for name in EXAMPLES] + [check_symbolic_loop(args)]
    if not all(results):
        sys.exit("FAIL: an exported model differs")
    if why:
        print("SKIPPED: the ONNX Runtime comparison (see above); the round trip passed")
        sys.exit(SKIP)
    print(f"all {len(EXAMPLES)} exported examples match in ONNX Runtime and round trip, and a loop over a "
          "symbolic length round trips")


if __name__ == "__main__":
    main()
