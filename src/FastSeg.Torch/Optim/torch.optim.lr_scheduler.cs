using FastSeg.Torch.Optim;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class optim
    {
        /// <summary>
        /// Learning-rate schedulers, as in <c>torch.optim.lr_scheduler</c>. The factories return the classes of
        /// <see cref="FastSeg.Torch.Optim"/>. Policies of the segmentation trainers:
        /// <list type="bullet">
        /// <item>zh320 <c>cos_warmup</c>: <c>OneCycleLR(opt, max_lr: lr, total_steps: total_itrs, pct_start: (double)warmup_epochs / total_epoch)</c>.</item>
        /// <item>zh320 <c>linear</c>: <c>OneCycleLR(opt, max_lr: lr, total_steps: total_itrs, pct_start: 0, anneal_strategy: AnnealStrategy.Linear)</c>.</item>
        /// <item>zh320 <c>step</c>: <c>StepLR(opt, step_size, 0.1)</c>, stepped per iteration.</item>
        /// <item>poly: <c>PolynomialLR(opt, total_iters: max_iter, power: 0.9)</c>.</item>
        /// <item>poly with a linear warm-up of W steps: <c>SequentialLR(opt, new LRScheduler[] { LinearLR(opt, start_factor: f, total_iters: W),
        /// PolynomialLR(opt, total_iters: max_iter - W, power: 0.9) }, new[] { W })</c>.</item>
        /// </list>
        /// </summary>
        public static partial class lr_scheduler
        {
            /// <summary>Decays by <paramref name="gamma"/> every <paramref name="step_size"/> steps (see <see cref="FastSeg.Torch.Optim.StepLR"/>).</summary>
            public static Optim.StepLR StepLR(Optimizer optimizer, int step_size, double gamma = 0.1, int last_epoch = -1) =>
                new(optimizer, step_size, gamma, last_epoch);

            /// <summary>Decays by <paramref name="gamma"/> at each milestone (see <see cref="FastSeg.Torch.Optim.MultiStepLR"/>).</summary>
            public static Optim.MultiStepLR MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1, int last_epoch = -1) =>
                new(optimizer, milestones, gamma, last_epoch);

            /// <summary>Decays by <paramref name="gamma"/> every step (see <see cref="FastSeg.Torch.Optim.ExponentialLR"/>).</summary>
            public static Optim.ExponentialLR ExponentialLR(Optimizer optimizer, double gamma, int last_epoch = -1) =>
                new(optimizer, gamma, last_epoch);

            /// <summary>base_lr · λ(t) (see <see cref="FastSeg.Torch.Optim.LambdaLR"/>).</summary>
            public static Optim.LambdaLR LambdaLR(Optimizer optimizer, Func<int, double> lr_lambda, int last_epoch = -1) =>
                new(optimizer, lr_lambda, last_epoch);

            /// <summary>base_lr · λᵢ(t) with one function per group (see <see cref="FastSeg.Torch.Optim.LambdaLR"/>).</summary>
            public static Optim.LambdaLR LambdaLR(Optimizer optimizer, IEnumerable<Func<int, double>> lr_lambdas, int last_epoch = -1) =>
                new(optimizer, lr_lambdas, last_epoch);

            /// <summary>Cosine annealing to <paramref name="eta_min"/> over <paramref name="T_max"/> steps (see <see cref="FastSeg.Torch.Optim.CosineAnnealingLR"/>).</summary>
            public static Optim.CosineAnnealingLR CosineAnnealingLR(Optimizer optimizer, int T_max, double eta_min = 0, int last_epoch = -1) =>
                new(optimizer, T_max, eta_min, last_epoch);

            /// <summary>Polynomial decay to 0 over <paramref name="total_iters"/> steps (see <see cref="FastSeg.Torch.Optim.PolynomialLR"/>).</summary>
            public static Optim.PolynomialLR PolynomialLR(Optimizer optimizer, int total_iters = 5, double power = 1.0, int last_epoch = -1) =>
                new(optimizer, total_iters, power, last_epoch);

            /// <summary>A linear ramp of the factor (see <see cref="FastSeg.Torch.Optim.LinearLR"/>).</summary>
            public static Optim.LinearLR LinearLR(Optimizer optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
                int total_iters = 5, int last_epoch = -1) =>
                new(optimizer, start_factor, end_factor, total_iters, last_epoch);

            /// <summary>Schedulers one after another (see <see cref="FastSeg.Torch.Optim.SequentialLR"/>).</summary>
            public static Optim.SequentialLR SequentialLR(Optimizer optimizer, IEnumerable<LRScheduler> schedulers, IEnumerable<int> milestones,
                int last_epoch = -1) =>
                new(optimizer, schedulers, milestones, last_epoch);

            /// <summary>The one-cycle policy (see <see cref="FastSeg.Torch.Optim.OneCycleLR"/>).</summary>
            public static Optim.OneCycleLR OneCycleLR(Optimizer optimizer, double max_lr, int total_steps = -1, int epochs = -1,
                int steps_per_epoch = -1, double pct_start = 0.3, AnnealStrategy anneal_strategy = AnnealStrategy.Cos,
                bool cycle_momentum = true, double base_momentum = 0.85, double max_momentum = 0.95, double div_factor = 25,
                double final_div_factor = 1e4, bool three_phase = false, int last_epoch = -1) =>
                new(optimizer, max_lr, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy, cycle_momentum,
                    base_momentum, max_momentum, div_factor, final_div_factor, three_phase, last_epoch);

            /// <summary>The one-cycle policy with one maximum learning rate per group (see <see cref="FastSeg.Torch.Optim.OneCycleLR"/>).</summary>
            public static Optim.OneCycleLR OneCycleLR(Optimizer optimizer, IEnumerable<double> max_lr, int total_steps = -1, int epochs = -1,
                int steps_per_epoch = -1, double pct_start = 0.3, AnnealStrategy anneal_strategy = AnnealStrategy.Cos,
                bool cycle_momentum = true, double base_momentum = 0.85, double max_momentum = 0.95, double div_factor = 25,
                double final_div_factor = 1e4, bool three_phase = false, int last_epoch = -1) =>
                new(optimizer, max_lr, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy, cycle_momentum,
                    base_momentum, max_momentum, div_factor, final_div_factor, three_phase, last_epoch);
        }
    }
}
