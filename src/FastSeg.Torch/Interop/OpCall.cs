using FastSeg.Torch.Profiling;
using static FastSeg.Torch.torch;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FastSeg.Torch.Interop;

/// <summary>
/// Builds the boxed argument list of one ATen call on the stack and runs it. Typed wrappers in the public API use it
/// like this: <c>var c = new OpCall(op); c.Tensor(self); c.Scalar(other); return c.InvokeTensor();</c>.
/// Arguments left out at the end take the schema's defaults.
/// </summary>
internal unsafe ref struct OpCall
{
    private const int MaxArgs = 16;
    private const int MaxKeepAlive = 8;

    [InlineArray(MaxArgs)]
    private struct ArgBuffer { private FsValue _first; }

    [InlineArray(MaxKeepAlive)]
    private struct KeepAliveBuffer { private object? _first; }

    private readonly AtenOp _op;
    private readonly int _arenaMark;
    private ArgBuffer _args;
    private KeepAliveBuffer _keep;
    private List<object>? _keepMore;
    private List<IntPtr>? _ownAllocations;
    private int _count;
    private int _keepCount;

    public OpCall(AtenOp op)
    {
        _op = op;
        _arenaMark = ArgArena.Mark;
    }

    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    private ref FsValue Next(ValueKind kind)
    {
        if (_count == MaxArgs) throw new InvalidOperationException($"{_op}: more than {MaxArgs} arguments");
        ref FsValue v = ref _args[_count++];
        v = default;
        v.Kind = kind;
        return ref v;
    }

    // Holds a managed object until the native call returns, so a tensor whose last use was building this call cannot
    // be finalized (and its native handle freed) while libtorch is reading it.
    private void Keep(object o)
    {
        if (_keepCount < MaxKeepAlive) _keep[_keepCount++] = o;
        else (_keepMore ??= new List<object>()).Add(o);
    }

    private void* Alloc(int bytes)
    {
        void* p = ArgArena.TryAlloc(bytes);
        if (p != null) return p;
        p = NativeMemory.Alloc((nuint)Math.Max(bytes, 1));
        (_ownAllocations ??= new List<IntPtr>()).Add((IntPtr)p);
        return p;
    }

    public void Tensor(Tensor t)
    {
        ref var v = ref Next(ValueKind.Tensor);
        v.Ptr = t.NativeHandle;
        Keep(t);
    }

    /// <summary>An optional tensor argument: null passes None.</summary>
    public void OptionalTensor(Tensor? t)
    {
        if (t is null) Next(ValueKind.None);
        else Tensor(t);
    }

    /// <summary>A custom-class object argument (e.g. a prepacked convolution context).</summary>
    public void Object(ScriptObject o)
    {
        ref var v = ref Next(ValueKind.Object);
        v.Ptr = o.NativeHandle;
        Keep(o);
    }

    public void Int(long value) => Next(ValueKind.Int).I = value;

    public void OptionalInt(long? value)
    {
        if (value is null) Next(ValueKind.None);
        else Int(value.Value);
    }

    public void Double(double value) => Next(ValueKind.Double).D = value;

    public void OptionalDouble(double? value)
    {
        if (value is null) Next(ValueKind.None);
        else Double(value.Value);
    }

    public void Bool(bool value) => Next(ValueKind.Bool).I = value ? 1 : 0;

    public void None() => Next(ValueKind.None);

    /// <summary>Takes the schema's default for this position (to skip an argument and set a later one).</summary>
    public void Default() => Next(ValueKind.Default);

    public void Scalar(Scalar s)
    {
        switch (s.Kind)
        {
            case ScalarKind.Integer: Next(ValueKind.Int).I = s.IntValue; break;
            case ScalarKind.Boolean: Next(ValueKind.Bool).I = s.IntValue; break;
            default: Next(ValueKind.Double).D = s.DoubleValue; break;
        }
    }

    public void OptionalScalar(Scalar? s)
    {
        if (s is null) Next(ValueKind.None);
        else Scalar(s.Value);
    }

    public void DType(ScalarType type) => Next(ValueKind.Int).I = (long)type;

    public void OptionalDType(ScalarType? type)
    {
        if (type is null) Next(ValueKind.None);
        else DType(type.Value);
    }

    public void Device(Device device)
    {
        ref var v = ref Next(ValueKind.Device);
        v.I = (long)device.type;
        v.Count = device.index;
    }

    public void OptionalDevice(Device? device)
    {
        if (device is null) Next(ValueKind.None);
        else Device(device);
    }

    public void Ints(ReadOnlySpan<long> values)
    {
        var p = (long*)Alloc(values.Length * sizeof(long));
        values.CopyTo(new Span<long>(p, values.Length));
        ref var v = ref Next(ValueKind.IntList);
        v.Ptr = (IntPtr)p;
        v.Count = values.Length;
    }

    public void OptionalInts(long[]? values)
    {
        if (values is null) Next(ValueKind.None);
        else Ints(values);
    }

    public void Doubles(ReadOnlySpan<double> values)
    {
        var p = (double*)Alloc(values.Length * sizeof(double));
        values.CopyTo(new Span<double>(p, values.Length));
        ref var v = ref Next(ValueKind.DoubleList);
        v.Ptr = (IntPtr)p;
        v.Count = values.Length;
    }

    public void OptionalDoubles(double[]? values)
    {
        if (values is null) Next(ValueKind.None);
        else Doubles(values);
    }

    /// <summary>A <c>Tensor[]</c> or <c>Tensor?[]</c> argument; null entries mean None (allowed only for the latter).</summary>
    public void Tensors(IReadOnlyList<Tensor?> tensors)
    {
        var p = (IntPtr*)Alloc(tensors.Count * sizeof(IntPtr));
        for (int k = 0; k < tensors.Count; k++) p[k] = tensors[k]?.NativeHandle ?? IntPtr.Zero;
        ref var v = ref Next(ValueKind.TensorList);
        v.Ptr = (IntPtr)p;
        v.Count = tensors.Count;
        Keep(tensors);
    }

    public void String(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)Alloc(n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        Next(ValueKind.String).Ptr = (IntPtr)p;
    }

    /// <summary>Runs the operator. Results stay readable through the returned view until the next call on this thread.</summary>
    public OpResults Invoke()
    {
        var results = OpResults.Buffer;
        int status, n;
        nn.NonNegativeOutput.Clear(); // any operator may write a tensor a fused convolution marked
        try
        {
            fixed (FsValue* args = &_args[0])
            fixed (FsValue* res = results)
            {
                if (OperatorProfile.Current is { } profile)
                {
                    long start = profile.Begin(_op, new ReadOnlySpan<FsValue>(args, _count));
                    status = NativeMethods.fs_op_call(_op.Handle, args, _count, res, results.Length, out n);
                    profile.End(start);
                }
                else
                {
                    status = NativeMethods.fs_op_call(_op.Handle, args, _count, res, results.Length, out n);
                }
                // The recorder reads list arguments from the arena, so it runs before the arena is reset.
                if (status == 0 && Tracing.OpRecorder.IsActive) Tracing.OpRecorder.OnCall(_op, args, _count, results, n);
                // Recorded before the argument arena is reset, while tensor-list arguments are still readable.
                if (status == 0 && OpTrace.Current is { } trace)
                    trace.Record(_op, new ReadOnlySpan<FsValue>(args, _count), new ReadOnlySpan<FsValue>(res, n));
            }
        }
        finally
        {
            for (int k = 0; k < _keepCount; k++) GC.KeepAlive(_keep[k]);
            GC.KeepAlive(_keepMore);
            ArgArena.Reset(_arenaMark);
            if (_ownAllocations != null)
                foreach (var p in _ownAllocations) NativeMemory.Free((void*)p);
        }
        if (status != 0) throw new TorchException(Native.LastError());
        return new OpResults(results, n, _op);
    }

    /// <summary>Runs an operator that returns one tensor.</summary>
    public Tensor InvokeTensor() => Invoke().SingleTensor();

    /// <summary>Runs an in-place operator: the alias it returns is released and <paramref name="self"/> is returned.</summary>
    public Tensor InvokeInPlace(Tensor self)
    {
        Invoke().ReleaseAll();
        return self;
    }
}

/// <summary>The flattened results of one <see cref="OpCall"/>, read from the per-thread result buffer.</summary>
internal readonly ref struct OpResults
{
    private const int Capacity = 4096;

    [ThreadStatic] private static FsValue[]? t_buffer;

    internal static FsValue[] Buffer => t_buffer ??= GC.AllocateArray<FsValue>(Capacity, pinned: true);

    private readonly FsValue[] _values;
    private readonly AtenOp _op;

    internal OpResults(FsValue[] values, int count, AtenOp op)
    {
        _values = values;
        Count = count;
        _op = op;
    }

    public int Count { get; }

    public ref readonly FsValue this[int index] => ref _values[index];

    private Exception Unexpected(string wanted) =>
        new InvalidOperationException($"{_op}: expected {wanted} but the operator returned {Count} value(s)");

    /// <summary>Wraps the tensor at <paramref name="index"/>; undefined tensors become null.</summary>
    public Tensor? TensorAt(int index)
    {
        ref readonly var v = ref _values[index];
        if (v.Kind != ValueKind.Tensor) throw Unexpected("a tensor at position " + index);
        return v.Ptr == IntPtr.Zero ? null : new Tensor(v.Ptr);
    }

    public Tensor SingleTensor()
    {
        if (Count != 1 || _values[0].Kind != ValueKind.Tensor || _values[0].Ptr == IntPtr.Zero)
        {
            ReleaseAll();
            throw Unexpected("one tensor");
        }
        return new Tensor(_values[0].Ptr);
    }

    /// <summary>Wraps the single custom-class object the operator returned.</summary>
    public ScriptObject SingleObject()
    {
        if (Count != 1 || _values[0].Kind != ValueKind.Object || _values[0].Ptr == IntPtr.Zero)
        {
            ReleaseAll();
            throw Unexpected("one custom-class object");
        }
        return new ScriptObject(_values[0].Ptr);
    }

    public (Tensor, Tensor) TwoTensors()
    {
        if (Count != 2) { ReleaseAll(); throw Unexpected("two tensors"); }
        return (TensorAt(0)!, TensorAt(1)!);
    }

    /// <summary>Reads a tensor list result (a header followed by its entries).</summary>
    public Tensor[] TensorList()
    {
        if (Count < 1 || _values[0].Kind != ValueKind.TensorList) { ReleaseAll(); throw Unexpected("a tensor list"); }
        var list = new Tensor[_values[0].Count];
        for (int k = 0; k < list.Length; k++) list[k] = new Tensor(_values[k + 1].Ptr);
        return list;
    }

    public long Int() => Count == 1 && _values[0].Kind == ValueKind.Int ? _values[0].I : throw Unexpected("an int");

    public double Double() => Count == 1 && _values[0].Kind == ValueKind.Double
        ? _values[0].D
        : throw Unexpected("a double");

    public bool Bool() => Count == 1 && _values[0].Kind == ValueKind.Bool ? _values[0].I != 0 : throw Unexpected("a bool");

    /// <summary>Frees every tensor and object handle in the results (used for in-place ops and on errors).</summary>
    public void ReleaseAll()
    {
        for (int k = 0; k < Count; k++)
        {
            if (_values[k].Ptr == IntPtr.Zero) continue;
            if (_values[k].Kind == ValueKind.Tensor) NativeMethods.fs_tensor_free(_values[k].Ptr);
            else if (_values[k].Kind == ValueKind.Object) NativeMethods.fs_object_free(_values[k].Ptr);
        }
    }
}
