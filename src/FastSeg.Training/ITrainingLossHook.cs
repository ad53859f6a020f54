using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// A term the trainer adds to the segmentation loss of every training step, computed from the batch's images and the
/// student network's logits — knowledge distillation from a teacher is the typical one. The trainer calls
/// <see cref="ExtraLoss"/> after the forward pass (inside the same autocast scope) and adds the result to the loss
/// before the backward pass.
/// </summary>
public interface ITrainingLossHook
{
    /// <summary>A short name for logs and TensorBoard tags (for example "kd").</summary>
    string Name { get; }

    /// <summary>
    /// The extra loss for one batch: a scalar tensor, already multiplied by the hook's own coefficient, that carries
    /// gradient to <paramref name="studentLogits"/> where it should. The caller owns the returned tensor.
    /// </summary>
    /// <param name="images">The batch the student saw, (N, 3, H, W).</param>
    /// <param name="studentLogits">The student's logits for it, (N, classes, H, W), still attached to the graph.</param>
    Tensor ExtraLoss(Tensor images, Tensor studentLogits);
}
