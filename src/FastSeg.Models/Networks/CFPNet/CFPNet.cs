using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// CFPNet (Lou and Loew, 2021): three 3×3 conv-BN-activation layers (the first strided) to 1/2 resolution, then two
/// ENet-style downsamplers (strided conv beside a max pool), each followed by a run of channel-wise feature pyramid
/// (CFP) modules: n at 64 channels (1/4) and m at 128 channels (1/8). Before each downsampler and before the head,
/// a bilinearly downscaled copy of the image (1/2, 1/4, 1/8) is concatenated as three extra channels. The head is a
/// 1×1 conv-BN-activation to the classes, resized to the input.
/// </summary>
/// <remarks>
/// <para>A CFP module with base dilation r projects C channels to C/4 (1×1 conv-BN-activation), runs four feature
/// pyramid channels on that projection with dilations ⌈r·ρ⌉ for ρ = 1/r, 1/4, 1/2, 1, adds each channel's output to
/// the next one's (a running sum), concatenates the four, and applies a 1×1 conv-BN-activation plus the input. A
/// feature pyramid channel is three chained pairs of a 3×1 and a 1×3 conv-BN-activation (both dilated), of C/16,
/// C/16 and C/8 channels, concatenated.</para>
/// <para>Quirks kept: the logits pass through BN and the activation (PReLU by default); the image copies are made by
/// bilinear scaling with align_corners = true (sizes floored), so H and W must be multiples of 8; the dilations are
/// computed in double precision as the reference does. The i-th dilation of the option list is the base dilation of
/// the i-th module (the first n go to the 1/4 stage); the list must have n + m entries. 'glu' is not offered as an
/// activation: it halves the channels and no network of the reference survives it.</para>
/// </remarks>
public sealed class CFPNet : SegmentationModel
{
    /// <summary>The reference's default base dilations (n = 2, m = 6).</summary>
    public static readonly int[] DefaultDilations = { 2, 2, 4, 4, 8, 8, 16, 16 };

    private readonly Sequential conv_init;
    private readonly InitialBlock downsample1;
    private readonly Sequential cfp1;
    private readonly InitialBlock downsample2;
    private readonly Sequential cfp2;
    private readonly Sequential seg_head;

    /// <summary>Creates CFPNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="n">CFP modules at 1/4 resolution.</param>
    /// <param name="m">CFP modules at 1/8 resolution.</param>
    /// <param name="dilations">Base dilation of each module, n + m values (default <see cref="DefaultDilations"/>).</param>
    /// <param name="act">Activation name (the reference's act_type, PReLU by default).</param>
    public CFPNet(int numClasses, int n = 2, int m = 6, int[]? dilations = null, string act = "prelu")
        : base(nameof(CFPNet), numClasses, 8)
    {
        dilations ??= DefaultDilations;
        if (n < 0 || m < 0 || dilations.Length != n + m)
            throw new ArgumentException($"cfpnet: dilations must have n + m = {n + m} values, got {dilations.Length} ({string.Join(",", dilations)})", nameof(dilations));
        if (dilations.Any(d => d < 1))
            throw new ArgumentException($"cfpnet: dilations must be positive, got {string.Join(",", dilations)}", nameof(dilations));
        conv_init = Sequential(
            ConvBlocks.ConvBNAct(InputChannels, 32, 3, 2, act: act),
            ConvBlocks.ConvBNAct(32, 32, act: act),
            ConvBlocks.ConvBNAct(32, 32, act: act));
        downsample1 = new InitialBlock(32 + 3, 64, act);
        cfp1 = Modules(64, dilations[..n], act);
        downsample2 = new InitialBlock(64 + 3, 128, act);
        cfp2 = Modules(128, dilations[n..], act);
        seg_head = ConvBlocks.ConvBNAct(128 + 3, numClasses, 1, act: act);
        RegisterComponents();
    }

    private static Sequential Modules(long channels, int[] dilations, string act) =>
        Sequential(dilations.Select(d => (Module<Tensor, Tensor>)new CFPModule(channels, d, act)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        Tensor Scaled(double s) => functional.interpolate(input, scale_factor: new[] { s }, mode: InterpolationMode.Bilinear, align_corners: true);
        var half = Scaled(0.5);
        var quarter = Scaled(0.25);
        var eighth = Scaled(0.125);

        var x = conv_init.call(input);
        x = downsample1.call(cat(new[] { x, half }, 1));
        x = cfp1.call(x);
        x = downsample2.call(cat(new[] { x, quarter }, 1));
        x = cfp2.call(x);
        x = seg_head.call(cat(new[] { x, eighth }, 1));
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// CFPNet's channel-wise feature pyramid module: "conv_init" 1×1 projection to C/4, four
/// <see cref="FeaturePyramidChannel"/>s ("layers") with dilations ⌈r/r⌉, ⌈r/4⌉, ⌈r/2⌉, r, running sums of their
/// outputs, concatenation, "conv_last" 1×1 conv-BN-activation, plus the input.
/// </summary>
internal sealed class CFPModule : Module<Tensor, Tensor>
{
    private const int K = 4;

    private readonly Sequential conv_init;
    private readonly ModuleList<FeaturePyramidChannel> layers;
    private readonly Sequential conv_last;

    /// <summary>Creates the module with base dilation <paramref name="rk"/>.</summary>
    public CFPModule(long channels, int rk, string act) : base(nameof(CFPModule))
    {
        long inner = channels / K;
        conv_init = ConvBlocks.ConvBNAct(channels, inner, 1, act: act);
        // The same double arithmetic as the reference: ceil(rk * ratio) with ratio = 1/rk, 1/4, 1/2, 1.
        double[] ratios = { 1.0 / rk, 1.0 / 4, 1.0 / 2, 1.0 };
        layers = ModuleList(ratios.Select(r => new FeaturePyramidChannel(inner, (long)Math.Ceiling(rk * r), act)).ToArray());
        conv_last = ConvBlocks.ConvBNAct(channels, channels, 1, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv_init.call(input);
        var feats = new Tensor[K];
        for (int i = 0; i < K; i++)
        {
            feats[i] = layers[i].call(x);
            if (i > 0) feats[i] = feats[i] + feats[i - 1];
        }
        var y = conv_last.call(cat(feats, 1));
        return (y + input).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// CFPNet's feature pyramid channel: "block1", "block2", "block3", each a dilated 3×1 then 1×3 conv-BN-activation,
/// chained (C → C/4 → C/4 → C/2 channels) and concatenated to C channels.
/// </summary>
internal sealed class FeaturePyramidChannel : Module<Tensor, Tensor>
{
    private readonly Sequential block1;
    private readonly Sequential block2;
    private readonly Sequential block3;

    /// <summary>Creates the channel; <paramref name="channels"/> must be a multiple of 4.</summary>
    public FeaturePyramidChannel(long channels, long dilation, string act) : base(nameof(FeaturePyramidChannel))
    {
        if (channels % 4 != 0) throw new ArgumentException($"FeaturePyramidChannel: channels ({channels}) must be a multiple of 4", nameof(channels));
        long c1 = channels / 4, c2 = channels / 4, c3 = channels / 2;
        block1 = Pair(channels, c1, dilation, act);
        block2 = Pair(c1, c2, dilation, act);
        block3 = Pair(c2, c3, dilation, act);
        RegisterComponents();
    }

    private static Sequential Pair(long inChannels, long outChannels, long dilation, string act) =>
        Sequential(
            ConvBlocks.ConvBNAct(inChannels, outChannels, new long[] { 3, 1 }, dilation: dilation, act: act),
            ConvBlocks.ConvBNAct(outChannels, outChannels, new long[] { 1, 3 }, dilation: dilation, act: act));

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x1 = block1.call(input);
        var x2 = block2.call(x1);
        var x3 = block3.call(x2);
        return cat(new[] { x1, x2, x3 }, 1).MoveToOuterDisposeScope();
    }
}
