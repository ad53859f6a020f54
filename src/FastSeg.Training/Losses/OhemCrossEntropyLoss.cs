using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Training.Losses;

/// <summary>
/// Online hard example mining cross-entropy (the reference's default <c>loss_type='ohem'</c>): the per-pixel losses
/// above a threshold τ = −ln(p) — pixels whose true class gets probability below p — are averaged; when fewer than
/// n_min = (non-ignored pixels) / 16 (integer division) pass, the n_min largest losses are averaged instead. Ignored
/// pixels have loss 0, so they only enter that fallback when there are not enough others.
/// </summary>
/// <remarks>
/// Runs on whatever device the logits are on (the reference forces its threshold onto CUDA, which breaks CPU runs).
/// When nothing is selected at all (every pixel ignored, or fewer than 16 valid pixels and none hard), the result is a
/// zero that is still attached to the logits' graph, where the reference would return NaN (the mean of nothing).
/// Class weights are not used, as in the reference.
/// </remarks>
public sealed class OhemCrossEntropyLoss : ISegmentationLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="probabilityThreshold">p in τ = −ln(p): pixels whose true-class probability is below it are hard (0.7 in the reference).</param>
    /// <param name="ignoreIndex">Label whose pixels contribute nothing.</param>
    /// <param name="minKeptDivisor">n_min = (non-ignored pixels) / this (16 in the reference).</param>
    public OhemCrossEntropyLoss(double probabilityThreshold = 0.7, long ignoreIndex = 255, int minKeptDivisor = 16)
    {
        if (!(probabilityThreshold > 0 && probabilityThreshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(probabilityThreshold), probabilityThreshold, "must be in (0, 1]");
        if (minKeptDivisor < 1) throw new ArgumentOutOfRangeException(nameof(minKeptDivisor), minKeptDivisor, "must be at least 1");
        ProbabilityThreshold = probabilityThreshold;
        IgnoreIndex = ignoreIndex;
        MinKeptDivisor = minKeptDivisor;
        // −ln(p) evaluated in float32, as the reference builds it, so that the same pixels pass the comparison.
        using var p = tensor((float)probabilityThreshold);
        using var lnP = p.log();
        Threshold = -lnP.item<float>();
    }

    /// <summary>p, the true-class probability below which a pixel counts as hard.</summary>
    public double ProbabilityThreshold { get; }

    /// <summary>τ = −ln(p) (0.35667497 for p = 0.7), the loss above which a pixel is kept.</summary>
    public double Threshold { get; }

    /// <summary>The label that is ignored.</summary>
    public long IgnoreIndex { get; }

    /// <summary>n_min = (non-ignored pixels) / this.</summary>
    public int MinKeptDivisor { get; }

    /// <inheritdoc />
    public Tensor Compute(Tensor logits, Tensor target) => ComputeWithStats(logits, target).Loss;

    /// <summary>
    /// The loss together with how many pixel losses were averaged and whether the top-n_min fallback was taken (for
    /// logging). The caller owns <see cref="OhemResult.Loss"/>.
    /// </summary>
    public OhemResult ComputeWithStats(Tensor logits, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        using var scope = NewDisposeScope();
        long valid;
        using (var isValid = target.ne(IgnoreIndex))
        using (var count = isValid.sum())
            valid = count.item<long>();
        long nMin = valid / MinKeptDivisor;

        var pixelLoss = functional.cross_entropy(logits, target, null, IgnoreIndex, Reduction.None).reshape(-1);
        var hard = pixelLoss.masked_select(pixelLoss.gt(Threshold));
        bool topK = false;
        if (hard.numel() < nMin)
        {
            hard = pixelLoss.topk(nMin).values;
            topK = true;
        }
        long kept = hard.numel();
        var loss = kept == 0 ? pixelLoss.sum().mul(0.0) : hard.mean();
        return new OhemResult(loss.MoveToOuterDisposeScope(), kept, topK);
    }
}

/// <summary>The outcome of one OHEM evaluation.</summary>
/// <param name="Loss">The scalar loss (owned by the caller).</param>
/// <param name="Kept">How many pixel losses were averaged.</param>
/// <param name="UsedTopK">Whether fewer than n_min pixels were hard, so the n_min largest losses were taken.</param>
public readonly record struct OhemResult(Tensor Loss, long Kept, bool UsedTopK);
