using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Scales each group's learning rate by a factor that moves linearly from <see cref="start_factor"/> to
/// <see cref="end_factor"/> over <see cref="total_iters"/> steps, then stays there:
/// lr = base_lr · (start + (end − start)·min(t, total_iters)/total_iters) (computed incrementally, as PyTorch does).
/// With <see cref="SequentialLR"/> this is a linear warm-up in front of another schedule.
/// </summary>
public sealed class LinearLR : optim.lr_scheduler.LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step (PyTorch's defaults: 1/3 → 1 over 5 steps).</summary>
    public LinearLR(optim.Optimizer optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int total_iters = 5,
        int last_epoch = -1) : base(optimizer)
    {
        if (!(start_factor > 0 && start_factor <= 1))
            throw new ArgumentOutOfRangeException(nameof(start_factor), start_factor, "Starting multiplicative factor expected to be in (0, 1].");
        if (!(end_factor >= 0 && end_factor <= 1))
            throw new ArgumentOutOfRangeException(nameof(end_factor), end_factor, "Ending multiplicative factor expected to be between 0 and 1.");
        if (total_iters <= 0) throw new ArgumentOutOfRangeException(nameof(total_iters), total_iters, "total_iters must be positive");
        this.start_factor = start_factor;
        this.end_factor = end_factor;
        this.total_iters = total_iters;
        Initialize(last_epoch);
    }

    /// <summary>The factor at step 0.</summary>
    public double start_factor { get; private set; }

    /// <summary>The factor from step <see cref="total_iters"/> on.</summary>
    public double end_factor { get; private set; }

    /// <summary>Steps of the linear ramp.</summary>
    public int total_iters { get; private set; }

    /// <inheritdoc />
    protected override double[] get_lr()
    {
        if (last_epoch == 0) return FromGroups(lr => lr * start_factor);
        if (last_epoch > total_iters) return FromGroups(lr => lr);
        double factor = 1.0 + (end_factor - start_factor)
            / (total_iters * start_factor + (last_epoch - 1) * (end_factor - start_factor));
        return FromGroups(lr => lr * factor);
    }

    /// <inheritdoc />
    protected override double[]? closed_form_lr() =>
        FromBase(b => b * (start_factor + (end_factor - start_factor) * Math.Min(total_iters, last_epoch) / total_iters));

    /// <inheritdoc />
    protected override void WriteOwnState(Dictionary<string, object?> state)
    {
        state["start_factor"] = start_factor;
        state["end_factor"] = end_factor;
        state["total_iters"] = (long)total_iters;
    }

    /// <inheritdoc />
    protected override void ReadOwnState(Dictionary<string, object?> state)
    {
        if (state.TryGetValue("start_factor", out var s)) start_factor = OptionValues.ToDouble(s, "start_factor");
        if (state.TryGetValue("end_factor", out var e)) end_factor = OptionValues.ToDouble(e, "end_factor");
        if (state.TryGetValue("total_iters", out var t)) total_iters = OptionValues.ToInt(t, "total_iters");
    }
}
