"""Float64 variant of make_zoo_fixtures.py, for networks whose float32 outputs under the deterministic weights are
too ill-conditioned to compare at 1e-4 (the reference's own float32 and float64 results differ by more than that).

Usage: /usr/bin/python3 tools/make_zoo_fixtures64.py --ref /path/to/realtime-semantic-segmentation-pytorch [ids...]

Variants are listed in tools/zoo_variants64/*.json, in the format of tools/zoo_variants/ ("aux": true records the
train-mode outputs). The model is converted to float64 before zoo_reference.deterministic_fill, and the input is
zoo_reference.deterministic_input (float32-rounded, as the C# DeterministicFill.Input) converted to float64. The
fixtures go to tests/FastSeg.Models.Tests/Fixtures/zoo64/<id>.json, in the layout of the float32 ones plus
"dtype": "float64"; ZooParity64Tests runs the C# model in float64 against them.
"""
import argparse
import glob
import json
import math
import os

import torch

import zoo_reference as zr
from make_zoo_fixtures import DTYPES, forward_train

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "FastSeg.Models.Tests", "Fixtures", "zoo64")


def finite(summary, what):
    if not all(math.isfinite(v) for v in [summary["mean"], summary["std"], summary["abs_sum"]] + summary["values"]):
        raise ValueError(f"{what} is not finite even in float64")
    return summary


def make(ref, variant):
    zr.load_reference(ref)
    from models.model_registry import model_hub
    ctor = dict(variant.get("ctor", {}))
    ctor.setdefault("num_class", 19)
    torch.manual_seed(0)
    model = model_hub[variant["model"]](**ctor)
    state = model.state_dict()
    fixture = {
        "id": variant["id"],
        "model": variant["model"],
        "csharp": variant.get("csharp", {}),
        "ctor": ctor,
        "dtype": "float64",
        "keys": list(state.keys()),
        "shapes": [list(t.shape) for t in state.values()],
        "dtypes": [DTYPES[t.dtype] for t in state.values()],
        "params": sum(p.numel() for p in model.parameters()),
        "input": variant.get("input", [1, 3, 128, 256]),
    }
    model = model.double()
    zr.deterministic_fill(model)
    x = zr.deterministic_input(fixture["input"]).double()
    model.eval()
    with torch.no_grad():
        out = model(x)
    if isinstance(out, (tuple, list)):
        out = out[0]
    fixture["eval"] = finite(zr.summary(out), "eval logits")
    if variant.get("aux"):
        model.train()
        torch.manual_seed(0)
        with torch.no_grad():
            res = forward_train(model, torch.cat([x, x.flip(3)]), variant["model"])
        main, extra = res if isinstance(res, (tuple, list)) else (res, ())
        extras = list(extra) if isinstance(extra, (tuple, list)) else [extra]
        fixture["train"] = {"logits": finite(zr.summary(main), "train logits"),
                            "extras": [finite(zr.summary(e), "train extra output") for e in extras]}
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, variant["id"] + ".json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {path}: {fixture['params']:,} params, {len(fixture['keys'])} entries (float64)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True, help="checkout of zh320/realtime-semantic-segmentation-pytorch")
    parser.add_argument("ids", nargs="*", help="variant ids to (re)make; all when omitted")
    args = parser.parse_args()
    variants = []
    for path in sorted(glob.glob(os.path.join(HERE, "zoo_variants64", "*.json"))):
        with open(path) as f:
            variants.extend(json.load(f))
    for v in variants:
        if not args.ids or v["id"] in args.ids:
            make(os.path.abspath(args.ref), v)


if __name__ == "__main__":
    main()
