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
    /// (segmentation_models.pytorch). Networks of the second and third are registered as "source/name", except
    /// "msfnet", which Fast_Seg lists but never implemented (built here from its paper, so no name clashes).
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

    /// <summary>
    /// The reference's loss weights for the auxiliary outputs, in the order <see cref="SegmentationOutput.Aux"/>
    /// returns them (Fast_Seg: 0.4 each); null when the reference leaves them to the user (zh320's aux_coef). The
    /// Trainer uses them when no aux_coef is given.
    /// </summary>
    public IReadOnlyList<double>? AuxLossWeights { get; init; }

    /// <summary>Whether the STDC detail head can be enabled.</summary>
    public bool SupportsDetail { get; init; }

    /// <summary>Further named options and their allowed values (first value = default).</summary>
    public IReadOnlyDictionary<string, string[]> ExtraOptions { get; init; } = new Dictionary<string, string[]>();

    /// <summary>
    /// Further named options whose values are numbers or lists rather than a short list of names (for example
    /// CFPNet's <c>dilations</c> or CGNet's <c>M</c>), each with its default and the check a value must pass.
    /// </summary>
    public IReadOnlyDictionary<string, ValueOption> ValueOptions { get; init; } = new Dictionary<string, ValueOption>();

    /// <summary>Input height and width must be multiples of this (for the default encoder).</summary>
    public int InputMultiple { get; init; } = 1;

    /// <summary>The reference's parameter count for 19 classes with default options (no aux/detail heads).</summary>
    public long ReferenceParameters { get; init; }

    /// <summary>The reference README's Cityscapes val mIoU (%), when published.</summary>
    public double? ReferenceMIoU { get; init; }

    /// <summary>The reference README's FPS on an RTX 2080 at 1024x512 (approximately), when published.</summary>
    public double? ReferenceFps { get; init; }

    /// <summary>
    /// How the network's input is normalised, <c>(v / 255 - mean) / std</c> per RGB channel: what its weights were
    /// trained with, read by the predictor and by the training recipe's pipelines. Every network of the zoo is
    /// trained here (and in zh320) with ImageNet's statistics, the default.
    /// </summary>
    public FastSeg.Data.Normalization InputNormalization { get; init; } = FastSeg.Data.Normalization.ImageNet;

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

    /// <summary>Extra option <paramref name="key"/> as an integer (validated by the zoo before a network is built).</summary>
    public int GetInt(string key, int fallback) =>
        Extra.TryGetValue(key, out var v) ? ValueOption.ParseInts(v)[0] : fallback;

    /// <summary>Extra option <paramref name="key"/> as a list of integers ("1,2,4" or "[1, 2, 4]").</summary>
    public int[] GetInts(string key, int[] fallback) =>
        Extra.TryGetValue(key, out var v) ? ValueOption.ParseInts(v) : fallback;

    /// <summary>Extra option <paramref name="key"/> as a boolean ("true"/"false").</summary>
    public bool GetBool(string key, bool fallback) =>
        Extra.TryGetValue(key, out var v) ? bool.Parse(v) : fallback;

    /// <summary>
    /// Extra options written as text, <c>key=value</c> pairs separated by <c>;</c> (e.g. <c>act_type=prelu;dilations=1,2,4</c>),
    /// as the trainer's <c>model_options</c> and its checkpoints' config hold them; null or empty gives none.
    /// </summary>
    /// <exception cref="FormatException">A pair without '=' or a key given twice (the message names it).</exception>
    public static IReadOnlyDictionary<string, string> ParseExtra(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (text ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new FormatException($"'{pair}' is not key=value (pairs are separated by ';', e.g. act_type=prelu;dilations=1,2,4)");
            var key = pair[..eq].Trim();
            if (!result.TryAdd(key, pair[(eq + 1)..].Trim())) throw new FormatException($"'{key}' is given twice");
        }
        return result;
    }
}

/// <summary>
/// A network option that takes a number or a list of numbers: its default (as text), a description of what is valid,
/// and the check. Build one with <see cref="Int"/> or <see cref="IntList"/>.
/// </summary>
public sealed record ValueOption
{
    /// <summary>The default value, as it would be written on the command line.</summary>
    public required string Default { get; init; }

    /// <summary>What a valid value looks like, for error messages and <c>fastseg models describe</c>.</summary>
    public required string Expected { get; init; }

    /// <summary>Returns null when <paramref name="value"/> is valid, else why not.</summary>
    public required Func<string, string?> Check { get; init; }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static ValueOption Int(int defaultValue, int min = 1, int max = 1024) => new()
    {
        Default = defaultValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Expected = $"an integer from {min} to {max}",
        Check = v => TryParseInts(v, out var xs) && xs.Length == 1 && xs[0] >= min && xs[0] <= max ? null : $"not an integer from {min} to {max}",
    };

    /// <summary>
    /// A comma-separated list of integers, each in [<paramref name="min"/>, <paramref name="max"/>], of exactly
    /// <paramref name="length"/> items when given (any length ≥ 1 otherwise).
    /// </summary>
    public static ValueOption IntList(int[] defaultValue, int? length = null, int min = 1, int max = 1024) => new()
    {
        Default = string.Join(",", defaultValue),
        Expected = $"{(length is { } n ? $"{n}" : "one or more")} comma-separated integers from {min} to {max}",
        Check = v => TryParseInts(v, out var xs) && xs.Length > 0 && (length is null || xs.Length == length) && xs.All(x => x >= min && x <= max)
            ? null
            : $"not {(length is { } n ? $"{n}" : "one or more")} comma-separated integers from {min} to {max}",
    };

    /// <summary>Parses "1,2,4", "[1, 2, 4]" or "(1, 2, 4)"; throws <see cref="FormatException"/> otherwise.</summary>
    public static int[] ParseInts(string value) =>
        TryParseInts(value, out var xs) ? xs : throw new FormatException($"'{value}' is not a list of integers");

    private static bool TryParseInts(string value, out int[] result)
    {
        var parts = value.Trim().Trim('[', ']', '(', ')').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        result = new int[parts.Length];
        for (int k = 0; k < parts.Length; k++)
            if (!int.TryParse(parts[k], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out result[k]))
                return false;
        return parts.Length > 0;
    }
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
