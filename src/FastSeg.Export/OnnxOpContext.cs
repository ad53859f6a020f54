using FastSeg.Export.Onnx.Proto;
using FastSeg.Torch.Tracing;
using Google.Protobuf;
using static FastSeg.Torch.torch;

namespace FastSeg.Export;

/// <summary>
/// What one entry of the mapping table sees: the recorded call's arguments (with the schema's defaults for arguments
/// left out), its results, and helpers to emit ONNX nodes and constants.
/// </summary>
internal sealed class OnnxOpContext
{
    private readonly OnnxGraphBuilder _builder;

    public OnnxOpContext(OnnxGraphBuilder builder, RecordedOp op)
    {
        _builder = builder;
        Op = op;
    }

    public RecordedOp Op { get; }

    public bool Dynamic => _builder.Options.DynamicHeightWidth;

    public OnnxGraphBuilder Builder => _builder;

    private RecordedArgument? Arg(int index) =>
        index < Op.Arguments.Count && Op.Arguments[index].Kind != RecordedArgumentKind.Default ? Op.Arguments[index] : null;

    public bool IsNone(int index) => Arg(index) is null or { Kind: RecordedArgumentKind.None };

    /// <summary>The graph value of tensor argument <paramref name="index"/>.</summary>
    public string In(int index) => _builder.ValueOf(Tensor(index));

    public Tensor Tensor(int index) =>
        Arg(index) is { Kind: RecordedArgumentKind.Tensor } a ? a.Tensor! : throw Unsupported($"argument {index} is not a tensor");

    public long[] Shape(int index) => Tensor(index).shape;

    public int Rank(int index) => Shape(index).Length;

    /// <summary>The graph values of a tensor-list argument.</summary>
    public string[] InList(int index) =>
        Arg(index) is { Kind: RecordedArgumentKind.Tensors } a
            ? a.Tensors.Select(t => _builder.ValueOf(t ?? throw Unsupported($"argument {index} holds None"))).ToArray()
            : throw Unsupported($"argument {index} is not a tensor list");

    public IReadOnlyList<Tensor?> TensorList(int index) =>
        Arg(index) is { Kind: RecordedArgumentKind.Tensors } a ? a.Tensors : throw Unsupported($"argument {index} is not a tensor list");

    public long Int(int index, long defaultValue) => Arg(index) switch
    {
        null or { Kind: RecordedArgumentKind.None } => defaultValue,
        { Kind: RecordedArgumentKind.Int or RecordedArgumentKind.Bool } a => a.Int,
        { Kind: RecordedArgumentKind.Double } a => (long)a.Double,
        _ => throw Unsupported($"argument {index} is not an integer"),
    };

    public long? OptionalInt(int index) => IsNone(index) ? null : Int(index, 0);

    public double Double(int index, double defaultValue) => Arg(index) switch
    {
        null or { Kind: RecordedArgumentKind.None } => defaultValue,
        { Kind: RecordedArgumentKind.Double } a => a.Double,
        { Kind: RecordedArgumentKind.Int or RecordedArgumentKind.Bool } a => a.Int,
        _ => throw Unsupported($"argument {index} is not a number"),
    };

    public bool Bool(int index, bool defaultValue) => Int(index, defaultValue ? 1 : 0) != 0;

    public string String(int index, string defaultValue) =>
        Arg(index) is { Kind: RecordedArgumentKind.String } a ? a.String! : defaultValue;

    /// <summary>An int list argument; a single int stands for itself repeated <paramref name="expand"/> times.</summary>
    public long[] Ints(int index, long[] defaultValue, int expand = 0)
    {
        var values = Arg(index) switch
        {
            null or { Kind: RecordedArgumentKind.None } => defaultValue,
            { Kind: RecordedArgumentKind.Ints or RecordedArgumentKind.Bools } a => a.Ints.ToArray(),
            { Kind: RecordedArgumentKind.Int } a => [a.Int],
            _ => throw Unsupported($"argument {index} is not an int list"),
        };
        if (expand > 0 && values.Length == 1) values = Enumerable.Repeat(values[0], expand).ToArray();
        return values;
    }

    public double[]? Doubles(int index) => Arg(index) switch
    {
        null or { Kind: RecordedArgumentKind.None } => null,
        { Kind: RecordedArgumentKind.Doubles } a => a.Doubles.ToArray(),
        _ => throw Unsupported($"argument {index} is not a float list"),
    };

    /// <summary>Result <paramref name="index"/> as a tensor.</summary>
    public Tensor Result(int index = 0) =>
        Op.Results[index] is { Kind: RecordedArgumentKind.Tensor } r ? r.Tensor! : throw Unsupported($"result {index} is not a tensor");

    /// <summary>Binds result <paramref name="index"/> to a new graph value.</summary>
    public string Out(int index = 0) => _builder.Bind(Result(index), "t");

    /// <summary>Binds every tensor of a tensor-list result.</summary>
    public string[] OutList(int index = 0) =>
        Op.Results[index] is { Kind: RecordedArgumentKind.Tensors } r
            ? r.Tensors.Select(t => _builder.Bind(t!, "t")).ToArray()
            : throw Unsupported($"result {index} is not a tensor list");

    public string Temp() => _builder.NewName("tmp");

    /// <summary>Emits one node with one output and returns that output.</summary>
    public string Node(string opType, string[] inputs, params (string Name, object Value)[] attributes) =>
        Node(opType, inputs, [Temp()], attributes)[0];

    /// <summary>Emits one node writing <paramref name="outputs"/>.</summary>
    public string[] Node(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = _builder.AddNode(opType, inputs, outputs, $"{Op.FullName} in {OnnxGraphBuilder.DescribePath(Op.ModulePath)}");
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        return outputs;
    }

    /// <summary>Emits a node whose single output is result 0 of the call.</summary>
    public void Emit(string opType, string[] inputs, params (string Name, object Value)[] attributes) =>
        Node(opType, inputs, [Out()], attributes);

    public string Ints64(params long[] values) => _builder.ConstInt64(values);

    public string Scalar(double value) => _builder.ConstFloat([(float)value]);

    /// <summary>The value of a Scalar argument as a float constant.</summary>
    public string ScalarArg(int index, double defaultValue = 0) => Scalar(Double(index, defaultValue));

    /// <summary>(N, C) of <paramref name="value"/> followed by the run-time (H, W) of <paramref name="spatialSource"/>.</summary>
    public string SizesFrom(string value, string spatialSource)
    {
        var head = Node("Shape", [value], ("start", 0L), ("end", 2L));
        var tail = Node("Shape", [spatialSource], ("start", 2L), ("end", 4L));
        return Node("Concat", [head, tail], ("axis", 0L));
    }

    /// <summary>Normalizes a possibly negative dimension index for a tensor of rank <paramref name="rank"/>.</summary>
    public static long Axis(long dim, int rank) => dim < 0 ? dim + rank : dim;

    public OnnxExportException Unsupported(string why) =>
        new($"cannot export '{Op.FullName}' (called by module '{OnnxGraphBuilder.DescribePath(Op.ModulePath)}'): {why}; no file was written",
            Op.FullName, Op.ModulePath);

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case long i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.Add(ints); break;
            case float[] floats: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.Add(floats); break;
            default: throw new ArgumentException($"attribute '{name}' has an unsupported type {value.GetType()}", nameof(value));
        }
        return a;
    }
}
