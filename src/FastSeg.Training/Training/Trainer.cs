using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using FastSeg.Training.Ema;
using FastSeg.Training.Losses;
using FastSeg.Training.Metrics;
using Microsoft.Extensions.Logging;
using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// Trains a segmentation network the way zh320's <c>SegTrainer</c> does: per-iteration LR schedule, ce/ohem loss plus
/// auxiliary or STDC detail terms plus any <see cref="ITrainingLossHook"/> (distillation), optional mixed precision,
/// a weight EMA that is what gets validated, per-class IoU validation, <c>last.pth</c> every epoch and <c>best.pth</c> (EMA
/// weights) whenever the mIoU improves, and resumption from <c>last.pth</c>.
/// </summary>
/// <remarks>
/// <para><b>Checkpoint keys.</b> The reference's <c>cur_epoch</c>, <c>best_score</c>, <c>state_dict</c>, <c>optimizer</c>,
/// <c>scheduler</c> (null in best.pth, whose state_dict is the EMA's), plus <c>train_itrs</c> (steps so far),
/// <c>ema</c> (the EMA state dict; null in best.pth), <c>scaler</c> (GradScaler state dict, null without one),
/// <c>random_seed</c> and <c>config</c> (the options as JSON). Files are written atomically by <c>torch.save</c>.</para>
/// <para><b>Exact resume.</b> The data order and augmentation of epoch e are functions of (seed, e) (the loader's
/// <c>SetEpoch</c>), and the torch generator is reseeded from (seed, e) at the start of every epoch, so the random state
/// needs no saving: with the model, optimizer, scheduler, EMA and scaler states restored, a resumed run repeats the
/// uninterrupted one step for step (bit-identical on the same machine and thread count).</para>
/// <para><b>LR policies</b> (per iteration; lr = base_lr·world size for SGD, 0.1·base_lr·world size for Adam/AdamW):
/// cos_warmup = OneCycleLR(lr, total_itrs, pct_start = warmup_epochs/total_epoch); linear = OneCycleLR(lr, total_itrs,
/// pct_start 0, linear annealing); step = StepLR(step_size, 0.1); poly = PolynomialLR(total_itrs, poly_power), after a
/// LinearLR warm-up from warmup_start_factor over warmup_epochs·iters_per_epoch when warmup_epochs &gt; 0 (SequentialLR).</para>
/// <para><b>Several processes.</b> With a multi-process <see cref="IGradientSync"/> (see <see cref="TrainerDistributed"/>,
/// which reads the torchrun environment) every rank starts from rank 0's parameters and buffers, trains on its shard of
/// each epoch (a <see cref="DistributedSampler"/> over one shared permutation, also used on one process, so the global
/// batch of a step does not depend on the number of processes), averages gradients after each backward pass and steps
/// with lr = base_lr · world size; validation splits the val set without padding and sums the confusion matrices, so
/// every rank gets the same report and best score. Only rank 0 writes checkpoints, config.json and the logs; at the end
/// rank 0 reads best.pth and broadcasts it. With <c>synBN</c> (the default) and a <see cref="ProcessGroupSync"/> of more
/// than one rank, every batch norm of the network becomes a SyncBatchNorm (<c>nn.SyncBatchNorm.convert_sync_batchnorm</c>):
/// it normalises with the statistics of the global batch and keeps the same running statistics on every rank, so
/// N ranks of batch b train like one process of batch N·b; with <c>synBN=false</c> each rank uses its own batch.</para>
/// <para><b>Mixed precision.</b> On the CPU, bfloat16 autocast around forward and loss (no scaling needed); on CUDA,
/// float16 autocast with a <see cref="GradScaler"/>.</para>
/// </remarks>
public sealed class Trainer : IDisposable
{
    private readonly IReadOnlyList<ITrainingLossHook> _hooks;
    private readonly ISegmentationLoss _loss;
    private readonly AuxiliaryLoss? _auxLoss;
    private readonly DetailLoss? _detailLoss;
    private readonly ConfusionMatrix _matrix;
    private readonly ILogger? _logger;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly List<nn.Parameter> _parameters;
    private StreamWriter? _textLog;
    private StreamWriter? _metricsLog;
    private Logging.TensorBoardWriter? _tensorBoard;
    private Stopwatch _clock = new();
    private bool _ownsModel;

    /// <summary>Builds everything a run needs; loads the checkpoint when options ask for it and it exists.</summary>
    /// <param name="options">The options (validated here).</param>
    /// <param name="model">The network; null builds options.model from the zoo (with aux/detail heads as the options say).</param>
    /// <param name="trainSet">Training samples (with their transform); null reads Cityscapes' train split under data_root with the reference's augmentation.</param>
    /// <param name="valSet">Validation samples; null reads Cityscapes' val split.</param>
    /// <param name="hooks">Extra loss terms, e.g. a DistillationHook.</param>
    /// <param name="sync">Multi-process seam; null for one process.</param>
    /// <param name="logger">Where log lines go (also to {save_dir}/{logger_name}.log when logger_name is set).</param>
    /// <param name="progress">Receives every iteration and validation report.</param>
    public Trainer(TrainerOptions options, SegmentationModel? model = null, SegmentationDataset? trainSet = null,
        SegmentationDataset? valSet = null, IEnumerable<ITrainingLossHook>? hooks = null, IGradientSync? sync = null,
        ILogger? logger = null, IProgress<TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Sync = sync ?? SingleProcessSync.Instance;
        _hooks = hooks?.ToList() ?? new List<ITrainingLossHook>();
        _logger = logger;
        _progress = progress;
        if (options.KdTraining && _hooks.Count == 0)
            throw new TrainerOptionException("kd_training", "is on but no distillation hook was given; pass a FastSeg.Distillation.DistillationHook in hooks");

        Device = options.Device switch
        {
            "cpu" => CPU,
            "cuda" => cuda.is_available() ? CUDA : throw new TrainerOptionException("device", "cuda was asked for but CUDA is not available"),
            _ => cuda.is_available() ? CUDA : CPU,
        };

        if (IsMain)
        {
            Directory.CreateDirectory(options.SaveDir);
            if (options.LoggerName is not null)
                _textLog = new StreamWriter(Path.Combine(options.SaveDir, options.LoggerName + ".log"), append: true) { AutoFlush = true };
            _metricsLog = new StreamWriter(Path.Combine(options.SaveDir, "metrics.jsonl"), append: true) { AutoFlush = true };
            if (options.UseTensorBoard) _tensorBoard = new Logging.TensorBoardWriter(Path.Combine(options.SaveDir, "tb"));
        }

        manual_seed(options.RandomSeed);
        if (model is null)
        {
            model = options.CreateModel();
            _ownsModel = true;
        }
        if (model.NumClasses != options.NumClasses)
            throw new TrainerOptionException("num_class", $"is {options.NumClasses} but the model has {model.NumClasses} classes");
        if (options.Weights is not null || options.EncoderWeights is not null) LoadInitialWeights(model, options);
        Model = model;
        Model.to(Device);
        if (options.SyncBatchNorm && Sync is ProcessGroupSync { WorldSize: > 1 } groupSync)
            nn.SyncBatchNorm.convert_sync_batchnorm(Model, groupSync.Group);
        _parameters = Model.parameters().ToList();

        if (trainSet is null || valSet is null)
        {
            if (options.DataRoot is null) throw new TrainerOptionException("data_root", "no dataset root given (and no datasets passed)");
            var (lo, hi) = options.RandScaleRange;
            trainSet ??= new CityscapesDataset(options.DataRoot, "train")
            {
                Transform = Pipelines.Zh320Train(options.EffectiveCropHeight, options.EffectiveCropWidth, options.Scale, lo, hi,
                    options.Brightness, options.Contrast, options.Saturation, options.HFlip),
            };
            valSet ??= new CityscapesDataset(options.DataRoot, "val") { Transform = Pipelines.Zh320Val(options.Scale) };
        }
        TrainSet = trainSet;
        ValSet = valSet;
        // Training: every rank shuffles the same permutation of (seed, epoch) and takes every world-size-th sample, also on
        // one process, so the global batches (the union over the ranks of one step's batches) are the same whatever the
        // number of processes, as long as it divides the dataset. Validation: each rank takes every world-size-th image
        // without PyTorch's padding, so no image is counted twice in the all-reduced confusion matrix.
        var trainSampler = new DistributedSampler(trainSet.Count, Sync.WorldSize, Sync.Rank, shuffle: true, seed: options.RandomSeed);
        var valSampler = new EvaluationShardSampler(valSet.Count, Sync.WorldSize, Sync.Rank);
        TrainLoader = new DataLoader(trainSet, options.TrainBatchSize, shuffle: true, dropLast: true, numWorkers: options.BaseWorkers,
            seed: options.RandomSeed, sampler: trainSampler);
        ValLoader = new DataLoader(valSet, options.ValBatchSize, shuffle: false, dropLast: false, numWorkers: options.BaseWorkers,
            seed: options.RandomSeed, sampler: valSampler);
        IterationsPerEpoch = TrainLoader.Count;
        if (IterationsPerEpoch < 1)
            throw new TrainerOptionException("train_bs", $"{options.TrainBatchSize} is more than the {trainSet.Count} training images (per process)");
        TotalIterations = (long)options.TotalEpochs * IterationsPerEpoch;

        _loss = options.LossType == LossKind.Ohem
            ? new OhemCrossEntropyLoss(options.OhemThreshold, options.IgnoreIndex)
            : new CrossEntropyLoss(options.ClassWeights, options.IgnoreIndex, options.Reduction == "sum" ? nn.Reduction.Sum : nn.Reduction.Mean);
        // Without aux_coef, the network's own reference weights (Fast_Seg: 0.4 per head) or 1 each (zh320).
        if (options.UseAux) _auxLoss = new AuxiliaryLoss(_loss, options.AuxCoef ?? model.Info?.AuxLossWeights);
        if (options.UseDetailHead)
            _detailLoss = new DetailLoss(options.DiceLossCoef, options.BceLossCoef, 1.0, options.DiceOnProbabilities,
                new DetailTargetGenerator(options.DetailThreshold));

        LearningRate = options.Optimizer == OptimizerKind.Sgd ? options.BaseLr * Sync.WorldSize : 0.1 * options.BaseLr * Sync.WorldSize;
        Optimizer = options.Optimizer switch
        {
            OptimizerKind.Sgd => optim.SGD(_parameters, LearningRate, options.Momentum, weight_decay: options.WeightDecay),
            OptimizerKind.Adam => optim.Adam(_parameters, LearningRate),
            _ => optim.AdamW(_parameters, LearningRate),
        };
        Scheduler = CreateScheduler(options, Optimizer, LearningRate, IterationsPerEpoch, TotalIterations);
        Scaler = options.AmpTraining && Device.type == DeviceType.CUDA ? new GradScaler(sync: Sync) : null;

        Dictionary<string, Tensor>? emaState = null;
        using (var loadScope = NewDisposeScope())
        {
            var path = options.EffectiveCheckpointPath;
            if (options.LoadCheckpoint && CheckpointOnEveryRank(path))
            {
                emaState = LoadCheckpoint(path, options.ResumeTraining);
                emaState = emaState?.ToDictionary(kv => kv.Key, kv => kv.Value.DetachFromDisposeScope());
            }
            else Log("[!] Train from scratch");
        }
        Ema = new ModelEma(Model, TotalIterations, options.UseEma);
        if (emaState is not null)
        {
            Ema.load_state_dict(emaState);
            foreach (var t in emaState.Values) t.Dispose();
        }
        Sync.BroadcastParameters(Model);
        _matrix = new ConfusionMatrix(options.NumClasses, options.IgnoreIndex);
        ClassNames = options.NumClasses == Metrics.ClassNames.Cityscapes.Count ? Metrics.ClassNames.Cityscapes : null;
    }

    /// <summary>The options.</summary>
    public TrainerOptions Options { get; }
    /// <summary>The multi-process seam.</summary>
    public IGradientSync Sync { get; }
    /// <summary>Whether this process writes checkpoints and logs (rank 0).</summary>
    public bool IsMain => Sync.Rank == 0;
    /// <summary>Where training runs.</summary>
    public Device Device { get; }
    /// <summary>The network being trained.</summary>
    public SegmentationModel Model { get; }
    /// <summary>The weight average that validation uses.</summary>
    public ModelEma Ema { get; }
    /// <summary>The optimiser.</summary>
    public optim.Optimizer Optimizer { get; }
    /// <summary>The per-iteration LR scheduler.</summary>
    public optim.lr_scheduler.LRScheduler Scheduler { get; }
    /// <summary>The loss scaler (float16 AMP on CUDA only), or null.</summary>
    public GradScaler? Scaler { get; }
    /// <summary>Training samples.</summary>
    public SegmentationDataset TrainSet { get; }
    /// <summary>Validation samples.</summary>
    public SegmentationDataset ValSet { get; }
    /// <summary>The training loader.</summary>
    public DataLoader TrainLoader { get; }
    /// <summary>The validation loader.</summary>
    public DataLoader ValLoader { get; }
    /// <summary>Steps per epoch (images // train_bs per process).</summary>
    public int IterationsPerEpoch { get; }
    /// <summary>Steps of the whole run.</summary>
    public long TotalIterations { get; }
    /// <summary>The optimiser's peak learning rate (see the remarks).</summary>
    public double LearningRate { get; }
    /// <summary>The epoch the next <see cref="Run"/> starts at (after a resume: the checkpoint's epoch + 1).</summary>
    public int StartEpoch { get; private set; }
    /// <summary>The current (or last) epoch.</summary>
    public int Epoch { get; private set; }
    /// <summary>Steps done so far.</summary>
    public long Iteration { get; private set; }
    /// <summary>The best validation mIoU so far, as a fraction in [0, 1] (logs print it in percent).</summary>
    public double BestScore { get; private set; }
    /// <summary>Class names used in reports (Cityscapes' for 19 classes), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Raised after every training step.</summary>
    public event EventHandler<TrainingProgress>? IterationCompleted;
    /// <summary>Raised after every validation.</summary>
    public event EventHandler<TrainingProgress>? ValidationCompleted;

    /// <summary>Maps a reference LR policy onto torch.optim.lr_scheduler (see the class remarks).</summary>
    public static optim.lr_scheduler.LRScheduler CreateScheduler(TrainerOptions options, optim.Optimizer optimizer, double lr,
        int iterationsPerEpoch, long totalIterations)
    {
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
            Log($"Training {Options.Model ?? Model.GetName()} on {Device}: {TrainSet.Count} train / {ValSet.Count} val images, " +
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
            if (epochs == 0) firstLoss = meanLoss;
            lastLoss = meanLoss;
            epochs++;
            if (epoch >= Options.BeginValEpoch && epoch % Options.ValInterval == 0)
            {
                last = Validate(cancellationToken);
                double score = last.MeanIoU; // the same on every rank (the confusion matrix is summed over them)
                if (score > BestScore)
                {
                    BestScore = score;
                    if (IsMain && Options.SaveCheckpoints) SaveCheckpoint(Path.Combine(Options.SaveDir, "best.pth"), best: true);
                }
                Log($" Epoch{epoch} mIoU: {100 * score:F2} %    | best mIoU so far: {100 * BestScore:F2} %"); // percent, as the reports
            }
            if (IsMain && Options.SaveCheckpoints) SaveCheckpoint(Path.Combine(Options.SaveDir, "last.pth"), best: false);
            Sync.Barrier();
        }
        StartEpoch = Math.Max(StartEpoch, end);
        bool completed = end == Options.TotalEpochs;
        var bestPath = Path.Combine(Options.SaveDir, "best.pth");
        // Rank 0 decides and reads best.pth; the others get its weights by broadcast, so they need not see the file.
        if (completed && Options.SaveCheckpoints && Options.ValidateBestAtEnd && AgreeWithMain(IsMain && File.Exists(bestPath)))
        {
            Log($"Train {Options.TotalEpochs} epochs finished! Validation for the best checkpoint...");
            if (IsMain)
                using (var scope = NewDisposeScope())
                {
                    var ckpt = (Dictionary<string, object?>)load(bestPath)!;
                    Model.load_state_dict(ToTensorDict(ckpt["state_dict"], "state_dict"));
                }
            Sync.BroadcastParameters(Model);
            Ema.Reset(Model);
            last = Validate(cancellationToken);
            BestScore = last.MeanIoU;
            Log($"Best mIoU is: {100 * BestScore:F2} %");
        }
        long steps = Iteration - startIteration;
        return new TrainingResult(BestScore, last, epochs, steps, _clock.Elapsed,
            trainSeconds > 0 ? steps * Options.TrainBatchSize / trainSeconds : 0, firstLoss, lastLoss, completed);
    }

    // Whether every rank sees the checkpoint (each loads it: a resume restores the optimiser and scheduler per rank).
    // Ranks that disagree would train different epochs and deadlock, so that is an error on all of them.
    private bool CheckpointOnEveryRank(string path)
    {
        bool exists = File.Exists(path);
        if (Sync.WorldSize == 1) return exists;
        using var count = tensor(new long[] { exists ? 1 : 0 });
        Sync.AllReduceSum(count);
        long seen = count.item<long>();
        if (seen != 0 && seen != Sync.WorldSize)
            throw new InvalidOperationException($"checkpoint {path} exists for {seen} of {Sync.WorldSize} ranks (this is rank {Sync.Rank}); " +
                "resuming several processes needs a save_dir (or load_ckpt_path) that every rank can read, or load_ckpt=false");
        return exists;
    }

    // Rank 0's value of a flag, on every rank.
    private bool AgreeWithMain(bool mine)
    {
        if (Sync.WorldSize == 1) return mine;
        using var flag = tensor(new long[] { IsMain && mine ? 1 : 0 });
        Sync.AllReduceSum(flag);
        return flag.item<long>() > 0;
    }

    private double TrainOneEpoch(int epoch, CancellationToken token)
    {
        Model.train();
        TrainLoader.SetEpoch(epoch);
        manual_seed(EpochSeed(Options.RandomSeed, epoch));
        var autocastType = Device.type;
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
            double lr = Optimizer.param_groups[0].lr;
            Optimizer.zero_grad();
            var parts = new Dictionary<string, double>();
            Tensor loss;
            using (autocast(autocastType, enabled: Options.AmpTraining))
            {
                var output = Model.ForwardAll(images);
                if (_auxLoss is not null)
                    loss = _auxLoss.Total(output.Logits, output.Aux, masks);
                else if (_detailLoss is not null)
                {
                    if (output.Detail is null)
                        throw new InvalidOperationException($"use_detail_head is on but {Model.GetName()} returned no detail output (build it with the detail head)");
                    var detail = _detailLoss.FromMask(output.Detail, masks);
                    parts["loss_detail"] = detail.item<float>();
                    loss = _loss.Compute(output.Logits, masks).add(detail.mul(Options.DetailLossCoef));
                }
                else loss = _loss.Compute(output.Logits, masks);
                parts["loss"] = loss.item<float>();
                foreach (var hook in _hooks)
                {
                    var extra = hook.ExtraLoss(images, output.Logits);
                    parts["loss_" + hook.Name] = extra.item<float>();
                    loss = loss.add(extra);
                }
            }
            double value = loss.item<float>();
            if (_hooks.Count > 0) parts["loss_total"] = value;
            if (Scaler is not null)
            {
                Scaler.ScaleLoss(loss).backward();
                Sync.AllReduceGradients(_parameters);
                Scaler.Step(Optimizer);
                Scaler.Update();
            }
            else
            {
                loss.backward();
                Sync.AllReduceGradients(_parameters);
                Optimizer.step();
            }
            Scheduler.step();
            Ema.Update(Model, Iteration);
            sum += value;
            count++;
            double seconds = stepClock.Elapsed.TotalSeconds;
            stepClock.Restart();
            var report = new TrainingProgress(ProgressKind.Iteration, epoch, Iteration, TotalIterations, value, lr,
                seconds > 0 ? batch.Count / seconds : 0, _clock.Elapsed, parts);
            Publish(report);
        }
        return count > 0 ? sum / count : double.NaN;
    }

    /// <summary>
    /// Validates the EMA weights (the reference always validates its EMA copy; without use_ema it equals the model) on
    /// the validation set: per-class IoU, mIoU and pixel accuracy, summed over processes through <see cref="Sync"/>.
    /// </summary>
    public SegmentationReport Validate(CancellationToken cancellationToken = default)
    {
        Dictionary<string, Tensor>? backup = null;
        bool swap = Options.UseEma;
        if (swap)
        {
            backup = Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
            Ema.CopyTo(Model);
        }
        try
        {
            Model.eval();
            _matrix.Reset();
            using (no_grad())
            {
                foreach (var batch in ValLoader.GetBatches(cancellationToken))
                {
                    using var b = batch;
                    using var scope = NewDisposeScope();
                    var logits = Model.call(batch.Images.to(ScalarType.Float32, Device));
                    _matrix.Update(logits, batch.Masks!.to(ScalarType.Int64, Device));
                }
            }
            Sync.AllReduceSum(_matrix.Matrix);
            var report = _matrix.Report(ClassNames);
            Publish(new TrainingProgress(ProgressKind.Validation, Epoch, Iteration, TotalIterations, double.NaN,
                Optimizer.param_groups[0].lr, 0, _clock.Elapsed, new Dictionary<string, double>(), report));
            return report;
        }
        finally
        {
            if (backup is not null)
            {
                Model.load_state_dict(backup);
                foreach (var t in backup.Values) t.Dispose();
            }
            Model.train();
        }
    }

    /// <summary>
    /// Writes a checkpoint (see the class remarks for its keys). <paramref name="best"/>: the EMA weights with no
    /// optimiser, scheduler or EMA state, as the reference's best.pth.
    /// </summary>
    public void SaveCheckpoint(string path, bool best)
    {
        var ckpt = new Dictionary<string, object?>
        {
            ["cur_epoch"] = (long)Epoch,
            ["best_score"] = BestScore,
            ["state_dict"] = best ? Ema.state_dict() : Model.state_dict(),
            ["optimizer"] = best ? null : Optimizer.state_dict(),
            ["scheduler"] = best ? null : Scheduler.state_dict(),
            ["train_itrs"] = Iteration,
            ["ema"] = best ? null : Ema.state_dict(),
            ["scaler"] = best || Scaler is null ? null : Scaler.state_dict(),
            ["random_seed"] = Options.RandomSeed,
            ["config"] = Options.ToJson(),
        };
        save(ckpt, path);
    }

    /// <summary>The keys every checkpoint written by <see cref="SaveCheckpoint"/> has.</summary>
    public static IReadOnlyList<string> CheckpointKeys { get; } =
        ["cur_epoch", "best_score", "state_dict", "optimizer", "scheduler", "train_itrs", "ema", "scaler", "random_seed", "config"];

    // Loads weights and best score; with resume also epoch, steps, optimiser, scheduler and scaler. Returns the EMA state
    // (in the caller's dispose scope) when resuming from a checkpoint that has one.
    private Dictionary<string, Tensor>? LoadCheckpoint(string path, bool resume)
    {
        if (load(path) is not Dictionary<string, object?> ckpt || !ckpt.ContainsKey("state_dict"))
            throw new InvalidDataException($"{path}: not a training checkpoint (a dict with 'state_dict')");
        Model.load_state_dict(ToTensorDict(ckpt["state_dict"], "state_dict"));
        Log($"Load model state dict from {path}");
        if (ckpt.TryGetValue("best_score", out var best) && best is not null) BestScore = Convert.ToDouble(best, CultureInfo.InvariantCulture);
        if (!resume) return null;
        if (ckpt.GetValueOrDefault("optimizer") is not Dictionary<string, object?> opt || ckpt.GetValueOrDefault("scheduler") is not Dictionary<string, object?> sched)
            throw new InvalidDataException($"{path}: has no optimizer/scheduler state to resume from (best.pth has none; resume from last.pth or set resume_training=false)");
        int epoch = Convert.ToInt32(ckpt["cur_epoch"], CultureInfo.InvariantCulture);
        StartEpoch = epoch + 1;
        Epoch = epoch;
        Optimizer.load_state_dict(opt);
        Scheduler.load_state_dict(sched);
        Iteration = ckpt.GetValueOrDefault("train_itrs") is long itrs ? itrs : (long)StartEpoch * IterationsPerEpoch;
        if (Scaler is not null && ckpt.GetValueOrDefault("scaler") is Dictionary<string, object?> sc && sc.Count > 0) Scaler.load_state_dict(sc);
        Log($"Resume training from {path} at epoch {StartEpoch}, iteration {Iteration}");
        return ckpt.GetValueOrDefault("ema") is Dictionary<string, object?> ema ? ToTensorDict(ema, "ema") : null;
    }

    private static Dictionary<string, Tensor> ToTensorDict(object? value, string what)
    {
        if (value is not Dictionary<string, object?> dict) throw new InvalidDataException($"checkpoint entry '{what}' is not a dict");
        return dict.ToDictionary(kv => kv.Key, kv => kv.Value as Tensor ?? throw new InvalidDataException($"'{what}.{kv.Key}' is not a tensor"));
    }

    /// <summary>The torch seed used for epoch <paramref name="epoch"/> (dropout and other in-model randomness).</summary>
    public static long EpochSeed(long seed, int epoch) => unchecked(seed * 1_000_003L + epoch + 1);

    private void Publish(TrainingProgress p)
    {
        _progress?.Report(p);
        if (p.Kind == ProgressKind.Iteration)
        {
            IterationCompleted?.Invoke(this, p);
            if (Options.LogInterval > 0 && p.Iteration % Options.LogInterval == 0)
                Log($"Epoch:{p.Epoch}/{Options.TotalEpochs} | Iter:{p.Iteration}/{p.TotalIterations} | Loss:{p.Loss:G4} | lr:{p.LearningRate:G4} | {p.ImagesPerSecond:F1} img/s");
        }
        else ValidationCompleted?.Invoke(this, p);
        if (_metricsLog is null) return;
        var line = new Dictionary<string, object?>
        {
            ["kind"] = p.Kind == ProgressKind.Iteration ? "train" : "val",
            ["epoch"] = p.Epoch,
            ["iteration"] = p.Iteration,
            ["time_s"] = Math.Round(p.Elapsed.TotalSeconds, 3),
        };
        if (p.Kind == ProgressKind.Iteration)
        {
            line["lr"] = p.LearningRate;
            line["images_per_s"] = Math.Round(p.ImagesPerSecond, 2);
            foreach (var (k, v) in p.LossParts) line[k] = v;
        }
        else if (p.Report is not null)
        {
            line["mIoU"] = p.Report.MeanIoU;
            line["pixel_accuracy"] = p.Report.PixelAccuracy;
            line["iou"] = p.Report.ClassNames.Zip(p.Report.IoU).ToDictionary(x => x.First, x => x.Second);
        }
        _metricsLog.WriteLine(JsonSerializer.Serialize(line));
        WriteTensorBoard(p);
    }

    // The reference's tags: train/loss (and each loss part) and train/lr per iteration; val/mIoU and per-class IoU
    // per validation, at step epoch + 1. Per-class tags use the class name rather than the reference's float-formatted index.
    private void WriteTensorBoard(TrainingProgress p)
    {
        if (_tensorBoard is null) return;
        if (p.Kind == ProgressKind.Iteration)
        {
            _tensorBoard.AddScalar("train/loss", p.Loss, p.Iteration);
            _tensorBoard.AddScalar("train/lr", p.LearningRate, p.Iteration);
            foreach (var (k, v) in p.LossParts)
                if (k != "loss") _tensorBoard.AddScalar("train/" + k, v, p.Iteration);
        }
        else if (p.Report is not null)
        {
            long step = p.Epoch + 1;
            _tensorBoard.AddScalar("val/mIoU", p.Report.MeanIoU, step);
            _tensorBoard.AddScalar("val/pixel_accuracy", p.Report.PixelAccuracy, step);
            foreach (var (name, iou) in p.Report.ClassNames.Zip(p.Report.IoU)) _tensorBoard.AddScalar("val/IoU_" + name, iou, step);
        }
        _tensorBoard.Flush();
    }

    // options.weights (a published tag or a file) and options.encoder_weights; a resumed checkpoint is loaded after them.
    private void LoadInitialWeights(SegmentationModel model, TrainerOptions options)
    {
        var download = new DownloadLog(Log);
        if (options.Weights is { } weights)
        {
            string path;
            try
            {
                path = PretrainedWeights.LooksLikePath(weights)
                    ? weights
                    : PretrainedWeights.ResolvePath(model.Info?.Name ?? throw new TrainerOptionException("weights",
                        $"'{weights}' names published weights, which need a model built by the zoo (set model)"), model.Options?.Encoder, weights, progress: download);
            }
            catch (ArgumentException e) when (e is not TrainerOptionException)
            {
                throw new TrainerOptionException("weights", e.Message);
            }
            using (var checkpoint = FastSeg.Models.Inference.ModelCheckpoint.Read(path)) checkpoint.LoadInto(model, headsOptional: true);
            model.train();
            Log($"Load initial weights from {path}");
        }
        if (options.EncoderWeights is { } tag)
        {
            IReadOnlyList<string> loaded;
            try
            {
                loaded = PretrainedWeights.LoadEncoder(model, tag.ToLowerInvariant(), progress: download);
            }
            catch (ArgumentException e) when (e is not TrainerOptionException)
            {
                throw new TrainerOptionException("encoder_weights", e.Message);
            }
            model.train();
            Log($"Load {tag} weights into {string.Join(", ", loaded.Select(n => n.Length == 0 ? "the model" : n))}");
        }
    }

    private sealed class DownloadLog(Action<string> log) : IProgress<DownloadProgress>
    {
        private bool _started;

        public void Report(DownloadProgress value)
        {
            if (!_started)
            {
                _started = true;
                log($"Downloading {value.Url} to {value.FilePath}");
            }
            if (value.Completed) log($"Downloaded {value.FilePath} ({value.BytesReceived:N0} bytes)");
        }
    }

    private void Log(string message)
    {
        if (!IsMain) return;
        _logger?.LogInformation("{Message}", message);
        _textLog?.WriteLine($"[{DateTime.Now:yyyy-MM-dd HH:mm}] {message}");
    }

    /// <summary>Makes <see cref="Dispose"/> free the model, as when the trainer built it (for factories that build it for the trainer).</summary>
    internal void TakeModelOwnership() => _ownsModel = true;

    /// <summary>Frees the EMA, optimiser state, metrics and (when the trainer built it) the model; closes the logs.</summary>
    public void Dispose()
    {
        Ema.Dispose();
        Optimizer.Dispose();
        _matrix.Dispose();
        (_loss as IDisposable)?.Dispose();
        _textLog?.Dispose();
        _metricsLog?.Dispose();
        _tensorBoard?.Dispose();
        if (_ownsModel) Model.Dispose();
        _ownsModel = false;
    }
}
