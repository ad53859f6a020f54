using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// Fast-SCNN (Poudel et al., 2019): "learning to downsample" to 1/8 (a conv and two depthwise-separable convs), a
/// global feature extractor of MobileNetV2 inverted residuals down to 1/32 with pyramid pooling, a feature fusion of
/// both resolutions, and a classifier of two depthwise-separable convs and a pointwise conv (with BN and ReLU on the
/// logits, as in the reference), upsampled to the input size.
/// </summary>
public sealed class FastSCNN : SegmentationModel
{
    private readonly Sequential learning_to_downsample;
    private readonly FastSCNNGlobalFeatureExtractor global_feature_extractor;
    private readonly FastSCNNFeatureFusion feature_fusion;
    private readonly Sequential classifier;

    /// <summary>Creates Fast-SCNN.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="act">Activation name.</param>
    public FastSCNN(int numClasses, string act = "relu") : base(nameof(FastSCNN), numClasses, 1)
    {
        learning_to_downsample = Sequential(
            ConvBlocks.ConvBNAct(3, 32, 3, 2, act: act),
            ConvBlocks.DSConvBNAct(32, 48, 3, 2, act: act),
            ConvBlocks.DSConvBNAct(48, 64, 3, 2, act: act));
        global_feature_extractor = new FastSCNNGlobalFeatureExtractor(64, 128, act);
        feature_fusion = new FastSCNNFeatureFusion(64, 128, 128, act);
        classifier = Sequential(
            ConvBlocks.DSConvBNAct(128, 128, 3, 1, act: act),
            ConvBlocks.DSConvBNAct(128, 128, 3, 1, act: act),
            ConvBlocks.PWConvBNAct(128, numClasses, act: act));
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var higher = learning_to_downsample.call(input);
        var lower = global_feature_extractor.call(higher);
        var x = classifier.call(feature_fusion.call(higher, lower));
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>Inverted residuals (t, c, n, s) = (6, 64, 3, 2), (6, 96, 2, 2), (6, 128, 3, 1), then pyramid pooling (with bias).</summary>
internal sealed class FastSCNNGlobalFeatureExtractor : Module<Tensor, Tensor>
{
    private readonly Sequential bottlenecks;
    private readonly PyramidPoolingModule ppm;

    public FastSCNNGlobalFeatureExtractor(long inChannels, long outChannels, string act) : base("GlobalFeatureExtractor")
    {
        var settings = new (long T, long C, int N, long S)[] { (6, 64, 3, 2), (6, 96, 2, 2), (6, 128, 3, 1) };
        bottlenecks = Sequential();
        foreach (var (t, c, n, s) in settings)
        {
            for (int i = 0; i < n; i++)
            {
                bottlenecks.append(new InvertedResidual(inChannels, c, i == 0 ? s : 1, t, act));
                inChannels = c;
            }
        }
        ppm = new PyramidPoolingModule(inChannels, outChannels, act, bias: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var x = bottlenecks.call(input);
        return ppm.call(x);
    }
}

/// <summary>
/// Feature fusion: 1×1 conv on the 1/8 features; the 1/32 features resized to 1/8, then depthwise 3×3 ConvBNAct and
/// 1×1 conv; the sum through BN and the activation.
/// </summary>
internal sealed class FastSCNNFeatureFusion : Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d higher_res_conv;
    private readonly Sequential lower_res_conv;
    private readonly Sequential non_linear;

    public FastSCNNFeatureFusion(long higherChannels, long lowerChannels, long outChannels, string act) : base("FeatureFusionModule")
    {
        higher_res_conv = ConvBlocks.Conv1x1(higherChannels, outChannels);
        lower_res_conv = Sequential(
            ConvBlocks.DWConvBNAct(lowerChannels, lowerChannels, 3, 1, act: act),
            ConvBlocks.Conv1x1(lowerChannels, outChannels));
        non_linear = Sequential(BatchNorm2d(outChannels), new Activation(act));
        RegisterComponents();
    }

    public override Tensor forward(Tensor higher, Tensor lower)
    {
        using var scope = NewDisposeScope();
        var h = higher_res_conv.call(higher);
        var l = functional.interpolate(lower, higher.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        l = lower_res_conv.call(l);
        return non_linear.call(h + l).MoveToOuterDisposeScope();
    }
}
