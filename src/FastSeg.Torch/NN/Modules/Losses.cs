using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Modules;

/// <summary>
/// Base of the loss modules (TorchSharp's <c>Loss</c>): <c>call(input, target)</c> runs the matching
/// <see cref="functional"/> loss with the options given at construction.
/// </summary>
public abstract class Loss : Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates a loss module named <paramref name="name"/>.</summary>
    protected Loss(string name, Reduction reduction) : base(name) => this.reduction = reduction;

    /// <summary>How the per-element losses are reduced.</summary>
    public Reduction reduction { get; }

    /// <summary>
    /// Registers an optional class-weight tensor as a buffer, as PyTorch does (it then appears in
    /// <see cref="Module.state_dict"/>). The module keeps its own handle to the same storage, so the caller's tensor
    /// stays the caller's to dispose.
    /// </summary>
    protected Tensor? RegisterWeight(string name, Tensor? weight)
    {
        if (weight is null) return null;
        var own = weight.alias();
        register_buffer(name, own);
        return own;
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => reduction == Reduction.Mean ? "" : $"reduction={reduction.ToString().ToLowerInvariant()}";
}

/// <summary>Cross-entropy of logits against class indices (PyTorch's <c>nn.CrossEntropyLoss</c>).</summary>
public sealed class CrossEntropyLoss : Loss
{
    internal CrossEntropyLoss(Tensor? weight, long ignore_index, Reduction reduction, double label_smoothing)
        : base(nameof(CrossEntropyLoss), reduction)
    {
        this.weight = RegisterWeight(nameof(weight), weight);
        this.ignore_index = ignore_index;
        this.label_smoothing = label_smoothing;
    }

    /// <summary>Per-class weights (C), or null.</summary>
    public Tensor? weight { get; }
    /// <summary>The target value that contributes nothing.</summary>
    public long ignore_index { get; }
    /// <summary>Mass spread uniformly over the classes.</summary>
    public double label_smoothing { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor target) =>
        functional.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
}

/// <summary>Negative log-likelihood of log-probabilities against class indices (PyTorch's <c>nn.NLLLoss</c>).</summary>
public sealed class NLLLoss : Loss
{
    internal NLLLoss(Tensor? weight, long ignore_index, Reduction reduction) : base(nameof(NLLLoss), reduction)
    {
        this.weight = RegisterWeight(nameof(weight), weight);
        this.ignore_index = ignore_index;
    }

    /// <summary>Per-class weights (C), or null.</summary>
    public Tensor? weight { get; }
    /// <summary>The target value that contributes nothing.</summary>
    public long ignore_index { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor target) => functional.nll_loss(input, target, weight, ignore_index, reduction);
}

/// <summary>Mean squared error (PyTorch's <c>nn.MSELoss</c>).</summary>
public sealed class MSELoss : Loss
{
    internal MSELoss(Reduction reduction) : base(nameof(MSELoss), reduction) { }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor target) => functional.mse_loss(input, target, reduction);
}

/// <summary>Mean absolute error (PyTorch's <c>nn.L1Loss</c>).</summary>
public sealed class L1Loss : Loss
{
    internal L1Loss(Reduction reduction) : base(nameof(L1Loss), reduction) { }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor target) => functional.l1_loss(input, target, reduction);
}

/// <summary>Binary cross-entropy of probabilities (PyTorch's <c>nn.BCELoss</c>).</summary>
public sealed class BCELoss : Loss
{
    internal BCELoss(Tensor? weight, Reduction reduction) : base(nameof(BCELoss), reduction) =>
        this.weight = RegisterWeight(nameof(weight), weight);

    /// <summary>Per-element weights (broadcast to the input), or null.</summary>
    public Tensor? weight { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor target) => functional.binary_cross_entropy(input, target, weight, reduction);
}

/// <summary>Binary cross-entropy of logits, computed stably (PyTorch's <c>nn.BCEWithLogitsLoss</c>).</summary>
public sealed class BCEWithLogitsLoss : Loss
{
    internal BCEWithLogitsLoss(Tensor? weight, Reduction reduction, Tensor? pos_weight) : base(nameof(BCEWithLogitsLoss), reduction)
    {
        this.weight = RegisterWeight(nameof(weight), weight);
        this.pos_weight = RegisterWeight(nameof(pos_weight), pos_weight);
    }

    /// <summary>Per-element weights (broadcast to the input), or null.</summary>
    public Tensor? weight { get; }
    /// <summary>Weights of the positive class (broadcast along the last dimension), or null.</summary>
    public Tensor? pos_weight { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor target) =>
        functional.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight);
}

/// <summary>
/// Kullback–Leibler divergence with the input as log-probabilities (PyTorch's <c>nn.KLDivLoss</c>). The reduction is
/// PyTorch's text, since "batchmean" (the sum divided by the batch size, the true KL) has no <see cref="Reduction"/> value.
/// </summary>
public sealed class KLDivLoss : Module<Tensor, Tensor, Tensor>
{
    internal KLDivLoss(string reduction, bool log_target) : base(nameof(KLDivLoss))
    {
        if (reduction is not ("none" or "mean" or "sum" or "batchmean"))
            throw new ArgumentException($"unknown reduction '{reduction}': expected none, mean, sum or batchmean", nameof(reduction));
        this.reduction = reduction;
        this.log_target = log_target;
    }

    /// <summary>"none", "mean" (over all elements), "sum" or "batchmean".</summary>
    public string reduction { get; }
    /// <summary>Whether the target holds log-probabilities.</summary>
    public bool log_target { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input, Tensor target) => functional.kl_div(input, target, reduction, log_target);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"reduction={reduction}, log_target={log_target}";
}
