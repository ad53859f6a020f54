using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// LinkNet as segmentation_models.pytorch builds it (<c>smp.Linknet</c>, defaults): a ResNet encoder (depth 5) and
/// five decoder blocks, each a 1×1 <see cref="SmpBlocks.Conv2dReLU"/> to a quarter of its input channels, a ×2
/// transposed conv (kernel 4, stride 2, padding 1) with batch norm and ReLU, and a 1×1 Conv2dReLU to the next
/// stage's channels, to which the encoder feature of that stride is added; the last block (to 32 channels) has no
/// skip and reaches full resolution, where a 1×1 head gives the logits.
/// </summary>
/// <remarks>
/// Unlike zh320's own LinkNet (<see cref="LinkNet"/>), SMP's adds the skip after each block (not before it), starts
/// from layer4 and also uses the stem feature, and its transposed convs keep PyTorch's default initialisation (SMP
/// only re-initialises plain convs).
/// </remarks>
public sealed class SmpLinknet : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    public SmpLinknet(int numClasses, string encoderName = SmpResNetEncoder.DefaultName)
        : this(numClasses, new SmpResNetEncoder(encoderName))
    {
    }

    private SmpLinknet(int numClasses, SmpResNetEncoder encoder)
        : base("Linknet", numClasses, 32, encoder, new SmpLinknetDecoder(encoder.OutChannels, 32),
            SmpBlocks.SegmentationHead(32, numClasses, 1))
    {
    }
}

/// <summary>SMP's <c>LinknetDecoder</c>: a ModuleList <c>blocks</c> of <see cref="SmpLinknetDecoderBlock"/>.</summary>
public sealed class SmpLinknetDecoder : Module<Tensor[], Tensor>
{
    private readonly ModuleList<SmpLinknetDecoderBlock> blocks;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    public SmpLinknetDecoder(IReadOnlyList<int> encoderChannels, int prefinalChannels) : base("LinknetDecoder")
    {
        var channels = encoderChannels.Skip(1).Reverse().Append(prefinalChannels).ToArray();
        blocks = ModuleList<SmpLinknetDecoderBlock>();
        for (int i = 0; i < encoderChannels.Count - 1; i++)
            blocks.append(new SmpLinknetDecoderBlock(channels[i], channels[i + 1]));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        var deepestFirst = features.Skip(1).Reverse().ToArray();
        var x = deepestFirst[0];
        for (int i = 0; i < blocks.Count; i++)
        {
            x = blocks[i].call(x);
            if (i + 1 < deepestFirst.Length) x = x + deepestFirst[i + 1];
        }
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SMP's LinkNet <c>DecoderBlock</c>: a Sequential <c>block</c> of a 1×1 Conv2dReLU to in/4, a ×2 transposed conv →
/// BN → ReLU (<c>TransposeX2</c>) and a 1×1 Conv2dReLU to the output channels.
/// </summary>
public sealed class SmpLinknetDecoderBlock : Module<Tensor, Tensor>
{
    private readonly Sequential block;

    /// <summary>Creates the block.</summary>
    public SmpLinknetDecoderBlock(long inChannels, long outChannels) : base("DecoderBlock")
    {
        long mid = inChannels / 4;
        block = Sequential(
            SmpBlocks.Conv2dReLU(inChannels, mid, 1),
            Sequential(ConvTranspose2d(mid, mid, 4, stride: 2, padding: 1), BatchNorm2d(mid), ReLU()),
            SmpBlocks.Conv2dReLU(mid, outChannels, 1));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => block.call(input);
}
