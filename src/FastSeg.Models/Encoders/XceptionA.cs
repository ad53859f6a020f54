using FastSeg.Torch;
using FastSeg.Torch.Modules;
using FastSeg.Models.Blocks;
using static FastSeg.Models.Blocks.FastSegOperators;
using static FastSeg.Models.Blocks.FastSegOperatorsB;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>
/// XceptionA, the DFANet backbone as lxtGH/Fast_Seg defines it (<c>libs/models/backbone/xception.py</c>), with its
/// state-dict names so that Fast_Seg's <c>xceptiona_imagenet.pth</c> loads: <c>conv1</c> [3×3 s2 conv 3→8, BN, ReLU]
/// (1/2), <c>enc2</c> (8→48, 4 blocks, 1/4), <c>enc3</c> (48→96, 6 blocks, 1/8), <c>enc4</c> (96→192, 4 blocks,
/// 1/16), the attention <c>fca</c>, and the ImageNet classifier <c>fc</c> (192→1000), which DFANet keeps in its state
/// dict but never runs. DFANet calls the stages one by one
/// (<see cref="Stem"/>, <see cref="Enc2"/>, ...), as Fast_Seg's DFANet does.
/// </summary>
public sealed class XceptionA : Module<Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly XceptionAEnc enc2;
    private readonly XceptionAEnc enc3;
    private readonly XceptionAEnc enc4;
    private readonly XceptionAFCAttention fca;
    private readonly AdaptivePool2d avgpool;
    private readonly Linear fc;

    /// <summary>Creates the backbone.</summary>
    /// <param name="numClasses">Outputs of the (unused) ImageNet classifier.</param>
    public XceptionA(long numClasses = 1000) : base(nameof(XceptionA))
    {
        conv1 = Sequential(Conv2d(3, 8, 3, stride: 2, padding: 1, bias: false), BatchNorm2d(8), ReLU());
        enc2 = new XceptionAEnc(8, 48, 4);
        enc3 = new XceptionAEnc(48, 96, 6);
        enc4 = new XceptionAEnc(96, 192, 4);
        fca = new XceptionAFCAttention(192);
        avgpool = AdaptiveAvgPool2d(1);
        fc = Linear(192, numClasses);
        RegisterComponents();
    }

    /// <summary>The names of the ImageNet classifier's parameters, which DFANet never uses.</summary>
    public static readonly string[] ClassifierParameters = { "fc.weight", "fc.bias" };

    /// <summary><c>conv1</c>: 3×3 s2 conv, BN, ReLU (8 channels at 1/2).</summary>
    public Sequential Stem => conv1;

    /// <summary><c>enc2</c>: 48 channels at 1/4.</summary>
    public XceptionAEnc Enc2 => enc2;

    /// <summary><c>enc3</c>: 96 channels at 1/8.</summary>
    public XceptionAEnc Enc3 => enc3;

    /// <summary><c>enc4</c>: 192 channels at 1/16.</summary>
    public XceptionAEnc Enc4 => enc4;

    /// <summary><c>fca</c>: the fc-attention on enc4's output.</summary>
    public XceptionAFCAttention Fca => fca;

    /// <summary>The ImageNet classifier's forward (Fast_Seg's <c>XceptionA.forward</c>): the stages, global average pool, <c>fc</c>.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = fca.call(enc4.call(enc3.call(enc2.call(conv1.call(input)))));
        return fc.call(avgpool.call(x).flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// XceptionA's encoder stage <c>Enc</c>: a Sequential <c>block</c> of one stride-2 <see cref="XceptionABlockA"/>
/// (in → out) and (n − 1) stride-1 ones (out → out).
/// </summary>
public sealed class XceptionAEnc : Module<Tensor, Tensor>
{
    private readonly Sequential block;

    /// <summary>Creates the stage.</summary>
    public XceptionAEnc(long inChannels, long outChannels, int blocks) : base("Enc")
    {
        block = Sequential(new XceptionABlockA(inChannels, outChannels, 2));
        for (int i = 1; i < blocks; i++) block.append(new XceptionABlockA(outChannels, outChannels, 1));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => block.call(input);
}

/// <summary>
/// XceptionA's <c>BlockA</c>: <c>rep</c> = [ReLU, SeparableConv2d in → out/4, BN, ReLU, SeparableConv2d out/4 → out/4,
/// BN, ReLU, SeparableConv2d out/4 → out (carrying the stride), BN] (indices 0..8; each separable conv has its own
/// inner BN, so there are two per conv), plus the shortcut: a 1×1 conv with the stride (<c>skip</c>, no bias) and BN
/// (<c>skipbn</c>) when the shape changes, else the input itself. The block starts with a ReLU (not in place, so the
/// shortcut sees the unrectified input) and has no activation after the sum. Fast_Seg registers the shortcut
/// before <c>rep</c>, so its keys come first.
/// </summary>
public sealed class XceptionABlockA : Module<Tensor, Tensor>
{
    private readonly Conv2d? skip;
    private readonly BatchNorm2d? skipbn;
    private readonly Sequential rep;

    /// <summary>Creates the block.</summary>
    public XceptionABlockA(long inChannels, long outChannels, long stride = 1, long dilation = 1) : base("BlockA")
    {
        if (outChannels != inChannels || stride != 1)
        {
            skip = Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
            skipbn = BatchNorm2d(outChannels);
        }
        long inter = outChannels / 4;
        rep = Sequential(
            ReLU(),
            new SeparableConv2d(inChannels, inter, 3, 1, dilation),
            BatchNorm2d(inter),
            ReLU(),
            new SeparableConv2d(inter, inter, 3, 1, dilation),
            BatchNorm2d(inter),
            ReLU(),
            new SeparableConv2d(inter, outChannels, 3, stride),
            BatchNorm2d(outChannels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = rep.call(input);
        var shortcut = skip is null ? input : skipbn!.call(skip.call(input));
        return (x + shortcut).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// XceptionA's <c>FCAttention</c>: global average pool, <c>fc</c> (Linear C → 1000), reshaped to 1000×1×1, <c>conv</c>
/// = [1×1 conv 1000 → C (no bias), BN, ReLU], multiplied into the input. There is no sigmoid (as in Fast_Seg). The BN
/// normalises 1×1 maps over the batch, so training needs a batch of at least 2.
/// </summary>
public sealed class XceptionAFCAttention : Module<Tensor, Tensor>
{
    private readonly AdaptivePool2d avgpool;
    private readonly Linear fc;
    private readonly Sequential conv;
    private readonly long _channels;

    /// <summary>Creates the attention for <paramref name="channels"/> channels.</summary>
    public XceptionAFCAttention(long channels) : base("FCAttention")
    {
        _channels = channels;
        avgpool = AdaptiveAvgPool2d(1);
        fc = Linear(channels, 1000);
        conv = Sequential(Conv2d(1000, channels, 1, bias: false), BatchNorm2d(channels), ReLU());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        RequireBatchForPooledNorm(this, input, "XceptionA's fc-attention");
        using var scope = NewDisposeScope();
        long n = input.shape[0];
        var attention = fc.call(avgpool.call(input).view(n, _channels)).view(n, 1000, 1, 1);
        attention = conv.call(attention);
        return (input * attention).MoveToOuterDisposeScope();
    }
}
