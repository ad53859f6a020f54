using FastSeg.Torch;

namespace FastSeg.Benchmarks;

/// <summary>Settings shared by every benchmark, read from the environment so that BenchmarkDotNet's child processes see them.</summary>
public static class BenchSettings
{
    /// <summary>Intra-op threads: FASTSEG_BENCH_THREADS, or every core (FastSeg's and PyTorch's default on this machine).</summary>
    public static int Threads =>
        int.TryParse(Environment.GetEnvironmentVariable("FASTSEG_BENCH_THREADS"), out var n) && n > 0
            ? n
            : Environment.ProcessorCount;

    /// <summary>Sets the thread count and the random seed; call from every [GlobalSetup].</summary>
    public static void Apply()
    {
        torch.set_num_threads(Threads);
        torch.manual_seed(0);
        var tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES");
        Console.WriteLine($"// FastSeg bench: libtorch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s)" +
                          (string.IsNullOrEmpty(tunables) ? "" : $", GLIBC_TUNABLES={tunables}"));
    }
}
