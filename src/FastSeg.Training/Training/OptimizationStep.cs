using FastSeg.Torch;
using FastSeg.Models.Inference;
using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// What turns a loss into new weights, and the part of a checkpoint that belongs to it: the optimiser, the
/// per-iteration LR scheduler and (float16 AMP on CUDA) the gradient scaler, with the gradient all-reduce between
/// backward and step on several processes.
/// </summary>
internal sealed class OptimizationStep : IDisposable
{
    private readonly IReadOnlyList<nn.Parameter> _parameters;
    private readonly IGradientSync _sync;

    public OptimizationStep(TrainingRecipe recipe, IReadOnlyList<nn.Parameter> parameters, IGradientSync sync, Device device,
        int iterationsPerEpoch, long totalIterations)
    {
        _parameters = parameters;
        _sync = sync;
        LearningRate = recipe.PeakLearningRate(sync.WorldSize);
        Optimizer = recipe.CreateOptimizer(parameters, LearningRate);
        Scheduler = TrainingRecipe.CreateScheduler(recipe.Options, Optimizer, LearningRate, iterationsPerEpoch, totalIterations);
        Scaler = recipe.Options.AmpTraining && device.type == DeviceType.CUDA ? new GradScaler(sync: sync) : null;
    }

    public double LearningRate { get; }
    public optim.Optimizer Optimizer { get; }
    public optim.lr_scheduler.LRScheduler Scheduler { get; }
    public GradScaler? Scaler { get; }

    /// <summary>The learning rate of the next step.</summary>
    public double CurrentLearningRate => Optimizer.param_groups[0].lr;

    /// <summary>Backward (scaled with a scaler), gradient all-reduce, optimiser step (skipped by the scaler on inf/NaN), scheduler step.</summary>
    public void Apply(Tensor loss)
    {
        (Scaler?.ScaleLoss(loss) ?? loss).backward();
        _sync.AllReduceGradients(_parameters);
        if (Scaler is not null)
        {
            Scaler.Step(Optimizer);
            Scaler.Update();
        }
        else Optimizer.step();
        Scheduler.step();
    }

    /// <summary>The optimiser, scheduler and scaler entries of a checkpoint.</summary>
    public TrainingState Capture(TrainingState state) => state with
    {
        Optimizer = Optimizer.state_dict(),
        Scheduler = Scheduler.state_dict(),
        Scaler = Scaler?.state_dict(),
    };

    /// <summary>Restores optimiser and scheduler (required) and the scaler (when both sides have one) from a checkpoint.</summary>
    public void Restore(TrainingState state, string path)
    {
        if (state.Optimizer is null || state.Scheduler is null)
            throw new InvalidDataException($"{path}: has no optimizer/scheduler state to resume from (best.pth has none; resume from last.pth or set resume_training=false)");
        Optimizer.load_state_dict(state.Optimizer);
        Scheduler.load_state_dict(state.Scheduler);
        if (Scaler is not null && state.Scaler is { Count: > 0 } scaler) Scaler.load_state_dict(scaler);
    }

    public void Dispose() => Optimizer.Dispose();
}
