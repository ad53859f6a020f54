using System.Diagnostics;
using FastSeg.Torch.Interop;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Profiling;

/// <summary>
/// Wall-clock time spent in each operator called through the dispatcher on this thread while the profile is open,
/// keyed by the operator's full name and the dtype and layout of its first tensor argument (so a bfloat16 or
/// channels-last call that falls to a slow kernel shows up apart from the fast ones). Time is measured around the
/// native call and so includes libtorch's own intra-op threads; time outside the dispatcher (managed code, tensor
/// metadata reads) is not attributed to any operator. Profiles do not nest.
/// </summary>
public sealed class OperatorProfile : IDisposable
{
    [ThreadStatic] private static OperatorProfile? t_current;

    private readonly Dictionary<(string Op, string Input), (long Calls, long Ticks)> _totals = new();
    private (string, string) _pendingKey;
    private bool _disposed;

    private OperatorProfile() { }

    internal static OperatorProfile? Current => t_current;

    /// <summary>Starts profiling the operators called on this thread; dispose to stop.</summary>
    /// <exception cref="InvalidOperationException">A profile is already open on this thread.</exception>
    public static OperatorProfile Start()
    {
        if (t_current is not null) throw new InvalidOperationException("an operator profile is already open on this thread");
        var profile = new OperatorProfile();
        t_current = profile;
        return profile;
    }

    /// <summary>One operator and input kind.</summary>
    /// <param name="Operator">The full operator name, e.g. <c>aten::conv2d</c>.</param>
    /// <param name="Input">The first tensor argument's dtype and layout, e.g. <c>BFloat16 channels-last</c> (empty when it takes none).</param>
    /// <param name="Calls">How many calls were made.</param>
    /// <param name="TotalMilliseconds">Their total wall-clock time.</param>
    public sealed record Row(string Operator, string Input, long Calls, double TotalMilliseconds);

    /// <summary>Every operator seen, most time first.</summary>
    public IReadOnlyList<Row> Rows =>
        _totals.Select(kv => new Row(kv.Key.Op, kv.Key.Input, kv.Value.Calls, kv.Value.Ticks * 1000.0 / Stopwatch.Frequency))
            .OrderByDescending(r => r.TotalMilliseconds).ThenBy(r => r.Operator, StringComparer.Ordinal).ToList();

    /// <summary>Forgets everything recorded so far (e.g. after warm-up runs).</summary>
    public void Reset() => _totals.Clear();

    internal long Begin(AtenOp op, ReadOnlySpan<FsValue> args)
    {
        string input = "";
        foreach (var v in args)
        {
            if (v.Kind != ValueKind.Tensor || v.Ptr == IntPtr.Zero) continue;
            input = Describe(v.Ptr);
            break;
        }
        _pendingKey = (op.FullName, input);
        return Stopwatch.GetTimestamp();
    }

    internal void End(long start)
    {
        long elapsed = Stopwatch.GetTimestamp() - start;
        _totals.TryGetValue(_pendingKey, out var sum);
        _totals[_pendingKey] = (sum.Calls + 1, sum.Ticks + elapsed);
    }

    private static string Describe(IntPtr tensor)
    {
        if (NativeMethods.fs_tensor_info_get(tensor, out var info) != 0 || info.Defined == 0) return "";
        string layout = "";
        if (info.NDim == 4)
        {
            NativeMethods.fs_tensor_is_contiguous(tensor, (int)MemoryFormat.ChannelsLast, out int channelsLast);
            NativeMethods.fs_tensor_is_contiguous(tensor, (int)MemoryFormat.Contiguous, out int contiguous);
            layout = contiguous != 0 ? " contiguous" : channelsLast != 0 ? " channels-last" : " strided";
        }
        return ((ScalarType)info.DType) + layout;
    }

    /// <summary>Stops profiling; the rows stay readable.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (ReferenceEquals(t_current, this)) t_current = null;
    }
}
