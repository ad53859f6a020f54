#!/usr/bin/python3
"""PyTorch reference figures for benchmarks/FastSeg.Benchmarks: the same operations, shapes and thread count.

Run with Debian's interpreter (the one that has python3-torch):

    /usr/bin/python3 tools/bench_torch_ops.py [--threads N] [--only tiny|conv] [--rounds R]

Measurements (each reported as median, p10 and p90 over many samples, after warm-up):
  tiny  a + b of two one-element float32 tensors, plus the in-place a.add_(b). A sample is the mean over a batch of
        calls (the result of each call is dropped at once, which in CPython frees it, like FastSeg's disposed variant).
  conv  a 3x3 convolution 64 -> 64 channels, padding 1, no bias, on a 1x64x256x512 input under torch.no_grad():
        float32 contiguous NCHW, and bfloat16 with channels-last input and weight. A sample is one call.
"""

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F


def percentile(sorted_values, q):
    """Linear-interpolation percentile (q in 0..100) of an already sorted list."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarise(name, samples_s, unit, scale):
    s = sorted(samples_s)
    med, p10, p90 = statistics.median(s), percentile(s, 10), percentile(s, 90)
    print(f"{name:<28} median {med * scale:10.3f} {unit}   p10 {p10 * scale:10.3f} {unit}   "
          f"p90 {p90 * scale:10.3f} {unit}   min {s[0] * scale:10.3f} {unit}   (n={len(s)})", flush=True)
    return med


def time_batches(fn, batch, samples, warmup_batches):
    """Per-call times: each sample is one batch of `batch` calls divided by `batch`."""
    for _ in range(warmup_batches):
        for _ in range(batch):
            fn()
    out = []
    perf = time.perf_counter
    for _ in range(samples):
        t0 = perf()
        for _ in range(batch):
            fn()
        out.append((perf() - t0) / batch)
    return out


def bench_tiny(rounds):
    a = torch.tensor([1.5], dtype=torch.float32)
    b = torch.tensor([2.25], dtype=torch.float32)

    def add():
        a + b  # the result is freed as soon as the expression's value is dropped

    def add_inplace():
        a.add_(b)

    print("-- tiny op: a + b on two 1-element float32 tensors (per call)")
    for r in range(rounds):
        summarise(f"add (round {r + 1})", time_batches(add, batch=10_000, samples=50, warmup_batches=5), "us", 1e6)
    for r in range(rounds):
        summarise(f"add_ in place (round {r + 1})", time_batches(add_inplace, batch=10_000, samples=50,
                                                                 warmup_batches=5), "us", 1e6)


def bench_conv(rounds):
    torch.manual_seed(0)
    x = torch.randn(1, 64, 256, 512)
    w = torch.randn(64, 64, 3, 3) * 0.05
    x_cl = x.to(torch.bfloat16, memory_format=torch.channels_last)
    w_cl = w.to(torch.bfloat16, memory_format=torch.channels_last)
    assert x_cl.is_contiguous(memory_format=torch.channels_last)
    assert w_cl.is_contiguous(memory_format=torch.channels_last)

    def conv_f32():
        with torch.no_grad():
            F.conv2d(x, w, None, 1, 1)

    def conv_bf16():
        with torch.no_grad():
            F.conv2d(x_cl, w_cl, None, 1, 1)

    print("-- conv 3x3 64->64, padding 1, input 1x64x256x512, no_grad (per call)")
    for name, fn in (("conv f32 NCHW", conv_f32), ("conv bf16 channels-last", conv_bf16)):
        for r in range(rounds):
            summarise(f"{name} (round {r + 1})", time_batches(fn, batch=1, samples=20, warmup_batches=3), "ms", 1e3)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FASTSEG_BENCH_THREADS", os.cpu_count())),
                        help="intra-op threads (default: FASTSEG_BENCH_THREADS, else every core)")
    parser.add_argument("--only", choices=("tiny", "conv"), help="run one group only")
    parser.add_argument("--rounds", type=int, default=3, help="repeat each measurement this many times")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), "
          f"oneDNN (mkldnn) available: {torch.backends.mkldnn.is_available()}", flush=True)
    if args.only in (None, "tiny"):
        bench_tiny(args.rounds)
    if args.only in (None, "conv"):
        bench_conv(args.rounds)


if __name__ == "__main__":
    main()
