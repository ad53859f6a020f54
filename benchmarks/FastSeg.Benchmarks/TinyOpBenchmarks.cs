using BenchmarkDotNet.Attributes;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// Per-call overhead: <c>a + b</c> on two one-element float32 tensors, where the arithmetic itself is negligible and
/// the time is the managed wrapper, the boxed call through the ATen dispatcher and the result handle. Variants differ
/// only in how the result is released.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 25)]
public class TinyOpBenchmarks : TwoScalarTensors
{

    /// <summary>The result is left to the garbage collector (its finalizer frees the native tensor).</summary>
    [Benchmark(Baseline = true)]
    public Tensor Add_Undisposed() => _a + _b;

    /// <summary>The result is disposed straight away.</summary>
    [Benchmark]
    public void Add_Disposed()
    {
        using var c = _a + _b;
    }

    /// <summary>A dispose scope is opened per call and frees the result when it closes.</summary>
    [Benchmark]
    public void Add_InDisposeScope()
    {
        using var scope = NewDisposeScope();
        _ = _a + _b;
    }

    /// <summary>In place (<c>a.add_(b)</c>): no result tensor reaches C#, so this is the call without the wrapper's allocations.</summary>
    [Benchmark]
    public Tensor Add_InPlace() => _a.add_(_b);
}
