using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// FDDWNet (Liu et al., 2019): ERFNet's layout with depthwise units. Two ENet-style downsamplers
/// (<see cref="InitialBlock"/>, to 16 then 64 channels, 1/4), five EERM units whose output is kept as a skip, a third
/// downsampler to 128 channels (1/8), sixteen EERM units with dilations 1, 2, 5, 9, 1, 2, 5, 9, 2, 5, 9, 17, 2, 5, 9,
/// 17; the decoder is a ×2 transposed-conv block to 64 channels, two EERM units, the skip added, a ×2 transposed-conv
/// block to 16 channels, two EERM units and a last ×2 transposed-conv block to the classes. An EERM unit is a
/// depthwise ks×1 and 1×ks pair, a pointwise ConvBNAct, a dilated depthwise ks×1 and 1×ks pair and a pointwise conv +
/// BN, plus the input, then the activation.
/// </summary>
/// <remarks>
/// The skip must match the upsampled map, so height and width must be multiples of 8; the kernel size ks must be odd
/// (an even kernel changes the map size and breaks the residual sums, as in the reference). As in the reference, the
/// last transposed conv still ends in batch norm and the activation. The reference builds the pointwise activations
/// with <c>inplace=True</c>, which PyTorch's PReLU, GELU, Sigmoid, Softmax and Tanh do not accept, so the act_type
/// option offers only the activations that do (see <see cref="InplaceActivations"/>); 'glu' is left out as in every
/// network (it halves the channels).
/// </remarks>
public sealed class FDDWNet : SegmentationModel
{
    private readonly InitialBlock layer1;
    private readonly InitialBlock layer2;
    private readonly Sequential layer3_7;
    private readonly InitialBlock layer8;
    private readonly Sequential layer9_16;
    private readonly Sequential layer17_24;
    private readonly DeConvBNAct layer25;
    private readonly Sequential layer26_27;
    private readonly DeConvBNAct layer28;
    private readonly Sequential layer29_30;
    private readonly DeConvBNAct layer31;

    /// <summary>Creates FDDWNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="ks">Kernel size of the factorized depthwise convs (odd; the reference's ks).</param>
    /// <param name="actType">Activation name (the reference's act_type); one that accepts PyTorch's inplace flag.</param>
    public FDDWNet(int numClasses, int ks = 3, string actType = "relu") : base(nameof(FDDWNet), numClasses, 8)
    {
        if (ks < 1 || ks % 2 == 0)
            throw new ArgumentException($"FDDWNet: ks must be a positive odd integer, got {ks}", nameof(ks));
        layer1 = new InitialBlock(InputChannels, 16, actType);
        layer2 = new InitialBlock(16, 64, actType);
        layer3_7 = Units(64, ks, new long[] { 1, 1, 1, 1, 1 }, actType);
        layer8 = new InitialBlock(64, 128, actType);
        layer9_16 = Units(128, ks, new long[] { 1, 2, 5, 9, 1, 2, 5, 9 }, actType);
        layer17_24 = Units(128, ks, new long[] { 2, 5, 9, 17, 2, 5, 9, 17 }, actType);
        layer25 = new DeConvBNAct(128, 64, act: actType);
        layer26_27 = Units(64, ks, new long[] { 1, 1 }, actType);
        layer28 = new DeConvBNAct(64, 16, act: actType);
        layer29_30 = Units(16, ks, new long[] { 1, 1 }, actType);
        layer31 = new DeConvBNAct(16, numClasses, act: actType);
        RegisterComponents();
    }

    private static Sequential Units(long channels, long ks, long[] dilations, string actType) =>
        Sequential(dilations.Select(d => (Module<Tensor, Tensor>)new FDDWNetEERMUnit(channels, ks, d, actType)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = layer2.call(layer1.call(input));
        var skip = layer3_7.call(x);
        x = layer17_24.call(layer9_16.call(layer8.call(skip)));
        x = layer26_27.call(layer25.call(x)).add(skip);
        x = layer29_30.call(layer28.call(x));
        x = layer31.call(x);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// FDDWNet's extremely efficient residual module (EERM), all under "conv": depthwise ks×1 and 1×ks convs + BN (no
/// activation), 1×1 ConvBNAct, dilated depthwise ks×1 and 1×ks convs + BN (no activation), 1×1 conv + BN (no
/// activation); the input is added and the activation applied.
/// </summary>
internal sealed class FDDWNetEERMUnit : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly Activation act;

    /// <summary>Creates the unit.</summary>
    public FDDWNetEERMUnit(long channels, long ks, long dilation, string actType) : base("EERMUnit")
    {
        long[] tall = { ks, 1 }, wide = { 1, ks };
        conv = Sequential(
            ConvBlocks.DWConvBNAct(channels, channels, tall, act: "none"),
            ConvBlocks.DWConvBNAct(channels, channels, wide, act: "none"),
            ConvBlocks.ConvBNAct(channels, channels, 1, act: actType, inplace: true),
            ConvBlocks.DWConvBNAct(channels, channels, tall, dilation: dilation, act: "none"),
            ConvBlocks.DWConvBNAct(channels, channels, wide, dilation: dilation, act: "none"),
            ConvBlocks.ConvBNAct(channels, channels, 1, act: "none"));
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var y = conv.call(input);
        using var sum = y.add(input);
        return act.call(sum);
    }
}
