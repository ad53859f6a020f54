using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ShelfNet (Zhuang et al., 2019): a torchvision ResNet whose four stages (1/4 … 1/32) are reduced by 1×1 ConvBNActs
/// to <c>hid_channels</c> (32, 64, 128, 256 by default) and then pass through three more "columns" of a shelf: a
/// decoder (from 1/32 up, each level = residual block of the sum of its lateral input and the ×2 transposed-conv
/// upsampling of the level below), an encoder (from 1/4 down, stride-2 3×3 ConvBNActs between the levels) and a second
/// decoder whose 1/4 output goes through a 1×1 classifier and is resized (bilinear, align_corners) to the input. The
/// levels must line up exactly, so H and W must be multiples of 32.
/// </summary>
/// <remarks>
/// Kept from the reference: every residual block (S-block) has two separate 3×3 convs (conv1 with the activation,
/// conv2 with BN only; the paper shares one conv's weights between them) and applies the activation after adding the
/// block's input; the first decoder passes its 1/4, 1/8 and 1/16 outputs to the encoder but not its 1/32 one, which the
/// encoder rebuilds with its last stride-2 conv; the classifier is a 1×1 conv without bias. <c>act_type</c> reaches
/// every ConvBNAct, transposed conv and S-block outside the ResNet; 'glu' is not offered (it halves the channels and
/// cannot build).
/// </remarks>
public sealed class ShelfNet : SegmentationModel
{
    /// <summary>The encoders ShelfNet accepts (the first is the reference's default).</summary>
    public static readonly string[] Backbones = { "resnet18", "resnet34", "resnet50", "resnet101" };

    /// <summary>The reference's default widths of the four shelf levels (hid_channels).</summary>
    public static readonly int[] DefaultHidChannels = { 32, 64, 128, 256 };

    private readonly ResNet backbone;
    private readonly Sequential conv_A;
    private readonly Sequential conv_B;
    private readonly Sequential conv_C;
    private readonly Sequential conv_D;
    private readonly ShelfNetDecoder decoder2;
    private readonly ShelfNetEncoder encoder3;
    private readonly ShelfNetDecoder decoder4;
    private readonly Conv2d classifier;

    /// <summary>Creates ShelfNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backboneType">A torchvision ResNet: resnet18, resnet34, resnet50 or resnet101.</param>
    /// <param name="hidChannels">Widths of the four shelf levels, 1/4 to 1/32 (the reference's hid_channels).</param>
    /// <param name="act">The reference's act_type (not the ResNet's).</param>
    public ShelfNet(int numClasses, string backboneType = "resnet18", IReadOnlyList<int>? hidChannels = null, string act = "relu")
        : base(nameof(ShelfNet), numClasses, 32)
    {
        if (!Backbones.Contains(backboneType))
            throw new ArgumentException($"ShelfNet does not support the backbone '{backboneType}'; valid: {string.Join(", ", Backbones)}", nameof(backboneType));
        var hid = (hidChannels ?? DefaultHidChannels).Select(h => (long)h).ToArray();
        if (hid.Length != 4) throw new ArgumentException("ShelfNet needs four hid_channels", nameof(hidChannels));
        backbone = new ResNet(backboneType);
        var c = backbone.Channels;
        conv_A = ConvBlocks.ConvBNAct(c[0], hid[0], 1, act: act);
        conv_B = ConvBlocks.ConvBNAct(c[1], hid[1], 1, act: act);
        conv_C = ConvBlocks.ConvBNAct(c[2], hid[2], 1, act: act);
        conv_D = ConvBlocks.ConvBNAct(c[3], hid[3], 1, act: act);
        decoder2 = new ShelfNetDecoder(hid, act);
        encoder3 = new ShelfNetEncoder(hid, act);
        decoder4 = new ShelfNetDecoder(hid, act);
        classifier = ConvBlocks.Conv1x1(hid[0], numClasses);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var f = backbone.ForwardFeatures(input);
        var (a, b, cc, _) = decoder2.Decode(conv_A.call(f[0]), conv_B.call(f[1]), conv_C.call(f[2]), conv_D.call(f[3]));
        var (a3, b3, c3, d3) = encoder3.Encode(a, b, cc);
        var (x, _, _, _) = decoder4.Decode(a3, b3, c3, d3);
        x = functional.interpolate(classifier.call(x), size, mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// A decoder column of ShelfNet: from the deepest level up, an S-block on (lateral + upsampled deeper result) and a ×2
/// transposed ConvBNAct to the next level's width.
/// </summary>
public sealed class ShelfNetDecoder : Module<Tensor, Tensor>
{
    private readonly ShelfNetSBlock block_D;
    private readonly DeConvBNAct up_D;
    private readonly ShelfNetSBlock block_C;
    private readonly DeConvBNAct up_C;
    private readonly ShelfNetSBlock block_B;
    private readonly DeConvBNAct up_B;
    private readonly ShelfNetSBlock block_A;

    /// <summary>Creates the column for the level widths <paramref name="channels"/> (1/4 first).</summary>
    public ShelfNetDecoder(long[] channels, string act) : base("DecoderBlock")
    {
        block_D = new ShelfNetSBlock(channels[3], act);
        up_D = new DeConvBNAct(channels[3], channels[2], act: act);
        block_C = new ShelfNetSBlock(channels[2], act);
        up_C = new DeConvBNAct(channels[2], channels[1], act: act);
        block_B = new ShelfNetSBlock(channels[1], act);
        up_B = new DeConvBNAct(channels[1], channels[0], act: act);
        block_A = new ShelfNetSBlock(channels[0], act);
        RegisterComponents();
    }

    /// <summary>Not used on its own: the column needs all four levels (see <see cref="Decode"/>).</summary>
    public override Tensor forward(Tensor input) =>
        throw new NotSupportedException("ShelfNetDecoder needs the four levels; call Decode");

    /// <summary>The column's outputs at the four levels (1/4 first); the caller owns them.</summary>
    public (Tensor A, Tensor B, Tensor C, Tensor D) Decode(Tensor a, Tensor b, Tensor c, Tensor d)
    {
        using var scope = NewDisposeScope();
        var xd = block_D.call(d, null);
        var xc = block_C.call(c, up_D.call(xd));
        var xb = block_B.call(b, up_C.call(xc));
        var xa = block_A.call(a, up_B.call(xb));
        return (xa.MoveToOuterDisposeScope(), xb.MoveToOuterDisposeScope(), xc.MoveToOuterDisposeScope(), xd.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// The encoder column of ShelfNet: from 1/4 down, an S-block on (lateral + downsampled shallower result) and a
/// stride-2 3×3 ConvBNAct to the next level's width; the last one gives the 1/32 level.
/// </summary>
public sealed class ShelfNetEncoder : Module<Tensor, Tensor>
{
    private readonly ShelfNetSBlock block_A;
    private readonly Sequential down_A;
    private readonly ShelfNetSBlock block_B;
    private readonly Sequential down_B;
    private readonly ShelfNetSBlock block_C;
    private readonly Sequential down_C;

    /// <summary>Creates the column for the level widths <paramref name="channels"/> (1/4 first).</summary>
    public ShelfNetEncoder(long[] channels, string act) : base("EncoderBlock")
    {
        block_A = new ShelfNetSBlock(channels[0], act);
        down_A = ConvBlocks.ConvBNAct(channels[0], channels[1], 3, 2, act: act);
        block_B = new ShelfNetSBlock(channels[1], act);
        down_B = ConvBlocks.ConvBNAct(channels[1], channels[2], 3, 2, act: act);
        block_C = new ShelfNetSBlock(channels[2], act);
        down_C = ConvBlocks.ConvBNAct(channels[2], channels[3], 3, 2, act: act);
        RegisterComponents();
    }

    /// <summary>Not used on its own: the column needs three levels (see <see cref="Encode"/>).</summary>
    public override Tensor forward(Tensor input) =>
        throw new NotSupportedException("ShelfNetEncoder needs three levels; call Encode");

    /// <summary>The column's outputs at the four levels (1/4 first); the caller owns them.</summary>
    public (Tensor A, Tensor B, Tensor C, Tensor D) Encode(Tensor a, Tensor b, Tensor c)
    {
        using var scope = NewDisposeScope();
        var xa = block_A.call(a, null);
        var xb = block_B.call(b, down_A.call(xa));
        var xc = block_C.call(c, down_B.call(xb));
        var xd = down_C.call(xc);
        return (xa.MoveToOuterDisposeScope(), xb.MoveToOuterDisposeScope(), xc.MoveToOuterDisposeScope(), xd.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// ShelfNet's residual S-block: x = lateral (+ the other column's input when there is one); act(x + conv2(conv1(x)))
/// with conv1 a 3×3 ConvBNAct and conv2 a 3×3 conv + BN without activation.
/// </summary>
public sealed class ShelfNetSBlock : Module<Tensor, Tensor?, Tensor>
{
    private readonly Sequential conv1;
    private readonly Sequential conv2;
    private readonly Activation act;

    /// <summary>Creates the block for <paramref name="channels"/> channels.</summary>
    public ShelfNetSBlock(long channels, string actType) : base("SBlock")
    {
        conv1 = ConvBlocks.ConvBNAct(channels, channels, 3, act: actType);
        conv2 = ConvBlocks.ConvBNAct(channels, channels, 3, act: "none");
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor lateral, Tensor? other)
    {
        using var scope = NewDisposeScope();
        var x = other is null ? lateral : lateral.add(other);
        var y = conv2.call(conv1.call(x)).add_(x);
        return act.call(y).MoveToOuterDisposeScope();
    }
}
