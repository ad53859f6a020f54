// Data-parallel training on one machine with two processes (DDP over Gloo). Started normally, the program writes a
// small synthetic Cityscapes tree and then starts itself N times through LocalLauncher, which sets the environment
// torchrun gives its workers (MASTER_ADDR, MASTER_PORT, RANK, LOCAL_RANK, WORLD_SIZE, OMP_NUM_THREADS=1). Each copy
// sees that environment, joins the process group with torch.distributed.init_process_group("gloo") and trains
// Fast-SCNN with a Trainer whose gradient sync is a ProcessGroupSync: rank 0's weights are broadcast first, every step's
// gradients are averaged over the ranks, each rank reads its own shard of the images (DistributedSampler), and the
// validation confusion matrices are summed. Only rank 0 prints: the shard each rank got, the progress and the final mIoU.
// Under a minute on 2 idle cores with the defaults.
//
//   dotnet run --project samples/DistributedTraining -c Release [-- options]
//
// Options: --nproc N (processes, 2)  --epochs N (15)  --batch N (images per process per step, 4)  --model NAME (fastscnn)
//          --out DIR (data and checkpoints, $TMP/fastseg-ddp-demo)
// The same program can be started by torchrun-like launchers instead: when TORCHELASTIC_RUN_ID is set it does not relaunch.
using System.Globalization;
using FastSeg.Data;
using FastSeg.Torch;
using FastSeg.Torch.Distributed;
using FastSeg.Training;
using static FastSeg.Torch.torch;
using dist = FastSeg.Torch.torch.distributed;

var settings = DemoSettings.Parse(args);
var root = Path.Combine(settings.Output, "cityscapes");

if (!dist.is_torchelastic_launched())
{
    // The launching process: prepare the data once (the ranks only read it), then start the ranks and wait.
    if (!Directory.Exists(Path.Combine(root, "leftImg8bit")))
    {
        SyntheticCityscapes.Generate(root, new SyntheticCityscapesOptions { Width = 256, Height = 128, TrainCount = 16, ValCount = 4, Seed = 1 });
        Console.WriteLine($"wrote a synthetic Cityscapes tree to {root}");
    }
    var (executable, prefix) = SelfCommand();
    Console.WriteLine($"launching {settings.Processes} ranks: {Path.GetFileName(executable)} {string.Join(' ', prefix.Select(Path.GetFileName).Concat(args))}");
    var launch = LocalLauncher.Run(settings.Processes, executable, prefix.Concat(args).ToList(),
        options: new LaunchOptions { Timeout = TimeSpan.FromMinutes(30) });
    Console.WriteLine($"launcher: {launch.Message}");
    return launch.Success ? 0 : 1;
}

// ---- one rank ----------------------------------------------------------------------------------------------------------
dist.init_process_group("gloo", timeout: TimeSpan.FromMinutes(5));
try
{
    var sync = new ProcessGroupSync();
    bool main = sync.Rank == 0;
    var saveDir = Path.Combine(settings.Output, "run");
    if (main && Directory.Exists(saveDir)) Directory.Delete(saveDir, recursive: true);
    sync.Barrier();   // no rank may open its logs before rank 0 has cleared the old run

    var options = TrainerOptions.Builder()
        .Model(settings.Model)
        .Dataset(root)
        .Epochs(settings.Epochs)
        .BatchSize(settings.Batch, 4)
        .Optimizer(OptimizerKind.Adam, 0.1)          // per-process lr 0.01, scaled by the world size below
        .LrPolicy(LrPolicy.CosWarmup, warmupEpochs: 1)
        .Ohem(0.7)
        .Crop(128, 256)
        .Augment(randScaleLow: -0.25, randScaleHigh: 0.5, hFlip: 0.5)
        .Validation(beginEpoch: settings.Epochs - 1)  // validate once, after the last epoch, on both ranks' halves of the split
        .SaveDir(saveDir)
        .Workers(1)
        .Seed(1)
        .Set("log_interval", "0")
        .Set("use_tb", "false")
        .Set("val_best", "false")
        .Build();
    using var trainer = new Trainer(options, sync: sync, progress: main ? new Progress() : null);

    // Every rank reports its shard; rank 0 gathers and prints them. The first epoch's indices show that the shards are
    // disjoint and together cover the training set.
    var sampler = trainer.TrainLoader.Sampler;
    using var counts = tensor(new long[] { sampler.Count, trainer.ValLoader.Sampler.Count, trainer.IterationsPerEpoch, get_num_threads() });
    using var firstEpoch = tensor(sampler.Indices(0).Select(i => (long)i).ToArray());
    var allCounts = dist.all_gather(counts);
    var allIndices = dist.all_gather(firstEpoch);
    if (main)
    {
        Console.WriteLine($"{sync.WorldSize} processes (Gloo), {trainer.TrainSet.Count} training and {trainer.ValSet.Count} validation images, " +
                          $"{settings.Batch} images per process per step ({settings.Batch * sync.WorldSize} per step in all), peak lr {trainer.LearningRate:G3}");
        for (int r = 0; r < allCounts.Length; r++)
        {
            var c = allCounts[r].ToArray<long>();
            Console.WriteLine($"  rank {r}: {c[0]} training images ({c[2]} steps per epoch), {c[1]} validation images, {c[3]} intra-op thread(s); " +
                              $"epoch 0 order: {string.Join(",", allIndices[r].ToArray<long>())}");
        }
    }
    foreach (var t in allCounts.Concat(allIndices)) t.Dispose();

    var result = trainer.Run();
    if (main)
    {
        Console.WriteLine();
        Console.WriteLine(result.LastReport?.ToString() ?? "(no validation ran)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"final mIoU {100 * (result.LastReport?.MeanIoU ?? 0):F2}% ({100 * (result.LastReport?.MeanIoUPresent ?? 0):F2}% over the classes present); " +
            $"loss {result.FirstLoss:F3} -> {result.LastLoss:F3}; {result.Iterations} steps in {result.Elapsed.TotalSeconds:F1} s, " +
            $"{sync.WorldSize * result.ImagesPerSecond:F1} training images/s over all ranks"));
        Console.WriteLine($"checkpoints (rank 0 writes them) in {saveDir}");
    }
    return 0;
}
finally
{
    dist.destroy_process_group();
}

// How to start this program again: `dotnet X.dll` re-runs the host with the dll, an apphost runs itself.
static (string Executable, string[] Prefix) SelfCommand()
{
    string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path to start the ranks");
    return Path.GetFileNameWithoutExtension(process) == "dotnet"
        ? (process, new[] { typeof(DemoSettings).Assembly.Location })
        : (process, Array.Empty<string>());
}

internal sealed record DemoSettings(string Output, int Processes, int Epochs, int Batch, string Model)
{
    public static DemoSettings Parse(string[] args)
    {
        var s = new DemoSettings(Path.Combine(Path.GetTempPath(), "fastseg-ddp-demo"), 2, 15, 4, "fastscnn");
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() { var v = Value(); return int.TryParse(v, out var n) && n > 0 ? n : throw new ArgumentException($"{args[i - 1]}: '{v}' is not a positive integer"); }
            s = args[i] switch
            {
                "--out" => s with { Output = Value() },
                "--nproc" => s with { Processes = Int() },
                "--epochs" => s with { Epochs = Int() },
                "--batch" => s with { Batch = Int() },
                "--model" => s with { Model = Value() },
                _ => throw new ArgumentException($"unknown option '{args[i]}' (see the comment at the top of samples/DistributedTraining/Program.cs)"),
            };
        }
        return s;
    }
}

// Rank 0's progress lines: every 5 steps and every validation.
internal sealed class Progress : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        if (p.Kind == ProgressKind.Validation)
            Console.WriteLine($"  epoch {p.Epoch,3}: validation mIoU {p.MeanIoUPercent:F2}% (present classes {100 * p.Report!.MeanIoUPresent:F2}%), summed over the ranks");
        else if (p.Iteration % 5 == 0 || p.Iteration == 1)
            Console.WriteLine($"  step {p.Iteration,4}/{p.TotalIterations}  epoch {p.Epoch,3}  loss {p.Loss:F4} (rank 0's shard)  lr {p.LearningRate:G3}");
    }
}
