#!/usr/bin/python3
"""PyTorch peer of examples/fashion_mlp.sn: the same 784-256-128-10 ReLU MLP, cross-entropy and Adam
(lr 1e-3), one training step timed at a time after warm-up. Prints the median and quartiles in
microseconds as JSON, and which BLAS torch really loaded."""
import json
import sys
import time

import torch


def loaded_blas():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if ".so" in line}
        names = sorted({l.rsplit("/", 1)[-1] for l in libs if "blas" in l.lower() or "mkl" in l.lower()})
        return ", ".join(names) or "none found"
    except OSError:
        return "unknown"


def main():
    batch, steps, warmup, threads = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(batch, 784)
    y = torch.randint(0, 10, (batch,))
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    print(json.dumps({"median_us": times[len(times) // 2], "p25_us": times[len(times) // 4],
                      "p75_us": times[3 * len(times) // 4], "loss": float(loss), "torch": torch.__version__,
                      "blas": loaded_blas(), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
