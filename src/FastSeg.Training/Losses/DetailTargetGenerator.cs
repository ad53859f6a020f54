using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Training.Losses;

/// <summary>
/// Builds STDC's binary boundary ("detail") targets from a label map: a 3×3 Laplacian (−1 around, 8 in the centre,
/// zero padding 1) is applied to the label map as float at strides 1, 2 and 4; the strided maps are resized back to
/// full size with nearest neighbour; the three maps are fused into one and thresholded (&gt; 0.1 → 1, else 0).
/// </summary>
/// <remarks>
/// <para>The Laplacian runs on the raw train ids, 255 included, so borders of ignored regions count as detail — as in
/// both the reference and the original STDC code; kept.</para>
/// <para>Fusion: the reference fuses with the network's <c>detail_conv</c> (a 1×1 convolution 3 → 1 without bias), but the
/// thresholding cuts its gradient, so it stays at its random initialisation and the targets depend on the seed. The
/// STDC paper's intent is a fixed weighting that favours the finest scale, so by default the maps are fused with the
/// STDC authors' weights (0.6, 0.3, 0.1). Passing the network's <c>detail_conv</c> as the fusion reproduces the
/// reference exactly.</para>
/// Targets are computed without gradient and outside autocast, in float32.
/// </remarks>
public sealed class DetailTargetGenerator
{
    private static readonly float[] LaplacianKernel = { -1, -1, -1, -1, 8, -1, -1, -1, -1 };
    private readonly Func<Tensor, Tensor>? _fusion;

    /// <summary>The default fusion weights of the stride-1, -2 and -4 maps (those of the STDC authors).</summary>
    public static IReadOnlyList<double> DefaultFusionWeights { get; } = new[] { 0.6, 0.3, 0.1 };

    /// <summary>Creates a generator that fuses the three maps with fixed weights.</summary>
    /// <param name="threshold">Fused values above it become 1 (the reference's <c>detail_thrs</c>, 0.1).</param>
    /// <param name="fusionWeights">Weights of the stride-1, -2 and -4 maps; null for <see cref="DefaultFusionWeights"/>.</param>
    public DetailTargetGenerator(double threshold = 0.1, IReadOnlyList<double>? fusionWeights = null)
    {
        fusionWeights ??= DefaultFusionWeights;
        if (fusionWeights.Count != 3) throw new ArgumentException($"3 fusion weights are needed, got {fusionWeights.Count}", nameof(fusionWeights));
        Threshold = threshold;
        FusionWeights = fusionWeights.ToArray();
    }

    /// <summary>
    /// Creates a generator that fuses with <paramref name="fusion"/>, a map from the (N, 3, H, W) Laplacian stack to
    /// (N, 1, H, W) — for example the STDC network's <c>detail_conv</c>, which reproduces the reference's targets.
    /// </summary>
    public DetailTargetGenerator(Func<Tensor, Tensor> fusion, double threshold = 0.1)
    {
        _fusion = fusion ?? throw new ArgumentNullException(nameof(fusion));
        Threshold = threshold;
    }

    /// <summary>Fused values above this become 1.</summary>
    public double Threshold { get; }

    /// <summary>The fixed fusion weights, or null when a fusion function was given.</summary>
    public IReadOnlyList<double>? FusionWeights { get; }

    /// <summary>
    /// The three Laplacian maps of a label map, (N, 3, H, W) float32: stride 1, then strides 2 and 4 resized to
    /// (H, W) with nearest neighbour. The caller owns the returned tensor.
    /// </summary>
    /// <param name="mask">Labels, (N, H, W) or (N, 1, H, W), any integer or float dtype.</param>
    public static Tensor Laplacian(Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var labels = mask.dim() switch
        {
            3 => mask.unsqueeze(1),
            4 when mask.size(1) == 1 => mask.alias(),
            _ => throw new ArgumentException($"the mask must be (N, H, W) or (N, 1, H, W), got {ShapeText.Of(mask.shape)}", nameof(mask)),
        };
        labels = labels.to(ScalarType.Float32);
        var size = new[] { labels.size(2), labels.size(3) };
        var kernel = tensor(LaplacianKernel, new long[] { 1, 1, 3, 3 }, device: labels.device);
        var maps = new List<Tensor>(3);
        foreach (long stride in new long[] { 1, 2, 4 })
        {
            var map = functional.conv2d(labels, kernel, null, new[] { stride, stride }, new long[] { 1, 1 });
            if (stride != 1) map = functional.interpolate(map, size, mode: InterpolationMode.Nearest);
            maps.Add(map);
        }
        return cat(maps, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The binary detail target of a label map, (N, 1, H, W) float32 of 0 and 1. The caller owns the returned tensor.
    /// </summary>
    /// <param name="mask">Labels, (N, H, W) or (N, 1, H, W).</param>
    public Tensor Generate(Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var noAutocast = autocast(mask.device_type, enabled: false);
        var lap = Laplacian(mask);
        Tensor fused;
        if (_fusion is not null)
        {
            fused = _fusion(lap);
            if (fused.dim() != 4 || fused.size(1) != 1)
                throw new InvalidOperationException($"the detail fusion must return (N, 1, H, W), got {ShapeText.Of(fused.shape)}");
            fused = fused.to(ScalarType.Float32);
        }
        else
        {
            var w = FusionWeights!;
            fused = lap.narrow(1, 0, 1).mul(w[0]).add(lap.narrow(1, 1, 1).mul(w[1])).add(lap.narrow(1, 2, 1).mul(w[2]));
        }
        return fused.gt(Threshold).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
