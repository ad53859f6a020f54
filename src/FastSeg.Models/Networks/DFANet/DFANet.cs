using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// DFANet (Li et al., 2019): a lightweight Xception-like encoder (A: 48/96/192 channels, B: 32/64/128) with an
/// fc-attention at its end, run three times — the second and third passes take the previous pass's attended output
/// upsampled ×4 and concatenate each stage's input with the previous pass's output of that stage — and a decoder that
/// sums the first stage of each pass (at 1/4) and segmentation heads on the three attended outputs. Without the extra
/// backbones a single segmentation head on the first pass is upsampled ×16. Resizes are bilinear by scale factor
/// (align_corners = true), as in the reference; the attention's batch norm works on 1×1 maps, so training needs a
/// batch of at least two.
/// </summary>
public sealed class DFANet : SegmentationModel
{
    /// <summary>The backbone variants (XceptionA, XceptionB), the reference's default first.</summary>
    public static readonly IReadOnlyList<string> Variants = new[] { "a", "b" };

    private readonly Sequential conv1;
    private readonly DFANetEncoder backbone1;
    private readonly DFANetEncoder? backbone2;
    private readonly DFANetEncoder? backbone3;
    private readonly DFANetDecoder? decoder;
    private readonly Sequential? seg_head;

    /// <summary>Creates DFANet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="backbone">"a" (XceptionA) or "b" (XceptionB).</param>
    /// <param name="useExtraBackbone">Run the encoder three times with feature aggregation (the paper's network).</param>
    /// <param name="expansion">Channel reduction inside the Xception blocks.</param>
    /// <param name="repeatTimes">Blocks per encoder stage (three values).</param>
    /// <param name="act">Activation.</param>
    public DFANet(int numClasses, string backbone = "a", bool useExtraBackbone = true, long expansion = 4, int[]? repeatTimes = null,
        string act = "relu") : base(nameof(DFANet), numClasses, useExtraBackbone ? 64 : 16)
    {
        repeatTimes ??= new[] { 4, 6, 4 };
        if (repeatTimes.Length != 3) throw new ArgumentException("DFANet needs three repeat counts", nameof(repeatTimes));
        long[] channels = backbone switch
        {
            "a" => new long[] { 48, 96, 192 },
            "b" => new long[] { 32, 64, 128 },
            _ => throw new ArgumentException($"unsupported DFANet backbone '{backbone}'; valid: {string.Join(", ", Variants)}", nameof(backbone)),
        };
        Backbone = backbone;
        UseExtraBackbone = useExtraBackbone;

        conv1 = ConvBlocks.ConvBNAct(3, 8, 3, 2, act: act);
        backbone1 = new DFANetEncoder(new[] { 8, channels[0], channels[1] }, channels, expansion, repeatTimes, act);
        if (useExtraBackbone)
        {
            // Each stage of a later pass takes its input concatenated with the previous pass's output of the stage
            // before: the first stage's input is the previous attended output (last-stage channels).
            long[] inChannels = { channels[0] + channels[2], channels[1] + channels[0], channels[2] + channels[1] };
            backbone2 = new DFANetEncoder(inChannels, channels, expansion, repeatTimes, act);
            backbone3 = new DFANetEncoder(inChannels, channels, expansion, repeatTimes, act);
            decoder = new DFANetDecoder(channels[0], channels[2], numClasses, act);
        }
        else
        {
            seg_head = ConvBlocks.SegHead(channels[2], numClasses, act);
        }
        RegisterComponents();
    }

    /// <summary>The backbone variant ("a" or "b").</summary>
    public string Backbone { get; }

    /// <summary>Whether the second and third encoder passes are used.</summary>
    public bool UseExtraBackbone { get; }

    private static Tensor Up(Tensor x, double scale) =>
        functional.interpolate(x, scale_factor: new[] { scale }, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv1.call(input);
        var p1 = backbone1.Forward(x);
        Tensor logits;
        if (decoder is not null)
        {
            var p2 = backbone2!.Forward(Up(p1.Attended, 4), p1.Stage2, p1.Stage3, p1.Stage4);
            var p3 = backbone3!.Forward(Up(p2.Attended, 4), p2.Stage2, p2.Stage3, p2.Stage4);
            logits = decoder.Forward(p1.Stage2, p2.Stage2, p3.Stage2, p1.Attended, p2.Attended, p3.Attended);
        }
        else
        {
            logits = Up(seg_head!.call(p1.Attended), 16);
        }
        return new SegmentationOutput(logits.MoveToOuterDisposeScope());
    }
}

/// <summary>One encoder pass's outputs: the attended last stage and the three stage outputs.</summary>
internal readonly record struct DFANetEncoderOutput(Tensor Attended, Tensor Stage2, Tensor Stage3, Tensor Stage4);

/// <summary>
/// DFANet's encoder: three stages of Xception blocks (each halving the resolution) and an fc-attention. Given the
/// previous pass's stage outputs, each stage's input is concatenated with the matching one first.
/// </summary>
internal sealed class DFANetEncoder : Module
{
    private readonly DFANetEncoderStage enc2;
    private readonly DFANetEncoderStage enc3;
    private readonly DFANetEncoderStage enc4;
    private readonly DFANetFCAttention fc_attention;

    /// <summary>Creates the encoder.</summary>
    public DFANetEncoder(long[] inChannels, long[] channels, long expansion, int[] repeatTimes, string act) : base("Encoder")
    {
        enc2 = new DFANetEncoderStage(inChannels[0], channels[0], expansion, repeatTimes[0], act);
        enc3 = new DFANetEncoderStage(inChannels[1], channels[1], expansion, repeatTimes[1], act);
        enc4 = new DFANetEncoderStage(inChannels[2], channels[2], expansion, repeatTimes[2], act);
        fc_attention = new DFANetFCAttention(channels[2], act);
        RegisterComponents();
    }

    /// <summary>Runs the pass; the tensors it returns belong to the caller's dispose scope.</summary>
    public DFANetEncoderOutput Forward(Tensor x, Tensor? prev2 = null, Tensor? prev3 = null, Tensor? prev4 = null)
    {
        static Tensor Join(Tensor a, Tensor? b) => b is null ? a : torch.cat(new[] { a, b }, 1);
        var s2 = enc2.call(Join(x, prev2));
        var s3 = enc3.call(Join(s2, prev3));
        var s4 = enc4.call(Join(s3, prev4));
        return new DFANetEncoderOutput(fc_attention.call(s4), s2, s3, s4);
    }
}

/// <summary>A DFANet encoder stage: a stride-2 Xception block then (repeat − 1) stride-1 ones, under "conv".</summary>
internal sealed class DFANetEncoderStage : Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    /// <summary>Creates the stage.</summary>
    public DFANetEncoderStage(long inChannels, long outChannels, long expansion, int repeatTimes, string act) : base("EncoderBlock")
    {
        conv = Sequential(new DFANetXceptionBlock(inChannels, outChannels, 2, expansion, act));
        for (int k = 1; k < repeatTimes; k++) conv.append(new DFANetXceptionBlock(outChannels, outChannels, 1, expansion, act));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => conv.call(input);
}

/// <summary>
/// DFANet's fc-attention: global max pool, a linear layer to 1000, a 1×1 conv-BN-act back to the channels, and the
/// input multiplied by the result (no sigmoid, as in the reference).
/// </summary>
internal sealed class DFANetFCAttention : Module<Tensor, Tensor>
{
    private readonly AdaptivePool2d pool;
    private readonly Linear linear;
    private readonly Sequential conv;

    private readonly long _channels;

    /// <summary>Creates the attention.</summary>
    public DFANetFCAttention(long channels, string act, long linearChannels = 1000) : base("FCAttention")
    {
        _channels = channels;
        pool = AdaptiveMaxPool2d(1);
        linear = Linear(channels, linearChannels);
        conv = ConvBlocks.ConvBNAct(linearChannels, channels, 1, act: act, inplace: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (training && input.shape[0] < 2)
            throw new ArgumentException("DFANet's attention applies batch norm to 1×1 maps, so training needs a batch of at least 2", nameof(input));
        using var scope = NewDisposeScope();
        var attention = linear.call(pool.call(input).view(-1, _channels));
        attention = conv.call(attention.unsqueeze(-1).unsqueeze(-1));
        return (input * attention).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// DFANet's Xception block: depthwise-separable in → out/e, depthwise-separable out/e → out/e, a depthwise 3×3 (channel
/// multiplier e, carrying the stride) to out, a 1×1 conv and the activation; plus a strided 1×1 conv of the input
/// when downsampling, or the input itself when the shapes agree.
/// </summary>
internal sealed class DFANetXceptionBlock : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly Conv2d? conv_stride;

    private readonly bool _useSkip;

    /// <summary>Creates the block.</summary>
    public DFANetXceptionBlock(long inChannels, long outChannels, long stride, long expansion, string act) : base("XceptionBlock")
    {
        _useSkip = inChannels == outChannels && stride == 1;
        long hid = outChannels / expansion;
        conv = Sequential(
            ConvBlocks.DSConvBNAct(inChannels, hid, 3, act: act),
            ConvBlocks.DSConvBNAct(hid, hid, 3, act: act),
            ConvBlocks.DWConvBNAct(hid, outChannels, 3, stride, act: act, inplace: true),
            ConvBlocks.Conv1x1(outChannels, outChannels),
            new Activation(act));
        if (stride > 1) conv_stride = ConvBlocks.Conv1x1(inChannels, outChannels, 2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        // The reference adds in place onto the activation's output; the sums here are out of place (same values),
        // which also keeps the activation's saved output intact for the backward pass.
        using var scope = NewDisposeScope();
        var x = conv.call(input);
        if (conv_stride is not null) x = x + conv_stride.call(input);
        if (_useSkip) x = x + input;
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// DFANet's decoder: 3×3 conv-BN-act of each pass's first-stage output, resized to 1/4 and summed, a 1×1 classifier;
/// plus segmentation heads on the three attended outputs resized to 1/4; the sum upsampled ×4.
/// </summary>
internal sealed class DFANetDecoder : Module
{
    private readonly Sequential enc_conv1;
    private readonly Sequential enc_conv2;
    private readonly Sequential enc_conv3;
    private readonly Conv2d conv_enc;
    private readonly Sequential fc_conv1;
    private readonly Sequential fc_conv2;
    private readonly Sequential fc_conv3;

    /// <summary>Creates the decoder.</summary>
    public DFANetDecoder(long encChannels, long fcChannels, long numClasses, string act, long hidChannels = 48) : base("Decoder")
    {
        enc_conv1 = ConvBlocks.ConvBNAct(encChannels, hidChannels, 3, act: act, inplace: true);
        enc_conv2 = ConvBlocks.ConvBNAct(encChannels, hidChannels, 3, act: act, inplace: true);
        enc_conv3 = ConvBlocks.ConvBNAct(encChannels, hidChannels, 3, act: act, inplace: true);
        conv_enc = ConvBlocks.Conv1x1(hidChannels, numClasses);
        fc_conv1 = ConvBlocks.SegHead(fcChannels, numClasses, act);
        fc_conv2 = ConvBlocks.SegHead(fcChannels, numClasses, act);
        fc_conv3 = ConvBlocks.SegHead(fcChannels, numClasses, act);
        RegisterComponents();
    }

    private static Tensor Up(Tensor x, double scale) =>
        functional.interpolate(x, scale_factor: new[] { scale }, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <summary>Logits at input resolution from the three passes' first-stage (1/4, 1/8, 1/16) and attended (1/16, 1/32, 1/64) outputs.</summary>
    public Tensor Forward(Tensor enc1, Tensor enc2, Tensor enc3, Tensor fc1, Tensor fc2, Tensor fc3)
    {
        using var scope = NewDisposeScope();
        var e1 = enc_conv1.call(enc1);
        var e2 = Up(enc_conv2.call(enc2), 2);
        var e3 = Up(enc_conv3.call(enc3), 4);
        var enc = conv_enc.call(e1 + e2 + e3);
        var f1 = Up(fc_conv1.call(fc1), 4);
        var f2 = Up(fc_conv2.call(fc2), 8);
        var f3 = Up(fc_conv3.call(fc3), 16);
        var x = enc + f1 + f2 + f3;
        return Up(x, 4).MoveToOuterDisposeScope();
    }
}
