"""Writes tests/FastSeg.Models.Tests/Fixtures/zoo-f64/<id>.json for the variants in tools/zoo_variants/*.json that
carry "train_f64": true.

Usage: /usr/bin/python3 tools/make_zoo_f64_fixtures.py --ref /path/to/realtime-semantic-segmentation-pytorch [ids...]

Why: with the deterministic weights of zoo_reference.deterministic_fill, a deep network in training mode (batch
statistics) is numerically chaotic in float32 — the reference's own float32 and float64 train-mode outputs differ by
tens of percent for ICNet — so a float32 train-mode comparison cannot be held to 1e-4. In float64 the same comparison
is well inside 1e-9 for a ResNet-18 backbone. These fixtures hold the float64 eval logits, train-mode logits and
auxiliary outputs (same summaries as make_zoo_fixtures.py) and the sum of all running means after one train-mode pass
(which checks how many times each batch norm saw a batch).
"""
import argparse
import glob
import json
import os

import torch

import zoo_reference as zr

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "FastSeg.Models.Tests", "Fixtures", "zoo-f64")


def make(ref, variant):
    zr.load_reference(ref)
    from models.model_registry import model_hub
    ctor = dict(variant.get("ctor", {}))
    ctor.setdefault("num_class", 19)
    torch.manual_seed(0)
    model = model_hub[variant["model"]](**ctor).double()
    zr.deterministic_fill(model)
    shape = variant.get("input", [1, 3, 128, 256])
    x = zr.deterministic_input(shape).double()
    fixture = {"id": variant["id"], "model": variant["model"], "csharp": variant.get("csharp", {}), "ctor": ctor,
               "input": shape}
    model.eval()
    with torch.no_grad():
        fixture["eval"] = zr.summary(model(x))
        model.train()
        main, extra = model(torch.cat([x, x.flip(3)]), is_training=True)
    fixture["train"] = {"logits": zr.summary(main), "extras": [zr.summary(e) for e in extra]}
    fixture["running_mean_sum"] = sum(v.sum().item() for k, v in model.state_dict().items() if k.endswith("running_mean"))
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, variant["id"] + ".json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True, help="checkout of zh320/realtime-semantic-segmentation-pytorch")
    parser.add_argument("ids", nargs="*", help="variant ids to (re)make; all flagged ones when omitted")
    args = parser.parse_args()
    for path in sorted(glob.glob(os.path.join(HERE, "zoo_variants", "*.json"))):
        with open(path) as f:
            for v in json.load(f):
                if v.get("train_f64") and (not args.ids or v["id"] in args.ids):
                    make(os.path.abspath(args.ref), v)


if __name__ == "__main__":
    main()
