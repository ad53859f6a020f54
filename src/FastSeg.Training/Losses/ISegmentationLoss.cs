using static FastSeg.Torch.torch;

namespace FastSeg.Training.Losses;

/// <summary>A loss of class logits against a label map, the form the trainer's main and auxiliary losses take.</summary>
public interface ISegmentationLoss
{
    /// <summary>
    /// The loss of <paramref name="logits"/> (N, C, H, W) against <paramref name="target"/> (N, H, W) int64 class
    /// indices. The caller owns the returned tensor.
    /// </summary>
    Tensor Compute(Tensor logits, Tensor target);
}
