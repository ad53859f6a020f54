using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// segmentation_models.pytorch's atrous spatial pyramid pooling (<c>ASPP</c>), shared by its DeepLabV3 and
/// DeepLabV3+: a ModuleList <c>convs</c> of a 1×1 conv → BN → ReLU, three 3×3 convs at the atrous rates (plain, or
/// depthwise-separable for DeepLabV3+, see <see cref="SmpBlocks.SeparableConv2d"/>) → BN → ReLU, and an image-pooling
/// branch (<see cref="SmpAsppPooling"/>); their concatenation goes through <c>project</c>: 1×1 conv → BN → ReLU →
/// dropout 0.5. No conv has a bias.
/// </summary>
public sealed class SmpAspp : Module<Tensor, Tensor>
{
    private readonly ModuleList<Module<Tensor, Tensor>> convs;
    private readonly Sequential project;

    /// <summary>Creates the module.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of every branch and of the output.</param>
    /// <param name="atrousRates">The three dilation rates.</param>
    /// <param name="separable">Depthwise-separable atrous convs (DeepLabV3+).</param>
    public SmpAspp(long inChannels, long outChannels, IReadOnlyList<int> atrousRates, bool separable = false) : base("ASPP")
    {
        if (atrousRates.Count != 3) throw new ArgumentException("ASPP takes three atrous rates", nameof(atrousRates));
        convs = ModuleList<Module<Tensor, Tensor>>(
            Sequential(Conv2d(inChannels, outChannels, 1, bias: false), BatchNorm2d(outChannels), ReLU()));
        foreach (int rate in atrousRates)
            convs.append(Sequential(
                separable
                    ? SmpBlocks.SeparableConv2d(inChannels, outChannels, 3, padding: rate, dilation: rate, bias: false)
                    : Conv2d(inChannels, outChannels, 3, padding: rate, dilation: rate, bias: false),
                BatchNorm2d(outChannels),
                ReLU()));
        convs.append(new SmpAsppPooling(inChannels, outChannels));
        project = Sequential(Conv2d(5 * outChannels, outChannels, 1, bias: false), BatchNorm2d(outChannels), ReLU(), Dropout(0.5));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var branches = convs.Select(c => c.call(input)).ToArray();
        return project.call(cat(branches, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The image-pooling branch of <see cref="SmpAspp"/> (SMP's <c>ASPPPooling</c>, a Sequential "0".."3"): global
/// average pool, 1×1 conv, BN, ReLU, then resized back to the input (bilinear, align_corners = false).
/// </summary>
public sealed class SmpAsppPooling : Module<Tensor, Tensor>
{
    [ComponentName(Name = "0")] private readonly Module<Tensor, Tensor> pool;
    [ComponentName(Name = "1")] private readonly Conv2d conv;
    [ComponentName(Name = "2")] private readonly BatchNorm2d bn;
    [ComponentName(Name = "3")] private readonly Module<Tensor, Tensor> relu;

    /// <summary>Creates the branch.</summary>
    public SmpAsppPooling(long inChannels, long outChannels) : base("ASPPPooling")
    {
        pool = AdaptiveAvgPool2d(1);
        conv = Conv2d(inChannels, outChannels, 1, bias: false);
        bn = BatchNorm2d(outChannels);
        relu = ReLU();
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = relu.call(bn.call(conv.call(pool.call(input))));
        return functional.interpolate(x, new[] { input.shape[2], input.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false)
            .MoveToOuterDisposeScope();
    }
}
