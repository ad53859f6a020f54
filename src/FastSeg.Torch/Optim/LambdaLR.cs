using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Sets each group's learning rate to base_lr · λ(t), with one function for all groups or one per group. Any policy
/// with a closed form fits here, e.g. poly with a linear warm-up of W steps out of T:
/// <c>t =&gt; t &lt; W ? f + (1 - f) * t / W : Math.Pow(1 - (double)(t - W) / (T - W), 0.9)</c>.
/// </summary>
/// <remarks>Functions are not part of the state dict: <c>lr_lambdas</c> holds one null per group, as PyTorch writes
/// for plain functions. A resumed scheduler must be constructed with the same functions.</remarks>
public sealed class LambdaLR : optim.lr_scheduler.LRScheduler
{
    private readonly Func<int, double>[] _lambdas;

    /// <summary>One factor function for every group.</summary>
    public LambdaLR(optim.Optimizer optimizer, Func<int, double> lr_lambda, int last_epoch = -1)
        : this(optimizer, Enumerable.Repeat(lr_lambda ?? throw new ArgumentNullException(nameof(lr_lambda)), optimizer.param_groups.Count), last_epoch)
    {
    }

    /// <summary>One factor function per group.</summary>
    public LambdaLR(optim.Optimizer optimizer, IEnumerable<Func<int, double>> lr_lambdas, int last_epoch = -1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(lr_lambdas);
        _lambdas = lr_lambdas.ToArray();
        if (_lambdas.Length != optimizer.param_groups.Count)
            throw new ArgumentException($"Expected {optimizer.param_groups.Count} lr_lambdas, but got {_lambdas.Length}", nameof(lr_lambdas));
        if (_lambdas.Any(f => f is null)) throw new ArgumentException("a learning-rate function is null", nameof(lr_lambdas));
        Initialize(last_epoch);
    }

    /// <inheritdoc />
    protected override double[] get_lr() => base_lrs.Select((b, i) => b * _lambdas[i](last_epoch)).ToArray();

    /// <inheritdoc />
    public override Dictionary<string, object?> state_dict()
    {
        var d = base.state_dict();
        d["lr_lambdas"] = Enumerable.Repeat<object?>(null, _lambdas.Length).ToList();
        return d;
    }
}
