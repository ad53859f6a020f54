using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// FarSee-Net (Zhang et al., 2020): a torchvision ResNet front end and a factorized ASPP (FASPP) back end that works on
/// two levels and recovers resolution by sub-pixel convolution (pixel shuffle) instead of interpolation. On the 1/32
/// features, a 1×1 branch and three (1×1 ConvBNAct, 3×3 depthwise ConvBNAct with dilation 6, 12, 18) branches of
/// 256 channels are concatenated and lifted to 1/16 by a 1×1 conv and a ×2 pixel shuffle (512 channels); the 1/16
/// features, reduced to 48 channels, are concatenated with them and go through a 1×1 branch and two (1×1, 3×3
/// depthwise with dilation 6, 12) branches of 128 channels, a 1×1 and a 3×3 ConvBNAct (512 channels), and a 1×1 conv
/// with a ×4 pixel shuffle that gives the class maps at 1/4, resized (bilinear, align_corners) to the input. The
/// ×2 shuffle of the 1/32 features must meet the 1/16 features, so H and W must be multiples of 32.
/// </summary>
/// <remarks>
/// Kept from the reference: the depthwise convs of the branches use BN and the activation, like every ConvBNAct; the
/// sub-pixel convs are plain 1×1 convs without bias, BN or activation; the dilations (6, 12, 18) and widths (256, 48)
/// are fixed. <c>act_type</c> reaches every ConvBNAct of the back end (not the ResNet); 'glu' is not offered (it halves
/// the channels and cannot build).
/// </remarks>
public sealed class FarSeeNet : SegmentationModel
{
    /// <summary>The encoders FarSeeNet accepts (the first is the reference's default).</summary>
    public static readonly string[] Backbones = { "resnet18", "resnet34", "resnet50", "resnet101" };

    private readonly ResNet frontend_network;
    private readonly FarSeeNetFaspp backend_network;

    /// <summary>Creates FarSee-Net.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backboneType">A torchvision ResNet: resnet18, resnet34, resnet50 or resnet101.</param>
    /// <param name="act">The reference's act_type (back end only).</param>
    public FarSeeNet(int numClasses, string backboneType = "resnet18", string act = "relu")
        : base(nameof(FarSeeNet), numClasses, 32)
    {
        if (!Backbones.Contains(backboneType))
            throw new ArgumentException($"FarSeeNet does not support the backbone '{backboneType}'; valid: {string.Join(", ", Backbones)}", nameof(backboneType));
        frontend_network = new ResNet(backboneType);
        var c = frontend_network.Channels;
        backend_network = new FarSeeNetFaspp(c[3], c[2], numClasses, act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var f = frontend_network.ForwardFeatures(input);
        var x = backend_network.Decode(f[3], f[2]);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// FarSee-Net's factorized ASPP: multi-dilation branches on the high-level (1/32) features, ×2 sub-pixel
/// upsampling, fusion with the low-level (1/16) features through a second, smaller set of branches, and a ×4 sub-pixel
/// classifier (see <see cref="FarSeeNet"/>).
/// </summary>
public sealed class FarSeeNetFaspp : Module<Tensor, Tensor>
{
    private readonly ModuleList<Sequential> conv_high;
    private readonly Sequential sub_pixel_high;
    private readonly Sequential conv_low_init;
    private readonly ModuleList<Sequential> conv_low;
    private readonly Sequential conv_low_last;
    private readonly Sequential sub_pixel_low;

    /// <summary>Creates the back end.</summary>
    public FarSeeNetFaspp(long highChannels, long lowChannels, long numClasses, string act, long[]? dilations = null,
        long hidChannels = 256) : base("FASPP")
    {
        dilations ??= new long[] { 6, 12, 18 };
        conv_high = ModuleList(ConvBlocks.ConvBNAct(highChannels, hidChannels, 1, act: act));
        foreach (var d in dilations)
            conv_high.append(Sequential(
                ConvBlocks.ConvBNAct(highChannels, hidChannels, 1, act: act),
                ConvBlocks.DWConvBNAct(hidChannels, hidChannels, 3, dilation: d, act: act)));
        sub_pixel_high = Sequential(ConvBlocks.Conv1x1(hidChannels * 4, hidChannels * 2 * 4), PixelShuffle(2));

        const long lowReduced = 48;
        long lowIn = hidChannels * 2 + lowReduced;
        long lowHid = hidChannels / 2;
        conv_low_init = ConvBlocks.ConvBNAct(lowChannels, lowReduced, 1, act: act);
        conv_low = ModuleList(ConvBlocks.ConvBNAct(lowIn, lowHid, 1, act: act));
        foreach (var d in dilations[..^1])
            conv_low.append(Sequential(
                ConvBlocks.ConvBNAct(lowIn, lowHid, 1, act: act),
                ConvBlocks.DWConvBNAct(lowHid, lowHid, 3, dilation: d, act: act)));
        conv_low_last = Sequential(
            ConvBlocks.ConvBNAct(lowHid * 3, hidChannels * 2, 1, act: act),
            ConvBlocks.ConvBNAct(hidChannels * 2, hidChannels * 2, act: act));
        sub_pixel_low = Sequential(ConvBlocks.Conv1x1(hidChannels * 2, numClasses * 16), PixelShuffle(4));
        RegisterComponents();
    }

    /// <summary>Not used on its own: the back end needs both feature levels (see <see cref="Decode"/>).</summary>
    public override Tensor forward(Tensor input) =>
        throw new NotSupportedException("FarSeeNetFaspp needs the high- and low-level features; call Decode");

    /// <summary>Class maps at 1/4 from the 1/32 features <paramref name="high"/> and the 1/16 features <paramref name="low"/>.</summary>
    public Tensor Decode(Tensor high, Tensor low)
    {
        using var scope = NewDisposeScope();
        var x = sub_pixel_high.call(cat(conv_high.Select(b => b.call(high)).ToArray(), 1));
        x = cat(new[] { x, conv_low_init.call(low) }, 1);
        x = cat(conv_low.Select(b => b.call(x)).ToArray(), 1);
        x = sub_pixel_low.call(conv_low_last.call(x));
        return x.MoveToOuterDisposeScope();
    }
}
