using FastSeg.Torch.Interop;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tracing;

/// <summary>The kind of one recorded operator argument.</summary>
public enum RecordedArgumentKind
{
    /// <summary>None (an absent optional).</summary>
    None,
    /// <summary>Left out: the schema's default applies.</summary>
    Default,
    /// <summary>A tensor.</summary>
    Tensor,
    /// <summary>An integer (also dtypes, layouts and memory formats).</summary>
    Int,
    /// <summary>A floating-point number.</summary>
    Double,
    /// <summary>A boolean.</summary>
    Bool,
    /// <summary>A list of integers.</summary>
    Ints,
    /// <summary>A list of floating-point numbers.</summary>
    Doubles,
    /// <summary>A list of booleans.</summary>
    Bools,
    /// <summary>A list of tensors (entries may be null for <c>Tensor?[]</c>).</summary>
    Tensors,
    /// <summary>A string.</summary>
    String,
    /// <summary>A device.</summary>
    Device,
}

/// <summary>One argument of a recorded operator call, as the caller boxed it.</summary>
public sealed class RecordedArgument
{
    internal RecordedArgument(RecordedArgumentKind kind) => Kind = kind;

    /// <summary>What the argument is.</summary>
    public RecordedArgumentKind Kind { get; }

    /// <summary>The tensor (kind Tensor): a reference the recorder keeps alive until it is disposed.</summary>
    public Tensor? Tensor { get; internal init; }

    /// <summary>The integer, or the boolean as 0/1, or the device type.</summary>
    public long Int { get; internal init; }

    /// <summary>The floating-point value.</summary>
    public double Double { get; internal init; }

    /// <summary>The integer list (kind Ints) or booleans as 0/1 (kind Bools).</summary>
    public IReadOnlyList<long> Ints { get; internal init; } = Array.Empty<long>();

    /// <summary>The floating-point list.</summary>
    public IReadOnlyList<double> Doubles { get; internal init; } = Array.Empty<double>();

    /// <summary>The tensor list (kind Tensors); null entries are None.</summary>
    public IReadOnlyList<Tensor?> Tensors { get; internal init; } = Array.Empty<Tensor?>();

    /// <summary>The string.</summary>
    public string? String { get; internal init; }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        RecordedArgumentKind.Tensor => "Tensor" + torch.Tensor.ShapeString(Tensor!.shape),
        RecordedArgumentKind.Int => Int.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RecordedArgumentKind.Double => Double.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RecordedArgumentKind.Bool => Int != 0 ? "true" : "false",
        RecordedArgumentKind.Ints or RecordedArgumentKind.Bools => "[" + string.Join(", ", Ints) + "]",
        RecordedArgumentKind.Doubles => "[" + string.Join(", ", Doubles) + "]",
        RecordedArgumentKind.Tensors => $"Tensor[{Tensors.Count}]",
        RecordedArgumentKind.String => "\"" + String + "\"",
        _ => Kind.ToString(),
    };
}

/// <summary>One operator call seen by an <see cref="OpRecorder"/>.</summary>
public sealed class RecordedOp
{
    internal RecordedOp(string name, string overload, IReadOnlyList<RecordedArgument> arguments,
                        IReadOnlyList<RecordedArgument> results, string modulePath)
    {
        Name = name;
        Overload = overload;
        Arguments = arguments;
        Results = results;
        ModulePath = modulePath;
    }

    /// <summary>The schema name, e.g. <c>aten::conv2d</c>.</summary>
    public string Name { get; }

    /// <summary>The overload name ("" for the default overload), e.g. <c>Tensor</c> for <c>aten::add.Tensor</c>.</summary>
    public string Overload { get; }

    /// <summary>Name and overload, e.g. <c>aten::add.Tensor</c>.</summary>
    public string FullName => Overload.Length == 0 ? Name : Name + "." + Overload;

    /// <summary>The arguments as passed; trailing arguments left out take the schema's defaults and are not listed.</summary>
    public IReadOnlyList<RecordedArgument> Arguments { get; }

    /// <summary>The results, flattened (a tensor list result is one entry of kind Tensors).</summary>
    public IReadOnlyList<RecordedArgument> Results { get; }

    /// <summary>
    /// The dotted path (as in the state dict) of the innermost module whose <c>call</c> was running, "" for the
    /// recorder's root module, or the module's type name when it is not below the root.
    /// </summary>
    public string ModulePath { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{FullName}({string.Join(", ", Arguments)}) -> ({string.Join(", ", Results)}) in '{ModulePath}'";
}

/// <summary>
/// Records every operator call made on this thread while it is active: operator name, arguments and results, and the
/// module that made the call. Every ATen call of the managed API goes through one dispatch path, so one forward pass
/// recorded this way is the network's whole graph. The recorder keeps a reference to each tensor it saw (so tensor
/// identities stay unique while it lives); dispose it to release them. Recorders do not nest.
/// </summary>
public sealed class OpRecorder : IDisposable
{
    [ThreadStatic] private static OpRecorder? t_current;

    private readonly List<RecordedOp> _ops = new();
    private readonly List<Tensor> _kept = new();
    private readonly List<nn.Module> _moduleStack = new();
    private readonly Dictionary<nn.Module, string> _modulePaths = new(ReferenceEqualityComparer.Instance);
    private bool _stopped;

    private OpRecorder(nn.Module? root)
    {
        if (root is not null)
            foreach (var (path, module) in root.named_modules())
                _modulePaths[module] = path;
    }

    /// <summary>
    /// Starts recording on this thread. <paramref name="root"/> names the modules in <see cref="RecordedOp.ModulePath"/>
    /// by their state-dict paths below it.
    /// </summary>
    /// <exception cref="InvalidOperationException">A recorder is already active on this thread.</exception>
    public static OpRecorder Start(nn.Module? root = null)
    {
        if (t_current is not null) throw new InvalidOperationException("an OpRecorder is already recording on this thread; recorders do not nest");
        var recorder = new OpRecorder(root);
        t_current = recorder;
        return recorder;
    }

    /// <summary>Whether a recorder is active on this thread.</summary>
    internal static bool IsActive => t_current is not null;

    /// <summary>The recorded calls, in call order.</summary>
    public IReadOnlyList<RecordedOp> Operations => _ops;

    /// <summary>
    /// A number that identifies the tensor's underlying TensorImpl: two tensor objects have the same identity exactly
    /// when they are the same tensor (an in-place operator's result has its input's identity). It is unique among
    /// tensors alive at the same time.
    /// </summary>
    public static long Identity(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Native.Check(NativeMethods.fs_tensor_identity(tensor.NativeHandle, out var id));
        return id;
    }

    /// <summary>Stops recording; the recorded calls stay readable until <see cref="Dispose"/>.</summary>
    public void Stop()
    {
        if (_stopped) return;
        _stopped = true;
        if (ReferenceEquals(t_current, this)) t_current = null;
    }

    /// <summary>Stops recording and releases every tensor reference the recorder holds.</summary>
    public void Dispose()
    {
        Stop();
        foreach (var t in _kept) t.Dispose();
        _kept.Clear();
    }

    // ---- hooks called by the dispatch path and Module.call ------------------------------------------------------

    internal static void EnterModule(nn.Module module) => t_current?._moduleStack.Add(module);

    internal static void ExitModule()
    {
        var stack = t_current?._moduleStack;
        if (stack is { Count: > 0 }) stack.RemoveAt(stack.Count - 1);
    }

    /// <summary>Called by <see cref="OpCall"/> after a successful call, before the argument memory is released.</summary>
    internal static unsafe void OnCall(AtenOp op, FsValue* args, int nargs, FsValue[] results, int nresults)
    {
        var recorder = t_current;
        if (recorder is null) return;
        // Taking aliases calls no operator, so recording cannot re-enter here.
        var arguments = new RecordedArgument[nargs];
        for (int k = 0; k < nargs; k++) arguments[k] = recorder.Capture(in args[k]);
        var outputs = new List<RecordedArgument>();
        for (int k = 0; k < nresults; k++)
        {
            ref readonly var v = ref results[k];
            if (v.Kind == ValueKind.TensorList)
            {
                var list = new Tensor?[v.Count];
                for (int j = 0; j < v.Count; j++) list[j] = recorder.Keep(results[k + 1 + j].Ptr);
                outputs.Add(new RecordedArgument(RecordedArgumentKind.Tensors) { Tensors = list });
                k += v.Count;
            }
            else outputs.Add(recorder.Capture(in v));
        }
        recorder._ops.Add(new RecordedOp(op.Name, op.Overload, arguments, outputs, recorder.CurrentModulePath()));
    }

    private string CurrentModulePath()
    {
        if (_moduleStack.Count == 0) return "";
        var module = _moduleStack[^1];
        return _modulePaths.TryGetValue(module, out var path) ? path : module.GetName();
    }

    private Tensor? Keep(IntPtr handle)
    {
        if (handle == IntPtr.Zero) return null;
        Native.Check(NativeMethods.fs_tensor_alias(handle, out var alias));
        var tensor = new Tensor(alias).DetachFromDisposeScope();
        _kept.Add(tensor);
        return tensor;
    }

    private unsafe RecordedArgument Capture(in FsValue v)
    {
        switch (v.Kind)
        {
            case ValueKind.Tensor:
                return v.Ptr == IntPtr.Zero
                    ? new RecordedArgument(RecordedArgumentKind.None)
                    : new RecordedArgument(RecordedArgumentKind.Tensor) { Tensor = Keep(v.Ptr) };
            case ValueKind.Int: return new RecordedArgument(RecordedArgumentKind.Int) { Int = v.I };
            case ValueKind.Bool: return new RecordedArgument(RecordedArgumentKind.Bool) { Int = v.I };
            case ValueKind.Double: return new RecordedArgument(RecordedArgumentKind.Double) { Double = v.D };
            case ValueKind.IntList:
                return new RecordedArgument(RecordedArgumentKind.Ints) { Ints = new ReadOnlySpan<long>((long*)v.Ptr, v.Count).ToArray() };
            case ValueKind.BoolList:
                return new RecordedArgument(RecordedArgumentKind.Bools) { Ints = new ReadOnlySpan<long>((long*)v.Ptr, v.Count).ToArray() };
            case ValueKind.DoubleList:
                return new RecordedArgument(RecordedArgumentKind.Doubles) { Doubles = new ReadOnlySpan<double>((double*)v.Ptr, v.Count).ToArray() };
            case ValueKind.TensorList:
            {
                var list = new Tensor?[v.Count];
                for (int j = 0; j < v.Count; j++) list[j] = Keep(((IntPtr*)v.Ptr)[j]);
                return new RecordedArgument(RecordedArgumentKind.Tensors) { Tensors = list };
            }
            case ValueKind.String:
                return new RecordedArgument(RecordedArgumentKind.String) { String = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(v.Ptr) };
            case ValueKind.Device: return new RecordedArgument(RecordedArgumentKind.Device) { Int = v.I };
            case ValueKind.Default: return new RecordedArgument(RecordedArgumentKind.Default);
            default: return new RecordedArgument(RecordedArgumentKind.None);
        }
    }
}
