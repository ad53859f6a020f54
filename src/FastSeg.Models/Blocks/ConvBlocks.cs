using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// The reference's shared building blocks (zh320 <c>models/modules.py</c>), with its state-dict layout: each is a
/// Sequential of conv ("0"), batch norm ("1") and <see cref="Activation"/> ("2").
/// </summary>
public static class ConvBlocks
{
    /// <summary>Padding that keeps the size at stride 1: (k − 1) / 2 · dilation per axis.</summary>
    public static long[] SamePadding(long[] kernel, long dilation) =>
        kernel.Select(k => (k - 1) / 2 * dilation).ToArray();

    /// <summary>3×3 convolution, padding 1, no bias by default.</summary>
    public static Conv2d Conv3x3(long inChannels, long outChannels, long stride = 1, bool bias = false) =>
        Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: bias);

    /// <summary>1×1 convolution, no bias by default.</summary>
    public static Conv2d Conv1x1(long inChannels, long outChannels, long stride = 1, bool bias = false) =>
        Conv2d(inChannels, outChannels, 1, stride: stride, bias: bias);

    /// <summary>Conv (same padding, no bias by default) → BN → activation.</summary>
    public static Sequential ConvBNAct(long inChannels, long outChannels, long kernel = 3, long stride = 1, long dilation = 1,
        long groups = 1, bool bias = false, string act = "relu", bool inplace = false) =>
        ConvBNAct(inChannels, outChannels, new[] { kernel, kernel }, stride, dilation, groups, bias, act, inplace);

    /// <summary>Conv with an (h, w) kernel → BN → activation.</summary>
    public static Sequential ConvBNAct(long inChannels, long outChannels, long[] kernel, long stride = 1, long dilation = 1,
        long groups = 1, bool bias = false, string act = "relu", bool inplace = false) =>
        Sequential(
            Conv2d(inChannels, outChannels, kernel, new[] { stride }, SamePadding(kernel, dilation), new[] { dilation }, groups, bias),
            BatchNorm2d(outChannels),
            new Activation(act, inplace));

    /// <summary>Depthwise conv (groups = in channels; out may be a multiple) → BN → activation.</summary>
    public static Sequential DWConvBNAct(long inChannels, long outChannels, long kernel, long stride = 1, long dilation = 1,
        string act = "relu", bool inplace = false) =>
        DWConvBNAct(inChannels, outChannels, new[] { kernel, kernel }, stride, dilation, act, inplace);

    /// <summary>Depthwise conv with an (h, w) kernel → BN → activation.</summary>
    public static Sequential DWConvBNAct(long inChannels, long outChannels, long[] kernel, long stride = 1, long dilation = 1,
        string act = "relu", bool inplace = false) =>
        Sequential(
            Conv2d(inChannels, outChannels, kernel, new[] { stride }, SamePadding(kernel, dilation), new[] { dilation }, inChannels, bias: false),
            BatchNorm2d(outChannels),
            new Activation(act, inplace));

    /// <summary>1×1 conv (bias by default) → BN → activation.</summary>
    public static Sequential PWConvBNAct(long inChannels, long outChannels, string act = "relu", bool bias = true, bool inplace = false) =>
        Sequential(Conv2d(inChannels, outChannels, 1, bias: bias), BatchNorm2d(outChannels), new Activation(act, inplace));

    /// <summary>Depthwise-separable: <see cref="DWConvBNAct(long, long, long, long, long, string, bool)"/> then <see cref="PWConvBNAct"/>.</summary>
    public static Sequential DSConvBNAct(long inChannels, long outChannels, long kernel, long stride = 1, long dilation = 1,
        string act = "relu", bool inplace = false) =>
        Sequential(DWConvBNAct(inChannels, inChannels, kernel, stride, dilation, act, inplace), PWConvBNAct(inChannels, outChannels, act, inplace: inplace));

    /// <summary>Conv3x3 → BN(hid) → act, then a 1×1 classifier without bias (the reference's SegHead).</summary>
    public static Sequential SegHead(long inChannels, long numClasses, string act, long hidChannels = 128) =>
        Sequential(ConvBNAct(inChannels, hidChannels, 3, act: act), Conv1x1(hidChannels, numClasses));

    /// <summary>Channel shuffle: (N, g·c, H, W) → interleave the g groups.</summary>
    public static Tensor ChannelShuffle(Tensor x, long groups = 2)
    {
        var s = x.shape;
        using var v = x.view(s[0], groups, s[1] / groups, s[2], s[3]);
        using var t = v.transpose(1, 2);
        using var c = t.contiguous();
        return c.view(s[0], -1, s[2], s[3]);
    }
}

/// <summary>
/// Transposed conv → BN → activation under the child "up_conv", an exact ×scale upsampling: kernel 2s − 1,
/// padding (k − 1) / 2, output_padding s − 1, with bias (the reference's DeConvBNAct).
/// </summary>
public sealed class DeConvBNAct : Module<Tensor, Tensor>
{
    private readonly Sequential up_conv;

    /// <summary>Creates the block.</summary>
    public DeConvBNAct(long inChannels, long outChannels, long scaleFactor = 2, long? kernelSize = null, long? padding = null,
        string act = "relu", bool inplace = false) : base(nameof(DeConvBNAct))
    {
        long k = kernelSize ?? 2 * scaleFactor - 1;
        long p = padding ?? (k - 1) / 2;
        up_conv = Sequential(
            ConvTranspose2d(inChannels, outChannels, k, stride: scaleFactor, padding: p, output_padding: scaleFactor - 1),
            BatchNorm2d(outChannels),
            new Activation(act, inplace));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => up_conv.call(input);
}

/// <summary>
/// Pyramid pooling (PSPNet style, the reference's variant): four stages of adaptive average pooling (1, 2, 4, 6 by
/// default) and a 1×1 conv to in/4 channels, each resized back (bilinear, align_corners = true), concatenated with
/// the input, then a <see cref="ConvBlocks.PWConvBNAct"/> to the output channels.
/// </summary>
public sealed class PyramidPoolingModule : Module<Tensor, Tensor>
{
    private readonly Sequential stage1;
    private readonly Sequential stage2;
    private readonly Sequential stage3;
    private readonly Sequential stage4;
    private readonly Sequential conv;

    /// <summary>Creates the module.</summary>
    public PyramidPoolingModule(long inChannels, long outChannels, string act, long[]? poolSizes = null, bool bias = false)
        : base(nameof(PyramidPoolingModule))
    {
        poolSizes ??= new long[] { 1, 2, 4, 6 };
        if (poolSizes.Length != 4) throw new ArgumentException("pyramid pooling needs four pool sizes", nameof(poolSizes));
        long hid = inChannels / 4;
        stage1 = Stage(inChannels, hid, poolSizes[0]);
        stage2 = Stage(inChannels, hid, poolSizes[1]);
        stage3 = Stage(inChannels, hid, poolSizes[2]);
        stage4 = Stage(inChannels, hid, poolSizes[3]);
        conv = ConvBlocks.PWConvBNAct(2 * inChannels, outChannels, act, bias);
        RegisterComponents();
    }

    private static Sequential Stage(long inChannels, long outChannels, long poolSize) =>
        Sequential(AdaptiveAvgPool2d(poolSize), ConvBlocks.Conv1x1(inChannels, outChannels));

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        Tensor Up(Sequential stage) => functional.interpolate(stage.call(input), size, mode: InterpolationMode.Bilinear, align_corners: true);
        var cat = torch.cat(new[] { input, Up(stage1), Up(stage2), Up(stage3), Up(stage4) }, 1);
        return conv.call(cat).MoveToOuterDisposeScope();
    }
}
