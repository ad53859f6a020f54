using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Training.Metrics;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Evaluation;

/// <summary>
/// How a model is run for evaluation: as built or in its inference form (<see cref="Precision"/>), on the whole
/// image or in sliding windows, at one scale or several with flips — the modes of <see cref="SegmentationPredictor"/>.
/// </summary>
public sealed record EvaluationOptions
{
    /// <summary>Null (default): the network as built; else its inference form in this precision.</summary>
    public InferencePrecision? Precision { get; init; }

    /// <summary>Scales of multi-scale evaluation (default 1 alone); logits are resized back and averaged.</summary>
    public IReadOnlyList<double> Scales { get; init; } = new[] { 1.0 };

    /// <summary>Also evaluate each scale's horizontally flipped image and average its flipped-back logits in.</summary>
    public bool Flip { get; init; }

    /// <summary>Sliding windows of this size (mmsegmentation's slide mode); null (default): the whole image.</summary>
    public (int Height, int Width)? Window { get; init; }

    /// <summary>The step between windows (default: the window size).</summary>
    public (int Height, int Width)? Stride { get; init; }

    /// <summary>What to do with sizes the network cannot take (default: pad, then crop the logits back).</summary>
    public InputSizeMode SizeMode { get; init; } = InputSizeMode.Pad;

    /// <summary>Whether every setting is the default: the network as built, whole images at scale 1.</summary>
    public bool IsPlain => Precision is null && Window is null && !Flip && Scales.Count == 1 && Scales[0] == 1.0;

    /// <summary>A one-line description for reports, e.g. "bf16, scales 0.75/1/1.25 + flip, windows 512x512 stride 384x384".</summary>
    public override string ToString()
    {
        var parts = new List<string> { Precision is { } p ? $"inference form {PrecisionName(p)}" : "as built" };
        if (Scales.Count != 1 || Scales[0] != 1.0 || Flip)
            parts.Add("scales " + string.Join("/", Scales.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))) + (Flip ? " + flip" : ""));
        if (Window is { } w)
            parts.Add($"windows {w.Width}x{w.Height}" + (Stride is { } s ? $" stride {s.Width}x{s.Height}" : ""));
        return string.Join(", ", parts);
    }

    private static string PrecisionName(InferencePrecision p) => p switch
    {
        InferencePrecision.Fp32 => "fp32",
        InferencePrecision.BFloat16 => "bf16",
        _ => "auto (" + (CpuFeatures.HasNativeBFloat16 ? "bf16" : "fp32") + ")",
    };

    /// <summary>The predictor settings for images that the data pipeline has already normalised.</summary>
    public PredictorOptions ToPredictorOptions() => new()
    {
        Precision = Precision,
        Scales = Scales,
        Flip = Flip,
        Window = Window,
        Stride = Stride,
        Mode = SizeMode,
    };
}

/// <summary>
/// The one evaluator: mIoU, per-class IoU and pixel accuracy of any model over any labelled data, in every mode of
/// <see cref="EvaluationOptions"/>. <c>fastseg val</c>, the trainer's validation and the samples use it. Images come
/// normalised from the data pipeline; the model is put in evaluation mode for the run and back in its previous mode
/// afterwards. With several processes, <c>combine</c> sums the confusion matrices (an all-reduce) so every rank
/// gets the same report.
/// </summary>
public sealed class SegmentationEvaluator : IDisposable
{
    private readonly ConfusionMatrix _matrix;

    /// <summary>Creates an evaluator.</summary>
    /// <param name="numClasses">Classes of the labels and the model.</param>
    /// <param name="ignoreIndex">Label of pixels left out.</param>
    /// <param name="classNames">Names in reports; null: Cityscapes' for 19 classes, else indices.</param>
    /// <param name="options">The evaluation mode (null: the network as built, whole images).</param>
    public SegmentationEvaluator(int numClasses, long ignoreIndex = 255, IReadOnlyList<string>? classNames = null, EvaluationOptions? options = null)
    {
        _matrix = new ConfusionMatrix(numClasses, ignoreIndex);
        ClassNames = classNames ?? (numClasses == Metrics.ClassNames.Cityscapes.Count ? Metrics.ClassNames.Cityscapes : null);
        Options = options ?? new EvaluationOptions();
    }

    /// <summary>The evaluation mode.</summary>
    public EvaluationOptions Options { get; }

    /// <summary>Class names used in reports, or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>The counts of the last evaluation (rows true class, columns prediction).</summary>
    public ConfusionMatrix Matrix => _matrix;

    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="batches"/> (normalised images and masks) on
    /// <paramref name="device"/> (null: the CPU).
    /// </summary>
    /// <param name="model">The network (any mode; evaluation mode is used and the previous mode restored).</param>
    /// <param name="batches">Labelled batches; each is disposed after use.</param>
    /// <param name="device">Where the model is.</param>
    /// <param name="combine">Called with the confusion matrix before the report (e.g. an all-reduce over processes).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <exception cref="ArgumentException">A batch without masks.</exception>
    public SegmentationReport Evaluate(SegmentationModel model, IEnumerable<Batch> batches, Device? device = null, Action<Tensor>? combine = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        _matrix.Reset();
        bool wasTraining = model.training;
        using var predictor = new SegmentationPredictor(model, Options.ToPredictorOptions());
        try
        {
            foreach (var batch in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var b = batch;
                if (batch.Masks is null) throw new ArgumentException("evaluation needs labelled data: a batch has no masks", nameof(batches));
                using var scope = NewDisposeScope();
                var images = device is null ? batch.Images.to_type(ScalarType.Float32) : batch.Images.to(ScalarType.Float32, device);
                var logits = predictor.PredictNormalizedLogits(images);
                _matrix.Update(logits, device is null ? batch.Masks.to_type(ScalarType.Int64) : batch.Masks.to(ScalarType.Int64, device));
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        combine?.Invoke(_matrix.Matrix);
        return _matrix.Report(ClassNames);
    }

    /// <summary>Evaluates <paramref name="model"/> on every sample of <paramref name="dataset"/> (with its transform).</summary>
    /// <param name="model">The network.</param>
    /// <param name="dataset">Labelled samples whose transform normalises them (e.g. <c>Pipelines.Zh320Val</c>).</param>
    /// <param name="batchSize">Images per forward pass (they must share a size).</param>
    /// <param name="workers">Loader threads.</param>
    /// <param name="device">Where the model is (null: the CPU).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public SegmentationReport Evaluate(SegmentationModel model, SegmentationDataset dataset, int batchSize = 1, int workers = 0, Device? device = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var loader = new DataLoader(dataset, batchSize, shuffle: false, dropLast: false, numWorkers: workers);
        return Evaluate(model, loader.GetBatches(cancellationToken), device, cancellationToken: cancellationToken);
    }

    /// <summary>Frees the confusion matrix.</summary>
    public void Dispose() => _matrix.Dispose();
}
