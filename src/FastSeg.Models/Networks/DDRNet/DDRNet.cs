using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// DDRNet (Hong et al., 2021): a shared stem to 1/8, then two residual branches — a high-resolution one kept at 1/8 and
/// a low-resolution one going to 1/16, 1/32 and 1/64 — exchanging features through bilateral fusions; DAPPM pools the
/// 1/64 context, which is resized and added to the high branch before the head. Variants "23-slim" (32 base channels),
/// "23" (64) and "39" (64, deeper). An optional auxiliary SegHead reads the high branch after stage 4 (1/8).
/// </summary>
public sealed class DDRNet : SegmentationModel
{
    private readonly Sequential conv1;
    private readonly DDRNetStage conv2;
    private readonly DDRNetStage conv3;
    private readonly DDRNetStage4 conv4;
    private readonly DDRNetStage5 conv5;
    private readonly Sequential seg_head;
    private readonly Sequential? aux_head;

    /// <summary>The variants: base channels and the block repeats of stages 2, 3, 4 (first and second part) and 5 (RB, RBB).</summary>
    private static readonly Dictionary<string, (long Channels, int[] Repeats)> Variants = new()
    {
        ["23-slim"] = (32, new[] { 2, 2, 2, 0, 2, 1 }),
        ["23"] = (64, new[] { 2, 2, 2, 0, 2, 1 }),
        ["39"] = (64, new[] { 3, 4, 3, 3, 3, 1 }),
    };

    /// <summary>Creates DDRNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="variant">"23-slim", "23" or "39" (the reference's arch_type without the "DDRNet-" prefix).</param>
    /// <param name="useAux">Build the auxiliary head (the reference's <c>use_aux</c>).</param>
    /// <param name="act">Activation name.</param>
    public DDRNet(int numClasses, string variant = "23-slim", bool useAux = false, string act = "relu") : base(nameof(DDRNet), numClasses, 1)
    {
        if (!Variants.TryGetValue(variant, out var arch))
            throw new ArgumentException($"unsupported DDRNet variant '{variant}'; valid: {string.Join(", ", Variants.Keys)}", nameof(variant));
        Variant = variant;
        UseAux = useAux;
        long c = arch.Channels;
        var r = arch.Repeats;
        conv1 = ConvBlocks.ConvBNAct(3, c, 3, 2, act: act);
        var stage2 = Sequential(ConvBlocks.ConvBNAct(c, c, 3, 2, act: act));
        for (int k = 0; k < r[0]; k++) stage2.append(new DDRNetBasicBlock(c, c, 1, act));
        conv2 = new DDRNetStage(stage2);
        conv3 = new DDRNetStage(DDRNetBlocks.Build(DDRNetBlocks.Basic, c, 2 * c, 2, r[1], act));
        conv4 = new DDRNetStage4(c, r[2], r[3], act);
        conv5 = new DDRNetStage5(c, r[4], r[5], act);
        seg_head = ConvBlocks.SegHead(4 * c, numClasses, act);
        if (useAux) aux_head = ConvBlocks.SegHead(2 * c, numClasses, act);
        RegisterComponents();
    }

    /// <summary>The variant ("23-slim", "23" or "39").</summary>
    public string Variant { get; }

    /// <summary>Whether the auxiliary head exists.</summary>
    public bool UseAux { get; }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        bool withAux = aux_head is not null && training;
        var x = conv3.call(conv2.call(conv1.call(input)));
        var (low, high) = conv4.call(x);
        var aux = withAux ? aux_head!.call(high) : null;
        x = conv5.call(low, high);
        x = seg_head.call(x);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        if (aux is null) return new SegmentationOutput(x.MoveToOuterDisposeScope());
        return new SegmentationOutput(x.MoveToOuterDisposeScope(), new[] { aux.MoveToOuterDisposeScope() });
    }
}

/// <summary>Builders shared by DDRNet's stages.</summary>
internal static class DDRNetBlocks
{
    public static Module<Tensor, Tensor> Basic(long inChannels, long outChannels, long stride, string act) =>
        new DDRNetBasicBlock(inChannels, outChannels, stride, act);

    public static Module<Tensor, Tensor> Bottleneck(long inChannels, long outChannels, long stride, string act) =>
        new DDRNetBottleneckBlock(inChannels, outChannels, stride, act);

    /// <summary>A chain of <paramref name="repeats"/> blocks, the first in→out with the stride, the rest out→out.</summary>
    public static Sequential Build(Func<long, long, long, string, Module<Tensor, Tensor>> block, long inChannels, long outChannels,
        long stride, int repeats, string act)
    {
        var layers = Sequential(block(inChannels, outChannels, stride, act));
        for (int k = 1; k < repeats; k++) layers.append(block(outChannels, outChannels, 1, act));
        return layers;
    }
}

/// <summary>A stage that is a single Sequential named "conv" (the reference's Stage2 and Stage3).</summary>
internal sealed class DDRNetStage : Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    public DDRNetStage(Sequential layers) : base("Stage")
    {
        conv = layers;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => conv.call(input);
}

/// <summary>Stage 4: split into a 1/16 low branch (4c) and a 1/8 high branch (2c), fused once (twice for DDRNet-39).</summary>
internal sealed class DDRNetStage4 : Module<Tensor, (Tensor Low, Tensor High)>
{
    private readonly Sequential low_conv1;
    private readonly Sequential high_conv1;
    private readonly DDRNetBilateralFusion bilateral_fusion1;
    private readonly Sequential? low_conv2;
    private readonly Sequential? high_conv2;
    private readonly DDRNetBilateralFusion? bilateral_fusion2;

    public DDRNetStage4(long c, int repeats1, int repeats2, string act) : base("Stage4")
    {
        long inChannels = 2 * c, lowChannels = 4 * c, highChannels = 2 * c;
        low_conv1 = DDRNetBlocks.Build(DDRNetBlocks.Basic, inChannels, lowChannels, 2, repeats1, act);
        high_conv1 = DDRNetBlocks.Build(DDRNetBlocks.Basic, inChannels, highChannels, 1, repeats1, act);
        bilateral_fusion1 = new DDRNetBilateralFusion(lowChannels, highChannels, 2);
        if (repeats2 > 0)
        {
            low_conv2 = DDRNetBlocks.Build(DDRNetBlocks.Basic, lowChannels, lowChannels, 1, repeats2, act);
            high_conv2 = DDRNetBlocks.Build(DDRNetBlocks.Basic, highChannels, highChannels, 1, repeats2, act);
            bilateral_fusion2 = new DDRNetBilateralFusion(lowChannels, highChannels, 2);
        }
        RegisterComponents();
    }

    public override (Tensor Low, Tensor High) forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (low, high) = bilateral_fusion1.call(low_conv1.call(input), high_conv1.call(input));
        if (low_conv2 is not null)
            (low, high) = bilateral_fusion2!.call(low_conv2.call(low), high_conv2!.call(high));
        return (low.MoveToOuterDisposeScope(), high.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Stage 5: low branch to 1/32 (8c) and high branch (2c), fused with a stride-4 conv; then a bottleneck to 1/64 (16c),
/// DAPPM (→ 4c), resized to the high branch and added to its bottleneck output (4c).
/// </summary>
internal sealed class DDRNetStage5 : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential low_conv1;
    private readonly Sequential high_conv1;
    private readonly DDRNetBilateralFusion bilateral_fusion;
    private readonly Sequential low_conv2;
    private readonly Sequential high_conv2;
    private readonly DDRNetDAPPM dappm;

    public DDRNetStage5(long c, int repeats1, int repeats2, string act) : base("Stage5")
    {
        long lowIn = 4 * c, highIn = 2 * c, low1 = 8 * c, high1 = 2 * c, low2 = 16 * c, high2 = 4 * c;
        low_conv1 = DDRNetBlocks.Build(DDRNetBlocks.Basic, lowIn, low1, 2, repeats1, act);
        high_conv1 = DDRNetBlocks.Build(DDRNetBlocks.Basic, highIn, high1, 1, repeats1, act);
        bilateral_fusion = new DDRNetBilateralFusion(low1, high1, 4);
        low_conv2 = DDRNetBlocks.Build(DDRNetBlocks.Bottleneck, low1, low2, 2, repeats2, act);
        high_conv2 = DDRNetBlocks.Build(DDRNetBlocks.Bottleneck, high1, high2, 1, repeats2, act);
        dappm = new DDRNetDAPPM(low2, high2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor lowInput, Tensor highInput)
    {
        using var scope = NewDisposeScope();
        var size = highInput.shape[2..];
        var (low, high) = bilateral_fusion.call(low_conv1.call(lowInput), high_conv1.call(highInput));
        low = dappm.call(low_conv2.call(low));
        low = functional.interpolate(low, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return (high_conv2.call(high) + low).MoveToOuterDisposeScope();
    }
}

/// <summary>Residual basic block (two 3×3 ConvBNActs, the second without activation; 1×1 projection when the shape changes), then ReLU.</summary>
internal sealed class DDRNetBasicBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly Sequential conv2;
    private readonly Sequential? conv_down;

    public DDRNetBasicBlock(long inChannels, long outChannels, long stride, string act) : base("RB")
    {
        conv1 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, stride, act: act);
        conv2 = ConvBlocks.ConvBNAct(outChannels, outChannels, 3, 1, act: "none");
        if (stride > 1 || inChannels != outChannels)
            conv_down = ConvBlocks.ConvBNAct(inChannels, outChannels, 1, stride, act: "none");
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = conv2.call(conv1.call(input));
        var identity = conv_down is null ? input : conv_down.call(input);
        return y.add_(identity).relu_().MoveToOuterDisposeScope(); // the reference's nn.ReLU, whatever the act
    }
}

/// <summary>Residual bottleneck block (1×1, 3×3 with the stride, 1×1 to out without activation; 1×1 projection when the shape changes), then the activation.</summary>
internal sealed class DDRNetBottleneckBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly Sequential conv2;
    private readonly Sequential conv3;
    private readonly Sequential? conv_down;
    private readonly Activation act;

    public DDRNetBottleneckBlock(long inChannels, long outChannels, long stride, string actType) : base("RBB")
    {
        conv1 = ConvBlocks.ConvBNAct(inChannels, inChannels, 1, act: actType);
        conv2 = ConvBlocks.ConvBNAct(inChannels, inChannels, 3, stride, act: actType);
        conv3 = ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: "none");
        if (stride > 1 || inChannels != outChannels)
            conv_down = ConvBlocks.ConvBNAct(inChannels, outChannels, 1, stride, act: "none");
        act = new Activation(actType);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = conv3.call(conv2.call(conv1.call(input)));
        var identity = conv_down is null ? input : conv_down.call(input);
        return act.call(y.add_(identity)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Bilateral fusion: the low branch gets the high branch through a 3×3 conv with the stride (a single stride-4 conv in
/// stage 5); the high branch gets the low branch through a 1×1 conv, bilinearly resized; each sum goes through the
/// activation (ReLU: the reference never passes its act_type here).
/// </summary>
internal sealed class DDRNetBilateralFusion : Module<Tensor, Tensor, (Tensor Low, Tensor High)>
{
    private readonly Sequential conv_low;
    private readonly Sequential conv_high;
    private readonly Activation act;

    public DDRNetBilateralFusion(long lowChannels, long highChannels, long stride, string actType = "relu") : base("BilateralFusion")
    {
        conv_low = ConvBlocks.ConvBNAct(lowChannels, highChannels, 1, act: "none");
        conv_high = ConvBlocks.ConvBNAct(highChannels, lowChannels, 3, stride, act: "none");
        act = new Activation(actType);
        RegisterComponents();
    }

    public override (Tensor Low, Tensor High) forward(Tensor low, Tensor high)
    {
        using var scope = NewDisposeScope();
        var size = high.shape[2..];
        var fuseLow = conv_low.call(low);
        var fuseHigh = conv_high.call(high);
        var newLow = act.call(low + fuseHigh);
        fuseLow = functional.interpolate(fuseLow, size, mode: InterpolationMode.Bilinear, align_corners: true);
        var newHigh = act.call(high + fuseLow);
        return (newLow.MoveToOuterDisposeScope(), newHigh.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Deep aggregation pyramid pooling: a 1×1 branch (y1) and four pooled branches (avg pools 5/2, 9/4, 17/8 and global,
/// each + 1×1 conv, resized back) added hierarchically, each through a 3×3 ConvBNAct; the five are concatenated, a
/// 1×1 ConvBNAct, plus a 1×1 shortcut (y0). Uses ReLU: the reference never passes its act_type here.
/// </summary>
internal sealed class DDRNetDAPPM : Module<Tensor, Tensor>
{
    private readonly Sequential conv0;
    private readonly Sequential conv1;
    private readonly Sequential pool2;
    private readonly Sequential conv2;
    private readonly Sequential pool3;
    private readonly Sequential conv3;
    private readonly Sequential pool4;
    private readonly Sequential conv4;
    private readonly Sequential pool5;
    private readonly Sequential conv5;
    private readonly Sequential conv_last;

    public DDRNetDAPPM(long inChannels, long outChannels, string act = "relu") : base("DAPPM")
    {
        long hid = inChannels / 4;
        conv0 = ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: act);
        conv1 = ConvBlocks.ConvBNAct(inChannels, hid, 1, act: act);
        pool2 = Pool(inChannels, hid, 5, 2);
        conv2 = ConvBlocks.ConvBNAct(hid, hid, 3, act: act);
        pool3 = Pool(inChannels, hid, 9, 4);
        conv3 = ConvBlocks.ConvBNAct(hid, hid, 3, act: act);
        pool4 = Pool(inChannels, hid, 17, 8);
        conv4 = ConvBlocks.ConvBNAct(hid, hid, 3, act: act);
        pool5 = Pool(inChannels, hid, null, null);
        conv5 = ConvBlocks.ConvBNAct(hid, hid, 3, act: act);
        conv_last = ConvBlocks.ConvBNAct(hid * 5, outChannels, 1, act: act);
        RegisterComponents();
    }

    /// <summary>Average pool (global when <paramref name="kernel"/> is null, else padding (k − 1) / 2) then a 1×1 conv.</summary>
    private static Sequential Pool(long inChannels, long outChannels, long? kernel, long? stride) =>
        Sequential(
            kernel is null ? AdaptiveAvgPool2d(1) : AvgPool2d(kernel.Value, stride, (kernel.Value - 1) / 2),
            ConvBlocks.Conv1x1(inChannels, outChannels));

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        Tensor Up(Sequential pool) => functional.interpolate(pool.call(input), size, mode: InterpolationMode.Bilinear, align_corners: true);
        var y0 = conv0.call(input);
        var y1 = conv1.call(input);
        var y2 = conv2.call(y1 + Up(pool2));
        var y3 = conv3.call(y2 + Up(pool3));
        var y4 = conv4.call(y3 + Up(pool4));
        var y5 = conv5.call(y4 + Up(pool5));
        var joined = conv_last.call(cat(new[] { y1, y2, y3, y4, y5 }, 1));
        return (joined + y0).MoveToOuterDisposeScope();
    }
}
