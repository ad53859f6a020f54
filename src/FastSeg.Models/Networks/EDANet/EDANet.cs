using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// EDANet (Lo et al., ACM MM Asia 2019): densely connected asymmetric convolution modules. Two downsampling blocks
/// (a strided 3×3 conv beside a 2×2 max pool, concatenated, then BN and the activation) reach 1/4 resolution with 60
/// channels; five EDA modules (dilations 1, 1, 1, 2, 2) each append k new channels; a strided 3×3 conv-BN-activation
/// halves the resolution and the channels (260 → 130); eight more EDA modules (dilations 2, 2, 4, 4, 8, 8, 16, 16)
/// append k channels each. A 1×1 conv without bias classifies at 1/8; the logits are resized to the input.
/// </summary>
/// <remarks>
/// <para>An EDA module computes k new channels — 1×1 conv-BN-ReLU, 3×1 conv, 1×3 conv-BN-activation, dilated 3×1 conv,
/// dilated 1×3 conv-BN-activation (the plain 3×1 convs have no BN and no bias) — and concatenates them in front of
/// its input.</para>
/// <para>Quirks kept: the first 1×1 conv of every EDA module uses ReLU whatever act_type is; the 1/8 stage's strided
/// conv expects 260 input channels whatever k and num_b1 are, and the dilation lists have fixed lengths 5 and 8, so
/// the reference only runs with k = 40, num_b1 = 5, num_b2 = 8 (the options exist, with the reference's names, and
/// accept only those values). The max pool floors and the strided conv rounds up, so H and W must be multiples of 4.
/// 'glu' is not offered as an activation: it halves the channels and no network of the reference survives it.</para>
/// </remarks>
public sealed class EDANet : SegmentationModel
{
    private static readonly long[] Stage2Dilations = { 1, 1, 1, 2, 2 };
    private static readonly long[] Stage3Dilations = { 2, 2, 4, 4, 8, 8, 16, 16 };

    private readonly EDANetDownsamplingBlock stage1;
    private readonly EDANetDownsamplingBlock stage2_d;
    private readonly EDABlock stage2;
    private readonly Sequential stage3_d;
    private readonly EDABlock stage3;
    private readonly Conv2d project;

    /// <summary>Creates EDANet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="k">Growth rate: channels each EDA module adds (only 40 runs, see remarks).</param>
    /// <param name="numB1">EDA modules at 1/4 resolution (only 5 runs).</param>
    /// <param name="numB2">EDA modules at 1/8 resolution (only 8 runs).</param>
    /// <param name="act">Activation name (the reference's act_type, ReLU by default).</param>
    public EDANet(int numClasses, int k = 40, int numB1 = 5, int numB2 = 8, string act = "relu") : base(nameof(EDANet), numClasses, 4)
    {
        if (k != 40 || numB1 != Stage2Dilations.Length || numB2 != Stage3Dilations.Length)
            throw new ArgumentException($"edanet: the reference only runs with k = 40, num_b1 = 5, num_b2 = 8 (got {k}, {numB1}, {numB2})");
        stage1 = new EDANetDownsamplingBlock(InputChannels, 15, act);
        stage2_d = new EDANetDownsamplingBlock(15, 60, act);
        stage2 = new EDABlock(60, k, Stage2Dilations, act);
        stage3_d = ConvBlocks.ConvBNAct(260, 130, 3, 2, act: act);
        stage3 = new EDABlock(130, k, Stage3Dilations, act);
        project = ConvBlocks.Conv1x1(130 + k * numB2, numClasses);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var x = stage2.call(stage2_d.call(stage1.call(input)));
        x = stage3.call(stage3_d.call(x));
        x = project.call(x);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// EDANet's downsampler (ENet's initial block with a 2×2 pool and the BN after the concatenation): "conv" 3×3
/// stride-2 conv without bias to out − in channels, beside "pool" 2×2 max pool; concatenated, then "bn_act" (BN,
/// activation).
/// </summary>
internal sealed class EDANetDownsamplingBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly MaxPool2d pool;
    private readonly Sequential bn_act;

    /// <summary>Creates the block.</summary>
    public EDANetDownsamplingBlock(long inChannels, long outChannels, string act) : base("DownsamplingBlock")
    {
        conv = ConvBlocks.Conv3x3(inChannels, outChannels - inChannels, 2);
        pool = MaxPool2d(2, 2);
        bn_act = Sequential(BatchNorm2d(outChannels), new Activation(act));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = conv.call(input);
        using var b = pool.call(input);
        using var joined = cat(new[] { a, b }, 1);
        return bn_act.call(joined);
    }
}

/// <summary>EDANet's dense block: "layers", a chain of <see cref="EDAModule"/>s, each adding k channels.</summary>
internal sealed class EDABlock : Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    /// <summary>Creates the block with one module per dilation.</summary>
    public EDABlock(long inChannels, long k, long[] dilations, string act) : base(nameof(EDABlock))
    {
        var modules = new Module<Tensor, Tensor>[dilations.Length];
        for (int i = 0; i < dilations.Length; i++)
            modules[i] = new EDAModule(inChannels + i * k, k, dilations[i], act);
        layers = Sequential(modules);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => layers.call(input);
}

/// <summary>
/// EDANet's asymmetric module: "conv" = [1×1 conv-BN-ReLU to k, 3×1 conv, 1×3 conv-BN-activation, dilated 3×1 conv,
/// dilated 1×3 conv-BN-activation]; the output is the new k channels followed by the input.
/// </summary>
internal sealed class EDAModule : Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    /// <summary>Creates the module.</summary>
    public EDAModule(long inChannels, long k, long dilation, string act) : base(nameof(EDAModule))
    {
        conv = Sequential(
            ConvBlocks.ConvBNAct(inChannels, k, 1),
            Conv2d(k, k, new long[] { 3, 1 }, padding: new long[] { 1, 0 }, bias: false),
            ConvBlocks.ConvBNAct(k, k, new long[] { 1, 3 }, act: act),
            Conv2d(k, k, new long[] { 3, 1 }, padding: new long[] { dilation, 0 }, dilation: new[] { dilation }, bias: false),
            ConvBlocks.ConvBNAct(k, k, new long[] { 1, 3 }, dilation: dilation, act: act));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var y = conv.call(input);
        return cat(new[] { y, input }, 1);
    }
}
