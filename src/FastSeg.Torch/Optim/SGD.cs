using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, with
/// PyTorch 1.13's update rule. For each parameter with a gradient g (negated when <c>maximize</c>):
/// g ← g + weight_decay·p; with momentum μ the buffer b starts as a copy of g on the first step and is then
/// b ← μ·b + (1 − dampening)·g; the update direction is g + μ·b with Nesterov, else b; finally p ← p − lr·direction.
/// </summary>
/// <remarks>
/// Group options (PyTorch's keys, in its order): <c>lr</c>, <c>momentum</c>, <c>dampening</c>, <c>weight_decay</c>,
/// <c>nesterov</c>, <c>maximize</c>, <c>foreach</c> (null), <c>differentiable</c> (false); the last two are kept for
/// layout compatibility and do not change the computation. State per parameter: <c>momentum_buffer</c>, a tensor, or
/// null when momentum is 0 (as PyTorch stores it).
/// </remarks>
public sealed class SGD : torch.optim.Optimizer
{
    /// <summary>SGD over one group holding <paramref name="parameters"/>.</summary>
    public SGD(IEnumerable<nn.Parameter> parameters, double lr, double momentum = 0, double dampening = 0,
        double weight_decay = 0, bool nesterov = false, bool maximize = false)
        : this(SingleGroup(parameters), lr, momentum, dampening, weight_decay, nesterov, maximize)
    {
    }

    /// <summary>SGD over several groups; options a group does not set come from these arguments.</summary>
    public SGD(IEnumerable<torch.optim.ParamGroup> param_groups, double lr, double momentum = 0, double dampening = 0,
        double weight_decay = 0, bool nesterov = false, bool maximize = false)
        : base(param_groups, Defaults(lr, momentum, dampening, weight_decay, nesterov, maximize))
    {
    }

    private static KeyValuePair<string, object?>[] Defaults(double lr, double momentum, double dampening, double weight_decay,
        bool nesterov, bool maximize)
    {
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "Invalid learning rate");
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Invalid momentum value");
        if (!(weight_decay >= 0)) throw new ArgumentOutOfRangeException(nameof(weight_decay), weight_decay, "Invalid weight_decay value");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening", nameof(nesterov));
        return new KeyValuePair<string, object?>[]
        {
            new("lr", lr), new("momentum", momentum), new("dampening", dampening), new("weight_decay", weight_decay),
            new("nesterov", nesterov), new("maximize", maximize), new("foreach", null), new("differentiable", false),
        };
    }

    /// <inheritdoc />
    public override Tensor? step(Func<Tensor>? closure = null)
    {
        ThrowIfDisposed();
        var loss = EvaluateClosure(closure);
        using var noGrad = no_grad();
        foreach (var group in param_groups)
        {
            double lr = group.GetDouble("lr");
            double momentum = group.GetDouble("momentum");
            double dampening = group.GetDouble("dampening");
            double weightDecay = group.GetDouble("weight_decay");
            bool nesterov = group.GetBool("nesterov");
            bool maximize = group.GetBool("maximize");
            foreach (var p in group.Parameters)
            {
                using var scope = NewDisposeScope();
                var grad = p.grad;
                if (grad is null) continue;
                var state = StateOf(p);
                state.TryGetValue("momentum_buffer", out var stored);
                var buffer = stored as Tensor;

                var direction = maximize ? grad.neg() : grad;
                if (weightDecay != 0) direction = direction.add(p, weightDecay);
                if (momentum != 0)
                {
                    if (buffer is null)
                    {
                        buffer = Keep(direction.clone());
                        state["momentum_buffer"] = buffer;
                    }
                    else
                    {
                        buffer.mul_(momentum).add_(direction, 1 - dampening);
                    }
                    direction = nesterov ? direction.add(buffer, momentum) : buffer;
                }
                else if (!state.ContainsKey("momentum_buffer"))
                {
                    state["momentum_buffer"] = null;
                }
                p.add_(direction, -lr);
            }
        }
        return loss;
    }
}
