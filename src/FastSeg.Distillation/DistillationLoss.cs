using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Distillation;

/// <summary>Which distillation loss to use (the reference's <c>kd_loss_type</c>).</summary>
public enum DistillationLossType
{
    /// <summary>Hinton's soft-target loss: T² · KL(softmax(teacher/T) ‖ softmax(student/T)).</summary>
    KlDiv,

    /// <summary>Mean squared error between the raw logits.</summary>
    Mse,
}

/// <summary>How the KL divergence over (N, C, H, W) elements is reduced to a scalar.</summary>
public enum KlReduction
{
    /// <summary>
    /// Sum over all elements divided by their number, N·C·H·W — PyTorch's <c>reduction='mean'</c>, which the reference
    /// uses. It is the per-pixel KL divided by the number of classes.
    /// </summary>
    Mean,

    /// <summary>
    /// Sum divided by N — PyTorch's <c>'batchmean'</c>, the KL of each whole image; H·W·C times larger than
    /// <see cref="Mean"/>, so the coefficient must be scaled down to match.
    /// </summary>
    BatchMean,

    /// <summary>Sum divided by N·H·W: the KL per pixel, averaged over pixels (C times <see cref="Mean"/>).</summary>
    PixelMean,
}

/// <summary>
/// Knowledge-distillation loss between student and teacher logits, multiplied by its coefficient: for
/// <see cref="DistillationLossType.KlDiv"/> coefficient · T² · kl_div(log_softmax(student/T), softmax(teacher/T)) with
/// the reference's 'mean' reduction by default (T = 4); for <see cref="DistillationLossType.Mse"/> coefficient ·
/// mse(student, teacher). The teacher side is detached. When the spatial sizes differ, the teacher's logits are
/// resized (bilinear) to the student's.
/// </summary>
public sealed class DistillationLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="type">KL divergence (default) or MSE.</param>
    /// <param name="temperature">T for the KL loss (<c>kd_temperature</c>, 4).</param>
    /// <param name="coefficient">Multiplies the loss (<c>kd_loss_coefficient</c>, 1).</param>
    /// <param name="reduction">How the KL divergence is averaged (the reference's 'mean' by default).</param>
    /// <param name="alignCorners">align_corners of the bilinear resizing of the teacher's logits.</param>
    public DistillationLoss(DistillationLossType type = DistillationLossType.KlDiv, double temperature = 4.0,
        double coefficient = 1.0, KlReduction reduction = KlReduction.Mean, bool alignCorners = false)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive");
        Type = type;
        Temperature = temperature;
        Coefficient = coefficient;
        Reduction = reduction;
        AlignCorners = alignCorners;
    }

    /// <summary>KL divergence or MSE.</summary>
    public DistillationLossType Type { get; }

    /// <summary>The softmax temperature T.</summary>
    public double Temperature { get; }

    /// <summary>The factor the loss is multiplied by.</summary>
    public double Coefficient { get; }

    /// <summary>The KL reduction.</summary>
    public KlReduction Reduction { get; }

    /// <summary>align_corners of the teacher resizing.</summary>
    public bool AlignCorners { get; }

    /// <summary>
    /// The loss of <paramref name="studentLogits"/> (N, C, H, W) against <paramref name="teacherLogits"/> (N, C, h, w),
    /// already multiplied by <see cref="Coefficient"/>. Gradient flows to the student only. The caller owns the result.
    /// </summary>
    public Tensor Compute(Tensor studentLogits, Tensor teacherLogits)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        var s = studentLogits.shape;
        var t = teacherLogits.shape;
        if (s.Length != 4 || t.Length != 4 || s[0] != t[0] || s[1] != t[1])
            throw new ArgumentException($"student logits {Shape(s)} and teacher logits {Shape(t)} must both be (N, C, H, W) with the same N and C");
        using var scope = NewDisposeScope();
        var teacher = teacherLogits.detach();
        if (teacher.dtype != studentLogits.dtype && is_floating_point(studentLogits.dtype)) teacher = teacher.to(studentLogits.dtype);
        if (t[2] != s[2] || t[3] != s[3])
            teacher = functional.interpolate(teacher, new[] { s[2], s[3] }, mode: InterpolationMode.Bilinear, align_corners: AlignCorners);

        Tensor loss;
        if (Type == DistillationLossType.Mse)
        {
            loss = functional.mse_loss(studentLogits, teacher);
        }
        else
        {
            var logP = functional.log_softmax(studentLogits.div(Temperature), 1);
            var q = functional.softmax(teacher.div(Temperature), 1);
            loss = Reduction switch
            {
                KlReduction.Mean => functional.kl_div(logP, q, "mean"),
                KlReduction.BatchMean => functional.kl_div(logP, q, "batchmean"),
                _ => functional.kl_div(logP, q, "sum").div(s[0] * s[2] * s[3]),
            };
            loss = loss.mul(Temperature * Temperature);
        }
        return loss.mul(Coefficient).MoveToOuterDisposeScope();
    }

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
