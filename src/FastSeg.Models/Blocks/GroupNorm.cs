using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// Group normalisation over (N, C, H, W) with a learned per-channel scale and shift (PyTorch's <c>nn.GroupNorm</c>,
/// affine): state-dict entries <c>weight</c> and <c>bias</c>, initialised to ones and zeros. It has no running
/// statistics, so training and evaluation compute the same thing.
/// </summary>
public sealed class GroupNorm : Module<Tensor, Tensor>
{
    /// <summary>Per-channel scale γ.</summary>
    public Parameter weight;
    /// <summary>Per-channel shift β.</summary>
    public Parameter bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="numGroups">Groups the channels are split into (must divide <paramref name="numChannels"/>).</param>
    /// <param name="numChannels">Channels of the input.</param>
    /// <param name="eps">Added to the variance.</param>
    public GroupNorm(long numGroups, long numChannels, double eps = 1e-5) : base(nameof(GroupNorm))
    {
        if (numGroups < 1 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: {numChannels} channels cannot be split into {numGroups} groups", nameof(numGroups));
        NumGroups = numGroups;
        Eps = eps;
        weight = new Parameter(ones(numChannels));
        bias = new Parameter(zeros(numChannels));
        RegisterComponents();
    }

    /// <summary>Number of groups.</summary>
    public long NumGroups { get; }

    /// <summary>Added to the variance for stability.</summary>
    public double Eps { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => functional.group_norm(input, NumGroups, weight, bias, Eps);
}
