using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Cosine annealing from each group's base lr down to <see cref="eta_min"/> over <see cref="T_max"/> steps:
/// lr = eta_min + (base_lr − eta_min)·(1 + cos(π·t / T_max)) / 2, computed incrementally as in PyTorch (which also
/// makes the schedule climb back up after T_max, as PyTorch's does).
/// </summary>
public sealed class CosineAnnealingLR : optim.lr_scheduler.LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step.</summary>
    public CosineAnnealingLR(optim.Optimizer optimizer, int T_max, double eta_min = 0, int last_epoch = -1) : base(optimizer)
    {
        if (T_max <= 0) throw new ArgumentOutOfRangeException(nameof(T_max), T_max, "T_max must be positive");
        this.T_max = T_max;
        this.eta_min = eta_min;
        Initialize(last_epoch);
    }

    /// <summary>Steps in half a cosine period.</summary>
    public int T_max { get; private set; }

    /// <summary>The lowest learning rate.</summary>
    public double eta_min { get; private set; }

    /// <inheritdoc />
    protected override double[] get_lr()
    {
        if (last_epoch == 0) return FromGroups(lr => lr);
        if (step_count == 1 && last_epoch > 0)
            return FromBase(b => eta_min + (b - eta_min) * (1 + Math.Cos(last_epoch * Math.PI / T_max)) / 2);
        if ((last_epoch - 1 - T_max) % (2 * T_max) == 0)
            return base_lrs.Select((b, i) => optimizer.param_groups[i].lr + (b - eta_min) * (1 - Math.Cos(Math.PI / T_max)) / 2).ToArray();
        return FromGroups(lr => (1 + Math.Cos(Math.PI * last_epoch / T_max)) / (1 + Math.Cos(Math.PI * (last_epoch - 1) / T_max))
            * (lr - eta_min) + eta_min);
    }

    /// <inheritdoc />
    protected override double[]? closed_form_lr() =>
        FromBase(b => eta_min + (b - eta_min) * (1 + Math.Cos(Math.PI * last_epoch / T_max)) / 2);

    /// <inheritdoc />
    protected override void WriteOwnState(Dictionary<string, object?> state)
    {
        state["T_max"] = (long)T_max;
        state["eta_min"] = eta_min;
    }

    /// <inheritdoc />
    protected override void ReadOwnState(Dictionary<string, object?> state)
    {
        if (state.TryGetValue("T_max", out var t)) T_max = OptionValues.ToInt(t, "T_max");
        if (state.TryGetValue("eta_min", out var e)) eta_min = OptionValues.ToDouble(e, "eta_min");
    }
}
