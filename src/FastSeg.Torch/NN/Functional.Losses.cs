using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static partial class functional
        {
            /// <summary>
            /// Cross-entropy of logits (N, C, ...) against int64 class indices (N, ...). Targets equal to
            /// <paramref name="ignore_index"/> contribute nothing; with class weights the mean divides by the total
            /// weight of the counted targets.
            /// </summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100,
                Reduction reduction = Reduction.Mean, double label_smoothing = 0.0)
            {
                var c = new OpCall(Aten.cross_entropy);
                c.Tensor(input);
                c.Tensor(target);
                c.OptionalTensor(weight);
                c.Int((long)reduction);
                c.Int(ignore_index);
                c.Double(label_smoothing);
                return c.InvokeTensor();
            }

            /// <summary>Negative log-likelihood of log-probabilities (N, C, ...) against class indices.</summary>
            public static Tensor nll_loss(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100,
                Reduction reduction = Reduction.Mean)
            {
                var c = new OpCall(Aten.nll_loss);
                c.Tensor(input);
                c.Tensor(target);
                c.OptionalTensor(weight);
                c.Int((long)reduction);
                c.Int(ignore_index);
                return c.InvokeTensor();
            }

            /// <summary>
            /// Kullback–Leibler divergence with <paramref name="input"/> as log-probabilities. <paramref name="reduction"/>
            /// is "none", "mean" (over all elements), "sum" or "batchmean" (sum divided by the batch size, the
            /// mathematically correct KL).
            /// </summary>
            public static Tensor kl_div(Tensor input, Tensor target, string reduction = "mean", bool log_target = false)
            {
                var r = reduction switch
                {
                    "none" => Reduction.None,
                    "mean" => Reduction.Mean,
                    "sum" or "batchmean" => Reduction.Sum,
                    _ => throw new ArgumentException($"unknown reduction '{reduction}': expected none, mean, sum or batchmean", nameof(reduction)),
                };
                var c = new OpCall(Aten.kl_div);
                c.Tensor(input);
                c.Tensor(target);
                c.Int((long)r);
                c.Bool(log_target);
                var loss = c.InvokeTensor();
                if (reduction != "batchmean" || input.dim() == 0) return loss;
                using (loss) return loss.div(input.size(0));
            }

            /// <summary>Mean squared error.</summary>
            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                LossWithReduction(Aten.mse_loss, input, target, reduction);

            /// <summary>Mean absolute error.</summary>
            public static Tensor l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                LossWithReduction(Aten.l1_loss, input, target, reduction);

            private static Tensor LossWithReduction(AtenOp op, Tensor input, Tensor target, Reduction reduction)
            {
                var c = new OpCall(op);
                c.Tensor(input);
                c.Tensor(target);
                c.Int((long)reduction);
                return c.InvokeTensor();
            }

            /// <summary>Binary cross-entropy of probabilities.</summary>
            public static Tensor binary_cross_entropy(Tensor input, Tensor target, Tensor? weight = null,
                Reduction reduction = Reduction.Mean)
            {
                var c = new OpCall(Aten.bce);
                c.Tensor(input);
                c.Tensor(target);
                c.OptionalTensor(weight);
                c.Int((long)reduction);
                return c.InvokeTensor();
            }

            /// <summary>Binary cross-entropy of logits, computed stably; <paramref name="pos_weight"/> weights positives.</summary>
            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight = null,
                Reduction reduction = Reduction.Mean, Tensor? pos_weight = null)
            {
                var c = new OpCall(Aten.bce_with_logits);
                c.Tensor(input);
                c.Tensor(target);
                c.OptionalTensor(weight);
                c.OptionalTensor(pos_weight);
                c.Int((long)reduction);
                return c.InvokeTensor();
            }
        }
    }
}
