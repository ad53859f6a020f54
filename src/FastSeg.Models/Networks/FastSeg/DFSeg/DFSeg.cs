using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Models.Blocks.FastSegOperators;
using static FastSeg.Models.Blocks.FastSegOperatorsB;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// lxtGH/Fast_Seg's DFSeg (<c>libs/models/DFSegNet.py</c>, registered there as <c>dfnetv1seg</c> and
/// <c>dfnetv2seg</c>): the segmentation network of "Partial Order Pruning" (Li et al., CVPR 2019) on a
/// <see cref="DFNet"/> backbone. The deepest feature (512@1/32) goes through Fast_Seg's <see cref="PSPModule"/> to 128
/// channels and a 1×1 conv (<c>cc5</c>); the two shallower ones are projected to 128 by 1×1 convs (<c>cc4</c>,
/// <c>cc3</c>, with bias); two fusion nodes (<c>fn4</c>, <c>fn3</c>) each resize the deeper map to the shallower one's
/// size (bilinear, align_corners = true), concatenate [deeper, shallower] and apply a 3×3 conv 256→128 (no bias, no BN
/// or ReLU); Fast_Seg's <c>dsn</c> head (<c>fc</c>) gives the logits at 1/16 (v1) or 1/8 (v2).
/// <para>Kept quirks (they shape the weights or the numbers): the backbone's unused ImageNet classifier
/// (<c>backbone.fc</c>, 513,000 parameters) is in the state dict; the PSP bottleneck is a 1×1 conv with padding 1, so
/// the 1/32 map grows by 2 px per side (its border rows see only the BN/ReLU of zero input) before being resized in
/// <c>fn4</c>; the fusion convs have no BN or ReLU; DF-Net convs are initialised from N(0, √(2 / (k²·out))).
/// Dropout2d(0.1) sits in the PSP bottleneck and the head, as in Fast_Seg. The PSP's 1×1 bin normalises a 1×1 map
/// over the batch, so training needs a batch of at least 2 (PyTorch refuses one; so does this port).</para>
/// <para>Deviations from Fast_Seg's behaviour: Fast_Seg returns a one-element list with the logits at 1/16 or 1/8;
/// this network returns the logits resized to the input (bilinear, align_corners = true), as Fast_Seg's losses and
/// val.py resize them. Fast_Seg's training script cannot train DFSeg (every loss it can choose reads a second output,
/// <c>preds[1]</c>, that DFSeg does not return); the zoo trains it on the single output, without auxiliary heads.
/// Any input size works (the fusions resize by size).</para>
/// </summary>
public sealed class DFSeg : SegmentationModel
{
    private readonly DFNet backbone;
    private readonly Conv2d cc5;
    private readonly Conv2d cc4;
    private readonly Conv2d cc3;
    private readonly PSPModule ppm;
    private readonly DFSegFusionNode fn4;
    private readonly DFSegFusionNode fn3;
    private readonly Sequential fc;

    /// <summary>Creates DFSeg.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="variant">"dfnetv1" or "dfnetv2" (the backbone).</param>
    public DFSeg(int numClasses, string variant = "dfnetv1") : base(nameof(DFSeg), numClasses, 1)
    {
        backbone = new DFNet(variant);
        cc5 = Conv2d(128, 128, 1);
        cc4 = Conv2d(256, 128, 1);
        cc3 = Conv2d(128, 128, 1);
        ppm = new PSPModule(512, 128);
        fn4 = new DFSegFusionNode(128);
        fn3 = new DFSegFusionNode(128);
        fc = Dsn(128, numClasses);
        RegisterComponents();
    }

    /// <summary>The backbone version ("dfnetv1" or "dfnetv2").</summary>
    public string Variant => backbone.Variant;

    /// <summary>Parameters in the state dict that the forward pass never uses (the backbone's ImageNet classifier).</summary>
    public static readonly string[] UnusedParameters = DFNet.ClassifierParameters.Select(p => "backbone." + p).ToArray();

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        RequireBatchForPooledNorm(this, input, "DFSeg's pyramid pooling");
        using var scope = NewDisposeScope();
        var features = backbone.ForwardFeatures(input);
        var x5 = cc5.call(ppm.call(features[2]));
        var x4 = cc4.call(features[1]);
        var f4 = fn4.call(x5, x4);
        var x3 = cc3.call(features[0]);
        var logits = fc.call(fn3.call(f4, x3));
        return new SegmentationOutput(Upsample(logits, input.shape[2..]).MoveToOuterDisposeScope());
    }
}

/// <summary>
/// DFSeg's fusion node: the deeper map resized to the shallower one's size (bilinear, align_corners = true),
/// concatenated [deeper, shallower], and a 3×3 conv (<c>fusion</c>, 2c → c, no bias) without BN or activation.
/// </summary>
internal sealed class DFSegFusionNode : Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d fusion;

    /// <summary>Creates the node for <paramref name="channels"/> channels per input.</summary>
    public DFSegFusionNode(long channels) : base("FusionNode")
    {
        fusion = ConvBlocks.Conv3x3(channels * 2, channels);
        RegisterComponents();
    }

    /// <summary>Fuses the deeper map <paramref name="high"/> into the shallower <paramref name="low"/>.</summary>
    public override Tensor forward(Tensor high, Tensor low)
    {
        using var scope = NewDisposeScope();
        var up = Upsample(high, low.shape[2..]);
        return fusion.call(torch.cat(new[] { up, low }, 1)).MoveToOuterDisposeScope();
    }
}
