#!/usr/bin/python3
"""PyTorch peers of the benchmarked examples (examples/fashion_{mlp,cnn,lstm}.sn): the same layers, loss and
optimizer as each model file and its train block (Adam, lr 1e-3), timed with the protocol of
tools/benchmarks/model_bench.c so that both sides of a ratio are measured alike.

  torch_models.py MODEL time MAX_SAMPLES SECONDS [--variant V] JOB...
                                                  JOB = train:BATCH:THREADS | forward:BATCH:THREADS
  torch_models.py MODEL job DATA_DIR LIMIT_TRAIN LIMIT_TEST BATCH THREADS

`time` prints one JSON line per job: the median and quartiles of the time per call in microseconds, the
torch version, the BLAS library the process really loaded, the kernel family OpenBLAS chose
(openblas_get_corename: OPENBLAS_CORETYPE's, or the CPU's), the CPU capability PyTorch's own kernels run
(ATEN_CPU_CAPABILITY's, or the CPU's), and `blas_error`: the largest relative error of float32 products in
this process against float64 ones computed without BLAS, and `flush_denormal` (the process flushes denormals
to zero, as Sinter's C API does). tools/bench runs this script in several such
configurations and keeps the fastest whose products are right (older OpenBLAS kernels compute wrong results
on some newer CPUs, which is why some environments pin OPENBLAS_CORETYPE). A train call is zero_grad, forward,
cross-entropy, backward and the optimizer step, what sinter_train_step does; a forward call is the
probabilities under torch.no_grad() in eval mode (dropout off), what sinter_forward does. `job` trains one
epoch on a slice of Fashion-MNIST and evaluates, the job of a Sinter training executable, so that the two
processes' peak memory can be compared.

--variant runs the model another way (eager, the module as written, by default): `jit` (forward jobs only)
runs torch.jit.freeze(torch.jit.script(model)) in eval mode, `channels-last` (the CNN only) keeps the
convolutions' weights and activations in torch.channels_last, `channels-last+jit` both. Before timing, each
job of a variant checks its results against the eager model with the same weights: `model_error` is the
largest difference of the probabilities (forward) or of the gradients relative to their largest element
(train)."""
import ctypes
import gzip
import json
import re
import sys
import time

import numpy as np
import torch
from torch import nn

MIN_SAMPLES = 5
MIN_SAMPLE_US = 200.0


class LastHiddenLSTM(nn.Module):
    """LSTM(28, 128) over the 28 rows of an image, from a zero state, then Dense(128, 10) on the last hidden
    state: lib/nn.sn's LSTM layer. torch.nn.LSTM keeps two bias vectors where Sinter keeps one, 512 more
    parameters that cost nothing measurable; the gate order (i, f, g, o) is the same."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, image):
        _, (h, _) = self.rnn(image.reshape(-1, 28, 28))
        return self.head(h[-1])


class UnflattenChannelsLast(nn.Module):
    """The 784 pixels as a [batch, 1, 28, 28] image in torch.channels_last (NHWC in memory), for the
    convolutions that follow."""

    def forward(self, x):
        return x.reshape(-1, 1, 28, 28).contiguous(memory_format=torch.channels_last)


def make_model(name, channels_last=False):
    if name == "cnn" and channels_last:
        model = make_model(name)
        model[0] = UnflattenChannelsLast()  # no params: the state_dict keys stay those of the eager model
        return model.to(memory_format=torch.channels_last)  # the convolutions' weights
    if name == "mlp":  # examples/fashion_mlp.sn
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "cnn":  # examples/fashion_cnn.sn, dropout 0.25 after each hidden dense layer as there
        return nn.Sequential(nn.Unflatten(1, (1, 28, 28)),
                             nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.25),
                             nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.25), nn.Linear(84, 10))
    if name == "lstm":  # examples/fashion_lstm.sn
        return LastHiddenLSTM()
    raise SystemExit(f"unknown model {name}")


def loaded_blas():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if ".so" in line}
        names = sorted({l.rsplit("/", 1)[-1] for l in libs if "blas" in l.lower() or "mkl" in l.lower()})
        return ", ".join(names) or "none found"
    except OSError:
        return "unknown"


def openblas_core():
    """The kernel family the loaded OpenBLAS runs, or None when torch loaded another BLAS."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "libopenblas" in line})
        if not libs:
            return None
        lib = ctypes.CDLL(libs[0])
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


def cpu_capability():
    """What torch.__config__.show() says its kernels use: "AVX2", "AVX512", ..."""
    m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return m.group(1) if m else "unknown"


def blas_error():
    """The largest error of float32 products (torch's: its BLAS) relative to the largest element of float64
    references from NumPy's einsum (its own loops, not BLAS), over the three forms a training step uses (x w,
    xᵀ dy, dy wᵀ), a one-row product (batch-1 inference) and odd sizes. Rounding alone stays below 1e-5."""
    gen = torch.Generator().manual_seed(7)
    worst = 0.0
    for m, k, n in ((64, 784, 256), (1, 128, 512), (257, 300, 129), (784, 64, 256)):
        a = torch.rand(m, k, generator=gen) - 0.5
        b = torch.rand(k, n, generator=gen) - 0.5
        ref = np.einsum("ik,kj->ij", a.double().numpy(), b.double().numpy())
        for got in (a @ b, a.t().contiguous().t() @ b, a @ b.t().contiguous().t()):
            worst = max(worst, float(np.abs(got.double().numpy() - ref).max() / np.abs(ref).max()))
    return worst


VARIANTS = ("eager", "jit", "channels-last", "channels-last+jit")


def variant_applies(variant, name, mode):
    """Whether a variant changes anything for this model and job (tools/bench runs it only then)."""
    return (variant == "eager" or ("jit" not in variant or mode == "forward")
            and ("channels-last" not in variant or name == "cnn"))


def variant_error(name, variant, model, mode, x, y):
    """The largest difference between the variant's results and the eager model's with the same weights: the
    probabilities for a forward job, the gradients of one step (relative to their largest element) for a
    train job."""
    eager = make_model(name)
    eager.load_state_dict(model.state_dict())
    if mode == "forward":
        eager.eval()
        model.eval()
        with torch.no_grad():
            want = torch.softmax(eager(x), dim=1)
            got = torch.softmax(prepare(model, variant, mode)(x), dim=1)
        return float((got - want).abs().max())
    loss_fn = nn.CrossEntropyLoss()
    worst = 0.0
    for m in (eager, model):
        m.train()
        torch.manual_seed(2)  # the same dropout masks
        m.zero_grad()
        loss_fn(m(x), y).backward()
    for a, b in zip(model.parameters(), eager.parameters()):
        worst = max(worst, float((a.grad - b.grad).abs().max() / b.grad.abs().max().clamp_min(1e-30)))
    model.zero_grad()
    return worst


def prepare(model, variant, mode):
    """What a forward job of a jit variant calls: the scripted and frozen module (eval mode)."""
    if "jit" in variant and mode == "forward":
        return torch.jit.freeze(torch.jit.script(model.eval()))
    return model


def time_job(name, job, max_samples, seconds, config, variant="eager"):
    mode, batch, threads = job.split(":")
    batch, threads = int(batch), int(threads)
    if not variant_applies(variant, name, mode):
        raise SystemExit(f"the variant {variant} does not apply to {name} {mode} jobs")
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = make_model(name, channels_last="channels-last" in variant)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 784)
    y = torch.randint(0, 10, (batch,))
    model_error = 0.0 if variant == "eager" else variant_error(name, variant, model, mode, x, y)

    def train_call():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    if mode == "train":
        model.train()
        call = train_call
    else:
        model.eval()
        run = prepare(model, variant, mode)

        def call():
            with torch.no_grad():
                torch.softmax(run(x), dim=1)
    # Warm-up and repetitions as in model_bench.c.
    warm, w0 = 0, time.perf_counter()
    while warm < 3 or time.perf_counter() - w0 < seconds * 0.1:
        call()
        warm += 1
    per_call = (time.perf_counter() - w0) * 1e6 / warm
    reps = 1 if per_call >= MIN_SAMPLE_US else int(MIN_SAMPLE_US / per_call) + 1
    t, t_end = [], time.perf_counter() + seconds
    while len(t) < max_samples and (len(t) < MIN_SAMPLES or time.perf_counter() < t_end):
        t0 = time.perf_counter()
        for _ in range(reps):
            call()
        t.append((time.perf_counter() - t0) * 1e6 / reps)
    t.sort()
    n = len(t)
    print(json.dumps({"mode": mode, "batch": batch, "threads": torch.get_num_threads(), "median_us": t[n // 2],
                      "p25_us": t[n // 4], "p75_us": t[3 * n // 4], "samples": n, "reps": reps,
                      "torch": torch.__version__, "blas": loaded_blas(), "variant": variant,
                      "model_error": model_error, **config}), flush=True)


def read_idx(path):
    """An IDX file (gzip) as a numpy array: magic, dims as big-endian int32, then unsigned bytes."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def train_job(name, data_dir, limit_train, limit_test, batch, threads):
    """What a Sinter training executable does with --limit-train/--limit-test --epochs 1: read the data,
    train one shuffled epoch, evaluate on the test slice."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    images = read_idx(f"{data_dir}/train-images-idx3-ubyte.gz")[:limit_train].reshape(-1, 784)
    labels = read_idx(f"{data_dir}/train-labels-idx1-ubyte.gz")[:limit_train]
    test_images = read_idx(f"{data_dir}/t10k-images-idx3-ubyte.gz")[:limit_test].reshape(-1, 784)
    test_labels = read_idx(f"{data_dir}/t10k-labels-idx1-ubyte.gz")[:limit_test]
    x = torch.from_numpy(images.astype(np.float32) / 255)
    y = torch.from_numpy(labels.astype(np.int64))
    model = make_model(name)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    order = torch.randperm(len(x))
    for i in range(0, len(x), batch):
        idx = order[i:i + batch]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        tx = torch.from_numpy(test_images.astype(np.float32) / 255)
        acc = (model(tx).argmax(1).numpy() == test_labels).mean()
    print(json.dumps({"loss": float(loss), "test_accuracy": float(acc)}))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    name, what = sys.argv[1], sys.argv[2]
    if what == "time":
        max_samples, seconds = int(sys.argv[3]), float(sys.argv[4])
        jobs, variant = sys.argv[5:], "eager"
        if jobs[:1] == ["--variant"]:
            variant, jobs = jobs[1], jobs[2:]
        if variant not in VARIANTS:
            raise SystemExit(f"unknown variant {variant} (variants: {', '.join(VARIANTS)})")
        config = {"blas_core": openblas_core(), "capability": cpu_capability(), "blas_error": blas_error()}
        # Sinter's C API and drivers flush denormals to zero (FTZ and DAZ) while a model runs; the peer does
        # the same, or its Adam moments decaying into denormals would slow it and not Sinter.
        config["flush_denormal"] = torch.set_flush_denormal(True)
        for job in jobs:
            time_job(name, job, max_samples, seconds, config, variant)
    elif what == "job":
        data_dir, limit_train, limit_test, batch, threads = sys.argv[3], *(int(a) for a in sys.argv[4:8])
        train_job(name, data_dir, limit_train, limit_test, batch, threads)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
