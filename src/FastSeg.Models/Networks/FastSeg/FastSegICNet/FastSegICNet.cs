using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ICNet as lxtGH/Fast_Seg builds it (<c>libs/models/ICNet.py</c>, factory <c>icnet(num_classes)</c>), registered as
/// "fast_seg/icnet". Three branches: the full image through three stride-2 <see cref="FastSegConvBnRelu"/> units
/// (3→32→32→64, 1/8); the half image (bilinear ×0.5, align_corners = true) through the deep stem, layer1 and layer2 of
/// a ResNet-50 <see cref="FastSegPspHead"/> (512 channels, about 1/16); and that layer2 feature map, halved again,
/// through the dilated layer3/layer4 and the head's pyramid pooling module (512 channels, about 1/32). 1×1 units
/// (<c>conv_sub4</c>, <c>conv_sub2</c>) bring the two deep branches to 256 channels; cascade feature fusion merges
/// 1/32 into 1/16 (<c>cff_24</c>) and that into 1/8 (<c>cff_12</c>); the result is upsampled ×2, classified by a 1×1
/// conv (1/4) and upsampled ×4 to the input.
/// </summary>
/// <remarks>
/// <para>Quirks of Fast_Seg kept: the quarter-resolution branch starts from the layer2 <em>features</em>, not from the
/// image, so there is one backbone pass; the backbone's ceil-mode max pool makes the 1/16 branch slightly larger than
/// 1/16 (33×65 at 512×1024); the fusion unit's side classifier reads the coarse branch after its dilated conv and BN;
/// every resize is bilinear with align_corners = true, and the fixed ×0.5, ×2 and ×4 factors mean the logits have the
/// input's size only when height and width are multiples of 8 (<see cref="SegmentationModel.InputMultiple"/>).</para>
/// <para>Deviations from Fast_Seg: its forward returns the list [full, 1/4, 1/8, 1/16] in both modes; here the
/// forward returns the full-resolution logits, and in training mode with auxiliary outputs enabled
/// <see cref="SegmentationOutput.Aux"/> holds the other three in Fast_Seg's order (1/4, 1/8, 1/16, at the
/// resolution Fast_Seg returns them; its CriterionICNet weighs them 0.4 each after resizing them to the labels). The
/// side classifiers are always in the state dict; they are not evaluated when their outputs are not returned.</para>
/// </remarks>
public sealed class FastSegICNet : SegmentationModel
{
    private readonly Sequential conv_sub1;
    private readonly FastSegPspHead backbone;
    private readonly FastSegICNetHead head;
    private readonly FastSegConvBnRelu conv_sub4;
    private readonly FastSegConvBnRelu conv_sub2;
    private readonly bool _aux;

    /// <summary>Creates Fast_Seg's ICNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="aux">Return the three coarser cascade outputs in training mode.</param>
    public FastSegICNet(int numClasses, bool aux = false) : base("ICNet", numClasses, 8)
    {
        _aux = aux;
        conv_sub1 = Sequential(
            new FastSegConvBnRelu(InputChannels, 32, 3, 2, 1),
            new FastSegConvBnRelu(32, 32, 3, 2, 1),
            new FastSegConvBnRelu(32, 64, 3, 2, 1));
        backbone = new FastSegPspHead();
        head = new FastSegICNetHead(numClasses);
        conv_sub4 = new FastSegConvBnRelu(512, 256, 1);
        conv_sub2 = new FastSegConvBnRelu(512, 256, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        bool withAux = _aux && training;

        // Full resolution: three strided units, 1/8.
        var sub1 = conv_sub1.call(input);

        // Half resolution: stem, layer1, layer2 (about 1/16).
        var half = FastSegOperators.UpsampleBy(input, 0.5);
        var sub2 = backbone.layer2.call(backbone.layer1.call(backbone.Stem(half)));

        // Quarter resolution: the layer2 features halved, then the dilated stages and pyramid pooling (about 1/32).
        var quarter = FastSegOperators.UpsampleBy(sub2, 0.5);
        var sub4 = backbone.head.call(backbone.layer4.call(backbone.layer3.call(quarter)));

        sub4 = conv_sub4.call(sub4);
        sub2 = conv_sub2.call(sub2);
        var outputs = head.Run(sub1, sub2, sub4, withAux);
        if (!withAux) return new SegmentationOutput(outputs.Full.MoveToOuterDisposeScope());
        return new SegmentationOutput(outputs.Full.MoveToOuterDisposeScope(), new[]
        {
            outputs.Quarter.MoveToOuterDisposeScope(),
            outputs.Eighth!.MoveToOuterDisposeScope(),
            outputs.Sixteenth!.MoveToOuterDisposeScope(),
        });
    }
}

/// <summary>
/// Fast_Seg's ICNet head (<c>_ICHead</c>): <c>cff_12</c> (128 + 64 → 128) and <c>cff_24</c> (256 + 256 → 128) fusion
/// units, registered in that order, and the 1×1 classifier <c>conv_cls</c> (no bias).
/// </summary>
public sealed class FastSegICNetHead : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly FastSegCascadeFeatureFusion cff_12;
    private readonly FastSegCascadeFeatureFusion cff_24;
    private readonly Conv2d conv_cls;

    /// <summary>Creates the head for <paramref name="numClasses"/> classes.</summary>
    public FastSegICNetHead(long numClasses) : base("_ICHead")
    {
        cff_12 = new FastSegCascadeFeatureFusion(128, 64, 128, numClasses);
        cff_24 = new FastSegCascadeFeatureFusion(256, 256, 128, numClasses);
        conv_cls = Conv2d(128, numClasses, 1, bias: false);
        RegisterComponents();
    }

    /// <summary>The full-resolution logits from the 1/8, 1/16 and 1/32 branches.</summary>
    public override Tensor forward(Tensor sub1, Tensor sub2, Tensor sub4)
    {
        var outputs = Run(sub1, sub2, sub4, false);
        outputs.Quarter.Dispose();
        return outputs.Full;
    }

    /// <summary>
    /// The cascade: full-resolution logits (8× the 1/8 branch), the 1/4 logits and, when <paramref name="withSide"/>,
    /// the fusion units' side outputs at the 1/8 and 1/16 branches' sizes. The caller owns the results.
    /// </summary>
    public (Tensor Full, Tensor Quarter, Tensor? Eighth, Tensor? Sixteenth) Run(Tensor sub1, Tensor sub2, Tensor sub4, bool withSide)
    {
        using var scope = NewDisposeScope();
        var (x24, cls24) = cff_24.Fuse(sub4, sub2, withSide);
        var (x12, cls12) = cff_12.Fuse(x24, sub1, withSide);
        var quarter = conv_cls.call(FastSegOperators.UpsampleBy(x12, 2));
        var full = FastSegOperators.UpsampleBy(quarter, 4);
        return (full.MoveToOuterDisposeScope(), quarter.MoveToOuterDisposeScope(), cls12?.MoveToOuterDisposeScope(), cls24?.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Fast_Seg's cascade feature fusion unit: the coarse input is resized to the fine one's size (bilinear,
/// align_corners = true) and passed through <c>conv_low</c> = 3×3 conv with dilation 2 (padding 2, no bias) and BN;
/// the fine input through <c>conv_high</c> = 1×1 conv (no bias) and BN; the output is the ReLU of their sum. The side
/// classifier <c>conv_low_cls</c> (1×1, no bias) reads the <c>conv_low</c> output.
/// </summary>
public sealed class FastSegCascadeFeatureFusion : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv_low;
    private readonly Sequential conv_high;
    private readonly Conv2d conv_low_cls;

    /// <summary>Creates the unit.</summary>
    public FastSegCascadeFeatureFusion(long lowChannels, long highChannels, long outChannels, long numClasses) : base("CascadeFeatureFusion")
    {
        conv_low = Sequential(Conv2d(lowChannels, outChannels, 3, padding: 2, dilation: 2, bias: false), BatchNorm2d(outChannels));
        conv_high = Sequential(Conv2d(highChannels, outChannels, 1, bias: false), BatchNorm2d(outChannels));
        conv_low_cls = Conv2d(outChannels, numClasses, 1, bias: false);
        RegisterComponents();
    }

    /// <summary>The fused features (the side classifier is not evaluated).</summary>
    public override Tensor forward(Tensor low, Tensor high) => Fuse(low, high, false).Fused;

    /// <summary>The fused features and, when <paramref name="withSide"/>, the side classifier's logits.</summary>
    public (Tensor Fused, Tensor? Side) Fuse(Tensor low, Tensor high, bool withSide)
    {
        using var scope = NewDisposeScope();
        var l = conv_low.call(FastSegOperators.Upsample(low, high.shape[2..]));
        var h = conv_high.call(high);
        var fused = (l + h).relu_();
        var side = withSide ? conv_low_cls.call(l) : null;
        return (fused.MoveToOuterDisposeScope(), side?.MoveToOuterDisposeScope());
    }
}
