using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// U-Net++ as segmentation_models.pytorch builds it (<c>smp.UnetPlusPlus</c>, defaults): a ResNet encoder (depth 5)
/// and a nested decoder. Node x_d_l (depth d, level l) is a <see cref="SmpUnetDecoderBlock"/> that upsamples node
/// x_d_(l−1) (or, on the first level, encoder feature d) and concatenates every node x_i_l with i &gt; d and the encoder
/// feature one level shallower; the top node x_0_4 upsamples x_0_3 without a skip to full resolution, and a 3×3 head
/// gives the logits.
/// </summary>
/// <remarks>
/// SMP quirks kept: the nodes below the top row (d &gt; 0) output as many channels as the encoder skip of their level
/// (not the decoder channels), and the block dictionary is keyed and ordered as SMP fills it (x_0_0, x_0_1, x_1_1,
/// x_0_2, ... , x_3_3, x_0_4); the center is an identity for ResNets; the optional scSE attention (option
/// <c>decoder_attention_type</c>) runs on the concatenation only where there is a skip.
/// </remarks>
public sealed class SmpUnetPlusPlus : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    /// <param name="attentionType">"none" or "scse" (SMP's <c>decoder_attention_type</c>).</param>
    public SmpUnetPlusPlus(int numClasses, string encoderName = SmpResNetEncoder.DefaultName, string attentionType = "none")
        : this(numClasses, new SmpResNetEncoder(encoderName), attentionType)
    {
    }

    private SmpUnetPlusPlus(int numClasses, SmpResNetEncoder encoder, string attentionType)
        : base("UnetPlusPlus", numClasses, 32, encoder,
            new SmpUnetPlusPlusDecoder(encoder.OutChannels, SmpUnet.DecoderChannels, attentionType),
            SmpBlocks.SegmentationHead(SmpUnet.DecoderChannels[^1], numClasses, 3))
    {
    }
}

/// <summary>SMP's <c>UnetPlusPlusDecoder</c>: a ModuleDict <c>blocks</c> of nested decoder nodes "x_{depth}_{level}".</summary>
public sealed class SmpUnetPlusPlusDecoder : Module<Tensor[], Tensor>
{
    private readonly ModuleDict<SmpUnetDecoderBlock> blocks;
    private readonly int _depth;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    public SmpUnetPlusPlusDecoder(IReadOnlyList<int> encoderChannels, IReadOnlyList<int> decoderChannels, string attentionType)
        : base("UnetPlusPlusDecoder")
    {
        var encoder = encoderChannels.Skip(1).Reverse().ToArray();
        var inChannels = new[] { encoder[0] }.Concat(decoderChannels.Take(decoderChannels.Count - 1)).ToArray();
        var skipChannels = encoder.Skip(1).Append(0).ToArray();
        _depth = inChannels.Length - 1;
        blocks = ModuleDict<SmpUnetDecoderBlock>();
        for (int level = 0; level < _depth; level++)
        {
            for (int d = 0; d <= level; d++)
            {
                long inCh, skipCh, outCh;
                if (d == 0)
                {
                    inCh = inChannels[level];
                    skipCh = skipChannels[level] * (level + 1);
                    outCh = decoderChannels[level];
                }
                else
                {
                    outCh = skipChannels[level];
                    skipCh = skipChannels[level] * (level + 1 - d);
                    inCh = skipChannels[level - 1];
                }
                blocks[$"x_{d}_{level}"] = new SmpUnetDecoderBlock(inCh, skipCh, outCh, attentionType);
            }
        }
        blocks[$"x_0_{_depth}"] = new SmpUnetDecoderBlock(inChannels[^1], 0, decoderChannels[^1], attentionType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        var f = features.Skip(1).Reverse().ToArray(); // deepest first
        var dense = new Dictionary<string, Tensor>();
        for (int level = 0; level < _depth; level++)
        {
            for (int d = 0; d < _depth - level; d++)
            {
                if (level == 0)
                {
                    dense[$"x_{d}_{d}"] = blocks[$"x_{d}_{d}"].call(f[d], f[d + 1]);
                    continue;
                }
                int l = d + level;
                var parts = new List<Tensor>();
                for (int i = d + 1; i <= l; i++) parts.Add(dense[$"x_{i}_{l}"]);
                parts.Add(f[l + 1]);
                var skip = cat(parts.ToArray(), 1);
                dense[$"x_{d}_{l}"] = blocks[$"x_{d}_{l}"].call(dense[$"x_{d}_{l - 1}"], skip);
            }
        }
        var top = blocks[$"x_0_{_depth}"].call(dense[$"x_0_{_depth - 1}"], null);
        return top.MoveToOuterDisposeScope();
    }
}
