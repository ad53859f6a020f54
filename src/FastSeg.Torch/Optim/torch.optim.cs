namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>
    /// Optimizers and learning-rate schedulers, as in <c>torch.optim</c>. The factories return the classes of
    /// <see cref="FastSeg.Torch.Optim"/>; <c>new FastSeg.Torch.Optim.SGD(...)</c> is equivalent.
    /// </summary>
    public static partial class optim
    {
        /// <summary>Stochastic gradient descent over <paramref name="parameters"/> (see <see cref="FastSeg.Torch.Optim.SGD"/>).</summary>
        public static Optim.SGD SGD(IEnumerable<nn.Parameter> parameters, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new(parameters, lr, momentum, dampening, weight_decay, nesterov, maximize);

        /// <summary>Stochastic gradient descent over parameter groups (see <see cref="FastSeg.Torch.Optim.SGD"/>).</summary>
        public static Optim.SGD SGD(IEnumerable<ParamGroup> param_groups, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new(param_groups, lr, momentum, dampening, weight_decay, nesterov, maximize);

        /// <summary>Adam over <paramref name="parameters"/> (see <see cref="FastSeg.Torch.Optim.Adam"/>).</summary>
        public static Optim.Adam Adam(IEnumerable<nn.Parameter> parameters, double lr = 1e-3, (double, double)? betas = null,
            double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false) =>
            new(parameters, lr, betas, eps, weight_decay, amsgrad, maximize);

        /// <summary>Adam over parameter groups (see <see cref="FastSeg.Torch.Optim.Adam"/>).</summary>
        public static Optim.Adam Adam(IEnumerable<ParamGroup> param_groups, double lr = 1e-3, (double, double)? betas = null,
            double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false) =>
            new(param_groups, lr, betas, eps, weight_decay, amsgrad, maximize);

        /// <summary>AdamW over <paramref name="parameters"/> (see <see cref="FastSeg.Torch.Optim.AdamW"/>).</summary>
        public static Optim.AdamW AdamW(IEnumerable<nn.Parameter> parameters, double lr = 1e-3, (double, double)? betas = null,
            double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new(parameters, lr, betas, eps, weight_decay, amsgrad, maximize);

        /// <summary>AdamW over parameter groups (see <see cref="FastSeg.Torch.Optim.AdamW"/>).</summary>
        public static Optim.AdamW AdamW(IEnumerable<ParamGroup> param_groups, double lr = 1e-3, (double, double)? betas = null,
            double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new(param_groups, lr, betas, eps, weight_decay, amsgrad, maximize);
    }
}
