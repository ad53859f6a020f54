using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Modules;

/// <summary>
/// Batch normalisation over (N, C, H, W) (PyTorch's <c>nn.BatchNorm2d</c>). State-dict entries, in order: weight,
/// bias, running_mean, running_var, num_batches_tracked (int64 scalar).
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

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"BatchNorm2d expects a 4-D input (N, C, H, W), got shape {Tensor.ShapeString(input.shape)}");
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

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{num_features}, eps={eps}, momentum={momentum?.ToString() ?? "None"}, affine={affine}";
}
