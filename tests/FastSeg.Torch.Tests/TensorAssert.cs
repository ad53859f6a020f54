using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>Value assertions for tensors: shape first, then elementwise closeness in float64.</summary>
public static class TensorAssert
{
    /// <summary>Asserts equal shapes and |a − e| ≤ atol + rtol·|e| for every element.</summary>
    public static void Close(Tensor expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string? what = null)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.detach().to_type(ScalarType.Float64);
        using var a = actual.detach().to_type(ScalarType.Float64);
        var ev = e.ToArray<double>();
        var av = a.ToArray<double>();
        for (int k = 0; k < ev.Length; k++)
        {
            if (double.IsNaN(ev[k]) && double.IsNaN(av[k])) continue;
            if (ev[k] == av[k]) continue; // also equal infinities, whose difference is NaN
            double tol = atol + rtol * Math.Abs(ev[k]);
            if (!(Math.Abs(av[k] - ev[k]) <= tol))
                Assert.Fail($"{what ?? "tensor"}: element {k} is {av[k]:R}, expected {ev[k]:R} (tolerance {tol:G3})");
        }
    }

    /// <summary>Asserts equal shapes and identical elements (for integer and bool results).</summary>
    public static void Equal(Tensor expected, Tensor actual, string? what = null)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.detach().to_type(ScalarType.Float64);
        using var a = actual.detach().to_type(ScalarType.Float64);
        Assert.True(e.ToArray<double>().SequenceEqual(a.ToArray<double>()), $"{what ?? "tensor"}: elements differ");
    }
}
