using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// LiteSeg (Emara et al., 2019): a MobileNetV2 (or ResNet) encoder, a densely connected ASPP on the 1/32 features
/// (its branches are concatenated with its input), resized to the 1/8 features and concatenated with them, then a
/// head of two 3×3 ConvBNActs (256, 128 channels) and a 1×1 classifier; the logits are resized to the input. Every
/// resize is by size, so any input size works.
/// </summary>
public sealed class LiteSeg : SegmentationModel
{
    private readonly Module<Tensor, Tensor[]> backbone;
    private readonly DASPPModule daspp;
    private readonly Sequential seg_head;

    /// <summary>Creates LiteSeg.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backboneType">mobilenet_v2 or a torchvision ResNet (resnet18, resnet34, resnet50, resnet101).</param>
    /// <param name="act">Activation name.</param>
    public LiteSeg(int numClasses, string backboneType = "mobilenet_v2", string act = "relu")
        : base(nameof(LiteSeg), numClasses, 1)
    {
        IReadOnlyList<int> channels;
        if (backboneType == "mobilenet_v2")
        {
            var mobilenet = new MobileNetV2();
            channels = mobilenet.Channels;
            backbone = mobilenet;
        }
        else if (backboneType.Contains("resnet", StringComparison.Ordinal))
        {
            var resnet = new ResNet(backboneType);
            channels = resnet.Channels;
            backbone = resnet;
        }
        else
        {
            throw new ArgumentException($"LiteSeg does not support the backbone '{backboneType}'", nameof(backboneType));
        }
        daspp = new DASPPModule(channels[3], 512, act);
        long hid = 256;
        seg_head = Sequential(
            ConvBlocks.ConvBNAct(512 + channels[1], hid, 3, act: act),
            ConvBlocks.ConvBNAct(hid, hid / 2, 3, act: act),
            ConvBlocks.Conv1x1(hid / 2, numClasses));
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var f = backbone.call(input);
        var x1 = f[1];
        var x = daspp.call(f[3]);
        x = functional.interpolate(x, x1.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        x = seg_head.call(cat(new[] { x, x1 }, 1));
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// LiteSeg's densely connected ASPP: a 1×1 branch, three 3×3 branches with dilation 3, 6, 9 (in/5 channels each),
/// and global pooling + 1×1 conv (the remaining in − 4·in/5 channels, no BN) resized back; the input and the five
/// branches are concatenated (2·in channels) and reduced by a 1×1 ConvBNAct.
/// </summary>
public sealed class DASPPModule : Module<Tensor, Tensor>
{
    private readonly Sequential stage1;
    private readonly Sequential stage2;
    private readonly Sequential stage3;
    private readonly Sequential stage4;
    private readonly Sequential stage5;
    private readonly Sequential conv;

    /// <summary>Creates the module.</summary>
    public DASPPModule(long inChannels, long outChannels, string act) : base(nameof(DASPPModule))
    {
        long hid = inChannels / 5;
        long last = inChannels - hid * 4;
        stage1 = ConvBlocks.ConvBNAct(inChannels, hid, 1, act: act);
        stage2 = ConvBlocks.ConvBNAct(inChannels, hid, 3, dilation: 3, act: act);
        stage3 = ConvBlocks.ConvBNAct(inChannels, hid, 3, dilation: 6, act: act);
        stage4 = ConvBlocks.ConvBNAct(inChannels, hid, 3, dilation: 9, act: act);
        stage5 = Sequential(AdaptiveAvgPool2d(1), ConvBlocks.Conv1x1(inChannels, last));
        conv = ConvBlocks.ConvBNAct(2 * inChannels, outChannels, 1, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var x1 = stage1.call(input);
        var x2 = stage2.call(input);
        var x3 = stage3.call(input);
        var x4 = stage4.call(input);
        var x5 = functional.interpolate(stage5.call(input), size, mode: InterpolationMode.Bilinear, align_corners: true);
        return conv.call(cat(new[] { input, x1, x2, x3, x4, x5 }, 1)).MoveToOuterDisposeScope();
    }
}
