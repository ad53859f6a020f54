using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ICNet (Zhao et al., 2018): an image cascade over three resolutions. The quarter-resolution image goes through a
/// dilated ResNet (stride 8, so 1/32 of the input) and a pyramid pooling module; the half-resolution image through the
/// same ResNet up to layer2 (1/16); the full image through three strided convs (1/8). Cascade feature fusion units
/// merge them coarse to fine; the head works at 1/4 and the logits are resized to the input. With auxiliary heads
/// enabled, training mode also returns the two fusion units' classifier outputs (1/16 and 1/8, not upsampled).
/// </summary>
/// <remarks>
/// As in the reference, the half-resolution pass runs the whole backbone (layer3 and layer4 too, whose output is
/// discarded). That only matters in training mode, where it updates those layers' batch-norm statistics a second
/// time, so it is reproduced there; in eval mode the unused layers are skipped, which changes nothing observable.
/// </remarks>
public sealed class ICNet : SegmentationModel
{
    private readonly ICNetResNet backbone;
    private readonly Sequential bottom_branch;
    private readonly PyramidPoolingModule ppm;
    private readonly CascadeFeatureFusionUnit cff42;
    private readonly CascadeFeatureFusionUnit cff21;
    private readonly Sequential seg_head;
    private readonly bool _useAux;

    /// <summary>Creates ICNet on a dilated torchvision ResNet (resnet18, resnet34, resnet50 or resnet101).</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backboneType">resnet18, resnet34, resnet50 or resnet101.</param>
    /// <param name="useAux">Build the two auxiliary classifiers (returned in training mode).</param>
    /// <param name="act">Activation name.</param>
    public ICNet(int numClasses, string backboneType = "resnet18", bool useAux = false, string act = "relu")
        : base(nameof(ICNet), numClasses, 32)
    {
        backbone = new ICNetResNet(backboneType);
        bool basic = !backbone.IsBottleneck;
        long deepChannels = basic ? 512 : 2048;
        long midChannels = basic ? 128 : 512;
        _useAux = useAux;
        bottom_branch = Sequential(
            ConvBlocks.ConvBNAct(InputChannels, 32, 3, 2, act: act),
            ConvBlocks.ConvBNAct(32, 64, 3, 2, act: act),
            ConvBlocks.ConvBNAct(64, 128, 3, 2, act: act));
        ppm = new PyramidPoolingModule(deepChannels, 256, act);
        cff42 = new CascadeFeatureFusionUnit(256, midChannels, 128, numClasses, act, useAux);
        cff21 = new CascadeFeatureFusionUnit(128, 128, 128, numClasses, act, useAux);
        seg_head = ConvBlocks.SegHead(128, numClasses, act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        bool withAux = _useAux && training;
        var half = functional.interpolate(input, scale_factor: new[] { 0.5 }, mode: InterpolationMode.Bilinear, align_corners: true);
        var quarter = functional.interpolate(input, scale_factor: new[] { 0.25 }, mode: InterpolationMode.Bilinear, align_corners: true);

        // Lowest resolution: the whole dilated backbone, 1/32 of the input, then pyramid pooling.
        var (deep, _) = backbone.Run(quarter, throughLayer4: true);
        var low = ppm.call(deep!);

        // Medium resolution: layer2 of the same backbone, 1/16 (the reference runs the rest too; see remarks).
        var (_, medium) = backbone.Run(half, throughLayer4: training);

        // High resolution: three strided convs, 1/8.
        var high = bottom_branch.call(input);

        var (fused16, aux2) = cff42.Fuse(low, medium, withAux);
        var (fused8, aux3) = cff21.Fuse(fused16, high, withAux);

        var x = functional.interpolate(fused8, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
        x = seg_head.call(x);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);

        if (!withAux) return new SegmentationOutput(x.MoveToOuterDisposeScope());
        return new SegmentationOutput(x.MoveToOuterDisposeScope(),
            new[] { aux2!.MoveToOuterDisposeScope(), aux3!.MoveToOuterDisposeScope() });
    }
}

/// <summary>
/// ICNet's cascade feature fusion: the coarser input is upsampled ×2 and passed through a 3×3 conv with dilation 2
/// (BN, no activation), the finer one through a 1×1 conv (BN, no activation); their sum goes through the activation.
/// The optional auxiliary classifier (a SegHead) reads the upsampled coarse input.
/// </summary>
public sealed class CascadeFeatureFusionUnit : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly Sequential conv2;
    private readonly Activation act;
    private readonly Sequential? classifier;

    /// <summary>Creates the unit.</summary>
    /// <param name="coarseChannels">Channels of the coarse (upsampled) input.</param>
    /// <param name="fineChannels">Channels of the fine input.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="numClasses">Classes of the auxiliary classifier.</param>
    /// <param name="actType">Activation name.</param>
    /// <param name="useAux">Build the auxiliary classifier.</param>
    public CascadeFeatureFusionUnit(long coarseChannels, long fineChannels, long outChannels, long numClasses, string actType, bool useAux)
        : base(nameof(CascadeFeatureFusionUnit))
    {
        conv1 = ConvBlocks.ConvBNAct(coarseChannels, outChannels, 3, 1, 2, act: "none");
        conv2 = ConvBlocks.ConvBNAct(fineChannels, outChannels, 1, act: "none");
        act = new Activation(actType);
        if (useAux) classifier = ConvBlocks.SegHead(coarseChannels, numClasses, actType);
        RegisterComponents();
    }

    /// <summary>The fused features (auxiliary output not computed).</summary>
    public override Tensor forward(Tensor coarse, Tensor fine) => Fuse(coarse, fine, false).Fused;

    /// <summary>The fused features and, when <paramref name="withAux"/> and the classifier exists, its logits.</summary>
    public (Tensor Fused, Tensor? Aux) Fuse(Tensor coarse, Tensor fine, bool withAux)
    {
        using var scope = NewDisposeScope();
        var up = functional.interpolate(coarse, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
        var aux = withAux && classifier is not null ? classifier.call(up) : null;
        var a = conv1.call(up);
        var b = conv2.call(fine);
        var fused = act.call(a + b);
        return (fused.MoveToOuterDisposeScope(), aux?.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// ICNet's own ResNet wrapper: torchvision's ResNet (conv1, bn1, relu, maxpool, layer1..layer4, torchvision names)
/// with the stride removed from the first block of layer3 and layer4. In those blocks the shortcut's 1×1 conv
/// becomes stride 1 and the strided 3×3 conv (conv1 of a basic block, conv2 of a bottleneck) becomes stride 1 with
/// dilation and padding 2 (layer3) or 4 (layer4); the replaced convs take over the original weights and keep their
/// state-dict positions. The other blocks stay undilated. Overall stride 8; returns (layer4, layer2).
/// </summary>
public sealed class ICNetResNet : Module<Tensor, (Tensor Layer4, Tensor Layer2)>
{
    private static readonly string[] Supported = { "resnet18", "resnet34", "resnet50", "resnet101" };

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Module<Tensor, Tensor> relu;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;

    /// <summary>Builds the torchvision ResNet <paramref name="variant"/> and dilates it.</summary>
    public ICNetResNet(string variant) : base("ResNet")
    {
        if (!Supported.Contains(variant))
            throw new ArgumentException($"ICNet does not support ResNet '{variant}'; valid: {string.Join(", ", Supported)}", nameof(variant));
        // The torchvision network is only a source of layers: its children are taken over (and owned) here.
        var resnet = new ResNet(variant);
        IsBottleneck = resnet.IsBottleneck;
        conv1 = resnet.conv1;
        bn1 = resnet.bn1;
        relu = resnet.relu;
        maxpool = resnet.maxpool;
        layer1 = resnet.layer1;
        layer2 = resnet.layer2;
        layer3 = resnet.layer3;
        layer4 = resnet.layer4;
        RemoveStride(layer3[0], 2);
        RemoveStride(layer4[0], 4);
        RegisterComponents();
    }

    /// <summary>Whether the blocks are bottlenecks (resnet50, resnet101).</summary>
    public bool IsBottleneck { get; }

    private static void RemoveStride(Module<Tensor, Tensor> block, long dilation)
    {
        switch (block)
        {
            case BasicBlock basic:
                basic.register_module("conv1", Dilated(basic.conv1, dilation));
                basic.register_module("downsample", Unstrided(basic.downsample!));
                break;
            case Bottleneck bottleneck:
                bottleneck.register_module("conv2", Dilated(bottleneck.conv2, dilation));
                bottleneck.register_module("downsample", Unstrided(bottleneck.downsample!));
                break;
            default:
                throw new InvalidOperationException("unexpected ResNet block " + block.GetName());
        }
    }

    // A stride-1 3×3 conv with the given dilation (= padding), carrying the old conv's weights; the old one is freed.
    private static Conv2d Dilated(Conv2d old, long dilation)
    {
        var conv = Conv2d(old.in_channels, old.out_channels, 3, stride: 1, padding: dilation, dilation: dilation, bias: false);
        CopyWeight(old, conv);
        return conv;
    }

    // The shortcut [1×1 conv stride 2, BN] with its conv replaced by a stride-1 one (same weights), BN kept.
    private static Sequential Unstrided(Sequential downsample)
    {
        var old = (Conv2d)downsample[0];
        var conv = Conv2d(old.in_channels, old.out_channels, 1, stride: 1, bias: false);
        CopyWeight(old, conv);
        return Sequential(conv, downsample[1]);
    }

    private static void CopyWeight(Conv2d from, Conv2d to)
    {
        using (no_grad()) to.weight.copy_(from.weight);
        from.Dispose();
    }

    /// <inheritdoc />
    public override (Tensor Layer4, Tensor Layer2) forward(Tensor input)
    {
        var (x4, x2) = Run(input, throughLayer4: true);
        return (x4!, x2);
    }

    /// <summary>
    /// Runs the stem, layer1 and layer2 and, when <paramref name="throughLayer4"/>, layer3 and layer4 (otherwise the
    /// first result is null). The caller owns the results.
    /// </summary>
    public (Tensor? Layer4, Tensor Layer2) Run(Tensor input, bool throughLayer4)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(relu.call(bn1.call(conv1.call(input))));
        x = layer1.call(x);
        var x2 = layer2.call(x);
        if (!throughLayer4) return (null, x2.MoveToOuterDisposeScope());
        var x4 = layer4.call(layer3.call(x2));
        return (x4.MoveToOuterDisposeScope(), x2.MoveToOuterDisposeScope());
    }
}
