using static FastSeg.Torch.torch;

namespace FastSeg.Training.Losses;

/// <summary>
/// Soft Dice loss per sample, averaged over the batch: 1 − (2·Σ p·t + s) / (Σ p + Σ t + s), sums over all of a sample's
/// elements, smoothing s (1 by default). p = sigmoid(logits) by default.
/// </summary>
/// <remarks>
/// The reference feeds raw logits into this formula (no sigmoid), so Σ p can be negative and the loss is unbounded —
/// the original STDC code applies the sigmoid. <paramref name="applySigmoid"/> = false reproduces the reference.
/// </remarks>
/// <param name="smooth">Added to numerator and denominator.</param>
/// <param name="applySigmoid">Turn logits into probabilities first (true), or use the input as it is.</param>
public sealed class DiceLoss(double smooth = 1.0, bool applySigmoid = true)
{
    /// <summary>The smoothing term.</summary>
    public double Smooth { get; } = smooth;

    /// <summary>Whether the sigmoid is applied to the input.</summary>
    public bool ApplySigmoid { get; } = applySigmoid;

    /// <summary>The loss of <paramref name="logits"/> against <paramref name="target"/> (same shape, N first). The caller owns it.</summary>
    public Tensor Compute(Tensor logits, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        using var scope = NewDisposeScope();
        var p = (ApplySigmoid ? logits.sigmoid() : logits).flatten(1);
        var t = target.flatten(1);
        var intersection = p.mul(t).sum(1);
        var numerator = intersection.mul(2).add(Smooth);
        var denominator = p.sum(1).add(t.sum(1)).add(Smooth);
        var perSample = numerator.div(denominator).neg().add(1);
        return perSample.mean().MoveToOuterDisposeScope();
    }
}
