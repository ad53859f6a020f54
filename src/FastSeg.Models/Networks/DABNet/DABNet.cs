using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// DABNet (Li et al., BMVC 2019): three 3×3 conv-BN-activation layers (the first strided) to 1/2 resolution, an
/// ENet-style downsampler to 1/4 and three depth-wise asymmetric bottleneck (DAB) modules with dilation 2, a strided
/// 3×3 conv-BN-activation to 1/8 and six DAB modules with dilations 4, 4, 8, 8, 16, 16. Each stage's output is
/// concatenated with the stage's first feature map and with an average-pooled copy of the image (3×3, stride 2,
/// padding 1, applied once, twice, three times). A 1×1 conv without bias classifies at 1/8; the logits are resized to
/// the input.
/// </summary>
/// <remarks>
/// <para>A DAB module halves the channels with a 3×3 conv-BN-activation, runs two branches of depthwise 3×1 then 1×3
/// conv-BN-activation (the second branch dilated), adds them, restores the channels with a 1×1 conv-BN-activation and
/// adds the input.</para>
/// <para>Every resolution step rounds up (stride-2 convs and pools with padding 1, average pools counting the
/// padding), so any input size works. The layers keep the reference's names (layer1 … layer15, a name per group of
/// the paper's layers). 'glu' is not offered as an activation: it halves the channels and no network of the
/// reference survives it.</para>
/// </remarks>
public sealed class DABNet : SegmentationModel
{
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly InitialBlock layer4;
    private readonly Sequential layer5_7;
    private readonly Sequential layer8;
    private readonly Sequential layer9_10;
    private readonly Sequential layer11_12;
    private readonly Sequential layer13_14;
    private readonly Conv2d layer15;

    /// <summary>Creates DABNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="act">Activation name (the reference's act_type, PReLU by default).</param>
    public DABNet(int numClasses, string act = "prelu") : base(nameof(DABNet), numClasses, 1)
    {
        long c = InputChannels;
        layer1 = ConvBlocks.ConvBNAct(c, 32, 3, 2, act: act);
        layer2 = ConvBlocks.ConvBNAct(32, 32, 3, 1, act: act);
        layer3 = ConvBlocks.ConvBNAct(32, 32, 3, 1, act: act);
        layer4 = new InitialBlock(32 + c, 64, act);
        layer5_7 = Modules(64, 3, 2, act);
        layer8 = ConvBlocks.ConvBNAct(64 * 2 + c, 128, 3, 2, act: act);
        layer9_10 = Modules(128, 2, 4, act);
        layer11_12 = Modules(128, 2, 8, act);
        layer13_14 = Modules(128, 2, 16, act);
        layer15 = ConvBlocks.Conv1x1(128 * 2 + c, numClasses);
        RegisterComponents();
    }

    private static Sequential Modules(long channels, int count, long dilation, string act) =>
        Sequential(Enumerable.Range(0, count).Select(_ => (Module<Tensor, Tensor>)new DABModule(channels, dilation, act)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        Tensor Pool(Tensor t) => functional.avg_pool2d(t, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 });
        var half = Pool(input);
        var quarter = Pool(half);
        var eighth = Pool(quarter);

        var x = layer3.call(layer2.call(layer1.call(input)));
        x = cat(new[] { x, half }, 1);

        var first2 = layer4.call(x);
        x = layer5_7.call(first2);
        x = cat(new[] { x, first2, quarter }, 1);

        var first3 = layer8.call(x);
        x = layer13_14.call(layer11_12.call(layer9_10.call(first3)));
        x = cat(new[] { x, first3, eighth }, 1);

        x = layer15.call(x);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// DABNet's depth-wise asymmetric bottleneck: "init_conv" 3×3 conv-BN-activation to C/2; "left_branch" depthwise 3×1
/// and 1×3 conv-BN-activation; "right_branch" the same dilated; their sum through "last_conv" 1×1
/// conv-BN-activation back to C, plus the input.
/// </summary>
internal sealed class DABModule : Module<Tensor, Tensor>
{
    private readonly Sequential init_conv;
    private readonly Sequential left_branch;
    private readonly Sequential right_branch;
    private readonly Sequential last_conv;

    /// <summary>Creates the module; <paramref name="channels"/> must be even.</summary>
    public DABModule(long channels, long dilation, string act) : base(nameof(DABModule))
    {
        if (channels % 2 != 0) throw new ArgumentException($"DABModule: channels ({channels}) must be even", nameof(channels));
        long hid = channels / 2;
        init_conv = ConvBlocks.ConvBNAct(channels, hid, 3, act: act);
        left_branch = Sequential(
            ConvBlocks.DWConvBNAct(hid, hid, new long[] { 3, 1 }, act: act),
            ConvBlocks.DWConvBNAct(hid, hid, new long[] { 1, 3 }, act: act));
        right_branch = Sequential(
            ConvBlocks.DWConvBNAct(hid, hid, new long[] { 3, 1 }, dilation: dilation, act: act),
            ConvBlocks.DWConvBNAct(hid, hid, new long[] { 1, 3 }, dilation: dilation, act: act));
        last_conv = ConvBlocks.ConvBNAct(hid, channels, 1, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = init_conv.call(input);
        x = last_conv.call(left_branch.call(x) + right_branch.call(x));
        return (x + input).MoveToOuterDisposeScope();
    }
}
