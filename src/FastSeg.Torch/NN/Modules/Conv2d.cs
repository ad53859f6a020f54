using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Modules;

/// <summary>2-D convolution layer (PyTorch's <c>nn.Conv2d</c>): weight (out, in/groups, kH, kW), optional bias.</summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    /// <summary>The kernel, (out_channels, in_channels / groups, kH, kW).</summary>
    public Parameter weight = null!;

    /// <summary>The bias (out_channels), or null.</summary>
    public Parameter? bias;

    internal Conv2d(long in_channels, long out_channels, long[] kernel_size, long[] stride, long[] padding, long[] dilation,
        long groups, bool has_bias, ScalarType? dtype, Device? device) : base(nameof(Conv2d))
    {
        if (groups < 1 || in_channels % groups != 0 || out_channels % groups != 0)
            throw new ArgumentException($"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})");
        this.in_channels = in_channels;
        this.out_channels = out_channels;
        this.kernel_size = kernel_size;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        register_parameter("weight", new Parameter(empty(new[] { out_channels, in_channels / groups, kernel_size[0], kernel_size[1] }, dtype, device)));
        register_parameter("bias", has_bias ? new Parameter(empty(new[] { out_channels }, dtype, device)) : null);
        reset_parameters();
    }

    /// <summary>Input channels.</summary>
    public long in_channels { get; }
    /// <summary>Output channels.</summary>
    public long out_channels { get; }
    /// <summary>(kH, kW).</summary>
    public long[] kernel_size { get; }
    /// <summary>(sH, sW).</summary>
    public long[] stride { get; }
    /// <summary>(pH, pW).</summary>
    public long[] padding { get; }
    /// <summary>(dH, dW).</summary>
    public long[] dilation { get; }
    /// <summary>Channel groups.</summary>
    public long groups { get; }

    /// <summary>PyTorch's default: kaiming-uniform(a = √5) weight, bias U(±1/√fan_in).</summary>
    public void reset_parameters()
    {
        init.kaiming_uniform_(weight, Math.Sqrt(5));
        if (bias is not null)
        {
            var (fanIn, _) = init.calculate_fan_in_and_fan_out(weight);
            double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            init.uniform_(bias, -bound, bound);
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        functional.conv2d(input, weight, bias, stride, padding, dilation, groups);

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"{in_channels}, {out_channels}, kernel_size=({string.Join(", ", kernel_size)}), stride=({string.Join(", ", stride)}), padding=({string.Join(", ", padding)})" +
        (dilation.Any(d => d != 1) ? $", dilation=({string.Join(", ", dilation)})" : "") + (groups != 1 ? $", groups={groups}" : "") +
        (bias is null ? ", bias=False" : "");
}

/// <summary>2-D transposed convolution (PyTorch's <c>nn.ConvTranspose2d</c>): weight (in, out/groups, kH, kW).</summary>
public sealed class ConvTranspose2d : Module<Tensor, Tensor>
{
    /// <summary>The kernel, (in_channels, out_channels / groups, kH, kW).</summary>
    public Parameter weight = null!;

    /// <summary>The bias (out_channels), or null.</summary>
    public Parameter? bias;

    internal ConvTranspose2d(long in_channels, long out_channels, long[] kernel_size, long[] stride, long[] padding,
        long[] output_padding, long groups, bool has_bias, long[] dilation, ScalarType? dtype, Device? device) : base(nameof(ConvTranspose2d))
    {
        if (groups < 1 || in_channels % groups != 0 || out_channels % groups != 0)
            throw new ArgumentException($"ConvTranspose2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})");
        this.in_channels = in_channels;
        this.out_channels = out_channels;
        this.kernel_size = kernel_size;
        this.stride = stride;
        this.padding = padding;
        this.output_padding = output_padding;
        this.groups = groups;
        this.dilation = dilation;
        register_parameter("weight", new Parameter(empty(new[] { in_channels, out_channels / groups, kernel_size[0], kernel_size[1] }, dtype, device)));
        register_parameter("bias", has_bias ? new Parameter(empty(new[] { out_channels }, dtype, device)) : null);
        init.kaiming_uniform_(weight, Math.Sqrt(5));
        if (bias is not null)
        {
            var (fanIn, _) = init.calculate_fan_in_and_fan_out(weight);
            double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            init.uniform_(bias, -bound, bound);
        }
    }

    /// <summary>Input channels.</summary>
    public long in_channels { get; }
    /// <summary>Output channels.</summary>
    public long out_channels { get; }
    /// <summary>(kH, kW).</summary>
    public long[] kernel_size { get; }
    /// <summary>(sH, sW).</summary>
    public long[] stride { get; }
    /// <summary>(pH, pW).</summary>
    public long[] padding { get; }
    /// <summary>Extra rows/columns added to one side of the output.</summary>
    public long[] output_padding { get; }
    /// <summary>Channel groups.</summary>
    public long groups { get; }
    /// <summary>(dH, dW).</summary>
    public long[] dilation { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        functional.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation);

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"{in_channels}, {out_channels}, kernel_size=({string.Join(", ", kernel_size)}), stride=({string.Join(", ", stride)})";
}

/// <summary>Fully connected layer: y = x·Wᵀ + b, weight (out, in).</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    /// <summary>The weight, (out_features, in_features).</summary>
    public Parameter weight = null!;

    /// <summary>The bias (out_features), or null.</summary>
    public Parameter? bias;

    internal Linear(long in_features, long out_features, bool has_bias, ScalarType? dtype, Device? device) : base(nameof(Linear))
    {
        this.in_features = in_features;
        this.out_features = out_features;
        register_parameter("weight", new Parameter(empty(new[] { out_features, in_features }, dtype, device)));
        register_parameter("bias", has_bias ? new Parameter(empty(new[] { out_features }, dtype, device)) : null);
        init.kaiming_uniform_(weight, Math.Sqrt(5));
        if (bias is not null)
        {
            double bound = in_features > 0 ? 1 / Math.Sqrt(in_features) : 0;
            init.uniform_(bias, -bound, bound);
        }
    }

    /// <summary>Input features.</summary>
    public long in_features { get; }
    /// <summary>Output features.</summary>
    public long out_features { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => functional.linear(input, weight, bias);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"in_features={in_features}, out_features={out_features}, bias={bias is not null}";
}
