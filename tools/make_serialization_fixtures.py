"""Writes the checkpoint fixtures of tests/FastSeg.Torch.Tests/SerializationTests.cs.

Run from the repository root with Debian's interpreter (python3-torch 1.13):

    /usr/bin/python3 tools/make_serialization_fixtures.py

Each .pt file is written by Python's own torch.save; expected.json holds the same tensors as plain numbers (see
fixture_io.py), so the C# tests can compare what torch.load returns. Everything is tiny (a few KB).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "FastSeg.Torch.Tests", "Fixtures",
                   "serialization")


class Net(nn.Module):
    """A small nested network: conv + batch norm in one Sequential, two linears in another."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))

    def forward(self, x):
        x = self.stem(x).mean(dim=(2, 3))
        return self.head(x)


def path(name):
    return os.path.join(OUT, name)


def main():
    torch.manual_seed(20240611)
    os.makedirs(OUT, exist_ok=True)

    # A trained-for-two-steps network: batch-norm running stats and num_batches_tracked are non-trivial, and SGD with
    # momentum has a momentum buffer per parameter.
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    for _ in range(2):
        loss = net(torch.randn(2, 1, 5, 5)).square().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    state_dict = net.state_dict()
    torch.save(state_dict, path("state_dict.pt"))

    checkpoint = {
        "epoch": 7,
        "step": 123456789012,
        "neg": -5,
        "lr": 0.0125,
        "name": "unet-small",
        "unicode": "h\u00e9llo \u2713",
        "flags": {"amp": True, "ema": False},
        "best": None,
        "milestones": [30, 60, 90],
        "shape": (3, 4),
        "mixed": [1, 2.5, "x", None, True, (1, "a")],
        "int_keys": {1: "a", 2: "b"},
        "other_keys": {1: "int", "two": "str", (3, 4): "tuple"},
        "nested": {"a": {"b": {"c": [1, [2, [3]]]}}},
        "model": state_dict,
        "optimizer": opt.state_dict(),
        "param": nn.Parameter(torch.tensor([1.5, -2.0])),
    }
    torch.save(checkpoint, path("checkpoint.pt"))

    # The pre-1.6 format, with two tensors that view one storage.
    shared = torch.arange(6, dtype=torch.float64)
    legacy = {
        "weight": torch.randn(2, 3),
        "shared_a": shared[0:4],
        "shared_b": shared[2:6],
        "ints": torch.arange(5),
        "meta": {"epoch": 3, "name": "legacy"},
    }
    torch.save(legacy, path("legacy.pt"), _use_new_zipfile_serialization=False)

    dtypes = {
        "float32": torch.tensor([0.5, -1.25, 3.0e5], dtype=torch.float32),
        "float64": torch.tensor([1.0 / 3.0, -2.0e-300], dtype=torch.float64),
        "float16": torch.tensor([0.5, -2.0, 1024.0], dtype=torch.float16),
        "bfloat16": torch.tensor([[1.5, -3.0], [0.0078125, 2.0 ** 100]], dtype=torch.bfloat16),
        "int64": torch.tensor([0, -1, 2 ** 40, -(2 ** 50), 2 ** 62], dtype=torch.int64),
        "int32": torch.tensor([[7, -8], [2 ** 30, -(2 ** 31)]], dtype=torch.int32),
        "uint8": torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(42, dtype=torch.int64),
        "empty": torch.zeros(0, 3),
    }
    torch.save(dtypes, path("dtypes.pt"))

    # Non-contiguous views and storage sharing: a/b overlap, c is a disjoint slice of the same storage.
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    line = torch.arange(10, dtype=torch.float64)
    views = {
        "base": base,
        "transposed": base.t(),
        "slice": base[1:, ::2],
        "a": line[0:4],
        "b": line[2:6],
        "c": line[7:9],
    }
    torch.save(views, path("views.pt"))

    # Pickle protocol 4 uses opcodes that protocol 2 lacks (SHORT_BINUNICODE, MEMOIZE, FRAME, ...).
    proto4 = {"x": torch.arange(4, dtype=torch.int32), "names": ["a", "b"], "n": 3, "t": (1, 2)}
    torch.save(proto4, path("protocol4.pt"), pickle_protocol=4)

    fixture_io.write(path("expected.json"), {
        "state_dict": dict(state_dict),
        "checkpoint": {"model": dict(state_dict),
                       "momentum": {str(k): v["momentum_buffer"] for k, v in opt.state_dict()["state"].items()}},
        "legacy": {"weight": legacy["weight"], "shared_a": legacy["shared_a"], "shared_b": legacy["shared_b"],
                   "ints": legacy["ints"]},
        "dtypes": dtypes,
        "views": views,
    })


if __name__ == "__main__":
    main()
