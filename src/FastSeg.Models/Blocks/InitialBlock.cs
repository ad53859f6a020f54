using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// The ENet-style initial (downsampling) block the reference shares among ENet, ERFNet and other light networks: a
/// stride-2 3×3 <see cref="ConvBlocks.ConvBNAct(long, long, long, long, long, long, bool, string, bool)"/> to
/// out − in channels beside a 3×3 stride-2 max pool of the input, concatenated (children "conv" and "pool").
/// </summary>
public sealed class InitialBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly MaxPool2d pool;

    /// <summary>Creates the block; <paramref name="outChannels"/> must exceed <paramref name="inChannels"/>.</summary>
    public InitialBlock(long inChannels, long outChannels, string act) : base(nameof(InitialBlock))
    {
        if (outChannels <= inChannels)
            throw new ArgumentException($"InitialBlock: out channels ({outChannels}) must be larger than in channels ({inChannels})", nameof(outChannels));
        conv = ConvBlocks.ConvBNAct(inChannels, outChannels - inChannels, 3, 2, act: act);
        pool = MaxPool2d(3, 2, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = conv.call(input);
        using var b = pool.call(input);
        return cat(new[] { a, b }, 1);
    }
}
