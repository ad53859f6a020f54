using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Profiling;

/// <summary>
/// Counts multiply-accumulate operations (MACs) of the operators run on this thread while it is open. The convention
/// is the one real-time segmentation papers use when they print "GFLOPs": one multiply-add counts once, and only
/// convolutions, transposed convolutions, linear layers and matrix products are counted; biases, normalisation,
/// activations, pooling, interpolation and elementwise arithmetic are not (they are a few percent at most).
/// <list type="bullet">
/// <item>conv2d: N · C_out · H_out · W_out · (C_in / groups) · kH · kW</item>
/// <item>conv_transpose2d: N · C_in · H_in · W_in · (C_out / groups) · kH · kW</item>
/// <item>linear: (elements of the input / in_features) · in_features · out_features</item>
/// <item>matmul/bmm: batch · M · K · N</item>
/// </list>
/// Counting happens in the functional wrappers, so it sees every call however a module is invoked.
/// </summary>
public sealed class MacCounter : IDisposable
{
    [ThreadStatic] private static MacCounter? t_current;

    private readonly MacCounter? _outer;
    private readonly Dictionary<string, long> _byOperator = new();
    private bool _disposed;

    /// <summary>Starts counting on this thread (nested counters each see the inner operations).</summary>
    public MacCounter()
    {
        _outer = t_current;
        t_current = this;
    }

    /// <summary>Total multiply-adds counted.</summary>
    public long MultiplyAdds => _byOperator.Values.Sum();

    /// <summary>Multiply-adds per operator name.</summary>
    public IReadOnlyDictionary<string, long> ByOperator => _byOperator;

    internal static bool Active => t_current is not null;

    internal static void Add(string op, long macs)
    {
        for (var c = t_current; c is not null; c = c._outer)
            c._byOperator[op] = c._byOperator.GetValueOrDefault(op) + macs;
    }

    internal static void Conv2d(Tensor output, Tensor weight)
    {
        var o = output.shape;
        var w = weight.shape;
        long perOutput = w[1] * w[2] * w[3];
        long outputs = 1;
        foreach (var d in o) outputs *= d;
        Add("conv2d", outputs * perOutput);
    }

    internal static void ConvTranspose2d(Tensor input, Tensor weight)
    {
        var i = input.shape;
        var w = weight.shape;
        long inputs = 1;
        foreach (var d in i) inputs *= d;
        Add("conv_transpose2d", inputs * w[1] * w[2] * w[3]);
    }

    internal static void Linear(Tensor input, Tensor weight)
    {
        var w = weight.shape;
        long rows = input.numel() / w[1];
        Add("linear", rows * w[0] * w[1]);
    }

    internal static void Matmul(string op, Tensor output, Tensor a)
    {
        long k = a.size(-1);
        Add(op, output.numel() * k);
    }

    /// <summary>Stops counting.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (ReferenceEquals(t_current, this)) t_current = _outer;
    }
}

/// <summary>Parameter count and multiply-adds of a network for one input size.</summary>
/// <param name="Parameters">Number of parameter elements.</param>
/// <param name="MultiplyAdds">Multiply-adds of one forward pass (see <see cref="MacCounter"/> for what counts).</param>
/// <param name="ByOperator">Multiply-adds per operator.</param>
public sealed record ComplexityReport(long Parameters, long MultiplyAdds, IReadOnlyDictionary<string, long> ByOperator)
{
    /// <summary>Multiply-adds in billions: what the real-time segmentation papers print as "GFLOPs".</summary>
    public double GFlops => MultiplyAdds / 1e9;

    /// <summary>Parameters in millions.</summary>
    public double MegaParameters => Parameters / 1e6;
}

/// <summary>Measures parameters and multiply-adds of a module.</summary>
public static class ModelComplexity
{
    /// <summary>
    /// Runs one eval-mode forward pass under inference mode on zeros of <paramref name="inputShape"/> (e.g. 1, 3,
    /// 512, 1024) and reports parameters and multiply-adds. The module's training flag is restored afterwards.
    /// </summary>
    public static ComplexityReport Measure(nn.Module<Tensor, Tensor> module, params long[] inputShape)
    {
        bool wasTraining = module.training;
        module.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            using var counter = new MacCounter();
            var dtype = module.parameters().FirstOrDefault()?.dtype ?? ScalarType.Float32;
            var input = zeros(inputShape, dtype);
            module.call(input);
            long parameters = module.parameters().Sum(p => p.numel());
            return new ComplexityReport(parameters, counter.MultiplyAdds, new Dictionary<string, long>(counter.ByOperator));
        }
        finally
        {
            module.train(wasTraining);
        }
    }
}
