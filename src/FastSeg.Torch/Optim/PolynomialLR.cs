using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Polynomial decay over <see cref="total_iters"/> steps: lr = base_lr · (1 − min(t, total_iters) / total_iters)^power
/// (computed incrementally, as PyTorch 1.13 does); the rate stays at 0 afterwards. The "poly" policy of segmentation
/// trainers, lr = base·(1 − it/max_iter)^0.9, is <c>new PolynomialLR(optimizer, total_iters: max_iter, power: 0.9)</c>
/// stepped once per iteration; for poly with a linear warm-up see <see cref="SequentialLR"/>.
/// </summary>
public sealed class PolynomialLR : optim.lr_scheduler.LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step (PyTorch's defaults: 5 steps, power 1).</summary>
    public PolynomialLR(optim.Optimizer optimizer, int total_iters = 5, double power = 1.0, int last_epoch = -1) : base(optimizer)
    {
        if (total_iters <= 0) throw new ArgumentOutOfRangeException(nameof(total_iters), total_iters, "total_iters must be positive");
        this.total_iters = total_iters;
        this.power = power;
        Initialize(last_epoch);
    }

    /// <summary>Steps until the rate reaches 0.</summary>
    public int total_iters { get; private set; }

    /// <summary>The exponent of the decay.</summary>
    public double power { get; private set; }

    /// <inheritdoc />
    protected override double[] get_lr()
    {
        if (last_epoch == 0 || last_epoch > total_iters) return FromGroups(lr => lr);
        double factor = Math.Pow((1.0 - (double)last_epoch / total_iters) / (1.0 - (double)(last_epoch - 1) / total_iters), power);
        return FromGroups(lr => lr * factor);
    }

    /// <inheritdoc />
    protected override double[]? closed_form_lr() =>
        FromBase(b => b * Math.Pow(1.0 - (double)Math.Min(total_iters, last_epoch) / total_iters, power));

    /// <inheritdoc />
    protected override void WriteOwnState(Dictionary<string, object?> state)
    {
        state["total_iters"] = (long)total_iters;
        state["power"] = power;
    }

    /// <inheritdoc />
    protected override void ReadOwnState(Dictionary<string, object?> state)
    {
        if (state.TryGetValue("total_iters", out var t)) total_iters = OptionValues.ToInt(t, "total_iters");
        if (state.TryGetValue("power", out var p)) power = OptionValues.ToDouble(p, "power");
    }
}
