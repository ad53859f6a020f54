using System.Reflection;
using FastSeg.Export.Onnx.Proto;
using FastSeg.Models;
using FastSeg.Torch.Tracing;
using Google.Protobuf;
using static FastSeg.Torch.torch;

namespace FastSeg.Export;

/// <summary>
/// Writes a network to an ONNX file: one eval-mode forward pass is recorded at FastSeg's dispatch path, each ATen
/// call is mapped to ONNX operators (<c>AtenToOnnx</c>), and parameters and buffers become initializers named by their
/// state-dict keys. The file loads in ONNX Runtime without FastSeg or libtorch.
/// </summary>
public static class OnnxExporter
{
    /// <summary>
    /// Exports <paramref name="model"/> to <paramref name="path"/>. The model must be in eval mode. Nothing is written
    /// when the export fails.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is in training mode.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="OnnxExportException">The forward pass calls an operator that has no ONNX mapping.</exception>
    /// <exception cref="ArgumentException">The options are invalid (shape, opset).</exception>
    public static OnnxExportSummary Export(nn.Module<Tensor, Tensor> model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new OnnxExportOptions();
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full);
        if (folder is not null && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"cannot write the ONNX file '{path}': the folder '{folder}' does not exist");
        var (proto, summary) = Build(model, options);
        File.WriteAllBytes(full, proto.ToByteArray());
        return new OnnxExportSummary(full, summary.Nodes, summary.Initializers, summary.InitializerElements, summary.OperatorCounts, summary.RecordedCalls);
    }

    /// <summary>Exports to memory: the serialized ONNX model.</summary>
    public static byte[] ExportToBytes(nn.Module<Tensor, Tensor> model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Build(model, options ?? new OnnxExportOptions()).Model.ToByteArray();
    }

    private static (ModelProto Model, OnnxExportSummary Summary) Build(nn.Module<Tensor, Tensor> model, OnnxExportOptions options)
    {
        var shape = options.InputShape;
        if (shape is null || shape.Length != 4 || shape.Any(d => d < 1))
            throw new ArgumentException($"InputShape must be (N, C, H, W) with positive sizes, got [{string.Join(", ", shape ?? [])}]", nameof(options));
        if (options.Opset < OnnxExportOptions.MinOpset || options.Opset > OnnxExportOptions.MaxOpset)
            throw new ArgumentException($"Opset {options.Opset} is not supported; FastSeg writes opsets {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}", nameof(options));
        if (model.training)
            throw new InvalidOperationException(
                $"{model.GetName()} is in training mode; ONNX export records the inference graph (BatchNorm with running statistics, no dropout): call model.eval() first");

        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        using var scope = NewDisposeScope();
        // Any values do: the graph does not depend on them. A ramp avoids the special cases of a constant image.
        var input = linspace(-1, 1, shape.Aggregate(1L, (a, b) => a * b)).reshape(shape).to(device);
        if (model is SegmentationModel seg) seg.CheckInput(input);
        GraphProto graph;
        OnnxGraphBuilder builder;
        int recorded;
        using (no_grad())
        using (var recorder = OpRecorder.Start(model))
        {
            var output = model.call(input);
            recorder.Stop();
            recorded = recorder.Operations.Count;
            builder = new OnnxGraphBuilder(options, options.InputName, input, model);
            foreach (var op in recorder.Operations) builder.Add(op);
            if (!builder.IsDynamic(output))
                throw new OnnxExportException($"{model.GetName()}'s output does not depend on its input; there is no graph to export");
            graph = builder.Graph;
            graph.Name = model.GetName();
            RenameOutput(graph, builder.ValueOf(output), options.OutputName);
            var symbolic = options.DynamicHeightWidth ? new Dictionary<int, string> { [2] = "height", [3] = "width" } : null;
            graph.Input.Add(OnnxGraphBuilder.FloatValueInfo(options.InputName, shape, symbolic));
            graph.Output.Add(OnnxGraphBuilder.FloatValueInfo(options.OutputName, output.shape, symbolic));
        }

        var proto = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "FastSeg",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            Graph = graph,
            DocString = $"{model.GetName()} exported by FastSeg from one eval forward pass at [{string.Join(", ", shape)}]",
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        var counts = graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count());
        return (proto, new OnnxExportSummary("", graph.Node.Count, graph.Initializer.Count, builder.InitializerElements, counts, recorded));
    }

    private static void RenameOutput(GraphProto graph, string value, string outputName)
    {
        foreach (var node in graph.Node)
        {
            for (int k = 0; k < node.Input.Count; k++)
                if (node.Input[k] == value) node.Input[k] = outputName;
            for (int k = 0; k < node.Output.Count; k++)
                if (node.Output[k] == value) node.Output[k] = outputName;
        }
    }
}
