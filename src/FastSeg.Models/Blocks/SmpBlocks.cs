using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// The small building blocks that segmentation_models.pytorch's decoders share, with its state-dict layout, and its
/// weight initialisation of decoders and heads.
/// </summary>
public static class SmpBlocks
{
    /// <summary>
    /// SMP's <c>Conv2dReLU</c>: a Sequential of conv ("0"), batch norm ("1") and ReLU ("2"). With batch norm the
    /// conv has no bias; without it ("1" is an identity) the conv has a bias.
    /// </summary>
    public static Sequential Conv2dReLU(long inChannels, long outChannels, long kernel, long padding = 0, long stride = 1,
        bool useBatchnorm = true) =>
        Sequential(
            Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, bias: !useBatchnorm),
            useBatchnorm ? BatchNorm2d(outChannels) : Identity(),
            ReLU());

    /// <summary>
    /// SMP's <c>SegmentationHead</c>: a conv with bias and "same" padding ("0"), a bilinear upsampling by
    /// <paramref name="upsampling"/> with align_corners = true (SMP's <c>UpsamplingBilinear2d</c>) or an identity
    /// ("1"), and the output activation ("2", an identity: the zoo returns logits).
    /// </summary>
    public static Sequential SegmentationHead(long inChannels, long numClasses, long kernel = 3, int upsampling = 1) =>
        Sequential(
            Conv2d(inChannels, numClasses, kernel, padding: kernel / 2),
            upsampling > 1
                ? Upsample(scale_factor: new double[] { upsampling }, mode: InterpolationMode.Bilinear, align_corners: true)
                : Identity(),
            Identity());

    /// <summary>
    /// SMP's <c>SeparableConv2d</c>: a depthwise conv without bias ("0") then a 1×1 pointwise conv ("1", bias as
    /// given).
    /// </summary>
    public static Sequential SeparableConv2d(long inChannels, long outChannels, long kernel, long padding = 0,
        long dilation = 1, bool bias = true) =>
        Sequential(
            Conv2d(inChannels, inChannels, kernel, padding: padding, dilation: dilation, groups: inChannels, bias: false),
            Conv2d(inChannels, outChannels, 1, bias: bias));

    /// <summary>
    /// SMP's squeeze-and-excitation gate as MAnet writes it: global average pool, 1×1 conv to
    /// <paramref name="reduced"/> channels (with bias), ReLU, 1×1 conv back (with bias), sigmoid; keys "1" and "3".
    /// </summary>
    public static Sequential SqueezeExcitation(long channels, long reduced) =>
        Sequential(
            AdaptiveAvgPool2d(1),
            Conv2d(channels, reduced, 1),
            ReLU(),
            Conv2d(reduced, channels, 1),
            Sigmoid());

    /// <summary>
    /// SMP's decoder initialisation: every Conv2d gets He-uniform weights (fan in, ReLU gain) and a zero bias; batch
    /// norms get γ = 1, β = 0; linear layers Glorot-uniform weights and a zero bias. Transposed convs and group norms
    /// keep their default initialisation, as in SMP.
    /// </summary>
    public static void InitializeDecoder(Module module)
    {
        foreach (var m in module.modules())
        {
            switch (m)
            {
                case Conv2d c:
                    init.kaiming_uniform_(c.weight, mode: init.FanInOut.FanIn, nonlinearity: init.NonlinearityType.ReLU);
                    if (c.bias is not null) init.zeros_(c.bias);
                    break;
                case BatchNorm2d bn:
                    if (bn.weight is not null) init.ones_(bn.weight);
                    if (bn.bias is not null) init.zeros_(bn.bias);
                    break;
                case Linear l:
                    init.xavier_uniform_(l.weight);
                    if (l.bias is not null) init.zeros_(l.bias);
                    break;
            }
        }
    }

    /// <summary>SMP's head initialisation: Glorot-uniform weights and zero biases for every conv and linear layer.</summary>
    public static void InitializeHead(Module module)
    {
        foreach (var m in module.modules())
        {
            switch (m)
            {
                case Conv2d c:
                    init.xavier_uniform_(c.weight);
                    if (c.bias is not null) init.zeros_(c.bias);
                    break;
                case Linear l:
                    init.xavier_uniform_(l.weight);
                    if (l.bias is not null) init.zeros_(l.bias);
                    break;
            }
        }
    }

    /// <summary>Nearest-neighbour upsampling by 2 (SMP's <c>F.interpolate(x, scale_factor=2, mode="nearest")</c>).</summary>
    public static Tensor UpsampleNearest2x(Tensor x) =>
        functional.interpolate(x, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Nearest);
}

/// <summary>
/// SMP's decoder attention (<c>Attention</c>): nothing (an identity without state) or, for "scse", a concurrent
/// spatial and channel squeeze-and-excitation module under the child <c>attention</c>:
/// x·cSE(x) + x·sSE(x), where cSE is average pool → 1×1 conv to C/16 → ReLU → 1×1 conv → sigmoid (keys
/// <c>attention.cSE.1</c>, <c>attention.cSE.3</c>) and sSE a 1×1 conv to one channel → sigmoid
/// (<c>attention.sSE.0</c>).
/// </summary>
public sealed class SmpAttention : Module<Tensor, Tensor>
{
    /// <summary>The attention types SMP's U-Net decoders accept ("none" stands for Python's None).</summary>
    public static readonly string[] Types = { "none", "scse" };

    private readonly SmpScseModule? attention;

    /// <summary>Creates the attention for <paramref name="channels"/> channels.</summary>
    /// <param name="type">"none" (or null) or "scse".</param>
    /// <param name="channels">Channels of the input.</param>
    public SmpAttention(string? type, long channels) : base("Attention")
    {
        attention = type switch
        {
            null or "none" => null,
            "scse" => new SmpScseModule(channels),
            _ => throw new ArgumentException($"unknown attention '{type}'; valid: {string.Join(", ", Types)}", nameof(type)),
        };
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => attention is null ? input.alias() : attention.call(input);
}

/// <summary>SMP's <c>SCSEModule</c> (see <see cref="SmpAttention"/>), reduction 16.</summary>
public sealed class SmpScseModule : Module<Tensor, Tensor>
{
    private readonly Sequential cSE;
    private readonly Sequential sSE;

    /// <summary>Creates the module.</summary>
    public SmpScseModule(long channels, long reduction = 16) : base("SCSEModule")
    {
        cSE = SmpBlocks.SqueezeExcitation(channels, channels / reduction);
        sSE = Sequential(Conv2d(channels, 1, 1), Sigmoid());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var channel = input * cSE.call(input);
        var spatial = input * sSE.call(input);
        return (channel + spatial).MoveToOuterDisposeScope();
    }
}
