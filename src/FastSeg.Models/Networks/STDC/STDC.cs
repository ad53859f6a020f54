using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// STDC-Seg (Fan et al., "Rethinking BiSeNet", CVPR 2021) as the reference builds it: the STDC1/STDC2 backbone
/// (trained from scratch) with its stages directly on the network (<c>stage1</c>..<c>stage5</c>), BiSeNet v1's
/// attention refinement on the stride-16 and stride-32 features (the latter plus its global average), 1×1 projections
/// to 256 channels added top-down with ×2 upsamplings (by scale factor) to 1/8, BiSeNet v1's feature fusion with the
/// stride-8 stage (512 → 128) and a SegHead, resized to the input. Optional heads, returned in training mode only:
/// three auxiliary SegHeads on stages 3, 4 and 5, or the detail head (a SegHead to one channel on stage 3). The
/// reference allows one kind or the other, not both. <c>detail_conv</c> (a fixed-shape 1×1 conv from the three
/// Laplacian channels of the label) exists with the detail head only for the reference's trainer and is not used in
/// the forward pass.
/// </summary>
public sealed class STDC : SegmentationModel
{
    private readonly Sequential stage1;
    private readonly Sequential stage2;
    private readonly Sequential stage3;
    private readonly Sequential stage4;
    private readonly Sequential stage5;
    private readonly Sequential? aux_head3;
    private readonly Sequential? aux_head4;
    private readonly Sequential? aux_head5;
    private readonly AdaptivePool2d pool;
    private readonly BiSeNetv1AttentionRefinementModule arm4;
    private readonly BiSeNetv1AttentionRefinementModule arm5;
    private readonly Conv2d conv4;
    private readonly Conv2d conv5;
    private readonly BiSeNetv1FeatureFusionModule ffm;
    private readonly Sequential seg_head;
    private readonly Sequential? detail_head;
    private readonly Conv2d? detail_conv;

    /// <summary>Creates STDC-Seg.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderType">"stdc1" or "stdc2".</param>
    /// <param name="useDetailHead">Add the detail head (returned as <see cref="SegmentationOutput.Detail"/> in training mode).</param>
    /// <param name="useAux">Add the three auxiliary heads (returned as <see cref="SegmentationOutput.Aux"/> in training mode).</param>
    /// <param name="act">Activation of the heads and the fusion module (the backbone always uses ReLU, as in the reference).</param>
    public STDC(int numClasses, string encoderType = "stdc1", bool useDetailHead = false, bool useAux = false, string act = "relu")
        : base(nameof(STDC), numClasses, 32)
    {
        var repeats = StdcBackbone.RepeatTimes(encoderType);
        if (useDetailHead && useAux)
            throw new ArgumentException("STDC supports either the auxiliary heads or the detail head, not both (as in the reference)");
        UseDetailHead = useDetailHead;
        UseAux = useAux;
        stage1 = StdcBackbone.Stem(3, 32);
        stage2 = StdcBackbone.Stem(32, 64);
        stage3 = StdcBackbone.Stage(64, 256, repeats[0]);
        stage4 = StdcBackbone.Stage(256, 512, repeats[1]);
        stage5 = StdcBackbone.Stage(512, 1024, repeats[2]);
        if (useAux)
        {
            aux_head3 = ConvBlocks.SegHead(256, numClasses, act);
            aux_head4 = ConvBlocks.SegHead(512, numClasses, act);
            aux_head5 = ConvBlocks.SegHead(1024, numClasses, act);
        }
        pool = AdaptiveAvgPool2d(1);
        arm4 = new BiSeNetv1AttentionRefinementModule(512);
        arm5 = new BiSeNetv1AttentionRefinementModule(1024);
        conv4 = ConvBlocks.Conv1x1(512, 256);
        conv5 = ConvBlocks.Conv1x1(1024, 256);
        ffm = new BiSeNetv1FeatureFusionModule(256 + 256, 128, act);
        seg_head = ConvBlocks.SegHead(128, numClasses, act);
        if (useDetailHead)
        {
            detail_head = ConvBlocks.SegHead(256, 1, act);
            detail_conv = ConvBlocks.Conv1x1(3, 1);
        }
        RegisterComponents();
    }

    /// <summary>Whether the detail head exists.</summary>
    public bool UseDetailHead { get; }

    /// <summary>Whether the auxiliary heads exist.</summary>
    public bool UseAux { get; }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        bool aux = UseAux && training;
        var x = stage2.call(stage1.call(input));
        var x3 = stage3.call(x);
        var aux3 = aux ? aux_head3!.call(x3) : null;
        var x4 = stage4.call(x3);
        var aux4 = aux ? aux_head4!.call(x4) : null;
        var x5 = stage5.call(x4);
        var aux5 = aux ? aux_head5!.call(x5) : null;

        x5 = pool.call(x5) + arm5.call(x5);
        x5 = conv5.call(x5);
        x5 = functional.interpolate(x5, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);

        x4 = conv4.call(arm4.call(x4)).add_(x5);
        x4 = functional.interpolate(x4, scale_factor: new[] { 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);

        x = seg_head.call(ffm.call(x4, x3));
        x = functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);

        if (UseDetailHead && training)
        {
            var detail = detail_head!.call(x3);
            return new SegmentationOutput(x.MoveToOuterDisposeScope(), detail: detail.MoveToOuterDisposeScope());
        }
        if (aux)
        {
            var heads = new[] { aux3!.MoveToOuterDisposeScope(), aux4!.MoveToOuterDisposeScope(), aux5!.MoveToOuterDisposeScope() };
            return new SegmentationOutput(x.MoveToOuterDisposeScope(), heads);
        }
        return new SegmentationOutput(x.MoveToOuterDisposeScope());
    }
}
