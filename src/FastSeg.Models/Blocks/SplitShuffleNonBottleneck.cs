using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// LEDNet's split-shuffle non-bottleneck unit (SS-nbt), which AGLNet reuses. The input's channels are split in two
/// halves. The first half ("left_branch") goes through a 3×1 conv (with bias) and the activation, a 1×3 ConvBNAct,
/// a dilated 3×1 conv (with bias) and the activation, and a dilated 1×3 ConvBNAct; the second half ("right_branch")
/// through the same with the 1×3 and 3×1 kernels swapped. The two results are concatenated, added to the input,
/// passed through the activation ("act") and channel-shuffled with two groups.
/// </summary>
/// <remarks>
/// The reference adds the branches to its input in place; here the sum is a new tensor, which gives the same values
/// (no caller of the unit reads its input afterwards).
/// </remarks>
public sealed class SplitShuffleNonBottleneck : Module<Tensor, Tensor>
{
    private readonly Sequential left_branch;
    private readonly Sequential right_branch;
    private readonly Activation act;
    private readonly long _half;

    /// <summary>Creates the unit; <paramref name="channels"/> must be even.</summary>
    /// <param name="channels">Input and output channels.</param>
    /// <param name="dilation">Dilation of the second conv pair of each branch.</param>
    /// <param name="actType">Activation name.</param>
    public SplitShuffleNonBottleneck(long channels, long dilation, string actType) : base("SSnbtUnit")
    {
        if (channels % 2 != 0)
            throw new ArgumentException($"SS-nbt unit: channels ({channels}) must be even", nameof(channels));
        _half = channels / 2;
        long c = _half, d = dilation;
        long[] tall = { 3, 1 }, wide = { 1, 3 };
        left_branch = Sequential(
            Conv2d(c, c, tall, padding: new long[] { 1, 0 }),
            new Activation(actType),
            ConvBlocks.ConvBNAct(c, c, wide, act: actType),
            Conv2d(c, c, tall, padding: new long[] { d, 0 }, dilation: new[] { d }),
            new Activation(actType),
            ConvBlocks.ConvBNAct(c, c, wide, dilation: d, act: actType));
        right_branch = Sequential(
            Conv2d(c, c, wide, padding: new long[] { 0, 1 }),
            new Activation(actType),
            ConvBlocks.ConvBNAct(c, c, tall, act: actType),
            Conv2d(c, c, wide, padding: new long[] { 0, d }, dilation: new[] { d }),
            new Activation(actType),
            ConvBlocks.ConvBNAct(c, c, tall, dilation: d, act: actType));
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var left = left_branch.call(input.narrow(1, 0, _half));
        var right = right_branch.call(input.narrow(1, _half, _half));
        var sum = input.add(cat(new[] { left, right }, 1));
        return ConvBlocks.ChannelShuffle(act.call(sum)).MoveToOuterDisposeScope();
    }
}
