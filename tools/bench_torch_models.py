"""PyTorch 1.13 eager counterpart of `fastseg bench`: latency and FPS of the reference networks
(zh320/realtime-semantic-segmentation-pytorch) on CPU.

Same rule as the C# command: eval mode, inference_mode, a batch of zeros; --warmup untimed forwards, then timed
forwards until at least --min-seconds have passed (at least 3 runs); latency = elapsed / runs,
FPS = batch * 1000 / latency_ms; median_ms = the median of the timed forwards (what benchmarks/run_ort_peer.sh uses).
bf16 = model and input converted to bfloat16 (model.to(torch.bfloat16)), as in
`fastseg bench --dtype bf16`; bf16-autocast = fp32 model and input under torch.autocast('cpu', bfloat16). Each network is built with its default encoder: the constructor arguments of the
first entry of tools/zoo_variants/<name>.json (a zoo name "fast_seg/icnet" reads fast_seg-icnet.json) with the C#
side's default options and, with --encoder, that encoder (SMP entries take it as encoder_name). Networks of Fast_Seg
and SMP are built as tools/make_zoo_fixtures.py builds them (--fastseg-ref, --smp-ref).

Run with Debian's interpreter:
  /usr/bin/python3 tools/bench_torch_models.py --ref /work/ref/zh320 --all --threads 2 --json
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_zoo_fixtures import build_reference  # noqa: E402

VARIANTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo_variants")
NAMES = sorted(f[:-5].replace("-", "/", 1) if f.startswith(("fast_seg-", "smp-")) else f[:-5]
               for f in os.listdir(VARIANTS) if f.endswith(".json"))


def build(refs, name, encoder=None):
    with open(os.path.join(VARIANTS, name.replace("/", "-") + ".json")) as f:
        variants = json.load(f)
    # the first fixture with the C# side's default options and no heads (fastseg bench builds each network so)
    # (a float64 fixture's constructor is as good: the benchmark runs the network in float32)
    plain = [v for v in variants if not v.get("csharp", {}).get("options") and not v.get("csharp", {}).get("aux")]
    # an entry that names no encoder is the network's default one
    chosen = next((v for v in plain if encoder is None or v.get("csharp", {}).get("encoder", encoder) == encoder), None)
    if chosen is None and plain and "encoder_name" in plain[0].get("ctor", {}):
        chosen = dict(plain[0], ctor=dict(plain[0]["ctor"], encoder_name=encoder))
    if chosen is None:
        raise SystemExit(f"{name}: no variant in tools/zoo_variants with encoder {encoder} and default options")
    ctor = dict(chosen.get("ctor", {}))
    if chosen.get("source", "zh320") == "zh320":
        ctor["num_class"] = 19
    return build_reference(refs, chosen, ctor)


def measure(model, batch, width, height, dtype, channels_last, warmup, min_seconds):
    model.eval()
    if dtype == "bf16":
        model.to(torch.bfloat16)
    x = torch.zeros(batch, 3, height, width, dtype=torch.bfloat16 if dtype == "bf16" else torch.float32)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    mixed = torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16-autocast")
    with torch.inference_mode(), mixed:
        for _ in range(warmup):
            model(x)
        runs = []
        start = time.perf_counter()
        while len(runs) < 3 or time.perf_counter() - start < min_seconds:
            t = time.perf_counter()
            model(x)
            runs.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
    ms = elapsed * 1000 / len(runs)
    return ms, batch * 1000 / ms, statistics.median(runs) * 1000, len(runs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ref", default="/work/ref/zh320")
    p.add_argument("--fastseg-ref", help="checkout of lxtGH/Fast_Seg (for fast_seg/ networks)")
    p.add_argument("--smp-ref", help="checkout of segmentation_models.pytorch (for smp/ networks)")
    p.add_argument("--encoder", help="encoder or variant (default: the network's default)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model")
    g.add_argument("--all", action="store_true")
    p.add_argument("--size", default="1024x512")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--dtype", choices=["fp32", "bf16", "bf16-autocast"], default="fp32")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--threads", type=int)
    p.add_argument("--min-seconds", type=float, default=3)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    width, height = (int(v) for v in a.size.lower().split("x"))
    if a.threads:
        torch.set_num_threads(a.threads)
    refs = {k: os.path.abspath(v) for k, v in (("zh320", a.ref), ("fast_seg", a.fastseg_ref), ("smp", a.smp_ref)) if v}
    names = NAMES if a.all else [a.model]
    results = []
    for name in names:
        torch.manual_seed(0)
        with contextlib.redirect_stdout(sys.stderr):  # Fast_Seg's SwiftNet prints while it is built
            model = build(refs, name, a.encoder)
        params = sum(t.numel() for t in model.parameters())
        ms, fps, median_ms, runs = measure(model, a.batch, width, height, a.dtype, a.channels_last, a.warmup,
                                           a.min_seconds)
        r = {"model": name, "size": f"{width}x{height}", "batch": a.batch, "dtype": a.dtype,
             "threads": torch.get_num_threads(), "ms": round(ms, 4), "fps": round(fps, 4),
             "median_ms": round(median_ms, 4), "runs": runs, "params": params}
        results.append(r)
        print(f"  {name}: {fps:.2f} FPS", file=sys.stderr, flush=True)
        del model
    if a.json:
        print(json.dumps(results if a.all else results[0], indent=2))
    else:
        for r in sorted(results, key=lambda r: -r["fps"]):
            print(f"{r['model']:<12} {r['params']:>12,} {r['ms']:>10.2f} {r['fps']:>8.2f}")


if __name__ == "__main__":
    main()
