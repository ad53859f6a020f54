using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// FSSNet (Zhang et al., "Fast Semantic Segmentation for Scene Perception", 2019): an ENet-style initial block to 16
/// channels (1/2), a downsampling block to 64 channels (1/4) and four factorized bottlenecks, a downsampling block to
/// 128 channels (1/8) and six dilated bottlenecks (dilations 2, 5, 9, 2, 5, 9); the decoder has two upsampling
/// blocks that add the matching downsampling block's output as a skip (to 64 channels at 1/4, then 16 at 1/2), each
/// followed by two plain bottlenecks, and a last ×2 transposed-conv block to the classes. The default activation is
/// PReLU (one shared slope per activation).
/// </summary>
/// <remarks>
/// The skips must match the upsampled maps exactly, so height and width must be multiples of 8. Quirks of the
/// reference kept here: the downsampling blocks' main path starts with a 2×2 stride-2 ConvBNAct without padding
/// beside a padded 3×3 max pool; in the upsampling blocks the skip is added to the block's input before its 1×1 conv
/// and bilinear ×2 resize (align_corners = true), beside a 1×1 / transposed conv / 1×1 path; the last transposed conv
/// still ends in batch norm and the activation. The act_type option takes every activation of the reference's
/// Activation except 'glu' (which halves the channels and cannot work in any network).
/// </remarks>
public sealed class FSSNet : SegmentationModel
{
    private readonly InitialBlock init_block;
    private readonly FSSNetDownsamplingBlock down1;
    private readonly Sequential factorized;
    private readonly FSSNetDownsamplingBlock down2;
    private readonly Sequential dilated;
    private readonly FSSNetUpsamplingBlock up2;
    private readonly Sequential bottleneck2;
    private readonly FSSNetUpsamplingBlock up1;
    private readonly Sequential bottleneck1;
    private readonly DeConvBNAct full_conv;

    /// <summary>Creates FSSNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="actType">Activation name (the reference's act_type, PReLU by default).</param>
    public FSSNet(int numClasses, string actType = "prelu") : base(nameof(FSSNet), numClasses, 8)
    {
        init_block = new InitialBlock(InputChannels, 16, actType);
        down1 = new FSSNetDownsamplingBlock(16, 64, actType);
        factorized = Sequential(Enumerable.Range(0, 4)
            .Select(_ => (Module<Tensor, Tensor>)new FSSNetFactorizedBlock(64, actType)).ToArray());
        down2 = new FSSNetDownsamplingBlock(64, 128, actType);
        dilated = Dilated(128, new long[] { 2, 5, 9, 2, 5, 9 }, actType);
        up2 = new FSSNetUpsamplingBlock(128, 64, actType);
        bottleneck2 = Dilated(64, new long[] { 1, 1 }, actType);
        up1 = new FSSNetUpsamplingBlock(64, 16, actType);
        bottleneck1 = Dilated(16, new long[] { 1, 1 }, actType);
        full_conv = new DeConvBNAct(16, numClasses, act: actType);
        RegisterComponents();
    }

    private static Sequential Dilated(long channels, long[] dilations, string actType) =>
        Sequential(dilations.Select(d => (Module<Tensor, Tensor>)new FSSNetDilatedBlock(channels, d, actType)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = init_block.call(input);
        var d1 = down1.call(x);
        x = factorized.call(d1);
        var d2 = down2.call(x);
        x = dilated.call(d2);
        x = bottleneck2.call(up2.call(x, d2));
        x = bottleneck1.call(up1.call(x, d1));
        x = full_conv.call(x);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// FSSNet's factorized bottleneck: 1×1 ConvBNAct to a quarter of the channels, 1×3 conv + BN (no activation), 3×1
/// ConvBNAct, 1×1 conv + BN back (no activation), all under "conv"; the input is added and the activation applied.
/// </summary>
internal sealed class FSSNetFactorizedBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly Activation act;

    /// <summary>Creates the block.</summary>
    public FSSNetFactorizedBlock(long channels, string actType) : base("FactorizedBlock")
    {
        long hid = channels / 4;
        conv = Sequential(
            ConvBlocks.ConvBNAct(channels, hid, 1, act: actType),
            ConvBlocks.ConvBNAct(hid, hid, new long[] { 1, 3 }, act: "none"),
            ConvBlocks.ConvBNAct(hid, hid, new long[] { 3, 1 }, act: actType),
            ConvBlocks.ConvBNAct(hid, channels, 1, act: "none"));
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var y = conv.call(input);
        using var sum = y.add(input);
        return act.call(sum);
    }
}

/// <summary>
/// FSSNet's dilated bottleneck: 1×1 ConvBNAct to a quarter of the channels, dilated 3×3 ConvBNAct, 1×1 conv + BN back
/// (no activation), all under "conv"; the input is added and the activation applied.
/// </summary>
internal sealed class FSSNetDilatedBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly Activation act;

    /// <summary>Creates the block.</summary>
    public FSSNetDilatedBlock(long channels, long dilation, string actType) : base("DilatedBlock")
    {
        long hid = channels / 4;
        conv = Sequential(
            ConvBlocks.ConvBNAct(channels, hid, 1, act: actType),
            ConvBlocks.ConvBNAct(hid, hid, 3, dilation: dilation, act: actType),
            ConvBlocks.ConvBNAct(hid, channels, 1, act: "none"));
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var y = conv.call(input);
        using var sum = y.add(input);
        return act.call(sum);
    }
}

/// <summary>
/// FSSNet's downsampling block: "conv" = 2×2 stride-2 ConvBNAct (no padding) to a quarter of the output channels,
/// 3×3 ConvBNAct, 1×1 conv + BN to the output channels; "pool" = 3×3 stride-2 max pool (padding 1) and 1×1 conv + BN
/// to the output channels; the sum is activated.
/// </summary>
internal sealed class FSSNetDownsamplingBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly Sequential pool;
    private readonly Activation act;

    /// <summary>Creates the block.</summary>
    public FSSNetDownsamplingBlock(long inChannels, long outChannels, string actType) : base("DownsamplingBlock")
    {
        long hid = outChannels / 4;
        conv = Sequential(
            ConvBlocks.ConvBNAct(inChannels, hid, 2, 2, act: actType),
            ConvBlocks.ConvBNAct(hid, hid, 3, act: actType),
            ConvBlocks.ConvBNAct(hid, outChannels, 1, act: "none"));
        pool = Sequential(MaxPool2d(3, 2, 1), ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: "none"));
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var pooled = pool.call(input);
        var sum = conv.call(input).add(pooled);
        return act.call(sum).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// FSSNet's upsampling block: "deconv" = 1×1 ConvBNAct to a quarter of the input channels, ×2 transposed-conv block,
/// 1×1 conv + BN to the output channels; beside it the input plus the skip goes through a 1×1 conv + BN ("conv") and
/// a bilinear ×2 resize (align_corners = true); the sum is activated.
/// </summary>
internal sealed class FSSNetUpsamplingBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential deconv;
    private readonly Sequential conv;
    private readonly Activation act;

    /// <summary>Creates the block.</summary>
    public FSSNetUpsamplingBlock(long inChannels, long outChannels, string actType) : base("UpsamplingBlock")
    {
        long hid = inChannels / 4;
        deconv = Sequential(
            ConvBlocks.ConvBNAct(inChannels, hid, 1, act: actType),
            new DeConvBNAct(hid, hid, act: actType),
            ConvBlocks.ConvBNAct(hid, outChannels, 1, act: "none"));
        conv = ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: "none");
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor skip)
    {
        using var scope = NewDisposeScope();
        var up = deconv.call(input);
        var x = conv.call(input.add(skip));
        x = functional.interpolate(x, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
        return act.call(x.add(up)).MoveToOuterDisposeScope();
    }
}
