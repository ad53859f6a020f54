using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// The FPN of segmentation_models.pytorch (<c>smp.FPN</c>, defaults; Kirillov et al.'s semantic FPN): a ResNet
/// encoder (depth 5); a top-down pyramid of 256 channels (<c>p5</c> a 1×1 conv on layer4, then <c>p4</c>, <c>p3</c>,
/// <c>p2</c> each upsampling ×2 nearest and adding a 1×1 conv of layer3, layer2, layer1); four segmentation branches
/// of 3×3 conv → GroupNorm(32) → ReLU (128 channels) with bilinear ×2 upsamplings until each reaches 1/4 (three, two,
/// one and none); their sum, 2-D dropout (0.2), and a 1×1 head upsampled ×4 (bilinear, align_corners = true).
/// </summary>
/// <remarks>
/// SMP quirks kept: the pyramid's 1×1 convs have biases while the 3×3 branch convs do not; the branch upsampling uses
/// align_corners = true and the pyramid's nearest; the stem feature is not used.
/// </remarks>
public sealed class SmpFpn : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    public SmpFpn(int numClasses, string encoderName = SmpResNetEncoder.DefaultName)
        : this(numClasses, new SmpResNetEncoder(encoderName))
    {
    }

    private SmpFpn(int numClasses, SmpResNetEncoder encoder)
        : base("FPN", numClasses, 32, encoder, new SmpFpnDecoder(encoder.OutChannels),
            SmpBlocks.SegmentationHead(SmpFpnDecoder.SegmentationChannels, numClasses, 1, upsampling: 4))
    {
    }
}

/// <summary>SMP's <c>FPNDecoder</c> (pyramid 256 channels, segmentation 128, merge by addition, dropout 0.2).</summary>
public sealed class SmpFpnDecoder : Module<Tensor[], Tensor>
{
    /// <summary>Pyramid channels.</summary>
    public const int PyramidChannels = 256;

    /// <summary>Channels of each segmentation branch and of the decoder output.</summary>
    public const int SegmentationChannels = 128;

    private readonly Conv2d p5;
    private readonly SmpFpnBlock p4;
    private readonly SmpFpnBlock p3;
    private readonly SmpFpnBlock p2;
    private readonly ModuleList<SmpFpnSegmentationBlock> seg_blocks;
    private readonly Dropout dropout;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    public SmpFpnDecoder(IReadOnlyList<int> encoderChannels) : base("FPNDecoder")
    {
        var c = encoderChannels.Reverse().ToArray(); // deepest first
        p5 = Conv2d(c[0], PyramidChannels, 1);
        p4 = new SmpFpnBlock(PyramidChannels, c[1]);
        p3 = new SmpFpnBlock(PyramidChannels, c[2]);
        p2 = new SmpFpnBlock(PyramidChannels, c[3]);
        seg_blocks = ModuleList(new[] { 3, 2, 1, 0 }.Select(n => new SmpFpnSegmentationBlock(PyramidChannels, SegmentationChannels, n)).ToArray());
        dropout = Dropout2d(0.2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        int n = features.Length;
        var x5 = p5.call(features[n - 1]);
        var x4 = p4.call(x5, features[n - 2]);
        var x3 = p3.call(x4, features[n - 3]);
        var x2 = p2.call(x3, features[n - 4]);
        var pyramid = new[] { x5, x4, x3, x2 };
        Tensor sum = seg_blocks[0].call(pyramid[0]);
        for (int i = 1; i < 4; i++) sum = sum + seg_blocks[i].call(pyramid[i]);
        return dropout.call(sum).MoveToOuterDisposeScope();
    }
}

/// <summary>SMP's <c>FPNBlock</c>: upsample the coarser pyramid level ×2 (nearest) and add a 1×1 conv (<c>skip_conv</c>) of the skip.</summary>
public sealed class SmpFpnBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d skip_conv;

    /// <summary>Creates the block.</summary>
    public SmpFpnBlock(long pyramidChannels, long skipChannels) : base("FPNBlock")
    {
        skip_conv = Conv2d(skipChannels, pyramidChannels, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor skip)
    {
        using var up = SmpBlocks.UpsampleNearest2x(x);
        using var s = skip_conv.call(skip);
        return up + s;
    }
}

/// <summary>
/// SMP's FPN <c>SegmentationBlock</c>: a Sequential <c>block</c> of max(1, n) <see cref="SmpFpnConv3x3GNReLU"/>, each
/// upsampling ×2 after itself when n &gt; 0.
/// </summary>
public sealed class SmpFpnSegmentationBlock : Module<Tensor, Tensor>
{
    private readonly Sequential block;

    /// <summary>Creates the block with <paramref name="upsamples"/> ×2 upsamplings.</summary>
    public SmpFpnSegmentationBlock(long inChannels, long outChannels, int upsamples) : base("SegmentationBlock")
    {
        block = Sequential(new SmpFpnConv3x3GNReLU(inChannels, outChannels, upsamples > 0));
        for (int i = 1; i < upsamples; i++) block.append(new SmpFpnConv3x3GNReLU(outChannels, outChannels, true));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => block.call(input);
}

/// <summary>
/// SMP's <c>Conv3x3GNReLU</c>: a Sequential <c>block</c> of a 3×3 conv without bias, GroupNorm(32) and ReLU, then
/// (when asked) a ×2 bilinear upsampling with align_corners = true.
/// </summary>
public sealed class SmpFpnConv3x3GNReLU : Module<Tensor, Tensor>
{
    private readonly Sequential block;
    private readonly bool _upsample;

    /// <summary>Creates the block.</summary>
    public SmpFpnConv3x3GNReLU(long inChannels, long outChannels, bool upsample) : base("Conv3x3GNReLU")
    {
        block = Sequential(Conv2d(inChannels, outChannels, 3, padding: 1, bias: false), new GroupNorm(32, outChannels), ReLU());
        _upsample = upsample;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var x = block.call(input);
        if (!_upsample) return x;
        using (x) return functional.interpolate(x, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);
    }
}
