using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>
/// The weight and input formulas of tools/zoo_reference.py, reproduced exactly, so parity fixtures need not store
/// weights: for state-dict entry i and element j, b = sin(0.37 j + 1.91 i + 0.5); running_var = 0.75 + 0.5 b²,
/// running_mean = 0.1 b, 1-D weight = 1 + 0.1 b, other 1-D = 0.1 b, n-D = b · 1.5 / √(numel / shape[0]).
/// </summary>
public static class DeterministicFill
{
    public static void Apply(nn.Module model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int i = 0;
        foreach (var (key, t) in model.state_dict())
        {
            int index = i++;
            if (!is_floating_point(t.dtype)) continue;
            var shape = t.shape;
            long n = t.numel();
            // Computed with libtorch in float64 (vectorised), the same arithmetic as the Python side, in the same order
            // ((0.37 j + 1.91 i) + 0.5, then (b · 1.5) / √…): float64 fixtures of chaotic networks see a 1-ulp difference.
            var b = (arange(0, n, dtype: ScalarType.Float64) * 0.37 + 1.91 * index + 0.5).sin();
            Tensor v;
            if (key.EndsWith("running_var", StringComparison.Ordinal)) v = b * b * 0.5 + 0.75;
            else if (key.EndsWith("running_mean", StringComparison.Ordinal)) v = b * 0.1;
            else if (shape.Length <= 1) v = key.EndsWith("weight", StringComparison.Ordinal) ? b * 0.1 + 1 : b * 0.1;
            else v = b * 1.5 / Math.Sqrt((double)n / shape[0]);
            t.copy_(v.reshape(shape).to(t.dtype));
        }
    }

    /// <summary>x[j] = sin(0.013 j) + 0.5 cos(0.007 j), float32.</summary>
    public static Tensor Input(long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new double[n];
        for (long j = 0; j < n; j++) v[j] = Math.Sin(0.013 * j) + 0.5 * Math.Cos(0.007 * j);
        using var d = tensor(v, shape);
        return d.to(ScalarType.Float32);
    }
}
