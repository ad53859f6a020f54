using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// The decoder block of SMP's U-Net and U-Net++ (<c>DecoderBlock</c>): upsample ×2 (nearest), concatenate the skip
/// (when there is one) and apply <c>attention1</c>, then two <see cref="SmpBlocks.Conv2dReLU"/> 3×3 convs
/// (<c>conv1</c>, <c>conv2</c>) and <c>attention2</c>. Both attentions are stateless identities unless the decoder
/// attention is "scse".
/// </summary>
public sealed class SmpUnetDecoderBlock : Module<Tensor, Tensor?, Tensor>
{
    private readonly Sequential conv1;
    private readonly SmpAttention attention1;
    private readonly Sequential conv2;
    private readonly SmpAttention attention2;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Channels of the upsampled input.</param>
    /// <param name="skipChannels">Channels of the skip (0 when there is none).</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="attentionType">"none" or "scse".</param>
    /// <param name="useBatchnorm">Batch norm in the convs (SMP's <c>decoder_use_batchnorm</c>).</param>
    public SmpUnetDecoderBlock(long inChannels, long skipChannels, long outChannels, string? attentionType = null,
        bool useBatchnorm = true) : base("DecoderBlock")
    {
        conv1 = SmpBlocks.Conv2dReLU(inChannels + skipChannels, outChannels, 3, padding: 1, useBatchnorm: useBatchnorm);
        attention1 = new SmpAttention(attentionType, inChannels + skipChannels);
        conv2 = SmpBlocks.Conv2dReLU(outChannels, outChannels, 3, padding: 1, useBatchnorm: useBatchnorm);
        attention2 = new SmpAttention(attentionType, outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor? skip)
    {
        using var scope = NewDisposeScope();
        var x = SmpBlocks.UpsampleNearest2x(input);
        if (skip is not null)
            x = attention1.call(cat(new[] { x, skip }, 1));
        x = attention2.call(conv2.call(conv1.call(x)));
        return x.MoveToOuterDisposeScope();
    }
}
