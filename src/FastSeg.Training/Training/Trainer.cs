using System.Diagnostics;
using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Training.Ema;
using FastSeg.Training.Evaluation;
using FastSeg.Training.Logging;
using FastSeg.Training.Losses;
using FastSeg.Training.Metrics;
using Microsoft.Extensions.Logging;
using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// Trains a segmentation network the way zh320's <c>SegTrainer</c> does: per-iteration LR schedule, the criterion's
/// loss, optional mixed precision (bfloat16 autocast on the CPU; float16 with a <see cref="GradScaler"/> on CUDA), a
/// weight EMA that is what gets validated, <c>last.pth</c> every epoch, <c>best.pth</c> (EMA weights) whenever the mIoU
/// improves, and resumption from <c>last.pth</c>.
/// </summary>
/// <remarks>
/// <para><b>Where things live.</b> <see cref="TrainingRecipe"/> builds the run from the options (network, data,
/// criterion, optimiser, scheduler); <see cref="SegmentationCriterion"/> is every network's loss;
/// <see cref="SegmentationEvaluator"/> validates; <see cref="ModelCheckpoint"/> reads and writes checkpoints (zh320's
/// keys, <see cref="ModelCheckpoint.TrainerKeys"/>). The trainer keeps the loop, the EMA, gradient synchronisation,
/// logging and when to checkpoint.</para>
/// <para><b>Exact resume.</b> Epoch e's data order and augmentation are functions of (seed, e), and the torch generator
/// is reseeded from (seed, e) each epoch, so with model, optimiser, scheduler, EMA and scaler restored a resumed run
/// repeats the uninterrupted one step for step (bit-identical on the same machine and thread count).</para>
/// <para><b>Several processes.</b> With a multi-process <see cref="IGradientSync"/> (<see cref="TrainerDistributed"/> reads
/// the torchrun environment) every rank starts from rank 0's weights, trains on its shard of each epoch
/// (<see cref="TrainingRecipe.CreateLoaders"/>), averages gradients after each backward pass, and sums the validation
/// confusion matrices, so every rank gets the same report and best score; only rank 0 writes. With <c>synBN</c> (the
/// default) every batch norm becomes a SyncBatchNorm, so N ranks of batch b train like one process of batch N·b.</para>
/// </remarks>
public sealed class Trainer : IDisposable
{
    private readonly TrainingRecipe _recipe;
    private readonly SegmentationEvaluator _evaluator;
    private readonly TrainingLog _log;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly OptimizationStep _step;
    private Stopwatch _clock = new();

    /// <summary>
    /// Builds the run the options describe with <see cref="TrainingRecipe.Create"/> (a model, datasets or loss hooks such
    /// as a DistillationHook passed in replace what the options would build) and a trainer for it; see the other
    /// constructor for sync (null: one process), logger and progress.
    /// </summary>
    public Trainer(TrainerOptions options, SegmentationModel? model = null, SegmentationDataset? trainSet = null,
        SegmentationDataset? valSet = null, IEnumerable<ITrainingLossHook>? hooks = null, IGradientSync? sync = null,
        ILogger? logger = null, IProgress<TrainingProgress>? progress = null)
        : this(TrainingRecipe.Create(options, model, trainSet, valSet, hooks), sync, logger, progress)
    {
    }

    /// <summary>
    /// A trainer for <paramref name="recipe"/>, which it takes over (disposing the trainer disposes the recipe), on one
    /// process or <paramref name="sync"/>'s; log lines go to <paramref name="logger"/> (and {save_dir}/{logger_name}.log),
    /// every iteration and validation to <paramref name="progress"/>. Loads the checkpoint when the options ask for it.
    /// </summary>
    public Trainer(TrainingRecipe recipe, IGradientSync? sync = null, ILogger? logger = null, IProgress<TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        _recipe = recipe;
        var options = Options = recipe.Options;
        Sync = sync ?? SingleProcessSync.Instance;
        _progress = progress;
        Device = options.ResolveDevice();
        _log = new TrainingLog(options, IsMain, logger);
        foreach (var note in recipe.Notes) _log.Info(note);
        recipe.PlaceModel(Sync, Device);
        (TrainLoader, ValLoader) = recipe.CreateLoaders(Sync);
        IterationsPerEpoch = TrainLoader.Count;
        TotalIterations = (long)options.TotalEpochs * IterationsPerEpoch;
        _step = new OptimizationStep(recipe, Model.parameters().ToList(), Sync, Device, IterationsPerEpoch, TotalIterations);
        var path = options.EffectiveCheckpointPath;
        using var checkpoint = options.LoadCheckpoint && Sync.AllSee(path) ? ModelCheckpoint.Read(path) : null;
        if (checkpoint is null) _log.Info("[!] Train from scratch");
        else Restore(checkpoint, options.ResumeTraining);
        Ema = new ModelEma(Model, TotalIterations, options.UseEma);
        if (options.ResumeTraining && checkpoint?.Training?.Ema is { } ema) Ema.load_state_dict(ema.ToDictionary(kv => kv.Key, kv => kv.Value));
        Sync.BroadcastParameters(Model);
        _evaluator = new SegmentationEvaluator(options.NumClasses, options.IgnoreIndex);
    }

    /// <summary>The options.</summary>
    public TrainerOptions Options { get; }
    /// <summary>The run: network, data, criterion.</summary>
    public TrainingRecipe Recipe => _recipe;
    /// <summary>The multi-process seam.</summary>
    public IGradientSync Sync { get; }
    /// <summary>Whether this process writes checkpoints and logs (rank 0).</summary>
    public bool IsMain => Sync.Rank == 0;
    /// <summary>Where training runs.</summary>
    public Device Device { get; }
    /// <summary>The network being trained.</summary>
    public SegmentationModel Model => _recipe.Model;
    /// <summary>The weight average that validation uses.</summary>
    public ModelEma Ema { get; }
    /// <summary>The optimiser.</summary>
    public optim.Optimizer Optimizer => _step.Optimizer;
    /// <summary>The per-iteration LR scheduler.</summary>
    public optim.lr_scheduler.LRScheduler Scheduler => _step.Scheduler;
    /// <summary>The loss scaler (float16 AMP on CUDA only), or null.</summary>
    public GradScaler? Scaler => _step.Scaler;
    /// <summary>Training samples.</summary>
    public SegmentationDataset TrainSet => _recipe.TrainSet;
    /// <summary>Validation samples.</summary>
    public SegmentationDataset ValSet => _recipe.ValSet;
    /// <summary>The training loader.</summary>
    public DataLoader TrainLoader { get; }
    /// <summary>The validation loader.</summary>
    public DataLoader ValLoader { get; }
    /// <summary>Steps per epoch (images // train_bs per process).</summary>
    public int IterationsPerEpoch { get; }
    /// <summary>Steps of the whole run.</summary>
    public long TotalIterations { get; }
    /// <summary>The optimiser's peak learning rate (see <see cref="TrainingRecipe.PeakLearningRate"/>).</summary>
    public double LearningRate => _step.LearningRate;
    /// <summary>The epoch the next <see cref="Run"/> starts at (after a resume: the checkpoint's epoch + 1).</summary>
    public int StartEpoch { get; private set; }
    /// <summary>The current (or last) epoch.</summary>
    public int Epoch { get; private set; }
    /// <summary>Steps done so far.</summary>
    public long Iteration { get; private set; }
    /// <summary>The best validation mIoU so far, as a fraction in [0, 1] (logs print it in percent).</summary>
    public double BestScore { get; private set; }
    /// <summary>Class names used in reports (Cityscapes' for 19 classes), or null.</summary>
    public IReadOnlyList<string>? ClassNames => _evaluator.ClassNames;

    /// <summary>Raised after every training step.</summary>
    public event EventHandler<TrainingProgress>? IterationCompleted;
    /// <summary>Raised after every validation.</summary>
    public event EventHandler<TrainingProgress>? ValidationCompleted;

    /// <summary>
    /// Trains from <see cref="StartEpoch"/> to total_epoch (or up to, not including, <paramref name="untilEpoch"/>),
    /// validating and checkpointing as the reference; after the last epoch, best.pth is reloaded and validated when
    /// val_best is on. Stopping early through <paramref name="untilEpoch"/> leaves last.pth to resume from.
    /// </summary>
    public TrainingResult Run(int? untilEpoch = null, CancellationToken cancellationToken = default)
    {
        _clock = Stopwatch.StartNew();
        if (IsMain)
        {
            File.WriteAllText(Path.Combine(Options.SaveDir, "config.json"), Options.ToJson());
            _log.Info($"Training {Options.Model ?? Model.GetName()} on {Device}: {TrainSet.Count} train / {ValSet.Count} val images, " +
                      $"{IterationsPerEpoch} iterations per epoch, {TotalIterations} in all, lr {LearningRate}, starting at epoch {StartEpoch}");
        }
        int end = Math.Min(Options.TotalEpochs, untilEpoch ?? Options.TotalEpochs);
        SegmentationReport? last = null;
        long startIteration = Iteration;
        double trainSeconds = 0, firstLoss = double.NaN, lastLoss = double.NaN;
        int epochs = 0;
        for (int epoch = StartEpoch; epoch < end; epoch++)
        {
            Epoch = epoch;
            var t0 = _clock.Elapsed;
            double meanLoss = TrainOneEpoch(epoch, cancellationToken);
            trainSeconds += (_clock.Elapsed - t0).TotalSeconds;
            if (epochs++ == 0) firstLoss = meanLoss;
            lastLoss = meanLoss;
            if (epoch >= Options.BeginValEpoch && epoch % Options.ValInterval == 0)
            {
                last = Validate(cancellationToken);
                double score = last.MeanIoU; // the same on every rank (the confusion matrix is summed over them)
                if (score > BestScore)
                {
                    BestScore = score;
                    if (IsMain && Options.SaveCheckpoints) SaveCheckpoint(Path.Combine(Options.SaveDir, "best.pth"), best: true);
                }
                _log.Info($" Epoch{epoch} mIoU: {100 * score:F2} %    | best mIoU so far: {100 * BestScore:F2} %"); // percent, as the reports
            }
            if (IsMain && Options.SaveCheckpoints) SaveCheckpoint(Path.Combine(Options.SaveDir, "last.pth"), best: false);
            Sync.Barrier();
        }
        StartEpoch = Math.Max(StartEpoch, end);
        bool completed = end == Options.TotalEpochs;
        var bestPath = Path.Combine(Options.SaveDir, "best.pth");
        // Rank 0 decides and reads best.pth; the others get its weights by broadcast, so they need not see the file.
        if (completed && Options.SaveCheckpoints && Options.ValidateBestAtEnd && Sync.AgreeWithMain(IsMain && File.Exists(bestPath)))
        {
            _log.Info($"Train {Options.TotalEpochs} epochs finished! Validation for the best checkpoint...");
            if (IsMain)
                using (var best = ModelCheckpoint.Read(bestPath)) best.LoadInto(Model);
            Sync.BroadcastParameters(Model);
            Ema.Reset(Model);
            last = Validate(cancellationToken);
            BestScore = last.MeanIoU;
            _log.Info($"Best mIoU is: {100 * BestScore:F2} %");
        }
        long steps = Iteration - startIteration;
        return new TrainingResult(BestScore, last, epochs, steps, _clock.Elapsed,
            trainSeconds > 0 ? steps * Options.TrainBatchSize / trainSeconds : 0, firstLoss, lastLoss, completed);
    }

    private double TrainOneEpoch(int epoch, CancellationToken token)
    {
        Model.train();
        TrainLoader.SetEpoch(epoch);
        manual_seed(EpochSeed(Options.RandomSeed, epoch));
        double sum = 0;
        int count = 0;
        var stepClock = Stopwatch.StartNew();
        foreach (var batch in TrainLoader.GetBatches(token))
        {
            using var b = batch;
            using var scope = NewDisposeScope();
            var images = batch.Images.to(ScalarType.Float32, Device);
            var masks = batch.Masks!.to(ScalarType.Int64, Device);
            Iteration++;
            double lr = _step.CurrentLearningRate;
            Optimizer.zero_grad();
            LossBreakdown loss;
            using (autocast(Device.type, enabled: Options.AmpTraining))
                loss = _recipe.Criterion.Compute(images, Model.ForwardAll(images), masks);
            double value = loss.Total.item<float>();
            _step.Apply(loss.Total);
            Ema.Update(Model, Iteration);
            sum += value;
            count++;
            double seconds = stepClock.Elapsed.TotalSeconds;
            stepClock.Restart();
            Publish(new TrainingProgress(ProgressKind.Iteration, epoch, Iteration, TotalIterations, value, lr,
                seconds > 0 ? batch.Count / seconds : 0, _clock.Elapsed, loss.Parts));
        }
        return count > 0 ? sum / count : double.NaN;
    }

    /// <summary>Validates the EMA weights (as the reference; without use_ema they are the model's) over every process's shard.</summary>
    public SegmentationReport Validate(CancellationToken cancellationToken = default)
    {
        SegmentationReport report;
        using (Ema.SwapInto(Model))
            report = _evaluator.Evaluate(Model, ValLoader.GetBatches(cancellationToken), Device, Sync.AllReduceSum, cancellationToken);
        Model.train();
        Publish(new TrainingProgress(ProgressKind.Validation, Epoch, Iteration, TotalIterations, double.NaN,
            _step.CurrentLearningRate, 0, _clock.Elapsed, new Dictionary<string, double>(), report));
        return report;
    }

    /// <summary>Writes a checkpoint; <paramref name="best"/>: the EMA weights alone, as the reference's best.pth.</summary>
    public void SaveCheckpoint(string path, bool best)
    {
        var state = new TrainingState
        {
            Epoch = Epoch, BestScore = BestScore, Iterations = Iteration, RandomSeed = Options.RandomSeed, Config = Options.ToJson(),
            Ema = best ? null : Ema.state_dict(),
        };
        ModelCheckpoint.Write(path, best ? Ema.state_dict() : Model.state_dict(), best ? state : _step.Capture(state));
    }

    /// <summary>The keys every checkpoint written by <see cref="SaveCheckpoint"/> has (<see cref="ModelCheckpoint.TrainerKeys"/>).</summary>
    public static IReadOnlyList<string> CheckpointKeys => ModelCheckpoint.TrainerKeys;

    // Loads weights and best score; with resume also epoch, steps, optimiser, scheduler and scaler (the caller the EMA).
    private void Restore(ModelCheckpoint ckpt, bool resume)
    {
        string path = ckpt.FilePath;
        if (ckpt.Training is not { } state) throw new InvalidDataException($"{path}: not a training checkpoint (a dict with 'state_dict')");
        ckpt.LoadInto(Model);
        Model.train();
        _log.Info($"Load model state dict from {path}");
        if (state.BestScore is { } best) BestScore = best;
        if (!resume) return;
        _step.Restore(state, path);
        Epoch = state.Epoch ?? throw new InvalidDataException($"{path}: has no 'cur_epoch' to resume from");
        StartEpoch = Epoch + 1;
        Iteration = state.Iterations ?? (long)StartEpoch * IterationsPerEpoch;
        _log.Info($"Resume training from {path} at epoch {StartEpoch}, iteration {Iteration}");
    }

    /// <summary>The torch seed used for epoch <paramref name="epoch"/> (dropout and other in-model randomness).</summary>
    public static long EpochSeed(long seed, int epoch) => unchecked(seed * 1_000_003L + epoch + 1);

    private void Publish(TrainingProgress p)
    {
        _progress?.Report(p);
        if (p.Kind == ProgressKind.Iteration) IterationCompleted?.Invoke(this, p);
        else ValidationCompleted?.Invoke(this, p);
        _log.Record(p);
    }

    /// <summary>Frees the EMA, optimiser state, metrics, the recipe (with the model when it built it) and closes the logs.</summary>
    public void Dispose()
    {
        Ema.Dispose();
        _step.Dispose();
        _evaluator.Dispose();
        _log.Dispose();
        _recipe.Dispose();
    }
}
