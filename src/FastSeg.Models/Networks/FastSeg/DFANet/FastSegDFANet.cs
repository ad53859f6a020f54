using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using FastSeg.Models.Blocks;
using static FastSeg.Models.Blocks.FastSegOperators;
using static FastSeg.Models.Blocks.FastSegOperatorsB;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// lxtGH/Fast_Seg's DFANet (<c>libs/models/DFANet.py</c>; Li et al., CVPR 2019), with Fast_Seg's state-dict layout so
/// that its checkpoints load. It differs from the zoo's zh320 <c>dfanet</c> (other block, pooling and decoder).
/// <list type="bullet">
/// <item>Stage 1 is the <see cref="XceptionA"/> <c>backbone</c>: conv1 → enc2 (48@1/4) → enc3 (96@1/8) → enc4
/// (192@1/16) → fca; the attended map upsampled ×4 (192@1/4) feeds stage 2 and <c>dsn1</c>.</item>
/// <item>Stage 2 (<c>enc2_2</c>, <c>enc3_2</c>, <c>enc4_2</c>, <c>fca_2</c>): each encoder takes stage 1's map of its
/// level concatenated with the map below it: enc2_2(cat[s1.enc2, s1.out]) → 48@1/8, enc3_2(cat[s1.enc3, s2.enc2]) →
/// 96@1/16, enc4_2(cat[s1.enc4, s2.enc3]) → 192@1/32, then fca_2 and ×4 → 192@1/8 (feeds stage 3 and
/// <c>dsn2</c>).</item>
/// <item>Stage 3 likewise (<c>enc2_3</c>, <c>enc3_3</c>, <c>enc3_4</c> (sic: Fast_Seg's name for the third encoder),
/// <c>fca_3</c>) → 48@1/16, 96@1/32, 192@1/64.</item>
/// <item>Decoder: the three enc2 maps through 1×1 FastSegConvBnRelu 48→32 (<c>enc2_k_reduce</c>), upsampled ×1/×2/×4 to 1/4,
/// summed, <c>conv_fusion</c> (1×1 FastSegConvBnRelu 32→32); plus the three attended maps through 1×1 FastSegConvBnRelu 192→32
/// (<c>fca_k_reduce</c>) upsampled ×4/×8/×16; <c>conv_out</c> (1×1 with bias) gives the logits at 1/4.</item>
/// <item><c>dsn1</c>, <c>dsn2</c>: Fast_Seg's <see cref="Dsn"/> heads (192 → classes) on the upsampled stage-1 and
/// stage-2 attended maps (1/4 and 1/8).</item>
/// </list>
/// Resizes are bilinear with align_corners = true, by scale factor as in Fast_Seg, so H and W must be multiples of 64.
/// <para>Kept quirks: the backbone's unused ImageNet classifier (<c>backbone.fc</c>, 193,000 parameters) is in the state
/// dict; the fc-attention has no sigmoid and normalises 1×1 maps over the batch (training needs a batch of at least 2;
/// PyTorch refuses one, so does this port); BlockA has no activation after its sum; every separable conv carries its
/// own inner BN; the dsn heads hold Dropout2d(0.1).</para>
/// <para>Deviations from Fast_Seg's behaviour: Fast_Seg returns [main@1/4, dsn1@1/4, dsn2@1/8] in train and eval
/// alike; the zoo returns the main logits resized to the input (bilinear, align_corners = true, as Fast_Seg's
/// CriterionDFANet and val.py resize them) and, only in training mode with aux enabled,
/// <see cref="SegmentationOutput.Aux"/> = [dsn1@1/4, dsn2@1/8] unresized (loss weights 0.4 each, as in
/// CriterionDFANet). The dsn heads always exist (they are in Fast_Seg's state dict) but run only then: in eval, or in
/// training without aux, they are skipped (Fast_Seg computes them in every pass, which changes no returned logits;
/// their batch-norm statistics are then not updated). Fast_Seg's registry cannot build DFANet (not imported), so its
/// train_dfanet.sh fails; the zoo registers it.</para>
/// </summary>
public sealed class FastSegDFANet : SegmentationModel
{
    private readonly XceptionA backbone;
    private readonly XceptionAEnc enc2_2;
    private readonly XceptionAEnc enc3_2;
    private readonly XceptionAEnc enc4_2;
    private readonly XceptionAFCAttention fca_2;
    private readonly XceptionAEnc enc2_3;
    private readonly XceptionAEnc enc3_3;
    private readonly XceptionAEnc enc3_4;
    private readonly XceptionAFCAttention fca_3;
    private readonly FastSegConvBnRelu enc2_1_reduce;
    private readonly FastSegConvBnRelu enc2_2_reduce;
    private readonly FastSegConvBnRelu enc2_3_reduce;
    private readonly FastSegConvBnRelu conv_fusion;
    private readonly FastSegConvBnRelu fca_1_reduce;
    private readonly FastSegConvBnRelu fca_2_reduce;
    private readonly FastSegConvBnRelu fca_3_reduce;
    private readonly Conv2d conv_out;
    private readonly Sequential dsn1;
    private readonly Sequential dsn2;

    private readonly bool _aux;

    /// <summary>Creates DFANet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="aux">Return the dsn heads' logits in training mode.</param>
    public FastSegDFANet(int numClasses, bool aux = false) : base(nameof(FastSegDFANet), numClasses, 64)
    {
        _aux = aux;
        backbone = new XceptionA();
        enc2_2 = new XceptionAEnc(240, 48, 4);
        enc3_2 = new XceptionAEnc(144, 96, 6);
        enc4_2 = new XceptionAEnc(288, 192, 4);
        fca_2 = new XceptionAFCAttention(192);
        enc2_3 = new XceptionAEnc(240, 48, 4);
        enc3_3 = new XceptionAEnc(144, 96, 6);
        enc3_4 = new XceptionAEnc(288, 192, 4);
        fca_3 = new XceptionAFCAttention(192);
        enc2_1_reduce = new FastSegConvBnRelu(48, 32, 1);
        enc2_2_reduce = new FastSegConvBnRelu(48, 32, 1);
        enc2_3_reduce = new FastSegConvBnRelu(48, 32, 1);
        conv_fusion = new FastSegConvBnRelu(32, 32, 1);
        fca_1_reduce = new FastSegConvBnRelu(192, 32, 1);
        fca_2_reduce = new FastSegConvBnRelu(192, 32, 1);
        fca_3_reduce = new FastSegConvBnRelu(192, 32, 1);
        conv_out = Conv2d(32, numClasses, 1);
        dsn1 = Dsn(192, numClasses);
        dsn2 = Dsn(192, numClasses);
        RegisterComponents();
    }

    /// <summary>Parameters in the state dict that the forward pass never uses (the backbone's ImageNet classifier).</summary>
    public static readonly string[] UnusedParameters = XceptionA.ClassifierParameters.Select(p => "backbone." + p).ToArray();

    private static Tensor Cat(Tensor a, Tensor b) => torch.cat(new[] { a, b }, 1);

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        RequireBatchForPooledNorm(this, input, "DFANet's fc-attention");
        using var scope = NewDisposeScope();
        var s1e2 = backbone.Enc2.call(backbone.Stem.call(input));
        var s1e3 = backbone.Enc3.call(s1e2);
        var s1e4 = backbone.Enc4.call(s1e3);
        var s1fca = backbone.Fca.call(s1e4);
        var s1out = UpsampleBy(s1fca, 4);

        var s2e2 = enc2_2.call(Cat(s1e2, s1out));
        var s2e3 = enc3_2.call(Cat(s1e3, s2e2));
        var s2e4 = enc4_2.call(Cat(s1e4, s2e3));
        var s2fca = fca_2.call(s2e4);
        var s2out = UpsampleBy(s2fca, 4);

        var s3e2 = enc2_3.call(Cat(s2e2, s2out));
        var s3e3 = enc3_3.call(Cat(s2e3, s3e2));
        var s3e4 = enc3_4.call(Cat(s2e4, s3e3));
        var s3fca = fca_3.call(s3e4);

        var fusion = enc2_1_reduce.call(s1e2) + UpsampleBy(enc2_2_reduce.call(s2e2), 2) + UpsampleBy(enc2_3_reduce.call(s3e2), 4);
        fusion = conv_fusion.call(fusion);
        fusion = fusion + UpsampleBy(fca_1_reduce.call(s1fca), 4) + UpsampleBy(fca_2_reduce.call(s2fca), 8) + UpsampleBy(fca_3_reduce.call(s3fca), 16);
        var logits = Upsample(conv_out.call(fusion), input.shape[2..]).MoveToOuterDisposeScope();
        if (!training || !_aux) return new SegmentationOutput(logits);
        var aux = new[] { dsn1.call(s1out).MoveToOuterDisposeScope(), dsn2.call(s2out).MoveToOuterDisposeScope() };
        return new SegmentationOutput(logits, aux);
    }
}
