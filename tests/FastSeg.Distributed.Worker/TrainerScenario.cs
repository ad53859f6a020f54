using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using FastSeg.Training;
using static FastSeg.Torch.torch;

/// <summary>
/// "trainer DATA_ROOT OUT_DIR [key=value ...]": one rank of the real <see cref="Trainer"/>, set up from the launcher's
/// environment by <see cref="TrainerDistributed.FromEnvironment"/> (one process when WORLD_SIZE is unset or 1).
/// The network is Fast-SCNN with its batch norms frozen in eval mode, so that a step's gradient is the sum of
/// per-image gradients and 2 ranks x batch 2 can match 1 process x batch 4 (training-mode BN would normalise over
/// different batches). save_dir is OUT_DIR/rank{RANK}: a directory for rank 1 shows that it wrote something.
/// FS_TEST_DIE_RANK / FS_TEST_DIE_AFTER: that rank exits (code 3) right after that many steps. FS_TEST_TRAIN_BN=1: the
/// batch norms train (no freezing), for the SyncBatchNorm (synBN) runs, whose global batch statistics make 2 x 2 match 1 x 4.
/// Prints "FINAL rank=R sha256=H", "VAL ...", "LOSS ..." lines for the test.
/// </summary>
internal static class TrainerScenario
{
    public static int Run(string dataRoot, string outDir, string[] overrides, TimeSpan timeout)
    {
        using var run = TrainerDistributed.FromEnvironment(backend: "gloo", timeout: timeout);
        Console.WriteLine($"joined rank={run.Rank} world={run.WorldSize} distributed={run.IsDistributed} sync={run.Sync.GetType().Name}");
        Console.WriteLine($"node rank={run.NodeRank} nodes={run.NodeCount} local_rank={run.LocalRank} local_world={run.LocalWorldSize}");
        var options = TrainerOptions.Builder()
            .Model("fastscnn").Dataset(dataRoot).Epochs(1).BatchSize(4, 2)
            .Optimizer(OptimizerKind.Sgd, 1e-6, momentum: 0.9, weightDecay: 0)
            .LrPolicy(LrPolicy.Poly, warmupEpochs: 0)
            .CrossEntropy()
            .SaveDir(Path.Combine(outDir, $"rank{run.Rank}"))
            .Resume(false).Workers(0).Seed(11)
            .Set("reduction", "sum")           // gradients add over images, so their mean over ranks times lr·world matches
            .Set("log_interval", "1").Set("logger_name", "train").Set("use_tb", "true")
            .Build()
            .WithOverrides(overrides);

        // Each rank starts from a different initialisation: the trainer must replace it with rank 0's.
        manual_seed(100 + run.Rank);
        var network = ModelZoo.Create("fastscnn", numClasses: options.NumClasses);
        using SegmentationModel model = Environment.GetEnvironmentVariable("FS_TEST_TRAIN_BN") == "1" ? network : new FrozenBatchNorm(network);
        int dieRank = int.Parse(Environment.GetEnvironmentVariable("FS_TEST_DIE_RANK") ?? "-1", CultureInfo.InvariantCulture);
        int dieAfter = int.Parse(Environment.GetEnvironmentVariable("FS_TEST_DIE_AFTER") ?? "-1", CultureInfo.InvariantCulture);
        // No random augmentation (zh320's training pipeline always draws a hue jitter, and augmentation draws depend on
        // the rank): scale 1 and normalisation only, for training as for validation.
        var train = new CityscapesDataset(dataRoot, "train") { Transform = Pipelines.Zh320Val() };
        var val = new CityscapesDataset(dataRoot, "val") { Transform = Pipelines.Zh320Val() };
        using var trainer = new Trainer(options, model, train, val, sync: run.Sync);
        var losses = new List<double>();
        trainer.IterationCompleted += (_, p) =>
        {
            losses.Add(p.Loss);
            if (run.Rank == dieRank && p.Iteration == dieAfter)
            {
                Console.WriteLine($"EXITING at {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");
                Console.Out.Flush();
                Environment.Exit(3);
            }
        };
        var clock = Stopwatch.StartNew();
        TrainingResult result;
        try
        {
            result = trainer.Run();
        }
        catch (TorchException e)
        {
            Console.WriteLine($"DETECTED at {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} after {clock.ElapsedMilliseconds} ms: {e.Message}");
            return 4;
        }
        var report = result.LastReport!;
        string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        Console.WriteLine($"LOSS {string.Join(",", losses.Select(R))}");
        Console.WriteLine($"VAL pixels={report.Pixels} miou={R(report.MeanIoU)} acc={R(report.PixelAccuracy)} best={R(result.BestScore)}");
        int synchronised = model.modules().OfType<BatchNorm2d>().Count(bn => bn.process_group is not null);
        Console.WriteLine($"SYNCBN {synchronised} of {model.modules().OfType<BatchNorm2d>().Count()}");
        Console.WriteLine($"FINAL rank={run.Rank} iterations={trainer.Iteration} sha256={Fingerprint(model)}");
        return 0;
    }

    // A hash of every state-dict entry's bytes: replicas that are bit-identical print the same value.
    private static string Fingerprint(nn.Module model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, value) in model.state_dict())
        {
            using var t = value.detach().contiguous();
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            byte[] bytes = t.dtype switch
            {
                ScalarType.Int64 => t.ToArray<long>().SelectMany(BitConverter.GetBytes).ToArray(),
                ScalarType.Float64 => t.ToArray<double>().SelectMany(BitConverter.GetBytes).ToArray(),
                _ => t.to_type(ScalarType.Float32).ToArray<float>().SelectMany(BitConverter.GetBytes).ToArray(),
            };
            hash.AppendData(bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}

/// <summary>
/// A zoo network whose batch norms always run in eval mode (fixed running statistics, which the trainer broadcasts from
/// rank 0), so every image's output depends on that image alone. State dict keys are the network's under "net.".
/// </summary>
internal sealed class FrozenBatchNorm : SegmentationModel
{
    private readonly SegmentationModel net;

    public FrozenBatchNorm(SegmentationModel inner) : base(nameof(FrozenBatchNorm), inner.NumClasses, inner.InputMultiple, inner.InputChannels)
    {
        net = inner;
        RegisterComponents();
    }

    protected override SegmentationOutput Compute(Tensor input) => net.ForwardAll(input);

    public override nn.Module train(bool mode = true)
    {
        base.train(mode);
        foreach (var m in modules().OfType<BatchNorm2d>()) m.train(false);
        return this;
    }
}

