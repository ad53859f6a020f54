using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// Fast_Seg's (lxtGH/Fast_Seg, <c>libs/core/operators.py</c>) convolution unit <c>ConvBnRelu</c>: a convolution
/// (children "conv"), an optional batch norm ("bn", with its own eps) and an optional ReLU ("relu"). Unlike the zoo's
/// <see cref="ConvBlocks.ConvBNAct(long, long, long, long, long, long, bool, string, bool)"/> the padding is given
/// explicitly and defaults to 0, and the state-dict keys are named rather than numbered.
/// </summary>
public sealed class FastSegConvBnRelu : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d? bn;
    private readonly Module<Tensor, Tensor>? relu;

    /// <summary>Creates the unit.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernel">Square kernel size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on each side (Fast_Seg's default is 0, not "same").</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Convolution groups.</param>
    /// <param name="hasBn">Whether a batch norm follows the convolution.</param>
    /// <param name="bnEps">The batch norm's epsilon.</param>
    /// <param name="hasRelu">Whether a ReLU ends the unit.</param>
    /// <param name="hasBias">Whether the convolution has a bias.</param>
    public FastSegConvBnRelu(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0, long dilation = 1,
        long groups = 1, bool hasBn = true, double bnEps = 1e-5, bool hasRelu = true, bool hasBias = false)
        : base("ConvBnRelu")
    {
        conv = Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, dilation: dilation, groups: groups, bias: hasBias);
        if (hasBn) bn = BatchNorm2d(outChannels, eps: bnEps);
        if (hasRelu) relu = ReLU(inplace: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv.call(input);
        if (bn is not null) x = bn.call(x);
        if (relu is not null) x = relu.call(x);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>Fast_Seg's small shared helpers (<c>libs/core/operators.py</c>) that are functions rather than modules.</summary>
public static class FastSegOperators
{
    /// <summary>
    /// Fast_Seg's deep-supervision head <c>dsn(in, ncls)</c>: a Sequential of a 3×3 conv in→in (padding 1, with bias),
    /// batch norm, ReLU, Dropout2d(0.1) and a 1×1 conv to the classes (with bias); keys 0, 1 and 4 hold weights.
    /// </summary>
    public static Sequential Dsn(long inChannels, long numClasses) =>
        Sequential(
            Conv2d(inChannels, inChannels, 3, padding: 1, bias: true),
            BatchNorm2d(inChannels),
            ReLU(),
            Dropout2d(0.1),
            Conv2d(inChannels, numClasses, 1, bias: true));

    /// <summary>
    /// Fast_Seg's <c>upsample(x, size)</c>, which every resize in its models, losses and evaluation uses: bilinear with
    /// align_corners = true.
    /// </summary>
    public static Tensor Upsample(Tensor input, long[] size) =>
        functional.interpolate(input, size, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <summary>Bilinear (align_corners = true) resize by a scale factor, as Fast_Seg's ICNet and FastSCNN write it.</summary>
    public static Tensor UpsampleBy(Tensor input, double scale) =>
        functional.interpolate(input, scale_factor: new[] { scale }, mode: InterpolationMode.Bilinear, align_corners: true);
}
