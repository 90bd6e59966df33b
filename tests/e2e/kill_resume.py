#!/usr/bin/env python3
"""End-to-end test of a training executable's crash safety, on a small Fashion-MNIST slice:

1. kill -9 mid-epoch, then --resume: the final weights equal, byte for byte, those of an uninterrupted
   run with the same seed (deterministic per-epoch shuffles, optimizer state and position in checkpoints);
2. SIGINT writes a checkpoint and exits with status 130; --resume finishes the run;
3. `ldd` of the executable lists only system C/C++ libraries and zlib: nothing of LLVM or the compiler;
4. `sinter plot` draws the metrics as SVG."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"
ALLOWED_LIBS = ("linux-vdso", "libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "libz.so", "ld-linux",
                "libmvec.so")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(p.stdout + p.stderr)
    return p


def read(path):
    with open(path, "rb") as f:
        return f.read()


def start_and_signal(cmd, ckpt, sig):
    """Starts cmd, waits for its first checkpoint, sends sig; returns (returncode, stderr)."""
    print("+", " ".join(cmd), f"  (then signal {sig} after the first checkpoint)", flush=True)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not os.path.exists(ckpt) and p.poll() is None and time.time() < deadline:
        time.sleep(0.001)
    if p.poll() is not None:
        out, err = p.communicate()
        fail(f"the run ended (status {p.returncode}) before it could be signalled:\n{out}{err}")
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    sys.stdout.write(out + err)
    return p.returncode, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    work = os.path.join(a.workdir, "kill_resume")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    exe = os.path.join(work, "fashion_mlp")
    p = run([a.sinter, "build", os.path.join(a.source, "examples", "fashion_mlp.sn"), "--emit", "exe", "-o", exe])
    if p.returncode != 0:
        fail("sinter build failed")

    # ldd: only system libraries and zlib.
    p = run(["ldd", exe])
    if p.returncode != 0:
        fail("ldd failed")
    # A sanitizer build (SINTER_SANITIZE=1 from ctest) links the sanitizers' runtimes into everything.
    allowed = ALLOWED_LIBS + (("libasan.so", "libubsan.so") if os.environ.get("SINTER_SANITIZE") == "1" else ())
    for line in p.stdout.splitlines():
        lib = os.path.basename(line.strip().split()[0])
        if not lib.startswith(allowed):
            fail(f"the training executable depends on {lib}: only system C/C++ libraries and zlib are allowed")

    common = [exe, "--data", DATA, "--limit-train", "3000", "--limit-test", "500", "--epochs", "3", "--batch", "64",
              "--seed", "5", "--quiet", "--checkpoint-every", "5"]

    def args(name, *extra):
        d = os.path.join(work, name)
        return common + ["--checkpoint-dir", d, "--save", os.path.join(d, "final.safetensors"),
                         "--metrics", os.path.join(d, "metrics.jsonl")] + list(extra), d

    full, full_dir = args("full")
    if run(full).returncode != 0:
        fail("the uninterrupted run failed")

    # 1. kill -9 right after the first checkpoint (step 5 of epoch 1), then resume to the end.
    killed, killed_dir = args("killed")
    rc, _ = start_and_signal(killed, os.path.join(killed_dir, "checkpoint.safetensors"), signal.SIGKILL)
    if rc != -signal.SIGKILL:
        fail(f"expected the run to die of SIGKILL, status {rc}")
    if os.path.exists(os.path.join(killed_dir, "final.safetensors")) and \
            read(os.path.join(killed_dir, "final.safetensors")) == read(os.path.join(full_dir, "final.safetensors")):
        fail("the killed run had already finished: nothing was tested")
    p = run(killed + ["--resume"])
    if p.returncode != 0:
        fail("--resume after kill -9 failed")
    if read(os.path.join(killed_dir, "final.safetensors")) != read(os.path.join(full_dir, "final.safetensors")):
        fail("the resumed run's final weights differ from the uninterrupted run's")
    print("kill -9 + --resume: final weights identical to the uninterrupted run")
    with open(os.path.join(killed_dir, "metrics.jsonl")) as f:
        if len([l for l in f if l.strip()]) != 3:
            fail("the resumed run's metrics file does not hold exactly one line per epoch")

    # 2. SIGINT: a checkpoint, status 130, a message; --resume finishes.
    inter, inter_dir = args("sigint")
    rc, err = start_and_signal(inter, os.path.join(inter_dir, "checkpoint.safetensors"), signal.SIGINT)
    if rc != 130 or "interrupted by SIGINT" not in err:
        fail(f"SIGINT: expected status 130 and a message, got {rc}: {err}")
    if run(inter + ["--resume"]).returncode != 0:
        fail("--resume after SIGINT failed")
    if read(os.path.join(inter_dir, "final.safetensors")) != read(os.path.join(full_dir, "final.safetensors")):
        fail("the run resumed after SIGINT ends with other weights")

    # 4. The curves.
    svg = os.path.join(work, "curves.svg")
    p = run([a.sinter, "plot", os.path.join(full_dir, "metrics.jsonl"), "-o", svg])
    if p.returncode != 0 or "<polyline" not in open(svg).read():
        fail("sinter plot did not draw the curves")
    print("PASS")


if __name__ == "__main__":
    main()
