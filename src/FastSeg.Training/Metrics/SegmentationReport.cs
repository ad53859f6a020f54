using System.Globalization;
using System.Text;

namespace FastSeg.Training.Metrics;

/// <summary>
/// The figures of one evaluation, per class and overall, as read from a <see cref="ConfusionMatrix"/>. IoUs and
/// accuracies are fractions in [0, 1] (as torchmetrics and the reference compute them); <see cref="ToString"/> prints
/// them in percent.
/// </summary>
public sealed class SegmentationReport
{
    /// <summary>Creates a report.</summary>
    /// <param name="classNames">One name per class.</param>
    /// <param name="iou">IoU per class.</param>
    /// <param name="classAccuracy">Accuracy (recall) per class.</param>
    /// <param name="pixelAccuracy">Correct / counted pixels.</param>
    /// <param name="pixels">Counted (non-ignored) pixels.</param>
    /// <param name="support">Labelled pixels per class (null when unknown).</param>
    public SegmentationReport(IReadOnlyList<string> classNames, IReadOnlyList<double> iou, IReadOnlyList<double> classAccuracy,
        double pixelAccuracy, long pixels, IReadOnlyList<long>? support = null)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(iou);
        ArgumentNullException.ThrowIfNull(classAccuracy);
        if (iou.Count != classNames.Count || classAccuracy.Count != classNames.Count)
            throw new ArgumentException("one name, IoU and accuracy per class are needed");
        ClassNames = classNames.ToArray();
        IoU = iou.ToArray();
        ClassAccuracy = classAccuracy.ToArray();
        PixelAccuracy = pixelAccuracy;
        Pixels = pixels;
        if (support is not null && support.Count != classNames.Count) throw new ArgumentException("one support count per class is needed");
        Support = support?.ToArray();
    }

    /// <summary>Labelled pixels per class in the evaluated set, or null when unknown.</summary>
    public IReadOnlyList<long>? Support { get; }

    /// <summary>
    /// Mean IoU over the classes that occur in the labels (support &gt; 0) — the figure to read on a dataset that lacks
    /// some classes (such as the synthetic scenes); equals <see cref="MeanIoU"/> when every class occurs or support is unknown.
    /// </summary>
    public double MeanIoUPresent
    {
        get
        {
            if (Support is null) return MeanIoU;
            var present = IoU.Where((_, i) => Support[i] > 0).ToList();
            return present.Count == 0 ? 0 : present.Average();
        }
    }

    /// <summary>Class names.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>IoU per class (0 for a class with empty union).</summary>
    public IReadOnlyList<double> IoU { get; }

    /// <summary>Accuracy (recall) per class.</summary>
    public IReadOnlyList<double> ClassAccuracy { get; }

    /// <summary>Mean IoU over all classes.</summary>
    public double MeanIoU => IoU.Count == 0 ? 0 : IoU.Average();

    /// <summary>Mean per-class accuracy.</summary>
    public double MeanClassAccuracy => ClassAccuracy.Count == 0 ? 0 : ClassAccuracy.Average();

    /// <summary>Correct / counted pixels.</summary>
    public double PixelAccuracy { get; }

    /// <summary>Counted (non-ignored) pixels.</summary>
    public long Pixels { get; }

    /// <summary>A plain-text table: one line per class with IoU and accuracy in percent, then the means.</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        int width = Math.Max(5, ClassNames.Select(n => n.Length).DefaultIfEmpty(0).Max());
        var sb = new StringBuilder();
        sb.Append("class".PadRight(width)).AppendLine("     IoU     Acc");
        for (int i = 0; i < ClassNames.Count; i++)
            sb.Append(ClassNames[i].PadRight(width))
              .Append((100 * IoU[i]).ToString("F2", c).PadLeft(8))
              .AppendLine((100 * ClassAccuracy[i]).ToString("F2", c).PadLeft(8));
        sb.Append("mean".PadRight(width))
          .Append((100 * MeanIoU).ToString("F2", c).PadLeft(8))
          .AppendLine((100 * MeanClassAccuracy).ToString("F2", c).PadLeft(8));
        if (Support is not null && Support.Any(n => n == 0))
            sb.Append("mean (present classes)".PadRight(width)).AppendLine((100 * MeanIoUPresent).ToString("F2", c).PadLeft(8));
        sb.Append(CultureInfo.InvariantCulture, $"pixel accuracy {100 * PixelAccuracy:F2}% over {Pixels} pixels");
        return sb.ToString();
    }
}
