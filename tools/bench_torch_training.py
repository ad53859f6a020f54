"""PyTorch 1.13 eager counterpart of `FastSeg.Benchmarks -- train`: training throughput (images/s) of the reference
networks (zh320/realtime-semantic-segmentation-pytorch) on CPU.

One step = optimizer.zero_grad(set_to_none=True), forward in training mode, pixel-wise cross-entropy (mean, ignore
255), backward, SGD step (lr 0.01, momentum 0.9, weight decay 1e-4). The batch is fixed: randn images and uniform
random labels (19 classes), drawn once with seed 0. --warmup untimed steps, then --steps timed steps (each timed
alone); per step it records wall time (perf_counter) and the process's CPU time (time.process_time: every thread,
so on a loaded machine it grows less than wall time, but OpenMP threads spinning at barriers count too). Reported:
median and best step, images/s = batch / median wall seconds. bf16-autocast = fp32 weights, forward and loss under
torch.autocast('cpu', bfloat16). Each network is built with its default options (the first entry of
tools/zoo_variants/<name>.json, no auxiliary heads).

Run with Debian's interpreter:
  /usr/bin/python3 tools/bench_torch_training.py --ref /work/ref/zh320 --model fastscnn --threads 2 --json
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_reference import load_reference  # noqa: E402
from bench_torch_models import build  # noqa: E402


def measure(model, batch, width, height, dtype, warmup, steps):
    torch.manual_seed(0)
    x = torch.randn(batch, 3, height, width)
    y = torch.randint(0, 19, (batch, height, width))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16-autocast"):
            out = model(x)
            loss = F.cross_entropy(out, y, ignore_index=255)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    wall, cpu, losses = [], [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        losses.append(step())
        t1, c1 = time.perf_counter(), time.process_time()
        wall.append(t1 - t0)
        cpu.append(c1 - c0)
    return wall, cpu, losses


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ref", default="/work/ref/zh320")
    p.add_argument("--model", required=True)
    p.add_argument("--size", default="1024x512", help="WxH")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--dtype", choices=["fp32", "bf16-autocast"], default="fp32")
    p.add_argument("--threads", type=int)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    width, height = (int(v) for v in a.size.lower().split("x"))
    if a.threads:
        torch.set_num_threads(a.threads)
    models = load_reference(a.ref)
    torch.manual_seed(0)
    model = build(models, a.model)
    wall, cpu, losses = measure(model, a.batch, width, height, a.dtype, a.warmup, a.steps)
    med_wall, med_cpu = statistics.median(wall), statistics.median(cpu)
    r = {"engine": "pytorch " + torch.__version__, "model": a.model, "size": f"{width}x{height}", "batch": a.batch,
         "dtype": a.dtype, "threads": torch.get_num_threads(), "steps": a.steps, "warmup": a.warmup,
         "median_step_s": round(med_wall, 4), "best_step_s": round(min(wall), 4), "median_cpu_s": round(med_cpu, 4),
         "images_per_s": round(a.batch / med_wall, 4), "images_per_cpu_s": round(a.batch / med_cpu, 4),
         "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
         "load": open("/proc/loadavg").read().split()[0]}
    if a.json:
        print(json.dumps(r))
    else:
        print(f"{a.model} {a.dtype} {width}x{height} batch {a.batch}, {r['threads']} threads: "
              f"{r['images_per_s']:.3f} img/s (median step {med_wall:.3f} s, best {min(wall):.3f} s, "
              f"CPU {med_cpu:.3f} s/step), loss {losses[0]:.4f} -> {losses[-1]:.4f}, load {r['load']}")


if __name__ == "__main__":
    main()
