#!/usr/bin/env python3
"""Parity of the runtime's optimizers, schedules and gradient clipping with PyTorch's (python3-torch):
the same float32 params and gradients go through torch.optim and through optimizer_trace (the runtime's
code), for 12 steps of every optimizer and option, and the trajectories must agree to float rounding.
Exit status 77 (skipped) without torch."""
import argparse
import json
import math
import subprocess
import sys

try:
    import torch
except ImportError:
    print("SKIP: torch is not installed (apt-get install python3-torch)")
    sys.exit(77)

STEPS = 12
SIZES = [257, 31]


def data(seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(n, generator=g) for n in SIZES]
    grads = [[torch.randn(n, generator=g) * (0.1 + s % 3) for n in SIZES] for s in range(STEPS)]
    return params, grads


def run_sinter(trace, config, params, grads, extra=None):
    req = {"config": config, "params": [p.tolist() for p in params],
           "grads": [[g.tolist() for g in step] for step in grads]}
    req.update(extra or {})
    out = subprocess.run([trace], input=json.dumps(req), capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def run_torch(make, params, grads, schedule=None, clip=None):
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = make(ps)
    sched = schedule(opt) if schedule else None
    traj, norms, lrs = [], [], []
    for step in grads:
        for p, g in zip(ps, step):
            p.grad = g.clone()
        if clip is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(ps, clip)))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched:
            sched.step()
        traj.append([p.detach().clone() for p in ps])
    return traj, norms, lrs


def compare(name, got, want, tol=2e-6):
    worst = 0.0
    for s, (gs, ws) in enumerate(zip(got["params"], want)):
        for g, w in zip(gs, ws):
            g = torch.tensor(g)
            err = ((g - w).abs() / w.abs().clamp(min=1.0)).max().item()
            worst = max(worst, err)
    ok = worst <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {name}: largest relative difference over {STEPS} steps {worst:.2e}")
    return ok


# The ABI stores lr as a float: 0.1 becomes 0.100000001490116, 1.5e-9 above torch's double 0.1.
LR_TOL = 1e-7


def check_epoch_schedule(trace):
    """Linear decay stepped once per epoch of 3 optimizer steps: torch's LinearLR stepped after every third step."""
    params, grads = data(400)
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = torch.optim.SGD(ps, lr=0.1)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.2, total_iters=STEPS // 3)
    want = []
    for s, step in enumerate(grads):
        for p, g in zip(ps, step):
            p.grad = g.clone()
        opt.step()
        if s % 3 == 2:
            sched.step()
        want.append([p.detach().clone() for p in ps])
    cfg = {"optimizer": 0, "lr": 0.1, "schedule": 4, "start_factor": 1.0, "end_factor": 0.2, "sched_per_epoch": 1}
    return compare("linear schedule per epoch", run_sinter(trace, cfg, params, grads, {"steps_per_epoch": 3}), want, tol=1e-5)


def check_groups(trace):
    """Param groups: AdamW with param 1 in a group without weight decay and a tenth of the rate, under a
    one-cycle schedule and a warm-up that scale both groups' rates; torch.optim.AdamW with two groups, the
    warm-up as a LambdaLR chained before OneCycleLR's closed form (it multiplies every group's rate)."""
    params, grads = data(500)
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = torch.optim.AdamW([{"params": [ps[0]]}, {"params": [ps[1]], "weight_decay": 0.0, "lr": 1e-3}],
                            lr=1e-2, weight_decay=0.1)
    onecycle = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1e-2, 1e-3], total_steps=STEPS, pct_start=0.3,
                                                   cycle_momentum=False)
    W = 3
    want = []
    for s, step in enumerate(grads):
        for p, g in zip(ps, step):
            p.grad = g.clone()
        rates = [grp["lr"] for grp in opt.param_groups]
        for grp in opt.param_groups:
            grp["lr"] *= min(1.0, (s + 1) / W)
        opt.step()
        for grp, r in zip(opt.param_groups, rates):
            grp["lr"] = r
        onecycle.step()
        want.append([p.detach().clone() for p in ps])
    cfg = {"optimizer": 2, "lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1, "schedule": 5,
           "pct_start": 0.3, "div_factor": 25, "final_div_factor": 1e4, "warmup_steps": W}
    extra = {"groups": [{"params": [1], "config": {"weight_decay": 0.0, "lr": 1e-3}}]}
    return compare("param groups, one-cycle and warm-up", run_sinter(trace, cfg, params, grads, extra), want, tol=1e-5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    a = ap.parse_args()
    O = torch.optim
    cases = [
        ("sgd", {"optimizer": 0, "lr": 0.05}, lambda p: O.SGD(p, lr=0.05)),
        ("sgd momentum dampening wd", {"optimizer": 0, "lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
         lambda p: O.SGD(p, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
        ("sgd nesterov", {"optimizer": 0, "lr": 0.05, "momentum": 0.8, "nesterov": 1},
         lambda p: O.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
        ("adam", {"optimizer": 1, "lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
         lambda p: O.Adam(p, lr=1e-2)),
        ("adam wd amsgrad", {"optimizer": 1, "lr": 1e-2, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1, "amsgrad": 1},
         lambda p: O.Adam(p, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True)),
        ("adamw", {"optimizer": 2, "lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05},
         lambda p: O.AdamW(p, lr=1e-2, weight_decay=0.05)),
        ("adamw amsgrad", {"optimizer": 2, "lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05, "amsgrad": 1},
         lambda p: O.AdamW(p, lr=1e-2, weight_decay=0.05, amsgrad=True)),
        ("rmsprop", {"optimizer": 3, "lr": 1e-2, "alpha": 0.99, "eps": 1e-8},
         lambda p: O.RMSprop(p, lr=1e-2)),
        ("rmsprop momentum centered wd", {"optimizer": 3, "lr": 1e-2, "alpha": 0.9, "eps": 1e-8, "momentum": 0.9, "centered": 1, "weight_decay": 0.01},
         lambda p: O.RMSprop(p, lr=1e-2, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.01)),
        ("adagrad", {"optimizer": 4, "lr": 0.1, "eps": 1e-10},
         lambda p: O.Adagrad(p, lr=0.1)),
        ("adagrad lr_decay wd init", {"optimizer": 4, "lr": 0.1, "eps": 1e-10, "lr_decay": 0.05, "weight_decay": 0.02, "initial_accumulator": 0.1},
         lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.1)),
    ]
    ok = True
    for i, (name, cfg, make) in enumerate(cases):
        params, grads = data(i)
        want, _, _ = run_torch(make, params, grads)
        ok &= compare(name, run_sinter(a.trace, cfg, params, grads), want)

    # Schedules (one optimizer step per epoch here, so epoch == step) and clipping, with SGD.
    sched = [
        ("step schedule", {"schedule": 1, "step_size": 3, "gamma": 0.5}, lambda o: O.lr_scheduler.StepLR(o, 3, 0.5)),
        ("exponential schedule", {"schedule": 2, "gamma": 0.8}, lambda o: O.lr_scheduler.ExponentialLR(o, 0.8)),
        ("cosine schedule", {"schedule": 3, "min_lr": 0.001},
         lambda o: O.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.001)),
        ("linear schedule", {"schedule": 4, "start_factor": 0.5, "end_factor": 0.1, "total_iters": 8},
         lambda o: O.lr_scheduler.LinearLR(o, start_factor=0.5, end_factor=0.1, total_iters=8)),
        ("linear schedule over the run", {"schedule": 4, "start_factor": 1.0, "end_factor": 0.0},
         lambda o: O.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=STEPS)),
        ("one-cycle schedule", {"schedule": 5, "pct_start": 0.25, "div_factor": 25, "final_div_factor": 1e4},
         lambda o: O.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=STEPS, pct_start=0.25, cycle_momentum=False)),
        ("one-cycle schedule, pct_start 0.3", {"schedule": 5, "pct_start": 0.3, "div_factor": 10, "final_div_factor": 100},
         lambda o: O.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=STEPS, pct_start=0.3, div_factor=10,
                                             final_div_factor=100, cycle_momentum=False)),
    ]
    for i, (name, cfg, make) in enumerate(sched):
        params, grads = data(100 + i)
        config = {"optimizer": 0, "lr": 0.1, "momentum": 0.9}
        config.update(cfg)
        want, _, lrs = run_torch(lambda p: O.SGD(p, lr=0.1, momentum=0.9), params, grads, schedule=make)
        got = run_sinter(a.trace, config, params, grads)
        lr_err = max(abs(x - y) for x, y in zip(got["lrs"], lrs))
        print(f"     {name}: largest learning-rate difference {lr_err:.1e}")
        ok &= lr_err < LR_TOL and compare(name, got, want, tol=1e-5)
    # Linear warm-up: torch's LinearLR(start_factor = 1/W, total_iters = W - 1) gives (s + 1) / W for s < W.
    params, grads = data(200)
    W = 4
    want, _, lrs = run_torch(lambda p: O.SGD(p, lr=0.1), params, grads,
                             schedule=lambda o: O.lr_scheduler.LinearLR(o, start_factor=1 / W, total_iters=W - 1))
    got = run_sinter(a.trace, {"optimizer": 0, "lr": 0.1, "warmup_steps": W}, params, grads)
    lr_err = max(abs(x - y) for x, y in zip(got["lrs"], lrs))
    print(f"     warm-up: largest learning-rate difference {lr_err:.1e}")
    ok &= lr_err < LR_TOL and compare("warm-up", got, want, tol=1e-5)

    ok &= check_epoch_schedule(a.trace)
    ok &= check_groups(a.trace)

    params, grads = data(300)
    want, norms, _ = run_torch(lambda p: O.SGD(p, lr=0.1), params, grads, clip=1.5)
    got = run_sinter(a.trace, {"optimizer": 0, "lr": 0.1}, params, grads, {"clip_norm": 1.5})
    norm_err = max(abs(x - y) / y for x, y in zip(got["norms"], norms))
    print(f"     clip_grad_norm_: largest relative norm difference {norm_err:.1e}")
    ok &= norm_err < 1e-5 and compare("gradient clipping", got, want, tol=1e-5)
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
