using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Training.Losses;
using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// Everything a training run is made of, built once from <see cref="TrainerOptions"/>: the network (from the zoo, with
/// its initial weights), the training and validation data with their pipelines, the criterion, and how the optimiser
/// and LR scheduler are made. The <see cref="Trainer"/>, dependency injection (<c>ITrainerFactory</c>), the CLI and the
/// samples all build their runs here, so one set of options means one run wherever it is given.
/// </summary>
/// <remarks>
/// The seed (<c>random_seed</c>) is set before the network is built, so its initial weights depend on the options
/// alone. The recipe owns the network it builds (not one passed in) until a trainer takes it over; disposing the
/// recipe frees that network and the criterion.
/// </remarks>
public sealed class TrainingRecipe : IDisposable
{
    private readonly List<string> _notes = new();

    private TrainingRecipe(TrainerOptions options)
    {
        Options = options;
    }

    /// <summary>The options the recipe was built from (validated).</summary>
    public TrainerOptions Options { get; }

    /// <summary>The network to train.</summary>
    public SegmentationModel Model { get; private set; } = null!;

    /// <summary>Whether the recipe built <see cref="Model"/> (and frees it), rather than being given it.</summary>
    public bool OwnsModel { get; internal set; }

    /// <summary>Training samples with their augmentation pipeline.</summary>
    public SegmentationDataset TrainSet { get; private set; } = null!;

    /// <summary>Validation samples with their pipeline.</summary>
    public SegmentationDataset ValSet { get; private set; } = null!;

    /// <summary>The whole loss: main, auxiliary or detail terms, and extra terms such as distillation.</summary>
    public SegmentationCriterion Criterion { get; private set; } = null!;

    /// <summary>What building the recipe did that a run's log should say (weights loaded, downloads).</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>
    /// Builds a run from <paramref name="options"/>. Anything passed in replaces what the options would build.
    /// </summary>
    /// <param name="options">The options (validated here).</param>
    /// <param name="model">The network; null builds <c>model</c> from the zoo (<see cref="TrainerOptions.CreateModel"/>) and loads <c>weights</c> / <c>encoder_weights</c>.</param>
    /// <param name="trainSet">Training samples; null reads Cityscapes' train split under <c>data_root</c> with <see cref="TrainTransform"/>.</param>
    /// <param name="valSet">Validation samples; null reads Cityscapes' val split with <see cref="ValTransform"/>.</param>
    /// <param name="lossTerms">Extra loss terms (a distillation hook, required by <c>kd_training</c>).</param>
    /// <exception cref="TrainerOptionException">An option is invalid, missing, or does not fit the network.</exception>
    public static TrainingRecipe Create(TrainerOptions options, SegmentationModel? model = null, SegmentationDataset? trainSet = null,
        SegmentationDataset? valSet = null, IEnumerable<ITrainingLossHook>? lossTerms = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var terms = lossTerms?.ToList() ?? new List<ITrainingLossHook>();
        if (options.KdTraining && terms.Count == 0)
            throw new TrainerOptionException("kd_training", "is on but no distillation hook was given; pass a FastSeg.Distillation.DistillationHook in hooks");
        var recipe = new TrainingRecipe(options);
        try
        {
            manual_seed(options.RandomSeed);
            if (model is null)
            {
                model = options.CreateModel();
                recipe.OwnsModel = true;
            }
            recipe.Model = model;
            if (model.NumClasses != options.NumClasses)
                throw new TrainerOptionException("num_class", $"is {options.NumClasses} but the model has {model.NumClasses} classes");
            if (options.Weights is not null || options.EncoderWeights is not null) recipe.LoadInitialWeights();
            if (trainSet is null || valSet is null)
            {
                if (options.DataRoot is null) throw new TrainerOptionException("data_root", "no dataset root given (and no datasets passed)");
                var normalization = model.Info?.InputNormalization;
                trainSet ??= new CityscapesDataset(options.DataRoot, "train") { Transform = TrainTransform(options, normalization) };
                valSet ??= new CityscapesDataset(options.DataRoot, "val") { Transform = ValTransform(options, normalization) };
            }
            recipe.TrainSet = trainSet;
            recipe.ValSet = valSet;
            recipe.Criterion = SegmentationCriterion.FromOptions(options, model.Info, terms);
            return recipe;
        }
        catch
        {
            recipe.Dispose();
            throw;
        }
    }

    /// <summary>
    /// zh320's training augmentation with the options' crop, scales, colour jitter and flips (<c>v_flip</c>, when above 0,
    /// appended), normalised as the network expects (<paramref name="normalization"/>: its
    /// <see cref="ModelInfo.InputNormalization"/>; null: ImageNet's).
    /// </summary>
    public static Compose TrainTransform(TrainerOptions options, Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (lo, hi) = options.RandScaleRange;
        var zh320 = Pipelines.Zh320Train(options.EffectiveCropHeight, options.EffectiveCropWidth, options.Scale, lo, hi,
            options.Brightness, options.Contrast, options.Saturation, options.HFlip, normalization);
        return options.VFlip > 0 ? new Compose([.. zh320.Steps, new VerticalFlip(options.VFlip)]) : zh320;
    }

    /// <summary>zh320's validation pipeline (the options' scale), normalised as the network expects.</summary>
    public static Compose ValTransform(TrainerOptions options, Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Pipelines.Zh320Val(options.Scale, normalization);
    }

    /// <summary>
    /// Puts the network where one process of <paramref name="sync"/>'s run trains it: on <paramref name="device"/>, and,
    /// with <c>synBN</c> (the default) on more than one process, with every batch norm made a SyncBatchNorm
    /// (<c>nn.SyncBatchNorm.convert_sync_batchnorm</c>) that normalises with the global batch's statistics.
    /// </summary>
    public void PlaceModel(IGradientSync sync, Device device)
    {
        ArgumentNullException.ThrowIfNull(sync);
        Model.to(device);
        if (Options.SyncBatchNorm && sync is ProcessGroupSync { WorldSize: > 1 } group)
            nn.SyncBatchNorm.convert_sync_batchnorm(Model, group.Group);
    }

    /// <summary>
    /// The loaders of one process of <paramref name="sync"/>'s run. Training: every rank shuffles the same permutation
    /// of (seed, epoch) and takes every world-size-th sample, also on one process, so the global batches (the union over
    /// the ranks of one step's batches) are the same whatever the number of processes, as long as it divides the
    /// dataset. Validation: each rank takes every world-size-th image without PyTorch's padding, so no image is counted
    /// twice in the all-reduced confusion matrix.
    /// </summary>
    public (DataLoader Train, DataLoader Val) CreateLoaders(IGradientSync sync)
    {
        ArgumentNullException.ThrowIfNull(sync);
        var o = Options;
        var trainSampler = new DistributedSampler(TrainSet.Count, sync.WorldSize, sync.Rank, shuffle: true, seed: o.RandomSeed);
        var valSampler = new EvaluationShardSampler(ValSet.Count, sync.WorldSize, sync.Rank);
        var train = new DataLoader(TrainSet, o.TrainBatchSize, shuffle: true, dropLast: true, numWorkers: o.BaseWorkers, seed: o.RandomSeed, sampler: trainSampler);
        if (train.Count < 1) throw new TrainerOptionException("train_bs", $"{o.TrainBatchSize} is more than the {TrainSet.Count} training images (per process)");
        var val = new DataLoader(ValSet, o.ValBatchSize, shuffle: false, dropLast: false, numWorkers: o.BaseWorkers, seed: o.RandomSeed, sampler: valSampler);
        return (train, val);
    }

    /// <summary>The optimiser's peak learning rate: base_lr · processes for SGD, a tenth of that for Adam and AdamW.</summary>
    public double PeakLearningRate(int worldSize) =>
        Options.Optimizer == OptimizerKind.Sgd ? Options.BaseLr * worldSize : 0.1 * Options.BaseLr * worldSize;

    /// <summary>The optimiser the options name over <paramref name="parameters"/> at learning rate <paramref name="lr"/>.</summary>
    public optim.Optimizer CreateOptimizer(IReadOnlyList<nn.Parameter> parameters, double lr) => Options.Optimizer switch
    {
        OptimizerKind.Sgd => optim.SGD(parameters, lr, Options.Momentum, weight_decay: Options.WeightDecay),
        OptimizerKind.Adam => optim.Adam(parameters, lr),
        _ => optim.AdamW(parameters, lr),
    };

    /// <summary>
    /// Maps a reference LR policy onto torch.optim.lr_scheduler, stepped once per iteration: cos_warmup =
    /// OneCycleLR(lr, total_itrs, pct_start = warmup_epochs / total_epoch); linear = OneCycleLR(lr, total_itrs, pct_start 0,
    /// linear annealing); step = StepLR(step_size, 0.1); poly = PolynomialLR(total_itrs, poly_power), after a LinearLR
    /// warm-up from warmup_start_factor over warmup_epochs · iterations per epoch when warmup_epochs &gt; 0 (SequentialLR).
    /// </summary>
    public static optim.lr_scheduler.LRScheduler CreateScheduler(TrainerOptions options, optim.Optimizer optimizer, double lr,
        int iterationsPerEpoch, long totalIterations)
    {
        ArgumentNullException.ThrowIfNull(options);
        int total = checked((int)totalIterations);
        switch (options.LrPolicy)
        {
            case LrPolicy.CosWarmup:
                return optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps: total, pct_start: (double)options.WarmupEpochs / options.TotalEpochs);
            case LrPolicy.Linear:
                return optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps: total, pct_start: 0, anneal_strategy: Torch.Optim.AnnealStrategy.Linear);
            case LrPolicy.Step:
                return optim.lr_scheduler.StepLR(optimizer, options.StepSize!.Value, 0.1);
            default:
                int warm = options.WarmupEpochs * iterationsPerEpoch;
                if (warm <= 0 || warm >= total) return optim.lr_scheduler.PolynomialLR(optimizer, total, options.PolyPower);
                return optim.lr_scheduler.SequentialLR(optimizer, new optim.lr_scheduler.LRScheduler[]
                {
                    optim.lr_scheduler.LinearLR(optimizer, options.WarmupStartFactor, 1.0, warm),
                    optim.lr_scheduler.PolynomialLR(optimizer, total - warm, options.PolyPower),
                }, new[] { warm });
        }
    }

    // options.weights (a published tag or a file) and options.encoder_weights; a resumed checkpoint is loaded after them.
    private void LoadInitialWeights()
    {
        var download = new DownloadNotes(_notes);
        if (Options.Weights is { } weights)
        {
            string path;
            try
            {
                path = PretrainedWeights.LooksLikePath(weights)
                    ? weights
                    : PretrainedWeights.ResolvePath(Model.Info?.Name ?? throw new TrainerOptionException("weights",
                        $"'{weights}' names published weights, which need a model built by the zoo (set model)"), Model.Options?.Encoder, weights, progress: download);
            }
            catch (ArgumentException e) when (e is not TrainerOptionException)
            {
                throw new TrainerOptionException("weights", e.Message);
            }
            using (var checkpoint = ModelCheckpoint.Read(path)) checkpoint.LoadInto(Model, headsOptional: true);
            Model.train();
            _notes.Add($"Load initial weights from {path}");
        }
        if (Options.EncoderWeights is { } tag)
        {
            IReadOnlyList<string> loaded;
            try
            {
                loaded = PretrainedWeights.LoadEncoder(Model, tag.ToLowerInvariant(), progress: download);
            }
            catch (ArgumentException e) when (e is not TrainerOptionException)
            {
                throw new TrainerOptionException("encoder_weights", e.Message);
            }
            Model.train();
            _notes.Add($"Load {tag} weights into {string.Join(", ", loaded.Select(n => n.Length == 0 ? "the model" : n))}");
        }
    }

    private sealed class DownloadNotes(List<string> notes) : IProgress<DownloadProgress>
    {
        private bool _started;

        public void Report(DownloadProgress value)
        {
            if (!_started)
            {
                _started = true;
                notes.Add($"Downloading {value.Url} to {value.FilePath}");
            }
            if (value.Completed) notes.Add($"Downloaded {value.FilePath} ({value.BytesReceived:N0} bytes)");
        }
    }

    /// <summary>Frees the criterion and, when the recipe built it, the network.</summary>
    public void Dispose()
    {
        Criterion?.Dispose();
        if (OwnsModel) Model?.Dispose();
        OwnsModel = false;
    }
}
