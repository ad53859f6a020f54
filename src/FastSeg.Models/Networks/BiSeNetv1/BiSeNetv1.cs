using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// BiSeNet v1 (Yu et al., ECCV 2018) as the reference builds it: a spatial path of three stride-2 3×3 convs
/// (128 channels at 1/8) and a context path on a torchvision ResNet whose stride-16 and stride-32 features are refined
/// by attention (ARM), projected to 256 channels and upsampled to 1/8; a feature fusion module joins the two paths and
/// a SegHead gives logits that are resized to the input (bilinear, align_corners = true).
/// </summary>
public sealed class BiSeNetv1 : SegmentationModel
{
    private readonly Sequential spatial_path;
    private readonly BiSeNetv1ContextPath context_path;
    private readonly BiSeNetv1FeatureFusionModule ffm;
    private readonly Sequential seg_head;

    /// <summary>Creates BiSeNet v1.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backboneType">resnet18, resnet34, resnet50 or resnet101.</param>
    /// <param name="act">Activation of the convs outside the backbone.</param>
    public BiSeNetv1(int numClasses, string backboneType = "resnet18", string act = "relu") : base(nameof(BiSeNetv1), numClasses, 32)
    {
        spatial_path = Sequential(
            ConvBlocks.ConvBNAct(3, 128, 3, 2, act: act),
            ConvBlocks.ConvBNAct(128, 128, 3, 2, act: act),
            ConvBlocks.ConvBNAct(128, 128, 3, 2, act: act));
        context_path = new BiSeNetv1ContextPath(256, backboneType, act);
        ffm = new BiSeNetv1FeatureFusionModule(384, 256, act);
        seg_head = ConvBlocks.SegHead(256, numClasses, act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var spatial = spatial_path.call(input);
        var context = context_path.call(input);
        var x = seg_head.call(ffm.call(spatial, context));
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// BiSeNet v1's context path: a torchvision ResNet (<c>backbone</c>); its stride-32 feature is refined by
/// <c>arm_32</c>, plus its global average (broadcast), projected by <c>conv_32</c> (1×1 to 256) and upsampled ×2
/// (by scale factor); the stride-16 feature goes through <c>arm_16</c> and <c>conv_16</c>, is added, and the sum is
/// upsampled ×2 to 1/8.
/// </summary>
public sealed class BiSeNetv1ContextPath : Module<Tensor, Tensor>
{
    private readonly ResNet backbone;
    private readonly AdaptivePool2d pool;
    private readonly BiSeNetv1AttentionRefinementModule arm_16;
    private readonly BiSeNetv1AttentionRefinementModule arm_32;
    private readonly Conv2d conv_16;
    private readonly Conv2d conv_32;

    /// <summary>Creates the path with a torchvision ResNet of <paramref name="backboneType"/>.</summary>
    public BiSeNetv1ContextPath(long outChannels, string backboneType, string act) : base("ContextPath")
    {
        _ = act; // the reference passes act_type here but uses it nowhere in the context path
        backbone = new ResNet(backboneType);
        long c16 = backbone.Channels[2], c32 = backbone.Channels[3];
        pool = AdaptiveAvgPool2d(1);
        arm_16 = new BiSeNetv1AttentionRefinementModule(c16);
        arm_32 = new BiSeNetv1AttentionRefinementModule(c32);
        conv_16 = ConvBlocks.Conv1x1(c16, outChannels);
        conv_32 = ConvBlocks.Conv1x1(c32, outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var features = backbone.ForwardFeatures(input);
        var x16 = features[2];
        var x32 = features[3];
        var x32Avg = pool.call(x32);
        x32 = arm_32.call(x32).add_(x32Avg);
        x32 = conv_32.call(x32);
        x32 = functional.interpolate(x32, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
        x16 = conv_16.call(arm_16.call(x16)).add_(x32);
        x16 = functional.interpolate(x16, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
        return x16.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// BiSeNet's attention refinement module (also used by STDC): global average pool, broadcast back to the feature's
/// size, a 1×1 ConvBNAct with sigmoid (applied to the broadcast map, as the reference does), multiplied into the feature.
/// </summary>
public sealed class BiSeNetv1AttentionRefinementModule : Module<Tensor, Tensor>
{
    private readonly AdaptivePool2d pool;
    private readonly Sequential conv;

    /// <summary>Creates the module for <paramref name="channels"/> channels.</summary>
    public BiSeNetv1AttentionRefinementModule(long channels) : base("AttentionRefinementModule")
    {
        pool = AdaptiveAvgPool2d(1);
        conv = ConvBlocks.ConvBNAct(channels, channels, 1, act: "sigmoid");
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var attention = conv.call(pool.call(input).expand_as(input));
        return (input * attention).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// BiSeNet's feature fusion module (also used by STDC): concatenate the two inputs, a 3×3 ConvBNAct to the output
/// channels, then a channel attention (global average pool broadcast back to full size, 1×1 conv, ReLU, 1×1 conv,
/// sigmoid) whose product with the feature is added to it.
/// </summary>
public sealed class BiSeNetv1FeatureFusionModule : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly AdaptivePool2d pool;
    private readonly Sequential conv2;

    /// <summary>Creates the module.</summary>
    public BiSeNetv1FeatureFusionModule(long inChannels, long outChannels, string act) : base("FeatureFusionModule")
    {
        conv1 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: act);
        pool = AdaptiveAvgPool2d(1);
        conv2 = Sequential(
            ConvBlocks.Conv1x1(outChannels, outChannels),
            ReLU(),
            ConvBlocks.Conv1x1(outChannels, outChannels),
            Sigmoid());
        RegisterComponents();
    }

    /// <summary>Fuses <paramref name="low"/> and <paramref name="high"/> (concatenated in that order).</summary>
    public override Tensor forward(Tensor low, Tensor high)
    {
        using var scope = NewDisposeScope();
        var x = conv1.call(torch.cat(new[] { low, high }, 1));
        var attention = conv2.call(pool.call(x).expand_as(x));
        return (x + x * attention).MoveToOuterDisposeScope();
    }
}
