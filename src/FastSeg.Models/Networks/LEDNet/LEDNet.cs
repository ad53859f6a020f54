using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// LEDNet (Wang et al., 2019): an encoder of three ENet-style downsamplers (<see cref="InitialBlock"/>, to 32, 64 and
/// 128 channels) separated by split-shuffle non-bottleneck units (<see cref="SplitShuffleNonBottleneck"/>: 3 at 1/2,
/// 2 at 1/4, then 8 at 1/8 with dilations 1, 2, 5, 9, 2, 5, 9, 17), and an attention pyramid decoder on the 1/8
/// features: a top-down pyramid of stride-2 3×3 ConvBNActs (1/16, 1/32, 1/64) whose per-level class maps are added
/// coarse to fine, multiplied by a 3×3 ConvBNAct class map of the features, plus a global-pooling branch; the result
/// is resized to the input. Every resize is by size (bilinear, align_corners = true), so any input size works.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: the logits are the product and sum of activated (ReLU by default) BN outputs,
/// so they are never produced by a plain linear classifier; the global branch applies a padded 3×3 ConvBNAct to the
/// 1×1 pooled map (only its centre tap sees data) and its batch norm sees one value per image, so training needs a
/// batch of at least two. The reference adds the coarser pyramid levels in place onto the ReLU outputs of
/// left_conv2_2 and left_conv1_2, which makes its own backward pass fail in PyTorch 1.13 ("modified by an inplace
/// operation"); this port adds out of place, which gives the same values and can be trained. The act_type option
/// takes every activation of the reference's Activation except 'glu' (which halves the channels and cannot work in
/// any network).
/// </remarks>
public sealed class LEDNet : SegmentationModel
{
    private readonly Sequential encoder;
    private readonly LEDNetAttentionPyramid apn;

    /// <summary>Creates LEDNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="actType">Activation name (the reference's act_type).</param>
    public LEDNet(int numClasses, string actType = "relu") : base(nameof(LEDNet), numClasses, 1)
    {
        encoder = Sequential(
            new InitialBlock(InputChannels, 32, actType),
            new SplitShuffleNonBottleneck(32, 1, actType),
            new SplitShuffleNonBottleneck(32, 1, actType),
            new SplitShuffleNonBottleneck(32, 1, actType),
            new InitialBlock(32, 64, actType),
            new SplitShuffleNonBottleneck(64, 1, actType),
            new SplitShuffleNonBottleneck(64, 1, actType),
            new InitialBlock(64, 128, actType),
            new SplitShuffleNonBottleneck(128, 1, actType),
            new SplitShuffleNonBottleneck(128, 2, actType),
            new SplitShuffleNonBottleneck(128, 5, actType),
            new SplitShuffleNonBottleneck(128, 9, actType),
            new SplitShuffleNonBottleneck(128, 2, actType),
            new SplitShuffleNonBottleneck(128, 5, actType),
            new SplitShuffleNonBottleneck(128, 9, actType),
            new SplitShuffleNonBottleneck(128, 17, actType));
        apn = new LEDNetAttentionPyramid(128, numClasses, actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = apn.call(encoder.call(input));
        x = functional.interpolate(x, input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// LEDNet's attention pyramid network: three stride-2 3×3 ConvBNActs in a chain (left_conv1_1, left_conv2_1 and the
/// first of left_conv3) give 1/2, 1/4 and 1/8 of the input map; each level is mapped to the output channels by a 3×3
/// ConvBNAct (left_conv1_2, left_conv2_2, the second of left_conv3), and the maps are summed top-down with resizes.
/// The pyramid multiplies a 3×3 ConvBNAct of the input (mid_branch); global average pooling and a 3×3 ConvBNAct
/// (right_branch), resized, are added.
/// </summary>
internal sealed class LEDNetAttentionPyramid : Module<Tensor, Tensor>
{
    private readonly Sequential left_conv1_1;
    private readonly Sequential left_conv1_2;
    private readonly Sequential left_conv2_1;
    private readonly Sequential left_conv2_2;
    private readonly Sequential left_conv3;
    private readonly Sequential mid_branch;
    private readonly Sequential right_branch;

    /// <summary>Creates the module.</summary>
    public LEDNetAttentionPyramid(long inChannels, long outChannels, string actType) : base("AttentionPyramidNetwork")
    {
        left_conv1_1 = ConvBlocks.ConvBNAct(inChannels, inChannels, 3, 2, act: actType);
        left_conv1_2 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: actType);
        left_conv2_1 = ConvBlocks.ConvBNAct(inChannels, inChannels, 3, 2, act: actType);
        left_conv2_2 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: actType);
        left_conv3 = Sequential(
            ConvBlocks.ConvBNAct(inChannels, inChannels, 3, 2, act: actType),
            ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: actType));
        mid_branch = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: actType);
        right_branch = Sequential(AdaptiveAvgPool2d(1), ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: actType));
        RegisterComponents();
    }

    private static Tensor Resize(Tensor x, long[] size) =>
        functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size0 = input.shape[2..];
        var l1 = left_conv1_1.call(input);
        var l2 = left_conv2_1.call(l1);
        var l3 = Resize(left_conv3.call(l2), l2.shape[2..]);
        var p2 = Resize(left_conv2_2.call(l2).add(l3), l1.shape[2..]);
        var p1 = Resize(left_conv1_2.call(l1).add(p2), size0);
        var mid = p1.mul(mid_branch.call(input));
        var right = Resize(right_branch.call(input), size0);
        return mid.add(right).MoveToOuterDisposeScope();
    }
}
