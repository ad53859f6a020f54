using BenchmarkDotNet.Attributes;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>The two one-element float32 operands the per-call overhead benchmarks add.</summary>
public abstract class TwoScalarTensors
{
    /// <summary>First operand (1.5).</summary>
    protected Tensor _a = null!;

    /// <summary>Second operand (2.25).</summary>
    protected Tensor _b = null!;

    [GlobalSetup]
    public void Setup()
    {
        BenchSettings.Apply();
        _a = tensor(new[] { 1.5f });
        _b = tensor(new[] { 2.25f });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
