using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ADSCNet (Wang et al., Applied Intelligence 2020): an encoder-decoder of asymmetric depthwise-separable (ADSC)
/// modules. A strided 3×3 conv-BN-activation gives 1/2 resolution; ADSC modules, two of them strided (which
/// concatenate an average-pooled copy of their input and so double the channels), reach 1/8 with 128 channels; a
/// densely connected dilated convolution block (DDCC) gathers context; three ×2 transposed-conv stages, with ADSC
/// modules, return to full resolution, adding the encoder's 1/4 and 1/2 features on the way. The last transposed conv
/// gives the logits directly.
/// </summary>
/// <remarks>
/// <para>An ADSC module runs a depthwise 3×1 conv-BN-activation (with the module's stride and dilation), a 1×1 conv,
/// a depthwise 1×3 conv-BN-activation (dilated) and another 1×1 conv (the 1×1 convs have no BN, no bias, no
/// activation). At stride 1 it adds its input; at stride 2 it concatenates a 3×3 average pool (stride 2, padding 1)
/// of its input. The DDCC block has four branches; branch i reads the concatenation of the block's input and all
/// earlier branch outputs, reduces it to C channels with a 1×1 conv (not the first branch), smooths it with a
/// stride-1 average pool of size d_i (padding d_i / 2) and applies an ADSC module with dilation d_i, for
/// d = 3, 5, 9, 13; a 1×1 conv maps the concatenation of the input and the four outputs back to C channels.</para>
/// <para>Quirks kept: the transposed convs are followed by BN and ReLU whatever act_type is, so the logits pass
/// through BN and ReLU; the reference builds the activations of the first conv and of the ADSC modules in place,
/// so only activations whose PyTorch class takes an inplace argument can be chosen (relu6, relu, leakyrelu, celu,
/// elu, hardswish, hardtanh, selu, silu, none — the others fail in the reference's constructor). The decoder's sizes
/// must match the encoder's, so H and W must be multiples of 8.</para>
/// </remarks>
public sealed class ADSCNet : SegmentationModel
{
    /// <summary>The act_type values the reference accepts (its activations are built in place), default first.</summary>
    public static readonly string[] ActivationTypes =
        { "relu6", "relu", "leakyrelu", "celu", "elu", "hardswish", "hardtanh", "selu", "silu", "none" };

    private readonly Sequential conv0;
    private readonly ADSCModule conv1;
    private readonly Sequential conv2_4;
    private readonly ADSCModule conv5;
    private readonly DenseDilatedConvolutionConnection ddcc;
    private readonly Sequential up1;
    private readonly Sequential up2;
    private readonly Sequential up3;

    /// <summary>Creates ADSCNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="act">Activation name (the reference's act_type, ReLU6 by default; one of <see cref="ActivationTypes"/>).</param>
    public ADSCNet(int numClasses, string act = "relu6") : base(nameof(ADSCNet), numClasses, 8)
    {
        if (!ActivationTypes.Contains(act))
            throw new ArgumentException($"adscnet: act_type '{act}' is not one of {string.Join(", ", ActivationTypes)}", nameof(act));
        conv0 = ConvBlocks.ConvBNAct(InputChannels, 32, 3, 2, act: act, inplace: true);
        conv1 = new ADSCModule(32, 1, 1, act);
        conv2_4 = Sequential(new ADSCModule(32, 1, 1, act), new ADSCModule(32, 2, 1, act), new ADSCModule(64, 1, 1, act));
        conv5 = new ADSCModule(64, 2, 1, act);
        ddcc = new DenseDilatedConvolutionConnection(128, new long[] { 3, 5, 9, 13 }, act);
        up1 = Sequential(new DeConvBNAct(128, 64), new ADSCModule(64, 1, 1, act));
        up2 = Sequential(new ADSCModule(64, 1, 1, act), new DeConvBNAct(64, 32));
        up3 = Sequential(new ADSCModule(32, 1, 1, act), new DeConvBNAct(32, numClasses));
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv0.call(input);
        var x1 = conv1.call(x);
        var x4 = conv2_4.call(x1);
        x = ddcc.call(conv5.call(x4));
        x = up1.call(x) + x4;
        x = up2.call(x) + x1;
        x = up3.call(x);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// ADSCNet's asymmetric depthwise-separable module: "conv" = [depthwise 3×1 conv-BN-activation (stride, dilation),
/// 1×1 conv, depthwise 1×3 conv-BN-activation (dilation), 1×1 conv]; stride 1 adds the input, stride 2 concatenates
/// "pool" (3×3 average pool, stride 2, padding 1) of the input, doubling the channels.
/// </summary>
internal sealed class ADSCModule : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly AvgPool2d? pool;

    /// <summary>Creates the module; <paramref name="stride"/> is 1 or 2.</summary>
    public ADSCModule(long channels, long stride, long dilation, string act) : base(nameof(ADSCModule))
    {
        if (stride is not (1 or 2)) throw new ArgumentException($"ADSCModule: stride must be 1 or 2, got {stride}", nameof(stride));
        conv = Sequential(
            ConvBlocks.DWConvBNAct(channels, channels, new long[] { 3, 1 }, stride, dilation, act, inplace: true),
            ConvBlocks.Conv1x1(channels, channels),
            ConvBlocks.DWConvBNAct(channels, channels, new long[] { 1, 3 }, 1, dilation, act, inplace: true),
            ConvBlocks.Conv1x1(channels, channels));
        if (stride == 2) pool = AvgPool2d(3, 2, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var y = conv.call(input);
        if (pool is null) return y + input;
        using var pooled = pool.call(input);
        return cat(new[] { y, pooled }, 1);
    }
}

/// <summary>
/// ADSCNet's DDCC block (dense dilated convolution connection): "block1" = [average pool d1, ADSC dilation d1] on the
/// input; "block2".."block4" = [1×1 conv from the concatenation of the input and all earlier outputs to C, average
/// pool d_i, ADSC dilation d_i]; "conv_last" 1×1 conv of the concatenation of everything (5C) to C. The average pools
/// have stride 1 and padding d_i / 2 (rounded down) and count the padding.
/// </summary>
internal sealed class DenseDilatedConvolutionConnection : Module<Tensor, Tensor>
{
    private readonly Sequential block1;
    private readonly Sequential block2;
    private readonly Sequential block3;
    private readonly Sequential block4;
    private readonly Conv2d conv_last;

    /// <summary>Creates the block with four dilations (also the pool sizes).</summary>
    public DenseDilatedConvolutionConnection(long channels, long[] dilations, string act) : base("DDCC")
    {
        if (dilations.Length != 4) throw new ArgumentException("DDCC needs four dilations", nameof(dilations));
        AvgPool2d Pool(long d) => AvgPool2d(d, 1, d / 2);
        block1 = Sequential(Pool(dilations[0]), new ADSCModule(channels, 1, dilations[0], act));
        block2 = Sequential(ConvBlocks.Conv1x1(2 * channels, channels), Pool(dilations[1]), new ADSCModule(channels, 1, dilations[1], act));
        block3 = Sequential(ConvBlocks.Conv1x1(3 * channels, channels), Pool(dilations[2]), new ADSCModule(channels, 1, dilations[2], act));
        block4 = Sequential(ConvBlocks.Conv1x1(4 * channels, channels), Pool(dilations[3]), new ADSCModule(channels, 1, dilations[3], act));
        conv_last = ConvBlocks.Conv1x1(5 * channels, channels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x1 = block1.call(input);
        var x2 = block2.call(cat(new[] { input, x1 }, 1));
        var x3 = block3.call(cat(new[] { input, x1, x2 }, 1));
        var x4 = block4.call(cat(new[] { input, x1, x2, x3 }, 1));
        return conv_last.call(cat(new[] { input, x1, x2, x3, x4 }, 1)).MoveToOuterDisposeScope();
    }
}
