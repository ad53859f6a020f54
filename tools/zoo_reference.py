"""Helpers for making model-zoo fixtures from the reference implementation
(zh320/realtime-semantic-segmentation-pytorch), checked out somewhere outside this repository.

The reference is only needed to (re)generate fixtures; the fixtures are committed and CI never needs it.
Run with Debian's interpreter (/usr/bin/python3, with python3-torch and python3-torchvision).
"""
import importlib
import math
import sys

import torch


def load_reference(ref_dir):
    """Makes `models` of the reference importable and keeps torchvision from downloading weights."""
    if ref_dir not in sys.path:
        sys.path.insert(0, ref_dir)
    import torchvision.models as tvm

    def no_download(factory):
        def build(*args, **kwargs):
            kwargs.pop("pretrained", None)
            kwargs.pop("weights", None)
            return factory(*args, weights=None, **kwargs)
        return build

    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2"):
        setattr(tvm, name, no_download(getattr(tvm, name)))
    return importlib.import_module("models")




def deterministic_fill(model):
    """Fills every floating state-dict entry with a formula the C# tests reproduce (DeterministicFill.cs):
    for entry i (state-dict order) and element j, b = sin(0.37 j + 1.91 i + 0.5);
      running_var -> 0.75 + 0.5 b², running_mean -> 0.1 b,
      1-D weight -> 1 + 0.1 b, 1-D bias and other 1-D -> 0.1 b,
      n-D -> b · 1.5 / sqrt(numel / shape[0]).
    Integer entries (num_batches_tracked) are left alone."""
    with torch.no_grad():
        for i, (key, t) in enumerate(model.state_dict().items()):
            if not t.is_floating_point():
                continue
            j = torch.arange(t.numel(), dtype=torch.float64)
            b = torch.sin(0.37 * j + 1.91 * i + 0.5)
            if key.endswith("running_var"):
                v = 0.75 + 0.5 * b * b
            elif key.endswith("running_mean"):
                v = 0.1 * b
            elif t.dim() <= 1:
                v = 1 + 0.1 * b if key.endswith("weight") else 0.1 * b
            else:
                v = b * 1.5 / math.sqrt(t.numel() / t.shape[0])
            t.copy_(v.reshape(t.shape).to(t.dtype))


def deterministic_input(shape):
    """x[j] = sin(0.013 j) + 0.5 cos(0.007 j) over the flattened shape, float32."""
    n = 1
    for s in shape:
        n *= s
    j = torch.arange(n, dtype=torch.float64)
    return (torch.sin(0.013 * j) + 0.5 * torch.cos(0.007 * j)).to(torch.float32).reshape(shape)


def summary(t, samples=64):
    """Statistics and evenly spaced samples of a tensor (what the fixtures store instead of whole outputs)."""
    flat = t.detach().to(torch.float64).flatten()
    n = flat.numel()
    index = [k * (n - 1) // (samples - 1) for k in range(samples)]
    return {
        "shape": list(t.shape),
        "mean": flat.mean().item(),
        "std": flat.std(unbiased=False).item(),
        "abs_sum": flat.abs().sum().item(),
        "index": index,
        "values": flat[index].tolist(),
    }
