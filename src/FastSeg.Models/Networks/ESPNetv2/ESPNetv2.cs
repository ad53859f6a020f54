using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// ESPNetv2 (Mehta et al., CVPR 2019) as the reference builds it for segmentation: a strided 3×3 ConvBNAct to 32
/// channels, then EESP units (a grouped 1×1 reduction to a quarter of the channels, four depthwise-separable 3×3
/// branches dilated 1, 2, 4, 8 whose outputs are summed hierarchically and concatenated, and a grouped 1×1 merge).
/// Strided units (to 1/4, 1/8 and 1/16) double the channels by concatenating an average-pooled copy of their input
/// and add a projection of the image average-pooled to the same size; <c>alpha3</c> units follow at 1/8 and
/// <c>alpha4</c> at 1/16. The 1/16 features are resized to 1/8, reduced by a 1×1 ConvBNAct (ReLU), concatenated with
/// the 1/8 features, then pass through pyramid pooling and a SegHead; the logits are resized to the input (bilinear,
/// align_corners = true). Any input size works.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: its <c>K</c> argument is accepted and ignored (every EESP unit has four
/// branches); the 1×1 reduction after the deepest stage and the 3×3 conv on the image inside strided units use ReLU
/// whatever <c>act_type</c> is; the image projection is a plain 1×1 conv without batch norm; the pyramid pooling's
/// final 1×1 conv has a bias. The activation (<c>act_type</c>, default prelu) may be any of the reference's except
/// 'glu', which halves the channels and breaks the network.
/// </remarks>
public sealed class ESPNetv2 : SegmentationModel
{
    private readonly Sequential l1_block;
    private readonly ESPNetv2EESP l2_block;
    private readonly ESPNetv2EESP l3_block1;
    private readonly Sequential l3_block2;
    private readonly ESPNetv2EESP l4_block1;
    private readonly Sequential l4_block2;
    private readonly Sequential convl4_l3;
    private readonly PyramidPoolingModule ppm;
    private readonly Sequential decoder;

    /// <summary>Creates ESPNetv2.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="alpha3">EESP units after the unit that reaches 1/8 (the reference's <c>alpha3</c>).</param>
    /// <param name="alpha4">EESP units after the unit that reaches 1/16 (the reference's <c>alpha4</c>).</param>
    /// <param name="act">Activation (the reference's <c>act_type</c>).</param>
    public ESPNetv2(int numClasses, int alpha3 = 3, int alpha4 = 7, string act = "prelu") : base(nameof(ESPNetv2), numClasses, 1)
    {
        if (alpha3 < 0) throw new ArgumentOutOfRangeException(nameof(alpha3), alpha3, "ESPNetv2's alpha3 cannot be negative");
        if (alpha4 < 0) throw new ArgumentOutOfRangeException(nameof(alpha4), alpha4, "ESPNetv2's alpha4 cannot be negative");
        l1_block = ConvBlocks.ConvBNAct(3, 32, 3, 2, act: act);
        l2_block = new ESPNetv2EESP(32, 2, act);
        l3_block1 = new ESPNetv2EESP(64, 2, act);
        l3_block2 = Repeat(128, alpha3, act);
        l4_block1 = new ESPNetv2EESP(128, 2, act);
        l4_block2 = Repeat(256, alpha4, act);
        convl4_l3 = ConvBlocks.ConvBNAct(256, 128, 1);
        ppm = new PyramidPoolingModule(256, 256, act, bias: true);
        decoder = ConvBlocks.SegHead(256, numClasses, act);
        RegisterComponents();
    }

    private static Sequential Repeat(long channels, int count, string act) =>
        Sequential(Enumerable.Range(0, count).Select(_ => (Module<Tensor, Tensor>)new ESPNetv2EESP(channels, 1, act)).ToArray());

    internal static Tensor Pool(Tensor x) =>
        functional.avg_pool2d(x, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 });

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var d4 = Pool(Pool(input));
        var d8 = Pool(d4);
        var d16 = Pool(d8);
        var x = l1_block.call(input);
        x = l2_block.call(x, d4);
        x = l3_block1.call(x, d8);
        var x3 = l3_block2.call(x);
        x = l4_block1.call(x3, d16);
        x = l4_block2.call(x);
        x = functional.interpolate(x, x3.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        x = torch.cat(new[] { convl4_l3.call(x), x3 }, 1);
        x = decoder.call(ppm.call(x));
        x = functional.interpolate(x, input.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// ESPNetv2's EESP unit with four branches: grouped (4) 1×1 conv C → C/4 without bias or BN; four
/// <see cref="ConvBlocks.DSConvBNAct"/> 3×3 branches (dilations 1, 2, 4, 8, with the unit's stride); each branch's
/// output plus the running sum of the earlier ones; concatenation; grouped (4) 1×1 conv C → C. At stride 1 the input
/// is added; at stride 2 the input, average-pooled (3, 2, 1), is concatenated (2C channels) and a projection of the
/// downsampled image (3×3 ConvBNAct with ReLU on its three channels, then a 1×1 conv to 2C) is added.
/// </summary>
internal sealed class ESPNetv2EESP : Module<Tensor, Tensor>
{
    private const int Branches = 4;

    private readonly Conv2d conv_init;
    private readonly ModuleList<Sequential> layers;
    private readonly Conv2d conv_last;
    private readonly Sequential? conv_stride;

    private readonly bool _strided;

    public ESPNetv2EESP(long channels, long stride, string act) : base("EESPModule")
    {
        long branch = channels / Branches;
        _strided = stride != 1;
        conv_init = Conv2d(channels, branch, 1, groups: Branches, bias: false);
        layers = ModuleList<Sequential>();
        for (int k = 0; k < Branches; k++)
            layers.append(ConvBlocks.DSConvBNAct(branch, branch, 3, stride, 1L << k, act));
        conv_last = Conv2d(channels, channels, 1, groups: Branches, bias: false);
        // The reference's stride-2 unit also owns an AvgPool2d ("pool"), which has no state.
        if (_strided) conv_stride = Sequential(ConvBlocks.ConvBNAct(3, 3, 3), ConvBlocks.Conv1x1(3, 2 * channels));
        RegisterComponents();
    }

    /// <summary>A unit of stride 1.</summary>
    public override Tensor forward(Tensor input) =>
        _strided ? throw new InvalidOperationException("a strided EESP unit needs the downsampled image") : Compute(input, null);

    /// <summary>A strided unit, with the image average-pooled to its output size.</summary>
    public Tensor call(Tensor input, Tensor image) =>
        _strided ? Compute(input, image) : throw new InvalidOperationException("an EESP unit of stride 1 takes no image");

    private Tensor Compute(Tensor input, Tensor? image)
    {
        using var scope = NewDisposeScope();
        var reduced = conv_init.call(input);
        var outputs = new Tensor[Branches];
        for (int k = 0; k < Branches; k++)
        {
            outputs[k] = layers[k].call(reduced);
            if (k > 0) outputs[k] = outputs[k] + outputs[k - 1];
        }
        var x = conv_last.call(torch.cat(outputs, 1));
        if (!_strided) return (x + input).MoveToOuterDisposeScope();
        x = torch.cat(new[] { x, ESPNetv2.Pool(input) }, 1);
        return (x + conv_stride!.call(image!)).MoveToOuterDisposeScope();
    }
}
