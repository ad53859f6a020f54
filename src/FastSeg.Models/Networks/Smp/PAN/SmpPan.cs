using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// The Pyramid Attention Network as segmentation_models.pytorch builds it (<c>smp.PAN</c>, defaults): a ResNet
/// encoder dilated to output stride 16 (layer4 at dilation 2); a feature pyramid attention block
/// (<see cref="SmpPanFpaBlock"/>, 32 channels) on layer4; three global attention upsample blocks
/// (<see cref="SmpPanGauBlock"/>) that bring in layer3, layer2 and layer1 (1/16, 1/8, 1/4); and a 3×3 head
/// upsampled ×4 (bilinear, align_corners = true).
/// </summary>
/// <remarks>
/// SMP checks only that the input is a multiple of the output stride (16), but the attention block max-pools the
/// 1/16 map three times by 2, so SMP fails below 128 pixels; the zoo asks for multiples of 128, which always work
/// (sizes such as 144 that SMP also accepts are refused here). SMP quirks kept: every <c>ConvBnRelu</c> conv has a
/// bias although a batch norm follows; the pyramid branch has a single channel throughout; the gate branch of each
/// upsample block uses a 1×1 conv and batch norm on the globally pooled (1×1) map, without ReLU, then a sigmoid.
/// </remarks>
public sealed class SmpPan : SmpSegmentationModel
{
    /// <summary>Input height and width must be multiples of this.</summary>
    public const int Multiple = 128;

    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    public SmpPan(int numClasses, string encoderName = SmpResNetEncoder.DefaultName)
        : this(numClasses, new SmpResNetEncoder(encoderName, outputStride: 16))
    {
    }

    private SmpPan(int numClasses, SmpResNetEncoder encoder)
        : base("PAN", numClasses, Multiple, encoder, new SmpPanDecoder(encoder.OutChannels, 32),
            SmpBlocks.SegmentationHead(32, numClasses, 3, upsampling: 4))
    {
    }
}

/// <summary>SMP's <c>PANDecoder</c>: <c>fpa</c> on the deepest feature, then <c>gau3</c>, <c>gau2</c>, <c>gau1</c>.</summary>
public sealed class SmpPanDecoder : Module<Tensor[], Tensor>
{
    private readonly SmpPanFpaBlock fpa;
    private readonly SmpPanGauBlock gau3;
    private readonly SmpPanGauBlock gau2;
    private readonly SmpPanGauBlock gau1;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    public SmpPanDecoder(IReadOnlyList<int> encoderChannels, long decoderChannels) : base("PANDecoder")
    {
        int n = encoderChannels.Count;
        fpa = new SmpPanFpaBlock(encoderChannels[n - 1], decoderChannels);
        gau3 = new SmpPanGauBlock(encoderChannels[n - 2], decoderChannels);
        gau2 = new SmpPanGauBlock(encoderChannels[n - 3], decoderChannels);
        gau1 = new SmpPanGauBlock(encoderChannels[n - 4], decoderChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        int n = features.Length;
        var x5 = fpa.call(features[n - 1]);
        var x4 = gau3.call(features[n - 2], x5);
        var x3 = gau2.call(features[n - 3], x4);
        var x2 = gau1.call(features[n - 4], x3);
        return x2.MoveToOuterDisposeScope();
    }
}

/// <summary>SMP's PAN <c>ConvBnRelu</c>: <c>conv</c> (with bias) → <c>bn</c> → ReLU unless disabled.</summary>
public sealed class SmpPanConvBnRelu : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly Module<Tensor, Tensor> activation;
    private readonly bool _relu;

    /// <summary>Creates the block.</summary>
    public SmpPanConvBnRelu(long inChannels, long outChannels, long kernel, long padding = 0, bool addRelu = true) : base("ConvBnRelu")
    {
        conv = Conv2d(inChannels, outChannels, kernel, padding: padding);
        bn = BatchNorm2d(outChannels);
        activation = ReLU();
        _relu = addRelu;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var c = conv.call(input);
        var y = bn.call(c);
        if (!_relu) return y;
        using (y) return activation.call(y);
    }
}

/// <summary>
/// SMP's feature pyramid attention (<c>FPABlock</c>): a global branch (<c>branch1</c>: pool to 1×1, 1×1 ConvBnRelu),
/// a <c>mid</c> 1×1 ConvBnRelu, and a one-channel pyramid (<c>down1</c> 7×7, <c>down2</c> 5×5, <c>down3</c> two 3×3,
/// each after a 2×2 max pool) merged back up (with <c>conv2</c> 5×5 and <c>conv1</c> 7×7 on the lateral levels, bilinear
/// align_corners = true), which multiplies the mid branch; the global branch is added.
/// </summary>
public sealed class SmpPanFpaBlock : Module<Tensor, Tensor>
{
    private readonly Sequential branch1;
    private readonly Sequential mid;
    private readonly Sequential down1;
    private readonly Sequential down2;
    private readonly Sequential down3;
    private readonly SmpPanConvBnRelu conv2;
    private readonly SmpPanConvBnRelu conv1;

    /// <summary>Creates the block.</summary>
    public SmpPanFpaBlock(long inChannels, long outChannels) : base("FPABlock")
    {
        branch1 = Sequential(AdaptiveAvgPool2d(1), new SmpPanConvBnRelu(inChannels, outChannels, 1));
        mid = Sequential(new SmpPanConvBnRelu(inChannels, outChannels, 1));
        down1 = Sequential(MaxPool2d(2, stride: 2), new SmpPanConvBnRelu(inChannels, 1, 7, padding: 3));
        down2 = Sequential(MaxPool2d(2, stride: 2), new SmpPanConvBnRelu(1, 1, 5, padding: 2));
        down3 = Sequential(MaxPool2d(2, stride: 2), new SmpPanConvBnRelu(1, 1, 3, padding: 1), new SmpPanConvBnRelu(1, 1, 3, padding: 1));
        conv2 = new SmpPanConvBnRelu(1, 1, 5, padding: 2);
        conv1 = new SmpPanConvBnRelu(1, 1, 7, padding: 3);
        RegisterComponents();
    }

    private static Tensor Resize(Tensor x, long h, long w) =>
        functional.interpolate(x, new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        long h = input.shape[2], w = input.shape[3];
        if (h / 8 < 1 || w / 8 < 1)
            throw new ArgumentException($"PAN's pyramid attention needs its input at least 8×8 (the image at least {8 * 16}×{8 * 16}), got {h}×{w}");
        var b1 = Resize(branch1.call(input), h, w);
        var m = mid.call(input);
        var x1 = down1.call(input);
        var x2 = down2.call(x1);
        var x3 = Resize(down3.call(x2), h / 4, w / 4);
        var x = Resize(conv2.call(x2) + x3, h / 2, w / 2);
        x = Resize(x + conv1.call(x1), h, w);
        return (x * m + b1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SMP's global attention upsample (<c>GAUBlock</c>): the high-level input, resized to the low-level one (bilinear,
/// align_corners = true), plus the low-level input through <c>conv2</c> (3×3 ConvBnRelu) scaled by a gate of the
/// high-level input (<c>conv1</c>: global pool, 1×1 conv and batch norm without ReLU, sigmoid).
/// </summary>
public sealed class SmpPanGauBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly SmpPanConvBnRelu conv2;

    /// <summary>Creates the block.</summary>
    public SmpPanGauBlock(long inChannels, long outChannels) : base("GAUBlock")
    {
        conv1 = Sequential(AdaptiveAvgPool2d(1), new SmpPanConvBnRelu(outChannels, outChannels, 1, addRelu: false), Sigmoid());
        conv2 = new SmpPanConvBnRelu(inChannels, outChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>Fuses the low-level <paramref name="low"/> and the high-level <paramref name="high"/> features.</summary>
    public override Tensor forward(Tensor low, Tensor high)
    {
        using var scope = NewDisposeScope();
        var up = functional.interpolate(high, new[] { low.shape[2], low.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: true);
        var z = conv2.call(low) * conv1.call(high);
        return (up + z).MoveToOuterDisposeScope();
    }
}
