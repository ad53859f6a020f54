namespace FastSeg.Training.DependencyInjection;

/// <summary>
/// The configuration paths the FastSeg services were bound from (e.g. <c>FastSeg:Model</c>), so that an error can name
/// the key at fault as it is written in appsettings.json or an environment variable.
/// </summary>
/// <param name="Model">The section of <see cref="ModelFactoryOptions"/>.</param>
/// <param name="Data">The section of <see cref="DatasetFactoryOptions"/>.</param>
/// <param name="Trainer">The section of <see cref="TrainerOptions"/>.</param>
public sealed record FastSegSections(string Model, string Data, string Trainer)
{
    /// <summary>The root section name that <c>AddFastSeg</c> reads by default.</summary>
    public const string DefaultRoot = "FastSeg";

    /// <summary>The paths below <paramref name="root"/>: <c>{root}:Model</c>, <c>{root}:Data</c>, <c>{root}:Trainer</c>.</summary>
    public static FastSegSections Under(string root) =>
        string.IsNullOrEmpty(root) ? new("Model", "Data", "Trainer") : new($"{root}:Model", $"{root}:Data", $"{root}:Trainer");

    /// <summary>The full path of <paramref name="key"/> inside <paramref name="section"/>.</summary>
    public static string Key(string section, string key) => $"{section}:{key}";
}
