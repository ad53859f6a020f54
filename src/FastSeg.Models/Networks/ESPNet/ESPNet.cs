using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ESPNet (Mehta et al., 2018): efficient spatial pyramid (ESP) modules — a 1×1 reduction split into five dilated 3×3
/// branches whose outputs are summed hierarchically and concatenated. The variants are the paper's ablations, as the
/// reference builds them: "espnet-a" (plain stack), "espnet-b" (+ skip concatenations), "espnet-c" (+ the input image
/// concatenated at 1/2 and 1/4) and "espnet" (the full network: espnet-c plus a decoder of transposed convs and ESP
/// modules). The variants without the decoder resize their 1/8 logits to the input (bilinear, align_corners = true);
/// the input reinforcement resizes the image with align_corners = false, as in the reference.
/// </summary>
public sealed class ESPNet : SegmentationModel
{
    /// <summary>The architecture variants, the reference's default first.</summary>
    public static readonly IReadOnlyList<string> Variants = new[] { "espnet", "espnet-a", "espnet-b", "espnet-c" };

    private readonly Sequential l1_block;
    private readonly ESPNetL2Block l2_block;
    private readonly ESPNetL3Block l3_block;
    private readonly ESPNetDecoder? decoder;

    private readonly bool _reinforce;

    /// <summary>Creates ESPNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="arch">One of <see cref="Variants"/>.</param>
    /// <param name="alpha2">ESP modules repeated at 1/4 resolution.</param>
    /// <param name="alpha3">ESP modules repeated at 1/8 resolution.</param>
    /// <param name="act">Activation of the encoder and of the decoder's transposed convs.</param>
    public ESPNet(int numClasses, string arch = "espnet", int alpha2 = 2, int alpha3 = 8, string act = "prelu")
        : base(nameof(ESPNet), numClasses, arch == "espnet" ? 8 : 1)
    {
        if (!Variants.Contains(arch))
            throw new ArgumentException($"unsupported ESPNet architecture '{arch}'; valid: {string.Join(", ", Variants)}", nameof(arch));
        if (arch == "espnet" && numClasses < 5)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses,
                "ESPNet's decoder splits the classes over five ESP branches, so it needs at least 5 classes (the reference fails too); " +
                "the variants without a decoder (espnet-a/b/c) take any number");
        Arch = arch;
        bool useSkip = arch != "espnet-a";
        _reinforce = arch is "espnet" or "espnet-c";
        bool useDecoder = arch == "espnet";
        // Channels of the three levels; the third is what level 2 hands to level 3 (64 without the skip concatenation).
        long[] blockChannels = { 16, 64, useSkip ? 128 : 64 };

        l1_block = ConvBlocks.ConvBNAct(3, blockChannels[0], 3, 2, act: act);
        l2_block = new ESPNetL2Block(blockChannels[0], blockChannels[1], alpha2, useSkip, _reinforce, act);
        l3_block = new ESPNetL3Block(blockChannels[2], numClasses, alpha3, useSkip, _reinforce, useDecoder, act);
        if (useDecoder) decoder = new ESPNetDecoder(numClasses, 19, 131, act);
        RegisterComponents();
    }

    /// <summary>The architecture variant.</summary>
    public string Arch { get; }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = l1_block.call(input);
        if (_reinforce)
        {
            var half = functional.interpolate(input, x.shape[2..], mode: InterpolationMode.Bilinear, align_corners: false);
            x = torch.cat(new[] { x, half }, 1);
        }
        var xL1 = x;
        x = _reinforce ? l2_block.call(x, input) : l2_block.call(x, null);
        var xL2 = x;
        x = l3_block.call(x);
        x = decoder is not null
            ? decoder.call(x, xL1, xL2)
            : functional.interpolate(x, input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// ESPNet level 2: a stride-2 ESP module, α₂ ESP modules, optionally the concatenation of the first module's output
/// (skip) and of the input image resized to this level (reinforcement, align_corners = false).
/// </summary>
internal sealed class ESPNetL2Block : Module<Tensor, Tensor?, Tensor>
{
    private readonly ESPNetModule conv1;
    private readonly Sequential layers;

    private readonly bool _useSkip;
    private readonly bool _reinforce;

    /// <summary>Creates the level; the reinforced input adds three channels to <paramref name="inChannels"/>.</summary>
    public ESPNetL2Block(long inChannels, long hidChannels, int alpha, bool useSkip, bool reinforce, string act) : base("L2Block")
    {
        _useSkip = useSkip;
        _reinforce = reinforce;
        if (reinforce) inChannels += 3;
        conv1 = new ESPNetModule(inChannels, hidChannels, stride: 2, act: act);
        layers = Sequential(Enumerable.Range(0, alpha).Select(_ => (Module<Tensor, Tensor>)new ESPNetModule(hidChannels, hidChannels, act: act)).ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor? image)
    {
        using var scope = NewDisposeScope();
        var skip = conv1.call(input);
        var x = layers.call(skip);
        if (_useSkip) x = torch.cat(new[] { x, skip }, 1);
        if (_reinforce)
        {
            if (image is null) throw new ArgumentNullException(nameof(image), "the reinforced level 2 needs the input image");
            var quarter = functional.interpolate(image, x.shape[2..], mode: InterpolationMode.Bilinear, align_corners: false);
            x = torch.cat(new[] { x, quarter }, 1);
        }
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// ESPNet level 3: a stride-2 ESP module to 128 channels, α₃ ESP modules, optionally the skip concatenation, and the
/// classifier: 1×1 conv-BN-act with the decoder, else a plain 1×1 conv.
/// </summary>
internal sealed class ESPNetL3Block : Module<Tensor, Tensor>
{
    private readonly ESPNetModule conv1;
    private readonly Sequential layers;
    private readonly Module<Tensor, Tensor> conv_last;

    private readonly bool _useSkip;

    /// <summary>Creates the level; with reinforcement the input has three more channels than <paramref name="inChannels"/>.</summary>
    public ESPNetL3Block(long inChannels, long outChannels, int alpha, bool useSkip, bool reinforce, bool useDecoder, string act) : base("L3Block")
    {
        _useSkip = useSkip;
        if (reinforce) inChannels += 3;
        conv1 = new ESPNetModule(inChannels, 128, stride: 2, act: act);
        layers = Sequential(Enumerable.Range(0, alpha).Select(_ => (Module<Tensor, Tensor>)new ESPNetModule(128, 128, act: act)).ToArray());
        conv_last = useDecoder ? ConvBlocks.ConvBNAct(256, outChannels, 1, act: act)
            : ConvBlocks.Conv1x1(useSkip ? 256 : 128, outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var skip = conv1.call(input);
        var x = layers.call(skip);
        if (_useSkip) x = torch.cat(new[] { x, skip }, 1);
        return conv_last.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The full ESPNet's decoder: ×2 transposed conv of the 1/8 logits, concatenated with a 1×1 projection of level 2's
/// output, an ESP module, again ×2 and with level 1, an ESP module, and a last ×2 transposed conv (BN and ReLU). The
/// level channel counts (19 and 131) are fixed, as in the reference.
/// </summary>
internal sealed class ESPNetDecoder : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly DeConvBNAct upconv_l3;
    private readonly Sequential conv_cat_l2;
    private readonly ESPNetModule conv_l2;
    private readonly DeConvBNAct upconv_l2;
    private readonly Sequential conv_cat_l1;
    private readonly ESPNetModule conv_l1;
    private readonly DeConvBNAct upconv_l1;

    /// <summary>Creates the decoder.</summary>
    public ESPNetDecoder(long numClasses, long l1Channels, long l2Channels, string act) : base("Decoder")
    {
        upconv_l3 = new DeConvBNAct(numClasses, numClasses, act: act);
        conv_cat_l2 = ConvBlocks.ConvBNAct(l2Channels, numClasses, 1);
        conv_l2 = new ESPNetModule(2 * numClasses, numClasses);
        upconv_l2 = new DeConvBNAct(numClasses, numClasses, act: act);
        conv_cat_l1 = ConvBlocks.ConvBNAct(l1Channels, numClasses, 1);
        conv_l1 = new ESPNetModule(2 * numClasses, numClasses);
        upconv_l1 = new DeConvBNAct(numClasses, numClasses);
        RegisterComponents();
    }

    /// <summary>Decodes the 1/8 logits <paramref name="input"/> with the level 1 and level 2 features.</summary>
    public override Tensor forward(Tensor input, Tensor l1, Tensor l2)
    {
        using var scope = NewDisposeScope();
        var x = upconv_l3.call(input);
        x = conv_l2.call(torch.cat(new[] { x, conv_cat_l2.call(l2) }, 1));
        x = upconv_l2.call(x);
        x = conv_l1.call(torch.cat(new[] { x, conv_cat_l1.call(l1) }, 1));
        return upconv_l1.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The ESP module: 1×1 reductions (strided when the module downsamples) to n = out / K channels (and to the remainder
/// n₁ = out − (K − 1)·n for the first branch when it differs), K 3×3 conv-BN-act branches with dilations 1, 2, 4, …,
/// hierarchical sums (from the second branch, or the third when the first has n₁ ≠ n channels), concatenation, and the
/// input added back when shapes agree.
/// </summary>
internal sealed class ESPNetModule : Module<Tensor, Tensor>
{
    private readonly Conv2d conv_kn;
    private readonly Conv2d? conv_k1;
    private readonly ModuleList<Sequential> layers;

    private readonly int _k;
    private readonly bool _useSkip;

    /// <summary>Creates the module.</summary>
    public ESPNetModule(long inChannels, long outChannels, int K = 5, long kernel = 3, long stride = 1, string act = "prelu") : base("ESPModule")
    {
        _k = K;
        _useSkip = inChannels == outChannels && stride == 1;
        long n = outChannels / K;
        long n1 = outChannels - (K - 1) * n;
        conv_kn = ConvBlocks.Conv1x1(inChannels, n, stride);
        if (n1 != n) conv_k1 = ConvBlocks.Conv1x1(inChannels, n1, stride);
        layers = ModuleList<Sequential>();
        for (int k = 0; k < K; k++)
        {
            long channels = k == 0 ? n1 : n;
            layers.append(ConvBlocks.ConvBNAct(channels, channels, kernel, 1, 1L << k, act: act));
        }
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var reduced = conv_kn.call(input);
        var first = conv_k1 is null ? reduced : conv_k1.call(input);
        var feats = new Tensor[_k];
        feats[0] = layers[0].call(first);
        for (int i = 1; i < _k; i++) feats[i] = layers[i].call(reduced);
        // The reference adds in place, so each branch accumulates all earlier (equal-width) ones.
        for (int j = conv_k1 is null ? 1 : 2; j < _k; j++) feats[j] = feats[j] + feats[j - 1];
        var x = torch.cat(feats, 1);
        if (_useSkip) x = x + input;
        return x.MoveToOuterDisposeScope();
    }
}
