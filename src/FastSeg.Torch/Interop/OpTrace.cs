namespace FastSeg.Torch.Interop;

/// <summary>
/// A record of every ATen call made on this thread while the trace is active: the operator, the native tensors it
/// read (with their argument positions) and wrote, and the innermost module whose <c>call</c> issued it. Tensors are
/// identified by their TensorImpl address, so aliases of one tensor are one tensor and a view is another; every
/// tensor seen is kept alive until the trace ends, so no address is reused for a different tensor while recording.
/// Inference transforms read it to find which operator's output feeds which (see <c>nn.utils.fold_batch_norms</c>).
/// </summary>
internal sealed class OpTrace : IDisposable
{
    [ThreadStatic] private static OpTrace? t_current;

    private readonly List<Entry> _entries = new();
    private readonly List<torch.nn.Module> _modules = new();
    private readonly Dictionary<IntPtr, IntPtr> _retained = new(); // TensorImpl address -> alias handle keeping it alive
    private bool _disposed;

    private OpTrace() { }

    /// <summary>The trace recording on this thread, or null (the common case: one thread-static read per call).</summary>
    internal static OpTrace? Current => t_current;

    /// <summary>One operator call.</summary>
    /// <param name="Op">The operator's full name, e.g. <c>aten::conv2d</c> or <c>aten::conv_transpose2d.input</c>.</param>
    /// <param name="Inputs">Tensor arguments: (argument position, TensorImpl); every element of a tensor list at the list's position.</param>
    /// <param name="Outputs">The TensorImpl of every tensor returned (an in-place operator returns its own input).</param>
    /// <param name="Caller">The innermost module whose <c>call</c> was running, or null.</param>
    internal sealed record Entry(string Op, (int Position, IntPtr Impl)[] Inputs, IntPtr[] Outputs, torch.nn.Module? Caller)
    {
        /// <summary>The tensor at argument <paramref name="position"/>, or zero when that argument was None or not a tensor.</summary>
        public IntPtr InputAt(int position)
        {
            foreach (var (p, impl) in Inputs)
                if (p == position) return impl;
            return IntPtr.Zero;
        }
    }

    /// <summary>The calls recorded so far, in order.</summary>
    internal IReadOnlyList<Entry> Entries => _entries;

    /// <summary>Starts recording on this thread; dispose the trace to stop. Traces do not nest.</summary>
    internal static OpTrace Start()
    {
        if (t_current is not null) throw new InvalidOperationException("an operator trace is already recording on this thread");
        var trace = new OpTrace();
        t_current = trace;
        return trace;
    }

    /// <summary>The TensorImpl address of <paramref name="tensor"/> (equal for aliases).</summary>
    internal static IntPtr ImplOf(torch.Tensor tensor)
    {
        Native.Check(NativeMethods.fs_tensor_identity(tensor.NativeHandle, out var identity));
        GC.KeepAlive(tensor);
        return (IntPtr)identity;
    }

    internal void EnterModule(torch.nn.Module module) => _modules.Add(module);

    internal void ExitModule() => _modules.RemoveAt(_modules.Count - 1);

    /// <summary>Records one successful call; <paramref name="results"/> are the native results, before they are wrapped.</summary>
    internal unsafe void Record(AtenOp op, ReadOnlySpan<FsValue> args, ReadOnlySpan<FsValue> results)
    {
        var inputs = new List<(int, IntPtr)>();
        for (int k = 0; k < args.Length; k++)
        {
            var v = args[k];
            if (v.Kind == ValueKind.Tensor && v.Ptr != IntPtr.Zero) inputs.Add((k, Keep(v.Ptr)));
            else if (v.Kind == ValueKind.TensorList)
            {
                var handles = (IntPtr*)v.Ptr;
                for (int j = 0; j < v.Count; j++)
                    if (handles[j] != IntPtr.Zero) inputs.Add((k, Keep(handles[j])));
            }
        }
        var outputs = new List<IntPtr>();
        foreach (var v in results)
            if (v.Kind == ValueKind.Tensor && v.Ptr != IntPtr.Zero) outputs.Add(Keep(v.Ptr));
        _entries.Add(new Entry(op.FullName, inputs.ToArray(), outputs.ToArray(), _modules.Count > 0 ? _modules[^1] : null));
    }

    private IntPtr Keep(IntPtr handle)
    {
        Native.Check(NativeMethods.fs_tensor_identity(handle, out var identity));
        var impl = (IntPtr)identity;
        if (!_retained.ContainsKey(impl))
        {
            Native.Check(NativeMethods.fs_tensor_alias(handle, out var alias));
            _retained[impl] = alias;
        }
        return impl;
    }

    /// <summary>Stops recording and releases the tensors the trace kept alive.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (ReferenceEquals(t_current, this)) t_current = null;
        foreach (var alias in _retained.Values) NativeMethods.fs_tensor_free(alias);
        _retained.Clear();
    }
}
