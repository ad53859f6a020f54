using System.Text.RegularExpressions;
using FastSeg.Cli.Commands;
using FastSeg.Data;
using Xunit;

namespace FastSeg.Cli.Tests;

/// <summary><c>fastseg train</c> / <c>fastseg val</c> on a tiny synthetic Cityscapes tree.</summary>
[Collection("train-command")]
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fastseg-cli-train-" + Guid.NewGuid().ToString("N")[..8]);

    public TrainCommandTests()
    {
        SyntheticCityscapes.Generate(Path.Combine(_root, "data"), new SyntheticCityscapesOptions { Width = 96, Height = 48, TrainCount = 8, ValCount = 2, Seed = 3 });
    }

    public void Dispose()
    {
        TrainCommand.SelfOverride = null;
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string[] Small(string saveDir) =>
    [
        "model=fastscnn", $"data_root={Path.Combine(_root, "data")}", "total_epoch=2", "warmup_epochs=1", "train_bs=2", "val_bs=2",
        "crop_h=48", "crop_w=96", "optimizer_type=adam", "base_workers=1", "use_tb=false", "--save_dir", Path.Combine(_root, saveDir),
    ];

    private static string SummaryLine(string stdout) =>
        Regex.Matches(stdout, @"^validation mIoU .*$", RegexOptions.Multiline).Last().Value.TrimEnd();

    [Fact]
    public void TrainWritesCheckpointsAndValReproducesItsFinalReport()
    {
        var train = Run(["train", "--print-every", "1", .. Small("run")]);
        Assert.True(train.code == 0, train.stderr + train.stdout);
        Assert.Contains("fastscnn: 8 training and 2 validation images, 4 iterations per epoch, 8 in all", train.stdout);
        Assert.Matches(@"iter 8/8 epoch 2 loss \d+\.\d{4}", train.stdout);
        Assert.Contains("│ road ", train.stdout);
        Assert.Contains("│ mean (present classes) ", train.stdout);
        foreach (var file in new[] { "last.pth", "best.pth", "config.json", "metrics.jsonl" })
            Assert.True(File.Exists(Path.Combine(_root, "run", file)), file);

        // val with the run's own config.json evaluates best.pth: the same report as training's final validation.
        var val = Run("val", "--config", Path.Combine(_root, "run", "config.json"));
        Assert.True(val.code == 0, val.stderr + val.stdout);
        Assert.Contains("best.pth", val.stdout);
        Assert.Equal(SummaryLine(train.stdout), SummaryLine(val.stdout));

        // Every inference mode of the evaluator: a window as large as the 96x48 images is whole-image evaluation.
        var windowed = Run("val", "--config", Path.Combine(_root, "run", "config.json"), "--window", "96x48");
        Assert.True(windowed.code == 0, windowed.stderr + windowed.stdout);
        Assert.Contains("as built, windows 96x48", windowed.stdout);
        Assert.Equal(SummaryLine(train.stdout), SummaryLine(windowed.stdout));
        var modes = Run("val", "--config", Path.Combine(_root, "run", "config.json"), "--precision", "bf16", "--scales", "1,1.5", "--flip",
            "--window", "48x48", "--stride", "24x48");
        Assert.True(modes.code == 0, modes.stderr + modes.stdout);
        Assert.Contains("inference form bf16, scales 1/1.5 + flip, windows 48x48 stride 24x48", modes.stdout);
        Assert.Matches(@"validation mIoU \d+\.\d\d", SummaryLine(modes.stdout));
        var tooLarge = Run("val", "--config", Path.Combine(_root, "run", "config.json"), "--window", "192x48");
        Assert.Equal(1, tooLarge.code);
        Assert.Contains("larger than the image", tooLarge.stderr);
        var strideAlone = Run("val", "--config", Path.Combine(_root, "run", "config.json"), "--stride", "24x24");
        Assert.Equal(2, strideAlone.code); // a usage error, as every command's
        Assert.Contains("--stride needs --window", strideAlone.stderr);
    }

    [Fact]
    public void BadOptionsCheckpointsAndFilesGiveOneLineAndExitCodeOne()
    {
        var unknownKey = Run(["train", .. Small("bad"), "--bogus_key", "1"]);
        Assert.Equal(1, unknownKey.code);
        Assert.Contains("option '--bogus_key': unknown option", unknownKey.stderr);
        Assert.Single(unknownKey.stderr.Trim().Split('\n'));

        var unknownModel = Run(["train", .. Small("bad"), "model=nosuchnet"]);
        Assert.Equal(1, unknownModel.code);
        Assert.Contains("nosuchnet", unknownModel.stderr);
        Assert.Contains("fastscnn", unknownModel.stderr);

        var badValue = Run(["train", .. Small("bad"), "base_lr=fast"]);
        Assert.Equal(1, badValue.code);
        Assert.Contains("base_lr", badValue.stderr);

        var missingConfig = Run("train", "--config", Path.Combine(_root, "nothere.json"));
        Assert.Equal(1, missingConfig.code);
        Assert.Contains("nothere.json", missingConfig.stderr);

        var missingCheckpoint = Run(["val", "--checkpoint", Path.Combine(_root, "none.pth"), .. Small("bad")]);
        Assert.Equal(1, missingCheckpoint.code);
        Assert.Contains("none.pth", missingCheckpoint.stderr);

        // A checkpoint of the same network with another class count: the mismatching keys are named.
        using (var other = FastSeg.Models.Zoo.ModelZoo.Create("fastscnn", numClasses: 5))
            other.SaveWeights(Path.Combine(_root, "five.pth"));
        var wrongClasses = Run(["val", "--checkpoint", Path.Combine(_root, "five.pth"), .. Small("bad")]);
        Assert.Equal(1, wrongClasses.code);
        Assert.Contains("classifier", wrongClasses.stderr);
        Assert.Single(wrongClasses.stderr.Trim().Split('\n'));
    }

    [Fact]
    public void NprocPerNodeTwoTrainsOneShardPerProcessAndOnlyRankZeroPrints()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "fastseg.dll");
        Assert.True(File.Exists(dll), dll);
        TrainCommand.SelfOverride = ("dotnet", [dll]);
        var run = Run(["train", "--nproc-per-node", "2", "--print-every", "1", .. Small("ddp")]);
        Assert.True(run.code == 0, run.stderr + run.stdout);
        // 8 images over 2 processes with 2 per batch: 2 iterations per epoch per process.
        Assert.Contains("2 iterations per epoch per process (2 processes), 4 in all", run.stdout);
        Assert.Single(Regex.Matches(run.stdout, "training and 2 validation images"));
        Assert.True(File.Exists(Path.Combine(_root, "ddp", "last.pth")));
    }

    [Fact]
    public void MultiNode_ANodeWhoseMasterNeverComesEndsWithOneLineAndBadNodeFlagsAreUsageErrors()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "fastseg.dll");
        TrainCommand.SelfOverride = ("dotnet", [dll]);
        int port = FastSeg.Torch.Distributed.LocalLauncher.FreePort();
        // Node 1 of 2 alone: rank 1 waits for node 0's store for 3 s, then the node stops with one line on stderr.
        var run = Run(["train", "--nnodes", "2", "--node-rank", "1", "--master-addr", "127.0.0.1", "--master-port", port.ToString(),
            "--dist-timeout", "3", .. Small("node1")]);
        Assert.Equal(1, run.code);
        var line = Assert.Single(run.stderr.Trim().Split('\n'));
        Assert.StartsWith("fastseg train: rank 1 ", line);
        Assert.Contains($"rendezvous at 127.0.0.1:{port} failed on rank 1 of 2: rank 0 (node 0) (which hosts the store) never answered", line);
        Assert.False(Directory.Exists(Path.Combine(_root, "node1")));

        var outOfRange = Run(["train", "--nnodes", "2", "--node-rank", "2", "--master-port", "29500", .. Small("bad")]);
        Assert.Equal(2, outOfRange.code);
        Assert.Contains("--node-rank 2 must be below --nnodes 2", outOfRange.stderr);
        var noPort = Run(["train", "--nnodes", "2", "--node-rank", "0", .. Small("bad")]);
        Assert.Equal(2, noPort.code);
        Assert.Contains("--master-port", noPort.stderr);
    }
}
