using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// Lite-HRNet (Yu et al., 2021), as zh320's reference builds it for segmentation. A stem (3×3 conv to 1/2, then a
/// ShuffleNet-style block to 1/4 with <c>base_ch</c> channels) and a depthwise-separable conv to 1/8 open two branches;
/// stages 2, 3 and 4 keep every branch at its resolution (channels base·2^k at 1/4 … 1/32) and repeat a module of
/// three parts: a cross-resolution weighting (the second half of every branch's channels, average-pooled to the
/// lowest resolution, two 1×1 ConvBNActs, the second a sigmoid, split back per branch), conditional channel weighting
/// blocks on each branch (the first half passes through, the second half is scaled by its cross-resolution weight,
/// goes through a 3×3 depthwise ConvBNAct and is scaled by a squeeze-excitation style spatial weight; halves are
/// concatenated and channel-shuffled), and a fusion in which every output branch sums every input branch, resized by
/// 1×1 ConvBNAct + bilinear upsampling or by a chain of stride-2 depthwise-separable convs. The last module of stages 2
/// and 3 adds a branch. The head upsamples all four branches to 1/4, concatenates them (15·base_ch channels) and
/// applies a depthwise-separable conv to 128 channels and a 1×1 classifier; logits are resized to the input.
/// Variants "litehrnet18" (modules per stage 2, 4, 2) and "litehrnet30" (3, 8, 3).
/// </summary>
/// <remarks>
/// Reference quirks kept: the cross-resolution weights are resized to each branch with nearest-neighbour
/// interpolation; the same weights serve every repeat of the channel-weighting block within a module; the spatial
/// weight and cross-resolution modules apply batch norm to 1×1 / lowest-resolution pooled maps (in training with a
/// batch of one, PyTorch's Python layer refuses this while libtorch here computes a zero-variance normalisation);
/// the sigmoid convs keep their batch norm; all fusion sums are plain sums (no activation after them). The reference
/// slices channels with <c>c // 2</c>, so odd channel counts break it: <c>base_ch</c> must be even (and at least 16, so
/// that the reductions by 8 keep a channel). Input sides must be multiples of 32 so the fixed ×2/×4/×8 upsamplings
/// meet the branch sizes.
/// </remarks>
public sealed class LiteHRNet : SegmentationModel
{
    private readonly Sequential stem;
    private readonly Sequential stage1_down;
    private readonly LiteHRNetStage stage2;
    private readonly LiteHRNetStage stage3;
    private readonly LiteHRNetStage stage4;
    private readonly LiteHRNetRepresentationHead rep_head;

    /// <summary>The variants and their modules per stage (2, 3, 4).</summary>
    public static readonly IReadOnlyDictionary<string, int[]> Variants = new Dictionary<string, int[]>
    {
        ["litehrnet18"] = new[] { 2, 4, 2 },
        ["litehrnet30"] = new[] { 3, 8, 3 },
    };

    /// <summary>Creates Lite-HRNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="variant">"litehrnet18" or "litehrnet30" (the reference's <c>arch_type</c>).</param>
    /// <param name="baseChannels">Channels of the 1/4 branch (the reference's <c>base_ch</c>); even, at least 16.</param>
    /// <param name="repeat">Channel-weighting blocks per branch in each module (the reference's <c>repeat</c>).</param>
    /// <param name="act">Activation name (the reference's <c>act_type</c>).</param>
    public LiteHRNet(int numClasses, string variant = "litehrnet18", int baseChannels = 40, int repeat = 2, string act = "relu")
        : base(nameof(LiteHRNet), numClasses, 32)
    {
        if (!Variants.TryGetValue(variant, out var modules))
            throw new ArgumentException($"unsupported LiteHRNet variant '{variant}'; valid: {string.Join(", ", Variants.Keys)}", nameof(variant));
        if (baseChannels < 16 || baseChannels % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(baseChannels), baseChannels, "LiteHRNet base_ch must be an even number of at least 16");
        if (repeat < 1) throw new ArgumentOutOfRangeException(nameof(repeat), repeat, "LiteHRNet repeat must be at least 1");
        Variant = variant;
        long c = baseChannels;
        stem = Sequential(ConvBlocks.ConvBNAct(3, 32, 3, 2, act: act), new LiteHRNetShuffleBlock(32, c, 2, act));
        stage1_down = ConvBlocks.DSConvBNAct(c, 2 * c, 3, 2, act: act);
        stage2 = new LiteHRNetStage(c, 2, repeat, modules[0], act);
        stage3 = new LiteHRNetStage(c, 3, repeat, modules[1], act);
        stage4 = new LiteHRNetStage(c, 4, repeat, modules[2], act);
        rep_head = new LiteHRNetRepresentationHead(c, numClasses, 4, act);
        RegisterComponents();
    }

    /// <summary>The variant ("litehrnet18" or "litehrnet30").</summary>
    public string Variant { get; }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var x = stem.call(input);
        var feats = new[] { x, stage1_down.call(x) };
        feats = stage4.call(stage3.call(stage2.call(feats)));
        var logits = rep_head.call(feats);
        logits = functional.interpolate(logits, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(logits.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// A stage over <c>stage</c> branches: per module, a cross-resolution weighting, <c>repeat</c> channel-weighting blocks
/// per branch and a fusion, held in one list (<c>stage_blocks</c>) as the triples [weighting, per-branch block lists,
/// fusion]. The last module of stages 2 and 3 adds a branch.
/// </summary>
internal sealed class LiteHRNetStage : Module<Tensor[], Tensor[]>
{
    private readonly ModuleList<Module> stage_blocks;
    private readonly LiteHRNetCrossResolutionWeight[] _weights;
    private readonly LiteHRNetChannelWeightBlock[][][] _blocks;
    private readonly LiteHRNetFusion[] _fusions;

    public LiteHRNetStage(long baseChannels, int stage, int repeat, int numModules, string act) : base("StageBlock")
    {
        var chs = Enumerable.Range(0, stage).Select(i => baseChannels << i).ToArray();
        long crwChannels = chs.Sum() / 2;
        stage_blocks = ModuleList<Module>();
        _weights = new LiteHRNetCrossResolutionWeight[numModules];
        _blocks = new LiteHRNetChannelWeightBlock[numModules][][];
        _fusions = new LiteHRNetFusion[numModules];
        for (int m = 0; m < numModules; m++)
        {
            _weights[m] = new LiteHRNetCrossResolutionWeight(crwChannels, act);
            var perBranch = ModuleList<ModuleList<LiteHRNetChannelWeightBlock>>();
            _blocks[m] = new LiteHRNetChannelWeightBlock[stage][];
            for (int j = 0; j < stage; j++)
            {
                _blocks[m][j] = Enumerable.Range(0, repeat).Select(_ => new LiteHRNetChannelWeightBlock(chs[j], act)).ToArray();
                perBranch.append(ModuleList(_blocks[m][j]));
            }
            _fusions[m] = new LiteHRNetFusion(baseChannels, stage, m == numModules - 1 && stage != 4, act);
            stage_blocks.append(_weights[m]);
            stage_blocks.append(perBranch);
            stage_blocks.append(_fusions[m]);
        }
        RegisterComponents();
    }

    public override Tensor[] forward(Tensor[] input)
    {
        using var scope = NewDisposeScope();
        var feats = (Tensor[])input.Clone();
        for (int m = 0; m < _fusions.Length; m++)
        {
            var weights = _weights[m].call(feats);
            for (int j = 0; j < feats.Length; j++)
                foreach (var block in _blocks[m][j])
                    feats[j] = block.call(feats[j], weights[j]);
            feats = _fusions[m].call(feats);
        }
        foreach (var f in feats) f.MoveToOuterDisposeScope();
        return feats;
    }
}

/// <summary>
/// Cross-resolution weighting: the second half of each branch's channels, average-pooled to the lowest branch's size
/// (which is taken as is), concatenated, through <c>conv</c> = [1×1 ConvBNAct to 1/8 (act), 1×1 ConvBNAct back
/// (sigmoid)], split per branch.
/// </summary>
internal sealed class LiteHRNetCrossResolutionWeight : Module<Tensor[], Tensor[]>
{
    private readonly Sequential conv;

    public LiteHRNetCrossResolutionWeight(long channels, string act) : base("CrossResolutionWeightModule")
    {
        long hidden = channels / 8;
        conv = Sequential(ConvBlocks.ConvBNAct(channels, hidden, 1, act: act), ConvBlocks.ConvBNAct(hidden, channels, 1, act: "sigmoid"));
        RegisterComponents();
    }

    public override Tensor[] forward(Tensor[] feats)
    {
        using var scope = NewDisposeScope();
        var last = feats[^1];
        var poolSize = last.shape[2..];
        var halves = new long[feats.Length];
        var parts = new Tensor[feats.Length];
        for (int i = 0; i < feats.Length; i++)
        {
            long c = feats[i].shape[1];
            halves[i] = c / 2;
            var second = feats[i].narrow(1, halves[i], c - halves[i]);
            parts[i] = i == feats.Length - 1 ? second : functional.adaptive_avg_pool2d(second, poolSize);
        }
        var weights = conv.call(torch.cat(parts, 1)).split(halves, 1);
        foreach (var w in weights) w.MoveToOuterDisposeScope();
        return weights;
    }
}

/// <summary>
/// Conditional channel weighting on one branch (stride 1, channels unchanged): the first half passes through; the
/// second half times its cross-resolution weight (nearest-resized to the branch) → 3×3 depthwise ConvBNAct → times the
/// spatial weight of the result; the halves are concatenated and channel-shuffled.
/// </summary>
internal sealed class LiteHRNetChannelWeightBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential right_branch;
    private readonly LiteHRNetSpatialWeight sw;
    private readonly long _left;
    private readonly long _right;

    public LiteHRNetChannelWeightBlock(long channels, string act) : base("CCWBlock")
    {
        _left = channels / 2;
        _right = channels - _left;
        right_branch = ConvBlocks.DWConvBNAct(_right, _right, 3, 1, act: act);
        sw = new LiteHRNetSpatialWeight(_right, act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor feats, Tensor crossWeight)
    {
        using var scope = NewDisposeScope();
        var left = feats.narrow(1, 0, _left);
        var right = feats.narrow(1, _left, _right);
        var weight = functional.interpolate(crossWeight, right.shape[2..], mode: InterpolationMode.Nearest);
        right = right_branch.call(right * weight);
        right = right * sw.call(right);
        return ConvBlocks.ChannelShuffle(torch.cat(new[] { left, right }, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>Spatial weight: global average pool, then <c>fc</c> = [1×1 ConvBNAct to 1/8 (act), 1×1 ConvBNAct back (sigmoid)] (a 1×1 map).</summary>
internal sealed class LiteHRNetSpatialWeight : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> avg_pool;
    private readonly Sequential fc;

    public LiteHRNetSpatialWeight(long channels, string act) : base("SpatialWeightModule")
    {
        long hidden = channels / 8;
        avg_pool = AdaptiveAvgPool2d(1);
        fc = Sequential(ConvBlocks.ConvBNAct(channels, hidden, 1, act: act), ConvBlocks.ConvBNAct(hidden, channels, 1, act: "sigmoid"));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var pooled = avg_pool.call(input);
        return fc.call(pooled);
    }
}

/// <summary>
/// Fusion of <c>stage</c> branches into as many outputs (one more when <c>extra_output</c>): output j is the sum over
/// input branches k of stream k+1's entry j — identity when k = j, 1×1 ConvBNAct + bilinear ×2^(k−j) upsampling when
/// k &gt; j, and j − k stride-2 depthwise-separable convs when k &lt; j. Streams 3 and 4 exist only from stage 3 / 4 on.
/// </summary>
internal sealed class LiteHRNetFusion : Module<Tensor[], Tensor[]>
{
    private readonly ModuleList<Module<Tensor, Tensor>> stream1;
    private readonly ModuleList<Module<Tensor, Tensor>> stream2;
    private readonly ModuleList<Module<Tensor, Tensor>>? stream3;
    private readonly ModuleList<Module<Tensor, Tensor>>? stream4;
    private readonly ModuleList<Module<Tensor, Tensor>>[] _streams;
    private readonly int _outputs;

    public LiteHRNetFusion(long baseChannels, int stage, bool extraOutput, string act) : base("FusionBlock")
    {
        _outputs = extraOutput ? stage + 1 : stage;
        var chs = Enumerable.Range(0, _outputs).Select(i => baseChannels << i).ToArray();
        ModuleList<Module<Tensor, Tensor>> Stream(int k)
        {
            var list = ModuleList<Module<Tensor, Tensor>>();
            for (int j = 0; j < _outputs; j++)
            {
                if (j == k) list.append(Identity());
                else if (j < k) list.append(Sequential(ConvBlocks.ConvBNAct(chs[k], chs[j], 1, act: act),
                    Upsample(scale_factor: new[] { (double)(1 << (k - j)) }, mode: InterpolationMode.Bilinear, align_corners: true)));
                else list.append(new LiteHRNetDownsample(chs[k], chs[j], j - k, act));
            }
            return list;
        }
        stream1 = Stream(0);
        stream2 = Stream(1);
        if (stage >= 3) stream3 = Stream(2);
        if (stage == 4) stream4 = Stream(3);
        _streams = new[] { stream1, stream2, stream3, stream4 }.Where(s => s is not null).Take(stage).ToArray()!;
        RegisterComponents();
    }

    public override Tensor[] forward(Tensor[] feats)
    {
        using var scope = NewDisposeScope();
        var outputs = new Tensor[_outputs];
        for (int j = 0; j < _outputs; j++)
        {
            var sum = _streams[0][j].call(feats[0]) + _streams[1][j].call(feats[1]);
            for (int k = 2; k < _streams.Length; k++) sum.add_(_streams[k][j].call(feats[k]));
            outputs[j] = sum.MoveToOuterDisposeScope();
        }
        return outputs;
    }
}

/// <summary><c>conv</c>: <c>n</c> stride-2 depthwise-separable 3×3 convs, all in→in except the last in→out.</summary>
internal sealed class LiteHRNetDownsample : Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    public LiteHRNetDownsample(long inChannels, long outChannels, int blocks, string act) : base("DownsampleBlock")
    {
        conv = Sequential();
        for (int i = 0; i < blocks; i++)
            conv.append(ConvBlocks.DSConvBNAct(inChannels, i == blocks - 1 ? outChannels : inChannels, 3, 2, act: act));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => conv.call(input);
}

/// <summary>ShuffleNet V2 unit used in the stem: channel halves; left 1×1 ConvBNAct (with the stride), right 1×1 → 3×3 depthwise (stride) → 1×1; concatenated and shuffled.</summary>
internal sealed class LiteHRNetShuffleBlock : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> left_branch;
    private readonly Sequential right_branch;
    private readonly long _leftIn;

    public LiteHRNetShuffleBlock(long inChannels, long outChannels, long stride, string act) : base("ShuffleBlock")
    {
        _leftIn = inChannels / 2;
        long leftOut = outChannels / 2, rightIn = inChannels - _leftIn, rightOut = outChannels - leftOut;
        left_branch = stride != 1 || _leftIn != leftOut ? ConvBlocks.ConvBNAct(_leftIn, leftOut, 1, stride, act: act) : Identity();
        right_branch = Sequential(
            ConvBlocks.ConvBNAct(rightIn, rightOut, 1, act: act),
            ConvBlocks.DWConvBNAct(rightOut, rightOut, 3, stride, act: act),
            ConvBlocks.ConvBNAct(rightOut, rightOut, 1, act: act));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        long c = input.shape[1];
        var left = left_branch.call(input.narrow(1, 0, _leftIn));
        var right = right_branch.call(input.narrow(1, _leftIn, c - _leftIn));
        return ConvBlocks.ChannelShuffle(torch.cat(new[] { left, right }, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>Head: branch k upsampled bilinearly by 2^k (<c>up</c>), concatenated, then <c>seg_head</c> = [depthwise-separable 3×3 to 128, 1×1 classifier].</summary>
internal sealed class LiteHRNetRepresentationHead : Module<Tensor[], Tensor>
{
    private readonly ModuleList<Module<Tensor, Tensor>> up;
    private readonly Sequential seg_head;

    public LiteHRNetRepresentationHead(long baseChannels, long numClasses, int branches, string act, long hidden = 128) : base("RepresentationHead")
    {
        up = ModuleList<Module<Tensor, Tensor>>(Identity());
        for (int i = 1; i < branches; i++)
            up.append(Upsample(scale_factor: new[] { (double)(1 << i) }, mode: InterpolationMode.Bilinear, align_corners: true));
        long inChannels = ((1L << branches) - 1) * baseChannels;
        seg_head = Sequential(ConvBlocks.DSConvBNAct(inChannels, hidden, 3, act: act), ConvBlocks.Conv1x1(hidden, numClasses));
        RegisterComponents();
    }

    public override Tensor forward(Tensor[] feats)
    {
        using var scope = NewDisposeScope();
        var ups = feats.Select((f, i) => up[i].call(f)).ToArray();
        return seg_head.call(torch.cat(ups, 1)).MoveToOuterDisposeScope();
    }
}
