using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Adam with PyTorch 1.13's update rule. For each parameter with a gradient g (negated when <c>maximize</c>), at step t:
/// g ← g + weight_decay·p (L2 penalty); m ← β₁·m + (1 − β₁)·g; v ← β₂·v + (1 − β₂)·g²; with <c>amsgrad</c>
/// v̂ ← max(v̂, v) replaces v below; p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps).
/// </summary>
/// <remarks>
/// Group options (PyTorch's keys, in its order): <c>lr</c>, <c>betas</c> (a two-element <c>object?[]</c>), <c>eps</c>,
/// <c>weight_decay</c>, <c>amsgrad</c>, <c>maximize</c>, <c>foreach</c> (null), <c>capturable</c>, <c>differentiable</c>,
/// <c>fused</c> (all false); the last four are kept for layout compatibility and do not change the computation.
/// State per parameter: <c>step</c> (a float32 scalar tensor, as PyTorch 1.13 stores it), <c>exp_avg</c>,
/// <c>exp_avg_sq</c>, and <c>max_exp_avg_sq</c> with amsgrad.
/// </remarks>
public sealed class Adam : torch.optim.Optimizer
{
    /// <summary>Adam over one group holding <paramref name="parameters"/>; <paramref name="betas"/> defaults to (0.9, 0.999).</summary>
    public Adam(IEnumerable<nn.Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : this(SingleGroup(parameters), lr, betas, eps, weight_decay, amsgrad, maximize)
    {
    }

    /// <summary>Adam over several groups; options a group does not set come from these arguments.</summary>
    public Adam(IEnumerable<torch.optim.ParamGroup> param_groups, double lr = 1e-3, (double, double)? betas = null,
        double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : base(param_groups, Defaults(lr, betas ?? (0.9, 0.999), eps, weight_decay, amsgrad, maximize))
    {
    }

    internal static void Validate(double lr, (double, double) betas, double eps, double weight_decay)
    {
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "Invalid learning rate");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "Invalid epsilon value");
        if (!(betas.Item1 >= 0 && betas.Item1 < 1)) throw new ArgumentOutOfRangeException(nameof(betas), betas.Item1, "Invalid beta parameter at index 0");
        if (!(betas.Item2 >= 0 && betas.Item2 < 1)) throw new ArgumentOutOfRangeException(nameof(betas), betas.Item2, "Invalid beta parameter at index 1");
        if (!(weight_decay >= 0)) throw new ArgumentOutOfRangeException(nameof(weight_decay), weight_decay, "Invalid weight_decay value");
    }

    private static KeyValuePair<string, object?>[] Defaults(double lr, (double, double) betas, double eps, double weight_decay,
        bool amsgrad, bool maximize)
    {
        Validate(lr, betas, eps, weight_decay);
        return new KeyValuePair<string, object?>[]
        {
            new("lr", lr), new("betas", new object?[] { betas.Item1, betas.Item2 }), new("eps", eps),
            new("weight_decay", weight_decay), new("amsgrad", amsgrad), new("maximize", maximize), new("foreach", null),
            new("capturable", false), new("differentiable", false), new("fused", false),
        };
    }

    /// <inheritdoc />
    public override Tensor? step(Func<Tensor>? closure = null)
    {
        ThrowIfDisposed();
        var loss = EvaluateClosure(closure);
        using var noGrad = no_grad();
        foreach (var group in param_groups) AdamUpdate.Step(group, StateOf, decoupledWeightDecay: false);
        return loss;
    }
}
