using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// MiniNet-v2 (Alonso, Riazuelo and Murillo, IEEE T-RO 2020): two ENet-style downsampling units (strided conv beside
/// a max pool) to 1/4 and 64 channels, ten multi-dilation depthwise-separable modules, a third downsampling unit to
/// 1/8 and 128 channels, one module per entry of <c>feat_dt</c> (its dilation), a ×2 transposed conv back to 1/4
/// plus a refinement branch (a second, separate pair of downsampling units applied to the image), four more modules
/// and a ×2 transposed conv to the classes at 1/2, resized to the input (bilinear, align_corners = true). Height and
/// width must be multiples of 8.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: a module of dilation 1 is a plain depthwise-separable conv, one of dilation d &gt; 1
/// adds a second, dilated depthwise conv beside the first; the pointwise conv has a bias before its batch norm; the
/// logits come from a transposed conv followed by batch norm and the activation. The reference creates some
/// activations with <c>inplace=True</c>, so its constructor fails for PReLU, GELU, Sigmoid, Softmax and Tanh; the
/// <c>act_type</c> option offers the others (<see cref="InplaceActivations"/>; 'glu' is left out: it halves the
/// channels). The reference adds the dilated branch and the refinement branch in place on activation outputs, which
/// makes its own backward pass fail with ReLU under PyTorch 1.13; here the sums are out of place, with the same values.
/// </remarks>
public sealed class MiniNetv2 : SegmentationModel
{
    /// <summary>The reference's default dilations of the 1/8 modules (<c>feat_dt</c>).</summary>
    public static readonly int[] DefaultDilations = { 1, 2, 1, 4, 1, 8, 1, 16, 1, 1, 1, 2, 1, 4, 1, 8 };

    private readonly Sequential d1_2;
    private readonly Sequential @ref;
    private readonly Sequential m1_10;
    private readonly InitialBlock d3;
    private readonly Sequential feature_extractor;
    private readonly DeConvBNAct up1;
    private readonly Sequential m26_29;
    private readonly DeConvBNAct output;

    /// <summary>Creates MiniNet-v2.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="featDilations">Dilation of each module at 1/8 (the reference's <c>feat_dt</c>; its length is the module count).</param>
    /// <param name="act">Activation (the reference's <c>act_type</c>; one of <see cref="InplaceActivations.OptionValues"/>).</param>
    public MiniNetv2(int numClasses, int[]? featDilations = null, string act = "relu") : base(nameof(MiniNetv2), numClasses, 8)
    {
        featDilations ??= DefaultDilations;
        if (featDilations.Length == 0 || featDilations.Any(d => d < 1))
            throw new ArgumentException("MiniNetv2's feat_dt needs one or more dilations, each at least 1", nameof(featDilations));
        InplaceActivations.Check(nameof(MiniNetv2), act);
        d1_2 = Sequential(new InitialBlock(3, 16, act), new InitialBlock(16, 64, act));
        @ref = Sequential(new InitialBlock(3, 16, act), new InitialBlock(16, 64, act));
        m1_10 = Modules(64, Enumerable.Repeat(1, 10), act);
        d3 = new InitialBlock(64, 128, act);
        feature_extractor = Modules(128, featDilations, act);
        up1 = new DeConvBNAct(128, 64, act: act);
        m26_29 = Modules(64, Enumerable.Repeat(1, 4), act);
        output = new DeConvBNAct(64, numClasses, act: act);
        RegisterComponents();
    }

    private static Sequential Modules(long channels, IEnumerable<int> dilations, string act) =>
        Sequential(dilations.Select(d => (Module<Tensor, Tensor>)new MiniNetv2MultiDilationDSConv(channels, channels, d, act)).ToArray());

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var refined = @ref.call(input);
        var x = m1_10.call(d1_2.call(input));
        x = feature_extractor.call(d3.call(x));
        x = up1.call(x) + refined;
        x = output.call(m26_29.call(x));
        x = functional.interpolate(x, input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Multi-dilation depthwise-separable conv: depthwise 3×3 ConvBNAct, plus (when the dilation exceeds 1) a second
/// depthwise 3×3 ConvBNAct with that dilation, then a pointwise ConvBNAct with bias.
/// </summary>
internal sealed class MiniNetv2MultiDilationDSConv : Module<Tensor, Tensor>
{
    private readonly Sequential dw_conv;
    private readonly Sequential pw_conv;
    private readonly Sequential? ddw_conv;

    public MiniNetv2MultiDilationDSConv(long inChannels, long outChannels, long dilation, string act) : base("MultiDilationDSConv")
    {
        dw_conv = ConvBlocks.DWConvBNAct(inChannels, inChannels, 3, 1, 1, act);
        pw_conv = ConvBlocks.PWConvBNAct(inChannels, outChannels, act, inplace: true);
        if (dilation > 1) ddw_conv = ConvBlocks.DWConvBNAct(inChannels, inChannels, 3, 1, dilation, act, inplace: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (ddw_conv is null)
        {
            using var dw = dw_conv.call(input);
            return pw_conv.call(dw);
        }
        using var scope = NewDisposeScope();
        var sum = dw_conv.call(input) + ddw_conv.call(input);
        return pw_conv.call(sum).MoveToOuterDisposeScope();
    }
}
