using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// LinkNet (Chaurasia and Culurciello, 2017): a ResNet encoder whose stages are added back into a light decoder of
/// 1×1 – ×2 transposed conv – 1×1 blocks; the head upsamples ×4 with two transposed convs.
/// </summary>
public sealed class LinkNet : SegmentationModel
{
    private readonly ResNet backbone;
    private readonly LinkNetDecoderBlock dec_block4;
    private readonly LinkNetDecoderBlock dec_block3;
    private readonly LinkNetDecoderBlock dec_block2;
    private readonly LinkNetDecoderBlock dec_block1;
    private readonly Sequential seg_head;

    /// <summary>Creates LinkNet on a torchvision ResNet.</summary>
    public LinkNet(int numClasses, string backboneType = "resnet18", string act = "relu") : base(nameof(LinkNet), numClasses, 32)
    {
        backbone = new ResNet(backboneType);
        var c = backbone.Channels;
        dec_block4 = new LinkNetDecoderBlock(c[3], c[2], act);
        dec_block3 = new LinkNetDecoderBlock(c[2], c[1], act);
        dec_block2 = new LinkNetDecoderBlock(c[1], c[0], act);
        dec_block1 = new LinkNetDecoderBlock(c[0], c[0], act, scaleFactor: 1);
        long hid = c[0] / 2;
        seg_head = Sequential(
            new DeConvBNAct(c[0], hid, 2, act: act),
            ConvBlocks.ConvBNAct(hid, hid, 3, act: act),
            new DeConvBNAct(hid, numClasses, 2, act: act));
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var f = backbone.ForwardFeatures(input);
        var x = dec_block4.call(f[3]);
        x = dec_block3.call(x + f[2]);
        x = dec_block2.call(x + f[1]);
        x = dec_block1.call(x + f[0]);
        return new SegmentationOutput(seg_head.call(x).MoveToOuterDisposeScope());
    }
}

/// <summary>LinkNet's decoder block: 1×1 to in/4, ×scale transposed conv (or 3×3 at scale 1), 1×1 to out.</summary>
public sealed class LinkNetDecoderBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly Module<Tensor, Tensor> full_conv;
    private readonly Sequential conv2;

    /// <summary>Creates the block.</summary>
    public LinkNetDecoderBlock(long inChannels, long outChannels, string act, long scaleFactor = 2) : base("DecoderBlock")
    {
        long hid = inChannels / 4;
        conv1 = ConvBlocks.ConvBNAct(inChannels, hid, 1, act: act);
        full_conv = scaleFactor > 1 ? new DeConvBNAct(hid, hid, scaleFactor, act: act) : ConvBlocks.ConvBNAct(hid, hid, 3, act: act);
        conv2 = ConvBlocks.ConvBNAct(hid, outChannels, 1, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = conv1.call(input);
        using var b = full_conv.call(a);
        return conv2.call(b);
    }
}
