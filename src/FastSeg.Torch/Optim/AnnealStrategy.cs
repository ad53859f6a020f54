namespace FastSeg.Torch.Optim;

/// <summary>How <see cref="OneCycleLR"/> moves between its phase end points.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine period (PyTorch's <c>'cos'</c>, the default).</summary>
    Cos,

    /// <summary>A straight line (PyTorch's <c>'linear'</c>).</summary>
    Linear,
}
