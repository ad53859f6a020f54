"""Writes tests/FastSeg.Models.Tests/Fixtures/zoo-train64/<id>.json: train-mode outputs computed in float64.

Usage: /usr/bin/python3 tools/make_zoo_train64_fixtures.py --ref /path/to/realtime-semantic-segmentation-pytorch [ids...]

Why: in training mode batch norm normalises with the statistics of the batch, and with the deterministic weights
of zoo_reference.py some channels (notably the BNs on globally pooled, broadcast maps in BiSeNet-style attention
modules, and deep stages at 1/32 with a batch of 2) have a variance far below eps. Their outputs are then dominated
by float32 rounding: the reference itself gives float32 and float64 train-mode logits that differ by 10-50 %
(relative), so no float32 implementation can be compared with it at 1e-4. In float64 the shallower variants are
stable (the reference agrees with itself to ~1e-9 under a 1e-13 input perturbation); deeper ones (stdc2, resnet50,
ppliteseg stdc2) are not even in float64 (2e-5 to 5e-4 under the same perturbation), so mark only variants that
are stable with "train64": true.

For each variant with "aux": true or "train64": true in tools/zoo_variants/*.json (optionally only the given ids), the model is built
as make_zoo_fixtures.py builds it, converted to float64, filled with zoo_reference.deterministic_fill (in float64),
and run in train mode (is_training=True where the model takes it) on the batch [x, x.flip(3)] in float64, where x is
zoo_reference.deterministic_input of the variant's "train64_input" shape (else its "input"). The fixture stores summaries of the main logits and of the extra outputs.
"""
import argparse
import glob
import json
import os

import torch

import zoo_reference as zr

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "FastSeg.Models.Tests", "Fixtures", "zoo-train64")


def make(ref, variant):
    zr.load_reference(ref)
    from models.model_registry import model_hub
    ctor = dict(variant.get("ctor", {}))
    ctor.setdefault("num_class", 19)
    torch.manual_seed(0)
    model = model_hub[variant["model"]](**ctor).double()
    zr.deterministic_fill(model)
    shape = variant.get("train64_input", variant.get("input", [1, 3, 128, 256]))
    x = zr.deterministic_input(shape).double()
    model.train()
    with torch.no_grad():
        batch = torch.cat([x, x.flip(3)])
        try:
            res = model(batch, is_training=True)
        except TypeError:
            res = model(batch)
    main, extra = res if isinstance(res, (tuple, list)) else (res, ())
    extras = list(extra) if isinstance(extra, (tuple, list)) else [extra]
    fixture = {
        "id": variant["id"],
        "model": variant["model"],
        "csharp": variant.get("csharp", {}),
        "ctor": ctor,
        "input": shape,
        "dtype": "float64",
        "train": {"logits": zr.summary(main), "extras": [zr.summary(e) for e in extras]},
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, variant["id"] + ".json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {path}: {1 + len(extras)} outputs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True, help="checkout of zh320/realtime-semantic-segmentation-pytorch")
    parser.add_argument("ids", nargs="*", help="variant ids to (re)make; all aux/train64 variants when omitted")
    args = parser.parse_args()
    variants = []
    for path in sorted(glob.glob(os.path.join(HERE, "zoo_variants", "*.json"))):
        with open(path) as f:
            variants.extend(json.load(f))
    for v in variants:
        if (v.get("aux") or v.get("train64")) and (not args.ids or v["id"] in args.ids):
            make(os.path.abspath(args.ref), v)


if __name__ == "__main__":
    main()
