using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ESPNet as lxtGH/Fast_Seg builds it (<c>libs/models/ESPNet.py</c>, a copy of the authors' code;
/// <c>ESPNet(classes, p=2, q=3)</c>), registered as "fast_seg/espnet". The <c>encoder</c> (ESPNet-C): a 3×3 stride-2
/// conv-BN-PReLU (3→16) concatenated with the image average-pooled to 1/2 (19 channels, BN-PReLU <c>b1</c>); a
/// strided ESP downsampler to 64 channels and <c>p</c> residual ESP blocks at 1/4, concatenated with the downsampler's
/// output and the image pooled to 1/4 (131, <c>b2</c>); a downsampler to 128 and <c>q</c> ESP blocks at 1/8,
/// concatenated with the downsampler's output (256, <c>b3</c>); a 1×1 <c>classifier</c>. An ESP block reduces with
/// a 1×1 conv (a downsampler with a 3×3 stride-2 conv) to n = out / 5 channels, runs five 3×3 convs with dilation 1,
/// 2, 4, 8 and 16 (the first to out − 4n channels), sums the dilated ones hierarchically, concatenates, optionally
/// adds the input, then BN-PReLU. The decoder: the encoder's 1/8 logits → BN (<c>br</c>) → 2×2 stride-2 transposed
/// conv (<c>up_l3</c>); concatenated with a 1×1 projection of the 131-channel 1/4 map (<c>level3_C</c>), BN-PReLU and
/// a non-residual ESP block (<c>combine_l2_l3</c>), then 2×2 transposed conv and BN-PReLU (<c>up_l2</c>); concatenated
/// with the 19-channel 1/2 map, 3×3 conv-BN-PReLU (<c>conv</c>) and a final 2×2 transposed conv (<c>classifier</c>)
/// to full resolution. Every BN has eps 1e-3; PReLUs have one slope per channel; convs have no bias.
/// </summary>
/// <remarks>
/// <para>Quirks of Fast_Seg kept: q defaults to 3 (the paper's ESPNet uses 8 blocks at 1/8); the image pyramid is made
/// by 3×3 stride-2 average pooling (padding counted); the decoder's ESP block splits the classes five ways, so at
/// least 5 classes are needed; the transposed convs double sizes exactly, so height and width must be multiples of 8
/// (<see cref="SegmentationModel.InputMultiple"/>).</para>
/// <para>Deviations from Fast_Seg: its forward returns a one-element list; here the logits tensor. The
/// <c>encoderFile</c> argument (loading ESPNet-C weights into the encoder) has no counterpart: load a state dict
/// instead. Fast_Seg's <c>self.modules</c> list, which shadows <c>nn.Module.modules()</c>, is not reproduced (it holds
/// no state).</para>
/// </remarks>
public sealed class FastSegESPNet : SegmentationModel
{
    private readonly FastSegESPNetEncoder encoder;
    private readonly FastSegESPNetConv level3_C;
    private readonly BatchNorm2d br;
    private readonly FastSegESPNetCBR conv;
    private readonly Sequential up_l3;
    private readonly Sequential combine_l2_l3;
    private readonly Sequential up_l2;
    private readonly ConvTranspose2d classifier;

    /// <summary>Creates Fast_Seg's ESPNet.</summary>
    /// <param name="numClasses">Output classes (at least 5).</param>
    /// <param name="p">ESP blocks at 1/4 resolution.</param>
    /// <param name="q">ESP blocks at 1/8 resolution.</param>
    public FastSegESPNet(int numClasses, int p = 2, int q = 3) : base("ESPNet", numClasses, 8)
    {
        if (numClasses < 5)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses,
                "Fast_Seg's ESPNet decoder splits the classes over five ESP branches, so it needs at least 5 classes (Fast_Seg fails too)");
        if (p < 1 || q < 1)
            throw new ArgumentOutOfRangeException(p < 1 ? nameof(p) : nameof(q), p < 1 ? p : q, "ESPNet needs at least one ESP block per level (p, q ≥ 1)");
        P = p;
        Q = q;
        encoder = new FastSegESPNetEncoder(numClasses, p, q);
        level3_C = FastSegESPNetConv.Plain(128 + 3, numClasses, 1, 1);
        br = BatchNorm2d(numClasses, eps: 1e-3);
        conv = new FastSegESPNetCBR(19 + numClasses, numClasses, 3, 1);
        up_l3 = Sequential(UpConv(numClasses));
        combine_l2_l3 = Sequential(new FastSegESPNetBR(2 * numClasses), new FastSegESPNetBlock(2 * numClasses, numClasses, add: false));
        up_l2 = Sequential(UpConv(numClasses), new FastSegESPNetBR(numClasses));
        classifier = UpConv(numClasses);
        RegisterComponents();
    }

    /// <summary>ESP blocks at 1/4 resolution.</summary>
    public int P { get; }

    /// <summary>ESP blocks at 1/8 resolution.</summary>
    public int Q { get; }

    private static ConvTranspose2d UpConv(long channels) => ConvTranspose2d(channels, channels, 2, stride: 2, bias: false);

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (half, quarter, eighth) = encoder.Features(input);
        var up3 = up_l3.call(br.call(encoder.Classify(eighth)));
        var projected = level3_C.call(quarter);
        var up2 = up_l2.call(combine_l2_l3.call(cat(new[] { projected, up3 }, 1)));
        var x = conv.call(cat(new[] { up2, half }, 1));
        return new SegmentationOutput(classifier.call(x).MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Fast_Seg's ESPNet encoder (<c>ESPNet_Encoder</c>, ESPNet-C): <c>level1</c>, <c>sample1</c>, <c>sample2</c>,
/// <c>b1</c>, <c>level2_0</c>, <c>level2</c> (p blocks), <c>b2</c>, <c>level3_0</c>, <c>level3</c> (q blocks),
/// <c>b3</c>, <c>classifier</c> (see <see cref="FastSegESPNet"/>). Its forward returns the 1/8 logits.
/// </summary>
public sealed class FastSegESPNetEncoder : Module<Tensor, Tensor>
{
    private readonly FastSegESPNetCBR level1;
    private readonly FastSegESPNetInputProjection sample1;
    private readonly FastSegESPNetInputProjection sample2;
    private readonly FastSegESPNetBR b1;
    private readonly FastSegESPNetDownSampler level2_0;
    private readonly ModuleList<FastSegESPNetBlock> level2;
    private readonly FastSegESPNetBR b2;
    private readonly FastSegESPNetDownSampler level3_0;
    private readonly ModuleList<FastSegESPNetBlock> level3;
    private readonly FastSegESPNetBR b3;
    private readonly FastSegESPNetConv classifier;

    /// <summary>Creates the encoder.</summary>
    public FastSegESPNetEncoder(long classes, int p, int q) : base("ESPNet_Encoder")
    {
        level1 = new FastSegESPNetCBR(3, 16, 3, 2);
        sample1 = new FastSegESPNetInputProjection(1);
        sample2 = new FastSegESPNetInputProjection(2);
        b1 = new FastSegESPNetBR(16 + 3);
        level2_0 = new FastSegESPNetDownSampler(16 + 3, 64);
        level2 = ModuleList(Enumerable.Range(0, p).Select(_ => new FastSegESPNetBlock(64, 64)).ToArray());
        b2 = new FastSegESPNetBR(128 + 3);
        level3_0 = new FastSegESPNetDownSampler(128 + 3, 128);
        level3 = ModuleList(Enumerable.Range(0, q).Select(_ => new FastSegESPNetBlock(128, 128)).ToArray());
        b3 = new FastSegESPNetBR(256);
        classifier = FastSegESPNetConv.Plain(256, classes, 1, 1);
        RegisterComponents();
    }

    /// <summary>
    /// The level outputs after their BN-PReLU: 19 channels at 1/2, 131 at 1/4, 256 at 1/8. The caller owns them.
    /// </summary>
    public (Tensor Half, Tensor Quarter, Tensor Eighth) Features(Tensor input)
    {
        using var scope = NewDisposeScope();
        var out0 = level1.call(input);
        var half = b1.call(cat(new[] { out0, sample1.call(input) }, 1));
        var down2 = level2_0.call(half);
        var x = down2;
        foreach (var block in level2) x = block.call(x);
        var quarter = b2.call(cat(new[] { x, down2, sample2.call(input) }, 1));
        var down3 = level3_0.call(quarter);
        x = down3;
        foreach (var block in level3) x = block.call(x);
        var eighth = b3.call(cat(new[] { down3, x }, 1));
        return (half.MoveToOuterDisposeScope(), quarter.MoveToOuterDisposeScope(), eighth.MoveToOuterDisposeScope());
    }

    /// <summary>The 1×1 classifier on the 256-channel 1/8 map.</summary>
    public Tensor Classify(Tensor eighth) => classifier.call(eighth);

    /// <summary>ESPNet-C's logits at 1/8.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (_, _, eighth) = Features(input);
        return Classify(eighth).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's ESPNet <c>C</c> and <c>CDilated</c>: a bias-free k×k conv under the child <c>conv</c>, padding
/// (k − 1) / 2 · dilation.
/// </summary>
public sealed class FastSegESPNetConv : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    private FastSegESPNetConv(string name, long inChannels, long outChannels, long kernel, long stride, long dilation) : base(name)
    {
        conv = Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2 * dilation, dilation: dilation, bias: false);
        RegisterComponents();
    }

    /// <summary><c>C</c>: an undilated conv.</summary>
    public static FastSegESPNetConv Plain(long inChannels, long outChannels, long kernel, long stride = 1) =>
        new("C", inChannels, outChannels, kernel, stride, 1);

    /// <summary><c>CDilated</c>: a dilated conv.</summary>
    public static FastSegESPNetConv Dilated(long inChannels, long outChannels, long kernel, long stride, long dilation) =>
        new("CDilated", inChannels, outChannels, kernel, stride, dilation);

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => conv.call(input);
}

/// <summary>Fast_Seg's ESPNet <c>CBR</c>: <c>conv</c> (k×k, padding (k − 1) / 2, no bias), <c>bn</c> (eps 1e-3), <c>act</c> (PReLU per channel).</summary>
public sealed class FastSegESPNetCBR : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly PReLU act;

    /// <summary>Creates the unit.</summary>
    public FastSegESPNetCBR(long inChannels, long outChannels, long kernel, long stride = 1) : base("CBR")
    {
        conv = Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2, bias: false);
        bn = BatchNorm2d(outChannels, eps: 1e-3);
        act = PReLU(outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return act.call(bn.call(conv.call(input))).MoveToOuterDisposeScope();
    }
}

/// <summary>Fast_Seg's ESPNet <c>BR</c>: <c>bn</c> (eps 1e-3) and <c>act</c> (PReLU per channel).</summary>
public sealed class FastSegESPNetBR : Module<Tensor, Tensor>
{
    private readonly BatchNorm2d bn;
    private readonly PReLU act;

    /// <summary>Creates the unit for <paramref name="channels"/> channels.</summary>
    public FastSegESPNetBR(long channels) : base("BR")
    {
        bn = BatchNorm2d(channels, eps: 1e-3);
        act = PReLU(channels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var bnOut = bn.call(input);
        return act.call(bnOut);
    }
}

/// <summary>
/// The five dilated branches shared by Fast_Seg's ESP downsampler and ESP block: given the reduced map r, the outputs
/// [d1(r), d2(r), d2 + d4, d2 + d4 + d8, d2 + d4 + d8 + d16] concatenated.
/// </summary>
internal static class FastSegESPNetBranches
{
    public static (long N, long N1) Split(long outChannels)
    {
        long n = outChannels / 5;
        return (n, outChannels - 4 * n);
    }

    public static Tensor Merge(Tensor reduced, FastSegESPNetConv d1, FastSegESPNetConv d2, FastSegESPNetConv d4,
        FastSegESPNetConv d8, FastSegESPNetConv d16)
    {
        using var scope = NewDisposeScope();
        var a1 = d2.call(reduced);
        var a2 = a1 + d4.call(reduced);
        var a3 = a2 + d8.call(reduced);
        var a4 = a3 + d16.call(reduced);
        return cat(new[] { d1.call(reduced), a1, a2, a3, a4 }, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's ESPNet <c>DownSamplerB</c>: <c>c1</c> = 3×3 stride-2 conv to n = out / 5 channels, the five dilated
/// branches <c>d1</c> (to out − 4n), <c>d2</c>, <c>d4</c>, <c>d8</c>, <c>d16</c> merged hierarchically, then
/// <c>bn</c> (eps 1e-3) and <c>act</c> (PReLU).
/// </summary>
public sealed class FastSegESPNetDownSampler : Module<Tensor, Tensor>
{
    private readonly FastSegESPNetConv c1;
    private readonly FastSegESPNetConv d1;
    private readonly FastSegESPNetConv d2;
    private readonly FastSegESPNetConv d4;
    private readonly FastSegESPNetConv d8;
    private readonly FastSegESPNetConv d16;
    private readonly BatchNorm2d bn;
    private readonly PReLU act;

    /// <summary>Creates the downsampler.</summary>
    public FastSegESPNetDownSampler(long inChannels, long outChannels) : base("DownSamplerB")
    {
        var (n, n1) = FastSegESPNetBranches.Split(outChannels);
        c1 = FastSegESPNetConv.Plain(inChannels, n, 3, 2);
        d1 = FastSegESPNetConv.Dilated(n, n1, 3, 1, 1);
        d2 = FastSegESPNetConv.Dilated(n, n, 3, 1, 2);
        d4 = FastSegESPNetConv.Dilated(n, n, 3, 1, 4);
        d8 = FastSegESPNetConv.Dilated(n, n, 3, 1, 8);
        d16 = FastSegESPNetConv.Dilated(n, n, 3, 1, 16);
        bn = BatchNorm2d(outChannels, eps: 1e-3);
        act = PReLU(outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var merged = FastSegESPNetBranches.Merge(c1.call(input), d1, d2, d4, d8, d16);
        return act.call(bn.call(merged)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's ESP block (<c>DilatedParllelResidualBlockB</c>): <c>c1</c> = 1×1 conv to n = out / 5 channels, the five
/// dilated branches merged hierarchically, the input added when <c>add</c> (the residual version), then <c>bn</c> =
/// BN-PReLU (<see cref="FastSegESPNetBR"/>).
/// </summary>
public sealed class FastSegESPNetBlock : Module<Tensor, Tensor>
{
    private readonly FastSegESPNetConv c1;
    private readonly FastSegESPNetConv d1;
    private readonly FastSegESPNetConv d2;
    private readonly FastSegESPNetConv d4;
    private readonly FastSegESPNetConv d8;
    private readonly FastSegESPNetConv d16;
    private readonly FastSegESPNetBR bn;
    private readonly bool _add;

    /// <summary>Creates the block; <paramref name="add"/> adds the input (requires equal channels).</summary>
    public FastSegESPNetBlock(long inChannels, long outChannels, bool add = true) : base("DilatedParllelResidualBlockB")
    {
        var (n, n1) = FastSegESPNetBranches.Split(outChannels);
        c1 = FastSegESPNetConv.Plain(inChannels, n, 1, 1);
        d1 = FastSegESPNetConv.Dilated(n, n1, 3, 1, 1);
        d2 = FastSegESPNetConv.Dilated(n, n, 3, 1, 2);
        d4 = FastSegESPNetConv.Dilated(n, n, 3, 1, 4);
        d8 = FastSegESPNetConv.Dilated(n, n, 3, 1, 8);
        d16 = FastSegESPNetConv.Dilated(n, n, 3, 1, 16);
        bn = new FastSegESPNetBR(outChannels);
        _add = add;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var merged = FastSegESPNetBranches.Merge(c1.call(input), d1, d2, d4, d8, d16);
        if (_add) merged = input + merged;
        return bn.call(merged).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's ESPNet <c>InputProjectionA</c>: the image average-pooled (3×3, stride 2, padding 1, padding counted)
/// <c>samplingTimes</c> times; a ModuleList <c>pool</c> without state.
/// </summary>
public sealed class FastSegESPNetInputProjection : Module<Tensor, Tensor>
{
    private readonly ModuleList<AvgPool2d> pool;

    /// <summary>Creates the projection.</summary>
    public FastSegESPNetInputProjection(int samplingTimes) : base("InputProjectionA")
    {
        pool = ModuleList(Enumerable.Range(0, samplingTimes).Select(_ => AvgPool2d(3, stride: 2, padding: 1)).ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        foreach (var p in pool) x = p.call(x);
        return (ReferenceEquals(x, input) ? x.alias() : x).MoveToOuterDisposeScope();
    }
}
