using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// AGLNet (Zhou et al., 2020): LEDNet's encoder laid out as separate stages (ENet-style downsamplers to 32, 64 and 128
/// channels, each followed by <see cref="SplitShuffleNonBottleneck"/> units: 3, 2, and 8 with dilations 1, 2, 5, 9, 2,
/// 5, 9, 17), a factorized attention pyramid module on the 1/8 features (layer17), and two global attention upsample
/// modules (layer18, layer19) that bring the features back to 1/2 with the 1/4 and 1/2 encoder features as guides; a
/// 1×1 conv without bias gives the class map, resized to the input (bilinear, align_corners = true).
/// </summary>
/// <remarks>
/// The transposed convs of the upsample modules double the size exactly, so the 1/2, 1/4 and 1/8 maps must nest:
/// height and width must be multiples of 8. Quirks of the reference kept here: the pyramid attention works on a single
/// channel (its batch norms normalise one channel); in the upsample modules the channel-attention output is
/// multiplied once more by its own input before the residual is added. The act_type option takes every activation of
/// the reference's Activation except 'glu' (which halves the channels and cannot work in any network).
/// </remarks>
public sealed class AGLNet : SegmentationModel
{
    private readonly InitialBlock layer1;
    private readonly Sequential layer2_4;
    private readonly InitialBlock layer5;
    private readonly Sequential layer6_7;
    private readonly InitialBlock layer8;
    private readonly Sequential layer9_16;
    private readonly AGLNetFactorizedAttentionPyramid layer17;
    private readonly AGLNetGlobalAttentionUpsample layer18;
    private readonly AGLNetGlobalAttentionUpsample layer19;
    private readonly Conv2d layer20;

    /// <summary>Creates AGLNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="actType">Activation name (the reference's act_type).</param>
    public AGLNet(int numClasses, string actType = "relu") : base(nameof(AGLNet), numClasses, 8)
    {
        layer1 = new InitialBlock(InputChannels, 32, actType);
        layer2_4 = Units(32, new long[] { 1, 1, 1 }, actType);
        layer5 = new InitialBlock(32, 64, actType);
        layer6_7 = Units(64, new long[] { 1, 1 }, actType);
        layer8 = new InitialBlock(64, 128, actType);
        layer9_16 = Units(128, new long[] { 1, 2, 5, 9, 2, 5, 9, 17 }, actType);
        layer17 = new AGLNetFactorizedAttentionPyramid(128, actType);
        layer18 = new AGLNetGlobalAttentionUpsample(64, 128, 64, actType);
        layer19 = new AGLNetGlobalAttentionUpsample(32, 64, 32, actType);
        layer20 = ConvBlocks.Conv1x1(32, numClasses);
        RegisterComponents();
    }

    private static Sequential Units(long channels, long[] dilations, string actType) =>
        Sequential(dilations.Select(d => (Module<Tensor, Tensor>)new SplitShuffleNonBottleneck(channels, d, actType)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var s1 = layer2_4.call(layer1.call(input));
        var s2 = layer6_7.call(layer5.call(s1));
        var x = layer9_16.call(layer8.call(s2));
        x = layer17.call(x);
        x = layer18.call(x, s2);
        x = layer19.call(x, s1);
        x = layer20.call(x);
        x = functional.interpolate(x, input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// AGLNet's factorized attention pyramid module (FAPM): a one-channel pyramid attention map ("pfa"), expanded back to
/// the channels by a 1×1 conv ("conv"), multiplies the input; global average pooling and a 1×1 conv ("gp"), resized,
/// are added. Both convs have no bias and no batch norm.
/// </summary>
internal sealed class AGLNetFactorizedAttentionPyramid : Module<Tensor, Tensor>
{
    private readonly AGLNetPyramidFeatureAttention pfa;
    private readonly Conv2d conv;
    private readonly Sequential gp;

    /// <summary>Creates the module.</summary>
    public AGLNetFactorizedAttentionPyramid(long channels, string actType) : base("FAPM")
    {
        pfa = new AGLNetPyramidFeatureAttention(channels, actType);
        conv = ConvBlocks.Conv1x1(1, channels);
        gp = Sequential(AdaptiveAvgPool2d(1), ConvBlocks.Conv1x1(channels, channels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var attention = conv.call(pfa.call(input));
        var global = functional.interpolate(gp.call(input), input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return input.mul(attention).add(global).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// AGLNet's pyramid feature attention: a stride-2 1×7 ConvBNAct to one channel, then stride-2 1×5 and 1×3 ConvBNActs
/// (conv11, conv21, conv31), each level refined by the transposed kernel (7×1, 5×1, 3×1: conv12, conv22, conv32);
/// the levels are summed coarse to fine with resizes, and the sum is resized to the input size (one channel).
/// </summary>
internal sealed class AGLNetPyramidFeatureAttention : Module<Tensor, Tensor>
{
    private readonly Sequential conv11;
    private readonly Sequential conv12;
    private readonly Sequential conv21;
    private readonly Sequential conv22;
    private readonly Sequential conv31;
    private readonly Sequential conv32;

    /// <summary>Creates the module.</summary>
    public AGLNetPyramidFeatureAttention(long channels, string actType) : base("PyramidFeatureAttention")
    {
        conv11 = ConvBlocks.ConvBNAct(channels, 1, new long[] { 1, 7 }, 2, act: actType);
        conv12 = ConvBlocks.ConvBNAct(1, 1, new long[] { 7, 1 }, 1, act: actType);
        conv21 = ConvBlocks.ConvBNAct(1, 1, new long[] { 1, 5 }, 2, act: actType);
        conv22 = ConvBlocks.ConvBNAct(1, 1, new long[] { 5, 1 }, 1, act: actType);
        conv31 = ConvBlocks.ConvBNAct(1, 1, new long[] { 1, 3 }, 2, act: actType);
        conv32 = ConvBlocks.ConvBNAct(1, 1, new long[] { 3, 1 }, 1, act: actType);
        RegisterComponents();
    }

    private static Tensor Resize(Tensor x, long[] size) =>
        functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var d1 = conv11.call(input);
        var x1 = conv12.call(d1);
        var d2 = conv21.call(d1);
        var x2 = conv22.call(d2);
        var x3 = conv32.call(conv31.call(d2));
        var x = Resize(x3, d2.shape[2..]).add(x2);
        x = Resize(x, d1.shape[2..]).add(x1);
        return Resize(x, input.shape[2..]).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// AGLNet's global attention upsample module (GAUM): the high-level map is doubled by a transposed 3×3 conv (with
/// bias) + BN + activation ("up_conv"); the low-level map is gated by a spatial attention ("sab": 1×1 conv to one
/// channel, sigmoid); their product h is gated by a channel attention ("cab": global pooling, 1×1 conv, sigmoid), the
/// gated h is multiplied by h again, and the upsampled map is added.
/// </summary>
internal sealed class AGLNetGlobalAttentionUpsample : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential up_conv;
    private readonly AGLNetSpatialAttention sab;
    private readonly AGLNetChannelAttention cab;

    /// <summary>Creates the module; <paramref name="outChannels"/> must equal <paramref name="lowChannels"/>.</summary>
    public AGLNetGlobalAttentionUpsample(long lowChannels, long highChannels, long outChannels, string actType) : base("GAUM")
    {
        up_conv = Sequential(
            ConvTranspose2d(highChannels, lowChannels, 3, stride: 2, padding: 1, output_padding: 1),
            BatchNorm2d(lowChannels),
            new Activation(actType));
        sab = new AGLNetSpatialAttention(lowChannels);
        cab = new AGLNetChannelAttention(lowChannels, outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor high, Tensor low)
    {
        using var scope = NewDisposeScope();
        var gatedLow = sab.call(low);
        var up = up_conv.call(high);
        var h = up.mul(gatedLow);
        return cab.call(h).mul(h).add(up).MoveToOuterDisposeScope();
    }
}

/// <summary>AGLNet's spatial attention: the input times the sigmoid of a 1×1 conv (no bias) to one channel.</summary>
internal sealed class AGLNetSpatialAttention : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Creates the block.</summary>
    public AGLNetSpatialAttention(long channels) : base("SpatialAttentionBlock")
    {
        conv = ConvBlocks.Conv1x1(channels, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var gate = conv.call(input).sigmoid();
        return input.mul(gate);
    }
}

/// <summary>
/// AGLNet's channel attention: the input times the sigmoid of a 1×1 conv (no bias) of its global average ("pool",
/// "conv").
/// </summary>
internal sealed class AGLNetChannelAttention : Module<Tensor, Tensor>
{
    private readonly AdaptivePool2d pool;
    private readonly Conv2d conv;

    /// <summary>Creates the block.</summary>
    public AGLNetChannelAttention(long inChannels, long outChannels) : base("ChannelAttentionBlock")
    {
        pool = AdaptiveAvgPool2d(1);
        conv = ConvBlocks.Conv1x1(inChannels, outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var gate = conv.call(pool.call(input)).sigmoid();
        return input.mul(gate).MoveToOuterDisposeScope();
    }
}
