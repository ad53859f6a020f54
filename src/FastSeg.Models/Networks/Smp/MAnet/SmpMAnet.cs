using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// MA-Net as segmentation_models.pytorch builds it (<c>smp.MAnet</c>, defaults): a ResNet encoder (depth 5); a
/// position attention block (<see cref="SmpMAnetPab"/>, 64 attention channels) on layer4 as the decoder's center;
/// four multi-scale fusion attention blocks (<see cref="SmpMAnetMfab"/>) that upsample, gate by squeeze-and-excitation
/// of both inputs and concatenate the encoder skip (256, 128, 64, 32 channels); a plain last block to full resolution
/// (16 channels); and a 3×3 head.
/// </summary>
/// <remarks>
/// SMP quirks kept: the position attention's softmax runs over the whole flattened (HW × HW) map of each image rather
/// than per row, and its (HW, C) result is reinterpreted as (C, H, W) without a transpose before the residual add;
/// the fusion block's high-level branch reduces to the skip's channels before the upsampling, and its two gates are
/// added (not multiplied) before they scale the upsampled features.
/// </remarks>
public sealed class SmpMAnet : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    public SmpMAnet(int numClasses, string encoderName = SmpResNetEncoder.DefaultName)
        : this(numClasses, new SmpResNetEncoder(encoderName))
    {
    }

    private SmpMAnet(int numClasses, SmpResNetEncoder encoder)
        : base("MAnet", numClasses, 32, encoder, new SmpMAnetDecoder(encoder.OutChannels, SmpUnet.DecoderChannels),
            SmpBlocks.SegmentationHead(SmpUnet.DecoderChannels[^1], numClasses, 3))
    {
    }
}

/// <summary>SMP's <c>MAnetDecoder</c>: <c>center</c> (position attention) and a ModuleList <c>blocks</c>.</summary>
public sealed class SmpMAnetDecoder : Module<Tensor[], Tensor>
{
    private readonly SmpMAnetPab center;
    private readonly ModuleList<Module<Tensor, Tensor?, Tensor>> blocks;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    public SmpMAnetDecoder(IReadOnlyList<int> encoderChannels, IReadOnlyList<int> decoderChannels, int pabChannels = 64,
        int reduction = 16) : base("MAnetDecoder")
    {
        var encoder = encoderChannels.Skip(1).Reverse().ToArray();
        var inChannels = new[] { encoder[0] }.Concat(decoderChannels.Take(decoderChannels.Count - 1)).ToArray();
        var skipChannels = encoder.Skip(1).Append(0).ToArray();
        center = new SmpMAnetPab(encoder[0], pabChannels);
        blocks = ModuleList<Module<Tensor, Tensor?, Tensor>>();
        for (int i = 0; i < decoderChannels.Count; i++)
            blocks.append(skipChannels[i] > 0
                ? new SmpMAnetMfab(inChannels[i], skipChannels[i], decoderChannels[i], reduction)
                : new SmpMAnetDecoderBlock(inChannels[i], decoderChannels[i]));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        var deepestFirst = features.Skip(1).Reverse().ToArray();
        var x = center.call(deepestFirst[0]);
        for (int i = 0; i < blocks.Count; i++)
            x = blocks[i].call(x, i + 1 < deepestFirst.Length ? deepestFirst[i + 1] : null);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SMP's position attention block (<c>PAB</c>): 1×1 convs <c>top_conv</c> and <c>center_conv</c> to the attention
/// channels and a 3×3 <c>bottom_conv</c> keeping the channels; the (HW × HW) product of center and top, soft-maxed
/// over all of its entries, weights the bottom features; the result (reshaped as SMP does) is added to the input
/// and passed through a 3×3 <c>out_conv</c>.
/// </summary>
public sealed class SmpMAnetPab : Module<Tensor, Tensor>
{
    private readonly Conv2d top_conv;
    private readonly Conv2d center_conv;
    private readonly Conv2d bottom_conv;
    private readonly Conv2d out_conv;
    private readonly long _channels;

    /// <summary>Creates the block.</summary>
    public SmpMAnetPab(long channels, long pabChannels) : base("PAB")
    {
        top_conv = Conv2d(channels, pabChannels, 1);
        center_conv = Conv2d(channels, pabChannels, 1);
        bottom_conv = Conv2d(channels, channels, 3, padding: 1);
        out_conv = Conv2d(channels, channels, 3, padding: 1);
        _channels = channels;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        long n = input.shape[0], h = input.shape[2], w = input.shape[3];
        var top = top_conv.call(input).flatten(2);                          // (N, P, HW)
        var center = center_conv.call(input).flatten(2).transpose(1, 2);   // (N, HW, P)
        var bottom = bottom_conv.call(input).flatten(2).transpose(1, 2);   // (N, HW, C)
        var map = center.matmul(top);                                       // (N, HW, HW)
        map = map.view(n, -1).softmax(1).view(n, h * w, h * w);
        var attended = map.matmul(bottom).reshape(n, _channels, h, w);
        return out_conv.call(input + attended).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SMP's multi-scale fusion attention block (<c>MFAB</c>): <c>hl_conv</c> (3×3 then 1×1 Conv2dReLU to the skip's
/// channels) on the deeper input, ×2 nearest upsampling, a squeeze-and-excitation gate of it (<c>SE_hl</c>) plus one
/// of the skip (<c>SE_ll</c>) scaling it, concatenation with the skip and two 3×3 Conv2dReLU (<c>conv1</c>,
/// <c>conv2</c>).
/// </summary>
public sealed class SmpMAnetMfab : Module<Tensor, Tensor?, Tensor>
{
    private readonly Sequential hl_conv;
    private readonly Sequential SE_ll;
    private readonly Sequential SE_hl;
    private readonly Sequential conv1;
    private readonly Sequential conv2;

    /// <summary>Creates the block.</summary>
    public SmpMAnetMfab(long inChannels, long skipChannels, long outChannels, int reduction = 16) : base("MFAB")
    {
        hl_conv = Sequential(
            SmpBlocks.Conv2dReLU(inChannels, inChannels, 3, padding: 1),
            SmpBlocks.Conv2dReLU(inChannels, skipChannels, 1));
        long reduced = Math.Max(1, skipChannels / reduction);
        SE_ll = SmpBlocks.SqueezeExcitation(skipChannels, reduced);
        SE_hl = SmpBlocks.SqueezeExcitation(skipChannels, reduced);
        conv1 = SmpBlocks.Conv2dReLU(2 * skipChannels, outChannels, 3, padding: 1);
        conv2 = SmpBlocks.Conv2dReLU(outChannels, outChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor? skip)
    {
        using var scope = NewDisposeScope();
        var x = SmpBlocks.UpsampleNearest2x(hl_conv.call(input));
        var gate = SE_hl.call(x);
        if (skip is not null)
        {
            gate = gate + SE_ll.call(skip);
            x = cat(new[] { x * gate, skip }, 1);
        }
        return conv2.call(conv1.call(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// MA-Net's plain decoder block (SMP's <c>manet.decoder.DecoderBlock</c>, without attention modules): upsample ×2
/// (nearest), concatenate the skip if any, two 3×3 Conv2dReLU (<c>conv1</c>, <c>conv2</c>).
/// </summary>
public sealed class SmpMAnetDecoderBlock : Module<Tensor, Tensor?, Tensor>
{
    private readonly Sequential conv1;
    private readonly Sequential conv2;

    /// <summary>Creates the block (no skip channels: MA-Net uses it only for its last block).</summary>
    public SmpMAnetDecoderBlock(long inChannels, long outChannels, long skipChannels = 0) : base("DecoderBlock")
    {
        conv1 = SmpBlocks.Conv2dReLU(inChannels + skipChannels, outChannels, 3, padding: 1);
        conv2 = SmpBlocks.Conv2dReLU(outChannels, outChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor? skip)
    {
        using var scope = NewDisposeScope();
        var x = SmpBlocks.UpsampleNearest2x(input);
        if (skip is not null) x = cat(new[] { x, skip }, 1);
        return conv2.call(conv1.call(x)).MoveToOuterDisposeScope();
    }
}
