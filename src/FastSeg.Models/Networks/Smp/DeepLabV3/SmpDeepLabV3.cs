using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// DeepLabV3 as segmentation_models.pytorch builds it (<c>smp.DeepLabV3</c>, defaults): a ResNet encoder dilated to
/// output stride 8 (layer3 at dilation 2, layer4 at dilation 4), ASPP (<see cref="SmpAspp"/>, 256 channels, rates
/// 12, 24, 36) on layer4, a 3×3 conv → BN → ReLU, and a 1×1 head upsampled ×8 (bilinear, align_corners = true).
/// </summary>
/// <remarks>
/// SMP quirks kept: the decoder is a Sequential (keys <c>decoder.0</c> ASPP, <c>decoder.1</c> conv,
/// <c>decoder.2</c> batch norm); the dilation covers every block of the dilated stages (see
/// <see cref="SmpResNetEncoder"/>); the ASPP image-pooling branch resizes with align_corners = false while the head
/// upsamples with align_corners = true.
/// </remarks>
public sealed class SmpDeepLabV3 : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    public SmpDeepLabV3(int numClasses, string encoderName = SmpResNetEncoder.DefaultName)
        : this(numClasses, new SmpResNetEncoder(encoderName, outputStride: 8))
    {
    }

    private SmpDeepLabV3(int numClasses, SmpResNetEncoder encoder)
        : base("DeepLabV3", numClasses, 8, encoder, new SmpDeepLabV3Decoder(encoder.OutChannels[^1], 256),
            SmpBlocks.SegmentationHead(256, numClasses, 1, upsampling: 8))
    {
    }
}

/// <summary>SMP's <c>DeepLabV3Decoder</c> (a Sequential): ASPP ("0"), 3×3 conv ("1"), BN ("2"), ReLU ("3") on the deepest feature.</summary>
public sealed class SmpDeepLabV3Decoder : Module<Tensor[], Tensor>
{
    [ComponentName(Name = "0")] private readonly SmpAspp aspp;
    [ComponentName(Name = "1")] private readonly Conv2d conv;
    [ComponentName(Name = "2")] private readonly BatchNorm2d bn;
    [ComponentName(Name = "3")] private readonly Module<Tensor, Tensor> relu;

    /// <summary>Creates the decoder on <paramref name="inChannels"/> encoder channels.</summary>
    public SmpDeepLabV3Decoder(long inChannels, long outChannels) : base("DeepLabV3Decoder")
    {
        aspp = new SmpAspp(inChannels, outChannels, new[] { 12, 24, 36 });
        conv = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn = BatchNorm2d(outChannels);
        relu = ReLU();
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        return relu.call(bn.call(conv.call(aspp.call(features[^1])))).MoveToOuterDisposeScope();
    }
}
