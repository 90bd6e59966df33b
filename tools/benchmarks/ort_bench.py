"""The `ort` part of tools/bench: inference of each example against ONNX Runtime, on the example's own ONNX
export (issue 20's speed goal: Sinter ahead of ONNX Runtime on every row).

Per model: its shared library (the one the train and infer parts time) is created with seed 1, its weights
saved and exported with `sinter export`, so both sides run the same weights. Then, in interleaved rounds
(who goes first alternates), model_bench times `sinter_forward` and ort_bench.js times ONNX Runtime's
`session.run` (npm's onnxruntime-node, CPU, intraOpNumThreads = the row's threads, graph optimizations
"all"), at batch 1 and 256 with 1 and 2 threads, under the same sampling protocol (sampling.h).

A call through onnxruntime-node also pays the binding: a promise, the JavaScript tensor wrappers, the copy of
the outputs. That cost is measured in the same round on a model that only returns its input (`Copy`, a
[batch, 1] float) at the same batch and threads, and subtracted from ONNX Runtime's time, so the ratio
compares the runtimes, not the languages they are called from. Both the raw and the net figures are
reported. ONNX Runtime comes from npm (`npm install --ignore-scripts onnxruntime-node`, into the bench's
work directory); without node or npm, or without the registry, the part says why and measures nothing."""
import json
import os
import shutil
import statistics
import subprocess

PYTHON = "/usr/bin/python3"  # Debian's, with python3-numpy

JOBS = [f"forward:{b}:{t}" for b in (1, 256) for t in (1, 2)]
# The model that measures the binding's own cost: one input copied to one output.
COPY_MODEL = """# ONNX Runtime's per-call cost through onnxruntime-node, with no work in the model (tools/bench's ort part).
model Copy {
  input x: f32[batch, 1]
  output y = x
}
"""


def install_ort(work):
    """node_modules holding onnxruntime-node, installed into work/npm once; or (None, why not)."""
    prefix = os.path.join(work, "npm")
    modules = os.path.join(prefix, "node_modules")
    if os.path.isdir(os.path.join(modules, "onnxruntime-node")):
        return modules, None
    if not shutil.which("npm") or not shutil.which("node"):
        return None, "node and npm are not installed (Debian: apt-get install nodejs npm)"
    # --ignore-scripts: the package's install script only fetches optional GPU libraries, which cannot be reached.
    r = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", prefix,
                        "onnxruntime-node"], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return None, "npm install --ignore-scripts onnxruntime-node failed: " + (r.stderr or r.stdout)[-500:]
    return modules, None


def export(sinter, python_dir, model_path, lib, work):
    """The ONNX file of the model with the weights `lib` draws at seed 1, or (None, the exporter's error)."""
    name = os.path.splitext(os.path.basename(model_path))[0]
    weights = os.path.join(work, name + ".safetensors")
    onnx = os.path.join(work, name + ".onnx")
    # python/sinter (the C API from Python, which needs numpy) in Debian's python, as the torch peer runs.
    subprocess.run([PYTHON, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import sinter; "
                    "sinter.Model(sys.argv[2], seed=1).save(sys.argv[3])", python_dir, lib, weights], check=True)
    r = subprocess.run([sinter, "export", model_path, "--load", weights, "-o", onnx], capture_output=True, text=True)
    if r.returncode != 0:
        return None, (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[0]
    return onnx, None


def run_lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def measure(sinter, python_dir, benchmarks, models, work, rounds, seconds, max_samples):
    """models: {name: (model file, model_bench executable, its libmodel.so)}. One row per model and job."""
    os.makedirs(work, exist_ok=True)
    modules, why = install_ort(work)
    if modules is None:
        return {"skipped": why, "rows": []}
    copy_path = os.path.join(work, "copy.sn")
    with open(copy_path, "w") as f:
        f.write(COPY_MODEL)
    copy_lib = os.path.join(work, "libcopy.so")
    subprocess.run([sinter, "build", copy_path, "--emit", "shared", "-o", copy_lib], check=True, capture_output=True)
    copy_onnx, why = export(sinter, python_dir, copy_path, copy_lib, work)
    if copy_onnx is None:
        raise SystemExit(f"bench: the binding's model does not export: {why}")
    script = os.path.join(benchmarks, "ort_bench.js")
    ort = lambda onnx: ["node", script, modules, onnx, str(max_samples), str(seconds)] + JOBS
    rows, unexported = [], {}
    for m, (path, exe, lib) in models.items():
        onnx, why = export(sinter, python_dir, path, lib, work)
        if onnx is None:
            unexported[m] = why
            continue
        samples = {}  # (job, who) -> per-round medians in us
        for r in range(rounds):
            order = [("sinter", [exe, str(max_samples), str(seconds)] + JOBS), ("ort", ort(onnx)),
                     ("binding", ort(copy_onnx))]
            if r % 2:
                order.reverse()
            for who, cmd in order:
                for job, res in zip(JOBS, run_lines(cmd)):
                    samples.setdefault((job, who), []).append(res["median_us"])
        for job in JOBS:
            _, batch, threads = job.split(":")
            ours, theirs, binding = (samples[(job, w)] for w in ("sinter", "ort", "binding"))
            net = [max(t - b, 0.0) for t, b in zip(theirs, binding)]
            rows.append({"model": m, "batch": int(batch), "threads": int(threads),
                         "sinter_us": statistics.median(ours), "ort_us": statistics.median(theirs),
                         "binding_us": statistics.median(binding), "ort_net_us": statistics.median(net),
                         "speedup_raw": statistics.median(t / s for t, s in zip(theirs, ours)),
                         "speedup": statistics.median(n / s for n, s in zip(net, ours)),
                         "sinter_rounds_us": ours, "ort_rounds_us": theirs, "binding_rounds_us": binding})
    with open(os.path.join(modules, "onnxruntime-node", "package.json")) as f:
        version = json.load(f)["version"]
    return {"onnxruntime_node": version, "rows": rows, "not_exported": unexported}


def print_rows(result):
    if result.get("skipped"):
        print(f"\nONNX Runtime: not measured: {result['skipped']}")
        return
    print(f"\nInference against ONNX Runtime {result['onnxruntime_node']} (onnxruntime-node, CPU) on each example's "
          "`sinter export`: latency at batch 1, throughput at batch 256;\nbinding = the cost of a call through "
          "onnxruntime-node on a model that only copies its input, subtracted from ORT's time (net); "
          "speed-up = ORT net / Sinter (raw: without the subtraction); goal: > 1 on every row")
    print(f"{'model':<6}{'batch':>6}{'thr':>4}{'sinter':>16}{'ort net':>16}{'ort raw':>16}{'binding':>11}"
          f"{'speed-up':>10}{'raw':>8}")
    for r in result["rows"]:
        if r["batch"] == 1:
            cells = [f"{r[k]:.1f} us" for k in ("sinter_us", "ort_net_us", "ort_us")]
        else:
            cells = [f"{r['batch'] / (r[k] * 1e-6):,.0f} /s" for k in ("sinter_us", "ort_net_us", "ort_us")]
        print(f"{r['model']:<6}{r['batch']:>6}{r['threads']:>4}{cells[0]:>16}{cells[1]:>16}{cells[2]:>16}"
              f"{r['binding_us']:>8.1f} us{r['speedup']:>9.2f}x{r['speedup_raw']:>7.2f}x")
    for m, why in result.get("not_exported", {}).items():
        print(f"{m}: not measured, `sinter export` refuses it: {why}")
