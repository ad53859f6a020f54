using Microsoft.ML.OnnxRuntime;
using DenseTensorF = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Export.Tests;

/// <summary>Inputs, ONNX Runtime sessions and comparisons shared by the export tests.</summary>
internal static class OnnxTestSupport
{
    /// <summary>x[j] = sin(0.013 j) + 0.5 cos(0.007 j): smooth, deterministic, not symmetric.</summary>
    public static float[] InputValues(long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new float[n];
        for (long j = 0; j < n; j++) v[j] = (float)(Math.Sin(0.013 * j) + 0.5 * Math.Cos(0.007 * j));
        return v;
    }

    public static Tensor InputTensor(long[] shape) => tensor(InputValues(shape), shape);

    /// <summary>Runs the ONNX model on one float input and returns its single output with its shape.</summary>
    public static (float[] Values, long[] Shape) Run(byte[] model, long[] shape, string inputName = "input")
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        var input = new DenseTensorF(InputValues(shape), shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
        var output = results.Single().AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    /// <summary>FastSeg's logits for the same input.</summary>
    public static (float[] Values, long[] Shape) Reference(nn.Module<Tensor, Tensor> model, long[] shape)
    {
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var logits = model.call(InputTensor(shape));
        return (logits.contiguous().ToArray<float>(), logits.shape);
    }

    /// <summary>max |a - e| over the elements, and where it is.</summary>
    public static (double Worst, int At) MaxDifference(IReadOnlyList<float> expected, IReadOnlyList<float> actual)
    {
        double worst = 0;
        int at = 0;
        for (int k = 0; k < expected.Count; k++)
        {
            double d = Math.Abs((double)expected[k] - actual[k]);
            if (d > worst) { worst = d; at = k; }
        }
        return (worst, at);
    }

    public static double MaxAbs(IEnumerable<float> values) => values.Max(v => Math.Abs((double)v));

    /// <summary>Asserts equal shapes and max |a - e| ≤ 1e-4 · max |e|.</summary>
    public static void AssertClose((float[] Values, long[] Shape) expected, (float[] Values, long[] Shape) actual, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{what}: ONNX Runtime gave shape [{string.Join(", ", actual.Shape)}], FastSeg [{string.Join(", ", expected.Shape)}]");
        double scale = MaxAbs(expected.Values);
        var (worst, at) = MaxDifference(expected.Values, actual.Values);
        Assert.True(scale > 0, $"{what}: FastSeg's logits are all zero, nothing to compare");
        Assert.True(worst <= 1e-4 * scale,
            $"{what}: max |ONNX Runtime - FastSeg| = {worst:G4} at element {at} ({actual.Values[at]:G6} vs {expected.Values[at]:G6}), " +
            $"{worst / scale:G3} of the logits' max |value| {scale:G4} (limit 1e-4)");
    }
}
