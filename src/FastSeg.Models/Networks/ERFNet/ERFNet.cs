using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ERFNet (Romera et al., 2018): three ENet-style downsamplers (strided conv concatenated with a max pool) separated by
/// factorised residual blocks (3×1 / 1×3 pairs, the second pair dilated), and a decoder of ×2 transposed convs and
/// more factorised blocks. As in the reference, the last transposed conv still ends in batch norm and ReLU, and there
/// is no dropout.
/// </summary>
public sealed class ERFNet : SegmentationModel
{
    private readonly InitialBlock layer1;
    private readonly InitialBlock layer2;
    private readonly Sequential layer3_7;
    private readonly InitialBlock layer8;
    private readonly Sequential layer9_16;
    private readonly DeConvBNAct layer17;
    private readonly Sequential layer18_19;
    private readonly DeConvBNAct layer20;
    private readonly Sequential layer21_22;
    private readonly DeConvBNAct layer23;

    /// <summary>Creates ERFNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="act">Activation of the downsamplers, the residual blocks' outputs and the transposed convs.</param>
    public ERFNet(int numClasses, string act = "relu") : base(nameof(ERFNet), numClasses, 8)
    {
        layer1 = new InitialBlock(3, 16, act);
        layer2 = new InitialBlock(16, 64, act);
        layer3_7 = Blocks(64, new long[] { 1, 1, 1, 1, 1 }, act);
        layer8 = new InitialBlock(64, 128, act);
        layer9_16 = Blocks(128, new long[] { 2, 4, 8, 16, 2, 4, 8, 16 }, act);
        layer17 = new DeConvBNAct(128, 64, act: act);
        layer18_19 = Blocks(64, new long[] { 1, 1 }, act);
        layer20 = new DeConvBNAct(64, 16, act: act);
        layer21_22 = Blocks(16, new long[] { 1, 1 }, act);
        layer23 = new DeConvBNAct(16, numClasses, act: act);
        RegisterComponents();
    }

    private static Sequential Blocks(long channels, long[] dilations, string act) =>
        Sequential(dilations.Select(d => (Module<Tensor, Tensor>)new ERFNetNonBottleneck1D(channels, d, act)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = layer1.call(input);
        x = layer2.call(x);
        x = layer3_7.call(x);
        x = layer8.call(x);
        x = layer9_16.call(x);
        x = layer17.call(x);
        x = layer18_19.call(x);
        x = layer20.call(x);
        x = layer21_22.call(x);
        x = layer23.call(x);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// ERFNet's non-bottleneck-1D block: 3×1, 1×3 (both conv-BN-ReLU), dilated 3×1 (conv-BN-ReLU), dilated 1×3 conv,
/// plus the input, then BN and the activation. The inner activations are ReLU whatever the network's activation, as
/// in the reference.
/// </summary>
internal sealed class ERFNetNonBottleneck1D : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly Sequential bn_act;

    /// <summary>Creates the block.</summary>
    public ERFNetNonBottleneck1D(long channels, long dilation, string act) : base("NonBt1DBlock")
    {
        conv = Sequential(
            ConvBlocks.ConvBNAct(channels, channels, new long[] { 3, 1 }, inplace: true),
            ConvBlocks.ConvBNAct(channels, channels, new long[] { 1, 3 }, inplace: true),
            ConvBlocks.ConvBNAct(channels, channels, new long[] { 3, 1 }, dilation: dilation, inplace: true),
            Conv2d(channels, channels, new long[] { 1, 3 }, padding: new long[] { 0, dilation }, dilation: new[] { dilation }, bias: false));
        bn_act = Sequential(BatchNorm2d(channels), new Activation(act, inplace: true));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var y = conv.call(input);
        using var sum = y.add(input);
        return bn_act.call(sum);
    }
}
