using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ESNet (Wang et al., 2019): a symmetric encoder-decoder. The encoder has three ENet-style downsamplers
/// (<see cref="InitialBlock"/>, to 16, 64 and 128 channels), each followed by residual units: factorized convolution
/// units with 3×3 kernels (3 at 1/2), with 5×5 kernels (2 at 1/4), and parallel factorized convolution units with
/// dilations 2, 5 and 9 (3 at 1/8). The decoder mirrors it: a ×2 transposed-conv block to 64 channels, 2 units with
/// 5×5 kernels, a ×2 transposed-conv block to 16 channels, 2 units with 3×3 kernels, and a last ×2 transposed conv
/// to the classes. Every step halves or doubles exactly, so height and width must be multiples of 8.
/// </summary>
/// <remarks>
/// As in the reference, the last transposed conv still ends in batch norm and the activation, so the logits are
/// activated (non-negative with ReLU). The reference builds the units' inner activations with <c>inplace=True</c>,
/// which PyTorch's PReLU, GELU, Sigmoid, Softmax and Tanh do not accept, so the act_type option offers only the
/// activations that do (see <see cref="InplaceActivations"/>); 'glu' is left out as in every network (it halves
/// the channels).
/// </remarks>
public sealed class ESNet : SegmentationModel
{
    private readonly InitialBlock block1_down;
    private readonly Sequential block1;
    private readonly InitialBlock block2_down;
    private readonly Sequential block2;
    private readonly InitialBlock block3_down;
    private readonly Sequential block3;
    private readonly DeConvBNAct block4_up;
    private readonly Sequential block4;
    private readonly DeConvBNAct block5_up;
    private readonly Sequential block5;
    private readonly DeConvBNAct full_conv;

    /// <summary>Creates ESNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="actType">Activation name (the reference's act_type); one that accepts PyTorch's inplace flag.</param>
    public ESNet(int numClasses, string actType = "relu") : base(nameof(ESNet), numClasses, 8)
    {
        block1_down = new InitialBlock(InputChannels, 16, actType);
        block1 = Factorized(16, 3, 3, actType);
        block2_down = new InitialBlock(16, 64, actType);
        block2 = Factorized(64, 5, 2, actType);
        block3_down = new InitialBlock(64, 128, actType);
        block3 = Sequential(Enumerable.Range(0, 3)
            .Select(_ => (Module<Tensor, Tensor>)new ESNetParallelFactorizedUnit(128, 2, 5, 9, actType)).ToArray());
        block4_up = new DeConvBNAct(128, 64, act: actType);
        block4 = Factorized(64, 5, 2, actType);
        block5_up = new DeConvBNAct(64, 16, act: actType);
        block5 = Factorized(16, 3, 2, actType);
        full_conv = new DeConvBNAct(16, numClasses, act: actType);
        RegisterComponents();
    }

    private static Sequential Factorized(long channels, long kernel, int count, string actType) =>
        Sequential(Enumerable.Range(0, count)
            .Select(_ => (Module<Tensor, Tensor>)new ESNetFactorizedUnit(channels, kernel, actType)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = block1.call(block1_down.call(input));
        x = block2.call(block2_down.call(x));
        x = block3.call(block3_down.call(x));
        x = block4.call(block4_up.call(x));
        x = block5.call(block5_up.call(x));
        x = full_conv.call(x);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// ESNet's factorized convolution unit (FCU): K×1 conv (no bias, no BN), activation, 1×K ConvBNAct, K×1 conv,
/// activation, 1×K conv + BN (no activation), all under "conv"; the input is added and the activation applied.
/// </summary>
internal sealed class ESNetFactorizedUnit : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly Activation act;

    /// <summary>Creates the unit with a K×1 / 1×K kernel pair (K odd).</summary>
    public ESNetFactorizedUnit(long channels, long kernel, string actType) : base("FCU")
    {
        long p = (kernel - 1) / 2;
        long[] tall = { kernel, 1 }, wide = { 1, kernel };
        conv = Sequential(
            Conv2d(channels, channels, tall, padding: new[] { p, 0L }, bias: false),
            new Activation(actType, inplace: true),
            ConvBlocks.ConvBNAct(channels, channels, wide, act: actType, inplace: true),
            Conv2d(channels, channels, tall, padding: new[] { p, 0L }, bias: false),
            new Activation(actType, inplace: true),
            ConvBlocks.ConvBNAct(channels, channels, wide, act: "none"));
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

/// <summary>
/// ESNet's parallel factorized convolution unit (PFCU): a 3×1 conv (no bias), activation and 1×3 ConvBNAct
/// ("conv0"), then three branches ("conv_left", "conv_mid", "conv_right") of a dilated 3×1 conv, activation and a
/// dilated 1×3 conv + BN (no activation), with dilations r1, r2, r3; the three branches and the input are summed and
/// activated.
/// </summary>
internal sealed class ESNetParallelFactorizedUnit : Module<Tensor, Tensor>
{
    private readonly Sequential conv0;
    private readonly Sequential conv_left;
    private readonly Sequential conv_mid;
    private readonly Sequential conv_right;
    private readonly Activation act;

    /// <summary>Creates the unit.</summary>
    public ESNetParallelFactorizedUnit(long channels, long r1, long r2, long r3, string actType) : base("PFCU")
    {
        conv0 = Sequential(
            Conv2d(channels, channels, new long[] { 3, 1 }, padding: new long[] { 1, 0 }, bias: false),
            new Activation(actType, inplace: true),
            ConvBlocks.ConvBNAct(channels, channels, new long[] { 1, 3 }, act: actType, inplace: true));
        conv_left = Branch(channels, r1, actType);
        conv_mid = Branch(channels, r2, actType);
        conv_right = Branch(channels, r3, actType);
        act = new Activation(actType);
        RegisterComponents();
    }

    private static Sequential Branch(long channels, long dilation, string actType) =>
        Sequential(
            Conv2d(channels, channels, new long[] { 3, 1 }, padding: new[] { dilation, 0L }, dilation: new[] { dilation }, bias: false),
            new Activation(actType, inplace: true),
            ConvBlocks.ConvBNAct(channels, channels, new long[] { 1, 3 }, dilation: dilation, act: "none"));

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv0.call(input);
        var sum = conv_left.call(x).add(conv_mid.call(x)).add(conv_right.call(x)).add(input);
        return act.call(sum).MoveToOuterDisposeScope();
    }
}
