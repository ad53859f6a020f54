using System.Globalization;
using System.Net;
using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>
    /// Multi-process collectives after PyTorch's <c>torch.distributed</c>: one process per rank, a default process
    /// group made by <see cref="init_process_group"/> (Gloo on CPU; NCCL in a CUDA build), and blocking collectives
    /// (all_reduce, broadcast, all_gather, barrier) that raise <see cref="TorchException"/> when a peer fails or the
    /// group's timeout passes, instead of hanging.
    /// </summary>
    public static partial class distributed
    {
        /// <summary>Reduction applied by <see cref="all_reduce(Tensor, ReduceOp, ProcessGroup?)"/>.</summary>
        public enum ReduceOp
        {
            /// <summary>Element-wise sum.</summary>
            SUM = 0,
            /// <summary>Element-wise mean over the ranks (floating-point tensors only).</summary>
            AVG = 1,
            /// <summary>Element-wise product.</summary>
            PRODUCT = 2,
            /// <summary>Element-wise minimum.</summary>
            MIN = 3,
            /// <summary>Element-wise maximum.</summary>
            MAX = 4,
        }

        /// <summary>Backend names accepted by <see cref="init_process_group"/>.</summary>
        public static class Backend
        {
            /// <summary>Gloo: CPU tensors over TCP.</summary>
            public const string GLOO = "gloo";
            /// <summary>NCCL: CUDA tensors (needs a CUDA build of libtorch and of the native bridge).</summary>
            public const string NCCL = "nccl";
        }

        /// <summary>PyTorch's default timeout for the rendezvous and each collective (30 minutes).</summary>
        public static readonly TimeSpan default_pg_timeout = TimeSpan.FromMinutes(30);

        private static readonly object s_lock = new();
        private static ProcessGroup? s_default;

        /// <summary>Whether this build can run any process group.</summary>
        public static bool is_available() => is_gloo_available() || is_nccl_available();

        /// <summary>Whether the native bridge was built with the Gloo process group.</summary>
        public static bool is_gloo_available()
        {
            Native.Check(NativeMethods.fs_dist_backends(out var gloo, out _));
            return gloo != 0;
        }

        /// <summary>Whether the native bridge was built with the NCCL process group (a CUDA build).</summary>
        public static bool is_nccl_available()
        {
            Native.Check(NativeMethods.fs_dist_backends(out _, out var nccl));
            return nccl != 0;
        }

        /// <summary>Whether the default process group exists.</summary>
        public static bool is_initialized()
        {
            lock (s_lock) return s_default is { IsDisposed: false };
        }

        /// <summary>Whether this process was started by torchrun or <see cref="FastSeg.Torch.Distributed.LocalLauncher"/>
        /// (TORCHELASTIC_RUN_ID is set).</summary>
        public static bool is_torchelastic_launched() =>
            !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TORCHELASTIC_RUN_ID"));

        /// <summary>
        /// Joins the default process group. Every rank calls it with the same backend, world size and master address;
        /// it returns once all ranks have met (or throws after <paramref name="timeout"/>).
        /// </summary>
        /// <param name="backend">"gloo", "nccl", or null: NCCL when it is built in and CUDA is available, else Gloo.</param>
        /// <param name="init_method">null or "env://": read what is not given as an argument from MASTER_ADDR,
        /// MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK, as torchrun sets them. "tcp://host:port": the master's address,
        /// with rank and world size from the arguments (or the environment).</param>
        /// <param name="timeout">Bound on the rendezvous and on every later collective (default 30 minutes). A rank
        /// that dies makes its peers fail at their next collective; one that hangs makes them fail after this long.</param>
        /// <param name="world_size">Number of processes; -1 reads WORLD_SIZE.</param>
        /// <param name="rank">This process's rank; -1 reads RANK.</param>
        /// <param name="master_addr">Address of rank 0, which hosts the store; null reads MASTER_ADDR.</param>
        /// <param name="master_port">Port of the store on rank 0; -1 reads MASTER_PORT.</param>
        /// <param name="local_rank">Rank on this machine (picks the GPU for NCCL); -1 reads LOCAL_RANK, else uses the rank.</param>
        public static ProcessGroup init_process_group(string? backend = null, string? init_method = null,
            TimeSpan? timeout = null, int world_size = -1, int rank = -1, string? master_addr = null, int master_port = -1,
            int local_rank = -1)
        {
            lock (s_lock)
            {
                if (s_default is { IsDisposed: false })
                    throw new InvalidOperationException("trying to initialize the default process group twice; call destroy_process_group() first");
                var group = new_group_from(backend, init_method, timeout, world_size, rank, master_addr, master_port, local_rank);
                s_default = group;
                return group;
            }
        }

        /// <summary>
        /// Builds a process group exactly as <see cref="init_process_group"/> does, without making it the default
        /// one (for tests and for tools that manage several groups). The caller disposes it.
        /// </summary>
        public static ProcessGroup new_group_from(string? backend = null, string? init_method = null,
            TimeSpan? timeout = null, int world_size = -1, int rank = -1, string? master_addr = null, int master_port = -1,
            int local_rank = -1)
        {
            var config = RendezvousConfig.Resolve(backend, init_method, timeout ?? default_pg_timeout, world_size, rank,
                master_addr, master_port, local_rank);
            Native.Check(NativeMethods.fs_dist_init(config.BackendId, config.MasterAddr, config.MasterPort, config.Rank,
                config.WorldSize, (long)config.Timeout.TotalMilliseconds, config.GlooInterface, config.GlooHostname,
                config.DeviceIndex, config.LocalWorldSize, out var handle));
            return new ProcessGroup(handle, config.Backend, config.LocalRank, config.Timeout);
        }

        /// <summary>Destroys <paramref name="group"/>, or the default group when null (a no-op when there is none).</summary>
        public static void destroy_process_group(ProcessGroup? group = null)
        {
            lock (s_lock)
            {
                if (group is null || ReferenceEquals(group, s_default))
                {
                    s_default?.Dispose();
                    s_default = null;
                }
                else
                {
                    group.Dispose();
                }
            }
        }

        /// <summary>The default process group; throws when <see cref="init_process_group"/> has not been called.</summary>
        public static ProcessGroup get_default_group()
        {
            lock (s_lock)
            {
                if (s_default is not { IsDisposed: false })
                    throw new InvalidOperationException(
                        "Default process group has not been initialized, please make sure to call init_process_group.");
                return s_default;
            }
        }

        private static ProcessGroup Group(ProcessGroup? group) => group ?? get_default_group();

        /// <summary>This process's rank in <paramref name="group"/> (default group when null).</summary>
        public static int get_rank(ProcessGroup? group = null) => Group(group).Rank;

        /// <summary>The number of processes in <paramref name="group"/> (default group when null).</summary>
        public static int get_world_size(ProcessGroup? group = null) => Group(group).Size;

        /// <summary>The backend name of <paramref name="group"/> ("gloo" or "nccl").</summary>
        public static string get_backend(ProcessGroup? group = null) => Group(group).Backend;

        /// <summary>This process's rank on its machine (LOCAL_RANK of the rendezvous).</summary>
        public static int get_local_rank(ProcessGroup? group = null) => Group(group).LocalRank;

        // ---- collectives -----------------------------------------------------------------------------------------

        /// <summary>Reduces <paramref name="tensor"/> across all ranks, in place; every rank ends with the result.</summary>
        public static void all_reduce(Tensor tensor, ReduceOp op = ReduceOp.SUM, ProcessGroup? group = null)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            all_reduce_coalesced(new[] { tensor }, op, group);
        }

        /// <summary>
        /// Reduces several tensors in place with one collective per dtype: they are flattened into one buffer, reduced
        /// and copied back. Every rank must pass tensors of the same shapes and dtypes in the same order.
        /// </summary>
        public static unsafe void all_reduce_coalesced(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.SUM,
            ProcessGroup? group = null)
        {
            ArgumentNullException.ThrowIfNull(tensors);
            if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce op");
            var g = Group(group);
            if (tensors.Count == 0) return;
            var handles = Handles(tensors);
            g.Run(pg =>
            {
                fixed (IntPtr* p = handles) return NativeMethods.fs_dist_all_reduce(pg, p, handles.Length, (int)op);
            });
            GC.KeepAlive(tensors);
        }

        /// <summary>Copies rank <paramref name="src"/>'s <paramref name="tensor"/> into the same tensor on every other rank.</summary>
        public static void broadcast(Tensor tensor, int src, ProcessGroup? group = null)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            broadcast_coalesced(new[] { tensor }, src, group);
        }

        /// <summary>Broadcasts several tensors from <paramref name="src"/> with one collective per dtype.</summary>
        public static unsafe void broadcast_coalesced(IReadOnlyList<Tensor> tensors, int src = 0, ProcessGroup? group = null)
        {
            ArgumentNullException.ThrowIfNull(tensors);
            var g = Group(group);
            if (tensors.Count == 0) return;
            var handles = Handles(tensors);
            g.Run(pg =>
            {
                fixed (IntPtr* p = handles) return NativeMethods.fs_dist_broadcast(pg, p, handles.Length, src);
            });
            GC.KeepAlive(tensors);
        }

        /// <summary>
        /// Gathers <paramref name="tensor"/> from every rank into <paramref name="tensor_list"/> (one tensor per rank,
        /// in rank order, each of <paramref name="tensor"/>'s shape and dtype), as PyTorch's <c>all_gather</c>.
        /// </summary>
        public static unsafe void all_gather(IList<Tensor> tensor_list, Tensor tensor, ProcessGroup? group = null)
        {
            ArgumentNullException.ThrowIfNull(tensor_list);
            ArgumentNullException.ThrowIfNull(tensor);
            var g = Group(group);
            var outputs = Handles(tensor_list.ToList());
            var input = tensor.NativeHandle;
            g.Run(pg =>
            {
                fixed (IntPtr* p = outputs) return NativeMethods.fs_dist_all_gather(pg, input, p, outputs.Length);
            });
            GC.KeepAlive(tensor);
            GC.KeepAlive(tensor_list);
        }

        /// <summary>Gathers <paramref name="tensor"/> from every rank into new tensors, one per rank in rank order.</summary>
        public static Tensor[] all_gather(Tensor tensor, ProcessGroup? group = null)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            var g = Group(group);
            var outputs = new Tensor[g.Size];
            try
            {
                for (int i = 0; i < outputs.Length; i++) outputs[i] = empty_like(tensor);
                all_gather(outputs, tensor, g);
                return outputs;
            }
            catch
            {
                foreach (var t in outputs) t?.Dispose();
                throw;
            }
        }

        /// <summary>Blocks until every rank of the group has reached the barrier (or the timeout passes).</summary>
        public static void barrier(ProcessGroup? group = null) => Group(group).Run(NativeMethods.fs_dist_barrier);

        private static IntPtr[] Handles(IReadOnlyList<Tensor> tensors)
        {
            var handles = new IntPtr[tensors.Count];
            for (int i = 0; i < handles.Length; i++)
            {
                var t = tensors[i] ?? throw new ArgumentException($"tensor {i} of the list is null", nameof(tensors));
                handles[i] = t.NativeHandle;
            }
            return handles;
        }
    }
}

/// <summary>Where and how a process group meets: the resolved arguments of init_process_group.</summary>
internal sealed record RendezvousConfig(string Backend, int BackendId, string MasterAddr, int MasterPort, int Rank,
    int WorldSize, int LocalRank, TimeSpan Timeout, string GlooInterface, string GlooHostname, int DeviceIndex,
    int LocalWorldSize)
{
    internal static Func<string, string?> GetEnv = Environment.GetEnvironmentVariable;

    internal static RendezvousConfig Resolve(string? backend, string? initMethod, TimeSpan timeout, int worldSize,
        int rank, string? masterAddr, int masterPort, int localRank)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive");

        if (!string.IsNullOrEmpty(initMethod) && initMethod != "env://")
        {
            if (!initMethod.StartsWith("tcp://", StringComparison.Ordinal) ||
                !Uri.TryCreate(initMethod, UriKind.Absolute, out var uri) || uri.Port <= 0)
                throw new ArgumentException(
                    $"init_method '{initMethod}' is not supported: use null or \"env://\" (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE) or \"tcp://host:port\"",
                    nameof(initMethod));
            masterAddr ??= uri.Host.Trim('[', ']');
            if (masterPort < 0) masterPort = uri.Port;
        }

        masterAddr ??= GetEnv("MASTER_ADDR");
        if (string.IsNullOrEmpty(masterAddr))
            throw new ArgumentException("init_process_group: the master address is not given and MASTER_ADDR is not set");
        if (masterPort < 0) masterPort = EnvInt("MASTER_PORT", "the master port");
        if (worldSize < 0) worldSize = EnvInt("WORLD_SIZE", "the world size");
        if (rank < 0) rank = EnvInt("RANK", "the rank");
        if (localRank < 0) localRank = GetEnv("LOCAL_RANK") is { Length: > 0 } ? EnvInt("LOCAL_RANK", "the local rank") : rank;
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "the world size must be at least 1");
        if (rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"the rank must be below the world size {worldSize}");
        if (masterPort is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(masterPort), masterPort, "the master port must be in [1, 65535]");

        string name = ResolveBackend(backend);
        int deviceIndex = -1;
        if (name == torch.distributed.Backend.NCCL)
        {
            int devices = torch.cuda.device_count();
            deviceIndex = devices > 0 ? localRank % devices : -1;
        }

        // Ranks per node (torchrun's LOCAL_WORLD_SIZE): names the node of a rank that never comes to the rendezvous.
        int localWorld = GetEnv("LOCAL_WORLD_SIZE") is { Length: > 0 } lws && int.TryParse(lws, NumberStyles.Integer,
            CultureInfo.InvariantCulture, out var parsedLocalWorld) && parsedLocalWorld > 0 ? parsedLocalWorld : 0;

        // Gloo binds its TCP pairs to one address: GLOO_SOCKET_IFNAME as in PyTorch, else loopback when the master is
        // local, else the master's address when every rank runs on this machine, else the address this machine reaches
        // the master from (on several machines the host name may resolve to a loopback address the peers cannot reach).
        string iface = (GetEnv("GLOO_SOCKET_IFNAME") ?? "").Split(',')[0].Trim();
        string hostname = "";
        if (iface.Length == 0)
        {
            if (IsLoopback(masterAddr)) hostname = "127.0.0.1";
            else if (localWorld == worldSize) hostname = masterAddr;
            else hostname = AddressTowards(masterAddr, masterPort) ?? "";
        }
        return new RendezvousConfig(name, name == torch.distributed.Backend.NCCL ? 1 : 0, masterAddr, masterPort, rank,
            worldSize, localRank, timeout, iface, hostname, deviceIndex, localWorld);
    }

    private static string ResolveBackend(string? backend)
    {
        var b = backend?.Trim().ToLowerInvariant();
        bool cuda = torch.cuda.is_available();
        if (string.IsNullOrEmpty(b))
            return cuda && torch.distributed.is_nccl_available() ? torch.distributed.Backend.NCCL : torch.distributed.Backend.GLOO;
        if (b == torch.distributed.Backend.GLOO) return b;
        if (b == torch.distributed.Backend.NCCL)
        {
            if (!cuda) throw new ArgumentException("backend 'nccl' needs CUDA, and no CUDA device is available; use 'gloo'", nameof(backend));
            if (!torch.distributed.is_nccl_available())
                throw new ArgumentException("backend 'nccl' is not built into this native bridge (it needs a CUDA libtorch with NCCL); use 'gloo'", nameof(backend));
            return b;
        }
        throw new ArgumentException($"unknown backend '{backend}': use \"gloo\" or \"nccl\"", nameof(backend));
    }

    private static int EnvInt(string name, string what)
    {
        var text = GetEnv(name);
        if (string.IsNullOrEmpty(text))
            throw new ArgumentException($"init_process_group: {what} is not given and the environment variable {name} is not set");
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new ArgumentException($"init_process_group: environment variable {name}='{text}' is not a non-negative integer");
        return value;
    }

    // The local address the routing table picks to reach the master (a UDP "connect" sends nothing); null when the
    // master's name does not resolve or no route leads there.
    internal static string? AddressTowards(string masterAddr, int masterPort)
    {
        try
        {
            var target = IPAddress.TryParse(masterAddr, out var ip) ? ip
                : Dns.GetHostAddresses(masterAddr).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                  ?? Dns.GetHostAddresses(masterAddr).FirstOrDefault();
            if (target is null) return null;
            using var socket = new System.Net.Sockets.Socket(target.AddressFamily, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            socket.Connect(new IPEndPoint(target, masterPort));
            return (socket.LocalEndPoint as IPEndPoint)?.Address.ToString();
        }
        catch (System.Net.Sockets.SocketException)
        {
            return null;
        }
    }

    private static bool IsLoopback(string addr) =>
        addr.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
        (IPAddress.TryParse(addr, out var ip) && IPAddress.IsLoopback(ip));
}
