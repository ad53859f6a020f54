using static FastSeg.Torch.torch;

namespace FastSeg.Models.Inference;

/// <summary>
/// What a trainer checkpoint holds beside the weights (zh320's keys, see <see cref="ModelCheckpoint.TrainerKeys"/>):
/// everything a run needs to continue where it stopped. Every entry may be absent (null): <c>best.pth</c> has no
/// optimiser, scheduler, EMA or scaler state.
/// </summary>
public sealed record TrainingState
{
    /// <summary>The last finished epoch (<c>cur_epoch</c>, 0-based).</summary>
    public int? Epoch { get; init; }

    /// <summary>The best validation mIoU so far, as a fraction (<c>best_score</c>).</summary>
    public double? BestScore { get; init; }

    /// <summary>Optimiser steps so far (<c>train_itrs</c>).</summary>
    public long? Iterations { get; init; }

    /// <summary>The optimiser's state dict (<c>optimizer</c>).</summary>
    public Dictionary<string, object?>? Optimizer { get; init; }

    /// <summary>The LR scheduler's state dict (<c>scheduler</c>).</summary>
    public Dictionary<string, object?>? Scheduler { get; init; }

    /// <summary>The weight average's state dict (<c>ema</c>), DataParallel's <c>module.</c> prefix removed.</summary>
    public IReadOnlyDictionary<string, Tensor>? Ema { get; init; }

    /// <summary>The gradient scaler's state dict (<c>scaler</c>; float16 AMP on CUDA).</summary>
    public Dictionary<string, object?>? Scaler { get; init; }

    /// <summary>The run's seed (<c>random_seed</c>).</summary>
    public long? RandomSeed { get; init; }

    /// <summary>The run's options as JSON with the reference's keys (<c>config</c>).</summary>
    public string? Config { get; init; }
}
