using System.Globalization;
using System.Runtime.InteropServices;
using FastSeg.Export.Onnx.Proto;
using FastSeg.Torch;
using FastSeg.Torch.Tracing;
using Google.Protobuf;
using static FastSeg.Torch.torch;

namespace FastSeg.Export;

/// <summary>
/// Turns a recorded forward pass into an ONNX graph: names values by tensor identity, makes initializers of the
/// module's parameters and buffers (by their state-dict keys) and of constants, and emits nodes through the mapping
/// table. A call whose tensor arguments are all constant is not emitted: its results become constants.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph = new();
    private readonly Dictionary<long, string> _dynamic = new();        // tensor identity -> graph value name
    private readonly Dictionary<long, string> _stateKeys = new();      // identity of a parameter/buffer -> its key
    private readonly Dictionary<long, Tensor> _constants = new();      // identity -> value, for folded results
    private readonly Dictionary<long, string> _initializers = new();   // identity -> initializer name, once emitted
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<(long[] Shape, string Name)> _shapeSources = new();
    private int _counter;

    public OnnxGraphBuilder(OnnxExportOptions options, string inputName, Tensor input, nn.Module model)
    {
        Options = options;
        InputName = inputName;
        InputShapeAtTrace = input.shape;
        _dynamic[OpRecorder.Identity(input)] = inputName;
        _names.Add(inputName);
        _shapeSources.Add((input.shape, inputName));
        foreach (var (key, tensor) in model.state_dict()) _stateKeys.TryAdd(OpRecorder.Identity(tensor), key);
        foreach (var (key, tensor) in model.named_buffers()) _stateKeys.TryAdd(OpRecorder.Identity(tensor), key);
        foreach (var (key, tensor) in model.named_parameters()) _stateKeys.TryAdd(OpRecorder.Identity(tensor), key);
    }

    public OnnxExportOptions Options { get; }

    public string InputName { get; }

    public long[] InputShapeAtTrace { get; }

    public GraphProto Graph => _graph;

    public long InitializerElements { get; private set; }

    public bool IsDynamic(Tensor t) => _dynamic.ContainsKey(OpRecorder.Identity(t));

    /// <summary>Adds one recorded call to the graph: folds it when no argument depends on the input, maps it otherwise.</summary>
    public void Add(RecordedOp op)
    {
        bool dependsOnInput = op.Arguments.Any(a =>
            (a.Kind == RecordedArgumentKind.Tensor && IsDynamic(a.Tensor!)) ||
            (a.Kind == RecordedArgumentKind.Tensors && a.Tensors.Any(t => t is not null && IsDynamic(t))));
        if (!dependsOnInput)
        {
            foreach (var r in op.Results)
            {
                if (r.Kind == RecordedArgumentKind.Tensor) Fold(r.Tensor!);
                else if (r.Kind == RecordedArgumentKind.Tensors) foreach (var t in r.Tensors) if (t is not null) Fold(t);
            }
            return;
        }
        if (!AtenToOnnx.Table.TryGetValue(op.FullName, out var map))
            throw new OnnxExportException(
                $"the ATen operator '{op.FullName}' has no ONNX mapping (called by module '{DescribePath(op.ModulePath)}'); " +
                "no file was written", op.FullName, op.ModulePath);
        map(new OnnxOpContext(this, op));
    }

    private void Fold(Tensor t)
    {
        long id = OpRecorder.Identity(t);
        _dynamic.Remove(id);       // an in-place call on a constant leaves a constant
        _initializers.Remove(id);
        _constants[id] = t;
    }

    internal static string DescribePath(string path) => path.Length == 0 ? "<network>" : path;

    /// <summary>The graph value for a tensor argument: its producer's output, or an initializer for a constant.</summary>
    public string ValueOf(Tensor t)
    {
        long id = OpRecorder.Identity(t);
        if (_dynamic.TryGetValue(id, out var name)) return name;
        if (_initializers.TryGetValue(id, out name)) return name;
        name = _stateKeys.TryGetValue(id, out var key) ? Unique(key) : NewName("const");
        AddInitializer(name, _constants.GetValueOrDefault(id) ?? t);
        _initializers[id] = name;
        return name;
    }

    /// <summary>Binds a result tensor to a new graph value and returns that value's name.</summary>
    public string Bind(Tensor result, string prefix)
    {
        long id = OpRecorder.Identity(result);
        var name = NewName(prefix);
        _dynamic[id] = name;
        _initializers.Remove(id);
        _constants.Remove(id);
        _shapeSources.Add((result.shape, name));
        return name;
    }

    /// <summary>
    /// The most recent graph value (the graph input first) whose spatial size is <paramref name="height"/>×
    /// <paramref name="width"/> at trace time: with dynamic sizes, a size computed from a tensor's shape is taken from
    /// that value's shape at run time.
    /// </summary>
    public string? SpatialSource(long height, long width)
    {
        if (InputShapeAtTrace[2] == height && InputShapeAtTrace[3] == width) return InputName;
        for (int k = _shapeSources.Count - 1; k >= 0; k--)
        {
            var s = _shapeSources[k].Shape;
            if (s.Length == 4 && s[2] == height && s[3] == width) return _shapeSources[k].Name;
        }
        return null;
    }

    public string NewName(string prefix)
    {
        string name;
        do name = $"{prefix}_{_counter++}"; while (!_names.Add(name));
        return name;
    }

    private string Unique(string key) => _names.Add(key) ? key : NewName(key);

    public NodeProto AddNode(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string docString)
    {
        var node = new NodeProto { OpType = opType, Name = NewName(opType), DocString = docString };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        _graph.Node.Add(node);
        return node;
    }

    /// <summary>An int64 1-D constant.</summary>
    public string ConstInt64(params long[] values)
    {
        var name = NewName("ints");
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>An int64 scalar (rank 0) constant, e.g. a Gather index that drops the axis.</summary>
    public string ConstInt64Scalar(long value)
    {
        var name = NewName("index");
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.RawData = ByteString.CopyFrom(BitConverter.GetBytes(value));
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>A float constant of the given shape (rank 0 for a scalar).</summary>
    public string ConstFloat(float[] values, params long[] dims)
    {
        var name = NewName("float");
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.Add(dims);
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        _graph.Initializer.Add(proto);
        InitializerElements += values.Length;
        return name;
    }

    /// <summary>A constant holding <paramref name="t"/>'s values with another shape (e.g. a PReLU slope as C×1×1).</summary>
    public string ConstReshaped(Tensor t, long[] dims)
    {
        var name = NewName("const");
        AddInitializer(name, t, dims);
        return name;
    }

    private void AddInitializer(string name, Tensor t, long[]? dims = null)
    {
        var proto = new TensorProto { Name = name };
        proto.Dims.Add(dims ?? t.shape);
        using var scope = NewDisposeScope();
        var c = t.detach().to(new Device(DeviceType.CPU)).contiguous();
        switch (t.dtype)
        {
            case ScalarType.Float32:
                proto.DataType = (int)TensorProto.Types.DataType.Float;
                proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(c.ToArray<float>().AsSpan()));
                break;
            case ScalarType.Float64:
                proto.DataType = (int)TensorProto.Types.DataType.Float;
                proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(c.to(ScalarType.Float32).ToArray<float>().AsSpan()));
                break;
            case ScalarType.Int64:
                proto.DataType = (int)TensorProto.Types.DataType.Int64;
                proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(c.ToArray<long>().AsSpan()));
                break;
            case ScalarType.Int32:
                proto.DataType = (int)TensorProto.Types.DataType.Int32;
                proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(c.ToArray<int>().AsSpan()));
                break;
            case ScalarType.Bool:
                proto.DataType = (int)TensorProto.Types.DataType.Bool;
                proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(c.ToArray<bool>().AsSpan()));
                break;
            default:
                throw new OnnxExportException($"a constant of type {t.dtype} ('{name}') cannot be exported: FastSeg writes float32 graphs; convert the model with .to(ScalarType.Float32)");
        }
        InitializerElements += t.numel();
        _graph.Initializer.Add(proto);
    }

    public static ValueInfoProto FloatValueInfo(string name, long[] shape, IReadOnlyDictionary<int, string>? symbolic)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        for (int k = 0; k < shape.Length; k++)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (symbolic is not null && symbolic.TryGetValue(k, out var param)) dim.DimParam = param;
            else dim.DimValue = shape[k];
            tensorType.Shape.Dim.Add(dim);
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }

    internal static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
