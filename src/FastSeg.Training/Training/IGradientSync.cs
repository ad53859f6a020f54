using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// The trainer's seam to data-parallel training: how the processes of one run agree. The trainer calls
/// <see cref="BroadcastParameters"/> once before training, <see cref="AllReduceGradients"/> after every backward pass
/// (before the optimiser step or the gradient scaler's unscale), <see cref="AllReduceSum"/> on the validation confusion
/// matrix and on the scaler's found-inf flag, and <see cref="Barrier"/> around checkpoint writes. Only rank 0 writes
/// checkpoints and logs. <see cref="SingleProcessSync"/> is the one-process implementation; a torch.distributed
/// backend implements the same interface.
/// </summary>
public interface IGradientSync
{
    /// <summary>This process's rank (0 for the main one).</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int WorldSize { get; }

    /// <summary>Makes every rank start from rank 0's parameters and buffers.</summary>
    void BroadcastParameters(nn.Module module);

    /// <summary>Replaces each parameter's gradient by its mean over the ranks (parameters without a gradient are skipped).</summary>
    void AllReduceGradients(IReadOnlyList<nn.Parameter> parameters);

    /// <summary>Sums <paramref name="tensor"/> over the ranks, in place.</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>Waits until every rank gets here.</summary>
    void Barrier();
}

/// <summary>One process: every operation is a no-op.</summary>
public sealed class SingleProcessSync : IGradientSync
{
    /// <summary>The shared instance.</summary>
    public static SingleProcessSync Instance { get; } = new();

    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int WorldSize => 1;

    /// <inheritdoc />
    public void BroadcastParameters(nn.Module module) { }

    /// <inheritdoc />
    public void AllReduceGradients(IReadOnlyList<nn.Parameter> parameters) { }

    /// <inheritdoc />
    public void AllReduceSum(Tensor tensor) { }

    /// <inheritdoc />
    public void Barrier() { }
}
