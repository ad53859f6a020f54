using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>Multiplies each group's learning rate by <see cref="gamma"/> every step: lr = base_lr · gammaᵗ.</summary>
public sealed class ExponentialLR : optim.lr_scheduler.LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step.</summary>
    public ExponentialLR(optim.Optimizer optimizer, double gamma, int last_epoch = -1) : base(optimizer)
    {
        this.gamma = gamma;
        Initialize(last_epoch);
    }

    /// <summary>The decay factor.</summary>
    public double gamma { get; private set; }

    /// <inheritdoc />
    protected override double[] get_lr() => last_epoch == 0 ? FromGroups(lr => lr) : FromGroups(lr => lr * gamma);

    /// <inheritdoc />
    protected override double[]? closed_form_lr() => FromBase(b => b * Math.Pow(gamma, last_epoch));

    /// <inheritdoc />
    protected override void WriteOwnState(Dictionary<string, object?> state) => state["gamma"] = gamma;

    /// <inheritdoc />
    protected override void ReadOwnState(Dictionary<string, object?> state)
    {
        if (state.TryGetValue("gamma", out var g)) gamma = OptionValues.ToDouble(g, "gamma");
    }
}
