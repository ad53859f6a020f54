using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// CGNet (Wu et al., IEEE TIP 2021): a shallow network of context-guided blocks. Three 3×3 convs (the first strided) give 1/2
/// resolution; their first and last outputs are concatenated. Stage 2 (1/4) and stage 3 (1/8) each start with a strided
/// context-guided block, take a bilinearly downscaled copy of the image as extra channels ("input injection"), run
/// M − 1 (stage 2, dilation 2) or N − 1 (stage 3, dilation 4) blocks, and concatenate the result with the stage's
/// downsampled features. A 1×1 conv without bias classifies the 256 channels at 1/8, resized to the input.
/// </summary>
/// <remarks>
/// <para>A context-guided block reduces to half the output channels with a 1×1 conv, runs a local depthwise 3×3 and a
/// dilated ("surrounding") depthwise 3×3 side by side, concatenates them, applies BN and the activation, and gates the
/// channels with a global context vector (global average pool, two linear layers with no nonlinearity between them,
/// sigmoid). Where the stride is 1 and the channel count is kept, the block's input is added after the gate (the
/// reference's default "GRL" residual; its "LRL" form is not reachable from the network's constructor).</para>
/// <para>Quirks kept: the image copies are made by bilinear scaling by 0.25 and 0.125 with align_corners = true
/// (sizes floored), so H and W must be multiples of 8; the first block of each repeated stage has no residual
/// (its input carries the 3 injected channels); M and N below 2 leave a stage empty, which the reference cannot run
/// (the channel counts of the following layer are fixed), so they are rejected. The 'glu' activation is not offered:
/// it halves the channels and no network of the reference survives it.</para>
/// </remarks>
public sealed class CGNet : SegmentationModel
{
    private readonly CGNetInitBlock stage1;
    private readonly ContextGuidedBlock stage2_down;
    private readonly Sequential stage2;
    private readonly ContextGuidedBlock stage3_down;
    private readonly Sequential stage3;
    private readonly Conv2d seg_head;

    /// <summary>Creates CGNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="m">The reference's M: stage 2 has M − 1 blocks after its strided block (at least 2).</param>
    /// <param name="n">The reference's N: stage 3 has N − 1 blocks after its strided block (at least 2).</param>
    /// <param name="act">Activation name (the reference's act_type, PReLU by default).</param>
    public CGNet(int numClasses, int m = 3, int n = 15, string act = "prelu") : base(nameof(CGNet), numClasses, 8)
    {
        if (m < 2 || n < 2) throw new ArgumentException($"CGNet: M and N must be at least 2 (got M = {m}, N = {n})");
        stage1 = new CGNetInitBlock(InputChannels, 32, act);
        stage2_down = new ContextGuidedBlock(64, 64, 2, 2, act);
        stage2 = Blocks(64 + 3, 64, 2, m - 1, act);
        stage3_down = new ContextGuidedBlock(128, 128, 2, 4, act);
        stage3 = Blocks(128 + 3, 128, 4, n - 1, act);
        seg_head = ConvBlocks.Conv1x1(128 * 2, numClasses);
        RegisterComponents();
    }

    private static Sequential Blocks(long inChannels, long outChannels, long dilation, int count, string act)
    {
        var blocks = new Module<Tensor, Tensor>[count];
        for (int i = 0; i < count; i++)
            blocks[i] = new ContextGuidedBlock(i == 0 ? inChannels : outChannels, outChannels, 1, dilation, act);
        return Sequential(blocks);
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var quarter = functional.interpolate(input, scale_factor: new[] { 0.25 }, mode: InterpolationMode.Bilinear, align_corners: true);
        var eighth = functional.interpolate(input, scale_factor: new[] { 0.125 }, mode: InterpolationMode.Bilinear, align_corners: true);

        var (x, x1) = stage1.call(input);
        x = cat(new[] { x, x1 }, 1);
        var x2 = stage2_down.call(x);
        x = stage2.call(cat(new[] { x2, quarter }, 1));

        x = cat(new[] { x, x2 }, 1);
        var x3 = stage3_down.call(x);
        x = stage3.call(cat(new[] { x3, eighth }, 1));

        x = seg_head.call(cat(new[] { x, x3 }, 1));
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// CGNet's stem: three 3×3 conv-BN-activation layers ("conv0" strided, "conv1", "conv2"); returns the last output and
/// the first one.
/// </summary>
internal sealed class CGNetInitBlock : Module<Tensor, (Tensor Last, Tensor First)>
{
    private readonly Sequential conv0;
    private readonly Sequential conv1;
    private readonly Sequential conv2;

    /// <summary>Creates the stem.</summary>
    public CGNetInitBlock(long inChannels, long outChannels, string act) : base("InitBlock")
    {
        conv0 = ConvBlocks.ConvBNAct(inChannels, outChannels, 3, 2, act: act);
        conv1 = ConvBlocks.ConvBNAct(outChannels, outChannels, act: act);
        conv2 = ConvBlocks.ConvBNAct(outChannels, outChannels, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override (Tensor Last, Tensor First) forward(Tensor input)
    {
        var first = conv0.call(input);
        using var mid = conv1.call(first);
        return (conv2.call(mid), first);
    }
}

/// <summary>
/// CGNet's context-guided block (global residual form): "conv" 1×1 to out/2 channels; "loc" depthwise 3×3 and "sur"
/// depthwise 3×3 dilated, both with the block's stride and no bias; their concatenation through "joi" (BN,
/// activation); a channel gate from "glo" (Linear out → out/8, Linear out/8 → out, both with bias, then sigmoid) on
/// the globally pooled features; plus the input when the stride is 1 and the channels are unchanged.
/// </summary>
internal sealed class ContextGuidedBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly Conv2d loc;
    private readonly Conv2d sur;
    private readonly Sequential joi;
    private readonly Sequential glo;
    private readonly bool _useSkip;

    /// <summary>Creates the block.</summary>
    public ContextGuidedBlock(long inChannels, long outChannels, long stride, long dilation, string act) : base("CGBlock")
    {
        long half = outChannels / 2;
        _useSkip = stride == 1 && inChannels == outChannels;
        conv = ConvBlocks.Conv1x1(inChannels, half);
        loc = Conv2d(half, half, 3, stride: stride, padding: 1, groups: half, bias: false);
        sur = Conv2d(half, half, 3, stride: stride, padding: dilation, dilation: dilation, groups: half, bias: false);
        joi = Sequential(BatchNorm2d(outChannels), new Activation(act));
        glo = Sequential(Linear(outChannels, outChannels / 8), Linear(outChannels / 8, outChannels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv.call(input);
        x = joi.call(cat(new[] { loc.call(x), sur.call(x) }, 1));
        var context = functional.adaptive_avg_pool2d(x, 1).squeeze(-1).squeeze(-1);
        var gate = glo.call(context).sigmoid().unsqueeze(-1).unsqueeze(-1).expand_as(x);
        x = x * gate;
        if (_useSkip) x = x + input;
        return x.MoveToOuterDisposeScope();
    }
}
