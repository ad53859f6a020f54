using System.Globalization;
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
/// state-dict keys. Zoo networks are exported in their inference form by default (batch norms folded into the
/// convolutions before them, see <see cref="OnnxExportOptions.FoldBatchNorm"/>). The file loads in ONNX Runtime without FastSeg or libtorch.
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

        using var form = ExportForm.Create(model, options.FoldBatchNorm);
        var (graph, builder, recorded) = Record(form, options, shape);
        if (options.DynamicHeightWidth) CheckSizeIndependent(form, options, shape, graph);

        var proto = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "FastSeg",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            Graph = graph,
            DocString = $"{model.GetName()} exported by FastSeg from one eval forward pass at [{string.Join(", ", shape)}]" +
                        (form.Folded ? " of its float32 inference form (batch norms folded into their convolutions)" : ""),
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        if (model is SegmentationModel network)
        {
            // What a deployment needs beside the graph: sizes must be multiples of input_multiple (pad or resize).
            proto.MetadataProps.Add(new StringStringEntryProto { Key = "fastseg.model", Value = network.Info?.Name ?? network.GetName() });
            proto.MetadataProps.Add(new StringStringEntryProto { Key = "fastseg.num_classes", Value = network.NumClasses.ToString(CultureInfo.InvariantCulture) });
            proto.MetadataProps.Add(new StringStringEntryProto { Key = "fastseg.input_multiple", Value = network.InputMultiple.ToString(CultureInfo.InvariantCulture) });
        }
        var counts = graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count());
        return (proto, new OnnxExportSummary("", graph.Node.Count, graph.Initializer.Count, builder.InitializerElements, counts, recorded));
    }

    // Records one forward pass at `shape` and maps it to an ONNX graph.
    private static (GraphProto Graph, OnnxGraphBuilder Builder, int Recorded) Record(ExportForm form, OnnxExportOptions options, long[] shape)
    {
        var model = form.Module;
        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        using var scope = NewDisposeScope();
        // Any values do: the graph does not depend on them. A ramp avoids the special cases of a constant image.
        var input = linspace(-1, 1, shape.Aggregate(1L, (a, b) => a * b)).reshape(shape).to(device);
        if (model is SegmentationModel seg) seg.CheckInput(input);
        using var grad = no_grad();
        using var recorder = OpRecorder.Start(form.StateOwner);
        var output = model.call(input);
        recorder.Stop();
        var builder = new OnnxGraphBuilder(options, options.InputName, input, form.StateOwner);
        foreach (var op in recorder.Operations) builder.Add(op);
        if (!builder.IsDynamic(output))
            throw new OnnxExportException($"{model.GetName()}'s output does not depend on its input; there is no graph to export");
        var graph = builder.Graph;
        graph.Name = model.GetName();
        RenameOutput(graph, builder.ValueOf(output), options.OutputName);
        var symbolic = options.DynamicHeightWidth ? new Dictionary<int, string> { [2] = "height", [3] = "width" } : null;
        graph.Input.Add(OnnxGraphBuilder.FloatValueInfo(options.InputName, shape, symbolic));
        graph.Output.Add(OnnxGraphBuilder.FloatValueInfo(options.OutputName, output.shape, symbolic));
        return (graph, builder, recorder.Operations.Count);
    }

    // A graph that takes any height and width must not depend on the size it was recorded at: record it again at a
    // second size and require the same nodes and the same constants (weights aside). The first difference names the
    // operator and module that baked a size into the graph.
    private static void CheckSizeIndependent(ExportForm form, OnnxExportOptions options, long[] shape, GraphProto graph)
    {
        var model = form.Module;
        long step = model is SegmentationModel seg ? seg.InputMultiple * ((32 + seg.InputMultiple - 1) / seg.InputMultiple) : 32;
        long[] second = [shape[0], shape[1], shape[2] + 2 * step, shape[3] + step];
        var (other, _, _) = Record(form, options, second);
        for (int k = 0; k < Math.Max(graph.Node.Count, other.Node.Count); k++)
        {
            if (k < graph.Node.Count && k < other.Node.Count && graph.Node[k].Equals(other.Node[k])) continue;
            var node = k < graph.Node.Count ? graph.Node[k] : other.Node[k];
            throw new OnnxExportException(
                $"{model.GetName()} cannot be exported with dynamic height and width: its graph changes with the input size " +
                $"(recorded at {shape[2]}x{shape[3]} and {second[2]}x{second[3]}, first at {node.OpType} node '{node.Name}' from {node.DocString}); " +
                "export it at a fixed size instead; no file was written");
        }
        var sizes = other.Initializer.ToDictionary(i => i.Name);
        foreach (var init in graph.Initializer)
        {
            // weights compare equal (the same module); a scalar such as 1/(H*W) does not
            bool same = sizes.TryGetValue(init.Name, out var twin) && init.Dims.Equals(twin.Dims) && init.RawData.Equals(twin.RawData);
            if (same) continue;
            var user = graph.Node.FirstOrDefault(n => n.Input.Contains(init.Name));
            throw new OnnxExportException(
                $"{model.GetName()} cannot be exported with dynamic height and width: the constant '{init.Name}'" +
                (user is null ? "" : $" of {user.OpType} node '{user.Name}' from {user.DocString}") +
                $" depends on the input size (recorded at {shape[2]}x{shape[3]} and {second[2]}x{second[3]}); export it at a fixed size instead; no file was written");
        }
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
