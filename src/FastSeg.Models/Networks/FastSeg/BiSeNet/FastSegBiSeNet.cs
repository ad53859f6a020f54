using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using FastSeg.Models.Blocks;
using static FastSeg.Models.Blocks.FastSegOperators;
using static FastSeg.Models.Blocks.FastSegOperatorsB;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// lxtGH/Fast_Seg's BiSeNet (<c>libs/models/BiSegNet.py</c>, adapted from TorchSeg; Yu et al., ECCV 2018), with
/// Fast_Seg's state-dict layout.
/// <list type="bullet">
/// <item><c>backbone</c>: a TorchSeg ResNet-18 with the deep stem of width 64 (<see cref="TorchSegResNet"/>).</item>
/// <item><c>spatial_path</c>: FastSegConvBnRelu 7×7 s2 (3→64), two 3×3 s2, and a 1×1 to 128 (1/8).</item>
/// <item><c>global_context</c>: global average pool and a 1×1 FastSegConvBnRelu 512→128, broadcast to layer4's size.</item>
/// <item>Context refinement: layer4 through <c>arms.0</c> (AttentionRefinement 512→128) plus the global context, resized
/// to layer3's size and refined by <c>refines.0</c> (3×3 FastSegConvBnRelu); that plus layer3 through <c>arms.1</c> (256→128),
/// resized to layer2's size (1/8) and refined by <c>refines.1</c>. Resizes are bilinear, align_corners = true, by
/// size.</item>
/// <item><c>ffm</c>: FeatureFusion of [spatial, context] to 256 channels at 1/8.</item>
/// <item><c>heads</c>: <c>heads.2</c> (3×3 FastSegConvBnRelu to 64 + 1×1 with bias) gives the logits at 1/8. With the
/// auxiliary heads (Fast_Seg's <c>is_training=True</c>) <c>heads.0</c> (on the first refined map at 1/16, 3×3
/// FastSegConvBnRelu to 128 + 1×1, upsampled ×2 by scale factor) and <c>heads.1</c> (on the second refined map at 1/8, no
/// resize) exist too; without them the list holds None at 0 and 1, so only <c>heads.2.*</c> keys exist.</item>
/// </list>
/// <para>Kept quirks: the heads' scales are Fast_Seg's 2, 1, 1 (TorchSeg used 16, 8, 8), so the auxiliary logits come
/// out at 1/8; FastSegConvBnRelu's default padding 0; batch norms on globally pooled 1×1 maps (global context, the ARMs'
/// attention), so training needs a batch of at least 2 (PyTorch refuses one; so does this port).</para>
/// <para>Deviations from Fast_Seg's behaviour: (1) Fast_Seg's eval output is log_softmax of the main head at 1/8; the
/// zoo returns the main head's logits resized to the input (bilinear, align_corners = true, as Fast_Seg's losses and
/// val.py resize), so argmax is unchanged. (2) With <c>is_training=True</c> Fast_Seg returns the three raw feature maps
/// (128@1/16, 128@1/8, 256@1/8) without applying any head (a bug: no loss can use them); the zoo applies the heads as
/// TorchSeg intended: logits from <c>heads.2</c> and, in training mode with aux enabled, <see cref="SegmentationOutput.Aux"/>
/// = [<c>heads.0</c> output, <c>heads.1</c> output], both at 1/8. (3) Fast_Seg chooses the mode by the constructor flag,
/// not by train()/eval(); the zoo's aux flag builds the extra heads, and they run only in training mode. (4) Fast_Seg's
/// training script cannot build BiSeNet (it is not in its registry); the zoo's aux loss weights are TorchSeg's (1.0 and
/// 1.0: main + aux0 + aux1), since Fast_Seg has no loss for this network's three outputs. Any input size works (every
/// fusion resizes by size).</para>
/// </summary>
public sealed class FastSegBiSeNet : SegmentationModel
{
    private readonly TorchSegResNet backbone;
    private readonly FastSegBiSeNetSpatialPath spatial_path;
    private readonly Sequential global_context;
    private readonly FeatureFusion ffm;
    private readonly ModuleList<AttentionRefinement> arms;
    private readonly ModuleList<FastSegConvBnRelu> refines;
    private readonly ModuleDict<FastSegBiSeNetHead> heads;

    // The heads again, typed, for the forward pass (registered once, under heads).
    [IgnoreComponent] private readonly FastSegBiSeNetHead _main;
    [IgnoreComponent] private readonly FastSegBiSeNetHead? _aux0;
    [IgnoreComponent] private readonly FastSegBiSeNetHead? _aux1;

    /// <summary>Creates BiSeNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="aux">Build the two auxiliary heads (Fast_Seg's <c>is_training=True</c>).</param>
    public FastSegBiSeNet(int numClasses, bool aux = false) : base(nameof(FastSegBiSeNet), numClasses, 1)
    {
        const long conv = 128;
        backbone = new TorchSegResNet("resnet18", deepStem: true, stemWidth: 64);
        spatial_path = new FastSegBiSeNetSpatialPath(3, conv);
        global_context = Sequential(AdaptiveAvgPool2d(1), new FastSegConvBnRelu(512, conv, 1));
        ffm = new FeatureFusion(conv * 2, conv * 2, 1);
        arms = ModuleList(new AttentionRefinement(512, conv), new AttentionRefinement(256, conv));
        refines = ModuleList(new FastSegConvBnRelu(conv, conv, 3, 1, 1), new FastSegConvBnRelu(conv, conv, 3, 1, 1));
        _main = new FastSegBiSeNetHead(conv * 2, numClasses, 1, isAux: false);
        if (aux)
        {
            _aux0 = new FastSegBiSeNetHead(conv, numClasses, 2, isAux: true);
            _aux1 = new FastSegBiSeNetHead(conv, numClasses, 1, isAux: true);
            heads = ModuleDict(("0", _aux0), ("1", _aux1), ("2", _main));
        }
        else
        {
            heads = ModuleDict(("2", _main));
        }
        RegisterComponents();
    }

    /// <summary>Whether the auxiliary heads exist.</summary>
    public bool HasAuxHeads => _aux0 is not null;

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        RequireBatchForPooledNorm(this, input, "BiSeNet");
        using var scope = NewDisposeScope();
        var spatial = spatial_path.call(input);
        var blocks = backbone.ForwardFeatures(input);
        var (l2, l3, l4) = (blocks[1], blocks[2], blocks[3]);
        var context = Upsample(global_context.call(l4), l4.shape[2..]);
        var refined16 = refines[0].call(Upsample(arms[0].call(l4).add_(context), l3.shape[2..]));
        var refined8 = refines[1].call(Upsample(arms[1].call(l3).add_(refined16), l2.shape[2..]));
        var fused = ffm.call(spatial, refined8);
        var logits = Upsample(_main.call(fused), input.shape[2..]).MoveToOuterDisposeScope();
        if (!training || _aux0 is null) return new SegmentationOutput(logits);
        var aux = new[] { _aux0.call(refined16).MoveToOuterDisposeScope(), _aux1!.call(refined8).MoveToOuterDisposeScope() };
        return new SegmentationOutput(logits, aux);
    }
}

/// <summary>
/// BiSeNet's spatial path in Fast_Seg: FastSegConvBnRelu 7×7 s2 p3 (<c>conv_7x7</c>, to 64), two 3×3 s2 p1
/// (<c>conv_3x3_1</c>, <c>conv_3x3_2</c>) and a 1×1 to the output channels (<c>conv_1x1</c>): 1/8 resolution.
/// </summary>
internal sealed class FastSegBiSeNetSpatialPath : Module<Tensor, Tensor>
{
    private readonly FastSegConvBnRelu conv_7x7;
    private readonly FastSegConvBnRelu conv_3x3_1;
    private readonly FastSegConvBnRelu conv_3x3_2;
    private readonly FastSegConvBnRelu conv_1x1;

    /// <summary>Creates the path.</summary>
    public FastSegBiSeNetSpatialPath(long inChannels, long outChannels) : base("SpatialPath")
    {
        const long inner = 64;
        conv_7x7 = new FastSegConvBnRelu(inChannels, inner, 7, 2, 3);
        conv_3x3_1 = new FastSegConvBnRelu(inner, inner, 3, 2, 1);
        conv_3x3_2 = new FastSegConvBnRelu(inner, inner, 3, 2, 1);
        conv_1x1 = new FastSegConvBnRelu(inner, outChannels, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return conv_1x1.call(conv_3x3_2.call(conv_3x3_1.call(conv_7x7.call(input)))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// BiSeNet's head in Fast_Seg: a 3×3 FastSegConvBnRelu (<c>conv_3x3</c>, to 128 for the auxiliary heads, 64 for the main one)
/// and a 1×1 conv with bias to the classes (<c>conv_1x1</c>), upsampled by <c>scale</c> (bilinear, align_corners =
/// true, by scale factor) when the scale exceeds 1. There is no dropout (it is commented out in Fast_Seg).
/// </summary>
internal sealed class FastSegBiSeNetHead : Module<Tensor, Tensor>
{
    private readonly FastSegConvBnRelu conv_3x3;
    private readonly Conv2d conv_1x1;
    private readonly double _scale;

    /// <summary>Creates the head.</summary>
    public FastSegBiSeNetHead(long inChannels, long numClasses, double scale, bool isAux) : base("BiSeNetHead")
    {
        long hidden = isAux ? 128 : 64;
        conv_3x3 = new FastSegConvBnRelu(inChannels, hidden, 3, 1, 1);
        conv_1x1 = Conv2d(hidden, numClasses, 1);
        _scale = scale;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv_1x1.call(conv_3x3.call(input));
        if (_scale > 1) x = UpsampleBy(x, _scale);
        return x.MoveToOuterDisposeScope();
    }
}
