using System.Diagnostics;
using System.Runtime.InteropServices;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// A load-tolerant cross-check (<c>-- cputime [rounds]</c>) of the BenchmarkDotNet figures. Besides wall time it reads
/// CPU time, which does not grow while a thread waits for a core on an oversubscribed machine: the calling thread's
/// (CLOCK_THREAD_CPUTIME_ID) for the tiny ops, and also the whole process's (CLOCK_PROCESS_CPUTIME_ID, every intra-op
/// thread) for the convolutions. tools/bench_torch_ops.py --thread-cpu does the same in Python. Each sample is a batch
/// of calls divided by the batch size; the report is median, p10 and p90 over the samples, after warm-up batches.
/// Work done on other threads (the finalizer of an undisposed result) is not in the thread figure; the process figure of
/// a multi-threaded convolution includes OpenMP threads spinning at barriers, so it is exact only with one thread
/// (FASTSEG_BENCH_THREADS=1), where thread and process time agree.
/// </summary>
internal static partial class CpuTimeHarness
{
    private const int ClockProcessCpuTimeId = 2;
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    private static long CpuNanoseconds(int clock)
    {
        if (ClockGetTime(clock, out var t) != 0) throw new InvalidOperationException("clock_gettime failed");
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }

    /// <summary>CPU time of the whole process (every thread) so far, in nanoseconds.</summary>
    internal static long ProcessCpuNanoseconds() => CpuNanoseconds(ClockProcessCpuTimeId);

    public static int Run(int rounds)
    {
        BenchSettings.Apply();
        // The convolutions run first, in a fresh process: undisposed tiny-op results waiting for the finalizer grow the
        // native heap, and a grown heap can serve the convolution's 32 MiB buffers without new mmaps and page faults
        // (about a quarter of a float32 call's CPU time here), which would flatter the convolution figures.
        long[] padding = { 1, 1 };
        using var x = randn(1, 64, 256, 512);
        using var w = randn(64, 64, 3, 3).mul_(0.05);
        using var xCl = x.to(ScalarType.BFloat16, memory_format: channels_last);
        using var wCl = w.to(ScalarType.BFloat16, memory_format: channels_last);
        var conv = new (string Name, Action Body)[]
        {
            ("Conv3x3_F32_NCHW", () => { using var g = no_grad(); using var y = nn.functional.conv2d(x, w, padding: padding); }),
            ("Conv3x3_BF16_ChannelsLast", () => { using var g = no_grad(); using var y = nn.functional.conv2d(xCl, wCl, padding: padding); }),
        };
        Console.WriteLine("convolutions, per call: 15 single-call samples after 3 warm-up calls (ms)");
        foreach (var (name, body) in conv)
            for (int r = 1; r <= rounds; r++)
                Measure($"{name} (round {r})", body, batch: 1, samples: 15, warmupBatches: 3, scale: 1e-6, processCpu: true);

        using var a = tensor(new[] { 1.5f });
        using var b = tensor(new[] { 2.25f });
        var tiny = new (string Name, Action Body)[]
        {
            ("Add_Undisposed", () => _ = a + b),
            ("Add_Disposed", () => { using var c = a + b; }),
            ("Add_InDisposeScope", () => { using var s = NewDisposeScope(); _ = a + b; }),
            ("Add_InPlace", () => a.add_(b)),
        };
        Console.WriteLine("tiny ops, per call: 50 samples of 10000 calls after 5 warm-up batches (us)");
        foreach (var (name, body) in tiny)
        {
            for (int r = 1; r <= rounds; r++)
                Measure($"{name} (round {r})", body, batch: 10_000, samples: 50, warmupBatches: 5, scale: 1e-3);
            // Let the finalizer free the undisposed results before the next case is timed.
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return 0;
    }

    // scale converts nanoseconds to the printed unit.
    private static void Measure(string name, Action body, int batch, int samples, int warmupBatches, double scale,
        bool processCpu = false)
    {
        for (int i = 0; i < warmupBatches; i++)
            for (int k = 0; k < batch; k++) body();
        var wall = new double[samples];
        var thread = new double[samples];
        var process = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long p0 = CpuNanoseconds(ClockProcessCpuTimeId);
            long c0 = CpuNanoseconds(ClockThreadCpuTimeId);
            long t0 = Stopwatch.GetTimestamp();
            for (int k = 0; k < batch; k++) body();
            long t1 = Stopwatch.GetTimestamp();
            long c1 = CpuNanoseconds(ClockThreadCpuTimeId);
            long p1 = CpuNanoseconds(ClockProcessCpuTimeId);
            wall[s] = (t1 - t0) * (1e9 / Stopwatch.Frequency) * scale / batch;
            thread[s] = (c1 - c0) * scale / batch;
            process[s] = (p1 - p0) * scale / batch;
        }
        string line = $"{name,-36} wall {Format(wall)} | thread-cpu {Format(thread)}";
        if (processCpu) line += $" | process-cpu {Format(process)}";
        Console.WriteLine(line);
    }

    private static string Format(double[] values)
    {
        Array.Sort(values);
        return $"median {Percentile(values, 50),8:F3} p10 {Percentile(values, 10),8:F3} p90 {Percentile(values, 90),8:F3}";
    }

    // Linear interpolation between the closest ranks (the same rule as the Python script).
    private static double Percentile(double[] sorted, double q)
    {
        double pos = (sorted.Length - 1) * q / 100.0;
        int lo = (int)pos;
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}
