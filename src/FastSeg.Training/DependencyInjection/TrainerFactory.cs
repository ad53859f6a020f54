using System.Globalization;
using System.Reflection;
using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Zoo;
using FastSeg.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FastSeg.Training.DependencyInjection;

/// <summary>Creates <see cref="Trainer"/>s from the configured <see cref="TrainerOptions"/>, network and dataset.</summary>
public interface ITrainerFactory
{
    /// <summary>The configured training options (current values; validated).</summary>
    TrainerOptions Options { get; }

    /// <summary>
    /// A trainer for <paramref name="options"/> (null: <see cref="Options"/>; adjust with <c>factory.Options with { ... }</c>).
    /// The network is <paramref name="model"/>, else the options' <c>model</c> (built by the trainer with <c>encoder</c>,
    /// <c>num_class</c>, <c>use_aux</c>, <c>use_detail_head</c>), else the configured <see cref="ISegmentationModelFactory"/>
    /// network. The data is Cityscapes under the options' <c>data_root</c> when it is set, else the train and val splits
    /// of the configured <see cref="ISegmentationDatasetFactory"/> with the reference's train and val transforms. The
    /// logger comes from the registered <see cref="ILoggerFactory"/>, when there is one. The caller owns the trainer.
    /// </summary>
    Trainer Create(TrainerOptions? options = null, SegmentationModel? model = null, IEnumerable<ITrainingLossHook>? hooks = null,
        IProgress<TrainingProgress>? progress = null);
}

/// <summary><see cref="ITrainerFactory"/> over the registered factories.</summary>
internal sealed class TrainerFactory(
    IOptionsMonitor<TrainerOptions> options,
    ISegmentationModelFactory models,
    ISegmentationDatasetFactory datasets,
    ILoggerFactory? loggerFactory = null) : ITrainerFactory
{
    public TrainerOptions Options => options.CurrentValue;

    public Trainer Create(TrainerOptions? options = null, SegmentationModel? model = null, IEnumerable<ITrainingLossHook>? hooks = null,
        IProgress<TrainingProgress>? progress = null)
    {
        var o = options ?? Options;
        o.Validate();
        SegmentationModel? built = null;
        try
        {
            if (model is null && o.Model is null) model = built = models.Create();
            SegmentationDataset? trainSet = null, valSet = null;
            if (o.DataRoot is null)
            {
                // The network's own normalisation, whether it is given, configured, or named by the options.
                var normalization = (model?.Info ?? ModelZoo.Describe(ModelZoo.ResolveName(o.Model!, o.Decoder))).InputNormalization;
                trainSet = datasets.Create("train", TrainingRecipe.TrainTransform(o, normalization));
                valSet = datasets.Create("val", TrainingRecipe.ValTransform(o, normalization));
            }
            var recipe = TrainingRecipe.Create(o, model, trainSet, valSet, hooks);
            // The network built here belongs to the run, as one the recipe builds itself would.
            if (built is not null) recipe.OwnsModel = true;
            built = null;
            try
            {
                return new Trainer(recipe, logger: loggerFactory?.CreateLogger<Trainer>(), progress: progress);
            }
            catch
            {
                recipe.Dispose();
                throw;
            }
        }
        finally
        {
            built?.Dispose();
        }
    }
}

/// <summary>
/// Binds <see cref="TrainerOptions"/> from a configuration section with the same keys and parsing as
/// <see cref="TrainerOptions.LoadJson"/> (the reference's <c>total_epoch</c>, <c>base_lr</c>, ... or the property
/// names; enum values as <c>cos_warmup</c>; lists as JSON arrays or "1,0.4"). The standard binder is not used because it
/// knows neither the reference's key spellings nor its enum names.
/// </summary>
internal sealed class TrainerOptionsConfiguration(IConfiguration section) : IConfigureOptions<TrainerOptions>
{
    private static readonly PropertyInfo[] OptionProperties = typeof(TrainerOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.GetCustomAttribute<OptionNameAttribute>() is not null)
        .ToArray();

    public void Configure(TrainerOptions options)
    {
        var bound = options;
        foreach (var child in section.GetChildren())
        {
            try
            {
                bound = bound.With(child.Key, ValueOf(child));
            }
            catch (TrainerOptionException e)
            {
                string prefix = $"option '{e.Option}': ";
                string detail = e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message;
                throw new TrainerOptionException(child.Path, detail);
            }
        }
        // The options system hands over a fresh instance to fill in; TrainerOptions is a record whose With returns
        // copies, so the bound values are copied back into that instance.
        foreach (var property in OptionProperties)
            property.SetValue(options, property.GetValue(bound));
    }

    /// <summary>The text of a key; a list (children 0, 1, ...) is joined with commas as the option parser reads it.</summary>
    private static string? ValueOf(IConfigurationSection child)
    {
        if (child.Value is not null) return child.Value;
        var items = child.GetChildren().ToList();
        if (items.Count == 0) return null;
        return string.Join(",", items
            .OrderBy(i => int.TryParse(i.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue)
            .Select(i => i.Value));
    }
}

/// <summary>Runs <see cref="TrainerOptions.Validate"/> and checks the network name against the zoo, naming the configuration key.</summary>
internal sealed class TrainerOptionsValidator(FastSegSections sections) : IValidateOptions<TrainerOptions>
{
    public ValidateOptionsResult Validate(string? name, TrainerOptions options)
    {
        var failures = new List<string>();
        try
        {
            options.Validate();
        }
        catch (TrainerOptionException e)
        {
            string prefix = $"option '{e.Option}': ";
            string detail = e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message;
            failures.Add($"{FastSegSections.Key(sections.Trainer, e.Option)}: {detail}");
        }
        if (options.Model is not null && !ModelZoo.Names.Contains(options.Model.ToLowerInvariant()))
            failures.Add($"{FastSegSections.Key(sections.Trainer, "model")}: unknown model '{options.Model}'; valid names: {string.Join(", ", ModelZoo.Names)}");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
