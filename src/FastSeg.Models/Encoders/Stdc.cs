using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>
/// The Short-Term Dense Concatenate module of STDC (Fan et al., CVPR 2021) as the reference builds it: a 1×1 conv to
/// out/2, a 3×3 conv (carrying the stride) to out/4, then two 3×3 convs to out/8 each; the four results are
/// concatenated (out channels). At stride 2 the first branch is average-pooled (3×3, stride 2, padding 1) before the
/// concatenation. Every conv is a ConvBNAct with ReLU: the reference passes no activation to these blocks, so its
/// <c>act_type</c> never reaches them.
/// </summary>
public sealed class StdcModule : Module<Tensor, Tensor>
{
    private readonly Sequential block1;
    private readonly Sequential block2;
    private readonly AvgPool2d? pool;
    private readonly Sequential block3;
    private readonly Sequential block4;

    /// <summary>Creates the module; <paramref name="outChannels"/> must be a multiple of 8 and the stride 1 or 2.</summary>
    public StdcModule(long inChannels, long outChannels, long stride) : base("STDCModule")
    {
        if (outChannels % 8 != 0)
            throw new ArgumentException($"STDC module output channels must be a multiple of 8, got {outChannels}", nameof(outChannels));
        if (stride is not (1 or 2))
            throw new ArgumentException($"STDC module stride must be 1 or 2, got {stride}", nameof(stride));
        block1 = ConvBlocks.ConvBNAct(inChannels, outChannels / 2, 1);
        block2 = ConvBlocks.ConvBNAct(outChannels / 2, outChannels / 4, 3, stride);
        if (stride == 2) pool = AvgPool2d(3, 2, 1);
        block3 = ConvBlocks.ConvBNAct(outChannels / 4, outChannels / 8, 3);
        block4 = ConvBlocks.ConvBNAct(outChannels / 8, outChannels / 8, 3);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x1 = block1.call(input);
        var x2 = block2.call(x1);
        if (pool is not null) x1 = pool.call(x1);
        var x3 = block3.call(x2);
        var x4 = block4.call(x3);
        return torch.cat(new[] { x1, x2, x3, x4 }, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The STDC backbone as the reference's PP-LiteSeg builds it (trained from scratch, no ImageNet weights):
/// <c>stage1</c> and <c>stage2</c> are strided 3×3 ConvBNActs (3 → 32 → 64 channels, stride 4), and
/// <c>stage3</c>..<c>stage5</c> are each one strided <see cref="StdcModule"/> followed by r stride-1 modules
/// (r = 1, 1, 1 for STDC1 and 3, 4, 2 for STDC2), returning 256, 512 and 1024 channels at strides 8, 16 and 32.
/// The reference's STDC network builds the same stages directly on itself; it uses <see cref="Stem"/> and
/// <see cref="Stage"/> for that.
/// </summary>
public sealed class StdcBackbone : Module<Tensor, Tensor[]>, IEncoder
{
    /// <summary>The variant names this backbone accepts.</summary>
    public static readonly string[] Variants = { "stdc1", "stdc2" };

    /// <summary>The reference's default stage channels: stem 32, 64, then stages 256, 512, 1024.</summary>
    public static readonly long[] DefaultChannels = { 32, 64, 256, 512, 1024 };

    /// <summary>Stride-2 3×3 ConvBNAct from the input.</summary>
    public Sequential stage1;
    /// <summary>Stride-2 3×3 ConvBNAct (stride 4).</summary>
    public Sequential stage2;
    /// <summary>STDC stage at stride 8.</summary>
    public Sequential stage3;
    /// <summary>STDC stage at stride 16.</summary>
    public Sequential stage4;
    /// <summary>STDC stage at stride 32.</summary>
    public Sequential stage5;

    /// <summary>Creates the backbone.</summary>
    /// <param name="inChannels">Input image channels.</param>
    /// <param name="channels">The five stage widths (default <see cref="DefaultChannels"/>).</param>
    /// <param name="variant">"stdc1" or "stdc2".</param>
    public StdcBackbone(long inChannels = 3, long[]? channels = null, string variant = "stdc1") : base("STDCBackbone")
    {
        channels ??= DefaultChannels;
        if (channels.Length != 5) throw new ArgumentException("the STDC backbone needs five stage widths", nameof(channels));
        var repeats = RepeatTimes(variant);
        Variant = variant;
        stage1 = Stem(inChannels, channels[0]);
        stage2 = Stem(channels[0], channels[1]);
        stage3 = Stage(channels[1], channels[2], repeats[0]);
        stage4 = Stage(channels[2], channels[3], repeats[1]);
        stage5 = Stage(channels[3], channels[4], repeats[2]);
        RegisterComponents();
        Channels = new[] { (int)channels[2], (int)channels[3], (int)channels[4] };
    }

    /// <summary>The variant name.</summary>
    public string Variant { get; }

    /// <summary>Channels of stages 3, 4, 5.</summary>
    public IReadOnlyList<int> Channels { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Strides { get; } = new[] { 8, 16, 32 };

    /// <summary>How many stride-1 modules follow the strided one in stages 3, 4 and 5.</summary>
    public static int[] RepeatTimes(string variant) => variant switch
    {
        "stdc1" => new[] { 1, 1, 1 },
        "stdc2" => new[] { 3, 4, 2 },
        _ => throw new ArgumentException($"unsupported STDC variant '{variant}'; valid: {string.Join(", ", Variants)}", nameof(variant)),
    };

    /// <summary>A stride-2 3×3 ConvBNAct with ReLU (stages 1 and 2).</summary>
    public static Sequential Stem(long inChannels, long outChannels) => ConvBlocks.ConvBNAct(inChannels, outChannels, 3, 2);

    /// <summary>One strided <see cref="StdcModule"/> then <paramref name="repeats"/> stride-1 ones, as a Sequential.</summary>
    public static Sequential Stage(long inChannels, long outChannels, int repeats)
    {
        var stage = Sequential(new StdcModule(inChannels, outChannels, 2));
        for (int i = 0; i < repeats; i++) stage.append(new StdcModule(outChannels, outChannels, 1));
        return stage;
    }

    /// <inheritdoc />
    public override Tensor[] forward(Tensor input) => ForwardFeatures(input);

    /// <summary>The stride-8, 16 and 32 features; the caller owns them.</summary>
    public Tensor[] ForwardFeatures(Tensor input)
    {
        Tensor x3, x4, x5;
        using (var s1 = stage1.call(input))
        using (var s2 = stage2.call(s1))
            x3 = stage3.call(s2);
        x4 = stage4.call(x3);
        x5 = stage5.call(x4);
        return new[] { x3, x4, x5 };
    }
}
