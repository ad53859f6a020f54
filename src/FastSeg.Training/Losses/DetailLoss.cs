using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Training.Losses;

/// <summary>
/// STDC's detail loss: the detail head's logits are upsampled (bilinear, align_corners = true) to the target's size,
/// then dice·Dice + bce·BCE-with-logits (mean) against the binary boundary target of <see cref="DetailTargetGenerator"/>.
/// The trainer multiplies the result by its detail-loss coefficient and adds it to the segmentation loss.
/// </summary>
public sealed class DetailLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="diceCoefficient">Weight of the Dice term (the reference's <c>dice_loss_coef</c>, 1).</param>
    /// <param name="bceCoefficient">Weight of the BCE term (<c>bce_loss_coef</c>, 1).</param>
    /// <param name="smooth">Dice smoothing (1).</param>
    /// <param name="diceOnProbabilities">
    /// Apply the sigmoid before Dice (true; the reference uses raw logits — false reproduces that).
    /// </param>
    /// <param name="targets">How targets are built from label maps in <see cref="FromMask"/>; null for the default generator.</param>
    public DetailLoss(double diceCoefficient = 1.0, double bceCoefficient = 1.0, double smooth = 1.0,
        bool diceOnProbabilities = true, DetailTargetGenerator? targets = null)
    {
        DiceCoefficient = diceCoefficient;
        BceCoefficient = bceCoefficient;
        Dice = new DiceLoss(smooth, diceOnProbabilities);
        Targets = targets ?? new DetailTargetGenerator();
    }

    /// <summary>Weight of the Dice term.</summary>
    public double DiceCoefficient { get; }

    /// <summary>Weight of the BCE term.</summary>
    public double BceCoefficient { get; }

    /// <summary>The Dice part.</summary>
    public DiceLoss Dice { get; }

    /// <summary>The target generator used by <see cref="FromMask"/>.</summary>
    public DetailTargetGenerator Targets { get; }

    /// <summary>
    /// The loss of the detail head's logits (N, 1, h, w) against a detail target (N, 1, H, W); the logits are upsampled
    /// to (H, W) first (float16/bfloat16 logits are computed on in float32). The caller owns the returned tensor.
    /// </summary>
    public Tensor Compute(Tensor detailLogits, Tensor detailTarget)
    {
        ArgumentNullException.ThrowIfNull(detailLogits);
        ArgumentNullException.ThrowIfNull(detailTarget);
        if (detailLogits.dim() != 4 || detailTarget.dim() != 4)
            throw new ArgumentException($"detail logits and target must be 4-D, got {ShapeText.Of(detailLogits.shape)} and {ShapeText.Of(detailTarget.shape)}");
        using var scope = NewDisposeScope();
        var size = new[] { detailTarget.size(2), detailTarget.size(3) };
        // Half-precision logits (from autocast) are widened: the Dice sums over whole images need float32.
        var source = detailLogits.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? detailLogits.to(ScalarType.Float32) : detailLogits.alias();
        var logits = source.size(2) == size[0] && source.size(3) == size[1]
            ? source
            : functional.interpolate(source, size, mode: InterpolationMode.Bilinear, align_corners: true);
        var target = detailTarget.to(logits.dtype);
        var dice = Dice.Compute(logits, target);
        var bce = functional.binary_cross_entropy_with_logits(logits, target);
        return dice.mul(DiceCoefficient).add(bce.mul(BceCoefficient)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The loss of the detail head's logits against the target that <see cref="Targets"/> builds from the label map
    /// (N, H, W). The caller owns the returned tensor.
    /// </summary>
    public Tensor FromMask(Tensor detailLogits, Tensor mask)
    {
        using var target = Targets.Generate(mask);
        return Compute(detailLogits, target);
    }
}
