using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>The per-group update shared by <see cref="Adam"/> (L2 decay folded into the gradient) and
/// <see cref="AdamW"/> (decoupled decay applied to the parameter), following PyTorch 1.13's single-tensor path.</summary>
internal static class AdamUpdate
{
    public delegate IDictionary<string, object?> StateLookup(nn.Parameter p);

    /// <summary>Updates every parameter of <paramref name="group"/> that has a gradient. Call under no_grad.</summary>
    public static void Step(torch.optim.ParamGroup group, StateLookup stateOf, bool decoupledWeightDecay)
    {
        double lr = group.GetDouble("lr");
        var (beta1, beta2) = group.GetPair("betas");
        double eps = group.GetDouble("eps");
        double weightDecay = group.GetDouble("weight_decay");
        bool amsgrad = group.GetBool("amsgrad");
        bool maximize = group.GetBool("maximize");

        foreach (var p in group.Parameters)
        {
            using var scope = NewDisposeScope();
            var grad = p.grad;
            if (grad is null) continue;
            var state = stateOf(p);
            if (state.Count == 0)
            {
                // PyTorch 1.13 keeps the step count as a float32 scalar tensor on the CPU.
                state["step"] = tensor(0f).DetachFromDisposeScope();
                state["exp_avg"] = zeros_like(p).DetachFromDisposeScope();
                state["exp_avg_sq"] = zeros_like(p).DetachFromDisposeScope();
                if (amsgrad) state["max_exp_avg_sq"] = zeros_like(p).DetachFromDisposeScope();
            }
            var stepCount = StepTensor(state);
            var expAvg = Required(state, "exp_avg");
            var expAvgSq = Required(state, "exp_avg_sq");

            var g = maximize ? grad.neg() : grad;
            stepCount.add_(1);
            if (decoupledWeightDecay)
            {
                double factor = 1 - lr * weightDecay;
                if (factor != 1) p.mul_(factor);
            }
            else if (weightDecay != 0)
            {
                g = g.add(p, weightDecay);
            }

            expAvg.mul_(beta1).add_(g, 1 - beta1);
            expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);

            double step = stepCount.item<float>();
            double biasCorrection1 = 1 - Math.Pow(beta1, step);
            double biasCorrection2 = 1 - Math.Pow(beta2, step);
            double stepSize = lr / biasCorrection1;
            double biasCorrection2Sqrt = Math.Sqrt(biasCorrection2);

            Tensor second = expAvgSq;
            if (amsgrad)
            {
                if (!state.TryGetValue("max_exp_avg_sq", out var m) || m is not Tensor maxSq)
                {
                    maxSq = zeros_like(p).DetachFromDisposeScope();
                    state["max_exp_avg_sq"] = maxSq;
                }
                maxSq.copy_(maxSq.maximum(expAvgSq));
                second = maxSq;
            }
            var denom = second.sqrt().div(biasCorrection2Sqrt).add_(eps);
            p.addcdiv_(expAvg, denom, -stepSize);
        }
    }

    private static Tensor Required(IDictionary<string, object?> state, string key) =>
        state.TryGetValue(key, out var v) && v is Tensor t
            ? t
            : throw new InvalidOperationException($"the optimizer state lacks the tensor '{key}'");

    /// <summary>The step count as a tensor; a plain number (older PyTorch state) is converted, as PyTorch does.</summary>
    private static Tensor StepTensor(IDictionary<string, object?> state)
    {
        state.TryGetValue("step", out var value);
        if (value is Tensor t) return t;
        var converted = tensor((float)OptionValues.ToDouble(value, "state 'step'")).DetachFromDisposeScope();
        state["step"] = converted;
        return converted;
    }
}
