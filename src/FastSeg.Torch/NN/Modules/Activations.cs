using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Modules;

/// <summary>A parameter-free module that applies a function to its input.</summary>
public class Lambda : Module<Tensor, Tensor>
{
    private readonly Func<Tensor, Tensor> _fn;
    private readonly string _extra;

    /// <summary>Creates a module named <paramref name="name"/> that applies <paramref name="fn"/>.</summary>
    public Lambda(string name, Func<Tensor, Tensor> fn, string extra = "") : base(name)
    {
        _fn = fn;
        _extra = extra;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => _fn(input);

    /// <inheritdoc />
    protected override string ExtraRepr() => _extra;
}

/// <summary>Leaky ReLU with learned slopes (PyTorch's <c>nn.PReLU</c>): weight (num_parameters), initialised to init.</summary>
public sealed class PReLU : Module<Tensor, Tensor>
{
    /// <summary>The slopes.</summary>
    public Parameter weight = null!;

    internal PReLU(long num_parameters, double init, ScalarType? dtype, Device? device) : base(nameof(PReLU))
    {
        register_parameter("weight", new Parameter(full(new[] { num_parameters }, init, dtype, device)));
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => functional.prelu(input, weight);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"num_parameters={weight.shape[0]}";
}

/// <summary>Softmax along a fixed dimension.</summary>
public sealed class Softmax : Module<Tensor, Tensor>
{
    internal Softmax(long dim) : base(nameof(Softmax)) => this.dim = dim;

    /// <summary>The dimension that sums to one.</summary>
    public long dim { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => functional.softmax(input, dim);
}

/// <summary>Randomly zeroes elements (or, for 2-D dropout, channels) in training mode; identity in eval.</summary>
public sealed class Dropout : Module<Tensor, Tensor>
{
    private readonly bool _channels;

    internal Dropout(double p, bool channels) : base(channels ? "Dropout2d" : nameof(Dropout))
    {
        if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
        this.p = p;
        _channels = channels;
    }

    /// <summary>The drop probability.</summary>
    public double p { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        _channels ? functional.dropout2d(input, p, training) : functional.dropout(input, p, training);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"p={p}";
}
