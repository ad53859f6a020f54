using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// SwiftNet (Oršić et al., 2019), single-scale: an ImageNet encoder (ResNet or MobileNetV2) whose 1/4, 1/8 and 1/16
/// features are projected to the decoder width by 1×1 lateral connections; pyramid pooling on the 1/32 features, then
/// a ladder-style decoder that upsamples ×2, adds the lateral feature and applies a 3×3 conv, three times. The last
/// conv produces the classes (with BN and activation, as in the reference) at 1/4; the logits are resized to the input.
/// </summary>
public sealed class SwiftNet : SegmentationModel
{
    private readonly Module<Tensor, Tensor[]> backbone;
    private readonly Sequential connection1;
    private readonly Sequential connection2;
    private readonly Sequential connection3;
    private readonly PyramidPoolingModule spp;
    private readonly SwiftNetDecoder decoder;

    /// <summary>Creates SwiftNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backboneType">A torchvision ResNet (resnet18, resnet34, resnet50, resnet101) or mobilenet_v2.</param>
    /// <param name="upChannels">Decoder width.</param>
    /// <param name="act">Activation name.</param>
    public SwiftNet(int numClasses, string backboneType = "resnet18", long upChannels = 128, string act = "relu")
        : base(nameof(SwiftNet), numClasses, 32)
    {
        IReadOnlyList<int> channels;
        if (backboneType.Contains("resnet", StringComparison.Ordinal))
        {
            var resnet = new ResNet(backboneType);
            channels = resnet.Channels;
            backbone = resnet;
        }
        else if (backboneType == "mobilenet_v2")
        {
            var mobilenet = new MobileNetV2();
            channels = mobilenet.Channels;
            backbone = mobilenet;
        }
        else
        {
            throw new ArgumentException($"SwiftNet does not support the backbone '{backboneType}'", nameof(backboneType));
        }
        connection1 = ConvBlocks.ConvBNAct(channels[0], upChannels, 1, act: act);
        connection2 = ConvBlocks.ConvBNAct(channels[1], upChannels, 1, act: act);
        connection3 = ConvBlocks.ConvBNAct(channels[2], upChannels, 1, act: act);
        spp = new PyramidPoolingModule(channels[3], upChannels, act, bias: true);
        decoder = new SwiftNetDecoder(upChannels, numClasses, act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var f = backbone.call(input);
        var x1 = connection1.call(f[0]);
        var x2 = connection2.call(f[1]);
        var x3 = connection3.call(f[2]);
        var x4 = spp.call(f[3]);
        var x = decoder.Decode(x4, x1, x2, x3);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>SwiftNet's decoder: three times (×2 bilinear upsampling, add the lateral feature, 3×3 ConvBNAct).</summary>
public sealed class SwiftNetDecoder : Module<Tensor, Tensor>
{
    private readonly Sequential up_stage3;
    private readonly Sequential up_stage2;
    private readonly Sequential up_stage1;

    /// <summary>Creates the decoder; the last stage maps <paramref name="channels"/> to <paramref name="numClasses"/>.</summary>
    public SwiftNetDecoder(long channels, long numClasses, string act) : base("Decoder")
    {
        up_stage3 = ConvBlocks.ConvBNAct(channels, channels, 3, act: act);
        up_stage2 = ConvBlocks.ConvBNAct(channels, channels, 3, act: act);
        up_stage1 = ConvBlocks.ConvBNAct(channels, numClasses, 3, act: act);
        RegisterComponents();
    }

    /// <summary>Not used on its own: the decoder needs the lateral features (see <see cref="Decode"/>).</summary>
    public override Tensor forward(Tensor input) =>
        throw new NotSupportedException("SwiftNetDecoder needs the lateral features; call Decode");

    /// <summary>Decodes the pooled 1/32 features <paramref name="x"/> with the laterals at 1/4, 1/8 and 1/16.</summary>
    public Tensor Decode(Tensor x, Tensor x1, Tensor x2, Tensor x3)
    {
        using var scope = NewDisposeScope();
        x = Up(x).add_(x3);
        x = up_stage3.call(x);
        x = Up(x).add_(x2);
        x = up_stage2.call(x);
        x = Up(x).add_(x1);
        x = up_stage1.call(x);
        return x.MoveToOuterDisposeScope();
    }

    private static Tensor Up(Tensor x) =>
        functional.interpolate(x, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
}
