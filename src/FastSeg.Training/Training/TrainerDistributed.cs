using System.Globalization;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// How this training process takes part in a data-parallel run, read from the environment that torchrun or
/// <see cref="FastSeg.Torch.Distributed.LocalLauncher"/> gives each rank (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR,
/// MASTER_PORT). Started by a launcher with WORLD_SIZE &gt; 1, <see cref="FromEnvironment"/> joins the default
/// <c>torch.distributed</c> process group and hands the trainer a <see cref="ProcessGroupSync"/>; started alone (no
/// WORLD_SIZE, or WORLD_SIZE=1) it makes no group and hands out <see cref="SingleProcessSync"/>. So the same program and
/// command line train on one process or, launched N times, on N ranks:
/// <code>
/// using var run = TrainerDistributed.FromEnvironment();
/// using var trainer = new Trainer(options, sync: run.Sync);
/// trainer.Run();   // rank 0 writes checkpoints and logs; every rank returns the same result
/// </code>
/// Disposing destroys the process group this object created.
/// </summary>
public sealed class TrainerDistributed : IDisposable
{
    private distributed.ProcessGroup? _group;

    private TrainerDistributed(IGradientSync sync, int rank, int worldSize, int localRank, int localWorldSize, int nodeRank,
        distributed.ProcessGroup? group)
    {
        Sync = sync;
        Rank = rank;
        WorldSize = worldSize;
        LocalRank = localRank;
        LocalWorldSize = localWorldSize;
        NodeRank = nodeRank;
        _group = group;
    }

    /// <summary>The trainer's seam: a <see cref="ProcessGroupSync"/> over the default group, or <see cref="SingleProcessSync"/>.</summary>
    public IGradientSync Sync { get; }

    /// <summary>This process's rank (0 when alone).</summary>
    public int Rank { get; }

    /// <summary>Number of processes (1 when alone).</summary>
    public int WorldSize { get; }

    /// <summary>Rank on this machine (LOCAL_RANK; 0 when alone): the GPU index to use on a multi-GPU machine.</summary>
    public int LocalRank { get; }

    /// <summary>Processes on this machine (LOCAL_WORLD_SIZE, torchrun's --nproc-per-node; the world size when unset).</summary>
    public int LocalWorldSize { get; }

    /// <summary>This machine's index (GROUP_RANK, torchrun's --node-rank; 0 when unset): Rank = NodeRank · LocalWorldSize + LocalRank.</summary>
    public int NodeRank { get; }

    /// <summary>Number of machines: WorldSize / LocalWorldSize.</summary>
    public int NodeCount => WorldSize / LocalWorldSize;

    /// <summary>Whether this process joined a process group (WORLD_SIZE &gt; 1).</summary>
    public bool IsDistributed => WorldSize > 1;

    /// <summary>Whether this is rank 0, the process that writes checkpoints and logs.</summary>
    public bool IsMain => Rank == 0;

    /// <summary>
    /// Whether the environment describes a multi-process launch: WORLD_SIZE is set to more than 1 (torchrun and
    /// <see cref="FastSeg.Torch.Distributed.LocalLauncher"/> set it for every rank).
    /// </summary>
    public static bool IsLaunched(Func<string, string?>? environment = null) =>
        ReadInt(environment ?? Environment.GetEnvironmentVariable, "WORLD_SIZE") is > 1;

    /// <summary>
    /// Reads the launcher's environment (torchrun's, also on several machines: GROUP_RANK and LOCAL_WORLD_SIZE give the
    /// node). With WORLD_SIZE &gt; 1 it checks that RANK, MASTER_ADDR and MASTER_PORT are set,
    /// then calls <c>torch.distributed.init_process_group(backend, "env://", timeout)</c>, which returns once every rank
    /// has arrived (or throws after <paramref name="timeout"/>). Otherwise it returns a one-process run at once.
    /// </summary>
    /// <param name="backend">"gloo", "nccl", or null for NCCL on CUDA builds with a GPU and Gloo otherwise.</param>
    /// <param name="timeout">Bound on the rendezvous and on every collective (default 30 minutes, as PyTorch): a rank that
    /// hangs makes the others throw after this long; one that dies makes them throw at their next collective.</param>
    /// <param name="environment">Where variables are read (default: the process environment); for tests.</param>
    /// <exception cref="ArgumentException">WORLD_SIZE &gt; 1 and a variable is missing or not a valid number; the message names it.</exception>
    public static TrainerDistributed FromEnvironment(string? backend = null, TimeSpan? timeout = null, Func<string, string?>? environment = null)
    {
        var env = environment ?? Environment.GetEnvironmentVariable;
        int world = ReadInt(env, "WORLD_SIZE") ?? 1;
        if (world < 1) throw new ArgumentException($"environment variable WORLD_SIZE='{env("WORLD_SIZE")}' must be at least 1");
        if (world == 1) return new TrainerDistributed(SingleProcessSync.Instance, 0, 1, 0, 1, 0, null);

        int rank = ReadInt(env, "RANK") ?? throw Missing("RANK", world);
        if (rank >= world) throw new ArgumentException($"environment variable RANK={rank} is not below WORLD_SIZE={world}");
        string addr = env("MASTER_ADDR") is { Length: > 0 } a ? a : throw Missing("MASTER_ADDR", world);
        int port = ReadInt(env, "MASTER_PORT") ?? throw Missing("MASTER_PORT", world);
        int localRank = ReadInt(env, "LOCAL_RANK") ?? rank;
        int localWorld = ReadInt(env, "LOCAL_WORLD_SIZE") ?? world;
        int nodeRank = ReadInt(env, "GROUP_RANK") ?? 0;
        if (localWorld < 1 || world % localWorld != 0 || localRank >= localWorld || nodeRank * localWorld + localRank != rank)
            throw new ArgumentException($"the launcher's environment does not add up: RANK={rank} should be GROUP_RANK={nodeRank} x " +
                $"LOCAL_WORLD_SIZE={localWorld} + LOCAL_RANK={localRank}, with WORLD_SIZE={world} a multiple of LOCAL_WORLD_SIZE");
        var group = distributed.init_process_group(backend, init_method: "env://", timeout: timeout, world_size: world, rank: rank,
            master_addr: addr, master_port: port, local_rank: localRank);
        try
        {
            return new TrainerDistributed(new ProcessGroupSync(group), rank, world, localRank, localWorld, nodeRank, group);
        }
        catch
        {
            distributed.destroy_process_group(group);
            throw;
        }
    }

    private static ArgumentException Missing(string name, int world) =>
        new($"WORLD_SIZE={world} asks for a multi-process run but the environment variable {name} is not set " +
            "(start the ranks with torchrun or LocalLauncher, which set MASTER_ADDR, MASTER_PORT, RANK, LOCAL_RANK and WORLD_SIZE)");

    private static int? ReadInt(Func<string, string?> env, string name)
    {
        var text = env(name);
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new ArgumentException($"environment variable {name}='{text}' is not a non-negative integer");
        return value;
    }

    /// <summary>Leaves the process group this object joined (a no-op for a one-process run).</summary>
    public void Dispose()
    {
        if (_group is null) return;
        distributed.destroy_process_group(_group);
        _group = null;
    }
}
