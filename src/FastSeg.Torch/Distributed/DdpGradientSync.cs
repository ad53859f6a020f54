using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using FastSeg.Torch.Interop;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.distributed;

namespace FastSeg.Torch.Distributed;

/// <summary>
/// Data-parallel gradient synchronisation for any module, the engine under
/// <see cref="torch.nn.parallel.DistributedDataParallel"/>. Each rank runs forward and backward on its own share of
/// the batch; <see cref="AllReduceGradients()"/> then replaces every gradient with its mean over the ranks, so the
/// optimizer steps are identical everywhere and equal to one process on the whole batch (for losses that are means
/// over equally sized per-rank batches).
/// </summary>
/// <remarks>
/// <para>Gradients travel in buckets of about <see cref="BucketCapBytes"/> (PyTorch's 25 MB by default): the
/// gradients of a bucket are flattened into one buffer natively, all-reduced with one Gloo call, divided by the world
/// size and copied back. Buckets follow the reverse of registration order, as PyTorch's, so the last layers (whose
/// gradients backward produces first) come first.</para>
/// <para>The reduction runs after backward, not overlapped with it: the gradients are all present when it starts.
/// Call <see cref="AllReduceGradients()"/> between <c>backward()</c> and the optimizer step, or arm it with
/// <see cref="PrepareForBackward"/> on the forward output so the next backward through that output ends with it.
/// A parameter without a gradient on some ranks (unused in their forward) gets a zero gradient there, so all ranks
/// build the same buckets; one without a gradient on every rank is left without one. Finding that out costs one small
/// extra all-reduce (one int per parameter) per call.</para>
/// </remarks>
public sealed class DdpGradientSync
{
    /// <summary>PyTorch's default bucket size, 25 MiB.</summary>
    public const long DefaultBucketCapBytes = 25L * 1024 * 1024;

    private static readonly ConcurrentDictionary<long, WeakReference<DdpGradientSync>> s_live = new();
    private static long s_nextId;

    private readonly nn.Module _module;
    private readonly ProcessGroup? _group;
    private readonly long _id;

    /// <summary>
    /// Prepares synchronisation of <paramref name="module"/>'s parameters over <paramref name="group"/> (the default
    /// group when null). With <paramref name="broadcastAtStart"/>, rank 0's parameters and buffers are copied to every
    /// rank now, so all replicas start equal whatever their initialisation.
    /// </summary>
    public DdpGradientSync(nn.Module module, ProcessGroup? group = null, long bucketCapBytes = DefaultBucketCapBytes,
        bool broadcastAtStart = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (bucketCapBytes <= 0) throw new ArgumentOutOfRangeException(nameof(bucketCapBytes), bucketCapBytes, "the bucket size must be positive");
        _module = module;
        _group = group;
        BucketCapBytes = bucketCapBytes;
        _ = Group; // fails now, not at the first step, when no process group exists
        if (broadcastAtStart) BroadcastParameters(module, 0, group);
        _id = Interlocked.Increment(ref s_nextId);
        s_live[_id] = new WeakReference<DdpGradientSync>(this);
    }

    /// <summary>Drops the registration used by backward hooks that may still hold this object's id.</summary>
    ~DdpGradientSync() => s_live.TryRemove(_id, out _);

    /// <summary>The exception of the last reduction that failed inside a backward pass (its message is also that of
    /// the <see cref="TorchException"/> thrown by <c>backward()</c>).</summary>
    public Exception? LastBackwardError { get; private set; }

    /// <summary>
    /// Arms the reduction for the next backward pass through <paramref name="output"/> (a forward result that requires
    /// grad): when that backward has accumulated every gradient, <see cref="AllReduceGradients()"/> runs inside it, so
    /// <c>loss.backward()</c> returns with averaged gradients, as with PyTorch's DDP. A failure in the reduction makes
    /// <c>backward()</c> throw <see cref="TorchException"/> with its message.
    /// </summary>
    public unsafe void PrepareForBackward(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Native.Check(NativeMethods.fs_dist_hook_backward_end(output.NativeHandle, &OnBackwardEnd, _id));
        GC.KeepAlive(output);
    }

    [UnmanagedCallersOnly]
    private static unsafe int OnBackwardEnd(long id, byte* message, int capacity)
    {
        try
        {
            if (!s_live.TryGetValue(id, out var weak) || !weak.TryGetTarget(out var sync))
                throw new InvalidOperationException("the DdpGradientSync armed for this backward pass no longer exists");
            try
            {
                sync.AllReduceGradients();
                sync.LastBackwardError = null;
            }
            catch (Exception e)
            {
                sync.LastBackwardError = e;
                throw;
            }
            return 0;
        }
        catch (Exception e)
        {
            var text = "gradient all-reduce after backward failed: " + e.Message;
            var bytes = Encoding.UTF8.GetBytes(text);
            int n = Math.Min(bytes.Length, capacity - 1);
            if (n > 0) new ReadOnlySpan<byte>(bytes, 0, n).CopyTo(new Span<byte>(message, capacity));
            message[Math.Max(n, 0)] = 0;
            return 1;
        }
    }

    /// <summary>The largest bucket in bytes (a single larger gradient gets a bucket of its own).</summary>
    public long BucketCapBytes { get; }

    /// <summary>The process group the gradients are reduced over.</summary>
    public ProcessGroup Group => _group ?? get_default_group();

    /// <summary>How many buckets the last <see cref="AllReduceGradients()"/> sent.</summary>
    public int LastBucketCount { get; private set; }

    /// <summary>Copies rank <paramref name="src"/>'s parameters and buffers into this rank's module (one broadcast per dtype).</summary>
    public static void BroadcastParameters(nn.Module module, int src = 0, ProcessGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var tensors = module.parameters().Cast<Tensor>().Concat(module.buffers()).ToList();
        broadcast_coalesced(tensors, src, group);
    }

    /// <summary>Copies rank 0's buffers (batch-norm running statistics) to every rank, as PyTorch's DDP does before each forward.</summary>
    public void BroadcastBuffers()
    {
        var buffers = _module.buffers().ToList();
        if (buffers.Count > 0) broadcast_coalesced(buffers, 0, _group);
    }

    /// <summary>Averages every parameter's gradient over the ranks, in place, bucket by bucket.</summary>
    public void AllReduceGradients() => LastBucketCount = AllReduceGradients(_module, _group, BucketCapBytes);

    /// <summary>
    /// Averages <paramref name="module"/>'s gradients over the ranks of <paramref name="group"/> in buckets of about
    /// <paramref name="bucketCapBytes"/>; returns how many buckets were sent. Every rank must call it at the same
    /// point with the same module structure.
    /// </summary>
    public static int AllReduceGradients(nn.Module module, ProcessGroup? group = null, long bucketCapBytes = DefaultBucketCapBytes)
    {
        ArgumentNullException.ThrowIfNull(module);
        var g = group ?? get_default_group();
        var parameters = module.parameters().Where(p => p.requires_grad).ToList();
        if (parameters.Count == 0) return 0;

        var grads = new Tensor?[parameters.Count];
        var created = new List<Tensor>();
        try
        {
            for (int i = 0; i < parameters.Count; i++) grads[i] = parameters[i].grad;

            // Which parameters have a gradient on some rank: the buckets must be the same everywhere.
            var present = new int[parameters.Count];
            for (int i = 0; i < present.Length; i++) present[i] = grads[i] is null ? 0 : 1;
            // NCCL reduces device tensors only: the counts travel on the parameters' device there.
            var countsDevice = g.Backend == Backend.NCCL ? parameters[0].device : null;
            using (var counts = tensor(present, device: countsDevice))
            {
                all_reduce(counts, ReduceOp.SUM, g);
                present = counts.ToArray<int>();
            }
            for (int i = 0; i < parameters.Count; i++)
            {
                if (present[i] == 0 || grads[i] is not null) continue;
                var zero = zeros_like(parameters[i]);
                created.Add(zero);
                parameters[i].grad = zero;
                grads[i] = parameters[i].grad;
            }

            int buckets = 0;
            foreach (var bucket in Buckets(parameters, present, bucketCapBytes))
            {
                all_reduce_coalesced(bucket.Select(i => grads[i]!).ToList(), ReduceOp.AVG, g);
                buckets++;
            }
            return buckets;
        }
        finally
        {
            foreach (var t in grads) t?.Dispose();
            foreach (var t in created) t.Dispose();
        }
    }

    /// <summary>
    /// Groups parameter indices into buckets: reverse registration order, one dtype and device per bucket, a new bucket
    /// when adding the next gradient would pass <paramref name="capBytes"/>. Only parameters with
    /// <paramref name="present"/> non-zero take part.
    /// </summary>
    internal static List<List<int>> Buckets(IReadOnlyList<nn.Parameter> parameters, IReadOnlyList<int> present, long capBytes)
    {
        var buckets = new List<List<int>>();
        var open = new Dictionary<(ScalarType, Device), (List<int> Members, long Bytes)>();
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            if (present[i] == 0) continue;
            var p = parameters[i];
            var key = (p.dtype, p.device);
            long bytes = p.numel() * p.element_size();
            if (open.TryGetValue(key, out var current) && current.Bytes + bytes > capBytes && current.Members.Count > 0)
                open.Remove(key);
            if (!open.TryGetValue(key, out current))
            {
                current = (new List<int>(), 0);
                buckets.Add(current.Members);
            }
            current.Members.Add(i);
            open[key] = (current.Members, current.Bytes + bytes);
        }
        return buckets;
    }
}
