using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// SegNet (Badrinarayanan et al., 2017): a VGG-16-like encoder of five conv-BN-ReLU stages, each ending in a 2×2 max
/// pool whose indices are kept, and a mirrored decoder that unpools with those indices before its convs. As in the
/// reference, the encoder is trained from scratch (no VGG weights) and the 3×3 classifier ends in BN and ReLU.
/// </summary>
public sealed class SegNet : SegmentationModel
{
    private readonly SegNetDownsample down_stage1;
    private readonly SegNetDownsample down_stage2;
    private readonly SegNetDownsample down_stage3;
    private readonly SegNetDownsample down_stage4;
    private readonly SegNetDownsample down_stage5;
    private readonly SegNetUpsample up_stage5;
    private readonly SegNetUpsample up_stage4;
    private readonly SegNetUpsample up_stage3;
    private readonly SegNetUpsample up_stage2;
    private readonly SegNetUpsample up_stage1;
    private readonly Sequential classifier;

    /// <summary>Creates SegNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="hidChannels">Channels of the first stage (doubled per stage up to 8×).</param>
    /// <param name="act">Activation after every batch norm.</param>
    public SegNet(int numClasses, long hidChannels = 64, string act = "relu") : base(nameof(SegNet), numClasses, 32)
    {
        long c = hidChannels;
        down_stage1 = new SegNetDownsample(3, c, act, false);
        down_stage2 = new SegNetDownsample(c, c * 2, act, false);
        down_stage3 = new SegNetDownsample(c * 2, c * 4, act, true);
        down_stage4 = new SegNetDownsample(c * 4, c * 8, act, true);
        down_stage5 = new SegNetDownsample(c * 8, c * 8, act, true);
        up_stage5 = new SegNetUpsample(c * 8, c * 8, act, true);
        up_stage4 = new SegNetUpsample(c * 8, c * 4, act, true);
        up_stage3 = new SegNetUpsample(c * 4, c * 2, act, true);
        up_stage2 = new SegNetUpsample(c * 2, c, act, false);
        up_stage1 = new SegNetUpsample(c, c, act, false);
        classifier = ConvBlocks.ConvBNAct(c, numClasses, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (x, i1) = down_stage1.call(input);
        (x, var i2) = down_stage2.call(x);
        (x, var i3) = down_stage3.call(x);
        (x, var i4) = down_stage4.call(x);
        (x, var i5) = down_stage5.call(x);
        x = up_stage5.call(x, i5);
        x = up_stage4.call(x, i4);
        x = up_stage3.call(x, i3);
        x = up_stage2.call(x, i2);
        x = up_stage1.call(x, i1);
        return new SegmentationOutput(classifier.call(x).MoveToOuterDisposeScope());
    }
}

/// <summary>SegNet encoder stage: two or three 3×3 conv-BN-act, then a 2×2 max pool returning its indices.</summary>
internal sealed class SegNetDownsample : Module<Tensor, (Tensor output, Tensor indices)>
{
    private readonly Sequential conv;
    private readonly MaxPool2d pool;

    /// <summary>Creates the stage; <paramref name="extraConv"/> adds the third conv.</summary>
    public SegNetDownsample(long inChannels, long outChannels, string act, bool extraConv) : base("DownsampleBlock")
    {
        conv = Sequential(
            ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: act, inplace: true),
            ConvBlocks.ConvBNAct(outChannels, outChannels, 3, act: act, inplace: true));
        if (extraConv) conv.append(ConvBlocks.ConvBNAct(outChannels, outChannels, 3, act: act, inplace: true));
        pool = MaxPool2d(2, 2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override (Tensor output, Tensor indices) forward(Tensor input)
    {
        using var x = conv.call(input);
        return pool.forward_with_indices(x);
    }
}

/// <summary>
/// SegNet decoder stage: 2×2 max unpooling with the encoder's indices, then in→in and in→out 3×3 conv-BN-act (with
/// <c>extraConv</c>: in→in, in→in, in→out).
/// </summary>
internal sealed class SegNetUpsample : Module<Tensor, Tensor, Tensor>
{
    private readonly MaxUnpool2d pool;
    private readonly Sequential conv;

    /// <summary>Creates the stage.</summary>
    public SegNetUpsample(long inChannels, long outChannels, string act, bool extraConv) : base("UpsampleBlock")
    {
        pool = MaxUnpool2d(2, 2);
        long hid = extraConv ? inChannels : outChannels;
        conv = Sequential(
            ConvBlocks.ConvBNAct(inChannels, inChannels, 3, act: act, inplace: true),
            ConvBlocks.ConvBNAct(inChannels, hid, 3, act: act, inplace: true));
        if (extraConv) conv.append(ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: act, inplace: true));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor indices)
    {
        using var x = pool.call(input, indices);
        return conv.call(x);
    }
}
