using FastSeg.Models;
using FastSeg.Models.Zoo;
using Microsoft.Extensions.Options;

namespace FastSeg.Training.DependencyInjection;

/// <summary>
/// The network that <see cref="ISegmentationModelFactory.Create()"/> builds, bound from configuration
/// (<c>FastSeg:Model</c>): <c>{ "Name": "fastscnn", "NumClasses": 19, "Encoder": null, "Aux": false, "Detail": false,
/// "Options": { }, "Weights": "best.pth" }</c>.
/// </summary>
public sealed class ModelFactoryOptions
{
    /// <summary>Zoo name of the network (see <see cref="ModelZoo.Names"/>); required by <see cref="ISegmentationModelFactory.Create()"/>.</summary>
    public string? Name { get; set; }

    /// <summary>Encoder or variant; null for the network's default.</summary>
    public string? Encoder { get; set; }

    /// <summary>Output classes.</summary>
    public int NumClasses { get; set; } = 19;

    /// <summary>Build the auxiliary heads.</summary>
    public bool Aux { get; set; }

    /// <summary>Build STDC's detail head.</summary>
    public bool Detail { get; set; }

    /// <summary>Network-specific options (see <see cref="ModelInfo.ExtraOptions"/>).</summary>
    public Dictionary<string, string> Options { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A PyTorch state dict (.pth) loaded into the network after building; null keeps fresh weights.</summary>
    public string? Weights { get; set; }

    /// <summary>Whether every key of <see cref="Weights"/> must match (load_state_dict's <c>strict</c>).</summary>
    public bool StrictWeights { get; set; } = true;

    /// <summary>The zoo's build options for these settings.</summary>
    public ModelOptions ToModelOptions() => new()
    {
        Encoder = Encoder,
        NumClasses = NumClasses,
        Aux = Aux,
        Detail = Detail,
        Extra = new Dictionary<string, string>(Options, StringComparer.Ordinal),
    };
}

/// <summary>Builds zoo networks; the injectable face of <see cref="ModelZoo"/>.</summary>
public interface ISegmentationModelFactory
{
    /// <summary>Every network the zoo can build.</summary>
    IReadOnlyList<ModelInfo> Available { get; }

    /// <summary>The configured network (current values; they follow configuration reloads).</summary>
    ModelFactoryOptions Options { get; }

    /// <summary>Builds the configured network (and loads its weights, when configured). The caller owns it.</summary>
    /// <exception cref="InvalidOperationException">No network name is configured.</exception>
    SegmentationModel Create();

    /// <summary>Builds <paramref name="name"/> with <paramref name="options"/> (null: the zoo's defaults) and fresh weights.</summary>
    /// <exception cref="ArgumentException">Unknown name, or options the network does not accept.</exception>
    SegmentationModel Create(string name, ModelOptions? options = null);
}

/// <summary><see cref="ISegmentationModelFactory"/> over <see cref="ModelZoo"/>.</summary>
internal sealed class SegmentationModelFactory(IOptionsMonitor<ModelFactoryOptions> options, FastSegSections sections) : ISegmentationModelFactory
{
    public IReadOnlyList<ModelInfo> Available => ModelZoo.List();

    public ModelFactoryOptions Options => options.CurrentValue;

    public SegmentationModel Create()
    {
        var o = Options;
        if (string.IsNullOrWhiteSpace(o.Name))
            throw new InvalidOperationException(
                $"{FastSegSections.Key(sections.Model, nameof(ModelFactoryOptions.Name))} is not set; valid names: {string.Join(", ", ModelZoo.Names)}");
        var model = ModelZoo.Create(o.Name, o.ToModelOptions());
        if (o.Weights is null) return model;
        try
        {
            model.LoadWeights(o.Weights, o.StrictWeights);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public SegmentationModel Create(string name, ModelOptions? options = null) => ModelZoo.Create(name, options ?? new ModelOptions());
}

/// <summary>
/// Checks the configured network against the zoo when the options are first read, so that a typo in configuration
/// fails with the key and the accepted values rather than deep inside a build.
/// </summary>
internal sealed class ModelFactoryOptionsValidator(FastSegSections sections) : IValidateOptions<ModelFactoryOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelFactoryOptions options)
    {
        var failures = new List<string>();
        string Key(string key) => FastSegSections.Key(sections.Model, key);
        if (options.NumClasses < 1)
            failures.Add($"{Key(nameof(options.NumClasses))}: must be at least 1, got {options.NumClasses}");
        if (options.Name is not null)
        {
            var info = ModelZoo.List().FirstOrDefault(i => i.Name.Equals(options.Name, StringComparison.OrdinalIgnoreCase));
            if (info is null)
                failures.Add($"{Key(nameof(options.Name))}: unknown model '{options.Name}'; valid names: {string.Join(", ", ModelZoo.Names)}");
            else if (options.Encoder is not null && !info.Encoders.Contains(options.Encoder.ToLowerInvariant()))
                failures.Add(info.Encoders.Count == 0
                    ? $"{Key(nameof(options.Encoder))}: {info.Name} has no encoder choice; leave it unset"
                    : $"{Key(nameof(options.Encoder))}: {info.Name} does not support encoder '{options.Encoder}'; valid encoders: {string.Join(", ", info.Encoders)}");
        }
        if (options.Weights is not null && !File.Exists(options.Weights))
            failures.Add($"{Key(nameof(options.Weights))}: the file '{options.Weights}' does not exist");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
