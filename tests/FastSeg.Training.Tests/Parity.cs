using System.Text.Json;
using FastSeg.Torch;
using FastSeg.Torch.Tests;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

/// <summary>
/// Comparisons against training.json (tools/make_training_fixtures.py) that also log the largest difference, so a
/// detailed test run shows the parity figures.
/// </summary>
public abstract class ParityTest(ITestOutputHelper output)
{
    /// <summary>Tolerance for float64 cases.</summary>
    protected const double Tol64 = 1e-6;

    /// <summary>Tolerance for float32 cases.</summary>
    protected const double Tol32 = 1e-5;

    protected static JsonElement Case(string name) => Fixture.Case("training.json", name);

    /// <summary>Asserts |a − e| ≤ tol·(1 + |e|) elementwise and logs the largest |a − e|.</summary>
    protected void Near(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.detach().to_type(ScalarType.Float64);
        using var a = actual.detach().to_type(ScalarType.Float64);
        var ev = e.ToArray<double>();
        var av = a.ToArray<double>();
        double maxDiff = 0;
        for (int k = 0; k < ev.Length; k++)
        {
            double d = Math.Abs(av[k] - ev[k]);
            maxDiff = Math.Max(maxDiff, d);
            if (!(d <= tol * (1 + Math.Abs(ev[k]))))
                Assert.Fail($"{what}: element {k} is {av[k]:R}, expected {ev[k]:R}");
        }
        output.WriteLine($"{what}: max |diff| {maxDiff:G3} over {ev.Length} values ({expected.dtype})");
    }

    /// <summary>Scalar version of <see cref="Near(Tensor, Tensor, double, string)"/>.</summary>
    protected void Near(double expected, double actual, double tol, string what)
    {
        double d = Math.Abs(actual - expected);
        Assert.True(d <= tol * (1 + Math.Abs(expected)), $"{what}: {actual:R}, expected {expected:R}");
        output.WriteLine($"{what}: |diff| {d:G3}");
    }

    protected void Log(string line) => output.WriteLine(line);
}
