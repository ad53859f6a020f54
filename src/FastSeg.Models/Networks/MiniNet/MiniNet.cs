using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// MiniNet (Alonso, Riazuelo and Murillo, ICRA 2019): four strided depthwise-separable convs (12, 24, 48, 96 channels,
/// down to 1/16), then two branches: one of four depthwise factorised modules at 1/16 (dilations 1, 2, 4, 8), and one
/// that goes down to 1/32 and 1/64 and comes back with transposed convs. Both branches and the 1/16 features are
/// concatenated and a decoder of transposed convs (each ×2) with skip concatenations of the 1/8, 1/4 and 1/2 features
/// returns to the input size. Height and width must be multiples of 64.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: the 1/64 stage has 386 channels (not 384); the depthwise factorised modules have
/// neither bias nor batch norm, and drop out 25 % of their elements (plain Dropout) in training; the first separable
/// conv's depthwise part runs on the three image channels; the logits come from a transposed conv followed by batch
/// norm and the activation. The activation (<c>act_type</c>, default selu) may be any of the reference's except
/// 'glu', which halves the channels and breaks the network.
/// </remarks>
public sealed class MiniNet : SegmentationModel
{
    private readonly Sequential down1;
    private readonly Sequential down2;
    private readonly Sequential down3;
    private readonly Sequential down4;
    private readonly Sequential branch1;
    private readonly Sequential branch2_down;
    private readonly Sequential branch2;
    private readonly DeConvBNAct branch2_up;
    private readonly Sequential up4;
    private readonly DeConvBNAct up3;
    private readonly DeConvBNAct up2;
    private readonly DeConvBNAct up1;

    /// <summary>Creates MiniNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="act">Activation (the reference's <c>act_type</c>).</param>
    public MiniNet(int numClasses, string act = "selu") : base(nameof(MiniNet), numClasses, 64)
    {
        down1 = ConvBlocks.DSConvBNAct(3, 12, 3, 2, act: act);
        down2 = ConvBlocks.DSConvBNAct(12, 24, 3, 2, act: act);
        down3 = ConvBlocks.DSConvBNAct(24, 48, 3, 2, act: act);
        down4 = ConvBlocks.DSConvBNAct(48, 96, 3, 2, act: act);
        branch1 = Sequential(
            new MiniNetConvModule(96, 1, act),
            new MiniNetConvModule(96, 2, act),
            new MiniNetConvModule(96, 4, act),
            new MiniNetConvModule(96, 8, act));
        branch2_down = ConvBlocks.DSConvBNAct(96, 192, 3, 2, act: act);
        branch2 = Sequential(
            new MiniNetConvModule(192, 1, act),
            ConvBlocks.DSConvBNAct(192, 386, 3, 2, act: act),
            new MiniNetConvModule(386, 1, act),
            new MiniNetConvModule(386, 1, act),
            new DeConvBNAct(386, 192, act: act),
            new MiniNetConvModule(192, 1, act));
        branch2_up = new DeConvBNAct(192 * 2, 96, act: act);
        up4 = Sequential(
            new DeConvBNAct(96 * 3, 96, act: act),
            new MiniNetConvModule(96, 1, act),
            ConvBlocks.Conv1x1(96, 48));
        up3 = new DeConvBNAct(48 * 2, 24, act: act);
        up2 = new DeConvBNAct(24 * 2, 12, act: act);
        up1 = new DeConvBNAct(12 * 2, numClasses, act: act);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var d1 = down1.call(input);
        var d2 = down2.call(d1);
        var d3 = down3.call(d2);
        var d4 = down4.call(d3);
        var b1 = branch1.call(d4);
        var d5 = branch2_down.call(d4);
        var b2 = branch2_up.call(torch.cat(new[] { branch2.call(d5), d5 }, 1));
        var x = up4.call(torch.cat(new[] { b1, b2, d4 }, 1));
        x = up3.call(torch.cat(new[] { x, d3 }, 1));
        x = up2.call(torch.cat(new[] { x, d2 }, 1));
        x = up1.call(torch.cat(new[] { x, d1 }, 1));
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// MiniNet's depthwise factorised module (no bias, no batch norm): conv1 = depthwise 1×3, act, depthwise 3×1, act;
/// conv2 = depthwise 3×1, act, depthwise 1×3 (all dilated); out = act(dropout(conv2(y) + y) + x) with y = conv1(x).
/// </summary>
internal sealed class MiniNetConvModule : Module<Tensor, Tensor>
{
    private readonly Sequential conv1;
    private readonly Sequential conv2;
    private readonly Dropout dropout;
    private readonly Activation act;

    public MiniNetConvModule(long channels, long dilation, string actType) : base("ConvModule")
    {
        conv1 = Sequential(
            Row(channels, dilation), new Activation(actType),
            Column(channels, dilation), new Activation(actType));
        conv2 = Sequential(
            Column(channels, dilation), new Activation(actType),
            Row(channels, dilation));
        dropout = Dropout(0.25);
        act = new Activation(actType);
        RegisterComponents();
    }

    private static Conv2d Row(long channels, long dilation) =>
        Conv2d(channels, channels, new long[] { 1, 3 }, padding: new long[] { 0, dilation }, dilation: new[] { dilation }, groups: channels, bias: false);

    private static Conv2d Column(long channels, long dilation) =>
        Conv2d(channels, channels, new long[] { 3, 1 }, padding: new long[] { dilation, 0 }, dilation: new[] { dilation }, groups: channels, bias: false);

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = conv1.call(input);
        var x = dropout.call(conv2.call(y) + y);
        return act.call(x + input).MoveToOuterDisposeScope();
    }
}
