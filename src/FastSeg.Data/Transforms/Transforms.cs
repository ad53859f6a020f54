using System.Collections;
using System.Globalization;

namespace FastSeg.Data;

/// <summary>
/// One step of an augmentation pipeline. It changes a <see cref="Sample"/> in place and takes every random number
/// from the <see cref="DataRandom"/> it is given, so the same seed gives the same sample. Geometric steps are
/// recorded on the sample and run as one pass (see <see cref="Sample"/>); pixel steps run at once.
/// </summary>
public abstract class Transform
{
    /// <summary>Applies the step to <paramref name="sample"/>.</summary>
    public abstract void Apply(Sample sample, DataRandom random);

    /// <summary>Applies the step with a generator seeded by <paramref name="seed"/>.</summary>
    public void Apply(Sample sample, long seed) => Apply(sample, new DataRandom(seed));

    internal static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>Runs transforms in order (albumentations' Compose).</summary>
public sealed class Compose : Transform, IEnumerable<Transform>
{
    private readonly Transform[] _steps;

    /// <summary>Creates the pipeline.</summary>
    public Compose(params Transform[] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        foreach (var s in steps) ArgumentNullException.ThrowIfNull(s, nameof(steps));
        _steps = (Transform[])steps.Clone();
    }

    /// <summary>The steps.</summary>
    public IReadOnlyList<Transform> Steps => _steps;

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        foreach (var step in _steps) step.Apply(sample, random);
    }

    /// <inheritdoc />
    public IEnumerator<Transform> GetEnumerator() => ((IEnumerable<Transform>)_steps).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => "Compose(" + string.Join(", ", _steps.Select(s => s.ToString())) + ")";
}

/// <summary>Resizes to a fixed size (image with the given interpolation, mask nearest).</summary>
public sealed class Resize : Transform
{
    /// <summary>Creates the step. Argument order follows albumentations: height, then width.</summary>
    public Resize(int height, int width, Interpolation interpolation = Interpolation.Linear)
    {
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"Resize needs a positive size, got {height}x{width}");
        Height = height;
        Width = width;
        Interpolation = interpolation;
    }

    /// <summary>Target height.</summary>
    public int Height { get; }

    /// <summary>Target width.</summary>
    public int Width { get; }

    /// <summary>Image interpolation.</summary>
    public Interpolation Interpolation { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random) => sample.Resize(Width, Height, Interpolation);

    /// <inheritdoc />
    public override string ToString() => $"Resize({Height}, {Width})";
}

/// <summary>
/// Scales by a fixed factor: the new size is <c>int(h * scale) x int(w * scale)</c> (zh320's Scale; truncation as
/// albumentations).
/// </summary>
public sealed class Scale : Transform
{
    /// <summary>Creates the step.</summary>
    public Scale(double scale, Interpolation interpolation = Interpolation.Linear)
    {
        if (!(scale > 0)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale needs a positive factor");
        Factor = scale;
        Interpolation = interpolation;
    }

    /// <summary>The factor.</summary>
    public double Factor { get; }

    /// <summary>Image interpolation.</summary>
    public Interpolation Interpolation { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        if (Factor == 1.0) return;
        sample.Resize(ScaledSize(sample.Width, Factor, false), ScaledSize(sample.Height, Factor, false), Interpolation);
    }

    internal static int ScaledSize(int size, double factor, bool round) =>
        Math.Max(1, round ? (int)Math.Round(size * factor, MidpointRounding.ToEven) : (int)(size * factor));

    /// <inheritdoc />
    public override string ToString() => $"Scale({F(Factor)})";
}

/// <summary>
/// With probability <see cref="Probability"/>, scales by a random factor in [<see cref="Min"/>, <see cref="Max"/>]:
/// uniform (albumentations' RandomScale with scale_limit = (min - 1, max - 1)), or on a grid of <see cref="Step"/>
/// (Fast_Seg's 0.7 + k/10). Draws: one number for the probability, then one for the factor.
/// </summary>
public sealed class RandomScale : Transform
{
    /// <summary>Creates the step.</summary>
    /// <param name="min">Smallest factor (e.g. 0.5).</param>
    /// <param name="max">Largest factor (e.g. 2.0).</param>
    /// <param name="probability">Chance to scale at all (albumentations' default p is 0.5).</param>
    /// <param name="interpolation">Image interpolation (the mask is always nearest).</param>
    /// <param name="step">When set, the factor is min + k·step with k uniform over the grid points up to max.</param>
    /// <param name="roundSize">Round the new size to nearest (cv2.resize with fx/fy, as Fast_Seg) instead of truncating (albumentations).</param>
    public RandomScale(double min, double max, double probability = 0.5, Interpolation interpolation = Interpolation.Linear,
        double? step = null, bool roundSize = false)
    {
        if (!(min > 0) || !(max >= min)) throw new ArgumentOutOfRangeException(nameof(min), $"RandomScale needs 0 < min <= max, got [{min}, {max}]");
        if (probability < 0 || probability > 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "must be in [0, 1]");
        if (step is not null && !(step > 0)) throw new ArgumentOutOfRangeException(nameof(step), step, "must be positive");
        Min = min;
        Max = max;
        Probability = probability;
        Interpolation = interpolation;
        Step = step;
        RoundSize = roundSize;
    }

    /// <summary>Smallest factor.</summary>
    public double Min { get; }

    /// <summary>Largest factor.</summary>
    public double Max { get; }

    /// <summary>Chance to scale.</summary>
    public double Probability { get; }

    /// <summary>Image interpolation.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Grid step of the factor, or null for a continuous factor.</summary>
    public double? Step { get; }

    /// <summary>Whether the new size is rounded rather than truncated.</summary>
    public bool RoundSize { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        if (!random.Chance(Probability)) return;
        double factor = Step is double s
            ? Min + s * random.Next((int)Math.Floor((Max - Min) / s + 1e-9) + 1)
            : random.Uniform(Min, Max);
        sample.Resize(Scale.ScaledSize(sample.Width, factor, RoundSize), Scale.ScaledSize(sample.Height, factor, RoundSize), Interpolation);
    }

    /// <inheritdoc />
    public override string ToString() => $"RandomScale({F(Min)}..{F(Max)}, p={F(Probability)})";
}

/// <summary>Where <see cref="PadIfNeeded"/> puts the image inside the padded canvas.</summary>
public enum PadPosition
{
    /// <summary>Centred; an odd remainder goes to the bottom/right (albumentations' default).</summary>
    Center,
    /// <summary>Image at the top-left: padding at the bottom and right (Fast_Seg).</summary>
    TopLeft,
    /// <summary>Image at the bottom-right: padding at the top and left.</summary>
    BottomRight,
    /// <summary>A random split of the padding (one draw per axis).</summary>
    Random,
}

/// <summary>
/// Pads to at least <see cref="MinHeight"/> x <see cref="MinWidth"/>. With <see cref="BorderMode.Constant"/> the image
/// gets <see cref="ImageValue"/> and the mask <see cref="MaskValue"/> (255, the ignore index, by default), so padding
/// never counts as a class. Note albumentations' default border is reflect-101, in which case the values are unused
/// and the mask is mirrored like the image (zh320's pipeline relies on that default).
/// </summary>
public sealed class PadIfNeeded : Transform
{
    /// <summary>Creates the step. Argument order follows albumentations: height, then width.</summary>
    public PadIfNeeded(int minHeight, int minWidth, BorderMode border = BorderMode.Constant, double[]? imageValue = null,
        int maskValue = 255, PadPosition position = PadPosition.Center)
    {
        if (minHeight < 1 || minWidth < 1) throw new ArgumentOutOfRangeException(nameof(minHeight), "PadIfNeeded needs a positive size");
        if (maskValue < 0 || maskValue > 65535) throw new ArgumentOutOfRangeException(nameof(maskValue), maskValue, "must be a valid mask value");
        MinHeight = minHeight;
        MinWidth = minWidth;
        Border = border;
        ImageValue = imageValue ?? new double[] { 0 };
        MaskValue = maskValue;
        Position = position;
    }

    /// <summary>Minimum height.</summary>
    public int MinHeight { get; }

    /// <summary>Minimum width.</summary>
    public int MinWidth { get; }

    /// <summary>Border mode.</summary>
    public BorderMode Border { get; }

    /// <summary>Image fill (per channel, or one value) for constant borders.</summary>
    public IReadOnlyList<double> ImageValue { get; }

    /// <summary>Mask fill for constant borders.</summary>
    public int MaskValue { get; }

    /// <summary>Placement of the image.</summary>
    public PadPosition Position { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        var (top, bottom) = Split(Math.Max(0, MinHeight - sample.Height), random);
        var (left, right) = Split(Math.Max(0, MinWidth - sample.Width), random);
        sample.Pad(top, bottom, left, right, Border, ImageValue.ToArray(), MaskValue);
    }

    private (int before, int after) Split(int total, DataRandom random)
    {
        switch (Position)
        {
            case PadPosition.TopLeft: return (0, total);
            case PadPosition.BottomRight: return (total, 0);
            case PadPosition.Random:
                int b = total == 0 ? 0 : random.NextInclusive(0, total);
                return (b, total - b);
            default: return (total / 2, total - total / 2);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"PadIfNeeded({MinHeight}, {MinWidth}, {Border})";
}

/// <summary>
/// Crops a random window of <see cref="Height"/> x <see cref="Width"/> (albumentations' RandomCrop: offsets
/// <c>int((H - h + 1) * u)</c> with u uniform). With <see cref="MaxClassRatio"/> below 1 the window is drawn again, up
/// to <see cref="Attempts"/> times, while a single class covers more than that share of its labelled pixels
/// (mmsegmentation's cat_max_ratio). The image must be at least as large as the window: put
/// <see cref="PadIfNeeded"/> first.
/// </summary>
public sealed class RandomCrop : Transform
{
    /// <summary>Creates the step. Argument order follows albumentations: height, then width.</summary>
    public RandomCrop(int height, int width, double maxClassRatio = 1.0, int ignoreIndex = 255, int attempts = 10)
    {
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), "RandomCrop needs a positive size");
        if (!(maxClassRatio > 0) || maxClassRatio > 1) throw new ArgumentOutOfRangeException(nameof(maxClassRatio), maxClassRatio, "must be in (0, 1]");
        if (attempts < 1) throw new ArgumentOutOfRangeException(nameof(attempts), attempts, "must be at least 1");
        Height = height;
        Width = width;
        MaxClassRatio = maxClassRatio;
        IgnoreIndex = ignoreIndex;
        Attempts = attempts;
    }

    /// <summary>Window height.</summary>
    public int Height { get; }

    /// <summary>Window width.</summary>
    public int Width { get; }

    /// <summary>Largest share one class may have in the window (1: no re-sampling).</summary>
    public double MaxClassRatio { get; }

    /// <summary>The label excluded from the class shares.</summary>
    public int IgnoreIndex { get; }

    /// <summary>How many windows are tried at most; the last is kept.</summary>
    public int Attempts { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        int w = sample.Width, h = sample.Height;
        if (w < Width || h < Height)
            throw new InvalidOperationException(
                $"RandomCrop({Height}, {Width}): sample {sample.Id} is only {w}x{h} (width x height); put PadIfNeeded({Height}, {Width}) before the crop");
        var (x, y) = Draw(w, h, random);
        if (MaxClassRatio < 1.0 && sample.HasMask)
        {
            using var mask = sample.RenderMask()!;
            for (int attempt = 1; attempt < Attempts; attempt++)
            {
                if (Acceptable(mask, x, y)) break;
                (x, y) = Draw(w, h, random);
            }
        }
        sample.Crop(x, y, Width, Height);
    }

    private (int x, int y) Draw(int w, int h, DataRandom random)
    {
        double hs = random.NextDouble();
        double ws = random.NextDouble();
        return ((int)((w - Width + 1) * ws), (int)((h - Height + 1) * hs));
    }

    private bool Acceptable(Image mask, int x, int y)
    {
        var counts = mask.Histogram(256, x, y, Width, Height);
        long total = 0, max = 0;
        int classes = 0;
        for (int k = 0; k < counts.Length; k++)
        {
            if (k == IgnoreIndex || counts[k] == 0) continue;
            classes++;
            total += counts[k];
            max = Math.Max(max, counts[k]);
        }
        return classes > 1 && max < MaxClassRatio * total;
    }

    /// <inheritdoc />
    public override string ToString() => $"RandomCrop({Height}, {Width}{(MaxClassRatio < 1 ? $", max ratio {F(MaxClassRatio)}" : "")})";
}

/// <summary>Crops the centre window (for validation); the image must be at least as large.</summary>
public sealed class CenterCrop : Transform
{
    /// <summary>Creates the step. Argument order follows albumentations: height, then width.</summary>
    public CenterCrop(int height, int width)
    {
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), "CenterCrop needs a positive size");
        Height = height;
        Width = width;
    }

    /// <summary>Window height.</summary>
    public int Height { get; }

    /// <summary>Window width.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        if (sample.Width < Width || sample.Height < Height)
            throw new InvalidOperationException($"CenterCrop({Height}, {Width}): sample {sample.Id} is only {sample.Width}x{sample.Height}");
        sample.Crop((sample.Width - Width) / 2, (sample.Height - Height) / 2, Width, Height);
    }

    /// <inheritdoc />
    public override string ToString() => $"CenterCrop({Height}, {Width})";
}

/// <summary>Flips image and mask with probability <see cref="Probability"/> (one draw) along one axis.</summary>
public abstract class RandomFlip : Transform
{
    private readonly FlipMode _mode;
    private readonly string _name;

    /// <summary>Creates the step for <paramref name="mode"/>.</summary>
    protected RandomFlip(FlipMode mode, string name, double probability)
    {
        if (probability < 0 || probability > 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "must be in [0, 1]");
        _mode = mode;
        _name = name;
        Probability = probability;
    }

    /// <summary>Chance to flip.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        if (random.Chance(Probability)) sample.Flip(_mode);
    }

    /// <inheritdoc />
    public override string ToString() => $"{_name}(p={F(Probability)})";
}

/// <summary>Mirrors left-right with probability <see cref="RandomFlip.Probability"/> (one draw).</summary>
public sealed class HorizontalFlip(double probability = 0.5) : RandomFlip(FlipMode.Horizontal, nameof(HorizontalFlip), probability);

/// <summary>Flips upside down with probability <see cref="RandomFlip.Probability"/> (one draw).</summary>
public sealed class VerticalFlip(double probability = 0.5) : RandomFlip(FlipMode.Vertical, nameof(VerticalFlip), probability);

/// <summary>
/// albumentations' ColorJitter on 8-bit RGB: with probability <see cref="Probability"/>, draws a brightness factor
/// in [max(0, 1 - b), 1 + b], contrast and saturation factors likewise, a hue shift in [-h, h] (in turns, h ≤ 0.5),
/// then applies the four adjustments in a random order. Draws: probability, brightness, contrast, saturation, hue,
/// then the shuffle. The mask is untouched. albumentations' defaults are 0.2 for all four and p = 0.5.
/// </summary>
public sealed class ColorJitter : Transform
{
    /// <summary>Creates the step.</summary>
    public ColorJitter(double brightness = 0.2, double contrast = 0.2, double saturation = 0.2, double hue = 0.2, double probability = 0.5)
    {
        if (brightness < 0 || contrast < 0 || saturation < 0) throw new ArgumentOutOfRangeException(nameof(brightness), "jitter amounts cannot be negative");
        if (hue < 0 || hue > 0.5) throw new ArgumentOutOfRangeException(nameof(hue), hue, "the hue amount must be in [0, 0.5]");
        if (probability < 0 || probability > 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "must be in [0, 1]");
        Brightness = brightness;
        Contrast = contrast;
        Saturation = saturation;
        Hue = hue;
        Probability = probability;
    }

    /// <summary>Brightness amount b.</summary>
    public double Brightness { get; }

    /// <summary>Contrast amount.</summary>
    public double Contrast { get; }

    /// <summary>Saturation amount.</summary>
    public double Saturation { get; }

    /// <summary>Hue amount (turns).</summary>
    public double Hue { get; }

    /// <summary>Chance to jitter.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random)
    {
        if (!random.Chance(Probability)) return;
        double b = random.Uniform(Math.Max(0, 1 - Brightness), 1 + Brightness);
        double c = random.Uniform(Math.Max(0, 1 - Contrast), 1 + Contrast);
        double s = random.Uniform(Math.Max(0, 1 - Saturation), 1 + Saturation);
        double h = random.Uniform(-Hue, Hue);
        Span<int> order = stackalloc int[] { 0, 1, 2, 3 };
        random.Shuffle(order);
        var image = sample.Image;
        if (image.Depth != ImageDepth.UInt8 || (image.Channels != 3 && image.Channels != 1))
            throw new InvalidOperationException($"ColorJitter needs an 8-bit RGB or grey image; sample {sample.Id} is {image.Describe()}");
        foreach (var k in order)
        {
            switch (k)
            {
                case 0: image.Adjust(ColorAdjustment.Brightness, b); break;
                case 1: image.Adjust(ColorAdjustment.Contrast, c); break;
                case 2: image.Adjust(ColorAdjustment.Saturation, s); break;
                default: image.Adjust(ColorAdjustment.Hue, h); break;
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"ColorJitter(b={F(Brightness)}, c={F(Contrast)}, s={F(Saturation)}, h={F(Hue)}, p={F(Probability)})";
}

/// <summary>
/// Sets the normalisation <c>(v / maxPixelValue - mean) / std</c> (ImageNet statistics by default). It is applied when
/// the image becomes a float tensor (<see cref="ToTensor"/> or the data loader), in the same pass as the layout change.
/// </summary>
public sealed class Normalize : Transform
{
    /// <summary>Creates the step; null means the ImageNet values.</summary>
    public Normalize(double[]? mean = null, double[]? std = null, double maxPixelValue = 255.0)
    {
        Value = new Normalization(mean ?? Normalization.ImageNetMean.ToArray(), std ?? Normalization.ImageNetStd.ToArray(), maxPixelValue);
    }

    /// <summary>Creates the step from a normalisation (e.g. a network's <c>ModelInfo.InputNormalization</c>).</summary>
    public Normalize(Normalization normalization)
    {
        Value = normalization ?? throw new ArgumentNullException(nameof(normalization));
    }

    /// <summary>The normalisation.</summary>
    public Normalization Value { get; }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random) => sample.Normalization = Value;

    /// <inheritdoc />
    public override string ToString() => "Normalize(" + string.Join(", ", Value.Mean.Select(F)) + " / " + string.Join(", ", Value.Std.Select(F)) + ")";
}

/// <summary>
/// Converts the sample to tensors (albumentations' ToTensorV2 plus the mask): image CHW float32, mask HW int64, kept
/// in <see cref="Sample.ImageTensor"/> and <see cref="Sample.MaskTensor"/>. The data loader does not need it: it
/// writes batches straight from the images.
/// </summary>
public sealed class ToTensor : Transform
{
    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random) => sample.ToTensor();

    /// <inheritdoc />
    public override string ToString() => "ToTensor()";
}

/// <summary>A transform from a delegate.</summary>
public sealed class Lambda : Transform
{
    private readonly Action<Sample, DataRandom> _action;
    private readonly string _name;

    /// <summary>Wraps <paramref name="action"/>.</summary>
    public Lambda(Action<Sample, DataRandom> action, string name = "Lambda")
    {
        _action = action ?? throw new ArgumentNullException(nameof(action));
        _name = name;
    }

    /// <inheritdoc />
    public override void Apply(Sample sample, DataRandom random) => _action(sample, random);

    /// <inheritdoc />
    public override string ToString() => _name;
}
