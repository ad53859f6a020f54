using FastSeg.Torch.Interop;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

public class TensorBasicsTests
{
    [Fact]
    public void CreatesFromArraysAndExportsTheSameValues()
    {
        var values = new float[] { 1, 2, 3, 4, 5, 6 };
        using var t = tensor(values, new long[] { 2, 3 });
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(values, t.ToArray<float>());
        Assert.Equal("[2x3], type = Float32, device = cpu", t.ToString());
        using var s = tensor(7L);
        Assert.Empty(s.shape);
        Assert.Equal(7L, s.item<long>());
        Assert.Equal(7.0, s.item<double>());
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    public void ConvertsBetweenEveryListedDtype(ScalarType type)
    {
        using var t = tensor(new float[] { 0, 1, 2, 3 });
        using var converted = t.to(type);
        Assert.Equal(type, converted.dtype);
        using var back = converted.to(ScalarType.Float32);
        var expected = type == ScalarType.Bool ? new float[] { 0, 1, 1, 1 } : new float[] { 0, 1, 2, 3 };
        Assert.Equal(expected, back.ToArray<float>());
    }

    [Fact]
    public void HalfArraysRoundTrip()
    {
        var values = new[] { (Half)0.5f, (Half)(-2f), (Half)1024f };
        using var t = tensor(values);
        Assert.Equal(ScalarType.Float16, t.dtype);
        Assert.Equal(values, t.ToArray<Half>());
    }

    [Fact]
    public void ScalarArithmeticKeepsPyTorchTypePromotion()
    {
        using var ints = tensor(new long[] { 1, 2, 3 });
        using var plusInt = ints + 1;
        using var plusDouble = ints + 1.5;
        Assert.Equal(ScalarType.Int64, plusInt.dtype);
        Assert.Equal(new long[] { 2, 3, 4 }, plusInt.ToArray<long>());
        Assert.Equal(ScalarType.Float32, plusDouble.dtype);
        Assert.Equal(new float[] { 2.5f, 3.5f, 4.5f }, plusDouble.ToArray<float>());
    }

    [Fact]
    public void UsingADisposedTensorThrowsObjectDisposed()
    {
        var t = ones(2, 2);
        t.Dispose();
        Assert.True(t.IsInvalid);
        Assert.Throws<ObjectDisposedException>(() => t.sum());
        t.Dispose(); // a second dispose is harmless
    }

    [Fact]
    public void ManualSeedMakesRandomNumbersRepeatable()
    {
        manual_seed(123);
        using var a = randn(5);
        manual_seed(123);
        using var b = randn(5);
        using var c = randn(5);
        Assert.Equal(a.ToArray<float>(), b.ToArray<float>());
        Assert.NotEqual(a.ToArray<float>(), c.ToArray<float>());
    }

    [Fact]
    public void ChannelsLastChangesStridesNotValues()
    {
        using var x = arange(0, 24, dtype: ScalarType.Float32);
        using var nchw = x.reshape(1, 2, 3, 4);
        using var nhwc = nchw.contiguous(MemoryFormat.ChannelsLast);
        Assert.Equal(new long[] { 24, 1, 8, 2 }, nhwc.stride());
        Assert.True(nhwc.is_contiguous(MemoryFormat.ChannelsLast));
        Assert.False(nhwc.is_contiguous());
        Assert.Equal(nchw.ToArray<float>(), nhwc.ToArray<float>());
    }

    [Fact]
    public void CudaIsReportedUnavailableOnACpuBuild()
    {
        if (cuda.is_available()) return; // a CUDA libtorch: nothing to check here
        Assert.Equal(0, cuda.device_count());
        using var t = ones(1);
        Assert.Throws<TorchException>(() => t.to(CUDA));
    }

    [Fact]
    public void ThreadCountCanBeSetAndRead()
    {
        int before = get_num_threads();
        try
        {
            set_num_threads(1);
            Assert.Equal(1, get_num_threads());
            Assert.Throws<TorchException>(() => set_num_threads(0));
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Fact]
    public void EveryOperatorTheApiUsesExistsInThisLibtorch()
    {
        var ops = typeof(Aten).GetFields().Select(f => (AtenOp)f.GetValue(null)!).ToList();
        Assert.True(ops.Count > 150);
        var missing = new List<string>();
        foreach (var op in ops)
        {
            try { _ = op.Handle; }
            catch (TorchException) { missing.Add(op.FullName); }
        }
        Assert.Empty(missing);
    }
}
