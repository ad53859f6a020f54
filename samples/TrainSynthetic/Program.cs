// Generates a small synthetic Cityscapes tree, trains Fast-SCNN on it with the reference trainer's recipe (cos_warmup
// one-cycle schedule, OHEM loss, random scale / flip augmentation), and prints the loss as it goes and the per-class
// IoU and mIoU at the end. Takes a minute or two on a few CPU cores.
//
//   dotnet run --project samples/TrainSynthetic -c Release [-- OUTPUT_DIR] [key=value ...]
//
// key=value pairs override training options by their reference names, e.g. total_epoch=40 amp_training=true
// optimizer_type=sgd base_lr=0.05 use_ema=true. Checkpoints, config.json and metrics.jsonl go to OUTPUT_DIR/run.
using FastSeg.Data;
using FastSeg.Training;

string output = args.Length > 0 && !args[0].Contains('=') ? args[0] : Path.Combine(Path.GetTempPath(), "fastseg-train-demo");
var overrides = args.Where(a => a.Contains('=')).ToArray();
var root = Path.Combine(output, "cityscapes");
if (!Directory.Exists(Path.Combine(root, "leftImg8bit")))
{
    SyntheticCityscapes.Generate(root, new SyntheticCityscapesOptions { Width = 256, Height = 128, TrainCount = 16, ValCount = 4, Seed = 1 });
    Console.WriteLine($"wrote a synthetic Cityscapes tree to {root}");
}
var saveDir = Path.Combine(output, "run");
if (Directory.Exists(saveDir)) Directory.Delete(saveDir, recursive: true);

var options = TrainerOptions.Builder()
    .Model("fastscnn")
    .Dataset(root)
    .Epochs(25)
    .BatchSize(4, 4)
    .Optimizer(OptimizerKind.Adam, 0.1)          // Adam's lr is 0.1 · base_lr in the reference: 0.01
    .LrPolicy(LrPolicy.CosWarmup, warmupEpochs: 2)
    .Ohem(0.7)
    .Crop(128, 256)
    .Augment(randScaleLow: -0.25, randScaleHigh: 0.5, hFlip: 0.5)
    .Validation(interval: 5)
    .SaveDir(saveDir)
    .Workers(2)
    .Seed(1)
    .Set("log_interval", "0")
    .Build()
    .WithOverrides(overrides);

var progress = new ConsoleProgress();
using var trainer = new Trainer(options, progress: progress);
Console.WriteLine($"fastscnn: {trainer.TrainSet.Count} training images, {trainer.IterationsPerEpoch} iterations per epoch, " +
                  $"{trainer.TotalIterations} in all, peak lr {trainer.LearningRate}");
var result = trainer.Run();

Console.WriteLine();
Console.WriteLine(result.LastReport?.ToString() ?? "(no validation ran)");
Console.WriteLine($"loss {result.FirstLoss:F3} (first epoch) -> {result.LastLoss:F3} (last epoch); best mIoU {100 * result.BestScore:F2}%");
Console.WriteLine($"{result.Iterations} iterations in {result.Elapsed.TotalSeconds:F1} s, {result.ImagesPerSecond:F1} training images/s");
Console.WriteLine($"checkpoints and metrics.jsonl in {saveDir}");

sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        if (p.Kind == ProgressKind.Validation)
            Console.WriteLine($"  epoch {p.Epoch,3}: validation mIoU {p.MeanIoUPercent:F2}%, pixel accuracy {100 * p.Report!.PixelAccuracy:F2}%");
        else if (p.Iteration % 10 == 0 || p.Iteration == 1)
            Console.WriteLine($"  iter {p.Iteration,4}/{p.TotalIterations}  epoch {p.Epoch,3}  loss {p.Loss:F4}  lr {p.LearningRate:G3}  {p.ImagesPerSecond:F1} img/s");
    }
}
