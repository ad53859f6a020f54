using BenchmarkDotNet.Attributes;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// Pieces of the per-call cost measured in <see cref="TinyOpBenchmarks"/>, to see where the time of a tiny op goes:
/// the bare P/Invoke, the result-handle life cycle without the dispatcher, a dispose scope's own cost, and a scope
/// amortised over many ops.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 25)]
public class BridgeOverheadBenchmarks : TwoScalarTensors
{
    private const int OpsPerScope = 100;

    /// <summary>One P/Invoke that does almost nothing natively (at::get_num_threads): the floor of any call.</summary>
    [Benchmark]
    public int PInvoke_GetNumThreads() => get_num_threads();

    /// <summary>A new native handle and its C# wrapper, then Dispose: the result-wrapping cost of every op, without the dispatcher.</summary>
    [Benchmark]
    public void Alias_Disposed()
    {
        using var t = _a.alias();
    }

    /// <summary>Opening and closing an empty dispose scope.</summary>
    [Benchmark]
    public void DisposeScope_Empty()
    {
        using var scope = NewDisposeScope();
    }

    /// <summary><c>a + b</c> a hundred times inside one dispose scope (time per add).</summary>
    [Benchmark(OperationsPerInvoke = OpsPerScope)]
    public void Add_100PerDisposeScope()
    {
        using var scope = NewDisposeScope();
        for (int k = 0; k < OpsPerScope; k++) _ = _a + _b;
    }
}
