using FastSeg.Models;
using FastSeg.Models.Zoo;
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

    /// <summary>
    /// A zoo network in eval mode with 5 classes, deterministic weights, batch-norm statistics away from (0, 1) and no
    /// all-zero weights, so a wrong use of any of them shows in the logits.
    /// </summary>
    public static SegmentationModel Build(string name)
    {
        manual_seed(7);
        var model = ModelZoo.Create(name, numClasses: 5);
        model.eval();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        // BatchNorm statistics away from (0, 1), so a wrong use of them would show.
        foreach (var (key, buffer) in model.named_buffers())
        {
            if (key.EndsWith("running_mean", StringComparison.Ordinal)) buffer.copy_(rand_like(buffer) * 0.2 - 0.1);
            if (key.EndsWith("running_var", StringComparison.Ordinal)) buffer.copy_(rand_like(buffer) * 0.5 + 0.75);
        }
        // Zero-initialised weights (a gate or a last norm started at zero) would make the logits constant and hide
        // mapping mistakes before them; give them small deterministic values.
        foreach (var (_, p) in model.named_parameters())
            if (p.abs().max().item<float>() == 0)
                p.copy_((arange(0, p.numel(), dtype: ScalarType.Float32) * 0.37).sin().reshape(p.shape) * 0.5);
        return model;
    }

    /// <summary>(1, 3, H, W) rounded up to the network's input multiple.</summary>
    public static long[] Size(SegmentationModel model, long height, long width)
    {
        long m = Math.Max(model.InputMultiple, 1);
        return [1, 3, (height + m - 1) / m * m, (width + m - 1) / m * m];
    }
}
