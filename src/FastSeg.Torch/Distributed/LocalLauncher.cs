using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FastSeg.Torch.Distributed;

/// <summary>Settings of <see cref="LocalLauncher.Run"/> beyond the process count and command line.</summary>
public sealed class LaunchOptions
{
    /// <summary>Address the ranks meet at (rank 0, on node 0, hosts the store there). Default 127.0.0.1.</summary>
    public string MasterAddr { get; init; } = "127.0.0.1";

    /// <summary>Port of the store; null picks a free one (one node only: the nodes of a multi-node run must agree on it).</summary>
    public int? MasterPort { get; init; }

    /// <summary>Number of machines of the run (torchrun's <c>--nnodes</c>); each runs this launcher with its <see cref="NodeRank"/>.</summary>
    public int NNodes { get; init; } = 1;

    /// <summary>This machine's index in [0, <see cref="NNodes"/>) (torchrun's <c>--node-rank</c>); its ranks are
    /// NodeRank · nproc-per-node + local rank.</summary>
    public int NodeRank { get; init; }

    /// <summary>Where the ranks' output goes, each line prefixed with <c>[rankN]:</c>; null: this process's stdout/stderr.</summary>
    public TextWriter? Output { get; init; }

    /// <summary>Prefix every output line with its rank (default true).</summary>
    public bool PrefixOutput { get; init; } = true;

    /// <summary>Kill every rank when the whole run takes longer than this; null waits for ever.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>After a rank fails, how long the others get after SIGTERM before they are killed.</summary>
    public TimeSpan TerminateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Working directory of the ranks; null keeps this process's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>How many of the last output lines of each rank the result keeps (for error reports).</summary>
    public int TailLines { get; init; } = 40;
}

/// <summary>The outcome of one rank of a <see cref="LocalLauncher"/> run: <paramref name="Rank"/> is its local rank
/// (its index on this node), <paramref name="GlobalRank"/> its rank in the whole run.</summary>
public sealed record RankResult(int Rank, int ProcessId, int? ExitCode, bool Killed, IReadOnlyList<string> OutputTail, int GlobalRank);

/// <summary>The outcome of a <see cref="LocalLauncher"/> run.</summary>
public sealed record LaunchResult(
    bool Success,
    int? FailedRank,
    int? FailedExitCode,
    bool TimedOut,
    int MasterPort,
    TimeSpan Elapsed,
    IReadOnlyList<RankResult> Ranks)
{
    /// <summary>One line saying how the run ended (which rank failed with which code, or that all succeeded).</summary>
    public string Message =>
        Success ? $"all {Ranks.Count} ranks exited with code 0 in {Elapsed.TotalSeconds:F1} s"
        : TimedOut ? $"the run passed its time limit after {Elapsed.TotalSeconds:F1} s; every rank was killed"
        : $"rank {Ranks[FailedRank!.Value].GlobalRank} (pid {Ranks[FailedRank!.Value].ProcessId}) exited with code {FailedExitCode} after {Elapsed.TotalSeconds:F1} s; the other ranks were stopped";

    /// <summary>The failed rank's last output lines, for error reports (empty on success). <see cref="FailedRank"/> is
    /// the index into <see cref="Ranks"/> (the local rank).</summary>
    public IReadOnlyList<string> FailedRankOutput => FailedRank is int r ? Ranks[r].OutputTail : Array.Empty<string>();
}

/// <summary>
/// A stand-in for <c>torchrun --nproc_per_node=N</c> (with <see cref="LaunchOptions.NNodes"/>,
/// <see cref="LaunchOptions.NodeRank"/>, <see cref="LaunchOptions.MasterAddr"/> and <see cref="LaunchOptions.MasterPort"/>,
/// torchrun's static multi-node rendezvous: run once per machine, world size NNodes · N, ranks NodeRank · N + local
/// rank, rank 0 on node 0 hosting the store): starts N processes with the environment torchrun gives its workers (MASTER_ADDR, MASTER_PORT, RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
/// GROUP_RANK, ROLE_RANK, ROLE_WORLD_SIZE, TORCHELASTIC_RUN_ID, and OMP_NUM_THREADS=1 unless set), streams their output
/// line by line with a rank prefix, waits for all of them, and, as soon as one exits with a non-zero code, stops the
/// others (SIGTERM, then a kill after a grace period) and reports which rank failed.
/// </summary>
public static partial class LocalLauncher
{
    /// <summary>Runs <paramref name="nprocPerNode"/> copies of <paramref name="executable"/> and waits for them.</summary>
    /// <param name="nprocPerNode">Number of ranks.</param>
    /// <param name="executable">The program, e.g. "dotnet" (with the worker's dll as first argument) or an apphost.</param>
    /// <param name="args">Its arguments, the same for every rank.</param>
    /// <param name="env">Extra environment variables for every rank (a null value removes a variable).</param>
    /// <param name="options">Address, port, output, time limit.</param>
    public static LaunchResult Run(int nprocPerNode, string executable, IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string?>? env = null, LaunchOptions? options = null) =>
        RunAsync(nprocPerNode, executable, args, env, options).GetAwaiter().GetResult();

    /// <summary>Asynchronous <see cref="Run"/>; cancelling the token stops every rank.</summary>
    public static async Task<LaunchResult> RunAsync(int nprocPerNode, string executable, IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string?>? env = null, LaunchOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        if (nprocPerNode < 1) throw new ArgumentOutOfRangeException(nameof(nprocPerNode), nprocPerNode, "at least one process is needed");
        ArgumentException.ThrowIfNullOrEmpty(executable);
        ArgumentNullException.ThrowIfNull(args);
        options ??= new LaunchOptions();
        if (options.NNodes < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.NNodes, "NNodes (--nnodes) must be at least 1");
        if (options.NodeRank < 0 || options.NodeRank >= options.NNodes)
            throw new ArgumentOutOfRangeException(nameof(options), options.NodeRank, $"NodeRank (--node-rank) must be in [0, {options.NNodes}) for {options.NNodes} nodes");
        if (options.NNodes > 1 && options.MasterPort is null)
            throw new ArgumentException("a multi-node launch needs MasterPort (--master-port): every node must be given the same port", nameof(options));
        if (options.MasterPort is int given && given is < 1 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(options), given, "MasterPort (--master-port) must be in [1, 65535]");
        int port = options.MasterPort ?? FreePort(options.MasterAddr);
        int worldSize = options.NNodes * nprocPerNode;
        string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string runId = Guid.NewGuid().ToString("N")[..12];
        var output = new LockedOutput(options.Output);
        var clock = Stopwatch.StartNew();

        var ranks = new RankProcess[nprocPerNode];
        try
        {
            for (int localRank = 0; localRank < nprocPerNode; localRank++)
            {
                int rank = options.NodeRank * nprocPerNode + localRank;
                var psi = new ProcessStartInfo(executable)
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    WorkingDirectory = options.WorkingDirectory ?? Environment.CurrentDirectory,
                };
                foreach (var a in args) psi.ArgumentList.Add(a);
                var e = psi.Environment;
                if (!e.ContainsKey("OMP_NUM_THREADS") && (env is null || !env.ContainsKey("OMP_NUM_THREADS")) && nprocPerNode > 1)
                    e["OMP_NUM_THREADS"] = "1";
                e["MASTER_ADDR"] = options.MasterAddr;
                e["MASTER_PORT"] = Text(port);
                e["WORLD_SIZE"] = e["ROLE_WORLD_SIZE"] = Text(worldSize);
                e["LOCAL_WORLD_SIZE"] = Text(nprocPerNode);
                e["RANK"] = e["ROLE_RANK"] = Text(rank);
                e["LOCAL_RANK"] = Text(localRank);
                e["GROUP_RANK"] = Text(options.NodeRank);
                e["ROLE_NAME"] = "default";
                e["TORCHELASTIC_RUN_ID"] = runId;
                if (env is not null)
                    foreach (var (key, value) in env)
                    {
                        if (value is null) e.Remove(key);
                        else e[key] = value;
                    }
                ranks[localRank] = new RankProcess(localRank, rank, psi, output, options.PrefixOutput, options.TailLines);
            }
        }
        catch
        {
            foreach (var r in ranks) r?.Kill();
            throw;
        }

        int? failedRank = null;
        int? failedCode = null;
        bool timedOut = false;
        using var timeoutCts = options.Timeout is TimeSpan t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutCts.Token, cancellationToken);
        var pending = ranks.Select(r => r.Exited).ToList();
        try
        {
            while (pending.Count > 0)
            {
                var finished = await Task.WhenAny(pending).WaitAsync(linked.Token).ConfigureAwait(false);
                pending.Remove(finished);
                var done = await finished.ConfigureAwait(false);
                if (done.ExitCode != 0 && failedRank is null)
                {
                    failedRank = done.Rank;
                    failedCode = done.ExitCode;
                    output.WriteLine(null, $"[launcher]: rank {ranks[done.Rank].GlobalRank} exited with code {done.ExitCode}; stopping the other ranks");
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            timedOut = true;
            output.WriteLine(null, $"[launcher]: time limit of {options.Timeout!.Value.TotalSeconds:F0} s passed; killing every rank");
        }
        finally
        {
            // A failure, a time-out or a cancellation leaves ranks running: stop them, gently first.
            if (ranks.Any(r => !r.HasExited))
            {
                if (!timedOut && !cancellationToken.IsCancellationRequested)
                {
                    foreach (var r in ranks) r.Terminate();
                    var grace = Task.WhenAll(ranks.Select(r => r.Exited));
                    await Task.WhenAny(grace, Task.Delay(options.TerminateGracePeriod, CancellationToken.None)).ConfigureAwait(false);
                }
                foreach (var r in ranks) r.Kill();
                await Task.WhenAll(ranks.Select(r => r.Exited)).ConfigureAwait(false);
            }
            await Task.WhenAll(ranks.Select(r => r.OutputDone)).ConfigureAwait(false);
            foreach (var r in ranks) r.Dispose();
        }
        cancellationToken.ThrowIfCancellationRequested();
        clock.Stop();
        var results = ranks.Select(r => r.Result()).ToList();
        return new LaunchResult(failedRank is null && !timedOut, failedRank, failedCode, timedOut, port, clock.Elapsed, results);
    }

    /// <summary>A TCP port that was free on <paramref name="address"/> a moment ago.</summary>
    public static int FreePort(string address = "127.0.0.1")
    {
        var ip = IPAddress.TryParse(address, out var parsed) ? parsed : IPAddress.Loopback;
        var listener = new TcpListener(ip, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    private sealed class LockedOutput(TextWriter? writer)
    {
        private readonly object _lock = new();

        public void WriteLine(bool? error, string line)
        {
            lock (_lock)
            {
                var w = writer ?? (error == true ? Console.Error : Console.Out);
                w.WriteLine(line);
                w.Flush();
            }
        }
    }

    private sealed class RankProcess : IDisposable
    {
        private readonly Process _process;
        private readonly Queue<string> _tail = new();
        private readonly int _tailLines;
        private readonly TaskCompletionSource _stdoutDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _stderrDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<(int Rank, int ExitCode)> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _killed;

        public RankProcess(int rank, int globalRank, ProcessStartInfo psi, LockedOutput output, bool prefix, int tailLines)
        {
            Rank = rank;
            GlobalRank = globalRank;
            _tailLines = Math.Max(0, tailLines);
            _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            string tag = prefix ? $"[rank{globalRank}]: " : "";
            _process.OutputDataReceived += (_, e) => OnLine(e.Data, false, tag, output, _stdoutDone);
            _process.ErrorDataReceived += (_, e) => OnLine(e.Data, true, tag, output, _stderrDone);
            _process.Exited += (_, _) => _exited.TrySetResult((Rank, _process.ExitCode));
            _process.Start();
            ProcessId = _process.Id;
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public int Rank { get; }
        public int GlobalRank { get; }
        public int ProcessId { get; }
        public Task<(int Rank, int ExitCode)> Exited => _exited.Task;
        public Task OutputDone => Task.WhenAll(_stdoutDone.Task, _stderrDone.Task);
        public bool HasExited => _exited.Task.IsCompleted;

        private void OnLine(string? line, bool error, string tag, LockedOutput output, TaskCompletionSource done)
        {
            if (line is null)
            {
                done.TrySetResult();
                return;
            }
            lock (_tail)
            {
                _tail.Enqueue(line);
                while (_tail.Count > _tailLines) _tail.Dequeue();
            }
            output.WriteLine(error, tag + line);
        }

        public void Terminate()
        {
            if (HasExited) return;
            if (OperatingSystem.IsWindows()) { Kill(); return; }
            _killed = true;
            SysKill(ProcessId, 15); // SIGTERM: .NET and most programs shut down cleanly on it
        }

        public void Kill()
        {
            if (HasExited) return;
            try
            {
                _killed = true;
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException) { } // exited meanwhile
        }

        public RankResult Result()
        {
            int? code = HasExited ? _exited.Task.Result.ExitCode : null;
            lock (_tail) return new RankResult(Rank, ProcessId, code, _killed, _tail.ToArray(), GlobalRank);
        }

        public void Dispose() => _process.Dispose();
    }
}
