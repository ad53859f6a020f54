using static FastSeg.Torch.torch;

namespace FastSeg.Models.Inference;

/// <summary>What to do with an image whose height or width the network cannot take (see <see cref="SegmentationModel.InputMultiple"/>).</summary>
public enum InputSizeMode
{
    /// <summary>
    /// Pad the bottom and right edges up to the next multiple with the mean colour (0 after normalisation, as
    /// lxtGH/Fast_Seg pads), run the network, and crop the logits back: each pixel is predicted at its own scale.
    /// </summary>
    Pad,

    /// <summary>
    /// Resize (bilinear) to the nearest multiple, run the network, and resize the logits (bilinear) back to the
    /// input size.
    /// </summary>
    Resize,
}

/// <summary>Settings of a <see cref="SegmentationPredictor"/>.</summary>
public sealed record PredictorOptions
{
    /// <summary>The ImageNet mean (RGB, 0–1 scale) that the training pipelines normalise with (FastSeg.Data's Normalize).</summary>
    public static IReadOnlyList<double> ImageNetMean { get; } = new[] { 0.485, 0.456, 0.406 };

    /// <summary>The ImageNet standard deviation (RGB, 0–1 scale) of the training pipelines.</summary>
    public static IReadOnlyList<double> ImageNetStd { get; } = new[] { 0.229, 0.224, 0.225 };

    /// <summary>How sizes the network cannot take are handled (default: pad).</summary>
    public InputSizeMode Mode { get; init; } = InputSizeMode.Pad;

    /// <summary>
    /// When set, every image is first resized (bilinear) to this size and its logits resized back to the image's own
    /// size; a size that is not a multiple of the network's is then padded or resized as <see cref="Mode"/> says.
    /// Null (default): the network runs at the image's size.
    /// </summary>
    public (int Height, int Width)? InferenceSize { get; init; }

    /// <summary>Per-channel means on the 0–1 scale (one value, or one per channel); default ImageNet's, as in training.</summary>
    public IReadOnlyList<double> Mean { get; init; } = ImageNetMean;

    /// <summary>Per-channel standard deviations on the 0–1 scale; default ImageNet's, as in training.</summary>
    public IReadOnlyList<double> Std { get; init; } = ImageNetStd;

    /// <summary>The pixel value that maps to 1.0 (255 for 8-bit images).</summary>
    public double MaxPixelValue { get; init; } = 255.0;
}

/// <summary>
/// Runs a segmentation network on images of any size: normalises pixel values as the training pipelines do
/// (<c>(v / 255 - mean) / std</c>), brings the size to one the network accepts (pad or resize, see
/// <see cref="InputSizeMode"/>), runs the network in evaluation and inference mode, and returns logits or class ids at
/// exactly the input's height and width.
/// </summary>
/// <remarks>
/// The predictor does not own the model. While a call runs the model is in evaluation mode; its previous mode is
/// restored afterwards, so one predictor must not be used from two threads at once. Temporaries are freed before each
/// call returns; the returned tensor belongs to the caller's dispose scope, like any new tensor.
/// </remarks>
public sealed class SegmentationPredictor
{
    private readonly double[] _pixelMean;
    private readonly double[] _pixelStd;

    /// <summary>Creates a predictor for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">Mean, std or the inference size are not usable for this model.</exception>
    public SegmentationPredictor(SegmentationModel model, PredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new PredictorOptions();
        Model = model;
        Options = options;
        int channels = model.InputChannels;
        _pixelMean = PerChannel(options.Mean, channels, nameof(options.Mean)).Select(m => m * options.MaxPixelValue).ToArray();
        _pixelStd = PerChannel(options.Std, channels, nameof(options.Std)).Select(s => s * options.MaxPixelValue).ToArray();
        if (_pixelStd.Any(s => !(s > 0)))
            throw new ArgumentException($"the standard deviations must be positive, got {string.Join(", ", options.Std)}", nameof(options));
        if (options.InferenceSize is { } size && (size.Height < 1 || size.Width < 1))
            throw new ArgumentException($"the inference size must be positive, got {size.Width}x{size.Height} (WxH)", nameof(options));
    }

    private static double[] PerChannel(IReadOnlyList<double> values, int channels, string name)
    {
        if (values.Count == 1) return Enumerable.Repeat(values[0], channels).ToArray();
        if (values.Count != channels)
            throw new ArgumentException($"{name} needs 1 or {channels} values (one per input channel), got {values.Count}", name);
        return values.ToArray();
    }

    /// <summary>The network.</summary>
    public SegmentationModel Model { get; }

    /// <summary>The settings.</summary>
    public PredictorOptions Options { get; }

    /// <summary>
    /// The size the network runs at for an image of <paramref name="height"/> x <paramref name="width"/>: the
    /// inference size (or the image's), rounded up to the network's multiple in pad mode, to the nearest multiple (at
    /// least one) in resize mode.
    /// </summary>
    public (int Height, int Width) NetworkSize(int height, int width)
    {
        var (h, w) = Options.InferenceSize ?? (height, width);
        return Options.Mode == InputSizeMode.Pad ? (RoundUp(h), RoundUp(w)) : (RoundNearest(h), RoundNearest(w));
    }

    private int RoundUp(int v) => (v + Model.InputMultiple - 1) / Model.InputMultiple * Model.InputMultiple;

    private int RoundNearest(int v)
    {
        int m = Model.InputMultiple;
        return Math.Max(m, (int)Math.Round(v / (double)m, MidpointRounding.AwayFromZero) * m);
    }

    /// <summary>
    /// Pixel values (0..<see cref="PredictorOptions.MaxPixelValue"/>, any real or integer dtype) as normalised float32,
    /// <c>(v - mean·max) / (std·max)</c> per channel. Shape (N, C, H, W) or (C, H, W), kept.
    /// </summary>
    public Tensor Normalize(Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        long channels = pixels.shape.Length is 3 or 4 ? pixels.shape[^3] : -1;
        if (channels != Model.InputChannels)
            throw new ArgumentException($"expected pixels of shape (N, {Model.InputChannels}, H, W) or ({Model.InputChannels}, H, W), got {ShapeText(pixels.shape)}", nameof(pixels));
        using var scope = NewDisposeScope();
        var dims = new long[] { channels, 1, 1 };
        var mean = tensor(_pixelMean.Select(v => (float)v).ToArray(), dims);
        var std = tensor(_pixelStd.Select(v => (float)v).ToArray(), dims);
        var x = pixels.dtype == ScalarType.Float32 ? pixels : pixels.to_type(ScalarType.Float32);
        return x.sub(mean).div(std).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Class scores (N, classes, H, W) float32 at the input's height and width, for pixel values of shape (N, C, H, W)
    /// or (C, H, W) (then the result is (classes, H, W)). See the class remarks for the steps.
    /// </summary>
    /// <exception cref="ArgumentException">The pixels are not (N, C, H, W) or (C, H, W) with the model's channel count, or empty.</exception>
    public Tensor PredictLogits(Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        var shape = pixels.shape;
        if (shape.Length is not (3 or 4) || shape[^3] != Model.InputChannels || shape[^1] < 1 || shape[^2] < 1 || (shape.Length == 4 && shape[0] < 1))
            throw new ArgumentException($"expected pixels of shape (N, {Model.InputChannels}, H, W) or ({Model.InputChannels}, H, W) with H, W ≥ 1, got {ShapeText(shape)}", nameof(pixels));
        bool batched = shape.Length == 4;
        int height = checked((int)shape[^2]), width = checked((int)shape[^1]);
        var (runH, runW) = Options.InferenceSize ?? (height, width);
        var (netH, netW) = NetworkSize(height, width);

        bool wasTraining = Model.training;
        Model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            var x = Normalize(batched ? pixels : pixels.unsqueeze(0));
            Tensor logits;
            if (Options.Mode == InputSizeMode.Pad)
            {
                if (runH != height || runW != width) x = Resize(x, runH, runW);
                // Bottom/right padding with 0, the mean colour after normalisation; the crop below removes the rows
                // and columns it adds, so the kept logits line up with the image's pixels.
                if (netH != runH || netW != runW) x = nn.functional.pad(x, new long[] { 0, netW - runW, 0, netH - runH });
                logits = Model.call(x);
                if (netH != runH || netW != runW) logits = logits.narrow(2, 0, runH).narrow(3, 0, runW);
            }
            else
            {
                // One resampling from the image to the network's size (the inference size only decides which multiple).
                if (netH != height || netW != width) x = Resize(x, netH, netW);
                logits = Model.call(x);
            }
            var (outH, outW) = (logits.shape[2], logits.shape[3]);
            if (outH != height || outW != width) logits = Resize(logits, height, width);
            if (!batched) logits = logits.squeeze(0);
            return logits.contiguous().MoveToOuterDisposeScope();
        }
        finally
        {
            Model.train(wasTraining);
        }
    }

    /// <summary>
    /// Class ids (N, H, W) int64 (the argmax of <see cref="PredictLogits"/> over classes) for pixel values of shape
    /// (N, C, H, W), or (H, W) for (C, H, W).
    /// </summary>
    public Tensor Predict(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var logits = PredictLogits(pixels);
        using var inference = inference_mode();
        return logits.argmax(pixels.shape.Length == 4 ? 1 : 0).MoveToOuterDisposeScope();
    }

    private static Tensor Resize(Tensor x, long height, long width) =>
        nn.functional.interpolate(x, new[] { height, width }, mode: nn.InterpolationMode.Bilinear, align_corners: false);

    private static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
