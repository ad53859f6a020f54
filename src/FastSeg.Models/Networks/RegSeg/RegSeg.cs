using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// RegSeg (Gao, 2021), as zh320's reference builds it: a 3×3 ConvBNAct to 1/2 and a backbone of "D blocks"
/// (RegNet-style residual blocks whose 3×3 grouped conv, group width 16, is split in two halves with their own
/// dilation rates, followed by squeeze-excitation and a 1×1 projection): one block to 1/4 (48 channels), three to
/// 1/8 (128), then a strided block to 256 channels, twelve blocks with the configured dilation pairs, and a strided
/// block to 320 channels. The decoder adds the upsampled deepest features (1×1 to 128) to the 1/8 features (1×1 to
/// 128), applies a 3×3 ConvBNAct to 64, upsamples to 1/4, concatenates the 1/4 features reduced to 8 channels, and
/// classifies with a 3×3 ConvBNAct and a 1×1 conv; the logits are resized to the input.
/// </summary>
/// <remarks>
/// Reference quirks kept: the last backbone block is strided, so the features the reference calls "d16" are at 1/32
/// and the thirteenth dilation pair, passed to that strided block, is never used (it must still be given: the
/// reference asks for exactly 13 pairs); a strided D block's shortcut is 2×2 average pooling then a 1×1 ConvBN
/// without activation; the squeeze-excitation uses fully connected layers (biased) with the network's activation and
/// a sigmoid; the residual sum goes through the activation. Strided blocks need even sizes at 1/2 … 1/16 (pooling
/// floors, the strided conv rounds up), so input sides must be multiples of 32.
/// One deliberate difference: the reference's decoder adds the upsampled deep features to the output of a ReLU in
/// place, which makes its backward pass fail ("modified by an inplace operation") with every activation whose
/// gradient reads its output (relu, the default, included); here the sum is taken out of place, so the network
/// trains, with the same forward values and the same state dict.
/// </remarks>
public sealed class RegSeg : SegmentationModel
{
    private readonly Sequential conv_init;
    private readonly RegSegDBlock stage_d4;
    private readonly Sequential stage_d8;
    private readonly Sequential stage_d16;
    private readonly RegSegDecoder decoder;

    /// <summary>The reference's default dilation pairs (r1, r2) of the 1/16 stage's blocks.</summary>
    public static readonly IReadOnlyList<(int R1, int R2)> DefaultDilations = new[]
    {
        (1, 1), (1, 2), (1, 2), (1, 3), (2, 3), (2, 7), (2, 3), (2, 6), (2, 5), (2, 9), (2, 11), (4, 7), (5, 14),
    };

    /// <summary>Creates RegSeg.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="dilations">13 dilation pairs (the reference's <c>dilations</c>; null for its default).</param>
    /// <param name="act">Activation name (the reference's <c>act_type</c>).</param>
    public RegSeg(int numClasses, IReadOnlyList<(int R1, int R2)>? dilations = null, string act = "relu")
        : base(nameof(RegSeg), numClasses, 32)
    {
        dilations ??= DefaultDilations;
        if (dilations.Count != 13)
            throw new ArgumentException($"RegSeg needs 13 dilation pairs, got {dilations.Count}", nameof(dilations));
        if (dilations.Any(d => d.R1 < 1 || d.R2 < 1))
            throw new ArgumentException("RegSeg dilation rates must be at least 1", nameof(dilations));
        Dilations = dilations.ToArray();
        conv_init = ConvBlocks.ConvBNAct(3, 32, 3, 2, act: act);
        stage_d4 = new RegSegDBlock(32, 48, 2, 1, 1, act);
        stage_d8 = Sequential(new RegSegDBlock(48, 128, 2, 1, 1, act));
        for (int i = 0; i < 2; i++) stage_d8.append(new RegSegDBlock(128, 128, 1, 1, 1, act));
        stage_d16 = Sequential(new RegSegDBlock(128, 256, 2, 1, 1, act));
        for (int i = 0; i < 12; i++) stage_d16.append(new RegSegDBlock(256, 256, 1, dilations[i].R1, dilations[i].R2, act));
        stage_d16.append(new RegSegDBlock(256, 320, 2, dilations[12].R1, dilations[12].R2, act));
        decoder = new RegSegDecoder(numClasses, 48, 128, 320, act);
        RegisterComponents();
    }

    /// <summary>The dilation pairs it was built with.</summary>
    public IReadOnlyList<(int R1, int R2)> Dilations { get; }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var x = conv_init.call(input);
        var d4 = stage_d4.call(x);
        var d8 = stage_d8.call(d4);
        var d16 = stage_d16.call(d8);
        var logits = decoder.call(d4, d8, d16);
        logits = functional.interpolate(logits, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(logits.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// D block: <c>conv1</c> 1×1 ConvBNAct in→out; stride 1 (in = out): channel halves through <c>conv_left</c> /
/// <c>conv_right</c>, 3×3 grouped (group width 16) ConvBNActs with dilations r1 / r2, concatenated; stride 2:
/// <c>conv_left</c> 3×3 grouped stride-2 ConvBNAct over all channels and a shortcut <c>conv_skip</c> = [2×2 average
/// pool, 1×1 ConvBN]; then <c>conv2</c> = [squeeze-excitation, 1×1 ConvBN], plus the shortcut, then <c>act</c>.
/// </summary>
internal sealed class RegSegDBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly Sequential conv_left;
    private readonly Sequential? conv_right;
    private readonly Sequential? conv_skip;
    private readonly Sequential conv2;
    private readonly Activation act;
    private readonly long _split;

    public RegSegDBlock(long inChannels, long outChannels, long stride, long r1, long r2, string actType,
        long groupWidth = 16, double seRatio = 0.25) : base("DBlock")
    {
        conv1 = ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: actType);
        if (stride == 1)
        {
            if (inChannels != outChannels) throw new ArgumentException("a stride-1 D block keeps its channels");
            _split = outChannels / 2;
            long groups = _split / groupWidth;
            conv_left = ConvBlocks.ConvBNAct(_split, _split, 3, dilation: r1, groups: groups, act: actType);
            conv_right = ConvBlocks.ConvBNAct(_split, _split, 3, dilation: r2, groups: groups, act: actType);
        }
        else
        {
            conv_left = ConvBlocks.ConvBNAct(outChannels, outChannels, 3, stride, groups: outChannels / groupWidth, act: actType);
            conv_skip = Sequential(AvgPool2d(2, 2, 0), ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: "none"));
        }
        conv2 = Sequential(new RegSegSqueezeExcitation(outChannels, seRatio, actType), ConvBlocks.ConvBNAct(outChannels, outChannels, 1, act: "none"));
        act = new Activation(actType);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv1.call(input);
        Tensor residual;
        if (conv_right is not null)
        {
            long c = x.shape[1];
            x = torch.cat(new[] { conv_left.call(x.narrow(1, 0, _split)), conv_right.call(x.narrow(1, _split, c - _split)) }, 1);
            residual = input;
        }
        else
        {
            x = conv_left.call(x);
            residual = conv_skip!.call(input);
        }
        x = conv2.call(x);
        return act.call(x.add_(residual)).MoveToOuterDisposeScope();
    }
}

/// <summary>Squeeze-excitation: global average pool → <c>se_block</c> = [Linear C→C/4, act, Linear → C, sigmoid] → channel weights times the input.</summary>
internal sealed class RegSegSqueezeExcitation : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> pool;
    private readonly Sequential se_block;

    public RegSegSqueezeExcitation(long channels, double ratio, string act) : base("SEBlock")
    {
        long squeeze = (long)(channels * ratio);
        pool = AdaptiveAvgPool2d(1);
        se_block = Sequential(Linear(channels, squeeze), new Activation(act), Linear(squeeze, channels), new Activation("sigmoid"));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var w = se_block.call(pool.call(input).squeeze(-1).squeeze(-1)).unsqueeze(-1).unsqueeze(-1);
        return (w * input).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Decoder: deepest features 1×1 to 128, bilinearly resized to 1/8 and added to the 1/8 features (1×1 to 128); 3×3
/// to 64, resized to 1/4; concatenated after the 1/4 features (1×1 to 8); 3×3 ConvBNAct 72→64 and 1×1 classifier.
/// </summary>
internal sealed class RegSegDecoder : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Sequential conv_d16;
    private readonly Sequential conv_d8_stage1;
    private readonly Sequential conv_d4_stage1;
    private readonly Sequential conv_d8_stage2;
    private readonly Sequential conv_d4_stage2;

    public RegSegDecoder(long numClasses, long d4Channels, long d8Channels, long d16Channels, string act) : base("Decoder")
    {
        conv_d16 = ConvBlocks.ConvBNAct(d16Channels, 128, 1, act: act);
        conv_d8_stage1 = ConvBlocks.ConvBNAct(d8Channels, 128, 1, act: act);
        conv_d4_stage1 = ConvBlocks.ConvBNAct(d4Channels, 8, 1, act: act);
        conv_d8_stage2 = ConvBlocks.ConvBNAct(128, 64, 3, act: act);
        conv_d4_stage2 = Sequential(ConvBlocks.ConvBNAct(64 + 8, 64, 3, act: act), ConvBlocks.Conv1x1(64, numClasses));
        RegisterComponents();
    }

    public override Tensor forward(Tensor d4, Tensor d8, Tensor d16)
    {
        using var scope = NewDisposeScope();
        var deep = functional.interpolate(conv_d16.call(d16), d8.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        var mid = conv_d8_stage1.call(d8) + deep; // out of place: see the remarks on RegSeg
        mid = functional.interpolate(conv_d8_stage2.call(mid), d4.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        var x = torch.cat(new[] { conv_d4_stage1.call(d4), mid }, 1);
        return conv_d4_stage2.call(x).MoveToOuterDisposeScope();
    }
}
