using FastSeg.Data;
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
    /// <summary>How sizes the network cannot take are handled (default: pad).</summary>
    public InputSizeMode Mode { get; init; } = InputSizeMode.Pad;

    /// <summary>
    /// When set, every image is first resized (bilinear) to this size and its logits resized back to the image's own
    /// size; a size that is not a multiple of the network's is then padded or resized as <see cref="Mode"/> says.
    /// Null (default): the network runs at the image's size.
    /// </summary>
    public (int Height, int Width)? InferenceSize { get; init; }

    /// <summary>
    /// Per-channel means on the 0–1 scale (one value, or one per channel); null (default): the ones the network was
    /// trained with (<see cref="Zoo.ModelInfo.InputNormalization"/>; ImageNet's for a network built outside the zoo).
    /// </summary>
    public IReadOnlyList<double>? Mean { get; init; }

    /// <summary>Per-channel standard deviations on the 0–1 scale; null (default): the network's, as <see cref="Mean"/>.</summary>
    public IReadOnlyList<double>? Std { get; init; }

    /// <summary>The pixel value that maps to 1.0; null (default): the network's (255 for 8-bit images).</summary>
    public double? MaxPixelValue { get; init; }

    /// <summary>
    /// When set, the predictor runs the network's inference form (<see cref="SegmentationModel.ForInference"/>) in this
    /// precision, made once when the predictor is created and disposed with it; null (default): the network as given.
    /// </summary>
    public InferencePrecision? Precision { get; init; }

    /// <summary>
    /// Scales of multi-scale inference (default: 1 alone): the image (or <see cref="InferenceSize"/>) is resized by each
    /// factor, predicted, and the logits resized back to the image's size and averaged.
    /// </summary>
    public IReadOnlyList<double> Scales { get; init; } = new[] { 1.0 };

    /// <summary>Also predict each scale's horizontally flipped image and average its flipped-back logits in (default false).</summary>
    public bool Flip { get; init; }

    /// <summary>
    /// Sliding-window inference (mmsegmentation's <c>slide</c> mode): windows of this size, <see cref="Stride"/> apart
    /// (the last row and column of windows are moved back to end at the image's edge), each predicted on its own,
    /// and the logits of overlapping windows averaged. The window must fit inside the image at every scale. Null
    /// (default): the whole image at once.
    /// </summary>
    public (int Height, int Width)? Window { get; init; }

    /// <summary>The step between sliding windows (default: the window's size, so windows overlap only at the edges).</summary>
    public (int Height, int Width)? Stride { get; init; }
}

/// <summary>
/// Runs a segmentation network on images of any size: normalises pixel values as the training pipelines do
/// (<c>(v / 255 - mean) / std</c>), brings the size to one the network accepts (pad or resize, see
/// <see cref="InputSizeMode"/>), runs the network in evaluation and inference mode, and returns logits or class ids at
/// exactly the input's height and width.
/// </summary>
/// <remarks>
/// The predictor does not own the model; it owns the inference form it makes when <see cref="PredictorOptions.Precision"/>
/// is set (dispose the predictor to free it). While a call runs the model is in evaluation mode; its previous mode is
/// restored afterwards, so one predictor must not be used from two threads at once. Temporaries are freed before each
/// call returns; the returned tensor belongs to the caller's dispose scope, like any new tensor. With several scales,
/// flipping or sliding windows, each pass is the single-image prediction described above, at its own size.
/// </remarks>
public sealed class SegmentationPredictor : IDisposable
{
    private readonly double[] _pixelMean;
    private readonly double[] _pixelStd;
    private readonly InferenceModel? _inferenceForm;

    /// <summary>Creates a predictor for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">Mean, std or the inference size are not usable for this model.</exception>
    public SegmentationPredictor(SegmentationModel model, PredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new PredictorOptions();
        Model = model;
        Options = options;
        int channels = model.InputChannels;
        var trained = model.Info?.InputNormalization ?? Normalization.ImageNet;
        var mean = options.Mean ?? trained.Mean;
        var std = options.Std ?? trained.Std;
        double max = options.MaxPixelValue ?? trained.MaxPixelValue;
        _pixelMean = PerChannel(mean, channels, nameof(options.Mean)).Select(m => m * max).ToArray();
        _pixelStd = PerChannel(std, channels, nameof(options.Std)).Select(s => s * max).ToArray();
        if (_pixelStd.Any(s => !(s > 0)))
            throw new ArgumentException($"the standard deviations must be positive, got {string.Join(", ", std)}", nameof(options));
        if (options.InferenceSize is { } size && (size.Height < 1 || size.Width < 1))
            throw new ArgumentException($"the inference size must be positive, got {size.Width}x{size.Height} (WxH)", nameof(options));
        if (options.Scales is null || options.Scales.Count == 0 || options.Scales.Any(f => !(f > 0) || double.IsInfinity(f)))
            throw new ArgumentException($"the scales must be one or more positive numbers, got [{string.Join(", ", options.Scales ?? Array.Empty<double>())}]", nameof(options));
        if (options.Window is { } window && (window.Height < 1 || window.Width < 1))
            throw new ArgumentException($"the sliding window must be positive, got {window.Width}x{window.Height} (WxH)", nameof(options));
        if (options.Stride is { } stride)
        {
            if (options.Window is null) throw new ArgumentException("a sliding-window stride needs a window size", nameof(options));
            if (stride.Height < 1 || stride.Width < 1)
                throw new ArgumentException($"the sliding-window stride must be positive, got {stride.Width}x{stride.Height} (WxH)", nameof(options));
        }
        if (options.Precision is { } precision) _inferenceForm = model.ForInference(new InferenceOptions { Precision = precision });
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

    /// <summary>The network that runs: the inference form when <see cref="PredictorOptions.Precision"/> is set, else <see cref="Model"/>.</summary>
    public SegmentationModel Network => _inferenceForm ?? Model;

    /// <summary>Frees the inference form the predictor made (nothing when it runs the model as given).</summary>
    public void Dispose() => _inferenceForm?.Dispose();

    /// <summary>
    /// The size the network runs at for an image of <paramref name="height"/> x <paramref name="width"/>: the
    /// inference size (or the image's), rounded up to the network's multiple in pad mode, to the nearest multiple (at
    /// least one) in resize mode.
    /// </summary>
    public (int Height, int Width) NetworkSize(int height, int width)
    {
        var (h, w) = Options.InferenceSize ?? (height, width);
        return NetworkSizeFor(h, w);
    }

    private (int Height, int Width) NetworkSizeFor(int h, int w) =>
        Options.Mode == InputSizeMode.Pad ? (RoundUp(h), RoundUp(w)) : (RoundNearest(h), RoundNearest(w));

    private int RoundUp(int v) => (v + Model.InputMultiple - 1) / Model.InputMultiple * Model.InputMultiple;

    private int RoundNearest(int v)
    {
        int m = Model.InputMultiple;
        return Math.Max(m, (int)Math.Round(v / (double)m, MidpointRounding.AwayFromZero) * m);
    }

    /// <summary>
    /// Pixel values (0..<see cref="PredictorOptions.MaxPixelValue"/>, usually 255; any real or integer dtype) as normalised float32,
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
        CheckShape(pixels, "pixels");
        using var scope = NewDisposeScope();
        Tensor x;
        using (inference_mode()) x = Normalize(pixels);
        return PredictNormalizedLogits(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="PredictLogits"/> for images that are already normalised (float, as the data pipelines'
    /// <c>Normalize</c> makes them): the same resizing, padding, windows, scales and flips, without the normalisation.
    /// </summary>
    /// <exception cref="ArgumentException">The images are not (N, C, H, W) or (C, H, W) with the model's channel count, or empty.</exception>
    public Tensor PredictNormalizedLogits(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        CheckShape(images, "images");
        var shape = images.shape;
        bool batched = shape.Length == 4;
        int height = checked((int)shape[^2]), width = checked((int)shape[^1]);
        var network = Network;
        bool wasTraining = network.training;
        network.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            var x = batched ? images : images.unsqueeze(0);
            if (x.dtype != ScalarType.Float32) x = x.to_type(ScalarType.Float32);
            Tensor? sum = null;
            int passes = 0;
            foreach (double scale in Options.Scales)
            {
                foreach (bool flip in Options.Flip ? new[] { false, true } : new[] { false })
                {
                    var logits = PassLogits(flip ? x.flip(3) : x, height, width, scale);
                    if (flip) logits = logits.flip(3);
                    sum = sum is null ? logits : sum.add_(logits);
                    passes++;
                }
            }
            var result = passes == 1 ? sum! : sum!.div_(passes);
            if (!batched) result = result.squeeze(0);
            return result.contiguous().MoveToOuterDisposeScope();
        }
        finally
        {
            network.train(wasTraining);
        }
    }

    private void CheckShape(Tensor input, string name)
    {
        var shape = input.shape;
        if (shape.Length is not (3 or 4) || shape[^3] != Model.InputChannels || shape[^1] < 1 || shape[^2] < 1 || (shape.Length == 4 && shape[0] < 1))
            throw new ArgumentException($"expected {name} of shape (N, {Model.InputChannels}, H, W) or ({Model.InputChannels}, H, W) with H, W ≥ 1, got {ShapeText(shape)}", name);
    }

    // One prediction of normalised images x (N, C, height, width) at one scale, as logits at (height, width).
    private Tensor PassLogits(Tensor x, int height, int width, double scale)
    {
        var (baseH, baseW) = Options.InferenceSize ?? (height, width);
        int runH = Scaled(baseH, scale), runW = Scaled(baseW, scale);
        Tensor logits;
        if (Options.Window is { } window)
        {
            if (runH != height || runW != width) x = Resize(x, runH, runW);
            logits = SlidingWindowLogits(x, window, Options.Stride ?? window);
        }
        else
        {
            logits = WholeLogits(x, runH, runW);
        }
        var (outH, outW) = (logits.shape[2], logits.shape[3]);
        return outH != height || outW != width ? Resize(logits, height, width) : logits;
    }

    private static int Scaled(int size, double scale) =>
        scale == 1.0 ? size : Math.Max(1, (int)Math.Round(size * scale, MidpointRounding.AwayFromZero));

    // The network on images x brought to the run size (runH, runW): in pad mode the logits are at the run size, in
    // resize mode at the network's size (the caller resizes them to where they go).
    private Tensor WholeLogits(Tensor x, int runH, int runW)
    {
        var (netH, netW) = NetworkSizeFor(runH, runW);
        if (Options.Mode == InputSizeMode.Pad)
        {
            if (runH != x.shape[2] || runW != x.shape[3]) x = Resize(x, runH, runW);
            // Bottom/right padding with 0, the mean colour after normalisation; the crop below removes the rows
            // and columns it adds, so the kept logits line up with the image's pixels.
            if (netH != runH || netW != runW) x = nn.functional.pad(x, new long[] { 0, netW - runW, 0, netH - runH });
            var logits = Network.call(x);
            return netH != runH || netW != runW ? logits.narrow(2, 0, runH).narrow(3, 0, runW) : logits;
        }
        // One resampling from the image to the network's size (the run size only decides which multiple).
        if (netH != x.shape[2] || netW != x.shape[3]) x = Resize(x, netH, netW);
        return Network.call(x);
    }

    // mmsegmentation's slide inference: a grid of windows, stride apart, the last ones moved back inside the image;
    // each pixel's logits are the mean over the windows that cover it.
    private Tensor SlidingWindowLogits(Tensor x, (int Height, int Width) window, (int Height, int Width) stride)
    {
        int height = (int)x.shape[2], width = (int)x.shape[3];
        if (window.Height > height || window.Width > width)
            throw new ArgumentException(
                $"the sliding window {window.Width}x{window.Height} (WxH) is larger than the image it slides over, {width}x{height} " +
                "(the image at this scale and inference size); use a smaller window or a larger scale");
        int rows = Math.Max(height - window.Height + stride.Height - 1, 0) / stride.Height + 1;
        int columns = Math.Max(width - window.Width + stride.Width - 1, 0) / stride.Width + 1;
        Tensor? sum = null;
        using var count = zeros(new long[] { 1, 1, height, width }, ScalarType.Float32);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                using var scope = NewDisposeScope();
                int y1 = Math.Max(Math.Min(r * stride.Height + window.Height, height) - window.Height, 0);
                int x1 = Math.Max(Math.Min(c * stride.Width + window.Width, width) - window.Width, 0);
                var crop = x.narrow(2, y1, window.Height).narrow(3, x1, window.Width);
                var logits = WholeLogits(crop, window.Height, window.Width);
                if (logits.shape[2] != window.Height || logits.shape[3] != window.Width) logits = Resize(logits, window.Height, window.Width);
                if (sum is null)
                {
                    sum = zeros(new long[] { logits.shape[0], logits.shape[1], height, width }, logits.dtype);
                    sum.MoveToOuterDisposeScope();
                }
                sum.narrow(2, y1, window.Height).narrow(3, x1, window.Width).add_(logits);
                count.narrow(2, y1, window.Height).narrow(3, x1, window.Width).add_(1);
            }
        }
        return sum!.div_(count);
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
