#!/usr/bin/python3
"""PyTorch reference figures for benchmarks/FastSeg.Benchmarks: the same operations, shapes and thread count.

Run with Debian's interpreter (the one that has python3-torch):

    /usr/bin/python3 tools/bench_torch_ops.py [--threads N] [--only tiny|conv] [--rounds R] [--thread-cpu]

Measurements, convolutions first (each reported as median, p10 and p90 over many samples, after warm-up):
  tiny  a + b of two one-element float32 tensors, plus the in-place a.add_(b). A sample is the mean over a batch of
        calls (the result of each call is dropped at once, which in CPython frees it, like FastSeg's disposed variant).
  conv  a 3x3 convolution 64 -> 64 channels, padding 1, no bias, on a 1x64x256x512 input under torch.no_grad():
        float32 contiguous NCHW, and bfloat16 with channels-last input and weight. A sample is one call.

--thread-cpu also reports CPU time, which does not grow while a thread waits for a core on an oversubscribed machine:
the calling thread's (time.thread_time_ns) for every measurement, and the whole process's (time.process_time_ns, every
intra-op thread) for the convolutions; with more than one thread the latter includes OpenMP threads spinning at
barriers, so it is exact only with --threads 1. FastSeg's counterpart is `dotnet run ... -- cputime`.
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
    print(f"{name:<48} median {med * scale:10.3f} {unit}   p10 {p10 * scale:10.3f} {unit}   "
          f"p90 {p90 * scale:10.3f} {unit}   min {s[0] * scale:10.3f} {unit}   (n={len(s)})", flush=True)
    return med


def time_batches(fn, batch, samples, warmup_batches, thread_cpu=False):
    """Per-call times in seconds: each sample is one batch of `batch` calls divided by `batch`.

    Returns wall-clock samples, or (wall, thread-CPU, process-CPU) sample lists when thread_cpu is set."""
    for _ in range(warmup_batches):
        for _ in range(batch):
            fn()
    wall, cpu, proc = [], [], []
    perf, thread_ns, process_ns = time.perf_counter, time.thread_time_ns, time.process_time_ns
    for _ in range(samples):
        p0 = process_ns()
        c0 = thread_ns()
        t0 = perf()
        for _ in range(batch):
            fn()
        t1 = perf()
        c1 = thread_ns()
        p1 = process_ns()
        wall.append((t1 - t0) / batch)
        cpu.append((c1 - c0) * 1e-9 / batch)
        proc.append((p1 - p0) * 1e-9 / batch)
    return (wall, cpu, proc) if thread_cpu else wall


def bench_tiny(rounds, thread_cpu):
    a = torch.tensor([1.5], dtype=torch.float32)
    b = torch.tensor([2.25], dtype=torch.float32)

    def add():
        a + b  # the result is freed as soon as the expression's value is dropped

    def add_inplace():
        a.add_(b)

    print("-- tiny op: a + b on two 1-element float32 tensors (per call)")
    for name, fn in (("add", add), ("add_ in place", add_inplace)):
        for r in range(rounds):
            result = time_batches(fn, batch=10_000, samples=50, warmup_batches=5, thread_cpu=thread_cpu)
            if thread_cpu:
                summarise(f"{name} (round {r + 1}) wall", result[0], "us", 1e6)
                summarise(f"{name} (round {r + 1}) thread-cpu", result[1], "us", 1e6)
            else:
                summarise(f"{name} (round {r + 1})", result, "us", 1e6)


def bench_conv(rounds, thread_cpu):
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
            result = time_batches(fn, batch=1, samples=20, warmup_batches=3, thread_cpu=thread_cpu)
            if thread_cpu:
                summarise(f"{name} (round {r + 1}) wall", result[0], "ms", 1e3)
                summarise(f"{name} (round {r + 1}) thread-cpu", result[1], "ms", 1e3)
                summarise(f"{name} (round {r + 1}) process-cpu", result[2], "ms", 1e3)
            else:
                summarise(f"{name} (round {r + 1})", result, "ms", 1e3)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FASTSEG_BENCH_THREADS", os.cpu_count())),
                        help="intra-op threads (default: FASTSEG_BENCH_THREADS, else every core)")
    parser.add_argument("--only", choices=("tiny", "conv"), help="run one group only")
    parser.add_argument("--rounds", type=int, default=3, help="repeat each measurement this many times")
    parser.add_argument("--thread-cpu", action="store_true",
                        help="also report thread (and, for the convolutions, process) CPU time")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), "
          f"oneDNN (mkldnn) available: {torch.backends.mkldnn.is_available()}"
          + (f", GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}" if os.environ.get("GLIBC_TUNABLES") else ""), flush=True)
    if args.only in (None, "conv"):
        bench_conv(args.rounds, args.thread_cpu)
    if args.only in (None, "tiny"):
        bench_tiny(args.rounds, args.thread_cpu)


if __name__ == "__main__":
    main()
