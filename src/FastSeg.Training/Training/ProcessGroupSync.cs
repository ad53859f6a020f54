using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// <see cref="IGradientSync"/> over a <c>torch.distributed</c> process group (Gloo on the CPU, NCCL on a CUDA
/// libtorch): rank 0's parameters and buffers are broadcast at the start, gradients are summed across ranks in one
/// coalesced all-reduce per step and divided by the world size (parameters without a gradient on this rank
/// contribute zeros, so every rank steps every parameter alike), and the trainer's confusion matrix and loss-scaler
/// flags are summed.
/// </summary>
public sealed class ProcessGroupSync : IGradientSync
{
    private readonly distributed.ProcessGroup? _group;

    /// <summary>Uses <paramref name="group"/>, or the default group set up by <c>torch.distributed.init_process_group</c>.</summary>
    public ProcessGroupSync(distributed.ProcessGroup? group = null)
    {
        if (group is null && !distributed.is_initialized())
            throw new InvalidOperationException("ProcessGroupSync needs a process group: call torch.distributed.init_process_group() first");
        _group = group;
    }

    /// <summary>The process group: the one given, or the default group.</summary>
    public distributed.ProcessGroup Group => _group ?? distributed.get_default_group();

    /// <inheritdoc />
    public int Rank => Group.Rank;

    /// <inheritdoc />
    public int WorldSize => Group.Size;

    /// <inheritdoc />
    public void BroadcastParameters(nn.Module module) => FastSeg.Torch.Distributed.DdpGradientSync.BroadcastParameters(module, 0, _group);

    /// <inheritdoc />
    public void AllReduceGradients(IReadOnlyList<nn.Parameter> parameters)
    {
        if (parameters.Count == 0) return;
        using var scope = NewDisposeScope();
        var grads = new List<Tensor>(parameters.Count);
        foreach (var p in parameters)
        {
            var g = p.grad;
            if (g is null)
            {
                using (no_grad()) p.grad = zeros_like(p);
                g = p.grad!;
            }
            grads.Add(g);
        }
        distributed.all_reduce_coalesced(grads, distributed.ReduceOp.SUM, _group);
        if (WorldSize > 1)
            using (no_grad())
                foreach (var g in grads) g.div_(WorldSize);
    }

    /// <inheritdoc />
    public void AllReduceSum(Tensor tensor) => distributed.all_reduce(tensor, distributed.ReduceOp.SUM, _group);

    /// <inheritdoc />
    public void Barrier() => distributed.barrier(_group);
}
