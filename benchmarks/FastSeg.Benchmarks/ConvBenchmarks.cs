using BenchmarkDotNet.Attributes;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// A forward-only 3×3 convolution, 64 → 64 channels, stride 1, padding 1, no bias, on a 1×64×256×512 input: once in
/// float32 with contiguous NCHW tensors and once in bfloat16 with channels-last input and weight. Each call runs under
/// <c>no_grad</c> and disposes its output, as an inference loop would.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class ConvBenchmarks
{
    private static readonly long[] Padding = { 1, 1 };

    private Tensor _xF32 = null!;
    private Tensor _wF32 = null!;
    private Tensor _xBf16Cl = null!;
    private Tensor _wBf16Cl = null!;

    [GlobalSetup]
    public void Setup()
    {
        BenchSettings.Apply();
        _xF32 = randn(1, 64, 256, 512);
        _wF32 = randn(64, 64, 3, 3).mul_(0.05);
        _xBf16Cl = _xF32.to(ScalarType.BFloat16, memory_format: channels_last);
        _wBf16Cl = _wF32.to(ScalarType.BFloat16, memory_format: channels_last);
        if (!_xBf16Cl.is_contiguous(channels_last) || !_wBf16Cl.is_contiguous(channels_last))
            throw new InvalidOperationException("the bfloat16 tensors are not channels-last");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _xF32.Dispose();
        _wF32.Dispose();
        _xBf16Cl.Dispose();
        _wBf16Cl.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Conv3x3_F32_NCHW()
    {
        using var noGrad = no_grad();
        using var y = nn.functional.conv2d(_xF32, _wF32, padding: Padding);
    }

    [Benchmark]
    public void Conv3x3_BF16_ChannelsLast()
    {
        using var noGrad = no_grad();
        using var y = nn.functional.conv2d(_xBf16Cl, _wBf16Cl, padding: Padding);
    }
}
