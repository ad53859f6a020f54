namespace FastSeg.Data;

/// <summary>
/// Per-channel normalisation <c>(v / maxPixelValue - mean[c]) / std[c]</c>, albumentations' Normalize. It is applied
/// when an image becomes a float tensor, in the same pass as the HWC to CHW conversion.
/// </summary>
public sealed class Normalization
{
    /// <summary>ImageNet mean (RGB), the default of albumentations and torchvision.</summary>
    public static IReadOnlyList<double> ImageNetMean { get; } = new[] { 0.485, 0.456, 0.406 };

    /// <summary>ImageNet standard deviation (RGB).</summary>
    public static IReadOnlyList<double> ImageNetStd { get; } = new[] { 0.229, 0.224, 0.225 };

    /// <summary>ImageNet statistics on a 0–255 scale.</summary>
    public static Normalization ImageNet { get; } = new(ImageNetMean.ToArray(), ImageNetStd.ToArray());

    /// <summary>Creates the normalisation; <paramref name="mean"/> and <paramref name="std"/> need one entry per channel (or one for all).</summary>
    public Normalization(double[] mean, double[] std, double maxPixelValue = 255.0)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || std.Length == 0) throw new ArgumentException("mean and std need at least one value");
        foreach (var s in std)
            if (!(s > 0)) throw new ArgumentOutOfRangeException(nameof(std), s, "standard deviations must be positive");
        if (!(maxPixelValue > 0)) throw new ArgumentOutOfRangeException(nameof(maxPixelValue), maxPixelValue, "must be positive");
        Mean = (double[])mean.Clone();
        Std = (double[])std.Clone();
        MaxPixelValue = maxPixelValue;
    }

    /// <summary>Per-channel means on the 0–1 scale.</summary>
    public IReadOnlyList<double> Mean { get; }

    /// <summary>Per-channel standard deviations on the 0–1 scale.</summary>
    public IReadOnlyList<double> Std { get; }

    /// <summary>The pixel value that maps to 1.0 (255 for 8-bit images).</summary>
    public double MaxPixelValue { get; }

    /// <summary>The mean of channel <paramref name="c"/> in pixel units.</summary>
    public double PixelMean(int c) => Mean[Mean.Count == 1 ? 0 : Math.Min(c, Mean.Count - 1)] * MaxPixelValue;

    /// <summary>The standard deviation of channel <paramref name="c"/> in pixel units.</summary>
    public double PixelStd(int c) => Std[Std.Count == 1 ? 0 : Math.Min(c, Std.Count - 1)] * MaxPixelValue;
}
