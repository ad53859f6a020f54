using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// DeepLabV3+ as segmentation_models.pytorch builds it (<c>smp.DeepLabV3Plus</c>, defaults): a ResNet encoder dilated
/// to output stride 16 (layer4 at dilation 2); ASPP with depthwise-separable atrous convs (<see cref="SmpAspp"/>,
/// 256 channels, rates 12, 24, 36) and a separable 3×3 conv → BN → ReLU on layer4, upsampled ×4 (bilinear,
/// align_corners = true) to 1/4; layer1 reduced to 48 channels (1×1 conv → BN → ReLU) and concatenated after it; a
/// separable 3×3 conv → BN → ReLU; and a 1×1 head upsampled ×4.
/// </summary>
/// <remarks>
/// SMP quirks kept: the separable convs' depthwise part never has a bias and their pointwise part has none either
/// (SMP passes bias = false); the ASPP image-pooling branch resizes with align_corners = false while both ×4
/// upsamplings use align_corners = true.
/// </remarks>
public sealed class SmpDeepLabV3Plus : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    public SmpDeepLabV3Plus(int numClasses, string encoderName = SmpResNetEncoder.DefaultName)
        : this(numClasses, new SmpResNetEncoder(encoderName, outputStride: 16))
    {
    }

    private SmpDeepLabV3Plus(int numClasses, SmpResNetEncoder encoder)
        : base("DeepLabV3Plus", numClasses, 16, encoder, new SmpDeepLabV3PlusDecoder(encoder.OutChannels, 256, 16),
            SmpBlocks.SegmentationHead(256, numClasses, 1, upsampling: 4))
    {
    }
}

/// <summary>SMP's <c>DeepLabV3PlusDecoder</c>: <c>aspp</c>, <c>up</c> (no state), <c>block1</c> (high-resolution reduction), <c>block2</c> (fusion).</summary>
public sealed class SmpDeepLabV3PlusDecoder : Module<Tensor[], Tensor>
{
    private readonly Sequential aspp;
    private readonly Module<Tensor, Tensor> up;
    private readonly Sequential block1;
    private readonly Sequential block2;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    /// <param name="encoderChannels">The encoder's channels, the input first.</param>
    /// <param name="outChannels">ASPP and output channels.</param>
    /// <param name="outputStride">The encoder's output stride, 16 (upsampling ×4) or 8 (×2).</param>
    public SmpDeepLabV3PlusDecoder(IReadOnlyList<int> encoderChannels, long outChannels, int outputStride) : base("DeepLabV3PlusDecoder")
    {
        if (outputStride is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "the output stride must be 8 or 16");
        aspp = Sequential(
            new SmpAspp(encoderChannels[^1], outChannels, new[] { 12, 24, 36 }, separable: true),
            SmpBlocks.SeparableConv2d(outChannels, outChannels, 3, padding: 1, bias: false),
            BatchNorm2d(outChannels),
            ReLU());
        up = Upsample(scale_factor: new double[] { outputStride == 8 ? 2 : 4 }, mode: InterpolationMode.Bilinear, align_corners: true);
        const int highResOut = 48;
        block1 = Sequential(Conv2d(encoderChannels[^4], highResOut, 1, bias: false), BatchNorm2d(highResOut), ReLU());
        block2 = Sequential(
            SmpBlocks.SeparableConv2d(highResOut + outChannels, outChannels, 3, padding: 1, bias: false),
            BatchNorm2d(outChannels),
            ReLU());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        var context = up.call(aspp.call(features[^1]));
        var detail = block1.call(features[^4]);
        return block2.call(cat(new[] { context, detail }, 1)).MoveToOuterDisposeScope();
    }
}
