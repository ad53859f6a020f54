using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using FastSeg.Data;
using FastSeg.Models.Zoo;
using FastSeg.Torch.Distributed;
using FastSeg.Training;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

/// <summary>
/// The trainer on several processes: FastSeg.Distributed.Worker's "trainer" scenario (a project reference, so its dll
/// sits next to these tests) is started by <see cref="LocalLauncher"/> with the torchrun environment and joins through
/// <see cref="TrainerDistributed.FromEnvironment"/>. Its network is Fast-SCNN with batch norm frozen in eval mode (or,
/// for the SyncBatchNorm test, training) and its loss a pixel sum, so that 2 ranks x 2 images are one step of 4 images
/// (see the worker for why).
/// </summary>
[Collection("trainer")]
public sealed class DistributedTrainerTests : IDisposable
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(240);
    private readonly ITestOutputHelper _log;
    private readonly string _root;

    public DistributedTrainerTests(ITestOutputHelper log)
    {
        _log = log;
        _root = Path.Combine(Path.GetTempPath(), "fastseg-ddp-trainer-" + Guid.NewGuid().ToString("N")[..8]);
        // 20 training images = 5 steps of a global batch of 4 in one epoch; 3 validation images do not split evenly
        // over 2 ranks, so padding (a repeated image) would show in the pixel count.
        SyntheticCityscapes.Generate(Path.Combine(_root, "data"), new SyntheticCityscapesOptions { Width = 128, Height = 64, TrainCount = 20, ValCount = 3, Seed = 21 });
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static string WorkerDll => Path.Combine(AppContext.BaseDirectory, "FastSeg.Distributed.Worker.dll");

    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    private LaunchResult Launch(int nproc, string outDir, Dictionary<string, string?>? env, params string[] overrides)
    {
        var output = new StringWriter();
        var args = new[] { WorkerDll, "trainer", Path.Combine(_root, "data"), outDir }.Concat(overrides).ToList();
        var result = LocalLauncher.Run(nproc, DotnetHost, args, env,
            new LaunchOptions { Output = output, Timeout = RunLimit, TerminateGracePeriod = TimeSpan.FromSeconds(2), TailLines = 200 });
        _log.WriteLine($"--- trainer x{nproc} {string.Join(' ', overrides)}: {result.Message}\n{output}");
        return result;
    }

    private static string Line(LaunchResult r, int rank, string prefix)
    {
        var line = r.Ranks[rank].OutputTail.LastOrDefault(l => l.StartsWith(prefix + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"rank {rank} printed no '{prefix}' line");
        return line![(prefix.Length + 1)..];
    }

    private static Dictionary<string, Tensor> StateDict(string checkpoint) =>
        ((Dictionary<string, object?>)((Dictionary<string, object?>)load(checkpoint)!)["state_dict"]!)
        .ToDictionary(kv => kv.Key, kv => (Tensor)kv.Value!);

    private static double MaxAbsDiff(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b, Func<string, string>? keyOfB = null)
    {
        double max = 0;
        foreach (var (key, ta) in a)
        {
            if (ta.dtype is not (ScalarType.Float32 or ScalarType.Float64)) continue;
            using var d = (ta - b[keyOfB?.Invoke(key) ?? key]).abs().max().to_type(ScalarType.Float64);
            max = Math.Max(max, d.item<double>());
        }
        return max;
    }

    [Fact]
    public void TwoRanksOfBatchTwoTakeTheStepsOfOneProcessOfBatchFourAndOnlyRankZeroWrites()
    {
        var env = new Dictionary<string, string?> { ["FS_TEST_TIMEOUT_MS"] = "60000" };
        string singleDir = Path.Combine(_root, "single"), ddpDir = Path.Combine(_root, "ddp");
        var single = Launch(1, singleDir, env, "train_bs=4");
        Assert.True(single.Success, single.Message);
        var ddp = Launch(2, ddpDir, env, "train_bs=2");
        Assert.True(ddp.Success, ddp.Message);

        Assert.Contains("joined rank=0 world=1 distributed=False sync=SingleProcessSync", single.Ranks[0].OutputTail);
        Assert.Contains("joined rank=1 world=2 distributed=True sync=ProcessGroupSync", ddp.Ranks[1].OutputTail);
        Assert.Equal("rank=0 iterations=5", Line(single, 0, "FINAL").Split(" sha256=")[0]);
        // Same averaged gradients and the same steps: the replicas are bit-identical, although each rank built its
        // network from a different seed (the trainer broadcast rank 0's at the start).
        Assert.Equal(Line(ddp, 0, "FINAL").Replace("rank=0", "rank=1"), Line(ddp, 1, "FINAL"));
        Assert.Contains("iterations=5", Line(ddp, 0, "FINAL"));

        using var scope = NewDisposeScope();
        var reference = StateDict(Path.Combine(singleDir, "rank0", "last.pth"));
        var parallel = StateDict(Path.Combine(ddpDir, "rank0", "last.pth"));
        Assert.Equal(reference.Keys, parallel.Keys);
        double diff = MaxAbsDiff(reference, parallel);
        manual_seed(100); // the worker's rank-0 initialisation
        using var initial = ModelZoo.Create("fastscnn");
        var start = initial.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        double moved = MaxAbsDiff(start, reference, key => "net." + key);
        _log.WriteLine($"max |2 ranks - 1 process| = {diff:E3}; max |trained - initial| = {moved:E3}");
        foreach (var key in reference.Keys.Where(k => reference[k].dtype == ScalarType.Float32)
                     .OrderByDescending(k => MaxAbsDiff(new() { [k] = reference[k] }, parallel)).Take(3))
            _log.WriteLine($"  {key}: diff {MaxAbsDiff(new() { [key] = reference[key] }, parallel):E3}, moved {MaxAbsDiff(new() { [key[4..]] = start[key[4..]] }, reference, k => "net." + k):E3}, |value| max {reference[key].abs().max().item<float>():E3}");
        Assert.True(moved > 1e-2, $"5 steps moved the parameters by only {moved}");
        Assert.True(diff <= 1e-5, $"2x2 differs from 1x4 by {diff}");

        // Validation: 3 images split 2 + 1 without padding, confusion matrices summed: both ranks report what one
        // process does (same pixel count exactly; the metrics up to argmax ties of parameters equal to 1e-5).
        string val1 = Line(single, 0, "VAL"), val2 = Line(ddp, 0, "VAL");
        Assert.Equal(val2, Line(ddp, 1, "VAL"));
        static long Pixels(string val) => long.Parse(Regex.Match(val, @"pixels=(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        static double Miou(string val) => double.Parse(Regex.Match(val, @"miou=(\S+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(Pixels(val1), Pixels(val2));
        Assert.InRange(Pixels(val1), 2 * 64 * 128 + 1, 3 * 64 * 128); // 3 images, less their ignored pixels
        Assert.Equal(Miou(val1), Miou(val2), 3);
        // Each step's two half-batch losses add up to the single process's loss of the whole batch (a pixel sum): the
        // ranks' shards of every step are exactly the single process's batch, split in two.
        static double[] Losses(LaunchResult r, int rank) => Line(r, rank, "LOSS").Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var whole = Losses(single, 0);
        var halves = Losses(ddp, 0).Zip(Losses(ddp, 1), (a, b) => a + b).ToArray();
        Assert.Equal(5, whole.Length);
        Assert.Equal(5, halves.Length);
        for (int i = 0; i < 5; i++) Assert.True(Math.Abs(whole[i] - halves[i]) <= 1e-5 * whole[i], $"step {i + 1}: loss {whole[i]} vs {halves[i]}");
        Assert.NotEqual(Losses(ddp, 0)[0], Losses(ddp, 1)[0]); // different images on the two ranks

        // Only rank 0 wrote: its save_dir has checkpoints, config, logs and TensorBoard events; rank 1's does not exist.
        Assert.False(Directory.Exists(Path.Combine(ddpDir, "rank1")), "rank 1 created its save_dir");
        var written = Directory.GetFiles(Path.Combine(ddpDir, "rank0")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(new[] { "best.pth", "config.json", "last.pth", "metrics.jsonl", "train.log" }, written);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(ddpDir, "rank0", "tb")));
        var metrics = File.ReadAllLines(Path.Combine(ddpDir, "rank0", "metrics.jsonl"));
        Assert.Equal(5, metrics.Count(l => l.Contains("\"kind\":\"train\"")));
        Assert.Equal(2, metrics.Count(l => l.Contains("\"kind\":\"val\""))); // after the epoch, and best.pth at the end

        // Resuming needs the checkpoint on every rank: here only rank 0's save_dir has last.pth, and the ranks stop with
        // an error that says so instead of training different epochs and deadlocking.
        var resume = Launch(2, ddpDir, env, "train_bs=2", "load_ckpt=true");
        Assert.False(resume.Success);
        Assert.False(resume.TimedOut);
        Assert.Contains(resume.Ranks.SelectMany(r => r.OutputTail), l => l.Contains("exists for 1 of 2 ranks"));
    }

    [Fact]
    public async Task MultiNode_SyncBatchNorm_TwoNodesOfBatchTwoStepLikeOneProcessOfBatchFourInTheTrainer()
    {
        // Fast-SCNN with its batch norms training: with synBN (the default) they normalise over the global batch, so
        // 2 nodes x 1 process x batch 2 take the steps of 1 process x batch 4; without, each rank's statistics differ.
        var env = new Dictionary<string, string?> { ["FS_TEST_TIMEOUT_MS"] = "60000", ["FS_TEST_TRAIN_BN"] = "1" };
        string singleDir = Path.Combine(_root, "single"), nodesDir = Path.Combine(_root, "nodes"), plainDir = Path.Combine(_root, "plain");
        var single = Launch(1, singleDir, env, "train_bs=4");
        Assert.True(single.Success, single.Message);

        int port = LocalLauncher.FreePort();
        var outputs = new[] { new StringWriter(), new StringWriter() };
        var nodes = await Task.WhenAll(Enumerable.Range(0, 2).Select(node => LocalLauncher.RunAsync(1, DotnetHost,
            new[] { WorkerDll, "trainer", Path.Combine(_root, "data"), nodesDir, "train_bs=2" }, env,
            new LaunchOptions
            {
                NNodes = 2, NodeRank = node, MasterAddr = "127.0.0.1", MasterPort = port, Output = outputs[node], Timeout = RunLimit,
                TerminateGracePeriod = TimeSpan.FromSeconds(2), TailLines = 200,
            })));
        for (int node = 0; node < 2; node++)
        {
            _log.WriteLine($"--- node {node}: {nodes[node].Message}\n{outputs[node]}");
            Assert.True(nodes[node].Success, nodes[node].Message);
            Assert.Contains($"node rank={node} nodes=2 local_rank=0 local_world=1", nodes[node].Ranks[0].OutputTail);
            Assert.Contains($"joined rank={node} world=2 distributed=True sync=ProcessGroupSync", nodes[node].Ranks[0].OutputTail);
        }
        // One process: nothing to synchronise; two nodes: every batch norm of the network converted.
        var bnCount = Regex.Match(Line(single, 0, "SYNCBN"), @"^0 of (\d+)$");
        Assert.True(bnCount.Success && int.Parse(bnCount.Groups[1].Value, CultureInfo.InvariantCulture) > 10, Line(single, 0, "SYNCBN"));
        string all = bnCount.Groups[1].Value;
        Assert.Equal($"{all} of {all}", Line(nodes[1], 0, "SYNCBN"));
        Assert.Equal(Line(nodes[0], 0, "FINAL").Replace("rank=0", "rank=1"), Line(nodes[1], 0, "FINAL")); // identical replicas
        Assert.False(Directory.Exists(Path.Combine(nodesDir, "rank1")), "the rank on node 1 wrote");

        var plain = Launch(2, plainDir, env, "train_bs=2", "synBN=false");
        Assert.True(plain.Success, plain.Message);
        Assert.Equal($"0 of {all}", Line(plain, 0, "SYNCBN"));

        // The two half-batch losses of a step add up to the whole batch's (a pixel sum) when the batch norms use the
        // global batch: at step 1 (the initial network) and step 2 (after one step with the synchronised gradients).
        // Later steps are not compared: at this learning rate training-mode batch norm amplifies float32 rounding from
        // step to step (4 ranks x 1 and 2 x 2, both synchronised, also part by ~3e-3 at step 3); the small network of
        // the MultiNode tests in FastSeg.Torch.Tests compares parameters after 5 steps instead. Without synBN the
        // halves differ at once.
        static double[] Losses(LaunchResult r, int rank) => Line(r, rank, "LOSS").Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var whole = Losses(single, 0);
        var halves = Losses(nodes[0], 0).Zip(Losses(nodes[1], 0), (a, b) => a + b).ToArray();
        var perRank = Losses(plain, 0).Zip(Losses(plain, 1), (a, b) => a + b).ToArray();
        _log.WriteLine($"step losses: 1 process {string.Join(", ", whole)}; 2 nodes synBN {string.Join(", ", halves)}; 2 ranks without {string.Join(", ", perRank)}");
        for (int i = 0; i < 2; i++) Assert.True(Math.Abs(whole[i] - halves[i]) <= 1e-5 * whole[i], $"step {i + 1}: loss {whole[i]} vs {halves[i]}");
        Assert.True(Math.Abs(whole[0] - perRank[0]) > 1e-3 * whole[0], $"without synBN step 1 should differ: {whole[0]} vs {perRank[0]}");
    }

    [Fact]
    public void ARankThatDiesMidTrainingEndsTheOtherWithAnErrorInsteadOfAHang()
    {
        // The ranks are started here rather than by LocalLauncher, which would stop rank 0 as soon as rank 1 failed:
        // rank 0 has to end by itself, at its next collective (the gradient all-reduce of step 3), long before the
        // 60 s collective timeout.
        int port = LocalLauncher.FreePort();
        var processes = new List<Process>();
        var outputs = new List<System.Text.StringBuilder>();
        try
        {
            for (int rank = 0; rank < 2; rank++)
            {
                var psi = new ProcessStartInfo(DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in new[] { WorkerDll, "trainer", Path.Combine(_root, "data"), Path.Combine(_root, "die"), "train_bs=2" }) psi.ArgumentList.Add(a);
                psi.Environment["MASTER_ADDR"] = "127.0.0.1";
                psi.Environment["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
                psi.Environment["WORLD_SIZE"] = "2";
                psi.Environment["RANK"] = psi.Environment["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                psi.Environment["FS_TEST_TIMEOUT_MS"] = "60000";
                psi.Environment["FS_TEST_DIE_RANK"] = "1";
                psi.Environment["FS_TEST_DIE_AFTER"] = "2";
                var sb = new System.Text.StringBuilder();
                var p = new Process { StartInfo = psi };
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sb) sb.AppendLine(e.Data); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sb) sb.AppendLine(e.Data); };
                p.Start();
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                processes.Add(p);
                outputs.Add(sb);
            }
            Assert.True(processes[0].WaitForExit(RunLimit), "rank 0 did not end: it hangs on the dead peer");
            Assert.True(processes[1].WaitForExit(TimeSpan.FromSeconds(30)));
            processes[0].WaitForExit();
            processes[1].WaitForExit();
            string out0, out1;
            lock (outputs[0]) out0 = outputs[0].ToString();
            lock (outputs[1]) out1 = outputs[1].ToString();
            _log.WriteLine($"rank 0 (exit {processes[0].ExitCode}):\n{out0}\nrank 1 (exit {processes[1].ExitCode}):\n{out1}");
            Assert.Equal(3, processes[1].ExitCode);
            Assert.Equal(4, processes[0].ExitCode);
            var exited = Regex.Match(out1, @"EXITING at (\d+)");
            var detected = Regex.Match(out0, @"DETECTED at (\d+) after \d+ ms: (.*)");
            Assert.True(exited.Success && detected.Success, "rank 1 did not exit where asked or rank 0 did not report the failure");
            Assert.Contains("rank 0 of 2", detected.Groups[2].Value);
            long lag = long.Parse(detected.Groups[1].Value, CultureInfo.InvariantCulture) - long.Parse(exited.Groups[1].Value, CultureInfo.InvariantCulture);
            _log.WriteLine($"rank 0 detected the dead rank {lag} ms after it exited");
            Assert.True(lag < 30_000, $"rank 0 took {lag} ms to notice");
            Assert.DoesNotContain("FINAL", out0);
        }
        finally
        {
            foreach (var p in processes)
            {
                try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit(5000);
                p.Dispose();
            }
        }
    }
}

/// <summary>Reading the launcher's environment and splitting the validation set, in process.</summary>
public class TrainerDistributedTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Key == name).Value;

    [Fact]
    public void WithoutALaunchedEnvironmentTheRunIsOneProcess()
    {
        foreach (var env in new[] { Env(), Env(("WORLD_SIZE", "1"), ("RANK", "0"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "1")) })
        {
            Assert.False(TrainerDistributed.IsLaunched(env));
            using var run = TrainerDistributed.FromEnvironment(environment: env);
            Assert.Same(SingleProcessSync.Instance, run.Sync);
            Assert.Equal((0, 1, 0, false, true), (run.Rank, run.WorldSize, run.LocalRank, run.IsDistributed, run.IsMain));
            Assert.False(distributed.is_initialized());
        }
        Assert.True(TrainerDistributed.IsLaunched(Env(("WORLD_SIZE", "4"))));
    }

    [Theory]
    [InlineData("RANK")]
    [InlineData("MASTER_ADDR")]
    [InlineData("MASTER_PORT")]
    public void ALaunchWithAMissingVariableNamesIt(string missing)
    {
        var vars = new[] { ("WORLD_SIZE", "2"), ("RANK", "1"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500") }
            .Where(v => v.Item1 != missing).ToArray();
        var e = Assert.Throws<ArgumentException>(() => TrainerDistributed.FromEnvironment(environment: Env(vars)));
        Assert.Contains($"environment variable {missing} is not set", e.Message);
        Assert.False(distributed.is_initialized());
    }

    [Fact]
    public void AMultiNodeEnvironmentThatDoesNotAddUpIsRefusedBeforeAnyRendezvous()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainerDistributed.FromEnvironment(environment: Env(("WORLD_SIZE", "4"), ("RANK", "3"),
            ("LOCAL_RANK", "1"), ("LOCAL_WORLD_SIZE", "2"), ("GROUP_RANK", "0"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500"))));
        Assert.Contains("RANK=3 should be GROUP_RANK=0 x LOCAL_WORLD_SIZE=2 + LOCAL_RANK=1", e.Message);
        Assert.False(distributed.is_initialized());
    }

    [Fact]
    public void BadNumbersAreNamed()
    {
        var e1 = Assert.Throws<ArgumentException>(() => TrainerDistributed.FromEnvironment(environment: Env(("WORLD_SIZE", "two"))));
        Assert.Contains("WORLD_SIZE='two'", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => TrainerDistributed.FromEnvironment(environment:
            Env(("WORLD_SIZE", "2"), ("RANK", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500"))));
        Assert.Contains("RANK=2 is not below WORLD_SIZE=2", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => TrainerDistributed.FromEnvironment(environment:
            Env(("WORLD_SIZE", "2"), ("RANK", "0"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "-5"))));
        Assert.Contains("MASTER_PORT='-5'", e3.Message);
    }

    [Fact]
    public void ValidationShardsCoverTheSetOnceWithoutPadding()
    {
        Assert.Equal(new[] { 0, 2 }, new EvaluationShardSampler(3, 2, 0).Indices(0));
        Assert.Equal(new[] { 1 }, new EvaluationShardSampler(3, 2, 1).Indices(5));
        Assert.Equal(new[] { 0 }, new EvaluationShardSampler(1, 3, 0).Indices(0));
        Assert.Empty(new EvaluationShardSampler(1, 3, 2).Indices(0));
        for (int world = 1; world <= 4; world++)
        {
            var all = Enumerable.Range(0, world).SelectMany(r => new EvaluationShardSampler(10, world, r).Indices(0)).Order();
            Assert.Equal(Enumerable.Range(0, 10), all);
            Assert.Equal(10, Enumerable.Range(0, world).Sum(r => new EvaluationShardSampler(10, world, r).Count));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvaluationShardSampler(4, 2, 2));
    }
}
