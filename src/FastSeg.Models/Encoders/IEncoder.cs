using static FastSeg.Torch.torch;

namespace FastSeg.Models.Encoders;

/// <summary>
/// The contract every encoder (backbone) shares, after segmentation_models.pytorch: the channels and the stride (to
/// the input) of each stage it returns, and a forward pass that returns those stages' features, shallowest first.
/// </summary>
public interface IEncoder
{
    /// <summary>Output channels of each returned stage.</summary>
    IReadOnlyList<int> Channels { get; }

    /// <summary>Stride of each returned stage relative to the input (4, 8, 16, 32 for a ResNet).</summary>
    IReadOnlyList<int> Strides { get; }

    /// <summary>The features of every stage, shallowest first; the caller owns them.</summary>
    Tensor[] ForwardFeatures(Tensor input);
}
