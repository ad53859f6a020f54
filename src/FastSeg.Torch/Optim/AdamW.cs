using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// AdamW (Adam with decoupled weight decay) with PyTorch 1.13's update rule: at each step the parameter is first
/// shrunk, p ← p·(1 − lr·weight_decay), then updated as in <see cref="Adam"/> without adding the decay to the gradient.
/// </summary>
/// <remarks>
/// Group options (PyTorch's keys, in its order): <c>lr</c>, <c>betas</c>, <c>eps</c>, <c>weight_decay</c>,
/// <c>amsgrad</c>, <c>foreach</c> (null), <c>maximize</c>, <c>capturable</c> (false, kept for layout compatibility).
/// State per parameter as for <see cref="Adam"/>.
/// </remarks>
public sealed class AdamW : torch.optim.Optimizer
{
    /// <summary>AdamW over one group holding <paramref name="parameters"/>; <paramref name="betas"/> defaults to (0.9, 0.999).</summary>
    public AdamW(IEnumerable<nn.Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8,
        double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false)
        : this(SingleGroup(parameters), lr, betas, eps, weight_decay, amsgrad, maximize)
    {
    }

    /// <summary>AdamW over several groups; options a group does not set come from these arguments.</summary>
    public AdamW(IEnumerable<torch.optim.ParamGroup> param_groups, double lr = 1e-3, (double, double)? betas = null,
        double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(param_groups, Defaults(lr, betas ?? (0.9, 0.999), eps, weight_decay, amsgrad, maximize))
    {
    }

    private static KeyValuePair<string, object?>[] Defaults(double lr, (double, double) betas, double eps, double weight_decay,
        bool amsgrad, bool maximize)
    {
        Adam.Validate(lr, betas, eps, weight_decay);
        return new KeyValuePair<string, object?>[]
        {
            new("lr", lr), new("betas", new object?[] { betas.Item1, betas.Item2 }), new("eps", eps),
            new("weight_decay", weight_decay), new("amsgrad", amsgrad), new("foreach", null), new("maximize", maximize),
            new("capturable", false),
        };
    }

    /// <inheritdoc />
    public override Tensor? step(Func<Tensor>? closure = null)
    {
        ThrowIfDisposed();
        var loss = EvaluateClosure(closure);
        using var noGrad = no_grad();
        foreach (var group in param_groups) AdamUpdate.Step(group, StateOf, decoupledWeightDecay: true);
        return loss;
    }
}
