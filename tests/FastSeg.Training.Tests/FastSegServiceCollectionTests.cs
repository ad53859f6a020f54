using FastSeg.Data;
using FastSeg.Models.Zoo;
using FastSeg.Training.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

/// <summary>services.AddFastSeg(configuration): options bound from an in-memory configuration, then each factory used.</summary>
[Collection("trainer")]
public sealed class FastSegServiceCollectionTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "fastseg-di-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try { if (Directory.Exists(_temp)) Directory.Delete(_temp, recursive: true); } catch (IOException) { }
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings, Action<IServiceCollection>? more = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddFastSeg(configuration);
        more?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public void TrainerOptionsAreBoundWithTheReferenceKeysAndPropertyNames()
    {
        using var provider = Provider(new()
        {
            ["FastSeg:Trainer:model"] = "fastscnn",
            ["FastSeg:Trainer:total_epoch"] = "7",
            ["FastSeg:Trainer:base_lr"] = "0.02",
            ["FastSeg:Trainer:lr_policy"] = "poly",
            ["FastSeg:Trainer:optimizer_type"] = "adamw",
            ["FastSeg:Trainer:randscale:0"] = "-0.25",    // a JSON array in appsettings.json
            ["FastSeg:Trainer:randscale:1"] = "0.5",
            ["FastSeg:Trainer:TrainBatchSize"] = "4",     // the property name works too
            ["FastSeg:Trainer:use-ema"] = "true",
            ["FastSeg:Trainer:data_root"] = "/data/cityscapes",
            ["FastSeg:Trainer:step_size"] = "null",
        });
        var options = provider.GetRequiredService<IOptions<TrainerOptions>>().Value;
        Assert.Equal("fastscnn", options.Model);
        Assert.Equal(7, options.TotalEpochs);
        Assert.Equal(0.02, options.BaseLr);
        Assert.Equal(LrPolicy.Poly, options.LrPolicy);
        Assert.Equal(OptimizerKind.AdamW, options.Optimizer);
        Assert.Equal(new[] { -0.25, 0.5 }, options.RandScale);
        Assert.Equal(4, options.TrainBatchSize);
        Assert.True(options.UseEma);
        Assert.Equal("/data/cityscapes", options.DataRoot);
        Assert.Null(options.StepSize);
        // Keys that are not configured keep the reference's defaults.
        Assert.Equal(0.9, options.Momentum);
        Assert.Equal(16, options.ValBatchSize);
        Assert.Equal(LossKind.Ohem, options.LossType);

        var factory = provider.GetRequiredService<ITrainerFactory>();
        Assert.Equal(options.ToJson(), factory.Options.ToJson());   // the record holds arrays, so compare values
    }

    [Fact]
    public void UnknownTrainerKeysAndBadValuesNameTheConfigurationKey()
    {
        using (var provider = Provider(new() { ["FastSeg:Trainer:totl_epoch"] = "3" }))
        {
            var e = Assert.Throws<TrainerOptionException>(() => provider.GetRequiredService<IOptions<TrainerOptions>>().Value);
            Assert.Equal("FastSeg:Trainer:totl_epoch", e.Option);
            Assert.Contains("unknown option", e.Message);
            Assert.Contains("total_epoch", e.Message);
        }
        using (var provider = Provider(new() { ["FastSeg:Trainer:lr_policy"] = "cosine" }))
        {
            var e = Assert.Throws<TrainerOptionException>(() => provider.GetRequiredService<ITrainerFactory>().Options);
            Assert.Equal("FastSeg:Trainer:lr_policy", e.Option);
            Assert.Contains("'cosine' is not one of cos_warmup, poly, linear, step", e.Message);
        }
        using (var provider = Provider(new() { ["FastSeg:Trainer:total_epoch"] = "0" }))
        {
            var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TrainerOptions>>().Value);
            Assert.Equal("FastSeg:Trainer:total_epoch: must be at least 1, got 0", Assert.Single(e.Failures));
        }
        using (var provider = Provider(new() { ["FastSeg:Trainer:model"] = "fastscn" }))
        {
            var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TrainerOptions>>().Value);
            var failure = Assert.Single(e.Failures);
            Assert.StartsWith("FastSeg:Trainer:model: unknown model 'fastscn'; valid names: ", failure);
            foreach (var name in ModelZoo.Names) Assert.Contains(name, failure);
        }
    }

    [Fact]
    public void ModelFactoryBuildsTheConfiguredNetworkWithTheConfiguredClasses()
    {
        using var provider = Provider(new()
        {
            ["FastSeg:Model:Name"] = "FastSCNN",
            ["FastSeg:Model:NumClasses"] = "5",
        });
        var factory = provider.GetRequiredService<ISegmentationModelFactory>();
        Assert.Equal("FastSCNN", factory.Options.Name);
        Assert.Equal(5, factory.Options.NumClasses);
        Assert.Equal(ModelZoo.Names, factory.Available.Select(i => i.Name));

        using var scope = NewDisposeScope();
        using var model = factory.Create();
        Assert.Equal("fastscnn", model.Info!.Name);
        Assert.Equal(5, model.NumClasses);
        model.eval();
        using (no_grad())
        {
            var logits = model.forward(randn(1, 3, 64, 96));
            Assert.Equal(new long[] { 1, 5, 64, 96 }, logits.shape);
        }

        // Named creation bypasses the configured network but validates in the same way.
        using var other = factory.Create("enet", new ModelOptions { NumClasses = 3 });
        Assert.Equal("enet", other.Info!.Name);
        Assert.Equal(3, other.NumClasses);
    }

    [Fact]
    public void AnUnknownModelNameInConfigurationNamesTheKeyAndListsTheValidNames()
    {
        using var provider = Provider(new() { ["FastSeg:Model:Name"] = "bisenet3" });
        var factory = provider.GetRequiredService<ISegmentationModelFactory>();
        var e = Assert.Throws<OptionsValidationException>(() => factory.Create());
        var failure = Assert.Single(e.Failures);
        Assert.StartsWith("FastSeg:Model:Name: unknown model 'bisenet3'; valid names: ", failure);
        Assert.Equal(string.Join(", ", ModelZoo.Names), failure[(failure.IndexOf("valid names: ", StringComparison.Ordinal) + 13)..]);
        Assert.True(ModelZoo.Names.Count >= 15);
    }

    [Fact]
    public void AnEncoderTheNetworkLacksAndAMissingNameAreReportedByKey()
    {
        using (var provider = Provider(new() { ["FastSeg:Model:Name"] = "bisenetv1", ["FastSeg:Model:Encoder"] = "mobilenetv2" }))
        {
            var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<ISegmentationModelFactory>().Create());
            Assert.Equal("FastSeg:Model:Encoder: bisenetv1 does not support encoder 'mobilenetv2'; valid encoders: resnet18, resnet34, resnet50, resnet101",
                Assert.Single(e.Failures));
        }
        using (var provider = Provider(new()))
        {
            var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ISegmentationModelFactory>().Create());
            Assert.StartsWith("FastSeg:Model:Name is not set; valid names: ", e.Message);
        }
    }

    [Fact]
    public void FactoriesFollowAConfigurationReload()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FastSeg:Model:Name"] = "fastscnn",
            ["FastSeg:Trainer:total_epoch"] = "5",
        }).Build();
        using var provider = new ServiceCollection().AddFastSeg(configuration).BuildServiceProvider();
        var models = provider.GetRequiredService<ISegmentationModelFactory>();
        var trainers = provider.GetRequiredService<ITrainerFactory>();
        Assert.Equal(19, models.Options.NumClasses);
        Assert.Equal(5, trainers.Options.TotalEpochs);

        configuration["FastSeg:Model:NumClasses"] = "7";
        configuration["FastSeg:Trainer:total_epoch"] = "9";
        configuration.Reload();
        Assert.Equal(7, models.Options.NumClasses);
        Assert.Equal(9, trainers.Options.TotalEpochs);
    }

    [Fact]
    public void DatasetFactoryGeneratesAndReadsTheSyntheticDataset()
    {
        using var provider = Provider(new()
        {
            ["FastSeg:Data:Kind"] = "synthetic",
            ["FastSeg:Data:Root"] = _temp,
            ["FastSeg:Data:Synthetic:Width"] = "64",
            ["FastSeg:Data:Synthetic:Height"] = "32",
            ["FastSeg:Data:Synthetic:TrainCount"] = "3",
            ["FastSeg:Data:Synthetic:ValCount"] = "2",
            ["FastSeg:Data:Synthetic:Seed"] = "11",
        });
        var factory = provider.GetRequiredService<ISegmentationDatasetFactory>();
        Assert.Equal(DatasetKind.Synthetic, factory.Options.Kind);
        Assert.Equal(new SyntheticCityscapesOptions { Width = 64, Height = 32, TrainCount = 3, ValCount = 2, Seed = 11 }, factory.Options.Synthetic);

        var train = factory.Create("train");
        var val = factory.Create("val", Pipelines.Zh320Val());
        Assert.Equal(3, train.Count);
        Assert.Equal(2, val.Count);
        Assert.IsType<CityscapesDataset>(train);
        Assert.Equal(19, train.NumClasses);
        Assert.Null(train.Transform);
        Assert.NotNull(val.Transform);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(_temp, "leftImg8bit", "train"), "*.png", SearchOption.AllDirectories).Length);
        using var sample = train.Get(0, seed: 0);
        Assert.Equal((64, 32), (sample.Width, sample.Height));
        Assert.True(sample.HasMask);
    }

    [Fact]
    public void DatasetFactoryNamesTheMissingSetting()
    {
        using (var provider = Provider(new() { ["FastSeg:Data:Kind"] = "camvid" }))
        {
            var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ISegmentationDatasetFactory>().Create("train"));
            Assert.Equal("FastSeg:Data:Root is not set; the CamVid dataset needs its root folder", e.Message);
        }
        using (var provider = Provider(new() { ["FastSeg:Data:Kind"] = "filelist", ["FastSeg:Data:Root"] = _temp, ["FastSeg:Data:Lists:train"] = "train.txt" }))
        {
            var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ISegmentationDatasetFactory>().Create("val"));
            Assert.Equal("FastSeg:Data:Lists:val is not set; configured splits: train", e.Message);
        }
        using (var provider = Provider(new() { ["FastSeg:Data:Kind"] = "folder", ["FastSeg:Data:Labels"] = "pascal", ["FastSeg:Data:Folders:train:Images"] = _temp }))
        {
            var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ISegmentationDatasetFactory>().Create("train"));
            Assert.Equal("FastSeg:Data:Labels: unknown label map 'pascal'; valid maps: cityscapes, camvid, identity", e.Message);
        }
    }

    [Fact]
    public void TrainerFactoryTrainsTheConfiguredNetworkOnTheConfiguredDataset()
    {
        var saveDir = Path.Combine(_temp, "run");
        var logged = new List<string>();
        using var provider = Provider(new()
        {
            ["FastSeg:Model:Name"] = "fastscnn",
            ["FastSeg:Model:NumClasses"] = "19",
            ["FastSeg:Data:Kind"] = "synthetic",
            ["FastSeg:Data:Root"] = Path.Combine(_temp, "data"),
            ["FastSeg:Data:Synthetic:Width"] = "64",
            ["FastSeg:Data:Synthetic:Height"] = "32",
            ["FastSeg:Data:Synthetic:TrainCount"] = "2",
            ["FastSeg:Data:Synthetic:ValCount"] = "1",
            ["FastSeg:Trainer:total_epoch"] = "1",
            ["FastSeg:Trainer:warmup_epochs"] = "0",
            ["FastSeg:Trainer:train_bs"] = "2",
            ["FastSeg:Trainer:val_bs"] = "1",
            ["FastSeg:Trainer:crop_h"] = "32",
            ["FastSeg:Trainer:crop_w"] = "64",
            ["FastSeg:Trainer:base_workers"] = "0",
            ["FastSeg:Trainer:load_ckpt"] = "false",
            ["FastSeg:Trainer:val_best"] = "false",
            ["FastSeg:Trainer:use_tb"] = "false",
            ["FastSeg:Trainer:log_interval"] = "0",
            ["FastSeg:Trainer:save_dir"] = saveDir,
        }, services => services.AddSingleton<ILoggerFactory>(new ListLoggerFactory(logged)));

        using var trainer = provider.GetRequiredService<ITrainerFactory>().Create();
        Assert.Equal("fastscnn", trainer.Model.Info!.Name);
        Assert.Equal(2, trainer.TrainSet.Count);
        Assert.Equal(1, trainer.ValSet.Count);
        Assert.Equal(1, trainer.IterationsPerEpoch);
        Assert.Equal((32, 64), (trainer.Options.EffectiveCropHeight, trainer.Options.EffectiveCropWidth));
        Assert.Contains("[!] Train from scratch", logged);

        var result = trainer.Run();
        Assert.Equal(1, result.Iterations);
        Assert.True(double.IsFinite(result.LastLoss));
        // The epoch line gives the mIoU in percent, the unit of every report (the API keeps fractions).
        string percent = (100 * result.LastReport!.MeanIoU).ToString("F2");
        Assert.Contains(logged, l => l.StartsWith(" Epoch0 mIoU: " + percent + " %", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(saveDir, "last.pth")));
    }

    /// <summary>Collects formatted log messages.</summary>
    private sealed class ListLoggerFactory(List<string> lines) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }

        private sealed class ListLogger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines) lines.Add(formatter(state, exception));
            }
        }
    }
}
