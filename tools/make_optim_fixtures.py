"""Writes tests/FastSeg.Torch.Tests/Fixtures/optim.json: reference trajectories for torch.optim and its schedulers.

Run with Debian's interpreter (it has python3-torch 1.13):  /usr/bin/python3 tools/make_optim_fixtures.py

Optimizer cases: a small least-squares problem, loss = mean((X·Wᵀ + b − Y)²), stepped 20 times; the parameters after
every step and the optimizer's state dict after steps 10 and 20 are recorded. Scheduler cases: an optimizer with two
groups (lr 0.1 and 0.02), the learning rates (and cycled momenta) after construction and after each of 100 steps, and
the scheduler's and optimizer's state dicts after 37 steps.

State dicts are written with type tags so the C# side can rebuild PyTorch's value model exactly: a tuple is
{"__tuple__": [...]}, a dict with int keys is {"__intdict__": [[key, value], ...]}, a tensor is {"shape", "dtype",
"data"}; JSON ints and floats keep their Python type (floats always carry a '.' or an exponent).
"""
import math
import os
import struct
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(__file__))
import fixture_io  # noqa: E402

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "FastSeg.Torch.Tests", "Fixtures", "optim.json")
STEPS = 20
SCHED_STEPS = 100
SCHED_SNAPSHOT = 37


def _shortest_float32(x):
    """The shortest decimal that reads back as the same float32 (keeps the fixture small)."""
    target = struct.pack("<f", x)
    for digits in range(1, 10):
        y = float("%.*g" % (digits, x))
        if struct.pack("<f", y) == target:
            return y
    return x


def tensor(t):
    """fixture_io.tensor, with float32 values written in their shortest exact form."""
    e = fixture_io.tensor(t)
    if e["dtype"] == "float32":
        e["data"] = [_shortest_float32(x) if isinstance(x, float) else x for x in e["data"]]
    return e


def tagged(v):
    if isinstance(v, torch.Tensor):
        return tensor(v)
    if isinstance(v, tuple):
        return {"__tuple__": [tagged(x) for x in v]}
    if isinstance(v, dict):
        if v and all(isinstance(k, int) for k in v):
            return {"__intdict__": [[k, tagged(x)] for k, x in v.items()]}
        return {k: tagged(x) for k, x in v.items()}
    if isinstance(v, list):
        return [tagged(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return fixture_io._number(v)
    assert v is None or isinstance(v, (bool, int, float, str)), type(v)
    return v


# ---- optimizers --------------------------------------------------------------------------------------------------

g = torch.Generator().manual_seed(1234)
X = torch.randn(8, 4, generator=g)
Y = torch.randn(8, 3, generator=g)
W0 = torch.randn(3, 4, generator=g) * 0.5
B0 = torch.randn(3, generator=g) * 0.1


def loss_fn(W, b):
    return ((X @ W.t() + b - Y) ** 2).mean()


OPTIMIZERS = {
    "sgd_nesterov": lambda W, b: torch.optim.SGD([W, b], lr=0.05, momentum=0.9, dampening=0.0, weight_decay=1e-4, nesterov=True),
    "sgd_dampening": lambda W, b: torch.optim.SGD([W, b], lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.0),
    "sgd_plain": lambda W, b: torch.optim.SGD([W, b], lr=0.1, momentum=0.0, dampening=0.0, weight_decay=1e-3),
    "sgd_maximize": lambda W, b: torch.optim.SGD([W, b], lr=0.01, momentum=0.5, dampening=0.0, weight_decay=0.0, maximize=True),
    "adam": lambda W, b: torch.optim.Adam([W, b], lr=0.05, weight_decay=0.0),
    "adam_amsgrad": lambda W, b: torch.optim.Adam([W, b], lr=0.05, betas=(0.8, 0.99), weight_decay=1e-2, amsgrad=True),
    "adamw": lambda W, b: torch.optim.AdamW([W, b], lr=0.05, weight_decay=0.1),
    "adamw_amsgrad": lambda W, b: torch.optim.AdamW([W, b], lr=0.05, weight_decay=0.1, amsgrad=True),
    "sgd_groups": lambda W, b: torch.optim.SGD(
        [{"params": [W], "lr": 0.05, "weight_decay": 1e-3}, {"params": [b], "lr": 0.01}],
        lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0),
    "adam_groups": lambda W, b: torch.optim.Adam(
        [{"params": [W], "lr": 0.02}, {"params": [b], "lr": 0.05, "betas": (0.8, 0.99)}], lr=0.01, weight_decay=0.0),
}

cases = {"problem": {"X": tensor(X), "Y": tensor(Y), "W0": tensor(W0), "b0": tensor(B0)}}
for name, make in OPTIMIZERS.items():
    W = torch.nn.Parameter(W0.clone())
    b = torch.nn.Parameter(B0.clone())
    opt = make(W, b)
    trajectory = []
    case = {}
    for t in range(1, STEPS + 1):
        opt.zero_grad()
        loss_fn(W, b).backward()
        opt.step()
        trajectory.append({"W": tensor(W), "b": tensor(b)})
        if t in (10, STEPS):
            case[f"state_dict_{t}"] = tagged(opt.state_dict())
    case["trajectory"] = trajectory
    cases["optim_" + name] = case

# ---- schedulers --------------------------------------------------------------------------------------------------

L = torch.optim.lr_scheduler


def sgd(w1, w2):
    return torch.optim.SGD([{"params": [w1], "lr": 0.1}, {"params": [w2], "lr": 0.02}],
                           lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0)


def adam(w1, w2):
    return torch.optim.Adam([{"params": [w1], "lr": 0.1}, {"params": [w2], "lr": 0.02}], lr=0.1, weight_decay=0.0)


SCHEDULERS = {
    "step": (sgd, lambda o: L.StepLR(o, step_size=7, gamma=0.5)),
    "multistep": (sgd, lambda o: L.MultiStepLR(o, milestones=[10, 30, 30, 60], gamma=0.3)),
    "exponential": (sgd, lambda o: L.ExponentialLR(o, gamma=0.97)),
    "lambda": (sgd, lambda o: L.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.05 * e))),
    "cosine": (sgd, lambda o: L.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)),
    "poly": (sgd, lambda o: L.PolynomialLR(o, total_iters=80, power=0.9)),
    "linear": (sgd, lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=10)),
    "onecycle_sgd": (sgd, lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=100, pct_start=0.25)),
    "onecycle_adam_three_phase": (adam, lambda o: L.OneCycleLR(
        o, max_lr=[0.01, 0.005], total_steps=100, pct_start=0.3, anneal_strategy="linear", three_phase=True,
        div_factor=10.0, final_div_factor=100.0)),
    "zh320_cos_warmup": (sgd, lambda o: L.OneCycleLR(o, max_lr=0.01, total_steps=100, pct_start=3 / 20)),
    "zh320_linear": (sgd, lambda o: L.OneCycleLR(o, max_lr=0.01, total_steps=100, pct_start=0.0, anneal_strategy="linear")),
    "warmup_poly": (sgd, lambda o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10), L.PolynomialLR(o, total_iters=90, power=0.9)],
        milestones=[10])),
    "warmup_cosine": (sgd, lambda o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.01, end_factor=1.0, total_iters=5), L.CosineAnnealingLR(o, T_max=95, eta_min=0.0)],
        milestones=[5])),
}


MOMENTA_CASES = {"onecycle_sgd", "onecycle_adam_three_phase", "zh320_cos_warmup", "zh320_linear"}


def momenta(opt):
    return [grp["betas"][0] if "betas" in grp else grp["momentum"] for grp in opt.param_groups]


def scheduler_state(s):
    sd = s.state_dict()
    sd.pop("anneal_func", None)  # a bound method; FastSeg leaves it out
    return sd


for name, (make_opt, make_sched) in SCHEDULERS.items():
    w1 = torch.nn.Parameter(torch.zeros(2))
    w2 = torch.nn.Parameter(torch.zeros(3))
    opt = make_opt(w1, w2)
    sched = make_sched(opt)
    lrs = [list(sched.get_last_lr())]
    moms = [momenta(opt)]
    case = {}
    for t in range(1, SCHED_STEPS + 1):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append(momenta(opt))
        if t == SCHED_SNAPSHOT:
            case["scheduler_state"] = tagged(scheduler_state(sched))
            case["optimizer_state"] = tagged(opt.state_dict())
    case["lrs"] = lrs
    if name in MOMENTA_CASES:
        case["momenta"] = moms
    cases["sched_" + name] = case

fixture_io.write(OUT, cases)
