"""Writes tests/FastSeg.Models.Tests/Fixtures/zoo/<id>.json for every variant listed in tools/zoo_variants/*.json.

Usage: /usr/bin/python3 tools/make_zoo_fixtures.py --ref /path/to/realtime-semantic-segmentation-pytorch \
           [--fastseg-ref /path/to/Fast_Seg] [--smp-ref /path/to/segmentation_models.pytorch] [ids...]

A variant file holds a list of objects:
  {"id": "icnet-resnet18", "model": "icnet", "ctor": {"backbone_type": "resnet18", "use_aux": true},
   "csharp": {"encoder": "resnet18", "aux": true, "options": {}}, "input": [1, 3, 128, 256], "aux": true}
"ctor" goes to the reference constructor (num_class=19 is added); "csharp" is how the C# test builds the same
network through ModelZoo (its "name" overrides "model" as the zoo name); "aux": true also records the train-mode outputs (logits and auxiliary/detail outputs, on
the batch [x, x.flip(3)], plus the sum of all running means afterwards).

Networks of the other two projects name their source and how to build them:
  "source": "fast_seg" (lxtGH/Fast_Seg, --fastseg-ref) or "smp" (segmentation_models.pytorch, --smp-ref);
  "factory": "package.module:callable", called with "ctor" as keyword arguments (nothing is added to it);
  "classes": the class count the C# side builds with (default: ctor's num_class, else 19);
  "prelude": optional module under tools/ imported first (stand-ins for optional dependencies of the source);
  "adapter": optional module under tools/ with eval_output(model, x) -> logits and/or
             train_outputs(model, x) -> (logits, [extras]) where the source's forward returns something else
             (feature maps at 1/8, lists) than the zoo's logits at input resolution.

"dtype": "float64" makes the whole fixture in float64 (weights filled and input made in float64 after the float32
rounding of the input). Use it where float32 cannot be compared at all: under the deterministic weights, train-mode
batch norm over channels whose batch variance is far below eps (BNs on pooled maps, deep 1/32 stages) makes the
reference's own float32 and float64 outputs differ by 10-50 %, and DFANet's attention drives eval logits to 1e19+.
Shallow variants are stable in float64 (the reference agrees with itself to ~1e-9 under a 1e-13 input change);
deeper ones are not even there, so only stable variants get a float64 fixture.

Each fixture holds the reference state-dict layout (keys, shapes, dtypes, parameter count), and, with the weights set
by zoo_reference.deterministic_fill and the input by deterministic_input, summaries of the eval-mode logits and of the
train-mode outputs (statistics and 64 sampled values each).
"""
import argparse
import glob
import importlib
import json
import os
import sys

import torch

import zoo_reference as zr

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "FastSeg.Models.Tests", "Fixtures", "zoo")
DTYPES = {torch.float32: "float32", torch.int64: "int64", torch.float64: "float64"}


def forward_train(model, x, key):
    """The reference's training-mode forward: aux-capable models take is_training=True."""
    try:
        return model(x, is_training=True)
    except TypeError:
        return model(x)


def tool_module(name):
    """Imports a helper module that lives under tools/ (a prelude or an adapter)."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    return importlib.import_module(name)


def build_reference(refs, variant, ctor):
    """Constructs the reference network of a variant with the seed fixed."""
    source = variant.get("source", "zh320")
    root = refs.get(source)
    if root is None:
        raise SystemExit(f"{variant['id']}: its source '{source}' needs --{ {'zh320': 'ref', 'fast_seg': 'fastseg-ref', 'smp': 'smp-ref'}[source]}")
    if variant.get("prelude"):
        tool_module(variant["prelude"])
    torch.manual_seed(0)
    if source == "zh320":
        zr.load_reference(root)
        from models.model_registry import model_hub
        return model_hub[variant["model"]](**ctor)
    if root not in sys.path:
        sys.path.insert(0, root)
    module, name = variant["factory"].split(":")
    return getattr(importlib.import_module(module), name)(**ctor)


def make(refs, variant):
    # libtorch's single-threaded kernels round differently from its multi-threaded ones (2, 3, 4 threads agree);
    # the tests run with every core, so the fixtures are made with two threads.
    torch.set_num_threads(2)
    ctor = dict(variant.get("ctor", {}))
    if variant.get("source", "zh320") == "zh320":
        ctor.setdefault("num_class", 19)
    model = build_reference(refs, variant, ctor)
    adapter = tool_module(variant["adapter"]) if variant.get("adapter") else None
    state = model.state_dict()
    float64 = variant.get("dtype") == "float64"
    if float64:
        model = model.double()
    fixture = {
        "id": variant["id"],
        "dtype": "float64" if float64 else "float32",
        "model": variant["model"],
        "csharp": variant.get("csharp", {}),
        "ctor": ctor,
        "classes": variant.get("classes", ctor.get("num_class", 19)),
        "keys": list(state.keys()),
        "shapes": [list(t.shape) for t in state.values()],
        "dtypes": [DTYPES[t.dtype] for t in state.values()],
        "params": sum(p.numel() for p in model.parameters()),
        "input": variant.get("input", [1, 3, 128, 256]),
    }
    zr.deterministic_fill(model)
    x = zr.deterministic_input(fixture["input"])
    if float64:
        x = x.double()
    model.eval()
    with torch.no_grad():
        out = adapter.eval_output(model, x) if hasattr(adapter, "eval_output") else model(x)
    if isinstance(out, (tuple, list)):
        out = out[0]
    fixture["eval"] = zr.summary(out)
    if variant.get("aux"):
        model.train()
        torch.manual_seed(0)
        with torch.no_grad():
            batch = torch.cat([x, x.flip(3)])
            res = adapter.train_outputs(model, batch) if hasattr(adapter, "train_outputs") else forward_train(model, batch, variant["model"])
        main, extra = res if isinstance(res, (tuple, list)) else (res, ())
        extras = list(extra) if isinstance(extra, (tuple, list)) else [extra]
        fixture["train"] = {"logits": zr.summary(main), "extras": [zr.summary(e) for e in extras],
                            "running_mean_sum": sum(v.sum().item() for k, v in model.state_dict().items()
                                                    if k.endswith("running_mean"))}
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, variant["id"] + ".json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {path}: {fixture['params']:,} params, {len(fixture['keys'])} entries")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", help="checkout of zh320/realtime-semantic-segmentation-pytorch")
    parser.add_argument("--fastseg-ref", help="checkout of lxtGH/Fast_Seg")
    parser.add_argument("--smp-ref", help="checkout of qubvel/segmentation_models.pytorch")
    parser.add_argument("ids", nargs="*", help="variant ids to (re)make; all when omitted")
    args = parser.parse_args()
    variants = []
    for path in sorted(glob.glob(os.path.join(HERE, "zoo_variants", "*.json"))):
        with open(path) as f:
            variants.extend(json.load(f))
    refs = {source: os.path.abspath(path) for source, path in
            (("zh320", args.ref), ("fast_seg", args.fastseg_ref), ("smp", args.smp_ref)) if path}
    for v in variants:
        if not args.ids or v["id"] in args.ids:
            make(refs, v)


if __name__ == "__main__":
    main()
