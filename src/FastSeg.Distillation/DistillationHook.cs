using FastSeg.Training;
using static FastSeg.Torch.torch;

namespace FastSeg.Distillation;

/// <summary>
/// Knowledge distillation as a trainer hook: for each batch the frozen teacher predicts, and the distillation loss of
/// the student's logits against the teacher's is added to the training loss (the reference's <c>kd_training</c>).
/// </summary>
public sealed class DistillationHook : ITrainingLossHook
{
    /// <summary>Creates the hook.</summary>
    /// <param name="teacher">The frozen teacher.</param>
    /// <param name="loss">The distillation loss (its coefficient included); null for the reference's defaults (KL, T = 4, coefficient 1).</param>
    public DistillationHook(TeacherModel teacher, DistillationLoss? loss = null)
    {
        Teacher = teacher ?? throw new ArgumentNullException(nameof(teacher));
        Loss = loss ?? new DistillationLoss();
    }

    /// <summary>The teacher.</summary>
    public TeacherModel Teacher { get; }

    /// <summary>The distillation loss.</summary>
    public DistillationLoss Loss { get; }

    /// <inheritdoc />
    public string Name => "kd";

    /// <inheritdoc />
    public Tensor ExtraLoss(Tensor images, Tensor studentLogits)
    {
        using var teacherLogits = Teacher.Predict(images);
        return Loss.Compute(studentLogits, teacherLogits);
    }
}
