using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Modules;

/// <summary>
/// Batch normalisation over (N, C, H, W) (PyTorch's <c>nn.BatchNorm2d</c>). State-dict entries, in order: weight,
/// bias, running_mean, running_var, num_batches_tracked (int64 scalar). With a <see cref="process_group"/> of more than
/// one rank (set by <see cref="nn.SyncBatchNorm.convert_sync_batchnorm"/>) it is PyTorch's <c>nn.SyncBatchNorm</c> in
/// training: the statistics are those of the global batch, the union of every rank's batch.
/// </summary>
public sealed class BatchNorm2d : Module<Tensor, Tensor>
{
    /// <summary>Scale γ (num_features), or null when not affine.</summary>
    public Parameter? weight;
    /// <summary>Shift β (num_features), or null when not affine.</summary>
    public Parameter? bias;
    /// <summary>Running mean, or null without running statistics.</summary>
    public Tensor? running_mean;
    /// <summary>Running (unbiased) variance, or null without running statistics.</summary>
    public Tensor? running_var;
    /// <summary>Number of training batches seen (int64 scalar), or null without running statistics.</summary>
    public Tensor? num_batches_tracked;

    internal BatchNorm2d(long num_features, double eps, double? momentum, bool affine, bool track_running_stats,
        ScalarType? dtype, Device? device) : base(nameof(BatchNorm2d))
    {
        this.num_features = num_features;
        this.eps = eps;
        this.momentum = momentum;
        this.affine = affine;
        this.track_running_stats = track_running_stats;
        register_parameter("weight", affine ? new Parameter(ones(new[] { num_features }, dtype, device)) : null);
        register_parameter("bias", affine ? new Parameter(zeros(new[] { num_features }, dtype, device)) : null);
        if (track_running_stats)
        {
            register_buffer("running_mean", zeros(new[] { num_features }, dtype, device));
            register_buffer("running_var", ones(new[] { num_features }, dtype, device));
            register_buffer("num_batches_tracked", zeros(Array.Empty<long>(), ScalarType.Int64, device));
        }
    }

    /// <summary>Channels.</summary>
    public long num_features { get; }
    /// <summary>Added to the variance for stability.</summary>
    public double eps { get; }
    /// <summary>Running-average factor; null means a cumulative average over all batches.</summary>
    public double? momentum { get; }
    /// <summary>Whether γ and β are learned.</summary>
    public bool affine { get; }
    /// <summary>Whether running statistics are kept (and used in eval).</summary>
    public bool track_running_stats { get; }

    /// <summary>
    /// The ranks whose batches are normalised together in training (SyncBatchNorm), or null for this process's batch
    /// alone. A group of one rank, or eval mode, is plain batch norm. Every rank of the group must run the same forward
    /// and backward passes through this module, in the same order.
    /// </summary>
    public distributed.ProcessGroup? process_group { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"BatchNorm2d expects a 4-D input (N, C, H, W), got shape {Tensor.ShapeString(input.shape)}");
        if (training && process_group is { Size: > 1 } group) return SynchronisedForward(input, group);
        if (training)
        {
            // PyTorch refuses batch statistics over a single value per channel (the variance is undefined).
            var shape = input.shape;
            if (shape[0] * shape[2] * shape[3] == 1)
                throw new ArgumentException($"BatchNorm2d: expected more than 1 value per channel when training, got input size [{string.Join(", ", shape)}]");
        }
        double factor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is not null)
        {
            using (no_grad()) num_batches_tracked.add_(1);
            if (momentum is null) factor = 1.0 / num_batches_tracked.item<long>();
        }
        // Batch statistics in training, or whenever there are no running statistics to use.
        bool useBatchStats = training || running_mean is null;
        return functional.batch_norm(input, running_mean, running_var,
            weight, bias, useBatchStats, factor, eps);
    }

    // SyncBatchNorm's training forward from differentiable ops. Each rank reduces its own batch to (count, mean, sum of
    // squared deviations) per channel; one differentiable all-reduce of a zero matrix in which each rank filled its own
    // row gathers them all, and Chan's formula merges them into the global mean and variance (count-weighted, so
    // unequal batches work, and without the cancellation of E[x²] - E[x]²). Autograd then differentiates through the
    // all-reduce: its backward sums over the ranks the gradients of the statistics (PyTorch's sum_dy and sum_dy_xmu).
    private Tensor SynchronisedForward(Tensor input, distributed.ProcessGroup group)
    {
        Tensor result;
        using (var scope = NewDisposeScope())
        {
            // Statistics in at least float32, as the native batch norm keeps them under autocast.
            var x = input.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? input.to(ScalarType.Float32) : input;
            var shape = x.shape;
            long channels = shape[1], count = shape[0] * shape[2] * shape[3];
            if (channels != num_features)
                throw new ArgumentException($"SyncBatchNorm: expected {num_features} channels, got input of shape {Tensor.ShapeString(shape)}");
            var perChannel = new long[] { 0, 2, 3 };
            var localMean = x.sum(perChannel) / Math.Max(count, 1);
            var localM2 = (x - localMean.view(1, channels, 1, 1)).square().sum(perChannel);
            var row = cat(new[] { full(new long[] { 1 }, count, x.dtype, x.device), localMean, localM2 });

            int world = group.Size, rank = group.Rank;
            var slot = new float[world];
            slot[rank] = 1;
            var mine = tensor(slot, new long[] { world, 1 }, x.dtype, x.device) * row.unsqueeze(0);
            var all = distributed.differentiable_all_reduce(mine, group);                 // (world, 1 + 2C)
            var counts = all.narrow(1, 0, 1);                                              // (world, 1)
            var means = all.narrow(1, 1, channels);
            var m2s = all.narrow(1, 1 + channels, channels);
            double total = counts.sum().item<double>();
            if (total <= 1)
                throw new ArgumentException($"SyncBatchNorm: expected more than 1 value per channel over the {world} ranks when training, got {total}");
            var mean = (counts * means).sum(0) / total;
            var m2 = m2s.sum(0) + (counts * (means - mean.unsqueeze(0)).square()).sum(0);
            var variance = m2 / total;

            if (track_running_stats && running_mean is not null && running_var is not null && num_batches_tracked is not null)
            {
                using (no_grad())
                {
                    num_batches_tracked.add_(1);
                    double factor = momentum ?? 1.0 / num_batches_tracked.item<long>();
                    running_mean.mul_(1 - factor).add_(mean.detach().to(running_mean.dtype), factor);
                    running_var.mul_(1 - factor).add_((variance.detach() * (total / (total - 1))).to(running_var.dtype), factor);
                }
            }

            var y = (x - mean.view(1, channels, 1, 1)) * (variance + eps).rsqrt().view(1, channels, 1, 1);
            if (weight is not null) y = y * weight.view(1, channels, 1, 1);
            if (bias is not null) y = y + bias.view(1, channels, 1, 1);
            result = (y.dtype == input.dtype ? y : y.to(input.dtype)).MoveToOuterDisposeScope();
        }
        return result;
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{num_features}, eps={eps}, momentum={momentum?.ToString() ?? "None"}, affine={affine}";
}
