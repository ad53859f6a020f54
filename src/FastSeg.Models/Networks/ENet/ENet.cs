using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ENet (Paszke et al., 2016): an initial block (strided conv beside max pooling) and five stages of residual
/// bottlenecks — two downsampling stages whose max-pool indices are reused by the unpooling of the two upsampling
/// stages, and regular, dilated and asymmetric (5×1, 1×5) bottlenecks in between — followed by a 1×1 conv (with BN
/// and PReLU on the logits, as in the reference) and a ×2 bilinear upsampling (align_corners = false).
/// The upsampling bottlenecks' inner ×2 upsampling is a 3×3 transposed conv ("deconvolution", the reference's
/// default) or a 1×1 ConvBNAct with bilinear upsampling ("bilinear", the reference's other upsample_type).
/// </summary>
public sealed class ENet : SegmentationModel
{
    private readonly InitialBlock initial;
    private readonly ENetDownStage bottleneck1;
    private readonly ENetDownStage bottleneck2;
    private readonly ENetDownStage bottleneck3;
    private readonly ENetUpStage bottleneck4;
    private readonly ENetUpStage bottleneck5;
    private readonly ENetUpsample fullconv;

    /// <summary>Creates ENet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="upsampleType">"deconvolution" (default) or "bilinear": how the upsampling bottlenecks upsample.</param>
    /// <param name="act">Activation name (of the initial block, the bottlenecks' outputs and the final conv).</param>
    public ENet(int numClasses, string upsampleType = "deconvolution", string act = "prelu") : base(nameof(ENet), numClasses, 8)
    {
        if (upsampleType is not ("deconvolution" or "bilinear"))
            throw new ArgumentException($"unsupported ENet upsample type '{upsampleType}'; valid: deconvolution, bilinear", nameof(upsampleType));
        UpsampleType = upsampleType;
        bool deconv = upsampleType == "deconvolution";
        initial = new InitialBlock(3, 16, act);
        bottleneck1 = ENetDownStage.Stage1(16, 64, act);
        bottleneck2 = ENetDownStage.Stage23(64, 128, act, downsample: true);
        bottleneck3 = ENetDownStage.Stage23(128, 128, act, downsample: false);
        bottleneck4 = new ENetUpStage(128, 64, act, deconv, extraConv: true);
        bottleneck5 = new ENetUpStage(64, 16, act, deconv, extraConv: false);
        fullconv = new ENetUpsample(16, numClasses, deconvolution: false, act: act);
        RegisterComponents();
    }

    /// <summary>"deconvolution" or "bilinear".</summary>
    public string UpsampleType { get; }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = initial.call(input);
        var (x1, indices1) = bottleneck1.call(x);
        var (x2, indices2) = bottleneck2.call(x1);
        var (x3, _) = bottleneck3.call(x2);
        x = bottleneck4.call(x3, indices2!);
        x = bottleneck5.call(x, indices1!);
        return new SegmentationOutput(fullconv.call(x).MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Stages 1–3: an optional downsampling bottleneck ("conv_pool", which also returns its max-pool indices) followed by
/// a Sequential of bottlenecks ("conv_regular"). Stage 1 has four regular ones (dropout 0.01); stages 2 and 3 have
/// regular, dilated 2, asymmetric, dilated 4, regular, dilated 8, asymmetric, dilated 16 (dropout 0.1).
/// </summary>
internal sealed class ENetDownStage : Module<Tensor, (Tensor Output, Tensor? Indices)>
{
    private readonly ENetBottleneck? conv_pool;
    private readonly Sequential conv_regular;

    private ENetDownStage(ENetBottleneck? convPool, Sequential regular, string name) : base(name)
    {
        conv_pool = convPool;
        conv_regular = regular;
        RegisterComponents();
    }

    public static ENetDownStage Stage1(long inChannels, long outChannels, string act, double dropP = 0.01)
    {
        var pool = new ENetBottleneck(inChannels, outChannels, ENetBottleneckType.Downsampling, act, dropP: dropP);
        var regular = Sequential();
        for (int k = 0; k < 4; k++) regular.append(new ENetBottleneck(outChannels, outChannels, ENetBottleneckType.Regular, act, dropP: dropP));
        return new ENetDownStage(pool, regular, "BottleNeck1");
    }

    public static ENetDownStage Stage23(long inChannels, long outChannels, string act, bool downsample)
    {
        var pool = downsample ? new ENetBottleneck(inChannels, outChannels, ENetBottleneckType.Downsampling, act) : null;
        ENetBottleneck B(ENetBottleneckType type, long dilation = 1) => new(outChannels, outChannels, type, act, dilation: dilation);
        var regular = Sequential(
            B(ENetBottleneckType.Regular),
            B(ENetBottleneckType.Dilate, 2),
            B(ENetBottleneckType.Asymmetric),
            B(ENetBottleneckType.Dilate, 4),
            B(ENetBottleneckType.Regular),
            B(ENetBottleneckType.Dilate, 8),
            B(ENetBottleneckType.Asymmetric),
            B(ENetBottleneckType.Dilate, 16));
        return new ENetDownStage(pool, regular, "BottleNeck23");
    }

    public override (Tensor Output, Tensor? Indices) forward(Tensor input)
    {
        if (conv_pool is null) return (conv_regular.call(input), null);
        using var scope = NewDisposeScope();
        var (x, indices) = conv_pool.Downsample(input);
        x = conv_regular.call(x);
        return (x.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope());
    }
}

/// <summary>Stages 4–5: an upsampling bottleneck ("conv_unpool", unpooling with the matching stage's indices), a regular one, and in stage 4 one more ("conv_extra").</summary>
internal sealed class ENetUpStage : Module<Tensor, Tensor, Tensor>
{
    private readonly ENetBottleneck conv_unpool;
    private readonly ENetBottleneck conv_regular;
    private readonly ENetBottleneck? conv_extra;

    public ENetUpStage(long inChannels, long outChannels, string act, bool deconvolution, bool extraConv) : base("BottleNeck45")
    {
        conv_unpool = new ENetBottleneck(inChannels, outChannels, ENetBottleneckType.Upsampling, act, deconvolution: deconvolution);
        conv_regular = new ENetBottleneck(outChannels, outChannels, ENetBottleneckType.Regular, act);
        if (extraConv) conv_extra = new ENetBottleneck(outChannels, outChannels, ENetBottleneckType.Regular, act);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input, Tensor indices)
    {
        using var scope = NewDisposeScope();
        var x = conv_unpool.Upsample(input, indices);
        x = conv_regular.call(x);
        if (conv_extra is not null) x = conv_extra.call(x);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>The kinds of ENet bottleneck.</summary>
internal enum ENetBottleneckType
{
    Regular,
    Downsampling,
    Upsampling,
    Dilate,
    Asymmetric,
}

/// <summary>
/// ENet bottleneck (hidden channels in/4): a main branch ("right_init_conv" by kind, inner ConvBNActs with ReLU, then
/// "right_last_conv" = 1×1 conv and dropout) added to a shortcut, then the block's activation. The shortcut is the input
/// (regular, dilated, asymmetric); 2×2 max pooling then a 1×1 ConvBNAct (downsampling, channels expanded by the conv);
/// or a 1×1 ConvBNAct then max unpooling with the given indices (upsampling).
/// </summary>
internal sealed class ENetBottleneck : Module<Tensor, Tensor>
{
    [ComponentName(Name = "left_pool")]
    private readonly MaxPool2d? pool;
    private readonly Sequential? left_conv;
    [ComponentName(Name = "left_pool")]
    private readonly MaxUnpool2d? unpool;
    private readonly Sequential right_init_conv;
    private readonly Sequential right_last_conv;
    private readonly Activation act;
    private readonly ENetBottleneckType type;

    public ENetBottleneck(long inChannels, long outChannels, ENetBottleneckType type, string actType, bool deconvolution = false,
        long dilation = 1, double dropP = 0.1) : base("Bottleneck")
    {
        this.type = type;
        long hid = inChannels / 4;
        switch (type)
        {
            case ENetBottleneckType.Regular:
                right_init_conv = Sequential(ConvBlocks.ConvBNAct(inChannels, hid, 1), ConvBlocks.ConvBNAct(hid, hid));
                break;
            case ENetBottleneckType.Downsampling:
                pool = MaxPool2d(2, 2);
                left_conv = ConvBlocks.ConvBNAct(inChannels, outChannels, 1);
                right_init_conv = Sequential(ConvBlocks.ConvBNAct(inChannels, hid, 3, 2), ConvBlocks.ConvBNAct(hid, hid));
                break;
            case ENetBottleneckType.Upsampling:
                left_conv = ConvBlocks.ConvBNAct(inChannels, outChannels, 1);
                unpool = MaxUnpool2d(2, 2);
                right_init_conv = Sequential(
                    ConvBlocks.ConvBNAct(inChannels, hid, 1),
                    new ENetUpsample(hid, hid, deconvolution, kernelSize: 3));
                break;
            case ENetBottleneckType.Dilate:
                right_init_conv = Sequential(ConvBlocks.ConvBNAct(inChannels, hid, 1), ConvBlocks.ConvBNAct(hid, hid, dilation: dilation));
                break;
            case ENetBottleneckType.Asymmetric:
                right_init_conv = Sequential(
                    ConvBlocks.ConvBNAct(inChannels, hid, 1),
                    ConvBlocks.ConvBNAct(hid, hid, new long[] { 5, 1 }),
                    ConvBlocks.ConvBNAct(hid, hid, new long[] { 1, 5 }));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "unknown bottleneck type");
        }
        right_last_conv = Sequential(ConvBlocks.Conv1x1(hid, outChannels), Dropout(dropP));
        act = new Activation(actType);
        RegisterComponents();
    }

    /// <summary>Regular, dilated or asymmetric bottleneck: act(x + main(x)).</summary>
    public override Tensor forward(Tensor input)
    {
        if (type is ENetBottleneckType.Downsampling or ENetBottleneckType.Upsampling)
            throw new InvalidOperationException($"a {type} bottleneck is run with {(type == ENetBottleneckType.Downsampling ? nameof(Downsample) : nameof(Upsample))}");
        using var scope = NewDisposeScope();
        var right = Right(input);
        return act.call(input + right).MoveToOuterDisposeScope();
    }

    /// <summary>Downsampling bottleneck: the output and the shortcut's max-pool indices.</summary>
    public (Tensor Output, Tensor Indices) Downsample(Tensor input)
    {
        using var scope = NewDisposeScope();
        var right = Right(input);
        var (left, indices) = pool!.forward_with_indices(input);
        left = left_conv!.call(left);
        var x = act.call(left + right);
        return (x.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope());
    }

    /// <summary>Upsampling bottleneck, unpooling the shortcut with <paramref name="indices"/>.</summary>
    public Tensor Upsample(Tensor input, Tensor indices)
    {
        using var scope = NewDisposeScope();
        var right = Right(input);
        var left = unpool!.call(left_conv!.call(input), indices);
        return act.call(left + right).MoveToOuterDisposeScope();
    }

    private Tensor Right(Tensor input)
    {
        using var a = right_init_conv.call(input);
        return right_last_conv.call(a);
    }
}

/// <summary>
/// ENet's ×2 upsampling, under the child "up_conv": a transposed conv (kernel k, default 3 for scale 2; padding
/// (k − 1) / 2, output_padding 1, no bias, no BN) or a 1×1 ConvBNAct followed by bilinear upsampling by the scale
/// factor (align_corners = false).
/// </summary>
internal sealed class ENetUpsample : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> up_conv;

    public ENetUpsample(long inChannels, long outChannels, bool deconvolution, long scaleFactor = 2, long? kernelSize = null, string act = "relu")
        : base("Upsample")
    {
        if (deconvolution)
        {
            long k = kernelSize ?? 2 * scaleFactor - 1;
            up_conv = ConvTranspose2d(inChannels, outChannels, k, stride: scaleFactor, padding: (k - 1) / 2, output_padding: 1, bias: false);
        }
        else
        {
            up_conv = Sequential(
                ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: act),
                nn.Upsample(scale_factor: new[] { (double)scaleFactor }, mode: InterpolationMode.Bilinear));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => up_conv.call(input);
}
