using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Metrics;

/// <summary>
/// A confusion matrix accumulated over validation batches: entry [t, p] counts the pixels of true class t predicted as
/// p (int64, on the device of the data). Pixels labelled <see cref="IgnoreIndex"/> are skipped. Per-class IoU, mIoU and
/// accuracies are read from it; <see cref="Matrix"/> is the tensor to all-reduce (sum) across ranks, and
/// <see cref="Merge"/> adds another accumulator's counts.
/// </summary>
/// <remarks>
/// This is what the reference's torchmetrics <c>JaccardIndex(task='multiclass', average='none', ignore_index=255)</c>
/// computes: logits are reduced with argmax over the class dimension, ignored pixels are dropped, IoU = TP / (TP + FP +
/// FN) per class and a class with an empty union scores 0 (and still counts in the mean). The ratios are computed in
/// float64 (torchmetrics uses float32).
/// </remarks>
public sealed class ConfusionMatrix : IDisposable
{
    private Tensor _matrix;

    /// <summary>Creates an empty matrix.</summary>
    /// <param name="numClasses">Number of classes.</param>
    /// <param name="ignoreIndex">Label of pixels to skip (255).</param>
    /// <param name="device">Where the counts live; null for the CPU (it moves to the data's device on the first update).</param>
    public ConfusionMatrix(int numClasses, long ignoreIndex = 255, Device? device = null)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "at least one class is needed");
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
        _matrix = zeros(new long[] { numClasses, numClasses }, ScalarType.Int64, device).DetachFromDisposeScope();
    }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>The label whose pixels are skipped.</summary>
    public long IgnoreIndex { get; }

    /// <summary>
    /// The counts, (classes, classes) int64, rows = true class, columns = prediction. Owned by this object; it may be
    /// modified in place (for example by an all-reduce).
    /// </summary>
    public Tensor Matrix => _matrix;

    /// <summary>
    /// Adds a batch. <paramref name="prediction"/> is either logits (N, C, H, W) — reduced with argmax over C — or class
    /// indices of the target's shape; <paramref name="target"/> is (N, H, W) with values in [0, classes) or the ignore
    /// label. Throws when a label or prediction lies outside that range.
    /// </summary>
    public void Update(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor predicted;
        if (prediction.dim() == target.dim() + 1)
        {
            if (prediction.size(1) != NumClasses)
                throw new ArgumentException($"logits have {prediction.size(1)} classes, the matrix {NumClasses}", nameof(prediction));
            predicted = prediction.argmax(1);
        }
        else predicted = prediction;
        if (!predicted.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"prediction {ShapeText.Of(prediction.shape)} does not match target {ShapeText.Of(target.shape)}");
        if (!_matrix.device.Equals(target.device)) SetMatrix(_matrix.to(target.device));

        var t = target.reshape(-1).to(ScalarType.Int64);
        var p = predicted.reshape(-1).to(ScalarType.Int64, target.device);
        var keep = t.ne(IgnoreIndex);
        t = t.masked_select(keep);
        p = p.masked_select(keep);
        if (t.numel() == 0) return;
        CheckRange(t, "target label");
        CheckRange(p, "prediction");
        var counts = bincount(t.mul(NumClasses).add(p), minlength: (long)NumClasses * NumClasses);
        _matrix.add_(counts.view(NumClasses, NumClasses));
    }

    private void CheckRange(Tensor values, string what)
    {
        long lo = values.min().item<long>(), hi = values.max().item<long>();
        if (lo < 0 || hi >= NumClasses)
            throw new ArgumentException($"a {what} of {(lo < 0 ? lo : hi)} is outside [0, {NumClasses}) and is not the ignore label {IgnoreIndex}");
    }

    private void SetMatrix(Tensor replacement)
    {
        var old = _matrix;
        _matrix = replacement.DetachFromDisposeScope();
        if (!ReferenceEquals(old, _matrix)) old.Dispose();
    }

    /// <summary>Adds the counts of <paramref name="other"/> (same number of classes).</summary>
    public void Merge(ConfusionMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Add(other.Matrix);
    }

    /// <summary>Adds a (classes, classes) count matrix, e.g. one received from another rank.</summary>
    public void Add(Tensor counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (!counts.shape.SequenceEqual(new long[] { NumClasses, NumClasses }))
            throw new ArgumentException($"expected a {NumClasses}x{NumClasses} matrix, got {ShapeText.Of(counts.shape)}", nameof(counts));
        using var converted = counts.to(ScalarType.Int64, _matrix.device);
        _matrix.add_(converted);
    }

    /// <summary>Clears the counts (the reference's <c>metrics.reset()</c> after each validation).</summary>
    public void Reset() => _matrix.zero_();

    /// <summary>The counts as a row-major array [true class, prediction].</summary>
    public long[,] ToArray()
    {
        using var cpu = _matrix.to(ScalarType.Int64, CPU);
        var flat = cpu.contiguous().ToArray<long>();
        var result = new long[NumClasses, NumClasses];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(long));
        return result;
    }

    /// <summary>The number of counted (non-ignored) pixels.</summary>
    public long Total
    {
        get
        {
            var m = ToArray();
            long total = 0;
            foreach (var v in m) total += v;
            return total;
        }
    }

    /// <summary>IoU per class: TP / (TP + FP + FN); 0 for a class that is neither present nor predicted.</summary>
    public double[] IoU()
    {
        var m = ToArray();
        var iou = new double[NumClasses];
        for (int c = 0; c < NumClasses; c++)
        {
            long tp = m[c, c], row = 0, col = 0;
            for (int k = 0; k < NumClasses; k++) { row += m[c, k]; col += m[k, c]; }
            long union = row + col - tp;
            iou[c] = union == 0 ? 0.0 : (double)tp / union;
        }
        return iou;
    }

    /// <summary>The mean of <see cref="IoU"/> over all classes (the reference's validation score).</summary>
    public double MeanIoU() => IoU().Average();

    /// <summary>Correct pixels / counted pixels (0 when nothing was counted).</summary>
    public double PixelAccuracy()
    {
        var m = ToArray();
        long correct = 0, total = 0;
        for (int r = 0; r < NumClasses; r++)
            for (int c = 0; c < NumClasses; c++)
            {
                total += m[r, c];
                if (r == c) correct += m[r, c];
            }
        return total == 0 ? 0.0 : (double)correct / total;
    }

    /// <summary>Per-class accuracy (recall): TP / pixels of that class; 0 for a class with no pixels.</summary>
    public double[] ClassAccuracy()
    {
        var m = ToArray();
        var acc = new double[NumClasses];
        for (int c = 0; c < NumClasses; c++)
        {
            long row = 0;
            for (int k = 0; k < NumClasses; k++) row += m[c, k];
            acc[c] = row == 0 ? 0.0 : (double)m[c, c] / row;
        }
        return acc;
    }

    /// <summary>All figures at once, with class names (null for "class 0", "class 1", …).</summary>
    public SegmentationReport Report(IReadOnlyList<string>? classNames = null)
    {
        if (classNames is not null && classNames.Count != NumClasses)
            throw new ArgumentException($"{classNames.Count} class names for {NumClasses} classes", nameof(classNames));
        var names = classNames?.ToArray() ?? Enumerable.Range(0, NumClasses).Select(i => $"class {i}").ToArray();
        var counts = ToArray();
        var support = new long[NumClasses];
        for (int t = 0; t < NumClasses; t++)
            for (int p = 0; p < NumClasses; p++) support[t] += counts[t, p];
        return new SegmentationReport(names, IoU(), ClassAccuracy(), PixelAccuracy(), Total, support);
    }

    /// <summary>Frees the counts.</summary>
    public void Dispose() => _matrix.Dispose();
}
