using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Training.Losses;

/// <summary>How auxiliary logits and the label map are brought to one size.</summary>
public enum AuxiliaryResize
{
    /// <summary>
    /// The label map is resized (nearest) to each auxiliary head's resolution and the logits are left as they are —
    /// what the reference trainer does.
    /// </summary>
    NearestMask,

    /// <summary>The auxiliary logits are upsampled (bilinear) to the label map's resolution.</summary>
    BilinearLogits,
}

/// <summary>
/// Deep supervision: the main loss applied to every auxiliary head's logits, each multiplied by its coefficient and
/// summed — the reference's <c>use_aux</c> branch. By default the label map is resized to each head's resolution with
/// nearest neighbour (<see cref="AuxiliaryResize.NearestMask"/>), as there; upsampling the logits instead is an option.
/// </summary>
public sealed class AuxiliaryLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="loss">The criterion applied to each head (the main loss, as in the reference).</param>
    /// <param name="coefficients">One coefficient per auxiliary head, or null for 1 each (the reference's <c>aux_coef=None</c>).</param>
    /// <param name="resize">Resize the label map to the logits (reference) or the logits to the label map.</param>
    /// <param name="alignCorners">align_corners of the bilinear upsampling in <see cref="AuxiliaryResize.BilinearLogits"/> mode.</param>
    public AuxiliaryLoss(ISegmentationLoss loss, IReadOnlyList<double>? coefficients = null,
        AuxiliaryResize resize = AuxiliaryResize.NearestMask, bool alignCorners = false)
    {
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        Coefficients = coefficients?.ToArray();
        Resize = resize;
        AlignCorners = alignCorners;
    }

    /// <summary>The criterion applied to each head.</summary>
    public ISegmentationLoss Loss { get; }

    /// <summary>The per-head coefficients, or null for 1 each.</summary>
    public IReadOnlyList<double>? Coefficients { get; }

    /// <summary>Which side is resized.</summary>
    public AuxiliaryResize Resize { get; }

    /// <summary>align_corners of the bilinear logits upsampling.</summary>
    public bool AlignCorners { get; }

    /// <summary>
    /// Σᵢ cᵢ · L(auxᵢ, mask at auxᵢ's size): the auxiliary part alone. Throws when coefficients were given and their
    /// number differs from the number of heads. The caller owns the returned tensor.
    /// </summary>
    /// <param name="auxLogits">The heads' logits, (N, C, hᵢ, wᵢ) each.</param>
    /// <param name="mask">The label map, (N, H, W) int64.</param>
    public Tensor Compute(IReadOnlyList<Tensor> auxLogits, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(auxLogits);
        ArgumentNullException.ThrowIfNull(mask);
        if (auxLogits.Count == 0) throw new ArgumentException("there are no auxiliary outputs", nameof(auxLogits));
        if (Coefficients is not null && Coefficients.Count != auxLogits.Count)
            throw new ArgumentException($"{Coefficients.Count} auxiliary coefficients for {auxLogits.Count} auxiliary outputs", nameof(auxLogits));
        using var scope = NewDisposeScope();
        Tensor? total = null;
        for (int i = 0; i < auxLogits.Count; i++)
        {
            var term = HeadLoss(auxLogits[i], mask);
            if (Coefficients is not null) term = term.mul(Coefficients[i]);
            total = total is null ? term : total.add(term);
        }
        return total!.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// L(logits, mask) + Σᵢ cᵢ · L(auxᵢ, mask): the whole loss of a network with auxiliary heads, summed in the
    /// reference's order. With no auxiliary outputs it is the main loss alone. The caller owns the returned tensor.
    /// </summary>
    public Tensor Total(Tensor logits, IReadOnlyList<Tensor> auxLogits, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(auxLogits);
        if (auxLogits.Count == 0 && Coefficients is not { Count: > 0 }) return Loss.Compute(logits, mask);
        using var scope = NewDisposeScope();
        var total = Loss.Compute(logits, mask);
        if (Coefficients is not null && Coefficients.Count != auxLogits.Count)
            throw new ArgumentException($"{Coefficients.Count} auxiliary coefficients for {auxLogits.Count} auxiliary outputs", nameof(auxLogits));
        for (int i = 0; i < auxLogits.Count; i++)
        {
            var term = HeadLoss(auxLogits[i], mask);
            if (Coefficients is not null) term = term.mul(Coefficients[i]);
            total = total.add(term);
        }
        return total.MoveToOuterDisposeScope();
    }

    // One head's loss, inside the caller's dispose scope.
    private Tensor HeadLoss(Tensor aux, Tensor mask)
    {
        if (aux.dim() != 4) throw new ArgumentException($"auxiliary logits must be (N, C, h, w), got {ShapeText.Of(aux.shape)}", nameof(aux));
        if (mask.dim() != 3) throw new ArgumentException($"the mask must be (N, H, W), got {ShapeText.Of(mask.shape)}", nameof(mask));
        long h = aux.size(2), w = aux.size(3);
        bool sameSize = mask.size(1) == h && mask.size(2) == w;
        if (sameSize) return Loss.Compute(aux, mask);
        if (Resize == AuxiliaryResize.BilinearLogits)
        {
            var up = functional.interpolate(aux, new[] { mask.size(1), mask.size(2) }, mode: InterpolationMode.Bilinear, align_corners: AlignCorners);
            return Loss.Compute(up, mask);
        }
        return Loss.Compute(aux, ResizeMask(mask, h, w));
    }

    /// <summary>
    /// The label map (N, H, W) resized to (N, h, w) with nearest neighbour, through float32 as the reference does
    /// (exact for labels below 2²⁴). The caller owns the returned tensor.
    /// </summary>
    public static Tensor ResizeMask(Tensor mask, long height, long width)
    {
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var resized = functional.interpolate(mask.unsqueeze(1).to(ScalarType.Float32), new[] { height, width }, mode: InterpolationMode.Nearest);
        return resized.squeeze(1).to(ScalarType.Int64).MoveToOuterDisposeScope();
    }
}
