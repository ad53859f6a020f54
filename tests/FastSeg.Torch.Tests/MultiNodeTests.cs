using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FastSeg.Torch.Distributed;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>
/// Runs spanning several "machines" with torchrun's conventions: one <see cref="LocalLauncher"/> per node, each with
/// NNodes, its NodeRank and the master's address and port. The nodes are either processes on 127.0.0.1 with different
/// node ranks, or (where this machine lets the test create them) two network namespaces joined by a veth pair, each
/// with its own address, which the test creates and removes itself. The ranks run FastSeg.Distributed.Worker.
/// </summary>
[Collection(DistributedCollection.Name)]
public class MultiNodeTests(ITestOutputHelper log)
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(90);

    private static string WorkerDll => Path.Combine(AppContext.BaseDirectory, "FastSeg.Distributed.Worker.dll");

    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    /// <summary>How a node starts its ranks: directly, or inside a network namespace.</summary>
    private sealed record Node(string Executable, string[] Prefix)
    {
        public static Node Local => new(DotnetHost, [WorkerDll]);
        public static Node InNamespace(string ns) => new("ip", ["netns", "exec", ns, DotnetHost, WorkerDll]);
    }

    private static Task<LaunchResult> StartNode(Node node, int nnodes, int nodeRank, string masterAddr, int port, TextWriter output,
        Dictionary<string, string?> env, string[] args, CancellationToken cancel = default) =>
        LocalLauncher.RunAsync(1, node.Executable, node.Prefix.Concat(args).ToList(), env,
            new LaunchOptions
            {
                NNodes = nnodes, NodeRank = nodeRank, MasterAddr = masterAddr, MasterPort = port, Output = output,
                Timeout = RunLimit, TerminateGracePeriod = TimeSpan.FromSeconds(2),
            }, cancel);

    private static double MaxDiff(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b)
    {
        Assert.Equal(a.Keys.ToList(), b.Keys.ToList());
        double max = 0;
        foreach (var (key, ta) in a)
        {
            using var d = (ta.to_type(ScalarType.Float64) - b[key].to_type(ScalarType.Float64)).abs().max();
            max = Math.Max(max, d.item<double>());
        }
        return max;
    }

    // 2 nodes x 1 process x batch 2 against 1 process x batch 4: 5 SGD steps of conv -> batch norm (train mode,
    // SyncBatchNorm across the nodes) -> ReLU -> conv; parameters and running statistics within 1e-5.
    private async Task TwoNodesTrainLikeOneProcess(Node node0, Node node1, string masterAddr, int port)
    {
        var dir = Directory.CreateTempSubdirectory("fastseg-multinode-");
        try
        {
            var env = new Dictionary<string, string?> { ["FS_TEST_TIMEOUT_MS"] = "30000" };
            var out0 = new StringWriter();
            var out1 = new StringWriter();
            var n0 = StartNode(node0, 2, 0, masterAddr, port, out0, env, ["ddp-syncbn", dir.FullName]);
            var n1 = StartNode(node1, 2, 1, masterAddr, port, out1, env, ["ddp-syncbn", dir.FullName]);
            var r0 = await n0;
            var r1 = await n1;
            log.WriteLine($"node 0: {r0.Message}\n{out0}\nnode 1: {r1.Message}\n{out1}");
            Assert.True(r0.Success, r0.Message);
            Assert.True(r1.Success, r1.Message);
            Assert.Contains("joined rank=0 world=2 node=0", r0.Ranks[0].OutputTail);
            Assert.Contains("joined rank=1 world=2 node=1", r1.Ranks[0].OutputTail);
            Assert.Equal(1, r1.Ranks[0].GlobalRank);

            var single = await LocalLauncher.RunAsync(1, DotnetHost, [WorkerDll, "single-trainbn", dir.FullName], env,
                new LaunchOptions { Output = new StringWriter(), Timeout = RunLimit });
            Assert.True(single.Success, single.Message);

            var reference = load_state_dict(Path.Combine(dir.FullName, "single.pt"));
            var rank0 = load_state_dict(Path.Combine(dir.FullName, "ddp-rank0.pt"));
            var rank1 = load_state_dict(Path.Combine(dir.FullName, "ddp-rank1.pt"));
            double vsSingle = MaxDiff(reference, rank0), betweenNodes = MaxDiff(rank0, rank1);
            log.WriteLine($"max |2 nodes - 1 process| = {vsSingle:E3}, max |node 0 - node 1| = {betweenNodes:E3}");
            Assert.True(vsSingle <= 1e-5, $"2 nodes x batch 2 differ from 1 process x batch 4 by {vsSingle}");
            Assert.Equal(0, betweenNodes);
            Assert.Equal(5, reference["1.num_batches_tracked"].item<long>());
            // Training moved the parameters and the running statistics.
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

    // Both nodes train in a loop; once each has printed a step, node 1 is killed (its launcher is cancelled, which
    // kills its rank). Node 0's rank must fail at its next collective with the collective's error, and its launcher
    // report it, long before the run's limit.
    private async Task KillingOneNodeEndsTheOther(Node node0, Node node1, string masterAddr, int port)
    {
        var env = new Dictionary<string, string?> { ["FS_TEST_TIMEOUT_MS"] = "20000" };
        var out0 = new LineSignal("step 1 rank 0");
        var out1 = new LineSignal("step 1 rank 1");
        using var kill1 = new CancellationTokenSource();
        var n0 = StartNode(node0, 2, 0, masterAddr, port, out0, env, ["steps"]);
        var n1 = StartNode(node1, 2, 1, masterAddr, port, out1, env, ["steps"], kill1.Token);
        var both = Task.WhenAll(out0.Seen, out1.Seen);
        Assert.True(await Task.WhenAny(both, Task.Delay(RunLimit)) == both, $"the nodes did not both train:\n{out0}\n{out1}");
        var clock = Stopwatch.StartNew();
        kill1.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => n1);
        var r0 = await n0;
        log.WriteLine($"node 0 ended {clock.ElapsedMilliseconds} ms after node 1 was killed: {r0.Message}\n{out0}");
        Assert.False(r0.Success);
        Assert.False(r0.TimedOut);
        Assert.Equal(4, r0.FailedExitCode);
        var detected = r0.Ranks[0].OutputTail.Single(l => l.StartsWith("DETECTED", StringComparison.Ordinal));
        Assert.Contains("failed on rank 0 of 2", detected);
    }

    [Fact]
    public Task MultiNode_TwoNodesOnLoopbackTrainLikeOneProcess() =>
        TwoNodesTrainLikeOneProcess(Node.Local, Node.Local, "127.0.0.1", LocalLauncher.FreePort());

    [Fact]
    public Task MultiNode_KillingOneNodeOnLoopbackEndsTheOtherWithAnError() =>
        KillingOneNodeEndsTheOther(Node.Local, Node.Local, "127.0.0.1", LocalLauncher.FreePort());

    [NetworkNamespaceFact]
    public async Task MultiNode_TwoNetworkNamespacesTrainLikeOneProcessAndAKilledNodeEndsTheOther()
    {
        using var hosts = new TwoHosts();
        await TwoNodesTrainLikeOneProcess(Node.InNamespace(hosts.A), Node.InNamespace(hosts.B), hosts.AddressA, 29500);
        await KillingOneNodeEndsTheOther(Node.InNamespace(hosts.A), Node.InNamespace(hosts.B), hosts.AddressA, 29501);
    }

    [Fact]
    public async Task MultiNode_ANodeThatNeverComesFailsEveryWaitingNodeWithOneLineNamingTheMissingRanks()
    {
        var env = new Dictionary<string, string?> { ["FS_TEST_TIMEOUT_MS"] = "3000" };
        int port = LocalLauncher.FreePort();
        // 3 nodes of 1 rank; node 1 never comes. Node 0 hosts the store, node 2 connects to it: both must fail.
        var outputs = new[] { new StringWriter(), new StringWriter() };
        var waiting = new[] { 0, 2 }.Select((node, i) => StartNode(Node.Local, 3, node, "127.0.0.1", port, outputs[i], env, ["collectives"])).ToArray();
        var results = await Task.WhenAll(waiting);
        for (int i = 0; i < 2; i++)
        {
            int rank = i == 0 ? 0 : 2;
            log.WriteLine($"node {rank}: {results[i].Message}\n{outputs[i]}");
            Assert.False(results[i].Success);
            Assert.False(results[i].TimedOut);
            var lines = results[i].Ranks[0].OutputTail.Where(l => l.Contains("never joined")).ToList();
            var line = Assert.Single(lines);
            Assert.Contains($"rendezvous at 127.0.0.1:{port} failed on rank {rank} of 3", line);
            Assert.Contains("rank 1 (node 1) never joined", line);
        }

        // 2 nodes; node 0, which hosts the store, never comes: node 1 cannot reach it and says so.
        port = LocalLauncher.FreePort();
        var alone = new StringWriter();
        var r1 = await StartNode(Node.Local, 2, 1, "127.0.0.1", port, alone, env, ["collectives"]);
        log.WriteLine($"node 1 alone: {r1.Message}\n{alone}");
        Assert.False(r1.Success);
        var only = Assert.Single(r1.Ranks[0].OutputTail.Where(l => l.Contains("rendezvous at")).ToList());
        Assert.Contains($"rendezvous at 127.0.0.1:{port} failed on rank 1 of 2: rank 0 (node 0) (which hosts the store) never answered", only);
    }

    [Fact]
    public void MultiNode_LauncherGivesTorchrunsGlobalRanksAndRefusesAnInconsistentNodeSetting()
    {
        var output = new StringWriter();
        var env = new Dictionary<string, string?>();
        var result = LocalLauncher.Run(2, DotnetHost, [WorkerDll, "env"], env, new LaunchOptions
        {
            NNodes = 3, NodeRank = 2, MasterAddr = "127.0.0.1", MasterPort = 29999, Output = output, Timeout = RunLimit,
        });
        log.WriteLine(output.ToString());
        Assert.True(result.Success, result.Message);
        Assert.Equal(new[] { 4, 5 }, result.Ranks.Select(r => r.GlobalRank));
        string Env(int local) => result.Ranks[local].OutputTail.Single(l => l.StartsWith("ENV ", StringComparison.Ordinal));
        Assert.Contains("RANK=5 LOCAL_RANK=1 WORLD_SIZE=6 LOCAL_WORLD_SIZE=2 GROUP_RANK=2", Env(1));
        Assert.Contains("MASTER_ADDR=127.0.0.1 MASTER_PORT=29999", Env(0));
        Assert.Contains("[rank5]: ENV", output.ToString());

        Assert.Throws<ArgumentException>(() => LocalLauncher.Run(1, DotnetHost, [WorkerDll, "env"], null,
            new LaunchOptions { NNodes = 2, NodeRank = 1 })); // no port: the nodes could not agree on one
        Assert.Throws<ArgumentOutOfRangeException>(() => LocalLauncher.Run(1, DotnetHost, [WorkerDll, "env"], null,
            new LaunchOptions { NNodes = 2, NodeRank = 2, MasterPort = 29999 }));
    }

    /// <summary>A writer that completes <see cref="Seen"/> when a line containing the text passes.</summary>
    private sealed class LineSignal(string text) : TextWriter
    {
        private readonly StringBuilder _all = new();
        private readonly TaskCompletionSource _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Seen => _seen.Task;
        public override Encoding Encoding => Encoding.UTF8;

        public override void WriteLine(string? value)
        {
            lock (_all) _all.AppendLine(value);
            if (value is not null && value.Contains(text, StringComparison.Ordinal)) _seen.TrySetResult();
        }

        public override string ToString()
        {
            lock (_all) return _all.ToString();
        }
    }
}

/// <summary>
/// Two hosts on this machine: network namespaces joined by a veth pair, with addresses 10.231.N.1 and 10.231.N.2 (N
/// from the process id, so parallel runs do not collide), created here and removed on dispose.
/// </summary>
internal sealed class TwoHosts : IDisposable
{
    public TwoHosts()
    {
        string tag = Guid.NewGuid().ToString("N")[..6];
        A = "fsdist-a-" + tag;
        B = "fsdist-b-" + tag;
        int net = 1 + Environment.ProcessId % 250;
        AddressA = $"10.231.{net}.1";
        AddressB = $"10.231.{net}.2";
        string vethA = "fsva" + tag, vethB = "fsvb" + tag;
        try
        {
            Ip($"netns add {A}");
            Ip($"netns add {B}");
            Ip($"link add {vethA} type veth peer name {vethB}");
            Ip($"link set {vethA} netns {A}");
            Ip($"link set {vethB} netns {B}");
            Ip($"-n {A} addr add {AddressA}/24 dev {vethA}");
            Ip($"-n {B} addr add {AddressB}/24 dev {vethB}");
            foreach (var (ns, dev) in new[] { (A, vethA), (B, vethB), (A, "lo"), (B, "lo") }) Ip($"-n {ns} link set {dev} up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string A { get; }
    public string B { get; }
    public string AddressA { get; }
    public string AddressB { get; }

    /// <summary>Runs <c>ip ARGS</c>; returns its error output, empty on success, or throws when <paramref name="check"/>.</summary>
    internal static string Ip(string args, bool check = true)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args.Split(' ')) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string error = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == 0) return "";
        if (check) throw new InvalidOperationException($"ip {args} failed: {error.Trim()}");
        return error.Trim() is { Length: > 0 } e ? e : $"exit code {p.ExitCode}";
    }

    public void Dispose()
    {
        // Deleting a namespace removes the veth end inside it, and with it the pair.
        Ip($"netns del {A}", check: false);
        Ip($"netns del {B}", check: false);
    }
}

/// <summary>A fact that is skipped, with the reason, where this process may not create network namespaces.</summary>
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Refusal = new(Probe);

    public NetworkNamespaceFactAttribute()
    {
        if (Refusal.Value is { } reason) Skip = $"network namespaces cannot be created here ({reason}); the loopback MultiNode tests cover the same logic";
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        string name = "fsdist-probe-" + Guid.NewGuid().ToString("N")[..6];
        try
        {
            string error = TwoHosts.Ip($"netns add {name}", check: false);
            if (error.Length > 0) return "ip netns add: " + error;
            TwoHosts.Ip($"netns del {name}", check: false);
            return null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return "no ip command: " + e.Message;
        }
    }
}
