using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// BiSeNet V2 (Yu et al., 2021): a wide, shallow detail branch at 1/8 and a narrow, deep semantic branch (stem, gather
/// and expansion layers, context embedding) at 1/32, fused by the bilateral guided aggregation layer. Optional
/// auxiliary heads ("booster") on the semantic branch at 1/4, 1/8, 1/16 and 1/32, returned in training mode at their
/// own resolution.
/// </summary>
public sealed class BiSeNetv2 : SegmentationModel
{
    private readonly Sequential detail_branch;
    private readonly BiSeNetv2SemanticBranch semantic_branch;
    private readonly BiSeNetv2AggregationLayer bga_layer;
    private readonly Sequential seg_head;

    /// <summary>Creates BiSeNet V2.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="useAux">Build the four auxiliary heads (the reference's <c>use_aux</c>).</param>
    /// <param name="act">Activation name.</param>
    public BiSeNetv2(int numClasses, bool useAux = false, string act = "relu") : base(nameof(BiSeNetv2), numClasses, 32)
    {
        UseAux = useAux;
        detail_branch = Sequential(
            ConvBlocks.ConvBNAct(3, 64, 3, 2, act: act),
            ConvBlocks.ConvBNAct(64, 64, 3, 1, act: act),
            ConvBlocks.ConvBNAct(64, 64, 3, 2, act: act),
            ConvBlocks.ConvBNAct(64, 64, 3, 1, act: act),
            ConvBlocks.ConvBNAct(64, 128, 3, 1, act: act),
            ConvBlocks.ConvBNAct(128, 128, 3, 2, act: act),
            ConvBlocks.ConvBNAct(128, 128, 3, 1, act: act),
            ConvBlocks.ConvBNAct(128, 128, 3, 1, act: act));
        semantic_branch = new BiSeNetv2SemanticBranch(3, 128, numClasses, act, useAux);
        bga_layer = new BiSeNetv2AggregationLayer(128, 128, act);
        seg_head = ConvBlocks.SegHead(128, numClasses, act);
        RegisterComponents();
    }

    /// <summary>Whether the auxiliary heads exist.</summary>
    public bool UseAux { get; }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        bool withAux = UseAux && training;
        var detail = detail_branch.call(input);
        var (semantic, aux) = semantic_branch.Forward(input, withAux);
        var x = bga_layer.call(detail, semantic);
        x = seg_head.call(x);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        if (!withAux) return new SegmentationOutput(x.MoveToOuterDisposeScope());
        var extras = aux.Select(a => a.MoveToOuterDisposeScope()).ToArray();
        return new SegmentationOutput(x.MoveToOuterDisposeScope(), extras);
    }
}

/// <summary>
/// The semantic branch: stem (1/4, 16 ch), gather-expansion stages 3 (1/8, 32), 4 (1/16, 64) and 5 (1/32, 128), then
/// the context embedding block; with aux enabled, a SegHead after the stem and after each stage (seg_head2..5).
/// </summary>
internal sealed class BiSeNetv2SemanticBranch : Module<Tensor, Tensor>
{
    private readonly BiSeNetv2StemBlock stage1to2;
    private readonly Sequential stage3;
    private readonly Sequential stage4;
    private readonly Sequential stage5_1to4;
    private readonly BiSeNetv2ContextEmbedding stage5_5;
    private readonly Sequential? seg_head2;
    private readonly Sequential? seg_head3;
    private readonly Sequential? seg_head4;
    private readonly Sequential? seg_head5;

    public BiSeNetv2SemanticBranch(long inChannels, long outChannels, long numClasses, string act, bool useAux) : base("SemanticBranch")
    {
        stage1to2 = new BiSeNetv2StemBlock(inChannels, 16, act);
        stage3 = Sequential(new BiSeNetv2GatherExpansion(16, 32, 2, act), new BiSeNetv2GatherExpansion(32, 32, 1, act));
        stage4 = Sequential(new BiSeNetv2GatherExpansion(32, 64, 2, act), new BiSeNetv2GatherExpansion(64, 64, 1, act));
        stage5_1to4 = Sequential(
            new BiSeNetv2GatherExpansion(64, 128, 2, act),
            new BiSeNetv2GatherExpansion(128, 128, 1, act),
            new BiSeNetv2GatherExpansion(128, 128, 1, act),
            new BiSeNetv2GatherExpansion(128, 128, 1, act));
        stage5_5 = new BiSeNetv2ContextEmbedding(128, outChannels, act);
        if (useAux)
        {
            seg_head2 = ConvBlocks.SegHead(16, numClasses, act);
            seg_head3 = ConvBlocks.SegHead(32, numClasses, act);
            seg_head4 = ConvBlocks.SegHead(64, numClasses, act);
            seg_head5 = ConvBlocks.SegHead(128, numClasses, act);
        }
        RegisterComponents();
    }

    /// <summary>The branch's output (1/32, out channels); the aux heads are not run.</summary>
    public override Tensor forward(Tensor input)
    {
        var (x, _) = Forward(input, withAux: false);
        return x;
    }

    /// <summary>The branch's output and, when <paramref name="withAux"/> (and the heads exist), aux2..aux5.</summary>
    public (Tensor output, Tensor[] aux) Forward(Tensor input, bool withAux)
    {
        withAux &= seg_head2 is not null;
        using var scope = NewDisposeScope();
        var aux = new List<Tensor>();
        var x = stage1to2.call(input);
        if (withAux) aux.Add(seg_head2!.call(x));
        x = stage3.call(x);
        if (withAux) aux.Add(seg_head3!.call(x));
        x = stage4.call(x);
        if (withAux) aux.Add(seg_head4!.call(x));
        x = stage5_1to4.call(x);
        if (withAux) aux.Add(seg_head5!.call(x));
        x = stage5_5.call(x);
        return (x.MoveToOuterDisposeScope(), aux.Select(a => a.MoveToOuterDisposeScope()).ToArray());
    }
}

/// <summary>Stem: 3×3 s2 conv, then [1×1 → C/2, 3×3 s2 → C] beside a 3×3 s2 max pool, concatenated, 3×3 conv to C.</summary>
internal sealed class BiSeNetv2StemBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv_init;
    private readonly Sequential left_branch;
    private readonly MaxPool2d right_branch;
    private readonly Sequential conv_last;

    public BiSeNetv2StemBlock(long inChannels, long outChannels, string act) : base("StemBlock")
    {
        conv_init = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, 2, act: act);
        left_branch = Sequential(
            ConvBlocks.ConvBNAct(outChannels, outChannels / 2, 1, act: act),
            ConvBlocks.ConvBNAct(outChannels / 2, outChannels, 3, 2, act: act));
        right_branch = MaxPool2d(3, 2, 1);
        conv_last = ConvBlocks.ConvBNAct(outChannels * 2, outChannels, 3, 1, act: act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv_init.call(input);
        var joined = cat(new[] { left_branch.call(x), right_branch.call(x) }, 1);
        return conv_last.call(joined).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Gather-and-expansion layer (expansion 6): 3×3 conv, depthwise expansion to 6·in channels (two depthwise convs, the
/// first strided, at stride 2), 1×1 projection; added to the input (stride 1) or to a depthwise s2 + 1×1 shortcut
/// (stride 2), then the activation. As in the reference, the stride-2 shortcut is created before the main branch,
/// so its weights come first in the state dict.
/// </summary>
internal sealed class BiSeNetv2GatherExpansion : Module<Tensor, Tensor>
{
    private readonly Sequential? right_branch;
    private readonly Sequential left_branch;
    private readonly Activation act;

    public BiSeNetv2GatherExpansion(long inChannels, long outChannels, long stride, string actType, long expandRatio = 6)
        : base("GatherExpansionLayer")
    {
        long hid = inChannels * expandRatio;
        var layers = Sequential(ConvBlocks.ConvBNAct(inChannels, inChannels, 3, act: actType));
        if (stride == 2)
        {
            layers.append(ConvBlocks.DWConvBNAct(inChannels, hid, 3, 2, act: "none"));
            layers.append(ConvBlocks.DWConvBNAct(hid, hid, 3, 1, act: "none"));
            right_branch = Sequential(
                ConvBlocks.DWConvBNAct(inChannels, inChannels, 3, 2, act: "none"),
                ConvBlocks.PWConvBNAct(inChannels, outChannels, act: "none"));
        }
        else
        {
            layers.append(ConvBlocks.DWConvBNAct(inChannels, hid, 3, 1, act: "none"));
        }
        layers.append(ConvBlocks.PWConvBNAct(hid, outChannels, act: "none"));
        left_branch = layers;
        act = new Activation(actType);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var res = left_branch.call(input);
        res = right_branch is null ? input + res : right_branch.call(input) + res;
        return act.call(res).MoveToOuterDisposeScope();
    }
}

/// <summary>Context embedding: global average pool → BN → 1×1 ConvBNAct, broadcast-added to the input, then a 3×3 conv.</summary>
internal sealed class BiSeNetv2ContextEmbedding : Module<Tensor, Tensor>
{
    private readonly Sequential pool;
    private readonly Sequential conv_mid;
    private readonly Conv2d conv_last;

    public BiSeNetv2ContextEmbedding(long inChannels, long outChannels, string act) : base("ContextEmbeddingBlock")
    {
        pool = Sequential(AdaptiveAvgPool2d(1), BatchNorm2d(inChannels));
        conv_mid = ConvBlocks.ConvBNAct(inChannels, inChannels, 1, act: act);
        conv_last = ConvBlocks.Conv3x3(inChannels, outChannels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var res = conv_mid.call(pool.call(input));
        return conv_last.call(res + input).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Bilateral guided aggregation: detail features (1/8) gated by the ×4-upsampled semantic sigmoid, and downsampled
/// detail features (1/32) gated by the semantic sigmoid at 1/32; the latter is resized to 1/8, the two summed, then a
/// 3×3 ConvBNAct.
/// </summary>
internal sealed class BiSeNetv2AggregationLayer : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential detail_high;
    private readonly Sequential detail_low;
    private readonly Sequential semantic_high;
    private readonly Sequential semantic_low;
    private readonly Sequential conv_last;

    public BiSeNetv2AggregationLayer(long inChannels, long outChannels, string act) : base("BilateralGuidedAggregationLayer")
    {
        detail_high = Sequential(ConvBlocks.DWConvBNAct(inChannels, inChannels, 3, act: act), ConvBlocks.Conv1x1(inChannels, inChannels));
        detail_low = Sequential(ConvBlocks.DWConvBNAct(inChannels, inChannels, 3, 2, act: act), AvgPool2d(3, 2, 1));
        semantic_high = Sequential(
            ConvBlocks.ConvBNAct(inChannels, inChannels, 3, act: act),
            Upsample(scale_factor: new[] { 4.0 }, mode: InterpolationMode.Bilinear, align_corners: true),
            Sigmoid());
        semantic_low = Sequential(
            ConvBlocks.DWConvBNAct(inChannels, inChannels, 3, act: act),
            ConvBlocks.Conv1x1(inChannels, inChannels),
            Sigmoid());
        conv_last = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor detail, Tensor semantic)
    {
        using var scope = NewDisposeScope();
        var high = detail_high.call(detail) * semantic_high.call(semantic);
        var low = detail_low.call(detail) * semantic_low.call(semantic);
        low = functional.interpolate(low, high.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return conv_last.call(high + low).MoveToOuterDisposeScope();
    }
}
