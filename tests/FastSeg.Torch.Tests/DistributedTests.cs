using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using FastSeg.Torch.Distributed;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;
using dist = FastSeg.Torch.torch.distributed;

namespace FastSeg.Torch.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public class DistributedCollection
{
    public const string Name = "Distributed (multi-process, not run beside other tests)";
}

/// <summary>
/// torch.distributed, DistributedDataParallel and LocalLauncher. The multi-process tests start
/// FastSeg.Distributed.Worker (a project reference, so its dll sits next to these tests) with <c>dotnet</c>, on
/// 127.0.0.1 and a free port, each bounded by a time limit, and kill whatever is left when they end.
/// </summary>
[Collection(DistributedCollection.Name)]
public class DistributedTests
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(45);
    private readonly ITestOutputHelper _log;

    public DistributedTests(ITestOutputHelper log) => _log = log;

    private static string WorkerDll => Path.Combine(AppContext.BaseDirectory, "FastSeg.Distributed.Worker.dll");

    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    private LaunchResult Launch(int nproc, string scenario, Dictionary<string, string?>? env = null, params string[] extra)
    {
        var output = new StringWriter();
        var result = LocalLauncher.Run(nproc, DotnetHost, new[] { WorkerDll, scenario }.Concat(extra).ToList(), env,
            new LaunchOptions { Output = output, Timeout = RunLimit, TerminateGracePeriod = TimeSpan.FromSeconds(2) });
        _log.WriteLine($"--- {scenario} x{nproc}: {result.Message}\n{output}");
        return result;
    }

    private static string Line(LaunchResult result, int rank, string key)
    {
        var line = result.Ranks[rank].OutputTail.LastOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal));
        Assert.True(line is not null, $"rank {rank} printed no '{key}=' line");
        return line![(key.Length + 1)..];
    }

    // ---- in-process ------------------------------------------------------------------------------------------------

    [Fact]
    public void Distributed_QueriesWithoutAGroupFailClearly()
    {
        Assert.True(dist.is_gloo_available());
        Assert.False(dist.is_initialized());
        var e = Assert.Throws<InvalidOperationException>(() => dist.get_rank());
        Assert.Contains("init_process_group", e.Message);
        Assert.Throws<InvalidOperationException>(() => dist.all_reduce(ones(2)));
        dist.destroy_process_group(); // no-op without a group
    }

    [Fact]
    public void Distributed_RendezvousSettingsComeFromTheEnvironmentOrTheArguments()
    {
        var env = new Dictionary<string, string>
        {
            ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = "29123", ["RANK"] = "3", ["WORLD_SIZE"] = "4",
            ["LOCAL_RANK"] = "1", ["LOCAL_WORLD_SIZE"] = "2",
        };
        var saved = RendezvousConfig.GetEnv;
        RendezvousConfig.GetEnv = name => env.GetValueOrDefault(name);
        try
        {
            var c = RendezvousConfig.Resolve("gloo", null, TimeSpan.FromSeconds(9), -1, -1, null, -1, -1);
            Assert.Equal(("gloo", 0, "127.0.0.1", 29123, 3, 4, 1), (c.Backend, c.BackendId, c.MasterAddr, c.MasterPort, c.Rank, c.WorldSize, c.LocalRank));
            Assert.Equal("127.0.0.1", c.GlooHostname); // loopback master: Gloo binds to loopback
            Assert.Equal(TimeSpan.FromSeconds(9), c.Timeout);

            // Explicit arguments and tcp:// win over the environment (LOCAL_RANK still comes from it).
            c = RendezvousConfig.Resolve(null, "tcp://10.1.2.3:4567", TimeSpan.FromSeconds(1), 4, 0, null, -1, -1);
            Assert.Equal(("gloo", "10.1.2.3", 4567, 0, 4, 1), (c.Backend, c.MasterAddr, c.MasterPort, c.Rank, c.WorldSize, c.LocalRank));
            // Remote master, 2 of 4 ranks on this node: the address this machine reaches the master from (none here
            // when no route leads to 10.1.2.3: then Gloo's default, the host name's address).
            Assert.Equal(RendezvousConfig.AddressTowards("10.1.2.3", 4567) ?? "", c.GlooHostname);
            Assert.Equal(2, c.LocalWorldSize);
            c = RendezvousConfig.Resolve("gloo", null, TimeSpan.FromSeconds(1), 2, 1, "10.1.2.3", 4567, 0);
            Assert.Equal(("10.1.2.3", 0), (c.GlooHostname, c.LocalRank)); // every rank on this node: the master's address

            env.Remove("RANK");
            var e = Assert.Throws<ArgumentException>(() => RendezvousConfig.Resolve("gloo", "env://", TimeSpan.FromSeconds(1), -1, -1, null, -1, -1));
            Assert.Contains("RANK", e.Message);
            Assert.Throws<ArgumentException>(() => RendezvousConfig.Resolve("gloo", "file:///tmp/x", TimeSpan.FromSeconds(1), 1, 0, null, -1, -1));
            Assert.Throws<ArgumentException>(() => RendezvousConfig.Resolve("mpi", null, TimeSpan.FromSeconds(1), 1, 0, null, -1, -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => RendezvousConfig.Resolve("gloo", null, TimeSpan.FromSeconds(1), 2, 2, null, -1, -1));
            if (!cuda.is_available())
            {
                var nccl = Assert.Throws<ArgumentException>(() => RendezvousConfig.Resolve("nccl", null, TimeSpan.FromSeconds(1), 1, 0, null, -1, -1));
                Assert.Contains("CUDA", nccl.Message);
            }
        }
        finally
        {
            RendezvousConfig.GetEnv = saved;
        }
    }

    [Fact]
    public void Distributed_BucketsFollowReverseOrderAndTheSizeCap()
    {
        using var model = nn.Sequential(nn.Linear(100, 50), nn.Linear(50, 10)); // 5000, 50, 500, 10 floats
        var ps = model.parameters().ToList();
        var all = Enumerable.Repeat(1, ps.Count).ToList();
        Assert.Equal(new[] { new[] { 3, 2, 1, 0 } }, DdpGradientSync.Buckets(ps, all, 1 << 20).Select(b => b.ToArray()));
        // 4 KB cap: 10+500 floats fit (2040 B), 50 more too (2240 B), the 5000-float weight gets its own bucket.
        Assert.Equal(new[] { new[] { 3, 2, 1 }, new[] { 0 } }, DdpGradientSync.Buckets(ps, all, 4096).Select(b => b.ToArray()));
        // Parameters without a gradient on any rank are left out.
        Assert.Equal(new[] { new[] { 3, 1, 0 } }, DdpGradientSync.Buckets(ps, new[] { 1, 1, 0, 1 }, 1 << 20).Select(b => b.ToArray()));
    }

    [Fact]
    public void Distributed_SingleRankGroupWrapsAModuleWithItsOwnStateDictKeys()
    {
        using var group = dist.new_group_from("gloo", world_size: 1, rank: 0, master_addr: "127.0.0.1",
            master_port: LocalLauncher.FreePort(), timeout: TimeSpan.FromSeconds(20));
        Assert.Equal((0, 1, "gloo"), (group.Rank, group.Size, group.Backend));

        using var t = tensor(new float[] { 1, 2 });
        dist.all_reduce(t, dist.ReduceOp.AVG, group);
        Assert.Equal(new float[] { 1, 2 }, t.ToArray<float>());
        dist.barrier(group);

        var inner = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU());
        var keys = inner.state_dict().Keys.ToList();
        using var ddp = new nn.parallel.DistributedDataParallel(inner, group);
        Assert.Equal(keys, ddp.state_dict().Keys.ToList());
        Assert.Equal(inner.parameters().Count(), ddp.parameters().Count());
        Assert.All(ddp.parameters().Zip(inner.parameters()), p => Assert.Same(p.First, p.Second));

        // A backward through the wrapper's output runs the (one-rank) reduction and leaves the gradients as they were.
        using var x = randn(2, 2, 5, 5);
        using var y = ddp.forward(x);
        using var loss = y.square().mean();
        loss.backward();
        Assert.Null(ddp.GradientSync.LastBackwardError);
        Assert.Equal(1, ddp.GradientSync.LastBucketCount);
        using var g = inner.parameters().First().grad;
        Assert.NotNull(g);

        ddp.eval();
        Assert.False(inner.training);
    }

    // ---- multi-process ---------------------------------------------------------------------------------------------

    [Fact]
    public void Distributed_TwoRanksAllReduceBroadcastAndAllGather()
    {
        var r = Launch(2, "collectives");
        Assert.True(r.Success, r.Message);
        for (int rank = 0; rank < 2; rank++)
        {
            Assert.Equal("3,30", Line(r, rank, "all_reduce_sum"));
            Assert.Equal("0.5,2", Line(r, rank, "all_reduce_avg"));
            Assert.Equal("1,0", Line(r, rank, "all_reduce_max"));
            Assert.Equal("3,3,3,3,3,3", Line(r, rank, "coalesced_a"));
            Assert.Equal("1,2", Line(r, rank, "coalesced_b"));
            Assert.Equal("0,9,3,12,6,15", Line(r, rank, "coalesced_c")); // a transposed (non-contiguous) view
            Assert.Equal("7,8,9", Line(r, rank, "broadcast_from1"));
            Assert.Equal("0,100|1,101", Line(r, rank, "all_gather"));
            Assert.Contains("barrier passed", r.Ranks[rank].OutputTail);
        }
        // The second layer is unused on rank 1: it had no gradient there, and both ranks end with half of rank 0's.
        Assert.Equal("none", Line(r, 1, "unused_before"));
        var before0 = Line(r, 0, "unused_before").Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Line(r, 0, "unused_after"), Line(r, 1, "unused_after"));
        var after = Line(r, 0, "unused_after").Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(before0.Length, after.Length);
        for (int i = 0; i < after.Length; i++) Assert.Equal(before0[i] / 2, after[i], 6);
    }

    [Fact]
    public void Distributed_DdpOnTwoRanksMatchesOneProcessOnTheWholeBatch()
    {
        var dir = Directory.CreateTempSubdirectory("fastseg-ddp-");
        try
        {
            var ddp = Launch(2, "ddp", null, dir.FullName);
            Assert.True(ddp.Success, ddp.Message);
            var single = Launch(1, "single", null, dir.FullName);
            Assert.True(single.Success, single.Message);

            var reference = load_state_dict(Path.Combine(dir.FullName, "single.pt"));
            var rank0 = load_state_dict(Path.Combine(dir.FullName, "ddp-rank0.pt"));
            var rank1 = load_state_dict(Path.Combine(dir.FullName, "ddp-rank1.pt"));
            // The wrapper's state dict has the plain module keys ("0.weight", "1.running_mean", ...).
            Assert.Equal(reference.Keys.ToList(), rank0.Keys.ToList());
            Assert.DoesNotContain(rank0.Keys, k => k.StartsWith("module.", StringComparison.Ordinal));

            double maxVsSingle = 0, maxBetweenRanks = 0;
            foreach (var (key, expected) in reference)
            {
                using var d0 = (rank0[key] - expected).abs().max().to_type(ScalarType.Float64);
                using var d01 = (rank0[key] - rank1[key]).abs().max().to_type(ScalarType.Float64);
                maxVsSingle = Math.Max(maxVsSingle, d0.item<double>());
                maxBetweenRanks = Math.Max(maxBetweenRanks, d01.item<double>());
            }
            _log.WriteLine($"max |ddp - single| = {maxVsSingle:E3}, max |rank0 - rank1| = {maxBetweenRanks:E3}");
            Assert.True(maxVsSingle < 1e-5, $"DDP parameters differ from the single-process run by {maxVsSingle}");
            Assert.Equal(0, maxBetweenRanks); // same averaged gradients, same steps: bit-identical replicas

            // Training did something: the single run's loss fell over the 5 steps.
            var losses = single.Ranks[0].OutputTail.Where(l => l.StartsWith("step ", StringComparison.Ordinal))
                .Select(l => double.Parse(l.Split(' ')[3], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(5, losses.Count);
            Assert.True(losses[^1] < losses[0] - 1e-3, $"loss went from {losses[0]} to {losses[^1]}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("die")]
    [InlineData("hang")]
    [InlineData("ddp-die")]
    public void Distributed_AFailedOrHungRankEndsTheOtherWithAnErrorWithinTheTimeout(string scenario)
    {
        const int TimeoutMs = 5000;
        int port = LocalLauncher.FreePort();
        var processes = new List<Process>();
        var outputs = new List<System.Text.StringBuilder>();
        try
        {
            for (int rank = 0; rank < 2; rank++)
            {
                var psi = new ProcessStartInfo(DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                psi.ArgumentList.Add(WorkerDll);
                psi.ArgumentList.Add(scenario);
                psi.Environment["MASTER_ADDR"] = "127.0.0.1";
                psi.Environment["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
                psi.Environment["WORLD_SIZE"] = psi.Environment["LOCAL_WORLD_SIZE"] = "2";
                psi.Environment["RANK"] = psi.Environment["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                psi.Environment["FS_TEST_TIMEOUT_MS"] = TimeoutMs.ToString(CultureInfo.InvariantCulture);
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
            // Rank 0 must give up by itself: on the closed connection at once, on the silent peer after the timeout.
            Assert.True(processes[0].WaitForExit(TimeSpan.FromSeconds(30)), "rank 0 did not end within 30 s");
            processes[0].WaitForExit();
            string out0;
            lock (outputs[0]) out0 = outputs[0].ToString();
            _log.WriteLine($"rank 0 (exit {processes[0].ExitCode}):\n{out0}");
            Assert.Equal(4, processes[0].ExitCode);
            var detected = Regex.Match(out0, @"DETECTED at (\d+) after (\d+) ms: (.*)");
            Assert.True(detected.Success, "rank 0 did not report the failure");
            Assert.Contains("all_reduce failed on rank 0 of 2", detected.Groups[3].Value);
            if (scenario == "ddp-die") Assert.Contains("gradient all-reduce after backward failed", detected.Groups[3].Value);

            if (scenario != "hang")
            {
                Assert.True(processes[1].WaitForExit(TimeSpan.FromSeconds(10)));
                Assert.Equal(3, processes[1].ExitCode);
                string out1;
                lock (outputs[1]) out1 = outputs[1].ToString();
                long exitedAt = long.Parse(Regex.Match(out1, @"EXITING at (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
                long lag = long.Parse(detected.Groups[1].Value, CultureInfo.InvariantCulture) - exitedAt;
                _log.WriteLine($"dead rank detected {lag} ms after it exited");
                Assert.True(lag < TimeoutMs, $"the dead rank took {lag} ms to notice");
            }
            else
            {
                long waited = long.Parse(detected.Groups[2].Value, CultureInfo.InvariantCulture);
                _log.WriteLine($"hung rank detected after {waited} ms (timeout {TimeoutMs} ms)");
                Assert.InRange(waited, TimeoutMs - 500, TimeoutMs + 5000);
                Assert.Contains("Timed out", detected.Groups[3].Value);
            }
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

    [Fact]
    public void Distributed_LauncherGivesEachRankTheTorchrunEnvironment()
    {
        var r = Launch(3, "env", new Dictionary<string, string?> { ["FS_TEST_EXTRA"] = "hello" });
        Assert.True(r.Success, r.Message);
        Assert.Equal(3, r.Ranks.Count);
        string? runId = null;
        for (int rank = 0; rank < 3; rank++)
        {
            var line = r.Ranks[rank].OutputTail.Single(l => l.StartsWith("ENV ", StringComparison.Ordinal));
            var vars = line[4..].Split(' ').Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
            Assert.Equal("127.0.0.1", vars["MASTER_ADDR"]);
            Assert.Equal(r.MasterPort.ToString(CultureInfo.InvariantCulture), vars["MASTER_PORT"]);
            Assert.Equal(rank.ToString(CultureInfo.InvariantCulture), vars["RANK"]);
            Assert.Equal(rank.ToString(CultureInfo.InvariantCulture), vars["LOCAL_RANK"]);
            Assert.Equal("3", vars["WORLD_SIZE"]);
            Assert.Equal("3", vars["LOCAL_WORLD_SIZE"]);
            Assert.Equal("0", vars["GROUP_RANK"]);
            Assert.Equal("hello", vars["FS_TEST_EXTRA"]);
            Assert.NotEmpty(vars["TORCHELASTIC_RUN_ID"]);
            runId ??= vars["TORCHELASTIC_RUN_ID"];
            Assert.Equal(runId, vars["TORCHELASTIC_RUN_ID"]);
            if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null) Assert.Equal("1", vars["OMP_NUM_THREADS"]);
            Assert.Contains("a line on stderr", r.Ranks[rank].OutputTail);
            Assert.Equal(0, r.Ranks[rank].ExitCode);
        }
    }

    [Fact]
    public void Distributed_LauncherStopsTheOthersWhenARankFailsAndSaysWhich()
    {
        var output = new StringWriter();
        var clock = Stopwatch.StartNew();
        var r = LocalLauncher.Run(2, DotnetHost, new[] { WorkerDll, "fail-env" }, null,
            new LaunchOptions { Output = output, Timeout = RunLimit, TerminateGracePeriod = TimeSpan.FromSeconds(2) });
        clock.Stop();
        _log.WriteLine($"{r.Message} (wall {clock.Elapsed.TotalSeconds:F1} s)\n{output}");
        Assert.False(r.Success);
        Assert.False(r.TimedOut);
        Assert.Equal(1, r.FailedRank);
        Assert.Equal(7, r.FailedExitCode);
        Assert.Contains("rank 1", r.Message);
        Assert.Contains("failing on purpose", r.FailedRankOutput);
        Assert.True(r.Ranks[0].Killed);
        Assert.NotEqual(0, r.Ranks[0].ExitCode); // rank 0 sleeps a minute unless stopped
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the launcher took {clock.Elapsed} to stop the run");
        Assert.Matches(@"\[rank1\]: failing on purpose", output.ToString());
        Assert.Contains("[launcher]: rank 1 exited with code 7", output.ToString());
    }
}
