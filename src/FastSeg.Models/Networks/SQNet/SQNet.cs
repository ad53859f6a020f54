using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// SQNet (Treml et al., NIPS 2016 MLITS workshop, "Speeding up Semantic Segmentation for Autonomous Driving"): a
/// SqueezeNet-1.1-shaped encoder trained from scratch (a strided 3×3 ConvBNAct to 64 channels at 1/2, then three
/// stride-2 max pools each followed by fire modules: two at 1/4 with 128 channels, two at 1/8 with 256, four at 1/16
/// with 384, 384, 512, 512), a parallel dilated conv (four 3×3 ConvBNActs, dilations 1, 2, 4, 8, summed) to 128
/// channels, and a decoder of ×2 transposed convs, each followed by a bypass refinement that concatenates a 3×3 conv
/// of the encoder features of that resolution (1/8, 1/4, 1/2), with a last transposed conv to the input size.
/// Height and width must be multiples of 16.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: every conv of the encoder, fire modules included, has batch norm (unlike
/// SqueezeNet) and no bias; the last refinement already maps to the classes, so the final transposed conv runs on
/// the class channels and the logits pass through batch norm and the activation. The activation (<c>act_type</c>,
/// default elu) may be any of the reference's except 'glu', which halves the channels and breaks the network.
/// </remarks>
public sealed class SQNet : SegmentationModel
{
    private readonly Sequential conv;
    private readonly MaxPool2d pool1;
    private readonly Sequential fire1;
    private readonly MaxPool2d pool2;
    private readonly Sequential fire2;
    private readonly MaxPool2d pool3;
    private readonly Sequential fire3;
    private readonly SQNetParallelDilatedConv pdc;
    private readonly DeConvBNAct up1;
    private readonly SQNetBypassRefinement refine1;
    private readonly DeConvBNAct up2;
    private readonly SQNetBypassRefinement refine2;
    private readonly DeConvBNAct up3;
    private readonly SQNetBypassRefinement refine3;
    private readonly DeConvBNAct up4;

    /// <summary>Creates SQNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="act">Activation (the reference's <c>act_type</c>).</param>
    public SQNet(int numClasses, string act = "elu") : base(nameof(SQNet), numClasses, 16)
    {
        conv = ConvBlocks.ConvBNAct(3, 64, 3, 2, act: act);
        pool1 = MaxPool2d(3, 2, 1);
        fire1 = Sequential(
            new SQNetFireModule(64, 16, 64, 64, act),
            new SQNetFireModule(128, 16, 64, 64, act));
        pool2 = MaxPool2d(3, 2, 1);
        fire2 = Sequential(
            new SQNetFireModule(128, 32, 128, 128, act),
            new SQNetFireModule(256, 32, 128, 128, act));
        pool3 = MaxPool2d(3, 2, 1);
        fire3 = Sequential(
            new SQNetFireModule(256, 48, 192, 192, act),
            new SQNetFireModule(384, 48, 192, 192, act),
            new SQNetFireModule(384, 64, 256, 256, act),
            new SQNetFireModule(512, 64, 256, 256, act));
        pdc = new SQNetParallelDilatedConv(512, 128, act);
        up1 = new DeConvBNAct(128, 128, act: act);
        refine1 = new SQNetBypassRefinement(256, 128, 128, act);
        up2 = new DeConvBNAct(128, 128, act: act);
        refine2 = new SQNetBypassRefinement(128, 128, 64, act);
        up3 = new DeConvBNAct(64, 64, act: act);
        refine3 = new SQNetBypassRefinement(64, 64, numClasses, act);
        up4 = new DeConvBNAct(numClasses, numClasses, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x1 = conv.call(input);
        var x2 = fire1.call(pool1.call(x1));
        var x3 = fire2.call(pool2.call(x2));
        var x = pdc.call(fire3.call(pool3.call(x3)));
        x = refine1.call(x3, up1.call(x));
        x = refine2.call(x2, up2.call(x));
        x = refine3.call(x1, up3.call(x));
        x = up4.call(x);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Fire module with batch norm: 1×1 ConvBNAct squeeze, then a 1×1 and a 3×3 ConvBNAct expansion side by side,
/// concatenated (1×1 first).
/// </summary>
internal sealed class SQNetFireModule : Module<Tensor, Tensor>
{
    private readonly Sequential conv_squeeze;
    private readonly Sequential conv_expand1;
    private readonly Sequential conv_expand3;

    public SQNetFireModule(long inChannels, long squeezeChannels, long expand1Channels, long expand3Channels, string act) : base("FireModule")
    {
        conv_squeeze = ConvBlocks.ConvBNAct(inChannels, squeezeChannels, 1, act: act);
        conv_expand1 = ConvBlocks.ConvBNAct(squeezeChannels, expand1Channels, 1, act: act);
        conv_expand3 = ConvBlocks.ConvBNAct(squeezeChannels, expand3Channels, 3, act: act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var s = conv_squeeze.call(input);
        return torch.cat(new[] { conv_expand1.call(s), conv_expand3.call(s) }, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>Four 3×3 ConvBNActs of dilations 1, 2, 4, 8 on the same input, summed (conv0 + conv1 + conv2 + conv3).</summary>
internal sealed class SQNetParallelDilatedConv : Module<Tensor, Tensor>
{
    private readonly Sequential conv0;
    private readonly Sequential conv1;
    private readonly Sequential conv2;
    private readonly Sequential conv3;

    public SQNetParallelDilatedConv(long inChannels, long outChannels, string act) : base("ParallelDilatedConv")
    {
        conv0 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, dilation: 1, act: act);
        conv1 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, dilation: 2, act: act);
        conv2 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, dilation: 4, act: act);
        conv3 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, dilation: 8, act: act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv0.call(input) + conv1.call(input) + conv2.call(input) + conv3.call(input);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Bypass refinement: a 3×3 ConvBNAct on the encoder (low) features, concatenated before the upsampled decoder
/// (high) features, then a 3×3 ConvBNAct to the output channels.
/// </summary>
internal sealed class SQNetBypassRefinement : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv_low;
    private readonly Sequential conv_cat;

    public SQNetBypassRefinement(long lowChannels, long highChannels, long outChannels, string act) : base("BypassRefinementModule")
    {
        conv_low = ConvBlocks.ConvBNAct(lowChannels, lowChannels, 3, act: act);
        conv_cat = ConvBlocks.ConvBNAct(lowChannels + highChannels, outChannels, 3, act: act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor low, Tensor high)
    {
        using var scope = NewDisposeScope();
        var x = torch.cat(new[] { conv_low.call(low), high }, 1);
        return conv_cat.call(x).MoveToOuterDisposeScope();
    }
}
