using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;
using F = FastSeg.Torch.torch.nn.functional;

namespace FastSeg.Torch.Tests;

/// <summary>
/// A finite-difference gradient checker in float64. The function under test is reduced to the scalar
/// L = Σ f(inputs) ⊙ R, with R a fixed pseudo-random tensor of f's output shape (so every output element has a
/// different, non-trivial upstream gradient). The analytical gradients come from <c>L.backward()</c>; the numerical
/// ones from central differences (L(x + ε) − L(x − ε)) / 2ε, re-evaluating L from scratch for every perturbed element.
/// </summary>
public static class GradCheck
{
    public const double Eps = 1e-6;
    public const double RelTol = 1e-5;
    public const double AbsTol = 1e-7;

    /// <summary>One argument of the function under test: float64 values, a shape, and whether to check its gradient.</summary>
    public sealed record Input(string Name, double[] Data, long[] Shape, bool Check = true);

    /// <summary>Values in [-1, 1) from a fixed seed (independent of libtorch's generator).</summary>
    public static double[] Values(int seed, params long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        var rng = new Random(seed);
        var v = new double[n];
        for (long k = 0; k < n; k++) v[k] = rng.NextDouble() * 2 - 1;
        return v;
    }

    /// <summary>
    /// Pairwise well-separated values (a shuffled ladder with step 0.05 plus jitter below 0.01), so that no max-pool
    /// window has a near tie that ε could flip.
    /// </summary>
    public static double[] DistinctValues(int seed, params long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        var rng = new Random(seed);
        var order = Enumerable.Range(0, (int)n).OrderBy(_ => rng.Next()).ToArray();
        return order.Select(k => (k - n / 2.0) * 0.05 + rng.NextDouble() * 0.01).ToArray();
    }

    public static Input In(string name, double[] data, params long[] shape) => new(name, data, shape);

    public static Input Fixed(string name, double[] data, params long[] shape) => new(name, data, shape, Check: false);

    /// <summary>
    /// Compares analytical and numerical gradients of Σ f(x) ⊙ R for every input marked Check, and returns the shape
    /// of f's output for further assertions.
    /// </summary>
    public static long[] Run(Func<Tensor[], Tensor> f, params Input[] inputs)
    {
        // Analytical gradients.
        long[] outShape;
        double[] weights;
        var analytic = new double[inputs.Length][];
        using (NewDisposeScope())
        {
            var xs = inputs.Select(i => tensor(i.Data, i.Shape, requires_grad: i.Check)).ToArray();
            var y = f(xs);
            Assert.Equal(ScalarType.Float64, y.dtype);
            outShape = y.shape;
            weights = Values(0x5eed + (int)y.numel(), outShape);
            var r = tensor(weights, outShape);
            var loss = (y * r).sum();
            loss.backward();
            for (int k = 0; k < inputs.Length; k++)
            {
                if (!inputs[k].Check) continue;
                var g = xs[k].grad;
                Assert.True(g is not null, $"input '{inputs[k].Name}' got no gradient");
                Assert.Equal(inputs[k].Shape, g!.shape);
                Assert.Equal(ScalarType.Float64, g.dtype);
                analytic[k] = g.ToArray<double>();
            }
        }

        // Numerical gradients: perturb one element at a time.
        double Loss(double[][] data)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var xs = inputs.Select((i, k) => tensor(data[k], i.Shape)).ToArray();
            var y = f(xs);
            var r = tensor(weights, outShape);
            return (y * r).sum().item<double>();
        }

        var current = inputs.Select(i => (double[])i.Data.Clone()).ToArray();
        var failures = new List<string>();
        for (int k = 0; k < inputs.Length; k++)
        {
            if (!inputs[k].Check) continue;
            var x = current[k];
            for (int e = 0; e < x.Length; e++)
            {
                double saved = x[e];
                x[e] = saved + Eps;
                double plus = Loss(current);
                x[e] = saved - Eps;
                double minus = Loss(current);
                x[e] = saved;
                double numeric = (plus - minus) / (2 * Eps);
                double a = analytic[k][e];
                double tol = AbsTol + RelTol * Math.Abs(numeric);
                if (!(Math.Abs(a - numeric) <= tol) && failures.Count < 10)
                    failures.Add($"d/d{inputs[k].Name}[{e}]: analytical {a:R}, numerical {numeric:R} (tolerance {tol:G3})");
            }
        }
        Assert.True(failures.Count == 0, "gradient mismatch:\n" + string.Join("\n", failures));
        return outShape;
    }
}

public class GradientCheckTests
{
    private static Tensor Conv(Tensor[] x) =>
        F.conv2d(x[0], x[1], x[2], stride: new long[] { 2, 1 }, padding: new long[] { 1, 2 }, dilation: new long[] { 2, 1 }, groups: 2);

    [Fact]
    public void Conv2dWithStridePaddingDilationGroupsAndBias()
    {
        // input 1x4x7x6, weight (4 out, 4/2 in per group, 3x3), asymmetric stride/padding/dilation so that a swapped
        // height/width argument would change the output shape checked below.
        var shape = GradCheck.Run(Conv,
            GradCheck.In("input", GradCheck.Values(1, 1, 4, 7, 6), 1, 4, 7, 6),
            GradCheck.In("weight", GradCheck.Values(2, 4, 2, 3, 3), 4, 2, 3, 3),
            GradCheck.In("bias", GradCheck.Values(3, 4), 4));
        // H: (7 + 2·1 − 2·(3−1) − 1)/2 + 1 = 3; W: (6 + 2·2 − 1·(3−1) − 1)/1 + 1 = 8
        Assert.Equal(new long[] { 1, 4, 3, 8 }, shape);
    }

    [Fact]
    public void ConvTranspose2dWithStrideAndOutputPadding()
    {
        var shape = GradCheck.Run(
            x => F.conv_transpose2d(x[0], x[1], x[2], stride: new long[] { 2, 2 }, padding: new long[] { 1, 1 },
                output_padding: new long[] { 1, 1 }),
            GradCheck.In("input", GradCheck.Values(4, 1, 2, 3, 3), 1, 2, 3, 3),
            GradCheck.In("weight", GradCheck.Values(5, 2, 3, 3, 3), 2, 3, 3, 3),
            GradCheck.In("bias", GradCheck.Values(6, 3), 3));
        // (3 − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = 6
        Assert.Equal(new long[] { 1, 3, 6, 6 }, shape);
    }

    [Fact]
    public void BatchNormInTrainingMode()
    {
        var shape = GradCheck.Run(
            x => F.batch_norm(x[0], null, null, x[1], x[2], training: true),
            GradCheck.In("input", GradCheck.Values(7, 2, 3, 3, 4), 2, 3, 3, 4),
            GradCheck.In("weight", GradCheck.Values(8, 3), 3),
            GradCheck.In("bias", GradCheck.Values(9, 3), 3));
        Assert.Equal(new long[] { 2, 3, 3, 4 }, shape);
    }

    [Fact]
    public void BatchNormInTrainingModeUpdatesRunningStatisticsWithoutBreakingGradients()
    {
        // Running statistics are updated in place on every call (including the finite-difference ones); they must
        // not take part in the gradient.
        using var mean = zeros(new long[] { 3 }, ScalarType.Float64);
        using var variance = ones(new long[] { 3 }, ScalarType.Float64);
        GradCheck.Run(
            x => F.batch_norm(x[0], mean, variance, x[1], x[2], training: true, momentum: 0.3),
            GradCheck.In("input", GradCheck.Values(10, 2, 3, 2, 3), 2, 3, 2, 3),
            GradCheck.In("weight", GradCheck.Values(11, 3), 3),
            GradCheck.In("bias", GradCheck.Values(12, 3), 3));
        Assert.False(mean.requires_grad);
        Assert.NotEqual(new double[] { 0, 0, 0 }, mean.ToArray<double>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InterpolateBilinearToASize(bool alignCorners)
    {
        var shape = GradCheck.Run(
            x => F.interpolate(x[0], size: new long[] { 7, 3 }, mode: nn.InterpolationMode.Bilinear, align_corners: alignCorners),
            GradCheck.In("input", GradCheck.Values(13, 1, 2, 4, 5), 1, 2, 4, 5));
        Assert.Equal(new long[] { 1, 2, 7, 3 }, shape);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InterpolateBilinearByAScaleFactor(bool alignCorners)
    {
        var shape = GradCheck.Run(
            x => F.interpolate(x[0], scale_factor: new[] { 1.5, 0.75 }, mode: nn.InterpolationMode.Bilinear, align_corners: alignCorners),
            GradCheck.In("input", GradCheck.Values(14, 1, 2, 4, 5), 1, 2, 4, 5));
        Assert.Equal(new long[] { 1, 2, 6, 3 }, shape);
    }

    [Fact]
    public void InterpolateNearest()
    {
        var shape = GradCheck.Run(
            x => F.interpolate(x[0], size: new long[] { 7, 3 }, mode: nn.InterpolationMode.Nearest),
            GradCheck.In("input", GradCheck.Values(15, 1, 2, 4, 5), 1, 2, 4, 5));
        Assert.Equal(new long[] { 1, 2, 7, 3 }, shape);
    }

    [Fact]
    public void MaxPool2dWithOverlappingWindows()
    {
        var shape = GradCheck.Run(
            x => F.max_pool2d(x[0], new long[] { 3, 3 }, stride: new long[] { 2, 2 }, padding: new long[] { 1, 1 }),
            GradCheck.In("input", GradCheck.DistinctValues(16, 1, 2, 5, 5), 1, 2, 5, 5));
        Assert.Equal(new long[] { 1, 2, 3, 3 }, shape);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void AvgPool2d(bool countIncludePad, bool ceilMode)
    {
        var shape = GradCheck.Run(
            x => F.avg_pool2d(x[0], new long[] { 3, 3 }, stride: new long[] { 2, 2 }, padding: new long[] { 1, 1 },
                ceil_mode: ceilMode, count_include_pad: countIncludePad),
            GradCheck.In("input", GradCheck.Values(17, 1, 2, 6, 5), 1, 2, 6, 5));
        Assert.Equal(ceilMode ? new long[] { 1, 2, 4, 3 } : new long[] { 1, 2, 3, 3 }, shape);
    }

    [Fact]
    public void AdaptiveAvgPool2dWithOverlappingBins()
    {
        var shape = GradCheck.Run(
            x => F.adaptive_avg_pool2d(x[0], new long[] { 3, 2 }),
            GradCheck.In("input", GradCheck.Values(18, 1, 2, 5, 7), 1, 2, 5, 7));
        Assert.Equal(new long[] { 1, 2, 3, 2 }, shape);
    }

    [Fact]
    public void CrossEntropyWithIgnoreIndexAndClassWeights()
    {
        const long ignore = 255;
        // 2x3x3 target map over 4 classes, three pixels ignored.
        var targets = new long[] { 0, 1, ignore, 3, 2, 2, 1, 0, 3, 3, ignore, 0, 1, 2, ignore, 2, 1, 0 };
        var classWeights = new double[] { 0.5, 2.0, 1.0, 3.0 };
        Func<Tensor[], Tensor> loss = x =>
        {
            var t = tensor(targets, new long[] { 2, 3, 3 });
            var w = tensor(classWeights);
            return F.cross_entropy(x[0], t, w, ignore_index: ignore);
        };
        var logits = GradCheck.Values(19, 2, 4, 3, 3);
        var shape = GradCheck.Run(loss, GradCheck.In("logits", logits, 2, 4, 3, 3));
        Assert.Empty(shape);

        // Ignored pixels get exactly zero gradient in every class; counted ones do not.
        using var scope = NewDisposeScope();
        var x = tensor(logits, new long[] { 2, 4, 3, 3 }, requires_grad: true);
        loss(new[] { x }).backward();
        var g = x.grad!.ToArray<double>();
        for (int n = 0; n < 2; n++)
            for (int p = 0; p < 9; p++)
            {
                double abs = 0;
                for (int c = 0; c < 4; c++) abs += Math.Abs(g[(n * 4 + c) * 9 + p]);
                if (targets[n * 9 + p] == ignore) Assert.Equal(0.0, abs);
                else Assert.True(abs > 0, $"pixel {n}/{p} got no gradient");
            }
    }

    [Fact]
    public void TheCheckerRejectsAWrongGradient()
    {
        // A function whose backward is deliberately inconsistent with its forward: x·detach(x) has forward x² but
        // gradient x, not 2x. The checker must notice.
        var ex = Assert.ThrowsAny<Exception>(() => GradCheck.Run(
            x => x[0] * x[0].detach(),
            GradCheck.In("x", GradCheck.Values(20, 2, 3), 2, 3)));
        Assert.Contains("gradient mismatch", ex.Message);
    }
}
