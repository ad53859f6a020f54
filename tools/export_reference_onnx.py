"""Exports the reference PyTorch code's zoo networks to ONNX, for the ONNX Runtime peer of the CPU benchmark
(benchmarks/run_ort_peer.sh). Benchmark material only: the files are not committed and CI never needs them.

Each network is built exactly as tools/bench_torch_models.py builds it (the default encoder and options of
tools/zoo_variants/<name>.json, seed 0, random initial weights: speed does not depend on them), put in eval mode and
exported with torch.onnx.export at 1x3xHxW (default 512x1024), input "input", output "output" (the first output
when the network returns several). The opsets are tried in order (default 13, then 11 and 16); the first that
exports wins. Beside the files, OUT/exports.json lists every network with "file" and "opset" where it exported and
"error" (the first line of the exception of the first opset tried) where it did not; OUT/exports.txt is the list of
exported names, one a line, for the driver script.

Run with Debian's interpreter (python3-torch 1.13):
  /usr/bin/python3 tools/export_reference_onnx.py OUT [--model NAME ...] [--size 1024x512] [--opsets 13,11,16]
"""
import argparse
import contextlib
import json
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch_models import NAMES, build  # noqa: E402

REF_ROOT = "/work/ref"
DEFAULT_REFS = {"zh320": "zh320+realtime-semantic-segmentation-pytorch", "fast_seg": "lxtGH+Fast_Seg",
                "smp": "qubvel+segmentation_models.pytorch"}


class FirstOutput(torch.nn.Module):
    """Keeps the first tensor of a network that returns a tuple or list (the main logits), so every file has one
    output named "output"."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        y = self.net(x)
        while isinstance(y, (tuple, list)):
            y = y[0]
        return y


def first_line(error):
    text = str(error).strip() or type(error).__name__
    line = text.splitlines()[0]
    return f"{type(error).__name__}: {line[:200] + ' ...' if len(line) > 200 else line}"


def export_one(refs, name, path, width, height, opsets):
    torch.manual_seed(0)
    with contextlib.redirect_stdout(sys.stderr):  # some reference constructors print
        model = FirstOutput(build(refs, name)).eval()
    x = torch.zeros(1, 3, height, width)
    first_error = None
    for opset in opsets:
        try:
            with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
                warnings.simplefilter("ignore")
                torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                                  output_names=["output"], do_constant_folding=True)
            return {"file": os.path.basename(path), "opset": opset}
        except Exception as e:  # every failure is recorded; the next opset may still work
            if os.path.exists(path):
                os.remove(path)
            if first_error is None:
                first_error = first_line(e)
    return {"error": first_error, "opsets_tried": opsets}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--model", action="append", help="zoo name (repeatable; default: every network)")
    p.add_argument("--size", default="1024x512", help="WxH")
    p.add_argument("--opsets", default="13,11,16")
    p.add_argument("--ref", default=os.path.join(REF_ROOT, DEFAULT_REFS["zh320"]))
    p.add_argument("--fastseg-ref", default=os.path.join(REF_ROOT, DEFAULT_REFS["fast_seg"]))
    p.add_argument("--smp-ref", default=os.path.join(REF_ROOT, DEFAULT_REFS["smp"]))
    a = p.parse_args()
    width, height = (int(v) for v in a.size.lower().split("x"))
    opsets = [int(v) for v in a.opsets.split(",")]
    refs = {k: os.path.abspath(v) for k, v in (("zh320", a.ref), ("fast_seg", a.fastseg_ref), ("smp", a.smp_ref))}
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(2)
    names = a.model or NAMES
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise SystemExit(f"unknown network(s) {unknown}; known: {' '.join(NAMES)}")
    listing = os.path.join(a.out, "exports.json")
    results = {}
    if os.path.exists(listing) and a.model:  # exporting some networks again keeps the others' entries
        with open(listing) as f:
            results = json.load(f)
    for name in names:
        start = time.perf_counter()
        path = os.path.join(a.out, name.replace("/", "-") + ".onnx")
        try:
            r = export_one(refs, name, path, width, height, opsets)
        except BaseException as e:  # a constructor that fails (or exits) is a failure of this network only
            if isinstance(e, KeyboardInterrupt):
                raise
            r = {"error": "build " + first_line(e)}
        r["seconds"] = round(time.perf_counter() - start, 1)
        results[name] = r
        print(f"{name}: {'opset ' + str(r['opset']) if 'file' in r else r['error']} ({r['seconds']} s)",
              file=sys.stderr, flush=True)
        with open(listing, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    with open(os.path.join(a.out, "exports.txt"), "w") as f:
        for name in sorted(results):
            if "file" in results[name]:
                f.write(name + "\n")
    ok = sum("file" in r for r in results.values())
    print(f"{ok} of {len(results)} exported; list in {listing}", file=sys.stderr)


if __name__ == "__main__":
    main()
