using FastSeg.Training;
using FastSeg.Training.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// In the container's namespace, as Microsoft's own Add* extensions are, so that services.AddFastSeg shows up where
// services are configured without another using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FastSeg's model, dataset and trainer factories with their options.</summary>
public static class FastSegServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ISegmentationModelFactory"/>, <see cref="ISegmentationDatasetFactory"/> and
    /// <see cref="ITrainerFactory"/> (singletons), with options bound from <paramref name="configuration"/>:
    /// <c>{sectionName}:Model</c> → <see cref="ModelFactoryOptions"/>, <c>{sectionName}:Data</c> →
    /// <see cref="DatasetFactoryOptions"/>, <c>{sectionName}:Trainer</c> → <see cref="TrainerOptions"/> (keys as in the
    /// trainer's JSON files: <c>total_epoch</c>, <c>base_lr</c>, ...). Options follow configuration reloads through
    /// <see cref="IOptionsMonitor{TOptions}"/>; invalid values fail when the options are first read, with the key named.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configuration">The configuration root (or any section holding <paramref name="sectionName"/>).</param>
    /// <param name="sectionName">The FastSeg section; empty to read Model, Data and Trainer from <paramref name="configuration"/> itself.</param>
    public static IServiceCollection AddFastSeg(this IServiceCollection services, IConfiguration configuration, string sectionName = FastSegSections.DefaultRoot)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(sectionName);
        var root = sectionName.Length == 0 ? configuration : configuration.GetSection(sectionName);
        string rootPath = root is IConfigurationSection s ? s.Path : "";
        var sections = FastSegSections.Under(rootPath);

        services.Configure<ModelFactoryOptions>(root.GetSection("Model"));
        services.Configure<DatasetFactoryOptions>(root.GetSection("Data"));
        var trainer = root.GetSection("Trainer");
        services.AddSingleton<IConfigureOptions<TrainerOptions>>(new TrainerOptionsConfiguration(trainer));
        services.AddSingleton<IOptionsChangeTokenSource<TrainerOptions>>(new ConfigurationChangeTokenSource<TrainerOptions>(trainer));
        return services.AddFastSegCore(sections);
    }

    /// <summary>
    /// Registers the FastSeg factories with options from code only (<c>services.Configure&lt;ModelFactoryOptions&gt;(...)</c>
    /// and so on); <see cref="TrainerOptions"/> keeps its defaults unless configured.
    /// </summary>
    public static IServiceCollection AddFastSeg(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddFastSegCore(FastSegSections.Under(FastSegSections.DefaultRoot));
    }

    private static IServiceCollection AddFastSegCore(this IServiceCollection services, FastSegSections sections)
    {
        services.AddOptions();
        services.TryAddSingleton(sections);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelFactoryOptions>>(new ModelFactoryOptionsValidator(sections)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TrainerOptions>>(new TrainerOptionsValidator(sections)));
        services.TryAddSingleton<ISegmentationModelFactory, SegmentationModelFactory>();
        services.TryAddSingleton<ISegmentationDatasetFactory, SegmentationDatasetFactory>();
        services.TryAddSingleton<ITrainerFactory, TrainerFactory>();
        return services;
    }
}
