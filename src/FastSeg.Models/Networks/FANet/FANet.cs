using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// FANet, real-time segmentation with fast attention (Hu et al., 2020): a torchvision ResNet-18/34 whose first block
/// of layer1 is replaced by a stride-2 basic block, so its four stages come out at 1/8, 1/16, 1/32 and 1/64. Each
/// stage goes through a fast attention module (3×3 query, key and value ConvBNActs to <c>att_channel</c> channels,
/// query and key L2-normalised over the channels, y = q·(kᵀ·v) / (H·W), a 3×3 ConvBNAct, plus the value) and a
/// fuse-up step (from the deepest stage up: the deeper result, upsampled ×2 by a transposed ConvBNAct, is added,
/// then a 3×3 ConvBNAct). With <c>cat_feat</c> (default) the four fused maps are resized to 1/8 and concatenated
/// before the segmentation head (3×3 ConvBNAct to 128, 1×1 conv); otherwise the head sees only the 1/8 map. The
/// logits are resized (bilinear, align_corners) to the input. The ×2 transposed convs must meet the next stage
/// exactly, so H and W must be multiples of 64.
/// </summary>
/// <remarks>
/// Kept from the reference: the replacement block of layer1 is a freshly initialised torchvision basic block
/// (64→64, stride 2, shortcut = 1×1 stride-2 conv + BN; the same keys as torchvision's shortcut), so it does not take
/// ImageNet weights and uses PyTorch's default conv initialisation; the query, key and value convs have BN but no
/// activation; the value is added after the fusion conv. Evaluation order differs in one respect: the reference
/// multiplies kᵀ·v first, which builds an (H·W)×(H·W) matrix; here q·kᵀ (C×C) is formed first, the linear-cost
/// order the paper describes. Both are the same product; the results agree to float rounding (the fixtures check
/// 1e-4) while memory and time no longer grow with the square of the pixel count. Because the reference builds the
/// fuse-up activations with <c>inplace=True</c>, only activations that accept that flag can be chosen
/// (<see cref="InplaceActivations"/>). The reference adds the value to the output of conv_fuse in place, which
/// overwrites the ReLU output that autograd saved, so the reference itself cannot be trained with act_type relu
/// ("modified by an inplace operation" at backward); here the add is out of place: the same numbers, and backward works.
/// </remarks>
public sealed class FANet : SegmentationModel
{
    /// <summary>The encoders FANet accepts (the reference raises for any other; the first is its default).</summary>
    public static readonly string[] Backbones = { "resnet18", "resnet34" };

    private readonly ResNet backbone;
    private readonly ModuleList<FANetFastAttention> fast_attention;
    private readonly ModuleList<FANetFuseUp> fuse_up;
    private readonly Sequential seg_head;
    private readonly bool _catFeat;

    /// <summary>Creates FANet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="attChannel">Channels of the attention and fusion maps (the reference's att_channel).</param>
    /// <param name="backboneType">resnet18 or resnet34.</param>
    /// <param name="catFeat">Concatenate all four fused maps before the head (the reference's cat_feat).</param>
    /// <param name="act">The reference's act_type (not the ResNet's).</param>
    public FANet(int numClasses, long attChannel = 32, string backboneType = "resnet18", bool catFeat = true, string act = "relu")
        : base(nameof(FANet), numClasses, 64)
    {
        if (!Backbones.Contains(backboneType))
            throw new ArgumentException($"FANet does not support the backbone '{backboneType}'; valid: {string.Join(", ", Backbones)}", nameof(backboneType));
        backbone = new ResNet(backboneType);
        // Halve the resolution already in layer1: its first block becomes a new stride-2 basic block.
        var replaced = backbone.layer1[0];
        backbone.layer1[0] = new BasicBlock(64, 64, stride: 2);
        replaced.Dispose();
        long[] channels = { 64, 128, 256, 512 };
        _catFeat = catFeat;
        fast_attention = ModuleList(channels.Select(c => new FANetFastAttention(c, attChannel, act)).ToArray());
        fuse_up = ModuleList(
            new FANetFuseUp(attChannel, attChannel, true, act),
            new FANetFuseUp(attChannel, attChannel, true, act),
            new FANetFuseUp(attChannel, attChannel, true, act),
            new FANetFuseUp(attChannel, attChannel, false, act));
        seg_head = ConvBlocks.SegHead(catFeat ? 4 * attChannel : attChannel, numClasses, act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var f = backbone.ForwardFeatures(input);
        var x4 = fuse_up[3].call(fast_attention[3].call(f[3]), null);
        var x3 = fuse_up[2].call(fast_attention[2].call(f[2]), x4);
        var x2 = fuse_up[1].call(fast_attention[1].call(f[1]), x3);
        var x1 = fuse_up[0].call(fast_attention[0].call(f[0]), x2);
        Tensor x;
        if (_catFeat)
        {
            var size1 = x1.shape[2..];
            Tensor Up(Tensor t) => functional.interpolate(t, size1, mode: InterpolationMode.Bilinear, align_corners: true);
            x = seg_head.call(cat(new[] { x1, Up(x2), Up(x3), Up(x4) }, 1));
        }
        else
        {
            x = seg_head.call(x1);
        }
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// FANet's fast attention: q, k, v from 3×3 ConvBNActs without activation; q and k L2-normalised over the channels;
/// y = q·(kᵀ·v) / (H·W) (cosine-similarity attention without softmax, computed as (q·kᵀ)·v); a 3×3 ConvBNAct
/// (conv_fuse), plus v.
/// </summary>
public sealed class FANetFastAttention : Module<Tensor, Tensor>
{
    private readonly Sequential conv_q;
    private readonly Sequential conv_k;
    private readonly Sequential conv_v;
    private readonly Sequential conv_fuse;

    /// <summary>Creates the module.</summary>
    public FANetFastAttention(long inChannels, long outChannels, string act) : base("FastAttention")
    {
        conv_q = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: "none");
        conv_k = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: "none");
        conv_v = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: "none");
        conv_fuse = ConvBlocks.ConvBNAct(outChannels, outChannels, 3, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var v4 = conv_v.call(input);
        var shape = v4.shape;
        long b = shape[0], c = shape[1], n = shape[2] * shape[3];
        var q = functional.normalize(conv_q.call(input).view(b, c, n), 2, 1);
        var k = functional.normalize(conv_k.call(input).view(b, c, n), 2, 1);
        // The reference evaluates q @ (kᵀ @ v), an (n × n) intermediate; (q @ kᵀ) @ v is the same product in O(n·c²).
        var y = q.bmm(k.transpose(1, 2)).bmm(v4.view(b, c, n)).div_(n);
        y = conv_fuse.call(y.view(b, c, shape[2], shape[3]));
        // Out of place: the reference's in-place add modifies the ReLU output that backward needs (see remarks).
        return y.add(v4).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// FANet's fuse-up step: the deeper stage's fused map, upsampled ×2 by a transposed ConvBNAct (up), is added to this
/// stage's attention output, then a 3×3 ConvBNAct (conv). The deepest stage has no up.
/// </summary>
public sealed class FANetFuseUp : Module<Tensor, Tensor?, Tensor>
{
    private readonly DeConvBNAct? up;
    private readonly Sequential conv;

    /// <summary>Creates the step; <paramref name="hasUp"/> adds the ×2 transposed conv for the deeper input.</summary>
    public FANetFuseUp(long inChannels, long outChannels, bool hasUp, string act) : base("FuseUp")
    {
        if (hasUp) up = new DeConvBNAct(inChannels, inChannels, act: act, inplace: true);
        conv = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, act: act, inplace: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor attention, Tensor? deeper)
    {
        using var scope = NewDisposeScope();
        var x = attention;
        if (up is not null)
        {
            if (deeper is null) throw new ArgumentNullException(nameof(deeper), "FuseUp needs the deeper stage's output");
            x = x.add(up.call(deeper));
        }
        return conv.call(x).MoveToOuterDisposeScope();
    }
}
