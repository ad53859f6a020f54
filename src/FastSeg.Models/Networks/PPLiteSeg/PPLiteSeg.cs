using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// PP-LiteSeg (Peng et al., 2022) as the reference builds it: an STDC1/STDC2 backbone trained from scratch
/// (<c>encoder.encoder</c>), a simple pyramid pooling module (SPPM) on the stride-32 feature, and a flexible lightweight
/// decoder (FLD) that fuses the stride-16 and stride-8 features through unified attention fusion modules (UAFM,
/// spatial or channel attention); the head is a 3×3 ConvBNAct to the classes (so the logits pass through BN and ReLU,
/// as in the reference), resized to the input. Any input size works.
/// </summary>
public sealed class PPLiteSeg : SegmentationModel
{
    private readonly PPLiteSegEncoder encoder;
    private readonly PPLiteSegSppm sppm;
    private readonly PPLiteSegDecoder decoder;

    /// <summary>The fusion attention types: "spatial" (default) and "channel".</summary>
    public static readonly string[] FusionTypes = { "spatial", "channel" };

    /// <summary>Creates PP-LiteSeg.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderType">"stdc1" (decoder 32, 64, 128 channels) or "stdc2" (64, 96, 128).</param>
    /// <param name="fusionType">"spatial" or "channel" attention in the UAFMs.</param>
    /// <param name="act">Activation of the SPPM and the head (the backbone and decoder stages always use ReLU, as in the reference).</param>
    public PPLiteSeg(int numClasses, string encoderType = "stdc1", string fusionType = "spatial", string act = "relu")
        : base(nameof(PPLiteSeg), numClasses, 1)
    {
        long[] decoderChannels = encoderType switch
        {
            "stdc1" => new long[] { 32, 64, 128 },
            "stdc2" => new long[] { 64, 96, 128 },
            _ => throw new ArgumentException($"unsupported PP-LiteSeg encoder '{encoderType}'; valid: {string.Join(", ", StdcBackbone.Variants)}", nameof(encoderType)),
        };
        if (!FusionTypes.Contains(fusionType))
            throw new ArgumentException($"unsupported PP-LiteSeg fusion '{fusionType}'; valid: {string.Join(", ", FusionTypes)}", nameof(fusionType));
        var encoderChannels = StdcBackbone.DefaultChannels;
        encoder = new PPLiteSegEncoder(3, encoderChannels, encoderType);
        sppm = new PPLiteSegSppm(encoderChannels[^1], decoderChannels[0], act);
        decoder = new PPLiteSegDecoder(encoderChannels, decoderChannels, numClasses, fusionType, act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var f = encoder.call(input);
        var x5 = sppm.call(f[2]);
        var x = decoder.call(new[] { f[0], f[1], x5 }, size);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>PP-LiteSeg's encoder wrapper: holds the <see cref="StdcBackbone"/> as <c>encoder</c> (hence the keys <c>encoder.encoder.*</c>).</summary>
public sealed class PPLiteSegEncoder : Module<Tensor, Tensor[]>
{
    private readonly StdcBackbone encoder;

    /// <summary>Creates the wrapper.</summary>
    public PPLiteSegEncoder(long inChannels, long[] encoderChannels, string encoderType) : base("Encoder")
    {
        encoder = new StdcBackbone(inChannels, encoderChannels, encoderType);
        RegisterComponents();
    }

    /// <summary>The stride-8, 16 and 32 features; the caller owns them.</summary>
    public override Tensor[] forward(Tensor input) => encoder.ForwardFeatures(input);
}

/// <summary>
/// Simple pyramid pooling: three branches of adaptive average pooling (1, 2, 4) and a 1×1 ConvBNAct to in/4 channels,
/// each resized to the input size (bilinear, align_corners = true) and summed, then a 3×3 conv without bias.
/// </summary>
public sealed class PPLiteSegSppm : Module<Tensor, Tensor>
{
    private readonly Sequential pool1;
    private readonly Sequential pool2;
    private readonly Sequential pool3;
    private readonly Conv2d conv;

    /// <summary>Creates the module.</summary>
    public PPLiteSegSppm(long inChannels, long outChannels, string act) : base("SPPM")
    {
        long hid = inChannels / 4;
        pool1 = Branch(inChannels, hid, 1, act);
        pool2 = Branch(inChannels, hid, 2, act);
        pool3 = Branch(inChannels, hid, 4, act);
        conv = ConvBlocks.Conv3x3(hid, outChannels);
        RegisterComponents();
    }

    private static Sequential Branch(long inChannels, long outChannels, long poolSize, string act) =>
        Sequential(AdaptiveAvgPool2d(poolSize), ConvBlocks.ConvBNAct(inChannels, outChannels, 1, act: act));

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        Tensor Up(Sequential branch) => functional.interpolate(branch.call(input), size, mode: InterpolationMode.Bilinear, align_corners: true);
        var x1 = Up(pool1);
        var x2 = Up(pool2);
        var x3 = Up(pool3);
        return conv.call(x1 + x2 + x3).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// PP-LiteSeg's flexible lightweight decoder (the reference's <c>FLD</c>): 3×3 ConvBNAct on the SPPM output,
/// UAFM with the stride-16 feature, 3×3 ConvBNAct, UAFM with the stride-8 feature, 3×3 ConvBNAct, then the head
/// (3×3 ConvBNAct to the classes) and a resize to the input.
/// </summary>
public sealed class PPLiteSegDecoder : Module<Tensor[], long[], Tensor>
{
    private readonly Sequential stage6;
    private readonly PPLiteSegUafm fusion1;
    private readonly Sequential stage7;
    private readonly PPLiteSegUafm fusion2;
    private readonly Sequential stage8;
    private readonly Sequential seg_head;

    /// <summary>Creates the decoder.</summary>
    public PPLiteSegDecoder(long[] encoderChannels, long[] decoderChannels, long numClasses, string fusionType, string act) : base("FLD")
    {
        stage6 = ConvBlocks.ConvBNAct(decoderChannels[0], decoderChannels[0]);
        fusion1 = new PPLiteSegUafm(encoderChannels[3], decoderChannels[0], fusionType);
        stage7 = ConvBlocks.ConvBNAct(decoderChannels[0], decoderChannels[1]);
        fusion2 = new PPLiteSegUafm(encoderChannels[2], decoderChannels[1], fusionType);
        stage8 = ConvBlocks.ConvBNAct(decoderChannels[1], decoderChannels[2]);
        seg_head = ConvBlocks.ConvBNAct(decoderChannels[2], numClasses, 3, act: act);
        RegisterComponents();
    }

    /// <summary>
    /// Decodes <paramref name="features"/> = [stride-8 feature, stride-16 feature, SPPM output] into logits of
    /// <paramref name="size"/>.
    /// </summary>
    public override Tensor forward(Tensor[] features, long[] size)
    {
        if (features.Length != 3) throw new ArgumentException("the PP-LiteSeg decoder takes three features", nameof(features));
        using var scope = NewDisposeScope();
        var x = stage6.call(features[2]);
        x = fusion1.call(x, features[1]);
        x = stage7.call(x);
        x = fusion2.call(x, features[0]);
        x = stage8.call(x);
        x = seg_head.call(x);
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Unified attention fusion: the low-level feature is projected (1×1 conv) to the high-level feature's channels, the
/// high-level feature is resized to the low-level size, and an attention map α from both gives α·up + (1 − α)·low.
/// </summary>
public sealed class PPLiteSegUafm : Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly Module<Tensor, Tensor, Tensor> attention;

    /// <summary>Creates the module with "spatial" or "channel" attention.</summary>
    public PPLiteSegUafm(long inChannels, long outChannels, string fusionType) : base("UAFM")
    {
        conv = ConvBlocks.Conv1x1(inChannels, outChannels);
        attention = fusionType switch
        {
            "spatial" => new PPLiteSegSpatialAttention(),
            "channel" => new PPLiteSegChannelAttention(outChannels),
            _ => throw new ArgumentException($"unsupported fusion '{fusionType}'; valid: {string.Join(", ", PPLiteSeg.FusionTypes)}", nameof(fusionType)),
        };
        RegisterComponents();
    }

    /// <summary>Fuses the high-level (<paramref name="high"/>) and low-level (<paramref name="low"/>) features.</summary>
    public override Tensor forward(Tensor high, Tensor low)
    {
        using var scope = NewDisposeScope();
        var lowProjected = conv.call(low);
        var up = functional.interpolate(high, low.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        var alpha = attention.call(up, lowProjected);
        return (alpha * up + (1 - alpha) * lowProjected).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// UAFM's spatial attention: the channel mean and channel max of both inputs (4 maps), a 1×1 conv to one map, sigmoid.
/// </summary>
public sealed class PPLiteSegSpatialAttention : Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Creates the module.</summary>
    public PPLiteSegSpatialAttention() : base("SpatialAttentionModule")
    {
        conv = ConvBlocks.Conv1x1(4, 1);
        RegisterComponents();
    }

    /// <summary>The attention map (N, 1, H, W).</summary>
    public override Tensor forward(Tensor up, Tensor low)
    {
        using var scope = NewDisposeScope();
        // amax: the channel maximum without the argmax indices max(dim) also computes (the reference's torch.max(x, 1)[0]).
        var maps = new[] { up.mean(1, keepdim: true), up.amax(new long[] { 1 }, keepdim: true), low.mean(1, keepdim: true), low.amax(new long[] { 1 }, keepdim: true) };
        return conv.call(torch.cat(maps, 1)).sigmoid().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// UAFM's channel attention: global average and global max of both inputs (4C values), a 1×1 conv to C, sigmoid.
/// </summary>
public sealed class PPLiteSegChannelAttention : Module<Tensor, Tensor, Tensor>
{
    private readonly AdaptivePool2d avg_pool;
    private readonly AdaptivePool2d max_pool;
    private readonly Conv2d conv;

    /// <summary>Creates the module for <paramref name="channels"/> channels.</summary>
    public PPLiteSegChannelAttention(long channels) : base("ChannelAttentionModule")
    {
        avg_pool = AdaptiveAvgPool2d(1);
        max_pool = AdaptiveMaxPool2d(1);
        conv = ConvBlocks.Conv1x1(4 * channels, channels);
        RegisterComponents();
    }

    /// <summary>The attention weights (N, C, 1, 1).</summary>
    public override Tensor forward(Tensor up, Tensor low)
    {
        using var scope = NewDisposeScope();
        var maps = new[] { avg_pool.call(up), max_pool.call(up), avg_pool.call(low), max_pool.call(low) };
        return conv.call(torch.cat(maps, 1)).sigmoid().MoveToOuterDisposeScope();
    }
}
