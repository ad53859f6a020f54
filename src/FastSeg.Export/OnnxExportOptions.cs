namespace FastSeg.Export;

/// <summary>How <see cref="OnnxExporter"/> writes a network.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>The input the forward pass is recorded with, (N, C, H, W); the default is one 3×512×1024 image.</summary>
    public long[] InputShape { get; init; } = [1, 3, 512, 1024];

    /// <summary>
    /// Whether the file accepts other heights and widths than <see cref="InputShape"/> (symbolic dimensions "height" and
    /// "width"; sizes computed inside the network come from the input's shape). Inputs must still be multiples of the
    /// network's input multiple.
    /// </summary>
    public bool DynamicHeightWidth { get; init; }

    /// <summary>The ONNX operator-set version of the default domain: 15, 16 or 17.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>
    /// Whether a zoo network is exported in its float32 inference form (<c>SegmentationModel.ForInference</c>): batch
    /// norms that follow a convolution are folded into its weight and bias, so the graph has no BatchNormalization
    /// there. The weights keep the network's state-dict names. Other modules are exported as built. Default true.
    /// </summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>The graph input's name.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The graph output's name.</summary>
    public string OutputName { get; init; } = "logits";

    /// <summary>The lowest and highest supported <see cref="Opset"/>.</summary>
    public const int MinOpset = 15, MaxOpset = 17;
}

/// <summary>What an export wrote.</summary>
public sealed class OnnxExportSummary
{
    internal OnnxExportSummary(string path, int nodes, int initializers, long parameters, IReadOnlyDictionary<string, int> operators, int recordedCalls)
    {
        Path = path;
        Nodes = nodes;
        Initializers = initializers;
        InitializerElements = parameters;
        OperatorCounts = operators;
        RecordedCalls = recordedCalls;
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <summary>ONNX nodes in the graph.</summary>
    public int Nodes { get; }

    /// <summary>Initializers (weights, buffers and constants).</summary>
    public int Initializers { get; }

    /// <summary>Elements in all initializers.</summary>
    public long InitializerElements { get; }

    /// <summary>Nodes per ONNX operator type.</summary>
    public IReadOnlyDictionary<string, int> OperatorCounts { get; }

    /// <summary>ATen calls recorded in the forward pass.</summary>
    public int RecordedCalls { get; }
}

/// <summary>An export that cannot be done: an ATen operator without an ONNX mapping, or arguments the mapping does not support.</summary>
public sealed class OnnxExportException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxExportException(string message, string? @operator = null, string? modulePath = null) : base(message)
    {
        Operator = @operator;
        ModulePath = modulePath;
    }

    /// <summary>The ATen operator at fault (e.g. <c>aten::grid_sampler</c>), when one is.</summary>
    public string? Operator { get; }

    /// <summary>The state-dict path of the module that called it ("" for the network itself).</summary>
    public string? ModulePath { get; }
}
