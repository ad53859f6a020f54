using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Multiplies each group's learning rate by <see cref="gamma"/> every <see cref="step_size"/> steps:
/// lr = base_lr · gamma^⌊t / step_size⌋ (computed incrementally, as PyTorch does).
/// </summary>
public sealed class StepLR : optim.lr_scheduler.LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step.</summary>
    public StepLR(optim.Optimizer optimizer, int step_size, double gamma = 0.1, int last_epoch = -1) : base(optimizer)
    {
        if (step_size <= 0) throw new ArgumentOutOfRangeException(nameof(step_size), step_size, "step_size must be positive");
        this.step_size = step_size;
        this.gamma = gamma;
        Initialize(last_epoch);
    }

    /// <summary>Steps between decays.</summary>
    public int step_size { get; private set; }

    /// <summary>The decay factor.</summary>
    public double gamma { get; private set; }

    /// <inheritdoc />
    protected override double[] get_lr() =>
        last_epoch == 0 || last_epoch % step_size != 0 ? FromGroups(lr => lr) : FromGroups(lr => lr * gamma);

    /// <inheritdoc />
    protected override double[]? closed_form_lr() => FromBase(b => b * Math.Pow(gamma, last_epoch / step_size));

    /// <inheritdoc />
    protected override void WriteOwnState(Dictionary<string, object?> state)
    {
        state["step_size"] = (long)step_size;
        state["gamma"] = gamma;
    }

    /// <inheritdoc />
    protected override void ReadOwnState(Dictionary<string, object?> state)
    {
        if (state.TryGetValue("step_size", out var s)) step_size = OptionValues.ToInt(s, "step_size");
        if (state.TryGetValue("gamma", out var g)) gamma = OptionValues.ToDouble(g, "gamma");
    }
}
