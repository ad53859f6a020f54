using FastSeg.Models;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Losses;

/// <summary>A training step's loss: the total to back-propagate and each part's value for the logs.</summary>
/// <param name="Total">The loss to call <c>backward()</c> on (in the caller's dispose scope).</param>
/// <param name="Parts">
/// The values the logs record: <c>loss</c> (segmentation, with aux or detail terms), <c>loss_detail</c> (STDC's detail
/// term alone), <c>loss_NAME</c> for each extra term (e.g. <c>loss_kd</c>) and, when there are extra terms,
/// <c>loss_total</c>.
/// </param>
public sealed record LossBreakdown(Tensor Total, IReadOnlyDictionary<string, double> Parts);

/// <summary>
/// The whole training loss of a network, the one place that knows how a network's outputs become a loss: the main
/// criterion (ce or ohem) on the logits, plus the auxiliary heads (deep supervision, one coefficient per head) or
/// STDC's detail head (Dice + BCE on boundary targets made from the mask), plus extra terms such as distillation
/// (<see cref="ITrainingLossHook"/>). The trainer's loop calls <see cref="Compute"/> the same way for every network.
/// </summary>
/// <remarks>As zh320's <c>SegTrainer</c>: aux and detail are exclusive (the options reject both), and extra terms are
/// computed from the images and the main logits.</remarks>
public sealed class SegmentationCriterion : IDisposable
{
    private readonly ISegmentationLoss _main;
    private readonly AuxiliaryLoss? _aux;
    private readonly DetailLoss? _detail;
    private readonly double _detailCoefficient;
    private readonly IReadOnlyList<ITrainingLossHook> _terms;

    /// <summary>Creates the criterion from its parts.</summary>
    /// <param name="main">The segmentation loss on the main logits (and, through <paramref name="aux"/>, on each head).</param>
    /// <param name="aux">Deep supervision of the auxiliary heads, or null.</param>
    /// <param name="detail">STDC's detail loss, or null (not with <paramref name="aux"/>).</param>
    /// <param name="detailCoefficient">Weight of the detail loss in the total.</param>
    /// <param name="terms">Extra loss terms (distillation), added last.</param>
    public SegmentationCriterion(ISegmentationLoss main, AuxiliaryLoss? aux = null, DetailLoss? detail = null, double detailCoefficient = 1.0,
        IEnumerable<ITrainingLossHook>? terms = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        if (aux is not null && detail is not null) throw new ArgumentException("a criterion takes auxiliary heads or a detail head, not both", nameof(detail));
        _main = main;
        _aux = aux;
        _detail = detail;
        _detailCoefficient = detailCoefficient;
        _terms = terms?.ToList() ?? new List<ITrainingLossHook>();
    }

    /// <summary>
    /// The criterion the options describe: <c>loss_type</c> (with <c>class_weights</c>, <c>ignore_index</c>,
    /// <c>reduction</c>, <c>ohem_thrs</c>), <c>use_aux</c> with <c>aux_coef</c> (unset: the network's own reference
    /// weights from <paramref name="network"/>, e.g. Fast_Seg's 0.4, else 1 each), <c>use_detail_head</c> with its
    /// coefficients and threshold, and <paramref name="terms"/>.
    /// </summary>
    public static SegmentationCriterion FromOptions(TrainerOptions options, ModelInfo? network = null, IEnumerable<ITrainingLossHook>? terms = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ISegmentationLoss main = options.LossType == LossKind.Ohem
            ? new OhemCrossEntropyLoss(options.OhemThreshold, options.IgnoreIndex)
            : new CrossEntropyLoss(options.ClassWeights, options.IgnoreIndex, options.Reduction == "sum" ? nn.Reduction.Sum : nn.Reduction.Mean);
        var aux = options.UseAux ? new AuxiliaryLoss(main, options.AuxCoef ?? network?.AuxLossWeights) : null;
        var detail = options.UseDetailHead
            ? new DetailLoss(options.DiceLossCoef, options.BceLossCoef, 1.0, options.DiceOnProbabilities, new DetailTargetGenerator(options.DetailThreshold))
            : null;
        return new SegmentationCriterion(main, aux, detail, options.DetailLossCoef, terms);
    }

    /// <summary>The loss on the main logits.</summary>
    public ISegmentationLoss MainLoss => _main;

    /// <summary>Deep supervision of the auxiliary heads, or null.</summary>
    public AuxiliaryLoss? AuxiliaryLoss => _aux;

    /// <summary>STDC's detail loss, or null.</summary>
    public DetailLoss? DetailLoss => _detail;

    /// <summary>The extra terms (distillation).</summary>
    public IReadOnlyList<ITrainingLossHook> Terms => _terms;

    /// <summary>
    /// The total loss of one batch and its parts. <paramref name="output"/> is the network's training output
    /// (<see cref="SegmentationModel.ForwardAll"/>); the detail head must be present when the criterion has a detail loss.
    /// </summary>
    /// <param name="images">The batch's images (extra terms such as distillation run a teacher on them).</param>
    /// <param name="output">The network's logits, auxiliary logits and detail map.</param>
    /// <param name="masks">The label maps, (N, H, W) int64.</param>
    /// <exception cref="InvalidOperationException">A detail loss is configured but the network returned no detail map.</exception>
    public LossBreakdown Compute(Tensor images, SegmentationOutput output, Tensor masks)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(masks);
        var parts = new Dictionary<string, double>();
        Tensor loss;
        if (_aux is not null)
            loss = _aux.Total(output.Logits, output.Aux, masks);
        else if (_detail is not null)
        {
            if (output.Detail is null)
                throw new InvalidOperationException("use_detail_head is on but the network returned no detail output (build it with the detail head)");
            var detail = _detail.FromMask(output.Detail, masks);
            parts["loss_detail"] = detail.item<float>();
            loss = _main.Compute(output.Logits, masks).add(detail.mul(_detailCoefficient));
        }
        else loss = _main.Compute(output.Logits, masks);
        parts["loss"] = loss.item<float>();
        foreach (var term in _terms)
        {
            var extra = term.ExtraLoss(images, output.Logits);
            parts["loss_" + term.Name] = extra.item<float>();
            loss = loss.add(extra);
        }
        if (_terms.Count > 0) parts["loss_total"] = loss.item<float>();
        return new LossBreakdown(loss, parts);
    }

    /// <summary>Frees the main loss's tensors (class weights).</summary>
    public void Dispose() => (_main as IDisposable)?.Dispose();
}
