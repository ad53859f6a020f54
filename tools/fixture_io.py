"""Shared helpers for the fixture scripts: tensors to the JSON layout the C# tests read (tests/*/Fixture.cs).

Run the scripts with Debian's interpreter, /usr/bin/python3, which has python3-torch 1.13.
"""
import json
import math
import os

import torch

_DTYPES = {
    torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.bfloat16: "bfloat16",
    torch.int64: "int64", torch.int32: "int32", torch.uint8: "uint8", torch.bool: "bool",
}


def _number(x):
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return x


def tensor(t):
    """A tensor as {"shape", "dtype", "data"}; float16/bfloat16 values go through float64 exactly."""
    t = t.detach().cpu().contiguous()
    dtype = _DTYPES[t.dtype]
    values = t.to(torch.float64) if t.dtype in (torch.float16, torch.bfloat16) else t
    data = [_number(v) for v in values.flatten().tolist()]
    return {"shape": list(t.shape), "dtype": dtype, "data": data}


def write(path, cases):
    """Writes {case name: {key: tensor or plain value}} as compact JSON."""
    def encode(v):
        if isinstance(v, torch.Tensor):
            return tensor(v)
        if isinstance(v, dict):
            return {k: encode(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [encode(x) for x in v]
        return _number(v)

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({name: encode(c) for name, c in cases.items()}, f, separators=(",", ":"))
    print(f"wrote {path}")
