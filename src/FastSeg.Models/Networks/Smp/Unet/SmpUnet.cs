using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// U-Net as segmentation_models.pytorch builds it (<c>smp.Unet</c>, defaults): a ResNet encoder (depth 5) and five
/// decoder blocks (<see cref="SmpUnetDecoderBlock"/>, 256, 128, 64, 32, 16 channels), each upsampling ×2 and
/// concatenating the encoder feature of that stride (layer3, layer2, layer1, the stem; the last block has no skip),
/// then a 3×3 head at full resolution.
/// </summary>
/// <remarks>
/// SMP quirks kept: the decoder's <c>center</c> is an identity for ResNet encoders (SMP adds a center block only for
/// VGG), so it has no state; the optional scSE attention (option <c>decoder_attention_type</c>) is applied to the
/// concatenation only when there is a skip, so the last block's <c>attention1</c> never runs.
/// </remarks>
public sealed class SmpUnet : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    /// <param name="attentionType">"none" or "scse" (SMP's <c>decoder_attention_type</c>).</param>
    public SmpUnet(int numClasses, string encoderName = SmpResNetEncoder.DefaultName, string attentionType = "none")
        : this(numClasses, new SmpResNetEncoder(encoderName), attentionType)
    {
    }

    private SmpUnet(int numClasses, SmpResNetEncoder encoder, string attentionType)
        : base("Unet", numClasses, 32, encoder, new SmpUnetDecoder(encoder.OutChannels, DecoderChannels, attentionType),
            SmpBlocks.SegmentationHead(DecoderChannels[^1], numClasses, 3))
    {
    }

    /// <summary>SMP's default decoder channels.</summary>
    internal static readonly int[] DecoderChannels = { 256, 128, 64, 32, 16 };
}

/// <summary>SMP's <c>UnetDecoder</c> (no center block for ResNets): a ModuleList <c>blocks</c> of decoder blocks.</summary>
public sealed class SmpUnetDecoder : Module<Tensor[], Tensor>
{
    private readonly ModuleList<SmpUnetDecoderBlock> blocks;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    public SmpUnetDecoder(IReadOnlyList<int> encoderChannels, IReadOnlyList<int> decoderChannels, string attentionType)
        : base("UnetDecoder")
    {
        // Deepest first, without the input.
        var encoder = encoderChannels.Skip(1).Reverse().ToArray();
        var inChannels = new[] { encoder[0] }.Concat(decoderChannels.Take(decoderChannels.Count - 1)).ToArray();
        var skipChannels = encoder.Skip(1).Append(0).ToArray();
        blocks = ModuleList<SmpUnetDecoderBlock>();
        for (int i = 0; i < decoderChannels.Count; i++)
            blocks.append(new SmpUnetDecoderBlock(inChannels[i], skipChannels[i], decoderChannels[i], attentionType));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        var deepestFirst = features.Skip(1).Reverse().ToArray();
        var x = deepestFirst[0];
        for (int i = 0; i < blocks.Count; i++)
            x = blocks[i].call(x, i + 1 < deepestFirst.Length ? deepestFirst[i + 1] : null);
        return x.MoveToOuterDisposeScope();
    }
}
