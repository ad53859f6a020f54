using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// FPENet (Liu and Yin, BMVC 2019): an encoder of feature pyramid encoding (FPE) blocks and a decoder of two mutual
/// embedding upsampling (MEU) modules. A strided 3×3 ConvBNAct (16 channels) and one FPE block of expansion 1 give
/// the 1/2 features; an FPE block of stride 2 and <c>p</c> − 1 more give the 1/4 features (32 channels); an FPE block
/// of stride 2 and <c>q</c> − 1 more give the 1/8 features (64 channels); the blocks after the first use expansion
/// <c>k</c>. Each MEU merges a feature map with the next deeper one; a 1×1 ConvBNAct gives the logits, which are
/// resized to the input (bilinear, align_corners = true). Height and width must be multiples of 8.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: the MEU "attention" gates end in the network's activation (ReLU by default)
/// rather than a sigmoid; the channel gate applies batch norm to a 1×1 pooled map (so training needs a batch of at
/// least 2); the logits pass through batch norm and the activation. The reference creates several activations with
/// <c>inplace=True</c>, which PReLU, GELU, Sigmoid, Softmax and Tanh do not accept, so its constructor fails for
/// those; the <c>act_type</c> option therefore offers relu (default), relu6, leakyrelu, celu, elu, hardswish,
/// hardtanh, selu, silu and none ('glu' is left out too: it halves the channels). The reference sums the pyramid
/// branches and adds the residual in place on activation outputs, which makes its own backward pass fail with
/// ReLU under PyTorch 1.13; here the sums are out of place, with the same values.
/// </remarks>
public sealed class FPENet : SegmentationModel
{
    private readonly Sequential stage1;
    private readonly FPENetFPEBlock stage2_0;
    private readonly Sequential stage2;
    private readonly FPENetFPEBlock stage3_0;
    private readonly Sequential stage3;
    private readonly FPENetMEU decoder2;
    private readonly FPENetMEU decoder1;
    private readonly Sequential final;

    /// <summary>Creates FPENet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="p">FPE blocks at 1/4 resolution, the strided one included (the reference's <c>p</c>).</param>
    /// <param name="q">FPE blocks at 1/8 resolution, the strided one included (the reference's <c>q</c>).</param>
    /// <param name="k">Channel expansion of the FPE blocks at 1/4 and 1/8 (the reference's <c>k</c>).</param>
    /// <param name="act">Activation (the reference's <c>act_type</c>; one of <see cref="InplaceActivations.OptionValues"/>).</param>
    public FPENet(int numClasses, int p = 3, int q = 9, int k = 4, string act = "relu") : base(nameof(FPENet), numClasses, 8)
    {
        if (p < 1) throw new ArgumentOutOfRangeException(nameof(p), p, "FPENet's p must be at least 1");
        if (q < 1) throw new ArgumentOutOfRangeException(nameof(q), q, "FPENet's q must be at least 1");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "FPENet's k must be at least 1");
        InplaceActivations.Check(nameof(FPENet), act);
        stage1 = Sequential(
            ConvBlocks.ConvBNAct(3, 16, 3, 2, act: act, inplace: true),
            new FPENetFPEBlock(16, 16, 1, 1, act));
        stage2_0 = new FPENetFPEBlock(16, 32, k, 2, act);
        stage2 = Repeat(32, p - 1, k, act);
        stage3_0 = new FPENetFPEBlock(32, 64, k, 2, act);
        stage3 = Repeat(64, q - 1, k, act);
        decoder2 = new FPENetMEU(32, 64, 64, act);
        decoder1 = new FPENetMEU(16, 64, 32, act);
        final = ConvBlocks.ConvBNAct(32, numClasses, 1, act: act, inplace: true);
        RegisterComponents();
    }

    private static Sequential Repeat(long channels, int count, long expansion, string act) =>
        Sequential(Enumerable.Range(0, count).Select(_ => (Module<Tensor, Tensor>)new FPENetFPEBlock(channels, channels, expansion, 1, act)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x1 = stage1.call(input);
        var x2 = stage2.call(stage2_0.call(x1));
        var x = stage3.call(stage3_0.call(x2));
        x = decoder2.call(x2, x);
        x = decoder1.call(x1, x);
        x = final.call(x);
        x = functional.interpolate(x, input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// FPE block: 1×1 ConvBNAct to out·expansion channels; four equal channel slices, each through a depthwise 3×3
/// ConvBNAct (dilations 1, 2, 4, 8, with the block's stride); each slice's output plus the running sum of the earlier
/// ones; concatenation; 1×1 ConvBNAct to the output channels; plus the input when the stride is 1 and the channels do
/// not change.
/// </summary>
internal sealed class FPENetFPEBlock : Module<Tensor, Tensor>
{
    private static readonly long[] Dilations = { 1, 2, 4, 8 };

    private readonly Sequential conv_init;
    private readonly ModuleList<Sequential> layers;
    private readonly Sequential conv_last;

    private readonly bool _useSkip;
    private readonly long _sliceChannels;

    public FPENetFPEBlock(long inChannels, long outChannels, long expansion, long stride, string act) : base("FPEBlock")
    {
        _useSkip = inChannels == outChannels && stride == 1;
        long expanded = outChannels * expansion;
        _sliceChannels = expanded / Dilations.Length;
        conv_init = ConvBlocks.ConvBNAct(inChannels, expanded, 1, act: act, inplace: true);
        layers = ModuleList<Sequential>();
        foreach (var d in Dilations)
            layers.append(ConvBlocks.DWConvBNAct(_sliceChannels, _sliceChannels, 3, stride, d, act));
        conv_last = ConvBlocks.ConvBNAct(expanded, outChannels, 1, act: act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv_init.call(input);
        var outputs = new Tensor[Dilations.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            outputs[i] = layers[i].call(x.narrow(1, i * _sliceChannels, _sliceChannels));
            if (i > 0) outputs[i] = outputs[i] + outputs[i - 1];
        }
        x = conv_last.call(torch.cat(outputs, 1));
        if (_useSkip) x = x + input;
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Mutual embedding upsampling: 1×1 ConvBNAct on the shallow (low) and the deep (high) features to the output
/// channels; a spatial gate from the shallow features (channel mean, then a 1→1 1×1 ConvBNAct) and a channel gate
/// from the deep ones (global average pool, then a 1×1 ConvBNAct); the result is the shallow features times the
/// channel gate plus the deep features, upsampled ×2 (bilinear, align_corners = true), times the spatial gate.
/// </summary>
internal sealed class FPENetMEU : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv_low;
    private readonly Sequential conv_high;
    private readonly FPENetSpatialAttention sa;
    private readonly Sequential ca;

    public FPENetMEU(long lowChannels, long highChannels, long outChannels, string act) : base("MEUModule")
    {
        conv_low = ConvBlocks.ConvBNAct(lowChannels, outChannels, 1, act: act, inplace: true);
        conv_high = ConvBlocks.ConvBNAct(highChannels, outChannels, 1, act: act, inplace: true);
        sa = new FPENetSpatialAttention(act);
        ca = Sequential(AdaptiveAvgPool2d(1), ConvBlocks.ConvBNAct(outChannels, outChannels, 1, act: act, inplace: true));
        RegisterComponents();
    }

    public override Tensor forward(Tensor low, Tensor high)
    {
        using var scope = NewDisposeScope();
        var l = conv_low.call(low);
        var h = conv_high.call(high);
        var spatial = sa.call(l);
        var channel = ca.call(h);
        l = l * channel;
        h = functional.interpolate(h, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
        return (l + h * spatial).MoveToOuterDisposeScope();
    }
}

/// <summary>Spatial gate: mean over the channels, then a one-channel 1×1 ConvBNAct.</summary>
internal sealed class FPENetSpatialAttention : Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    public FPENetSpatialAttention(string act) : base("SpatialAttentionBlock")
    {
        conv = ConvBlocks.ConvBNAct(1, 1, 1, act: act, inplace: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var mean = input.mean(1, keepdim: true);
        return conv.call(mean);
    }
}
