using System.Globalization;
using System.Text.RegularExpressions;
using FastSeg.Torch.Distributed;
using FastSeg.Torch.Modules;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;
using dist = FastSeg.Torch.torch.distributed;

namespace FastSeg.Torch.Tests;

/// <summary>
/// SyncBatchNorm (<c>nn.SyncBatchNorm.convert_sync_batchnorm</c>): in training on several ranks every batch norm uses
/// the statistics of the global batch. The two-rank test starts FastSeg.Distributed.Worker's "syncbn" scenario, in which
/// each rank compares its share against plain batch norm on the whole batch, computed alone as one process would.
/// </summary>
[Collection(DistributedCollection.Name)]
public class SyncBatchNormTests(ITestOutputHelper log)
{
    private static string WorkerDll => Path.Combine(AppContext.BaseDirectory, "FastSeg.Distributed.Worker.dll");

    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    private static double Value(string line, string key) =>
        double.Parse(Regex.Match(line, key + @"=(\S+)").Groups[1].Value, CultureInfo.InvariantCulture);

    [Fact]
    public void SyncBatchNorm_TwoRanksInTrainModeMatchOneProcessOnTheWholeBatch()
    {
        var output = new StringWriter();
        var run = LocalLauncher.Run(2, DotnetHost, new[] { WorkerDll, "syncbn" }, null,
            new LaunchOptions { Output = output, Timeout = TimeSpan.FromSeconds(60), TerminateGracePeriod = TimeSpan.FromSeconds(2) });
        log.WriteLine($"{run.Message}\n{output}");
        Assert.True(run.Success, run.Message);
        foreach (var split in new[] { "2+2", "1+3" })
        {
            var lines = Enumerable.Range(0, 2)
                .Select(r => run.Ranks[r].OutputTail.Single(l => l.StartsWith($"SYNCBN split={split} ", StringComparison.Ordinal)))
                .ToList();
            foreach (var line in lines)
            {
                // Outputs, gradients (summed over the ranks) and running statistics of the whole batch of 4.
                Assert.True(Value(line, "out") <= 1e-5, line);
                Assert.True(Value(line, "grad") <= 1e-5, line);
                Assert.True(Value(line, "stats") <= 1e-5, line);
                Assert.True(Value(line, "gradscale") > 0.1, line); // the gradients compared are not tiny
                // Per-rank statistics would be far off: what the synchronisation is for.
                Assert.True(Value(line, "unsynced") > 1e-2, line);
                Assert.Contains("tracked=2 ", line);
            }
            // The same running statistics on both ranks, to the last bit.
            Assert.Equal(Regex.Match(lines[0], "running=(.*)$").Groups[1].Value, Regex.Match(lines[1], "running=(.*)$").Groups[1].Value);
        }
        var keys = run.Ranks[0].OutputTail.First(l => l.StartsWith("KEYS ", StringComparison.Ordinal))[5..].Split(" | ");
        Assert.Equal(keys[1], keys[0]); // converted or not, the same state-dict keys
        Assert.Contains("1.running_var", keys[0]);
    }

    [Fact]
    public void SyncBatchNorm_ConversionKeepsTheStateDictAndIsPlainBatchNormOnOneRankAndInEval()
    {
        using var group = dist.new_group_from("gloo", world_size: 1, rank: 0, master_addr: "127.0.0.1",
            master_port: LocalLauncher.FreePort(), timeout: TimeSpan.FromSeconds(20));
        nn.Module<Tensor, Tensor> Make()
        {
            manual_seed(3);
            return nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm2d(3)));
        }
        using var plain = Make();
        using var synced = Make();
        var keysBefore = synced.state_dict().Keys.ToList();
        Assert.Same(synced, nn.SyncBatchNorm.convert_sync_batchnorm(synced, group));
        Assert.Equal(keysBefore, synced.state_dict().Keys.ToList());
        Assert.All(synced.modules().OfType<BatchNorm2d>(), bn => Assert.Same(group, bn.process_group));
        Assert.Equal(2, synced.modules().OfType<BatchNorm2d>().Count());

        using var scope = NewDisposeScope();
        var x = randn(2, 2, 3, 3);
        foreach (bool training in new[] { true, false })
        {
            plain.train(training);
            synced.train(training);
            Assert.Equal(plain.forward(x).ToArray<float>(), synced.forward(x).ToArray<float>());
        }
        foreach (var ((name, a), (_, b)) in plain.state_dict().Zip(synced.state_dict()))
            Assert.True(a.equal(b), name);

        nn.SyncBatchNorm.revert_sync_batchnorm(synced);
        Assert.All(synced.modules().OfType<BatchNorm2d>(), bn => Assert.Null(bn.process_group));
        Assert.Throws<InvalidOperationException>(() => nn.SyncBatchNorm.convert_sync_batchnorm(synced)); // no default group
    }
}
