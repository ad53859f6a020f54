using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ContextNet (Poudel et al., BMVC 2018): two branches over the same image. The full-resolution branch is shallow
/// (a strided 3×3 conv and three depthwise/pointwise pairs, ending at 1/2 of the input with 128 channels) and keeps
/// detail; the low-resolution branch sees the image shrunk to a quarter (bilinear, align_corners = true) and runs a
/// strided conv, MobileNetV2 inverted residuals and a 3×3 conv, ending at 1/32 of the input, for context. Fusion
/// adds a 1×1 conv of the detail features to the context features resized to 1/2 and passed through a dilated (4)
/// depthwise-separable conv and a 1×1 conv, then applies the activation; a 1×1 ConvBNAct gives the logits, which are
/// resized to the input (bilinear, align_corners = true). Any input size works.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: the depthwise convs of the detail branch and the dilated separable conv of the
/// fusion have no activation (neither its depthwise nor its pointwise half); every inverted residual, even with
/// expansion 1, starts with a 1×1 expansion conv that has a bias; the logits pass through batch norm and the
/// network's activation. The activation (<c>act_type</c>, default relu) may be any of the reference's except 'glu',
/// which halves the channels and breaks the network.
/// </remarks>
public sealed class ContextNet : SegmentationModel
{
    private readonly Sequential full_res_branch;
    private readonly ContextNetLowResBranch lower_res_branch;
    private readonly ContextNetFeatureFusion feature_fusion;
    private readonly Sequential classifier;

    /// <summary>Creates ContextNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="act">Activation (the reference's <c>act_type</c>).</param>
    public ContextNet(int numClasses, string act = "relu") : base(nameof(ContextNet), numClasses, 1)
    {
        full_res_branch = Sequential(
            ConvBlocks.ConvBNAct(3, 32, 3, 2, act: act),
            ConvBlocks.DWConvBNAct(32, 32, 3, 1, act: "none"),
            ConvBlocks.PWConvBNAct(32, 64, act: act),
            ConvBlocks.DWConvBNAct(64, 64, 3, 1, act: "none"),
            ConvBlocks.PWConvBNAct(64, 128, act: act),
            ConvBlocks.DWConvBNAct(128, 128, 3, 1, act: "none"),
            ConvBlocks.PWConvBNAct(128, 128, act: act));
        lower_res_branch = new ContextNetLowResBranch(128, act);
        feature_fusion = new ContextNetFeatureFusion(128, 128, 128, act);
        classifier = ConvBlocks.ConvBNAct(128, numClasses, 1, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var quarter = functional.interpolate(input, scale_factor: new[] { 0.25 }, mode: InterpolationMode.Bilinear, align_corners: true);
        var detail = full_res_branch.call(input);
        var context = lower_res_branch.call(quarter);
        var x = classifier.call(feature_fusion.call(detail, context));
        x = functional.interpolate(x, input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// The low-resolution branch: strided 3×3 ConvBNAct to 32 channels, inverted residuals (t, c, n, s) = (1, 32, 1, 1),
/// (6, 32, 1, 1), (6, 48, 3, 2), (6, 64, 3, 2), (6, 96, 2, 1), (6, 128, 2, 1), and a 3×3 ConvBNAct.
/// </summary>
internal sealed class ContextNetLowResBranch : Module<Tensor, Tensor>
{
    private readonly Sequential conv_init;
    private readonly Sequential bottlenecks;
    private readonly Sequential conv_last;

    public ContextNetLowResBranch(long outChannels, string act) : base("Branch_4")
    {
        conv_init = ConvBlocks.ConvBNAct(3, 32, 3, 2, act: act);
        var settings = new (long T, long C, int N, long S)[] { (1, 32, 1, 1), (6, 32, 1, 1), (6, 48, 3, 2), (6, 64, 3, 2), (6, 96, 2, 1), (6, 128, 2, 1) };
        bottlenecks = Sequential();
        long channels = 32;
        foreach (var (t, c, n, s) in settings)
        {
            for (int i = 0; i < n; i++)
            {
                bottlenecks.append(new InvertedResidual(channels, c, i == 0 ? s : 1, t, act));
                channels = c;
            }
        }
        conv_last = ConvBlocks.ConvBNAct(128, outChannels, 3, 1, act: act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var a = conv_init.call(input);
        using var b = bottlenecks.call(a);
        return conv_last.call(b);
    }
}

/// <summary>
/// Fusion: 1×1 conv (no bias) of the detail features plus the context features resized to the detail size and sent
/// through a dilated (4) 3×3 depthwise-separable conv without activation and a 1×1 conv; the sum through the
/// activation (no batch norm after the sum).
/// </summary>
internal sealed class ContextNetFeatureFusion : Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d branch_1_conv;
    private readonly Sequential branch_4_conv;
    private readonly Activation act;

    public ContextNetFeatureFusion(long detailChannels, long contextChannels, long outChannels, string actType) : base("FeatureFusion")
    {
        branch_1_conv = ConvBlocks.Conv1x1(detailChannels, outChannels);
        branch_4_conv = Sequential(
            ConvBlocks.DSConvBNAct(contextChannels, outChannels, 3, dilation: 4, act: "none"),
            ConvBlocks.Conv1x1(outChannels, outChannels));
        act = new Activation(actType);
        RegisterComponents();
    }

    public override Tensor forward(Tensor detail, Tensor context)
    {
        using var scope = NewDisposeScope();
        var d = branch_1_conv.call(detail);
        var c = functional.interpolate(context, detail.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        c = branch_4_conv.call(c);
        return act.call(d + c).MoveToOuterDisposeScope();
    }
}
