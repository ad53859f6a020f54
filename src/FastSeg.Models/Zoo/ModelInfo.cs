namespace FastSeg.Models.Zoo;

/// <summary>
/// What the zoo knows about a network apart from its architecture: where it comes from, what can be chosen when
/// building it, and the reference implementation's published figures (zh320/realtime-semantic-segmentation-pytorch,
/// Cityscapes val mIoU and RTX 2080 FPS from its README).
/// </summary>
public sealed record ModelInfo
{
    /// <summary>Registry key, lower case (e.g. "icnet").</summary>
    public required string Name { get; init; }

    /// <summary>Display name (e.g. "ICNet").</summary>
    public required string Title { get; init; }

    /// <summary>
    /// The project whose implementation this network reproduces, parameter for parameter: "zh320"
    /// (zh320/realtime-semantic-segmentation-pytorch), "fast_seg" (lxtGH/Fast_Seg) or "smp"
    /// (segmentation_models.pytorch). Networks of the second and third are registered as "source/name".
    /// </summary>
    public string Source { get; init; } = "zh320";

    /// <summary>Paper title and venue.</summary>
    public required string Paper { get; init; }

    /// <summary>Encoders or architecture variants that can be chosen; empty when there is no choice.</summary>
    public IReadOnlyList<string> Encoders { get; init; } = Array.Empty<string>();

    /// <summary>The encoder used when none is given (null when there is no choice).</summary>
    public string? DefaultEncoder { get; init; }

    /// <summary>Whether auxiliary heads can be enabled.</summary>
    public bool SupportsAux { get; init; }

    /// <summary>Whether the STDC detail head can be enabled.</summary>
    public bool SupportsDetail { get; init; }

    /// <summary>Further named options and their allowed values (first value = default).</summary>
    public IReadOnlyDictionary<string, string[]> ExtraOptions { get; init; } = new Dictionary<string, string[]>();

    /// <summary>Input height and width must be multiples of this (for the default encoder).</summary>
    public int InputMultiple { get; init; } = 1;

    /// <summary>The reference's parameter count for 19 classes with default options (no aux/detail heads).</summary>
    public long ReferenceParameters { get; init; }

    /// <summary>The reference README's Cityscapes val mIoU (%), when published.</summary>
    public double? ReferenceMIoU { get; init; }

    /// <summary>The reference README's FPS on an RTX 2080 at 1024x512 (approximately), when published.</summary>
    public double? ReferenceFps { get; init; }

    /// <summary>Default input size (height, width) used for benchmarks and describe.</summary>
    public (int Height, int Width) DefaultInputSize { get; init; } = (512, 1024);
}

/// <summary>Options for building a network; unset values take the network's defaults.</summary>
public sealed record ModelOptions
{
    /// <summary>Output classes (19 for Cityscapes).</summary>
    public int NumClasses { get; init; } = 19;

    /// <summary>Encoder or variant name; null for the default.</summary>
    public string? Encoder { get; init; }

    /// <summary>Enable auxiliary heads (returned by <see cref="SegmentationModel.ForwardAll"/> in training mode).</summary>
    public bool Aux { get; init; }

    /// <summary>Enable the detail head (STDC).</summary>
    public bool Detail { get; init; }

    /// <summary>Network-specific options (see <see cref="ModelInfo.ExtraOptions"/>).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>The value of extra option <paramref name="key"/>, or <paramref name="fallback"/>.</summary>
    public string Get(string key, string fallback) => Extra.TryGetValue(key, out var v) ? v : fallback;
}

/// <summary>
/// Connects a network to the zoo. Each network has one implementation, found by reflection, so adding a network
/// touches no shared file.
/// </summary>
public interface IModelRegistration
{
    /// <summary>The network's metadata.</summary>
    ModelInfo Info { get; }

    /// <summary>Builds the network. Options are already validated against <see cref="Info"/>.</summary>
    SegmentationModel Build(ModelOptions options);
}
