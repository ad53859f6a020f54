using System.Diagnostics;
using FastSeg.Data;
using FastSeg.Training;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

/// <summary>
/// The synthetic Cityscapes-layout scenes of the learning acceptance tests: 16 training and 8 validation images of
/// 256x128, generated once. One intra-op thread, as in <see cref="SyntheticCityscapesFixture"/>: on a loaded 2-core
/// machine two OpenMP threads that spin at barriers while the other core is taken made steps several times slower.
/// </summary>
public sealed class LearningScenesFixture : IDisposable
{
    private readonly int _threads;

    public LearningScenesFixture()
    {
        _threads = get_num_threads();
        set_num_threads(1);
        Root = Path.Combine(Path.GetTempPath(), "fastseg-learning-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticCityscapes.Generate(Root, new SyntheticCityscapesOptions { Width = 256, Height = 128, TrainCount = 16, ValCount = 8, Seed = 3 });
    }

    public string Root { get; }

    public string NewSaveDir() => Path.Combine(Root, "runs", Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        set_num_threads(_threads);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// Learning acceptance: Fast-SCNN (fp32 and bfloat16 autocast) and BiSeNetV2 (fp32) trained from scratch by the real
/// trainer on the synthetic scenes reach a validation mIoU of at least 0.5 over the classes present in the labels
/// (<see cref="Metrics.SegmentationReport.MeanIoUPresent"/>), and their loss falls.
/// </summary>
/// <remarks>
/// The recipe, chosen to learn within about 40 s of CPU time (Fast-SCNN; BiSeNetV2 needs about twice that, see its
/// test): random 128x128 crops of the 256x128 scenes (objects at the scale they are validated at, half the pixels of a
/// scene per sample), horizontal flips, batch 2, 25 epochs = 200 steps, Adam at 0.1 · base_lr = 0.02 with the
/// reference's one-cycle cos_warmup schedule (2 warm-up epochs), OHEM cross-entropy, no EMA, one validation of the
/// full 256x128 images after the last epoch. Of the 10 classes in the validation labels, pole, traffic sign (2-4 px
/// wide here) and terrain (a thin grass strip) stay at 0 IoU in every configuration tried, so 0.5 needs the six large
/// classes and persons. With the same budget, 128x64 scenes reached 0.44-0.47, 64x128 crops 0.53-0.54 and Adam at
/// 0.01 learned more slowly. Results are bit-reproducible on one machine and thread count; figures are in
/// benchmarks/RESULTS.md.
/// </remarks>
[Collection("trainer")]
public class LearningAcceptanceTests(LearningScenesFixture data, ITestOutputHelper output) : IClassFixture<LearningScenesFixture>
{
    private const double Bar = 0.5;

    private TrainerOptions Recipe(string model, int epochs = 25) => TrainerOptions.Builder()
        .Model(model)
        .Dataset(data.Root)
        .Epochs(epochs)
        .BatchSize(2, 4)
        .Optimizer(OptimizerKind.Adam, 0.2)               // lr = 0.1 · base_lr = 0.02
        .LrPolicy(LrPolicy.CosWarmup, warmupEpochs: 2)
        .Ohem()
        .Crop(128, 128)
        .Augment(hFlip: 0.5)
        .Validation(interval: 1, beginEpoch: epochs - 1)  // validate once, after the last epoch
        .SaveDir(data.NewSaveDir())
        .Resume(false)
        .Workers(0)
        .Seed(7)
        .Set("val_best", "false")
        .Set("save_ckpt", "false")
        .Set("use_tb", "false")
        .Set("log_interval", "0")
        .Build();

    private TrainingResult TrainAndCheck(string label, TrainerOptions options)
    {
        var clock = Stopwatch.StartNew();
        var losses = new List<double>();
        using var trainer = new Trainer(options, progress: new SyncProgress<TrainingProgress>(p => { if (p.Kind == ProgressKind.Iteration) losses.Add(p.Loss); }));
        var result = trainer.Run();
        clock.Stop();
        var report = result.LastReport!;
        int tenth = Math.Max(1, losses.Count / 10);
        double early = losses.Take(tenth).Average(), late = losses.TakeLast(tenth).Average();
        output.WriteLine(report.ToString());
        output.WriteLine($"{label}: {losses.Count} steps in {clock.Elapsed.TotalSeconds:F1} s; loss (mean of the first / last {tenth} steps) " +
                         $"{early:F3} -> {late:F3}, per epoch {result.FirstLoss:F3} -> {result.LastLoss:F3}; mIoU over present classes " +
                         $"{report.MeanIoUPresent:P1}, over all 19 {report.MeanIoU:P1}; pixel accuracy {report.PixelAccuracy:P1}");
        Assert.Equal(trainer.TotalIterations, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"a loss of {l}"));
        Assert.True(late < 0.6 * early, $"{label}: the loss should fall by 40 %: {early} -> {late}");
        Assert.True(result.LastLoss < result.FirstLoss, $"{label}: epoch loss {result.FirstLoss} -> {result.LastLoss}");
        Assert.True(report.MeanIoUPresent >= Bar, $"{label}: mIoU over the present classes {report.MeanIoUPresent:F4} < {Bar}");
        return result;
    }

    [Fact]
    public void FastScnnFp32LearnsTheScenes() => TrainAndCheck("fastscnn fp32", Recipe("fastscnn"));

    [Fact]
    public void FastScnnBf16AutocastLearnsTheScenes()
    {
        var options = Recipe("fastscnn") with { AmpTraining = true };
        TrainAndCheck("fastscnn bf16 autocast", options);
    }

    // BiSeNetV2 learns the small classes later than Fast-SCNN. After 200 steps of the recipe it segments the six large
    // classes as well (road, sidewalk, building, vegetation, sky, car: 78-94 % IoU) but not yet persons (0-12 % IoU,
    // Fast-SCNN 44 %), on its own training images too, so it underfits rather than overfits; that leaves it at
    // 0.50-0.51 whatever the lr (Adam 0.01-0.03, SGD 0.05), schedule (cos_warmup, poly), loss (OHEM, CE), 4x more
    // images or other crops. Persons come between steps 200 and 400: 304 steps give 0.52 (seed 7 and 8), 400 steps
    // 0.56. Its auxiliary heads (the "boosters", which the reference network builds by default; each weighted 1) make
    // the 304 steps reach 0.54 for 10 % more time per step, so the test trains with them.
    [Fact]
    public void BiSeNetV2Fp32LearnsTheScenes()
    {
        var options = Recipe("bisenetv2", epochs: 38) with { UseAux = true };
        TrainAndCheck("bisenetv2 fp32 (with aux heads)", options);
    }
}
