#!/usr/bin/env python3
"""End-to-end tests of data-parallel training under Open MPI (docs/distributed.md), on small Fashion-MNIST
slices, with `mpirun -np 2 --oversubscribe --allow-run-as-root` on this machine:

  parity EXAMPLE   2 processes against 1, same global batch and seed: the weights after one epoch agree within
                   f32 reassociation (TOLERANCE below says why that much); one "training" line, one line per
                   epoch, one metrics file; two 2-process runs give the same bits; the --mpi executable run as
                   one process gives the bits of the ordinary executable.
  deterministic EXAMPLE
                   --deterministic-reduce: the same bits for 1 process (1 and 2 threads) and 2 processes.
  buckets          the gradient buckets: `sinter dump --stage=kernel` shows them, numbered in order after the
                   kernels that complete them, last layer first, every trained param in one; --grad-bucket-kb
                   0 or -1 is a clear error; 2 processes with small buckets (many all-reduces started during
                   the step) give the bits of the default buckets, and report time computed while sums were in
                   flight (comm_overlap_seconds > 0: the sums started before the step ended); a last batch
                   that leaves rank 1 without samples (it starts zero buckets after the step) agrees with 1
                   process.
  failure          a global batch that does not split: a clear error; SIGKILL of rank 1 mid-epoch takes the
                   job down naming the rank; --resume (with 1 process) ends with the bits of an uninterrupted
                   deterministic run.
  train            `sinter train --mpi` (the JIT) under mpirun: 2 processes against `sinter train` alone (within
                   TOLERANCE) and against the --mpi executable's 2 processes (within TOLERANCE: the JIT compiles
                   for this CPU, the executable for x86-64-v3); one "training" line and one metrics line;
                   --deterministic-reduce gives the bits of one process; SIGKILL of rank 1 and `--resume` with 2
                   processes give the uninterrupted run's bits; without --mpi under mpirun, and --mpi without
                   mpirun, it says what happens.
  errors           under mpirun with 2 processes, a model with a type error, a missing model file, a bad
                   `sinter` flag and bad flags of the --mpi executable: the message once (from rank 0, the model's
                   with file:line:col), a non-zero exit status, the job ended; a model that only rank 1 fails to
                   compile (mpirun's MPMD form): rank 1's diagnostics once, naming rank 1.
  hostfile         the README's form `mpirun --hostfile FILE -np 2 ./train ...`, with a hostfile naming this
                   machine (localhost slots=2): the bits of `mpirun -np 2` without one; -np 3 is refused (the
                   hostfile's slots are what mpirun uses).
  ranks3 EXAMPLE   3 processes (oversubscribed) on the bucketed path against 1 process (MLP or LSTM: no
                   dropout), with a global batch of 96 whose last partial batch splits unevenly: within
                   TOLERANCE, and --deterministic-reduce gives the bits of one process.
"""
import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root"]

# Two runs whose only difference is the order in which each gradient's f32 terms are summed (per-process
# GEMM reductions over 32 samples, then one 2-term all-reduce, against one reduction over 64) differ by a few
# ulps in each gradient. Adam divides the first moment by the root of the second, so a parameter whose
# gradient hovers around 0 can move by up to ~lr per step on either side of such a difference; after the
# ~16 steps of these slices the differences seen were below 2e-5 (measured: MLP 4.2e-7, LSTM 4.5e-6), against
# weights of size ~0.05 and updates of 1e-3 per step. The bound below is 10x that and still 100x smaller than
# one step's update: a wrong scaling of the gradients (a sum instead of a mean: 2x the step) or a rank
# training on the wrong samples moves weights by ~1e-3 and fails it.
TOLERANCE = 2e-4

# example: (training images, test images, global batch)
SLICES = {"mlp": (1024, 256, 64), "cnn": (512, 128, 64), "lstm": (512, 128, 64)}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(cmd, expect_ok=True):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    sys.stdout.write(p.stdout + p.stderr)
    if expect_ok and p.returncode != 0:
        fail(f"exit status {p.returncode}")
    return p


def tensors(path):
    """The tensors of a safetensors file by name, as float32 arrays."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        out[name] = np.frombuffer(body[begin:end], dtype=np.float32).reshape(t["shape"])
    return out


def same_bits(a, b):
    ta, tb = tensors(a), tensors(b)
    return ta.keys() == tb.keys() and all(ta[k].tobytes() == tb[k].tobytes() for k in ta)


class Setup:
    def __init__(self, a, example):
        self.a = a
        self.example = example
        self.work = os.path.join(a.workdir, f"mpi_{a.part}_{example}")
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        model = os.path.join(a.source, "examples", f"fashion_{example}.sn")
        self.exe = os.path.join(self.work, "train")
        self.mpi_exe = os.path.join(self.work, "train_mpi")
        run([a.sinter, "build", model, "--emit", "exe", "--mpi", "-o", self.mpi_exe])
        n_train, n_test, batch = SLICES[example]
        self.common = ["--data", DATA, "--limit-train", str(n_train), "--limit-test", str(n_test), "--epochs", "1",
                       "--batch", str(batch), "--seed", "3", "--no-train-acc"]

    def build_plain(self):
        run([self.a.sinter, "build", os.path.join(self.a.source, "examples", f"fashion_{self.example}.sn"), "--emit",
             "exe", "-o", self.exe])

    def train(self, name, ranks, *extra, exe=None):
        """Trains with `ranks` processes under mpirun (0: the executable alone); returns (process, dir)."""
        d = os.path.join(self.work, name)
        os.makedirs(d, exist_ok=True)
        args = [exe or self.mpi_exe] + self.common + ["--save", os.path.join(d, "w.safetensors"), "--metrics",
                                                      os.path.join(d, "metrics.jsonl")] + list(extra)
        cmd = MPIRUN + ["-np", str(ranks)] + args if ranks else args
        return run(cmd), d


def parity(a):
    s = Setup(a, a.example)
    s.build_plain()
    _, plain = s.train("plain", 0, "--threads", "1", exe=s.exe)
    _, single = s.train("single", 0, "--threads", "1")
    if not same_bits(os.path.join(plain, "w.safetensors"), os.path.join(single, "w.safetensors")):
        fail("the --mpi executable run as one process does not give the ordinary executable's bits")
    p, two = s.train("two", 2, "--threads", "1")
    if p.stdout.count("training Fashion") != 1 or p.stdout.count("epoch 1/1") != 1:
        fail("expected one 'training' line and one epoch line from 2 processes")
    if "2 processes" not in p.stdout:
        fail("the run does not say it trains with 2 processes")
    with open(os.path.join(two, "metrics.jsonl")) as f:
        lines = f.readlines()
    if len(lines) != 1:
        fail("the metrics file of the 2-process run does not hold exactly one line")
    line = json.loads(lines[0])
    if line.get("processes") != 2 or not 0 <= line.get("comm_seconds", -1) <= line["seconds"]:
        fail("the 2-process metrics do not report 2 processes and the seconds spent communicating")
    with open(os.path.join(single, "metrics.jsonl")) as f:
        if "comm_seconds" in f.read():
            fail("a run of one process reports communication")
    w1, w2 = tensors(os.path.join(single, "w.safetensors")), tensors(os.path.join(two, "w.safetensors"))
    worst = max(float(np.max(np.abs(w1[k] - w2[k]))) for k in w1)
    moved = max(float(np.max(np.abs(w1[k]))) for k in w1)
    print(f"{a.example}: largest |w(2 processes) - w(1 process)| = {worst:.3g} (tolerance {TOLERANCE}; "
          f"largest weight {moved:.3g})")
    if not worst <= TOLERANCE:
        fail("2 processes and 1 process train different weights")
    _, again = s.train("again", 2, "--threads", "1")
    if not same_bits(os.path.join(two, "w.safetensors"), os.path.join(again, "w.safetensors")):
        fail("two runs with 2 processes ended with different bits")
    print("PASS")


def deterministic(a):
    s = Setup(a, a.example)
    det = ["--deterministic-reduce", "--reduce-chunk", "16"]
    _, one = s.train("one", 0, "--threads", "1", *det)
    _, one2 = s.train("one_2threads", 0, "--threads", "2", *det)
    _, two = s.train("two", 2, "--threads", "1", *det)
    ref = os.path.join(one, "w.safetensors")
    for d, what in ((one2, "1 process with 2 threads"), (two, "2 processes")):
        if not same_bits(ref, os.path.join(d, "w.safetensors")):
            fail(f"--deterministic-reduce: {what} and 1 process with 1 thread end with different bits")
    print(f"{a.example}: --deterministic-reduce gives the same bits for 1 process (1 and 2 threads) and 2 processes")
    print("PASS")


def bucket_lines(a, model, *flags):
    """(kernel, bucket number, [param names], text) for each bucket line of the train step's kernel dump."""
    p = run([a.sinter, "dump", model, "--stage=kernel"] + list(flags))
    out, kernel = [], -1
    for line in p.stdout.splitlines():
        if line.startswith("kernel "):
            kernel = int(line.split()[1])
        elif line.startswith("after the copies"):
            kernel = 1 << 30
        elif line.strip().startswith("bucket "):
            head, rest = line.strip().split(" ready: ")
            names = rest.split(" (")[0].split(", ")
            if not rest.endswith("-> all-reduce starts"):
                fail(f"unexpected bucket line: {line}")
            out.append((kernel, int(head.split()[1]), names, line.strip()))
    return out


def buckets(a):
    model = os.path.join(a.source, "examples", "fashion_mlp.sn")
    params = ["w1", "b1", "w2", "b2", "w3", "b3"]
    default, small = bucket_lines(a, model), bucket_lines(a, model, "--grad-bucket-kb", "16")
    for lines in (default, small):
        if [b for _, b, _, _ in lines] != list(range(len(lines))):
            fail("the buckets are not numbered 0, 1, ... in the order of the kernels")
        if [k for k, _, _, _ in lines] != sorted(k for k, _, _, _ in lines) or min(k for k, _, _, _ in lines) < 0:
            fail("a bucket line is not after a kernel, or the buckets are not in kernel order")
        names = [n for _, _, ns, _ in lines for n in ns]
        if sorted(names) != sorted(params):
            fail(f"the buckets hold {names}, not every trained param once")
        if not set(lines[0][2]) <= {"w3", "b3", "w2", "b2"} or "w1" not in lines[-1][2]:
            fail("the buckets are not last layer first")
    if len(default) < 2 or len(small) <= len(default):
        fail(f"expected at least 2 buckets by default and more with --grad-bucket-kb 16: {len(default)}, {len(small)}")
    for bad in ("0", "-1"):
        p = run([a.sinter, "build", model, "--emit", "exe", "--grad-bucket-kb", bad, "-o",
                 os.path.join(a.workdir, "never")], expect_ok=False)
        if p.returncode == 0 or "--grad-bucket-kb" not in p.stderr:
            fail(f"--grad-bucket-kb {bad}: expected an error naming the flag")

    s = Setup(a, "mlp")
    small_exe = os.path.join(s.work, "train_mpi_small")
    run([a.sinter, "build", model, "--emit", "exe", "--mpi", "--grad-bucket-kb", "16", "-o", small_exe])
    _, two = s.train("two", 2, "--threads", "1")
    _, two_small = s.train("two_small", 2, "--threads", "1", exe=small_exe)
    if not same_bits(os.path.join(two, "w.safetensors"), os.path.join(two_small, "w.safetensors")):
        fail("2 processes: small buckets and the default ones end with different bits (each element's sum is the "
             "same two terms whichever bucket carries it)")
    for d in (two, two_small):
        with open(os.path.join(d, "metrics.jsonl")) as f:
            line = json.loads(f.readline())
        overlap = line.get("comm_overlap_seconds", -1)
        print(f"{os.path.basename(d)}: comm_seconds {line['comm_seconds']:.4f}, comm_overlap_seconds {overlap:.4f}")
        if not 0 < overlap <= line["seconds"]:
            fail("no time computed while gradient sums were in flight: the buckets did not start during the step")
    # 129 samples in batches of 64: the last batch has one sample, so rank 1 runs no step and starts its
    # (zero) buckets after it; the weights still agree with one process's.
    last = ["--limit-train", "129"]
    _, one_last = s.train("one_last", 0, "--threads", "1", *last)
    _, two_last = s.train("two_last", 2, "--threads", "1", *last)
    w1, w2 = tensors(os.path.join(one_last, "w.safetensors")), tensors(os.path.join(two_last, "w.safetensors"))
    worst = max(float(np.max(np.abs(w1[k] - w2[k]))) for k in w1)
    print(f"a last batch that leaves rank 1 no sample: largest |w(2) - w(1)| = {worst:.3g}")
    if not worst <= TOLERANCE:
        fail("with a last batch that leaves rank 1 without samples, 2 processes and 1 train different weights")
    print("PASS")


def rank_pid(token, rank):
    """The pid of MPI rank `rank` of the job whose environment holds SINTER_MPI_TEST=token (Open MPI sets
    OMPI_COMM_WORLD_RANK)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env and f"SINTER_MPI_TEST={token}".encode() in env:
            return int(pid)
    return None


def failure(a):
    s = Setup(a, "mlp")
    p = run(MPIRUN + ["-np", "2", s.mpi_exe] + s.common + ["--batch", "63", "--no-save"], expect_ok=False)
    if p.returncode != 2 or "does not split over 2 processes" not in p.stderr or "--batch 62 or 64" not in p.stderr:
        fail("a batch of 63 over 2 processes: expected exit status 2 and an error saying how to fix it")
    if p.stderr.count("does not split") != 1:
        fail("the error of a batch that does not split is printed more than once")

    det = ["--deterministic-reduce", "--threads", "1", "--quiet", "--checkpoint-every", "3"]
    _, full = s.train("full", 2, *det, "--checkpoint-dir", os.path.join(s.work, "full"))
    killed = os.path.join(s.work, "killed")
    os.makedirs(killed)
    args = [s.mpi_exe] + s.common + det + ["--checkpoint-dir", killed, "--save", os.path.join(killed, "w.safetensors"),
                                           "--metrics", os.path.join(killed, "metrics.jsonl")]
    # Resume with another number of processes: positions are global sample indices.
    kill_rank1_then_resume(MPIRUN + ["-np", "2", "-x", "SINTER_MPI_TEST"] + args, killed, args + ["--resume"])
    if not same_bits(os.path.join(full, "w.safetensors"), os.path.join(killed, "w.safetensors")):
        fail("the run killed with 2 processes and resumed with 1 ends with other bits than the uninterrupted one")
    print("SIGKILL of rank 1 ended the job naming it; --resume with 1 process gave the uninterrupted run's bits")
    print("PASS")


def sinter_train(s, name, ranks, *extra, mpi=True):
    """`sinter train` of s's example, under mpirun with `ranks` processes (0: alone); returns (process, dir)."""
    d = os.path.join(s.work, name)
    os.makedirs(d, exist_ok=True)
    model = os.path.join(s.a.source, "examples", f"fashion_{s.example}.sn")
    args = [s.a.sinter, "train", model] + (["--mpi"] if mpi else []) + s.common + [
        "--save", os.path.join(d, "w.safetensors"), "--metrics", os.path.join(d, "metrics.jsonl")] + list(extra)
    return run(MPIRUN + ["-np", str(ranks)] + args if ranks else args), d


def largest_difference(a, b):
    wa, wb = tensors(os.path.join(a, "w.safetensors")), tensors(os.path.join(b, "w.safetensors"))
    return max(float(np.max(np.abs(wa[k] - wb[k]))) for k in wa)


def kill_rank1_then_resume(cmd, checkpoint_dir, resume_cmd):
    """Runs cmd (an mpirun job of 2 processes saving its weights in checkpoint_dir/w.safetensors), SIGKILLs rank 1
    once the first checkpoint exists, checks that the job failed naming rank 1 before it finished, then runs
    resume_cmd."""
    ckpt = os.path.join(checkpoint_dir, "checkpoint.safetensors")
    print("+", " ".join(cmd), " (then SIGKILL of rank 1 after the first checkpoint)", flush=True)
    token = f"{os.getpid()}-{time.time()}"
    env = dict(os.environ, SINTER_MPI_TEST=token)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 300
    while not os.path.exists(ckpt) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.001)
    victim = rank_pid(token, 1)
    if proc.poll() is not None or victim is None:
        out, err = proc.communicate()
        fail(f"could not kill rank 1 mid-run (status {proc.returncode}, pid {victim}):\n{out}{err}")
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    sys.stdout.write(out + err)
    if proc.returncode == 0 or "rank 1" not in out + err:
        fail(f"killing rank 1: expected a failed job and a message naming rank 1, status {proc.returncode}")
    if os.path.exists(os.path.join(checkpoint_dir, "w.safetensors")):
        fail("the killed run had already finished: nothing was tested")
    run(resume_cmd)


def train(a):
    s = Setup(a, "mlp")
    model = os.path.join(a.source, "examples", "fashion_mlp.sn")
    # Without --mpi under mpirun every process would train alone: an error, printed once.
    p = run(MPIRUN + ["-np", "2", a.sinter, "train", model] + s.common + ["--no-save"], expect_ok=False)
    if p.returncode == 0 or p.stderr.count("without --mpi") != 1 or "add --mpi" not in p.stderr:
        fail("`sinter train` under mpirun without --mpi: expected a failed job and one error saying to add --mpi")
    # --mpi without mpirun: a job of one process, said so, with the bits of `sinter train` alone.
    p, alone = sinter_train(s, "alone", 0, "--threads", "1", mpi=False)
    p, single = sinter_train(s, "single", 0, "--threads", "1")
    if "--mpi without mpirun" not in p.stderr or "mpirun -np N" not in p.stderr:
        fail("`sinter train --mpi` without mpirun does not say it is a job of one process")
    if not same_bits(os.path.join(alone, "w.safetensors"), os.path.join(single, "w.safetensors")):
        fail("`sinter train --mpi` as one process does not give the bits of `sinter train`")

    p, two = sinter_train(s, "two", 2, "--threads", "1")
    if p.stdout.count("training Fashion") != 1 or p.stdout.count("epoch 1/1") != 1 or "2 processes" not in p.stdout:
        fail("expected one 'training' line naming 2 processes and one epoch line from `sinter train --mpi`")
    with open(os.path.join(two, "metrics.jsonl")) as f:
        lines = f.readlines()
    if len(lines) != 1 or json.loads(lines[0]).get("processes") != 2:
        fail("the metrics file of `sinter train --mpi` with 2 processes does not hold one line of 2 processes")
    _, exe_two = s.train("exe_two", 2, "--threads", "1")
    for other, what in ((alone, "`sinter train` alone"), (exe_two, "the --mpi executable's 2 processes")):
        worst = largest_difference(two, other)
        print(f"largest |w(sinter train --mpi, 2 processes) - w({what})| = {worst:.3g} (tolerance {TOLERANCE})")
        if not worst <= TOLERANCE:
            fail(f"`sinter train --mpi` with 2 processes and {what} train different weights")

    det = ["--deterministic-reduce", "--threads", "1"]
    _, det_one = sinter_train(s, "det_one", 0, *det, mpi=False)
    _, det_two = sinter_train(s, "det_two", 2, *det)
    if not same_bits(os.path.join(det_one, "w.safetensors"), os.path.join(det_two, "w.safetensors")):
        fail("`sinter train --mpi --deterministic-reduce`: 2 processes and 1 end with different bits")
    print("--deterministic-reduce: `sinter train --mpi` with 2 processes gives the bits of `sinter train`")

    ck = ["--quiet", "--checkpoint-every", "3"]
    _, full = sinter_train(s, "full", 2, *det, *ck, "--checkpoint-dir", os.path.join(s.work, "full"))
    killed = os.path.join(s.work, "killed")
    os.makedirs(killed)
    args = [a.sinter, "train", model, "--mpi"] + s.common + det + ck + [
        "--checkpoint-dir", killed, "--save", os.path.join(killed, "w.safetensors"), "--metrics",
        os.path.join(killed, "metrics.jsonl")]
    kill_rank1_then_resume(MPIRUN + ["-np", "2", "-x", "SINTER_MPI_TEST"] + args, killed,
                           MPIRUN + ["-np", "2"] + args + ["--resume"])
    if not same_bits(os.path.join(full, "w.safetensors"), os.path.join(killed, "w.safetensors")):
        fail("`sinter train --mpi`: killed and resumed with 2 processes, other bits than the uninterrupted run")
    print("SIGKILL of rank 1 of `sinter train --mpi`, then --resume with 2 processes: the uninterrupted run's bits")
    print("PASS")


def once(p, text, what):
    """Checks that a failed job printed `text` exactly once."""
    out = p.stdout + p.stderr
    if p.returncode == 0 or out.count(text) != 1:
        fail(f"{what}: expected a non-zero exit status and {text!r} once, got status {p.returncode} and "
             f"{out.count(text)} copies")


def errors(a):
    s = Setup(a, "mlp")
    good = os.path.join(a.source, "examples", "fashion_mlp.sn")
    bad = os.path.join(s.work, "bad.sn")
    with open(good) as f:
        text = f.read()
    broken = text.replace("h2 = relu(h1 @ w2 + b2)", "h2 = relu(h1 @ w3 + b2)")
    if broken == text:
        fail("the example changed: the deliberate error was not put in")
    with open(bad, "w") as f:
        f.write(broken)
    at = broken.index("h1 @ w3") + 3  # the '@', where the error points
    line, column = 1 + broken[:at].count("\n"), at - broken.rfind("\n", 0, at)
    where = f"{bad}:{line}:{column}: error: cannot matmul"

    def mpirun(*args):
        return run(MPIRUN + ["-np", "2"] + list(args), expect_ok=False)

    once(mpirun(a.sinter, "train", bad, "--mpi", "--data", DATA), where,
         "`sinter train --mpi` of a model with a type error")
    missing = os.path.join(s.work, "missing.sn")
    once(mpirun(a.sinter, "train", missing, "--mpi"), f"cannot open '{missing}'", "a missing model file")
    once(mpirun(a.sinter, "train", good, "--mpi", "-O", "7"), "-O: Value 7 not in range", "a bad `sinter` flag")
    once(mpirun(a.sinter, "train", good, "--mpi", "--bogus"), "unknown flag '--bogus'", "a bad flag of the driver")
    once(mpirun(s.mpi_exe, "--bogus"), "unknown flag '--bogus'", "a bad flag of the --mpi executable")
    once(mpirun(s.mpi_exe, "--batch", "abc"), "invalid value 'abc' for --batch", "a bad value of the --mpi executable")
    # Rank 0 compiles the good model, rank 1 the broken one: rank 1 says why, once, naming itself, and rank 0
    # does not start training alone.
    p = run(MPIRUN + ["-np", "1", a.sinter, "train", good, "--mpi", "--data", DATA, ":", "-np", "1", a.sinter,
                      "train", bad, "--mpi", "--data", DATA], expect_ok=False)
    once(p, where, "a model only rank 1 fails to compile")
    if "rank 1 of 2 could not compile" not in p.stderr or "training Fashion" in p.stdout:
        fail("a model only rank 1 fails to compile: expected an error naming rank 1 and no training")
    print("PASS")


def hostfile(a):
    s = Setup(a, "mlp")
    hosts = os.path.join(s.work, "hosts")
    with open(hosts, "w") as f:
        f.write("localhost slots=2\n")
    launch = ["mpirun", "--allow-run-as-root", "--hostfile", hosts]  # no --oversubscribe: the slots suffice
    _, plain = s.train("plain", 2, "--threads", "1")
    d = os.path.join(s.work, "hostfile")
    os.makedirs(d)
    p = run(launch + ["-np", "2", s.mpi_exe] + s.common + [
        "--threads", "1", "--save", os.path.join(d, "w.safetensors"), "--metrics", os.path.join(d, "metrics.jsonl")])
    if p.stdout.count("training Fashion") != 1 or "2 processes" not in p.stdout:
        fail("with a hostfile: expected one 'training' line naming 2 processes")
    with open(os.path.join(d, "metrics.jsonl")) as f:
        if json.loads(f.readline()).get("processes") != 2:
            fail("with a hostfile: the metrics do not say 2 processes")
    if not same_bits(os.path.join(plain, "w.safetensors"), os.path.join(d, "w.safetensors")):
        fail("`mpirun --hostfile FILE -np 2` and `mpirun -np 2` end with different bits")
    p = run(launch + ["-np", "3", s.mpi_exe, "--version"], expect_ok=False)
    if p.returncode == 0 or "not enough slots" not in p.stdout + p.stderr:
        fail("-np 3 with a hostfile of 2 slots: expected mpirun to refuse (the hostfile was not read)")
    print("`mpirun --hostfile` (localhost slots=2) -np 2 gives the bits of `mpirun -np 2`")
    print("PASS")


def ranks3(a):
    s = Setup(a, a.example)
    # 1024 (MLP) or 512 (LSTM) samples in global batches of 96: the last batch (64 or 32 samples) splits
    # 22/21/21 or 11/11/10.
    batch = ["--batch", "96", "--threads", "1"]
    _, one = s.train("one", 0, *batch)
    _, three = s.train("three", 3, *batch)
    worst = largest_difference(one, three)
    print(f"{a.example}: largest |w(3 processes) - w(1 process)| = {worst:.3g} (tolerance {TOLERANCE})")
    if not worst <= TOLERANCE:
        fail("3 processes and 1 process train different weights")
    with open(os.path.join(three, "metrics.jsonl")) as f:
        line = json.loads(f.readline())
    if line.get("processes") != 3:
        fail("the metrics of the 3-process run do not say 3 processes")
    det = ["--deterministic-reduce", "--reduce-chunk", "16"]
    _, det_one = s.train("det_one", 0, *batch, *det)
    _, det_three = s.train("det_three", 3, *batch, *det)
    if not same_bits(os.path.join(det_one, "w.safetensors"), os.path.join(det_three, "w.safetensors")):
        fail("--deterministic-reduce: 3 processes and 1 process end with different bits")
    print(f"{a.example}: --deterministic-reduce gives the same bits for 1 and 3 processes")
    print("PASS")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("part", choices=["parity", "deterministic", "buckets", "failure", "train", "errors", "hostfile",
                                       "ranks3"])
    ap.add_argument("example", nargs="?", default="mlp", choices=sorted(SLICES))
    a = ap.parse_args()
    {"parity": parity, "deterministic": deterministic, "buckets": buckets, "failure": failure, "train": train,
     "errors": errors, "hostfile": hostfile, "ranks3": ranks3}[a.part](a)


if __name__ == "__main__":
    main()
