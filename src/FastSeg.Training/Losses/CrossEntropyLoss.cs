using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Training.Losses;

/// <summary>
/// Pixel-wise cross-entropy with an ignored label (255 by default, Cityscapes' "void"), optional class weights and a
/// reduction — the reference's <c>loss_type='ce'</c>. With weights and <see cref="Reduction.Mean"/>, the sum is divided
/// by the total weight of the counted pixels, as PyTorch does.
/// </summary>
public sealed class CrossEntropyLoss : ISegmentationLoss, IDisposable
{
    private readonly Tensor? _weights;

    /// <summary>Creates the loss.</summary>
    /// <param name="classWeights">One weight per class, or null for none.</param>
    /// <param name="ignoreIndex">Label whose pixels contribute nothing.</param>
    /// <param name="reduction">Mean (default), sum, or none (one loss per pixel, 0 at ignored pixels).</param>
    public CrossEntropyLoss(IReadOnlyList<double>? classWeights = null, long ignoreIndex = 255, Reduction reduction = Reduction.Mean)
    {
        if (classWeights is not null)
        {
            if (classWeights.Count == 0) throw new ArgumentException("class weights must not be empty", nameof(classWeights));
            // Kept in float64 and converted to the logits' dtype at use (float32 logits round them as torch.Tensor does).
            _weights = tensor(classWeights.ToArray(), new long[] { classWeights.Count }, ScalarType.Float64).DetachFromDisposeScope();
        }
        IgnoreIndex = ignoreIndex;
        Reduction = reduction;
    }

    /// <summary>The label that is ignored.</summary>
    public long IgnoreIndex { get; }

    /// <summary>How per-pixel losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>The class weights (float64, one per class), or null.</summary>
    public Tensor? ClassWeights => _weights;

    /// <inheritdoc />
    public Tensor Compute(Tensor logits, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        if (_weights is null)
            return functional.cross_entropy(logits, target, null, IgnoreIndex, Reduction);
        if (_weights.shape[0] != logits.size(1))
            throw new ArgumentException($"{_weights.shape[0]} class weights for logits with {logits.size(1)} classes", nameof(logits));
        using var w = WeightsFor(logits);
        return functional.cross_entropy(logits, target, w, IgnoreIndex, Reduction);
    }

    // The weights on the logits' device and in their dtype; under autocast cross-entropy runs in float32, so they stay so.
    private Tensor WeightsFor(Tensor logits)
    {
        var type = is_floating_point(logits.dtype) && !is_autocast_enabled(logits.device_type) ? logits.dtype : ScalarType.Float32;
        return _weights!.to(type, logits.device);
    }

    /// <summary>Frees the class weights.</summary>
    public void Dispose() => _weights?.Dispose();
}
