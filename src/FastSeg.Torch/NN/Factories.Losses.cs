using FastSeg.Torch.Modules;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Cross-entropy of logits (N, C, ...) against class indices (N, ...), as a module:
        /// <c>nn.CrossEntropyLoss(ignore_index: 255).call(logits, target)</c>.
        /// </summary>
        /// <param name="weight">Per-class weights (C); the mean then divides by the total weight of the counted targets.</param>
        /// <param name="ignore_index">Targets with this value contribute nothing.</param>
        /// <param name="reduction">Mean, sum or none.</param>
        /// <param name="label_smoothing">Mass in [0, 1] spread uniformly over the classes.</param>
        public static CrossEntropyLoss CrossEntropyLoss(Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean,
            double label_smoothing = 0.0) => new(weight, ignore_index, reduction, label_smoothing);

        /// <summary>Negative log-likelihood of log-probabilities (N, C, ...) against class indices (N, ...), as a module.</summary>
        /// <param name="weight">Per-class weights (C).</param>
        /// <param name="ignore_index">Targets with this value contribute nothing.</param>
        /// <param name="reduction">Mean, sum or none.</param>
        public static NLLLoss NLLLoss(Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean) =>
            new(weight, ignore_index, reduction);

        /// <summary>Mean squared error, as a module.</summary>
        public static MSELoss MSELoss(Reduction reduction = Reduction.Mean) => new(reduction);

        /// <summary>Mean absolute error, as a module.</summary>
        public static L1Loss L1Loss(Reduction reduction = Reduction.Mean) => new(reduction);

        /// <summary>Binary cross-entropy of probabilities in [0, 1], as a module.</summary>
        /// <param name="weight">Per-element weights, broadcast to the input.</param>
        /// <param name="reduction">Mean, sum or none.</param>
        public static BCELoss BCELoss(Tensor? weight = null, Reduction reduction = Reduction.Mean) => new(weight, reduction);

        /// <summary>Binary cross-entropy of logits (a sigmoid and BCE in one stable step), as a module.</summary>
        /// <param name="weight">Per-element weights, broadcast to the input.</param>
        /// <param name="reduction">Mean, sum or none.</param>
        /// <param name="pos_weight">Weights of positive targets, broadcast along the last dimension.</param>
        public static BCEWithLogitsLoss BCEWithLogitsLoss(Tensor? weight = null, Reduction reduction = Reduction.Mean, Tensor? pos_weight = null) =>
            new(weight, reduction, pos_weight);

        /// <summary>
        /// Kullback–Leibler divergence with the input as log-probabilities, as a module. PyTorch's defaults: reduction
        /// "mean" (over all elements; "batchmean" gives the true KL) and a target of probabilities (log_target false).
        /// </summary>
        /// <param name="reduction">"none", "mean", "sum" or "batchmean".</param>
        /// <param name="log_target">Whether the target holds log-probabilities.</param>
        public static KLDivLoss KLDivLoss(string reduction = "mean", bool log_target = false) => new(reduction, log_target);
    }
}
