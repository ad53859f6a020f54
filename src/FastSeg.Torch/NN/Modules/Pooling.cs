using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Modules;

/// <summary>2-D max pooling; <see cref="forward_with_indices"/> also returns the indices for <see cref="MaxUnpool2d"/>.</summary>
public sealed class MaxPool2d : Module<Tensor, Tensor>
{
    internal MaxPool2d(long[] kernel_size, long[]? stride, long[] padding, long[] dilation, bool ceil_mode) : base(nameof(MaxPool2d))
    {
        this.kernel_size = kernel_size;
        this.stride = stride ?? kernel_size;
        this.padding = padding;
        this.dilation = dilation;
        this.ceil_mode = ceil_mode;
    }

    /// <summary>(kH, kW).</summary>
    public long[] kernel_size { get; }
    /// <summary>(sH, sW); defaults to the kernel size.</summary>
    public long[] stride { get; }
    /// <summary>(pH, pW).</summary>
    public long[] padding { get; }
    /// <summary>(dH, dW).</summary>
    public long[] dilation { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool ceil_mode { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => functional.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode);

    /// <summary>The pooled output and the index of each maximum.</summary>
    public (Tensor output, Tensor indices) forward_with_indices(Tensor input) =>
        functional.max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode);
}

/// <summary>Inverse of max pooling: scatters values back to the recorded positions.</summary>
public sealed class MaxUnpool2d : Module<Tensor, Tensor, Tensor>
{
    internal MaxUnpool2d(long[] kernel_size, long[]? stride, long[] padding) : base(nameof(MaxUnpool2d))
    {
        this.kernel_size = kernel_size;
        this.stride = stride ?? kernel_size;
        this.padding = padding;
    }

    /// <summary>(kH, kW).</summary>
    public long[] kernel_size { get; }
    /// <summary>(sH, sW).</summary>
    public long[] stride { get; }
    /// <summary>(pH, pW).</summary>
    public long[] padding { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor indices) => forward(input, indices, null);

    /// <summary>Unpools to <paramref name="output_size"/> when given (as in PyTorch).</summary>
    public Tensor forward(Tensor input, Tensor indices, long[]? output_size) =>
        functional.max_unpool2d(input, indices, kernel_size, stride, padding, output_size);
}

/// <summary>2-D average pooling.</summary>
public sealed class AvgPool2d : Module<Tensor, Tensor>
{
    internal AvgPool2d(long[] kernel_size, long[]? stride, long[] padding, bool ceil_mode, bool count_include_pad,
        long? divisor_override) : base(nameof(AvgPool2d))
    {
        this.kernel_size = kernel_size;
        this.stride = stride ?? kernel_size;
        this.padding = padding;
        this.ceil_mode = ceil_mode;
        this.count_include_pad = count_include_pad;
        this.divisor_override = divisor_override;
    }

    /// <summary>(kH, kW).</summary>
    public long[] kernel_size { get; }
    /// <summary>(sH, sW).</summary>
    public long[] stride { get; }
    /// <summary>(pH, pW).</summary>
    public long[] padding { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool ceil_mode { get; }
    /// <summary>Whether padded zeros count in the average.</summary>
    public bool count_include_pad { get; }
    /// <summary>A fixed divisor instead of the window size.</summary>
    public long? divisor_override { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        functional.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override);
}

/// <summary>Pooling to a fixed output size (average or max).</summary>
public sealed class AdaptivePool2d : Module<Tensor, Tensor>
{
    private readonly bool _max;

    internal AdaptivePool2d(long[] output_size, bool max) : base(max ? "AdaptiveMaxPool2d" : "AdaptiveAvgPool2d")
    {
        this.output_size = output_size;
        _max = max;
    }

    /// <summary>(H, W) of the output.</summary>
    public long[] output_size { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        _max ? functional.adaptive_max_pool2d(input, output_size) : functional.adaptive_avg_pool2d(input, output_size);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"output_size=({string.Join(", ", output_size)})";
}

/// <summary>Resizes by a fixed size or scale factor (PyTorch's <c>nn.Upsample</c>).</summary>
public sealed class Upsample : Module<Tensor, Tensor>
{
    internal Upsample(long[]? size, double[]? scale_factor, InterpolationMode mode, bool? align_corners) : base(nameof(Upsample))
    {
        if ((size is null) == (scale_factor is null))
            throw new ArgumentException("Upsample: exactly one of size and scale_factor must be given");
        this.size = size;
        this.scale_factor = scale_factor;
        this.mode = mode;
        this.align_corners = align_corners;
    }

    /// <summary>Output (H, W), or null.</summary>
    public long[]? size { get; }
    /// <summary>Scale factors, or null.</summary>
    public double[]? scale_factor { get; }
    /// <summary>The interpolation mode.</summary>
    public InterpolationMode mode { get; }
    /// <summary>Corner alignment for bilinear/bicubic.</summary>
    public bool? align_corners { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => functional.interpolate(input, size, scale_factor, mode, align_corners);
}
