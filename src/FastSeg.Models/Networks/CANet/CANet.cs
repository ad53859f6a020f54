using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// CANet, the Cross Attention Network (Liu and Yin, 2019). Two branches meet at 1/8 of the input: a spatial branch of
/// three stride-2 3×3 ConvBNActs (64, 128, 256 channels) and a context branch, an ImageNet encoder (MobileNetV2 by
/// default, or a torchvision ResNet) whose 1/32 features are upsampled ×2 by a transposed conv (192 channels),
/// concatenated with the 1/16 features and upsampled ×2 again (256 channels). The feature cross attention module
/// fuses the concatenated branches with a 3×3 ConvBNAct, multiplies the result by a spatial attention map computed
/// from the spatial branch and by a channel attention vector computed from the context branch, adds it back, and maps
/// it to the classes with a 3×3 ConvBNAct; a ×8 transposed conv (kernel 15) with BN and ReLU gives the logits at the
/// input size, so H and W must be multiples of 32.
/// </summary>
/// <remarks>
/// Kept from the reference: <c>act_type</c> reaches only the spatial branch and the fusion conv (conv_init); the
/// context branch's transposed convs, the class conv (conv_last) and the final ×8 transposed conv always use ReLU, so
/// the logits are non-negative; the spatial attention is a 3×3 ConvBNAct to one channel with a sigmoid; the channel
/// attention applies one shared linear layer to the max- and the average-pooled vectors and adds them before the
/// sigmoid. Because the reference builds its activations with <c>inplace=True</c>, only activations that accept that
/// flag can be chosen (<see cref="InplaceActivations"/>); PReLU, GELU, GLU, Sigmoid, Softmax and Tanh fail in the
/// reference and are refused here.
/// </remarks>
public sealed class CANet : SegmentationModel
{
    /// <summary>The encoders CANet accepts (the first is the reference's default).</summary>
    public static readonly string[] Backbones = { "mobilenet_v2", "resnet18", "resnet34", "resnet50", "resnet101" };

    private readonly Sequential spatial_branch;
    private readonly CANetContextBranch context_branch;
    private readonly CANetFeatureCrossAttention fca;
    private readonly DeConvBNAct up;

    /// <summary>Creates CANet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backboneType">mobilenet_v2 or a torchvision ResNet (resnet18, resnet34, resnet50, resnet101).</param>
    /// <param name="act">The reference's act_type (spatial branch and fusion conv only).</param>
    public CANet(int numClasses, string backboneType = "mobilenet_v2", string act = "relu")
        : base(nameof(CANet), numClasses, 32)
    {
        if (!Backbones.Contains(backboneType))
            throw new ArgumentException($"CANet does not support the backbone '{backboneType}'; valid: {string.Join(", ", Backbones)}", nameof(backboneType));
        const long channels = 64;
        spatial_branch = Sequential(
            ConvBlocks.ConvBNAct(3, channels, 3, 2, act: act, inplace: true),
            ConvBlocks.ConvBNAct(channels, channels * 2, 3, 2, act: act, inplace: true),
            ConvBlocks.ConvBNAct(channels * 2, channels * 4, 3, 2, act: act, inplace: true));
        context_branch = new CANetContextBranch(channels * 4, backboneType);
        fca = new CANetFeatureCrossAttention(channels * 4, numClasses, act);
        up = new DeConvBNAct(numClasses, numClasses, 8);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var xs = spatial_branch.call(input);
        var xc = context_branch.call(input);
        var x = up.call(fca.call(xs, xc));
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// CANet's context branch: the encoder's 1/32 features upsampled ×2 by a transposed ConvBNAct (up1, 192 channels),
/// concatenated with its 1/16 features and upsampled ×2 again (up2) to 1/8.
/// </summary>
public sealed class CANetContextBranch : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor[]> backbone;
    private readonly DeConvBNAct up1;
    private readonly DeConvBNAct up2;

    /// <summary>Creates the branch with <paramref name="outChannels"/> output channels.</summary>
    public CANetContextBranch(long outChannels, string backboneType, long hidChannels = 192) : base("ContextBranch")
    {
        IReadOnlyList<int> c;
        if (backboneType == "mobilenet_v2")
        {
            var mobilenet = new MobileNetV2();
            c = mobilenet.Channels;
            backbone = mobilenet;
        }
        else
        {
            var resnet = new ResNet(backboneType);
            c = resnet.Channels;
            backbone = resnet;
        }
        up1 = new DeConvBNAct(c[3], hidChannels);
        up2 = new DeConvBNAct(c[2] + hidChannels, outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var f = backbone.call(input);
        var x = up1.call(f[3]);
        x = up2.call(cat(new[] { x, f[2] }, 1));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// CANet's feature cross attention: conv_init (3×3 ConvBNAct) fuses the concatenated branches; the result is
/// multiplied by the spatial attention map of the spatial branch (sa, one channel) and by the channel attention of
/// the context branch (ca), the fused features are added back, and conv_last (3×3 ConvBNAct, ReLU) maps to the classes.
/// </summary>
public sealed class CANetFeatureCrossAttention : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv_init;
    private readonly Sequential sa;
    private readonly CANetChannelAttention ca;
    private readonly Sequential conv_last;

    /// <summary>Creates the module for two inputs of <paramref name="inChannels"/> channels each.</summary>
    public CANetFeatureCrossAttention(long inChannels, long outChannels, string act) : base("FeatureCrossAttentionModule")
    {
        conv_init = ConvBlocks.ConvBNAct(2 * inChannels, inChannels, act: act, inplace: true);
        sa = Sequential(ConvBlocks.ConvBNAct(inChannels, 1, act: "sigmoid"));
        ca = new CANetChannelAttention(inChannels);
        conv_last = ConvBlocks.ConvBNAct(inChannels, outChannels, inplace: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor spatial, Tensor context)
    {
        using var scope = NewDisposeScope();
        var fused = conv_init.call(cat(new[] { spatial, context }, 1));
        var s = sa.call(spatial);
        var c = ca.call(context);
        var x = fused.mul(s).mul_(c).add_(fused);
        return conv_last.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// CANet's channel attention: global max and average pooling to (N, C), one shared linear layer (fc) applied to
/// each, their sum through a sigmoid, returned as (N, C, 1, 1).
/// </summary>
public sealed class CANetChannelAttention : Module<Tensor, Tensor>
{
    private readonly AdaptivePool2d max_pool;
    private readonly AdaptivePool2d avg_pool;
    private readonly Linear fc;
    private readonly long _channels;

    /// <summary>Creates the block for <paramref name="inChannels"/> channels.</summary>
    public CANetChannelAttention(long inChannels) : base("ChannelAttentionBlock")
    {
        _channels = inChannels;
        max_pool = AdaptiveMaxPool2d(1);
        avg_pool = AdaptiveAvgPool2d(1);
        fc = Linear(inChannels, inChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var xMax = fc.call(max_pool.call(input).view(-1, _channels));
        var xAvg = fc.call(avg_pool.call(input).view(-1, _channels));
        return xMax.add_(xAvg).sigmoid().unsqueeze(-1).unsqueeze(-1).MoveToOuterDisposeScope();
    }
}
